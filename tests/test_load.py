"""Tests for custseg.reading (read_table): formats, encodings, delimiters, and one-line errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from custseg.errors import InputError
from custseg.sampledata import generate_customers, write_table
from custseg.reading import TableSource, read_table

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _error(path) -> str:
    with pytest.raises(InputError) as caught:
        read_table(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def _real(name: str) -> Path:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"real data file {path} is not available")
    return path


# --------------------------------------------------------------------------- text


def test_semicolon_latin1_with_accents(tmp_path):
    text = "nom;ville;âge\r\nÉlise;Orléans;34\r\nJosé;Besançon;\r\n"
    path = _write(tmp_path, "clients.csv", text.encode("latin-1"))
    table, source = read_table(path)
    assert list(table.columns) == ["nom", "ville", "âge"]
    assert table.to_dict("list") == {
        "nom": ["Élise", "José"],
        "ville": ["Orléans", "Besançon"],
        "âge": ["34", ""],
    }
    assert source.delimiter == ";"
    assert source.encoding in ("cp1252", "latin-1")
    assert source.format == "csv"


def test_latin1_byte_after_the_sample_falls_back(tmp_path):
    rows = "".join(f"{i:05d},plain\n" for i in range(12_000))
    data = ("id,name\n" + rows).encode() + "99999,Zoé\n".encode("latin-1")
    table, source = read_table(_write(tmp_path, "late.csv", data))
    assert source.encoding == "cp1252"
    assert table["name"].iloc[-1] == "Zoé"
    assert table["id"].iloc[0] == "00000"
    assert len(table) == 12_001


def test_utf8_bom_is_stripped(tmp_path):
    path = _write(tmp_path, "bom.csv", "\ufeffid,name\n0001,Zoë\n".encode())
    table, source = read_table(path)
    assert list(table.columns) == ["id", "name"]
    assert table.to_dict("list") == {"id": ["0001"], "name": ["Zoë"]}
    assert source.encoding == "utf-8-sig"


def test_utf16_with_bom(tmp_path):
    path = _write(tmp_path, "excel-unicode.txt", "id\tname\n0001\tAnn\n".encode("utf-16"))
    table, source = read_table(path)
    assert table.to_dict("list") == {"id": ["0001"], "name": ["Ann"]}
    assert (source.encoding, source.delimiter, source.format) == ("utf-16", "\t", "tsv")


def test_tsv(tmp_path):
    path = _write(tmp_path, "t.tsv", b"id\tincome\tcity\n0001\t1,5\tParis, FR\n0002\t2\t\n")
    table, source = read_table(path)
    assert table.to_dict("list") == {
        "id": ["0001", "0002"],
        "income": ["1,5", "2"],
        "city": ["Paris, FR", ""],
    }
    assert (source.format, source.delimiter) == ("tsv", "\t")


def test_crlf_without_final_newline(tmp_path):
    path = _write(tmp_path, "crlf.csv", b"id,age\r\n0001,19\r\n0002,21")
    table, _ = read_table(path)
    assert table.to_dict("list") == {"id": ["0001", "0002"], "age": ["19", "21"]}


def test_pipe_txt_and_dat(tmp_path):
    for name in ("p.txt", "p.DAT"):
        table, source = read_table(_write(tmp_path, name, b"a|b\n1|2\n3|4\n"))
        assert table.to_dict("list") == {"a": ["1", "3"], "b": ["2", "4"]}
        assert source.delimiter == "|"


def test_quoted_fields_with_delimiters_and_newlines(tmp_path):
    data = b'id,note,score\n0001,"hello, world",5\n0002,"two\nlines",6\n0003,"say ""hi""",7\n'
    table, _ = read_table(_write(tmp_path, "q.csv", data))
    assert table["note"].tolist() == ["hello, world", "two\nlines", 'say "hi"']
    assert table["score"].tolist() == ["5", "6", "7"]


def test_all_columns_are_strings_and_blanks_stay_blank(tmp_path):
    data = b" id , Age ,Income\n0001,30,\n0002,NA,12.5\n0003,,null\n"
    table, source = read_table(_write(tmp_path, "s.csv", data))
    assert list(table.columns) == ["id", "Age", "Income"]
    assert table.to_dict("list") == {
        "id": ["0001", "0002", "0003"],
        "Age": ["30", "NA", ""],
        "Income": ["", "12.5", "null"],
    }
    assert all(pd.api.types.is_string_dtype(dtype) for dtype in table.dtypes)
    assert source.to_dict() == {
        "path": str(tmp_path / "s.csv"),
        "name": "s.csv",
        "format": "csv",
        "encoding": "utf-8",
        "delimiter": ",",
        "rows": 3,
        "columns": 3,
        "layout": "delimited",
        "header": True,
        "member": None,
        "sheets": None,
        "sheet_column": None,
        "not_read": [],
    }


def test_trailing_delimiter_on_every_row_is_ignored(tmp_path):
    table, _ = read_table(_write(tmp_path, "t.csv", b"a,b\n1,2,\n3,4,\n"))
    assert table.to_dict("list") == {"a": ["1", "3"], "b": ["2", "4"]}


def test_gzip_compressed_text(tmp_path):
    path = tmp_path / "c.csv.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"id;v\n0001;1\n")
    table, source = read_table(path)
    assert table.to_dict("list") == {"id": ["0001"], "v": ["1"]}
    assert source.delimiter == ";"


def test_unknown_extension_that_is_delimited_text(tmp_path):
    table, source = read_table(_write(tmp_path, "export.out", b"a;b\n1;2\n"))
    assert table.to_dict("list") == {"a": ["1"], "b": ["2"]}
    assert source.format == "csv"


def test_single_column_text(tmp_path):
    table, _ = read_table(_write(tmp_path, "ids.csv", b"id\n0001\n0002\n"))
    assert table.to_dict("list") == {"id": ["0001", "0002"]}


# --------------------------------------------------------------------------- typed formats


@pytest.mark.parametrize(("suffix", "fmt"), [(".parquet", "parquet"), (".xlsx", "excel"), (".json", "json")])
def test_round_trip_through_write_table(tmp_path, suffix, fmt):
    table, _ = generate_customers(60, 3, random_state=4)
    path = tmp_path / f"customers{suffix}"
    write_table(table, path)
    back, source = read_table(path)
    pd.testing.assert_frame_equal(back, table)
    assert (source.format, source.rows, source.columns) == (fmt, 60, 8)


def test_csv_round_trip_keeps_text(tmp_path):
    table, _ = generate_customers(30, 2, random_state=4)
    write_table(table, tmp_path / "c.csv")
    back, _ = read_table(tmp_path / "c.csv")
    assert back["customer_id"].tolist() == table["customer_id"].tolist()
    assert back["annual_income"].astype(float).tolist() == table["annual_income"].tolist()


def test_excel_keeps_text_ids_and_skips_blank_rows(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])
    sheet.append([" id ", "spend"])
    sheet.append(["0001", 10])
    sheet.append([None, None])
    sheet.append(["0002", 12.5])
    book.save(tmp_path / "book.xlsx")
    table, _ = read_table(tmp_path / "book.xlsx")
    assert table.to_dict("list") == {"id": ["0001", "0002"], "spend": [10.0, 12.5]}


def test_json_layouts(tmp_path):
    layouts = {
        "records.json": [{"id": "0001", "v": 1}, {"id": "0002", "v": 2}],
        "split.json": {"columns": ["id", "v"], "data": [["0001", 1], ["0002", 2]]},
        "columns.json": {"id": {"0": "0001", "1": "0002"}, "v": {"0": 1, "1": 2}},
        "index.json": {"0": {"id": "0001", "v": 1}, "1": {"id": "0002", "v": 2}},
        "table.json": json.loads(pd.DataFrame({"id": ["0001", "0002"], "v": [1, 2]}).to_json(orient="table")),
        "wrapped.json": {"customers": [{"id": "0001", "v": 1}, {"id": "0002", "v": 2}]},
    }
    for name, content in layouts.items():
        path = tmp_path / name
        path.write_text(json.dumps(content))
        table, source = read_table(path)
        assert table.to_dict("list") == {"id": ["0001", "0002"], "v": [1, 2]}, name
        assert source.format == "json"


def test_json_lines(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "0001", "v": 1}\n\n{"id": "0002", "v": 2, "x": "y"}\n')
    table, source = read_table(path)
    assert table["id"].tolist() == ["0001", "0002"]
    assert table["x"].isna().tolist() == [True, False]
    assert source.format == "jsonl"


# --------------------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    assert _error(tmp_path / "nope.csv") == f"file not found: {tmp_path / 'nope.csv'}"


def test_directory(tmp_path):
    assert "is a directory" in _error(tmp_path)


def test_empty_and_whitespace_files(tmp_path):
    assert "is empty (0 bytes)" in _error(_write(tmp_path, "e.csv", b""))
    assert "is empty" in _error(_write(tmp_path, "w.csv", b"  \r\n\n \t\n"))


def test_header_without_rows(tmp_path):
    path = _write(tmp_path, "h.csv", b"a,b,c\r\n")
    assert _error(path) == f"{path} has a header (3 columns) but no data rows"
    book = openpyxl.Workbook()
    book.active.append(["a", "b"])
    book.save(tmp_path / "h.xlsx")
    assert "has a header (2 columns) but no data rows" in _error(tmp_path / "h.xlsx")


def test_binary_bytes(tmp_path):
    message = _error(_write(tmp_path, "b.csv", bytes(range(256)) * 4))
    assert "not a text table" in message and "binary" in message


def test_unknown_extension_that_is_not_a_table(tmp_path):
    message = _error(_write(tmp_path, "b.bin", b"\x00\x01\x02\x03"))
    assert "unrecognised format '.bin'" in message and "Parquet" in message


def test_corrupt_parquet_and_xlsx(tmp_path):
    message = _error(_write(tmp_path, "bad.parquet", b"this is not parquet"))
    assert "bad.parquet" in message and "Parquet" in message
    message = _error(_write(tmp_path, "bad.xlsx", b"PK\x03\x04 not really a zip"))
    assert "bad.xlsx" in message and "Excel" in message
    message = _error(_write(tmp_path, "old.xls", b"\xd0\xcf\x11\xe0" + bytes(60)))
    assert "old Excel .xls" in message


def test_corrupt_json(tmp_path):
    assert "is not valid JSON" in _error(_write(tmp_path, "bad.json", b'[{"a": 1},'))
    assert "line 2 is not valid JSON" in _error(_write(tmp_path, "bad.jsonl", b'{"a": 1}\n{"a":\n'))
    assert "not an object" in _error(_write(tmp_path, "list.json", b"[1, 2]"))


def test_duplicate_column_names(tmp_path):
    message = _error(_write(tmp_path, "d.csv", b"id,spend, id \n1,2,3\n"))
    assert message.endswith("has duplicate column names: 'id'")
    assert "'a'" in _error(_write(tmp_path, "d.json", b'[{"a": 1, "a": 2}]'))
    book = openpyxl.Workbook()
    book.active.append(["x", "x"])
    book.active.append([1, 2])
    book.save(tmp_path / "d.xlsx")
    assert "duplicate column names: 'x'" in _error(tmp_path / "d.xlsx")


def test_row_with_more_fields_than_header(tmp_path):
    path = _write(tmp_path, "x.csv", b"a,b\n1,2\n3,4,5\n6,7\n")
    assert _error(path) == (
        f"{path} line 3 has 3 fields but the header has 2; check the delimiter and quoting"
    )
    first = _write(tmp_path, "first.csv", b"a,b\n1,2,9\n3,4\n")
    assert "line 2 has 3 fields" in _error(first)


def test_row_with_more_fields_far_beyond_the_sample(tmp_path):
    body = b"a,b\n" + b"1234567,1234567\n" * 20_000 + b"1,2,3\n"
    assert "line 20002 has 3 fields but the header has 2" in _error(_write(tmp_path, "far.csv", body))


def test_unterminated_quote(tmp_path):
    assert "could not be parsed" in _error(_write(tmp_path, "q.csv", b'a,b\n"1,2\n'))


# --------------------------------------------------------------------------- real data


def test_mall_customers():
    table, source = read_table(_real("mall_customers.csv"))
    assert table.shape == (200, 5)
    assert list(table.columns) == [
        "CustomerID",
        "Genre",
        "Age",
        "Annual Income (k$)",
        "Spending Score (1-100)",
    ]
    assert table["CustomerID"].iloc[0] == "0001"
    assert table.iloc[-1].tolist() == ["0200", "Male", "30", "137", "83"]
    assert table["Genre"].value_counts().to_dict() == {"Female": 112, "Male": 88}
    assert isinstance(source, TableSource)
    assert (source.name, source.format, source.delimiter, source.encoding) == (
        "mall_customers.csv",
        "csv",
        ",",
        "utf-8",
    )


def test_wholesale_customers():
    table, source = read_table(_real("wholesale_customers.csv"))
    assert table.shape == (440, 8)
    assert list(table.columns)[:2] == ["Channel", "Region"]
    assert "Delicassen" in table.columns
    assert table.iloc[0].tolist() == ["2", "3", "12669", "9656", "7561", "214", "2674", "1338"]
    assert (source.rows, source.columns) == (440, 8)


def test_value_in_a_trailing_field_beyond_the_sample(tmp_path):
    body = b"a,b\n" + b"1234567,1234567,\n" * 10_000 + b"1,2,3\n"
    message = _error(_write(tmp_path, "late.csv", body))
    assert "data row 10001 has more fields than the header (2 columns)" in message
