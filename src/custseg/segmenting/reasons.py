"""The choice in words: why a candidate was chosen, where other criteria disagree, and how
strong the structure is."""

from __future__ import annotations

import numpy as np

from .candidates import ALGORITHM_NAMES, Candidate
from .rules import (
    DENSITY_MAX_NOISE,
    DENSITY_MIN_SEGMENT,
    DENSITY_WCNN_TOLERANCE,
    MAX_NOISE_SHARE,
    MIN_SEGMENT_SHARE,
    SILHOUETTE_TOLERANCE,
    WEAK_SILHOUETTE,
    best_density,
)
from .stability import UNSTABLE_BELOW
from .structure import MAX_SEGMENT_SHARE, TWO_GROUPS_MIN_D, Structure, working_bounds


def structure_sentence(chosen: Candidate, decided_by: str, natural: Candidate | None,
                       found: Structure | None = None) -> str:
    """One plain sentence on what structure the data has (the finding before the
    recommendation, when working segments were recommended)."""
    if decided_by == "working":
        return _finding(found) + ", so the segments are a stable, balanced working partition"
    if decided_by == "two groups":
        return (f"two natural groups: they overlap too much for a strong silhouette, but along the line between "
                f"them the customers form two peaks, {found.natural.separation:.1f} spreads apart")
    if found is not None and found.kind == "body":
        return _finding(found) + "; no stable, balanced division of the body was found"
    if decided_by == "density":
        body = ""
        if found is not None and found.kind == "groups with a body":
            body = (f"; the largest, {chosen.largest_share:.0%} of the customers, is the body beside "
                    f"{chosen.k - 1} smaller separated groups")
        return (f"natural groups: {chosen.k} dense groups of customers separated by sparse regions, "
                f"found by density whatever their shape{body}")
    sil = chosen.silhouette if natural is None else natural.silhouette
    if sil is None:
        return "not measured"
    if sil > WEAK_SILHOUETTE:
        return silhouette_strength(sil)
    return ("no strong natural split: the customers form a continuum rather than separate groups, so the "
            "segments are a useful partition of it, not natural groups")


def _finding(found: Structure) -> str:
    """The natural finding in words, for a structure that got working segments."""
    natural = found.natural
    if found.kind == "body":
        sizes = np.bincount(natural.labels[natural.labels >= 0])
        small = " and ".join(f"{size:,}" for size in sizes[1:])
        return (f"one body of {natural.largest_share:.0%} of the customers beside a small separated group of "
                f"{small} customers, kept as a segment of its own")
    if found.kind == "unstable":
        unstable = sum(v < UNSTABLE_BELOW for v in natural.measured_stability().values())
        return (f"{natural.label} found {natural.k} groups, but {unstable} of them "
                f"{'is' if unstable == 1 else 'are'} not found again when refitted on subsamples: no natural "
                "groups to rely on")
    return "no natural groups: the customers form a continuum rather than separate groups"


def why_not_natural(found: Structure) -> str:
    """Why the natural finding is not recommended as it is, for the report.

    Examples
    --------
    >>> from custseg.segmenting.candidates import Candidate
    >>> two = Candidate("kmeans", 2, np.zeros(4, dtype=int), None, silhouette=0.31)
    >>> why_not_natural(Structure("continuum", two))
    'its silhouette is weak (0.31): a cut through a continuum, not natural groups'
    """
    natural = found.natural
    if found.kind == "body":
        return f"one segment holds {natural.largest_share:.0%} of the customers, too broad to act on"
    if found.kind == "unstable":
        unstable = sum(v < UNSTABLE_BELOW for v in natural.measured_stability().values())
        return (f"{unstable} of its segments {'is' if unstable == 1 else 'are'} not found again when refitted "
                "on subsamples")
    return f"its silhouette is weak ({natural.silhouette:.2f}): a cut through a continuum, not natural groups"


def silhouette_strength(silhouette: float) -> str:
    """Kaufman and Rousseeuw's reading of an average silhouette.

    Examples
    --------
    >>> silhouette_strength(0.62)
    'reasonable structure: the segments are well separated'
    """
    if silhouette > 0.7:
        return "strong structure: the segments are clearly separated"
    if silhouette > 0.5:
        return "reasonable structure: the segments are well separated"
    if silhouette > 0.25:
        return ("weak structure: the segments overlap, so treat them as a useful partition "
                "rather than natural groups")
    return ("no substantial structure: the customers do not fall into clear groups, so these "
            "segments are a convenient partition only")


def reason_text(chosen: Candidate, candidates: list[Candidate], near: list[Candidate], n: int, fallback: bool,
                decided_by: str, natural: Candidate | None, density: list[Candidate],
                found: Structure | None = None) -> str:
    """Why ``chosen`` was chosen, in a few sentences: the rule that decided (``decided_by``),
    the near-ties it settled, what its silhouette means and how stable its segments are."""
    sil = chosen.silhouette
    parts = []
    if fallback:
        parts.append("No candidate met the rules (every segment at least "
                     f"{MIN_SEGMENT_SHARE:.1%} of customers, at most {MAX_NOISE_SHARE:.0%} noise), "
                     "so the best-scoring one is shown anyway.")
    if sil is None:
        parts.append(f"{chosen.label} was the only result; it could not be scored.")
        return " ".join(parts)
    if decided_by == "density":
        parts.append(
            f"{chosen.label} was chosen from {len(candidates)} candidates: density found {chosen.k} natural "
            f"groups, dense regions separated by sparse ones. {_between_groups(chosen.density_noise)} and every "
            f"group is substantial, so the result was "
            f"admissible. {chosen.wcnn:.1%} of customers' nearest neighbours are in their own segment"
            + (f", the best of the {len(density)} admissible density results (within {DENSITY_WCNN_TOLERANCE}; "
               "near-ties go to the one that leaves the fewest customers between groups)." if len(density) > 1 else ".")
        )
    elif decided_by == "working":
        keep = " that keep the small group whole" if found.kind == "body" else ""
        bounds = working_bounds(found.kind)
        if found.kind == "continuum":
            lead = (f"The strongest cut, {natural.label}, has a weak silhouette ({natural.silhouette:.2f}): "
                    f"{_finding(found)}.")
        else:
            lead = f"The natural finding is {natural.label}: {_finding(found)}."
        parts.append(
            f"{lead} As segments to act on, {chosen.label} is "
            f"recommended instead: the best silhouette ({sil:.2f}) among partitions into {bounds[0]} to "
            f"{bounds[1]} segments with every customer placed, every segment stable when refitted on subsamples "
            f"and none above {MAX_SEGMENT_SHARE:.0%} of the customers{keep}. The finding is shown beside it."
        )
    elif decided_by == "two groups":
        parts.append(
            f"{chosen.label} has one of the best silhouettes of {len(candidates)} candidates ({sil:.3f}, within "
            f"{SILHOUETTE_TOLERANCE} of the best). It is weak because "
            f"the two segments overlap, but they are two groups, not a cut through a continuum: along the line "
            f"between their centres two Gaussians fit the customers better than one (BIC), {found.natural.separation:.1f} "
            f"spreads apart (Ashman's D; two groups from {TWO_GROUPS_MIN_D:.0f})."
        )
    else:
        others = [c for c in near if c is not chosen]
        best = max(near, key=lambda c: c.silhouette)
        if others:
            lead = (f"has the highest silhouette ({sil:.3f})" if best is chosen else
                    f"has a silhouette of {sil:.4f}, within {SILHOUETTE_TOLERANCE} of the best ({best.silhouette:.4f})")
            parts.append(
                f"{chosen.label} was chosen from {len(candidates)} candidates: it {lead}, and of the "
                f"near-ties ({', '.join(c.label for c in others)}) it "
                + ("places every customer and " if chosen.noise_share == 0 and any(c.noise_share > 0 for c in others) else "")
                + "has the best mean rank on Calinski-Harabasz and Davies-Bouldin."
            )
        else:
            parts.append(f"{chosen.label} has the highest silhouette ({sil:.3f}) of {len(candidates)} candidates.")
        parts.append(f"A silhouette of {sil:.2f} means {silhouette_strength(sil)}.")
    if chosen.noise_share > 0:
        parts.append(f"DBSCAN leaves {chosen.noise_share:.1%} of customers as noise (segment -1).")
    parts.append(stability_sentence(chosen))
    return " ".join(p for p in parts if p)


def _between_groups(noise: float) -> str:
    if noise < 0.005:
        return "Hardly any customer lay between groups"
    return f"Only {noise:.0%} of the customers lay between groups (they joined the nearest one)"


def stability_sentence(chosen: Candidate) -> str:
    """How stable the chosen candidate's segments are, in one sentence (empty if not measured)."""
    stability = chosen.measured_stability()
    if not stability:
        return ""
    values = list(stability.values())
    unstable = sum(v < UNSTABLE_BELOW for v in values)
    low, high = f"{min(values):.2f}", f"{max(values):.2f}"
    text = ("Refitted on subsamples, its segments are found again with a Jaccard agreement of "
            + (low if low == high else f"{low} to {high}"))
    if unstable:
        return text + f"; {unstable} segment{'s are' if unstable > 1 else ' is'} below {UNSTABLE_BELOW} and flagged unstable."
    return text + "."


def disagreements(chosen: Candidate, candidates: list[Candidate], pool: list[Candidate], elbow: dict,
                  decided_by: str, density: list[Candidate], density_evidence: bool = True) -> list[str]:
    """Where another criterion prefers something else, say what and by how much."""
    notes = []
    if not density_evidence and any(c.algorithm == "hdbscan" for c in candidates):
        notes.append("Density (HDBSCAN) was not used as evidence of natural groups: categorical features put "
                     "customers with different levels apart by construction, so every combination of levels "
                     "looks like a dense group; its results are shown, and the silhouette rule decided.")
    scored = [c for c in pool if c.calinski_harabasz is not None]
    if decided_by == "density":
        centroid = [c for c in candidates if c.algorithm in ("kmeans", "hierarchical") and c.silhouette is not None]
        if centroid:
            best = max(centroid, key=lambda c: c.silhouette)
            if best.k != chosen.k:
                notes.append(f"By silhouette alone, {best.label} would be chosen ({best.silhouette:.3f} against "
                             f"{chosen.silhouette:.3f}): K-Means and Ward cut customers into round groups of similar "
                             "spread, which the density groups are not.")
    if scored and decided_by != "density":
        best_ch = max(scored, key=lambda c: c.calinski_harabasz)
        if best_ch is not chosen:
            notes.append(
                f"Calinski-Harabasz prefers {best_ch.label} ({best_ch.calinski_harabasz:.1f} "
                f"against {chosen.calinski_harabasz:.1f})."
            )
        best_db = min(scored, key=lambda c: c.davies_bouldin)
        if best_db is not chosen:
            notes.append(
                f"Davies-Bouldin prefers {best_db.label} ({best_db.davies_bouldin:.3f} "
                f"against {chosen.davies_bouldin:.3f}; lower is better)."
            )
    knee = elbow.get(chosen.algorithm)
    if chosen.algorithm in elbow and knee != chosen.k:
        where = f"at k = {knee}" if knee is not None else "not clear (no knee)"
        notes.append(f"The elbow of the {ALGORITHM_NAMES[chosen.algorithm]} inertia curve is {where}.")
    mixtures = [c for c in candidates if c.bic is not None]
    if mixtures:
        best_bic = min(mixtures, key=lambda c: c.bic)
        if best_bic.k != chosen.k:
            notes.append(f"As a model fit, Gaussian mixtures are best (lowest BIC) with {best_bic.k} components.")
    if decided_by != "density" and density:
        best = best_density(density)
        how = "splits them further" if chosen.k > best.k else "joins them into fewer, well separated groups"
        kept = "finer" if chosen.k > best.k else "simpler"
        notes.append(f"Density (HDBSCAN) found {best.k} natural groups; {chosen.label} {how} "
                     f"with as clean a separation between near neighbours ({chosen.wcnn:.1%} against "
                     f"{best.wcnn:.1%}), so the {kept} partition was kept.")
    elif decided_by != "density" and density_evidence:
        tried = [c for c in candidates if c.algorithm == "hdbscan" and c.density_noise is not None]
        if tried:
            least = min(tried, key=lambda c: c.density_noise)
            if least.density_noise > DENSITY_MAX_NOISE:
                why = f"called {least.density_noise:.0%} of customers noise"
            elif least.density_smallest < DENSITY_MIN_SEGMENT:
                why = f"had a group of only {least.density_smallest} customers"
            else:
                why = "had a group too small to judge by its near neighbours, or a k outside the range asked for"
            notes.append(f"Density (HDBSCAN) found no admissible natural groups: its result with the least "
                         f"noise ({least.k} groups) {why}.")
    return notes
