"""The statistics of a run's customers that drift is measured against: per segment its size,
mean and distance percentiles, written into ``model.json`` as its ``reference`` block."""

from __future__ import annotations

import numpy as np

from ..logs.rules import CALENDAR_FEATURES
from ..segmenting.scores import segment_spread


def calendar_columns(columns: list[str], transactions: bool) -> list[str]:
    """The model columns that grow with the calendar: a log's `CALENDAR_FEATURES` (days
    since the first purchase: every customer is older at a later date of the same log).

    A customer table's ages and tenures derived from dates are computed at the run's
    reference date for every later snapshot too (`custseg.preparing.clean.apply_cleaning`),
    so they do not grow; principal components (``PC1``, ...) mix every feature and are not
    named here.

    Examples
    --------
    >>> calendar_columns(["recency_days", "tenure_days"], transactions=True)
    ['tenure_days']
    >>> calendar_columns(["age", "tenure_days"], transactions=False)
    []
    """
    return [c for c in columns if transactions and c in CALENDAR_FEATURES]


def reference_statistics(matrix: np.ndarray, labels: np.ndarray, columns: list[str], *,
                         k_range: tuple[int, int], silhouette: float | None = None,
                         calendar: list[str] | tuple = ()) -> dict:
    """The statistics of the fitted customers that drift is measured against (model.json).

    O(k x d) numbers: per segment its size, its mean in the model matrix and the 95th and
    99th percentiles of its customers' distances to that mean; per model column the
    standard deviation of the old data; the k range and the run's silhouette.

    Parameters
    ----------
    matrix : ndarray of shape (n_customers, n_columns)
        The model matrix of the run.
    labels : ndarray of int
        The run's segments (-1: noise, counted but not described).
    columns : list of str
        Names of the matrix columns (`custseg.preparing.features.FeaturePlan.output_columns`).
    k_range : (int, int)
        The run's k range, reused by the refit.
    silhouette : float, optional
        The chosen segmentation's silhouette.
    calendar : list of str, optional
        Columns that grow with the calendar (`calendar_columns`): each segment then also
        gets ``steady_p95`` and ``steady_p99``, the percentiles of the distances over the
        other columns, and the result ``calendar_columns``.

    Returns
    -------
    dict
        ``{"customers", "columns", "sd", "k_range", "silhouette", "segments": [{"id", "size",
        "mean", "distance_p95", "distance_p99"}, ...]}``; the noise segment has only id and size.

    Examples
    --------
    >>> import numpy as np
    >>> matrix = np.array([[0.0], [2.0], [10.0], [12.0]])
    >>> ref = reference_statistics(matrix, np.array([0, 0, 1, 1]), ["x"], k_range=(2, 3))
    >>> [(s["id"], s["size"], s["mean"]) for s in ref["segments"]]
    [(0, 2, [1.0]), (1, 2, [11.0])]
    >>> ref["segments"][0]["distance_p99"]
    1.0
    """
    labels = np.asarray(labels)
    spread = segment_spread(matrix, labels)
    placed = labels >= 0
    distance = np.zeros(len(labels))
    distance[placed] = distances_to_centres(matrix, labels, spread.centres, placed)
    steady = [j for j, c in enumerate(columns) if c not in set(calendar)]
    steady_distance = None
    if calendar:
        steady_distance = np.zeros(len(labels))
        steady_distance[placed] = distances_to_centres(matrix[:, steady], labels, spread.centres[:, steady], placed)
    segments = []
    for segment in sorted(int(s) for s in np.unique(labels)):
        members = labels == segment
        item = {"id": segment, "size": int(members.sum())}
        if segment >= 0:
            p95, p99 = np.percentile(distance[members], [95, 99])
            item.update(mean=[float(v) for v in spread.centres[segment]],
                        distance_p95=float(p95), distance_p99=float(p99))
            if steady_distance is not None:
                p95, p99 = np.percentile(steady_distance[members], [95, 99])
                item.update(steady_p95=float(p95), steady_p99=float(p99))
        segments.append(item)
    extra = {"calendar_columns": [str(c) for c in calendar]} if calendar else {}
    return {
        "customers": int(len(labels)),
        "columns": [str(c) for c in columns],
        "sd": [float(v) for v in matrix.std(axis=0)] if len(matrix) else [0.0] * len(columns),
        "k_range": [int(k_range[0]), int(k_range[1])],
        "silhouette": None if silhouette is None or not np.isfinite(silhouette) else float(silhouette),
        "segments": segments,
        **extra,
    }


#: Rows per block when distances are computed: the temporaries stay a few MB.
_CHUNK = 1 << 16


def distances_to_centres(matrix: np.ndarray, labels: np.ndarray, centres: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Euclidean distance of each row where ``rows`` holds to ``centres[label]``, in blocks."""
    index = np.flatnonzero(rows)
    out = np.empty(len(index))
    for start in range(0, len(index), _CHUNK):
        block = index[start:start + _CHUNK]
        offset = matrix[block] - centres[labels[block]]
        out[start:start + _CHUNK] = np.sqrt(np.einsum("ij,ij->i", offset, offset))
    return out
