"""The result of turning a transaction log into customers, the same on both engines:
`TransactionFeatures` (customer table, ledger, checks, counts), and `customer_table`, the
customer rows of the ``features`` query as the pandas table both engines hand back.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..preparing.clean import Ledger
from .columns import TransactionColumns
from .rules import FEATURE_COLUMNS, HISTORY_COLUMNS

__all__ = ["NO_MONEY_NOTE", "TransactionFeatures", "customer_table", "history_table", "longest_tenure",
           "purchase_table"]

#: The note of a log without money (no amount, no quantity and price).
NO_MONEY_NOTE = (
    "no monetary feature: the log has no amount (nor quantity and price) column, so customers are "
    "segmented on recency, frequency, tenure and inter-purchase time only"
)


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
    window : str or None
        The trailing window of the count and money features (``"90d"``, ``"12m"``;
        `custseg.logs.window`), or None for the whole history.
    history_days : int or None
        The history the log covers: days from the first purchase of any customer kept to
        ``as_of`` (the largest ``tenure_days``); computed from ``customers`` when it is a
        pandas table and not given.
    history : DataFrame or None
        For the value models: the id and `HISTORY_COLUMNS` per customer, in the order of
        ``customers`` (`history_table`); None where the engine does not give it (Spark).
    purchases : DataFrame or None
        For the value models' holdout check: each kept customer's distinct purchase days,
        ``row`` (the customer's position in ``customers``) and ``day`` (days since
        1970-01-01), sorted (`purchase_table`); None where the engine does not give it (Spark).
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
    window: str | None = field(default=None)
    history_days: int | None = field(default=None)
    history: pd.DataFrame | None = field(default=None, repr=False)
    purchases: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.customers_kept is None:
            self.customers_kept = len(self.customers)
        if self.history_days is None and isinstance(self.customers, pd.DataFrame) and "tenure_days" in self.customers:
            self.history_days = longest_tenure(self.customers["tenure_days"].max())

    def notes(self) -> list[str]:
        """What the features cannot say about this log, in words (empty when nothing is missing).

        Examples
        --------
        >>> columns = TransactionColumns(customer="customer", date="date")
        >>> TransactionFeatures(pd.DataFrame(), Ledger(rows_read=0), {}, 0, {}, datetime.date(2024, 1, 1), columns).notes()[0][:35]
        'no monetary feature: the log has no'
        """
        if self.columns.has_money:
            return []
        return [NO_MONEY_NOTE]

    def to_dict(self) -> dict:
        """Ledger, checks, customer counts (``customers_found``, ``customers_kept``,
        ``customers_dropped``), reference date, window, history length, columns, date format
        and notes (`notes`) as plain values."""
        return {
            "notes": self.notes(),
            "ledger": self.ledger.to_dict(),
            "checks": {k: int(v) for k, v in self.checks.items()},
            "customers_found": int(self.customers_found),
            "customers_kept": int(self.customers_kept),
            "customers_dropped": {k: int(v) for k, v in self.customers_dropped.items()},
            "as_of": self.as_of.isoformat(),
            "window": self.window,
            "history_days": self.history_days,
            "columns": self.columns.to_dict(),
            "date_format": self.date_format,
        }


def longest_tenure(value) -> int | None:
    """The largest ``tenure_days`` of a customer table (NaN or None: no customer) as whole days.

    Examples
    --------
    >>> longest_tenure(181.0), longest_tenure(float("nan"))
    (181, None)
    """
    return None if value is None or pd.isna(value) else int(value)


def _sorted_ids(ids: pd.Series) -> np.ndarray:
    """Row order for ids: numerically when every id is a whole number, else as text."""
    text = ids.astype(str)
    if text.str.fullmatch(r"-?\d{1,18}").all():
        keys = pd.DataFrame({"n": text.astype("int64"), "t": text})
        return keys.sort_values(["n", "t"], kind="stable").index.to_numpy()
    return text.sort_values(kind="stable").index.to_numpy()


def _numbers_by_id(kept: pd.DataFrame, customer: str, names) -> tuple[pd.DataFrame, np.ndarray]:
    """The ids of ``kept`` (named ``customer``) and its columns ``names`` as float64, sorted by
    id (`_sorted_ids`), with the order that sorts them (positions in ``kept``)."""
    ids = kept["customer_id"].astype(str).to_numpy()
    order = _sorted_ids(pd.Series(ids))
    out = pd.DataFrame({customer: ids[order]})
    for name in names:
        out[name] = kept[name].to_numpy(dtype="float64", na_value=np.nan)[order]
    return out, order


def history_table(kept: pd.DataFrame, columns: TransactionColumns) -> pd.DataFrame:
    """The id and `HISTORY_COLUMNS` of the customers kept by the ``features`` query, in the
    order of `customer_table`.

    Examples
    --------
    >>> kept = pd.DataFrame({"customer_id": ["10", "9"], "purchase_days": [3.0, 1.0], "repeat_spend": [5.0, 0.0],
    ...                      "year_spend": [9.0, 4.0]})
    >>> history_table(kept, TransactionColumns(customer="client", date="date", amount="total")).to_dict("list")
    {'client': ['9', '10'], 'purchase_days': [1.0, 3.0], 'repeat_spend': [0.0, 5.0], 'year_spend': [4.0, 9.0]}
    """
    return _numbers_by_id(kept, columns.customer, HISTORY_COLUMNS)[0]


def purchase_table(pairs: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    """The ``purchases`` query's (customer_id, day) pairs of the customers in ``ids`` (the
    customer table's ids) as ``row`` (position in ``ids``) and ``day``, sorted by both.

    Examples
    --------
    >>> pairs = pd.DataFrame({"customer_id": ["10", "9", "10", "7"], "day": [5, 3, 2, 1]})
    >>> purchase_table(pairs, pd.Series(["9", "10"])).to_dict("list")
    {'row': [0, 1, 1], 'day': [3, 2, 5]}
    """
    rows = pd.Index(ids.astype(str)).get_indexer(pairs["customer_id"].astype(str))
    keep = rows >= 0
    out = pd.DataFrame({"row": rows[keep].astype(np.int64), "day": pairs["day"].to_numpy(np.int64)[keep]})
    return out.sort_values(["row", "day"], kind="stable").reset_index(drop=True)


def customer_table(kept: pd.DataFrame, columns: TransactionColumns) -> pd.DataFrame:
    """The customers kept by the ``features`` query (`custseg.logs.rules.customer_queries`) as
    the customer table: sorted by id (numerically when every id is a whole number), the id
    named as the input's customer column, `FEATURE_COLUMNS` as float64, attributes as text.

    Examples
    --------
    >>> kept = pd.DataFrame({"customer_id": ["10", "9"], **{name: [1.0, 2.0] for name in FEATURE_COLUMNS}})
    >>> customer_table(kept, TransactionColumns(customer="client", date="date", amount="total"))["client"].tolist()
    ['9', '10']
    """
    out, order = _numbers_by_id(kept, columns.customer, FEATURE_COLUMNS)
    for i, attribute in enumerate(columns.attributes):
        values = kept[f"attr_{i}"].astype(object).to_numpy()[order]
        out[attribute] = pd.Series(values, dtype="str") if len(values) else pd.Series([], dtype="str")
    return out
