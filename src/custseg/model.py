"""A fitted segmentation that assigns new customers, saved as plain JSON.

The model file holds only numbers, strings and lists: loading it runs no code (no
pickle). Floats are written with full precision, so assigning the training data
reproduces the run's segments exactly.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .errors import ModelError, SettingsError
from .logs.columns import TransactionColumns
from .logs.duckdb_engine import customers_from_transactions
from .logs.window import parse_window
from .outputs import write_atomic
from .preparing.clean import CleaningParams, ColumnRoles, apply_cleaning
from .preparing.features import FeaturePlan
from .reading import ReadOptions, read_table
from .segmenting.assign import Assigner
from .valuing.stored import StoredValue

MODEL_FORMAT = "custseg-model"
#: Version 2 adds codes for missing, derived date features and indicators to the cleaning
#: rules: a custseg that reads only version 1 would silently skip them, so it must refuse.
MODEL_FORMAT_VERSION = 2
#: Version 3: a model of a transaction log whose count and money features cover a trailing
#: window (``transactions.window``). Only such models are written as version 3: a custseg that
#: reads only version 2 would compute them over the whole history, silently; models without
#: a window stay version 2, which it reads right.
WINDOW_FORMAT_VERSION = 3
#: Versions this custseg reads (a version-1 model has none of the version-2 rules).
READABLE_FORMAT_VERSIONS = (1, 2, 3)
#: The fitted value models (``value``, `custseg.valuing.stored.StoredValue`) need no new
#: version: a custseg that does not know them assigns the segments right and scores no value,
#: and this custseg reads files without them (``assign`` then says that value is not scored).
MODEL_FILENAME = "model.json"


@dataclass
class Model:
    """Cleaning rules, feature transforms and the segment assignment of one run.

    Get one from a run (``result.model``, ``Segmenter().fit(X).model_``) or a file
    (`load_model`).

    Examples
    --------
    >>> from custseg import generate_customers, segment
    >>> customers, _ = generate_customers(300, 3, random_state=2)
    >>> model = segment(customers, algorithms=("kmeans",), k_max=4).model
    >>> model.algorithm, sorted(model.segment_names)
    ('kmeans', [0, 1, 2])
    """

    roles: ColumnRoles
    cleaning: CleaningParams
    plan: FeaturePlan
    assigner: Assigner
    algorithm: str
    segment_names: dict[int, str]
    #: {"columns": TransactionColumns.to_dict(), "as_of": date or None, "date_format": the run's
    #: format of the order dates, or None (typed dates; absent in older models), "window": the
    #: trailing window of the count and money features ("90d", "12m") or None, "history_days":
    #: the days the run's log covered, "as_of_used": the run's reference date (these three
    #: absent in older models)}
    transactions: dict | None = None
    #: Statistics of the fitted customers that `custseg.tracking.track.track` measures drift against
    #: (see `custseg.tracking.reference.reference_statistics`); None in models written before them.
    reference: dict | None = None
    #: The fitted value models of a transaction log run (`custseg.valuing.stored.StoredValue`):
    #: ``assign`` scores a new snapshot with them; None for a customer table, a run with
    #: ``value="off"`` or a model written before them.
    value: StoredValue | None = None

    def customer_table(self, data, as_of: str | None = None, read: ReadOptions | None = None) -> pd.DataFrame:
        """The customers to assign: ``data`` itself, a file read as a table, or, for a
        model fitted on a transaction log, the same features computed from order lines.

        Parameters
        ----------
        data : DataFrame, str or path
        as_of : str, optional
            Reference date for a transaction log; default the run's fixed ``--as-of`` if it
            had one, else the day after the last transaction in ``data`` (the run's rule).
        read : ReadOptions, optional
            Sheet, archive member and header row of a file, as ``custseg run`` takes them; for
            a transaction log also the format of its order dates, by default the format the
            run read its dates with (so that 03/04/2024 means the same day in both).

        Examples
        --------
        >>> from custseg import generate_transactions, segment
        >>> lines = generate_transactions(200, 3, random_state=4)[0]
        >>> model = segment(lines, algorithms=("kmeans",), k_max=4).model
        >>> customers = model.customer_table(lines)
        >>> customers.columns[:3].tolist()
        ['CustomerID', 'recency_days', 'frequency']
        """
        read = read or ReadOptions()
        if self.transactions is None:
            if isinstance(data, pd.DataFrame):
                return data
            return read_table(data, read)[0]
        return self.transaction_features(data, as_of, read).customers

    def transaction_features(self, data, as_of: str | None = None, read: ReadOptions | None = None):
        """A new snapshot of the order lines of a model fitted on a transaction log: its
        `custseg.logs.result.TransactionFeatures` (the customers and their purchase
        histories), computed with the run's columns, date format and window (see
        `customer_table` for ``as_of`` and ``read``).

        Examples
        --------
        >>> from custseg import generate_transactions, segment
        >>> lines = generate_transactions(200, 3, random_state=4)[0]
        >>> model = segment(lines, algorithms=("kmeans",), k_max=4).model
        >>> model.transaction_features(lines).history.columns.tolist()
        ['CustomerID', 'purchase_days', 'repeat_spend', 'year_spend']
        """
        if self.transactions is None:
            raise SettingsError("this model was fitted on a customer table: it has no order lines to read")
        read = read or ReadOptions()
        columns = TransactionColumns.from_dict(self.transactions["columns"])
        if read.date_format is None and self.transactions.get("date_format"):
            read = dataclasses.replace(read, date_format=self.transactions["date_format"])
        return customers_from_transactions(data, columns, as_of=as_of or self.transactions["as_of"],
                                           read=read, window=self.window)

    def value_scores(self, features) -> pd.DataFrame | None:
        """Each customer's P(alive), expected purchases, expected value per purchase, CLV and
        last-year spend (`custseg.valuing.stored.STORED_COLUMNS`) in a snapshot's ``features``
        (`transaction_features`), row by row, with the run's fitted value parameters and as
        of the snapshot's reference date, without refitting; None when the model has none.

        Examples
        --------
        >>> from custseg import generate_transactions, segment
        >>> lines = generate_transactions(200, 3, random_state=4)[0]
        >>> result = segment(lines, algorithms=("kmeans",), k_max=4)
        >>> scores = result.model.value_scores(result.model.transaction_features(lines))
        >>> bool((scores["p_alive"].to_numpy() == result.segments_frame()["p_alive"].to_numpy()).all())
        True
        """
        if self.value is None or features.history is None:
            return None
        return self.value.score(features.customers, features.history)

    @property
    def window(self) -> str | None:
        """The trailing window of the count and money features of a model fitted on a
        transaction log (``"90d"``, ``"12m"``), or None (the whole history, or a customer table).

        Examples
        --------
        >>> from custseg import generate_transactions, segment
        >>> lines = generate_transactions(200, 3, random_state=4)[0]
        >>> segment(lines, algorithms=("kmeans",), k_max=4, window="90d").model.window
        '90d'
        """
        return (self.transactions or {}).get("window")

    def check_window(self, window) -> None:
        """Refuse a ``window`` (as given to ``assign`` or ``track``) other than the model's.

        Raises
        ------
        SettingsError
            Naming both windows, when ``window`` is given and is not the model's.

        Examples
        --------
        >>> from custseg import generate_transactions, segment
        >>> lines = generate_transactions(200, 3, random_state=4)[0]
        >>> model = segment(lines, algorithms=("kmeans",), k_max=4, window="90d").model
        >>> model.check_window("90")
        >>> model.check_window("12m")
        Traceback (most recent call last):
        ...
        custseg.errors.SettingsError: --window 12m differs from the model's window 90d: its segments are defined on those features; leave --window out to use the model's, or run custseg again with --window 12m
        """
        given = parse_window(window)
        if given is None or given == parse_window(self.window):
            return
        if self.transactions is None:
            raise SettingsError(f"--window {window} applies to a model fitted on a transaction log; this model "
                                f"was fitted on a customer table")
        saved = (f"the model's window {self.window}" if self.window
                 else "the model, fitted without a window (features over the whole history)")
        raise SettingsError(
            f"--window {window} differs from {saved}: its segments are defined on those features; "
            f"leave --window out to use the model's, or run custseg again with --window {window}"
        )

    def assign(self, data: pd.DataFrame) -> tuple[pd.Series, np.ndarray, np.ndarray]:
        """Segments of new customers.

        Returns
        -------
        ids : Series
            Customer id of every row (numbered from 1 when the data has no id column).
        labels : ndarray of int
            Segment of every row; -1 is noise (DBSCAN) or a row that cannot be assigned.
        usable : ndarray of bool
            False for rows with no usable feature value at all (they get -1).

        Examples
        --------
        >>> import pandas as pd
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> model = segment(customers, algorithms=("kmeans",), k_max=4).model
        >>> blank = customers.head(2).assign(**{c: None for c in model.roles.features})
        >>> ids, labels, usable = model.assign(pd.concat([customers.head(2), blank]))
        >>> labels[2:].tolist(), usable.tolist()
        ([-1, -1], [True, True, False, False])
        """
        matrix, usable = self.matrix_and_usable(data)
        labels = self.assigner.predict(matrix)
        labels[~usable] = -1
        if self.roles.id is not None and self.roles.id in data.columns:
            ids = data[self.roles.id].reset_index(drop=True)
        else:
            ids = pd.Series(np.arange(1, len(data) + 1), name="row")
        return ids, labels, usable

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """The model matrix of new customers: cleaned with the fitted rules, transformed
        with the fitted plan (one row per row of ``data``).

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> model = segment(customers, algorithms=("kmeans",), k_max=4).model
        >>> model.matrix(customers).shape == (300, len(model.plan.output_columns))
        True
        """
        return self.matrix_and_usable(data)[0]

    def matrix_and_usable(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The model matrix of new customers and the mask of rows with at least one usable
        feature value (the others cannot be assigned).

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> model = segment(customers, algorithms=("kmeans",), k_max=4).model
        >>> matrix, usable = model.matrix_and_usable(customers)
        >>> matrix.shape[0], int(usable.sum())
        (300, 300)
        """
        cleaned, usable = apply_cleaning(data, self.roles, self.cleaning)
        return self.plan.transform(cleaned), usable

    def name_of(self, segment: int) -> str:
        """Name of a segment id.

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> model = segment(customers, algorithms=("kmeans",), k_max=4).model
        >>> model.name_of(-1)
        'Unusual customers (no segment)'
        """
        return self.segment_names.get(int(segment), "Unusual customers (no segment)")

    def to_dict(self) -> dict:
        """The whole model as plain values (what `save` writes as JSON).

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> data = segment(customers, algorithms=("kmeans",), k_max=4).model.to_dict()
        >>> data["format"], data["assigner"]["kind"]
        ('custseg-model', 'centroids')
        """
        return {
            "format": MODEL_FORMAT,
            "format_version": WINDOW_FORMAT_VERSION if self.window else MODEL_FORMAT_VERSION,
            "custseg_version": __version__,
            "algorithm": self.algorithm,
            "roles": {
                "id": self.roles.id, "numeric": self.roles.numeric,
                "categorical": self.roles.categorical, "features": self.roles.features,
                "excluded": self.roles.excluded,
            },
            "cleaning": self.cleaning.to_dict(),
            "features": self.plan.to_dict(),
            "assigner": self.assigner.to_dict(),
            "segments": [{"id": k, "name": v} for k, v in sorted(self.segment_names.items())],
            "transactions": self.transactions,
            "reference": self.reference,
            "value": None if self.value is None else self.value.to_dict(),
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model as JSON, atomically; returns the path.

        Examples
        --------
        >>> import json, tempfile
        >>> from pathlib import Path
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> model = segment(customers, algorithms=("kmeans",), k_max=4).model
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     json.loads(model.save(Path(folder) / "model.json").read_text())["algorithm"]
        'kmeans'
        """
        return write_atomic(path, json.dumps(self.to_dict(), ensure_ascii=False) + "\n")

    @classmethod
    def from_dict(cls, data: dict) -> "Model":
        """Build a model from `to_dict` output; raise `ModelError` if it is not one.

        Examples
        --------
        >>> Model.from_dict({"format": "something else"})
        Traceback (most recent call last):
        ...
        custseg.errors.ModelError: not a custseg model (no 'format: custseg-model' field)
        """
        if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
            raise ModelError("not a custseg model (no 'format: custseg-model' field)")
        version = data.get("format_version")
        if version not in READABLE_FORMAT_VERSIONS:
            raise ModelError(
                f"model format version {version} is not supported by custseg {__version__} "
                f"(reads versions {', '.join(map(str, READABLE_FORMAT_VERSIONS))}); refit with this version"
            )
        try:
            roles = ColumnRoles(**data["roles"])
            return cls(
                roles=roles,
                cleaning=CleaningParams.from_dict(data["cleaning"]),
                plan=FeaturePlan.from_dict(data["features"]),
                assigner=Assigner.from_dict(data["assigner"]),
                algorithm=str(data["algorithm"]),
                segment_names={int(s["id"]): str(s["name"]) for s in data["segments"]},
                transactions=data.get("transactions"),
                reference=_checked_reference(data.get("reference")),
                value=None if data.get("value") is None else StoredValue.from_dict(data["value"]),
            )
        except ModelError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"model is incomplete or corrupt ({type(exc).__name__}: {exc})") from None


def _checked_reference(reference) -> dict | None:
    """The optional ``reference`` block as read, after checking its shape (ValueError if wrong).

    Models written before drift statistics existed have none: tracking still works, without
    drift.
    """
    if reference is None:
        return None
    columns = reference["columns"]
    if len(reference["sd"]) != len(columns):
        raise ValueError("reference: one standard deviation per column expected")
    for item in reference["segments"]:
        int(item["id"]), int(item["size"])
        if item["id"] >= 0 and len(item["mean"]) != len(columns):
            raise ValueError(f"reference: segment {item['id']} needs one mean per column")
    return reference


def load_model(path: str | os.PathLike) -> Model:
    """Read a model file written by `Model.save`; raise `ModelError` with the file name.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from custseg import generate_customers, load_model, segment
    >>> customers, _ = generate_customers(300, 3, random_state=2)
    >>> result = segment(customers, algorithms=("kmeans",), k_max=4)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     model = load_model(result.model.save(Path(folder) / "model.json"))
    >>> bool((model.assign(customers)[1] == result.labels).all())
    True
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model file {path} is corrupt: not valid JSON ({exc})") from None
    try:
        return Model.from_dict(data)
    except ModelError as exc:
        raise ModelError(f"model file {path}: {exc}") from None

