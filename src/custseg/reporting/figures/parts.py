"""Building blocks several figures share: label text, tick formatters and locators, panel
grids, labelled bars, heat maps, log axes, and a kernel density estimate."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..formats import format_count
from .labels import shorten
from .layout import fit_axes, new_figure
from .style import TEXT_COLOR

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def count_formatter():
    """Tick formatter of customer counts: whole numbers with thousands separators (`format_count`)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda value, _pos: format_count(value))


def integer_locator():
    """Tick locator that puts ticks on whole numbers only (k, for instance)."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def panel_grid(n_panels: int, n_cols: int) -> tuple[int, int]:
    """(rows, columns) of a grid of ``n_panels`` panels, at most ``n_cols`` a row.

    Examples
    --------
    >>> panel_grid(5, 4), panel_grid(2, 4)
    ((2, 4), (1, 2))
    """
    n_cols = max(1, min(n_cols, n_panels))
    return math.ceil(n_panels / n_cols), n_cols


def panels_per_row(n_panels: int) -> int:
    """Panels in a row of a grid of ``n_panels``: 4 when that fills the rows (or there are many), else 3.

    Examples
    --------
    >>> panels_per_row(8), panels_per_row(6), panels_per_row(10)
    (4, 3, 4)
    """
    return 4 if n_panels % 4 == 0 or n_panels > 9 else 3


def labelled_bars(fig: Figure, labels, values, colors, bar_height: float):
    """One horizontal bar per label, top to bottom, on a new axes with a vertical grid."""
    y = np.arange(len(labels))
    ax = fig.add_subplot()
    ax.barh(y, values, color=colors, height=bar_height)
    ax.set_yticks(y, labels=[shorten(label, 34) for label in labels])
    ax.invert_yaxis()
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    ax.grid(axis="x")
    ax.set_axisbelow(True)
    return ax


def size_bars(labels, sizes, shares, colors, *, row_height: float, bar_height: float,
              title: str | None = None) -> Figure:
    """Horizontal bars of customer counts, each labelled with its count and share."""
    sizes = np.asarray(sizes, dtype=float)
    fig = new_figure(8.0, 0.95 + row_height * len(labels))
    ax = labelled_bars(fig, labels, sizes, colors, bar_height)
    top = float(sizes.max()) if sizes.size and sizes.max() > 0 else 1.0
    for i, share in enumerate(shares):
        label = f"{int(sizes[i]):,}" + (f"  ({share:.1%})" if share is not None else "")
        ax.text(sizes[i] + top * 0.01, i, label, va="center", ha="left", fontsize=9, color=TEXT_COLOR)
    ax.set_xlim(0, top * 1.25)
    ax.xaxis.set_major_formatter(count_formatter())
    ax.set_xlabel("customers")
    if title:
        ax.set_title(title)
    fit_axes(fig, [[ax]])
    return fig


def heatmap(ax, values, *, cmap, vmin: float, vmax: float, xlabels, ylabels, annot=None,
            fontsize: float = 8.5, mask=None):
    """A heat map of ``values`` (rows top to bottom) on ``ax``, with white lines between cells.

    ``annot`` is a matching array of cell texts (or None); each is drawn in black or white,
    whichever reads better on its cell. Cells that are masked or not finite stay blank.
    Returns the mesh, for a colour bar (`add_colorbar`).
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


def count_share_labels(counts: np.ndarray, shares: np.ndarray) -> np.ndarray:
    r"""Cell labels of a crosswalk heat map: the count and its row share, "·" for none.

    Examples
    --------
    >>> count_share_labels(np.array([[3.0, 0.0]]), np.array([[1.0, 0.0]])).tolist()
    [['3\n100%', '·']]
    """
    n_rows, n_cols = counts.shape
    return np.array(
        [[f"{int(counts[i, j]):,}\n{shares[i, j]:.0%}" if counts[i, j] else "·" for j in range(n_cols)]
         for i in range(n_rows)], dtype=object)


def rotate_xticklabels(ax, degrees: float) -> None:
    """Rotate the x tick labels, anchored at their right end when rotated."""
    if degrees:
        ax.tick_params(axis="x", labelrotation=degrees)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")


def set_log_axis(ax, axis: str = "x") -> None:
    """Put ``ax``'s x (or y) axis on a symlog scale, linear below 1, with compact tick labels."""
    from matplotlib.ticker import FuncFormatter

    (ax.set_xscale if axis == "x" else ax.set_yscale)("symlog", linthresh=1.0, linscale=0.4)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_formatter(FuncFormatter(_compact))
    target.set_minor_formatter(FuncFormatter(lambda v, _p: ""))


def _compact(value, _pos=None) -> str:
    """Tick label of a log axis: 0, 1, 10, 100, 1k, 10k, 1M (also negative).

    Examples
    --------
    >>> _compact(0), _compact(250), _compact(12_000), _compact(-3e6)
    ('0', '250', '12k', '-3M')
    """
    size = abs(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:,.4g}{suffix}"
    return f"{value:,.4g}"


def axis_cap(values: np.ndarray):
    """Upper x limit that keeps a long right tail from squashing a histogram, or None.

    The axis stops at the 99.5th percentile when the maximum lies further beyond it than
    the whole 0.5-99.5 percentile range.

    Examples
    --------
    >>> import numpy as np
    >>> axis_cap(np.arange(1000.0)) is None, axis_cap(np.r_[np.arange(1000.0), 1e6])
    (True, 995.0)
    """
    low, high = np.quantile(values, [0.005, 0.995])
    top = float(values.max())
    if high > low and top - high > high - low:
        return float(high)
    return None


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
