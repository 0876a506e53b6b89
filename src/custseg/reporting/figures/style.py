"""The look shared by every figure: palettes, the Matplotlib style, and display names.

A segment keeps one colour in every figure and card: `segment_colors` maps a segment id to a
fixed colour (the noise segment ``-1`` is grey), independent of which other segments exist.
RFM segments (transaction logs) have their own fixed colours, `RFM_PALETTE`, and always
appear in the standard order, `RFM_SEGMENT_ORDER`. Styling is applied with
`matplotlib.rc_context` (`report_style`) while a figure is built and while it is saved, so
the global Matplotlib state is never touched.
"""

from __future__ import annotations

import contextlib
import functools
import warnings

from ...segmenting.candidates import ALGORITHM_NAMES

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
#: Colours of the levels of a categorical column (most common level first), in every figure.
#: Muted, darker tones so that they do not read as segment colours.
LEVEL_PALETTE = ("#2b4c7e", "#d09a2c", "#7d8b99", "#8e5572", "#2a8f84")
#: Colour of the "other" bucket of categorical levels.
OTHER_COLOR = "#d5d8dc"
#: Colour of the customers in one snapshot only ("new" before, "gone" after).
NEW_GONE_COLOR = "#c7c7c7"
#: Colours of the algorithms in the model-choice figures (others take `_EXTRA_ALGORITHM_COLORS`).
_ALGORITHM_COLORS = {"kmeans": "#1f4e79", "hierarchical": "#c4661f", "gmm": "#2e7d32", "hdbscan": "#ad1457",
                     "dbscan": "#6a3d9a"}
_EXTRA_ALGORITHM_COLORS = ("#2e7d32", "#ad1457", "#00838f", "#5d4037")
#: Colour of single-series marks (bars, curves), of what is highlighted (the chosen, a cut), of text.
NEUTRAL = "#4c6a92"
HIGHLIGHT = "#c62828"
TEXT_COLOR = "#2b2b2b"
#: Pixels per inch of every figure.
DPI = 100

#: Matplotlib settings of the report's figures (`report_style`).
_RC = {
    # Text from the data (column names with "$", ...) must never be parsed as mathtext.
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    # Titles sit at a fixed height above their axes (`fit_axes` leaves room for them): left to
    # itself, Matplotlib measures every titled axes' y tick labels at each draw, in case an
    # offset text ("1e6") stands in the way. Axes here never show one: tick labels carry
    # whole numbers (no offset, no scientific notation short of a billion).
    "axes.titley": 1.0,
    "axes.formatter.useoffset": False,
    "axes.formatter.limits": (-6, 9),
    "axes.labelsize": 9.5,
    "axes.labelcolor": TEXT_COLOR,
    "axes.edgecolor": "#9a9a9a",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.color": "#e6e6e6",
    "grid.linewidth": 0.8,
    "xtick.color": "#555555",
    "ytick.color": "#555555",
    "xtick.labelcolor": TEXT_COLOR,
    "ytick.labelcolor": TEXT_COLOR,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "svg.hashsalt": "custseg",
    "image.cmap": "viridis",
}


@contextlib.contextmanager
def report_style():
    """Apply the report style and silence font warnings, restoring everything after."""
    import matplotlib

    with matplotlib.rc_context(_RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"Glyph .* missing from", UserWarning)
        warnings.filterwarnings("ignore", "Matplotlib currently does not support", UserWarning)
        yield


def styled(function):
    """Decorator: build the figure under `report_style`; never leave global state changed."""

    @functools.wraps(function)
    def wrapper(summary):
        with report_style():
            return function(summary)

    return wrapper


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


def rfm_colors(names) -> dict:
    """Fixed colour of each RFM segment name (`RFM_PALETTE`; neutral for unknown names).

    Examples
    --------
    >>> rfm_colors(["Champions", "Someone"])
    {'Champions': '#1b7837', 'Someone': '#4c6a92'}
    """
    return {str(name): RFM_PALETTE.get(str(name), NEUTRAL) for name in names}


def algorithm_color(algorithm: str, order: list[str]) -> str:
    """Fixed colour of an algorithm; others share the extra colours in their ``order``.

    Examples
    --------
    >>> algorithm_color("kmeans", ["kmeans"])
    '#1f4e79'
    """
    if algorithm in _ALGORITHM_COLORS:
        return _ALGORITHM_COLORS[algorithm]
    others = [a for a in order if a not in _ALGORITHM_COLORS]
    index = others.index(algorithm) if algorithm in others else 0
    return _EXTRA_ALGORITHM_COLORS[index % len(_EXTRA_ALGORITHM_COLORS)]


def algorithm_label(algorithm: str) -> str:
    """Display name of an algorithm key, as a label or at the start of a sentence.

    The names are `custseg.segmenting.search.ALGORITHM_NAMES` (written for the middle of a
    sentence: "hierarchical (Ward)"), capitalised; unknown keys are shown as they are.

    Examples
    --------
    >>> algorithm_label("kmeans"), algorithm_label("hierarchical"), algorithm_label("spectral")
    ('K-Means', 'Hierarchical (Ward)', 'spectral')
    """
    name = ALGORITHM_NAMES.get(algorithm)
    return str(algorithm) if name is None else name[:1].upper() + name[1:]


def text_color(hex_color: str) -> str:
    """Black or white, whichever reads better on ``hex_color``.

    Examples
    --------
    >>> text_color("#ece133"), text_color("#1f4e79")
    ('#1a1a1a', 'white')
    """
    red, green, blue = (int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "#1a1a1a" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.6 else "white"
