"""What the data has, and the segments to work with (issue 19).

The first steps of the choice (`custseg.segmenting.choice.choose`) find the data's natural
structure: dense groups, a strong silhouette cut, or nothing strong. That is a finding, and
not always a segmentation a marketer can act on. This module reads the finding and, where
it is not usable as it is, picks **working segments** from the same candidates:

- **Two natural groups** (`two_groups`): the best silhouette (or a near-tie of it) is a
  two-way cut, weak because the two overlap, but along the line through their centres two Gaussians fit the customers
  better than one and are apart (Ashman's D at least `TWO_GROUPS_MIN_D`: `separation`).
- **A body and a small separated group**: one segment holds more than `MAX_SEGMENT_SHARE`
  of the customers beside one small group that density separated (a 95% / 5% split). The
  small group is kept as its own segment and the body is divided further
  (`custseg.segmenting.body`), into `BODY_K` segments in all. Beside several groups, a body is named, not divided: the
  natural groups are already segments to act on.
- **Unstable groups**: one of the groups found is not found again when refitted on
  subsamples (stability below `custseg.segmenting.stability.UNSTABLE_BELOW`).
- **A continuum**: a weak two-way cut (silhouette below `WEAK_SILHOUETTE`) that is not two
  groups, or a weak cut with a segment above `MAX_SEGMENT_SHARE`: a stable, balanced
  partition of `WORKING_K` segments is recommended, with the best silhouette among those. A
  weak cut into 3 or more balanced, stable segments is kept (weak structure, said so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .candidates import ALGORITHM_ORDER, Candidate, seeded_sample
from .rules import WEAK_SILHOUETTE
from .stability import STABLE_FROM, UNSTABLE_BELOW

#: A segment holding more than this share of the customers is a body to divide further
#: (unless density shows it beside small separated groups that are then kept whole).
MAX_SEGMENT_SHARE = 0.55
#: The number of working segments recommended for a continuum (or segments not found again
#: when refitted): enough to act on differently, few enough to act on at all (issue 19: 3 to
#: 8). They are a plan for a marketer, not a finding.
WORKING_K = (3, 8)
#: The number of segments, the separated group(s) included, when a body beside a small
#: separated group is divided: the body may hold natural groups of its own, so up to the
#: default k range's top. Leave-one-battery-out (benchmarks/QUALITY.md) chose 3..10 on all 9
#: held-out batteries (generated blobs_k10_d8: ARI 0.78 at 8 segments, 0.98 at 10;
#: speck_blobs9_d4: 0.58 at 6, 0.99 at 10); no real table of benchmarks/REAL.md moves.
BODY_K = (3, 10)
#: Two components along a two-way cut are two natural groups when Ashman's D, the distance
#: between their means in units of their pooled spread, is at least 2: below it an equal
#: mixture of two Gaussians has no dip between them (Ashman, Bird & Zepeda 1994).
TWO_GROUPS_MIN_D = 2.0
#: ... and each component holds at least this share of the customers (else it is a speck,
#: the body-and-group case).
TWO_GROUPS_MIN_SHARE = 0.1
#: A working partition keeps a small separated group when one of its segments matches it
#: with at least this Jaccard agreement.
KEEP_GROUP_JACCARD = 0.8


@dataclass(frozen=True)
class Structure:
    """The natural structure read from the first steps of the choice.

    kind : "groups" (usable as they are), "groups with a body" (usable as they are, one of
        them above `MAX_SEGMENT_SHARE`), "two groups" (mixture evidence), "body" (a body beside
        one small separated group: divided further), "unstable" (density groups not found
        again), "continuum" (no strong cut).
    keep : segment labels of ``natural`` that working segments must keep whole.
    """

    kind: str
    natural: Candidate
    keep: tuple[int, ...] = ()


def separation(matrix: np.ndarray, labels: np.ndarray, sample: int, random_state: int) -> float | None:
    """How far apart the two segments of a two-way cut are as groups: along the line through
    their centres, a mixture of two Gaussians is fitted to the customers; when it fits better
    than one Gaussian (lower BIC) and each component holds `TWO_GROUPS_MIN_SHARE`, Ashman's D
    of the two components (their distance over the root mean square of their spreads), else 0.
    On a seeded sample of at most ``sample`` customers; None when a segment is empty.

    A one-dimensional mixture along the cut works in any dimension with a few hundred
    customers (a full-covariance mixture in 13 dimensions needs thousands).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> two = np.r_[rng.normal(0, 1, (400, 3)), rng.normal([3.5, 0, 0], 1, (400, 3))]
    >>> labels = (two[:, 0] > 1.75).astype(int)
    >>> round(separation(two, labels, 10_000, 0), 1)
    3.6
    >>> one = rng.normal(0, 1, (800, 3))
    >>> separation(one, (one[:, 0] > 0).astype(int), 10_000, 0)
    0.0
    """
    from sklearn.mixture import GaussianMixture

    rows = seeded_sample(len(matrix), sample, random_state)
    points, cut = matrix[rows], labels[rows]
    if not (cut == 0).any() or not (cut == 1).any():
        return None
    axis = points[cut == 1].mean(axis=0) - points[cut == 0].mean(axis=0)
    if not np.any(axis):
        return 0.0
    x = (points @ (axis / np.linalg.norm(axis)))[:, None]
    one = GaussianMixture(1, random_state=random_state).fit(x)
    two = GaussianMixture(2, n_init=3, random_state=random_state).fit(x)
    if two.bic(x) >= one.bic(x) or two.weights_.min() < TWO_GROUPS_MIN_SHARE:
        return 0.0
    means, spreads = two.means_.ravel(), two.covariances_.ravel()
    return float(np.sqrt(2.0) * abs(means[1] - means[0]) / np.sqrt(spreads.sum()))


def inner_separation(matrix: np.ndarray, labels: np.ndarray, sample: int, random_state: int) -> float:
    """The larger `separation` found inside either segment of a two-way cut, each cut in two
    by K-Means: at least `TWO_GROUPS_MIN_D` when a segment is itself two groups, so that the
    data has more than two (G-means' test, Hamerly and Elkan 2003, with Ashman's D).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> three = np.r_[rng.normal(0, 1, (300, 2)), rng.normal([8, 0], 1, (300, 2)), rng.normal([8, 8], 1, (300, 2))]
    >>> cut = (three[:, 0] > 4).astype(int)
    >>> inner_separation(three, cut, 10_000, 0) >= TWO_GROUPS_MIN_D
    True
    """
    from sklearn.cluster import KMeans

    found = 0.0
    for group in (0, 1):
        rows = matrix[labels == group]
        if len(rows) < 20:
            continue
        rows = rows[seeded_sample(len(rows), sample, random_state)]
        halves = KMeans(2, n_init=3, random_state=random_state).fit_predict(rows)
        found = max(found, separation(rows, halves, sample, random_state) or 0.0)
    return found


def two_groups(cut: Candidate) -> bool:
    """Whether a two-way cut is two natural groups that overlap: its `separation` is at least
    `TWO_GROUPS_MIN_D`, and neither group is two groups itself (`inner_separation`)."""
    return (cut.k == 2 and cut.separation is not None and cut.separation >= TWO_GROUPS_MIN_D
            and (cut.inner_separation is None or cut.inner_separation < TWO_GROUPS_MIN_D))


def read_structure(chosen: Candidate, decided_by: str, near: list[Candidate] | None = None) -> Structure:
    """What the first steps of the choice found, as one of `Structure`'s kinds.

    ``near`` are the silhouette's near-ties (``chosen`` is one of them when the silhouette
    decided): a two-way cut among them may be two groups that overlap. Density results are not judged by their stability: refitted on
    subsamples, density finds coarser groups than in all the customers, and on labelled sets
    the right groups scored 0.1-0.4.
    """
    near = near or [chosen]
    if decided_by == "density":
        if chosen.largest_share > MAX_SEGMENT_SHARE:
            # A body and one group is a two-way split nobody can act on: the body is divided.
            # Beside several groups, the natural groups are a segmentation already.
            if chosen.k == 2:
                return Structure("body", chosen, keep=(1,))
            return Structure("groups with a body", chosen)
        return Structure("groups", chosen)
    if chosen.stability_min is not None and chosen.stability_min < UNSTABLE_BELOW:
        return Structure("unstable", chosen)
    if chosen.silhouette is not None and chosen.silhouette >= WEAK_SILHOUETTE:
        return Structure("groups", chosen)
    pair = next((c for c in near if two_groups(c)), None)
    if pair is not None:
        return Structure("two groups", pair)
    top = max(near, key=lambda c: (c.silhouette if c.silhouette is not None else -1.0, -c.k))
    if top.k == 2 or chosen.largest_share > MAX_SEGMENT_SHARE:
        return Structure("continuum", top)
    return Structure("groups", chosen)


def working_partition(structure: Structure, pool: list[Candidate], k_range: tuple[int, int] | None
                      ) -> Candidate | None:
    """Working segments for a structure that is not usable as it is: among ``pool``'s
    candidates with `working_bounds` segments (inside ``k_range``), every customer placed, every
    segment stable (`STABLE_FROM`; failing any, `UNSTABLE_BELOW`), no segment above
    `MAX_SEGMENT_SHARE` and the structure's small groups kept whole, the best silhouette
    (near-ties: fewer segments, the simpler algorithm). None when no candidate qualifies."""
    low, high = working_range(k_range, structure.kind)
    usable = [
        c for c in pool
        if low <= c.k <= high and c.noise_share == 0 and c.silhouette is not None
        and c.largest_share <= MAX_SEGMENT_SHARE and _keeps(c, structure)
        and c.stability_min is not None        # last: measured on first request, refits are dear
    ]
    for floor in (STABLE_FROM, UNSTABLE_BELOW):
        stable = [c for c in usable if c.stability_min >= floor]
        if stable:
            return max(stable, key=lambda c: (round(c.silhouette, 2), -c.k, -ALGORITHM_ORDER[c.algorithm]))
    return None


def working_bounds(kind: str) -> tuple[int, int]:
    """The numbers of working segments for a structure of this ``kind``: `BODY_K` for a body
    beside a small separated group, else `WORKING_K`.

    Examples
    --------
    >>> working_bounds("body"), working_bounds("continuum")
    ((3, 10), (3, 8))
    """
    return BODY_K if kind == "body" else WORKING_K


def working_range(k_range: tuple[int, int] | None, kind: str = "continuum") -> tuple[int, int]:
    """The numbers of working segments allowed for a structure of this ``kind``
    (`working_bounds`) inside ``k_range``.

    Examples
    --------
    >>> working_range((2, 10)), working_range((2, 5)), working_range(None), working_range((2, 10), "body")
    ((3, 8), (3, 5), (3, 8), (3, 10))
    """
    low, high = working_bounds(kind)
    if k_range is not None:
        low, high = max(low, k_range[0]), min(high, k_range[1])
    return low, high


def _keeps(candidate: Candidate, structure: Structure) -> bool:
    """Whether each of the structure's small groups is one segment of ``candidate``."""
    natural = structure.natural.labels
    for group in structure.keep:
        members = natural == group
        best = 0.0
        for label in np.unique(candidate.labels[members]):
            if label < 0:
                continue
            segment = candidate.labels == label
            best = max(best, float(np.sum(members & segment) / np.sum(members | segment)))
        if best < KEEP_GROUP_JACCARD:
            return False
    return True
