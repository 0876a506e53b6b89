"""The generated battery (benchmarks/generated.py) and the candidate cache with its
leave-one-battery-out helper (benchmarks/candidates_cache.py): the sets are what their
descriptions say, drawn and written byte for byte the same from a seed, read back by
quality.py; lobo picks the values worked out by hand on hand-made candidates."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import load_benchmark
from sklearn.metrics import silhouette_score


@pytest.fixture(scope="module")
def generated():
    return load_benchmark("generated")


@pytest.fixture(scope="module")
def quality():
    return load_benchmark("quality")


@pytest.fixture(scope="module")
def cache():
    return load_benchmark("candidates_cache")


@pytest.fixture(scope="module")
def drawn(generated):
    return {s.name: generated.make_set(s.name, seed=0) for s in generated.SETS}


def test_the_same_seed_writes_the_same_bytes(generated, tmp_path):
    names = ["overlap2_d2", "speck_customers_d4", "custseg_generate_k4"]
    first = generated.write_battery(tmp_path / "one", seed=0, names=names) / "generated"
    second = generated.write_battery(tmp_path / "two", seed=0, names=names) / "generated"
    other = generated.write_battery(tmp_path / "three", seed=1, names=names) / "generated"
    files = sorted(p.name for p in first.iterdir())
    assert files == sorted(p.name for p in second.iterdir())
    assert len(files) == 2 * len(names) + 1   # data, labels0, and the README
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "overlap2_d2.data.gz").read_bytes() != (other / "overlap2_d2.data.gz").read_bytes()


def test_a_set_does_not_depend_on_its_place_in_the_registry(generated):
    alone = generated.make_set("blobs_k5_d4_moderate", seed=0)
    again = generated.make_set("blobs_k5_d4_moderate", seed=0)
    assert np.array_equal(alone[0], again[0]) and np.array_equal(alone[1], again[1])


def test_every_set_has_its_planted_k_in_range(generated, drawn):
    assert 20 <= len(generated.SETS) <= 30
    for spec in generated.SETS:
        matrix, labels = drawn[spec.name]
        assert sorted(np.unique(labels).tolist()) == list(range(1, spec.k + 1)), spec.name
        assert 300 <= len(labels) <= 5000 and matrix.shape == (len(labels), matrix.shape[1]), spec.name
        assert 2 <= matrix.shape[1] <= 12 and np.isfinite(matrix).all(), spec.name
        assert spec.description and "\n" not in spec.description
    ks = {s.k for s in generated.SETS}
    dims = {drawn[s.name][0].shape[1] for s in generated.SETS}
    assert {1, 2, 10} <= ks and {2, 12} <= dims


def test_unequal_sizes_are_the_shares_described(drawn):
    shares = np.bincount(drawn["unequal_70_20_10_d3"][1])[1:] / 2000
    assert shares.tolist() == [0.70, 0.20, 0.10]
    assert (np.bincount(drawn["small_3pct_k4_d4"][1])[1:] / 2000).tolist() == [0.47, 0.30, 0.20, 0.03]
    assert (np.bincount(drawn["overlap2_75_25_d3"][1])[1:] / 1000).tolist() == [0.75, 0.25]


@pytest.mark.parametrize("name, share", [("speck_body_d2", 0.04), ("speck_blobs9_d4", 0.04),
                                         ("speck_customers_d4", 0.03)])
def test_a_speck_is_small_and_far(drawn, name, share):
    matrix, labels = drawn[name]
    speck = labels == labels.max()
    assert speck.mean() == pytest.approx(share)
    if name == "speck_customers_d4":
        matrix = np.log(matrix)          # far in the scale a marketer reads spend on
    body = matrix[~speck]
    gap = np.linalg.norm((matrix[speck].mean(axis=0) - body.mean(axis=0)) / body.std(axis=0))
    assert gap > 5                        # body standard deviations


@pytest.mark.parametrize("name", ["overlap2_d2", "overlap2_d6", "overlap2_75_25_d3"])
def test_two_overlapping_groups_have_a_weak_silhouette(drawn, name):
    matrix, labels = drawn[name]
    assert silhouette_score(matrix, labels) < 0.5
    # ... yet two groups: along the axis between the centres the means are 3+ sd apart
    gap = matrix[labels == 2, 0].mean() - matrix[labels == 1, 0].mean()
    assert gap > 3 * matrix[labels == 1, 0].std()


def test_no_natural_groups_is_one_label_and_skewed(drawn):
    for name in ("one_skewed_blob_d2", "one_gaussian_d6", "customers_continuum_d5"):
        assert set(drawn[name][1].tolist()) == {1}
    spend = drawn["customers_continuum_d5"][0][:, 0]
    assert np.mean(spend) > 1.2 * np.median(spend) and (spend > 0).all()
    orders = drawn["customers_continuum_d5"][0][:, 1]
    assert (orders >= 1).all() and np.array_equal(orders, np.round(orders))


def test_custseg_generator_sets_keep_its_true_segments(drawn):
    from custseg.sampledata.customers import NUMERIC_COLUMNS

    matrix, labels = drawn["custseg_generate_k4"]
    assert matrix.shape == (2000, len(NUMERIC_COLUMNS))
    # its first archetype (young high spenders) has the highest spending score
    score = matrix[:, NUMERIC_COLUMNS.index("spending_score")]
    means = [score[labels == k].mean() for k in range(1, 5)]
    assert np.argmax(means) == 0


def test_the_files_round_trip_through_quality_load_set(generated, quality, tmp_path):
    names = ["elongated_k3_d2_overlap", "one_gaussian_d6"]
    root = generated.write_battery(tmp_path, seed=0, names=names)
    assert quality.list_sets(root) == [f"generated/{n}" for n in sorted(names)]
    for name in names:
        data = quality.load_set(f"generated/{name}", root)
        matrix, labels = generated.make_set(name, seed=0)
        assert np.allclose(data.matrix, matrix, rtol=1e-9, atol=0)
        assert len(data.references) == 1 and np.array_equal(data.references[0], labels)
        assert data.battery == "generated" and data.true_ks == [generated.BY_NAME[name].k]
    assert "one_gaussian_d6: n=1500, d=6, k=1." in (root / "generated" / "README.txt").read_text()


def test_quality_section_replaces_itself_and_survives_a_full_rewrite(quality, tmp_path):
    report = tmp_path / "QUALITY.md"
    report.write_text("# headline v1\n", encoding="utf-8")
    report.write_text(quality.with_section(report.read_text(), "## Generated\nold\n"), encoding="utf-8")
    report.write_text(quality.with_section(report.read_text(), "## Generated\nnew\n"), encoding="utf-8")
    text = report.read_text()
    assert text.count(quality.GENERATED_BEGIN) == 1 and "new" in text and "old" not in text
    quality.write_keeping_section(report, "# headline v2\n")
    text = report.read_text()
    assert text.startswith("# headline v2\n") and "## Generated\nnew" in text and "v1" not in text


def test_the_leave_one_battery_out_section_survives_both_other_writers(quality, tmp_path):
    report = tmp_path / "QUALITY.md"
    report.write_text("# headline v1\n", encoding="utf-8")
    text = quality.with_section(report.read_text(), "## Generated\ngen\n")
    report.write_text(quality.with_section(text, "## LOBO\nheld out\n", quality.LOBO_BEGIN, quality.LOBO_END))
    report.write_text(quality.with_section(report.read_text(), "## Generated\ngen2\n"))   # quality.py --generated
    quality.write_keeping_section(report, "# headline v2\n")                            # quality.py
    text = report.read_text()
    assert text.startswith("# headline v2\n") and "gen2" in text and "## LOBO\nheld out" in text
    assert text.count(quality.LOBO_BEGIN) == text.count(quality.GENERATED_BEGIN) == 1 and "v1" not in text


# ---------------------------------------------------------------------------------------------
# The cache and leave-one-battery-out, on hand-made candidates


def hand_made_set(cache, name, kind, score):
    """Two candidates over 8 customers: ``lump`` (one segment) and ``split`` (two of 4) with
    silhouette ``score``. Kind "R": the truth is the split; kind "W": the truth is one group."""
    split = np.repeat([0, 1], 4)
    lump = np.zeros(8, dtype=np.int64)
    truth = split + 1 if kind == "R" else np.ones(8, dtype=np.int64)
    candidates = [cache.fake_candidate("kmeans", lump, silhouette=0.0),
                  cache.fake_candidate("kmeans", split, silhouette=score)]
    return cache.make_entry(name, candidates, [truth])


def split_from(values):
    """The choice rule of the test: the split when its silhouette reaches T, else the lump."""
    def choose_fn(candidates, elbow, n, k_range, **_):
        split = candidates[1]
        return split if split.silhouette >= values["T"] else candidates[0]
    return choose_fn


def test_lobo_picks_the_values_worked_out_by_hand(cache):
    # ARI is 1 when the right candidate is chosen, else 0 (a one-group truth against a split,
    # or a split truth against one group). "R" sets are right when T <= score, "W" when T > score.
    design = {"a": [("R", 0.55), ("W", 0.45)],
              "b": [("R", 0.65), ("R", 0.45), ("W", 0.65)],
              "c": [("W", 0.55), ("W", 0.65), ("R", 0.75)]}
    entries = [hand_made_set(cache, f"{battery}/s{i}", kind, score)
               for battery, sets in design.items() for i, (kind, score) in enumerate(sets)]
    result = cache.lobo(entries, {"T": [0.4, 0.5, 0.6, 0.7]}, split_from, baseline={"T": 0.5})
    # Held out a: the mean ARI on b + c for each T:
    #   T=0.4: b R.65 1, R.45 1, W.65 0; c W.55 0, W.65 0, R.75 1 -> 3/6
    #   T=0.5: 1, 0, 0; 0, 0, 1 -> 2/6;  T=0.6: 1, 0, 0; 1, 0, 1 -> 3/6;  T=0.7: 0, 0, 1; 1, 1, 1 -> 4/6
    assert result.held_out["a"].values == {"T": 0.7}
    assert result.held_out["a"].fit_mean == pytest.approx(4 / 6)
    # a at 0.7: R.55 wrong, W.45 right
    assert (result.held_out["a"].mean, result.held_out["a"].sets) == (0.5, 2)
    # Held out b: on a + c: T=0.4 2/5, 0.5 3/5, 0.6 3/5, 0.7 4/5 -> 0.7; b at 0.7: 0, 0, 1
    assert result.held_out["b"].values == {"T": 0.7} and result.held_out["b"].mean == pytest.approx(1 / 3)
    # Held out c: on a + b: T=0.4 3/5, 0.5 3/5 (medians 1 and 1), 0.6 2/5, 0.7 2/5: a tie of
    # mean and median goes to the earlier value, 0.4; c at 0.4: 0, 0, 1
    assert result.held_out["c"].values == {"T": 0.4} and result.held_out["c"].mean == pytest.approx(1 / 3)
    # Every set held out: 0,1 | 0,0,1 | 0,0,1
    assert result.held_out_mean == pytest.approx(3 / 8) and result.held_out_median == 0.0
    # In-sample: T=0.7 is right on 5 of 8 (0.4: 4, 0.5: 4, 0.6: 4)
    assert result.in_sample.values == {"T": 0.7}
    assert (result.in_sample.mean, result.in_sample.median) == (pytest.approx(5 / 8), 1.0)
    assert result.baseline.values == {"T": 0.5} and result.baseline.mean == pytest.approx(4 / 8)
    assert result.per_set["a/s0"] == [1.0, 1.0, 0.0, 0.0]   # the baseline is in the grid
    table = cache.lobo_table(result)
    assert "| a | 2 | T=0.7 | 0.667 | 0.500 | 0.500 | 50% |" in table
    assert "| **all, held out** | 8 | | | **0.000** | **0.375** |" in table


def test_lobo_needs_two_batteries(cache):
    entry = hand_made_set(cache, "a/s0", "R", 0.5)
    with pytest.raises(ValueError, match="two batteries"):
        cache.lobo([entry], {"T": [0.5]}, split_from)


def test_rechoose_puts_dropped_rows_back_as_noise(cache):
    candidate = cache.fake_candidate("kmeans", [1, 0, 0], silhouette=0.5)
    entry = cache.make_entry("a/s", [candidate], [np.array([1, 2, 2, 2])])
    entry.rows, entry.n, entry.n_rows = np.array([0, 2, 3]), 3, 4
    labels, k = cache.rechoose(entry, lambda candidates, *args, **kwargs: candidates[0])
    assert labels.tolist() == [1, -1, 0, 0] and k == 2


def test_weak_silhouette_changes_todays_choice_and_is_restored(cache):
    from custseg.segmenting import choice, rules

    before = rules.WEAK_SILHOUETTE
    two = cache.fake_candidate("kmeans", np.repeat([0, 1], 30), silhouette=0.45, stability=0.9)
    three = cache.fake_candidate("kmeans", np.repeat([0, 1, 2], 20), silhouette=0.40, stability=0.9)
    entry = cache.make_entry("a/s", [two, three], [np.repeat([1, 2], 30)])
    # today's rule: a two-way split below WEAK_SILHOUETTE gives way to a finer stable one
    assert cache.rechoose(entry, cache.threshold_choose({"WEAK_SILHOUETTE": 0.5}))[1] == 3
    assert cache.rechoose(entry, cache.threshold_choose({"WEAK_SILHOUETTE": 0.4}))[1] == 2
    assert cache.rechoose(entry, choice.choose)[1] == (3 if before > 0.45 else 2)
    assert rules.WEAK_SILHOUETTE == before


def test_patching_reaches_copies_and_refuses_unknown_names(cache):
    from custseg.segmenting import choice, rules

    original = rules.SILHOUETTE_ALGORITHMS
    assert choice.SILHOUETTE_ALGORITHMS is original          # `from .rules import` copied it
    with pytest.raises(RuntimeError):
        with cache.patched_constants({"SILHOUETTE_ALGORITHMS": ("kmeans",)}):
            assert choice.SILHOUETTE_ALGORITHMS == ("kmeans",) == rules.SILHOUETTE_ALGORITHMS
            raise RuntimeError("restored even so")
    assert choice.SILHOUETTE_ALGORITHMS is original and rules.SILHOUETTE_ALGORITHMS is original
    with pytest.raises(AttributeError, match="NO_SUCH_THRESHOLD"):
        with cache.patched_constants({"NO_SUCH_THRESHOLD": 1}):
            pass


def test_parse_grid(cache):
    assert cache.parse_grid(["DENSITY_WCNN_TOLERANCE=0,0.005", "DENSITY_MIN_SEGMENT=10,25"]) == {
        "DENSITY_WCNN_TOLERANCE": [0, 0.005], "DENSITY_MIN_SEGMENT": [10, 25]}
    assert cache.parse_grid(["WORKING_K=3:8,4:6"]) == {"WORKING_K": [(3, 8), (4, 6)]}
    with pytest.raises(ValueError):
        cache.parse_grid(["WEAK_SILHOUETTE"])


# ---------------------------------------------------------------------------------------------
# The cache end to end: one small generated set through custseg


def test_the_cache_holds_what_a_run_chose(generated, quality, cache, tmp_path):
    """One custseg run (as quality.py runs it) on a small generated set: its cache entry, read
    back through load_or_build, gives today's choice the labels the run gave each row."""
    from custseg import segment
    from custseg.segmenting.choice import choose

    name = "generated/blobs_k3_d2_separated"
    root = generated.write_battery(tmp_path / "data", seed=0, names=[name.split("/")[1]])
    data = quality.load_set(name, root)
    csv = quality.write_csv(data.matrix, tmp_path / "set.csv")
    result = segment(str(csv), random_state=quality.SEED, report=False)
    key = cache.cache_key()
    cache.save_entry(cache.entry_from_result(data, result, key=key), cache.cache_path(name, key, tmp_path / "cache"))

    seen = []
    entry = cache.load_or_build([name], root, tmp_path / "cache", on_entry=lambda e, c: seen.append(c))[0]
    assert seen == [True]                 # read from the cache, not run again
    assert (entry.name, entry.n, entry.n_rows, entry.k_range, entry.battery) == (name, 600, 600, (2, 10), "generated")
    assert len(entry.candidates) == len(result.found.candidates) > 5
    assert entry.candidates[entry.chosen].label == result.found.chosen.label
    labels, k = cache.rechoose(entry, choose)
    # the run's own labels per row, through segments_frame() and the ids, as quality.py reads them
    by_id = quality.labels_by_id(result.segments_frame(), len(data.matrix))
    assert k == result.found.chosen.k == 3 and np.array_equal(labels, by_id)
    assert cache.score_choice(entry, choose).ari == quality.score_against(by_id, data.references[0]) == 1.0


def test_an_entry_reads_back_whichever_name_the_module_had(cache, tmp_path, monkeypatch):
    """A cache written by the script (module ``__main__``) must read back in the tests or a
    notebook (another module name): entries are saved as plain fields."""
    import importlib.util

    candidate = cache.fake_candidate("kmeans", [0, 0, 1], silhouette=0.5, stability=0.75)
    path = tmp_path / "a__s.pkl"
    cache.save_entry(cache.make_entry("a/s", [candidate], [np.array([1, 1, 2])]), path)
    spec = importlib.util.spec_from_file_location("another_name_for_the_cache", cache.__file__)
    other = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, other)   # dataclasses look their module up there
    spec.loader.exec_module(other)
    entry = other.read_entry(path)
    assert type(entry) is other.CacheEntry and entry.name == "a/s"
    assert entry.candidates[0].labels.tolist() == [0, 0, 1] and entry.candidates[0].stability_min == 0.75


def test_the_docstring_examples_hold(cache, generated):
    """benchmarks/ is outside the doctest paths: the modules' examples (the module docstring's
    leave-one-battery-out demonstration with today's choose) are run here."""
    import doctest

    for module in (cache, generated):
        failed, tried = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert tried > 3 and failed == 0, module.__name__


# ---------------------------------------------------------------------------------------------
# Choosing again on the cache is the run's own choice, bodies and every module's thresholds too


@pytest.mark.parametrize("name, divided", [("wut/x3", False), ("graves/line", True)])
def test_choosing_again_on_the_cache_is_the_runs_choice(quality, cache, shared_data, name, divided):
    """Two small labelled sets run as quality.py runs them: today's choose on the cache gives
    every row the run's segment. On graves/line the run divides a body beside a small group:
    the cache holds only the candidates the choice was given, and its body_divider builds the
    body candidates again from the cached matrix."""
    from custseg.segmenting.choice import choose

    entry = cache.run_search(name, shared_data / "clustering-benchmarks")
    assert "body" not in {c.algorithm for c in entry.candidates}
    assert (entry.chosen is None) == divided          # the run chose a candidate built during the choice
    labels, k = cache.rechoose(entry, choose)
    assert np.array_equal(labels[entry.rows], entry.chosen_labels)
    assert k == len(np.unique(entry.chosen_labels[entry.chosen_labels >= 0]))
    assert cache.same_as_run(entry)
    if divided:
        # without the body divider no candidate keeps the small group: the choice differs
        without, _ = cache.rechoose(entry, choose, divide_body=lambda natural, totals: [])
        assert not np.array_equal(without[entry.rows], entry.chosen_labels)


def test_every_threshold_of_the_choice_can_be_patched(cache):
    from custseg.segmenting import rules, stability, structure

    names = cache.choice_thresholds()
    assert {"WEAK_SILHOUETTE", "DENSITY_MIN_SEGMENT", "MAX_SEGMENT_SHARE", "WORKING_K", "TWO_GROUPS_MIN_D",
            "KEEP_GROUP_JACCARD", "UNSTABLE_BELOW", "STABLE_FROM"} <= set(names)
    assert set(cache.STUDY_GRID) | set(cache.NOT_VARIED) == set(names)   # every one studied or said why not
    for name, values in cache.STUDY_GRID.items():
        assert names[name] in values, name                               # today's value is in its grid
    before = (structure.MAX_SEGMENT_SHARE, structure.WORKING_K, stability.UNSTABLE_BELOW, structure.UNSTABLE_BELOW)
    with cache.patched_constants({"MAX_SEGMENT_SHARE": 0.7, "WORKING_K": (4, 6), "UNSTABLE_BELOW": 0.5}):
        assert (structure.MAX_SEGMENT_SHARE, structure.WORKING_K) == (0.7, (4, 6))
        assert stability.UNSTABLE_BELOW == structure.UNSTABLE_BELOW == 0.5   # the copy in structure too
        assert structure.working_range((2, 10)) == (4, 6)
    assert (structure.MAX_SEGMENT_SHARE, structure.WORKING_K, stability.UNSTABLE_BELOW,
            structure.UNSTABLE_BELOW) == before
    assert rules.WEAK_SILHOUETTE is structure.WEAK_SILHOUETTE


def test_a_structure_threshold_changes_the_choice_on_the_cache(cache):
    """A weak three-way cut whose largest segment holds 70% beside a stable balanced four-way
    one: under MAX_SEGMENT_SHARE = 0.55 the 70% segment makes it a continuum to divide (four
    working segments), at 0.8 the three groups stand."""
    cut = np.r_[np.zeros(42, dtype=int), np.ones(9, dtype=int), np.full(9, 2)]
    three = cache.fake_candidate("kmeans", cut, silhouette=0.45, stability=0.9)
    four = cache.fake_candidate("kmeans", np.repeat([0, 1, 2, 3], 15), silhouette=0.40, stability=0.9)
    three.largest_share, four.largest_share = 0.7, 0.25
    entry = cache.make_entry("a/s", [three, four], [cut + 1])
    assert cache.rechoose(entry, cache.threshold_choose({"MAX_SEGMENT_SHARE": 0.55}))[1] == 4
    assert cache.rechoose(entry, cache.threshold_choose({"MAX_SEGMENT_SHARE": 0.8}))[1] == 3
