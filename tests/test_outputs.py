"""Tests for custseg.outputs: spreadsheet-safe cells and CSV, plain JSON values, atomic writes."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from custseg.outputs import csv_text, json_text, plain, safe_cell, write_atomic


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
