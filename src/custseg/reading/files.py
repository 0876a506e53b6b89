"""A table file before its format is read: that it exists, its first bytes (gunzipped), its
kind by extension or by sniffing, and the checks every reader shares (clean header names,
a table with rows and columns, one-line lists for messages)."""

from __future__ import annotations

import gzip
import os
import zlib
from collections import Counter
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .dialect import choose_delimiter, encoding_of, looks_delimited, sample_text

__all__ = [
    "KINDS", "SAMPLE_BYTES", "SUPPORTED", "checked_shape", "clean_names", "existing_file",
    "kind_from_suffix", "listed", "read_head", "refuse_binary", "sniff_kind",
]

#: Bytes read from the start of a file (after gunzipping) to find its kind and layout.
SAMPLE_BYTES = 64 * 1024
TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".dat")
PARQUET_SUFFIXES = (".parquet", ".pq")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
JSON_SUFFIXES = (".json",)
JSONL_SUFFIXES = (".jsonl", ".ndjson")
SUPPORTED = (
    "delimited, whitespace-aligned or fixed-width text (.csv .tsv .txt .dat, optionally .gz), "
    "Parquet (.parquet .pq), Excel (.xlsx), JSON (.json .jsonl .ndjson), "
    "and a .zip or .tar archive holding one of these"
)
GZIP_MAGIC = b"\x1f\x8b"
#: First bytes of binary files, to say what a file that is not text looks like.
MAGIC = {
    b"PAR1": "a Parquet file",
    b"PK\x03\x04": "a zip archive (an .xlsx workbook?)",
    b"\xd0\xcf\x11\xe0": "an old Excel .xls workbook",
}

#: Extensions of each kind of table (looked up through ``.gz``).
KINDS = {
    "text": TEXT_SUFFIXES,
    "parquet": PARQUET_SUFFIXES,
    "excel": EXCEL_SUFFIXES,
    "json": JSON_SUFFIXES,
    "jsonl": JSONL_SUFFIXES,
}


def existing_file(path: str | os.PathLike) -> Path:
    """``path`` as a Path, refused unless it is a non-empty file."""
    file = Path(path)
    if not file.exists():
        raise InputError(f"file not found: {path}")
    if file.is_dir():
        raise InputError(f"{path} is a directory, not a file")
    if file.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes)")
    return file


def read_head(file: Path) -> tuple[bytes, bool]:
    """First `SAMPLE_BYTES` bytes of the file (decompressed if it is gzip) and whether it was gzip.

    Examples
    --------
    >>> import gzip, tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "t.csv.gz"
    ...     _ = path.write_bytes(gzip.compress(b"id,spend\\n1,2\\n"))
    ...     read_head(path)
    (b'id,spend\\n1,2\\n', True)
    """
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


def kind_from_suffix(file: Path) -> str | None:
    """Kind of table the extension names (looking through ``.gz``), or None.

    Examples
    --------
    >>> kind_from_suffix(Path("Orders.CSV.gz")), kind_from_suffix(Path("a.pq")), kind_from_suffix(Path("a.bin"))
    ('text', 'parquet', None)
    """
    name = file.name.lower()
    compressed = name.endswith(".gz")
    suffix = Path(name[:-3] if compressed else name).suffix
    for kind, suffixes in KINDS.items():
        if suffix in suffixes:
            return kind
    return "text" if compressed else None


def sniff_kind(file: Path, head: bytes) -> str:
    """Kind of a file whose extension says nothing: by magic bytes, else delimited text.

    Raises `InputError` when it is none of the kinds custseg reads.

    Examples
    --------
    >>> sniff_kind(Path("export"), b"PAR1..."), sniff_kind(Path("export"), b"id;spend\\n1;2\\n2;3\\n")
    ('parquet', 'text')
    """
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "excel"
    if b"\x00" not in head:
        text = sample_text(head, encoding_of(head), truncated=len(head) == SAMPLE_BYTES)
        if text.lstrip().startswith(("[", "{")):
            return "json"
        if looks_delimited(text, choose_delimiter(text)):
            return "text"
    raise InputError(
        f"{file}: unrecognised format {file.suffix or '(no extension)'!r}; "
        f"supported: {SUPPORTED}"
    )


def checked_shape(file: Path, table: pd.DataFrame) -> pd.DataFrame:
    """``table``, refused when it has no columns or no rows."""
    if table.shape[1] == 0:
        raise InputError(f"{file} is empty (no columns)")
    if table.shape[0] == 0:
        raise InputError(f"{file} has a header ({table.shape[1]} columns) but no data rows")
    return table


def clean_names(file: Path, names: list) -> list[str]:
    """Header names stripped of whitespace; blanks named like pandas; duplicates refused.

    Examples
    --------
    >>> clean_names(Path("t.csv"), [" id ", None, "spend"])
    ['id', 'Unnamed: 1', 'spend']
    """
    clean = [
        f"Unnamed: {i}" if name is None or str(name).strip() == "" else str(name).strip()
        for i, name in enumerate(names)
    ]
    repeated = [name for name, count in Counter(clean).items() if count > 1]
    if repeated:
        shown = ", ".join(repr(name) for name in repeated)
        raise InputError(f"{file} has duplicate column names: {shown}")
    return clean


def refuse_binary(file: Path, head: bytes, encoding: str) -> None:
    """Refuse a file whose first bytes hold NUL bytes (outside UTF-16), naming what it looks like."""
    if encoding == "utf-16" or b"\x00" not in head:
        return
    looks = next((what for magic, what in MAGIC.items() if head.startswith(magic)), None)
    detail = f"it looks like {looks}" if looks else "it contains binary (NUL) bytes"
    raise InputError(f"{file} is not a text table: {detail}")


def listed(names: list[str], limit: int = 10) -> str:
    """The first ``limit`` names, comma-separated, for a one-line message.

    Examples
    --------
    >>> listed(["a", "b", "c"], 2)
    'a, b, ... (3 in all)'
    """
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
