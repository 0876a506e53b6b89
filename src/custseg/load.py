"""Read a customer table from a file, robustly, into a pandas DataFrame.

Delimited text (any of ``, ; TAB |``, UTF-8 with or without BOM, UTF-16 with BOM, cp1252 or
Latin-1, optionally gzip-compressed) is read with every column as strings, so that ids such
as ``0001`` survive; cleaning converts numbers later. Parquet, Excel and JSON keep their
types. Every problem a user can fix raises `custseg.errors.InputError` with one line that
names the file.
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
import warnings
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputError

__all__ = ["TableSource", "read_table"]

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
JSON_SUFFIXES = (".json",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
SUPPORTED = (
    "delimited text (.csv .tsv .txt .dat, optionally .gz), Parquet (.parquet .pq), "
    "Excel (.xlsx), JSON (.json .jsonl .ndjson)"
)
GZIP_MAGIC = b"\x1f\x8b"
MAGIC = {
    b"PAR1": "a Parquet file",
    b"PK\x03\x04": "a zip archive (an .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook",
}
_FIELDS_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


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
        ``"csv"``, ``"tsv"``, ``"parquet"``, ``"excel"``, ``"json"`` or ``"jsonl"``.
    encoding : str or None
        Text encoding used (``"utf-8"``, ``"utf-8-sig"``, ``"cp1252"``, ...); None for
        binary formats.
    delimiter : str or None
        Field delimiter of delimited text; None otherwise.
    rows, columns : int
        Shape of the table read.
    """

    path: str
    name: str
    format: str
    encoding: str | None
    delimiter: str | None
    rows: int
    columns: int

    def to_dict(self) -> dict:
        """The source as plain JSON-able values."""
        return dataclasses.asdict(self)


def read_table(path: str | os.PathLike) -> tuple[pd.DataFrame, TableSource]:
    """Read a customer table from a file.

    The format follows the extension (case-insensitive); a file with an unknown extension
    is read as delimited text when it looks like one.

    Parameters
    ----------
    path : str or path-like
        A ``.csv``/``.tsv``/``.txt``/``.dat`` file (optionally gzip-compressed),
        ``.parquet``/``.pq``, ``.xlsx``, ``.json`` (array of records or a pandas layout)
        or ``.jsonl``/``.ndjson``.

    Returns
    -------
    table : pandas.DataFrame
        The table, with surrounding whitespace stripped from column names. Text columns
        are all strings and blank cells are ``""``.
    source : TableSource
        What was read: format, encoding, delimiter and shape.

    Raises
    ------
    InputError
        If the file is missing, empty, not a table, has duplicate column names, a header
        but no rows, or rows with more fields than the header.

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
    file = _existing_file(path)
    head, compressed = _read_head(file)
    kind = _kind_from_suffix(file) or _sniff_kind(file, head)
    table, fmt, encoding, delimiter = _READERS[kind](file, head, compressed)
    table = _checked_shape(file, table)
    source = TableSource(
        path=str(path),
        name=file.name,
        format=fmt,
        encoding=encoding,
        delimiter=delimiter,
        rows=int(table.shape[0]),
        columns=int(table.shape[1]),
    )
    return table, source


def read_columns(path: str | os.PathLike) -> list[str]:
    """Column names of a table file without reading its rows (where the format allows).

    A glob such as ``"daily/*.csv"`` reads the header of its first file in name order.
    """
    path = str(path)
    if any(char in path for char in "*?["):
        matches = sorted(glob.glob(path))
        if not matches:
            raise InputError(f"no file matches {path}")
        path = matches[0]
    file = _existing_file(path)
    head, compressed = _read_head(file)
    kind = _kind_from_suffix(file) or _sniff_kind(file, head)
    if kind == "text":
        encoding = _encoding_of(head)
        _refuse_binary(file, head, encoding)
        text = _sample_text(head, encoding, truncated=len(head) == SAMPLE_BYTES)
        return _text_header(file, text, _choose_delimiter(text))[0]
    if kind == "parquet" and not compressed:
        import pyarrow.parquet as pq

        try:
            return _clean_names(file, pq.read_schema(file).names)
        except (OSError, ValueError) as exc:
            raise InputError(f"{file} is not a valid Parquet file: {exc}") from None
    return list(read_table(file)[0].columns)


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


def _read_text(file: Path, head: bytes, compressed: bool) -> tuple[pd.DataFrame, str, str, str]:
    encoding = _encoding_of(head)
    _refuse_binary(file, head, encoding)
    truncated = len(head) == SAMPLE_BYTES
    text = _sample_text(head, encoding, truncated=truncated)
    if not text.strip() and not truncated:
        raise InputError(f"{file} is empty (only whitespace)")
    delimiter = _choose_delimiter(text)
    names, extra = _text_header(file, text, delimiter)
    table, encoding = _read_delimited(file, (names, extra), delimiter, encoding, compressed)
    table = _drop_empty_extra(file, table, extra)
    fmt = "tsv" if delimiter == "\t" else "csv"
    return table, fmt, encoding, delimiter


def _text_header(file: Path, text: str, delimiter: str) -> tuple[list[str], list[str]]:
    """Clean header names, plus placeholder names for empty trailing fields in the sample.

    A row of the sample with more non-empty fields than the header is refused here, so that
    pandas never silently shifts or drops it.
    """
    rows = _sample_rows(text, delimiter, limit=10_000)
    if not rows:
        raise InputError(f"{file} is empty (only whitespace)")
    names = _clean_names(file, rows[0][1])
    widest = len(names)
    for line, fields in rows[1:]:
        if len(fields) > len(names):
            if any(field.strip() for field in fields[len(names):]):
                raise _too_many_fields(file, line, len(fields), len(names))
            widest = max(widest, len(fields))
    extra = [f"__extra_{i}" for i in range(widest - len(names))]
    return names, extra


def _too_many_fields(file: Path, line: int, seen: int, expected: int) -> InputError:
    return InputError(
        f"{file} line {line} has {seen} fields but the header has {expected}; "
        f"check the delimiter and quoting"
    )


def _read_delimited(
    file: Path, names: tuple[list[str], list[str]], delimiter: str, encoding: str, compressed: bool
) -> tuple[pd.DataFrame, str]:
    """The full read with the C engine, retrying the next encoding on a decoding error.

    ``names`` holds the header names and the placeholder names of empty trailing fields.
    """
    *first, last = _fallback_encodings(encoding)
    for tried in first:
        try:
            return _pandas_read_csv(file, names, delimiter, tried, compressed), tried
        except UnicodeDecodeError:
            continue
    try:
        return _pandas_read_csv(file, names, delimiter, last, compressed), last
    except UnicodeDecodeError as exc:
        raise InputError(f"{file} is not valid {last} text: {exc.reason} at byte {exc.start}") from None


def _pandas_read_csv(
    file: Path, names: tuple[list[str], list[str]], delimiter: str, encoding: str, compressed: bool
) -> pd.DataFrame:
    header, extra = names
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            return pd.read_csv(
                file,
                sep=delimiter,
                header=0,
                names=header + extra,
                index_col=False,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                encoding=encoding,
                compression="gzip" if compressed else None,
                engine="c",
                quotechar='"',
            )
    except pd.errors.EmptyDataError:
        raise InputError(f"{file} is empty (only whitespace)") from None
    except pd.errors.ParserError as exc:
        raise _parser_error(file, exc, len(header)) from None
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InputError(f"{file} is not a valid gzip file: {exc}") from None


def _parser_error(file: Path, exc: pd.errors.ParserError, width: int) -> InputError:
    message = str(exc).strip()
    found = _FIELDS_ERROR.search(message)
    if found:
        _, line, seen = (int(g) for g in found.groups())
        return _too_many_fields(file, line, seen, width)
    detail = message.splitlines()[0].replace("Error tokenizing data. C error: ", "")
    return InputError(f"{file} could not be parsed as delimited text: {detail}")


def _drop_empty_extra(file: Path, table: pd.DataFrame, extra: list[str]) -> pd.DataFrame:
    """Remove the columns of empty trailing fields; refuse them if any holds a value."""
    if not extra:
        return table
    filled = (table[extra] != "").any(axis=1).to_numpy()
    if filled.any():
        row = int(filled.argmax())
        raise InputError(
            f"{file} data row {row + 1} has more fields than the header "
            f"({table.shape[1] - len(extra)} columns)"
        )
    return table.drop(columns=extra)


# --------------------------------------------------------------------------- parquet


def _read_parquet(file: Path, head: bytes, compressed: bool) -> tuple[pd.DataFrame, str, None, None]:
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
    return table, "parquet", None, None


# --------------------------------------------------------------------------- excel


def _read_excel(file: Path, head: bytes, compressed: bool) -> tuple[pd.DataFrame, str, None, None]:
    from openpyxl.utils.exceptions import InvalidFileException

    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(f"{file} is an old Excel .xls workbook; save it as .xlsx or CSV")
    try:
        with open(file, "rb") as handle:
            skipped, header = _excel_header(handle)
            handle.seek(0)
            table = pd.read_excel(
                handle, sheet_name=0, header=skipped, dtype=object, engine="openpyxl"
            )
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError, EOFError) as exc:
        detail = str(exc).strip("'\"") or type(exc).__name__
        raise InputError(f"{file} could not be read as Excel (.xlsx): {detail}") from None
    names = _clean_names(file, header)
    if len(names) == table.shape[1]:
        table.columns = names
    else:
        table.columns = _clean_names(file, list(table.columns))
    # dtype=object keeps text cells such as "0001" as typed; numbers regain their dtype here.
    table = table.dropna(how="all").reset_index(drop=True).infer_objects()
    return table, "excel", None, None


def _excel_header(handle) -> tuple[int, list]:
    """Blank rows above the header, and the header cells without trailing blanks.

    Only the first sheet is read, and only up to its first non-empty row.
    """
    import openpyxl

    book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    try:
        for skipped, row in enumerate(book.worksheets[0].iter_rows(values_only=True)):
            cells = list(row)
            if any(_filled(cell) for cell in cells):
                while not _filled(cells[-1]):
                    cells.pop()
                return skipped, cells
        return 0, []
    finally:
        book.close()


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


def _read_json(file: Path, head: bytes, compressed: bool) -> tuple[pd.DataFrame, str, str, None]:
    _refuse_binary(file, head, _encoding_of(head))
    data = _json_bytes(file, compressed)
    if not data.strip():
        raise InputError(f"{file} is empty (only whitespace)")
    try:
        parsed = _loads(file, data)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return _read_jsonl(file, head, compressed)
        raise InputError(f"{file} is not valid JSON: {exc}") from None
    try:
        table = _frame_from_json(file, parsed)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{file}: JSON does not form a table: {exc}") from None
    table.columns = _clean_names(file, list(table.columns))
    return table, "json", "utf-8", None


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


def _read_jsonl(file: Path, head: bytes, compressed: bool) -> tuple[pd.DataFrame, str, str, None]:
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
    return table, "jsonl", "utf-8", None


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
