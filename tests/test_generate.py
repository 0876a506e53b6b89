"""Tests for custseg.sampledata: planted segments, their separation, and write_table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from custseg.errors import InputError
from custseg.sampledata import (
    ARCHETYPES,
    BUYER_ARCHETYPES,
    generate_customers,
    generate_transactions,
    write_table,
)

COLUMNS = [
    "customer_id",
    "gender",
    "age",
    "annual_income",
    "spending_score",
    "visits_per_month",
    "online_share",
    "tenure_years",
]
NUMERIC = COLUMNS[2:]


def _scaled(table: pd.DataFrame) -> np.ndarray:
    values = table[NUMERIC].astype(float)
    values["annual_income"] = np.log1p(values["annual_income"])
    return StandardScaler().fit_transform(values)


def _silhouettes(x: np.ndarray) -> tuple[dict[int, float], dict[int, np.ndarray]]:
    scores, labels = {}, {}
    for k in range(2, 9):
        labels[k] = KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(x)
        scores[k] = silhouette_score(x, labels[k])
    return scores, labels


def _is_rounded(values: pd.Series, decimals: int) -> bool:
    return bool(np.allclose(values, values.round(decimals), rtol=0, atol=1e-9))


def test_schema_and_ranges():
    table, truth = generate_customers(500, 5, random_state=3)
    assert list(table.columns) == COLUMNS
    assert table.shape == (500, 8)
    assert table["customer_id"].tolist()[:3] == ["C000001", "C000002", "C000003"]
    assert table["customer_id"].iloc[-1] == "C000500"
    assert table["customer_id"].is_unique
    assert set(table["gender"]) == {"Female", "Male"}
    assert table["age"].dtype == "int64" and table["age"].between(18, 80).all()
    assert table["spending_score"].dtype == "int64"
    assert table["spending_score"].between(1, 100).all()
    assert (table["annual_income"] > 0).all() and _is_rounded(table["annual_income"], 1)
    assert (table["visits_per_month"] >= 0).all() and _is_rounded(table["visits_per_month"], 1)
    assert table["online_share"].between(0, 1).all() and _is_rounded(table["online_share"], 2)
    assert (table["tenure_years"] >= 0).all() and _is_rounded(table["tenure_years"], 1)
    assert table[NUMERIC].notna().all().all()
    assert truth.name == "segment" and truth.dtype == "int64"
    assert len(truth) == 500 and truth.index.equals(table.index)
    assert sorted(truth.unique().tolist()) == [0, 1, 2, 3, 4]


def test_income_is_right_skewed():
    table, _ = generate_customers(2000, 4, random_state=0)
    income = table["annual_income"]
    assert income.mean() > income.median()
    assert income.skew() > 0.5


def test_segment_sizes_unequal_but_none_tiny():
    for k in (2, 4, 6, 10):
        _, truth = generate_customers(2000, k, random_state=1)
        shares = truth.value_counts(normalize=True)
        assert len(shares) == k
        assert shares.min() >= 0.05
        assert shares.max() > shares.min()


def test_deterministic_for_same_arguments():
    a, ta = generate_customers(300, 4, random_state=7, missing=0.05, outliers=0.02)
    b, tb = generate_customers(300, 4, random_state=7, missing=0.05, outliers=0.02)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_series_equal(ta, tb)
    c, _ = generate_customers(300, 4, random_state=8, missing=0.05, outliers=0.02)
    assert not a.equals(c)


def test_archetypes_are_many_and_distinct():
    assert len(ARCHETYPES) >= 10
    assert len({a.name for a in ARCHETYPES}) == len(ARCHETYPES)
    centres = {(a.age, a.income, a.score, a.visits, a.online, a.tenure) for a in ARCHETYPES}
    assert len(centres) == len(ARCHETYPES)
    table, truth = generate_customers(len(ARCHETYPES) * 50, len(ARCHETYPES))
    assert truth.nunique() == len(ARCHETYPES)


@pytest.mark.parametrize(
    ("n_customers", "n_segments", "message"),
    [
        (100, 0, "n_segments=0"),
        (100, len(ARCHETYPES) + 1, f"n_segments={len(ARCHETYPES) + 1}"),
        (3, 4, "n_customers=3 should be >= n_segments=4"),
    ],
)
def test_bad_sizes_raise_value_error(n_customers, n_segments, message):
    with pytest.raises(ValueError, match=message):
        generate_customers(n_customers, n_segments)


@pytest.mark.parametrize("argument", ["missing", "outliers"])
def test_bad_fractions_raise_value_error(argument):
    with pytest.raises(ValueError, match=f"{argument}=1.5"):
        generate_customers(100, 2, **{argument: 1.5})


def test_one_segment_and_as_many_customers_as_segments():
    _, truth = generate_customers(50, 1)
    assert set(truth) == {0}
    table, truth = generate_customers(6, 6)
    assert sorted(truth.tolist()) == [0, 1, 2, 3, 4, 5]
    assert len(table) == 6


@pytest.mark.parametrize("n_segments", [3, 4, 6])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_segments_are_well_separated(n_segments, seed):
    table, truth = generate_customers(2000, n_segments, random_state=seed)
    scores, labels = _silhouettes(_scaled(table))
    assert max(scores, key=scores.get) == n_segments, scores
    min_ari = 0.95 if n_segments == 4 else 0.9
    assert adjusted_rand_score(truth, labels[n_segments]) >= min_ari


def test_missing_blanks_the_requested_share_of_non_id_cells():
    table, _ = generate_customers(400, 4, random_state=2, missing=0.1)
    blank = table.isna()
    assert not blank["customer_id"].any()
    assert int(blank.to_numpy().sum()) == round(0.1 * 400 * 7)
    assert blank[COLUMNS[1:]].any().all()  # spread over every column
    assert table["age"].dtype == "Int64"
    clean, _ = generate_customers(400, 4, random_state=2)
    kept = ~blank["annual_income"]
    assert table.loc[kept, "annual_income"].equals(clean.loc[kept, "annual_income"])


def test_outliers_are_extreme_and_keep_their_segment():
    base, base_truth = generate_customers(1000, 4, random_state=5)
    table, truth = generate_customers(1000, 4, random_state=5, outliers=0.02)
    pd.testing.assert_series_equal(truth, base_truth)
    changed = table["annual_income"] != base["annual_income"]
    assert int(changed.sum()) == 20
    ratio = table.loc[changed, "annual_income"] / base.loc[changed, "annual_income"]
    assert ratio.between(9.5, 30.5).all()
    visits = table.loc[changed, "visits_per_month"]
    assert (visits >= 4.5 * base.loc[changed, "visits_per_month"].clip(lower=1.0)).all()
    pd.testing.assert_frame_equal(table.loc[~changed], base.loc[~changed])


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet", ".xlsx", ".json"])
def test_write_table_round_trips(tmp_path, suffix):
    table, _ = generate_customers(40, 3, random_state=1)
    path = tmp_path / f"customers{suffix}"
    write_table(table, path)
    if suffix in (".csv", ".tsv"):
        back = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    elif suffix == ".parquet":
        back = pd.read_parquet(path)
    elif suffix == ".xlsx":
        back = pd.read_excel(path, engine="openpyxl")
    else:
        back = pd.read_json(path, orient="records")
    pd.testing.assert_frame_equal(back, table, check_dtype=False)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_write_table_text_layout(tmp_path):
    table = pd.DataFrame({"id": ["0001", "0002"], "x": [1.5, None]})
    write_table(table, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == "id,x\n0001,1.5\n0002,\n"
    write_table(table, tmp_path / "t.tsv")
    assert (tmp_path / "t.tsv").read_text() == "id\tx\n0001\t1.5\n0002\t\n"
    write_table(table, tmp_path / "t.json")
    assert (tmp_path / "t.json").read_text() == '[{"id":"0001","x":1.5},{"id":"0002","x":null}]'


def test_write_table_refuses_unknown_extension(tmp_path):
    with pytest.raises(InputError, match=r"unknown extension '\.xml'"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "t.xml")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is not a folder"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "file" / "t.csv")


def test_write_table_creates_missing_folders(tmp_path):
    write_table(pd.DataFrame({"a": [1]}), tmp_path / "new" / "deeper" / "t.csv")
    assert (tmp_path / "new" / "deeper" / "t.csv").read_text() == "a\n1\n"


def test_write_table_is_atomic(tmp_path):
    path = tmp_path / "t.parquet"
    write_table(pd.DataFrame({"a": [1, 2]}), path)
    before = path.read_bytes()
    unwritable = pd.DataFrame({"a": [1, "text", 2.5, b"bytes"]}, dtype=object)
    with pytest.raises((pyarrow.ArrowException, TypeError, ValueError)):
        write_table(unwritable, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


# --- generate_transactions ---------------------------------------------------------------

TRANSACTION_COLUMNS = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
]
TEXT_COLUMNS = ["InvoiceNo", "StockCode", "Description", "InvoiceDate", "CustomerID", "Country"]


@pytest.fixture(scope="module")
def log_k4():
    return generate_transactions(2000, 4, random_state=0)


def _behaviour(lines: pd.DataFrame) -> pd.DataFrame:
    """Per-customer features by a plain pandas groupby (independent of custseg.preparing.features)."""
    known = lines.dropna(subset=["CustomerID"])
    date = pd.to_datetime(known["InvoiceDate"])
    value = known["Quantity"] * known["UnitPrice"]
    cancelled = known["InvoiceNo"].str.startswith("C")
    reference = date.max().normalize() + pd.Timedelta(days=1)
    bought = known[~cancelled].assign(date=date[~cancelled], value=value[~cancelled])
    per = bought.groupby("CustomerID")
    features = pd.DataFrame(
        {
            "recency_days": (reference - per["date"].max()).dt.days,
            "frequency": per["InvoiceNo"].nunique(),
            "tenure_days": (per["date"].max() - per["date"].min()).dt.days,
            "products": per["StockCode"].nunique(),
        }
    )
    purchased = per["value"].sum()
    returned = -value[cancelled].groupby(known.loc[cancelled, "CustomerID"]).sum()
    features["monetary"] = value.groupby(known["CustomerID"]).sum().reindex(features.index)
    features["avg_order_value"] = features["monetary"] / features["frequency"]
    features["return_rate"] = returned.reindex(features.index, fill_value=0.0) / purchased
    return features


def _invoice_number(invoice_no: pd.Series) -> pd.Series:
    return invoice_no.str.removeprefix("C").astype("int64")


def test_transactions_schema_and_dtypes(log_k4):
    lines, truth = log_k4
    assert list(lines.columns) == TRANSACTION_COLUMNS
    assert 60 * 2000 < len(lines) < 130 * 2000  # about 88 lines per customer
    for column in TEXT_COLUMNS:
        assert pd.api.types.is_string_dtype(lines[column]), column
    assert lines["Quantity"].dtype == "int64"
    assert lines["UnitPrice"].dtype == "float64"
    assert (lines["UnitPrice"] > 0).all() and _is_rounded(lines["UnitPrice"], 2)
    assert lines["InvoiceNo"].str.fullmatch(r"C?\d{6}").all()
    assert lines["InvoiceDate"].str.fullmatch(r"2024-\d\d-\d\d \d\d:\d\d:\d\d").all()
    date = pd.to_datetime(lines["InvoiceDate"], format="%Y-%m-%d %H:%M:%S")
    assert date.min() >= pd.Timestamp("2024-01-01") and date.max() < pd.Timestamp("2025-01-01")
    known = lines["CustomerID"].dropna()
    assert known.str.fullmatch(r"\d{5}").all() and known.min() == "10001"
    always_there = ["InvoiceNo", "StockCode", "Description", "InvoiceDate", "Country"]
    assert lines[always_there].notna().all().all()
    # Sorted by date, then invoice; invoices are numbered in time order.
    assert date.is_monotonic_increasing
    assert _invoice_number(lines["InvoiceNo"]).is_monotonic_increasing
    # A catalogue of a few hundred products plus non-product codes.
    codes = set(lines["StockCode"])
    assert {"POST", "DOT"} <= codes
    assert 200 <= len(codes - {"POST", "C2", "DOT", "M"}) <= 400
    assert lines.groupby("StockCode")["Description"].nunique().max() == 1
    assert lines["Country"].value_counts(normalize=True).index[0] == "United Kingdom"
    countries = lines.dropna(subset=["CustomerID"]).groupby("CustomerID")["Country"].nunique()
    assert 3 <= lines["Country"].nunique() <= 15 and (countries == 1).mean() > 0.95
    assert truth.name == "segment" and truth.dtype == "int64"
    assert truth.index.name == "CustomerID" and truth.index.is_unique
    assert sorted(truth.unique().tolist()) == [0, 1, 2, 3]


def test_transactions_truth_index_is_the_set_of_customer_ids(log_k4):
    lines, truth = log_k4
    assert set(truth.index) == set(lines["CustomerID"].dropna())
    assert len(truth) == 2000 and truth.index.is_monotonic_increasing


def test_transactions_are_deterministic():
    a, ta = generate_transactions(300, 5, random_state=7)
    b, tb = generate_transactions(300, 5, random_state=7)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_series_equal(ta, tb)
    c, _ = generate_transactions(300, 5, random_state=8)
    assert not a.equals(c)


def test_cancellations_are_c_prefixed_negative_and_later(log_k4):
    lines, _ = log_k4
    cancelled = lines["InvoiceNo"].str.startswith("C")
    assert cancelled.any()
    assert (lines.loc[cancelled, "Quantity"] < 0).all()
    assert (lines.loc[~cancelled, "Quantity"] > 0).all()
    assert lines.loc[cancelled, "CustomerID"].notna().all()  # guest orders are never returned
    # Every return takes back no more than the customer bought of that product, before.
    key = ["CustomerID", "StockCode"]
    bought = lines[~cancelled].groupby(key)["Quantity"].sum()
    returned = -lines[cancelled].groupby(key)["Quantity"].sum()
    assert (returned <= bought.reindex(returned.index)).all()
    date = pd.to_datetime(lines["InvoiceDate"])
    first_bought = date[~cancelled].groupby([lines["CustomerID"], lines["StockCode"]]).min()
    first_returned = date[cancelled].groupby([lines["CustomerID"], lines["StockCode"]]).min()
    assert (first_returned > first_bought.reindex(first_returned.index)).all()
    # About `returns` (0.03) of the invoices get a cancellation invoice.
    invoices = lines.drop_duplicates("InvoiceNo")
    cancels = invoices["InvoiceNo"].str.startswith("C")
    share = cancels.sum() / invoices.loc[~cancels, "CustomerID"].notna().sum()
    assert 0.02 < share < 0.04


def test_high_return_customers_return_far_more():
    lines, truth = generate_transactions(1500, 6, random_state=2)
    rate = _behaviour(lines)["return_rate"]
    by_segment = rate.groupby(truth.reindex(rate.index)).mean()
    assert by_segment[5] > 0.1
    assert by_segment[5] > 5 * by_segment.drop(5).max()


@pytest.mark.parametrize("missing_ids", [0.0, 0.02, 0.1])
def test_missing_ids_are_the_requested_share_of_lines(missing_ids):
    lines, truth = generate_transactions(600, 4, random_state=4, missing_ids=missing_ids)
    blank = lines["CustomerID"].isna()
    assert abs(blank.mean() - missing_ids) < 0.001
    # Blank ids belong to whole guest orders, some with DOTCOM postage.
    blank_kinds = lines["CustomerID"].isna().groupby(lines["InvoiceNo"]).nunique()
    assert blank_kinds.max() == 1
    if missing_ids:
        assert "DOT" in set(lines.loc[blank, "StockCode"])
    assert set(truth.index) == set(lines["CustomerID"].dropna())


def test_wholesalers_buy_huge_quantities_and_keep_their_segment():
    base, base_truth = generate_transactions(1000, 4, random_state=5, wholesalers=0.0)
    lines, truth = generate_transactions(1000, 4, random_state=5, wholesalers=0.01)
    pd.testing.assert_series_equal(truth, base_truth)
    pd.testing.assert_frame_equal(lines.drop(columns="Quantity"), base.drop(columns="Quantity"))
    changed = lines["Quantity"] != base["Quantity"]
    assert lines.loc[changed, "CustomerID"].nunique() == 10
    assert not lines.loc[changed, "StockCode"].isin(["POST", "C2", "DOT", "M"]).any()
    ratio = lines.loc[changed, "Quantity"] / base.loc[changed, "Quantity"]
    assert ratio.between(19.5, 100.5).all()
    whole = lines[lines["CustomerID"].isin(lines.loc[changed, "CustomerID"])]
    products = ~whole["StockCode"].isin(["POST", "C2", "DOT", "M"])
    assert whole.loc[products, "Quantity"].abs().min() >= 20


def test_archetypes_behave_as_named(log_k4):
    lines, truth = log_k4
    features = _behaviour(lines)
    segment = truth.reindex(features.index)
    median = features.groupby(segment).median()
    assert [a.name for a in BUYER_ARCHETYPES[:4]] == [
        "Loyal frequent buyers",
        "Big-basket occasional buyers",
        "One-time recent buyers",
        "Lapsed buyers",
    ]
    assert median.loc[0, "frequency"] >= 15 and median.loc[0, "tenure_days"] > 250
    assert median.loc[1, "avg_order_value"] > 5 * median.drop(1)["avg_order_value"].max()
    one_time = features[segment == 2]
    assert (one_time["frequency"] == 1).all() and (one_time["recency_days"] <= 62).all()
    assert (features.loc[segment == 3, "recency_days"] > 250).all()


def test_more_orders_in_november_and_december(log_k4):
    lines, _ = log_k4
    invoices = lines.drop_duplicates("InvoiceNo")
    month = pd.to_datetime(invoices["InvoiceDate"]).dt.month
    assert month.isin([11, 12]).mean() > 1.2 * 2 / 12


def test_every_archetype_and_a_short_period():
    assert len(BUYER_ARCHETYPES) >= 8
    assert len({a.name for a in BUYER_ARCHETYPES}) == len(BUYER_ARCHETYPES)
    k = len(BUYER_ARCHETYPES)
    lines, truth = generate_transactions(
        20 * k, k, random_state=1, start="2023-03-01", end="2023-04-15"
    )
    assert sorted(truth.unique().tolist()) == list(range(k))
    assert set(truth.index) == set(lines["CustomerID"].dropna())
    date = pd.to_datetime(lines["InvoiceDate"])
    assert date.min() >= pd.Timestamp("2023-03-01") and date.max() < pd.Timestamp("2023-04-16")


def test_transactions_round_trip_through_csv(tmp_path):
    lines, _ = generate_transactions(100, 3, random_state=2)
    write_table(lines, tmp_path / "orders.csv")
    back = pd.read_csv(
        tmp_path / "orders.csv", dtype={"InvoiceNo": str, "StockCode": str, "CustomerID": str}
    )
    pd.testing.assert_frame_equal(back, lines, check_dtype=False)


@pytest.mark.parametrize("seed", [0, 1])
def test_transaction_segments_are_well_separated(seed):
    lines, truth = generate_transactions(1500, 4, random_state=seed)
    features = _behaviour(lines)
    logged = ["recency_days", "frequency", "tenure_days", "products", "monetary", "avg_order_value"]
    features[logged] = np.log1p(features[logged].clip(lower=0))
    x = StandardScaler().fit_transform(features)
    labels = KMeans(n_clusters=4, n_init=4, random_state=0).fit_predict(x)
    assert adjusted_rand_score(truth.reindex(features.index), labels) >= 0.8


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n_segments": 0}, "n_segments=0 should be between 1 and"),
        ({"n_segments": 99}, "n_segments=99"),
        ({"n_customers": 3, "n_segments": 4}, "n_customers=3 should be >= n_segments=4"),
        ({"missing_ids": 1.0}, "missing_ids=1.0"),
        ({"missing_ids": -0.1}, "missing_ids=-0.1"),
        ({"returns": 1.5}, "returns=1.5"),
        ({"wholesalers": -1}, "wholesalers=-1"),
        ({"start": "someday"}, "start='someday' is not a date"),
        ({"end": "2023-12-31"}, "end='2023-12-31' should be after start='2024-01-01'"),
    ],
)
def test_transactions_bad_arguments_raise_value_error(arguments, message):
    with pytest.raises(ValueError, match=message):
        generate_transactions(**{"n_customers": 100, **arguments})
