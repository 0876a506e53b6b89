"""The pool's cost at everyday sizes (issue 19, item 4): custseg against the careful script.

    python benchmarks/everyday.py                       # Mall, Wholesale, Telco; 5 repeats
    python benchmarks/everyday.py --tables mall --repeats 3 --json /tmp/everyday.json
    python benchmarks/everyday.py --before /tmp/old/src   # also custseg from another src/, interleaved

In one run, on each real table of ``../shared/data``, three processes are timed, one at a
time and interleaved repeat by repeat (so that a change in the machine's load touches all
three alike): ``../shared/bench/careful_sklearn.py`` (K-Means k = 2..10 with a silhouette,
the baseline of the issue's target), ``custseg run FILE --no-report`` and ``custseg run
FILE`` (with the report). Each is a fresh process, imports included, with one BLAS/OpenMP
thread. Wall time and CPU time (user + system, from ``os.wait4``) are taken from outside
(`benchmarks/run.py`'s ``measure``); the table gives the median of each over the repeats and
custseg's ratio to the careful script. CPU time is shown beside wall time because on a
shared machine the wall time of a process grows with other users' load while its CPU time
hardly does. The target: Mall with the report at most 1.5x the careful script.

With ``--before SRC`` the two custseg commands also run with ``PYTHONPATH=SRC`` (an
earlier version's ``src/``, e.g. from ``git archive``) in the same interleaved loop, so that a
before/after comparison sees the same load.

The careful script drops an id column by name: Wholesale has none, so it gets a copy of the
table with a row number as ``id`` in a temporary folder (custseg reads the original file).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
CAREFUL = HERE.parent.parent / "shared" / "bench" / "careful_sklearn.py"
#: table -> (file under ../shared/data, id column for the careful script, or None: add one).
TABLES = {
    "mall": ("mall_customers.csv", "CustomerID"),
    "wholesale": ("wholesale_customers.csv", None),
    "telco": ("telco_customer_churn.csv", "customerID"),
}
#: The issue's target: custseg with the report at most this many times the careful script.
TARGET_RATIO = 1.5
THREADS = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _run_module():
    sys.path.insert(0, str(HERE))
    import run  # benchmarks/run.py: measure() and custseg_cmd()

    return run


def careful_input(table: str, folder: Path) -> tuple[Path, str]:
    """The file and id column the careful script gets for ``table``."""
    name, id_column = TABLES[table]
    path = DATA / name
    if id_column is not None:
        return path, id_column
    import pandas as pd

    frame = pd.read_csv(path)
    frame.insert(0, "id", range(1, len(frame) + 1))
    copy = folder / f"{table}_with_id.csv"
    frame.to_csv(copy, index=False)
    return copy, "id"


def commands(table: str, folder: Path, run, before: Path | None = None) -> dict[str, list[str]]:
    """The timed commands of one table (with ``before``: also custseg from that ``src/``)."""
    path = DATA / TABLES[table][0]
    careful, id_column = careful_input(table, folder)
    out = str(folder / f"{table}-out")
    steps = {
        "careful": [sys.executable, str(CAREFUL), str(careful), id_column],
        "custseg --no-report": run.custseg_cmd("run", str(path), "--out", out, "--no-report"),
        "custseg (report)": run.custseg_cmd("run", str(path), "--out", out),
    }
    if before is not None:
        for name in ("custseg --no-report", "custseg (report)"):
            steps[f"{name} before"] = ["env", f"PYTHONPATH={before}", *steps[name]]
    return steps


def measure_all(tables: list[str], repeats: int, folder: Path, before: Path | None = None) -> dict:
    """{table: {step: {"wall": [...], "cpu": [...]}}}, repeats interleaved."""
    run = _run_module()
    found: dict = {}
    for table in tables:
        steps = commands(table, folder, run, before)
        found[table] = {name: {"wall": [], "cpu": [], "load": []} for name in steps}
        for repeat in range(repeats):
            for name, cmd in steps.items():
                step = run.measure(f"{table} {name} #{repeat + 1}", cmd, folder / "logs", quiet=True)
                if not step.ok:
                    raise SystemExit(f"{table}: {name} failed: {step.error or step.status}")
                found[table][name]["wall"].append(round(step.wall_s, 3))
                found[table][name]["cpu"].append(round(step.cpu_s, 3))
                found[table][name]["load"].append(step.load[0])
            print(f"  {table}: repeat {repeat + 1}/{repeats} done (load {os.getloadavg()[0]:.1f})", flush=True)
    return found


def table_markdown(found: dict) -> str:
    """The medians and custseg's ratios to the careful script, as a Markdown table."""
    lines = ["| table | careful: wall s (CPU s) | custseg --no-report | ratio | custseg with report | ratio | "
             "target (report <= 1.5x) |", "|---|---|---|---|---|---|---|"]
    for table, steps in found.items():
        med = {name: (statistics.median(v["wall"]), statistics.median(v["cpu"])) for name, v in steps.items()}
        base = med["careful"]

        def cell(name: str) -> tuple[str, str]:
            wall, cpu = med[name]
            return f"{wall:.2f} ({cpu:.2f})", f"{wall / base[0]:.2f}x ({cpu / base[1]:.2f}x)"

        plain, plain_ratio = cell("custseg --no-report")
        report, report_ratio = cell("custseg (report)")
        met = "met" if med["custseg (report)"][0] / base[0] <= TARGET_RATIO else "not met"
        lines.append(f"| {table} | {base[0]:.2f} ({base[1]:.2f}) | {plain} | {plain_ratio} | {report} | "
                     f"{report_ratio} | {met} (wall) |")
        if "custseg (report) before" in med:
            plain, plain_ratio = cell("custseg --no-report before")
            report, report_ratio = cell("custseg (report) before")
            lines.append(f"| {table}, before | (same run) | {plain} | {plain_ratio} | {report} | {report_ratio} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES), help="comma-separated: " + ", ".join(TABLES))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    parser.add_argument("--before", type=Path, help="also time custseg from this src/ folder (PYTHONPATH)")
    args = parser.parse_args(argv)
    os.environ.update(THREADS)
    tables = [t for t in args.tables.split(",") if t]
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        parser.error(f"unknown table(s): {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="custseg-everyday-") as folder:
        found = measure_all(tables, args.repeats, Path(folder), args.before)
    print(f"\nMedians of {args.repeats} repeats, one BLAS/OpenMP thread; wall seconds (CPU seconds):\n")
    print(table_markdown(found))
    if args.json:
        args.json.write_text(json.dumps(found, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
