"""How the drift verdict of ``custseg track`` was calibrated, rerunnable.

    python benchmarks/track_calibration.py                        # K-Means runs, 24 settings (~2 min)
    python benchmarks/track_calibration.py --algorithms kmeans,hierarchical,gmm,hdbscan --k 3,5 --n 2000 --seeds 0,1

For each number of planted segments k, number of customers n and seed, custseg segments
``generate_customers(n, k)`` and tracks four later snapshots against that run:

* fresh: a new sample from the same generator (another seed): nothing changed;
* moved: the same customers, 10% moved from one planted segment to another
  (`custseg.sampledata.move_customers`): customers changed, the segments did not;
* new: a sample with one more planted segment (archetype k + 1);
* small-new: the same customers, 7.5% moved into archetype k + 1.

It prints, per case, the range of the far share (evidence a), of the largest centre shift of a
large segment (b), how often the refit found a new group (c), and how often the verdict was
"segments still hold". The first two cases should hold, the last two should not.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algorithms", default="kmeans")
    parser.add_argument("--k", default="3,4,5,6")
    parser.add_argument("--n", default="2000,6000")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--json", default=None, help="also write every row to this file")
    args = parser.parse_args(argv)

    from custseg import generate_customers, segment, track
    from custseg.sampledata import move_customers
    from custseg.tracking.drift import LARGE_SEGMENT_SHARE

    algorithms = tuple(args.algorithms.split(","))
    grid = [[int(v) for v in text.split(",")] for text in (args.k, args.n, args.seeds)]
    rows = []
    for k, n, seed in itertools.product(*grid):
        table, truth = generate_customers(n, k, random_state=seed)
        run = segment(table, algorithms=algorithms, k_max=8, random_state=0)
        cases = {
            "fresh": generate_customers(n, k, random_state=seed + 100)[0],
            "moved": move_customers(table, truth, {(0, 1): n // 10}, random_state=seed)[0],
            "new": generate_customers(n, k + 1, random_state=seed + 200)[0],
            "small-new": move_customers(table, truth, {(0, k): n // 20, (1, k): n // 40}, random_state=seed)[0],
        }
        for case, data in cases.items():
            drift = track(run, data).drift
            shifts = [abs(s["largest_shift"]) for s in drift["segments"]
                      if s["largest_shift"] is not None and s["share_before"] >= LARGE_SEGMENT_SHARE]
            rows.append({"k": k, "n": n, "seed": seed, "chosen": run.chosen["algorithm"], "case": case,
                         "far": drift["far_share"], "shift": max(shifts or [0.0]),
                         "new_groups": drift["refit"]["new_groups"] if drift["refit"] else 0,
                         "holds": drift["verdict"] == "segments still hold"})
            print(json.dumps(rows[-1]), flush=True)
    print("\n| case | runs | far share | largest shift (SD) | new group found | segments still hold |")
    print("|---|---|---|---|---|---|")
    for case in ("fresh", "moved", "new", "small-new"):
        some = [r for r in rows if r["case"] == case]
        far, shift = [r["far"] for r in some], [r["shift"] for r in some]
        print(f"| {case} | {len(some)} | {min(far):.2%} - {max(far):.2%} | {min(shift):.2f} - {max(shift):.2f} | "
              f"{sum(r['new_groups'] > 0 for r in some)} | {sum(r['holds'] for r in some)} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
