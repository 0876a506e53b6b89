"""Codes that stand for "no value": 999 days since a contact that never happened, "unknown".

A numeric value is such a code when it repeats and stands apart from the rest of its column:

* it is carried by at least `FREQUENT_SHARE` (5%) of the column's values, or by at least
  `TYPICAL_SHARE` (1%) when it is a typical code (`TYPICAL_CODES`: -1, 99, 999, 9999, ...);
* and it is negative where every other value is >= 0, or above every other value and beyond
  their upper robust fence (Q3 + 3 IQR, on the log scale for skewed columns; a typical code
  also counts when the others have no spread to fence).

Zero is never a code: it is a real amount. A text value is a code when it is one of
`MISSING_LEVELS` ("unknown", "n/a", "na", "?", "none", "-", ... compared case-insensitively);
in a numeric column, such text counts as a code for missing rather than an unparseable value.

Codes become missing values (imputed like any other). When a code is carried by at least
`INDICATOR_SHARE` (5%) of the rows, the fact itself is kept as a 0/1 feature named
``<column>_is_<code>`` (``pdays_is_999``; ``<column>_is_unknown`` for the `MISSING_LEVELS`
of a column together, ``<column>_is_<level>`` for a level the user named), because "never
contacted" means something the imputed value cannot say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .stats import log_helps, robust_fences

__all__ = ["ColumnCodes", "MISSING_LEVELS", "TYPICAL_CODES", "find_codes", "indicator_name"]

MISSING_LEVELS = frozenset({
    "unknown", "unk", "n/a", "na", "n.a.", "n.a", "?", "??", "none", "-", "--", "null", "nan",
    "missing", "not available", "not known", "undefined", "#n/a",
})
TYPICAL_CODES = frozenset({-1.0, -9.0, -99.0, -999.0, -9999.0, 99.0, 999.0, 9999.0, 99999.0, 999999.0})
FREQUENT_SHARE = 0.05
TYPICAL_SHARE = 0.01
INDICATOR_SHARE = 0.05
#: Fewer non-missing values than this: too few to call a repeated value a code.
MIN_VALUES = 20
#: Above this many values, candidate codes are found on an evenly spaced sample.
SAMPLE = 20_000


@dataclass
class ColumnCodes:
    """The codes for missing found in (or given for) one column.

    Attributes
    ----------
    numbers : list of float
        Numeric codes (999.0, -1.0).
    levels : list of str
        Text codes, lower case ("unknown", "n/a").
    rows : dict of str to int
        Rows carrying each code, by the code as written ("999", "unknown").
    given : set of str
        Codes named by the user (the others were detected).
    mask : ndarray of bool
        Rows carrying any code.
    by_code : dict of str to ndarray
        Rows carrying each code.
    """

    numbers: list[float] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)
    mask: np.ndarray | None = None
    by_code: dict[str, np.ndarray] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.rows)

    def to_rule(self) -> dict:
        """What `apply_codes` needs: ``{"numbers": [...], "levels": [...]}``."""
        return {"numbers": list(self.numbers), "levels": list(self.levels)}


def code_text(value: float) -> str:
    """A numeric code as written: ``999``, ``-1``, ``99.5``."""
    return f"{value:.0f}" if value == round(value) else f"{value:g}"


def indicator_name(column: str, code: str, taken) -> str:
    """``<column>_is_<code>`` (``_2``, ``_3`` appended when taken)."""
    safe = re.sub(r"[^0-9A-Za-z.\-]+", "_", code).strip("_") or "code"
    base = f"{column}_is_{safe}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def _sample(present: np.ndarray) -> np.ndarray:
    """At most `SAMPLE` evenly spaced values (all of them when there are fewer)."""
    if present.size <= SAMPLE:
        return present
    return present[np.linspace(0, present.size - 1, SAMPLE).round().astype("int64")]


def _numeric_candidates(sample: np.ndarray) -> list[float]:
    """Values frequent enough in the sample to be codes, most frequent first; never zero."""
    levels, counts = np.unique(sample, return_counts=True)
    if levels.size < 3:
        return []
    order = np.argsort(-counts, kind="stable")
    keep = counts[order] >= TYPICAL_SHARE * sample.size / 2
    return [float(v) for v in levels[order][keep] if v != 0]


def _outside(code: float, rest: np.ndarray) -> bool:
    """Negative where the rest is >= 0, or above all of the rest."""
    if rest.size == 0:
        return False
    return bool(rest.min() >= 0) if code < 0 else bool(code > rest.max())


def _stands_apart(code: float, rest: np.ndarray, typical: bool) -> bool:
    """Whether ``code`` lies outside the other values (``rest``) as a code does."""
    if not _outside(code, rest):
        return False
    if code < 0:
        return True
    fences = robust_fences(rest, log_helps(rest))
    return typical if fences is None else bool(code > fences[1])


def numeric_codes(values: np.ndarray) -> list[float]:
    """Values of a numeric column that are codes for missing (see the module docstring).

    Candidates are found on an evenly spaced sample and first checked there (a value that
    is not outside the sample's other values is not outside all of them); the survivors
    are counted and checked on the whole column.

    Examples
    --------
    >>> days = np.array([999.0] * 30 + [float(d) for d in range(1, 11)] * 2)
    >>> numeric_codes(days)
    [999.0]
    """
    present = values[~np.isnan(values)]
    if present.size < MIN_VALUES:
        return []
    sample = _sample(present)
    codes: list[float] = []
    for value in _numeric_candidates(sample):
        if not _outside(value, sample[~np.isin(sample, [*codes, value])]):
            continue
        typical = value in TYPICAL_CODES
        share = float((present == value).mean())
        if share < (TYPICAL_SHARE if typical else FREQUENT_SHARE):
            continue
        rest = present[~np.isin(present, [*codes, value])]
        if _stands_apart(value, rest, typical):
            codes.append(value)
    return sorted(codes)


class _Levels:
    """The lower-case stripped text of the cells that may hold a text code.

    In a numeric column only the cells that did not parse as numbers can; their text is
    computed once per distinct value (``pd.factorize``), so a long column costs little.
    """

    def __init__(self, column: pd.Series, values: np.ndarray | None):
        self.size = len(column)
        if values is not None:
            self.positions = np.flatnonzero(np.isnan(values))
            column = column.iloc[self.positions]
        else:
            self.positions = None
        self.codes, uniques = pd.factorize(column, use_na_sentinel=True)
        text = pd.Series(uniques, dtype="object").map(lambda v: str(v).strip().lower())
        self.uniques = text.to_numpy(dtype=object)

    def present(self) -> set[str]:
        """The distinct texts."""
        return {t for t in self.uniques if t}

    def mask(self, levels) -> np.ndarray:
        """Rows (of the whole column) whose text is one of ``levels``."""
        hit = np.isin(self.codes, np.flatnonzero(np.isin(self.uniques, list(levels))))
        if self.positions is None:
            return hit
        full = np.zeros(self.size, dtype=bool)
        full[self.positions[hit]] = True
        return full


def _holds_text(column: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
                or pd.api.types.is_datetime64_any_dtype(column))


def find_codes(column: pd.Series, values: np.ndarray | None, *, detect: bool,
               given: tuple[str, ...] = ()) -> ColumnCodes:
    """The codes for missing in one column and the rows that carry them.

    Parameters
    ----------
    column : Series
        The column as read.
    values : ndarray or None
        Its numeric reading (NaN for blanks and text), or None for a text column.
    detect : bool
        Look for codes (numeric codes and `MISSING_LEVELS`); False uses only ``given``.
    given : tuple of str
        Codes named by the user: numbers for a numeric column, else text levels.

    Returns
    -------
    ColumnCodes
    """
    found = ColumnCodes()
    numbers, levels = [], []
    for code in given:
        number = pd.to_numeric(pd.Series([code]), errors="coerce").iloc[0]
        if values is not None and not pd.isna(number):
            numbers.append(float(number))
            found.given.add(code_text(float(number)))
        else:
            levels.append(code.strip().lower())
            found.given.add(code.strip().lower())
    if values is not None and detect:
        numbers += [v for v in numeric_codes(values) if v not in numbers]
    text = _Levels(column, values) if _holds_text(column) and (detect or levels) else None
    if text is not None and detect:
        levels += sorted(level for level in text.present() & MISSING_LEVELS if level not in levels)
    found.numbers, found.levels = sorted(numbers), levels
    _count(found, values, text, len(column))
    return found


def _count(found: ColumnCodes, values: np.ndarray | None, text: _Levels | None, size: int) -> None:
    """Fill the masks and row counts of ``found`` (a code given but carried by no row is
    kept, with count 0)."""
    mask = np.zeros(size, dtype=bool)
    for number in found.numbers:
        hit = values == number
        found.by_code[code_text(number)] = hit
        mask |= hit
    for level in found.levels:
        hit = text.mask([level]) if text is not None else np.zeros(size, dtype=bool)
        found.by_code[level] = hit
        mask |= hit
    found.rows = {code: int(hit.sum()) for code, hit in found.by_code.items()
                  if hit.any() or code in found.given}
    found.mask = mask


def apply_codes(column: pd.Series, values: np.ndarray | None, rule: dict) -> np.ndarray:
    """Rows of ``column`` that carry one of the codes of ``rule`` (`ColumnCodes.to_rule`)."""
    mask = np.zeros(len(column), dtype=bool)
    if values is not None and rule.get("numbers"):
        mask |= np.isin(values, rule["numbers"])
    if rule.get("levels") and _holds_text(column):
        mask |= _Levels(column, values).mask(rule["levels"])
    return mask
