"""The fitted value models as the model file keeps them, and a new snapshot of a log scored
with them without refitting.

`StoredValue` holds what the scores need and nothing else, as plain numbers and words (the
model file is plain JSON, never pickled): the repeat-purchase model's name and parameters,
the Gamma-Gamma parameters (or, where Gamma-Gamma did not fit, the mean value per purchase
that stands in for one-time buyers), whether the log had money, the horizon, the discount
rate, the time unit and the days of the last-year spend. `StoredValue.score` evaluates the
run's own formulas (`custseg.valuing.scores.value_scores`) on a snapshot's histories, so
scoring the log that was fitted, as of the same date, gives the run's columns exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ModelError
from .customer_value import UNIT_DAYS, CustomerValue, history_from_features
from .models import TRANSACTION_MODELS, GammaGammaParams
from .scores import value_scores

__all__ = ["STORED_COLUMNS", "StoredValue", "stored_fits", "stored_value"]

#: The per-customer columns `StoredValue.score` returns (those of a run's segments.csv).
STORED_COLUMNS = ("p_alive", "expected_purchases", "expected_value_per_purchase", "clv", "year_spend")


@dataclass(frozen=True)
class StoredValue:
    """The value models of a run, as kept in ``model.json`` (its ``value`` block).

    Attributes
    ----------
    model : str
        The repeat-purchase model (``"mbg/nbd"``, ``"bg/nbd"``, ``"pareto/nbd"``).
    params : dict of str to float
        Its parameters, by name.
    money : bool
        Whether the log had money; without it the value columns are NaN.
    spend : dict of str to float or None
        Gamma-Gamma's ``p``, ``q``, ``gamma``; None without money or where it did not fit.
    observed_value : float or None
        Where Gamma-Gamma did not fit (``money`` and no ``spend``): each repeat buyer's own
        mean value stands in, and for one-time buyers this mean over the run's repeat buyers.
    horizon, horizon_days, discount, time_unit_days, year_days
        The horizon (its text and days), the annual discount rate, the models' time unit in
        days and the days of the last-year spend.

    Examples
    --------
    >>> stored = StoredValue("bg/nbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, money=True,
    ...                      spend={"p": 6.25, "q": 3.74, "gamma": 15.44})
    >>> StoredValue.from_dict(stored.to_dict()) == stored
    True
    >>> StoredValue.from_dict({**stored.to_dict(), "discount": -1})
    Traceback (most recent call last):
    ...
    custseg.errors.ModelError: value.discount must be a number from 0 to below 1, got -1
    """

    model: str
    params: dict
    money: bool
    spend: dict | None = None
    observed_value: float | None = None
    horizon: str = "12m"
    horizon_days: float = 365.25
    discount: float = 0.10
    time_unit_days: float = UNIT_DAYS
    year_days: int = 365

    def to_dict(self) -> dict:
        """The ``value`` block of the model file, plain values only."""
        return {
            "model": self.model, "params": dict(self.params), "money": self.money,
            "spend": None if self.spend is None else dict(self.spend), "observed_value": self.observed_value,
            "horizon": self.horizon, "horizon_days": self.horizon_days, "discount": self.discount,
            "time_unit_days": self.time_unit_days, "year_days": self.year_days,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "StoredValue":
        """Read a ``value`` block; raise `ModelError` naming the first field that is missing,
        of the wrong kind, not finite or out of range."""
        if not isinstance(data, dict):
            raise ModelError("value must be a table of the fitted value parameters")
        model = data.get("model")
        if model not in TRANSACTION_MODELS:
            raise ModelError(f"value.model must be one of {', '.join(TRANSACTION_MODELS)}, got {model!r}")
        money = data.get("money")
        if not isinstance(money, bool):
            raise ModelError(f"value.money must be true or false, got {money!r}")
        params = _positive_table(data.get("params"), "value.params", _names(TRANSACTION_MODELS[model]))
        spend = None
        if data.get("spend") is not None:
            spend = _positive_table(data["spend"], "value.spend", _names(GammaGammaParams))
        observed = None
        if money and spend is None:
            observed = _number(data.get("observed_value"), "value.observed_value", low=0.0, open_low=True)
        discount = _number(data.get("discount"), "value.discount", low=0.0, high=1.0)
        if not isinstance(data.get("horizon"), str):
            raise ModelError(f"value.horizon must be a text such as 12m, got {data.get('horizon')!r}")
        return cls(
            model=model, params=params, money=money, spend=spend, observed_value=observed,
            horizon=data["horizon"],
            horizon_days=_number(data.get("horizon_days"), "value.horizon_days", low=0.0, open_low=True),
            discount=discount,
            time_unit_days=_number(data.get("time_unit_days"), "value.time_unit_days", low=0.0, open_low=True),
            year_days=int(_number(data.get("year_days"), "value.year_days", low=0.0, open_low=True)),
        )

    @property
    def label(self) -> str:
        """The models in words, for messages: ``"MBG/NBD and Gamma-Gamma"``.

        Examples
        --------
        >>> StoredValue("pareto/nbd", {"r": 1.0, "alpha": 1.0, "s": 1.0, "beta": 1.0}, money=False).label
        'Pareto/NBD'
        """
        words = {"mbg/nbd": "MBG/NBD", "bg/nbd": "BG/NBD", "pareto/nbd": "Pareto/NBD"}[self.model]
        if self.spend is not None:
            return f"{words} and Gamma-Gamma"
        return f"{words} and each customer's own mean value" if self.money else words

    def score(self, customers: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
        """Every customer's `STORED_COLUMNS` from a log's customer table and its history
        columns (`custseg.logs.result.TransactionFeatures`), row by row, as of the snapshot's
        reference date, with the stored parameters (nothing is refitted).

        Examples
        --------
        >>> stored = StoredValue("bg/nbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, money=True,
        ...                      spend={"p": 6.25, "q": 3.74, "gamma": 15.44})
        >>> customers = pd.DataFrame({"id": ["a", "b"], "recency_days": [266.0, 56.0], "tenure_days": [266.0, 266.0]})
        >>> history = pd.DataFrame({"id": ["a", "b"], "purchase_days": [1.0, 3.0], "repeat_spend": [0.0, 80.0],
        ...                         "year_spend": [30.0, 110.0]})
        >>> scores = stored.score(customers, history)
        >>> scores["p_alive"].round(4).tolist(), scores["expected_value_per_purchase"].round(2).tolist()
        ([1.0, 0.73], [35.22, 39.14])
        """
        histories = history_from_features(customers, history)
        if self.time_unit_days != UNIT_DAYS:
            scale = UNIT_DAYS / self.time_unit_days
            histories = histories.assign(t_x=histories["t_x"] * scale, T=histories["T"] * scale)
        spend = None if self.spend is None else GammaGammaParams(**self.spend)
        per_purchase = None
        if self.money and spend is None:
            values = histories["mean_value"].to_numpy(float)
            repeat = (histories["x"].to_numpy(float) > 0) & np.isfinite(values)
            per_purchase = np.where(repeat, values, self.observed_value)
        scores = value_scores(TRANSACTION_MODELS[self.model](**self.params), histories,
                              horizon=self.horizon_days / self.time_unit_days, spend=spend,
                              discount=self.discount, unit_days=self.time_unit_days, per_purchase=per_purchase)
        scores["year_spend"] = history["year_spend"].to_numpy(float)
        return scores.reset_index(drop=True)


def stored_value(value: CustomerValue, histories: pd.DataFrame, money: bool) -> StoredValue | None:
    """What the model file keeps of a run's value step: its fitted parameters and options,
    and, where Gamma-Gamma did not fit, the mean value of the run's repeat buyers
    (``histories``: every customer the models were fitted on). None when the run scored no
    customer (the models could not be fitted).

    Examples
    --------
    >>> from custseg.valuing.customer_value import value_customers
    >>> history = pd.DataFrame({"x": [0.0, 2.0, 5.0, 1.0, 0.0, 3.0], "t_x": [0.0, 30.0, 5.0, 10.0, 0.0, 20.0],
    ...                         "T": [38.0, 38.0, 39.0, 20.0, 10.0, 25.0],
    ...                         "mean_value": [np.nan, 40.0, 20.0, 15.0, np.nan, 30.0]})
    >>> stored = stored_value(value_customers(history), history, money=True)
    >>> stored.model, sorted(stored.params), stored.horizon
    ('mbg/nbd', ['a', 'alpha', 'b', 'r'], '12m')
    """
    if not value.scores["p_alive"].notna().any():
        return None
    observed = None
    if money and not (value.spend is not None and value.spend.ok):
        means = histories["mean_value"].to_numpy(float)
        repeat = (histories["x"].to_numpy(float) > 0) & np.isfinite(means)
        observed = float(means[repeat].mean()) if repeat.any() else None
    return stored_fits(value.fit, value.spend, value.options, money=money, observed=observed)


def stored_fits(fit, spend, options, *, money: bool, observed: float | None) -> StoredValue | None:
    """What the model file keeps of fitted value models (``fit``, Gamma-Gamma ``spend``) and
    the step's ``options``; ``observed``: the mean value of the repeat buyers, which stands in
    where Gamma-Gamma did not fit. None when a log with money has neither.

    Examples
    --------
    >>> from custseg.valuing.customer_value import ValueOptions, value_customers
    >>> history = pd.DataFrame({"x": [0.0, 2.0, 5.0, 1.0, 0.0, 3.0], "t_x": [0.0, 30.0, 5.0, 10.0, 0.0, 20.0],
    ...                         "T": [38.0, 38.0, 39.0, 20.0, 10.0, 25.0]})
    >>> value = value_customers(history, money=False)
    >>> stored_fits(value.fit, None, ValueOptions(), money=False, observed=None).spend is None
    True
    """
    spend = spend if money and spend is not None and spend.ok else None
    if money and spend is None and observed is None:
        return None
    return StoredValue(
        model=fit.model, params={k: float(v) for k, v in fit.params.to_dict().items()}, money=money,
        spend=None if spend is None else {k: float(v) for k, v in spend.params.to_dict().items()},
        observed_value=None if spend is not None else observed, horizon=options.horizon,
        horizon_days=float(options.horizon_days), discount=float(options.discount), time_unit_days=UNIT_DAYS,
        year_days=int(options.year_days),
    )


def _names(params_class) -> tuple[str, ...]:
    return tuple(params_class.__dataclass_fields__)


def _positive_table(table, field: str, names: tuple[str, ...]) -> dict:
    """``{name: number}`` with exactly ``names``, each a positive finite number."""
    if not isinstance(table, dict) or set(table) != set(names):
        found = sorted(table) if isinstance(table, dict) else table
        raise ModelError(f"{field} must hold {', '.join(names)}, got {found!r}")
    return {name: _number(table[name], f"{field}.{name}", low=0.0, open_low=True) for name in names}


def _number(value, field: str, *, low: float, high: float | None = None, open_low: bool = False) -> float:
    """``value`` as a finite float in [low, high) (or (low, high) with ``open_low``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if open_low else value >= low) and (high is None or value < high)
    if not ok:
        if high is not None:
            rule = f"a number from {low:g} to below {high:g}"
        else:
            rule = "a positive finite number" if open_low else f"a finite number of at least {low:g}"
        raise ModelError(f"{field} must be {rule}, got {value!r}")
    return float(value)
