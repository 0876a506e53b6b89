"""Segments over time (custseg.tracking.track, ``custseg track``): migrations, transitions, drift, outputs.

Exact values come from a hand-made 3-segment toy in which every move is known; the online
retail log checks the outputs against an independent pandas computation from two
segments.csv files; generated snapshots with planted moves and a planted new segment check
that moves are recovered and that the verdict tells drift from change.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from custseg import Tracking, generate_customers, load_model, segment, track
from custseg.cli import main
from custseg.errors import ModelError
from custseg.sampledata import generate_transactions, move_customers, write_table
from custseg.reporting.report import render_track_report
from custseg.tracking.drift import CENTRE_SHIFT_SD, FAR_EXPECTED, FAR_FACTOR, measure_drift
from custseg.tracking.moves import move_sentence, value_of
from custseg.tracking.reference import reference_statistics
from custseg.logs.duckdb_engine import customers_from_transactions
from custseg.logs.rfm import RFM_SEGMENTS
from test_cli import cli, one_line_error




# --------------------------------------------------------------------------- a toy with known moves

#: Three tight groups on a line (x = 0, 10, 20), six customers each.
CENTRES = {"low": 0.0, "mid": 10.0, "high": 20.0}


def _toy(ids_values: dict[str, float]) -> pd.DataFrame:
    ids = list(ids_values)
    x = np.array([ids_values[i] for i in ids])
    # y follows x with a small, fixed wobble: the groups are far apart in both columns
    y = x + np.array([(k % 3) * 0.1 for k in range(len(ids))])
    return pd.DataFrame({"customer_id": ids, "x": x, "y": y})


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """A run on 18 customers in 3 groups, its outputs, and a later snapshot with known changes:
    a1 moves low -> high, a2 moves low -> mid, c6 is gone, n1 (mid) and n2 (high) are new."""
    before = {f"{g}{i}": CENTRES[name] + 0.2 * i for g, name in zip("abc", CENTRES) for i in range(1, 7)}
    run = segment(_toy(before), algorithms=("kmeans",), k_min=3, k_max=3)
    out = tmp_path_factory.mktemp("toy")
    run.write(out, report=False)
    after = {k: v for k, v in before.items() if k != "c6"}
    after.update(a1=20.5, a2=10.5, n1=9.9, n2=19.8)
    data = _toy(after)
    data.to_csv(out / "later.csv", index=False)
    segments = run.segments_frame().set_index("customer_id")["segment"]
    group = {name: int(segments[f"{g}3"]) for g, name in zip("abc", CENTRES)}
    names = {s["id"]: s["name"] for s in run.segment_info}
    return run, out, data, group, names


def test_toy_transitions_are_the_known_moves(toy):
    run, out, data, group, names = toy
    tracked = track(out / "model.json", data)
    low, mid, high = (names[group[g]] for g in ("low", "mid", "high"))
    counts = tracked.transitions
    expected = pd.DataFrame(0, index=counts.index, columns=counts.columns)
    expected.loc[low, low] = 4
    expected.loc[low, high] = 1                  # a1
    expected.loc[low, mid] = 1                   # a2
    expected.loc[mid, mid] = 6
    expected.loc[high, high] = 5
    expected.loc[high, "gone"] = 1               # c6
    expected.loc["new", mid] = 1                 # n1
    expected.loc["new", high] = 1                # n2
    pd.testing.assert_frame_equal(counts, expected)
    shares = tracked.transition_shares
    assert shares.loc[low, low] == pytest.approx(4 / 6) and shares.loc["new", mid] == pytest.approx(0.5)
    assert tracked.customers == {"before": 18, "after": 19, "in_both": 17, "kept": 15, "moved": 2, "new": 2,
                                 "gone": 1}


def test_toy_sizes_gained_lost_kept(toy):
    run, out, data, group, names = toy
    sizes = track(out / "model.json", data).sizes
    low, mid, high = (names[group[g]] for g in ("low", "mid", "high"))
    assert sizes.loc[low, ["before", "after", "kept", "lost", "gained", "change"]].tolist() == [6, 4, 4, 2, 0, -2]
    assert sizes.loc[mid, ["before", "after", "kept", "lost", "gained", "change"]].tolist() == [6, 8, 6, 0, 2, 2]
    assert sizes.loc[high, ["before", "after", "kept", "lost", "gained", "change"]].tolist() == [6, 7, 5, 1, 2, 1]
    assert sizes.loc[high, "lost_to_gone"] == 1 and sizes.loc[mid, "gained_from_new"] == 1
    assert sizes.loc[mid, "share_after"] == pytest.approx(8 / 19)


def test_toy_migration_has_every_customer_once(toy):
    run, out, data, group, names = toy
    migration = track(out / "model.json", data).migration
    assert migration["customer_id"].is_unique and len(migration) == 20
    rows = migration.set_index("customer_id")
    assert rows.loc["a1", "status"] == "moved" and rows.loc["a1", "segment_after"] == group["high"]
    assert rows.loc["a2", "segment_name_after"] == names[group["mid"]]
    assert rows.loc["c6", "status"] == "gone" and rows.loc["c6", "segment_name_after"] == "gone"
    assert pd.isna(rows.loc["c6", "segment_after"]) and rows.loc["c6", "segment_before"] == group["high"]
    assert rows.loc["n2", "status"] == "new" and rows.loc["n2", "segment_name_before"] == "new"
    assert pd.isna(rows.loc["n2", "segment_before"])
    assert (rows["status"] == "kept").sum() == 15
    # the run's customers first, in its order, then the new ones
    assert migration["customer_id"].tolist()[-2:] == ["n1", "n2"]


def test_toy_csv_outputs(toy, tmp_path):
    run, out, data, group, names = toy
    paths = track(out / "model.json", data).write(tmp_path, report=False)
    assert set(paths) == {"migration", "transitions", "summary"}
    migration = pd.read_csv(paths["migration"], dtype=str, keep_default_na=False)
    assert list(migration.columns) == ["customer_id", "segment_before", "segment_after", "segment_name_before",
                                       "segment_name_after", "status"]
    gone = migration[migration["customer_id"] == "c6"].iloc[0]
    assert gone["segment_after"] == "" and gone["segment_name_after"] == "gone"
    long = pd.read_csv(paths["transitions"])
    assert list(long.columns) == ["kind", "before", "after", "customers", "share_of_before"]
    assert len(long) == 4 * 4 and long["customers"].sum() == 20
    assert set(long["kind"]) == {"segment"}
    summary = json.loads(paths["summary"].read_text())["tracking"]
    assert summary["customers"]["moved"] == 2 and summary["rfm"] is None
    counts = {row["name"]: row["before"] for row in summary["segments"]}
    assert sorted(counts.values()) == [6, 6, 6] and all(isinstance(v, int) for v in counts.values())
    assert sum(map(sum, summary["transitions"]["counts"])) == 20


def test_migration_csv_has_the_bytes_of_write_csv(toy, tmp_path):
    from custseg.outputs import write_csv
    from custseg.tracking.result import write_keyed_csv

    run, out, data, group, names = toy
    migration = track(out / "model.json", data).migration
    quoted = migration.assign(segment_name_after=migration["segment_name_after"].cat.rename_categories(
        lambda name: f'say "{name}", then =1+1'))
    odd_ids = migration.assign(customer_id=migration["customer_id"].where(migration.index != 3, "=HYPERLINK(1,2)"))
    for name, frame in (("plain", migration), ("quoted", quoted), ("odd", odd_ids)):
        expected = write_csv(tmp_path / f"{name}-expected.csv", frame).read_bytes()
        assert write_keyed_csv(tmp_path / f"{name}.csv", frame, "customer_id").read_bytes() == expected, name
    assert b'"say ""' in (tmp_path / "quoted.csv").read_bytes() and b"'=HYPERLINK" in (tmp_path / "odd.csv").read_bytes()


def test_ids_in_several_arrow_blocks_match(toy):
    # pandas reads a large CSV into text columns of several arrow blocks
    import pyarrow as pa

    run, out, data, group, names = toy
    previous = pd.read_csv(out / "segments.csv", dtype={"customer_id": str})
    ids = previous["customer_id"].tolist()
    blocks = pa.chunked_array([ids[:7], ids[7:]], type=pa.large_string())
    previous["customer_id"] = pd.Series(pd.arrays.ArrowExtensionArray(blocks))
    later = data.assign(customer_id=pd.Series(pd.arrays.ArrowExtensionArray(
        pa.chunked_array([data["customer_id"].tolist()[:5], data["customer_id"].tolist()[5:]]))))
    tracked = track(run.model, later, previous=previous)
    pd.testing.assert_frame_equal(tracked.transitions, track(out / "model.json", data).transitions)


def test_a_result_tracks_against_its_own_segments(toy):
    run, out, data, group, names = toy
    from_result = track(run, data)
    from_file = track(out / "model.json", data)
    pd.testing.assert_frame_equal(from_result.transitions, from_file.transitions)
    pd.testing.assert_frame_equal(from_result.migration, from_file.migration)


# --------------------------------------------------------------------------- moves in words


def test_value_of_reads_names():
    assert value_of("Frequent buyers, high spending") > value_of("Average customers") > value_of("Lapsed, low spending")
    assert value_of("Infrequent buyers") == -1                  # not a "frequent buyer"
    assert value_of("Champions", "rfm") > value_of("Loyal Customers", "rfm") > value_of("At Risk", "rfm")
    assert value_of("At Risk", "rfm") > value_of("Lost", "rfm")


def test_move_sentences():
    assert move_sentence(412, "Loyal Customers", "At Risk", "rfm", "loss") == \
        "412 Loyal Customers are now At Risk: send personalised win-back e-mails"
    assert move_sentence(3, "Need Attention", "Lost", "rfm", "loss") == \
        "3 Need Attention customers are now Lost: try a reactivation campaign"
    assert move_sentence(1200, "At Risk", "Champions", "rfm", "gain") == \
        "1,200 At Risk customers are now Champions: reward them (early access, loyalty perks)"
    assert move_sentence(7, "Young, high spending", "Lapsed", "segment", "loss") == \
        "7 customers of “Young, high spending” are now in “Lapsed”: reach them first"


def test_moves_rank_losses_by_count_then_gains():
    from custseg.tracking.moves import largest_moves

    names = ["Champions", "Loyal Customers", "At Risk", "Lost"]
    counts = pd.DataFrame(0, index=[*names, "new"], columns=[*names, "gone"])
    counts.loc["Loyal Customers", "At Risk"] = 412
    counts.loc["Champions", "Loyal Customers"] = 30
    counts.loc["At Risk", "Lost"] = 90
    counts.loc["Lost", "At Risk"] = 55                # a gain
    counts.loc["At Risk", "At Risk"] = 1000           # kept: not a move
    counts.loc["Champions", "gone"] = 500             # gone: not a move between segments
    moves = largest_moves(counts, kind="rfm")
    assert [(m["direction"], m["from"], m["to"], m["customers"]) for m in moves] == [
        ("loss", "Loyal Customers", "At Risk", 412), ("loss", "At Risk", "Lost", 90),
        ("loss", "Champions", "Loyal Customers", 30), ("gain", "Lost", "At Risk", 55)]
    assert moves[0]["sentence"].startswith("412 Loyal Customers are now At Risk")


# --------------------------------------------------------------------------- the reference block


def test_reference_statistics_by_hand():
    matrix = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [10.0, 10.0], [12.0, 10.0], [50.0, 50.0]])
    labels = np.array([0, 0, 0, 1, 1, -1])
    ref = reference_statistics(matrix, labels, ["a", "b"], k_range=(2, 4), silhouette=0.5)
    assert ref["customers"] == 6 and ref["k_range"] == [2, 4] and ref["silhouette"] == 0.5
    assert ref["sd"] == pytest.approx(matrix.std(axis=0).tolist())
    by_id = {s["id"]: s for s in ref["segments"]}
    assert by_id[-1] == {"id": -1, "size": 1}
    assert by_id[0]["mean"] == pytest.approx([2 / 3, 2 / 3])
    distances = np.sqrt(((matrix[:3] - [2 / 3, 2 / 3]) ** 2).sum(axis=1))
    assert by_id[0]["distance_p99"] == pytest.approx(np.percentile(distances, 99))
    assert by_id[1]["mean"] == [11.0, 10.0] and by_id[1]["distance_p95"] == pytest.approx(1.0)


def test_model_file_keeps_the_reference_and_old_models_still_load(toy, tmp_path):
    run, out, data, group, names = toy
    saved = json.loads((out / "model.json").read_text())
    reference = saved["reference"]
    assert sum(s["size"] for s in reference["segments"]) == 18 and reference["columns"] == ["x", "y"]
    assert saved["format_version"] == 2      # the reference block is optional in versions 1 and 2
    assert load_model(out / "model.json").reference == reference
    saved.pop("reference")
    (tmp_path / "model.json").write_text(json.dumps(saved))
    assert load_model(tmp_path / "model.json").reference is None
    saved["reference"] = {**reference, "sd": [1.0]}
    (tmp_path / "model.json").write_text(json.dumps(saved))
    with pytest.raises(ModelError, match="reference"):
        load_model(tmp_path / "model.json")


def test_a_model_without_drift_statistics_still_tracks_migrations(toy, tmp_path, capsys):
    run, out, data, group, names = toy
    saved = json.loads((out / "model.json").read_text())
    saved.pop("reference")
    (tmp_path / "model.json").write_text(json.dumps(saved))
    shutil.copy(out / "segments.csv", tmp_path / "segments.csv")
    tracked = track(tmp_path / "model.json", data)
    assert tracked.customers["moved"] == 2
    assert tracked.verdict is None and tracked.drift["measured"] is False
    assert "predates drift statistics" in tracked.drift["note"]
    code, stdout, err = cli(capsys, "track", tmp_path / "model.json", out / "later.csv", "--out", tmp_path / "t")
    assert code == 0, err
    assert "predates drift statistics" in " ".join(stdout.split())
    assert "Drift not measured" in (tmp_path / "t" / "report.html").read_text()


# --------------------------------------------------------------------------- generated snapshots


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A K-Means run on 3,000 generated customers in 4 planted segments."""
    table, truth = generate_customers(3000, 4, random_state=0)
    run = segment(table, algorithms=("kmeans",), k_min=2, k_max=6)
    return table, truth, run


#: Moves recovered: each planted move's count within this share of the planted number.
MOVE_TOLERANCE = 0.02


def test_planted_moves_are_recovered(planted):
    table, truth, run = planted
    later, moved = move_customers(table, truth, {(0, 2): 300, (1, 3): 150}, random_state=1)
    tracked = track(run, later)
    segment_of = pd.crosstab(truth, run.labels).idxmax(axis=1)     # planted -> model segment
    names = {s["id"]: s["name"] for s in run.segment_info}
    counts = tracked.transitions
    for (source, target), planted_count in {(0, 2): 300, (1, 3): 150}.items():
        got = counts.loc[names[segment_of[source]], names[segment_of[target]]]
        assert abs(got - planted_count) <= MOVE_TOLERANCE * planted_count, (source, target, got)
    movers = (truth != moved).to_numpy()
    status = tracked.migration["status"].to_numpy()
    assert (status[~movers] == "kept").all()            # nobody who stayed put changes segment
    assert (status[movers] == "moved").mean() >= 1 - MOVE_TOLERANCE
    assert tracked.customers["moved"] == int((status == "moved").sum())
    # moves between existing segments are not drift
    assert tracked.verdict == "segments still hold"


def test_a_fresh_sample_holds_and_a_new_segment_asks_for_a_refit(planted):
    table, truth, run = planted
    fresh, _ = generate_customers(3000, 4, random_state=7)
    held = track(run, fresh)
    assert held.verdict == "segments still hold", held.drift["reasons"]
    assert held.drift["far_share"] < FAR_FACTOR * FAR_EXPECTED
    assert held.drift["refit"]["new_groups"] == 0
    with_new, _ = generate_customers(3000, 5, random_state=7)      # archetype 5 appears
    refit = track(run, with_new)
    assert refit.verdict.startswith("refit recommended: ")
    assert refit.drift["far_share"] > FAR_FACTOR * FAR_EXPECTED
    assert any("new group" in reason for reason in refit.drift["reasons"])
    # a smaller new group (7.5% of the same customers) is still found
    smaller, _ = move_customers(table, truth, {(0, 4): 150, (1, 4): 75}, random_state=3)
    assert track(run, smaller).verdict.startswith("refit recommended: ")


def test_a_large_centre_shift_asks_for_a_refit(planted):
    table, truth, run = planted
    older = table.assign(age=table["age"] + 15)              # everyone 15 years older: same groups, moved
    drift, shifts = measure_drift(run.model, *_matrix_and_labels(run.model, older))
    assert drift["verdict"].startswith("refit recommended")
    assert any("moved" in r and "SD on age" in r for r in drift["reasons"])
    assert (shifts["age"].abs() > CENTRE_SHIFT_SD).all()
    same, same_shifts = measure_drift(run.model, *_matrix_and_labels(run.model, table))
    # on the run's own customers: 1% per segment, up to one customer each for the percentile's rounding
    assert same["far_share"] <= FAR_EXPECTED + 4 / 3000 and same_shifts.abs().to_numpy().max() < 1e-9


def _matrix_and_labels(model, data):
    matrix, _ = model.matrix_and_usable(data)
    return matrix, model.assigner.predict(matrix)


def test_outputs_are_byte_identical(planted, tmp_path):
    table, truth, run = planted
    run.write(tmp_path / "run", report=False)
    later, _ = move_customers(table, truth, {(2, 0): 100}, random_state=2)
    first = track(tmp_path / "run" / "model.json", later).write(tmp_path / "a")
    second = track(tmp_path / "run" / "model.json", later).write(tmp_path / "b")
    assert set(first) == {"migration", "transitions", "summary", "report"}
    for kind in first:
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind


def test_report_section_figures_and_escaping(planted):
    table, truth, run = planted
    later, _ = move_customers(table, truth, {(0, 1): 200}, random_state=2)
    summary = track(run, later).summary
    html = render_track_report(summary)
    assert 'data-test="section-since-last-run"' in html and "<h2>Since the last run</h2>" in html
    for key in ("track_flow", "track_transitions"):
        assert f'data-test="figure-{key}"' in html
    assert "figure-track_rfm_flow" not in html                    # no RFM for a customer table
    assert "The segments still hold." in html
    _assert_figures_inside_their_edges(html)
    hostile = json.loads(json.dumps(summary))
    name = hostile["tracking"]["segments"][0]["name"]
    evil = "<script>alert(1)</script>"
    text = json.dumps(hostile).replace(json.dumps(name)[1:-1], evil)
    html = render_track_report(json.loads(text))
    assert evil not in html and "&lt;script&gt;" in html


def _assert_figures_inside_their_edges(html: str, border: int = 3) -> None:
    from PIL import Image
    import base64

    found = re.findall(r'<img src="data:image/png;base64,([^"]+)"[^>]*data-test="figure-([a-z_]+)"', html)
    assert found
    for data, key in found:
        pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
        edges = (pixels[:border], pixels[-border:], pixels[:, :border], pixels[:, -border:])
        assert all((edge == 255).all() for edge in edges), f"{key} runs off its edge"


def test_cli_json_and_report_rerender(toy, tmp_path, capsys):
    run, out, data, group, names = toy
    code, stdout, err = cli(capsys, "track", out / "model.json", out / "later.csv", "--out", tmp_path, "--json")
    assert code == 0, err
    assert json.loads(stdout) == json.loads((tmp_path / "summary.json").read_text())
    code, stdout, err = cli(capsys, "report", tmp_path / "summary.json", "--out", tmp_path / "again.html")
    assert code == 0, err
    assert (tmp_path / "again.html").read_bytes() == (tmp_path / "report.html").read_bytes()
    code, stdout, err = cli(capsys, "track", out / "model.json", out / "later.csv", "--out", tmp_path / "t")
    assert code == 0, err
    text = " ".join(stdout.split())
    assert "17 customers in both snapshots: 15 kept, 2 moved; 2 new, 1 gone" in text
    assert "drift: segments still hold" in text or "drift: refit recommended" in text


def test_python_api_exports():
    import custseg

    assert custseg.track is track and custseg.Tracking is Tracking
    assert "track" in custseg.__all__


# --------------------------------------------------------------------------- bad input (exit 2)


def test_bad_input_lines(toy, tmp_path, capsys):
    run, out, data, group, names = toy
    model = out / "model.json"
    data.drop(columns=["y"]).to_csv(tmp_path / "no-y.csv", index=False)
    assert "lacks 1 column(s) the model needs: y" in one_line_error(capsys, "track", model, tmp_path / "no-y.csv")
    data.assign(customer_id="z" + data["customer_id"]).to_csv(tmp_path / "strangers.csv", index=False)
    message = one_line_error(capsys, "track", model, tmp_path / "strangers.csv")
    assert "no customer of" in message and "'za1'" in message
    message = one_line_error(capsys, "track", model, out / "later.csv", "--as-of", "2011-06-30")
    assert "--as-of applies to a model fitted on a transaction log" in message
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(model, alone / "model.json")
    message = one_line_error(capsys, "track", alone / "model.json", out / "later.csv")
    assert str(alone / "segments.csv") in message and "--previous" in message
    code, _, err = cli(capsys, "track", alone / "model.json", out / "later.csv", "--previous", out / "segments.csv",
                       "--out", tmp_path / "ok", "--no-report")
    assert code == 0, err
    (tmp_path / "bad.csv").write_text("who,segment\nx,1\n")
    message = one_line_error(capsys, "track", model, out / "later.csv", "--previous", tmp_path / "bad.csv")
    assert "lacks column(s) 'customer_id'" in message


@pytest.fixture(scope="module")
def small_log(tmp_path_factory):
    """A generated order-line log and a run on it as of a date inside it."""
    out = tmp_path_factory.mktemp("log")
    lines, _ = generate_transactions(400, 3, random_state=0)
    write_table(lines, out / "orders.csv")
    assert main_ok(["run", out / "orders.csv", "--out", out / "run", "--no-report", "--algorithms", "kmeans",
                    "--k", "2..4", "--as-of", "2024-06-30"])
    return out


def main_ok(args) -> bool:
    try:
        main(list(map(str, args)))
    except SystemExit as exc:
        return exc.code in (0, None)
    return True


def test_an_as_of_outside_the_log_is_one_line(small_log, capsys):
    for as_of in ("2030-01-01", "2001-01-01"):
        message = one_line_error(capsys, "track", small_log / "run" / "model.json", small_log / "orders.csv",
                                 "--as-of", as_of)
        assert f"as-of date {as_of} is outside" in message and "order lines run from" in message


def test_a_log_tracks_rfm_segments(small_log, tmp_path):
    tracked = track(small_log / "run" / "model.json", small_log / "orders.csv")
    assert tracked.rfm_transitions is not None
    assert set(tracked.rfm_transitions.index[:-1]) <= set(RFM_SEGMENTS)
    assert all(m["kind"] == "rfm" for m in tracked.moves)
    assert tracked.info["after"]["as_of"] > "2024-06-30"
    in_both = tracked.customers["in_both"]
    assert int(tracked.rfm_transitions.iloc[:-1, :-1].to_numpy().sum()) == in_both
    paths = tracked.write(tmp_path)
    long = pd.read_csv(paths["transitions"])
    assert set(long["kind"]) == {"segment", "rfm"}
    assert 'data-test="figure-track_rfm_flow"' in paths["report"].read_text()


# --------------------------------------------------------------------------- online retail, two moments


@pytest.fixture(scope="module")
def retail(tmp_path_factory, request):
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail.csv.gz"
    if not data.is_file():
        pytest.skip(f"real data not found at {data}")
    out = tmp_path_factory.mktemp("retail")
    run = segment(data, algorithms=("kmeans",), k_min=3, k_max=5, as_of="2011-06-30")
    run.write(out / "run", report=False)
    assert main_ok(["track", out / "run" / "model.json", data, "--as-of", "2011-12-09", "--out", out / "track",
                    "--no-report"])
    assert main_ok(["assign", out / "run" / "model.json", data, "--as-of", "2011-12-09", "--out",
                    out / "assigned.csv"])
    return data, out


def test_retail_every_customer_of_either_snapshot_once(retail):
    data, out = retail
    migration = pd.read_csv(out / "track" / "migration.csv", dtype={"CustomerID": str})
    before = pd.read_csv(out / "run" / "segments.csv", dtype={"CustomerID": str})
    later = customers_from_transactions(data, as_of="2011-12-09").customers
    assert migration["CustomerID"].is_unique
    assert set(migration["CustomerID"]) == set(before["CustomerID"]) | set(later["CustomerID"])
    in_both = len(set(before["CustomerID"]) & set(later["CustomerID"]))
    counts = json.loads((out / "track" / "summary.json").read_text())["tracking"]["transitions"]["counts"]
    assert int(np.asarray(counts)[:-1, :-1].sum()) == in_both
    assert (migration["status"] == "new").sum() == len(set(later["CustomerID"]) - set(before["CustomerID"]))


def test_retail_matrix_equals_pandas_from_two_segments_files(retail):
    data, out = retail
    before = pd.read_csv(out / "run" / "segments.csv", dtype={"CustomerID": str})
    after = pd.read_csv(out / "assigned.csv", dtype={"CustomerID": str})
    both = before.merge(after, on="CustomerID", how="outer", suffixes=("_before", "_after"))
    expected = pd.crosstab(both["segment_name_before"].fillna("new"), both["segment_name_after"].fillna("gone"))
    long = pd.read_csv(out / "track" / "transitions.csv")
    got = long[long["kind"] == "segment"].pivot(index="before", columns="after", values="customers")
    got = got.loc[expected.index, expected.columns]
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())
    # every other cell of the matrix is empty
    assert long.loc[long["kind"] == "segment", "customers"].sum() == len(both)


def test_retail_rfm_matrix_equals_the_pipeline_on_the_later_moment(retail):
    data, out = retail
    later = segment(data, algorithms=("kmeans",), k_min=3, k_max=3, as_of="2011-12-09").segments_frame()
    before = pd.read_csv(out / "run" / "segments.csv", dtype={"CustomerID": str})
    both = before.merge(later.astype({"CustomerID": str}), on="CustomerID", how="outer", suffixes=("_b", "_a"))
    expected = pd.crosstab(both["rfm_segment_b"].fillna("new"), both["rfm_segment_a"].fillna("gone"))
    long = pd.read_csv(out / "track" / "transitions.csv")
    got = long[long["kind"] == "rfm"].pivot(index="before", columns="after", values="customers")
    got = got.loc[expected.index, expected.columns]
    np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())


def test_retail_errors_bad_as_of(retail, capsys):
    data, out = retail
    message = one_line_error(capsys, "track", out / "run" / "model.json", data, "--as-of", "2012-06-01")
    assert "2010-12-01 to 2011-12-09" in message
