"""How well custseg chooses a segmentation, on 45 labelled data sets, against standard recipes.

    python benchmarks/quality.py                      # all 45 sets -> benchmarks/QUALITY.md (+ .json)
    python benchmarks/quality.py --jobs 2             # the same, two sets at a time
    python benchmarks/quality.py --quick              # 6 small sets; exits 1 if custseg falls behind
    python benchmarks/quality.py --sets fcps/hepta,wut/x3 [--out PATH]
    python benchmarks/quality.py --custseg-option algorithms=kmeans --custseg-option n_init=10
    python benchmarks/quality.py --generated          # our generated battery -> its section of QUALITY.md
    python benchmarks/quality.py --data DIR [--out PATH]   # any folder of batteries, same protocol

The data are Gagolewski's *clustering-data-v1* batteries in
``../shared/data/clustering-benchmarks/`` (never copied into the repository): one folder per
battery, each set a whitespace-separated matrix ``NAME.data.gz`` and reference partitions
``NAME.labels0.gz``, ``NAME.labels1.gz``, ... (0 = noise point, 1..k = cluster).

Protocol (that of ``shared/data/README.md``; every method runs on every set in the same run):

* **custseg** gets the matrix as it is, as a CSV with columns ``id`` (1..n) and ``x1..xd``, and
  runs in-process as ``custseg run FILE --seed 0 --no-report`` would:
  ``segment(csv, random_state=0, report=False)`` with its defaults (``--custseg-option``
  adds settings for experiments). Its segments are mapped back to rows by id; a row missing
  from ``segments_frame()`` (dropped by cleaning) is a noise point. Its k is
  ``result.found.chosen.k``; its time is the ``segment`` call alone.
* **Recipes** get the matrix standardised column by column (constant columns dropped); k is
  searched in 2..10:

  - ``kmeans_silhouette``: ``KMeans(n_init=10, random_state=0)``, the best silhouette;
  - ``vote``: the same fits; silhouette (max), Calinski-Harabasz (max), Davies-Bouldin (min)
    and the elbow (``KneeLocator`` on the inertia, convex, decreasing; no vote when it finds
    no knee) each vote for a k; most votes wins, a tie goes to the silhouette's choice;
  - ``ward_silhouette``: ``AgglomerativeClustering(linkage="ward")``, the best silhouette
    (one tree, cut at each k);
  - ``hdbscan_default``: ``sklearn.cluster.HDBSCAN()`` with its defaults; its k is its
    number of non-noise clusters.

  and, as a reference shown apart (not a recipe, it is told the answer):
  ``kmeans_true_k``: ``KMeans(n_init=10, random_state=0)`` with k = the number of clusters
  of ``labels0``.
* **Large sets**: above 10,000 points the silhouette is
  ``silhouette_score(..., sample_size=10000, random_state=0)``; above 20,000 points Ward and
  HDBSCAN are fitted on a seeded sample of 20,000 points and every other point takes the label
  of its nearest sampled point (``NearestNeighbors``; a noise neighbour stays noise). Only
  ``sipu/birch1`` (100,000 points) is that large.
* **Score**: the adjusted Rand index (``sklearn.metrics.adjusted_rand_score``) against one
  reference, on the points whose reference label is not 0; every predicted noise point
  (label -1) counts as a cluster of its own. A set's score is the best over its references;
  "k found" means the chosen k equals the number of clusters of any reference. A method that
  fails on a set scores 0 there, without k found, and the failure is listed.
* **Headline**: the median and mean ARI over the sets and the share of sets with k found,
  the median of each battery beside it, and a table per set.

A run on every set writes ``benchmarks/QUALITY.md`` (or ``--out``) and the raw results beside
it as JSON (``QUALITY.json``), for later runs to diff. A run on some sets (``--sets``,
``--quick``) writes Markdown only when ``--out`` is given, and never the JSON. ``--quick``
exits non-zero when custseg's median ARI on its sets is below the ``kmeans_silhouette``
recipe's median minus 0.02.

``--generated`` draws the generated battery (``benchmarks/generated.py``: about 24 sets of our
own, into the system's temporary folder) and runs the same protocol on it as a battery of its
own, ``generated``. Its results go to their own section of ``QUALITY.md`` (or to ``--out``),
replaced in place; the 45-set headline, its tables and ``QUALITY.json`` are left as they are,
and a full run on the 45 sets keeps that section. ``--data DIR`` runs any folder laid out as
the batteries are; it writes Markdown only to ``--out`` unless DIR is the 45 sets' folder.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT.parent / "shared" / "data" / "clustering-benchmarks"
DEFAULT_OUT = HERE / "QUALITY.md"

K_RANGE = range(2, 11)
SEED = 0
N_INIT = 10
SILHOUETTE_SAMPLE = 10_000     # above this many points the silhouette is estimated on a sample
FIT_SAMPLE = 20_000            # above this many points Ward and HDBSCAN are fitted on a sample
QUICK_SETS = ("fcps/hepta", "wut/x3", "graves/zigzag", "sipu/spiral", "uci/wine", "wut/mk2")
QUICK_TOLERANCE = 0.02

CUSTSEG = "custseg"
RECIPES = ("kmeans_silhouette", "vote", "ward_silhouette", "hdbscan_default")
REFERENCE = "kmeans_true_k"
#: custseg's natural finding (issue 19): what the data has, where custseg recommends working
#: segments beside it (a body divided, a continuum cut into 3-8), else its recommendation.
#: Shown apart, like the reference: it is not what a user gets as segments.
NATURAL = "custseg_natural"
METHODS = (CUSTSEG, NATURAL, *RECIPES, REFERENCE)


@dataclass
class DataSet:
    """One labelled data set: its matrix and its reference partitions.

    Attributes
    ----------
    name : str
        ``battery/name``, e.g. ``fcps/hepta``.
    matrix : ndarray of shape (n, d)
    references : list of ndarray of shape (n,)
        Integer labels, 0 = noise, 1..k = cluster.
    """

    name: str
    matrix: np.ndarray
    references: list[np.ndarray]

    @property
    def battery(self) -> str:
        return self.name.split("/")[0]

    @property
    def true_ks(self) -> list[int]:
        """The number of clusters of each reference, in order."""
        return [reference_k(reference) for reference in self.references]


@dataclass
class Prediction:
    """One method's partition of one set.

    Attributes
    ----------
    labels : ndarray of shape (n,) or None
        Cluster labels, -1 = noise; ``None`` when the method failed.
    k : int or None
        The number of clusters the method chose (HDBSCAN: its non-noise clusters).
    seconds : float
        Wall time of the method on this set.
    algorithm : str or None
        custseg only: the algorithm it chose.
    dropped : int
        custseg only: rows missing from its segments (scored as noise).
    error : str or None
        Why the method failed, when it did.
    """

    labels: np.ndarray | None
    k: int | None
    seconds: float
    algorithm: str | None = None
    dropped: int = 0
    error: str | None = None


@dataclass
class MethodResult:
    """A prediction's score on one set (what goes into the JSON)."""

    ari: float
    k: int | None
    k_found: bool
    seconds: float
    algorithm: str | None = None
    dropped: int = 0
    error: str | None = None


@dataclass
class SetResult:
    """Every method's score on one set."""

    name: str
    n: int
    d: int
    true_ks: list[int]
    methods: dict[str, MethodResult] = field(default_factory=dict)

    @property
    def battery(self) -> str:
        return self.name.split("/")[0]


# ---------------------------------------------------------------------------------------------
# Data


def list_sets(data_dir: Path = DATA) -> list[str]:
    """Every set under ``data_dir`` as ``battery/name``, sorted.

    Parameters
    ----------
    data_dir : Path
        The ``clustering-benchmarks`` folder.

    Returns
    -------
    list of str
    """
    return sorted(f"{path.parent.name}/{path.name.removesuffix('.data.gz')}"
                  for path in data_dir.glob("*/*.data.gz"))


def load_set(name: str, data_dir: Path = DATA) -> DataSet:
    """Read one set's matrix and all its reference partitions.

    Parameters
    ----------
    name : str
        ``battery/name``, e.g. ``fcps/hepta``.
    data_dir : Path
        The ``clustering-benchmarks`` folder.

    Returns
    -------
    DataSet
    """
    stem = data_dir / name
    matrix = np.loadtxt(f"{stem}.data.gz", ndmin=2)
    references = []
    while (path := Path(f"{stem}.labels{len(references)}.gz")).exists():
        references.append(np.loadtxt(path, dtype=np.int64, ndmin=1))
    if not references:
        raise FileNotFoundError(f"{name}: no {stem.name}.labels0.gz beside its data")
    for reference in references:
        if reference.shape != (matrix.shape[0],):
            raise ValueError(f"{name}: {reference.shape[0]} labels for {matrix.shape[0]} points")
    return DataSet(name, matrix, references)


def standardise(matrix: np.ndarray) -> np.ndarray:
    """Centre and scale every column to unit variance, dropping constant columns.

    Parameters
    ----------
    matrix : ndarray of shape (n, d)

    Returns
    -------
    ndarray of shape (n, d')
        ``d'`` is the number of non-constant columns.
    """
    spread = matrix.std(axis=0)
    keep = spread > 0
    return (matrix[:, keep] - matrix[:, keep].mean(axis=0)) / spread[keep]


# ---------------------------------------------------------------------------------------------
# Scoring


def reference_k(reference: np.ndarray) -> int:
    """The number of clusters of a reference partition: its distinct labels other than 0 (noise)."""
    return len(np.setdiff1d(np.unique(reference), [0]))


def predicted_k(labels: np.ndarray) -> int:
    """The number of clusters of a prediction: its distinct labels other than -1 (noise)."""
    return len(np.setdiff1d(np.unique(labels), [-1]))


def noise_as_singletons(labels: np.ndarray) -> np.ndarray:
    """Give every noise point (label -1) a label of its own, unused by any other point.

    Parameters
    ----------
    labels : ndarray of int

    Returns
    -------
    ndarray of int
        A copy of ``labels`` in which the noise points are labelled ``max + 1, max + 2, ...``.
    """
    out = np.asarray(labels, dtype=np.int64).copy()
    noise = out == -1
    out[noise] = out.max(initial=0) + 1 + np.arange(noise.sum())
    return out


def score_against(labels: np.ndarray, reference: np.ndarray) -> float:
    """ARI of a prediction against one reference, on the points the reference does not call noise.

    Parameters
    ----------
    labels : ndarray of shape (n,)
        The prediction; -1 = noise, each noise point counting as a cluster of its own.
    reference : ndarray of shape (n,)
        The reference; 0 = noise, excluded from the comparison.

    Returns
    -------
    float
    """
    from sklearn.metrics import adjusted_rand_score

    kept = reference != 0
    return float(adjusted_rand_score(reference[kept], noise_as_singletons(labels)[kept]))


def score(prediction: Prediction, references: list[np.ndarray]) -> MethodResult:
    """Score a prediction on one set: the best ARI over the references, and whether k is found.

    Parameters
    ----------
    prediction : Prediction
    references : list of ndarray

    Returns
    -------
    MethodResult
        ARI 0 and k not found when the method failed.
    """
    extras = dict(seconds=prediction.seconds, algorithm=prediction.algorithm,
                  dropped=prediction.dropped, error=prediction.error)
    if prediction.labels is None:
        return MethodResult(ari=0.0, k=prediction.k, k_found=False, **extras)
    ari = max(score_against(prediction.labels, reference) for reference in references)
    k_found = prediction.k in {reference_k(reference) for reference in references}
    return MethodResult(ari=ari, k=prediction.k, k_found=k_found, **extras)


# ---------------------------------------------------------------------------------------------
# Recipes


def silhouette(matrix: np.ndarray, labels: np.ndarray) -> float:
    """Silhouette score, estimated on a seeded sample of 10,000 points above that size."""
    from sklearn.metrics import silhouette_score

    sample = SILHOUETTE_SAMPLE if len(matrix) > SILHOUETTE_SAMPLE else None
    return float(silhouette_score(matrix, labels, sample_size=sample, random_state=SEED))


def kmeans(matrix: np.ndarray, k: int):
    """``KMeans(n_clusters=k, n_init=10, random_state=0)`` fitted on ``matrix``."""
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=N_INIT, random_state=SEED).fit(matrix)


def vote(scores: dict[str, dict[int, float]], elbow: int | None) -> int:
    """The k with most votes of silhouette, Calinski-Harabasz, Davies-Bouldin and elbow.

    Parameters
    ----------
    scores : dict
        ``{"silhouette": {k: value}, "calinski_harabasz": {...}, "davies_bouldin": {...}}``.
    elbow : int or None
        The elbow's k; ``None`` (no knee found) casts no vote.

    Returns
    -------
    int
        The most voted k; a tie goes to the silhouette's choice (or else the smallest k).
    """
    by_silhouette = max(scores["silhouette"], key=scores["silhouette"].get)
    ballots = [
        by_silhouette,
        max(scores["calinski_harabasz"], key=scores["calinski_harabasz"].get),
        min(scores["davies_bouldin"], key=scores["davies_bouldin"].get),
    ]
    if elbow is not None:
        ballots.append(elbow)
    counts = {k: ballots.count(k) for k in ballots}
    winners = [k for k, count in counts.items() if count == max(counts.values())]
    return by_silhouette if by_silhouette in winners else min(winners)


def kmeans_recipes(matrix: np.ndarray) -> dict[str, Prediction]:
    """``kmeans_silhouette`` and ``vote``: one K-Means fit per k in 2..10, two ways to choose.

    Parameters
    ----------
    matrix : ndarray
        Standardised.

    Returns
    -------
    dict of str to Prediction
        ``kmeans_silhouette``'s time is the fits and silhouettes; ``vote``'s adds its other
        criteria.
    """
    from kneed import KneeLocator
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

    start = time.perf_counter()
    fits = {k: kmeans(matrix, k) for k in K_RANGE}
    scores = {"silhouette": {k: silhouette(matrix, fit.labels_) for k, fit in fits.items()}}
    by_silhouette = max(scores["silhouette"], key=scores["silhouette"].get)
    silhouette_seconds = time.perf_counter() - start
    scores["calinski_harabasz"] = {k: calinski_harabasz_score(matrix, f.labels_) for k, f in fits.items()}
    scores["davies_bouldin"] = {k: davies_bouldin_score(matrix, f.labels_) for k, f in fits.items()}
    ks = list(fits)
    knee = KneeLocator(ks, [fits[k].inertia_ for k in ks], curve="convex", direction="decreasing").knee
    by_vote = vote(scores, None if knee is None else int(knee))
    vote_seconds = time.perf_counter() - start
    return {
        "kmeans_silhouette": Prediction(fits[by_silhouette].labels_, by_silhouette, silhouette_seconds),
        "vote": Prediction(fits[by_vote].labels_, by_vote, vote_seconds),
    }


def fit_sample(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The rows to fit a costly method on, and each point's nearest of them.

    Parameters
    ----------
    matrix : ndarray of shape (n, d)

    Returns
    -------
    sample : ndarray of int
        Row indices: all rows up to 20,000 points, else a seeded sample of 20,000.
    nearest : ndarray of int or None
        For each of the n points, the position in ``sample`` of its nearest sampled point;
        ``None`` when every row is in the sample.
    """
    from sklearn.neighbors import NearestNeighbors

    if len(matrix) <= FIT_SAMPLE:
        return np.arange(len(matrix)), None
    sample = np.sort(np.random.default_rng(SEED).choice(len(matrix), FIT_SAMPLE, replace=False))
    nearest = NearestNeighbors(n_neighbors=1).fit(matrix[sample]).kneighbors(matrix, return_distance=False)
    return sample, nearest[:, 0]


def ward_silhouette(matrix: np.ndarray) -> Prediction:
    """Ward for k in 2..10 (on a 20,000 sample above that size), the best silhouette.

    The tree is built once (``compute_full_tree=True``, cached in a temporary folder) and
    cut at every k.
    """
    from sklearn.cluster import AgglomerativeClustering

    start = time.perf_counter()
    sample, nearest = fit_sample(matrix)
    labels, scores = {}, {}
    with tempfile.TemporaryDirectory(prefix="quality-ward-") as cache:
        for k in K_RANGE:
            model = AgglomerativeClustering(n_clusters=k, linkage="ward", compute_full_tree=True,
                                            memory=cache)
            fitted = model.fit_predict(matrix[sample])
            labels[k] = fitted if nearest is None else fitted[nearest]
            scores[k] = silhouette(matrix, labels[k])
    best = max(scores, key=scores.get)
    return Prediction(labels[best], best, time.perf_counter() - start)


def hdbscan_default(matrix: np.ndarray) -> Prediction:
    """``HDBSCAN()`` with its defaults (on a 20,000 sample above that size); k = its clusters.

    ``copy=True`` changes no result (it is the default from scikit-learn 1.10 on); it only keeps
    HDBSCAN from writing into its input and silences the warning about that change.
    """
    from sklearn.cluster import HDBSCAN

    start = time.perf_counter()
    sample, nearest = fit_sample(matrix)
    fitted = HDBSCAN(copy=True).fit_predict(matrix[sample])  # copy: silences a FutureWarning
    labels = fitted if nearest is None else fitted[nearest]
    return Prediction(labels, predicted_k(labels), time.perf_counter() - start)


def kmeans_true_k(matrix: np.ndarray, k: int) -> Prediction:
    """The reference: K-Means told the number of clusters of ``labels0``."""
    start = time.perf_counter()
    labels = kmeans(matrix, k).labels_
    return Prediction(labels, k, time.perf_counter() - start)


def recipes(data: DataSet, with_reference: bool = True) -> dict[str, Prediction]:
    """Every recipe (and the ``kmeans_true_k`` reference) on one set's standardised matrix.

    Parameters
    ----------
    data : DataSet
    with_reference : bool
        Also run ``kmeans_true_k``.

    Returns
    -------
    dict of str to Prediction
        A recipe that raises is recorded with its error and no labels.
    """
    matrix = standardise(data.matrix)
    steps = {
        "kmeans_recipes": lambda: kmeans_recipes(matrix),
        "ward_silhouette": lambda: {"ward_silhouette": ward_silhouette(matrix)},
        "hdbscan_default": lambda: {"hdbscan_default": hdbscan_default(matrix)},
    }
    if with_reference:
        steps[REFERENCE] = lambda: {REFERENCE: kmeans_true_k(matrix, data.true_ks[0])}
    out = {}
    for step, run in steps.items():
        try:
            out.update(run())
        except Exception as exc:  # noqa: BLE001 - one failing recipe must not end the run
            names = ("kmeans_silhouette", "vote") if step == "kmeans_recipes" else (step,)
            out.update({name: Prediction(None, None, 0.0, error=repr(exc)) for name in names})
    return out


# ---------------------------------------------------------------------------------------------
# custseg


def parse_options(items: list[str] | None) -> dict:
    """Turn ``["key=value", ...]`` into keyword settings for `custseg.segment`.

    ``features``, ``exclude`` and ``algorithms`` take comma-separated names; whole numbers
    become ints, other numbers floats, anything else stays a string.

    Parameters
    ----------
    items : list of str or None

    Returns
    -------
    dict
    """
    from custseg.settings import parse_list

    options = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--custseg-option wants KEY=VALUE, got {item!r}")
        key, text = key.strip(), text.strip()
        if key in ("features", "exclude", "algorithms"):
            value = parse_list(text)
        else:
            try:
                value = int(text)
            except ValueError:
                try:
                    value = float(text)
                except ValueError:
                    value = text
        options[key] = value
    return options


def labels_by_id(frame, n: int) -> np.ndarray:
    """custseg's segments as one label per row; rows absent from ``frame`` are noise (-1).

    Parameters
    ----------
    frame : DataFrame
        ``result.segments_frame()``: columns ``id`` (1..n, as text or numbers) and ``segment``.
    n : int
        Rows in the input.

    Returns
    -------
    ndarray of int of shape (n,)
    """
    labels = np.full(n, -1, dtype=np.int64)
    labels[frame["id"].astype(np.int64).to_numpy() - 1] = frame["segment"].to_numpy()
    return labels


def write_csv(matrix: np.ndarray, path: Path) -> Path:
    """Write ``matrix`` as a CSV with columns ``id`` (1..n) and ``x1..xd``, at full precision."""
    import pandas as pd

    frame = pd.DataFrame(matrix, columns=[f"x{j + 1}" for j in range(matrix.shape[1])])
    frame.insert(0, "id", np.arange(1, len(matrix) + 1))
    frame.to_csv(path, index=False)
    return path


def custseg_run(data: DataSet, options: dict | None = None) -> tuple[Prediction, Prediction]:
    """custseg on one set as a user runs it (``custseg run FILE --seed 0 --no-report``).

    Parameters
    ----------
    data : DataSet
    options : dict, optional
        Extra settings for `custseg.segment` (experiments only).

    Returns
    -------
    Prediction, Prediction
        The recommendation, timed from the ``segment`` call (which reads the CSV) to its
        segments frame; and the natural finding (`NATURAL`), the same when there is none.
    """
    from custseg import segment

    with tempfile.TemporaryDirectory(prefix="quality-custseg-") as folder:
        path = write_csv(data.matrix, Path(folder) / f"{data.name.replace('/', '_')}.csv")
        start = time.perf_counter()
        try:
            result = segment(str(path), random_state=SEED, report=False, **(options or {}))
            frame = result.segments_frame()
        except Exception as exc:  # noqa: BLE001 - one failing set must not end the run
            failed = Prediction(None, None, time.perf_counter() - start, error=repr(exc))
            return failed, failed
        seconds = time.perf_counter() - start
    chosen, natural = result.found.chosen, result.found.natural or result.found.chosen
    dropped = len(data.matrix) - len(frame)
    # segments_frame() lists the used customers in the order of the run's labels
    found = frame.assign(segment=natural.labels)
    return (Prediction(labels_by_id(frame, len(data.matrix)), int(chosen.k), seconds,
                       algorithm=chosen.algorithm, dropped=dropped),
            Prediction(labels_by_id(found, len(data.matrix)), int(natural.k), 0.0,
                       algorithm=natural.algorithm, dropped=dropped))


# ---------------------------------------------------------------------------------------------
# One set, many sets


def evaluate(name: str, data_dir: Path = DATA, options: dict | None = None,
             methods: tuple[str, ...] = METHODS) -> SetResult:
    """Run and score the chosen methods on one set.

    Parameters
    ----------
    name : str
        ``battery/name``.
    data_dir : Path
    options : dict, optional
        Extra settings for custseg.
    methods : tuple of str
        Which of `METHODS` to run; leave out ``custseg`` to run the recipes only.

    Returns
    -------
    SetResult
    """
    data = load_set(name, data_dir)
    predictions = {}
    if CUSTSEG in methods:
        predictions[CUSTSEG], predictions[NATURAL] = custseg_run(data, options)
    if set(methods) & {*RECIPES, REFERENCE}:
        predictions.update(recipes(data, with_reference=REFERENCE in methods))
    return SetResult(
        name=name, n=data.matrix.shape[0], d=data.matrix.shape[1], true_ks=data.true_ks,
        methods={m: score(predictions[m], data.references) for m in methods if m in predictions},
    )


def _evaluate_limited(name: str, data_dir: Path, options: dict | None, methods: tuple[str, ...],
                      threads: int) -> SetResult:
    """`evaluate` with the BLAS and OpenMP thread pools capped at ``threads``."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return evaluate(name, data_dir, options, methods)


def _evaluate_star(args: tuple) -> SetResult:
    return _evaluate_limited(*args)


def evaluate_all(names: list[str], data_dir: Path = DATA, options: dict | None = None,
                 methods: tuple[str, ...] = METHODS, jobs: int = 1, threads: int = 1,
                 on_result=None) -> list[SetResult]:
    """Evaluate every set, ``jobs`` at a time, and return the results in the order of ``names``.

    Parameters
    ----------
    names : list of str
    data_dir : Path
    options : dict, optional
        Extra settings for custseg.
    methods : tuple of str
        Which of `METHODS` to run.
    jobs : int
        Sets evaluated at once, each in a fresh worker process when more than one.
    threads : int
        BLAS and OpenMP threads per set. One by default: on a small shared machine a second
        OpenMP thread mostly spins (K-Means on 1,000 points ran 80 times slower with two).
    on_result : callable, optional
        Called with each `SetResult` as it finishes.

    Returns
    -------
    list of SetResult
    """
    notify = on_result or (lambda result: None)
    tasks = [(name, data_dir, options, methods, threads) for name in names]
    if jobs <= 1:
        results = []
        for task in tasks:
            results.append(_evaluate_star(task))
            notify(results[-1])
        return results
    # the largest sets first, so that the slowest does not start last
    tasks.sort(key=lambda task: (data_dir / f"{task[0]}.data.gz").stat().st_size, reverse=True)
    done = {}
    with multiprocessing.Pool(jobs, maxtasksperchild=1) as pool:
        for result in pool.imap_unordered(_evaluate_star, tasks):
            done[result.name] = result
            notify(result)
    return [done[name] for name in names]


# ---------------------------------------------------------------------------------------------
# Summary and report


def summarise(results: list[SetResult]) -> dict:
    """Median ARI, mean ARI and share of sets with k found, per method and per battery.

    Parameters
    ----------
    results : list of SetResult

    Returns
    -------
    dict
        ``{"methods": {method: {"median", "mean", "right_k", "sets"}},
        "batteries": {battery: {"sets": int, method: median}}}``.
    """
    methods = [m for m in METHODS if any(m in r.methods for r in results)]
    overall = {}
    for method in methods:
        scored = [r.methods[method] for r in results if method in r.methods]
        aris = [s.ari for s in scored]
        overall[method] = {
            "median": statistics.median(aris),
            "mean": statistics.fmean(aris),
            "right_k": sum(s.k_found for s in scored) / len(scored),
            "sets": len(scored),
        }
    batteries = {}
    for battery in sorted({r.battery for r in results}):
        members = [r for r in results if r.battery == battery]
        batteries[battery] = {"sets": len(members)} | {
            m: statistics.median(r.methods[m].ari for r in members if m in r.methods)
            for m in methods if any(m in r.methods for r in members)
        }
    return {"methods": overall, "batteries": batteries}


def quick_gate(summary: dict, tolerance: float = QUICK_TOLERANCE) -> tuple[bool, str]:
    """Whether custseg's median ARI is no worse than ``kmeans_silhouette``'s minus ``tolerance``.

    Returns
    -------
    ok : bool
    message : str
    """
    ours = summary["methods"][CUSTSEG]["median"]
    theirs = summary["methods"]["kmeans_silhouette"]["median"]
    ok = ours >= theirs - tolerance
    verdict = "ok" if ok else "FAIL"
    return ok, (f"{verdict}: custseg median ARI {ours:.3f} vs kmeans_silhouette {theirs:.3f} "
                f"(allowed down to {theirs - tolerance:.3f})")


def headline_table(summary: dict) -> str:
    """The headline as a Markdown table: one row per method, the reference last."""
    rows = ["| method | median ARI | mean ARI | right k | sets |", "|---|---:|---:|---:|---:|"]
    for method, s in summary["methods"].items():
        label = {REFERENCE: f"{method} (reference: told k)",
                 NATURAL: f"{method} (custseg's natural finding, not its segments)"}.get(method, method)
        rows.append(f"| {label} | {s['median']:.3f} | {s['mean']:.3f} | {s['right_k']:.0%} | {s['sets']} |")
    return "\n".join(rows)


#: Issue 9's targets for custseg's default on the 45 sets.
TARGETS = {"median": 0.90, "mean": 0.78, "right_k": 0.65, "battery_gap": 0.05}


def targets_table(summary: dict) -> str:
    """Issue 9's targets, each met or not, from this run's figures (Markdown)."""
    ours = summary["methods"].get(CUSTSEG)
    if ours is None:
        return "custseg was not run."
    recipes = [m for m in summary["methods"] if m not in (CUSTSEG, NATURAL, REFERENCE)]
    rows = ["| target | measured | met |", "|---|---|---|"]

    def row(text: str, value: str, ok: bool) -> None:
        rows.append(f"| {text} | {value} | {'yes' if ok else '**no**'} |")

    row(f"median ARI >= {TARGETS['median']:.2f}", f"{ours['median']:.3f}", ours["median"] >= TARGETS["median"])
    row(f"mean ARI >= {TARGETS['mean']:.2f}", f"{ours['mean']:.3f}", ours["mean"] >= TARGETS["mean"])
    row(f"right k >= {TARGETS['right_k']:.0%}", f"{ours['right_k']:.1%}", ours["right_k"] >= TARGETS["right_k"])
    for battery, medians in summary["batteries"].items():
        best = max(recipes, key=lambda m: medians.get(m, float("-inf")))
        gap = medians[best] - medians[CUSTSEG]
        row(f"{battery}: median no more than {TARGETS['battery_gap']} below the best recipe's",
            f"{medians[CUSTSEG]:.3f} vs {best} {medians[best]:.3f}", gap <= TARGETS["battery_gap"])
    return "\n".join(rows)


def battery_table(summary: dict) -> str:
    """Median ARI per battery (rows) and method (columns), as Markdown."""
    methods = list(summary["methods"])
    rows = ["| battery | sets | " + " | ".join(methods) + " |",
            "|---|---:|" + "---:|" * len(methods)]
    for battery, medians in summary["batteries"].items():
        cells = [f"{medians[m]:.3f}" if m in medians else "" for m in methods]
        rows.append(f"| {battery} | {medians['sets']} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def set_seconds(result: SetResult, methods=METHODS) -> float:
    """Wall seconds of the given methods on one set (``vote`` includes the shared K-Means fits)."""
    return sum(s.seconds for m, s in result.methods.items() if m in methods and m != "kmeans_silhouette")


def set_table(results: list[SetResult]) -> str:
    """One row per set: size, true k(s), each method's ARI and chosen k (✓ = k found), times."""
    methods = [m for m in METHODS if any(m in r.methods for r in results)]
    rows = ["| set | n | d | true k | " + " | ".join(methods) + " | custseg chose | custseg s | recipes s |",
            "|---|---:|---:|---|" + "---:|" * len(methods) + "---|---:|---:|"]
    for r in results:
        cells = [r.name, str(r.n), str(r.d), ", ".join(map(str, r.true_ks))]
        for method in methods:
            s = r.methods.get(method)
            if s is None:
                cells.append("")
            elif s.error:
                cells.append("error")
            else:
                cells.append(f"{s.ari:.3f} ({s.k}{' ✓' if s.k_found else ''})")
        ours = r.methods.get(CUSTSEG)
        if ours is None:
            cells += ["", ""]
        else:
            dropped = f", {ours.dropped} rows dropped" if ours.dropped else ""
            cells += [f"{ours.algorithm or ''}{dropped}", f"{ours.seconds:.1f}"]
        cells.append(f"{set_seconds(r, (*RECIPES, REFERENCE)):.1f}")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def slowest_sets(results: list[SetResult], count: int = 5) -> str:
    """The ``count`` slowest sets, with custseg's share, as one line of text."""
    parts = []
    for r in sorted(results, key=set_seconds, reverse=True)[:count]:
        ours = f" (custseg {r.methods[CUSTSEG].seconds:.0f} s)" if CUSTSEG in r.methods else ""
        parts.append(f"{r.name} {set_seconds(r):.0f} s{ours}")
    return "; ".join(parts)


def machine_note() -> str:
    """CPUs, memory, Python and the library versions that shape the results."""
    import kneed
    import sklearn

    try:
        import custseg
        version = custseg.__version__
    except Exception:  # noqa: BLE001
        version = "?"
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.machine()}, {os.cpu_count()} CPUs, {memory:.1f} GiB memory; "
            f"Python {platform.python_version()}, numpy {np.__version__}, scikit-learn "
            f"{sklearn.__version__}, kneed {kneed.__version__}, custseg {version}")


def git_commit() -> str:
    """``git rev-parse --short HEAD``, and where custseg is imported from when that matters.

    Marked when custseg comes from this checkout's ``src/`` with uncommitted changes there, or
    from elsewhere (e.g. ``PYTHONPATH`` pointing at an exported commit).
    """
    import custseg

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    package = Path(custseg.__file__).resolve().parent
    if package != ROOT / "src" / "custseg":
        return f"{commit} (custseg imported from {package}, not from this checkout)"
    return commit + (" (src/ has uncommitted changes)" if git("status", "--porcelain", "--", "src") else "")


def to_markdown(results: list[SetResult], summary: dict, run: dict) -> str:
    """The whole report: when and where, the protocol in short, the three tables.

    Parameters
    ----------
    results : list of SetResult
    summary : dict
        From `summarise`.
    run : dict
        ``date``, ``commit``, ``machine``, ``jobs``, ``seconds``, ``options``, ``command``.

    Returns
    -------
    str
    """
    failures = [f"- {r.name} / {m}: {s.error}" for r in results for m, s in r.methods.items() if s.error]
    options = ", ".join(f"{k}={v}" for k, v in run["options"].items()) or "none (defaults)"
    lines = [
        "# How well custseg chooses a segmentation (labelled benchmark sets)",
        "",
        f"Measured with `{run['command']}` on {run['date']}, custseg at git `{run['commit']}`; "
        f"{len(results)} sets, {run['jobs']} at a time, {run['threads']} BLAS/OpenMP thread(s) each; "
        f"the run took {run['seconds'] / 60:.1f} min. "
        f"Machine: {run['machine']}. custseg options: {options}.",
        "",
        "Protocol (`benchmarks/quality.py` has it in full): custseg gets each matrix as it is, as a "
        "CSV (`id`, `x1..xd`), and runs as `custseg run FILE --seed 0 --no-report` (in-process, "
        "its defaults); rows it drops count as noise. The recipes get the matrix standardised "
        "(constant columns dropped) and search k in 2..10: `kmeans_silhouette` (KMeans n_init=10, "
        "best silhouette), `vote` (the same fits; silhouette, Calinski-Harabasz, Davies-Bouldin and "
        "the kneed elbow vote, ties to the silhouette), `ward_silhouette` (Ward, best silhouette), "
        "`hdbscan_default` (`HDBSCAN()`); `kmeans_true_k` is K-Means told the k of `labels0`, a "
        "reference, not a recipe. Above 10,000 points the silhouette is estimated on a seeded "
        "10,000 sample; above 20,000 points (only sipu/birch1, 100,000) Ward and HDBSCAN are fitted "
        "on a seeded 20,000 sample and the other points take the label of their nearest sampled "
        "point (noise stays noise). Score: ARI against a reference on the points it does not call "
        "noise (label 0), every predicted noise point a cluster of its own; the best over a set's "
        "references; \"right k\" = the chosen k is the number of clusters of any reference "
        "(HDBSCAN: its non-noise clusters). A method that fails on a set scores 0 there.",
        "",
        "## Headline",
        "",
        headline_table(summary),
        "",
        "## Targets (issue 9)",
        "",
        targets_table(summary),
        "",
        "## Median ARI per battery",
        "",
        battery_table(summary),
        "",
        "## Per set",
        "",
        "Each cell: ARI (chosen k), ✓ when the k is that of a reference. Times are wall seconds "
        f"with {run['jobs']} set(s) running at once; \"recipes s\" adds the four recipes and the "
        "reference (`vote`'s time includes the K-Means fits it shares with `kmeans_silhouette`).",
        "",
        set_table(results),
        "",
        f"Slowest sets (all methods): {slowest_sets(results)}.",
    ]
    if failures:
        lines += ["", "## Failures", "", *failures]
    return "\n".join(lines) + "\n"


GENERATED_BEGIN = "<!-- generated battery: begin (python benchmarks/quality.py --generated) -->"
GENERATED_END = "<!-- generated battery: end -->"


#: The leave-one-battery-out section (``python benchmarks/candidates_cache.py --study --write``).
LOBO_BEGIN = "<!-- leave-one-battery-out: begin (python benchmarks/candidates_cache.py --generated --study --write) -->"
LOBO_END = "<!-- leave-one-battery-out: end -->"
#: The sections other scripts write into QUALITY.md, kept when quality.py rewrites it.
SECTIONS = ((GENERATED_BEGIN, GENERATED_END), (LOBO_BEGIN, LOBO_END))


def with_section(text: str, section: str, begin: str = GENERATED_BEGIN, end: str = GENERATED_END) -> str:
    """``text`` with its section between ``begin`` and ``end`` (by default the generated
    battery's) replaced by ``section``, or ``section`` appended when it has none.

    Examples
    --------
    >>> with_section("# Q\\n", "new\\n")
    '# Q\\n\\n<!-- generated battery: begin (python benchmarks/quality.py --generated) -->\\nnew\\n<!-- generated battery: end -->\\n'
    """
    block = f"{begin}\n{section.rstrip()}\n{end}\n"
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        return head + block + rest.partition(end)[2].lstrip("\n")
    return text.rstrip("\n") + "\n\n" + block


def write_keeping_section(out: Path, text: str) -> None:
    """Write the 45-set report, keeping the sections (`SECTIONS`: the generated battery's,
    leave-one-battery-out) that ``out`` already has."""
    old = out.read_text(encoding="utf-8") if out.exists() else ""
    for begin, end in SECTIONS:
        if begin in old and end in old:
            section = old.partition(begin)[2].partition(end)[0].strip("\n")
            text = with_section(text, section, begin, end)
    out.write_text(text, encoding="utf-8")


def generated_section(results: list[SetResult], summary: dict, run: dict, described: dict) -> str:
    """The generated battery's own section: when, its headline, what each set tests, per set.

    Parameters
    ----------
    results : list of SetResult
    summary : dict
        From `summarise` of ``results`` alone (never mixed with the 45 sets).
    run : dict
        As for `to_markdown`.
    described : dict
        ``{name: (k, description)}`` from ``generated.SETS``.
    """
    single = [r for r in results if r.true_ks == [1]]
    chosen = "; ".join(
        f"{r.name.split('/')[-1]}: " + ", ".join(f"{m} {r.methods[m].k}" for m in (CUSTSEG, *RECIPES) if m in r.methods)
        for r in single)
    lines = [
        "## Generated battery (our own labelled sets, not tuned on)",
        "",
        f"Measured with `{run['command']}` on {run['date']}, custseg at git `{run['commit']}`; "
        f"{len(results)} sets drawn by `benchmarks/generated.py` (seed {run['seed']}), the same protocol "
        f"as above, {run['jobs']} set(s) at a time; the run took {run['seconds'] / 60:.1f} min. "
        "These figures are a battery of their own: they are not in the headline above.",
        "",
        headline_table(summary),
        "",
        f"On the {len(single)} sets with no natural groups (k = 1) every split scores ARI 0 (and custseg "
        "never returns one segment), so read the k chosen there instead: " + (chosen or "none") + ".",
        "",
        "What each set tests:",
        "",
        *[f"- `{name}` (k = {k}): {text}" for name, (k, text) in described.items()],
        "",
        set_table(results),
    ]
    return "\n".join(lines) + "\n"


def run_generated(args: argparse.Namespace, command: str) -> int:
    """``--generated``: draw the battery, run every method on it, write its section."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("custseg_bench_generated", HERE / "generated.py")
    generated = sys.modules.get(spec.name) or importlib.util.module_from_spec(spec)
    if spec.name not in sys.modules:
        sys.modules[spec.name] = generated
        spec.loader.exec_module(generated)
    root = generated.DEFAULT_ROOT if args.data.resolve() == DATA.resolve() else args.data
    generated.write_battery(root)
    names = [f"{generated.BATTERY}/{s.name}" for s in generated.SETS]
    options = parse_options(args.custseg_option)
    started, start = datetime.datetime.now(datetime.timezone.utc), time.perf_counter()
    commit = git_commit()
    results = evaluate_all(names, root, options, jobs=args.jobs, threads=args.threads,
                           on_result=lambda r: print(f"{r.name:40s} n={r.n:<5d} custseg ARI "
                                                     f"{r.methods[CUSTSEG].ari:.3f} k={r.methods[CUSTSEG].k}",
                                                     flush=True))
    summary = summarise(results)
    run = {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "commit": commit, "jobs": args.jobs,
           "seconds": time.perf_counter() - start, "seed": generated.SEED,
           "command": command}
    print()
    print(headline_table(summary))
    section = generated_section(results, summary, run, {s.name: (s.k, s.description) for s in generated.SETS})
    out = args.out or DEFAULT_OUT
    old = out.read_text(encoding="utf-8") if out.exists() and args.out is None else ""
    out.write_text(with_section(old, section) if old else section, encoding="utf-8")
    print(f"wrote {out}")
    return 0


def to_json(results: list[SetResult], summary: dict, run: dict) -> str:
    """The raw per-set results, the summary and the run's details, as JSON."""
    return json.dumps({"run": run, "summary": summary, "sets": [asdict(r) for r in results]}, indent=1)


# ---------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help=f"Markdown report (default {DEFAULT_OUT.relative_to(ROOT)} "
                                                 "for a run on every set; none otherwise)")
    parser.add_argument("--sets", help="comma-separated battery/name, e.g. fcps/hepta,wut/x3")
    parser.add_argument("--quick", action="store_true",
                        help=f"only {', '.join(QUICK_SETS)}; exit 1 if custseg's median ARI falls "
                             f"more than {QUICK_TOLERANCE} below kmeans_silhouette's")
    parser.add_argument("--jobs", type=int, default=1, help="sets run at once (default 1)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP threads per set (default 1; see evaluate_all)")
    parser.add_argument("--custseg-option", action="append", metavar="KEY=VALUE",
                        help="extra custseg setting, e.g. algorithms=kmeans (repeatable)")
    parser.add_argument("--data", type=Path, default=DATA,
                        help="folder of batteries (default the 45 sets); with --generated, where to write them")
    parser.add_argument("--generated", action="store_true",
                        help="generate benchmarks/generated.py's battery and run it as its own battery "
                             f"(its section of {DEFAULT_OUT.name}, or --out)")
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="write the Markdown of a saved full run (QUALITY.json) again, without rerunning")
    return parser.parse_args(argv)


def render(path: Path, out: Path) -> None:
    """Write the Markdown of a saved full run (``QUALITY.json``) again, without rerunning."""
    saved = json.loads(path.read_text(encoding="utf-8"))
    results = [
        SetResult(**{**item, "methods": {m: MethodResult(**r) for m, r in item["methods"].items()}})
        for item in saved["sets"]
    ]
    write_keeping_section(out, to_markdown(results, summarise(results), saved["run"]))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render is not None:
        render(args.render, args.out or DEFAULT_OUT)
        print(f"wrote {args.out or DEFAULT_OUT}")
        return 0
    if args.generated:
        return run_generated(args, " ".join(["python benchmarks/quality.py",
                                             *(sys.argv[1:] if argv is None else argv)]))
    available = list_sets(args.data)
    if not available:
        print(f"no data sets under {args.data}", file=sys.stderr)
        return 2
    if args.quick:
        names = list(QUICK_SETS)
    elif args.sets:
        names = [name.strip() for name in args.sets.split(",") if name.strip()]
    else:
        names = available
    unknown = [name for name in names if name not in available]
    if unknown:
        print(f"unknown set(s): {', '.join(unknown)}; see {args.data}", file=sys.stderr)
        return 2
    full = names == available and args.data.resolve() == DATA.resolve()
    options = parse_options(args.custseg_option)

    started, start = datetime.datetime.now(datetime.timezone.utc), time.perf_counter()
    commit = git_commit()  # before the run: the checkout may move while it runs

    def progress(result: SetResult) -> None:
        ours = result.methods[CUSTSEG]
        print(f"{result.name:28s} n={result.n:<6d} custseg ARI {ours.ari:.3f} k={ours.k} "
              f"({ours.seconds:.1f} s)  kmeans_silhouette ARI {result.methods['kmeans_silhouette'].ari:.3f}"
              + (f"  [custseg error: {ours.error}]" if ours.error else ""), flush=True)

    results = evaluate_all(names, args.data, options, jobs=args.jobs, threads=args.threads,
                           on_result=progress)
    summary = summarise(results)
    run = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "machine": machine_note(),
        "jobs": args.jobs,
        "threads": args.threads,
        "seconds": time.perf_counter() - start,
        "options": options,
        "sets": names,
        "command": " ".join(["python benchmarks/quality.py", *(sys.argv[1:] if argv is None else argv)]),
    }
    print()
    print(headline_table(summary))
    print(f"\n{len(results)} sets in {run['seconds']:.0f} s")

    out = args.out or (DEFAULT_OUT if full else None)
    if out is not None:
        write_keeping_section(out, to_markdown(results, summary, run))
        print(f"wrote {out}")
        if full:
            out.with_suffix(".json").write_text(to_json(results, summary, run), encoding="utf-8")
            print(f"wrote {out.with_suffix('.json')}")
    if args.quick:
        ok, message = quick_gate(summary)
        print(message)
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
