"""The files a transaction log names and what they hold, for both engines: the files of a
path or glob, each file's kind (text, Parquet, Excel, ...), the layout of a text file, and
its encoding under DuckDB's name.

Both engines read the same files the same way: the local engine with DuckDB
(`custseg.logs.duckdb_engine`), the Spark engine with Spark's readers
(`custseg.engines.spark.transactions`).
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from ..errors import InputError
from ..reading import kind_from_suffix, read_head, sniff_kind, text_layout

__all__ = ["csv_layout", "duckdb_encoding", "file_kind", "input_files"]


def input_files(path: str) -> list[str]:
    """The files of ``path``: every file a glob (``"daily/*.csv"``) matches, sorted, or the
    one file it names.

    Raises
    ------
    InputError
        If no file matches, or the file does not exist, is a directory or is empty.

    Examples
    --------
    >>> input_files("no/such/*.csv")
    Traceback (most recent call last):
    ...
    custseg.errors.InputError: no file matches no/such/*.csv
    """
    if any(char in path for char in "*?["):
        matches = sorted(p for p in glob.glob(path) if os.path.isfile(p))
        if not matches:
            raise InputError(f"no file matches {path}")
        return matches
    if not os.path.exists(path):
        raise InputError(f"file not found: {path}")
    if os.path.isdir(path):
        raise InputError(f"{path} is a directory, not a file")
    if os.path.getsize(path) == 0:
        raise InputError(f"{path} is empty (0 bytes)")
    return [path]


def file_kind(file: str) -> tuple[str, bool]:
    """The kind of a file (``"text"``, ``"parquet"``, ``"excel"``, ...), by its name or first
    bytes as `custseg.reading` tells them, and whether it is gzip-compressed."""
    head, compressed = read_head(Path(file))
    kind = kind_from_suffix(Path(file)) or sniff_kind(Path(file), head)
    if head.startswith(b"PAR1"):
        kind = "parquet"
    return kind, compressed


def csv_layout(file: str, header: str = "auto"):
    """The `custseg.reading.TextLayout` of a text file, as `custseg.reading` sees it (names
    stripped; empty trailing fields named ``__extra_N``)."""
    head, _ = read_head(Path(file))
    return text_layout(Path(file), head, header)


def duckdb_encoding(encoding: str) -> str:
    """The name DuckDB's ``read_csv`` takes for an encoding that `custseg.reading` finds.

    Examples
    --------
    >>> duckdb_encoding("utf-8-sig"), duckdb_encoding("cp1252")
    ('utf-8', 'latin-1')
    """
    return {"utf-8": "utf-8", "utf-8-sig": "utf-8", "utf-16": "utf-16"}.get(encoding, "latin-1")
