"""How much of a log's history each snapshot covers, and the warning when the two differ.

A customer's frequency and monetary count every order since the log began: at a later date
of the same log they are larger for everyone, because the history is longer, not because the
customers changed. A run with ``--window`` computes them over the same trailing window at both
dates (`custseg.logs.window`); without one, `compare_histories` says when the histories of the
two snapshots differ by more than `HISTORY_TOLERANCE`, and suggests a window.
"""

from __future__ import annotations

from ..logs.window import parse_window

#: The histories covered (the window, where shorter) may differ by this share of the shorter
#: one before the snapshots count as covering histories of different lengths.
HISTORY_TOLERANCE = 0.10


def compare_histories(transactions: dict | None, after_days: int | None, after_as_of: str | None) -> dict | None:
    """The history each snapshot of a log covers, and a warning when they differ.

    Parameters
    ----------
    transactions : dict or None
        The model's ``transactions`` block (`custseg.model.Model.transactions`): its
        ``window`` and ``history_days`` (the run's), and ``as_of_used``; None for a model of
        a customer table (then None is returned).
    after_days : int or None
        Days of history of the new snapshot (`custseg.logs.result.TransactionFeatures.history_days`).
    after_as_of : str or None
        The new snapshot's reference date.

    Returns
    -------
    dict or None
        ``{"window", "before_days", "after_days", "before_covered", "after_covered",
        "warning"}``: the days each snapshot's count and money features cover (the history,
        or the window where shorter) and the warning (None when they match, or when the
        model predates history lengths).

    Examples
    --------
    >>> found = compare_histories({"window": None, "history_days": 181, "as_of_used": "2024-06-30"}, 366,
    ...                           "2025-01-01")
    >>> found["warning"][:77]
    'the two snapshots cover histories of different lengths: 181 days of orders to'
    >>> compare_histories({"window": "90d", "history_days": 181}, 366, "2025-01-01")["warning"] is None
    True
    """
    if transactions is None:
        return None
    window = parse_window(transactions.get("window"))
    before_days = transactions.get("history_days")
    out = {"window": None if window is None else window.text, "before_days": before_days,
           "after_days": after_days, "before_covered": None, "after_covered": None, "warning": None}
    if before_days is None or after_days is None:
        return out
    limit = float("inf") if window is None else window.days
    before, after = round(min(before_days, limit)), round(min(after_days, limit))
    out["before_covered"], out["after_covered"] = before, after
    shorter, longer = sorted((before, after))
    if longer <= shorter * (1 + HISTORY_TOLERANCE):
        return out
    out["warning"] = _warning(window, before_days, after_days, transactions.get("as_of_used"), after_as_of)
    return out


def _warning(window, before_days: int, after_days: int, before_as_of: str | None, after_as_of: str | None) -> str:
    """The one-line warning of `compare_histories`."""
    def span(days: int, as_of: str | None) -> str:
        return f"{days:,} days of orders" + (f" to {as_of}" if as_of else "")

    shorter = min(before_days, after_days)
    spans = f"{span(before_days, before_as_of)} in the run, {span(after_days, after_as_of)} now"
    if window is None:
        return (f"the two snapshots cover histories of different lengths: {spans}; frequency and monetary "
                f"grow with the history, so part of any change in them is the longer history alone: run custseg again with "
                f"--window (e.g. --window {shorter}d or shorter) and track with that model to compare like with like")
    return (f"the window {window.text} is longer than the shorter history ({spans}): frequency and monetary "
            f"cover different lengths of time in the two snapshots; run custseg again with a window of at most "
            f"{shorter}d")
