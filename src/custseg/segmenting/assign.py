"""How a fitted segmentation puts a customer (a row of the model matrix) into a segment.

Every algorithm ends in one of three plain forms, so models save as numbers, not code:

- ``centroids``: the nearest segment centre (K-Means);
- ``nearest``: the segment of the nearest reference point (hierarchical: the customers
  or micro-cluster centres it was fitted on; HDBSCAN: its sampled customers, those it
  called noise taking the segment of their nearest placed one; DBSCAN: its core points),
  and noise (-1) when that point is farther than ``radius``;
- ``gaussian``: the most probable component of a Gaussian mixture (means in ``points``,
  Cholesky factors of the precisions and log weights beside them).

The labels of a run are defined by this rule too, so assigning the training data
reproduces the run's segments exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CHUNK = 65536
#: The k-d tree search is bounded just above ``radius`` (points beyond it are noise
#: anyway); the exact ``distance > radius`` test is applied to what it finds.
_BOUND_SLACK = 1e-6


@dataclass
class Assigner:
    """Nearest-centre or nearest-reference-point segment assignment."""

    kind: str                     # "centroids" or "nearest"
    points: np.ndarray            # (m, d) centres or reference points
    labels: np.ndarray            # (m,) segment of each point
    radius: float | None = None   # "nearest" only: farther than this is noise (-1)
    precisions_cholesky: np.ndarray | None = None   # "gaussian" only: (m, d, d)
    log_weights: np.ndarray | None = None           # "gaussian" only: (m,)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Segment of each row of ``matrix`` (int64; -1 is noise)."""
        if self.kind == "centroids":
            nearest = nearest_centre(matrix, self.points)
            return self.labels[nearest]
        if self.kind == "gaussian":
            return self.labels[most_probable_component(matrix, self.points, self.precisions_cholesky,
                                                       self.log_weights)]
        from scipy.spatial import cKDTree

        # Each query is exact whatever the number of threads; the bound only stops the
        # search early for customers with no reference point within the radius.
        bound = np.inf if self.radius is None else self.radius * (1 + _BOUND_SLACK)
        distance, nearest = cKDTree(self.points).query(matrix, k=1, distance_upper_bound=bound, workers=-1)
        found = nearest < len(self.points)      # nothing within the bound: index len(points)
        out = np.full(len(matrix), -1, dtype="int64")
        out[found] = self.labels[nearest[found]]
        if self.radius is not None:
            out[distance > self.radius] = -1
        return out

    def keep(self, mask: np.ndarray, labels: np.ndarray) -> None:
        """Keep the points (centres, components) where ``mask`` holds, relabelled ``labels``."""
        self.points, self.labels = self.points[mask], labels[mask]
        if self.kind == "gaussian":
            self.precisions_cholesky = self.precisions_cholesky[mask]
            self.log_weights = self.log_weights[mask]

    def to_dict(self) -> dict:
        """JSON-able form for the model file."""
        out = {
            "kind": self.kind,
            "points": self.points.tolist(),
            "labels": self.labels.tolist(),
            "radius": self.radius,
        }
        if self.kind == "gaussian":
            out["precisions_cholesky"] = self.precisions_cholesky.tolist()
            out["log_weights"] = self.log_weights.tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Assigner":
        """Inverse of `to_dict`."""
        points = np.asarray(data["points"], dtype="float64")
        labels = np.asarray(data["labels"], dtype="int64")
        if data["kind"] not in ("centroids", "nearest", "gaussian") or points.ndim != 2 or len(points) != len(labels):
            raise ValueError("inconsistent assigner")
        if data["kind"] != "gaussian":
            return cls(data["kind"], points, labels, data["radius"])
        factors = np.asarray(data["precisions_cholesky"], dtype="float64")
        log_weights = np.asarray(data["log_weights"], dtype="float64")
        if factors.shape != (len(points), points.shape[1], points.shape[1]) or log_weights.shape != (len(points),):
            raise ValueError("inconsistent assigner")
        return cls("gaussian", points, labels, None, factors, log_weights)


def nearest_centre(matrix: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre for each row.

    Uses ``|c|^2 - 2 x.c`` (the row's own ``|x|^2`` does not change the argmin), one
    matrix product per chunk of rows, so memory stays at chunk x centres whatever the
    number of customers, and 1,000,000 customers take a fraction of a second.
    """
    centres = np.asarray(centres, dtype="float64")
    half_norms = 0.5 * (centres**2).sum(axis=1)
    out = np.empty(len(matrix), dtype="int64")
    for start in range(0, len(matrix), _CHUNK):
        block = np.asarray(matrix[start:start + _CHUNK], dtype="float64")
        out[start:start + _CHUNK] = (half_norms - block @ centres.T).argmin(axis=1)
    return out


def most_probable_component(matrix: np.ndarray, means: np.ndarray, precisions_cholesky: np.ndarray,
                            log_weights: np.ndarray) -> np.ndarray:
    """Index of the Gaussian component with the highest posterior for each row.

    The log density of component j at x is ``log w_j + log det L_j - |(x - mu_j) L_j|^2 / 2``
    (the constant ``d log(2 pi) / 2`` is the same for all), with ``L_j`` the Cholesky
    factor of its precision matrix, as in scikit-learn's ``GaussianMixture``.
    """
    log_det = np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)
    out = np.empty(len(matrix), dtype="int64")
    for start in range(0, len(matrix), _CHUNK):
        block = np.asarray(matrix[start:start + _CHUNK], dtype="float64")
        scores = np.empty((len(block), len(means)))
        for j, (mean, factor) in enumerate(zip(means, precisions_cholesky)):
            y = block @ factor - mean @ factor
            scores[:, j] = log_weights[j] + log_det[j] - 0.5 * np.einsum("ij,ij->i", y, y)
        out[start:start + _CHUNK] = scores.argmax(axis=1)
    return out
