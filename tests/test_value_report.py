"""Value per segment, value at risk, actions ranked by value and the report's "Customer value"
section (issue 20, items 2 and 4)."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
from test_value_pipeline import FAST, _small_log

from custseg import segment
from custseg.explaining.actions import by_value_at_risk, value_at_risk_action, with_value_actions
from custseg.logs.duckdb_engine import customers_from_transactions
from custseg.reporting import figures as plots
from custseg.reporting.report import render_report
from custseg.reporting.value_context import value_warnings
from custseg.valuing.customer_value import value_customers


@pytest.fixture(scope="module")
def log_run():
    return segment(_small_log(), kind="transactions", as_of="2024-12-31", **FAST)


def test_year_spend_takes_the_purchases_of_the_last_365_days(tmp_path):
    # as_of 2024-06-30: 2023-07-01 is 365 days before (counted), 2023-06-30 is 366 (not).
    lines = pd.DataFrame({
        "customer": ["A", "A", "A", "A", "B"],
        "date": ["2023-06-30", "2023-07-01", "2024-06-20", "2024-06-25", "2024-01-10"],
        "amount": [10.0, 20.0, 30.0, -5.0, 7.0],
    })
    path = tmp_path / "log.csv"
    lines.to_csv(path, index=False)
    found = customers_from_transactions(path, as_of="2024-06-30")
    spend = found.history.set_index("customer")["year_spend"]
    # Purchases only: the return of -5 is not spend.
    assert spend.to_dict() == {"A": 50.0, "B": 7.0}
    without_money = tmp_path / "dates.csv"
    lines.drop(columns="amount").to_csv(without_money, index=False)
    assert customers_from_transactions(without_money, as_of="2024-06-30").history["year_spend"].isna().all()


def _hand_value(money: bool = True):
    """A value step whose scores and customers are set by hand: five customers in two segments."""
    history = pd.DataFrame({"x": [0.0, 2.0, 5.0, 1.0, 0.0, 3.0], "t_x": [0.0, 30.0, 5.0, 10.0, 0.0, 20.0],
                            "T": [38.0, 38.0, 39.0, 20.0, 10.0, 25.0],
                            "mean_value": [np.nan, 40.0, 20.0, 15.0, np.nan, 30.0]})
    fitted = value_customers(history, money=money)
    scores = pd.DataFrame({"p_alive": [0.1, 0.49, 0.5, 0.9, 0.3],
                           "expected_purchases": [0.2, 1.0, 2.0, 4.0, 0.8],
                           "expected_value_per_purchase": [10.0] * 5,
                           "clv": [2.0, 10.0, 20.0, 40.0, 8.0]})
    customers = pd.DataFrame({"id": ["a", "b", "c", "d", "e"], "x": [4.0, 1.0, 2.0, 6.0, 9.0],
                              "t_x": [3.0, 5.0, 8.0, 30.0, 2.0], "T": [40.0] * 5,
                              "year_spend": [120.0, 80.0, 500.0, 900.0, 60.0] if money else [np.nan] * 5})
    return dataclasses.replace(fitted, scores=scores, customers=customers)


def test_value_at_risk_per_segment_on_hand_made_scores():
    value = _hand_value().summary([0, 0, 0, 1, 1])
    # At risk: P(alive) < 0.5, so a (0.1), b (0.49) and e (0.3); c at exactly 0.5 is not.
    assert (value["at_risk_customers"], value["value_at_risk"]) == (3, 260.0)
    first, second = value["segments"]
    assert (first["segment"], first["customers"], first["at_risk_customers"], first["value_at_risk"]) == (0, 3, 2, 200.0)
    assert (second["at_risk_customers"], second["value_at_risk"]) == (1, 60.0)
    assert first["mean_p_alive"] == pytest.approx((0.1 + 0.49 + 0.5) / 3)
    assert (first["share_of_clv"], second["share_of_clv"]) == pytest.approx((32 / 80, 48 / 80))
    # The most value at risk first: a (120), b (80), e (60); c and d are not at risk.
    assert [(t["id"], t["segment"], t["year_spend"]) for t in value["top_at_risk"]] == [
        ("a", 0, 120.0), ("b", 0, 80.0), ("e", 1, 60.0)]


def test_a_log_without_money_counts_the_value_at_risk_in_customers():
    value = _hand_value(money=False).summary([0, 0, 0, 1, 1])
    assert value["value_at_risk"] is None and value["clv"] is None
    assert [(s["at_risk_customers"], s["value_at_risk"]) for s in value["segments"]] == [(2, None), (1, None)]
    # Ranked by repeat purchases then: e (9), a (4), b (1).
    assert [t["id"] for t in value["top_at_risk"]] == ["e", "a", "b"]
    assert all(t["year_spend"] is None for t in value["top_at_risk"])


def test_the_matrices_bin_customers_by_frequency_and_recency():
    matrix = _hand_value().summary([0, 0, 0, 1, 1])["matrix"]
    assert matrix["frequency_edges"] == list(range(11))          # x up to 9: one column per count
    assert sum(map(sum, matrix["customers"])) == 5
    # d: x = 6, t_x = 30 weeks of 40 -> row 9 of 12 (30 / (40 / 12) = 9.0).
    assert matrix["customers"][9][6] == 1 and matrix["p_alive"][9][6] == 0.9
    assert matrix["expected_purchases"][9][6] == 4.0 and matrix["p_alive"][0][0] is None


def test_the_action_sentence_names_the_customers_and_their_spend():
    action = value_at_risk_action({"customers": 4000, "at_risk_customers": 1210, "value_at_risk": 84000.0})
    assert action["action"] == "1,210 customers who spent 84,000 last year are probably lapsing: win them back first."
    assert action["reason"] == ("1,210 of 4,000 customers (30%) are more likely gone than alive (P(alive) below 0.5); "
                                "they spent 84,000 in the last year")
    single = value_at_risk_action({"customers": 10, "at_risk_customers": 1, "value_at_risk": 12.5})
    assert single["action"] == "1 customer who spent 12 last year is probably lapsing: win them back first."
    # Below 5% of the segment, or nothing spent last year: no such action.
    assert value_at_risk_action({"customers": 1000, "at_risk_customers": 49, "value_at_risk": 10.0}) is None
    assert value_at_risk_action({"customers": 100, "at_risk_customers": 50, "value_at_risk": 0.0}) is None


def test_value_actions_come_first_and_segments_are_ranked_by_value_at_risk():
    segments = [{"id": 0, "actions": [{"action": f"a{i}", "reason": ""} for i in range(3)]},
                {"id": 1, "actions": [{"action": "b0", "reason": ""}]}]
    values = [{"segment": 0, "customers": 100, "at_risk_customers": 10, "value_at_risk": 500.0},
              {"segment": 1, "customers": 100, "at_risk_customers": 1, "value_at_risk": 20.0}]
    with_value_actions(segments, values)
    assert [a["action"] for a in segments[0]["actions"]] == [
        "10 customers who spent 500 last year are probably lapsing: win them back first.", "a0", "a1"]
    assert [a["action"] for a in segments[1]["actions"]] == ["b0"]       # 1% at risk: unchanged
    values[1]["value_at_risk"] = 900.0
    assert [s["id"] for s in by_value_at_risk(segments, values)] == [1, 0]
    assert [s["id"] for s in by_value_at_risk(segments, None)] == [0, 1]


def test_a_log_run_counts_the_lapsed_customers_and_their_spend(log_run):
    frame = log_run.segments_frame().set_index("customer")
    # Three purchases in January 2024 (40 + 50 + 60), none since: at risk with 150 spent within the year.
    early = frame.loc[[f"E{c}" for c in range(4)]]
    assert (early["p_alive"] < 0.5).all() and (early["year_spend"] == 150.0).all()
    loyal = frame.loc[[f"L{c}" for c in range(4)]]
    assert (loyal["p_alive"] >= 0.5).all()
    value = log_run.summary["value"]
    at_risk = frame[frame["p_alive"] < 0.5]
    assert value["at_risk_customers"] == len(at_risk)
    for s in value["segments"]:
        members = at_risk[at_risk["segment"] == s["segment"]]
        assert s["at_risk_customers"] == len(members)
        assert s["value_at_risk"] == pytest.approx(members["year_spend"].sum(), rel=1e-5)
        info = next(i for i in log_run.segment_info if i["id"] == s["segment"])
        first = info["actions"][0]["action"]
        if len(members) >= 0.05 * s["customers"] and s["value_at_risk"] > 0:
            assert first == (f"{len(members):,} customer{'s' if len(members) > 1 else ''} who spent "
                             f"{members['year_spend'].sum():,.0f} last year {'are' if len(members) > 1 else 'is'} "
                             "probably lapsing: win them back first.")
        else:
            assert "lapsing" not in first
    top = value["top_at_risk"]
    assert len(top) == min(20, len(at_risk))
    expected = at_risk.sort_values(["year_spend", "p_alive"], ascending=[False, True]).head(20)
    assert [t["id"] for t in top] == expected.index.tolist()


def test_the_report_has_a_customer_value_section_for_a_log(log_run):
    html = render_report(log_run.summary)
    section = html[html.index('id="customer-value"'):html.index('id="segment-details"')]
    assert 'data-figure="value_p_alive"' in section and 'data-figure="value_purchases"' in section
    top = section[section.index('data-test="value-top"'):]
    top = top[:top.index("</table>")]
    assert top.count("<tr>") == 1 + len(log_run.summary["value"]["top_at_risk"])
    first = log_run.summary["value"]["top_at_risk"][0]
    assert re.search(rf"<td>{first['id']}</td>", top)
    table = section[section.index('data-test="value-table"'):]
    assert table[:table.index("</table>")].count("<tr>") == 1 + len(log_run.summary["value"]["segments"])
    assert "MBG/NBD: r = " in section and 'href="#customer-value"' in html


def test_no_customer_value_section_for_a_customer_table(mall):
    html = render_report(segment(mall, **FAST).summary)
    assert 'id="customer-value"' not in html and 'data-figure="value_p_alive"' not in html


def test_the_value_figures_render_and_stay_out_without_a_value_block(log_run):
    for function in (plots.plot_value_p_alive, plots.plot_value_purchases):
        png = plots.figure_to_png(function(log_run.summary))
        assert png.startswith(b"\x89PNG")
        assert function({"value": None}) is None


def test_the_report_warns_when_the_model_finds_no_drop_out():
    sentences = value_warnings({"ok": True, "mean_p_alive": 0.95, "fit": {"warnings": []}, "spend": None})
    assert sentences == ["The model found almost no drop-out: P(alive) is close to 1 for nearly everyone, "
                         "so read it as 'no sign of leaving yet'."]
    assert value_warnings({"ok": True, "mean_p_alive": 0.6, "fit": {"warnings": []}, "spend": None}) == []
    flagged = value_warnings({"ok": False, "mean_p_alive": 0.6, "fit": {"warnings": ["no convergence"]}})
    assert flagged[0] == "no convergence" and flagged[1].startswith("A fit is flagged")
