"""Issue 18, item 8: ``custseg assign`` reads new data with the options ``custseg run`` takes
(--sheet, --member, --header), and the dates of order lines as the run read them."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from custseg import generate_customers, generate_transactions
from custseg.model import load_model
from custseg.reading import ReadOptions

from test_cli import cli, one_line_error


@pytest.fixture
def customer_model(capsys, tmp_path):
    """A model fitted on 200 generated customers, and the table it was fitted on."""
    table, _ = generate_customers(200, 3, random_state=2)
    path = tmp_path / "fit.csv"
    table.to_csv(path, index=False)
    code, _, err = cli(capsys, "run", path, "--out", tmp_path / "run", "--no-report", "--algorithms", "kmeans",
                       "--k", "2..4")
    assert code == 0, err
    return tmp_path / "run" / "model.json", table


def _assigned(capsys, *args) -> tuple[str, pd.DataFrame]:
    code, out, err = cli(capsys, "assign", *args)
    assert code == 0, err
    out_path = args[args.index("--out") + 1]
    return out, pd.read_csv(out_path)


def test_sheet_picks_one_sheet_of_a_workbook(capsys, customer_model, tmp_path):
    model, table = customer_model
    book = tmp_path / "new.xlsx"
    with pd.ExcelWriter(book) as writer:
        table.head(30).to_excel(writer, sheet_name="March", index=False)
        table.tail(20).to_excel(writer, sheet_name="April", index=False)
    out, assigned = _assigned(capsys, model, book, "--sheet", "April", "--out", tmp_path / "a.csv")
    assert "assigned 20 of 20 customers" in out
    assert assigned["customer_id"].tolist() == table.tail(20)["customer_id"].tolist()
    out, _ = _assigned(capsys, model, book, "--out", tmp_path / "both.csv")   # default: both sheets stacked
    assert "assigned 50 of 50 customers" in out
    assert "sheet" in one_line_error(capsys, "assign", model, book, "--sheet", "May", "--out", tmp_path / "x.csv")


def test_member_picks_one_table_of_an_archive(capsys, customer_model, tmp_path):
    model, table = customer_model
    archive = tmp_path / "new.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("east.csv", table.head(30).to_csv(index=False))
        zipped.writestr("west.csv", table.tail(12).to_csv(index=False))
    out, assigned = _assigned(capsys, model, archive, "--member", "west.csv", "--out", tmp_path / "a.csv")
    assert "assigned 12 of 12 customers" in out
    assert assigned["customer_id"].tolist() == table.tail(12)["customer_id"].tolist()
    message = one_line_error(capsys, "assign", model, archive, "--out", tmp_path / "x.csv")
    assert "holds 2 tables" in message and "--member" in message


def test_header_no_reads_a_headerless_file(capsys, tmp_path):
    table, _ = generate_customers(120, 3, random_state=5)
    numbers = table.select_dtypes("number").drop(columns="customer_id", errors="ignore").iloc[:, :3]
    headerless = tmp_path / "numbers.csv"
    numbers.to_csv(headerless, index=False, header=False)
    code, _, err = cli(capsys, "run", headerless, "--header", "no", "--out", tmp_path / "run", "--no-report",
                       "--algorithms", "kmeans", "--k", "2..4")
    assert code == 0, err
    model = tmp_path / "run" / "model.json"
    out, assigned = _assigned(capsys, model, headerless, "--header", "no", "--out", tmp_path / "a.csv")
    assert "assigned 120 of 120 customers" in out
    run = pd.read_csv(tmp_path / "run" / "segments.csv")
    assert assigned["segment"].tolist() == run["segment"].tolist()
    # read with its first row as a header, the file lacks the model's columns
    message = one_line_error(capsys, "assign", model, headerless, "--header", "yes", "--out", tmp_path / "x.csv")
    assert "column_1" in message


def _log_with_day_first_dates(customers: int, path, random_state: int = 4) -> pd.DataFrame:
    lines, _ = generate_transactions(customers, 3, random_state=random_state)
    lines = lines.dropna(subset=["CustomerID"])
    lines["InvoiceDate"] = pd.to_datetime(lines["InvoiceDate"]).dt.strftime("%d/%m/%Y %H:%M")
    lines.to_csv(path, index=False)
    return lines


def test_order_dates_are_read_as_the_run_read_them(capsys, tmp_path):
    lines = _log_with_day_first_dates(80, tmp_path / "log.csv")
    code, _, err = cli(capsys, "run", tmp_path / "log.csv", "--out", tmp_path / "run", "--no-report",
                       "--algorithms", "kmeans", "--k", "2..4")
    assert code == 0, err
    model = load_model(tmp_path / "run" / "model.json")
    assert model.transactions["date_format"] == "%d/%m/%Y %H:%M"
    # a new batch whose days are all 12 or less: its dates read both ways
    days = pd.to_datetime(lines["InvoiceDate"], format="%d/%m/%Y %H:%M").dt.day
    batch = lines[days <= 12]
    batch.to_csv(tmp_path / "batch.csv", index=False)
    as_run = model.customer_table(tmp_path / "batch.csv")
    day_first = model.customer_table(tmp_path / "batch.csv", read=ReadOptions(date_format="dd/mm/yyyy hh:nn"))
    month_first = model.customer_table(tmp_path / "batch.csv", read=ReadOptions(date_format="%m/%d/%Y %H:%M"))
    pd.testing.assert_frame_equal(as_run, day_first)
    assert not as_run["tenure_days"].equals(month_first["tenure_days"])
    out, _ = _assigned(capsys, tmp_path / "run" / "model.json", tmp_path / "batch.csv", "--out", tmp_path / "a.csv")
    assert f"assigned {len(as_run)} of {len(as_run)} customers" in out
    message = one_line_error(capsys, "assign", tmp_path / "run" / "model.json", tmp_path / "batch.csv",
                             "--date-format", "%Y-%m-%d", "--out", tmp_path / "x.csv")
    assert "'InvoiceDate'" in message and "%Y-%m-%d" in message


def test_date_format_reaches_the_order_lines_of_a_run(capsys, tmp_path):
    lines = _log_with_day_first_dates(80, tmp_path / "log.csv")
    days = pd.to_datetime(lines["InvoiceDate"], format="%d/%m/%Y %H:%M").dt.day
    lines[days <= 12].to_csv(tmp_path / "ambiguous.csv", index=False)
    code, _, err = cli(capsys, "run", tmp_path / "ambiguous.csv", "--date-format", "%d/%m/%Y %H:%M", "--out",
                       tmp_path / "run", "--no-report", "--algorithms", "kmeans", "--k", "2..4")
    assert code == 0, err
    import json

    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["transactions"]["date_format"] == "%d/%m/%Y %H:%M"
    last = pd.to_datetime(lines[days <= 12]["InvoiceDate"], format="%d/%m/%Y %H:%M").max().normalize()
    assert summary["transactions"]["as_of"] == (last + pd.Timedelta(days=1)).date().isoformat()
    assert "date_format" in summary["settings_given"] and "date_format" not in summary["settings_derived"]


def test_reading_options_assign_cannot_honour_are_refused(capsys, customer_model, tmp_path):
    model, table = customer_model
    table.to_csv(tmp_path / "new.csv", index=False)
    message = one_line_error(capsys, "assign", model, tmp_path / "new.csv", "--date-format", "%d/%m/%Y")
    assert "--date-format applies to a model fitted on order lines" in message
    message = one_line_error(capsys, "assign", model, tmp_path / "new.csv", "--engine", "spark", "--sheet", "A")
    assert message.startswith("error: --sheet: the Spark engine reads")
    message = one_line_error(capsys, "assign", model, tmp_path / "new.csv", "--date-format", "dd/mm/yyyy HH:MM")
    assert "--date-format must be a date pattern such as %d/%m/%Y or dd/mm/yyyy" in message
    assert "--header must be one of auto, yes, no" in one_line_error(capsys, "assign", model, tmp_path / "new.csv",
                                                                      "--header", "maybe")
