"""Figures of "Exploration", drawn from the plot sample: distributions, correlations and the
pair plot. Long-tailed columns profiled on a log scale go on a log axis (symlog, linear below
1), and are correlated on log(1 + value)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .columns import (
    MAX_PAIR_COLUMNS,
    MAX_PAIR_POINTS,
    MAX_PANELS,
    level_colors,
    log_scale_columns,
    most_distinct_columns,
    split_column,
    use_log_axis,
)
from .data import finite_values, names_by_id, sample_matrix, segment_order
from .labels import segment_label, shorten, wrap_label
from .layout import GAP, add_colorbar, edge_legend, fit_axes, new_figure, place_colorbar
from .parts import (
    axis_cap,
    count_formatter,
    heatmap,
    kernel_density,
    panel_grid,
    panels_per_row,
    rotate_xticklabels,
    set_log_axis,
)
from .style import NEUTRAL, segment_colors, styled

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def _log_histogram(ax, values: np.ndarray, split, finite: np.ndarray, palette: dict) -> None:
    """A histogram with bins even on the log1p scale, drawn on a log axis, and density curves.

    The curves are kernel densities of log1p(value), scaled to customers per bin, so that
    they follow the bars; with a ``split`` column, one curve per level.
    """
    logged = np.log1p(values)
    edges = np.histogram_bin_edges(logged, bins=min(30, max(10, int(np.sqrt(values.size)))))
    width = float(edges[1] - edges[0]) if len(edges) > 1 else 1.0
    grid = np.linspace(edges[0], edges[-1], 200)

    def curve(part: np.ndarray, color: str, linewidth: float) -> None:
        if part.size > 2 and np.unique(part).size > 2 and float(np.std(part)) > 0:
            ax.plot(np.expm1(grid), kernel_density(part, grid) * part.size * width, color=color, linewidth=linewidth)

    if split:
        _column, levels, level_values = split
        level_values = level_values[finite]
        ax.hist(values, bins=np.expm1(edges), color="#cfd6df", edgecolor="white", linewidth=0.5)
        for level in levels:
            curve(logged[level_values == level], palette[level], 1.9)
    else:
        ax.hist(values, bins=np.expm1(edges), color=NEUTRAL, edgecolor="white", linewidth=0.5, alpha=0.75)
        curve(logged, NEUTRAL, 1.6)
    set_log_axis(ax)
    ax.set_xlim(float(np.expm1(edges[0])), float(np.expm1(edges[-1])))


def _linear_histogram(ax, values: np.ndarray, split, finite: np.ndarray, palette: dict) -> None:
    """A histogram on a linear axis with density curves (one per level of a ``split`` column).

    A long right tail is cut off at the 99.5th percentile (`axis_cap`), and the panel says so.
    """
    cap = axis_cap(values)
    shown = values if cap is None else values[values <= cap]
    distinct = np.unique(shown).size
    smooth = distinct > 2 and float(np.std(shown)) > 0
    bins = np.histogram_bin_edges(shown, bins=min(30, max(distinct, 1), max(10, int(np.sqrt(shown.size)))))
    if split:
        _column, levels, level_values = split
        level_values = level_values[finite] if cap is None else level_values[finite][values <= cap]
        ax.hist(shown, bins=bins, color="#cfd6df", edgecolor="white", linewidth=0.5)
        width = float(bins[1] - bins[0]) if len(bins) > 1 else 1.0
        grid = np.linspace(bins[0], bins[-1], 200)
        for level in levels:
            part = shown[level_values == level]
            if part.size > 2 and smooth and np.unique(part).size > 2 and float(np.std(part)) > 0:
                ax.plot(grid, kernel_density(part, grid) * part.size * width, color=palette[level],
                        linewidth=1.9)
            elif part.size:
                ax.hist(part, bins=bins, histtype="step", color=palette[level], linewidth=1.5)
    else:
        ax.hist(shown, bins=bins, color=NEUTRAL, edgecolor="white", linewidth=0.5, alpha=0.75)
        if smooth:
            width = float(bins[1] - bins[0]) if len(bins) > 1 else 1.0
            grid = np.linspace(bins[0], bins[-1], 200)
            ax.plot(grid, kernel_density(shown, grid) * shown.size * width, color=NEUTRAL, linewidth=1.6)
    if cap is not None:
        hidden = int(values.size - shown.size)
        ax.text(0.98, 0.96, f"{hidden:,} above {cap:,.4g} not shown\n(max {values.max():,.4g})",
                transform=ax.transAxes, ha="right", va="top", fontsize=7.5, color="#555555")


def _split_legend(fig, split, palette: dict) -> float:
    """The legend of distributions split by a categorical column, at the top; returns its height."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    column, levels, _values = split
    handles = [Patch(facecolor="#cfd6df", edgecolor="none")]
    handles += [Line2D([], [], color=palette[level], linewidth=2.2) for level in levels]
    return edge_legend(fig, handles, ["all customers"] + [shorten(level, 24) for level in levels], "top",
                       ncols=len(levels) + 1, alignment="left", handlelength=1.6,
                       title=f"bars: all customers; curves: split by {shorten(column, 40)}")


@styled
def plot_distributions(summary: dict) -> Figure | None:
    """Histogram with a density curve for each numeric column of the sample.

    When the sample has a categorical column with a few levels (gender, say), the bars show
    all customers and one density curve per level (scaled to customers, in that column's
    level colours) shows how the levels differ. A long right tail is cut off at the 99.5th
    percentile, and the panel says so.
    """
    data = sample_matrix(summary)
    if data is None:
        return None
    all_columns, matrix, _ids = data
    keep = most_distinct_columns(summary, all_columns, MAX_PANELS)
    columns, matrix = [all_columns[j] for j in keep], matrix[:, keep]
    split = split_column(summary, matrix.shape[0])
    palette = level_colors(summary, split[0], split[1]) if split else {}
    logged = log_scale_columns(summary)
    n_rows, n_cols = panel_grid(len(columns), panels_per_row(len(columns)))
    fig = new_figure(11.0, 0.35 + (0.45 if split else 0) + (2.25 if n_cols == 3 else 2.0) * n_rows)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    for index, ax in enumerate(axes):
        if index >= len(columns):
            ax.set_visible(False)
            continue
        finite = np.isfinite(matrix[:, index])
        values = matrix[finite, index]
        log_axis = use_log_axis(values, columns[index] in logged)
        if values.size and log_axis:
            _log_histogram(ax, values, split, finite, palette)
        elif values.size:
            _linear_histogram(ax, values, split, finite, palette)
        else:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        title = shorten(columns[index], 26 if n_cols == 4 else 36)
        ax.set_title(f"{title} (log axis)" if log_axis else title, fontsize=9.5)
        ax.set_xlabel("")
        ax.set_ylabel("customers" if index % n_cols == 0 else "")
        ax.yaxis.set_major_formatter(count_formatter())
    legend = _split_legend(fig, split, palette) if split else 0.0
    fit_axes(fig, axes.reshape(n_rows, n_cols), top=legend)
    return fig


@styled
def plot_correlation(summary: dict) -> Figure | None:
    """Pearson correlation between the sample's numeric columns (lower triangle)."""
    data = sample_matrix(summary)
    if data is None or len(data[0]) < 2:
        return None
    import pandas as pd

    all_columns, matrix, _ids = data
    keep = most_distinct_columns(summary, all_columns, MAX_PANELS)
    columns, matrix = [all_columns[j] for j in keep], matrix[:, keep]
    logged = log_scale_columns(summary)
    on_log = [c in logged and use_log_axis(matrix[:, j], True) for j, c in enumerate(columns)]
    for j, flag in enumerate(on_log):
        if flag:  # a long-tailed money or count column: correlate its log, not its few extremes
            matrix[:, j] = np.log1p(matrix[:, j])
    corr = pd.DataFrame(matrix).corr().to_numpy()
    n = len(columns)
    mask = np.triu(np.ones((n, n), dtype=bool), k=1)
    side = max(4.8, min(12.0, 2.2 + 0.62 * n))
    fig = new_figure(side + 1.2, side)
    ax = fig.add_subplot()
    labels = [shorten(c, 28) + (" (log)" if flag else "") for c, flag in zip(columns, on_log)]
    mesh = heatmap(
        ax, corr, mask=mask, cmap="RdBu_r", vmin=-1, vmax=1, fontsize=8,
        annot=[[f"{v:.2f}" for v in row] for row in corr] if n <= 14 else None,
        xlabels=labels, ylabels=labels,
    )
    rotate_xticklabels(ax, 35)
    ax.set_title("Correlation between numeric columns")
    cax, room = add_colorbar(fig, mesh, "Pearson correlation")
    fit_axes(fig, [[ax]], right=room)
    place_colorbar(fig, cax, ax, 0.8)
    return fig


@styled
def plot_pairs(summary: dict) -> Figure | None:
    """Pair plot of up to `MAX_PAIR_COLUMNS` numeric columns on the sample, by segment.

    Lower triangle: scatter plots of every pair; diagonal: each segment's distribution of
    the column (kernel densities, so that small segments stay visible).
    """
    data = sample_matrix(summary)
    if data is None or data[2] is None or len(data[0]) < 2:
        return None
    all_columns, matrix, ids = data
    keep = most_distinct_columns(summary, all_columns, MAX_PAIR_COLUMNS)
    columns, matrix = [all_columns[j] for j in keep], matrix[:, keep]
    if len(ids) > MAX_PAIR_POINTS:
        rows = np.sort(np.random.default_rng(0).choice(len(ids), MAX_PAIR_POINTS, replace=False))
        matrix, ids = matrix[rows], ids[rows]
    order = segment_order(summary, np.unique(ids))
    colors = segment_colors(order)
    n = len(columns)
    panel = 2.05 if n >= 4 else 2.6
    fig = new_figure(panel * n + 0.5, panel * n + (0.9 if n <= 2 else 0.3))
    # Only the lower triangle and the diagonal are drawn: no axes for the upper triangle.
    cells = fig.add_gridspec(n, n)
    axes = [[fig.add_subplot(cells[i, j]) if j <= i else None for j in range(n)] for i in range(n)]
    logged = log_scale_columns(summary)
    log_axes = [use_log_axis(matrix[:, j], columns[j] in logged) for j in range(n)]
    limits = _pair_limits(matrix, log_axes)
    # Limits (and the density grid) are on the log1p scale for log axes.
    plain_limits = [tuple(np.expm1(lim)) if log_axes[j] else lim for j, lim in enumerate(limits)]
    draw_order = sorted(order, key=lambda i: i >= 0)  # noise underneath
    dot = 14 if len(ids) <= 400 else 8 if len(ids) <= 800 else 5
    # Scatter plots: one collection per panel, points sorted so that segments are stacked in
    # draw order (as one call per segment would), coloured point by point.
    rank = {segment_id: r for r, segment_id in enumerate(draw_order)}
    stacking = np.argsort(np.array([rank[int(i)] for i in ids]), kind="stable")
    point_colors = [colors[int(i)] for i in ids[stacking]]
    for i in range(n):
        for j in range(i + 1):
            ax = axes[i][j]
            if i == j:
                _pair_densities(ax, matrix[:, j], ids, draw_order, colors, limits[j], log_axes[j])
            else:
                ax.scatter(matrix[stacking, j], matrix[stacking, i], s=dot, linewidths=0, alpha=0.65,
                           c=point_colors)
                if log_axes[i]:
                    set_log_axis(ax, "y")
                ax.set_ylim(*plain_limits[i])
            if log_axes[j]:
                set_log_axis(ax, "x")
            ax.set_xlim(*plain_limits[j])
            _pair_axis_labels(ax, i, j, columns, log_axes)
    legend = _pair_legend(fig, order, colors, names_by_id(summary), below=n <= 2)
    fit_axes(fig, axes, bottom=legend, hgap=-GAP / 2, wgap=-GAP / 2)
    return fig


def _pair_limits(matrix: np.ndarray, log_axes: list[bool]) -> list[tuple[float, float]]:
    """Axis limits of each column of the pair plot, padded by 5 %; on the log1p scale for log axes."""
    limits = []
    for j, log_axis in enumerate(log_axes):
        finite = finite_values(matrix[:, j])
        if log_axis:
            finite = np.log1p(finite)
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        pad = (high - low) * 0.05 or 0.5
        limits.append((low - pad, high + pad))
    return limits


def _pair_densities(ax, column: np.ndarray, ids: np.ndarray, draw_order: list[int], colors: dict,
                    limits: tuple[float, float], log_axis: bool) -> None:
    """A diagonal panel of the pair plot: each segment's density on ``column`` (ticks where too few values)."""
    grid = np.linspace(*limits, 160)
    x_grid = np.expm1(grid) if log_axis else grid
    for segment_id in draw_order:
        values = finite_values(column[ids == segment_id])
        noise = segment_id < 0
        if values.size >= 5 and np.unique(values).size > 2:
            density = kernel_density(np.log1p(values) if log_axis else values, grid)
            ax.plot(x_grid, density, color=colors[segment_id], linewidth=1.2 if noise else 1.8,
                    linestyle="--" if noise else "-")
            if not noise:
                ax.fill_between(x_grid, 0, density, color=colors[segment_id], alpha=0.12, linewidth=0)
        elif values.size:
            ax.vlines(values, 0, 1, transform=ax.get_xaxis_transform(), color=colors[segment_id],
                      linewidth=1.0, alpha=0.8)
    ax.set_ylim(bottom=0)
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)


def _pair_axis_labels(ax, i: int, j: int, columns: list[str], log_axes: list[bool]) -> None:
    """Column names on the outer panels of the pair plot (bottom row, left column), no tick labels inside."""
    n = len(columns)
    if i == n - 1:
        ax.set_xlabel(wrap_label(columns[j] + (" (log)" if log_axes[j] else ""), 22), fontsize=9)
    else:
        ax.tick_params(axis="x", labelbottom=False)
    if j == 0 and i != j:
        ax.set_ylabel(wrap_label(columns[i] + (" (log)" if log_axes[i] else ""), 22), fontsize=9)
    elif j == 0:
        ax.set_ylabel(wrap_label(columns[i], 22), fontsize=9)
    elif i != j:
        ax.tick_params(axis="y", labelleft=False)
    ax.tick_params(labelsize=8)


def _pair_legend(fig, order: list[int], colors: dict, names: dict, *, below: bool) -> float:
    """The segments' legend: ``below`` the panels (returns its height), else in the empty upper triangle."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", markersize=7, color=colors[i]) for i in order]
    labels = [segment_label(i, names, 30) for i in order]
    if below:
        return edge_legend(fig, handles, labels, "bottom", ncols=min(len(order), 3), title="segment")
    fig.legend(handles, labels, loc="upper right", title="segment", borderaxespad=1.0)
    return 0.0
