"""The Spark engine's transaction features against the default DuckDB engine, in one run.

    python benchmarks/spark.py                        # 200,000 order lines (a few minutes)
    python benchmarks/spark.py --full --out DIR       # 10,000,000 order lines; DIR/spark.{json,md}
    python benchmarks/spark.py --lines N [--masters local[2]] [--inputs parquet]

The same generated order-line log (`custseg.sampledata.generate_transactions`, Online Retail
layout, 4 planted buyer segments; about 87 lines per customer) is written once as a gzip CSV
and as Parquet into a data folder (reused when the files are there). For each input, one
fresh process per engine computes the customer features:

* DuckDB: ``custseg.logs.duckdb_engine.customers_from_transactions(path)``, the default engine
  (2 threads, 3 GB memory limit; the customer table comes back as pandas);
* Spark ``local[1]`` and ``local[2]``: ``spark_session(master)`` then, as ``custseg run`` does,
  the shuffles sized to the input (`custseg.engines.spark.customers.size_shuffles`) and
  ``custseg.engines.spark.transactions.customers_from_transactions_spark(spark, path)`` (the table
  stays a cached Spark DataFrame, counted once), with ``spark.driver.memory`` from
  ``--driver-memory`` and custseg's other session defaults.
* ``--cluster``: instead of ``--masters``, a Spark standalone cluster started for the run
  (`tests/spark_cluster.py`: a master and one worker of ``--worker-cores`` cores, executor
  memory ``--executor-memory``), stopped at the end.
* ``--profile``: Spark's event log per Spark row, summarised per stage (executor run time,
  shuffle read and write, spill) in the output and the JSON; the physical plans of every SQL
  execution in ``DIR/plans-*.txt``.

Measured per process (steps run one at a time; `benchmarks/run.py`'s `measure` gives the
process's wall time and CPU time from ``os.wait4``; the worker closes the JVM and reaps it
before it exits, so the CPU time includes the JVM's):

* session start: ``spark_session`` (launching the JVM, creating the context);
* features: the ``customers_from_transactions*`` call, to the finished customer table;
* total: the process from launch to exit (interpreter, imports, session, features, stopping
  Spark), less the export of the customer table for the agreement check, which is not part
  of the comparison and is timed separately;
* driver peak: the Python process's own peak RSS (``getrusage(RUSAGE_SELF)``), read before
  the export;
* JVM peak: ``VmHWM`` of the driver's java child (``/proc/PID/status``), read just before
  the session stops; a sampler also keeps the largest ``VmRSS`` of driver + JVM seen
  together (every 0.2 s; in the JSON).

Correctness, Spark against DuckDB on the same input: customers found and kept, the ledger
(lines read, dropped by reason, used), the checks, customers dropped by reason, the reference
date; the total monetary value summed exactly and rounded to cents, and the sum of every
feature; and every customer's features (relative difference <= 1e-9) and attributes, from the
customer tables each worker writes to Parquet after its measurement. The script exits non-zero
when a check fails; it never checks a timing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Lines per customer that `generate_transactions(n, 4)` gives (87.0 in a trial at 11,364
#: customers: 988,671 lines), used to choose the number of customers for a number of lines.
LINES_PER_CUSTOMER = 87.0
SEGMENTS = 4
SEED = 0
QUICK_LINES = 200_000
FULL_LINES = 10_000_000
MASTERS = ("local[1]", "local[2]")
INPUTS = ("csv.gz", "parquet")
#: Relative tolerance of the per-customer feature comparison (both engines sum exact
#: decimals; the doubles differ at most in the last bits of a division).
RTOL = 1e-9
MIB = 1024.0


def _load_run():
    """`benchmarks/run.py` (not a package) as a module: its `measure` and `machine`."""
    spec = importlib.util.spec_from_file_location("custseg_bench_run", HERE / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def emit(what: str, /, **values) -> None:
    """Print one ``BENCH <what> {json}`` line for the orchestrator (`run.measure` reads them)."""
    print("BENCH " + what + " " + json.dumps(values, default=str), flush=True)


# --------------------------------------------------------------------------- /proc


def _status_kib(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state is [0], ppid [1])."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm", encoding="ascii", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def java_descendants(root: int) -> list[int]:
    """Process ids of the ``java`` processes below ``root`` (any depth)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(int(entry))
            if fields:
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            if _comm(child) == "java":
                found.append(child)
            todo.append(child)
    return found


def _cpu_s(pid: int) -> float | None:
    fields = _stat(pid)
    if not fields:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    """Largest VmRSS seen of the driver and of the JVM, alone and together, every 0.2 s."""

    def __init__(self, jvm: int | None):
        super().__init__(daemon=True)
        self.jvm, self.done = jvm, threading.Event()
        self.driver_kib = self.jvm_kib = self.both_kib = 0

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(0.2)

    def sample(self) -> None:
        driver = _status_kib(os.getpid(), "VmRSS") or 0
        jvm = (_status_kib(self.jvm, "VmRSS") or 0) if self.jvm else 0
        self.driver_kib = max(self.driver_kib, driver)
        self.jvm_kib = max(self.jvm_kib, jvm)
        self.both_kib = max(self.both_kib, driver + jvm)

    def stop(self) -> None:
        self.sample()
        self.done.set()
        self.join()


# --------------------------------------------------------------------------- workers (one per process)


def _driver_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / MIB


def _plain(result) -> dict:
    """What the comparison needs of a TransactionFeatures (no customer table)."""
    data = result.to_dict()
    return {key: data[key] for key in ("ledger", "checks", "customers_found", "customers_kept",
                                       "customers_dropped", "as_of", "date_format")}


def _pandas_sums(table) -> dict:
    """Exact sums of the feature columns of a pandas customer table (math.fsum)."""
    from custseg.logs.rules import FEATURE_COLUMNS

    sums = {name: math.fsum(table[name].dropna().tolist()) for name in FEATURE_COLUMNS}
    sums["monetary_cents"] = f"{round(sums['monetary'], 2):.2f}"
    return sums


def _spark_sums(frame) -> dict:
    """Sums of the feature columns of a Spark customer table; monetary as an exact decimal."""
    from pyspark.sql import functions as F

    from custseg.logs.rules import FEATURE_COLUMNS

    aggs = [F.sum(F.col(name)).alias(name) for name in FEATURE_COLUMNS]
    aggs.append(F.sum(F.col("monetary").cast("decimal(38,6)")).alias("monetary_exact"))
    row = frame.agg(*aggs).first().asDict()
    sums = {name: float(row[name]) if row[name] is not None else 0.0 for name in FEATURE_COLUMNS}
    exact = row["monetary_exact"]
    sums["monetary_cents"] = f"{round(exact, 2):.2f}" if exact is not None else "0.00"
    return sums


def work_duckdb(source: str, export: str | None) -> None:
    from custseg.logs.duckdb_engine import customers_from_transactions

    start = time.perf_counter()
    result = customers_from_transactions(source)
    features_s = time.perf_counter() - start
    peak = _driver_peak_mib()
    sums = _pandas_sums(result.customers)
    export_s = 0.0
    if export:
        start = time.perf_counter()
        result.customers.to_parquet(export, index=False)
        export_s = time.perf_counter() - start
    emit("result", engine="duckdb", features_s=features_s, export_s=export_s, driver_peak_mib=peak,
         sums=sums, customer_column=result.columns.customer, **_plain(result))


def work_spark(source: str, master: str, driver_memory: str, export: str | None, config: dict | None = None) -> None:
    from custseg.engines.spark.customers import size_shuffles
    from custseg.engines.spark.session import spark_session
    from custseg.engines.spark.transactions import (
        customers_from_transactions_spark,
        open_lines,
    )

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)    # the executors' Python (see the README)
    start = time.perf_counter()
    spark = spark_session(master, app_name="custseg-bench",
                          config={"spark.driver.memory": driver_memory, **(config or {})})
    session_s = time.perf_counter() - start
    gateway_proc = getattr(getattr(spark.sparkContext, "_gateway", None), "proc", None)
    javas = java_descendants(os.getpid())
    jvm = gateway_proc.pid if gateway_proc is not None and gateway_proc.pid in javas else (javas or [None])[0]
    sampler = Sampler(jvm)
    sampler.start()
    emit("phase", step="session", seconds=session_s, jvm_pid=jvm)
    start = time.perf_counter()
    size_shuffles(spark, open_lines(spark, source)[0])    # as `custseg run` does (Spark's 200 on a cluster)
    result = customers_from_transactions_spark(spark, source)
    features_s = time.perf_counter() - start
    emit("phase", step="features", seconds=features_s)
    sums = _spark_sums(result.customers)
    sampler.stop()
    jvm_hwm = _status_kib(jvm, "VmHWM") if jvm else None
    jvm_cpu = _cpu_s(jvm) if jvm else None
    peak = _driver_peak_mib()
    export_s = 0.0
    if export:
        start = time.perf_counter()
        result.customers.coalesce(1).write.mode("overwrite").parquet(export)
        export_s = time.perf_counter() - start
    start = time.perf_counter()
    result.customers.unpersist()
    spark.stop()
    if gateway_proc is not None:  # the JVM exits when its stdin closes; reap it (its CPU joins ours)
        try:
            gateway_proc.stdin.close()
            gateway_proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            pass
    stop_s = time.perf_counter() - start
    emit("result", engine="spark", master=master, session_s=session_s, features_s=features_s,
         export_s=export_s, stop_s=stop_s, driver_peak_mib=peak,
         jvm_peak_mib=jvm_hwm / MIB if jvm_hwm else None, jvm_cpu_s=jvm_cpu,
         sampled_mib={"driver": sampler.driver_kib / MIB, "jvm": sampler.jvm_kib / MIB,
                      "driver_and_jvm": sampler.both_kib / MIB},
         jvm_pid=jvm, driver_memory=driver_memory, sums=sums,
         customer_column=result.columns.customer, **_plain(result))


def work_generate(n_lines: int, folder: str) -> None:
    """The order-line log as Parquet (row groups of 1,000,000 lines) and as a gzip CSV."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from custseg.sampledata import generate_transactions

    start = time.perf_counter()
    n_customers = max(SEGMENTS, round(n_lines / LINES_PER_CUSTOMER))
    lines, _ = generate_transactions(n_customers, SEGMENTS, random_state=SEED)
    table = pa.Table.from_pandas(lines, preserve_index=False)
    del lines
    generate_s = time.perf_counter() - start
    target = Path(folder)
    parquet, csv = target / "lines.parquet", target / "lines.csv.gz"
    start = time.perf_counter()
    pq.write_table(table, str(parquet) + ".tmp", row_group_size=1_000_000)
    os.replace(str(parquet) + ".tmp", parquet)
    parquet_s = time.perf_counter() - start
    start = time.perf_counter()
    with pa.CompressedOutputStream(str(csv) + ".tmp", "gzip") as stream:
        pacsv.write_csv(table, stream)
    os.replace(str(csv) + ".tmp", csv)
    csv_s = time.perf_counter() - start
    emit("result", customers=n_customers, lines=table.num_rows, generate_s=generate_s,
         parquet_s=parquet_s, csv_s=csv_s, parquet_bytes=parquet.stat().st_size, csv_bytes=csv.stat().st_size)


def worker(arguments: dict) -> None:
    kind = arguments.pop("kind")
    {"duckdb": work_duckdb, "spark": work_spark, "generate": work_generate}[kind](**arguments)


# --------------------------------------------------------------------------- profile (event log)


def _task_numbers(metrics: dict) -> dict:
    read, write = metrics.get("Shuffle Read Metrics") or {}, metrics.get("Shuffle Write Metrics") or {}
    return {
        "run_s": (metrics.get("Executor Run Time") or 0) / 1000.0,
        "input_rows": (metrics.get("Input Metrics") or {}).get("Records Read", 0),
        "shuffle_read_mib": ((read.get("Remote Bytes Read") or 0) + (read.get("Local Bytes Read") or 0)) / MIB ** 2,
        "shuffle_read_rows": read.get("Total Records Read", 0),
        "shuffle_write_mib": (write.get("Shuffle Bytes Written") or 0) / MIB ** 2,
        "shuffle_write_rows": write.get("Shuffle Records Written", 0),
        "memory_spill_mib": (metrics.get("Memory Bytes Spilled") or 0) / MIB ** 2,
        "disk_spill_mib": (metrics.get("Disk Bytes Spilled") or 0) / MIB ** 2,
    }


def _event_lines(folder: Path):
    """The JSON lines of the event log files under ``folder`` (plain, or ``.zstd`` through the
    ``zstd`` program: Spark 4 compresses and rolls them unless told not to)."""
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file() or path.name.startswith((".", "appstatus")):
            continue
        if path.suffix == ".zstd":
            text = subprocess.run(["zstd", "-dc", str(path)], capture_output=True, check=True).stdout.decode()
        else:
            text = path.read_text(encoding="utf-8")
        yield from (line for line in text.splitlines() if line.strip())


def profile_event_log(folder: Path) -> dict:
    """Per stage of a Spark application's event log: tasks, executor run time, input rows,
    shuffle read and write, spill; and each SQL execution's physical plan (as Spark logged it).

    Stages are listed in the order they completed; sums are over their tasks.
    """
    stages: dict[int, dict] = {}
    plans: list[dict] = []
    for line in _event_lines(folder):
        event = json.loads(line)
        kind = event.get("Event", "")
        if kind == "SparkListenerTaskEnd":
            numbers = _task_numbers(event.get("Task Metrics") or {})
            stage = stages.setdefault(event["Stage ID"], {"tasks": 0})
            stage["tasks"] += 1
            for key, value in numbers.items():
                stage[key] = stage.get(key, 0) + value
        elif kind == "SparkListenerStageCompleted":
            info = event["Stage Info"]
            stage = stages.setdefault(info["Stage ID"], {"tasks": 0})
            stage["name"] = info.get("Stage Name", "")
            stage["wall_s"] = ((info.get("Completion Time") or 0) - (info.get("Submission Time") or 0)) / 1000.0
        elif kind.endswith("SparkListenerSQLExecutionStart"):
            plans.append({"id": event.get("executionId"), "description": event.get("description", ""),
                          "plan": event.get("physicalPlanDescription", "")})
    ordered = [{"stage": key, **value} for key, value in sorted(stages.items())]
    totals = {key: sum(s.get(key, 0) for s in ordered) for key in
              ("run_s", "shuffle_read_mib", "shuffle_write_mib", "memory_spill_mib", "disk_spill_mib")}
    return {"stages": ordered, "totals": totals, "plans": plans}


def profile_text(profile: dict, top: int = 8) -> str:
    """The ``top`` stages by executor run time, one line each, and the totals."""
    lines = ["| stage | name | tasks | run s | wall s | shuffle read MiB (rows) | shuffle write MiB (rows) "
             "| spill memory / disk MiB |", "|" + "---|" * 8]
    for s in sorted(profile["stages"], key=lambda s: -s.get("run_s", 0))[:top]:
        lines.append(f"| {s['stage']} | {s.get('name', '')[:40]} | {s['tasks']} | {s.get('run_s', 0):,.1f} | "
                     f"{s.get('wall_s', 0):,.1f} | {s.get('shuffle_read_mib', 0):,.1f} "
                     f"({s.get('shuffle_read_rows', 0):,}) | {s.get('shuffle_write_mib', 0):,.1f} "
                     f"({s.get('shuffle_write_rows', 0):,}) | {s.get('memory_spill_mib', 0):,.0f} / "
                     f"{s.get('disk_spill_mib', 0):,.0f} |")
    t = profile["totals"]
    lines.append(f"\nAll stages: executor run {t['run_s']:,.1f} s, shuffle read {t['shuffle_read_mib']:,.1f} MiB, "
                 f"write {t['shuffle_write_mib']:,.1f} MiB, spill {t['memory_spill_mib']:,.0f} MiB memory / "
                 f"{t['disk_spill_mib']:,.0f} MiB disk.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- orchestrating


def worker_cmd(**arguments) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(arguments)]


class LoadWatch(threading.Thread):
    """The 1-minute load average every 5 s while the benchmark runs."""

    def __init__(self):
        super().__init__(daemon=True)
        self.values: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.values.append(round(os.getloadavg()[0], 2))
            self.done.wait(5.0)

    def summary(self) -> dict:
        values = self.values or [os.getloadavg()[0]]
        return {"min": min(values), "mean": round(sum(values) / len(values), 2), "max": max(values),
                "samples": len(values)}


def data_files(run, folder: Path, n_lines: int, logs: Path) -> dict:
    """The log of ``n_lines`` lines in ``folder`` (generated unless both files are there)."""
    folder.mkdir(parents=True, exist_ok=True)
    info_path = folder / "lines.json"
    files = {"parquet": folder / "lines.parquet", "csv.gz": folder / "lines.csv.gz"}
    if not (info_path.exists() and all(p.exists() for p in files.values())):
        print(f"  generating about {n_lines:,} order lines into {folder}", flush=True)
        step = run.measure(f"generate {n_lines} lines", worker_cmd(kind="generate", n_lines=n_lines,
                                                                     folder=str(folder)), logs, quiet=True)
        if not step.ok:
            raise SystemExit(f"generating the order lines failed: {step.status} {step.error} (logs in {logs})")
        info_path.write_text(json.dumps(step.result, indent=1), encoding="utf-8")
        print(f"  generated {step.result['lines']:,} lines ({step.result['customers']:,} customers) in "
              f"{step.wall_s:.1f} s", flush=True)
    info = json.loads(info_path.read_text(encoding="utf-8"))
    info["files"] = {k: str(v) for k, v in files.items()}
    return info


def measure_row(run, name: str, cmd: list[str], logs: Path, limit: float, **labels) -> dict:
    step = run.measure(name, cmd, logs, limit=limit)
    r = step.result
    row = {**labels, "status": step.status, "error": step.error, "process_wall_s": step.wall_s,
           "cpu_s": step.cpu_s, "load": list(step.load), "result": r}
    if step.ok:
        row["total_s"] = step.wall_s - (r.get("export_s") or 0.0)
    return row


def compare(reference: dict, row: dict, export_ref: str, export_other: str) -> dict:
    """Spark's results against DuckDB's: counts, ledger, sums, and every customer."""
    import numpy as np
    import pandas as pd

    from custseg.logs.rules import FEATURE_COLUMNS

    a, b = reference["result"], row["result"]
    out: dict = {}
    out["customers"] = (a["customers_found"], a["customers_kept"]) == (b["customers_found"], b["customers_kept"])
    out["ledger"] = (a["ledger"] == b["ledger"] and a["checks"] == b["checks"]
                     and a["customers_dropped"] == b["customers_dropped"] and a["as_of"] == b["as_of"])
    ledger_diff = {key: (a[key], b[key]) for key in ("ledger", "checks", "customers_dropped", "as_of")
                   if a[key] != b[key]}
    out["monetary_cents"] = a["sums"]["monetary_cents"] == b["sums"]["monetary_cents"]
    sum_diff = {}
    for name in FEATURE_COLUMNS:
        x, y = a["sums"][name], b["sums"][name]
        if not math.isclose(x, y, rel_tol=RTOL, abs_tol=1e-6):
            sum_diff[name] = (x, y)
    out["sums"] = not sum_diff
    mine = pd.read_parquet(export_ref)
    other = pd.read_parquet(export_other)
    key = a["customer_column"]
    mine[key], other[key] = mine[key].astype(str), other[key].astype(str)
    merged = mine.merge(other, on=key, how="outer", suffixes=("", "_o"), indicator=True)
    only = {"duckdb": int((merged["_merge"] == "left_only").sum()), "spark": int((merged["_merge"] == "right_only").sum())}
    both = merged[merged["_merge"] == "both"]
    mismatches = {}
    for name in FEATURE_COLUMNS:
        x, y = both[name].to_numpy(dtype="float64"), both[name + "_o"].to_numpy(dtype="float64")
        bad = ~(np.isclose(x, y, rtol=RTOL, atol=1e-9) | (np.isnan(x) & np.isnan(y)))
        if bad.any():
            mismatches[name] = int(bad.sum())
    for name in [c for c in mine.columns if c != key and c not in FEATURE_COLUMNS]:
        if name + "_o" in both:
            bad = both[name].astype(str).to_numpy() != both[name + "_o"].astype(str).to_numpy()
            if bad.any():
                mismatches[name] = int(bad.sum())
    out["every_customer"] = not mismatches and not any(only.values())
    out["compared"] = int(len(both))
    details = []
    if ledger_diff:
        details.append(f"ledger differs: {ledger_diff}")
    if not out["monetary_cents"]:
        details.append(f"total monetary {a['sums']['monetary_cents']} vs {b['sums']['monetary_cents']}")
    if sum_diff:
        details.append(f"sums differ: {sum_diff}")
    if mismatches or any(only.values()):
        details.append(f"customers differ: {mismatches}; only in DuckDB {only['duckdb']}, only in Spark {only['spark']}")
    out["details"] = "; ".join(details)
    return out


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _money(cents: str | None) -> str:
    return "—" if cents is None else f"{Decimal(cents):,.2f}"


def table(rows: list[dict]) -> str:
    head = ("| input | engine | status | session start s | features s | total wall s | CPU s | driver peak MiB "
            "| JVM peak MiB | customers found / kept | same ledger as DuckDB | total monetary | every customer agrees "
            "| load |")
    lines = [head, "|" + "---|" * 14]
    for row in rows:
        r = row.get("result") or {}
        agree = row.get("agreement")
        same = "—" if row["engine"] == "DuckDB" else ("—" if agree is None else
                                                       "yes" if agree["ledger"] and agree["customers"] else "**no**")
        every = "—" if row["engine"] == "DuckDB" else ("—" if agree is None else
                                                        f"yes ({agree['compared']:,})" if agree["every_customer"] else "**no**")
        found = (f"{r['customers_found']:,} / {r['customers_kept']:,}" if "customers_found" in r else "—")
        status = row["status"] if row["status"] == "ok" else f"{row['status']}: {row.get('error', '')}".rstrip(": ")
        lines.append("| " + " | ".join([
            row["input"], row["engine"], status.replace("|", "/"), _fmt(r.get("session_s")),
            _fmt(r.get("features_s")), _fmt(row.get("total_s")), _fmt(row.get("cpu_s")),
            _fmt(r.get("driver_peak_mib"), 0), _fmt(r.get("jvm_peak_mib"), 0), found, same,
            _money((r.get("sums") or {}).get("monetary_cents")), every,
            "→".join(str(x) for x in row.get("load") or ()) or "—",
        ]) + " |")
    return "\n".join(lines)


def render(saved: dict) -> str:
    info, data, load = saved["machine"], saved["data"], saved["load"]
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
    text = [
        f"# Spark engine against DuckDB: features from {data['lines']:,} order lines",
        "",
        f"{info['date']}; custseg at git {info.get('git')}; {info['nproc']} CPUs ({info.get('cpu', '?')}), "
        f"{info.get('memory_gib', '?')} GiB; load average (1 min) during the run {load['min']}-{load['max']} "
        f"(mean {load['mean']}); Python {info['python']}; {info.get('java', 'java ?')}; {versions}.",
        f"Data: `generate_transactions({data['customers']:,}, {SEGMENTS}, random_state={SEED})`: "
        f"{data['lines']:,} lines; gzip CSV {data['csv_bytes'] / MIB ** 2:,.1f} MiB (one file), Parquet "
        f"{data['parquet_bytes'] / MIB ** 2:,.1f} MiB (row groups of 1,000,000 lines). Spark: driver memory "
        f"{saved['driver_memory']}, custseg's session defaults (shuffle partitions 2 x cores). DuckDB: custseg's "
        f"defaults (2 threads, 3 GB limit). One fresh process per row, run one at a time; total benchmark time "
        f"{saved['elapsed_s'] / 60:.1f} min.",
        "",
        table(saved["rows"]),
        "",
        "Session start: `spark_session(master)`; features: the `customers_from_transactions*` call to the "
        "finished customer table (Spark: cached and counted); total wall: the whole process (interpreter, "
        "imports, session, features, stopping Spark and its JVM), less the unmeasured export of the customer "
        "table for the agreement check; CPU: the process and its reaped children (the JVM) from `os.wait4`; "
        "driver peak: the Python process's own peak RSS; JVM peak: VmHWM of the driver's java child, read "
        "before the session stops. Total monetary: the sum over customers, exact, rounded to cents.",
        "",
        "## Correctness checks",
        "",
        *[f"- {'PASS' if c['passed'] else 'FAIL'} {c['name']}: {c['detail']}" for c in saved["checks"]],
        "",
    ]
    return "\n".join(text)


def _slug(master: str) -> str:
    """A master URL as a file name: ``local[2]`` -> ``local2``, ``spark://h:7077`` -> ``spark-h-7077``."""
    text = master.replace("[", "").replace("]", "").replace("*", "all")
    return "-".join(part for part in "".join(ch if ch.isalnum() or ch == "." else "-" for ch in text).split("-") if part)


def _worker_memory(executor_memory: str) -> str:
    """A worker's memory: the executor's and 1g more (its overhead, the worker's own)."""
    number = int("".join(ch for ch in executor_memory if ch.isdigit()))
    return f"{number + 1}g" if executor_memory.lower().endswith("g") else "2g"


def _cluster_module():
    """`tests/spark_cluster.py` (the cluster the tests start) as a module."""
    spec = importlib.util.spec_from_file_location("custseg_spark_cluster", ROOT / "tests" / "spark_cluster.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _spark_config(args, events: Path) -> dict:
    """Spark settings of a measured row: executor memory on a cluster, the event log with --profile."""
    config = {}
    if args.cluster:
        config["spark.executor.memory"] = args.executor_memory
    if args.profile:
        events.mkdir(parents=True, exist_ok=True)
        config.update({"spark.eventLog.enabled": "true", "spark.eventLog.dir": events.resolve().as_uri(),
                       "spark.eventLog.compress": "false", "spark.eventLog.rolling.enabled": "false"})
    return config


def _measure_all(run, args, data, inputs, masters, scratch, logs, exports, limit) -> tuple[list, list]:
    """Every input on DuckDB and on each master, compared: the rows and the correctness checks."""
    rows: list[dict] = []
    checks: list[dict] = []

    def check(name: str, passed: bool, detail: str) -> None:
        checks.append({"name": name, "passed": bool(passed), "detail": detail})
        print(f"  [{'PASS' if passed else 'FAIL'}] {name}: {detail}", flush=True)

    for kind in inputs:
        source = data["files"][kind]
        ref_export = str(exports / f"duckdb-{kind}.parquet")
        reference = measure_row(run, f"{kind}: DuckDB", worker_cmd(kind="duckdb", source=source, export=ref_export),
                                logs, limit, input=kind, engine="DuckDB")
        rows.append(reference)
        for master in masters:
            export = str(exports / f"spark-{_slug(master)}-{kind}")
            events = scratch / "events" / f"{_slug(master)}-{kind}"
            row = measure_row(run, f"{kind}: Spark {master}", worker_cmd(
                kind="spark", source=source, master=master, driver_memory=args.driver_memory, export=export,
                config=_spark_config(args, events)), logs, limit, input=kind, engine=f"Spark {master}")
            rows.append(row)
            if args.profile and events.is_dir() and any(events.iterdir()):
                profile = profile_event_log(events)
                plans = scratch / f"plans-{_slug(master)}-{kind}.txt"
                plans.write_text("\n\n".join(f"== SQL execution {p['id']}: {p['description']}\n{p['plan']}"
                                              for p in profile.pop("plans")), encoding="utf-8")
                row["profile"] = profile
                print(f"  profile of Spark {master} on {kind} (plans in {plans}):\n{profile_text(profile)}", flush=True)
            label = f"Spark {master} on {kind}"
            if reference["status"] != "ok" or row["status"] != "ok":
                check(f"{label} agrees with DuckDB", False,
                      f"not compared: DuckDB {reference['status']}, Spark {row['status']} {row.get('error', '')}")
                continue
            agree = compare(reference, row, ref_export, export)
            row["agreement"] = agree
            r = row["result"]
            check(f"{label}: same customers as DuckDB", agree["customers"],
                  f"found {r['customers_found']:,}, kept {r['customers_kept']:,} (DuckDB "
                  f"{reference['result']['customers_found']:,}, {reference['result']['customers_kept']:,})")
            check(f"{label}: same ledger, checks and drops as DuckDB", agree["ledger"],
                  f"{r['ledger']['rows_read']:,} lines read, {r['ledger']['rows_used']:,} used"
                  + (f"; {agree['details']}" if not agree["ledger"] else ""))
            check(f"{label}: same total monetary (cents) and feature sums", agree["monetary_cents"] and agree["sums"],
                  f"{r['sums']['monetary_cents']} (DuckDB {reference['result']['sums']['monetary_cents']})"
                  + (f"; {agree['details']}" if not agree["sums"] else ""))
            check(f"{label}: every customer's features agree", agree["every_customer"],
                  f"{agree['compared']:,} customers compared" + (
                      f"; {agree['details']}" if not agree["every_customer"] else ""))
        if reference["status"] != "ok":
            check(f"DuckDB on {kind}", False, f"{reference['status']} {reference.get('error', '')}")
    return rows, checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help=f"{FULL_LINES:,} order lines (default {QUICK_LINES:,})")
    parser.add_argument("--lines", type=int, default=None, help="order lines in the generated log")
    parser.add_argument("--masters", default=",".join(MASTERS), help="Spark masters, comma-separated")
    parser.add_argument("--inputs", default=",".join(INPUTS), help="csv.gz, parquet or both")
    parser.add_argument("--driver-memory", default="4g", help="spark.driver.memory (default 4g)")
    parser.add_argument("--data", type=Path, default=Path("/tmp/custseg-spark-bench/data"),
                        help="folder of the generated logs (reused when present)")
    parser.add_argument("--out", type=Path, default=None, help="write DIR/spark.json and DIR/spark.md")
    parser.add_argument("--limit", type=float, default=None, help="seconds per measured process")
    parser.add_argument("--cluster", action="store_true",
                        help="start a Spark standalone cluster (a master and one worker, tests/spark_cluster.py) "
                             "and run Spark on it instead of --masters")
    parser.add_argument("--worker-cores", type=int, default=2, help="with --cluster: the worker's cores (default 2)")
    parser.add_argument("--executor-memory", default="1g", help="with --cluster: spark.executor.memory (default 1g)")
    parser.add_argument("--profile", action="store_true",
                        help="Spark's event log per Spark row: stages' run time, shuffle and spill in the "
                             "output, the physical plans in DIR/plans-*.txt")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--render", type=Path, default=None, help=argparse.SUPPRESS)  # re-render spark.json
    args = parser.parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    if args.render:
        print(render(json.loads(args.render.read_text(encoding="utf-8"))))
        return 0
    n_lines = args.lines or (FULL_LINES if args.full else QUICK_LINES)
    limit = args.limit or (1800.0 if n_lines > 1_000_000 else 600.0)
    masters = [m.strip() for m in args.masters.split(",") if m.strip()]
    inputs = [i.strip() for i in args.inputs.split(",") if i.strip()]
    if set(inputs) - set(INPUTS):
        parser.error(f"--inputs: one or more of {', '.join(INPUTS)}")
    run = _load_run()
    scratch = (args.out or Path("/tmp/custseg-spark-bench") / f"run-{n_lines}").resolve()
    logs, exports = scratch / "logs", scratch / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    watch = LoadWatch()
    watch.start()
    started = time.perf_counter()
    info = run.machine()
    from importlib.metadata import PackageNotFoundError, version

    for package in ("polars", "kneed", "matplotlib"):  # not used here
        info["versions"].pop(package, None)
    for package in ("pyspark", "sqlglot"):
        try:
            info["versions"][package] = version(package)
        except PackageNotFoundError:
            info["versions"][package] = None
    try:
        from custseg.engines.spark.session import find_java

        java, major = find_java()
        info["java"] = f"Java {major} ({java})"
    except Exception as exc:  # noqa: BLE001 - the Spark rows will fail with the reason
        info["java"] = f"no Java: {exc}"
    print(f"Spark against DuckDB, {n_lines:,} order lines; outputs in {scratch}", flush=True)
    data = data_files(run, args.data.resolve() / f"lines-{n_lines}", n_lines, logs)
    cluster = _cluster_module().Cluster(scratch / "cluster") if args.cluster else None
    try:
        if cluster is not None:
            cluster.start_master()
            cluster.add_worker(cores=args.worker_cores, memory=_worker_memory(args.executor_memory))
            masters = [cluster.url]
            info["cluster"] = {"workers": 1, "worker_cores": args.worker_cores,
                               "executor_memory": args.executor_memory}
            print(f"  standalone cluster {cluster.url}: one worker, {args.worker_cores} cores, executor memory "
                  f"{args.executor_memory}", flush=True)
        rows, checks = _measure_all(run, args, data, inputs, masters, scratch, logs, exports, limit)
    finally:
        if cluster is not None:
            cluster.stop()
    watch.done.set()
    info["git_end"] = run.machine().get("git")
    saved = {"lines": n_lines, "data": data, "driver_memory": args.driver_memory, "machine": info,
             "load": watch.summary(), "elapsed_s": time.perf_counter() - started, "rows": rows, "checks": checks}
    markdown = render(saved)
    if args.out:
        (args.out / "spark.json").write_text(json.dumps(saved, indent=1, default=str), encoding="utf-8")
        (args.out / "spark.md").write_text(markdown, encoding="utf-8")
    print("\n" + markdown)
    failed = [c["name"] for c in checks if not c["passed"]]
    if failed:
        print(f"CORRECTNESS FAILURES: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
