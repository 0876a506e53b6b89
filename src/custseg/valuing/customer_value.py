"""The value step of a log run: histories from the customer table, the models fitted, every
customer scored, and the summary per segment.

The default repeat-purchase model is MBG/NBD (`DEFAULT_MODEL`): on the CDNOW holdout it
predicts each customer's purchases as well as BG/NBD (correlation 0.627 against 0.626, best
log-likelihood of the three), fits as fast (analytic gradients), and does not carry BG/NBD's
flaw of calling every one-time buyer alive however long ago the purchase (P(alive) = 1).
Pareto/NBD predicted the CDNOW holdout best (correlation 0.630) but its fit evaluates two
hypergeometric functions per history without a gradient: 5-7 times slower, well past the
5 s budget at 1,000,000 customers (benchmarks/value.py).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..progress import ProgressCallback, no_progress
from .at_risk import (
    AT_RISK_BELOW,
    at_risk_mask,
    segment_values,
    top_at_risk,
    value_matrix,
)
from .fitting import Fit, fit_gamma_gamma, fit_transactions
from .scores import SCORE_COLUMNS, observed_value_per_purchase, value_scores

__all__ = ["CUSTOMER_COLUMNS", "DEFAULT_MODEL", "CustomerValue", "ValueOptions", "history_from_features", "value_customers"]

#: The repeat-purchase model of a run (see the module's notes for the measurements).
DEFAULT_MODEL = "mbg/nbd"
#: The models' time unit, in days: weeks, as in the published figures.
UNIT_DAYS = 7.0
#: Said when Gamma-Gamma does not fit and each customer's own mean purchase value stands in.
OBSERVED_VALUE_NOTE = ("the value per purchase is each customer's own mean repeat-purchase value "
                       "(the mean of all repeat buyers for one-time buyers)")
#: What `CustomerValue.customers` holds per scored customer.
CUSTOMER_COLUMNS = ("id", "x", "t_x", "T", "year_spend")


@dataclass(frozen=True)
class ValueOptions:
    """What the value step needs: the horizon (its text and days), the annual discount rate,
    the repeat-purchase model, the days of spend the value at risk counts (the log's
    ``year_spend``, `custseg.logs.rules.YEAR_DAYS`), and the holdout check (``--holdout`` as
    given and its length in days, None for auto and off; `custseg.valuing.holdout`)."""

    horizon: str = "12m"
    horizon_days: float = 365.25
    discount: float = 0.10
    model: str = DEFAULT_MODEL
    year_days: int = 365
    holdout: str = "auto"
    holdout_days: float | None = None


def history_from_features(customers: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """The models' histories (x, t_x, T in weeks, mean repeat value) from a log's customer
    table (``recency_days``, ``tenure_days``) and its history columns (``purchase_days``,
    ``repeat_spend``, `custseg.logs.rules.HISTORY_COLUMNS`), row by row.

    T counts from the first purchase to the reference date (by default the day after the
    log's last line).

    Examples
    --------
    >>> customers = pd.DataFrame({"id": ["a", "b"], "recency_days": [7.0, 14.0], "tenure_days": [28.0, 14.0]})
    >>> history = pd.DataFrame({"id": ["a", "b"], "purchase_days": [3.0, 1.0], "repeat_spend": [30.0, 0.0]})
    >>> history_from_features(customers, history).to_dict("list")
    {'x': [2.0, 0.0], 't_x': [3.0, 0.0], 'T': [4.0, 2.0], 'mean_value': [15.0, nan]}
    """
    x = history["purchase_days"].to_numpy(float) - 1.0
    tenure = customers["tenure_days"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_value = np.where(x > 0, history["repeat_spend"].to_numpy(float) / x, np.nan)
    return pd.DataFrame({
        "x": x,
        "t_x": (tenure - customers["recency_days"].to_numpy(float)) / UNIT_DAYS,
        "T": tenure / UNIT_DAYS,
        "mean_value": mean_value,
    })


@dataclass(frozen=True)
class CustomerValue:
    """Every customer's value scores and the fits behind them.

    Attributes
    ----------
    scores : DataFrame
        `custseg.valuing.scores.SCORE_COLUMNS`, one row per history, in its order.
    fit : Fit
        The repeat-purchase model.
    spend : Fit or None
        Gamma-Gamma; None for a log without money.
    options : ValueOptions
    customers : DataFrame, optional
        `CUSTOMER_COLUMNS` per row of ``scores``: the id, the history (x, t_x, T in weeks)
        and the purchase spend of the last year (``year_spend``, NaN without money), for the
        value at risk and the matrices.
    stored : StoredValue, optional
        What the model file keeps of the fits (`custseg.valuing.stored`), for ``assign``.
    holdout : dict, optional
        The holdout check (`custseg.valuing.holdout.holdout_check`), or None where the run has
        no purchase days to split (a customer table, Spark).
    """

    scores: pd.DataFrame
    fit: Fit
    spend: Fit | None
    options: ValueOptions
    customers: pd.DataFrame | None = None
    stored: object | None = None
    holdout: dict | None = None

    def summary(self, labels) -> dict:
        """The ``value`` block of summary.json for the customers scored with segment ``labels``
        (one per row of ``scores``): model, parameters, fit flags, horizon, discount, totals,
        per segment its share of the expected value, mean P(alive) and value at risk
        (`custseg.valuing.at_risk`), the customers with the most value at risk and the
        frequency x recency matrices (the last two need `customers`) and the holdout check."""
        money = self._valued()
        frame = self.frame(labels)
        total_clv = float(frame["clv"].sum()) if money else None
        at_risk = at_risk_mask(frame["p_alive"])
        known = self.customers is not None
        return {
            "model": self.fit.model,
            "fit": self.fit.to_dict(),
            "spend": None if self.spend is None else self.spend.to_dict(),
            "ok": bool(self.fit.ok and (self.spend is None or self.spend.ok)),
            "horizon": self.options.horizon,
            "horizon_days": self.options.horizon_days,
            "discount": self.options.discount,
            "time_unit_days": UNIT_DAYS,
            "customers": int(len(frame)),
            "expected_purchases": float(frame["expected_purchases"].sum()),
            "clv": total_clv,
            "mean_p_alive": float(frame["p_alive"].mean()) if len(frame) else None,
            "at_risk_below": AT_RISK_BELOW,
            "year_days": self.options.year_days,
            "at_risk_customers": int(at_risk.sum()),
            "value_at_risk": float(frame.loc[at_risk, "year_spend"].sum()) if money and known else None,
            "segments": self.segments(labels),
            "top_at_risk": top_at_risk(frame, money) if known else [],
            "matrix": None if not known else value_matrix(
                frame["x"], frame["t_x"], frame["T"], frame["p_alive"], frame["expected_purchases"]),
            "holdout": self.holdout,
        }

    def segments(self, labels) -> list[dict]:
        """Per segment (``labels``, one per scored customer) its customers, mean P(alive), share
        of the expected value and value at risk (`custseg.valuing.at_risk.segment_values`)."""
        return segment_values(self.frame(labels), self._valued() and self.customers is not None)

    def _valued(self) -> bool:
        """Whether the customers have a value: a log with money, and scores (by Gamma-Gamma,
        or each customer's own mean where it does not fit)."""
        return self.spend is not None and bool(self.scores["clv"].notna().any())

    def frame(self, labels) -> pd.DataFrame:
        """The scores with ``segment`` (``labels``) and, where known, each customer's ``id``,
        ``x``, ``t_x``, ``T`` and ``year_spend`` (NaN without `customers`)."""
        frame = self.scores.assign(segment=np.asarray(labels))
        extra = self.customers if self.customers is not None else pd.DataFrame(
            np.nan, index=frame.index, columns=list(CUSTOMER_COLUMNS))
        for name in CUSTOMER_COLUMNS:
            frame[name] = extra[name].to_numpy()
        return frame


def value_customers(history: pd.DataFrame, options: ValueOptions | None = None, *, money: bool = True,
                    on_progress: ProgressCallback | None = None) -> CustomerValue:
    """Fit the models on every history and score every customer.

    Parameters
    ----------
    history : DataFrame
        ``x``, ``t_x``, ``T`` (weeks) and ``mean_value`` (`history_from_features`).
    options : ValueOptions, optional
    money : bool, default=True
        False for a log without money: no Gamma-Gamma, the value columns NaN.
    on_progress : callable, optional

    Returns
    -------
    CustomerValue
        Its fits say (``ok``, ``warnings``) when they are not to be trusted; it does not raise
        for data that fit badly.

    Examples
    --------
    >>> history = pd.DataFrame({"x": [0.0, 2.0, 5.0, 1.0, 0.0, 3.0], "t_x": [0.0, 30.0, 5.0, 10.0, 0.0, 20.0],
    ...                         "T": [38.0, 38.0, 39.0, 20.0, 10.0, 25.0],
    ...                         "mean_value": [np.nan, 40.0, 20.0, 15.0, np.nan, 30.0]})
    >>> value = value_customers(history)
    >>> list(value.scores.columns), value.fit.model
    (['p_alive', 'expected_purchases', 'expected_value_per_purchase', 'clv'], 'mbg/nbd')
    """
    options = options or ValueOptions()
    progress = on_progress or no_progress
    progress("fitting the value models", 0, 2)
    fit = fit_transactions(options.model, history["x"], history["t_x"], history["T"])
    spend = fit_gamma_gamma(history["x"], history["mean_value"]) if money else None
    progress("scoring customer value", 1, 2)
    # Without a repeat purchase the data say nothing about rates or drop-out: no scores.
    usable = all(math.isfinite(v) for v in fit.params.to_dict().values()) and bool((history["x"] > 0).any())
    per_purchase = None
    if spend is not None and not spend.ok:
        # Gamma-Gamma does not fit: each customer's own mean stands in, and the fit says so.
        per_purchase = observed_value_per_purchase(history)
        spend = dataclasses.replace(spend, warnings=(*spend.warnings, OBSERVED_VALUE_NOTE))
    if usable:
        scores = value_scores(fit.params, history, horizon=options.horizon_days / UNIT_DAYS,
                              spend=None if spend is None or not spend.ok else spend.params,
                              discount=options.discount, unit_days=UNIT_DAYS, per_purchase=per_purchase)
    else:
        scores = pd.DataFrame(np.nan, index=history.index, columns=list(SCORE_COLUMNS))
    progress("customer value ready", 2, 2)
    return CustomerValue(scores, fit, spend, options)
