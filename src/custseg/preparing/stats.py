"""Small robust statistics shared by the cleaning and feature stages."""

from __future__ import annotations

import numpy as np

#: Tukey's "far out" multiplier: values beyond Q1 - 3 IQR or Q3 + 3 IQR are outliers.
FENCE_IQR = 3.0


def skewness(values: np.ndarray) -> float:
    """Sample skewness (Fisher-Pearson, biased) of the finite values; 0 when constant."""
    x = _finite(values)
    if x.size < 3:
        return 0.0
    centred = x - x.mean()
    square = centred * centred
    sd = np.sqrt(np.mean(square))
    if sd == 0:
        return 0.0
    square *= centred             # the cube by multiplication: float ** 3 is a slow pow()
    return float(np.mean(square) / sd**3)


def _finite(values: np.ndarray) -> np.ndarray:
    """The finite values (``values`` itself, not a copy, when all are finite)."""
    finite = np.isfinite(values)
    return values if finite.all() else values[finite]


def log_helps(values: np.ndarray) -> bool:
    """Whether ``log1p`` makes a non-negative, right-skewed column clearly more symmetric.

    True when every value is >= 0, the skewness exceeds 1 and ``log1p`` makes its absolute
    value smaller. Money and count columns of real exports usually qualify.
    """
    x = _finite(values)
    if x.size < 3 or x.min() < 0:
        return False
    raw = skewness(x)
    return raw > 1.0 and abs(skewness(np.log1p(x))) < raw


def robust_fences(values: np.ndarray, log: bool) -> tuple[float, float] | None:
    """Lower and upper outlier fences in the column's own units, or None if undefined.

    Fences are ``Q1 - 3 IQR`` and ``Q3 + 3 IQR`` on the ``log1p`` scale when ``log`` is
    true (so that a long right tail of big spenders is not called outlying), else on the
    raw scale. Where the IQR is zero (most values equal) no fences are set.
    """
    x = values[np.isfinite(values)]
    if x.size < 8:
        return None
    scaled = np.log1p(x) if log else x
    q1, q3 = np.percentile(scaled, [25, 75])
    iqr = q3 - q1
    if iqr <= 0:
        return None
    low, high = q1 - FENCE_IQR * iqr, q3 + FENCE_IQR * iqr
    if log:
        low = np.expm1(low) if low > np.log1p(0.0) else -np.inf
        high = np.expm1(high)
    return float(low), float(high)
