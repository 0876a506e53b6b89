"""Ids in a customer table: columns that name customers (or rows), never features.

A numeric column is an id when its values are whole numbers, nearly all distinct, and its
name says so: the last word of the name is, or ends in, ``id``, ``num``, ``no``, ``nr``,
``number``, ``key`` or ``code`` (``CLIENTNUM``, ``masterid``, ``cust_no``,
``account_number``), or its first word is ``id`` (``id_client``). Counts such as
``NumWebPurchases`` or ``number_of_cds`` are not ids: there ``num`` is not the last word.
An id-named column of whole numbers that repeat, with more than 20 distinct values
(``masterid`` of an order log read as a table, ``store_no``), is left out too: it numbers
something, it is no amount. Whatever its name, a column whose values are exactly 1..n (or 0..n-1) in shuffled order is an
id too: a row counter of a table that was sorted since. A continuous amount with decimals, or
a whole-number amount that repeats (``Annual Income (k$)``), is never taken.
"""

from __future__ import annotations

import numpy as np

from ..reading.names import id_like_name

__all__ = ["NEAR_UNIQUE_SHARE", "numeric_id_reason", "unique_whole_numbers"]

#: Share of the present values that must be distinct for an id-named column to be an id.
NEAR_UNIQUE_SHARE = 0.95
#: An id-named column of whole numbers with more distinct values than this, though they
#: repeat, numbers something (a store, a master record): not an amount to cluster on.
MAX_REFERENCE_LEVELS = 20
#: Fewer values than this are too few to call a shuffled 1..n an id rather than chance.
MIN_SHUFFLED_ROWS = 20


def unique_whole_numbers(values: np.ndarray) -> bool:
    """Whether every present value is a whole number and no value repeats (at least two).

    Examples
    --------
    >>> unique_whole_numbers(np.array([7.0, 3.0, np.nan])), unique_whole_numbers(np.array([7.5, 3.0]))
    (True, False)
    """
    present = values[~np.isnan(values)]
    return present.size >= 2 and bool(np.all(present == np.round(present))) and np.unique(present).size == present.size


def _shuffled_run(present: np.ndarray) -> bool:
    """Whether the values are 1..n or 0..n-1, each once, in no sorted order."""
    if present.size < MIN_SHUFFLED_ROWS or np.unique(present).size != present.size:
        return False
    low = present.min()
    return low in (0.0, 1.0) and present.max() - low == present.size - 1 and bool(np.all(present == np.round(present)))


def numeric_id_reason(name: str, values: np.ndarray, chosen_id: str | None = None) -> str | None:
    """Why a numeric column is an id (the reason shown in the report), or None.

    Parameters
    ----------
    name : str
        The column's name.
    values : ndarray of float64
        Its numeric reading (missing as NaN).
    chosen_id : str, optional
        The table's customer id column, named in the reason of a second id.

    Examples
    --------
    >>> numeric_id_reason("CLIENTNUM", np.array([768805383.0, 818770008.0, 713982108.0]))
    'an id (unique whole numbers)'
    >>> numeric_id_reason("sampleid", np.array([3.0, 1.0, 2.0]), chosen_id="masterid")
    'a second id beside masterid (unique whole numbers)'
    >>> numeric_id_reason("income", np.array([52.5, 61.25, 48.0])) is None
    True
    """
    present = values[~np.isnan(values)]
    if present.size < 2 or not np.all(present == np.round(present)):
        return None
    distinct = np.unique(present).size
    if id_like_name(name) and distinct >= NEAR_UNIQUE_SHARE * present.size:
        what = ("unique whole numbers" if distinct == present.size
                else f"{distinct:,} distinct whole numbers in {present.size:,} rows")
    elif id_like_name(name) and distinct > MAX_REFERENCE_LEVELS:
        return (f"an id that repeats ({distinct:,} distinct whole numbers in {present.size:,} rows): "
                "it numbers something, it is not an amount")
    elif _shuffled_run(present):
        what = f"the whole numbers {present.min():.0f} to {present.max():.0f}, each once, shuffled"
    else:
        return None
    return f"a second id beside {chosen_id} ({what})" if chosen_id else f"an id ({what})"
