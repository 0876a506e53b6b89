"""The choice among the candidates by complementary evidence: density, the silhouette and
stability, in that order (`choose`), with the reasons in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .candidates import Candidate
from .reasons import disagreements, reason_text, structure_sentence, why_not_natural
from .rules import (
    SILHOUETTE_ALGORITHMS,
    best_density,
    best_silhouette,
    coarser_and_as_separated,
    density_admissible,
    eligible,
    finer_and_as_separated,
)
from .structure import Structure, read_structure, working_partition, working_range


@dataclass
class Choice:
    """What `choose` decided, and the words that explain it."""

    chosen: Candidate
    reason: str
    disagreements: list[str]
    decided_by: str                   # "density", "silhouette", "two groups" or "working"
    natural: Candidate | None         # the natural finding set beside working segments
    structure: str
    natural_why: str | None = None    # why the natural finding is not recommended as it is


def choose(candidates: list[Candidate], elbow: dict, n: int, k_range: tuple[int, int] | None = None, *,
           density_k_max: int | None = None, density_evidence: bool = True,
           divide_body: Callable[[Candidate, tuple[int, int]], list[Candidate]] | None = None) -> Choice:
    """Choose one candidate by complementary evidence, and say why in words.

    The rule, in order (every threshold is a named constant of `custseg.segmenting.rules`):

    1. **Density.** An HDBSCAN result that is admissible (`density_admissible`) shows
       natural groups of any shape; among admissible ones, the best wcnn index wins
       (customers' near neighbours in their own segment; near-ties within
       `DENSITY_WCNN_TOLERANCE` go to the one with the least noise), unless step 2's choice
       has more segments, a silhouette of at least `WEAK_SILHOUETTE` and a wcnn at most
       `DENSITY_OVERRIDE_TOLERANCE` lower: the same groups, where density merged two that touch;
       or it has fewer segments (a k strictly inside the range) on the same terms: density cut
       skewed groups apart (`coarser_and_as_separated`).
       Density results may have up to ``density_k_max`` segments when it is given (the
       default k range lets density find more natural groups than the sweeps try).
    2. **Silhouette.** Otherwise, among eligible candidates (`eligible`) of
       `SILHOUETTE_ALGORITHMS`, the highest silhouette wins. Candidates within
       ``SILHOUETTE_TOLERANCE`` of it are near-ties: one that places every customer is
       preferred, then the best mean rank on Calinski-Harabasz and Davies-Bouldin, then
       the higher silhouette, the simpler algorithm and fewer segments.
    3. **Structure and working segments** (`custseg.segmenting.structure`). The result of
       steps 1-2 is read as a finding: natural groups are returned as they are; two groups
       that a Gaussian mixture separates (`two_groups`) are returned as the mixture's two
       components even when their silhouette is weak; a body beside small separated
       groups, density groups that are not found again, and a continuum (a weak cut) get
       working segments (`working_partition`): a stable, balanced partition of
       `custseg.segmenting.structure.WORKING_K` segments (`BODY_K` for a divided body) that keeps the small groups whole, with the finding shown beside it.

    With ``density_evidence=False`` (clustered categoricals) step 1 is skipped, and a note
    says why. ``divide_body(natural, (k_min, k_max))`` builds the candidates that keep a
    body's small groups and divide the body (`custseg.segmenting.body`); without it a body
    is divided only by candidates that happen to keep the groups.
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
    best, best_near = chosen, near
    decided_by, natural = "silhouette", None
    if density:
        dense = best_density(density)
        if not (finer_and_as_separated(chosen, dense) or coarser_and_as_separated(chosen, dense, k_range)):
            chosen, near, decided_by = dense, [], "density"
    found = None
    if not fallback:
        found = read_structure(chosen, decided_by, best_near)
        chosen, decided_by, natural = _working(found, chosen, decided_by, silhouette_pool, k_range, best,
                                               divide_body)
        near = best_near if chosen is best else []
    structure = structure_sentence(chosen, decided_by, natural, found)
    reason = reason_text(chosen, candidates, near, n, fallback, decided_by, natural, density, found)
    notes = disagreements(chosen, candidates, silhouette_pool, elbow, decided_by, density, density_evidence)
    why = why_not_natural(found) if natural is not None else None
    return Choice(chosen, reason, notes, decided_by, natural, structure, why)


def _working(found: Structure, chosen: Candidate, decided_by: str, pool: list[Candidate],
             k_range: tuple[int, int] | None, best: Candidate,
             divide_body=None) -> tuple[Candidate, str, Candidate | None]:
    """Step 3 of `choose`: the natural structure as it is, the two groups a mixture found,
    or working segments beside the natural finding. Returns the recommendation, what decided
    it, and the natural finding set beside it (None when the recommendation is that)."""
    if found.kind in ("groups", "groups with a body"):
        return chosen, decided_by, None
    if found.kind == "two groups":
        return found.natural, "two groups", None
    if found.kind == "body" and divide_body is not None:
        pool = divide_body(found.natural, working_range(k_range, found.kind))
    work = working_partition(found, pool, k_range)
    if work is not None and work is not chosen:
        return work, "working", found.natural
    if found.kind == "unstable":
        # Density groups that are not found again are no evidence: the silhouette decides.
        return best, "silhouette", None
    return chosen, decided_by, None
