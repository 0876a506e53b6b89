"""What the caller handed in: an array, a DataFrame or a path, described for the summary,
and a customer table joined to a transaction log's customers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .reading import read_table


def frame_from_array(data):
    """A 2-D array as a customer table (columns ``x1..xd``); anything else unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> frame_from_array(np.array([[1.5, 2.0], [3.0, 4.0]])).columns.tolist()
    ['x1', 'x2']
    """
    if not isinstance(data, np.ndarray):
        return data
    if data.ndim != 2 or data.shape[1] == 0:
        raise InputError(f"an array of customers must have 2 dimensions with at least one column, got shape {data.shape}")
    return pd.DataFrame(data, columns=[f"x{j + 1}" for j in range(data.shape[1])])


def source_of(data, kind: str) -> dict:
    """What the input was, for ``summary.json``: path, name, format and kind.

    Examples
    --------
    >>> source_of("orders.csv.gz", "transactions")["format"]
    'csv'
    """
    if isinstance(data, pd.DataFrame):
        return {"path": None, "name": "DataFrame", "format": "dataframe", "kind": kind}
    path = Path(str(data))
    name = path.name.lower().removesuffix(".gz")
    return {"path": str(data), "name": path.name, "format": Path(name).suffix.lstrip(".") or "text",
            "kind": kind}


def join_customers(behaviour: pd.DataFrame, path, source: dict) -> pd.DataFrame:
    """Join a customer table (demographics) to the behaviour features on the customer id.

    Customers on only one side are counted in ``source["join"]``; the segmentation uses
    those on both.
    """
    crm, _ = read_table(path)
    key = behaviour.columns[0]
    if key not in crm.columns:
        raise InputError(
            f"--customers file {path} has no column {key!r} to join on; columns are: {', '.join(map(str, crm.columns))}"
        )
    crm = crm.copy()
    crm[key] = crm[key].astype("string").str.strip().str.replace(r"\.0$", "", regex=True)
    duplicated = int(crm[key].duplicated().sum())
    crm = crm.drop_duplicates(key)
    ids = behaviour[key].astype("string")
    in_both = ids.isin(crm[key])
    source["join"] = {
        "customers_file": str(path),
        "customers_in_both": int(in_both.sum()),
        "only_in_transactions": int((~in_both).sum()),
        "only_in_customers_file": int((~crm[key].isin(ids)).sum()),
        "duplicate_ids_in_customers_file": duplicated,
        "columns": [c for c in crm.columns if c != key and c not in behaviour.columns],
    }
    extra = source["join"]["columns"]
    merged = behaviour.assign(**{key: ids}).merge(crm[[key, *extra]], on=key, how="inner")
    return merged
