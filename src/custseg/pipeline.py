"""The whole run: load, clean, features, search, profile, act; one settings object in,
one `Result` out. The report, the CSV and JSON outputs and the model file all render
that result.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .engines import engine_for
from .errors import InputError, SettingsError
from .explaining.actions import suggest_actions, with_value_actions
from .explaining.profile import (
    key_findings,
    overall_categories,
    profile_segments,
    segment_rules,
)
from .inputs import frame_from_array, join_customers, source_of
from .logs.columns import detect_transaction_columns
from .logs.duckdb_engine import customers_from_transactions
from .logs.rfm import RFM_SEGMENTS, rfm_scores
from .logs.rules import CLUSTER_FEATURES, NO_MONEY_CLUSTER_FEATURES, YEAR_DAYS
from .logs.shapes import log_by_shape
from .model import MODEL_FILENAME, Model
from .outputs import csv_text, json_text, plain, write_atomic, write_csv
from .preparing.clean import CleanTable, clean_customers, detect_roles
from .preparing.features import FeaturePlan, fit_features, principal_axes
from .preparing.options import CleanOptions
from .progress import ProgressCallback
from .reading import ReadOptions, read_columns, read_table
from .segmenting.options import SearchOptions
from .segmenting.search import SearchResult, search
from .segmenting.stability import UNSTABLE_BELOW, stability_word
from .settings import VALUE_MODELS, Settings, parse_holdout, parse_horizon
from .tracking.reference import calendar_columns, reference_statistics
from .valuing.customer_value import (
    CustomerValue,
    ValueOptions,
    history_from_features,
    value_customers,
)
from .valuing.holdout import holdout_check
from .valuing.stored import stored_value

#: Customers drawn (seeded) for the report's figures.
PLOT_SAMPLE = 2000


@dataclass
class Result:
    """Everything a run found. Render it with `write`, `to_html` or `summary`.

    In a notebook, ``segments``, ``profiles``, ``candidates`` and ``ledger`` are DataFrames,
    ``plot(name)`` draws any figure of the report, and the result itself shows as a short
    table of the segments with the reason for the choice.

    Examples
    --------
    >>> from custseg import generate_customers, segment
    >>> customers, _ = generate_customers(300, 3, random_state=2)
    >>> result = segment(customers, algorithms=("kmeans",), k_max=4)
    >>> result.profiles[["name", "size"]].shape
    (3, 2)
    >>> result.chosen["decided_by"]
    'silhouette'
    """

    settings: Settings
    source: dict
    table: CleanTable
    plan: FeaturePlan
    found: SearchResult
    segment_info: list[dict]                # profile, name, rules, actions of each segment
    labels: np.ndarray
    plot_data: dict = field(repr=False)
    transactions: object | None = None      # TransactionFeatures for a transaction log
    rfm: pd.DataFrame | None = None         # RFM scores of the used customers, in their order
    input_columns: list[str] | None = None  # columns of the customer table as given (not for logs)
    reference: dict | None = field(default=None, repr=False)   # drift statistics for model.json
    #: The k range searched: the settings' range, stopped at half the customers of a small
    #: table when the settings kept the default range.
    k_range: tuple[int, int] | None = None
    #: Spark engine with more customers than ``fit_sample``: every customer, on Spark
    #: (`custseg.engines.spark.customers.Population`). The ledger, sizes and RFM summary then count
    #: all of them; ``table``, ``labels`` and the profiles are the fitted sample's. Its
    #: ``release()`` frees Spark's cache of them once the outputs are written.
    population: object | None = field(default=None, repr=False)
    #: A transaction log's customer value (`custseg.valuing`), scores in the order of the
    #: used customers; None for a customer table, with ``value="off"`` or on Spark.
    value: CustomerValue | None = field(default=None, repr=False)

    @property
    def chosen(self) -> dict:
        """Chosen algorithm, k, silhouette, reason and disagreements (``summary["chosen"]``).

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> chosen = segment(customers, algorithms=("kmeans",), k_max=4).chosen
        >>> chosen["algorithm"], chosen["k"]
        ('kmeans', 3)
        """
        return self.summary["chosen"]

    @property
    def model(self) -> Model:
        """The model that assigns new customers to these segments.

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> result = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> ids, labels, usable = result.model.assign(customers)
        >>> bool((labels == result.labels).all())
        True
        """
        return Model(
            roles=self.table.roles,
            cleaning=self.table.params,
            plan=self.plan,
            assigner=self.found.chosen.assigner,
            algorithm=self.found.chosen.algorithm,
            segment_names={s["id"]: s["name"] for s in self.segment_info},
            transactions=None if self.transactions is None else {
                "columns": self.transactions.columns.to_dict(), "as_of": self.settings.as_of,
                "date_format": self.transactions.date_format,
                "window": self.transactions.window, "history_days": self.transactions.history_days,
                "as_of_used": self.transactions.as_of.isoformat(),
            },
            reference=self.reference,
            value=None if self.value is None else self.value.stored,
        )

    @cached_property
    def summary(self) -> dict:
        """The run as plain data: the content of ``summary.json`` (see docs/summary.md).

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> summary = segment(customers, algorithms=("kmeans",), k_max=4).summary
        >>> summary["input"]["rows_read"], len(summary["segments"])
        (300, 3)
        """
        roles, chosen = self.table.roles, self.found.chosen
        plan = self.plan
        pca = None
        if plan.pca_components is not None:
            pca = {
                "components": len(plan.pca_components),
                "explained_variance_ratio": plan.pca_explained,
                "loadings": {
                    f"PC{i + 1}": dict(zip(plan.columns, row)) for i, row in enumerate(plan.pca_components)
                },
            }
        silhouette = chosen.silhouette
        findings = key_findings(self.segment_info, silhouette, self.found.structure)
        return plain({
            "custseg_version": __version__,
            "environment": environment(),
            "source": self.source,
            "settings": self.settings.to_dict(),
            "settings_given": sorted(self.settings.given),
            "settings_derived": self._derived_settings(),
            "input": self.table.ledger.to_dict(),
            "columns": {
                "id": roles.id, "id_name": roles.id_name, "numeric": roles.numeric,
                "categorical": roles.categorical, "excluded": roles.excluded,
                "derived": roles.derived, "not_clustered": roles.not_clustered,
            },
            "features": roles.features,
            "transforms": [
                {"column": c, "log": plan.log[c], "center": plan.center[c], "scale": plan.scale[c]}
                for c in plan.numeric
            ],
            "encoded": plan.categories,
            "categorical_weight": self.settings.categorical_weight if plan.categories else None,
            "pca": pca,
            "candidates": [c.scores() for c in self.found.candidates],
            "elbow": self.found.elbow,
            "chosen": {
                "algorithm": chosen.algorithm, "k": chosen.k, "params": chosen.params,
                "silhouette": chosen.silhouette, "reason": self.found.reason, "disagreements": self.found.disagreements,
                "decided_by": self.found.decided_by, "structure": self.found.structure,
                "stability_mean": chosen.stability_mean, "stability_min": chosen.stability_min,
                "natural_split": None if self.found.natural is None else {
                    "algorithm": self.found.natural.algorithm, "k": self.found.natural.k,
                    "silhouette": self.found.natural.silhouette,
                    "sizes": np.bincount(self.found.natural.labels[self.found.natural.labels >= 0]).tolist(),
                    "why": self.found.natural_why,
                },
            },
            "sampling": self.found.sampling,
            "findings": findings,
            "segments": self.segment_info,
            "overall": {"categories": overall_categories(self.table.data, roles.categorical)},
            "transactions": None if self.transactions is None else self.transactions.to_dict(),
            "rfm": None if self.rfm is None else self._rfm_summary(),
            "value": None if self.value is None else self.value.summary(self.labels),
            "plot_data": self.plot_data,
        })

    def _derived_settings(self) -> dict:
        """The values the run decided for the settings the user did not give (see
        docs/summary.md): the k range searched, the kind of input, the id column, the
        log's columns, as-of date and date format, PCA and the header row."""
        given, settings = self.settings.given, self.settings
        derived = {}
        if settings.k_range_is_default and self.k_range is not None:
            derived["k_min"], derived["k_max"] = self.k_range
        derived["kind"] = self.source.get("kind")
        if self.transactions is None:
            derived["id_col"] = self.table.roles.id
        else:
            columns = self.transactions.columns.to_dict()
            for role in ("customer", "invoice", "date", "quantity", "price", "amount"):
                derived[f"{role}_col"] = columns[role]
            derived["as_of"] = self.transactions.as_of.isoformat()
            derived["date_format"] = self.transactions.date_format
        derived["pca"] = "off" if self.plan.pca_components is None else len(self.plan.pca_components)
        if isinstance(self.source.get("header"), bool):
            derived["header"] = "yes" if self.source["header"] else "no"
        return {name: value for name, value in derived.items() if name not in given}

    def _rfm_summary(self) -> dict:
        """RFM segments beside the clusters: sizes, typical values, actions and the crosswalk."""
        if self.population is not None:
            return self.population.rfm_summary
        rfm = self.rfm
        raw = self.transactions.customers.set_index(self.transactions.customers.columns[0])
        values = raw.loc[self.table.ids.to_numpy(), ["recency_days", "frequency", "monetary"]].reset_index(drop=True)
        segments = []
        for name, info in RFM_SEGMENTS.items():
            members = (rfm["rfm_segment"] == name).to_numpy()
            if not members.any():
                continue
            segments.append({
                "name": name, "size": int(members.sum()), "share": float(members.mean()),
                "description": info["description"], "actions": info["actions"],
                "median": {c: float(values.loc[members, c].median()) for c in values.columns},
            })
        crosswalk = pd.crosstab(rfm["rfm_segment"], pd.Series(self.labels, name="segment"))
        return {
            "segments": segments,
            "crosswalk": {str(r): {str(c): int(crosswalk.loc[r, c]) for c in crosswalk.columns}
                          for r in crosswalk.index},
        }

    def segments_frame(self) -> pd.DataFrame:
        """``segments.csv`` as a frame: id, segment, segment_name (and outlier when flagged).

        ``segment_name`` is categorical: one string per segment, not one per customer.

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> segment(customers, algorithms=("kmeans",), k_max=4).segments_frame().columns.tolist()
        ['customer_id', 'segment', 'segment_name']
        """
        frame = pd.DataFrame({
            self.table.roles.id_name: self.table.ids.to_numpy(),
            "segment": self.labels,
            "segment_name": _segment_names(self.labels, self.segment_info),
        })
        if self.settings.outliers == "flag":
            frame["outlier"] = self.table.outlier_rows
        if self.rfm is not None:
            frame["rfm_score"] = self.rfm["rfm_score"].to_numpy()
            frame["rfm_segment"] = self.rfm["rfm_segment"].to_numpy()
        if self.value is not None:
            for name in self.value.scores.columns:
                frame[name] = self.value.scores[name].to_numpy()
            if self.value.customers is not None:
                frame["year_spend"] = self.value.customers["year_spend"].to_numpy()
        return frame

    @property
    def segments(self) -> pd.DataFrame:
        """One row per used customer: id, segment, segment_name and the cleaned columns.

        The columns are those the profiles describe (numeric and categorical, after
        parsing, imputation and clipping), so a segment can be explored with pandas.

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> result = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> len(result.segments), result.segments.columns[:3].tolist()
        (300, ['customer_id', 'segment', 'segment_name'])
        """
        roles = self.table.roles
        profiled = self.table.data[[c for c in roles.numeric + roles.categorical if c in self.table.data]]
        return pd.concat([self.segments_frame(), profiled.reset_index(drop=True)], axis=1)

    @property
    def profiles(self) -> pd.DataFrame:
        """One row per segment (largest first, noise last), indexed by segment id.

        Columns: name, size, share, stability (mean Jaccard under resampling, or NaN where
        not measured), description, top_action, then the mean of every numeric column.

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> profiles = segment(customers, algorithms=("kmeans",), k_max=4).profiles
        >>> int(profiles["size"].sum()), profiles.index.name
        (300, 'segment')
        """
        rows = []
        for item in self.segment_info:
            actions = item.get("actions") or []
            rows.append({
                "segment": item["id"], "name": item["name"], "size": item["size"], "share": item["share"],
                "stability": np.nan if item.get("stability") is None else item["stability"],
                "description": item.get("description"),
                "top_action": actions[0]["action"] if actions else None,
                **{column: stats["mean"] for column, stats in item["profile"].items()},
            })
        return pd.DataFrame(rows).set_index("segment")

    @property
    def candidates(self) -> pd.DataFrame:
        """Every candidate segmentation tried, with its scores; ``chosen`` marks the one kept.

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> table = segment(customers, algorithms=("kmeans",), k_max=4).candidates
        >>> table.loc[table["chosen"], ["algorithm", "k"]].values.tolist()
        [['kmeans', 3]]
        """
        chosen = self.found.chosen
        frame = pd.DataFrame([c.scores() for c in self.found.candidates])
        frame["chosen"] = [c is chosen for c in self.found.candidates]
        return frame

    @property
    def ledger(self) -> pd.DataFrame:
        """Where every input row went: rows read, used and dropped (by reason), and cells
        fixed (by reason and column).

        Examples
        --------
        >>> import pandas as pd
        >>> from custseg import segment
        >>> table = pd.DataFrame({"id": [1, 2, 2, 3, 4, 5, 6, 7],
        ...                       "x": [1.0, 2, 2, 9, 8, None, 1.5, 8.5],
        ...                       "y": [1.0, 1, 1, 7, 8, 2, None, 7.5]})
        >>> ledger = segment(table, algorithms=("kmeans",), k_max=2).ledger
        >>> ledger[["what", "column", "count"]].values.tolist()
        [['rows read', '', 8], ['rows used', '', 7], ['rows dropped', '', 1], ['cells fixed', 'x', 1], ['cells fixed', 'y', 1]]
        >>> ledger["reason"].tolist()[2:]
        ['duplicate id', 'missing value (imputed)', 'missing value (imputed)']
        """
        ledger = self.table.ledger
        rows = [("rows read", "", "", ledger.rows_read), ("rows used", "", "", ledger.rows_used)]
        rows += [("rows dropped", reason, "", n) for reason, n in ledger.rows_dropped.items()]
        rows += [("cells fixed", reason, column, n)
                 for reason, columns in ledger.cells_fixed.items() for column, n in columns.items()]
        return pd.DataFrame(rows, columns=["what", "reason", "column", "count"])

    def plot(self, name: str | None = None):
        """One figure of the report as a Matplotlib `Figure`, or the names there are.

        Parameters
        ----------
        name : str, optional
            A figure name (``result.plot()`` lists them) or one of the short aliases
            ``"pca_map"``, ``"heatmap"``, ``"sizes"``.

        Returns
        -------
        matplotlib.figure.Figure or list of str
            The figure, or without ``name`` the names of every figure.

        Raises
        ------
        ValueError
            For an unknown name, or a figure that does not apply to this run (no dendrogram
            when Ward was not tried, no RFM figures for a customer table).

        Examples
        --------
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> result = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> "elbow" in result.plot()
        True
        >>> result.plot("elbow").axes[0].get_xlabel()
        'number of segments k'
        """
        from .reporting.figures import FIGURE_ALIASES, FIGURES

        functions = dict(FIGURES)
        if name is None:
            return list(functions)
        key = FIGURE_ALIASES.get(name, name)
        if key not in functions:
            raise ValueError(f"no figure named {name!r}; the figures are: {', '.join(functions)}")
        figure = functions[key](self.summary)
        if figure is None:
            raise ValueError(f"the {key!r} figure does not apply to this run (its data is not in this result)")
        return figure

    def write(self, out_dir: str | os.PathLike, report: bool | None = None) -> dict[str, Path]:
        """Write ``segments.csv``, ``summary.json``, ``model.json`` and ``report.html``.

        Returns the paths written, by kind.

        Examples
        --------
        >>> import tempfile
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> result = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> with tempfile.TemporaryDirectory() as out:
        ...     sorted(result.write(out, report=False))
        ['model', 'segments', 'summary']
        """
        out = Path(out_dir)
        if self.population is not None:     # every customer is on Spark: Parquet only
            paths = self.population.write(out)
        else:
            paths = {"segments": write_csv(out / "segments.csv", self.segments_frame())}
        paths["summary"] = write_atomic(out / "summary.json", json_text(self.summary))
        paths["model"] = self.model.save(out / MODEL_FILENAME)
        if self.transactions is not None and self.population is None:
            paths["features"] = write_atomic(out / "features.csv", csv_text(self.transactions.customers))
        if self.source.get("engine") == "spark" and self.population is None:
            from .engines.spark.customers import write_segments_parquet

            paths["segments_parquet"] = write_segments_parquet(self.segments_frame(), out / "segments.parquet")
        if self.settings.report if report is None else report:
            paths["report"] = self.to_html(out / "report.html")
        return paths

    def to_html(self, path: str | os.PathLike) -> Path:
        """Write the self-contained HTML report.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> from custseg import generate_customers, segment
        >>> customers, _ = generate_customers(300, 3, random_state=2)
        >>> result = segment(customers, algorithms=("kmeans",), k_max=4)
        >>> with tempfile.TemporaryDirectory() as out:
        ...     result.to_html(Path(out) / "report.html").read_text().startswith("<!DOCTYPE html>")
        True
        """
        from .reporting.report import write_report

        return write_report(self.summary, path)

    def _repr_html_(self) -> str:
        """A short table of the segments and the reason for the choice (never the whole report)."""
        from .reporting.report import summary_html

        return summary_html(self.summary)


def _segment_names(labels: np.ndarray, segments: list[dict]) -> pd.Categorical:
    """The name of every customer's segment, as a categorical in the order of ``segments``."""
    levels = list(dict.fromkeys(s["name"] for s in segments))
    ids = np.array([s["id"] for s in segments], dtype="int64")
    lookup = np.full(max(int(ids.max(initial=-1)), int(labels.max(initial=-1))) + 2, -1, dtype="int64")
    lookup[ids] = [levels.index(s["name"]) for s in segments]    # id -1 lands in the last slot
    codes = lookup[labels]
    if (codes < 0).any():
        raise KeyError(f"segment {int(labels[codes < 0][0])} has no name")
    return pd.Categorical.from_codes(codes, categories=levels)


def environment() -> dict:
    """Versions of Python and of the libraries that shape the results."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("numpy", "pandas", "scikit-learn", "scipy", "matplotlib", "kneed"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return versions


def segment(data, settings: Settings | None = None, *, on_progress: ProgressCallback | None = None,
            **overrides) -> Result:
    """Run the whole pipeline on a customer table or a transaction log.

    Parameters
    ----------
    data : DataFrame, 2-D array, str or path
        One row per customer, or one row per order line (see ``Settings.kind``), or a file
        to read (CSV/TSV/TXT, compressed CSV, Parquet, a glob of files, Excel, JSON). An
        array's columns are named ``x1..xd`` and its rows numbered from 1.
    settings : Settings, optional
        Defaults to ``Settings()``; keyword ``overrides`` replace single fields.
    on_progress : callable, optional
        Called as ``on_progress(step, done, total)`` during long steps.

    Returns
    -------
    Result

    Examples
    --------
    >>> from custseg import generate_customers, segment
    >>> customers, _ = generate_customers(400, 3, random_state=1)
    >>> segment(customers, algorithms=("kmeans",), k_max=6).chosen["k"]
    3
    """
    settings = (settings or Settings()).replace(**overrides).validated()
    progress = on_progress or (lambda step, done, total: None)
    data = frame_from_array(data)
    frame, source, transactions, population = _customer_table(data, settings, progress)
    _check_window_applies(settings, source, transactions)
    computed = ()
    not_clustered = {}
    if transactions is not None:
        computed = _computed_columns(frame, source)
        features = settings.features
        if not features:
            features, not_clustered = _behaviour_features(frame, source, settings)
        cleaning = CleanOptions.from_settings(settings, id_col=frame.columns[0], features=features,
                                              as_of=transactions.as_of.isoformat())
    else:
        cleaning = CleanOptions.from_settings(settings)
    progress("cleaning", 0, 1)
    table = clean_customers(frame, cleaning, computed=computed)
    table.roles.not_clustered.update(not_clustered)
    if transactions is None:
        table.ledger.not_read = list(source.get("not_read") or [])
    k_range = fitted_k_range(table.ledger, settings)
    roles = table.roles
    plan = fit_features(
        table.data,
        [c for c in roles.features if c in roles.numeric],
        [c for c in roles.features if c in roles.categorical],
        settings.pca,
        settings.categorical_weight,
    )
    matrix = plan.transform(table.data)
    # Clustered categoricals make every combination of levels a dense group with empty
    # space around it: density is no evidence of natural groups then (benchmarks/MIXED.md).
    found = search(matrix, SearchOptions.from_settings(settings, k_max=k_range[1]), on_progress,
                   density_evidence=not plan.categories)
    progress("profiling", 0, 1)
    segments = _describe_segments(table, plan, found.chosen.labels, settings.random_state, found.chosen.stability)
    rfm = None
    if transactions is not None and transactions.columns.has_money:
        raw = transactions.customers.set_index(transactions.customers.columns[0])
        rfm = rfm_scores(raw.loc[table.ids.to_numpy()].reset_index(drop=True))
    plot_data = _plot_data(table, matrix, found, settings.random_state)
    reference = reference_statistics(matrix, found.chosen.labels, plan.output_columns,
                                     k_range=k_range,
                                     silhouette=found.chosen.silhouette,
                                     calendar=calendar_columns(plan.output_columns, transactions is not None))
    value = _customer_value(transactions, table.ids.to_numpy(), settings, progress, segments, found.chosen.labels)
    result = Result(settings, source, table, plan, found, segments, found.chosen.labels, plot_data,
                    transactions, rfm, None if transactions is not None else [str(c) for c in frame.columns],
                    reference, k_range=k_range, value=value)
    if population is not None:
        progress("putting every customer into a segment on Spark", 0, 1)
        population.complete(result)
    return result


def _check_window_applies(settings: Settings, source: dict, transactions) -> None:
    """Refuse ``--window`` for a customer table: it has no order lines to take a window of."""
    if transactions is None and settings.window is not None:
        raise SettingsError(f"--window {settings.window} applies to transaction logs; "
                            f"{source.get('path') or 'the data'} was read as a customer table (one row per customer)")


def _customer_value(transactions, ids: np.ndarray, settings: Settings, progress: ProgressCallback,
                    segments: list[dict], labels: np.ndarray) -> CustomerValue | None:
    """A log's customer value, checked on a holdout (`custseg.valuing.holdout`), fitted on every
    customer of the log, its scores taken for the used customers ``ids`` (in their order), with each segment's value-at-risk action put
    first among its ``segments`` actions (``labels``: the used customers' segments); None
    when there is nothing to value."""
    if transactions is None or settings.value == "off" or transactions.history is None:
        return None
    customers, history = transactions.customers, transactions.history
    if not customers.iloc[:, 0].astype(str).equals(history.iloc[:, 0].astype(str)):
        raise AssertionError("customer table and histories are not in the same order")
    options = ValueOptions(horizon=settings.horizon, horizon_days=parse_horizon(settings.horizon),
                           discount=float(settings.discount), model=VALUE_MODELS[settings.value_model],
                           year_days=YEAR_DAYS, holdout=str(settings.holdout).strip().lower(), holdout_days=parse_holdout(settings.holdout))
    histories = history_from_features(customers, history)
    value = value_customers(histories, options, money=transactions.columns.has_money, on_progress=progress)
    position = pd.Index(customers.iloc[:, 0].astype(str)).get_indexer(pd.Index(ids).astype(str))
    scores = value.scores.iloc[position].reset_index(drop=True)
    scored = histories.iloc[position].reset_index(drop=True)
    known = pd.DataFrame({"id": ids, "x": scored["x"], "t_x": scored["t_x"], "T": scored["T"],
                          "year_spend": history["year_spend"].to_numpy(float)[position]})
    stored = stored_value(value, histories, money=transactions.columns.has_money)
    holdout = None
    if transactions.purchases is not None:
        progress("checking the value model on a holdout", 0, 1)
        holdout = holdout_check(transactions.purchases, transactions.as_of, option=options.holdout,
                                length=options.holdout_days, model=options.model)
    value = CustomerValue(scores, value.fit, value.spend, value.options, known, stored, holdout)
    with_value_actions(segments, value.segments(labels))
    return value


def fitted_k_range(ledger, settings: Settings) -> tuple[int, int]:
    """The k range searched: the settings' range, fitted to the customers used.

    The default range (neither ``k_min`` nor ``k_max`` given, see `Settings.given`) stops at
    half the customers for small tables (and below their number: the silhouette needs that);
    a range the user gave, even one equal to the default, is never changed: too few
    customers for it is an `InputError` that says what to give instead. The settings
    themselves are left as given.

    Examples
    --------
    >>> from custseg.preparing.clean import Ledger
    >>> fitted_k_range(Ledger(rows_read=9), Settings())
    (2, 4)
    >>> fitted_k_range(Ledger(rows_read=12), Settings().replace(k_min=2, k_max=10))   # --k 2..10
    (2, 10)
    """
    used = ledger.rows_used
    if used > settings.k_max and not (settings.k_range_is_default and used // 2 < settings.k_max):
        return settings.k_min, settings.k_max
    if settings.k_range_is_default and used - 1 >= settings.k_min:
        return settings.k_min, max(settings.k_min, used // 2)
    if used > settings.k_min:
        raise InputError(
            f"{used} usable customers (of {ledger.rows_read} rows) are too few for up to "
            f"k={settings.k_max} segments; give --k with a maximum below {used}"
        )
    raise InputError(
        f"{used} usable customers (of {ledger.rows_read} rows) are fewer than the smallest "
        f"k + 1 = {settings.k_min + 1}"
    )


def _describe_segments(table: CleanTable, plan: FeaturePlan, labels: np.ndarray, random_state: int,
                       stability: dict[int, float] | None = None) -> list[dict]:
    """Profile, name, describe by rules and suggest actions for every segment, with its
    stability (mean Jaccard under resampling) where it was measured."""
    roles = table.roles
    log_columns = {c for c, logged in plan.log.items() if logged}
    segments = profile_segments(table.data, labels, roles.numeric, roles.categorical, roles.features, log_columns)
    rules = segment_rules(table.data, labels, [c for c in roles.features if c in roles.numeric], random_state)
    for item in segments:
        # Customers beyond the robust fences (clipped by default): where the extremes went.
        item["outliers"] = int(table.outlier_rows[labels == item["id"]].sum())
        item["rules"] = rules.get(item["id"])
        value = (stability or {}).get(item["id"])
        item["stability"] = value
        item["stability_label"] = stability_word(value)
        item["unstable"] = value is not None and value < UNSTABLE_BELOW
        item["actions"] = suggest_actions(item, roles.features)
    return segments


def _customer_table(data, settings: Settings, progress: ProgressCallback):
    """The input as one row per customer: read a customer table, or build one from order lines.

    Returns the table, a description of the source, the transaction features (None for a
    customer table), and on the Spark engine, when only a sample of the customers reached
    the driver, every customer (`custseg.engines.spark.customers.Population`; else None).
    """
    if engine_for(data, settings.engine) == "spark":
        from .engines.spark.customers import customer_table_spark

        return customer_table_spark(data, settings, progress)
    read = ReadOptions.from_settings(settings)
    kind, by_shape, table = _input_kind(data, settings, read, progress)
    if kind == "transactions":
        progress("computing customer features from order lines", 0, 1)
        transactions = customers_from_transactions(
            data, None if by_shape is None else by_shape[0], overrides=settings.transaction_overrides,
            as_of=settings.as_of, on_progress=progress, read=read, window=settings.window,
        )
        source = {**source_of(data, "transactions"), **transactions.reading}
        if by_shape is not None:
            source["log_by_shape"] = by_shape[1].describe()
        customers = transactions.customers
        if settings.customers_file:
            customers = join_customers(customers, settings.customers_file, source)
        return customers, source, transactions, None
    return (*(table or _read_customers(data, read, progress)), None, None)


def _read_customers(data, read: ReadOptions, progress: ProgressCallback) -> tuple[pd.DataFrame, dict]:
    """A customer table and the description of its source."""
    if isinstance(data, pd.DataFrame):
        return data, source_of(data, "customers")
    progress("reading", 0, 1)
    frame, table_source = read_table(data, read)
    return frame, {**table_source.to_dict(), "kind": "customers"}


def _input_kind(data, settings: Settings, read: ReadOptions, progress: ProgressCallback):
    """``"transactions"`` or ``"customers"``: as given, else a log by its names
    (`detect_transaction_columns` on whole names), else by its shape (`log_by_shape`).

    Returns the kind, the column roles and shape of a log found by its shape (else None), and
    the customer table with its source when it was read to look at its shape (else None).
    """
    if settings.kind != "auto":
        return settings.kind, None, None
    frame = data if isinstance(data, pd.DataFrame) else None
    columns = list(frame.columns) if frame is not None else read_columns(data, read)
    overrides = settings.transaction_overrides
    if detect_transaction_columns([str(c) for c in columns], overrides, words=False) is not None:
        return "transactions", None, None
    table = _read_customers(data, read, progress)
    label = "the DataFrame" if frame is not None else os.fspath(data)
    by_shape = log_by_shape(table[0], label, overrides)
    return ("customers", None, table) if by_shape is None else ("transactions", by_shape, None)


def _computed_columns(customers: pd.DataFrame, source: dict) -> tuple[str, ...]:
    """Columns of the customer table that custseg computed from the order lines (not those
    joined from a customer table): no codes for missing or dates are looked for there."""
    joined = set(source.get("join", {}).get("columns", []))
    return tuple(str(c) for c in customers.columns if c not in joined)


def _behaviour_features(customers: pd.DataFrame, source: dict,
                        settings: Settings | None = None) -> tuple[tuple[str, ...], dict[str, str]]:
    """Default clustering features of a transaction log: the behaviour features it has
    values for, plus the numeric columns of a joined customer table (with the features
    they become: age from a birth year, indicators of codes for missing); with
    ``categoricals="cluster"`` also every clusterable categorical (a customer's main
    country or channel, a joined table's gender, ...).

    Returns the features and the categoricals left out of them, with the reason.
    """
    settings = settings or Settings()
    # A feature without spread (every customer bought 10 times, nobody returned) cannot
    # separate anyone; it stays in features.csv and the profiles.
    has_money = "monetary" in customers and customers["monetary"].notna().any()
    defaults = CLUSTER_FEATURES if has_money else NO_MONEY_CLUSTER_FEATURES
    chosen = [c for c in defaults if c in customers and customers[c].nunique() > 1]
    joined = source.get("join", {}).get("columns", [])
    not_clustered = {}
    if joined or settings.categoricals == "cluster":
        computed = _computed_columns(customers, source)
        options = CleanOptions.from_settings(settings, id_col=customers.columns[0], features=None)
        roles = detect_roles(customers, options, {}, computed=computed)
        chosen += [c for c in roles.numeric if c not in computed]
        if settings.categoricals == "cluster":
            chosen += [c for c in roles.features if c in roles.categorical]
            not_clustered = roles.not_clustered
    return tuple(chosen), not_clustered


def _plot_data(table: CleanTable, matrix: np.ndarray, found: SearchResult, random_state: int) -> dict:
    """Small, seeded samples of the data that the report's figures need."""
    n = len(matrix)
    rng = np.random.default_rng(random_state)
    index = np.sort(rng.choice(n, PLOT_SAMPLE, replace=False)) if n > PLOT_SAMPLE else np.arange(n)
    axes, ratios = principal_axes(matrix)
    centred = matrix[index] - matrix.mean(axis=0)
    coords = centred @ axes[:2].T if matrix.shape[1] >= 2 else np.column_stack([centred[:, 0], np.zeros(len(index))])
    roles = table.roles
    chosen = found.chosen
    silhouette = None
    if chosen.silhouette_values is not None:
        values, segs = chosen.silhouette_values, chosen.silhouette_labels
        if len(values) > PLOT_SAMPLE:
            keep = np.sort(rng.choice(len(values), PLOT_SAMPLE, replace=False))
            values, segs = values[keep], segs[keep]
        silhouette = {"segment": segs, "value": values}
    return {
        "sample": {
            "columns": roles.numeric,
            "values": table.data.loc[index, roles.numeric].to_numpy(dtype="float64"),
            "categorical": {c: table.data.loc[index, c].astype("string").fillna("(missing)").tolist()
                            for c in roles.categorical},
            "segment": chosen.labels[index],
            "map": coords,
            "map_explained": ratios[:2],
        },
        "dendrogram": found.dendrogram,
        "k_distance": found.k_distance,
        "silhouette": silhouette,
    }
