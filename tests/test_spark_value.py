"""The value step on the Spark engine (`custseg.engines.spark.value`): fitted on the driver from
aggregates, every customer scored on the executors, equal to the local engine's value step.

The run on Online Retail is compared with the local run in ``test_spark``
(``test_run_on_spark_equals_the_local_run``, with the value step on).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_value_holdout import cdnow_sample_lines  # noqa: F401  (a fixture)

from custseg.engines.spark.value import SPARK_HOLDOUT_SKIPPED
from custseg.logs.duckdb_engine import customers_from_transactions
from custseg.valuing.customer_value import (
    ValueOptions,
    history_from_features,
    value_customers,
)
from custseg.valuing.fitting import fit_transactions
from custseg.valuing.models import GammaGammaParams, ModifiedBetaGeoParams

# --------------------------------------------------------------------------- no JVM needed


def _batch() -> pd.DataFrame:
    """Six customers as the Spark history table holds them (days, not weeks)."""
    return pd.DataFrame({
        "id": ["a", "b", "c", "d", "e", "f"],
        "recency_days": [7.0, 70.0, 3.0, 280.0, 14.0, 14.0],
        "tenure_days": [280.0, 280.0, 21.0, 300.0, 14.0, 140.0],
        "purchase_days": [6.0, 3.0, 2.0, 6.0, 1.0, 4.0],
        "repeat_spend": [250.0, 60.0, 15.0, 200.0, 0.0, 90.0],
        "year_spend": [300.0, 80.0, 25.0, 0.0, 12.0, 120.0],
    })


def _fitted(spend_ok: bool = True, fill=None):
    from custseg.engines.spark.value import DriverFit
    from custseg.valuing.fitting import Fit

    fit = Fit(ModifiedBetaGeoParams(0.8, 9.0, 0.3, 4.0), -1.0, 6, 6, True)
    spend = Fit(GammaGammaParams(6.25, 3.74, 15.44), -1.0, 5, 5, True, () if spend_ok else ("q <= 1",))
    return DriverFit(fit, spend, fill, True, ValueOptions())


def test_a_batch_scored_on_an_executor_equals_the_local_scores():
    """Scores depend on each customer's own history only: any split into batches gives the
    local step's numbers exactly (the formulas of `value_scores`, on the same floats)."""
    from custseg.engines.spark.value import score_batch
    from custseg.valuing.scores import value_scores

    batch = _batch()
    fitted = _fitted()
    history = history_from_features(batch, batch)
    local = value_scores(fitted.fit.params, history, horizon=365.25 / 7.0, spend=fitted.spend.params,
                         discount=0.10, unit_days=7.0)
    parts = pd.concat([score_batch(batch.iloc[:2].reset_index(drop=True), fitted),
                       score_batch(batch.iloc[2:].reset_index(drop=True), fitted)], ignore_index=True)
    assert parts["id"].tolist() == list("abcdef")
    assert parts["x"].tolist() == [5.0, 2.0, 1.0, 5.0, 0.0, 3.0]
    assert parts["T"].tolist() == [40.0, 40.0, 3.0, 300.0 / 7.0, 2.0, 20.0]
    assert parts["t_x"].tolist() == [39.0, 30.0, 18.0 / 7.0, 20.0 / 7.0, 0.0, 18.0]
    assert parts["year_spend"].tolist() == batch["year_spend"].tolist()
    for name in local.columns:
        np.testing.assert_array_equal(parts[name].to_numpy(), local[name].to_numpy(), err_msg=name)
    # five repeat purchases long ago and none for 40 weeks: probably gone; the same recently: alive
    assert parts.loc[3, "p_alive"] < 0.5 < parts.loc[0, "p_alive"]


def test_where_gamma_gamma_does_not_fit_each_customer_s_own_mean_stands_in():
    from custseg.engines.spark.value import score_batch

    scored = score_batch(_batch(), _fitted(spend_ok=False, fill=33.0))
    # own mean repeat value (repeat_spend / x); the one-time buyer "e" gets the fill
    assert scored["expected_value_per_purchase"].tolist() == [50.0, 30.0, 15.0, 40.0, 33.0, 30.0]


@pytest.mark.parametrize("spend", [{"p": 6.25, "q": 3.74, "gamma": 15.44}, None])
def test_a_batch_scored_with_a_model_file_s_parameters_equals_assign_on_one_machine(spend):
    """`custseg assign --engine spark` scores each batch with `StoredValue.score`: any split
    gives the one-machine scores exactly, with Gamma-Gamma or with each customer's own mean."""
    from custseg.engines.spark.value import score_stored_batch
    from custseg.valuing.stored import STORED_COLUMNS, StoredValue

    stored = StoredValue("mbg/nbd", {"r": 0.8, "alpha": 9.0, "a": 0.3, "b": 4.0}, money=True, spend=spend,
                         observed_value=None if spend else 33.0, horizon="6m", horizon_days=182.625, discount=0.2)
    batch = _batch()
    whole = stored.score(batch, batch)
    parts = pd.concat([score_stored_batch(batch.iloc[:4].reset_index(drop=True), stored),
                       score_stored_batch(batch.iloc[4:].reset_index(drop=True), stored)], ignore_index=True)
    assert parts.columns.tolist() == ["id", *STORED_COLUMNS]
    assert parts["id"].tolist() == list("abcdef")
    assert parts["year_spend"].tolist() == [300.0, 80.0, 25.0, 0.0, 12.0, 120.0]
    for name in STORED_COLUMNS:
        np.testing.assert_array_equal(parts[name].to_numpy(), whole[name].to_numpy(), err_msg=name)
    if spend is None:   # own mean repeat value (repeat_spend / x); the one-time buyer "e" gets the stored mean
        assert parts["expected_value_per_purchase"].tolist() == [50.0, 30.0, 15.0, 40.0, 33.0, 30.0]
    # five repeat purchases long ago and none for 40 weeks: probably gone; the same recently: alive
    assert parts.loc[3, "p_alive"] < 0.5 < parts.loc[0, "p_alive"]


def test_fit_with_counts_equals_the_fit_on_every_customer():
    """The driver's weighted fit on distinct histories is the fit on the expanded customers."""
    rng = np.random.default_rng(3)
    T = rng.choice([20.0, 30.0, 40.0], 400)
    active = np.minimum(T, rng.exponential(30.0, 400))          # weeks until each drops out
    x = rng.poisson(rng.gamma(0.7, 0.3, 400) * active).astype(float)
    t_x = np.where(x > 0, np.floor(active * rng.uniform(0.5, 1.0, 400)), 0.0)
    everyone = fit_transactions("mbg/nbd", x, t_x, T)
    rows = pd.DataFrame({"x": x, "t_x": t_x, "T": T}).value_counts().reset_index()
    rows = rows.sample(frac=1.0, random_state=1)          # the order Spark returns them in is any
    counted = fit_transactions("mbg/nbd", rows["x"], rows["t_x"], rows["T"], weights=rows["count"])
    assert counted.params == everyone.params
    assert counted.log_likelihood == everyone.log_likelihood
    assert (counted.customers, counted.distinct_rows) == (400, everyone.distinct_rows)
    assert (counted.converged, counted.warnings) == (everyone.converged, everyone.warnings)


# --------------------------------------------------------------------------- on Spark


@pytest.fixture(scope="module")
def orders(spark, tmp_path_factory):
    """A generated log of 300 customers: the local engine's features of it, and its value
    histories as the Spark table the feature query caches (`HISTORY_FRAME_COLUMNS`; that the
    query gives these numbers is checked on Online Retail in ``test_spark``)."""
    from custseg import generate_transactions
    from custseg.engines.spark.transactions import HISTORY_FRAME_COLUMNS

    lines, _ = generate_transactions(300, 3, random_state=11)
    path = tmp_path_factory.mktemp("value") / "orders.parquet"
    lines.to_parquet(path)
    local = customers_from_transactions(path)
    table = pd.concat([local.customers[["recency_days", "tenure_days"]], local.history.iloc[:, 1:]], axis=1)
    table.insert(0, "id", local.customers.iloc[:, 0].astype(str).to_numpy(dtype=object))
    schema = ", ".join(["id string", *(f"{name} double" for name in HISTORY_FRAME_COLUMNS[1:])])
    history = spark.createDataFrame(table[list(HISTORY_FRAME_COLUMNS)], schema).repartition(3).cache()
    yield local, history
    history.unpersist()


def test_fitted_on_the_driver_and_scored_on_the_executors_equals_the_local_step(spark, orders):
    from custseg.engines.spark.value import fit_on_driver, score_on_executors

    local, history = orders
    histories = history_from_features(local.customers, local.history)
    expected = value_customers(histories, ValueOptions())
    fitted = fit_on_driver(history, local.columns, ValueOptions(), money=True)
    # three partitions: the customers are scored in several batches on the executors
    scored = score_on_executors(history, fitted).toPandas()
    assert fitted.fit.params == expected.fit.params
    assert fitted.fit.warnings == expected.fit.warnings
    assert fitted.fit.log_likelihood == expected.fit.log_likelihood
    assert (fitted.fit.customers, fitted.fit.distinct_rows) == (expected.fit.customers, expected.fit.distinct_rows)
    assert fitted.spend.params == expected.spend.params and fitted.spend.customers == expected.spend.customers
    assert len(scored) == len(local.customers) and scored["id"].is_unique
    scored = scored.set_index("id").loc[local.customers.iloc[:, 0].astype(str)]
    for name in ("x", "t_x", "T"):
        np.testing.assert_array_equal(scored[name].to_numpy(), histories[name].to_numpy(), err_msg=name)
    np.testing.assert_array_equal(scored["year_spend"].to_numpy(), local.history["year_spend"].to_numpy())
    for name in expected.scores.columns:
        np.testing.assert_allclose(scored[name].to_numpy(), expected.scores[name].to_numpy(), rtol=1e-9,
                                   atol=0, err_msg=name)


def test_gamma_gamma_on_a_bounded_seeded_sample_of_repeat_buyers(spark, orders):
    from custseg.engines.spark.value import fit_on_driver

    local, history = orders
    first = fit_on_driver(history, local.columns, ValueOptions(), money=True, sample=50, random_state=4)
    again = fit_on_driver(history, local.columns, ValueOptions(), money=True, sample=50, random_state=4)
    other = fit_on_driver(history, local.columns, ValueOptions(), money=True, sample=50, random_state=5)
    repeat = int((local.history["purchase_days"] > 1).sum())
    assert repeat > 50
    assert first.spend.customers == 50 and first.spend.params == again.spend.params
    assert other.spend.params != first.spend.params
    # the repeat-purchase model still counts every customer
    assert first.fit.customers == len(local.customers)


def test_a_matrix_of_distinct_histories_with_counts_equals_the_matrix_of_every_customer():
    from custseg.valuing.at_risk import value_matrix

    x, t_x, T = [0, 1, 1, 2, 1], [0.0, 2.0, 9.0, 9.5, 2.0], [10.0] * 5
    p, e = [0.5, 0.2, 0.9, 0.95, 0.2], [0.1, 0.2, 1.0, 1.5, 0.2]
    every = value_matrix(x, t_x, T, p, e, bins=2)
    counted = value_matrix([0, 1, 1, 2], [0.0, 2.0, 9.0, 9.5], [10.0] * 4, [0.5, 0.2, 0.9, 0.95],
                           [0.1, 0.2, 1.0, 1.5], bins=2, weights=[1, 2, 1, 1])
    assert counted == every
    assert counted["customers"] == [[1, 2], [0, 2]]
    assert counted["p_alive"] == [[0.5, 0.2], [None, 0.925]]


def test_a_log_without_money_gets_purchases_and_p_alive_without_value(spark, orders):
    from custseg.engines.spark.value import fit_on_driver, score_batch

    local, history = orders
    fitted = fit_on_driver(history, local.columns, ValueOptions(), money=False)
    expected = value_customers(history_from_features(local.customers, local.history), money=False)
    assert fitted.spend is None and fitted.fit.params == expected.fit.params
    scored = score_batch(history.limit(40).toPandas(), fitted)
    assert scored["p_alive"].between(0, 1).all() and (scored["expected_purchases"] > 0).all()
    assert scored["expected_value_per_purchase"].isna().all() and scored["clv"].isna().all()


# --------------------------------------------------------------------------- the holdout check on Spark


def _purchases_on_spark(spark, found, extra: list[tuple[str, int]] = ()):
    """The local engine's purchase days (`TransactionFeatures.purchases`) as the Spark table
    the ``purchases`` query gives (customer_id, day), plus ``extra`` rows."""
    ids = found.customers.iloc[:, 0].astype(str).to_numpy()
    pairs = pd.DataFrame({"customer_id": ids[found.purchases["row"].to_numpy()],
                          "day": found.purchases["day"].to_numpy(np.int64)})
    pairs = pd.concat([pairs, pd.DataFrame(extra, columns=["customer_id", "day"])], ignore_index=True)
    history = spark.createDataFrame(pd.DataFrame({"id": ids}), "`id` string")
    return spark.createDataFrame(pairs.sample(frac=1.0, random_state=1), "customer_id string, day long"), history


@pytest.mark.parametrize("which", ["hand", "cdnow"])
def test_the_holdout_check_from_spark_s_group_bys_equals_the_local_check(spark, which, request):
    """Spark's counts (distinct histories at the cut, repeat purchases per day) feed the local
    check's own computation: the same block, number for number, in any row order; purchases
    of customers the run left out do not count."""
    from test_value_holdout import HAND_AS_OF, _hand_log
    from test_value_models import OBSERVATION_END

    from custseg.engines.spark.value import holdout_on_spark
    from custseg.settings import Settings, parse_holdout
    from custseg.valuing.holdout import holdout_check

    if which == "hand":
        found, holdout, model = customers_from_transactions(_hand_log(), as_of=HAND_AS_OF), "4w", "mbgnbd"
    else:
        lines = request.getfixturevalue("cdnow_sample_lines")
        found, holdout, model = customers_from_transactions(lines, as_of=OBSERVATION_END), "39w", "bgnbd"
    options = ValueOptions.from_settings(Settings(holdout=holdout, value_model=model))
    local = holdout_check(found.purchases, found.as_of, option=options.holdout, length=parse_holdout(holdout),
                          model=options.model)
    assert "skipped" not in local and local["customers"] > 0
    # a customer outside the run, first buying long before everyone: counted only if not left out
    purchases, history = _purchases_on_spark(spark, found, extra=[("not-a-customer", 1000)])
    assert holdout_on_spark(options, purchases, found.as_of, history) == local
    assert holdout_on_spark(options, None, found.as_of, history) == {"skipped": SPARK_HOLDOUT_SKIPPED}


def test_value_on_spark_checks_the_holdout_where_the_purchase_days_are_on_spark(spark, orders):
    """`value_on_spark` (a run with every customer on the driver) puts the check from Spark's
    counts into ``value.holdout``: the local run's block; without purchase days on Spark it
    says why it skipped."""
    import dataclasses

    from custseg.engines.spark.value import value_on_spark
    from custseg.valuing.holdout import holdout_check

    local, history = orders
    options = ValueOptions()
    expected = holdout_check(local.purchases, local.as_of, option=options.holdout, length=options.holdout_days,
                             model=options.model)
    assert expected["holdout_days"] > 0 and expected["customers"] > 0
    purchases, _ = _purchases_on_spark(spark, local, extra=[("not-a-customer", 1000)])
    ids = local.customers.iloc[:, 0].to_numpy()
    on_spark = dataclasses.replace(local, history=history.select("*"), purchases=purchases)
    assert value_on_spark(on_spark, ids, options).holdout == expected
    without = dataclasses.replace(local, history=history.select("*"), purchases=None)
    assert value_on_spark(without, ids, options).holdout == {"skipped": SPARK_HOLDOUT_SKIPPED}
