"""Tests for custseg.segmenting.search: weighted Ward, the dendrogram, the silhouette estimate, the
choice rule and the whole search on well-separated blobs, exact and sampled.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, is_valid_linkage, linkage
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, davies_bouldin_score, silhouette_score

from custseg.segmenting.candidates import Candidate, canonical_order
from custseg.segmenting.choice import choose
from custseg.segmenting.options import SearchOptions
from custseg.segmenting.scores import sampled_silhouette, score_candidate, segment_spread, within_sum_of_squares
from custseg.segmenting.search import search
from custseg.segmenting.ward import truncated_dendrogram, weighted_ward
from custseg.settings import Settings


# --------------------------------------------------------------------------- Ward

def test_weighted_ward_with_unit_weights_equals_scipy_ward():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(30, 3))
    ours = weighted_ward(points, np.ones(30))
    theirs = linkage(points, method="ward")
    np.testing.assert_array_equal(ours[:, :2], theirs[:, :2])
    np.testing.assert_allclose(ours[:, 2], theirs[:, 2], rtol=1e-10)
    np.testing.assert_array_equal(ours[:, 3], theirs[:, 3])
    assert is_valid_linkage(ours)


def test_weighted_ward_of_two_points_by_hand():
    # merge cost w_a w_b / (w_a + w_b) |c_a - c_b|^2 = 1*3/4 * 4 = 3; distance sqrt(2 * 3)
    tree = weighted_ward(np.array([[0.0, 0.0], [2.0, 0.0]]), np.array([1.0, 3.0]))
    # the count column counts points (2), as SciPy requires; weights only shape distances
    np.testing.assert_allclose(tree, [[0.0, 1.0, np.sqrt(6.0), 2.0]])


def _partition(labels: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(labels == value).tolist()) for value in np.unique(labels)}


def test_weighted_ward_equals_ward_on_the_expanded_points():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(15, 2)) * 3
    weights = rng.integers(1, 5, size=15)
    expanded = np.repeat(points, weights, axis=0)
    owner = np.repeat(np.arange(15), weights)
    weighted = weighted_ward(points, weights.astype(float))
    exact = linkage(expanded, method="ward")
    # a valid SciPy linkage over the 15 points (the count column counts points, not
    # customers), whose final merge is at the same height as on the expanded points
    assert is_valid_linkage(weighted)
    assert weighted[-1, 3] == 15
    assert weighted[-1, 2] == pytest.approx(exact[-1, 2], rel=1e-10)
    for k in (2, 3, 4):
        ours = fcluster(weighted, k, criterion="maxclust")[owner]
        theirs = fcluster(exact, k, criterion="maxclust")
        assert len(np.unique(ours)) == k
        assert _partition(ours) == _partition(theirs)


@pytest.mark.parametrize("n, leaves", [(150, 100), (30, 100), (40, 5)])
def test_truncated_dendrogram_is_a_valid_linkage(n, leaves):
    rng = np.random.default_rng(2)
    points = rng.normal(size=(n, 2))
    tree = linkage(points, method="ward")
    top = truncated_dendrogram(tree, np.ones(n), leaves=leaves)
    z = np.array(top["linkage"])
    expected_leaves = min(n, leaves)
    assert z.shape == (expected_leaves - 1, 4)
    assert is_valid_linkage(z)
    assert len(top["leaf_counts"]) == expected_leaves
    assert sum(top["leaf_counts"]) == n
    assert z[-1, 3] == expected_leaves  # SciPy counts the leaves of the drawn tree
    np.testing.assert_array_equal(z[:, 2], tree[n - expected_leaves:, 2])


def test_truncated_dendrogram_of_weighted_ward_counts_customers():
    rng = np.random.default_rng(3)
    points = rng.normal(size=(120, 2))
    weights = rng.integers(1, 10, size=120).astype(float)
    top = truncated_dendrogram(weighted_ward(points, weights), weights, leaves=20)
    assert is_valid_linkage(np.array(top["linkage"]))
    assert sum(top["leaf_counts"]) == weights.sum()
    assert len(top["leaf_counts"]) == 20


def test_truncated_dendrogram_by_hand():
    # 4 points of weights 1, 2, 3, 4: (0, 1) merge -> 4, (2, 3) -> 5, (4, 5) -> 6;
    # keeping 2 leaves leaves clusters 4 (1 + 2 customers) and 5 (3 + 4 customers)
    tree = np.array([[0, 1, 1.0, 2], [2, 3, 2.0, 2], [4, 5, 5.0, 4]], dtype=float)
    top = truncated_dendrogram(tree, np.array([1.0, 2.0, 3.0, 4.0]), leaves=2)
    assert top["linkage"] == [[0.0, 1.0, 5.0, 2.0]]
    assert top["leaf_counts"] == [3.0, 7.0]
    # 3 leaves: point 2 (3 customers), point 3 (4) and cluster 4 (3), numbered in order
    # of first appearance in the top rows [2, 3] then [4, 5]
    top = truncated_dendrogram(tree, np.array([1.0, 2.0, 3.0, 4.0]), leaves=3)
    assert top["linkage"] == [[0.0, 1.0, 2.0, 2.0], [2.0, 3.0, 5.0, 3.0]]
    assert top["leaf_counts"] == [3.0, 4.0, 3.0]


# --------------------------------------------------------------------------- scores

def _direct_within(x: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances to the segment means, one segment at a time."""
    return float(sum(((x[labels == s] - x[labels == s].mean(axis=0)) ** 2).sum()
                     for s in np.unique(labels[labels >= 0])))


def _direct_davies_bouldin(x: np.ndarray, labels: np.ndarray) -> float:
    """Davies-Bouldin from its definition, with plain differences for every distance."""
    segments = [x[labels == s] for s in np.unique(labels[labels >= 0])]
    centres = np.array([seg.mean(axis=0) for seg in segments])
    spread = np.array([np.sqrt(((seg - c) ** 2).sum(axis=1)).mean() for seg, c in zip(segments, centres)])
    ratios = [max((spread[i] + spread[j]) / np.sqrt(((centres[i] - centres[j]) ** 2).sum())
                  for j in range(len(segments)) if j != i) for i in range(len(segments))]
    return float(np.mean(ratios))


def _scoring_fixtures():
    rng = np.random.default_rng(11)
    centres = rng.normal(0, 4, (4, 3))
    truth = rng.integers(0, 4, 2000)
    x = centres[truth] + rng.normal(0, 1, (2000, 3))
    noisy = truth.copy()
    noisy[rng.random(2000) < 0.05] = -1
    gaps = np.array([0, 2, 5, 9])[truth]            # labels with unused values in between
    yield "blobs", x, truth, 0.0
    yield "noise", x, noisy, 0.0
    yield "gaps", x, gaps, 0.0
    # scikit-learn's distances (|x|^2 - 2 x.c + |c|^2) lose digits this far out, so the
    # reference is computed on the same data moved back: every score is shift-invariant.
    yield "far from the origin", x + 1e6, truth, 1e6
    yield "a one-customer segment", x[:5], np.arange(5) % 3, 0.0


@pytest.mark.parametrize("name, x, labels, shift", list(_scoring_fixtures()), ids=[f[0] for f in _scoring_fixtures()])
def test_scores_equal_scikit_learn_and_the_direct_sum(name, x, labels, shift):
    placed = labels >= 0
    spread = segment_spread(x, labels)
    y, z = labels[placed], x[placed] - shift
    assert spread.sizes.tolist() == np.bincount(y).tolist()
    assert spread.calinski_harabasz() == pytest.approx(calinski_harabasz_score(z, y), rel=1e-10)
    assert spread.davies_bouldin() == pytest.approx(_direct_davies_bouldin(x - shift, labels), rel=1e-10)
    # scikit-learn's distance of a lone customer to its own centre is sqrt(rounding
    # error), about 1e-8 rather than 0, hence the looser match in that case
    exact = name != "a one-customer segment"
    assert spread.davies_bouldin() == pytest.approx(davies_bouldin_score(z, y), rel=1e-10 if exact else 1e-7)
    assert within_sum_of_squares(x, labels) == pytest.approx(_direct_within(x - shift, labels), rel=1e-10)


def test_scores_span_many_blocks(monkeypatch):
    monkeypatch.setattr("custseg.segmenting.scores._SPREAD_CHUNK", 64)
    _, x, labels, _ = next(f for f in _scoring_fixtures() if f[0] == "noise")
    placed = labels >= 0
    spread = segment_spread(x, labels)
    assert spread.calinski_harabasz() == pytest.approx(calinski_harabasz_score(x[placed], labels[placed]), rel=1e-10)
    assert spread.davies_bouldin() == pytest.approx(davies_bouldin_score(x[placed], labels[placed]), rel=1e-10)
    assert spread.within == pytest.approx(_direct_within(x, labels), rel=1e-10)


def test_within_sum_of_squares_keeps_its_precision_far_from_the_origin():
    # Two points per segment, 1 apart, at 1e8: |x|^2 is 1e16 per customer, so a
    # difference of totals would lose every digit of the answer (0.5 per segment).
    x = np.array([[1e8], [1e8 + 1], [2e8], [2e8 + 1]])
    assert within_sum_of_squares(x, np.array([0, 0, 1, 1])) == 1.0


def test_scores_of_all_noise_and_of_degenerate_segments():
    x = np.arange(12.0).reshape(6, 2)
    assert within_sum_of_squares(x, np.full(6, -1)) == 0.0
    assert segment_spread(x, np.full(6, -1)).sizes.tolist() == []
    same = np.zeros((6, 2))                           # every customer at its centre
    spread = segment_spread(same, np.array([0, 0, 0, 1, 1, 1]))
    assert spread.calinski_harabasz() == calinski_harabasz_score(same, [0, 0, 0, 1, 1, 1]) == 1.0
    assert spread.davies_bouldin() == davies_bouldin_score(same, [0, 0, 0, 1, 1, 1]) == 0.0


@pytest.mark.parametrize("silhouette_sample", [4000, 500])
def test_score_with_noise_equals_scoring_the_placed_customers(silhouette_sample):
    _, x, labels, _ = next(f for f in _scoring_fixtures() if f[0] == "noise")
    placed = labels >= 0
    candidate = Candidate("dbscan", 4, labels, None)
    options = SearchOptions.from_settings(Settings(silhouette_sample=silhouette_sample))
    score_candidate(candidate, x, options)
    share = 1 - placed.mean()
    assert candidate.noise_share == pytest.approx(share, abs=1e-15)
    assert candidate.smallest_share == np.bincount(labels[placed]).min() / len(labels)
    assert candidate.inertia is None
    assert candidate.calinski_harabasz == pytest.approx(calinski_harabasz_score(x[placed], labels[placed]), rel=1e-10)
    assert candidate.davies_bouldin == pytest.approx(davies_bouldin_score(x[placed], labels[placed]), rel=1e-10)
    # the silhouette sample is the one drawn from the placed customers alone
    score, values, value_labels = sampled_silhouette(x[placed], labels[placed], silhouette_sample, options.random_state)
    assert candidate.silhouette == score * (1 - candidate.noise_share)
    np.testing.assert_array_equal(candidate.silhouette_values, values)
    np.testing.assert_array_equal(candidate.silhouette_labels, value_labels)


def test_scores_copy_nothing_of_the_matrix():
    import tracemalloc

    rng = np.random.default_rng(3)
    x = rng.normal(0, 1, (1_000_000, 8))
    labels = rng.integers(0, 5, len(x))
    labels[::50] = -1
    tracemalloc.start()
    segment_spread(x, labels)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # block temporaries only (about 10 MB here), never a copy of the 64 MB matrix
    assert peak < x.nbytes / 4


# --------------------------------------------------------------------------- silhouette

def test_sampled_silhouette_is_exact_for_small_data():
    rng = np.random.default_rng(4)
    x = np.vstack([rng.normal(0, 1, (40, 2)), rng.normal(4, 1, (60, 2))])
    labels = np.repeat([0, 1], [40, 60])
    score, values, value_labels = sampled_silhouette(x, labels, sample_size=100, random_state=0)
    assert score == pytest.approx(silhouette_score(x, labels), rel=1e-12)
    assert len(values) == 100
    np.testing.assert_array_equal(value_labels, labels)


def test_stratified_silhouette_estimate_keeps_the_tiny_segment():
    rng = np.random.default_rng(5)
    sizes = [4000, 1970, 30]
    centres = [(0.0, 0.0), (5.0, 0.0), (2.5, 5.0)]
    x = np.vstack([rng.normal(c, 1.0, (s, 2)) for c, s in zip(centres, sizes)])
    labels = np.repeat([0, 1, 2], sizes)
    exact = silhouette_score(x, labels)
    score, values, value_labels = sampled_silhouette(x, labels, sample_size=1000, random_state=0)
    assert abs(score - exact) < 0.02
    counts = {int(s): int(c) for s, c in zip(*np.unique(value_labels, return_counts=True))}
    # the tiny segment is fully in (30 < 50 per segment), the big ones proportionally
    assert counts == {0: 667, 1: 328, 2: 30}
    assert len(values) == len(value_labels) == 1025


def test_canonical_order_by_size():
    labels = np.array([2, 2, 2, 0, 1, 1, -1, -1, -1, -1])
    assert canonical_order(labels) == {2: 0, 1: 1, 0: 2, -1: -1}
    # ties go to the smaller old label
    assert canonical_order(np.array([5, 5, 3, 3, 7])) == {3: 0, 5: 1, 7: 2, -1: -1}


# --------------------------------------------------------------------------- choice

def _cand(algorithm="kmeans", k=3, sil=0.5, ch=100.0, db=1.0, smallest=0.2, noise=0.0) -> Candidate:
    return Candidate(
        algorithm=algorithm, k=k, labels=np.zeros(10, dtype="int64"), assigner=None,
        silhouette=sil, calinski_harabasz=ch, davies_bouldin=db,
        smallest_share=smallest, noise_share=noise,
    )


def _pick(*args):
    """`choose` as (chosen, reason, disagreements)."""
    choice = choose(*args)
    return choice.chosen, choice.reason, choice.disagreements


def test_highest_silhouette_wins():
    a = _cand(k=3, sil=0.60, ch=200.0, db=0.5)
    b = _cand(k=4, sil=0.50, ch=100.0, db=0.9)
    chosen, reason, disagreements = _pick([b, a], {}, 1000)
    assert chosen is a
    assert reason.startswith("K-Means with 3 segments has the highest silhouette (0.600) of 2 candidates.")
    assert "A silhouette of 0.60 means reasonable structure" in reason
    assert disagreements == []


def test_near_tie_is_settled_by_ch_and_db():
    a = _cand("kmeans", 3, sil=0.600, ch=100.0, db=0.9)
    b = _cand("hierarchical", 4, sil=0.595, ch=200.0, db=0.5)
    chosen, reason, disagreements = _pick([a, b], {}, 1000)
    assert chosen is b
    assert reason.startswith("hierarchical (Ward) with 4 segments was chosen from 2 candidates")
    assert "silhouette of 0.5950, within 0.01 of the best (0.6000)" in reason
    assert "near-ties (K-Means with 3 segments)" in reason
    assert disagreements == []


def test_beyond_the_tolerance_ch_and_db_do_not_matter():
    a = _cand("kmeans", 3, sil=0.600, ch=100.0, db=0.9)
    b = _cand("hierarchical", 4, sil=0.589, ch=200.0, db=0.5)
    chosen, _, disagreements = _pick([a, b], {}, 1000)
    assert chosen is a
    assert disagreements == [
        "Calinski-Harabasz prefers hierarchical (Ward) with 4 segments (200.0 against 100.0).",
        "Davies-Bouldin prefers hierarchical (Ward) with 4 segments (0.500 against 0.900; lower is better).",
    ]


def test_split_ranks_go_to_the_higher_silhouette():
    # a is best on CH, b on DB: equal mean rank, so the higher silhouette (a) wins
    a = _cand("kmeans", 3, sil=0.600, ch=300.0, db=0.9)
    b = _cand("kmeans", 4, sil=0.595, ch=200.0, db=0.5)
    chosen, reason, disagreements = _pick([b, a], {}, 1000)
    assert chosen is a
    assert "it has the highest silhouette (0.600)" in reason
    assert disagreements == [
        "Davies-Bouldin prefers K-Means with 4 segments (0.500 against 0.900; lower is better).",
    ]


def test_full_tie_goes_to_the_simpler_algorithm_then_fewer_segments():
    a = _cand("dbscan", 3, sil=0.6)
    b = _cand("hierarchical", 3, sil=0.6)
    c = _cand("kmeans", 4, sil=0.6)
    d = _cand("kmeans", 3, sil=0.6)
    chosen, _, _ = _pick([a, b, c, d], {}, 1000)
    assert chosen is d


def test_ineligible_candidates_are_skipped():
    tiny = _cand("kmeans", 8, sil=0.90, smallest=0.001)          # 1 customer in 1000
    noisy = _cand("dbscan", 3, sil=0.95, noise=0.30)             # 30% noise
    unscored = _cand("kmeans", 2, sil=None)
    fine = _cand("kmeans", 3, sil=0.55)
    chosen, reason, _ = _pick([tiny, noisy, unscored, fine], {}, 1000)
    assert chosen is fine
    assert "K-Means with 3 segments has the highest silhouette (0.550) of 4 candidates" in reason
    # a segment of 5 customers in 100 is 5%: allowed; 4 customers is not
    ok = _cand("kmeans", 4, sil=0.9, smallest=0.05)
    too_small = _cand("kmeans", 5, sil=0.95, smallest=0.04)
    chosen, _, _ = _pick([too_small, ok, fine], {}, 100)
    assert chosen is ok


def test_fallback_when_no_candidate_is_eligible():
    noisy = _cand("dbscan", 3, sil=0.7, noise=0.5)
    tiny = _cand("kmeans", 5, sil=0.6, smallest=0.0001)
    chosen, reason, _ = _pick([tiny, noisy], {}, 10_000)
    assert chosen is noisy
    assert reason.startswith("No candidate met the rules")
    assert "DBSCAN leaves 50.0% of customers as noise (segment -1)." in reason


def test_disagreements_name_ch_db_and_elbow():
    a = _cand("kmeans", 3, sil=0.70, ch=100.0, db=0.8)
    b = _cand("kmeans", 5, sil=0.50, ch=300.0, db=0.4)
    chosen, reason, notes = _pick([a, b], {"kmeans": 4}, 1000)
    assert chosen is a
    assert "K-Means with 3 segments" in reason and "strong structure" not in reason
    assert notes == [
        "Calinski-Harabasz prefers K-Means with 5 segments (300.0 against 100.0).",
        "Davies-Bouldin prefers K-Means with 5 segments (0.400 against 0.800; lower is better).",
        "The elbow of the K-Means inertia curve is at k = 4.",
    ]
    _, _, notes = _pick([a, b], {"kmeans": 3}, 1000)
    assert not any("elbow" in note for note in notes)
    _, _, notes = _pick([a, b], {"kmeans": None}, 1000)
    assert notes[-1] == "The elbow of the K-Means inertia curve is not clear (no knee)."


# --------------------------------------------------------------------------- search

def _blobs(seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 9.0]])
    truth = np.repeat([0, 1, 2], 100)
    return centres[truth] + rng.normal(0, 1.0, (300, 2)), truth


@pytest.fixture(scope="module")
def exact_result():
    matrix, truth = _blobs()
    return search(matrix, SearchOptions.from_settings(Settings())), truth


def test_search_finds_three_blobs(exact_result):
    result, truth = exact_result
    assert result.chosen.k == 3
    assert adjusted_rand_score(truth, result.chosen.labels) == 1.0
    algorithms = {c.algorithm for c in result.candidates}
    assert algorithms == {"kmeans", "hierarchical", "gmm", "hdbscan"}
    assert sum(c.algorithm != "hdbscan" for c in result.candidates) == 9 + 9 + 9
    # three round, well-separated blobs: density finds them, every method agrees
    assert result.decided_by == "density" and result.chosen.algorithm == "hdbscan"
    assert "with 3 segments" in result.reason
    assert result.natural is None
    assert min(result.chosen.stability.values()) >= 0.95
    assert result.sampling["silhouette"]["used"] is False
    assert result.sampling["hierarchical"]["used"] is False
    assert result.sampling["hdbscan"]["used"] is False
    assert is_valid_linkage(np.array(result.dendrogram["linkage"]))
    assert sum(result.dendrogram["leaf_counts"]) == 300
    # segment 0 is the largest; all three are 100 here
    assert np.bincount(result.chosen.labels).tolist() == [100, 100, 100]


def test_search_reports_progress():
    matrix, _ = _blobs()
    calls = []
    search(matrix, SearchOptions.from_settings(Settings(algorithms=("kmeans",), k_min=2, k_max=4)),
           on_progress=lambda step, done, total: calls.append((step, done, total)))
    # one call as K-Means starts, then one after each k is fitted and scored
    assert calls == [("fitting K-Means", 0, 3),
                     ("fitted and scored K-Means with 2 segments", 1, 3),
                     ("fitted and scored K-Means with 3 segments", 2, 3),
                     ("fitted and scored K-Means with 4 segments", 3, 3),
                     ("measuring stability", 0, 3)]


def test_search_with_sampled_paths_agrees_with_exact(exact_result):
    exact, _ = exact_result
    matrix, _ = _blobs()
    settings = Settings(ward_exact_max=100, ward_micro_clusters=50, silhouette_sample=150, dbscan_sample=200)
    result = search(matrix, SearchOptions.from_settings(settings))
    assert result.chosen.k == 3
    assert adjusted_rand_score(exact.chosen.labels, result.chosen.labels) >= 0.95
    assert result.sampling["silhouette"]["used"] is True
    assert result.sampling["silhouette"]["sample_size"] == 150
    assert result.sampling["hierarchical"]["used"] is True
    assert result.sampling["hierarchical"]["micro_clusters"] <= 50
    assert result.sampling["hdbscan"]["used"] is True
    assert result.sampling["hdbscan"]["sample_size"] == 200
    ward3 = next(c for c in result.candidates if c.algorithm == "hierarchical" and c.k == 3)
    assert adjusted_rand_score(exact.chosen.labels, ward3.labels) >= 0.95
    assert sum(result.dendrogram["leaf_counts"]) == 300


def test_fitting_on_a_sample_keeps_the_answer(exact_result):
    exact, _ = exact_result
    matrix, _ = _blobs()
    result = search(matrix, SearchOptions.from_settings(Settings(algorithms=("kmeans", "hierarchical"), fit_sample=120,
                                                                 ward_exact_max=100, ward_micro_clusters=40)))
    assert result.sampling["fit"] == {"used": True, "sample_size": 120, "threshold": 120}
    assert result.chosen.k == 3
    assert adjusted_rand_score(exact.chosen.labels, result.chosen.labels) >= 0.95
    assert len(result.chosen.labels) == len(matrix)


def test_micro_clusters_are_those_of_minibatch_kmeans_with_its_own_labels():
    from sklearn.cluster import MiniBatchKMeans

    from custseg.segmenting.assign import nearest_centre
    from custseg.segmenting.ward import _micro_clusters

    matrix, _ = _blobs(2)
    settings = SearchOptions.from_settings(Settings(ward_micro_clusters=40))
    centres, weights, member_of = _micro_clusters(matrix, settings)
    # compute_labels=False skips only the fit's own labels: the centres are unchanged
    model = MiniBatchKMeans(n_clusters=40, batch_size=16384, n_init=1, random_state=settings.random_state).fit(matrix)
    used = np.bincount(nearest_centre(matrix, model.cluster_centers_), minlength=40) > 0
    np.testing.assert_array_equal(centres, model.cluster_centers_[used])
    assert weights.sum() == len(matrix)
    np.testing.assert_array_equal(member_of, nearest_centre(matrix, centres))
