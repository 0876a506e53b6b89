"""The customer-table stage on Spark: one row per customer, built where the data lives.

The Spark engine replaces only the stage that grows with the raw data: reading, and for a
transaction log the ledger, checks and per-customer features of every order line (Spark SQL
from the one DuckDB definition, `custseg.spark.transactions`). Everything after it (cleaning,
features, the search and the choice, profiles, the report, the model file) is the same code
as on one machine, run on the customer table: so the two engines give the same answers by
construction, not by keeping two copies of each rule in step.

The customer table reaches the driver only when it is bounded: at most
``Settings.fit_sample`` customers (100,000 by default, a few MB), the size above which the
local engine also fits K-Means on a sample. Its ids and features are a per-customer
aggregate, never the order lines. A larger table is refused with a message that says so
(fitting on a sample and assigning every customer on the executors is the next step).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..settings import Settings
from .session import DEFAULT_MASTER, quiet_pyspark, spark_session


def is_spark_frame(data) -> bool:
    """Whether ``data`` is a PySpark DataFrame (classic or Spark Connect), without importing
    PySpark.

    Examples
    --------
    >>> import pandas as pd
    >>> is_spark_frame(pd.DataFrame({"x": [1]})), is_spark_frame("orders.csv")
    (False, False)
    """
    kind = type(data)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pyspark.")


def session_for(data, settings: Settings):
    """The session that owns ``data``, or one on ``settings.spark_master`` (``local[*]``)."""
    if is_spark_frame(data):
        return data.sparkSession
    return spark_session(settings.spark_master or DEFAULT_MASTER)


def _master(spark) -> str:
    try:
        return str(spark.sparkContext.master)
    except Exception:          # Spark Connect has no SparkContext on the client
        return "Spark Connect"


def customer_table_spark(data, settings: Settings, progress):
    """The input as one row per customer, computed on Spark.

    Returns what `custseg.pipeline`'s local stage returns: the customer table (pandas, on
    the driver, bounded by ``settings.fit_sample``), a description of the source, and the
    transaction features (None for a customer table).

    Raises
    ------
    InputError
        As the local engine for bad input, and when the table has more customers than
        ``settings.fit_sample``.
    EngineError
        Spark cannot start or fails for a reason other than the data.
    """
    from ..pipeline import _join_customers
    from ..transactions import detect_transaction_columns
    from .transactions import _open, customers_from_transactions_spark, sample_customers

    progress("starting Spark", 0, 1)
    spark = session_for(data, settings)
    raw, label = _open(spark, data)
    engine = {"engine": "spark", "spark_master": _master(spark)}
    kind = settings.kind
    if kind == "auto":
        found = detect_transaction_columns([str(c) for c in raw.columns], settings.transaction_overrides)
        kind = "transactions" if found is not None else "customers"
    if kind == "transactions":
        progress("computing customer features from order lines on Spark", 0, 1)
        features = customers_from_transactions_spark(
            spark, data, overrides=settings.transaction_overrides, as_of=settings.as_of, on_progress=progress,
        )
        try:
            _check_bounded(features.customers_kept, settings, label)
            customers = sample_customers(features, features.customers_kept, random_state=settings.random_state)
        finally:
            features.customers.unpersist()
        transactions = dataclasses.replace(features, customers=customers)
        source = {**_spark_source(data, "transactions"), **engine}
        if settings.customers_file:
            customers = _join_customers(customers, settings.customers_file, source)
        return customers, source, transactions
    progress("reading customers on Spark", 0, 1)
    rows = raw.count()
    _check_bounded(rows, settings, label)
    with quiet_pyspark():
        frame = raw.toPandas()
    frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
    return frame, {**_spark_source(data, "customers"), **engine}, None


def _spark_source(data, kind: str) -> dict:
    from ..pipeline import _source

    if is_spark_frame(data):
        return {"path": None, "name": "Spark DataFrame", "format": "spark", "kind": kind}
    return _source(data, kind)


def _check_bounded(customers: int, settings: Settings, label: str) -> None:
    if customers > settings.fit_sample:
        raise InputError(
            f"{label}: {customers:,} customers are more than the Spark engine brings to the driver "
            f"(fit_sample = {settings.fit_sample:,}); raise fit_sample if the driver has the memory "
            f"(about 100 bytes per customer and feature)"
        )


# --------------------------------------------------------------------------- outputs


def write_segments_parquet(frame: pd.DataFrame, path: str | os.PathLike, spark=None) -> Path:
    """Write the segments as a Parquet folder (Spark's layout: part files and ``_SUCCESS``),
    atomically: into a temporary folder beside ``path``, renamed into place when complete.

    Parameters
    ----------
    frame : DataFrame
        One row per customer: id, segment, segment_name (and RFM columns for a log).
    path : path
        The folder to write (``segments.parquet``); a previous one is replaced.
    spark : SparkSession, optional
        Default: the active session.
    """
    from pyspark.sql import SparkSession

    spark = spark or SparkSession.getActiveSession()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex[:10]}.tmp"
    plain = frame.astype({c: "string" for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])})
    try:
        with quiet_pyspark():
            spark.createDataFrame(plain).coalesce(1).write.parquet(str(temporary.resolve()))
        old = path.parent / f".{path.name}.{uuid.uuid4().hex[:10]}.old"
        if path.exists():
            os.replace(path, old)
        os.replace(temporary, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return path
