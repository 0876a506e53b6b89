"""Which column of a transaction log holds what: customer, invoice, date, quantity, price,
amount, product and the per-line attributes (Country, ...), found by name.

`detect_transaction_columns` maps column names to roles (`TransactionColumns`); both engines
use it before they read a line.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError, SettingsError
from ..reading.names import name_key

__all__ = ["TransactionColumns", "detect_transaction_columns"]

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
