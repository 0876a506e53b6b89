"""Dates and years in a customer table that become features: ``age`` and ``tenure_days``.

A column's name says what its dates mean: a birth date or birth year (``birth_date``,
``dob``, ``year_of_birth``, ``yob``, ``born``) becomes ``age``, in whole years at the
reference date; a sign-up, registration or first-purchase date (``signup_date``,
``customer_since``, ``first_purchase``, ``registered``, ``joined``, ...) becomes
``tenure_days``, the days from it to the reference date. Dates whose name says nothing of
the kind are left out, as before.

Dates stored as numbers are recognised by their values (`numeric_date_format`): 8-digit
whole numbers that read as ``YYYYMMDD`` (20110315) and 6-digit ones that read as ``YYYYMM``
(201103), whatever the column's name; epoch seconds or milliseconds (1300147200) only in a
column whose name says it holds dates or times (``signup_ts``, ``created_at``,
``last_login_epoch``), since any large number would otherwise pass.

The format of a text column is decided from all its distinct values: every format of
`DATE_FORMATS` that reads the most of them is a candidate, and when the candidates read day
and month in different orders (``03/04/2024``: no value has a day above 12) the column is
refused with a message that names ``--date-format``. Years are whole numbers from 1900 to
the reference year in a column named for birth; a few values outside (1893) still convert,
and the impossible-value rules of `custseg.preparing.clean` catch the resulting ages.
"""

from __future__ import annotations

import datetime
import re

import numpy as np
import pandas as pd

from ..errors import InputError
from .names import name_key

__all__ = [
    "DATE_FORMATS", "NUMERIC_DATE_WORDS", "choose_format", "date_meaning", "date_rule", "derive", "looks_like_years",
    "numeric_date_format", "strftime_pattern",
]

#: Formats tried on a text column of dates, ISO first. Formats that read day and month in
#: a different order are told apart by the data.
DATE_FORMATS = (
    "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d",
    "%Y%m%d", "%Y.%m.%d",
    "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%m-%d-%Y", "%d.%m.%Y",
    "%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%m/%d/%Y %H:%M:%S",
    "%d-%m-%Y %H:%M", "%m-%d-%Y %H:%M", "%d.%m.%Y %H:%M",
    "%d/%m/%y", "%m/%d/%y", "%d-%m-%y", "%m-%d-%y", "%d.%m.%y",
    "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%B %d, %Y", "%d-%b-%Y", "%d-%b-%y",
)
#: Share of a column's distinct values the chosen format must read.
FORMAT_SHARE = 0.9
#: Share of a column's values that must be whole numbers from 1900 to the reference year.
YEAR_SHARE = 0.9
FIRST_YEAR = 1900
#: Normalised-name fragments (lower case, letters and digits only) that mean a birth date
#: or year; a name equal to one of `BIRTH_NAMES` does too.
BIRTH_WORDS = ("birth", "born")
BIRTH_NAMES = ("dob", "yob", "bday", "bdate")
#: Fragments that mean the start of the relationship: sign-up, first purchase, ...
START_WORDS = (
    "signup", "signedup", "regist", "joined", "joindate", "datejoined", "since", "firstpurchase",
    "firstorder", "firstbuy", "firsttransaction", "enrol", "onboard", "accountopen", "opened",
    "createdat", "creationdate", "datecreated", "startdate", "acquired", "acquisition",
)
#: Formats of dates stored as whole numbers, by the ``"from"`` of a derivation rule.
NUMBER_FORMATS = {"yyyymmdd": "%Y%m%d", "yyyymm": "%Y%m"}
#: How the values of each numeric date form are described in messages.
NUMERIC_DATE_WORDS = {
    "yyyymmdd": "YYYYMMDD whole numbers", "yyyymm": "YYYYMM whole numbers",
    "epoch_s": "epoch seconds", "epoch_ms": "epoch milliseconds",
}
#: Epoch seconds from 1990-01-01 to 2100-01-01: the span that a date-named column's
#: numbers must fall in to be read as epoch seconds (times 1,000 for milliseconds).
EPOCH_SECONDS = (631_152_000, 4_102_444_800)
#: Name words that say a column holds dates or times; ``at`` and ``on`` only as the last
#: word (``created_at``, ``updated_on``).
DATE_NAME_WORDS = ("date", "dt", "time", "timestamp", "ts", "epoch", "unix", "datetime")
DATE_NAME_ENDINGS = ("at", "on")
_PATTERN_TOKENS = (("yyyy", "%Y"), ("yy", "%y"), ("mmmm", "%B"), ("mmm", "%b"), ("mm", "%m"),
                   ("dd", "%d"), ("hh", "%H"), ("nn", "%M"), ("ss", "%S"))


def date_meaning(name: str) -> str | None:
    """``"birth"``, ``"start"`` or None: what a column's name says its dates mean.

    Examples
    --------
    >>> date_meaning("Year_Birth"), date_meaning("Customer Since"), date_meaning("last_login")
    ('birth', 'start', None)
    """
    key = name_key(name)
    if key in BIRTH_NAMES or any(word in key for word in BIRTH_WORDS):
        return "birth"
    if any(word in key for word in START_WORDS):
        return "start"
    return None


def strftime_pattern(text: str) -> str:
    """A ``--date-format`` as a ``strftime`` pattern: ``dd-mm-yyyy`` becomes ``%d-%m-%Y``;
    a pattern with ``%`` is returned as given.

    Raises
    ------
    ValueError
        If the pattern has no day, month and year, or does not read its own output back.

    Examples
    --------
    >>> strftime_pattern("dd/mm/yyyy"), strftime_pattern("%Y%m%d")
    ('%d/%m/%Y', '%Y%m%d')
    """
    pattern = str(text).strip()
    if "%" not in pattern:
        for token, directive in _PATTERN_TOKENS:
            pattern = re.sub(token, directive, pattern, flags=re.IGNORECASE)
    has = {d for d in re.findall(r"%(.)", pattern)}
    if not ({"d"} <= has and has & {"m", "b", "B"} and has & {"Y", "y"}):
        raise ValueError(f"{text!r} needs a day, a month and a year")
    sample = datetime.datetime(2001, 2, 3, 4, 5, 6)
    try:
        if datetime.datetime.strptime(sample.strftime(pattern), pattern).date() != sample.date():
            raise ValueError(f"{text!r} does not read its own dates back")
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a usable date pattern ({exc})") from None
    return pattern


def looks_like_years(values: np.ndarray, as_of: datetime.date) -> bool:
    """Whether nearly all non-missing values are whole numbers from 1900 to ``as_of``'s year.

    Examples
    --------
    >>> looks_like_years(np.array([1961.0, 1984.0, np.nan]), datetime.date(2024, 1, 1))
    True
    """
    present = values[~np.isnan(values)]
    if present.size == 0:
        return False
    years = (present == np.round(present)) & (present >= FIRST_YEAR) & (present <= as_of.year)
    return bool(years.mean() >= YEAR_SHARE)


def _reads_as(values: np.ndarray, form: str) -> bool:
    """Whether ``FORMAT_SHARE`` of the distinct present values are whole numbers that read
    as dates in ``form`` (``"yyyymmdd"`` or ``"yyyymm"``) from 1900 to 2100."""
    present = np.unique(values[~np.isnan(values)])
    if present.size == 0 or not np.all(present == np.round(present)):
        return False
    low, high = (1900_01_01, 2100_12_31) if form == "yyyymmdd" else (1900_01, 2100_12)
    inside = present[(present >= low) & (present <= high)]
    if inside.size < FORMAT_SHARE * present.size:
        return False
    text = pd.Series([f"{v:.0f}" for v in inside], dtype="string")
    read = int(_parsed(text, NUMBER_FORMATS[form]).notna().sum())
    return read >= FORMAT_SHARE * present.size


def _names_a_date(name: str) -> bool:
    words = re.findall(r"[a-z0-9]+", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name)).lower())
    return bool(words) and (any(w in DATE_NAME_WORDS for w in words) or words[-1] in DATE_NAME_ENDINGS
                            or date_meaning(name) is not None)


def _epoch_unit(values: np.ndarray) -> str | None:
    present = values[~np.isnan(values)]
    if present.size == 0:
        return None
    low, high = EPOCH_SECONDS
    for form, scale in (("epoch_s", 1), ("epoch_ms", 1000)):
        if ((present >= low * scale) & (present <= high * scale)).mean() >= FORMAT_SHARE:
            return form
    return None


def numeric_date_format(name: str, values: np.ndarray) -> str | None:
    """How a numeric column holds dates: ``"yyyymmdd"``, ``"yyyymm"``, ``"epoch_s"``,
    ``"epoch_ms"``, or None when its numbers are not dates.

    At least 90% of the distinct values must read as dates. ``YYYYMMDD`` (20110315) and
    ``YYYYMM`` (201103) are told by their values alone; epoch seconds (from 1990 to 2100)
    and milliseconds only where the name says the column holds dates or times (``date``,
    ``time``, ``ts``, ``epoch``, ``*_at``, ``*_on``, or a birth or start word).

    Examples
    --------
    >>> numeric_date_format("date", np.array([20110315.0, 20111201.0]))
    'yyyymmdd'
    >>> numeric_date_format("first_month", np.array([201103.0, 201112.0]))
    'yyyymm'
    >>> numeric_date_format("signup_ts", np.array([1300147200.0])), numeric_date_format("spend", np.array([1300147200.0]))
    ('epoch_s', None)
    """
    for form in NUMBER_FORMATS:
        if _reads_as(values, form):
            return form
    return _epoch_unit(values) if _names_a_date(name) else None


def _day_order(fmt: str) -> str:
    """Order of year (y), month (m) and day (d) in a format: ``"dmy"``, ``"mdy"``, ``"ymd"``."""
    order = []
    for directive in re.findall(r"%(.)", fmt):
        kind = {"d": "d", "m": "m", "b": "m", "B": "m", "Y": "y", "y": "y"}.get(directive)
        if kind and kind not in order:
            order.append(kind)
    return "".join(order)


def _parsed(values: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(values, format=fmt, errors="coerce")


def choose_format(label: str, text: pd.Series, given: str | None = None) -> str:
    """The format that reads a text column of dates, decided from all its distinct values.

    Parameters
    ----------
    label : str
        The column's name, for messages.
    text : Series of str
        The values (stripped; missing as NA).
    given : str, optional
        A ``strftime`` pattern from ``--date-format``: used when it reads most values.

    Raises
    ------
    InputError
        If formats that read day and month in different orders all fit best, if no format
        reads most values, or if ``given`` reads too few of them.

    Examples
    --------
    >>> choose_format("signup", pd.Series(["03/04/2024", "25/12/2023"]))
    '%d/%m/%Y'
    """
    distinct = pd.Series(text.dropna().unique(), dtype="string")
    if given is not None:
        read = int(_parsed(distinct, given).notna().sum())
        if read < FORMAT_SHARE * len(distinct):
            example = distinct[_parsed(distinct, given).isna()].iloc[0]
            raise InputError(
                f"--date-format {given} does not fit column {label!r}: {len(distinct) - read:,} of "
                f"{len(distinct):,} distinct values do not parse, e.g. {example!r}"
            )
        return given
    head = distinct.iloc[:50]
    tried = [fmt for fmt in DATE_FORMATS if _parsed(head, fmt).notna().mean() >= 0.5]
    counts = {fmt: int(_parsed(distinct, fmt).notna().sum()) for fmt in tried}
    best = max(counts.values(), default=0)
    if best < FORMAT_SHARE * len(distinct):
        raise InputError(
            f"column {label!r} holds dates in no format custseg knows (e.g. {distinct.iloc[0]!r}); "
            f"give one with --date-format, e.g. --date-format %d/%m/%Y"
        )
    fitting = [fmt for fmt, n in counts.items() if n == best]
    orders = {_day_order(fmt) for fmt in fitting}
    if len(orders) > 1:
        shown = " and ".join(fitting[:2])
        raise InputError(
            f"column {label!r} holds dates that read both ways ({shown} fit every value, e.g. "
            f"{distinct.iloc[0]!r}); give the format with --date-format, e.g. --date-format {fitting[0]}"
        )
    return fitting[0]


def _dates(column: pd.Series, fmt: str | None) -> tuple[pd.Series, np.ndarray]:
    """A column as datetimes with the format, and the non-blank values that did not parse."""
    if pd.api.types.is_datetime64_any_dtype(column):
        dates = pd.to_datetime(column)
        return dates, np.zeros(len(column), dtype=bool)
    text = column.astype("string").str.strip()
    text = text.mask(text == "")
    if fmt is None:
        dates = pd.to_datetime(text, format="ISO8601", errors="coerce")
    else:
        dates = _parsed(text, fmt)
    bad = (dates.isna() & text.notna()).to_numpy(dtype=bool)
    return dates, bad


def _age_from_dates(dates: pd.Series, as_of: datetime.date) -> np.ndarray:
    year = dates.dt.year.to_numpy(dtype="float64", na_value=np.nan)
    month = dates.dt.month.to_numpy(dtype="float64", na_value=np.nan)
    day = dates.dt.day.to_numpy(dtype="float64", na_value=np.nan)
    before_birthday = (month > as_of.month) | ((month == as_of.month) & (day > as_of.day))
    return as_of.year - year - before_birthday.astype("float64")


def _days_to(dates: pd.Series, as_of: datetime.date) -> np.ndarray:
    days = (pd.Timestamp(as_of) - dates.dt.normalize()).dt.days
    return days.to_numpy(dtype="float64", na_value=np.nan)


def _epoch_dates(numbers: np.ndarray, form: str) -> tuple[pd.Series, np.ndarray]:
    """Epoch seconds or milliseconds as datetimes (UTC dates); values outside 1990-2100
    are unreadable."""
    scale = 1000 if form == "epoch_ms" else 1
    low, high = EPOCH_SECONDS
    inside = (numbers >= low * scale) & (numbers <= high * scale)
    seconds = np.where(inside, numbers / scale, np.nan)
    dates = pd.Series(pd.to_datetime(seconds, unit="s"))
    return dates, ~np.isnan(numbers) & ~inside


def derive(column: pd.Series, rule: dict, numbers: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Apply a derivation rule to a column: ``age`` or ``tenure_days`` at ``rule["as_of"]``.

    Parameters
    ----------
    column : Series
        The source column as read (text, numbers or datetimes).
    rule : dict
        ``{"kind": "age" | "tenure_days", "from": "year" | "yyyymmdd" | "yyyymm" | "epoch_s" |
        "epoch_ms" | "date",
        "format": strftime pattern or None, "as_of": "YYYY-MM-DD"}``.
    numbers : ndarray, optional
        The column already parsed as numbers (with codes for missing removed); required
        for every rule but ``"date"``.

    Returns
    -------
    values : ndarray of float64
        The feature; NaN where the source is missing or does not parse.
    unparseable : ndarray of bool
        True where a non-blank source value could not be read.

    Examples
    --------
    >>> rule = {"kind": "tenure_days", "from": "date", "format": "%Y-%m-%d", "as_of": "2024-01-31"}
    >>> derive(pd.Series(["2024-01-01", "soon"]), rule)
    (array([30., nan]), array([False,  True]))
    """
    as_of = datetime.date.fromisoformat(rule["as_of"])
    if rule["from"] == "year":
        return as_of.year - numbers, np.zeros(len(numbers), dtype=bool)
    if rule["from"] in NUMBER_FORMATS:
        text = pd.Series(numbers).map(lambda v: None if np.isnan(v) else f"{v:.0f}").astype("string")
        dates, bad = _dates(text, NUMBER_FORMATS[rule["from"]])
    elif rule["from"] in ("epoch_s", "epoch_ms"):
        dates, bad = _epoch_dates(numbers, rule["from"])
    else:
        dates, bad = _dates(column, rule["format"])
    values = _age_from_dates(dates, as_of) if rule["kind"] == "age" else _days_to(dates, as_of)
    return values, bad


def date_rule(name: str, column: pd.Series, text: pd.Series | None, numbers: np.ndarray | None,
              as_of: datetime.date, given_format: str | None) -> dict | None:
    """The derivation rule for a column, or None when it is not a birth or start date.

    ``text`` is the column as stripped text (codes for missing removed) when it holds
    dates as text; ``numbers`` its numeric reading when it holds numbers (birth years, or
    dates in a form of `numeric_date_format`).

    Examples
    --------
    >>> date_rule("year_of_birth", pd.Series([1970, 1985]), None, np.array([1970.0, 1985.0]),
    ...           datetime.date(2024, 6, 30), None)
    {'kind': 'age', 'format': None, 'as_of': '2024-06-30', 'from': 'year'}
    """
    meaning = date_meaning(name)
    if meaning is None:
        return None
    kind = "age" if meaning == "birth" else "tenure_days"
    rule = {"kind": kind, "format": None, "as_of": as_of.isoformat()}
    if numbers is not None:
        if kind == "age" and looks_like_years(numbers, as_of):
            return {**rule, "from": "year"}
        form = numeric_date_format(name, numbers)
        if form is None:
            return None
        return {**rule, "from": form, "format": NUMBER_FORMATS.get(form)}
    if pd.api.types.is_datetime64_any_dtype(column):
        return {**rule, "from": "date"}
    return {**rule, "from": "date", "format": choose_format(name, text, given_format)}
