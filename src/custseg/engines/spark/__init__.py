"""The Spark engine: the same rules as the local engine, applied to Spark DataFrames.

Install it with ``pip install "custseg[spark]"`` (PySpark 4 and SQLGlot; Java 17 or later
for a local or standalone session). Nothing here imports PySpark until it is used, so
``import custseg`` stays fast without it.

* `custseg.engines.spark.session`: `spark_session` makes (or reuses) a session from a master URL
  (``local[*]``, ``local[2]``, ``spark://HOST:7077``, ``sc://HOST`` for Spark Connect) and
  turns what is missing (PySpark, Java 17+, a master that does not answer) into one
  `custseg.errors.EngineError` line.
* `custseg.engines.spark.sql`: `to_spark`, the DuckDB SQL of the local engine as Spark SQL (SQLGlot):
  the rules are written once (the date format's sample, the diagnosis of bad values).
* `custseg.engines.spark.transactions`: `customers_from_transactions_spark`, the ledger, checks and
  per-customer features of a transaction log, each customer's lines sent to one partition
  and computed there by the local engine's DuckDB SQL (`custseg.engines.spark.partitions`),
  the customer table staying a Spark DataFrame; `sample_customers` brings a bounded, seeded
  sample of it to the driver.
* `custseg.engines.spark.value`: a log's customer value, the models fitted on the driver from
  aggregates (`fit_on_driver`) and every customer scored on the executors
  (`score_on_executors`).
"""

from importlib import import_module

_EXPORTS = {
    "spark_session": "custseg.engines.spark.session",
    "to_spark": "custseg.engines.spark.sql",
    "customers_from_transactions_spark": "custseg.engines.spark.transactions",
    "sample_customers": "custseg.engines.spark.transactions",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'custseg.engines.spark' has no attribute {name!r}")
