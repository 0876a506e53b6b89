"""The trailing window of a transaction log: frequency, monetary and the other count and
money features over the last days, weeks or months before the reference date, so that two
snapshots of one log (a run, and a later ``custseg track``) compare like with like.

A window is written as whole days (``"365"`` or ``"365d"``), weeks (``"52w"``: 7 days each)
or months (``"12m"``). A month is a **calendar month**: ``12m`` before 2024-06-30 starts at
2023-06-30, and a day that the earlier month lacks is its last day (``1m`` before 2024-03-31
starts at 2024-02-29). The start day is computed here, in Python, and written into the SQL
as a ``DATE`` literal, so DuckDB and Spark use the very same day. A line is in the window
when its day is after the start day (and, like every used line, not after the reference
date): ``90d`` before 2024-04-01 holds the days 2024-01-03 to 2024-04-01.
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass

from ..errors import SettingsError

__all__ = ["WINDOW_UNITS", "Window", "parse_window"]

#: Units of a window: days, weeks, calendar months.
WINDOW_UNITS = {"d": "days", "w": "weeks", "m": "months"}
#: Days a month counts for when windows of different units are compared (the mean month).
DAYS_PER_MONTH = 30.44
_WINDOW = re.compile(r"\s*([0-9]+)\s*([dwm]?)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Window:
    """A trailing window: ``count`` days (``unit="d"``) or calendar months (``unit="m"``);
    weeks are read as 7 days each.

    Examples
    --------
    >>> window = parse_window("12m")
    >>> window.text, window.start(datetime.date(2024, 6, 30))
    ('12m', datetime.date(2023, 6, 30))
    >>> parse_window("52w") == parse_window("364")
    True
    """

    count: int
    unit: str = "d"

    @property
    def text(self) -> str:
        """The window as written in ``model.json`` and ``summary.json``: ``"90d"`` or ``"12m"``."""
        return f"{self.count}{self.unit}"

    @property
    def days(self) -> float:
        """Its length in days (a month: `DAYS_PER_MONTH`), to compare with a history's length."""
        return float(self.count) if self.unit == "d" else self.count * DAYS_PER_MONTH

    def start(self, as_of: datetime.date) -> datetime.date:
        """The last day before the window: a line is in the window when its day is after it.

        Examples
        --------
        >>> parse_window("90").start(datetime.date(2024, 4, 1))
        datetime.date(2024, 1, 2)
        >>> parse_window("1m").start(datetime.date(2024, 3, 31))
        datetime.date(2024, 2, 29)
        """
        if self.unit == "d":
            return as_of - datetime.timedelta(days=min(self.count, (as_of - datetime.date.min).days))
        months = as_of.year * 12 + (as_of.month - 1) - self.count
        year, month = divmod(months, 12)
        if year < datetime.MINYEAR:
            return datetime.date.min
        day = min(as_of.day, calendar.monthrange(year, month + 1)[1])
        return datetime.date(year, month + 1, day)


def parse_window(value) -> Window | None:
    """A window from its text (``"365"``, ``"365d"``, ``"52w"``, ``"12m"``) or a number of
    days; None for None.

    Raises
    ------
    SettingsError
        If ``value`` is none of these, or zero.

    Examples
    --------
    >>> parse_window("52w"), parse_window(90), parse_window(None)
    (Window(count=364, unit='d'), Window(count=90, unit='d'), None)
    >>> parse_window("a year")
    Traceback (most recent call last):
    ...
    custseg.errors.SettingsError: --window must be whole days (365 or 365d), weeks (52w) or months (12m), got 'a year'
    """
    if value is None:
        return None
    if isinstance(value, Window):
        return value
    match = None if isinstance(value, bool) else _WINDOW.fullmatch(str(value))
    if match is None or int(match.group(1)) == 0:
        raise SettingsError(
            f"--window must be whole days (365 or 365d), weeks (52w) or months (12m), got {value!r}"
        )
    count, unit = int(match.group(1)), (match.group(2) or "d").lower()
    if unit == "w":
        return Window(count * 7, "d")
    return Window(count, unit)
