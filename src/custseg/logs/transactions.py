"""Transaction logs: from raw order lines to one row of behaviour per customer, plus RFM.

A transaction log has one row per order line (UCI Online Retail, Online Retail II, CDNOW,
a shop's order export). `customers_from_transactions` reads it with DuckDB, straight from the
file(s), accounts for every line in a ledger, and returns one row per customer with the
behaviour features below; `rfm_scores` adds the classic R, F and M scores and the named RFM
segments.

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

The feature query
-----------------
The cleaning and feature definitions are written once, as SQL built by `lines_query` and
`customer_queries` over a relation ``source_lines`` (the typed lines, from
`typed_lines_query`). They use standard SQL only (CTEs, CASE, aggregates with FILTER,
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
2. **exact duplicate**: every column equal (as read, with the types above) to another line;
   the first copy goes on through these rules, each extra copy is dropped.
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

Customers with no purchase (``"only cancellations or returns"``), those whose net spend is
<= 0 (``"net spend <= 0"``) and those all of whose lines were dropped (``"no usable lines"``)
are left out of the customer table and counted in ``customers_dropped``; ``customers_found``
counts every distinct id among all lines, so found = kept + dropped.

RFM
---
``r_score``, ``f_score`` and ``m_score`` are 1-5: ``1 + floor(5 * w / n)`` where ``w`` is the
number of customers with a strictly worse value (longer recency; lower frequency; lower
monetary) and ``n`` the number of customers. Ties get the same score; the result does not
depend on row order. ``rfm_score`` is the three digits (``"545"``). ``rfm_segment`` comes from
`RFM_GRID`, R against FM = floor((F + M) / 2 + 0.5) (round half up); every one of the 25 cells
has exactly one of the 11 names in `RFM_SEGMENTS`:

====  ====================  ====================  ====================  ===============  ===============
R     FM 1                  FM 2                  FM 3                  FM 4             FM 5
====  ====================  ====================  ====================  ===============  ===============
5     New Customers         Potential Loyalists   Potential Loyalists   Loyal Customers  Champions
4     Promising             Potential Loyalists   Potential Loyalists   Loyal Customers  Champions
3     About to Sleep        About to Sleep        Need Attention        Loyal Customers  Loyal Customers
2     Hibernating           Hibernating           At Risk               At Risk          Can't Lose Them
1     Lost                  Lost                  At Risk               At Risk          Can't Lose Them
====  ====================  ====================  ====================  ===============  ===============
"""

from __future__ import annotations

import datetime
import glob
import math
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..preparing.clean import Ledger
from ..errors import InputError, SettingsError
from ..reading import (
    ReadOptions, archive_kind, kind_from_suffix, read_head, read_table, sniff_kind, text_layout, unpacked,
)
from ..reading.names import name_key
from ..progress import ProgressCallback

__all__ = [
    "CLUSTER_FEATURES",
    "FEATURE_COLUMNS",
    "NON_PRODUCT_CODES",
    "RFM_GRID",
    "RFM_SEGMENTS",
    "TransactionColumns",
    "TransactionFeatures",
    "customer_queries",
    "customers_from_transactions",
    "detect_transaction_columns",
    "lines_query",
    "rfm_scores",
    "rfm_segment",
    "typed_lines_query",
]

FEATURE_COLUMNS = (
    "recency_days", "frequency", "monetary", "tenure_days", "avg_order_value",
    "items_per_order", "distinct_products", "return_rate",
    "mean_days_between_purchases", "recent_spend_share",
)
#: Default clustering subset of `FEATURE_COLUMNS`.
CLUSTER_FEATURES = (
    "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days",
    "distinct_products", "return_rate",
)
#: Product codes (compared upper-cased) that are fees, postage or manual entries, not products.
NON_PRODUCT_CODES = (
    "POST", "DOT", "M", "C2", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS",
    "ADJUST", "ADJUST2", "TEST001", "TEST002", "CRUK COMMISSION",
)
#: Product code prefixes (upper-cased) of non-products: gift vouchers.
NON_PRODUCT_PREFIXES = ("GIFT_",)
#: Window of ``recent_spend_share``, in days before the reference date.
RECENT_DAYS = 90
#: SQL type of one line's value: exact to a millionth, so sums (widened to 38 digits by SUM)
#: do not depend on the order threads add them. 18 digits are cheaper than 38; a line worth
#: 10^12 or more does not fit and the query is run again with `WIDE_MONEY`.
MONEY = "DECIMAL(18, 6)"
WIDE_MONEY = "DECIMAL(38, 6)"
#: DuckDB settings: set deliberately (two cores; do not compete with scikit-learn).
DUCKDB_THREADS = 2
DUCKDB_MEMORY_LIMIT = "3GB"

# --------------------------------------------------------------------------- columns

#: Normalised column names (lower case, letters and digits only) for each role, best first.
_ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "customer": (
        "customerid", "customer", "custid", "customerno", "customernumber", "customercode",
        "customerkey", "clientid", "client", "userid", "user", "memberid", "accountid",
        "buyerid", "shopperid", "contactid",
    ),
    "invoice": (
        "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderid", "orderno",
        "ordernumber", "order", "transactionid", "transactionno", "transaction", "txnid",
        "receiptid", "receiptno", "basketid", "ticketid", "salesorderid", "saleid",
    ),
    "date": (
        "invoicedate", "orderdate", "transactiondate", "purchasedate", "saledate", "salesdate",
        "txndate", "orderdatetime", "invoicedatetime", "date", "datetime", "timestamp",
        "orderedat", "createdat", "purchasedat", "ordertime", "purchasetime", "time",
    ),
    "quantity": (
        "quantity", "qty", "units", "quantityordered", "orderquantity", "unitssold",
        "itemquantity", "numitems", "items", "itemcount", "count",
    ),
    "price": (
        "unitprice", "price", "priceeach", "itemprice", "priceperunit", "unitcost",
        "salesprice", "saleprice", "sellingprice",
    ),
    "amount": (
        "amount", "total", "dollars", "sales", "revenue", "ordertotal", "totalamount",
        "ordervalue", "ordeamount", "orderamount", "linetotal", "totalspend", "spend",
        "value", "netamount", "grossamount", "purchaseamount", "purchaseamountusd",
        "transactionamount", "paymentvalue", "payment", "amountspent", "totalprice",
        "totalsales", "subtotal", "price_total",
    ),
    "product": (
        "stockcode", "productid", "productcode", "product", "sku", "itemid", "itemcode",
        "item", "articleid", "article", "productno", "upc", "ean", "asin",
    ),
}
#: Per-line categoricals whose dominant value describes a customer.
_ATTRIBUTE_NAMES = ("country", "region", "state", "province", "channel", "store", "market", "segment")
#: Words that make a "...date" column something other than the order date.
_NOT_ORDER_DATE = ("ship", "birth", "deliver", "signup", "regist", "due", "expir", "return", "first", "last")
_OVERRIDE_ROLES = ("customer", "invoice", "date", "quantity", "price", "amount", "product")


@dataclass(frozen=True)
class TransactionColumns:
    """Which columns of a transaction log hold what.

    Parameters
    ----------
    customer, date : str
        Customer id and order date (or date-time) columns.
    invoice : str, optional
        Invoice or order id; without it each (customer, day) is one order.
    quantity, price : str, optional
        Units and unit price of a line: its value is quantity x price.
    amount : str, optional
        Value of a line, for logs without a unit price (CDNOW ``dollars``, a shop's ``total``).
        Used only when there is no price column (or when named explicitly).
    product : str, optional
        Product or stock code, for the product metrics and the non-product codes.
    attributes : tuple of str
        Low-cardinality per-line categoricals (Country, ...); each customer gets the value of
        most spend.
    """

    customer: str
    date: str
    invoice: str | None = None
    quantity: str | None = None
    price: str | None = None
    amount: str | None = None
    product: str | None = None
    attributes: tuple[str, ...] = ()

    @property
    def uses_amount(self) -> bool:
        """Whether line values come from the amount column (else quantity x price)."""
        return self.amount is not None and (self.price is None or self.quantity is None)

    def used(self) -> list[str]:
        """The columns read for the features, in role order."""
        names = [self.customer, self.date, self.invoice, self.quantity, self.price, self.product]
        if self.uses_amount:
            names.append(self.amount)
        return [n for n in names if n is not None] + list(self.attributes)

    def to_dict(self) -> dict:
        """Plain JSON-able values."""
        return {
            "customer": self.customer, "date": self.date, "invoice": self.invoice,
            "quantity": self.quantity, "price": self.price, "amount": self.amount,
            "product": self.product, "attributes": list(self.attributes),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "TransactionColumns":
        """Inverse of `to_dict`."""
        return cls(
            customer=data["customer"], date=data["date"], invoice=data.get("invoice"),
            quantity=data.get("quantity"), price=data.get("price"), amount=data.get("amount"),
            product=data.get("product"), attributes=tuple(data.get("attributes") or ()),
        )


def _find(role: str, names: list[str], taken: set[str]) -> str | None:
    """The best column for ``role`` among ``names`` not already taken."""
    by_norm: dict[str, str] = {}
    for name in names:
        if name not in taken:
            by_norm.setdefault(name_key(name), name)
    for candidate in _ROLE_NAMES[role]:
        if candidate in by_norm:
            return by_norm[candidate]
    if role == "date":
        for name in names:
            norm = name_key(name)
            if name not in taken and ("date" in norm or norm.endswith("time")) and not any(
                word in norm for word in _NOT_ORDER_DATE
            ):
                return name
    if role == "customer":
        for name in names:
            norm = name_key(name)
            if name not in taken and norm.endswith(("customerid", "clientid", "userid")):
                return name
    return None


def detect_transaction_columns(columns: list[str], overrides: dict | None = None) -> TransactionColumns | None:
    """Map the columns of a transaction log to their roles, or None if it is not one.

    A transaction log needs a customer column, a date column, and either a quantity and a
    price or an amount. Names are matched ignoring case, spaces and punctuation: UCI Online
    Retail (``InvoiceNo, StockCode, Quantity, InvoiceDate, UnitPrice, CustomerID, Country``),
    Online Retail II (``Invoice, Price, Customer ID``), CDNOW style (``customer, date, units,
    dollars``) and shop exports (``order_id, customer_id, order_date, total``) are recognised.

    Parameters
    ----------
    columns : list of str
        The column names.
    overrides : dict, optional
        Role -> column name for ``customer``, ``invoice``, ``date``, ``quantity``, ``price``,
        ``amount`` (and ``product``); these win over the guesses.

    Returns
    -------
    TransactionColumns or None

    Raises
    ------
    InputError
        If an override names a column that does not exist.
    SettingsError
        If an override names an unknown role.

    Examples
    --------
    >>> detect_transaction_columns(["customer", "date", "units", "dollars"]).amount
    'dollars'
    """
    names = [str(c) for c in columns]
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(overrides) - set(_OVERRIDE_ROLES))
    if unknown:
        raise SettingsError(
            f"unknown transaction column role(s) {', '.join(map(repr, unknown))}; "
            f"roles are: {', '.join(_OVERRIDE_ROLES)}"
        )
    for role, name in overrides.items():
        if name not in names:
            raise InputError(
                f"--{role}-col column {name!r} not found; columns are: {', '.join(names)}"
            )
    taken = set(overrides.values())
    found: dict[str, str | None] = {}
    for role in ("customer", "invoice", "date", "quantity", "price", "amount", "product"):
        if role in overrides:
            found[role] = overrides[role]
        else:
            found[role] = _find(role, names, taken)
            if found[role] is not None:
                taken.add(found[role])
    if "amount" not in overrides and found["quantity"] and found["price"]:
        found["amount"] = None
    if "price" not in overrides and "amount" in overrides:
        found["price"] = None
    if found["customer"] is None or found["date"] is None:
        return None
    if not ((found["quantity"] and found["price"]) or found["amount"]):
        return None
    attributes = tuple(
        name for name in names
        if name not in taken and any(name_key(name) == word for word in _ATTRIBUTE_NAMES)
    )
    return TransactionColumns(attributes=attributes, **found)


# --------------------------------------------------------------------------- result


@dataclass
class TransactionFeatures:
    """One row of behaviour per customer, and where every order line went.

    Attributes
    ----------
    customers : DataFrame
        One row per customer, sorted by id: the id (named as the input's customer column, as
        text), then `FEATURE_COLUMNS` (float64), then each attribute (dominant value). On the
        Spark engine (`custseg.engines.spark.transactions`) a Spark DataFrame with the same columns
        (string, double, string), unordered, that stays on the cluster.
    ledger : Ledger
        Line level: ``rows_read`` lines, ``rows_dropped`` by exclusive reason,
        ``rows_used`` lines that feed the features.
    checks : dict of str to int
        Overlapping counts over all lines (the data's known figures).
    customers_found : int
        Distinct customer ids among all lines.
    customers_dropped : dict of str to int
        Customers left out of the table, by reason (non-zero counts only).
    as_of : datetime.date
        Reference date used.
    columns : TransactionColumns
        The column roles used.
    date_format : str or None
        Format the dates were read with (None when the column held dates already).
    reading : dict
        What was read (`custseg.reading.TableSource` fields: format, layout, header, member,
        sheets, sheet_column, not_read); ``not_read`` is also in ``ledger.not_read``.
    customers_kept : int
        Rows of ``customers`` (counted once; a Spark DataFrame has no cheap ``len``).
    """

    customers: pd.DataFrame
    ledger: Ledger
    checks: dict[str, int]
    customers_found: int
    customers_dropped: dict[str, int]
    as_of: datetime.date
    columns: TransactionColumns
    date_format: str | None = field(default=None)
    reading: dict = field(default_factory=dict)
    customers_kept: int | None = field(default=None)

    def __post_init__(self) -> None:
        if self.customers_kept is None:
            self.customers_kept = len(self.customers)

    def to_dict(self) -> dict:
        """Ledger, checks, customer counts (``customers_found``, ``customers_kept``,
        ``customers_dropped``), reference date, columns and date format as plain values."""
        return {
            "ledger": self.ledger.to_dict(),
            "checks": {k: int(v) for k, v in self.checks.items()},
            "customers_found": int(self.customers_found),
            "customers_kept": int(self.customers_kept),
            "customers_dropped": {k: int(v) for k, v in self.customers_dropped.items()},
            "as_of": self.as_of.isoformat(),
            "columns": self.columns.to_dict(),
            "date_format": self.date_format,
        }


# --------------------------------------------------------------------------- SQL

_DROP_NO_CUSTOMER = "no customer id"
_DROP_DUPLICATE = "exact duplicate"
_DROP_ADJUSTMENT = "adjustment"
_DROP_MISSING = "missing date, quantity or price"
_DROP_MISSING_AMOUNT = "missing date or amount"
_DROP_PRICE = "zero or negative price"
_DROP_ZERO_AMOUNT = "zero amount"
_DROP_FUTURE = "future-dated"
_NO_PURCHASE = "only cancellations or returns"
_NOT_POSITIVE = "net spend <= 0"
_NO_USED_LINES = "no usable lines"


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


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


#: The Unicode space separators (category Zs: space, no-break space, ..., ideographic space):
#: what DuckDB's one-argument TRIM removes. Named explicitly because Spark's TRIM removes only
#: the ASCII space; with the characters given, both engines trim the same.
_SPACES = " \u00a0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u202f\u205f\u3000"


def _trim(text: str) -> str:
    """SQL that removes `_SPACES` from both ends of the text expression ``text``."""
    return f"TRIM({text}, {_sql_literal(_SPACES)})"


def _trimmed(name: str) -> str:
    """A column as text without surrounding spaces.

    `_trim` removes Unicode space separators (space, no-break space, ...). It runs only on
    values that start or end with a space or hold any non-ASCII character (more bits than 8
    per character): a third of its cost on clean exports, where no value needs it.
    """
    text = f"CAST({_ident(name)} AS VARCHAR)"
    return (
        f"CASE WHEN {text} LIKE ' %' OR {text} LIKE '% ' OR BIT_LENGTH({text}) <> 8 * LENGTH({text}) "
        f"THEN {_trim(text)} ELSE {text} END"
    )


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
    """
    raw = ", ".join(_ident(c) for c in raw_columns)
    c = columns
    quantity = f"CAST({_ident(c.quantity)} AS DOUBLE)" if c.quantity else "CAST(NULL AS DOUBLE)"
    if c.uses_amount:
        price = "CAST(NULL AS DOUBLE)"
        value = f"CAST(CAST({_ident(c.amount)} AS DOUBLE) AS {money})"
        bad_value = f"WHEN NOT is_cancellation AND line_value = 0 THEN '{_DROP_ZERO_AMOUNT}'"
        missing = f"WHEN line_day IS NULL OR line_value IS NULL THEN '{_DROP_MISSING_AMOUNT}'"
    else:
        price = f"CAST({_ident(c.price)} AS DOUBLE)"
        value = (
            f"CAST(CAST({_ident(c.quantity)} AS DOUBLE) * CAST({_ident(c.price)} AS DOUBLE) "
            f"AS {money})"
        )
        bad_value = f"WHEN NOT is_cancellation AND price <= 0 THEN '{_DROP_PRICE}'"
        missing = f"WHEN line_day IS NULL OR line_value IS NULL THEN '{_DROP_MISSING}'"
    trims = [f"{_trimmed(c.customer)} AS customer_text"]
    if c.invoice:
        trims.append(f"{_trimmed(c.invoice)} AS invoice_text")
    if c.product:
        trims.append(f"{_trimmed(c.product)} AS product_text")
    invoice = _code_expr("invoice_text") if c.invoice else "CAST(NULL AS VARCHAR)"
    product = _code_expr("product_text") if c.product else "CAST(NULL AS VARCHAR)"
    attributes = "".join(
        f",\n    NULLIF({_trimmed(a)}, '') AS attr_{i}"
        for i, a in enumerate(c.attributes)
    )
    codes = ", ".join(f"'{code}'" for code in NON_PRODUCT_CODES)
    prefixes = " OR ".join(
        f"SUBSTRING(UPPER(product), 1, {len(p)}) = '{p}'" for p in NON_PRODUCT_PREFIXES
    )
    non_product = f"(product IS NOT NULL AND (UPPER(product) IN ({codes}) OR {prefixes}))"
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
    CAST({_ident(c.date)} AS DATE) AS line_day{attributes},
    line_copies
  FROM trimmed
),
flagged AS (
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
    if columns.uses_amount:
        return [_DROP_ADJUSTMENT, _DROP_MISSING_AMOUNT, _DROP_ZERO_AMOUNT]
    return [_DROP_ADJUSTMENT, _DROP_MISSING, _DROP_PRICE]


def customer_queries(columns: TransactionColumns, as_of: datetime.date, lines: str = "lines") -> dict:
    """SQL for the ledger and checks, and for the per-customer features.

    Parameters
    ----------
    columns : TransactionColumns
    as_of : datetime.date
        Reference date, written into the SQL as a ``DATE`` literal.
    lines : str
        Relation produced by `lines_query`.

    Returns
    -------
    dict
        ``"checks"`` (one row: lines read, exclusive drops, overlapping checks, customers
        found) and ``"features"`` (one row per customer with a used line, with the column
        ``drop_reason`` for customers left out), both standard SQL that SQLGlot transpiles
        to Spark SQL; ``"check_names"`` lists the names of the ``check_N`` columns.
    """
    day = f"DATE '{as_of.isoformat()}'"
    c = columns
    if c.uses_amount:
        zero, negative = "line_value = 0", "line_value < 0"
        zero_name, negative_name = "zero amount lines", "negative amount lines"
    else:
        zero, negative = "price = 0", "price < 0"
        zero_name, negative_name = "zero price lines", "negative price lines"
    check_sql = {
        "lines without customer id": "customer_id IS NULL",
        "cancellation lines": "is_cancellation",
        "adjustment lines": "is_adjustment",
        "negative quantity lines": "quantity < 0",
        zero_name: zero,
        negative_name: negative,
        "non-product lines": "is_non_product",
        "future-dated lines": f"line_day > {day}",
    }
    check_cols = ",\n  ".join(
        f"SUM(CASE WHEN {cond} THEN line_copies ELSE 0 END) AS check_{i}"
        for i, cond in enumerate(check_sql.values())
    )
    reasons = _line_reasons(c)
    drop_cols = ",\n  ".join(
        f"SUM(CASE WHEN drop_reason = '{reason}' THEN 1 ELSE 0 END) AS drop_{i}"
        for i, reason in enumerate(reasons)
    )
    checks = f"""SELECT
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
    order_key = "COALESCE(invoice, CAST(line_day AS VARCHAR))" if c.invoice else "CAST(line_day AS VARCHAR)"
    items = (
        "CAST(t.product_units AS DOUBLE) / NULLIF(t.purchase_orders, 0)" if c.quantity
        else "CAST(NULL AS DOUBLE)"
    )
    products = "CAST(t.products AS DOUBLE)" if c.product else "CAST(NULL AS DOUBLE)"
    attr_ctes = "".join(
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
        for i in range(len(c.attributes))
    )
    attr_cols = "".join(f",\n  a{i}.attr_value AS attr_{i}" for i in range(len(c.attributes)))
    attr_joins = "".join(
        f"\nLEFT JOIN attribute_{i} AS a{i} ON a{i}.customer_id = t.customer_id AND a{i}.attr_rank = 1"
        for i in range(len(c.attributes))
    )
    attr_select = "".join(f", attr_{i}" for i in range(len(c.attributes)))
    features = f"""WITH marked AS (
  SELECT customer_id, {order_key} AS order_key, product, quantity, line_value, line_day,
    is_non_product{attr_select},
    (NOT is_cancellation AND line_value > 0 AND (quantity IS NULL OR quantity > 0)) AS is_purchase,
    (is_cancellation OR line_value < 0 OR quantity < 0) AS is_return
  FROM {lines}
  WHERE drop_reason IS NULL AND line_day <= {day}
),
per_customer AS (
  SELECT customer_id,
    MIN(line_day) FILTER (WHERE is_purchase) AS first_purchase,
    MAX(line_day) FILTER (WHERE is_purchase) AS last_purchase,
    SUM(line_value) AS net_spend,
    COALESCE(SUM(line_value) FILTER (WHERE is_purchase), 0) AS gross_spend,
    COALESCE(SUM(0 - line_value) FILTER (WHERE is_return), 0) AS returned_value,
    COALESCE(SUM(CAST(quantity AS DECIMAL(38, 6))) FILTER (WHERE is_purchase AND NOT is_non_product), 0)
      AS product_units,
    COALESCE(SUM(line_value) FILTER (
      WHERE is_purchase AND DATE_DIFF('day', line_day, {day}) <= {RECENT_DAYS}), 0) AS recent_spend,
    COUNT(DISTINCT order_key) FILTER (WHERE is_purchase) AS purchase_orders,
    COUNT(DISTINCT line_day) FILTER (WHERE is_purchase) AS purchase_days,
    COUNT(DISTINCT product) FILTER (WHERE is_purchase AND NOT is_non_product) AS products
  FROM marked
  GROUP BY customer_id
){attr_ctes}
SELECT
  t.customer_id,
  CASE WHEN t.purchase_orders = 0 THEN '{_NO_PURCHASE}'
    WHEN t.net_spend <= 0 THEN '{_NOT_POSITIVE}' END AS drop_reason,
  CAST(DATE_DIFF('day', t.last_purchase, {day}) AS DOUBLE) AS recency_days,
  CAST(t.purchase_orders AS DOUBLE) AS frequency,
  CAST(t.net_spend AS DOUBLE) AS monetary,
  CAST(DATE_DIFF('day', t.first_purchase, {day}) AS DOUBLE) AS tenure_days,
  CAST(t.gross_spend AS DOUBLE) / NULLIF(t.purchase_orders, 0) AS avg_order_value,
  {items} AS items_per_order,
  {products} AS distinct_products,
  CAST(t.returned_value AS DOUBLE) / NULLIF(CAST(t.gross_spend AS DOUBLE), 0) AS return_rate,
  CASE WHEN t.purchase_days > 1
    THEN CAST(DATE_DIFF('day', t.first_purchase, t.last_purchase) AS DOUBLE) / (t.purchase_days - 1)
  END AS mean_days_between_purchases,
  CAST(t.recent_spend AS DOUBLE) / NULLIF(CAST(t.gross_spend AS DOUBLE), 0) AS recent_spend_share{attr_cols}
FROM per_customer AS t{attr_joins}"""
    return {"checks": checks, "features": features, "check_names": list(check_sql)}


# --------------------------------------------------------------------------- reading

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
_TEXT_TYPES = ("VARCHAR",)


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


def _sql_literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _files(path: str) -> list[str]:
    if any(char in path for char in "*?["):
        matches = sorted(p for p in glob.glob(path) if os.path.isfile(p))
        if not matches:
            raise InputError(f"no file matches {path}")
        return matches
    if not os.path.exists(path):
        raise InputError(f"file not found: {path}")
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory, not a file")
    if os.path.getsize(path) == 0:
        raise InputError(f"{path} is empty (0 bytes)")
    return [path]


def _kind_of(file: str) -> tuple[str, bool]:
    head, compressed = read_head(Path(file))
    kind = kind_from_suffix(Path(file)) or sniff_kind(Path(file), head)
    if head.startswith(b"PAR1"):
        kind = "parquet"
    return kind, compressed


def _csv_layout(file: str, header: str = "auto"):
    """The `custseg.reading.TextLayout` of a text file, as `custseg.reading` sees it (names
    stripped; empty trailing fields named ``__extra_N``)."""
    head, _ = read_head(Path(file))
    return text_layout(Path(file), head, header)


def _duck_encoding(encoding: str) -> str:
    return {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16"}.get(encoding, "latin-1")


def _read_csv_sql(options: dict, types: dict[str, str] | None = None) -> str:
    """A DuckDB ``read_csv`` call: every column text unless ``types`` says otherwise.

    With ``options["columns"]`` (every file has that header) nothing is sniffed: the columns
    and their types are given explicitly. Otherwise files are matched by column name
    (``union_by_name``) and DuckDB sniffs the dialect details of each.
    """
    types = types or {}
    listed = "[" + ", ".join(_sql_literal(f) for f in options["files"]) + "]"
    header = "true" if options.get("header", True) else "false"
    args = [
        listed, f"header = {header}", f"delim = {_sql_literal(options['delim'])}", "quote = '\"'",
        "escape = '\"'", f"encoding = {_sql_literal(options['encoding'])}", "filename = false",
    ]
    if options.get("columns"):
        struct = ", ".join(
            f"{_sql_literal(name)}: {_sql_literal(types.get(name, 'VARCHAR'))}" for name in options["columns"]
        )
        args += ["auto_detect = false", "null_padding = true", f"columns = {{{struct}}}"]
    else:
        args += ["all_varchar = true", "union_by_name = true"]
        if types:
            typed = ", ".join(f"{_sql_literal(k)}: {_sql_literal(v)}" for k, v in types.items())
            args.append(f"types = {{{typed}}}")
    if types and options.get("timestampformat"):
        args.append(f"timestampformat = {_sql_literal(options['timestampformat'])}")
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
    import duckdb

    read = read or ReadOptions()
    if isinstance(source, pd.DataFrame):
        return _open_frame(con, source, "the DataFrame")
    path = os.fspath(source)
    files = _files(path)
    kind, _ = _kind_of(files[0])
    label = label or path
    if read.sheet is not None and kind != "excel":
        raise InputError(f"--sheet applies to Excel workbooks; {label} is not one")
    if kind == "parquet":
        listed = "[" + ", ".join(_sql_literal(f) for f in files) + "]"
        relation = f"read_parquet({listed}, union_by_name = true)"
        try:
            types = _describe(con, relation)
        except duckdb.Error as exc:
            raise _duck_error(label, exc) from None
        con.execute(f"CREATE VIEW raw_lines AS SELECT * FROM {relation}")
        return _Source(label, list(types), types, varchar_sql="raw_lines", reading={"format": "parquet"})
    if kind == "text":
        layouts = [_csv_layout(f, read.header) for f in files]
        if all(layout.kind == "delimited" for layout in layouts):
            return _open_csv(con, files, layouts, label)
    if len(files) > 1:
        raise InputError(f"{path}: a glob of {kind} files is not supported; use CSV or Parquet files")
    frame, table_source = read_table(files[0], read)
    src = _open_frame(con, frame, label)
    src.reading = {k: v for k, v in table_source.to_dict().items() if k not in ("path", "name", "rows", "columns")}
    src.provenance = table_source.sheet_column
    return src


def _open_csv(con, files: list[str], layouts: list, label: str) -> _Source:
    """Delimited text files opened by DuckDB's ``read_csv`` as the view ``raw_lines``."""
    import duckdb

    headers = [(layout.names + layout.extra, layout.delimiter, _duck_encoding(layout.encoding), layout.header)
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


def _parse_expr(value_sql: str, fmt: str) -> str:
    if fmt == "iso":
        return f"TRY_CAST({value_sql} AS TIMESTAMP)"
    return f"TRY_STRPTIME({value_sql}, {_sql_literal(fmt)})"


def _day_first(fmt: str) -> bool:
    day, month = fmt.find("%d"), max(fmt.find("%m"), fmt.find("%b"), fmt.find("%B"))
    return 0 <= day < month


def _date_format(fetch_one: Callable[[str], tuple], label: str, relation: str, column: str) -> str:
    """The first format of `DATE_FORMATS` that parses every sampled value of ``column``.

    When several formats with different day/month order parse the sample, the whole column
    decides (fewest failures; the earlier format on a tie). With no format parsing the whole
    sample, the best one is returned and the full check reports the failures.

    ``fetch_one(sql)`` runs a query (DuckDB SQL) over ``relation`` and returns its one row:
    DuckDB runs it as it is, Spark as transpiled (`custseg.engines.spark.sql.to_spark`).
    """
    col = _ident(column)
    counts = ", ".join(
        f"SUM(CASE WHEN {_parse_expr('v', fmt)} IS NULL THEN 1 ELSE 0 END)" for fmt in DATE_FORMATS
    )
    row = fetch_one(
        f"SELECT COUNT(*), MIN(v), {counts} FROM (SELECT DISTINCT v FROM ("
        f"SELECT {_trim(f'CAST({col} AS VARCHAR)')} AS v FROM {relation} WHERE {col} IS NOT NULL "
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
    col = _trim(f"CAST({_ident(column)} AS VARCHAR)")
    counts = ", ".join(
        f"SUM(CASE WHEN {_parse_expr(col, fmt)} IS NULL THEN 1 ELSE 0 END)" for fmt in perfect
    )
    row = fetch_one(f"SELECT {counts} FROM {relation} WHERE {_ident(column)} IS NOT NULL AND {col} <> ''")
    return min(zip(perfect, row), key=lambda item: item[1] or 0)[0]


def _numeric_type(duck_type: str) -> bool:
    base = duck_type.upper().split("(")[0]
    return base in {
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
        "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL", "REAL",
    }


def _numeric_columns(columns: TransactionColumns) -> list[str]:
    """The columns read as DOUBLE: quantity and price, or the amount."""
    numeric = [n for n in (columns.quantity, columns.price) if n is not None]
    if columns.uses_amount:
        numeric.append(columns.amount)
    return numeric


def _is_date_type(type_name: str) -> bool:
    return type_name.upper().startswith(("TIMESTAMP", "DATE"))


def typed_lines_query(
    names: list[str], types: dict[str, str], columns: TransactionColumns, date_format: str | None,
    relation: str = "raw_lines",
) -> str:
    """SQL that types the lines of ``relation`` as `lines_query` expects them.

    Quantity, price and amount become DOUBLE (text trimmed, blank as NULL), the date a
    TIMESTAMP (parsed with ``date_format``, one of `DATE_FORMATS`, unless its type in
    ``types`` is already a date or timestamp); ids and codes stored as floats become text,
    whole numbers without ".0"; every other column is kept as it is. DuckDB
    runs it on DataFrames and Parquet files; the Spark engine on every input, transpiled.
    """
    numeric = _numeric_columns(columns)
    codes = {columns.customer, columns.invoice, columns.product} - {None}
    exprs = []
    for name in names:
        col = _ident(name)
        if name in numeric:
            if _numeric_type(types[name]):
                expr = f"CAST({col} AS DOUBLE)"
            else:
                expr = f"CAST(NULLIF({_trimmed(name)}, '') AS DOUBLE)"
        elif name == columns.date:
            if _is_date_type(types[name]):
                expr = f"CAST({col} AS TIMESTAMP)"
            else:
                text = f"NULLIF({_trimmed(name)}, '')"
                expr = (f"CAST({text} AS TIMESTAMP)" if date_format == "iso"
                        else f"STRPTIME({text}, {_sql_literal(date_format)})")
        elif name in codes and types[name].upper() in ("FLOAT", "DOUBLE", "REAL"):
            # Whole numbers as integers: DuckDB writes 12345678.0 as text as it is, Spark as
            # 1.2345678E7; both then drop the ".0" (`_code_expr`).
            expr = (f"CASE WHEN {col} = FLOOR({col}) AND ABS({col}) < 1e15 "
                    f"THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) ELSE CAST({col} AS VARCHAR) END")
        else:
            expr = col
        exprs.append(f"{expr} AS {col}")
    return f"SELECT {', '.join(exprs)} FROM {relation}"


def _typed_view(con, src: _Source, columns: TransactionColumns) -> tuple[str | None, list[str]]:
    """Create the view ``source_lines``: the lines with numbers as DOUBLE and the date a TIMESTAMP.

    Returns the date format used (None when the column is already a date) and the columns.
    """
    numeric = _numeric_columns(columns)
    is_date = _is_date_type(src.types[columns.date])
    fetch_one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
    fmt = None if is_date else _date_format(fetch_one, src.label, src.varchar_sql, columns.date)
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


def _diagnose(con, src: _Source, columns: TransactionColumns, fmt: str | None) -> InputError | None:
    """An InputError naming the column, count and an example of values that do not convert."""
    return _diagnose_values(lambda sql: con.execute(sql).fetchone(), src.label, src.varchar_sql,
                           src.types, columns, fmt)


def _diagnose_values(
    fetch_one: Callable[[str], tuple], label: str, relation: str, types: dict[str, str],
    columns: TransactionColumns, fmt: str | None,
) -> InputError | None:
    """An InputError naming the column, count and an example of values of ``relation`` that
    do not convert to numbers or dates (``fmt``), or None; ``fetch_one`` as in `_date_format`."""
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
        text = _trim(f"CAST({_ident(name)} AS VARCHAR)")
        bad = condition.format(v=text)
        count, total, example = fetch_one(
            f"SELECT SUM(CASE WHEN {bad} THEN 1 ELSE 0 END), COUNT(*), "
            f"MIN(CASE WHEN {bad} THEN {text} END) "
            f"FROM {relation} WHERE {_ident(name)} IS NOT NULL AND {text} <> ''"
        )
        if count:
            kind = "not numeric" if role != "date" else "not all dates"
            return InputError(
                f"{label}: {role} column {name!r} is {kind}: {int(count):,} of {int(total):,} "
                f"values do not parse as {what}, e.g. {example!r}"
            )
    return None


# --------------------------------------------------------------------------- main


def _out_of_memory(label: str, exc: Exception) -> InputError:
    return InputError(
        f"{label}: DuckDB ran out of memory at its {DUCKDB_MEMORY_LIMIT} limit "
        f"(custseg.logs.transactions.DUCKDB_MEMORY_LIMIT) while aggregating the order lines: "
        f"{str(exc).splitlines()[0]}"
    )


def _materialise_lines(con, src: _Source, columns: TransactionColumns, fmt: str | None, names: list[str]) -> None:
    """Create the temporary table ``lines`` (`lines_query`), with line values as `MONEY`, or
    as `WIDE_MONEY` when a line is worth too much for it; bad values become an InputError."""
    import duckdb

    def create(money: str) -> None:
        con.execute(f"CREATE TEMP TABLE lines AS {lines_query(columns, names, money=money)}")

    try:
        try:
            create(MONEY)
        except duckdb.ConversionException as exc:
            if "DECIMAL" not in str(exc) or _diagnose(con, src, columns, fmt) is not None:
                raise
            create(WIDE_MONEY)
    except duckdb.OutOfMemoryException:
        raise
    except duckdb.Error as exc:
        raise (_diagnose(con, src, columns, fmt) or _duck_error(src.label, exc)) from None


def _as_date(value) -> datetime.date | None:
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


def _sorted_ids(ids: pd.Series) -> np.ndarray:
    """Row order for ids: numerically when every id is a whole number, else as text."""
    text = ids.astype(str)
    if text.str.fullmatch(r"-?\d{1,18}").all():
        keys = pd.DataFrame({"n": text.astype("int64"), "t": text})
        return keys.sort_values(["n", "t"], kind="stable").index.to_numpy()
    return text.sort_values(kind="stable").index.to_numpy()


def _read_lines(con, source, columns: TransactionColumns | None, overrides: dict | None,
                read=None, label: str | None = None):
    """Open ``source`` in ``con`` and build the table ``lines`` (`lines_query`).

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
        columns = detect_transaction_columns(src.names, overrides)
        if columns is None:
            hint = ("" if src.reading.get("header", True) else
                    " (the file has no header row: name them with --customer-col, --date-col, ...)")
            raise InputError(
                f"{src.label} does not look like a transaction log: it needs a customer "
                f"column, a date column, and quantity and price columns or an amount "
                f"column; columns are: {', '.join(src.names)}{hint}"
            )
    missing = [n for n in columns.used() if n not in src.names]
    if missing:
        raise InputError(
            f"{src.label} lacks column(s) {', '.join(map(repr, missing))}; "
            f"columns are: {', '.join(src.names)}"
        )
    fmt, names = _typed_view(con, src, columns)
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


def _last_day_query(lines: str = "lines") -> str:
    """SQL for the last day of the lines that pass rules 1-5 (`as_of` is the day after)."""
    return f"SELECT MAX(line_day) FROM {lines} WHERE drop_reason IS NULL"


def _default_as_of(con) -> datetime.date:
    """The day after the last line that passes rules 1-5 (today when there is none)."""
    return _as_of_after(con.execute(_last_day_query()).fetchone()[0])


def _as_of_after(last) -> datetime.date:
    """The day after ``last`` (a date or timestamp), or today when it is None."""
    if last is None:
        return datetime.date.today()
    last_day = last if isinstance(last, datetime.date) else pd.Timestamp(last).date()
    return last_day + datetime.timedelta(days=1)


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
) -> TransactionFeatures:
    """Build one row of behaviour features per customer from a transaction log.

    The lines are read and aggregated by DuckDB (see the module docstring for every rule).

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
        Sheet, archive member and header choice (see `custseg.reading.read_table`).
    as_of_within_log : bool, default=False
        Refuse an ``as_of`` before the first day of the usable lines or after the day
        following the last one (`SettingsError`), instead of computing the features of a
        moment the log does not cover.

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
    total_steps = 3
    wanted_as_of = _as_date(as_of)
    progress("reading order lines", 0, total_steps)
    with tempfile.TemporaryDirectory(prefix="custseg-duckdb-") as spill, \
            _local_input(source, read) as (local, label, member):
        config = {
            "threads": DUCKDB_THREADS,
            "memory_limit": DUCKDB_MEMORY_LIMIT,
            "temp_directory": spill,
            "preserve_insertion_order": False,
        }
        try:
            with duckdb.connect(config=config) as con:
                src, columns, fmt = _read_lines(con, local, columns, overrides, read, label)
                progress("checking order lines", 1, total_steps)
                if as_of_within_log and wanted_as_of is not None:
                    _check_within_log(con, wanted_as_of, src.label)
                used_as_of = wanted_as_of or _default_as_of(con)
                queries = customer_queries(columns, used_as_of)
                row = con.execute(queries["checks"]).fetch_df().iloc[0]
                progress("computing customer features", 2, total_steps)
                table = con.execute(queries["features"]).fetch_df()
        except duckdb.OutOfMemoryException as exc:
            label = "the DataFrame" if isinstance(source, pd.DataFrame) else os.fspath(source)
            raise _out_of_memory(label, exc) from None
    progress("customer features ready", 3, total_steps)
    ledger, checks = _ledger_and_checks(row.to_dict(), columns, queries["check_names"], src.label)
    found = _count(row["customers_found"])
    kept = table[table["drop_reason"].isna()]
    by_reason = table["drop_reason"].value_counts().to_dict()
    customers_dropped = _customers_dropped(found, len(table), by_reason, len(kept), src.label)
    customers = _customer_table(kept, columns)
    reading = {**src.reading, "member": member}
    ledger.not_read = list(reading.get("not_read") or [])
    return TransactionFeatures(customers, ledger, checks, found, customers_dropped, used_as_of,
                               columns, None if fmt is None else fmt, reading)


def _count(value) -> int:
    return 0 if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def _ledger_and_checks(row: dict, columns: TransactionColumns, check_names: list[str], label: str):
    """The ledger and the checks from the one row of the ``checks`` query (`customer_queries`).

    Raises InputError when no line is left.
    """
    def count(name: str) -> int:
        return _count(row[name])

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


def _customers_dropped(found: int, with_lines: int, by_reason: dict, kept: int, label: str) -> dict[str, int]:
    """Customers left out, by reason: ``found`` ids in all, ``with_lines`` rows of the
    ``features`` query, ``by_reason`` its counts per ``drop_reason``, ``kept`` those without.

    Raises InputError when no customer is kept.
    """
    customers_dropped = {}
    for reason, n in ((_NO_USED_LINES, found - with_lines),
                      (_NO_PURCHASE, by_reason.get(_NO_PURCHASE, 0)),
                      (_NOT_POSITIVE, by_reason.get(_NOT_POSITIVE, 0))):
        if n:
            customers_dropped[reason] = int(n)
    if not kept:
        detail = ", ".join(f"{n:,} {r}" for r, n in customers_dropped.items())
        raise InputError(
            f"{label}: no customer has a purchase and a positive net spend "
            f"({found:,} customers found: {detail})"
        )
    return customers_dropped


def _customer_table(kept: pd.DataFrame, columns: TransactionColumns) -> pd.DataFrame:
    kept = kept.reset_index(drop=True)
    ids = kept["customer_id"].astype(str)
    order = _sorted_ids(ids)
    out = pd.DataFrame({columns.customer: ids.to_numpy()[order]})
    for name in FEATURE_COLUMNS:
        out[name] = kept[name].to_numpy(dtype="float64", na_value=np.nan)[order]
    for i, attribute in enumerate(columns.attributes):
        values = kept[f"attr_{i}"].astype(object).to_numpy()[order]
        out[attribute] = pd.Series(values, dtype="str") if len(values) else pd.Series([], dtype="str")
    return out


# --------------------------------------------------------------------------- RFM

RFM_SEGMENTS: dict[str, dict] = {
    "Champions": {
        "description": "Bought recently, buy often and spend the most.",
        "actions": ["Reward them: early access, loyalty perks", "Ask for reviews and referrals"],
    },
    "Loyal Customers": {
        "description": "Buy often and spend well; respond to promotions.",
        "actions": ["Upsell higher-value products", "Enrol them in a loyalty programme"],
    },
    "Potential Loyalists": {
        "description": "Recent customers with average frequency and spend.",
        "actions": ["Offer membership or a loyalty programme", "Recommend related products"],
    },
    "New Customers": {
        "description": "Bought very recently, but only once or for little.",
        "actions": ["Onboard them well: welcome series", "Make the second purchase easy"],
    },
    "Promising": {
        "description": "Recent shoppers who have not spent much yet.",
        "actions": ["Build brand awareness", "Offer a free trial or a small incentive"],
    },
    "Need Attention": {
        "description": "Average recency, frequency and spend; may be slipping.",
        "actions": ["Send limited-time offers", "Recommend products from their history"],
    },
    "About to Sleep": {
        "description": "Below-average recency, frequency and spend; will be lost without action.",
        "actions": ["Share popular products and discounts", "Reconnect with them"],
    },
    "At Risk": {
        "description": "Spent and bought fairly often, but not for a long time.",
        "actions": ["Send personalised win-back e-mails", "Offer renewals or helpful resources"],
    },
    "Can't Lose Them": {
        "description": "Used to buy often and spend the most, but have not returned for long.",
        "actions": ["Win them back with new products or strong offers", "Talk to them: find out why"],
    },
    "Hibernating": {
        "description": "Last purchase long ago; few orders and low spend.",
        "actions": ["Offer relevant products and special discounts", "Recreate brand value"],
    },
    "Lost": {
        "description": "Lowest recency, frequency and spend.",
        "actions": ["Try a reactivation campaign", "Otherwise stop spending on them"],
    },
}

#: R score -> segment name for FM = 1..5 (FM = floor((F + M) / 2 + 0.5)).
RFM_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("New Customers", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Champions"),
    4: ("Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Champions"),
    3: ("About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
    1: ("Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"),
}


def rfm_segment(r: int, f: int, m: int) -> str:
    """The RFM segment name of scores ``r``, ``f``, ``m`` (each 1-5), from `RFM_GRID`."""
    fm = (int(f) + int(m) + 1) // 2
    return RFM_GRID[int(r)][fm - 1]


#: Whether a higher value earns a higher RFM score, per RFM column.
RFM_HIGHER_IS_BETTER = {"recency_days": False, "frequency": True, "monetary": True}


def _worse(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """For each customer, how many customers have a strictly worse value."""
    n = values.size
    ordered = np.sort(values)
    if higher_is_better:
        return np.searchsorted(ordered, values, side="left")
    return n - np.searchsorted(ordered, values, side="right")


def rfm_from_worse(worse: dict[str, np.ndarray], n: int, index=None) -> pd.DataFrame:
    """The RFM scores of customers from, per column of `RFM_HIGHER_IS_BETTER`, how many of all
    ``n`` customers have a strictly worse value: the score is ``1 + floor(5 * worse / n)``,
    the segment `rfm_segment`. The one definition of both, for every engine (the Spark engine
    counts ``worse`` with ``rank()``).

    Returns
    -------
    DataFrame
        Columns ``r_score``, ``f_score``, ``m_score`` (int64), ``rfm_score`` (e.g. ``"545"``)
        and ``rfm_segment``.
    """
    r, f, m = (1 + (5 * np.asarray(worse[c], dtype="int64")) // n for c in RFM_HIGHER_IS_BETTER)
    out = pd.DataFrame({"r_score": r, "f_score": f, "m_score": m}, index=index)
    out["rfm_score"] = pd.Series([f"{a}{b}{c}" for a, b, c in zip(r, f, m)], index=out.index, dtype="str")
    out["rfm_segment"] = pd.Series(
        [rfm_segment(a, b, c) for a, b, c in zip(r, f, m)], index=out.index, dtype="str"
    )
    return out


def rfm_scores(customers: pd.DataFrame) -> pd.DataFrame:
    """R, F and M scores (1-5), the RFM code and the named RFM segment of each customer.

    Parameters
    ----------
    customers : DataFrame
        With columns ``recency_days``, ``frequency`` and ``monetary`` (no missing values).

    Returns
    -------
    DataFrame
        Same index as ``customers``; columns ``r_score``, ``f_score``, ``m_score`` (int),
        ``rfm_score`` (e.g. ``"545"``) and ``rfm_segment`` (a key of `RFM_SEGMENTS`).

    Examples
    --------
    >>> table = pd.DataFrame({"recency_days": [1, 30, 300], "frequency": [9, 2, 1],
    ...                       "monetary": [900.0, 50.0, 10.0]})
    >>> rfm_scores(table)[["rfm_score", "rfm_segment"]].values.tolist()
    [['444', 'Loyal Customers'], ['222', 'Hibernating'], ['111', 'Lost']]
    """
    needed = ["recency_days", "frequency", "monetary"]
    absent = [c for c in needed if c not in customers.columns]
    if absent:
        raise InputError(f"RFM needs the column(s) {', '.join(absent)}")
    out = pd.DataFrame(index=customers.index)
    if len(customers) == 0:
        for name in ("r_score", "f_score", "m_score"):
            out[name] = pd.Series(dtype="int64")
        out["rfm_score"] = pd.Series(dtype="str")
        out["rfm_segment"] = pd.Series(dtype="str")
        return out
    values = {c: customers[c].to_numpy(dtype="float64") for c in needed}
    for c, v in values.items():
        if np.isnan(v).any():
            raise InputError(f"RFM: {int(np.isnan(v).sum())} customer(s) have no {c}")
    worse = {c: _worse(values[c], better) for c, better in RFM_HIGHER_IS_BETTER.items()}
    return rfm_from_worse(worse, len(customers), customers.index)
