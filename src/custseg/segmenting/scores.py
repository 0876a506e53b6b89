"""Scores of a candidate: the silhouette (exact, or estimated on a stratified sample), the
wcnn index, inertia, Calinski-Harabasz and Davies-Bouldin from one pass over the segments'
spread, and the elbow of the inertia curve."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .candidates import Candidate, seeded_sample
from .options import SearchOptions

#: Silhouette sample: every segment contributes at least this many customers.
MIN_PER_SEGMENT = 50
#: Near neighbours per customer in the wcnn index (Gagolewski et al. 2021).
WCNN_NEIGHBOURS = 25


def score_candidate(candidate: Candidate, matrix: np.ndarray, options: SearchOptions,
                    neighbours: "NeighbourSample | None" = None) -> None:
    """Fill in the scores of ``candidate`` (left None where they do not apply).

    Inertia, Calinski-Harabasz and Davies-Bouldin all come from one `segment_spread`
    (two chunked passes over the customers, no copy of the matrix); noise customers
    (label -1) are left out of every score. The silhouette and the wcnn index run on
    ``options.silhouette_sample`` customers at most; ``neighbours``, when given, are those
    found once for every candidate.
    """
    labels = candidate.labels
    n = len(labels)
    spread = segment_spread(matrix, labels)
    placed = int(spread.sizes.sum())
    candidate.noise_share = float(1 - placed / n)
    candidate.smallest_share = float(spread.sizes.min() / n) if placed else 0.0
    candidate.largest_share = float(spread.sizes.max() / n) if placed else 0.0
    if candidate.algorithm in ("kmeans", "hierarchical", "gmm"):
        candidate.inertia = spread.within
    if candidate.k < 2 or candidate.k >= placed:
        return
    neighbours = neighbours or NeighbourSample(matrix, options.silhouette_sample, options.random_state)
    candidate.wcnn = neighbours.wcnn(candidate.labels)
    candidate.calinski_harabasz = spread.calinski_harabasz()
    candidate.davies_bouldin = spread.davies_bouldin()
    score, values, value_labels = sampled_silhouette(matrix, labels, options.silhouette_sample, options.random_state)
    # Noise customers count as singletons, whose silhouette is 0 by definition; leaving
    # them out would flatter DBSCAN against algorithms that place everyone.
    candidate.silhouette = score * (1 - candidate.noise_share)
    candidate.silhouette_values, candidate.silhouette_labels = values, value_labels


class NeighbourSample:
    """The `WCNN_NEIGHBOURS` nearest neighbours of a seeded sample of customers, found
    once and shared by every candidate's wcnn index."""

    def __init__(self, matrix: np.ndarray, size: int, random_state: int):
        self.index = seeded_sample(len(matrix), size, random_state)
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


def inertia_elbow(candidates: list[Candidate]) -> int | None:
    """k at the knee of the inertia curve (kneed), or None when there is no knee."""
    from kneed import KneeLocator

    points = sorted((c.k, c.inertia) for c in candidates if c.inertia is not None)
    if len(points) < 3:
        return None
    ks, inertia = zip(*points)
    knee = KneeLocator(list(ks), list(inertia), curve="convex", direction="decreasing").knee
    return int(knee) if knee is not None else None
