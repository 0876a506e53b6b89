"""Reading: files of every kind (CSV/TSV/TXT, Parquet, Excel, JSON, archives) into one table,
with what was read and how (delimiter, encoding, header, sheets), and dates parsed.

Modules, each importing only those above it:

- `custseg.reading.dialect`: the encoding and delimiter of delimited text, from a sample;
- `custseg.reading.files`: a file's first bytes, its kind (by extension or sniffed), and the
  checks every reader shares;
- `custseg.reading.source`: `ReadOptions` (what to read) and `TableSource` (what was read);
- `custseg.reading.archives`: the table inside a ``.zip`` or ``.tar`` archive;
- `custseg.reading.text`, `custseg.reading.excel`, `custseg.reading.parquet`,
  `custseg.reading.json_files`: one reader per format;
- `custseg.reading.tables`: `read_table` and `read_columns`, which choose the reader;
- `custseg.reading.names` and `custseg.reading.dates`: column names as keys, and the dates
  that become ``age`` and ``tenure_days``.

The names other rooms use are re-exported here (defined in the modules above):
`read_table`, `read_columns`, `ReadOptions`, `TableSource`, `TextLayout`, `text_layout`,
`text_names`, `first_row_is_header`, `archive_kind`, `unpacked`, `read_head`,
`kind_from_suffix`, `sniff_kind`, `choose_delimiter` and `sample_rows`.
"""

from .archives import archive_kind, unpacked
from .dialect import choose_delimiter, sample_rows
from .files import kind_from_suffix, read_head, sniff_kind
from .source import ReadOptions, TableSource
from .tables import read_columns, read_table
from .text import TextLayout, first_row_is_header, text_layout, text_names

__all__ = [
    "ReadOptions",
    "TableSource",
    "TextLayout",
    "archive_kind",
    "choose_delimiter",
    "first_row_is_header",
    "kind_from_suffix",
    "read_columns",
    "read_head",
    "read_table",
    "sample_rows",
    "sniff_kind",
    "text_layout",
    "text_names",
    "unpacked",
]
