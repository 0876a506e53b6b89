"""Each customer's purchase history as the value models read it, from purchases
(customer, date, value): ``x`` repeat purchases, ``t_x`` the time of the last purchase and
``T`` the age at the reference date (both from the first purchase), and the mean value of the
repeat purchases; and the split of a log into a calibration and a holdout period.

Conventions (those of the BG/NBD paper and of ``lifetimes``): purchases on the same day are
one purchase (their values summed), so ``x`` is the number of distinct purchase days after the
first; times are in ``unit_days`` (7: weeks) and not rounded; the mean value leaves out the
first purchase (Gamma-Gamma models repeat purchases) and is NaN for a customer without repeat
purchases. Purchases dated after the reference date are not counted.

`history_from_transactions` is the plain NumPy version, the reference for tests; a log run
takes the same numbers from the query that builds the customer table (``purchase_days`` and
``repeat_spend``, `custseg.logs.rules`) through
`custseg.valuing.customer_value.history_from_features`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["HISTORY_COLUMNS", "calibration_and_holdout", "history_from_transactions"]

#: Columns of a history table, after ``customer``.
HISTORY_COLUMNS = ("x", "t_x", "T", "mean_value")


def _days(dates) -> np.ndarray:
    """Dates (any pandas-readable form) as whole days since 1970-01-01."""
    values = pd.to_datetime(pd.Series(dates), errors="coerce")
    if values.isna().any():
        raise InputError(f"{int(values.isna().sum()):,} purchase dates are missing or not dates")
    return values.to_numpy("datetime64[D]").astype(np.int64)


def _day_number(day) -> int:
    return int(np.datetime64(pd.Timestamp(day).date(), "D").astype(np.int64))


def _purchase_days(customers, days, values):
    """One row per (customer, day): customer codes, the customers' labels, days and summed values."""
    codes, labels = pd.factorize(pd.Series(customers), sort=True)
    key = codes.astype(np.int64) * (1 << 32) + (days - days.min() if len(days) else days)
    unique_key, inverse = np.unique(key, return_inverse=True)
    day_value = np.bincount(inverse, weights=values, minlength=len(unique_key))
    return unique_key >> 32, labels, days.min() + (unique_key & ((1 << 32) - 1)), day_value


def history_from_transactions(customers, dates, values=None, *, as_of, unit_days: float = 7.0) -> pd.DataFrame:
    """Per-customer history (x, t_x, T, mean value) at ``as_of`` from purchases.

    Parameters
    ----------
    customers, dates : array_like
        One entry per purchase line.
    values : array_like, optional
        Each line's value; without it ``mean_value`` is NaN.
    as_of : date or str
        Reference date: ``T`` = as_of - first purchase; later purchases are not counted.
    unit_days : float, default=7
        Days per time unit (7: weeks).

    Returns
    -------
    DataFrame
        ``customer`` (sorted) and `HISTORY_COLUMNS`, one row per customer with a purchase
        on or before ``as_of``.

    Examples
    --------
    >>> history_from_transactions(["a", "a", "a", "b"],
    ...                           ["2024-01-01", "2024-01-08", "2024-01-08", "2024-01-15"],
    ...                           [10.0, 4.0, 2.0, 7.0], as_of="2024-01-29").to_dict("list")
    {'customer': ['a', 'b'], 'x': [1.0, 0.0], 't_x': [1.0, 0.0], 'T': [4.0, 2.0], 'mean_value': [6.0, nan]}
    """
    days = _days(dates)
    money = np.zeros(len(days)) if values is None else np.asarray(values, dtype=float)
    keep = days <= _day_number(as_of)
    cust = np.asarray(pd.Series(customers))[keep]
    code, labels, day, value = _purchase_days(cust, days[keep], money[keep])
    first = np.full(len(labels), np.iinfo(np.int64).max)
    np.minimum.at(first, code, day)
    last = np.full(len(labels), np.iinfo(np.int64).min)
    np.maximum.at(last, code, day)
    n_days = np.bincount(code, minlength=len(labels))
    total = np.bincount(code, weights=value, minlength=len(labels))
    first_value = value[day == first[code]]
    x = (n_days - 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_value = np.where(x > 0, (total - first_value) / x, np.nan)
    if values is None:
        mean_value = np.full(len(labels), np.nan)
    return pd.DataFrame({
        "customer": np.asarray(labels),
        "x": x,
        "t_x": (last - first) / unit_days,
        "T": (_day_number(as_of) - first) / unit_days,
        "mean_value": mean_value,
    })


def calibration_and_holdout(customers, dates, values=None, *, calibration_end, observation_end,
                            unit_days: float = 7.0) -> pd.DataFrame:
    """History at ``calibration_end`` (customers who bought by then) and, per customer, the
    purchases of the holdout period (calibration_end, observation_end].

    Returns
    -------
    DataFrame
        As `history_from_transactions`, plus ``x_holdout`` (distinct purchase days in the
        holdout) and ``holdout_length`` (in ``unit_days``).

    Examples
    --------
    >>> table = calibration_and_holdout(["a", "a", "a", "b"],
    ...                                 ["2024-01-01", "2024-01-08", "2024-02-05", "2024-02-01"],
    ...                                 calibration_end="2024-01-29", observation_end="2024-02-26")
    >>> table[["customer", "x", "T", "x_holdout", "holdout_length"]].to_dict("list")
    {'customer': ['a'], 'x': [1.0], 'T': [4.0], 'x_holdout': [1.0], 'holdout_length': [4.0]}
    """
    start, end = _day_number(calibration_end), _day_number(observation_end)
    if end <= start:
        raise InputError(f"holdout end {observation_end} is not after the calibration end {calibration_end}")
    table = history_from_transactions(customers, dates, values, as_of=calibration_end, unit_days=unit_days)
    days = _days(dates)
    later = (days > start) & (days <= end)
    pairs = pd.DataFrame({"customer": np.asarray(pd.Series(customers))[later], "day": days[later]})
    counts = pairs.drop_duplicates().groupby("customer").size()
    table["x_holdout"] = table["customer"].map(counts).fillna(0).astype(float).to_numpy()
    table["holdout_length"] = (end - start) / unit_days
    return table
