"""Writing outputs safely: atomic files, spreadsheet-safe CSV cells, deterministic JSON."""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

#: A text cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Rows per block when a CSV is streamed to disk: bounds the text built at any one time.
CSV_CHUNK = 100_000


def write_atomic(path: str | os.PathLike, content: str | bytes) -> Path:
    """Write ``content`` to ``path`` through a temporary file and a rename.

    An interrupted run leaves either the old file or the new one, never half of one.
    """
    with atomic_file(path, binary=isinstance(content, bytes)) as out:
        out.write(content)
    return Path(path)


@contextmanager
def atomic_file(path: str | os.PathLike, binary: bool = False):
    """Open a temporary file next to ``path``; rename it to ``path`` when the block ends.

    Text is written as UTF-8 with no newline translation. If the block raises, the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as out:
            yield out
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process umask (read without changing it for long)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def safe_cell(value):
    """Neutralise a text cell that a spreadsheet would run as a formula.

    Text starting with ``= + - @``, a tab or a carriage return gets a leading apostrophe,
    unless it is a plain number (``-3.5`` stays a number).
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def csv_text(frame: pd.DataFrame) -> str:
    """CSV of ``frame`` (no index, ``\\n`` line ends) with every text cell made safe."""
    safe, quoting = spreadsheet_safe(frame)
    return safe.to_csv(index=False, lineterminator="\n", quoting=quoting)


def write_csv(path: str | os.PathLike, frame: pd.DataFrame, chunksize: int = CSV_CHUNK) -> Path:
    """Write ``csv_text(frame)`` to ``path`` atomically, streamed in blocks of rows.

    The bytes are those of `csv_text`; the whole text is never held in memory. A frame
    with date or duration columns is written in one block: pandas picks their format
    (e.g. whether to show the time) from the values of each block.
    """
    safe, quoting = spreadsheet_safe(frame)
    if any(_formatted_per_block(dtype) for dtype in frame.dtypes):
        chunksize = max(len(frame), 1)
    with atomic_file(path) as out:
        safe.to_csv(out, index=False, lineterminator="\n", quoting=quoting, chunksize=chunksize)
    return Path(path)


def _formatted_per_block(dtype) -> bool:
    """Whether pandas formats a column of this type differently depending on its values."""
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    return pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype)


def spreadsheet_safe(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """``frame`` with every text cell and header passed through `safe_cell`, and the
    ``csv`` quoting to write it with.

    The csv module quotes only the characters of the line terminator, so a bare "\\r" in
    a cell would be written unquoted and split the row: what follows it would start a
    new, unneutralised cell. Every text field is quoted when any text holds a "\\r".
    Only the cells that start like a formula go through Python one by one; categorical
    columns are neutralised once per category.
    """
    safe = frame.copy(deep=False)
    carriage_return = False
    for position, column in enumerate(frame.columns):
        values = frame.iloc[:, position]
        if pd.api.types.is_numeric_dtype(values):
            continue
        values = values.map(safe_cell) if isinstance(values.dtype, pd.CategoricalDtype) else _safe_text(values)
        safe.isetitem(position, values)
        carriage_return = carriage_return or _holds_carriage_return(values)
    safe.columns = [safe_cell(str(c)) for c in frame.columns]
    carriage_return = carriage_return or any("\r" in c for c in safe.columns)
    return safe, csv.QUOTE_NONNUMERIC if carriage_return else csv.QUOTE_MINIMAL


def _text_test(values: pd.Series, test) -> np.ndarray:
    """``test(values.str)`` as a bool array: False for cells that are not text."""
    try:
        found = test(values.str)
    except AttributeError:          # no text at all (e.g. an object column of numbers)
        return np.zeros(len(values), dtype=bool)
    return found.to_numpy(dtype=object, na_value=False).astype(bool)


def _safe_text(values: pd.Series) -> pd.Series:
    """`safe_cell` of every cell, calling it only on the cells that start like a formula."""
    suspect = _text_test(values, lambda text: text.startswith(FORMULA_PREFIXES))
    if not suspect.any():
        return values
    values = values.copy()
    values[suspect] = [safe_cell(v) for v in values[suspect]]
    return values


def _holds_carriage_return(values: pd.Series) -> bool:
    """Whether any text cell of ``values`` holds a "\\r"."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        categories = pd.Series(values.cat.categories)
        holding = np.flatnonzero(_text_test(categories, lambda text: text.contains("\r", regex=False)))
        return bool(holding.size) and bool(np.isin(values.cat.codes.to_numpy(), holding).any())
    return bool(_text_test(values, lambda text: text.contains("\r", regex=False)).any())


def plain(value, digits: int = 6):
    """Recursively convert to JSON-able values; floats rounded to ``digits`` significant
    digits and non-finite floats turned into None."""
    if isinstance(value, dict):
        return {str(k): plain(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, digits) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist(), digits)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}")
    return value


def json_text(data) -> str:
    """Deterministic, readable JSON (key order as built, two-space indent, UTF-8)."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
