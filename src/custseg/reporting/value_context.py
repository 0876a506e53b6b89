"""What the report's "Customer value" section shows, from the summary's ``value`` block: the
models and their fit in words, a plain warning when the fit is not to be read as a forecast,
the value per segment (most value at risk first) and the customers with the most value at risk."""

from __future__ import annotations

from .formats import format_count, format_money, format_number

__all__ = ["NO_DROPOUT_P_ALIVE", "ROUGH", "holdout_view", "value_view"]

#: Mean P(alive) from which the report says the model found almost no drop-out.
NO_DROPOUT_P_ALIVE = 0.9
#: How the report names the models and their parameters.
_MODEL_NAMES = {"bg/nbd": "BG/NBD", "mbg/nbd": "MBG/NBD", "pareto/nbd": "Pareto/NBD", "gamma-gamma": "Gamma-Gamma"}
_PARAM_NAMES = {"alpha": "α", "beta": "β", "gamma": "γ"}
#: Added to the section's headings when the holdout check says the model does not fit.
ROUGH = "rough: the model does not fit this log"


def model_line(fit: dict | None) -> str | None:
    """The model, its parameters and what it was fitted on, in one line.

    Examples
    --------
    >>> model_line({"model": "mbg/nbd", "params": {"r": 0.69, "alpha": 9.94}, "customers": 23502,
    ...             "converged": True, "warnings": []})
    'MBG/NBD: r = 0.69, α = 9.94; fitted on 23,502 customers, converged'
    """
    if not fit:
        return None
    params = ", ".join(f"{_PARAM_NAMES.get(k, k)} = {format_number(v)}" for k, v in (fit.get("params") or {}).items())
    state = "converged" if fit.get("converged") else "did not converge"
    return (f"{_MODEL_NAMES.get(fit.get('model'), fit.get('model'))}: {params}; "
            f"fitted on {format_count(fit.get('customers'))} customers, {state}")


def value_warnings(value: dict) -> list[str]:
    """Plain sentences that say when the numbers are not to be read as facts: the fits' own
    warnings, a flagged fit, and a model that found almost no drop-out.

    Examples
    --------
    >>> value_warnings({"ok": True, "mean_p_alive": 0.97, "fit": {"warnings": []}, "spend": None})[0][:40]
    'The model found almost no drop-out: P(al'
    """
    sentences = [str(w) for part in ("fit", "spend") for w in ((value.get(part) or {}).get("warnings") or [])]
    if not value.get("ok"):
        sentences.append("A fit is flagged (it did not converge or ended at a degenerate value): the columns "
                         "it would fill are left empty rather than shown wrong.")
    mean = value.get("mean_p_alive")
    if mean is not None and mean >= NO_DROPOUT_P_ALIVE:
        sentences.append("The model found almost no drop-out: P(alive) is close to 1 for nearly everyone, "
                         "so read it as 'no sign of leaving yet'.")
    return sentences


def value_view(summary: dict, segments: list[dict]) -> dict | None:
    """The "Customer value" section, or None without a ``value`` block (a customer table,
    ``--value off``); ``segments`` are the report's segment views (names, colours, anchors)."""
    value = summary.get("value") or None
    if not value:
        return None
    views = {int(s["id"]): s for s in segments}
    money = value.get("clv") is not None
    rows = [_segment_row(item, views.get(int(item["segment"])), money) for item in value.get("segments") or []]
    rows.sort(key=lambda r: (-(r["value_at_risk"] or 0.0), -r["at_risk_customers"]))
    return {
        "model": model_line(value.get("fit")),
        "spend": model_line(value.get("spend")),
        "warnings": value_warnings(value),
        "money": money,
        "horizon": value.get("horizon"),
        "discount": value.get("discount"),
        "at_risk_below": value.get("at_risk_below"),
        "year_days": value.get("year_days"),
        "totals": {k: value.get(k) for k in ("customers", "expected_purchases", "clv", "mean_p_alive",
                                              "at_risk_customers", "value_at_risk")},
        "segments": rows,
        "top": [_top_row(item, views.get(int(item["segment"]))) for item in value.get("top_at_risk") or []],
        "sentence": _lead(value, money),
        "holdout": holdout_view(value.get("holdout")),
        "rough": _rough(value),
        "holdout_thresholds": (value.get("holdout") or {}).get("thresholds"),
    }


def _rough(value: dict) -> bool:
    """Whether the holdout check ran and says the model does not fit."""
    return (value.get("holdout") or {}).get("fits") is False


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def holdout_view(block: dict | None) -> dict | None:
    """The holdout check in words: the verdict as a sentence (or why there was no check), and
    its numbers; None where the run had no purchase days to split (Spark).

    Examples
    --------
    >>> holdout_view({"skipped": "--holdout off"})
    {'skipped': 'No holdout check: --holdout off.'}
    >>> view = holdout_view({"fits": True, "verdict": "the model forecast ... it fits", "holdout_days": 182,
    ...                      "calibration_end": "1997-12-31", "observation_end": "1998-07-01", "customers": 23502,
    ...                      "new_in_holdout": 0, "actual_purchases": 12265.0, "predicted_purchases": 11611.9,
    ...                      "cumulative_error_pct": -1.1, "holdout_error_pct": -5.3, "correlation": 0.70,
    ...                      "model": "mbg/nbd", "fit": None})
    >>> view["verdict"], view["numbers"][0]
    ('The model forecast ... it fits.', 'calibration up to 1997-12-31, holdout of 182 days to 1998-07-01')
    """
    if block is None:
        return None
    if "skipped" in block:
        return {"skipped": _sentence(f"no holdout check: {block['skipped']}")}
    numbers = [
        f"calibration up to {block['calibration_end']}, holdout of {block['holdout_days']:,} days to "
        f"{block['observation_end']}",
        f"{format_count(block['customers'])} customers who bought before the cut "
        f"({format_count(block['new_in_holdout'])} who first bought in the holdout are not forecast)",
        f"holdout purchases: {format_count(block['actual_purchases'])} made, "
        f"{format_number(block['predicted_purchases'])} forecast",
        f"error of the cumulative forecast at the end of the holdout: {_percent(block['cumulative_error_pct'])}; "
        f"of the holdout weeks alone: {_percent(block['holdout_error_pct'])}",
        f"correlation of forecast and purchases per customer: {format_number(block['correlation'])}",
    ]
    return {"fits": bool(block.get("fits")), "verdict": _sentence(block["verdict"]), "numbers": numbers,
            "model": model_line(block.get("fit"))}


def _percent(value) -> str:
    return "–" if value is None else f"{value:+.1f}%"


def _segment_row(item: dict, view: dict | None, money: bool) -> dict:
    return {
        "name": (view or {}).get("name") or f"Segment {item['segment']}",
        "color": (view or {}).get("color"), "anchor": (view or {}).get("anchor"),
        "customers": item.get("customers"), "mean_p_alive": item.get("mean_p_alive"),
        "share_of_clv": item.get("share_of_clv") if money else item.get("share_of_expected_purchases"),
        "at_risk_customers": item.get("at_risk_customers") or 0, "value_at_risk": item.get("value_at_risk"),
    }


def _top_row(item: dict, view: dict | None) -> dict:
    return {"id": item.get("id"), "segment": (view or {}).get("name") or f"Segment {item.get('segment')}",
            "color": (view or {}).get("color"), "p_alive": item.get("p_alive"),
            "repeat_purchases": item.get("repeat_purchases"), "year_spend": item.get("year_spend")}


def _lead(value: dict, money: bool) -> str:
    at_risk, customers = value.get("at_risk_customers") or 0, value.get("customers") or 0
    text = (f"{format_count(at_risk)} of {format_count(customers)} customers are more likely gone than alive "
            f"(P(alive) below {format_number(value.get('at_risk_below'))})")
    if money and value.get("value_at_risk") is not None:
        text += f"; they spent {format_money(value['value_at_risk'])} in the last {value.get('year_days')} days"
    return text + "."
