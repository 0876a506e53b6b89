"""Figures of ``custseg track``'s page ("Since the last run"), drawn from its summary
(``summary["tracking"]``, see docs/summary.md): where each segment's customers went, as a flow
(alluvial) diagram and as a heat map of the transition matrix, for the segments and, for a
transaction log, for the RFM segments."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .labels import shorten, wrap_label
from .layout import (
    EDGE,
    add_colorbar,
    finish_heatmap,
    new_figure,
    text_size,
)
from .parts import count_share_labels, heatmap
from .style import (
    NEUTRAL,
    NEW_GONE_COLOR,
    TEXT_COLOR,
    rfm_colors,
    segment_colors,
    styled,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


#: Transparency of the flow bands between the two columns.
FLOW_ALPHA = 0.5


def _tracking_states(summary: dict, kind: str):
    """(before labels, after labels, counts, before colours, after colours) of a transition
    matrix of ``summary["tracking"]``, or None. ``kind``: "segment" or "rfm"."""
    tracking = (summary or {}).get("tracking") or {}
    block = tracking.get("transitions") if kind == "segment" else (tracking.get("rfm") or {}).get("transitions")
    if not block or not block.get("counts"):
        return None
    before, after = [str(v) for v in block["before"]], [str(v) for v in block["after"]]
    counts = np.asarray(block["counts"], dtype=float).reshape(len(before), len(after))
    if kind == "rfm":
        palette = rfm_colors(before[:-1] + after[:-1])
    else:
        ids = {str(s.get("name")): int(s["id"]) for s in tracking.get("segments") or [] if s.get("id") is not None}
        by_id = segment_colors(ids.values())
        palette = {name: by_id[i] for name, i in ids.items()}
    def colour(name: str) -> str:
        return palette.get(name, NEUTRAL)

    return (before, after, counts, [colour(n) for n in before[:-1]] + [NEW_GONE_COLOR],
            [colour(n) for n in after[:-1]] + [NEW_GONE_COLOR])


def _stacked(totals: np.ndarray, scale: float, gap: float, top: float) -> list[tuple[float, float]]:
    """(top, bottom) of each block of a column, from ``top`` down; empty blocks take no room."""
    spans, y = [], top
    for total in totals:
        height = total * scale
        spans.append((y, y - height))
        if total > 0:
            y -= height + gap
    return spans


def _spread_labels(centres: list[float], spacing: float, low: float) -> list[float]:
    """Label heights near ``centres`` (top to bottom) at least ``spacing`` apart, none below ``low``."""
    placed: list[float] = []
    for centre in centres:
        placed.append(min(centre, placed[-1] - spacing) if placed else centre)
    overflow = low - placed[-1] if placed else 0.0
    return [y + overflow for y in placed] if overflow > 0 else placed


def _band(ax, x0: float, x1: float, left: tuple[float, float], right: tuple[float, float], color: str) -> None:
    """A flow band from the span ``left`` at ``x0`` to the span ``right`` at ``x1``, S-shaped."""
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path

    middle = (x0 + x1) / 2
    (lt, lb), (rt, rb) = left, right
    vertices = [(x0, lt), (middle, lt), (middle, rt), (x1, rt), (x1, rb), (middle, rb), (middle, lb), (x0, lb),
                (x0, lt)]
    codes = [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4, Path.LINETO, Path.CURVE4, Path.CURVE4,
             Path.CURVE4, Path.CLOSEPOLY]
    ax.add_patch(PathPatch(Path(vertices, codes), facecolor=color, edgecolor="none", alpha=FLOW_ALPHA))


def _flow_figure(data, title: str) -> Figure:
    """An alluvial diagram: before (left) and after (right) as stacked blocks, bands between."""
    from matplotlib.patches import Rectangle

    before, after, counts, left_colors, right_colors = data
    left_totals, right_totals = counts.sum(axis=1), counts.sum(axis=0)
    fontsize, block, gap, row = 9.0, 0.16, 0.07, 0.34
    left_text = [f"{shorten(n, 30)}  {int(t):,}" for n, t in zip(before, left_totals)]
    right_text = [f"{int(t):,}  {shorten(n, 30)}" for n, t in zip(after, right_totals)]
    left_w = max(text_size(t, fontsize)[0] for t in left_text)
    right_w = max(text_size(t, fontsize)[0] for t in right_text)
    line = text_size("Ag", fontsize)[1]
    title_h = text_size(title, 10.5)[1]
    width = max(9.0, left_w + right_w + 2 * block + 3.6 + 2 * EDGE)
    n_blocks = max(int((left_totals > 0).sum()), int((right_totals > 0).sum()), 1)
    height = max(2.6, title_h + 0.45 + n_blocks * row)
    fig = new_figure(width, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    ax.text(EDGE, height - EDGE, title, ha="left", va="top", fontsize=10.5, fontweight="bold", color=TEXT_COLOR)
    top, bottom = height - title_h - 0.3, EDGE + line / 2
    total = max(float(counts.sum()), 1.0)
    room = top - bottom
    scale = min((room - gap * (int((t > 0).sum()) - 1)) / total for t in (left_totals, right_totals))
    x_left = EDGE + left_w + 0.12
    x_right = width - EDGE - right_w - 0.12 - block
    left_spans = _stacked(left_totals, scale, gap, top)
    right_spans = _stacked(right_totals, scale, gap, top)
    left_used = np.array([s[0] for s in left_spans])      # running top of each block's bands
    right_used = np.array([s[0] for s in right_spans])
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            if counts[i, j] <= 0:
                continue
            h = counts[i, j] * scale
            # Bands leave a block in the order of their targets and arrive in the order of
            # their sources, so none cross inside a block.
            _band(ax, x_left + block, x_right, (left_used[i], left_used[i] - h),
                  (right_used[j], right_used[j] - h), left_colors[i])
            left_used[i] -= h
            right_used[j] -= h
    for spans, totals, x, colors in ((left_spans, left_totals, x_left, left_colors),
                                      (right_spans, right_totals, x_right, right_colors)):
        for (t, b), value, color in zip(spans, totals, colors):
            if value > 0:
                ax.add_patch(Rectangle((x, b), block, t - b, facecolor=color, edgecolor="white", linewidth=0.6))
    for spans, totals, texts, x, align in ((left_spans, left_totals, left_text, x_left - 0.06, "right"),
                                           (right_spans, right_totals, right_text, x_right + block + 0.06, "left")):
        shown = [k for k, value in enumerate(totals) if value > 0]
        heights = _spread_labels([(spans[k][0] + spans[k][1]) / 2 for k in shown], line * 1.05, bottom)
        for k, y in zip(shown, heights):
            ax.text(x, y, texts[k], ha=align, va="center", fontsize=fontsize, color=TEXT_COLOR)
    ax.text(x_left + block / 2, top + 0.08, "before", ha="center", va="bottom", fontsize=8.5, color="#555555")
    ax.text(x_right + block / 2, top + 0.08, "after", ha="center", va="bottom", fontsize=8.5, color="#555555")
    return fig


def _transition_heatmap(data, title: str, axis_name: str) -> Figure:
    """Heat map of a transition matrix: count and row share in each cell, coloured by the share."""
    from matplotlib.ticker import PercentFormatter

    before, after, counts, _left, _right = data
    keep_rows = counts.sum(axis=1) > 0
    keep_cols = counts.sum(axis=0) > 0
    before = [n for n, k in zip(before, keep_rows) if k]
    after = [n for n, k in zip(after, keep_cols) if k]
    counts = counts[np.ix_(keep_rows, keep_cols)]
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    n_rows, n_cols = counts.shape
    annotations = count_share_labels(counts, shares)
    width = max(7.0, min(14.0, 4.4 + 1.3 * n_cols))
    fig = new_figure(width, 1.9 + 0.5 * n_rows)
    ax = fig.add_subplot()
    many = n_cols > 8                     # the 11 RFM segments: narrower column labels
    mesh = heatmap(
        ax, shares, cmap="Blues", vmin=0, vmax=1, annot=annotations, fontsize=7.5 if many else 8.5,
        xlabels=[wrap_label(shorten(n, 40), 11 if many else 16, 3) for n in after],
        ylabels=[f"{shorten(n, 28)}  ({int(t):,})" for n, t in zip(before, totals[:, 0])],
    )
    if many:
        ax.tick_params(axis="x", labelsize=8.5)
    ax.set_xlabel(f"{axis_name} now")
    ax.set_ylabel(f"{axis_name} before (customers)")
    cax, room = add_colorbar(fig, mesh, "share of the row", formatter=PercentFormatter(1.0, decimals=0))
    finish_heatmap(fig, ax, cax, room, title)
    return fig


@styled
def plot_track_flow(summary: dict) -> Figure | None:
    """Flow (alluvial) diagram of ``custseg track``: each segment before, where its customers are now."""
    data = _tracking_states(summary, "segment")
    if data is None:
        return None
    return _flow_figure(data, "Where each segment's customers went since the last run")


@styled
def plot_track_transitions(summary: dict) -> Figure | None:
    """Heat map of the segment transition matrix of ``custseg track`` (rows: before; columns: now)."""
    data = _tracking_states(summary, "segment")
    if data is None:
        return None
    return _transition_heatmap(data, "Transitions: customers of each segment before, by segment now", "segment")


@styled
def plot_track_rfm_flow(summary: dict) -> Figure | None:
    """Flow diagram of the RFM segments of a transaction log, before and now."""
    data = _tracking_states(summary, "rfm")
    if data is None:
        return None
    return _flow_figure(data, "Where each RFM segment's customers went since the last run")


@styled
def plot_track_rfm_transitions(summary: dict) -> Figure | None:
    """Heat map of the RFM segment transition matrix of a transaction log."""
    data = _tracking_states(summary, "rfm")
    if data is None:
        return None
    return _transition_heatmap(data, "RFM transitions: customers of each RFM segment before, by RFM segment now",
                               "RFM segment")
