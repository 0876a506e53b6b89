"""Shared fixtures: the real data sets in ../shared/data (never copied into the repo)."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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
