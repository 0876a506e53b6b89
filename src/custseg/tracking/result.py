"""The result of tracking, `Tracking`: its tables, ``summary.json`` and the files and page it
writes (``migration.csv`` through the fast `write_keyed_csv`)."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..outputs import (
    CSV_CHUNK,
    FORMULA_PREFIXES,
    atomic_file,
    csv_text,
    json_text,
    plain,
    spreadsheet_safe,
    write_atomic,
    write_csv,
)
from ..reporting.report import track_summary_html, write_track_report


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
    value : dict or None
        The value moved between segments, lost to lapsing segments and gained by loyal ones
        (`custseg.tracking.value_moves.value_block`); None when the two snapshots do not
        both have a value.

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
    value: dict | None = None

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
                "value": self.value,
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
        return write_track_report(self.summary, path)

    def _repr_html_(self) -> str:
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
    import pyarrow as pa
    import pyarrow.compute as pc

    keys = pa.array(frame[key].astype("string"), type=pa.large_string())
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    rest = frame.drop(columns=[key])
    fast = (keys.null_count == 0 and not pc.any(pc.match_substring_regex(keys, r'[,"\r\n]')).as_py()
             and not any(pc.any(pc.starts_with(keys, p)).as_py() for p in FORMULA_PREFIXES) and len(rest.columns))
    if fast:
        combined = np.zeros(len(frame), dtype="int64")
        for column in rest.columns:
            codes, uniques = pd.factorize(rest[column], use_na_sentinel=False)
            combined = combined * max(len(uniques), 1) + codes
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
        distinct = rest.iloc[first]
        fast = spreadsheet_safe(distinct)[1] == csv.QUOTE_MINIMAL
    if not fast:
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
