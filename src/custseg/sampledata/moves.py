"""A later snapshot of generated customers in which known customers changed segment: ground
truth for tracking."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .customers import ARCHETYPES, NUMERIC_COLUMNS, draw_customer_table

__all__ = ["move_customers"]


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
    >>> from custseg.sampledata import generate_customers
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
        redrawn = draw_customer_table(rng, segment[rows])
        for column in NUMERIC_COLUMNS:
            values = later[column].to_numpy(copy=True)
            values[rows] = redrawn[column].to_numpy()
            later[column] = values
    return later, pd.Series(segment, name="segment", dtype="int64")
