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
  (`custseg.tracking.reference.reference_statistics`), with a plain verdict; see the drift
  rule in `custseg.tracking.drift`.

The steps live in the modules of this room: `custseg.tracking.snapshots` (before and
after), `custseg.tracking.transitions` (matching, migration, transitions),
`custseg.tracking.moves`, `custseg.tracking.drift` and `custseg.tracking.result` (`Tracking`
and its files).

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

from ..progress import ProgressCallback
from .drift import measure_drift
from .history import compare_histories
from .moves import largest_moves
from .result import Tracking
from .snapshots import after_state, before_state
from .transitions import (
    join_snapshots,
    migration_frame,
    rfm_transitions,
    segment_sizes,
    segment_states,
    transition_counts,
    transition_frames,
)
from .value_moves import rfm_move_values, segment_move_values, value_block


def track(model, data, *, previous=None, as_of=None, random_state: int = 0,
          on_progress: ProgressCallback | None = None, window=None) -> Tracking:
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
    window : str, optional
        Transaction logs only: the trailing window of the count and money features. The
        model's window (``model.json``) is always used; a different one is refused. Without
        a window, ``info["warnings"]`` says when the two snapshots cover histories of
        different lengths (`custseg.tracking.history`).

    Returns
    -------
    Tracking

    Raises
    ------
    InputError
        The data lacks the model's columns, the before-state cannot be found or read, or
        the snapshots have no customer in common.
    SettingsError
        ``as_of`` outside the log's dates, or given for a customer-table model; ``window``
        other than the model's.

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
    fitted, before, before_info = before_state(model, previous)
    fitted.check_window(window)
    progress("assigning the new customers", 0, 4)
    after = after_state(fitted, data, as_of, progress)
    progress("matching customers", 1, 4)
    joined = join_snapshots(before, after, before_info, after["source"])
    states = segment_states(fitted, before, after)
    migration = migration_frame(fitted.roles.id_name, before, after, joined, states)
    counts = transition_counts(joined, states["before_codes"], states["after_codes"], len(states["ids"]))
    transitions, shares = transition_frames(counts, states["before_names"], states["after_names"])
    sizes = segment_sizes(counts, states["after_names"], ids=states["ids"])
    rfm = None
    if before["rfm"] is not None and after["rfm"] is not None:
        rfm = rfm_transitions(before, after, joined, migration)
    progress("measuring drift", 2, 4)
    drift, shifts = measure_drift(fitted, after["matrix"], after["labels"], random_state)
    value = value_block(joined, states, before, after)
    moves = _moves(transitions, rfm, value, joined, states, before, migration)
    info = _info(fitted, before, after, before_info, states, joined)
    progress("done", 4, 4)
    return Tracking(
        migration=migration, transitions=transitions, transition_shares=shares, sizes=sizes, drift=drift,
        moves=moves, info=info,
        rfm_transitions=None if rfm is None else rfm[0], rfm_transition_shares=None if rfm is None else rfm[1],
        rfm_sizes=None if rfm is None else rfm[2], shifts=shifts, value=value,
    )


def _moves(transitions, rfm, value: dict | None, joined: dict, states: dict, before: dict, migration) -> list[dict]:
    """The moves that matter: between RFM segments for a log (between segments where none
    differs in value), ranked by the value they carried when both snapshots have one
    (`custseg.tracking.value_moves`), else by customers."""
    basis = None if value is None else value["basis"]
    moves = []
    if rfm is not None:
        values = None if basis is None else rfm_move_values(
            migration, len(before["ids"]), before["value"][basis], [str(n) for n in rfm[0].columns[:-1]])
        moves = largest_moves(rfm[0], kind="rfm", values=values, basis=basis)
    if not moves:
        values = None if basis is None else segment_move_values(joined, states, before["value"][basis])
        moves = largest_moves(transitions, kind="segment", values=values, basis=basis)
    return moves


def _info(fitted, before: dict, after: dict, before_info: dict, states: dict, joined: dict) -> dict:
    """Where the model and the two snapshots came from, the customer counts, the history each
    snapshot of a log covers, and the warnings."""
    history = compare_histories(fitted.transactions, after["history_days"], after["as_of"])
    return {
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
        "history": history,
        "warnings": [history["warning"]] if history and history["warning"] else [],
    }
