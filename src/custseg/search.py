"""Search for the segmentation: algorithms x numbers of segments, scored, and one chosen.

Every step whose cost grows with the square of the customers runs on a bounded subset
above a threshold (see `custseg.settings.Settings`), so a run stays linear in customers:

- silhouette: exact up to ``silhouette_sample`` customers, else estimated on a sample
  stratified by segment (every segment gets at least ``MIN_PER_SEGMENT`` customers, so
  small segments are never missed) and reweighted by the segments' true shares;
- Ward: exact up to ``ward_exact_max`` customers, else on weighted K-Means
  micro-clusters, each customer following its micro-cluster;
- DBSCAN: fitted on a sample of ``dbscan_sample`` customers and extended to everyone
  through the nearest core point.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .assign import Assigner, nearest_centre
from .settings import Settings

ProgressCallback = Callable[[str, int, int], None]

#: Silhouette sample: every segment contributes at least this many customers.
MIN_PER_SEGMENT = 50
#: Candidates whose silhouette is within this of the best are near-ties, settled by the
#: other criteria.
SILHOUETTE_TOLERANCE = 0.01
#: A candidate whose smallest segment is below this share (on small data: below
#: MIN_SEGMENT_SIZE customers) is not chosen: a segment of a handful of customers is not
#: a market to address, and usually a few outliers that K-Means gave a centre of their own.
MIN_SEGMENT_SHARE = 0.01
MIN_SEGMENT_SIZE = 5
#: DBSCAN results that call more than this share of customers noise are not chosen.
MAX_NOISE_SHARE = 0.25
ALGORITHM_NAMES = {"kmeans": "K-Means", "hierarchical": "hierarchical (Ward)", "dbscan": "DBSCAN"}
ALGORITHM_ORDER = {"kmeans": 0, "hierarchical": 1, "dbscan": 2}


@dataclass
class Candidate:
    """One fitted segmentation and its scores."""

    algorithm: str
    k: int
    labels: np.ndarray
    assigner: Assigner
    params: dict = field(default_factory=dict)
    inertia: float | None = None
    silhouette: float | None = None
    calinski_harabasz: float | None = None
    davies_bouldin: float | None = None
    noise_share: float = 0.0
    smallest_share: float = 0.0
    silhouette_values: np.ndarray | None = None
    silhouette_labels: np.ndarray | None = None

    @property
    def label(self) -> str:
        """Human name, e.g. ``K-Means with 5 segments``."""
        return f"{ALGORITHM_NAMES[self.algorithm]} with {self.k} segments"

    def scores(self) -> dict:
        """The candidate as a plain dict for ``summary.json``."""
        return {
            "algorithm": self.algorithm,
            "k": self.k,
            "params": self.params,
            "inertia": self.inertia,
            "silhouette": self.silhouette,
            "calinski_harabasz": self.calinski_harabasz,
            "davies_bouldin": self.davies_bouldin,
            "noise_share": self.noise_share,
            "smallest_share": self.smallest_share,
        }


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


def search(matrix: np.ndarray, settings: Settings, on_progress: ProgressCallback | None = None) -> SearchResult:
    """Fit every algorithm over the k range, score each candidate and choose one.

    Parameters
    ----------
    matrix : ndarray of shape (n_customers, n_features)
        The model matrix from `custseg.features.FeaturePlan.transform`.
    settings : Settings
        Algorithms, k range, seed and the sampling thresholds.
    on_progress : callable, optional
        Called as ``on_progress(step, done, total)``.
    """
    n = len(matrix)
    k_max = min(settings.k_max, n - 1)
    ks = list(range(settings.k_min, k_max + 1))
    progress = on_progress or (lambda step, done, total: None)
    total = len(ks) * sum(a != "dbscan" for a in settings.algorithms) + ("dbscan" in settings.algorithms)
    done = 0
    candidates: list[Candidate] = []
    sampling: dict = {}
    dendrogram = k_distance = None
    for algorithm in settings.algorithms:
        progress(f"fitting {ALGORITHM_NAMES[algorithm]}", done, total)
        if algorithm == "kmeans":
            fitted = _kmeans_candidates(matrix, ks, settings)   # lazy: one fit per step
        elif algorithm == "hierarchical":
            fitted, dendrogram, sampling["hierarchical"] = _ward_candidates(matrix, ks, settings)
        else:
            fitted, k_distance, sampling["dbscan"] = _dbscan_candidates(matrix, settings)
        seen: set[int] = set()
        for candidate in fitted:
            done += 1
            if candidate.k in seen:
                # Fewer distinct customers than k (e.g. only categorical codes): the same
                # segmentation again under a larger k adds nothing.
                continue
            seen.add(candidate.k)
            _score(candidate, matrix, settings)
            candidates.append(candidate)
            progress(f"fitted and scored {candidate.label}", done, total)
    sampling["fit"] = {"used": n > settings.fit_sample, "sample_size": min(n, settings.fit_sample),
                       "threshold": settings.fit_sample}
    sampling["silhouette"] = {
        "used": n > settings.silhouette_sample,
        "sample_size": min(n, settings.silhouette_sample),
        "threshold": settings.silhouette_sample,
        "min_per_segment": MIN_PER_SEGMENT,
    }
    elbow = {a: _elbow([c for c in candidates if c.algorithm == a]) for a in ("kmeans", "hierarchical")
             if a in settings.algorithms}
    chosen, reason, disagreements = choose(candidates, elbow, n)
    return SearchResult(candidates, chosen, reason, disagreements, elbow, sampling, dendrogram, k_distance)


# --------------------------------------------------------------------------- K-Means

def _kmeans_candidates(matrix: np.ndarray, ks: list[int], settings: Settings):
    """K-Means for each k, fitted one at a time as the caller asks for the next."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    rows = fit_rows(matrix, settings)
    for k in ks:
        with warnings.catch_warnings():
            # "Number of distinct clusters found smaller than n_clusters": duplicates are
            # dropped by the caller, which is the honest answer to that situation.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = KMeans(n_clusters=k, n_init=settings.n_init, random_state=settings.random_state).fit(rows)
        assigner = Assigner("centroids", model.cluster_centers_, np.arange(k))
        yield _candidate("kmeans", assigner, matrix, {"n_init": settings.n_init})


def fit_rows(matrix: np.ndarray, settings: Settings) -> np.ndarray:
    """The rows centres are fitted on: all customers, or a seeded sample of ``fit_sample``.

    Centres of a million-customer sample are as good as those of ten million for a handful
    of segments, at a tenth of the cost; labels and scores still use every customer.
    """
    if len(matrix) <= settings.fit_sample:
        return matrix
    rng = np.random.default_rng(settings.random_state)
    return matrix[np.sort(rng.choice(len(matrix), settings.fit_sample, replace=False))]


def _candidate(algorithm: str, assigner: Assigner, matrix: np.ndarray, params: dict,
               labels: np.ndarray | None = None) -> Candidate:
    """Label every customer through ``assigner``, renumbered so that segment 0 is the largest.

    ``labels``, when given, must equal ``assigner.predict(matrix)`` (computed more cheaply
    by the caller); the run's labels are always those of the assignment rule, so that
    ``assign`` on the training data reproduces them.
    """
    if labels is None:
        labels = assigner.predict(matrix)
    mapping = canonical_order(labels)
    top = max(max(mapping), int(assigner.labels.max(initial=-1))) + 2
    lookup = np.full(top, -1, dtype="int64")
    for old, new in mapping.items():
        lookup[old] = new          # index -1 is the last slot: noise stays -1
    renamed = lookup[assigner.labels]
    # A centre or reference point that no customer is nearest to names no segment.
    kept = renamed >= 0
    assigner.points, assigner.labels = assigner.points[kept], renamed[kept]
    labels = lookup[labels]
    k = int(len(np.unique(labels[labels >= 0])))
    return Candidate(algorithm, k, labels, assigner, params)


def canonical_order(labels: np.ndarray) -> dict[int, int]:
    """Map segment labels to 0, 1, ... by decreasing size (ties: by old label); -1 stays."""
    values, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = sorted(zip(-counts, values))
    mapping = {int(old): new for new, (_, old) in enumerate(order)}
    mapping[-1] = -1
    return mapping


# --------------------------------------------------------------------------- Ward

def _ward_candidates(matrix: np.ndarray, ks: list[int], settings: Settings):
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(matrix)
    if n <= settings.ward_exact_max:
        points, weights, member_of = matrix, np.ones(n), None
        tree = linkage(matrix, method="ward")
        sampling = {"used": False, "micro_clusters": None, "threshold": settings.ward_exact_max}
    else:
        points, weights, member_of = _micro_clusters(matrix, settings)
        tree = weighted_ward(points, weights)
        sampling = {"used": True, "micro_clusters": len(points), "threshold": settings.ward_exact_max}
    out = []
    for k in ks:
        point_labels = fcluster(tree, k, criterion="maxclust").astype("int64") - 1
        assigner = Assigner("nearest", points, point_labels)
        # Every customer follows its micro-cluster (the nearest centre, fixed for all k);
        # on the exact path the nearest reference point of a customer is the customer.
        labels = point_labels if member_of is None else point_labels[member_of]
        out.append(_candidate("hierarchical", assigner, matrix, {"linkage": "ward", **_ward_params(sampling)},
                              labels))
    return out, truncated_dendrogram(tree, weights), sampling


def _ward_params(sampling: dict) -> dict:
    return {"micro_clusters": sampling["micro_clusters"]} if sampling["used"] else {}


def _micro_clusters(matrix: np.ndarray, settings: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """K-Means micro-clusters: centres, the number of customers in each, and the
    micro-cluster of every customer (its nearest centre)."""
    from sklearn.cluster import MiniBatchKMeans

    # batch_size=16384: the default draws every mini-batch over all rows (very slow at
    # millions). The centres come from a sample; the weights count every customer.
    # compute_labels=False: the labels of every customer are computed below anyway.
    model = MiniBatchKMeans(
        n_clusters=settings.ward_micro_clusters, batch_size=16384, n_init=1,
        random_state=settings.random_state, compute_labels=False,
    ).fit(fit_rows(matrix, settings))
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


# --------------------------------------------------------------------------- DBSCAN

def _dbscan_candidates(matrix: np.ndarray, settings: Settings):
    from sklearn.cluster import DBSCAN

    n, d = matrix.shape
    rng = np.random.default_rng(settings.random_state)
    used = n > settings.dbscan_sample
    sample = np.sort(rng.choice(n, settings.dbscan_sample, replace=False)) if used else np.arange(n)
    points = matrix[sample]
    min_samples = int(min(max(4, 2 * d), max(len(points) // 10, 2)))
    distances, eps = k_distance_eps(points, min_samples)
    model = DBSCAN(eps=eps, min_samples=min_samples).fit(points)
    core = model.core_sample_indices_
    sampling = {"used": used, "sample_size": len(points), "threshold": settings.dbscan_sample}
    curve = {"distances": _downsample(distances, 1000), "eps": eps, "min_samples": min_samples}
    if core.size == 0:
        labels = np.full(n, -1, dtype="int64")
        assigner = Assigner("nearest", points[:1], np.array([-1]), radius=0.0)
        return [Candidate("dbscan", 0, labels, assigner, {"eps": eps, "min_samples": min_samples},
                          noise_share=1.0)], curve, sampling
    assigner = Assigner("nearest", points[core], model.labels_[core].astype("int64"), radius=eps)
    candidate = _candidate("dbscan", assigner, matrix, {"eps": eps, "min_samples": min_samples})
    return [candidate], curve, sampling


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


# --------------------------------------------------------------------------- scores

def _score(candidate: Candidate, matrix: np.ndarray, settings: Settings) -> None:
    """Fill in the scores of ``candidate`` (left None where they do not apply).

    Inertia, Calinski-Harabasz and Davies-Bouldin all come from one `segment_spread`
    (two chunked passes over the customers, no copy of the matrix); noise customers
    (label -1) are left out of every score.
    """
    labels = candidate.labels
    n = len(labels)
    spread = segment_spread(matrix, labels)
    placed = int(spread.sizes.sum())
    candidate.noise_share = float(1 - placed / n)
    candidate.smallest_share = float(spread.sizes.min() / n) if placed else 0.0
    if candidate.algorithm != "dbscan":
        candidate.inertia = spread.within
    if candidate.k < 2 or candidate.k >= placed:
        return
    candidate.calinski_harabasz = spread.calinski_harabasz()
    candidate.davies_bouldin = spread.davies_bouldin()
    score, values, value_labels = sampled_silhouette(matrix, labels, settings.silhouette_sample, settings.random_state)
    # Noise customers count as singletons, whose silhouette is 0 by definition; leaving
    # them out would flatter DBSCAN against algorithms that place everyone.
    candidate.silhouette = score * (1 - candidate.noise_share)
    candidate.silhouette_values, candidate.silhouette_labels = values, value_labels


#: Rows per block in `segment_spread`: the temporaries stay a few MB whatever the size.
_SPREAD_CHUNK = 1 << 16


@dataclass
class SegmentSpread:
    """Size, mean and spread of every segment label 0..max (noise, label -1, left out).

    Labels with no customer have size 0 and are skipped by the scores.
    """

    sizes: np.ndarray       # (m,) customers per label
    centres: np.ndarray     # (m, d) segment means (zero where the size is 0)
    squares: np.ndarray     # (m,) sum of squared distances to the segment mean
    distances: np.ndarray   # (m,) sum of distances to the segment mean

    @property
    def within(self) -> float:
        """Within-segment sum of squares (the inertia)."""
        return float(self.squares.sum())

    def calinski_harabasz(self) -> float:
        """Calinski-Harabasz index, as `sklearn.metrics.calinski_harabasz_score`."""
        present = self.sizes > 0
        sizes, centres = self.sizes[present].astype("float64"), self.centres[present]
        n, k = sizes.sum(), len(sizes)
        mean = sizes @ centres / n
        between = float((sizes * ((centres - mean) ** 2).sum(axis=1)).sum())
        within = self.within
        return 1.0 if within == 0.0 else float(between * (n - k) / (within * (k - 1.0)))

    def davies_bouldin(self) -> float:
        """Davies-Bouldin index, as `sklearn.metrics.davies_bouldin_score`.

        Distances between centres are taken directly (not as ``|a|^2 - 2 a.b + |b|^2``),
        so they stay exact for data far from the origin.
        """
        present = self.sizes > 0
        intra = self.distances[present] / self.sizes[present]
        centres = self.centres[present]
        between = np.sqrt(((centres[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2))
        if np.allclose(intra, 0.0) or np.allclose(between, 0.0):
            return 0.0
        between[between == 0] = np.inf
        return float(np.mean(np.max((intra[:, None] + intra) / between, axis=1)))


def segment_spread(matrix: np.ndarray, labels: np.ndarray) -> SegmentSpread:
    """Sizes, means and distances to the mean of every segment, noise (-1) excluded.

    Two passes over blocks of rows: per-segment counts and sums (``bincount``), then each
    customer's distance to its own segment mean. The sum of squares is summed directly
    rather than taken as a difference of totals, so it keeps its precision wherever the
    data lie; no copy of the matrix is made, noise or not.
    """
    labels = np.asarray(labels)
    m, d = int(labels.max(initial=-1)) + 1, matrix.shape[1]
    noise = bool(labels.min(initial=0) < 0)
    sizes, sums = np.zeros(m + 1), np.zeros((m + 1, d))
    squares, distances = np.zeros(m + 1), np.zeros(m + 1)
    if m == 0:
        return SegmentSpread(sizes[:0].astype("int64"), sums[:0], squares[:0], distances[:0])
    blocks = [(start, min(start + _SPREAD_CHUNK, len(labels))) for start in range(0, len(labels), _SPREAD_CHUNK)]
    for start, stop in blocks:
        bins, block = _bins(labels[start:stop], m, noise), matrix[start:stop]
        sizes += np.bincount(bins, minlength=m + 1)
        for j in range(d):
            sums[:, j] += np.bincount(bins, weights=block[:, j], minlength=m + 1)
    centres = sums / np.maximum(sizes, 1)[:, None]
    centres[m] = 0.0          # the noise bin: its distances are dropped below
    for start, stop in blocks:
        bins = _bins(labels[start:stop], m, noise)
        offset = centres[bins]
        np.subtract(matrix[start:stop], offset, out=offset)
        square = np.einsum("ij,ij->i", offset, offset)
        squares += np.bincount(bins, weights=square, minlength=m + 1)
        distances += np.bincount(bins, weights=np.sqrt(square), minlength=m + 1)
    return SegmentSpread(sizes[:m].astype("int64"), centres[:m], squares[:m], distances[:m])


def _bins(labels: np.ndarray, m: int, noise: bool) -> np.ndarray:
    """Labels with noise (-1) moved to bin ``m``."""
    return np.where(labels >= 0, labels, m) if noise else labels


def within_sum_of_squares(matrix: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of customers to their segment mean (noise excluded)."""
    return segment_spread(matrix, labels).within


def sampled_silhouette(matrix: np.ndarray, labels: np.ndarray, sample_size: int, random_state: int):
    """Mean silhouette, exact up to ``sample_size`` customers, else a stratified estimate.

    Above ``sample_size``, each segment contributes a share of the sample proportional to
    its size but at least ``MIN_PER_SEGMENT`` customers (all of it if smaller); the
    per-segment mean silhouettes are then weighted by the segments' true shares, so the
    oversampling of small segments does not bias the estimate.

    Noise customers (label -1) are left out, exactly as if their rows were not passed:
    the sample drawn is the same, and the matrix is not copied to drop them.

    Returns
    -------
    score : float
    values, value_labels : ndarray
        Per-customer silhouettes of the customers scored, and their segments.
    """
    from sklearn.metrics import silhouette_samples

    placed = labels >= 0
    n = int(placed.sum())
    if n <= sample_size:
        if n < len(labels):
            index = np.flatnonzero(placed)
            matrix, labels = matrix[index], labels[index]
        values = silhouette_samples(matrix, labels)
        return float(values.mean()), values, labels
    rng = np.random.default_rng(random_state)
    # rng.choice(members, ...) draws positions within ``members``, so numbering the
    # members in the full matrix picks the same customers as numbering the placed ones.
    segments, sizes = np.unique(labels[placed], return_counts=True)
    chosen = []
    for segment, size in zip(segments, sizes):
        quota = min(size, max(MIN_PER_SEGMENT, int(round(sample_size * size / n))))
        members = np.flatnonzero(labels == segment)
        chosen.append(np.sort(rng.choice(members, quota, replace=False)))
    index = np.concatenate(chosen)
    values = silhouette_samples(matrix[index], labels[index])
    sample_labels = labels[index]
    score = sum(size / n * values[sample_labels == seg].mean() for seg, size in zip(segments, sizes))
    return float(score), values, sample_labels


# --------------------------------------------------------------------------- choice

def _elbow(candidates: list[Candidate]) -> int | None:
    """k at the knee of the inertia curve (kneed), or None when there is no knee."""
    from kneed import KneeLocator

    points = sorted((c.k, c.inertia) for c in candidates if c.inertia is not None)
    if len(points) < 3:
        return None
    ks, inertia = zip(*points)
    knee = KneeLocator(list(ks), list(inertia), curve="convex", direction="decreasing").knee
    return int(knee) if knee is not None else None


def eligible(candidate: Candidate, n: int) -> bool:
    """Whether a candidate may be chosen: scored, no tiny segment, not mostly noise."""
    min_share = max(MIN_SEGMENT_SHARE, min(MIN_SEGMENT_SIZE / n, 0.05))
    return (
        candidate.silhouette is not None
        and candidate.k >= 2
        and candidate.smallest_share >= min_share
        and candidate.noise_share <= MAX_NOISE_SHARE
    )


def choose(candidates: list[Candidate], elbow: dict, n: int) -> tuple[Candidate, str, list[str]]:
    """Choose one candidate and say why, in words.

    The rule: among eligible candidates (see `eligible`), the highest silhouette wins.
    Candidates within ``SILHOUETTE_TOLERANCE`` of it are near-ties; among those, one that
    places every customer (no noise) is preferred, then the best mean rank on
    Calinski-Harabasz (higher is better) and Davies-Bouldin (lower is better); remaining ties go to the higher silhouette, then the simpler
    algorithm (K-Means, then Ward, then DBSCAN), then fewer segments.
    """
    pool = [c for c in candidates if eligible(c, n)]
    fallback = not pool
    if fallback:
        pool = [c for c in candidates if c.silhouette is not None] or candidates
    best = max(c.silhouette if c.silhouette is not None else -1.0 for c in pool)
    near = [c for c in pool if c.silhouette is not None and c.silhouette >= best - SILHOUETTE_TOLERANCE] or pool[:1]
    ch_rank = _ranks(near, lambda c: -(c.calinski_harabasz or 0.0))
    db_rank = _ranks(near, lambda c: c.davies_bouldin if c.davies_bouldin is not None else np.inf)
    chosen = min(
        near,
        key=lambda c: (c.noise_share > 0, (ch_rank[id(c)] + db_rank[id(c)]) / 2, -(c.silhouette or -1.0),
                       ALGORITHM_ORDER[c.algorithm], c.k),
    )
    reason = _reason(chosen, candidates, near, n, fallback)
    return chosen, reason, _disagreements(chosen, pool, elbow)


def _ranks(candidates: list[Candidate], key) -> dict[int, int]:
    # Equal values share a rank, so ties fall through to the next rule whatever the order.
    return {id(c): sum(key(other) < key(c) for other in candidates) for c in candidates}


def silhouette_strength(silhouette: float) -> str:
    """Kaufman and Rousseeuw's reading of an average silhouette."""
    if silhouette > 0.7:
        return "strong structure: the segments are clearly separated"
    if silhouette > 0.5:
        return "reasonable structure: the segments are well separated"
    if silhouette > 0.25:
        return ("weak structure: the segments overlap, so treat them as a useful partition "
                "rather than natural groups")
    return ("no substantial structure: the customers do not fall into clear groups, so these "
            "segments are a convenient partition only")


def _reason(chosen: Candidate, candidates: list[Candidate], near: list[Candidate], n: int, fallback: bool) -> str:
    sil = chosen.silhouette
    parts = []
    if fallback:
        parts.append("No candidate met the rules (every segment at least "
                     f"{MIN_SEGMENT_SHARE:.1%} of customers, at most {MAX_NOISE_SHARE:.0%} noise), "
                     "so the best-scoring one is shown anyway.")
    if sil is None:
        parts.append(f"{chosen.label} was the only result; it could not be scored.")
        return " ".join(parts)
    others = [c for c in near if c is not chosen]
    best = max(near, key=lambda c: c.silhouette)
    if others:
        lead = (f"has the highest silhouette ({sil:.3f})" if best is chosen else
                f"has a silhouette of {sil:.4f}, within {SILHOUETTE_TOLERANCE} of the best ({best.silhouette:.4f})")
        parts.append(
            f"{chosen.label} was chosen from {len(candidates)} candidates: it {lead}, and of the "
            f"near-ties ({', '.join(c.label for c in others)}) it "
            + ("places every customer and " if chosen.noise_share == 0 and any(c.noise_share > 0 for c in others) else "")
            + "has the best mean rank on Calinski-Harabasz and Davies-Bouldin."
        )
    else:
        parts.append(
            f"{chosen.label} has the highest silhouette ({sil:.3f}) of {len(candidates)} candidates."
        )
    parts.append(f"A silhouette of {sil:.2f} means {silhouette_strength(sil)}.")
    if chosen.noise_share > 0:
        parts.append(f"DBSCAN leaves {chosen.noise_share:.1%} of customers as noise (segment -1).")
    return " ".join(parts)


def _disagreements(chosen: Candidate, pool: list[Candidate], elbow: dict) -> list[str]:
    """Where another criterion prefers something else, say what and by how much."""
    notes = []
    scored = [c for c in pool if c.calinski_harabasz is not None]
    if scored:
        best_ch = max(scored, key=lambda c: c.calinski_harabasz)
        if best_ch is not chosen:
            notes.append(
                f"Calinski-Harabasz prefers {best_ch.label} ({best_ch.calinski_harabasz:.1f} "
                f"against {chosen.calinski_harabasz:.1f})."
            )
        best_db = min(scored, key=lambda c: c.davies_bouldin)
        if best_db is not chosen:
            notes.append(
                f"Davies-Bouldin prefers {best_db.label} ({best_db.davies_bouldin:.3f} "
                f"against {chosen.davies_bouldin:.3f}; lower is better)."
            )
    knee = elbow.get(chosen.algorithm)
    if chosen.algorithm in elbow and knee != chosen.k:
        where = f"at k = {knee}" if knee is not None else "not clear (no knee)"
        notes.append(f"The elbow of the {ALGORITHM_NAMES[chosen.algorithm]} inertia curve is {where}.")
    return notes
