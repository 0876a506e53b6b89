"""Working segments for a body beside small separated groups (issue 19).

When density finds one body holding most customers and a few small groups separated from
it (a credit-card table: 95% and 5%), the groups are real and worth naming, but one
segment of 95% is nothing to act on. `body_candidates` keeps each small group as it is and
divides the body with K-Means: every reference point of the density result keeps its group,
or takes the K-Means segment of the body it falls in, and customers follow their nearest
reference point as they do for any density result (`custseg.segmenting.assign`), so
``custseg assign`` puts new customers into the same segments.
"""

from __future__ import annotations

import numpy as np

from .assign import Assigner
from .candidates import Candidate, fit_rows, make_candidate
from .options import SearchOptions

#: The name of these candidates among the algorithms (`custseg.segmenting.candidates`).
BODY = "body"


def body_candidates(natural: Candidate, matrix: np.ndarray, options: SearchOptions,
                    totals: range) -> list[Candidate]:
    """The density result ``natural`` (segment 0 the body, the others small groups) with its
    body divided into 2 or more K-Means segments, one candidate for each total number of
    segments in ``totals``.

    Examples
    --------
    >>> from custseg.settings import Settings
    >>> rng = np.random.default_rng(0)
    >>> matrix = np.r_[rng.normal(0, 1, (300, 2)), rng.normal(12, 0.3, (20, 2))]
    >>> labels = np.r_[np.zeros(300, dtype=int), np.ones(20, dtype=int)]
    >>> natural = Candidate("hdbscan", 2, labels, Assigner("nearest", matrix, labels))
    >>> options = SearchOptions.from_settings(Settings())
    >>> found = body_candidates(natural, matrix, options, range(3, 5))
    >>> [(c.k, int(np.sum(c.labels == c.k - 1))) for c in found]
    [(3, 20), (4, 20)]
    """
    reference = natural.assigner
    groups = natural.k - 1
    rows = fit_rows(matrix[natural.labels == 0], options)
    out = []
    for total in totals:
        body_k = total - groups
        if body_k < 2 or body_k >= len(rows):
            continue
        centres = _body_centres(rows, body_k, options.n_init, options.random_state)
        points = np.asarray(reference.points)
        labels = np.where(reference.labels == 0, _nearest(points, centres), reference.labels - 1 + body_k)
        assigner = Assigner("nearest", points.copy(), labels.astype("int64"), reference.radius)
        candidate = make_candidate(BODY, assigner, matrix,
                                   {"groups": dict(natural.params, algorithm=natural.algorithm),
                                    "body_segments": int(body_k)})
        candidate.refit = _body_refit(reference, body_k, options.n_init)
        out.append(candidate)
    return out


def _body_centres(rows: np.ndarray, k: int, n_init: int, seed: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(rows).cluster_centers_


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    distances = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return distances.argmin(axis=1)


def _body_refit(reference: Assigner, body_k: int, n_init: int):
    """Refit on a subsample for stability: the groups as the density result places the
    subsample's customers, the body divided again by K-Means."""

    def refit(points: np.ndarray, seed: int) -> np.ndarray:
        placed = reference.predict(points)
        labels = np.where(placed > 0, placed - 1 + body_k, placed)
        body = placed == 0
        if body.sum() > body_k:
            centres = _body_centres(points[body], body_k, n_init, seed)
            labels[body] = _nearest(points[body], centres)
        return labels

    return refit
