"""Engines other than the single-machine one (pandas, NumPy, DuckDB) that the stages use by
default: `custseg.engines.spark` builds the customer table where the data lives.

`engine_for` is the one place that decides which engine reads an input; nothing here
imports PySpark.
"""

from __future__ import annotations

import os

from ..errors import SettingsError


def is_spark_frame(data) -> bool:
    """Whether ``data`` is a PySpark DataFrame (classic or Spark Connect), without importing
    PySpark.

    Examples
    --------
    >>> import pandas as pd
    >>> is_spark_frame(pd.DataFrame({"x": [1]})), is_spark_frame("orders.csv")
    (False, False)
    """
    kind = type(data)
    return kind.__name__ == "DataFrame" and kind.__module__.startswith("pyspark.")


def engine_for(data, engine: str) -> str:
    """``"spark"`` or ``"local"``: the engine that builds the customer table of ``data``.

    Spark when asked for, or with ``auto`` for a Spark DataFrame or a URI only Spark reads
    (``s3a://``, ``hdfs://``, ...; ``file://`` and plain paths stay local); see
    `custseg.settings.Settings.engine`.

    Examples
    --------
    >>> engine_for("orders.csv", "auto"), engine_for("s3a://bucket/orders/", "auto")
    ('local', 'spark')
    >>> engine_for("orders.csv", "spark")
    'spark'
    """
    if is_spark_frame(data):
        if engine == "local":
            raise SettingsError("a Spark DataFrame needs the Spark engine: engine='spark' or 'auto'")
        return "spark"
    if engine == "auto" and isinstance(data, (str, os.PathLike)):
        scheme, found, _ = str(data).partition("://")
        return "spark" if found and scheme.lower() != "file" else "local"
    return "spark" if engine == "spark" else "local"
