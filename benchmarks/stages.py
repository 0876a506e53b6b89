"""Where one run's time goes: CPU and wall seconds per stage, in one process.

    python benchmarks/stages.py ../shared/data/mall_customers.csv [--out DIR]

Times the imports (custseg's pipeline; scikit-learn's and SciPy's modules the search uses;
Matplotlib and the reporting modules), ``segment`` and, inside it, the search's steps (fitting
and scoring each algorithm, the two-way separations, the stability refits, the choice), then
writing the outputs without and with the report. The steps are timed by wrapping the
functions by name in their modules for the length of this process only; a step called inside
another is counted in both. CPU time (``time.process_time``) is shown beside wall time: on a
shared machine it is the steadier of the two. Run it with one BLAS/OpenMP thread, as users
do by default on this project's machine (``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from collections import defaultdict

#: (module, function name, label) of the steps timed inside ``segment``.
STEPS = (
    ("custseg.pipeline", "search", "search"),
    ("custseg.segmenting.search", "_fit_and_score", "  fitting and scoring every candidate"),
    ("custseg.segmenting.search", "kmeans_candidates", "    K-Means fits (lazy: counted in scoring)"),
    ("custseg.segmenting.search", "ward_candidates", "    Ward fits"),
    ("custseg.segmenting.search", "gmm_candidates", "    Gaussian mixture fits"),
    ("custseg.segmenting.search", "hdbscan_candidates", "    HDBSCAN fits"),
    ("custseg.segmenting.search", "dbscan_candidates", "    DBSCAN fits"),
    ("custseg.segmenting.search", "NeighbourSample", "    the wcnn neighbour graph (once)"),
    ("custseg.segmenting.scores", "sampled_silhouette", "    silhouettes"),
    ("custseg.segmenting.search", "_two_way_separations", "  two-way separations"),
    ("custseg.segmenting.search", "choose", "  the choice (with the refits it asks for)"),
    ("custseg.segmenting.stability", "segment_stability", "  stability refits"),
)


def _wrap(module, name: str, label: str, totals: dict) -> None:
    function = getattr(module, name)

    @functools.wraps(function)
    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            totals[label][0] += time.perf_counter() - wall
            totals[label][1] += time.process_time() - cpu

    setattr(module, name, timed)


def _timed(label: str, rows: list, action):
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    rows.append((label, time.perf_counter() - wall, time.process_time() - cpu))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--out", help="output folder (default: a temporary one)")
    args = parser.parse_args(argv)
    import importlib

    rows: list = []
    pipeline = _timed("import custseg.pipeline", rows, lambda: importlib.import_module("custseg.pipeline"))
    _timed("import the search's scikit-learn and SciPy modules", rows, lambda: [
        importlib.import_module(m) for m in ("sklearn.cluster", "sklearn.neighbors", "sklearn.mixture",
                                             "sklearn.metrics", "scipy.cluster.hierarchy")])
    _timed("import Matplotlib's figure and Agg backend, the reporting modules", rows, lambda: [
        importlib.import_module(m) for m in ("matplotlib.figure", "matplotlib.backends.backend_agg",
                                             "custseg.reporting.report")])
    totals: dict = defaultdict(lambda: [0.0, 0.0])
    for module, name, label in STEPS:
        _wrap(importlib.import_module(module), name, label, totals)
    result = _timed("segment", rows, lambda: pipeline.segment(args.file))
    with tempfile.TemporaryDirectory() as folder:
        out = args.out or folder
        _timed("write without the report", rows, lambda: result.write(out, report=False))
        _timed("write with the report", rows, lambda: result.write(out))
    print(f"{'stage':70s} {'wall s':>7s} {'CPU s':>7s}")
    for label, wall, cpu in rows:
        print(f"{label:70s} {wall:7.2f} {cpu:7.2f}")
        if label == "segment":
            for _module, _name, step in STEPS:
                if step in totals:
                    print(f"  {step:68s} {totals[step][0]:7.2f} {totals[step][1]:7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
