"""Figures for the reports, drawn from a run's ``summary`` dict only.

Every ``plot_*`` function takes the summary (see ``docs/summary.md``) and returns a
`matplotlib.figure.Figure`, or ``None`` when its data does not apply to the run (no
dendrogram when hierarchical clustering was not tried, no k-distance curve without DBSCAN,
...). The figures are plain `~matplotlib.figure.Figure` objects with an Agg canvas: they are
not registered with pyplot, so nothing needs closing and the global Matplotlib state (backend,
rcParams, the pyplot figure list) is never touched.

Matplotlib is imported when a figure is first drawn, so importing this package (for
`segment_colors`, say) stays cheap. The figures use Matplotlib alone (heat maps and
histograms included), and each places its axes itself from the size of its text
(`layout.fit_axes`) rather than through a layout engine: drawing a report's figures is most of
the time a run takes on small data.

The modules, by report section: `choice` (choosing the segmentation), `segments`,
`exploration`, `features` (PCA), `rfm`, `value` (customer value), `transitions` (``custseg track``), with `notes` (the
sentences under figures that show less than all the data) and `catalog` (the figures of each
page, in page order). They share `style` (palettes, Matplotlib style, display names), `layout`
(text measuring, axes placement, legends, colour bars, PNG export), `parts` (heat maps, bars,
tick formatters, log axes), `labels`, `data` (reading the summary) and `columns` (caps and
column choice).

This package re-exports the names that the rest of custseg and its tests use; each is
defined once, in the module named above.

Examples
--------
>>> from custseg.reporting.figures import plot_segment_sizes, figure_to_png
>>> fig = plot_segment_sizes(summary)          # doctest: +SKIP
>>> png_bytes = figure_to_png(fig)             # doctest: +SKIP
"""

from __future__ import annotations

from .catalog import (
    FIGURE_ALIASES,
    FIGURES,
    HOLDOUT_FIGURES,
    RFM_FIGURES,
    TRACK_FIGURES,
    VALUE_FIGURES,
)
from .choice import (
    plot_dendrogram,
    plot_elbow,
    plot_k_distance,
    plot_scores,
    plot_silhouette,
    plot_stability,
)
from .columns import (
    LOG_AXIS_RATIO,
    MAX_BOXPLOTS,
    MAX_CATEGORY_PANELS,
    MAX_COMPONENTS,
    MAX_HEATMAP_COLUMNS,
    MAX_LEVELS,
    MAX_PAIR_COLUMNS,
    MAX_PAIR_POINTS,
    MAX_PANELS,
    MAX_SPLIT_LEVELS,
    category_columns,
    category_levels,
    level_colors,
    log_scale_columns,
)
from .exploration import plot_correlation, plot_distributions, plot_pairs
from .features import plot_loadings, plot_scree
from .holdout import (
    plot_value_by_frequency,
    plot_value_tracking_cumulative,
    plot_value_tracking_weekly,
)
from .layout import PNG_COMPRESSION, figure_to_png
from .notes import figure_notes
from .parts import kernel_density
from .rfm import plot_rfm_crosswalk, plot_rfm_sizes, rfm_crosswalk, rfm_order
from .segments import (
    plot_boxplots,
    plot_categories,
    plot_profile_heatmap,
    plot_profile_lines,
    plot_segment_map,
    plot_segment_sizes,
)
from .style import (
    LEVEL_PALETTE,
    NEW_GONE_COLOR,
    NOISE_COLOR,
    OTHER_COLOR,
    RFM_PALETTE,
    RFM_SEGMENT_ORDER,
    SEGMENT_PALETTE,
    algorithm_label,
    rfm_colors,
    segment_colors,
)
from .transitions import (
    plot_track_flow,
    plot_track_rfm_flow,
    plot_track_rfm_transitions,
    plot_track_transitions,
)
from .value import plot_value_p_alive, plot_value_purchases

__all__ = [
    "FIGURES",
    "FIGURE_ALIASES",
    "LEVEL_PALETTE",
    "LOG_AXIS_RATIO",
    "MAX_BOXPLOTS",
    "MAX_CATEGORY_PANELS",
    "MAX_COMPONENTS",
    "MAX_HEATMAP_COLUMNS",
    "MAX_LEVELS",
    "MAX_PAIR_COLUMNS",
    "MAX_PAIR_POINTS",
    "MAX_PANELS",
    "MAX_SPLIT_LEVELS",
    "NEW_GONE_COLOR",
    "NOISE_COLOR",
    "OTHER_COLOR",
    "PNG_COMPRESSION",
    "RFM_FIGURES",
    "VALUE_FIGURES",
    "HOLDOUT_FIGURES",
    "RFM_PALETTE",
    "RFM_SEGMENT_ORDER",
    "SEGMENT_PALETTE",
    "TRACK_FIGURES",
    "algorithm_label",
    "category_columns",
    "category_levels",
    "figure_notes",
    "figure_to_png",
    "kernel_density",
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
    "plot_value_by_frequency",
    "plot_value_p_alive",
    "plot_value_purchases",
    "plot_value_tracking_cumulative",
    "plot_value_tracking_weekly",
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
