"""HDBSCAN and DBSCAN: density methods fitted on a seeded sample of ``dbscan_sample``
customers and extended to everyone through the nearest placed (HDBSCAN) or core (DBSCAN)
point."""

from __future__ import annotations

import numpy as np

from .assign import Assigner
from .candidates import Candidate, make_candidate, sample_note, seeded_sample
from .options import SearchOptions

#: HDBSCAN's ``min_cluster_size`` values tried: the smallest group it may call a segment.
DENSITY_MIN_CLUSTER_SIZES = (5, 15, 50)


def hdbscan_candidates(matrix: np.ndarray, options: SearchOptions):
    """HDBSCAN for each of `DENSITY_MIN_CLUSTER_SIZES`, on a seeded sample of at most
    ``dbscan_sample`` customers.

    HDBSCAN calls customers between dense groups noise; here each joins the segment of
    its nearest placed customer, so every customer has a segment and the model assigns
    new customers the same way. How much was noise before that, and the smallest dense
    group, are kept: they decide whether the result is admissible evidence.
    """
    from scipy.spatial import cKDTree

    n = len(matrix)
    index = seeded_sample(n, options.dbscan_sample, options.random_state)
    points = matrix[index]
    nearest = None          # each customer's nearest sampled customer: one search for all sizes
    out = []
    for size in DENSITY_MIN_CLUSTER_SIZES:
        if size >= len(points):
            break
        raw = _hdbscan_labels(points, size)
        placed = raw >= 0
        if len(np.unique(raw[placed])) < 2:
            continue        # one dense group or none: nothing to choose between
        if nearest is None:
            nearest = cKDTree(points).query(matrix, k=1, workers=-1)[1]
        # A sampled customer HDBSCAN called noise takes the segment of its nearest placed
        # one; every customer then takes the segment of its nearest sampled customer.
        assigner = Assigner("nearest", points, _join_nearest(points, raw))
        candidate = make_candidate("hdbscan", assigner, matrix, {"min_cluster_size": size},
                                   labels=assigner.labels[nearest])
        candidate.density_noise = float(1 - placed.mean())
        candidate.density_smallest = int(np.bincount(raw[placed]).min())
        candidate.refit = _hdbscan_refit(size, len(points))
        out.append(candidate)
    return out, sample_note(n, options.dbscan_sample)


def _join_nearest(points: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Labels with every noise point (-1) given the label of its nearest placed point."""
    from scipy.spatial import cKDTree

    placed = raw >= 0
    if placed.all() or not placed.any():
        return raw.astype("int64")
    out = raw.astype("int64").copy()
    out[~placed] = raw[placed][cKDTree(points[placed]).query(points[~placed], k=1)[1]]
    return out


def _hdbscan_labels(points: np.ndarray, min_cluster_size: int) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    return HDBSCAN(min_cluster_size=min_cluster_size, copy=True).fit(points).labels_.astype("int64")


def _hdbscan_refit(min_cluster_size: int, fitted_on: int):
    """HDBSCAN on a subsample, with ``min_cluster_size`` scaled to the subsample's size
    (at least 5), noise joining its nearest placed customer as in the fit."""
    def refit(points: np.ndarray, seed: int) -> np.ndarray:
        size = max(5, int(round(min_cluster_size * min(1.0, len(points) / fitted_on))))
        return _join_nearest(points, _hdbscan_labels(points, min(size, len(points) - 1)))
    return refit


#: Besides the knee of the k-distance curve, DBSCAN is tried with eps at these
#: percentiles of the same distances: one knee is one guess, and on Mall Customers (all
#: columns) it put every customer in one segment. The choice rule picks among them.
DBSCAN_EPS_PERCENTILES = (50, 70, 80, 90, 95)


def dbscan_candidates(matrix: np.ndarray, options: SearchOptions):
    """DBSCAN at the knee of the k-distance curve and at `DBSCAN_EPS_PERCENTILES` of it, on
    a seeded sample of at most ``dbscan_sample`` customers; with the curve and the note on
    sampling. Customers beyond ``eps`` of every core point are noise (-1)."""
    from sklearn.cluster import DBSCAN

    n, d = matrix.shape
    index = seeded_sample(n, options.dbscan_sample, options.random_state)
    points = matrix[index]
    min_samples = int(min(max(4, 2 * d), max(len(points) // 10, 2)))
    distances, knee = k_distance_eps(points, min_samples)
    sampling = sample_note(n, options.dbscan_sample)
    curve = {"distances": _downsample(distances, 1000), "eps": knee, "min_samples": min_samples}
    tried = [knee] + [float(np.percentile(distances, q)) for q in DBSCAN_EPS_PERCENTILES]
    out = []
    for eps in dict.fromkeys(max(e, 1e-9) for e in tried):
        model = DBSCAN(eps=eps, min_samples=min_samples).fit(points)
        core = model.core_sample_indices_
        if core.size == 0:
            continue
        assigner = Assigner("nearest", points[core], model.labels_[core].astype("int64"), radius=eps)
        candidate = make_candidate("dbscan", assigner, matrix, {"eps": eps, "min_samples": min_samples})
        candidate.refit = _dbscan_refit(eps, min_samples)
        out.append(candidate)
    if not out:
        labels = np.full(n, -1, dtype="int64")
        assigner = Assigner("nearest", points[:1], np.array([-1]), radius=0.0)
        out.append(Candidate("dbscan", 0, labels, assigner, {"eps": knee, "min_samples": min_samples},
                             noise_share=1.0))
    return out, curve, sampling


def _dbscan_refit(eps: float, min_samples: int):
    def refit(points: np.ndarray, seed: int) -> np.ndarray:
        from sklearn.cluster import DBSCAN

        return DBSCAN(eps=eps, min_samples=min(min_samples, len(points))).fit(points).labels_
    return refit


def k_distance_eps(points: np.ndarray, min_samples: int) -> tuple[np.ndarray, float]:
    """Sorted distances to the ``min_samples``-th neighbour and eps at the curve's knee.

    The point itself counts as its first neighbour, as in DBSCAN's core-point rule.
    Without a knee, eps is the 90th percentile of those distances.
    """
    from kneed import KneeLocator
    from sklearn.neighbors import NearestNeighbors

    nearest = NearestNeighbors(n_neighbors=min_samples).fit(points)
    distances = np.sort(nearest.kneighbors(points)[0][:, -1])
    knee = None
    if len(np.unique(distances)) > 2:
        knee = KneeLocator(np.arange(len(distances)), distances, curve="convex",
                           direction="increasing").knee_y
    eps = float(knee) if knee and knee > 0 else float(np.percentile(distances, 90))
    return distances, max(eps, 1e-9)


def _downsample(values: np.ndarray, size: int) -> list[float]:
    if len(values) <= size:
        return [float(v) for v in values]
    index = np.linspace(0, len(values) - 1, size).round().astype(int)
    return [float(v) for v in values[index]]
