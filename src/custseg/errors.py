"""The one family of exceptions that custseg raises for problems a user can fix."""

from __future__ import annotations


class CustsegError(Exception):
    """Base class: a problem with the input, the settings or a model file.

    The CLI prints ``str(error)`` as a one-line message and exits with code 2.
    """


class InputError(CustsegError):
    """The data cannot be read or cannot be segmented as it is."""


class SettingsError(CustsegError):
    """A setting or command-line option has a value that cannot be used."""


class ModelError(CustsegError):
    """A saved model file is missing, corrupt or from an incompatible version."""


class EngineError(CustsegError):
    """The compute engine cannot run: PySpark or Java missing or too old, a Spark master or
    Spark Connect server that does not answer."""
