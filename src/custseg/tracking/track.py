"""Segments over time: who moved where since the run that made a model, and whether its
segments still describe today's customers.

`track` puts the customers of a new snapshot (a customer table, or a transaction log
computed as of a date) into the saved segments of a model and compares them with the
segments of the run that made it:

* **before**: the run's ``segments.csv``, found beside ``model.json`` (or any
  ``segments.csv`` given as ``previous``); per-customer labels never go into the model file.
* **after**: the new snapshot, cleaned, transformed and assigned exactly as ``custseg
  assign`` does; for a transaction log the features (and the RFM segments, with the
  pipeline's own `custseg.logs.rfm.rfm_scores`) are computed as of ``as_of``.
* **migration**: one row per customer of either snapshot; customers only before are
  ``"gone"``, customers only after are ``"new"``.
* **transitions**: counts and row shares of segment before x segment after (plus the
  ``"new"`` row and the ``"gone"`` column), and the same for RFM segments of a log.
* **drift**: measured against the ``reference`` block that the run wrote into the model
  (`reference_statistics`), with a plain verdict; see "Drift rule" below.

Drift rule
----------
Three kinds of evidence, each linear in customers:

(a) **far customers**: the share of new customers farther (in the model matrix) from their
    segment's old centre than that segment's old 99th-percentile distance. If nothing
    changed it is about 1% (`FAR_EXPECTED`); above `FAR_FACTOR` times that, the old segments
    no longer cover the customers.
(b) **centre shift**: per segment and model feature, how far the mean of the customers now
    assigned to it moved, in standard deviations of the old data. A large segment (at least
    `LARGE_SEGMENT_SHARE` of the old customers) whose centre moved more than
    `CENTRE_SHIFT_SD` on any feature has changed character.
(c) **refit**: K-Means over the run's k range on a seeded sample of at most `REFIT_SAMPLE`
    new customers, k chosen by the silhouette (on `REFIT_SILHOUETTE_SAMPLE` of them). A refit
    group of at least `NEW_GROUP_MIN_SHARE` of the sample whose best Jaccard with the assigned
    segments is below `NEW_GROUP_MAX_JACCARD`, and of which at least `NEW_GROUP_OUTSIDE_SHARE`
    lies beyond its assigned segment's old 95th-percentile distance, is a **new group**. (A
    refit that merely splits or merges old segments matches poorly too, but its customers sit
    inside the old segments: the outside condition tells the two apart.)

"refit recommended: <reasons>" when (a) is above its limit, a new group is found, or a large
segment's centre moved too far; otherwise "segments still hold". The thresholds were set on
generated data (see ``docs/summary.md``, "tracking").

Examples
--------
>>> from custseg import generate_customers, segment, track
>>> customers, _ = generate_customers(600, 3, random_state=0)
>>> run = segment(customers, algorithms=("kmeans",), k_max=4)
>>> later, _ = generate_customers(600, 3, random_state=1)
>>> tracked = track(run, later)
>>> tracked.verdict
'segments still hold'
>>> int(tracked.transitions.iloc[:-1, :-1].to_numpy().sum()) == tracked.customers["in_both"]
True
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..inputs import frame_from_array, source_of
from ..progress import ProgressCallback
from ..errors import InputError, ModelError, SettingsError

__all__ = [
    "CENTRE_SHIFT_SD",
    "FAR_EXPECTED",
    "FAR_FACTOR",
    "LARGE_SEGMENT_SHARE",
    "NEW_GROUP_MAX_JACCARD",
    "NEW_GROUP_MIN_SHARE",
    "NEW_GROUP_OUTSIDE_SHARE",
    "REFIT_SAMPLE",
    "Tracking",
    "measure_drift",
    "move_sentence",
    "reference_statistics",
    "track",
    "value_of",
    "write_keyed_csv",
]

#: Share of customers beyond their segment's old 99th-percentile distance if nothing changed.
FAR_EXPECTED = 0.01
#: A refit is recommended when that share exceeds this many times `FAR_EXPECTED`.
FAR_FACTOR = 3.0
#: Segments holding at least this share of the old customers count as large for the centre shift.
LARGE_SEGMENT_SHARE = 0.10
#: A large segment whose mean moved more than this many old standard deviations, on any
#: model feature, has changed character.
CENTRE_SHIFT_SD = 0.5
#: Fewer customers than this now in a segment: its centre shift is not measured (too noisy).
MIN_SHIFT_CUSTOMERS = 30
#: New customers (a seeded sample above this many) on which K-Means is refitted.
REFIT_SAMPLE = 10_000
#: Customers of the refit sample on which the silhouette chooses the refit's k.
REFIT_SILHOUETTE_SAMPLE = 2_000
#: K-Means restarts per k in the refit.
REFIT_INITS = 2
#: A refit group can be a new group from this share of the refit sample ...
NEW_GROUP_MIN_SHARE = 0.05
#: ... when its best Jaccard with an assigned old segment is below this ...
NEW_GROUP_MAX_JACCARD = 0.5
#: ... and at least this share of it lies beyond its segment's old 95th-percentile distance.
NEW_GROUP_OUTSIDE_SHARE = 0.5
#: Moves named in words: losses of value, and gains.
MAX_LOSS_MOVES = 5
MAX_GAIN_MOVES = 3

#: Labels of customers present in only one snapshot.
NEW, GONE = "new", "gone"
#: Value of each RFM segment for the marketing moves (higher is worth more): a move to a
#: segment of lower value loses value.
RFM_VALUE = {
    "Champions": 6, "Loyal Customers": 5, "Potential Loyalists": 4, "New Customers": 3, "Promising": 3,
    "Need Attention": 3, "About to Sleep": 2, "At Risk": 2, "Can't Lose Them": 2, "Hibernating": 1, "Lost": 0,
}
#: Words in a cluster's name that say it is worth more (+1 each) or that value is being lost
#: (-1 each); the names come from `custseg.explaining.profile` ("Lapsed, low spending").
VALUE_WORDS = (
    (r"\bhigh spend", +1), (r"\bbig spend", +1), (r"\bfrequent (buyers|visitors)", +1),
    (r"\bspending more lately", +1), (r"\brecently active", +1), (r"\bchampions", +1), (r"\bloyal", +1),
    (r"\blapsed", -1), (r"\blapsing", -1), (r"\bat risk", -1), (r"\blow spend", -1),
    (r"\binfrequent", -1), (r"\brare visitors", -1), (r"\bspending less lately", -1), (r"\blost\b", -1),
    (r"\bhibernat", -1), (r"\bsleep", -1), (r"\binactive", -1), (r"\bdormant", -1), (r"\bchurn", -1),
)
#: What to do about a cluster move, by direction (RFM moves take the destination's first action).
CLUSTER_ADVICE = {"loss": "reach them first", "gain": "keep the momentum"}


# --------------------------------------------------------------------------- reference


def reference_statistics(matrix: np.ndarray, labels: np.ndarray, columns: list[str], *,
                         k_range: tuple[int, int], silhouette: float | None = None) -> dict:
    """The statistics of the fitted customers that drift is measured against (model.json).

    O(k x d) numbers: per segment its size, its mean in the model matrix and the 95th and
    99th percentiles of its customers' distances to that mean; per model column the
    standard deviation of the old data; the k range and the run's silhouette.

    Parameters
    ----------
    matrix : ndarray of shape (n_customers, n_columns)
        The model matrix of the run.
    labels : ndarray of int
        The run's segments (-1: noise, counted but not described).
    columns : list of str
        Names of the matrix columns (`custseg.preparing.features.FeaturePlan.output_columns`).
    k_range : (int, int)
        The run's k range, reused by the refit.
    silhouette : float, optional
        The chosen segmentation's silhouette.

    Returns
    -------
    dict
        ``{"customers", "columns", "sd", "k_range", "silhouette", "segments": [{"id", "size",
        "mean", "distance_p95", "distance_p99"}, ...]}``; the noise segment has only id and size.

    Examples
    --------
    >>> import numpy as np
    >>> matrix = np.array([[0.0], [2.0], [10.0], [12.0]])
    >>> ref = reference_statistics(matrix, np.array([0, 0, 1, 1]), ["x"], k_range=(2, 3))
    >>> [(s["id"], s["size"], s["mean"]) for s in ref["segments"]]
    [(0, 2, [1.0]), (1, 2, [11.0])]
    >>> ref["segments"][0]["distance_p99"]
    1.0
    """
    from ..segmenting.search import segment_spread

    labels = np.asarray(labels)
    spread = segment_spread(matrix, labels)
    placed = labels >= 0
    distance = np.zeros(len(labels))
    distance[placed] = _distances(matrix, labels, spread.centres, placed)
    segments = []
    for segment in sorted(int(s) for s in np.unique(labels)):
        members = labels == segment
        item = {"id": segment, "size": int(members.sum())}
        if segment >= 0:
            p95, p99 = np.percentile(distance[members], [95, 99])
            item.update(mean=[float(v) for v in spread.centres[segment]],
                        distance_p95=float(p95), distance_p99=float(p99))
        segments.append(item)
    return {
        "customers": int(len(labels)),
        "columns": [str(c) for c in columns],
        "sd": [float(v) for v in matrix.std(axis=0)] if len(matrix) else [0.0] * len(columns),
        "k_range": [int(k_range[0]), int(k_range[1])],
        "silhouette": None if silhouette is None or not np.isfinite(silhouette) else float(silhouette),
        "segments": segments,
    }


#: Rows per block when distances are computed: the temporaries stay a few MB.
_CHUNK = 1 << 16


def _distances(matrix: np.ndarray, labels: np.ndarray, centres: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Euclidean distance of each row where ``rows`` holds to ``centres[label]``, in blocks."""
    index = np.flatnonzero(rows)
    out = np.empty(len(index))
    for start in range(0, len(index), _CHUNK):
        block = index[start:start + _CHUNK]
        offset = matrix[block] - centres[labels[block]]
        out[start:start + _CHUNK] = np.sqrt(np.einsum("ij,ij->i", offset, offset))
    return out


# --------------------------------------------------------------------------- the result


@dataclass
class Tracking:
    """What changed between the run that made a model and a new snapshot of its customers.

    Build it with `track`; render it with `write`, `to_html` or `summary`.

    Attributes
    ----------
    migration : DataFrame
        One row per customer of either snapshot: the id, ``segment_before``,
        ``segment_after`` (empty for a new / gone customer), ``segment_name_before``
        (``"new"`` for a new customer), ``segment_name_after`` (``"gone"``), ``status``
        (kept, moved, new, gone) and, for a log, ``rfm_segment_before`` / ``rfm_segment_after``.
        Customers of the previous run in its order, then the new ones in snapshot order.
    transitions, transition_shares : DataFrame
        Counts and row shares: segment before (rows, then ``"new"``) by segment after
        (columns, then ``"gone"``).
    sizes : DataFrame
        Per segment: customers before and after, their shares, kept, lost, gained, change,
        lost to gone, gained from new.
    rfm_transitions, rfm_transition_shares, rfm_sizes : DataFrame or None
        The same for the RFM segments of a transaction log.
    shifts : DataFrame or None
        Per segment (rows) and model feature (columns): how far the centre moved, in
        standard deviations of the old data. None when the model has no drift statistics.
    drift : dict
        Far share, centre shifts, refit and the verdict with its reasons and evidence.
    moves : list of dict
        The moves that matter for marketing, worded.
    info : dict
        Where the snapshots came from and the customer counts.

    Examples
    --------
        >>> from custseg import generate_customers, segment, track
        >>> customers, _ = generate_customers(600, 3, random_state=0)
        >>> run = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> tracked = track(run, generate_customers(600, 3, random_state=1)[0])
        >>> tracked.sizes.columns[:5].tolist()
        ['id', 'before', 'after', 'share_before', 'share_after']
    """

    migration: pd.DataFrame
    transitions: pd.DataFrame
    transition_shares: pd.DataFrame
    sizes: pd.DataFrame
    drift: dict
    moves: list[dict]
    info: dict
    rfm_transitions: pd.DataFrame | None = None
    rfm_transition_shares: pd.DataFrame | None = None
    rfm_sizes: pd.DataFrame | None = None
    shifts: pd.DataFrame | None = None

    @property
    def verdict(self) -> str | None:
        """"segments still hold", "refit recommended: ..." or None (no drift statistics).

        Examples
        --------
        >>> from custseg import generate_customers, segment, track
        >>> customers, _ = generate_customers(600, 3, random_state=0)
        >>> run = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> tracked = track(run, generate_customers(600, 3, random_state=1)[0])
        >>> tracked.verdict
        'segments still hold'
        """
        return self.drift.get("verdict")

    @property
    def customers(self) -> dict:
        """Customers before, after, in both, kept, moved, new and gone.

        Examples
        --------
        >>> from custseg import generate_customers, segment, track
        >>> customers, _ = generate_customers(600, 3, random_state=0)
        >>> run = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> tracked = track(run, generate_customers(600, 3, random_state=1)[0])
        >>> tracked.customers["before"], tracked.customers["after"]
        (600, 600)
        """
        return self.info["customers"]

    @cached_property
    def summary(self) -> dict:
        """The comparison as plain data: ``summary.json`` of ``custseg track`` (docs/summary.md).

        Examples
        --------
        >>> from custseg import generate_customers, segment, track
        >>> customers, _ = generate_customers(600, 3, random_state=0)
        >>> run = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> tracked = track(run, generate_customers(600, 3, random_state=1)[0])
        >>> tracked.summary["tracking"]["drift"]["verdict"]
        'segments still hold'
        """
        from .. import __version__
        from ..outputs import plain

        rfm = None
        if self.rfm_transitions is not None:
            rfm = {"segments": _size_rows(self.rfm_sizes),
                   "transitions": _matrix_dict(self.rfm_transitions, self.rfm_transition_shares)}
        return plain({
            "custseg_version": __version__,
            "tracking": {
                **self.info,
                "segments": _size_rows(self.sizes),
                "transitions": _matrix_dict(self.transitions, self.transition_shares),
                "rfm": rfm,
                "moves": self.moves,
                "drift": self.drift,
                "verdict": self.verdict,
            },
        })

    def transitions_frame(self) -> pd.DataFrame:
        """``transitions.csv``: the long form of every transition matrix.

        Columns ``kind`` ("segment" or "rfm"), ``before``, ``after`` (names; ``"new"`` and
        ``"gone"`` for customers in one snapshot only), ``customers`` and
        ``share_of_before`` (the row share); every cell, zeros included, rows in matrix order.

        Examples
        --------
        >>> from custseg import generate_customers, segment, track
        >>> customers, _ = generate_customers(600, 3, random_state=0)
        >>> run = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> tracked = track(run, generate_customers(600, 3, random_state=1)[0])
        >>> tracked.transitions_frame().columns.tolist()
        ['kind', 'before', 'after', 'customers', 'share_of_before']
        """
        parts = [_long(self.transitions, self.transition_shares, "segment")]
        if self.rfm_transitions is not None:
            parts.append(_long(self.rfm_transitions, self.rfm_transition_shares, "rfm"))
        return pd.concat(parts, ignore_index=True)

    def write(self, out_dir: str | os.PathLike, report: bool = True) -> dict[str, Path]:
        """Write ``migration.csv``, ``transitions.csv``, ``summary.json`` and ``report.html``.

        Returns the paths written, by kind.

        Examples
        --------
        >>> import tempfile
        >>> from custseg import generate_customers, segment, track
        >>> customers, _ = generate_customers(600, 3, random_state=0)
        >>> run = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> tracked = track(run, generate_customers(600, 3, random_state=1)[0])
        >>> with tempfile.TemporaryDirectory() as out:
        ...     sorted(tracked.write(out, report=False))
        ['migration', 'summary', 'transitions']
        """
        from ..outputs import json_text, write_atomic, write_csv

        out = Path(out_dir)
        paths = {
            "migration": write_keyed_csv(out / "migration.csv", self.migration, self.migration.columns[0]),
            "transitions": write_csv(out / "transitions.csv", self.transitions_frame()),
            "summary": write_atomic(out / "summary.json", json_text(self.summary)),
        }
        if report:
            paths["report"] = self.to_html(out / "report.html")
        return paths

    def to_html(self, path: str | os.PathLike) -> Path:
        """Write the "Since the last run" page.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from custseg import generate_customers, segment, track
        >>> customers, _ = generate_customers(600, 3, random_state=0)
        >>> run = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> tracked = track(run, generate_customers(600, 3, random_state=1)[0])
        >>> with tempfile.TemporaryDirectory() as out:
        ...     "Since the last run" in tracked.to_html(Path(out) / "track.html").read_text()
        True
        """
        from ..reporting.report import write_track_report

        return write_track_report(self.summary, path)

    def _repr_html_(self) -> str:
        from ..reporting.report import track_summary_html

        return track_summary_html(self.summary)


def write_keyed_csv(path: str | os.PathLike, frame: pd.DataFrame, key: str) -> Path:
    """`custseg.outputs.write_csv` of ``frame``, byte for byte, in a fraction of the time when
    every column but ``key`` takes few distinct combinations of values (migration.csv: a
    million customers, a few dozen (segment before, segment after) pairs).

    Each distinct combination is rendered once by `custseg.outputs.csv_text` and each row
    is its key's text and that line. Keys that CSV would quote or a spreadsheet would run
    (and text holding a carriage return) take the plain path.

    Examples
    --------
    >>> import tempfile
    >>> frame = pd.DataFrame({"id": ["a", "b", "c"], "seg": pd.array([1, None, 1], dtype="Int64"),
    ...                       "name": ["x, y", "new", "x, y"]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     print(write_keyed_csv(Path(folder) / "m.csv", frame, "id").read_text(), end="")
    id,seg,name
    a,1,"x, y"
    b,,new
    c,1,"x, y"
    """
    import csv

    import pyarrow as pa
    import pyarrow.compute as pc

    from ..outputs import CSV_CHUNK, FORMULA_PREFIXES, _spreadsheet_safe, atomic_file, csv_text, write_csv

    keys = pa.array(frame[key].astype("string"), type=pa.large_string())
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    rest = frame.drop(columns=[key])
    plain = (keys.null_count == 0 and not pc.any(pc.match_substring_regex(keys, r'[,"\r\n]')).as_py()
             and not any(pc.any(pc.starts_with(keys, p)).as_py() for p in FORMULA_PREFIXES) and len(rest.columns))
    if plain:
        combined = np.zeros(len(frame), dtype="int64")
        for column in rest.columns:
            codes, uniques = pd.factorize(rest[column], use_na_sentinel=False)
            combined = combined * max(len(uniques), 1) + codes
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
        distinct = rest.iloc[first]
        plain = _spreadsheet_safe(distinct)[1] == csv.QUOTE_MINIMAL
    if not plain:
        return write_csv(path, frame)
    header = csv_text(frame.iloc[:0])
    lines = np.array(["," + line for line in csv_text(distinct).split("\n")[1:-1]], dtype=object)[inverse.ravel()]
    text = keys.to_numpy(zero_copy_only=False)
    with atomic_file(path) as out:
        out.write(header)
        for start in range(0, len(frame), CSV_CHUNK):
            stop = start + CSV_CHUNK
            out.write("".join(a + b + "\n" for a, b in zip(text[start:stop], lines[start:stop])))
    return Path(path)


def _size_rows(sizes: pd.DataFrame) -> list[dict]:
    """Rows of a sizes frame as plain dicts, name first, counts kept as integers."""
    return [{"name": str(name), **row} for name, row in zip(sizes.index, sizes.to_dict("records"))]


def _matrix_dict(counts: pd.DataFrame, shares: pd.DataFrame) -> dict:
    return {
        "before": [str(v) for v in counts.index],
        "after": [str(v) for v in counts.columns],
        "counts": counts.to_numpy().tolist(),
        "shares": shares.to_numpy().tolist(),
    }


def _long(counts: pd.DataFrame, shares: pd.DataFrame, kind: str) -> pd.DataFrame:
    rows, cols = counts.shape
    return pd.DataFrame({
        "kind": kind,
        "before": np.repeat([str(v) for v in counts.index], cols),
        "after": np.tile([str(v) for v in counts.columns], rows),
        "customers": counts.to_numpy().ravel(),
        "share_of_before": np.round(shares.to_numpy().ravel(), 6),
    })


# --------------------------------------------------------------------------- track


def track(model, data, *, previous=None, as_of=None, random_state: int = 0,
          on_progress: ProgressCallback | None = None) -> Tracking:
    """Put a new snapshot of customers into a model's segments and compare with its run.

    Parameters
    ----------
    model : str, path, Model or Result
        ``model.json`` written by a run (its ``segments.csv`` beside it is the before-state),
        a loaded `custseg.model.Model` (then ``previous`` is needed), or a run's
        `custseg.pipeline.Result` (its own segments are the before-state).
    data : DataFrame, 2-D array, str or path
        The new snapshot: customers with the model's columns, or, for a model fitted on a
        transaction log, order lines.
    previous : str, path or DataFrame, optional
        A ``segments.csv`` of a custseg run (or its frame) to compare with instead.
    as_of : str or date, optional
        Transaction logs only: the reference date of the new snapshot; default the day
        after its last order line. Must lie within the log's dates.
    random_state : int, default=0
        Seed of the refit sample; the same inputs give the same result.
    on_progress : callable, optional
        Called as ``on_progress(step, done, total)``.

    Returns
    -------
    Tracking

    Raises
    ------
    InputError
        The data lacks the model's columns, the before-state cannot be found or read, or
        the snapshots have no customer in common.
    SettingsError
        ``as_of`` outside the log's dates, or given for a customer-table model.

    Examples
    --------
    >>> from custseg import generate_customers, segment, track
    >>> customers, _ = generate_customers(500, 3, random_state=0)
    >>> run = segment(customers, algorithms=("kmeans",), k_max=4)
    >>> tracked = track(run, customers.iloc[:400])        # 100 customers are gone
    >>> tracked.customers["gone"], tracked.customers["moved"]
    (100, 0)
    """
    progress = on_progress or (lambda step, done, total: None)
    fitted, before, before_info = _before_state(model, previous)
    progress("assigning the new customers", 0, 4)
    after = _after_state(fitted, data, as_of, progress)
    progress("matching customers", 1, 4)
    joined = _join(before, after, before_info, after["source"])
    states = _segment_states(fitted, before, after)
    migration = _migration(fitted.roles.id_name, before, after, joined, states)
    counts = _transition_counts(joined, states["before_codes"], states["after_codes"], len(states["ids"]))
    transitions, shares = _frames(counts, states["before_names"], states["after_names"])
    sizes = _sizes(counts, states["after_names"], ids=states["ids"])
    rfm = None
    if before["rfm"] is not None and after["rfm"] is not None:
        rfm = _rfm_transitions(before, after, joined, migration)
    progress("measuring drift", 2, 4)
    drift, shifts = measure_drift(fitted, after["matrix"], after["labels"], random_state)
    moves = (_moves(rfm[0], kind="rfm") if rfm is not None else []) or _moves(transitions, kind="segment")
    info = {
        "model": {"path": before_info.get("model_path"), "algorithm": fitted.algorithm,
                  "kind": "transactions" if fitted.transactions is not None else "customers",
                  "id": fitted.roles.id_name,
                  "segments": [{"id": k, "name": v} for k, v in sorted(fitted.segment_names.items())],
                  "drift_statistics": fitted.reference is not None},
        "before": {"path": before_info.get("path"), "customers": int(len(before["ids"])),
                   "as_of": (fitted.transactions or {}).get("as_of"),
                   "same_segments_as_model": states["same_names"]},
        "after": {"source": after["source"], "rows_read": after["rows_read"], "customers": int(len(after["ids"])),
                  "left_out": after["left_out"], "as_of": after["as_of"]},
        "customers": joined["counts"],
    }
    progress("done", 4, 4)
    return Tracking(
        migration=migration, transitions=transitions, transition_shares=shares, sizes=sizes, drift=drift,
        moves=moves, info=info,
        rfm_transitions=None if rfm is None else rfm[0], rfm_transition_shares=None if rfm is None else rfm[1],
        rfm_sizes=None if rfm is None else rfm[2], shifts=shifts,
    )


# --------------------------------------------------------------------------- before


def _before_state(model, previous):
    """(Model, before-state dict, where it came from) from the ``track`` arguments."""
    from ..model import MODEL_FILENAME, Model, load_model

    info: dict = {}
    frame = None
    if isinstance(model, Model):
        fitted = model
    elif hasattr(model, "segments_frame") and hasattr(model, "model"):     # a pipeline Result
        fitted = model.model
        frame = model.segments_frame() if previous is None else None
    else:
        path = Path(model)
        fitted = load_model(path)
        info["model_path"] = str(path)
        if previous is None:
            # A Spark run with more customers than fit whole on the driver writes only Parquet.
            found = [p for p in (path.parent / "segments.csv", path.parent / "segments.parquet") if p.exists()]
            if not found:
                raise InputError(
                    f"no previous segments: looked for {path.parent / 'segments.csv'} beside {MODEL_FILENAME}; "
                    f"give --previous FILE (a segments.csv written by custseg run)"
                )
            previous = found[0]
    if fitted.roles.id is None:
        raise InputError(
            "the model was fitted on data without a customer id column (rows were numbered): customers "
            "cannot be matched between snapshots"
        )
    if frame is None and previous is None:
        raise InputError("no previous segments: pass previous= (a segments.csv written by custseg run, or its frame)")
    if frame is None:
        if isinstance(previous, pd.DataFrame):
            frame = previous
        else:
            info["path"] = str(previous)
            frame = _read_previous(Path(previous), fitted.roles.id_name)
    label = info.get("path") or "the previous segments"
    return fitted, _before_from_frame(frame, fitted.roles.id_name, label, written="path" in info), info


def _read_previous(path: Path, id_name: str) -> pd.DataFrame:
    """The columns of a ``segments.csv`` (or a Spark run's ``segments.parquet/``) that
    tracking needs, ids as text."""
    if path.is_dir() or path.suffix.lower() == ".parquet":
        return _read_previous_parquet(path, id_name)
    if not path.is_file():
        raise InputError(f"previous segments file not found: {path}")
    try:
        header = list(pd.read_csv(path, nrows=0).columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a segments.csv written by custseg ({exc})") from None
    wanted = [c for c in (id_name, "segment", "segment_name", "rfm_segment") if c in header]
    _check_previous_columns(header, id_name, str(path))
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    # Arrow's reader: several times pandas' speed on a million rows; every column as text
    # (no value is read as missing), the segment as an integer.
    types = {c: pa.string() for c in wanted}
    types["segment"] = pa.int64()
    options = arrow_csv.ConvertOptions(include_columns=wanted, column_types=types, strings_can_be_null=False)
    try:
        table = arrow_csv.read_csv(path, convert_options=options)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path} is not a segments.csv written by custseg ({exc})") from None
    return table.to_pandas()


def _read_previous_parquet(path: Path, id_name: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path} is not a segments.parquet written by custseg ({exc})") from None
    _check_previous_columns(table.column_names, id_name, str(path))
    wanted = [c for c in (id_name, "segment", "segment_name", "rfm_segment") if c in table.column_names]
    frame = table.select(wanted).to_pandas()
    return frame.astype({c: "string" for c in wanted if c != "segment"})


def _check_previous_columns(columns: list, id_name: str, label: str) -> None:
    missing = [c for c in (id_name, "segment") if c not in columns]
    if missing:
        raise InputError(
            f"{label} lacks column(s) {', '.join(map(repr, missing))} (the model's customer id is {id_name!r}); "
            f"columns are: {', '.join(map(str, columns))}"
        )


def _before_from_frame(frame: pd.DataFrame, id_name: str, label: str, *, written: bool = False) -> dict:
    """Ids (as arrow text), segments, segment names and RFM segments of the previous run.

    ``written``: the ids come from a segments.csv, so they are already as custseg writes them.
    """
    _check_previous_columns(list(frame.columns), id_name, label)
    segments = pd.to_numeric(frame["segment"], errors="coerce")
    missing = int(frame[id_name].isna().sum() + segments.isna().sum())
    if missing:
        raise InputError(f"{label} has {missing} row(s) without an id or a segment")
    ids = _id_text(frame[id_name], written=written)
    encoded = ids.dictionary_encode()
    if len(encoded.dictionary) != len(ids):
        raise InputError(f"{label} lists {len(ids) - len(encoded.dictionary):,} customer id(s) more than once")
    labels = segments.to_numpy(dtype="int64")
    names = {}
    if "segment_name" in frame.columns:
        values, first = np.unique(labels, return_index=True)
        names = {int(v): str(frame["segment_name"].iloc[i]) for v, i in zip(values, first)}
    rfm = frame["rfm_segment"].astype(str).to_numpy(dtype=object) if "rfm_segment" in frame.columns else None
    return {"ids": ids, "labels": labels, "names": names, "rfm": rfm}


def _id_text(ids: pd.Series, *, written: bool = False):
    """Customer ids as the text ``segments.csv`` holds them (an arrow string array): as pandas
    writes them, and spreadsheet-safe (`custseg.outputs.safe_cell`) unless ``written`` already.

    Arrow keeps 1,000,000 ids in one buffer and matches them by hash in a fraction of a
    second (`_join`), where Python objects take seconds.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..outputs import FORMULA_PREFIXES, safe_cell

    text = pa.array(ids.reset_index(drop=True).astype("string"), type=pa.large_string())
    if isinstance(text, pa.ChunkedArray):      # a column read in blocks (large CSV files)
        text = text.combine_chunks()
    if written:
        return text
    suspect = None
    for prefix in FORMULA_PREFIXES:
        hit = pc.starts_with(text, prefix)
        suspect = hit if suspect is None else pc.or_(suspect, hit)
    suspect = pc.fill_null(suspect, False).to_numpy(zero_copy_only=False)
    if suspect.any():
        values = text.to_numpy(zero_copy_only=False).astype(object)
        values[suspect] = [safe_cell(v) for v in values[suspect]]
        text = pa.array(values, type=pa.large_string())
    return text


# --------------------------------------------------------------------------- after


def _after_state(fitted, data, as_of, progress: ProgressCallback) -> dict:
    """The new snapshot: ids (text), matrix, labels and RFM segments of its usable customers."""
    from ..preparing.clean import _duplicated, _ids

    data = frame_from_array(data)
    used_as_of = None
    if fitted.transactions is not None:
        from ..logs.columns import TransactionColumns
        from ..logs.duckdb_engine import customers_from_transactions

        columns = TransactionColumns.from_dict(fitted.transactions["columns"])
        found = customers_from_transactions(data, columns, as_of=as_of, as_of_within_log=True,
                                            on_progress=progress)
        frame, used_as_of = found.customers, found.as_of.isoformat()
        source = source_of(data, "transactions")
    else:
        if as_of is not None:
            raise SettingsError("--as-of applies to a model fitted on a transaction log; this model was fitted "
                                "on a customer table")
        if isinstance(data, pd.DataFrame):
            frame, source = data, source_of(data, "customers")
        else:
            from ..reading.load import read_table

            frame, table_source = read_table(data)
            source = {**table_source.to_dict(), "kind": "customers"}
    id_name = fitted.roles.id
    if id_name not in frame.columns:
        raise InputError(
            f"the data lacks the model's customer id column {id_name!r}; columns are: "
            f"{', '.join(map(str, frame.columns))}"
        )
    matrix, usable = fitted.matrix_and_usable(frame)
    ids = _ids(frame, fitted.roles)
    has_id = ids.notna().to_numpy()
    duplicated = _duplicated(ids, has_id)
    keep = has_id & ~duplicated & usable
    left_out = {reason: int(n) for reason, n in (
        ("missing id", (~has_id).sum()), ("duplicate id", duplicated.sum()),
        ("no usable feature value", (has_id & ~duplicated & ~usable).sum())) if n}
    if not keep.all():
        matrix = matrix[keep]
    labels = fitted.assigner.predict(matrix)
    rfm = None
    if fitted.transactions is not None:
        from ..logs.rfm import rfm_scores

        rfm = rfm_scores(frame.loc[keep, ["recency_days", "frequency", "monetary"]].reset_index(drop=True))
        rfm = rfm["rfm_segment"].to_numpy(dtype=object)
    return {
        "ids": _id_text(ids[keep]), "labels": labels,
        "matrix": matrix, "rfm": rfm, "source": source, "rows_read": int(len(frame)), "left_out": left_out,
        "as_of": used_as_of,
    }


# --------------------------------------------------------------------------- matching


def _join(before: dict, after: dict, before_info: dict, source: dict) -> dict:
    """Positions that pair the two snapshots; raise when they share no customer."""
    import pyarrow.compute as pc

    # before's ids are distinct (checked), so a position in them is the customer's row
    position = pc.fill_null(pc.index_in(after["ids"], value_set=before["ids"]), -1).to_numpy(zero_copy_only=False)
    position = position.astype("int64")                              # -1: new customer
    in_both = position >= 0
    n_both = int(in_both.sum())
    if n_both == 0:
        where = before_info.get("path") or "the previous segments"
        data = source.get("path") or "the data"
        raise InputError(
            f"no customer of {data} ({len(after['ids']):,}) is in {where} ({len(before['ids']):,}): ids such "
            f"as {_example(after['ids'])} against {_example(before['ids'])}; are they the same customers and id column?"
        )
    after_of_before = np.full(len(before["ids"]), -1, dtype="int64")
    after_of_before[position[in_both]] = np.flatnonzero(in_both)
    kept = int((before["labels"][position[in_both]] == after["labels"][in_both]).sum())
    counts = {
        "before": int(len(before["ids"])), "after": int(len(after["ids"])), "in_both": n_both,
        "kept": kept, "moved": n_both - kept, "new": int((~in_both).sum()),
        "gone": int((after_of_before < 0).sum()),
    }
    return {"after_of_before": after_of_before, "new": np.flatnonzero(~in_both), "counts": counts}


def _example(ids) -> str:
    return repr(ids[0].as_py()) if len(ids) else "(none)"


def _segment_states(fitted, before: dict, after: dict) -> dict:
    """The segments in matrix order (by id, noise last) and each customer's code among them."""
    present = set(fitted.segment_names) | set(np.unique(before["labels"]).tolist()) | set(
        np.unique(after["labels"]).tolist())
    ids = sorted((int(s) for s in present), key=lambda s: (s < 0, s))
    after_names = [fitted.name_of(s) for s in ids]
    before_names = [before["names"].get(s, fitted.name_of(s)) for s in ids]
    position = {s: i for i, s in enumerate(ids)}
    return {
        "ids": ids, "after_names": after_names, "before_names": before_names,
        "same_names": before_names == after_names,
        "before_codes": _codes(before["labels"], position), "after_codes": _codes(after["labels"], position),
    }


def _codes(labels: np.ndarray, position: dict) -> np.ndarray:
    values, inverse = np.unique(labels, return_inverse=True)
    return np.array([position[int(v)] for v in values], dtype="int64")[inverse.ravel()]


def _transition_counts(joined: dict, before_codes: np.ndarray, after_codes: np.ndarray, m: int) -> np.ndarray:
    """(m + 1) x (m + 1) counts: state before (row m: new) by state after (column m: gone)."""
    after_of_before = joined["after_of_before"]
    present = after_of_before >= 0
    rows = np.concatenate([before_codes, np.full(len(joined["new"]), m)])
    cols = np.concatenate([np.where(present, after_codes[np.maximum(after_of_before, 0)], m),
                           after_codes[joined["new"]]])
    return np.bincount(rows * (m + 1) + cols, minlength=(m + 1) ** 2).reshape(m + 1, m + 1)


def _frames(counts: np.ndarray, before_names: list[str], after_names: list[str]):
    index = pd.Index([*before_names, NEW], name="before")
    columns = pd.Index([*after_names, GONE], name="after")
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    return (pd.DataFrame(counts.astype("int64"), index=index, columns=columns),
            pd.DataFrame(shares, index=index, columns=columns))


def _sizes(counts: np.ndarray, names: list[str], ids: list | None = None) -> pd.DataFrame:
    """Per state: before, after, shares, kept, lost, gained, change, lost to gone, gained from new."""
    m = len(names)
    before = counts[:m, :].sum(axis=1)
    after = counts[:, :m].sum(axis=0)
    kept = np.diag(counts)[:m]
    frame = pd.DataFrame({
        "before": before, "after": after,
        "share_before": before / max(int(before.sum()), 1), "share_after": after / max(int(after.sum()), 1),
        "kept": kept, "lost": before - kept, "gained": after - kept, "change": after - before,
        "lost_to_gone": counts[:m, m], "gained_from_new": counts[m, :m],
    }, index=pd.Index(names, name="segment"))
    if ids is not None:
        frame.insert(0, "id", ids)
    return frame


def _migration(id_name: str, before: dict, after: dict, joined: dict, states: dict) -> pd.DataFrame:
    """migration.csv: the previous run's customers in its order, then the new ones."""
    after_of_before = joined["after_of_before"]
    new = joined["new"]
    present = after_of_before >= 0
    m = len(states["ids"])
    ids_array = np.asarray(states["ids"], dtype="int64")
    before_codes = np.concatenate([states["before_codes"], np.full(len(new), m)])
    after_codes = np.concatenate([np.where(present, states["after_codes"][np.maximum(after_of_before, 0)], m),
                                  states["after_codes"][new]])
    lookup = np.append(ids_array, 0)            # code m (new / gone) has no segment id
    status = np.where(before_codes == m, 2, np.where(after_codes == m, 3, np.where(before_codes == after_codes, 0, 1)))
    frame = pd.DataFrame({
        id_name: _text_column(before["ids"], after["ids"].take(new)),
        "segment_before": pd.arrays.IntegerArray(lookup[before_codes], before_codes == m),
        "segment_after": pd.arrays.IntegerArray(lookup[after_codes], after_codes == m),
        "segment_name_before": pd.Categorical.from_codes(before_codes, categories=_unique([*states["before_names"], NEW])),
        "segment_name_after": pd.Categorical.from_codes(after_codes, categories=_unique([*states["after_names"], GONE])),
        "status": pd.Categorical.from_codes(status, categories=["kept", "moved", NEW, GONE]),
    })
    if before["rfm"] is not None and after["rfm"] is not None:
        frame["rfm_segment_before"] = np.concatenate([before["rfm"], np.full(len(new), NEW, dtype=object)])
        frame["rfm_segment_after"] = np.concatenate([
            np.where(present, after["rfm"][np.maximum(after_of_before, 0)], GONE), after["rfm"][new]])
    return frame


def _text_column(*parts) -> pd.Series:
    """Arrow text arrays, one after the other, as a pandas text column."""
    import pyarrow as pa

    return pd.Series(pa.concat_arrays(list(parts)).to_pandas(), dtype="str")


def _unique(names: list[str]) -> list[str]:
    """Categories must differ: a repeated name gets its position appended (never happens for a
    run's own names, which are unique)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _rfm_transitions(before: dict, after: dict, joined: dict, migration: pd.DataFrame):
    """(counts, shares, sizes) of the RFM segments, in the standard order."""
    from ..logs.rfm import RFM_SEGMENTS

    names = [n for n in RFM_SEGMENTS if n in set(before["rfm"]) | set(after["rfm"])]
    names += sorted((set(before["rfm"]) | set(after["rfm"])) - set(names))
    m = len(names)
    before_codes = pd.Categorical(migration["rfm_segment_before"], categories=[*names, NEW]).codes.astype("int64")
    after_codes = pd.Categorical(migration["rfm_segment_after"], categories=[*names, GONE]).codes.astype("int64")
    counts = np.bincount(before_codes * (m + 1) + after_codes, minlength=(m + 1) ** 2).reshape(m + 1, m + 1)
    transitions, shares = _frames(counts, names, names)
    return transitions, shares, _sizes(counts, names)


# --------------------------------------------------------------------------- moves


def value_of(name: str, kind: str = "segment") -> int:
    """How much a segment is worth, for telling losses from gains.

    RFM segments use `RFM_VALUE`; a cluster's name scores +1 per word of value ("high
    spending", "frequent buyers", "loyal") and -1 per word of lapsing ("lapsed", "low
    spending", "infrequent", "at risk"), see `VALUE_WORDS`.

    Examples
    --------
    >>> value_of("Frequent buyers, high spending"), value_of("Lapsed, low spending")
    (2, -2)
    >>> value_of("Infrequent buyers"), value_of("At Risk", kind="rfm")
    (-1, 2)
    """
    if kind == "rfm":
        return RFM_VALUE.get(name, 0)
    text = name.lower()
    return sum(sign for pattern, sign in VALUE_WORDS if re.search(pattern, text))


def move_sentence(count: int, source: str, target: str, kind: str, direction: str) -> str:
    """One move in words: "412 Loyal Customers are now At Risk: send personalised win-back e-mails".

    RFM moves end with the destination's first action; cluster moves with `CLUSTER_ADVICE`.

    Examples
    --------
    >>> move_sentence(412, "Loyal Customers", "At Risk", "rfm", "loss")
    '412 Loyal Customers are now At Risk: send personalised win-back e-mails'
    >>> move_sentence(1234, "Frequent buyers", "Lapsed", "segment", "loss")
    '1,234 customers of “Frequent buyers” are now in “Lapsed”: reach them first'
    """
    if kind == "rfm":
        from ..logs.rfm import RFM_SEGMENTS

        who = source if source.endswith("s") else f"{source} customers"
        actions = RFM_SEGMENTS.get(target, {}).get("actions") or [CLUSTER_ADVICE[direction]]
        advice = actions[0][0].lower() + actions[0][1:]
        if ": " in advice:                      # "reward them: early access" reads as one clause
            head, detail = advice.split(": ", 1)
            advice = f"{head} ({detail})"
        return f"{count:,} {who} are now {target}: {advice}"
    return f"{count:,} customers of “{source}” are now in “{target}”: {CLUSTER_ADVICE[direction]}"


def _moves(transitions: pd.DataFrame, kind: str) -> list[dict]:
    """The largest moves between segments that lose value, then the largest that gain it."""
    names = [str(n) for n in transitions.columns[:-1]]
    counts = transitions.to_numpy()
    found = {"loss": [], "gain": []}
    for i, source in enumerate(transitions.index[:-1]):
        for j, target in enumerate(names):
            if i == j or counts[i, j] == 0:
                continue
            change = value_of(target, kind) - value_of(str(source), kind)
            if change:
                found["loss" if change < 0 else "gain"].append((-int(counts[i, j]), i, j, str(source), target))
    out = []
    for direction, limit in (("loss", MAX_LOSS_MOVES), ("gain", MAX_GAIN_MOVES)):
        for negative, _i, _j, source, target in sorted(found[direction])[:limit]:
            out.append({"kind": kind, "direction": direction, "from": source, "to": target,
                        "customers": -negative,
                        "sentence": move_sentence(-negative, source, target, kind, direction)})
    return out


# --------------------------------------------------------------------------- drift


def measure_drift(fitted, matrix: np.ndarray, labels: np.ndarray, random_state: int = 0):
    """Drift of the new customers from the run's segments, and the verdict.

    Parameters
    ----------
    fitted : Model
        With its ``reference`` block (else drift is reported as not measured).
    matrix : ndarray
        Model matrix of the new customers.
    labels : ndarray of int
        Their assigned segments.
    random_state : int
        Seed of the refit sample.

    Returns
    -------
    drift : dict
        ``measured``, ``far_share``, ``segments`` (per segment: sizes, far share, largest
        shift), ``refit``, ``reasons``, ``evidence``, ``verdict`` and the ``thresholds``.
    shifts : DataFrame or None
        Centre shift per segment and model feature, in old standard deviations.
    """
    reference = fitted.reference
    thresholds = {
        "far_expected": FAR_EXPECTED, "far_limit": FAR_FACTOR * FAR_EXPECTED,
        "large_segment_share": LARGE_SEGMENT_SHARE, "centre_shift_sd": CENTRE_SHIFT_SD,
        "new_group_min_share": NEW_GROUP_MIN_SHARE, "new_group_max_jaccard": NEW_GROUP_MAX_JACCARD,
        "new_group_outside_share": NEW_GROUP_OUTSIDE_SHARE, "refit_sample": REFIT_SAMPLE,
    }
    if reference is None:
        note = ("not measured: the model predates drift statistics (its model.json has no 'reference' "
                "block); run custseg again to write them")
        return {"measured": False, "note": note, "verdict": None, "reasons": [], "evidence": [note],
                "thresholds": thresholds}, None
    columns = list(reference["columns"])
    if matrix.shape[1] != len(columns):
        raise ModelError(f"the model's drift statistics have {len(columns)} columns, its features {matrix.shape[1]}")
    described = [s for s in reference["segments"] if s["id"] >= 0]
    ids = np.array([s["id"] for s in described], dtype="int64")
    centres = np.array([s["mean"] for s in described], dtype="float64").reshape(len(described), len(columns))
    p95 = np.array([s["distance_p95"] for s in described])
    p99 = np.array([s["distance_p99"] for s in described])
    slot = np.full(max(int(ids.max(initial=-1)), int(labels.max(initial=-1))) + 2, -1, dtype="int64")
    slot[ids] = np.arange(len(ids))
    code = slot[labels]                                  # -1: noise or a segment without statistics
    placed = code >= 0
    distance = np.zeros(len(labels))
    distance[placed] = _distances(matrix, code, centres, placed)
    far99 = placed & (distance > np.append(p99, np.inf)[code])
    far95 = placed & (distance > np.append(p95, np.inf)[code])
    n_placed = int(placed.sum())
    far_share = float(far99.sum() / n_placed) if n_placed else 0.0
    sd = np.asarray(reference["sd"], dtype="float64")
    scale = np.where(sd > 0, sd, 1.0)
    old_total = max(int(reference["customers"]), 1)
    segment_rows, shift_rows = [], {}
    names = fitted.segment_names
    sizes_after = np.bincount(code[placed], minlength=len(ids))
    sums = np.zeros((len(ids), len(columns)))
    for j in range(len(columns)):
        sums[:, j] = np.bincount(code[placed], weights=matrix[placed, j], minlength=len(ids))
    for i, item in enumerate(described):
        size = int(sizes_after[i])
        shift = None
        if size >= MIN_SHIFT_CUSTOMERS:
            shift = (sums[i] / size - centres[i]) / scale
            shift_rows[fitted.name_of(item["id"])] = shift
        largest = None if shift is None else int(np.argmax(np.abs(shift)))
        segment_rows.append({
            "id": int(item["id"]), "name": names.get(int(item["id"]), fitted.name_of(item["id"])),
            "share_before": item["size"] / old_total, "share_after": size / max(len(labels), 1),
            "far_share": float(far99[code == i].sum() / size) if size else None,
            "largest_shift": None if shift is None else float(shift[largest]),
            "largest_shift_feature": None if shift is None else columns[largest],
            "shift": None if shift is None else dict(zip(columns, (float(v) for v in shift))),
        })
    noise_before = next((s["size"] for s in reference["segments"] if s["id"] < 0), 0) / old_total
    refit = _refit(matrix, labels, far95, reference, names, random_state)
    reasons = _reasons(far_share, segment_rows, refit)
    drift = {
        "measured": True, "note": None,
        "far_share": far_share, "noise_share_before": noise_before,
        "noise_share_after": float((labels < 0).mean()) if len(labels) else 0.0,
        "segments": segment_rows, "refit": refit, "reasons": reasons,
        "evidence": _evidence(far_share, segment_rows, refit, reference),
        "verdict": "refit recommended: " + "; ".join(reasons) if reasons else "segments still hold",
        "thresholds": thresholds,
    }
    shifts = pd.DataFrame(shift_rows, index=pd.Index(columns, name="feature")).T if shift_rows else None
    if shifts is not None:
        shifts.index.name = "segment"
    return drift, shifts


def _refit(matrix: np.ndarray, labels: np.ndarray, outside: np.ndarray, reference: dict, names: dict,
           random_state: int) -> dict | None:
    """K-Means over the run's k range on a seeded sample; groups that match no old segment."""
    from sklearn.metrics import pairwise_distances, silhouette_score

    from ..segmenting.search import _kmeans_refit, _seeded_sample

    index = _seeded_sample(len(matrix), REFIT_SAMPLE, random_state)
    points, assigned, beyond = matrix[index], labels[index], outside[index]
    k_min, k_max = reference["k_range"]
    ks = [k for k in range(max(int(k_min), 2), min(int(k_max), len(points) - 1) + 1)]
    if not ks:
        return None
    scored = _seeded_sample(len(points), REFIT_SILHOUETTE_SAMPLE, random_state)
    distances = pairwise_distances(points[scored])          # once, for every k's silhouette
    best = None
    for k in ks:
        found = _kmeans_refit(k, REFIT_INITS)(points, random_state)
        if len(np.unique(found[scored])) < 2:
            continue
        score = float(silhouette_score(distances, found[scored], metric="precomputed"))
        if best is None or score > best[0]:
            best = (score, k, found)
    if best is None:
        return None
    score, k, found = best
    groups = []
    for group, (match, jaccard) in _best_matches(found, assigned).items():
        members = found == group
        share = float(members.mean())
        outside_share = float(beyond[members].mean())
        groups.append({
            "size": int(members.sum()), "share": share, "best_match": None if match is None else names.get(match),
            "best_jaccard": jaccard, "outside_share": outside_share,
            "new": bool(share >= NEW_GROUP_MIN_SHARE and jaccard < NEW_GROUP_MAX_JACCARD
                        and outside_share >= NEW_GROUP_OUTSIDE_SHARE),
        })
    assignment = None
    placed = assigned[scored] >= 0
    if len(np.unique(assigned[scored][placed])) >= 2:
        assignment = float(silhouette_score(distances[np.ix_(placed, placed)], assigned[scored][placed],
                                            metric="precomputed"))
    return {"sample_size": int(len(points)), "k": int(k), "silhouette": score, "groups": groups,
            "new_groups": sum(g["new"] for g in groups), "assignment_silhouette": assignment,
            "run_silhouette": reference.get("silhouette")}


def _best_matches(refitted: np.ndarray, assigned: np.ndarray) -> dict:
    """For each refit group: (old segment it overlaps best by Jaccard, that Jaccard).

    Assigned noise (-1) matches nothing.

    Examples
    --------
    >>> import numpy as np
    >>> _best_matches(np.array([0, 0, 1, 1, 1]), np.array([5, 5, 5, 7, -1]))
    {0: (5, 0.6666666666666666), 1: (7, 0.3333333333333333)}
    """
    groups, group_index = np.unique(refitted, return_inverse=True)
    olds, old_index = np.unique(assigned, return_inverse=True)
    table = np.zeros((len(groups), len(olds)))
    np.add.at(table, (group_index.ravel(), old_index.ravel()), 1)
    group_sizes = table.sum(axis=1)
    table[:, olds < 0] = 0.0
    union = group_sizes[:, None] + np.where(olds < 0, 0.0, np.bincount(old_index.ravel()))[None, :] - table
    jaccard = np.divide(table, union, out=np.zeros_like(table), where=union > 0)
    out = {}
    for i, group in enumerate(groups):
        j = int(np.argmax(jaccard[i]))
        out[int(group)] = (int(olds[j]) if jaccard[i, j] > 0 else None, float(jaccard[i, j]))
    return out


def _reasons(far_share: float, segments: list[dict], refit: dict | None) -> list[str]:
    """Why a refit is recommended (empty: the segments still hold)."""
    reasons = []
    if far_share > FAR_FACTOR * FAR_EXPECTED:
        reasons.append(f"{far_share:.1%} of the customers lie beyond their segment's old 99th-percentile "
                       f"distance (about {FAR_EXPECTED:.0%} if nothing changed)")
    for group in (refit or {}).get("groups", []):
        if group["new"]:
            match = f" (best match “{group['best_match']}”, Jaccard {group['best_jaccard']:.2f})" \
                if group["best_match"] else ""
            reasons.append(f"a new group of {group['share']:.0%} of the customers matches no old segment{match}")
    for item in segments:
        if item["share_before"] >= LARGE_SEGMENT_SHARE and item["largest_shift"] is not None \
                and abs(item["largest_shift"]) > CENTRE_SHIFT_SD:
            reasons.append(f"the centre of “{item['name']}” moved {abs(item['largest_shift']):.1f} SD on "
                           f"{item['largest_shift_feature']}")
    return reasons


def _evidence(far_share: float, segments: list[dict], refit: dict | None, reference: dict) -> list[str]:
    """Every measure in words, whatever the verdict."""
    out = [f"{far_share:.1%} of the customers lie beyond their segment's old 99th-percentile distance to its "
           f"centre (expected about {FAR_EXPECTED:.0%}; limit {FAR_FACTOR * FAR_EXPECTED:.0%})."]
    shifted = [s for s in segments if s["largest_shift"] is not None]
    if shifted:
        top = max(shifted, key=lambda s: abs(s["largest_shift"]))
        out.append(f"Largest centre shift: “{top['name']}” by {abs(top['largest_shift']):.2f} SD on "
                   f"{top['largest_shift_feature']} (limit {CENTRE_SHIFT_SD} SD for segments of at least "
                   f"{LARGE_SEGMENT_SHARE:.0%}).")
    if refit:
        new = refit["new_groups"]
        found = ("every group it found matches an old segment" if not new else
                 f"{new} group{'s' if new > 1 else ''} of it match{'es' if new == 1 else ''} no old segment")
        out.append(f"K-Means refitted on {refit['sample_size']:,} new customers chose k = {refit['k']} "
                   f"(silhouette {refit['silhouette']:.2f}): {found}.")
        if refit["assignment_silhouette"] is not None:
            run = reference.get("silhouette")
            out.append(f"Silhouette of the old segments on the new customers: {refit['assignment_silhouette']:.2f}"
                       + (f" (the run: {run:.2f})." if run is not None else "."))
    return out
