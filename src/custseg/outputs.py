"""Writing outputs safely: atomic files, spreadsheet-safe CSV cells, deterministic JSON."""

from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

#: A text cell starting with one of these is run as a formula by spreadsheet programs.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def write_atomic(path: str | os.PathLike, content: str | bytes) -> Path:
    """Write ``content`` to ``path`` through a temporary file and a rename.

    An interrupted run leaves either the old file or the new one, never half of one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(content, bytes) else "w"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": ""})) as out:
            out.write(content)
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


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
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(safe_cell)
    safe.columns = [safe_cell(str(c)) for c in safe.columns]
    # The csv module quotes only the characters of the line terminator, so a bare "\r" in
    # a cell would be written unquoted and split the row: what follows it would start a
    # new, unneutralised cell. Quote every text field when any text holds a "\r".
    texts = [str(c) for c in safe.columns] + [
        v for c in safe.columns if not pd.api.types.is_numeric_dtype(safe[c])
        for v in safe[c] if isinstance(v, str)
    ]
    quoting = csv.QUOTE_NONNUMERIC if any("\r" in v for v in texts) else csv.QUOTE_MINIMAL
    return safe.to_csv(index=False, lineterminator="\n", quoting=quoting)


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
