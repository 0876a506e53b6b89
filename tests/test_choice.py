"""The choice on fixtures whose right answer is known, the stability figures, and the rule
that replaces a weak two-way split by a finer stable partition."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import make_circles, make_moons
from sklearn.metrics import adjusted_rand_score

from custseg import segment
from custseg.segmenting.candidates import Candidate
from custseg.segmenting.choice import choose
from custseg.segmenting.options import SearchOptions
from custseg.segmenting.search import search
from custseg.segmenting.stability import (
    best_jaccard,
    every_candidate_measured,
    segment_stability,
)
from custseg.settings import Settings


def _standardised(points: np.ndarray) -> np.ndarray:
    return (points - points.mean(axis=0)) / points.std(axis=0)


def _search(points: np.ndarray, **settings):
    return search(_standardised(points), SearchOptions.from_settings(Settings(**settings)))


# --------------------------------------------------------------------------- known answers

def test_two_moons_are_found_by_density():
    points, truth = make_moons(400, noise=0.05, random_state=0)
    result = _search(points)
    assert result.decided_by == "density"
    assert result.chosen.k == 2
    assert adjusted_rand_score(truth, result.chosen.labels) >= 0.99
    # K-Means would cut the moons across: the report says so
    assert any("By silhouette alone" in note for note in result.disagreements)


def test_nested_rings_are_found_by_density():
    points, truth = make_circles(600, factor=0.4, noise=0.04, random_state=0)
    result = _search(points)
    assert result.decided_by == "density"
    assert result.chosen.k == 2
    assert adjusted_rand_score(truth, result.chosen.labels) >= 0.99


def test_unequal_blobs_keep_the_small_one():
    rng = np.random.default_rng(0)
    sizes, centres, spreads = [600, 150, 40], [[0, 0], [8, 0], [4, 7]], [1.5, 0.7, 0.4]
    points = np.vstack([rng.normal(c, s, (n, 2)) for n, c, s in zip(sizes, centres, spreads)])
    truth = np.repeat([0, 1, 2], sizes)
    result = _search(points)
    assert result.chosen.k == 3
    assert adjusted_rand_score(truth, result.chosen.labels) >= 0.95
    assert sorted(np.bincount(result.chosen.labels)) == pytest.approx(sorted(sizes), abs=10)


def test_pure_noise_says_there_is_no_structure():
    points = np.random.default_rng(0).uniform(size=(500, 2))
    result = _search(points)
    assert result.decided_by != "density"
    assert result.structure.startswith("no strong natural split")
    assert "not natural groups" in result.structure


# --------------------------------------------------------------------------- stability

def test_best_jaccard_by_hand():
    # segment 0 = {0,1,2}, best match {0,1} (2 shared / 3 in the union); segment 1 =
    # {3,4}, best match {2,3,4} (2 / 3); refitted noise (-1) matches nothing
    assert best_jaccard(np.array([0, 0, 0, 1, 1]), np.array([5, 5, 7, 7, 7])) == {0: 2 / 3, 1: 2 / 3}
    assert best_jaccard(np.array([0, 0, 1, 1]), np.array([-1, -1, 2, 2])) == {0: 0.0, 1: 1.0}


def test_a_planted_unstable_segment_is_flagged():
    # One far, tight blob (segment 0) and one wide blob cut into two arbitrary halves
    # by random labels (segments 1 and 2): a refit finds the blob again, never the halves.
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal([20, 0], 0.5, (100, 2)), rng.normal([0, 0], 1.0, (200, 2))])
    labels = np.r_[np.zeros(100, int), rng.integers(1, 3, 200)]

    def refit(sample, seed):
        from sklearn.cluster import KMeans
        return KMeans(3, n_init=4, random_state=seed).fit(sample).labels_

    values = segment_stability(points, labels, refit, resamples=10, fraction=0.8, random_state=0)
    assert values[0] == 1.0
    assert values[1] < 0.6 and values[2] < 0.6


def test_every_candidate_that_can_be_chosen_gets_a_stability_when_asked_for_all():
    # The switch of benchmarks/candidates_cache.py: every candidate the rule could look at is
    # measured (by default only those it does look at: see the lazy tests below).
    points, _ = make_moons(300, noise=0.05, random_state=1)
    options = SearchOptions.from_settings(Settings(k_max=5))
    result = search(_standardised(points), options, all_stability=True)
    with every_candidate_measured():
        in_context = search(_standardised(points), options)
    for found in (result, in_context):
        for candidate in found.candidates:
            if candidate.algorithm == "gmm":          # a model-fit opinion only, by default
                assert candidate.stability is None
                continue
            assert set(candidate.stability) == set(np.unique(candidate.labels[candidate.labels >= 0]))
            assert all(0.0 <= v <= 1.0 for v in candidate.stability.values())
    assert [c.stability for c in result.candidates] == [c.stability for c in in_context.candidates]
    # asked for alone, mixtures are chosen, and the chosen one is measured
    alone = _search(points, k_max=5, algorithms=("gmm",))
    assert alone.chosen.algorithm == "gmm" and alone.chosen.stability is not None
    assert "Refitted on subsamples" in alone.reason
    assert result.sampling["stability"] == {"used": False, "sample_size": 300, "threshold": 1000,
                                            "resamples": 10, "fraction": 0.8}


# --------------------------------------------------------------------------- the rule

def _cand(algorithm="kmeans", k=3, sil=0.4, stability=0.9, wcnn=0.9, **extra) -> Candidate:
    candidate = Candidate(algorithm=algorithm, k=k, labels=np.zeros(10, dtype="int64"), assigner=None,
                          silhouette=sil, calinski_harabasz=100.0, davies_bouldin=1.0, smallest_share=0.1,
                          wcnn=wcnn, stability={i: stability for i in range(k)}, **extra)
    return candidate


def test_weak_two_way_split_gives_way_to_stable_working_segments():
    two = _cand(k=2, sil=0.30)
    three = _cand(k=3, sil=0.26, stability=0.80)            # stable, the best silhouette of 3..8
    four = _cand(k=4, sil=0.27, stability=0.70)             # a better silhouette, one segment below 0.75
    five = _cand(k=5, sil=0.20, stability=0.95)             # stable, a lower silhouette
    choice = choose([two, three, four, five], {}, 1000)
    assert choice.chosen is three
    assert choice.natural is two
    assert choice.decided_by == "working"
    assert "has a weak silhouette (0.30): no natural groups" in choice.reason
    assert choice.structure.startswith("no natural groups")
    assert choice.natural_why == "its silhouette is weak (0.30): a cut through a continuum, not natural groups"
    # no segment stable from 0.75: stable from 0.6 will do
    choice = choose([two, four, _cand(k=5, sil=0.20, stability=0.5)], {}, 1000)
    assert choice.chosen is four


def test_a_clear_or_unopposed_two_way_split_stays():
    strong = _cand(k=2, sil=0.62)
    finer = _cand(k=3, sil=0.55, stability=0.95)
    assert choose([strong, finer], {}, 1000).chosen is strong
    weak = _cand(k=2, sil=0.30)
    unstable = _cand(k=3, sil=0.29, stability=0.5)
    choice = choose([weak, unstable], {}, 1000)
    assert choice.chosen is weak and choice.natural is None and choice.decided_by == "silhouette"


def test_density_decides_only_when_admissible():
    centroid = _cand(k=4, sil=0.45, wcnn=0.90)
    good = _cand("hdbscan", k=3, sil=0.30, wcnn=0.97, density_noise=0.10, density_smallest=60)
    noisy = _cand("hdbscan", k=2, sil=0.30, wcnn=0.99, density_noise=0.45, density_smallest=60)
    speck = _cand("hdbscan", k=5, sil=0.30, wcnn=0.99, density_noise=0.05, density_smallest=8)
    choice = choose([centroid, good, noisy, speck], {}, 1000)
    assert choice.chosen is good and choice.decided_by == "density"
    choice = choose([centroid, noisy, speck], {}, 1000)
    assert choice.chosen is centroid
    assert any("its result with the least noise (5 groups) had a group of only 8 customers" in note
               for note in choice.disagreements)


def test_density_results_outside_the_asked_range_are_not_chosen():
    centroid = _cand(k=4, sil=0.45)
    density = _cand("hdbscan", k=6, wcnn=0.99, density_noise=0.05, density_smallest=60)
    assert choose([centroid, density], {}, 1000, (2, 10)).chosen is density
    assert choose([centroid, density], {}, 1000, (2, 5)).chosen is centroid


# --------------------------------------------------------------------------- end to end

def test_wholesale_is_not_collapsed_to_two_segments(shared_data):
    result = segment(shared_data / "wholesale_customers.csv", report=False)
    chosen = result.summary["chosen"]
    assert chosen["k"] >= 3
    assert chosen["decided_by"] == "working"
    assert chosen["natural_split"]["k"] == 2
    assert sum(chosen["natural_split"]["sizes"]) == 440
    for item in result.summary["segments"]:
        assert item["stability"] >= 0.75 and item["unstable"] is False


def test_the_choice_is_deterministic():
    points, _ = make_moons(300, noise=0.08, random_state=2)
    first, second = _search(points, k_max=6), _search(points, k_max=6)
    assert first.chosen.label == second.chosen.label
    assert np.array_equal(first.chosen.labels, second.chosen.labels)
    assert json.dumps([c.scores() for c in first.candidates]) == json.dumps([c.scores() for c in second.candidates])


def test_the_default_range_lets_density_find_more_groups_than_the_sweeps():
    rng = np.random.default_rng(3)
    centres = np.array([[x, y] for x in range(4) for y in range(3)]) * 10.0     # 12 far blobs
    points = np.vstack([rng.normal(c, 1.0, (60, 2)) for c in centres])
    truth = np.repeat(np.arange(12), 60)
    result = _search(points)
    assert result.decided_by == "density" and result.chosen.k == 12
    assert adjusted_rand_score(truth, result.chosen.labels) == 1.0
    bounded = _search(points, k_min=2, k_max=8)
    assert bounded.chosen.k <= 8


@pytest.mark.parametrize("planted", [3, 5, 8])
def test_generated_customers_give_the_planted_k(planted):
    from custseg import generate_customers

    customers, truth = generate_customers(2000, planted, random_state=1)
    result = segment(customers, report=False)
    assert result.found.chosen.k == planted
    assert adjusted_rand_score(truth, result.labels) >= 0.99


def test_a_coarser_strong_cut_inside_the_range_overrides_density_that_cut_skewed_groups():
    """Density cuts three skewed groups into five (a core apart from its tail); K-Means' three
    have a strong silhouette and keep near neighbours together better: the three win. At the
    range's first or last k the silhouette's peak is the range's, and density stays."""
    density = _cand("hdbscan", k=5, sil=0.44, wcnn=0.9913, density_noise=0.26, density_smallest=211)
    three = _cand(k=3, sil=0.56, wcnn=0.9934)
    choice = choose([three, density], {}, 3000, (2, 10))
    assert choice.chosen is three and choice.decided_by == "silhouette"
    assert any("joins them into fewer, well separated groups" in note and "simpler partition" in note
               for note in choice.disagreements)
    assert choose([three, density], {}, 3000, (3, 10)).chosen is density        # k = 3 is the range's first
    weak = _cand(k=3, sil=0.45, wcnn=0.9934)                                     # below WEAK_SILHOUETTE
    assert choose([weak, density], {}, 3000, (2, 10)).chosen is density
    apart = _cand(k=3, sil=0.56, wcnn=0.985)                                     # neighbours cut apart more
    assert choose([apart, density], {}, 3000, (2, 10)).chosen is density
