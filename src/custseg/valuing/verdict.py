"""Whether the value model fits a log, said plainly: the thresholds a holdout check must meet,
two named reasons when it does not (a trend in new customers; purchases per week that rose or
fell from before the cut to the end of the holdout, such as a season), and the sentence the
summary, the report and the console show (`custseg.valuing.holdout`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["FIT_CORRELATION", "FIT_ERROR_PCT", "MIN_TREND_CUSTOMERS", "PACE_RATIO", "TREND_RATIO", "holdout_purchase_change",
           "new_customer_trend", "verdict"]

#: The model fits when its forecast of the holdout's purchases is off by at most this many percent ...
FIT_ERROR_PCT = 10.0
#: ... and its per-customer forecasts correlate with the purchases made at least this much.
FIT_CORRELATION = 0.5
#: New customers per week in the last quarter of the calibration period against the second
#: quarter (the first is left out: there, customers who bought before the log began show up
#: for the first time): this many times as many is a rising trend, this many times fewer a
#: falling one.
TREND_RATIO = 2.0
#: A trend needs at least this many new customers in the busier of the two quarters.
MIN_TREND_CUSTOMERS = 20
#: Purchases per week in the last third of the holdout against as long a stretch just before
#: the cut: this many times as many (or fewer) is a marked change of pace (a season, a campaign).
PACE_RATIO = 1.25
#: Days per week.
WEEK_DAYS = 7


def _per_week(count: int, days: float) -> float:
    return round(float(count) * WEEK_DAYS / days, 2) if days > 0 else 0.0


def _direction(before: float, after: float, ratio: float) -> str:
    if after > 0 and after >= ratio * before:
        return "rising"
    if before > 0 and before >= ratio * after:
        return "falling"
    return "steady"


def new_customer_trend(first_days: np.ndarray, start: int, cut: int) -> dict:
    """First purchases per week in the second and the last quarter of the calibration period
    [start, cut] and whether they rose or fell markedly (`TREND_RATIO`).

    Examples
    --------
    >>> firsts = np.r_[0, 10, np.arange(21, 41, 4), np.repeat(np.arange(61, 81), 2)]
    >>> new_customer_trend(firsts, 0, 80)
    {'trend': 'rising', 'second_quarter_per_week': 1.75, 'last_quarter_per_week': 14.0}
    """
    quarter = (cut - start) / 4.0
    second = int(np.sum((first_days > start + quarter) & (first_days <= start + 2 * quarter)))
    last = int(np.sum(first_days > start + 3 * quarter))
    before, after = _per_week(second, quarter), _per_week(last, quarter)
    trend = _direction(before, after, TREND_RATIO) if max(second, last) >= MIN_TREND_CUSTOMERS else "steady"
    return {"trend": trend,
            "second_quarter_per_week": before, "last_quarter_per_week": after}


def holdout_purchase_change(made_by_day: np.ndarray, start: int, cut: int, end: int) -> dict:
    """Repeat purchases per week in the last third of the holdout (cut, end] against as long a
    stretch just before the cut, and whether the pace rose or fell markedly (`PACE_RATIO`).

    ``made_by_day[d - start]``: the repeat purchases made up to day ``d``.

    Examples
    --------
    >>> made = np.cumsum(np.bincount(np.array([-5, -2, 25, 26, 27, 28, 29]) + 10, minlength=41))
    >>> holdout_purchase_change(made, -10, 0, 30)
    {'change': 'rising', 'before_cut_per_week': 1.4, 'holdout_end_per_week': 3.5}
    """
    third = (end - cut) / 3.0

    def made(day: float) -> int:
        return int(made_by_day[min(max(int(np.floor(day)) - start, 0), len(made_by_day) - 1)]) if day >= start else 0

    before = _per_week(made(cut) - made(cut - third), third)
    after = _per_week(made(end) - made(end - third), third)
    return {"change": _direction(before, after, PACE_RATIO),
            "before_cut_per_week": before, "holdout_end_per_week": after}


def _named_reasons(check: dict, error: float | None) -> list[str]:
    """The trend in new customers and, for a forecast that missed in its direction, the pace."""
    reasons = []
    trend = check["new_customers"]
    if trend["trend"] != "steady":
        verb = "rose" if trend["trend"] == "rising" else "fell"
        reasons.append(f"first purchases per week {verb} from {trend['second_quarter_per_week']:,.1f} to "
                       f"{trend['last_quarter_per_week']:,.1f} during the calibration period: the model expects "
                       f"the customers of a steady shop")
    pace = check["holdout_purchases_per_week"]
    if error is not None and (pace["change"], error < 0) in (("rising", True), ("falling", False)):
        verb = "rose" if pace["change"] == "rising" else "fell"
        reasons.append(f"purchases per week {verb} from {pace['before_cut_per_week']:,.1f} before the cut to "
                       f"{pace['holdout_end_per_week']:,.1f} at the end of the holdout: a season or a campaign "
                       f"the model does not expect")
    return reasons


def _alone(error: float | None) -> str:
    """The error of the holdout weeks alone, in words."""
    if error is None:
        return "no purchases in the holdout weeks"
    return f"the holdout weeks alone {abs(error):.0f}% {'under' if error < 0 else 'over'}"


def verdict(check: dict) -> dict:
    """``fits``, the ``verdict`` sentence, the ``reasons`` and the ``thresholds`` of a holdout
    check (its ``cumulative_error_pct``, ``holdout_error_pct``, ``correlation``,
    ``holdout_days``, ``new_customers`` and ``holdout_purchases_per_week``).

    The model fits when the cumulative forecast at the end of the holdout is off by at most
    `FIT_ERROR_PCT` (the published CDNOW check) and the per-customer forecasts correlate at
    least `FIT_CORRELATION` with the purchases made.

    Examples
    --------
    >>> check = {"cumulative_error_pct": -4.1, "holdout_error_pct": -12.2, "correlation": 0.63,
    ...          "holdout_days": 273,
    ...          "new_customers": {"trend": "steady", "second_quarter_per_week": 1.0, "last_quarter_per_week": 1.0},
    ...          "holdout_purchases_per_week": {"change": "steady", "before_cut_per_week": 9.0,
    ...                                         "holdout_end_per_week": 9.5}}
    >>> verdict(check)["verdict"]
    'the model forecast the repeat purchases to the end of the 39-week holdout within 4% (correlation 0.63; the holdout weeks alone 12% under): it fits'
    >>> check.update(cumulative_error_pct=-14.0, correlation=0.41)
    >>> verdict(check)["verdict"]
    'the model does not fit: the repeat purchases to the end of the 39-week holdout were under-forecast by 14% (correlation 0.41, below 0.5; the holdout weeks alone 12% under)'
    """
    error, correlation = check["cumulative_error_pct"], check["correlation"]
    weeks = check["holdout_days"] / WEEK_DAYS
    span = f"{weeks:.0f}-week" if weeks == round(weeks) else f"{check['holdout_days']}-day"
    close = error is not None and abs(error) <= FIT_ERROR_PCT
    related = correlation is not None and correlation >= FIT_CORRELATION
    fits = close and related
    how_well = ("the per-customer forecasts do not vary" if correlation is None
                else f"correlation {correlation:.2f}" + ("" if related else f", below {FIT_CORRELATION:g}"))
    how_well += "; " + _alone(check["holdout_error_pct"])
    what = f"the repeat purchases to the end of the {span} holdout"
    if fits:
        sentence = f"the model forecast {what} within {abs(error):.0f}% ({how_well}): it fits"
        return {"fits": True, "verdict": sentence, "reasons": [],
                "thresholds": {"error_pct": FIT_ERROR_PCT, "correlation": FIT_CORRELATION}}
    if close:
        missed = f"{what} were forecast within {abs(error):.0f}%"
    elif error is None:
        missed = f"{what} cannot be compared (none were made)"
    else:
        missed = f"{what} were {'under' if error < 0 else 'over'}-forecast by {abs(error):.0f}%"
    reasons = [f"{missed} ({how_well})", *_named_reasons(check, error)]
    return {"fits": False, "verdict": "the model does not fit: " + "; ".join(reasons), "reasons": reasons,
            "thresholds": {"error_pct": FIT_ERROR_PCT, "correlation": FIT_CORRELATION}}
