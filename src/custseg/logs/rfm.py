"""RFM: the classic recency, frequency and monetary scores of each customer, and the named
RFM segments (`rfm_scores`); the one definition for both engines (the Spark engine counts
with ``rank()`` and scores with `rfm_from_worse`).

``r_score``, ``f_score`` and ``m_score`` are 1-5: ``1 + floor(5 * w / n)`` where ``w`` is the
number of customers with a strictly worse value (longer recency; lower frequency; lower
monetary) and ``n`` the number of customers. Ties get the same score; the result does not
depend on row order. ``rfm_score`` is the three digits (``"545"``). ``rfm_segment`` comes from
`RFM_GRID`, R against FM = floor((F + M) / 2 + 0.5) (round half up); every one of the 25 cells
has exactly one of the 11 names in `RFM_SEGMENTS`:

====  ====================  ====================  ====================  ===============  ===============
R     FM 1                  FM 2                  FM 3                  FM 4             FM 5
====  ====================  ====================  ====================  ===============  ===============
5     New Customers         Potential Loyalists   Potential Loyalists   Loyal Customers  Champions
4     Promising             Potential Loyalists   Potential Loyalists   Loyal Customers  Champions
3     About to Sleep        About to Sleep        Need Attention        Loyal Customers  Loyal Customers
2     Hibernating           Hibernating           At Risk               At Risk          Can't Lose Them
1     Lost                  Lost                  At Risk               At Risk          Can't Lose Them
====  ====================  ====================  ====================  ===============  ===============
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["RFM_GRID", "RFM_HIGHER_IS_BETTER", "RFM_SEGMENTS", "rfm_from_worse", "rfm_scores", "rfm_segment"]

RFM_SEGMENTS: dict[str, dict] = {
    "Champions": {
        "description": "Bought recently, buy often and spend the most.",
        "actions": ["Reward them: early access, loyalty perks", "Ask for reviews and referrals"],
    },
    "Loyal Customers": {
        "description": "Buy often and spend well; respond to promotions.",
        "actions": ["Upsell higher-value products", "Enrol them in a loyalty programme"],
    },
    "Potential Loyalists": {
        "description": "Recent customers with average frequency and spend.",
        "actions": ["Offer membership or a loyalty programme", "Recommend related products"],
    },
    "New Customers": {
        "description": "Bought very recently, but only once or for little.",
        "actions": ["Onboard them well: welcome series", "Make the second purchase easy"],
    },
    "Promising": {
        "description": "Recent shoppers who have not spent much yet.",
        "actions": ["Build brand awareness", "Offer a free trial or a small incentive"],
    },
    "Need Attention": {
        "description": "Average recency, frequency and spend; may be slipping.",
        "actions": ["Send limited-time offers", "Recommend products from their history"],
    },
    "About to Sleep": {
        "description": "Below-average recency, frequency and spend; will be lost without action.",
        "actions": ["Share popular products and discounts", "Reconnect with them"],
    },
    "At Risk": {
        "description": "Spent and bought fairly often, but not for a long time.",
        "actions": ["Send personalised win-back e-mails", "Offer renewals or helpful resources"],
    },
    "Can't Lose Them": {
        "description": "Used to buy often and spend the most, but have not returned for long.",
        "actions": ["Win them back with new products or strong offers", "Talk to them: find out why"],
    },
    "Hibernating": {
        "description": "Last purchase long ago; few orders and low spend.",
        "actions": ["Offer relevant products and special discounts", "Recreate brand value"],
    },
    "Lost": {
        "description": "Lowest recency, frequency and spend.",
        "actions": ["Try a reactivation campaign", "Otherwise stop spending on them"],
    },
}

#: R score -> segment name for FM = 1..5 (FM = floor((F + M) / 2 + 0.5)).
RFM_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("New Customers", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Champions"),
    4: ("Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Champions"),
    3: ("About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
    1: ("Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"),
}


def rfm_segment(r: int, f: int, m: int) -> str:
    """The RFM segment name of scores ``r``, ``f``, ``m`` (each 1-5), from `RFM_GRID`.

    Examples
    --------
    >>> rfm_segment(5, 5, 4), rfm_segment(1, 2, 1)
    ('Champions', 'Lost')
    """
    fm = (int(f) + int(m) + 1) // 2
    return RFM_GRID[int(r)][fm - 1]


#: Whether a higher value earns a higher RFM score, per RFM column.
RFM_HIGHER_IS_BETTER = {"recency_days": False, "frequency": True, "monetary": True}


def _worse(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """For each customer, how many customers have a strictly worse value."""
    n = values.size
    ordered = np.sort(values)
    if higher_is_better:
        return np.searchsorted(ordered, values, side="left")
    return n - np.searchsorted(ordered, values, side="right")


def rfm_from_worse(worse: dict[str, np.ndarray], n: int, index=None) -> pd.DataFrame:
    """The RFM scores of customers from, per column of `RFM_HIGHER_IS_BETTER`, how many of all
    ``n`` customers have a strictly worse value: the score is ``1 + floor(5 * worse / n)``,
    the segment `rfm_segment`. The one definition of both, for every engine (the Spark engine
    counts ``worse`` with ``rank()``).

    Returns
    -------
    DataFrame
        Columns ``r_score``, ``f_score``, ``m_score`` (int64), ``rfm_score`` (e.g. ``"545"``)
        and ``rfm_segment``.
    """
    r, f, m = (1 + (5 * np.asarray(worse[c], dtype="int64")) // n for c in RFM_HIGHER_IS_BETTER)
    out = pd.DataFrame({"r_score": r, "f_score": f, "m_score": m}, index=index)
    out["rfm_score"] = pd.Series([f"{a}{b}{c}" for a, b, c in zip(r, f, m)], index=out.index, dtype="str")
    out["rfm_segment"] = pd.Series(
        [rfm_segment(a, b, c) for a, b, c in zip(r, f, m)], index=out.index, dtype="str"
    )
    return out


def rfm_scores(customers: pd.DataFrame) -> pd.DataFrame:
    """R, F and M scores (1-5), the RFM code and the named RFM segment of each customer.

    Parameters
    ----------
    customers : DataFrame
        With columns ``recency_days``, ``frequency`` and ``monetary`` (no missing values).

    Returns
    -------
    DataFrame
        Same index as ``customers``; columns ``r_score``, ``f_score``, ``m_score`` (int),
        ``rfm_score`` (e.g. ``"545"``) and ``rfm_segment`` (a key of `RFM_SEGMENTS`).

    Examples
    --------
    >>> table = pd.DataFrame({"recency_days": [1, 30, 300], "frequency": [9, 2, 1],
    ...                       "monetary": [900.0, 50.0, 10.0]})
    >>> rfm_scores(table)[["rfm_score", "rfm_segment"]].values.tolist()
    [['444', 'Loyal Customers'], ['222', 'Hibernating'], ['111', 'Lost']]
    """
    needed = ["recency_days", "frequency", "monetary"]
    absent = [c for c in needed if c not in customers.columns]
    if absent:
        raise InputError(f"RFM needs the column(s) {', '.join(absent)}")
    out = pd.DataFrame(index=customers.index)
    if len(customers) == 0:
        for name in ("r_score", "f_score", "m_score"):
            out[name] = pd.Series(dtype="int64")
        out["rfm_score"] = pd.Series(dtype="str")
        out["rfm_segment"] = pd.Series(dtype="str")
        return out
    values = {c: customers[c].to_numpy(dtype="float64") for c in needed}
    for c, v in values.items():
        if np.isnan(v).any():
            raise InputError(f"RFM: {int(np.isnan(v).sum())} customer(s) have no {c}")
    worse = {c: _worse(values[c], better) for c, better in RFM_HIGHER_IS_BETTER.items()}
    return rfm_from_worse(worse, len(customers), customers.index)
