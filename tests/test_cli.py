"""The command line end to end: outputs, exit codes and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from custseg.cli import main


def cli(capsys, *args) -> tuple[int, str, str]:
    """Run ``custseg ARGS`` in-process; return (exit code, stdout, stderr)."""
    try:
        main(list(map(str, args)))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(capsys, *args) -> str:
    code, _, err = cli(capsys, *args)
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return " ".join(lines)


def test_run_on_mall_writes_every_output(capsys, mall, tmp_path):
    code, out, err = cli(capsys, "run", mall, "--out", tmp_path,
                         "--features", "Annual Income (k$),Spending Score (1-100)")
    assert code == 0, err
    segments = pd.read_csv(tmp_path / "segments.csv", dtype={"CustomerID": str})
    assert list(segments.columns) == ["CustomerID", "segment", "segment_name"]
    assert len(segments) == 200 and segments["CustomerID"].iloc[0] == "0001"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["chosen"]["k"] == 5 and summary["chosen"]["silhouette"] >= 0.53
    assert {"input", "features", "candidates", "chosen", "segments"} <= set(summary)
    assert (tmp_path / "model.json").is_file() and (tmp_path / "report.html").is_file()
    assert "K-Means with 5 segments" in out


def test_json_output_equals_the_summary_file(capsys, mall, tmp_path):
    code, out, _ = cli(capsys, "run", mall, "--out", tmp_path, "--json", "--no-report",
                       "--algorithms", "kmeans", "--k", "2..6")
    assert code == 0
    assert json.loads(out) == json.loads((tmp_path / "summary.json").read_text())
    assert not (tmp_path / "report.html").exists()


def test_assign_round_trip_on_wholesale(capsys, wholesale, tmp_path):
    assert cli(capsys, "run", wholesale, "--out", tmp_path, "--no-report")[0] == 0
    code, out, _ = cli(capsys, "assign", tmp_path / "model.json", wholesale, "--out", tmp_path / "assigned.csv")
    assert code == 0 and "assigned 440 of 440" in out
    run = pd.read_csv(tmp_path / "segments.csv")
    assigned = pd.read_csv(tmp_path / "assigned.csv")
    pd.testing.assert_frame_equal(run, assigned)


def test_generate_and_truth(capsys, tmp_path):
    code, _, _ = cli(capsys, "generate", "--customers", 300, "--segments", 3, "--seed", 1,
                     "--out", tmp_path / "c.csv", "--truth", tmp_path / "t.csv")
    assert code == 0
    table, truth = pd.read_csv(tmp_path / "c.csv"), pd.read_csv(tmp_path / "t.csv")
    assert len(table) == 300 and list(truth.columns) == ["customer_id", "segment"]
    assert (truth["customer_id"] == table["customer_id"]).all()
    assert sorted(truth["segment"].unique()) == [0, 1, 2]


def test_demo_runs_with_no_arguments(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "demo", "--customers", 600)
    assert code == 0, err
    for name in ("customers.csv", "truth.csv", "segments.csv", "summary.json", "model.json", "report.html"):
        assert (tmp_path / "custseg-demo" / "customers" / name).is_file(), name
    for name in ("orders.csv", "truth.csv", "segments.csv", "features.csv", "summary.json", "report.html"):
        assert (tmp_path / "custseg-demo" / "transactions" / name).is_file(), name
    assert out.count("Open the report") == 2
    summary = json.loads((tmp_path / "custseg-demo" / "transactions" / "summary.json").read_text())
    assert summary["source"]["kind"] == "transactions" and summary["rfm"]["segments"]


def test_report_renders_again_from_summary(capsys, mall, tmp_path):
    assert cli(capsys, "run", mall, "--out", tmp_path, "--no-report", "--algorithms", "kmeans")[0] == 0
    code, _, _ = cli(capsys, "report", tmp_path / "summary.json", "--out", tmp_path / "again.html")
    assert code == 0 and (tmp_path / "again.html").stat().st_size > 10_000


@pytest.fixture
def files(tmp_path):
    """Small bad inputs."""
    paths = {}
    paths["empty"] = tmp_path / "empty.csv"
    paths["empty"].write_text("")
    paths["header"] = tmp_path / "header.csv"
    paths["header"].write_text("id,age,income\n")
    paths["binary"] = tmp_path / "binary.csv"
    paths["binary"].write_bytes(bytes(range(256)) * 20)
    paths["few"] = tmp_path / "few.csv"
    paths["few"].write_text("id,age,income\n1,20,10\n2,30,20\n")
    paths["text"] = tmp_path / "text.csv"
    paths["text"].write_text("id,note\n" + "".join(f"{i},note {i}\n" for i in range(30)))
    paths["ok"] = tmp_path / "ok.csv"
    paths["ok"].write_text("id,age,income\n" + "".join(f"{i},{20 + i % 40},{10 + i * 3 % 97}\n" for i in range(60)))
    paths["corrupt"] = tmp_path / "corrupt.json"
    paths["corrupt"].write_text("{not json")
    paths["old"] = tmp_path / "old.json"
    paths["old"].write_text(json.dumps({"format": "custseg-model", "format_version": 99}))
    return paths


@pytest.mark.parametrize("args, expected", [
    (["run", "{missing}"], "file not found"),
    (["run", "{empty}"], "empty"),
    (["run", "{header}"], "no data rows"),
    (["run", "{binary}"], "binary.csv"),
    (["run", "{few}"], "usable customers"),
    (["run", "{text}"], "no usable numeric or categorical feature"),
    (["run", "{ok}", "--features", "age,salary"], "salary"),
    (["run", "{ok}", "--k", "two"], "--k must look like MIN..MAX"),
    (["run", "{ok}", "--k", "2..80"], "too few for up to k=80"),
    (["run", "{ok}", "--algorithms", "kmeans,spectral"], "unknown algorithm 'spectral'"),
    (["run", "{ok}", "--pca", "-1"], "--pca"),
    (["assign", "{missing}", "{ok}"], "model file not found"),
    (["assign", "{corrupt}", "{ok}"], "corrupt"),
    (["assign", "{old}", "{ok}"], "format version 99"),
])
def test_bad_input_gets_one_line_and_exit_2(capsys, files, tmp_path, args, expected):
    paths = {**files, "missing": tmp_path / "nope.csv"}
    message = one_line_error(capsys, *[a.format(**paths) for a in args], "--out", tmp_path / "out")
    assert expected in message
    if "--features" in args:
        assert "columns are: id, age, income" in message


def test_assign_with_missing_columns(capsys, files, mall, tmp_path):
    assert cli(capsys, "run", mall, "--out", tmp_path, "--no-report", "--algorithms", "kmeans")[0] == 0
    message = one_line_error(capsys, "assign", tmp_path / "model.json", files["ok"], "--out", tmp_path / "a.csv")
    assert "Annual Income (k$)" in message


def test_console_script_shows_no_traceback_and_debug_does(tmp_path):
    script = [sys.executable, "-m", "custseg.cli"]
    quiet = subprocess.run([*script, "run", str(tmp_path / "nope.csv")], capture_output=True, text=True)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr and "file not found" in quiet.stderr
    loud = subprocess.run([*script, "--debug", "run", str(tmp_path / "nope.csv")], capture_output=True, text=True)
    assert loud.returncode != 0 and "Traceback" in loud.stderr


def test_help_explains_every_option(capsys):
    code, out, _ = cli(capsys, "run", "--help")
    assert code == 0
    for option in ("--id", "--features", "--exclude", "--algorithms", "--k", "--pca", "--missing",
                   "--outliers", "--seed", "--config", "--no-report", "--json", "--out"):
        assert option in out


def test_config_file_fills_settings_and_flags_win(capsys, mall, tmp_path):
    config = tmp_path / "custseg.toml"
    config.write_text('[custseg]\nalgorithms = ["kmeans"]\nk_min = 3\nk_max = 4\nrandom_state = 3\n')
    code, _, err = cli(capsys, "run", mall, "--out", tmp_path / "o", "--config", config, "--no-report",
                       "--k", "2..5")
    assert code == 0, err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["settings"]["algorithms"] == ["kmeans"] and summary["settings"]["random_state"] == 3
    assert sorted(c["k"] for c in summary["candidates"]) == [2, 3, 4, 5]
    config.write_text("[custseg]\nclusters = 3\n")
    assert "unknown setting clusters" in one_line_error(capsys, "run", mall, "--config", config)


def test_parquet_and_excel_inputs_give_the_same_segments(capsys, tmp_path):
    from custseg.sampledata import generate_customers, write_table

    table, _ = generate_customers(400, 3, random_state=2)
    outputs = []
    for suffix in ("csv", "parquet", "xlsx", "json"):
        write_table(table, tmp_path / f"c.{suffix}")
        out = tmp_path / suffix
        assert cli(capsys, "run", tmp_path / f"c.{suffix}", "--out", out, "--no-report",
                   "--algorithms", "kmeans", "--k", "2..5")[0] == 0
        outputs.append((out / "segments.csv").read_text())
    assert outputs[0] == outputs[1] == outputs[2] == outputs[3]
