"""Clean a customer table: column roles, parsing, codes for missing, dates that become
features, impossible values, duplicates, missing values and outliers. Every input row is
either used or counted as dropped with a reason.

Codes for missing (999, -1, "unknown"; `custseg.preparing.sentinels`) become missing values, with a
0/1 indicator feature where they are frequent; a birth year or date becomes ``age`` and a
sign-up or first-purchase date ``tenure_days`` (`custseg.reading.dates`). Both are fitted rules,
kept in `CleaningParams` and applied unchanged to new customers by `apply_cleaning`.
Dates stored as numbers (YYYYMMDD, YYYYMM, epoch seconds in a date-named column) follow the
same rules and are never clustered as numbers; ids (`custseg.preparing.ids`: customer numbers,
a second id, shuffled row numbers) and free text (a level per customer) are left out with
the reason.
"""

from __future__ import annotations

import datetime
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..reading.dates import (
    NUMERIC_DATE_WORDS,
    date_rule,
    derive,
    numeric_date_format,
    strftime_pattern,
)
from ..reading.names import name_key
from ..settings import parse_sentinels
from .ids import id_like_name, numeric_id_reason, unique_whole_numbers
from .options import CleanOptions
from .sentinels import (
    INDICATOR_SHARE,
    MISSING_LEVELS,
    ColumnCodes,
    apply_codes,
    code_text,
    find_codes,
    indicator_name,
)
from .stats import log_helps, robust_fences

#: Normalised header names that identify a customer id column.
ID_NAMES = {
    "id", "customerid", "custid", "clientid", "userid", "memberid", "accountid",
    "customer", "customerno", "customernumber", "customercode", "clientno",
}
#: A text column with more distinct values than this is not used as a categorical.
MAX_CATEGORIES = 20
#: A text column whose distinct values number at least this share of its non-blank values
#: is free text (names, addresses) or ids: a level per customer describes no segment.
FREE_TEXT_SHARE = 0.9
#: Share of the rows that must hold a value for a column to be the customer id.
ID_PRESENT_SHARE = 0.5
#: With ``--categoricals cluster``, a categorical whose most frequent level holds more than
#: this share of the customers is described but not clustered on: at a total variance of 1,
#: its few other customers would sit far from everyone (a level of 3% lies
#: ``sqrt(1 / 0.058) = 4.2`` standard units from the rest) and form a segment of their own.
MAX_DOMINANT_SHARE = 0.95
#: Why an indicator of a code for missing is described but not clustered on by default: a 0/1
#: column is a cliff that every distance-based method splits on first (issue 18).
INDICATOR_NOT_CLUSTERED = ("a code for missing: described in the profiles, not clustered on "
                           "(--categoricals cluster or --features to cluster on it)")
#: A whole-number column with at most this many distinct values holds codes, not amounts.
MAX_CODE_VALUES = 5
#: Share of non-blank values that must parse as numbers for a column to count as numeric.
NUMERIC_SHARE = 0.9
#: A text column of more than twice this many rows is first read on this many evenly
#: spaced rows: a reading (decimal point or decimal comma) that fits under
#: ``SAMPLE_SHARE`` of their non-blank values is not tried on the whole column (names,
#: genders, codes, ...). Shorter columns are parsed whole.
NUMERIC_SAMPLE = 1000
SAMPLE_SHARE = 0.5
#: Fewer non-blank values than this in the sample: parse the whole column to decide.
MIN_SAMPLE_VALUES = 100
#: Word stems of columns that cannot be negative.
NON_NEGATIVE_WORDS = (
    "income", "spend", "score", "visit", "tenure", "count", "amount", "price", "revenue",
    "sales", "quantity", "orders", "purchases", "frequency", "monetary", "salary",
    "share", "percent", "pct", "ratio",
)


@dataclass
class ColumnRoles:
    """What each input column is used for."""

    id: str | None
    numeric: list[str]
    categorical: list[str]
    features: list[str]
    excluded: dict[str, str] = field(default_factory=dict)
    derived: dict[str, str] = field(default_factory=dict)   # feature made by custseg -> what it is
    #: ``--categoricals cluster``: categoricals described but not clustered on -> why
    not_clustered: dict[str, str] = field(default_factory=dict)

    @property
    def id_name(self) -> str:
        """Name of the id column in the outputs (``row`` when rows are numbered)."""
        return self.id if self.id is not None else "row"


@dataclass
class Ledger:
    """Where every input row went, and which cells were changed and why."""

    rows_read: int
    rows_dropped: dict[str, int] = field(default_factory=dict)
    cells_fixed: dict[str, dict[str, int]] = field(default_factory=dict)
    outliers: dict[str, dict] = field(default_factory=dict)
    #: column -> [{"code", "rows" (among rows read), "indicator" (feature or None), "found"}]
    sentinels: dict[str, list[dict]] = field(default_factory=dict)
    #: parts of the input not read: [{"sheet", "rows", "reason"}]
    not_read: list[dict] = field(default_factory=list)
    #: Spark engine beyond fit_sample: ``cells_fixed``, ``outliers`` and ``sentinels`` count
    #: this many customers (the fitted sample); the row counts count every one
    cells_counted_on: int | None = None
    #: a customer table whose ids repeat: {"column", "rows" (rows sharing an id with another
    #: row), "ids" (ids on several rows), "share" (of the rows read)}; the first row of each is kept
    repeated_ids: dict | None = None

    @property
    def rows_used(self) -> int:
        """Rows that reach the model."""
        return self.rows_read - sum(self.rows_dropped.values())

    def drop(self, reason: str, count: int) -> None:
        """Record ``count`` rows dropped for ``reason`` (zero counts are not recorded)."""
        if count:
            self.rows_dropped[reason] = self.rows_dropped.get(reason, 0) + int(count)

    def fix(self, reason: str, column: str, count: int) -> None:
        """Record ``count`` cells of ``column`` changed for ``reason``."""
        if count:
            per_column = self.cells_fixed.setdefault(reason, {})
            per_column[column] = per_column.get(column, 0) + int(count)

    def to_dict(self) -> dict:
        """The ledger as plain values for ``summary.json``."""
        out = {
            "rows_read": self.rows_read,
            "rows_used": self.rows_used,
            "rows_dropped": dict(self.rows_dropped),
            "cells_fixed": {k: dict(v) for k, v in self.cells_fixed.items()},
            "outliers": {k: dict(v) for k, v in self.outliers.items()},
            "sentinels": {k: [dict(item) for item in v] for k, v in self.sentinels.items()},
            "not_read": [dict(item) for item in self.not_read],
        }
        if self.cells_counted_on is not None:
            out["cells_counted_on"] = self.cells_counted_on
        if self.repeated_ids:
            out["repeated_ids"] = dict(self.repeated_ids)
        return out


@dataclass
class CleaningParams:
    """Fitted cleaning rules, applied again unchanged to new customers."""

    numeric_rules: dict[str, dict]      # column -> {"decimal_comma", "low", "high", "fill", "fence"}
    categorical_fill: dict[str, str]    # column -> most frequent level
    code_columns: list[str]             # categoricals stored as whole-number codes
    #: input column -> {"numbers": [999.0], "levels": ["unknown"]}: codes read as missing
    missing_codes: dict[str, dict] = field(default_factory=dict)
    #: feature -> {"source", "kind": "age" | "tenure_days", "from": "year" | "yyyymmdd" | "yyyymm" | "epoch_s" | "epoch_ms" | "date",
    #: "format", "as_of"}: features computed from a birth or start date
    derived: dict[str, dict] = field(default_factory=dict)
    #: feature -> {"column", "numbers", "levels"}: 1 where the column holds one of the codes
    indicators: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-able form for the model file."""
        return {
            "numeric_rules": self.numeric_rules,
            "categorical_fill": self.categorical_fill,
            "code_columns": self.code_columns,
            "missing_codes": self.missing_codes,
            "derived": self.derived,
            "indicators": self.indicators,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "CleaningParams":
        """Inverse of `to_dict` (a model file written before codes and derived features
        has none of them)."""
        return cls(
            dict(data["numeric_rules"]), dict(data["categorical_fill"]), list(data["code_columns"]),
            dict(data.get("missing_codes") or {}), dict(data.get("derived") or {}),
            dict(data.get("indicators") or {}),
        )


@dataclass
class CleanTable:
    """Output of the cleaning stage."""

    data: pd.DataFrame          # used rows, numeric columns as float, categoricals as str
    ids: pd.Series              # customer id of each used row
    roles: ColumnRoles
    ledger: Ledger
    params: CleaningParams
    outlier_rows: np.ndarray    # bool per used row: any feature beyond its fences
    rows: np.ndarray            # position in the input of each used row


# --------------------------------------------------------------------------- parsing

def parse_numbers(column: pd.Series, decimal_comma: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Parse a column to float64.

    Returns
    -------
    values : ndarray of float64
        Parsed values; blanks and unusable values are NaN.
    unparseable : ndarray of bool
        True where a non-blank value could not be used (text, or a number too large
        for float64 such as ``1e999``).
    """
    if pd.api.types.is_bool_dtype(column):
        column = column.astype("float64")
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        blank = np.isnan(values)
    else:
        text = column.astype("string").str.strip()
        blank = (text.isna() | (text == "")).to_numpy(dtype=bool)
        if decimal_comma:
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(values) & ~blank
    values = np.where(np.isfinite(values), values, np.nan)
    return values, bad


def _numeric_reading(column: pd.Series) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """Parse ``column`` as numbers if most of its non-blank values are numbers.

    The decimal-point reading is tried first, then (for text) the decimal-comma one; the
    first that parses at least ``NUMERIC_SHARE`` of the non-blank values wins. On a long
    text column a reading is parsed in full only if it fits a sample (`_sample_fits`).
    """
    text = not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column))
    readings = [False, True] if text else [False]
    if text and len(column) > 2 * NUMERIC_SAMPLE:
        fits = _sample_fits(column)
        readings = [comma for comma in readings if fits is None or fits[comma]]
    for decimal_comma in readings:
        values, bad = parse_numbers(column, decimal_comma=decimal_comma)
        parsed = (~np.isnan(values)).sum()
        present = parsed + bad.sum()      # the non-blank values, whichever the reading
        if present == 0:
            return None
        if parsed >= NUMERIC_SHARE * present:
            return values, bad, decimal_comma
    return None


def _sample_fits(column: pd.Series) -> dict[bool, bool] | None:
    """Whether each reading (decimal comma False/True) parses at least ``SAMPLE_SHARE`` of
    the non-blank values in ``NUMERIC_SAMPLE`` evenly spaced rows; None when the sample
    holds fewer than ``MIN_SAMPLE_VALUES`` of them (too few to judge)."""
    rows = np.unique(np.linspace(0, len(column) - 1, NUMERIC_SAMPLE).round().astype("int64"))
    sample = column.iloc[rows]
    fits = {}
    for decimal_comma in (False, True):
        values, bad = parse_numbers(sample, decimal_comma=decimal_comma)
        parsed = (~np.isnan(values)).sum()
        present = parsed + bad.sum()
        if present < MIN_SAMPLE_VALUES:
            return None
        fits[decimal_comma] = bool(parsed >= SAMPLE_SHARE * present)
    return fits


def _text(column: pd.Series) -> pd.Series:
    """Column as stripped strings with blanks as NA."""
    text = column.astype("string").str.strip()
    return text.mask(text == "")


# --------------------------------------------------------------------------- roles

def _find_id(df: pd.DataFrame, options: CleanOptions) -> str | None:
    if options.id_col is not None:
        if options.id_col not in df.columns:
            raise InputError(
                f"--id column {options.id_col!r} not found; columns are: {', '.join(map(str, df.columns))}"
            )
        return options.id_col
    for name in df.columns:
        if name_key(name) in ID_NAMES or name_key(name).endswith(("customerid", "clientid")):
            text = _text(df[name])
            if text.notna().mean() >= ID_PRESENT_SHARE:
                return name
    return next((name for name in df.columns if _is_numeric_id(df[name], name)), None)


def _is_numeric_id(column: pd.Series, name: str) -> bool:
    """Whether a column is a customer number: an id-like name (`custseg.preparing.ids`),
    unique whole numbers in at least half the rows, and not a row counter (1, 2, 3, ...)."""
    if not id_like_name(name) or pd.api.types.is_datetime64_any_dtype(column):
        return False
    reading = _numeric_reading(column)
    if reading is None:
        return False
    values = reading[0]
    present = ~np.isnan(values)
    return (present.mean() >= ID_PRESENT_SHARE and unique_whole_numbers(values)
            and not _is_row_number(values[present]))


def _looks_like_dates(text: pd.Series) -> bool:
    """Whether most of a sample of the column's values are dates (2024-03-01, 01/03/2024, ...)."""
    sample = text.dropna().head(200)
    if sample.empty or not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).mean() >= 0.9:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "could not infer format" for mixed layouts
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.9)


def _is_row_number(values: np.ndarray) -> bool:
    """Whether a numeric column just counts rows (1, 2, 3, ... or any step-1 run)."""
    x = values[~np.isnan(values)]
    return x.size == values.size and x.size > 2 and bool(np.all(np.diff(x) == 1))


@dataclass
class _Found:
    """What `detect_roles` finds besides the roles: codes for missing, derived features and
    indicators, with the options that shape them."""

    as_of: datetime.date
    date_format: str | None
    detect_codes: bool
    given_codes: dict[str, tuple[str, ...]]
    computed: frozenset
    wanted: tuple[str, ...] | None
    taken: set[str]
    #: the customer id column, once found (a second id is named after it)
    id_col: str | None = None
    codes: dict[str, ColumnCodes] = field(default_factory=dict)
    derived: dict[str, dict] = field(default_factory=dict)
    indicators: dict[str, dict] = field(default_factory=dict)
    words: dict[str, str] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: CleanOptions, names: list[str], computed=()) -> "_Found":
        detect, given = parse_sentinels(options.sentinels)
        as_of = datetime.date.fromisoformat(str(options.as_of)) if options.as_of else datetime.date.today()
        date_format = strftime_pattern(options.date_format) if options.date_format else None
        return cls(as_of, date_format, detect, given, frozenset(computed), options.features, set(names))

    def column_codes(self, name: str, column: pd.Series, values: np.ndarray | None) -> ColumnCodes:
        """Codes for missing in a column (none looked for in columns custseg computed)."""
        detect = self.detect_codes and name not in self.computed
        given = self.given_codes.get(name, ())
        if not detect and not given:
            return ColumnCodes(mask=np.zeros(len(column), dtype=bool))
        return find_codes(column, values, detect=detect, given=given)

    def free(self, base: str) -> str:
        """``base``, or a numbered variant, not yet a column; reserved from now on."""
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name

    def keep_codes(self, name: str, codes: ColumnCodes, parsed: dict, numeric: list) -> None:
        """Record the codes of a used column, and add an indicator feature for each frequent one."""
        if not codes:
            return
        self.codes[name] = codes
        size = len(codes.mask)
        for number in codes.numbers:
            hit = codes.by_code[code_text(number)]
            if hit.sum() >= INDICATOR_SHARE * size:
                self._indicator(name, code_text(number), hit, {"numbers": [number], "levels": []}, parsed, numeric)
        standard = [level for level in codes.levels if level in MISSING_LEVELS]
        groups = [("unknown", standard)] if standard else []
        groups += [(level, [level]) for level in codes.levels if level not in MISSING_LEVELS]
        for code, levels in groups:
            hit = np.zeros(size, dtype=bool)
            for level in levels:
                hit |= codes.by_code[level]
            if hit.sum() >= INDICATOR_SHARE * size:
                self._indicator(name, code, hit, {"numbers": [], "levels": levels}, parsed, numeric)

    def _indicator(self, column: str, code: str, hit: np.ndarray, rule: dict, parsed: dict, numeric: list) -> None:
        feature = indicator_name(column, code, self.taken)
        self.taken.add(feature)
        parsed[feature] = (hit.astype("float64"), np.zeros(hit.size, dtype=bool), False)
        numeric.append(feature)
        self.indicators[feature] = {"column": column, **rule}
        shown = " or ".join(repr(v) for v in rule["levels"]) if rule["levels"] else code
        self.words[feature] = f"1 where {column} holds {shown} (a code for missing), else 0"

    def add_derived(self, name: str, rule: dict, values: np.ndarray, bad: np.ndarray,
                    parsed: dict, numeric: list) -> None:
        """Add the feature a birth or start date of column ``name`` becomes."""
        base = rule["kind"]
        feature = self.free(base if base not in self.taken else f"{base}_from_{name}")
        parsed[feature] = (values, bad, False)
        numeric.append(feature)
        self.derived[feature] = {"source": name, **rule}
        self.renamed[name] = feature
        self.words[feature] = _derived_words(name, rule)

    def optional(self, name: str) -> bool:
        """Whether the user asked for features that leave column ``name`` out."""
        return self.wanted is not None and name not in self.wanted


def _derived_words(name: str, rule: dict) -> str:
    shown = rule.get("format") or NUMERIC_DATE_WORDS.get(rule["from"])
    fmt = f" (read as {shown})" if shown else ""
    if rule["kind"] == "age":
        what = "birth years" if rule["from"] == "year" else "birth dates"
        return f"age in years at {rule['as_of']}, from the {what} in {name}{fmt}"
    return f"days from the date in {name}{fmt} to {rule['as_of']}"


def _check_named(option: str, wanted, names: list[str], allowed=None) -> None:
    allowed = set(names) if allowed is None else allowed
    missing = [c for c in wanted if c not in allowed]
    if missing:
        raise InputError(
            f"{option} names {len(missing)} column(s) not in the data: {', '.join(missing)}; "
            f"columns are: {', '.join(names)}"
        )


def detect_roles(df: pd.DataFrame, options: CleanOptions, parsed: dict, *, computed=(),
                 found: _Found | None = None) -> ColumnRoles:
    """Decide the id, numeric, categorical, feature and excluded columns.

    Parameters
    ----------
    df : DataFrame
        The table as read.
    options : CleanOptions
        ``id_col``, ``features``, ``exclude``, ``sentinels``, ``date_format`` and ``as_of``
        override the guesses. Without ``features``, the features are every usable numeric
        column (the categoricals when there is none); with ``categoricals="cluster"`` also
        every categorical (at most `MAX_CATEGORIES` levels, not id-like) whose most
        frequent level holds at most `MAX_DOMINANT_SHARE` of the customers; the others
        are listed in ``not_clustered`` with the reason.
    parsed : dict
        Filled with ``column -> (values, unparseable, decimal_comma)`` for numeric columns,
        derived features and indicators (codes for missing are NaN there).
    computed : sequence of str, optional
        Columns that custseg computed (behaviour features of a transaction log): no codes
        for missing or dates are looked for in them.
    found : _Found, optional
        Filled with the codes, derived features and indicators (made from ``options``
        when not given).
    """
    names = [str(c) for c in df.columns]
    _check_named("--exclude", options.exclude, names)
    found = found or _Found.from_options(options, names, computed)
    _check_named("--sentinel", list(found.given_codes), names)
    id_col = found.id_col = _find_id(df, options)
    numeric, categorical, excluded = [], [], {}
    for name in names:
        if name == id_col:
            continue
        if name in options.exclude:
            excluded[name] = "excluded by --exclude"
            continue
        reason = _classify(df[name], name, parsed, numeric, categorical, found)
        if reason:
            excluded[name] = reason
    if options.features:
        _check_named("--features", options.features, names, set(names) | set(found.words))
        wanted = list(dict.fromkeys(found.renamed.get(c, c) for c in options.features))
        unusable = [c for c in wanted if c not in numeric and c not in categorical]
        if unusable:
            detail = "; ".join(f"{c}: {excluded.get(c, 'the id column')}" for c in unusable)
            raise InputError(f"--features names column(s) that cannot be used: {detail}")
        features = wanted
    else:
        codes_too = options.categoricals == "cluster"
        features = [name for name in numeric if codes_too or name not in found.indicators] or list(categorical)
    not_clustered = {}
    if options.categoricals == "cluster" and not options.features and numeric:
        not_clustered = {name: reason for name in categorical
                         if (reason := _not_clusterable(df[name], name, parsed, found))}
        features += [name for name in categorical if name not in not_clustered]
    not_clustered.update({name: INDICATOR_NOT_CLUSTERED for name in found.indicators if name not in features})
    if not features:
        raise InputError(f"no usable numeric or categorical feature: {_taken_for(id_col, excluded)}")
    return ColumnRoles(id_col, numeric, categorical, features, excluded, dict(found.words), not_clustered)


def _taken_for(id_col: str | None, excluded: dict[str, str]) -> str:
    """What each column was taken for, in one line: ``id: the customer id; name: free text ...``."""
    parts = [f"{id_col}: the customer id"] if id_col is not None else []
    parts += [f"{name}: {reason}" for name, reason in excluded.items()]
    return "; ".join(parts) or "the table has no columns"


def _not_clusterable(column: pd.Series, name: str, parsed: dict, found: _Found) -> str | None:
    """Why a usable categorical is not clustered on with ``--categoricals cluster`` (None
    when it is): its most frequent level holds more than `MAX_DOMINANT_SHARE`."""
    if name in parsed:
        values = pd.Series(parsed[name][0])
    else:
        values = _text(column)
        if name in found.codes:
            values = values.mask(found.codes[name].mask)
    shares = values.dropna().astype("string").value_counts(normalize=True)
    if shares.empty or shares.iloc[0] <= MAX_DOMINANT_SHARE:
        return None
    level = str(shares.index[0]).removesuffix(".0")
    return (f"nearly constant ({shares.iloc[0]:.0%} {level!r}): its other {1 - shares.iloc[0]:.0%} of customers "
            "would form a segment of their own; described in the profiles, not clustered on "
            "(name it in --features to cluster on it anyway)")


def _classify(column: pd.Series, name: str, parsed: dict, numeric: list, categorical: list,
              found: _Found) -> str | None:
    """Append ``name`` (or the feature it becomes) to ``numeric`` or ``categorical``; return
    an exclusion reason otherwise.

    Numeric readings (also of whole-number code columns) are stored in ``parsed``.
    """
    reading = None if pd.api.types.is_datetime64_any_dtype(column) else _numeric_reading(column)
    if reading is None:
        return _classify_text(column, name, parsed, numeric, categorical, found)
    return _classify_numbers(column, name, reading, parsed, numeric, categorical, found)


def _classify_text(column: pd.Series, name: str, parsed: dict, numeric: list, categorical: list,
                   found: _Found) -> str | None:
    codes = found.column_codes(name, column, None)
    text = _text(column)
    if codes:
        text = text.mask(codes.mask)
    levels = text.nunique(dropna=True)
    if levels == 0:
        return "empty"
    if levels == 1:
        return "constant (one value)"
    if pd.api.types.is_datetime64_any_dtype(column) or _looks_like_dates(text):
        return _classify_dates(column, name, text, codes, parsed, numeric, found)
    present = int(text.notna().sum())
    if id_like_name(name) and levels >= FREE_TEXT_SHARE * present:
        return f"an id ({levels:,} distinct values in {present:,} rows)"
    if levels > MAX_CATEGORIES:
        if levels >= FREE_TEXT_SHARE * present:
            return f"id-like or free text ({levels} distinct values)"
        return f"too many categories ({levels}) to describe segments"
    if levels >= FREE_TEXT_SHARE * present:
        return f"free text ({levels:,} distinct values in {present:,} rows)"
    categorical.append(name)
    found.keep_codes(name, codes, parsed, numeric)
    return None


def _classify_dates(column: pd.Series, name: str, text: pd.Series, codes: ColumnCodes, parsed: dict,
                    numeric: list, found: _Found) -> str | None:
    """A birth or start date becomes a feature; other dates are left out, with the reason."""
    try:
        rule = date_rule(name, column, text, None, found.as_of, found.date_format)
    except InputError as exc:
        if found.optional(name):
            return f"dates that cannot be read unambiguously: {exc}"
        raise InputError(f"{exc}, or leave the column out with --exclude") from None
    if rule is None:
        return ("dates of unknown meaning, not used (a birth date becomes age, a sign-up or "
                "first-purchase date tenure_days; name the column so)")
    source = column.where(~codes.mask) if codes else column
    values, bad = derive(source, rule)
    found.add_derived(name, rule, values, bad, parsed, numeric)
    found.keep_codes(name, codes, parsed, numeric)
    return None


def _classify_numbers(column: pd.Series, name: str, reading: tuple, parsed: dict, numeric: list,
                      categorical: list, found: _Found) -> str | None:
    values, bad, decimal_comma = reading
    codes = found.column_codes(name, column, values)
    if codes:
        values = np.where(codes.mask, np.nan, values)
        bad = bad & ~codes.mask
    distinct = np.unique(values[~np.isnan(values)])
    if distinct.size <= 1:
        return "constant (one value)"
    rule = None if name in found.computed else date_rule(name, column, None, values, found.as_of, None)
    if rule is not None:
        derived, unread = derive(column, rule, values)
        found.add_derived(name, {**rule, "decimal_comma": decimal_comma}, derived, bad | unread, parsed, numeric)
        found.keep_codes(name, codes, parsed, numeric)
        return None
    reason = _not_a_number_feature(name, values, found)
    if reason:
        return reason
    parsed[name] = (values, bad, decimal_comma)
    whole = bool(np.all(distinct == np.round(distinct)))
    if whole and distinct.size <= MAX_CODE_VALUES and len(column) >= 20:
        categorical.append(name)
    else:
        numeric.append(name)
    found.keep_codes(name, codes, parsed, numeric)
    return None


def _not_a_number_feature(name: str, values: np.ndarray, found: _Found) -> str | None:
    """Why a numeric column that is not a birth or start date is no feature: a row
    counter, an id (`custseg.preparing.ids`) or dates of unknown meaning; None when it is one."""
    if _is_row_number(values):
        return "id-like (numbers the rows)"
    if name in found.computed:
        return None
    date_form = numeric_date_format(name, values)
    reason = numeric_id_reason(name, values, found.id_col) if date_form is None or id_like_name(name) else None
    if reason:
        return reason
    if date_form is not None:
        return (f"dates ({NUMERIC_DATE_WORDS[date_form]}) of unknown meaning, not used (a birth date becomes "
                "age, a sign-up or first-purchase date tenure_days; name the column so)")
    return None


# --------------------------------------------------------------------------- rules

def name_words(name: str) -> str:
    """A column name as lower-case words: ``"AvgBasket_value"`` -> ``"avg basket value"``.

    Lets vocabulary rules match whole words (``age`` is not in ``average``).
    """
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name))
    return " ".join(re.findall(r"[a-z0-9]+", spaced.lower()))


def _plausible_range(name: str) -> tuple[float, float]:
    """Values outside this range are impossible for a column of this name."""
    stated = re.search(r"\(\s*(-?\d+(?:\.\d+)?)\s*[-–]\s*(\d+(?:\.\d+)?)\s*\)", name)
    if stated:
        return float(stated.group(1)), float(stated.group(2))
    words = name_words(name)
    if re.search(r"\bage\b", words):
        return 0.0, 120.0
    if re.search(r"\b(" + "|".join(NON_NEGATIVE_WORDS) + ")", words):
        return 0.0, np.inf
    return -np.inf, np.inf


def clean_customers(df: pd.DataFrame, options: CleanOptions, *, computed=()) -> CleanTable:
    """Run the cleaning stage on a customer table.

    Parameters
    ----------
    df : DataFrame
        One row per customer, as read from the file.
    options : CleanOptions
        Column overrides, codes for missing, the date format and reference date, and the
        missing-value and outlier policies.
    computed : sequence of str, optional
        Columns custseg computed (behaviour features): no codes or dates looked for there.

    Returns
    -------
    CleanTable
        Used rows with parsed values, their ids, column roles, the ledger and the fitted
        rules that `apply_cleaning` reuses for new customers.
    """
    if len(df) == 0:
        raise InputError("the table has no rows")
    ledger = Ledger(rows_read=len(df))
    parsed: dict = {}
    found = _Found.from_options(options, [str(c) for c in df.columns], computed)
    roles = detect_roles(df, options, parsed, found=found)
    ids = customer_ids(df, roles)
    keep = ids.notna().to_numpy().copy()
    ledger.drop("missing id", int((~keep).sum()))
    duplicated = duplicated_ids(ids, keep)
    ledger.drop("duplicate id", int(duplicated.sum()))
    if duplicated.any():
        ledger.repeated_ids = _repeated_ids(ids, keep, duplicated, roles.id)
    keep &= ~duplicated
    data, rules, problems = _parsed_values(df, roles, parsed, found)
    keep &= _usable_rows(data[roles.features], keep, options.missing, ledger)
    for reason, masks in problems.items():
        for name, mask in masks.items():
            ledger.fix(reason, name, int((mask & keep).sum()))
    ledger.sentinels = _sentinel_report(found)

    data = data.loc[keep].reset_index(drop=True)
    ids = ids.loc[keep].reset_index(drop=True)
    rows = np.flatnonzero(keep)
    if len(data) == 0:
        raise InputError(f"no rows left after cleaning (dropped: {_dropped_text(ledger)})")
    outlier_rows, categorical_fill = _fix_features(data, roles, rules, options, ledger)
    params = CleaningParams(
        rules, categorical_fill, [name for name in roles.categorical if name in parsed],
        missing_codes={name: codes.to_rule() for name, codes in found.codes.items()},
        derived=found.derived, indicators=found.indicators,
    )
    return CleanTable(data, ids, roles, ledger, params, outlier_rows, rows)


def _parsed_values(df: pd.DataFrame, roles: ColumnRoles, parsed: dict, found: _Found):
    """The numeric and categorical columns as values (impossible values and codes for
    missing blanked), each numeric column's rule, and the cells to count as fixed, by
    reason and column."""
    data = pd.DataFrame(index=df.index)
    rules: dict[str, dict] = {}
    problems: dict[str, dict[str, np.ndarray]] = {
        "missing-value code": {name: codes.mask for name, codes in found.codes.items()},
        "unparseable value": {}, "impossible value": {},
    }
    for name in roles.numeric:
        values, bad, decimal_comma = parsed[name]
        low, high = _plausible_range(name)
        impossible = (values < low) | (values > high)
        problems["unparseable value"][name] = bad
        problems["impossible value"][name] = impossible
        data[name] = np.where(impossible, np.nan, values)
        rules[name] = {"decimal_comma": decimal_comma, "low": _num(low), "high": _num(high)}
    for name in roles.categorical:
        if name in parsed:
            data[name] = _codes_from(parsed[name][0], df.index)
        else:
            codes = found.codes.get(name)
            data[name] = _text(df[name]).mask(codes.mask) if codes else _text(df[name])
    return data, rules, problems


def _usable_rows(features: pd.DataFrame, keep: np.ndarray, missing: str, ledger: Ledger) -> np.ndarray:
    """Rows with a usable feature value (with ``missing="drop"``: with all of them); the
    others among ``keep`` are counted as dropped."""
    all_missing = features.isna().all(axis=1).to_numpy() & keep
    ledger.drop("no usable feature value", int(all_missing.sum()))
    usable = ~all_missing
    if missing == "drop":
        some_missing = features.isna().any(axis=1).to_numpy() & keep & usable
        ledger.drop("missing or unusable feature value", int(some_missing.sum()))
        usable &= ~some_missing
    return usable


def _fix_features(data: pd.DataFrame, roles: ColumnRoles, rules: dict, options: CleanOptions,
                  ledger: Ledger) -> tuple[np.ndarray, dict]:
    """Handle outliers and impute missing values of every feature, in place; return the rows
    beyond a robust fence and the fill value of each categorical feature."""
    outlier_rows = np.zeros(len(data), dtype=bool)
    categorical_fill = {}
    for name in roles.features:
        if name in roles.numeric:
            outlier_rows |= _handle_outliers(data, name, rules[name], options, ledger)
            rules[name]["fill"] = _impute(data, name, ledger, numeric=True)
        else:
            categorical_fill[name] = _impute(data, name, ledger, numeric=False)
    return outlier_rows, categorical_fill


def _sentinel_report(found: _Found) -> dict[str, list[dict]]:
    """Per column, each code for missing with its rows, indicator and how it was found."""
    indicator_of = {}
    for feature, rule in found.indicators.items():
        for code in [*(code_text(v) for v in rule["numbers"]), *rule["levels"]]:
            indicator_of[(rule["column"], code)] = feature
    return {
        name: [
            {"code": code, "rows": rows, "indicator": indicator_of.get((name, code)),
             "found": "given" if code in codes.given else "detected"}
            for code, rows in codes.rows.items()
        ]
        for name, codes in found.codes.items()
    }


def _num(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def _codes_from(values: np.ndarray, index: pd.Index) -> pd.Series:
    """Whole-number codes (e.g. Region 1/2/3) as text levels '1', '2', '3'."""
    text = pd.Series(values).map(lambda v: None if np.isnan(v) else f"{v:.0f}")
    return text.astype("string").set_axis(index)


def customer_ids(df: pd.DataFrame, roles: ColumnRoles) -> pd.Series:
    if roles.id is None:
        return pd.Series(np.arange(1, len(df) + 1), index=df.index, name="row")
    ids = df[roles.id]
    if not pd.api.types.is_numeric_dtype(ids):
        ids = _text(ids).astype(object)
        ids = ids.where(ids.notna(), None)
    return ids.rename(roles.id)


#: Ids hashed per block by `_distinct_text`: bounds its temporaries.
_HASH_CHUNK = 1 << 18


def repeated_ids_text(ledger: dict) -> str | None:
    """The repeated ids of a ledger (`Ledger.to_dict`) in one sentence, for the console and
    the report; None when no id repeats.

    Examples
    --------
    >>> ledger = {"rows_read": 63, "rows_dropped": {"duplicate id": 3},
    ...           "repeated_ids": {"column": "customer_id", "rows": 6, "ids": 3, "share": 6 / 63}}
    >>> repeated_ids_text(ledger)[:70]
    "6 of 63 rows (9.5%) share a customer id with another row (3 ids in 'cu"
    """
    repeated = ledger.get("repeated_ids")
    if not repeated:
        return None
    dropped = (ledger.get("rows_dropped") or {}).get("duplicate id", 0)
    return (f"{repeated['rows']:,} of {ledger['rows_read']:,} rows ({repeated['share']:.1%}) share a customer id "
            f"with another row ({repeated['ids']:,} ids in {repeated['column']!r}); the first row of each id was "
            f"kept and {dropped:,} dropped. If each row is an order or a visit, run with --kind transactions")


def _repeated_ids(ids: pd.Series, present: np.ndarray, duplicated: np.ndarray, column: str | None) -> dict:
    """How many rows share an id with another row, and how many ids repeat."""
    repeated = ids[duplicated]
    rows = int((ids.isin(repeated.unique()).to_numpy() & present).sum())
    return {"column": column, "rows": rows, "ids": int(repeated.nunique()), "share": round(rows / len(ids), 6)}


def duplicated_ids(ids: pd.Series, present: np.ndarray) -> np.ndarray:
    """Rows of ``present`` ids that repeat an earlier id (``ids.duplicated() & present``).

    Text ids are first checked with `_distinct_text`; most tables have no repeated id,
    and then pandas' search for duplicates (5 s and 270 MB at 10M ids) is skipped.
    """
    if ids.dtype == object and _distinct_text(ids.to_numpy()[present]):
        return np.zeros(len(ids), dtype=bool)
    return ids.duplicated(keep="first").to_numpy() & present


def _distinct_text(values: np.ndarray) -> bool:
    """True when the strings in ``values`` are certainly all different.

    Equal strings have equal 64-bit hashes, so distinct hashes prove distinct values; a
    repeated hash (a repeated value, or a rare collision) answers False, never wrongly True.
    """
    hashes = np.empty(len(values), dtype="uint64")
    for start in range(0, len(values), _HASH_CHUNK):
        hashes[start:start + _HASH_CHUNK] = pd.util.hash_array(values[start:start + _HASH_CHUNK], categorize=False)
    hashes.sort()
    return not bool((hashes[1:] == hashes[:-1]).any())


def _dropped_text(ledger: Ledger) -> str:
    return ", ".join(f"{count} {reason}" for reason, count in ledger.rows_dropped.items()) or "none"


def _handle_outliers(data: pd.DataFrame, name: str, rule: dict, options: CleanOptions, ledger: Ledger) -> np.ndarray:
    """Find values beyond the robust fences; clip them when the policy says so."""
    values = data[name].to_numpy(dtype="float64")
    fences = robust_fences(values, log_helps(values))
    rule["fence"] = None
    if fences is None:
        return np.zeros(values.size, dtype=bool)
    low, high = fences
    beyond = (values < low) | (values > high)
    count = int(beyond.sum())
    if count:
        ledger.outliers[name] = {
            "count": count,
            "low": _num(low),
            "high": _num(high),
            "action": {"clip": "clipped", "flag": "flagged", "keep": "kept"}[options.outliers],
        }
    if options.outliers == "clip":
        data[name] = np.clip(values, low, high)
        rule["fence"] = [_num(low), _num(high)]
    return beyond


def _impute(data: pd.DataFrame, name: str, ledger: Ledger, numeric: bool):
    """Fill missing cells of a feature: the median of a number, the most frequent level."""
    column = data[name]
    blank = column.isna()
    if numeric:
        fill = float(column.median()) if blank.sum() < len(column) else 0.0
    else:
        counts = column.value_counts(dropna=True)
        fill = str(counts.index[0]) if len(counts) else "missing"
    ledger.fix("missing value (imputed)", name, int(blank.sum()))
    data[name] = column.fillna(fill)
    return fill


def apply_cleaning(df: pd.DataFrame, roles: ColumnRoles, params: CleaningParams) -> tuple[pd.DataFrame, np.ndarray]:
    """Clean new customers with the rules fitted on the training data.

    Codes for missing, derived features (age, tenure_days at the fitted reference date)
    and indicators are computed with the fitted rules, then values are checked, clipped and
    filled as at fit time.

    Returns the feature table and a boolean mask of rows that could be cleaned (rows
    whose feature values are all missing cannot be assigned).
    """
    check_columns(df.columns, roles, params)
    data = pd.DataFrame(index=df.index)
    for name in roles.features:
        if name in params.numeric_rules:
            data[name] = _numeric_feature(df, name, params)
        else:
            data[name] = _categorical_feature(df, name, params)
    usable = ~data.isna().all(axis=1).to_numpy()
    for name in roles.features:
        if name in params.numeric_rules:
            rule = params.numeric_rules[name]
            values = data[name].to_numpy(dtype="float64")
            if rule.get("fence"):
                low, high = (-np.inf if v is None else v for v in rule["fence"])
                values = np.clip(values, low, high)
            data[name] = np.where(np.isnan(values), rule["fill"], values)
        else:
            data[name] = data[name].fillna(params.categorical_fill[name])
    return data, usable


def check_columns(columns, roles: ColumnRoles, params: CleaningParams) -> None:
    """Raise `InputError` naming the input columns the fitted rules need that ``columns`` lacks."""
    needed = list(dict.fromkeys(_source_column(name, params) for name in roles.features))
    missing = [c for c in needed if c not in list(columns)]
    if missing:
        raise InputError(
            f"the data lacks {len(missing)} column(s) the model needs: {', '.join(missing)}"
        )


def _source_column(feature: str, params: CleaningParams) -> str:
    """The input column a feature is computed from."""
    if feature in params.derived:
        return params.derived[feature]["source"]
    if feature in params.indicators:
        return params.indicators[feature]["column"]
    return feature


def _numeric_feature(df: pd.DataFrame, name: str, params: CleaningParams) -> np.ndarray:
    """A numeric feature of new customers: parsed (or derived, or an indicator), codes for
    missing removed, impossible values missing."""
    rule = params.numeric_rules[name]
    source = _source_column(name, params)
    column = df[source]
    derived = params.derived.get(name)
    decimal_comma = derived.get("decimal_comma", False) if derived else rule["decimal_comma"]
    values, _ = parse_numbers(column, decimal_comma)
    if name in params.indicators:
        return apply_codes(column, values, params.indicators[name]).astype("float64")
    codes = params.missing_codes.get(source)
    if codes:
        hit = apply_codes(column, values, codes)
        values = np.where(hit, np.nan, values)
        column = column.where(~hit)
    if derived:
        values, _ = derive(column, derived, values)
    low = -np.inf if rule["low"] is None else rule["low"]
    high = np.inf if rule["high"] is None else rule["high"]
    return np.where((values < low) | (values > high), np.nan, values)


def _categorical_feature(df: pd.DataFrame, name: str, params: CleaningParams) -> pd.Series:
    column = df[name]
    codes = params.missing_codes.get(name)
    if name in params.code_columns:
        values, _ = parse_numbers(column)
        if codes:
            values = np.where(apply_codes(column, values, codes), np.nan, values)
        return _codes_from(values, column.index)
    text = _text(column)
    return text.mask(apply_codes(column, None, codes)) if codes else text
