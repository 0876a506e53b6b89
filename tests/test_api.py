"""The Python API: Segmenter as a scikit-learn estimator, the result in a notebook, the docs."""

from __future__ import annotations

import inspect
import pickle
from dataclasses import fields
from functools import cached_property

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import custseg
from custseg import InputError, Segmenter, Settings, SettingsError, generate_customers, segment
from custseg.estimator import _NOT_PARAMETERS
from custseg.model import Model


def _blobs(seed: int = 0, per: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    X = np.vstack([rng.normal(c, 0.5, size=(per, 2)) for c in centres])
    return X, np.repeat([0, 1, 2], per)


FAST = {"algorithms": ("kmeans",), "k_max": 5}


# --------------------------------------------------------------------------- estimator


def test_check_estimator_suite_passes():
    """scikit-learn's whole estimator check suite, on the default estimator.

    The only declared difference is ``allow_nan``: missing values are imputed by design,
    so the NaN-must-raise check does not apply (see the tags).
    """
    results = check_estimator(Segmenter(), on_fail=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    assert failed == []
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}        # needs SCIPY_ARRAY_API, not us
    assert len(results) >= 40


def test_tags_declare_only_what_is_true():
    tags = Segmenter().__sklearn_tags__()
    assert tags.estimator_type == "clusterer"
    assert tags.input_tags.allow_nan is True
    assert tags.input_tags.sparse is False
    assert tags.non_deterministic is False


def test_parameters_are_the_settings_with_the_same_defaults():
    signature = inspect.signature(Segmenter)
    names = set(signature.parameters) - {"on_progress"}
    settings = {f.name: f.default for f in fields(Settings) if f.name not in _NOT_PARAMETERS}
    assert names == set(settings)
    for name, default in settings.items():
        assert signature.parameters[name].default == default, name
        assert signature.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY


def test_stage_options_and_constraints_name_settings():
    """Each stage's options and every declared constraint refer to settings that exist, so a
    renamed setting cannot leave a stage reading a stale name."""
    from custseg.preparing.options import CleanOptions
    from custseg.reading import ReadOptions
    from custseg.segmenting.options import SearchOptions
    from custseg.settings import CONSTRAINTS

    names = {f.name for f in fields(Settings)}
    assert set(CONSTRAINTS) <= names
    for options in (ReadOptions, CleanOptions, SearchOptions):
        assert {f.name for f in fields(options)} - {"k_range_is_default"} <= names, options.__name__
    assert SearchOptions.from_settings(Settings(k_max=6)).k_range_is_default is False
    assert CleanOptions.from_settings(Settings(missing="drop")).missing == "drop"


def test_numpy_array_with_six_segments_max():
    X, truth = _blobs()
    seg = Segmenter(k_max=6).fit(X)
    assert seg.n_segments_ == 3
    assert adjusted_rand_score(truth, seg.labels_) == 1.0
    assert seg.n_features_in_ == 2 and not hasattr(seg, "feature_names_in_")
    assert seg.result_.input_columns == ["x1", "x2"]
    assert set(seg.segment_names_) == {0, 1, 2}
    np.testing.assert_array_equal(seg.predict(X), seg.labels_)
    np.testing.assert_array_equal(seg.fit_predict(X), seg.labels_)


def test_transform_is_the_model_matrix():
    X = np.array([[1.0, 10], [1.2, 11], [5, 50], [5.3, 52], [9, 90], [9.1, 95]])
    seg = Segmenter(**FAST, k_min=2).fit(X)
    matrix = seg.transform(X)
    plan = seg.model_.plan
    # Hand computation: x1 and x2 are not skewed, so each is (x - median) / scale of the plan.
    expected = np.column_stack([(X[:, j] - plan.center[f"x{j + 1}"]) / plan.scale[f"x{j + 1}"] for j in range(2)])
    np.testing.assert_allclose(matrix, expected)
    assert seg.get_feature_names_out().tolist() == ["x1", "x2"]
    np.testing.assert_allclose(seg.fit_transform(X), matrix)


def test_dataframe_names_and_dropped_rows_get_minus_one():
    customers, _ = generate_customers(300, 3, random_state=2)
    customers.loc[[5, 17], "age"] = np.nan
    seg = Segmenter(**FAST, missing="drop").fit(customers)
    assert seg.feature_names_in_.tolist() == customers.columns.tolist()
    assert len(seg.labels_) == 300
    assert seg.labels_[[5, 17]].tolist() == [-1, -1]
    assert (seg.labels_[np.setdiff1d(np.arange(300), [5, 17])] >= 0).all()
    assert seg.result_.ledger.set_index("what").loc["rows used", "count"] == 298


def test_predict_checks_columns_by_name_and_count():
    customers, _ = generate_customers(200, 3, random_state=2)
    seg = Segmenter(**FAST).fit(customers)
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        seg.predict(customers.rename(columns={"age": "Age"}))
    X, _ = _blobs()
    array_seg = Segmenter(**FAST).fit(X)
    with pytest.raises(ValueError, match="X has 3 features, but Segmenter is expecting 2 features"):
        array_seg.predict(np.c_[X, X[:, :1]])


def test_fit_on_a_path_sets_the_input_names(mall):
    seg = Segmenter(**FAST, features=("Annual Income (k$)", "Spending Score (1-100)")).fit(mall)
    assert seg.n_features_in_ == 5
    assert "Genre" in seg.feature_names_in_.tolist()
    assert seg.n_segments_ == 5
    assert len(seg.labels_) == 200


def test_fit_on_a_transaction_log_labels_customers():
    lines, truth = custseg.generate_transactions(300, 3, random_state=4)
    seg = Segmenter(**FAST).fit(lines)
    customers = seg.result_.segments
    assert len(seg.labels_) == len(customers) == seg.result_.table.ledger.rows_used
    np.testing.assert_array_equal(seg.predict(lines), seg.labels_)
    assert seg.transform(lines).shape == (len(customers), len(seg.get_feature_names_out()))


def test_bad_parameters_name_the_value():
    X, _ = _blobs()
    with pytest.raises(SettingsError, match=r"got 7\.\.3"):
        Segmenter(k_min=7, k_max=3).fit(X)
    with pytest.raises(SettingsError, match="unknown algorithm 'kmedoids'"):
        Segmenter(algorithms=("kmedoids",)).fit(X)
    with pytest.raises(ValueError, match="1 sample"):       # SettingsError/InputError are ValueErrors
        Segmenter().fit(X[:1])
    assert issubclass(InputError, ValueError)


def test_clone_keeps_parameters_and_drops_the_fit():
    X, _ = _blobs()
    seg = Segmenter(**FAST, random_state=3).fit(X)
    copy = clone(seg)
    assert copy.get_params() == seg.get_params()
    assert not hasattr(copy, "labels_")
    assert "k_max=5" in repr(copy) and "random_state=3" in repr(copy)


def test_pickled_fitted_estimator_predicts_the_same():
    X, _ = _blobs()
    seg = Segmenter(k_max=6).fit(X)              # every default algorithm, stability measured
    again = pickle.loads(pickle.dumps(seg))
    np.testing.assert_array_equal(again.predict(X), seg.predict(X))
    assert again.result_.profiles.equals(seg.result_.profiles)


def test_pipelines_before_and_after():
    X, truth = _blobs()
    after_scaler = make_pipeline(StandardScaler(), Segmenter(**FAST)).fit(X)
    assert adjusted_rand_score(truth, after_scaler[-1].labels_) == 1.0
    frame = pd.DataFrame(X, columns=["spend", "visits"]).assign(region=np.where(truth == 0, "north", "south"))
    columns = ColumnTransformer([("numbers", StandardScaler(), ["spend", "visits"])])
    assert make_pipeline(columns, Segmenter(**FAST)).fit(frame).predict(frame).shape == (180,)
    # Segments as features for a classifier.
    classifier = make_pipeline(Segmenter(**FAST), LogisticRegression()).fit(X, truth)
    assert classifier.score(X, truth) == 1.0


def test_grid_search_with_a_silhouette_scorer():
    X, _ = _blobs()

    def silhouette(estimator, X, y=None):
        return silhouette_score(estimator.transform(X), estimator.predict(X))

    grid = {"k_min": [2, 3, 4], "k_max": [4]}
    folds = KFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(Segmenter(algorithms=("kmeans",)), grid, scoring=silhouette, cv=folds).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and scores[0] > scores[2]    # k=3 beats a forced k=4
    assert search.best_params_["k_min"] in (2, 3)
    assert search.best_estimator_.n_segments_ == 3
    assert len(search.cv_results_["mean_test_score"]) == 3


def test_progress_goes_to_the_callback_and_nothing_is_printed(capsys):
    steps = []
    X, _ = _blobs()
    Segmenter(**FAST, on_progress=lambda step, done, total: steps.append(step)).fit(X)
    assert {"cleaning", "profiling"} <= set(steps)
    assert capsys.readouterr() == ("", "")


# --------------------------------------------------------------------------- result in a notebook


@pytest.fixture(scope="module")
def small_result():
    """Twelve hand-placed customers in two groups; one missing spend; one duplicate id."""
    table = pd.DataFrame({
        "id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 12],
        "spend": [10.0, 12, 11, 9, 13, 10, np.nan, 100, 104, 98, 102, 102, 101],
        "visits": [1.0, 2, 1, 2, 1, 2, 1, 20, 22, 21, 19, 19, 20],
    })
    return segment(table, algorithms=("kmeans",), k_max=3)


def test_segments_frame_has_ids_segments_names_and_values(small_result):
    segments = small_result.segments
    assert segments.columns.tolist() == ["id", "segment", "segment_name", "spend", "visits"]
    assert segments["id"].tolist() == list(range(1, 13))
    frequent = segments.loc[segments["visits"] > 15]
    assert frequent["id"].tolist() == [8, 9, 10, 11, 12]
    assert frequent["segment"].nunique() == 1 and segments["segment"].nunique() == 2
    # The missing spend of customer 7 is imputed with the median of the 11 known values.
    assert segments.loc[6, "spend"] == np.median([10, 12, 11, 9, 13, 10, 100, 104, 98, 102, 101]) == 13


def test_profiles_one_row_per_segment(small_result):
    profiles = small_result.profiles
    assert profiles.index.tolist() == [0, 1]
    assert profiles["size"].tolist() == [7, 5]
    assert profiles.loc[1, "visits"] == pytest.approx(np.mean([20, 22, 21, 19, 20]))
    assert profiles.loc[0, "spend"] == pytest.approx(np.mean([10, 12, 11, 9, 13, 10, 13]))
    assert profiles["share"].sum() == pytest.approx(1.0)
    assert profiles.columns[:6].tolist() == ["name", "size", "share", "stability", "description", "top_action"]


def test_candidates_and_ledger(small_result):
    candidates = small_result.candidates
    assert candidates["k"].tolist() == [2, 3]
    assert candidates["chosen"].tolist() == [True, False]
    ledger = small_result.ledger
    assert ledger.values.tolist() == [
        ["rows read", "", "", 13], ["rows used", "", "", 12], ["rows dropped", "duplicate id", "", 1],
        ["cells fixed", "missing value (imputed)", "spend", 1],
    ]


def test_plot_by_name_alias_and_errors(small_result):
    from matplotlib.figure import Figure

    names = small_result.plot()
    assert "elbow" in names and "segment_map" in names
    assert isinstance(small_result.plot("heatmap"), Figure)
    assert small_result.plot("pca_map").axes[0].get_title() == small_result.plot("segment_map").axes[0].get_title()
    with pytest.raises(ValueError, match="no figure named 'pie'; the figures are: segment_sizes, "):
        small_result.plot("pie")
    with pytest.raises(ValueError, match="'dendrogram' figure does not apply to this run"):
        small_result.plot("dendrogram")


def test_repr_html_is_short_with_the_reason(small_result):
    html = small_result._repr_html_()
    assert small_result.chosen["reason"].split(":")[0] in html
    assert "<img" not in html and len(html) < 5000
    assert html.count("<tr>") == 3       # the header and one row per segment


# --------------------------------------------------------------------------- documentation


def _public_members(obj):
    for name, value in vars(obj).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (property, cached_property)):
            yield name, value.__doc__
        elif isinstance(value, (classmethod, staticmethod)):
            yield name, value.__func__.__doc__
        elif inspect.isfunction(value):
            yield name, value.__doc__


def test_every_public_name_has_a_runnable_example():
    """Each name exported by ``custseg`` and each public member of its classes (and of the
    Model they return) documents an example; ``pytest --doctest-modules`` runs them."""
    lacking = []
    objects = {name: getattr(custseg, name) for name in custseg.__all__ if not name.startswith("__")}
    objects["Model"] = Model
    for name, obj in objects.items():
        if ">>>" not in (inspect.getdoc(obj) or ""):
            lacking.append(name)
        if inspect.isclass(obj):
            lacking += [f"{name}.{member}" for member, doc in _public_members(obj) if ">>>" not in (doc or "")]
    assert lacking == []


def test_package_is_typed():
    from importlib.resources import files

    assert files("custseg").joinpath("py.typed").is_file()
