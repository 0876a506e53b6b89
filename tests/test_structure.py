"""Issue 19: what the data has (natural structure) and segments to act on (working segments).

The four shapes of the issue, end to end with the default algorithms: a far small group
beside ten blobs, two overlapping Gaussian groups, a smooth skewed continuum, and one body of
95% beside a small separated group; and, on hand-made candidates, a density result with an
unstable group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from custseg import segment
from custseg.segmenting.candidates import Candidate
from custseg.segmenting.choice import choose
from custseg.segmenting.structure import (
    TWO_GROUPS_MIN_D,
    separation,
    two_groups,
    working_range,
)

RUN = {"report": False, "stability_resamples": 5}


def _run(points: np.ndarray):
    frame = pd.DataFrame(points, columns=[f"x{i + 1}" for i in range(points.shape[1])])
    return segment(frame, **RUN)


def _placed(result) -> np.ndarray:
    return result.found.chosen.labels


def test_a_far_small_group_beside_ten_blobs_is_kept_and_the_rest_found():
    rng = np.random.default_rng(0)
    centres = rng.uniform(-20, 20, (10, 3))
    points = np.vstack([rng.normal(c, 1.0, (80, 3)) for c in centres] + [rng.normal(80, 1.0, (30, 3))])
    truth = np.repeat(np.arange(11), [80] * 10 + [30])
    result = _run(points)
    assert result.found.chosen.k == 11 and result.found.decided_by == "density"
    assert adjusted_rand_score(truth, _placed(result)) == 1.0
    assert result.found.natural is None


def test_two_overlapping_groups_are_two_with_the_evidence_named():
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal([0, 0], 1, (500, 2)), rng.normal([2.8, 0], 1, (500, 2))])
    result = _run(points)
    chosen = result.summary["chosen"]
    assert (chosen["k"], chosen["decided_by"]) == (2, "two groups")
    assert chosen["silhouette"] < 0.5                     # the cut alone looks weak
    assert chosen["structure"].startswith("two natural groups: they overlap too much for a strong silhouette")
    assert "two Gaussians fit the customers better than one" in chosen["reason"] and "Ashman's D" in chosen["reason"]
    truth = np.repeat([0, 1], 500)
    assert adjusted_rand_score(truth, _placed(result)) > 0.6   # the Bayes error of these two is about 8%


def test_a_smooth_skewed_continuum_gets_stable_balanced_working_segments():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 1, 1000)
    points = np.c_[np.exp(5 + 0.8 * z + rng.normal(0, 0.3, 1000)),        # spend: log-normal
                   np.exp(1 + 0.6 * z + rng.normal(0, 0.3, 1000)),        # visits per month, with it
                   rng.normal(45, 12, 1000)]                              # age, independent
    result = _run(points)
    chosen = result.summary["chosen"]
    assert 3 <= chosen["k"] <= 8 and chosen["decided_by"] == "working"
    assert chosen["structure"].startswith("no natural groups")
    assert chosen["stability_min"] >= 0.6
    assert max(s["share"] for s in result.summary["segments"]) <= 0.55
    assert chosen["natural_split"]["why"].startswith("its silhouette is weak")


def test_a_body_beside_a_small_separated_group_is_divided_and_the_group_kept():
    rng = np.random.default_rng(0)
    body = np.c_[rng.lognormal(6, 1, 1500), rng.lognormal(3, 0.7, 1500), rng.gamma(2, 2, 1500)]
    group = np.c_[rng.lognormal(9.5, 0.2, 80), rng.lognormal(6, 0.2, 80), rng.gamma(30, 1, 80)]
    result = _run(np.vstack([body, group]))
    chosen = result.summary["chosen"]
    assert chosen["algorithm"] == "body" and chosen["decided_by"] == "working"
    assert chosen["natural_split"]["algorithm"] == "hdbscan" and chosen["natural_split"]["sizes"] == [1500, 80]
    labels = _placed(result)
    # the 80 separated customers are one segment of their own, the body is divided
    assert len(np.unique(labels[1500:])) == 1 and np.sum(labels == labels[-1]) == 80
    assert 3 <= chosen["k"] <= 8
    assert max(s["share"] for s in result.summary["segments"]) <= 0.55
    assert chosen["structure"].startswith("one body of 95% of the customers beside a small separated group of 80")
    # new customers go where the run put them (the model's assignment is the run's)
    assert np.array_equal(result.found.chosen.assigner.predict(result.found.chosen.labels[:, None] * 0 +
                                                               result.plan.transform(result.table.data)), labels)


# --------------------------------------------------------------------------- the rule, by hand

def _cand(algorithm="kmeans", k=3, sil=0.4, stability=0.9, wcnn=0.9, largest=0.4, **extra) -> Candidate:
    stab = stability if isinstance(stability, dict) else {i: stability for i in range(k)}
    return Candidate(algorithm=algorithm, k=k, labels=np.zeros(10, dtype="int64"), assigner=None,
                     silhouette=sil, calinski_harabasz=100.0, davies_bouldin=1.0, smallest_share=0.1,
                     largest_share=largest, wcnn=wcnn, stability=stab, **extra)


def test_an_unstable_result_is_not_recommended():
    unstable = _cand(k=3, sil=0.52, stability={0: 0.95, 1: 0.90, 2: 0.28})
    four = _cand(k=4, sil=0.45, stability=0.9)
    choice = choose([four, unstable], {}, 1000)
    assert choice.chosen is four and choice.decided_by == "working" and choice.natural is unstable
    assert choice.natural_why == "1 of its segments is not found again when refitted on subsamples"
    # nothing stable to offer instead: the silhouette's choice stays, its segment flagged
    weak = _cand(k=4, sil=0.45, stability=0.4)
    choice = choose([weak, unstable], {}, 1000)
    assert choice.chosen is unstable and choice.decided_by == "silhouette"


def test_separation_along_a_two_way_cut():
    rng = np.random.default_rng(0)
    # two groups 3 apart with unit spread: D = sqrt(2) * 3 / sqrt(2) = 3
    two = np.r_[rng.normal(0, 1, (2000, 2)), rng.normal([3, 0], 1, (2000, 2))]
    cut = (two[:, 0] > 1.5).astype(int)
    assert separation(two, cut, 10_000, 0) == pytest.approx(3.0, abs=0.15)
    one = rng.normal(0, 1, (4000, 2))
    assert separation(one, (one[:, 0] > 0).astype(int), 10_000, 0) == 0.0
    assert separation(one, np.zeros(4000, dtype=int), 10_000, 0) is None
    top = Candidate("kmeans", 2, cut, None, silhouette=0.4, separation=3.0)
    assert two_groups(top) and not two_groups(Candidate("kmeans", 2, cut, None, separation=1.5))
    assert TWO_GROUPS_MIN_D == 2.0


def test_working_range_follows_the_k_asked_for():
    assert working_range((2, 10)) == (3, 8) and working_range((4, 6)) == (4, 6)
