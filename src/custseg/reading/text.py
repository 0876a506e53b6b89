"""Text tables: their layout (delimited, whitespace-aligned or fixed-width), whether the
first row is a header, and the full read with pandas, every column as strings.

Text without any of the delimiters ``, ; TAB |`` is read as whitespace-aligned columns (runs
of spaces separate fields) or, when values hold spaces, as fixed-width columns found from the
blank character positions shared by every line. A first row that parses like the rows under
it (numbers or dates where they hold numbers or dates) is data, not a header: the columns are
then named ``column_1..n``.
"""

from __future__ import annotations

import gzip
import re
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .dialect import (
    choose_delimiter,
    delimiter_scores,
    encoding_of,
    fallback_encodings,
    sample_rows,
    sample_text,
)
from .files import SAMPLE_BYTES, clean_names, refuse_binary
from .names import headerless_names
from .source import ReadDetails, ReadOptions

__all__ = ["TextLayout", "first_row_is_header", "read_text", "text_layout", "text_names"]

#: Share of a column's values (below the first row) that must be numbers or dates for the
#: column to tell a header (a name there) from a data row (a number or date there).
TYPED_SHARE = 0.9
#: Lines of the sample looked at to find fixed-width columns.
FIXED_WIDTH_LINES = 2000
_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?")
_DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d.*)?")
_FIELDS_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


@dataclass(frozen=True)
class TextLayout:
    """How a text file's lines become fields.

    Parameters
    ----------
    encoding : str
        Encoding found from the first bytes (the full read may fall back to another).
    kind : {"delimited", "whitespace", "fixed-width"}
        Fields split by ``delimiter``, by runs of whitespace, or at the character positions
        of ``colspecs``.
    delimiter : str or None
        Field delimiter of delimited text.
    colspecs : list of (int, int or None) or None
        Half-open character spans of fixed-width fields (the last one open-ended).
    names : list of str
        Column names: the header's, or ``column_1..n`` when ``header`` is False.
    extra : list of str
        Placeholder names of empty trailing fields (a delimiter at the end of each line).
    header : bool
        Whether the first non-blank row holds the column names.
    """

    encoding: str
    kind: str
    delimiter: str | None
    colspecs: list[tuple[int, int | None]] | None
    names: list[str]
    extra: list[str]
    header: bool


def text_layout(file: Path, head: bytes, header: str = "auto") -> TextLayout:
    """The layout of a text file from its first bytes.

    Delimited when one of ``, ; TAB |`` splits the first row; otherwise whitespace-aligned
    when every line of the sample splits on whitespace into as many fields as the first
    (at least two), else fixed-width when the lines share blank character positions (a
    blank field keeps its place), else one column.

    Parameters
    ----------
    file : Path
        The file, for messages.
    head : bytes
        Its first bytes (decompressed).
    header : {"auto", "yes", "no"}
        Whether the first row holds the column names; ``auto`` decides (`first_row_is_header`).

    Raises
    ------
    InputError
        If the sample is empty or binary, has duplicate column names, or a row of the sample
        has more non-empty fields than the first.

    Examples
    --------
    >>> layout = text_layout(Path("t.txt"), b"0001 19970101 11.77\\n0002 19970102 3.50\\n")
    >>> layout.kind, layout.header, layout.names
    ('whitespace', False, ['column_1', 'column_2', 'column_3'])
    """
    encoding = encoding_of(head)
    refuse_binary(file, head, encoding)
    truncated = len(head) == SAMPLE_BYTES
    text = sample_text(head, encoding, truncated=truncated)
    if not text.strip():
        raise InputError(f"{file} is empty (only whitespace)")
    delimiter = choose_delimiter(text)
    kind, colspecs, rows = "delimited", None, None
    if delimiter not in delimiter_scores(text):
        kind, colspecs, rows = _undelimited_layout(text)
    if rows is None:
        kind, rows = "delimited", sample_rows(text, delimiter, limit=10_000)
    if not rows:
        raise InputError(f"{file} is empty (only whitespace)")
    if header == "auto":
        has_header = first_row_is_header([fields for _, fields in rows[:500]])
    else:
        has_header = header == "yes"
    names, extra = text_names(file, rows, has_header, kind)
    return TextLayout(encoding, kind, delimiter if kind == "delimited" else None, colspecs, names, extra, has_header)


def read_text(file: Path, head: bytes, compressed: bool, options: ReadOptions) -> tuple[pd.DataFrame, ReadDetails]:
    """The table of a text file (``head``: its first bytes, gunzipped), every column as strings.

    The layout comes from `text_layout`; the full read retries the next encoding on a
    decoding error, and refuses rows that the sample's layout cannot place.
    """
    layout = text_layout(file, head, options.header)
    table, encoding = _read_delimited(file, layout, compressed)
    table = _drop_empty_extra(file, table, layout)
    if layout.kind == "whitespace":
        _refuse_short_rows(file, table, layout)
    if layout.kind != "delimited":
        fmt = "text"
    else:
        fmt = "tsv" if layout.delimiter == "\t" else "csv"
    return table, ReadDetails(fmt, encoding, layout.delimiter, layout.kind, layout.header)


def _refuse_short_rows(file: Path, table: pd.DataFrame, layout: TextLayout) -> None:
    """Whitespace-aligned rows with fewer fields than the first cannot be placed: which
    field is blank is unknown, and pandas would fill the last ones."""
    short = (table.iloc[:, -1] == "").to_numpy()
    if short.any():
        row = int(short.argmax())
        first = "the header" if layout.header else "the first row"
        raise InputError(
            f"{file} data row {row + 1} has fewer whitespace-separated fields than {first} "
            f"({len(layout.names)}); a blank field cannot be placed: align the columns or use a delimiter"
        )


def _undelimited_layout(text: str) -> tuple[str, list | None, list | None]:
    """Whitespace-aligned or fixed-width rows of a sample that no delimiter splits.

    Returns the kind, the fixed-width spans and the sample's rows (line number, fields);
    rows are None when neither layout fits (the text is one column).
    """
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    lines = lines[:10_000]
    widths = Counter(len(line.split()) for _, line in lines)
    first = len(lines[0][1].split())
    if first >= 2 and len(widths) == 1:
        return "whitespace", None, [(number, line.split()) for number, line in lines]
    spans = _fixed_width_spans([line for _, line in lines[:FIXED_WIDTH_LINES]])
    if spans is None:
        return "delimited", None, None
    colspecs = [(start, end) for start, end in spans]
    colspecs[0] = (0, colspecs[0][1])
    colspecs[-1] = (colspecs[-1][0], None)
    rows = [(number, [line[a:b].strip() for a, b in colspecs]) for number, line in lines]
    return "fixed-width", colspecs, rows


def _fixed_width_spans(lines: list[str]) -> list[tuple[int, int]] | None:
    """Character spans between positions that are blank on every line, or None.

    Needs at least two spans, each with content on at least half the lines, and content in
    at least two of them on the first line; lines with tabs are not fixed-width.
    """
    if len(lines) < 2 or any("\t" in line for line in lines):
        return None
    width = max(len(line) for line in lines)
    padded = "".join(line.ljust(width) for line in lines).encode("utf-32-le")
    grid = np.frombuffer(padded, dtype="<u4").reshape(len(lines), width) != ord(" ")
    filled = grid.any(axis=0)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], filled.astype(np.int8), [0]])))
    spans = list(zip(edges[0::2].tolist(), edges[1::2].tolist()))
    if len(spans) < 2:
        return None
    content = np.column_stack([grid[:, a:b].any(axis=1) for a, b in spans])
    if content.mean(axis=0).min() < 0.5 or content[0].sum() < 2:
        return None
    return spans


def first_row_is_header(rows: list[list]) -> bool:
    """Whether the first of ``rows`` holds column names rather than data.

    A column whose values below the first row are (nearly all) numbers or dates tells: a
    name there means a header, a number or date there means a data row. Without such a
    column (all text) the first row is taken as the header, as before.

    Examples
    --------
    >>> first_row_is_header([["id", "spend"], ["1", "2.5"], ["2", "3"]])
    True
    >>> first_row_is_header([["0001", "19970101", "11.77"], ["0002", "19970102", "3"]])
    False
    """
    if len(rows) < 2:
        return True
    first, body = rows[0], rows[1:]
    names = data = 0
    for j, value in enumerate(first):
        column = [_cell(row[j]) for row in body if j < len(row) and _cell(row[j])]
        cell = _cell(value)
        if not column or not cell:
            continue
        if sum(_is_typed(v) for v in column) < TYPED_SHARE * len(column):
            continue
        if _is_typed(cell):
            data += 1
        else:
            names += 1
    return names > 0 or data == 0


def _cell(value) -> str:
    return "" if value is None else str(value).strip()


def _is_typed(value: str) -> bool:
    """Whether a cell reads as a number or a date (``12``, ``-1.5e3``, ``2024-03-01``, ``1/3/24``)."""
    return bool(_NUMBER.fullmatch(value) or _DATE.fullmatch(value))


def text_names(file: Path, rows: list, has_header: bool, kind: str) -> tuple[list[str], list[str]]:
    """Clean header names (or ``column_1..n``), plus placeholder names for empty trailing fields.

    ``rows`` are the sample's records with their line numbers (`sample_rows`); ``kind`` is
    the layout. A row of the sample with more non-empty fields than the first is refused
    here, so that pandas never silently shifts or drops it.

    Examples
    --------
    >>> text_names(Path("t.csv"), [(1, ["id", "spend"]), (2, ["1", "2", ""])], True, "delimited")
    (['id', 'spend'], ['__extra_0'])
    """
    width = len(rows[0][1])
    names = clean_names(file, rows[0][1]) if has_header else headerless_names(width)
    widest = width
    for line, fields in rows[1:]:
        if len(fields) > width:
            if any(field.strip() for field in fields[width:]):
                raise _too_many_fields(file, line, len(fields), width, has_header)
            widest = max(widest, len(fields))
    extra = [f"__extra_{i}" for i in range(widest - width)] if kind == "delimited" else []
    return names, extra


def _too_many_fields(file: Path, line: int, seen: int, expected: int, header: bool = True) -> InputError:
    first = "the header" if header else "the first row"
    return InputError(
        f"{file} line {line} has {seen} fields but {first} has {expected}; "
        f"check the delimiter and quoting"
    )


def _read_delimited(file: Path, layout: TextLayout, compressed: bool) -> tuple[pd.DataFrame, str]:
    """The full read with the C engine, retrying the next encoding on a decoding error."""
    *first, last = fallback_encodings(layout.encoding)
    for tried in first:
        try:
            return _pandas_read_text(file, layout, tried, compressed), tried
        except UnicodeDecodeError:
            continue
    try:
        return _pandas_read_text(file, layout, last, compressed), last
    except UnicodeDecodeError as exc:
        raise InputError(f"{file} is not valid {last} text: {exc.reason} at byte {exc.start}") from None


def _pandas_read_text(file: Path, layout: TextLayout, encoding: str, compressed: bool) -> pd.DataFrame:
    common = dict(
        header=0 if layout.header else None,
        names=layout.names + layout.extra,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        encoding=encoding,
        compression="gzip" if compressed else None,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            if layout.kind == "fixed-width":
                return pd.read_fwf(file, colspecs=layout.colspecs, **common)
            sep = r"\s+" if layout.kind == "whitespace" else layout.delimiter
            return pd.read_csv(file, sep=sep, index_col=False, engine="c", quotechar='"', **common)
    except pd.errors.EmptyDataError:
        raise InputError(f"{file} is empty (only whitespace)") from None
    except pd.errors.ParserError as exc:
        raise _parser_error(file, exc, len(layout.names), layout.header) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError(f"{file} is not a valid gzip file: {exc}") from None


def _parser_error(file: Path, exc: pd.errors.ParserError, width: int, header: bool = True) -> InputError:
    message = str(exc).strip()
    found = _FIELDS_ERROR.search(message)
    if found:
        _, line, seen = (int(g) for g in found.groups())
        return _too_many_fields(file, line, seen, width, header)
    detail = message.splitlines()[0].replace("Error tokenizing data. C error: ", "")
    return InputError(f"{file} could not be parsed as delimited text: {detail}")


def _drop_empty_extra(file: Path, table: pd.DataFrame, layout: TextLayout) -> pd.DataFrame:
    """Remove the columns of empty trailing fields; refuse them if any holds a value."""
    extra = layout.extra
    if not extra:
        return table
    filled = (table[extra] != "").any(axis=1).to_numpy()
    if filled.any():
        row = int(filled.argmax())
        first = "the header" if layout.header else "the first row"
        raise InputError(
            f"{file} data row {row + 1} has more fields than {first} "
            f"({table.shape[1] - len(extra)} columns)"
        )
    return table.drop(columns=extra)
