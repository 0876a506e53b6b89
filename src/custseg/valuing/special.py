"""Numerically safe pieces of the customer-value formulas: Gauss' hypergeometric function in
the forms that stay bounded, and sums and differences of exponentials in log space.

The textbook BG/NBD and Pareto/NBD expressions multiply a hypergeometric function that
overflows for a large frequency (``2F1(r + x, ...)`` with x = 10,000) by a power that
underflows. Pfaff's and Euler's transformations rewrite each product as one hypergeometric
function whose series is bounded, so nothing here overflows at any frequency.
"""

from __future__ import annotations

import numpy as np
from scipy.special import hyp2f1

__all__ = ["log_diff_exp", "log_hyp2f1_one", "scaled_hyp2f1"]


def scaled_hyp2f1(a, b, c, t_over):
    """``(1 + u)^(-a) 2F1(a, c - b; c; u / (1 + u))`` written as ``2F1(a, b; c; -u)``.

    Pfaff's transformation: ``(1 - z)^a 2F1(a, c - b; c; z) = 2F1(a, b; c; z / (z - 1))``
    with ``z = u / (1 + u)``. The BG/NBD expectations need the left side with ``a = r + x``
    (which overflows for a large ``x``); the right side has ``b = a_bg - 1``, small, and its
    value stays between 0 and a few units. It is evaluated as
    ``(1 + u)^(-b) 2F1(b, c - a; c; u / (1 + u))``, an argument in [0, 1).

    Parameters
    ----------
    a, b, c : array_like
        Parameters of the right-hand side.
    t_over : array_like
        ``u`` >= 0 (a horizon over an age: ``t / (alpha + T)``).

    Returns
    -------
    ndarray

    Examples
    --------
    >>> from scipy.special import hyp2f1
    >>> a, b, c, u = 3.0, 0.5, 4.0, 0.25
    >>> direct = (1 + u) ** -a * hyp2f1(a, c - b, c, u / (1 + u))
    >>> bool(abs(scaled_hyp2f1(a, b, c, u) - direct) < 1e-12)
    True
    >>> bool(np.isfinite(scaled_hyp2f1(0.744, -0.999999, 8783.6, 2.27)))
    True
    """
    # Pfaff once more, on the other parameter: 2F1(a, b; c; -u) = (1 + u)^(-b) 2F1(b, c - a; c; u / (1 + u)).
    # Its argument lies in [0, 1), where SciPy is reliable; for -u below -1 SciPy's own
    # transformations return NaN with a large c (MBG/NBD with a drop-out parameter near 0).
    u = np.asarray(t_over, dtype=float)
    a, b, c = (np.asarray(v, dtype=float) for v in (a, b, c))
    with np.errstate(over="ignore", invalid="ignore"):   # a degenerate fit: NaN, flagged by the fit
        return np.exp(-b * np.log1p(u)) * hyp2f1(b, c - a, c, u / (1.0 + u))


def log_hyp2f1_one(a, b, z):
    """``log 2F1(a, b; a + 1; z)`` for 0 <= z < 1, a > 0 and b > 0, without overflow.

    Euler's transformation ``2F1(a, b; c; z) = (1 - z)^(c - a - b) 2F1(c - a, c - b; c; z)``
    with ``c = a + 1`` gives ``(1 - z)^(1 - b) 2F1(1, a + 1 - b; a + 1; z)``, whose series
    has terms at most ``z^k``: bounded by ``1 / (1 - z)`` however large ``b`` is (the
    Pareto/NBD's ``r + x`` or ``s + 1``).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import hyp2f1
    >>> bool(np.isclose(log_hyp2f1_one(2.5, 1.5, 0.3), np.log(hyp2f1(2.5, 1.5, 3.5, 0.3))))
    True
    >>> bool(np.isfinite(log_hyp2f1_one(10_000.5, 10_000.2, 0.9)))
    True
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    z = np.asarray(z, dtype=float)
    return (1.0 - b) * np.log1p(-z) + np.log(hyp2f1(1.0, a + 1.0 - b, a + 1.0, z))


def log_diff_exp(big, small):
    """``log(exp(big) - exp(small))`` for ``big >= small``; ``-inf`` where they are equal.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.isclose(log_diff_exp(np.log(5.0), np.log(3.0)), np.log(2.0)))
    True
    >>> float(log_diff_exp(1.0, 1.0))
    -inf
    """
    big = np.asarray(big, dtype=float)
    small = np.asarray(small, dtype=float)
    with np.errstate(divide="ignore"):
        return big + np.log(-np.expm1(np.minimum(small - big, 0.0)))
