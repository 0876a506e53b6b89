"""The value step on Spark: the models fitted on the driver from aggregates, every customer
scored on the executors.

The local value step (`custseg.valuing.customer_value.value_customers`) fits the
repeat-purchase model on the distinct histories (x, t_x, T) weighted by their customers, and
Gamma-Gamma on the repeat buyers' (x, mean value). On Spark:

* **the repeat-purchase model** is fitted on the driver from Spark's count of customers per
  distinct (``purchase_days``, ``recency_days``, ``tenure_days``): a small table even for
  millions of customers (at most one row per pair of days in the log's span for each
  frequency), turned into (x, t_x, T) by the local engine's own
  `custseg.valuing.customer_value.history_from_features`, and fitted with these counts as
  weights: the same likelihood, summed in the same order, as the local fit.
* **Gamma-Gamma** needs each repeat buyer's own mean value (its likelihood does not collapse
  into counts): the repeat buyers' (``purchase_days``, ``repeat_spend``) come to the driver, at
  most `GAMMA_GAMMA_SAMPLE` of them (16 bytes each): all of them below that, in the local
  engine's order, so that the fit is the local one; above it a seeded sample of that size
  (the smallest hash of id and seed), which estimates three parameters well.
* **scoring** runs on the executors (``mapInPandas``): each batch of customers goes through
  `custseg.valuing.scores.value_scores`, the local engine's vectorised formulas, with only the
  fitted parameters shipped.
* **assign** (``custseg assign --engine spark``) scores each batch with a model file's
  parameters by `custseg.valuing.stored.StoredValue.score`, the code of ``custseg assign`` on
  one machine (`score_stored_on_executors`).
* **the holdout check** takes Spark's counts of the purchase days at the cut
  (`holdout_counts_on_spark`) into the local check's computation
  (`custseg.valuing.holdout.holdout_from_counts`).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...logs.result import history_table
from ...valuing.at_risk import AT_RISK_BELOW, TOP_AT_RISK, top_at_risk, value_matrix
from ...valuing.customer_value import (
    OBSERVED_VALUE_NOTE,
    UNIT_DAYS,
    CustomerValue,
    ValueOptions,
    history_from_features,
)
from ...valuing.fitting import Fit, fit_gamma_gamma, fit_transactions
from ...valuing.holdout import (
    HISTORY_KEY,
    HoldoutCounts,
    distinct_histories,
    holdout_from_counts,
    holdout_window,
)
from ...valuing.scores import SCORE_COLUMNS, observed_value_per_purchase, value_scores
from ...valuing.stored import STORED_COLUMNS, StoredValue, stored_fits
from .session import quiet_pyspark

__all__ = ["GAMMA_GAMMA_SAMPLE", "SCORED_COLUMNS", "DriverFit", "PopulationValue", "fit_on_driver",
           "holdout_counts_on_spark", "holdout_on_spark", "score_batch", "score_on_executors", "score_stored_batch", "score_stored_on_executors", "value_everyone",
           "value_on_spark"]

#: Most repeat buyers whose (x, mean value) come to the driver for the Gamma-Gamma fit.
GAMMA_GAMMA_SAMPLE = 1_000_000
#: The columns of the scored Spark table (`score_on_executors`).
SCORED_COLUMNS = ("id", "x", "t_x", "T", "year_spend", *SCORE_COLUMNS)
_KEY = ("purchase_days", "recency_days", "tenure_days")


#: Why a Spark result has no holdout check: its customers' purchase days were not kept
#: (`custseg.engines.spark.transactions.customers_from_transactions_spark` keeps them when asked).
SPARK_HOLDOUT_SKIPPED = ("the customers' purchase days were not kept on Spark "
                         "(customers_from_transactions_spark(..., purchase_days=True) keeps them)")


@dataclass(frozen=True)
class DriverFit:
    """What the driver fitted and the executors need: the models, and how to score.

    Attributes
    ----------
    fit : Fit
        The repeat-purchase model.
    spend : Fit or None
        Gamma-Gamma (None for a log without money), with `OBSERVED_VALUE_NOTE` among its
        warnings when it did not fit.
    fill : float or None
        Where Gamma-Gamma did not fit: the value per purchase of one-time buyers (the mean of
        the repeat buyers' own means); else None.
    usable : bool
        Whether the model can score (finite parameters, some repeat purchase); else every
        score is NaN, as on the local engine.
    options : ValueOptions
    """

    fit: Fit
    spend: Fit | None
    fill: float | None
    usable: bool
    options: ValueOptions


def _distinct_histories(history) -> pd.DataFrame:
    """Customers per distinct (purchase days, recency, tenure), as x, t_x, T and ``count``."""
    with quiet_pyspark():
        counts = history.groupBy(*_KEY).count().toPandas()
    counts = counts.astype({name: "float64" for name in _KEY})
    histories = history_from_features(counts, counts.assign(repeat_spend=np.nan))
    return histories.assign(count=counts["count"].to_numpy(np.int64))


def _repeat_buyers(history, columns, repeat: int, random_state: int, sample: int) -> pd.DataFrame:
    """x and mean value of the repeat buyers (all, in the local engine's order, when at most
    ``sample``; else a seeded sample of ``sample``)."""
    from pyspark.sql import functions as F

    frame = history.where("purchase_days > 1")
    if repeat > sample:
        frame = frame.orderBy(F.xxhash64("id", F.lit(int(random_state))), "id").limit(int(sample))
    with quiet_pyspark():
        rows = frame.select(F.col("id").alias("customer_id"), "purchase_days", "repeat_spend", "year_spend").toPandas()
    ordered = history_table(rows, columns)
    # history_from_features reads recency and tenure for t_x and T, which Gamma-Gamma does not use.
    times = pd.DataFrame({"recency_days": np.zeros(len(ordered)), "tenure_days": np.zeros(len(ordered))})
    return history_from_features(times, ordered)[["x", "mean_value"]]


def fit_on_driver(history, columns, options: ValueOptions, *, money: bool, random_state: int = 0,
                  sample: int = GAMMA_GAMMA_SAMPLE) -> DriverFit:
    """Fit the value models on the driver from aggregates of a Spark table of histories.

    Parameters
    ----------
    history : pyspark.sql.DataFrame
        `custseg.engines.spark.transactions.HISTORY_FRAME_COLUMNS`, one row per customer.
    columns : TransactionColumns
        The log's columns (the id's name and order, as the local engine's).
    options : ValueOptions
    money : bool
        False for a log without money: no Gamma-Gamma.
    random_state : int
        Seed of the Gamma-Gamma sample, when there are more than ``sample`` repeat buyers.
    sample : int
        Most repeat buyers brought to the driver.

    Returns
    -------
    DriverFit
    """
    distinct = _distinct_histories(history)
    fit = fit_transactions(options.model, distinct["x"], distinct["t_x"], distinct["T"], weights=distinct["count"])
    spend, fill = None, None
    if money:
        repeat = int(distinct.loc[distinct["x"] > 0, "count"].sum())
        buyers = _repeat_buyers(history, columns, repeat, random_state, sample)
        spend = fit_gamma_gamma(buyers["x"], buyers["mean_value"])
        if not spend.ok:
            # As the local step: each customer's own mean stands in, and the fit says so.
            fill = _mean_of_means(buyers)
            spend = dataclasses.replace(spend, warnings=(*spend.warnings, OBSERVED_VALUE_NOTE))
    usable = all(math.isfinite(v) for v in fit.params.to_dict().values()) and bool((distinct["x"] > 0).any())
    return DriverFit(fit, spend, fill, usable, options)


def _mean_of_means(buyers: pd.DataFrame) -> float:
    """The mean of the repeat buyers' own mean values (NaN without one), as
    `custseg.valuing.scores.observed_value_per_purchase` takes it."""
    values = buyers["mean_value"].to_numpy(float)
    finite = np.isfinite(values)
    return float(values[finite].mean()) if finite.any() else float("nan")


def score_batch(batch: pd.DataFrame, fitted: DriverFit) -> pd.DataFrame:
    """One batch of customers (`HISTORY_FRAME_COLUMNS`) scored with the driver's fit:
    `SCORED_COLUMNS`, by the local engine's formulas (`value_scores`).

    Examples
    --------
    >>> from custseg.valuing.fitting import Fit
    >>> from custseg.valuing.models import ModifiedBetaGeoParams
    >>> fit = Fit(ModifiedBetaGeoParams(0.5, 10.0, 0.8, 2.5), -1.0, 2, 2, True)
    >>> batch = pd.DataFrame({"id": ["a", "b"], "recency_days": [14.0, 7.0], "tenure_days": [70.0, 7.0],
    ...                       "purchase_days": [4.0, 1.0], "repeat_spend": [None, None], "year_spend": [None, None]})
    >>> scored = score_batch(batch, DriverFit(fit, None, None, True, ValueOptions()))
    >>> scored[["id", "x", "t_x", "T"]].to_dict("list")
    {'id': ['a', 'b'], 'x': [3.0, 0.0], 't_x': [8.0, 0.0], 'T': [10.0, 1.0]}
    >>> bool(scored["p_alive"].between(0, 1).all()), bool(scored["clv"].isna().all())
    (True, True)
    """
    history = history_from_features(batch, batch)
    options = fitted.options
    if fitted.usable:
        spend = fitted.spend
        per_purchase = None if fitted.fill is None else observed_value_per_purchase(history, fill=fitted.fill)
        scores = value_scores(fitted.fit.params, history, horizon=options.horizon_days / UNIT_DAYS,
                              spend=None if spend is None or not spend.ok else spend.params,
                              discount=options.discount, unit_days=UNIT_DAYS, per_purchase=per_purchase)
    else:
        scores = pd.DataFrame(np.nan, index=history.index, columns=list(SCORE_COLUMNS))
    out = pd.DataFrame({"id": batch["id"].to_numpy(), "x": history["x"], "t_x": history["t_x"], "T": history["T"],
                        "year_spend": batch["year_spend"].to_numpy(float)})
    for name in SCORE_COLUMNS:
        out[name] = scores[name].to_numpy(float)
    return out


def score_on_executors(history, fitted: DriverFit):
    """Every customer of a Spark table of histories scored on the executors (``mapInPandas``
    of `score_batch`): a Spark DataFrame of `SCORED_COLUMNS` (id as string, the rest double).
    Only ``fitted`` (a few parameters) travels to the executors."""
    return _scored_on_executors(history, functools.partial(score_batch, fitted=fitted), SCORED_COLUMNS[1:])


def _scored_on_executors(history, score, columns):
    """``history`` through ``score`` (a batch -> ``id`` and ``columns``) in ``mapInPandas``:
    ``id`` as string, ``columns`` as double."""
    schema = ", ".join(["`id` string", *(f"`{name}` double" for name in columns)])

    def run(batches):
        for batch in batches:
            yield score(batch.reset_index(drop=True))

    with quiet_pyspark():
        return history.mapInPandas(run, schema)


def score_stored_batch(batch: pd.DataFrame, stored: StoredValue) -> pd.DataFrame:
    """One batch of customers (`HISTORY_FRAME_COLUMNS`) scored with a model file's value
    parameters: ``id`` and `custseg.valuing.stored.STORED_COLUMNS`, by
    `custseg.valuing.stored.StoredValue.score` (the code of ``custseg assign`` on one machine).

    Examples
    --------
    >>> stored = StoredValue("bg/nbd", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}, money=True,
    ...                      spend={"p": 6.25, "q": 3.74, "gamma": 15.44})
    >>> batch = pd.DataFrame({"id": ["a", "b"], "recency_days": [266.0, 56.0], "tenure_days": [266.0, 266.0],
    ...                       "purchase_days": [1.0, 3.0], "repeat_spend": [0.0, 80.0], "year_spend": [30.0, 110.0]})
    >>> scored = score_stored_batch(batch, stored)
    >>> scored["id"].tolist(), scored["p_alive"].round(4).tolist(), scored["year_spend"].tolist()
    (['a', 'b'], [1.0, 0.73], [30.0, 110.0])
    """
    scores = stored.score(batch, batch)
    out = pd.DataFrame({"id": batch["id"].to_numpy()})
    for name in STORED_COLUMNS:
        out[name] = scores[name].to_numpy(float)
    return out


def score_stored_on_executors(history, stored: StoredValue):
    """Every customer of a Spark table of histories (`HISTORY_FRAME_COLUMNS`) scored on the
    executors with a model file's value parameters (``mapInPandas`` of `score_stored_batch`,
    nothing refitted): a Spark DataFrame of ``id`` (string) and `STORED_COLUMNS` (double).
    Only ``stored`` (a few numbers) travels to the executors."""
    return _scored_on_executors(history, functools.partial(score_stored_batch, stored=stored), STORED_COLUMNS)


def holdout_on_spark(options: ValueOptions, purchases=None, as_of: datetime.date | None = None,
                     history=None) -> dict:
    """The summary's ``value.holdout`` on Spark: the local engine's check
    (`custseg.valuing.holdout.holdout_from_counts`) from Spark's group-bys of the customers'
    purchase days (`holdout_counts_on_spark`); only counts come to the driver.

    Parameters
    ----------
    options : ValueOptions
    purchases : pyspark.sql.DataFrame, optional
        ``customer_id`` and ``day`` (days since 1970-01-01), one row per customer's distinct
        purchase day up to ``as_of`` (`custseg.logs.rules.customer_queries`' ``purchases``);
        None: the check is skipped, and the summary says why (`SPARK_HOLDOUT_SKIPPED`).
    as_of : datetime.date, optional
        The reference date (the end of the holdout).
    history : pyspark.sql.DataFrame, optional
        The customers of the run (``id``, `HISTORY_FRAME_COLUMNS`): the purchases of other
        customers are left out, as on one machine (`custseg.logs.result.purchase_table`).

    Examples
    --------
    >>> holdout_on_spark(ValueOptions(holdout="off"))
    {'skipped': '--holdout off'}
    """
    if options.holdout == "off":
        return {"skipped": "--holdout off"}
    if purchases is None:
        return {"skipped": SPARK_HOLDOUT_SKIPPED}
    from pyspark.sql import functions as F

    if history is not None:
        kept = history.select(F.col("id").alias("customer_id"))
        purchases = purchases.withColumn("customer_id", F.col("customer_id").cast("string")).join(
            kept, on="customer_id", how="left_semi")
    with quiet_pyspark():
        log_start = purchases.agg(F.min("day")).first()[0]
    window, why = holdout_window(None if log_start is None else int(log_start), as_of, options.holdout,
                                 options.holdout_days)
    if why is not None:
        return {"skipped": why}
    cut, end = window
    counts = holdout_counts_on_spark(purchases, cut, end, int(log_start))
    return holdout_from_counts(counts, as_of, cut, option=options.holdout, model=options.model)


def holdout_counts_on_spark(purchases, cut: int, end: int, log_start: int) -> HoldoutCounts:
    """`custseg.valuing.holdout.HoldoutCounts` of a Spark table of purchase days
    (``customer_id``, ``day``) at the ``cut``, by group-bys: per customer its first day, last
    and number of purchase days up to the cut and its purchase days in (cut, end]; then the
    customers per distinct such history, and the repeat purchases per day."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    day = F.col("day")
    per = purchases.groupBy("customer_id").agg(
        F.min(day).alias("first"), F.max(F.when(day <= cut, day)).alias("last"),
        F.count(F.when(day <= cut, day)).alias("days"),
        F.count(F.when((day > cut) & (day <= end), day)).alias("holdout")).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        members = per.where(F.col("first") <= cut)
        with quiet_pyspark():
            customers = per.count()
            histories = members.groupBy(*HISTORY_KEY).count().toPandas()
            repeat = purchases.join(members.select("customer_id", F.col("first").alias("_first")), on="customer_id")
            days = repeat.where(day > F.col("_first")).groupBy("day").count().toPandas()
    finally:
        per.unpersist()
    days = days.astype("int64").sort_values("day").reset_index(drop=True)[["day", "count"]]
    return HoldoutCounts(distinct_histories(histories), days, int(customers), int(log_start))


def stored_of(fitted: DriverFit):
    """What the model file keeps of the driver's fits (`custseg.valuing.stored.stored_fits`), as
    a local run keeps them, so ``assign`` scores a new snapshot alike; None when nothing could score."""
    if not fitted.usable:
        return None
    return stored_fits(fitted.fit, fitted.spend, fitted.options, money=fitted.spend is not None, observed=fitted.fill)


def value_on_spark(transactions, ids, options: ValueOptions, *, random_state: int = 0) -> CustomerValue:
    """A log's customer value with every customer on the driver (at most ``fit_sample``):
    fitted on the driver from aggregates, scored on the executors, the scores of the used
    customers ``ids`` brought back in their order, as the local engine's `CustomerValue`.
    The cached histories (``transactions.history``) are let go. The holdout check runs where
    the log's purchase days are on Spark (``transactions.purchases``), else says why not."""
    history = transactions.history
    try:
        fitted = fit_on_driver(history, transactions.columns, options, money=transactions.columns.has_money,
                               random_state=random_state)
        with quiet_pyspark():
            scored = score_on_executors(history, fitted).toPandas()
        holdout = holdout_on_spark(options, transactions.purchases, transactions.as_of, history)
    finally:
        history.unpersist()
        if transactions.purchases is not None:
            transactions.purchases.unpersist()
    scored = scored.set_index("id").loc[pd.Index(ids).astype(str)]
    known = pd.DataFrame({"id": ids, **{name: scored[name].to_numpy(float) for name in ("x", "t_x", "T", "year_spend")}})
    scores = pd.DataFrame({name: scored[name].to_numpy(float) for name in SCORE_COLUMNS})
    return CustomerValue(scores, fitted.fit, fitted.spend, options, known, stored_of(fitted), holdout)


# --------------------------------------------------------------------------- every customer on Spark


@dataclass(frozen=True)
class PopulationValue(CustomerValue):
    """The value of a run whose customers stay on Spark (`custseg.engines.spark.customers.Population`):
    ``scores`` and ``customers`` are those of the fitted sample (in its order, for
    ``Result.segments_frame``), while the summary and the per-segment values (``whole``) count
    every customer, from Spark's aggregates."""

    whole: dict | None = None

    def summary(self, labels) -> dict:
        """The ``value`` block of summary.json over every customer (``labels`` are not read)."""
        return self.whole

    def segments(self, labels) -> list[dict]:
        """Per segment, over every customer (``labels`` are not read)."""
        return self.whole["segments"]


def value_everyone(frame, key: str, fitted: DriverFit, ids, holdout: dict | None = None) -> PopulationValue:
    """The value of every customer of ``frame`` (Spark: ``key``, ``segment``, `SCORED_COLUMNS`
    but the id) summed up by Spark, as `CustomerValue.summary` gives it on one machine, with
    the scores of the fitted sample ``ids`` brought to the driver in their order, and the
    holdout check of every customer (`holdout_on_spark`; None: skipped, saying why)."""
    from pyspark.sql import functions as F

    known = _sample_scores(frame, key, ids)
    scores = known[list(SCORE_COLUMNS)].reset_index(drop=True)
    customers = known[["id", "x", "t_x", "T", "year_spend"]].reset_index(drop=True)
    # The model's part of the block as on one machine (the sample's counts are replaced below).
    fixed = CustomerValue(scores, fitted.fit, fitted.spend, fitted.options, customers,
                          holdout=holdout or holdout_on_spark(fitted.options)).summary(
        np.zeros(len(scores), dtype=int))
    valued = fitted.spend is not None and frame.where(~F.isnan("clv")).limit(1).count() > 0
    whole = {**fixed, **_totals(frame, valued), "segments": _segment_values(frame, valued),
             "top_at_risk": _top_at_risk(frame, key, valued), "matrix": _matrix(frame)}
    return PopulationValue(scores, fitted.fit, fitted.spend, fitted.options, customers, stored_of(fitted), whole=whole)


def _sample_scores(frame, key: str, ids) -> pd.DataFrame:
    """`SCORED_COLUMNS` of the customers ``ids`` (the fitted sample), in their order."""
    from pyspark.sql import functions as F

    wanted = pd.Index(ids).astype(str)
    spark = frame.sparkSession
    chosen = spark.createDataFrame(pd.DataFrame({key: np.asarray(wanted, dtype=object)}), f"`{key}` string")
    with quiet_pyspark():
        rows = frame.join(F.broadcast(chosen), on=key).select(
            F.col(f"`{key}`").alias("id"), *SCORED_COLUMNS[1:]).toPandas()
    rows = rows.set_index("id").loc[wanted]
    return rows.reset_index(drop=True).assign(id=np.asarray(ids))


def _number(column: str):
    """A double column with NaN as NULL: Spark's sums and means then skip it, as pandas' do."""
    from pyspark.sql import functions as F

    return F.when(~F.isnan(column), F.col(column))


def _at_risk():
    """`custseg.valuing.at_risk.at_risk_mask` in Spark (NaN and NULL are not at risk)."""
    from pyspark.sql import functions as F

    return F.coalesce(_number("p_alive") < AT_RISK_BELOW, F.lit(False))


def _sums(valued: bool) -> list:
    """The aggregates of a group of customers that the value block sums up."""
    from pyspark.sql import functions as F

    return [
        F.count("*").alias("customers"),
        F.avg(_number("p_alive")).alias("mean_p_alive"),
        F.sum(_number("expected_purchases")).alias("expected_purchases"),
        F.sum(_number("clv")).alias("clv"),
        F.sum(_at_risk().cast("long")).alias("at_risk_customers"),
        F.sum(F.when(_at_risk(), _number("year_spend"))).alias("value_at_risk"),
    ]


def _float(value) -> float:
    """A Spark sum as pandas gives it: 0 over no value."""
    return 0.0 if value is None else float(value)


def _float_or_nan(value) -> float:
    """A Spark mean as pandas gives it: NaN over no value."""
    return float("nan") if value is None else float(value)


def _totals(frame, valued: bool) -> dict:
    """The block's totals over every customer."""
    row = frame.agg(*_sums(valued)).first()
    return {
        "customers": int(row["customers"]),
        "expected_purchases": _float(row["expected_purchases"]),
        "clv": _float(row["clv"]) if valued else None,
        "mean_p_alive": None if not row["customers"] else _float_or_nan(row["mean_p_alive"]),
        "at_risk_customers": int(row["at_risk_customers"] or 0),
        "value_at_risk": _float(row["value_at_risk"]) if valued else None,
    }


def _segment_values(frame, valued: bool) -> list[dict]:
    """`custseg.valuing.at_risk.segment_values` over every customer, from Spark's sums."""
    rows = sorted(frame.groupBy("segment").agg(*_sums(valued)).collect(), key=lambda r: r["segment"])
    total_purchases = sum(_float(r["expected_purchases"]) for r in rows)
    total_clv = sum(_float(r["clv"]) for r in rows) if valued else None
    out = []
    for r in rows:
        purchases, clv = _float(r["expected_purchases"]), _float(r["clv"]) if valued else None
        out.append({
            "segment": int(r["segment"]),
            "customers": int(r["customers"]),
            "mean_p_alive": _float_or_nan(r["mean_p_alive"]),
            "expected_purchases": purchases,
            "share_of_expected_purchases": purchases / total_purchases if total_purchases else None,
            "clv": clv,
            "share_of_clv": clv / total_clv if valued and total_clv else None,
            "at_risk_customers": int(r["at_risk_customers"] or 0),
            "value_at_risk": _float(r["value_at_risk"]) if valued else None,
        })
    return out


def _top_at_risk(frame, key: str, valued: bool) -> list[dict]:
    """`custseg.valuing.at_risk.top_at_risk` over every customer: Spark keeps the first
    `TOP_AT_RISK` in the same order, the local function words them."""
    from pyspark.sql import functions as F

    first = "year_spend" if valued else "x"
    found = frame.where(_at_risk()).orderBy(F.desc(first), F.asc("p_alive"), F.asc(f"`{key}`")).limit(TOP_AT_RISK)
    with quiet_pyspark():
        rows = found.select(F.col(f"`{key}`").alias("id"), "segment", "p_alive", "x", "year_spend").toPandas()
    return top_at_risk(rows, valued)


def _matrix(frame) -> dict | None:
    """`custseg.valuing.at_risk.value_matrix` over every customer: P(alive) and expected
    purchases depend only on (x, t_x, T), so the distinct histories with their counts hold
    the whole matrix."""
    from pyspark.sql import functions as F

    with quiet_pyspark():
        rows = frame.groupBy("x", "t_x", "T").agg(
            F.count("*").alias("count"), F.first("p_alive").alias("p_alive"),
            F.first("expected_purchases").alias("expected_purchases")).toPandas()
    return value_matrix(rows["x"], rows["t_x"], rows["T"], rows["p_alive"], rows["expected_purchases"],
                        weights=rows["count"])
