"""Figures of "RFM segments" (transaction logs): the RFM segments' sizes in the standard order,
and the crosswalk of RFM segments against the clusters."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .data import names_by_id, segment_order
from .labels import segment_label, shorten, wrap_label
from .layout import (
    add_colorbar,
    finish_heatmap,
    new_figure,
)
from .parts import count_share_labels, heatmap, size_bars
from .style import RFM_SEGMENT_ORDER, rfm_colors, segment_colors, styled

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def rfm_order(summary: dict) -> list[str]:
    """Names of the RFM segments of the run, in the standard order (unknown names last).

    A name counts when it has an entry in ``rfm.segments`` or a row in ``rfm.crosswalk``.

    Examples
    --------
    >>> rfm_order({"rfm": {"segments": [{"name": "Lost"}, {"name": "Champions"}], "crosswalk": {"Odd": {}}}})
    ['Champions', 'Lost', 'Odd']
    """
    rfm = summary.get("rfm") or {}
    names: list[str] = []
    for segment in rfm.get("segments") or []:
        name = str(segment.get("name"))
        if name not in names:
            names.append(name)
    names += [str(n) for n in (rfm.get("crosswalk") or {}) if str(n) not in names]
    rank = {name: i for i, name in enumerate(RFM_SEGMENT_ORDER)}
    return sorted(names, key=lambda n: (rank.get(n, len(rank)), names.index(n)))


def rfm_crosswalk(summary: dict):
    """(RFM names, cluster ids, counts matrix) of ``rfm.crosswalk``, or None.

    Rows follow `rfm_order`; columns are the clusters in report order (noise last), with
    every cluster named in the crosswalk or in ``segments``; a missing cell counts 0.
    """
    crosswalk = (summary.get("rfm") or {}).get("crosswalk") or {}
    if not crosswalk:
        return None
    rows = [name for name in rfm_order(summary) if name in crosswalk]
    present = set()
    for counts in crosswalk.values():
        for key in counts or {}:
            try:
                present.add(int(key))
            except (TypeError, ValueError):
                continue
    present |= {int(s["id"]) for s in summary.get("segments") or []}
    clusters = segment_order(summary, present)
    counts = np.zeros((len(rows), len(clusters)), dtype=float)
    for i, name in enumerate(rows):
        by_cluster = {}
        for key, value in (crosswalk.get(name) or {}).items():
            try:
                by_cluster[int(key)] = float(value or 0)
            except (TypeError, ValueError):
                continue
        for j, cluster in enumerate(clusters):
            counts[i, j] = by_cluster.get(cluster, 0.0)
    if not rows or not clusters:
        return None
    return rows, clusters, counts


@styled
def plot_rfm_sizes(summary: dict) -> Figure | None:
    """Horizontal bars: customers in each RFM segment (standard order), with count and share."""
    segments = {str(s.get("name")): s for s in (summary.get("rfm") or {}).get("segments") or []}
    names = [n for n in rfm_order(summary) if n in segments]
    if not names:
        return None
    colors = rfm_colors(names)
    return size_bars(
        labels=names,
        sizes=[segments[n].get("size") or 0 for n in names],
        shares=[segments[n].get("share") for n in names],
        colors=[colors[n] for n in names],
        row_height=0.36, bar_height=0.7, title="RFM segments: customers in each",
    )


@styled
def plot_rfm_crosswalk(summary: dict) -> Figure | None:
    """Heat map of the crosswalk: RFM segments (rows) against clusters (columns).

    Each cell holds the number of customers of the RFM segment in the cluster; its colour is
    that count as a share of the RFM segment (the row), so that small RFM segments read as
    clearly as large ones. A strip above the columns carries each cluster's colour.
    """
    from matplotlib.ticker import PercentFormatter

    data = rfm_crosswalk(summary)
    if data is None:
        return None
    rows, clusters, counts = data
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    names = names_by_id(summary)
    colors = segment_colors(clusters)
    n_rows, n_cols = counts.shape
    annotations = count_share_labels(counts, shares)
    width = max(7.0, min(14.0, 4.4 + 1.45 * n_cols))
    fig = new_figure(width, 1.9 + 0.5 * n_rows)
    fig_h = fig.get_figheight()
    ax = fig.add_subplot()
    mesh = heatmap(
        ax, shares, cmap="Blues", vmin=0, vmax=1, annot=annotations, fontsize=8.5 if n_cols <= 8 else 7.5,
        xlabels=[wrap_label(segment_label(c, names, 40), 16, 3) for c in clusters],
        ylabels=[f"{shorten(name, 26)}  ({int(total):,})" for name, total in zip(rows, totals[:, 0])],
    )
    ax.set_xlabel("cluster (segment)")
    ax.set_ylabel("RFM segment (customers)")
    cax, room = add_colorbar(fig, mesh, "share of the RFM segment", formatter=PercentFormatter(1.0, decimals=0))
    # A strip of the clusters' colours over the columns (0.12 in), under the title.
    strip_height, strip_gap = 0.12, 0.04
    finish_heatmap(fig, ax, cax, room, "Crosswalk: where each RFM segment's customers fall among the clusters",
                   above=strip_height + strip_gap)
    box = ax.get_position()
    strip = fig.add_axes((box.x0, box.y1 + strip_gap / fig_h, box.width, strip_height / fig_h))
    strip.imshow(np.arange(n_cols)[None, :], aspect="auto", extent=(0, n_cols, 0, 1),
                 cmap=_listed([colors[c] for c in clusters]), vmin=-0.5, vmax=n_cols - 0.5)
    strip.set_xlim(0, n_cols)
    strip.set_axis_off()
    return fig


def _listed(colors: list[str]):
    from matplotlib.colors import ListedColormap

    return ListedColormap(colors)
