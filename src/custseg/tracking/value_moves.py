"""Value moved between segments: for the customers in both snapshots, the value they carried
from one segment into another, what lapsing segments took in and what loyal ones gained.

The rules, stated once:

* **The value** of a customer is its CLV where both snapshots have one (the previous run's
  ``segments.csv`` column ``clv``; the new snapshot scored with the model's fitted value
  parameters, `custseg.valuing.stored`), else its spend of the last year (``year_spend``)
  where both have that; without either, tracking shows no value and ranks moves by
  customers (`value_basis`).
* **Value moved** from segment A to segment B is the sum of the value that the customers in
  A before and in B now had *before* (what was at stake when they moved), with their value
  now beside it.
* **Lapsing segments** are those whose name reads as lapsed or at risk (a negative
  `custseg.tracking.moves.value_of`: "Lapsed", "lapsing", "at risk", "low spending", "infrequent",
  "inactive", ...) and, among those whose name says neither, those where more than
  `LAPSING_AT_RISK_SHARE` of the new snapshot's customers are at risk (P(alive) below
  `custseg.valuing.at_risk.AT_RISK_BELOW`, scored with the model's parameters): the name
  the marketer reads comes first. **Loyal segments** are those whose name reads as worth
  more (a positive `value_of`: "loyal", "high spending", "frequent buyers", "champions").
  Value lost to lapsing segments is that of the customers who moved into a lapsing segment
  from one that is not; value gained by loyal segments that of those who moved into a loyal
  segment from one that is not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..valuing.at_risk import at_risk_mask
from .moves import VALUE_WORDS_OF, value_of

__all__ = ["LAPSING_AT_RISK_SHARE", "VALUE_BASES", "move_values", "rfm_move_values", "segment_move_values", "value_basis", "value_block",
           "value_sentences"]

#: Value columns tracking compares, in order of preference.
VALUE_BASES = ("clv", "year_spend")
#: Share of a segment's customers at risk (new snapshot) above which the segment reads as lapsing.
LAPSING_AT_RISK_SHARE = 0.5


def value_basis(before: dict, after: dict) -> str | None:
    """The value both snapshots have (`VALUE_BASES`: ``clv``, else ``year_spend``), or None.

    Each snapshot's ``value`` maps a column to one number per customer (NaN where unknown).

    Examples
    --------
    >>> has = {"value": {"clv": np.array([1.0]), "year_spend": np.array([2.0])}}
    >>> spend_only = {"value": {"clv": np.array([np.nan]), "year_spend": np.array([5.0])}}
    >>> value_basis(has, has), value_basis(has, spend_only), value_basis(has, {"value": {}})
    ('clv', 'year_spend', None)
    """
    for name in VALUE_BASES:
        both = [snapshot.get("value", {}).get(name) for snapshot in (before, after)]
        if all(v is not None and np.isfinite(np.asarray(v, dtype=float)).any() for v in both):
            return name
    return None


def move_values(rows: np.ndarray, columns: np.ndarray, weights: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Sum of ``weights`` (NaN counts as 0) per (row code, column code): value by move.

    Examples
    --------
    >>> move_values(np.array([0, 0, 1]), np.array([1, 1, 0]), np.array([10.0, np.nan, 5.0]), (2, 2)).tolist()
    [[0.0, 10.0], [5.0, 0.0]]
    """
    flat = np.bincount(rows * shape[1] + columns, weights=np.nan_to_num(np.asarray(weights, dtype=float)),
                       minlength=shape[0] * shape[1])
    return flat.reshape(shape)


def _segment_kinds(names: list[str], after_codes: np.ndarray, p_alive) -> tuple[np.ndarray, np.ndarray]:
    """Per segment (code): lapsing (by name, or by the at-risk share now where the name says
    neither) and loyal (by name)."""
    m = len(names)
    by_name = np.array([value_of(n) for n in names])
    lapsing = by_name < 0
    if p_alive is not None and len(after_codes):
        risk = at_risk_mask(p_alive).astype(float)
        counts = np.bincount(after_codes, minlength=m)
        shares = np.divide(np.bincount(after_codes, weights=risk, minlength=m), counts,
                           out=np.zeros(m), where=counts > 0)
        lapsing |= (by_name == 0) & (shares > LAPSING_AT_RISK_SHARE)
    return lapsing, by_name > 0


def value_block(joined: dict, states: dict, before: dict, after: dict) -> dict | None:
    """The ``value`` block of tracking's summary: basis, totals, the value of every move
    between segments, value lost to lapsing segments and gained by loyal ones, with their
    sentences; None when the snapshots do not both have a value (`value_basis`).

    ``joined``, ``states``: `custseg.tracking.transitions.join_snapshots` and
    ``segment_states``; ``before`` and ``after`` the snapshots, with their ``value``.
    """
    basis = value_basis(before, after)
    if basis is None:
        return None
    after_of_before = joined["after_of_before"]
    m = len(states["after_names"])
    both = np.flatnonzero(after_of_before >= 0)
    rows = states["before_codes"][both]
    columns = states["after_codes"][after_of_before[both]]
    then = np.asarray(before["value"][basis], dtype=float)[both]
    now = np.asarray(after["value"][basis], dtype=float)[after_of_before[both]]
    names = states["after_names"]
    lapsing, loyal = _segment_kinds(names, states["after_codes"], after["value"].get("p_alive"))
    moved = rows != columns
    into_lapsing = moved & lapsing[columns] & ~lapsing[rows]
    into_loyal = moved & loyal[columns] & ~loyal[rows]
    before_by_move = segment_move_values(joined, states, before["value"][basis])
    after_by_move = move_values(rows, columns, now, (m, m))
    counts = np.bincount(rows * m + columns, minlength=m * m).reshape(m, m)
    block = {
        "basis": basis,
        "customers": int(len(both)),
        "before": float(np.nansum(then)),
        "after": float(np.nansum(now)),
        "moved": _group(moved, then, now, None),
        "lost_to_lapsing": _group(into_lapsing, then, now, [n for n, flag in zip(names, lapsing) if flag]),
        "gained_by_loyal": _group(into_loyal, then, now, [n for n, flag in zip(names, loyal) if flag]),
        "moves": [
            {"from": states["before_names"][i], "to": names[j], "customers": int(counts[i, j]),
             "before": float(before_by_move[i, j]), "after": float(after_by_move[i, j])}
            for i, j in sorted(zip(*np.nonzero(counts * (1 - np.eye(m, dtype=int)))),
                               key=lambda ij: (-before_by_move[ij], -counts[ij], ij))
        ],
        "lapsing_at_risk_share": LAPSING_AT_RISK_SHARE,
    }
    block["sentences"] = value_sentences(block)
    return block


def _group(mask: np.ndarray, then: np.ndarray, now: np.ndarray, segments: list[str] | None) -> dict:
    out = {"customers": int(mask.sum()), "before": float(np.nansum(then[mask])), "after": float(np.nansum(now[mask]))}
    if segments is not None:
        out["segments"] = segments
    return out


def value_sentences(block: dict) -> list[str]:
    """The value moved in words, for the console and the report.

    Examples
    --------
    >>> block = {"basis": "clv", "moved": {"customers": 3, "before": 600.0, "after": 450.0},
    ...          "lost_to_lapsing": {"customers": 1, "before": 100.0, "after": 20.0, "segments": ["Lapsed"]},
    ...          "gained_by_loyal": {"customers": 0, "before": 0.0, "after": 0.0, "segments": []}}
    >>> for line in value_sentences(block):
    ...     print(line)
    3 customers who moved between segments carried 600 of CLV (450 now)
    1 customer with 100 of CLV (20 now) moved into lapsing segments (“Lapsed”)
    no customer moved into a loyal segment
    """
    words = VALUE_WORDS_OF[block["basis"]]
    moved = block["moved"]
    lines = [f"{_customers(moved['customers'])} who moved between segments carried "
             f"{_amount(moved['before'])} of {words} ({_amount(moved['after'])} now)"]
    for key, what, none in (("lost_to_lapsing", "lapsing segments", "no customer moved into a lapsing segment"),
                            ("gained_by_loyal", "loyal segments", "no customer moved into a loyal segment")):
        group = block[key]
        if not group["customers"]:
            lines.append(none)
            continue
        where = ", ".join(f"“{n}”" for n in group["segments"])
        lines.append(f"{_customers(group['customers'])} with {_amount(group['before'])} of {words} "
                     f"({_amount(group['after'])} now) moved into {what} ({where})")
    return lines


def segment_move_values(joined: dict, states: dict, values) -> np.ndarray:
    """Value (before) by move between segments of the customers in both snapshots, in the
    order of `custseg.tracking.transitions.segment_states` (m x m); ``values`` one per
    customer of the previous run, in its order."""
    after_of_before = joined["after_of_before"]
    both = np.flatnonzero(after_of_before >= 0)
    m = len(states["after_names"])
    return move_values(states["before_codes"][both], states["after_codes"][after_of_before[both]],
                       np.asarray(values, dtype=float)[both], (m, m))


def rfm_move_values(migration: pd.DataFrame, n_before: int, values, names: list[str]) -> np.ndarray:
    """Value (before) by RFM move of the customers in both snapshots: rows and columns the
    RFM segments ``names`` (the order of `custseg.tracking.transitions.rfm_transitions`);
    ``values`` one per customer of the previous run, in its order (the first ``n_before``
    rows of ``migration``).

    Examples
    --------
    >>> migration = pd.DataFrame({"status": ["moved", "kept", "gone", "new"],
    ...                           "rfm_segment_before": ["Champions", "Lost", "Lost", "new"],
    ...                           "rfm_segment_after": ["Lost", "Lost", "gone", "Champions"]})
    >>> rfm_move_values(migration, 3, np.array([10.0, 5.0, 7.0]), ["Champions", "Lost"]).tolist()
    [[0.0, 10.0], [0.0, 5.0]]
    """
    part = migration.iloc[:n_before]
    both = part["status"].astype(str).isin(["kept", "moved"]).to_numpy()
    rows = pd.Categorical(part["rfm_segment_before"].to_numpy()[both], categories=names).codes.astype("int64")
    columns = pd.Categorical(part["rfm_segment_after"].to_numpy()[both], categories=names).codes.astype("int64")
    return move_values(rows, columns, np.asarray(values, dtype=float)[both], (len(names), len(names)))


def _customers(n: int) -> str:
    return f"{n:,} customer{'s' if n != 1 else ''}"


def _amount(value: float) -> str:
    return f"{value:,.0f}"
