"""Rule 4's crowd exception: pictures of public events may be shared when the client is among many
other people. Pure, like rules.py, whose `decide` calls `crowd_exception`.

With at least `crowd_min_faces` detections sure to be
faces (score >= `crowd_face_score`) and clients few (share <=
`crowd_max_client_share`), the faces that blend into the crowd are covered by the
public-event exception. A face that stands out (>= `crowd_prominent_ratio` x the
upper quartile of all the crowd's face heights) is judged on its own, client or
not; a client also when among the `crowd_prominent_top` largest faces or among
few other recognisable people. Whom it covers depends on the event (EVENTS):
public, everyone who blends in; unknown, only people nobody recognised (a
recognised client in it is client_in_crowd: needs consent); private, nobody.
A face identifiable but too small to compare with the register (unmatchable) was
never recognised nor ruled out: it may be a client. At an event not stated public
it is never covered; at any event it counts as a possible client for the clients'
share, and at a public one for standing out (so shrinking a photo never relaxes it).
See `crowd_exception`; each rule is a function named for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..codes import NEEDS_CONSENT, Event, ReasonCode, Role, Rule
from ..codes import FaceStatusCode as S
from ..results import FaceStatus, Reason

if TYPE_CHECKING:
    from .rules import FaceFacts, PolicySettings


def _may_be_client(f: FaceFacts, unchecked_may_be_clients: bool = True) -> bool:
    """Matched (strictly or loosely) to a registered client, or identifiable but never compared with the
    register (too small or blurred to match) while some client could be in the photo unrecognised."""
    if f.identifiable and not f.matchable:
        return unchecked_may_be_clients
    m = f.match
    return m is not None and any(c.role == Role.CLIENT for c in (*m.candidates, *filter(None, [m.identified])))


def crowd_exception(faces: Sequence[FaceFacts], statuses: list[FaceStatus], settings: PolicySettings, *,
                    register_empty: bool, event: str, clients_at_risk: int | None = None,
                    ) -> tuple[bool, list[Reason]]:
    """Rule 4: pictures of public events may be shared when the client is among many other people.

    Marks the faces it covers in `statuses` (in place); returns whether a crowd was found and the reasons
    saying what it covered or why it did not apply. Who it covers depends on the event: public, everyone
    who blends in; unknown, only people nobody recognised (a recognised client is client_in_crowd, a
    recognised person without consent needs it); private, nobody."""
    clients = [i for i, s in enumerate(statuses) if s.status == S.CLIENT]  # before the marking renames some
    unchecked = [i for i, s in enumerate(statuses) if s.status == S.UNMATCHABLE]
    # faces never compared with the register are at most the clients not recognised in the photo already
    unrecognised = len(unchecked) if clients_at_risk is None else max(0, clients_at_risk - len(clients))
    possible = min(len(unchecked), unrecognised)
    n, refusal = _crowd_applies(faces, len(clients), settings, register_empty=register_empty, event=event,
                                unchecked=possible)
    if n == 0:
        return False, refusal
    may_be = possible > 0  # a face never compared with the register may be a client
    sizes = _crowd_sizes(faces, settings, may_be)
    # Rule 4 lets a client through among *many other people*: those one can recognise must be many too,
    # not a small group in front of a distant background crowd (and a face that may be a client is not
    # one of the others).
    others = sum(1 for f, s in zip(faces, statuses, strict=False)
                 if f.identifiable and f.score >= settings.crowd_face_score and s.status != S.CLIENT
                 and not (may_be and s.status == S.UNMATCHABLE))
    few_recognisable = others + 1 < settings.crowd_min_faces
    # faces too small to compare are left out of `sizes` (their size must not help anyone blend in) but are
    # still part of the crowd: counted for the quartile, or a face turning unmatchable would shorten the
    # list and let another face blend in (a property test found it)
    unseen = sum(1 for f, s in zip(faces, statuses, strict=True)
                 if may_be and s.status == S.UNMATCHABLE and f.score >= settings.crowd_face_score)
    _mark_covered(faces, statuses, sizes, len(sizes) + unseen, few_recognisable, settings, event,
                  unchecked_may_be_clients=may_be)
    return True, _crowd_reasons(statuses, n, clients, others if few_recognisable else None, event)


def _mark_covered(faces: Sequence[FaceFacts], statuses: list[FaceStatus], sizes: Sequence[float], counted: int,
                  few_recognisable: bool, settings: PolicySettings, event: str, *,
                  unchecked_may_be_clients: bool = True) -> None:
    """Each face that needs something is covered by the crowd (crowd_exempt) or stands out (prominent);
    at an event not stated as public a recognised client or person without consent who blends in is not
    covered but asked about (client_in_crowd, no_consent)."""
    typical = sizes[min(math.ceil(counted / 4), len(sizes)) - 1] if sizes else 0.0
    quartile = math.ceil((counted + 1) / 4)  # the others' upper quartile, counting the face itself
    for i, s in enumerate(statuses):
        if s.status != S.CLIENT and s.status not in NEEDS_CONSENT:
            continue
        as_client = s.status == S.CLIENT or (s.status == S.UNMATCHABLE and unchecked_may_be_clients)
        prominent = _stands_out(faces[i].publish_height_px, as_client, sizes, typical, quartile, few_recognisable,
                                settings)
        if not prominent and event == Event.UNKNOWN and s.status in (S.CLIENT, S.NO_CONSENT, S.UNMATCHABLE):
            # recognised, or never compared with the register: not "nobody recognised", not covered
            statuses[i] = FaceStatus(S.CLIENT_IN_CROWD if s.status == S.CLIENT else s.status, s.person)
            continue
        statuses[i] = FaceStatus(s.status, s.person, crowd_exempt=not prominent, prominent=prominent)


def _crowd_applies(faces: Sequence[FaceFacts], clients: int, settings: PolicySettings, *,
                   register_empty: bool, event: str, unchecked: int = 0) -> tuple[int, list[Reason]]:
    """How many faces make the crowd (0: no crowd exception) and, when there is a crowd the exception may
    not cover, why not. The crowd is counted from detections sure enough to be faces (a box on a jacket
    must not make nine people ten, benchmarks/crowd_scores.py). Off at a private event, with an empty
    register (a client could not be told from the crowd) and when clients are more than a few."""
    n = sum(1 for f in faces if f.score >= settings.crowd_face_score)
    if n < settings.crowd_min_faces or not any(f.identifiable for f in faces):
        return 0, []
    rule = Rule.CONSENT_OR_CROWD
    if event == Event.PRIVATE:
        return 0, [Reason(ReasonCode.CROWD_PRIVATE, rule)]
    if register_empty:
        return 0, [Reason(ReasonCode.CROWD_NO_REGISTER, rule)]
    if clients > settings.crowd_max_client_share * n:
        return 0, [Reason(ReasonCode.CROWD_MANY_CLIENTS, rule, params={"clients": clients, "n": n})]
    if clients + unchecked > settings.crowd_max_client_share * n:
        # faces never compared with the register may be clients: too many of them, and the share of
        # clients is not known to be small
        return 0, [Reason(ReasonCode.CROWD_UNCHECKED, rule,
                          params={"unchecked": unchecked, "clients": clients, "n": n})]
    return n, []


def _crowd_sizes(faces: Sequence[FaceFacts], settings: PolicySettings,
                 unchecked_may_be_clients: bool = True) -> list[float]:
    """The crowd's face heights, largest first, without the faces that may be clients: a client's own size
    never helps anyone (that client, another client, an unknown face) blend in, so enlarging a client never
    relaxes a verdict (a property test found the case where it did)."""
    return sorted((f.publish_height_px for f in faces
                   if f.score >= settings.crowd_face_score and not _may_be_client(f, unchecked_may_be_clients)),
                  reverse=True)


def _stands_out(height: float, as_client: bool, sizes: Sequence[float], typical: float, quartile: int,
                few_recognisable: bool, settings: PolicySettings) -> bool:
    """Whether a face is judged on its own rather than as part of the crowd.

    Anyone whose face is well above the crowd's typical size (the upper quartile: the near rows of an
    audience are the crowd, a speaker in front of it is not). A client also when among the largest faces
    (fewer than the upper quartile's count of the others larger, at least `crowd_prominent_top`: a client as
    large as the faces that set `typical` is always judged on their own), or among few recognisable people."""
    if height >= settings.crowd_prominent_ratio * typical:
        return True
    if not as_client:  # a client, or a face never compared that may be one
        return False
    top_rank = max(settings.crowd_prominent_top, quartile)
    return sum(1 for x in sizes if x > height) < top_rank or few_recognisable


def _crowd_reasons(statuses: Sequence[FaceStatus], n: int, clients: list[int], others: int | None,
                   event: str) -> list[Reason]:
    """What the crowd exception did: clients among too few recognisable people (`others` is their count
    then), faces that stand out, and the crowd itself."""
    rule = Rule.CONSENT_OR_CROWD
    reasons = []
    few_clients = tuple(clients) if others is not None else ()
    if few_clients and others is not None:
        reasons.append(Reason(ReasonCode.CROWD_FEW_RECOGNISABLE, rule, faces=few_clients, params={"k": others + 1}))
    prominent = tuple(i for i, s in enumerate(statuses) if s.prominent and i not in few_clients)
    if prominent:
        reasons.append(Reason(ReasonCode.CROWD_PROMINENT, rule, faces=prominent))
    if event == Event.UNKNOWN:
        reasons.append(Reason(ReasonCode.CROWD_UNKNOWN_EVENT, rule, params={"n": n}))
    # the crowd message says no client stands out, so it must not accompany one who does
    elif not any(statuses[i].prominent for i in clients):
        reasons.append(Reason(ReasonCode.CROWD, rule, params={"n": n, "clients": len(clients)}))
    return reasons
