"""How long work reports its progress: the library calls back, the CLI draws the bar."""

from __future__ import annotations

from typing import Callable

#: Called as ``on_progress(step, done, total)``: ``step`` says what is being done, in words.
ProgressCallback = Callable[[str, int, int], None]


def no_progress(step: str, done: int, total: int) -> None:
    """The callback used when the caller gives none: it does nothing.

    Examples
    --------
    >>> no_progress("fitting K-Means", 1, 10)
    """
