"""Who buys in a generated order-line log, when and where: the buyer archetypes (the planted
segments of `custseg.sampledata.generate_transactions`), the shop's calendar and opening
hours, and the customers' countries.

Expected lines per customer of each archetype (purchases, postage and cancellations, over
the default one-year period):

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "BUYER_ARCHETYPES", "COUNTRIES", "COUNTRY_SHARES", "BuyerArchetype", "day_weights", "draw_countries",
    "draw_days", "draw_minutes",
]

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


def draw_countries(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Home country of each customer and a second one (the same except for movers)."""
    home = rng.choice(len(COUNTRIES), size=n, p=np.asarray(COUNTRY_SHARES))
    away = home.copy()
    movers = np.flatnonzero(rng.random(n) < MOVERS)
    away[movers] = (home[movers] + rng.integers(1, len(COUNTRIES), movers.size)) % len(COUNTRIES)
    return home, away


def day_weights(first_day: np.datetime64, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative day weights (length n_days + 1): all year, and November-December only
    (all year again when the period has neither month).

    Examples
    --------
    >>> base, season = day_weights(np.datetime64("2024-10-31"), 2)  # a Thursday in October, a Friday in November
    >>> base.round(3).tolist(), season.round(3).tolist()
    ([0.0, 1.625, 3.43], [0.0, 0.0, 1.805])
    """
    days = first_day + np.arange(n_days)
    month = days.astype("datetime64[M]").astype(np.int64) % 12  # 0 = January
    weekday = (days.astype(np.int64) + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
    base = np.asarray(MONTH_WEIGHTS)[month] * np.asarray(WEEKDAY_WEIGHTS)[weekday]
    season = base * np.isin(month + 1, SEASON_MONTHS)
    if not season.any():
        season = base
    return np.concatenate([[0.0], np.cumsum(base)]), np.concatenate([[0.0], np.cumsum(season)])


def draw_days(
    rng: np.random.Generator, cum: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """One day in [lo, hi] per entry, following the cumulative day weights ``cum``."""
    low, high = cum[lo], cum[hi + 1]
    day = np.searchsorted(cum, low + rng.random(lo.size) * (high - low), side="right") - 1
    return np.clip(day, lo, hi)


def draw_minutes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Minute of the day of ``n`` orders, in shop hours."""
    hour = rng.choice(SHOP_HOURS, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    return hour * 60 + rng.integers(0, 60, n)
