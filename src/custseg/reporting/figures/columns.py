"""What the figures leave out, and how they scale their columns.

Caps keep every figure legible and the report small however wide the data is: the columns
whose segments differ most are drawn (`most_distinct_columns`), categorical columns and
levels beyond a few are grouped (`category_columns`, `category_levels`), and `figure_notes`
says so under each figure. Columns profiled on a log scale (``"log_scale": true``) with a
long right tail are drawn on a log axis (`use_log_axis`).
"""

from __future__ import annotations

import numpy as np

from .data import as_float, finite_values, plot_data
from .style import LEVEL_PALETTE, OTHER_COLOR

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
MAX_LEVELS = 5
#: Principal components in the loadings heat map (the scree shows up to 30).
MAX_COMPONENTS = 12
#: A categorical column splits the distributions only if it has 2 to this many levels.
MAX_SPLIT_LEVELS = 4


def most_distinct_columns(summary: dict, columns: list[str], limit: int) -> list[int]:
    """Indices of up to ``limit`` columns, those whose segment z-scores spread most, in order.

    Examples
    --------
    >>> low = {"profile": {"a": {"z": -0.1}, "b": {"z": -1.0}}}
    >>> high = {"profile": {"a": {"z": 0.1}, "b": {"z": 2.0}}}
    >>> most_distinct_columns({"segments": [low, high]}, ["a", "b"], 1)
    [1]
    """
    if len(columns) <= limit:
        return list(range(len(columns)))
    spread = []
    for j, column in enumerate(columns):
        z = [as_float(((s.get("profile") or {}).get(column) or {}).get("z")) for s in summary.get("segments") or []]
        z = finite_values(z)
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

    Examples
    --------
    >>> summary = {"overall": {"categories": {"gender": {"Female": 0.56, "Male": 0.44}}}}
    >>> level_colors(summary, "gender", ["Male", "Female"])
    {'Female': '#2b4c7e', 'Male': '#d09a2c'}
    """
    ranked = _level_rank(summary, column, levels)
    return {level: LEVEL_PALETTE[i] if i < len(LEVEL_PALETTE) else OTHER_COLOR for i, level in enumerate(ranked)}


def category_levels(summary: dict, column: str) -> tuple[list[str], list[str]]:
    """(levels drawn, levels grouped as "other") of a categorical column, most common first.

    At most `MAX_LEVELS` buckets: when there are more levels, the ``MAX_LEVELS - 1`` most
    common are kept and the rest become one "other" bucket.

    Examples
    --------
    >>> shares = {"a": 0.3, "b": 0.25, "c": 0.2, "d": 0.15, "e": 0.06, "f": 0.04}
    >>> category_levels({"overall": {"categories": {"region": shares}}}, "region")
    (['a', 'b', 'c', 'd'], ['e', 'f'])
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

    Examples
    --------
    >>> summary = {"overall": {"categories": {"region": {"north": 1.0}}}, "columns": {"categorical": ["region"]}}
    >>> category_columns(summary)
    (['region'], ['region'])
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


def split_column(summary: dict, n_rows: int):
    """(column, levels, values) of the sample's categorical column that splits distributions.

    A column with 2 to `MAX_SPLIT_LEVELS` levels in the sample; one named like gender or sex
    is preferred, then the one with the fewest levels.

    Examples
    --------
    >>> sample = {"categorical": {"region": ["n", "s", "e"], "Gender": ["f", "m", "f"]}}
    >>> column, levels, values = split_column({"plot_data": {"sample": sample}}, 3)
    >>> column, levels
    ('Gender', ['f', 'm'])
    """
    import re

    categorical = (plot_data(summary, "sample") or {}).get("categorical") or {}
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


def log_scale_columns(summary: dict) -> set[str]:
    """Columns whose profiles are measured on the log1p scale (``log_scale`` in a profile).

    Examples
    --------
    >>> log_scale_columns({"segments": [{"profile": {"spend": {"log_scale": True}, "age": {}}}]})
    {'spend'}
    """
    found = set()
    for segment in summary.get("segments") or []:
        for column, stats in (segment.get("profile") or {}).items():
            if (stats or {}).get("log_scale"):
                found.add(str(column))
    return found


#: A log-scale column is drawn on a log axis when its maximum exceeds this many times its
#: median (or 1, if larger): a long right tail that a linear axis would squash.
LOG_AXIS_RATIO = 10.0


def use_log_axis(values: np.ndarray, log_scale: bool) -> bool:
    """Whether a column's values go on a log axis (symlog, linear below 1).

    Only a log-scale column, never negative, whose maximum is `LOG_AXIS_RATIO` times its
    median (or 1) or more.

    Examples
    --------
    >>> use_log_axis([1, 2, 3, 500], True), use_log_axis([1, 2, 3, 500], False), use_log_axis([1, 2, 3], True)
    (True, False, False)
    """
    if not log_scale:
        return False
    values = finite_values(values)
    if values.size < 2 or float(values.min()) < 0:
        return False
    return float(values.max()) > LOG_AXIS_RATIO * max(float(np.median(values)), 1.0)
