"""Tests for custseg.engines.spark.partitions: one partition's customer features, computed by
DuckDB as an executor computes them (no JVM needed: the partitions are Arrow tables here).

The hand log of ``test_transactions`` is split by customer into two partitions, as Spark
splits a log; their rows together must be the local engine's, to the hand-computed values.
"""

from __future__ import annotations

import datetime
import json

import pandas as pd
import pyarrow as pa
import pytest
from test_transactions import AS_OF, EXPECTED, EXPECTED_CHECKS, EXPECTED_DROPPED, HAND_LINES, HEADER

from custseg.engines.spark.partitions import BAD_VALUES, output_schema, partition_features
from custseg.logs.columns import detect_transaction_columns
from custseg.logs.rules import FEATURE_COLUMNS, customer_queries, customers_dropped, ledger_and_checks

NAMES = HEADER.split(",")
COLUMNS = detect_transaction_columns(NAMES)
TYPES = {name: "VARCHAR" for name in NAMES}
FORMAT = "%Y-%m-%d %H:%M:%S"


def _batches(lines: list[str], size: int = 4) -> list[pa.RecordBatch]:
    rows = [line.split(",") for line in lines]
    table = pa.table({name: [row[i] for row in rows] for i, name in enumerate(NAMES)})
    return table.to_batches(max_chunksize=size)


def _partition(lines: list[str], as_of=AS_OF, **kwargs):
    """The customer rows (pandas) and the checks summary of one partition."""
    batches = list(partition_features(_batches(lines), names=NAMES, types=TYPES, columns=COLUMNS,
                                      date_format=FORMAT, as_of=as_of, **kwargs))
    rows = pa.Table.from_batches(batches).to_pandas() if batches else pd.DataFrame(columns=["kind"])
    checks = [json.loads(text) for text in rows.loc[rows["kind"] == "checks", "checks"]]
    return rows, checks


def _customer_of(line: str) -> str:
    return line.split(",")[6].removesuffix(".0")


def _split() -> tuple[list[str], list[str]]:
    """The hand log by customer: 101, 103 and the lines without an id; 102 (also 102.0), 104, 105."""
    first = [line for line in HAND_LINES if _customer_of(line) in ("101", "103", "")]
    return first, [line for line in HAND_LINES if line not in first]


def test_two_partitions_give_the_local_engines_features_checks_and_ledger():
    first, second = _split()
    parts = [_partition(first), _partition(second)]
    customers = pd.concat([rows[rows["kind"] == "customer"] for rows, _ in parts])
    kept = customers[customers["drop_reason"].isna()].sort_values("customer_id").reset_index(drop=True)
    assert kept["customer_id"].tolist() == EXPECTED["CustomerID"].tolist()
    for name in FEATURE_COLUMNS:
        pd.testing.assert_series_equal(kept[name], EXPECTED[name], check_names=False, rtol=1e-12)
    assert kept["attr_0"].tolist() == EXPECTED["Country"].tolist()
    # Customers 102 and 102.0 are one (in one partition); 103 and 104 dropped with their reasons.
    assert sorted(customers["drop_reason"].dropna()) == ["net spend <= 0", "only cancellations or returns"]
    summed = {name: sum(c[0][name] or 0 for _, c in parts) for name in parts[0][1][0] if name not in ("last_day", "as_of")}
    ledger, checks = ledger_and_checks(summed, COLUMNS, customer_queries(COLUMNS, AS_OF)["check_names"], "hand")
    assert ledger.rows_read == len(HAND_LINES) == 21
    assert ledger.rows_dropped == EXPECTED_DROPPED
    assert checks == EXPECTED_CHECKS
    assert summed["customers_found"] == 5
    assert customers_dropped(5, len(customers), {"net spend <= 0": 1, "only cancellations or returns": 1}, 3,
                             "hand") == {"net spend <= 0": 1, "only cancellations or returns": 1}


def test_without_a_reference_date_each_partition_uses_the_day_after_its_last_usable_line():
    first, second = _split()
    # 101's last purchase is 2024-03-10; 105's order 5003 on 2024-04-01 is usable without an as-of.
    assert _partition(first, as_of=None)[1][0]["as_of"] == "2024-03-11"
    _, checks = _partition(second, as_of=None)
    assert (checks[0]["last_day"], checks[0]["as_of"]) == ("2024-04-01", "2024-04-02")


def test_purchase_days_and_the_output_schema():
    first, _ = _split()
    rows, _ = _partition(first, purchase_days=True)
    days = rows.loc[rows["kind"] == "purchase", ["customer_id", "day"]]
    epoch = datetime.date(1970, 1, 1)
    assert sorted(days.itertuples(index=False, name=None)) == [
        ("101", (datetime.date(2024, 3, 1) - epoch).days), ("101", (datetime.date(2024, 3, 10) - epoch).days)]
    assert output_schema(COLUMNS).split(", ") == [
        f"{field.name} {'string' if pa.types.is_string(field.type) else 'double' if pa.types.is_floating(field.type) else 'bigint'}"
        for field in pa.Table.from_batches(list(partition_features(
            _batches(first), names=NAMES, types=TYPES, columns=COLUMNS, date_format=FORMAT, as_of=AS_OF))).schema]


def test_an_empty_partition_gives_no_row_and_a_bad_value_is_marked():
    assert list(partition_features(iter([]), names=NAMES, types=TYPES, columns=COLUMNS, date_format=FORMAT,
                                   as_of=AS_OF)) == []
    bad = HAND_LINES[:3] + ["1009,P1,ITEM ONE,two,2024-03-01 10:00:00,5.00,101,United Kingdom"]
    with pytest.raises(RuntimeError, match=f"^{BAD_VALUES}: Conversion Error"):
        _partition(bad)
