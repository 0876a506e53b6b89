"""How the reports write numbers, shares, settings and rule conditions (Jinja filters too).

Each takes what a summary holds (a number, None, now and then a string): an unknown value
(None) is written "–", a value of an unexpected type as its ``str``.
"""

from __future__ import annotations

__all__ = [
    "format_condition", "format_count", "format_fixed", "format_money", "format_number", "format_part",
    "format_percent", "format_setting", "format_signed",
]


def format_count(value) -> str:
    """A count: a whole number with thousands separators, "–" when unknown.

    Examples
    --------
    >>> format_count(1234567), format_count(2.6), format_count(None)
    ('1,234,567', '3', '–')
    """
    if value is None:
        return "–"
    try:
        return f"{int(round(float(value))):,}"
    except (TypeError, ValueError):
        return str(value)


def format_number(value) -> str:
    """A number with as many decimals as its size deserves (trailing zeros dropped).

    Examples
    --------
    >>> format_number(1234.5678), format_number(12.5), format_number(0.12345), format_number(7)
    ('1,235', '12.5', '0.123', '7')
    """
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value != value:  # NaN
        return "–"
    size = abs(value)
    decimals = 0 if size >= 1000 else 1 if size >= 100 else 2 if size >= 1 else 3
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_money(value) -> str:
    """An amount of money: whole units from 100 up (``3,542``), else two decimals (``42.50``).

    Examples
    --------
    >>> format_money(3541.7), format_money(42.5)
    ('3,542', '42.50')
    """
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return format_number(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def format_fixed(value, decimals: int = 3) -> str:
    """A number with a fixed number of decimals, "–" when unknown.

    Examples
    --------
    >>> format_fixed(0.41234), format_fixed(1234.5, 1)
    ('0.412', '1,234.5')
    """
    if value is None:
        return "–"
    try:
        return f"{float(value):,.{decimals}f}"
    except (TypeError, ValueError):
        return str(value)


def format_percent(value, decimals: int = 1) -> str:
    """A share as a percentage, "–" when unknown.

    Examples
    --------
    >>> format_percent(0.2489), format_percent(0.5, 0)
    ('24.9%', '50%')
    """
    if value is None:
        return "–"
    try:
        return f"{float(value):.{decimals}%}"
    except (TypeError, ValueError):
        return str(value)


def format_part(count, total) -> str:
    """``count`` as a share of ``total``: "24.9%", "<0.1%" for a few lines out of many, "–" if unknown.

    Examples
    --------
    >>> format_part(249, 1000), format_part(3, 100_000), format_part(5, 0)
    ('24.9%', '<0.1%', '–')
    """
    if count is None or not total:
        return "–"
    share = float(count) / float(total)
    if 0 < share < 0.0005:
        return "<0.1%"
    return format_percent(share)


def format_signed(value, decimals: int = 2) -> str:
    """A number with its sign, a typographic minus for negatives, "–" when unknown.

    Examples
    --------
    >>> format_signed(1.234), format_signed(-0.5)
    ('+1.23', '−0.50')
    """
    if value is None:
        return "–"
    try:
        return f"{float(value):+.{decimals}f}".replace("-", "−")
    except (TypeError, ValueError):
        return str(value)


def format_setting(value) -> str:
    """A setting's value as the report shows it: "auto / none", "yes"/"no", lists joined.

    Examples
    --------
    >>> format_setting(None), format_setting(True), format_setting(["kmeans", "gmm"])
    ('auto / none', 'yes', 'kmeans, gmm')
    """
    if value is None:
        return "auto / none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "(none)"
    if isinstance(value, float):
        return format_number(value)
    return str(value)


_OPERATORS = ((" <= ", " ≤ "), (" >= ", " ≥ "), (" != ", " ≠ "))


def format_condition(condition) -> str:
    """A rule condition with typographic comparison signs (``a <= 3`` -> ``a ≤ 3``).

    Only the operator that separates the column from the threshold (the last one) changes,
    so a column name that itself holds ``<=`` is left alone.

    Examples
    --------
    >>> format_condition("Age <= 30.5")
    'Age ≤ 30.5'
    """
    text = str(condition)
    best = max(((text.rfind(old), old, new) for old, new in _OPERATORS), default=(-1, "", ""))
    position, old, new = best
    if position < 0:
        return text
    return text[:position] + new + text[position + len(old):]
