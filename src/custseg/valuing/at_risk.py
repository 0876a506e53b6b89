"""Value per segment and the value at risk: who is more likely gone than alive, what they spent
in the last year, and the frequency x recency matrices of P(alive) and expected purchases.

A customer is *at risk* when P(alive) < `AT_RISK_BELOW` (more likely gone than alive); the
*value at risk* is what those customers spent in the last year (``year_spend``,
`custseg.logs.rules.YEAR_DAYS` days before the reference date). A log without money counts the
value at risk in customers only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["AT_RISK_BELOW", "MATRIX_BINS", "TOP_AT_RISK", "at_risk_mask", "segment_values",
           "top_at_risk", "value_matrix"]

#: P(alive) below which a customer is more likely gone than alive.
AT_RISK_BELOW = 0.5
#: Customers listed with the most value at risk (the report's table).
TOP_AT_RISK = 20
#: Bins of each axis of the frequency x recency matrices, at most.
MATRIX_BINS = 12


def at_risk_mask(p_alive) -> np.ndarray:
    """True where P(alive) < `AT_RISK_BELOW` (False where it is unknown).

    Examples
    --------
    >>> at_risk_mask([0.2, 0.5, np.nan, 0.9]).tolist()
    [True, False, False, False]
    """
    p = np.asarray(p_alive, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(p, nan=1.0) < AT_RISK_BELOW


def segment_values(frame: pd.DataFrame, money: bool) -> list[dict]:
    """Per segment (in id order): customers, mean P(alive), expected purchases and CLV with
    their shares, and the customers at risk with the value at risk.

    ``frame`` has ``segment``, ``p_alive``, ``expected_purchases``, ``clv`` and
    ``year_spend``; without ``money`` the CLV and value at risk are None.

    Examples
    --------
    >>> frame = pd.DataFrame({"segment": [0, 0, 1], "p_alive": [0.2, 0.9, 0.4],
    ...                       "expected_purchases": [0.5, 3.0, 1.5], "clv": [10.0, 60.0, 30.0],
    ...                       "year_spend": [100.0, 50.0, 20.0]})
    >>> [(s["segment"], s["at_risk_customers"], s["value_at_risk"], s["share_of_clv"])
    ...  for s in segment_values(frame, money=True)]
    [(0, 1, 100.0, 0.7), (1, 1, 20.0, 0.3)]
    """
    total_clv = float(frame["clv"].sum()) if money else None
    total_purchases = float(frame["expected_purchases"].sum())
    risk = frame.assign(at_risk=at_risk_mask(frame["p_alive"]))
    segments = []
    for label, rows in risk.groupby("segment", sort=True):
        clv = float(rows["clv"].sum()) if money else None
        purchases = float(rows["expected_purchases"].sum())
        segments.append({
            "segment": int(label),
            "customers": int(len(rows)),
            "mean_p_alive": float(rows["p_alive"].mean()),
            "expected_purchases": purchases,
            "share_of_expected_purchases": purchases / total_purchases if total_purchases else None,
            "clv": clv,
            "share_of_clv": clv / total_clv if money and total_clv else None,
            "at_risk_customers": int(rows["at_risk"].sum()),
            "value_at_risk": float(rows.loc[rows["at_risk"], "year_spend"].sum()) if money else None,
        })
    return segments


def top_at_risk(frame: pd.DataFrame, money: bool, top: int = TOP_AT_RISK) -> list[dict]:
    """The ``top`` customers at risk with the most value at risk: the most spend in the last
    year (without money: the most repeat purchases), then the lowest P(alive), then the id.

    ``frame`` has ``id``, ``segment``, ``p_alive``, ``x`` and ``year_spend``.

    Examples
    --------
    >>> frame = pd.DataFrame({"id": ["a", "b", "c"], "segment": [0, 1, 1], "p_alive": [0.3, 0.1, 0.8],
    ...                       "x": [2.0, 5.0, 1.0], "year_spend": [40.0, 90.0, 500.0]})
    >>> [row["id"] for row in top_at_risk(frame, money=True)]
    ['b', 'a']
    """
    risk = frame[at_risk_mask(frame["p_alive"])].assign(id=lambda f: f["id"].astype(str))
    first = "year_spend" if money else "x"
    risk = risk.sort_values([first, "p_alive", "id"], ascending=[False, True, True], kind="stable").head(top)
    return [{
        "id": row.id, "segment": int(row.segment), "p_alive": float(row.p_alive),
        "repeat_purchases": int(row.x), "year_spend": float(row.year_spend) if money else None,
    } for row in risk.itertuples(index=False)]


def frequency_edges(x, bins: int = MATRIX_BINS) -> list[int]:
    """Edges of the frequency bins (repeat purchases): one per count while they fit in ``bins``,
    then widening geometrically; bin i holds e[i] <= x < e[i + 1].

    Examples
    --------
    >>> frequency_edges([0, 1, 3])
    [0, 1, 2, 3, 4]
    >>> frequency_edges([0, 100], bins=5)
    [0, 1, 5, 15, 39, 101]
    """
    top = int(np.nanmax(np.asarray(x, dtype=float))) if len(x) else 0
    if top + 1 <= bins:
        return list(range(top + 2))
    edges = np.unique(np.floor(np.geomspace(1, top + 2, bins + 1)).astype(int) - 1)
    return [int(e) for e in edges]


def value_matrix(x, t_x, T, p_alive, expected_purchases, bins: int = MATRIX_BINS, weights=None) -> dict | None:
    """Mean P(alive) and mean expected purchases by frequency (repeat purchases, columns) and
    recency (weeks from the first to the last purchase, rows; equal widths up to the oldest
    customer's age), with the customers in each cell; None when nothing was scored.

    Empty cells are None. ``weights`` (customers per row, default one each) lets a row stand
    for the customers sharing its history (the Spark engine's distinct histories).

    Examples
    --------
    >>> m = value_matrix([0, 1, 1, 2], [0.0, 2.0, 9.0, 9.5], [10.0] * 4, [0.5, 0.2, 0.9, 0.95], [0.1, 0.2, 1.0, 1.5],
    ...                  bins=2)
    >>> m["frequency_edges"], m["recency_edges"], m["customers"]
    ([0, 1, 3], [0.0, 5.0, 10.0], [[1, 1], [0, 2]])
    >>> m["p_alive"]
    [[0.5, 0.2], [None, 0.925]]
    """
    scored = np.isfinite(np.asarray(p_alive, dtype=float))
    if not scored.any():
        return None
    x, t_x = np.asarray(x, dtype=float)[scored], np.asarray(t_x, dtype=float)[scored]
    f_edges = frequency_edges(x, bins)
    oldest = float(np.max(np.asarray(T, dtype=float)[scored])) or 1.0
    r_edges = np.linspace(0.0, oldest, bins + 1)
    columns = np.searchsorted(f_edges, x, side="right") - 1
    rows = np.clip(np.searchsorted(r_edges, t_x, side="right") - 1, 0, bins - 1)
    cells = rows * (len(f_edges) - 1) + columns
    shape = (bins, len(f_edges) - 1)
    w = None if weights is None else np.asarray(weights, dtype=float)[scored]
    counts = np.bincount(cells, weights=w, minlength=shape[0] * shape[1]).astype(np.int64)
    return {
        "frequency_edges": f_edges,
        "recency_edges": [float(e) for e in r_edges],
        "customers": counts.reshape(shape).tolist(),
        "p_alive": _cell_means(cells, np.asarray(p_alive, dtype=float)[scored], counts, shape, w),
        "expected_purchases": _cell_means(cells, np.asarray(expected_purchases, dtype=float)[scored], counts, shape,
                                          w),
    }


def _cell_means(cells: np.ndarray, values: np.ndarray, counts: np.ndarray, shape: tuple, weights=None) -> list:
    sums = np.bincount(cells, weights=values if weights is None else values * weights, minlength=counts.size)
    means = [None if n == 0 else round(float(s / n), 6) for s, n in zip(sums, counts)]
    return [means[i * shape[1]:(i + 1) * shape[1]] for i in range(shape[0])]
