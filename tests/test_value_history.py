"""Per-customer purchase histories for the value models (custseg.valuing.history)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import read_cdnow_sample

from custseg.errors import InputError
from custseg.valuing.history import calibration_and_holdout, history_from_transactions


def test_same_day_purchases_are_one_and_the_first_is_left_out_of_the_mean():
    table = history_from_transactions(
        ["a", "a", "a", "a", "b"],
        ["2024-01-01", "2024-01-15", "2024-01-15", "2024-01-29", "2024-01-22"],
        [100.0, 6.0, 4.0, 20.0, 8.0], as_of="2024-02-05")
    a, b = table.iloc[0], table.iloc[1]
    # a: purchase days Jan 1, 15, 29 -> 2 repeats; last 28 days after the first; age 35 days.
    assert (a["x"], a["t_x"], a["T"]) == (2.0, 4.0, 5.0)
    assert a["mean_value"] == pytest.approx((6.0 + 4.0 + 20.0) / 2)
    # b: one purchase, 14 days before as_of: no repeat, no mean value.
    assert (b["x"], b["t_x"], b["T"]) == (0.0, 0.0, 2.0)
    assert np.isnan(b["mean_value"])


def test_purchases_after_as_of_are_not_counted_and_days_can_be_the_unit():
    table = history_from_transactions(["a", "a", "a", "b"], ["2024-01-01", "2024-01-11", "2024-03-01", "2024-03-01"],
                                      as_of="2024-01-21", unit_days=1.0)
    assert table.to_dict("list") == {"customer": ["a"], "x": [1.0], "t_x": [10.0], "T": [20.0],
                                     "mean_value": [pytest.approx(np.nan, nan_ok=True)]}


def test_holdout_counts_distinct_days_and_leaves_out_customers_new_in_the_holdout():
    table = calibration_and_holdout(
        ["a", "a", "a", "a", "b", "c"],
        ["2024-01-01", "2024-02-02", "2024-02-02", "2024-02-09", "2024-01-10", "2024-02-03"],
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], calibration_end="2024-01-29", observation_end="2024-02-26",
        unit_days=1.0)
    assert table["customer"].tolist() == ["a", "b"]
    assert table["x_holdout"].tolist() == [2.0, 0.0]
    assert table["holdout_length"].tolist() == [28.0, 28.0]


def test_bad_dates_and_an_empty_holdout_are_input_errors():
    with pytest.raises(InputError, match="1 purchase dates are missing or not dates"):
        history_from_transactions(["a", "b"], ["2024-01-01", "not a date"], as_of="2024-02-01")
    with pytest.raises(InputError, match="not after the calibration end"):
        calibration_and_holdout(["a"], ["2024-01-01"], calibration_end="2024-02-01", observation_end="2024-02-01")


def test_cdnow_sample_histories_in_weeks():
    lines = read_cdnow_sample()
    table = calibration_and_holdout(lines["id"], lines["date"], lines["dollars"],
                                    calibration_end="1997-09-30", observation_end="1998-06-30")
    assert len(table) == 2357
    assert int((table["x"] > 0).sum()) == 946  # the paper's repeat customers
    # Customer 00004 bought on 1997-01-01 ($29.33), 01-18 ($29.73), 08-02 ($14.96), 12-12 ($26.48).
    four = table.set_index("customer").loc["00004"]
    assert four["x"] == 2.0
    assert four["t_x"] == pytest.approx(213 / 7)   # Jan 1 -> Aug 2
    assert four["T"] == pytest.approx(272 / 7)     # Jan 1 -> Sep 30
    assert four["mean_value"] == pytest.approx((29.73 + 14.96) / 2)
    assert four["x_holdout"] == 1.0
