"""Tests for custseg.preparing.features: scaling, log1p, one-hot encoding, PCA and the plan round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from custseg.errors import InputError
from custseg.preparing.features import FeaturePlan, fit_features, principal_axes

LN10 = math.log(10.0)


def test_standardisation_on_four_rows():
    # x = 1, 2, 3, 6: mean 3, population variance (4 + 1 + 0 + 9) / 4 = 3.5 (skewness 0.69: no log)
    # y = 10, 10, 20, 20: mean 15, population sd 5
    data = pd.DataFrame({"x": [1.0, 2.0, 3.0, 6.0], "y": [10.0, 10.0, 20.0, 20.0]})
    plan = fit_features(data, ["x", "y"], [], pca="off")
    assert plan.log == {"x": False, "y": False}
    assert plan.center == {"x": 3.0, "y": 15.0}
    assert plan.scale["x"] == pytest.approx(math.sqrt(3.5), rel=1e-15)
    assert plan.scale["y"] == 5.0
    matrix = plan.transform(data)
    s = math.sqrt(3.5)
    expected = np.array([[-2 / s, -1.0], [-1 / s, -1.0], [0.0, 1.0], [3 / s, 1.0]])
    np.testing.assert_allclose(matrix, expected, rtol=1e-14, atol=1e-15)
    assert plan.columns == ["x", "y"] and plan.output_columns == ["x", "y"]


def test_constant_column_gets_unit_scale():
    data = pd.DataFrame({"x": [1.0, 2.0, 3.0, 6.0], "c": [7.0, 7.0, 7.0, 7.0]})
    plan = fit_features(data, ["x", "c"], [], pca="off")
    assert plan.scale["c"] == 1.0
    np.testing.assert_array_equal(plan.transform(data)[:, 1], np.zeros(4))


def test_log1p_for_a_skewed_money_column():
    # 10**k - 1 for k = 1,1,1,2,2,3: log1p gives k ln10; mean of k = 10/6,
    # population variance of k = 5/9
    data = pd.DataFrame({"spend": [9.0, 9.0, 9.0, 99.0, 99.0, 999.0]})
    plan = fit_features(data, ["spend"], [], pca="off")
    assert plan.log == {"spend": True}
    assert plan.center["spend"] == pytest.approx(10 / 6 * LN10, rel=1e-12)
    assert plan.scale["spend"] == pytest.approx(math.sqrt(5 / 9) * LN10, rel=1e-12)
    k = np.array([1, 1, 1, 2, 2, 3], dtype=float)
    expected = (k - 10 / 6) / math.sqrt(5 / 9)
    np.testing.assert_allclose(plan.transform(data)[:, 0], expected, rtol=1e-10)
    # a negative value on new data is floored at 0 before log1p
    new = plan.transform(pd.DataFrame({"spend": [-5.0]}))
    assert new[0, 0] == pytest.approx((0 - 10 / 6) / math.sqrt(5 / 9), rel=1e-12)


def test_categorical_one_hot_has_total_variance_one():
    data = pd.DataFrame({"x": [1.0, 2.0, 3.0, 6.0], "colour": ["b", "a", "c", "a"]})
    plan = fit_features(data, ["x"], ["colour"], pca="off")
    assert plan.categories == {"colour": ["a", "b", "c"]}
    assert plan.category_share == {"colour": [0.5, 0.25, 0.25]}
    # 1 - (0.25 + 0.0625 + 0.0625) = 0.625
    assert plan.category_scale["colour"] == pytest.approx(math.sqrt(0.625), rel=1e-15)
    assert plan.columns == ["x", "colour=a", "colour=b", "colour=c"]
    matrix = plan.transform(data)
    block = matrix[:, 1:]
    s = math.sqrt(0.625)
    expected = np.array([
        [-0.5, 0.75, -0.25],
        [0.5, -0.25, -0.25],
        [-0.5, -0.25, 0.75],
        [0.5, -0.25, -0.25],
    ]) / s
    np.testing.assert_allclose(block, expected, rtol=1e-14)
    np.testing.assert_allclose(block.mean(axis=0), 0.0, atol=1e-15)
    assert block.var(axis=0).sum() == pytest.approx(1.0, rel=1e-12)
    # the numeric column also has variance 1: a categorical weighs as one column
    assert matrix[:, 0].var() == pytest.approx(1.0, rel=1e-12)


def test_unknown_level_on_new_data_is_all_minus_shares():
    data = pd.DataFrame({"colour": ["b", "a", "c", "a"]})
    plan = fit_features(data, [], ["colour"], pca="off")
    row = plan.transform(pd.DataFrame({"colour": ["zzz"]}))
    np.testing.assert_allclose(row[0], -np.array([0.5, 0.25, 0.25]) / math.sqrt(0.625))


def _wide(n_columns: int, rows: int = 200, seed: int = 0) -> pd.DataFrame:
    """Noisy copies of two latent factors (symmetric, so no log transform)."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(rows, 2))
    mixing = rng.normal(size=(2, n_columns))
    values = latent @ mixing + 0.05 * rng.normal(size=(rows, n_columns))
    return pd.DataFrame(values, columns=[f"f{i}" for i in range(n_columns)])


def test_pca_off_keeps_every_column():
    data = _wide(12)
    plan = fit_features(data, list(data.columns), [], pca="off")
    assert plan.pca_components is None
    assert plan.transform(data).shape == (200, 12)


def test_pca_auto_leaves_ten_columns_alone():
    data = _wide(10)
    plan = fit_features(data, list(data.columns), [], pca="auto")
    assert plan.pca_components is None and plan.pca_explained is None
    assert plan.output_columns == list(data.columns)


def test_pca_auto_on_a_wide_table_keeps_ninety_percent():
    data = _wide(12)
    plan = fit_features(data, list(data.columns), [], pca="auto")
    # independent computation: standardise, SVD, smallest number of components reaching 90%
    values = data.to_numpy()
    z = (values - values.mean(axis=0)) / values.std(axis=0)
    singular = np.linalg.svd(z - z.mean(axis=0), compute_uv=False)
    ratios = singular**2 / np.sum(singular**2)
    keep = int(np.argmax(np.cumsum(ratios) >= 0.9)) + 1
    assert keep == 2  # two latent factors
    assert plan.pca_components.shape == (keep, 12)
    np.testing.assert_allclose(plan.pca_explained, ratios[:keep], rtol=1e-8)
    assert plan.output_columns == ["PC1", "PC2"]
    assert plan.transform(data).shape == (200, 2)


def test_pca_int_keeps_that_many_components():
    data = _wide(4)
    plan = fit_features(data, list(data.columns), [], pca=3)
    assert plan.pca_components.shape == (3, 4)
    assert len(plan.pca_explained) == 3
    assert plan.output_columns == ["PC1", "PC2", "PC3"]
    values = data.to_numpy()
    z = (values - values.mean(axis=0)) / values.std(axis=0)
    np.testing.assert_allclose(plan.transform(data), z @ plan.pca_components.T, rtol=1e-10, atol=1e-12)


def test_pca_int_counts_one_hot_columns():
    data = _wide(2)
    data["colour"] = ["a", "b", "c", "d"] * 50
    plan = fit_features(data, ["f0", "f1"], ["colour"], pca=6)  # 2 + 4 columns
    assert plan.pca_components.shape == (6, 6)
    with pytest.raises(InputError, match="7 asks for more components than the 6"):
        fit_features(data, ["f0", "f1"], ["colour"], pca=7)


def test_pca_too_many_components():
    data = _wide(4)
    with pytest.raises(InputError) as error:
        fit_features(data, list(data.columns), [], pca=5)
    assert "5" in str(error.value) and "4 feature columns" in str(error.value)


def test_principal_axes_match_numpy_svd():
    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(50, 4)) * np.array([5.0, 3.0, 2.0, 1.0]) + rng.normal(size=4)
    axes, ratios = principal_axes(matrix)
    centred = matrix - matrix.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    # sign convention: each axis' largest-magnitude loading is positive
    biggest = vt[np.arange(4), np.abs(vt).argmax(axis=1)]
    expected = vt * np.sign(biggest)[:, None]
    np.testing.assert_allclose(axes, expected, atol=1e-10)
    np.testing.assert_allclose(ratios, singular**2 / np.sum(singular**2), rtol=1e-10)
    for axis in axes:
        assert axis[np.abs(axis).argmax()] > 0
    np.testing.assert_allclose(axes @ axes.T, np.eye(4), atol=1e-12)


def test_principal_axes_of_a_hand_matrix():
    # points on the line y = x (plus a tiny orthogonal wobble): first axis (1, 1)/sqrt2
    matrix = np.array([[-2.0, -2.0], [-1.0, -1.0], [1.0, 1.0], [2.0, 2.0], [0.1, -0.1], [-0.1, 0.1]])
    axes, ratios = principal_axes(matrix)
    r = 1 / math.sqrt(2)
    np.testing.assert_allclose(np.abs(axes[0]), [r, r], atol=1e-12)
    assert axes[0][0] > 0 and axes[0][1] > 0
    # variances along the axes: 20 / 5 and 0.04 / 5 (covariance with n - 1)
    np.testing.assert_allclose(ratios, [20 / 20.04, 0.04 / 20.04], rtol=1e-12)


@pytest.mark.parametrize("pca", ["off", 3])
def test_plan_round_trip_through_json(pca):
    rng = np.random.default_rng(4)
    data = pd.DataFrame({
        "income": rng.normal(50, 10, 40),
        "spend": np.round(np.exp(rng.normal(3, 1, 40)), 2),
        "gender": rng.choice(["F", "M", "X"], 40),
    })
    plan = fit_features(data, ["income", "spend"], ["gender"], pca=pca)
    assert plan.log["spend"] is True
    restored = FeaturePlan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert restored.columns == plan.columns
    assert restored.output_columns == plan.output_columns
    assert np.array_equal(restored.transform(data), plan.transform(data))
