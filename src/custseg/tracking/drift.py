"""Drift: whether a model's segments still describe a new snapshot of its customers.

Three kinds of evidence, each linear in customers:

(a) **far customers**: the share of new customers farther (in the model matrix) from their
    segment's old centre than that segment's old 99th-percentile distance. If nothing
    changed it is about 1% (`FAR_EXPECTED`); above `FAR_FACTOR` times that, the old segments
    no longer cover the customers.
(b) **centre shift**: per segment and model feature, how far the mean of the customers now
    assigned to it moved, in standard deviations of the old data. A large segment (at least
    `LARGE_SEGMENT_SHARE` of the old customers) whose centre moved more than
    `CENTRE_SHIFT_SD` on any feature has changed character.
(c) **refit**: K-Means over the run's k range on a seeded sample of at most `REFIT_SAMPLE`
    new customers, k chosen by the silhouette (on `REFIT_SILHOUETTE_SAMPLE` of them). A refit
    group of at least `NEW_GROUP_MIN_SHARE` of the sample whose best Jaccard with the assigned
    segments is below `NEW_GROUP_MAX_JACCARD`, and of which at least `NEW_GROUP_OUTSIDE_SHARE`
    lies beyond its assigned segment's old 95th-percentile distance, is a **new group**. (A
    refit that merely splits or merges old segments matches poorly too, but its customers sit
    inside the old segments: the outside condition tells the two apart.)

"refit recommended: <reasons>" when (a) is above its limit, a new group is found, or a large
segment's centre moved too far; otherwise "segments still hold". The thresholds were set on
generated data (see ``docs/summary.md``, "tracking").

Features that grow with the calendar (a log's ``tenure_days``: at a later date of the same
log every customer is older; `custseg.tracking.reference.calendar_columns`) are described,
not counted: their centre shifts are reported (``calendar_shift``) but never a reason, and
(a) and (c) measure distances over the other features (with the run's percentiles over
those, ``steady_p95`` and ``steady_p99``; a model written before them measures (a) over
every feature, as it did).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import ModelError
from ..segmenting.candidates import seeded_sample
from ..segmenting.centres import kmeans_refit
from .reference import calendar_columns, distances_to_centres

#: Share of customers beyond their segment's old 99th-percentile distance if nothing changed.
FAR_EXPECTED = 0.01
#: A refit is recommended when that share exceeds this many times `FAR_EXPECTED`.
FAR_FACTOR = 3.0
#: Segments holding at least this share of the old customers count as large for the centre shift.
LARGE_SEGMENT_SHARE = 0.10
#: A large segment whose mean moved more than this many old standard deviations, on any
#: model feature, has changed character.
CENTRE_SHIFT_SD = 0.5
#: Fewer customers than this now in a segment: its centre shift is not measured (too noisy).
MIN_SHIFT_CUSTOMERS = 30
#: New customers (a seeded sample above this many) on which K-Means is refitted.
REFIT_SAMPLE = 10_000
#: Customers of the refit sample on which the silhouette chooses the refit's k.
REFIT_SILHOUETTE_SAMPLE = 2_000
#: K-Means restarts per k in the refit.
REFIT_INITS = 2
#: A refit group can be a new group from this share of the refit sample ...
NEW_GROUP_MIN_SHARE = 0.05
#: ... when its best Jaccard with an assigned old segment is below this ...
NEW_GROUP_MAX_JACCARD = 0.5
#: ... and at least this share of it lies beyond its segment's old 95th-percentile distance.
NEW_GROUP_OUTSIDE_SHARE = 0.5


def measure_drift(fitted, matrix: np.ndarray, labels: np.ndarray, random_state: int = 0):
    """Drift of the new customers from the run's segments, and the verdict.

    Parameters
    ----------
    fitted : Model
        With its ``reference`` block (else drift is reported as not measured).
    matrix : ndarray
        Model matrix of the new customers.
    labels : ndarray of int
        Their assigned segments.
    random_state : int
        Seed of the refit sample.

    Returns
    -------
    drift : dict
        ``measured``, ``far_share``, ``segments`` (per segment: sizes, far share, largest
        shift), ``refit``, ``reasons``, ``evidence``, ``verdict`` and the ``thresholds``.
    shifts : DataFrame or None
        Centre shift per segment and model feature, in old standard deviations.
    """
    reference = fitted.reference
    thresholds = {
        "far_expected": FAR_EXPECTED, "far_limit": FAR_FACTOR * FAR_EXPECTED,
        "large_segment_share": LARGE_SEGMENT_SHARE, "centre_shift_sd": CENTRE_SHIFT_SD,
        "new_group_min_share": NEW_GROUP_MIN_SHARE, "new_group_max_jaccard": NEW_GROUP_MAX_JACCARD,
        "new_group_outside_share": NEW_GROUP_OUTSIDE_SHARE, "refit_sample": REFIT_SAMPLE,
    }
    if reference is None:
        note = ("not measured: the model predates drift statistics (its model.json has no 'reference' "
                "block); run custseg again to write them")
        return {"measured": False, "note": note, "verdict": None, "reasons": [], "evidence": [note],
                "thresholds": thresholds}, None
    columns = list(reference["columns"])
    if matrix.shape[1] != len(columns):
        raise ModelError(f"the model's drift statistics have {len(columns)} columns, its features {matrix.shape[1]}")
    described = [s for s in reference["segments"] if s["id"] >= 0]
    centres = np.array([s["mean"] for s in described], dtype="float64").reshape(len(described), len(columns))
    calendar = calendar_columns(columns, fitted.transactions is not None)
    steady = _steady_view(matrix, centres, columns, calendar, described)
    code, far95, far99 = _far_customers(steady["matrix"], labels, described, steady["centres"], steady["keys"])
    n_placed = int((code >= 0).sum())
    far_share = float(far99.sum() / n_placed) if n_placed else 0.0
    segment_rows, shift_rows = _segment_shifts(fitted, matrix, labels, code, far99, described, centres, calendar)
    old_total = max(int(reference["customers"]), 1)
    noise_before = next((s["size"] for s in reference["segments"] if s["id"] < 0), 0) / old_total
    refit = _refit(steady["matrix"], labels, far95, reference, fitted.segment_names, random_state)
    reasons = _reasons(far_share, segment_rows, refit)
    drift = {
        "measured": True, "note": None,
        "far_share": far_share, "noise_share_before": noise_before,
        "noise_share_after": float((labels < 0).mean()) if len(labels) else 0.0,
        "calendar_features": calendar,
        "segments": segment_rows, "refit": refit, "reasons": reasons,
        "evidence": _evidence(far_share, segment_rows, refit, reference) + _calendar_evidence(segment_rows, calendar),
        "verdict": "refit recommended: " + "; ".join(reasons) if reasons else "segments still hold",
        "thresholds": thresholds,
    }
    shifts = pd.DataFrame(shift_rows, index=pd.Index(columns, name="feature")).T if shift_rows else None
    if shifts is not None:
        shifts.index.name = "segment"
    return drift, shifts


def _steady_view(matrix: np.ndarray, centres: np.ndarray, columns: list[str], calendar: list[str],
                 described: list[dict]) -> dict:
    """The model matrix and old centres without the ``calendar`` columns, and the keys of the
    run's distance percentiles over the columns kept; every column when there are no calendar
    columns, or when the model has no percentiles without them (written before they existed)."""
    keys = ("steady_p95", "steady_p99")
    if not calendar or not all(k in s for s in described for k in keys):
        return {"matrix": matrix, "centres": centres, "keys": ("distance_p95", "distance_p99")}
    keep = [j for j, c in enumerate(columns) if c not in calendar]
    return {"matrix": matrix[:, keep], "centres": centres[:, keep], "keys": keys}


def _far_customers(matrix: np.ndarray, labels: np.ndarray, described: list[dict], centres: np.ndarray,
                   keys: tuple[str, str] = ("distance_p95", "distance_p99")):
    """Each new customer's position among the ``described`` segments (-1: noise or a segment
    without statistics), and who lies beyond their segment's old 95th and 99th percentile
    distance to its centre (the percentiles under ``keys``)."""
    ids = np.array([s["id"] for s in described], dtype="int64")
    p95 = np.array([s[keys[0]] for s in described])
    p99 = np.array([s[keys[1]] for s in described])
    slot = np.full(max(int(ids.max(initial=-1)), int(labels.max(initial=-1))) + 2, -1, dtype="int64")
    slot[ids] = np.arange(len(ids))
    code = slot[labels]
    placed = code >= 0
    distance = np.zeros(len(labels))
    distance[placed] = distances_to_centres(matrix, code, centres, placed)
    far95 = placed & (distance > np.append(p95, np.inf)[code])
    far99 = placed & (distance > np.append(p99, np.inf)[code])
    return code, far95, far99


def _segment_shifts(fitted, matrix: np.ndarray, labels: np.ndarray, code: np.ndarray, far99: np.ndarray,
                    described: list[dict], centres: np.ndarray, calendar: list[str] = ()) -> tuple[list[dict], dict]:
    """Per described segment: its shares before and after, its far share and how far its
    centre moved on each feature (in old SDs; not measured below `MIN_SHIFT_CUSTOMERS`); the
    largest shift among the features that do not grow with the calendar, and the shift on
    those that do (``calendar_shift``).
    Returns the rows of ``drift["segments"]`` and the shifts by segment name."""
    reference = fitted.reference
    columns = list(reference["columns"])
    sd = np.asarray(reference["sd"], dtype="float64")
    scale = np.where(sd > 0, sd, 1.0)
    old_total = max(int(reference["customers"]), 1)
    names = fitted.segment_names
    placed = code >= 0
    sizes_after = np.bincount(code[placed], minlength=len(described))
    sums = np.zeros((len(described), len(columns)))
    for j in range(len(columns)):
        sums[:, j] = np.bincount(code[placed], weights=matrix[placed, j], minlength=len(described))
    counted = np.array([c not in calendar for c in columns])
    segment_rows, shift_rows = [], {}
    for i, item in enumerate(described):
        size = int(sizes_after[i])
        shift = None
        if size >= MIN_SHIFT_CUSTOMERS:
            shift = (sums[i] / size - centres[i]) / scale
            shift_rows[fitted.name_of(item["id"])] = shift
        largest = None if shift is None or not counted.any() else int(np.argmax(np.where(counted, np.abs(shift), -1)))
        segment_rows.append({
            "id": int(item["id"]), "name": names.get(int(item["id"]), fitted.name_of(item["id"])),
            "share_before": item["size"] / old_total, "share_after": size / max(len(labels), 1),
            "far_share": float(far99[code == i].sum() / size) if size else None,
            "largest_shift": None if shift is None else float(shift[largest]),
            "largest_shift_feature": None if shift is None else columns[largest],
            "shift": None if shift is None else dict(zip(columns, (float(v) for v in shift))),
            "calendar_shift": None if shift is None else {c: float(v) for c, v in zip(columns, shift) if c in calendar},
        })
    return segment_rows, shift_rows


def _refit(matrix: np.ndarray, labels: np.ndarray, outside: np.ndarray, reference: dict, names: dict,
           random_state: int) -> dict | None:
    """K-Means over the run's k range on a seeded sample; groups that match no old segment."""
    from sklearn.metrics import pairwise_distances, silhouette_score

    index = seeded_sample(len(matrix), REFIT_SAMPLE, random_state)
    points, assigned, beyond = matrix[index], labels[index], outside[index]
    k_min, k_max = reference["k_range"]
    ks = [k for k in range(max(int(k_min), 2), min(int(k_max), len(points) - 1) + 1)]
    if not ks:
        return None
    scored = seeded_sample(len(points), REFIT_SILHOUETTE_SAMPLE, random_state)
    distances = pairwise_distances(points[scored])          # once, for every k's silhouette
    best = None
    for k in ks:
        found = kmeans_refit(k, REFIT_INITS)(points, random_state)
        if len(np.unique(found[scored])) < 2:
            continue
        score = float(silhouette_score(distances, found[scored], metric="precomputed"))
        if best is None or score > best[0]:
            best = (score, k, found)
    if best is None:
        return None
    score, k, found = best
    groups = []
    for group, (match, jaccard) in _best_matches(found, assigned).items():
        members = found == group
        share = float(members.mean())
        outside_share = float(beyond[members].mean())
        groups.append({
            "size": int(members.sum()), "share": share, "best_match": None if match is None else names.get(match),
            "best_jaccard": jaccard, "outside_share": outside_share,
            "new": bool(share >= NEW_GROUP_MIN_SHARE and jaccard < NEW_GROUP_MAX_JACCARD
                        and outside_share >= NEW_GROUP_OUTSIDE_SHARE),
        })
    assignment = None
    placed = assigned[scored] >= 0
    if len(np.unique(assigned[scored][placed])) >= 2:
        assignment = float(silhouette_score(distances[np.ix_(placed, placed)], assigned[scored][placed],
                                            metric="precomputed"))
    return {"sample_size": int(len(points)), "k": int(k), "silhouette": score, "groups": groups,
            "new_groups": sum(g["new"] for g in groups), "assignment_silhouette": assignment,
            "run_silhouette": reference.get("silhouette")}


def _best_matches(refitted: np.ndarray, assigned: np.ndarray) -> dict:
    """For each refit group: (old segment it overlaps best by Jaccard, that Jaccard).

    Assigned noise (-1) matches nothing.

    Examples
    --------
    >>> import numpy as np
    >>> _best_matches(np.array([0, 0, 1, 1, 1]), np.array([5, 5, 5, 7, -1]))
    {0: (5, 0.6666666666666666), 1: (7, 0.3333333333333333)}
    """
    groups, group_index = np.unique(refitted, return_inverse=True)
    olds, old_index = np.unique(assigned, return_inverse=True)
    table = np.zeros((len(groups), len(olds)))
    np.add.at(table, (group_index.ravel(), old_index.ravel()), 1)
    group_sizes = table.sum(axis=1)
    table[:, olds < 0] = 0.0
    union = group_sizes[:, None] + np.where(olds < 0, 0.0, np.bincount(old_index.ravel()))[None, :] - table
    jaccard = np.divide(table, union, out=np.zeros_like(table), where=union > 0)
    out = {}
    for i, group in enumerate(groups):
        j = int(np.argmax(jaccard[i]))
        out[int(group)] = (int(olds[j]) if jaccard[i, j] > 0 else None, float(jaccard[i, j]))
    return out


def _reasons(far_share: float, segments: list[dict], refit: dict | None) -> list[str]:
    """Why a refit is recommended (empty: the segments still hold)."""
    reasons = []
    if far_share > FAR_FACTOR * FAR_EXPECTED:
        reasons.append(f"{far_share:.1%} of the customers lie beyond their segment's old 99th-percentile "
                       f"distance (about {FAR_EXPECTED:.0%} if nothing changed)")
    for group in (refit or {}).get("groups", []):
        if group["new"]:
            match = f" (best match “{group['best_match']}”, Jaccard {group['best_jaccard']:.2f})" \
                if group["best_match"] else ""
            reasons.append(f"a new group of {group['share']:.0%} of the customers matches no old segment{match}")
    for item in segments:
        if item["share_before"] >= LARGE_SEGMENT_SHARE and item["largest_shift"] is not None \
                and abs(item["largest_shift"]) > CENTRE_SHIFT_SD:
            reasons.append(f"the centre of “{item['name']}” moved {abs(item['largest_shift']):.1f} SD on "
                           f"{item['largest_shift_feature']}")
    return reasons


def _evidence(far_share: float, segments: list[dict], refit: dict | None, reference: dict) -> list[str]:
    """Every measure in words, whatever the verdict."""
    out = [f"{far_share:.1%} of the customers lie beyond their segment's old 99th-percentile distance to its "
           f"centre (expected about {FAR_EXPECTED:.0%}; limit {FAR_FACTOR * FAR_EXPECTED:.0%})."]
    shifted = [s for s in segments if s["largest_shift"] is not None]
    if shifted:
        top = max(shifted, key=lambda s: abs(s["largest_shift"]))
        out.append(f"Largest centre shift: “{top['name']}” by {abs(top['largest_shift']):.2f} SD on "
                   f"{top['largest_shift_feature']} (limit {CENTRE_SHIFT_SD} SD for segments of at least "
                   f"{LARGE_SEGMENT_SHARE:.0%}).")
    if refit:
        new = refit["new_groups"]
        found = ("every group it found matches an old segment" if not new else
                 f"{new} group{'s' if new > 1 else ''} of it match{'es' if new == 1 else ''} no old segment")
        out.append(f"K-Means refitted on {refit['sample_size']:,} new customers chose k = {refit['k']} "
                   f"(silhouette {refit['silhouette']:.2f}): {found}.")
        if refit["assignment_silhouette"] is not None:
            run = reference.get("silhouette")
            out.append(f"Silhouette of the old segments on the new customers: {refit['assignment_silhouette']:.2f}"
                       + (f" (the run: {run:.2f})." if run is not None else "."))
    return out


def _calendar_evidence(segments: list[dict], calendar: list[str]) -> list[str]:
    """The sentence saying which features grow with the calendar and how far they moved."""
    if not calendar:
        return []
    moved = [(abs(v), item["name"], c) for item in segments for c, v in (item.get("calendar_shift") or {}).items()]
    names = ", ".join(calendar)
    sentence = (f"{names} grow{'s' if len(calendar) == 1 else ''} with the calendar (at a later date every customer "
                f"is older): described, not counted toward a refit, and left out of the distances above")
    if moved:
        size, name, column = max(moved)
        sentence += f"; its largest centre shift: “{name}” by {size:.2f} SD on {column}"
    return [sentence + "."]
