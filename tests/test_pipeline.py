"""End-to-end behaviour of the Python API on real and generated customers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from custseg import Segmenter, generate_customers, load_model, segment
from custseg.errors import InputError, SettingsError

MALL_FEATURES = ("Annual Income (k$)", "Spending Score (1-100)")


def test_mall_income_and_score_give_the_known_five_segments(mall):
    result = segment(mall, features=MALL_FEATURES)
    summary = result.summary
    assert summary["chosen"]["k"] == 5
    assert summary["chosen"]["silhouette"] >= 0.53
    assert summary["input"] == {"rows_read": 200, "rows_used": 200, "rows_dropped": {},
                                "cells_fixed": {}, "outliers": {}, "sentinels": {}, "not_read": []}
    frame = result.segments_frame()
    assert list(frame.columns) == ["CustomerID", "segment", "segment_name"]
    assert len(frame) == 200 and frame["CustomerID"].iloc[0] == "0001"
    sizes = sorted(s["size"] for s in summary["segments"])
    assert sum(sizes) == 200 and len(sizes) == 5
    names = {s["name"] for s in summary["segments"]}
    assert {"High income, high spending", "High income, low spending", "Low income, high spending",
            "Low income, low spending", "Average customers"} == names or len(names) == 5
    for item in summary["segments"]:
        assert item["actions"], item["name"]
        assert all(a["reason"] for a in item["actions"])


def test_mall_all_columns_is_explained(mall):
    summary = segment(mall).summary
    assert summary["columns"]["id"] == "CustomerID"
    assert summary["columns"]["categorical"] == ["Genre"]
    assert summary["features"] == ["Age", "Annual Income (k$)", "Spending Score (1-100)"]
    assert summary["chosen"]["reason"].startswith(summary["chosen"]["algorithm"].replace("kmeans", "K-Means")[:3])
    assert "silhouette" in summary["chosen"]["reason"]
    # Genre describes the segments without forming them: its make-up is in every profile.
    assert all(set(s["categories"]["Genre"]) <= {"Female", "Male"} for s in summary["segments"])


def test_wholesale_has_no_id_and_assign_reproduces_every_segment(wholesale, tmp_path):
    result = segment(wholesale)
    summary = result.summary
    assert summary["columns"]["id"] is None and summary["columns"]["id_name"] == "row"
    assert set(summary["columns"]["categorical"]) == {"Channel", "Region"}
    skewed = {t["column"] for t in summary["transforms"] if t["log"]}
    assert {"Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"} <= skewed
    frame = result.segments_frame()
    assert frame["row"].tolist() == list(range(1, 441))
    paths = result.write(tmp_path, report=False)
    model = load_model(paths["model"])
    ids, labels, usable = model.assign(pd.read_csv(wholesale))
    assert usable.all()
    np.testing.assert_array_equal(labels, frame["segment"].to_numpy())


@pytest.mark.parametrize("algorithm", ["kmeans", "hierarchical", "gmm", "hdbscan", "dbscan"])
def test_assign_reproduces_the_run_for_every_algorithm(algorithm, tmp_path):
    customers, _ = generate_customers(600, 3, random_state=2, missing=0.02, outliers=0.01)
    result = segment(customers, algorithms=(algorithm,), k_max=6)
    model = load_model(result.write(tmp_path, report=False)["model"])
    _, labels, _ = model.assign(customers)
    np.testing.assert_array_equal(labels, result.labels)


def test_assign_through_micro_clusters_and_sampled_dbscan(tmp_path):
    customers, _ = generate_customers(3000, 3, random_state=3)
    for algorithm in ("hierarchical", "gmm", "hdbscan", "dbscan"):
        result = segment(customers, algorithms=(algorithm,), k_max=5, ward_exact_max=1000,
                         ward_micro_clusters=200, dbscan_sample=1000, mixture_sample=1000)
        assert result.summary["sampling"][algorithm]["used"] is True
        _, labels, _ = load_model(result.write(tmp_path, report=False)["model"]).assign(customers)
        np.testing.assert_array_equal(labels, result.labels)


def test_four_planted_segments_are_found():
    customers, truth = generate_customers(2000, 4, random_state=5)
    result = segment(customers)
    assert result.chosen["k"] == 4
    assert adjusted_rand_score(truth, result.labels) >= 0.9


def test_same_input_and_seed_give_identical_outputs(tmp_path):
    customers, _ = generate_customers(800, 3, random_state=1, missing=0.02, outliers=0.01)
    first = segment(customers, random_state=7).write(tmp_path / "a", report=False)
    second = segment(customers, random_state=7).write(tmp_path / "b", report=False)
    for kind in ("segments", "summary", "model"):
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind


def test_dirty_values_are_handled_and_counted():
    customers, _ = generate_customers(300, 3, random_state=0)
    table = customers.astype(str)
    table.loc[0, "age"] = "x"
    table.loc[1, "annual_income"] = "1e999"
    table.loc[2, "spending_score"] = ""
    table.loc[3, "customer_id"] = table.loc[4, "customer_id"]
    result = segment(table, algorithms=("kmeans",), k_max=4)
    ledger = result.summary["input"]
    assert ledger["rows_dropped"] == {"duplicate id": 1}
    assert ledger["rows_used"] == 299
    assert ledger["cells_fixed"]["unparseable value"] == {"age": 1, "annual_income": 1}
    assert ledger["cells_fixed"]["missing value (imputed)"]["spending_score"] == 1


def test_estimator_follows_scikit_learn_conventions():
    customers, truth = generate_customers(500, 3, random_state=4)
    estimator = Segmenter(algorithms=("kmeans",), k_max=6, random_state=0)
    params = estimator.get_params()
    assert (params["algorithms"], params["k_max"], params["k_min"], params["random_state"]) == (("kmeans",), 6, 2, 0)
    assert not hasattr(estimator, "labels_")
    labels = estimator.fit_predict(customers)
    assert estimator.n_segments_ == 3
    assert adjusted_rand_score(truth, labels) >= 0.95
    np.testing.assert_array_equal(estimator.predict(customers), labels)
    assert set(estimator.segment_names_) == {0, 1, 2}
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_clusters'"):
        Segmenter(n_clusters=3)


def test_result_renders_in_jupyter():
    customers, _ = generate_customers(300, 3, random_state=0)
    html = segment(customers, algorithms=("kmeans",), k_max=4)._repr_html_()
    assert "K-Means" in html or "kmeans" in html


@pytest.mark.parametrize("overrides, message", [
    ({"algorithms": ("kmeans", "spectral")}, "unknown algorithm 'spectral'"),
    ({"k_min": 5, "k_max": 3}, "2 <= MIN <= MAX"),
])
def test_bad_settings_raise_settings_error(overrides, message):
    customers, _ = generate_customers(100, 2, random_state=0)
    with pytest.raises(SettingsError, match=message):
        segment(customers, **overrides)


def test_too_few_customers_for_k():
    customers, _ = generate_customers(8, 2, random_state=0)
    with pytest.raises(InputError, match="8 usable customers .* too few for up to k=9 segments; give --k with a maximum below 8"):
        segment(customers, k_max=9)
    with pytest.raises(InputError, match="2 usable customers .* fewer than the smallest k \\+ 1 = 3"):
        segment(customers.head(2))


def test_default_k_range_fits_a_small_table():
    """With the default range, 8 customers are tried with 2..4 segments (half of them)."""
    customers, _ = generate_customers(8, 2, random_state=0)
    result = segment(customers, algorithms=("kmeans",))
    assert result.settings.k_max == 10 and result.k_range == (2, 4)
    assert sorted(c["k"] for c in result.summary["candidates"]) == [2, 3, 4]
    assert segment(generate_customers(30, 2, random_state=0)[0], algorithms=("kmeans",)).settings.k_max == 10


def test_a_numpy_array_is_a_customer_table():
    customers, truth = generate_customers(600, 3, random_state=4)
    values = customers.select_dtypes("number").drop(columns=["customer_id"], errors="ignore").to_numpy()
    result = segment(values, report=False)
    assert result.table.roles.features == [f"x{j + 1}" for j in range(values.shape[1])]
    assert len(result.labels) == 600 and result.chosen["k"] == 3
    assert adjusted_rand_score(truth, result.labels) >= 0.99
    seg = Segmenter(k_max=6).fit(values)
    assert seg.n_segments_ == 3
    np.testing.assert_array_equal(seg.predict(values), seg.labels_)
    with pytest.raises(InputError, match=r"2 dimensions .* shape \(5,\)"):
        segment(np.arange(5.0))
