"""Customers with numeric and categorical columns and planted segments in which the
categoricals carry part (or all) of the signal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .customers import (
    AGE_SD,
    ARCHETYPES,
    INCOME_SIGMA,
    SCORE_SD,
    VISITS_SD,
    customer_ids,
    draw_segments,
)

__all__ = ["MIXED_LEVELS", "MIXED_NUMERIC", "MIXED_PATTERNS", "MIXED_SCENARIOS", "generate_mixed_customers"]

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
    _check_mixed_arguments(n_customers, n_segments, scenario, level_share)
    rng = np.random.default_rng(random_state)
    segment = draw_segments(rng, n_customers, n_segments)
    table = _draw_numbers(rng, _numeric_centres(segment, n_segments, scenario))
    _draw_levels(rng, table, segment, n_segments, level_share)
    return table, pd.Series(segment, name="segment", dtype="int64")


def _check_mixed_arguments(n_customers: int, n_segments: int, scenario: str, level_share: float) -> None:
    if scenario not in MIXED_SCENARIOS:
        raise ValueError(f"scenario={scenario!r} should be one of {', '.join(MIXED_SCENARIOS)}")
    if not 1 <= n_segments <= len(MIXED_PATTERNS):
        raise ValueError(f"n_segments={n_segments} should be between 1 and {len(MIXED_PATTERNS)}")
    if n_customers < n_segments:
        raise ValueError(f"n_customers={n_customers} should be >= n_segments={n_segments}")
    if not 0.0 <= level_share <= 1.0:
        raise ValueError(f"level_share={level_share} should be a probability between 0 and 1")


def _numeric_centres(segment: np.ndarray, n_segments: int, scenario: str) -> dict[str, np.ndarray]:
    """Centre of ``age``, ``income``, ``score`` and ``visits`` for every customer, as the
    scenario sets them (income pulled towards the mean on a log scale)."""
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
    return centre


def _draw_numbers(rng: np.random.Generator, centre: dict[str, np.ndarray]) -> pd.DataFrame:
    """The id and the four numeric columns, drawn around each customer's centre."""
    n = centre["age"].size
    return pd.DataFrame({
        "customer_id": customer_ids(n),
        "age": np.clip(np.rint(rng.normal(centre["age"], AGE_SD)), 18, 80).astype("int64"),
        "annual_income": np.maximum(np.round(centre["income"] * np.exp(rng.normal(0.0, INCOME_SIGMA, n)), 1), 0.1),
        "spending_score": np.clip(np.rint(rng.normal(centre["score"], SCORE_SD)), 1, 100).astype("int64"),
        "visits_per_month": np.round(np.clip(rng.normal(centre["visits"], VISITS_SD), 0.0, None), 1),
    })


def _draw_levels(
    rng: np.random.Generator, table: pd.DataFrame, segment: np.ndarray, n_segments: int, level_share: float
) -> None:
    """Add the categorical columns: each segment's dominant level with probability
    ``level_share``, else one of the other levels (equally likely), in place."""
    n = segment.size
    for j, (column, levels) in enumerate(MIXED_LEVELS.items()):
        dominant = np.array([MIXED_PATTERNS[s][j] for s in range(n_segments)])[segment]
        other = (dominant + rng.integers(1, len(levels), n)) % len(levels)
        chosen = np.where(rng.random(n) < level_share, dominant, other)
        table[column] = np.asarray(levels, dtype=object)[chosen]
