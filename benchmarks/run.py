"""Benchmarks for issue 5: custseg against the plain scikit-learn way, in one run.

    python benchmarks/run.py --quick            # <= 3 minutes; asserts correctness only
    python benchmarks/run.py --full [--out DIR] # by hand; its table goes into RESULTS.md

Every measured step runs in a fresh process, one at a time (two cores are fragile: a
second busy process distorts both). From the outside each process gets its wall time,
its peak resident memory and its CPU time (user + system) from ``os.wait4``, the
per-child form of ``getrusage(RUSAGE_CHILDREN)``; inside, the benchmark tasks
(`benchmarks/tasks.py`) also time their own work without the interpreter's start-up.
A step can have a time limit and a memory cap; when it passes either, its process
group is killed and the step is marked "stopped at ...".

Workloads (sizes per mode in `MODES`):

* segmentation: customers from `custseg.sampledata.generate_customers` (5 planted
  segments; the 6 generated numeric columns plus 2 derived ones, 8 features) through
  ``custseg run`` with and without the report; baseline A ("textbook": K-Means k=2..10
  with exact silhouette, AgglomerativeClustering(ward) and DBSCAN on all rows) and
  baseline B ("careful": K-Means k=2..10 with silhouette on a 10,000 sample); quality
  as ARI against the planted segments and the chosen k.
* features: order lines from `custseg.sampledata.generate_transactions` in Parquet,
  custseg's ``customers_from_transactions`` against hand-written DuckDB SQL, a polars
  query and a pandas groupby (each for the same features and for R, F, M only), with
  an agreement check.
* assign: `Model.assign` of the saved model on customers already in memory.
* track: ``custseg track`` against ``custseg assign`` on the same later snapshot (the
  customers with 7% moved between planted segments), and `track` against `Model.assign` in
  memory; checks that track lists every customer once and agrees with assign.
* start-up: Mall Customers with the report against the import floor of
  ``import sklearn.cluster, pandas, matplotlib.pyplot``.

The quick mode exits non-zero when a correctness check fails (chosen k, ARI, feature
agreement, assign reproducing the run); it never checks timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TASKS = HERE / "tasks.py"
MALL = ROOT.parent / "shared" / "data" / "mall_customers.csv"
PLANTED_K = 5
IMPORT_FLOOR = "import sklearn.cluster, pandas, matplotlib.pyplot"
GB = 1024.0  # MiB per GiB

MODES = {
    "quick": {
        "customers": [100_000],          # custseg run (no report) and baseline B
        "sample": 5_000,                 # quality comparison: custseg (report), A and B
        "report_sizes": [],              # sizes also run with the report
        "baseline_a_sizes": [],          # A beyond the sample: full mode only
        "lines": [500_000],
        "assign_from": 100_000,
        "limit": 60.0,                   # seconds per baseline step
        "run_limit": 150.0,              # seconds per custseg run
        "feature_limit": 60.0,
        "feature_repeats": 1,
        "startup_repeats": 1,
        "mem_cap_gb": 8.0,
    },
    "full": {
        "customers": [1_000_000, 10_000_000],
        "sample": 10_000,
        "report_sizes": [1_000_000, 10_000_000],
        "no_report_sizes": [1_000_000],
        "baseline_a_sizes": [1_000_000, 10_000_000],
        "lines": [10_000_000, 100_000_000],
        "assign_from": 1_000_000,
        "limit": 180.0,
        "run_limit": 1800.0,
        "feature_limit": 900.0,
        "feature_repeats": 3,
        "startup_repeats": 5,
        "mem_cap_gb": 12.0,
    },
}
#: Generated order lines per file when a log is written in chunks (read back as a glob).
LINES_PER_FILE = 10_000_000
#: DuckDB memory_limit of the bounded hand-written queries on logs beyond one file.
DUCKDB_BOUND = "3GB"
LINES_PER_CUSTOMER = 88.0


# --------------------------------------------------------------------------- measuring


@dataclass
class Step:
    """One measured process."""

    name: str
    status: str = "ok"
    wall_s: float | None = None
    cpu_s: float | None = None
    rss_mb: float | None = None
    returncode: int | None = None
    result: dict = field(default_factory=dict)
    phases: list = field(default_factory=list)
    load: tuple = ()
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return 0.0


def measure(name: str, cmd: list[str], logs: Path, *, limit: float | None = None,
            mem_cap_gb: float | None = None, quiet: bool = False, load_scaled: bool = False) -> Step:
    """Run ``cmd`` in a new process group; return its wall time, CPU time and peak RSS.

    Past ``limit`` seconds or ``mem_cap_gb`` of resident memory the whole group is
    killed (only the processes this call started) and the step is marked stopped. With
    ``load_scaled`` the limit grows with the machine's load (the highest 1-minute load
    average per core seen during the step, when above 1): other jobs on a busy machine
    slow a step down without making it wrong.
    """
    logs.mkdir(parents=True, exist_ok=True)
    slug = "".join(ch if ch.isalnum() else "-" for ch in name).strip("-")[:80]
    out_path, err_path = logs / f"{slug}.out", logs / f"{slug}.err"
    step = Step(name)
    load_before = os.getloadavg()[0]
    if not quiet:
        print(f"  ... {name}", flush=True)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=ROOT, start_new_session=True)
        finished: dict = {}

        def reap() -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            finished.update(end=time.perf_counter(), status=status, usage=usage)

        waiter = threading.Thread(target=reap, daemon=True)
        waiter.start()
        busy = 1.0
        while waiter.is_alive():
            elapsed = time.perf_counter() - start
            stop = None
            if load_scaled:
                busy = max(busy, os.getloadavg()[0] / (os.cpu_count() or 1))
            if limit is not None and elapsed > limit * busy:
                stop = f"stopped at time limit ({limit * busy:.0f} s)"
            elif mem_cap_gb is not None and _rss_mb(proc.pid) > mem_cap_gb * GB:
                stop = f"stopped at memory cap ({mem_cap_gb:g} GB)"
            if stop:
                step.status = stop
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                waiter.join()
                break
            waiter.join(0.01 if elapsed < 5 else 0.1)
        proc.returncode = os.waitstatus_to_exitcode(finished["status"])
    usage = finished["usage"]
    step.wall_s = finished["end"] - start
    step.cpu_s = usage.ru_utime + usage.ru_stime
    step.rss_mb = usage.ru_maxrss / 1024.0
    step.returncode = proc.returncode
    step.load = (round(load_before, 2), round(os.getloadavg()[0], 2))
    for line in out_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("BENCH "):
            _, kind, payload = line.split(" ", 2)
            data = json.loads(payload)
            if kind == "result":
                step.result = data
            else:
                step.phases.append(data)
    if step.ok and proc.returncode != 0:
        lines = [ln.strip() for ln in err_path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
        # The exception line, not a hint printed after it ("See also https://...").
        named = [ln for ln in lines if ("Error" in ln or "Exception" in ln) and ": " in ln and not ln.startswith("File ")]
        error = (named or lines or [""])[-1]
        if ": " in error and " " not in error.split(": ", 1)[0]:  # "numpy._core._exceptions._ArrayMemoryError: ..."
            kind, message = error.split(": ", 1)
            error = f"{kind.rsplit('.', 1)[-1]}: {message}"
        step.error = error[:200]
        step.status = f"failed (exit {proc.returncode})"
    if not quiet:
        print(f"      {step.status}; wall {step.wall_s:.2f} s, CPU {step.cpu_s:.2f} s, "
              f"peak RSS {step.rss_mb:.0f} MiB, load {step.load[0]}->{step.load[1]}", flush=True)
    return step


def task(name: str, **arguments) -> list[str]:
    return [sys.executable, str(TASKS), name, json.dumps(arguments)]


def custseg_cmd(*arguments: str) -> list[str]:
    script = Path(sys.executable).with_name("custseg")
    if script.exists():
        return [str(script), *arguments]
    return [sys.executable, "-c", "import sys; from custseg.cli import main; main(sys.argv[1:])", *arguments]


# --------------------------------------------------------------------------- recording


class Bench:
    """Runs the workloads, keeps the rows of the table and the correctness checks."""

    def __init__(self, mode: str, out: Path, keep_data: bool):
        self.mode, self.cfg, self.out, self.keep_data = mode, MODES[mode], out, keep_data
        self.data, self.logs = out / "data", out / "logs"
        self.data.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict] = []
        self.checks: list[tuple[str, bool, str]] = []
        self.facts: dict = {}

    # -- table rows
    def row(self, workload: str, tool: str, step: Step | None, **extra) -> dict:
        row = {"workload": workload, "tool": tool}
        if step is not None:
            row.update(status=step.status, wall_s=step.wall_s, cpu_s=step.cpu_s, rss_mb=step.rss_mb,
                       work_s=step.result.get("work_s"), load=step.load)
        row.update(extra)
        self.rows.append(row)
        return row

    def check(self, name: str, passed: bool, detail: str) -> None:
        self.checks.append((name, bool(passed), detail))
        print(f"  [{'PASS' if passed else 'FAIL'}] {name}: {detail}", flush=True)

    def measure(self, name: str, cmd: list[str], **kwargs) -> Step:
        kwargs.setdefault("mem_cap_gb", self.cfg["mem_cap_gb"] + 4)  # a safety net for custseg too
        # The quick mode checks correctness, not speed: its limits only stop a run that hangs.
        kwargs.setdefault("load_scaled", self.mode == "quick")
        return measure(name, cmd, self.logs, **kwargs)

    def helper(self, name: str, cmd: list[str]) -> Step:
        """A process that prepares or evaluates; not part of any comparison."""
        step = measure(name, cmd, self.logs, quiet=True)
        if not step.ok:
            raise SystemExit(f"benchmark helper {name!r} failed: {step.status} (logs in {self.logs})")
        return step

    # -- data
    def customers(self, n: int) -> tuple[Path, Path]:
        path, truth = self.data / f"customers-{n}.parquet", self.data / f"customers-{n}-truth.parquet"
        if not (path.exists() and truth.exists()):
            step = self.helper(f"generate {n:,} customers", task("gen_customers", n=n, seed=0, path=str(path), truth=str(truth)))
            print(f"  generated {n:,} customers in {step.wall_s:.1f} s", flush=True)
        return path, truth

    def lines(self, n_lines: int) -> tuple[str, list[Path]]:
        """A generated order-line log of about ``n_lines`` lines: one Parquet file up to
        `LINES_PER_FILE`, else several files read back as a glob."""
        chunks = max(1, round(n_lines / LINES_PER_FILE))
        per_chunk = round(n_lines / chunks / LINES_PER_CUSTOMER)
        folder = self.data / f"lines-{n_lines}"
        folder.mkdir(exist_ok=True)
        files = [folder / f"part-{c:03d}.parquet" for c in range(chunks)]
        total = 0
        for c, path in enumerate(files):
            if not path.exists():
                step = self.helper(f"generate order lines {n_lines:,} part {c}",
                                   task("gen_transactions", n_customers=per_chunk, seed=c, path=str(path), chunk=c))
                total += step.result["lines"]
        if total:
            print(f"  generated {total:,} order lines in {chunks} file(s)", flush=True)
        source = str(files[0]) if chunks == 1 else str(folder / "part-*.parquet")
        return source, files


# --------------------------------------------------------------------------- workloads


def _sampling_note(sampling: dict | None) -> str:
    if not sampling:
        return ""
    parts = []
    sil = sampling.get("silhouette") or {}
    if sil.get("used"):
        parts.append(f"silhouette on {sil.get('sample_size'):,} sample")
    ward = sampling.get("hierarchical") or {}
    if ward.get("used"):
        parts.append(f"Ward on {ward.get('micro_clusters')} micro-clusters")
    db = sampling.get("dbscan") or {}
    if db.get("used"):
        parts.append(f"DBSCAN fitted on {db.get('sample_size'):,}")
    return "; ".join(parts) if parts else "exact (no sampling)"


def custseg_run(bench: Bench, n: int, report: bool, workload: str) -> dict:
    path, truth = bench.customers(n)
    out = bench.out / "runs" / f"custseg-{n}-{'report' if report else 'noreport'}"
    shutil.rmtree(out, ignore_errors=True)
    args = ["run", str(path), "--out", str(out)] + ([] if report else ["--no-report"])
    label = f"custseg run{' (report)' if report else ' --no-report'}"
    step = bench.measure(f"{workload}: {label}", custseg_cmd(*args), limit=bench.cfg["run_limit"])
    extra: dict = {"out": str(out)}
    if step.ok:
        ev = bench.helper(f"evaluate {label} {n}", task(
            "evaluate", truth=str(truth), segments=str(out / "segments.csv"), summary=str(out / "summary.json")))
        r = ev.result
        extra.update(k=r.get("k"), ari=r.get("ari"), algorithm=r.get("algorithm"),
                     notes=f"chose {r.get('algorithm')}; {_sampling_note(r.get('sampling'))}")
        bench.check(f"custseg k at {n:,}", r.get("k") == PLANTED_K, f"chose k={r.get('k')} (planted {PLANTED_K})")
        bench.check(f"custseg ARI at {n:,}", (r.get("ari") or 0) >= 0.9, f"ARI {r.get('ari'):.4f} (>= 0.9)")
    else:
        extra["notes"] = step.error
        bench.check(f"custseg run at {n:,}", False, f"{step.status} {step.error}")
    return bench.row(workload, label, step, **extra)


def baseline_b(bench: Bench, n: int, workload: str) -> dict:
    path, truth = bench.customers(n)
    labels = bench.out / "runs" / f"baseline-b-{n}.npy"
    labels.parent.mkdir(parents=True, exist_ok=True)
    step = bench.measure(f"{workload}: baseline B", task(
        "baseline_b", path=str(path), k_min=2, k_max=10, n_init=4, labels_out=str(labels)),
        limit=bench.cfg["run_limit"])
    extra: dict = {}
    if step.ok:
        ev = bench.helper(f"evaluate baseline B {n}", task("evaluate", truth=str(truth), labels=str(labels)))
        scores = step.result.get("scores", [])
        extra.update(k=step.result["k"], ari=ev.result["ari"], notes=(
            f"K-Means n_init=4: fits {sum(x['fit_s'] for x in scores):.1f} s; silhouette on "
            f"{min(n, 10_000):,} sample: {sum(x['silhouette_s'] for x in scores):.1f} s"))
    elif step.error:
        extra["notes"] = step.error
    return bench.row(workload, "baseline B (careful)", step, **extra)


def baseline_a(bench: Bench, n: int, workload: str) -> list[dict]:
    """Baseline A: one process per algorithm sweep, each under the step time limit."""
    path, truth = bench.customers(n)
    runs = bench.out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    rows, candidates, complete = [], [], True
    limit, cap = bench.cfg["limit"], bench.cfg["mem_cap_gb"]
    for algorithm in ("kmeans", "ward", "dbscan"):
        if algorithm == "dbscan":
            cmd = task("baseline_a_dbscan_sweep", path=str(path), labels_dir=str(runs), n=n)
        else:
            cmd = task(f"baseline_a_{algorithm}_sweep", path=str(path), k_min=2, k_max=10,
                       n_init=4, labels_dir=str(runs), n=n)
        step = bench.measure(f"{workload}: baseline A {algorithm}", cmd, limit=limit, mem_cap_gb=cap)
        done = [p for p in step.phases if p.get("step") == "candidate"]
        candidates += [dict(p, algorithm=algorithm) for p in done]
        complete &= step.ok
        notes = "; ".join(filter(None, [_a_progress(step, algorithm), step.error]))
        rows.append(bench.row(workload, f"baseline A: {_A_NAMES[algorithm]}", step, notes=notes))
    # The textbook choice: the best exact silhouette among everything that finished.
    best = max((c for c in candidates if c.get("silhouette") is not None and c["k"] >= 2),
               key=lambda c: c["silhouette"], default=None)
    total = {
        "status": "ok" if complete else "incomplete",
        "wall_s": sum(r["wall_s"] for r in rows),
        "cpu_s": sum(r["cpu_s"] for r in rows),
        "rss_mb": max(r["rss_mb"] for r in rows),
        "lower_bound": not complete,
    }
    extra: dict = {}
    if best is not None and complete:
        ev = bench.helper(f"evaluate baseline A {n}", task("evaluate", truth=str(truth), labels=best["labels"]))
        extra.update(k=best["k"], ari=ev.result["ari"],
                     notes=f"best exact silhouette: {best['algorithm']} k={best['k']}")
    elif best is not None:
        extra["notes"] = (f"no answer: not every candidate was scored (best so far {best['algorithm']} "
                          f"k={best['k']})")
    else:
        extra["notes"] = "no answer: no candidate was scored"
    rows.append(bench.row(workload, "baseline A (textbook), all steps", None, **total, **extra))
    return rows


_A_NAMES = {"kmeans": "K-Means + exact silhouette", "ward": "Ward + exact silhouette",
            "dbscan": "DBSCAN + exact silhouette"}


def _a_progress(step: Step, algorithm: str) -> str:
    """What a baseline A process got done, from its phase lines."""
    scored = [p for p in step.phases if p.get("step") == "candidate"]
    fits = [p for p in step.phases if p.get("step") == "fit"]
    parts = []
    if scored:
        ks = ", ".join(str(p["k"]) for p in scored)
        parts.append(f"scored k = {ks}" if algorithm != "dbscan" else
                     f"{scored[0]['k']} clusters, {scored[0].get('noise', 0):.1%} noise")
    if not step.ok:
        last = step.phases[-1] if step.phases else None
        if last is None:
            parts.append("stopped in the k-distance curve for eps" if algorithm == "dbscan"
                         else "nothing finished (loading or first fit)")
        elif last.get("step") == "fit":
            parts.append(f"k={last.get('k')} fitted in {last['seconds']:.1f} s, then stopped in its exact silhouette")
        elif last.get("step") == "k-distance eps":
            parts.append(f"eps from k-distance in {last['seconds']:.1f} s, then stopped in DBSCAN")
        elif last.get("step") == "candidate":
            parts.append(f"stopped after k={last.get('k')}")
    elif fits:
        parts.append(f"fits {sum(p['seconds'] for p in fits):.1f} s, exact silhouettes "
                     f"{sum(p.get('silhouette_s', 0) for p in scored):.1f} s")
    return "; ".join(parts)


def segmentation(bench: Bench) -> None:
    cfg = bench.cfg
    sample = cfg["sample"]
    print(f"\n== segmentation: quality on a {sample:,}-customer sample", flush=True)
    w = f"segmentation, {sample:,} customers (quality sample)"
    custseg_run(bench, sample, report=True, workload=w)
    baseline_b(bench, sample, w)
    baseline_a(bench, sample, w)
    for n in cfg["customers"]:
        print(f"\n== segmentation: {n:,} customers", flush=True)
        w = f"segmentation, {n:,} customers"
        if n in cfg.get("no_report_sizes", [n]) or bench.mode == "quick":
            custseg_run(bench, n, report=False, workload=w)
        if n in cfg["report_sizes"]:
            custseg_run(bench, n, report=True, workload=w)
        baseline_b(bench, n, w)
        if n in cfg["baseline_a_sizes"]:
            baseline_a(bench, n, w)


def features(bench: Bench) -> None:
    cfg = bench.cfg
    for n_lines in cfg["lines"]:
        print(f"\n== features from {n_lines:,} order lines", flush=True)
        source, files = bench.lines(n_lines)
        w = f"features, {n_lines:,} order lines"
        results = bench.out / "runs" / f"features-{n_lines}"
        results.mkdir(parents=True, exist_ok=True)
        tools = [("custseg", None, None)] + [(engine, variant, None) for variant in ("full", "rfm")
                                             for engine in ("duckdb", "polars", "pandas")]
        if n_lines > LINES_PER_FILE:
            # Beyond memory at default settings: DuckDB again, bounded like custseg's 4 GB target.
            tools += [("duckdb", variant, DUCKDB_BOUND) for variant in ("full", "rfm")]
        missing = {engine for engine in ("polars",) if not _importable(engine)}
        steps: dict[str, list[Step]] = {}
        # Repeats spread the noise of a shared machine; the largest log runs once.
        repeats = cfg["feature_repeats"] if n_lines <= LINES_PER_FILE else 1
        for rep in range(repeats):
            for engine, variant, bound in tools:
                key = "-".join(filter(None, (engine, variant, bound)))
                if engine in missing:
                    continue
                out = results / f"{key}.parquet"
                if engine == "custseg":
                    cmd = task("features_custseg", source=source, out=str(out))
                elif bound:
                    cmd = task(f"features_{engine}", source=source, variant=variant, out=str(out),
                               memory_limit=bound)
                else:
                    cmd = task(f"features_{engine}", source=source, variant=variant, out=str(out))
                suffix = f" (run {rep + 1}/{repeats})" if repeats > 1 else ""
                cap = cfg["mem_cap_gb"] if engine != "custseg" else cfg["mem_cap_gb"] + 4
                steps.setdefault(key, []).append(bench.measure(
                    f"{w}: {key}{suffix}", cmd, limit=cfg["feature_limit"], mem_cap_gb=cap))
        done = {key: str(results / f"{key}.parquet") for key, runs in steps.items()
                if key != "custseg" and all(s.ok for s in runs)}
        agreement = {}
        if steps["custseg"][0].ok and done:
            cmp = bench.helper(f"compare features {n_lines}", task(
                "compare_features", reference=str(results / "custseg.parquet"), others=done,
                full=[k for k in done if "-full" in k]))
            agreement = cmp.result["tools"]
        for key, runs in steps.items():
            agreed = agreement.get(key)
            note = _agreement_note(agreed) if key != "custseg" else (
                f"{runs[0].result.get('customers', 0):,} customers, every feature, ledger and checks"
                if runs[0].ok else "")
            if not runs[-1].ok and runs[-1].error:
                note = runs[-1].error
            parts = key.split("-")
            name = "custseg customers_from_transactions" if key == "custseg" else (
                f"{parts[0]} ({'same features' if parts[1] == 'full' else 'R, F, M only'}"
                + (f", memory_limit {parts[2]})" if len(parts) > 2 else ")"))
            bench.rows.append(_median_row(w, name, runs, notes=note, key=key))
        for engine in sorted(missing):
            bench.row(w, engine, None, status="skipped: package not installed", notes=f"pip install {engine}")
        if "duckdb-full" in agreement:
            a = agreement["duckdb-full"]
            bench.check(f"features agree with hand-written DuckDB at {n_lines:,} lines", a["agree"],
                        _agreement_note(a))
        elif bench.mode == "quick":
            bench.check(f"features at {n_lines:,} lines", False, "custseg or the DuckDB query did not finish")
        if len(files) > 1 and not bench.keep_data:
            shutil.rmtree(files[0].parent, ignore_errors=True)
            print(f"  removed the {len(files)} generated files of {n_lines:,} lines", flush=True)


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _agreement_note(agreed: dict | None) -> str:
    if agreed is None:
        return "not compared (custseg or this tool did not finish)"
    if agreed["agree"]:
        return f"agrees with custseg on {agreed['customers']:,} customers"
    return (f"DISAGREES: {agreed['mismatches']}, {agreed['only_in_custseg']} customers only in custseg, "
            f"{agreed['only_in_other']} only here")


def _median_row(workload: str, tool: str, runs: list[Step], notes: str = "", key: str = "") -> dict:
    good = [s for s in runs if s.ok]
    pick = good or runs
    wall = statistics.median(s.wall_s for s in pick)
    works = [s.result.get("work_s") for s in pick if s.result.get("work_s") is not None]
    row = {
        "workload": workload, "tool": tool, "key": key,
        "status": "ok" if len(good) == len(runs) else runs[-1].status,
        "wall_s": wall, "cpu_s": statistics.median(s.cpu_s for s in pick),
        "work_s": statistics.median(works) if works else None,
        "rss_mb": max(s.rss_mb for s in pick), "load": pick[-1].load,
        "runs": len(runs), "notes": notes,
        "work_all": [round(w, 2) for w in works],
    }
    if len(runs) > 1:
        detail = f"work {row['work_all']} s" if works else "wall " + str([round(s.wall_s, 2) for s in pick]) + " s"
        row["notes"] = (notes + "; " if notes else "") + f"median of {len(runs)} runs ({detail})"
    return row


def _kmeans_model(bench: Bench, n: int, path: Path, *, fit: bool) -> tuple[Path | None, str]:
    """A run folder with a K-Means model.json (and its segments.csv) for ``n`` customers.

    The segmentation runs' own when they chose K-Means; else, when ``fit``, one fitted with
    ``--algorithms kmeans`` (not measured). Returns (folder or None, a note for the table).
    """
    runs = bench.out / "runs"
    candidates = [runs / f"custseg-{n}-report", runs / f"custseg-{n}-noreport", runs / f"custseg-{n}-kmeans"]
    model_dir = next((d for d in candidates if (d / "model.json").exists()), None)
    if model_dir is None and not fit:
        return None, ""
    model = json.loads((model_dir / "model.json").read_text(encoding="utf-8")) if model_dir else {}
    if model.get("algorithm") == "kmeans":
        return model_dir, ""
    # The targets are for K-Means models: fit one on the same data.
    model_dir = runs / f"custseg-{n}-kmeans"
    shutil.rmtree(model_dir, ignore_errors=True)
    bench.helper("K-Means model", custseg_cmd(
        "run", str(path), "--out", str(model_dir), "--no-report", "--algorithms", "kmeans"))
    chose = f"the run chose {model['algorithm']}; " if model else ""
    return model_dir, chose + "K-Means model fitted with --algorithms kmeans; "


def assign_throughput(bench: Bench) -> None:
    n = bench.cfg["assign_from"]
    print(f"\n== assign: {n:,} customers in memory", flush=True)
    path, _ = bench.customers(n)
    w = f"assign, {n:,} customers in memory"
    runs = bench.out / "runs"
    model_dir, note = _kmeans_model(bench, n, path, fit=any(
        (runs / f"custseg-{n}-{kind}" / "model.json").exists() for kind in ("report", "noreport")))
    if model_dir is None:
        bench.row(w, "Model.assign", None, status="skipped: no model from the segmentation runs")
        bench.check("assign", False, "no model.json")
        return
    step = bench.measure(f"{w}: Model.assign", task(
        "assign", model=str(model_dir / "model.json"), data=str(path), repeats=3,
        segments=str(model_dir / "segments.csv")))
    r = step.result
    if step.ok:
        note += (f"{r['per_second']:,.0f} customers/s (best of 3; first call {r['first_s']:.2f} s); "
                 f"clean {r.get('clean_s', 0):.2f} s, transform {r.get('transform_s', 0):.2f} s, "
                 f"predict {r.get('predict_s', 0):.2f} s")
        bench.check("assign reproduces the run's segments", r.get("reproduces_run") is True,
                    f"reproduces_run={r.get('reproduces_run')}")
    bench.row(w, "Model.assign (K-Means model)", step, per_second=r.get("per_second"), notes=note)


#: "A few seconds": what tracking may cost beyond assigning the same customers.
TRACK_EXTRA_S = 5.0


def track_vs_assign(bench: Bench) -> None:
    """``custseg track`` against ``custseg assign`` on the same later snapshot, in the same run.

    The snapshot is the benchmark's customers with 7% of them moved between planted segments
    (`tasks.LATER_MOVES`); the model is a K-Means run on the original customers, its
    segments.csv the before-state. Both commands read the Parquet file and write their CSV.
    """
    n = bench.cfg["assign_from"]
    print(f"\n== track: {n:,} customers against assign", flush=True)
    path, truth = bench.customers(n)
    model_dir, note = _kmeans_model(bench, n, path, fit=True)
    later = bench.data / f"customers-{n}-later.parquet"
    if not later.exists():
        bench.helper(f"later snapshot of {n:,} customers",
                     task("gen_later", path=str(path), truth=str(truth), out=str(later), seed=1))
    model = str(model_dir / "model.json")
    runs = bench.out / "runs"
    w = f"track, {n:,} customers (7% moved)"
    assigned = runs / f"assigned-{n}.csv"
    assign = bench.measure(f"{w}: custseg assign", custseg_cmd("assign", model, str(later), "--out", str(assigned)),
                           limit=bench.cfg["run_limit"])
    bench.row(w, "custseg assign", assign, notes=note + "reads the Parquet file, writes assigned.csv")
    quiet_dir, report_dir = runs / f"track-{n}-noreport", runs / f"track-{n}-report"
    for label, folder, extra in (("custseg track --no-report", quiet_dir, ["--no-report"]),
                                 ("custseg track (report)", report_dir, [])):
        shutil.rmtree(folder, ignore_errors=True)
        step = bench.measure(f"{w}: {label}", custseg_cmd("track", model, str(later), "--out", str(folder), *extra),
                             limit=bench.cfg["run_limit"])
        over = (f"+{step.wall_s - assign.wall_s:.1f} s over assign; " if step.ok and assign.ok else "")
        bench.row(w, label, step, key="track-report" if extra == [] else "track",
                  notes=over + "writes migration.csv, transitions.csv, summary.json" + ("" if extra else ", report.html"))
    work = bench.measure(f"{w}: track() in memory", task("track_work", model=model, data=str(later)),
                         limit=bench.cfg["run_limit"])
    if work.ok:
        r = work.result
        bench.row(w, "track() vs Model.assign in memory", work,
                  notes=f"assign {r['assign_s']:.2f} s, track {r['work_s']:.2f} s (reads segments.csv); "
                        f"{r['customers']['moved']:,} moved; verdict: {r['verdict']}")
    if assign.ok and (quiet_dir / "migration.csv").exists():
        check = bench.helper("track agrees with assign", task(
            "track_check", migration=str(quiet_dir / "migration.csv"), assigned=str(assigned)))
        r = check.result
        bench.check("track lists every customer once", r.get("once") is True, f"{r.get('rows'):,} rows")
        bench.check("track puts every customer where assign does", r.get("agrees_with_assign") is True,
                    f"{r.get('moved'):,} moved")
    else:
        bench.check("track", False, "custseg assign or custseg track failed")


def startup(bench: Bench) -> None:
    print("\n== start-up: Mall Customers with the report vs the import floor", flush=True)
    w = "start-up, Mall Customers (200 rows)"
    if not MALL.exists():
        bench.row(w, "custseg run (report)", None, status=f"skipped: {MALL} not found")
        return
    repeats = bench.cfg["startup_repeats"]
    floor_cmd = [sys.executable, "-c", IMPORT_FLOOR]
    out = bench.out / "runs" / "mall"
    run_cmd = custseg_cmd("run", str(MALL), "--out", str(out))
    if repeats > 1:  # warm the file cache once, unmeasured
        bench.helper("warm-up floor", floor_cmd)
        bench.helper("warm-up mall", run_cmd)
    floors, runs = [], []
    for rep in range(repeats):
        floors.append(bench.measure(f"{w}: import floor ({rep + 1}/{repeats})", floor_cmd))
        runs.append(bench.measure(f"{w}: custseg run (report) ({rep + 1}/{repeats})", run_cmd))
    bench.rows.append(_median_row(w, f"floor: python -c \"{IMPORT_FLOOR}\"", floors, key="floor"))
    row = _median_row(w, "custseg run (report)", runs, key="mall")
    bench.rows.append(row)
    bench.check("Mall Customers run", all(s.ok for s in runs), runs[-1].status)


# --------------------------------------------------------------------------- reporting


def machine() -> dict:
    info = {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in handle if ln.startswith("model name")), "?")
        with open("/proc/meminfo", encoding="ascii") as handle:
            info["memory_gib"] = round(int(handle.readline().split()[1]) / 1024 ** 2, 1)
    except OSError:
        pass
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("custseg", "numpy", "pandas", "scikit-learn", "scipy", "duckdb", "polars", "pyarrow",
                    "matplotlib", "kneed"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    info["versions"] = versions
    info["date"] = time.strftime("%Y-%m-%d %H:%M %Z")
    try:  # the library under test changes often: say which code ran
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--short", "--", "src"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        info["git"] = head + (" (with uncommitted changes in src/)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        info["git"] = None
    return info


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def table(rows: list[dict]) -> str:
    head = "| workload | tool | status | wall s | work s | CPU s | peak RSS MiB | k | ARI | load | notes |"
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        wall = _fmt(r.get("wall_s"), 1)
        if r.get("lower_bound") or (r.get("status", "ok") != "ok" and r.get("status", "").startswith("stopped")):
            wall = "> " + wall
        lines.append("| " + " | ".join([
            r["workload"], r["tool"], r.get("status", "ok"), wall, _fmt(r.get("work_s"), 2),
            _fmt(r.get("cpu_s"), 1), _fmt(r.get("rss_mb"), 0), _fmt(r.get("k")),
            _fmt(r.get("ari"), 4), "→".join(str(x) for x in r.get("load") or ()) or "—",
            str(r.get("notes", "")).replace("|", "/"),
        ]) + " |")
    return "\n".join(lines)


def _find(rows, workload_start: str, tool_start: str) -> dict | None:
    return next((r for r in rows if r["workload"].startswith(workload_start) and r["tool"].startswith(tool_start)), None)


def ratios(rows: list[dict]) -> list[str]:
    """custseg against the baselines, as text lines (time ratio < 1: custseg is faster)."""
    out = []
    for r in rows:
        if not r["workload"].startswith("segmentation") or not r["tool"].startswith("custseg run"):
            continue
        if r.get("status") != "ok":
            continue
        for base in ("baseline B", "baseline A (textbook), all steps"):
            b = _find(rows, r["workload"], base)
            if not b or b.get("wall_s") is None:
                continue
            bound = "≤ " if b.get("lower_bound") else ""
            rss = f", memory {r['rss_mb'] / b['rss_mb']:.2f}×" if b.get("rss_mb") else ""
            out.append(f"- {r['workload']}: {r['tool']} takes {bound}{r['wall_s'] / b['wall_s']:.2f}× the wall "
                       f"time of {base.split(',')[0]} ({r['wall_s']:.1f} s vs {'> ' if bound else ''}"
                       f"{b['wall_s']:.1f} s{'; A did not finish' if bound else ''}){rss}; "
                       f"ARI {_fmt(r.get('ari'), 4)} vs {_fmt(b.get('ari'), 4)}, k {r.get('k')} vs {_fmt(b.get('k'))}")
    for r in rows:
        if not r["workload"].startswith("features") or r.get("key") != "custseg" or r.get("status") != "ok":
            continue
        for b in rows:
            if b["workload"] != r["workload"] or b.get("key") in (None, "custseg") or b.get("status") != "ok":
                continue
            if r.get("work_s") and b.get("work_s"):
                out.append(f"- {r['workload']}: custseg / {b['tool']}: time {r['work_s'] / b['work_s']:.2f}× "
                           f"(work {r['work_s']:.2f} s vs {b['work_s']:.2f} s; process {r['wall_s']:.2f} s vs "
                           f"{b['wall_s']:.2f} s), memory {r['rss_mb'] / b['rss_mb']:.2f}× "
                           f"({r['rss_mb']:.0f} vs {b['rss_mb']:.0f} MiB)")
    floor, mall = _find(rows, "start-up", "floor"), _find(rows, "start-up", "custseg")
    if floor and mall and floor.get("wall_s"):
        out.append(f"- start-up: Mall Customers run with report / import floor = {mall['wall_s'] / floor['wall_s']:.2f}× "
                   f"({mall['wall_s']:.2f} s vs {floor['wall_s']:.2f} s, medians)")
    return out


def _row(rows, workload: str, key_or_tool: str) -> dict | None:
    return next((r for r in rows if r["workload"] == workload
                 and (r.get("key") == key_or_tool or r["tool"] == key_or_tool)), None)


def targets(rows: list[dict]) -> list[str]:
    """Issue 5's targets, each met / not met with the measured figure (full-mode sizes)."""
    out = ["| target | measured | status |", "|---|---|---|"]

    def add(target: str, measured: str, met: bool | None) -> None:
        out.append(f"| {target} | {measured} | {'not measured' if met is None else 'met' if met else 'NOT MET'} |")

    def ok(r):
        return r is not None and r.get("status") == "ok"

    r = _row(rows, "segmentation, 1,000,000 customers", "custseg run (report)")
    add("custseg run, 1,000,000 customers x 8 features, report: <= 60 s, <= 3 GB",
        f"{r['wall_s']:.1f} s, {r['rss_mb'] / GB:.2f} GiB ({r['status']})" if r else "—",
        None if r is None else ok(r) and r["wall_s"] <= 60 and r["rss_mb"] <= 3 * GB)
    r = _row(rows, "segmentation, 10,000,000 customers", "custseg run (report)")
    add("the same on 10,000,000 customers: <= 10 min, memory bounded (peak <= 8 GB)",
        f"{r['wall_s']:.1f} s, {r['rss_mb'] / GB:.2f} GiB ({r['status']})" if r else "—",
        None if r is None else ok(r) and r["wall_s"] <= 600 and r["rss_mb"] <= 8 * GB)
    w = "features, 10,000,000 order lines"
    c, d, p, q = (_row(rows, w, k) for k in ("custseg", "duckdb-full", "polars-full", "pandas-full"))
    if c and d and ok(c) and ok(d):
        others = [x for x in (p, q) if ok(x)]
        met = (c["work_s"] <= 1.2 * d["work_s"] and all(c["work_s"] < x["work_s"] for x in others)
               and all(c["rss_mb"] < x["rss_mb"] for x in others))
        add("features from 10,000,000 order lines: <= 1.2 x hand-written DuckDB, faster and leaner than "
            "polars and pandas",
            f"custseg {c['work_s']:.2f} s / {c['rss_mb']:.0f} MiB; DuckDB {d['work_s']:.2f} s "
            f"({c['work_s'] / d['work_s']:.2f}x); " + "; ".join(
                f"{x['tool'].split(' ')[0]} {x['work_s']:.2f} s / {x['rss_mb']:.0f} MiB" for x in others), met)
    else:
        add("features from 10,000,000 order lines", "—" if c is None else c.get("status", "—"),
            None if c is None else False)
    r = _row(rows, "features, 100,000,000 order lines", "custseg")
    add("features from 100,000,000 order lines: completes, peak <= 4 GB",
        f"{r['status']}; {r['wall_s']:.1f} s, {r['rss_mb'] / GB:.2f} GiB"
        + (f" ({r['notes']})" if r.get("notes") and not ok(r) else "") if r else "—",
        None if r is None else ok(r) and r["rss_mb"] <= 4 * GB)
    big = _row(rows, "segmentation, 1,000,000 customers", "custseg run (report)")
    small = next((r for r in rows if r["workload"].endswith("(quality sample)") and r["tool"].startswith("custseg")), None)
    if big and small:
        add("quality: 1,000,000 customers, chosen k correct and ARI >= 0.9, as on the sample",
            f"1M: k={big.get('k')}, ARI {_fmt(big.get('ari'), 4)}; sample: k={small.get('k')}, "
            f"ARI {_fmt(small.get('ari'), 4)}",
            big.get("k") == PLANTED_K and (big.get("ari") or 0) >= 0.9
            and small.get("k") == PLANTED_K and (small.get("ari") or 0) >= 0.9)
    else:
        add("quality at 1,000,000 customers", "—", None)
    r = next((r for r in rows if r["workload"].startswith("assign")), None)
    add("assign: >= 1,000,000 customers/s (K-Means model, no file reading)",
        f"{r['per_second']:,.0f} customers/s on {r['workload'].split(', ')[1]}" if r and r.get("per_second") else "—",
        None if r is None or not r.get("per_second") else r["per_second"] >= 1_000_000)
    a = next((r for r in rows if r["workload"].startswith("track") and r["tool"] == "custseg assign"), None)
    t = next((r for r in rows if r["workload"].startswith("track") and r.get("key") == "track"), None)
    if a and t and ok(a) and ok(t):
        add(f"track: costs no more than assign plus {TRACK_EXTRA_S:g} s ({a['workload'].split(', ')[1]})",
            f"track {t['wall_s']:.1f} s vs assign {a['wall_s']:.1f} s: +{t['wall_s'] - a['wall_s']:.1f} s",
            t["wall_s"] <= a["wall_s"] + TRACK_EXTRA_S)
    else:
        add("track: no more than assign plus a few seconds", "—", None if t is None else False)
    f, m = _find(rows, "start-up", "floor"), _find(rows, "start-up", "custseg")
    add("Mall Customers with report: <= 1.5 x the import floor",
        f"{m['wall_s']:.2f} s vs floor {f['wall_s']:.2f} s = {m['wall_s'] / f['wall_s']:.2f}x (medians)" if f and m else "—",
        None if not (f and m) else m["wall_s"] <= 1.5 * f["wall_s"])
    return out


def write_outputs(bench: Bench, info: dict, elapsed: float) -> str:
    text = [
        f"# custseg benchmarks ({bench.mode} mode)",
        "",
        f"{info['date']}; {info['nproc']} CPUs ({info.get('cpu', '?')}), {info.get('memory_gib', '?')} GiB; "
        f"Python {info['python']}; " + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
        + (f"; custseg at git {info['git']}" if info.get("git") else "")
        + (f" (at the end: {info['git_end']})" if info.get("git_end") and info["git_end"] != info.get("git") else "") + ".",
        f"Total benchmark time {elapsed / 60:.1f} min. Wall and peak RSS per process from os.wait4; "
        "'work s' is timed inside the process (no interpreter start-up, no writing of benchmark outputs). "
        "'> x' marks a step stopped at its limit.",
        "",
        table(bench.rows),
        "",
        "## Ratios",
        "",
        *ratios(bench.rows),
        "",
        "## Targets of issue 5" + (" (full-mode sizes; the quick mode measures smaller ones)" if bench.mode == "quick" else ""),
        "",
        *targets(bench.rows),
        "",
        "## Correctness checks",
        "",
        *[f"- {'PASS' if ok else 'FAIL'} {name}: {detail}" for name, ok, detail in bench.checks],
        "",
    ]
    markdown = "\n".join(text)
    (bench.out / "table.md").write_text(markdown, encoding="utf-8")
    (bench.out / "results.json").write_text(json.dumps(
        {"mode": bench.mode, "machine": info, "elapsed_s": elapsed, "rows": bench.rows,
         "checks": [{"name": n, "passed": ok, "detail": d} for n, ok, d in bench.checks]},
        indent=1, default=str), encoding="utf-8")
    return markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--quick", action="store_true", help="small sizes, <= 3 minutes; asserts correctness only")
    group.add_argument("--full", action="store_true", help="the sizes of issue 5 (about an hour)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for data, logs, table.md and results.json (default /tmp/custseg-bench/MODE)")
    parser.add_argument("--only", default="segmentation,features,assign,track,startup",
                        help="comma-separated workloads to run (default: all)")
    parser.add_argument("--keep-data", action="store_true", help="keep the multi-file order-line logs")
    parser.add_argument("--sizes", default=None, help=argparse.SUPPRESS)  # JSON overrides of MODES (tests)
    parser.add_argument("--render", type=Path, default=None, help=argparse.SUPPRESS)  # re-render results.json
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads(args.render.read_text(encoding="utf-8"))
        bench = Bench(saved["mode"], args.render.parent, keep_data=True)
        bench.rows = saved["rows"]
        bench.checks = [(c["name"], c["passed"], c["detail"]) for c in saved["checks"]]
        print(write_outputs(bench, saved["machine"], saved.get("elapsed_s", 0.0)))
        return 0
    mode = "quick" if args.quick else "full"
    if args.sizes:
        MODES[mode] = {**MODES[mode], **json.loads(args.sizes)}
    try:
        import custseg  # noqa: F401
    except ImportError:
        print("custseg is not importable: run with the project's venv (.venv/bin/python benchmarks/run.py)",
              file=sys.stderr)
        return 2
    out = (args.out or Path("/tmp/custseg-bench") / mode).resolve()
    out.mkdir(parents=True, exist_ok=True)
    bench = Bench(mode, out, args.keep_data)
    info = machine()
    print(f"custseg benchmarks, {mode} mode -> {out}", flush=True)
    start = time.perf_counter()
    workloads = {"segmentation": segmentation, "features": features, "assign": assign_throughput,
                 "track": track_vs_assign, "startup": startup}
    for name in [w.strip() for w in args.only.split(",") if w.strip()]:
        workloads[name](bench)
    info["git_end"] = machine().get("git")
    markdown = write_outputs(bench, info, time.perf_counter() - start)
    print("\n" + markdown)
    failed = [name for name, ok, _ in bench.checks if not ok]
    if failed:
        print(f"CORRECTNESS FAILURES: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
