"""Writing a generated (or any) table to a file, atomically, in the format its extension names."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pandas as pd

from ..errors import InputError

__all__ = ["WRITE_FORMATS", "write_table"]

WRITE_FORMATS = (".csv", ".tsv", ".parquet", ".xlsx", ".json")


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` to ``path`` in the format its extension names, atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; its index is not written.
    path : str or path-like
        Target file ending in ``.csv``, ``.tsv``, ``.parquet``, ``.xlsx`` or ``.json``
        (an array of records). The table is written to a temporary file in the same folder
        and moved into place, so an interrupted write leaves no partial file.

    Raises
    ------
    InputError
        If the extension is not one of these or a file stands where a folder should be.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_table(pd.DataFrame({"id": ["0001"], "spend": [2.5]}), Path(folder) / "out" / "t.csv")
    ...     (Path(folder) / "out" / "t.csv").read_text()
    'id,spend\\n0001,2.5\\n'
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise InputError(
            f"cannot write {target}: unknown extension {suffix or '(none)'!r}; "
            f"use one of {', '.join(WRITE_FORMATS)}"
        )
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"cannot write {target}: {folder} is not a folder") from None
    temp = _reserve_temp(folder, target.name, suffix)
    try:
        _write_by_format(df, temp, suffix)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _reserve_temp(folder: Path, name: str, suffix: str) -> str:
    """Create an empty, uniquely named file next to the target (permissions follow umask)."""
    for _ in range(100):
        temp = folder / f".{name}.{secrets.token_hex(6)}.tmp{suffix}"
        try:
            os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return str(temp)
    raise FileExistsError(f"no free temporary name in {folder}")


def _write_by_format(df: pd.DataFrame, temp: str, suffix: str) -> None:
    if suffix == ".csv":
        df.to_csv(temp, index=False)
    elif suffix == ".tsv":
        df.to_csv(temp, index=False, sep="\t")
    elif suffix == ".parquet":
        df.to_parquet(temp, index=False, engine="pyarrow")
    elif suffix == ".xlsx":
        df.to_excel(temp, index=False, engine="openpyxl")
    else:
        df.to_json(temp, orient="records", force_ascii=False, indent=None)
