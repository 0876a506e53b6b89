"""Figures for the report, drawn from the run's ``summary`` dict only.

Every ``plot_*`` function takes the summary (see ``docs/summary.md``) and returns a
`matplotlib.figure.Figure`, or ``None`` when its data does not apply to the run (no
dendrogram when hierarchical clustering was not tried, no k-distance curve without DBSCAN,
...). The figures are plain `~matplotlib.figure.Figure` objects with an Agg canvas: they are
not registered with pyplot, so nothing needs closing and the global Matplotlib state (backend,
rcParams, the pyplot figure list) is never touched. Styling is applied with
`matplotlib.rc_context` while a figure is built and while it is saved.

A segment keeps one colour in every figure: `segment_colors` maps a segment id to a fixed
colour (the noise segment ``-1`` is grey), independent of which other segments exist. RFM
segments (transaction logs) have their own fixed colours, `RFM_PALETTE`, and always appear in
the standard order, `RFM_SEGMENT_ORDER`.

Columns profiled on a log scale (``"log_scale": true``: heavy-tailed money and counts) are
marked "(log)" in the profile figures, and those with a long right tail are drawn on a log
axis (symlog, linear below 1) in the distributions, box plots and pair plot, and correlated on
log(1 + value); `figure_notes` says so under each figure.

Matplotlib is imported when a figure is first drawn, so importing this module (for
`segment_colors`, say) stays cheap. The figures use Matplotlib alone (heat maps and
histograms included), and each places its axes itself from the size of its text (`_fit`)
rather than through a layout engine: drawing a report's figures is most of the time a run
takes on small data.

Examples
--------
>>> from custseg.reporting.figures import plot_segment_sizes, figure_to_png
>>> fig = plot_segment_sizes(summary)          # doctest: +SKIP
>>> png_bytes = figure_to_png(fig)             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import warnings

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "FIGURES",
    "NEW_GONE_COLOR",
    "NOISE_COLOR",
    "RFM_FIGURES",
    "RFM_PALETTE",
    "RFM_SEGMENT_ORDER",
    "SEGMENT_PALETTE",
    "TRACK_FIGURES",
    "algorithm_label",
    "figure_notes",
    "figure_to_png",
    "level_colors",
    "log_scale_columns",
    "plot_boxplots",
    "plot_categories",
    "plot_correlation",
    "plot_dendrogram",
    "plot_distributions",
    "plot_elbow",
    "plot_k_distance",
    "plot_loadings",
    "plot_pairs",
    "plot_profile_heatmap",
    "plot_profile_lines",
    "plot_rfm_crosswalk",
    "plot_rfm_sizes",
    "plot_scores",
    "plot_scree",
    "plot_segment_map",
    "plot_segment_sizes",
    "plot_silhouette",
    "plot_stability",
    "plot_track_flow",
    "plot_track_rfm_flow",
    "plot_track_rfm_transitions",
    "plot_track_transitions",
    "rfm_colors",
    "rfm_crosswalk",
    "rfm_order",
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

#: The 11 standard RFM segments, best to worst (the order of every RFM table and figure).
RFM_SEGMENT_ORDER = (
    "Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "Promising",
    "Need Attention", "About to Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost",
)
#: Colour of each RFM segment: greens for the healthy, blues for the new, ambers for those
#: slipping, reds for those at risk, greys for the lapsed. Unknown names are neutral.
RFM_PALETTE = {
    "Champions": "#1b7837", "Loyal Customers": "#4d9a4f", "Potential Loyalists": "#8fc47f",
    "New Customers": "#2c7fb8", "Promising": "#7fb8dc", "Need Attention": "#e6ab02",
    "About to Sleep": "#d08c3c", "At Risk": "#d6604d", "Can't Lose Them": "#a50f15",
    "Hibernating": "#969696", "Lost": "#5a5a5a",
}

_ALGORITHM_COLORS = {"kmeans": "#1f4e79", "hierarchical": "#c4661f", "gmm": "#2e7d32", "hdbscan": "#ad1457",
                     "dbscan": "#6a3d9a"}
_ALGORITHM_LABELS = {"kmeans": "K-Means", "hierarchical": "Hierarchical (Ward)", "gmm": "Gaussian mixture",
                     "hdbscan": "HDBSCAN", "dbscan": "DBSCAN"}
_EXTRA_ALGORITHM_COLORS = ("#2e7d32", "#ad1457", "#00838f", "#5d4037")
_NEUTRAL = "#4c6a92"
_HIGHLIGHT = "#c62828"
_TEXT = "#2b2b2b"
_DPI = 100

# Caps that keep every figure legible and the report small however wide the data is.
# `figure_notes` tells the reader when one of them applied.
#: Numeric columns drawn in the distributions and correlation figures.
MAX_PANELS = 24
#: Numeric columns in the box plots and the profile line plot.
MAX_BOXPLOTS = 12
#: Numeric columns in the pair plot, and sampled customers drawn in it.
MAX_PAIR_COLUMNS = 5
MAX_PAIR_POINTS = 1000
#: Columns in the profile and PCA-loadings heat maps.
MAX_HEATMAP_COLUMNS = 24
#: Categorical columns in the make-up figure, and levels drawn per column before "other".
MAX_CATEGORY_PANELS = 4
#: Principal components in the loadings heat map (the scree shows up to 30).
MAX_COMPONENTS = 12
MAX_LEVELS = 5
#: A categorical column splits the distributions only if it has 2 to this many levels.
MAX_SPLIT_LEVELS = 4

#: Colours of the levels of a categorical column (most common level first), in every figure.
#: Muted, darker tones so that they do not read as segment colours.
LEVEL_PALETTE = ("#2b4c7e", "#d09a2c", "#7d8b99", "#8e5572", "#2a8f84")
#: Colour of the "other" bucket of categorical levels.
OTHER_COLOR = "#d5d8dc"

_RC = {
    # Text from the data (column names with "$", ...) must never be parsed as mathtext.
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    # Titles sit at a fixed height above their axes (`_fit` leaves room for them): left to
    # itself, Matplotlib measures every titled axes' y tick labels at each draw, in case an
    # offset text ("1e6") stands in the way. Axes here never show one: tick labels carry
    # whole numbers (no offset, no scientific notation short of a billion).
    "axes.titley": 1.0,
    "axes.formatter.useoffset": False,
    "axes.formatter.limits": (-6, 9),
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

    # No layout engine: `_fit` places the axes (see "layout" below).
    fig = Figure(figsize=(width, height), dpi=_DPI, layout=None)
    FigureCanvasAgg(fig)
    return fig


# --------------------------------------------------------------------------- layout
#
# Figures are laid out by `_fit` from the measured size of their text, not by Matplotlib's
# constrained layout: to find room for tick labels that engine drew each figure twice more
# before the real drawing, and it took about half the report's rendering time. `_fit`
# measures the strings the ticks will carry (from the axis' locator and formatter, without
# creating tick artists) and the titles and axis labels, and sets the axes' positions.

#: White space (inches) at the edges of a figure, and between its parts.
_EDGE = 0.06
_GAP = 0.1


def _inches(fig, box) -> tuple[float, float]:
    return box.width / fig.dpi, box.height / fig.dpi


def _text_size(text: str, fontsize: float, rotation: float = 0.0) -> tuple[float, float]:
    """(width, height) in inches of ``text`` at ``fontsize`` points, rotated by ``rotation`` degrees.

    Sizes are measured once and shared by all figures: a line from the font's metrics (as
    tall as the font's ascent and descent, or its glyphs if taller), a text of several
    lines as Matplotlib lays it out.
    """
    if not text:
        return 0.0, 0.0
    import matplotlib

    family = tuple(matplotlib.rcParams["font.family"])
    if "\n" in str(text):
        return _block_size(str(text), float(fontsize), float(rotation), family)
    width, height = _line_size(str(text), float(fontsize), family)
    if rotation:
        angle = math.radians(rotation)
        width, height = (abs(width * math.cos(angle)) + abs(height * math.sin(angle)),
                         abs(width * math.sin(angle)) + abs(height * math.cos(angle)))
    return width, height


@functools.lru_cache(maxsize=4096)
def _line_size(line: str, fontsize: float, family: tuple) -> tuple[float, float]:
    from matplotlib.font_manager import FontProperties

    renderer = _measuring_figure().canvas.get_renderer()
    width, height, descent = renderer.get_text_width_height_descent(
        line, FontProperties(family=list(family), size=fontsize), ismath=False)
    ascent, descent = (height - descent) / _DPI, descent / _DPI
    min_ascent, min_descent = _font_extent(fontsize, family)
    return width / _DPI, max(ascent, min_ascent) + max(descent, min_descent)


@functools.lru_cache(maxsize=64)
def _font_extent(fontsize: float, family: tuple) -> tuple[float, float]:
    """(ascent, descent) in inches that Matplotlib gives a line of text at least.

    The font's typographic ascent and descent where it has them (as Matplotlib 3.10+
    uses), else those of a line of "x" measured whole.
    """
    from matplotlib.font_manager import FontProperties, findfont, get_font

    try:
        font = get_font(findfont(FontProperties(family=list(family), size=fontsize)))
        table = font.get_sfnt_table("OS/2")
        scale = fontsize / 72 / font.get_sfnt_table("head")["unitsPerEm"]
        return table["sTypoAscender"] * scale, -table["sTypoDescender"] * scale
    except Exception:  # noqa: BLE001 - no such table: measure instead
        return _block_size("x", fontsize, 0.0, family)[1], 0.0


@functools.lru_cache(maxsize=1024)
def _block_size(text: str, fontsize: float, rotation: float, family: tuple) -> tuple[float, float]:
    from matplotlib.text import Text

    fig = _measuring_figure()
    artist = Text(0, 0, text, fontsize=fontsize, rotation=rotation, family=list(family))
    artist.set_figure(fig)
    box = artist.get_window_extent(fig.canvas.get_renderer())
    return box.width / _DPI, box.height / _DPI


@functools.lru_cache(maxsize=1)
def _measuring_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


def _artist_size(fig, artist) -> tuple[float, float]:
    """(width, height) in inches of a text or legend artist (0 when absent, hidden or empty)."""
    if artist is None or not artist.get_visible():
        return 0.0, 0.0
    if hasattr(artist, "get_text") and not artist.get_text():
        return 0.0, 0.0
    return _inches(fig, artist.get_window_extent(fig.canvas.get_renderer()))


def _tick_setting(axis, name: str, rc_key: str):
    import matplotlib

    value = axis.get_tick_params().get(name)
    return matplotlib.rcParams[rc_key] if value is None else value


def _labels_shown(axis) -> bool:
    params = axis.get_tick_params()
    if axis.axis_name == "x":
        return bool(params.get("labelbottom", True) or params.get("labeltop", False))
    return bool(params.get("labelleft", True) or params.get("labelright", False))


def _tick_labels(axis) -> list[tuple[float, float, float, str]]:
    """(position in inches from the axis' start, width, height, text) of each tick label drawn.

    Uses the axis' locator and formatter as a draw would, without creating tick artists.
    """
    from matplotlib.font_manager import FontProperties

    name = axis.axis_name
    if not _labels_shown(axis):
        return []
    locs = np.asarray(axis.get_majorticklocs(), dtype=float)
    if locs.size == 0:
        return []
    labels = axis.major.formatter.format_ticks(locs)
    low, high = sorted(axis.get_view_interval())
    transform = axis.get_transform()
    lo_t, hi_t = sorted(transform.transform(np.array([low, high], dtype=float)))
    locs_t = transform.transform(locs)
    bbox = axis.axes.get_position()
    length = (bbox.width * axis.figure.get_figwidth() if name == "x"
              else bbox.height * axis.figure.get_figheight())
    size = FontProperties(size=_tick_setting(axis, "labelsize", f"{name}tick.labelsize")).get_size_in_points()
    rotation = float(axis.get_tick_params().get("rotation") or 0.0)
    found = []
    for loc_t, label in zip(locs_t, labels):
        slack = (hi_t - lo_t) * 1e-10
        if not label or not lo_t - slack <= loc_t <= hi_t + slack:
            continue
        width, height = _text_size(label, size, rotation)
        offset = (loc_t - lo_t) / (hi_t - lo_t) * length if hi_t > lo_t else 0.0
        if name == "y" and axis.axes.yaxis_inverted():
            offset = length - offset
        if name == "x" and axis.axes.xaxis_inverted():
            offset = length - offset
        found.append((offset, width, height, label))
    return found


def _tick_room(axis, labels) -> float:
    """Inches from the axes' edge to the outer side of the tick ``labels`` (or the ticks)."""
    name = axis.axis_name
    params = axis.get_tick_params()
    if name == "x":
        ticks_on = params.get("bottom", True) or params.get("top", False)
    else:
        ticks_on = params.get("left", True) or params.get("right", False)
    length = float(_tick_setting(axis, "length", f"{name}tick.major.size")) if ticks_on else 0.0
    pad = float(_tick_setting(axis, "pad", f"{name}tick.major.pad"))
    if not labels:
        return length / 72
    extent = max(height if name == "x" else width for _offset, width, height, _text in labels)
    return (max(length, 0.0) + pad) / 72 + extent


def _label_alignment(axis) -> str:
    """Horizontal alignment of an x axis' tick labels ("center" unless set on them)."""
    return axis.majorTicks[0].label1.get_horizontalalignment()


def _needs(ax) -> dict:
    """Inches ``ax`` needs outside its box on each side, and the spill of its tick labels.

    ``left``, ``right``, ``top``, ``bottom``: tick labels, axis labels and titles.
    ``spill_*``: how far the outermost tick labels reach past the box's corners (an x label
    at the right end, a y label at the top), given the axes' current size.
    """
    import matplotlib

    fig = ax.figure
    needs = dict.fromkeys(("left", "right", "top", "bottom", "spill_left", "spill_right",
                           "spill_top", "spill_bottom"), 0.0)
    if not ax.get_visible():
        return needs
    box = ax.get_position()
    width, height = box.width * fig.get_figwidth(), box.height * fig.get_figheight()
    # titles: over the axes, from its left edge, centred, or to its right edge
    for title, side in ((ax._left_title, "spill_right"), (ax.title, None), (ax._right_title, "spill_left")):
        title_width, title_height = _artist_size(fig, title)
        if title_height:
            needs["top"] = max(needs["top"], title_height + float(matplotlib.rcParams["axes.titlepad"]) / 72)
            beyond = title_width - width
            for key in ([side] if side else ["spill_left", "spill_right"]):
                needs[key] = max(needs[key], beyond if side else beyond / 2)
    if not ax.axison:
        return needs
    labelpad = float(matplotlib.rcParams["axes.labelpad"]) / 72
    # x axis, below (or above: colour bars and the like never put labels there here)
    x_labels = _tick_labels(ax.xaxis)
    x_room = _tick_room(ax.xaxis, x_labels)
    label_width, x_label = _artist_size(fig, ax.xaxis.label)
    needs["bottom"] = x_room + (labelpad + x_label if x_label else 0.0)
    for key in ("spill_left", "spill_right"):  # an axis label wider than the axes, centred
        needs[key] = max(needs[key], (label_width - width) / 2)
    if x_labels:
        align = _label_alignment(ax.xaxis)
        for offset, w, _h, _text in x_labels:
            start = offset - (w if align == "right" else w / 2 if align == "center" else 0.0)
            needs["spill_left"] = max(needs["spill_left"], -start)
            needs["spill_right"] = max(needs["spill_right"], start + w - width)
    # y axis, left or right
    y_labels = _tick_labels(ax.yaxis)
    y_room = _tick_room(ax.yaxis, y_labels)
    y_label, label_height = _artist_size(fig, ax.yaxis.label)
    side = "right" if ax.yaxis.get_label_position() == "right" or ax.yaxis.get_tick_params().get(
        "labelright") else "left"
    needs[side] = y_room + (labelpad + y_label if y_label else 0.0)
    for key in ("spill_top", "spill_bottom"):  # an axis label taller than the axes, centred
        needs[key] = max(needs[key], (label_height - height) / 2)
    if y_labels:
        for offset, _w, h, _text in y_labels:
            needs["spill_bottom"] = max(needs["spill_bottom"], h / 2 - offset)
            needs["spill_top"] = max(needs["spill_top"], offset + h / 2 - height)
    return needs


def _fit(fig, grid, *, left: float = 0.0, right: float = 0.0, top: float = 0.0, bottom: float = 0.0,
         hgap: float = 0.0, wgap: float = 0.0) -> None:
    """Place the axes of ``grid`` (rows of axes; None for an empty cell) to fill the figure.

    Each margin and each gap between rows and columns is sized to hold what the axes beside
    it need (tick labels, axis labels, titles: `_needs`); ``left`` ... ``bottom`` add room
    at the edges (for a legend or colour bar), ``hgap``/``wgap`` between rows/columns.
    Rows share the height left, and columns the width, equally.
    """
    grid = [list(row) for row in grid]
    n_rows, n_cols = len(grid), len(grid[0])
    fig_w, fig_h = fig.get_size_inches()
    placed = None
    # What axes need depends a little on their size (number of ticks, how far a long label
    # spills past them): place, measure again, until the layout moves less than half a pixel.
    for _pass in range(4):
        rows = [[_needs(ax) if ax is not None else None for ax in row] for row in grid]
        columns = [[rows[r][c] for r in range(n_rows)] for c in range(n_cols)]

        def most(cells, *keys):
            return max([cell[key] for cell in cells if cell is not None for key in keys] or [0.0])

        margin_left = left + _EDGE + most(columns[0], "left", "spill_left")
        margin_right = right + _EDGE + most(columns[-1], "right", "spill_right")
        margin_top = top + _EDGE + most(rows[0], "top", "spill_top")
        margin_bottom = bottom + _EDGE + most(rows[-1], "bottom", "spill_bottom")
        col_gaps = [wgap + _GAP + most(columns[c - 1], "right", "spill_right") + most(columns[c], "left", "spill_left")
                    for c in range(1, n_cols)] + [0.0]
        row_gaps = [hgap + _GAP + most(rows[r - 1], "bottom", "spill_bottom") + most(rows[r], "top", "spill_top")
                    for r in range(1, n_rows)] + [0.0]
        col_w = max(fig_w - margin_left - margin_right - sum(col_gaps), 0.2 * fig_w) / n_cols
        row_h = max(fig_h - margin_top - margin_bottom - sum(row_gaps), 0.2 * fig_h) / n_rows
        layout = np.array([margin_left, margin_right, margin_top, margin_bottom, *col_gaps, *row_gaps])
        if placed is not None and np.abs(layout - placed).max() < 0.5 / fig.dpi:
            return
        placed = layout
        y = fig_h - margin_top
        for r in range(n_rows):
            y -= row_h
            x = margin_left
            for c in range(n_cols):
                if grid[r][c] is not None:
                    grid[r][c].set_position([x / fig_w, y / fig_h, col_w / fig_w, row_h / fig_h])
                x += col_w + col_gaps[c]
            y -= row_gaps[r]


def _edge_legend(fig, handles, labels, side: str, **kwargs) -> float:
    """A figure legend against one edge (``"bottom"``, ``"top"`` or ``"right"``).

    A legend at the top or bottom drops columns (``ncols``) until it fits the figure's width.
    Returns the inches it takes from that edge, for `_fit`'s margin on that side.
    """
    width, height = fig.get_size_inches()
    place = {
        "bottom": ("lower center", (0.5, _EDGE / height)),
        "top": ("upper left", (_EDGE / width, 1 - _EDGE / height)),
        "right": ("center right", (1 - _EDGE / width, 0.5)),
    }[side]
    ncols = kwargs.pop("ncols", 1)
    while True:
        legend = fig.legend(handles, labels, loc=place[0], bbox_to_anchor=place[1], borderaxespad=0.0,
                            ncols=ncols, **kwargs)
        size = _artist_size(fig, legend)
        if side == "right" or ncols == 1 or size[0] <= width - 2 * _EDGE:
            break
        legend.remove()
        ncols -= 1
    return (size[0] if side == "right" else size[1]) + _GAP


def kernel_density(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of ``values`` on ``grid`` with Scott's bandwidth.

    Same estimate as ``scipy.stats.gaussian_kde`` in one dimension, without its
    triangular solves, which made the pair plot the slowest figure of a small report.
    """
    values = np.asarray(values, dtype="float64")
    bandwidth = float(np.std(values, ddof=1)) * values.size ** (-1 / 5)
    if not bandwidth > 0:
        return np.zeros_like(grid, dtype="float64")
    scaled = (grid[:, None] - values[None, :]) / bandwidth
    return np.exp(-0.5 * scaled**2).sum(axis=1) / (values.size * bandwidth * np.sqrt(2 * np.pi))


#: zlib level of the PNGs: 3 encodes the report's figures about a third faster than the usual
#: 6, for files about 5 % larger.
PNG_COMPRESSION = 3


def figure_to_png(fig: Figure, *, dpi: int = _DPI) -> bytes:
    """Render ``fig`` to PNG bytes, deterministically (no software/date metadata).

    The figures' background is opaque white, so the image is stored as RGB, without an
    alpha channel. The figure's pixel buffer is released afterwards (a new one is made if
    the figure is rendered again).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    original = fig.dpi
    try:
        with _style():
            if dpi != original:
                fig.dpi = dpi
            canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
            canvas.draw()
            size = canvas.get_width_height(physical=True)
            image = Image.frombytes("RGB", size, canvas.buffer_rgba(), "raw", "RGBX")
            buffer = io.BytesIO()
            image.save(buffer, format="png", compress_level=PNG_COMPRESSION, dpi=(dpi, dpi))
    finally:
        if fig.dpi != original:
            fig.dpi = original
        FigureCanvasAgg(fig)  # a fresh canvas: the old one and its pixels go now
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
    """Wrap ``text`` on spaces, and inside words after ``_``, ``-``, ``/`` or ``.`` if need be."""
    import re

    chunks = [c for c in re.split(r"(?<=[_\-/.])|(?<=\s)", str(text)) if c]
    wrapped: list[str] = []
    line = ""
    for chunk in chunks:
        while len(chunk) > width:  # a chunk too long for any line: break it hard
            if line:
                wrapped.append(line.rstrip())
                line = ""
            wrapped.append(chunk[:width])
            chunk = chunk[width:]
        if len((line + chunk).rstrip()) > width and line:
            wrapped.append(line.rstrip())
            line = chunk.lstrip()
        else:
            line += chunk
    if line.strip() or not wrapped:
        wrapped.append(line.rstrip())
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
    return _size_bars(
        labels=[s.get("name") or f"Segment {s['id']}" for s in segments],
        sizes=[s.get("size") or 0 for s in segments],
        shares=[s.get("share") for s in segments],
        colors=[colors[int(s["id"])] for s in segments],
        row_height=0.42, bar_height=0.68,
    )


def _labelled_bars(fig: Figure, labels, values, colors, bar_height: float):
    """One horizontal bar per label, top to bottom, on a new axes with a vertical grid."""
    y = np.arange(len(labels))
    ax = fig.add_subplot()
    ax.barh(y, values, color=colors, height=bar_height)
    ax.set_yticks(y, labels=[_short(label, 34) for label in labels])
    ax.invert_yaxis()
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.grid(axis="x")
    ax.set_axisbelow(True)
    return ax


def _size_bars(labels, sizes, shares, colors, *, row_height: float, bar_height: float,
               title: str | None = None) -> Figure:
    """Horizontal bars of customer counts, each labelled with its count and share."""
    sizes = np.asarray(sizes, dtype=float)
    fig = _new_figure(8.0, 0.95 + row_height * len(labels))
    ax = _labelled_bars(fig, labels, sizes, colors, bar_height)
    top = float(sizes.max()) if sizes.size and sizes.max() > 0 else 1.0
    for i, share in enumerate(shares):
        label = f"{int(sizes[i]):,}" + (f"  ({share:.1%})" if share is not None else "")
        ax.text(sizes[i] + top * 0.01, i, label, va="center", ha="left", fontsize=9, color=_TEXT)
    ax.set_xlim(0, top * 1.25)
    ax.xaxis.set_major_formatter(_count_formatter())
    ax.set_xlabel("customers")
    if title:
        ax.set_title(title)
    _fit(fig, [[ax]])
    return fig


def plot_stability(summary: dict) -> Figure | None:
    """Horizontal bars: each segment's stability (mean Jaccard when refitted on
    subsamples), with Hennig's lines at 0.6 (below: unstable) and 0.85 (highly stable)."""
    from ..segmenting.stability import HIGHLY_STABLE_FROM, UNSTABLE_BELOW

    segments = [s for s in _ordered_segments(summary) if s.get("stability") is not None]
    if not segments:
        return None
    colors = segment_colors(s["id"] for s in _ordered_segments(summary))
    values = np.array([float(s["stability"]) for s in segments])
    fig = _new_figure(8.0, 1.15 + 0.42 * len(segments))
    ax = _labelled_bars(fig, [s.get("name") or f"Segment {s['id']}" for s in segments], values,
                        [colors[int(s["id"])] for s in segments], 0.68)
    for line, text in ((UNSTABLE_BELOW, "unstable below"), (HIGHLY_STABLE_FROM, "highly stable")):
        ax.axvline(line, color=_TEXT, linestyle="--", linewidth=1)
        ax.text(line, -0.75, f"{text} {line}", ha="center", va="bottom", fontsize=8, color=_TEXT)
    for i, value in enumerate(values):
        ax.text(min(value, 1.0) + 0.01, i, f"{value:.2f}", va="center", ha="left", fontsize=9, color=_TEXT)
    ax.set_xlim(0, 1.12)
    ax.set_ylim(len(segments) - 0.5, -1.1)
    ax.set_xlabel("stability: mean Jaccard agreement with the segment found again on subsamples")
    _fit(fig, [[ax]])
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

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}" if abs(v) >= 1000 else f"{v:,.4g}"))
    ax.set_xlabel("number of segments k")
    ax.set_ylabel("inertia (within-segment sum of squares)")
    ax.set_title("Elbow: inertia falls as k grows; the knee is where gains level off")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.legend(loc="upper right")
    _fit(fig, [[ax]])
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
            if algorithm in ("dbscan", "hdbscan") or len(points) == 1:
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
    legend = 0.0
    if handles:
        legend = _edge_legend(fig, list(handles.values()), list(handles), "bottom", ncols=min(len(handles), 5))
    _fit(fig, [list(axes)], bottom=legend)
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
    # (scipy set the leaf labels' rotation and size on the labels; say it to the layout too)
    ax.tick_params(axis="x", length=0, labelrotation=90, labelsize=8)
    _fit(fig, [[ax]])
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
    _fit(fig, [[ax]])
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
    _fit(fig, [[ax]])
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
    legend = _edge_legend(fig, [by_order[label] for label in ordered if label in by_order],
                          [label for label in ordered if label in by_order], "bottom",
                          ncols=min(len(ordered), 4), markerscale=1.8, title="segment (X marks its centre)")
    ax.set_title(f"Segment map: {len(ids):,} sampled customers, first two principal components")
    _fit(fig, [[ax]], bottom=legend)
    return fig


# --------------------------------------------------------------------------- column choice


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


def _level_rank(summary: dict, column: str, levels) -> list[str]:
    """``levels`` ordered by their share among all customers (largest first), then by name."""
    overall = ((summary.get("overall") or {}).get("categories") or {}).get(column) or {}
    return sorted({str(level) for level in levels}, key=lambda level: (-(overall.get(level) or 0.0), level))


def level_colors(summary: dict, column: str, levels) -> dict:
    """Colours of the levels of categorical ``column``: by rank of the level among all customers.

    The same level of the same column has the same colour in every figure (distributions
    split by the column, categorical make-up); levels beyond the palette share the "other"
    colour.
    """
    ranked = _level_rank(summary, column, levels)
    return {level: LEVEL_PALETTE[i] if i < len(LEVEL_PALETTE) else OTHER_COLOR for i, level in enumerate(ranked)}


def category_levels(summary: dict, column: str) -> tuple[list[str], list[str]]:
    """(levels drawn, levels grouped as "other") of a categorical column, most common first.

    At most `MAX_LEVELS` buckets: when there are more levels, the ``MAX_LEVELS - 1`` most
    common are kept and the rest become one "other" bucket.
    """
    seen = set(((summary.get("overall") or {}).get("categories") or {}).get(column) or {})
    for segment in summary.get("segments") or []:
        seen.update(((segment.get("categories") or {}).get(column) or {}))
    ranked = _level_rank(summary, column, seen)
    if len(ranked) <= MAX_LEVELS:
        return ranked, []
    return ranked[: MAX_LEVELS - 1], ranked[MAX_LEVELS - 1:]


def category_columns(summary: dict) -> tuple[list[str], list[str]]:
    """(categorical columns shown per segment, all categorical columns with shares).

    At most `MAX_CATEGORY_PANELS`: columns clustered on come first, then those whose
    make-up differs most between segments; the chosen ones keep the summary's order.
    """
    overall = (summary.get("overall") or {}).get("categories") or {}
    declared = list((summary.get("columns") or {}).get("categorical") or [])
    found = [c for c in declared if c in overall] + [c for c in overall if c not in declared]
    for segment in summary.get("segments") or []:
        found += [c for c in (segment.get("categories") or {}) if c not in found]
    if len(found) <= MAX_CATEGORY_PANELS:
        return found, found
    features = set(summary.get("features") or [])

    def gap(column: str) -> float:
        base = overall.get(column) or {}
        worst = 0.0
        for segment in summary.get("segments") or []:
            shares = (segment.get("categories") or {}).get(column) or {}
            for level in set(shares) | set(base):
                worst = max(worst, abs((shares.get(level) or 0.0) - (base.get(level) or 0.0)))
        return worst

    ranked = sorted(range(len(found)), key=lambda i: (found[i] not in features, -gap(found[i]), i))
    keep = sorted(ranked[:MAX_CATEGORY_PANELS])
    return [found[i] for i in keep], found


def _split_column(summary: dict, n_rows: int):
    """(column, levels, values) of the sample's categorical column that splits distributions.

    A column with 2 to `MAX_SPLIT_LEVELS` levels in the sample; one named like gender or sex
    is preferred, then the one with the fewest levels.
    """
    import re

    categorical = (_plot_data(summary, "sample") or {}).get("categorical") or {}
    options = []
    for order, (column, values) in enumerate(categorical.items()):
        if values is None or len(values) != n_rows:
            continue
        levels = set(map(str, values))
        if 2 <= len(levels) <= MAX_SPLIT_LEVELS:
            preferred = re.search(r"(?i)(gender|\bsex\b|genre|geschlecht|sexe)", str(column)) is not None
            options.append((not preferred, len(levels), order, column, values))
    if not options:
        return None
    _pref, _n, _order, column, values = min(options, key=lambda o: o[:3])
    values = np.asarray([str(v) for v in values], dtype=object)
    return column, _level_rank(summary, column, values), values


def figure_notes(summary: dict) -> dict:
    """Sentences saying where a figure shows less than all the data (capped columns, split).

    Keys are figure keys of `FIGURES`; figures drawn in full have no entry. The sentences
    hold column names as plain text (the report escapes them).
    """
    notes: dict[str, str] = {}
    sample = _plot_data(summary, "sample") or {}
    columns = list(sample.get("columns") or [])
    n_rows = len(sample.get("values") or [])

    def capped(limit: int, what: str = "numeric columns") -> str:
        return f"Showing the {limit} of {len(columns)} {what} that differ most between segments."

    parts = []
    if len(columns) > MAX_PANELS:
        parts.append(capped(MAX_PANELS))
    split = _split_column(summary, n_rows) if n_rows else None
    if split is not None:
        parts.append(f"Each histogram is split by {split[0]}: " + ", ".join(split[1]) + ".")
    if parts:
        notes["distributions"] = " ".join(parts)
    if len(columns) > MAX_PANELS:
        notes["correlation"] = capped(MAX_PANELS)
    pair = []
    if len(columns) > MAX_PAIR_COLUMNS:
        pair.append(capped(MAX_PAIR_COLUMNS))
    if n_rows > MAX_PAIR_POINTS:
        pair.append(f"{MAX_PAIR_POINTS:,} of the {n_rows:,} sampled customers are drawn.")
    if pair:
        notes["pairs"] = " ".join(pair)
    profile = _profile_matrix(summary)
    if profile is not None:
        n_profile = len(profile[1])
        if n_profile > MAX_HEATMAP_COLUMNS:
            notes["profile_heatmap"] = (f"Showing the {MAX_HEATMAP_COLUMNS} of {n_profile} numeric columns "
                                        f"that differ most between segments.")
        if n_profile > MAX_BOXPLOTS:
            notes["profile_lines"] = (f"Showing the {MAX_BOXPLOTS} of {n_profile} numeric columns "
                                      f"that differ most between segments.")
    if len(columns) > MAX_BOXPLOTS:
        notes["boxplots"] = capped(MAX_BOXPLOTS)
    logged = log_scale_columns(summary)
    if logged and profile is not None:
        log_note = ("Columns marked “(log)” are measured on log(1 + value), as they were clustered, "
                    "so that a few extreme customers do not decide a segment's score.")
        for key in ("profile_heatmap", "profile_lines"):
            notes[key] = f"{notes[key]} {log_note}" if key in notes else log_note
    if logged and sample and n_rows:
        matrix = _sample_matrix(summary)
        if matrix is not None:
            on_log = [c for j, c in enumerate(matrix[0]) if c in logged and _log_axis(matrix[1][:, j], True)]
            if on_log:
                listed = ", ".join(on_log)
                axis_note = f"Long-tailed columns are drawn on a log axis: {listed}."
                for key in ("distributions", "boxplots"):
                    notes[key] = f"{notes[key]} {axis_note}" if key in notes else axis_note
                corr_note = f"Columns marked “(log)” are correlated on log(1 + value): {listed}."
                notes["correlation"] = f"{notes['correlation']} {corr_note}" if "correlation" in notes else corr_note
    loadings = _loadings(summary)
    if loadings is not None:
        _components, loading_columns, weights, n_components = loadings
        total = len({c for w in ((summary.get("pca") or {}).get("loadings") or {}).values() for c in (w or {})})
        parts = []
        if total > len(loading_columns):
            parts.append(f"Showing the {len(loading_columns)} of {total} columns with the largest loadings.")
        if n_components > len(_components):
            parts.append(f"Showing the first {len(_components)} of {n_components} components.")
        if parts:
            notes["loadings"] = " ".join(parts)
    shown, every = category_columns(summary)
    parts = []
    if len(every) > len(shown):
        parts.append(f"Showing {len(shown)} of {len(every)} categorical columns: those clustered on, "
                     f"then those whose make-up differs most between segments.")
    if any(category_levels(summary, column)[1] for column in shown):
        parts.append(f"Beyond the {MAX_LEVELS - 1} most common levels of a column, levels are grouped as "
                     f"“other”.")
    if parts:
        notes["categories"] = " ".join(parts)
    return notes


# --------------------------------------------------------------------------- segments


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


def _profile_view(summary: dict, limit: int):
    """Segments, the (at most ``limit``) most distinct numeric columns, their z-scores and
    the log-scale columns, for the profile figures; None without a profile."""
    matrix = _profile_matrix(summary)
    if matrix is None:
        return None
    segments, columns, z = matrix
    keep = _most_distinct_columns(summary, columns, limit)
    return segments, [columns[j] for j in keep], z[:, keep], log_scale_columns(summary)


@_styled
def plot_profile_heatmap(summary: dict) -> Figure | None:
    """Segments x numeric features: z-score of each segment's mean against all customers."""
    view = _profile_view(summary, MAX_HEATMAP_COLUMNS)
    if view is None:
        return None
    segments, columns, z, logged = view
    finite = _finite(z)
    limit = max(1.0, float(np.abs(finite).max()) if finite.size else 1.0)
    n_rows, n_cols = z.shape
    fig = _new_figure(max(7.0, min(15.0, 3.8 + 1.15 * n_cols)), 1.9 + 0.48 * n_rows)
    ax = fig.add_subplot()
    mesh = _heatmap(
        ax, z, cmap="RdBu_r", vmin=-limit, vmax=limit,
        annot=[[f"{v:+.1f}" for v in row] for row in z] if n_rows * n_cols <= 400 else None,
        xlabels=[_wrap(c + (" (log)" if c in logged else ""), 13) for c in columns],
        ylabels=[_short(s.get("name") or f"Segment {s['id']}", 32) for s in segments],
    )
    _rotate_xticklabels(ax, 30 if n_cols > 6 else 0)
    ax.set_title("Segment means vs the average customer (z-scores)")
    cax, room = _colorbar(fig, mesh, "z-score vs all customers (SD)")
    _fit(fig, [[ax]], right=room)
    _place_colorbar(fig, cax, ax, 0.85)
    return fig


@_styled
def plot_profile_lines(summary: dict) -> Figure | None:
    """Snake plot: each segment's z-score on each numeric feature, one line per segment."""
    view = _profile_view(summary, MAX_BOXPLOTS)
    if view is None:
        return None
    segments, columns, z, logged = view
    colors = segment_colors(s["id"] for s in segments)
    n_cols = len(columns)
    fig = _new_figure(max(8.5, min(13.0, 5.5 + 1.0 * n_cols)), 4.6)
    ax = fig.add_subplot()
    x = np.arange(n_cols)
    ax.axhline(0, color="#555555", linewidth=1.0, zorder=1)
    for row, segment in enumerate(segments):
        noise = int(segment["id"]) < 0
        ax.plot(x, z[row], marker="o", markersize=5.5, linewidth=1.4 if noise else 2.2,
                linestyle="--" if noise else "-", color=colors[int(segment["id"])], zorder=2,
                label=_short(segment.get("name") or f"Segment {segment['id']}", 30))
    average = ax.annotate("average\ncustomer", xy=(1.0, 0), xycoords=("axes fraction", "data"), xytext=(4, 0),
                          textcoords="offset points", color="#555555", fontsize=8, va="center", ha="left")
    ax.set_xticks(x, labels=[_wrap(c + (" (log)" if c in logged else ""), 12) for c in columns])
    if n_cols > 6:
        ax.tick_params(axis="x", labelrotation=30)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    ax.set_xlim(-0.3, n_cols - 0.7)
    ax.set_ylabel("segment mean: SD from the average (z)")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.set_title("Segment profiles (z-scores)")
    legend = _edge_legend(fig, *ax.get_legend_handles_labels(), "right", title="segment")
    _fit(fig, [[ax]], right=legend + _artist_size(fig, average)[0] + 4 / 72)
    return fig


@_styled
def plot_boxplots(summary: dict) -> Figure | None:
    """One panel per numeric feature: its distribution within each segment (sample)."""
    data = _sample_matrix(summary)
    if data is None or data[2] is None:
        return None
    all_columns, matrix, ids = data
    keep = _most_distinct_columns(summary, all_columns, MAX_BOXPLOTS)
    columns = [all_columns[j] for j in keep]
    matrix = matrix[:, keep]
    names = _segment_names(summary)
    order = _segment_order(summary, np.unique(ids))
    colors = segment_colors(order)
    logged = log_scale_columns(summary)
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
        log_axis = _log_axis(matrix[:, index], columns[index] in logged)
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
        title = _short(columns[index], 26 if n_cols == 4 else 36)
        if log_axis:
            _set_log_axis(ax)
            column_values = _finite(matrix[:, index])
            ax.set_xlim(float(column_values.min()) * 0.8, float(column_values.max()) * 1.4)
            title += " (log axis)"
        else:
            column_values = _finite(matrix[:, index])
            cap = _axis_cap(column_values) if column_values.size else None
            if cap is not None:
                hidden = int((column_values > cap).sum())
                low = float(column_values.min())
                ax.set_xlim(low - 0.04 * (cap - low), cap + 0.04 * (cap - low))
                ax.text(0.98, 0.02, f"{hidden:,} above {cap:,.4g} not shown", transform=ax.transAxes,
                        ha="right", va="bottom", fontsize=7.5, color="#555555")
        ax.set_title(title, fontsize=9.5)
        ax.grid(axis="x")
        ax.set_axisbelow(True)
    _fit(fig, axes.reshape(n_rows, n_cols))
    return fig


def _heatmap(ax, values, *, cmap, vmin: float, vmax: float, xlabels, ylabels, annot=None,
             fontsize: float = 8.5, mask=None):
    """A heat map of ``values`` (rows top to bottom) on ``ax``, with white lines between cells.

    ``annot`` is a matching array of cell texts (or None); each is drawn in black or white,
    whichever reads better on its cell. Cells that are masked or not finite stay blank.
    Returns the mesh, for a colour bar (`_colorbar`).
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    values = np.asarray(values, dtype=float)
    hidden = ~np.isfinite(values) if mask is None else (np.asarray(mask, dtype=bool) | ~np.isfinite(values))
    data = np.ma.masked_array(values, mask=hidden)
    n_rows, n_cols = values.shape
    mesh = ax.pcolormesh(data, cmap=cmap, vmin=vmin, vmax=vmax, edgecolors="white", linewidth=1.0)
    ax.set_xlim(0, n_cols)
    ax.set_ylim(n_rows, 0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xticks(np.arange(n_cols) + 0.5, labels=xlabels)
    ax.set_yticks(np.arange(n_rows) + 0.5, labels=ylabels)
    ax.tick_params(axis="both", length=0)
    if annot is not None:
        rgb = colormaps[cmap](Normalize(vmin, vmax)(np.nan_to_num(values)))[..., :3]
        linear = np.where(rgb <= 0.03928, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
        luminance = linear @ np.array([0.2126, 0.7152, 0.0722])
        for i in range(n_rows):
            for j in range(n_cols):
                if not hidden[i, j] and annot[i][j]:
                    ax.text(j + 0.5, i + 0.5, annot[i][j], ha="center", va="center", fontsize=fontsize,
                            color="#262626" if luminance[i, j] > 0.408 else "white")
    return mesh


def _rotate_xticklabels(ax, degrees: float) -> None:
    """Rotate the x tick labels, anchored at their right end when rotated."""
    if degrees:
        ax.tick_params(axis="x", labelrotation=degrees)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")


def _colorbar(fig, mesh, label: str, *, formatter=None):
    """A colour bar for ``mesh`` in axes of its own; `_place_colorbar` puts it beside the map.

    Returns (colour bar axes, inches it needs right of the heat map).
    """
    cax = fig.add_axes((0.9, 0.15, 0.02, 0.7))
    bar = fig.colorbar(mesh, cax=cax)
    bar.outline.set_linewidth(0)
    bar.set_label(label)
    if formatter is not None:
        cax.yaxis.set_major_formatter(formatter)
    return cax, _COLORBAR_PAD + _colorbar_width(fig) + _needs(cax)["right"]


_COLORBAR_PAD = 0.2


def _colorbar_width(fig) -> float:
    return float(np.clip(0.035 * fig.get_figheight(), 0.14, 0.35))


def _place_colorbar(fig, cax, ax, shrink: float = 1.0) -> None:
    """Put the colour bar axes ``cax`` right of ``ax``, ``shrink`` times its height, centred."""
    fig_w, fig_h = fig.get_size_inches()
    box = ax.get_position()
    height = box.height * shrink
    cax.set_position((box.x1 + _COLORBAR_PAD / fig_w, box.y0 + (box.height - height) / 2,
                      _colorbar_width(fig) / fig_w, height))


def _text_color(hex_color: str) -> str:
    """Black or white, whichever reads better on ``hex_color``."""
    red, green, blue = (int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "#1a1a1a" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.6 else "white"


@_styled
def plot_categories(summary: dict) -> Figure | None:
    """Categorical make-up of each segment: one 100 % stacked bar per segment and column.

    The first bar of each panel is all customers, for comparison. Up to `MAX_LEVELS`
    buckets per column (the rest grouped as "other") and `MAX_CATEGORY_PANELS` columns.
    """
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    segments = _ordered_segments(summary)
    columns, _all = category_columns(summary)
    if not segments or not columns:
        return None
    overall = (summary.get("overall") or {}).get("categories") or {}
    colors = segment_colors(s["id"] for s in segments)
    row_labels = ["All customers"] + [_short(s.get("name") or f"Segment {s['id']}", 30) for s in segments]
    row_colors = ["#3a3a3a"] + [colors[int(s["id"])] for s in segments]
    n_bars = len(row_labels)
    fig = _new_figure(10.0, 0.35 + len(columns) * (0.85 + 0.3 * n_bars))
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
                color, label = palette[bucket], _short(bucket, 24)
            ax.barh(y, width, left=left, color=color, edgecolor="white", linewidth=0.8, height=0.72)
            for row in range(n_bars):
                if width[row] >= 0.07:
                    ax.text(left[row] + width[row] / 2, row, f"{width[row]:.0%}", ha="center", va="center",
                            fontsize=8, color=_text_color(color))
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
        ax.set_title(_short(column, 60))
        legends.append(ax.legend(handles, labels, loc="center left", bbox_to_anchor=(1.01, 0.5),
                                 handlelength=1.0))
    axes[-1].set_xlabel("share of customers")
    legend = max(_artist_size(fig, legend)[0] for legend in legends)
    _fit(fig, [[ax] for ax in axes], right=legend + 0.01 * 6.0 + _GAP)
    return fig


# --------------------------------------------------------------------------- features


def _loadings(summary: dict):
    """(component names, columns, weights components x columns, number of components) or None."""
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
    weights = np.array([[_num((loadings[name] or {}).get(c)) for c in columns] for name in components], dtype=float)
    if len(columns) > MAX_HEATMAP_COLUMNS:
        size = np.nan_to_num(np.abs(weights)).max(axis=0)
        keep = sorted(np.argsort(-size, kind="stable")[:MAX_HEATMAP_COLUMNS])
        columns, weights = [columns[j] for j in keep], weights[:, keep]
    return components, columns, weights, n_components


@_styled
def plot_scree(summary: dict) -> Figure | None:
    """PCA scree: variance explained by each kept component (bars) and cumulatively (line)."""
    from matplotlib.ticker import PercentFormatter

    pca = summary.get("pca") or {}
    ratios = np.asarray([_num(v) for v in pca.get("explained_variance_ratio") or []], dtype=float)
    if ratios.size == 0 or not np.isfinite(ratios).any():
        return None
    ratios = np.nan_to_num(ratios)[:30]
    cumulative = np.cumsum(ratios)
    x = np.arange(1, ratios.size + 1)
    fig = _new_figure(max(6.5, min(10.0, 4.0 + 0.45 * ratios.size)), 3.9)
    ax = fig.add_subplot()
    ax.bar(x, ratios, color=_NEUTRAL, width=0.66, label="explained by the component")
    ax.plot(x, cumulative, color=_HIGHLIGHT, marker="o", markersize=5, linewidth=1.8, label="cumulative")
    if ratios.size <= 15:
        for xi, ratio in zip(x, ratios):
            inside = ratio >= 0.1
            ax.text(xi, ratio / 2 if inside else ratio + 0.015, f"{ratio:.0%}", ha="center",
                    va="center" if inside else "bottom", fontsize=9 if inside else 8.5,
                    color="white" if inside else _TEXT, fontweight="bold" if inside else "normal")
    ax.annotate(f"{cumulative[-1]:.0%} kept", xy=(x[-1], cumulative[-1]), xytext=(0, 8),
                textcoords="offset points", ha="center", va="bottom", color=_HIGHLIGHT, fontsize=9,
                fontweight="bold")
    ax.set_xticks(x, labels=[f"PC{i}" for i in x])
    ax.set_ylim(0, 1.12)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel("share of variance")
    ax.set_title("PCA: variance explained by the kept components")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.legend(loc="center right")
    _fit(fig, [[ax]])
    return fig


@_styled
def plot_loadings(summary: dict) -> Figure | None:
    """PCA loadings heat map: weight of each input column in each kept component."""
    data = _loadings(summary)
    if data is None:
        return None
    components, columns, weights, _n = data
    n_rows, n_cols = weights.shape
    fig = _new_figure(max(6.5, min(15.0, 3.4 + 0.95 * n_cols)), 1.7 + 0.45 * n_rows)
    ax = fig.add_subplot()
    mesh = _heatmap(
        ax, weights, cmap="RdBu_r", vmin=-1, vmax=1,
        annot=[[f"{v:+.2f}" for v in row] for row in weights] if n_rows * n_cols <= 300 else None,
        xlabels=[_wrap(c, 13) for c in columns], ylabels=components,
    )
    _rotate_xticklabels(ax, 30 if n_cols > 6 else 0)
    ax.set_title("PCA loadings: what each component stands for")
    cax, room = _colorbar(fig, mesh, "loading")
    _fit(fig, [[ax]], right=room)
    _place_colorbar(fig, cax, ax, 0.85)
    return fig


# --------------------------------------------------------------------------- exploration


def log_scale_columns(summary: dict) -> set[str]:
    """Columns whose profiles are measured on the log1p scale (``log_scale`` in a profile)."""
    found = set()
    for segment in summary.get("segments") or []:
        for column, stats in (segment.get("profile") or {}).items():
            if (stats or {}).get("log_scale"):
                found.add(str(column))
    return found


#: A log-scale column is drawn on a log axis when its maximum exceeds this many times its
#: median (or 1, if larger): a long right tail that a linear axis would squash.
LOG_AXIS_RATIO = 10.0


def _log_axis(values: np.ndarray, log_scale: bool) -> bool:
    """Whether a column's values go on a log axis (symlog, linear below 1)."""
    if not log_scale:
        return False
    values = _finite(values)
    if values.size < 2 or float(values.min()) < 0:
        return False
    return float(values.max()) > LOG_AXIS_RATIO * max(float(np.median(values)), 1.0)


def _set_log_axis(ax, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter

    (ax.set_xscale if axis == "x" else ax.set_yscale)("symlog", linthresh=1.0, linscale=0.4)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(_compact))
    target.set_minor_formatter(FuncFormatter(lambda v, _p: ""))


def _compact(value, _pos=None) -> str:
    """Tick label of a log axis: 0, 1, 10, 100, 1k, 10k, 1M (also negative)."""
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:,.4g}{suffix}"
    return f"{value:,.4g}"


def _axis_cap(values: np.ndarray):
    """Upper x limit that keeps a long right tail from squashing a histogram, or None.

    The axis stops at the 99.5th percentile when the maximum lies further beyond it than
    the whole 0.5-99.5 percentile range.
    """
    low, high = np.quantile(values, [0.005, 0.995])
    top = float(values.max())
    if high > low and top - high > high - low:
        return float(high)
    return None


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
        ax.hist(values, bins=np.expm1(edges), color=_NEUTRAL, edgecolor="white", linewidth=0.5, alpha=0.75)
        curve(logged, _NEUTRAL, 1.6)
    _set_log_axis(ax)
    ax.set_xlim(float(np.expm1(edges[0])), float(np.expm1(edges[-1])))


@_styled
def plot_distributions(summary: dict) -> Figure | None:
    """Histogram with a density curve for each numeric column of the sample.

    When the sample has a categorical column with a few levels (gender, say), the bars show
    all customers and one density curve per level (scaled to customers, in that column's
    level colours) shows how the levels differ. A long right tail is cut off at the 99.5th
    percentile, and the panel says so.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    data = _sample_matrix(summary)
    if data is None:
        return None
    all_columns, matrix, _ids = data
    keep = _most_distinct_columns(summary, all_columns, MAX_PANELS)
    columns, matrix = [all_columns[j] for j in keep], matrix[:, keep]
    split = _split_column(summary, matrix.shape[0])
    palette = level_colors(summary, split[0], split[1]) if split else {}
    logged = log_scale_columns(summary)
    n_rows, n_cols = _grid(len(columns), _panels_per_row(len(columns)))
    fig = _new_figure(11.0, 0.35 + (0.45 if split else 0) + (2.25 if n_cols == 3 else 2.0) * n_rows)
    axes = np.atleast_1d(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    for index, ax in enumerate(axes):
        if index >= len(columns):
            ax.set_visible(False)
            continue
        finite = np.isfinite(matrix[:, index])
        values = matrix[finite, index]
        log_axis = _log_axis(values, columns[index] in logged)
        if values.size and log_axis:
            _log_histogram(ax, values, split, finite, palette)
        elif values.size:
            cap = _axis_cap(values)
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
                ax.hist(shown, bins=bins, color=_NEUTRAL, edgecolor="white", linewidth=0.5, alpha=0.75)
                if smooth:
                    width = float(bins[1] - bins[0]) if len(bins) > 1 else 1.0
                    grid = np.linspace(bins[0], bins[-1], 200)
                    ax.plot(grid, kernel_density(shown, grid) * shown.size * width, color=_NEUTRAL, linewidth=1.6)
            if cap is not None:
                hidden = int(values.size - shown.size)
                ax.text(0.98, 0.96, f"{hidden:,} above {cap:,.4g} not shown\n(max {values.max():,.4g})",
                        transform=ax.transAxes, ha="right", va="top", fontsize=7.5, color="#555555")
        else:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
        title = _short(columns[index], 26 if n_cols == 4 else 36)
        ax.set_title(f"{title} (log axis)" if log_axis else title, fontsize=9.5)
        ax.set_xlabel("")
        ax.set_ylabel("customers" if index % n_cols == 0 else "")
        ax.yaxis.set_major_formatter(_count_formatter())
    legend = 0.0
    if split:
        column, levels, _values = split
        handles = [Patch(facecolor="#cfd6df", edgecolor="none")]
        handles += [Line2D([], [], color=palette[level], linewidth=2.2) for level in levels]
        legend = _edge_legend(fig, handles, ["all customers"] + [_short(level, 24) for level in levels], "top",
                              ncols=len(levels) + 1, alignment="left", handlelength=1.6,
                              title=f"bars: all customers; curves: split by {_short(column, 40)}")
    _fit(fig, axes.reshape(n_rows, n_cols), top=legend)
    return fig


@_styled
def plot_correlation(summary: dict) -> Figure | None:
    """Pearson correlation between the sample's numeric columns (lower triangle)."""
    data = _sample_matrix(summary)
    if data is None or len(data[0]) < 2:
        return None
    import pandas as pd

    all_columns, matrix, _ids = data
    keep = _most_distinct_columns(summary, all_columns, MAX_PANELS)
    columns, matrix = [all_columns[j] for j in keep], matrix[:, keep]
    logged = log_scale_columns(summary)
    on_log = [c in logged and _log_axis(matrix[:, j], True) for j, c in enumerate(columns)]
    for j, flag in enumerate(on_log):
        if flag:  # a long-tailed money or count column: correlate its log, not its few extremes
            matrix[:, j] = np.log1p(matrix[:, j])
    corr = pd.DataFrame(matrix).corr().to_numpy()
    n = len(columns)
    mask = np.triu(np.ones((n, n), dtype=bool), k=1)
    side = max(4.8, min(12.0, 2.2 + 0.62 * n))
    fig = _new_figure(side + 1.2, side)
    ax = fig.add_subplot()
    labels = [_short(c, 28) + (" (log)" if flag else "") for c, flag in zip(columns, on_log)]
    mesh = _heatmap(
        ax, corr, mask=mask, cmap="RdBu_r", vmin=-1, vmax=1, fontsize=8,
        annot=[[f"{v:.2f}" for v in row] for row in corr] if n <= 14 else None,
        xlabels=labels, ylabels=labels,
    )
    _rotate_xticklabels(ax, 35)
    ax.set_title("Correlation between numeric columns")
    cax, room = _colorbar(fig, mesh, "Pearson correlation")
    _fit(fig, [[ax]], right=room)
    _place_colorbar(fig, cax, ax, 0.8)
    return fig


@_styled
def plot_pairs(summary: dict) -> Figure | None:
    """Pair plot of up to `MAX_PAIR_COLUMNS` numeric columns on the sample, by segment.

    Lower triangle: scatter plots of every pair; diagonal: each segment's distribution of
    the column (step histograms, as densities so that small segments stay visible).
    """
    data = _sample_matrix(summary)
    if data is None or data[2] is None or len(data[0]) < 2:
        return None
    all_columns, matrix, ids = data
    keep = _most_distinct_columns(summary, all_columns, MAX_PAIR_COLUMNS)
    columns, matrix = [all_columns[j] for j in keep], matrix[:, keep]
    if len(ids) > MAX_PAIR_POINTS:
        rows = np.sort(np.random.default_rng(0).choice(len(ids), MAX_PAIR_POINTS, replace=False))
        matrix, ids = matrix[rows], ids[rows]
    names = _segment_names(summary)
    order = _segment_order(summary, np.unique(ids))
    colors = segment_colors(order)
    n = len(columns)
    panel = 2.05 if n >= 4 else 2.6
    fig = _new_figure(panel * n + 0.5, panel * n + (0.9 if n <= 2 else 0.3))
    # Only the lower triangle and the diagonal are drawn: no axes for the upper triangle.
    cells = fig.add_gridspec(n, n)
    axes = [[fig.add_subplot(cells[i, j]) if j <= i else None for j in range(n)] for i in range(n)]
    logged = log_scale_columns(summary)
    log_axes = [_log_axis(matrix[:, j], columns[j] in logged) for j in range(n)]
    limits = []
    for j in range(n):
        finite = _finite(matrix[:, j])
        if log_axes[j]:
            finite = np.log1p(finite)
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        pad = (high - low) * 0.05 or 0.5
        limits.append((low - pad, high + pad))
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
                grid = np.linspace(*limits[j], 160)
                x_grid = np.expm1(grid) if log_axes[j] else grid
                for segment_id in draw_order:
                    values = _finite(matrix[ids == segment_id, j])
                    noise = segment_id < 0
                    if values.size >= 5 and np.unique(values).size > 2:
                        density = kernel_density(np.log1p(values) if log_axes[j] else values, grid)
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
            else:
                ax.scatter(matrix[stacking, j], matrix[stacking, i], s=dot, linewidths=0, alpha=0.65,
                           c=point_colors)
                if log_axes[i]:
                    _set_log_axis(ax, "y")
                ax.set_ylim(*plain_limits[i])
            if log_axes[j]:
                _set_log_axis(ax, "x")
            ax.set_xlim(*plain_limits[j])
            if i == n - 1:
                ax.set_xlabel(_wrap(columns[j] + (" (log)" if log_axes[j] else ""), 22), fontsize=9)
            else:
                ax.tick_params(axis="x", labelbottom=False)
            if j == 0 and i != j:
                ax.set_ylabel(_wrap(columns[i] + (" (log)" if log_axes[i] else ""), 22), fontsize=9)
            elif j == 0:
                ax.set_ylabel(_wrap(columns[i], 22), fontsize=9)
            elif i != j:
                ax.tick_params(axis="y", labelleft=False)
            ax.tick_params(labelsize=8)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", markersize=7, color=colors[i]) for i in order]
    labels = [_label_for(i, names, 30) for i in order]
    legend = 0.0
    if n <= 2:
        legend = _edge_legend(fig, handles, labels, "bottom", ncols=min(len(order), 3), title="segment")
    else:  # in the empty upper triangle
        fig.legend(handles, labels, loc="upper right", title="segment", borderaxespad=1.0)
    _fit(fig, axes, bottom=legend, hgap=-_GAP / 2, wgap=-_GAP / 2)
    return fig


# --------------------------------------------------------------------------- RFM


def rfm_order(summary: dict) -> list[str]:
    """Names of the RFM segments of the run, in the standard order (unknown names last).

    A name counts when it has an entry in ``rfm.segments`` or a row in ``rfm.crosswalk``.
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


def rfm_colors(names) -> dict:
    """Fixed colour of each RFM segment name (`RFM_PALETTE`; neutral for unknown names)."""
    return {str(name): RFM_PALETTE.get(str(name), _NEUTRAL) for name in names}


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
    clusters = _segment_order(summary, present)
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


@_styled
def plot_rfm_sizes(summary: dict) -> Figure | None:
    """Horizontal bars: customers in each RFM segment (standard order), with count and share."""
    segments = {str(s.get("name")): s for s in (summary.get("rfm") or {}).get("segments") or []}
    names = [n for n in rfm_order(summary) if n in segments]
    if not names:
        return None
    colors = rfm_colors(names)
    return _size_bars(
        labels=names,
        sizes=[segments[n].get("size") or 0 for n in names],
        shares=[segments[n].get("share") for n in names],
        colors=[colors[n] for n in names],
        row_height=0.36, bar_height=0.7, title="RFM segments: customers in each",
    )


@_styled
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
    names = _segment_names(summary)
    colors = segment_colors(clusters)
    n_rows, n_cols = counts.shape
    annotations = np.array(
        [[f"{int(counts[i, j]):,}\n{shares[i, j]:.0%}" if counts[i, j] else "·" for j in range(n_cols)]
         for i in range(n_rows)], dtype=object)
    width = max(7.0, min(14.0, 4.4 + 1.45 * n_cols))
    fig = _new_figure(width, 1.9 + 0.5 * n_rows)
    fig_w, fig_h = fig.get_size_inches()
    ax = fig.add_subplot()
    mesh = _heatmap(
        ax, shares, cmap="Blues", vmin=0, vmax=1, annot=annotations, fontsize=8.5 if n_cols <= 8 else 7.5,
        xlabels=[_wrap(_label_for(c, names, 40), 16, 3) for c in clusters],
        ylabels=[f"{_short(name, 26)}  ({int(total):,})" for name, total in zip(rows, totals[:, 0])],
    )
    ax.set_xlabel("cluster (segment)")
    ax.set_ylabel("RFM segment (customers)")
    cax, room = _colorbar(fig, mesh, "share of the RFM segment", formatter=PercentFormatter(1.0, decimals=0))
    # A strip of the clusters' colours over the columns (0.12 in), under the title.
    title = fig.suptitle("Crosswalk: where each RFM segment's customers fall among the clusters",
                         x=_EDGE / fig_w, y=1 - _EDGE / fig_h, ha="left", va="top", fontsize=10.5,
                         fontweight="bold")
    strip_height, strip_gap = 0.12, 0.04
    _fit(fig, [[ax]], right=room, top=_artist_size(fig, title)[1] + _GAP + strip_height + strip_gap)
    _place_colorbar(fig, cax, ax)
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


#: Report figures in page order: (key, function).
FIGURES = (
    ("segment_sizes", plot_segment_sizes),
    ("distributions", plot_distributions),
    ("correlation", plot_correlation),
    ("pairs", plot_pairs),
    ("scree", plot_scree),
    ("loadings", plot_loadings),
    ("elbow", plot_elbow),
    ("scores", plot_scores),
    ("dendrogram", plot_dendrogram),
    ("k_distance", plot_k_distance),
    ("silhouette", plot_silhouette),
    ("stability", plot_stability),
    ("segment_map", plot_segment_map),
    ("profile_heatmap", plot_profile_heatmap),
    ("profile_lines", plot_profile_lines),
    ("boxplots", plot_boxplots),
    ("categories", plot_categories),
    ("rfm_sizes", plot_rfm_sizes),
    ("rfm_crosswalk", plot_rfm_crosswalk),
)
#: Short names accepted by ``Result.plot`` for the figures most often asked for.
FIGURE_ALIASES = {"pca_map": "segment_map", "map": "segment_map", "heatmap": "profile_heatmap",
                  "sizes": "segment_sizes"}
#: Figures that only transaction-log runs (with ``rfm`` in the summary) have.
RFM_FIGURES = ("rfm_sizes", "rfm_crosswalk")


# --------------------------------------------------------------------------- segments over time
#
# The figures of ``custseg track``'s page ("Since the last run"), drawn from its summary
# (``summary["tracking"]``, see docs/summary.md): where each segment's customers went, as a flow
# (alluvial) diagram and as a heat map of the transition matrix, for the segments and, for a
# transaction log, for the RFM segments.

#: Colour of the customers in one snapshot only ("new" before, "gone" after).
NEW_GONE_COLOR = "#c7c7c7"
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
        return palette.get(name, _NEUTRAL)

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
    left_text = [f"{_short(n, 30)}  {int(t):,}" for n, t in zip(before, left_totals)]
    right_text = [f"{int(t):,}  {_short(n, 30)}" for n, t in zip(after, right_totals)]
    left_w = max(_text_size(t, fontsize)[0] for t in left_text)
    right_w = max(_text_size(t, fontsize)[0] for t in right_text)
    line = _text_size("Ag", fontsize)[1]
    title_h = _text_size(title, 10.5)[1]
    width = max(9.0, left_w + right_w + 2 * block + 3.6 + 2 * _EDGE)
    n_blocks = max(int((left_totals > 0).sum()), int((right_totals > 0).sum()), 1)
    height = max(2.6, title_h + 0.45 + n_blocks * row)
    fig = _new_figure(width, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    ax.text(_EDGE, height - _EDGE, title, ha="left", va="top", fontsize=10.5, fontweight="bold", color=_TEXT)
    top, bottom = height - title_h - 0.3, _EDGE + line / 2
    total = max(float(counts.sum()), 1.0)
    room = top - bottom
    scale = min((room - gap * (int((t > 0).sum()) - 1)) / total for t in (left_totals, right_totals))
    x_left = _EDGE + left_w + 0.12
    x_right = width - _EDGE - right_w - 0.12 - block
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
            ax.text(x, y, texts[k], ha=align, va="center", fontsize=fontsize, color=_TEXT)
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
    annotations = np.array(
        [[f"{int(counts[i, j]):,}\n{shares[i, j]:.0%}" if counts[i, j] else "·" for j in range(n_cols)]
         for i in range(n_rows)], dtype=object)
    width = max(7.0, min(14.0, 4.4 + 1.3 * n_cols))
    fig = _new_figure(width, 1.9 + 0.5 * n_rows)
    fig_w, fig_h = fig.get_size_inches()
    ax = fig.add_subplot()
    many = n_cols > 8                     # the 11 RFM segments: narrower column labels
    mesh = _heatmap(
        ax, shares, cmap="Blues", vmin=0, vmax=1, annot=annotations, fontsize=7.5 if many else 8.5,
        xlabels=[_wrap(_short(n, 40), 11 if many else 16, 3) for n in after],
        ylabels=[f"{_short(n, 28)}  ({int(t):,})" for n, t in zip(before, totals[:, 0])],
    )
    if many:
        ax.tick_params(axis="x", labelsize=8.5)
    ax.set_xlabel(f"{axis_name} now")
    ax.set_ylabel(f"{axis_name} before (customers)")
    cax, room = _colorbar(fig, mesh, "share of the row", formatter=PercentFormatter(1.0, decimals=0))
    heading = fig.suptitle(title, x=_EDGE / fig_w, y=1 - _EDGE / fig_h, ha="left", va="top", fontsize=10.5,
                           fontweight="bold")
    _fit(fig, [[ax]], right=room, top=_artist_size(fig, heading)[1] + _GAP)
    _place_colorbar(fig, cax, ax)
    return fig


@_styled
def plot_track_flow(summary: dict) -> Figure | None:
    """Flow (alluvial) diagram of ``custseg track``: each segment before, where its customers are now."""
    data = _tracking_states(summary, "segment")
    if data is None:
        return None
    return _flow_figure(data, "Where each segment's customers went since the last run")


@_styled
def plot_track_transitions(summary: dict) -> Figure | None:
    """Heat map of the segment transition matrix of ``custseg track`` (rows: before; columns: now)."""
    data = _tracking_states(summary, "segment")
    if data is None:
        return None
    return _transition_heatmap(data, "Transitions: customers of each segment before, by segment now", "segment")


@_styled
def plot_track_rfm_flow(summary: dict) -> Figure | None:
    """Flow diagram of the RFM segments of a transaction log, before and now."""
    data = _tracking_states(summary, "rfm")
    if data is None:
        return None
    return _flow_figure(data, "Where each RFM segment's customers went since the last run")


@_styled
def plot_track_rfm_transitions(summary: dict) -> Figure | None:
    """Heat map of the RFM segment transition matrix of a transaction log."""
    data = _tracking_states(summary, "rfm")
    if data is None:
        return None
    return _transition_heatmap(data, "RFM transitions: customers of each RFM segment before, by RFM segment now",
                               "RFM segment")


#: Figures of the ``custseg track`` page, in page order: (key, function).
TRACK_FIGURES = (
    ("track_flow", plot_track_flow),
    ("track_transitions", plot_track_transitions),
    ("track_rfm_flow", plot_track_rfm_flow),
    ("track_rfm_transitions", plot_track_rfm_transitions),
)
