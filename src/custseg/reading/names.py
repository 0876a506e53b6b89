"""Column names as words and keys, for the rules that recognise a column by its name."""

from __future__ import annotations

import re


def name_key(name) -> str:
    """A column name lower-cased with everything but letters and digits removed.

    Examples
    --------
    >>> name_key("Customer ID"), name_key("Invoice_Date")
    ('customerid', 'invoicedate')
    """
    return re.sub(r"[^0-9a-z]", "", str(name).lower())
