"""Tests for custseg.outputs: spreadsheet-safe cells and CSV, plain JSON values, atomic writes."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from custseg.outputs import atomic_file, csv_text, json_text, plain, safe_cell, write_atomic, write_csv


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"),
    ("+1+1", "'+1+1"),
    ("-1+1", "'-1+1"),
    ("@x", "'@x"),
    ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
    ("\t=1", "'\t=1"),
    ("\rx", "'\rx"),
    ("-3.5", "-3.5"),
    ("+7", "+7"),
    ("-1e3", "-1e3"),
    ("plain text", "plain text"),
    ("a=1", "a=1"),
    ("", ""),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_safe_cell_leaves_non_text_alone():
    assert safe_cell(-3.5) == -3.5
    assert safe_cell(7) == 7
    assert safe_cell(None) is None


def test_csv_text_neutralises_hostile_header_and_values():
    frame = pd.DataFrame({
        '=HYPERLINK("http://x")': ["=1+1", "-3.5", "@x", "\tcmd", "\rcmd", "ok"],
        "segment": [-1, 0, 1, 2, 3, 4],
        "score": [-0.5, 1.0, 2.5, 3.0, 4.0, 5.0],
    })
    text = csv_text(frame)
    assert "\r\n" not in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ['\'=HYPERLINK("http://x")', "segment", "score"]
    assert [row[0] for row in rows[1:]] == ["'=1+1", "-3.5", "'@x", "'\tcmd", "'\rcmd", "ok"]
    # numeric columns are written as numbers, negative ones included
    assert [row[1] for row in rows[1:]] == ["-1", "0", "1", "2", "3", "4"]
    assert rows[1][2] == "-0.5"
    assert len(rows) == 7
    # the frame passed in is not modified
    assert frame.iloc[0, 0] == "=1+1"
    assert list(frame.columns)[0] == '=HYPERLINK("http://x")'


def test_csv_text_ends_lines_with_newline():
    assert csv_text(pd.DataFrame({"a": ["x", "y"], "n": [1, -2]})) == "a,n\nx,1\ny,-2\n"


def test_a_carriage_return_cannot_start_an_unneutralised_row():
    # An unquoted "\r" splits the row in spreadsheet and csv readers: what follows it would
    # become a cell of its own, formula included.
    frame = pd.DataFrame({"id": ["a", "b", "c"], "n": [1, -2, 3], "note": ["\r=1+1", "x\r=2+2", "ok"]})
    text = csv_text(frame)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["id", "n", "note"], ["a", "1", "'\r=1+1"], ["b", "-2", "x\r=2+2"], ["c", "3", "ok"]]
    header = csv_text(pd.DataFrame({"x\r=1+1": ["v"]}))
    assert list(csv.reader(io.StringIO(header, newline=""))) == [["x\r=1+1"], ["v"]]


def test_plain_rounds_to_six_significant_digits():
    assert plain(1 / 3) == 0.333333
    assert plain(2 / 3) == 0.666667
    assert plain(123456789.0) == 123457000.0
    assert plain(0.000123456789) == 0.000123457
    assert plain(np.float32(0.1)) == 0.1
    assert plain(np.float64(-2.5)) == -2.5
    assert plain(1 / 3, digits=3) == 0.333


def test_plain_turns_non_finite_into_none_and_keeps_types():
    assert plain(float("nan")) is None
    assert plain(np.inf) is None
    assert plain(-np.inf) is None
    assert plain(np.nan) is None
    value = plain(np.int64(7))
    assert value == 7 and type(value) is int
    assert plain(np.bool_(True)) is True and plain(False) is False
    assert plain("text") == "text" and plain(None) is None


def test_plain_recurses_into_containers():
    data = {
        1: np.array([1 / 3, np.nan]),
        "nested": {"t": (np.int32(2), math.inf), "l": [np.float64(2 / 3)]},
    }
    out = plain(data)
    assert out == {"1": [0.333333, None], "nested": {"t": [2, None], "l": [0.666667]}}
    # the result is valid strict JSON
    assert json.loads(json_text(out)) == out
    with pytest.raises(ValueError):
        json_text({"x": math.nan})


def test_write_atomic_replaces_content_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "out" / "summary.json"
    assert write_atomic(target, "first\n") == target
    assert target.read_text(encoding="utf-8") == "first\n"
    write_atomic(target, "second, ünïcode\r\n")
    assert target.read_bytes() == "second, ünïcode\r\n".encode("utf-8")  # no newline translation
    write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert [p.name for p in target.parent.iterdir()] == ["summary.json"]


def test_write_atomic_keeps_the_old_file_on_failure(tmp_path):
    target = tmp_path / "segments.csv"
    write_atomic(target, "old")
    with pytest.raises(TypeError):
        write_atomic(target, 12345)  # not str or bytes: the write fails midway
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["segments.csv"]


# --------------------------------------------------------------------------- streamed CSV

def _reference_csv_text(frame: pd.DataFrame) -> str:
    """The writer before the vectorised one (safe_cell on every cell): the bytes to keep."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(safe_cell)
    safe.columns = [safe_cell(str(c)) for c in safe.columns]
    texts = [str(c) for c in safe.columns] + [
        v for c in safe.columns if not pd.api.types.is_numeric_dtype(safe[c])
        for v in safe[c] if isinstance(v, str)
    ]
    quoting = csv.QUOTE_NONNUMERIC if any("\r" in v for v in texts) else csv.QUOTE_MINIMAL
    return safe.to_csv(index=False, lineterminator="\n", quoting=quoting)


HOSTILE_IDS = ["=1+1", "+x", "-y", "@z", "-3.5", "+7", "\tcmd", "plain", None, "a=1", "ünï", "", "x,y", 'q"q']
HOSTILE_NAMES = ["=SUM(A1:A9)", "-Lapsed buyers", "@risk", "Loyal, \"big\" buyers", "Average customers"]


def _hostile_frames():
    n = len(HOSTILE_IDS)
    names = [HOSTILE_NAMES[i % len(HOSTILE_NAMES)] for i in range(n)]
    base = {
        "id": pd.Series(HOSTILE_IDS, dtype=object),
        "segment": np.arange(n) % 5 - 1,
        "segment_name": names,
        "outlier": np.arange(n) % 3 == 0,
        "score": np.linspace(-1.5, 2.0, n),
        "rfm_segment": ["Can't Lose Them", "=cmd", "Champions", None] * 3 + ["At Risk", "+1"],
    }
    yield "object ids", pd.DataFrame(base)
    yield "str ids", pd.DataFrame({**base, "id": pd.Series(HOSTILE_IDS, dtype="str")})
    yield "categorical names", pd.DataFrame({**base, "segment_name": pd.Categorical(names)})
    unused = pd.Categorical(names, categories=[*dict.fromkeys(names), "never\rused"])
    yield "unused category with a carriage return", pd.DataFrame({**base, "segment_name": unused})
    with_cr = pd.Series([*HOSTILE_IDS[:-2], "a\rb", "\r=2+2"], dtype=object)
    yield "ids with a carriage return", pd.DataFrame({**base, "id": with_cr})
    yield "names with a carriage return", pd.DataFrame({**base, "segment_name": pd.Categorical(
        [n.replace("Lapsed", "Lap\rsed") for n in names])})
    yield "hostile header", pd.DataFrame({**base, "=HYPERLINK(x)": base.pop("id")})
    yield "header with a carriage return", pd.DataFrame({"a\rb": base["segment"], "n": base["score"]})
    yield "numeric ids", pd.DataFrame({**base, "id": np.arange(n) * 7})
    yield "mixed object column", pd.DataFrame({**base, "id": pd.Series([1, "=a", 2.5, None, "-b", -3] * 2 + [7, 8],
                                                                          dtype=object)})
    yield "object column without text", pd.DataFrame({**base, "id": pd.Series(list(range(n)), dtype=object)})
    yield "dates and nullable numbers", pd.DataFrame({
        **base, "first": pd.date_range("2024-01-01", periods=n, freq="37h"),
        "orders": pd.array([1, None] * (n // 2), dtype="Int64"),
        "waited": pd.to_timedelta(np.arange(n) * 37, unit="h"),
        "when": pd.Categorical(pd.date_range("2024-01-01", periods=n, freq="37h")),
    })


@pytest.mark.parametrize("name, frame", list(_hostile_frames()), ids=[name for name, _ in _hostile_frames()])
def test_csv_bytes_equal_the_cell_by_cell_writer(name, frame, tmp_path):
    expected = _reference_csv_text(frame)
    before = frame.copy()
    assert csv_text(frame) == expected
    for chunksize in (1, 4, 100_000):
        path = write_csv(tmp_path / "segments.csv", frame, chunksize=chunksize)
        assert path.read_bytes() == expected.encode("utf-8"), chunksize
    pd.testing.assert_frame_equal(frame, before)           # the frame passed in is not modified
    assert [p.name for p in tmp_path.iterdir()] == ["segments.csv"]


def test_csv_neutralises_each_formula_like_id_exactly_once():
    frame = pd.DataFrame({"id": pd.Series(HOSTILE_IDS, dtype=object), "n": range(len(HOSTILE_IDS))})
    rows = list(csv.reader(io.StringIO(csv_text(frame), newline="")))
    assert [row[0] for row in rows[1:5]] == ["'=1+1", "'+x", "'-y", "'@z"]
    assert [row[0] for row in rows[5:8]] == ["-3.5", "+7", "'\tcmd"]


def test_write_csv_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "segments.csv"
    target.write_text("old\n")

    with pytest.raises(OSError):
        with atomic_file(target) as out:
            out.write("partial")
            raise OSError("disk full")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["segments.csv"]


def test_segments_csv_of_a_run_equals_the_cell_by_cell_writer(tmp_path):
    from custseg.sampledata import generate_customers
    from custseg.pipeline import segment

    customers, _ = generate_customers(400, 3, random_state=3, outliers=0.02)
    prefixes = ["=1+", "+x", "-y", "@z", "a\r", "id-", "\t"]
    customers["customer_id"] = [f"{prefixes[i % len(prefixes)]}{i}" for i in range(len(customers))]
    result = segment(customers, algorithms=("kmeans",), k_max=4, outliers="flag")
    for item, prefix in zip(result.segment_info, ["=", "-", "@", "+"]):
        item["name"] = prefix + item["name"]          # names a spreadsheet would run
    names = {s["id"]: s["name"] for s in result.segment_info}
    before = pd.DataFrame({
        "customer_id": result.table.ids.to_numpy(),
        "segment": result.labels,
        "segment_name": [names[int(s)] for s in result.labels],
        "outlier": result.table.outlier_rows,
    })
    frame = result.segments_frame()
    assert isinstance(frame["segment_name"].dtype, pd.CategoricalDtype)
    assert frame["segment_name"].astype(object).tolist() == before["segment_name"].tolist()
    written = result.write(tmp_path, report=False)["segments"].read_bytes()
    assert written == _reference_csv_text(before).encode("utf-8")
    rows = list(csv.reader(io.StringIO(written.decode("utf-8"), newline="")))
    assert rows[1][0] == "'=1+0" and rows[5][0] == "a\r4"       # quoted, so the row holds
    assert {row[2][0] for row in rows[1:]} == {"'"}
