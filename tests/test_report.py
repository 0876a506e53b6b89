"""Tests for custseg.report and custseg.plots, on a realistic fake summary.

`make_summary` follows docs/summary.md exactly: 3 segments plus a DBSCAN noise segment (-1),
K-Means and hierarchical candidates for k = 2..5 plus one DBSCAN candidate, a SciPy Ward
linkage on 40 micro-clusters, a k-distance curve, per-customer silhouettes and a sample of 300
customers. Column names and category values can be hostile HTML.
"""

from __future__ import annotations

import copy
import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser

import markupsafe
import numpy as np
import pytest

from custseg import plots, report

XSS_COLUMN = "<img src=x onerror=alert(1)>"
XSS_VALUE = "<script>alert(1)</script>"
SECTION_IDS = (
    "summary", "data-quality", "exploration", "features", "model-selection", "segments",
    "segment-details", "reproducibility",
)
ALL_FIGURES = [key for key, _ in plots.FIGURES]
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
        "import sys, custseg.report, custseg.plots; "
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
    assert f'data-figure="pairs"' in _section(rendered, "exploration")
    assert f'data-figure="scree"' in _section(rendered, "features")
    assert f'data-figure="categories"' in _section(rendered, "segments")


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
    assert report._fmt_condition("Age <= 30.5") == "Age ≤ 30.5"
    assert report._fmt_condition("Age >= 30.5") == "Age ≥ 30.5"
    assert report._fmt_condition("Income > 70") == "Income > 70"
    assert report._fmt_condition("a <= b >= 3") == "a <= b ≥ 3"


def test_wrapped_tick_labels_break_at_underscores():
    assert plots._wrap("visits_per_month", 13) == "visits_per_\nmonth"
    assert plots._wrap("Annual Income (k$)", 13) == "Annual Income\n(k$)"
    assert plots._wrap("x" * 40, 13).endswith("…")


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
    assert candidate_table.count("<tr") - 1 == report.MAX_CANDIDATE_ROWS
    assert "Showing 60 of 200 candidates" in text
    card = _cards(text)[0]
    assert card.count('data-test="categories"') == plots.MAX_CATEGORY_PANELS
    assert card.count('class="other"') == plots.MAX_CATEGORY_PANELS
    assert "other (16 levels)" in card
    profile = re.search(r'data-test="profile">(.*?)</table>', card, re.S).group(1)
    assert profile.count("<tr") - 1 == report.MAX_PROFILE_ROWS
    assert "The 30 of 60 numeric columns furthest from the average" in card


def test_figures_do_not_grow_with_the_width_of_the_data():
    """Same caps, same pixel sizes: a 60-column table draws no bigger figures than a 30-column one."""
    sizes = {}
    for n in (30, 60):
        summary = _wide_summary(n_numeric=n, n_categorical=6, n_rows=300)
        sizes[n] = {key: tuple(f(summary).get_size_inches()) for key, f in plots.FIGURES
                    if key in ("distributions", "correlation", "pairs", "profile_heatmap", "profile_lines",
                               "boxplots", "loadings", "categories")}
    assert sizes[30] == sizes[60]
