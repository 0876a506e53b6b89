"""The customer-table stage on Spark: one row per customer, built where the data lives.

The Spark engine replaces only the stage that grows with the raw data: reading, and for a
transaction log the ledger, checks and per-customer features of every order line (Spark SQL
from the one DuckDB definition, `custseg.engines.spark.transactions`). Everything after it (cleaning,
features, the search and the choice, profiles, the report, the model file) is the same code
as on one machine, run on the customer table: so the two engines give the same answers by
construction, not by keeping two copies of each rule in step.

The customer table reaches the driver only when it is bounded: at most
``Settings.fit_sample`` customers (100,000 by default, a few MB), the size above which the
local engine also fits K-Means on a sample. Its ids and features are a per-customer
aggregate, never the order lines. With more customers the run is fitted on a seeded sample
of that size, and a `Population` then puts every customer into a segment on the executors
with the run's own model (`assign_spark`): only counts come back.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from ...engines import is_spark_frame
from ...errors import InputError, SettingsError
from ...explaining.actions import suggest_actions, with_value_actions
from ...explaining.profile import describe
from ...inputs import join_customers, source_of
from ...logs.columns import TransactionColumns, detect_transaction_columns
from ...logs.rfm import RFM_SEGMENTS
from ...logs.shapes import LogShape, log_by_shape
from ...preparing.clean import check_columns
from ...settings import Settings
from ...valuing.customer_value import ValueOptions
from ...valuing.scores import SCORE_COLUMNS
from ...valuing.stored import STORED_COLUMNS
from .session import DEFAULT_MASTER, SIZED_BY_CUSTSEG, quiet_pyspark, spark_session
from .value import (
    fit_on_driver,
    holdout_on_spark,
    score_on_executors,
    score_stored_on_executors,
    value_everyone,
)
from .watchdog import watched

#: Rows of a file the Spark engine looks at to tell a log by its shape (an id that repeats on
#: most rows and an order date): an export sorted by customer or by date shows both at once.
SHAPE_SAMPLE_ROWS = 100_000
#: Rows per part file of the Parquet folders custseg writes (a few tens of MB each).
ROWS_PER_PART_FILE = 1_000_000
#: Input bytes per shuffle partition when custseg sizes a run's shuffles.
BYTES_PER_SHUFFLE_PARTITION = 64 * 2**20
#: Most shuffle partitions custseg asks for (Spark's adaptive execution merges small ones).
MAX_SHUFFLE_PARTITIONS = 2_000
SPARK_DEFAULT_SHUFFLE_PARTITIONS = "200"
#: The roles of a log's columns that the Spark engine takes as overrides.
LOG_ROLES = ("customer", "invoice", "date", "quantity", "price", "amount")


def session_for(data, settings: Settings):
    """The session that owns ``data``, or one on ``settings.spark_master`` (``local[*]``)."""
    if is_spark_frame(data):
        return data.sparkSession
    return spark_session(settings.spark_master or DEFAULT_MASTER, executor_timeout=settings.spark_executor_timeout)


def part_files(rows: int) -> int:
    """Part files for a Parquet folder of ``rows`` rows: one per `ROWS_PER_PART_FILE`.

    Examples
    --------
    >>> part_files(0), part_files(300_000), part_files(2_500_000)
    (1, 1, 3)
    """
    return max(1, -(-int(rows) // ROWS_PER_PART_FILE))


def shuffle_partitions(input_bytes: int | None, cores: int) -> int:
    """Shuffle partitions for a run over ``input_bytes`` of input on ``cores`` cores: one per
    `BYTES_PER_SHUFFLE_PARTITION`, at least two per core (all cores busy), at most
    `MAX_SHUFFLE_PARTITIONS`; two per core when the size is unknown.

    Examples
    --------
    >>> shuffle_partitions(40 * 2**20, 2), shuffle_partitions(2 * 2**30, 2), shuffle_partitions(None, 8)
    (4, 32, 16)
    """
    least = max(2, 2 * int(cores))
    if not input_bytes:
        return least
    return int(min(MAX_SHUFFLE_PARTITIONS, max(least, -(-int(input_bytes) // BYTES_PER_SHUFFLE_PARTITION))))


def _input_bytes(frame) -> int | None:
    """Bytes of a DataFrame's input files when they are on this machine, else None."""
    try:
        files = frame.inputFiles()
    except Exception:          # a DataFrame not read from files, or Spark Connect
        return None
    paths = [f[len("file:"):] if f.startswith("file:") else f for f in files]
    if not paths or not all(os.path.isfile(p) for p in paths):
        return None
    return sum(os.path.getsize(p) for p in paths)


def size_shuffles(spark, frame) -> None:
    """Set ``spark.sql.shuffle.partitions`` to `shuffle_partitions` of ``frame``'s input and
    the cluster's cores, unless the session's value is one its user chose (not Spark's
    default 200, nor one custseg set before)."""
    try:
        current = spark.conf.get("spark.sql.shuffle.partitions")
        ours = spark.conf.get(SIZED_BY_CUSTSEG, None)
        cores = spark.sparkContext.defaultParallelism
    except Exception:          # Spark Connect: no SparkContext; its server sizes the shuffles
        return
    if current not in (SPARK_DEFAULT_SHUFFLE_PARTITIONS, ours):
        return
    partitions = str(shuffle_partitions(_input_bytes(frame), cores))
    spark.conf.set("spark.sql.shuffle.partitions", partitions)
    spark.conf.set(SIZED_BY_CUSTSEG, partitions)


def _master(spark) -> str:
    try:
        return str(spark.sparkContext.master)
    except Exception:          # Spark Connect has no SparkContext on the client
        return "Spark Connect"


def customer_table_spark(data, settings: Settings, progress):
    """The input as one row per customer, computed on Spark.

    Returns what `custseg.pipeline`'s local stage returns: the customer table (pandas, on
    the driver: every customer, or a seeded sample of ``settings.fit_sample`` when there are
    more), a description of the source, the transaction features (None for a customer
    table), and a `Population` of every customer when only a sample reached the driver
    (else None).

    Raises
    ------
    InputError
        As the local engine for bad input.
    EngineError
        Spark cannot start or fails for a reason other than the data.
    """
    if settings.missing == "drop":
        raise SettingsError("--missing drop is not available on the Spark engine yet; use --missing impute "
                            "or the local engine")
    progress("starting Spark", 0, 1)
    spark = session_for(data, settings)
    warnings: list[str] = []

    def warn(line: str) -> None:
        warnings.append(line)
        progress(f"warning: {line}", 0, 1)

    with watched(spark, settings.spark_executor_timeout, on_warning=warn):
        customers, source, transactions, population = _customer_table(spark, data, settings, progress)
    if warnings:
        source["spark_warnings"] = warnings
    return customers, source, transactions, population


def _customer_table(spark, data, settings: Settings, progress):
    """`customer_table_spark` on a session, its Spark jobs watched by the caller."""
    from .transactions import (
        customers_from_transactions_spark,
        open_lines,
        sample_customers,
    )

    raw, label = open_lines(spark, data)
    size_shuffles(spark, raw)
    engine = {"engine": "spark", "spark_master": _master(spark)}
    kind, overrides, by_shape = _input_kind(raw, label, settings)
    if kind == "transactions":
        progress("computing customer features from order lines on Spark", 0, 1)
        features = customers_from_transactions_spark(
            spark, raw, overrides=overrides, as_of=settings.as_of, on_progress=progress, label=label,
            window=settings.window,
            purchase_days=settings.value != "off" and ValueOptions.from_settings(settings).holdout != "off",
        )
        rows = features.customers_kept
        population = None
        if rows > settings.fit_sample:
            if settings.customers_file:
                raise InputError(
                    f"{label}: --customers joins on the driver, which takes at most fit_sample = "
                    f"{settings.fit_sample:,} customers; this log has {rows:,}"
                )
            population = Population(features.customers, rows, label, transactions=True,
                                    executor_timeout=settings.spark_executor_timeout,
                                    history=None if settings.value == "off" else features.history,
                                    purchases=features.purchases, as_of=features.as_of)
        size = min(rows, settings.fit_sample)
        try:
            customers = sample_customers(features, size, random_state=settings.random_state)
        finally:
            if population is None:
                features.customers.unpersist()
        if settings.value == "off":
            features.history.unpersist()
            features = dataclasses.replace(features, history=None)
        transactions = dataclasses.replace(features, customers=customers)
        source = {**_spark_source(data, "transactions"), **engine}
        if by_shape is not None:
            source["log_by_shape"] = by_shape.describe()
        if settings.customers_file:
            customers = join_customers(customers, settings.customers_file, source)
        return customers, source, transactions, population
    progress("reading customers on Spark", 0, 1)
    rows = raw.count()
    population = None
    if rows > settings.fit_sample:
        population = Population(raw, rows, label, executor_timeout=settings.spark_executor_timeout)
        raw = raw.orderBy(_row_hash(raw, settings.random_state)).limit(settings.fit_sample)
    with quiet_pyspark():
        frame = raw.toPandas()
    frame = frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
    return frame, {**_spark_source(data, "customers"), **engine}, None, population


def _input_kind(raw, label: str, settings: Settings) -> tuple[str, dict, LogShape | None]:
    """``"transactions"`` or ``"customers"`` as the local engine decides it: as given, else a
    log by its names, else by its shape (`log_by_shape`) on the first `SHAPE_SAMPLE_ROWS` rows.

    Returns the kind, the column overrides for the log (the roles its shape decided added to
    those given) and the shape of a log found by its shape (else None).
    """
    overrides = settings.transaction_overrides
    if settings.kind != "auto":
        return settings.kind, overrides, None
    if detect_transaction_columns([str(c) for c in raw.columns], overrides) is not None:
        return "transactions", overrides, None
    with quiet_pyspark():
        head = raw.limit(SHAPE_SAMPLE_ROWS).toPandas()
    by_shape = log_by_shape(head.astype("string"), label, overrides)
    if by_shape is None:
        return "customers", overrides, None
    found, shape = by_shape
    roles = {role: getattr(found, role) for role in LOG_ROLES if getattr(found, role)}
    return "transactions", {**overrides, **roles}, shape


def _row_hash(frame, random_state: int):
    """A seeded hash of every column of a row: the order of the customer-table sample."""
    from pyspark.sql import functions as F

    return F.xxhash64(*[F.col(f"`{c}`") for c in frame.columns], F.lit(int(random_state)))


def _spark_source(data, kind: str) -> dict:
    if is_spark_frame(data):
        return {"path": None, "name": "Spark DataFrame", "format": "spark", "kind": kind}
    return source_of(data, kind)


# --------------------------------------------------------------------------- every customer


@dataclass
class Population:
    """Every customer on Spark, when only a seeded sample of them reached the driver.

    The run is fitted on the sample. `complete` then puts every customer into a segment
    with the run's model on the executors (`custseg.model.Model.assign`, the code of
    ``custseg assign``), and counts the ledger, the segment sizes and, for a log, the RFM
    scores over all of them; only these counts come back to the driver.
    """

    frame: object                 # Spark DataFrame: one row per customer (or input row)
    rows: int
    label: str
    transactions: bool = False
    executor_timeout: float = 120.0
    segments: object = field(default=None, repr=False)   # Spark DataFrame, after `complete`
    rfm_summary: dict | None = None
    source: dict | None = field(default=None, repr=False)   # the run's, for warnings
    #: A log's value histories on Spark (`custseg.engines.spark.transactions.HISTORY_FRAME_COLUMNS`),
    #: for the value step over every customer; None for a table or with ``--value off``.
    history: object = field(default=None, repr=False)
    #: A log's purchase days on Spark (``customer_id``, ``day``) for the value model's holdout
    #: check over every customer, and the run's reference date; None without the check.
    purchases: object = field(default=None, repr=False)
    as_of: object = None
    columns: list = field(default_factory=list, repr=False)   # of segments.parquet

    def _watched(self):
        """The Spark jobs of a step watched (`custseg.engines.spark.watchdog.watched`); a lost
        executor's warning goes to the run's source (``spark_warnings``)."""

        def warn(line: str) -> None:
            if self.source is not None:
                self.source.setdefault("spark_warnings", []).append(line)

        return watched(self.frame.sparkSession, self.executor_timeout, on_warning=warn)

    def complete(self, result) -> None:
        """Assign every customer, then set the result's ledger, sizes and RFM summary to
        counts over all of them (profiles stay those of the fitted sample)."""
        self.source = result.source
        with self._watched():
            self._complete(result)

    def _complete(self, result) -> None:
        from pyspark import StorageLevel

        model = result.model
        if model.roles.id is None:
            raise InputError(
                f"{self.label}: {self.rows:,} rows and no customer id column; the Spark engine needs one "
                f"to put more than fit_sample = {result.settings.fit_sample:,} customers into segments (give --id)"
            )
        key = model.roles.id
        assigned, with_id = assign_spark(model, self.frame, one_row_per_id=self.transactions)
        segments = assigned.where("usable").drop("usable")
        if self.transactions:
            from .transactions import rfm_scores_spark

            segments = segments.join(rfm_scores_spark(self.frame, key, self.rows), on=key, how="left")
        self.columns = list(segments.columns)
        fitted = self._fit_value(result)
        if fitted is not None:
            scored = score_on_executors(self.history, fitted).withColumnRenamed("id", key)
            segments = segments.join(scored, on=key, how="left")
            self.columns += [*SCORE_COLUMNS, "year_spend"]     # as segments.csv: the scores, then year_spend
        self.segments = segments.persist(StorageLevel.MEMORY_AND_DISK)
        counts = {r["usable"]: r["count"] for r in assigned.groupBy("usable").count().collect()}
        sizes = {r["segment"]: r["count"] for r in self.segments.groupBy("segment").count().collect()}
        ledger = result.table.ledger
        ledger.rows_read = self.rows
        ledger.rows_dropped = {}
        ledger.cells_counted_on = len(result.labels)
        with_id = self.rows if with_id is None else with_id
        ledger.drop("missing id", self.rows - with_id)
        ledger.drop("duplicate id", with_id - sum(counts.values()))
        ledger.drop("no usable feature value", counts.get(False, 0))
        used = ledger.rows_used
        for item in result.segment_info:
            item["size"] = int(sizes.get(item["id"], 0))
            item["share"] = item["size"] / used if used else 0.0
            item["description"] = describe(item)          # its sentences state the size
            item["actions"] = suggest_actions(item, result.table.roles.features)
        if self.transactions:
            self.rfm_summary = _rfm_summary(self.segments, self.frame, key)
        if fitted is not None:
            holdout = holdout_on_spark(fitted.options, self.purchases, self.as_of, self.history)
            result.value = value_everyone(self.segments, key, fitted, result.table.ids.to_numpy(), holdout=holdout)
            with_value_actions(result.segment_info, result.value.segments(result.labels))
        result.found.sampling["driver"] = {"used": True, "customers": used, "sample_size": len(result.labels),
                                           "threshold": result.settings.fit_sample}
        result.population = self
        assigned.unpersist()

    def _fit_value(self, result):
        """The value models fitted on the driver (`custseg.engines.spark.value.fit_on_driver`)
        for a log whose run values its customers; else None."""
        transactions = result.transactions
        if self.history is None or transactions is None or result.settings.value == "off":
            return None
        settings = result.settings
        options = ValueOptions.from_settings(settings)
        return fit_on_driver(self.history, transactions.columns, options, money=transactions.columns.has_money,
                             random_state=settings.random_state)

    def write(self, out: Path) -> dict[str, Path]:
        """``segments.parquet/`` (every customer) and, for a log, ``features.parquet/``."""
        with self._watched():
            segments = self.segments.select(*[f"`{c}`" for c in self.columns])
            paths = {"segments_parquet": write_parquet_folder(segments, out / "segments.parquet", rows=self.rows)}
            if self.transactions:
                paths["features_parquet"] = write_parquet_folder(self.frame, out / "features.parquet", rows=self.rows)
        return paths

    def release(self) -> None:
        """Let Spark drop the cached customers and segments (after the last `write`)."""
        for frame in (self.segments, self.frame, self.history, self.purchases):
            if frame is not None and frame.is_cached:
                frame.unpersist()


def assign_spark(model, frame, *, one_row_per_id: bool = False):
    """Every customer of a Spark table put into a segment by ``model``, on the executors.

    The model's own `custseg.model.Model.assign` runs on each batch (``mapInPandas``): the
    code of ``custseg assign``, not a second copy of the cleaning, transforms and
    assignment. As the local engine, rows without an id are dropped and of rows sharing an
    id the first is kept (first in a seeded order: Spark rows have none).

    Parameters
    ----------
    model : Model
        With an id column (``model.roles.id``).
    frame : pyspark.sql.DataFrame
        The customers, with the columns the model was fitted on.
    one_row_per_id : bool
        The ids are known to be present and unique (a log's customer table): no check.

    Returns
    -------
    assigned : pyspark.sql.DataFrame
        Cached; columns: the id (string), ``segment``, ``segment_name``, ``usable`` (False
        for rows with no usable feature value, segment -1).
    with_id : int or None
        Rows with an id (None when ``one_row_per_id``).
    """
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    key = model.roles.id
    column = F.col(f"`{key}`")
    ided = frame.withColumn(key, column.cast("string"))
    unique, with_id = ided, None
    if not one_row_per_id:
        present = ided.where(column.isNotNull())
        order = Window.partitionBy(column).orderBy(_row_hash(frame, 0))
        unique = present.withColumn("_custseg_n", F.row_number().over(order)).where("_custseg_n = 1").drop("_custseg_n")
        with_id = present.count()
    schema = f"`{key}` string, segment long, usable boolean"
    names = F.create_map(*[F.lit(x) for item in sorted(model.segment_names.items()) for x in item])
    with quiet_pyspark():
        assigned = unique.mapInPandas(_assigning(model, key), schema)
    assigned = assigned.select(
        column, "segment", F.coalesce(names[F.col("segment")], F.lit(model.name_of(-1))).alias("segment_name"),
        "usable").persist(StorageLevel.MEMORY_AND_DISK)
    return assigned, with_id


def assign_file_spark(model, data, out, *, as_of: str | None = None,
                      master: str | None = None) -> tuple[Path, int, int, date | None]:
    """``custseg assign --engine spark``: the customers of ``data`` (or, for a model fitted on a
    transaction log, its order lines' customers) put into the model's segments on Spark, and
    written as a Parquet folder (id, segment, segment_name; rows with no usable feature value
    left out). For a log's model with value parameters (``model.value``) each customer's
    value (`custseg.valuing.stored.STORED_COLUMNS`) follows, scored on the executors as of
    the snapshot's reference date, as ``custseg assign`` scores it on one machine.

    Returns the folder, the customers assigned, the rows read and, for a log, the snapshot's
    reference date (else None).
    """
    settings = Settings(spark_master=master)
    spark = session_for(data, settings)
    with watched(spark, settings.spark_executor_timeout):
        return _assign_file(spark, model, data, out, as_of)


def _assign_file(spark, model, data, out, as_of: str | None) -> tuple[Path, int, int, date | None]:
    from .transactions import customers_from_transactions_spark, open_lines

    history, used_as_of = None, None
    if model.transactions is not None:
        columns = TransactionColumns.from_dict(model.transactions["columns"])
        features = customers_from_transactions_spark(spark, data, columns, as_of=as_of or model.transactions["as_of"],
                                                     window=model.transactions.get("window"))
        history, used_as_of = features.history, features.as_of
        if model.value is None:
            history.unpersist()               # nothing to value the customers with
            history = None
        frame, rows, one_row_per_id = features.customers, features.customers_kept, True
    else:
        frame, label = open_lines(spark, data)
        if model.roles.id is None or model.roles.id not in frame.columns:
            raise InputError(f"{label}: the Spark engine assigns customers by id, and the data has no column "
                             f"{model.roles.id or '(the model has no id column)'!r}; use the local engine")
        check_columns(frame.columns, model.roles, model.cleaning)
        size_shuffles(spark, frame)
        rows, one_row_per_id = frame.count(), False
    assigned, _ = assign_spark(model, frame, one_row_per_id=one_row_per_id)
    try:
        usable = assigned.where("usable").drop("usable")
        if history is not None:
            usable = _with_value(usable, history, model)
        path = write_parquet_folder(usable, out, rows=rows)
        return path, usable.count(), rows, used_as_of
    finally:
        assigned.unpersist()
        if history is not None:
            history.unpersist()


def _with_value(assigned, history, model):
    """The assigned customers with their value (`custseg.valuing.stored.STORED_COLUMNS`),
    scored on the executors with the model file's parameters as of the snapshot's date
    (`score_stored_on_executors`): the columns of ``custseg assign`` on one machine."""
    key = model.roles.id
    scored = score_stored_on_executors(history, model.value).withColumnRenamed("id", key)
    with quiet_pyspark():
        return assigned.join(scored, on=key, how="left").select(
            f"`{key}`", "segment", "segment_name", *STORED_COLUMNS)


def _assigning(model, key: str):
    """The function `mapInPandas` runs on each executor: the model's assignment of a batch."""

    def run(batches):
        for batch in batches:
            _, labels, usable = model.assign(batch.reset_index(drop=True))
            yield pd.DataFrame({key: batch[key].to_numpy(), "segment": labels, "usable": usable})

    return run


def _rfm_summary(segments, customers, key: str) -> dict:
    """`custseg.pipeline.Result`'s RFM summary, from aggregates over every customer: sizes,
    approximate medians (Spark's ``percentile_approx``) and the crosswalk to the segments."""
    from pyspark.sql import functions as F

    values = ["recency_days", "frequency", "monetary"]
    joined = segments.join(customers.select(F.col(f"`{key}`").cast("string").alias(key), *values), on=key)
    rows = joined.groupBy("rfm_segment").agg(
        F.count("*").alias("size"), *[F.percentile_approx(c, 0.5, 100_000).alias(c) for c in values]).collect()
    found = {r["rfm_segment"]: r for r in rows}
    total = sum(r["size"] for r in rows)
    out = []
    for name, info in RFM_SEGMENTS.items():
        if name in found:
            row = found[name]
            out.append({"name": name, "size": int(row["size"]), "share": row["size"] / total,
                        "description": info["description"], "actions": info["actions"],
                        "median": {c: float(row[c]) for c in values}})
    cells = segments.groupBy("rfm_segment", "segment").count().collect()
    crosswalk: dict = {}
    for r in sorted(cells, key=lambda r: (r["rfm_segment"], r["segment"])):
        crosswalk.setdefault(str(r["rfm_segment"]), {})[str(r["segment"])] = int(r["count"])
    ids = sorted({int(r["segment"]) for r in cells})
    crosswalk = {name: {str(i): per.get(str(i), 0) for i in ids} for name, per in crosswalk.items()}
    return {"segments": out, "crosswalk": crosswalk}


# --------------------------------------------------------------------------- outputs


def write_segments_parquet(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a pandas table of segments (on the driver) as a Parquet folder in Spark's layout
    (``part-00000.parquet`` and ``_SUCCESS``), with DuckDB: no executor touches the driver's
    disk. Atomic as `write_parquet_folder`."""
    import duckdb

    plain = frame.astype({c: "string" for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])})

    def write(folder: Path) -> None:
        folder.mkdir()
        with duckdb.connect() as con:
            con.register("segments", plain)
            target = str(folder / "part-00000.parquet").replace("'", "''")
            con.execute(f"COPY segments TO '{target}' (FORMAT parquet)")
        (folder / "_SUCCESS").touch()

    return _replace_folder(path, write)


def write_parquet_folder(frame, path: str | os.PathLike, *, rows: int | None = None) -> Path:
    """Write a Spark DataFrame as a Parquet folder (part files and ``_SUCCESS``), atomically:
    into a temporary folder beside ``path``, renamed into place when complete (a previous
    folder is replaced; an interrupted run leaves the old one or none). On a cluster the
    folder must be on storage that the driver and every executor share.

    With ``rows`` (the frame's rows, or a bound on them) the folder holds `part_files`
    ``(rows)`` part files, not one per partition of the frame."""

    def write(folder: Path) -> None:
        parts = frame if rows is None else frame.coalesce(part_files(rows))
        with quiet_pyspark():
            parts.write.parquet(str(folder.resolve()))

    return _replace_folder(path, write)


def _replace_folder(path: str | os.PathLike, write) -> Path:
    """Run ``write(temporary folder)`` beside ``path``, then rename the folder to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{uuid.uuid4().hex[:10]}.tmp"
    try:
        write(temporary)
        old = path.parent / f".{path.name}.{uuid.uuid4().hex[:10]}.old"
        if path.exists():
            os.replace(path, old)
        os.replace(temporary, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return path
