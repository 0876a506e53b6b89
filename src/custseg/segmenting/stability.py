"""How stable each segment is: Hennig's clusterboot, by subsampling, on a bounded sample.

A segment that a method finds again when it is refitted on part of the customers is a
real feature of the data; one that dissolves is an accident of one fit. For every
resample, a share of a bounded sample of customers is drawn without replacement, the
same method with the same settings is refitted on it, and each original segment
(restricted to the drawn customers) is matched with the refitted segment that has the
highest Jaccard agreement with it. A segment's stability is that best Jaccard averaged
over the resamples (Hennig 2007, *Cluster-wise assessment of cluster stability*,
Comput. Stat. Data Anal. 52: below 0.6 the segment is not stable, from 0.75 it is
stable, from 0.85 highly stable). Subsampling rather than the bootstrap: duplicated
customers would form artificial dense spots for the density methods. `measure_stability`
fills in the stability of the search's candidates.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Callable

import numpy as np

from .candidates import Candidate, sample_note, seeded_sample
from .options import SearchOptions

#: Below this mean Jaccard a segment is flagged as unstable (Hennig's reading).
UNSTABLE_BELOW = 0.6
#: From this mean Jaccard a segment counts as stable.
STABLE_FROM = 0.75
#: From this mean Jaccard a segment counts as highly stable.
HIGHLY_STABLE_FROM = 0.85
#: Share of the stability sample drawn for each refit.
STABILITY_FRACTION = 0.8

Refit = Callable[[np.ndarray, int], np.ndarray]


def measure_stability(candidates: list[Candidate], matrix: np.ndarray, options: SearchOptions) -> dict:
    """Fill in the per-segment stability of ``candidates`` now (`segment_stability` of each).

    All candidates are measured on the same seeded sample of ``stability_sample``
    customers and the same subsamples, so their figures compare. Returns the note on
    sampling for ``summary.json``.
    """
    note = defer_stability(candidates, matrix, options)
    for candidate in candidates:
        candidate.measured_stability()
    return note


def defer_stability(candidates: list[Candidate], matrix: np.ndarray, options: SearchOptions) -> dict:
    """Make the stability of ``candidates`` measured when first asked for
    (`Candidate.measured_stability`), on the sample and subsamples `measure_stability` uses:
    a rule pays for the refits of the candidates it looks at, and only those, whatever it
    looks at. Returns the note on sampling for ``summary.json``.

    Examples
    --------
    >>> from custseg.settings import Settings
    >>> from custseg.segmenting.centres import kmeans_refit
    >>> points = np.r_[np.zeros((20, 1)), np.full((20, 1), 10.0)]
    >>> c = Candidate("kmeans", 2, np.repeat([0, 1], 20), None, refit=kmeans_refit(2, 1))
    >>> note = defer_stability([c], points, SearchOptions.from_settings(Settings()))
    >>> c.stability is None, c.stability_min
    (True, 1.0)
    """
    sample: list[tuple[np.ndarray, np.ndarray]] = []     # (index, points), drawn once when first needed

    def measure(candidate: Candidate) -> dict[int, float] | None:
        if not sample:
            index = seeded_sample(len(matrix), options.stability_sample, options.random_state)
            sample.append((index, matrix[index]))
        index, points = sample[0]
        if candidate.refit is None or candidate.k < 1 or candidate.k >= round(STABILITY_FRACTION * len(points)):
            return None
        return segment_stability(
            points, candidate.labels[index], candidate.refit, resamples=options.stability_resamples,
            fraction=STABILITY_FRACTION, random_state=options.random_state,
        )

    for candidate in candidates:
        if candidate.stability is None:
            candidate.measure = partial(measure, candidate)
    return {**sample_note(len(matrix), options.stability_sample), "resamples": options.stability_resamples,
            "fraction": STABILITY_FRACTION}


_EVERY_CANDIDATE: ContextVar[bool] = ContextVar("measure_every_candidate", default=False)


@contextmanager
def every_candidate_measured():
    """Inside this block, searches measure the stability of every candidate that can be
    chosen, not only of those the choice looks at (for studies of the choice rule, e.g.
    ``benchmarks/candidates_cache.py``). Outside it, stability is measured lazily.

    Examples
    --------
    >>> with every_candidate_measured():
    ...     measuring_every_candidate()
    True
    >>> measuring_every_candidate()
    False
    """
    token = _EVERY_CANDIDATE.set(True)
    try:
        yield
    finally:
        _EVERY_CANDIDATE.reset(token)


def measuring_every_candidate() -> bool:
    """Whether the search runs inside `every_candidate_measured`."""
    return _EVERY_CANDIDATE.get()


def segment_stability(points: np.ndarray, labels: np.ndarray, refit: Refit, *, resamples: int,
                      fraction: float, random_state: int) -> dict[int, float]:
    """Mean best-match Jaccard of every segment over subsample refits.

    Parameters
    ----------
    points : ndarray of shape (m, d)
        The (sampled) customers.
    labels : ndarray of shape (m,)
        Their segments in the fitted segmentation; -1 (noise) is not a segment.
    refit : callable
        ``refit(points, seed)`` returns the labels of the same method refitted on
        ``points`` (-1 for noise, which matches no segment).
    resamples : int
        Number of refits.
    fraction : float
        Share of ``points`` drawn (without replacement) for each refit.
    random_state : int
        Seed of the draws; refit ``r`` gets seed ``random_state + r``.

    Returns
    -------
    dict
        Segment id to its mean Jaccard (0 to 1); a segment that was never drawn gets 0.

    Examples
    --------
    >>> import numpy as np
    >>> points = np.r_[np.zeros((20, 1)), np.ones((20, 1)) * 10]
    >>> labels = np.repeat([0, 1], 20)
    >>> refit = lambda x, seed: (x[:, 0] > 5).astype(int)
    >>> segment_stability(points, labels, refit, resamples=3, fraction=0.8, random_state=0)
    {0: 1.0, 1: 1.0}
    """
    rng = np.random.default_rng(random_state)
    segments = [int(s) for s in np.unique(labels) if s >= 0]
    totals = dict.fromkeys(segments, 0.0)
    size = max(2, int(round(fraction * len(points))))
    for r in range(resamples):
        drawn = np.sort(rng.choice(len(points), size, replace=False))
        refitted = np.asarray(refit(points[drawn], random_state + r))
        for segment, value in best_jaccard(labels[drawn], refitted).items():
            totals[segment] += value
    return {segment: float(total / resamples) for segment, total in totals.items()}


def best_jaccard(original: np.ndarray, refitted: np.ndarray) -> dict[int, float]:
    """For each segment of ``original`` (not -1), its highest Jaccard with a segment of
    ``refitted`` (not -1), from one contingency table.

    Examples
    --------
    >>> import numpy as np
    >>> best_jaccard(np.array([0, 0, 0, 1, 1]), np.array([5, 5, 7, 7, 7]))
    {0: 0.6666666666666666, 1: 0.6666666666666666}
    """
    original, refitted = np.asarray(original), np.asarray(refitted)
    rows, row_index = np.unique(original, return_inverse=True)
    cols, col_index = np.unique(refitted, return_inverse=True)
    table = np.zeros((len(rows), len(cols)))
    np.add.at(table, (row_index, col_index), 1)
    table[:, cols < 0] = 0.0                       # refitted noise matches nothing
    row_sizes = np.bincount(row_index, minlength=len(rows)).astype("float64")
    col_sizes = np.where(cols < 0, 0.0, np.bincount(col_index, minlength=len(cols)))
    union = row_sizes[:, None] + col_sizes[None, :] - table
    jaccard = np.divide(table, union, out=np.zeros_like(table), where=union > 0)
    return {int(r): float(jaccard[i].max(initial=0.0)) for i, r in enumerate(rows) if r >= 0}


def stability_word(value: float | None) -> str:
    """Hennig's reading of a segment's stability, in one word or two."""
    if value is None:
        return "not measured"
    if value >= HIGHLY_STABLE_FROM:
        return "highly stable"
    if value >= STABLE_FROM:
        return "stable"
    if value >= UNSTABLE_BELOW:
        return "somewhat stable"
    return "unstable"
