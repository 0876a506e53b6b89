"""Maximum-likelihood fits of the value models: identical customers collapsed into weights,
parameters searched on the log scale, and a fit that says when it did not converge or ended
degenerate instead of raising (a run still finishes, and says so).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from .models import TRANSACTION_MODELS, GammaGammaParams

__all__ = ["Fit", "collapse", "fit_gamma_gamma", "fit_transactions", "maximise_log_likelihood"]

#: Log-parameters beyond this size (a parameter above e^12 or below e^-12) are degenerate:
#: the likelihood is flat there and the value means nothing.
LOG_PARAM_EDGE = 12.0
#: Optimiser settings: L-BFGS-B on the mean log-likelihood per customer.
_OPTIONS = {"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9}


@dataclass(frozen=True)
class Fit:
    """A fitted model: its parameters, the log-likelihood, and what went wrong, if anything.

    Attributes
    ----------
    params : BetaGeoParams, ModifiedBetaGeoParams, ParetoNBDParams or GammaGammaParams
    log_likelihood : float
        Summed over the customers fitted.
    customers : int
        Customers fitted (the weights' sum).
    distinct_rows : int
        Distinct histories the likelihood was evaluated on.
    converged : bool
        Whether the optimiser reported convergence.
    warnings : tuple of str
        Plain sentences: no convergence, parameters at the edge, an infinite mean.
    """

    params: object
    log_likelihood: float
    customers: int
    distinct_rows: int
    converged: bool
    warnings: tuple[str, ...] = field(default=())

    @property
    def model(self) -> str:
        """The model's name (``"bg/nbd"``, ...)."""
        return self.params.name

    @property
    def ok(self) -> bool:
        """Converged and not degenerate."""
        return self.converged and not self.warnings

    def to_dict(self) -> dict:
        """Plain, JSON-ready description (for summary.json and the model file)."""
        return {
            "model": self.model,
            "params": self.params.to_dict(),
            "log_likelihood": float(self.log_likelihood),
            "customers": int(self.customers),
            "distinct_rows": int(self.distinct_rows),
            "converged": bool(self.converged),
            "warnings": list(self.warnings),
        }


def collapse(*columns):
    """Identical rows of ``columns`` collapsed: (the distinct columns, their counts, and the
    index of each original row's distinct row).

    Examples
    --------
    >>> import numpy as np
    >>> (x, t), weights, back = collapse(np.array([1, 1, 2.0]), np.array([3, 3, 4.0]))
    >>> len(x), x[back].tolist(), t[back].tolist(), weights[back].tolist()
    (2, [1.0, 1.0, 2.0], [3.0, 3.0, 4.0], [2, 2, 1])
    """
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    if len(stacked) == 0:
        return [np.empty(0) for _ in columns], np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    view = np.ascontiguousarray(stacked).view(np.dtype((np.void, stacked.dtype.itemsize * stacked.shape[1])))
    _, first, inverse, counts = np.unique(view.ravel(), return_index=True, return_inverse=True,
                                          return_counts=True)
    distinct = stacked[first]
    return [distinct[:, i] for i in range(distinct.shape[1])], counts, inverse.ravel()


def maximise_log_likelihood(loglik, start, weights, gradient=None):
    """Maximise the weighted log-likelihood over log-parameters (L-BFGS-B).

    ``loglik(params)`` gives each row's log-likelihood; ``gradient(params)``, when given,
    gives (those, their derivatives by each parameter, shape (k, n)). Returns (parameters,
    summed log-likelihood, converged, the optimiser's message).
    """
    total = float(weights.sum())

    def objective(log_params):
        values = loglik(np.exp(log_params))
        value = -float(np.dot(weights, values)) / total
        return value if np.isfinite(value) else 1e300

    def objective_and_gradient(log_params):
        params = np.exp(log_params)
        values, grad = gradient(params)
        value = -float(np.dot(weights, values)) / total
        if not np.isfinite(value):
            return 1e300, np.zeros_like(log_params)
        return value, -(grad @ weights) * params / total

    bounds = [(-LOG_PARAM_EDGE - 6.0, LOG_PARAM_EDGE + 6.0)] * len(start)
    if gradient is None:
        found = minimize(objective, np.log(start), method="L-BFGS-B", bounds=bounds, options=_OPTIONS)
    else:
        found = minimize(objective_and_gradient, np.log(start), jac=True, method="L-BFGS-B",
                         bounds=bounds, options=_OPTIONS)
    converged = bool(found.success and np.isfinite(found.fun))
    return np.exp(found.x), -found.fun * total, converged, str(found.message)


def _edge_warnings(names, values) -> list[str]:
    return [
        f"parameter {n} = {v:.3g} is at the edge of what can be fitted: the data do not determine it"
        for n, v in zip(names, values) if abs(np.log(v)) >= LOG_PARAM_EDGE
    ]


def fit_transactions(model: str, x, t_x, T, start=None, weights=None) -> Fit:
    """Fit a repeat-purchase model (`TRANSACTION_MODELS`) by maximum likelihood.

    Parameters
    ----------
    model : {"bg/nbd", "mbg/nbd", "pareto/nbd"}
    x, t_x, T : array_like
        Repeat purchases, time of the last purchase and age (`custseg.valuing.history`).
    start : sequence of float, optional
        Starting parameters (default all 1).
    weights : array_like, optional
        Customers per row (default one each): histories already collapsed elsewhere (the
        Spark engine's counts) fit as the customers they stand for.

    Returns
    -------
    Fit
        With ``converged`` False and ``warnings`` filled when the fit is not to be trusted;
        it never raises for data that merely fit badly.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> T = np.full(500, 52.0)
    >>> x = rng.poisson(2.0, 500).astype(float)
    >>> t_x = np.where(x > 0, T * rng.uniform(0.5, 1.0, 500), 0.0)
    >>> fit = fit_transactions("bg/nbd", x, t_x, T)
    >>> fit.model, fit.customers, fit.converged
    ('bg/nbd', 500, True)
    """
    params_class = TRANSACTION_MODELS[model]
    (ux, ut, uT), counts, back = collapse(x, t_x, T)
    if weights is not None:     # summed per distinct row, in the order `collapse` gives them
        counts = np.bincount(back, weights=np.asarray(weights, dtype=float), minlength=len(counts))
    weights = counts
    names = list(params_class.__dataclass_fields__)
    if not len(weights):
        return Fit(params_class(*([float("nan")] * len(names))), float("nan"), 0, 0, False,
                   ("no customers to fit",))
    initial = np.ones(len(names)) if start is None else np.asarray(start, dtype=float)
    gradient = None
    if hasattr(params_class, "log_likelihood_gradient"):
        def gradient(p):
            return params_class(*p).log_likelihood_gradient(ux, ut, uT)
    values, loglik, converged, message = maximise_log_likelihood(
        lambda p: params_class(*p).log_likelihood(ux, ut, uT), initial, weights, gradient)
    warnings = [] if converged else [f"the fit did not converge ({message})"]
    warnings += _edge_warnings(names, values)
    if not (ux > 0).any():
        warnings.append("no customer made a repeat purchase: the model cannot be fitted")
    params = params_class(*(float(v) for v in values))
    return Fit(params, float(loglik), int(weights.sum()), len(weights), converged, tuple(warnings))


def fit_gamma_gamma(x, mean_value, start=None) -> Fit:
    """Fit Gamma-Gamma on the customers with repeat purchases (``x > 0``) and a positive mean value.

    Returns a `Fit` whose ``distinct_rows`` equals its customers (rows are not collapsed).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.integers(1, 6, 800).astype(float)
    >>> nu = rng.gamma(4.0, 1 / 20.0, 800)
    >>> mean = rng.gamma(6.0 * x, 1 / (nu * x))
    >>> fit = fit_gamma_gamma(x, mean)
    >>> fit.model, fit.customers, fit.ok
    ('gamma-gamma', 800, True)
    """
    x, m = np.asarray(x, dtype=float), np.asarray(mean_value, dtype=float)
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    # Mean values are continuous: identical (x, mean) pairs are rare, and looking for them
    # would cost more (a sort) than it saves.
    ux, um = x[keep], m[keep]
    weights = np.ones(len(ux))
    if len(weights) < 2:
        nan = float("nan")
        return Fit(GammaGammaParams(nan, nan, nan), nan, int(weights.sum()), len(weights), False,
                   ("fewer than two customers with repeat purchases and money: no value model",))
    initial = np.ones(3) if start is None else np.asarray(start, dtype=float)
    values, loglik, converged, message = maximise_log_likelihood(
        lambda p: GammaGammaParams(*p).log_likelihood(ux, um), initial, weights,
        lambda p: GammaGammaParams(*p).log_likelihood_gradient(ux, um))
    warnings = [] if converged else [f"the fit did not converge ({message})"]
    warnings += _edge_warnings(["p", "q", "gamma"], values)
    if values[1] <= 1.0:
        warnings.append(f"q = {values[1]:.3g} <= 1: the mean value per purchase is infinite")
    params = GammaGammaParams(*(float(v) for v in values))
    return Fit(params, float(loglik), int(weights.sum()), len(weights), converged, tuple(warnings))
