"""The customer value in a log run: histories from the feature query, the value columns in
segments.csv, the ``value`` block of summary.json, and the settings that steer it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_cli import cli, one_line_error

from custseg import generate_transactions, segment
from custseg.errors import SettingsError
from custseg.logs.duckdb_engine import customers_from_transactions
from custseg.settings import Settings, parse_horizon
from custseg.valuing.customer_value import OBSERVED_VALUE_NOTE, history_from_features
from custseg.valuing.history import history_from_transactions

VALUE_COLUMNS = ["p_alive", "expected_purchases", "expected_value_per_purchase", "clv"]
FAST = {"algorithms": ("kmeans",), "k_max": 3, "stability_resamples": 2, "report": False}


def _simulated_rows(rng: np.random.Generator, n: int) -> list[tuple]:
    """``n`` customers of an MBG/NBD-like shop in 2024: a first purchase in the first half
    year, purchases at a Gamma-distributed weekly rate until a Beta-distributed drop-out,
    each worth Gamma(6, nu) with nu ~ Gamma(4, 15) (Gamma-Gamma's assumptions)."""
    rows, end = [], pd.Timestamp("2024-12-31")
    for c in range(n):
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 182)))
        rate, drop, nu = rng.gamma(1.0, 0.3), rng.beta(1.0, 3.0), rng.gamma(4.0, 1 / 15.0)
        while day <= end:
            rows.append((f"S{c:03d}", day, round(float(rng.gamma(6.0, 1 / nu)), 2)))
            if rng.random() < drop:
                break
            day += pd.Timedelta(days=1 + int(rng.exponential(7.0 / rate)))
    return rows


def _small_log(with_money: bool = True) -> pd.DataFrame:
    """150 simulated customers (`_simulated_rows`) and twelve built by hand: four loyal (a
    purchase every two weeks all year), four who bought three times in January and stopped,
    four who bought once in early January."""
    rows = _simulated_rows(np.random.default_rng(0), 150)
    for c in range(4):
        rows += [(f"L{c}", day, 20.0 + c + 5 * (i % 3))
                 for i, day in enumerate(pd.date_range("2024-01-01", "2024-12-30", freq="14D"))]
        rows += [(f"E{c}", day, 40.0 + 10 * i) for i, day in enumerate(pd.date_range("2024-01-02", periods=3, freq="7D"))]
        rows += [(f"O{c}", pd.Timestamp("2024-01-03") + pd.Timedelta(days=c), 30.0)]
    log = pd.DataFrame(rows, columns=["customer", "date", "amount"])
    log["date"] = log["date"].dt.strftime("%Y-%m-%d")
    return log if with_money else log.drop(columns="amount")


def test_histories_from_the_feature_query_equal_the_reference_on_cdnow(shared_data):
    path = shared_data / "cdnow" / "CDNOW_master.txt"
    found = customers_from_transactions(path)
    ours = history_from_features(found.customers, found.history)
    lines = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
    # The rules drop exact duplicate lines and lines worth $0 (`custseg.logs.rules`).
    lines = lines.drop_duplicates()
    lines = lines[lines["dollar_value"] > 0]
    reference = history_from_transactions(lines["customer_id"], pd.to_datetime(lines["date"], format="%Y%m%d"),
                                          lines["dollar_value"], as_of=found.as_of)
    reference = reference.set_index("customer").loc[found.customers["customer_id"]].reset_index(drop=True)
    assert len(ours) == 23_502
    for name in ("x", "t_x", "T"):
        np.testing.assert_array_equal(ours[name].to_numpy(), reference[name].to_numpy(), err_msg=name)
    np.testing.assert_allclose(ours["mean_value"], reference["mean_value"], rtol=1e-9, equal_nan=True)


def test_a_log_run_scores_every_customer_and_sums_value_by_segment():
    result = segment(_small_log(), kind="transactions", **FAST)
    frame = result.segments_frame()
    assert frame.columns[-5:].tolist() == [*VALUE_COLUMNS, "year_spend"]
    assert result.summary["value"]["ok"], result.summary["value"]
    by_id = frame.set_index("customer")
    loyal, early, once = (by_id.loc[[f"{g}{c}" for c in range(4)]].reset_index() for g in "LEO")
    # Buying every two weeks up to the end: alive; three purchases in January, none for 11 months: not.
    assert (loyal["p_alive"] > 0.9).all() and (early["p_alive"] < 0.2).all()
    assert (loyal["expected_purchases"] > early["expected_purchases"]).all()
    # One-time buyers: the population mean value; MBG/NBD does not call them certainly alive.
    assert once["expected_value_per_purchase"].nunique() == 1 and (once["p_alive"] < 1).all()
    value = result.summary["value"]
    assert value["model"] == "mbg/nbd" and value["horizon"] == "12m" and value["discount"] == 0.10
    assert value["fit"]["customers"] == 162
    # Gamma-Gamma fits the repeat buyers only: the simulated ones and our eight.
    repeat = result.transactions.history.set_index("customer")["purchase_days"] > 1
    assert value["spend"]["customers"] == int(repeat.sum()) and repeat[["L0", "E0"]].all() and not repeat["O0"]
    assert sum(s["customers"] for s in value["segments"]) == 162
    assert sum(s["share_of_clv"] for s in value["segments"]) == pytest.approx(1.0, rel=1e-4)
    assert value["clv"] == pytest.approx(frame["clv"].sum(), rel=1e-4)
    for s in value["segments"]:
        members = frame[frame["segment"] == s["segment"]]
        assert s["mean_p_alive"] == pytest.approx(members["p_alive"].mean(), rel=1e-4)  # summary: 4 digits


def test_value_off_a_customer_table_and_a_log_without_money(mall):
    off = segment(_small_log(), kind="transactions", value="off", **FAST)
    assert off.summary["value"] is None and "clv" not in off.segments_frame().columns
    table = segment(mall, **FAST)
    assert table.summary["value"] is None and "p_alive" not in table.segments_frame().columns
    dates_only = segment(_small_log(with_money=False), kind="transactions", **FAST)
    frame = dates_only.segments_frame()
    assert frame["p_alive"].notna().all() and frame["expected_purchases"].notna().all()
    assert frame["clv"].isna().all() and frame["expected_value_per_purchase"].isna().all()
    assert dates_only.summary["value"]["spend"] is None and dates_only.summary["value"]["clv"] is None


def test_horizon_and_discount_change_the_scores():
    base = segment(_small_log(), kind="transactions", **FAST).segments_frame()
    short = segment(_small_log(), kind="transactions", horizon="13w", **FAST).segments_frame()
    flat = segment(_small_log(), kind="transactions", discount=0.0, **FAST).segments_frame()
    assert (short["expected_purchases"] < base["expected_purchases"]).all()
    assert (flat["clv"] > base["clv"]).all()
    np.testing.assert_allclose(flat["clv"], flat["expected_purchases"] * flat["expected_value_per_purchase"])


def test_horizon_and_discount_settings():
    assert (parse_horizon("26w"), parse_horizon("12m"), parse_horizon("90d")) == (182.0, 365.25, 90.0)
    with pytest.raises(SettingsError, match=r"--horizon must be a positive number of weeks, months or days"):
        Settings(horizon="12 years").validated()
    with pytest.raises(SettingsError, match=r"--discount must be an annual rate from 0 to below 1"):
        Settings(discount=10.0).validated()
    with pytest.raises(SettingsError, match=r"--value must be one of on, off, got 'yes'"):
        Settings(value="yes").validated()


def test_cli_value_options(capsys, tmp_path):
    path = tmp_path / "log.csv"
    _small_log().to_csv(path, index=False)
    assert "--horizon must be" in one_line_error(capsys, "run", path, "--horizon", "0w", "--out", tmp_path / "x")
    code, _, err = cli(capsys, "run", path, "--kind", "transactions", "--algorithms", "kmeans", "--k", "2..3",
                       "--no-report", "--horizon", "26w", "--discount", "0.05", "--out", tmp_path / "out")
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["value"]["horizon"], summary["value"]["discount"]) == ("26w", 0.05)
    segments = pd.read_csv(tmp_path / "out" / "segments.csv")
    assert segments.columns[-5:].tolist() == [*VALUE_COLUMNS, "year_spend"]


def test_the_value_columns_are_byte_identical_run_to_run(tmp_path):
    first = segment(_small_log(), kind="transactions", **FAST).write(tmp_path / "a", report=False)
    again = segment(_small_log(), kind="transactions", **FAST).write(tmp_path / "b", report=False)
    for kind in ("segments", "summary"):
        assert first[kind].read_bytes() == again[kind].read_bytes(), kind


def test_without_a_gamma_gamma_fit_each_customer_s_own_mean_is_the_value():
    """custseg's generated buyers spend about the same on every purchase: Gamma-Gamma's q <= 1
    (an infinite mean). The run still values its customers, each by its own mean
    repeat-purchase value (one-time buyers by the mean of those), and says so."""
    lines, _ = generate_transactions(300, 3, random_state=0)
    result = segment(lines, kind="transactions", **FAST)
    value = result.summary["value"]
    # flagged (here: no convergence; on the demo's 2,000 buyers: q = 0.81 <= 1)
    assert not value["ok"] and len(value["spend"]["warnings"]) >= 2
    assert value["spend"]["warnings"][-1] == OBSERVED_VALUE_NOTE
    history = result.transactions.history.set_index(result.transactions.history.columns[0])
    frame = result.segments_frame().set_index(history.index.name)
    repeat = history["purchase_days"] > 1
    own = history.loc[repeat, "repeat_spend"] / (history.loc[repeat, "purchase_days"] - 1)
    got = frame.loc[own.index, "expected_value_per_purchase"]
    assert got.to_numpy() == pytest.approx(own.to_numpy(), rel=1e-9)
    once = frame.loc[history.index[~repeat], "expected_value_per_purchase"]
    assert once.to_numpy() == pytest.approx(np.full(len(once), own.mean()), rel=1e-9)
    assert frame["clv"].notna().all() and value["clv"] == pytest.approx(frame["clv"].sum(), rel=1e-4)
    assert value["value_at_risk"] is not None
