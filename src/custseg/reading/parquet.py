"""Parquet files: read with their types, and their column names from the schema alone."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError
from .files import clean_names
from .source import ReadDetails, ReadOptions

__all__ = ["parquet_columns", "read_parquet"]


def read_parquet(file: Path, head: bytes, compressed: bool, options: ReadOptions) -> tuple[pd.DataFrame, ReadDetails]:
    """The table of a Parquet file, with its types; a non-default index becomes columns.

    ``head``, ``compressed`` and ``options`` are those every reader takes (see
    `custseg.reading.tables.read_table`); Parquet needs none of them.
    """
    import pyarrow
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(file).names
        clean_names(file, names)
        table = pq.read_table(file).to_pandas()
    except (pyarrow.ArrowException, OSError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{file} could not be read as Parquet: {detail}") from None
    if not isinstance(table.index, pd.RangeIndex):
        table = table.reset_index()
    table.columns = clean_names(file, list(table.columns))
    return table, ReadDetails("parquet")


def parquet_columns(file: Path) -> list[str]:
    """Column names of a Parquet file, from its schema (no rows are read).

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "t.parquet"
    ...     pd.DataFrame({"id": [1], " spend ": [2.5]}).to_parquet(path)
    ...     parquet_columns(path)
    ['id', 'spend']
    """
    import pyarrow.parquet as pq

    try:
        return clean_names(file, pq.read_schema(file).names)
    except (OSError, ValueError) as exc:
        raise InputError(f"{file} is not a valid Parquet file: {exc}") from None
