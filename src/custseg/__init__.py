"""custseg: customer segmentation that chooses honestly and explains itself.

>>> from custseg import segment, generate_customers
>>> customers, truth = generate_customers(500, 3, random_state=0)
>>> result = segment(customers, algorithms=("kmeans",), k_max=5)
>>> result.chosen["k"]
3

Heavy libraries (pandas, scikit-learn, Matplotlib) load only when a name below is first
used, so ``import custseg`` and ``custseg --help`` stay fast.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "segment": "custseg.pipeline",
    "Segmenter": "custseg.estimator",
    "Result": "custseg.pipeline",
    "Settings": "custseg.settings",
    "CustsegError": "custseg.errors",
    "InputError": "custseg.errors",
    "EngineError": "custseg.errors",
    "ModelError": "custseg.errors",
    "SettingsError": "custseg.errors",
    "generate_customers": "custseg.sampledata",
    "generate_transactions": "custseg.sampledata",
    "customers_from_transactions": "custseg.logs.duckdb_engine",
    "read_table": "custseg.reading",
    "load_model": "custseg.model",
    "track": "custseg.tracking.track",
    "Tracking": "custseg.tracking.result",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'custseg' has no attribute {name!r}")
