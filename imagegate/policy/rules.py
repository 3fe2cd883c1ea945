"""Rules 4 and 6 as a pure function: facts about faces in, a verdict out.

No IO, no models, no clock: everything the decision depends on is in the
arguments, so it can be tested exhaustively (tests/policy/).

Per identifiable face:
  within the loose threshold of a client without a valid
    consent for the channel with the risks explained ... client (blocks, rule 6)
  strictly and unambiguously identified (closer than
    consent_strict), with consent (a client's informed),
    and everyone else within the loose threshold
    covered too ...................................... client_consented / consented (rule 4)
  strictly identified without valid consent ........... no_consent (needs consent, rule 4)
  only loose / ambiguous matches, or a strict one not
    closer than consent_strict, all of them people
    with consent ..................................... confirm (needs consent: "confirm it is X")
  only loose / ambiguous, someone without consent ..... uncertain (needs consent)
  no match ........................................... unknown (needs consent)
  too small or blurred to match ...................... unmatchable (needs consent: fail closed)
Faces below the identifiability threshold need nothing. Faces that blend into a
crowd may be covered by rule 4's crowd exception (crowd.py). Each rule is a
function named for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..codes import DECISIONS, NEEDS_CONSENT, SHOWABLE, Decision, Event, ReasonCode, Role, Rule, Severity
from ..codes import FaceStatusCode as S
from ..errors import ConfigError
from ..results import Candidate, ConsentStatus, FaceStatus, Match, PolicyResult, Reason, order_reasons
from .crowd import crowd_exception

#: Whether the photo is from a public event is known only to the person posting (rule 4's exception is
#: for public events): public = the crowd exception; unknown = it covers people nobody recognised, not
#: recognised clients; private = none.
EVENTS = tuple(e.value for e in Event)
__all__ = ["DECISIONS", "EVENTS", "FaceFacts", "PolicySettings", "consent_covers", "decide", "may_be_shown",
           "normalise_event"]


def normalise_event(event) -> Event:
    """`public`, `private` or `unknown` from a plain string (any case, surrounding spaces) or an enum of them."""
    text = str(getattr(event, "value", event)).strip().lower()
    if text not in EVENTS:
        raise ConfigError(f"unknown event {event!r}; expected one of: {', '.join(EVENTS)}",
                          hint="public for a public event (a seminar, a forum), private otherwise; unknown when "
                               "not known")
    return Event(text)


@dataclass(frozen=True)
class PolicySettings:
    crowd_min_faces: int = 10
    crowd_max_client_share: float = 0.2
    crowd_prominent_top: int = 3
    crowd_prominent_ratio: float = 2.0
    #: detections scoring below this do not count towards crowd_min_faces: 17 of 28 such detections on
    #: data/faces-detect were faces, 346 of 360 above it (benchmarks/crowd_scores.py)
    crowd_face_score: float = 0.4
    identifiable_px: float = 30.0
    #: a consent allows only a match closer than this. The strict threshold (0.49) has no margin for a
    #: sibling: degraded faces (40-120 px, JPEG q10/q30) of data/identities matched a sibling at 0.478-0.488,
    #: and nobody else closer (benchmarks/degraded_matches.py); a consenting staff member's own photo in the
    #: scenario suite is at 0.465
    consent_strict: float = 0.47

    @classmethod
    def from_settings(cls, s) -> PolicySettings:
        return cls(crowd_min_faces=s.crowd_min_faces, crowd_max_client_share=s.crowd_max_client_share,
                   crowd_prominent_top=s.crowd_prominent_top, crowd_prominent_ratio=s.crowd_prominent_ratio,
                   crowd_face_score=s.crowd_face_score, identifiable_px=s.identifiable_px,
                   consent_strict=s.consent_strict)


@dataclass(frozen=True)
class FaceFacts:
    """What the policy needs to know about one face."""

    publish_height_px: float
    identifiable: bool
    matchable: bool = True
    match: Match | None = None
    #: consent status for the channel of every person named in `match`
    consents: Mapping[str, ConsentStatus] = field(default_factory=dict)
    #: the detector's confidence that this is a face (weak detections do not make a crowd)
    score: float = 1.0


def consent_covers(person: Candidate, consents: Mapping[str, ConsentStatus]) -> bool:
    """Whether `person` may be shown: a valid consent for the channel, for a client with the risks
    explained (rule 4)."""
    st = consents.get(person.name)
    return st is not None and may_be_shown(person.role, st)


def may_be_shown(role: str, consent: ConsentStatus) -> bool:
    """Rule 4: a valid consent for the channel, for a client one given after the risks were explained."""
    return consent.valid and (consent.risks_explained or role != Role.CLIENT)


def _classify(f: FaceFacts, consent_strict: float) -> FaceStatus:
    """One face on its own (the table at the top), before any crowd is considered."""
    if not f.identifiable:
        return FaceStatus(S.NOT_IDENTIFIABLE)
    if not f.matchable or f.match is None:
        return FaceStatus(S.UNMATCHABLE)
    m = f.match
    covered = [consent_covers(c, f.consents) for c in m.candidates]
    client = _possible_client(m, covered)
    if client is not None:
        return FaceStatus(S.CLIENT, client)
    if m.identified is not None:
        return _identified(m.identified, covered, f.consents, consent_strict)
    return _not_identified(m, covered)


def _possible_client(m: Match, covered: Sequence[bool]) -> Candidate | None:
    """Rule 6 errs towards the client: anyone within the loose threshold of a client who may not be shown
    is treated as that client (a loose match is enough to block)."""
    return next((c for c, ok in zip(m.candidates, covered, strict=False) if c.role == Role.CLIENT and not ok), None)


def _identified(who: Candidate, covered: Sequence[bool], consents: Mapping[str, ConsentStatus],
                consent_strict: float) -> FaceStatus:
    """Rule 4 for a strict, unambiguous match: consented only when the consent covers them, nobody else
    near could be who this is, and the match is closer than degraded look-alikes came
    (`consent_strict`, benchmarks/degraded_matches.py)."""
    if not consent_covers(who, consents):
        return FaceStatus(S.NO_CONSENT, who)
    # Another person within the loose threshold (a sibling, a look-alike) may be who this is:
    # the consent counts only if theirs would too.
    if not all(covered):
        return FaceStatus(S.UNCERTAIN, who)
    if who.distance >= consent_strict:
        # close, but not as close as degraded look-alikes never came: ask, do not allow
        return FaceStatus(S.CONFIRM, who)
    return FaceStatus(S.CLIENT_CONSENTED if who.role == Role.CLIENT else S.CONSENTED, who)


def _not_identified(m: Match, covered: Sequence[bool]) -> FaceStatus:
    """Only loose or ambiguous matches, or none: never enough for a consent to count (fail closed)."""
    if m.candidates:
        if all(covered):
            # only people who may be shown are near: ask which one it is rather than guess (or block)
            return FaceStatus(S.CONFIRM, m.candidates[0])
        return FaceStatus(S.UNCERTAIN, next(c for c, ok in zip(m.candidates, covered, strict=False) if not ok))
    if m.ambiguous:
        return FaceStatus(S.UNCERTAIN, m.nearest)
    return FaceStatus(S.UNKNOWN)


def decide(faces: Sequence[FaceFacts], settings: PolicySettings = PolicySettings(), *,
           channel: str, frames: int = 1, register_empty: bool = False, event: str = "unknown",
           clients_at_risk: int | None = None) -> PolicyResult:
    """The verdict for one photo's faces, in codes (imagegate.wording words them). `register_empty`: nobody
    is enrolled (no register found, or an empty one), so a client would pass as an unknown face: the crowd
    exception is then off. `event`: public / private / unknown (EVENTS). `clients_at_risk`: how many
    registered clients may not be shown on this channel (no valid informed consent); a face never compared
    with the register may be any one of them (None: not known, so any such face may be a client)."""
    event = normalise_event(event)
    statuses = [_classify(f, settings.consent_strict) for f in faces]
    crowd, crowd_reasons = crowd_exception(faces, statuses, settings, register_empty=register_empty, event=event,
                                           clients_at_risk=clients_at_risk)
    reasons = _face_reasons(faces, statuses, channel)
    decision = _rule6_and_rule4(statuses)
    if frames > 1:
        decision = _unchecked_frames(decision)
        reasons.append(Reason(ReasonCode.FRAMES_UNCHECKED, None, Severity.CONSENT, params={"frames": frames}))
    if decision == Decision.ALLOWED and not crowd:
        reasons += _why_allowed(faces, statuses, settings, channel)
    return PolicyResult(decision=decision, reasons=order_reasons(reasons) + tuple(crowd_reasons),
                        faces=tuple(statuses), crowd=crowd)


def _rule6_and_rule4(statuses: Sequence[FaceStatus]) -> Decision:
    """Rule 6: a client the crowd does not cover blocks. Rule 4: anyone else who needs consent and is not
    covered by the crowd makes the photo need consent."""
    if any(s.status == S.CLIENT and not s.crowd_exempt for s in statuses):
        return Decision.BLOCKED
    if any(s.status in NEEDS_CONSENT and not s.crowd_exempt for s in statuses):
        return Decision.NEEDS_CONSENT
    return Decision.ALLOWED


def _unchecked_frames(decision: Decision) -> Decision:
    """Fail closed: GIF frames and TIFF pages beyond the first were not looked at, so at best needs consent."""
    return Decision.NEEDS_CONSENT if decision == Decision.ALLOWED else decision


def _why_allowed(faces: Sequence[FaceFacts], statuses: Sequence[FaceStatus], settings: PolicySettings,
                 channel: str) -> list[Reason]:
    """Why an allowed photo (not a crowd's) is allowed: no faces, none identifiable, or everyone consented."""
    if not faces:
        return [Reason(ReasonCode.NO_FACES)]
    if not any(f.identifiable for f in faces):
        return [Reason(ReasonCode.NOT_IDENTIFIABLE, params={"n": len(faces), "px": settings.identifiable_px})]
    if all(s.status in SHOWABLE for s in statuses):
        return [Reason(ReasonCode.ALL_CONSENTED, Rule.CONSENT_OR_CROWD, params={"channel": channel})]
    return []


# -- one reason per person ---------------------------------------------------------------------------------


_SEVERITY = {S.CLIENT: Severity.BLOCK, S.CLIENT_CONSENTED: Severity.INFO, S.CONSENTED: Severity.INFO}


def _face_reasons(faces: Sequence[FaceFacts], statuses: Sequence[FaceStatus], channel: str) -> list[Reason]:
    """One reason per (status, person) group, naming the faces concerned."""
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(statuses):
        if s.status == S.NOT_IDENTIFIABLE or s.crowd_exempt:
            continue
        key = (s.status, s.person.name if s.person else None)
        groups.setdefault(key, []).append(i)
    out = []
    for (status, _name), idx in groups.items():
        first = faces[idx[0]]
        params = _face_params(status, statuses[idx[0]].person, first, channel)
        rule = Rule.NO_CLIENT_PICTURES if status == S.CLIENT else Rule.CONSENT_OR_CROWD
        out.append(Reason(status, rule, _SEVERITY.get(status, Severity.CONSENT), tuple(idx), params))
    return out


def _face_params(status: str, person: Candidate | None, f: FaceFacts, channel: str) -> dict:
    """What the words for a face reason need: who, how close, their consent for the channel."""
    if person is None:
        return {}
    consent = f.consents.get(person.name)
    about = {"name": person.name, "role": person.role, "distance": person.distance, "channel": channel}
    if status in (S.CLIENT, S.NO_CONSENT, S.CLIENT_CONSENTED):
        about.update(_consent_params(consent))
    if status == S.CLIENT:
        about["identified"] = bool(f.match and f.match.identified and f.match.identified.name == person.name)
    if status == S.CONFIRM and f.match is not None:
        about["people"] = tuple({"name": c.name, "role": c.role, "distance": c.distance} for c in f.match.candidates)
    return about


def _consent_params(consent: ConsentStatus | None) -> dict:
    if consent is None:
        return {"state": None}
    return {"state": consent.state, "until": consent.valid_until, "start": consent.valid_from,
            "risks": consent.risks_explained, "evidence": consent.evidence}
