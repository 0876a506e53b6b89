"""Layout: new figures, text measuring, axes placement, legends, colour bars and PNG export.

Figures are laid out by `fit_axes` from the measured size of their text, not by Matplotlib's
constrained layout: to find room for tick labels that engine drew each figure twice more
before the real drawing, and it took about half the report's rendering time. `fit_axes`
measures the strings the ticks will carry (from the axis' locator and formatter, without
creating tick artists) and the titles and axis labels, and sets the axes' positions.
"""

from __future__ import annotations

import functools
import io
import math
from typing import TYPE_CHECKING

import numpy as np

from .style import DPI, report_style

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """A blank figure with an Agg canvas of its own, not registered with pyplot."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # No layout engine: `fit_axes` places the axes (see the module docstring).
    fig = Figure(figsize=(width, height), dpi=DPI, layout=None)
    FigureCanvasAgg(fig)
    return fig


#: White space (inches) at the edges of a figure, and between its parts.
EDGE = 0.06
GAP = 0.1


def _inches(fig, box) -> tuple[float, float]:
    return box.width / fig.dpi, box.height / fig.dpi


def text_size(text: str, fontsize: float, rotation: float = 0.0) -> tuple[float, float]:
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
    ascent, descent = (height - descent) / DPI, descent / DPI
    min_ascent, min_descent = _font_extent(fontsize, family)
    return width / DPI, max(ascent, min_ascent) + max(descent, min_descent)


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
    return box.width / DPI, box.height / DPI


@functools.lru_cache(maxsize=1)
def _measuring_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def artist_size(fig, artist) -> tuple[float, float]:
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
        width, height = text_size(label, size, rotation)
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
        title_width, title_height = artist_size(fig, title)
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
    label_width, x_label = artist_size(fig, ax.xaxis.label)
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
    y_label, label_height = artist_size(fig, ax.yaxis.label)
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


def fit_axes(fig, grid, *, left: float = 0.0, right: float = 0.0, top: float = 0.0, bottom: float = 0.0,
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

        margin_left = left + EDGE + most(columns[0], "left", "spill_left")
        margin_right = right + EDGE + most(columns[-1], "right", "spill_right")
        margin_top = top + EDGE + most(rows[0], "top", "spill_top")
        margin_bottom = bottom + EDGE + most(rows[-1], "bottom", "spill_bottom")
        col_gaps = [wgap + GAP + most(columns[c - 1], "right", "spill_right") + most(columns[c], "left", "spill_left")
                    for c in range(1, n_cols)] + [0.0]
        row_gaps = [hgap + GAP + most(rows[r - 1], "bottom", "spill_bottom") + most(rows[r], "top", "spill_top")
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


def edge_legend(fig, handles, labels, side: str, **kwargs) -> float:
    """A figure legend against one edge (``"bottom"``, ``"top"`` or ``"right"``).

    A legend at the top or bottom drops columns (``ncols``) until it fits the figure's width.
    Returns the inches it takes from that edge, for `fit_axes`'s margin on that side.
    """
    width, height = fig.get_size_inches()
    place = {
        "bottom": ("lower center", (0.5, EDGE / height)),
        "top": ("upper left", (EDGE / width, 1 - EDGE / height)),
        "right": ("center right", (1 - EDGE / width, 0.5)),
    }[side]
    ncols = kwargs.pop("ncols", 1)
    while True:
        legend = fig.legend(handles, labels, loc=place[0], bbox_to_anchor=place[1], borderaxespad=0.0,
                            ncols=ncols, **kwargs)
        size = artist_size(fig, legend)
        if side == "right" or ncols == 1 or size[0] <= width - 2 * EDGE:
            break
        legend.remove()
        ncols -= 1
    return (size[0] if side == "right" else size[1]) + GAP


#: Inches between a heat map and its colour bar.
_COLORBAR_PAD = 0.2


def add_colorbar(fig, mesh, label: str, *, formatter=None):
    """A colour bar for ``mesh`` in axes of its own; `place_colorbar` puts it beside the map.

    Returns (colour bar axes, inches it needs right of the heat map).
    """
    cax = fig.add_axes((0.9, 0.15, 0.02, 0.7))
    bar = fig.colorbar(mesh, cax=cax)
    bar.outline.set_linewidth(0)
    bar.set_label(label)
    if formatter is not None:
        cax.yaxis.set_major_formatter(formatter)
    return cax, _COLORBAR_PAD + _colorbar_width(fig) + _needs(cax)["right"]


def _colorbar_width(fig) -> float:
    return float(np.clip(0.035 * fig.get_figheight(), 0.14, 0.35))


def place_colorbar(fig, cax, ax, shrink: float = 1.0) -> None:
    """Put the colour bar axes ``cax`` right of ``ax``, ``shrink`` times its height, centred."""
    fig_w, fig_h = fig.get_size_inches()
    box = ax.get_position()
    height = box.height * shrink
    cax.set_position((box.x1 + _COLORBAR_PAD / fig_w, box.y0 + (box.height - height) / 2,
                      _colorbar_width(fig) / fig_w, height))


def finish_heatmap(fig, ax, cax, room: float, title: str, *, above: float = 0.0) -> None:
    """Title ``fig`` at its top-left edge, fit the heat map ``ax`` under the title (``above``
    inches lower still) with ``room`` inches on its right, and put the colour bar ``cax`` there
    (`add_colorbar` gives ``cax`` and ``room``)."""
    fig_w, fig_h = fig.get_size_inches()
    heading = fig.suptitle(title, x=EDGE / fig_w, y=1 - EDGE / fig_h, ha="left", va="top", fontsize=10.5,
                           fontweight="bold")
    fit_axes(fig, [[ax]], right=room, top=artist_size(fig, heading)[1] + GAP + above)
    place_colorbar(fig, cax, ax)


#: zlib level of the PNGs: 3 encodes the report's figures about a third faster than the usual
#: 6, for files about 5 % larger.
PNG_COMPRESSION = 3


def figure_to_png(fig: Figure, *, dpi: int = DPI) -> bytes:
    """Render ``fig`` to PNG bytes, deterministically (no software/date metadata).

    The figures' background is opaque white, so the image is stored as RGB, without an
    alpha channel. The figure's pixel buffer is released afterwards (a new one is made if
    the figure is rendered again).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    original = fig.dpi
    try:
        with report_style():
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
