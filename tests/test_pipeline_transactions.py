"""The pipeline on transaction logs: kind detection, RFM beside clusters, outputs, assign."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from custseg import load_model, segment
from custseg.cli import main
from custseg.logs.rfm import RFM_SEGMENTS


@pytest.fixture(scope="module")
def retail_run(tmp_path_factory):
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.csv.gz"
    if not data.is_file():
        pytest.skip(f"real data not found at {data}")
    out = tmp_path_factory.mktemp("retail")
    result = segment(data, algorithms=("kmeans", "hierarchical"), k_max=8)
    paths = result.write(out, report=False)
    return data, result, paths


def test_online_retail_is_read_as_a_transaction_log(retail_run):
    _, result, _ = retail_run
    summary = result.summary
    assert summary["source"]["kind"] == "transactions"
    checks = summary["transactions"]["checks"]
    assert checks["lines without customer id"] == 135_080
    assert checks["cancellation lines"] == 9_288
    assert checks["exact duplicate lines"] == 5_268
    assert summary["transactions"]["customers_found"] == 4_372
    ledger = summary["transactions"]["ledger"]
    assert ledger["rows_read"] == 541_909
    assert ledger["rows_used"] + sum(ledger["rows_dropped"].values()) == 541_909
    dropped_customers = sum(summary["transactions"]["customers_dropped"].values())
    assert summary["input"]["rows_read"] == 4_372 - dropped_customers


def test_retail_outputs_carry_rfm_and_features(retail_run):
    _, result, paths = retail_run
    segments = pd.read_csv(paths["segments"], dtype={"CustomerID": str})
    assert list(segments.columns) == ["CustomerID", "segment", "segment_name", "rfm_score", "rfm_segment",
                                      "p_alive", "expected_purchases", "expected_value_per_purchase", "clv", "year_spend"]
    assert set(segments["rfm_segment"]) <= set(RFM_SEGMENTS)
    # The customer value (issue 20): every customer scored, the fits sound.
    assert segments[["p_alive", "expected_purchases", "expected_value_per_purchase", "clv"]].notna().all().all()
    assert segments["p_alive"].between(0, 1).all() and (segments["clv"] >= 0).all()
    assert segments["rfm_score"].astype(str).str.fullmatch(r"[1-5]{3}").all()
    features = pd.read_csv(paths["features"], dtype={"CustomerID": str})
    assert {"recency_days", "frequency", "monetary"} <= set(features.columns)
    assert features.columns[0] == "CustomerID" and features["CustomerID"].is_unique
    summary = json.loads(paths["summary"].read_text())
    crosswalk = summary["rfm"]["crosswalk"]
    assert sum(sum(row.values()) for row in crosswalk.values()) == len(segments)
    value = summary["value"]
    assert value["ok"] and value["model"] == "mbg/nbd" and value["customers"] == len(segments)
    assert sum(s["customers"] for s in value["segments"]) == len(segments)


def test_retail_segment_names_agree_with_their_numbers(retail_run):
    _, result, _ = retail_run
    for item in result.summary["segments"]:
        for top in item["top_features"]:
            stats = item["profile"][top["feature"]]
            basis = "median" if stats["log_scale"] else "mean"
            assert (stats[basis] > stats[f"overall_{basis}"]) == (top["z"] > 0), (item["name"], top)
        assert item["actions"] and all(a["reason"] for a in item["actions"])


def test_assign_on_order_lines_reproduces_the_run(retail_run, tmp_path):
    data, result, paths = retail_run
    model = load_model(paths["model"])
    customers = model.customer_table(data)
    ids, labels, usable = model.assign(customers)
    run = result.segments_frame()
    assigned = pd.Series(labels, index=ids.astype(str).to_numpy())
    np.testing.assert_array_equal(assigned.loc[run["CustomerID"].astype(str)].to_numpy(), run["segment"].to_numpy())


def test_cli_flags_force_the_kind_and_columns(tmp_path, capsys):
    lines = pd.DataFrame({
        "client": [f"c{i % 40}" for i in range(400)],
        "when": pd.date_range("2024-01-01", periods=400, freq="D").strftime("%Y-%m-%d"),
        "paid": np.round(np.random.default_rng(0).gamma(2.0, 30.0, 400), 2),
    })
    lines.to_csv(tmp_path / "orders.csv", index=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(tmp_path / "orders.csv"), "--out", str(tmp_path / "out"), "--no-report",
              "--kind", "transactions", "--customer-col", "client", "--date-col", "when",
              "--amount-col", "paid", "--algorithms", "kmeans", "--k", "2..4"])
    assert exit_info.value.code in (0, None), capsys.readouterr().err
    segments = pd.read_csv(tmp_path / "out" / "segments.csv")
    assert list(segments.columns[:3]) == ["client", "segment", "segment_name"] and len(segments) == 40


def test_customer_table_joined_to_order_lines(tmp_path):
    from custseg.sampledata import generate_transactions

    lines, truth = generate_transactions(300, 3, random_state=1)
    lines.to_csv(tmp_path / "orders.csv", index=False)
    ids = sorted(truth.index)
    rng = np.random.default_rng(0)
    crm = pd.DataFrame({
        "CustomerID": ids[:-10] + ["99998", "99999"],            # 10 buyers missing, 2 unknown ids
        "age": rng.integers(18, 80, len(ids) - 8),
        "gender": rng.choice(["Female", "Male"], len(ids) - 8),
    })
    crm.to_csv(tmp_path / "crm.csv", index=False)
    result = segment(tmp_path / "orders.csv", customers_file=str(tmp_path / "crm.csv"),
                     algorithms=("kmeans",), k_max=5)
    join = result.summary["source"]["join"]
    assert join["customers_in_both"] == 290 and join["only_in_transactions"] == 10
    assert join["only_in_customers_file"] == 2 and join["columns"] == ["age", "gender"]
    assert "age" in result.summary["features"] and "recency_days" in result.summary["features"]
    assert result.summary["input"]["rows_read"] == 290
    assert "gender" in result.summary["columns"]["categorical"]


def test_transaction_runs_are_byte_identical(tmp_path):
    from custseg.sampledata import generate_transactions

    lines, _ = generate_transactions(400, 3, random_state=4)
    lines.to_csv(tmp_path / "orders.csv", index=False)
    first = segment(tmp_path / "orders.csv", k_max=5).write(tmp_path / "a", report=False)
    second = segment(tmp_path / "orders.csv", k_max=5).write(tmp_path / "b", report=False)
    for kind in ("segments", "summary", "model", "features"):
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind
