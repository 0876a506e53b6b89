"""The benchmark script (benchmarks/run.py): its measuring harness, and the quick mode's
correctness checks at reduced sizes.

The end-to-end test runs ``benchmarks/run.py --quick`` with smaller workloads (10,000
customers, a 1,000-customer quality sample, 100,000 order lines; no start-up workload) so
that it stays under a minute; the full quick mode (``.ci/run``) takes 2-3 minutes. Like
the quick mode, it checks correctness only: the chosen k and ARI of custseg against the
planted segments, the features against a hand-written DuckDB query (and pandas/polars),
that `Model.assign` reproduces the run, and that ``custseg track`` lists every customer once
and agrees with ``custseg assign``. It never checks a timing. The last test runs
``benchmarks/spark.py`` (Spark engine against DuckDB) on a small log, when PySpark is installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"
REDUCED = {
    "customers": [10_000],
    "sample": 1_000,
    "lines": [100_000],
    "assign_from": 10_000,
    "limit": 60.0,
    "run_limit": 120.0,
    "feature_limit": 60.0,
}


@pytest.fixture(scope="module")
def bench_module():
    return load_benchmark("run")


def test_measure_reports_wall_time_cpu_and_peak_memory(bench_module, tmp_path):
    code = "import time; block = bytearray(300 * 1024 * 1024); time.sleep(0.2); print('BENCH result {\"work_s\": 0.2}')"
    step = bench_module.measure("allocate", [sys.executable, "-c", code], tmp_path, quiet=True)
    assert step.ok, step.status
    assert step.rss_mb >= 300
    assert 0.2 <= step.wall_s < 30
    assert step.cpu_s >= 0
    assert step.result == {"work_s": 0.2}


def test_measure_stops_a_step_at_its_time_limit(bench_module, tmp_path):
    code = "import time; print('BENCH phase {\"step\": \"fit\", \"k\": 2, \"seconds\": 0.1}', flush=True); time.sleep(60)"
    step = bench_module.measure("sleeper", [sys.executable, "-c", code], tmp_path, limit=1.0, quiet=True)
    assert step.status == "stopped at time limit (1 s)"
    assert step.wall_s < 20
    assert step.phases == [{"step": "fit", "k": 2, "seconds": 0.1}]


def test_quick_limits_grow_with_the_load_of_a_busy_machine(bench_module, tmp_path, monkeypatch):
    """At a load of 4 per core, a 1 s limit lets a 2 s step finish; unscaled it is stopped."""
    cores = bench_module.os.cpu_count() or 1
    monkeypatch.setattr(bench_module.os, "getloadavg", lambda: (4.0 * cores, 0.0, 0.0))
    cmd = [sys.executable, "-c", "import time; time.sleep(2)"]
    scaled = bench_module.measure("busy", cmd, tmp_path, limit=1.0, quiet=True, load_scaled=True)
    assert scaled.ok, scaled.status
    unscaled = bench_module.measure("quiet", cmd, tmp_path, limit=1.0, quiet=True)
    assert unscaled.status == "stopped at time limit (1 s)"


def test_measure_stops_a_step_at_its_memory_cap(bench_module, tmp_path):
    code = ("import time\nblocks = []\nfor _ in range(40):\n"
            "    blocks.append(bytearray(64 * 1024 * 1024)); time.sleep(0.05)\ntime.sleep(30)")
    step = bench_module.measure("grower", [sys.executable, "-c", code], tmp_path,
                                mem_cap_gb=0.5, limit=60, quiet=True)
    assert step.status == "stopped at memory cap (0.5 GB)"
    assert step.wall_s < 30


def test_measure_reports_a_failure_with_its_error(bench_module, tmp_path):
    code = "raise MemoryError('Unable to allocate 37.3 GiB')"
    step = bench_module.measure("failing", [sys.executable, "-c", code], tmp_path, quiet=True)
    assert step.status == "failed (exit 1)"
    assert step.error == "MemoryError: Unable to allocate 37.3 GiB"


def test_quick_mode_correctness_checks_pass_at_reduced_sizes(tmp_path):
    out = tmp_path / "bench"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--only", "segmentation,features,assign,track",
         "--sizes", json.dumps(REDUCED), "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    checks = {c["name"]: c for c in saved["checks"]}
    for name in ("custseg k at 1,000", "custseg ARI at 1,000", "custseg k at 10,000", "custseg ARI at 10,000",
                 "features agree with hand-written DuckDB at 100,000 lines",
                 "assign reproduces the run's segments", "track lists every customer once",
                 "track puts every customer where assign does"):
        assert name in checks, sorted(checks)
        assert checks[name]["passed"], checks[name]
    rows = saved["rows"]
    by_tool = {(r["workload"], r["tool"]): r for r in rows}
    baseline_a = by_tool[("segmentation, 1,000 customers (quality sample)", "baseline A (textbook), all steps")]
    assert baseline_a["status"] == "ok" and baseline_a["k"] is not None
    baseline_b = by_tool[("segmentation, 10,000 customers", "baseline B (careful)")]
    assert baseline_b["status"] == "ok" and baseline_b["ari"] >= 0.9
    features = [r for r in rows if r["workload"].startswith("features")]
    assert {r.get("key") for r in features} >= {"custseg", "duckdb-full", "duckdb-rfm", "pandas-full", "pandas-rfm"}
    for row in features:
        if row.get("key") != "custseg" and row["status"] == "ok":
            assert row["notes"].startswith("agrees with custseg"), row
    assert (out / "table.md").read_text(encoding="utf-8").count("| custseg run") >= 2
    tracked = {r["tool"]: r for r in rows if r["workload"].startswith("track")}
    assert {"custseg assign", "custseg track --no-report", "custseg track (report)"} <= set(tracked)
    assert all(r["status"] == "ok" for r in tracked.values())


def test_spark_benchmark_agrees_with_duckdb_on_a_small_log(tmp_path):
    """``benchmarks/spark.py`` on 20,000 lines, Parquet, local[2] only (about 25 s on a quiet
    machine, most of it Spark's start): the Spark row agrees with DuckDB; timings unchecked."""
    pytest.importorskip("pyspark")
    out = tmp_path / "spark"
    out.mkdir()
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "spark.py"), "--lines", "20000", "--masters", "local[2]",
         "--inputs", "parquet", "--data", str(tmp_path / "data"), "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    saved = json.loads((out / "spark.json").read_text(encoding="utf-8"))
    assert [(r["input"], r["engine"], r["status"]) for r in saved["rows"]] == [
        ("parquet", "DuckDB", "ok"), ("parquet", "Spark local[2]", "ok")]
    assert len(saved["checks"]) == 4 and all(c["passed"] for c in saved["checks"]), saved["checks"]
    spark_row = saved["rows"][1]
    assert spark_row["result"]["session_s"] > 0 and spark_row["result"]["jvm_peak_mib"] > 0
    assert "| parquet | Spark local[2] | ok |" in (out / "spark.md").read_text(encoding="utf-8")
