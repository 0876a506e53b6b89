"""What the search reads of a run's settings: the stage's own options.

The segmenting stage does not depend on `custseg.settings`: the pipeline hands it a
`SearchOptions`, built from its `custseg.settings.Settings` with `SearchOptions.from_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..settings import Settings


@dataclass(frozen=True)
class SearchOptions:
    """Algorithms, k range, seed and sampling thresholds of the search.

    Build it with `from_settings`: the defaults and their validation are those of
    `custseg.settings.Settings`. Every step whose cost grows with the square of the
    customers runs on a bounded subset above its threshold (see `custseg.segmenting.search`).

    Parameters
    ----------
    algorithms : tuple of str
        Among ``"kmeans"``, ``"hierarchical"``, ``"gmm"``, ``"hdbscan"``, ``"dbscan"``.
    k_min, k_max : int
        The range of numbers of segments tried.
    random_state : int
        Seed of every fit and sample.
    n_init : int
        K-Means restarts per k.
    silhouette_sample : int
        Silhouette and wcnn: exact up to this many customers, else on a sample.
    ward_exact_max : int
        Ward: exact up to this many customers, else on micro-clusters.
    ward_micro_clusters : int
        Number of K-Means micro-clusters Ward runs on above ``ward_exact_max``.
    fit_sample : int
        Centres are fitted on a sample of at most this many customers.
    dbscan_sample : int
        HDBSCAN and DBSCAN are fitted on a sample of at most this many customers.
    mixture_sample : int
        Gaussian mixtures are fitted on a sample of at most this many customers.
    stability_sample : int
        Stability refits draw from a sample of at most this many customers.
    stability_resamples : int
        Number of stability refits.
    k_range_is_default : bool
        Whether the user left the k range at its default (density may then find more
        natural groups than the sweeps try).

    Examples
    --------
    >>> from custseg.settings import Settings
    >>> options = SearchOptions.from_settings(Settings(k_max=6), algorithms=("kmeans",))
    >>> options.algorithms, options.k_min, options.k_max, options.k_range_is_default
    (('kmeans',), 2, 6, False)
    """

    algorithms: tuple[str, ...]
    k_min: int
    k_max: int
    random_state: int
    n_init: int
    silhouette_sample: int
    ward_exact_max: int
    ward_micro_clusters: int
    fit_sample: int
    dbscan_sample: int
    mixture_sample: int
    stability_sample: int
    stability_resamples: int
    k_range_is_default: bool

    @classmethod
    def from_settings(cls, settings: Settings, **changes) -> "SearchOptions":
        """The options of the same name in ``settings``, then ``changes`` on top.

        Examples
        --------
        >>> from custseg.settings import Settings
        >>> SearchOptions.from_settings(Settings(), n_init=1).n_init
        1
        """
        values = {f.name: getattr(settings, f.name) for f in fields(cls)}
        return replace(cls(**values), **changes)
