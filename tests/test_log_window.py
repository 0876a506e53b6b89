"""Comparable snapshots of a log (issue 18, item 7): ``--window`` computes frequency, monetary
and the other count and money features over the trailing window before the as-of date, is
saved in model.json and used by ``assign`` and ``track``; without one, ``track`` warns when the
two snapshots cover histories of different lengths, and tenure (which grows with the calendar)
never asks for a refit by itself."""

from __future__ import annotations

import datetime
import json

import pandas as pd
import pytest
from test_cli import cli, one_line_error

from custseg import generate_transactions, load_model, segment, track
from custseg.errors import SettingsError
from custseg.logs.duckdb_engine import customers_from_transactions
from custseg.logs.window import Window, parse_window
from custseg.sampledata import write_table
from custseg.settings import Settings
from custseg.tracking.history import HISTORY_TOLERANCE, compare_histories

AS_OF = "2024-07-01"
#: A dozen order lines of four customers. With --as-of 2024-07-01 --window 90d the window
#: holds the days after 2024-04-02: A's order of 04-02 is just outside, its order of 04-03 just
#: inside; B bought only before it (lapsed); C returned 5 in it; D returned 40 in it of a
#: purchase made before (net spend in the window -40, shown as 0).
HAND_LOG = """CustomerID,InvoiceNo,InvoiceDate,Quantity,UnitPrice
A,1,2024-01-10,2,10
A,2,2024-04-02,1,5
A,3,2024-04-03,3,4
A,4,2024-06-20,1,30
A,4,2024-06-20,2,2.5
B,5,2024-02-01,5,10
B,6,2024-03-15,1,20
C,7,2024-05-01,4,5
C,C8,2024-05-10,-1,5
C,9,2024-01-05,10,1
D,10,2024-03-01,2,40
D,C11,2024-06-01,-1,40
"""
#: customer -> (frequency, monetary), computed by hand from HAND_LOG.
WHOLE = {"A": (4, 72.0), "B": (2, 70.0), "C": (2, 25.0), "D": (1, 40.0)}
DAYS_90 = {"A": (2, 47.0), "B": (0, 0.0), "C": (1, 15.0), "D": (0, 0.0)}
#: Calendar months: 3m before 07-01 starts after 04-01 (A's order of 04-02 is in), 1m after
#: 06-01 (D's return of 06-01 is out).
MONTHS_3 = {"A": (3, 52.0), "B": (0, 0.0), "C": (1, 15.0), "D": (0, 0.0)}
MONTHS_1 = {"A": (1, 35.0), "B": (0, 0.0), "C": (0, 0.0), "D": (0, 0.0)}
#: customer -> (recency_days, tenure_days): the whole history, with or without a window.
TIMES = {"A": (11, 173), "B": (108, 151), "C": (61, 178), "D": (122, 122)}
SMALL_RUN = ["--algorithms", "kmeans", "--no-report", "--seed", "0"]


@pytest.fixture
def hand_log(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(HAND_LOG)
    return path


def _by_customer(path, window):
    found = customers_from_transactions(path, as_of=AS_OF, window=window)
    table = found.customers.set_index("CustomerID")
    return found, table


@pytest.mark.parametrize("window, expected", [(None, WHOLE), ("90d", DAYS_90), ("90", DAYS_90),
                                              ("3m", MONTHS_3), ("1m", MONTHS_1)])
def test_frequency_and_monetary_over_the_window_by_hand(hand_log, window, expected):
    found, table = _by_customer(hand_log, window)
    assert sorted(table.index) == ["A", "B", "C", "D"]          # lapsed customers are kept
    got = {c: (table.loc[c, "frequency"], table.loc[c, "monetary"]) for c in table.index}
    assert got == expected
    times = {c: (table.loc[c, "recency_days"], table.loc[c, "tenure_days"]) for c in table.index}
    assert times == TIMES                                        # recency and tenure: whole history
    assert found.customers_found == found.customers_kept == 4 and found.customers_dropped == {}
    assert found.history_days == 178                             # C's first purchase, 2024-01-05
    assert found.window == (None if window is None else parse_window(window).text)


def test_a_customer_without_a_purchase_in_the_window_has_zeros(hand_log):
    _, table = _by_customer(hand_log, "90d")
    lapsed = table.loc[["B", "D"], ["frequency", "monetary", "avg_order_value", "items_per_order",
                                    "return_rate", "recent_spend_share"]]
    assert (lapsed == 0).all().all()
    assert table["distinct_products"].isna().all()               # the log has no product column
    assert table.loc["C", "return_rate"] == 0.25                 # 5 returned of 20 bought in the window
    assert table.loc["A", "avg_order_value"] == 23.5             # (12 + 35) / 2 orders
    assert table.loc["A", "items_per_order"] == 3.0              # (3 + 3) / 2 orders
    assert table.loc["B", "mean_days_between_purchases"] == 43.0  # whole history: 02-01 to 03-15


def test_window_text():
    assert parse_window("365") == parse_window("365d") == Window(365, "d")
    assert parse_window("52w") == Window(364, "d") and parse_window(" 12M ") == Window(12, "m")
    assert parse_window("1m").start(datetime.date(2024, 3, 31)) == datetime.date(2024, 2, 29)
    assert parse_window("12m").start(datetime.date(2024, 2, 29)) == datetime.date(2023, 2, 28)
    for bad in ("0", "12y", "-5", "a year", "1.5m"):
        with pytest.raises(SettingsError, match=r"--window must be whole days \(365 or 365d\), weeks \(52w\) or "
                                                r"months \(12m\), got"):
            Settings(window=bad).validated()


def test_bad_window_and_a_window_on_a_customer_table_are_one_line(capsys, hand_log, tmp_path):
    message = one_line_error(capsys, "run", hand_log, "--window", "quarter", "--out", tmp_path / "out")
    assert message == "error: --window must be whole days (365 or 365d), weeks (52w) or months (12m), got 'quarter'"
    table = tmp_path / "customers.csv"
    table.write_text("id,income,score\n" + "".join(f"{i},{10 * i % 7},{i % 5}\n" for i in range(1, 21)))
    message = one_line_error(capsys, "run", table, "--window", "90d", "--out", tmp_path / "out")
    assert message == (f"error: --window 90d applies to transaction logs; {table} was read as a customer table "
                       f"(one row per customer)")


@pytest.fixture
def windowed_run(capsys, hand_log, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli(capsys, "run", hand_log, "--as-of", AS_OF, "--window", "90d", "--out", out, *SMALL_RUN)
    assert code == 0, err
    return out


def test_the_window_is_saved_and_used_by_assign(capsys, hand_log, windowed_run, tmp_path):
    saved = json.loads((windowed_run / "model.json").read_text())
    assert saved["transactions"]["window"] == "90d" and saved["transactions"]["history_days"] == 178
    assert saved["format_version"] == 3           # a custseg that reads only version 2 must refuse it
    summary = json.loads((windowed_run / "summary.json").read_text())
    assert summary["transactions"]["window"] == "90d" and summary["settings"]["window"] == "90d"
    later = load_model(windowed_run / "model.json").customer_table(hand_log).set_index("CustomerID")
    assert {c: (later.loc[c, "frequency"], later.loc[c, "monetary"]) for c in later.index} == DAYS_90
    code, out, err = cli(capsys, "assign", windowed_run / "model.json", hand_log, "--window", "90",
                         "--out", tmp_path / "assigned.csv")
    assert code == 0, err
    assert out.startswith("assigned 4 of 4 customers")
    assert _segments((tmp_path / "assigned.csv").read_text()) == _segments((windowed_run / "segments.csv").read_text())


def _segments(text: str) -> list[tuple[str, str]]:
    """(id, segment) of every row of a segments.csv or an assigned.csv."""
    return sorted(tuple(line.split(",")[:2]) for line in text.strip().splitlines()[1:])


def test_a_different_window_on_assign_or_track_is_refused(capsys, hand_log, windowed_run, tmp_path):
    model = windowed_run / "model.json"
    message = one_line_error(capsys, "assign", model, hand_log, "--window", "12m", "--out", tmp_path / "a.csv")
    assert message.startswith("error: --window 12m differs from the model's window 90d: its segments are defined")
    message = one_line_error(capsys, "track", model, hand_log, "--window", "30d", "--out", tmp_path / "t")
    assert message.startswith("error: --window 30d differs from the model's window 90d")
    assert not (tmp_path / "a.csv").exists() and not (tmp_path / "t").exists()


def test_a_window_on_assign_for_a_model_without_one_is_refused(capsys, hand_log, tmp_path):
    code, _, err = cli(capsys, "run", hand_log, "--as-of", AS_OF, "--out", tmp_path / "run", *SMALL_RUN)
    assert code == 0, err
    assert json.loads((tmp_path / "run" / "model.json").read_text())["format_version"] == 2
    message = one_line_error(capsys, "assign", tmp_path / "run" / "model.json", hand_log, "--window", "90d",
                             "--out", tmp_path / "a.csv")
    assert message.startswith("error: --window 90d differs from the model, fitted without a window (features over "
                              "the whole history)")


def test_history_lengths_compared():
    run = {"window": None, "history_days": 100, "as_of_used": "2024-04-10"}
    assert compare_histories(run, int(100 * (1 + HISTORY_TOLERANCE)), "x")["warning"] is None
    warned = compare_histories(run, 200, "2024-07-19")
    assert warned["warning"].startswith("the two snapshots cover histories of different lengths: 100 days of orders "
                                        "to 2024-04-10 in the run, 200 days of orders to 2024-07-19 now; frequency "
                                        "and monetary grow with the history")
    assert "--window 100d" in warned["warning"]
    covered = compare_histories({**run, "window": "90d"}, 200, "2024-07-19")
    assert covered["warning"] is None and covered["before_covered"] == covered["after_covered"] == 90
    longer = compare_histories({**run, "window": "6m"}, 200, "2024-07-19")
    assert longer["warning"].startswith("the window 6m is longer than the shorter history")
    assert compare_histories({"columns": {}}, 200, "x")["warning"] is None   # a model from before history lengths
    assert compare_histories(None, 200, "x") is None                        # a customer table


# --------------------------------------------------------------------------- two dates of one generated log


@pytest.fixture(scope="module")
def two_dates(tmp_path_factory):
    """A generated year of orders; runs on its first half without and with a 90-day window,
    each tracked on the whole year."""
    out = tmp_path_factory.mktemp("two-dates")
    lines, _ = generate_transactions(400, 3, random_state=0)
    write_table(lines, out / "orders.csv")
    tracked = {}
    for window in (None, "90d"):
        run = segment(out / "orders.csv", algorithms=("kmeans",), k_min=2, k_max=4, as_of="2024-06-30",
                      window=window, report=False, stability_resamples=2)
        run.write(out / str(window), report=False)
        tracked[window] = track(out / str(window) / "model.json", out / "orders.csv")
    return out, tracked


def test_two_dates_without_a_window_warn_and_tenure_asks_for_no_refit(two_dates, capsys):
    out, tracked = two_dates
    plain = tracked[None]
    history = plain.info["history"]
    assert history["window"] is None and history["before_days"] < history["after_days"] / 1.5
    assert len(plain.info["warnings"]) == 1
    assert plain.info["warnings"][0].startswith("the two snapshots cover histories of different lengths")
    drift = plain.drift
    assert drift["calendar_features"] == ["tenure_days"]
    assert not any("tenure_days" in reason for reason in drift["reasons"])
    assert all(s["largest_shift_feature"] != "tenure_days" for s in drift["segments"] if s["largest_shift"] is not None)
    moved = [s["calendar_shift"]["tenure_days"] for s in drift["segments"] if s["calendar_shift"]]
    assert max(moved) > 1.0                       # tenure did move a lot: described, not counted
    assert any(line.startswith("tenure_days grows with the calendar") for line in drift["evidence"])
    assert plain.summary["tracking"]["warnings"] == plain.info["warnings"]
    code, text, err = cli(capsys, "track", out / "None" / "model.json", out / "orders.csv", "--out",
                          out / "track-plain")
    assert code == 0, err
    assert "warning: the two snapshots cover histories of different lengths" in " ".join(text.split())
    page = (out / "track-plain" / "report.html").read_text()
    assert 'data-test="track-warnings"' in page and "grows with the calendar (not counted)" in page


def test_two_dates_with_a_window_compare_like_with_like(two_dates):
    _, tracked = two_dates
    windowed = tracked["90d"]
    assert windowed.info["warnings"] == []
    history = windowed.info["history"]
    assert history["window"] == "90d" and history["before_covered"] == history["after_covered"] == 90
    assert not any("tenure_days" in reason for reason in windowed.drift["reasons"])


# --------------------------------------------------------------------------- the same window on Spark


def test_spark_builds_the_same_windowed_table(spark, hand_log):
    """The window's start day is a DATE literal in the one feature query both engines run: Spark
    gives DuckDB's table, value for value (calendar months: the window most likely to differ)."""
    from custseg.engines.spark.transactions import (
        customers_from_transactions_spark,
        sample_customers,
    )

    local = customers_from_transactions(hand_log, as_of=AS_OF, window="3m")
    found = customers_from_transactions_spark(spark, hand_log, as_of=AS_OF, window="3m")
    cached = found.customers
    table = sample_customers(found)
    cached.unpersist()
    pd.testing.assert_frame_equal(table, local.customers, check_exact=True)
    assert (found.window, found.history_days, found.customers_dropped) == ("3m", 178, {})
    assert dict(zip(table["CustomerID"], zip(table["frequency"], table["monetary"]))) == MONTHS_3


def test_the_value_models_history_ignores_the_window(hand_log):
    """purchase_days and repeat_spend (the value models' history) take the whole history:
    A bought on 4 days (01-10, 04-02, 04-03, 06-20), 20 on its first day, 72 in all."""
    histories = [found.history.set_index("CustomerID") for found, _ in
                 (_by_customer(hand_log, None), _by_customer(hand_log, "90d"))]
    assert histories[0].equals(histories[1])
    assert histories[0].loc["A", "purchase_days"] == 4 and histories[0].loc["A", "repeat_spend"] == 52.0
    assert histories[0].loc["D", "purchase_days"] == 1 and histories[0].loc["D", "repeat_spend"] == 0.0
