"""The one family of exceptions that custseg raises for problems a user can fix."""

from __future__ import annotations


class CustsegError(ValueError):
    """Base class: a problem with the input, the settings or a model file.

    The CLI prints ``str(error)`` as a one-line message and exits with code 2. It is a
    `ValueError`, as scikit-learn's own checks of bad input are, so code that catches
    those catches custseg's too.

    Examples
    --------
    >>> from custseg import InputError, segment
    >>> import pandas as pd
    >>> try:
    ...     segment(pd.DataFrame({"x": [1.0, 2.0]}))
    ... except InputError as error:
    ...     print(error)
    2 usable customers (of 2 rows) are fewer than the smallest k + 1 = 3
    """


class InputError(CustsegError):
    """The data cannot be read or cannot be segmented as it is.

    Examples
    --------
    >>> from custseg import read_table
    >>> read_table("no-such-file.csv")
    Traceback (most recent call last):
    ...
    custseg.errors.InputError: file not found: no-such-file.csv
    """


class SettingsError(CustsegError):
    """A setting or command-line option has a value that cannot be used.

    Examples
    --------
    >>> from custseg import Settings
    >>> Settings(missing="mean").validated()
    Traceback (most recent call last):
    ...
    custseg.errors.SettingsError: --missing must be one of impute, drop, got 'mean'
    """


class ModelError(CustsegError):
    """A saved model file is missing, corrupt or from an incompatible version.

    Examples
    --------
    >>> from custseg import load_model
    >>> load_model("no-such-model.json")
    Traceback (most recent call last):
    ...
    custseg.errors.ModelError: model file not found: no-such-model.json
    """


class EngineError(CustsegError):
    """The compute engine cannot run: PySpark or Java missing or too old, a Spark master or
    Spark Connect server that does not answer.

    Examples
    --------
    >>> from custseg.engines.spark import spark_session
    >>> spark_session("spark://127.0.0.1:9", timeout=0.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    custseg.errors.EngineError: ...
    """
