"""The choice among the candidates by complementary evidence: density, the silhouette and
stability, in that order (`choose`), with the reasons in words."""

from __future__ import annotations

from dataclasses import dataclass

from .candidates import Candidate
from .reasons import disagreements, reason_text, structure_sentence
from .rules import (
    SILHOUETTE_ALGORITHMS,
    best_density,
    best_silhouette,
    density_admissible,
    eligible,
    finer_and_as_separated,
    finer_stable,
)


@dataclass
class Choice:
    """What `choose` decided, and the words that explain it."""

    chosen: Candidate
    reason: str
    disagreements: list[str]
    decided_by: str                   # "density", "silhouette" or "stability"
    natural: Candidate | None         # the two-way split set aside for a finer stable one
    structure: str


def choose(candidates: list[Candidate], elbow: dict, n: int, k_range: tuple[int, int] | None = None, *,
           density_k_max: int | None = None, density_evidence: bool = True) -> Choice:
    """Choose one candidate by complementary evidence, and say why in words.

    The rule, in order (every threshold is a named constant of `custseg.segmenting.rules`):

    1. **Density.** An HDBSCAN result that is admissible (`density_admissible`) shows
       natural groups of any shape; among admissible ones, the best wcnn index wins
       (customers' near neighbours in their own segment; near-ties within
       `DENSITY_WCNN_TOLERANCE` go to the one with the least noise), unless step 2's choice
       has more segments, a silhouette of at least `WEAK_SILHOUETTE` and a wcnn at most
       `DENSITY_OVERRIDE_TOLERANCE` lower: the same groups, where density merged two that touch.
       Density results may have up to ``density_k_max`` segments when it is given (the
       default k range lets density find more natural groups than the sweeps try).
    2. **Silhouette.** Otherwise, among eligible candidates (`eligible`) of
       `SILHOUETTE_ALGORITHMS`, the highest silhouette wins. Candidates within
       ``SILHOUETTE_TOLERANCE`` of it are near-ties: one that places every customer is
       preferred, then the best mean rank on Calinski-Harabasz and Davies-Bouldin, then
       the higher silhouette, the simpler algorithm and fewer segments.
    3. **Stability.** When that is a two-way split with a silhouette below
       `WEAK_SILHOUETTE` (no strong natural split), the finest candidate of step 2's pool
       whose every segment is stable (Jaccard >= `custseg.segmenting.stability.STABLE_FROM`) and
       whose silhouette is at least `FINER_SILHOUETTE_RATIO` of the two-way split's is
       recommended instead; the two-way split is kept as the natural split.

    With ``density_evidence=False`` (clustered categoricals) step 1 is skipped, and a note
    says why.
    """
    pool = [c for c in candidates if eligible(c, n, k_range)]
    density_range = k_range if density_k_max is None or k_range is None else (k_range[0], density_k_max)
    density = [c for c in candidates if density_evidence and eligible(c, n, density_range) and density_admissible(c)]
    fallback = not pool
    if fallback:
        pool = [c for c in candidates if c.silhouette is not None] or candidates
    preferred = [c for c in pool if c.algorithm in SILHOUETTE_ALGORITHMS]
    silhouette_pool = preferred or [c for c in pool if c.algorithm != "hdbscan"] or pool
    chosen, near = best_silhouette(silhouette_pool)
    decided_by, natural = "silhouette", None
    if density:
        dense = best_density(density)
        if not finer_and_as_separated(chosen, dense):
            chosen, near, decided_by = dense, [], "density"
    if decided_by == "silhouette" and not fallback:
        finer = finer_stable(chosen, silhouette_pool)
        if finer is not None:
            natural, chosen, decided_by = chosen, finer, "stability"
    structure = structure_sentence(chosen, decided_by, natural)
    reason = reason_text(chosen, candidates, near, n, fallback, decided_by, natural, density)
    notes = disagreements(chosen, candidates, silhouette_pool, elbow, decided_by, density, density_evidence)
    return Choice(chosen, reason, notes, decided_by, natural, structure)
