"""Label text of the figures: shortened, wrapped, and the label of a segment id."""

from __future__ import annotations


def shorten(text, width: int = 30) -> str:
    """``text`` cut to at most ``width`` characters, an ellipsis marking the cut.

    Examples
    --------
    >>> shorten("Budget regulars", 10)
    'Budget re…'
    """
    text = str(text)
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def wrap_label(text, width: int = 16, lines: int = 2) -> str:
    """Wrap ``text`` on spaces, and inside words after ``_``, ``-``, ``/`` or ``.`` if need be.

    At most ``lines`` lines of ``width`` characters; an ellipsis ends a text cut short.

    Examples
    --------
    >>> wrap_label("visits_per_month", 13)
    'visits_per_\\nmonth'
    """
    import re

    chunks = [c for c in re.split(r"(?<=[_\-/.])|(?<=\s)", str(text)) if c]
    wrapped: list[str] = []
    line = ""
    for chunk in chunks:
        while len(chunk) > width:  # a chunk too long for any line: break it hard
            if line:
                wrapped.append(line.rstrip())
                line = ""
            wrapped.append(chunk[:width])
            chunk = chunk[width:]
        if len((line + chunk).rstrip()) > width and line:
            wrapped.append(line.rstrip())
            line = chunk.lstrip()
        else:
            line += chunk
    if line.strip() or not wrapped:
        wrapped.append(line.rstrip())
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = shorten(wrapped[-1] + "…", width)
    return "\n".join(wrapped)


def segment_label(segment_id: int, names: dict, width: int = 30) -> str:
    """The name of a segment id in ``names`` (`names_by_id`), shortened; "Noise" or "Segment <id>" if unnamed.

    Examples
    --------
    >>> segment_label(0, {0: "Budget regulars"}, 10), segment_label(-1, {}), segment_label(3, {})
    ('Budget re…', 'Noise', 'Segment 3')
    """
    name = names.get(segment_id)
    if name is None:
        name = "Noise" if segment_id < 0 else f"Segment {segment_id}"
    return shorten(name, width)
