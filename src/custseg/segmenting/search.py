"""Search for the segmentation: algorithms x numbers of segments, scored, and one chosen.

Every step whose cost grows with the square of the customers runs on a bounded subset
above a threshold (see `custseg.settings.Settings`), so a run stays linear in customers:

- silhouette: exact up to ``silhouette_sample`` customers, else estimated on a sample
  stratified by segment (every segment gets at least ``MIN_PER_SEGMENT`` customers, so
  small segments are never missed) and reweighted by the segments' true shares;
- Ward: exact up to ``ward_exact_max`` customers, else on weighted K-Means
  micro-clusters, each customer following its micro-cluster;
- HDBSCAN and DBSCAN: fitted on a sample of ``dbscan_sample`` customers and extended to
  everyone through the nearest placed (HDBSCAN) or core (DBSCAN) point;
- Gaussian mixtures: fitted on a sample of ``mixture_sample`` customers;
- stability: refits on subsamples of ``stability_sample`` customers.

The choice (`choose`) weighs complementary evidence: admissible density structure and
separation between near neighbours (the wcnn index), compactness and separation (the
silhouette), stability under resampling (Hennig's Jaccard), and model fit (BIC) as a
second opinion. Every threshold is a named constant below, with the measurement that
set it in ``benchmarks/QUALITY.md``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .assign import Assigner, nearest_centre
from ..progress import ProgressCallback
from ..settings import Settings
from .stability import STABLE_FROM, UNSTABLE_BELOW, segment_stability

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
ALGORITHM_NAMES = {"kmeans": "K-Means", "hierarchical": "hierarchical (Ward)", "gmm": "Gaussian mixture",
                   "hdbscan": "HDBSCAN", "dbscan": "DBSCAN"}
ALGORITHM_ORDER = {"kmeans": 0, "hierarchical": 1, "gmm": 2, "hdbscan": 3, "dbscan": 4}
#: HDBSCAN's ``min_cluster_size`` values tried: the smallest group it may call a segment.
DENSITY_MIN_CLUSTER_SIZES = (5, 15, 50)
#: A density result is admissible evidence only when it called at most this share of the
#: customers it was fitted on noise (before they join their nearest segment) ...
DENSITY_MAX_NOISE = 0.30
#: ... and each of its segments held at least this many of them (and MIN_SEGMENT_SHARE).
#: Below it, a "segment" is a dense speck, and on the labelled sets such results were
#: wrong (ecoli, glass: two segments where there are eight and six).
DENSITY_MIN_SEGMENT = 25
#: Density results whose wcnn is within this of the best are near-ties, settled by the
#: least noise: the result that explains the most customers as members of dense groups.
#: Labelled sets, against no tolerance: mean ARI 0.784 -> 0.800, right k 64% -> 67%
#: (0.005: 0.790; 0.015: the same as 0.01).
DENSITY_WCNN_TOLERANCE = 0.01
#: A finer, well-separated silhouette choice overrides density when its wcnn is at most this
#: much lower: a cut through a real group moves more near neighbours apart. Generated data
#: with 8 planted segments: HDBSCAN merges two touching ones, and K-Means' 8 segments lose
#: 0.0014-0.0018 of wcnn (three seeds); on the labelled set `trajectories` K-Means' 5
#: segments cut one of 4 groups and lose 0.0046. At 0.005 instead, `compound` was won and
#: `trajectories` lost (labelled sets: right k 64% instead of 67%).
DENSITY_OVERRIDE_TOLERANCE = 0.0025
#: With the default k range (2..10), density may find up to this many natural groups: the
#: range bounds the sweeps, and density finds its own number (labelled sets: sipu battery
#: median 0.59 -> 0.83, as a1, s1 have 15-20 groups). Any --k bounds every method.
DENSITY_MAX_SEGMENTS = 20
#: Near neighbours per customer in the wcnn index (Gagolewski et al. 2021).
WCNN_NEIGHBOURS = 25
#: The silhouette rule chooses among these; Gaussian mixtures and HDBSCAN are scored and
#: shown beside them (HDBSCAN decides through the density gate). On the 45 labelled sets,
#: letting mixtures compete on silhouette lowered the real-measurement battery (uci)
#: median ARI from 0.49 to 0.24. When only other algorithms were asked for, they compete.
SILHOUETTE_ALGORITHMS = ("kmeans", "hierarchical", "dbscan")
#: A two-way split with a silhouette below this is weak structure: a finer stable
#: partition is recommended instead when there is one (see `choose`).
WEAK_SILHOUETTE = 0.5
#: The finer partition keeps at least this share of the two-way split's silhouette.
FINER_SILHOUETTE_RATIO = 0.8


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
    wcnn: float | None = None
    bic: float | None = None
    density_noise: float | None = None      # HDBSCAN: noise share of the fit, before extension
    density_smallest: int | None = None     # HDBSCAN: customers in its smallest segment of the fit
    stability: dict[int, float] | None = None
    refit: Callable | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        """Pickle without ``refit`` (a closure, used only while stability is measured)."""
        return {**self.__dict__, "refit": None}

    @property
    def label(self) -> str:
        """Human name, e.g. ``K-Means with 5 segments``."""
        return f"{ALGORITHM_NAMES[self.algorithm]} with {self.k} segment{'' if self.k == 1 else 's'}"

    @property
    def stability_min(self) -> float | None:
        """Stability of the least stable segment."""
        return min(self.stability.values()) if self.stability else None

    @property
    def stability_mean(self) -> float | None:
        """Mean stability of the segments."""
        return float(np.mean(list(self.stability.values()))) if self.stability else None

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
            "wcnn": self.wcnn,
            "bic": self.bic,
            "density_noise": self.density_noise,
            "stability_mean": self.stability_mean,
            "stability_min": self.stability_min,
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
    decided_by: str = "silhouette"         # "density", "silhouette" or "stability"
    natural: Candidate | None = None       # the natural split, when a finer one is recommended
    structure: str = ""                    # plain reading of how strong the structure is


def search(matrix: np.ndarray, settings: Settings, on_progress: ProgressCallback | None = None, *,
           density_evidence: bool = True) -> SearchResult:
    """Fit every algorithm over the k range, score each candidate and choose one.

    Parameters
    ----------
    matrix : ndarray of shape (n_customers, n_features)
        The model matrix from `custseg.preparing.features.FeaturePlan.transform`.
    settings : Settings
        Algorithms, k range, seed and the sampling thresholds.
    on_progress : callable, optional
        Called as ``on_progress(step, done, total)``.
    density_evidence : bool, default True
        Whether HDBSCAN may decide as evidence of natural groups (step 1 of `choose`).
        False when categoricals are clustered: customers with different levels are apart
        by construction, so every combination of levels looks like a dense group
        (``benchmarks/MIXED.md``). HDBSCAN is still fitted, scored and shown.
    """
    n = len(matrix)
    k_max = min(settings.k_max, n - 1)
    ks = list(range(settings.k_min, k_max + 1))
    progress = on_progress or (lambda step, done, total: None)
    steps = {"dbscan": 1 + len(DBSCAN_EPS_PERCENTILES), "hdbscan": len(DENSITY_MIN_CLUSTER_SIZES)}
    total = sum(steps.get(a, len(ks)) for a in settings.algorithms)
    done = 0
    candidates: list[Candidate] = []
    sampling: dict = {}
    dendrogram = k_distance = None
    neighbours = _NeighbourSample(matrix, settings.silhouette_sample, settings.random_state)
    for algorithm in settings.algorithms:
        progress(f"fitting {ALGORITHM_NAMES[algorithm]}", done, total)
        if algorithm == "kmeans":
            fitted = _kmeans_candidates(matrix, ks, settings)   # lazy: one fit per step
        elif algorithm == "hierarchical":
            fitted, dendrogram, sampling["hierarchical"] = _ward_candidates(matrix, ks, settings)
        elif algorithm == "gmm":
            fitted, sampling["gmm"] = _gmm_candidates(matrix, ks, settings)
        elif algorithm == "hdbscan":
            fitted, sampling["hdbscan"] = _hdbscan_candidates(matrix, settings)
        else:
            fitted, k_distance, sampling["dbscan"] = _dbscan_candidates(matrix, settings)
        seen: list[Candidate] = []
        for candidate in fitted:
            done += 1
            if any(_same_partition(candidate, other) for other in seen):
                # Fewer distinct customers than k (e.g. only categorical codes), or two
                # density settings that found the same segments: the repeat adds nothing.
                continue
            seen.append(candidate)
            _score(candidate, matrix, settings, neighbours)
            candidates.append(candidate)
            progress(f"fitted and scored {candidate.label}", done, total)
    # Stability is evidence only for candidates that can be chosen (mixtures, by default,
    # only give their BIC); the chosen one is measured below if it was not.
    deciding = [c for c in candidates if c.algorithm in (*SILHOUETTE_ALGORITHMS, "hdbscan")] or candidates
    progress("measuring stability", 0, len(deciding))
    sampling["stability"] = measure_stability(deciding, matrix, settings)
    sampling["fit"] = _sample_note(n, settings.fit_sample)
    sampling["silhouette"] = {**_sample_note(n, settings.silhouette_sample), "min_per_segment": MIN_PER_SEGMENT}
    elbow = {a: _elbow([c for c in candidates if c.algorithm == a]) for a in ("kmeans", "hierarchical")
             if a in settings.algorithms}
    choice = choose(candidates, elbow, n, (settings.k_min, settings.k_max),
                    density_k_max=max(settings.k_max, DENSITY_MAX_SEGMENTS) if settings.k_range_is_default else None,
                    density_evidence=density_evidence)
    if choice.chosen.stability is None:
        measure_stability([choice.chosen], matrix, settings)
        choice.reason = " ".join(filter(None, [choice.reason, _stability_sentence(choice.chosen)]))
    return SearchResult(candidates, choice.chosen, choice.reason, choice.disagreements, elbow, sampling,
                        dendrogram, k_distance, choice.decided_by, choice.natural, choice.structure)


def _same_partition(a: Candidate, b: Candidate) -> bool:
    if a.k != b.k:
        return False
    # Centroid methods with the same k and fewer distinct customers than k repeat
    # themselves; density methods can reach the same k with other segments.
    return a.algorithm not in ("hdbscan", "dbscan") or bool(np.array_equal(a.labels, b.labels))


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
        candidate = _candidate("kmeans", assigner, matrix, {"n_init": settings.n_init})
        candidate.refit = _kmeans_refit(k, settings.n_init)
        yield candidate


def _kmeans_refit(k: int, n_init: int):
    def refit(points: np.ndarray, seed: int) -> np.ndarray:
        from sklearn.cluster import KMeans
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(points).labels_
    return refit


def fit_rows(matrix: np.ndarray, settings: Settings) -> np.ndarray:
    """The rows centres are fitted on: all customers, or a seeded sample of ``fit_sample``.

    Centres of a 100,000-customer sample are as good as those of millions for a handful of
    segments (even a 1% segment has 1,000 customers in it), at a fraction of the cost;
    labels and scores still use every customer.
    """
    if len(matrix) <= settings.fit_sample:
        return matrix
    return matrix[_seeded_sample(len(matrix), settings.fit_sample, settings.random_state)]


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
    assigner.keep(kept, renamed)
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
    out, trees = [], {}
    for k in ks:
        point_labels = fcluster(tree, k, criterion="maxclust").astype("int64") - 1
        assigner = Assigner("nearest", points, point_labels)
        # Every customer follows its micro-cluster (the nearest centre, fixed for all k);
        # on the exact path the nearest reference point of a customer is the customer.
        labels = point_labels if member_of is None else point_labels[member_of]
        candidate = _candidate("hierarchical", assigner, matrix, {"linkage": "ward", **_ward_params(sampling)},
                               labels)
        candidate.refit = _ward_refit(k, trees)
        out.append(candidate)
    return out, truncated_dendrogram(tree, weights), sampling


def _ward_refit(k: int, trees: dict):
    """Ward on the subsample, cut at ``k``; one tree per subsample serves every k."""
    def refit(points: np.ndarray, seed: int) -> np.ndarray:
        from scipy.cluster.hierarchy import fcluster, linkage

        if seed not in trees:
            trees.clear()
            trees[seed] = linkage(points, method="ward")
        return fcluster(trees[seed], k, criterion="maxclust").astype("int64") - 1
    return refit


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


# --------------------------------------------------------------------------- Gaussian mixtures

def _gmm_candidates(matrix: np.ndarray, ks: list[int], settings: Settings):
    """Gaussian mixtures (full covariances) for each k, fitted on a seeded sample of at most
    ``mixture_sample`` customers; every customer goes to its most probable component."""
    n = len(matrix)
    rows = matrix[_seeded_sample(n, settings.mixture_sample, settings.random_state)]
    out = []
    for k in ks:
        if k >= len(rows):
            break
        model = _fit_mixture(k, rows, settings.random_state)
        assigner = Assigner("gaussian", model.means_, np.arange(k), None, model.precisions_cholesky_,
                            np.log(model.weights_))
        candidate = _candidate("gmm", assigner, matrix, {"covariance": "full"})
        candidate.bic = float(model.bic(rows))
        candidate.refit = _gmm_refit(k)
        out.append(candidate)
    return out, _sample_note(n, settings.mixture_sample)


#: Added to the covariances' diagonals: clipped or coded columns put many customers on
#: one value, which would make a covariance singular.
GMM_REG_COVAR = 1e-4


def _fit_mixture(k: int, rows: np.ndarray, seed: int):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(n_components=k, covariance_type="full", reg_covar=GMM_REG_COVAR,
                               random_state=seed).fit(rows)


def _gmm_refit(k: int):
    def refit(points: np.ndarray, seed: int) -> np.ndarray:
        return _fit_mixture(k, points, seed).predict(points)
    return refit


def _seeded_sample(n: int, size: int, random_state: int) -> np.ndarray:
    """All rows, or ``size`` of them drawn with the seed, in order."""
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size, replace=False))


def _sample_note(n: int, threshold: int) -> dict:
    """What ``summary.json`` says of a step that runs on a sample above ``threshold``."""
    return {"used": n > threshold, "sample_size": min(n, threshold), "threshold": threshold}


# --------------------------------------------------------------------------- HDBSCAN

def _hdbscan_candidates(matrix: np.ndarray, settings: Settings):
    """HDBSCAN for each of `DENSITY_MIN_CLUSTER_SIZES`, on a seeded sample of at most
    ``dbscan_sample`` customers.

    HDBSCAN calls customers between dense groups noise; here each joins the segment of
    its nearest placed customer, so every customer has a segment and the model assigns
    new customers the same way. How much was noise before that, and the smallest dense
    group, are kept: they decide whether the result is admissible evidence.
    """
    from scipy.spatial import cKDTree

    n = len(matrix)
    index = _seeded_sample(n, settings.dbscan_sample, settings.random_state)
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
        candidate = _candidate("hdbscan", assigner, matrix, {"min_cluster_size": size},
                               labels=assigner.labels[nearest])
        candidate.density_noise = float(1 - placed.mean())
        candidate.density_smallest = int(np.bincount(raw[placed]).min())
        candidate.refit = _hdbscan_refit(size, len(points))
        out.append(candidate)
    return out, _sample_note(n, settings.dbscan_sample)


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


# --------------------------------------------------------------------------- DBSCAN

#: Besides the knee of the k-distance curve, DBSCAN is tried with eps at these
#: percentiles of the same distances: one knee is one guess, and on Mall Customers (all
#: columns) it put every customer in one segment. The choice rule picks among them.
DBSCAN_EPS_PERCENTILES = (50, 70, 80, 90, 95)


def _dbscan_candidates(matrix: np.ndarray, settings: Settings):
    from sklearn.cluster import DBSCAN

    n, d = matrix.shape
    index = _seeded_sample(n, settings.dbscan_sample, settings.random_state)
    points = matrix[index]
    min_samples = int(min(max(4, 2 * d), max(len(points) // 10, 2)))
    distances, knee = k_distance_eps(points, min_samples)
    sampling = _sample_note(n, settings.dbscan_sample)
    curve = {"distances": _downsample(distances, 1000), "eps": knee, "min_samples": min_samples}
    tried = [knee] + [float(np.percentile(distances, q)) for q in DBSCAN_EPS_PERCENTILES]
    out = []
    for eps in dict.fromkeys(max(e, 1e-9) for e in tried):
        model = DBSCAN(eps=eps, min_samples=min_samples).fit(points)
        core = model.core_sample_indices_
        if core.size == 0:
            continue
        assigner = Assigner("nearest", points[core], model.labels_[core].astype("int64"), radius=eps)
        candidate = _candidate("dbscan", assigner, matrix, {"eps": eps, "min_samples": min_samples})
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


# --------------------------------------------------------------------------- scores

def _score(candidate: Candidate, matrix: np.ndarray, settings: Settings,
           neighbours: "_NeighbourSample | None" = None) -> None:
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
    if candidate.algorithm in ("kmeans", "hierarchical", "gmm"):
        candidate.inertia = spread.within
    if candidate.k < 2 or candidate.k >= placed:
        return
    neighbours = neighbours or _NeighbourSample(matrix, settings.silhouette_sample, settings.random_state)
    candidate.wcnn = neighbours.wcnn(candidate.labels)
    candidate.calinski_harabasz = spread.calinski_harabasz()
    candidate.davies_bouldin = spread.davies_bouldin()
    score, values, value_labels = sampled_silhouette(matrix, labels, settings.silhouette_sample, settings.random_state)
    # Noise customers count as singletons, whose silhouette is 0 by definition; leaving
    # them out would flatter DBSCAN against algorithms that place everyone.
    candidate.silhouette = score * (1 - candidate.noise_share)
    candidate.silhouette_values, candidate.silhouette_labels = values, value_labels


class _NeighbourSample:
    """The `WCNN_NEIGHBOURS` nearest neighbours of a seeded sample of customers, found
    once and shared by every candidate's wcnn index."""

    def __init__(self, matrix: np.ndarray, size: int, random_state: int):
        self.index = _seeded_sample(len(matrix), size, random_state)
        self.neighbours = None
        if len(self.index) > WCNN_NEIGHBOURS + 1:
            from sklearn.neighbors import NearestNeighbors

            points = matrix[self.index]
            found = NearestNeighbors(n_neighbors=WCNN_NEIGHBOURS + 1).fit(points).kneighbors(points)[1]
            self.neighbours = _without_self(found)

    def wcnn(self, labels: np.ndarray) -> float | None:
        """Within-cluster near-neighbours index on the sample (see `wcnn_index`)."""
        if self.neighbours is None:
            return None
        return wcnn_index(labels[self.index], self.neighbours)


def _without_self(found: np.ndarray) -> np.ndarray:
    """Drop each row's own index from its M + 1 nearest neighbours (where duplicates hid
    it, drop the farthest instead)."""
    keep = found != np.arange(len(found))[:, None]
    keep[keep.all(axis=1), -1] = False
    return found[keep].reshape(len(found), -1)


def wcnn_index(labels: np.ndarray, neighbours: np.ndarray) -> float:
    """Within-cluster near-neighbours index (Gagolewski, Bartoszuk and Cena 2021).

    The mean share of each customer's M nearest neighbours that are in its own segment:
    1.0 when no segment boundary cuts between near neighbours, as for well-separated
    groups of any shape. Minus infinity when a segment has M customers or fewer, whose
    near neighbours must then lie elsewhere. Noise customers (-1) are left out.

    Parameters
    ----------
    labels : ndarray of shape (m,)
    neighbours : ndarray of shape (m, M)
        Indices of each customer's M nearest other customers.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 0, 0, 1, 1, 1])
    >>> neighbours = np.array([[1, 2], [0, 2], [1, 3], [4, 5], [3, 5], [4, 3]])
    >>> round(wcnn_index(labels, neighbours), 4)
    0.9167
    """
    placed = labels >= 0
    segments, sizes = np.unique(labels[placed], return_counts=True)
    if len(segments) == 0 or sizes.min() <= neighbours.shape[1]:
        return float("-inf")
    same = labels[neighbours[placed]] == labels[placed][:, None]
    return float(same.mean())


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


# --------------------------------------------------------------------------- stability

def measure_stability(candidates: list[Candidate], matrix: np.ndarray, settings: Settings) -> dict:
    """Fill in the per-segment stability of ``candidates`` (see `custseg.segmenting.stability`).

    All candidates are measured on the same seeded sample of ``stability_sample``
    customers and the same subsamples, so their figures compare.
    """
    index = _seeded_sample(len(matrix), settings.stability_sample, settings.random_state)
    points = matrix[index]
    for candidate in candidates:
        if candidate.refit is None or candidate.k < 1 or candidate.k >= round(STABILITY_FRACTION * len(points)):
            continue
        candidate.stability = segment_stability(
            points, candidate.labels[index], candidate.refit, resamples=settings.stability_resamples,
            fraction=STABILITY_FRACTION, random_state=settings.random_state,
        )
    return {**_sample_note(len(matrix), settings.stability_sample), "resamples": settings.stability_resamples,
            "fraction": STABILITY_FRACTION}


#: Share of the stability sample drawn for each refit.
STABILITY_FRACTION = 0.8


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


def eligible(candidate: Candidate, n: int, k_range: tuple[int, int] | None = None) -> bool:
    """Whether a candidate may be chosen: scored, no tiny segment, not mostly noise, and
    (for methods that find k themselves) a k inside the range asked for."""
    min_share = max(MIN_SEGMENT_SHARE, min(MIN_SEGMENT_SIZE / n, 0.05))
    in_range = k_range is None or k_range[0] <= candidate.k <= k_range[1]
    return (
        candidate.silhouette is not None
        and candidate.k >= 2
        and in_range
        and candidate.smallest_share >= min_share
        and candidate.noise_share <= MAX_NOISE_SHARE
    )


def density_admissible(candidate: Candidate) -> bool:
    """Whether an HDBSCAN result is evidence of natural groups: few customers were noise
    before joining a segment, no segment was a dense speck, and every segment is larger
    than the wcnn neighbourhood (a finite wcnn index)."""
    return (
        candidate.algorithm == "hdbscan"
        and candidate.density_noise is not None and candidate.density_smallest is not None
        and candidate.density_noise <= DENSITY_MAX_NOISE
        and candidate.density_smallest >= DENSITY_MIN_SEGMENT
        and candidate.smallest_share >= MIN_SEGMENT_SHARE
        and candidate.wcnn is not None
        and np.isfinite(candidate.wcnn)
    )


@dataclass
class Choice:
    """What `choose` decided, and the words that explain it."""

    chosen: Candidate
    reason: str
    disagreements: list[str]
    decided_by: str                   # "density", "silhouette" or "stability"
    natural: Candidate | None         # the two-way split set aside for a finer stable one
    structure: str


def choose(candidates: list[Candidate], elbow: dict, n: int, k_range: tuple[int, int] | None = None, *,
           density_k_max: int | None = None, density_evidence: bool = True) -> Choice:
    """Choose one candidate by complementary evidence, and say why in words.

    The rule, in order (every threshold is a named constant of this module):

    1. **Density.** An HDBSCAN result that is admissible (`density_admissible`) shows
       natural groups of any shape; among admissible ones, the best wcnn index wins
       (customers' near neighbours in their own segment; near-ties within
       `DENSITY_WCNN_TOLERANCE` go to the one with the least noise), unless step 2's choice
       has more segments, a silhouette of at least `WEAK_SILHOUETTE` and a wcnn at most
       `DENSITY_OVERRIDE_TOLERANCE` lower: the same groups, where density merged two that touch.
       Density results may have up to ``density_k_max`` segments when it is given (the
       default k range lets density find more natural groups than the sweeps try).
    2. **Silhouette.** Otherwise, among eligible candidates (`eligible`) of
       `SILHOUETTE_ALGORITHMS`, the highest silhouette wins. Candidates within
       ``SILHOUETTE_TOLERANCE`` of it are near-ties: one that places every customer is
       preferred, then the best mean rank on Calinski-Harabasz and Davies-Bouldin, then
       the higher silhouette, the simpler algorithm and fewer segments.
    3. **Stability.** When that is a two-way split with a silhouette below
       `WEAK_SILHOUETTE` (no strong natural split), the finest candidate of step 2's pool
       whose every segment is stable (Jaccard >= `custseg.segmenting.stability.STABLE_FROM`) and
       whose silhouette is at least `FINER_SILHOUETTE_RATIO` of the two-way split's is
       recommended instead; the two-way split is kept as the natural split.

    With ``density_evidence=False`` (clustered categoricals) step 1 is skipped, and a note
    says why.
    """
    pool = [c for c in candidates if eligible(c, n, k_range)]
    density_range = k_range if density_k_max is None or k_range is None else (k_range[0], density_k_max)
    density = [c for c in candidates if density_evidence and eligible(c, n, density_range) and density_admissible(c)]
    fallback = not pool
    if fallback:
        pool = [c for c in candidates if c.silhouette is not None] or candidates
    preferred = [c for c in pool if c.algorithm in SILHOUETTE_ALGORITHMS]
    silhouette_pool = preferred or [c for c in pool if c.algorithm != "hdbscan"] or pool
    chosen, near = _best_silhouette(silhouette_pool)
    decided_by, natural = "silhouette", None
    if density:
        best_density = _best_density(density)
        if not _finer_and_as_separated(chosen, best_density):
            chosen, near, decided_by = best_density, [], "density"
    if decided_by == "silhouette" and not fallback:
        finer = _finer_stable(chosen, silhouette_pool)
        if finer is not None:
            natural, chosen, decided_by = chosen, finer, "stability"
    structure = _structure(chosen, decided_by, natural)
    reason = _reason(chosen, candidates, near, n, fallback, decided_by, natural, density)
    notes = _disagreements(chosen, candidates, silhouette_pool, elbow, decided_by, density, density_evidence)
    return Choice(chosen, reason, notes, decided_by, natural, structure)


def _best_density(density: list[Candidate]) -> Candidate:
    """The admissible density result with the best wcnn; among those within
    `DENSITY_WCNN_TOLERANCE` of it, the one that called the fewest customers noise."""
    top = max(c.wcnn for c in density)
    near = [c for c in density if c.wcnn >= top - DENSITY_WCNN_TOLERANCE]
    return min(near, key=lambda c: (c.density_noise, -c.wcnn, c.k))


def _finer_and_as_separated(candidate: Candidate, density: Candidate) -> bool:
    """Whether the silhouette's choice splits the density groups further while keeping
    near neighbours together as well: then density merged touching groups (step 1's
    exception in `choose`)."""
    return (
        candidate.k > density.k
        and candidate.silhouette is not None and candidate.silhouette >= WEAK_SILHOUETTE
        and candidate.wcnn is not None and candidate.wcnn >= density.wcnn - DENSITY_OVERRIDE_TOLERANCE
    )


def _best_silhouette(pool: list[Candidate]) -> tuple[Candidate, list[Candidate]]:
    """The silhouette rule of `choose` (step 2): the winner and its near-ties."""
    best = max(c.silhouette if c.silhouette is not None else -1.0 for c in pool)
    near = [c for c in pool if c.silhouette is not None and c.silhouette >= best - SILHOUETTE_TOLERANCE] or pool[:1]
    ch_rank = _ranks(near, lambda c: -(c.calinski_harabasz or 0.0))
    db_rank = _ranks(near, lambda c: c.davies_bouldin if c.davies_bouldin is not None else np.inf)
    chosen = min(
        near,
        key=lambda c: (c.noise_share > 0, (ch_rank[id(c)] + db_rank[id(c)]) / 2, -(c.silhouette or -1.0),
                       ALGORITHM_ORDER[c.algorithm], c.k),
    )
    return chosen, near


def _finer_stable(chosen: Candidate, pool: list[Candidate]) -> Candidate | None:
    """The finer stable partition that replaces a weak two-way split (step 3 of `choose`)."""
    if chosen.k != 2 or chosen.silhouette is None or chosen.silhouette >= WEAK_SILHOUETTE:
        return None
    finer = [
        c for c in pool
        if c.k >= 3 and c.noise_share == 0 and c.stability_min is not None and c.stability_min >= STABLE_FROM
        and c.silhouette is not None and c.silhouette >= FINER_SILHOUETTE_RATIO * chosen.silhouette
    ]
    if not finer:
        return None
    return max(finer, key=lambda c: (c.k, c.silhouette, -ALGORITHM_ORDER[c.algorithm]))


def _structure(chosen: Candidate, decided_by: str, natural: Candidate | None) -> str:
    """One plain sentence on how strong the structure is."""
    if decided_by == "density":
        return (f"natural groups: {chosen.k} dense groups of customers separated by sparse regions, "
                "found by density whatever their shape")
    sil = chosen.silhouette if natural is None else natural.silhouette
    if sil is None:
        return "not measured"
    if sil > WEAK_SILHOUETTE:
        return silhouette_strength(sil)
    return ("no strong natural split: the customers form a continuum rather than separate groups, so the "
            "segments are a useful partition of it, not natural groups")


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


def _reason(chosen: Candidate, candidates: list[Candidate], near: list[Candidate], n: int, fallback: bool,
            decided_by: str, natural: Candidate | None, density: list[Candidate]) -> str:
    sil = chosen.silhouette
    parts = []
    if fallback:
        parts.append("No candidate met the rules (every segment at least "
                     f"{MIN_SEGMENT_SHARE:.1%} of customers, at most {MAX_NOISE_SHARE:.0%} noise), "
                     "so the best-scoring one is shown anyway.")
    if sil is None:
        parts.append(f"{chosen.label} was the only result; it could not be scored.")
        return " ".join(parts)
    if decided_by == "density":
        parts.append(
            f"{chosen.label} was chosen from {len(candidates)} candidates: density found {chosen.k} natural "
            f"groups, dense regions separated by sparse ones. {_between_groups(chosen.density_noise)} and every "
            f"group is substantial, so the result was "
            f"admissible. {chosen.wcnn:.1%} of customers' nearest neighbours are in their own segment"
            + (f", the best of the {len(density)} admissible density results (within {DENSITY_WCNN_TOLERANCE}; "
               "near-ties go to the one that leaves the fewest customers between groups)." if len(density) > 1 else ".")
        )
    elif decided_by == "stability":
        parts.append(
            f"The best silhouette ({natural.silhouette:.2f}) is a two-way cut, {natural.label}: the customers have "
            f"no strong natural split, and two segments are too coarse to act on. {chosen.label} is recommended "
            f"instead: the finest partition whose segments all stay stable when refitted on subsamples (every "
            f"segment's Jaccard at least {STABLE_FROM}), keeping {chosen.silhouette / natural.silhouette:.0%} of "
            f"the two-way cut's silhouette ({sil:.2f}). The two-way cut is shown beside it as the natural split."
        )
    else:
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
            parts.append(f"{chosen.label} has the highest silhouette ({sil:.3f}) of {len(candidates)} candidates.")
        parts.append(f"A silhouette of {sil:.2f} means {silhouette_strength(sil)}.")
    if chosen.noise_share > 0:
        parts.append(f"DBSCAN leaves {chosen.noise_share:.1%} of customers as noise (segment -1).")
    parts.append(_stability_sentence(chosen))
    return " ".join(p for p in parts if p)


def _between_groups(noise: float) -> str:
    if noise < 0.005:
        return "Hardly any customer lay between groups"
    return f"Only {noise:.0%} of the customers lay between groups (they joined the nearest one)"


def _stability_sentence(chosen: Candidate) -> str:
    if not chosen.stability:
        return ""
    values = list(chosen.stability.values())
    unstable = sum(v < UNSTABLE_BELOW for v in values)
    low, high = f"{min(values):.2f}", f"{max(values):.2f}"
    text = ("Refitted on subsamples, its segments are found again with a Jaccard agreement of "
            + (low if low == high else f"{low} to {high}"))
    if unstable:
        return text + f"; {unstable} segment{'s are' if unstable > 1 else ' is'} below {UNSTABLE_BELOW} and flagged unstable."
    return text + "."


def _disagreements(chosen: Candidate, candidates: list[Candidate], pool: list[Candidate], elbow: dict,
                   decided_by: str, density: list[Candidate], density_evidence: bool = True) -> list[str]:
    """Where another criterion prefers something else, say what and by how much."""
    notes = []
    if not density_evidence and any(c.algorithm == "hdbscan" for c in candidates):
        notes.append("Density (HDBSCAN) was not used as evidence of natural groups: categorical features put "
                     "customers with different levels apart by construction, so every combination of levels "
                     "looks like a dense group; its results are shown, and the silhouette rule decided.")
    scored = [c for c in pool if c.calinski_harabasz is not None]
    if decided_by == "density":
        centroid = [c for c in candidates if c.algorithm in ("kmeans", "hierarchical") and c.silhouette is not None]
        if centroid:
            best = max(centroid, key=lambda c: c.silhouette)
            if best.k != chosen.k:
                notes.append(f"By silhouette alone, {best.label} would be chosen ({best.silhouette:.3f} against "
                             f"{chosen.silhouette:.3f}): K-Means and Ward cut customers into round groups of similar "
                             "spread, which the density groups are not.")
    if scored and decided_by != "density":
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
    mixtures = [c for c in candidates if c.bic is not None]
    if mixtures:
        best_bic = min(mixtures, key=lambda c: c.bic)
        if best_bic.k != chosen.k:
            notes.append(f"As a model fit, Gaussian mixtures are best (lowest BIC) with {best_bic.k} components.")
    if decided_by != "density" and density:
        best = _best_density(density)
        notes.append(f"Density (HDBSCAN) found {best.k} natural groups; {chosen.label} splits them further "
                     f"with as clean a separation between near neighbours ({chosen.wcnn:.1%} against "
                     f"{best.wcnn:.1%}), so the finer partition was kept.")
    elif decided_by != "density" and density_evidence:
        tried = [c for c in candidates if c.algorithm == "hdbscan" and c.density_noise is not None]
        if tried:
            least = min(tried, key=lambda c: c.density_noise)
            if least.density_noise > DENSITY_MAX_NOISE:
                why = f"called {least.density_noise:.0%} of customers noise"
            elif least.density_smallest < DENSITY_MIN_SEGMENT:
                why = f"had a group of only {least.density_smallest} customers"
            else:
                why = "had a group too small to judge by its near neighbours, or a k outside the range asked for"
            notes.append(f"Density (HDBSCAN) found no admissible natural groups: its result with the least "
                         f"noise ({least.k} groups) {why}.")
    return notes
