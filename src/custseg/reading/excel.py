"""Excel workbooks (.xlsx): every sheet whose header matches the first sheet's, stacked, with
the sheet's name in a column ``sheet``; the other sheets listed with their row counts."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import InputError
from .files import clean_names, listed
from .names import headerless_names
from .source import ReadDetails, ReadOptions
from .text import first_row_is_header

__all__ = ["SHEET_SAMPLE", "read_excel"]

#: Rows of each sheet read to decide whether its first row is a header.
SHEET_SAMPLE = 200
_EXCEL_ERRORS = (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError)


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
            return clean_names(file, self.first)
        width = max([len(self.first), *(len(row) for row in self.sample)])
        return headerless_names(width)


def read_excel(file: Path, head: bytes, compressed: bool, options: ReadOptions) -> tuple[pd.DataFrame, ReadDetails]:
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
    found = ReadDetails("excel", header=all(s.header for s in chosen) if chosen else True,
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
    shown = ", ".join(repr(s.name) for s in sheets)
    raise InputError(f"--sheet {wanted!r} is not in {file}; its sheets are: {shown}")


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
        parts.append("lacks " + listed(missing, 5))
    if extra:
        parts.append("adds " + listed(extra, 5))
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
            table.columns = clean_names(file, list(table.columns))
        else:
            table.columns = headerless_names(table.shape[1])
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
