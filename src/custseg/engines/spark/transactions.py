"""Transaction logs on Spark: the same ledger, checks and customer features as the DuckDB path.

`customers_from_transactions_spark` is `custseg.logs.duckdb_engine.customers_from_transactions`
run by Spark: every rule comes from `custseg.logs`, as the DuckDB SQL it writes
(`typed_lines_query`, `lines_query`, `customer_queries`). Nothing here restates a cleaning or
feature rule.

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

The date format is found on a sample of at most 20,000 values, by the same rule as the DuckDB
path (when day-first and month-first both fit, the whole column decides): by DuckDB on the
driver for files on this machine, else in Spark SQL (`custseg.engines.spark.sql.to_spark`).

Computing
---------
Every customer's lines are sent to one partition (one shuffle of the lines, by
`custseg.logs.rules.customer_id_sql`), and each executor computes its partitions' lines,
checks, features and purchase days with DuckDB, running the local engine's own SQL
(`custseg.engines.spark.partitions`); the checks are summed on the driver. Without a given
``as_of``, each partition works as of the day after its own last usable line (rules 1-5); when
one partition's day is not the log's (the day after the last usable line of all), the pass
runs again as of the log's day. On a large log every partition holds customers who bought on
its last day, and one pass is enough. Values that do not convert stop the run with the same
`InputError` as the DuckDB path.

Exact duplicates share their customer, so they meet in one partition; the features are the
DuckDB path's value for value. The executors need custseg with DuckDB and pyarrow (the
probe of `custseg.engines.spark.probes` checks it before any work). Only the checks (a row per
partition) and the number of customers per drop reason come back to the driver. The customer
table is a Spark DataFrame (id as string, `FEATURE_COLUMNS` as double, attributes as string),
cached, unordered; so are the customers' value histories and, when asked for, their purchase
days (``unpersist()`` them when done). `sample_customers` brings at most a given number of
rows to the driver, as the local engine's pandas table.

Dates: custseg's sessions (`custseg.engines.spark.session`) work in UTC as DuckDB does; in a session
with another time zone, timestamps stored with a zone (Parquet instants) still fall on their UTC
days (Spark hands them to the executors' DuckDB as UTC instants).
"""

from __future__ import annotations

import collections
import datetime
import functools
import json
import os
import uuid
from pathlib import Path

import pandas as pd

from ...errors import EngineError, InputError
from ...logs.columns import TransactionColumns, detect_transaction_columns
from ...logs.duckdb_engine import text_date_format
from ...logs.files import csv_layout, duckdb_encoding, file_kind, input_files
from ...logs.result import TransactionFeatures, customer_table, longest_tenure
from ...logs.rfm import RFM_HIGHER_IS_BETTER, rfm_from_worse
from ...logs.rules import (
    FEATURE_COLUMNS,
    HISTORY_COLUMNS,
    as_date,
    as_of_after,
    count_value,
    customer_id_sql,
    customer_queries,
    customers_dropped,
    ledger_and_checks,
)
from ...logs.typed_lines import (
    detect_date_format,
    diagnose_values,
    is_date_type,
)
from ...logs.window import parse_window
from ...progress import ProgressCallback
from ...reading import choose_delimiter, sample_rows, text_names
from .partitions import BAD_VALUES, output_schema, partition_features
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
#: Error conditions of values that do not convert on Spark (then diagnosed).
_BAD_VALUE = ("CAST_INVALID_INPUT", "CANNOT_PARSE_TIMESTAMP", "CANNOT_PARSE_DATETIME")
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
    for name in _BAD_VALUE:
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
    fmt = None if is_date_type(types[columns.date]) else _date_format(views, source, label, raw_view, columns.date)
    progress("checking order lines", 1, total_steps)
    progress("computing customer features", 2, total_steps)
    out, row, used_as_of = _Lines(views, label, names, types, columns, fmt).rows(wanted_as_of, window, purchase_days)
    try:
        check_names = customer_queries(columns, used_as_of, window=window)["check_names"]
        ledger, checks = ledger_and_checks(row, columns, check_names, label)
        found = count_value(row["customers_found"])
        customers, dropped, kept, history, histories, purchases = _customers(out, columns, found, label, purchase_days)
    finally:
        out.unpersist()
    progress("customer features ready", 3, total_steps)
    return TransactionFeatures(customers, ledger, checks, found, dropped, used_as_of,
                               columns, fmt, customers_kept=kept, history_days=history,
                               window=None if window is None else window.text, history=histories,
                               purchases=purchases)


def _date_format(views, source, label: str, raw_view: str, column: str) -> str:
    """The format of the text dates: read by DuckDB on the driver from files on this machine
    (`custseg.logs.duckdb_engine.text_date_format`: the same rule and values, without two Spark
    jobs), else found by Spark."""
    local = not hasattr(source, "schema") and "://" not in os.fspath(source)
    if local:
        try:
            return text_date_format(source, column, label)
        except InputError:         # a file DuckDB does not read as Spark does: Spark decides
            pass
    try:
        return detect_date_format(views.one_row, label, raw_view, column)
    except _spark_errors() as exc:
        raise _read_error(label, exc) from None


class _Lines:
    """A log's raw lines on Spark and how to read them (column roles, types, date format)."""

    def __init__(self, views, label, names, types, columns, fmt):
        self.views, self.label, self.names, self.types, self.columns, self.fmt = views, label, names, types, columns, fmt

    def rows(self, as_of, window, purchase_days: bool):
        """`per_customer` as of ``as_of``, or (None) as of the day after the log's last usable
        line: once when every partition's own day is the log's, else again with the log's.
        Returns the rows, the summed checks and the reference date."""
        out, row = self.per_customer(as_of, window, purchase_days)
        used = as_of or as_of_after(row["last_day"])
        if row["as_of"] - {used}:
            out.unpersist()
            out, row = self.per_customer(used, window, purchase_days)
        return out, row, used

    def per_customer(self, as_of, window, purchase_days: bool):
        """Every customer's lines sent to one partition (`customer_id_sql`; lines without an
        id by a hash of the line), and each
        partition's rows computed there by DuckDB (`partition_features`; ``as_of`` None: each
        as of the day after its own last usable line), cached; with the partitions' checks
        summed, their last usable day (``last_day``) and the reference dates they used (``as_of``)."""
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        views, key = self.views, "custseg_customer_key"
        while key in self.names:
            key += "_"
        keyed = views.sql(f"SELECT *, {customer_id_sql(self.columns)} AS {key} FROM {views.name('raw_lines')}")
        # Lines without a customer id (a quarter of some exports) are spread by a hash of the
        # whole line, not sent to one partition: exact copies still meet.
        line_hash = F.xxhash64(*[F.col("`" + name.replace("`", "``") + "`") for name in self.names])
        keyed = keyed.withColumn(key, F.coalesce(F.col(key), line_hash.cast("string")))
        work = functools.partial(partition_features, names=self.names, types=self.types, columns=self.columns,
                                 date_format=self.fmt, as_of=as_of, window=window, purchase_days=purchase_days)
        with quiet_pyspark():
            out = keyed.repartition(key).drop(key).mapInArrow(work, output_schema(self.columns))
        out = out.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            parts = [json.loads(r[0]) for r in out.where("kind = 'checks'").select("checks").collect()]
        except _spark_errors() as exc:
            out.unpersist()
            raise self.failure(exc) from None
        return out, _summed(parts)

    def failure(self, exc: BaseException) -> InputError | EngineError:
        """The error of a failed pass over the lines: values that do not convert named as the
        DuckDB path names them, else `_failed`."""
        if _condition(exc) not in _BAD_VALUE and BAD_VALUES not in str(exc):
            return _failed(self.label, exc)
        try:
            problem = diagnose_values(self.views.one_row, self.label, self.views.name("raw_lines"), self.types,
                                      self.columns, self.fmt)
        except _spark_errors():
            problem = None
        return problem or _failed(self.label, exc)


def _summed(parts: list[dict]) -> dict:
    """The partitions' checks added up (0 for a count none has), the latest ``last_day``, the
    set of ``as_of`` dates."""
    row: dict = collections.defaultdict(int)
    days, dates = [], set()
    for part in parts:
        days.append(part.pop("last_day"))
        dates.add(datetime.date.fromisoformat(part.pop("as_of")))
        for name, value in part.items():
            row[name] += value or 0
    found = [d for d in days if d is not None]
    row["last_day"] = datetime.date.fromisoformat(max(found)) if found else None
    row["as_of"] = dates
    return row


def _customers(out, columns: TransactionColumns, found: int, label: str, purchase_days: bool):
    """From the partitions' rows: the cached customer table, the customers dropped by reason,
    how many are kept, the history they cover (their longest tenure,
    `TransactionFeatures.history_days`), the cached value histories of the same customers
    (`HISTORY_FRAME_COLUMNS`, `custseg.engines.spark.value`) and, when asked for, the cached
    purchase days (else None)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    def cached(frame):
        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        frame.count()                # cached from the cached rows, before these are let go
        return frame

    rows = out.where("kind = 'customer'")
    try:
        counts = rows.groupBy("drop_reason").agg(F.count("*").alias("count"),
                                                 F.max("tenure_days").alias("longest")).collect()
        by_reason = {r["drop_reason"]: r["count"] for r in counts}
        history = longest_tenure(next((r["longest"] for r in counts if r["drop_reason"] is None), None))
        kept = by_reason.pop(None, 0)
        dropped = customers_dropped(found, kept + sum(by_reason.values()), by_reason, kept, label)
        customers = cached(rows.where("drop_reason IS NULL").select(*_renamed(columns)))
        histories = cached(rows.where("drop_reason IS NULL").select(*_history_columns()))
        purchases = (cached(out.where("kind = 'purchase'").select("customer_id", "day")) if purchase_days
                     else None)
    except _spark_errors() as exc:
        raise _failed(label, exc) from None
    return customers, dropped, kept, history, histories, purchases


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
