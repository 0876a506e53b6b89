"""Figures of "Features": the PCA scree and the loadings heat map."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .columns import MAX_COMPONENTS, MAX_HEATMAP_COLUMNS
from .data import as_float
from .labels import wrap_label
from .layout import add_colorbar, fit_axes, new_figure, place_colorbar
from .parts import heatmap, rotate_xticklabels
from .style import HIGHLIGHT, NEUTRAL, TEXT_COLOR, styled

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def pca_loadings(summary: dict):
    """(component names, columns, weights components x columns, number of components) or None.

    At most `MAX_COMPONENTS` components and the `MAX_HEATMAP_COLUMNS` columns with the largest
    loadings.

    Examples
    --------
    >>> pca_loadings({"pca": {"loadings": {"PC1": {"age": 0.8, "spend": -0.6}}}})
    (['PC1'], ['age', 'spend'], array([[ 0.8, -0.6]]), 1)
    """
    pca = summary.get("pca") or {}
    loadings = pca.get("loadings") or {}
    if not loadings:
        return None
    components = list(loadings)
    n_components = len(components)
    components = components[:MAX_COMPONENTS]
    columns: list[str] = []
    for name in components:
        columns += [c for c in (loadings[name] or {}) if c not in columns]
    if not columns:
        return None
    weights = np.array([[as_float((loadings[name] or {}).get(c)) for c in columns] for name in components], dtype=float)
    if len(columns) > MAX_HEATMAP_COLUMNS:
        size = np.nan_to_num(np.abs(weights)).max(axis=0)
        keep = sorted(np.argsort(-size, kind="stable")[:MAX_HEATMAP_COLUMNS])
        columns, weights = [columns[j] for j in keep], weights[:, keep]
    return components, columns, weights, n_components


@styled
def plot_scree(summary: dict) -> Figure | None:
    """PCA scree: variance explained by each kept component (bars) and cumulatively (line)."""
    from matplotlib.ticker import PercentFormatter

    pca = summary.get("pca") or {}
    ratios = np.asarray([as_float(v) for v in pca.get("explained_variance_ratio") or []], dtype=float)
    if ratios.size == 0 or not np.isfinite(ratios).any():
        return None
    ratios = np.nan_to_num(ratios)[:30]
    cumulative = np.cumsum(ratios)
    x = np.arange(1, ratios.size + 1)
    fig = new_figure(max(6.5, min(10.0, 4.0 + 0.45 * ratios.size)), 3.9)
    ax = fig.add_subplot()
    ax.bar(x, ratios, color=NEUTRAL, width=0.66, label="explained by the component")
    ax.plot(x, cumulative, color=HIGHLIGHT, marker="o", markersize=5, linewidth=1.8, label="cumulative")
    if ratios.size <= 15:
        for xi, ratio in zip(x, ratios):
            inside = ratio >= 0.1
            ax.text(xi, ratio / 2 if inside else ratio + 0.015, f"{ratio:.0%}", ha="center",
                    va="center" if inside else "bottom", fontsize=9 if inside else 8.5,
                    color="white" if inside else TEXT_COLOR, fontweight="bold" if inside else "normal")
    ax.annotate(f"{cumulative[-1]:.0%} kept", xy=(x[-1], cumulative[-1]), xytext=(0, 8),
                textcoords="offset points", ha="center", va="bottom", color=HIGHLIGHT, fontsize=9,
                fontweight="bold")
    ax.set_xticks(x, labels=[f"PC{i}" for i in x])
    ax.set_ylim(0, 1.12)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("share of variance")
    ax.set_title("PCA: variance explained by the kept components")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.legend(loc="center right")
    fit_axes(fig, [[ax]])
    return fig


@styled
def plot_loadings(summary: dict) -> Figure | None:
    """PCA loadings heat map: weight of each input column in each kept component."""
    data = pca_loadings(summary)
    if data is None:
        return None
    components, columns, weights, _n = data
    n_rows, n_cols = weights.shape
    fig = new_figure(max(6.5, min(15.0, 3.4 + 0.95 * n_cols)), 1.7 + 0.45 * n_rows)
    ax = fig.add_subplot()
    mesh = heatmap(
        ax, weights, cmap="RdBu_r", vmin=-1, vmax=1,
        annot=[[f"{v:+.2f}" for v in row] for row in weights] if n_rows * n_cols <= 300 else None,
        xlabels=[wrap_label(c, 13) for c in columns], ylabels=components,
    )
    rotate_xticklabels(ax, 30 if n_cols > 6 else 0)
    ax.set_title("PCA loadings: what each component stands for")
    cax, room = add_colorbar(fig, mesh, "loading")
    fit_axes(fig, [[ax]], right=room)
    place_colorbar(fig, cax, ax, 0.85)
    return fig
