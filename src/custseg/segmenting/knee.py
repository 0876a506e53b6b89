"""The knee of a convex curve (Kneedle: Satopaa, Albrecht, Irwin and Raghavan 2011).

The same steps, and so the same knees, as ``kneed.KneeLocator(x, y, curve="convex",
direction=...)`` with its defaults (S = 1, no interpolation, offline: the first knee), which
custseg used before: importing ``kneed`` also imports ``matplotlib.pyplot`` and
``scipy.signal``, a quarter of a second or more of a small run. The equality with kneed is
tested on many curves (``tests/test_knee.py``).
"""

from __future__ import annotations

import numpy as np

#: Kneedle's sensitivity: how far the difference curve must fall below a local maximum.
SENSITIVITY = 1.0


def convex_knee(x, y, direction: str) -> float | None:
    """x at the knee of a convex curve, or None when it has none.

    Parameters
    ----------
    x, y : array-like
        The curve, ``x`` increasing.
    direction : {"decreasing", "increasing"}
        Whether ``y`` falls (an inertia curve) or rises (sorted k-distances) with ``x``.

    Examples
    --------
    >>> convex_knee([1, 2, 3, 4, 5, 6], [100, 40, 20, 15, 12, 10], "decreasing")
    3
    >>> convex_knee([0, 1, 2, 3, 4, 5], [1, 1.1, 1.2, 1.3, 3, 9], "increasing")
    3
    """
    x, y = np.array(x), np.array(y)
    x_norm, y_norm = _normalise(x), _normalise(y.astype(float))
    if direction == "decreasing":
        y_norm = y_norm.max() - y_norm
    else:
        y_norm = np.flip(y_norm.max() - y_norm)
        x_norm = np.flip(1 - x_norm)
    difference = y_norm - x_norm
    at = _first_knee(difference, SENSITIVITY * np.abs(np.diff(x_norm).mean()))
    if at is None:
        return None
    found = x[at] if direction == "decreasing" else x[-(at + 1)]
    return found.item() if isinstance(found, np.generic) else found


def convex_knee_y(x, y, direction: str) -> float | None:
    """y at the knee found by `convex_knee` (the first point of ``x`` equal to it), or None.

    Examples
    --------
    >>> convex_knee_y([0, 1, 2, 3, 4, 5], [1, 1.1, 1.2, 1.3, 3, 9], "increasing")
    1.3
    """
    knee = convex_knee(x, y, direction)
    if knee is None:
        return None
    y = np.array(y)
    return y[np.array(x) == knee][0].item()


def _normalise(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    return (a - min(a)) / (max(a) - min(a))


def _extrema(values: np.ndarray, compare) -> np.ndarray:
    """Indices where ``compare(value, each neighbour)`` holds, the ends compared with
    themselves where a neighbour is missing (``scipy.signal.argrelextrema``, order 1, clip)."""
    before = np.r_[values[:1], values[:-1]]
    after = np.r_[values[1:], values[-1:]]
    return np.flatnonzero(compare(values, before) & compare(values, after))


def _first_knee(difference: np.ndarray, step: float) -> int | None:
    """Index of the first local maximum of the difference curve that it then falls more than
    ``step`` below (before a local minimum resets the search), or None."""
    maxima = _extrema(difference, np.greater_equal)
    if not maxima.size:
        return None
    minima = set(_extrema(difference, np.less_equal).tolist())
    thresholds = difference[maxima] - step
    maxima_set = {int(i): n for n, i in enumerate(maxima)}
    threshold, at, active = 0.0, 0, True
    for i in range(int(maxima[0]), len(difference) - 1):
        if i in maxima_set:
            threshold, at, active = thresholds[maxima_set[i]], i, True
        if i in minima:
            threshold, active = 0.0, False
        if active and difference[i + 1] < threshold:
            return at
    return None
