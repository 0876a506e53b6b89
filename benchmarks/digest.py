"""Digest every output of custseg on the demo and the real tables, to prove a change
leaves them byte for byte as they were.

Run it before a change (``--save before.json``) and after (``--compare before.json``):
it prints one line per output file, marks each that differs, and exits 1 on any difference.

    python benchmarks/digest.py --save /tmp/before.json
    python benchmarks/digest.py --compare /tmp/before.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
#: name -> custseg arguments (the output folder is appended with --out).
RUNS = {
    "demo": ["demo", "--seed", "0"],
    "mall": ["run", str(DATA / "mall_customers.csv"), "--seed", "0"],
    "wholesale": ["run", str(DATA / "wholesale_customers.csv"), "--seed", "0"],
    "online_retail": ["run", str(DATA / "online_retail.csv.gz"), "--seed", "0"],
}


def digests(names: list[str]) -> dict[str, str]:
    """SHA-256 of every file each run writes, keyed ``run/relative/path``."""
    out: dict[str, str] = {}
    command = Path(sys.executable).with_name("custseg")
    for name in names:
        with tempfile.TemporaryDirectory() as folder:
            # The same --out on every run: summary.json records the command line.
            subprocess.run([str(command), *RUNS[name], "--out", "out"], check=True, cwd=folder,
                           stdout=subprocess.DEVNULL)
            root = Path(folder) / "out"
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    key = f"{name}/{path.relative_to(root).as_posix()}"
                    out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", type=Path, help="write the digests to this JSON file")
    parser.add_argument("--compare", type=Path, help="compare with digests saved earlier")
    parser.add_argument("--runs", default=",".join(RUNS), help="comma-separated: " + ", ".join(RUNS))
    args = parser.parse_args(argv)
    found = digests([n for n in args.runs.split(",") if n])
    if args.save:
        args.save.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    if not args.compare:
        for key, value in found.items():
            print(f"{value[:16]}  {key}")
        return 0
    before = json.loads(args.compare.read_text())
    differ = 0
    for key in sorted(set(before) | set(found)):
        same = before.get(key) == found.get(key)
        differ += not same
        print(f"{'same' if same else 'DIFFERS':8} {key}")
    print(f"{len(found) - differ} of {len(set(before) | set(found))} outputs byte-identical")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
