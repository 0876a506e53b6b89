"""The rules of the choice: which candidates may be chosen, when density is evidence of
natural groups, and how ties are settled. Every threshold is a named constant here, with
the measurement that set it in ``benchmarks/QUALITY.md``."""

from __future__ import annotations

import numpy as np

from .candidates import ALGORITHM_ORDER, Candidate

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
#: The silhouette rule chooses among these; Gaussian mixtures and HDBSCAN are scored and
#: shown beside them (HDBSCAN decides through the density gate). On the 45 labelled sets,
#: letting mixtures compete on silhouette lowered the real-measurement battery (uci)
#: median ARI from 0.49 to 0.24. When only other algorithms were asked for, they compete.
SILHOUETTE_ALGORITHMS = ("kmeans", "hierarchical", "dbscan")
#: A silhouette below this is weak structure: unless a mixture shows two groups, working
#: segments are recommended (see `custseg.segmenting.structure`).
WEAK_SILHOUETTE = 0.5


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


def best_density(density: list[Candidate]) -> Candidate:
    """The admissible density result with the best wcnn; among those within
    `DENSITY_WCNN_TOLERANCE` of it, the one that called the fewest customers noise."""
    top = max(c.wcnn for c in density)
    near = [c for c in density if c.wcnn >= top - DENSITY_WCNN_TOLERANCE]
    return min(near, key=lambda c: (c.density_noise, -c.wcnn, c.k))


def finer_and_as_separated(candidate: Candidate, density: Candidate) -> bool:
    """Whether the silhouette's choice splits the density groups further while keeping
    near neighbours together as well: then density merged touching groups (step 1's
    exception in `choose`)."""
    return (
        candidate.k > density.k
        and candidate.silhouette is not None and candidate.silhouette >= WEAK_SILHOUETTE
        and candidate.wcnn is not None and candidate.wcnn >= density.wcnn - DENSITY_OVERRIDE_TOLERANCE
    )


def coarser_and_as_separated(candidate: Candidate, density: Candidate, k_range: tuple[int, int] | None) -> bool:
    """Whether the silhouette's choice joins the density groups into fewer, well separated
    ones that keep near neighbours together at least as well: then density cut skewed groups
    (a dense core apart from its tail). Only a silhouette peak inside the k range counts: at
    the range's first or last k the peak is the range's, not the data's (the labelled sets
    a1 and s1, where K-Means' best is its largest k, 10, beside 15-20 density groups).
    Labelled sets: customers_k3_d4 (three skewed customer groups) 5 -> 3 groups, ARI 0.81 ->
    0.97; no other of the 69 sets moves (``benchmarks/QUALITY.md``, Leave-one-battery-out)."""
    low, high = k_range if k_range is not None else (2, np.inf)
    return (
        low < candidate.k < min(high, density.k)
        and candidate.silhouette is not None and candidate.silhouette >= WEAK_SILHOUETTE
        and candidate.wcnn is not None and candidate.wcnn >= density.wcnn - DENSITY_OVERRIDE_TOLERANCE
    )


def best_silhouette(pool: list[Candidate]) -> tuple[Candidate, list[Candidate]]:
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


def _ranks(candidates: list[Candidate], key) -> dict[int, int]:
    # Equal values share a rank, so ties fall through to the next rule whatever the order.
    return {id(c): sum(key(other) < key(c) for other in candidates) for c in candidates}
