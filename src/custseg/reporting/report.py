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

Matplotlib, Seaborn and Jinja are imported on first use, not at import time.

Examples
--------
>>> from custseg.reporting.report import write_report
>>> write_report(result.summary, "custseg-out/report.html")   # doctest: +SKIP
PosixPath('custseg-out/report.html')
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gc
import os
import secrets
import struct
from pathlib import Path

__all__ = ["render_figures", "render_report", "summary_html", "write_report"]

_TEMPLATE = "report.html.j2"

#: (figure key, short title, alt text) in page order.
_FIGURE_TEXT = {
    "segment_sizes": ("Segment sizes", "Bar chart of the number of customers in each segment"),
    "distributions": ("Distributions", "Histograms with density curves of each numeric column"),
    "correlation": ("Correlations", "Heat map of the correlations between numeric columns"),
    "pairs": ("Pair plot", "Grid of scatter plots of pairs of numeric columns, coloured by segment"),
    "scree": ("Explained variance", "Bar chart of the variance explained by each principal component, "
              "with the cumulative share as a line"),
    "loadings": ("Loadings", "Heat map of the weight of each input column in each principal component"),
    "elbow": ("Elbow", "Line chart of inertia against the number of segments, knee marked"),
    "scores": ("Scores by k", "Silhouette, Calinski-Harabasz and Davies-Bouldin scores against k"),
    "dendrogram": ("Dendrogram", "Ward dendrogram with the cut for the chosen number of segments"),
    "k_distance": ("k-distance", "Sorted k-nearest-neighbour distances with the DBSCAN eps line"),
    "silhouette": ("Silhouette plot", "Silhouette value of each sampled customer, by segment"),
    "stability": ("Segment stability", "Bar chart of each segment's stability (Jaccard) under resampling"),
    "segment_map": ("Segment map", "Scatter plot of customers on two principal components, by segment"),
    "profile_heatmap": ("Profile heat map", "Heat map of each segment's z-score on each numeric feature"),
    "profile_lines": ("Profile lines", "Line chart of each segment's z-score on each numeric feature"),
    "boxplots": ("Features by segment", "Box plots of each numeric feature within each segment"),
    "categories": ("Categorical make-up", "Stacked bars of the share of each category level in each segment"),
    "rfm_sizes": ("RFM segment sizes", "Bar chart of the number of customers in each RFM segment"),
    "rfm_crosswalk": ("Crosswalk", "Heat map of how many customers of each RFM segment fall in each cluster"),
}

#: Rows of the candidates table; beyond it the chosen and best candidates are kept first.
MAX_CANDIDATE_ROWS = 60
#: Rows of a card's "all numeric columns" table (those furthest from the average are kept).
MAX_PROFILE_ROWS = 30

_KIND_LABELS = {"customers": "customer table (one row per customer)",
                "transactions": "transaction log (one row per order line)"}

#: Roles of the transaction log's columns, in the order the mapping is shown.
_TRANSACTION_ROLES = (
    ("customer", "Customer id"), ("date", "Order date"), ("invoice", "Invoice / order"),
    ("quantity", "Quantity"), ("price", "Unit price"), ("amount", "Amount"), ("product", "Product code"),
)

#: What each behaviour feature of a transaction log means (see custseg.logs.rules).
_FEATURE_GLOSSARY = {
    "recency_days": "Days from the customer's last purchase to the reference date.",
    "frequency": "Orders with a purchase (distinct invoices, not lines).",
    "monetary": "Net spend: purchases minus returns and cancellations.",
    "avg_order_value": "Gross purchase spend per order.",
    "tenure_days": "Days from the customer's first purchase to the reference date.",
    "distinct_products": "Different products bought (postage, fees and other non-product codes left out).",
    "return_rate": "Value returned or cancelled, as a share of gross purchase spend.",
    "items_per_order": "Units of product bought per order.",
    "mean_days_between_purchases": "Average days between purchase days (empty for one-day buyers).",
    "recent_spend_share": "Share of purchase spend in the last 90 days before the reference date.",
}

#: The standard RFM grid: R score (5 to 1) -> segment for FM = 1..5, FM = round_half_up((F + M) / 2).
RFM_GRID = (
    (5, ("New Customers", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Champions")),
    (4, ("Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Champions")),
    (3, ("About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers")),
    (2, ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them")),
    (1, ("Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them")),
)
#: RFM segments whose place among the clusters the crosswalk sentence reads out, in order.
_CROSSWALK_FOCUS = ("Champions", "At Risk", "Lost")


# --------------------------------------------------------------------------- public API


def render_figures(summary: dict) -> dict:
    """Draw every report figure; return ``{key: <img> markup or None}`` in page order.

    ``None`` marks a figure whose data does not apply to this run (no dendrogram when
    hierarchical clustering was not tried, ...).
    """
    from markupsafe import Markup, escape

    from . import figures as plots

    figures = {}
    with _young_garbage_only():
        pngs = _draw_figures(summary)
    for key, _function in plots.FIGURES:
        png = pngs[key]
        if png is None:
            figures[key] = None
            continue
        width, height = _png_size(png)
        alt = _FIGURE_TEXT.get(key, (key, key))[1]
        figures[key] = Markup(
            f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
            f'width="{width}" height="{height}" style="--w: {width}px" alt="{escape(alt)}" '
            f'data-test="figure-{escape(key)}">'
        )
    return figures


#: Processes that draw the report's figures: this one and, where `_helper_allowed`, one
#: forked helper. Set it to 1 to draw every figure in this process.
FIGURE_PROCESSES = 2

#: Seconds the helper may still take once this process has drawn its share (or twice the
#: time that share took, if longer) before it is given up on and its figures drawn here.
HELPER_GRACE = 10.0


def _draw_figures(summary: dict) -> dict:
    """{figure key: PNG bytes, or None where the figure does not apply}, in `plots.FIGURES` order.

    The figures are independent, each drawn from the summary alone, and they were most of
    a small run's time; so, with a second CPU, a forked helper draws some of them
    (`_draw_with_helper`). Who draws a figure does not change its bytes, and any figure
    the helper does not deliver (it failed, or took far too long) is drawn here: the
    result never depends on the helper.
    """
    from . import figures as plots

    keys = [key for key, _function in plots.FIGURES]
    drawn: dict = {}
    if FIGURE_PROCESSES > 1 and 1 < len(keys) < 256 and _helper_allowed():
        drawn = _draw_with_helper(summary, len(keys))
    functions = dict(plots.FIGURES)
    for key in keys:
        if key not in drawn:
            drawn[key] = _draw_one(functions[key], summary)
    return {key: drawn[key] for key in keys}


def _draw_one(function, summary: dict) -> bytes | None:
    from . import figures as plots

    fig = function(summary)
    return None if fig is None else plots.figure_to_png(fig)


def _helper_allowed() -> bool:
    """Whether to fork a helper: on Linux, with a CPU to spare for it.

    That is two CPUs or more for this process, and a load average (last minute) that
    leaves at least half a CPU idle: on a machine already busy, the helper only competes
    with this process (and the fork's copy-on-write costs about a tenth more CPU time in
    all). Measured on 2 CPUs: at a load of 1.5 the helper halved the figures' time, at 1.9
    it lengthened it by a tenth.
    """
    import sys

    if sys.platform != "linux" or not hasattr(os, "fork"):
        return False
    try:
        cpus = len(os.sched_getaffinity(0))
        return cpus >= 2 and os.getloadavg()[0] <= cpus - 0.5
    except OSError:
        return False


def _take_figures(summary: dict, queue: int) -> dict:
    """Draw the figures whose numbers come, one byte each, from the ``queue`` pipe, until it is empty."""
    from . import figures as plots

    drawn = {}
    while job := os.read(queue, 1):
        key, function = plots.FIGURES[job[0]]
        drawn[key] = _draw_one(function, summary)
    return drawn


def _draw_with_helper(summary: dict, n_figures: int) -> dict:
    """Draw figures here and in a forked helper; return {key: PNG or None} of those drawn.

    Both processes take figure numbers from one queue (a pipe; a one-byte read is atomic)
    until it is empty, so the work shares itself out. The helper pickles its PNGs into a
    second pipe and leaves with `os._exit` (no clean-up, no flushing of inherited buffers,
    no return into the caller's code). It only draws with Matplotlib and writes to its
    pipe; the one lock that drawing takes (Matplotlib's, shared by all figures) is held
    here across the fork, so that no other thread of this process can hold it then. Its
    reply is used only if complete; a helper still busy long after this process is done
    is killed. Returns {} (all figures are then drawn here) when the fork itself fails.
    """
    import pickle
    import select
    import signal
    import time
    import warnings

    from matplotlib.figure import Figure

    queue_read, queue_write = os.pipe()
    os.write(queue_write, bytes(range(n_figures)))
    os.close(queue_write)  # the queue is at its end (EOF) once every number is taken
    reply_read, reply_write = os.pipe()
    try:
        with getattr(Figure, "_render_lock", contextlib.nullcontext()), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # (3.12+: forking while threads run)
            pid = os.fork()
    except OSError:
        for fd in (queue_read, reply_read, reply_write):
            os.close(fd)
        return {}
    if pid == 0:  # the helper
        status = 1
        try:
            os.close(reply_read)
            payload = memoryview(pickle.dumps(_take_figures(summary, queue_read), protocol=5))
            while payload:
                payload = payload[os.write(reply_write, payload):]
            status = 0
        finally:
            os._exit(status)
    os.close(reply_write)
    chunks: list[bytes] = []
    complete = False
    status = None
    try:
        started = time.monotonic()
        drawn = _take_figures(summary, queue_read)
        deadline = time.monotonic() + max(HELPER_GRACE, 2 * (time.monotonic() - started))
        while (left := deadline - time.monotonic()) > 0 and select.select([reply_read], [], [], left)[0]:
            chunk = os.read(reply_read, 1 << 20)
            if not chunk:
                complete = True
                break
            chunks.append(chunk)
    finally:
        os.close(queue_read)
        os.close(reply_read)
        if not complete:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # (already reaped if SIGCHLD is ignored)
            status = os.waitpid(pid, 0)[1]
    if complete and status in (0, None):
        with contextlib.suppress(Exception):  # a garbled reply: those figures are drawn here
            reply = pickle.loads(b"".join(chunks))
            drawn.update({key: png for key, png in reply.items() if key not in drawn})
    return drawn


@contextlib.contextmanager
def _young_garbage_only():
    """While figures are drawn, let the garbage collector look at new objects only, and less often.

    Drawing makes many objects in reference cycles (a figure and its artists point at each
    other), which set off collections; each full one walked every object of the process
    (pandas, scikit-learn, ...), and they took about a fifth of the report's time. Objects
    older than the report are set aside (`gc.freeze`) and collections of the young ones
    come less often; both are undone afterwards. Nothing is changed if the caller froze
    objects itself.
    """
    if gc.get_freeze_count() or not gc.isenabled():
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], 20_000), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


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
    from .figures import figure_notes

    context = _context(summary)
    context["figures"] = render_figures(summary)
    context["figure_titles"] = {key: text[0] for key, text in _FIGURE_TEXT.items()}
    context["figure_notes"] = figure_notes(summary or {})
    return _environment().get_template(_TEMPLATE).render(**context)


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
    context = _context(summary)
    return _environment().from_string(_SUMMARY_TEMPLATE).render(**context)


# --------------------------------------------------------------------------- Jinja


@functools.lru_cache(maxsize=1)
def _environment():
    from jinja2 import ChainableUndefined, Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        count=_fmt_count, num=_fmt_num, pct=_fmt_pct, fixed=_fmt_fixed, signed=_fmt_signed, money=_fmt_money,
        part=_fmt_part,
        algorithm=_algorithm_label, setting=_fmt_setting, condition=_fmt_condition,
    )
    return env


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


# --------------------------------------------------------------------------- context


def _context(summary: dict) -> dict:
    """Plain values for the templates, derived from the summary only (no escaping here)."""
    from .figures import category_columns, segment_colors

    summary = summary or {}
    segments_raw = list(summary.get("segments") or [])
    segments_raw = [s for s in segments_raw if int(s["id"]) >= 0] + [
        s for s in segments_raw if int(s["id"]) < 0
    ]
    colors = segment_colors(s["id"] for s in segments_raw)
    shown_categories, all_categories = category_columns(summary)
    segments = [_segment_view(s, colors[int(s["id"])], summary, shown_categories) for s in segments_raw]
    noise = [s for s in segments if s["noise"]]

    chosen = dict(summary.get("chosen") or {})
    all_candidates = _candidate_rows(summary.get("candidates") or [], chosen)
    candidates = _capped_candidates(all_candidates)
    source = summary.get("source") or {}
    inputs = summary.get("input") or {}
    columns = summary.get("columns") or {}
    sample = (summary.get("plot_data") or {}).get("sample") or {}
    settings = summary.get("settings") or {}

    algorithm = chosen.get("algorithm")
    n_segments = sum(1 for s in segments if not s["noise"])
    if algorithm:
        model_line = f"{_algorithm_label(algorithm)}, {n_segments or chosen.get('k')} segments"
        if algorithm not in ("dbscan", "hdbscan") and chosen.get("k") is not None:
            model_line = f"{_algorithm_label(algorithm)} with k = {chosen.get('k')}"
    else:
        model_line = f"{n_segments} segments"

    cells_fixed = [
        {"reason": reason, "column": column, "cells": cells}
        for reason, by_column in (inputs.get("cells_fixed") or {}).items()
        for column, cells in (by_column or {}).items()
    ]
    outliers = [{"column": column, **(info or {})} for column, info in (inputs.get("outliers") or {}).items()]
    dropped = [{"reason": r, "rows": n} for r, n in (inputs.get("rows_dropped") or {}).items()]

    pca = summary.get("pca")
    pca_view = None
    if pca:
        ratios = list(pca.get("explained_variance_ratio") or [])
        cumulative, total = [], 0.0
        for ratio in ratios:
            total += ratio or 0.0
            cumulative.append(total)
        loadings = pca.get("loadings") or {}
        loading_columns: list[str] = []
        for weights in loadings.values():
            for column in weights or {}:
                if column not in loading_columns:
                    loading_columns.append(column)
        pca_view = {
            "components": pca.get("components") or len(ratios),
            "variance": [{"name": f"PC{i + 1}", "ratio": r, "cumulative": c}
                         for i, (r, c) in enumerate(zip(ratios, cumulative))],
            "loading_columns": loading_columns,
            "loadings": [{"name": name, "values": [(weights or {}).get(c) for c in loading_columns]}
                         for name, weights in loadings.items()],
        }

    transactions = _transactions_view(summary.get("transactions"), source)
    rfm = _rfm_view(summary, segments)
    numeric_columns = list(columns.get("numeric") or [])
    glossary = [{"column": c, "meaning": _FEATURE_GLOSSARY[c]} for c in numeric_columns
                if transactions and c in _FEATURE_GLOSSARY]
    if transactions and inputs.get("rows_used") is not None and transactions["lines_read"] is not None:
        lines_line = (f"{_fmt_count(transactions['lines_read'])} order lines → "
                      f"{_fmt_count(inputs.get('rows_used'))} customers")
    else:
        lines_line = None

    sampling_notes = _sampling_notes(summary.get("sampling") or {})
    sample_size = len(sample.get("values") or [])
    sample_columns = list(sample.get("columns") or [])

    return {
        "summary": summary,
        "version": summary.get("custseg_version"),
        "source": source,
        "source_kind": _KIND_LABELS.get(source.get("kind"), source.get("kind")),
        "delimiter": _delimiter_label(source.get("delimiter")),
        "reading": _reading_facts(source),
        "not_read": _not_read_rows(inputs, summary.get("transactions")),
        "sentinels": [
            {"column": column, **item}
            for column, items in (inputs.get("sentinels") or {}).items() for item in (items or [])
        ],
        "derived": list((columns.get("derived") or {}).items()),
        "rows_read": inputs.get("rows_read"),
        "rows_used": inputs.get("rows_used"),
        "rows_dropped_total": sum((n or 0) for n in (inputs.get("rows_dropped") or {}).values()),
        "dropped": dropped,
        "cells_fixed": cells_fixed,
        "cells_counted_on": inputs.get("cells_counted_on"),
        "outliers": outliers,
        "columns": columns,
        "excluded": list((columns.get("excluded") or {}).items())
        + list((columns.get("not_clustered") or {}).items()),
        "features": list(summary.get("features") or []),
        "transforms": list(summary.get("transforms") or []),
        "encoded": list((summary.get("encoded") or {}).items()),
        "categorical_weight": summary.get("categorical_weight"),
        "pca": pca_view,
        "candidates": candidates,
        "candidates_total": len(all_candidates),
        "elbow": [(a, k) for a, k in (summary.get("elbow") or {}).items()],
        "chosen": chosen,
        "model_line": model_line,
        "disagreements": list(chosen.get("disagreements") or []),
        "sampling_notes": sampling_notes,
        "segments": segments,
        "n_segments": n_segments,
        "noise": noise[0] if noise else None,
        "sample_size": sample_size,
        "sample_columns": sample_columns,
        "settings": list(settings.items()),
        "command": settings.get("command"),
        "random_state": settings.get("random_state"),
        "has_categorical": any(s["categories"] for s in segments),
        "categories_hidden": len(all_categories) - len(shown_categories),
        "transactions": transactions,
        "lines_line": lines_line,
        "rfm": rfm,
        "glossary": glossary,
        "rfm_grid": [{"r": r, "cells": [{"name": n, "color": _rfm_color(n)} for n in names]} for r, names in RFM_GRID],
        "findings": [str(f) for f in (summary.get("findings") or []) if f],
        "environment": [(str(k), v) for k, v in (summary.get("environment") or {}).items()],
    }


def _segment_view(segment: dict, color: str, summary: dict, category_columns: list[str]) -> dict:
    from .figures import category_levels

    segment_id = int(segment["id"])
    noise = segment_id < 0
    actions = list(segment.get("actions") or [])
    overall_categories = (summary.get("overall") or {}).get("categories") or {}
    categories = []
    for column in category_columns:
        shares = (segment.get("categories") or {}).get(column) or {}
        overall = overall_categories.get(column) or {}
        kept, other = category_levels(summary, column)
        rows = []
        for level in kept:
            rows.append(_category_row(level, shares.get(level), overall.get(level)))
        rows.sort(key=lambda r: -(r["share"] or 0.0))
        if other:
            share = sum(shares.get(level) or 0.0 for level in other)
            base = sum(overall.get(level) or 0.0 for level in other)
            rows.append(_category_row(f"other ({len(other)} levels)", share, base, other=True))
        categories.append({"column": column, "rows": rows})
    profile = [{"column": column, **(stats or {})} for column, stats in (segment.get("profile") or {}).items()]
    profile_total = len(profile)
    if profile_total > MAX_PROFILE_ROWS:
        far = sorted(range(profile_total), key=lambda i: (-abs(profile[i].get("z") or 0.0), i))
        profile = [profile[i] for i in sorted(far[:MAX_PROFILE_ROWS])]
    rules = segment.get("rules") or None
    if rules and rules.get("conditions"):
        rules = {"conditions": [str(c) for c in rules["conditions"]], "precision": rules.get("precision"),
                 "recall": rules.get("recall")}
    else:
        rules = None
    return {
        "id": segment_id,
        "anchor": "segment-noise" if noise else f"segment-{segment_id}",
        "noise": noise,
        "label": "Noise (not assigned)" if noise else f"Segment {segment_id}",
        "name": segment.get("name") or ("Noise" if noise else f"Segment {segment_id}"),
        "size": segment.get("size"),
        "share": segment.get("share"),
        "description": segment.get("description"),
        "stability": segment.get("stability"),
        "stability_label": segment.get("stability_label"),
        "unstable": bool(segment.get("unstable")),
        "color": color,
        "top_features": [_compared(f) for f in segment.get("top_features") or []],
        "categories": categories,
        "profile": profile,
        "profile_total": profile_total,
        "profile_log": any(p.get("log_scale") for p in profile),
        "rules": rules,
        "actions": actions,
        "top_action": actions[0].get("action") if actions else None,
    }


def _compared(item: dict) -> dict:
    """A top feature with the values to compare: medians on a log scale, else means."""
    item = dict(item or {})
    median = bool(item.get("log_scale"))
    item["statistic"] = "median" if median else "mean"
    item["value"] = item.get("median") if median else item.get("mean")
    item["base"] = item.get("overall_median") if median else item.get("overall_mean")
    return item


# --------------------------------------------------------------------------- transactions


def _transactions_view(transactions, source: dict) -> dict | None:
    """Order-line ledger, checks, customer counts, column mapping and join of a transaction run."""
    if not transactions:
        return None
    ledger = transactions.get("ledger") or {}
    lines_read = ledger.get("rows_read")
    dropped = [{"reason": str(r), "rows": n} for r, n in (ledger.get("rows_dropped") or {}).items()]
    checks = [{"name": str(name), "lines": n} for name, n in (transactions.get("checks") or {}).items()]
    customers_dropped = [{"reason": str(r), "customers": n}
                         for r, n in (transactions.get("customers_dropped") or {}).items()]
    cells_fixed = [
        {"reason": reason, "column": column, "cells": cells}
        for reason, by_column in (ledger.get("cells_fixed") or {}).items()
        for column, cells in (by_column or {}).items()
    ]
    mapping_raw = transactions.get("columns") or {}
    mapping = [{"role": label, "column": mapping_raw.get(key)} for key, label in _TRANSACTION_ROLES]
    attributes = [str(a) for a in (mapping_raw.get("attributes") or [])]
    join = source.get("join") or None
    if join:
        join = dict(join)
        join["columns"] = [str(c) for c in (join.get("columns") or [])]
        join["name"] = Path(str(join.get("customers_file") or "")).name or join.get("customers_file")
    return {
        "lines_read": lines_read,
        "lines_used": ledger.get("rows_used"),
        "dropped": dropped,
        "dropped_total": sum((d["rows"] or 0) for d in dropped),
        "cells_fixed": cells_fixed,
        "checks": checks,
        "customers_found": transactions.get("customers_found"),
        "customers_kept": transactions.get("customers_kept"),
        "customers_dropped": customers_dropped,
        "customers_dropped_total": sum((d["customers"] or 0) for d in customers_dropped),
        "as_of": transactions.get("as_of"),
        "date_format": transactions.get("date_format"),
        "mapping": mapping,
        "attributes": attributes,
        "join": join,
    }


def _rfm_color(name) -> str:
    from .figures import rfm_colors

    return rfm_colors([name])[str(name)]


def _rfm_view(summary: dict, segments: list[dict]) -> dict | None:
    """RFM segments in the standard order, the crosswalk as a table, and one sentence reading it."""
    from .figures import rfm_crosswalk, rfm_order

    rfm = summary.get("rfm") or None
    if not rfm:
        return None
    by_name = {str(s.get("name")): s for s in rfm.get("segments") or []}
    rows = []
    for name in rfm_order(summary):
        if name not in by_name:
            continue
        entry = by_name[name]
        median = entry.get("median") or {}
        rows.append({
            "name": name, "color": _rfm_color(name), "size": entry.get("size"), "share": entry.get("share"),
            "description": entry.get("description"), "actions": [str(a) for a in entry.get("actions") or []],
            "recency": median.get("recency_days"), "frequency": median.get("frequency"),
            "monetary": median.get("monetary"),
        })
    crosswalk = None
    sentence = None
    data = rfm_crosswalk(summary)
    if data is not None:
        names, clusters, counts = data
        views = {s["id"]: s for s in segments}
        columns = []
        for cluster in clusters:
            view = views.get(cluster)
            columns.append({
                "id": cluster,
                "name": view["name"] if view else ("Noise" if cluster < 0 else f"Segment {cluster}"),
                "color": view["color"] if view else _segment_color(cluster),
                "anchor": view["anchor"] if view else None,
            })
        table = []
        for i, name in enumerate(names):
            values = [int(v) for v in counts[i]]
            top = max(values) if values else 0
            table.append({"name": name, "color": _rfm_color(name), "counts": values, "total": sum(values),
                          "top": top})
        crosswalk = {
            "columns": columns,
            "rows": table,
            "totals": [int(v) for v in counts.sum(axis=0)],
            "total": int(counts.sum()),
        }
        sentence = _crosswalk_sentence(names, columns, counts)
    return {"segments": rows, "crosswalk": crosswalk, "sentence": sentence,
            "total": sum((r["size"] or 0) for r in rows)}


def _segment_color(segment_id: int) -> str:
    from .figures import segment_colors

    return segment_colors([segment_id])[int(segment_id)]


def _rfm_plural(name: str) -> str:
    """How a sentence names the members of an RFM segment: "Champions", "At Risk customers"."""
    return name if name.endswith("s") else f"{name} customers"


def _crosswalk_sentence(names: list[str], columns: list[dict], counts) -> str | None:
    """One sentence on which cluster holds most of the key RFM segments (Champions, At Risk, Lost).

    Without any of those, the two largest RFM segments are read instead. Clauses are grouped
    by cluster: "“A” holds most Champions (687 of 687, 100%); “B” holds most At Risk customers
    (399 of 584, 68%) and most Lost customers (684 of 684, 100%)."
    """
    totals = [float(sum(row)) for row in counts]
    focus = [n for n in _CROSSWALK_FOCUS if n in names and totals[names.index(n)] > 0]
    if not focus:
        ranked = sorted((i for i in range(len(names)) if totals[i] > 0), key=lambda i: (-totals[i], i))
        focus = [names[i] for i in ranked[:2]]
    if not focus:
        return None
    grouped: dict[int, list[str]] = {}
    for name in focus:
        i = names.index(name)
        row = [float(v) for v in counts[i]]
        j = max(range(len(row)), key=lambda c: (row[c], -c))
        share = row[j] / totals[i]
        amount = "most" if share > 0.5 else "the largest share of"
        grouped.setdefault(j, []).append(
            f"{amount} {_rfm_plural(name)} ({_fmt_count(row[j])} of {_fmt_count(totals[i])}, {share:.0%})"
        )
    parts = []
    for j, clauses in grouped.items():
        listed = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
        parts.append(f"“{columns[j]['name']}” holds {listed}")
    return "; ".join(parts) + "."


def _category_row(level, share, base, *, other: bool = False) -> dict:
    diff = None if share is None or base is None else share - base
    return {"level": level, "share": share, "overall": base, "diff": diff, "other": other}


_METRICS = (("silhouette", max), ("calinski_harabasz", max), ("davies_bouldin", min))


def _candidate_rows(candidates: list, chosen: dict) -> list[dict]:
    order = {"kmeans": 0, "hierarchical": 1, "gmm": 2, "hdbscan": 3, "dbscan": 4}
    rows = sorted(
        (dict(c) for c in candidates),
        key=lambda c: (order.get(c.get("algorithm"), 3), str(c.get("algorithm")), c.get("k") or 0,
                       str(sorted((c.get("params") or {}).items()))),
    )
    best = {}
    for metric, pick in _METRICS:
        values = [r[metric] for r in rows if r.get(metric) is not None]
        best[metric] = pick(values) if values else None
    chosen_marked = False
    for row in rows:
        row["params_text"] = ", ".join(f"{k}={_fmt_num(v)}" for k, v in (row.get("params") or {}).items())
        row["best"] = {m for m, _ in _METRICS if best[m] is not None and row.get(m) == best[m]}
        is_chosen = (
            not chosen_marked
            and bool(chosen)
            and row.get("algorithm") == chosen.get("algorithm")
            and row.get("k") == chosen.get("k")
            and (chosen.get("params") is None or chosen.get("params") == row.get("params"))
        )
        row["chosen"] = is_chosen
        chosen_marked = chosen_marked or is_chosen
    return rows


def _capped_candidates(rows: list[dict]) -> list[dict]:
    """At most `MAX_CANDIDATE_ROWS` rows: the chosen, the best by each criterion, then by silhouette."""
    if len(rows) <= MAX_CANDIDATE_ROWS:
        return rows
    priority = sorted(
        range(len(rows)),
        key=lambda i: (not rows[i]["chosen"], not rows[i]["best"],
                       -(rows[i].get("silhouette") if rows[i].get("silhouette") is not None else -2.0), i),
    )
    return [rows[i] for i in sorted(priority[:MAX_CANDIDATE_ROWS])]


def _sampling_notes(sampling: dict) -> list[str]:
    notes = []
    silhouette = sampling.get("silhouette") or {}
    if silhouette.get("used"):
        notes.append(
            f"The silhouette was estimated on a stratified sample of {_fmt_count(silhouette.get('sample_size'))} "
            f"customers, because there are more than {_fmt_count(silhouette.get('threshold'))}."
        )
    hierarchical = sampling.get("hierarchical") or {}
    if hierarchical.get("used"):
        notes.append(
            f"Hierarchical (Ward) clustering ran on {_fmt_count(hierarchical.get('micro_clusters'))} weighted "
            f"K-Means micro-clusters instead of on every customer, because there are more than "
            f"{_fmt_count(hierarchical.get('threshold'))}; each customer takes its micro-cluster's segment."
        )
    fit = sampling.get("fit") or {}
    if fit.get("used"):
        notes.append(
            f"K-Means centres (and the Ward micro-clusters) were fitted on a sample of "
            f"{_fmt_count(fit.get('sample_size'))} customers, because there are more than "
            f"{_fmt_count(fit.get('threshold'))}; every customer was then assigned to the nearest centre "
            f"and every score uses all customers."
        )
    driver = sampling.get("driver") or {}
    if driver.get("used"):
        notes.append(
            f"On Spark, {_fmt_count(driver.get('customers'))} customers: the segments were fitted and profiled on "
            f"a seeded sample of {_fmt_count(driver.get('sample_size'))} brought to the driver; every customer "
            f"was then put into a segment on Spark, and the sizes, the ledger and the RFM segments count them all."
        )
    dbscan = sampling.get("dbscan") or {}
    if dbscan.get("used"):
        notes.append(
            f"DBSCAN was fitted on a sample of {_fmt_count(dbscan.get('sample_size'))} customers, because there "
            f"are more than {_fmt_count(dbscan.get('threshold'))}; the others take the segment of their "
            f"nearest core customer."
        )
    return notes


# --------------------------------------------------------------------------- formatting


def _fmt_count(value) -> str:
    if value is None:
        return "–"
    try:
        return f"{int(round(float(value))):,}"
    except (TypeError, ValueError):
        return str(value)


def _fmt_num(value) -> str:
    """A number with as many decimals as its size deserves (trailing zeros dropped)."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value != value:  # NaN
        return "–"
    size = abs(value)
    decimals = 0 if size >= 1000 else 1 if size >= 100 else 2 if size >= 1 else 3
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fmt_money(value) -> str:
    """An amount of money: whole units from 100 up (``3,542``), else two decimals (``42.50``)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return _fmt_num(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def _fmt_fixed(value, decimals: int = 3) -> str:
    if value is None:
        return "–"
    try:
        return f"{float(value):,.{decimals}f}"
    except (TypeError, ValueError):
        return str(value)


def _fmt_pct(value, decimals: int = 1) -> str:
    if value is None:
        return "–"
    try:
        return f"{float(value):.{decimals}%}"
    except (TypeError, ValueError):
        return str(value)


def _fmt_part(count, total) -> str:
    """``count`` as a share of ``total``: "24.9%", "<0.1%" for a few lines out of many, "–" if unknown."""
    if count is None or not total:
        return "–"
    share = float(count) / float(total)
    if 0 < share < 0.0005:
        return "<0.1%"
    return _fmt_pct(share)


def _fmt_signed(value, decimals: int = 2) -> str:
    if value is None:
        return "–"
    try:
        return f"{float(value):+.{decimals}f}".replace("-", "−")
    except (TypeError, ValueError):
        return str(value)


def _fmt_setting(value) -> str:
    if value is None:
        return "auto / none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) if value else "(none)"
    if isinstance(value, float):
        return _fmt_num(value)
    return str(value)


_OPERATORS = ((" <= ", " ≤ "), (" >= ", " ≥ "), (" != ", " ≠ "))


def _fmt_condition(condition) -> str:
    """A rule condition with typographic comparison signs (``a <= 3`` -> ``a ≤ 3``).

    Only the operator that separates the column from the threshold (the last one) changes,
    so a column name that itself holds ``<=`` is left alone.
    """
    text = str(condition)
    best = max(((text.rfind(old), old, new) for old, new in _OPERATORS), default=(-1, "", ""))
    position, old, new = best
    if position < 0:
        return text
    return text[:position] + new + text[position + len(old):]


def _algorithm_label(algorithm) -> str:
    from .figures import algorithm_label

    return algorithm_label(algorithm)


_LAYOUT_LABELS = {"whitespace": "whitespace-aligned columns", "fixed-width": "fixed-width columns"}


def _reading_facts(source: dict) -> list[dict]:
    """How the file was read, where that is worth saying: archive member, sheets stacked,
    a text layout other than delimited, a missing header row."""
    facts = []
    if source.get("member"):
        facts.append({"label": "Archive member", "value": str(source["member"])})
    sheets = source.get("sheets") or []
    if len(sheets) > 1:
        column = source.get("sheet_column") or "sheet"
        facts.append({"label": "Sheets read",
                      "value": f"{', '.join(map(str, sheets))} (stacked; each row's sheet in column {column})"})
    elif sheets:
        facts.append({"label": "Sheet read", "value": str(sheets[0])})
    if source.get("layout") in _LAYOUT_LABELS:
        facts.append({"label": "Layout", "value": _LAYOUT_LABELS[source["layout"]]})
    if source.get("header") is False:
        facts.append({"label": "Header row", "value": "none found: columns named column_1, column_2, ..."})
    return facts


def _not_read_rows(inputs: dict, transactions) -> list[dict]:
    """Parts of the file not read (sheets), with their rows and why."""
    items = inputs.get("not_read") or ((transactions or {}).get("ledger") or {}).get("not_read") or []
    return [{"sheet": str(i.get("sheet")), "rows": i.get("rows"), "reason": str(i.get("reason") or "")}
            for i in items]


def _delimiter_label(delimiter) -> str | None:
    names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space"}
    if delimiter is None:
        return None
    return f"{names[delimiter]} ({delimiter!r})" if delimiter in names else repr(delimiter)


def _png_size(png: bytes) -> tuple[int, int]:
    width, height = struct.unpack(">II", png[16:24])
    return width, height


# --------------------------------------------------------------------------- segments over time

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
    from markupsafe import Markup, escape

    from . import figures as plots

    figures = {}
    for key, function in plots.TRACK_FIGURES:
        fig = function(summary)
        if fig is None:
            figures[key] = None
            continue
        png = plots.figure_to_png(fig)
        width, height = _png_size(png)
        figures[key] = Markup(
            f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
            f'width="{width}" height="{height}" style="--w: {width}px" '
            f'alt="{escape(_TRACK_FIGURE_TEXT[key][1])}" data-test="figure-{escape(key)}">'
        )
    context = _track_context(summary)
    context["figures"] = figures
    context["figure_titles"] = {key: text[0] for key, text in _TRACK_FIGURE_TEXT.items()}
    return _environment().get_template(_TRACK_TEMPLATE).render(**context)


def write_track_report(summary: dict, path) -> Path:
    """Render the ``custseg track`` page and write it to ``path`` atomically; return the path."""
    from ..outputs import write_atomic

    return write_atomic(path, render_track_report(summary))


def track_summary_html(summary: dict) -> str:
    """A short HTML block of a tracking result, for Jupyter: the verdict and each segment's change."""
    return _environment().from_string(_TRACK_SUMMARY_TEMPLATE).render(**_track_context(summary))


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
    from .figures import NEW_GONE_COLOR, rfm_colors, segment_colors

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
        "algorithm": _algorithm_label(model.get("algorithm")) if model.get("algorithm") else None,
        "before": before,
        "after": after,
        "data_name": source.get("name"),
        "counts": tracking.get("customers") or {},
        "sizes": sizes,
        "rfm_sizes": rfm_sizes,
        "moves": [m for m in tracking.get("moves") or [] if m.get("sentence")],
        "drift": drift,
        "drift_rows": drift_rows,
        "refit": drift.get("refit"),
        "verdict": verdict,
        "refit_recommended": bool(verdict) and str(verdict).startswith("refit recommended"),
        "left_out": [{"reason": r, "rows": n} for r, n in (after.get("left_out") or {}).items()],
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
