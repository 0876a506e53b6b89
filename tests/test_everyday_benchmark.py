"""benchmarks/everyday.py: the table of medians and ratios, and the commands it times."""

from __future__ import annotations

from pathlib import Path

from conftest import load_benchmark

everyday = load_benchmark("everyday")


def _steps(careful, plain, report):
    return {"careful": {"wall": careful, "cpu": [1.0] * len(careful)},
            "custseg --no-report": {"wall": plain, "cpu": [1.5] * len(plain)},
            "custseg (report)": {"wall": report, "cpu": [3.0] * len(report)}}


def test_table_gives_medians_and_ratios_to_the_careful_script():
    found = {"mall": _steps([1.0, 9.0, 2.0], [3.0, 3.0, 30.0], [2.0, 2.8, 4.0]),
             "telco": _steps([2.0, 2.0, 2.0], [2.0, 2.5, 2.5], [3.0, 3.0, 3.0])}
    lines = everyday.table_markdown(found).splitlines()
    assert lines[2] == "| mall | 2.00 (1.00) | 3.00 (1.50) | 1.50x (1.50x) | 2.80 (3.00) | 1.40x (3.00x) | met (wall) |"
    assert lines[3] == ("| telco | 2.00 (1.00) | 2.50 (1.50) | 1.25x (1.50x) | 3.00 (3.00) | 1.50x (3.00x) "
                        "| met (wall) |")


def test_before_rows_and_commands(tmp_path):
    run = everyday._run_module()
    steps = everyday.commands("wholesale", tmp_path, run, before=Path("/old/src"))
    assert list(steps) == ["careful", "custseg --no-report", "custseg (report)", "custseg --no-report before",
                           "custseg (report) before"]
    # Wholesale has no id column: the careful script gets a copy with one
    assert steps["careful"][-1] == "id" and (tmp_path / "wholesale_with_id.csv").read_text().startswith("id,")
    assert steps["custseg (report) before"][:2] == ["env", "PYTHONPATH=/old/src"]
    found = {"mall": {**_steps([1.0], [2.0], [4.0]),
                      "custseg --no-report before": {"wall": [3.0], "cpu": [2.0]},
                      "custseg (report) before": {"wall": [6.0], "cpu": [4.0]}}}
    assert everyday.table_markdown(found).splitlines()[3] == (
        "| mall, before | (same run) | 3.00 (2.00) | 3.00x (2.00x) | 6.00 (4.00) | 6.00x (4.00x) | |")
