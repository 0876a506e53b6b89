"""The two snapshots that tracking compares: the previous run's segments (before) and the new
customers, cleaned, transformed and assigned as ``custseg assign`` does (after)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, SettingsError
from ..inputs import frame_from_array, source_of
from ..logs.columns import TransactionColumns
from ..logs.duckdb_engine import customers_from_transactions
from ..logs.rfm import rfm_scores
from ..model import MODEL_FILENAME, Model, load_model
from ..outputs import FORMULA_PREFIXES, safe_cell
from ..preparing.clean import customer_ids, duplicated_ids
from ..progress import ProgressCallback
from ..reading import read_table
from .value_moves import VALUE_BASES


def before_state(model, previous):
    """(Model, before-state dict, where it came from) from the ``track`` arguments."""
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
    numbers = [c for c in VALUE_BASES if c in header]
    _check_previous_columns(header, id_name, str(path))
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    # Arrow's reader: several times pandas' speed on a million rows; every column as text
    # (no value is read as missing), the segment as an integer.
    types = {c: pa.string() for c in wanted}
    types["segment"] = pa.int64()
    types.update({c: pa.float64() for c in numbers})          # the value columns: empty is missing
    options = arrow_csv.ConvertOptions(include_columns=wanted + numbers, column_types=types,
                                       strings_can_be_null=False)
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
    numbers = [c for c in VALUE_BASES if c in table.column_names]
    frame = table.select(wanted + numbers).to_pandas()
    return frame.astype({c: "string" for c in wanted if c != "segment"})


def _check_previous_columns(columns: list, id_name: str, label: str) -> None:
    missing = [c for c in (id_name, "segment") if c not in columns]
    if missing:
        raise InputError(
            f"{label} lacks column(s) {', '.join(map(repr, missing))} (the model's customer id is {id_name!r}); "
            f"columns are: {', '.join(map(str, columns))}"
        )


def _before_from_frame(frame: pd.DataFrame, id_name: str, label: str, *, written: bool = False) -> dict:
    """Ids (as arrow text), segments, segment names, RFM segments and the value columns
    (``clv``, ``year_spend``, where the run wrote them) of the previous run.

    ``written``: the ids come from a segments.csv, so they are already as custseg writes them.
    """
    _check_previous_columns(list(frame.columns), id_name, label)
    segments = pd.to_numeric(frame["segment"], errors="coerce")
    missing = int(frame[id_name].isna().sum() + segments.isna().sum())
    if missing:
        raise InputError(f"{label} has {missing} row(s) without an id or a segment")
    ids = id_text(frame[id_name], written=written)
    encoded = ids.dictionary_encode()
    if len(encoded.dictionary) != len(ids):
        raise InputError(f"{label} lists {len(ids) - len(encoded.dictionary):,} customer id(s) more than once")
    labels = segments.to_numpy(dtype="int64")
    names = {}
    if "segment_name" in frame.columns:
        values, first = np.unique(labels, return_index=True)
        names = {int(v): str(frame["segment_name"].iloc[i]) for v, i in zip(values, first)}
    rfm = frame["rfm_segment"].astype(str).to_numpy(dtype=object) if "rfm_segment" in frame.columns else None
    value = {c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float) for c in VALUE_BASES
             if c in frame.columns}
    return {"ids": ids, "labels": labels, "names": names, "rfm": rfm, "value": value}


def id_text(ids: pd.Series, *, written: bool = False):
    """Customer ids as the text ``segments.csv`` holds them (an arrow string array): as pandas
    writes them, and spreadsheet-safe (`custseg.outputs.safe_cell`) unless ``written`` already.

    Arrow keeps 1,000,000 ids in one buffer and matches them by hash in a fraction of a
    second (`join_snapshots`), where Python objects take seconds.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

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


def after_state(fitted, data, as_of, progress: ProgressCallback) -> dict:
    """The new snapshot: ids (text), matrix, labels and RFM segments of its usable customers
    (a log's features over the model's window, and the history its lines cover)."""
    data = frame_from_array(data)
    used_as_of = history_days = None
    value = {}
    if fitted.transactions is not None:
        columns = TransactionColumns.from_dict(fitted.transactions["columns"])
        found = customers_from_transactions(data, columns, as_of=as_of, as_of_within_log=True,
                                            on_progress=progress, window=fitted.window)
        frame, used_as_of, history_days = found.customers, found.as_of.isoformat(), found.history_days
        value = _snapshot_value(fitted, found)
        source = source_of(data, "transactions")
    else:
        if as_of is not None:
            raise SettingsError("--as-of applies to a model fitted on a transaction log; this model was fitted "
                                "on a customer table")
        if isinstance(data, pd.DataFrame):
            frame, source = data, source_of(data, "customers")
        else:
            frame, table_source = read_table(data)
            source = {**table_source.to_dict(), "kind": "customers"}
    id_name = fitted.roles.id
    if id_name not in frame.columns:
        raise InputError(
            f"the data lacks the model's customer id column {id_name!r}; columns are: "
            f"{', '.join(map(str, frame.columns))}"
        )
    matrix, usable = fitted.matrix_and_usable(frame)
    ids = customer_ids(frame, fitted.roles)
    has_id = ids.notna().to_numpy()
    duplicated = duplicated_ids(ids, has_id)
    keep = has_id & ~duplicated & usable
    left_out = {reason: int(n) for reason, n in (
        ("missing id", (~has_id).sum()), ("duplicate id", duplicated.sum()),
        ("no usable feature value", (has_id & ~duplicated & ~usable).sum())) if n}
    if not keep.all():
        matrix = matrix[keep]
    labels = fitted.assigner.predict(matrix)
    rfm = None
    if fitted.transactions is not None:
        rfm = rfm_scores(frame.loc[keep, ["recency_days", "frequency", "monetary"]].reset_index(drop=True))
        rfm = rfm["rfm_segment"].to_numpy(dtype=object)
    return {
        "ids": id_text(ids[keep]), "labels": labels,
        "matrix": matrix, "rfm": rfm, "source": source, "rows_read": int(len(frame)), "left_out": left_out,
        "as_of": used_as_of, "history_days": history_days,
        "value": {name: values[keep] for name, values in value.items()},
    }


def _snapshot_value(fitted, found) -> dict:
    """A log snapshot's value per customer (row of ``found.customers``): the CLV and P(alive)
    scored with the model's fitted value parameters (none in a model without them) and the
    spend of the last year."""
    if found.history is None:
        return {}
    scores = fitted.value_scores(found)
    value = {"year_spend": found.history["year_spend"].to_numpy(dtype=float)}
    if scores is not None:
        value.update(clv=scores["clv"].to_numpy(dtype=float), p_alive=scores["p_alive"].to_numpy(dtype=float))
    return value
