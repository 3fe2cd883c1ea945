"""Nearest-person search with asymmetric thresholds (DESIGN.md §2).

For each face: per-person minimum distance over that person's templates. The
nearest person within `strict` is *the* match (consent may count); anyone within
`loose` is a *candidate* (a client candidate is enough to block). A face whose
nearest person lies between the thresholds, or whose two nearest people are
both within `strict`, is ambiguous and never counts as identified.
"""

from __future__ import annotations

import numpy as np

from ..results import NO_MATCH, Candidate, Gallery, Match


def match_faces(embeddings: np.ndarray, gallery: Gallery, *, strict: float, loose: float) -> list[Match]:
    if len(embeddings) == 0:
        return []
    if len(gallery) == 0:
        return [NO_MATCH] * len(embeddings)
    d = np.linalg.norm(embeddings[:, None, :].astype(np.float64) - gallery.vectors[None, :, :], axis=2)
    person_ids = np.unique(gallery.person_ids)
    per_person = np.stack([d[:, gallery.person_ids == pid].min(axis=1) for pid in person_ids], axis=1)
    out = []
    for row in per_person:
        order = np.argsort(row, kind="stable")
        cands = [_cand(gallery, person_ids[i], row[i]) for i in order]
        within_loose = tuple(c for c in cands if c.distance < loose)
        within_strict = [c for c in cands if c.distance < strict]
        ambiguous = len(within_strict) > 1
        identified = within_strict[0] if len(within_strict) == 1 else None
        out.append(Match(nearest=cands[0], candidates=within_loose, identified=identified, ambiguous=ambiguous))
    return out


def _cand(gallery: Gallery, pid, dist) -> Candidate:
    p = gallery.people[int(pid)]
    return Candidate(name=p.name, role=p.role, distance=float(dist))
