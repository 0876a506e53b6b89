"""One settings object describes a whole run; CLI flags and a TOML file fill it."""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SettingsError
from .logs.window import parse_window
from .reading.dates import strftime_pattern

ALGORITHMS = ("kmeans", "hierarchical", "gmm", "hdbscan", "dbscan")
#: Tried unless ``--algorithms`` says otherwise. DBSCAN is left out: HDBSCAN finds the same
#: kind of density groups without one global eps.
DEFAULT_ALGORITHMS = ("kmeans", "hierarchical", "gmm", "hdbscan")
MISSING_POLICIES = ("impute", "drop")
OUTLIER_POLICIES = ("clip", "flag", "keep")
KINDS = ("auto", "customers", "transactions")
HEADER_CHOICES = ("auto", "yes", "no")
#: ``describe``: categoricals describe the segments (clustered only when named in
#: ``features``); ``cluster``: every usable categorical is clustered on too.
CATEGORICAL_CHOICES = ("describe", "cluster")
#: ``auto``: Spark for a Spark DataFrame or a URI only Spark reads (``s3a://``, ``hdfs://``),
#: the single-machine engine for everything else.
ENGINES = ("auto", "local", "spark")
#: ``on``: a transaction log's customers get their value (`custseg.valuing`); ``off`` skips it.
VALUE_CHOICES = ("on", "off")
#: ``--value-model`` words and the repeat-purchase model each names (`custseg.valuing.models`).
VALUE_MODELS = {"mbgnbd": "mbg/nbd", "bgnbd": "bg/nbd", "paretonbd": "pareto/nbd"}
#: Holdout words besides a length (``39w``): ``auto`` checks the value model on a holdout when
#: the log spans enough time (`custseg.valuing.holdout`), ``off`` never does.
HOLDOUT_WORDS = ("auto", "off")
#: Days per unit of a horizon (``26w``, ``12m``, ``90d``): a month is a twelfth of 365.25 days.
HORIZON_UNITS = {"d": 1.0, "w": 7.0, "m": 365.25 / 12.0}
#: Spark master URLs: ``local``, ``local[*]``, ``local[N]`` or ``local[N,F]``; the default ports of
#: a standalone master and of Spark Connect.
LOCAL_MASTER = re.compile(r"^local(\[(\*|[1-9][0-9]*)(,[0-9]+)?\])?$")
STANDALONE_PORT = 7077
CONNECT_PORT = 15002
#: Fields of `Settings` that are not settings a user gives: never counted in ``given``.
NOT_SETTINGS = ("command", "given")


@dataclass(frozen=True)
class Settings:
    """Everything that decides what a run does.

    Parameters
    ----------
    id_col : str or None
        Column holding the customer id; ``None`` detects it (or numbers the rows).
    features : tuple of str or None
        Columns to segment on; ``None`` uses every usable numeric column.
    exclude : tuple of str
        Columns never used as features.
    missing : {"impute", "drop"}
        Missing or unusable values are imputed (median / most frequent) or their rows dropped.
    outliers : {"clip", "flag", "keep"}
        Values beyond the robust fences are clipped to them, only flagged, or kept as they are.
    pca : "auto", "off" or int
        Principal components to cluster on; ``"auto"`` uses PCA only for wide tables.
    algorithms : tuple of str
        Any of ``kmeans``, ``hierarchical`` (Ward), ``gmm`` (Gaussian mixtures),
        ``hdbscan`` and ``dbscan``; by default all but ``dbscan``.
    k_min, k_max : int
        Range of numbers of segments tried by K-Means and hierarchical clustering.
    random_state : int
        Seed for every random step; the same data and seed give the same output.
    n_init : int
        K-Means restarts per k; the best inertia is kept.
    silhouette_sample : int
        Above this many customers the silhouette is estimated on a stratified sample.
    ward_exact_max : int
        Above this many customers Ward runs on weighted K-Means micro-clusters.
    ward_micro_clusters : int
        Number of micro-clusters for the large-data Ward path.
    fit_sample : int
        Above this many customers, K-Means and the Ward micro-clusters are fitted on a
        seeded sample of this size; every customer is then assigned to the nearest centre
        and every score is computed on all customers.
    dbscan_sample : int
        Above this many customers HDBSCAN and DBSCAN are fitted on a sample and extended
        to all customers through their nearest placed (HDBSCAN) or core (DBSCAN) point.
    mixture_sample : int
        Above this many customers Gaussian mixtures are fitted on a sample.
    stability_sample : int
        Customers (a seeded sample above this many) on which every candidate's stability
        is measured by refitting it on subsamples.
    stability_resamples : int
        Refits per candidate for the stability figures.
    report : bool
        Write ``report.html``.
    kind : {"auto", "customers", "transactions"}
        What the input is: one row per customer, or one row per order line. ``auto``
        decides from the columns.
    customer_col, invoice_col, date_col, quantity_col, price_col, amount_col : str or None
        Columns of a transaction log; ``None`` detects them.
    as_of : str or None
        Reference date (``YYYY-MM-DD``) for recency in a transaction log (default the day
        after its last transaction), and for ``age`` and ``tenure_days`` derived from birth
        and sign-up dates in a customer table (default today; give it for reproducible runs).
    window : str or None
        Transaction logs: compute frequency, monetary and the other count and money
        features over the trailing window before ``as_of`` only: whole days (``"365"``,
        ``"365d"``), weeks (``"52w"``) or calendar months (``"12m"``); recency, tenure and
        inter-purchase time still cover the whole history (`custseg.logs.window`). Saved in
        ``model.json``, so that ``assign`` and ``track`` use the same window. ``None``: the
        whole history.
    customers_file : str or None
        A customer table (demographics) joined to a transaction log on the customer id.
    sheet : str or None
        Workbook sheet to read; ``None`` reads every sheet whose header matches the first
        one, stacked, with the sheet name in a column ``sheet``.
    member : str or None
        Table to read inside a ``.zip`` or ``.tar`` archive; ``None`` reads the only one.
    header : {"auto", "yes", "no"}
        Whether the first row of a text file (or sheet) holds the column names; ``auto``
        decides from the rows under it (without one, columns are named ``column_1..n``).
    date_format : str or None
        Format of the dates that become features (``%d/%m/%Y`` or ``dd/mm/yyyy``); ``None``
        decides from the values, and refuses a column whose dates read both ways.
    sentinels : tuple of str
        Codes for missing, as ``"COL=VALUE"`` (``"pdays=999"``, ``"job=unknown"``), added to
        those detected; the entry ``"none"`` switches detection off. A TOML table
        ``{pdays = 999}`` is accepted too.
    categoricals : {"describe", "cluster"}
        ``describe``: categorical columns describe the segments (their make-up in every
        profile) and are clustered on only when named in ``features``; ``cluster``: every
        usable categorical column is clustered on too (see `custseg.preparing.clean.detect_roles`
        for those left out, and why).
    categorical_weight : float
        Weight of each clustered categorical column against one standardised numeric
        column: its one-hot columns are centred and scaled so that together they hold a
        variance of this much (1: a categorical counts as much as one numeric column).
    engine : {"auto", "local", "spark"}
        Where the customer table is built: ``local`` (pandas and DuckDB on this machine),
        ``spark`` (Spark SQL where the data lives, see `custseg.engines.spark`), or ``auto``:
        Spark for a Spark DataFrame or a URI such as ``s3a://`` or ``hdfs://``, local for
        files on this machine.
    spark_master : str or None
        Spark master URL for ``engine="spark"``: ``local[*]`` (default), ``local[N]``,
        ``spark://HOST:PORT``, ``sc://HOST`` (Spark Connect), ``yarn``, ``k8s://URL``.
    spark_executor_timeout : float
        Seconds a Spark run on a cluster master waits for an executor: at the start, for the
        probe job that checks the executors can run custseg, and during the run, while a
        job has no executor at all (a lost worker); then it stops with one line (default 120).
    value_model : {"mbgnbd", "bgnbd", "paretonbd"}
        Transaction logs: the repeat-purchase model of the customer value, MBG/NBD (default),
        BG/NBD or Pareto/NBD (`VALUE_MODELS`); the summary's ``value.model`` names it.
    holdout : str
        Transaction logs: check the value model on the log's last weeks before refitting it on
        all of it: ``auto`` (a third of the span, at most 39 weeks, when the log spans at least
        24 weeks), a length (``26w``, ``6m``, ``90d``) or ``off`` (`custseg.valuing.holdout`).
    given : frozenset of str or None
        The settings the user gave, as opposed to those left at their default (which the run
        may then fit to the data: a small table's default k range stops at half its customers).
        It takes no part in comparing settings. Filled as follows:

        * the CLI, a TOML file, `from_dict`, `replace` and the keyword overrides of
          `custseg.segment` record exactly the names given, whatever their value
          (``--k 2..10`` is the user's range even though it equals the default);
        * ``Settings(...)`` built directly cannot tell a value passed from a default, so,
          like a scikit-learn estimator's parameters, a value counts as given when it
          differs from the default; pass ``given=`` to say otherwise
          (``Settings(k_max=10, given={"k_max"})``).

        ``command`` is never counted as given.

    Examples
    --------
    >>> from custseg import Settings, segment, generate_customers
    >>> settings = Settings(algorithms=("kmeans", "hierarchical"), k_max=6, random_state=3)
    >>> customers, _ = generate_customers(300, 3, random_state=2)
    >>> segment(customers, settings).chosen["k"]
    3
    >>> sorted(settings.given), sorted(Settings.from_dict({"k_min": 2, "k_max": 10}).given)
    (['algorithms', 'k_max', 'random_state'], ['k_max', 'k_min'])
    """

    id_col: str | None = None
    features: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    missing: str = "impute"
    outliers: str = "clip"
    pca: str | int = "auto"
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    k_min: int = 2
    k_max: int = 10
    random_state: int = 0
    n_init: int = 4
    silhouette_sample: int = 4000
    ward_exact_max: int = 4000
    ward_micro_clusters: int = 500
    dbscan_sample: int = 10000
    mixture_sample: int = 10000
    stability_sample: int = 1000
    stability_resamples: int = 10
    fit_sample: int = 100_000
    report: bool = True
    kind: str = "auto"
    customer_col: str | None = None
    invoice_col: str | None = None
    date_col: str | None = None
    quantity_col: str | None = None
    price_col: str | None = None
    amount_col: str | None = None
    as_of: str | None = None
    window: str | None = None
    customers_file: str | None = None
    sheet: str | None = None
    member: str | None = None
    header: str = "auto"
    date_format: str | None = None
    sentinels: tuple[str, ...] = ()
    categoricals: str = "describe"
    categorical_weight: float = 1.0
    engine: str = "auto"
    spark_master: str | None = None
    spark_executor_timeout: float = 120.0
    value: str = "on"
    horizon: str = "12m"
    discount: float = 0.10
    value_model: str = "mbgnbd"
    holdout: str = "auto"
    command: str | None = field(default=None, compare=False)
    given: frozenset[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.given is None:
            given = {f.name for f in dataclasses.fields(self)
                     if f.name not in NOT_SETTINGS and getattr(self, f.name) != f.default}
        else:
            given = set(self.given) - set(NOT_SETTINGS)
            unknown = sorted(given - {f.name for f in dataclasses.fields(self)})
            if unknown:
                raise SettingsError(f"given names unknown setting(s) {', '.join(unknown)}")
        object.__setattr__(self, "given", frozenset(given))

    def validated(self) -> "Settings":
        """Return ``self`` after checking every value against `CONSTRAINTS`; raise
        `SettingsError` naming the first value that breaks one.

        Examples
        --------
        >>> Settings(k_min=5, k_max=3).validated()
        Traceback (most recent call last):
        ...
        custseg.errors.SettingsError: --k must satisfy 2 <= MIN <= MAX, got 5..3
        """
        for name, constraint in CONSTRAINTS.items():
            constraint.check(getattr(self, name), self)
        return self

    @property
    def k_range_is_default(self) -> bool:
        """Whether the k range is the default one: neither ``k_min`` nor ``k_max`` was given
        (see ``given``), so the run may fit it to the data.

        Examples
        --------
        >>> Settings().k_range_is_default, Settings(k_max=6).k_range_is_default
        (True, False)
        >>> Settings().replace(k_min=2, k_max=10).k_range_is_default    # as --k 2..10 gives it
        False
        """
        return not {"k_min", "k_max"} & self.given

    @property
    def transaction_overrides(self) -> dict[str, str]:
        """Transaction-log columns named by the user, by role.

        Examples
        --------
        >>> Settings(date_col="OrderDate").transaction_overrides
        {'date': 'OrderDate'}
        """
        roles = ("customer", "invoice", "date", "quantity", "price", "amount")
        return {role: getattr(self, f"{role}_col") for role in roles if getattr(self, f"{role}_col")}

    def replace(self, **changes) -> "Settings":
        """Return a copy with ``changes`` applied; the settings changed count as given.

        Examples
        --------
        >>> settings = Settings().replace(k_max=10)
        >>> settings.k_max, sorted(settings.given)
        (10, ['k_max'])
        """
        given = changes.pop("given", None)
        given = self.given | set(changes) if given is None else given
        return dataclasses.replace(self, **changes, given=frozenset(given))

    def to_dict(self) -> dict:
        """Settings as plain JSON-able values (every setting's value; ``given`` is not one).

        Examples
        --------
        >>> Settings(algorithms=("kmeans",)).to_dict()["algorithms"]
        ['kmeans']
        """
        out = dataclasses.asdict(self)
        del out["given"]
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    @classmethod
    def from_dict(cls, values: dict) -> "Settings":
        """Build settings from plain values (a TOML table or a saved summary); every name in
        ``values`` counts as given.

        Examples
        --------
        >>> Settings.from_dict({"algorithms": "kmeans,gmm", "k_max": 6}).algorithms
        ('kmeans', 'gmm')
        >>> Settings.from_dict({"k_max": 10}).k_range_is_default
        False
        """
        known = {f.name for f in dataclasses.fields(cls)} - {"given"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise SettingsError(f"unknown setting {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        clean = {}
        for key, value in values.items():
            if key in ("features", "exclude", "algorithms") and value is not None:
                value = tuple(parse_list(value) if isinstance(value, str) else value)
            if key == "sentinels":
                value = sentinel_entries(value)
            if key == "header" and isinstance(value, bool):
                value = "yes" if value else "no"
            clean[key] = value
        return cls(**clean, given=frozenset(clean))

    @classmethod
    def from_toml(cls, path: str | Path) -> "Settings":
        """Read settings from the ``[custseg]`` table (or the top level) of a TOML file.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "custseg.toml"
        ...     _ = path.write_text('[custseg]\\nk_max = 6\\nalgorithms = ["kmeans"]\\n')
        ...     Settings.from_toml(path).k_max
        6
        """
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise SettingsError(f"settings file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from None
        return cls.from_dict(data.get("custseg", data))


# --------------------------------------------------------------------------- constraints


@dataclass(frozen=True)
class OneOf:
    """A value among ``choices``; ``option`` names it in the message."""

    option: str
    choices: tuple

    def check(self, value, settings: Settings) -> None:
        if value not in self.choices:
            raise SettingsError(f"{self.option} must be one of {', '.join(self.choices)}, got {value!r}")


@dataclass(frozen=True)
class AtLeast:
    """A whole number of at least ``low`` (a sample size, a number of refits)."""

    name: str
    low: int = 1

    def check(self, value, settings: Settings) -> None:
        if value < self.low:
            raise SettingsError(f"{self.name} must be >= {self.low}, got {value}")


@dataclass(frozen=True)
class Rule:
    """Any other check: ``function(value, settings)`` raises `SettingsError`."""

    function: object

    def check(self, value, settings: Settings) -> None:
        self.function(value, settings)


def _check_algorithms(value, settings: Settings) -> None:
    unknown = [a for a in value if a not in ALGORITHMS]
    if unknown or not value:
        raise SettingsError(
            f"unknown algorithm {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(ALGORITHMS)}"
        )


def _check_as_of(value, settings: Settings) -> None:
    if value is None:
        return
    try:
        datetime.date.fromisoformat(str(value))
    except ValueError:
        raise SettingsError(f"--as-of must be a date like 2011-12-10, got {value!r}") from None


def _check_name(option: str):
    def check(value, settings: Settings) -> None:
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise SettingsError(f"{option} must be a non-empty name, got {value!r}")
    return check


def _check_date_format(value, settings: Settings) -> None:
    if value is None:
        return
    try:
        strftime_pattern(value)
    except (ValueError, re.error) as exc:     # re.error: a directive twice ("dd/mm/yyyy HH:MM")
        raise SettingsError(f"--date-format must be a date pattern such as %d/%m/%Y or dd/mm/yyyy: {exc}") from None


def _check_k_range(value, settings: Settings) -> None:
    if not 2 <= settings.k_min <= settings.k_max:
        raise SettingsError(f"--k must satisfy 2 <= MIN <= MAX, got {settings.k_min}..{settings.k_max}")


def _check_master(value, settings: Settings) -> None:
    if value is not None:
        parse_master(value)


def _check_executor_timeout(value, settings: Settings) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise SettingsError(f"--spark-executor-timeout must be a number of seconds above 0, got {value!r}")


def _check_weight(value, settings: Settings) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise SettingsError(f"--categorical-weight must be a number above 0, got {value!r}")


def _check_pca(value, settings: Settings) -> None:
    if not (value in ("auto", "off") or (isinstance(value, int) and value >= 1)):
        raise SettingsError(f"--pca must be auto, off or a positive whole number, got {value!r}")


def parse_horizon(text: str) -> float:
    """A horizon (``26w``, ``12m``, ``90d``) in days.

    Examples
    --------
    >>> parse_horizon("26w"), parse_horizon("90d"), parse_horizon("12m")
    (182.0, 90.0, 365.25)
    """
    found = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([dwm])\s*", str(text).lower())
    if found is None or float(found.group(1)) <= 0:
        raise SettingsError(
            f"--horizon must be a positive number of weeks, months or days such as 26w, 12m or 90d, got {text!r}")
    return float(found.group(1)) * HORIZON_UNITS[found.group(2)]


def parse_holdout(text: str) -> float | None:
    """A holdout (``26w``, ``6m``, ``90d``) in days; None for ``auto`` and ``off``.

    Examples
    --------
    >>> parse_holdout("39w"), parse_holdout("90d"), parse_holdout("auto"), parse_holdout("off")
    (273.0, 90.0, None, None)
    """
    if str(text).strip().lower() in HOLDOUT_WORDS:
        return None
    try:
        return parse_horizon(text)
    except SettingsError:
        raise SettingsError(f"--holdout must be auto, off or a positive number of weeks, months or days "
                            f"such as 26w, 6m or 90d, got {text!r}") from None


def _check_discount(value, settings: Settings) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise SettingsError(f"--discount must be an annual rate from 0 to below 1 (0.10 for 10%), got {value!r}")


def _check_micro_clusters(value, settings: Settings) -> None:
    AtLeast("ward_micro_clusters").check(value, settings)
    if value < settings.k_max:
        raise SettingsError(f"ward_micro_clusters={value} should be >= k_max={settings.k_max}")


#: Every constraint on a setting, checked in this order by `Settings.validated` (and so by
#: the CLI, the TOML file, `segment` and `Segmenter`). Settings not named here take any value.
CONSTRAINTS = {
    "algorithms": Rule(_check_algorithms),
    "kind": OneOf("--kind", KINDS),
    "as_of": Rule(_check_as_of),
    "window": Rule(lambda value, settings: parse_window(value)),       # raises on a bad window
    "sheet": Rule(_check_name("--sheet")),
    "member": Rule(_check_name("--member")),
    "header": OneOf("--header", HEADER_CHOICES),
    "date_format": Rule(_check_date_format),
    "sentinels": Rule(lambda value, settings: parse_sentinels(value)),   # raises on a bad entry
    "missing": OneOf("--missing", MISSING_POLICIES),
    "outliers": OneOf("--outliers", OUTLIER_POLICIES),
    "k_min": Rule(_check_k_range),
    "categoricals": OneOf("--categoricals", CATEGORICAL_CHOICES),
    "engine": OneOf("--engine", ENGINES),
    "spark_master": Rule(_check_master),
    "spark_executor_timeout": Rule(_check_executor_timeout),
    "categorical_weight": Rule(_check_weight),
    "pca": Rule(_check_pca),
    **{name: AtLeast(name) for name in ("n_init", "silhouette_sample", "ward_exact_max", "dbscan_sample",
                                        "fit_sample", "mixture_sample", "stability_sample", "stability_resamples")},
    "ward_micro_clusters": Rule(_check_micro_clusters),
    "value": OneOf("--value", VALUE_CHOICES),
    "horizon": Rule(lambda value, settings: parse_horizon(value)),   # raises on a bad horizon
    "discount": Rule(_check_discount),
    "value_model": OneOf("--value-model", tuple(VALUE_MODELS)),
    "holdout": Rule(lambda value, settings: parse_holdout(value)),   # raises on a bad holdout
}


def parse_list(text: str) -> tuple[str, ...]:
    """Split a comma-separated option value into stripped, non-empty names."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_k_range(text: str) -> tuple[int, int]:
    """Parse ``"2..10"``, ``"2-10"`` or ``"5"`` into ``(k_min, k_max)``."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:(?:\.\.|-|:)\s*(\d+)\s*)?", text or "")
    if not match:
        raise SettingsError(f"--k must look like MIN..MAX (e.g. 2..10) or a single number, got {text!r}")
    low = int(match.group(1))
    high = int(match.group(2)) if match.group(2) else low
    if not 2 <= low <= high:
        raise SettingsError(f"--k must satisfy 2 <= MIN <= MAX, got {text!r}")
    return low, high


def parse_pca(text: str) -> str | int:
    """Parse ``auto``, ``off`` or a number of components."""
    value = str(text).strip().lower()
    if value in ("auto", "off"):
        return value
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise SettingsError(f"--pca must be auto, off or a positive whole number, got {text!r}")


def sentinel_entries(value) -> tuple[str, ...]:
    """``sentinels`` as ``"COL=VALUE"`` entries, from a TOML table (``{pdays = 999}``, a list
    of values per column allowed), a list of entries, or one comma-separated string."""
    if value is None:
        return ()
    if isinstance(value, str):
        return parse_list(value)
    if isinstance(value, dict):
        entries = []
        for column, codes in value.items():
            for code in codes if isinstance(codes, (list, tuple)) else [codes]:
                entries.append(f"{column}={code}")
        return tuple(entries)
    return tuple(str(entry) for entry in value)


def parse_sentinels(entries) -> tuple[bool, dict[str, tuple[str, ...]]]:
    """Whether to detect codes for missing, and the codes given per column.

    Examples
    --------
    >>> parse_sentinels(("pdays=999", "poutcome=unknown", "pdays=-1"))
    (True, {'pdays': ('999', '-1'), 'poutcome': ('unknown',)})
    >>> parse_sentinels(("none",))
    (False, {})
    """
    detect, given = True, {}
    for entry in entries:
        text = str(entry).strip()
        if text.lower() == "none":
            detect = False
            continue
        column, equals, code = text.rpartition("=")
        if not equals or not column.strip() or not code.strip():
            raise SettingsError(f"--sentinel must be COL=VALUE (e.g. pdays=999) or none, got {entry!r}")
        given.setdefault(column.strip(), []).append(code.strip())
    return detect, {column: tuple(codes) for column, codes in given.items()}


def parse_master(master: str) -> tuple[str, list[tuple[str, int]]]:
    """The kind of ``master`` (``local``, ``standalone``, ``connect``, ``other``) and the
    (host, port) pairs to check before connecting.

    Raises SettingsError for a URL that is none of the documented kinds.
    """
    text = str(master).strip()
    if LOCAL_MASTER.match(text):
        return "local", []
    if text.startswith("spark://"):
        hosts = []
        for part in text[len("spark://"):].split(","):
            host, _, port = part.partition(":")
            if not host or (port and not port.isdigit()):
                break
            hosts.append((host, int(port or STANDALONE_PORT)))
        else:
            return "standalone", hosts
    elif text.startswith("sc://"):
        address = text[len("sc://"):].split("/", 1)[0].split(";", 1)[0]
        host, _, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
        if host and (not port or port.isdigit()):
            return "connect", [(host, int(port or CONNECT_PORT))]
    elif text == "yarn" or text.startswith("k8s://"):
        return "other", []
    raise SettingsError(
        f"Spark master {master!r} is not one of: local[*], local[N], spark://HOST:PORT, "
        f"sc://HOST[:PORT] (Spark Connect), yarn, k8s://URL"
    )
