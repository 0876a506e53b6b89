"""The HTML report: one self-contained file rendered from a run's ``summary`` dict.

The report is a pure function of the summary (see ``docs/summary.md``), so
``custseg report summary.json`` re-renders it without refitting. Everything that comes from
the data (column names, category values, segment names, file names) goes through Jinja's
autoescaping; only the figures, which this module generates itself as base64 PNG ``<img>``
tags, are marked safe. The file needs no network: no scripts, fonts or styles are fetched.

A transaction-log run (``summary["source"]["kind"] == "transactions"``) adds the order-line
ledger, the line checks, the customer counts, the column mapping and the join to "Data &
quality", and a section "RFM segments" (the classic RFM segments, their sizes and the crosswalk
to the clusters, read out in one sentence). A customer-table summary renders as it always has.

The report's parts live beside this module: `drawing` (the figures as ``<img>`` tags),
`context` (the values the templates show), `formats` (how numbers are written),
`environment` (Jinja and the ``templates/`` folder) and `figures`. The page of ``custseg
track`` is `track_report`; its entry points are re-exported here, where the rest of custseg
imports them from.

Matplotlib and Jinja are imported on first use, not at import time.

Examples
--------
>>> from custseg.reporting.report import write_report
>>> write_report(result.summary, "custseg-out/report.html")   # doctest: +SKIP
PosixPath('custseg-out/report.html')
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .context import report_context
from .drawing import FIGURE_TEXT, render_figures
from .environment import jinja_environment
from .figures.notes import figure_notes
from .track_report import render_track_report, track_summary_html, write_track_report

__all__ = [
    "render_figures", "render_report", "render_track_report", "summary_html", "track_summary_html", "write_report",
    "write_track_report",
]

_TEMPLATE = "report.html.j2"


def render_report(summary: dict) -> str:
    """Render the whole self-contained HTML report for ``summary``.

    Parameters
    ----------
    summary : dict
        A run's summary, shaped as documented in ``docs/summary.md``.

    Returns
    -------
    str
        The HTML document. The same summary always gives the same string.
    """
    context = report_context(summary)
    context["figures"] = render_figures(summary)
    context["figure_titles"] = {key: text[0] for key, text in FIGURE_TEXT.items()}
    context["figure_notes"] = figure_notes(summary or {})
    return jinja_environment().get_template(_TEMPLATE).render(**context)


def write_report(summary: dict, path) -> Path:
    """Render the report and write it to ``path`` atomically; return the path.

    The HTML goes to a temporary file in the same folder, which then replaces ``path`` in one
    step, so an interrupted run never leaves a half-written report behind.
    """
    path = Path(path)
    html = render_report(summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(html)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def summary_html(summary: dict) -> str:
    """A short HTML table of the result, for Jupyter's ``_repr_html_``.

    Shows the chosen algorithm and k, why it was chosen, and each segment's name, size,
    share and top action.
    """
    context = report_context(summary)
    return jinja_environment().from_string(_SUMMARY_TEMPLATE).render(**context)


_SUMMARY_TEMPLATE = """\
<div class="custseg-summary" style="font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:13px;line-height:1.4">
<p style="margin:0 0 6px 0"><strong>custseg</strong>: {{ model_line }}
{%- if chosen.silhouette is not none %}, silhouette {{ chosen.silhouette|fixed(3) }}{% endif %}
{%- if lines_line %}, {{ lines_line }}{% elif rows_used is not none %}, {{ rows_used|count }} customers{% endif %}</p>
{%- if chosen.reason %}
<p style="margin:0 0 6px 0;color:#444;max-width:60em">{{ chosen.reason }}</p>
{%- endif %}
<table style="border-collapse:collapse">
<thead><tr>
<th style="text-align:left;padding:3px 8px;border-bottom:1px solid #bbb">segment</th>
<th style="text-align:right;padding:3px 8px;border-bottom:1px solid #bbb">customers</th>
<th style="text-align:right;padding:3px 8px;border-bottom:1px solid #bbb">share</th>
<th style="text-align:left;padding:3px 8px;border-bottom:1px solid #bbb">top action</th>
</tr></thead>
<tbody>
{% for s in segments %}
<tr>
<td style="text-align:left;padding:3px 8px"><span style="display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;background:{{ s.color }}"></span>{{ s.name }}</td>
<td style="text-align:right;padding:3px 8px">{{ s.size|count }}</td>
<td style="text-align:right;padding:3px 8px">{{ s.share|pct }}</td>
<td style="text-align:left;padding:3px 8px">{{ s.top_action or "" }}</td>
</tr>
{% endfor %}
</tbody>
</table>
</div>
"""
