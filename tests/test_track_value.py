"""Value over time in ``custseg track`` (issue 20, item 5): the value that moved between
segments, what lapsing segments took in and loyal ones gained, and the moves that matter
ranked by value."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from test_cli import cli
from test_value_assign import fitted_run  # noqa: F401  (the shared run of the small log)
from test_value_pipeline import FAST, _small_log

from custseg import segment, track
from custseg.tracking.value_moves import move_values, value_basis

#: Names that read as worth more, neither, and lapsed (`custseg.tracking.moves.value_of`).
NAMES = {0: "Loyal, high spending", 1: "Steady buyers", 2: "Lapsed"}


@pytest.fixture(scope="module")
def pair():
    """A run of the small log with hand-named segments, and a hand-built previous run of the
    same customers: four of them in another segment before, each with a CLV given by hand."""
    log = _small_log()
    result = segment(log, kind="transactions", **FAST)
    assert sorted(result.model.segment_names) == [0, 1, 2]
    model = dataclasses.replace(result.model, segment_names=NAMES)
    now = result.segments_frame()[["customer", "segment", "clv", "year_spend", "p_alive"]]
    first = {s: now.loc[now["segment"] == s, "customer"].tolist() for s in NAMES}
    # a: now Loyal, before Steady (a gain, one customer worth 5,000); b, c: now Steady, before
    # Lapsed (a gain, two customers worth 10 and 20); d: now Lapsed, before Loyal (a loss, 700).
    movers = {first[0][0]: (1, 5000.0), first[1][0]: (2, 10.0), first[1][1]: (2, 20.0), first[2][0]: (0, 700.0)}
    previous = now[["customer", "segment"]].copy()
    previous["clv"] = 100.0
    previous["year_spend"] = 50.0
    for customer, (segment_before, clv) in movers.items():
        previous.loc[previous["customer"] == customer, ["segment", "clv"]] = (segment_before, clv)
    previous["segment_name"] = previous["segment"].map(NAMES)
    return log, model, previous, now.set_index("customer"), movers


def test_value_moved_between_hand_built_runs(pair):
    log, model, previous, now, movers = pair
    tracked = track(model, log, previous=previous)
    value = tracked.value
    (a, _), (b, _), (c, _), (d, _) = movers.items()
    assert value["basis"] == "clv" and value["customers"] == 162
    assert value["before"] == pytest.approx(100.0 * 158 + 5000 + 10 + 20 + 700, rel=1e-12)
    assert value["after"] == pytest.approx(now["clv"].sum(), rel=1e-12)     # scored as the run scored them
    assert value["moved"] == pytest.approx(
        {"customers": 4, "before": 5730.0, "after": now.loc[[a, b, c, d], "clv"].sum()}, rel=1e-12)
    moves = {(m["from"], m["to"]): m for m in value["moves"]}
    assert list(moves) == [(NAMES[1], NAMES[0]), (NAMES[0], NAMES[2]), (NAMES[2], NAMES[1])]   # by value
    assert (moves[NAMES[2], NAMES[1]]["customers"], moves[NAMES[2], NAMES[1]]["before"]) == (2, 30.0)
    lost, gained = value["lost_to_lapsing"], value["gained_by_loyal"]
    assert (lost["customers"], lost["before"]) == (1, 700.0) and lost["after"] == pytest.approx(now.loc[d, "clv"])
    assert (gained["customers"], gained["before"]) == (1, 5000.0) and gained["segments"] == [NAMES[0]]
    # "Steady buyers" says neither: lapsing when more than half of its customers are at risk now.
    steady_at_risk = (now.loc[now["segment"] == 1, "p_alive"] < 0.5).mean()
    assert (NAMES[1] in lost["segments"]) == (steady_at_risk > 0.5) and NAMES[2] in lost["segments"]
    assert value["sentences"][1].startswith("1 customer with 700 of CLV")
    # Moves that matter, ranked by value: the gain of one customer worth 5,000 before the
    # gain of two worth 30.
    gains = [m for m in tracked.moves if m["direction"] == "gain"]
    assert [(m["from"], m["customers"], m["value"]) for m in gains] == [(NAMES[1], 1, 5000.0), (NAMES[2], 2, 30.0)]
    assert gains[0]["sentence"] == f"1 customers of “{NAMES[1]}” (CLV 5,000) are now in “{NAMES[0]}”: keep the momentum"
    assert tracked.summary["tracking"]["value"]["basis"] == "clv"


def test_last_year_spend_stands_in_and_no_value_ranks_by_customers(pair):
    log, model, previous, now, _ = pair
    spend = track(model, log, previous=previous.drop(columns="clv"))
    assert spend.value["basis"] == "year_spend"
    assert spend.value["before"] == 50.0 * 162 and spend.value["after"] == pytest.approx(now["year_spend"].sum())
    assert "of last-year spend" in spend.value["sentences"][0]
    plain = track(model, log, previous=previous.drop(columns=["clv", "year_spend"]))
    assert plain.value is None and plain.summary["tracking"]["value"] is None
    gains = [m for m in plain.moves if m["direction"] == "gain"]
    assert [m["customers"] for m in gains] == [2, 1] and "value" not in gains[0]    # by customers


def test_track_cli_shows_the_value_moved(capsys, fitted_run, tmp_path):  # noqa: F811
    log, out, _ = fitted_run
    lines = pd.read_csv(log, dtype={"customer": str})
    later = pd.concat([lines, pd.DataFrame({"customer": ["E0", "E1"], "date": ["2025-02-01"] * 2, "amount": [50.0] * 2})])
    later.to_csv(tmp_path / "later.csv", index=False)
    code, stdout, err = cli(capsys, "track", out / "model.json", tmp_path / "later.csv", "--out", tmp_path / "t")
    assert code == 0, err
    summary = json.loads((tmp_path / "t" / "summary.json").read_text())
    value = summary["tracking"]["value"]
    assert value["basis"] == "clv" and value["customers"] == 162
    text = " ".join(stdout.split())
    assert f"value: {value['sentences'][0]}" in text
    assert 'data-test="value-moves"' in (tmp_path / "t" / "report.html").read_text()


def test_value_basis_and_move_values_by_hand():
    assert value_basis({"value": {"clv": np.array([np.nan])}}, {"value": {"clv": np.array([1.0])}}) is None
    totals = move_values(np.array([0, 1, 1, 1]), np.array([1, 0, 0, 1]), np.array([3.0, 1.0, 2.0, 9.0]), (2, 2))
    assert totals.tolist() == [[0.0, 3.0], [3.0, 9.0]]
