"""Matching the two snapshots: who is in both, new or gone, the migration of every customer,
and the transition counts between segments (and RFM segments)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..logs.rfm import RFM_SEGMENTS

#: Labels of customers present in only one snapshot.
NEW, GONE = "new", "gone"


def join_snapshots(before: dict, after: dict, before_info: dict, source: dict) -> dict:
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


def segment_states(fitted, before: dict, after: dict) -> dict:
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


def transition_counts(joined: dict, before_codes: np.ndarray, after_codes: np.ndarray, m: int) -> np.ndarray:
    """(m + 1) x (m + 1) counts: state before (row m: new) by state after (column m: gone)."""
    after_of_before = joined["after_of_before"]
    present = after_of_before >= 0
    rows = np.concatenate([before_codes, np.full(len(joined["new"]), m)])
    cols = np.concatenate([np.where(present, after_codes[np.maximum(after_of_before, 0)], m),
                           after_codes[joined["new"]]])
    return np.bincount(rows * (m + 1) + cols, minlength=(m + 1) ** 2).reshape(m + 1, m + 1)


def transition_frames(counts: np.ndarray, before_names: list[str], after_names: list[str]):
    index = pd.Index([*before_names, NEW], name="before")
    columns = pd.Index([*after_names, GONE], name="after")
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    return (pd.DataFrame(counts.astype("int64"), index=index, columns=columns),
            pd.DataFrame(shares, index=index, columns=columns))


def segment_sizes(counts: np.ndarray, names: list[str], ids: list | None = None) -> pd.DataFrame:
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


def migration_frame(id_name: str, before: dict, after: dict, joined: dict, states: dict) -> pd.DataFrame:
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


def rfm_transitions(before: dict, after: dict, joined: dict, migration: pd.DataFrame):
    """(counts, shares, sizes) of the RFM segments, in the standard order."""
    names = [n for n in RFM_SEGMENTS if n in set(before["rfm"]) | set(after["rfm"])]
    names += sorted((set(before["rfm"]) | set(after["rfm"])) - set(names))
    m = len(names)
    before_codes = pd.Categorical(migration["rfm_segment_before"], categories=[*names, NEW]).codes.astype("int64")
    after_codes = pd.Categorical(migration["rfm_segment_after"], categories=[*names, GONE]).codes.astype("int64")
    counts = np.bincount(before_codes * (m + 1) + after_codes, minlength=(m + 1) ** 2).reshape(m + 1, m + 1)
    transitions, shares = transition_frames(counts, names, names)
    return transitions, shares, segment_sizes(counts, names)
