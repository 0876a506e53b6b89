"""Tests for custseg.preparing.clean: roles, parsing, the ledger, imputation, fences and policies.

The main fixture is 30 rows of all-string columns (as from ``read_csv(dtype=str)``):

- row 3 has a blank id, row 7 repeats the id of row 1: both rows are dropped;
- Age: row 10 "x", row 11 "1e999" (overflows float64), row 12 "-5" (impossible), rows 13
  and 14 blank; the dropped row 3 holds "200" (impossible but not counted: row dropped);
- Annual Income: the 28 kept rows hold 100, 101, ..., 126 in order, except row 20 = 2, a far
  low outlier (negative skewness, so the fences are on the raw scale whatever the log rule);
- Gender Female on even rows, Male on odd rows, blank on row 5;
- Region codes 1/2/3, Country constant, Notes all distinct, Index = 1..30.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from custseg.preparing.clean import (
    NUMERIC_SAMPLE,
    NUMERIC_SHARE,
    _numeric_reading,
    _plausible_range,
    apply_cleaning,
    clean_customers,
    parse_numbers,
)
from custseg.errors import InputError
from custseg.preparing.options import CleanOptions

N = 30
DROPPED = {3, 7}
KEPT = [i for i in range(N) if i not in DROPPED]


def _table() -> pd.DataFrame:
    ids = [f"{i + 1:04d}" for i in range(N)]
    ids[3] = ""
    ids[7] = "0002"
    ages = [str(20 + i) for i in range(N)]
    ages[3] = "200"
    ages[7] = "25"
    ages[10], ages[11], ages[12], ages[13], ages[14] = "x", "1e999", "-5", "", "  "
    income = [""] * N
    income[3], income[7] = "500", "70"
    value = 100
    for i in KEPT:
        if i == 20:
            income[i] = "2"
        else:
            income[i] = str(value)
            value += 1
    assert value == 127
    gender = ["Female" if i % 2 == 0 else "Male" for i in range(N)]
    gender[5] = ""
    table = pd.DataFrame({
        "CustomerID": ids,
        "Index": [str(i + 1) for i in range(N)],
        "Age": ages,
        "Gender": gender,
        "Annual Income": income,
        "Region": [str(i % 3 + 1) for i in range(N)],
        "Country": ["UK"] * N,
        "Notes": [f"called about order number {i}" for i in range(N)],
    }, dtype=str)
    return table


# Kept incomes sorted: 2, then 100..126 (27 values); n = 28.
# Linear percentiles: Q1 at position 6.75 -> 105.75, Q3 at 20.25 -> 119.25, IQR = 13.5.
INCOME_LOW, INCOME_HIGH = 105.75 - 3 * 13.5, 119.25 + 3 * 13.5   # 65.25, 159.75
# Valid kept ages (rows 0,1,2,4,5,6,8,9,15..29): 20,21,22,24,25,26,28,29,35..49 (23 values).
# Median = 12th smallest = 38. Q1 at position 5.5 -> 27, Q3 at 16.5 -> 43.5, IQR 16.5.
AGE_MEDIAN = 38.0
AGE_FENCE = [27 - 3 * 16.5, 43.5 + 3 * 16.5]                # -22.5, 93
# Clipped incomes: 65.25 and 100..126; median of 28 = (112 + 113) / 2.
INCOME_MEDIAN = 112.5


def test_roles():
    result = clean_customers(_table(), CleanOptions())
    roles = result.roles
    assert roles.id == "CustomerID"
    assert roles.id_name == "CustomerID"
    assert roles.numeric == ["Age", "Annual Income"]
    assert roles.categorical == ["Gender", "Region"]
    assert roles.features == ["Age", "Annual Income"]
    assert roles.excluded == {
        "Index": "id-like (numbers the rows)",
        "Country": "constant (one value)",
        "Notes": "id-like or free text (30 distinct values)",
    }
    assert result.params.code_columns == ["Region"]


def test_ledger_rows_and_cells():
    ledger = clean_customers(_table(), CleanOptions()).ledger
    assert ledger.rows_read == 30
    assert ledger.rows_dropped == {"missing id": 1, "duplicate id": 1}
    assert ledger.rows_used == 28
    assert ledger.cells_fixed == {
        "unparseable value": {"Age": 2},          # "x" and "1e999"; row 3 is dropped
        "impossible value": {"Age": 1},           # "-5"; "200" sits on a dropped row
        "missing value (imputed)": {"Age": 5},    # x, 1e999, -5 and two blanks
    }
    as_dict = ledger.to_dict()
    assert as_dict["rows_used"] == 28
    assert as_dict["outliers"] == {
        "Annual Income": {"count": 1, "low": INCOME_LOW, "high": INCOME_HIGH, "action": "clipped"},
    }


def test_ids_keep_zero_padding_and_drop_blank_and_duplicate():
    result = clean_customers(_table(), CleanOptions())
    ids = result.ids.tolist()
    assert len(ids) == 28
    assert ids[:5] == ["0001", "0002", "0003", "0005", "0006"]
    assert "0004" not in ids and "0008" not in ids
    assert ids.count("0002") == 1
    assert result.ids.name == "CustomerID"


def test_imputed_median_and_parsed_values():
    result = clean_customers(_table(), CleanOptions())
    data = result.data
    assert result.params.numeric_rules["Age"]["fill"] == AGE_MEDIAN
    age = dict(zip(result.ids, data["Age"]))
    for row in (10, 11, 12, 13, 14):
        assert age[f"{row + 1:04d}"] == AGE_MEDIAN
    assert age["0001"] == 20.0 and age["0030"] == 49.0
    assert data["Age"].dtype == np.float64
    assert not data[["Age", "Annual Income"]].isna().any().any()
    assert result.params.numeric_rules["Age"]["low"] == 0.0
    assert result.params.numeric_rules["Age"]["high"] == 120.0
    assert result.params.numeric_rules["Annual Income"]["low"] == 0.0
    assert result.params.numeric_rules["Annual Income"]["high"] is None
    # Region codes become text levels; Gender stays text (not a feature: not imputed)
    region = dict(zip(result.ids, data["Region"]))
    assert (region["0001"], region["0002"], region["0003"]) == ("1", "2", "3")
    gender = dict(zip(result.ids, data["Gender"]))
    assert pd.isna(gender["0006"]) and gender["0001"] == "Female"


def test_outlier_fences_and_clipped_value():
    result = clean_customers(_table(), CleanOptions())
    assert (INCOME_LOW, INCOME_HIGH) == (65.25, 159.75)
    rule = result.params.numeric_rules["Annual Income"]
    assert rule["fence"] == [INCOME_LOW, INCOME_HIGH]
    assert rule["fill"] == INCOME_MEDIAN
    assert result.params.numeric_rules["Age"]["fence"] == AGE_FENCE
    income = dict(zip(result.ids, result.data["Annual Income"]))
    assert income["0021"] == 65.25
    assert income["0001"] == 100.0 and income["0030"] == 126.0
    flagged = list(result.ids[result.outlier_rows])
    assert flagged == ["0021"]


@pytest.mark.parametrize("policy, action", [("flag", "flagged"), ("keep", "kept")])
def test_flag_and_keep_leave_the_value(policy, action):
    result = clean_customers(_table(), CleanOptions(outliers=policy))
    income = dict(zip(result.ids, result.data["Annual Income"]))
    assert income["0021"] == 2.0
    assert list(result.ids[result.outlier_rows]) == ["0021"]
    assert result.ledger.outliers == {
        "Annual Income": {"count": 1, "low": 65.25, "high": 159.75, "action": action},
    }
    # not clipped, so no fence is stored for new customers either
    assert result.params.numeric_rules["Annual Income"]["fence"] is None
    # the median of 2 and 100..126 is still (112 + 113) / 2
    assert result.params.numeric_rules["Annual Income"]["fill"] == 112.5


def test_drop_missing_policy():
    result = clean_customers(_table(), CleanOptions(missing="drop"))
    ledger = result.ledger
    assert ledger.rows_dropped == {
        "missing id": 1, "duplicate id": 1, "missing or unusable feature value": 5,
    }
    assert ledger.rows_used == 23
    # the unusable cells sit on dropped rows: no cell is fixed
    assert ledger.cells_fixed == {}
    assert len(result.data) == 23 and len(result.ids) == 23
    assert not {"0011", "0012", "0013", "0014", "0015"} & set(result.ids)
    # Incomes left: 2, 100..107 and 113..126 (23 values).
    # Q1 at position 5.5 -> 104.5, Q3 at 16.5 -> 120.5, IQR 16 -> fences 56.5, 168.5.
    assert ledger.outliers["Annual Income"]["low"] == 56.5
    assert ledger.outliers["Annual Income"]["high"] == 168.5
    income = dict(zip(result.ids, result.data["Annual Income"]))
    assert income["0021"] == 56.5


def test_long_right_tail_is_fenced_on_the_log_scale():
    # Spend = 2**k - 1 for k = 1..12: raw skewness ~2.3, log1p gives k ln2 (skewness 0).
    # log1p scale: Q1 at position 2.75 -> 3.75 ln2, Q3 at 8.25 -> 9.25 ln2, IQR 5.5 ln2;
    # lower fence (3.75 - 16.5) ln2 < 0 -> none; upper fence 2**25.75 - 1.
    # (On the raw scale Q3 + 3 IQR = 639 + 3 * 626 = 2517 would call 4095 an outlier.)
    spend = [str(2**k - 1) for k in range(1, 13)]
    table = pd.DataFrame({"CustomerID": [f"c{i}" for i in range(12)], "Spend": spend}, dtype=str)
    result = clean_customers(table, CleanOptions())
    assert result.params.numeric_rules["Spend"]["fence"] == [None, pytest.approx(2**25.75 - 1, rel=1e-12)]
    assert result.ledger.outliers == {}
    assert not result.outlier_rows.any()
    assert result.data["Spend"].max() == 4095.0


def test_categorical_feature_is_imputed_with_the_most_frequent_level():
    settings = CleanOptions(features=("Age", "Annual Income", "Gender"))
    result = clean_customers(_table(), settings)
    assert result.roles.features == ["Age", "Annual Income", "Gender"]
    # kept rows: 15 Female (even rows), 12 Male, 1 blank (row 5)
    assert result.params.categorical_fill == {"Gender": "Female"}
    assert result.ledger.cells_fixed["missing value (imputed)"] == {"Age": 5, "Gender": 1}
    gender = dict(zip(result.ids, result.data["Gender"]))
    assert gender["0006"] == "Female"
    assert (result.data["Gender"] == "Male").sum() == 12


@pytest.mark.parametrize("option", ["features", "exclude"])
def test_unknown_column_names_list_the_available_columns(option):
    settings = CleanOptions(**{option: ("Age", "Spend")})
    with pytest.raises(InputError) as error:
        clean_customers(_table(), settings)
    message = str(error.value)
    assert f"--{option}" in message
    assert "Spend" in message
    assert "CustomerID, Index, Age, Gender, Annual Income, Region, Country, Notes" in message


def test_features_naming_an_unusable_column():
    with pytest.raises(InputError, match="Country: constant"):
        clean_customers(_table(), CleanOptions(features=("Age", "Country")))


def test_exclude_removes_a_column():
    result = clean_customers(_table(), CleanOptions(exclude=("Age",)))
    assert result.roles.numeric == ["Annual Income"]
    assert result.roles.features == ["Annual Income"]
    assert result.roles.excluded["Age"] == "excluded by --exclude"


def test_no_usable_feature():
    table = pd.DataFrame({
        "CustomerID": ["a", "b", "c", "d"],
        "Country": ["UK", "UK", "UK", "UK"],
        "Blank": ["", "", "", ""],
    }, dtype=str)
    with pytest.raises(InputError) as error:
        clean_customers(table, CleanOptions())
    message = str(error.value)
    assert message.startswith("no usable numeric or categorical feature")
    assert "Country: constant (one value)" in message
    assert "Blank: empty" in message


def test_only_categoricals_become_the_features():
    table = pd.DataFrame({"Colour": ["red", "blue", "red", "green"]}, dtype=str)
    result = clean_customers(table, CleanOptions())
    assert result.roles.numeric == [] and result.roles.features == ["Colour"]


def test_decimal_comma_numbers_parse():
    table = pd.DataFrame({
        "CustomerID": ["a", "b", "c", "d", "e"],
        "Spend": ["3,5", "4,25", "1.234,5", "", "10"],
        "Visits": ["1", "4", "2", "3", "7"],
    }, dtype=str)
    result = clean_customers(table, CleanOptions())
    assert result.roles.numeric == ["Spend", "Visits"]
    assert result.params.numeric_rules["Visits"]["decimal_comma"] is False
    assert result.params.numeric_rules["Spend"]["decimal_comma"] is True
    # median of 3.5, 4.25, 1234.5, 10 = (4.25 + 10) / 2
    assert result.data["Spend"].tolist() == [3.5, 4.25, 1234.5, 7.125, 10.0]
    assert result.ledger.cells_fixed == {"missing value (imputed)": {"Spend": 1}}


def test_no_id_column_numbers_rows_from_one():
    table = pd.DataFrame({
        "Visits": ["3", "1", "", "4", "1"],
        "Spend": ["10", "20", "", "40", "50"],
    }, dtype=str)
    result = clean_customers(table, CleanOptions())
    assert result.roles.id is None
    assert result.roles.id_name == "row"
    # row 3 has no feature value at all: dropped, and the others keep their row numbers
    assert result.ledger.rows_dropped == {"no usable feature value": 1}
    assert result.ids.tolist() == [1, 2, 4, 5]
    assert result.data["Spend"].tolist() == [10.0, 20.0, 40.0, 50.0]


def test_numeric_row_number_column_is_id_like():
    table = pd.DataFrame({
        "No": ["1", "2", "3", "4", "5"],
        "Spend": ["10", "20", "35", "40", "50"],
    }, dtype=str)
    result = clean_customers(table, CleanOptions())
    assert result.roles.excluded == {"No": "id-like (numbers the rows)"}
    assert result.roles.features == ["Spend"]


def test_few_rows_of_small_whole_numbers_stay_numeric():
    # Fewer than 20 rows: 1/2/3 are counts, not codes
    table = pd.DataFrame({"Visits": ["1", "2", "3", "1", "3"], "Spend": ["5", "7", "9", "4", "2"]}, dtype=str)
    result = clean_customers(table, CleanOptions())
    assert result.roles.numeric == ["Visits", "Spend"]
    assert result.roles.categorical == []


def test_apply_cleaning_reuses_fitted_fills_and_fences():
    fitted = clean_customers(_table(), CleanOptions())
    new = pd.DataFrame({
        "Age": ["30", "x", "150", "", "-1", "55"],
        "Annual Income": ["2000", "130", "", "", "45", "1e999"],
    }, dtype=str)
    data, usable = apply_cleaning(new, fitted.roles, fitted.params)
    assert list(data.columns) == ["Age", "Annual Income"]
    # x, 150 (impossible), blank and -1 (impossible) take the fitted median 38
    assert data["Age"].tolist() == [30.0, 38.0, 38.0, 38.0, 38.0, 55.0]
    # 2000 and 45 are clipped to the fitted fences; blanks and 1e999 take the median 112.5
    assert data["Annual Income"].tolist() == [159.75, 130.0, 112.5, 112.5, 65.25, 112.5]
    # row 2 (impossible age, blank income) and row 3 (both blank) have no usable value
    assert usable.tolist() == [True, True, False, False, True, True]


def test_apply_cleaning_needs_the_feature_columns():
    fitted = clean_customers(_table(), CleanOptions())
    with pytest.raises(InputError, match="Annual Income"):
        apply_cleaning(pd.DataFrame({"Age": ["30"]}, dtype=str), fitted.roles, fitted.params)


def test_apply_cleaning_reuses_categorical_fill():
    settings = CleanOptions(features=("Age", "Annual Income", "Gender", "Region"))
    fitted = clean_customers(_table(), settings)
    # Region 1/2/3 over 28 kept rows: rows 3 and 7 (Region 1 and 2) dropped,
    # so Region 3 (rows 2,5,...,29: 10 rows) is the most frequent
    assert fitted.params.categorical_fill == {"Gender": "Female", "Region": "3"}
    new = pd.DataFrame({
        "Age": ["40", "41"], "Annual Income": ["110", "120"],
        "Gender": ["", "Male"], "Region": ["2", ""],
    }, dtype=str)
    data, usable = apply_cleaning(new, fitted.roles, fitted.params)
    assert data["Gender"].tolist() == ["Female", "Male"]
    assert data["Region"].tolist() == ["2", "3"]
    assert usable.tolist() == [True, True]


@pytest.mark.parametrize("column, expected", [
    ("Age", (0.0, 120.0)), ("customer_age", (0.0, 120.0)), ("average_basket", (-np.inf, np.inf)),
    ("Spending Score (1-100)", (1.0, 100.0)), ("Annual Income (k$)", (0.0, np.inf)),
    ("online_share", (0.0, np.inf)), ("temperature", (-np.inf, np.inf)),
])
def test_impossible_value_ranges_come_from_whole_words(column, expected):
    assert _plausible_range(column) == expected


def test_date_columns_of_unknown_meaning_are_left_out_with_a_reason():
    frame = pd.DataFrame({
        "id": [str(i) for i in range(30)],
        "last_login": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(30)],
        "spend": [str(10 + (i * 7) % 30) for i in range(30)],
    })
    roles = clean_customers(frame, CleanOptions()).roles
    assert roles.excluded["last_login"].startswith("dates of unknown meaning, not used")
    assert roles.features == ["spend"]


def test_a_signup_date_becomes_tenure_days():
    frame = pd.DataFrame({
        "id": [str(i) for i in range(30)],
        "signup": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(30)],
        "spend": [str(10 + (i * 7) % 30) for i in range(30)],
    })
    result = clean_customers(frame, CleanOptions(as_of="2025-01-01"))
    assert result.roles.features == ["tenure_days", "spend"]
    assert "signup" not in result.roles.excluded
    assert result.data["tenure_days"].iloc[:2].tolist() == [366.0, 334.0]   # from 2024-01-01, 2024-02-02


# --------------------------------------------------------------------------- numeric reading on a sample

def _reference_numeric_reading(column: pd.Series):
    """The reading before sampling: every column parsed whole, then again with commas."""
    values, bad = parse_numbers(column)
    present = (~np.isnan(values)).sum() + bad.sum()
    if present == 0:
        return None
    if (~np.isnan(values)).sum() >= NUMERIC_SHARE * present:
        return values, bad, False
    if pd.api.types.is_numeric_dtype(column):
        return None
    values, bad = parse_numbers(column, decimal_comma=True)
    if (~np.isnan(values)).sum() >= NUMERIC_SHARE * present:
        return values, bad, True
    return None


def _assert_same_reading(column: pd.Series) -> None:
    got, expected = _numeric_reading(column), _reference_numeric_reading(column)
    assert (got is None) == (expected is None), column.name
    if got is not None:
        np.testing.assert_array_equal(got[0], expected[0])
        np.testing.assert_array_equal(got[1], expected[1])
        assert got[2] == expected[2], column.name


@pytest.fixture
def parsed_lengths(monkeypatch):
    """Lengths of the columns `parse_numbers` is called on."""
    import custseg.preparing.clean as clean

    lengths = []

    def recording(column, decimal_comma=False):
        lengths.append(len(column))
        return parse_numbers(column, decimal_comma)

    monkeypatch.setattr(clean, "parse_numbers", recording)
    return lengths


def _long(values: list[str], n: int = 50_000) -> pd.Series:
    return pd.Series([values[i % len(values)] for i in range(n)], dtype=str, name="x")


def test_a_long_text_column_is_judged_on_a_sample(parsed_lengths):
    column = _long(["Female", "Male", "", "Female", "Male "])
    assert _numeric_reading(column) is None
    assert max(parsed_lengths) <= NUMERIC_SAMPLE
    assert _reference_numeric_reading(column) is None


@pytest.mark.parametrize("values, passes", [
    (["3,5", "4,25", "1.234,5", "", "10"], 1),               # decimal commas: the point reading is skipped
    (["1.234.567", "2.500", "12"], 2),                       # thousands points without a comma
    (["3.5", "-2", "1e3", " 7 ", ""], 1),                    # plain numbers: one pass, as before
    (["3.5"] * 19 + ["n/a"], 1),                             # 95 % numbers: numeric, the rest unparseable
    (["85123A", "71053", "84406B", "22752", "21730"], 2),    # 60 % numbers: both readings parsed, then text
    (["1"] * 9 + ["x"] * 9 + [""] * 2, 2),                   # half numbers
])
def test_a_reading_that_fits_the_sample_is_decided_on_the_whole_column(values, passes, parsed_lengths):
    column = _long(values)
    _assert_same_reading(column)
    # full passes of the reading under test (the reference's are not recorded)
    assert sum(length == len(column) for length in parsed_lengths) == passes


def test_a_mostly_blank_long_column_is_parsed_whole(parsed_lengths):
    column = _long([""] * 99 + ["5"])
    _assert_same_reading(column)
    assert len(column) in parsed_lengths


@pytest.mark.parametrize("name", ["mall_customers.csv", "wholesale_customers.csv", "online_retail.csv.gz"])
def test_readings_of_real_columns_are_unchanged(name, shared_data, monkeypatch):
    import custseg.preparing.clean as clean

    table = pd.read_csv(shared_data / name, dtype=str, keep_default_na=False)
    inferred = pd.read_csv(shared_data / name).head(20_000)
    if len(table) < 10 * NUMERIC_SAMPLE:
        # small files: judge them on a 50-row sample, so that the sample path is what runs
        monkeypatch.setattr(clean, "NUMERIC_SAMPLE", 50)
        monkeypatch.setattr(clean, "MIN_SAMPLE_VALUES", 10)
    for frame in (table, inferred):
        for column in frame.columns:
            _assert_same_reading(frame[column])


@pytest.mark.parametrize("name", ["mall_customers.csv", "wholesale_customers.csv"])
def test_cleaning_real_tables_on_a_sample_changes_nothing(name, shared_data, monkeypatch):
    import custseg.preparing.clean as clean

    table = pd.read_csv(shared_data / name, dtype=str, keep_default_na=False)
    whole = clean_customers(table, CleanOptions())
    monkeypatch.setattr(clean, "NUMERIC_SAMPLE", 50)
    monkeypatch.setattr(clean, "MIN_SAMPLE_VALUES", 10)
    sampled = clean_customers(table, CleanOptions())
    assert sampled.roles == whole.roles
    assert sampled.ledger.to_dict() == whole.ledger.to_dict()
    assert sampled.params.to_dict() == whole.params.to_dict()
    pd.testing.assert_frame_equal(sampled.data, whole.data)


def test_duplicate_ids_are_still_found_when_ids_are_not_unique():
    table = pd.DataFrame({"CustomerID": ["a", "b", "a", "", "", "c"], "Spend": ["1", "7", "3", "9", "5", "2"]})
    result = clean_customers(table, CleanOptions())
    assert result.ledger.rows_dropped == {"missing id": 2, "duplicate id": 1}
    assert result.ids.tolist() == ["a", "b", "c"]


@pytest.mark.parametrize("ids, repeated", [
    (["a", "b", None, None, "c"], [False] * 5),        # missing ids never repeat an id
    (["a", "b", None, "a", "ä", "a "], [False, False, False, True, False, False]),
    ([f"C{i}" for i in range(2000)] + ["C7"], [False] * 2000 + [True]),
])
def test_duplicated_ids_equal_pandas(ids, repeated, monkeypatch):
    import custseg.preparing.clean as clean

    monkeypatch.setattr(clean, "_HASH_CHUNK", 3)              # hashes from many blocks
    series = pd.Series(ids, dtype=object)
    present = series.notna().to_numpy()
    expected = series.duplicated(keep="first").to_numpy() & present
    assert clean.duplicated_ids(series, present).tolist() == expected.tolist() == repeated


def test_a_hash_collision_falls_back_to_the_exact_search(monkeypatch):
    import custseg.preparing.clean as clean

    monkeypatch.setattr(clean.pd.util, "hash_array", lambda values, categorize: np.zeros(len(values), dtype="uint64"))
    series = pd.Series(["a", "b", "c"], dtype=object)
    assert not clean._distinct_text(series.to_numpy())
    assert clean.duplicated_ids(series, np.ones(3, dtype=bool)).tolist() == [False, False, False]
