"""Issue 18, customer tables: ids never become features, dates stored as numbers are dates,
and a table with nothing to segment on is refused with what each column was taken for."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from custseg.cli import main
from custseg.errors import InputError
from custseg.pipeline import segment
from custseg.preparing.clean import apply_cleaning, clean_customers
from custseg.preparing.ids import numeric_id_reason
from custseg.reading.names import id_like_name
from custseg.preparing.options import CleanOptions
from custseg.reading.dates import numeric_date_format
from custseg.reading.tables import read_table

SMALL_RUN = {"algorithms": ("kmeans",), "k_min": 2, "k_max": 3, "stability_resamples": 2, "report": False}
UNKNOWN_DATES = ("of unknown meaning, not used (a birth date becomes age, a sign-up or first-purchase date "
                 "tenure_days; name the column so)")
N = 30


def _features(n: int = N) -> dict[str, list]:
    """Two real features: an income with decimals (all distinct) and a whole-number spend
    whose values are distinct too (10..39 shuffled, so not a range starting at 0 or 1)."""
    return {
        "income": [round(40 + 1.37 * i + (i % 3) * 0.11, 2) for i in range(n)],
        "spend": [10 + (i * 7) % 30 for i in range(n)],
    }


def _csv(tmp_path, frame: pd.DataFrame, name: str = "customers.csv") -> pd.DataFrame:
    """The frame written to a CSV and read back as a user's file is."""
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return read_table(path)[0]


# --------------------------------------------------------------------------- ids

@pytest.mark.parametrize("name", [
    "CLIENTNUM", "masterid", "sampleid", "cust_no", "account_number", "Customer ID", "member_key",
    "zip_code", "userId", "id_client", "CustNr", "pid",
])
def test_id_like_names(name):
    assert id_like_name(name)


@pytest.mark.parametrize("name", [
    "NumWebPurchases", "number_of_cds", "num_orders", "amount_paid", "is_valid", "income",
    "Annual Income (k$)", "Kidhome", "Recency", "platinum",
])
def test_names_that_are_not_ids(name):
    assert not id_like_name(name)


def test_numeric_customer_numbers_are_the_id_not_a_feature(tmp_path):
    rng = np.random.default_rng(3)
    numbers = rng.choice(np.arange(708_082_083, 828_343_083), N, replace=False)
    frame = _csv(tmp_path, pd.DataFrame({"CLIENTNUM": numbers, **_features()}))
    result = clean_customers(frame, CleanOptions())
    assert result.roles.id == "CLIENTNUM"
    assert result.roles.features == ["income", "spend"]
    assert result.roles.excluded == {}
    assert result.ids.tolist() == [str(n) for n in numbers]      # read as written, like any id
    assert result.ledger.to_dict()["rows_dropped"] == {}
    assert result.ledger.rows_used == N


def test_a_second_id_beside_the_chosen_one_is_left_out_with_its_reason(tmp_path):
    frame = _csv(tmp_path, pd.DataFrame({
        "masterid": [4_000 + 17 * i for i in range(N)],
        "sampleid": [(i * 11) % N + 500 for i in range(N)],
        **_features(),
    }))
    roles = clean_customers(frame, CleanOptions()).roles
    assert roles.id == "masterid"
    assert roles.excluded == {"sampleid": "a second id beside masterid (unique whole numbers)"}
    assert roles.features == ["income", "spend"]


def test_customer_numbers_beside_a_named_customer_id(tmp_path):
    frame = _csv(tmp_path, pd.DataFrame({
        "customerID": [f"{i:04d}-AB" for i in range(N)],
        "account_number": [90_000_000 + 7 * i for i in range(N)],
        **_features(),
    }))
    roles = clean_customers(frame, CleanOptions()).roles
    assert roles.id == "customerID"
    assert roles.excluded == {"account_number": "a second id beside customerID (unique whole numbers)"}


def test_near_unique_numbers_are_an_id_but_not_the_id(tmp_path):
    numbers = [1_000 + 3 * i for i in range(N)]
    numbers[-1] = numbers[0]            # one repeat: 29 distinct in 30 rows (97%)
    frame = _csv(tmp_path, pd.DataFrame({"cust_no": numbers, **_features()}))
    result = clean_customers(frame, CleanOptions())
    assert result.roles.id is None
    assert result.roles.excluded == {"cust_no": "an id (29 distinct whole numbers in 30 rows)"}
    assert result.ledger.rows_dropped == {}
    assert result.roles.features == ["income", "spend"]


def test_repeated_reference_numbers_are_not_amounts(tmp_path):
    frame = _csv(tmp_path, pd.DataFrame({"masterid": [100 + i // 2 for i in range(60)], **_features(60)}))
    roles = clean_customers(frame, CleanOptions()).roles
    assert roles.id is None
    assert roles.excluded == {
        "masterid": "an id that repeats (30 distinct whole numbers in 60 rows): it numbers something, it is not an amount"
    }
    assert roles.features == ["income", "spend"]


def test_shuffled_row_numbers_are_an_id_whatever_the_name(tmp_path):
    frame = _csv(tmp_path, pd.DataFrame({"seq": [(i * 7) % N + 1 for i in range(N)], **_features()}))
    roles = clean_customers(frame, CleanOptions()).roles
    assert roles.excluded == {"seq": "an id (the whole numbers 1 to 30, each once, shuffled)"}
    assert roles.features == ["income", "spend"]


def test_counts_and_unique_amounts_stay_features(tmp_path):
    frame = _csv(tmp_path, pd.DataFrame({
        "id": [f"c{i}" for i in range(N)],
        "NumWebPurchases": [i % 7 for i in range(N)],
        "amount_paid": [100 + 13 * i for i in range(N)],        # unique whole numbers
        "visits_code": [i % 4 for i in range(N)],               # repeats: a code, not an id
        **_features(),
    }))
    roles = clean_customers(frame, CleanOptions()).roles
    assert roles.excluded == {}
    assert roles.numeric == ["NumWebPurchases", "amount_paid", "income", "spend"]
    assert roles.categorical == ["visits_code"]


def test_numeric_id_reason_needs_whole_numbers():
    assert numeric_id_reason("masterid", np.array([1.5, 2.5, 3.5])) is None
    assert numeric_id_reason("masterid", np.array([5.0, 9.0, np.nan])) == "an id (unique whole numbers)"


# --------------------------------------------------------------------------- dates stored as numbers

@pytest.mark.parametrize("name, values, expected", [
    ("date", [20110315, 20111201, 19991231], "yyyymmdd"),
    ("period", [201103, 201112, 199901], "yyyymm"),
    ("signup_ts", [1_300_147_200, 1_322_697_600], "epoch_s"),
    ("createdAt", [1_300_147_200_000, 1_322_697_600_000], "epoch_ms"),
    ("spend", [1_300_147_200, 1_322_697_600], None),          # no date in the name
    ("amount", [20111341, 20111399, 20111388], None),          # month 13: not dates
    ("income", [190013, 190099, 190055], None),                # month 00-99: not YYYYMM
])
def test_numeric_date_format(name, values, expected):
    assert numeric_date_format(name, np.array(values, dtype="float64")) == expected


def _dated_table(n: int = N) -> pd.DataFrame:
    days = pd.Timestamp("2011-01-01") + pd.to_timedelta([(i * 23) % 700 for i in range(n)], unit="D")
    epoch = ((days - pd.Timestamp("1970-01-01")).total_seconds()).astype("int64")
    return pd.DataFrame({
        "id": [f"c{i}" for i in range(n)],
        "date": days.strftime("%Y%m%d").astype(int),
        "month": days.strftime("%Y%m").astype(int),
        "signup_ts": epoch,
        "last_login_epoch": epoch + 86_400 * 3,
        **_features(n),
    })


def test_numeric_dates_are_dates_never_features(tmp_path):
    frame = _csv(tmp_path, _dated_table())
    result = clean_customers(frame, CleanOptions(as_of="2014-01-01"))
    roles = result.roles
    assert roles.excluded == {
        "date": f"dates (YYYYMMDD whole numbers) {UNKNOWN_DATES}",
        "month": f"dates (YYYYMM whole numbers) {UNKNOWN_DATES}",
        "last_login_epoch": f"dates (epoch seconds) {UNKNOWN_DATES}",
    }
    assert roles.features == ["tenure_days", "income", "spend"]
    assert roles.derived["tenure_days"] == "days from the date in signup_ts (read as epoch seconds) to 2014-01-01"
    # 2011-01-01 + 23 days = 2011-01-24: 1,073 and 1,050 days before 2014-01-01
    assert result.data["tenure_days"].iloc[:2].tolist() == [1096.0, 1073.0]
    assert result.params.derived["tenure_days"]["from"] == "epoch_s"
    assert result.ledger.cells_fixed == {}


def test_start_and_birth_dates_as_numbers_become_tenure_and_age(tmp_path):
    frame = _csv(tmp_path, pd.DataFrame({
        "id": [f"c{i}" for i in range(N)],
        "signup_month": [201001 + (i % 12) for i in range(N)],
        "birth_date": [19800101 + 10_000 * (i % 20) + 14 for i in range(N)],
        **_features(),
    }))
    result = clean_customers(frame, CleanOptions(as_of="2020-01-10"))
    assert result.roles.features == ["tenure_days", "age", "income", "spend"]
    assert result.params.derived["tenure_days"]["from"] == "yyyymm"
    # 2010-01-01 and 2010-02-01 to 2020-01-10; born 1980-01-15 and 1981-01-15: 39 and 38 on 2020-01-10
    assert result.data["tenure_days"].iloc[:2].tolist() == [3661.0, 3630.0]
    assert result.data["age"].iloc[:2].tolist() == [39.0, 38.0]


def test_new_customers_get_the_same_dates_read(tmp_path):
    fitted = clean_customers(_csv(tmp_path, _dated_table()), CleanOptions(as_of="2014-01-01"))
    new = pd.DataFrame({"id": ["x"], "date": [20120101], "month": [201201], "signup_ts": [1_356_998_400],
                        "last_login_epoch": [1_357_000_000], "income": [50.0], "spend": [20]})
    data, usable = apply_cleaning(new, fitted.roles, fitted.params)
    assert data["tenure_days"].tolist() == [365.0]       # 2013-01-01 to 2014-01-01
    assert usable.tolist() == [True]


# --------------------------------------------------------------------------- nothing to segment on

NAMES_ERROR = ("no usable numeric or categorical feature: id: the customer id; "
               "name: free text (4 distinct values in 4 rows); city: free text (4 distinct values in 4 rows)")


def _names_file(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("id,name,city\n1,Ann Cy,Lima\n2,Bob Day,Oslo\n3,Cy Eve,Rome\n4,Dan Fox,Kyiv\n")
    return path


def test_a_table_of_unique_names_is_refused_naming_each_column(tmp_path):
    with pytest.raises(InputError) as error:
        clean_customers(read_table(_names_file(tmp_path))[0], CleanOptions())
    assert str(error.value) == NAMES_ERROR


def test_the_cli_refuses_the_names_table_in_one_line(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["run", str(_names_file(tmp_path)), "--out", str(tmp_path / "out")])
    assert exit_.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines == [f"error: {NAMES_ERROR}"]
    assert not (tmp_path / "out" / "summary.json").exists()


def test_ids_and_free_text_alone_are_refused(tmp_path):
    frame = _csv(tmp_path, pd.DataFrame({
        "CLIENTNUM": [700_000_000 + 9 * i for i in range(N)],
        "sampleid": [(i * 7) % N + 1 for i in range(N)],
        "note": [f"called on day {i}" for i in range(N)],
        "plan": ["basic"] * N,
    }))
    with pytest.raises(InputError) as error:
        clean_customers(frame, CleanOptions())
    assert str(error.value) == (
        "no usable numeric or categorical feature: CLIENTNUM: the customer id; "
        "sampleid: a second id beside CLIENTNUM (unique whole numbers); "
        "note: id-like or free text (30 distinct values); plan: constant (one value)"
    )


def test_a_small_categorical_with_repeats_is_still_a_feature():
    table = pd.DataFrame({"id": ["a", "b", "c", "d", "e"], "plan": ["gold", "basic", "gold", "basic", "pro"]})
    roles = clean_customers(table, CleanOptions()).roles
    assert roles.categorical == ["plan"] and roles.features == ["plan"]


# --------------------------------------------------------------------------- real tables

def _roles(path):
    return clean_customers(read_table(path)[0], CleanOptions()).roles


def test_real_tables_keep_their_features(mall, wholesale, shared_data):
    mall_roles = _roles(mall)
    assert (mall_roles.id, mall_roles.excluded) == ("CustomerID", {})
    assert mall_roles.features == ["Age", "Annual Income (k$)", "Spending Score (1-100)"]
    wholesale_roles = _roles(wholesale)
    assert (wholesale_roles.id, wholesale_roles.excluded) == (None, {})
    assert wholesale_roles.features == ["Fresh", "Milk", "Grocery", "Frozen", "Detergents_Paper", "Delicassen"]
    assert wholesale_roles.categorical == ["Channel", "Region"]
    telco_roles = _roles(shared_data / "telco_customer_churn.csv")
    assert (telco_roles.id, telco_roles.excluded) == ("customerID", {})
    assert telco_roles.features == ["tenure", "MonthlyCharges", "TotalCharges"]


def test_telco_keeps_the_customer_id_out_and_reads_blank_charges_as_missing(shared_data, tmp_path):
    result = segment(shared_data / "telco_customer_churn.csv", **SMALL_RUN)
    result.write(tmp_path / "out", report=False)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["columns"]["id"] == "customerID"
    assert "customerID" not in summary["features"]
    assert summary["features"] == ["tenure", "MonthlyCharges", "TotalCharges"]
    assert summary["input"]["rows_read"] == summary["input"]["rows_used"] == 7_043
    assert summary["input"]["cells_fixed"] == {"missing value (imputed)": {"TotalCharges": 11}}
    assert result.labels.shape == (7_043,)
