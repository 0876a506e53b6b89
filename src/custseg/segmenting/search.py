"""Search for the segmentation: algorithms x numbers of segments, scored, and one chosen.

Every step whose cost grows with the square of the customers runs on a bounded subset
above a threshold (see `custseg.segmenting.options.SearchOptions`), so a run stays linear
in customers:

- silhouette: exact up to ``silhouette_sample`` customers, else estimated on a sample
  stratified by segment (every segment gets at least ``MIN_PER_SEGMENT`` customers, so
  small segments are never missed) and reweighted by the segments' true shares
  (`custseg.segmenting.scores`);
- Ward: exact up to ``ward_exact_max`` customers, else on weighted K-Means
  micro-clusters, each customer following its micro-cluster (`custseg.segmenting.ward`);
- HDBSCAN and DBSCAN: fitted on a sample of ``dbscan_sample`` customers and extended to
  everyone through the nearest placed (HDBSCAN) or core (DBSCAN) point
  (`custseg.segmenting.density`);
- Gaussian mixtures: fitted on a sample of ``mixture_sample`` customers
  (`custseg.segmenting.centres`);
- stability: refits on subsamples of ``stability_sample`` customers
  (`custseg.segmenting.stability`).

The choice (`custseg.segmenting.choice.choose`) weighs complementary evidence: admissible
density structure and separation between near neighbours (the wcnn index), compactness and
separation (the silhouette), stability under resampling (Hennig's Jaccard), and model fit
(BIC) as a second opinion. Every threshold is a named constant of `custseg.segmenting.rules`,
with the measurement that set it in ``benchmarks/QUALITY.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from ..progress import ProgressCallback
from .body import body_candidates
from .candidates import ALGORITHM_NAMES, Candidate, sample_note
from .centres import gmm_candidates, kmeans_candidates
from .choice import choose
from .density import (
    DBSCAN_EPS_PERCENTILES,
    DENSITY_MIN_CLUSTER_SIZES,
    dbscan_candidates,
    hdbscan_candidates,
)
from .options import SearchOptions
from .reasons import stability_sentence
from .rules import DENSITY_MAX_SEGMENTS, SILHOUETTE_ALGORITHMS
from .scores import MIN_PER_SEGMENT, NeighbourSample, inertia_elbow, score_candidate
from .stability import defer_stability, measure_stability, measuring_every_candidate
from .structure import TWO_GROUPS_MIN_D, inner_separation, separation
from .ward import ward_candidates


@dataclass
class SearchResult:
    """All candidates, the chosen one, and why."""

    candidates: list[Candidate]
    chosen: Candidate
    reason: str
    disagreements: list[str]
    elbow: dict[str, int | None]
    sampling: dict
    dendrogram: dict | None
    k_distance: dict | None
    decided_by: str = "silhouette"         # "density", "silhouette", "two groups" or "working"
    natural: Candidate | None = None       # the natural finding, when working segments are recommended
    structure: str = ""                    # plain reading of how strong the structure is
    natural_why: str | None = None         # why the natural finding is not the recommendation


def search(matrix: np.ndarray, options: SearchOptions, on_progress: ProgressCallback | None = None, *,
           density_evidence: bool = True, all_stability: bool | None = None) -> SearchResult:
    """Fit every algorithm over the k range, score each candidate and choose one.

    Parameters
    ----------
    matrix : ndarray of shape (n_customers, n_features)
        The model matrix from `custseg.preparing.features.FeaturePlan.transform`.
    options : SearchOptions
        Algorithms, k range, seed and the sampling thresholds
        (`SearchOptions.from_settings` of a run's settings).
    on_progress : callable, optional
        Called as ``on_progress(step, done, total)``.
    density_evidence : bool, default True
        Whether HDBSCAN may decide as evidence of natural groups (step 1 of `choose`).
        False when categoricals are clustered: customers with different levels are apart
        by construction, so every combination of levels looks like a dense group
        (``benchmarks/MIXED.md``). HDBSCAN is still fitted, scored and shown.
    all_stability : bool, optional
        Whether the stability of every candidate that can be chosen is measured. By default
        (False, unless inside `custseg.segmenting.stability.every_candidate_measured`), only
        the candidates the choice looks at are refitted, and the chosen one; the others keep
        ``stability=None`` (not computed).

    Examples
    --------
    >>> import numpy as np
    >>> from custseg.settings import Settings
    >>> rng = np.random.default_rng(0)
    >>> matrix = np.r_[rng.normal(0, 1, (60, 2)), rng.normal(10, 1, (60, 2))]
    >>> options = SearchOptions.from_settings(Settings(algorithms=("kmeans",), k_max=4))
    >>> search(matrix, options).chosen.k
    2
    """
    n = len(matrix)
    ks = list(range(options.k_min, min(options.k_max, n - 1) + 1))
    progress = on_progress or (lambda step, done, total: None)
    fitted = _fit_and_score(matrix, ks, options, progress)
    candidates, sampling = fitted.candidates, fitted.sampling
    _two_way_separations(candidates, matrix, options)
    # Stability is evidence only for candidates that can be chosen (mixtures, by default,
    # only give their BIC); the chosen one is measured below if it was not.
    deciding = [c for c in candidates if c.algorithm in (*SILHOUETTE_ALGORITHMS, "hdbscan")] or candidates
    # Stability refits are the dearest scores: measured when the choice first asks for a
    # candidate's (Candidate.measured_stability), so only the candidates it looks at pay.
    sampling["stability"] = defer_stability(deciding, matrix, options)
    measure_all = measuring_every_candidate() if all_stability is None else all_stability
    progress("measuring stability", 0, len(deciding))     # (as the choice asks for it)
    if measure_all:
        measure_stability(deciding, matrix, options)
    sampling["fit"] = sample_note(n, options.fit_sample)
    sampling["silhouette"] = {**sample_note(n, options.silhouette_sample), "min_per_segment": MIN_PER_SEGMENT}
    elbow = {a: inertia_elbow([c for c in candidates if c.algorithm == a]) for a in ("kmeans", "hierarchical")
             if a in options.algorithms}
    density_k_max = max(options.k_max, DENSITY_MAX_SEGMENTS) if options.k_range_is_default else None
    divided: list[Candidate] = []

    def divide_body(natural: Candidate, totals: tuple[int, int]) -> list[Candidate]:
        progress("dividing the body beside small separated groups", 0, 1)
        found = body_candidates(natural, matrix, options, range(totals[0], totals[1] + 1))
        for candidate in found:
            score_candidate(candidate, matrix, options, fitted.neighbours)
        defer_stability(found, matrix, options)
        divided.extend(found)
        return found

    choice = choose(candidates, elbow, n, (options.k_min, options.k_max),
                    density_k_max=density_k_max, density_evidence=density_evidence, divide_body=divide_body)
    candidates = candidates + divided
    if choice.chosen.stability is None:
        measure_stability([choice.chosen], matrix, options)
        choice.reason = " ".join(filter(None, [choice.reason, stability_sentence(choice.chosen)]))
    if measure_all:
        measure_stability(divided, matrix, options)
    for candidate in candidates:
        candidate.measure = None        # not asked for: shown as not computed, never measured later
    return SearchResult(candidates, choice.chosen, choice.reason, choice.disagreements, elbow, sampling,
                        fitted.dendrogram, fitted.k_distance, choice.decided_by, choice.natural, choice.structure, choice.natural_why)


def _two_way_separations(candidates: list[Candidate], matrix: np.ndarray, options: SearchOptions) -> None:
    """Ashman's D along every two-way cut that can be chosen, and inside its two segments
    where the cut separates two groups (`custseg.segmenting.structure.two_groups`)."""
    for candidate in candidates:
        if candidate.k == 2 and candidate.algorithm in SILHOUETTE_ALGORITHMS and candidate.noise_share == 0:
            candidate.separation = separation(matrix, candidate.labels, options.mixture_sample, options.random_state)
            if candidate.separation is not None and candidate.separation >= TWO_GROUPS_MIN_D:
                candidate.inner_separation = inner_separation(matrix, candidate.labels, options.mixture_sample,
                                                              options.random_state)


@dataclass
class _Fitted:
    """What fitting every algorithm found: the scored candidates (repeats dropped), the
    notes on sampling by algorithm, Ward's dendrogram and DBSCAN's k-distance curve."""

    candidates: list[Candidate] = field(default_factory=list)
    sampling: dict = field(default_factory=dict)
    dendrogram: dict | None = None
    k_distance: dict | None = None
    neighbours: NeighbourSample | None = None


def _fit_and_score(matrix: np.ndarray, ks: list[int], options: SearchOptions, progress) -> _Fitted:
    """Fit each algorithm of ``options`` in turn and score its distinct candidates."""
    steps = {"dbscan": 1 + len(DBSCAN_EPS_PERCENTILES), "hdbscan": len(DENSITY_MIN_CLUSTER_SIZES)}
    total = sum(steps.get(a, len(ks)) for a in options.algorithms)
    done = 0
    fitted = _Fitted()
    neighbours = fitted.neighbours = NeighbourSample(matrix, options.silhouette_sample, options.random_state)
    for algorithm in options.algorithms:
        progress(f"fitting {ALGORITHM_NAMES[algorithm]}", done, total)
        seen: list[Candidate] = []
        for candidate in _fit(algorithm, matrix, ks, options, fitted):
            done += 1
            if any(_same_partition(candidate, other) for other in seen):
                # Fewer distinct customers than k (e.g. only categorical codes), or two
                # density settings that found the same segments: the repeat adds nothing.
                continue
            seen.append(candidate)
            score_candidate(candidate, matrix, options, neighbours)
            fitted.candidates.append(candidate)
            progress(f"fitted and scored {candidate.label}", done, total)
    return fitted


def _fit(algorithm: str, matrix: np.ndarray, ks: list[int], options: SearchOptions,
         fitted: _Fitted) -> Iterable[Candidate]:
    """The candidates of one algorithm; its note on sampling and drawing go into ``fitted``."""
    if algorithm == "kmeans":
        return kmeans_candidates(matrix, ks, options)   # lazy: one fit per step
    if algorithm == "hierarchical":
        found, fitted.dendrogram, fitted.sampling["hierarchical"] = ward_candidates(matrix, ks, options)
    elif algorithm == "gmm":
        found, fitted.sampling["gmm"] = gmm_candidates(matrix, ks, options)
    elif algorithm == "hdbscan":
        found, fitted.sampling["hdbscan"] = hdbscan_candidates(matrix, options)
    else:
        found, fitted.k_distance, fitted.sampling["dbscan"] = dbscan_candidates(matrix, options)
    return found


def _same_partition(a: Candidate, b: Candidate) -> bool:
    if a.k != b.k:
        return False
    # Centroid methods with the same k and fewer distinct customers than k repeat
    # themselves; density methods can reach the same k with other segments.
    return a.algorithm not in ("hdbscan", "dbscan") or bool(np.array_equal(a.labels, b.labels))
