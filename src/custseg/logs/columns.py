"""Which column of a transaction log holds what: customer, invoice, date, quantity, price,
amount, product and the per-line attributes (Country, ...), found by name.

`detect_transaction_columns` maps column names to roles (`TransactionColumns`); both engines
use it before they read a line. A name is matched whole first (`_ROLE_NAMES`), then by its
words (`AMOUNT_WORDS`, `QUANTITY_WORDS`, ``number_of_X``): ``dollar_value`` is an amount,
``number_of_cds`` a quantity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InputError, SettingsError
from ..reading.names import name_key

__all__ = [
    "AMOUNT_WORDS", "COUNT_PREFIXES", "QUANTITY_WORDS", "TransactionColumns", "detect_transaction_columns",
    "find_role", "name_words",
]

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
#: Words that make a column a line's amount (``dollar_value``, ``total_sales``, ``spend``).
AMOUNT_WORDS = ("amount", "amt", "sales", "revenue", "spend", "spent", "value", "dollars", "dollar")
#: Words that make a column a line's quantity (``cds``, ``units_bought``).
QUANTITY_WORDS = ("quantity", "qty", "units", "items", "cds", "pieces", "pcs")
#: A first word that makes the name a count of what follows (``number_of_cds``, ``n_items``).
COUNT_PREFIXES = ("number", "num", "n", "nb", "nr")
#: Words that keep a column out of the amount and quantity roles found by words: ids, codes,
#: dates, prices and shares are not what a line is worth or how much it holds.
_NOT_A_MEASURE = ("id", "no", "code", "key", "date", "time", "day", "price", "rate", "pct", "percent",
                  "share", "ratio", "score", "rank")
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
    def has_money(self) -> bool:
        """Whether a line has a value: an amount, or a quantity and a price. Without one (a log
        of customer and date only, or of quantities only) no monetary feature exists."""
        return self.amount is not None or (self.quantity is not None and self.price is not None)

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


def find_role(role: str, names: list[str], taken=()) -> str | None:
    """The best column among ``names`` (not in ``taken``) for ``role``, by its whole name, and
    for the amount and the quantity also by its words.

    Examples
    --------
    >>> find_role("customer", ["masterid", "Customer No"]), find_role("amount", ["date", "dollar_value"])
    ('Customer No', 'dollar_value')
    """
    taken = set(taken)
    return _find(role, names, taken) or _find_by_words(role, names, taken)


def name_words(name) -> list[str]:
    """A column name as lower-case words, split at punctuation, spaces, digits and camelCase.

    Examples
    --------
    >>> name_words("number_of_cds"), name_words("TotalSales"), name_words("Dollar Value ($)")
    (['number', 'of', 'cds'], ['total', 'sales'], ['dollar', 'value'])
    """
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", str(name))
    return re.findall(r"[a-z]+", spaced.lower())


def _measure_by_words(role: str, name: str) -> bool:
    """Whether the words of ``name`` say it holds a line's ``role`` ("amount" or "quantity")."""
    words = name_words(name)
    if not words or any(word in _NOT_A_MEASURE for word in words):
        return False
    if role == "amount":
        return any(word in AMOUNT_WORDS for word in words)
    counted = len(words) >= 2 and words[0] in COUNT_PREFIXES
    return counted or any(word in QUANTITY_WORDS for word in words)


def _find_by_words(role: str, names: list[str], taken: set[str]) -> str | None:
    """The first column not taken whose words name ``role`` (amount or quantity)."""
    if role not in ("amount", "quantity"):
        return None
    return next((n for n in names if n not in taken and _measure_by_words(role, n)), None)


def _checked_overrides(overrides: dict | None, names: list[str]) -> dict[str, str]:
    """The overrides that are given (not None), each a known role naming an existing column."""
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
    return overrides


def detect_transaction_columns(columns: list[str], overrides: dict | None = None, *, words: bool = True,
                               require_value: bool = True) -> TransactionColumns | None:
    """Map the columns of a transaction log to their roles, or None if it is not one.

    A transaction log needs a customer column, a date column, and either a quantity and a
    price or an amount. Names are matched ignoring case, spaces and punctuation: UCI Online
    Retail (``InvoiceNo, StockCode, Quantity, InvoiceDate, UnitPrice, CustomerID, Country``),
    Online Retail II (``Invoice, Price, Customer ID``), CDNOW style (``customer, date, units,
    dollars``) and shop exports (``order_id, customer_id, order_date, total``) are recognised.
    With ``words``, an amount or quantity not named whole is found by the words of its name
    (`AMOUNT_WORDS`, `QUANTITY_WORDS`, ``number_of_X``): CDNOW's ``customer_id date
    number_of_cds dollar_value``.

    Parameters
    ----------
    columns : list of str
        The column names.
    overrides : dict, optional
        Role -> column name for ``customer``, ``invoice``, ``date``, ``quantity``, ``price``,
        ``amount`` (and ``product``); these win over the guesses.
    words : bool, default=True
        Also find the amount and the quantity by the words of their names.
    require_value : bool, default=True
        Return None unless the lines have a value (quantity and price, or an amount). With
        False, a customer and a date column make a log (no monetary feature then; a quantity
        is read when there is one).

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
    >>> found = detect_transaction_columns(["customer_id", "date", "number_of_cds", "dollar_value"])
    >>> found.quantity, found.amount
    ('number_of_cds', 'dollar_value')
    """
    names = [str(c) for c in columns]
    overrides = _checked_overrides(overrides, names)
    taken = set(overrides.values())
    found: dict[str, str | None] = {}
    for role in ("customer", "invoice", "date", "quantity", "price", "amount", "product"):
        if role in overrides:
            found[role] = overrides[role]
        else:
            found[role] = _find(role, names, taken)
            if found[role] is None and words:
                found[role] = _find_by_words(role, names, taken)
            if found[role] is not None:
                taken.add(found[role])
    if "amount" not in overrides and found["quantity"] and found["price"]:
        found["amount"] = None
    if "price" not in overrides and "amount" in overrides:
        found["price"] = None
    if found["customer"] is None or found["date"] is None:
        return None
    if require_value and not ((found["quantity"] and found["price"]) or found["amount"]):
        return None
    attributes = tuple(
        name for name in names
        if name not in taken and any(name_key(name) == word for word in _ATTRIBUTE_NAMES)
    )
    return TransactionColumns(attributes=attributes, **found)
