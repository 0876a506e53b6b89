"""Figures of "Choosing the segmentation": the elbow, the scores by k, the Ward dendrogram,
the DBSCAN k-distance curve, the silhouette per customer, and each segment's stability."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...segmenting.stability import HIGHLY_STABLE_FROM, UNSTABLE_BELOW
from .data import (
    as_float,
    finite_values,
    names_by_id,
    ordered_segments,
    plot_data,
    segment_order,
)
from .labels import segment_label
from .layout import edge_legend, fit_axes, new_figure
from .parts import count_formatter, integer_locator, labelled_bars
from .style import (
    HIGHLIGHT,
    NEUTRAL,
    TEXT_COLOR,
    algorithm_color,
    algorithm_label,
    segment_colors,
    styled,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def _candidates_by_algorithm(summary: dict, *, with_dbscan: bool) -> dict:
    groups: dict[str, list[dict]] = {}
    for candidate in summary.get("candidates") or []:
        algorithm = str(candidate.get("algorithm"))
        if algorithm == "dbscan" and not with_dbscan:
            continue
        groups.setdefault(algorithm, []).append(candidate)
    for algorithm in groups:
        groups[algorithm].sort(key=lambda c: (c.get("k") is None, c.get("k") or 0))
    return groups


def _is_chosen(candidate: dict, chosen: dict | None) -> bool:
    if not chosen:
        return False
    if candidate.get("algorithm") != chosen.get("algorithm") or candidate.get("k") != chosen.get("k"):
        return False
    params = chosen.get("params")
    return params is None or params == candidate.get("params")


@styled
def plot_elbow(summary: dict) -> Figure | None:
    """Inertia against k for each algorithm that has one, with the knee marked."""
    groups = {
        algorithm: [c for c in candidates if c.get("inertia") is not None and c.get("k") is not None]
        for algorithm, candidates in _candidates_by_algorithm(summary, with_dbscan=False).items()
    }
    groups = {a: c for a, c in groups.items() if c}
    if not groups:
        return None
    elbow = summary.get("elbow") or {}
    order = list(groups)
    fig = new_figure(7.6, 4.0)
    ax = fig.add_subplot()
    for index, (algorithm, candidates) in enumerate(groups.items()):
        color = algorithm_color(algorithm, order)
        ks = [c["k"] for c in candidates]
        inertia = [c["inertia"] for c in candidates]
        ax.plot(ks, inertia, marker="o", markersize=5, color=color, linewidth=1.8,
                label=algorithm_label(algorithm))
        knee = elbow.get(algorithm)
        if knee is not None and knee in ks:
            y = inertia[ks.index(knee)]
            ax.scatter([knee], [y], s=220, facecolors="none", edgecolors=color, linewidths=2, zorder=3)
            ax.annotate(
                f"knee: k = {knee}", xy=(knee, y), xytext=(14, 14 + 16 * index),
                textcoords="offset points", color=color, fontsize=9, fontweight="bold",
                arrowprops={"arrowstyle": "-", "color": color, "linewidth": 0.8},
            )
    ax.xaxis.set_major_locator(integer_locator())
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.4g}"))
    ax.set_xlabel("number of segments k")
    ax.set_ylabel("inertia (within-segment sum of squares)")
    ax.set_title("Elbow: inertia falls as k grows; the knee is where gains level off")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.legend(loc="upper right")
    fit_axes(fig, [[ax]])
    return fig


_SCORES = (
    ("silhouette", "Silhouette", "higher is better"),
    ("calinski_harabasz", "Calinski-Harabasz", "higher is better"),
    ("davies_bouldin", "Davies-Bouldin", "lower is better"),
)


@styled
def plot_scores(summary: dict) -> Figure | None:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin against k, one panel each.

    A line per algorithm over k; DBSCAN (whose k is the number of clusters it found) is a
    single marked point; the chosen candidate is ringed in red.
    """
    groups = _candidates_by_algorithm(summary, with_dbscan=True)
    if not any(c.get(key) is not None for cs in groups.values() for c in cs for key, _, _ in _SCORES):
        return None
    chosen = summary.get("chosen") or {}
    order = list(groups)
    fig = new_figure(11.0, 3.9)
    axes = fig.subplots(1, 3)
    handles: dict[str, object] = {}
    for ax, (key, title, direction) in zip(axes, _SCORES):
        for algorithm, candidates in groups.items():
            color = algorithm_color(algorithm, order)
            points = [(c["k"], as_float(c.get(key))) for c in candidates if c.get("k") is not None]
            if not points:
                continue
            ks, values = zip(*points)
            label = algorithm_label(algorithm)
            if algorithm in ("dbscan", "hdbscan") or len(points) == 1:
                handle = ax.scatter(ks, values, marker="D", s=46, color=color, zorder=3, label=label)
            else:
                (handle,) = ax.plot(ks, values, marker="o", markersize=4.5, color=color,
                                    linewidth=1.7, label=label)
            handles.setdefault(label, handle)
            for candidate in candidates:
                if _is_chosen(candidate, chosen) and candidate.get(key) is not None:
                    ring = ax.scatter([candidate["k"]], [candidate[key]], s=260, facecolors="none",
                                      edgecolors=HIGHLIGHT, linewidths=2.2, zorder=4)
                    handles.setdefault("chosen", ring)
        ax.set_title(f"{title}\n({direction})", fontsize=10)
        ax.set_xlabel("number of segments k")
        ax.xaxis.set_major_locator(integer_locator())
        ax.grid(axis="y")
        ax.set_axisbelow(True)
    legend = 0.0
    if handles:
        legend = edge_legend(fig, list(handles.values()), list(handles), "bottom", ncols=min(len(handles), 5))
    fit_axes(fig, [list(axes)], bottom=legend)
    return fig


@styled
def plot_dendrogram(summary: dict) -> Figure | None:
    """Ward dendrogram (last ~30 merges), cut line at the chosen k when it is hierarchical.

    Leaves are labelled with the number of customers under them (micro-clusters on large
    data carry their own counts in ``plot_data.dendrogram.leaf_counts``).
    """
    data = plot_data(summary, "dendrogram")
    if not data or not data.get("linkage"):
        return None
    from scipy.cluster.hierarchy import dendrogram

    linkage = np.asarray(data["linkage"], dtype=float)
    n_leaves = linkage.shape[0] + 1
    counts = data.get("leaf_counts")
    customers = np.zeros(2 * n_leaves - 1)
    customers[:n_leaves] = counts if counts is not None and len(counts) == n_leaves else 1
    for row, (a, b, _dist, _count) in enumerate(linkage):
        customers[n_leaves + row] = customers[int(a)] + customers[int(b)]

    chosen = summary.get("chosen") or {}
    cut = None
    k = chosen.get("k")
    if chosen.get("algorithm") == "hierarchical" and k is not None and 2 <= k <= n_leaves - 1:
        cut = (linkage[-k, 2] + linkage[-(k - 1), 2]) / 2.0

    def link_color(link_id: int) -> str:
        if cut is None:
            return NEUTRAL
        return NEUTRAL if linkage[link_id - n_leaves, 2] <= cut else "#b5bdc9"

    truncate = n_leaves > 30
    fig = new_figure(10.0, 4.2)
    ax = fig.add_subplot()
    dendrogram(
        linkage,
        truncate_mode="lastp" if truncate else None,
        p=30,
        ax=ax,
        link_color_func=link_color,
        leaf_label_func=lambda i: f"{int(customers[i]):,}",
        leaf_rotation=90,
        leaf_font_size=8,
        show_contracted=False,
    )
    if cut is not None:
        ax.axhline(cut, color=HIGHLIGHT, linestyle="--", linewidth=1.4)
        ax.text(ax.get_xlim()[1], cut, f" cut: k = {k} ", color=HIGHLIGHT, fontsize=9,
                fontweight="bold", ha="right", va="bottom")
    sampling = ((summary.get("sampling") or {}).get("hierarchical") or {})
    what = f"{n_leaves:,} micro-clusters" if sampling.get("used") else f"{n_leaves:,} customers"
    shown = "last 30 merges shown; " if truncate else ""
    ax.set_title(f"Ward dendrogram of {what}")
    ax.set_xlabel(f"customers under each leaf ({shown}height = merge distance)")
    ax.set_ylabel("Ward merge distance")
    ax.spines["bottom"].set_visible(False)
    # (scipy set the leaf labels' rotation and size on the labels; say it to the layout too)
    ax.tick_params(axis="x", length=0, labelrotation=90, labelsize=8)
    fit_axes(fig, [[ax]])
    return fig


@styled
def plot_k_distance(summary: dict) -> Figure | None:
    """Sorted k-distances (k = DBSCAN's ``min_samples``) with the chosen ``eps`` line."""
    data = plot_data(summary, "k_distance")
    if not data:
        return None
    distances = np.sort(finite_values(data.get("distances") or []))
    if distances.size == 0:
        return None
    eps = data.get("eps")
    min_samples = data.get("min_samples")
    fig = new_figure(7.6, 3.8)
    ax = fig.add_subplot()
    x = np.arange(1, distances.size + 1)
    ax.plot(x, distances, color=NEUTRAL, linewidth=1.8)
    ax.fill_between(x, 0, distances, color=NEUTRAL, alpha=0.08, linewidth=0)
    if eps is not None:
        above = float(np.mean(distances > eps))
        ax.axhline(eps, color=HIGHLIGHT, linestyle="--", linewidth=1.4)
        ax.text(x[0], eps, f" eps = {eps:.3g}  ({above:.1%} of points lie above: likely noise)",
                color=HIGHLIGHT, fontsize=9, va="bottom", ha="left", fontweight="bold")
    k_text = f"k = min_samples = {min_samples}" if min_samples is not None else "k-th neighbour"
    ax.set_title(f"k-distance curve ({k_text}); eps sits at the bend")
    ax.set_xlabel("points, sorted by distance")
    ax.set_ylabel("distance to k-th nearest neighbour")
    ax.set_xlim(0, distances.size + 1)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_formatter(count_formatter())
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    fit_axes(fig, [[ax]])
    return fig


@styled
def plot_silhouette(summary: dict) -> Figure | None:
    """Per-customer silhouette values, sorted within each segment, with the mean line."""
    data = plot_data(summary, "silhouette")
    if not data or not data.get("value"):
        return None
    ids = np.asarray(data.get("segment") or [], dtype=int)
    values = np.asarray([as_float(v) for v in data["value"]], dtype=float)
    if ids.size != values.size:
        return None
    keep = np.isfinite(values)
    ids, values = ids[keep], values[keep]
    if values.size == 0:
        return None
    names = names_by_id(summary)
    order = segment_order(summary, np.unique(ids))
    colors = segment_colors(order)
    gap = max(2.0, values.size * 0.02)
    fig = new_figure(8.0, 1.2 + 0.5 * len(order) + min(3.0, values.size / 400))
    ax = fig.add_subplot()
    y_lower = gap / 2
    ticks, labels = [], []
    for segment_id in order:
        group = np.sort(values[ids == segment_id])
        y = np.arange(group.size) + y_lower
        ax.fill_betweenx(y, 0, group, facecolor=colors[segment_id], edgecolor=colors[segment_id],
                         linewidth=0.3, alpha=0.9)
        ticks.append(y_lower + group.size / 2)
        labels.append(f"{segment_label(segment_id, names, 28)}  (mean {group.mean():.2f})")
        y_lower += group.size + gap
    mean = float(values.mean())
    ax.axvline(mean, color=HIGHLIGHT, linestyle="--", linewidth=1.4)
    headroom = max(3 * gap, 0.07 * values.size)
    ax.text(mean, -headroom / 2, f" mean {mean:.2f}", color=HIGHLIGHT, fontsize=9,
            fontweight="bold", va="center", ha="left")
    ax.axvline(0, color="#777777", linewidth=0.8)
    ax.set_yticks(ticks, labels=labels)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(y_lower, -headroom)
    ax.set_xlim(min(-0.1, float(values.min()) - 0.05), 1.0)
    ax.set_xlabel("silhouette value (1 = well inside its segment, < 0 = closer to another segment)")
    ax.spines["left"].set_visible(False)
    ax.set_title(f"Silhouette per customer ({values.size:,} sampled)")
    fit_axes(fig, [[ax]])
    return fig


def plot_stability(summary: dict) -> Figure | None:
    """Horizontal bars: each segment's stability (mean Jaccard when refitted on
    subsamples), with Hennig's lines at 0.6 (below: unstable) and 0.85 (highly stable)."""
    segments = [s for s in ordered_segments(summary) if s.get("stability") is not None]
    if not segments:
        return None
    colors = segment_colors(s["id"] for s in ordered_segments(summary))
    values = np.array([float(s["stability"]) for s in segments])
    fig = new_figure(8.0, 1.15 + 0.42 * len(segments))
    ax = labelled_bars(fig, [s.get("name") or f"Segment {s['id']}" for s in segments], values,
                       [colors[int(s["id"])] for s in segments], 0.68)
    for line, text in ((UNSTABLE_BELOW, "unstable below"), (HIGHLY_STABLE_FROM, "highly stable")):
        ax.axvline(line, color=TEXT_COLOR, linestyle="--", linewidth=1)
        ax.text(line, -0.75, f"{text} {line}", ha="center", va="bottom", fontsize=8, color=TEXT_COLOR)
    for i, value in enumerate(values):
        ax.text(min(value, 1.0) + 0.01, i, f"{value:.2f}", va="center", ha="left", fontsize=9, color=TEXT_COLOR)
    ax.set_xlim(0, 1.12)
    ax.set_ylim(len(segments) - 0.5, -1.1)
    ax.set_xlabel("stability: mean Jaccard agreement with the segment found again on subsamples")
    fit_axes(fig, [[ax]])
    return fig
