"""Logs recognised by their shape, not only their names (issue 18, item 1): column roles by
the words of their names, a repeating id with an order date, YYYYMMDD integers, amount-only
logs, logs of customer and date only, and customer tables that stay customer tables."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from custseg import segment
from custseg.cli import main
from custseg.errors import InputError
from custseg.logs.columns import TransactionColumns, detect_transaction_columns, name_words
from custseg.logs.duckdb_engine import customers_from_transactions
from custseg.logs.result import NO_MONEY_NOTE
from custseg.logs.shapes import LOG_REPEAT_SHARE, log_by_shape, repeated_row_share
from custseg.reading.names import id_like_name


def _lines(customers: int = 40) -> list[tuple[int, int, int, float]]:
    """Order lines (customer, YYYYMMDD, cds, dollars): customer c buys 1 + c % 4 times,
    every 10 + c days from 1997-01-01, (c % 3 + 1) CDs at $12 each."""
    rows = []
    for c in range(1, customers + 1):
        for k in range(1 + c % 4):
            day = pd.Timestamp("1997-01-01") + pd.Timedelta(days=k * (10 + c))
            cds = c % 3 + 1
            rows.append((c, int(day.strftime("%Y%m%d")), cds, 12.0 * cds))
    return rows


def _run_cli(*args: str) -> None:
    """``custseg run ARGS`` as a user types it; fails the test unless it exits with 0."""
    with pytest.raises(SystemExit) as exit_info:
        main(["run", *args])
    assert exit_info.value.code in (0, None)


LINES = _lines()
LAST_DAY = max(pd.Timestamp(str(d)) for _, d, _, _ in LINES)


# --------------------------------------------------------------------------- names by words


def test_name_words():
    assert name_words("number_of_cds") == ["number", "of", "cds"]
    assert name_words("TotalSales") == ["total", "sales"]
    assert name_words("dollarValue") == ["dollar", "value"]


@pytest.mark.parametrize("names, quantity, amount", [
    (["customer_id", "date", "number_of_cds", "dollar_value"], "number_of_cds", "dollar_value"),
    (["customer", "order_date", "n_items", "total_sales"], "n_items", "total_sales"),
    (["customer", "order_date", "num_books", "revenue_usd"], "num_books", "revenue_usd"),
    (["customer", "order_date", "cds", "spend"], "cds", "spend"),
    (["customer", "order_date", "qty_bought", "line_amount"], "qty_bought", "line_amount"),
])
def test_amounts_and_quantities_by_words(names, quantity, amount):
    found = detect_transaction_columns(names)
    assert (found.quantity, found.amount, found.price) == (quantity, amount, None)
    assert found.uses_amount and found.has_money


def test_words_do_not_take_ids_dates_prices_or_scores():
    found = detect_transaction_columns(["customer", "order_date", "value_id", "sales_rank", "unit_price", "qty"])
    assert found == TransactionColumns(customer="customer", date="order_date", quantity="qty", price="unit_price")
    # Names alone (words=False), as the pipeline asks first: CDNOW's names are not a log yet.
    assert detect_transaction_columns(["customer_id", "date", "number_of_cds", "dollar_value"], words=False) is None


def test_log_without_money_needs_require_value_false():
    assert detect_transaction_columns(["customer", "date"]) is None
    found = detect_transaction_columns(["customer", "date"], require_value=False)
    assert found == TransactionColumns(customer="customer", date="date") and not found.has_money


def test_id_like_names_and_repeated_share():
    assert [id_like_name(n) for n in ("masterid", "sampleid", "Customer No", "member_number", "paid", "date")] == \
        [True, True, True, True, False, False]
    assert repeated_row_share(pd.Series(["1", "1", "2", "3"])) == 0.5
    assert repeated_row_share(pd.Series([1.0, 1.0, 2.0, np.nan])) == pytest.approx(2 / 3)
    assert LOG_REPEAT_SHARE == 0.5


# --------------------------------------------------------------------------- logs by shape


def _write_master_csv(path):
    """``masterid,sampleid,date,cds,sales``: YYYYMMDD integers, names outside the name lists."""
    text = "masterid,sampleid,date,cds,sales\n" + "".join(
        f"{c:05d},{c % 7:04d},{d},{n},{v:.2f}\n" for c, d, n, v in LINES)
    path.write_text(text)
    return path


def test_log_by_shape_with_yyyymmdd_integers(tmp_path):
    path = _write_master_csv(tmp_path / "master.csv")
    frame = pd.read_csv(path, dtype={"masterid": str})
    found, shape = log_by_shape(frame, "master.csv")
    assert found == TransactionColumns(customer="masterid", date="date", quantity="cds", amount="sales")
    singles = sum(1 for c in range(1, 41) if c % 4 == 0)
    assert shape.repeat_share == pytest.approx((len(LINES) - singles) / len(LINES))
    assert shape.describe() == (f"{shape.repeat_share:.0%} of its rows repeat a 'masterid' (a log from 50%), "
                                "with dates in 'date'")


def test_run_reads_the_shape_log_with_no_option(tmp_path):
    path = _write_master_csv(tmp_path / "master.csv")
    summary = segment(path, algorithms=("kmeans",), k_max=4).summary
    assert summary["source"]["kind"] == "transactions"
    assert summary["source"]["log_by_shape"].startswith("90% of its rows repeat a 'masterid'")
    transactions = summary["transactions"]
    assert transactions["columns"] == {"customer": "masterid", "date": "date", "invoice": None, "quantity": "cds",
                                       "price": None, "amount": "sales", "product": None, "attributes": []}
    assert transactions["date_format"] == "%Y%m%d"
    assert transactions["ledger"]["rows_read"] == len(LINES) == 100
    assert transactions["customers_found"] == 40 and transactions["notes"] == []
    assert transactions["as_of"] == (LAST_DAY + pd.Timedelta(days=1)).date().isoformat()
    # masterid, sampleid and date are not clustered as numbers
    assert "masterid" not in summary["features"] and "sampleid" not in summary["features"]
    assert "date" not in summary["features"] and "monetary" in summary["features"]
    assert summary["rfm"] is not None


def test_amount_only_log(tmp_path):
    path = tmp_path / "amounts.csv"
    rows = [("m1", "2024-01-05", "10.50"), ("m1", "2024-02-05", "4.50"), ("m2", "2024-01-20", "7"),
            ("m2", "2024-01-20", "3"), ("m3", "2024-02-01", "20"), ("m3", "2024-02-09", "0")]
    path.write_text("member_no,purchase_day,dollar_value\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    found, _ = log_by_shape(pd.read_csv(path, dtype=str), "amounts.csv")
    assert found == TransactionColumns(customer="member_no", date="purchase_day", amount="dollar_value")
    result = customers_from_transactions(path, found)
    table = result.customers.set_index("member_no")
    assert table["monetary"].to_dict() == {"m1": 15.0, "m2": 10.0, "m3": 20.0}
    assert table["frequency"].to_dict() == {"m1": 2.0, "m2": 1.0, "m3": 1.0}
    assert result.ledger.rows_dropped == {"zero amount": 1}
    # the $0 line of 2024-02-09 is dropped: the reference date follows the last usable line
    assert result.as_of.isoformat() == "2024-02-06"


def test_id_and_date_log(tmp_path):
    path = tmp_path / "visits.csv"
    days = {"a": ["2024-01-01", "2024-01-11", "2024-01-31"], "b": ["2024-01-15", "2024-01-16"],
            "c": ["2024-01-02"], "d": ["2024-01-20", "2024-01-30"]}
    rows = [(c, d) for c, ds in days.items() for d in ds]
    path.write_text("shopper_id,visit_date\n" + "".join(f"{c},{d}\n" for c, d in rows))
    found, shape = log_by_shape(pd.read_csv(path, dtype=str), "visits.csv")
    assert found == TransactionColumns(customer="shopper_id", date="visit_date") and not found.has_money
    assert shape.repeat_share == pytest.approx(7 / 8)
    result = customers_from_transactions(path, found)
    table = result.customers.set_index("shopper_id")
    assert table["recency_days"].to_dict() == {"a": 1.0, "b": 16.0, "c": 30.0, "d": 2.0}
    assert table["tenure_days"].to_dict() == {"a": 31.0, "b": 17.0, "c": 30.0, "d": 12.0}
    assert table["frequency"].to_dict() == {"a": 3.0, "b": 2.0, "c": 1.0, "d": 2.0}
    assert table.loc["a", "mean_days_between_purchases"] == 15.0 and table.loc["d", "mean_days_between_purchases"] == 10.0
    assert math.isnan(table.loc["c", "mean_days_between_purchases"])
    assert table["monetary"].isna().all() and table["avg_order_value"].isna().all()
    assert result.ledger.rows_used == 8 and result.to_dict()["notes"] == [NO_MONEY_NOTE]
    assert "zero amount lines" not in result.checks


def test_id_and_date_log_is_segmented_without_money(tmp_path):
    rng = np.random.default_rng(3)
    rows = []
    for c in range(60):
        start = pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(rng.integers(0, 200)))
        gap = 7 if c % 2 else 60
        for k in range(2 + c % 5):
            rows.append((f"u{c:03d}", (start + pd.Timedelta(days=k * gap)).date().isoformat()))
    path = tmp_path / "ids_dates.csv"
    path.write_text("user_id,date\n" + "".join(f"{c},{d}\n" for c, d in rows))
    out = tmp_path / "out"
    _run_cli(str(path), "--out", str(out), "--no-report", "--algorithms", "kmeans", "--k", "2..4")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["source"]["kind"] == "transactions"
    assert summary["features"] == ["recency_days", "frequency", "tenure_days", "mean_days_between_purchases"]
    assert summary["transactions"]["notes"] == [NO_MONEY_NOTE]
    assert summary["rfm"] is None
    segments = pd.read_csv(out / "segments.csv")
    # The customer value (issue 20) without money: P(alive) and purchases only, value columns empty.
    assert list(segments.columns) == ["user_id", "segment", "segment_name", "p_alive", "expected_purchases",
                                      "expected_value_per_purchase", "clv", "year_spend"] and len(segments) == 60
    assert segments["p_alive"].between(0, 1).all()
    assert segments[["expected_value_per_purchase", "clv", "year_spend"]].isna().all().all()


def test_shape_says_log_but_amount_unknown(tmp_path):
    path = tmp_path / "unknown.csv"
    path.write_text("masterid,date,x\n1,20240101,5\n1,20240105,6\n2,20240102,7\n2,20240103,8\n")
    with pytest.raises(InputError) as caught:
        segment(path)
    assert str(caught.value) == (
        f"{path} looks like a transaction log (100% of its rows repeat a 'masterid' (a log from 50%), "
        "with dates in 'date') but no column is named as an amount or a quantity among 'x': "
        "give --amount-col (or --quantity-col), or --kind customers")


def test_customer_table_with_a_few_repeated_ids_stays_a_customer_table(tmp_path):
    rng = np.random.default_rng(0)
    ids = list(range(1, 61)) + [5, 17, 33]
    frame = pd.DataFrame({
        "customer_id": ids,
        "signup_date": [f"2020-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(len(ids))],
        "age": rng.integers(20, 70, len(ids)), "income": rng.normal(50, 10, len(ids)).round(1),
        "total_spend": rng.gamma(2, 100, len(ids)).round(2),
    })
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    assert log_by_shape(pd.read_csv(path, dtype=str), "customers.csv") is None
    out = tmp_path / "out"
    _run_cli(str(path), "--out", str(out), "--algorithms", "kmeans", "--k", "2..3")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["source"]["kind"] == "customers"
    assert summary["input"]["rows_read"] == 63 and summary["input"]["rows_dropped"] == {"duplicate id": 3}
    # reported, not silently halved: 6 rows carry the 3 repeated ids
    assert summary["input"]["repeated_ids"] == {"column": "customer_id", "rows": 6, "ids": 3,
                                                "share": round(6 / 63, 6)}
    warning = ("6 of 63 rows (9.5%) share a customer id with another row (3 ids in 'customer_id'); the first "
               "row of each id was kept and 3 dropped. If each row is an order or a visit, run with --kind "
               "transactions")
    assert f'data-test="repeated-ids"><strong>Customer ids repeat.</strong> {warning}.' in (
        out / "report.html").read_text().replace("&#39;", "'")
    frame.drop_duplicates("customer_id").to_csv(path, index=False)
    assert "repeated_ids" not in segment(path, algorithms=("kmeans",), k_max=3, report=False).summary["input"]


@pytest.mark.parametrize("name", ["mall_customers.csv", "wholesale_customers.csv", "telco_customer_churn.csv"])
def test_real_customer_tables_are_not_logs_by_shape(shared_data, name):
    from custseg.reading import ReadOptions, read_table

    frame, _ = read_table(shared_data / name, ReadOptions())
    assert log_by_shape(frame, name) is None


# --------------------------------------------------------------------------- CDNOW


def _aligned(path, rows):
    """CDNOW's own layout: whitespace-aligned, leading space, CRLF, zero-padded ids."""
    text = " customer_id  date number_of_cds  dollar_value\r\n" + "".join(
        f" {c:05d} {d}  {n}   {v:.2f}\r\n" for c, d, n, v in rows)
    path.write_text(text, newline="")
    return path


def test_cdnow_layout_with_explicit_kind_needs_no_column_option(tmp_path):
    path = _aligned(tmp_path / "cdnow.txt", LINES)
    result = customers_from_transactions(path)
    assert result.columns == TransactionColumns(customer="customer_id", date="date", quantity="number_of_cds",
                                                amount="dollar_value")
    assert result.date_format == "%Y%m%d" and result.customers_found == 40
    table = result.customers.set_index("customer_id")
    assert table.loc["00007", "monetary"] == 12.0 * 2 * 4 and table.loc["00007", "items_per_order"] == 2.0


@pytest.fixture(scope="module")
def cdnow_runs(tmp_path_factory):
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
    if not data.is_file():
        pytest.skip(f"real data not found at {data}")
    out = tmp_path_factory.mktemp("cdnow")
    _run_cli(str(data), "--out", str(out / "auto"), "--no-report")
    _run_cli(str(data), "--out", str(out / "named"), "--no-report", "--kind", "transactions",
             "--customer-col", "customer_id", "--date-col", "date", "--quantity-col", "number_of_cds",
             "--amount-col", "dollar_value")
    return out / "auto", out / "named"


def test_cdnow_is_read_as_a_log_with_no_option(cdnow_runs):
    auto, named = cdnow_runs
    summary = json.loads((auto / "summary.json").read_text())
    assert summary["source"]["kind"] == "transactions"
    assert summary["source"]["log_by_shape"].startswith("83% of its rows repeat a 'customer_id'")
    assert summary["transactions"]["ledger"]["rows_read"] == 69_659
    assert summary["transactions"]["customers_found"] == 23_570
    assert summary["transactions"]["columns"]["quantity"] == "number_of_cds"
    assert summary["transactions"]["columns"]["amount"] == "dollar_value"
    assert (auto / "segments.csv").read_bytes() == (named / "segments.csv").read_bytes()


# --------------------------------------------------------------------------- no header


def _headerless(path, rows, price: float = 11.99):
    """CDNOW's sample layout: no header; master id, sample id (one per customer), date, cds,
    dollars (``price`` per CD)."""
    text = "".join(f" {c:05d} {c:04d} {d}  {n}   {n * price:.2f}\r\n" for c, d, n, _ in rows)
    path.write_text(text, newline="")
    return path


def test_a_log_without_a_header_is_read_from_its_values(tmp_path):
    path = _headerless(tmp_path / "sample.txt", LINES)
    summary = segment(path, algorithms=("kmeans",), k_max=3, stability_resamples=2, report=False).summary
    assert summary["source"]["kind"] == "transactions" and summary["source"]["header"] is False
    assert summary["transactions"]["columns"] == {
        "customer": "column_1", "date": "column_3", "invoice": None, "quantity": "column_4", "price": None,
        "amount": "column_5", "product": None, "attributes": []}
    assert summary["source"]["log_by_shape"] == (
        "90% of its rows repeat a 'column_1' (a log from 50%), with dates in 'column_3'; no header, so read "
        "from the values: amount 'column_5', quantity 'column_4', second id 'column_2'")
    assert summary["transactions"]["customers_found"] == 40
    assert summary["transactions"]["ledger"]["rows_read"] == len(LINES)
    assert not any(f.startswith("column_") for f in summary["features"])


def test_a_log_without_a_header_and_no_cents_asks_for_the_amount(tmp_path):
    path = _headerless(tmp_path / "whole.txt", LINES, price=12.0)
    with pytest.raises(InputError) as caught:
        segment(path)
    assert str(caught.value) == (
        f"{path} looks like a transaction log (90% of its rows repeat a 'column_1' (a log from 50%), "
        "with dates in 'column_3') but no column is named as an amount or a quantity among 'column_2', "
        "'column_4', 'column_5': give --amount-col (or --quantity-col), or --kind customers")


def test_a_customer_table_without_a_header_stays_one(tmp_path):
    """Repeating whole numbers (ages, scores) and no order date: a customer table."""
    rng = np.random.default_rng(1)
    rows = [(20 + i % 40, int(rng.integers(1, 100)), round(float(rng.normal(50, 9)), 2)) for i in range(120)]
    path = tmp_path / "table.csv"
    path.write_text("".join(f"{a},{s},{x}\n" for a, s, x in rows))
    frame = pd.read_csv(path, header=None, dtype=str)
    frame.columns = ["column_1", "column_2", "column_3"]
    assert log_by_shape(frame, "table.csv") is None
    assert segment(path, algorithms=("kmeans",), k_max=3, report=False).summary["source"]["kind"] == "customers"


def test_the_cdnow_sample_is_a_log_by_its_values(shared_data):
    from custseg.reading import ReadOptions, read_table

    frame, _ = read_table(shared_data / "cdnow" / "CDNOW_sample.txt", ReadOptions())
    found, shape = log_by_shape(frame, "CDNOW_sample.txt")
    assert found == TransactionColumns(customer="column_1", date="column_3", quantity="column_4", amount="column_5")
    assert frame["column_1"].nunique() == 2_357 and dict(shape.by_values)["second id"] == "column_2"
