"""The value step (issue 20) at scale: fitting the repeat-purchase model and Gamma-Gamma on
generated customer histories and scoring every customer, against the naive fit that
evaluates the likelihood on every customer instead of on the distinct histories.

    python benchmarks/value.py                       # 100,000 and 1,000,000 customers (~1 min)
    python benchmarks/value.py --sizes 100000 --models pareto/nbd    # Pareto/NBD: 5-7x slower

Histories are generated as a real log gives them: ages up to two years in whole days, a
BG/NBD process for the purchases (rates Gamma(0.25, 4) per week, drop-out Beta(0.8, 2.4),
the last purchase the x-th of the Poisson arrivals, on a whole day), and a Gamma mean value of the repeat purchases; times in
weeks. Each row of the table: customers, the model, the seconds of the whole value step
(collapse, both fits, the scores over a 52-week horizon) and its peak traced memory
(`tracemalloc`, NumPy's arrays included), and the same for the naive fit (the likelihood on
every customer, one row each), which runs only up to ``--naive-up-to`` customers (default
100,000): at 1,000,000 it takes minutes. The issue's target: <= 5 s at 1,000,000, linear.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import pandas as pd

from custseg.valuing.fitting import (
    fit_gamma_gamma,
    fit_transactions,
    maximise_log_likelihood,
)
from custseg.valuing.models import TRANSACTION_MODELS, GammaGammaParams
from custseg.valuing.scores import value_scores

DEFAULT_SIZES = (100_000, 1_000_000)
HORIZON_WEEKS = 52.0


def generate_histories(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` customers' (x, t_x, T, mean_value), times in weeks on whole days.

    Examples
    --------
    >>> table = generate_histories(1000)
    >>> sorted(table.columns), bool((table["t_x"] <= table["T"]).all())
    (['T', 'mean_value', 't_x', 'x'], True)
    """
    rng = np.random.default_rng(seed)
    age_days = rng.integers(1, 731, n)
    rate = rng.gamma(0.25, 1 / 4.0, n)
    drop = rng.beta(0.8, 2.4, n)
    arrivals = rng.poisson(rate * age_days / 7.0)        # purchases of a customer never lost
    x = np.minimum(arrivals, rng.geometric(drop)).astype(float)  # lost after the J-th repeat
    # The x-th of ``arrivals`` uniform times in (0, age): Beta(x, arrivals - x + 1).
    share = rng.beta(np.maximum(x, 1), np.maximum(arrivals - x, 0) + 1.0)
    last_day = np.where(x > 0, np.floor(age_days * share), 0.0)
    nu = rng.gamma(3.7, 1 / 15.0, n)
    mean_value = np.where(x > 0, rng.gamma(6.0 * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), np.nan)
    return pd.DataFrame({"x": x, "t_x": last_day / 7.0, "T": age_days / 7.0, "mean_value": mean_value})


def value_step(table: pd.DataFrame, model: str) -> tuple[float, float]:
    """The weighted value step; returns (log-likelihood, total CLV) as a check."""
    fit = fit_transactions(model, table["x"], table["t_x"], table["T"])
    spend = fit_gamma_gamma(table["x"], table["mean_value"])
    scores = value_scores(fit.params, table, horizon=HORIZON_WEEKS, spend=spend.params)
    return fit.log_likelihood, float(scores["clv"].sum())


def naive_step(table: pd.DataFrame, model: str) -> tuple[float, float]:
    """The same fits with the likelihood evaluated on every customer (weights all 1), and
    the same scores formula applied row by row to every customer."""
    params_class = TRANSACTION_MODELS[model]
    x, t_x, T = (table[c].to_numpy(float) for c in ("x", "t_x", "T"))
    ones = np.ones(len(x))
    values, loglik, _, _ = maximise_log_likelihood(lambda p: params_class(*p).log_likelihood(x, t_x, T),
                                     np.ones(len(params_class.__dataclass_fields__)), ones)
    repeat = (x > 0) & np.isfinite(table["mean_value"].to_numpy())
    xm, mm = x[repeat], table["mean_value"].to_numpy()[repeat]
    spend, _, _, _ = maximise_log_likelihood(lambda p: GammaGammaParams(*p).log_likelihood(xm, mm), np.ones(3), np.ones(len(xm)))
    params = params_class(*values)
    expected = params.expected_purchases(HORIZON_WEEKS, x, t_x, T)
    per = GammaGammaParams(*spend).expected_value(x, table["mean_value"].to_numpy())
    return loglik, float((expected * per).sum())


def measure(step, table: pd.DataFrame, model: str) -> tuple[float, float, tuple[float, float]]:
    """(seconds, peak MiB, the step's check values)."""
    tracemalloc.start()
    start = time.perf_counter()
    result = step(table, model)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--models", nargs="+", default=["mbg/nbd", "bg/nbd"], choices=sorted(TRANSACTION_MODELS))
    parser.add_argument("--naive-up-to", type=int, default=100_000)
    args = parser.parse_args(argv)
    print("| customers | distinct histories | model | weighted s | weighted peak MiB | naive s | naive peak MiB |"
          " log-lik (weighted / naive) |")
    print("|---|---|---|---|---|---|---|---|")
    for n in args.sizes:
        table = generate_histories(n)
        distinct = len(table[["x", "t_x", "T"]].drop_duplicates())
        for model in args.models:
            seconds, peak, (loglik, _) = measure(value_step, table, model)
            naive = "-", "-", "-"
            if n <= args.naive_up_to:
                n_seconds, n_peak, (n_loglik, _) = measure(naive_step, table, model)
                naive = f"{n_seconds:.2f}", f"{n_peak:.0f}", f"{n_loglik:,.1f}"
            print(f"| {n:,} | {distinct:,} | {model} | {seconds:.2f} | {peak:.0f} | {naive[0]} | {naive[1]} |"
                  f" {loglik:,.1f} / {naive[2]} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
