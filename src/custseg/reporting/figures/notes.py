"""The sentences under a figure that shows less than all the data (`figure_notes`)."""

from __future__ import annotations

from .columns import (
    MAX_BOXPLOTS,
    MAX_HEATMAP_COLUMNS,
    MAX_LEVELS,
    MAX_PAIR_COLUMNS,
    MAX_PAIR_POINTS,
    MAX_PANELS,
    category_columns,
    category_levels,
    log_scale_columns,
    split_column,
    use_log_axis,
)
from .data import plot_data, profile_matrix, sample_matrix
from .features import pca_loadings


def figure_notes(summary: dict) -> dict:
    """Sentences saying where a figure shows less than all the data (capped columns, split).

    Keys are figure keys of `FIGURES`; figures drawn in full have no entry. The sentences
    hold column names as plain text (the report escapes them).

    Examples
    --------
    >>> figure_notes({"plot_data": {"sample": {"columns": [f"c{i}" for i in range(6)], "values": [[0] * 6]}}})
    {'pairs': 'Showing the 5 of 6 numeric columns that differ most between segments.'}
    """
    notes: dict[str, str] = {}
    profile = profile_matrix(summary)
    _cap_notes(summary, profile, notes)
    _log_scale_notes(summary, profile, notes)
    _loadings_notes(summary, notes)
    _category_notes(summary, notes)
    return notes


def _add(notes: dict, key: str, sentence: str) -> None:
    """Append ``sentence`` to the note of figure ``key``."""
    notes[key] = f"{notes[key]} {sentence}" if key in notes else sentence


def _capped(limit: int, total: int) -> str:
    return f"Showing the {limit} of {total} numeric columns that differ most between segments."


def _cap_notes(summary: dict, profile, notes: dict) -> None:
    """The caps on columns and customers drawn, and the column splitting the distributions."""
    sample = plot_data(summary, "sample") or {}
    n_columns = len(sample.get("columns") or [])
    n_rows = len(sample.get("values") or [])
    if n_columns > MAX_PANELS:
        _add(notes, "distributions", _capped(MAX_PANELS, n_columns))
    split = split_column(summary, n_rows) if n_rows else None
    if split is not None:
        _add(notes, "distributions", f"Each histogram is split by {split[0]}: " + ", ".join(split[1]) + ".")
    if n_columns > MAX_PANELS:
        _add(notes, "correlation", _capped(MAX_PANELS, n_columns))
    if n_columns > MAX_PAIR_COLUMNS:
        _add(notes, "pairs", _capped(MAX_PAIR_COLUMNS, n_columns))
    if n_rows > MAX_PAIR_POINTS:
        _add(notes, "pairs", f"{MAX_PAIR_POINTS:,} of the {n_rows:,} sampled customers are drawn.")
    n_profile = len(profile[1]) if profile is not None else 0
    for key, limit in (("profile_heatmap", MAX_HEATMAP_COLUMNS), ("profile_lines", MAX_BOXPLOTS)):
        if n_profile > limit:
            _add(notes, key, _capped(limit, n_profile))
    if n_columns > MAX_BOXPLOTS:
        _add(notes, "boxplots", _capped(MAX_BOXPLOTS, n_columns))


def _log_scale_notes(summary: dict, profile, notes: dict) -> None:
    """Which columns the profiles measure, and the sample figures draw, on a log scale."""
    logged = log_scale_columns(summary)
    if not logged:
        return
    if profile is not None:
        log_note = ("Columns marked “(log)” are measured on log(1 + value), as they were clustered, "
                    "so that a few extreme customers do not decide a segment's score.")
        for key in ("profile_heatmap", "profile_lines"):
            _add(notes, key, log_note)
    matrix = sample_matrix(summary)
    if matrix is None:
        return
    on_log = [c for j, c in enumerate(matrix[0]) if c in logged and use_log_axis(matrix[1][:, j], True)]
    if on_log:
        listed = ", ".join(on_log)
        for key in ("distributions", "boxplots"):
            _add(notes, key, f"Long-tailed columns are drawn on a log axis: {listed}.")
        _add(notes, "correlation", f"Columns marked “(log)” are correlated on log(1 + value): {listed}.")


def _loadings_notes(summary: dict, notes: dict) -> None:
    """The caps of the PCA loadings heat map: columns and components."""
    loadings = pca_loadings(summary)
    if loadings is None:
        return
    components, columns, _weights, n_components = loadings
    total = len({c for w in ((summary.get("pca") or {}).get("loadings") or {}).values() for c in (w or {})})
    if total > len(columns):
        _add(notes, "loadings", f"Showing the {len(columns)} of {total} columns with the largest loadings.")
    if n_components > len(components):
        _add(notes, "loadings", f"Showing the first {len(components)} of {n_components} components.")


def _category_notes(summary: dict, notes: dict) -> None:
    """The caps of the categorical make-up: columns shown, and levels grouped as "other"."""
    shown, every = category_columns(summary)
    if len(every) > len(shown):
        _add(notes, "categories", (f"Showing {len(shown)} of {len(every)} categorical columns: those clustered "
                                   f"on, then those whose make-up differs most between segments."))
    if any(category_levels(summary, column)[1] for column in shown):
        _add(notes, "categories", (f"Beyond the {MAX_LEVELS - 1} most common levels of a column, levels are "
                                   f"grouped as “other”."))
