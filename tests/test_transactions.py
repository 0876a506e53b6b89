"""Tests for custseg.logs (columns, rules, rfm, duckdb_engine): column detection, line fates, features, RFM.

The hand-made log (``HAND_LOG``, Online Retail layout) has 21 lines and 5 customers; with
``as_of = 2024-03-11`` every value below is computed by hand in the comments:

 #  invoice  code  qty  date              price  customer  country          fate
 1  1001     P1      2  2024-03-01 10:00   5.00  101       United Kingdom   used, purchase 10.00
 2  1001     P2      1  2024-03-01 10:00   3.00  101       United Kingdom   used, purchase  3.00
 3  1002     P1      1  2024-03-01 15:30   5.00  101       United Kingdom   used, purchase  5.00 (same-day 2nd order)
 4  1002     POST    1  2024-03-01 15:30   2.00  101       United Kingdom   used, purchase  2.00 (non-product)
 5  C1003    P1     -1  2024-03-05 09:00   5.00  101       United Kingdom   used, return   -5.00 (cancellation)
 6  1004     P3      4  2024-03-10 11:00   1.50  101       France           used, purchase  6.00
 7  = line 6                                                                dropped: exact duplicate
 8  2001     P2     10  2024-02-20 09:00   3.00  102.0     France           used, purchase 30.00 (id as float)
 9  2002     P2      5  2024-03-08 09:00   3.00  102       France           used, purchase 15.00
10  2002     P4      1  2024-03-08 09:00   0.00  102       France           dropped: zero price
11  2003     P5     -2  2024-03-09 14:00   4.00  102       France           used, return   -8.00 (no C)
12  C3001    P1     -3  2024-03-02 10:00   5.00  103       United Kingdom   used, return  -15.00 (no matching purchase)
13  4001     P6      1  2024-01-15 10:00  10.00  104       Germany          used, purchase 10.00
14  C4002    P6     -2  2024-01-20 10:00  10.00  104       Germany          used, return  -20.00
15  5001     P1      3  2023-12-01 12:00   5.00  105       United Kingdom   used, purchase 15.00
16  5001     P7      6  2023-12-01 12:00   2.50  105       Belgium          used, purchase 15.00
17  A5002    B       1  2024-02-01 10:00 100.00  105       United Kingdom   dropped: adjustment
18  5003     P1      1  2024-04-01 10:00   5.00  105       United Kingdom   dropped: future-dated
19  6001     P1      1  2024-03-03 10:00   5.00  (none)    United Kingdom   dropped: no customer id
20  2004     P8      1  2024-03-09 14:00  -1.00  102       France           dropped: negative price
21  = line 19                                                               dropped: no customer id
"""

from __future__ import annotations

import datetime
import functools
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from custseg.errors import InputError, SettingsError
from custseg.logs.columns import TransactionColumns, detect_transaction_columns
from custseg.logs.duckdb_engine import customers_from_transactions
from custseg.logs.rfm import RFM_GRID, RFM_SEGMENTS, rfm_scores, rfm_segment
from custseg.logs.rules import CLUSTER_FEATURES, FEATURE_COLUMNS, customer_queries, lines_query

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
HAND_LINES = [
    "1001,P1,ITEM ONE,2,2024-03-01 10:00:00,5.00,101,United Kingdom",
    "1001,P2,ITEM TWO,1,2024-03-01 10:00:00,3.00,101,United Kingdom",
    "1002,P1,ITEM ONE,1,2024-03-01 15:30:00,5.00,101,United Kingdom",
    "1002,POST,POSTAGE,1,2024-03-01 15:30:00,2.00,101,United Kingdom",
    "C1003,P1,ITEM ONE,-1,2024-03-05 09:00:00,5.00,101,United Kingdom",
    "1004,P3,ITEM THREE,4,2024-03-10 11:00:00,1.50,101,France",
    "1004,P3,ITEM THREE,4,2024-03-10 11:00:00,1.50,101,France",
    "2001,P2,ITEM TWO,10,2024-02-20 09:00:00,3.00,102.0,France",
    "2002,P2,ITEM TWO,5,2024-03-08 09:00:00,3.00,102,France",
    "2002,P4,FREE GIFT,1,2024-03-08 09:00:00,0.00,102,France",
    "2003,P5,ITEM FIVE,-2,2024-03-09 14:00:00,4.00,102,France",
    "C3001,P1,ITEM ONE,-3,2024-03-02 10:00:00,5.00,103,United Kingdom",
    "4001,P6,ITEM SIX,1,2024-01-15 10:00:00,10.00,104,Germany",
    "C4002,P6,ITEM SIX,-2,2024-01-20 10:00:00,10.00,104,Germany",
    "5001,P1,ITEM ONE,3,2023-12-01 12:00:00,5.00,105,United Kingdom",
    "5001,P7,ITEM SEVEN,6,2023-12-01 12:00:00,2.50,105,Belgium",
    "A5002,B,Adjust bad debt,1,2024-02-01 10:00:00,100.00,105,United Kingdom",
    "5003,P1,ITEM ONE,1,2024-04-01 10:00:00,5.00,105,United Kingdom",
    "6001,P1,ITEM ONE,1,2024-03-03 10:00:00,5.00,,United Kingdom",
    "2004,P8,ITEM EIGHT,1,2024-03-09 14:00:00,-1.00,102,France",
    "6001,P1,ITEM ONE,1,2024-03-03 10:00:00,5.00,,United Kingdom",
]
HAND_LOG = HEADER + "\n" + "\n".join(HAND_LINES) + "\n"
AS_OF = datetime.date(2024, 3, 11)

# Customer 101: purchases on invoices 1001, 1002 (both 2024-03-01) and 1004 (03-10); the
#   return C1003 is -5. frequency 3; purchase days 03-01 and 03-10.
#   recency 11 - 10 = 1; tenure 11 - 1 = 10; gross 10 + 3 + 5 + 2 + 6 = 26; net 26 - 5 = 21;
#   avg order 26 / 3; product units 2 + 1 + 1 + 4 = 8 (POST left out) -> 8 / 3;
#   products P1, P2, P3 = 3; return rate 5 / 26; mean days between (10 - 1) / (2 - 1) = 9;
#   all purchases within 90 days -> share 1; country: UK 10+3+5+2 = 20 > France 6 -> UK.
# Customer 102 (id 102.0 and 102 are one customer): purchases 2001 (02-20, 30) and 2002
#   (03-08, 15); return -8 (line 11). frequency 2; recency 11 - 8 = 3; tenure: Feb 20 ->
#   Mar 11 2024 (leap year) = 9 + 11 = 20; gross 45, net 37; avg 22.5; units 15 / 2 = 7.5;
#   products {P2} = 1; return rate 8 / 45; mean days (Feb 20 -> Mar 8 = 17) / 1 = 17; share 1.
# Customer 103: only a cancellation -> dropped ("only cancellations or returns").
# Customer 104: gross 10, net 10 - 20 = -10 -> dropped ("net spend <= 0").
# Customer 105: one order 5001 on 2023-12-01 (15 + 15 = 30); A5002 and the future 5003 are
#   dropped. recency = tenure = Dec 1 -> Mar 11 = 30 + 31 + 29 + 11 = 101; frequency 1;
#   net 30; avg 30; units 3 + 6 = 9; products 2; return rate 0; one purchase day -> NaN;
#   101 days > 90 -> share 0; country: UK 15 = Belgium 15 -> tie -> Belgium (first by name).
EXPECTED = pd.DataFrame({
    "CustomerID": ["101", "102", "105"],
    "recency_days": [1.0, 3.0, 101.0],
    "frequency": [3.0, 2.0, 1.0],
    "monetary": [21.0, 37.0, 30.0],
    "tenure_days": [10.0, 20.0, 101.0],
    "avg_order_value": [26 / 3, 22.5, 30.0],
    "items_per_order": [8 / 3, 7.5, 9.0],
    "distinct_products": [3.0, 1.0, 2.0],
    "return_rate": [5 / 26, 8 / 45, 0.0],
    "mean_days_between_purchases": [9.0, 17.0, np.nan],
    "recent_spend_share": [1.0, 1.0, 0.0],
    "Country": ["United Kingdom", "France", "Belgium"],
})
# Exclusive fates: lines 19 and 21; line 7; line 17; lines 10 and 20; line 18. 21 - 7 = 14 used.
EXPECTED_DROPPED = {
    "no customer id": 2,
    "exact duplicate": 1,
    "adjustment": 1,
    "zero or negative price": 2,
    "future-dated": 1,
}
# Overlapping: cancellations C1003, C3001, C4002; negative quantities lines 5, 11, 12, 14;
# duplicates: line 7 and line 21; non-products POST (4) and B (17).
EXPECTED_CHECKS = {
    "lines without customer id": 2,
    "cancellation lines": 3,
    "adjustment lines": 1,
    "exact duplicate lines": 2,
    "negative quantity lines": 4,
    "zero price lines": 1,
    "negative price lines": 1,
    "non-product lines": 2,
    "future-dated lines": 1,
}


@pytest.fixture
def hand_csv(tmp_path) -> Path:
    path = tmp_path / "orders.csv"
    path.write_text(HAND_LOG)
    return path


def _hand_frame() -> pd.DataFrame:
    """The hand log as a typed DataFrame: ids as floats with NaN, dates as datetime64."""
    frame = pd.DataFrame([line.split(",") for line in HAND_LINES], columns=HEADER.split(","))
    frame["Quantity"] = frame["Quantity"].astype("int64")
    frame["UnitPrice"] = frame["UnitPrice"].astype("float64")
    frame["CustomerID"] = pd.to_numeric(frame["CustomerID"].replace("", np.nan))
    frame["InvoiceDate"] = pd.to_datetime(frame["InvoiceDate"])
    return frame


def _check_hand(result) -> None:
    pd.testing.assert_frame_equal(result.customers, EXPECTED, check_exact=False, rtol=1e-12)
    assert list(result.customers.columns) == ["CustomerID", *FEATURE_COLUMNS, "Country"]
    assert all(result.customers[c].dtype == "float64" for c in FEATURE_COLUMNS)
    assert result.ledger.rows_read == 21
    assert result.ledger.rows_dropped == EXPECTED_DROPPED
    assert result.ledger.rows_used == 14
    assert result.checks == EXPECTED_CHECKS
    assert result.customers_found == 5
    assert result.customers_dropped == {"only cancellations or returns": 1, "net spend <= 0": 1}
    assert result.as_of == AS_OF


def test_hand_log_from_csv(hand_csv):
    steps = []
    result = customers_from_transactions(hand_csv, as_of="2024-03-11",
                                         on_progress=lambda *a: steps.append(a))
    _check_hand(result)
    assert result.columns == TransactionColumns(
        customer="CustomerID", date="InvoiceDate", invoice="InvoiceNo", quantity="Quantity",
        price="UnitPrice", product="StockCode", attributes=("Country",),
    )
    assert steps[0][1] == 0 and steps[-1][1] == steps[-1][2]


def test_hand_log_from_dataframe():
    _check_hand(customers_from_transactions(_hand_frame(), as_of=AS_OF))


def test_hand_log_from_text_dataframe():
    frame = pd.DataFrame([line.split(",") for line in HAND_LINES], columns=HEADER.split(","), dtype=str)
    _check_hand(customers_from_transactions(frame, as_of=datetime.datetime(2024, 3, 11, 18, 0)))


def test_hand_log_from_excel_and_from_semicolon_latin1_gzip(tmp_path):
    import gzip

    _hand_frame().to_excel(tmp_path / "orders.xlsx", index=False)
    _check_hand(customers_from_transactions(tmp_path / "orders.xlsx", as_of=AS_OF))
    text = HAND_LOG.replace(",", ";").replace("ITEM ONE", "CAFÉ CRÈME")
    (tmp_path / "orders.csv.gz").write_bytes(gzip.compress(text.encode("latin-1")))
    _check_hand(customers_from_transactions(tmp_path / "orders.csv.gz", as_of=AS_OF))


def test_day_first_dates_decided_by_the_whole_column(tmp_path):
    # The first 20,000 lines fit both day-first and month-first; only the last one decides.
    rows = [f"{i},c{i % 7},01/02/2024,1,2.5" for i in range(20_000)] + ["20000,c1,25/02/2024,1,2.5"]
    path = tmp_path / "orders.csv"
    path.write_text("order_id,customer_id,order_date,quantity,price\n" + "\n".join(rows) + "\n")
    result = customers_from_transactions(path)
    assert result.date_format == "%d/%m/%Y"
    assert result.as_of == datetime.date(2024, 2, 26)


def test_default_as_of_is_the_day_after_the_last_used_line(hand_csv):
    result = customers_from_transactions(hand_csv)
    # Line 18 (2024-04-01) is no longer in the future: as_of = 2024-04-02.
    assert result.as_of == datetime.date(2024, 4, 2)
    assert result.checks["future-dated lines"] == 0
    assert "future-dated" not in result.ledger.rows_dropped
    assert result.ledger.rows_used == 15
    c105 = result.customers.set_index("CustomerID").loc["105"]
    # Orders 5001 (2023-12-01, 30) and 5003 (2024-04-01, 5): recency 1; frequency 2.
    assert (c105["recency_days"], c105["frequency"], c105["monetary"]) == (1.0, 2.0, 35.0)
    # Dec 1 2023 -> Apr 2 2024 = 30 + 31 + 29 + 31 + 2 = 123 days; 122 days between the two.
    assert (c105["tenure_days"], c105["mean_days_between_purchases"]) == (123.0, 122.0)
    # Only order 5003 (5 of 35) falls in the 90 days before Apr 2.
    assert c105["recent_spend_share"] == pytest.approx(5 / 35)


def test_to_dict_is_plain(hand_csv):
    import json

    result = customers_from_transactions(hand_csv, as_of="2024-03-11")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["ledger"]["rows_used"] == 14
    assert data["checks"] == EXPECTED_CHECKS
    assert data["customers_found"] == 5 and data["customers_kept"] == 3
    assert data["customers_dropped"] == {"only cancellations or returns": 1, "net spend <= 0": 1}
    assert data["as_of"] == "2024-03-11"
    assert TransactionColumns.from_dict(data["columns"]) == result.columns


def test_amount_log_cdnow_style(tmp_path):
    path = tmp_path / "cdnow.csv"
    path.write_text(
        "customer,date,units,dollars\n"
        "1,19970101,2,29.33\n"     # same day as the next line: one order
        "1,19970101,1,10.00\n"
        "1,19970115,1,-5.00\n"     # a refund: a return
        "2,19970102,1,12.00\n"
        "3,19970103,1,0\n"         # zero amount: dropped
    )
    result = customers_from_transactions(path)
    assert result.columns.amount == "dollars" and result.columns.price is None
    assert result.as_of == datetime.date(1997, 1, 16)      # last used line 1997-01-15, + 1
    table = result.customers.set_index("customer")
    # Customer 1: one order (1997-01-01): recency 15, gross 39.33, net 34.33, units 3,
    # returned 5 / 39.33; customer 2: recency 14, one order of 12.
    assert table.loc["1", "frequency"] == 1.0
    assert table.loc["1", "recency_days"] == 15.0
    assert table.loc["1", "monetary"] == pytest.approx(34.33, abs=1e-9)
    assert table.loc["1", "avg_order_value"] == pytest.approx(39.33, abs=1e-9)
    assert table.loc["1", "items_per_order"] == 3.0
    assert table.loc["1", "return_rate"] == pytest.approx(5 / 39.33)
    assert np.isnan(table.loc["1", "distinct_products"])
    assert np.isnan(table.loc["1", "mean_days_between_purchases"])
    assert (table.loc["2", "recency_days"], table.loc["2", "monetary"]) == (14.0, 12.0)
    assert result.ledger.rows_dropped == {"zero amount": 1}
    assert result.checks["zero amount lines"] == 1 and result.checks["negative amount lines"] == 1
    assert result.customers_dropped == {"no usable lines": 1}


def test_generic_shop_export_without_quantity(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text(
        "order_id,customer_id,order_date,total\n"
        "A-1,c1,03/02/2024,20.5\n"
        "A-2,c1,03/14/2024,10\n"       # month-first dates: 14 cannot be a month
        "CA-3,c2,03/10/2024,7\n"       # not a cancellation: "C" is not followed by a digit
    )
    result = customers_from_transactions(path)
    assert result.date_format == "%m/%d/%Y"
    table = result.customers.set_index("customer_id")
    assert table.loc["c1", "frequency"] == 2.0 and table.loc["c1", "monetary"] == 30.5
    assert table.loc["c1", "tenure_days"] == 13.0 and table.loc["c1", "recency_days"] == 1.0
    assert np.isnan(table.loc["c1", "items_per_order"])
    assert table.loc["c2", "monetary"] == 7.0
    assert result.checks["cancellation lines"] == 0


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize("names, expected", [
    (["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"],
     dict(customer="CustomerID", date="InvoiceDate", invoice="InvoiceNo", quantity="Quantity",
          price="UnitPrice", product="StockCode", attributes=("Country",))),
    (["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"],
     dict(customer="Customer ID", date="InvoiceDate", invoice="Invoice", quantity="Quantity",
          price="Price", product="StockCode", attributes=("Country",))),
    (["customer", "date", "units", "dollars"],
     dict(customer="customer", date="date", quantity="units", amount="dollars")),
    (["order_id", "customer_id", "order_date", "total"],
     dict(customer="customer_id", date="order_date", invoice="order_id", amount="total")),
    (["ORDER ID", "Customer Id", "Order Date", "Ship Date", "Sales", "Quantity", "Region"],
     dict(customer="Customer Id", date="Order Date", invoice="ORDER ID", quantity="Quantity",
          amount="Sales", attributes=("Region",))),
])
def test_detects_common_layouts(names, expected):
    assert detect_transaction_columns(names) == TransactionColumns(**expected)


def test_customer_tables_are_not_transaction_logs():
    assert detect_transaction_columns(["CustomerID", "Genre", "Age", "Annual Income (k$)",
                                       "Spending Score (1-100)"]) is None
    assert detect_transaction_columns(["Channel", "Region", "Fresh", "Milk"]) is None
    assert detect_transaction_columns(["customer", "date", "units"]) is None


def test_overrides():
    names = ["buyer", "when", "n", "each", "ref"]
    assert detect_transaction_columns(names) is None
    found = detect_transaction_columns(
        names, {"customer": "buyer", "date": "when", "quantity": "n", "price": "each", "invoice": "ref"})
    assert found == TransactionColumns(customer="buyer", date="when", invoice="ref", quantity="n", price="each")
    found = detect_transaction_columns(["customer", "date", "units", "dollars", "paid"], {"amount": "paid"})
    assert found.amount == "paid" and found.uses_amount
    with pytest.raises(InputError, match=r"'shopper' not found; columns are: buyer, when"):
        detect_transaction_columns(names, {"customer": "shopper"})
    with pytest.raises(SettingsError, match="unknown transaction column role"):
        detect_transaction_columns(names, {"buyer": "buyer"})


# --------------------------------------------------------------------------- errors


def test_dates_that_do_not_parse(tmp_path):
    path = tmp_path / "bad_dates.csv"
    path.write_text(HEADER + "\n" + "\n".join(HAND_LINES[:5]) + "\n"
                    + "1005,P1,X,1,not a date,5.00,101,UK\n1006,P1,X,1,soon,5.00,101,UK\n")
    with pytest.raises(InputError, match=r"bad_dates.csv: date column 'InvoiceDate' is not all dates: "
                                         r"2 of 7 values do not parse .*e.g. 'not a date'"):
        customers_from_transactions(path)


def test_column_without_dates(tmp_path):
    path = tmp_path / "no_dates.csv"
    path.write_text("customer,date,dollars\n1,soon,5\n2,later,6\n")
    with pytest.raises(InputError, match=r"column 'date' does not hold dates \(e.g. '"):
        customers_from_transactions(path)


def test_quantity_that_is_not_numeric(tmp_path):
    path = tmp_path / "bad_quantity.csv"
    path.write_text(HEADER + "\n" + "\n".join(HAND_LINES[:5]) + "\n1005,P1,X,two,2024-03-01 10:00:00,5.00,101,UK\n")
    with pytest.raises(InputError, match=r"bad_quantity.csv: quantity column 'Quantity' is not numeric: "
                                         r"1 of 6 values do not parse as numbers, e.g. 'two'"):
        customers_from_transactions(path)
    frame = pd.read_csv(path, dtype=str)
    with pytest.raises(InputError, match=r"the DataFrame: quantity column 'Quantity' is not numeric"):
        customers_from_transactions(frame)


def test_no_lines_left(tmp_path):
    path = tmp_path / "anonymous.csv"
    path.write_text(HEADER + "\n" + HAND_LINES[18] + "\n" + HAND_LINES[20] + "\n")
    with pytest.raises(InputError, match=r"no order lines left after cleaning \(of 2 lines: 2 no customer id\)"):
        customers_from_transactions(path)


def test_not_a_transaction_log(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("CustomerID,Age,Income\n1,30,50\n2,40,60\n")
    with pytest.raises(InputError, match=r"does not look like a transaction log.*columns are: CustomerID, Age, Income"):
        customers_from_transactions(path)
    with pytest.raises(InputError, match="file not found"):
        customers_from_transactions(tmp_path / "missing.csv")
    with pytest.raises(InputError, match="no file matches"):
        customers_from_transactions(str(tmp_path / "daily" / "*.csv"))


def test_bad_as_of(hand_csv):
    with pytest.raises(SettingsError, match="as_of must be a date"):
        customers_from_transactions(hand_csv, as_of="yesterday")


# --------------------------------------------------------------------------- RFM


def test_rfm_scores_with_ties():
    table = pd.DataFrame({
        "recency_days": [1, 1, 10, 30, 100],
        "frequency": [5, 1, 1, 2, 3],
        "monetary": [500.0, 20.0, 20.0, 80.0, 40.5],
    }, index=["a", "b", "c", "d", "e"])
    scores = rfm_scores(table)
    # n = 5; score = 1 + floor(5 * worse / 5) = 1 + worse.
    # recency (worse = strictly longer): 1 -> 3 worse (10, 30, 100) -> 4 (tie: both 4);
    #   10 -> 2 -> 3; 30 -> 1 -> 2; 100 -> 0 -> 1.
    # frequency (worse = strictly fewer): 5 -> 4 -> 5; 1 -> 0 -> 1 (tie); 2 -> 2 -> 3; 3 -> 3 -> 4.
    # monetary: 500 -> 5; 20 -> 1 (tie); 80 -> 3 worse -> 4; 40.5 -> 2 worse -> 3.
    assert scores["r_score"].tolist() == [4, 4, 3, 2, 1]
    assert scores["f_score"].tolist() == [5, 1, 1, 3, 4]
    assert scores["m_score"].tolist() == [5, 1, 1, 4, 3]
    assert scores["rfm_score"].tolist() == ["455", "411", "311", "234", "143"]
    # FM = floor((F + M) / 2 + 0.5): a 5, b 1, c 1, d (3+4)/2 = 3.5 -> 4, e (4+3)/2 -> 4.
    # R4 FM5 Champions; R4 FM1 Promising; R3 FM1 About to Sleep; R2 FM4 At Risk; R1 FM4 At Risk.
    assert scores["rfm_segment"].tolist() == ["Champions", "Promising", "About to Sleep", "At Risk", "At Risk"]
    assert list(scores.index) == list(table.index)
    assert scores["r_score"].dtype == "int64"
    # Row order does not change anyone's scores.
    shuffled = rfm_scores(table.iloc[[3, 0, 4, 2, 1]])
    pd.testing.assert_frame_equal(shuffled.loc[table.index], scores)


def test_rfm_quintiles_of_distinct_values():
    table = pd.DataFrame({"recency_days": np.arange(10, 0, -1), "frequency": np.arange(1, 11),
                          "monetary": np.arange(1, 11) * 10.0})
    # worse = 0..9 -> 1 + floor(worse / 2) = 1,1,2,2,3,3,4,4,5,5 for all three.
    expected = [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    scores = rfm_scores(table)
    assert scores["r_score"].tolist() == expected
    assert scores["f_score"].tolist() == expected
    assert scores["m_score"].tolist() == expected
    assert scores["rfm_segment"].tolist() == [
        "Lost", "Lost", "Hibernating", "Hibernating", "Need Attention", "Need Attention",
        "Loyal Customers", "Loyal Customers", "Champions", "Champions",
    ]


def test_rfm_grid_covers_25_cells_with_the_11_names():
    cells = {(r, fm): RFM_GRID[r][fm - 1] for r in range(1, 6) for fm in range(1, 6)}
    assert len(cells) == 25 and set(RFM_GRID) == {1, 2, 3, 4, 5}
    assert all(len(row) == 5 for row in RFM_GRID.values())
    assert set(cells.values()) == set(RFM_SEGMENTS)
    assert len(RFM_SEGMENTS) == 11
    assert set(RFM_SEGMENTS) == {
        "Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "Promising",
        "Need Attention", "About to Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost",
    }
    for name, info in RFM_SEGMENTS.items():
        assert info["description"] and "\n" not in info["description"]
        assert 1 <= len(info["actions"]) <= 2
    assert RFM_GRID[5] == ("New Customers", "Potential Loyalists", "Potential Loyalists",
                           "Loyal Customers", "Champions")
    assert RFM_GRID[3] == ("About to Sleep", "About to Sleep", "Need Attention",
                           "Loyal Customers", "Loyal Customers")
    assert RFM_GRID[1] == ("Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them")
    # Every (R, F, M) of the 125 maps to exactly the cell of its rounded FM (half up).
    assert rfm_segment(5, 2, 3) == RFM_GRID[5][2]      # (2 + 3) / 2 = 2.5 -> 3
    assert rfm_segment(2, 5, 4) == "Can't Lose Them"   # 4.5 -> 5
    assert rfm_segment(2, 1, 2) == "Hibernating"       # 1.5 -> 2
    assert set(CLUSTER_FEATURES) <= set(FEATURE_COLUMNS)


# --------------------------------------------------------------------------- SQL


def test_feature_sql_transpiles_to_spark():
    sqlglot = pytest.importorskip("sqlglot")
    from sqlglot.errors import ErrorLevel

    columns = detect_transaction_columns(HEADER.split(","))
    queries = customer_queries(columns, AS_OF)
    for sql in (lines_query(columns, HEADER.split(",")), queries["checks"], queries["features"]):
        spark = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)[0]
        assert "`CustomerID`" in spark or "FROM lines" in spark
    assert "COUNT(DISTINCT order_key) FILTER(WHERE is_purchase)" in spark


def test_padded_codes_are_trimmed_and_other_text_kept(tmp_path):
    # " 7" and "7\u00a0" (a no-break space, as Excel exports write it) are customer 7; the
    # invoice " 1 " and product "\u00a0P1" lose their padding too; "Zoë" stays as written.
    frame = pd.DataFrame({
        "customer": [" 7", "7\u00a0", "Zoë", "Zoë "],
        "invoice": [" 1 ", "2", "3", "3"],
        "product": ["\u00a0P1", "P1", "P2", "P3"],
        "date": ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-03"],
        "quantity": [1.0, 2.0, 1.0, 1.0],
        "price": [5.0, 5.0, 2.0, 3.0],
    })
    found = customers_from_transactions(frame, as_of="2024-01-04")
    table = found.customers.set_index("customer")
    assert list(table.index) == ["7", "Zoë"]
    assert table.loc["7", ["frequency", "monetary", "distinct_products"]].tolist() == [2.0, 15.0, 1.0]
    assert table.loc["Zoë", ["frequency", "monetary", "distinct_products"]].tolist() == [1.0, 5.0, 2.0]


def test_lines_worth_more_than_a_trillion_are_summed_exactly():
    # 2,000,000 x 999,999.99 = 1,999,999,980,000 does not fit DECIMAL(18, 6): the lines are
    # read again with 38 digits, and the sums stay exact.
    frame = pd.DataFrame({
        "customer": ["a", "a", "b"],
        "invoice": ["1", "2", "3"],
        "date": ["2024-01-01", "2024-01-02", "2024-01-02"],
        "quantity": [2_000_000.0, 1.0, 1.0],
        "price": [999_999.99, 0.01, 4.5],
    })
    found = customers_from_transactions(frame, as_of="2024-01-03")
    table = found.customers.set_index("customer")
    assert table.loc["a", "monetary"] == 1_999_999_980_000.01
    assert table.loc["b", "monetary"] == 4.5


def test_out_of_memory_names_duckdbs_limit(monkeypatch):
    from custseg.logs import duckdb_engine

    rng = np.random.default_rng(0)
    n = 400_000
    frame = pd.DataFrame({"customer": rng.integers(0, 100_000, n).astype(str), "invoice": np.arange(n).astype(str),
                          "date": "2024-01-01", "quantity": 1.0, "price": rng.random(n)})
    monkeypatch.setattr(duckdb_engine, "DUCKDB_MEMORY_LIMIT", "4MB")
    with pytest.raises(InputError, match=r"^the DataFrame: DuckDB ran out of memory at its 4MB limit "
                                         r"\(custseg.logs.duckdb_engine.DUCKDB_MEMORY_LIMIT\) while [^\n]+$"):
        customers_from_transactions(frame)


# --------------------------------------------------------------------------- Online Retail

RETAIL = "online_retail.csv.gz"
KNOWN = {
    "lines without customer id": 135_080,
    "cancellation lines": 9_288,
    "adjustment lines": 3,
    "exact duplicate lines": 5_268,
    "negative quantity lines": 10_624,
    "zero price lines": 2_515,
    "negative price lines": 2,
    "future-dated lines": 0,
}


@functools.cache
def _retail(path: str):
    start = time.perf_counter()
    result = customers_from_transactions(path)
    return result, time.perf_counter() - start


@functools.cache
def _retail_text(path: str) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_online_retail_checks_and_ledger(shared_data):
    result, _ = _retail(str(shared_data / RETAIL))
    for name, count in KNOWN.items():
        assert result.checks[name] == count, name
    assert result.customers_found == 4_372
    assert result.ledger.rows_read == 541_909
    # Exclusive: 135,080 without id; of the 5,268 extra copies 5,225 have an id; the 3 A
    # invoices have no id; 40 zero-price lines with an id remain.
    assert result.ledger.rows_dropped == {
        "no customer id": 135_080, "exact duplicate": 5_225, "zero or negative price": 40,
    }
    assert result.ledger.rows_used == 401_564
    assert result.as_of == datetime.date(2011, 12, 10)
    kept = len(result.customers)
    assert kept + sum(result.customers_dropped.values()) == 4_372
    assert result.customers_dropped["only cancellations or returns"] > 0
    assert result.customers[result.columns.customer].is_unique
    assert result.customers[result.columns.customer].str.fullmatch(r"\d{5}").all()   # "17850.0" -> "17850"
    assert (result.customers["monetary"] > 0).all() and (result.customers["frequency"] >= 1).all()


def test_online_retail_total_value_from_duckdb(shared_data):
    path = str(shared_data / RETAIL)
    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW source_lines AS SELECT * FROM read_csv('{path}', header = true, all_varchar = true, "
        "types = {'Quantity': 'DOUBLE', 'UnitPrice': 'DOUBLE', 'InvoiceDate': 'TIMESTAMP'}, "
        "timestampformat = '%Y-%m-%d %H:%M:%S')"
    )
    plain = con.execute("SELECT SUM(Quantity * UnitPrice) FROM source_lines").fetchone()[0]
    assert round(plain, 2) == 9_747_747.93
    columns = detect_transaction_columns(HEADER.split(","))
    total = con.execute(
        f"SELECT SUM(line_value * line_copies), SUM(line_copies) FROM ({lines_query(columns, HEADER.split(','))}) AS l"
    ).fetchone()
    assert float(total[0]) == pytest.approx(9_747_747.934, abs=1e-6) and total[1] == 541_909


NON_PRODUCT = {"POST", "DOT", "M", "C2", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS"}


def _pandas_features(text: pd.DataFrame) -> tuple[pd.DataFrame, datetime.date]:
    """Every feature by the module's rules, in plain pandas, from the lines as text."""
    lines = text[text["CustomerID"].str.strip() != ""]
    lines = lines[~lines.duplicated(keep="first")]                 # every column equal
    lines = lines[~lines["InvoiceNo"].str.match(r"A\d")]           # adjustments
    price = lines["UnitPrice"].astype(float)
    cancel = lines["InvoiceNo"].str.match(r"C\d")
    lines = lines[cancel | (price > 0)]                             # zero / negative price
    cancel = lines["InvoiceNo"].str.match(r"C\d")
    quantity = lines["Quantity"].astype(float)
    value = quantity * lines["UnitPrice"].astype(float)
    day = pd.to_datetime(lines["InvoiceDate"], format="%Y-%m-%d %H:%M:%S").dt.normalize()
    as_of = day.max() + pd.Timedelta(days=1)
    customer = lines["CustomerID"].astype(float).astype("int64").astype(str)
    code = lines["StockCode"].str.upper()
    product = ~code.isin(NON_PRODUCT) & ~code.str.startswith("GIFT_")
    purchase = ~cancel & (quantity > 0) & (value > 0)
    returned = cancel | (value < 0) | (quantity < 0)
    bought = lines[purchase].assign(customer=customer[purchase], day=day[purchase], value=value[purchase])
    by_customer = bought.groupby("customer")
    table = pd.DataFrame({
        "frequency": by_customer["InvoiceNo"].nunique().astype(float),
        "first": by_customer["day"].min(),
        "last": by_customer["day"].max(),
        "days": by_customer["day"].nunique(),
        "gross": by_customer["value"].sum(),
    })
    table["recency_days"] = (as_of - table["last"]).dt.days.astype(float)
    table["tenure_days"] = (as_of - table["first"]).dt.days.astype(float)
    table["monetary"] = value.groupby(customer).sum().reindex(table.index)
    table["avg_order_value"] = table["gross"] / table["frequency"]
    units = quantity[purchase & product].groupby(customer[purchase & product]).sum()
    table["items_per_order"] = units.reindex(table.index, fill_value=0.0) / table["frequency"]
    products = lines["StockCode"][purchase & product].groupby(customer[purchase & product]).nunique()
    table["distinct_products"] = products.reindex(table.index, fill_value=0).astype(float)
    back = (-value[returned]).groupby(customer[returned]).sum().reindex(table.index, fill_value=0.0)
    table["return_rate"] = back / table["gross"]
    gap = (table["last"] - table["first"]).dt.days / (table["days"] - 1)
    table["mean_days_between_purchases"] = gap.where(table["days"] > 1)
    recent = bought[(as_of - bought["day"]).dt.days <= 90].groupby("customer")["value"].sum()
    table["recent_spend_share"] = recent.reindex(table.index, fill_value=0.0) / table["gross"]
    country = bought.groupby(["customer", "Country"])["value"].sum().reset_index()
    country = country.sort_values(["customer", "value", "Country"], ascending=[True, False, True])
    table["Country"] = country.drop_duplicates("customer").set_index("customer")["Country"]
    # Five customers returned everything: float sums leave them 1e-14 above zero; to the
    # cent they spent nothing (the module sums exact decimals and drops them).
    return table[table["monetary"].round(2) > 0], as_of.date()


def test_online_retail_features_match_pandas(shared_data):
    path = str(shared_data / RETAIL)
    result, _ = _retail(path)
    reference, as_of = _pandas_features(_retail_text(path))
    assert as_of == result.as_of
    ours = result.customers.set_index("CustomerID")
    assert sorted(ours.index) == sorted(reference.index)
    reference = reference.loc[ours.index]
    assert (ours["recency_days"] == reference["recency_days"]).all()
    assert (ours["frequency"] == reference["frequency"]).all()
    assert np.abs(ours["monetary"] - reference["monetary"]).max() < 0.005     # to the cent
    for name in FEATURE_COLUMNS:
        pd.testing.assert_series_equal(ours[name], reference[name], check_names=False, rtol=1e-9)
    assert (ours["Country"] == reference["Country"]).all()


def test_online_retail_as_parquet_and_daily_csv_glob(shared_data, tmp_path):
    path = str(shared_data / RETAIL)
    result, _ = _retail(path)
    text = _retail_text(path)
    typed = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str})
    typed["InvoiceDate"] = pd.to_datetime(typed["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
    typed.to_parquet(tmp_path / "retail.parquet", index=False)
    daily = tmp_path / "daily"
    daily.mkdir()
    for day, part in text.groupby(text["InvoiceDate"].str.slice(0, 10)):
        part.to_csv(daily / f"{day}.csv", index=False)
    assert len(list(daily.iterdir())) == 305
    for source in (tmp_path / "retail.parquet", str(daily / "*.csv")):
        other = customers_from_transactions(source)
        pd.testing.assert_frame_equal(other.customers, result.customers, check_exact=True)
        assert other.checks == result.checks
        assert other.ledger.to_dict() == result.ledger.to_dict()
        assert other.customers_dropped == result.customers_dropped
        assert other.as_of == result.as_of
