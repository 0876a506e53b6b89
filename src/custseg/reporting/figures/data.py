"""What the figures read from the summary: numbers, the plot sample, segments in report order,
their names, and the profile matrix."""

from __future__ import annotations

import numpy as np


def as_float(value) -> float:
    """``value`` as a float, NaN for None.

    Examples
    --------
    >>> as_float(None), as_float(3)
    (nan, 3.0)
    """
    return float("nan") if value is None else float(value)


def finite_values(values) -> np.ndarray:
    """The finite numbers among ``values``, as a float array.

    Examples
    --------
    >>> finite_values([1, None, float("inf"), 2.5]).tolist()
    [1.0, 2.5]
    """
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


def plot_data(summary: dict, key: str):
    """``summary["plot_data"][key]`` (the data of one figure), or None.

    Examples
    --------
    >>> plot_data({"plot_data": {"k_distance": {"eps": 0.5}}}, "k_distance"), plot_data({}, "sample")
    ({'eps': 0.5}, None)
    """
    return (summary.get("plot_data") or {}).get(key)


def sample_matrix(summary: dict):
    """(columns, float matrix n x p, segment ids or None) of the plot sample, or None.

    Examples
    --------
    >>> sample = {"columns": ["age", "spend"], "values": [[30, None], [41, 12.5]], "segment": [0, 1]}
    >>> columns, matrix, segment = sample_matrix({"plot_data": {"sample": sample}})
    >>> columns, matrix.tolist(), segment.tolist()
    (['age', 'spend'], [[30.0, nan], [41.0, 12.5]], [0, 1])
    """
    sample = plot_data(summary, "sample")
    if not sample:
        return None
    columns = list(sample.get("columns") or [])
    values = sample.get("values") or []
    if not columns or not values:
        return None
    matrix = np.array(
        [[np.nan if v is None else v for v in row] for row in values], dtype=float
    ).reshape(len(values), len(columns))
    segment = sample.get("segment")
    segment = np.asarray(segment, dtype=int) if segment is not None and len(segment) == len(values) else None
    return columns, matrix, segment


def ordered_segments(summary: dict) -> list[dict]:
    """Segments in summary order, with the noise segment (id < 0) last.

    Examples
    --------
    >>> [s["id"] for s in ordered_segments({"segments": [{"id": -1}, {"id": 0}, {"id": 1}]})]
    [0, 1, -1]
    """
    segments = list(summary.get("segments") or [])
    return [s for s in segments if int(s["id"]) >= 0] + [s for s in segments if int(s["id"]) < 0]


def names_by_id(summary: dict) -> dict:
    """{segment id: name} of the summary's segments ("Segment <id>" for one without a name).

    Examples
    --------
    >>> names_by_id({"segments": [{"id": 0, "name": "Regulars"}, {"id": 1}]})
    {0: 'Regulars', 1: 'Segment 1'}
    """
    return {int(s["id"]): str(s.get("name") or f"Segment {s['id']}") for s in summary.get("segments") or []}


def segment_order(summary: dict, present) -> list[int]:
    """Segment ids in report order, restricted to ``present`` plus unknown ids at the end.

    Examples
    --------
    >>> segment_order({"segments": [{"id": -1}, {"id": 1}, {"id": 0}]}, [0, 1, -1, 7])
    [1, 0, -1, 7]
    """
    present = {int(p) for p in present}
    ordered = [int(s["id"]) for s in ordered_segments(summary) if int(s["id"]) in present]
    rest = sorted(present - set(ordered), key=lambda i: (i < 0, i))
    return ordered + rest


def profile_matrix(summary: dict):
    """(segments in report order, profiled columns, z-scores segments x columns), or None.

    Numeric columns come in the summary's order, then any other profiled column; None when
    no segment has a finite z-score.

    Examples
    --------
    >>> segments = [{"id": 0, "profile": {"age": {"z": 1.2}}}, {"id": 1, "profile": {"age": {"z": -0.4}}}]
    >>> _segments, columns, z = profile_matrix({"segments": segments})
    >>> columns, z.tolist()
    (['age'], [[1.2], [-0.4]])
    """
    segments = ordered_segments(summary)
    if not segments:
        return None
    seen: list[str] = []
    for segment in segments:
        for column in (segment.get("profile") or {}):
            if column not in seen:
                seen.append(column)
    numeric = (summary.get("columns") or {}).get("numeric") or []
    columns = [c for c in numeric if c in seen] + [c for c in seen if c not in numeric]
    if not columns:
        return None
    z = np.array(
        [[as_float(((s.get("profile") or {}).get(c) or {}).get("z")) for c in columns] for s in segments],
        dtype=float,
    )
    if not np.isfinite(z).any():
        return None
    return segments, columns, z
