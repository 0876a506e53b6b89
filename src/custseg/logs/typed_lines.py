"""Typing the lines of a transaction log for the rules: numbers as DOUBLE, the date as a
TIMESTAMP read with a format found on a sample, ids stored as floats as text; and telling
which values do not convert.

The SQL here is DuckDB SQL; the Spark engine runs it transpiled, and gives each query's
``fetch_one`` (run a query, return its one row) so that the same code finds the date format
and diagnoses bad values on both engines.
"""

from __future__ import annotations

from typing import Callable

from ..errors import InputError
from .columns import TransactionColumns
from .sqltext import sql_identifier, sql_literal, sql_trim, trimmed_text

__all__ = [
    "DATE_FORMATS",
    "detect_date_format",
    "diagnose_values",
    "is_date_type",
    "numeric_columns",
    "typed_lines_query",
]

#: Date formats tried on a sample of the date column, best first ("iso" = DuckDB's own cast).
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "iso",
    "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y",
    "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y",
    "%m-%d-%Y", "%Y%m%d", "%m/%d/%y %H:%M", "%m/%d/%y", "%d/%m/%y",
    "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y",
)
_DATE_SAMPLE = 20_000


def _parse_expr(value_sql: str, fmt: str) -> str:
    if fmt == "iso":
        return f"TRY_CAST({value_sql} AS TIMESTAMP)"
    return f"TRY_STRPTIME({value_sql}, {sql_literal(fmt)})"


def _day_first(fmt: str) -> bool:
    day, month = fmt.find("%d"), max(fmt.find("%m"), fmt.find("%b"), fmt.find("%B"))
    return 0 <= day < month


def detect_date_format(fetch_one: Callable[[str], tuple], label: str, relation: str, column: str) -> str:
    """The first format of `DATE_FORMATS` that parses every sampled value of ``column``.

    When several formats with different day/month order parse the sample, the whole column
    decides (fewest failures; the earlier format on a tie). With no format parsing the whole
    sample, the best one is returned and the full check reports the failures.

    ``fetch_one(sql)`` runs a query (DuckDB SQL) over ``relation`` and returns its one row:
    DuckDB runs it as it is, Spark as transpiled (`custseg.engines.spark.sql.to_spark`).

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE VIEW t AS SELECT * FROM (VALUES ('13/01/2024'), ('2/02/2024')) AS v(day)")
    >>> detect_date_format(lambda sql: con.execute(sql).fetchone(), "t", "t", "day")
    '%d/%m/%Y'
    """
    col = sql_identifier(column)
    counts = ", ".join(
        f"SUM(CASE WHEN {_parse_expr('v', fmt)} IS NULL THEN 1 ELSE 0 END)" for fmt in DATE_FORMATS
    )
    row = fetch_one(
        f"SELECT COUNT(*), MIN(v), {counts} FROM (SELECT DISTINCT v FROM ("
        f"SELECT {sql_trim(f'CAST({col} AS VARCHAR)')} AS v FROM {relation} WHERE {col} IS NOT NULL "
        f"LIMIT {_DATE_SAMPLE}) AS head WHERE v <> '') AS sample"
    )
    size, example, fails = row[0], row[1], dict(zip(DATE_FORMATS, row[2:]))
    if not size:
        raise InputError(f"{label}: date column {column!r} is empty")
    perfect = [fmt for fmt in DATE_FORMATS if fails[fmt] == 0]
    if not perfect:
        best = min(DATE_FORMATS, key=lambda f: fails[f])
        if fails[best] == size:
            raise InputError(
                f"{label}: column {column!r} does not hold dates "
                f"(e.g. {example!r}; tried {len(DATE_FORMATS)} formats)"
            )
        return best
    by_order: dict[bool, str] = {}
    for fmt in perfect:
        by_order.setdefault(_day_first(fmt), fmt)
    if len(by_order) == 1:
        return perfect[0]
    perfect = list(by_order.values())
    col = sql_trim(f"CAST({sql_identifier(column)} AS VARCHAR)")
    counts = ", ".join(
        f"SUM(CASE WHEN {_parse_expr(col, fmt)} IS NULL THEN 1 ELSE 0 END)" for fmt in perfect
    )
    row = fetch_one(f"SELECT {counts} FROM {relation} WHERE {sql_identifier(column)} IS NOT NULL AND {col} <> ''")
    return min(zip(perfect, row), key=lambda item: item[1] or 0)[0]


def _numeric_type(duck_type: str) -> bool:
    base = duck_type.upper().split("(")[0]
    return base in {
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
        "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL",
    }


def numeric_columns(columns: TransactionColumns) -> list[str]:
    """The columns read as DOUBLE: quantity and price, or the amount.

    Examples
    --------
    >>> numeric_columns(TransactionColumns(customer="c", date="d", quantity="q", price="p", amount="a"))
    ['q', 'p']
    """
    numeric = [n for n in (columns.quantity, columns.price) if n is not None]
    if columns.uses_amount:
        numeric.append(columns.amount)
    return numeric


def is_date_type(type_name: str) -> bool:
    """Whether a column of SQL type ``type_name`` holds dates already (DATE, TIMESTAMP, ...).

    Examples
    --------
    >>> is_date_type("TIMESTAMP WITH TIME ZONE"), is_date_type("VARCHAR")
    (True, False)
    """
    return type_name.upper().startswith(("TIMESTAMP", "DATE"))


def typed_lines_query(
    names: list[str], types: dict[str, str], columns: TransactionColumns, date_format: str | None,
    relation: str = "raw_lines",
) -> str:
    """SQL that types the lines of ``relation`` as `custseg.logs.rules.lines_query` expects them.

    Quantity, price and amount become DOUBLE (text trimmed, blank as NULL), the date a
    TIMESTAMP (parsed with ``date_format``, one of `DATE_FORMATS`, unless its type in
    ``types`` is already a date or timestamp); ids and codes stored as floats become text,
    whole numbers without ".0"; every other column is kept as it is. DuckDB
    runs it on DataFrames and Parquet files; the Spark engine on every input, transpiled.

    Examples
    --------
    >>> columns = TransactionColumns(customer="customer", date="date", amount="dollars")
    >>> typed_lines_query(["customer", "date", "dollars"], {"customer": "VARCHAR", "date": "DATE",
    ...                   "dollars": "DOUBLE"}, columns, None)
    'SELECT "customer" AS "customer", CAST("date" AS TIMESTAMP) AS "date", CAST("dollars" AS DOUBLE) AS "dollars" FROM raw_lines'
    """
    numeric = numeric_columns(columns)
    codes = {columns.customer, columns.invoice, columns.product} - {None}
    exprs = []
    for name in names:
        col = sql_identifier(name)
        if name in numeric:
            if _numeric_type(types[name]):
                expr = f"CAST({col} AS DOUBLE)"
            else:
                expr = f"CAST(NULLIF({trimmed_text(name)}, '') AS DOUBLE)"
        elif name == columns.date:
            if is_date_type(types[name]):
                expr = f"CAST({col} AS TIMESTAMP)"
            else:
                text = f"NULLIF({trimmed_text(name)}, '')"
                expr = (f"CAST({text} AS TIMESTAMP)" if date_format == "iso"
                        else f"STRPTIME({text}, {sql_literal(date_format)})")
        elif name in codes and types[name].upper() in ("FLOAT", "DOUBLE", "REAL"):
            # Whole numbers as integers: DuckDB writes 12345678.0 as text as it is, Spark as
            # 1.2345678E7; both then drop the ".0" (`custseg.logs.rules.lines_query`).
            expr = (f"CASE WHEN {col} = FLOOR({col}) AND ABS({col}) < 1e15 "
                    f"THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) ELSE CAST({col} AS VARCHAR) END")
        else:
            expr = col
        exprs.append(f"{expr} AS {col}")
    return f"SELECT {', '.join(exprs)} FROM {relation}"


def diagnose_values(
    fetch_one: Callable[[str], tuple], label: str, relation: str, types: dict[str, str],
    columns: TransactionColumns, fmt: str | None,
) -> InputError | None:
    """An InputError naming the column, count and an example of values of ``relation`` that
    do not convert to numbers or dates (``fmt``), or None; ``fetch_one`` as in `detect_date_format`.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE VIEW t AS SELECT * FROM (VALUES ('a', '2024-01-01', '5'), "
    ...                 "('b', '2024-01-02', 'five')) AS v(customer, date, dollars)")
    >>> columns = TransactionColumns(customer="customer", date="date", amount="dollars")
    >>> types = {"customer": "VARCHAR", "date": "VARCHAR", "dollars": "VARCHAR"}
    >>> print(diagnose_values(lambda sql: con.execute(sql).fetchone(), "t", "t", types, columns, "%Y-%m-%d"))
    t: amount column 'dollars' is not numeric: 1 of 2 values do not parse as numbers, e.g. 'five'
    """
    checks = []
    roles = [("quantity", columns.quantity), ("price", columns.price)]
    if columns.uses_amount:
        roles.append(("amount", columns.amount))
    for role, name in roles:
        if name is not None and not _numeric_type(types[name]):
            checks.append((role, name, "TRY_CAST({v} AS DOUBLE) IS NULL", "numbers"))
    if fmt is not None:
        checks.append(("date", columns.date, _parse_expr("{v}", fmt) + " IS NULL", f"dates ({fmt})"))
    for role, name, condition, what in checks:
        text = sql_trim(f"CAST({sql_identifier(name)} AS VARCHAR)")
        bad = condition.format(v=text)
        count, total, example = fetch_one(
            f"SELECT SUM(CASE WHEN {bad} THEN 1 ELSE 0 END), COUNT(*), "
            f"MIN(CASE WHEN {bad} THEN {text} END) "
            f"FROM {relation} WHERE {sql_identifier(name)} IS NOT NULL AND {text} <> ''"
        )
        if count:
            kind = "not numeric" if role != "date" else "not all dates"
            return InputError(
                f"{label}: {role} column {name!r} is {kind}: {int(count):,} of {int(total):,} "
                f"values do not parse as {what}, e.g. {example!r}"
            )
    return None
