"""A candidate segmentation and what every algorithm's fits share: labels in canonical
order (segment 0 the largest), seeded samples, and the notes on sampling kept in
``summary.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .assign import Assigner
from .options import SearchOptions

#: Each algorithm's name in words, and its place in tie-breaks (the simpler first).
#: ``body``: density's small separated groups kept whole, its body divided by K-Means
#: (`custseg.segmenting.body`), built only as working segments.
ALGORITHM_NAMES = {"kmeans": "K-Means", "hierarchical": "hierarchical (Ward)", "gmm": "Gaussian mixture",
                   "hdbscan": "HDBSCAN", "dbscan": "DBSCAN", "body": "HDBSCAN groups and a K-Means body"}
ALGORITHM_ORDER = {"kmeans": 0, "hierarchical": 1, "gmm": 2, "hdbscan": 3, "dbscan": 4, "body": 5}


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
    largest_share: float = 0.0
    silhouette_values: np.ndarray | None = None
    silhouette_labels: np.ndarray | None = None
    wcnn: float | None = None
    bic: float | None = None
    separation: float | None = None         # two-way cuts: Ashman's D along the cut (structure.separation)
    inner_separation: float | None = None   # ... and the largest inside either segment
    density_noise: float | None = None      # HDBSCAN: noise share of the fit, before extension
    density_smallest: int | None = None     # HDBSCAN: customers in its smallest segment of the fit
    stability: dict[int, float] | None = None
    refit: Callable | None = field(default=None, repr=False, compare=False)
    #: Measures ``stability`` when it is first asked for (`measured_stability`); set by
    #: `custseg.segmenting.stability.defer_stability`, cleared once used or when the search ends.
    measure: Callable[[], dict[int, float] | None] | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict:
        """Pickle without ``refit`` and ``measure`` (closures, used only during the search)."""
        return {**self.__dict__, "refit": None, "measure": None}

    def measured_stability(self) -> dict[int, float] | None:
        """The per-segment stability, measured now if it was deferred and not yet measured
        (then kept: each candidate is refitted at most once). None when it was not computed.

        Examples
        --------
        >>> c = Candidate("kmeans", 2, np.array([0, 1]), None)
        >>> c.measure = lambda: {0: 0.9, 1: 0.8}
        >>> c.stability is None, c.measured_stability(), c.stability_min
        (True, {0: 0.9, 1: 0.8}, 0.8)
        """
        if self.stability is None and self.measure is not None:
            measure, self.measure = self.measure, None
            self.stability = measure()
        return self.stability

    @property
    def label(self) -> str:
        """Human name, e.g. ``K-Means with 5 segments``."""
        return f"{ALGORITHM_NAMES[self.algorithm]} with {self.k} segment{'' if self.k == 1 else 's'}"

    @property
    def stability_min(self) -> float | None:
        """Stability of the least stable segment (measured on first request, see
        `measured_stability`)."""
        stability = self.measured_stability()
        return min(stability.values()) if stability else None

    @property
    def stability_mean(self) -> float | None:
        """Mean stability of the segments (measured on first request, see `measured_stability`)."""
        stability = self.measured_stability()
        return float(np.mean(list(stability.values()))) if stability else None

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
            "largest_share": self.largest_share,
            "wcnn": self.wcnn,
            "bic": self.bic,
            "separation": self.separation,
            "inner_separation": self.inner_separation,
            "density_noise": self.density_noise,
            "stability_mean": self.stability_mean,
            "stability_min": self.stability_min,
        }


def make_candidate(algorithm: str, assigner: Assigner, matrix: np.ndarray, params: dict,
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
    """Map segment labels to 0, 1, ... by decreasing size (ties: by old label); -1 stays.

    Examples
    --------
    >>> canonical_order(np.array([3, 3, 5, 5, 5, -1]))
    {5: 0, 3: 1, -1: -1}
    """
    values, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = sorted(zip(-counts, values))
    mapping = {int(old): new for new, (_, old) in enumerate(order)}
    mapping[-1] = -1
    return mapping


def fit_rows(matrix: np.ndarray, options: SearchOptions) -> np.ndarray:
    """The rows centres are fitted on: all customers, or a seeded sample of ``fit_sample``.

    Centres of a 100,000-customer sample are as good as those of millions for a handful of
    segments (even a 1% segment has 1,000 customers in it), at a fraction of the cost;
    labels and scores still use every customer.
    """
    if len(matrix) <= options.fit_sample:
        return matrix
    return matrix[seeded_sample(len(matrix), options.fit_sample, options.random_state)]


def seeded_sample(n: int, size: int, random_state: int) -> np.ndarray:
    """All rows, or ``size`` of them drawn with the seed, in order.

    Examples
    --------
    >>> seeded_sample(5, 10, random_state=0).tolist()
    [0, 1, 2, 3, 4]
    >>> len(seeded_sample(1000, 10, random_state=0))
    10
    """
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size, replace=False))


def sample_note(n: int, threshold: int) -> dict:
    """What ``summary.json`` says of a step that runs on a sample above ``threshold``.

    Examples
    --------
    >>> sample_note(5000, 4000)
    {'used': True, 'sample_size': 4000, 'threshold': 4000}
    """
    return {"used": n > threshold, "sample_size": min(n, threshold), "threshold": threshold}
