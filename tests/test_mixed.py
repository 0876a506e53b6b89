"""Categoricals inside the segmentation: ``--categoricals cluster`` and ``--categorical-weight``.

Hand-made fixtures with exact expectations (which columns are clustered, the encoding's
variances and distances), the weight deciding which structure wins, the CLI options and
their one-line errors, ``assign`` on a mixed model, and Mall Customers with Genre
clustered end to end. The choice of the scaled one-hot encoding over k-prototypes and FAMD
is measured in ``benchmarks/MIXED.md``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from test_choice import _cand
from test_cli import cli, one_line_error

from custseg import Segmenter, Settings, SettingsError, generate_transactions, load_model, segment
from custseg.preparing.clean import detect_roles
from custseg.preparing.features import fit_features
from custseg.sampledata import generate_mixed_customers
from custseg.segmenting.choice import choose

FAST = {"algorithms": ("kmeans",), "stability_resamples": 2}


def _roles_table(n: int = 100) -> pd.DataFrame:
    """x, y numeric; colour (3 levels); plan 97% one level; code (whole numbers 1-3);
    notes free text (one value per row); every column usable."""
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "customer_id": [f"C{i:03d}" for i in range(n)],
        "x": rng.normal(size=n),
        "y": rng.normal(size=n),
        "colour": np.array(["red", "green", "blue"])[np.arange(n) % 3],
        "plan": ["basic"] * (n - 3) + ["gold"] * 3,
        "code": (np.arange(n) % 3) + 1,
        "notes": [f"note {i}" for i in range(n)],
    })


# --------------------------------------------------------------------------- settings


def test_defaults_describe_and_weight_one():
    settings = Settings()
    assert settings.categoricals == "describe" and settings.categorical_weight == 1.0


@pytest.mark.parametrize("changes, message", [
    ({"categoricals": "sometimes"}, "--categoricals must be one of describe, cluster, got 'sometimes'"),
    ({"categorical_weight": 0}, "--categorical-weight must be a number above 0, got 0"),
    ({"categorical_weight": -1.5}, "--categorical-weight must be a number above 0, got -1.5"),
    ({"categorical_weight": float("inf")}, "--categorical-weight must be a number above 0, got inf"),
    ({"categorical_weight": "2"}, "--categorical-weight must be a number above 0, got '2'"),
    ({"categorical_weight": True}, "--categorical-weight must be a number above 0, got True"),
])
def test_bad_values_are_refused_with_the_value(changes, message):
    with pytest.raises(SettingsError) as caught:
        Settings(**changes).validated()
    assert str(caught.value) == message


def test_toml_sets_both(tmp_path):
    path = tmp_path / "custseg.toml"
    path.write_text('[custseg]\ncategoricals = "cluster"\ncategorical_weight = 2\n')
    settings = Settings.from_toml(path).validated()
    assert settings.categoricals == "cluster" and settings.categorical_weight == 2


# --------------------------------------------------------------------------- which columns


def test_cluster_adds_every_usable_categorical_and_says_what_it_leaves_out():
    table = _roles_table()
    described = detect_roles(table, Settings(), {})
    assert described.features == ["x", "y"]
    assert described.categorical == ["colour", "plan", "code"] and described.not_clustered == {}
    roles = detect_roles(table, Settings(categoricals="cluster"), {})
    assert roles.features == ["x", "y", "colour", "code"]
    assert roles.excluded == {"notes": "id-like or free text (100 distinct values)"}
    assert list(roles.not_clustered) == ["plan"]
    assert roles.not_clustered["plan"].startswith("nearly constant (97% 'basic'): its other 3% of customers")
    assert "name it in --features" in roles.not_clustered["plan"]


def test_named_features_win_over_cluster():
    table = _roles_table()
    roles = detect_roles(table, Settings(categoricals="cluster", features=("x", "plan")), {})
    assert roles.features == ["x", "plan"] and roles.not_clustered == {}


def test_more_than_twenty_levels_are_not_clustered():
    table = _roles_table(200)
    table["city"] = [f"city {i % 25}" for i in range(200)]
    roles = detect_roles(table, Settings(categoricals="cluster"), {})
    assert "city" not in roles.features
    assert roles.excluded["city"] == "too many categories (25) to describe segments"


def test_a_missing_code_level_is_not_counted_as_a_level():
    table = _roles_table()
    table["plan"] = ["basic"] * 50 + ["unknown"] * 46 + ["gold"] * 4  # 'unknown' is missing: 93% basic
    roles = detect_roles(table, Settings(categoricals="cluster"), {})
    assert "plan" in roles.features


# --------------------------------------------------------------------------- the encoding


@pytest.mark.parametrize("weight", [0.25, 1.0, 2.0, 4.0])
def test_a_categorical_of_weight_w_holds_variance_w(weight):
    # shares 1/2, 1/4, 1/4: 1 - sum p^2 = 1 - 0.25 - 0.0625 - 0.0625 = 0.625
    data = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5, 6, 7],
                         "c": ["a", "a", "a", "a", "b", "b", "c", "c"]})
    plan = fit_features(data, ["x"], ["c"], pca="off", categorical_weight=weight)
    scale = np.sqrt(0.625 / weight)
    assert plan.category_scale["c"] == pytest.approx(scale)
    matrix = plan.transform(data)
    # customer 0 (level a): (1 - 1/2, 0 - 1/4, 0 - 1/4) / scale
    np.testing.assert_allclose(matrix[0, 1:], np.array([0.5, -0.25, -0.25]) / scale)
    # per dummy p (1 - p) / scale^2: 0.25, 0.1875, 0.1875 -> 0.625 / scale^2 = weight
    np.testing.assert_allclose(matrix[:, 1:].var(axis=0), np.array([0.25, 0.1875, 0.1875]) * weight / 0.625)
    assert matrix[:, 1:].var(axis=0).sum() == pytest.approx(weight)
    assert matrix[:, 0].var() == pytest.approx(1.0)
    # two customers with different levels: 2 w / 0.625 apart in squared distance (k-prototypes'
    # matching distance, gamma = 2 w / (1 - sum p^2)); the numeric part aside
    assert ((matrix[0, 1:] - matrix[4, 1:]) ** 2).sum() == pytest.approx(2 * weight / 0.625)
    assert ((matrix[4, 1:] - matrix[6, 1:]) ** 2).sum() == pytest.approx(2 * weight / 0.625)
    assert ((matrix[0, 1:] - matrix[1, 1:]) ** 2).sum() == 0.0


def test_the_weight_reaches_the_pipeline_matrix():
    table, _ = generate_mixed_customers(300, 4, random_state=0)
    for weight in (0.5, 3.0):
        result = segment(table, categoricals="cluster", categorical_weight=weight, pca="off", **FAST, k_max=4)
        matrix = result.model.matrix(table)
        plan = result.plan
        for name, levels in plan.categories.items():
            start = plan.columns.index(f"{name}={levels[0]}")
            assert matrix[:, start:start + len(levels)].var(axis=0).sum() == pytest.approx(weight)
        assert result.summary["categorical_weight"] == weight


# --------------------------------------------------------------------------- the weight decides


def _disagreeing(n: int = 200) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """x splits the customers in two (-1 / +1, little noise); colour splits them in two
    other halves, independent of x. Standardised, x's halves are 2 apart; colour's levels
    are 2 sqrt(w) apart (shares 1/2: squared distance 2 w / 0.5 = 4 w)."""
    rng = np.random.default_rng(3)
    by_x = np.arange(n) % 2
    by_colour = (np.arange(n) // 2) % 2
    table = pd.DataFrame({
        "x": np.where(by_x == 1, 1.0, -1.0) + rng.normal(0, 0.05, n),
        "colour": np.where(by_colour == 1, "red", "blue"),
    })
    return table, by_x, by_colour


@pytest.mark.parametrize("weight, follows", [(4.0, "colour"), (0.25, "x")])
def test_the_weight_changes_which_signal_wins(weight, follows):
    table, by_x, by_colour = _disagreeing()
    result = segment(table, categoricals="cluster", categorical_weight=weight, k_min=2, k_max=2, **FAST)
    assert result.table.roles.features == ["x", "colour"]
    truth = {"colour": by_colour, "x": by_x}
    assert adjusted_rand_score(truth[follows], result.labels) == 1.0
    other = "x" if follows == "colour" else "colour"
    assert abs(adjusted_rand_score(truth[other], result.labels)) < 0.05


def test_profiles_show_the_make_up_and_name_the_dominant_level():
    table, _, by_colour = _disagreeing()
    result = segment(table, categoricals="cluster", categorical_weight=4.0, k_min=2, k_max=2, **FAST)
    for item in result.segment_info:
        shares = item["categories"]["colour"]
        assert max(shares.values()) == 1.0                  # each segment is one colour
        assert item["top_levels"][0]["feature"] == "colour"
        assert item["name"].lower().endswith(("colour red", "colour blue"))
    assert result.summary["overall"]["categories"]["colour"] == {"blue": 0.5, "red": 0.5}


# --------------------------------------------------------------------------- choice and assign


def test_density_is_not_evidence_when_categoricals_are_clustered():
    centroid = _cand(k=4, sil=0.45, wcnn=0.90)
    density = _cand("hdbscan", k=16, sil=0.30, wcnn=0.97, density_noise=0.05, density_smallest=60)
    assert choose([centroid, density], {}, 1000, (2, 20)).chosen is density
    choice = choose([centroid, density], {}, 1000, (2, 20), density_evidence=False)
    assert choice.chosen is centroid and choice.decided_by == "silhouette"
    assert any(note.startswith("Density (HDBSCAN) was not used as evidence") for note in choice.disagreements)


def test_planted_mixed_segments_are_found_with_the_categoricals():
    table, truth = generate_mixed_customers(1200, 4, scenario="both", random_state=1)
    mixed = segment(table, categoricals="cluster", random_state=0)
    assert mixed.found.decided_by != "density"
    assert mixed.chosen["k"] == 4
    assert adjusted_rand_score(truth, mixed.labels) > 0.95


def test_assign_reproduces_a_mixed_run(tmp_path):
    table, _ = generate_mixed_customers(500, 4, scenario="paired", random_state=2)
    result = segment(table, categoricals="cluster", categorical_weight=2.0, k_max=6)
    assert set(result.plan.categories) == {"channel", "region", "plan"}
    model = load_model(result.model.save(tmp_path / "model.json"))
    ids, labels, usable = model.assign(table)
    np.testing.assert_array_equal(labels, result.labels)
    assert usable.all()
    # the weight travels in the plan's scales: nothing to set again when assigning
    saved = json.loads((tmp_path / "model.json").read_text())
    assert saved["features"]["category_scale"] == result.plan.category_scale


def test_segmenter_takes_both_parameters():
    table, _ = generate_mixed_customers(300, 4, scenario="both", random_state=0)
    seg = Segmenter(categoricals="cluster", categorical_weight=0.5, **FAST, k_max=5).fit(table)
    assert "channel" in seg.result_.table.roles.features
    assert seg.get_params()["categorical_weight"] == 0.5
    np.testing.assert_array_equal(seg.predict(table), seg.labels_)


def test_transaction_logs_cluster_a_customers_main_country():
    lines, _ = generate_transactions(300, 3, random_state=4)
    described = segment(lines, algorithms=("kmeans",), k_max=4)
    assert "Country" not in described.table.roles.features
    clustered = segment(lines, algorithms=("kmeans",), k_max=4, categoricals="cluster")
    assert clustered.table.roles.features[-1] == "Country"
    assert "Country" in clustered.plan.categories


# --------------------------------------------------------------------------- CLI and Mall


def test_cli_options_and_their_errors(capsys, tmp_path):
    table, _, _ = _disagreeing()
    path = tmp_path / "customers.csv"
    table.to_csv(path, index=False)
    code, out, err = cli(capsys, "run", path, "--out", tmp_path / "out", "--json", "--no-report", "--k", "2",
                         "--algorithms", "kmeans", "--categoricals", "cluster", "--categorical-weight", "4")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["features"] == ["x", "colour"] and summary["encoded"] == {"colour": ["blue", "red"]}
    assert summary["settings"]["categoricals"] == "cluster" and summary["categorical_weight"] == 4.0
    assert one_line_error(capsys, "run", path, "--out", tmp_path / "bad", "--categorical-weight", "0") == (
        "error: --categorical-weight must be a number above 0, got 0.0")
    assert one_line_error(capsys, "run", path, "--out", tmp_path / "bad", "--categoricals", "all") == (
        "error: --categoricals must be one of describe, cluster, got 'all'")
    assert "--categorical-weight" in cli(capsys, "run", "--help")[1]


def test_mall_with_genre_clustered_end_to_end(capsys, mall, tmp_path):
    code, out, err = cli(capsys, "run", mall, "--out", tmp_path, "--categoricals", "cluster")
    assert code == 0, err
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["features"] == ["Age", "Annual Income (k$)", "Spending Score (1-100)", "Genre"]
    assert summary["encoded"] == {"Genre": ["Female", "Male"]} and summary["categorical_weight"] == 1.0
    chosen = summary["chosen"]
    assert chosen["decided_by"] != "density" and chosen["algorithm"] != "hdbscan"
    assert any("Density (HDBSCAN) was not used" in note for note in chosen["disagreements"])
    # every segment shows its Genre make-up; most are one gender, and named so
    makeup = [s["categories"]["Genre"] for s in summary["segments"]]
    assert all(abs(sum(shares.values()) - 1) < 1e-3 for shares in makeup)
    assert sum(max(shares.values()) >= 0.9 for shares in makeup) >= len(makeup) // 2
    assert any("Female" in s["name"] or "Male" in s["name"] for s in summary["segments"])
    html = (tmp_path / "report.html").read_text()
    assert 'data-test="categorical-weight"' in html and "weigh 1 × one standardised numeric feature" in html
    code, out, _ = cli(capsys, "assign", tmp_path / "model.json", mall, "--out", tmp_path / "assigned.csv")
    assert code == 0 and "assigned 200 of 200" in out
    assigned = pd.read_csv(tmp_path / "assigned.csv", dtype={"CustomerID": str})
    segments = pd.read_csv(tmp_path / "segments.csv", dtype={"CustomerID": str})
    assert assigned["segment"].tolist() == segments["segment"].tolist()


# --------------------------------------------------------------------------- the benchmark


def test_benchmark_methods_run_on_a_small_set():
    pytest.importorskip("kmodes")
    pytest.importorskip("prince")
    from conftest import load_benchmark

    bench = load_benchmark("mixed")
    table, truth = generate_mixed_customers(300, 4, scenario="both", random_state=0)
    data = bench.Mixed(table, truth.to_numpy())
    # gamma matched to the weight: 2 w / mean(1 - sum p^2)
    assert data.gamma(1.0) == pytest.approx(2.0 / data.gini().mean())
    for function in (lambda d: bench.run_kmeans(d, 1.0), lambda d: bench.run_kprototypes(d, 1.0, "Cao"),
                     bench.run_famd, bench.run_gower):
        labels, k = function(data)
        assert k == 4 and len(np.unique(labels)) == 4
        assert adjusted_rand_score(truth, labels) > 0.5
