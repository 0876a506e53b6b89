"""Tests for custseg.preparing.stats: skewness, the log1p decision and the robust outlier fences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from custseg.preparing.stats import FENCE_IQR, log_helps, robust_fences, skewness

LN2 = math.log(2.0)


def test_skewness_matches_the_biased_fisher_pearson_formula():
    # x = 1, 2, 3, 10: mean 4, deviations -3 -2 -1 6
    # m2 = (9 + 4 + 1 + 36) / 4 = 12.5, m3 = (-27 - 8 - 1 + 216) / 4 = 45
    expected = 45 / 12.5**1.5
    assert skewness(np.array([1.0, 2.0, 3.0, 10.0])) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1.018233764908629, rel=1e-12)


def test_skewness_ignores_non_finite_values_and_sign():
    x = np.array([1.0, np.nan, 2.0, np.inf, 3.0, 10.0, -np.inf])
    assert skewness(x) == pytest.approx(45 / 12.5**1.5, rel=1e-12)
    # Mirrored data has the opposite skewness.
    assert skewness(-np.array([1.0, 2.0, 3.0, 10.0])) == pytest.approx(-45 / 12.5**1.5, rel=1e-12)


def test_skewness_is_zero_for_constant_short_and_symmetric_data():
    assert skewness(np.array([5.0, 5.0, 5.0, 5.0])) == 0.0
    assert skewness(np.array([1.0, 100.0])) == 0.0  # fewer than 3 values
    assert skewness(np.array([1.0, 2.0, 3.0, 4.0, 5.0])) == pytest.approx(0.0, abs=1e-15)


def test_log_helps_for_a_lognormal_money_column():
    rng = np.random.default_rng(0)
    money = np.round(np.exp(rng.normal(4.0, 1.0, 2000)), 2)
    assert skewness(money) > 1
    assert log_helps(money)


def test_log_helps_for_a_hand_built_geometric_column():
    # 10**k - 1 for k = 1,1,1,2,2,3: raw skewness ~1.74, log1p gives k*ln10 with skewness ~0.63
    x = np.array([9.0, 9.0, 9.0, 99.0, 99.0, 999.0])
    assert skewness(x) == pytest.approx(1.7392, abs=1e-3)
    assert skewness(np.log1p(x)) == pytest.approx(0.6261, abs=1e-3)
    assert log_helps(x)


def test_log_does_not_help_symmetric_data():
    rng = np.random.default_rng(1)
    assert not log_helps(rng.normal(100.0, 10.0, 2000))
    assert not log_helps(np.arange(1.0, 101.0))


def test_log_does_not_help_negative_data():
    rng = np.random.default_rng(2)
    money = np.exp(rng.normal(4.0, 1.0, 2000))
    assert log_helps(money)
    money[0] = -1.0  # one refund makes log1p undefined for the column
    assert not log_helps(money)


def test_log_does_not_help_left_skewed_data():
    # one far low value: negative skewness, nothing for log1p to fix
    x = np.array([2.0] + [100.0 + i for i in range(27)])
    assert skewness(x) < -1
    assert not log_helps(x)


def test_fences_on_the_raw_scale():
    x = np.arange(1.0, 9.0)  # 1..8
    # numpy linear percentiles: Q1 at position 1.75 -> 2.75, Q3 at 5.25 -> 6.25, IQR 3.5
    assert FENCE_IQR == 3.0
    assert robust_fences(x, log=False) == pytest.approx((2.75 - 10.5, 6.25 + 10.5))
    assert robust_fences(x, log=False) == pytest.approx((-7.75, 16.75))


def test_fences_on_the_log_scale_with_negative_lower_fence():
    # log1p(2**k - 1) = k ln2 for k = 0..7: Q1 = 1.75 ln2, Q3 = 5.25 ln2, IQR = 3.5 ln2
    x = 2.0 ** np.arange(8) - 1
    low, high = robust_fences(x, log=True)
    # lower fence -8.75 ln2 is below log1p(0): no lower fence at all
    assert low == -math.inf
    assert high == pytest.approx(2**15.75 - 1, rel=1e-12)


def test_fences_on_the_log_scale_with_positive_lower_fence():
    # log1p(2**k - 1) = k ln2 for k = 10..17: Q1 = 11.75 ln2, Q3 = 15.25 ln2, IQR = 3.5 ln2
    x = 2.0 ** np.arange(10, 18) - 1
    low, high = robust_fences(x, log=True)
    assert low == pytest.approx(2**1.25 - 1, rel=1e-12)   # (11.75 - 10.5) ln2
    assert high == pytest.approx(2**25.75 - 1, rel=1e-12)  # (15.25 + 10.5) ln2
    # the same column on the raw scale has very different fences
    raw_low, raw_high = robust_fences(x, log=False)
    assert raw_high < high


def test_fences_ignore_non_finite_values():
    x = np.array([np.nan, 1, 2, 3, np.inf, 4, 5, 6, 7, 8, -np.inf])
    assert robust_fences(x, log=False) == pytest.approx((-7.75, 16.75))


def test_fences_are_undefined_below_eight_values():
    assert robust_fences(np.arange(1.0, 8.0), log=False) is None
    assert robust_fences(np.array([1, 2, 3, 4, 5, 6, 7, np.nan]), log=False) is None
    assert robust_fences(np.arange(1.0, 9.0), log=False) is not None


def test_fences_are_undefined_for_zero_iqr():
    x = np.array([1.0, 5, 5, 5, 5, 5, 5, 9])  # Q1 = Q3 = 5
    assert robust_fences(x, log=False) is None
    assert robust_fences(x, log=True) is None


def test_skewness_equals_scipy_on_a_long_skewed_column():
    from scipy.stats import skew

    x = np.random.default_rng(8).lognormal(3.0, 1.2, 200_000)
    assert skewness(x) == pytest.approx(skew(x, bias=True), rel=1e-12)
    assert skewness(np.log1p(x)) == pytest.approx(skew(np.log1p(x), bias=True), rel=1e-12)
