"""Transaction logs on Spark: the same ledger, checks and customer features as the DuckDB path.

`customers_from_transactions_spark` is `custseg.logs.duckdb_engine.customers_from_transactions`
run by Spark: every rule comes from `custseg.logs`, as the DuckDB SQL it writes
(`typed_lines_query`, `lines_query`, `customer_queries`), transpiled to Spark SQL by
`custseg.engines.spark.sql.to_spark`. Nothing here restates a cleaning or feature rule.

Reading
-------
* CSV and TSV files (also ``.gz``) are read by Spark's CSV reader with every column as text;
  the delimiter, the encoding and the column names come from the first file's header, as the
  local engine finds them. A glob (``"daily/*.csv"``) reads every matching file; files with
  different headers are matched by column name. Quoted fields must not hold line breaks
  (Spark's CSV reader splits lines before it reads quotes; DuckDB does not).
* Parquet files, globs of them, and folders of them (a Spark dataset such as
  ``orders.parquet/``) are read by Spark's Parquet reader, schemas merged by name.
* A path with a scheme (``s3a://``, ``hdfs://``, ``file://``) is read by Spark only: Parquet
  unless its name ends in ``.csv``, ``.tsv``, ``.txt`` (optionally ``.gz``), whose header
  is read through Spark from the first lines.
* A Spark DataFrame is used as it is.

The lines are then typed by `custseg.logs.typed_lines.typed_lines_query` (numbers as DOUBLE, the
date parsed with the format found on a sample of at most 20,000 values, by the same rule as
the DuckDB path: when day-first and month-first both fit, the whole column decides). Values
that do not parse stop the run with the same `InputError` as the DuckDB path (this relies on
Spark's ANSI mode, on by default in Spark 4; with it off they count as missing).

Computing
---------
The typed lines (one row per distinct line) are cached (memory and disk) while the last day,
the checks and the per-customer table are computed; then only the customer table and the
customers' value histories stay cached (``result.customers.unpersist()`` and
``result.history.unpersist()`` let them go). Only one-row aggregates come back to
the driver: the last day, the checks, and the number of customers per drop reason. The
customer table is a Spark DataFrame (id as string, `FEATURE_COLUMNS` as double, attributes
as string), unordered; `sample_customers` brings at most a given number of its rows to the
driver, as the local engine's pandas table.

Dates: custseg's sessions (`custseg.engines.spark.session`) work in UTC as DuckDB does; in a session
with another time zone, timestamps stored with a zone (Parquet instants) fall on the days of
that zone. Text dates are unaffected. Two-digit years (``%y``) read as 2000-2099 on Spark,
as 1969-2068 on DuckDB.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pandas as pd

from ...errors import EngineError, InputError
from ...logs.columns import TransactionColumns, detect_transaction_columns
from ...logs.files import csv_layout, duckdb_encoding, file_kind, input_files
from ...logs.result import TransactionFeatures, customer_table, longest_tenure
from ...logs.rfm import RFM_HIGHER_IS_BETTER, rfm_from_worse
from ...logs.rules import (
    FEATURE_COLUMNS,
    HISTORY_COLUMNS,
    MONEY,
    WIDE_MONEY,
    as_date,
    as_of_after,
    count_value,
    customer_queries,
    customers_dropped,
    last_day_query,
    ledger_and_checks,
    lines_query,
)
from ...logs.typed_lines import (
    detect_date_format,
    diagnose_values,
    is_date_type,
    typed_lines_query,
)
from ...logs.window import parse_window
from ...progress import ProgressCallback
from ...reading import choose_delimiter, sample_rows, text_names
from .probes import root_cause
from .session import quiet_pyspark
from .sql import to_spark

__all__ = ["HISTORY_FRAME_COLUMNS", "customers_from_transactions_spark", "sample_customers"]

#: Columns of a Spark result's ``history`` (`TransactionFeatures.history`): the customer id as
#: ``id``, the recency and tenure the value models' t_x and T come from, and `HISTORY_COLUMNS`.
HISTORY_FRAME_COLUMNS = ("id", "recency_days", "tenure_days", *HISTORY_COLUMNS)

#: Spark's names for the encodings that `custseg.reading` finds.
_ENCODINGS = {"utf-8": "UTF-8", "latin-1": "ISO-8859-1", "utf-16": "UTF-16"}
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
#: Error conditions of values that do not convert (then diagnosed) and of a line value too
#: large for `MONEY` (then read again with `WIDE_MONEY`).
_BAD_VALUE = ("CAST_INVALID_INPUT", "CANNOT_PARSE_TIMESTAMP", "CANNOT_PARSE_DATETIME")
_OVERFLOW = ("NUMERIC_VALUE_OUT_OF_RANGE", "CAST_OVERFLOW", "DECIMAL_PRECISION_EXCEEDS_MAX_PRECISION")
#: Error conditions of an input that Spark cannot read (an InputError, not an EngineError).
_UNREADABLE = ("FAILED_READ_FILE", "PATH_NOT_FOUND", "UNABLE_TO_INFER_SCHEMA", "CANNOT_READ_FILE_FOOTER")


# --------------------------------------------------------------------------- reading


def _duck_type(data_type) -> str:
    """A Spark type under the DuckDB name the shared SQL builders test for."""
    name = data_type.simpleString().upper()
    return {"STRING": "VARCHAR", "INT": "INTEGER"}.get(name, name)


def _string_schema(names: list[str]):
    from pyspark.sql.types import StringType, StructField, StructType

    return StructType([StructField(name, StringType(), True) for name in names])


def _read_csv(spark, files: list[str], names: list[str], delimiter: str, encoding: str):
    options = {
        "header": True, "sep": delimiter, "quote": '"', "escape": '"',
        "encoding": _ENCODINGS.get(encoding, encoding), "mode": "PERMISSIVE",
        "multiLine": encoding == "utf-16",
    }
    return spark.read.options(**options).schema(_string_schema(names)).csv(files)


def _read_local(spark, path: str):
    """A local file, glob or Parquet folder as a DataFrame (every CSV column as text)."""
    if os.path.isdir(path):
        if not any(Path(path).rglob("*.parquet")):
            raise InputError(f"{path} is a folder without Parquet files; give a file, a glob or a Parquet folder")
        return spark.read.option("mergeSchema", "true").parquet(path)
    files = input_files(path)
    kinds = [file_kind(f) for f in files]
    kind = kinds[0][0]
    if kind == "parquet":
        return spark.read.option("mergeSchema", "true").parquet(*files)
    if kind != "text":
        raise InputError(
            f"{path}: the Spark engine reads CSV and Parquet files, not {kind}; read it with "
            f"spark.read and pass the DataFrame, or use the local engine"
        )
    unnamed = [f for f, (_, compressed) in zip(files, kinds) if compressed and not f.lower().endswith(".gz")]
    if unnamed:
        raise InputError(f"{unnamed[0]} is gzip-compressed but not named .gz: Spark knows compression by the name")
    groups: dict[tuple, list[str]] = {}
    for file in files:
        layout = csv_layout(file)
        if layout.kind != "delimited" or not layout.header:
            shape = "delimited text without a header row" if layout.kind == "delimited" else f"{layout.kind} text"
            raise InputError(
                f"{file}: the Spark engine reads delimited text with a header row, and this is {shape}; "
                f"use the local engine"
            )
        names = layout.names + layout.extra
        groups.setdefault((tuple(names), layout.delimiter, duckdb_encoding(layout.encoding)), []).append(file)
    frames = [_read_csv(spark, group, list(names), delim, enc) for (names, delim, enc), group in groups.items()]
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other, allowMissingColumns=True)
    return frame


def _read_remote(spark, path: str):
    """A path with a scheme, read by Spark alone (the driver may not see it)."""
    if not path.lower().endswith(_TEXT_SUFFIXES):
        return spark.read.option("mergeSchema", "true").parquet(path)
    head = [row[0] for row in spark.read.text(path).limit(50).collect()]
    if not head:
        raise InputError(f"{path} is empty")
    text = "\n".join(head)
    delimiter = choose_delimiter(text)
    names, extra = text_names(Path(path), sample_rows(text, delimiter, limit=50), True, "delimited")
    return _read_csv(spark, path, names + extra, delimiter, "utf-8")


def open_lines(spark, source):
    """The lines of ``source`` (a path, glob, URI or Spark DataFrame) as a DataFrame, and a
    label for messages: the path, or "the Spark DataFrame"."""
    if hasattr(source, "sparkSession") and hasattr(source, "schema"):
        return source, "the Spark DataFrame"
    path = os.fspath(source)
    try:
        if "://" in path:
            frame = _read_remote(spark, path)
        else:
            frame = _read_local(spark, path)
    except _spark_errors() as exc:
        raise _read_error(path, exc) from None
    return frame, path


def _spark_errors() -> tuple[type[BaseException], ...]:
    """The exceptions PySpark raises for a failed query (Python-side, JVM-side, Connect)."""
    from pyspark.errors import PySparkException

    try:
        from py4j.protocol import Py4JError
    except ImportError:    # pragma: no cover - a Spark Connect client without py4j
        return (PySparkException,)
    return (PySparkException, Py4JError)


def _read_error(label: str, exc: BaseException) -> InputError:
    return InputError(f"{label} could not be read on Spark: {root_cause(exc)}")


def _failed(label: str, exc: BaseException) -> InputError | EngineError:
    if any(name in str(exc) for name in _UNREADABLE):
        return _read_error(label, exc)
    return EngineError(f"{label}: Spark failed while computing the customer features: {root_cause(exc)}")


def _condition(exc: BaseException) -> str:
    """The error condition of a Spark error (``CAST_INVALID_INPUT``, ...), or ''."""
    text = str(exc)
    for name in _BAD_VALUE + _OVERFLOW:
        if name in text:
            return name
    getter = getattr(exc, "getCondition", None) or getattr(exc, "getErrorClass", None)
    return (getter() if getter else None) or ""


# --------------------------------------------------------------------------- computing


class _Views:
    """Temporary views named ``custseg_<role>_<tag>``, so that runs in one session do not
    collide. They stay in the session: Spark Connect resolves them again whenever a
    DataFrame made from them runs."""

    def __init__(self, spark):
        self.spark = spark
        self.tag = uuid.uuid4().hex[:10]

    def name(self, role: str) -> str:
        return f"custseg_{role}_{self.tag}"

    def register(self, frame, role: str) -> str:
        frame.createOrReplaceTempView(self.name(role))
        return self.name(role)

    def sql(self, duckdb_sql: str):
        return self.spark.sql(to_spark(duckdb_sql))

    def one_row(self, duckdb_sql: str) -> tuple:
        return tuple(self.sql(duckdb_sql).first())


def customers_from_transactions_spark(
    spark,
    source,
    columns: TransactionColumns | None = None,
    *,
    as_of=None,
    overrides: dict | None = None,
    on_progress: ProgressCallback | None = None,
    label: str | None = None,
    window=None,
    purchase_days: bool = False,
) -> TransactionFeatures:
    """Build one row of behaviour features per customer from a transaction log, on Spark.

    The same rules and results as `custseg.logs.duckdb_engine.customers_from_transactions` (see
    `custseg.logs.rules`), computed by Spark SQL on the executors.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        From `custseg.engines.spark.session.spark_session`, or any session.
    source : str, path or pyspark.sql.DataFrame
        A CSV/TSV file (optionally ``.gz``), a Parquet file or folder, a glob, a URI Spark can
        read (``s3a://...``), or a DataFrame of order lines.
    columns, as_of, overrides, on_progress, window
        As in `custseg.logs.duckdb_engine.customers_from_transactions`.
    label : str, optional
        The input's name in messages when ``source`` is a DataFrame already opened from a
        path (default: "the Spark DataFrame").
    purchase_days : bool
        Also keep each customer's distinct purchase days (the rule's ``purchases`` query,
        cached) for the value models' holdout check (`custseg.engines.spark.value.holdout_on_spark`).

    Returns
    -------
    TransactionFeatures
        ``customers`` is a Spark DataFrame (cached; ``unpersist()`` it when done), unordered;
        ``history`` the same customers' `HISTORY_FRAME_COLUMNS` (cached, as ``customers``);
        ``purchases`` the purchase days when asked for (cached), else None;
        ``customers_kept`` its number of rows.

    Raises
    ------
    InputError
        As the DuckDB path, and when Spark cannot read the input.
    EngineError
        When Spark fails for another reason (an executor lost, out of memory, ...).
    """
    progress = on_progress or (lambda step, done, total: None)
    total_steps = 3
    wanted_as_of = as_date(as_of)
    window = parse_window(window)
    progress("reading order lines", 0, total_steps)
    raw, opened = open_lines(spark, source)
    label = label or opened
    names = list(raw.columns)
    types = {field.name: _duck_type(field.dataType) for field in raw.schema.fields}
    columns = _columns(label, names, columns, overrides)
    views = _Views(spark)
    raw_view = views.register(raw, "raw_lines")
    try:
        fmt = None if is_date_type(types[columns.date]) else detect_date_format(
            views.one_row, label, raw_view, columns.date)
    except _spark_errors() as exc:
        raise _read_error(label, exc) from None
    progress("checking order lines", 1, total_steps)
    lines, used_as_of, queries, row = _checked_lines(views, label, names, types, columns, fmt, wanted_as_of, window)
    try:
        ledger, checks = ledger_and_checks(row, columns, queries["check_names"], label)
        found = count_value(row["customers_found"])
        progress("computing customer features", 2, total_steps)
        customers, dropped, kept, history, histories = _customers(views, queries["features"], columns, found, label)
        purchases = _cached(views, queries["purchases"], label) if purchase_days else None
    finally:
        lines.unpersist()
    progress("customer features ready", 3, total_steps)
    return TransactionFeatures(customers, ledger, checks, found, dropped, used_as_of,
                               columns, fmt, customers_kept=kept, history_days=history,
                               window=None if window is None else window.text, history=histories,
                               purchases=purchases)


def _checked_lines(views, label, names, types, columns, fmt, wanted_as_of, window=None):
    """The cached lines (`lines_query`), the reference date, the queries and the checks row.

    Values that do not convert become the DuckDB path's InputError; a line worth too much
    for `MONEY` makes the lines be computed again with `WIDE_MONEY`.
    """
    from pyspark import StorageLevel

    typed = views.sql(typed_lines_query(names, types, columns, fmt, views.name("raw_lines")))
    source_view = views.register(typed, "source_lines")
    ansi = str(views.spark.conf.get("spark.sql.ansi.enabled", "true")).lower() == "true"
    money = MONEY if ansi else WIDE_MONEY     # without ANSI an overflow would be a silent NULL
    while True:
        lines = views.sql(lines_query(columns, names, source_view, money=money))
        lines = lines.persist(StorageLevel.MEMORY_AND_DISK)
        lines_view = views.register(lines, "lines")
        try:
            used_as_of = wanted_as_of or as_of_after(views.one_row(last_day_query(lines_view))[0])
            queries = customer_queries(columns, used_as_of, lines_view, window)
            return lines, used_as_of, queries, views.sql(queries["checks"]).first().asDict()
        except _spark_errors() as exc:
            lines.unpersist()
            condition = _condition(exc)
            if condition not in _BAD_VALUE + _OVERFLOW:
                raise _failed(label, exc) from None
            problem = diagnose_values(views.one_row, label, views.name("raw_lines"), types, columns, fmt)
            if problem is None and condition in _OVERFLOW and money == MONEY:
                money = WIDE_MONEY
                continue
            raise (problem or _failed(label, exc)) from None


def _customers(views, features_sql: str, columns: TransactionColumns, found: int, label: str):
    """The cached customer table, the customers dropped by reason, how many are kept, the
    history they cover (their longest tenure, `TransactionFeatures.history_days`) and the
    cached value histories of the same customers (`HISTORY_FRAME_COLUMNS`, from the same
    pass of the ``features`` query; `custseg.engines.spark.value`)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    features = views.sql(features_sql).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        counts = features.groupBy("drop_reason").agg(F.count("*").alias("count"),
                                                     F.max("tenure_days").alias("longest")).collect()
        by_reason = {r["drop_reason"]: r["count"] for r in counts}
        history = longest_tenure(next((r["longest"] for r in counts if r["drop_reason"] is None), None))
        kept = by_reason.pop(None, 0)
        dropped = customers_dropped(found, kept + sum(by_reason.values()), by_reason, kept, label)
        customers = features.where("drop_reason IS NULL").select(*_renamed(columns))
        customers = customers.persist(StorageLevel.MEMORY_AND_DISK)
        customers.count()            # cached from the cached features, before these are let go
        histories = features.where("drop_reason IS NULL").select(*_history_columns())
        histories = histories.persist(StorageLevel.MEMORY_AND_DISK)
        histories.count()
    except _spark_errors() as exc:
        raise _failed(label, exc) from None
    finally:
        features.unpersist()
    return customers, dropped, kept, history, histories


def _cached(views, sql: str, label: str):
    """A query's result, cached and counted while the lines it reads are still cached."""
    from pyspark import StorageLevel

    try:
        frame = views.sql(sql).persist(StorageLevel.MEMORY_AND_DISK)
        frame.count()
    except _spark_errors() as exc:
        raise _failed(label, exc) from None
    return frame


def _columns(label: str, names: list[str], columns: TransactionColumns | None, overrides: dict | None):
    if columns is None:
        columns = detect_transaction_columns(names, overrides)
        if columns is None:
            raise InputError(
                f"{label} does not look like a transaction log: it needs a customer "
                f"column, a date column, and quantity and price columns or an amount "
                f"column; columns are: {', '.join(names)}"
            )
    missing = [n for n in columns.used() if n not in names]
    if missing:
        raise InputError(f"{label} lacks column(s) {', '.join(map(repr, missing))}; columns are: {', '.join(names)}")
    return columns


def _history_columns() -> list:
    """The ``features`` query's columns that the value step reads (`HISTORY_FRAME_COLUMNS`)."""
    from pyspark.sql import functions as F

    return [F.col("customer_id").cast("string").alias("id")] + [
        F.col(name).cast("double").alias(name) for name in HISTORY_FRAME_COLUMNS[1:]]


def _renamed(columns: TransactionColumns) -> list:
    """The ``features`` query's columns under the names of the local engine's table."""
    from pyspark.sql import functions as F

    out = [F.col("customer_id").cast("string").alias(columns.customer)]
    out += [F.col(name).cast("double").alias(name) for name in FEATURE_COLUMNS]
    out += [F.col(f"attr_{i}").cast("string").alias(a) for i, a in enumerate(columns.attributes)]
    return out


# --------------------------------------------------------------------------- to the driver


def sample_customers(features: TransactionFeatures, size: int = 10_000, *, random_state: int = 0) -> pd.DataFrame:
    """At most ``size`` customers of a Spark result, on the driver, as the local engine's table.

    All of them when there are no more than ``size``; otherwise the ``size`` customers with the
    smallest hash of (id, ``random_state``): the same sample on every run and any partitioning,
    drawn without sorting the whole table (each partition keeps its own ``size`` best).

    Parameters
    ----------
    features : TransactionFeatures
        From `customers_from_transactions_spark`.
    size : int
        Most rows brought to the driver.
    random_state : int
        Seed of the sample.

    Returns
    -------
    DataFrame
        Sorted by id, with the columns and dtypes of
        `custseg.logs.duckdb_engine.customers_from_transactions`'s table.
    """
    from pyspark.sql import functions as F

    columns = features.columns
    frame = features.customers
    if features.customers_kept > size:
        key = F.xxhash64(F.col(columns.customer), F.lit(int(random_state)))
        frame = frame.orderBy(key, F.col(columns.customer))
    with quiet_pyspark():
        table = frame.limit(int(size)).toPandas()
    internal = {columns.customer: "customer_id", **{a: f"attr_{i}" for i, a in enumerate(columns.attributes)}}
    return customer_table(table.rename(columns=internal), columns)


# --------------------------------------------------------------------------- RFM


def rfm_scores_spark(customers, key: str, rows: int):
    """`custseg.logs.rfm.rfm_scores` over every customer of a Spark table: Spark counts,
    per RFM column, the customers with a strictly worse value (``rank() - 1`` in the order
    from worst to best), and `custseg.logs.rfm.rfm_from_worse`, the local engine's
    own rule, turns the counts into scores and segments on the executors.

    Returns a Spark DataFrame: ``key`` (string), ``rfm_score``, ``rfm_segment``. The ranks
    need one global order: Spark sorts the customers (not the order lines) once per column.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    worse = customers.select(
        F.col(f"`{key}`").cast("string").alias(key),
        *[(F.rank().over(Window.orderBy(F.col(c).asc() if better else F.col(c).desc())) - 1).alias(c)
          for c, better in RFM_HIGHER_IS_BETTER.items()])

    def score(batches):
        for batch in batches:
            rfm = rfm_from_worse({c: batch[c].to_numpy() for c in RFM_HIGHER_IS_BETTER}, rows)
            yield pd.DataFrame({key: batch[key].to_numpy(), "rfm_score": rfm["rfm_score"].to_numpy(),
                                "rfm_segment": rfm["rfm_segment"].to_numpy()})

    with quiet_pyspark():
        return worse.mapInPandas(score, f"`{key}` string, rfm_score string, rfm_segment string")
