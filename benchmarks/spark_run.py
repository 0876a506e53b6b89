"""The Spark engine's whole run against the local engine, in one run.

    python benchmarks/spark_run.py [--out DIR]   # all three parts (about 15 minutes here)
    python benchmarks/spark_run.py --smoke       # small sizes, fit_sample 5,000: the same paths in ~5 min
    python benchmarks/spark_run.py --only agreement --algorithms kmeans,hierarchical,gmm

Three parts, each measured step a fresh process, one at a time (as `benchmarks/run.py`):

* **agreement** (the acceptance criterion of the Spark engine beyond ``fit_sample``):
  `custseg.sampledata.generate_customers(200,000, 4, random_state=0)` written as Parquet, then
  ``segment(path)`` with ``engine="local"`` and with ``engine="spark",
  spark_master="local[2]"``, default settings otherwise (``--algorithms`` restricts both
  engines alike). 200,000 is more than ``fit_sample`` (100,000): the Spark run fits on a
  seeded sample of 100,000 customers on the driver and assigns every customer on Spark
  (``mapInPandas``); the local run reads all 200,000 and fits on its own samples.
  Each result is written (``Result.write(out, report=False)``): ``segments.csv`` locally,
  ``segments.parquet/`` on Spark. Reported: the chosen algorithm and k of each engine (the
  same k is required), the ARI between the two engines' labels over every customer matched
  on ``customer_id`` (target >= 0.95), and the ARI of each against the planted segments
  (target >= 0.9).
* **scale**: 1,000,000 generated customers (Parquet) through the command line,
  ``custseg run FILE --out DIR --no-report`` with the local engine, then ``--engine spark
  --spark-master local[1]`` and ``local[2]``; each stopped past 15 minutes. Checks that
  each Spark run wrote ``segments.parquet/`` with every customer the ledger kept (rows read
  minus rows dropped in ``summary.json``), each id once; ARI against the planted segments
  and against the local run.
* **phases**: where the time goes at 1,000,000: ``segment()`` on the same file, local and
  Spark local[2], with the seconds between the progress callback's stages (the command
  line prints none).

How it measures: wall time and CPU time come from ``os.wait4`` of the child process (CPU
of the child and the processes it reaped), and its ``ru_maxrss`` is reported as the
"getrusage" peak. Because ``ru_maxrss`` of a child also covers the children it reaped, and
the PySpark driver may reap its JVM, a sampler also reads ``/proc`` every 0.25 s for the
whole process tree: ``VmHWM`` (the kernel's own peak resident set) of the driver (the
Python process started), of the ``java`` child (the JVM), and of the Python workers the
JVM starts for ``mapInPandas``; the largest sum of the proportional set size (``Pss`` of
``smaps_rollup``: pages the forked workers share are counted once) of the driver, the JVM
and the workers at one moment ("tree peak", sampled, so a lower bound); and the CPU time
of every process of the tree as last seen ("CPU s (tree)": JVM and workers included,
whether reaped or not; the last 0.25 s of each may be missing).

Nothing here changes custseg: the children run this checkout's ``src/`` (``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SRC = ROOT / "src"
PLANTED_K = 4
SEED = 0
SPARK_MASTER = "local[2]"

MODES = {
    "full": {
        "agree_n": 200_000,
        "scale_n": 1_000_000,
        "scale_masters": ["local[1]", "local[2]"],
        "fit_sample": None,          # custseg's default (100,000)
        "limit": 900.0,              # seconds per measured run (15 minutes)
    },
    "smoke": {
        "agree_n": 20_000,
        "scale_n": 40_000,
        "scale_masters": ["local[1]", "local[2]"],
        "fit_sample": 5_000,         # below the sizes: the same sample + mapInPandas path
        "limit": 300.0,
    },
}
TARGET_AGREEMENT = 0.95
TARGET_TRUTH = 0.9
SAMPLE_EVERY_S = 0.25
MIB = 1024.0


# --------------------------------------------------------------------------- the process tree


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read().decode("ascii", "replace")
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        rest = stat[stat.rfind(")") + 2:].split()
        children.setdefault(int(rest[1]), []).append(int(entry.name))
    return children


def _tree(root: int) -> list[int]:
    children, out, todo = _children_map(), [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


_TICK = os.sysconf("SC_CLK_TCK")


def _process(pid: int) -> dict | None:
    """Name, VmRSS, VmHWM (MiB) and CPU seconds of one process, or None if it is gone."""
    info: dict = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key == "Name":
                    info["name"] = value.strip()
                elif key in ("VmRSS", "VmHWM"):
                    info[key] = int(value.split()[0]) / MIB
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
        fields = stat[stat.rfind(")") + 2:].split()
        info["cpu_s"] = (int(fields[11]) + int(fields[12])) / _TICK     # utime, stime
    except (OSError, ValueError, IndexError):
        return None
    try:      # proportional set size: pages shared between forked workers counted once
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    info["Pss"] = int(line.split()[1]) / MIB
                    break
    except (OSError, ValueError):
        pass
    return info if "VmRSS" in info else None      # a zombie has no memory lines


@dataclass
class TreeSampler:
    """Samples the process tree under ``root`` until told to stop."""

    root: int
    seen: dict = field(default_factory=dict)      # pid -> {"name", "kind", "hwm", "cpu_s"}
    tree_peak_mb: float = 0.0
    samples: int = 0

    def sample(self) -> None:
        total = 0.0
        for pid in _tree(self.root):
            info = _process(pid)
            if info is None:
                continue
            name = info.get("name") or "?"
            # By the name now: spark-submit is a shell script that execs java (exec gives
            # the process a new name and a new VmHWM).
            kind = ("driver" if pid == self.root else "jvm" if name == "java"
                    else "worker" if name.startswith("python") else "other")
            entry = self.seen.setdefault(pid, {"name": name, "kind": kind, "hwm": 0.0, "cpu_s": 0.0})
            if entry["name"] != name:
                entry.update(name=name, kind=kind, hwm=0.0)
            entry["hwm"] = max(entry["hwm"], info.get("VmHWM", info["VmRSS"]))
            entry["cpu_s"] = max(entry["cpu_s"], info["cpu_s"])
            if kind != "other":     # not the shell scripts, nor a JVM's spawn helper before its exec
                total += info.get("Pss", info["VmRSS"])
        self.tree_peak_mb = max(self.tree_peak_mb, total)
        self.samples += 1

    def summary(self) -> dict:
        def of(kind):
            return [e for e in self.seen.values() if e["kind"] == kind]

        jvm, workers, driver = of("jvm"), of("worker"), of("driver")
        return {
            "driver_hwm_mb": max((e["hwm"] for e in driver), default=None),
            "jvm_hwm_mb": max((e["hwm"] for e in jvm), default=None),
            "jvm_processes": len(jvm),     # the JVM, and short ones (java -version, Spark's launcher)
            "worker_hwm_mb": max((e["hwm"] for e in workers), default=None),
            "worker_processes": len(workers),
            "worker_names": sorted({e["name"] for e in workers}),
            "tree_peak_mb": self.tree_peak_mb,
            "tree_cpu_s": sum(e["cpu_s"] for e in self.seen.values()),
            "jvm_cpu_s": sum(e["cpu_s"] for e in jvm),
            "samples": self.samples,
            "processes": sorted(({k: (round(v, 1) if isinstance(v, float) else v) for k, v in e.items()}
                                 for e in self.seen.values()), key=lambda e: -e["hwm"]),
        }


@dataclass
class Step:
    """One measured process."""

    name: str
    status: str = "ok"
    wall_s: float | None = None
    cpu_s: float | None = None
    rss_mb: float | None = None          # ru_maxrss of the child from os.wait4
    returncode: int | None = None
    tree: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)
    phases: list = field(default_factory=list)
    load: tuple = ()
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                                       if p and Path(p).resolve() != SRC])
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def measure(name: str, cmd: list[str], logs: Path, *, limit: float | None = None, quiet: bool = False) -> Step:
    """Run ``cmd`` in a new process group; wall, CPU and ru_maxrss from ``os.wait4``, and
    the process tree's peaks from `TreeSampler`. Past ``limit`` seconds the group and every
    process of the tree (only processes this call started) are killed."""
    logs.mkdir(parents=True, exist_ok=True)
    slug = "".join(ch if ch.isalnum() else "-" for ch in name).strip("-")[:80]
    out_path, err_path = logs / f"{slug}.out", logs / f"{slug}.err"
    step = Step(name)
    load_before = os.getloadavg()[0]
    if not quiet:
        print(f"  ... {name}", flush=True)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=ROOT,
                                env=child_env(), start_new_session=True)
        sampler = TreeSampler(proc.pid)
        finished: dict = {}

        def reap() -> None:
            _, status, usage = os.wait4(proc.pid, 0)
            finished.update(end=time.perf_counter(), status=status, usage=usage)

        # Sample before reaping can start: a zombie still has its pid, the tree is gone after.
        sampler.sample()
        waiter = threading.Thread(target=reap, daemon=True)
        waiter.start()
        while waiter.is_alive():
            if limit is not None and time.perf_counter() - start > limit:
                step.status = f"stopped at time limit ({limit / 60:.0f} min)"
                pids = _tree(proc.pid)
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                for pid in pids:                # anything that left the group (setsid)
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                waiter.join()
                break
            sampler.sample()
            waiter.join(SAMPLE_EVERY_S)
        proc.returncode = os.waitstatus_to_exitcode(finished["status"])
    usage = finished["usage"]
    step.wall_s = finished["end"] - start
    step.cpu_s = usage.ru_utime + usage.ru_stime
    step.rss_mb = usage.ru_maxrss / 1024.0
    step.returncode = proc.returncode
    step.tree = sampler.summary()
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
        lines = [ln.strip() for ln in err_path.read_text(encoding="utf-8", errors="replace").splitlines()
                 if ln.strip()]
        named = [ln for ln in lines if ("Error" in ln or "error:" in ln or "Exception" in ln)
                 and not ln.startswith("File ")]
        step.error = (named or lines or [""])[-1][:300]
        step.status = f"failed (exit {proc.returncode})"
    if not quiet:
        t = step.tree
        print(f"      {step.status}; wall {step.wall_s:.1f} s, CPU {step.cpu_s:.1f} s (tree {t['tree_cpu_s']:.1f} s), "
              f"getrusage peak {step.rss_mb:.0f} MiB, driver VmHWM {_fmt(t['driver_hwm_mb'], 0)} MiB, "
              f"JVM VmHWM {_fmt(t['jvm_hwm_mb'], 0)} MiB, tree peak {t['tree_peak_mb']:.0f} MiB, "
              f"load {step.load[0]}->{step.load[1]}", flush=True)
        if step.error:
            print(f"      {step.error}", flush=True)
    return step


def task(name: str, **arguments) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--task", name, json.dumps(arguments)]


def custseg_cmd(*arguments: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from custseg.cli import main; main(sys.argv[1:])", *arguments]


# --------------------------------------------------------------------------- tasks (child processes)


def emit(what: str, /, **values) -> None:
    print("BENCH " + what + " " + json.dumps(values, default=lambda v: v.item() if hasattr(v, "item") else str(v)),
          flush=True)


def task_generate(n: int, k: int, seed: int, path: str, truth: str) -> None:
    from custseg.sampledata import generate_customers

    start = time.perf_counter()
    table, segment = generate_customers(n, k, random_state=seed)
    table.to_parquet(path, index=False)
    table[["customer_id"]].assign(segment=segment.to_numpy()).to_parquet(truth, index=False)
    emit("result", work_s=time.perf_counter() - start, rows=len(table), columns=list(table.columns))


def task_segment(path: str, engine: str, out: str, master: str | None = None, algorithms: list | None = None,
                 fit_sample: int | None = None) -> None:
    """``segment(path, engine=...)`` then ``Result.write(out, report=False)``, timing each
    stage from the progress callback (a phase line each time the step changes)."""
    start = time.perf_counter()
    import custseg
    from custseg import segment

    imported = time.perf_counter()
    last = {"step": "import + start", "at": start}

    def stage(step: str) -> str:
        for prefix, name in (("starting Spark", "Spark session start"), ("reading customers on Spark", "read + sample on Spark"),
                             ("reading", "read"), ("cleaning", "clean + features"), ("fitting", "search (fit, score)"),
                             ("fitted", "search (fit, score)"), ("measuring stability", "stability"),
                             ("profiling", "profile"), ("putting every customer", "assign every customer on Spark")):
            if step.startswith(prefix):
                return name
        return step

    phases: list[dict] = []

    def progress(step: str, done, total) -> None:
        now, name = time.perf_counter(), stage(step)
        if name != last["step"]:
            phases.append({"phase": last["step"], "seconds": round(now - last["at"], 3)})
            emit("phase", phase=last["step"], seconds=round(now - last["at"], 3))
            last.update(step=name, at=now)

    overrides: dict = {"engine": engine}
    if master:
        overrides["spark_master"] = master
    if algorithms:
        overrides["algorithms"] = tuple(algorithms)
    if fit_sample:
        overrides["fit_sample"] = int(fit_sample)
    result = segment(path, on_progress=progress, **overrides)
    segmented = time.perf_counter()
    progress("write", 0, 1)
    paths = result.write(out, report=False)
    written = time.perf_counter()
    progress("end", 0, 1)
    chosen = result.chosen
    emit("result", algorithm=chosen["algorithm"], k=chosen["k"], import_s=imported - start,
         segment_s=segmented - imported, write_s=written - segmented, phases=phases,
         custseg_file=custseg.__file__, written=sorted(paths), sampling=result.summary.get("sampling"))


def _labels(folder: Path):
    """A run's labels by customer id: segments.parquet/ when written, else segments.csv."""
    import pandas as pd

    parquet, csv = folder / "segments.parquet", folder / "segments.csv"
    if parquet.exists():
        frame = pd.read_parquet(parquet, columns=["customer_id", "segment"])
        source = "segments.parquet"
    else:
        frame = pd.read_csv(csv, usecols=["customer_id", "segment"], dtype={"customer_id": "string"})
        source = "segments.csv"
    frame["customer_id"] = frame["customer_id"].astype("string")
    return frame, source


def task_evaluate(truth: str, runs: dict) -> None:
    """ARI of each run against the planted segments, and of each pair of runs against each
    other, over customers matched on ``customer_id``; the rows each run wrote against its
    ledger (summary.json)."""
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    planted = pd.read_parquet(truth)
    planted["customer_id"] = planted["customer_id"].astype("string")
    planted = planted.set_index("customer_id")["segment"]
    frames, out = {}, {"runs": {}, "pairs": {}}
    for name, folder in runs.items():
        folder = Path(folder)
        frame, source = _labels(folder)
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        ledger = summary["input"]
        dropped = sum(int(v) for v in (ledger.get("rows_dropped") or {}).values())
        ids = frame["customer_id"]
        matched = frame.set_index("customer_id")["segment"]
        common = matched.index.intersection(planted.index)
        out["runs"][name] = {
            "source": source, "rows": len(frame), "unique_ids": int(ids.nunique()),
            "rows_read": ledger["rows_read"], "rows_used": ledger["rows_used"], "rows_dropped": dropped,
            "rows_match_ledger": len(frame) == ledger["rows_read"] - dropped == ledger["rows_used"],
            "algorithm": summary["chosen"]["algorithm"], "k": summary["chosen"]["k"],
            "sizes": {str(s["id"]): s["size"] for s in summary["segments"]},
            "ari_truth": adjusted_rand_score(planted.loc[common].to_numpy(), matched.loc[common].to_numpy()),
            "matched_truth": len(common),
            "sampling_driver": (summary.get("sampling") or {}).get("driver"),
            "sampling_fit": (summary.get("sampling") or {}).get("fit"),
        }
        frames[name] = matched
    names = list(frames)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = frames[a].index.intersection(frames[b].index)
            x, y = frames[a].loc[common].to_numpy(), frames[b].loc[common].to_numpy()
            crosstab = pd.crosstab(x, y)
            out["pairs"][f"{a} vs {b}"] = {
                "ari": adjusted_rand_score(x, y), "matched": len(common),
                "only_first": len(frames[a]) - len(common), "only_second": len(frames[b]) - len(common),
                # customers outside the best one-to-one match of segments (a lower bound of moves)
                "off_diagonal": int(len(common) - crosstab.max(axis=1).sum()),
            }
    emit("result", **out)


TASKS = {"generate": task_generate, "segment": task_segment, "evaluate": task_evaluate}


# --------------------------------------------------------------------------- the benchmark


class Bench:
    def __init__(self, mode: str, out: Path, algorithms: list[str] | None):
        self.mode, self.cfg, self.out, self.algorithms = mode, MODES[mode], out, algorithms
        self.data, self.logs, self.runs = out / "data", out / "logs", out / "runs"
        for folder in (self.data, self.logs, self.runs):
            folder.mkdir(parents=True, exist_ok=True)
        self.agreement: dict = {}
        self.scale: dict = {}
        self.phases: dict = {}
        self.checks: list[tuple[str, bool, str]] = []

    def check(self, name: str, passed: bool, detail: str) -> None:
        self.checks.append((name, bool(passed), detail))
        print(f"  [{'PASS' if passed else 'FAIL'}] {name}: {detail}", flush=True)

    def helper(self, name: str, cmd: list[str]) -> Step:
        step = measure(name, cmd, self.logs, quiet=True)
        if not step.ok:
            raise SystemExit(f"benchmark helper {name!r} failed: {step.status} {step.error} (logs in {self.logs})")
        return step

    def customers(self, n: int) -> tuple[Path, Path]:
        path, truth = self.data / f"customers-{n}.parquet", self.data / f"customers-{n}-truth.parquet"
        if not (path.exists() and truth.exists()):
            step = self.helper(f"generate {n} customers", task("generate", n=n, k=PLANTED_K, seed=SEED,
                                                               path=str(path), truth=str(truth)))
            print(f"  generated {n:,} customers ({PLANTED_K} planted segments, seed {SEED}) in {step.wall_s:.1f} s",
                  flush=True)
        return path, truth

    def config_file(self) -> list[str]:
        """``--config`` for the command line when the mode lowers fit_sample (smoke)."""
        if not self.cfg["fit_sample"]:
            return []
        path = self.data / "fit_sample.toml"
        path.write_text(f"[custseg]\nfit_sample = {self.cfg['fit_sample']}\n", encoding="utf-8")
        return ["--config", str(path)]


def _row(step: Step, **extra) -> dict:
    row = {"status": step.status, "wall_s": step.wall_s, "cpu_s": step.cpu_s, "rss_mb": step.rss_mb,
           "load": step.load, "error": step.error, **step.tree, **extra}
    return row


def agreement(bench: Bench) -> None:
    n = bench.cfg["agree_n"]
    print(f"\n== agreement: {n:,} customers, local engine vs Spark {SPARK_MASTER}", flush=True)
    path, truth = bench.customers(n)
    runs = {}
    for engine, master in (("local", None), ("spark", SPARK_MASTER)):
        name = "local" if engine == "local" else f"spark {master}"
        out = bench.runs / f"agree-{n}-{engine}"
        shutil.rmtree(out, ignore_errors=True)
        step = measure(f"agreement {n}: segment() {name}", task(
            "segment", path=str(path), engine=engine, out=str(out), master=master, algorithms=bench.algorithms,
            fit_sample=bench.cfg["fit_sample"]), bench.logs, limit=bench.cfg["limit"])
        r = step.result
        bench.agreement.setdefault("rows", []).append(_row(
            step, engine=name, n=n, algorithm=r.get("algorithm"), k=r.get("k"), segment_s=r.get("segment_s"),
            import_s=r.get("import_s"), write_s=r.get("write_s"), phases=r.get("phases"),
            custseg_file=r.get("custseg_file")))
        if step.ok:
            runs[name] = str(out)
    bench.agreement.update(n=n, algorithms=bench.algorithms or "default")
    if len(runs) < 2:
        bench.check(f"agreement at {n:,}", False, "a run did not finish: " + "; ".join(
            f"{r['engine']}: {r['status']} {r['error']}" for r in bench.agreement["rows"] if r["status"] != "ok"))
        return
    ev = bench.helper(f"evaluate agreement {n}", task("evaluate", truth=str(truth), runs=runs)).result
    bench.agreement["evaluation"] = ev
    for row in bench.agreement["rows"]:
        info = ev["runs"].get(row["engine"], {})
        row.update(ari_truth=info.get("ari_truth"), rows_written=info.get("rows"), source=info.get("source"))
    local, spark = ev["runs"]["local"], ev["runs"][f"spark {SPARK_MASTER}"]
    pair = ev["pairs"][f"local vs spark {SPARK_MASTER}"]
    bench.check(f"same k at {n:,}", local["k"] == spark["k"],
                f"local {local['algorithm']} k={local['k']}, Spark {spark['algorithm']} k={spark['k']}")
    bench.check(f"ARI local vs Spark at {n:,} >= {TARGET_AGREEMENT}", pair["ari"] >= TARGET_AGREEMENT,
                f"ARI {pair['ari']:.6f} over {pair['matched']:,} customers matched on id "
                f"({pair['only_first']} only local, {pair['only_second']} only Spark; "
                f"{pair['off_diagonal']:,} outside the best segment match)")
    for name, info in (("local", local), ("Spark", spark)):
        bench.check(f"{name} ARI vs planted at {n:,} >= {TARGET_TRUTH}", info["ari_truth"] >= TARGET_TRUTH,
                    f"ARI {info['ari_truth']:.6f} over {info['matched_truth']:,} customers")
    bench.check(f"Spark wrote every customer at {n:,}", spark["rows_match_ledger"] and spark["unique_ids"] == spark["rows"],
                f"segments.parquet {spark['rows']:,} rows ({spark['unique_ids']:,} ids); ledger: read "
                f"{spark['rows_read']:,}, dropped {spark['rows_dropped']:,}, used {spark['rows_used']:,}")


def scale(bench: Bench) -> None:
    n = bench.cfg["scale_n"]
    print(f"\n== whole run: {n:,} customers, custseg run --no-report: local vs Spark "
          f"{', '.join(bench.cfg['scale_masters'])}", flush=True)
    path, truth = bench.customers(n)
    runs = {}
    extra = bench.config_file()
    if bench.algorithms:
        extra += ["--algorithms", ",".join(bench.algorithms)]
    for master in [None, *bench.cfg["scale_masters"]]:
        name = "local" if master is None else f"spark {master}"
        out = bench.runs / f"scale-{n}-{'local' if master is None else 'spark' + master.strip('local[]')}"
        shutil.rmtree(out, ignore_errors=True)
        args = ["run", str(path), "--out", str(out), "--no-report", *extra]
        if master:
            args += ["--engine", "spark", "--spark-master", master]
        step = measure(f"whole run {n}: custseg run {name}", custseg_cmd(*args), bench.logs, limit=bench.cfg["limit"])
        bench.scale.setdefault("rows", []).append(_row(step, engine=name, command="custseg " + " ".join(
            a if a != str(path) else path.name for a in args)))
        if step.ok:
            runs[name] = str(out)
    bench.scale.update(n=n, algorithms=bench.algorithms or "default")
    if not runs:
        bench.check(f"whole run at {n:,}", False, "no run finished")
        return
    ev = bench.helper(f"evaluate whole run {n}", task("evaluate", truth=str(truth), runs=runs)).result
    bench.scale["evaluation"] = ev
    for row in bench.scale["rows"]:
        info = ev["runs"].get(row["engine"])
        if info:
            row.update(algorithm=info["algorithm"], k=info["k"], ari_truth=info["ari_truth"],
                       rows_written=info["rows"], unique_ids=info["unique_ids"], source=info["source"],
                       rows_match_ledger=info["rows_match_ledger"], rows_read=info["rows_read"],
                       rows_dropped=info["rows_dropped"])
            pair = ev["pairs"].get(f"local vs {row['engine']}")
            if pair:
                row["ari_local"] = pair["ari"]
    for row in bench.scale["rows"]:
        if not row["engine"].startswith("spark"):
            continue
        if row["status"] != "ok":
            bench.check(f"{row['engine']} at {n:,}", False, f"{row['status']} {row['error']}")
            continue
        bench.check(f"{row['engine']} wrote every customer at {n:,}",
                    row["source"] == "segments.parquet" and row["rows_match_ledger"]
                    and row["unique_ids"] == row["rows_written"],
                    f"{row['source']} {row['rows_written']:,} rows, {row['unique_ids']:,} ids; ledger read "
                    f"{row['rows_read']:,}, dropped {row['rows_dropped']:,}")


def phases(bench: Bench) -> None:
    """Where the time goes at the whole-run size: ``segment()`` (not the command line, which
    prints no stage times) on the same Parquet file, local and Spark local[2]."""
    n = bench.cfg["scale_n"]
    print(f"\n== stages: segment() on {n:,} customers, local vs Spark {SPARK_MASTER}", flush=True)
    path, _ = bench.customers(n)
    for engine, master in (("local", None), ("spark", SPARK_MASTER)):
        name = "local" if engine == "local" else f"spark {master}"
        out = bench.runs / f"phases-{n}-{engine}"
        shutil.rmtree(out, ignore_errors=True)
        step = measure(f"stages {n}: segment() {name}", task(
            "segment", path=str(path), engine=engine, out=str(out), master=master, algorithms=bench.algorithms,
            fit_sample=bench.cfg["fit_sample"]), bench.logs, limit=bench.cfg["limit"])
        r = step.result
        bench.phases.setdefault("rows", []).append(_row(
            step, engine=name, n=n, algorithm=r.get("algorithm"), k=r.get("k"), segment_s=r.get("segment_s"),
            import_s=r.get("import_s"), write_s=r.get("write_s"), phases=r.get("phases")))
        bench.check(f"segment() {name} at {n:,}", step.ok, f"{step.status} {step.error}".strip())


# --------------------------------------------------------------------------- reporting


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _wall(row: dict) -> str:
    text = _fmt(row.get("wall_s"), 1)
    return "> " + text if str(row.get("status", "")).startswith("stopped") else text


def _load(row: dict) -> str:
    return "→".join(str(x) for x in row.get("load") or ()) or "—"


def agreement_table(part: dict) -> list[str]:
    if not part.get("rows"):
        return []
    lines = [
        f"Agreement: {part['n']:,} generated customers ({PLANTED_K} planted segments, seed {SEED}), Parquet; "
        f"`segment(path, engine=...)` + `Result.write(out, report=False)` in a fresh process each; "
        f"algorithms: {part['algorithms'] if isinstance(part['algorithms'], str) else ', '.join(part['algorithms'])}.",
        "",
        "| engine | status | wall s | segment() s | write s | CPU s (tree) | getrusage peak MiB | driver VmHWM MiB "
        "| JVM VmHWM MiB | workers VmHWM MiB | tree peak MiB | chosen | k | ARI vs planted | rows written | load |",
        "|" + "---|" * 16,
    ]
    for r in part["rows"]:
        lines.append("| " + " | ".join([
            r["engine"], r["status"], _wall(r), _fmt(r.get("segment_s"), 1), _fmt(r.get("write_s"), 1),
            f"{_fmt(r.get('cpu_s'), 1)} ({_fmt(r.get('tree_cpu_s'), 1)})", _fmt(r.get("rss_mb"), 0),
            _fmt(r.get("driver_hwm_mb"), 0), _fmt(r.get("jvm_hwm_mb"), 0),
            (f"{_fmt(r.get('worker_hwm_mb'), 0)} (x{r.get('worker_processes')})" if r.get("worker_processes") else "—"),
            _fmt(r.get("tree_peak_mb"), 0), _fmt(r.get("algorithm")), _fmt(r.get("k")), _fmt(r.get("ari_truth"), 6),
            f"{_fmt(r.get('rows_written'))} ({r.get('source', '—')})", _load(r),
        ]) + " |")
    ev = part.get("evaluation")
    if ev:
        for name, pair in ev["pairs"].items():
            lines += ["", f"ARI {name}: **{pair['ari']:.6f}** over {pair['matched']:,} customers matched on "
                          f"`customer_id` ({pair['only_first']} only in the first, {pair['only_second']} only in the "
                          f"second; {pair['off_diagonal']:,} outside the best one-to-one match of segments)."]
    return lines


PHASE_ORDER = ("import + start", "Spark session start", "read", "read + sample on Spark", "clean + features",
               "search (fit, score)", "stability", "profile", "assign every customer on Spark", "write")


def phase_table(rows: list[dict]) -> list[str]:
    """Seconds of each stage inside the ``segment()`` processes (from the progress callback)."""
    rows = [r for r in rows if r.get("phases")]
    if not rows:
        return []
    seen = [p["phase"] for r in rows for p in r["phases"]]
    names = [n for n in PHASE_ORDER if n in seen] + [n for n in dict.fromkeys(seen) if n not in PHASE_ORDER]
    lines = ["| customers | engine | process wall s | " + " | ".join(names) + " | load |",
             "|" + "---|" * (4 + len(names))]
    for r in rows:
        got: dict = {}
        for p in r["phases"]:
            got[p["phase"]] = got.get(p["phase"], 0.0) + p["seconds"]
        lines.append(f"| {r.get('n', 0):,} | {r['engine']} | {_wall(r)} | "
                     + " | ".join(_fmt(got.get(n), 1) for n in names) + f" | {_load(r)} |")
    return lines


def scale_table(part: dict) -> list[str]:
    if not part.get("rows"):
        return []
    lines = [
        f"Whole run: {part['n']:,} generated customers ({PLANTED_K} planted segments, seed {SEED}), Parquet; "
        f"`custseg run FILE --out DIR --no-report` in a fresh process each (Spark: `--engine spark "
        f"--spark-master local[N]`); algorithms: "
        f"{part['algorithms'] if isinstance(part['algorithms'], str) else ', '.join(part['algorithms'])}.",
        "",
        "| run | status | wall s | CPU s (tree) | driver peak MiB (getrusage) | driver VmHWM MiB | JVM VmHWM MiB "
        "| workers VmHWM MiB | tree peak MiB | chosen | k | ARI vs planted | ARI vs local | rows written | load |",
        "|" + "---|" * 15,
    ]
    for r in part["rows"]:
        lines.append("| " + " | ".join([
            r["engine"], r["status"] + (f": {r['error']}" if r.get("error") else ""), _wall(r),
            f"{_fmt(r.get('cpu_s'), 1)} ({_fmt(r.get('tree_cpu_s'), 1)})", _fmt(r.get("rss_mb"), 0),
            _fmt(r.get("driver_hwm_mb"), 0), _fmt(r.get("jvm_hwm_mb"), 0),
            (f"{_fmt(r.get('worker_hwm_mb'), 0)} (x{r.get('worker_processes')})" if r.get("worker_processes") else "—"),
            _fmt(r.get("tree_peak_mb"), 0), _fmt(r.get("algorithm")), _fmt(r.get("k")), _fmt(r.get("ari_truth"), 6),
            _fmt(r.get("ari_local"), 6) if r["engine"] != "local" else "—",
            (f"{_fmt(r.get('rows_written'))} of {_fmt(r.get('rows_read'))} read, {_fmt(r.get('rows_dropped'))} "
             f"dropped ({r.get('source')})" if r.get("rows_written") is not None else "—"),
            _load(r),
        ]) + " |")
    return lines


def machine() -> dict:
    sys.path.insert(0, str(HERE))
    import run as bench_run          # benchmarks/run.py: the same machine description

    info = bench_run.machine()
    from importlib.metadata import PackageNotFoundError, version

    for package in ("pyspark", "pyarrow"):
        try:
            info["versions"][package] = version(package)
        except PackageNotFoundError:
            info["versions"][package] = None
    try:
        done = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=60)
        info["java"] = (done.stderr or done.stdout).splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        info["java"] = None
    info["load_start"] = [round(x, 2) for x in os.getloadavg()]
    return info


def write_outputs(bench: Bench, info: dict, elapsed: float, rendered_from: Path | None = None) -> str:
    """Write spark_run.md and spark_run.json into the output folder; from ``--render FILE.json``,
    only FILE.md beside it."""
    text = [
        f"# Spark engine: whole run ({bench.mode} mode)",
        "",
        f"{info['date']}; {info['nproc']} CPUs ({info.get('cpu', '?')}), {info.get('memory_gib', '?')} GiB; "
        f"Python {info['python']}; " + ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
        + f"; {info.get('java')}; custseg at git {info.get('git')}. Load average at the start "
        f"{info['load_start']}, at the end {info.get('load_end')}. Total {elapsed / 60:.1f} min."
        + (f" The phases part ran separately ({info['phases_part']['date']}, load {info['phases_part']['load_start']}"
           f" to {info['phases_part']['load_end']})." if info.get("phases_part") else ""),
        "",
        *agreement_table(bench.agreement),
        "",
        *scale_table(bench.scale),
        "",
        *(["Where the time goes inside a `segment()` process (seconds between the progress callback's stages; "
           "'search' is every candidate's fit and scores on the driver):", "",
           *phase_table(bench.agreement.get("rows", []) + bench.phases.get("rows", [])), ""]
          if phase_table(bench.agreement.get("rows", []) + bench.phases.get("rows", [])) else []),
        "## Checks",
        "",
        *[f"- {'PASS' if ok else 'FAIL'} {name}: {detail}" for name, ok, detail in bench.checks],
        "",
    ]
    markdown = "\n".join(text)
    if rendered_from is not None:
        rendered_from.with_suffix(".md").write_text(markdown, encoding="utf-8")
        return markdown
    (bench.out / "spark_run.md").write_text(markdown, encoding="utf-8")
    (bench.out / "spark_run.json").write_text(json.dumps(
        {"mode": bench.mode, "machine": info, "elapsed_s": elapsed, "agreement": bench.agreement,
         "scale": bench.scale, "phases": bench.phases, "checks": [{"name": n, "passed": ok, "detail": d} for n, ok, d in bench.checks]},
        indent=1, default=str), encoding="utf-8")
    return markdown


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--task"]:
        TASKS[argv[1]](**json.loads(argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="small sizes and fit_sample 5,000 (minutes)")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for data, logs, runs, spark_run.md and spark_run.json "
                             "(default /tmp/custseg-bench/spark-MODE)")
    parser.add_argument("--only", default="agreement,scale,phases",
                        help="comma-separated parts: agreement, scale, phases")
    parser.add_argument("--algorithms", default=None,
                        help="comma-separated algorithms for every run (default: custseg's default set)")
    parser.add_argument("--sizes", default=None, help=argparse.SUPPRESS)   # JSON overrides of MODES
    parser.add_argument("--render", type=Path, default=None,
                        help="a saved spark_run.json: write its tables as the .md beside it, nothing rerun")
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "full"
    if args.sizes:
        MODES[mode] = {**MODES[mode], **json.loads(args.sizes)}
    algorithms = [a.strip() for a in args.algorithms.split(",") if a.strip()] if args.algorithms else None
    if args.render:
        saved = json.loads(args.render.read_text(encoding="utf-8"))
        bench = Bench.__new__(Bench)
        bench.mode, bench.out = saved["mode"], args.render.parent
        bench.agreement, bench.scale = saved["agreement"], saved["scale"]
        bench.phases = saved.get("phases") or {}
        bench.checks = [(c["name"], c["passed"], c["detail"]) for c in saved["checks"]]
        print(write_outputs(bench, saved["machine"], saved["elapsed_s"], rendered_from=args.render))
        return 0
    out = (args.out or Path("/tmp/custseg-bench") / f"spark-{mode}").resolve()
    bench = Bench(mode, out, algorithms)
    info = machine()
    print(f"Spark engine whole-run benchmark, {mode} mode -> {out}; load {info['load_start']}", flush=True)
    start = time.perf_counter()
    parts = {"agreement": agreement, "scale": scale, "phases": phases}
    for name in [p.strip() for p in args.only.split(",") if p.strip()]:
        parts[name](bench)
    info["load_end"] = [round(x, 2) for x in os.getloadavg()]
    markdown = write_outputs(bench, info, time.perf_counter() - start)
    print("\n" + markdown)
    failed = [name for name, ok, _ in bench.checks if not ok]
    if failed:
        print(f"FAILED CHECKS: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
