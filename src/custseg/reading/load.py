"""Read a customer table from a file, robustly, into a pandas DataFrame.

Delimited text (any of ``, ; TAB |``, UTF-8 with or without BOM, UTF-16 with BOM, cp1252 or
Latin-1, optionally gzip-compressed) is read with every column as strings, so that ids such
as ``0001`` survive; cleaning converts numbers later. Text without any of those delimiters is
read as whitespace-aligned columns (runs of spaces separate fields) or, when values hold
spaces, as fixed-width columns found from the blank character positions shared by every
line. A first row that parses like the rows under it (numbers or dates where they hold
numbers or dates) is data, not a header: the columns are then named ``column_1..n``.

Parquet, Excel and JSON keep their types. Every sheet of a workbook whose header matches the
first sheet's is read, stacked, with the sheet's name in a column ``sheet``; the others are
listed in `TableSource.not_read` with their row counts. A ``.zip`` or ``.tar`` archive
(``.tar.gz``, ``.tgz``) holding one table is read as that table.

Every problem a user can fix raises `custseg.errors.InputError` with one line that names the
file.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import glob
import gzip
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["ReadOptions", "TableSource", "TextLayout", "read_columns", "read_table", "text_layout", "unpacked"]

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
JSON_SUFFIXES = (".json",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
ARCHIVE_SUFFIXES = {".zip": "zip", ".tar": "tar", ".tar.gz": "tar", ".tgz": "tar"}
SUPPORTED = (
    "delimited, whitespace-aligned or fixed-width text (.csv .tsv .txt .dat, optionally .gz), "
    "Parquet (.parquet .pq), Excel (.xlsx), JSON (.json .jsonl .ndjson), "
    "and a .zip or .tar archive holding one of these"
)
HEADER_CHOICES = ("auto", "yes", "no")
#: Share of a column's values (below the first row) that must be numbers or dates for the
#: column to tell a header (a name there) from a data row (a number or date there).
TYPED_SHARE = 0.9
#: Lines of the sample looked at to find fixed-width columns.
FIXED_WIDTH_LINES = 2000
_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?")
_DATE = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T]\d.*)?")
GZIP_MAGIC = b"\x1f\x8b"
MAGIC = {
    b"PAR1": "a Parquet file",
    b"PK\x03\x04": "a zip archive (an .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook",
}
_FIELDS_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file, where it holds more than one table or its layout is unclear.

    Parameters
    ----------
    sheet : str or None
        Workbook sheet to read; None reads every sheet whose header matches the first one.
    member : str or None
        Table inside a ``.zip`` or ``.tar`` archive; None reads the only one.
    header : {"auto", "yes", "no"}
        Whether the first row of a text file or sheet holds the column names; ``auto``
        decides from the rows under it.
    """

    sheet: str | None = None
    member: str | None = None
    header: str = "auto"

    @classmethod
    def from_settings(cls, settings) -> "ReadOptions":
        """The reading options of a `custseg.settings.Settings`."""
        return cls(sheet=settings.sheet, member=settings.member, header=settings.header)


@dataclass(frozen=True)
class TableSource:
    """What was read, for the report.

    Parameters
    ----------
    path : str
        The path as given.
    name : str
        The file name.
    format : str
        ``"csv"``, ``"tsv"``, ``"text"`` (whitespace-aligned or fixed-width), ``"parquet"``,
        ``"excel"``, ``"json"`` or ``"jsonl"``.
    encoding : str or None
        Text encoding used (``"utf-8"``, ``"utf-8-sig"``, ``"cp1252"``, ...); None for
        binary formats.
    delimiter : str or None
        Field delimiter of delimited text; None otherwise.
    rows, columns : int
        Shape of the table read.
    layout : str or None
        Text layout: ``"delimited"``, ``"whitespace"`` or ``"fixed-width"``; None otherwise.
    header : bool
        Whether the first row held the column names (False: named ``column_1..n``).
    member : str or None
        The archive member read, for a ``.zip`` or ``.tar`` input.
    sheets : list of str or None
        The workbook sheets read (stacked in this order).
    sheet_column : str or None
        Column holding each row's sheet, when more than one sheet was stacked.
    not_read : list of dict
        Parts of the file not read: ``{"sheet", "rows", "reason"}`` per sheet.
    """

    path: str
    name: str
    format: str
    encoding: str | None
    delimiter: str | None
    rows: int
    columns: int
    layout: str | None = None
    header: bool = True
    member: str | None = None
    sheets: list[str] | None = None
    sheet_column: str | None = None
    not_read: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The source as plain JSON-able values."""
        return dataclasses.asdict(self)


@dataclass
class _Read:
    """What a format reader found besides the table."""

    format: str
    encoding: str | None = None
    delimiter: str | None = None
    layout: str | None = None
    header: bool = True
    sheets: list[str] | None = None
    sheet_column: str | None = None
    not_read: list[dict] = field(default_factory=list)


def read_table(path: str | os.PathLike, options: ReadOptions | None = None) -> tuple[pd.DataFrame, TableSource]:
    """Read a customer table (or order lines) from a file.

    The format follows the extension (case-insensitive); a file with an unknown extension
    is read as delimited text when it looks like one.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``/``.tsv``/``.txt``/``.dat`` file (optionally gzip-compressed),
        ``.parquet``/``.pq``, ``.xlsx``, ``.json`` (array of records or a pandas layout),
        ``.jsonl``/``.ndjson``, or a ``.zip``/``.tar``/``.tar.gz``/``.tgz`` archive holding
        one of them.
    options : ReadOptions, optional
        Sheet, archive member and header choice; by default every matching sheet, the
        archive's only table, and a header detected from the rows.

    Returns
    -------
    table : pandas.DataFrame
        The table, with surrounding whitespace stripped from column names. Text columns
        are all strings and blank cells are ``""``.
    source : TableSource
        What was read: format, encoding, delimiter, layout, sheets, member and shape.

    Raises
    ------
    InputError
        If the file is missing, empty, not a table, has duplicate column names, a header
        but no rows, or rows with more fields than the header; if an archive holds no table
        or several (without ``member``); if ``sheet`` or ``member`` names nothing there.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "customers.csv"
    ...     _ = path.write_text("id;age;income\\n1;34;52,5\\n2;51;61,0\\n")
    ...     table, source = read_table(path)
    >>> source.format, source.delimiter, table.shape
    ('csv', ';', (2, 3))
    """
    options = _checked_options(options)
    file = _existing_file(path)
    if archive_kind(file) is None:
        _refuse_member(file, options)
        table, found = _read_file(file, options)
        return table, _table_source(str(path), file.name, table, found, None)
    with unpacked(file, options.member) as (inner, member):
        table, found = _read_file(inner, options)
    return table, _table_source(str(path), file.name, table, found, member)


def _read_file(file: Path, options: ReadOptions) -> tuple[pd.DataFrame, _Read]:
    head, compressed = _read_head(file)
    kind = _kind_from_suffix(file) or _sniff_kind(file, head)
    if options.sheet is not None and kind != "excel":
        raise InputError(f"--sheet applies to Excel workbooks; {file} is not one")
    table, found = _READERS[kind](file, head, compressed, options)
    return _checked_shape(file, table), found


def _table_source(path: str, name: str, table: pd.DataFrame, found: _Read, member: str | None) -> TableSource:
    return TableSource(
        path=path, name=name, format=found.format, encoding=found.encoding,
        delimiter=found.delimiter, rows=int(table.shape[0]), columns=int(table.shape[1]),
        layout=found.layout, header=found.header, member=member, sheets=found.sheets,
        sheet_column=found.sheet_column, not_read=list(found.not_read),
    )


def _checked_options(options: ReadOptions | None) -> ReadOptions:
    options = options or ReadOptions()
    if options.header not in HEADER_CHOICES:
        raise InputError(f"--header must be one of {', '.join(HEADER_CHOICES)}, got {options.header!r}")
    return options


def _refuse_member(file: Path, options: ReadOptions) -> None:
    if options.member is not None:
        raise InputError(f"--member applies to .zip and .tar archives; {file} is not one")


def read_columns(path: str | os.PathLike, options: ReadOptions | None = None) -> list[str]:
    """Column names of a table file without reading its rows (where the format allows).

    A glob such as ``"daily/*.csv"`` reads the header of its first file in name order; an
    archive, that of its table.
    """
    options = _checked_options(options)
    path = str(path)
    if any(char in path for char in "*?["):
        matches = sorted(glob.glob(path))
        if not matches:
            raise InputError(f"no file matches {path}")
        path = matches[0]
    file = _existing_file(path)
    if archive_kind(file) is not None:
        with unpacked(file, options.member) as (inner, _):
            return _file_columns(inner, options)
    _refuse_member(file, options)
    return _file_columns(file, options)


def _file_columns(file: Path, options: ReadOptions) -> list[str]:
    head, compressed = _read_head(file)
    kind = _kind_from_suffix(file) or _sniff_kind(file, head)
    if kind == "text" and options.sheet is None:
        return text_layout(file, head, options.header).names
    if kind == "parquet" and not compressed and options.sheet is None:
        import pyarrow.parquet as pq

        try:
            return _clean_names(file, pq.read_schema(file).names)
        except (OSError, ValueError) as exc:
            raise InputError(f"{file} is not a valid Parquet file: {exc}") from None
    return list(_read_file(file, options)[0].columns)


# --------------------------------------------------------------------------- archives


def archive_kind(file: Path) -> str | None:
    """``"zip"`` or ``"tar"`` for an archive (by its extension), else None.

    A file with no known extension that starts like a zip and is not an Excel workbook is
    a zip archive too.
    """
    name = file.name.lower()
    for suffix, kind in ARCHIVE_SUFFIXES.items():
        if name.endswith(suffix):
            return kind
    if _kind_from_suffix(file) is None and zipfile.is_zipfile(file):
        try:
            with zipfile.ZipFile(file) as archive:
                return None if "[Content_Types].xml" in archive.namelist() else "zip"
        except (zipfile.BadZipFile, OSError):
            return None
    return None


def _archive_members(file: Path, kind: str) -> list[str]:
    """Names of the regular files in an archive, without macOS resource forks."""
    try:
        if kind == "zip":
            with zipfile.ZipFile(file) as archive:
                names = [info.filename for info in archive.infolist() if not info.is_dir()]
        else:
            with tarfile.open(file, "r:*") as archive:
                names = [info.name for info in archive.getmembers() if info.isfile()]
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise InputError(f"{file} is not a valid {kind} archive: {exc}") from None
    return [n for n in names if not n.startswith("__MACOSX/") and not Path(n).name.startswith(".")]


def _listed(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _chosen_member(file: Path, members: list[str], wanted: str | None) -> str:
    """The table to read: ``wanted`` (by path or file name), else the only table."""
    tables = [n for n in members if _kind_from_suffix(Path(n)) is not None]
    if wanted is not None:
        exact = [n for n in members if n == wanted]
        by_name = [n for n in members if Path(n).name == wanted]
        if exact or len(by_name) == 1:
            return (exact or by_name)[0]
        listed = _listed(tables or members) or "none"
        raise InputError(f"--member {wanted!r} is not in {file}; its tables are: {listed}")
    if len(tables) == 1:
        return tables[0]
    if not tables:
        raise InputError(
            f"{file} holds no table (members: {_listed(members) or 'none'}); custseg reads {SUPPORTED}"
        )
    raise InputError(f"{file} holds {len(tables)} tables: {_listed(tables)}; choose one with --member NAME")


def _extract(file: Path, kind: str, member: str, target: Path) -> None:
    """Copy one member of an archive to ``target`` (streamed; no path from the archive is used)."""
    try:
        if kind == "zip":
            with zipfile.ZipFile(file) as archive, archive.open(member) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
        else:
            with tarfile.open(file, "r:*") as archive:
                source = archive.extractfile(member)
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, RuntimeError) as exc:
        raise InputError(f"{file}: member {member} could not be extracted: {exc}") from None


@contextmanager
def unpacked(file: str | os.PathLike, member: str | None = None) -> Iterator[tuple[Path, str]]:
    """The table inside an archive, extracted to a temporary file for the ``with`` block.

    Yields the temporary file (named like the member) and the member's name. An `InputError`
    raised inside the block names ``ARCHIVE:MEMBER`` instead of the temporary file.

    Raises
    ------
    InputError
        If the archive is corrupt, holds no table, or several and ``member`` is None, or
        ``member`` is not in it.
    """
    file = Path(file)
    kind = archive_kind(file)
    if kind is None:
        raise InputError(f"{file} is not a .zip or .tar archive")
    name = _chosen_member(file, _archive_members(file, kind), member)
    with tempfile.TemporaryDirectory(prefix="custseg-member-") as folder:
        inner = Path(folder) / Path(name).name
        _extract(file, kind, name, inner)
        try:
            yield inner, name
        except InputError as exc:
            raise InputError(str(exc).replace(str(inner), f"{file}:{name}")) from None


# --------------------------------------------------------------------------- the file


def _existing_file(path: str | os.PathLike) -> Path:
    file = Path(path)
    if not file.exists():
        raise InputError(f"file not found: {path}")
    if file.is_dir():
        raise InputError(f"{path} is a directory, not a file")
    if file.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes)")
    return file


def _read_head(file: Path) -> tuple[bytes, bool]:
    """First bytes of the file (decompressed if it is gzip) and whether it was gzip."""
    try:
        with open(file, "rb") as handle:
            raw = handle.read(SAMPLE_BYTES)
        if not raw.startswith(GZIP_MAGIC):
            return raw, False
        with gzip.open(file, "rb") as handle:
            return handle.read(SAMPLE_BYTES), True
    except PermissionError:
        raise InputError(f"cannot read {file}: permission denied") from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError(f"{file} is not a valid gzip file: {exc}") from None


def _kind_from_suffix(file: Path) -> str | None:
    """Kind of table the extension names (looking through ``.gz``), or None."""
    name = file.name.lower()
    compressed = name.endswith(".gz")
    suffix = Path(name[:-3] if compressed else name).suffix
    for kind, suffixes in _KINDS.items():
        if suffix in suffixes:
            return kind
    return "text" if compressed else None


def _sniff_kind(file: Path, head: bytes) -> str:
    """Kind of a file whose extension says nothing: by magic bytes, else delimited text."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "excel"
    if b"\x00" not in head:
        text = _sample_text(head, _encoding_of(head), truncated=len(head) == SAMPLE_BYTES)
        if text.lstrip().startswith(("[", "{")):
            return "json"
        if _looks_delimited(text, _choose_delimiter(text)):
            return "text"
    raise InputError(
        f"{file}: unrecognised format {file.suffix or '(no extension)'!r}; "
        f"supported: {SUPPORTED}"
    )


def _checked_shape(file: Path, table: pd.DataFrame) -> pd.DataFrame:
    if table.shape[1] == 0:
        raise InputError(f"{file} is empty (no columns)")
    if table.shape[0] == 0:
        raise InputError(f"{file} has a header ({table.shape[1]} columns) but no data rows")
    return table


def _clean_names(file: Path, names: list) -> list[str]:
    """Header names stripped of whitespace; blanks named like pandas; duplicates refused."""
    clean = [
        f"Unnamed: {i}" if name is None or str(name).strip() == "" else str(name).strip()
        for i, name in enumerate(names)
    ]
    repeated = [name for name, count in Counter(clean).items() if count > 1]
    if repeated:
        listed = ", ".join(repr(name) for name in repeated)
        raise InputError(f"{file} has duplicate column names: {listed}")
    return clean


# --------------------------------------------------------------------------- text


def _encoding_of(head: bytes) -> str:
    """Best guess at the encoding from the first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _fallback_encodings(first: str) -> list[str]:
    if first == "utf-8":
        return ["utf-8", "cp1252", "latin-1"]
    if first == "cp1252":
        return ["cp1252", "latin-1"]
    return [first]


def _sample_text(head: bytes, encoding: str, *, truncated: bool) -> str:
    """The head decoded, without its last (possibly cut) line when the file goes on."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(head, final=not truncated)
    if truncated:
        cut = max(text.rfind("\n"), text.rfind("\r"))
        text = text[: cut + 1] if cut > 0 else text
    return text


def _sample_rows(text: str, delimiter: str, limit: int = 500) -> list[tuple[int, list[str]]]:
    """Up to ``limit`` non-blank records of the sample with the line on which each ends."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    rows = []
    try:
        for fields in reader:
            if any(field.strip() for field in fields):
                rows.append((reader.line_num, fields))
                if len(rows) >= limit:
                    break
    except csv.Error:
        pass
    return rows


def _delimiter_scores(text: str) -> dict[str, tuple[float, int]]:
    """Per delimiter that splits the header: (share of rows as wide as the header, width)."""
    scores = {}
    for delimiter in DELIMITERS:
        rows = _sample_rows(text, delimiter)
        if not rows or len(rows[0][1]) < 2:
            continue
        width = len(rows[0][1])
        body = [len(fields) for _, fields in rows[1:]] or [width]
        scores[delimiter] = (sum(n == width for n in body) / len(body), width)
    return scores


def _choose_delimiter(text: str) -> str:
    """csv.Sniffer's delimiter if its rows are as consistent as the best, else the best."""
    scores = _delimiter_scores(text)
    if not scores:
        return ","
    best = max(scores, key=lambda d: scores[d])
    try:
        sniffed = csv.Sniffer().sniff(text, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return best
    if sniffed in scores and scores[sniffed][0] >= scores[best][0]:
        return sniffed
    return best


def _looks_delimited(text: str, delimiter: str) -> bool:
    score = _delimiter_scores(text).get(delimiter)
    return score is not None and score[0] >= 0.9


def _refuse_binary(file: Path, head: bytes, encoding: str) -> None:
    if encoding == "utf-16" or b"\x00" not in head:
        return
    looks = next((what for magic, what in MAGIC.items() if head.startswith(magic)), None)
    detail = f"it looks like {looks}" if looks else "it contains binary (NUL) bytes"
    raise InputError(f"{file} is not a text table: {detail}")


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
    """
    encoding = _encoding_of(head)
    _refuse_binary(file, head, encoding)
    truncated = len(head) == SAMPLE_BYTES
    text = _sample_text(head, encoding, truncated=truncated)
    if not text.strip():
        raise InputError(f"{file} is empty (only whitespace)")
    delimiter = _choose_delimiter(text)
    kind, colspecs, rows = "delimited", None, None
    if delimiter not in _delimiter_scores(text):
        kind, colspecs, rows = _undelimited_layout(text)
    if rows is None:
        kind, rows = "delimited", _sample_rows(text, delimiter, limit=10_000)
    if not rows:
        raise InputError(f"{file} is empty (only whitespace)")
    if header == "auto":
        has_header = first_row_is_header([fields for _, fields in rows[:500]])
    else:
        has_header = header == "yes"
    names, extra = _text_names(file, rows, has_header, kind)
    return TextLayout(encoding, kind, delimiter if kind == "delimited" else None, colspecs, names, extra, has_header)


def _read_text(file: Path, head: bytes, compressed: bool, options: ReadOptions) -> tuple[pd.DataFrame, _Read]:
    layout = text_layout(file, head, options.header)
    table, encoding = _read_delimited(file, layout, compressed)
    table = _drop_empty_extra(file, table, layout)
    if layout.kind == "whitespace":
        _refuse_short_rows(file, table, layout)
    if layout.kind != "delimited":
        fmt = "text"
    else:
        fmt = "tsv" if layout.delimiter == "\t" else "csv"
    return table, _Read(fmt, encoding, layout.delimiter, layout.kind, layout.header)


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


def _text_names(file: Path, rows: list, has_header: bool, kind: str) -> tuple[list[str], list[str]]:
    """Clean header names (or ``column_1..n``), plus placeholder names for empty trailing fields.

    A row of the sample with more non-empty fields than the first is refused here, so that
    pandas never silently shifts or drops it.
    """
    width = len(rows[0][1])
    names = _clean_names(file, rows[0][1]) if has_header else [f"column_{i + 1}" for i in range(width)]
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
    *first, last = _fallback_encodings(layout.encoding)
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


# --------------------------------------------------------------------------- parquet


def _read_parquet(file: Path, head: bytes, compressed: bool, options: ReadOptions) -> tuple[pd.DataFrame, _Read]:
    import pyarrow
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(file).names
        _clean_names(file, names)
        table = pq.read_table(file).to_pandas()
    except (pyarrow.ArrowException, OSError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{file} could not be read as Parquet: {detail}") from None
    if not isinstance(table.index, pd.RangeIndex):
        table = table.reset_index()
    table.columns = _clean_names(file, list(table.columns))
    return table, _Read("parquet")


# --------------------------------------------------------------------------- excel


@dataclass
class _Sheet:
    """One worksheet as previewed: blank rows above its first row, that row, a sample below."""

    name: str
    skipped: int
    first: list
    sample: list[list] = field(default_factory=list)
    header: bool = True

    @property
    def empty(self) -> bool:
        return not self.first

    def names(self, file: Path) -> list[str]:
        if self.header:
            return _clean_names(file, self.first)
        width = max([len(self.first), *(len(row) for row in self.sample)])
        return [f"column_{i + 1}" for i in range(width)]


#: Rows of each sheet read to decide whether its first row is a header.
SHEET_SAMPLE = 200
_EXCEL_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError)


def _read_excel(file: Path, head: bytes, compressed: bool, options: ReadOptions) -> tuple[pd.DataFrame, _Read]:
    """Every sheet whose header matches the first non-empty sheet's (or ``options.sheet``),
    stacked, with a ``sheet`` column when there are several."""
    from openpyxl.utils.exceptions import InvalidFileException

    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(f"{file} is an old Excel .xls workbook; save it as .xlsx or CSV")
    try:
        with open(file, "rb") as handle:
            sheets = _preview_sheets(handle, options.header)
            chosen, not_read = _chosen_sheets(file, sheets, options.sheet)
            handle.seek(0)
            frames = _parse_sheets(file, handle, chosen)
            handle.seek(0)
            not_read = _counted(handle, not_read, {s.name: s.header for s in sheets})
    except InputError:      # a ValueError too, but ours already names the problem
        raise
    except (*_EXCEL_ERRORS, InvalidFileException) as exc:
        detail = str(exc).strip("'\"") or type(exc).__name__
        raise InputError(f"{file} could not be read as Excel (.xlsx): {detail}") from None
    table, sheet_column = _stacked(frames, [s.name for s in chosen])
    found = _Read("excel", header=all(s.header for s in chosen) if chosen else True,
                  sheets=[s.name for s in chosen], sheet_column=sheet_column, not_read=not_read)
    return table, found


def _preview_sheets(handle, header: str) -> list[_Sheet]:
    """First non-empty row and a sample below it, of every sheet (read-only, fast)."""
    import openpyxl

    book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    try:
        return [_preview(sheet, header) for sheet in book.worksheets]
    finally:
        book.close()


def _preview(sheet, header: str) -> _Sheet:
    rows = sheet.iter_rows(values_only=True)
    for skipped, row in enumerate(rows):
        cells = _trimmed_cells(row)
        if cells:
            found = _Sheet(str(sheet.title), skipped, cells)
            for row in rows:
                cells = _trimmed_cells(row)
                if cells:
                    found.sample.append(cells)
                    if len(found.sample) >= SHEET_SAMPLE:
                        break
            decided = {"yes": True, "no": False}.get(header)
            found.header = decided if decided is not None else first_row_is_header([found.first, *found.sample])
            return found
    return _Sheet(str(sheet.title), 0, [])


def _trimmed_cells(row) -> list:
    """The cells of a row without trailing blanks; [] for a blank row."""
    cells = list(row)
    while cells and not _filled(cells[-1]):
        cells.pop()
    return cells


def _chosen_sheets(file: Path, sheets: list[_Sheet], wanted: str | None) -> tuple[list[_Sheet], list[dict]]:
    """The sheets to read and the others, each with the reason it is not read."""
    if wanted is not None:
        chosen = _sheet_named(file, sheets, wanted)
        others = [{"sheet": s.name, "rows": None, "reason": f"not chosen (--sheet {chosen.name!r})"}
                  for s in sheets if s is not chosen]
        return [chosen], others
    filled = [s for s in sheets if not s.empty]
    if not filled:
        return [], []
    names = filled[0].names(file)
    chosen, others = [], []
    for sheet in sheets:
        if sheet.empty:
            others.append({"sheet": sheet.name, "rows": 0, "reason": "empty"})
        elif sheet is filled[0] or (sheet.header == filled[0].header and _names_or_none(sheet, file) == names):
            chosen.append(sheet)
        else:
            reason = _header_difference(names, sheet, filled[0].name, file)
            others.append({"sheet": sheet.name, "rows": None, "reason": reason})
    return chosen, others


def _names_or_none(sheet: _Sheet, file: Path) -> list[str] | None:
    """A sheet's column names; None when its header repeats a name (it cannot match)."""
    try:
        return sheet.names(file)
    except InputError:
        return None


def _sheet_named(file: Path, sheets: list[_Sheet], wanted: str) -> _Sheet:
    exact = [s for s in sheets if s.name == wanted]
    loose = [s for s in sheets if s.name.strip().lower() == wanted.strip().lower()]
    if exact or len(loose) == 1:
        return (exact or loose)[0]
    listed = ", ".join(repr(s.name) for s in sheets)
    raise InputError(f"--sheet {wanted!r} is not in {file}; its sheets are: {listed}")


def _header_difference(names: list[str], sheet: _Sheet, first: str, file: Path) -> str:
    """Why a sheet's header does not match the first sheet's, in a few words."""
    try:
        other = sheet.names(file)
    except InputError:
        return f"header differs from sheet {first!r} (duplicate column names)"
    missing = [n for n in names if n not in other]
    extra = [n for n in other if n not in names]
    parts = []
    if missing:
        parts.append("lacks " + _listed(missing, 5))
    if extra:
        parts.append("adds " + _listed(extra, 5))
    if not parts:
        parts.append("same columns in another order" if sorted(other) == sorted(names) else "no header row")
    return f"header differs from sheet {first!r}: {'; '.join(parts)}"


def _parse_sheets(file: Path, handle, chosen: list[_Sheet]) -> list[pd.DataFrame]:
    if not chosen:
        return [pd.DataFrame()]
    book = pd.ExcelFile(handle, engine="openpyxl")
    frames = []
    for sheet in chosen:
        table = pd.read_excel(
            book, sheet_name=sheet.name, header=sheet.skipped if sheet.header else None,
            skiprows=None if sheet.header else sheet.skipped, dtype=object,
        )
        names = sheet.names(file)
        if len(names) == table.shape[1]:
            table.columns = names
        elif sheet.header:
            table.columns = _clean_names(file, list(table.columns))
        else:
            table.columns = [f"column_{i + 1}" for i in range(table.shape[1])]
        frames.append(table.dropna(how="all"))
    return frames


def _stacked(frames: list[pd.DataFrame], names: list[str]) -> tuple[pd.DataFrame, str | None]:
    """The sheets one under the other; with several, each row's sheet in a new column."""
    if len(frames) == 1:
        table = frames[0]
        sheet_column = None
    else:
        sheet_column = _free_name("sheet", frames[0].columns)
        table = pd.concat(
            [frame.assign(**{sheet_column: name}) for frame, name in zip(frames, names)], ignore_index=True
        )
    # dtype=object keeps text cells such as "0001" as typed; numbers regain their dtype here.
    return table.reset_index(drop=True).infer_objects(), sheet_column


def _free_name(wanted: str, taken) -> str:
    """``wanted``, or ``wanted_2``, ``wanted_3``, ... if a column already has that name."""
    taken = {str(name) for name in taken}
    name, n = wanted, 1
    while name in taken:
        n += 1
        name = f"{wanted}_{n}"
    return name


def _counted(handle, not_read: list[dict], headers: dict[str, bool]) -> list[dict]:
    """``not_read`` with the rows of each sheet counted: its non-blank rows, less the header."""
    if not any(item["rows"] is None for item in not_read):
        return not_read
    import openpyxl

    book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    try:
        for item in not_read:
            if item["rows"] is None:
                rows = book[item["sheet"]].iter_rows(values_only=True)
                filled = sum(1 for row in rows if any(_filled(cell) for cell in row))
                item["rows"] = max(filled - int(headers[item["sheet"]]), 0)
    finally:
        book.close()
    return not_read


def _filled(cell: object) -> bool:
    return cell is not None and str(cell).strip() != ""


# --------------------------------------------------------------------------- json


class _DuplicateKey(ValueError):
    """A JSON object repeats a key."""


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    repeated = [key for key, count in Counter(keys).items() if count > 1]
    if repeated:
        raise _DuplicateKey(", ".join(repr(key) for key in repeated))
    return dict(pairs)


def _json_bytes(file: Path, compressed: bool) -> bytes:
    try:
        if compressed:
            with gzip.open(file, "rb") as handle:
                return handle.read()
        return file.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError(f"{file} is not a valid gzip file: {exc}") from None


def _loads(file: Path, data: bytes, where: str = "") -> object:
    """``json.loads`` refusing duplicate keys; decoding errors pass through."""
    try:
        return json.loads(data, object_pairs_hook=_no_duplicate_keys)
    except _DuplicateKey as exc:
        raise InputError(f"{file}{where} has duplicate column names: {exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{file}{where} is not UTF-8 JSON: {exc.reason} at byte {exc.start}") from None


def _read_json(file: Path, head: bytes, compressed: bool, options: ReadOptions) -> tuple[pd.DataFrame, _Read]:
    _refuse_binary(file, head, _encoding_of(head))
    data = _json_bytes(file, compressed)
    if not data.strip():
        raise InputError(f"{file} is empty (only whitespace)")
    try:
        parsed = _loads(file, data)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return _read_jsonl(file, head, compressed, options)
        raise InputError(f"{file} is not valid JSON: {exc}") from None
    try:
        table = _frame_from_json(file, parsed)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{file}: JSON does not form a table: {exc}") from None
    table.columns = _clean_names(file, list(table.columns))
    return table, _Read("json", "utf-8")


def _frame_from_json(file: Path, parsed: object) -> pd.DataFrame:
    """A table from records or a pandas layout (split, table, columns or index)."""
    if isinstance(parsed, list):
        return _frame_from_records(file, parsed)
    if not isinstance(parsed, dict):
        raise InputError(f"{file} holds a single JSON value, not a table")
    if "columns" in parsed and "data" in parsed:
        return pd.DataFrame(parsed["data"], columns=parsed["columns"])
    if "schema" in parsed and isinstance(parsed.get("data"), list):
        table = _frame_from_records(file, parsed["data"])
        index = parsed["schema"].get("primaryKey") if isinstance(parsed["schema"], dict) else None
        return table.drop(columns=index) if index == ["index"] and "index" in table else table
    values = list(parsed.values())
    if len(values) == 1 and isinstance(values[0], list):
        return _frame_from_records(file, values[0])
    if values and all(isinstance(v, dict) for v in values):
        by_row = all(key.isdigit() for key in parsed) and not all(key.isdigit() for key in values[0])
        frame = pd.DataFrame.from_dict(parsed, orient="index" if by_row else "columns")
        return frame.reset_index(drop=True)
    if values and all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
        return pd.DataFrame(parsed)
    raise InputError(
        f"{file}: JSON layout not recognised; expected an array of records "
        f"or a pandas layout (columns, split, table)"
    )


def _frame_from_records(file: Path, records: list) -> pd.DataFrame:
    bad = next((i for i, record in enumerate(records) if not isinstance(record, dict)), None)
    if bad is not None:
        raise InputError(f"{file}: JSON array item {bad + 1} is not an object (a record)")
    return pd.DataFrame.from_records(records) if records else pd.DataFrame()


def _read_jsonl(file: Path, head: bytes, compressed: bool, options: ReadOptions) -> tuple[pd.DataFrame, _Read]:
    _refuse_binary(file, head, _encoding_of(head))
    data = _json_bytes(file, compressed)
    records = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = _loads(file, line, f" line {number}")
        except json.JSONDecodeError as exc:
            raise InputError(f"{file} line {number} is not valid JSON: {exc.msg}") from None
        if not isinstance(record, dict):
            raise InputError(f"{file} line {number} is not a JSON object (a record)")
        records.append(record)
    if not records:
        raise InputError(f"{file} is empty (only whitespace)")
    table = pd.DataFrame.from_records(records)
    table.columns = _clean_names(file, list(table.columns))
    return table, _Read("jsonl", "utf-8")


_KINDS = {
    "text": TEXT_SUFFIXES,
    "parquet": PARQUET_SUFFIXES,
    "excel": EXCEL_SUFFIXES,
    "json": JSON_SUFFIXES,
    "jsonl": JSONL_SUFFIXES,
}
_READERS = {
    "text": _read_text,
    "parquet": _read_parquet,
    "excel": _read_excel,
    "json": _read_json,
    "jsonl": _read_jsonl,
}
