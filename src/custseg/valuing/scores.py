"""Per-customer value scores from fitted models: P(alive), expected purchases over a horizon,
expected value per purchase and the discounted customer lifetime value (CLV) over the horizon.

The formulas are evaluated once per distinct history (x, t_x, T) and spread back to the
customers, so scoring a million customers costs what their few distinct histories cost.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .fitting import collapse

__all__ = ["DAYS_PER_MONTH", "DAYS_PER_YEAR", "SCORE_COLUMNS", "clv_steps", "value_scores"]

#: Average days of a month and of a year (the CLV's steps and its discounting).
DAYS_PER_MONTH = 365.25 / 12.0
DAYS_PER_YEAR = 365.25
#: The per-customer columns that `value_scores` returns.
SCORE_COLUMNS = ("p_alive", "expected_purchases", "expected_value_per_purchase", "clv")


def clv_steps(horizon_days: float) -> int:
    """Months in a horizon (at least one): the CLV sums expected purchases month by month.

    Examples
    --------
    >>> clv_steps(365.25), clv_steps(90), clv_steps(10)
    (12, 3, 1)
    """
    return max(1, int(round(horizon_days / DAYS_PER_MONTH)))


def _discounted_purchases(params, x, t_x, T, horizon: float, unit_days: float, discount: float):
    """Expected purchases in each month of the horizon, discounted to today at the annual rate
    ``discount`` (a purchase at the end of month i is worth 1 / (1 + discount)^(i/12 years))."""
    steps = clv_steps(horizon * unit_days)
    total = np.zeros(len(x))
    before = np.zeros(len(x))
    for i in range(1, steps + 1):
        t = horizon * i / steps
        upto = params.expected_purchases(t, x, t_x, T)
        years = t * unit_days / DAYS_PER_YEAR
        total += (upto - before) / (1.0 + discount) ** years
        before = upto
    return total


def observed_value_per_purchase(history: pd.DataFrame, fill: float | None = None) -> np.ndarray:
    """Each customer's own mean repeat-purchase value, and for customers without a repeat
    purchase the mean over those with one (or ``fill``, that mean computed over more customers
    than ``history`` holds): the value per purchase when Gamma-Gamma does not fit (every
    customer spends about the same each time: its q <= 1, an infinite mean).

    Examples
    --------
    >>> history = pd.DataFrame({"x": [0.0, 2.0, 1.0], "mean_value": [float("nan"), 40.0, 20.0]})
    >>> observed_value_per_purchase(history).tolist()
    [30.0, 40.0, 20.0]
    >>> observed_value_per_purchase(history, fill=25.0).tolist()
    [25.0, 40.0, 20.0]
    """
    values = history["mean_value"].to_numpy(float)
    repeat = (history["x"].to_numpy(float) > 0) & np.isfinite(values)
    if fill is None:
        fill = float(values[repeat].mean()) if repeat.any() else np.nan
    return np.where(repeat, values, fill)


def value_scores(transactions, history: pd.DataFrame, *, horizon: float, spend=None,
                 discount: float = 0.10, unit_days: float = 7.0,
                 per_purchase: np.ndarray | None = None) -> pd.DataFrame:
    """P(alive), expected purchases over ``horizon``, expected value per purchase and CLV.

    Parameters
    ----------
    transactions : BetaGeoParams, ModifiedBetaGeoParams or ParetoNBDParams
        The fitted repeat-purchase model.
    history : DataFrame
        Columns ``x``, ``t_x``, ``T`` and (for value) ``mean_value``
        (`custseg.valuing.history`).
    horizon : float
        The horizon, in the history's time unit.
    spend : GammaGammaParams, optional
        The fitted value model; without it (a log without money) the value columns are NaN.
    per_purchase : ndarray, optional
        The value per purchase of each customer when there is no usable ``spend`` model
        (`observed_value_per_purchase`).
    discount : float, default=0.10
        Annual discount rate of the CLV.
    unit_days : float, default=7
        Days per time unit.

    Returns
    -------
    DataFrame
        `SCORE_COLUMNS`, in the rows' order of ``history``. The expected value per purchase
        of a customer without repeat purchases is the population mean (Gamma-Gamma's
        shrinkage with no data of its own).

    Examples
    --------
    >>> from custseg.valuing.models import BetaGeoParams, GammaGammaParams
    >>> history = pd.DataFrame({"x": [0.0, 2.0], "t_x": [0.0, 30.0], "T": [38.0, 38.0],
    ...                         "mean_value": [float("nan"), 40.0]})
    >>> scores = value_scores(BetaGeoParams(0.243, 4.414, 0.793, 2.426), history, horizon=52.0,
    ...                       spend=GammaGammaParams(6.25, 3.74, 15.44))
    >>> scores.round(3).to_dict("list")["expected_value_per_purchase"]
    [35.219, 39.14]
    """
    x = history["x"].to_numpy(float)
    (ux, ut, uT), _, back = collapse(x, history["t_x"], history["T"])
    p_alive = transactions.p_alive(ux, ut, uT)[back]
    expected = transactions.expected_purchases(horizon, ux, ut, uT)[back]
    discounted = _discounted_purchases(transactions, ux, ut, uT, horizon, unit_days, discount)[back]
    if spend is not None and all(math.isfinite(v) for v in spend.to_dict().values()):
        per_purchase = spend.expected_value(x, history["mean_value"].to_numpy(float))
    elif per_purchase is None:
        per_purchase = np.full(len(x), np.nan)
    return pd.DataFrame({
        "p_alive": p_alive,
        "expected_purchases": expected,
        "expected_value_per_purchase": per_purchase,
        "clv": discounted * per_purchase,
    }, index=history.index)
