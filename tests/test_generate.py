"""Tests for custseg.generate: planted segments, their separation, and write_table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.preprocessing import StandardScaler

from custseg.errors import InputError
from custseg.generate import ARCHETYPES, generate_customers, write_table

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
