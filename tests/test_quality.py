"""The labelled-data quality benchmark (benchmarks/quality.py): its scoring protocol on tiny
hand-made partitions, and the recipes end to end on two small real sets (without custseg,
to stay fast)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_benchmark
from sklearn.metrics import adjusted_rand_score


@pytest.fixture(scope="module")
def quality():
    return load_benchmark("quality")


def prediction(quality, labels, k=None):
    labels = np.asarray(labels)
    return quality.Prediction(labels, k, seconds=0.0)


def test_each_noise_point_is_a_cluster_of_its_own(quality):
    reference = np.array([1, 1, 2, 2])
    labels = np.array([0, 0, -1, -1])
    # contingency {1: {0: 2}, 2: {a: 1, b: 1}}: index 1, expected 2 * 1 / 6, max 3 / 2 -> 4/7
    assert quality.score_against(labels, reference) == pytest.approx(4 / 7)
    # the same as relabelling the noise by hand; not the same as noise being one cluster
    assert quality.score_against(labels, reference) == pytest.approx(
        adjusted_rand_score(reference, [0, 0, 7, 8]))
    assert adjusted_rand_score(reference, [0, 0, 1, 1]) == 1.0
    assert list(quality.noise_as_singletons(np.array([-1, 0, 2, -1]))) == [3, 0, 2, 4]


def test_reference_noise_points_are_left_out(quality):
    reference = np.array([0, 0, 1, 1, 2, 2, 0])
    labels = np.array([1, -1, 0, 0, 1, 1, 0])  # wrong only where the reference says noise
    assert quality.score_against(labels, reference) == 1.0
    mixed = np.array([1, -1, 0, 1, 1, 1, 0])
    assert quality.score_against(mixed, reference) == pytest.approx(
        adjusted_rand_score([1, 1, 2, 2], [0, 1, 1, 1]))


def test_a_set_scores_its_best_reference_and_k_is_found_in_any(quality):
    references = [np.array([1, 1, 2, 2, 3, 3]), np.array([1, 1, 1, 2, 2, 2])]
    labels = [0, 0, 0, 1, 1, 1]
    assert quality.score_against(np.array(labels), references[0]) < 1.0
    result = quality.score(prediction(quality, labels, k=2), references)
    assert result.ari == 1.0 and result.k_found
    assert quality.score(prediction(quality, labels, k=3), references).k_found   # k of the first
    assert not quality.score(prediction(quality, labels, k=4), references).k_found


def test_reference_k_ignores_noise_and_a_failure_scores_zero(quality):
    assert quality.reference_k(np.array([0, 1, 1, 2, 0, 3])) == 3
    assert quality.predicted_k(np.array([-1, 0, 0, 1, -1])) == 2
    failed = quality.Prediction(None, None, 1.5, error="RuntimeError('boom')")
    result = quality.score(failed, [np.array([1, 2])])
    assert (result.ari, result.k_found, result.error) == (0.0, False, "RuntimeError('boom')")


def test_custseg_rows_missing_from_its_segments_are_noise(quality):
    frame = pd.DataFrame({"id": ["1", "2", "4"], "segment": [0, 1, -1]})
    assert list(quality.labels_by_id(frame, 5)) == [0, 1, -1, -1, -1]


def test_standardise_drops_constant_columns(quality):
    matrix = np.array([[1.0, 5.0, 0.0], [3.0, 5.0, 2.0], [5.0, 5.0, 4.0]])
    out = quality.standardise(matrix)
    assert out.shape == (3, 2)
    assert np.allclose(out.mean(axis=0), 0) and np.allclose(out.std(axis=0), 1)


def test_vote_ties_go_to_the_silhouette(quality):
    scores = {
        "silhouette": {2: 0.1, 3: 0.5, 5: 0.4},
        "calinski_harabasz": {2: 1.0, 3: 2.0, 5: 9.0},
        "davies_bouldin": {2: 1.0, 3: 0.9, 5: 0.3},
    }
    assert quality.vote(scores, elbow=3) == 3      # 2 votes each: the silhouette's k
    assert quality.vote(scores, elbow=None) == 5   # 2 votes to 1
    assert quality.vote(scores, elbow=2) == 5


def test_custseg_options_are_parsed(quality):
    options = quality.parse_options(["algorithms=kmeans,hierarchical", "n_init=10", "pca=off"])
    assert options == {"algorithms": ("kmeans", "hierarchical"), "n_init": 10, "pca": "off"}
    with pytest.raises(ValueError):
        quality.parse_options(["n_init"])


def test_quick_gate_allows_a_small_shortfall_only(quality):
    def summary(ours, theirs):
        return {"methods": {"custseg": {"median": ours}, "kmeans_silhouette": {"median": theirs}}}

    assert quality.quick_gate(summary(0.79, 0.80))[0]
    ok, message = quality.quick_gate(summary(0.70, 0.80))
    assert not ok and "0.700" in message and "0.800" in message


def test_recipes_end_to_end_on_two_real_sets(quality, shared_data, tmp_path):
    data_dir = shared_data / "clustering-benchmarks"
    names = ["fcps/hepta", "wut/x3"]
    methods = (*quality.RECIPES, quality.REFERENCE)
    results = quality.evaluate_all(names, data_dir, methods=methods)
    hepta, x3 = results
    assert (hepta.n, hepta.d, hepta.true_ks) == (212, 3, [7])
    assert x3.true_ks == [4, 3]
    best = hepta.methods["kmeans_silhouette"]
    assert (best.ari, best.k, best.k_found) == (1.0, 7, True)
    assert all(0 <= r.methods["kmeans_true_k"].ari <= 1 for r in results)

    summary = quality.summarise(results)
    assert set(summary["methods"]) == set(methods)
    assert summary["batteries"]["fcps"]["kmeans_silhouette"] == 1.0
    run = {"date": "today", "commit": "abc1234", "machine": "here", "jobs": 1, "threads": 1,
           "seconds": 1.0, "options": {}, "command": "test"}
    text = quality.to_markdown(results, summary, run)
    assert "| fcps/hepta | 212 | 3 | 7 |" in text and "1.000 (7 ✓)" in text


def test_targets_table_marks_each_target(quality):
    summary = {
        "methods": {
            "custseg": {"median": 0.95, "mean": 0.70, "right_k": 0.65, "sets": 3},
            "kmeans_silhouette": {"median": 0.6, "mean": 0.6, "right_k": 0.3, "sets": 3},
        },
        "batteries": {"uci": {"sets": 3, "custseg": 0.40, "kmeans_silhouette": 0.46},
                      "wut": {"sets": 3, "custseg": 0.90, "kmeans_silhouette": 0.95}},
    }
    table = quality.targets_table(summary)
    assert "| median ARI >= 0.90 | 0.950 | yes |" in table
    assert "| mean ARI >= 0.78 | 0.700 | **no** |" in table
    assert "| right k >= 65% | 65.0% | yes |" in table
    assert "| uci: median no more than 0.05 below the best recipe's | 0.400 vs kmeans_silhouette 0.460 | **no** |" in table
    assert "| wut: median no more than 0.05 below the best recipe's | 0.900 vs kmeans_silhouette 0.950 | yes |" in table
