"""A generated battery of labelled sets, to judge the choice on data it was not tuned on.

    python benchmarks/generated.py                         # -> /tmp/custseg-generated/generated/
    python benchmarks/generated.py --root DIR --seed 1     # another folder, another draw
    python benchmarks/quality.py --generated               # generate, then run quality.py on it

The 45 labelled sets of ``../shared/data/clustering-benchmarks/`` tuned the choice; these are
our own, drawn from a seed, in the same layout (``ROOT/generated/NAME.data.gz``: a whitespace
matrix, ``NAME.labels0.gz``: one label per line, 1..k, 0 = noise, unused here), so that
``quality.py --data ROOT`` runs them as the battery ``generated``. They are written to the
system's temporary folder, never into the repository: the same seed gives the same bytes in
a few seconds.

`SETS` lists them, each with one line saying what it tests:

- Gaussian mixtures from well separated to heavily overlapping (two groups whose silhouette
  at k = 2 is below 0.5), in 2 to 12 dimensions, k = 2 to 10, round and elongated;
- unequal sizes (70/20/10, one group of 3%);
- a far small group ("speck", 3-5% of the points) beside a large body or beside blobs;
- no natural groups (k = 1): a smooth skewed blob and a skewed customer-like continuum. ARI
  against one cluster is 0 for any split, and custseg never returns one segment, so on these
  the ARI is 0 whatever it does: read the k it chose instead (1 is right, small is better);
- skewed customer-like marginals (log-normal and gamma spend, counts) with planted segments;
- custseg's own generator (`custseg.generate_customers`), its numeric columns, true labels.

Example:

>>> matrix, labels = make_set("overlap2_d2", seed=0)
>>> matrix.shape, sorted(set(labels.tolist()))
((800, 2), [1, 2])
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

BATTERY = "generated"
DEFAULT_ROOT = Path(tempfile.gettempdir()) / "custseg-generated"
SEED = 0
#: Digits written per value: far more than any clustering can use, and the files stay small.
DIGITS = 10
#: Centres are drawn at least this many within-group standard deviations apart, by name.
SEPARATED, MODERATE, HEAVY = 8.0, 4.5, 2.5
#: A speck sits this many body standard deviations from the body's centre.
SPECK_DISTANCE = 12.0


@dataclass(frozen=True)
class GeneratedSet:
    """One set of the battery: its name, what it tests, its planted k and how to draw it.

    Attributes
    ----------
    name : str
    description : str
        One line: what the set tests.
    k : int
        Planted groups (labels 1..k).
    draw : callable
        ``draw(rng) -> (matrix, labels)``, labels 1..k in drawing order (shuffled later).
    """

    name: str
    description: str
    k: int
    draw: Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]


# ---------------------------------------------------------------------------------------------
# Building blocks


def split_sizes(n: int, shares) -> np.ndarray:
    """``n`` points split by ``shares`` (rounded, the remainder to the largest share).

    Examples
    --------
    >>> split_sizes(100, [0.7, 0.2, 0.1]).tolist()
    [70, 20, 10]
    >>> split_sizes(10, [1, 1, 1]).tolist()
    [4, 3, 3]
    """
    shares = np.asarray(shares, dtype=float) / np.sum(shares)
    sizes = np.floor(shares * n).astype(int)
    sizes[np.argmax(shares)] += n - sizes.sum()
    return sizes


def labels_for(sizes) -> np.ndarray:
    """Labels 1..k, ``sizes[i]`` of label ``i + 1``, in order.

    Examples
    --------
    >>> labels_for([2, 1]).tolist()
    [1, 1, 2]
    """
    return np.repeat(np.arange(1, len(sizes) + 1), sizes)


def spread_centres(rng: np.random.Generator, k: int, d: int, min_distance: float) -> np.ndarray:
    """``k`` centres in ``d`` dimensions, every pair at least ``min_distance`` apart.

    Drawn uniformly in a box that grows until they fit; the closest pair is at about
    ``min_distance``, so that it sets the overlap.
    """
    if k == 1:
        return np.zeros((1, d))
    side = min_distance * max(1.0, k ** (1.0 / d))
    while True:
        for _ in range(200):
            centres = rng.uniform(0.0, side, (k, d))
            gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
            np.fill_diagonal(gaps, np.inf)
            if gaps.min() >= min_distance:
                return centres * (min_distance / gaps.min())
        side *= 1.2


def gaussian_mixture(rng: np.random.Generator, sizes, centres: np.ndarray, scales=None,
                     rotate: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Points around each centre: unit Gaussians stretched by ``scales`` per axis (and turned
    by a random rotation per group when ``rotate``).

    Returns
    -------
    matrix : ndarray of shape (sum(sizes), d)
    labels : ndarray of int, 1..k in order
    """
    d = centres.shape[1]
    parts = []
    for i, size in enumerate(sizes):
        points = rng.standard_normal((size, d)) * (1.0 if scales is None else np.asarray(scales[i]))
        if rotate:
            q, _ = np.linalg.qr(rng.standard_normal((d, d)))
            points = points @ q
        parts.append(points + centres[i])
    return np.vstack(parts), labels_for(sizes)


def blobs(n: int, k: int, d: int, distance: float, shares=None, rotate: bool = False,
          stretch: float = 1.0) -> Callable:
    """A mixture of ``k`` Gaussians whose closest centres are ``distance`` standard deviations apart."""
    def draw(rng):
        centres = spread_centres(rng, k, d, distance)
        sizes = split_sizes(n, np.ones(k) if shares is None else shares)
        scales = None if stretch == 1.0 else [np.r_[stretch, np.ones(d - 1)] / np.sqrt(stretch) for _ in range(k)]
        return gaussian_mixture(rng, sizes, centres, scales, rotate)
    return draw


def two_overlapping(n: int, d: int, distance: float, shares=(1, 1)) -> Callable:
    """Two unit Gaussians ``distance`` apart along the first axis, round in every other."""
    def draw(rng):
        centres = np.zeros((2, d))
        centres[1, 0] = distance
        return gaussian_mixture(rng, split_sizes(n, shares), centres)
    return draw


def with_speck(body: Callable, n: int, share: float) -> Callable:
    """A body (any draw) and a far small group: ``share`` of the ``n`` points, tight (sd 0.5 of
    the body's), `SPECK_DISTANCE` body standard deviations from the body's centre, on a random
    direction. The speck is the last label."""
    def draw(rng):
        count = int(round(n * share))
        matrix, labels = body(rng, n - count)
        centre, sd = matrix.mean(axis=0), matrix.std(axis=0)
        direction = rng.standard_normal(matrix.shape[1])
        direction /= np.linalg.norm(direction)
        speck = centre + sd * (SPECK_DISTANCE * direction + 0.5 * rng.standard_normal((count, matrix.shape[1])))
        return np.vstack([matrix, speck]), np.r_[labels, np.full(count, labels.max() + 1)]
    return draw


def gaussian_body(d: int) -> Callable:
    """``body(rng, n)``: one round unit Gaussian, label 1."""
    return lambda rng, n: (rng.standard_normal((n, d)), np.ones(n, dtype=np.int64))


def blobs_body(k: int, d: int, distance: float) -> Callable:
    """``body(rng, n)``: `blobs` of ``k`` groups, labels 1..k."""
    return lambda rng, n: blobs(n, k, d, distance)(rng)


def skewed_blob(n: int, d: int) -> Callable:
    """One smooth skewed blob (k = 1): correlated log-normal columns."""
    def draw(rng):
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        latent = rng.standard_normal((n, d)) * np.linspace(1.0, 0.4, d) @ q
        return np.exp(0.6 * latent), np.ones(n, dtype=np.int64)
    return draw


# ---------------------------------------------------------------------------------------------
# Customer-like columns


def customer_columns(rng: np.random.Generator, latent: np.ndarray, d: int) -> np.ndarray:
    """Skewed customer-like columns driven by three log levels per customer (``latent``:
    spend, frequency, recency).

    Columns in turn: spend (log-normal), orders (Poisson counts, at least 1), days since
    the last order (gamma, shorter for higher recency levels), average basket (spend /
    orders), then, past four, further spend categories (log-normal, each its own share of
    spend).
    """
    n = len(latent)
    spend = np.exp(4.0 + latent[:, 0] + 0.25 * rng.standard_normal(n))
    orders = 1 + rng.poisson(np.exp(1.0 + latent[:, 1]))
    recency = rng.gamma(4.0, 15.0 * np.exp(-latent[:, 2]))
    columns = [spend, orders.astype(float), recency, spend / orders]
    for _ in range(d - 4):
        columns.append(spend * rng.beta(2.0, 5.0, n) * np.exp(0.3 * rng.standard_normal(n)))
    return np.column_stack(columns[:d])


#: Log levels (spend, frequency, recency) of planted customer segments, in order of use.
CUSTOMER_LEVELS = np.array([
    [-1.2, -0.8, -1.0],   # small, rare, lapsing
    [0.0, 1.2, 0.8],      # regular mid spenders
    [1.4, 0.2, 0.0],      # occasional big baskets
    [1.2, 2.2, 1.4],      # best customers
    [-0.6, 0.6, 2.0],     # new and small
])


def customer_segments(n: int, k: int, d: int, shares=None, spread: float = 0.2) -> Callable:
    """``k`` planted segments of customers (the first ``k`` of `CUSTOMER_LEVELS`, each
    customer's levels ``spread`` around them), customer-like columns."""
    def draw(rng):
        sizes = split_sizes(n, np.ones(k) if shares is None else shares)
        labels = labels_for(sizes)
        latent = CUSTOMER_LEVELS[labels - 1] + spread * rng.standard_normal((n, 3))
        return customer_columns(rng, latent, d), labels
    return draw


def continuum_levels(rng: np.random.Generator, n: int) -> np.ndarray:
    """Levels of one population: a correlated normal cloud (a single smooth group)."""
    mixing = np.array([[0.7, 0.0, 0.0], [0.4, 0.5, 0.0], [0.3, 0.2, 0.5]])
    return rng.standard_normal((n, 3)) @ mixing.T


def customer_continuum(n: int, d: int) -> Callable:
    """Customers with no segments (k = 1): one smooth population of levels."""
    def draw(rng):
        return customer_columns(rng, continuum_levels(rng, n), d), np.ones(n, dtype=np.int64)
    return draw


def customer_speck(n: int, d: int, share: float) -> Callable:
    """A customer continuum and a far small group of very large, frequent customers (label 2)."""
    def draw(rng):
        count = int(round(n * share))
        far = np.array([4.0, 3.0, 1.5]) + 0.15 * rng.standard_normal((count, 3))
        latent = np.vstack([continuum_levels(rng, n - count), far])
        return customer_columns(rng, latent, d), np.r_[np.ones(n - count, dtype=np.int64), np.full(count, 2)]
    return draw


def custseg_customers(n: int, k: int, outliers: float = 0.0) -> Callable:
    """`custseg.generate_customers`' numeric columns and its planted segments (as 1..k)."""
    def draw(rng):
        from custseg.sampledata.customers import NUMERIC_COLUMNS, generate_customers

        table, truth = generate_customers(n, k, random_state=int(rng.integers(2**31)), outliers=outliers)
        return table[list(NUMERIC_COLUMNS)].to_numpy(dtype=float), truth.to_numpy() + 1
    return draw


# ---------------------------------------------------------------------------------------------
# The battery


SETS: tuple[GeneratedSet, ...] = (
    GeneratedSet("blobs_k3_d2_separated", "3 round Gaussians far apart (8 sd) in 2-D: the easy case", 3,
                 blobs(600, 3, 2, SEPARATED)),
    GeneratedSet("blobs_k5_d4_moderate", "5 Gaussians 4.5 sd apart in 4-D: some overlap", 5,
                 blobs(1000, 5, 4, MODERATE)),
    GeneratedSet("blobs_k4_d3_heavy", "4 Gaussians only 2.5 sd apart in 3-D: heavy overlap", 4,
                 blobs(1200, 4, 3, HEAVY)),
    GeneratedSet("blobs_k8_d6_separated", "8 Gaussians far apart in 6-D", 8,
                 blobs(1600, 8, 6, 6.0)),
    GeneratedSet("blobs_k10_d8_moderate", "10 Gaussians 5 sd apart in 8-D: k at the top of the range", 10,
                 blobs(2500, 10, 8, 5.0)),
    GeneratedSet("blobs_k10_d2_moderate", "10 Gaussians 4.5 sd apart in 2-D: many touching groups", 10,
                 blobs(3000, 10, 2, MODERATE)),
    GeneratedSet("blobs_k7_d12", "7 Gaussians 5 sd apart in 12-D", 7, blobs(2100, 7, 12, 5.0)),
    GeneratedSet("elongated_k4_d12", "4 elongated (4:1), turned Gaussians in 12-D", 4,
                 blobs(1200, 4, 12, 6.0, rotate=True, stretch=4.0)),
    GeneratedSet("overlap2_d2", "2 round Gaussians 3.2 sd apart in 2-D: silhouette at k=2 below 0.5", 2,
                 two_overlapping(800, 2, 3.2)),
    GeneratedSet("overlap2_d6", "2 Gaussians 3.5 sd apart along one of 6 axes: weak silhouette, 2 groups", 2,
                 two_overlapping(1000, 6, 3.5)),
    GeneratedSet("overlap2_75_25_d3", "2 overlapping Gaussians (3.5 sd) of 75% and 25% in 3-D", 2,
                 two_overlapping(1000, 3, 3.5, shares=(3, 1))),
    GeneratedSet("elongated_k3_d2_overlap", "3 elongated (6:1), turned Gaussians 4 sd apart in 2-D", 3,
                 blobs(900, 3, 2, 4.0, rotate=True, stretch=6.0)),
    GeneratedSet("unequal_70_20_10_d3", "3 Gaussians of 70%, 20% and 10%, 5 sd apart in 3-D", 3,
                 blobs(2000, 3, 3, 5.0, shares=(70, 20, 10))),
    GeneratedSet("small_3pct_k4_d4", "4 Gaussians 5 sd apart in 4-D, one of them 3% of the points", 4,
                 blobs(2000, 4, 4, 5.0, shares=(47, 30, 20, 3))),
    GeneratedSet("speck_body_d2", "one round body and a far speck of 4% (12 sd away) in 2-D", 2,
                 with_speck(gaussian_body(2), 1500, 0.04)),
    GeneratedSet("speck_blobs9_d4", "9 Gaussians 5 sd apart and a far speck of 4% in 4-D (k = 10)", 10,
                 with_speck(blobs_body(9, 4, 5.0), 3000, 0.04)),
    GeneratedSet("speck_customers_d4", "skewed customer continuum and 3% far bigger customers", 2,
                 customer_speck(2500, 4, 0.03)),
    GeneratedSet("one_skewed_blob_d2", "no natural groups: one smooth skewed log-normal blob in 2-D (k = 1)", 1,
                 skewed_blob(1000, 2)),
    GeneratedSet("one_gaussian_d6", "no natural groups: one correlated Gaussian in 6-D (k = 1)", 1,
                 blobs(1500, 1, 6, 1.0, rotate=True, stretch=3.0)),
    GeneratedSet("customers_continuum_d5", "no natural groups: skewed spend, counts and recency of one "
                 "population (k = 1)", 1, customer_continuum(2000, 5)),
    GeneratedSet("customers_k3_d4", "3 planted customer segments, log-normal spend, counts, gamma recency", 3,
                 customer_segments(3000, 3, 4)),
    GeneratedSet("customers_k5_d6_unequal", "5 customer segments of 40/25/15/12/8% in skewed columns", 5,
                 customer_segments(4000, 5, 6, shares=(40, 25, 15, 12, 8))),
    GeneratedSet("custseg_generate_k4", "custseg.generate_customers(2000, 4): numeric columns, true segments", 4,
                 custseg_customers(2000, 4)),
    GeneratedSet("custseg_generate_k6_outliers", "custseg.generate_customers(3000, 6, outliers=0.01)", 6,
                 custseg_customers(3000, 6, outliers=0.01)),
)
BY_NAME = {s.name: s for s in SETS}


def set_seed(name: str, seed: int = SEED) -> np.random.Generator:
    """The generator of one set: from the battery's seed and the set's name (not its place in
    `SETS`, so that adding a set changes no other)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def make_set(name: str, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Draw one set: its matrix and its labels (1..k), rows shuffled.

    Parameters
    ----------
    name : str
        A name of `SETS`.
    seed : int

    Returns
    -------
    matrix : ndarray of shape (n, d)
    labels : ndarray of int of shape (n,)
    """
    rng = set_seed(name, seed)
    matrix, labels = BY_NAME[name].draw(rng)
    order = rng.permutation(len(labels))
    return np.asarray(matrix, dtype=float)[order], np.asarray(labels, dtype=np.int64)[order]


def gzip_bytes(text: str) -> bytes:
    """``text`` gzipped with no time stamp and no file name: the same text, the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as handle:
        handle.write(text.encode("ascii"))
    return buffer.getvalue()


def matrix_text(matrix: np.ndarray) -> str:
    """One line per row, values separated by a space, `DIGITS` significant digits."""
    buffer = io.StringIO()
    np.savetxt(buffer, matrix, fmt=f"%.{DIGITS}g", delimiter=" ")
    return buffer.getvalue()


def write_set(folder: Path, name: str, matrix: np.ndarray, labels: np.ndarray) -> None:
    """Write ``NAME.data.gz`` and ``NAME.labels0.gz`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.data.gz").write_bytes(gzip_bytes(matrix_text(matrix)))
    (folder / f"{name}.labels0.gz").write_bytes(gzip_bytes("".join(f"{v}\n" for v in labels)))


def write_battery(root: Path = DEFAULT_ROOT, seed: int = SEED, names=None) -> Path:
    """Draw and write the battery to ``root/generated/``, with a README.txt of the descriptions.

    Parameters
    ----------
    root : Path
        The folder of batteries (what ``quality.py --data`` takes).
    seed : int
    names : iterable of str, optional
        Only these sets (default all of `SETS`).

    Returns
    -------
    Path
        ``root``.
    """
    folder = Path(root) / BATTERY
    chosen = [BY_NAME[name] for name in names] if names is not None else list(SETS)
    lines = [f"custseg's generated battery (benchmarks/generated.py), seed {seed}.", ""]
    for spec in chosen:
        matrix, labels = make_set(spec.name, seed)
        write_set(folder, spec.name, matrix, labels)
        lines.append(f"{spec.name}: n={len(labels)}, d={matrix.shape[1]}, k={spec.k}. {spec.description}")
    (folder / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                        help=f"folder of batteries; the sets go to ROOT/{BATTERY}/ (default {DEFAULT_ROOT})")
    parser.add_argument("--seed", type=int, default=SEED, help=f"battery seed (default {SEED})")
    args = parser.parse_args(argv)
    root = write_battery(args.root, args.seed)
    print(f"wrote {len(SETS)} sets to {root / BATTERY}; run them with: "
          f"python benchmarks/quality.py --data {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
