"""Figures of "Customer value" (transaction logs): the P(alive) and expected-purchases matrices
over frequency (repeat purchases) and recency (weeks from the first to the last purchase), the
classic BG/NBD heat maps, drawn from the customers' own scores (``value.matrix``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .layout import (
    add_colorbar,
    finish_heatmap,
    new_figure,
)
from .parts import heatmap
from .style import styled

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def frequency_labels(edges) -> list[str]:
    """Column labels of the frequency bins: "3" for one count, "4-6" for a range.

    Examples
    --------
    >>> frequency_labels([0, 1, 2, 4, 7])
    ['0', '1', '2-3', '4-6']
    """
    return [str(lo) if hi - lo == 1 else f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:])]


def recency_labels(edges) -> list[str]:
    """Row labels of the recency bins, in whole weeks: "0-13".

    Examples
    --------
    >>> recency_labels([0.0, 13.2, 26.4])
    ['0-13', '13-26']
    """
    return [f"{lo:.0f}-{hi:.0f}" for lo, hi in zip(edges[:-1], edges[1:])]


def _matrix_figure(summary: dict, key: str, title: str, colorbar: str, cmap: str, fixed_max: float | None):
    matrix = (summary.get("value") or {}).get("matrix")
    if not matrix or not matrix.get(key):
        return None
    # Most recent purchases at the top, as in the classic figure.
    values = np.array([[np.nan if v is None else float(v) for v in row] for row in matrix[key]])[::-1]
    if not np.isfinite(values).any():
        return None
    n_rows, n_cols = values.shape
    top = fixed_max if fixed_max is not None else max(float(np.nanmax(values)), 1e-9)
    text = [["" if not np.isfinite(v) else (f"{v:.2f}" if top <= 1 else f"{v:.1f}") for v in row] for row in values]
    fig = new_figure(max(6.5, min(13.0, 3.2 + 0.62 * n_cols)), 1.6 + 0.36 * n_rows)
    ax = fig.add_subplot()
    mesh = heatmap(ax, values, cmap=cmap, vmin=0.0, vmax=top, annot=text, fontsize=7.0,
                   xlabels=frequency_labels(matrix["frequency_edges"]),
                   ylabels=recency_labels(matrix["recency_edges"])[::-1])
    ax.set_xlabel("repeat purchases (frequency)")
    ax.set_ylabel("weeks from first to last purchase (recency)")
    cax, room = add_colorbar(fig, mesh, colorbar)
    finish_heatmap(fig, ax, cax, room, title)
    return fig


@styled
def plot_value_p_alive(summary: dict) -> Figure | None:
    """Heat map: mean P(alive) of the customers in each frequency x recency cell (blank: none)."""
    return _matrix_figure(summary, "p_alive", "P(alive) by frequency and recency", "mean P(alive)", "RdYlGn", 1.0)


@styled
def plot_value_purchases(summary: dict) -> Figure | None:
    """Heat map: mean expected purchases over the horizon in each frequency x recency cell."""
    horizon = (summary.get("value") or {}).get("horizon") or "the horizon"
    return _matrix_figure(summary, "expected_purchases", f"Expected purchases in the next {horizon}",
                          "mean expected purchases", "Blues", None)
