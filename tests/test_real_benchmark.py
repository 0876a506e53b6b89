"""The real-table benchmark (benchmarks/real.py): outcome separation, the binning of money,
future spend, the targets, the K-Means + silhouette baseline, and one table end to end on a
tiny hand-built file and on Mall Customers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import load_benchmark
from sklearn.metrics import adjusted_rand_score


@pytest.fixture(scope="module")
def real():
    return load_benchmark("real")


@pytest.fixture(autouse=True)
def one_thread(real):
    """As the script runs: one BLAS/OpenMP thread (two threads thrash on a busy two-core machine)."""
    with real.limited_threads(1):
        yield


def test_outcome_separation_is_one_for_the_same_partition_and_not_above_zero_for_an_independent_one(real):
    assert real.outcome_separation([0, 0, 1, 1, 2, 2], ["b", "b", "a", "a", "c", "c"]) == pytest.approx(1.0)
    # noise (-1) is a group of its own: here it is exactly the churners
    assert real.outcome_separation([-1, -1, 0, 0], ["Yes", "Yes", "No", "No"]) == pytest.approx(1.0)
    # each segment holds one Yes and one No: no information beyond chance
    assert real.outcome_separation([0, 0, 1, 1], ["Yes", "No", "Yes", "No"]) <= 0.0


def test_spend_bins_put_no_spend_in_0_and_quintiles_of_the_positive_spend_in_1_to_5(real):
    spend = [0, -5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    # positive quintile edges (linear): 2.8, 4.6, 6.4, 8.2
    assert real.spend_bins(spend).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # an edge value goes to the lower bin (intervals closed on the right, as pd.qcut)
    assert real.spend_bins([0, 1, 2, 3, 4, 5]).tolist() == [0, 1, 2, 3, 4, 5]
    # the order of customers does not change anyone's bin
    order = np.random.default_rng(0).permutation(len(spend))
    assert real.spend_bins(np.array(spend)[order]).tolist() == real.spend_bins(spend)[order].tolist()
    assert real.spend_bins([7.5, 7.5, 7.5]).tolist() == [1, 1, 1]
    assert real.spend_bins([0.0, -1.0]).tolist() == [0, 0]


def order_lines() -> pd.DataFrame:
    """Order lines around a window of 2011-09-10 .. 2011-12-09, one rule per line."""
    rows = [
        # customer, invoice, date, quantity, price
        (1.0, "500", "2011-09-09 23:59", 10, 1.0),   # the day before the window: out
        (1.0, "501", "2011-09-10 08:00", 3, 2.0),    # in: 6
        (1.0, "501", "2011-09-10 08:00", 3, 2.0),    # exact duplicate: dropped
        (1.0, "C502", "2011-10-01 09:00", -1, 2.0),  # cancellation: netted, -2
        (2.0, "503", "2011-12-09 18:00", 2, 1.5),    # last day of the window: in, 3
        (2.0, "504", "2011-12-10 09:00", 100, 1.0),  # the day after: out
        (2.0, "505", "2011-11-01 09:00", 5, 0.0),    # zero price: dropped
        (3.0, "A506", "2011-10-01 09:00", 1, 50.0),  # adjustment: dropped
        (3.0, "C507", "2011-10-02 09:00", -4, 2.5),  # only a return in the window: -10
        (None, "508", "2011-10-03 09:00", 9, 9.0),   # no customer: dropped
    ]
    return pd.DataFrame(rows, columns=["CustomerID", "InvoiceNo", "InvoiceDate", "Quantity", "UnitPrice"])


def test_future_spend_nets_returns_in_the_window_and_drops_what_custseg_drops(real):
    spend = real.future_spend(order_lines(), "2011-09-10", "2011-12-09")
    assert spend.to_dict() == {"1": 4.0, "2": 3.0, "3": -10.0}


def test_spend_outcome_follows_the_fitted_customers_and_gives_0_to_those_who_bought_nothing(real, tmp_path):
    path = tmp_path / "lines.csv.gz"
    order_lines().to_csv(path, index=False)
    outcome = real.spend_outcome(path, pd.Series(["3", "9", "2", "1"]))
    assert outcome.values.tolist() == [-10.0, 0.0, 3.0, 4.0]
    # positive spends 3 and 4: edges 3.2, 3.4, 3.6, 3.8 -> 3 in bin 1, 4 in bin 5
    assert outcome.groups.tolist() == [0, 0, 1, 5]
    assert outcome.unit == "money"


def test_churn_outcome_is_read_by_customer_id_and_a_missing_customer_is_an_error(real, tmp_path):
    path = tmp_path / "telco.csv"
    pd.DataFrame({"customerID": ["0002-B", "0001-A", "0003-C"], "tenure": [1, 2, 3],
                  "Churn": ["Yes", "No", "No"]}).to_csv(path, index=False)
    outcome = real.churn_outcome(path, pd.Series(["0001-A", "0002-B", "0003-C"]))
    assert outcome.groups.tolist() == ["No", "Yes", "No"]
    assert outcome.values.tolist() == [0.0, 1.0, 0.0]
    with pytest.raises(ValueError, match="1 fitted customers have no Churn in telco.csv"):
        real.churn_outcome(path, pd.Series(["0001-A", "0009-Z"]))


def test_shares_ranges_and_names(real):
    assert real.shares(np.array([0, 0, 0, 1, 2, 2, -1, -1, -1, -1])) == (0.3, 0.1)
    assert real.outcome_range([0, 0, 1, 1, 1, 1, -1], [1, 1, 0, 0, 0, 1, 1]) == (0.25, 1.0)
    assert real.short_name("Low monthly charges, long-standing") == "Low monthly charges"
    assert real.short_name("Young") == "Young"
    assert real.led_by_unknown("unknown housing, unknown loan")
    assert real.led_by_unknown("'Unknown' default")
    assert not real.led_by_unknown("Students with unknown job")


def row(real, k=4, largest=0.4, stability=0.7, names=("Young",), ami=0.1):
    return real.Row("t", real.CUSTSEG, 100, k, largest, 0.1, stability, list(names), ami, None, None, None, 1.0)


def test_targets_pass_and_fail_at_their_thresholds(real):
    base = row(real, ami=0.1)
    assert real.targets(row(real), base, natural_two=False) == {
        "k": "PASS", "largest": "PASS", "stability": "PASS", "names": "PASS", "ami": "PASS"}
    edge = row(real, k=8, largest=0.55, stability=0.6)
    assert set(real.targets(edge, base, natural_two=False).values()) == {"PASS"}
    failing = row(real, k=9, largest=0.56, stability=0.59, names=("Young", "Unknown contact"), ami=0.099)
    assert real.targets(failing, base, natural_two=False) == {
        "k": "FAIL", "largest": "FAIL", "stability": "FAIL", "names": "FAIL", "ami": "FAIL"}
    assert real.targets(row(real, k=2), base, natural_two=False)["k"] == "FAIL"
    assert real.targets(row(real, k=2), base, natural_two=True)["k"] == "PASS"
    assert real.targets(row(real, stability=None), base, natural_two=False)["stability"] == "FAIL"
    assert real.targets(row(real, ami=None), row(real, ami=None), natural_two=False)["ami"] == ""


def blobs(per: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    truth = np.repeat(np.arange(3), per)
    return centres[truth] + rng.normal(0, 0.5, (3 * per, 2)), truth


def test_the_baseline_finds_well_separated_blobs_and_they_are_stable(real):
    from custseg.segmenting.options import SearchOptions
    from custseg.settings import Settings

    points, truth = blobs()
    labels, k, silhouette = real.kmeans_silhouette(points)
    assert k == 3 and adjusted_rand_score(truth, labels) == 1.0 and silhouette > 0.8
    stability = real.baseline_stability(points, labels, k, SearchOptions.from_settings(Settings()))
    assert stability == {0: 1.0, 1: 1.0, 2: 1.0}


def test_one_table_end_to_end_with_an_excluded_outcome(real, tmp_path):
    points, truth = blobs(per=40, seed=1)
    table = pd.DataFrame({
        "customerID": [f"C{i:03d}" for i in range(len(truth))],
        "spend": np.round(100 + 20 * points[:, 0], 2), "visits": np.round(50 + 5 * points[:, 1], 2),
        "Churn": np.where(truth == 0, "Yes", "No"),
    })
    table.to_csv(tmp_path / "churn.csv", index=False)
    spec = real.Table("tiny", "Tiny churn", "churn.csv", {"exclude": ("Churn",)}, real.churn_outcome)
    ours, theirs = real.measure(spec, tmp_path, log=lambda message: None)
    assert (ours.method, theirs.method) == (real.CUSTSEG, real.BASELINE)
    assert ours.extra["features"] == ["spend", "visits"]
    assert (ours.k, theirs.k) == (3, 3)
    assert ours.largest == ours.smallest == theirs.largest == pytest.approx(1 / 3)
    # the same three groups: the same separation of churn (one group churns, two do not)
    expected = real.outcome_separation(truth, np.where(truth == 0, "Yes", "No"))
    assert ours.ami == pytest.approx(expected) and theirs.ami == pytest.approx(expected)
    assert (ours.outcome_low, ours.outcome_high) == (0.0, 1.0)
    assert real.outcome_text(ours) == "churn 0%..100% (all: 33%)"
    assert ours.targets["ami"] == "PASS" and ours.targets["k"] == "PASS"
    assert theirs.targets == {} and len(ours.names) == 3


def test_main_writes_the_markdown_and_json_and_a_fail_is_no_error(real, tmp_path, monkeypatch):
    def fake_measure(table, data, log):
        ours = row(real, k=2, largest=0.9)
        ours.table = table.title
        ours.targets = real.targets(ours, row(real), natural_two=False)
        return [ours, row(real)]

    monkeypatch.setattr(real, "measure", fake_measure)
    out = tmp_path / "REAL.md"
    assert real.main(["--tables", "mall", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| Mall Customers (all columns) (100) | custseg | 2 | 90% | 10% | 0.70 | 0.100 |" in text
    assert "custseg meets 3 of 5 targets; misses: Mall Customers (all columns): k, Mall Customers (all columns): largest." in text
    assert "| FAIL | FAIL | PASS | PASS | PASS |" in text
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["meta"]["threads"] == 1 and "openmp: 1" in saved["meta"]["thread_pools"]
    assert saved["meta"]["command"] == f"python benchmarks/real.py --tables mall --out {out}"
    assert [r["k"] for r in saved["rows"]] == [2, 4]
    with pytest.raises(SystemExit, match="unknown tables"):
        real.main(["--tables", "nope"])


def test_mall_end_to_end_on_the_real_file(real, shared_data):
    mall = next(t for t in real.TABLES if t.key == "mall")
    ours, theirs = real.measure(mall, shared_data, log=lambda message: None)
    assert ours.customers == theirs.customers == 200
    # every column as the file has it: the three numbers cluster, Genre is described, the id is an id
    assert ours.extra["features"] == ["Age", "Annual Income (k$)", "Spending Score (1-100)"]
    assert ours.ami is None and ours.targets["ami"] == "" and real.outcome_text(ours) == ""
    assert 2 <= theirs.k <= 10 and 0 < theirs.least_stability <= 1
    assert len(ours.names) == ours.k and ours.smallest <= 1 / ours.k <= ours.largest


def test_the_docstring_examples_run(real):
    import doctest

    failures, tried = doctest.testmod(real)
    assert tried >= 10 and failures == 0
