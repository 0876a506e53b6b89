"""What to read and what was read: the reading options, the source of a table for the report,
and what a format reader found besides the table."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["HEADER_CHOICES", "ReadDetails", "ReadOptions", "TableSource"]

HEADER_CHOICES = ("auto", "yes", "no")


@dataclass(frozen=True)
class ReadOptions:
    """How to read a file, where it holds more than one table or its layout is unclear.

    Parameters
    ----------
    sheet : str or None
        Workbook sheet to read; None reads every sheet whose header matches the first one.
    member : str or None
        Table inside a ``.zip`` or ``.tar`` archive; None reads the only one.
    header : {"auto", "yes", "no"}
        Whether the first row of a text file or sheet holds the column names; ``auto``
        decides from the rows under it.
    date_format : str or None
        Format of the order dates of a transaction log (``%d/%m/%Y`` or ``dd/mm/yyyy``, see
        `custseg.reading.dates.strftime_pattern`); None decides from the values. (A customer table's dates are parsed when it is cleaned.)
    """

    sheet: str | None = None
    member: str | None = None
    header: str = "auto"
    date_format: str | None = None

    @classmethod
    def from_settings(cls, settings) -> "ReadOptions":
        """The reading options of a `custseg.settings.Settings`."""
        return cls(sheet=settings.sheet, member=settings.member, header=settings.header,
                   date_format=settings.date_format)


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
        ``"csv"``, ``"tsv"``, ``"text"`` (whitespace-aligned or fixed-width), ``"parquet"``,
        ``"excel"``, ``"json"`` or ``"jsonl"``.
    encoding : str or None
        Text encoding used (``"utf-8"``, ``"utf-8-sig"``, ``"cp1252"``, ...); None for
        binary formats.
    delimiter : str or None
        Field delimiter of delimited text; None otherwise.
    rows, columns : int
        Shape of the table read.
    layout : str or None
        Text layout: ``"delimited"``, ``"whitespace"`` or ``"fixed-width"``; None otherwise.
    header : bool
        Whether the first row held the column names (False: named ``column_1..n``).
    member : str or None
        The archive member read, for a ``.zip`` or ``.tar`` input.
    sheets : list of str or None
        The workbook sheets read (stacked in this order).
    sheet_column : str or None
        Column holding each row's sheet, when more than one sheet was stacked.
    not_read : list of dict
        Parts of the file not read: ``{"sheet", "rows", "reason"}`` per sheet.
    """

    path: str
    name: str
    format: str
    encoding: str | None
    delimiter: str | None
    rows: int
    columns: int
    layout: str | None = None
    header: bool = True
    member: str | None = None
    sheets: list[str] | None = None
    sheet_column: str | None = None
    not_read: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The source as plain JSON-able values."""
        return dataclasses.asdict(self)


@dataclass
class ReadDetails:
    """What a format reader found besides the table: the `TableSource` fields it knows."""

    format: str
    encoding: str | None = None
    delimiter: str | None = None
    layout: str | None = None
    header: bool = True
    sheets: list[str] | None = None
    sheet_column: str | None = None
    not_read: list[dict] = field(default_factory=list)
