"""The moves between segments that matter for marketing: losses of value and gains, in words."""

from __future__ import annotations

import re

import pandas as pd

from ..logs.rfm import RFM_SEGMENTS

#: Moves named in words: losses of value, and gains.
MAX_LOSS_MOVES = 5
MAX_GAIN_MOVES = 3
#: Value of each RFM segment for the marketing moves (higher is worth more): a move to a
#: segment of lower value loses value.
RFM_VALUE = {
    "Champions": 6, "Loyal Customers": 5, "Potential Loyalists": 4, "New Customers": 3, "Promising": 3,
    "Need Attention": 3, "About to Sleep": 2, "At Risk": 2, "Can't Lose Them": 2, "Hibernating": 1, "Lost": 0,
}
#: Words in a cluster's name that say it is worth more (+1 each) or that value is being lost
#: (-1 each); the names come from `custseg.explaining.profile` ("Lapsed, low spending").
VALUE_WORDS = (
    (r"\bhigh spend", +1), (r"\bbig spend", +1), (r"\bfrequent (buyers|visitors)", +1),
    (r"\bspending more lately", +1), (r"\brecently active", +1), (r"\bchampions", +1), (r"\bloyal", +1),
    (r"\blapsed", -1), (r"\blapsing", -1), (r"\bat risk", -1), (r"\blow spend", -1),
    (r"\binfrequent", -1), (r"\brare visitors", -1), (r"\bspending less lately", -1), (r"\blost\b", -1),
    (r"\bhibernat", -1), (r"\bsleep", -1), (r"\binactive", -1), (r"\bdormant", -1), (r"\bchurn", -1),
)
#: What to do about a cluster move, by direction (RFM moves take the destination's first action).
CLUSTER_ADVICE = {"loss": "reach them first", "gain": "keep the momentum"}
#: The value a move carried, in words, by its basis (`custseg.tracking.value_moves`).
VALUE_WORDS_OF = {"clv": "CLV", "year_spend": "last-year spend"}


def value_of(name: str, kind: str = "segment") -> int:
    """How much a segment is worth, for telling losses from gains.

    RFM segments use `RFM_VALUE`; a cluster's name scores +1 per word of value ("high
    spending", "frequent buyers", "loyal") and -1 per word of lapsing ("lapsed", "low
    spending", "infrequent", "at risk"), see `VALUE_WORDS`.

    Examples
    --------
    >>> value_of("Frequent buyers, high spending"), value_of("Lapsed, low spending")
    (2, -2)
    >>> value_of("Infrequent buyers"), value_of("At Risk", kind="rfm")
    (-1, 2)
    """
    if kind == "rfm":
        return RFM_VALUE.get(name, 0)
    text = name.lower()
    return sum(sign for pattern, sign in VALUE_WORDS if re.search(pattern, text))


def move_sentence(count: int, source: str, target: str, kind: str, direction: str,
                  value: tuple[float, str] | None = None) -> str:
    """One move in words: "412 Loyal Customers are now At Risk: send personalised win-back e-mails".

    RFM moves end with the destination's first action; cluster moves with `CLUSTER_ADVICE`.
    ``value``: (the value the movers carried, its basis ``"clv"`` or ``"year_spend"``), said
    after who moved ("412 Loyal Customers (CLV 84,000) are now At Risk: ...").

    Examples
    --------
    >>> move_sentence(412, "Loyal Customers", "At Risk", "rfm", "loss")
    '412 Loyal Customers are now At Risk: send personalised win-back e-mails'
    >>> move_sentence(1234, "Frequent buyers", "Lapsed", "segment", "loss")
    '1,234 customers of “Frequent buyers” are now in “Lapsed”: reach them first'
    >>> move_sentence(412, "Loyal Customers", "At Risk", "rfm", "loss", (84000.0, "year_spend"))[:62]
    '412 Loyal Customers (last-year spend 84,000) are now At Risk: '
    """
    worth = "" if value is None else f" ({VALUE_WORDS_OF[value[1]]} {value[0]:,.0f})"
    if kind == "rfm":
        who = source if source.endswith("s") else f"{source} customers"
        actions = RFM_SEGMENTS.get(target, {}).get("actions") or [CLUSTER_ADVICE[direction]]
        advice = actions[0][0].lower() + actions[0][1:]
        if ": " in advice:                      # "reward them: early access" reads as one clause
            head, detail = advice.split(": ", 1)
            advice = f"{head} ({detail})"
        return f"{count:,} {who}{worth} are now {target}: {advice}"
    return f"{count:,} customers of “{source}”{worth} are now in “{target}”: {CLUSTER_ADVICE[direction]}"


def largest_moves(transitions: pd.DataFrame, kind: str, values=None, basis: str | None = None) -> list[dict]:
    """The largest moves between segments that lose value, then the largest that gain it.

    Largest by customers; with ``values`` (the value the movers carried, one per cell of
    ``transitions`` without its ``new`` row and ``gone`` column, `custseg.tracking.value_moves`)
    largest by value, then customers, and each move says its value (``basis``: ``"clv"`` or
    ``"year_spend"``).

    Examples
    --------
    >>> import numpy as np
    >>> t = pd.DataFrame([[0, 5, 0], [1, 0, 0], [0, 0, 0]], index=["Loyal", "Lapsed", "new"],
    ...                  columns=["Loyal", "Lapsed", "gone"])
    >>> [m["sentence"] for m in largest_moves(t, "segment", values=np.array([[0, 900.0], [40.0, 0]]), basis="clv")]
    ['5 customers of “Loyal” (CLV 900) are now in “Lapsed”: reach them first', '1 customers of “Lapsed” (CLV 40) are now in “Loyal”: keep the momentum']
    """
    names = [str(n) for n in transitions.columns[:-1]]
    counts = transitions.to_numpy()
    found = {"loss": [], "gain": []}
    for i, source in enumerate(transitions.index[:-1]):
        for j, target in enumerate(names):
            if i == j or counts[i, j] == 0:
                continue
            change = value_of(target, kind) - value_of(str(source), kind)
            worth = 0.0 if values is None else float(values[i][j])
            if change:
                found["loss" if change < 0 else "gain"].append((-worth, -int(counts[i, j]), i, j, str(source), target))
    out = []
    for direction, limit in (("loss", MAX_LOSS_MOVES), ("gain", MAX_GAIN_MOVES)):
        for negative_worth, negative, _i, _j, source, target in sorted(found[direction])[:limit]:
            move = {"kind": kind, "direction": direction, "from": source, "to": target, "customers": -negative}
            if values is not None:
                move.update(value=-negative_worth, value_basis=basis)
            move["sentence"] = move_sentence(-negative, source, target, kind, direction,
                                             None if values is None else (-negative_worth, basis))
            out.append(move)
    return out
