"""Figures of the segments: their sizes, the PCA map, the profiles (heat map and lines), the
box plots of each numeric column, and the categorical make-up."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .columns import (
    MAX_BOXPLOTS,
    MAX_HEATMAP_COLUMNS,
    category_columns,
    category_levels,
    level_colors,
    log_scale_columns,
    most_distinct_columns,
    use_log_axis,
)
from .data import (
    as_float,
    finite_values,
    names_by_id,
    ordered_segments,
    plot_data,
    profile_matrix,
    sample_matrix,
    segment_order,
)
from .labels import segment_label, shorten, wrap_label
from .layout import (
    GAP,
    add_colorbar,
    artist_size,
    edge_legend,
    fit_axes,
    new_figure,
    place_colorbar,
)
from .parts import (
    axis_cap,
    heatmap,
    panel_grid,
    panels_per_row,
    rotate_xticklabels,
    set_log_axis,
    size_bars,
)
from .style import OTHER_COLOR, segment_colors, styled, text_color

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


@styled
def plot_segment_sizes(summary: dict) -> Figure | None:
    """Horizontal bars: customers per segment, labelled with names, counts and shares."""
    segments = ordered_segments(summary)
    if not segments:
        return None
    colors = segment_colors(s["id"] for s in segments)
    return size_bars(
        labels=[s.get("name") or f"Segment {s['id']}" for s in segments],
        sizes=[s.get("size") or 0 for s in segments],
        shares=[s.get("share") for s in segments],
        colors=[colors[int(s["id"])] for s in segments],
        row_height=0.42, bar_height=0.68,
    )


@styled
def plot_segment_map(summary: dict) -> Figure | None:
    """2-D PCA map of the sampled customers, coloured by segment."""
    sample = plot_data(summary, "sample") or {}
    points = sample.get("map")
    segment = sample.get("segment")
    if not points or segment is None or len(segment) != len(points):
        return None
    xy = np.asarray([[as_float(v) for v in p] for p in points], dtype=float)
    if xy.ndim != 2 or xy.shape[1] < 2:
        return None
    ids = np.asarray(segment, dtype=int)
    names = names_by_id(summary)
    order = segment_order(summary, np.unique(ids))
    colors = segment_colors(order)
    size = 18 if len(ids) <= 500 else 9
    fig = new_figure(9.4, 6.4)
    ax = fig.add_subplot()
    # noise underneath, then segments in order
    for segment_id in sorted(order, key=lambda i: i >= 0):
        mask = ids == segment_id
        noise = segment_id < 0
        ax.scatter(xy[mask, 0], xy[mask, 1], s=size * (0.7 if noise else 1), color=colors[segment_id],
                   alpha=0.45 if noise else 0.75, linewidths=0, label=segment_label(segment_id, names, 32),
                   zorder=1 if noise else 2, rasterized=False)
    for segment_id in order:
        if segment_id < 0:
            continue
        mask = ids == segment_id
        cx, cy = np.nanmean(xy[mask, 0]), np.nanmean(xy[mask, 1])
        ax.scatter([cx], [cy], s=150, marker="X", color=colors[segment_id], edgecolors="#1a1a1a",
                   linewidths=1.3, zorder=3)
    explained = sample.get("map_explained") or []

    def axis_label(i: int) -> str:
        if i < len(explained) and explained[i] is not None:
            return f"PC{i + 1} ({explained[i]:.0%} of variance)"
        return f"PC{i + 1}"

    ax.set_xlabel(axis_label(0))
    ax.set_ylabel(axis_label(1))
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()
    by_order = {label: handle for handle, label in zip(handles, labels)}
    ordered = [segment_label(i, names, 32) for i in order]
    legend = edge_legend(fig, [by_order[label] for label in ordered if label in by_order],
                         [label for label in ordered if label in by_order], "bottom",
                         ncols=min(len(ordered), 4), markerscale=1.8, title="segment (X marks its centre)")
    ax.set_title(f"Segment map: {len(ids):,} sampled customers, first two principal components")
    fit_axes(fig, [[ax]], bottom=legend)
    return fig


def _profile_view(summary: dict, limit: int):
    """Segments, the (at most ``limit``) most distinct numeric columns, their z-scores and
    the log-scale columns, for the profile figures; None without a profile."""
    matrix = profile_matrix(summary)
    if matrix is None:
        return None
    segments, columns, z = matrix
    keep = most_distinct_columns(summary, columns, limit)
    return segments, [columns[j] for j in keep], z[:, keep], log_scale_columns(summary)


@styled
def plot_profile_heatmap(summary: dict) -> Figure | None:
    """Segments x numeric features: z-score of each segment's mean against all customers."""
    view = _profile_view(summary, MAX_HEATMAP_COLUMNS)
    if view is None:
        return None
    segments, columns, z, logged = view
    finite = finite_values(z)
    limit = max(1.0, float(np.abs(finite).max()) if finite.size else 1.0)
    n_rows, n_cols = z.shape
    fig = new_figure(max(7.0, min(15.0, 3.8 + 1.15 * n_cols)), 1.9 + 0.48 * n_rows)
    ax = fig.add_subplot()
    mesh = heatmap(
        ax, z, cmap="RdBu_r", vmin=-limit, vmax=limit,
        annot=[[f"{v:+.1f}" for v in row] for row in z] if n_rows * n_cols <= 400 else None,
        xlabels=[wrap_label(c + (" (log)" if c in logged else ""), 13) for c in columns],
        ylabels=[shorten(s.get("name") or f"Segment {s['id']}", 32) for s in segments],
    )
    rotate_xticklabels(ax, 30 if n_cols > 6 else 0)
    ax.set_title("Segment means vs the average customer (z-scores)")
    cax, room = add_colorbar(fig, mesh, "z-score vs all customers (SD)")
    fit_axes(fig, [[ax]], right=room)
    place_colorbar(fig, cax, ax, 0.85)
    return fig


@styled
def plot_profile_lines(summary: dict) -> Figure | None:
    """Snake plot: each segment's z-score on each numeric feature, one line per segment."""
    view = _profile_view(summary, MAX_BOXPLOTS)
    if view is None:
        return None
    segments, columns, z, logged = view
    colors = segment_colors(s["id"] for s in segments)
    n_cols = len(columns)
    fig = new_figure(max(8.5, min(13.0, 5.5 + 1.0 * n_cols)), 4.6)
    ax = fig.add_subplot()
    x = np.arange(n_cols)
    ax.axhline(0, color="#555555", linewidth=1.0, zorder=1)
    for row, segment in enumerate(segments):
        noise = int(segment["id"]) < 0
        ax.plot(x, z[row], marker="o", markersize=5.5, linewidth=1.4 if noise else 2.2,
                linestyle="--" if noise else "-", color=colors[int(segment["id"])], zorder=2,
                label=shorten(segment.get("name") or f"Segment {segment['id']}", 30))
    average = ax.annotate("average\ncustomer", xy=(1.0, 0), xycoords=("axes fraction", "data"), xytext=(4, 0),
                          textcoords="offset points", color="#555555", fontsize=8, va="center", ha="left")
    ax.set_xticks(x, labels=[wrap_label(c + (" (log)" if c in logged else ""), 12) for c in columns])
    if n_cols > 6:
        ax.tick_params(axis="x", labelrotation=30)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    ax.set_xlim(-0.3, n_cols - 0.7)
    ax.set_ylabel("segment mean: SD from the average (z)")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.set_title("Segment profiles (z-scores)")
    legend = edge_legend(fig, *ax.get_legend_handles_labels(), "right", title="segment")
    fit_axes(fig, [[ax]], right=legend + artist_size(fig, average)[0] + 4 / 72)
    return fig


@styled
def plot_boxplots(summary: dict) -> Figure | None:
    """One panel per numeric feature: its distribution within each segment (sample)."""
    data = sample_matrix(summary)
    if data is None or data[2] is None:
        return None
    all_columns, matrix, ids = data
    keep = most_distinct_columns(summary, all_columns, MAX_BOXPLOTS)
    columns = [all_columns[j] for j in keep]
    matrix = matrix[:, keep]
    names = names_by_id(summary)
    order = segment_order(summary, np.unique(ids))
    colors = segment_colors(order)
    logged = log_scale_columns(summary)
    n_rows, n_cols = panel_grid(len(columns), panels_per_row(len(columns)))
    fig = new_figure(11.0, n_rows * (0.9 + 0.34 * len(order)) + 0.3)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    positions = np.arange(len(order))
    import matplotlib

    horizontal = (
        {"orientation": "horizontal"}
        if tuple(int(p) for p in matplotlib.__version__.split(".")[:2]) >= (3, 10)
        else {"vert": False}
    )
    for index, ax in enumerate(axes):
        if index >= len(columns):
            ax.set_visible(False)
            continue
        groups = [finite_values(matrix[ids == segment_id, index]) for segment_id in order]
        used = [i for i, g in enumerate(groups) if g.size]
        log_axis = use_log_axis(matrix[:, index], columns[index] in logged)
        if used:
            parts = ax.boxplot(
                [groups[i] for i in used], positions=positions[used], widths=0.62,
                patch_artist=True, manage_ticks=False,
                medianprops={"color": "#1a1a1a", "linewidth": 1.3},
                whiskerprops={"color": "#666666"}, capprops={"color": "#666666"},
                flierprops={"marker": ".", "markersize": 3, "markerfacecolor": "#777777",
                            "markeredgecolor": "none", "alpha": 0.5},
                **horizontal,
            )
            for box, i in zip(parts["boxes"], used):
                box.set_facecolor(colors[order[i]])
                box.set_edgecolor("#555555")
                box.set_alpha(0.85)
        ax.set_yticks(positions)
        if index % n_cols == 0:
            ax.set_yticklabels([segment_label(i, names, 26) for i in order])
        else:
            ax.set_yticklabels([])
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.tick_params(axis="y", length=0)
        title = shorten(columns[index], 26 if n_cols == 4 else 36)
        if log_axis:
            set_log_axis(ax)
            column_values = finite_values(matrix[:, index])
            ax.set_xlim(float(column_values.min()) * 0.8, float(column_values.max()) * 1.4)
            title += " (log axis)"
        else:
            column_values = finite_values(matrix[:, index])
            cap = axis_cap(column_values) if column_values.size else None
            if cap is not None:
                hidden = int((column_values > cap).sum())
                low = float(column_values.min())
                ax.set_xlim(low - 0.04 * (cap - low), cap + 0.04 * (cap - low))
                ax.text(0.98, 0.02, f"{hidden:,} above {cap:,.4g} not shown", transform=ax.transAxes,
                        ha="right", va="bottom", fontsize=7.5, color="#555555")
        ax.set_title(title, fontsize=9.5)
        ax.grid(axis="x")
        ax.set_axisbelow(True)
    fit_axes(fig, axes.reshape(n_rows, n_cols))
    return fig


@styled
def plot_categories(summary: dict) -> Figure | None:
    """Categorical make-up of each segment: one 100 % stacked bar per segment and column.

    The first bar of each panel is all customers, for comparison. Up to `MAX_LEVELS`
    buckets per column (the rest grouped as "other") and `MAX_CATEGORY_PANELS` columns.
    """
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    segments = ordered_segments(summary)
    columns, _all = category_columns(summary)
    if not segments or not columns:
        return None
    overall = (summary.get("overall") or {}).get("categories") or {}
    colors = segment_colors(s["id"] for s in segments)
    row_labels = ["All customers"] + [shorten(s.get("name") or f"Segment {s['id']}", 30) for s in segments]
    row_colors = ["#3a3a3a"] + [colors[int(s["id"])] for s in segments]
    n_bars = len(row_labels)
    fig = new_figure(10.0, 0.35 + len(columns) * (0.85 + 0.3 * n_bars))
    axes = np.atleast_1d(fig.subplots(len(columns), 1, squeeze=False)).ravel()
    y = np.arange(n_bars)
    legends = []
    for ax, column in zip(axes, columns):
        kept, other = category_levels(summary, column)
        palette = level_colors(summary, column, kept)
        buckets = kept + (["__other__"] if other else [])
        shares_by_row = [overall.get(column) or {}] + [
            (s.get("categories") or {}).get(column) or {} for s in segments
        ]
        left = np.zeros(n_bars)
        handles, labels = [], []
        for bucket in buckets:
            if bucket == "__other__":
                width = np.array([sum((shares.get(level) or 0.0) for level in other) for shares in shares_by_row])
                color, label = OTHER_COLOR, f"other ({len(other)} levels)"
            else:
                width = np.array([shares.get(bucket) or 0.0 for shares in shares_by_row])
                color, label = palette[bucket], shorten(bucket, 24)
            ax.barh(y, width, left=left, color=color, edgecolor="white", linewidth=0.8, height=0.72)
            for row in range(n_bars):
                if width[row] >= 0.07:
                    ax.text(left[row] + width[row] / 2, row, f"{width[row]:.0%}", ha="center", va="center",
                            fontsize=8, color=text_color(color))
            left += width
            handles.append(Patch(facecolor=color, edgecolor="none"))
            labels.append(label)
        ax.scatter(np.full(n_bars, -0.018), y, marker="s", s=46, c=row_colors, clip_on=False, zorder=3)
        ax.set_yticks(y, labels=row_labels)
        ax.get_yticklabels()[0].set_fontweight("bold")
        ax.tick_params(axis="y", length=0, pad=14)
        ax.set_ylim(n_bars - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.spines["left"].set_visible(False)
        ax.set_title(shorten(column, 60))
        legends.append(ax.legend(handles, labels, loc="center left", bbox_to_anchor=(1.01, 0.5),
                                 handlelength=1.0))
    axes[-1].set_xlabel("share of customers")
    legend = max(artist_size(fig, legend)[0] for legend in legends)
    fit_axes(fig, [[ax] for ax in axes], right=legend + 0.01 * 6.0 + GAP)
    return fig
