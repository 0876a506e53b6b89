"""The holdout check of a log run: the value model fitted on a calibration period and its
forecast of the last weeks of the log (the holdout) compared with what the customers did.

The split: the cut is the reference date minus the holdout; the customers of the check are
those whose first purchase is on or before the cut (customers who arrive later are not
forecast); their histories at the cut (x, t_x, T in weeks) are fitted, and for the holdout
(cut, reference date] the check compares

* the tracking forecast: week by week from the first purchase of the log to the reference
  date, each customer's expected repeat purchases since the first purchase
  (``expected_purchases_new``), summed, against the repeat purchases made (weekly and
  cumulative; ``cumulative_error_pct`` is the error of the cumulative forecast at the end of
  the holdout, the published CDNOW check);
* each customer's expected holdout purchases given the history at the cut
  (``expected_purchases``) against the purchases made: summed (``holdout_error_pct``), by
  calibration frequency (0, 1, ..., 7+), and their correlation across customers.

The automatic length (`AUTO_SHARE`, `AUTO_MAX_WEEKS`, `MIN_HOLDOUT_WEEKS`): a third of the span
from the log's first purchase to the reference date, in whole weeks, at most 39 weeks; a log
whose third is under 8 weeks (a span under 24 weeks) is not checked. A length given by the
user needs a span of at least twice the holdout (`MIN_SPAN_FACTOR`), in whole weeks. Either way the check is
skipped, with the reason, when the calibration period has fewer than `MIN_REPEAT_CUSTOMERS`
customers with a repeat purchase or the holdout fewer than `MIN_HOLDOUT_PURCHASES` purchases
by the customers of the check. The calibration fit takes a seeded sample of at most
`FIT_SAMPLE` customers. The verdict is `custseg.valuing.verdict`'s.

The check is computed from counts (`HoldoutCounts`: the customers per distinct history at the
cut and the repeat purchases per day), never a row per purchase: one machine gets them from
its purchase table (`purchase_counts`), the Spark engine from group-bys
(`custseg.engines.spark.value.holdout_on_spark`), and both run `holdout_from_counts`.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .fitting import fit_transactions
from .verdict import holdout_purchase_change, new_customer_trend, verdict

__all__ = [
    "AUTO_MAX_WEEKS",
    "AUTO_SHARE",
    "FIT_SAMPLE",
    "FREQUENCY_CAP",
    "MIN_HOLDOUT_PURCHASES",
    "MIN_HOLDOUT_WEEKS",
    "MIN_REPEAT_CUSTOMERS",
    "MIN_SPAN_FACTOR",
    "HISTORY_KEY",
    "HoldoutCounts",
    "calibration_histories",
    "distinct_histories",
    "holdout_check",
    "holdout_days",
    "holdout_from_counts",
    "holdout_window",
    "purchase_counts",
]

#: The automatic holdout: this share of the log's span ...
AUTO_SHARE = 1.0 / 3.0
#: ... in whole weeks, at most this many (the published CDNOW holdout) ...
AUTO_MAX_WEEKS = 39
#: ... and at least this many, or no check.
MIN_HOLDOUT_WEEKS = 8
#: A holdout the user gave needs a span of at least this many times its length.
MIN_SPAN_FACTOR = 2.0
#: Customers with a repeat purchase in the calibration period needed to fit the model.
MIN_REPEAT_CUSTOMERS = 20
#: Purchases in the holdout, by the customers of the check, needed to judge the forecast.
MIN_HOLDOUT_PURCHASES = 50
#: Calibration frequencies shown one by one; higher ones together ("7+").
FREQUENCY_CAP = 7
#: The calibration fit takes at most this many customers of the check (a seeded sample, the
#: same every run): parameters from 200,000 histories are as good as from all, and the check
#: stays a fraction of the value step at 1,000,000 customers. The forecasts cover everyone.
FIT_SAMPLE = 200_000
#: Seed of that sample.
SAMPLE_SEED = 0
#: Days per week, the models' time unit.
WEEK_DAYS = 7


def holdout_days(option: str, length: float | None, span_days: int) -> tuple[int | None, str | None]:
    """The holdout in whole days for a log spanning ``span_days``, or None and why not.

    Parameters
    ----------
    option : str
        ``"auto"``, ``"off"`` or the length as given (``"26w"``).
    length : float or None
        The given length in days (`custseg.settings.parse_holdout`); None for auto and off.
    span_days : int
        Days from the log's first purchase to the reference date.

    Examples
    --------
    >>> holdout_days("auto", None, 546), holdout_days("auto", None, 900)
    ((182, None), (273, None))
    >>> holdout_days("auto", None, 120)[1]
    'the log spans 120 days (17 weeks); the automatic holdout needs at least 24 weeks'
    >>> holdout_days("26w", 182.0, 300)[1]
    'the log spans 300 days (43 weeks), less than twice the 26w holdout (182 days)'
    """
    weeks = span_days / WEEK_DAYS
    if option == "off":
        return None, "--holdout off"
    if length is None:
        chosen = min(AUTO_MAX_WEEKS, math.floor(span_days * AUTO_SHARE / WEEK_DAYS))
        if chosen < MIN_HOLDOUT_WEEKS:
            needed = math.ceil(MIN_HOLDOUT_WEEKS / AUTO_SHARE)
            return None, (f"the log spans {span_days:,} days ({weeks:.0f} weeks); the automatic holdout "
                          f"needs at least {needed} weeks")
        return chosen * WEEK_DAYS, None
    days = int(round(length))
    # In whole weeks: CDNOW's 39 + 39 weeks from 1997-01-01 to 1998-06-30 span 545 days, not 546.
    if round(weeks) < MIN_SPAN_FACTOR * days / WEEK_DAYS:
        return None, (f"the log spans {span_days:,} days ({weeks:.0f} weeks), less than twice the "
                      f"{option} holdout ({days:,} days)")
    return days, None


def holdout_window(log_start: int | None, as_of: datetime.date, option: str,
                   length: float | None) -> tuple[tuple[int, int] | None, str | None]:
    """The cut and the end (days since 1970-01-01) of the holdout of a log whose first purchase
    is on day ``log_start`` (None: no purchase), or None and why not (`holdout_days`).

    Examples
    --------
    >>> holdout_window(19000, datetime.date(2023, 3, 1), "auto", None)   # 417 days: a third is 19 whole weeks
    ((19284, 19417), None)
    >>> holdout_window(None, datetime.date(2023, 3, 1), "auto", None)[1]
    'the log spans 0 days (0 weeks); the automatic holdout needs at least 24 weeks'
    """
    end = (as_of - datetime.date(1970, 1, 1)).days
    span = int(end - log_start) if log_start is not None else 0
    length_days, why = holdout_days(option, length, span)
    if why is not None:
        return None, why
    return (end - length_days, end), None


@dataclass(frozen=True)
class HoldoutCounts:
    """What the holdout check needs of a log's purchases at a cut: counts, never a row per
    customer or per purchase, so that an engine can compute them where the data lives.

    Attributes
    ----------
    histories : DataFrame
        Per distinct history of the customers whose first purchase is on or before the cut:
        ``first`` (day of the first purchase), ``last`` (day of the last purchase on or before
        the cut), ``days`` (distinct purchase days on or before the cut), ``holdout`` (distinct
        purchase days in (cut, end]) and ``count`` (customers with that history), integers,
        sorted by the first four (`HISTORY_KEY`).
    repeat_days : DataFrame
        ``day`` and ``count``: the repeat purchases (purchase days after each such customer's
        first) made on each day, sorted by day.
    customers : int
        Customers with a purchase (those who arrive after the cut included).
    log_start : int
        The log's first purchase day.
    """

    histories: pd.DataFrame
    repeat_days: pd.DataFrame
    customers: int
    log_start: int


#: The columns that identify a distinct history at the cut (`HoldoutCounts.histories`).
HISTORY_KEY = ("first", "last", "days", "holdout")


def distinct_histories(histories: pd.DataFrame) -> pd.DataFrame:
    """`HoldoutCounts.histories` from rows of `HISTORY_KEY` columns, one per customer or, with
    a ``count`` column, already counted in any order and grouping (an engine's group-by): the
    customers per distinct history, sorted, as int64.

    Examples
    --------
    >>> per = pd.DataFrame({"first": [3, 0, 0], "last": [3, 7, 7], "days": [1, 2, 2], "holdout": [0, 1, 1]})
    >>> distinct_histories(per).to_dict("list")
    {'first': [0, 3], 'last': [7, 3], 'days': [2, 1], 'holdout': [1, 0], 'count': [2, 1]}
    >>> distinct_histories(per.assign(count=[4, 1, 2])).to_dict("list")["count"]
    [3, 4]
    """
    key = list(HISTORY_KEY)
    count = histories["count"].to_numpy(np.int64) if "count" in histories else np.ones(len(histories), np.int64)
    counted = histories[key].astype(np.int64).assign(count=count)
    return counted.groupby(key, sort=True)["count"].sum().reset_index().astype(np.int64)


def purchase_counts(rows: np.ndarray, days: np.ndarray, cut: int, end: int) -> HoldoutCounts:
    """`HoldoutCounts` of a log's purchases on one machine: ``rows`` and ``days`` one entry
    per distinct purchase day, sorted by customer then day (`custseg.logs.result.purchase_table`).

    Examples
    --------
    >>> rows, days = np.array([0, 0, 0, 1, 2]), np.array([0, 7, 20, 3, 16])
    >>> counts = purchase_counts(rows, days, cut=14, end=28)
    >>> counts.histories.to_dict("list"), counts.repeat_days.to_dict("list"), counts.customers
    ({'first': [0, 3], 'last': [7, 3], 'days': [2, 1], 'holdout': [1, 0], 'count': [1, 1]}, {'day': [7, 20], 'count': [1, 1]}, 3)
    """
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else np.empty(0, np.int64)
    first = days[starts]
    member = first <= cut
    in_calibration = np.add.reduceat((days <= cut).astype(np.int64), starts) if len(rows) else starts
    in_holdout = np.add.reduceat(((days > cut) & (days <= end)).astype(np.int64), starts) if len(rows) else starts
    # Days are sorted within a customer: the last calibration day is the n-th from the first.
    last = days[np.maximum(starts + in_calibration - 1, starts)]
    per_customer = pd.DataFrame({"first": first[member], "last": last[member], "days": in_calibration[member],
                                 "holdout": in_holdout[member]})
    # Each purchase day's customer's first day, or -1 when the customer is not one of the check.
    first_of_purchase = np.repeat(np.where(member, first, -1), np.diff(np.r_[starts, len(rows)]))
    repeat = days[(first_of_purchase >= 0) & (days > first_of_purchase)]
    repeat_day, repeat_count = np.unique(repeat, return_counts=True)
    return HoldoutCounts(distinct_histories(per_customer),
                         pd.DataFrame({"day": repeat_day.astype(np.int64), "count": repeat_count.astype(np.int64)}),
                         int(len(starts)), int(days.min()) if len(days) else 0)


def calibration_histories(histories: pd.DataFrame, cut: int) -> pd.DataFrame:
    """The models' histories at the cut (x, t_x, T in weeks) and the holdout purchase days
    ``x_holdout`` of `HoldoutCounts.histories`, with their ``first`` and ``count``.

    Examples
    --------
    >>> histories = pd.DataFrame({"first": [0, 3], "last": [7, 3], "days": [2, 1], "holdout": [1, 0], "count": [1, 1]})
    >>> calibration_histories(histories, cut=14).to_dict("list")
    {'first': [0, 3], 'x': [1.0, 0.0], 't_x': [1.0, 0.0], 'T': [2.0, 1.5714285714285714], 'x_holdout': [1.0, 0.0], 'count': [1, 1]}
    """
    first = histories["first"].to_numpy(np.int64)
    return pd.DataFrame({
        "first": first,
        "x": (histories["days"].to_numpy(np.int64) - 1).astype(float),
        "t_x": (histories["last"].to_numpy(np.int64) - first) / WEEK_DAYS,
        "T": (cut - first) / WEEK_DAYS,
        "x_holdout": histories["holdout"].to_numpy(np.int64).astype(float),
        "count": histories["count"].to_numpy(np.int64),
    })


def _week_ends(start: int, cut: int, end: int) -> np.ndarray:
    """Week boundaries that put the cut on one: from the first boundary on or after ``start``
    to ``end`` (the last week shorter when the holdout is not whole weeks)."""
    before = (cut - start) // WEEK_DAYS
    after = math.ceil((end - cut) / WEEK_DAYS)
    ends = cut + WEEK_DAYS * np.arange(-before, after + 1)
    return np.minimum(ends, end)


def _tracking(params, table: pd.DataFrame, repeat_days: pd.DataFrame, cut: int, end: int) -> dict:
    """Weekly and cumulative repeat purchases of the customers of the check, made and
    forecast, at each week's end (`_week_ends`), and how their pace changed during the
    holdout (`custseg.valuing.verdict.holdout_purchase_change`)."""
    start = int(table["first"].min())
    ends = _week_ends(start, cut, end)
    # Repeat purchases made up to each day from the first (a running count).
    day = repeat_days["day"].to_numpy(np.int64)
    by_day = np.cumsum(np.bincount(day - start, weights=repeat_days["count"].to_numpy(np.int64),
                                   minlength=end - start + 1).astype(np.int64))
    made = by_day[ends - start].astype(float)
    # E[X(t)] once per whole day of age, then summed over the first-purchase days (cohorts).
    expected = np.asarray(params.expected_purchases_new(np.arange(end - start + 1) / WEEK_DAYS), dtype=float)
    size = np.bincount(table["first"].to_numpy() - start, weights=table["count"].to_numpy(np.int64)).astype(np.int64)
    cohort = np.flatnonzero(size) + start
    size = size[size > 0]
    age = ends[:, None] - cohort[None, :]
    forecast = (np.where(age > 0, expected[np.clip(age, 0, None)], 0.0) * size).sum(axis=1)
    return {
        "week_end": [_iso(day) for day in ends],
        "cut": _iso(cut),
        "cumulative_actual": made.tolist(),
        "cumulative_predicted": forecast.tolist(),
        "weekly_actual": np.diff(made, prepend=0.0).tolist(),
        "weekly_predicted": np.diff(forecast, prepend=0.0).tolist(),
    }, holdout_purchase_change(by_day, start, cut, end)


def _by_frequency(x: np.ndarray, actual: np.ndarray, predicted: np.ndarray, count: np.ndarray) -> dict:
    """Mean holdout purchases made and forecast per calibration frequency 0, 1, ..., 7+, over
    the customers (``count`` per row)."""
    group = np.minimum(x, FREQUENCY_CAP).astype(int)
    size = np.bincount(group, weights=count, minlength=FREQUENCY_CAP + 1).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        made = np.bincount(group, weights=actual * count, minlength=FREQUENCY_CAP + 1) / size
        forecast = np.bincount(group, weights=predicted * count, minlength=FREQUENCY_CAP + 1) / size
    shown = size > 0
    labels = [str(k) for k in range(FREQUENCY_CAP)] + [f"{FREQUENCY_CAP}+"]
    return {
        "frequency": [label for label, s in zip(labels, shown) if s],
        "customers": size[shown].tolist(),
        "actual": made[shown].tolist(),
        "predicted": forecast[shown].tolist(),
    }


def _correlation(predicted: np.ndarray, actual: np.ndarray, count: np.ndarray) -> float | None:
    """The correlation across customers (``count`` per row) of forecast and made purchases;
    None when either is constant."""
    covariance = np.cov(predicted, actual, fweights=count)
    if not (covariance[0, 0] > 0 and covariance[1, 1] > 0):
        return None
    return float(covariance[0, 1] / math.sqrt(covariance[0, 0] * covariance[1, 1]))


def _iso(day: int) -> str:
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=int(day))).isoformat()


def _percent_error(predicted: float, actual: float) -> float | None:
    return None if actual <= 0 else 100.0 * (predicted - actual) / actual


def _skip_for_data(table: pd.DataFrame, cut: int) -> str | None:
    """Why the split leaves too little to fit or to judge, or None."""
    count = table["count"].to_numpy(np.int64)
    repeaters = int(count[table["x"].to_numpy() > 0].sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        return (f"only {repeaters:,} customers bought again before the cut on {_iso(cut)} "
                f"(at least {MIN_REPEAT_CUSTOMERS} are needed to fit the model)")
    purchases = int((table["x_holdout"].to_numpy() * count).sum())
    if purchases < MIN_HOLDOUT_PURCHASES:
        return (f"the customers who bought before the cut on {_iso(cut)} made only {purchases:,} purchases "
                f"in the holdout (at least {MIN_HOLDOUT_PURCHASES} are needed to judge the forecast)")
    return None


def _fit_and_forecast(table: pd.DataFrame, model: str, weeks: float):
    """The calibration fit (on a seeded sample of at most `FIT_SAMPLE` customers, drawn from
    the counts) and the expected purchases in the ``weeks`` after the cut of each history."""
    count = table["count"].to_numpy(np.int64)
    fitted, weights = table, count
    if count.sum() > FIT_SAMPLE:
        drawn = np.random.default_rng(SAMPLE_SEED).multivariate_hypergeometric(count, FIT_SAMPLE)
        fitted, weights = table[drawn > 0], drawn[drawn > 0]      # the histories not drawn cost nothing
    fit = fit_transactions(model, fitted["x"], fitted["t_x"], fitted["T"], weights=weights)
    predicted = fit.params.expected_purchases(weeks, table["x"].to_numpy(), table["t_x"].to_numpy(),
                                              table["T"].to_numpy())
    return fit, np.asarray(predicted, dtype=float)


def holdout_check(purchases: pd.DataFrame, as_of: datetime.date, *, option: str = "auto",
                  length: float | None = None, model: str = "mbg/nbd") -> dict:
    """The ``value.holdout`` block of summary.json for a log's purchases (on one machine;
    `holdout_from_counts` computes it).

    Parameters
    ----------
    purchases : DataFrame
        ``row`` (customer) and ``day`` (days since 1970-01-01), one row per distinct purchase
        day, sorted (`custseg.logs.result.purchase_table`).
    as_of : datetime.date
        The reference date: the holdout ends on it.
    option : str, default="auto"
        ``--holdout`` as given: ``"auto"``, ``"off"`` or a length (``"26w"``).
    length : float, optional
        That length in days (`custseg.settings.parse_holdout`).
    model : str, default="mbg/nbd"
        The repeat-purchase model (`custseg.valuing.models.TRANSACTION_MODELS`).

    Returns
    -------
    dict
        ``{"skipped": why}``, or the holdout, the cut, the calibration fit, the customers
        checked, the purchases made and forecast, the errors, the correlation, the tracking
        weeks, the comparison by frequency, the new-customer trend and the verdict
        (docs/summary.md).

    Examples
    --------
    >>> days = np.arange(0, 400, 10)
    >>> purchases = pd.DataFrame({"row": np.repeat(np.arange(30), len(days)), "day": np.tile(days, 30) + 19000})
    >>> check = holdout_check(purchases, datetime.date(2023, 3, 1), option="off")
    >>> check
    {'skipped': '--holdout off'}
    """
    rows, days = purchases["row"].to_numpy(np.int64), purchases["day"].to_numpy(np.int64)
    window, why = holdout_window(int(days.min()) if len(days) else None, as_of, option, length)
    if why is not None:
        return {"skipped": why}
    cut, end = window
    return holdout_from_counts(purchase_counts(rows, days, cut, end), as_of, cut, option=option, model=model)


def holdout_from_counts(counts: HoldoutCounts, as_of: datetime.date, cut: int, *, option: str = "auto",
                        model: str = "mbg/nbd") -> dict:
    """The ``value.holdout`` block from a log's `HoldoutCounts` at the ``cut`` of its
    `holdout_window` (any engine: one machine's `purchase_counts`, or Spark's group-bys).

    Examples
    --------
    >>> histories = pd.DataFrame({"first": [0], "last": [7], "days": [2], "holdout": [1], "count": [5]})
    >>> counts = HoldoutCounts(histories, pd.DataFrame({"day": [7, 20], "count": [5, 5]}), 5, 0)
    >>> holdout_from_counts(counts, datetime.date(1970, 1, 29), 14)["skipped"]
    'only 5 customers bought again before the cut on 1970-01-15 (at least 20 are needed to fit the model)'
    """
    end = (as_of - datetime.date(1970, 1, 1)).days
    table = calibration_histories(counts.histories, cut)
    why = _skip_for_data(table, cut)
    if why is not None:
        return {"skipped": why}
    fit, predicted = _fit_and_forecast(table, model, (end - cut) / WEEK_DAYS)
    x, actual, count = table["x"].to_numpy(), table["x_holdout"].to_numpy(), table["count"].to_numpy(np.int64)
    tracking, change = _tracking(fit.params, table, counts.repeat_days, cut, end)
    if not (np.isfinite(predicted).all() and np.isfinite(tracking["cumulative_predicted"]).all()):
        problem = fit.warnings[-1] if fit.warnings else "its forecasts are not numbers"
        return {"skipped": f"the {fit.model.upper()} fit on the calibration period up to {_iso(cut)} "
                           f"is degenerate ({problem}): no forecast to check"}
    made, forecast = float((actual * count).sum()), float((predicted * count).sum())
    members = int(count.sum())
    trend = new_customer_trend(np.repeat(table["first"].to_numpy(), count), counts.log_start, cut)
    block = {
        "holdout": option,
        "holdout_days": int(end - cut),
        "calibration_end": _iso(cut),
        "observation_end": as_of.isoformat(),
        "model": fit.model,
        "fit": fit.to_dict(),
        "customers": members,
        "new_in_holdout": int(counts.customers - members),
        "actual_purchases": made,
        "predicted_purchases": forecast,
        "holdout_error_pct": _percent_error(forecast, made),
        "cumulative_error_pct": _percent_error(tracking["cumulative_predicted"][-1], tracking["cumulative_actual"][-1]),
        "correlation": _correlation(predicted, actual, count),
        "weeks": tracking,
        "by_frequency": _by_frequency(x, actual, predicted, count),
        "new_customers": trend,
        "holdout_purchases_per_week": change,
    }
    return {**block, **verdict(block)}
