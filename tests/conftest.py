"""Shared fixtures: the real data sets in ../shared/data (never copied into the repo)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str):
    """Import ``benchmarks/NAME.py`` (not a package) as a module."""
    spec = importlib.util.spec_from_file_location(f"custseg_bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def read_cdnow_sample() -> pd.DataFrame:
    """CDNOW's 1/10th sample (``id``, ``sample_id``, ``date`` as datetime64, ``cds``,
    ``dollars``; ids as text); the test is skipped (with the reason) if absent."""
    path = SHARED_DATA / "cdnow" / "CDNOW_sample.txt"
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    lines = pd.read_csv(path, sep=r"\s+", header=None, names=["id", "sample_id", "date", "cds", "dollars"],
                        dtype={"id": str, "date": str})
    lines["date"] = pd.to_datetime(lines["date"], format="%Y%m%d")
    return lines


@pytest.fixture
def shared_data() -> Path:
    """Folder of the public data sets; the test is skipped (with the reason) if absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def mall(shared_data) -> Path:
    return shared_data / "mall_customers.csv"


@pytest.fixture
def wholesale(shared_data) -> Path:
    return shared_data / "wholesale_customers.csv"


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for every Spark test (skipped only without PySpark).

    Two cores, four shuffle partitions and a 1 GB driver: the tests' data are small, and the
    machine is shared. The JVM compiles with its quick compiler only (C1): the tests run many
    short queries, and this took the Spark tests' work from 116-128 s to 87-90 s here. Java is
    required: a missing Java fails the tests instead of hiding them.
    """
    pytest.importorskip("pyspark")
    from custseg.engines.spark.session import spark_session

    session = spark_session("local[2]", app_name="custseg-tests", config={
        "spark.sql.shuffle.partitions": "4",
        "spark.default.parallelism": "2",
        "spark.driver.memory": "1g",
        "spark.ui.enabled": "false",
        "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
    })
    yield session
    session.stop()
