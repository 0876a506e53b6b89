"""The rules that turn order lines into one row per customer, written once as SQL for both
engines: which lines count (the ledger), the checks, the behaviour features, and reading the
queries' one-row results back.

DuckDB runs these queries as they are (`custseg.logs.duckdb_engine`); the Spark engine runs
them transpiled (`custseg.engines.spark.transactions`). Lines are typed for them by
`custseg.logs.typed_lines.typed_lines_query`.

The feature query
-----------------
The cleaning and feature definitions are written once, as SQL built by `lines_query` and
`customer_queries` over a relation ``source_lines`` (the typed lines, from
`custseg.logs.typed_lines.typed_lines_query`). They use standard SQL only (CTEs, CASE, aggregates with FILTER,
COUNT(DISTINCT), ROW_NUMBER, DATE_DIFF, CAST to DECIMAL/DOUBLE), so that SQLGlot transpiles
them to Spark SQL unchanged (``sqlglot.transpile(sql, read="duckdb", write="spark")``): the
Spark engine (`custseg.engines.spark.transactions`) runs this very SQL, and gives the same results to
the cent. Where DuckDB and Spark differ for the same SQL, the SQL here says what it means
(TRIM names the Unicode spaces it removes: Spark's TRIM removes only the ASCII space; ids
stored as floats are written as integers: Spark writes 12345678.0 as 1.2345678E7).

Each line's value is a DECIMAL rounded to a millionth (`MONEY`) and summed exactly in 38
digits, so sums do not depend on the order in which threads add them: same input, same
output, to the last digit.

Line fates (the ledger)
-----------------------
Each line is counted once, by the first rule that applies, in this order:

1. **no customer id** (blank, ``nan``): dropped.
2. **exact duplicate**: every column equal (as read, typed as in `custseg.logs.typed_lines`)
   to another line; the first copy goes on through these rules, each extra copy is dropped.
3. **adjustment**: invoice ``A`` followed by a digit (``A563185`` "Adjust bad debt"): dropped.
4. **missing date, quantity or price** (or amount): dropped.
5. **zero or negative price** on a line that is not a cancellation (for a log with an amount
   and no price: **zero amount**): dropped.
6. **future-dated**: dated (by day) after ``as_of``: dropped.
7. Everything else is **used**. ``ledger.rows_used`` counts these lines.

Cancellations (invoice ``C`` followed by a digit, e.g. ``C536379``; an order id such as
``CA-2016-152156`` is not one) and other lines with a negative quantity (or a negative
amount) are **returns**: used, and netted against spend. Lines whose product code is not a
product (`NON_PRODUCT_CODES`: POST, DOT, M, C2, D, S, B, BANK CHARGES, AMAZONFEE, CRUK, PADS,
..., and gift vouchers ``gift_...``) count for money (monetary, spend, returns, orders) but
not for the product metrics (items_per_order, distinct_products).

``checks`` holds overlapping counts over all lines read (each line may appear in several):
lines without customer id, cancellation lines, adjustment lines, exact duplicate lines (the
extra copies), negative quantity lines, zero price lines, negative price lines (zero/negative
amount lines for amount logs), non-product lines and future-dated lines. On UCI Online Retail
these equal the data's known figures.

Features
--------
The reference date ``as_of`` is the one given, else the day after the last date of the lines
that pass rules 1-5. A **purchase** is a used line that is not a cancellation, has a positive
value, and a positive quantity (when there is a quantity); a **return** is a cancellation or a
line with a negative quantity or value. An order is an invoice; without an invoice column, each
(customer, day) is one order. Per customer:

* ``recency_days`` = as_of - day of the last purchase, in whole days.
* ``tenure_days`` = as_of - day of the first purchase.
* ``frequency`` = distinct orders with a purchase (not lines).
* ``monetary`` = net spend: sum of quantity x price (or the amount) over all used lines,
  returns included (they are negative).
* ``avg_order_value`` = gross purchase spend / frequency.
* ``items_per_order`` = purchased quantity of product lines / frequency (NaN without a
  quantity column).
* ``distinct_products`` = distinct product codes purchased, product lines only (NaN without a
  product column).
* ``return_rate`` = returned value / gross purchase spend.
* ``mean_days_between_purchases`` = (last - first purchase day) / (distinct purchase days - 1);
  NaN for a customer who bought on one day only.
* ``recent_spend_share`` = purchase spend dated at most ``RECENT_DAYS`` (90) days before as_of
  / gross purchase spend.
* each attribute column (Country, ...): the customer's dominant value, the one with the most
  purchase spend, ties broken by the value's name (alphabetically first).

**With a window** (``--window 12m``, `custseg.logs.window`), the count and money features
(`WINDOW_FEATURES`: frequency, monetary, avg_order_value, items_per_order,
distinct_products, return_rate, recent_spend_share) take only the used lines dated after the
window's start day, so that snapshots of one log taken at different dates compare like with
like; recency, tenure, inter-purchase time and the attributes still take the whole history,
and so does the choice of who is kept (below). A customer without a purchase in the window
(a lapsed customer) stays, with 0 for each windowed feature; monetary is never below 0
(returns in the window of purchases made before it are netted against those purchases).

For the value models (`custseg.valuing`), two more columns that are not features:
``purchase_days`` (distinct days with a purchase), ``repeat_spend`` (purchase spend on
the days after the first purchase day; NULL without money) and ``year_spend`` (purchase spend
dated at most ``YEAR_DAYS`` (365) days before as_of, whatever the window, for the value at
risk; NULL without money), all DOUBLE (`HISTORY_COLUMNS`).

Customers with no purchase (``"only cancellations or returns"``), those whose net spend is
<= 0 (``"net spend <= 0"``) and those all of whose lines were dropped (``"no usable lines"``)
are left out of the customer table and counted in ``customers_dropped``; ``customers_found``
counts every distinct id among all lines, so found = kept + dropped.
"""

from __future__ import annotations

import datetime
import math

import pandas as pd

from ..errors import InputError, SettingsError
from ..preparing.clean import Ledger
from .columns import TransactionColumns
from .sqltext import sql_identifier, trimmed_text
from .window import Window

__all__ = [
    "CLUSTER_FEATURES",
    "FEATURE_COLUMNS",
    "HISTORY_COLUMNS",
    "MONEY",
    "NON_PRODUCT_CODES",
    "NO_MONEY_CLUSTER_FEATURES",
    "NON_PRODUCT_PREFIXES",
    "RECENT_DAYS",
    "WIDE_MONEY",
    "WINDOW_FEATURES",
    "YEAR_DAYS",
    "CALENDAR_FEATURES",
    "as_date",
    "as_of_after",
    "count_value",
    "customer_queries",
    "customer_id_sql",
    "customers_dropped",
    "last_day_query",
    "ledger_and_checks",
    "lines_query",
]

FEATURE_COLUMNS = (
    "recency_days", "frequency", "monetary", "tenure_days", "avg_order_value",
    "items_per_order", "distinct_products", "return_rate",
    "mean_days_between_purchases", "recent_spend_share",
)
#: Columns of the features query for the value models (`custseg.valuing.history`), not features.
HISTORY_COLUMNS = ("purchase_days", "repeat_spend", "year_spend")
#: Default clustering subset of `FEATURE_COLUMNS`.
CLUSTER_FEATURES = (
    "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days",
    "distinct_products", "return_rate",
)
#: Default clustering features of a log without money (customer and date only, or
#: quantities only): recency, frequency, tenure and inter-purchase time (and the product
#: metrics when there are products or quantities).
NO_MONEY_CLUSTER_FEATURES = (
    "recency_days", "frequency", "tenure_days", "mean_days_between_purchases",
    "items_per_order", "distinct_products",
)
#: Features computed over the trailing window only, when a run has one
#: (`custseg.logs.window`): the counts and money that grow with the history a log covers.
WINDOW_FEATURES = (
    "frequency", "monetary", "avg_order_value", "items_per_order", "distinct_products", "return_rate",
    "recent_spend_share",
)
#: Features that grow with the calendar whatever the customers do: days since the first
#: purchase (every customer gets older). Tracking describes their drift but does not count it
#: toward "refit recommended" (`custseg.tracking.drift`).
CALENDAR_FEATURES = ("tenure_days",)
#: Product codes (compared upper-cased) that are fees, postage or manual entries, not products.
NON_PRODUCT_CODES = (
    "POST", "DOT", "M", "C2", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS",
    "ADJUST", "ADJUST2", "TEST001", "TEST002", "CRUK COMMISSION",
)
#: Product code prefixes (upper-cased) of non-products: gift vouchers.
NON_PRODUCT_PREFIXES = ("GIFT_",)
#: Window of ``recent_spend_share``, in days before the reference date.
RECENT_DAYS = 90
#: Window of ``year_spend`` (the spend the value at risk counts), in days before the reference date.
YEAR_DAYS = 365
#: SQL type of one line's value: exact to a millionth, so sums (widened to 38 digits by SUM)
#: do not depend on the order threads add them. 18 digits are cheaper than 38; a line worth
#: 10^12 or more does not fit and the query is run again with `WIDE_MONEY`.
MONEY = "DECIMAL(18, 6)"
WIDE_MONEY = "DECIMAL(38, 6)"

_DROP_NO_CUSTOMER = "no customer id"
_DROP_DUPLICATE = "exact duplicate"
_DROP_ADJUSTMENT = "adjustment"
_DROP_MISSING = "missing date, quantity or price"
_DROP_MISSING_AMOUNT = "missing date or amount"
_DROP_MISSING_DATE = "missing date"
_DROP_PRICE = "zero or negative price"
_DROP_ZERO_AMOUNT = "zero amount"
_DROP_FUTURE = "future-dated"
_NO_PURCHASE = "only cancellations or returns"
_NOT_POSITIVE = "net spend <= 0"
_NO_USED_LINES = "no usable lines"


# --------------------------------------------------------------------------- lines


def _code_expr(text: str) -> str:
    """A trimmed code (``text`` is its name in the query): blanks and NaN as NULL, a whole
    number written as a float (``17850.0``) as ``17850``. Cheap tests guard the costly ones."""
    return (
        f"CASE WHEN {text} = '' OR (LENGTH({text}) <= 4 "
        f"AND LOWER({text}) IN ('nan', 'none', 'null', '<na>', 'nat')) THEN NULL "
        f"WHEN {text} LIKE '%.%0' AND REGEXP_MATCHES({text}, '^-?[0-9]+[.]0+$') "
        f"THEN REGEXP_REPLACE({text}, '[.]0+$', '') "
        f"ELSE {text} END"
    )


def customer_id_sql(columns: TransactionColumns) -> str:
    """SQL of a line's customer id as `lines_query` normalises it, from the line's own columns:
    lines with one customer id have one value of it (an engine can send each customer's lines
    to one place by it).

    Examples
    --------
    >>> "TRIM(" in customer_id_sql(TransactionColumns(customer="customer", date="date"))
    True
    """
    return _code_expr(f"({trimmed_text(columns.customer)})")


def _starts_with_letter_digit(column: str, letter: str) -> str:
    return (
        f"({column} IS NOT NULL AND {column} LIKE '{letter}%' "
        f"AND SUBSTRING({column}, 2, 1) BETWEEN '0' AND '9')"
    )


def lines_query(
    columns: TransactionColumns, raw_columns: list[str], source: str = "source_lines", money: str = MONEY
) -> str:
    """SQL that turns the typed lines of ``source`` into one row per distinct line.

    Exact duplicates are collapsed into ``line_copies``; each row carries the normalised
    customer id, invoice, product, quantity, price, value (``money``), day, attributes,
    the flags ``is_cancellation``, ``is_adjustment``, ``is_non_product`` and the
    ``drop_reason`` of rules 3-5 (NULL when the first copy goes on). Standard SQL: SQLGlot
    transpiles it to Spark SQL.

    Parameters
    ----------
    columns : TransactionColumns
    raw_columns : list of str
        Every column of ``source`` (duplicates are equal in all of them).
    source : str
        Relation with the lines; quantity, price and amount DOUBLE, the date a TIMESTAMP.
    money : str
        SQL type of a line's value: `MONEY`, or `WIDE_MONEY` for lines worth 10^12 or more.

    Examples
    --------
    >>> columns = TransactionColumns(customer="customer", date="date", amount="dollars")
    >>> sql = lines_query(columns, ["customer", "date", "dollars"])
    >>> sql.splitlines()[:3]
    ['WITH distinct_lines AS (', '  SELECT "customer", "date", "dollars", COUNT(*) AS line_copies', '  FROM source_lines']
    """
    return _distinct_typed_lines(columns, raw_columns, source, money) + ",\n" + _line_fates(columns)


def _distinct_typed_lines(columns: TransactionColumns, raw_columns: list[str], source: str, money: str) -> str:
    """The CTEs ``distinct_lines`` (copies counted), ``trimmed`` and ``typed`` (normalised
    codes, numbers, value and day) of `lines_query`."""
    raw = ", ".join(sql_identifier(c) for c in raw_columns)
    c = columns
    quantity, price, value = _value_columns(c, money)
    trims = [f"{trimmed_text(c.customer)} AS customer_text"]
    if c.invoice:
        trims.append(f"{trimmed_text(c.invoice)} AS invoice_text")
    if c.product:
        trims.append(f"{trimmed_text(c.product)} AS product_text")
    invoice = _code_expr("invoice_text") if c.invoice else "CAST(NULL AS VARCHAR)"
    product = _code_expr("product_text") if c.product else "CAST(NULL AS VARCHAR)"
    attributes = "".join(
        f",\n    NULLIF({trimmed_text(a)}, '') AS attr_{i}"
        for i, a in enumerate(c.attributes)
    )
    return f"""WITH distinct_lines AS (
  SELECT {raw}, COUNT(*) AS line_copies
  FROM {source}
  GROUP BY {raw}
),
trimmed AS (
  SELECT distinct_lines.*, {', '.join(trims)}
  FROM distinct_lines
),
typed AS (
  SELECT
    {_code_expr("customer_text")} AS customer_id,
    {invoice} AS invoice,
    {product} AS product,
    {quantity} AS quantity,
    {price} AS price,
    {value} AS line_value,
    CAST({sql_identifier(c.date)} AS DATE) AS line_day{attributes},
    line_copies
  FROM trimmed
)"""


def _value_columns(columns: TransactionColumns, money: str) -> tuple[str, str, str]:
    """The SQL of a line's quantity, price and value (quantity x price, or the amount, as ``money``)."""
    c = columns
    quantity = f"CAST({sql_identifier(c.quantity)} AS DOUBLE)" if c.quantity else "CAST(NULL AS DOUBLE)"
    if not c.has_money:
        return quantity, "CAST(NULL AS DOUBLE)", f"CAST(NULL AS {money})"
    if c.uses_amount:
        return quantity, "CAST(NULL AS DOUBLE)", f"CAST(CAST({sql_identifier(c.amount)} AS DOUBLE) AS {money})"
    value = (
        f"CAST(CAST({sql_identifier(c.quantity)} AS DOUBLE) * CAST({sql_identifier(c.price)} AS DOUBLE) "
        f"AS {money})"
    )
    return quantity, f"CAST({sql_identifier(c.price)} AS DOUBLE)", value


def _line_fates(columns: TransactionColumns) -> str:
    """The CTE ``flagged`` (cancellation, adjustment, non-product) and the final SELECT with
    each line's ``drop_reason`` (rules 1 and 3-5) of `lines_query`."""
    if not columns.has_money:
        bad_value = ""
        missing = f"WHEN line_day IS NULL THEN '{_DROP_MISSING_DATE}'"
    elif columns.uses_amount:
        bad_value = f"WHEN NOT is_cancellation AND line_value = 0 THEN '{_DROP_ZERO_AMOUNT}'"
        missing = f"WHEN line_day IS NULL OR line_value IS NULL THEN '{_DROP_MISSING_AMOUNT}'"
    else:
        bad_value = f"WHEN NOT is_cancellation AND price <= 0 THEN '{_DROP_PRICE}'"
        missing = f"WHEN line_day IS NULL OR line_value IS NULL THEN '{_DROP_MISSING}'"
    codes = ", ".join(f"'{code}'" for code in NON_PRODUCT_CODES)
    prefixes = " OR ".join(
        f"SUBSTRING(UPPER(product), 1, {len(p)}) = '{p}'" for p in NON_PRODUCT_PREFIXES
    )
    non_product = f"(product IS NOT NULL AND (UPPER(product) IN ({codes}) OR {prefixes}))"
    return f"""flagged AS (
  SELECT
    typed.*,
    {_starts_with_letter_digit('invoice', 'C')} AS is_cancellation,
    {_starts_with_letter_digit('invoice', 'A')} AS is_adjustment,
    {non_product} AS is_non_product
  FROM typed
)
SELECT
  flagged.*,
  CASE
    WHEN customer_id IS NULL THEN '{_DROP_NO_CUSTOMER}'
    WHEN is_adjustment THEN '{_DROP_ADJUSTMENT}'
    {missing}
    {bad_value}
  END AS drop_reason
FROM flagged"""


def _line_reasons(columns: TransactionColumns) -> list[str]:
    """The drop reasons that `lines_query` writes into ``drop_reason``, in rule order."""
    if not columns.has_money:
        return [_DROP_ADJUSTMENT, _DROP_MISSING_DATE]
    if columns.uses_amount:
        return [_DROP_ADJUSTMENT, _DROP_MISSING_AMOUNT, _DROP_ZERO_AMOUNT]
    return [_DROP_ADJUSTMENT, _DROP_MISSING, _DROP_PRICE]


# --------------------------------------------------------------------------- customers


def customer_queries(columns: TransactionColumns, as_of: datetime.date, lines: str = "lines",
                     window: Window | None = None) -> dict:
    """SQL for the ledger and checks, and for the per-customer features.

    Parameters
    ----------
    columns : TransactionColumns
    as_of : datetime.date
        Reference date, written into the SQL as a ``DATE`` literal.
    lines : str
        Relation produced by `lines_query`.
    window : Window, optional
        The trailing window of the count and money features (`WINDOW_FEATURES`), its start
        day written into the SQL as a ``DATE`` literal; None: the whole history.

    Returns
    -------
    dict
        ``"checks"`` (one row: lines read, exclusive drops, overlapping checks, customers
        found) and ``"features"`` (one row per customer with a used line, with the column
        ``drop_reason`` for customers left out), both standard SQL that SQLGlot transpiles
        to Spark SQL; ``"check_names"`` lists the names of the ``check_N`` columns;
        ``"purchases"`` (each customer's distinct purchase days, for the value models' holdout check).

    Examples
    --------
    >>> columns = TransactionColumns(customer="customer", date="date", amount="dollars")
    >>> queries = customer_queries(columns, datetime.date(2024, 1, 6))
    >>> queries["check_names"][:2], queries["checks"].splitlines()[-1]
    (['lines without customer id', 'cancellation lines'], 'FROM lines')
    >>> "line_day > DATE '2023-10-08'" in customer_queries(columns, datetime.date(2024, 1, 6),
    ...                                                    window=Window(90))["features"]
    True
    """
    day = f"DATE '{as_of.isoformat()}'"
    start = None if window is None else f"DATE '{window.start(as_of).isoformat()}'"
    check_sql = _check_conditions(columns, day)
    return {
        "checks": _checks_query(columns, check_sql, day, lines),
        "features": _features_query(columns, day, lines, start),
        "check_names": list(check_sql),
        "purchases": _purchases_query(columns, day, lines),
    }


def _purchases_query(columns: TransactionColumns, day: str, lines: str) -> str:
    """The ``purchases`` query: each customer's distinct purchase days up to the reference
    date (``day``, days since 1970-01-01), the purchase rule of the features query, for the
    value models' holdout check (`custseg.valuing.holdout`)."""
    return (_per_customer_ctes(columns, day, lines, None) + """
SELECT customer_id, CAST(DATE_DIFF('day', DATE '1970-01-01', line_day) AS BIGINT) AS day
FROM marked
WHERE is_purchase
GROUP BY customer_id, line_day""")


def _check_conditions(columns: TransactionColumns, day: str) -> dict[str, str]:
    """Check name -> SQL condition of a line, for the overlapping checks (``check_N``);
    without a line value (`TransactionColumns.has_money`) no zero or negative value is counted."""
    if columns.uses_amount:
        zero, negative = "line_value = 0", "line_value < 0"
        zero_name, negative_name = "zero amount lines", "negative amount lines"
    else:
        zero, negative = "price = 0", "price < 0"
        zero_name, negative_name = "zero price lines", "negative price lines"
    checks = {
        "lines without customer id": "customer_id IS NULL",
        "cancellation lines": "is_cancellation",
        "adjustment lines": "is_adjustment",
        "negative quantity lines": "quantity < 0",
        zero_name: zero,
        negative_name: negative,
        "non-product lines": "is_non_product",
        "future-dated lines": f"line_day > {day}",
    }
    if not columns.has_money:
        del checks[zero_name], checks[negative_name]
    return checks


def _checks_query(columns: TransactionColumns, check_sql: dict[str, str], day: str, lines: str) -> str:
    """The one-row ``checks`` query: lines read, exclusive drops (the ledger), checks, customers found."""
    check_cols = ",\n  ".join(
        f"SUM(CASE WHEN {cond} THEN line_copies ELSE 0 END) AS check_{i}"
        for i, cond in enumerate(check_sql.values())
    )
    reasons = _line_reasons(columns)
    drop_cols = ",\n  ".join(
        f"SUM(CASE WHEN drop_reason = '{reason}' THEN 1 ELSE 0 END) AS drop_{i}"
        for i, reason in enumerate(reasons)
    )
    return f"""SELECT
  SUM(line_copies) AS lines_read,
  SUM(CASE WHEN customer_id IS NULL THEN line_copies ELSE 0 END) AS drop_no_customer,
  SUM(CASE WHEN customer_id IS NOT NULL THEN line_copies - 1 ELSE 0 END) AS drop_duplicate,
  {drop_cols},
  SUM(CASE WHEN drop_reason IS NULL AND line_day > {day} THEN 1 ELSE 0 END) AS drop_future,
  SUM(CASE WHEN drop_reason IS NULL AND line_day <= {day} THEN 1 ELSE 0 END) AS lines_used,
  SUM(line_copies - 1) AS duplicate_lines,
  {check_cols},
  COUNT(DISTINCT customer_id) AS customers_found
FROM {lines}"""


def _features_query(columns: TransactionColumns, day: str, lines: str, start: str | None = None) -> str:
    """The ``features`` query: one row per customer with a used line (``start``: the SQL
    day before the window, None for the whole history)."""
    count = len(columns.attributes)
    return (_per_customer_ctes(columns, day, lines, start) + _first_day_cte(columns) + _attribute_ctes(count) + "\n"
            + _feature_select(columns, day, start is not None))


def _first_day_cte(columns: TransactionColumns) -> str:
    """The CTE ``first_day`` (each customer's purchase spend on its first purchase day), for
    ``repeat_spend``; nothing without money."""
    if not columns.has_money:
        return ""
    return """,
first_day AS (
  SELECT m.customer_id, SUM(m.line_value) AS first_day_spend
  FROM marked AS m
  JOIN per_customer AS p ON m.customer_id = p.customer_id AND m.line_day = p.first_purchase
  WHERE m.is_purchase
  GROUP BY m.customer_id
)"""


def _per_customer_ctes(columns: TransactionColumns, day: str, lines: str, start: str | None) -> str:
    """The CTEs ``marked`` (used lines as purchases and returns, and whether they are in the
    window) and ``per_customer`` (sums and counts per customer) of the features query.

    With a window, the sums and counts of `WINDOW_FEATURES` take only the lines in it
    (``AND in_window``); first and last purchase, purchase days, the customer's net spend
    and orders over the whole history (who is kept, recency, tenure, inter-purchase time)
    take every line, and ``window_orders``, ``window_spend`` and ``history_spend`` (purchase
    spend over the whole history, for the value models' ``repeat_spend``) are added."""
    c = columns
    order_key = "COALESCE(invoice, CAST(line_day AS VARCHAR))" if c.invoice else "CAST(line_day AS VARCHAR)"
    attr_select = "".join(f", attr_{i}" for i in range(len(c.attributes)))
    # Without a line value, every line that is not a cancellation or a negative quantity is a purchase.
    positive, negative = ("line_value > 0 AND ", "line_value < 0 OR ") if c.has_money else ("", "")
    flag, w, windowed = "", "", ""
    if start is not None:
        flag, w = f",\n    (line_day > {start}) AS in_window", " AND in_window"
        windowed = (",\n    SUM(line_value) FILTER (WHERE in_window) AS window_spend,\n"
                    "    COUNT(DISTINCT order_key) FILTER (WHERE is_purchase AND in_window) AS window_orders,\n"
                    "    COALESCE(SUM(line_value) FILTER (WHERE is_purchase), 0) AS history_spend")
    return f"""WITH marked AS (
  SELECT customer_id, {order_key} AS order_key, product, quantity, line_value, line_day,
    is_non_product{attr_select},
    (NOT is_cancellation AND {positive}(quantity IS NULL OR quantity > 0)) AS is_purchase,
    (is_cancellation OR {negative}quantity < 0) AS is_return{flag}
  FROM {lines}
  WHERE drop_reason IS NULL AND line_day <= {day}
),
per_customer AS (
  SELECT customer_id,
    MIN(line_day) FILTER (WHERE is_purchase) AS first_purchase,
    MAX(line_day) FILTER (WHERE is_purchase) AS last_purchase,
    SUM(line_value) AS net_spend,
    COALESCE(SUM(line_value) FILTER (WHERE is_purchase{w}), 0) AS gross_spend,
    COALESCE(SUM(0 - line_value) FILTER (WHERE is_return{w}), 0) AS returned_value,
    COALESCE(SUM(CAST(quantity AS DECIMAL(38, 6))) FILTER (WHERE is_purchase AND NOT is_non_product{w}), 0)
      AS product_units,
    COALESCE(SUM(line_value) FILTER (
      WHERE is_purchase AND DATE_DIFF('day', line_day, {day}) <= {RECENT_DAYS}{w}), 0) AS recent_spend,
    COALESCE(SUM(line_value) FILTER (
      WHERE is_purchase AND DATE_DIFF('day', line_day, {day}) <= {YEAR_DAYS}), 0) AS year_spend,
    COUNT(DISTINCT order_key) FILTER (WHERE is_purchase) AS purchase_orders,
    COUNT(DISTINCT line_day) FILTER (WHERE is_purchase) AS purchase_days,
    COUNT(DISTINCT product) FILTER (WHERE is_purchase AND NOT is_non_product{w}) AS products{windowed}
  FROM marked
  GROUP BY customer_id
)"""


def _attribute_ctes(count: int) -> str:
    """For each of ``count`` attributes, the CTEs that rank a customer's values by purchase spend."""
    return "".join(
        f""",
attribute_{i}_spend AS (
  SELECT customer_id, attr_{i} AS attr_value, SUM(line_value) AS spend
  FROM marked
  WHERE is_purchase AND attr_{i} IS NOT NULL
  GROUP BY customer_id, attr_{i}
),
attribute_{i} AS (
  SELECT customer_id, attr_value,
    ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY spend DESC, attr_value ASC) AS attr_rank
  FROM attribute_{i}_spend
)"""
        for i in range(count)
    )


def _feature_select(columns: TransactionColumns, day: str, windowed: bool = False) -> str:
    """The final SELECT of the features query: each customer's drop reason, `FEATURE_COLUMNS`
    and dominant attribute values.

    ``windowed``: `WINDOW_FEATURES` from the window's sums and counts; a customer without a
    purchase in it has 0 for each (monetary is never below 0: returns in the window of
    purchases made before it are netted against those)."""
    c = columns
    orders = "t.window_orders" if windowed else "t.purchase_orders"
    gross = "NULLIF(CAST(t.gross_spend AS DOUBLE), 0)"
    ratios = {
        "items": f"CAST(t.product_units AS DOUBLE) / NULLIF({orders}, 0)" if c.quantity else None,
        "per_order": f"CAST(t.gross_spend AS DOUBLE) / NULLIF({orders}, 0)" if c.has_money else None,
        # Without money these are NULL (0 / NULL) anyway; with a window they stay so.
        "returns": f"CAST(t.returned_value AS DOUBLE) / {gross}" if c.has_money or not windowed else None,
        "recent": f"CAST(t.recent_spend AS DOUBLE) / {gross}" if c.has_money or not windowed else None,
    }
    items, per_order, returns, recent = (
        "CAST(NULL AS DOUBLE)" if sql is None else (f"COALESCE({sql}, 0)" if windowed else sql)
        for sql in ratios.values()
    )
    monetary = "CAST(t.net_spend AS DOUBLE)"
    if windowed:
        monetary = ("CASE WHEN t.window_spend > 0 THEN CAST(t.window_spend AS DOUBLE) ELSE CAST(0 AS DOUBLE) END"
                    if c.has_money else "CAST(NULL AS DOUBLE)")
    products = "CAST(t.products AS DOUBLE)" if c.product else "CAST(NULL AS DOUBLE)"
    attr_cols = "".join(f",\n  a{i}.attr_value AS attr_{i}" for i in range(len(c.attributes)))
    spend = "t.history_spend" if windowed else "t.gross_spend"
    repeat = (f"CAST({spend} - COALESCE(f.first_day_spend, 0) AS DOUBLE)" if c.has_money
              else "CAST(NULL AS DOUBLE)")
    year = "CAST(t.year_spend AS DOUBLE)" if c.has_money else "CAST(NULL AS DOUBLE)"
    first_join = "\nLEFT JOIN first_day AS f ON f.customer_id = t.customer_id" if c.has_money else ""
    attr_joins = "".join(
        f"\nLEFT JOIN attribute_{i} AS a{i} ON a{i}.customer_id = t.customer_id AND a{i}.attr_rank = 1"
        for i in range(len(c.attributes))
    )
    return f"""SELECT
  t.customer_id,
  CASE WHEN t.purchase_orders = 0 THEN '{_NO_PURCHASE}'
    WHEN t.net_spend <= 0 THEN '{_NOT_POSITIVE}' END AS drop_reason,
  CAST(DATE_DIFF('day', t.last_purchase, {day}) AS DOUBLE) AS recency_days,
  CAST({orders} AS DOUBLE) AS frequency,
  {monetary} AS monetary,
  CAST(DATE_DIFF('day', t.first_purchase, {day}) AS DOUBLE) AS tenure_days,
  {per_order} AS avg_order_value,
  {items} AS items_per_order,
  {products} AS distinct_products,
  {returns} AS return_rate,
  CASE WHEN t.purchase_days > 1
    THEN CAST(DATE_DIFF('day', t.first_purchase, t.last_purchase) AS DOUBLE) / (t.purchase_days - 1)
  END AS mean_days_between_purchases,
  {recent} AS recent_spend_share,
  CAST(t.purchase_days AS DOUBLE) AS purchase_days,
  {repeat} AS repeat_spend,
  {year} AS year_spend{attr_cols}
FROM per_customer AS t{first_join}{attr_joins}"""


# --------------------------------------------------------------------------- reference date


def as_date(value) -> datetime.date | None:
    """A reference date given as a date, datetime or text (``"2011-12-10"``), or None.

    Raises
    ------
    SettingsError
        If ``value`` is not a date.

    Examples
    --------
    >>> as_date("2011-12-10 08:00"), as_date(None)
    (datetime.date(2011, 12, 10), None)
    """
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise SettingsError(f"as_of must be a date like 2011-12-10, got {value!r}") from None


def last_day_query(lines: str = "lines") -> str:
    """SQL for the last day of the lines that pass rules 1-5 (``as_of`` is the day after).

    Examples
    --------
    >>> last_day_query()
    'SELECT MAX(line_day) FROM lines WHERE drop_reason IS NULL'
    """
    return f"SELECT MAX(line_day) FROM {lines} WHERE drop_reason IS NULL"


def as_of_after(last) -> datetime.date:
    """The day after ``last`` (a date or timestamp), or today when it is None.

    Examples
    --------
    >>> as_of_after(datetime.date(2011, 12, 9))
    datetime.date(2011, 12, 10)
    """
    if last is None:
        return datetime.date.today()
    last_day = last if isinstance(last, datetime.date) else pd.Timestamp(last).date()
    return last_day + datetime.timedelta(days=1)


# --------------------------------------------------------------------------- results


def count_value(value) -> int:
    """A count from a query's row: 0 for NULL (None or NaN).

    Examples
    --------
    >>> count_value(float("nan")), count_value(7.0)
    (0, 7)
    """
    return 0 if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def ledger_and_checks(row: dict, columns: TransactionColumns, check_names: list[str], label: str):
    """The ledger and the checks from the one row of the ``checks`` query (`customer_queries`).

    Raises InputError when no line is left.
    """
    def count(name: str) -> int:
        return count_value(row[name])

    ledger = Ledger(rows_read=count("lines_read"))
    ledger.drop(_DROP_NO_CUSTOMER, count("drop_no_customer"))
    ledger.drop(_DROP_DUPLICATE, count("drop_duplicate"))
    for i, reason in enumerate(_line_reasons(columns)):
        ledger.drop(reason, count(f"drop_{i}"))
    ledger.drop(_DROP_FUTURE, count("drop_future"))
    assert ledger.rows_used == count("lines_used"), "ledger does not add up"
    checks = {
        "lines without customer id": count("check_0"),
        "cancellation lines": count("check_1"),
        "adjustment lines": count("check_2"),
        "exact duplicate lines": count("duplicate_lines"),
    }
    for i, name in enumerate(check_names[3:], start=3):
        checks[name] = count(f"check_{i}")
    if ledger.rows_used == 0:
        dropped = ", ".join(f"{n:,} {r}" for r, n in ledger.rows_dropped.items()) or "none"
        raise InputError(
            f"{label}: no order lines left after cleaning (of {ledger.rows_read:,} lines: {dropped})"
        )
    return ledger, checks


def customers_dropped(found: int, with_lines: int, by_reason: dict, kept: int, label: str) -> dict[str, int]:
    """Customers left out, by reason: ``found`` ids in all, ``with_lines`` rows of the
    ``features`` query, ``by_reason`` its counts per ``drop_reason``, ``kept`` those without.

    Raises InputError when no customer is kept.

    Examples
    --------
    >>> customers_dropped(5, 4, {"net spend <= 0": 1}, 3, "log.csv")
    {'no usable lines': 1, 'net spend <= 0': 1}
    """
    dropped = {}
    for reason, n in ((_NO_USED_LINES, found - with_lines),
                      (_NO_PURCHASE, by_reason.get(_NO_PURCHASE, 0)),
                      (_NOT_POSITIVE, by_reason.get(_NOT_POSITIVE, 0))):
        if n:
            dropped[reason] = int(n)
    if not kept:
        detail = ", ".join(f"{n:,} {r}" for r, n in dropped.items())
        raise InputError(
            f"{label}: no customer has a purchase and a positive net spend "
            f"({found:,} customers found: {detail})"
        )
    return dropped
