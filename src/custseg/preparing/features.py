"""Turn cleaned customer columns into the matrix that is clustered: log-transform of skewed
columns, standardisation, one-hot encoding of categoricals and optional PCA.

How categoricals are clustered
------------------------------
A categorical with level shares p_1..p_L becomes L centred dummies divided by
``sqrt((1 - sum p_l^2) / w)``, w the categorical weight (``--categorical-weight``,
default 1). Together they then hold a variance of exactly w, against 1 for each
standardised numeric column, whatever the number of levels. Two customers with different
levels are ``2 w / (1 - sum p_l^2)`` apart in squared distance, and customers with the
same level 0: this is k-prototypes' matching distance, with its weight gamma set per
column to ``2 w / (1 - sum p_l^2)`` (the mean squared distance between two customers is
then 2 w, as it is 2 for a standardised numeric column). Centroids of these columns are
level shares rather than k-prototypes' modes: the continuous relaxation of k-prototypes,
which every algorithm (K-Means, Ward, mixtures, HDBSCAN), PCA, the stability refits and
``assign`` work on unchanged. ``benchmarks/MIXED.md`` measures it against k-prototypes
(kmodes), FAMD (prince) + K-Means and Gower + k-medoids on planted mixed segments: told the
true k at weight 1, median ARI 0.728 for K-Means on this encoding against 0.743-0.748
(k-prototypes, FAMD) and 0.663 (Gower), below the 0.05 gain set as the bar, while
k-prototypes took 200 times as long. They win only where categoricals carry all the signal,
mostly by weighing them more (K-Means at weight 2 matches k-prototypes there), which the
weight lets the user do here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from .stats import log_helps

#: ``--pca auto`` applies PCA only when the matrix has more columns than this.
PCA_AUTO_MIN_COLUMNS = 10
#: ``--pca auto`` keeps the components that explain this share of the variance.
PCA_AUTO_VARIANCE = 0.9


@dataclass
class FeaturePlan:
    """The fitted transforms from cleaned columns to the model matrix.

    Everything is plain numbers and lists, so the plan saves to JSON and loads without
    executing code.
    """

    numeric: list[str]
    log: dict[str, bool]
    center: dict[str, float]
    scale: dict[str, float]
    categories: dict[str, list[str]] = field(default_factory=dict)
    category_share: dict[str, list[float]] = field(default_factory=dict)
    category_scale: dict[str, float] = field(default_factory=dict)
    pca_components: np.ndarray | None = None   # (n_components, n_columns)
    pca_explained: list[float] | None = None

    @property
    def columns(self) -> list[str]:
        """Names of the matrix columns before PCA."""
        names = list(self.numeric)
        for column, levels in self.categories.items():
            names += [f"{column}={level}" for level in levels]
        return names

    @property
    def output_columns(self) -> list[str]:
        """Names of the columns that are clustered."""
        if self.pca_components is None:
            return self.columns
        return [f"PC{i + 1}" for i in range(len(self.pca_components))]

    def transform(self, data: pd.DataFrame) -> np.ndarray:
        """Model matrix (float64, one row per customer) for cleaned ``data``."""
        parts = []
        for name in self.numeric:
            values = data[name].to_numpy(dtype="float64")
            if self.log[name]:
                values = np.log1p(np.maximum(values, 0.0))
            parts.append((values - self.center[name]) / self.scale[name])
        for name, levels in self.categories.items():
            column = data[name].astype("string").to_numpy()
            shares = self.category_share[name]
            for level, share in zip(levels, shares):
                dummy = (column == level).astype("float64")
                parts.append((dummy - share) / self.category_scale[name])
        matrix = np.column_stack(parts) if parts else np.empty((len(data), 0))
        if self.pca_components is not None:
            matrix = matrix @ self.pca_components.T
        return matrix

    def to_dict(self) -> dict:
        """JSON-able form for the model file and the summary."""
        return {
            "numeric": self.numeric,
            "log": self.log,
            "center": self.center,
            "scale": self.scale,
            "categories": self.categories,
            "category_share": self.category_share,
            "category_scale": self.category_scale,
            "pca_components": None if self.pca_components is None else self.pca_components.tolist(),
            "pca_explained": self.pca_explained,
        }

    @classmethod
    def from_dict(cls, data: dict) -> "FeaturePlan":
        """Inverse of `to_dict`."""
        values = dict(data)
        if values["pca_components"] is not None:
            values["pca_components"] = np.asarray(values["pca_components"], dtype="float64")
        return cls(**values)


def fit_features(data: pd.DataFrame, numeric: list[str], categorical: list[str], pca: str | int,
                 categorical_weight: float = 1.0) -> FeaturePlan:
    """Fit the transforms on cleaned data.

    Parameters
    ----------
    data : DataFrame
        Cleaned customers (no missing values in the feature columns).
    numeric, categorical : list of str
        Feature columns of each kind, in order.
    pca : "auto", "off" or int
        See `custseg.settings.Settings`.
    categorical_weight : float, default 1.0
        Total variance of each categorical's scaled dummies, against 1 for a standardised
        numeric column (see the module's notes).

    Examples
    --------
    A categorical of weight 4 holds a variance of 4 in the model matrix, whatever its
    levels; a numeric column holds 1:

    >>> import pandas as pd
    >>> data = pd.DataFrame({"x": [1.0, 2, 3, 4], "c": ["a", "a", "a", "b"]})
    >>> plan = fit_features(data, ["x"], ["c"], pca="off", categorical_weight=4.0)
    >>> plan.columns
    ['x', 'c=a', 'c=b']
    >>> matrix = plan.transform(data)
    >>> round(float(matrix[:, 0].var()), 6), round(float(matrix[:, 1:].var(axis=0).sum()), 6)
    (1.0, 4.0)
    """
    log, center, scale = {}, {}, {}
    for name in numeric:
        values = data[name].to_numpy(dtype="float64")
        log[name] = log_helps(values)
        if log[name]:
            values = np.log1p(values)
        center[name] = float(values.mean())
        sd = float(values.std())
        scale[name] = sd if sd > 0 else 1.0
    plan = FeaturePlan(list(numeric), log, center, scale)
    for name in categorical:
        counts = data[name].astype("string").value_counts(sort=False).sort_index()
        shares = (counts / counts.sum()).to_numpy(dtype="float64")
        plan.categories[name] = [str(level) for level in counts.index]
        plan.category_share[name] = [float(s) for s in shares]
        # Centred dummies divided by this have a total variance of categorical_weight: a
        # categorical weighs as much as that many standardised numeric columns, whatever
        # its levels (1 - sum p^2 is the dummies' total variance before scaling).
        spread = float(np.sqrt(max(1.0 - np.sum(shares**2), 1e-12) / categorical_weight))
        plan.category_scale[name] = spread
    n_columns = len(plan.columns)
    if pca == "off" or (pca == "auto" and n_columns <= PCA_AUTO_MIN_COLUMNS):
        return plan
    if isinstance(pca, int) and pca > n_columns:
        raise InputError(f"--pca {pca} asks for more components than the {n_columns} feature columns")
    matrix = plan.transform(data)
    components, explained = principal_axes(matrix)
    if pca == "auto":
        keep = int(np.searchsorted(np.cumsum(explained), PCA_AUTO_VARIANCE) + 1)
    else:
        keep = pca
    keep = min(keep, n_columns)
    plan.pca_components = components[:keep]
    plan.pca_explained = [float(v) for v in explained[:keep]]
    return plan


def principal_axes(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal axes and explained-variance ratios of a centred matrix.

    Uses the eigendecomposition of the covariance (d x d), so the cost is linear in rows.
    Each axis is signed so that its largest-magnitude loading is positive, which makes
    the result deterministic.
    """
    centred = matrix - matrix.mean(axis=0)
    cov = centred.T @ centred / max(len(matrix) - 1, 1)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.clip(eigenvalues[order], 0.0, None)
    axes = eigenvectors[:, order].T
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    axes *= np.where(signs == 0, 1.0, signs)[:, None]
    total = eigenvalues.sum()
    ratios = eigenvalues / total if total > 0 else np.zeros_like(eigenvalues)
    return axes, ratios
