"""Figures for the report, drawn from the run's ``summary`` dict only.

Every ``plot_*`` function takes the summary (see ``docs/summary.md``) and returns a
`matplotlib.figure.Figure`, or ``None`` when its data does not apply to the run (no
dendrogram when hierarchical clustering was not tried, no k-distance curve without DBSCAN,
...). The figures are plain `~matplotlib.figure.Figure` objects with an Agg canvas: they are
not registered with pyplot, so nothing needs closing and the global Matplotlib state (backend,
rcParams, the pyplot figure list) is never touched. Styling is applied with
`matplotlib.rc_context` while a figure is built and while it is saved.

A segment keeps one colour in every figure: `segment_colors` maps a segment id to a fixed
colour (the noise segment ``-1`` is grey), independent of which other segments exist.

Matplotlib and Seaborn are imported when a figure is first drawn, so importing this module
(for `segment_colors`, say) stays cheap.

Examples
--------
>>> from custseg.plots import plot_segment_sizes, figure_to_png
>>> fig = plot_segment_sizes(summary)          # doctest: +SKIP
>>> png_bytes = figure_to_png(fig)             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import textwrap
import warnings

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "FIGURES",
    "NOISE_COLOR",
    "SEGMENT_PALETTE",
    "algorithm_label",
    "figure_to_png",
    "plot_boxplots",
    "plot_correlation",
    "plot_dendrogram",
    "plot_distributions",
    "plot_elbow",
    "plot_k_distance",
    "plot_profile_heatmap",
    "plot_scores",
    "plot_segment_map",
    "plot_segment_sizes",
    "plot_silhouette",
    "segment_colors",
]

#: Colours of segments 0, 1, 2, ... (repeating after the last one). No grey among them:
#: grey is reserved for the noise segment -1. Based on the colour-blind friendly
#: Okabe-Ito / seaborn "colorblind" hues, plus a few distinct extras.
SEGMENT_PALETTE = (
    "#0173b2",  # blue
    "#de8f05",  # orange
    "#029e73",  # green
    "#d55e00",  # vermilion
    "#cc78bc",  # pink
    "#ca9161",  # tan
    "#56b4e9",  # sky blue
    "#8c2d04",  # brown
    "#6a3d9a",  # purple
    "#ece133",  # yellow
    "#1b5e20",  # dark green
    "#b2182b",  # dark red
)
#: Colour of the noise segment (id -1, DBSCAN's unassigned customers).
NOISE_COLOR = "#9e9e9e"

_ALGORITHM_COLORS = {"kmeans": "#1f4e79", "hierarchical": "#c4661f", "dbscan": "#6a3d9a"}
_ALGORITHM_LABELS = {"kmeans": "K-Means", "hierarchical": "Hierarchical (Ward)", "dbscan": "DBSCAN"}
_EXTRA_ALGORITHM_COLORS = ("#2e7d32", "#ad1457", "#00838f", "#5d4037")
_NEUTRAL = "#4c6a92"
_HIGHLIGHT = "#c62828"
_TEXT = "#2b2b2b"
_MAX_PANELS = 24
_MAX_BOXPLOTS = 12
_DPI = 100

_RC = {
    # Text from the data (column names with "$", ...) must never be parsed as mathtext.
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 9.5,
    "axes.labelcolor": _TEXT,
    "axes.edgecolor": "#9a9a9a",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8,
    "xtick.color": "#555555",
    "ytick.color": "#555555",
    "xtick.labelcolor": _TEXT,
    "ytick.labelcolor": _TEXT,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.dpi": _DPI,
    "savefig.dpi": _DPI,
    "svg.hashsalt": "custseg",
    "image.cmap": "viridis",
}


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _style():
    """Apply the report style and silence font warnings, restoring everything after."""
    import matplotlib

    with matplotlib.rc_context(_RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Glyph .* missing from", UserWarning)
        warnings.filterwarnings("ignore", "Matplotlib currently does not support", UserWarning)
        yield


def _styled(function):
    """Decorator: build the figure under `_style`; never leave global state changed."""

    @functools.wraps(function)
    def wrapper(summary):
        with _style():
            return function(summary)

    return wrapper


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_to_png(fig: Figure, *, dpi: int = _DPI) -> bytes:
    """Render ``fig`` to PNG bytes, deterministically (no software/date metadata).

    The figure is cleared afterwards so that its memory is released at once.
    """
    buffer = io.BytesIO()
    with _style():
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    fig.clear()
    return buffer.getvalue()


def segment_colors(segment_ids) -> dict:
    """Map segment ids to their fixed colours (hex strings).

    A segment's colour depends only on its id, so it is the same in every figure and every
    card of the report; the noise segment ``-1`` (and any negative id) is grey.

    Examples
    --------
    >>> segment_colors([0, 1, -1])
    {0: '#0173b2', 1: '#de8f05', -1: '#9e9e9e'}
    """
    colors = {}
    for segment_id in segment_ids:
        key = int(segment_id)
        colors[key] = NOISE_COLOR if key < 0 else SEGMENT_PALETTE[key % len(SEGMENT_PALETTE)]
    return colors


def _algorithm_color(algorithm: str, order: list[str]) -> str:
    if algorithm in _ALGORITHM_COLORS:
        return _ALGORITHM_COLORS[algorithm]
    others = [a for a in order if a not in _ALGORITHM_COLORS]
    index = others.index(algorithm) if algorithm in others else 0
    return _EXTRA_ALGORITHM_COLORS[index % len(_EXTRA_ALGORITHM_COLORS)]


def algorithm_label(algorithm: str) -> str:
    """Human name of an algorithm key (``"kmeans"`` -> ``"K-Means"``)."""
    return _ALGORITHM_LABELS.get(algorithm, str(algorithm))


def _short(text, width: int = 30) -> str:
    text = str(text)
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _wrap(text, width: int = 16, lines: int = 2) -> str:
    wrapped = textwrap.wrap(str(text), width=width, break_long_words=True) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = _short(wrapped[-1] + "…", width)
    return "\n".join(wrapped)


def _ordered_segments(summary: dict) -> list[dict]:
    """Segments in summary order, with the noise segment (id < 0) last."""
    segments = list(summary.get("segments") or [])
    return [s for s in segments if int(s["id"]) >= 0] + [s for s in segments if int(s["id"]) < 0]


def _segment_names(summary: dict) -> dict:
    names = {int(s["id"]): str(s.get("name") or f"Segment {s['id']}") for s in summary.get("segments") or []}
    return names


def _segment_order(summary: dict, present) -> list[int]:
    """Segment ids in report order, restricted to ``present`` plus unknown ids at the end."""
    present = {int(p) for p in present}
    ordered = [int(s["id"]) for s in _ordered_segments(summary) if int(s["id"]) in present]
    rest = sorted(present - set(ordered), key=lambda i: (i < 0, i))
    return ordered + rest


def _label_for(segment_id: int, names: dict, width: int = 30) -> str:
    name = names.get(segment_id)
    if name is None:
        name = "Noise" if segment_id < 0 else f"Segment {segment_id}"
    return _short(name, width)


def _plot_data(summary: dict, key: str):
    return (summary.get("plot_data") or {}).get(key)


def _sample_matrix(summary: dict):
    """(columns, float matrix n x p, segment ids or None) of the plot sample, or None."""
    sample = _plot_data(summary, "sample")
    if not sample:
        return None
    columns = list(sample.get("columns") or [])
    values = sample.get("values") or []
    if not columns or not values:
        return None
    matrix = np.array(
        [[np.nan if v is None else v for v in row] for row in values], dtype=float
    ).reshape(len(values), len(columns))
    segment = sample.get("segment")
    segment = np.asarray(segment, dtype=int) if segment is not None and len(segment) == len(values) else None
    return columns, matrix, segment


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def _fmt_count(value, _pos=None) -> str:
    return f"{value:,.0f}"


def _count_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(_fmt_count)


def _integer_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _grid(n_panels: int, n_cols: int) -> tuple[int, int]:
    n_cols = max(1, min(n_cols, n_panels))
    return math.ceil(n_panels / n_cols), n_cols


def _panels_per_row(n_panels: int) -> int:
    return 4 if n_panels % 4 == 0 or n_panels > 9 else 3


def _num(value) -> float:
    return float("nan") if value is None else float(value)


# --------------------------------------------------------------------------- summary


@_styled
def plot_segment_sizes(summary: dict) -> Figure | None:
    """Horizontal bars: customers per segment, labelled with names, counts and shares."""
    segments = _ordered_segments(summary)
    if not segments:
        return None
    colors = segment_colors(s["id"] for s in segments)
    sizes = np.array([s.get("size") or 0 for s in segments], dtype=float)
    y = np.arange(len(segments))
    fig = _new_figure(8.0, 0.95 + 0.42 * len(segments))
    ax = fig.add_subplot()
    ax.barh(y, sizes, color=[colors[int(s["id"])] for s in segments], height=0.68)
    ax.set_yticks(y, labels=[_short(s.get("name") or f"Segment {s['id']}", 34) for s in segments])
    ax.invert_yaxis()
    top = float(sizes.max()) if sizes.size and sizes.max() > 0 else 1.0
    for i, segment in enumerate(segments):
        share = segment.get("share")
        label = f"{int(sizes[i]):,}" + (f"  ({share:.1%})" if share is not None else "")
        ax.text(sizes[i] + top * 0.01, i, label, va="center", ha="left", fontsize=9, color=_TEXT)
    ax.set_xlim(0, top * 1.25)
    ax.xaxis.set_major_formatter(_count_formatter())
    ax.set_xlabel("customers")
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.grid(axis="x")
    ax.set_axisbelow(True)
    return fig


# --------------------------------------------------------------------------- model choice


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


@_styled
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
    fig = _new_figure(7.6, 4.0)
    ax = fig.add_subplot()
    for index, (algorithm, candidates) in enumerate(groups.items()):
        color = _algorithm_color(algorithm, order)
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
    ax.xaxis.set_major_locator(_integer_locator())
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.4g}"))
    ax.set_xlabel("number of segments k")
    ax.set_ylabel("inertia (within-segment sum of squares)")
    ax.set_title("Elbow: inertia falls as k grows; the knee is where gains level off")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.legend(loc="upper right")
    return fig


_SCORES = (
    ("silhouette", "Silhouette", "higher is better"),
    ("calinski_harabasz", "Calinski-Harabasz", "higher is better"),
    ("davies_bouldin", "Davies-Bouldin", "lower is better"),
)


@_styled
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
    fig = _new_figure(11.0, 3.9)
    axes = fig.subplots(1, 3)
    handles: dict[str, object] = {}
    for ax, (key, title, direction) in zip(axes, _SCORES):
        for algorithm, candidates in groups.items():
            color = _algorithm_color(algorithm, order)
            points = [(c["k"], _num(c.get(key))) for c in candidates if c.get("k") is not None]
            if not points:
                continue
            ks, values = zip(*points)
            label = algorithm_label(algorithm)
            if algorithm == "dbscan" or len(points) == 1:
                handle = ax.scatter(ks, values, marker="D", s=46, color=color, zorder=3, label=label)
            else:
                (handle,) = ax.plot(ks, values, marker="o", markersize=4.5, color=color,
                                    linewidth=1.7, label=label)
            handles.setdefault(label, handle)
            for candidate in candidates:
                if _is_chosen(candidate, chosen) and candidate.get(key) is not None:
                    ring = ax.scatter([candidate["k"]], [candidate[key]], s=260, facecolors="none",
                                      edgecolors=_HIGHLIGHT, linewidths=2.2, zorder=4)
                    handles.setdefault("chosen", ring)
        ax.set_title(f"{title}\n({direction})", fontsize=10)
        ax.set_xlabel("number of segments k")
        ax.xaxis.set_major_locator(_integer_locator())
        ax.grid(axis="y")
        ax.set_axisbelow(True)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="outside lower center",
                   ncols=min(len(handles), 5))
    return fig


@_styled
def plot_dendrogram(summary: dict) -> Figure | None:
    """Ward dendrogram (last ~30 merges), cut line at the chosen k when it is hierarchical.

    Leaves are labelled with the number of customers under them (micro-clusters on large
    data carry their own counts in ``plot_data.dendrogram.leaf_counts``).
    """
    data = _plot_data(summary, "dendrogram")
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
            return _NEUTRAL
        return _NEUTRAL if linkage[link_id - n_leaves, 2] <= cut else "#b5bdc9"

    truncate = n_leaves > 30
    fig = _new_figure(10.0, 4.2)
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
        ax.axhline(cut, color=_HIGHLIGHT, linestyle="--", linewidth=1.4)
        ax.text(ax.get_xlim()[1], cut, f" cut: k = {k} ", color=_HIGHLIGHT, fontsize=9,
                fontweight="bold", ha="right", va="bottom")
    sampling = ((summary.get("sampling") or {}).get("hierarchical") or {})
    what = f"{n_leaves:,} micro-clusters" if sampling.get("used") else f"{n_leaves:,} customers"
    shown = "last 30 merges shown; " if truncate else ""
    ax.set_title(f"Ward dendrogram of {what}")
    ax.set_xlabel(f"customers under each leaf ({shown}height = merge distance)")
    ax.set_ylabel("Ward merge distance")
    ax.spines["bottom"].set_visible(False)
    ax.tick_params(axis="x", length=0)
    return fig


@_styled
def plot_k_distance(summary: dict) -> Figure | None:
    """Sorted k-distances (k = DBSCAN's ``min_samples``) with the chosen ``eps`` line."""
    data = _plot_data(summary, "k_distance")
    if not data:
        return None
    distances = np.sort(_finite(data.get("distances") or []))
    if distances.size == 0:
        return None
    eps = data.get("eps")
    min_samples = data.get("min_samples")
    fig = _new_figure(7.6, 3.8)
    ax = fig.add_subplot()
    x = np.arange(1, distances.size + 1)
    ax.plot(x, distances, color=_NEUTRAL, linewidth=1.8)
    ax.fill_between(x, 0, distances, color=_NEUTRAL, alpha=0.08, linewidth=0)
    if eps is not None:
        above = float(np.mean(distances > eps))
        ax.axhline(eps, color=_HIGHLIGHT, linestyle="--", linewidth=1.4)
        ax.text(x[0], eps, f" eps = {eps:.3g}  ({above:.1%} of points lie above: likely noise)",
                color=_HIGHLIGHT, fontsize=9, va="bottom", ha="left", fontweight="bold")
    k_text = f"k = min_samples = {min_samples}" if min_samples is not None else "k-th neighbour"
    ax.set_title(f"k-distance curve ({k_text}); eps sits at the bend")
    ax.set_xlabel("points, sorted by distance")
    ax.set_ylabel("distance to k-th nearest neighbour")
    ax.set_xlim(0, distances.size + 1)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_formatter(_count_formatter())
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    return fig


@_styled
def plot_silhouette(summary: dict) -> Figure | None:
    """Per-customer silhouette values, sorted within each segment, with the mean line."""
    data = _plot_data(summary, "silhouette")
    if not data or not data.get("value"):
        return None
    ids = np.asarray(data.get("segment") or [], dtype=int)
    values = np.asarray([_num(v) for v in data["value"]], dtype=float)
    if ids.size != values.size:
        return None
    keep = np.isfinite(values)
    ids, values = ids[keep], values[keep]
    if values.size == 0:
        return None
    names = _segment_names(summary)
    order = _segment_order(summary, np.unique(ids))
    colors = segment_colors(order)
    gap = max(2.0, values.size * 0.02)
    fig = _new_figure(8.0, 1.2 + 0.5 * len(order) + min(3.0, values.size / 400))
    ax = fig.add_subplot()
    y_lower = gap / 2
    ticks, labels = [], []
    for segment_id in order:
        group = np.sort(values[ids == segment_id])
        y = np.arange(group.size) + y_lower
        ax.fill_betweenx(y, 0, group, facecolor=colors[segment_id], edgecolor=colors[segment_id],
                         linewidth=0.3, alpha=0.9)
        ticks.append(y_lower + group.size / 2)
        labels.append(f"{_label_for(segment_id, names, 28)}  (mean {group.mean():.2f})")
        y_lower += group.size + gap
    mean = float(values.mean())
    ax.axvline(mean, color=_HIGHLIGHT, linestyle="--", linewidth=1.4)
    headroom = max(3 * gap, 0.07 * values.size)
    ax.text(mean, -headroom / 2, f" mean {mean:.2f}", color=_HIGHLIGHT, fontsize=9,
            fontweight="bold", va="center", ha="left")
    ax.axvline(0, color="#777777", linewidth=0.8)
    ax.set_yticks(ticks, labels=labels)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(y_lower, -headroom)
    ax.set_xlim(min(-0.1, float(values.min()) - 0.05), 1.0)
    ax.set_xlabel("silhouette value (1 = well inside its segment, < 0 = closer to another segment)")
    ax.spines["left"].set_visible(False)
    ax.set_title(f"Silhouette per customer ({values.size:,} sampled)")
    return fig


# --------------------------------------------------------------------------- segments


@_styled
def plot_segment_map(summary: dict) -> Figure | None:
    """2-D PCA map of the sampled customers, coloured by segment."""
    sample = _plot_data(summary, "sample") or {}
    points = sample.get("map")
    segment = sample.get("segment")
    if not points or segment is None or len(segment) != len(points):
        return None
    xy = np.asarray([[_num(v) for v in p] for p in points], dtype=float)
    if xy.ndim != 2 or xy.shape[1] < 2:
        return None
    ids = np.asarray(segment, dtype=int)
    names = _segment_names(summary)
    order = _segment_order(summary, np.unique(ids))
    colors = segment_colors(order)
    size = 18 if len(ids) <= 500 else 9
    fig = _new_figure(9.4, 6.4)
    ax = fig.add_subplot()
    # noise underneath, then segments in order
    for segment_id in sorted(order, key=lambda i: i >= 0):
        mask = ids == segment_id
        noise = segment_id < 0
        ax.scatter(xy[mask, 0], xy[mask, 1], s=size * (0.7 if noise else 1), color=colors[segment_id],
                   alpha=0.45 if noise else 0.75, linewidths=0, label=_label_for(segment_id, names, 32),
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
    ordered = [_label_for(i, names, 32) for i in order]
    fig.legend([by_order[label] for label in ordered if label in by_order],
              [label for label in ordered if label in by_order],
              loc="outside lower center", ncols=min(len(ordered), 4), markerscale=1.8,
              title="segment (X marks its centre)")
    ax.set_title(f"Segment map: {len(ids):,} sampled customers, first two principal components")
    return fig


def _profile_matrix(summary: dict):
    segments = _ordered_segments(summary)
    if not segments:
        return None
    seen: list[str] = []
    for segment in segments:
        for column in (segment.get("profile") or {}):
            if column not in seen:
                seen.append(column)
    numeric = (summary.get("columns") or {}).get("numeric") or []
    columns = [c for c in numeric if c in seen] + [c for c in seen if c not in numeric]
    if not columns:
        return None
    z = np.array(
        [[_num(((s.get("profile") or {}).get(c) or {}).get("z")) for c in columns] for s in segments],
        dtype=float,
    )
    if not np.isfinite(z).any():
        return None
    return segments, columns, z


@_styled
def plot_profile_heatmap(summary: dict) -> Figure | None:
    """Segments x numeric features: z-score of each segment's mean against all customers."""
    import seaborn as sns

    matrix = _profile_matrix(summary)
    if matrix is None:
        return None
    segments, columns, z = matrix
    limit = max(1.0, float(np.nanmax(np.abs(z))))
    n_rows, n_cols = z.shape
    fig = _new_figure(max(7.0, min(15.0, 3.8 + 1.15 * n_cols)), 1.9 + 0.48 * n_rows)
    ax = fig.add_subplot()
    sns.heatmap(
        z, ax=ax, cmap="RdBu_r", vmin=-limit, vmax=limit,
        annot=n_rows * n_cols <= 400, fmt="+.1f", annot_kws={"fontsize": 8.5},
        linewidths=1.0, linecolor="white",
        xticklabels=[_wrap(c, 13) for c in columns],
        yticklabels=[_short(s.get("name") or f"Segment {s['id']}", 32) for s in segments],
        cbar_kws={"label": "z-score vs all customers (SD)", "shrink": 0.85},
    )
    ax.tick_params(axis="both", length=0)
    ax.tick_params(axis="x", labelrotation=30 if n_cols > 6 else 0)
    if n_cols > 6:
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    ax.tick_params(axis="y", labelrotation=0)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title("Segment means vs the average customer (z-scores)")
    return fig


@_styled
def plot_boxplots(summary: dict) -> Figure | None:
    """One panel per numeric feature: its distribution within each segment (sample)."""
    data = _sample_matrix(summary)
    if data is None or data[2] is None:
        return None
    all_columns, matrix, ids = data
    keep = _most_distinct_columns(summary, all_columns, _MAX_BOXPLOTS)
    columns = [all_columns[j] for j in keep]
    matrix = matrix[:, keep]
    names = _segment_names(summary)
    order = _segment_order(summary, np.unique(ids))
    colors = segment_colors(order)
    n_rows, n_cols = _grid(len(columns), _panels_per_row(len(columns)))
    fig = _new_figure(11.0, n_rows * (0.9 + 0.34 * len(order)) + 0.3)
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
        groups = [_finite(matrix[ids == segment_id, index]) for segment_id in order]
        used = [i for i, g in enumerate(groups) if g.size]
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
            ax.set_yticklabels([_label_for(i, names, 26) for i in order])
        else:
            ax.set_yticklabels([])
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.tick_params(axis="y", length=0)
        ax.set_title(_short(columns[index], 26 if n_cols == 4 else 36), fontsize=9.5)
        ax.grid(axis="x")
        ax.set_axisbelow(True)
    if len(columns) < len(all_columns):
        fig.suptitle(f"The {len(columns)} of {len(all_columns)} numeric columns that differ most between segments",
                     x=0.01, ha="left", fontsize=10.5, fontweight="bold")
    return fig


def _most_distinct_columns(summary: dict, columns: list[str], limit: int) -> list[int]:
    """Indices of up to ``limit`` columns, those whose segment z-scores spread most, in order."""
    if len(columns) <= limit:
        return list(range(len(columns)))
    spread = []
    for j, column in enumerate(columns):
        z = [_num(((s.get("profile") or {}).get(column) or {}).get("z")) for s in summary.get("segments") or []]
        z = _finite(z)
        spread.append((-(float(z.max() - z.min()) if z.size else 0.0), j))
    return sorted(j for _, j in sorted(spread)[:limit])


# --------------------------------------------------------------------------- exploration


@_styled
def plot_distributions(summary: dict) -> Figure | None:
    """Histogram with a density curve for each numeric column of the sample."""
    import seaborn as sns

    data = _sample_matrix(summary)
    if data is None:
        return None
    columns, matrix, _ids = data
    columns = columns[:_MAX_PANELS]
    n_rows, n_cols = _grid(len(columns), _panels_per_row(len(columns)))
    fig = _new_figure(11.0, 0.35 + (2.25 if n_cols == 3 else 2.0) * n_rows)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    for index, ax in enumerate(axes):
        if index >= len(columns):
            ax.set_visible(False)
            continue
        values = _finite(matrix[:, index])
        if values.size:
            distinct = np.unique(values).size
            sns.histplot(
                values, ax=ax, kde=distinct > 2 and float(np.std(values)) > 0,
                bins=min(30, distinct, max(10, int(np.sqrt(values.size)))), color=_NEUTRAL,
                edgecolor="white",
                linewidth=0.5, alpha=0.75, line_kws={"linewidth": 1.6},
            )
        else:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(_short(columns[index], 26 if n_cols == 4 else 36), fontsize=9.5)
        ax.set_xlabel("")
        ax.set_ylabel("customers" if index % n_cols == 0 else "")
        ax.yaxis.set_major_formatter(_count_formatter())
    return fig


@_styled
def plot_correlation(summary: dict) -> Figure | None:
    """Pearson correlation between the sample's numeric columns (lower triangle)."""
    import seaborn as sns

    data = _sample_matrix(summary)
    if data is None or len(data[0]) < 2:
        return None
    import pandas as pd

    columns, matrix, _ids = data
    corr = pd.DataFrame(matrix).corr().to_numpy()
    n = len(columns)
    mask = np.triu(np.ones((n, n), dtype=bool), k=1)
    side = max(4.8, min(12.0, 2.2 + 0.62 * n))
    fig = _new_figure(side + 1.2, side)
    ax = fig.add_subplot()
    labels = [_short(c, 28) for c in columns]
    sns.heatmap(
        corr, mask=mask, ax=ax, cmap="RdBu_r", vmin=-1, vmax=1, square=True,
        annot=n <= 14, fmt=".2f", annot_kws={"fontsize": 8},
        linewidths=1.0, linecolor="white", xticklabels=labels, yticklabels=labels,
        cbar_kws={"label": "Pearson correlation", "shrink": 0.8},
    )
    ax.tick_params(axis="both", length=0)
    ax.tick_params(axis="x", labelrotation=35)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    ax.tick_params(axis="y", labelrotation=0)
    ax.set_title("Correlation between numeric columns")
    return fig


#: Report figures in page order: (key, function).
FIGURES = (
    ("segment_sizes", plot_segment_sizes),
    ("distributions", plot_distributions),
    ("correlation", plot_correlation),
    ("elbow", plot_elbow),
    ("scores", plot_scores),
    ("dendrogram", plot_dendrogram),
    ("k_distance", plot_k_distance),
    ("silhouette", plot_silhouette),
    ("segment_map", plot_segment_map),
    ("profile_heatmap", plot_profile_heatmap),
    ("boxplots", plot_boxplots),
)
