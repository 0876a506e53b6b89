"""Telling a transaction log by its shape when its names do not say it: an id column that
repeats, an order-date column (text dates, or 8-digit integers that read as ``YYYYMMDD``),
and a money or count column.

`log_by_shape` looks at the values of a table already read (`custseg.reading.read_table`);
the pipeline asks it only when the names alone (`custseg.logs.columns.detect_transaction_columns`
without words) did not find a log.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from ..errors import InputError
from ..reading.names import id_like_name, is_headerless
from .columns import (
    TransactionColumns,
    detect_transaction_columns,
    find_role,
)
from .typed_lines import DATE_FORMATS

__all__ = ["LOG_REPEAT_SHARE", "LogShape", "log_by_shape", "repeated_row_share", "table_shape"]

#: A table is a log when at least this share of its rows carry an id that is on another row
#: too. Measured: CDNOW 83% (69,659 lines, 23,570 customers; its 1/10 sample 82%); Mall
#: Customers, Telco churn 0% (unique ids); a customer table exported with a few duplicated
#: ids stays far below.
LOG_REPEAT_SHARE = 0.5
#: A column with one value per customer and at least this many values per customer is a
#: second id (CDNOW's sample id), not an amount or a quantity.
SECOND_ID_DISTINCT = 0.5
#: In a file without a header, a column is the customer id by its values when at least this
#: share of its values are distinct (CDNOW's sample: 2,357 ids on 6,919 lines, 34%), so that a
#: quantity (a few dozen values on thousands of lines) is never taken for it.
HEADERLESS_ID_DISTINCT = 0.05
#: Distinct values tried when a column is tested for dates.
_DATE_SAMPLE = 500
#: Formats of `DATE_FORMATS` (DuckDB's) tried on the values; DuckDB's own "iso" cast is not a pattern.
_PATTERNS = tuple(fmt for fmt in DATE_FORMATS if fmt != "iso")


@dataclass(frozen=True)
class LogShape:
    """What the shape of a table says: the id column, the share of rows that repeat an id,
    and the order-date column (None when there is none)."""

    customer: str
    repeat_share: float
    date: str | None
    #: role -> column decided from the values alone (a file without a header)
    by_values: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @property
    def is_log(self) -> bool:
        """Whether the id repeats enough (`LOG_REPEAT_SHARE`) and there is an order date."""
        return self.repeat_share >= LOG_REPEAT_SHARE and self.date is not None

    def describe(self) -> str:
        """The shape in words, for the summary and for messages."""
        words = (f"{self.repeat_share:.0%} of its rows repeat a {self.customer!r} "
                 f"(a log from {LOG_REPEAT_SHARE:.0%}), with dates in {self.date!r}")
        if self.by_values:
            roles = ", ".join(f"{role} {column!r}" for role, column in self.by_values)
            words += f"; no header, so read from the values: {roles}"
        return words


def repeated_row_share(values: pd.Series) -> float:
    """Share of the non-blank values that occur more than once (0 for none).

    Examples
    --------
    >>> repeated_row_share(pd.Series(["a", "a", "b", "c"]))
    0.5
    """
    text = _text(values)
    text = text[text != ""]
    if text.empty:
        return 0.0
    return float(text.duplicated(keep=False).mean())


def _text(values: pd.Series) -> pd.Series:
    """Non-missing values as trimmed text; whole numbers stored as floats without ``.0``."""
    present = values.dropna()
    if pd.api.types.is_float_dtype(present) and (present == present.round()).all():
        present = present.astype("int64")
    return present.astype(str).str.strip()


def _date_pattern(values: pd.Series) -> str | None:
    """The first pattern that reads every sampled distinct value as a date, or None."""
    if pd.api.types.is_float_dtype(values) and not (values.dropna() == values.dropna().round()).all():
        return None
    text = _text(values)
    sample = text[text != ""].drop_duplicates().head(_DATE_SAMPLE)
    if sample.empty or sample.str.fullmatch(r"-?\d{1,7}([.]\d*)?").any():
        return None
    for pattern in _PATTERNS:
        if pd.to_datetime(sample, format=pattern, errors="coerce").notna().all():
            return pattern
    return None


def _customer_column(frame: pd.DataFrame, names: list[str], overrides: dict) -> str | None:
    """The id column: the one given, the one named like a customer, else the first id-like
    name; in a file without a header, the first column of codes that repeat."""
    if overrides.get("customer"):
        return overrides["customer"]
    named = find_role("customer", names) or next((n for n in names if id_like_name(n)), None)
    if named is not None or not is_headerless(names):
        return named
    return next((n for n in names if _repeating_codes(frame[n])), None)


def _repeating_codes(values: pd.Series) -> bool:
    """Whether a column holds ids that repeat: whole numbers or short codes, not dates, most
    on several rows, and many of them (`HEADERLESS_ID_DISTINCT`)."""
    text = _text(values)
    text = text[text != ""]
    if text.empty or not text.str.fullmatch(r"[A-Za-z]*[0-9]+").all() or _date_pattern(values) is not None:
        return False
    return (repeated_row_share(text) >= LOG_REPEAT_SHARE
            and text.nunique() >= HEADERLESS_ID_DISTINCT * len(text))


def _date_column(frame: pd.DataFrame, names: list[str], customer: str, overrides: dict) -> str | None:
    """The order date: the one given, else the column named like one if its values are dates,
    else the first column (not id-like) whose values are dates."""
    if overrides.get("date"):
        return overrides["date"]
    others = [n for n in names if n != customer]
    named = find_role("date", others)
    if named is not None and _date_pattern(frame[named]) is not None:
        return named
    return next((n for n in others if not id_like_name(n) and _date_pattern(frame[n]) is not None), None)


def table_shape(frame: pd.DataFrame, overrides: dict | None = None) -> LogShape | None:
    """The id column, its share of repeated rows and the order date of ``frame``; None
    without an id column.

    Examples
    --------
    >>> lines = pd.DataFrame({"masterid": ["1", "1", "2", "2"], "date": ["19970101", "19970301", "19970102", "19970105"],
    ...                       "sales": ["9.5", "3", "4", "1"]})
    >>> table_shape(lines)
    LogShape(customer='masterid', repeat_share=1.0, date='date')
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    names = [str(c) for c in frame.columns]
    customer = _customer_column(frame, names, overrides)
    if customer is None:
        return None
    share = repeated_row_share(frame[customer])
    date = _date_column(frame, names, customer, overrides) if share >= LOG_REPEAT_SHARE else None
    return LogShape(customer, share, date)


def _numeric(values: pd.Series) -> bool:
    """Whether every non-blank value is a number."""
    text = _text(values)
    text = text[text != ""]
    return not text.empty and bool(pd.to_numeric(text, errors="coerce").notna().all())


def log_by_shape(frame: pd.DataFrame, label: str, overrides: dict | None = None) -> tuple[TransactionColumns, LogShape] | None:
    """The column roles of ``frame`` when its shape says it is a transaction log, else None.

    A log by shape: an id column (named like a customer, or id-like: ``masterid``) of which at
    least `LOG_REPEAT_SHARE` of the rows repeat an id, and an order-date column (named like one
    with date values, or the first column of dates: text dates or ``YYYYMMDD`` integers). The
    amount and quantity are then found by the words of their names; a log with neither and no
    other numeric column is a log of customer and date only (no monetary feature).

    Raises
    ------
    InputError
        When the shape says "log" but other numeric columns are left and none is named as an
        amount or a quantity: the one line names the options to give.

    Examples
    --------
    >>> lines = pd.DataFrame({"masterid": ["1", "1", "2", "2"], "date": ["19970101", "19970301", "19970102", "19970105"],
    ...                       "cds": ["1", "2", "1", "1"], "sales": ["9.5", "3", "4", "1"]})
    >>> found, shape = log_by_shape(lines, "log.csv")
    >>> found.customer, found.date, found.quantity, found.amount
    ('masterid', 'date', 'cds', 'sales')
    """
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    shape = table_shape(frame, overrides)
    if shape is None or not shape.is_log:
        return None
    names = [str(c) for c in frame.columns]
    found = detect_transaction_columns(names, {**overrides, "customer": shape.customer, "date": shape.date},
                                       require_value=False)
    if found.has_money:
        return found, shape
    unnamed = [n for n in names if n not in found.used() and not id_like_name(n) and _numeric(frame[n])]
    if is_headerless(names) and unnamed:
        found, shape, unnamed = _roles_by_values(frame, found, shape, unnamed)
        if found.has_money:
            return found, shape
    if unnamed:
        raise InputError(
            f"{label} looks like a transaction log ({shape.describe()}) but no column is named as "
            f"an amount{'' if found.quantity else ' or a quantity'} among {', '.join(map(repr, unnamed))}: "
            f"give --amount-col{'' if found.quantity else ' (or --quantity-col)'}, or --kind customers"
        )
    return found, shape


def _roles_by_values(frame: pd.DataFrame, found: TransactionColumns, shape: LogShape,
                     unnamed: list[str]) -> tuple[TransactionColumns, LogShape, list[str]]:
    """In a log without a header, the amount is the one column with cents and the quantity the
    one other column of whole numbers, once second ids (one value per customer, a value for
    most customers: `SECOND_ID_DISTINCT`) are set aside: CDNOW's sample (master id, sample id,
    date, cds, dollars)."""
    per_customer = frame.groupby(frame[shape.customer].astype(str), sort=False)
    customers = per_customer.ngroups
    second_ids = [n for n in unnamed if per_customer[n].nunique().max() <= 1
                  and frame[n].nunique() >= SECOND_ID_DISTINCT * customers]
    left = [n for n in unnamed if n not in second_ids]
    numbers = {n: pd.to_numeric(_text(frame[n]), errors="coerce") for n in left}
    cents = [n for n in left if (numbers[n] != numbers[n].round()).any()]
    if len(cents) != 1:
        return found, shape, unnamed
    whole = [n for n in left if n not in cents and (numbers[n] >= 0).all()]
    roles = {"amount": cents[0], **({"quantity": whole[0]} if len(whole) == 1 else {})}
    decided = tuple(roles.items()) + tuple(("second id", n) for n in second_ids)
    found = replace(found, **roles)
    return found, replace(shape, by_values=decided), [n for n in left if n not in roles.values()]
