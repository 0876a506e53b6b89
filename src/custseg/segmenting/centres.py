"""K-Means and Gaussian mixtures: one candidate for each k of the range, every customer
going to its nearest centre (K-Means) or most probable component (mixtures)."""

from __future__ import annotations

import warnings

import numpy as np

from .assign import Assigner
from .candidates import fit_rows, make_candidate, sample_note, seeded_sample
from .options import SearchOptions


def kmeans_candidates(matrix: np.ndarray, ks: list[int], options: SearchOptions):
    """K-Means for each k, fitted one at a time as the caller asks for the next."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    rows = fit_rows(matrix, options)
    for k in ks:
        with warnings.catch_warnings():
            # "Number of distinct clusters found smaller than n_clusters": duplicates are
            # dropped by the caller, which is the honest answer to that situation.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = KMeans(n_clusters=k, n_init=options.n_init, random_state=options.random_state).fit(rows)
        assigner = Assigner("centroids", model.cluster_centers_, np.arange(k))
        candidate = make_candidate("kmeans", assigner, matrix, {"n_init": options.n_init})
        candidate.refit = kmeans_refit(k, options.n_init)
        yield candidate


def kmeans_refit(k: int, n_init: int):
    """``refit(points, seed)``: the labels of K-Means with ``k`` centres refitted on ``points``.

    Examples
    --------
    >>> import numpy as np
    >>> points = np.r_[np.zeros((5, 1)), np.ones((5, 1))]
    >>> labels = kmeans_refit(2, n_init=1)(points, 0)
    >>> sorted(set(labels[:5].tolist()) | set(labels[5:].tolist())), bool(labels[0] != labels[5])
    ([0, 1], True)
    """
    def refit(points: np.ndarray, seed: int) -> np.ndarray:
        from sklearn.cluster import KMeans
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(points).labels_
    return refit


def gmm_candidates(matrix: np.ndarray, ks: list[int], options: SearchOptions):
    """Gaussian mixtures (full covariances) for each k, fitted on a seeded sample of at most
    ``mixture_sample`` customers; every customer goes to its most probable component."""
    n = len(matrix)
    rows = matrix[seeded_sample(n, options.mixture_sample, options.random_state)]
    out = []
    for k in ks:
        if k >= len(rows):
            break
        model = _fit_mixture(k, rows, options.random_state)
        assigner = Assigner("gaussian", model.means_, np.arange(k), None, model.precisions_cholesky_,
                            np.log(model.weights_))
        candidate = make_candidate("gmm", assigner, matrix, {"covariance": "full"})
        candidate.bic = float(model.bic(rows))
        candidate.refit = _gmm_refit(k)
        out.append(candidate)
    return out, sample_note(n, options.mixture_sample)


#: Added to the covariances' diagonals: clipped or coded columns put many customers on
#: one value, which would make a covariance singular.
GMM_REG_COVAR = 1e-4


def _fit_mixture(k: int, rows: np.ndarray, seed: int):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return GaussianMixture(n_components=k, covariance_type="full", reg_covar=GMM_REG_COVAR,
                               random_state=seed).fit(rows)


def _gmm_refit(k: int):
    def refit(points: np.ndarray, seed: int) -> np.ndarray:
        return _fit_mixture(k, points, seed).predict(points)
    return refit
