"""Stability refits only for the candidates the choice looks at (issue 19, item 4).

The stability of a candidate is measured when the choice first asks for it
(`Candidate.measured_stability`); a candidate the choice never looked at keeps
``stability=None`` (not computed: null in summary.json, "–" in the report), never 0. The
answer is the same as when every candidate is measured, and so is every figure measured.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from custseg import segment
from custseg.segmenting.candidates import Candidate
from custseg.segmenting.choice import choose
from custseg.segmenting.options import SearchOptions
from custseg.segmenting.search import search
from custseg.settings import Settings


def _blobs(centres, per: int = 60, spread: float = 0.3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(c, spread, (per, len(c))) for c in centres])


def _counted(candidate: Candidate, asked: list) -> Candidate:
    """The candidate with a deferred stability that records when it is measured."""
    def measure():
        asked.append(candidate)
        return {int(s): 0.9 for s in np.unique(candidate.labels)}
    candidate.measure = measure
    return candidate


def test_choose_measures_only_the_candidates_it_looks_at():
    # Three clear groups: the silhouette's choice is k = 3, strong (>= 0.5), so the rule asks
    # for the stability of that one candidate (is it unstable?) and of no other.
    labels = {k: np.repeat(np.arange(k), 60 // k + 1)[:60] for k in (2, 3, 4)}
    silhouettes = {2: 0.55, 3: 0.81, 4: 0.62}
    asked: list = []
    candidates = [
        _counted(Candidate("kmeans", k, labels[k], None, silhouette=silhouettes[k], calinski_harabasz=10.0 * k,
                           davies_bouldin=0.5, smallest_share=0.3, largest_share=0.5, wcnn=0.9), asked)
        for k in (2, 3, 4)
    ]
    choice = choose(candidates, {}, 60, (2, 4))
    assert choice.chosen.k == 3
    assert [c.k for c in asked] == [3]
    assert candidates[1].stability == {0: 0.9, 1: 0.9, 2: 0.9}
    assert candidates[0].stability is None and candidates[2].stability is None
    assert "Jaccard agreement of 0.90" in choice.reason


def test_a_candidate_is_refitted_at_most_once():
    calls = []
    candidate = Candidate("kmeans", 2, np.array([0, 0, 1, 1]), None)
    candidate.measure = lambda: calls.append(1) or {0: 0.7, 1: 0.5}
    assert (candidate.stability_min, candidate.stability_mean, candidate.stability_min) == (0.5, 0.6, 0.5)
    assert calls == [1]


def _lazy_and_all(matrix: np.ndarray, **settings):
    options = SearchOptions.from_settings(Settings(**settings))
    return search(matrix, options), search(matrix, options, all_stability=True)


def test_lazy_search_chooses_and_measures_as_the_full_one():
    # Strong groups (one candidate looked at) and a uniform square (no natural groups: working
    # segments, for which the rule looks at the stability of many candidates).
    rng = np.random.default_rng(3)
    for matrix in (_blobs([(0, 0), (4, 0), (0, 4)]), rng.uniform(0, 1, (240, 2))):
        lazy, full = _lazy_and_all(matrix, algorithms=("kmeans", "hierarchical"), k_max=6)
        assert (lazy.chosen.algorithm, lazy.chosen.k) == (full.chosen.algorithm, full.chosen.k)
        assert np.array_equal(lazy.chosen.labels, full.chosen.labels)
        assert lazy.reason == full.reason and lazy.decided_by == full.decided_by
        measured = [c for c in lazy.candidates if c.stability is not None]
        assert lazy.chosen in measured
        assert len(measured) < len(full.candidates)
        for mine, theirs in zip(lazy.candidates, full.candidates):
            assert theirs.stability is not None
            assert mine.stability is None or mine.stability == theirs.stability
            assert mine.measure is None        # nothing is measured after the search


def test_not_computed_is_null_in_summary_and_a_dash_in_the_report(tmp_path):
    points = _blobs([(0, 0, 0), (5, 0, 0), (0, 5, 0)], per=40)
    frame = pd.DataFrame(points, columns=["a", "b", "c"]).assign(id=np.arange(1, len(points) + 1))
    path = tmp_path / "three.csv"
    frame.to_csv(path, index=False)
    result = segment(str(path), algorithms=("kmeans",), k_max=4, random_state=0)
    written = result.write(tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    rows = summary["candidates"]
    chosen = next(r for r in rows if r["k"] == summary["chosen"]["k"])
    others = [r for r in rows if r is not chosen]
    assert chosen["stability_min"] is not None and chosen["stability_min"] >= 0.95
    assert others and all(r["stability_min"] is None and r["stability_mean"] is None for r in others)
    html = (tmp_path / "out" / "report.html").read_text()
    at = html.index('data-test="chosen-candidate"')
    body = html[html.rindex("<tbody>", 0, at):html.index("</tbody>", at)]
    rows_html = [r[:r.index("</tr>")] for r in body.split("<tr")[1:]]
    last_cells = [r[r.rindex('<td class="num">') + len('<td class="num">'):r.rindex("</td>")] for r in rows_html]
    # the candidates table's last column: the chosen one's least stability, "–" for the others
    assert len(rows_html) == len(rows)
    assert sorted(last_cells) == sorted([f"{chosen['stability_min']:.2f}"] + ["–"] * len(others))
    assert "report" in written


def test_the_candidates_cache_measures_every_candidate(tmp_path):
    # benchmarks/candidates_cache.py studies rules that may look at other candidates than
    # today's rule does: its entries carry every candidate's stability.
    import gzip

    from conftest import load_benchmark

    cache = load_benchmark("candidates_cache")
    battery = tmp_path / "toy"
    battery.mkdir()
    points = _blobs([(0, 0), (4, 0), (0, 4)], per=40)
    with gzip.open(battery / "three.data.gz", "wt") as handle:
        handle.write("\n".join(f"{x:.6f} {y:.6f}" for x, y in points))
    with gzip.open(battery / "three.labels0.gz", "wt") as handle:
        handle.write("\n".join(str(1 + i // 40) for i in range(len(points))))
    entry = cache.run_search("toy/three", tmp_path, {"algorithms": ("kmeans", "hierarchical"), "k_max": 5})
    assert len(entry.candidates) == 8
    assert all(c.stability is not None for c in entry.candidates)
    lazy = segment(str(_csv(points, tmp_path)), algorithms=("kmeans", "hierarchical"), k_max=5, random_state=0,
                   report=False)
    assert sum(c.stability is not None for c in lazy.found.candidates) < 8


def _csv(points: np.ndarray, folder) -> object:
    path = folder / "points.csv"
    frame = pd.DataFrame(points, columns=[f"x{j + 1}" for j in range(points.shape[1])])
    frame.insert(0, "id", np.arange(1, len(points) + 1))
    frame.to_csv(path, index=False)
    return path
