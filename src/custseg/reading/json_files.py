"""JSON files: an array of records, a pandas layout (split, table, columns or index), or JSON
Lines (one record per line); duplicate keys are refused."""

from __future__ import annotations

import gzip
import json
import zlib
from collections import Counter
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .dialect import encoding_of
from .files import clean_names, refuse_binary
from .source import ReadDetails, ReadOptions

__all__ = ["read_json", "read_jsonl"]


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


def read_json(file: Path, head: bytes, compressed: bool, options: ReadOptions) -> tuple[pd.DataFrame, ReadDetails]:
    """The table of a JSON file (optionally gzip-compressed): records or a pandas layout.

    A file with several JSON values one after another is read as JSON Lines (`read_jsonl`).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "t.json"
    ...     _ = path.write_text('[{"id": "0001", "spend": 2.5}]')
    ...     table, found = read_json(path, path.read_bytes(), False, ReadOptions())
    >>> table.to_dict("list"), found.format
    ({'id': ['0001'], 'spend': [2.5]}, 'json')
    """
    refuse_binary(file, head, encoding_of(head))
    data = _json_bytes(file, compressed)
    if not data.strip():
        raise InputError(f"{file} is empty (only whitespace)")
    try:
        parsed = _loads(file, data)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            return read_jsonl(file, head, compressed, options)
        raise InputError(f"{file} is not valid JSON: {exc}") from None
    try:
        table = _frame_from_json(file, parsed)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{file}: JSON does not form a table: {exc}") from None
    table.columns = clean_names(file, list(table.columns))
    return table, ReadDetails("json", "utf-8")


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


def read_jsonl(file: Path, head: bytes, compressed: bool, options: ReadOptions) -> tuple[pd.DataFrame, ReadDetails]:
    """The table of a JSON Lines file: one record (object) per non-blank line."""
    refuse_binary(file, head, encoding_of(head))
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
    table.columns = clean_names(file, list(table.columns))
    return table, ReadDetails("jsonl", "utf-8")
