"""Customer tables with planted segments: demo data and ground truth.

`generate_customers` draws customers from a list of plausible archetypes (young high
spenders, affluent low spenders, ...), each a centre per behavioural column, so that the
true segment of every customer is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "ARCHETYPES", "COLUMNS", "NUMERIC_COLUMNS", "Archetype", "customer_ids", "draw_customer_table",
    "draw_segments", "generate_customers",
]

COLUMNS = (
    "customer_id",
    "gender",
    "age",
    "annual_income",
    "spending_score",
    "visits_per_month",
    "online_share",
    "tenure_years",
)
NUMERIC_COLUMNS = COLUMNS[2:]

# Spread of each behavioural column around an archetype's centre.
AGE_SD = 5.0
INCOME_SIGMA = 0.18  # of log income
SCORE_SD = 7.0
VISITS_SD = 1.1
ONLINE_SD = 0.07
TENURE_SD = 1.3


@dataclass(frozen=True)
class Archetype:
    """The centre of one planted segment.

    Parameters
    ----------
    name : str
        Plain-language name of the segment.
    age : float
        Mean age in years.
    income : float
        Median annual income in k$ (income is lognormal around it).
    score : float
        Mean spending score (1-100).
    visits : float
        Mean visits per month.
    online : float
        Mean share of purchases made online (0-1).
    tenure : float
        Mean years as a customer.
    female : float
        Probability that a customer of this segment is female.
    """

    name: str
    age: float
    income: float
    score: float
    visits: float
    online: float
    tenure: float
    female: float


# Order matters: ``n_segments=K`` uses the first K, and the first 3, 4 and 6 are tuned to
# be well separated (see tests/test_generate.py).
ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("Young high spenders", 25, 45, 82, 9.0, 0.72, 1.5, 0.58),
    Archetype("Affluent low spenders", 50, 120, 20, 2.5, 0.30, 7.0, 0.45),
    Archetype("Loyal older regulars", 66, 50, 58, 12.0, 0.08, 16.0, 0.55),
    Archetype("Bargain online shoppers", 35, 28, 35, 3.5, 0.92, 4.0, 0.52),
    Archetype("New customers", 40, 65, 48, 1.2, 0.50, 0.3, 0.50),
    Archetype("Affluent big spenders", 46, 150, 88, 7.0, 0.45, 10.0, 0.48),
    Archetype("Budget families", 40, 36, 64, 6.5, 0.22, 6.0, 0.60),
    Archetype("Students", 20, 14, 50, 4.0, 0.80, 1.0, 0.50),
    Archetype("Retired occasional shoppers", 73, 30, 22, 1.5, 0.05, 12.0, 0.57),
    Archetype("Mid-career careful spenders", 46, 80, 32, 4.5, 0.62, 5.0, 0.47),
    Archetype("Lapsed former regulars", 54, 55, 12, 0.5, 0.30, 10.0, 0.50),
    Archetype("Weekend treat seekers", 31, 58, 72, 5.0, 0.35, 4.0, 0.53),
)


def generate_customers(
    n_customers: int = 2000,
    n_segments: int = 4,
    *,
    random_state: int = 0,
    missing: float = 0.0,
    outliers: float = 0.0,
) -> tuple[pd.DataFrame, pd.Series]:
    """Generate a customer table with planted segments.

    Parameters
    ----------
    n_customers : int, default=2000
        Number of customers (rows); at least ``n_segments``.
    n_segments : int, default=4
        Number of planted segments K; the first K of `ARCHETYPES` are used.
    random_state : int, default=0
        Seed; the same arguments give an identical table.
    missing : float, default=0.0
        Share (0-1) of the non-id cells blanked to missing. When above zero, ``age`` and
        ``spending_score`` become nullable ``Int64`` columns.
    outliers : float, default=0.0
        Share (0-1) of rows given extreme income (x10-30) and visits (x5-10); they keep
        their true segment.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``customer_id``, ``gender``, ``age``, ``annual_income`` (k$),
        ``spending_score``, ``visits_per_month``, ``online_share``, ``tenure_years``.
    truth : pandas.Series
        The planted segment (0..K-1) of each row, named ``"segment"``.

    Examples
    --------
    >>> table, truth = generate_customers(200, 3, random_state=1)
    >>> table.shape, sorted(truth.unique().tolist())
    ((200, 8), [0, 1, 2])
    """
    _check_arguments(n_customers, n_segments, missing, outliers)
    rng = np.random.default_rng(random_state)
    segment = draw_segments(rng, n_customers, n_segments)
    table = draw_customer_table(rng, segment)
    if outliers > 0:
        _plant_outliers(rng, table, outliers)
    if missing > 0:
        table = _blank_cells(rng, table, missing)
    truth = pd.Series(segment, name="segment", dtype="int64")
    return table, truth


def _check_arguments(n_customers: int, n_segments: int, missing: float, outliers: float) -> None:
    if not 1 <= n_segments <= len(ARCHETYPES):
        raise ValueError(f"n_segments={n_segments} should be between 1 and {len(ARCHETYPES)}")
    if n_customers < n_segments:
        raise ValueError(f"n_customers={n_customers} should be >= n_segments={n_segments}")
    for name, value in (("missing", missing), ("outliers", outliers)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}={value} should be a fraction between 0 and 1")


def draw_segments(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Segment of every customer: unequal shares, each >= min(5%, 50%/k), shuffled.

    Examples
    --------
    >>> segment = draw_segments(np.random.default_rng(0), 1000, 4)
    >>> segment.size, bool(np.bincount(segment).min() >= 50)
    (1000, True)
    """
    floor = min(0.05, 0.5 / k)
    shares = floor + (1.0 - floor * k) * rng.dirichlet(np.full(k, 8.0))
    exact = shares * n
    sizes = np.maximum(np.floor(exact).astype(int), 1)
    while sizes.sum() > n:
        sizes[np.argmax(sizes)] -= 1
    by_remainder = np.argsort(np.floor(exact) - exact, kind="stable")
    sizes[by_remainder[: n - sizes.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(k), sizes))


def draw_customer_table(rng: np.random.Generator, segment: np.ndarray) -> pd.DataFrame:
    """A customer table (`COLUMNS`) whose row i is drawn around archetype ``segment[i]``."""
    n = segment.size
    centre = {
        field: np.array([getattr(a, field) for a in ARCHETYPES])[segment]
        for field in ("age", "income", "score", "visits", "online", "tenure", "female")
    }
    age = np.clip(np.rint(rng.normal(centre["age"], AGE_SD)), 18, 80).astype("int64")
    income = centre["income"] * np.exp(rng.normal(0.0, INCOME_SIGMA, n))
    score = np.clip(np.rint(rng.normal(centre["score"], SCORE_SD)), 1, 100).astype("int64")
    visits = np.clip(rng.normal(centre["visits"], VISITS_SD), 0.0, None)
    online = np.clip(rng.normal(centre["online"], ONLINE_SD), 0.0, 1.0)
    tenure = np.clip(rng.normal(centre["tenure"], TENURE_SD), 0.0, None)
    gender = np.where(rng.random(n) < centre["female"], "Female", "Male")
    return pd.DataFrame(
        {
            "customer_id": customer_ids(n),
            "gender": gender,
            "age": age,
            "annual_income": np.maximum(np.round(income, 1), 0.1),
            "spending_score": score,
            "visits_per_month": np.round(visits, 1),
            "online_share": np.round(online, 2),
            "tenure_years": np.round(tenure, 1),
        }
    )


def customer_ids(n: int) -> list[str]:
    """Ids ``C000001``, ``C000002``, ... of ``n`` customers (more digits past a million).

    Examples
    --------
    >>> customer_ids(2)
    ['C000001', 'C000002']
    """
    width = max(6, len(str(n)))
    return [f"C{i:0{width}d}" for i in range(1, n + 1)]


def _plant_outliers(rng: np.random.Generator, table: pd.DataFrame, share: float) -> None:
    """Give ``share`` of the rows extreme income and visits, in place."""
    rows = rng.choice(len(table), size=int(round(share * len(table))), replace=False)
    if rows.size == 0:
        return
    income = table["annual_income"].to_numpy(copy=True)
    visits = table["visits_per_month"].to_numpy(copy=True)
    income[rows] = np.round(income[rows] * rng.uniform(10, 30, rows.size), 1)
    visits[rows] = np.round(np.maximum(visits[rows], 1.0) * rng.uniform(5, 10, rows.size), 1)
    table["annual_income"] = income
    table["visits_per_month"] = visits


def _blank_cells(rng: np.random.Generator, table: pd.DataFrame, share: float) -> pd.DataFrame:
    """Return a copy with ``share`` of the non-id cells set to missing."""
    columns = list(COLUMNS[1:])
    n_cells = len(table) * len(columns)
    picked = rng.choice(n_cells, size=int(round(share * n_cells)), replace=False)
    rows, cols = np.divmod(picked, len(columns))
    out = table.astype({"age": "Int64", "spending_score": "Int64"})
    for j, column in enumerate(columns):
        hit = rows[cols == j]
        if hit.size:
            out.loc[hit, column] = np.nan
    return out
