"""custseg as a scikit-learn estimator: ``Segmenter().fit(X)`` runs the whole pipeline."""

from __future__ import annotations

import os
from dataclasses import fields

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .errors import InputError
from .pipeline import Result, segment
from .progress import ProgressCallback
from .reading import ReadOptions
from .settings import DEFAULT_ALGORITHMS, Settings

#: Settings that are not parameters of the estimator: it never writes files, and which
#: parameters were given is read from their values.
_NOT_PARAMETERS = ("report", "command", "given")


class Segmenter(ClusterMixin, TransformerMixin, BaseEstimator):
    """Customer segmentation as a scikit-learn clusterer and transformer.

    ``fit`` cleans the customers, builds the model matrix, tries every algorithm over the
    k range, chooses a segmentation by custseg's rule and describes it; ``predict`` puts
    new customers into the fitted segments with the same cleaning rules; ``transform``
    gives the model matrix (cleaned, log-transformed where skewed, scaled, one-hot encoded
    and, with PCA, projected) that the segments were found in.

    Parameters
    ----------
    algorithms : tuple of str, default ("kmeans", "hierarchical", "gmm", "hdbscan")
        Algorithms tried; ``"dbscan"`` is also available.
    k_min, k_max : int, default 2 and 10
        Numbers of segments tried. With the default range, density methods may report up to
        20 groups and tables of fewer than 20 customers stop at half their number. As for
        every parameter, a value counts as given (``Settings.given``) when it differs from
        the default, so that ``clone`` and ``set_params`` keep the behaviour: to hold a small
        table to exactly 2..10, build the run with ``custseg.segment(X, k_min=2, k_max=10)``.
    pca : "auto", "off" or int, default "auto"
        Principal components to cluster on; ``"auto"`` uses PCA only for wide tables.
    missing : {"impute", "drop"}, default "impute"
        Impute missing feature values, or drop the customers that have any (their label is
        then -1).
    outliers : {"clip", "flag", "keep"}, default "clip"
        What to do with values beyond the robust fences.
    features, exclude, id_col : column names, default None, (), None
        Columns to segment on (default: every usable one), columns never used, and the
        customer id column (default: detected by name).
    categoricals : {"describe", "cluster"}, default "describe"
        ``describe``: categorical columns describe the segments and are clustered on only
        when named in ``features``; ``cluster``: every usable categorical is clustered on.
    categorical_weight : float, default 1.0
        Weight of each clustered categorical against one standardised numeric column (its
        scaled one-hot columns hold a total variance of this much).
    engine : {"auto", "local", "spark"}, default "auto"
        Where the customer table is built (``auto``: Spark for a Spark DataFrame); see
        `custseg.settings.Settings`. ``spark_master`` names the Spark master, and
        ``spark_executor_timeout`` how long a cluster run waits for an executor (seconds).
    random_state : int, default 0
        Seed of every random step: the same data and seed give the same segments.
    on_progress : callable, optional
        Called as ``on_progress(step, done, total)`` during long steps (see
        ``docs/python.md`` for a progress bar).
    **other parameters
        ``n_init``, the sample sizes (``fit_sample``, ``silhouette_sample``, ...),
        ``stability_resamples``, ``kind``, ``as_of``, ``window``, ``customers_file``, the
        transaction log columns, the reading options (``sheet``, ``member``, ``header``,
        ``date_format``, ``sentinels``) and the customer value (``value``, ``horizon``,
        ``discount``, ``value_model``, ``holdout``) mean what they mean in `custseg.Settings`.

    Attributes
    ----------
    labels_ : ndarray of int
        Segment of each input row (one per customer for a transaction log); -1 is noise or a
        row dropped by cleaning.
    n_segments_ : int
        Number of segments chosen.
    segment_names_ : dict of int to str
        Name of each segment.
    result_ : Result
        Everything the run found: ``result_.profiles``, ``result_.plot("elbow")``, ...
    model_ : Model
        The fitted cleaning, features and assignment; ``model_.save(path)`` writes
        ``model.json`` for ``custseg assign``.
    n_features_in_ : int
        Number of input columns (customer tables only).
    feature_names_in_ : ndarray of str
        Input column names, when fitted on a DataFrame or a file of customers.

    Notes
    -----
    An array's columns are named ``x1..xd``. Missing values (NaN) are imputed, not refused.
    A model fitted on a transaction log predicts and transforms order lines, one row per
    customer out; it has no ``n_features_in_``.

    Examples
    --------
    >>> import numpy as np
    >>> from custseg import Segmenter
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(centre, 0.3, size=(60, 2)) for centre in (0, 4, 8)])
    >>> seg = Segmenter(k_max=6, random_state=0).fit(X)
    >>> seg.n_segments_, seg.n_features_in_
    (3, 2)
    >>> bool((seg.predict(X) == seg.labels_).all())
    True
    >>> seg.transform(X).shape
    (180, 2)
    """

    def __init__(self, *, algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS, k_min: int = 2, k_max: int = 10,
                 pca: str | int = "auto", missing: str = "impute", outliers: str = "clip",
                 features: tuple[str, ...] | None = None, exclude: tuple[str, ...] = (),
                 id_col: str | None = None, random_state: int = 0, n_init: int = 4,
                 silhouette_sample: int = 4000, ward_exact_max: int = 4000, ward_micro_clusters: int = 500,
                 dbscan_sample: int = 10000, mixture_sample: int = 10000, stability_sample: int = 1000,
                 stability_resamples: int = 10, fit_sample: int = 100_000, kind: str = "auto",
                 customer_col: str | None = None, invoice_col: str | None = None, date_col: str | None = None,
                 quantity_col: str | None = None, price_col: str | None = None, amount_col: str | None = None,
                 as_of: str | None = None, window: str | None = None, customers_file: str | None = None,
                 sheet: str | None = None,
                 member: str | None = None, header: str = "auto", date_format: str | None = None,
                 sentinels: tuple[str, ...] = (), categoricals: str = "describe", categorical_weight: float = 1.0,
                 engine: str = "auto", spark_master: str | None = None, spark_executor_timeout: float = 120.0,
                 value: str = "on", horizon: str = "12m", discount: float = 0.10, value_model: str = "mbgnbd",
                 holdout: str = "auto",
                 on_progress: ProgressCallback | None = None):
        self.algorithms = algorithms
        self.k_min = k_min
        self.k_max = k_max
        self.pca = pca
        self.missing = missing
        self.outliers = outliers
        self.features = features
        self.exclude = exclude
        self.id_col = id_col
        self.random_state = random_state
        self.n_init = n_init
        self.silhouette_sample = silhouette_sample
        self.ward_exact_max = ward_exact_max
        self.ward_micro_clusters = ward_micro_clusters
        self.dbscan_sample = dbscan_sample
        self.mixture_sample = mixture_sample
        self.stability_sample = stability_sample
        self.stability_resamples = stability_resamples
        self.fit_sample = fit_sample
        self.kind = kind
        self.customer_col = customer_col
        self.invoice_col = invoice_col
        self.date_col = date_col
        self.quantity_col = quantity_col
        self.price_col = price_col
        self.amount_col = amount_col
        self.as_of = as_of
        self.window = window
        self.customers_file = customers_file
        self.sheet = sheet
        self.member = member
        self.header = header
        self.date_format = date_format
        self.sentinels = sentinels
        self.categoricals = categoricals
        self.categorical_weight = categorical_weight
        self.engine = engine
        self.spark_master = spark_master
        self.spark_executor_timeout = spark_executor_timeout
        self.value = value
        self.horizon = horizon
        self.discount = discount
        self.value_model = value_model
        self.holdout = holdout
        self.on_progress = on_progress

    def settings(self) -> Settings:
        """The parameters as a validated `Settings` (raises `SettingsError` naming the value).

        A parameter counts as given (``Settings.given``) when its value differs from its
        default: scikit-learn's ``clone`` passes every parameter, so which ones the caller
        named cannot be told apart from their values.

        Examples
        --------
        >>> settings = Segmenter(k_max=6, random_state=0).settings()
        >>> settings.k_max, sorted(settings.given)
        (6, ['k_max'])
        """
        values = {f.name: getattr(self, f.name) for f in fields(Settings) if f.name not in _NOT_PARAMETERS}
        for name in ("algorithms", "features", "exclude", "sentinels"):
            if isinstance(values[name], (list, np.ndarray)):
                values[name] = tuple(values[name])
        defaults = {f.name: f.default for f in fields(Settings)}
        given = frozenset(name for name, value in values.items() if value != defaults[name])
        return Settings(**values, report=False, given=given).validated()

    def fit(self, X, y=None) -> "Segmenter":
        """Segment the customers in ``X``.

        Parameters
        ----------
        X : DataFrame, array-like of shape (n_customers, n_columns), str or path
            A customer table, an array (columns ``x1..xd``), or a file (customer table or
            transaction log).
        y : None
            Ignored.

        Returns
        -------
        self

        Examples
        --------
        >>> from custseg import Segmenter, generate_customers
        >>> customers, _ = generate_customers(400, 3, random_state=1)
        >>> Segmenter(algorithms=("kmeans",), k_max=6).fit(customers).n_segments_
        3
        """
        settings = self.settings()
        data = self._table(X, reset=True)
        result = segment(data, settings, on_progress=self.on_progress)
        if result.population is not None:
            raise InputError(
                f"{result.population.rows:,} customers are more than fit_sample = {settings.fit_sample:,}: on Spark "
                f"their segments stay on the cluster, and Segmenter keeps labels_ in memory; use "
                f"custseg.segment() and its segments.parquet, or raise fit_sample"
            )
        self.result_ = result
        self.model_ = result.model
        self.n_segments_ = int(result.found.chosen.k)
        self.segment_names_ = {s["id"]: s["name"] for s in result.segment_info}
        self.labels_ = _input_labels(result, data)
        if isinstance(X, (str, os.PathLike)) and result.input_columns is not None:
            self.feature_names_in_ = np.asarray(result.input_columns, dtype=object)
            self.n_features_in_ = len(result.input_columns)
        return self

    def predict(self, X) -> np.ndarray:
        """Segment of each row of ``X`` (one per customer for a transaction log).

        Rows with no usable value get -1. Columns are matched by name for a DataFrame, and
        by position for an array.

        Examples
        --------
        >>> from custseg import Segmenter, generate_customers
        >>> customers, _ = generate_customers(400, 3, random_state=1)
        >>> seg = Segmenter(algorithms=("kmeans",), k_max=6).fit(customers)
        >>> seg.predict(customers.head(3)).tolist() == seg.labels_[:3].tolist()
        True
        """
        model = self._fitted_model()
        return model.assign(model.customer_table(self._table(X, reset=False), read=self._read_options()))[1]

    def transform(self, X) -> np.ndarray:
        """The model matrix of ``X``: the space the segments were found in.

        Returns
        -------
        ndarray of shape (n_rows, n_outputs)
            One column per scaled numeric feature and encoded category level, or per
            principal component with PCA (names from `get_feature_names_out`).

        Examples
        --------
        >>> import numpy as np
        >>> from custseg import Segmenter
        >>> X = np.array([[1.0, 10], [1.2, 11], [5, 50], [5.3, 52], [9, 90], [9.1, 95]])
        >>> seg = Segmenter(algorithms=("kmeans",), k_max=3).fit(X)
        >>> seg.transform(X).shape, seg.get_feature_names_out().tolist()
        ((6, 2), ['x1', 'x2'])
        """
        model = self._fitted_model()
        return model.matrix(model.customer_table(self._table(X, reset=False), read=self._read_options()))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the columns of `transform`'s output (features, ``col=level`` or ``PC1..``).

        Examples
        --------
        >>> import numpy as np
        >>> seg = Segmenter(algorithms=("kmeans",), k_max=3, pca=1).fit(np.arange(24.0).reshape(8, 3) ** 1.5)
        >>> seg.get_feature_names_out().tolist()
        ['PC1']
        """
        return np.asarray(self._fitted_model().plan.output_columns, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True        # missing values are imputed (or dropped) by design
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags

    def _read_options(self) -> ReadOptions:
        """How ``predict`` and ``transform`` read a file: as ``fit`` did (sheet, member, header,
        date format)."""
        return ReadOptions.from_settings(self.settings())

    def _fitted_model(self):
        check_is_fitted(self, "model_")
        return self.model_

    def _table(self, X, *, reset: bool):
        """``X`` as the pipeline takes it: paths and DataFrames as given, arrays as a frame
        whose columns carry the fitted names (``x1..xd`` when fitted on an array)."""
        if isinstance(X, (str, os.PathLike)):
            return X
        transactions = not reset and getattr(self, "result_", None) is not None and self.result_.transactions is not None
        if isinstance(X, pd.DataFrame):
            if not transactions:
                validate_data(self, X, reset=reset, skip_check_array=True)
            return X
        if transactions:
            return X
        array = validate_data(self, X, reset=reset, dtype="numeric", ensure_all_finite="allow-nan",
                              ensure_min_samples=1 if not reset else 2)
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            names = [f"x{j + 1}" for j in range(array.shape[1])]
        return pd.DataFrame(array, columns=list(names))


def _input_labels(result: Result, data) -> np.ndarray:
    """The segment of every input row (-1 for rows cleaning dropped); for a transaction
    log, of every customer, in the order of ``result.segments``."""
    if result.transactions is not None:
        return result.labels
    labels = np.full(result.table.ledger.rows_read, -1, dtype=result.labels.dtype)
    labels[result.table.rows] = result.labels
    return labels
