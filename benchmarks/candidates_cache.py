"""A cache of custseg's scored candidates per labelled set, to study the choice in seconds.

    python benchmarks/candidates_cache.py                      # the 45 sets -> the cache (once per src/ commit)
    python benchmarks/candidates_cache.py --generated          # also the generated battery (benchmarks/generated.py)
    python benchmarks/candidates_cache.py --lobo WEAK_SILHOUETTE=0.4,0.5,0.6
    python benchmarks/candidates_cache.py --lobo DENSITY_WCNN_TOLERANCE=0,0.005,0.01,0.02 --sets fcps/hepta,wut/x3

Running custseg's search on the 45 sets takes minutes; the choice among its candidates takes
milliseconds. So each set is run **once**, as ``benchmarks/quality.py`` runs it
(``segment(csv, random_state=0, report=False)``), and everything the choice needs is pickled:
the scored candidates (`custseg.segmenting.candidates.Candidate`: algorithm, k, labels,
silhouette, wcnn, BIC, stability per segment, noise and smallest shares, density fields ...),
the elbow, the number of customers, the k range and the two switches of
`custseg.segmenting.choice.choose` (``density_k_max``, ``density_evidence``), with the row
of the input each customer came from and the set's reference partitions. One pickle per set
under ``CACHE_DIR/<key>/``, where the key is the last git commit that changed the ``src/``
custseg was imported from (plus a hash of its uncommitted changes, if any): a cache never
outlives the code that computed it.

`rechoose` runs a choice function on a cached set and returns one label per input row, as
``quality.py`` maps custseg's segments (rows custseg dropped are noise, -1); `score_choice`
scores it with ``quality.py``'s protocol; `lobo` chooses thresholds by
**leave-one-battery-out**: for each battery, the grid values with the best mean ARI on the
other batteries are scored on it.

The entry keeps the model matrix and the search options too, so that a body beside small
separated groups is divided again as the search divides it (`body_divider`, the
``divide_body`` of ``choose``; built once per process): choosing again with today's rules
gives each run's own segments (``--check``; `same_as_run`).

Every threshold of the choice (`choice_thresholds`: the constants of `CHOICE_MODULES`,
``rules``, ``structure`` and ``stability``) is varied with `threshold_choose`, which patches
it for the duration of each call of ``choose`` (in every ``custseg.segmenting`` module that
imported the same object under that name) and restores it afterwards. A name that none of
them defines is an error, never silently ignored. ``--study`` runs leave-one-battery-out for
each of them in turn over `STUDY_GRID` (and jointly over ``--joint`` names) and prints the
tables of ``benchmarks/QUALITY.md``'s section "Leave-one-battery-out".

Example, on two hand-made "sets" whose candidates are a weak two-way split and a stable
three-way one (``make_entry`` builds a cache entry from plain labels, as the tests do):

>>> import numpy as np
>>> truth2, truth3 = np.repeat([1, 2], 30), np.repeat([1, 2, 3], 20)
>>> def candidates(silhouette2):
...     two = fake_candidate("kmeans", np.repeat([0, 1], 30), silhouette=silhouette2, stability=0.9)
...     three = fake_candidate("kmeans", np.repeat([0, 1, 2], 20), silhouette=0.4, stability=0.9)
...     return [two, three]
>>> entries = [make_entry("a/two", candidates(0.45), [truth2]),
...            make_entry("b/three", candidates(0.45), [truth3])]
>>> result = lobo(entries, {"WEAK_SILHOUETTE": [0.4, 0.5]}, threshold_choose)
>>> result.held_out["a"].values, result.held_out["b"].values
({'WEAK_SILHOUETTE': 0.5}, {'WEAK_SILHOUETTE': 0.4})
>>> round(result.held_out_median, 3), round(result.in_sample.median, 3), result.in_sample.values
(0.432, 0.716, {'WEAK_SILHOUETTE': 0.4})

Each battery's best value is wrong for the other one: held out, each set gets the partition
it does not have (ARI 0.432 both), while in-sample one set is right and the median looks
better (0.716) than anything a new set can expect.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import itertools
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

HERE = Path(__file__).resolve().parent
CACHE_DIR = Path(tempfile.gettempdir()) / "custseg-candidates"
SEED = 0


def sibling(name: str):
    """Import ``benchmarks/NAME.py`` (not a package) once, under the name the tests give it."""
    key = f"custseg_bench_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, HERE / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[key]


# ---------------------------------------------------------------------------------------------
# Cache entries


@dataclass
class CacheEntry:
    """What one run of custseg's search on one labelled set leaves for the choice.

    Attributes
    ----------
    name : str
        ``battery/name``.
    candidates : list of Candidate
        ``result.found.candidates``, every scored candidate, as the run computed them.
    elbow : dict
        ``result.found.elbow``.
    n : int
        Customers the search saw (rows of the model matrix).
    k_range : tuple of int or None
        ``result.k_range``, as the search was given it.
    density_k_max : int or None
        As `custseg.segmenting.search.search` passes it to ``choose``.
    density_evidence : bool
        False when categoricals were clustered.
    rows : ndarray of int of shape (n,)
        The input row (0-based) of each customer, in the candidates' label order.
    n_rows : int
        Rows of the input matrix; rows not in ``rows`` were dropped by cleaning (noise).
    references : list of ndarray
        The set's reference partitions (0 = noise, 1..k).
    chosen : int or None
        Index in ``candidates`` of what the run chose.
    key : str
        The cache key of the code that computed it (`code_key`).
    seconds : float
        Wall time of the ``segment`` call.
    options : dict
        Extra custseg settings of the run.
    matrix : ndarray of shape (n, d) or None
        The model matrix the search saw: what `body_divider` divides a body with.
    search_options : SearchOptions or None
        The search's options (seed, samples) for the same purpose.
    default_range : bool
        Whether the k range was custseg's default (``density_k_max`` then follows
        ``DENSITY_MAX_SEGMENTS``).
    chosen_labels : ndarray or None
        The run's chosen labels per customer: a rechoose with today's rules must equal them.

    The candidates are those the choice was given: the run's body candidates (built by
    ``divide_body`` during the choice) are left out and built again by `body_divider`.
    """

    name: str
    candidates: list
    elbow: dict
    n: int
    k_range: tuple[int, int] | None
    density_k_max: int | None
    density_evidence: bool
    rows: np.ndarray
    n_rows: int
    references: list[np.ndarray]
    chosen: int | None = None
    key: str = ""
    seconds: float = 0.0
    options: dict = field(default_factory=dict)
    matrix: np.ndarray | None = None
    search_options: object = None
    default_range: bool = False
    chosen_labels: np.ndarray | None = None

    @property
    def battery(self) -> str:
        return self.name.split("/")[0]


def code_key(package_dir: Path | None = None) -> str:
    """The cache key of custseg's code: the last commit that changed its ``src/``, and a hash
    of the uncommitted changes there when there are some.

    Parameters
    ----------
    package_dir : Path, optional
        The ``custseg`` package folder; by default the one imported.

    Returns
    -------
    str
        e.g. ``e0e4c29`` or ``e0e4c29-dirty-1a2b3c4d``; ``unknown`` outside a git checkout.
    """
    if package_dir is None:
        import custseg
        package_dir = Path(custseg.__file__).resolve().parent
    src = package_dir.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=src, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("log", "-1", "--format=%h", "--", ".")
    if not commit:
        return "unknown"
    diff = git("diff", "HEAD", "--", ".") + git("ls-files", "--others", "--exclude-standard", "--", ".")
    return commit if not diff else f"{commit}-dirty-{hashlib.sha1(diff.encode()).hexdigest()[:8]}"


def cache_path(name: str, key: str, cache_dir: Path = CACHE_DIR) -> Path:
    """Where one set's entry lives: ``cache_dir/key/battery__name.pkl``."""
    return cache_dir / key / f"{name.replace('/', '__')}.pkl"


def run_search(name: str, data_dir: Path, options: dict | None = None, key: str = "") -> CacheEntry:
    """Run custseg on one set exactly as ``quality.py`` does and keep what the choice needs.

    Parameters
    ----------
    name : str
        ``battery/name`` under ``data_dir``.
    data_dir : Path
        The folder of batteries.
    options : dict, optional
        Extra settings for `custseg.segment` (as ``--custseg-option``).
    key : str
        Recorded in the entry (`code_key`).

    Returns
    -------
    CacheEntry
    """
    from custseg import segment
    from custseg.segmenting.stability import every_candidate_measured

    quality = sibling("quality")
    data = quality.load_set(name, data_dir)
    with tempfile.TemporaryDirectory(prefix="custseg-cache-") as folder:
        path = quality.write_csv(data.matrix, Path(folder) / f"{name.replace('/', '_')}.csv")
        start = time.perf_counter()
        # Every candidate's stability, not only that of the candidates today's rule looks at:
        # a rule studied from the cache may look at others.
        with every_candidate_measured():
            result = segment(str(path), random_state=SEED, report=False, **(options or {}))
        seconds = time.perf_counter() - start
    return entry_from_result(data, result, seconds=seconds, options=options, key=key)


def entry_from_result(data, result, *, seconds: float = 0.0, options: dict | None = None, key: str = "") -> CacheEntry:
    """The cache entry of one custseg run (``result``, a `custseg.pipeline.Result`) on ``data``
    (``quality.py``'s ``DataSet``, written as a CSV whose ``id`` column is 1..n)."""
    from custseg.segmenting.body import BODY
    from custseg.segmenting.options import SearchOptions
    from custseg.segmenting.rules import DENSITY_MAX_SEGMENTS

    found, settings = result.found, result.settings
    k_range = tuple(result.k_range) if result.k_range is not None else None
    default_range = settings.k_range_is_default and k_range is not None
    matrix = result.plan.transform(result.table.data)
    search_options = SearchOptions.from_settings(settings, k_max=k_range[1]) if k_range is not None else None
    given = [c for c in found.candidates if c.algorithm != BODY]
    if search_options is not None:
        add_inner_separations(given, matrix, search_options)
    return CacheEntry(
        name=data.name, candidates=given, elbow=dict(found.elbow),
        n=len(found.chosen.labels), k_range=k_range,
        density_k_max=max(k_range[1], DENSITY_MAX_SEGMENTS) if default_range else None,
        density_evidence=not result.plan.categories,
        rows=result.table.ids.astype(np.int64).to_numpy() - 1, n_rows=len(data.matrix),
        references=data.references,
        chosen=next((i for i, c in enumerate(given) if c is found.chosen), None),
        key=key, seconds=seconds, options=dict(options or {}),
        matrix=np.asarray(matrix, dtype=np.float64), search_options=search_options,
        default_range=bool(default_range), chosen_labels=np.asarray(found.chosen.labels).copy(),
    )


def add_inner_separations(candidates: list, matrix: np.ndarray, options) -> None:
    """Measure `inner_separation` of every two-way cut that has a `separation` but none (the
    search measures it only from ``TWO_GROUPS_MIN_D``), so that a lower ``TWO_GROUPS_MIN_D``
    can be tried on the cache. It changes nothing at today's value: below it a cut is not two
    groups whatever is inside."""
    from custseg.segmenting.structure import inner_separation

    for candidate in candidates:
        if candidate.k == 2 and candidate.separation and candidate.inner_separation is None:
            candidate.inner_separation = inner_separation(matrix, candidate.labels, options.mixture_sample,
                                                          options.random_state)


def save_entry(entry: CacheEntry, path: Path) -> None:
    """Pickle one entry to ``path``, atomically (a run stopped half-way leaves no entry).

    The entry goes in as a plain dict of its fields: this module is loaded under several
    names (``__main__`` as a script, another in the tests), and a pickled ``CacheEntry``
    could be read back only under the name that wrote it. The candidates are custseg's own
    class, found by its module.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as handle:
        pickle.dump(dict(vars(entry)), handle, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(path)


def read_entry(path: Path) -> CacheEntry:
    """One entry saved by `save_entry`."""
    with path.open("rb") as handle:
        return CacheEntry(**pickle.load(handle))


def cache_key(options: dict | None = None) -> str:
    """`code_key`, and a hash of the extra custseg settings when there are some."""
    key = code_key()
    if options:
        key += "-" + hashlib.sha1(repr(sorted(options.items())).encode()).hexdigest()[:8]
    return key


def load_or_build(names: list[str], data_dir: Path, cache_dir: Path = CACHE_DIR, options: dict | None = None,
                  on_entry: Callable | None = None, key: str | None = None) -> list[CacheEntry]:
    """Every set's entry: read from the cache when this code computed it, else run and saved.

    Parameters
    ----------
    names : list of str
        ``battery/name`` under ``data_dir``.
    data_dir : Path
    cache_dir : Path
    options : dict, optional
        Extra settings for custseg; a run with options is cached under its own key.
    on_entry : callable, optional
        Called as ``on_entry(entry, from_cache)`` for each set.
    key : str, optional
        The cache key to read and write (default `cache_key` of the code imported).

    Returns
    -------
    list of CacheEntry
    """
    from threadpoolctl import threadpool_limits

    key = key or cache_key(options)
    notify = on_entry or (lambda entry, cached: None)
    entries = []
    for name in names:
        path = cache_path(name, key, cache_dir)
        cached = path.exists()
        if cached:
            entry = read_entry(path)
        else:
            with threadpool_limits(limits=1):
                entry = run_search(name, data_dir, options, key)
            save_entry(entry, path)
        entries.append(entry)
        notify(entry, cached)
    return entries


# ---------------------------------------------------------------------------------------------
# Choosing again


def rechoose(entry: CacheEntry, choose_fn: Callable, divide_body: Callable | None = None) -> tuple[np.ndarray, int]:
    """Run a choice function on a cached set; its labels per input row, and its k.

    Parameters
    ----------
    entry : CacheEntry
    choose_fn : callable
        Called as `custseg.segmenting.choice.choose` is by the search:
        ``choose_fn(candidates, elbow, n, k_range, density_k_max=..., density_evidence=...,
        divide_body=...)``; returns a ``Choice`` (its ``.chosen``) or a candidate.
    divide_body : callable, optional
        As the search passes it; by default `body_divider` of the entry (None for an entry
        without its matrix, e.g. `make_entry`'s).

    Returns
    -------
    labels : ndarray of int of shape (n_rows,)
        The chosen candidate's segment of each input row; -1 for noise and dropped rows.
    k : int
        The chosen candidate's k.
    """
    if divide_body is None:
        divide_body = body_divider(entry)
    choice = choose_fn(entry.candidates, entry.elbow, entry.n, entry.k_range,
                       density_k_max=entry.density_k_max, density_evidence=entry.density_evidence,
                       divide_body=divide_body)
    chosen = getattr(choice, "chosen", choice)
    labels = np.full(entry.n_rows, -1, dtype=np.int64)
    labels[entry.rows] = chosen.labels
    return labels, int(chosen.k)


_BODIES: dict = {}


def body_divider(entry: CacheEntry) -> Callable | None:
    """The ``divide_body`` of `custseg.segmenting.search.search` for a cached set: the same
    body candidates (`custseg.segmenting.body.body_candidates`, scored and with their
    stability, on the entry's matrix and search options). Each (natural, totals) is built once
    per process, so a grid of thresholds pays for it once. None without the entry's matrix."""
    if entry.matrix is None or entry.search_options is None:
        return None

    def divide_body(natural, totals: tuple[int, int]) -> list:
        from custseg.segmenting.body import body_candidates
        from custseg.segmenting.scores import NeighbourSample, score_candidate
        from custseg.segmenting.stability import measure_stability

        key = (entry.name, entry.key, id(natural), tuple(totals))
        if key not in _BODIES:
            matrix, options = entry.matrix, entry.search_options
            neighbours = NeighbourSample(matrix, options.silhouette_sample, options.random_state)
            found = body_candidates(natural, matrix, options, range(totals[0], totals[1] + 1))
            for candidate in found:
                score_candidate(candidate, matrix, options, neighbours)
            measure_stability(found, matrix, options)
            _BODIES[key] = (natural, found)      # natural kept alive: its id stays its own
        return _BODIES[key][1]

    return divide_body


def same_as_run(entry: CacheEntry, choose_fn: Callable | None = None) -> bool:
    """Whether choosing again on the cache with today's rules gives the run's own segments."""
    from custseg.segmenting.choice import choose

    labels, _ = rechoose(entry, choose_fn or choose)
    return bool(np.array_equal(labels[entry.rows], entry.chosen_labels))


_SCORES: dict = {}


def score_choice(entry: CacheEntry, choose_fn: Callable):
    """``quality.py``'s score (best ARI over the references, k found) of a choice on one set.

    A grid often chooses the same candidate again: its score is computed once per process."""
    quality = sibling("quality")
    chosen = []

    def remember(*args, **kwargs):
        choice = choose_fn(*args, **kwargs)
        chosen.append(getattr(choice, "chosen", choice))
        return choice

    labels, k = rechoose(entry, remember)
    key = (entry.name, entry.key, id(chosen[0]))
    if key not in _SCORES or _SCORES[key][0] is not chosen[0]:
        _SCORES[key] = (chosen[0], quality.score(quality.Prediction(labels, k, 0.0), entry.references))
    return _SCORES[key][1]


#: The modules whose constants are thresholds of the choice, searched in this order.
CHOICE_MODULES = ("custseg.segmenting.rules", "custseg.segmenting.structure", "custseg.segmenting.stability")


def choice_thresholds() -> dict:
    """Every threshold of the choice, ``{NAME: value}``: the upper-case constants of
    `CHOICE_MODULES` that each defines (not those it imports from another).

    Examples
    --------
    >>> names = choice_thresholds()
    >>> names["WEAK_SILHOUETTE"], names["MAX_SEGMENT_SHARE"], names["UNSTABLE_BELOW"]
    (0.5, 0.55, 0.6)
    """
    found = {}
    for module in map(importlib.import_module, CHOICE_MODULES):
        found.update({name: getattr(module, name) for name in sorted(_defined(module))})
    return found


def _defined(module) -> set[str]:
    """The upper-case constants a module assigns itself (not those it imports)."""
    import inspect
    import re

    return set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*=", inspect.getsource(module), re.M))


def defining_module(name: str):
    """The module of `CHOICE_MODULES` that defines constant ``name`` (else the first that has
    it); AttributeError if none has it."""
    modules = list(map(importlib.import_module, CHOICE_MODULES))
    for module in [m for m in modules if name in _defined(m)] + modules:
        if hasattr(module, name):
            return module
    raise AttributeError(f"no module of the choice ({', '.join(CHOICE_MODULES)}) has {name}")


@contextlib.contextmanager
def patched_constants(values: dict, module=None):
    """Set constants of the choice's modules (`CHOICE_MODULES`, or ``module``) for a while.

    Every module of the same package that imported the same object under that name is
    patched too (``from .rules import NAME`` copies the value). Restored on exit.

    Parameters
    ----------
    values : dict
        ``{NAME: value}``; every NAME must exist in ``module`` (or one of `CHOICE_MODULES`).
    module : module, optional
        The one module to look the names up in; by default the first of `CHOICE_MODULES`
        that has each.

    Examples
    --------
    >>> from custseg.segmenting import rules
    >>> before = rules.WEAK_SILHOUETTE
    >>> with patched_constants({"WEAK_SILHOUETTE": 0.25}):
    ...     rules.WEAK_SILHOUETTE
    0.25
    >>> rules.WEAK_SILHOUETTE == before
    True
    >>> from custseg.segmenting import structure
    >>> with patched_constants({"MAX_SEGMENT_SHARE": 0.6, "UNSTABLE_BELOW": 0.5}):
    ...     structure.MAX_SEGMENT_SHARE, structure.UNSTABLE_BELOW
    (0.6, 0.5)
    """
    if module is not None:
        missing = sorted(name for name in values if not hasattr(module, name))
        if missing:
            raise AttributeError(f"{module.__name__} has no {', '.join(missing)}")
    owners = {name: module if module is not None else defining_module(name) for name in values}
    saved = []
    try:
        for name, value in values.items():
            package = owners[name].__name__.rpartition(".")[0] + "."
            original = getattr(owners[name], name)
            for other in [m for key, m in list(sys.modules.items()) if key.startswith(package) and m is not None]:
                if getattr(other, name, None) is original:
                    saved.append((other, name, original))
                    setattr(other, name, value)
        yield
    finally:
        for other, name, original in reversed(saved):
            setattr(other, name, original)


def threshold_choose(values: dict) -> Callable:
    """A choice function: today's `custseg.segmenting.choice.choose` with the choice's constants
    set to ``values`` while it runs (`patched_constants`); the ``make_choose`` of `lobo`.
    ``DENSITY_MAX_SEGMENTS`` also moves ``density_k_max`` as the search derives it."""
    from custseg.segmenting import choice

    def choose_fn(candidates, elbow, n, k_range, **kwargs):
        if "DENSITY_MAX_SEGMENTS" in values and kwargs.get("density_k_max") is not None:
            kwargs["density_k_max"] = max(k_range[1], values["DENSITY_MAX_SEGMENTS"])
        with patched_constants(values):
            return choice.choose(candidates, elbow, n, k_range, **kwargs)

    return choose_fn


# ---------------------------------------------------------------------------------------------
# Leave one battery out


@dataclass
class Pick:
    """Grid values chosen on some sets, and their scores on the sets they are judged on."""

    values: dict
    median: float
    mean: float
    right_k: float
    sets: int
    fit_mean: float | None = None      # the mean ARI on the sets the values were chosen on


@dataclass
class LoboResult:
    """Leave-one-battery-out over a grid of thresholds.

    Attributes
    ----------
    held_out : dict of str to Pick
        Per battery: the values chosen on the other batteries, scored on this one.
    held_out_median, held_out_mean, held_out_right_k : float
        Over every set, each scored with the values chosen without its battery.
    in_sample : Pick
        The values with the best mean ARI on all sets, scored on all sets.
    grid : list of dict
        Every combination tried, in order.
    per_set : dict of str to list of float
        Per set, its ARI under each combination of ``grid``.
    baseline : Pick or None
        The ``baseline`` values scored on all sets, when given.
    held_out_scores : dict of str to MethodResult
        Per set, its score under the values chosen without its battery.
    """

    held_out: dict
    held_out_median: float
    held_out_mean: float
    held_out_right_k: float
    in_sample: Pick
    grid: list
    per_set: dict
    baseline: Pick | None = None
    held_out_scores: dict = field(default_factory=dict)
    scores: dict = field(default_factory=dict)


def grid_combinations(grid: dict) -> list[dict]:
    """Every combination of the grid's values, the first name varying slowest.

    Examples
    --------
    >>> grid_combinations({"A": [1, 2], "B": [0.5]})
    [{'A': 1, 'B': 0.5}, {'A': 2, 'B': 0.5}]
    """
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def _pick(combos: list[dict], scores: dict, chosen_on: list[str], judged_on: list[str],
          prefer: int | None = None) -> Pick:
    """The combination with the best mean ARI on ``chosen_on`` (then the best median, then
    ``prefer``'s index when given, then the earliest in the grid), scored on ``judged_on``."""
    def fit(index: int) -> tuple[float, float, bool, int]:
        aris = [scores[name][index].ari for name in chosen_on]
        return statistics.fmean(aris), statistics.median(aris), index == prefer, -index

    best = max(range(len(combos)), key=fit)
    judged = [scores[name][best] for name in judged_on]
    return Pick(values=combos[best], median=statistics.median(r.ari for r in judged),
                mean=statistics.fmean(r.ari for r in judged), right_k=sum(r.k_found for r in judged) / len(judged),
                sets=len(judged), fit_mean=fit(best)[0])


def lobo(entries: list[CacheEntry], grid: dict, make_choose: Callable, baseline: dict | None = None,
         keep_baseline_on_ties: bool = False) -> LoboResult:
    """Choose threshold values by leave-one-battery-out, and score them where they were not chosen.

    Parameters
    ----------
    entries : list of CacheEntry
        At least two batteries.
    grid : dict
        ``{NAME: [values, ...]}``; every combination is tried.
    make_choose : callable
        ``make_choose(values) -> choose_fn`` (e.g. `threshold_choose`), ``values`` one
        combination as a dict.
    baseline : dict, optional
        Values to score on all sets as well (e.g. today's constants).
    keep_baseline_on_ties : bool, default False
        Whether a tie of mean and median goes to ``baseline`` (when it is in the grid) rather
        than to the earliest values: on a flat threshold, today's value stays.

    Returns
    -------
    LoboResult
    """
    batteries = sorted({e.battery for e in entries})
    if len(batteries) < 2:
        raise ValueError(f"leave-one-battery-out needs two batteries or more, got {batteries}")
    combos = grid_combinations(grid)
    if baseline is not None and baseline not in combos:
        combos.append(dict(baseline))
    choosers = [make_choose(values) for values in combos]
    scores = {e.name: [score_choice(e, fn) for fn in choosers] for e in entries}
    names = [e.name for e in entries]
    grid_only = list(range(len(grid_combinations(grid))))
    sub = [combos[i] for i in grid_only]
    prefer = sub.index(dict(baseline)) if keep_baseline_on_ties and baseline is not None and dict(baseline) in sub else None
    held_out, pooled, held_out_scores = {}, [], {}
    for battery in batteries:
        inside = [e.name for e in entries if e.battery == battery]
        outside = [name for name in names if name not in inside]
        held_out[battery] = _pick(sub, scores, outside, inside, prefer)
        best = combos.index(held_out[battery].values)
        pooled += [scores[name][best] for name in inside]
        held_out_scores.update({name: scores[name][best] for name in inside})
    baseline_pick = None
    if baseline is not None:
        index = combos.index(dict(baseline))
        chosen = [scores[name][index] for name in names]
        baseline_pick = Pick(dict(baseline), statistics.median(r.ari for r in chosen),
                             statistics.fmean(r.ari for r in chosen), sum(r.k_found for r in chosen) / len(chosen),
                             len(chosen))
    return LoboResult(
        held_out=held_out,
        held_out_median=statistics.median(r.ari for r in pooled),
        held_out_mean=statistics.fmean(r.ari for r in pooled),
        held_out_right_k=sum(r.k_found for r in pooled) / len(pooled),
        in_sample=_pick(sub, scores, names, names, prefer),
        grid=combos, per_set={name: [r.ari for r in scores[name]] for name in names},
        baseline=baseline_pick, held_out_scores=held_out_scores, scores=scores,
    )


def lobo_table(result: LoboResult) -> str:
    """A leave-one-battery-out result as Markdown: one row per held-out battery, then overall."""
    def values(v: dict) -> str:
        return ", ".join(f"{k}={x}" for k, x in v.items())

    rows = ["| held out | sets | values chosen on the other batteries | their mean there | "
            "median ARI held out | mean ARI held out | right k |",
            "|---|---:|---|---:|---:|---:|---:|"]
    for battery, pick in result.held_out.items():
        rows.append(f"| {battery} | {pick.sets} | {values(pick.values)} | {pick.fit_mean:.3f} | "
                    f"{pick.median:.3f} | {pick.mean:.3f} | {pick.right_k:.0%} |")
    rows.append(f"| **all, held out** | {sum(p.sets for p in result.held_out.values())} | | | "
                f"**{result.held_out_median:.3f}** | **{result.held_out_mean:.3f}** | {result.held_out_right_k:.0%} |")
    s = result.in_sample
    rows.append(f"| all, in-sample | {s.sets} | {values(s.values)} | {s.fit_mean:.3f} | {s.median:.3f} | "
                f"{s.mean:.3f} | {s.right_k:.0%} |")
    if result.baseline is not None:
        b = result.baseline
        rows.append(f"| all, today's values | {b.sets} | {values(b.values)} | | {b.median:.3f} | {b.mean:.3f} | "
                    f"{b.right_k:.0%} |")
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------
# Every threshold, one at a time and jointly

#: The values tried for every threshold of the choice that the cache can vary (`study`):
#: today's value and sensible ones on either side.
STUDY_GRID = {
    "SILHOUETTE_TOLERANCE": [0.0, 0.005, 0.01, 0.02, 0.04],
    "MIN_SEGMENT_SHARE": [0.005, 0.01, 0.02, 0.03],
    "MIN_SEGMENT_SIZE": [3, 5, 10, 20],
    "MAX_NOISE_SHARE": [0.1, 0.25, 0.4],
    "DENSITY_MAX_NOISE": [0.2, 0.3, 0.4, 0.5],
    "DENSITY_MIN_SEGMENT": [10, 15, 25, 40, 60],
    "DENSITY_WCNN_TOLERANCE": [0.0, 0.005, 0.01, 0.02],
    "DENSITY_OVERRIDE_TOLERANCE": [0.0, 0.001, 0.0025, 0.005, 0.01],
    "DENSITY_MAX_SEGMENTS": [10, 15, 20, 30],
    "WEAK_SILHOUETTE": [0.35, 0.4, 0.45, 0.5, 0.55, 0.6],
    "MAX_SEGMENT_SHARE": [0.45, 0.5, 0.55, 0.6, 0.7, 0.8],
    "WORKING_K": [(3, 6), (3, 8), (3, 10), (4, 8), (2, 8)],
    "BODY_K": [(3, 8), (3, 10), (3, 12)],
    "TWO_GROUPS_MIN_D": [1.5, 1.75, 2.0, 2.25, 2.5, 3.0],
    "KEEP_GROUP_JACCARD": [0.6, 0.7, 0.8, 0.9],
    "UNSTABLE_BELOW": [0.4, 0.5, 0.6, 0.7],
    "STABLE_FROM": [0.6, 0.7, 0.75, 0.8, 0.85],
}
#: Constants of the choice's modules that the cache does not vary, and why.
NOT_VARIED = {
    "SILHOUETTE_ALGORITHMS": "a list of algorithms, not a number (issue 9 measured it: mixtures on silhouette "
                             "lowered uci's median from 0.49 to 0.24)",
    "TWO_GROUPS_MIN_SHARE": "applied while the search measures `separation`, before the choice",
    "HIGHLY_STABLE_FROM": "words and figures only; the choice never reads it",
    "STABILITY_FRACTION": "how stability is measured, not a threshold of the choice",
}
#: A threshold whose grid moves no set's ARI by more than this is flat.
FLAT_CHANGE = 0.01
GENERATED = "generated"
#: The heading of the hand-written reading that ``--write`` keeps below the tables.
READING = "### Reading"


def summary(results: list) -> tuple[float, float, float]:
    """Median ARI, mean ARI and the share of right k of some sets' scores (NaN for none)."""
    if not results:
        return float("nan"), float("nan"), float("nan")
    aris = [r.ari for r in results]
    return statistics.median(aris), statistics.fmean(aris), sum(r.k_found for r in results) / len(results)


def _fmt(values: tuple[float, float, float]) -> str:
    if np.isnan(values[0]):
        return "-"
    return f"{values[0]:.3f} / {values[1]:.3f} / {values[2]:.0%}"


def _value(value) -> str:
    return f"{value[0]}..{value[1]}" if isinstance(value, tuple) else f"{value:g}"


@dataclass
class StudyRow:
    """One threshold's leave-one-battery-out (or a joint grid's): the result and what it moves."""

    names: list[str]
    today: dict
    result: LoboResult
    changed: list[str]          # sets whose ARI moves by more than FLAT_CHANGE over the grid

    def part(self, dev: bool, held_out: bool) -> tuple[float, float, float]:
        """Median, mean and right k on the 45 dev sets (``dev``) or the generated battery."""
        names = [n for n in self.result.per_set if (n.split("/")[0] != GENERATED) == dev]
        if held_out:
            return summary([self.result.held_out_scores[n] for n in names])
        index = self.result.grid.index(self.result.in_sample.values)
        return self._at(index, names)

    def today_part(self, dev: bool) -> tuple[float, float, float]:
        names = [n for n in self.result.per_set if (n.split("/")[0] != GENERATED) == dev]
        return self._at(self.result.grid.index(self.today), names)

    def _at(self, index: int, names: list[str]) -> tuple[float, float, float]:
        return summary([self.result.scores[n][index] for n in names])


def study_one(entries: list[CacheEntry], grid: dict) -> StudyRow:
    """Leave-one-battery-out over ``grid`` (one threshold or several), with today's values."""
    today = {name: choice_thresholds()[name] for name in grid}
    result = lobo(entries, grid, threshold_choose, baseline=today, keep_baseline_on_ties=True)
    changed = [n for n, aris in result.per_set.items() if max(aris) - min(aris) > FLAT_CHANGE]
    return StudyRow(list(grid), today, result, changed)


def study_table(rows: list[StudyRow]) -> str:
    """One line per threshold: today's value, what LOBO chooses, and the held-out scores."""
    out = ["| threshold | today | values tried | chosen on all 9 batteries | chosen held out (per battery) | "
           "sets moved | 45 sets held out (median / mean / right k) | 45 sets, today's value | "
           "generated held out | generated, today's value |",
           "|---|---:|---|---:|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        name = row.names[0]
        picks = [p.values[name] for p in row.result.held_out.values()]
        counted = ", ".join(f"{_value(v)} x{picks.count(v)}" for v in dict.fromkeys(picks))
        tried = ", ".join(_value(v) for v in dict.fromkeys(c[name] for c in row.result.grid))
        out.append(f"| `{name}` | {_value(row.today[name])} | {tried} | {_value(row.result.in_sample.values[name])} "
                   f"| {counted} | {len(row.changed)} | {_fmt(row.part(True, True))} | {_fmt(row.today_part(True))} "
                   f"| {_fmt(row.part(False, True))} | {_fmt(row.today_part(False))} |")
    return "\n".join(out)


def joint_table(row: StudyRow) -> str:
    """A joint grid's leave-one-battery-out: per battery (`lobo_table`), then the 45 sets and
    the generated battery apart."""
    parts = [lobo_table(row.result), "",
             "| sets | held out (median / mean / right k) | in-sample | today's values |",
             "|---|---:|---:|---:|"]
    for dev, label in ((True, "the 45 sets"), (False, "the generated battery")):
        parts.append(f"| {label} | {_fmt(row.part(dev, True))} | {_fmt(row.part(dev, False))} | "
                     f"{_fmt(row.today_part(dev))} |")
    return "\n".join(parts)


def study_section(entries: list[CacheEntry], joint: list[str], key: str) -> str:
    """The "Leave-one-battery-out" section of ``benchmarks/QUALITY.md``: every threshold, its
    value today, one at a time over `STUDY_GRID`, then ``joint`` together."""
    thresholds = choice_thresholds()
    rows = [study_one(entries, {name: values}) for name, values in STUDY_GRID.items()]
    batteries = sorted({e.battery for e in entries})
    lines = [
        "## Leave-one-battery-out",
        "",
        f"Measured with `python benchmarks/candidates_cache.py --generated --study"
        f"{' --joint ' + ','.join(joint) if joint else ''} --write` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"the choice at git `{code_key()}`, on the candidate cache of git `{key}` (each set run once as "
        f"`quality.py` runs it; the choice made again on the cached candidates, bodies divided again: at `{key}`, "
        f"`--check` gives every run's own segments, and each set's ARI equals `quality.py`'s). "
        f"{len(entries)} sets in {len(batteries)} batteries: the 8 of the 45 sets and the generated battery "
        "as a 9th. For each battery, the value with the best mean ARI on the other 8 is scored on it "
        "(ties: the better median, then today's value); \"in-sample\" is the value chosen on all 9. "
        "Cells: median ARI / mean ARI / right k.",
        "",
        "### The thresholds of the choice",
        "",
        "| threshold | module | value today |",
        "|---|---|---:|",
    ]
    for name, value in thresholds.items():
        module = defining_module(name).__name__.rpartition(".")[2]
        shown = ", ".join(value) if isinstance(value, tuple) and isinstance(value[0], str) else _value(value)
        lines.append(f"| `{name}` | {module}.py | {shown} |")
    lines += ["", "Not varied here: " + "; ".join(f"`{n}`: {why}" for n, why in NOT_VARIED.items()) + ".", "",
              "### One at a time", "",
              f"Every other threshold at today's value. \"Sets moved\": sets whose ARI changes by more than "
              f"{FLAT_CHANGE} anywhere on the grid (0: flat, nothing to choose).", "", study_table(rows)]
    if joint:
        lines += ["", f"### Jointly: {', '.join(f'`{n}`' for n in joint)}", "",
                  joint_table(study_one(entries, {name: STUDY_GRID[name] for name in joint}))]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Hand-made entries (the tests and the example above)


def fake_candidate(algorithm: str, labels, *, silhouette: float | None = None, stability: float | None = None,
                   wcnn: float | None = None, **scores):
    """A scored `Candidate` from plain labels (0..k-1, -1 noise), without fitting anything."""
    from custseg.segmenting.candidates import Candidate

    labels = np.asarray(labels, dtype=np.int64)
    sizes = np.bincount(labels[labels >= 0])
    candidate = Candidate(algorithm, len(sizes), labels, assigner=None, silhouette=silhouette, wcnn=wcnn,
                          noise_share=float(np.mean(labels < 0)), smallest_share=float(sizes.min() / len(labels)),
                          **scores)
    if stability is not None:
        candidate.stability = {segment: stability for segment in range(len(sizes))}
    return candidate


def make_entry(name: str, candidates: list, references: list, k_range: tuple[int, int] | None = (2, 10)) -> CacheEntry:
    """A cache entry of hand-made candidates over ``len(references[0])`` rows, none dropped."""
    n = len(references[0])
    return CacheEntry(name=name, candidates=candidates, elbow={}, n=n, k_range=k_range, density_k_max=None,
                      density_evidence=True, rows=np.arange(n), n_rows=n,
                      references=[np.asarray(r) for r in references])


# ---------------------------------------------------------------------------------------------
# Command line


def parse_grid(items: list[str]) -> dict:
    """``["NAME=v1,v2", ...]`` -> ``{NAME: [v1, v2]}`` (numbers as floats, whole ones as ints,
    ``a:b`` as the pair ``(a, b)``, e.g. ``WORKING_K``).

    Examples
    --------
    >>> parse_grid(["WEAK_SILHOUETTE=0.4,0.5", "DENSITY_MIN_SEGMENT=10,25", "WORKING_K=3:8,2:6"])
    {'WEAK_SILHOUETTE': [0.4, 0.5], 'DENSITY_MIN_SEGMENT': [10, 25], 'WORKING_K': [(3, 8), (2, 6)]}
    """
    def number(text: str):
        return int(text) if float(text).is_integer() and "." not in text else float(text)

    grid = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not text.strip():
            raise ValueError(f"--lobo wants NAME=v1,v2,..., got {item!r}")
        grid[name.strip()] = [tuple(number(x) for x in v.split(":")) if ":" in v else number(v)
                              for v in (t.strip() for t in text.split(",")) if v]
    return grid


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    quality = sibling("quality")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=quality.DATA, help="folder of batteries (default the 45 sets)")
    parser.add_argument("--sets", help="comma-separated battery/name (default every set under --data)")
    parser.add_argument("--generated", action="store_true",
                        help="also the generated battery (written to the temp folder first)")
    parser.add_argument("--cache", type=Path, default=CACHE_DIR, help=f"cache folder (default {CACHE_DIR})")
    parser.add_argument("--lobo", action="append", default=[], metavar="NAME=v1,v2,...",
                        help="a rules constant and its values to choose by leave-one-battery-out (repeatable)")
    parser.add_argument("--study", action="store_true",
                        help="leave-one-battery-out for every threshold of the choice over STUDY_GRID")
    parser.add_argument("--joint", default="", help="comma-separated thresholds to study jointly (with --study)")
    parser.add_argument("--write", action="store_true",
                        help="write the study into benchmarks/QUALITY.md's section Leave-one-battery-out")
    parser.add_argument("--key", default=None,
                        help="read the cache of this key instead of the code's own (valid when only the choice's "
                             "constants changed since: the candidates do not depend on them)")
    parser.add_argument("--check", action="store_true",
                        help="check that choosing again on the cache gives each run's own segments")
    parser.add_argument("--custseg-option", action="append", metavar="KEY=VALUE",
                        help="extra custseg setting (cached under its own key)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    quality = sibling("quality")
    names = [n.strip() for n in args.sets.split(",")] if args.sets else quality.list_sets(args.data)
    options = quality.parse_options(args.custseg_option)

    def show(entry: CacheEntry, cached: bool) -> None:
        chosen = entry.candidates[entry.chosen] if entry.chosen is not None else None
        what = f"{chosen.algorithm} k={chosen.k}" if chosen is not None else "a divided body"
        print(f"{entry.name:32s} {'cached' if cached else f'{entry.seconds:5.1f} s'}  "
              f"{len(entry.candidates)} candidates, chose {what}", flush=True)

    start = time.perf_counter()
    entries = load_or_build(names, args.data, args.cache, options, show, args.key)
    if args.generated:
        generated = sibling("generated")
        folder = generated.write_battery()
        entries += load_or_build(quality.list_sets(folder), folder, args.cache, options, show, args.key)
    print(f"{len(entries)} sets in {time.perf_counter() - start:.0f} s (cache {args.cache / entries[0].key})")
    if args.check:
        differ = [e.name for e in entries if not same_as_run(e)]
        print(f"choosing again on the cache gives the run's segments on {len(entries) - len(differ)} of "
              f"{len(entries)} sets" + (f"; not on {', '.join(differ)}" if differ else ""))
    if args.study:
        joint = [n.strip() for n in args.joint.split(",") if n.strip()]
        start = time.perf_counter()
        section = study_section(entries, joint, entries[0].key)
        print(section)
        print(f"(study: {time.perf_counter() - start:.0f} s)")
        if args.write:
            out = HERE / "QUALITY.md"
            text = out.read_text(encoding="utf-8")
            old = text.partition(quality.LOBO_BEGIN)[2].partition(quality.LOBO_END)[0]
            if READING in old:          # the hand-written reading of the tables stays
                section += "\n" + READING + old.partition(READING)[2].rstrip() + "\n"
            out.write_text(quality.with_section(text, section, quality.LOBO_BEGIN, quality.LOBO_END), encoding="utf-8")
    if args.lobo:
        grid = parse_grid(args.lobo)
        start = time.perf_counter()
        result = lobo(entries, grid, threshold_choose, baseline={n: getattr(defining_module(n), n) for n in grid})
        print(f"\nleave-one-battery-out over {len(result.grid)} combinations, {len(entries)} sets "
              f"({time.perf_counter() - start:.1f} s):\n")
        print(lobo_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
