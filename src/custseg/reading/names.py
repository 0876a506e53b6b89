"""Column names as words and keys, for the rules that recognise a column by its name."""

from __future__ import annotations

import re

#: Last name words that mark an id (also as the ending of a run-together word: ``clientnum``).
ID_ENDINGS = ("id", "num", "no", "nr", "number", "key", "code")
#: Words that end like an id but name an amount or a state (``amount_paid``, ``is_valid``).
NOT_ID_WORDS = frozenset({
    "paid", "prepaid", "unpaid", "overpaid", "bid", "valid", "invalid", "void", "avoid", "fluid", "liquid",
    "solid", "hybrid", "rapid", "humid", "acid", "kid", "mid", "grid", "platinum", "casino", "piano",
    "turkey", "hockey", "monkey", "donkey", "whiskey", "jockey", "phono", "mono", "techno",
})


#: The names custseg gives the columns of a file without a header row.
HEADERLESS_NAME = re.compile(r"column_[0-9]+")


def headerless_names(width: int) -> list[str]:
    """Names of the columns of a file without a header: ``column_1``, ``column_2``, ...

    Examples
    --------
    >>> headerless_names(2), is_headerless(["column_1", "column_2"]), is_headerless(["id", "column_2"])
    (['column_1', 'column_2'], True, False)
    """
    return [f"column_{i + 1}" for i in range(width)]


def is_headerless(names) -> bool:
    """Whether every name is one custseg gave a file without a header (nothing to read in them)."""
    names = [str(n) for n in names]
    return bool(names) and all(HEADERLESS_NAME.fullmatch(n) for n in names)


def name_key(name) -> str:
    """A column name lower-cased with everything but letters and digits removed.

    Examples
    --------
    >>> name_key("Customer ID"), name_key("Invoice_Date")
    ('customerid', 'invoicedate')
    """
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _words(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name))
    words = re.findall(r"[a-z0-9]+", spaced.lower())
    while words and words[-1].isdigit():      # customer_id_2, id 1
        words.pop()
    return words


def id_like_name(name: str) -> bool:
    """Whether a column's name says it holds ids.

    Examples
    --------
    >>> [id_like_name(n) for n in ("CLIENTNUM", "masterid", "cust_no", "account_number", "Customer ID")]
    [True, True, True, True, True]
    >>> [id_like_name(n) for n in ("NumWebPurchases", "number_of_cds", "amount_paid", "income")]
    [False, False, False, False]
    """
    words = _words(name)
    if not words:
        return False
    last = words[-1]
    if words[0] == "id" or last in ID_ENDINGS:
        return True
    return last not in NOT_ID_WORDS and any(
        last.endswith(ending) and len(last) > len(ending) for ending in ID_ENDINGS
    )
