"""Ward's hierarchical clustering: exact up to ``ward_exact_max`` customers, else on weighted
K-Means micro-clusters (each customer following its micro-cluster), and the top of its
tree for the dendrogram figure."""

from __future__ import annotations

import numpy as np

from .assign import Assigner, nearest_centre
from .candidates import fit_rows, make_candidate
from .options import SearchOptions


def ward_candidates(matrix: np.ndarray, ks: list[int], options: SearchOptions):
    """Ward cut at each k, with the top of its tree and the note on sampling.

    Exact up to ``ward_exact_max`` customers; above it, Ward runs on weighted K-Means
    micro-clusters and every customer follows its micro-cluster.
    """
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(matrix)
    if n <= options.ward_exact_max:
        points, weights, member_of = matrix, np.ones(n), None
        tree = linkage(matrix, method="ward")
        sampling = {"used": False, "micro_clusters": None, "threshold": options.ward_exact_max}
    else:
        points, weights, member_of = _micro_clusters(matrix, options)
        tree = weighted_ward(points, weights)
        sampling = {"used": True, "micro_clusters": len(points), "threshold": options.ward_exact_max}
    out, trees = [], {}
    for k in ks:
        point_labels = fcluster(tree, k, criterion="maxclust").astype("int64") - 1
        assigner = Assigner("nearest", points, point_labels)
        # Every customer follows its micro-cluster (the nearest centre, fixed for all k);
        # on the exact path the nearest reference point of a customer is the customer.
        labels = point_labels if member_of is None else point_labels[member_of]
        candidate = make_candidate("hierarchical", assigner, matrix,
                                   {"linkage": "ward", **_ward_params(sampling)}, labels)
        candidate.refit = _ward_refit(k, trees)
        out.append(candidate)
    return out, truncated_dendrogram(tree, weights), sampling


def _ward_refit(k: int, trees: dict):
    """Ward on the subsample, cut at ``k``; one tree per subsample serves every k, in
    whatever order the candidates are measured (the subsample of a seed is the same for all:
    `custseg.segmenting.stability.segment_stability`)."""
    def refit(points: np.ndarray, seed: int) -> np.ndarray:
        from scipy.cluster.hierarchy import fcluster, linkage

        if seed not in trees:
            trees[seed] = linkage(points, method="ward")
        return fcluster(trees[seed], k, criterion="maxclust").astype("int64") - 1
    return refit


def _ward_params(sampling: dict) -> dict:
    return {"micro_clusters": sampling["micro_clusters"]} if sampling["used"] else {}


def _micro_clusters(matrix: np.ndarray, options: SearchOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K-Means micro-clusters: centres, the number of customers in each, and the
    micro-cluster of every customer (its nearest centre)."""
    from sklearn.cluster import MiniBatchKMeans

    # batch_size=16384: the default draws every mini-batch over all rows (very slow at
    # millions). The centres come from a sample; the weights count every customer.
    # compute_labels=False: the labels of every customer are computed below anyway.
    model = MiniBatchKMeans(
        n_clusters=options.ward_micro_clusters, batch_size=16384, n_init=1,
        random_state=options.random_state, compute_labels=False,
    ).fit(fit_rows(matrix, options))
    centres = model.cluster_centers_
    labels = nearest_centre(matrix, centres)
    weights = np.bincount(labels, minlength=len(centres)).astype("float64")
    used = weights > 0
    renumber = np.cumsum(used) - 1
    return centres[used], weights[used], renumber[labels]


def weighted_ward(points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Ward linkage of weighted points, in SciPy's linkage-matrix format.

    A point of weight w stands for w customers at that place. Merging clusters a and b
    raises the within-cluster sum of squares by ``w_a w_b / (w_a + w_b) |c_a - c_b|^2``;
    the merge distance is ``sqrt(2 x that)``, which equals SciPy's Ward distance when
    every weight is 1. Cost O(m^2 d) memory and O(m^3) time for m points: meant for a
    few hundred to a few thousand micro-clusters.
    """
    m = len(points)
    centres = np.array(points, dtype="float64")
    size = np.array(weights, dtype="float64")
    members = np.ones(m)  # points (not customers) per cluster: SciPy's count column
    ids = np.arange(m)
    active = np.ones(m, dtype=bool)
    cost = np.full((m, m), np.inf)
    for i in range(m - 1):
        cost[i, i + 1:] = _merge_cost(centres[i], size[i], centres[i + 1:], size[i + 1:])
    tree = np.zeros((m - 1, 4))
    for step in range(m - 1):
        flat = int(np.argmin(cost))
        a, b = divmod(flat, m)
        tree[step] = [min(ids[a], ids[b]), max(ids[a], ids[b]), np.sqrt(2 * cost[a, b]), members[a] + members[b]]
        centres[a] = (size[a] * centres[a] + size[b] * centres[b]) / (size[a] + size[b])
        size[a] += size[b]
        members[a] += members[b]
        active[b] = False
        ids[a] = m + step
        cost[b, :] = np.inf
        cost[:, b] = np.inf
        others = np.flatnonzero(active)
        others = others[others != a]
        new = _merge_cost(centres[a], size[a], centres[others], size[others])
        low, high = others < a, others > a
        cost[others[low], a] = new[low]
        cost[a, others[high]] = new[high]
    tree[:, 2] = np.maximum.accumulate(tree[:, 2])
    return tree


def _merge_cost(centre: np.ndarray, weight: float, centres: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return weight * weights / (weight + weights) * ((centres - centre) ** 2).sum(axis=1)


def truncated_dendrogram(tree: np.ndarray, weights: np.ndarray, leaves: int = 100) -> dict:
    """The top of a linkage tree with at most ``leaves`` leaves, for drawing.

    Returns a valid SciPy linkage matrix over the clusters that exist ``leaves - 1``
    merges before the end, and the number of customers in each of those leaves.
    """
    n = len(tree) + 1
    leaves = min(leaves, n)
    top = tree[n - leaves:].copy()
    # Customers under every cluster of the full tree (its count column counts points).
    customers = np.concatenate([np.asarray(weights, dtype="float64"), np.zeros(n - 1)])
    for step, row in enumerate(tree):
        customers[n + step] = customers[int(row[0])] + customers[int(row[1])]
    counts = {}
    mapping = {}
    for row in top:
        for old in (int(row[0]), int(row[1])):
            if old < n + (n - leaves) and old not in mapping:
                mapping[old] = len(mapping)
                counts[old] = float(customers[old])
    for step in range(len(top)):
        mapping[n + (n - leaves) + step] = leaves + step
    members = [1.0] * leaves
    for row in top:
        a, b = mapping[int(row[0])], mapping[int(row[1])]
        row[0], row[1] = min(a, b), max(a, b)
        # SciPy counts the leaves of the drawn tree; customers per leaf go in leaf_counts.
        row[3] = members[a] + members[b]
        members.append(row[3])
    leaf_counts = [0.0] * leaves
    for old, new in mapping.items():
        if new < leaves:
            leaf_counts[new] = counts[old]
    return {"linkage": top.tolist(), "leaf_counts": leaf_counts}
