"""Figures of "Customer value" (transaction logs) for the holdout check: the repeat purchases
made and forecast, cumulative and week by week, with the cut between calibration and holdout
marked, and the holdout purchases made and forecast by calibration frequency; drawn from the
summary's ``value.holdout`` (`custseg.valuing.holdout`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .layout import fit_axes, new_figure
from .style import HIGHLIGHT, NEUTRAL, TEXT_COLOR, styled

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

#: Colours of what the customers did and what the model forecast.
ACTUAL_COLOR = NEUTRAL
PREDICTED_COLOR = HIGHLIGHT


def holdout_block(summary: dict) -> dict | None:
    """The ``value.holdout`` block when the check ran (not skipped), else None.

    Examples
    --------
    >>> holdout_block({"value": {"holdout": {"skipped": "--holdout off"}}}) is None
    True
    >>> holdout_block({"value": {"holdout": {"weeks": {"week_end": ["2024-01-07"]}}}})["weeks"]["week_end"]
    ['2024-01-07']
    """
    block = (summary.get("value") or {}).get("holdout") or None
    if not block or "skipped" in block or not (block.get("weeks") or {}).get("week_end"):
        return None
    return block


def _tracking_figure(summary: dict, kind: str, title: str, ylabel: str):
    """The repeat purchases made and forecast (``kind``: cumulative or weekly), the cut
    marked; None when the summary has no holdout check."""
    block = holdout_block(summary)
    if block is None:
        return None
    weeks = block["weeks"]
    ends = np.array(weeks["week_end"], dtype="datetime64[D]")
    actual = np.array(weeks[f"{kind}_actual"], dtype=float)
    predicted = np.array(weeks[f"{kind}_predicted"], dtype=float)
    fig = new_figure(8.5, 3.9)
    ax = fig.add_subplot()
    ax.plot(ends, actual, color=ACTUAL_COLOR, linewidth=1.9, label="made")
    ax.plot(ends, predicted, color=PREDICTED_COLOR, linewidth=1.6, linestyle="--", label="forecast by the model")
    cut = np.datetime64(weeks["cut"], "D")
    ax.axvline(cut, color=TEXT_COLOR, linewidth=1.0, linestyle=":")
    ax.annotate("cut: holdout →", xy=(cut, 1.0), xycoords=("data", "axes fraction"), xytext=(4, -4),
                textcoords="offset points", ha="left", va="top", fontsize=8.5, color=TEXT_COLOR)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.9))
    fig.autofmt_xdate(rotation=0, ha="center")
    fit_axes(fig, [[ax]])
    return fig


@styled
def plot_value_tracking_cumulative(summary: dict) -> Figure | None:
    """Line chart: cumulative repeat purchases of the customers of the holdout check, made and
    forecast, from the log's first purchase to the reference date, the cut marked."""
    return _tracking_figure(summary, "cumulative", "Repeat purchases, cumulative: made and forecast",
                            "repeat purchases since the first week")


@styled
def plot_value_tracking_weekly(summary: dict) -> Figure | None:
    """Line chart: repeat purchases per week of the customers of the holdout check, made and
    forecast, the cut marked."""
    return _tracking_figure(summary, "weekly", "Repeat purchases per week: made and forecast",
                            "repeat purchases in the week")


@styled
def plot_value_by_frequency(summary: dict) -> Figure | None:
    """Grouped bars: mean purchases in the holdout, made and forecast, of the customers with
    0, 1, ..., 7+ repeat purchases before the cut."""
    block = holdout_block(summary)
    groups = (block or {}).get("by_frequency") or {}
    if not groups.get("frequency"):
        return None
    x = np.arange(len(groups["frequency"]))
    actual = np.array(groups["actual"], dtype=float)
    predicted = np.array(groups["predicted"], dtype=float)
    fig = new_figure(max(6.5, min(10.0, 3.0 + 0.75 * len(x))), 3.9)
    ax = fig.add_subplot()
    ax.bar(x - 0.2, actual, width=0.38, color=ACTUAL_COLOR, label="made")
    ax.bar(x + 0.2, predicted, width=0.38, color=PREDICTED_COLOR, label="forecast by the model")
    labels = [f"{f}\n({n:,})" for f, n in zip(groups["frequency"], groups["customers"])]
    ax.set_xticks(x, labels=labels)
    ax.set_xlabel("repeat purchases before the cut (customers)")
    ax.set_ylabel("mean purchases in the holdout")
    ax.set_title("Holdout purchases by repeat purchases before the cut")
    ax.grid(axis="y")
    ax.set_axisbelow(True)
    ax.legend(loc="upper left")
    fit_axes(fig, [[ax]])
    return fig
