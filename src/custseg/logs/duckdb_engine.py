"""The local engine: `customers_from_transactions` reads a transaction log with DuckDB,
straight from the file(s), applies the rules of `custseg.logs.rules` (every line accounted
for in a ledger), and returns one row of behaviour per customer (`TransactionFeatures`).

Reading
-------
* CSV/TSV (also ``.gz``) is read by DuckDB's ``read_csv`` with explicit types: the customer,
  invoice, product and attribute columns (and every other column) as text, quantity, price
  and amount as DOUBLE, the date as TIMESTAMP with an explicit format found on a sample of the
  values (``%Y-%m-%d %H:%M:%S``, ``%m/%d/%Y %H:%M``, ``%Y%m%d``, ...; when day-first and
  month-first both fit the sample, the whole column decides). Parquet is read by
  ``read_parquet``; a glob such as ``"daily/*.csv"`` reads every matching file with
  ``union_by_name``. A CSV without a header row is read with ``header = false`` and columns
  ``column_1..n`` (see `custseg.reading.text_layout`). Excel (every sheet whose header matches
  the first, stacked), JSON, and whitespace-aligned or fixed-width text are read by pandas
  (`custseg.reading.read_table`) and, like a DataFrame given directly, registered as a DuckDB
  view: only these inputs pass through pandas; delimited file lines never do. A ``.zip`` or
  ``.tar`` archive holding one table is extracted to the private temporary folder first.
  The ``sheet`` column added to stacked sheets records where a line came from; it is not
  part of a line's identity (a line repeated on two sheets is an exact duplicate).
* DuckDB runs with ``DUCKDB_THREADS`` (2) threads, a ``DUCKDB_MEMORY_LIMIT`` (3 GB) memory
  limit and a private temporary folder to spill to, so memory stays bounded on large logs
  (100,000,000 lines: 3.3 GiB peak; at 2 GB the duplicate detection cannot finish).
* Customer ids, invoices and product codes are compared as trimmed text; a whole number
  stored as a float (``17850.0``) is written ``17850``.
* Dates that do not parse, and quantity, price or amount values that are not numbers, stop
  the run with an `InputError` that names the file, the column, how many values fail and one
  of them.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError, SettingsError
from ..progress import ProgressCallback
from ..reading import ReadOptions, archive_kind, read_table, unpacked
from ..reading.dates import strftime_pattern
from .columns import TransactionColumns, detect_transaction_columns
from .files import csv_layout, duckdb_encoding, file_kind, input_files
from .result import TransactionFeatures, customer_table, history_table, purchase_table
from .rules import (
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
from .sqltext import sql_literal
from .typed_lines import (
    detect_date_format,
    diagnose_values,
    is_date_type,
    numeric_columns,
    typed_lines_query,
)
from .window import Window, parse_window

__all__ = ["DUCKDB_MEMORY_LIMIT", "DUCKDB_THREADS", "create_lines", "customers_from_transactions", "duckdb_config",
           "text_date_format"]

#: DuckDB settings: set deliberately (two cores; do not compete with scikit-learn).
DUCKDB_THREADS = 2
DUCKDB_MEMORY_LIMIT = "3GB"
#: Steps reported to ``on_progress``.
_STEPS = 3


# --------------------------------------------------------------------------- opening


@dataclass
class _Source:
    """An input opened in DuckDB as the view ``raw_lines`` (column names stripped)."""

    label: str                       # for messages: the path, or "the DataFrame"
    names: list[str]                 # column names
    types: dict[str, str]            # name -> DuckDB type as read without explicit types
    csv: dict | None = None          # read_csv arguments for CSV inputs
    varchar_sql: str | None = None   # relation with every column as text (for diagnosis)
    reading: dict = field(default_factory=dict)   # what was read: layout, header, member, sheets, ...
    provenance: str | None = None    # column added by the reader (the sheet), not part of a line


def _read_csv_sql(options: dict, types: dict[str, str] | None = None) -> str:
    """A DuckDB ``read_csv`` call: every column text unless ``types`` says otherwise.

    With ``options["columns"]`` (every file has that header) nothing is sniffed: the columns
    and their types are given explicitly. Otherwise files are matched by column name
    (``union_by_name``) and DuckDB sniffs the dialect details of each.
    """
    types = types or {}
    listed = "[" + ", ".join(sql_literal(f) for f in options["files"]) + "]"
    header = "true" if options.get("header", True) else "false"
    args = [
        listed, f"header = {header}", f"delim = {sql_literal(options['delim'])}", "quote = '\"'",
        "escape = '\"'", f"encoding = {sql_literal(options['encoding'])}", "filename = false",
    ]
    if options.get("columns"):
        struct = ", ".join(
            f"{sql_literal(name)}: {sql_literal(types.get(name, 'VARCHAR'))}" for name in options["columns"]
        )
        args += ["auto_detect = false", "null_padding = true", f"columns = {{{struct}}}"]
    else:
        args += ["all_varchar = true", "union_by_name = true"]
        if types:
            typed = ", ".join(f"{sql_literal(k)}: {sql_literal(v)}" for k, v in types.items())
            args.append(f"types = {{{typed}}}")
    if types and options.get("timestampformat"):
        args.append(f"timestampformat = {sql_literal(options['timestampformat'])}")
    return "read_csv(" + ", ".join(args) + ")"


def _describe(con, relation: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _duck_error(label: str, exc: Exception) -> InputError:
    import duckdb

    if isinstance(exc, duckdb.OutOfMemoryException):
        return _out_of_memory(label, exc)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    detail = "; ".join(lines[:3]) if lines else type(exc).__name__
    return InputError(f"{label} could not be read: {detail}")


def _open(con, source, read=None, label: str | None = None) -> _Source:
    """Open ``source`` in DuckDB as the view ``raw_lines``.

    ``read`` is a `custseg.reading.ReadOptions` (sheet, header); ``label`` names the input in
    messages (default the path).
    """
    read = read or ReadOptions()
    if isinstance(source, pd.DataFrame):
        return _open_frame(con, source, "the DataFrame")
    path = os.fspath(source)
    files = input_files(path)
    kind, _ = file_kind(files[0])
    label = label or path
    if read.sheet is not None and kind != "excel":
        raise InputError(f"--sheet applies to Excel workbooks; {label} is not one")
    if kind == "parquet":
        return _open_parquet(con, files, label)
    if kind == "text":
        layouts = [csv_layout(f, read.header) for f in files]
        if all(layout.kind == "delimited" for layout in layouts):
            return _open_csv(con, files, layouts, label)
    if len(files) > 1:
        raise InputError(f"{path}: a glob of {kind} files is not supported; use CSV or Parquet files")
    return _open_with_pandas(con, files[0], read, label)


def _open_parquet(con, files: list[str], label: str) -> _Source:
    """Parquet files opened by DuckDB's ``read_parquet`` as the view ``raw_lines``."""
    import duckdb

    listed = "[" + ", ".join(sql_literal(f) for f in files) + "]"
    relation = f"read_parquet({listed}, union_by_name = true)"
    try:
        types = _describe(con, relation)
    except duckdb.Error as exc:
        raise _duck_error(label, exc) from None
    con.execute(f"CREATE VIEW raw_lines AS SELECT * FROM {relation}")
    return _Source(label, list(types), types, varchar_sql="raw_lines", reading={"format": "parquet"})


def _open_csv(con, files: list[str], layouts: list, label: str) -> _Source:
    """Delimited text files opened by DuckDB's ``read_csv`` as the view ``raw_lines``."""
    import duckdb

    headers = [(layout.names + layout.extra, layout.delimiter, duckdb_encoding(layout.encoding), layout.header)
               for layout in layouts]
    names, delim, encoding, header = headers[0]
    same = all(h == headers[0] for h in headers)
    options = {"files": files, "delim": delim, "encoding": encoding, "header": header,
               "columns": names if same else None}
    relation = _read_csv_sql(options)
    try:
        types = _describe(con, relation)
    except duckdb.Error as exc:
        raise _duck_error(label, exc) from None
    con.execute(f"CREATE VIEW raw_lines AS SELECT * FROM {relation}")
    reading = {"format": "tsv" if delim == "\t" else "csv", "encoding": layouts[0].encoding,
               "delimiter": delim, "layout": "delimited", "header": header}
    return _Source(label, list(types), types, csv=options, varchar_sql="raw_lines", reading=reading)


def _open_frame(con, frame: pd.DataFrame, label: str) -> _Source:
    if frame.shape[0] == 0:
        raise InputError(f"{label} has no rows")
    frame = frame.rename(columns=lambda c: str(c).strip())
    if frame.columns.duplicated().any():
        repeated = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise InputError(f"{label} has duplicate column names: {', '.join(map(repr, repeated))}")
    converted = {
        name: frame[name].astype("string")
        for name in frame.columns
        if frame[name].dtype == object or isinstance(frame[name].dtype, pd.CategoricalDtype)
    }
    if converted:
        frame = frame.assign(**converted)
    con.register("source_frame", frame)
    con.execute("CREATE VIEW raw_lines AS SELECT * FROM source_frame")
    types = _describe(con, "raw_lines")
    return _Source(label, list(types), types, varchar_sql="raw_lines")


def _open_with_pandas(con, file: str, read, label: str) -> _Source:
    """A file only pandas reads (Excel, JSON, aligned or fixed-width text), by
    `custseg.reading.read_table`, registered as the view ``raw_lines``."""
    frame, table_source = read_table(file, read)
    src = _open_frame(con, frame, label)
    src.reading = {k: v for k, v in table_source.to_dict().items() if k not in ("path", "name", "rows", "columns")}
    src.provenance = table_source.sheet_column
    return src


# --------------------------------------------------------------------------- typing


def _typed_view(con, src: _Source, columns: TransactionColumns,
                date_format: str | None = None) -> tuple[str | None, list[str]]:
    """Create the view ``source_lines``: the lines with numbers as DOUBLE and the date a TIMESTAMP
    (text dates parsed with ``date_format`` when given, else with the format detected).

    Returns the date format used (None when the column is already a date) and the columns.
    """
    numeric = numeric_columns(columns)
    is_date = is_date_type(src.types[columns.date])
    fetch_one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
    if is_date:
        fmt = None
    elif date_format:
        fmt = strftime_pattern(date_format)
    else:
        fmt = detect_date_format(fetch_one, src.label, src.varchar_sql, columns.date)
    if src.csv is not None:
        types = {name: "DOUBLE" for name in numeric}
        types[columns.date] = "TIMESTAMP"
        options = dict(src.csv)
        if fmt != "iso":
            options["timestampformat"] = fmt
        relation = _read_csv_sql(options, types)
        con.execute(f"CREATE VIEW source_lines AS SELECT * FROM {relation}")
        return fmt, src.names
    con.execute(f"CREATE VIEW source_lines AS {typed_lines_query(src.names, src.types, columns, fmt)}")
    return fmt, src.names


def text_date_format(source, column: str, label: str | None = None) -> str:
    """The format of a column's text dates in files on this machine, found as
    `customers_from_transactions` finds it (`custseg.logs.typed_lines.detect_date_format` on
    the column as text). The Spark engine asks it for local files: DuckDB reads one column of
    them in less time than a Spark job takes to start.

    Raises InputError when the files cannot be read or the column holds no dates.
    """
    import duckdb

    with duckdb.connect(config={"threads": DUCKDB_THREADS}) as con:
        con.execute("SET enable_progress_bar = false")
        src = _open(con, source, label=label)
        try:
            return detect_date_format(lambda sql: con.execute(sql).fetchone(), src.label, src.varchar_sql, column)
        except duckdb.Error as exc:
            raise _duck_error(src.label, exc) from None


def _diagnose(con, src: _Source, columns: TransactionColumns, fmt: str | None) -> InputError | None:
    """An InputError naming the column, count and an example of values that do not convert."""
    return diagnose_values(lambda sql: con.execute(sql).fetchone(), src.label, src.varchar_sql,
                           src.types, columns, fmt)


# --------------------------------------------------------------------------- running


def _out_of_memory(label: str, exc: Exception) -> InputError:
    return InputError(
        f"{label}: DuckDB ran out of memory at its {DUCKDB_MEMORY_LIMIT} limit "
        f"(custseg.logs.duckdb_engine.DUCKDB_MEMORY_LIMIT) while aggregating the order lines: "
        f"{str(exc).splitlines()[0]}"
    )


def _materialise_lines(con, src: _Source, columns: TransactionColumns, fmt: str | None, names: list[str]) -> None:
    """Create the temporary table ``lines`` (`create_lines`); bad values become an InputError."""
    import duckdb

    try:
        create_lines(con, columns, names, bad_values=lambda: _diagnose(con, src, columns, fmt) is not None)
    except duckdb.OutOfMemoryException:
        raise
    except duckdb.Error as exc:
        raise (_diagnose(con, src, columns, fmt) or _duck_error(src.label, exc)) from None


def create_lines(con, columns: TransactionColumns, names: list[str], source: str = "source_lines",
                 bad_values=lambda: False) -> str:
    """Create the temporary table ``lines`` (`custseg.logs.rules.lines_query` on ``source``),
    with line values as `MONEY`, or as `WIDE_MONEY` when a line is worth too much for it.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    columns : TransactionColumns
    names : list of str
        Every column of ``source``.
    source : str
        The typed lines (`custseg.logs.typed_lines.typed_lines_query`).
    bad_values : callable
        Whether ``source`` has values that do not convert (then a conversion error is theirs,
        not a line worth too much).

    Returns
    -------
    str
        The type of line values used. DuckDB's errors propagate.
    """
    import duckdb

    try:
        con.execute(f"CREATE TEMP TABLE lines AS {lines_query(columns, names, source, money=MONEY)}")
        return MONEY
    except duckdb.ConversionException as exc:
        if "DECIMAL" not in str(exc) or bad_values():
            raise
    con.execute(f"CREATE TEMP TABLE lines AS {lines_query(columns, names, source, money=WIDE_MONEY)}")
    return WIDE_MONEY


def _read_lines(con, source, columns: TransactionColumns | None, overrides: dict | None,
                read=None, label: str | None = None):
    """Open ``source`` in ``con`` and build the table ``lines`` (`custseg.logs.rules.lines_query`).

    Returns the source, the column roles and the date format used.
    """
    import duckdb

    con.execute("SET enable_progress_bar = false")
    try:
        con.execute("SET TimeZone = 'UTC'")
    except duckdb.Error:  # pragma: no cover - ICU missing
        pass
    src = _open(con, source, read, label)
    if columns is None:
        columns = detect_transaction_columns(src.names, overrides, require_value=False)
        if columns is None:
            hint = ("" if src.reading.get("header", True) else
                    " (the file has no header row: name them with --customer-col, --date-col, ...)")
            raise InputError(
                f"{src.label} does not look like a transaction log: it needs a customer "
                f"column and a date column (and, for money, quantity and price columns or an "
                f"amount column); columns are: {', '.join(src.names)}{hint}"
            )
    missing = [n for n in columns.used() if n not in src.names]
    if missing:
        raise InputError(
            f"{src.label} lacks column(s) {', '.join(map(repr, missing))}; "
            f"columns are: {', '.join(src.names)}"
        )
    fmt, names = _typed_view(con, src, columns, getattr(read, "date_format", None))
    _materialise_lines(con, src, columns, fmt, [n for n in names if n != src.provenance])
    return src, columns, fmt


@contextmanager
def _local_input(source, read):
    """The input as DuckDB can open it: an archive's table extracted for the ``with`` block.

    Yields the source to open, its label for messages (None: the path) and the archive
    member read (None when it is not an archive).
    """
    path = None if isinstance(source, pd.DataFrame) else os.fspath(source)
    archived = (path is not None and not any(c in path for c in "*?[") and os.path.isfile(path)
                and archive_kind(Path(path)) is not None)
    if not archived:
        if read is not None and read.member is not None:
            raise InputError(f"--member applies to .zip and .tar archives; {path} is not one")
        yield source, None, None
        return
    with unpacked(path, read.member if read else None) as (inner, member):
        yield str(inner), f"{path}:{member}", member


def _reference_date(con, wanted: datetime.date | None, within_log: bool, label: str) -> datetime.date:
    """``wanted`` (checked by `_check_within_log` when ``within_log``), else the day after the
    last line that passes rules 1-5 (today when there is none)."""
    if within_log and wanted is not None:
        _check_within_log(con, wanted, label)
    return wanted or as_of_after(con.execute(last_day_query()).fetchone()[0])


def _check_within_log(con, as_of: datetime.date, label: str) -> None:
    """Raise `SettingsError` if ``as_of`` lies outside the days of the lines that pass rules 1-5
    (from the first day to the day after the last one, the default reference date)."""
    first, last = con.execute("SELECT MIN(line_day), MAX(line_day) FROM lines WHERE drop_reason IS NULL").fetchone()
    if first is None:
        return          # no usable line: the usual "no order lines left" error follows
    first, last = (d if isinstance(d, datetime.date) else pd.Timestamp(d).date() for d in (first, last))
    if not first <= as_of <= last + datetime.timedelta(days=1):
        raise SettingsError(
            f"as-of date {as_of.isoformat()} is outside {label}: its order lines run from {first.isoformat()} "
            f"to {last.isoformat()} (give a date from {first.isoformat()} to "
            f"{(last + datetime.timedelta(days=1)).isoformat()})"
        )


def customers_from_transactions(
    source,
    columns: TransactionColumns | None = None,
    *,
    as_of=None,
    overrides: dict | None = None,
    on_progress: ProgressCallback | None = None,
    read=None,
    as_of_within_log: bool = False,
    window=None,
) -> TransactionFeatures:
    """Build one row of behaviour features per customer from a transaction log.

    The lines are read and aggregated by DuckDB (see `custseg.logs.rules` for every rule, and
    this module for the reading).

    Parameters
    ----------
    source : str, path or DataFrame
        A CSV/TSV file (optionally ``.gz``, with or without a header row), a Parquet file, a
        glob such as ``"daily/*.csv"``, an Excel workbook, a JSON file, whitespace-aligned or
        fixed-width text, a ``.zip``/``.tar`` archive holding one of these, or a DataFrame of
        order lines.
    columns : TransactionColumns, optional
        Column roles; detected from the names by default.
    as_of : date, datetime or str, optional
        Reference date (``"2011-12-10"``); default the day after the last transaction.
    overrides : dict, optional
        Role -> column name, used when ``columns`` is not given.
    on_progress : callable, optional
        Called as ``on_progress(step, done, total)``.
    read : custseg.reading.ReadOptions, optional
        Sheet, archive member and header choice (see `custseg.reading.read_table`), and the
        format of the order dates (detected when it gives none).
    as_of_within_log : bool, default=False
        Refuse an ``as_of`` before the first day of the usable lines or after the day
        following the last one (`SettingsError`), instead of computing the features of a
        moment the log does not cover.
    window : str or Window, optional
        Count and money features over this trailing window only (``"90d"``, ``"12m"``; see `custseg.logs.window`).

    Returns
    -------
    TransactionFeatures

    Raises
    ------
    InputError
        If the file cannot be read, is not a transaction log, has dates or numbers that do
        not parse, or leaves no line or no customer after cleaning.
    SettingsError
        If ``as_of`` is not a date, or (with ``as_of_within_log``) lies outside the log.

    Examples
    --------
    >>> lines = pd.DataFrame({"customer": ["a", "a", "b"], "date": ["2024-01-01", "2024-01-05", "2024-01-03"],
    ...                       "dollars": [10.0, 5.0, 7.5]})
    >>> found = customers_from_transactions(lines)
    >>> found.customers[["customer", "recency_days", "frequency", "monetary"]].to_dict("list")
    {'customer': ['a', 'b'], 'recency_days': [1.0, 3.0], 'frequency': [2.0, 1.0], 'monetary': [15.0, 7.5]}
    """
    import duckdb

    progress = on_progress or (lambda step, done, total: None)
    wanted_as_of = as_date(as_of)
    window = parse_window(window)
    progress("reading order lines", 0, _STEPS)
    with tempfile.TemporaryDirectory(prefix="custseg-duckdb-") as spill, \
            _local_input(source, read) as (local, label, member):
        try:
            with duckdb.connect(config=duckdb_config(spill)) as con:
                src, columns, fmt = _read_lines(con, local, columns, overrides, read, label)
                progress("checking order lines", 1, _STEPS)
                used_as_of = _reference_date(con, wanted_as_of, as_of_within_log, src.label)
                check_names, row, table, purchases = _run_queries(con, columns, used_as_of, progress, window)
        except duckdb.OutOfMemoryException as exc:
            label = "the DataFrame" if isinstance(source, pd.DataFrame) else os.fspath(source)
            raise _out_of_memory(label, exc) from None
    progress("customer features ready", 3, _STEPS)
    return _features(src, columns, row, check_names, table, used_as_of, fmt, member, window, purchases)


def _run_queries(con, columns: TransactionColumns, as_of: datetime.date, progress: ProgressCallback,
                 window: Window | None = None):
    """Run `customer_queries` on the table ``lines``: the check names, the row of the
    ``checks`` query, the table of the ``features`` query and that of the ``purchases`` query."""
    queries = customer_queries(columns, as_of, window=window)
    row = con.execute(queries["checks"]).fetch_df().iloc[0]
    progress("computing customer features", 2, _STEPS)
    table = con.execute(queries["features"]).fetch_df()
    purchases = con.execute(queries["purchases"]).fetch_df()
    return queries["check_names"], row, table, purchases


def duckdb_config(spill: str, threads: int = DUCKDB_THREADS) -> dict:
    """DuckDB's settings: ``threads``, `DUCKDB_MEMORY_LIMIT`, spilling to ``spill``."""
    return {
        "threads": threads,
        "memory_limit": DUCKDB_MEMORY_LIMIT,
        "temp_directory": spill,
        "preserve_insertion_order": False,
    }


def _features(src: _Source, columns: TransactionColumns, row: pd.Series, check_names: list[str],
              table: pd.DataFrame, as_of: datetime.date, fmt: str | None, member: str | None,
              window: Window | None = None, purchases: pd.DataFrame | None = None) -> TransactionFeatures:
    """The result from the row of the ``checks`` query, the table of the ``features`` query
    and that of the ``purchases`` query (``member``: the archive member read, or None;
    ``window``: the features' window, or None)."""
    ledger, checks = ledger_and_checks(row.to_dict(), columns, check_names, src.label)
    found = count_value(row["customers_found"])
    kept = table[table["drop_reason"].isna()]
    by_reason = table["drop_reason"].value_counts().to_dict()
    dropped = customers_dropped(found, len(table), by_reason, len(kept), src.label)
    customers = customer_table(kept, columns)
    reading = {**src.reading, "member": member}
    ledger.not_read = list(reading.get("not_read") or [])
    return TransactionFeatures(customers, ledger, checks, found, dropped, as_of,
                               columns, None if fmt is None else fmt, reading,
                               window=None if window is None else window.text,
                               history=history_table(kept, columns),
                               purchases=None if purchases is None else purchase_table(purchases, customers.iloc[:, 0]))
