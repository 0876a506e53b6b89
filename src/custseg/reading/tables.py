"""Read a customer table from a file, robustly, into a pandas DataFrame: `read_table`, and
`read_columns` for the header alone.

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

import glob
import os
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .archives import archive_kind, unpacked
from .excel import read_excel
from .files import checked_shape, existing_file, kind_from_suffix, read_head, sniff_kind
from .json_files import read_json, read_jsonl
from .parquet import parquet_columns, read_parquet
from .source import HEADER_CHOICES, ReadDetails, ReadOptions, TableSource
from .text import read_text, text_layout

__all__ = ["read_columns", "read_table"]

_READERS = {
    "text": read_text,
    "parquet": read_parquet,
    "excel": read_excel,
    "json": read_json,
    "jsonl": read_jsonl,
}


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
    file = existing_file(path)
    if archive_kind(file) is None:
        _refuse_member(file, options)
        table, found = _read_file(file, options)
        return table, _table_source(str(path), file.name, table, found, None)
    with unpacked(file, options.member) as (inner, member):
        table, found = _read_file(inner, options)
    return table, _table_source(str(path), file.name, table, found, member)


def _read_file(file: Path, options: ReadOptions) -> tuple[pd.DataFrame, ReadDetails]:
    head, compressed = read_head(file)
    kind = kind_from_suffix(file) or sniff_kind(file, head)
    if options.sheet is not None and kind != "excel":
        raise InputError(f"--sheet applies to Excel workbooks; {file} is not one")
    table, found = _READERS[kind](file, head, compressed, options)
    return checked_shape(file, table), found


def _table_source(path: str, name: str, table: pd.DataFrame, found: ReadDetails, member: str | None) -> TableSource:
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

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = (Path(folder) / "2024-01.csv").write_text("id;spend\\n1;2\\n")
    ...     read_columns(Path(folder) / "*.csv")
    ['id', 'spend']
    """
    options = _checked_options(options)
    path = str(path)
    if any(char in path for char in "*?["):
        matches = sorted(glob.glob(path))
        if not matches:
            raise InputError(f"no file matches {path}")
        path = matches[0]
    file = existing_file(path)
    if archive_kind(file) is not None:
        with unpacked(file, options.member) as (inner, _):
            return _file_columns(inner, options)
    _refuse_member(file, options)
    return _file_columns(file, options)


def _file_columns(file: Path, options: ReadOptions) -> list[str]:
    head, compressed = read_head(file)
    kind = kind_from_suffix(file) or sniff_kind(file, head)
    if kind == "text" and options.sheet is None:
        return text_layout(file, head, options.header).names
    if kind == "parquet" and not compressed and options.sheet is None:
        return parquet_columns(file)
    return list(_read_file(file, options)[0].columns)
