"""The values the run report's templates show, derived from the summary only (no escaping here).

`report_context` puts together one builder per part of the page: the source and how it was
read, data & quality, features, choosing the segmentation, the segments and their cards, the
transaction log and its RFM segments, and the run itself.
"""

from __future__ import annotations

from pathlib import Path

from ..preparing.clean import repeated_ids_text
from ..segmenting.candidates import ALGORITHM_ORDER
from .figures.columns import category_columns, category_levels
from .figures.data import ordered_segments
from .figures.rfm import rfm_crosswalk, rfm_order
from .figures.style import algorithm_label, rfm_colors, segment_colors
from .formats import format_count, format_number, format_setting
from .value_context import value_view

__all__ = ["MAX_CANDIDATE_ROWS", "MAX_PROFILE_ROWS", "RFM_GRID", "report_context"]

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


def report_context(summary: dict) -> dict:
    """Plain values for the run report's templates, derived from the summary only (no escaping here).

    Examples
    --------
    >>> context = report_context({"chosen": {"algorithm": "kmeans", "k": 3}})
    >>> context["model_line"], context["segments"], context["rfm"]
    ('K-Means with k = 3', [], None)
    """
    summary = summary or {}
    segments, categories_hidden = _segment_views(summary)
    return {
        "summary": summary,
        **_source_section(summary),
        **_quality_section(summary),
        **_features_section(summary),
        **_choice_section(summary, segments),
        **_segments_section(summary, segments, categories_hidden),
        **_transactions_section(summary, segments),
        "value": value_view(summary, segments),
        **_run_section(summary),
    }


def _segment_views(summary: dict) -> tuple[list[dict], int]:
    """(the segments' cards in report order, noise last; categorical columns not shown on them)."""
    ordered = ordered_segments(summary)
    colors = segment_colors(s["id"] for s in ordered)
    shown_categories, all_categories = category_columns(summary)
    views = [_segment_view(s, colors[int(s["id"])], summary, shown_categories) for s in ordered]
    return views, len(all_categories) - len(shown_categories)


def _source_section(summary: dict) -> dict:
    """The file read and how: kind, delimiter, archive member or sheets, parts not read."""
    source = summary.get("source") or {}
    return {
        "version": summary.get("custseg_version"),
        "source": source,
        "source_kind": _KIND_LABELS.get(source.get("kind"), source.get("kind")),
        "delimiter": _delimiter_label(source.get("delimiter")),
        "reading": _reading_facts(source),
        "not_read": _not_read_rows(summary.get("input") or {}, summary.get("transactions")),
    }


def _quality_section(summary: dict) -> dict:
    """Data & quality: rows read, used and dropped, cells fixed, sentinels, outliers, columns."""
    inputs = summary.get("input") or {}
    columns = summary.get("columns") or {}
    return {
        "sentinels": [
            {"column": column, **item}
            for column, items in (inputs.get("sentinels") or {}).items() for item in (items or [])
        ],
        "derived": list((columns.get("derived") or {}).items()),
        "rows_read": inputs.get("rows_read"),
        "rows_used": inputs.get("rows_used"),
        "rows_dropped_total": sum((n or 0) for n in (inputs.get("rows_dropped") or {}).values()),
        "dropped": [{"reason": r, "rows": n} for r, n in (inputs.get("rows_dropped") or {}).items()],
        "cells_fixed": _cells_fixed(inputs),
        "cells_counted_on": inputs.get("cells_counted_on"),
        "repeated_ids": repeated_ids_text(inputs) if inputs else None,
        "outliers": [{"column": column, **(info or {})} for column, info in (inputs.get("outliers") or {}).items()],
        "columns": columns,
        "excluded": list((columns.get("excluded") or {}).items())
        + list((columns.get("not_clustered") or {}).items()),
    }


def _cells_fixed(block: dict) -> list[dict]:
    """Rows of a "cells fixed" table: reason, column, cells (from ``input`` or a ledger)."""
    return [
        {"reason": reason, "column": column, "cells": cells}
        for reason, by_column in (block.get("cells_fixed") or {}).items()
        for column, cells in (by_column or {}).items()
    ]


def _features_section(summary: dict) -> dict:
    """Features: those clustered on, their transforms and encodings, and the PCA."""
    return {
        "features": list(summary.get("features") or []),
        "transforms": list(summary.get("transforms") or []),
        "encoded": list((summary.get("encoded") or {}).items()),
        "categorical_weight": summary.get("categorical_weight"),
        "pca": _pca_view(summary.get("pca")),
    }


def _pca_view(pca) -> dict | None:
    """The PCA's variance explained (each and cumulative) and its loadings as a table, or None."""
    if not pca:
        return None
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
    return {
        "components": pca.get("components") or len(ratios),
        "variance": [{"name": f"PC{i + 1}", "ratio": r, "cumulative": c}
                     for i, (r, c) in enumerate(zip(ratios, cumulative))],
        "loading_columns": loading_columns,
        "loadings": [{"name": name, "values": [(weights or {}).get(c) for c in loading_columns]}
                     for name, weights in loadings.items()],
    }


def _choice_section(summary: dict, segments: list[dict]) -> dict:
    """Choosing the segmentation: the candidates table, the chosen model and why, sampling notes."""
    chosen = dict(summary.get("chosen") or {})
    all_candidates = _candidate_rows(summary.get("candidates") or [], chosen)
    return {
        "candidates": _capped_candidates(all_candidates),
        "candidates_total": len(all_candidates),
        "elbow": [(a, k) for a, k in (summary.get("elbow") or {}).items()],
        "chosen": chosen,
        "model_line": _model_line(chosen, sum(1 for s in segments if not s["noise"])),
        "disagreements": list(chosen.get("disagreements") or []),
        "sampling_notes": _sampling_notes(summary.get("sampling") or {}),
    }


def _model_line(chosen: dict, n_segments: int) -> str:
    """The chosen model in a few words: "K-Means with k = 4", "HDBSCAN, 5 segments"."""
    algorithm = chosen.get("algorithm")
    if not algorithm:
        return f"{n_segments} segments"
    if algorithm not in ("dbscan", "hdbscan") and chosen.get("k") is not None:
        return f"{algorithm_label(algorithm)} with k = {chosen.get('k')}"
    return f"{algorithm_label(algorithm)}, {n_segments or chosen.get('k')} segments"


def _segments_section(summary: dict, segments: list[dict], categories_hidden: int) -> dict:
    """The segments and their cards, and the plot sample the figures were drawn from."""
    sample = (summary.get("plot_data") or {}).get("sample") or {}
    noise = [s for s in segments if s["noise"]]
    return {
        "segments": segments,
        "n_segments": sum(1 for s in segments if not s["noise"]),
        "noise": noise[0] if noise else None,
        "sample_size": len(sample.get("values") or []),
        "sample_columns": list(sample.get("columns") or []),
        "has_categorical": any(s["categories"] for s in segments),
        "categories_hidden": categories_hidden,
    }


def _transactions_section(summary: dict, segments: list[dict]) -> dict:
    """A transaction log's ledger, the meaning of its features, and its RFM segments (None for a table)."""
    transactions = _transactions_view(summary.get("transactions"), summary.get("source") or {})
    rows_used = (summary.get("input") or {}).get("rows_used")
    numeric_columns = list((summary.get("columns") or {}).get("numeric") or [])
    if transactions and rows_used is not None and transactions["lines_read"] is not None:
        lines_line = f"{format_count(transactions['lines_read'])} order lines → {format_count(rows_used)} customers"
    else:
        lines_line = None
    return {
        "transactions": transactions,
        "lines_line": lines_line,
        "rfm": _rfm_view(summary, segments),
        "glossary": [{"column": c, "meaning": _FEATURE_GLOSSARY[c]} for c in numeric_columns
                     if transactions and c in _FEATURE_GLOSSARY],
        "rfm_grid": [{"r": r, "cells": [{"name": n, "color": _rfm_color(n)} for n in names]} for r, names in RFM_GRID],
    }


def _run_section(summary: dict) -> dict:
    """Reproducibility and findings: settings, command, seed, findings, environment.

    Each setting shows the value used: the run's own where it derived one (``4 (derived
    from 10)``), and ``(given)`` after the names the user gave (summaries that record them).

    Examples
    --------
    >>> run = _run_section({"settings": {"k_max": 10, "kind": "auto"}, "settings_given": ["kind"],
    ...                     "settings_derived": {"k_max": 4}})
    >>> run["settings"]
    [('k_max', '4 (derived from 10)'), ('kind (given)', 'auto')]
    """
    settings = summary.get("settings") or {}
    given = set(summary.get("settings_given") or ())
    derived = summary.get("settings_derived") or {}
    rows = []
    for name, value in settings.items():
        if name in derived and derived[name] != value:
            value = f"{format_setting(derived[name])} (derived from {format_setting(value)})"
        rows.append((f"{name} (given)" if name in given else name, value))
    return {
        "settings": rows,
        "command": settings.get("command"),
        "random_state": settings.get("random_state"),
        "findings": [str(f) for f in (summary.get("findings") or []) if f],
        "environment": [(str(k), v) for k, v in (summary.get("environment") or {}).items()],
    }


def _segment_view(segment: dict, color: str, summary: dict, shown_columns: list[str]) -> dict:
    """One segment's card: name, size, stability, top features, categories, profile, rules, actions."""
    segment_id = int(segment["id"])
    noise = segment_id < 0
    actions = list(segment.get("actions") or [])
    overall_categories = (summary.get("overall") or {}).get("categories") or {}
    categories = []
    for column in shown_columns:
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
        "cells_fixed": _cells_fixed(ledger),
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
    return rfm_colors([name])[str(name)]


def _rfm_view(summary: dict, segments: list[dict]) -> dict | None:
    """RFM segments in the standard order, the crosswalk as a table, and one sentence reading it."""
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
            f"{amount} {_rfm_plural(name)} ({format_count(row[j])} of {format_count(totals[i])}, {share:.0%})"
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
    rows = sorted(
        (dict(c) for c in candidates),
        key=lambda c: (ALGORITHM_ORDER.get(c.get("algorithm"), 3), str(c.get("algorithm")), c.get("k") or 0,
                       str(sorted((c.get("params") or {}).items()))),
    )
    best = {}
    for metric, pick in _METRICS:
        values = [r[metric] for r in rows if r.get(metric) is not None]
        best[metric] = pick(values) if values else None
    chosen_marked = False
    for row in rows:
        row["params_text"] = ", ".join(f"{k}={format_number(v)}" for k, v in (row.get("params") or {}).items())
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
            f"The silhouette was estimated on a stratified sample of {format_count(silhouette.get('sample_size'))} "
            f"customers, because there are more than {format_count(silhouette.get('threshold'))}."
        )
    hierarchical = sampling.get("hierarchical") or {}
    if hierarchical.get("used"):
        notes.append(
            f"Hierarchical (Ward) clustering ran on {format_count(hierarchical.get('micro_clusters'))} weighted "
            f"K-Means micro-clusters instead of on every customer, because there are more than "
            f"{format_count(hierarchical.get('threshold'))}; each customer takes its micro-cluster's segment."
        )
    fit = sampling.get("fit") or {}
    if fit.get("used"):
        notes.append(
            f"K-Means centres (and the Ward micro-clusters) were fitted on a sample of "
            f"{format_count(fit.get('sample_size'))} customers, because there are more than "
            f"{format_count(fit.get('threshold'))}; every customer was then assigned to the nearest centre "
            f"and every score uses all customers."
        )
    driver = sampling.get("driver") or {}
    if driver.get("used"):
        notes.append(
            f"On Spark, {format_count(driver.get('customers'))} customers: the segments were fitted and profiled on "
            f"a seeded sample of {format_count(driver.get('sample_size'))} brought to the driver; every customer "
            f"was then put into a segment on Spark, and the sizes, the ledger and the RFM segments count them all."
        )
    dbscan = sampling.get("dbscan") or {}
    if dbscan.get("used"):
        notes.append(
            f"DBSCAN was fitted on a sample of {format_count(dbscan.get('sample_size'))} customers, because there "
            f"are more than {format_count(dbscan.get('threshold'))}; the others take the segment of their "
            f"nearest core customer."
        )
    return notes


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
