"""The choice in words: why a candidate was chosen, where other criteria disagree, and how
strong the structure is."""

from __future__ import annotations

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
from .stability import STABLE_FROM, UNSTABLE_BELOW


def structure_sentence(chosen: Candidate, decided_by: str, natural: Candidate | None) -> str:
    """One plain sentence on how strong the structure is."""
    if decided_by == "density":
        return (f"natural groups: {chosen.k} dense groups of customers separated by sparse regions, "
                "found by density whatever their shape")
    sil = chosen.silhouette if natural is None else natural.silhouette
    if sil is None:
        return "not measured"
    if sil > WEAK_SILHOUETTE:
        return silhouette_strength(sil)
    return ("no strong natural split: the customers form a continuum rather than separate groups, so the "
            "segments are a useful partition of it, not natural groups")


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
                decided_by: str, natural: Candidate | None, density: list[Candidate]) -> str:
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
    elif decided_by == "stability":
        parts.append(
            f"The best silhouette ({natural.silhouette:.2f}) is a two-way cut, {natural.label}: the customers have "
            f"no strong natural split, and two segments are too coarse to act on. {chosen.label} is recommended "
            f"instead: the finest partition whose segments all stay stable when refitted on subsamples (every "
            f"segment's Jaccard at least {STABLE_FROM}), keeping {chosen.silhouette / natural.silhouette:.0%} of "
            f"the two-way cut's silhouette ({sil:.2f}). The two-way cut is shown beside it as the natural split."
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
    if not chosen.stability:
        return ""
    values = list(chosen.stability.values())
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
        notes.append(f"Density (HDBSCAN) found {best.k} natural groups; {chosen.label} splits them further "
                     f"with as clean a separation between near neighbours ({chosen.wcnn:.1%} against "
                     f"{best.wcnn:.1%}), so the finer partition was kept.")
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
