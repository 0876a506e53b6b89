"""The customer-value models: BG/NBD, MBG/NBD and Pareto/NBD for repeat purchases and the
probability of being alive, Gamma-Gamma for the value per purchase.

Each model's fitted parameters are a frozen dataclass of plain floats (JSON-ready: they go
into the model file) with the model's vectorised formulas as methods: ``log_likelihood``
(per customer), ``p_alive``, ``expected_purchases`` (in the next ``t`` for a customer with
history ``x, t_x, T``) and ``expected_purchases_new`` (in the first ``t`` after a first
purchase). Inputs are a customer's history (`custseg.valuing.history`): ``x`` repeat
purchases, ``t_x`` the time of the last purchase and ``T`` the age, both from the first
purchase, in one time unit (weeks by default).

Sources: Fader, Hardie & Lee (2005), "Counting your customers the easy way: an alternative
to the Pareto/NBD model" (BG/NBD); Batislam, Denizel & Filiztekin (2007) (MBG/NBD);
Schmittlein, Morrison & Colombo (1987) and Fader & Hardie (2005), "A note on deriving the
Pareto/NBD model and related expressions" (Pareto/NBD); Fader, Hardie & Lee (2005), "RFM and
CLV: using iso-value curves for customer base analysis" (Gamma-Gamma). Everything is computed
in log space, and the hypergeometric terms in forms that do not overflow
(`custseg.valuing.special`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import betaln, digamma, expit, gammaln

from .special import log_diff_exp, log_hyp2f1_one, scaled_hyp2f1

__all__ = [
    "BetaGeoParams",
    "GammaGammaParams",
    "ModifiedBetaGeoParams",
    "ParetoNBDParams",
    "TRANSACTION_MODELS",
    "per_count",
]


def _arrays(*values):
    return [np.asarray(v, dtype=float) for v in values]


#: Frequencies up to this many are looked up in a table of each per-frequency term.
_TABLE_LIMIT = 1_000_000


def per_count(func, x):
    """``func(x)`` for counts ``x``, computed once per count 0..max(x) and looked up: the
    likelihood's terms in ``x`` alone (gammaln, digamma) cost a table of a few hundred
    entries instead of one evaluation per customer.

    Examples
    --------
    >>> import numpy as np
    >>> per_count(lambda k: k * 10.0, np.array([2.0, 0.0, 2.0])).tolist()
    [20.0, 0.0, 20.0]
    >>> per_count(lambda k: k * 10.0, np.array([0.5])).tolist()
    [5.0]
    """
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return func(x)
    top = x.max()
    whole = x.astype(np.int64)
    if x.min() < 0 or top > _TABLE_LIMIT or x.size < 64 or not np.array_equal(whole, x):
        return func(x)
    with np.errstate(divide="ignore", invalid="ignore"):  # count 0 of terms defined for x > 0
        table = func(np.arange(int(top) + 1, dtype=float))
    return table[whole]


def _ratio_of_ones(one_minus_f, a_minus_one):
    """``(1 - F) / (a - 1)``, with the limit at ``a = 1`` replaced by the nearest safe value."""
    safe = np.where(np.abs(a_minus_one) < 1e-9, 1e-9, a_minus_one)
    return one_minus_f / safe


class _Params:
    """What every fitted model's parameters share."""

    def to_dict(self) -> dict:
        """The parameters as a plain dict."""
        return asdict(self)


@dataclass(frozen=True)
class BetaGeoParams(_Params):
    """Fitted BG/NBD: purchase rates Gamma(r, alpha), drop-out probability Beta(a, b).

    A customer buys at a Poisson rate while alive and, after each purchase, drops out with
    probability p. Its known flaw: a customer with no repeat purchase can never have dropped
    out, so its P(alive) is 1 at any age.

    Examples
    --------
    >>> params = BetaGeoParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> float(params.p_alive(0, 0.0, 38.0))
    1.0
    >>> round(float(params.p_alive(2, 30.43, 38.86)), 4)
    0.7266
    """

    r: float
    alpha: float
    a: float
    b: float

    name = "bg/nbd"

    def log_likelihood(self, x, t_x, T):
        """Each customer's log-likelihood of (x, t_x, T)."""
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        base = per_count(lambda k: gammaln(r + k) + betaln(a, b + k), x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
        alive = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            dropped = np.where(
                x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x), -np.inf)
        return base + np.logaddexp(alive, dropped)

    def log_likelihood_gradient(self, x, t_x, T):
        """Each customer's log-likelihood and its derivatives by (r, alpha, a, b), shape (4, n)."""
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        log_age, log_last = np.log(alpha + T), np.log(alpha + t_x)
        alive = -(r + x) * log_age
        with np.errstate(divide="ignore", invalid="ignore"):
            dropped = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * log_last, -np.inf)
        total = np.logaddexp(alive, dropped)
        w_alive, w_dropped = np.exp(alive - total), np.exp(dropped - total)
        d_ab, d_abx = digamma(a + b), per_count(lambda k: digamma(a + b + k), x)
        grad = np.stack([
            per_count(lambda k: digamma(r + k), x) - digamma(r) + np.log(alpha)
            - w_alive * log_age - w_dropped * log_last,
            r / alpha - (r + x) * (w_alive / (alpha + T) + w_dropped / (alpha + t_x)),
            d_ab - d_abx + w_dropped / a,
            per_count(lambda k: digamma(b + k), x) - d_abx - digamma(b) + d_ab
            - w_dropped / np.maximum(b + x - 1, 1e-300),
        ])
        base = per_count(lambda k: gammaln(r + k) + betaln(a, b + k), x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
        return base + total, grad

    def _log_odds_dead(self, x, t_x, T):
        x, t_x, T = _arrays(x, t_x, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = (np.log(self.a) - np.log(np.maximum(self.b + x - 1, 1e-300))
                    + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))
        return np.where(x > 0, odds, -np.inf)

    def p_alive(self, x, t_x, T):
        """P(alive at T | x, t_x, T): 1 for a customer without repeat purchases."""
        return expit(-self._log_odds_dead(x, t_x, T))

    def expected_purchases(self, t, x, t_x, T):
        """Expected purchases in (T, T + t] given (x, t_x, T)."""
        x, t_x, T, t = _arrays(x, t_x, T, t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        f = scaled_hyp2f1(r + x, a - 1.0, a + b + x - 1.0, t / (alpha + T))
        return (a + b + x - 1.0) * _ratio_of_ones(1.0 - f, a - 1.0) * self.p_alive(x, t_x, T)

    def expected_purchases_new(self, t):
        """Expected repeat purchases in the first ``t`` after a customer's first purchase."""
        (t,) = _arrays(t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        f = scaled_hyp2f1(r, a - 1.0, a + b - 1.0, t / alpha)
        return (a + b - 1.0) * _ratio_of_ones(1.0 - f, a - 1.0)


@dataclass(frozen=True)
class ModifiedBetaGeoParams(_Params):
    """Fitted MBG/NBD: as BG/NBD, but a customer may also drop out right after the first
    purchase, so a one-time buyer's P(alive) falls with age.

    Examples
    --------
    >>> params = ModifiedBetaGeoParams(r=0.5, alpha=5.0, a=1.2, b=3.0)
    >>> bool(params.p_alive(0, 0.0, 50.0) < params.p_alive(0, 0.0, 5.0) < 1.0)
    True
    """

    r: float
    alpha: float
    a: float
    b: float

    name = "mbg/nbd"

    def log_likelihood(self, x, t_x, T):
        """Each customer's log-likelihood of (x, t_x, T)."""
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        base = (per_count(lambda k: gammaln(r + k) + betaln(a, b + k + 1.0), x) - gammaln(r)
                + r * np.log(alpha) - betaln(a, b) - (r + x) * np.log(alpha + T))
        return base + np.logaddexp(0.0, self._log_odds_dead(x, t_x, T))

    def log_likelihood_gradient(self, x, t_x, T):
        """Each customer's log-likelihood and its derivatives by (r, alpha, a, b), shape (4, n)."""
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        log_age, log_last = np.log(alpha + T), np.log(alpha + t_x)
        odds = np.log(a) - np.log(b + x) + (r + x) * (log_age - log_last)
        w_dead = expit(odds)
        d_ab, d_abx = digamma(a + b), per_count(lambda k: digamma(a + b + k + 1.0), x)
        grad = np.stack([
            per_count(lambda k: digamma(r + k), x) - digamma(r) + np.log(alpha) - log_age
            + w_dead * (log_age - log_last),
            r / alpha - (r + x) / (alpha + T) + w_dead * (r + x) * (1 / (alpha + T) - 1 / (alpha + t_x)),
            d_ab - d_abx + w_dead / a,
            per_count(lambda k: digamma(b + k + 1.0), x) - d_abx - digamma(b) + d_ab - w_dead / (b + x),
        ])
        base = (per_count(lambda k: gammaln(r + k) + betaln(a, b + k + 1.0), x) - gammaln(r)
                + r * np.log(alpha) - betaln(a, b) - (r + x) * log_age)
        return base + np.logaddexp(0.0, odds), grad

    def _log_odds_dead(self, x, t_x, T):
        x, t_x, T = _arrays(x, t_x, T)
        return (np.log(self.a) - np.log(self.b + x)
                + (self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + t_x)))

    def p_alive(self, x, t_x, T):
        """P(alive at T | x, t_x, T)."""
        return expit(-self._log_odds_dead(x, t_x, T))

    def expected_purchases(self, t, x, t_x, T):
        """Expected purchases in (T, T + t] given (x, t_x, T)."""
        x, t_x, T, t = _arrays(x, t_x, T, t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        f = scaled_hyp2f1(r + x, a - 1.0, a + b + x, t / (alpha + T))
        return (a + b + x) * _ratio_of_ones(1.0 - f, a - 1.0) * self.p_alive(x, t_x, T)

    def expected_purchases_new(self, t):
        """Expected repeat purchases in the first ``t`` after a customer's first purchase."""
        (t,) = _arrays(t)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        f = scaled_hyp2f1(r, a - 1.0, a + b, t / alpha)
        return b * _ratio_of_ones(1.0 - f, a - 1.0)


@dataclass(frozen=True)
class ParetoNBDParams(_Params):
    """Fitted Pareto/NBD: purchase rates Gamma(r, alpha), lifetimes exponential with rates
    Gamma(s, beta).

    Examples
    --------
    >>> params = ParetoNBDParams(r=0.553, alpha=10.578, s=0.606, beta=11.669)
    >>> bool(params.p_alive(0, 0.0, 60.0) < params.p_alive(0, 0.0, 10.0) < 1.0)
    True
    """

    r: float
    alpha: float
    s: float
    beta: float

    name = "pareto/nbd"

    def _log_a0(self, x, t_x, T):
        """log A_0 of Fader & Hardie's note (the integral over the drop-out time)."""
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        rsx = r + s + x
        low, high = min(alpha, beta), max(alpha, beta)
        second = r + x if alpha < beta else np.full_like(x, s + 1.0)
        gap = high - low
        at_last = log_hyp2f1_one(rsx, second, gap / (high + t_x)) - rsx * np.log(high + t_x)
        at_age = log_hyp2f1_one(rsx, second, gap / (high + T)) - rsx * np.log(high + T)
        return log_diff_exp(at_last, at_age)

    def _log_odds_dead(self, x, t_x, T):
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        return (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T)
                + s * np.log(beta + T) + self._log_a0(x, t_x, T))

    def log_likelihood(self, x, t_x, T):
        """Each customer's log-likelihood of (x, t_x, T)."""
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        base = per_count(lambda k: gammaln(r + k), x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        dead = np.log(s) - np.log(r + s + x) + self._log_a0(x, t_x, T)
        return base + np.logaddexp(alive, dead)

    def p_alive(self, x, t_x, T):
        """P(alive at T | x, t_x, T)."""
        return expit(-self._log_odds_dead(x, t_x, T))

    def _lifetime_share(self, t, T):
        """``(1 - ((beta + T) / (beta + T + t))^(s - 1)) / (s - 1)``, its limit at s = 1."""
        log_ratio = np.log(self.beta + T) - np.log(self.beta + T + t)
        s1 = self.s - 1.0
        if abs(s1) < 1e-9:
            return -log_ratio
        return -np.expm1(s1 * log_ratio) / s1

    def expected_purchases(self, t, x, t_x, T):
        """Expected purchases in (T, T + t] given (x, t_x, T)."""
        x, t_x, T, t = _arrays(x, t_x, T, t)
        rate = (self.r + x) * (self.beta + T) / (self.alpha + T)
        return rate * self._lifetime_share(t, T) * self.p_alive(x, t_x, T)

    def expected_purchases_new(self, t):
        """Expected repeat purchases in the first ``t`` after a customer's first purchase."""
        (t,) = _arrays(t)
        return self.r * self.beta / self.alpha * self._lifetime_share(t, 0.0)


@dataclass(frozen=True)
class GammaGammaParams(_Params):
    """Fitted Gamma-Gamma: a customer's transaction values are Gamma(p, nu) with nu from
    Gamma(q, gamma); the mean value across customers is ``p gamma / (q - 1)``.

    Examples
    --------
    >>> params = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    >>> round(float(params.population_mean()), 2)
    35.22
    >>> round(float(params.expected_value(2, 40.0)), 2)
    39.14
    """

    p: float
    q: float
    gamma: float

    name = "gamma-gamma"

    def log_likelihood(self, x, mean_value):
        """Each repeat customer's log-likelihood of its ``x`` repeat values averaging ``mean_value``."""
        x, m = _arrays(x, mean_value)
        p, q, g = self.p, self.q, self.gamma
        px = p * x
        return (per_count(lambda k: gammaln(p * k + q) - gammaln(p * k) + p * k * np.log(k), x)
                - gammaln(q) + q * np.log(g) + (px - 1.0) * np.log(m) - (px + q) * np.log(g + m * x))

    def log_likelihood_gradient(self, x, mean_value):
        """Each customer's log-likelihood and its derivatives by (p, q, gamma), shape (3, n)."""
        x, m = _arrays(x, mean_value)
        p, q, g = self.p, self.q, self.gamma
        px = p * x
        log_total, log_m = np.log(g + m * x), np.log(m)
        d_all = per_count(lambda k: digamma(p * k + q), x)
        grad = np.stack([
            x * (per_count(lambda k: digamma(p * k + q) - digamma(p * k) + np.log(k), x) + log_m - log_total),
            d_all - digamma(q) + np.log(g) - log_total,
            q / g - (px + q) / (g + m * x),
        ])
        return self.log_likelihood(x, m), grad

    def population_mean(self) -> float:
        """The mean value per purchase across customers (infinite when q <= 1)."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else float("inf")

    def expected_value(self, x, mean_value):
        """E[value per purchase | x, mean_value]: the customer's mean shrunk to the
        population's; the population mean for a customer with no repeat purchase."""
        x, m = _arrays(x, mean_value)
        m = np.where(x > 0, np.nan_to_num(m), 0.0)
        return self.p * (self.gamma + m * x) / (self.p * x + self.q - 1.0)


#: Repeat-purchase models by name (the ``--value-model`` words), their parameter classes.
TRANSACTION_MODELS = {
    "bg/nbd": BetaGeoParams,
    "mbg/nbd": ModifiedBetaGeoParams,
    "pareto/nbd": ParetoNBDParams,
}
