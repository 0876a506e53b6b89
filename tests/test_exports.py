"""Real exports as they come (issue 11, items 1-4): every sheet of a workbook, tables inside
archives, whitespace-aligned, fixed-width and headerless text, dates that become age and
tenure, and codes for missing (999, "unknown").

Small hand-made fixtures pin the exact rows read, used and dropped, the features made and
the error texts; the real-data tests build their files from ../shared/data in tmp_path.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from custseg.preparing.clean import INDICATOR_NOT_CLUSTERED, CleaningParams, apply_cleaning, clean_customers
from custseg.errors import InputError, SettingsError
from custseg.reading import ReadOptions, first_row_is_header, read_columns, read_table
from custseg.pipeline import segment
from custseg.preparing.options import CleanOptions
from custseg.settings import Settings
from custseg.logs.duckdb_engine import customers_from_transactions

SMALL_RUN = {"algorithms": ("kmeans",), "k_min": 2, "k_max": 3, "stability_resamples": 2, "report": False}


def _error(path, options: ReadOptions | None = None) -> str:
    with pytest.raises(InputError) as caught:
        read_table(path, options)
    message = str(caught.value)
    assert "\n" not in message
    return message


def _clean_error(frame: pd.DataFrame, settings: CleanOptions) -> str:
    with pytest.raises(InputError) as caught:
        clean_customers(frame, settings)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- workbooks


def _workbook(path: Path) -> Path:
    """Sheets 2010 (3 rows), 2011 (2 rows, a blank row above the header), Notes (another
    header, 2 rows) and Empty."""
    book = openpyxl.Workbook()
    first = book.active
    first.title = "2010"
    for row in (["id", "spend"], ["0001", 10], ["0002", 11.5], ["0003", 12]):
        first.append(row)
    second = book.create_sheet("2011")
    for row in ([], ["id", "spend"], ["0004", 20], [None, None], ["0005", 21]):
        second.append(row)
    notes = book.create_sheet("Notes")
    for row in (["note"], ["exported by the shop"], ["amounts in EUR"]):
        notes.append(row)
    book.create_sheet("Empty")
    book.save(path)
    return path


def test_every_sheet_with_the_first_sheets_header_is_stacked(tmp_path):
    table, source = read_table(_workbook(tmp_path / "book.xlsx"))
    assert table.to_dict("list") == {
        "id": ["0001", "0002", "0003", "0004", "0005"],
        "spend": [10.0, 11.5, 12.0, 20.0, 21.0],
        "sheet": ["2010", "2010", "2010", "2011", "2011"],
    }
    assert (source.rows, source.sheets, source.sheet_column) == (5, ["2010", "2011"], "sheet")
    assert source.not_read == [
        {"sheet": "Notes", "rows": 2, "reason": "header differs from sheet '2010': lacks id, spend; adds note"},
        {"sheet": "Empty", "rows": 0, "reason": "empty"},
    ]


def test_sheet_option_reads_one_sheet_and_lists_the_others(tmp_path):
    path = _workbook(tmp_path / "book.xlsx")
    table, source = read_table(path, ReadOptions(sheet="2011"))
    assert table.to_dict("list") == {"id": ["0004", "0005"], "spend": [20, 21]}
    assert source.sheets == ["2011"] and source.sheet_column is None
    assert [(n["sheet"], n["rows"], n["reason"]) for n in source.not_read] == [
        ("2010", 3, "not chosen (--sheet '2011')"),
        ("Notes", 2, "not chosen (--sheet '2011')"),
        ("Empty", 0, "not chosen (--sheet '2011')"),
    ]
    assert _error(path, ReadOptions(sheet="2012")) == (
        f"--sheet '2012' is not in {path}; its sheets are: '2010', '2011', 'Notes', 'Empty'"
    )


def test_a_later_sheet_with_repeated_names_is_listed_not_fatal(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["id", "spend"])
    book.active.append(["0001", 5])
    odd = book.create_sheet("Pivot")
    odd.append(["x", "x"])
    odd.append([1, 2])
    book.save(tmp_path / "p.xlsx")
    table, source = read_table(tmp_path / "p.xlsx")
    assert len(table) == 1
    assert source.not_read == [{"sheet": "Pivot", "rows": 1,
                                "reason": "header differs from sheet 'Sheet' (duplicate column names)"}]


def test_sheet_column_takes_a_free_name(tmp_path):
    book = openpyxl.Workbook()
    for title in ("a", "b"):
        sheet = book.active if title == "a" else book.create_sheet(title)
        sheet.title = title
        sheet.append(["id", "sheet"])
        sheet.append([f"{title}1", "x"])
    book.save(tmp_path / "s.xlsx")
    table, source = read_table(tmp_path / "s.xlsx")
    assert source.sheet_column == "sheet_2"
    assert table["sheet_2"].tolist() == ["a", "b"]


def test_headerless_sheet_keeps_its_first_row(tmp_path):
    book = openpyxl.Workbook()
    for row in (["0001", 10, "2024-01-05"], ["0002", 12.5, "2024-02-01"], ["0003", 7, "2024-03-09"]):
        book.active.append(row)
    book.save(tmp_path / "rows.xlsx")
    table, source = read_table(tmp_path / "rows.xlsx")
    assert table.to_dict("list") == {"column_1": ["0001", "0002", "0003"], "column_2": [10.0, 12.5, 7.0],
                                     "column_3": ["2024-01-05", "2024-02-01", "2024-03-09"]}
    assert source.header is False


def test_workbook_rows_of_every_sheet_reach_the_ledger(tmp_path):
    customers = pd.DataFrame({
        "customer_id": [f"C{i:03d}" for i in range(40)],
        "income": [20 + (i % 4) * 30 + i % 3 for i in range(40)],
        "score": [10 + (i % 4) * 25 + i % 5 for i in range(40)],
    })
    path = tmp_path / "customers.xlsx"
    with pd.ExcelWriter(path) as writer:
        customers.iloc[:25].to_excel(writer, sheet_name="Q1", index=False)
        customers.iloc[25:].to_excel(writer, sheet_name="Q2", index=False)
        pd.DataFrame({"total": [40]}).to_excel(writer, sheet_name="Totals", index=False)
    result = segment(path, **{**SMALL_RUN, "report": True})
    summary = result.summary
    assert (summary["input"]["rows_read"], summary["input"]["rows_used"]) == (40, 40)
    assert summary["input"]["not_read"] == [
        {"sheet": "Totals", "rows": 1, "reason": "header differs from sheet 'Q1': lacks customer_id, income, score; adds total"}
    ]
    assert summary["source"]["sheets"] == ["Q1", "Q2"]
    assert summary["columns"]["categorical"] == ["sheet"]
    html = result.to_html(tmp_path / "report.html").read_text()
    assert 'data-test="not-read"' in html and "Totals" in html
    assert "Q1, Q2 (stacked; each row&#39;s sheet in column sheet)" in html


# --------------------------------------------------------------------------- text layouts

CDNOW = " 00001 19970101  1   11.77\n 00002 19970112  1   12.00\n 00002 19970112  5   77.00\n 00003 19970102  2   20.76"


def test_whitespace_aligned_text_without_header(tmp_path):
    path = tmp_path / "CDNOW_master.txt"
    path.write_text(CDNOW)                      # no final newline
    table, source = read_table(path)
    assert table.to_dict("list") == {
        "column_1": ["00001", "00002", "00002", "00003"],
        "column_2": ["19970101", "19970112", "19970112", "19970102"],
        "column_3": ["1", "1", "5", "2"],
        "column_4": ["11.77", "12.00", "77.00", "20.76"],
    }
    assert (source.format, source.layout, source.header, source.delimiter) == ("text", "whitespace", False, None)


def test_whitespace_aligned_text_with_header_and_crlf(tmp_path):
    path = tmp_path / "cdnow.txt"
    path.write_bytes(("id  date      cds  dollars\r\n" + CDNOW.replace("\n", "\r\n") + "\r\n").encode())
    table, source = read_table(path)
    assert list(table.columns) == ["id", "date", "cds", "dollars"]
    assert len(table) == 4 and table["dollars"].tolist() == ["11.77", "12.00", "77.00", "20.76"]
    assert (source.layout, source.header) == ("whitespace", True)
    assert read_columns(path) == ["id", "date", "cds", "dollars"]


def test_aligned_text_with_a_blank_field_in_the_sample_is_read_as_fixed_width(tmp_path):
    path = tmp_path / "gap.txt"
    path.write_text(CDNOW + "\n       19970103  3   30.00\n")
    table, source = read_table(path)
    assert source.layout == "fixed-width"
    assert table["column_1"].tolist() == ["00001", "00002", "00002", "00003", ""]
    assert table.iloc[-1].tolist() == ["", "19970103", "3", "30.00"]


def test_whitespace_row_with_a_blank_field_beyond_the_sample_is_refused(tmp_path):
    body = "".join(f" {i:05d} 19970101  1   11.77\n" for i in range(1, 3001)) + "       19970101  1   11.77\n"
    path = tmp_path / "gap.txt"
    path.write_text(body)
    assert _error(path) == (
        f"{path} data row 3001 has fewer whitespace-separated fields than the first row (4); "
        f"a blank field cannot be placed: align the columns or use a delimiter"
    )


def test_fixed_width_text_keeps_spaces_inside_values_and_blank_fields(tmp_path):
    path = tmp_path / "fixed.txt"
    path.write_text(
        "id    name         city       spend\n"
        "0001  Ann Smith    Paris       12.5\n"
        "0002  Bob Jones    New York      30\n"
        "0003               Rome         7.25\n"
    )
    table, source = read_table(path)
    assert table.to_dict("list") == {
        "id": ["0001", "0002", "0003"],
        "name": ["Ann Smith", "Bob Jones", ""],
        "city": ["Paris", "New York", "Rome"],
        "spend": ["12.5", "30", "7.25"],
    }
    assert (source.format, source.layout, source.header) == ("text", "fixed-width", True)


def test_headerless_csv_keeps_its_first_row(tmp_path):
    path = tmp_path / "mall.csv"
    path.write_text("0001,Male,19,15,39\r\n0002,Male,21,15,81\r\n0003,Female,20,16,6")
    table, source = read_table(path)
    assert list(table.columns) == ["column_1", "column_2", "column_3", "column_4", "column_5"]
    assert table.iloc[0].tolist() == ["0001", "Male", "19", "15", "39"]
    assert (source.rows, source.header, source.delimiter) == (3, False, ",")
    named, forced = read_table(path, ReadOptions(header="yes"))
    assert list(named.columns) == ["0001", "Male", "19", "15", "39"] and forced.rows == 2


def test_header_no_reads_a_named_first_row_as_data(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("id,spend\n1,2.5\n2,3\n")
    table, source = read_table(path, ReadOptions(header="no"))
    assert table.to_dict("list") == {"column_1": ["id", "1", "2"], "column_2": ["spend", "2.5", "3"]}
    assert source.header is False
    assert _error(path, ReadOptions(header="maybe")) == "--header must be one of auto, yes, no, got 'maybe'"


def test_headerless_row_with_an_extra_field_names_the_first_row(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("1,2\n3,4,5\n")
    assert _error(path) == f"{path} line 2 has 3 fields but the first row has 2; check the delimiter and quoting"


@pytest.mark.parametrize(("rows", "expected"), [
    ([["id", "spend"], ["1", "2.5"], ["2", "3"]], True),
    ([["0001", "19970101", "11.77"], ["0002", "19970102", "3"]], False),
    ([["17850", "2010-12-01 08:26:00", "6"], ["17851", "2010-12-01 09:00:00", "-2"]], False),
    ([["name", "city"], ["Ann", "Paris"]], True),                        # all text: as before
    ([["Ann", "Paris"], ["Bob", "Rome"]], True),
    ([["id", "12"], ["1", "13"], ["2", "14"]], True),                    # a name where numbers are
    ([["1", "2"]], True),                                               # one row: a header
    ([["", "x"], ["1", "2"], ["3", "4"]], True),                        # blank in a numeric column: unsure
    ([["1", "Male"], ["2", "Female"], ["3", ""]], False),
])
def test_first_row_is_header(rows, expected):
    assert first_row_is_header(rows) is expected


# --------------------------------------------------------------------------- archives


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def test_zip_with_one_csv_is_read_and_says_which(tmp_path):
    path = _zip(tmp_path / "export.zip", {"data/customers.csv": "id,spend\n0001,10\n0002,12\n",
                                          "README.md": "made by the shop", "__MACOSX/._customers.csv": "x"})
    table, source = read_table(path)
    assert table.to_dict("list") == {"id": ["0001", "0002"], "spend": ["10", "12"]}
    assert (source.name, source.member, source.format, source.rows) == ("export.zip", "data/customers.csv", "csv", 2)
    assert read_columns(path) == ["id", "spend"]


def test_tar_gz_with_one_table(tmp_path):
    data = b"id;spend\n0001;10\n"
    with tarfile.open(tmp_path / "export.tgz", "w:gz") as archive:
        info = tarfile.TarInfo("export/customers.csv")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    table, source = read_table(tmp_path / "export.tgz")
    assert table.to_dict("list") == {"id": ["0001"], "spend": ["10"]}
    assert (source.member, source.delimiter) == ("export/customers.csv", ";")


def test_zip_with_two_csvs_needs_member(tmp_path):
    path = _zip(tmp_path / "two.zip", {"a.csv": "id,v\n1,2\n", "b.csv": "id,v\n3,4\n5,6\n"})
    assert _error(path) == f"{path} holds 2 tables: a.csv, b.csv; choose one with --member NAME"
    table, source = read_table(path, ReadOptions(member="b.csv"))
    assert (len(table), source.member) == (2, "b.csv")
    assert _error(path, ReadOptions(member="c.csv")) == f"--member 'c.csv' is not in {path}; its tables are: a.csv, b.csv"


def test_archive_errors_name_the_member(tmp_path):
    empty = _zip(tmp_path / "docs.zip", {"notes.pdf": "%PDF"})
    assert _error(empty).startswith(f"{empty} holds no table (members: notes.pdf); custseg reads ")
    bad = _zip(tmp_path / "bad.zip", {"a.csv": "a,b\n1,2,3\n"})
    assert _error(bad) == f"{bad}:a.csv line 2 has 3 fields but the header has 2; check the delimiter and quoting"
    csv = tmp_path / "plain.csv"
    csv.write_text("a,b\n1,2\n")
    assert _error(csv, ReadOptions(member="a.csv")) == f"--member applies to .zip and .tar archives; {csv} is not one"
    assert _error(csv, ReadOptions(sheet="2010")) == f"--sheet applies to Excel workbooks; {csv} is not one"


def test_cli_lists_the_tables_of_an_archive_in_one_line(tmp_path, capsys):
    from custseg.cli import main

    path = _zip(tmp_path / "two.zip", {"a.csv": "id,v\n1,2\n", "b.csv": "id,v\n3,4\n"})
    with pytest.raises(SystemExit) as caught:
        main(["run", str(path), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert [line for line in err.splitlines() if line.strip()] == [
        f"error: {path} holds 2 tables: a.csv, b.csv; choose one with --member NAME"
    ]


# --------------------------------------------------------------------------- dates become features

AS_OF = "2025-06-30"


def _signups(dates: list[str]) -> pd.DataFrame:
    n = len(dates)
    return pd.DataFrame({
        "id": [f"{i:04d}" for i in range(n)],
        "signup_date": dates,
        "spend": [str(10 + (i * 7) % 30) for i in range(n)],
    })


def test_day_first_dates_become_tenure_days():
    dates = [f"{1 + i % 28:02d}-{1 + i % 12:02d}-2024" for i in range(30)]   # 13-01-2024 decides
    result = clean_customers(_signups(dates), CleanOptions(as_of=AS_OF))
    assert result.roles.features == ["tenure_days", "spend"]
    assert result.params.derived["tenure_days"]["format"] == "%d-%m-%Y"
    # 01-01-2024 -> 546 days to 2025-06-30; 02-02-2024 -> 514; 13-01-2024 -> 534
    assert result.data["tenure_days"].iloc[[0, 1, 12]].tolist() == [546.0, 514.0, 534.0]
    assert result.roles.derived["tenure_days"] == "days from the date in signup_date (read as %d-%m-%Y) to 2025-06-30"
    assert result.ledger.to_dict()["rows_used"] == 30


def test_month_first_dates_become_tenure_days():
    dates = [f"{1 + i % 12:02d}/{1 + i % 28:02d}/2024" for i in range(30)]
    result = clean_customers(_signups(dates), CleanOptions(as_of=AS_OF))
    assert result.params.derived["tenure_days"]["format"] == "%m/%d/%Y"
    assert result.data["tenure_days"].iloc[[0, 1, 12]].tolist() == [546.0, 514.0, 534.0]


def test_dates_that_read_both_ways_are_refused_naming_date_format():
    dates = [f"{1 + i % 12:02d}/{1 + i % 12:02d}/2024" for i in range(30)]
    frame = _signups(dates)
    assert _clean_error(frame, CleanOptions(as_of=AS_OF)) == (
        "column 'signup_date' holds dates that read both ways (%d/%m/%Y and %m/%d/%Y fit every value, "
        "e.g. '01/01/2024'); give the format with --date-format, e.g. --date-format %d/%m/%Y, "
        "or leave the column out with --exclude"
    )
    told = clean_customers(frame, CleanOptions(as_of=AS_OF, date_format="mm/dd/yyyy"))
    assert told.params.derived["tenure_days"]["format"] == "%m/%d/%Y"
    left_out = clean_customers(frame, CleanOptions(as_of=AS_OF, features=("spend",)))
    assert left_out.roles.excluded["signup_date"].startswith("dates that cannot be read unambiguously: ")


def test_a_date_format_that_does_not_fit_is_refused():
    frame = _signups([f"2024-01-{1 + i % 28:02d}" for i in range(30)])
    assert _clean_error(frame, CleanOptions(as_of=AS_OF, date_format="%d/%m/%Y")) == (
        "--date-format %d/%m/%Y does not fit column 'signup_date': 28 of 28 distinct values do not "
        "parse, e.g. '2024-01-01', or leave the column out with --exclude"
    )


def test_birth_years_become_age_and_implausible_ages_are_impossible():
    n = 30
    frame = pd.DataFrame({
        "id": [f"{i:04d}" for i in range(n)],
        "Year_Birth": [str(1960 + i) for i in range(n)],
        "income": [str(100 + (i * 7) % 30) for i in range(n)],
    })
    frame.loc[5, "Year_Birth"] = "1893"          # age 132
    frame.loc[6, "Year_Birth"] = ""
    result = clean_customers(frame, CleanOptions(as_of=AS_OF))
    assert result.roles.features == ["age", "income"]
    assert result.data["age"].iloc[[0, 1, 29]].tolist() == [65.0, 64.0, 36.0]
    assert result.ledger.to_dict()["cells_fixed"] == {
        "impossible value": {"age": 1},
        "missing value (imputed)": {"age": 2},
    }
    assert result.ledger.rows_used == 30


def test_birth_dates_give_age_in_whole_years():
    frame = pd.DataFrame({
        "id": [f"{i:04d}" for i in range(30)],
        "date_of_birth": ["1990-06-30", "1990-07-01", "1985-12-31"] + [f"19{70 + i}-01-15" for i in range(27)],
        "spend": [str(10 + i) for i in range(30)],
    })
    result = clean_customers(frame, CleanOptions(as_of=AS_OF))
    assert result.data["age"].iloc[:4].tolist() == [35.0, 34.0, 39.0, 55.0]


def _round_trip(params: CleaningParams) -> CleaningParams:
    """The cleaning rules as the model file stores them."""
    return CleaningParams.from_dict(json.loads(json.dumps(params.to_dict())))


def test_derived_features_are_applied_to_new_customers_with_the_fitted_rules():
    dates = [f"{1 + i % 28:02d}-{1 + i % 12:02d}-2024" for i in range(30)]
    fitted = clean_customers(_signups(dates), CleanOptions(as_of=AS_OF))
    new = _signups(["05-03-2024", "xx", "01-01-2026"])
    data, usable = apply_cleaning(new, fitted.roles, _round_trip(fitted.params))
    fill = fitted.params.numeric_rules["tenure_days"]["fill"]
    assert data["tenure_days"].tolist() == [482.0, fill, fill]   # 5 March; unparseable; future: impossible
    assert usable.tolist() == [True, True, True]
    with pytest.raises(InputError, match="lacks 1 column"):
        apply_cleaning(new.drop(columns="signup_date"), fitted.roles, fitted.params)


# --------------------------------------------------------------------------- codes for missing


def _contacts(n: int = 40) -> pd.DataFrame:
    """pdays is 999 ("never contacted") on 30 of 40 rows and 1..10 days on the others;
    job is "unknown" on 1 row (2.5%: too rare for an indicator)."""
    pdays = ["999"] * n
    for i in range(0, n, 4):
        pdays[i] = str(1 + (i // 4))
    job = [["admin", "technician", "services"][i % 3] for i in range(n)]
    job[1] = "unknown"
    return pd.DataFrame({
        "id": [f"{i:04d}" for i in range(n)],
        "pdays": pdays,
        "job": job,
        "balance": [str(100 + (i * 37) % 200) for i in range(n)],
    })


def test_999_code_becomes_missing_with_an_indicator():
    result = clean_customers(_contacts(), CleanOptions())
    ledger = result.ledger.to_dict()
    assert (ledger["rows_read"], ledger["rows_used"], ledger["rows_dropped"]) == (40, 40, {})
    assert ledger["sentinels"] == {
        "pdays": [{"code": "999", "rows": 30, "indicator": "pdays_is_999", "found": "detected"}],
        "job": [{"code": "unknown", "rows": 1, "indicator": None, "found": "detected"}],
    }
    assert ledger["cells_fixed"]["missing-value code"] == {"pdays": 30, "job": 1}
    assert ledger["cells_fixed"]["missing value (imputed)"] == {"pdays": 30}
    # the indicator is described (a numeric column of the profiles), not clustered on
    assert result.roles.features == ["pdays", "balance"]
    assert result.roles.numeric == ["pdays", "pdays_is_999", "balance"]
    assert result.roles.not_clustered == {"pdays_is_999": INDICATOR_NOT_CLUSTERED}
    assert result.data["pdays_is_999"].sum() == 30
    # the 10 real values are 1..10: the median 5.5 fills the 30 codes
    assert result.params.numeric_rules["pdays"]["fill"] == 5.5
    assert result.data["job"].isna().sum() == 1
    assert result.roles.derived["pdays_is_999"] == "1 where pdays holds 999 (a code for missing), else 0"


def test_unknown_levels_get_an_indicator_when_frequent():
    frame = _contacts()
    frame.loc[[21, 25], "job"] = ["Unknown", " N/A "]       # 3 of 40 rows: 7.5%
    result = clean_customers(frame, CleanOptions())
    assert result.ledger.sentinels["job"] == [
        {"code": "n/a", "rows": 1, "indicator": "job_is_unknown", "found": "detected"},
        {"code": "unknown", "rows": 2, "indicator": "job_is_unknown", "found": "detected"},
    ]
    assert result.roles.features == ["pdays", "balance"]
    assert result.roles.numeric == ["pdays", "pdays_is_999", "job_is_unknown", "balance"]
    assert result.data["job_is_unknown"].sum() == 3
    # asked for, the codes are clustered on, in column order
    clustered = clean_customers(frame, CleanOptions(categoricals="cluster"))
    assert clustered.roles.features == ["pdays", "pdays_is_999", "job_is_unknown", "balance", "job"]
    assert clustered.roles.not_clustered == {}
    assert sorted(result.data["job"].dropna().unique()) == ["admin", "services", "technician"]


def test_text_codes_in_a_numeric_column_are_codes_not_unparseable():
    frame = _contacts()
    frame.loc[[0, 4], "balance"] = ["n/a", "oops"]           # rows with a real pdays
    ledger = clean_customers(frame, CleanOptions()).ledger.to_dict()
    assert ledger["sentinels"]["balance"] == [{"code": "n/a", "rows": 1, "indicator": None, "found": "detected"}]
    assert ledger["cells_fixed"]["unparseable value"] == {"balance": 1}


@pytest.mark.parametrize(("values", "codes"), [
    ([-1] * 12 + list(range(0, 28)), [-1.0]),                 # -1 where the rest is >= 0
    ([9999] * 3 + [i % 50 for i in range(97)], [9999.0]),     # typical code, 3% of rows
    ([99] * 5 + list(range(1, 99)), []),                      # 99 within a 1..98 score: a value
    ([0] * 30 + list(range(1, 31)), []),                      # zero is an amount, never a code
    ([500] * 10 + list(range(1, 31)), [500.0]),               # 25% of rows, far beyond the others
    ([40] * 10 + list(range(1, 31)), []),                     # frequent but not apart
])
def test_numeric_codes(values, codes):
    from custseg.preparing.sentinels import numeric_codes

    assert numeric_codes(np.array(values, dtype=float)) == codes


def test_sentinel_option_adds_codes_and_none_switches_detection_off():
    given = clean_customers(_contacts(), CleanOptions(sentinels=("balance=100", "job=technician")))
    assert given.ledger.sentinels["balance"] == [{"code": "100", "rows": 1, "indicator": None, "found": "given"}]
    assert given.ledger.sentinels["job"] == [
        {"code": "technician", "rows": 12, "indicator": "job_is_technician", "found": "given"},
        {"code": "unknown", "rows": 1, "indicator": None, "found": "detected"},
    ]
    off = clean_customers(_contacts(), CleanOptions(sentinels=("none",)))
    assert off.ledger.sentinels == {} and off.roles.features == ["pdays", "balance"]
    only = clean_customers(_contacts(), CleanOptions(sentinels=("none", "pdays=999")))
    assert list(only.ledger.sentinels) == ["pdays"]
    assert _clean_error(_contacts(), CleanOptions(sentinels=("pday=999",))) == (
        "--sentinel names 1 column(s) not in the data: pday; columns are: id, pdays, job, balance"
    )


def test_codes_and_indicators_are_applied_to_new_customers():
    # the indicator is a feature when asked for (--categoricals cluster)
    fitted = clean_customers(_contacts(), CleanOptions(categoricals="cluster"))
    new = pd.DataFrame({"id": ["a", "b", "c"], "pdays": ["999", "3", ""], "job": ["x", "y", "z"],
                        "balance": ["150", "n/a", "120"]})
    data, _ = apply_cleaning(new, fitted.roles, _round_trip(fitted.params))
    assert data["pdays"].tolist() == [5.5, 3.0, 5.5]
    assert data["pdays_is_999"].tolist() == [1.0, 0.0, 0.0]
    assert data["balance"].tolist()[1] == fitted.params.numeric_rules["balance"]["fill"]


def test_settings_validate_the_new_options(tmp_path):
    for changes, message in [
        ({"header": "maybe"}, "--header must be one of auto, yes, no, got 'maybe'"),
        ({"sentinels": ("pdays",)}, "--sentinel must be COL=VALUE (e.g. pdays=999) or none, got 'pdays'"),
        ({"date_format": "yyyy"}, "--date-format must be a date pattern such as %d/%m/%Y or dd/mm/yyyy: "
                                  "'yyyy' needs a day, a month and a year"),
        ({"sheet": " "}, "--sheet must be a non-empty name, got ' '"),
    ]:
        with pytest.raises(SettingsError) as caught:
            Settings(**changes).validated()
        assert str(caught.value) == message
    config = tmp_path / "custseg.toml"
    config.write_text('[custseg]\nheader = false\nsheet = "2011"\n[custseg.sentinels]\npdays = [999, -1]\njob = "unknown"\n')
    settings = Settings.from_toml(config).validated()
    assert (settings.header, settings.sheet) == ("no", "2011")
    assert settings.sentinels == ("pdays=999", "pdays=-1", "job=unknown")


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def retail_lines(tmp_path_factory) -> pd.DataFrame:
    """20,000 Online Retail lines around the turn of the year (10,000 of December 2010,
    10,000 of January 2011), as text."""
    from conftest import SHARED_DATA

    path = SHARED_DATA / "online_retail.csv.gz"
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    lines = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=60_000)
    first_2011 = int(np.flatnonzero(lines["InvoiceDate"].str.startswith("2011-"))[0])
    return lines.iloc[first_2011 - 10_000:first_2011 + 10_000].reset_index(drop=True)


def test_online_retail_in_yearly_sheets_gives_the_ledger_of_the_csv(retail_lines, tmp_path):
    retail_lines.to_csv(tmp_path / "retail.csv", index=False)
    december = retail_lines["InvoiceDate"].str.startswith("2010-")
    with pd.ExcelWriter(tmp_path / "retail.xlsx") as writer:
        retail_lines[december].to_excel(writer, sheet_name="Year 2010", index=False)
        retail_lines[~december].to_excel(writer, sheet_name="Year 2011", index=False)
        pd.DataFrame({"About": ["UCI Online Retail, two yearly sheets"]}).to_excel(writer, sheet_name="Read me", index=False)
    from_csv = customers_from_transactions(tmp_path / "retail.csv")
    from_book = customers_from_transactions(tmp_path / "retail.xlsx")
    csv_ledger, book_ledger = from_csv.ledger.to_dict(), from_book.ledger.to_dict()
    assert book_ledger["not_read"] == [{"sheet": "Read me", "rows": 1, "reason": (
        "header differs from sheet 'Year 2010': lacks InvoiceNo, StockCode, Description, Quantity, "
        "InvoiceDate, ... (8 in all); adds About")}]
    assert {**book_ledger, "not_read": []} == csv_ledger
    assert (csv_ledger["rows_read"], csv_ledger["rows_used"]) == (20_000, 11_286)
    assert csv_ledger["rows_dropped"] == {"no customer id": 8_623, "exact duplicate": 87, "zero or negative price": 4}
    assert from_book.checks == from_csv.checks
    pd.testing.assert_frame_equal(from_book.customers, from_csv.customers)
    assert from_book.reading["sheets"] == ["Year 2010", "Year 2011"]


def test_cdnow_style_whitespace_log_gives_the_ledger_of_the_csv(retail_lines, tmp_path):
    lines = retail_lines[retail_lines["CustomerID"] != ""]
    log = pd.DataFrame({
        "customer": lines["CustomerID"].str.removesuffix(".0"),
        "date": pd.to_datetime(lines["InvoiceDate"]).dt.strftime("%Y%m%d"),
        "cds": lines["Quantity"],
        "dollars": (lines["Quantity"].astype(float) * lines["UnitPrice"].astype(float)).map("{:.2f}".format),
    })
    log.to_csv(tmp_path / "cdnow.csv", index=False)
    text = "".join(f" {c:>5} {d} {q:>5} {a:>10}\n" for c, d, q, a in log.itertuples(index=False))
    (tmp_path / "CDNOW_master.txt").write_text(text)
    roles = {"customer": "customer", "date": "date", "quantity": "cds", "amount": "dollars"}
    from_csv = customers_from_transactions(tmp_path / "cdnow.csv", overrides=roles)
    numbered = {role: f"column_{i + 1}" for i, role in enumerate(roles)}
    from_text = customers_from_transactions(tmp_path / "CDNOW_master.txt", overrides=numbered)
    assert from_text.reading["layout"] == "whitespace" and from_text.reading["header"] is False
    assert from_text.ledger.to_dict() == from_csv.ledger.to_dict()
    assert (from_csv.ledger.rows_read, from_csv.ledger.rows_used) == (20_000 - 8_623, 7_300)
    pd.testing.assert_frame_equal(from_text.customers.rename(columns={"column_1": "customer"}), from_csv.customers)

    with zipfile.ZipFile(tmp_path / "cdnow.zip", "w") as archive:
        archive.write(tmp_path / "CDNOW_master.txt", "CDNOW_master.txt")
    columns = {f"{role}_col": name for role, name in numbered.items()}
    result = segment(tmp_path / "cdnow.zip", kind="transactions", **columns, **SMALL_RUN)
    assert result.summary["transactions"]["ledger"] == from_csv.ledger.to_dict()
    assert (result.summary["source"]["member"], result.summary["source"]["layout"]) == ("CDNOW_master.txt", "whitespace")


def test_mall_zipped_headerless_or_in_sheets_is_segmented_like_the_csv(mall, tmp_path):
    settings = dict(SMALL_RUN, features=("Annual Income (k$)", "Spending Score (1-100)"))
    reference = segment(mall, **settings)
    with zipfile.ZipFile(tmp_path / "mall.zip", "w") as archive:
        archive.write(mall, "Mall_Customers.csv")
    zipped = segment(tmp_path / "mall.zip", **settings)
    assert zipped.summary["source"]["member"] == "Mall_Customers.csv"
    assert zipped.summary["input"] == reference.summary["input"]
    assert (zipped.labels == reference.labels).all()

    body = mall.read_bytes().split(b"\r\n", 1)[1]            # the same rows, no header
    (tmp_path / "mall_no_header.csv").write_bytes(body)
    headerless = segment(tmp_path / "mall_no_header.csv", **{**settings, "features": ("column_4", "column_5")})
    assert headerless.summary["source"]["header"] is False
    assert (headerless.table.ledger.rows_read, headerless.table.ledger.rows_used) == (200, 200)
    assert headerless.table.roles.id is None                 # column_1 holds the ids, unnamed
    assert (headerless.labels == reference.labels).all()

    table = pd.read_csv(mall, dtype=str)
    with pd.ExcelWriter(tmp_path / "mall.xlsx") as writer:
        for genre, rows in table.groupby("Genre"):
            rows.to_excel(writer, sheet_name=genre, index=False)
    sheets = segment(tmp_path / "mall.xlsx", **settings)
    assert sheets.summary["source"]["sheets"] == ["Female", "Male"]
    assert (sheets.table.ledger.rows_read, sheets.table.ledger.rows_used) == (200, 200)
    assert "sheet" in sheets.table.roles.categorical


def test_retail_customer_export_with_dates_and_a_999_code(retail_lines, tmp_path):
    """A CRM-style export made from the lines: the first purchase written day-first, and
    the days since the last return with 999 for customers who never returned anything."""
    retail_lines.to_csv(tmp_path / "retail.csv", index=False)
    found = customers_from_transactions(tmp_path / "retail.csv")
    as_of = pd.Timestamp(found.as_of)
    customers = found.customers.set_index("CustomerID")
    lines = retail_lines[(retail_lines["CustomerID"] != "") & retail_lines["InvoiceNo"].str.startswith("C")]
    last_return = pd.to_datetime(lines["InvoiceDate"]).groupby(lines["CustomerID"].str.removesuffix(".0")).max()
    days = (as_of - last_return.dt.normalize()).dt.days.reindex(customers.index)
    export = pd.DataFrame({
        "CustomerID": customers.index,
        "first_purchase": (as_of - pd.to_timedelta(customers["tenure_days"], unit="D")).dt.strftime("%d/%m/%Y"),
        "days_since_last_return": days.fillna(999).astype(int).astype(str).to_numpy(),
        "monetary": customers["monetary"].round(2).astype(str).to_numpy(),
        "frequency": customers["frequency"].astype(int).astype(str).to_numpy(),
    })
    export.to_csv(tmp_path / "crm.csv", index=False)
    never = int(days.isna().sum())

    result = segment(tmp_path / "crm.csv", **{**SMALL_RUN, "as_of": found.as_of.isoformat(), "report": True})
    ledger = result.summary["input"]
    assert (ledger["rows_read"], ledger["rows_used"], ledger["rows_dropped"]) == (len(customers), len(customers), {})
    assert ledger["sentinels"] == {"days_since_last_return": [
        {"code": "999", "rows": never, "indicator": "days_since_last_return_is_999", "found": "detected"}]}
    assert result.summary["features"] == ["tenure_days", "days_since_last_return", "monetary", "frequency"]
    assert result.table.params.derived["tenure_days"]["format"] == "%d/%m/%Y"
    tenure = result.table.data["tenure_days"].to_numpy()
    fence = result.table.params.numeric_rules["tenure_days"]["fence"]
    expected = customers["tenure_days"].to_numpy()
    if fence:
        expected = np.clip(expected, *(v if v is not None else np.nan for v in fence))
    np.testing.assert_array_equal(tenure, expected)
    assert (len(customers), never) == (439, 359)
    html = result.to_html(tmp_path / "report.html").read_text()
    assert 'data-test="sentinels"' in html and "days_since_last_return_is_999" in html
    assert 'data-test="derived"' in html and "days from the date in first_purchase (read as %d/%m/%Y)" in html


def test_real_customer_tables_hold_no_codes_or_dates(mall, wholesale):
    for path in (mall, wholesale):
        table, _ = read_table(path)
        result = clean_customers(table, CleanOptions())
        assert result.ledger.sentinels == {} and result.roles.derived == {}, path.name
