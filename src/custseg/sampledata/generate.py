"""Realistic customer tables with planted segments: demo data and ground truth.

`generate_customers` draws customers from a list of plausible archetypes (young high
spenders, affluent low spenders, ...), each a centre per behavioural column, so that the
true segment of every customer is known. `generate_transactions` does the same for a retail
order-line log (UCI Online Retail layout) from buyer archetypes (loyal frequent buyers,
lapsed buyers, ...) that differ in how they buy, with seasonality, returns, guest orders
and wholesalers. `write_table` saves any table atomically in the format its file extension
names.
"""

from __future__ import annotations

import functools
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError

__all__ = [
    "ARCHETYPES",
    "BUYER_ARCHETYPES",
    "Archetype",
    "BuyerArchetype",
    "generate_customers",
    "generate_mixed_customers",
    "generate_transactions",
    "move_customers",
    "write_table",
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
WRITE_FORMATS = (".csv", ".tsv", ".parquet", ".xlsx", ".json")

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
    segment = _draw_segments(rng, n_customers, n_segments)
    table = _draw_table(rng, segment)
    if outliers > 0:
        _plant_outliers(rng, table, outliers)
    if missing > 0:
        table = _blank_cells(rng, table, missing)
    truth = pd.Series(segment, name="segment", dtype="int64")
    return table, truth


def move_customers(
    table: pd.DataFrame,
    truth: pd.Series,
    moves: dict[tuple[int, int], int],
    *,
    random_state: int = 0,
) -> tuple[pd.DataFrame, pd.Series]:
    """A later snapshot of the same customers, in which known customers changed segment.

    For each ``(from, to): count`` of ``moves``, ``count`` customers planted in segment
    ``from`` (drawn with the seed) get new behaviour drawn around archetype ``to``; every
    other customer, and every id and gender, stays as it was.

    Parameters
    ----------
    table, truth : DataFrame, Series
        As returned by `generate_customers`.
    moves : dict of (int, int) to int
        Planted segment moved from, planted segment moved to (any index of `ARCHETYPES`,
        so a segment not planted before can appear), and how many customers move.
    random_state : int, default=0
        Seed of the choice of movers and of their new values.

    Returns
    -------
    table : DataFrame
        The new snapshot, same rows and ids.
    truth : Series
        The planted segment of every row after the moves.

    Examples
    --------
    >>> table, truth = generate_customers(300, 3, random_state=0)
    >>> later, moved = move_customers(table, truth, {(0, 2): 20}, random_state=1)
    >>> int(((truth == 0) & (moved == 2)).sum()), bool((later["customer_id"] == table["customer_id"]).all())
    (20, True)
    """
    rng = np.random.default_rng(random_state)
    segment = truth.to_numpy(dtype="int64", copy=True)
    chosen = np.zeros(len(segment), dtype=bool)
    for (source, target), count in sorted(moves.items()):
        if not 0 <= target < len(ARCHETYPES):
            raise ValueError(f"target segment {target} should be between 0 and {len(ARCHETYPES) - 1}")
        members = np.flatnonzero((segment == source) & ~chosen)
        if count > members.size:
            raise ValueError(f"cannot move {count} customers out of segment {source}: it has {members.size}")
        movers = np.sort(rng.choice(members, count, replace=False))
        chosen[movers] = True
        segment[movers] = target
    later = table.copy()
    rows = np.flatnonzero(chosen)
    if rows.size:
        redrawn = _draw_table(rng, segment[rows])
        for column in NUMERIC_COLUMNS:
            values = later[column].to_numpy(copy=True)
            values[rows] = redrawn[column].to_numpy()
            later[column] = values
    return later, pd.Series(segment, name="segment", dtype="int64")


def _check_arguments(n_customers: int, n_segments: int, missing: float, outliers: float) -> None:
    if not 1 <= n_segments <= len(ARCHETYPES):
        raise ValueError(f"n_segments={n_segments} should be between 1 and {len(ARCHETYPES)}")
    if n_customers < n_segments:
        raise ValueError(f"n_customers={n_customers} should be >= n_segments={n_segments}")
    for name, value in (("missing", missing), ("outliers", outliers)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}={value} should be a fraction between 0 and 1")


def _draw_segments(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Segment of every customer: unequal shares, each >= min(5%, 50%/k), shuffled."""
    floor = min(0.05, 0.5 / k)
    shares = floor + (1.0 - floor * k) * rng.dirichlet(np.full(k, 8.0))
    exact = shares * n
    sizes = np.maximum(np.floor(exact).astype(int), 1)
    while sizes.sum() > n:
        sizes[np.argmax(sizes)] -= 1
    by_remainder = np.argsort(np.floor(exact) - exact, kind="stable")
    sizes[by_remainder[: n - sizes.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(k), sizes))


def _draw_table(rng: np.random.Generator, segment: np.ndarray) -> pd.DataFrame:
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
            "customer_id": _customer_ids(n),
            "gender": gender,
            "age": age,
            "annual_income": np.maximum(np.round(income, 1), 0.1),
            "spending_score": score,
            "visits_per_month": np.round(visits, 1),
            "online_share": np.round(online, 2),
            "tenure_years": np.round(tenure, 1),
        }
    )


def _customer_ids(n: int) -> list[str]:
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


# --- Mixed numeric and categorical customers ------------------------------------------------

#: Categorical columns of `generate_mixed_customers` and their levels.
MIXED_LEVELS = {
    "channel": ("store", "online", "app"),
    "region": ("north", "south", "east", "west"),
    "plan": ("basic", "plus", "premium"),
}
#: Index of each planted segment's dominant level in every categorical column (row: segment).
#: Any two of the first four segments differ in at least two of the three columns; segments
#: 2s and 2s + 1, which share their numbers in the ``paired`` scenario, differ in all three.
MIXED_PATTERNS = (
    (0, 0, 0),
    (1, 1, 2),
    (2, 2, 1),
    (0, 3, 2),
    (1, 0, 1),
    (2, 1, 0),
)
MIXED_NUMERIC = ("age", "annual_income", "spending_score", "visits_per_month")
MIXED_SCENARIOS = ("paired", "categorical", "both")


def generate_mixed_customers(
    n_customers: int = 2000,
    n_segments: int = 4,
    *,
    scenario: str = "paired",
    level_share: float = 0.7,
    random_state: int = 0,
) -> tuple[pd.DataFrame, pd.Series]:
    """Generate customers with numeric and categorical columns and planted segments in which
    the categoricals carry part (or all) of the signal.

    Every segment has a dominant level in each of ``channel`` (3 levels), ``region`` (4)
    and ``plan`` (3), drawn with probability ``level_share`` (the other levels share the
    rest equally); the numeric columns ``age``, ``annual_income``, ``spending_score`` and
    ``visits_per_month`` follow `ARCHETYPES` in a way the scenario sets:

    - ``paired``: segments 2s and 2s + 1 share the numbers of archetype s; only the
      categoricals tell them apart (the numbers alone find half the segments);
    - ``categorical``: every segment has the same numbers (the first ``n_segments``
      archetypes' mean); only the categoricals carry the segments;
    - ``both``: each segment has its own archetype's numbers, pulled halfway to the mean,
      and its own levels: both kinds of column carry part of the signal.

    Parameters
    ----------
    n_customers : int, default=2000
    n_segments : int, default=4
        Planted segments, 1 to 6.
    scenario : {"paired", "categorical", "both"}, default="paired"
    level_share : float, default=0.7
        Probability of a segment's dominant level in each categorical column.
    random_state : int, default=0

    Returns
    -------
    table : pandas.DataFrame
        ``customer_id``, the four numeric columns, ``channel``, ``region`` and ``plan``.
    truth : pandas.Series
        The planted segment (0..K-1) of each row, named ``"segment"``.

    Examples
    --------
    >>> table, truth = generate_mixed_customers(400, 4, scenario="paired", random_state=1)
    >>> table.columns.tolist()
    ['customer_id', 'age', 'annual_income', 'spending_score', 'visits_per_month', 'channel', 'region', 'plan']
    >>> float((table["channel"][truth == 0] == "store").mean()) > 0.6
    True
    """
    if scenario not in MIXED_SCENARIOS:
        raise ValueError(f"scenario={scenario!r} should be one of {', '.join(MIXED_SCENARIOS)}")
    if not 1 <= n_segments <= len(MIXED_PATTERNS):
        raise ValueError(f"n_segments={n_segments} should be between 1 and {len(MIXED_PATTERNS)}")
    if n_customers < n_segments:
        raise ValueError(f"n_customers={n_customers} should be >= n_segments={n_segments}")
    if not 0.0 <= level_share <= 1.0:
        raise ValueError(f"level_share={level_share} should be a probability between 0 and 1")
    rng = np.random.default_rng(random_state)
    segment = _draw_segments(rng, n_customers, n_segments)
    archetype = segment // 2 if scenario == "paired" else segment
    used = range(int(archetype.max()) + 1 if scenario == "paired" else n_segments)
    pull = {"paired": 1.0, "categorical": 0.0, "both": 0.5}[scenario]
    centre = {}
    for field in ("age", "income", "score", "visits"):
        values = np.array([getattr(ARCHETYPES[a], field) for a in used], dtype="float64")
        if field == "income":
            values = np.log(values)
        values = values.mean() + pull * (values - values.mean())
        centre[field] = (np.exp(values) if field == "income" else values)[archetype]
    n = segment.size
    table = pd.DataFrame({
        "customer_id": _customer_ids(n),
        "age": np.clip(np.rint(rng.normal(centre["age"], AGE_SD)), 18, 80).astype("int64"),
        "annual_income": np.maximum(np.round(centre["income"] * np.exp(rng.normal(0.0, INCOME_SIGMA, n)), 1), 0.1),
        "spending_score": np.clip(np.rint(rng.normal(centre["score"], SCORE_SD)), 1, 100).astype("int64"),
        "visits_per_month": np.round(np.clip(rng.normal(centre["visits"], VISITS_SD), 0.0, None), 1),
    })
    for j, (column, levels) in enumerate(MIXED_LEVELS.items()):
        dominant = np.array([MIXED_PATTERNS[s][j] for s in range(n_segments)])[segment]
        other = (dominant + rng.integers(1, len(levels), n)) % len(levels)
        chosen = np.where(rng.random(n) < level_share, dominant, other)
        table[column] = np.asarray(levels, dtype=object)[chosen]
    return table, pd.Series(segment, name="segment", dtype="int64")


# --- Transaction logs ---------------------------------------------------------------------

TRANSACTION_COLUMNS = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
TEXT = pa.large_string()  # what pandas keeps its str columns in
FIRST_INVOICE = 100001  # invoices are numbered in time order from here
FIRST_CUSTOMER_ID = 10001
FAVOURITES = 12  # products each customer tends to buy again
MONTH_DAYS = 30.4
COUNTRIES = (
    "United Kingdom",
    "Germany",
    "France",
    "EIRE",
    "Spain",
    "Netherlands",
    "Belgium",
    "Switzerland",
    "Portugal",
    "Norway",
)
COUNTRY_SHARES = (0.86, 0.03, 0.03, 0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01)
MOVERS = 0.01  # share of customers who also order from a second country ...
MOVER_ORDERS = 0.3  # ... for this share of their orders
# Seasonality of every archetype: weight of each calendar month (Jan..Dec) and weekday (Mon..Sun).
MONTH_WEIGHTS = (0.85, 0.8, 0.9, 0.85, 0.9, 0.9, 0.88, 0.92, 1.15, 1.3, 1.9, 1.9)
WEEKDAY_WEIGHTS = (1.1, 1.15, 1.1, 1.25, 0.95, 0.3, 0.75)
SEASON_MONTHS = (11, 12)
SHOP_HOURS = np.arange(7, 21)
HOUR_WEIGHTS = np.array([0.3, 1.0, 1.5, 1.8, 2.0, 2.0, 1.8, 1.6, 1.4, 1.2, 0.8, 0.5, 0.3, 0.2])
# Units per order line snap to the pack sizes a shop sells.
PACK_SIZES = np.array(
    [1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 25, 30, 32, 36, 48, 50, 60, 64, 72, 80, 96, 100,
     120, 144, 150, 192, 200, 240, 288, 300, 384, 400, 480, 500, 576, 600, 720, 960, 1000]
)  # fmt: skip
# Non-product codes (postage, carriage, manual adjustments) appear beside the catalogue.
NON_PRODUCT_CODES = (
    ("POST", "POSTAGE"),
    ("C2", "CARRIAGE"),
    ("DOT", "DOTCOM POSTAGE"),
    ("M", "Manual"),
)
POSTAGE_PRICE = {"Switzerland": 40.0, "Norway": 40.0}  # other countries outside the UK: 18.00
CARRIAGE_PRICE = 50.0  # C2, on orders from EIRE
POSTAGE_SHARE = 0.8  # of orders from outside the UK and EIRE that carry a POST line
CARRIAGE_SHARE = 0.6  # of orders from EIRE that carry a C2 line
DOTCOM_SHARE = 0.6  # of guest orders that carry a DOT line
MANUAL_SHARE = 0.003  # of customer orders with a manual adjustment line
GUEST_LINES = 8.0  # mean product lines of a guest order
GUEST_QUANTITY = 3.0


@dataclass(frozen=True)
class BuyerArchetype:
    """How the customers of one planted behaviour segment buy.

    Parameters
    ----------
    name : str
        Plain-language name of the segment.
    orders : float
        Mean number of orders in the period (`min_orders` + a gamma-Poisson count);
        ignored when `pattern` is ``"monthly"``.
    first, last : tuple of float
        Ranges, as fractions of the period (0 = `start`, 1 = `end`), from which the first and
        the last day of each customer's active window are drawn uniformly; orders fall inside
        that window, following the shop's seasonality.
    lines : float
        Mean number of product lines per order.
    quantity : float
        Typical units per line (each customer has a habit around it; lines snap to pack sizes).
    cheapness : float
        Tilt of product choice by price: weights are popularity x price**-cheapness, so
        positive values favour cheap items and negative values dear ones.
    returns : float
        Multiplier of the `returns` share of invoices that get a cancellation invoice.
    return_lines : float
        Share of the lines of a returned invoice that are cancelled.
    loyalty : float
        Share of lines taken from the customer's own favourite products.
    pattern : {"spread", "season", "monthly"}
        ``"spread"``: orders anywhere in the window; ``"season"``: only in November and
        December (anywhere when the period has neither); ``"monthly"``: one order about every
        30 days from the first to the last day of the window.
    min_orders : int
        Fewest orders a customer of this segment places.
    """

    name: str
    orders: float
    first: tuple[float, float]
    last: tuple[float, float]
    lines: float
    quantity: float
    cheapness: float = 0.0
    returns: float = 1.0
    return_lines: float = 0.2
    loyalty: float = 0.3
    pattern: str = "spread"
    min_orders: int = 1


# Order matters: ``n_segments=K`` uses the first K, and the first 4 are tuned to be well
# separated on RFM-style features (see tests/test_generate.py).
BUYER_ARCHETYPES: tuple[BuyerArchetype, ...] = (
    BuyerArchetype(
        "Loyal frequent buyers", 22, (0.0, 0.1), (0.96, 1.0), 9, 6, loyalty=0.5, min_orders=8
    ),
    BuyerArchetype(
        "Big-basket occasional buyers", 3, (0.0, 0.3), (0.8, 1.0), 35, 12, -0.3, min_orders=2
    ),
    BuyerArchetype("One-time recent buyers", 1, (0.84, 1.0), (0.84, 1.0), 10, 4),
    BuyerArchetype("Lapsed buyers", 5, (0.0, 0.05), (0.15, 0.25), 6, 4, min_orders=2),
    BuyerArchetype("Bargain hunters", 14, (0.0, 0.25), (0.75, 1.0), 4, 3, 2.0, min_orders=4),
    BuyerArchetype(
        "High-return customers",
        8,
        (0.0, 0.3),
        (0.7, 1.0),
        5,
        2,
        -1.0,
        returns=15,
        return_lines=0.7,
        min_orders=3,
    ),
    BuyerArchetype("Seasonal shoppers", 3, (0.0, 0.0), (1.0, 1.0), 16, 5, -0.3, pattern="season"),
    BuyerArchetype(
        "Monthly subscribers", 12, (0.0, 0.1), (0.9, 1.0), 6, 3, loyalty=0.9, pattern="monthly"
    ),
    BuyerArchetype("New regulars", 8, (0.6, 0.72), (0.92, 1.0), 8, 5, min_orders=3),
    BuyerArchetype("Premium gift buyers", 4, (0.0, 0.4), (0.6, 1.0), 5, 1.5, -1.5),
)

# The shop's catalogue: word lists combined into a few hundred products with prices.
CATALOGUE_SIZE = 320
CATALOGUE_SEED = 536365  # the catalogue is the same for every random_state
CATALOGUE_ITEMS = (
    ("T-LIGHT HOLDER", 2.95),
    ("HANGING LANTERN", 3.75),
    ("COAT HANGER", 2.75),
    ("HOT WATER BOTTLE", 4.25),
    ("LUNCH BAG", 1.65),
    ("JUMBO BAG", 2.08),
    ("CAKE STAND", 9.95),
    ("WALL CLOCK", 8.50),
    ("PHOTO FRAME", 2.55),
    ("MUG", 1.25),
    ("PAPER NAPKINS", 0.85),
    ("WRAPPING PAPER", 0.42),
    ("DOORMAT", 7.95),
    ("CUSHION COVER", 3.75),
    ("TEA SET", 4.95),
    ("PARTY BUNTING", 4.95),
    ("STORAGE TIN", 3.25),
    ("CHILDRENS APRON", 1.95),
    ("KEY RING", 0.65),
    ("FAIRY LIGHTS", 5.95),
    ("NOTEBOOK", 1.65),
    ("SHOPPING BAG", 1.25),
    ("SCENTED CANDLE", 0.85),
    ("BAKING SET", 4.95),
    ("DOOR STOP", 4.25),
    ("CHALKBOARD", 4.95),
    ("TRINKET BOX", 1.25),
    ("PLASTERS IN TIN", 1.65),
    ("RECIPE BOX", 2.95),
    ("PICNIC BASKET", 12.75),
    ("GARDEN SIGN", 2.10),
    ("WICKER HAMPER", 19.95),
    ("GLASS CHANDELIER", 24.95),
    ("WOODEN PLANTER", 14.95),
    ("CERAMIC JUG", 6.35),
    ("GIFT TAPE", 0.29),
    ("PENCIL SET", 0.39),
    ("EGG CUP", 1.25),
    ("TISSUE BOX", 1.45),
    ("STRING OF BEADS", 0.55),
)
CATALOGUE_COLOURS = (
    "WHITE", "RED", "PINK", "BLUE", "GREEN", "IVORY", "BLACK", "CREAM", "VINTAGE", "RETRO",
    "PAISLEY", "SILVER", "GOLD", "PASTEL",
)  # fmt: skip
CATALOGUE_MOTIFS = (
    "HEART", "SPOTTY", "FLORAL", "STAR", "BIRD", "ROSE", "CHRISTMAS", "UNION JACK", "POLKADOT",
    "REGENCY", "DOLLY GIRL", "SPACEBOY", "LOVE", "SKULL", "STRAWBERRY", "OWL",
)  # fmt: skip


@functools.lru_cache(maxsize=1)
def _catalogue() -> tuple[pa.Array, pa.Array, np.ndarray, np.ndarray]:
    """Stock codes, descriptions, prices and popularity of the products, then the
    non-product codes (`NON_PRODUCT_CODES`, price 0: set per line)."""
    rng = np.random.default_rng(CATALOGUE_SEED)
    n_combinations = len(CATALOGUE_ITEMS) * len(CATALOGUE_COLOURS) * len(CATALOGUE_MOTIFS)
    picked = rng.choice(n_combinations, size=CATALOGUE_SIZE, replace=False)
    item, rest = np.divmod(picked, len(CATALOGUE_COLOURS) * len(CATALOGUE_MOTIFS))
    colour, motif = np.divmod(rest, len(CATALOGUE_MOTIFS))
    base = np.array([price for _, price in CATALOGUE_ITEMS])[item]
    price = base * rng.uniform(0.8, 1.25, CATALOGUE_SIZE)
    # Shop prices: to the cent below one pound, to five pence above.
    price = np.where(price < 1.0, np.round(price, 2), np.round(price * 20) / 20)
    numbers = rng.choice(np.arange(20000, 90000), size=CATALOGUE_SIZE, replace=False)
    letters = rng.choice(list("ABCDEFGHJKLMNPRSW"), CATALOGUE_SIZE)
    suffix = np.where(rng.random(CATALOGUE_SIZE) < 0.25, letters, "")  # colour variants
    codes = [f"{n}{s}" for n, s in zip(numbers.tolist(), suffix.tolist(), strict=True)]
    descriptions = [
        f"{CATALOGUE_COLOURS[c]} {CATALOGUE_MOTIFS[m]} {CATALOGUE_ITEMS[i][0]}"
        for i, c, m in zip(item.tolist(), colour.tolist(), motif.tolist(), strict=True)
    ]
    popularity = 1.0 / np.arange(1, CATALOGUE_SIZE + 1) ** 0.4
    popularity = rng.permutation(popularity)
    codes += [code for code, _ in NON_PRODUCT_CODES]
    descriptions += [text for _, text in NON_PRODUCT_CODES]
    price = np.concatenate([price, np.zeros(len(NON_PRODUCT_CODES))])
    for array in (price, popularity):
        array.flags.writeable = False
    return pa.array(codes, TEXT), pa.array(descriptions, TEXT), price, popularity


def _non_product(code: str) -> int:
    """Catalogue index of a non-product code."""
    return CATALOGUE_SIZE + [c for c, _ in NON_PRODUCT_CODES].index(code)


def generate_transactions(
    n_customers: int = 2000,
    n_segments: int = 4,
    *,
    random_state: int = 0,
    start: str = "2024-01-01",
    end: str = "2024-12-31",
    missing_ids: float = 0.02,
    returns: float = 0.03,
    wholesalers: float = 0.005,
) -> tuple[pd.DataFrame, pd.Series]:
    """Generate a retail order-line log with planted behaviour segments.

    Customers are drawn from `BUYER_ARCHETYPES` (loyal frequent buyers, big-basket
    occasional buyers, one-time recent buyers, lapsed buyers, ...), which differ in how
    often, when, how much and what they buy, so that the true segment of every customer is
    known. Orders follow the shop's seasonality (busier in November and December, quiet on
    Saturdays), products come from a fixed catalogue of 320 items, and the log has what real
    exports have: cancellations, non-product codes (``POST``, ``C2``, ``DOT``, ``M``), guest
    orders without a customer id, a few wholesalers and a few customers in two countries.

    Parameters
    ----------
    n_customers : int, default=2000
        Number of customers with an id; at least ``n_segments``.
    n_segments : int, default=4
        Number of planted segments K; the first K of `BUYER_ARCHETYPES` are used.
    random_state : int, default=0
        Seed; the same arguments give an identical log.
    start, end : str, default="2024-01-01", "2024-12-31"
        First and last day of the log (``YYYY-MM-DD``); `end` after `start`.
    missing_ids : float, default=0.02
        Share (0 to below 1) of all lines that have no customer id: the lines of extra
        guest orders, which belong to no customer and are not in `truth`.
    returns : float, default=0.03
        Share (0-1) of invoices that get a cancellation invoice: some of their lines, with
        negative quantity, dated 1-21 days later (sooner near the end of the period, when
        it may fall later on the same day). High-return customers get 15 times this share
        (at most all invoices).
    wholesalers : float, default=0.005
        Share (0-1) of customers who buy 20-100 times the usual quantities; they keep their
        archetype in `truth`. With the same other arguments, only their quantities change.

    Returns
    -------
    lines : pandas.DataFrame
        One row per order line in the UCI Online Retail layout, sorted by date then
        invoice. ``InvoiceNo`` (str: 6 digits from 100001, numbered in time order, more
        digits past 999999; ``"C"`` + number for cancellations), ``StockCode`` (str),
        ``Description`` (str), ``Quantity`` (int64, negative on cancellations),
        ``InvoiceDate`` (str, ``"YYYY-MM-DD HH:MM:SS"``), ``UnitPrice`` (float64, 2
        decimals), ``CustomerID`` (str from ``"10001"``; missing on guest orders),
        ``Country`` (str).
    truth : pandas.Series
        The planted segment (0..K-1) of each customer, indexed by ``CustomerID`` (str) in
        id order, named ``"segment"``.

    Notes
    -----
    Expected lines per customer of each archetype (purchases, postage and cancellations,
    over the default one-year period):

    ============================  =====
    archetype                     lines
    ============================  =====
    Loyal frequent buyers           200
    Big-basket occasional buyers    105
    One-time recent buyers           10
    Lapsed buyers                    31
    Bargain hunters                  58
    High-return customers            54
    Seasonal shoppers                50
    Monthly subscribers              70
    New regulars                     65
    Premium gift buyers              20
    ============================  =====

    Segment sizes differ; with the default settings a log has about 88 lines per customer
    with K = 4, guest lines included (100,000 customers: about 8.8 million lines, built in
    a few seconds with under 3 GB of memory at peak), and about 68 with K = 10.

    Examples
    --------
    >>> lines, truth = generate_transactions(200, 3, random_state=1)
    >>> lines.columns[:4].tolist()
    ['InvoiceNo', 'StockCode', 'Description', 'Quantity']
    >>> truth.index.name, sorted(truth.unique().tolist())
    ('CustomerID', [0, 1, 2])
    """
    first_day, n_days = _check_transaction_arguments(
        n_customers, n_segments, start, end, missing_ids, returns, wholesalers
    )
    rng = np.random.default_rng(random_state)
    segment = _draw_segments(rng, n_customers, n_segments)
    home, away = _draw_countries(rng, n_customers)
    calendar = _calendar(first_day, n_days)
    orders, bought = _draw_customer_orders(rng, segment, n_segments, home, away, calendar, returns)
    extras = _draw_extra_lines(rng, orders)
    cancellations, returned = _draw_cancellations(rng, orders, bought, n_days)
    n_customer_lines = bought["invoice"].size + extras["invoice"].size + returned["invoice"].size
    n_guest_lines = int(round(missing_ids * n_customer_lines / (1.0 - missing_ids)))
    guests, guest_lines = _draw_guest_orders(rng, n_guest_lines, calendar)
    invoices, lines = _stack(
        [orders, cancellations, guests], [[bought, extras], [returned], guest_lines]
    )
    _plant_wholesalers(rng, n_customers, wholesalers, invoices, lines)
    ids = [str(FIRST_CUSTOMER_ID + i) for i in range(n_customers)]
    table = _assemble(invoices, lines, first_day, n_days, ids)
    truth = pd.Series(
        segment, index=pd.Index(ids, name="CustomerID"), name="segment", dtype="int64"
    )
    return table, truth


def _check_transaction_arguments(
    n_customers: int,
    n_segments: int,
    start: str,
    end: str,
    missing_ids: float,
    returns: float,
    wholesalers: float,
) -> tuple[np.datetime64, int]:
    """Validate the arguments; return the first day and the number of days."""
    if not 1 <= n_segments <= len(BUYER_ARCHETYPES):
        raise ValueError(
            f"n_segments={n_segments} should be between 1 and {len(BUYER_ARCHETYPES)}"
        )
    if n_customers < n_segments:
        raise ValueError(f"n_customers={n_customers} should be >= n_segments={n_segments}")
    if not 0.0 <= missing_ids < 1.0:
        raise ValueError(f"missing_ids={missing_ids} should be a fraction >= 0 and below 1")
    for name, value in (("returns", returns), ("wholesalers", wholesalers)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name}={value} should be a fraction between 0 and 1")
    first, last = _parse_day("start", start), _parse_day("end", end)
    if last <= first:
        raise ValueError(f"end={end!r} should be after start={start!r}")
    return first, int((last - first) // np.timedelta64(1, "D")) + 1


def _parse_day(name: str, value: str) -> np.datetime64:
    try:
        day = pd.Timestamp(value)
    except (TypeError, ValueError):
        day = pd.NaT
    if pd.isna(day):
        raise ValueError(f"{name}={value!r} is not a date; use YYYY-MM-DD")
    return np.datetime64(day.date(), "D")


def _draw_countries(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Home country of each customer and a second one (the same except for movers)."""
    home = rng.choice(len(COUNTRIES), size=n, p=np.asarray(COUNTRY_SHARES))
    away = home.copy()
    movers = np.flatnonzero(rng.random(n) < MOVERS)
    away[movers] = (home[movers] + rng.integers(1, len(COUNTRIES), movers.size)) % len(COUNTRIES)
    return home, away


def _calendar(first_day: np.datetime64, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative day weights (length n_days + 1): all year, and November-December only."""
    days = first_day + np.arange(n_days)
    month = days.astype("datetime64[M]").astype(np.int64) % 12  # 0 = January
    weekday = (days.astype(np.int64) + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    base = np.asarray(MONTH_WEIGHTS)[month] * np.asarray(WEEKDAY_WEIGHTS)[weekday]
    season = base * np.isin(month + 1, SEASON_MONTHS)
    if not season.any():
        season = base
    return np.concatenate([[0.0], np.cumsum(base)]), np.concatenate([[0.0], np.cumsum(season)])


def _draw_days(
    rng: np.random.Generator, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """One day in [lo, hi] per entry, following the cumulative day weights ``cum``."""
    low, high = cum[lo], cum[hi + 1]
    day = np.searchsorted(cum, low + rng.random(lo.size) * (high - low), side="right") - 1
    return np.clip(day, lo, hi)


def _draw_minutes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Minute of the day of ``n`` orders, in shop hours."""
    hour = rng.choice(SHOP_HOURS, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    return hour * 60 + rng.integers(0, 60, n)


def _snap_to_packs(units: np.ndarray) -> np.ndarray:
    """The pack size nearest to each value, on a log scale."""
    bounds = np.sqrt(PACK_SIZES[:-1] * PACK_SIZES[1:])
    return PACK_SIZES[np.searchsorted(bounds, units)].astype(np.int64)


def _draw_products(
    rng: np.random.Generator, cum: np.ndarray, size: int | tuple[int, int]
) -> np.ndarray:
    """Catalogue indices drawn from the cumulative product weights ``cum``."""
    return np.minimum(np.searchsorted(cum, rng.random(size), side="right"), CATALOGUE_SIZE - 1)


def _product_cdf(cheapness: float) -> np.ndarray:
    """Cumulative product weights: popularity tilted by price**-cheapness."""
    _, _, price, popularity = _catalogue()
    weights = popularity * price[:CATALOGUE_SIZE] ** -cheapness
    return np.cumsum(weights / weights.sum())


def _within(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c-1 for each count c, concatenated."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _draw_customer_orders(
    rng: np.random.Generator,
    segment: np.ndarray,
    n_segments: int,
    home: np.ndarray,
    away: np.ndarray,
    calendar: tuple[np.ndarray, np.ndarray],
    returns: float,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Orders of every customer, archetype by archetype, and their product lines."""
    base_cum, season_cum = calendar
    n_days = base_cum.size - 1
    _, _, price, _ = _catalogue()
    order_parts, line_parts = [], []
    n_before = 0
    for j, arch in enumerate(BUYER_ARCHETYPES[:n_segments]):
        members = np.flatnonzero(segment == j)
        m = members.size
        a = np.rint(rng.uniform(*arch.first, m) * (n_days - 1)).astype(np.int64)
        b = np.rint(rng.uniform(*arch.last, m) * (n_days - 1)).astype(np.int64)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        if arch.pattern == "monthly":
            counts = ((hi - lo) / MONTH_DAYS).astype(np.int64) + 1
            who = np.repeat(np.arange(m), counts)
            step = np.rint(_within(counts) * MONTH_DAYS).astype(np.int64)
            day = np.clip(lo[who] + step + rng.integers(-2, 3, who.size), 0, n_days - 1)
        else:
            extra = max(arch.orders - arch.min_orders, 0.0) * rng.gamma(6.0, 1.0 / 6.0, m)
            counts = arch.min_orders + rng.poisson(extra)
            who = np.repeat(np.arange(m), counts)
            cum = season_cum if arch.pattern == "season" else base_cum
            day = _draw_days(rng, cum, lo[who], hi[who])
        n = who.size
        customer = members[who]
        moved = rng.random(n) < MOVER_ORDERS
        n_lines = 1 + rng.poisson((arch.lines - 1.0) * rng.gamma(5.0, 1.0 / 5.0, m)[who])
        order_parts.append(
            {
                "customer": customer,
                "day": day,
                "minute": _draw_minutes(rng, n),
                "country": np.where(moved, away[customer], home[customer]),
                "n_lines": n_lines,
                "p_return": np.full(n, min(1.0, returns * arch.returns)),
                "return_lines": np.full(n, arch.return_lines),
            }
        )
        order = np.repeat(np.arange(n), n_lines)
        line_who = who[order]
        habit = arch.quantity * np.exp(rng.normal(0.0, 0.3, m))
        quantity = _snap_to_packs(habit[line_who] * np.exp(rng.normal(0.0, 0.6, order.size)))
        cdf = _product_cdf(arch.cheapness)
        favourites = _draw_products(rng, cdf, (m, FAVOURITES))
        fresh = _draw_products(rng, cdf, order.size)
        pick = rng.integers(0, FAVOURITES, order.size)
        loyal = rng.random(order.size) < arch.loyalty
        product = np.where(loyal, favourites[line_who, pick], fresh)
        line_parts.append(
            {
                "invoice": order + n_before,
                "pos": _within(n_lines),
                "product": product,
                "quantity": quantity,
                "price": price[product],
            }
        )
        n_before += n
    return _concat(order_parts), _concat(line_parts)


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    keys = parts[0].keys()
    return {key: np.concatenate([part[key] for part in parts]) for key in keys}


def _lines_block(invoice, pos, product, quantity, price) -> dict[str, np.ndarray]:
    return {
        "invoice": np.asarray(invoice, dtype=np.int64),
        "pos": np.asarray(pos, dtype=np.int64),
        "product": np.asarray(product, dtype=np.int64),
        "quantity": np.asarray(quantity, dtype=np.int64),
        "price": np.asarray(price, dtype=np.float64),
    }


def _draw_extra_lines(
    rng: np.random.Generator, orders: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Postage (POST outside the UK, C2 carriage to EIRE) and rare manual lines, each after
    the product lines of its order."""
    n = orders["day"].size
    country = orders["country"]
    eire = country == COUNTRIES.index("EIRE")
    abroad = (country != COUNTRIES.index("United Kingdom")) & ~eire
    post = abroad & (rng.random(n) < POSTAGE_SHARE)
    carriage = eire & (rng.random(n) < CARRIAGE_SHARE)
    manual = rng.random(n) < MANUAL_SHARE
    shipped = np.flatnonzero(post | carriage)
    post_price = np.array([POSTAGE_PRICE.get(name, 18.0) for name in COUNTRIES])
    shipping = _lines_block(
        shipped,
        orders["n_lines"][shipped],
        np.where(post[shipped], _non_product("POST"), _non_product("C2")),
        np.where(post[shipped], rng.integers(1, 4, shipped.size), 1),
        np.where(post[shipped], post_price[country[shipped]], CARRIAGE_PRICE),
    )
    adjusted = np.flatnonzero(manual)
    adjustments = _lines_block(
        adjusted,
        orders["n_lines"][adjusted] + (post | carriage)[adjusted],
        np.full(adjusted.size, _non_product("M")),
        np.ones(adjusted.size),
        np.round(rng.uniform(0.5, 60.0, adjusted.size), 2),
    )
    return _concat([shipping, adjustments])


def _draw_cancellations(
    rng: np.random.Generator,
    orders: dict[str, np.ndarray],
    bought: dict[str, np.ndarray],
    n_days: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Cancellation invoices for some orders: a subset of their product lines, later."""
    n = orders["day"].size
    chosen = rng.random(n) < orders["p_return"]
    of_line = bought["invoice"]
    picked = chosen[of_line] & (rng.random(of_line.size) < orders["return_lines"][of_line])
    has_line = np.zeros(n, dtype=bool)
    has_line[of_line[picked]] = True
    bare = np.flatnonzero(chosen & ~has_line)  # cancel at least one line of each
    first_line = np.cumsum(orders["n_lines"]) - orders["n_lines"]
    picked[first_line[bare] + rng.integers(0, orders["n_lines"][bare])] = True
    cancelled = np.flatnonzero(chosen)
    cancel_of_order = np.full(n, -1, dtype=np.int64)
    cancel_of_order[cancelled] = np.arange(cancelled.size)
    src = np.flatnonzero(picked)
    invoice = cancel_of_order[of_line[src]]
    bought_units = bought["quantity"][src]
    back = np.where(rng.random(src.size) < 0.3, bought_units, rng.integers(1, bought_units + 1))
    returned = _lines_block(
        invoice,
        _within(np.bincount(invoice, minlength=cancelled.size)),
        bought["product"][src],
        -back,
        bought["price"][src],
    )
    order_day = orders["day"][cancelled]
    order_minute = orders["minute"][cancelled]
    day = order_day + rng.integers(1, 22, cancelled.size)
    late = np.flatnonzero(day >= n_days)  # past the end: any day from the order's to the last
    spread = rng.random(late.size) * (n_days - order_day[late])
    day[late] = order_day[late] + spread.astype(np.int64)
    minute = _draw_minutes(rng, cancelled.size)
    same_day = np.flatnonzero(day == order_day)  # near the end: later the same day
    minute[same_day] = order_minute[same_day] + rng.integers(30, 181, same_day.size)
    invoices = {
        "customer": orders["customer"][cancelled],
        "day": day,
        "minute": minute,
        "country": orders["country"][cancelled],
        "cancel": np.ones(cancelled.size, dtype=bool),
    }
    return invoices, returned


def _draw_guest_orders(
    rng: np.random.Generator, n_lines: int, calendar: tuple[np.ndarray, np.ndarray]
) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    """Orders without a customer id with exactly ``n_lines`` lines (some with a DOT line)."""
    base_cum = calendar[0]
    n_days = base_cum.size - 1
    products, dots = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=bool)]
    drawn, batch = 0, int(np.ceil(n_lines / (GUEST_LINES + DOTCOM_SHARE))) + 16
    while drawn < n_lines:
        products.append(1 + rng.poisson(GUEST_LINES - 1.0, batch))
        dots.append(rng.random(batch) < DOTCOM_SHARE)
        drawn += int(products[-1].sum() + dots[-1].sum())
    n_products, dot = np.concatenate(products), np.concatenate(dots)
    total = np.cumsum(n_products + dot)
    n = int(np.searchsorted(total, n_lines)) + 1 if n_lines else 0
    n_products, dot = n_products[:n].copy(), dot[:n].copy()
    if n:
        excess = int(total[n - 1]) - n_lines
        if excess and dot[-1]:
            dot[-1], excess = False, excess - 1
        n_products[-1] -= excess
    order = np.repeat(np.arange(n), n_products)
    product = _draw_products(rng, _product_cdf(0.0), order.size)
    quantity = _snap_to_packs(GUEST_QUANTITY * np.exp(rng.normal(0.0, 0.7, order.size)))
    _, _, price, _ = _catalogue()
    with_dot = np.flatnonzero(dot)
    invoices = {
        "customer": np.full(n, -1, dtype=np.int64),
        "day": _draw_days(rng, base_cum, np.zeros(n, np.int64), np.full(n, n_days - 1)),
        "minute": _draw_minutes(rng, n),
        "country": rng.choice(len(COUNTRIES), size=n, p=np.asarray(COUNTRY_SHARES)),
        "cancel": np.zeros(n, dtype=bool),
    }
    lines = [
        _lines_block(order, _within(n_products), product, quantity, price[product]),
        _lines_block(
            with_dot,
            n_products[with_dot],
            np.full(with_dot.size, _non_product("DOT")),
            np.ones(with_dot.size),
            np.round(n_products[with_dot] * rng.uniform(1.2, 2.0, with_dot.size), 2),
        ),
    ]
    return invoices, lines


def _stack(
    invoice_blocks: list[dict[str, np.ndarray]], line_blocks: list[list[dict[str, np.ndarray]]]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One table of invoices and one of lines, line invoice numbers made global."""
    keys = ("customer", "day", "minute", "country")
    invoices = {key: np.concatenate([block[key] for block in invoice_blocks]) for key in keys}
    invoices["cancel"] = np.concatenate(
        [block.get("cancel", np.zeros(block["day"].size, dtype=bool)) for block in invoice_blocks]
    )
    parts, offset = [], 0
    for block, lines in zip(invoice_blocks, line_blocks, strict=True):
        for part in lines:
            parts.append({**part, "invoice": part["invoice"] + offset})
        offset += block["day"].size
    return invoices, _concat(parts)


def _plant_wholesalers(
    rng: np.random.Generator,
    n_customers: int,
    share: float,
    invoices: dict[str, np.ndarray],
    lines: dict[str, np.ndarray],
) -> None:
    """Multiply the product quantities of ``share`` of the customers by 20-100, in place."""
    count = int(round(share * n_customers))
    if count == 0:
        return
    chosen = rng.choice(n_customers, size=count, replace=False)
    factor = np.zeros(n_customers + 1)  # the last entry serves guest lines (customer -1)
    factor[chosen] = rng.uniform(20.0, 100.0, count)
    hit = np.flatnonzero(
        (factor[invoices["customer"][lines["invoice"]]] > 0) & (lines["product"] < CATALOGUE_SIZE)
    )
    units = lines["quantity"][hit]
    scale = factor[invoices["customer"][lines["invoice"][hit]]]
    scaled = np.maximum(1, np.rint(np.abs(units) * scale)).astype(np.int64)
    lines["quantity"][hit] = np.sign(units) * scaled  # returns stay within what was bought


def _assemble(
    invoices: dict[str, np.ndarray],
    lines: dict[str, np.ndarray],
    first_day: np.datetime64,
    n_days: int,
    ids: list[str],
) -> pd.DataFrame:
    """The log: invoices numbered in time order, lines grouped by invoice in that order."""
    n_invoices = invoices["day"].size
    by_time = np.argsort(invoices["day"] * 1440 + invoices["minute"], kind="stable")
    rank = np.empty(n_invoices, dtype=np.int64)
    rank[by_time] = np.arange(n_invoices)
    sizes = np.bincount(lines["invoice"], minlength=n_invoices)[by_time]
    offsets = np.cumsum(sizes) - sizes
    source = np.empty(lines["invoice"].size, dtype=np.int64)
    source[offsets[rank[lines["invoice"]]] + lines["pos"]] = np.arange(source.size)
    line_rank = pa.array(np.repeat(np.arange(n_invoices), sizes))

    numbers = pa.array(FIRST_INVOICE + np.arange(n_invoices)).cast(TEXT)
    cancel = pa.array(invoices["cancel"][by_time])
    prefixed = pc.binary_join_element_wise(pa.scalar("C", TEXT), numbers, pa.scalar("", TEXT))
    invoice_no = pc.if_else(cancel, prefixed, numbers)
    day_text = pa.array(np.datetime_as_string(first_day + np.arange(n_days), unit="D"), TEXT)
    minute = np.arange(24 * 60)
    time_text = pa.array([f"{m // 60:02d}:{m % 60:02d}:00" for m in minute.tolist()], TEXT)
    date = pc.binary_join_element_wise(
        day_text.take(invoices["day"][by_time]),
        time_text.take(invoices["minute"][by_time]),
        pa.scalar(" ", TEXT),
    )
    customer = invoices["customer"][by_time]
    customer_id = pa.array(ids, TEXT).take(
        pa.array(np.maximum(customer, 0), mask=customer < 0)
    )
    country = pa.array(COUNTRIES, TEXT).take(invoices["country"][by_time])
    codes, descriptions, _, _ = _catalogue()
    product = pa.array(lines["product"][source])
    columns = {
        "InvoiceNo": invoice_no.take(line_rank),
        "StockCode": codes.take(product),
        "Description": descriptions.take(product),
        "Quantity": lines["quantity"][source],
        "InvoiceDate": date.take(line_rank),
        "UnitPrice": np.round(lines["price"][source], 2),
        "CustomerID": customer_id.take(line_rank),
        "Country": country.take(line_rank),
    }
    frame = {}
    for name in TRANSACTION_COLUMNS:
        column = columns[name]
        frame[name] = column.to_pandas() if isinstance(column, pa.Array) else column
    return pd.DataFrame(frame)


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write ``df`` to ``path`` in the format its extension names, atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; its index is not written.
    path : str or path-like
        Target file ending in ``.csv``, ``.tsv``, ``.parquet``, ``.xlsx`` or ``.json``
        (an array of records). The table is written to a temporary file in the same folder
        and moved into place, so an interrupted write leaves no partial file.

    Raises
    ------
    InputError
        If the extension is not one of these or a file stands where a folder should be.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise InputError(
            f"cannot write {target}: unknown extension {suffix or '(none)'!r}; "
            f"use one of {', '.join(WRITE_FORMATS)}"
        )
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"cannot write {target}: {folder} is not a folder") from None
    temp = _reserve_temp(folder, target.name, suffix)
    try:
        _write_by_format(df, temp, suffix)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _reserve_temp(folder: Path, name: str, suffix: str) -> str:
    """Create an empty, uniquely named file next to the target (permissions follow umask)."""
    for _ in range(100):
        temp = folder / f".{name}.{secrets.token_hex(6)}.tmp{suffix}"
        try:
            os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return str(temp)
    raise FileExistsError(f"no free temporary name in {folder}")


def _write_by_format(df: pd.DataFrame, temp: str, suffix: str) -> None:
    if suffix == ".csv":
        df.to_csv(temp, index=False)
    elif suffix == ".tsv":
        df.to_csv(temp, index=False, sep="\t")
    elif suffix == ".parquet":
        df.to_parquet(temp, index=False, engine="pyarrow")
    elif suffix == ".xlsx":
        df.to_excel(temp, index=False, engine="openpyxl")
    else:
        df.to_json(temp, orient="records", force_ascii=False, indent=None)
