"""Tests for custseg.reporting.report and custseg.reporting.figures, on a realistic fake summary.

`make_summary` follows docs/summary.md exactly: 3 segments plus a DBSCAN noise segment (-1),
K-Means and hierarchical candidates for k = 2..5 plus one DBSCAN candidate, a SciPy Ward
linkage on 40 micro-clusters, a k-distance curve, per-customer silhouettes and a sample of 300
customers. Column names and category values can be hostile HTML.
"""

from __future__ import annotations

import base64
import copy
import html
import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser

import markupsafe
import numpy as np
import pytest

from custseg.reporting import context, drawing, figures as plots, report
from custseg.reporting.figures.labels import wrap_label
from custseg.reporting.formats import format_condition, format_number
from custseg.segmenting.stability import stability_word

XSS_COLUMN = "<img src=x onerror=alert(1)>"
XSS_VALUE = "<script>alert(1)</script>"
SECTION_IDS = (
    "summary", "data-quality", "exploration", "features", "model-selection", "segments",
    "segment-details", "reproducibility",
)
#: Figures of a customer-table run (transaction runs add the RFM and customer value figures).
ALL_FIGURES = [key for key, _ in plots.FIGURES if key not in plots.RFM_FIGURES + plots.VALUE_FIGURES]
#: Segment stabilities of the fixture: highly stable, stable, unstable.
STABILITY = {0: 0.93, 1: 0.78, 2: 0.52}
FINDINGS = [
    "Young high spenders (37% of customers) spend 2.3 SD above average: protect them.",
    "60 customers (5%) fit no segment & need a look by hand.",
]
RULES = {
    0: {"conditions": ["Annual Income (k$) > 70.5", "Spending Score (1-100) > 60.5"], "precision": 0.97,
        "recall": 0.95},
    1: {"conditions": [f"{XSS_COLUMN} <= 6.5", "Age >= 45.5"], "precision": 0.81, "recall": 0.9},
    2: None,
}
NEW_KEYS_FIGURES = ("pairs", "scree", "loadings", "profile_lines", "categories")


# --------------------------------------------------------------------------- fake summary


def _round(value):
    """Round floats to 6 significant digits and turn NumPy scalars into plain Python."""
    if isinstance(value, dict):
        return {str(k): _round(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    if isinstance(value, np.ndarray):
        return _round(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(f"{float(value):.6g}")
    return value


def _silhouette(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    distances = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    out = np.zeros(len(x))
    for i in range(len(x)):
        own = labels == labels[i]
        own_count = own.sum() - 1
        a = distances[i, own].sum() / own_count if own_count else 0.0
        b = min(distances[i, labels == other].mean() for other in np.unique(labels) if other != labels[i])
        out[i] = (b - a) / max(a, b) if own_count else 0.0
    return out


def make_summary(*, hostile: bool = True, seed: int = 0) -> dict:
    """A realistic run summary shaped exactly as docs/summary.md describes."""
    from scipy.cluster.hierarchy import linkage

    rng = np.random.default_rng(seed)
    extra = XSS_COLUMN if hostile else "Visits per month"
    app = XSS_VALUE if hostile else "app"
    numeric = ["Age", "Annual Income (k$)", "Spending Score (1-100)", extra]
    centres = {0: [27, 82, 79, 11], 1: [54, 58, 24, 4], 2: [38, 31, 56, 8]}
    spread = np.array([5.0, 11.0, 9.0, 2.0])
    names = {0: "Young high spenders", 1: "Older careful savers",
             2: "Budget regulars & bargain hunters", -1: "Unusual customers (noise)"}
    sizes = {0: 440, 1: 380, 2: 320, -1: 60}
    in_sample = {0: 110, 1: 95, 2: 80, -1: 15}

    blocks, ids = [], []
    for segment_id, count in in_sample.items():
        if segment_id < 0:
            block = rng.uniform([18, 10, 1, 0], [75, 150, 100, 20], size=(count, 4))
        else:
            block = np.asarray(centres[segment_id]) + spread * rng.normal(size=(count, 4))
        blocks.append(block)
        ids += [segment_id] * count
    order = rng.permutation(len(ids))
    values = np.vstack(blocks)[order]
    values = np.clip(values, [18, 10, 1, 0], [80, 150, 100, 25])
    values[:, 0] = np.round(values[:, 0])
    values[:, 1:] = np.round(values[:, 1:], 1)
    segment = np.asarray(ids)[order]

    genre_p = {0: 0.62, 1: 0.41, 2: 0.55, -1: 0.5}
    channel_p = {0: [0.6, 0.1, 0.3], 1: [0.1, 0.7, 0.2], 2: [0.3, 0.3, 0.4], -1: [1 / 3] * 3}
    genre = [("Female" if rng.random() < genre_p[s] else "Male") for s in segment]
    channel = [str(rng.choice([app, "store", "web"], p=channel_p[s])) for s in segment]

    mean, sd = values.mean(0), values.std(0)
    scaled = (values - mean) / sd
    _u, singular, vt = np.linalg.svd(scaled, full_matrices=False)
    explained = singular**2 / (singular**2).sum()
    coords = scaled @ vt[:2].T

    assigned = segment >= 0
    silhouette = _silhouette(scaled[assigned], segment[assigned])
    pairwise = np.sqrt(((scaled[:, None, :] - scaled[None, :, :]) ** 2).sum(-1))
    k_distances = np.sort(np.sort(pairwise, axis=1)[:, 6])
    eps = float(np.quantile(k_distances, 0.95))

    micro = rng.normal(size=(40, 2)) + np.repeat(rng.normal(scale=4, size=(3, 2)), [14, 14, 12], axis=0)
    leaf_counts = rng.multinomial(1200 - 40, np.full(40, 1 / 40)) + 1

    def shares(labels):
        levels, counts = np.unique(np.asarray(labels), return_counts=True)
        return {str(level): count / counts.sum() for level, count in zip(levels, counts)}

    segments = []
    actions = {
        0: [{"action": "Invite to the loyalty programme's top tier",
             "reason": "spending score 2.3 SD above average"},
            {"action": "Early access to new collections", "reason": "young (27 vs 40) and high income"}],
        1: [{"action": "Personalised offers on essentials", "reason": "spending score 1.5 SD below average "
             "despite average income"}],
        2: [{"action": "Bundle deals & price-drop alerts", "reason": "income 1.2 SD below average"}],
        -1: [{"action": "Review by hand before targeting", "reason": "customers that fit no segment"}],
    }
    for segment_id in (0, 1, 2, -1):
        mask = segment == segment_id
        profile, tops = {}, []
        for j, column in enumerate(numeric):
            seg_mean = float(values[mask, j].mean())
            z = (seg_mean - mean[j]) / sd[j]
            profile[column] = {"mean": seg_mean, "median": float(np.median(values[mask, j])),
                               "overall_mean": float(mean[j]), "overall_median": float(np.median(values[:, j])),
                               "z": z, "lift": seg_mean / mean[j]}
            tops.append({"feature": column, "z": z, "mean": seg_mean, "overall_mean": float(mean[j])})
        tops.sort(key=lambda t: -abs(t["z"]))
        share = sizes[segment_id] / 1200
        top = tops[0]
        segments.append({
            "id": segment_id, "name": names[segment_id], "size": sizes[segment_id], "share": share,
            "description": (f"{sizes[segment_id]:,} customers ({share:.1%}): {top['feature']} "
                            f"{abs(top['z']):.1f} SD {'above' if top['z'] > 0 else 'below'} average "
                            f"({top['mean']:.1f} vs {top['overall_mean']:.1f})."),
            "profile": profile,
            "categories": {"Genre": shares([g for g, m in zip(genre, mask) if m]),
                           "Channel": shares([c for c, m in zip(channel, mask) if m])},
            "top_features": tops[:3],
            "rules": RULES.get(segment_id),
            "actions": actions[segment_id],
            "stability": STABILITY.get(segment_id),
            "stability_label": stability_word(STABILITY.get(segment_id)),
            "unstable": STABILITY.get(segment_id, 1.0) < 0.6,
        })

    candidates = []
    sil = {"kmeans": [0.41, 0.521, 0.463, 0.402], "hierarchical": [0.398, 0.507, 0.471, 0.388]}
    ch = {"kmeans": [402.1, 598.1, 571.4, 530.2], "hierarchical": [388.5, 580.7, 612.3, 521.0]}
    db = {"kmeans": [0.93, 0.68, 0.79, 0.86], "hierarchical": [0.96, 0.71, 0.75, 0.9]}
    for algorithm in ("kmeans", "hierarchical"):
        for i, k in enumerate(range(2, 6)):
            candidates.append({
                "algorithm": algorithm, "k": k,
                "params": {"n_init": 4} if algorithm == "kmeans" else {"linkage": "ward"},
                "inertia": 3600.0 / k**1.35 * (1.04 if algorithm == "hierarchical" else 1.0),
                "silhouette": sil[algorithm][i], "calinski_harabasz": ch[algorithm][i],
                "davies_bouldin": db[algorithm][i], "noise_share": 0.0,
                "smallest_share": [0.41, 0.267, 0.18, 0.12][i],
            })
    candidates.append({
        "algorithm": "dbscan", "k": 3, "params": {"eps": eps, "min_samples": 6}, "inertia": None,
        "silhouette": 0.548, "calinski_harabasz": 575.9, "davies_bouldin": 0.66,
        "noise_share": 0.05, "smallest_share": 0.267,
    })

    summary = {
        "custseg_version": "0.1.0",
        "environment": {"python": "3.11.7", "numpy": "2.4.6", "pandas": "2.2.3", "scikit-learn": "1.6.1",
                        "scipy": "1.15.2", "matplotlib": "3.10.1"},
        "source": {"path": "data/mall_customers.csv", "name": "mall_customers.csv", "format": "csv",
                   "kind": "customers", "encoding": "utf-8", "delimiter": ","},
        "settings": {
            "id_col": None, "features": None, "exclude": ["Notes"], "missing": "impute", "outliers": "clip",
            "pca": "auto", "algorithms": ["kmeans", "hierarchical", "dbscan"], "k_min": 2, "k_max": 5,
            "random_state": 0, "n_init": 4, "silhouette_sample": 4000, "ward_exact_max": 1000,
            "ward_micro_clusters": 40, "dbscan_sample": 10000, "report": True,
            "command": "custseg run data/mall_customers.csv --k 2..5",
        },
        "input": {
            "rows_read": 1250, "rows_used": 1200,
            "rows_dropped": {"duplicate id": 38, "missing id": 12},
            "cells_fixed": {"missing value imputed": {"Age": 7, extra: 3},
                            "unparseable value imputed": {"Annual Income (k$)": 2}},
            "outliers": {"Annual Income (k$)": {"count": 9, "low": 5.0, "high": 141.5, "action": "clip"}},
        },
        "columns": {
            "id": "CustomerID", "id_name": "CustomerID", "numeric": numeric,
            "categorical": ["Genre", "Channel"],
            "excluded": {"Notes": "free text (1,180 distinct values)", "Email": "identifier (every value distinct)"},
        },
        "features": numeric + ["Channel"],
        "transforms": [{"column": c, "log": c == "Annual Income (k$)", "center": float(mean[j]),
                        "scale": float(sd[j])} for j, c in enumerate(numeric)],
        "encoded": {"Channel": sorted([app, "store", "web"])},
        "pca": {"components": 3, "explained_variance_ratio": explained[:3].tolist(),
                "loadings": {f"PC{i + 1}": {c: float(vt[i, j]) for j, c in enumerate(numeric)}
                             for i in range(3)}},
        "candidates": candidates,
        "elbow": {"kmeans": 3, "hierarchical": 3},
        "chosen": {
            "algorithm": "dbscan", "k": 3, "silhouette": 0.548,
            "reason": ("DBSCAN found 3 dense segments and left 60 customers (5.0%) as noise; its "
                       "silhouette 0.548 is the highest of all candidates (K-Means k = 3: 0.521), and "
                       "its smallest segment still holds 26.7% of customers."),
            "disagreements": ["Calinski-Harabasz prefers hierarchical k=4 (612.3 vs 575.9).",
                              "Davies-Bouldin prefers kmeans k=3 (0.68 vs 0.66 is close)."],
        },
        "sampling": {"silhouette": {"used": False, "sample_size": 1200, "threshold": 4000},
                     "hierarchical": {"used": True, "micro_clusters": 40, "threshold": 1000},
                     "dbscan": {"used": False, "sample_size": 1200, "threshold": 10000}},
        "findings": FINDINGS,
        "segments": segments,
        "overall": {"categories": {"Genre": shares(genre), "Channel": shares(channel)}},
        "plot_data": {
            "sample": {"columns": numeric, "values": values.tolist(),
                       "categorical": {"Genre": genre, "Channel": channel},
                       "segment": segment.tolist(), "map": coords.tolist(),
                       "map_explained": explained[:2].tolist()},
            "dendrogram": {"linkage": linkage(micro, "ward").tolist(), "leaf_counts": leaf_counts.tolist()},
            "k_distance": {"distances": k_distances.tolist(), "eps": eps, "min_samples": 6},
            "silhouette": {"segment": segment[assigned].tolist(), "value": silhouette.tolist()},
        },
    }
    return json.loads(json.dumps(_round(summary)))


# --------------------------------------------------------------------------- helpers


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.hrefs: list[str] = []
        self.tags: list[str] = []
        self.attr_values: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.hrefs.append(attrs["href"])
        self.attr_values += [v for v in attrs.values() if v]


def _escaped(text: str) -> str:
    """``text`` as Jinja's autoescape writes it."""
    return str(markupsafe.escape(text))


def _parse(text: str) -> _Collector:
    collector = _Collector()
    collector.feed(text)
    return collector


def _cards(text: str) -> dict[int, str]:
    found = re.findall(r'<article class="card"[^>]*data-segment-id="(-?\d+)"[^>]*>(.*?)</article>', text, re.S)
    return {int(segment_id): body for segment_id, body in found}


@pytest.fixture(scope="module")
def summary():
    return make_summary()


@pytest.fixture(scope="module")
def rendered(summary):
    return report.render_report(summary)


# --------------------------------------------------------------------------- tests


def test_make_summary_follows_the_contract(summary):
    assert set(summary) >= {
        "custseg_version", "source", "settings", "input", "columns", "features", "transforms", "encoded",
        "pca", "candidates", "elbow", "chosen", "sampling", "segments", "overall", "plot_data",
    }
    assert [s["id"] for s in summary["segments"]] == [0, 1, 2, -1]
    assert sum(s["size"] for s in summary["segments"]) == summary["input"]["rows_used"]
    assert len(summary["plot_data"]["sample"]["values"]) == 300
    assert len(summary["plot_data"]["dendrogram"]["linkage"]) == 39


def test_every_section_is_present_and_every_toc_link_has_a_target(rendered):
    parsed = _parse(rendered)
    for section in SECTION_IDS:
        assert section in parsed.ids, section
        assert f'data-test="section-{section}"' in rendered
    assert len(parsed.ids) == len(set(parsed.ids)), "duplicate ids"
    internal = [h for h in parsed.hrefs if h.startswith("#")]
    assert {f"#{s}" for s in SECTION_IDS} <= set(internal)
    for href in internal:
        assert href[1:] in parsed.ids, f"TOC link {href} has no target"


def test_one_card_per_segment_with_name_and_size(rendered, summary):
    cards = _cards(rendered)
    assert sorted(cards) == sorted(s["id"] for s in summary["segments"])
    for segment in summary["segments"]:
        body = cards[segment["id"]]
        assert _escaped(segment["name"]) in body
        assert f"{segment['size']:,}" in body
        assert f"{segment['share']:.1%}" in body
        for action in segment["actions"]:
            assert _escaped(action["action"]) in body
    assert 'id="segment-noise"' in rendered


def test_chosen_candidate_is_highlighted_once(rendered):
    rows = re.findall(r'<tr class="chosen" data-test="chosen-candidate">(.*?)</tr>', rendered, re.S)
    assert len(rows) == 1
    assert "DBSCAN" in rows[0] and "min_samples=6" in rows[0]


def test_one_img_per_applicable_figure(rendered, summary):
    assert rendered.count("<img ") == len(ALL_FIGURES)
    for key in ALL_FIGURES:
        assert f'data-test="figure-{key}"' in rendered
    assert rendered.count('src="data:image/png;base64,') == len(ALL_FIGURES)


def test_cards_show_stability_and_flag_unstable_segments(rendered, summary):
    cards = _cards(rendered)
    for segment in summary["segments"]:
        text = re.sub(r"<[^>]+>", "", cards[segment["id"]])
        if segment["stability"] is None:        # noise, or not measured: nothing claimed
            assert "Stability" not in text
            continue
        assert f"Stability {segment['stability']:.2f} ({stability_word(segment['stability'])})" in text
        assert ('data-test="unstable"' in cards[segment["id"]]) == (segment["stability"] < 0.6)
    assert rendered.count('data-test="unstable"') == 1


def test_figures_that_do_not_apply_are_left_out():
    summary = make_summary()
    summary["plot_data"].update(dendrogram=None, k_distance=None, silhouette=None)
    summary["pca"] = None
    text = report.render_report(summary)
    assert text.count("<img ") == len(ALL_FIGURES) - 5
    for key in ("dendrogram", "k_distance", "silhouette", "scree", "loadings"):
        assert f'data-test="figure-{key}"' not in text
    assert 'data-test="pca-none"' in text
    _parse(text)  # still well-formed enough to parse


def test_no_external_urls(rendered):
    assert "http://" not in rendered
    assert "https://" not in rendered
    assert "<script" not in rendered.lower()
    assert "<link" not in rendered.lower()
    assert "@import" not in rendered and "url(" not in rendered


def test_data_from_the_input_is_escaped(rendered):
    assert XSS_COLUMN not in rendered
    assert XSS_VALUE not in rendered
    assert html.escape(XSS_COLUMN, quote=False) in rendered
    assert html.escape(XSS_VALUE, quote=False) in rendered
    assert "Budget regulars &amp; bargain hunters" in rendered
    assert not [t for t in _parse(rendered).tags if t == "script"]


def test_plot_functions_return_none_when_their_data_is_null():
    summary = make_summary(hostile=False)
    empty = copy.deepcopy(summary)
    empty["plot_data"] = {"sample": None, "dendrogram": None, "k_distance": None, "silhouette": None}
    empty["candidates"] = []
    empty["segments"] = []
    empty["pca"] = None
    for _key, function in plots.FIGURES:
        assert function(empty) is None, function.__name__
    no_map = copy.deepcopy(summary)
    no_map["plot_data"]["sample"]["map"] = None
    assert plots.plot_segment_map(no_map) is None
    one_column = copy.deepcopy(summary)
    one_column["plot_data"]["sample"].update(columns=["Age"], values=[[v[0]] for v in summary["plot_data"]["sample"]["values"]])
    assert plots.plot_correlation(one_column) is None
    no_inertia = copy.deepcopy(summary)
    for candidate in no_inertia["candidates"]:
        candidate["inertia"] = None
    assert plots.plot_elbow(no_inertia) is None


def test_render_is_deterministic(rendered, summary):
    assert report.render_report(summary) == rendered


def test_report_is_small(rendered):
    assert len(rendered.encode("utf-8")) < 5 * 1024 * 1024


def test_plotting_leaves_matplotlib_state_alone(summary):
    import matplotlib
    import matplotlib.pyplot as plt

    before = dict(matplotlib.rcParams)
    backend = matplotlib.get_backend()
    fig = plots.plot_dendrogram(summary)
    assert fig is not None and plots.figure_to_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    assert dict(matplotlib.rcParams) == before
    assert matplotlib.get_backend() == backend
    assert plt.get_fignums() == []


def test_segment_colors_are_fixed_by_id():
    assert plots.segment_colors([0, 1, 2, -1]) == {
        0: plots.SEGMENT_PALETTE[0], 1: plots.SEGMENT_PALETTE[1], 2: plots.SEGMENT_PALETTE[2], -1: plots.NOISE_COLOR,
    }
    assert plots.segment_colors([2])[2] == plots.segment_colors([5, 2, 0])[2]
    assert plots.NOISE_COLOR not in plots.SEGMENT_PALETTE
    assert len(set(plots.segment_colors(range(len(plots.SEGMENT_PALETTE))).values())) == len(plots.SEGMENT_PALETTE)


def test_card_colours_match_the_palette(rendered):
    colors = plots.segment_colors([0, 1, 2, -1])
    for segment_id, color in colors.items():
        assert re.search(rf'data-segment-id="{segment_id}" style="--seg: {color}"', rendered)


def test_write_report_is_atomic(tmp_path, summary, rendered, monkeypatch):
    target = tmp_path / "out" / "report.html"
    assert report.write_report(summary, target) == target
    assert target.read_text(encoding="utf-8") == rendered
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]

    def broken(_summary):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(report, "render_report", broken)
    with pytest.raises(RuntimeError):
        report.write_report(summary, target)
    assert target.read_text(encoding="utf-8") == rendered
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_summary_html_is_short_and_escaped(summary):
    text = report.summary_html(summary)
    assert "DBSCAN" in text
    assert "<img" not in text and "<style" not in text and "<script" not in text.lower()
    assert "Budget regulars &amp; bargain hunters" in text
    for segment in summary["segments"]:
        assert f"{segment['size']:,}" in text
        assert _escaped(segment["actions"][0]["action"]) in text
    assert len(text) < 10_000


def test_importing_report_does_not_import_plotting_libraries():
    code = (
        "import sys, custseg.reporting.report, custseg.reporting.figures; "
        "heavy = [m for m in ('matplotlib', 'seaborn', 'jinja2') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_choice_is_explained_with_disagreements_and_sampling(rendered, summary):
    assert 'data-test="chosen-reason"' in rendered
    assert _escaped(summary["chosen"]["reason"]) in rendered
    for disagreement in summary["chosen"]["disagreements"]:
        assert _escaped(disagreement) in rendered
    notes = re.search(r'data-test="sampling-notes">(.*?)</div>', rendered, re.S).group(1)
    assert "40 weighted" in notes and "silhouette" not in notes.lower()


def test_dollar_signs_in_names_are_not_parsed_as_mathtext():
    summary = make_summary(hostile=False)
    odd = "Spend $x^$ per $"
    sample = summary["plot_data"]["sample"]
    sample["columns"] = [odd if c == "Visits per month" else c for c in sample["columns"]]
    for segment in summary["segments"]:
        segment["profile"][odd] = segment["profile"].pop("Visits per month")
        segment["name"] = "Big $pend$ers"
    for function in (plots.plot_profile_heatmap, plots.plot_distributions, plots.plot_segment_sizes):
        assert plots.figure_to_png(function(summary))[:4] == b"\x89PNG"


# --------------------------------------------------------------------------- issue 3 additions


def _section(text: str, section: str) -> str:
    return re.search(rf'<section id="{section}".*?</section>', text, re.S).group(0)


def test_findings_come_first_in_the_summary(rendered):
    summary_section = _section(rendered, "summary")
    listed = re.search(r'<ol class="findings" data-test="findings">(.*?)</ol>', summary_section, re.S).group(1)
    assert [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", listed)] == FINDINGS
    assert summary_section.index('data-test="findings"') < summary_section.index('data-test="summary-table"')


def test_rules_are_shown_on_their_cards_with_fidelity(rendered):
    cards = _cards(rendered)
    first = cards[0]
    assert 'data-test="rules"' in first
    assert "<code>Annual Income (k$) &gt; 70.5</code>" in first
    assert "97% of the customers who match all of these are in this segment" in first
    assert "the rule covers 95% of the segment" in first
    second = cards[1]
    assert f"<code>{_escaped(XSS_COLUMN)} ≤ 6.5</code>" in second
    assert "<code>Age ≥ 45.5</code>" in second
    assert 'data-test="rules"' not in cards[2] and 'data-test="rules"' not in cards[-1]


def test_environment_is_listed_under_reproducibility(rendered, summary):
    section = _section(rendered, "reproducibility")
    table = re.search(r'data-test="environment">(.*?)</table>', section, re.S).group(1)
    for package, version in summary["environment"].items():
        assert f"<td>{package}</td><td class=\"mono\">{version}</td>" in table


def test_summaries_without_the_newer_keys_still_render():
    old = make_summary()
    del old["findings"], old["environment"]
    for segment in old["segments"]:
        del segment["rules"]
    old["overall"] = {}
    for segment in old["segments"]:
        segment.pop("categories")
    old["plot_data"]["sample"].pop("categorical")
    text = report.render_report(old)
    for hook in ('data-test="findings"', 'data-test="rules"', 'data-test="environment"'):
        assert hook not in text
    assert 'data-figure="categories"' not in text
    for key in ("pairs", "scree", "loadings", "profile_lines"):
        assert f'data-test="figure-{key}"' in text
    parsed = _parse(text)
    for href in (h for h in parsed.hrefs if h.startswith("#")):
        assert href[1:] in parsed.ids


def test_every_new_figure_is_drawn_for_a_full_summary(rendered):
    for key in NEW_KEYS_FIGURES:
        assert f'data-test="figure-{key}"' in rendered, key
    assert 'data-figure="pairs"' in _section(rendered, "exploration")
    assert 'data-figure="scree"' in _section(rendered, "features")
    assert 'data-figure="categories"' in _section(rendered, "segments")


def test_distributions_are_split_by_a_gender_like_column(summary):
    notes = plots.figure_notes(summary)
    assert notes["distributions"] == "Each histogram is split by Genre: Female, Male."
    no_gender = copy.deepcopy(summary)
    no_gender["plot_data"]["sample"]["categorical"].pop("Genre")
    # Channel has 3 levels, so it splits instead; with too many levels nothing splits.
    assert "split by Channel" in plots.figure_notes(no_gender)["distributions"]
    many = copy.deepcopy(no_gender)
    many["plot_data"]["sample"]["categorical"]["Channel"] = [f"level {i % 7}" for i in range(300)]
    assert "distributions" not in plots.figure_notes(many)


def test_level_colours_follow_the_overall_share(summary):
    colors = plots.level_colors(summary, "Channel", ["web", "store", XSS_VALUE])
    ranked = sorted(summary["overall"]["categories"]["Channel"].items(), key=lambda kv: -kv[1])
    assert [colors[level] for level, _ in ranked] == list(plots.LEVEL_PALETTE[:3])
    assert not set(plots.LEVEL_PALETTE) & set(plots.SEGMENT_PALETTE)


def test_rule_conditions_get_typographic_operators():
    assert format_condition("Age <= 30.5") == "Age ≤ 30.5"
    assert format_condition("Age >= 30.5") == "Age ≥ 30.5"
    assert format_condition("Income > 70") == "Income > 70"
    assert format_condition("a <= b >= 3") == "a <= b ≥ 3"


def test_wrapped_tick_labels_break_at_underscores():
    assert wrap_label("visits_per_month", 13) == "visits_per_\nmonth"
    assert wrap_label("Annual Income (k$)", 13) == "Annual Income\n(k$)"
    assert wrap_label("x" * 40, 13).endswith("…")


def _wide_summary(n_numeric: int = 60, n_categorical: int = 12, n_levels: int = 20, n_rows: int = 2000) -> dict:
    """A summary of a very wide table: many columns, levels and candidates."""
    rng = np.random.default_rng(3)
    summary = make_summary(hostile=False)
    numeric = [f"metric_{i:03d}_{'x' * (i % 3)}" for i in range(n_numeric)]
    categorical = [f"category_{i}" for i in range(n_categorical)]
    segment = rng.integers(0, 8, n_rows)
    summary["columns"]["numeric"] = numeric
    summary["columns"]["categorical"] = categorical
    summary["features"] = numeric
    levels = [f"level {j}" for j in range(n_levels)]

    def shares():
        weights = rng.dirichlet(np.ones(n_levels))
        return {level: float(w) for level, w in zip(levels, weights)}

    summary["overall"] = {"categories": {c: shares() for c in categorical}}
    segments = []
    for segment_id in range(8):
        profile = {c: {"mean": float(rng.normal()), "median": 0.0, "overall_mean": 0.0, "overall_median": 0.0,
                       "z": float(rng.normal()), "lift": 1.0} for c in numeric}
        segments.append({
            "id": segment_id, "name": f"Segment number {segment_id}", "size": 125_000, "share": 0.125,
            "description": "", "profile": profile, "categories": {c: shares() for c in categorical},
            "top_features": [], "rules": None, "actions": [],
        })
    summary["segments"] = segments
    summary["input"]["rows_used"] = 1_000_000
    summary["plot_data"]["sample"] = {
        "columns": numeric,
        "values": rng.normal(size=(n_rows, n_numeric)).round(3).tolist(),
        "categorical": {c: [levels[j] for j in rng.integers(0, n_levels, n_rows)] for c in categorical},
        "segment": segment.tolist(),
        "map": rng.normal(size=(n_rows, 2)).round(3).tolist(),
        "map_explained": [0.2, 0.1],
    }
    summary["plot_data"]["silhouette"] = {"segment": segment.tolist(), "value": rng.uniform(-0.2, 0.8, n_rows).tolist()}
    summary["pca"] = {
        "components": 40, "explained_variance_ratio": list(np.full(40, 0.02)),
        "loadings": {f"PC{i + 1}": {c: float(rng.normal() / 8) for c in numeric} for i in range(40)},
    }
    summary["candidates"] = [
        {"algorithm": "kmeans", "k": k, "params": {"n_init": 4, "seed": s}, "inertia": 1000.0 / k,
         "silhouette": float(rng.uniform(0.1, 0.5)), "calinski_harabasz": 100.0, "davies_bouldin": 1.0,
         "noise_share": 0.0, "smallest_share": 0.05}
        for k in range(2, 52) for s in range(4)
    ]
    summary["chosen"] = {"algorithm": "kmeans", "k": 8, "silhouette": 0.3, "reason": "r", "disagreements": []}
    return summary


def test_a_very_wide_summary_stays_small_and_says_what_it_left_out():
    summary = _wide_summary()
    text = report.render_report(summary)
    assert len(text.encode("utf-8")) < 5 * 1024 * 1024
    notes = plots.figure_notes(summary)
    assert notes["correlation"] == "Showing the 24 of 60 numeric columns that differ most between segments."
    assert notes["pairs"].startswith("Showing the 5 of 60 numeric columns")
    assert "1,000 of the 2,000 sampled customers" in notes["pairs"]
    assert "Showing the 12 of 60 numeric columns" in notes["profile_lines"]
    assert "first 12 of 40 components" in notes["loadings"] and "24 of 60 columns" in notes["loadings"]
    assert "Showing 4 of 12 categorical columns" in notes["categories"] and "“other”" in notes["categories"]
    for key, note in notes.items():
        assert _escaped(note) in text, key
    # Tables that would grow with the candidates, columns and levels are capped too.
    assert text.count('<tr class="chosen"') == 1
    candidate_table = re.search(r'data-test="candidates">(.*?)</table>', text, re.S).group(1)
    assert candidate_table.count("<tr") - 1 == context.MAX_CANDIDATE_ROWS
    assert "Showing 60 of 200 candidates" in text
    card = _cards(text)[0]
    assert card.count('data-test="categories"') == plots.MAX_CATEGORY_PANELS
    assert card.count('class="other"') == plots.MAX_CATEGORY_PANELS
    assert "other (16 levels)" in card
    profile = re.search(r'data-test="profile">(.*?)</table>', card, re.S).group(1)
    assert profile.count("<tr") - 1 == context.MAX_PROFILE_ROWS
    assert "The 30 of 60 numeric columns furthest from the average" in card
    _assert_nothing_runs_off_the_figures(text)


def test_figures_do_not_grow_with_the_width_of_the_data():
    """Same caps, same pixel sizes: a 60-column table draws no bigger figures than a 30-column one."""
    sizes = {}
    for n in (30, 60):
        summary = _wide_summary(n_numeric=n, n_categorical=6, n_rows=300)
        sizes[n] = {key: tuple(f(summary).get_size_inches()) for key, f in plots.FIGURES
                    if key in ("distributions", "correlation", "pairs", "profile_heatmap", "profile_lines",
                               "boxplots", "loadings", "categories")}
    assert sizes[30] == sizes[60]


# --------------------------------------------------------------------------- issue 4: transaction logs

XSS_RFM = "<b onmouseover=alert(3)>VIPs</b>"
XSS_CLUSTER = "<svg onload=alert(4)> & friends"
RFM_STANDARD = ["Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "Promising",
                "Need Attention", "About to Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost"]
TX_FEATURES = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "distinct_products",
               "return_rate"]
TX_PROFILED = TX_FEATURES + ["items_per_order", "mean_days_between_purchases", "recent_spend_share"]
TX_LOG = {"recency_days", "frequency", "monetary", "avg_order_value", "distinct_products", "return_rate"}
#: RFM segment -> customers in clusters 0, 1, 2 and noise (-1); rows sum to the segment sizes.
CROSSWALK = {
    "Champions": [0, 610, 60, 17], "Loyal Customers": [70, 600, 60, 6], "Potential Loyalists": [380, 100, 20, 2],
    "New Customers": [30, 0, 0, 0], "Promising": [86, 0, 0, 0], "Need Attention": [140, 30, 10, 1],
    "About to Sleep": [340, 0, 11, 0], "At Risk": [399, 150, 30, 5], "Can't Lose Them": [2, 60, 11, 0],
    "Hibernating": [400, 0, 3, 0], "Lost": [677, 0, 4, 0],
}


def make_transaction_summary(*, hostile: bool = True, join: bool = True) -> dict:
    """A transaction-log run's summary: customer-level input, ``transactions``, ``rfm``, log-scale profiles.

    Built on `make_summary` (figures' plot data, candidates, ...) with the numbers of UCI Online
    Retail; the segments are renamed, re-profiled on the behaviour features and re-sized to the
    crosswalk's column totals. RFM and cluster names can be hostile HTML.
    """
    summary = make_summary(hostile=False)
    rng = np.random.default_rng(5)
    customer_col = XSS_COLUMN if hostile else "CustomerID"
    rfm_names = RFM_STANDARD + ([XSS_RFM] if hostile else [])
    crosswalk_rows = dict(CROSSWALK)
    if hostile:
        crosswalk_rows[XSS_RFM] = [0, 3, 0, 0]
    cluster_ids = [0, 1, 2, -1]
    cluster_sizes = {c: sum(row[i] for row in crosswalk_rows.values()) for i, c in enumerate(cluster_ids)}
    n = sum(cluster_sizes.values())
    names = {0: "Lapsed one-time buyers", 1: XSS_CLUSTER if hostile else "Recent big spenders",
             2: "Steady mid-value buyers", -1: "Unusual customers (noise)"}
    medians = {"recency_days": 51.0, "frequency": 2.0, "monetary": 654.0, "avg_order_value": 300.0,
               "tenure_days": 224.0, "distinct_products": 35.0, "return_rate": 0.0, "items_per_order": 160.0,
               "mean_days_between_purchases": 60.0, "recent_spend_share": 0.3}
    for segment in summary["segments"]:
        segment_id = segment["id"]
        segment["name"] = names[segment_id]
        segment["size"] = cluster_sizes[segment_id]
        segment["share"] = cluster_sizes[segment_id] / n
        segment["categories"] = {}
        profile = {}
        for column in TX_PROFILED:
            base = medians[column]
            factor = float(rng.uniform(0.3, 3.0))
            profile[column] = {"mean": base * factor * 1.6, "median": base * factor, "overall_mean": base * 1.9,
                               "overall_median": base, "z": float(rng.normal()), "lift": factor,
                               "log_scale": column in TX_LOG}
        segment["profile"] = profile
        tops = sorted(TX_FEATURES, key=lambda c: -abs(profile[c]["z"]))[:2] + ["tenure_days"]
        segment["top_features"] = [{"feature": c, **profile[c]} for c in dict.fromkeys(tops)]
    summary["source"] = {"path": "data/online_retail.csv.gz", "name": "online_retail.csv.gz", "format": "csv",
                         "kind": "transactions"}
    if join:
        summary["source"]["join"] = {
            "customers_file": "data/crm.csv", "customers_in_both": n, "only_in_transactions": 17,
            "only_in_customers_file": 240, "duplicate_ids_in_customers_file": 3,
            "columns": ["Age", XSS_COLUMN if hostile else "Gender"],
        }
    summary["input"] = {"rows_read": n, "rows_used": n, "rows_dropped": {}, "cells_fixed": {},
                        "outliers": {"monetary": {"count": 2, "low": 0.94, "high": 253213.0, "action": "clipped"}}}
    summary["columns"] = {"id": customer_col, "id_name": customer_col, "numeric": TX_PROFILED, "categorical": [],
                          "excluded": {"Country": "too many categories (37) to describe segments"}}
    summary["features"] = TX_FEATURES
    summary["transforms"] = [{"column": c, "log": c in TX_LOG, "center": 1.0, "scale": 1.0} for c in TX_FEATURES]
    summary["encoded"] = {}
    summary["overall"] = {"categories": {}}
    sample = summary["plot_data"]["sample"]
    values = np.abs(rng.lognormal(mean=3.0, sigma=1.6, size=(len(sample["values"]), len(TX_PROFILED))))
    sample.update(columns=TX_PROFILED, values=np.round(values, 2).tolist(), categorical={})
    summary["transactions"] = {
        "ledger": {"rows_read": 541909, "rows_used": 401564,
                   "rows_dropped": {"no customer id": 135080, "exact duplicate": 5225, "zero or negative price": 40},
                   "cells_fixed": {}, "outliers": {}},
        "checks": {"lines without customer id": 135080, "cancellation lines": 9288, "adjustment lines": 3,
                   "exact duplicate lines": 5268, "negative quantity lines": 10624, "zero price lines": 2515,
                   "negative price lines": 2, "non-product lines": 2950, "future-dated lines": 0},
        # Customers on both sides of the join are segmented; 17 were only in the transaction log.
        "customers_found": n + 17 + 55, "customers_kept": n + 17,
        "customers_dropped": {"no usable lines": 1, "only cancellations or returns": 33, "net spend <= 0": 21},
        "as_of": "2011-12-10",
        "columns": {"customer": customer_col, "date": "InvoiceDate", "invoice": "InvoiceNo", "quantity": "Quantity",
                    "price": "UnitPrice", "amount": None, "product": "StockCode", "attributes": ["Country"]},
        "date_format": "%Y-%m-%d %H:%M:%S",
    }
    rfm_segments = []
    # Deliberately not in the standard order: the report sorts them.
    for name in reversed(rfm_names):
        size = sum(crosswalk_rows[name])
        rfm_segments.append({
            "name": name, "size": size, "share": size / n,
            "description": f"What {name} customers do & why it matters.",
            "actions": [f"First action for {name}", "Second <action>"],
            "median": {"recency_days": float(10 + 20 * rfm_names.index(name)), "frequency": 3.0,
                       "monetary": 1234.5 + rfm_names.index(name)},
        })
    summary["rfm"] = {
        "segments": rfm_segments,
        # Sorted by name, as pandas' crosstab writes it; missing clusters count 0.
        "crosswalk": {name: {str(c): v for c, v in zip(cluster_ids, crosswalk_rows[name]) if v or c != -1}
                      for name in sorted(crosswalk_rows)},
    }
    return json.loads(json.dumps(_round(summary)))


@pytest.fixture(scope="module")
def tx_summary():
    return make_transaction_summary()


@pytest.fixture(scope="module")
def tx_rendered(tx_summary):
    return report.render_report(tx_summary)


def _table(text: str, hook: str) -> str:
    return re.search(rf'<table[^>]*data-test="{hook}"[^>]*>(.*?)</table>', text, re.S).group(1)


def _rows(table: str) -> list[list[str]]:
    """Cells of each row as plain text (tags stripped, entities decoded)."""
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def test_transaction_summary_follows_the_contract(tx_summary):
    assert tx_summary["source"]["kind"] == "transactions"
    assert set(tx_summary["transactions"]) >= {"ledger", "checks", "customers_found", "customers_kept",
                                               "customers_dropped", "as_of", "columns", "date_format"}
    ledger = tx_summary["transactions"]["ledger"]
    assert ledger["rows_read"] == ledger["rows_used"] + sum(ledger["rows_dropped"].values())
    tx = tx_summary["transactions"]
    assert tx["customers_found"] == tx["customers_kept"] + sum(tx["customers_dropped"].values())
    sizes = {s["name"]: s["size"] for s in tx_summary["rfm"]["segments"]}
    assert {name: sum(row.values()) for name, row in tx_summary["rfm"]["crosswalk"].items()} == sizes
    assert sum(s["size"] for s in tx_summary["segments"]) == tx_summary["input"]["rows_used"]
    for segment in tx_summary["segments"]:
        assert all("log_scale" in p for p in segment["profile"].values())
        assert all({"median", "overall_median", "log_scale"} <= set(t) for t in segment["top_features"])


def test_rfm_section_sits_after_segments_in_the_page_and_the_toc(tx_rendered):
    parsed = _parse(tx_rendered)
    assert "rfm" in parsed.ids and 'data-test="section-rfm"' in tx_rendered
    assert len(parsed.ids) == len(set(parsed.ids)), "duplicate ids"
    toc = re.search(r'<nav class="toc".*?</nav>', tx_rendered, re.S).group(0)
    links = re.findall(r'href="#([^"]+)"', toc)
    assert links.index("segments") < links.index("rfm") < links.index("segment-details")
    assert '<a href="#rfm">RFM segments</a>' in toc
    sections = re.findall(r'<section id="([^"]+)"', tx_rendered)
    assert sections == ["summary", "data-quality", "exploration", "features", "model-selection", "segments", "rfm",
                        "segment-details", "reproducibility"]
    for href in (h for h in parsed.hrefs if h.startswith("#")):
        assert href[1:] in parsed.ids, href


def test_summary_says_how_many_lines_became_how_many_customers(tx_rendered, tx_summary):
    assert "541,909 order lines → 4,317 customers" in report.summary_html(tx_summary)
    header = re.search(r'<header class="top">(.*?)</header>', tx_rendered, re.S).group(1)
    assert "541,909 order lines → 4,317 customers" in header
    lead = re.search(r'data-test="lines-to-customers">(.*?)</p>', _section(tx_rendered, "summary"), re.S).group(1)
    text = html.unescape(re.sub(r"<[^>]+>", "", lead))
    assert text.startswith("541,909 order lines → 4,317 customers.")
    assert "401,564 of the lines were used" in text and "4,389 customers" in text and "2011-12-10" in text
    assert "55 were left out" in text and "4,317 were also in crm.csv" in text


def test_data_quality_shows_the_order_line_ledger_checks_customers_mapping_and_join(tx_rendered):
    section = _section(tx_rendered, "data-quality")
    assert _rows(_table(section, "line-ledger"))[1:] == [
        ["used", "401,564", "74.1%"],
        ["dropped: no customer id", "135,080", "24.9%"],
        ["dropped: exact duplicate", "5,225", "1.0%"],
        ["dropped: zero or negative price", "40", "<0.1%"],
        ["read", "541,909", ""],
    ]
    assert "What was found in the lines; a line can appear in several rows." in section
    checks = _rows(_table(section, "line-checks"))[1:]
    assert checks[0] == ["lines without customer id", "135,080", "24.9%"]
    assert ["cancellation lines", "9,288", "1.7%"] in checks and ["exact duplicate lines", "5,268", "1.0%"] in checks
    assert len(checks) == 9
    assert ["adjustment lines", "3", "<0.1%"] in checks and ["future-dated lines", "0", "0.0%"] in checks
    assert _rows(_table(section, "customer-ledger"))[1:] == [
        ["kept", "4,334", "98.7%"],
        ["left out: no usable lines", "1", "<0.1%"],
        ["left out: only cancellations or returns", "33", "0.8%"],
        ["left out: net spend <= 0", "21", "0.5%"],
        ["found", "4,389", ""],
    ]
    mapping = dict(row for row in _rows(_table(section, "column-mapping"))[1:])
    assert mapping["Customer id"] == XSS_COLUMN
    assert mapping["Order date"] == "InvoiceDate" and mapping["Invoice / order"] == "InvoiceNo"
    assert mapping["Quantity"] == "Quantity" and mapping["Unit price"] == "UnitPrice"
    assert mapping["Amount"] == "none" and mapping["Product code"] == "StockCode"
    assert mapping["Attributes"].startswith("Country")
    assert '<dd data-test="as-of">2011-12-10' in section
    assert "%Y-%m-%d %H:%M:%S" in section
    assert _rows(_table(section, "join"))[1:] == [
        ["in both", "4,317"], ["only in the transaction log", "17"], ["only in the customer table", "240"],
        ["duplicate ids in the customer table (first kept)", "3"],
    ]
    assert f"<code>{_escaped(XSS_COLUMN)}</code>" in section  # a joined column, escaped
    # The customer-level ledger is named for what its rows are.
    assert "<h3>Customer rows</h3>" in section and "All 4,317 customer rows built from the lines were used." in section


def test_rfm_table_lists_the_segments_in_the_standard_order(tx_rendered, tx_summary):
    section = _section(tx_rendered, "rfm")
    assert "1 to 5" in section and "5 × 5 grid" in section and "quintiles" in section
    grid = _rows(_table(section, "rfm-grid"))
    assert grid[1] == ["5", "New Customers", "Potential Loyalists", "Potential Loyalists", "Loyal Customers",
                       "Champions"]
    assert grid[-1] == ["1", "Lost", "Lost", "At Risk", "At Risk", "Can't Lose Them"]
    rows = _rows(_table(section, "rfm-table"))
    assert rows[0] == ["RFM segment", "Customers", "Share", "Median recency (days)", "Median orders",
                       "Median spend", "Description", "Usual actions"]
    assert [r[0] for r in rows[1:]] == RFM_STANDARD + [XSS_RFM]
    by_name = {s["name"]: s for s in tx_summary["rfm"]["segments"]}
    champions = rows[1]
    assert champions[1:6] == ["687", f"{687 / 4317:.1%}", "10", "3", "1,234"]
    assert champions[6] == "What Champions customers do & why it matters."
    assert "First action for Champions" in champions[7] and "Second <action>" in champions[7]
    assert rows[8][0] == "At Risk" and rows[8][1] == f"{by_name['At Risk']['size']:,}"


def test_rfm_figures_and_crosswalk_table(tx_rendered, tx_summary):
    section = _section(tx_rendered, "rfm")
    assert 'data-figure="rfm_sizes"' in section and 'data-figure="rfm_crosswalk"' in section
    # Every figure but the categorical make-up (a transaction log here has no categorical column)
    # and the customer value's (this summary has no value block).
    assert tx_rendered.count("<img ") == len(plots.FIGURES) - 1 - len(plots.VALUE_FIGURES)
    assert 'data-figure="categories"' not in tx_rendered
    table = _table(section, "rfm-crosswalk")
    rows = _rows(table)
    assert rows[0] == ["RFM segment", "Lapsed one-time buyers", XSS_CLUSTER, "Steady mid-value buyers",
                       "Unusual customers (noise)", "Total"]
    body = {r[0]: r[1:] for r in rows[1:]}
    assert list(body) == RFM_STANDARD + [XSS_RFM, "Total"]
    for name, counts in CROSSWALK.items():
        assert body[name] == [f"{v:,}" for v in counts] + [f"{sum(counts):,}"]
    assert body["Total"] == ["2,524", "1,553", "209", "31", "4,317"]
    # Columns carry the clusters' colours and link to their cards.
    colors = plots.segment_colors([0, 1, 2, -1])
    header = re.search(r"<thead>(.*?)</thead>", table, re.S).group(1)
    for segment_id, anchor in ((0, "segment-0"), (1, "segment-1"), (2, "segment-2"), (-1, "segment-noise")):
        assert f'<a href="#{anchor}"><span class="swatch" style="background: {colors[segment_id]}">' in header
    # The largest cell of a row is bold.
    assert re.search(r"<tr><td>[^<]*<span[^>]*></span>Champions</td><td class=\"num\">0</td>"
                     r"<td class=\"num\"><strong>610</strong>", table)


def test_crosswalk_is_read_in_one_sentence(tx_rendered):
    reading = re.search(r'data-test="crosswalk-reading">(.*?)</p>', tx_rendered, re.S).group(1)
    assert html.unescape(reading) == (
        f"“{XSS_CLUSTER}” holds most Champions (610 of 687, 89%); “Lapsed one-time buyers” holds most At Risk "
        f"customers (399 of 584, 68%) and most Lost customers (677 of 681, 99%)."
    )


def test_crosswalk_sentence_wording():
    columns = [{"name": "A"}, {"name": "B"}]
    sentence = context._crosswalk_sentence(["Champions", "At Risk"], [*columns, {"name": "C"}],
                                           [[10, 30, 0], [30, 40, 30]])
    assert sentence == ("“B” holds most Champions (30 of 40, 75%) and the largest share of At Risk customers "
                        "(40 of 100, 40%).")
    sentence = context._crosswalk_sentence(["At Risk"], columns, [[40, 40]])
    assert sentence == "“A” holds the largest share of At Risk customers (40 of 80, 50%)."
    # Without Champions, At Risk or Lost, the two largest RFM segments are read.
    sentence = context._crosswalk_sentence(["Promising", "Hibernating", "New Customers"], columns,
                                           [[5, 1], [2, 30], [9, 0]])
    assert sentence == "“B” holds most Hibernating customers (30 of 32, 94%); “A” holds most New Customers (9 of 9, 100%)."
    assert context._crosswalk_sentence(["Lost"], columns, [[0, 0]]) is None


def test_hostile_rfm_and_cluster_names_are_escaped(tx_rendered):
    for raw in (XSS_RFM, XSS_CLUSTER, XSS_COLUMN, "Second <action>"):
        assert raw not in tx_rendered, raw
    assert _escaped(XSS_RFM) in tx_rendered
    assert _escaped(XSS_CLUSTER) in tx_rendered
    assert "&lt;svg onload=alert(4)&gt; &amp; friends" in tx_rendered
    parsed = _parse(tx_rendered)
    assert not [t for t in parsed.tags if t in ("script", "svg", "b")]
    assert not [v for v in parsed.attr_values if "alert(" in v]


def test_log_scale_features_are_compared_by_median(tx_rendered, tx_summary):
    cards = _cards(tx_rendered)
    for segment in tx_summary["segments"]:
        rows = _rows(_table(cards[segment["id"]], "top-features"))
        assert rows[0] == ["Feature", "Segment", "All customers", "z"]
        for item, row in zip(segment["top_features"], rows[1:]):
            if item["log_scale"]:
                assert row[0] == f"{item['feature']} median"
                assert row[1:3] == [format_number(item["median"]), format_number(item["overall_median"])]
            else:
                assert row[0] == item["feature"]
                assert row[1:3] == [format_number(item["mean"]), format_number(item["overall_mean"])]
        profile = _table(cards[segment["id"]], "profile")
        assert profile.count("log scale</span>") == len(TX_LOG)
    notes = plots.figure_notes(tx_summary)
    assert "log(1 + value)" in notes["profile_heatmap"] and "log(1 + value)" in notes["profile_lines"]


def test_features_section_explains_the_behaviour_columns(tx_rendered):
    rows = _rows(_table(_section(tx_rendered, "features"), "feature-glossary"))
    assert [r[0] for r in rows[1:]] == TX_PROFILED
    assert rows[1][2] == "yes" and rows[-1][2] == "no, described only"


def test_transaction_report_without_a_join_or_rfm_still_renders(monkeypatch):
    summary = make_transaction_summary(hostile=False, join=False)
    no_rfm = copy.deepcopy(summary)
    no_rfm["rfm"] = None
    for function in (plots.plot_rfm_sizes, plots.plot_rfm_crosswalk):
        assert function(no_rfm) is None
    # The page structure only: figures are drawn (slowly) by the tests above.
    monkeypatch.setattr(report, "render_figures", lambda _summary: {})
    text = report.render_report(summary)
    assert 'data-test="join"' not in text and 'data-test="line-ledger"' in text
    assert "were also in" not in text
    text = report.render_report(no_rfm)
    assert 'id="rfm"' not in text and 'href="#rfm"' not in text and "RFM segments</a>" not in text
    _parse(text)
    crosswalk_only = make_transaction_summary(hostile=False)
    crosswalk_only["rfm"]["segments"] = []
    text = report.render_report(crosswalk_only)
    assert 'data-test="rfm-table"' not in text and 'data-test="rfm-crosswalk"' in text


def test_customer_table_reports_have_no_transaction_parts(rendered):
    for hook in ("section-rfm", "line-ledger", "line-checks", "customer-ledger", "column-mapping", "join",
                 "lines-to-customers", "feature-glossary", "figure-rfm_sizes", "figure-rfm_crosswalk"):
        assert f'data-test="{hook}"' not in rendered, hook
    assert 'href="#rfm"' not in rendered and "<h3>Row ledger</h3>" in rendered


def test_rfm_plots_follow_the_standard_order_and_skip_without_rfm(tx_summary, summary):
    assert plots.rfm_order(tx_summary) == RFM_STANDARD + [XSS_RFM]
    rows, clusters, counts = plots.rfm_crosswalk(tx_summary)
    assert rows == RFM_STANDARD + [XSS_RFM] and clusters == [0, 1, 2, -1]
    assert counts[rows.index("Champions")].tolist() == [0, 610, 60, 17]
    assert counts[rows.index("New Customers")].tolist() == [30, 0, 0, 0]  # absent noise cell counts 0
    for function in (plots.plot_rfm_sizes, plots.plot_rfm_crosswalk):
        assert function(summary) is None
        assert plots.figure_to_png(function(tx_summary))[:4] == b"\x89PNG"
    assert set(plots.rfm_colors(RFM_STANDARD).values()) & set(plots.SEGMENT_PALETTE) == set()


def test_transaction_render_is_deterministic_and_small(tx_rendered, tx_summary):
    assert report.render_report(tx_summary) == tx_rendered
    assert len(tx_rendered.encode("utf-8")) < 5 * 1024 * 1024


def test_kernel_density_equals_scipy_gaussian_kde():
    from scipy.stats import gaussian_kde

    from custseg.reporting.figures import kernel_density

    values = np.random.default_rng(0).gamma(2.0, 3.0, 500)
    grid = np.linspace(-2, 30, 120)
    np.testing.assert_allclose(kernel_density(values, grid), gaussian_kde(values)(grid), rtol=1e-10, atol=1e-14)


def test_fit_sampling_is_explained():
    from custseg.reporting.context import _sampling_notes

    notes = _sampling_notes({"fit": {"used": True, "sample_size": 1_000_000, "threshold": 1_000_000}})
    assert len(notes) == 1 and "fitted on a sample of 1,000,000 customers" in notes[0]
    assert _sampling_notes({"fit": {"used": False, "sample_size": 10, "threshold": 1_000_000}}) == []


# --------------------------------------------------------------------------- issue 5: speed


def _figure_pngs(text: str) -> dict[str, bytes]:
    """{figure key: PNG bytes} of the figures embedded in a rendered report."""
    found = re.findall(r'<img src="data:image/png;base64,([^"]+)"[^>]*data-test="figure-([a-z_]+)"', text)
    return {key: base64.b64decode(data) for data, key in found}


def _assert_nothing_runs_off_the_figures(text: str, border: int = 3) -> None:
    """The outer pixels of every figure are white: no label, title or legend is cut off at an edge.

    The figures are laid out by hand (`fit_axes`, from the measured size of their text),
    leaving 6 px at each edge.
    """
    from PIL import Image

    pngs = _figure_pngs(text)
    assert pngs
    for key, png in pngs.items():
        pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        edges = (pixels[:border], pixels[-border:], pixels[:, :border], pixels[:, -border:])
        assert all((edge == 255).all() for edge in edges), f"{key} runs off its edge"


def test_no_figure_runs_off_its_edges(rendered, tx_rendered):
    # (hostile names, the transaction figures; the very wide summary is checked in its own test)
    _assert_nothing_runs_off_the_figures(rendered)
    _assert_nothing_runs_off_the_figures(tx_rendered)


def test_figures_are_opaque_rgb_pngs_without_metadata(rendered):
    from PIL import Image

    for key, png in _figure_pngs(rendered).items():
        image = Image.open(io.BytesIO(png))
        assert image.mode == "RGB", key
        assert not image.text, key  # no software or date that would change between runs


needs_fork = pytest.mark.skipif(not hasattr(os, "fork") or sys.platform != "linux",
                                reason="figures are shared with a forked helper on Linux only")


@pytest.fixture(scope="module")
def drawn_alone(summary):
    """The figures of `summary`, all drawn in this process."""
    before = drawing.FIGURE_PROCESSES
    drawing.FIGURE_PROCESSES = 1
    try:
        return report.render_figures(summary)
    finally:
        drawing.FIGURE_PROCESSES = before


@needs_fork
def test_figures_drawn_with_a_helper_process_are_the_same_bytes(summary, drawn_alone, monkeypatch):
    monkeypatch.setattr(drawing, "FIGURE_PROCESSES", 2)
    monkeypatch.setattr(drawing, "_helper_allowed", lambda: True)
    forks = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    assert report.render_figures(summary) == drawn_alone
    assert len(forks) == 1
    with pytest.raises(ChildProcessError):  # the helper has been waited for
        os.waitpid(forks[0], os.WNOHANG)


@needs_fork
@pytest.mark.parametrize("failure", ["crash", "hang", "no fork"])
def test_a_failing_helper_process_changes_nothing(summary, drawn_alone, monkeypatch, failure):
    """Whatever the helper does not deliver is drawn in the main process: same figures."""
    import time

    monkeypatch.setattr(drawing, "FIGURE_PROCESSES", 2)
    monkeypatch.setattr(drawing, "_helper_allowed", lambda: True)
    monkeypatch.setattr(drawing, "HELPER_GRACE", 0.2)
    main = os.getpid()
    draw = drawing.figure_png

    def failing(function, summary):
        if os.getpid() != main:  # in the helper
            if failure == "crash":
                os._exit(3)
            time.sleep(600)
        return draw(function, summary)

    monkeypatch.setattr(drawing, "figure_png", failing)
    if failure == "no fork":
        def no_fork():
            raise OSError("fork refused")

        monkeypatch.setattr(os, "fork", no_fork)
    started = time.monotonic()
    assert report.render_figures(summary) == drawn_alone
    assert time.monotonic() - started < 60



def test_choosing_section_states_the_structure_and_the_natural_split():
    summary = make_summary()
    summary["chosen"].update(
        decided_by="working", structure="no natural groups: the customers form a continuum",
        natural_split={"algorithm": "kmeans", "k": 2, "silhouette": 0.291, "sizes": [252, 188],
                       "why": "its silhouette is weak (0.29): a cut through a continuum, not natural groups"},
    )
    text = report.render_report(summary)
    structure = re.search(r'data-test="structure">(.*?)</p>', text, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", structure) == "Structure: no natural groups: the customers form a continuum."
    natural = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", re.search(r'data-test="natural-split">(.*?)</div>', text, re.S).group(1)))
    assert ("K-Means with 2 segments (252, 188 customers; silhouette 0.291) is the natural finding. It is not "
            "recommended as it is, because its silhouette is weak (0.29): a cut through a continuum, not natural "
            "groups; rerun with --algorithms kmeans --k 2") in natural
    del summary["chosen"]["natural_split"]
    assert 'data-test="natural-split"' not in report.render_report(summary)
