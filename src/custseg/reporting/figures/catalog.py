"""The figures of each page, in page order: the run report's (`FIGURES`, with the short
names `FIGURE_ALIASES` and the transaction-log-only `RFM_FIGURES` and `VALUE_FIGURES`) and ``custseg track``'s
(`TRACK_FIGURES`)."""

from __future__ import annotations

from .choice import (
    plot_dendrogram,
    plot_elbow,
    plot_k_distance,
    plot_scores,
    plot_silhouette,
    plot_stability,
)
from .exploration import plot_correlation, plot_distributions, plot_pairs
from .features import plot_loadings, plot_scree
from .holdout import (
    plot_value_by_frequency,
    plot_value_tracking_cumulative,
    plot_value_tracking_weekly,
)
from .rfm import plot_rfm_crosswalk, plot_rfm_sizes
from .segments import (
    plot_boxplots,
    plot_categories,
    plot_profile_heatmap,
    plot_profile_lines,
    plot_segment_map,
    plot_segment_sizes,
)
from .transitions import (
    plot_track_flow,
    plot_track_rfm_flow,
    plot_track_rfm_transitions,
    plot_track_transitions,
)
from .value import plot_value_p_alive, plot_value_purchases

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
    ("value_p_alive", plot_value_p_alive),
    ("value_purchases", plot_value_purchases),
    ("value_tracking_cumulative", plot_value_tracking_cumulative),
    ("value_tracking_weekly", plot_value_tracking_weekly),
    ("value_by_frequency", plot_value_by_frequency),
)
#: Short names accepted by ``Result.plot`` for the figures most often asked for.
FIGURE_ALIASES = {"pca_map": "segment_map", "map": "segment_map", "heatmap": "profile_heatmap",
                  "sizes": "segment_sizes"}
#: Figures that only transaction-log runs (with ``rfm`` in the summary) have.
RFM_FIGURES = ("rfm_sizes", "rfm_crosswalk")
#: Figures that only transaction-log runs with a customer value (``value`` in the summary) have.
VALUE_FIGURES = ("value_p_alive", "value_purchases", "value_tracking_cumulative", "value_tracking_weekly",
                 "value_by_frequency")
#: Value figures of the holdout check: only where it ran (``value.holdout`` not skipped).
HOLDOUT_FIGURES = ("value_tracking_cumulative", "value_tracking_weekly", "value_by_frequency")
#: Figures of the ``custseg track`` page, in page order: (key, function).
TRACK_FIGURES = (
    ("track_flow", plot_track_flow),
    ("track_transitions", plot_track_transitions),
    ("track_rfm_flow", plot_track_rfm_flow),
    ("track_rfm_transitions", plot_track_rfm_transitions),
)
