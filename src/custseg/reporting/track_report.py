"""The page of ``custseg track`` ("Since the last run"): one self-contained HTML file rendered
from a tracking summary (``Tracking.summary``), and a short HTML block of it for Jupyter."""

from __future__ import annotations

from pathlib import Path

from ..outputs import write_atomic
from .drawing import figure_img, figure_png
from .environment import jinja_environment
from .figures.catalog import TRACK_FIGURES
from .figures.style import NEW_GONE_COLOR, algorithm_label, rfm_colors, segment_colors

__all__ = ["render_track_report", "track_summary_html", "write_track_report"]

_TRACK_TEMPLATE = "track.html.j2"

#: (figure key, short title, alt text) of the ``custseg track`` page.
_TRACK_FIGURE_TEXT = {
    "track_flow": ("Flow", "Flow diagram: each segment before on the left, its customers' segment now on the "
                           "right, new and gone customers in grey"),
    "track_transitions": ("Transitions", "Heat map of customers by segment before (rows) and segment now "
                                         "(columns), with counts and row shares"),
    "track_rfm_flow": ("RFM flow", "Flow diagram of the RFM segments before and now"),
    "track_rfm_transitions": ("RFM transitions", "Heat map of customers by RFM segment before and RFM segment now"),
}


def render_track_report(summary: dict) -> str:
    """Render the "Since the last run" page of ``custseg track`` from its summary.

    Parameters
    ----------
    summary : dict
        ``Tracking.summary`` (the ``summary.json`` that ``custseg track`` writes).

    Returns
    -------
    str
        One self-contained HTML document, the report's styles inlined; the same summary
        always gives the same string.
    """
    figures = {}
    for key, function in TRACK_FIGURES:
        png = figure_png(function, summary)
        figures[key] = None if png is None else figure_img(png, key, _TRACK_FIGURE_TEXT[key][1])
    context = _track_context(summary)
    context["figures"] = figures
    context["figure_titles"] = {key: text[0] for key, text in _TRACK_FIGURE_TEXT.items()}
    return jinja_environment().get_template(_TRACK_TEMPLATE).render(**context)


def write_track_report(summary: dict, path) -> Path:
    """Render the ``custseg track`` page and write it to ``path`` atomically; return the path."""
    return write_atomic(path, render_track_report(summary))


def track_summary_html(summary: dict) -> str:
    """A short HTML block of a tracking result, for Jupyter: the verdict and each segment's change."""
    return jinja_environment().from_string(_TRACK_SUMMARY_TEMPLATE).render(**_track_context(summary))


_TRACK_SUMMARY_TEMPLATE = """\
<div class="custseg-track" style="font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:13px;line-height:1.4">
<p style="margin:0 0 6px 0"><strong>custseg track</strong>: {{ counts.in_both|count }} customers in both snapshots,
{{ counts.moved|count }} moved, {{ counts.new|count }} new, {{ counts.gone|count }} gone.
{% if verdict %}<em>{{ verdict }}</em>{% endif %}</p>
<table style="border-collapse:collapse">
<thead><tr>
<th style="text-align:left;padding:3px 8px;border-bottom:1px solid #bbb">segment</th>
<th style="text-align:right;padding:3px 8px;border-bottom:1px solid #bbb">before</th>
<th style="text-align:right;padding:3px 8px;border-bottom:1px solid #bbb">now</th>
<th style="text-align:right;padding:3px 8px;border-bottom:1px solid #bbb">change</th>
</tr></thead>
<tbody>
{% for s in sizes %}
<tr>
<td style="text-align:left;padding:3px 8px"><span style="display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;background:{{ s.color }}"></span>{{ s.name }}</td>
<td style="text-align:right;padding:3px 8px">{{ s.before|count }}</td>
<td style="text-align:right;padding:3px 8px">{{ s.after|count }}</td>
<td style="text-align:right;padding:3px 8px">{{ s.change_text }}</td>
</tr>
{% endfor %}
</tbody>
</table>
</div>
"""


def _track_context(summary: dict) -> dict:
    """Plain values for the track page, derived from its summary only (no escaping here)."""
    tracking = (summary or {}).get("tracking") or {}
    segments = list(tracking.get("segments") or [])
    by_id = segment_colors(int(s["id"]) for s in segments if s.get("id") is not None)
    sizes = _size_views(segments, lambda s: by_id.get(int(s["id"]), NEW_GONE_COLOR) if s.get("id") is not None
                        else NEW_GONE_COLOR)
    rfm = tracking.get("rfm") or None
    rfm_sizes = None
    if rfm:
        names = [str(s.get("name")) for s in rfm.get("segments") or []]
        palette = rfm_colors(names)
        rfm_sizes = _size_views(rfm.get("segments") or [], lambda s: palette[str(s.get("name"))])
    drift = tracking.get("drift") or {}
    drift_rows = []
    for item in drift.get("segments") or []:
        drift_rows.append({**item, "color": by_id.get(int(item["id"]), NEW_GONE_COLOR)})
    model = tracking.get("model") or {}
    after = tracking.get("after") or {}
    before = tracking.get("before") or {}
    source = after.get("source") or {}
    verdict = tracking.get("verdict")
    return {
        "version": summary.get("custseg_version") if summary else None,
        "model": model,
        "model_name": Path(str(model.get("path"))).name if model.get("path") else None,
        "algorithm": algorithm_label(model.get("algorithm")) if model.get("algorithm") else None,
        "before": before,
        "after": after,
        "data_name": source.get("name"),
        "counts": tracking.get("customers") or {},
        "sizes": sizes,
        "rfm_sizes": rfm_sizes,
        "moves": [m for m in tracking.get("moves") or [] if m.get("sentence")],
        "value_lines": [str(line) for line in (tracking.get("value") or {}).get("sentences") or []],
        "drift": drift,
        "drift_rows": drift_rows,
        "refit": drift.get("refit"),
        "verdict": verdict,
        "refit_recommended": bool(verdict) and str(verdict).startswith("refit recommended"),
        "left_out": [{"reason": r, "rows": n} for r, n in (after.get("left_out") or {}).items()],
        "warnings": [str(w) for w in tracking.get("warnings") or []],
    }


def _size_views(rows: list[dict], color) -> list[dict]:
    """Rows of a growing / shrinking table: most grown first, most shrunk last."""
    views = []
    for item in rows:
        change = int(item.get("change") or 0)
        views.append({**item, "color": color(item), "change": change,
                      "change_text": f"{change:+,}".replace("-", "−") if change else "0",
                      "trend": "grow" if change > 0 else "shrink" if change < 0 else "same"})
    return sorted(views, key=lambda v: -v["change"])
