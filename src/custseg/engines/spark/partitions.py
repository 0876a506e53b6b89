"""The customer features of one partition of a log's lines, computed on its executor by DuckDB.

The Spark engine sends every customer's lines to one partition (by `custseg.logs.rules.customer_id_sql`),
then each executor runs the local engine's own SQL on its partitions, with DuckDB:
`custseg.logs.typed_lines.typed_lines_query`, `custseg.logs.rules.lines_query` (exact
duplicates, normalised codes, drop reasons), `custseg.logs.rules.customer_queries` (checks,
features, purchase days). Every rule works within one customer's lines (a duplicate has the
customer's id; the checks are sums and distinct customers, which add up over partitions that
share no customer), so the features are the local engine's, value for value.

`partition_features` is what Spark's ``mapInArrow`` calls; its rows (`output_schema`) are
of three kinds: ``customer`` (the ``features`` query's row), ``purchase`` (a customer's
purchase day, when asked for) and one ``checks`` row per partition (the ``checks`` query's
row, the partition's last usable day and its reference date, as JSON in ``checks``).
"""

from __future__ import annotations

import datetime
import json
import tempfile
from collections.abc import Iterable, Iterator

from ...logs.columns import TransactionColumns
from ...logs.duckdb_engine import create_lines, duckdb_config
from ...logs.rules import (
    FEATURE_COLUMNS,
    HISTORY_COLUMNS,
    as_of_after,
    customer_queries,
    last_day_query,
)
from ...logs.typed_lines import typed_lines_query
from ...logs.window import Window

__all__ = ["BAD_VALUES", "output_schema", "partition_features"]

#: Marks the error of a partition whose values do not convert (the driver then names them).
BAD_VALUES = "custseg: values that do not convert"
#: Rows per Arrow batch handed back to Spark.
BATCH_ROWS = 100_000


def _numbers() -> tuple[str, ...]:
    return FEATURE_COLUMNS + HISTORY_COLUMNS


def output_schema(columns: TransactionColumns) -> str:
    """The Spark schema (DDL) of `partition_features`' rows.

    Examples
    --------
    >>> output_schema(TransactionColumns(customer="c", date="d", attributes=("country",))).split(", ")[:3]
    ['kind string', 'customer_id string', 'drop_reason string']
    """
    fields = ["kind string", "customer_id string", "drop_reason string"]
    fields += [f"{name} double" for name in _numbers()]
    fields += [f"attr_{i} string" for i in range(len(columns.attributes))]
    return ", ".join(fields + ["day bigint", "checks string"])


def partition_features(batches: Iterable, *, names: list[str], types: dict[str, str],
                       columns: TransactionColumns, date_format: str | None, as_of: datetime.date | None,
                       window: Window | None = None, purchase_days: bool = False) -> Iterator:
    """One partition's rows of `output_schema`, from its raw lines (Arrow record batches).

    Parameters
    ----------
    batches : iterable of pyarrow.RecordBatch
        The partition's lines, with the columns ``names`` of DuckDB types ``types``.
    names, types, columns, date_format
        As `custseg.logs.typed_lines.typed_lines_query` takes them.
    as_of : datetime.date or None
        The reference date; None: the day after the partition's last usable line.
    window : Window, optional
        The features' trailing window.
    purchase_days : bool
        Also give each customer's purchase days.

    Yields
    ------
    pyarrow.RecordBatch
        Nothing for a partition without lines.

    Raises
    ------
    RuntimeError
        Starting with `BAD_VALUES` when a value does not convert.
    """
    import pyarrow as pa

    table = _lines_table(pa, list(batches))
    if table is None:
        return
    schema = _arrow_schema(pa, columns)
    summary, features, purchases = _computed(table, names, types, columns, date_format, as_of, window,
                                             purchase_days)
    yield from _rows(pa, schema, "customer", features)
    if purchases is not None:
        yield from _rows(pa, schema, "purchase", purchases)
    yield _rows_of(pa, schema, "checks", 1, {"checks": pa.array([json.dumps(summary)])})


def _computed(table, names, types, columns, date_format, as_of, window, purchase_days):
    """The local engine's queries on one partition's lines: the checks row with the last usable
    day and the reference date (a dict of plain values), the features and the purchase days
    (Arrow tables; None when not asked for)."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="custseg-partition-") as spill, \
            duckdb.connect(config=duckdb_config(spill, threads=1)) as con:
        con.execute("SET TimeZone = 'UTC'")
        con.register("partition_lines", table)
        con.execute(f"CREATE VIEW source_lines AS {typed_lines_query(names, types, columns, date_format, 'partition_lines')}")
        try:
            create_lines(con, columns, names)
        except duckdb.OutOfMemoryException:
            raise                   # its own message: a partition too large for the memory limit
        except duckdb.Error as exc:
            raise RuntimeError(f"{BAD_VALUES}: {str(exc).splitlines()[0]}") from None
        last = con.execute(last_day_query()).fetchall()[0][0]
        as_of = as_of or as_of_after(last)
        queries = customer_queries(columns, as_of, window=window)
        checks = con.execute(queries["checks"])
        row = dict(zip([d[0] for d in checks.description], checks.fetchall()[0]))
        features = con.sql(queries["features"]).to_arrow_table()
        purchases = con.sql(queries["purchases"]).to_arrow_table() if purchase_days else None
    summary = {name: None if value is None else int(value) for name, value in row.items()}
    summary["last_day"] = None if last is None else _day(last).isoformat()
    summary["as_of"] = as_of.isoformat()
    return summary, features, purchases


def _lines_table(pa, batches: list):
    """The batches as one table, timestamps without a zone (Spark hands them over in UTC, the
    time zone custseg's DuckDB works in); None without a line."""
    batches = [b for b in batches if b.num_rows]
    if not batches:
        return None
    table = pa.Table.from_batches(batches)
    zoned = [f.name for f in table.schema if pa.types.is_timestamp(f.type) and f.type.tz]
    for name in zoned:          # only those: a cast of the whole table would copy every column
        unit = table.schema.field(name).type.unit
        table = table.set_column(table.schema.get_field_index(name), name, table[name].cast(pa.timestamp(unit)))
    return table


def _arrow_schema(pa, columns: TransactionColumns):
    fields = [pa.field(name, pa.string()) for name in ("kind", "customer_id", "drop_reason")]
    fields += [pa.field(name, pa.float64()) for name in _numbers()]
    fields += [pa.field(f"attr_{i}", pa.string()) for i in range(len(columns.attributes))]
    return pa.schema(fields + [pa.field("day", pa.int64()), pa.field("checks", pa.string())])


def _rows(pa, schema, kind: str, table) -> Iterator:
    """``table``'s rows as batches of ``schema`` (its columns by name, the others null)."""
    present = {name: table.column(name) for name in table.column_names if name in schema.names}
    for start in range(0, max(table.num_rows, 1), BATCH_ROWS):
        size = min(BATCH_ROWS, table.num_rows - start)
        if size <= 0:
            return
        yield _rows_of(pa, schema, kind, size, {n: c.slice(start, size).combine_chunks() for n, c in present.items()})


def _rows_of(pa, schema, kind: str, size: int, values: dict):
    arrays = []
    for field in schema:
        if field.name == "kind":
            arrays.append(pa.array([kind] * size, pa.string()))
        elif field.name in values:
            arrays.append(values[field.name].cast(field.type))
        else:
            arrays.append(pa.nulls(size, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _day(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value
