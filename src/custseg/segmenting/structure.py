"""What the data has, and the segments to work with (issue 19).

The first steps of the choice (`custseg.segmenting.choice.choose`) find the data's natural
structure: dense groups, a strong silhouette cut, or nothing strong. That is a finding, and
not always a segmentation a marketer can act on. This module reads the finding and, where
it is not usable as it is, picks **working segments** from the same candidates:

- **Two natural groups** (`two_groups`): a Gaussian mixture fits best with two components,
  and they are apart (Ashman's D at least `TWO_GROUPS_MIN_D` along the line through their
  means), even when the silhouette of the two-way cut is weak because they overlap.
- **A body and a small separated group**: one segment holds more than `MAX_SEGMENT_SHARE`
  of the customers beside one small group that density separated (a 95% / 5% split). The
  small group is kept as its own segment and the body is divided further
  (`custseg.segmenting.body`). Beside several groups, a body is named, not divided: the
  natural groups are already segments to act on.
- **Unstable groups**: one of the groups found is not found again when refitted on
  subsamples (stability below `custseg.segmenting.stability.UNSTABLE_BELOW`).
- **A continuum**: no strong cut (silhouette below `WEAK_SILHOUETTE`) and no mixture
  evidence of two groups: a stable, balanced partition of `WORKING_K` segments is
  recommended, with the best silhouette among those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .candidates import ALGORITHM_ORDER, Candidate
from .rules import WEAK_SILHOUETTE
from .stability import STABLE_FROM, UNSTABLE_BELOW

#: A segment holding more than this share of the customers is a body to divide further
#: (unless density shows it beside small separated groups that are then kept whole).
MAX_SEGMENT_SHARE = 0.55
#: The number of working segments recommended for a continuum or a body: enough to act on
#: differently, few enough to run campaigns for.
WORKING_K = (3, 8)
#: Two mixture components are two natural groups when Ashman's D, the distance between
#: their means in units of their pooled spread along the line through them, is at least 2:
#: below it an equal mixture of two Gaussians has no dip between them (Ashman, Bird &
#: Zepeda 1994).
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
    separation: float | None = None


def ashman_d(candidate: Candidate) -> float | None:
    """Ashman's D between the two components of a two-component Gaussian mixture: the
    distance between the means over the root mean square of their spreads along the line
    through them (None for another candidate).

    Examples
    --------
    >>> from custseg.segmenting.assign import Assigner
    >>> eye = np.linalg.cholesky(np.eye(2))[None].repeat(2, axis=0)
    >>> mixture = Assigner("gaussian", np.array([[0.0, 0.0], [3.0, 0.0]]), np.arange(2), None, eye,
    ...                    np.log([0.5, 0.5]))
    >>> round(ashman_d(Candidate("gmm", 2, np.zeros(4, dtype=int), mixture)), 3)
    3.0
    """
    assigner = candidate.assigner
    if candidate.algorithm != "gmm" or assigner is None or len(assigner.points) != 2:
        return None
    means = np.asarray(assigner.points, dtype="float64")
    gap = means[1] - means[0]
    distance = float(np.linalg.norm(gap))
    if distance == 0:
        return 0.0
    direction = gap / distance
    spreads = []
    for factor in assigner.precisions_cholesky:
        # precision = factor @ factor.T, so the variance along ``direction`` is
        # direction' inv(precision) direction = |solve(factor, direction)|^2.
        spreads.append(float(np.sum(np.linalg.solve(factor, direction) ** 2)))
    return float(np.sqrt(2.0) * distance / np.sqrt(spreads[0] + spreads[1]))


def two_groups(candidates: list[Candidate]) -> Candidate | None:
    """The two-component mixture when it is evidence of two natural groups: the mixtures'
    lowest BIC is at two components, both hold `TWO_GROUPS_MIN_SHARE`, and their Ashman's D
    is at least `TWO_GROUPS_MIN_D`; else None."""
    mixtures = [c for c in candidates if c.algorithm == "gmm" and c.bic is not None]
    if not mixtures:
        return None
    best = min(mixtures, key=lambda c: (c.bic, c.k))
    if best.k != 2 or best.smallest_share < TWO_GROUPS_MIN_SHARE:
        return None
    separation = ashman_d(best)
    return best if separation is not None and separation >= TWO_GROUPS_MIN_D else None


def read_structure(chosen: Candidate, decided_by: str, candidates: list[Candidate], *,
                   density_stability: bool = True) -> Structure:
    """What the first steps of the choice found, as one of `Structure`'s kinds.

    ``density_stability`` says whether the stability of density results is evidence: it is
    when the refits saw every customer (`custseg.segmenting.stability` refits on a sample of
    ``stability_sample``; a density fitted on more customers is a finer one than its refits
    can see, and on labelled sets of 9,000 points the right groups scored 0.1-0.2).
    """
    trusted = decided_by != "density" or density_stability
    if trusted and chosen.stability_min is not None and chosen.stability_min < UNSTABLE_BELOW:
        return Structure("unstable", chosen)
    if decided_by == "density":
        if chosen.largest_share > MAX_SEGMENT_SHARE:
            # A body and one group is a two-way split nobody can act on: the body is divided.
            # Beside several groups, the natural groups are a segmentation already.
            if chosen.k == 2:
                return Structure("body", chosen, keep=(1,))
            return Structure("groups with a body", chosen)
        return Structure("groups", chosen)
    if chosen.silhouette is not None and chosen.silhouette >= WEAK_SILHOUETTE:
        return Structure("groups", chosen)
    pair = two_groups(candidates)
    if pair is not None:
        return Structure("two groups", pair, separation=ashman_d(pair))
    return Structure("continuum", chosen)


def working_partition(structure: Structure, pool: list[Candidate], k_range: tuple[int, int] | None
                      ) -> Candidate | None:
    """Working segments for a structure that is not usable as it is: among ``pool``'s
    candidates with `WORKING_K` segments (inside ``k_range``), every customer placed, every
    segment stable (`STABLE_FROM`; failing any, `UNSTABLE_BELOW`), no segment above
    `MAX_SEGMENT_SHARE` and the structure's small groups kept whole, the best silhouette
    (near-ties: fewer segments, the simpler algorithm). None when no candidate qualifies."""
    low, high = working_range(k_range)
    usable = [
        c for c in pool
        if low <= c.k <= high and c.noise_share == 0 and c.silhouette is not None
        and c.stability_min is not None and c.largest_share <= MAX_SEGMENT_SHARE
        and _keeps(c, structure)
    ]
    for floor in (STABLE_FROM, UNSTABLE_BELOW):
        stable = [c for c in usable if c.stability_min >= floor]
        if stable:
            return max(stable, key=lambda c: (round(c.silhouette, 2), -c.k, -ALGORITHM_ORDER[c.algorithm]))
    return None


def working_range(k_range: tuple[int, int] | None) -> tuple[int, int]:
    """The numbers of working segments allowed: `WORKING_K` inside ``k_range``.

    Examples
    --------
    >>> working_range((2, 10)), working_range((2, 5)), working_range(None)
    ((3, 8), (3, 5), (3, 8))
    """
    low, high = WORKING_K
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
