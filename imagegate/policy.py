"""Rules 4 and 6 as a pure function: facts about faces in, a verdict out.

No IO, no models, no clock: everything the decision depends on is in the
arguments, so it can be tested exhaustively (tests/test_policy*.py).

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
Faces below the identifiability threshold need nothing.

Crowd exception (rule 4): with at least `crowd_min_faces` detections sure to be
faces (score >= `crowd_face_score`) and clients few (share <=
`crowd_max_client_share`), the faces that blend into the crowd are covered by the
public-event exception. A face that stands out (>= `crowd_prominent_ratio` x the
upper quartile of all the crowd's face heights) is judged on its own, client or
not; a client also when among the `crowd_prominent_top` largest faces or among
few other recognisable people. Whom it covers depends on the event (EVENTS):
public, everyone who blends in; unknown, only people nobody recognised (a
recognised client in it is client_in_crowd: needs consent); private, nobody.
See `_crowd`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from . import messages
from .errors import ConfigError
from .match import Candidate, Match
from .register import ConsentStatus

DECISIONS = ("allowed", "needs_consent", "blocked")
#: client_in_crowd: a recognised client in a crowd at an event not stated as public (needs consent)
NEEDS_CONSENT = frozenset({"no_consent", "uncertain", "confirm", "unknown", "unmatchable", "client_in_crowd"})
#: Whether the photo is from a public event is known only to the person posting (rule 4's exception is
#: for public events): public = the crowd exception; unknown = it covers people nobody recognised, not
#: recognised clients; private = none.
EVENTS = ("public", "private", "unknown")


def normalise_event(event) -> str:
    """`public`, `private` or `unknown` from a plain string (any case, surrounding spaces) or an enum of them."""
    text = str(getattr(event, "value", event)).strip().lower()
    if text not in EVENTS:
        raise ConfigError(f"unknown event {event!r}; expected one of: {', '.join(EVENTS)}",
                          hint="public for a public event (a seminar, a forum), private otherwise; unknown when "
                               "not known")
    return text


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
    def from_settings(cls, s) -> "PolicySettings":
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


@dataclass(frozen=True)
class Reason:
    code: str
    rule: str | None
    message: str
    faces: tuple[int, ...] = ()
    severity: str = "info"  # block | consent | info

    def to_dict(self) -> dict:
        return {"code": self.code, "rule": self.rule, "severity": self.severity,
                "faces": [i + 1 for i in self.faces], "message": self.message}


@dataclass(frozen=True)
class FaceStatus:
    # client | client_in_crowd | client_consented | consented | no_consent | confirm | uncertain | unknown |
    # unmatchable | not_identifiable
    status: str
    person: Candidate | None = None
    crowd_exempt: bool = False
    prominent: bool = False

    @property
    def category(self) -> str:
        """What the face means on a preview: client, needs_consent, consented, not_identifiable, crowd."""
        if self.crowd_exempt:
            return "crowd"
        if self.status in ("client", "client_in_crowd"):
            return "client"
        if self.status in NEEDS_CONSENT:
            return "needs_consent"
        if self.status in ("consented", "client_consented"):
            return "consented"
        return "not_identifiable"

    def to_dict(self) -> dict:
        return {"status": self.status, "category": self.category, "crowd_exempt": self.crowd_exempt,
                "prominent": self.prominent, "person": self.person.to_dict() if self.person else None}


@dataclass(frozen=True)
class PolicyResult:
    decision: str
    reasons: tuple[Reason, ...]
    faces: tuple[FaceStatus, ...]
    crowd: bool = False


def consent_covers(person: Candidate, consents: Mapping[str, ConsentStatus]) -> bool:
    """Whether `person` may be shown: a valid consent for the channel, for a client with the risks
    explained (rule 4)."""
    st = consents.get(person.name)
    return st is not None and st.valid and (st.risks_explained or person.role != "client")


def _classify(f: FaceFacts, consent_strict: float) -> FaceStatus:
    if not f.identifiable:
        return FaceStatus("not_identifiable")
    if not f.matchable or f.match is None:
        return FaceStatus("unmatchable")
    m = f.match
    covered = [consent_covers(c, f.consents) for c in m.candidates]
    # Within the loose threshold of a client who may not be shown: treated as that client (rule 6).
    for c, ok in zip(m.candidates, covered):
        if c.role == "client" and not ok:
            return FaceStatus("client", c)
    who = m.identified
    if who is not None:
        if not consent_covers(who, f.consents):
            return FaceStatus("no_consent", who)
        # Another person within the loose threshold (a sibling, a look-alike) may be who this is:
        # the consent counts only if theirs would too.
        if not all(covered):
            return FaceStatus("uncertain", who)
        if who.distance >= consent_strict:
            # close, but not as close as degraded look-alikes never came: ask, do not allow
            return FaceStatus("confirm", who)
        return FaceStatus("client_consented" if who.role == "client" else "consented", who)
    if m.candidates:
        if all(covered):
            # only people who may be shown are near: ask which one it is rather than guess (or block)
            return FaceStatus("confirm", m.candidates[0])
        return FaceStatus("uncertain", next(c for c, ok in zip(m.candidates, covered) if not ok))
    if m.ambiguous:
        return FaceStatus("uncertain", m.nearest)
    return FaceStatus("unknown")


def decide(faces: Sequence[FaceFacts], settings: PolicySettings = PolicySettings(), *,
           channel: str, lang: str = "en", frames: int = 1, register_empty: bool = False,
           event: str = "unknown") -> PolicyResult:
    """The verdict for one photo's faces. `register_empty`: nobody is enrolled (no register found, or
    an empty one), so a client would pass as an unknown face: the crowd exception is then off.
    `event`: public / private / unknown (EVENTS)."""
    event = normalise_event(event)
    statuses = [_classify(f, settings.consent_strict) for f in faces]
    crowd, crowd_reasons = _crowd(faces, statuses, settings, lang, register_empty=register_empty, event=event)
    n = len(faces)
    heights = [f.publish_height_px for f in faces if f.identifiable]

    reasons = _face_reasons(faces, statuses, channel, lang)
    decision = "allowed"
    if any(s.status == "client" and not s.crowd_exempt for s in statuses):
        decision = "blocked"
    elif any(s.status in NEEDS_CONSENT and not s.crowd_exempt for s in statuses):
        decision = "needs_consent"
    if frames > 1:
        reasons.append(Reason("frames_unchecked", None, messages.render("frames_unchecked", lang, frames=frames),
                              (), "consent"))
        if decision == "allowed":
            decision = "needs_consent"
    if decision == "allowed" and not crowd:
        if n == 0:
            reasons.append(Reason("no_faces", None, messages.render("no_faces", lang)))
        elif not heights:
            reasons.append(Reason("not_identifiable", None, messages.render(
                "not_identifiable", lang, n=n, px=f"{settings.identifiable_px:g}")))
        elif all(s.status in ("consented", "client_consented", "not_identifiable") for s in statuses):
            reasons.append(Reason("all_consented", "4", messages.render("all_consented", lang, channel=channel)))
    order = {"block": 0, "consent": 1, "info": 2}
    reasons = sorted(reasons, key=lambda r: order[r.severity]) + crowd_reasons
    return PolicyResult(decision=decision, reasons=tuple(reasons), faces=tuple(statuses), crowd=crowd)


def _may_be_client(f: FaceFacts) -> bool:
    m = f.match
    return m is not None and any(c.role == "client" for c in (*m.candidates, *filter(None, [m.identified])))


def _crowd(faces: Sequence[FaceFacts], statuses: list[FaceStatus], settings: PolicySettings, lang: str, *,
           register_empty: bool, event: str) -> tuple[bool, list[Reason]]:
    """Rule 4's crowd exception: marks the faces it covers in `statuses` (in place); whether it applied, and
    the reasons saying why (not).

    The crowd is counted from detections sure enough to be faces (a box on a jacket must not make nine
    people ten). Only a face that blends into it is covered: one well above the crowd's typical size
    stands out and is judged on its own, client or not. "Typical" is the upper quartile of all its faces,
    recognisable or not, leaving out faces that may be clients (their size must not help anyone blend in): the near rows of an audience, whose faces are clear while the far ones are tiny,
    are the crowd, but a speaker in front of it is not. A client is also judged on their own when among
    the largest faces, or among few other recognisable people.

    At an event not stated as public (`unknown`) it covers people nobody recognised only: a recognised
    client in it is client_in_crowd (needs consent), a recognised person without consent needs it."""
    counted = sorted((f.publish_height_px for f in faces if f.score >= settings.crowd_face_score), reverse=True)
    n = len(counted)
    if n < settings.crowd_min_faces or not any(f.identifiable for f in faces):
        return False, []
    if event == "private":
        return False, [Reason("crowd_private", "4", messages.render("crowd_private", lang), (), "info")]
    if register_empty:
        return False, [Reason("crowd_no_register", "4", messages.render("crowd_no_register", lang), (), "info")]
    clients = [i for i, s in enumerate(statuses) if s.status == "client"]
    if len(clients) > settings.crowd_max_client_share * n:
        return False, [Reason("crowd_many_clients", "4", messages.render(
            "crowd_many_clients", lang, clients=len(clients), n=n), (), "info")]
    # The crowd's sizes are ranked without the faces that may be clients, so a client's own size never
    # helps anyone (that client, another client, an unknown face) blend in: enlarging a client never
    # relaxes a verdict.
    sizes = sorted((f.publish_height_px for f in faces
                    if f.score >= settings.crowd_face_score and not _may_be_client(f)), reverse=True)
    typical = sizes[math.ceil(len(sizes) / 4) - 1] if sizes else 0.0
    # a client is among the largest faces when fewer than this many of the others are larger (the upper
    # quartile at least, counting the client: a client as large as the faces that set `typical` is then
    # always judged on their own)
    top_rank = max(settings.crowd_prominent_top, math.ceil((len(sizes) + 1) / 4))
    # Rule 4 lets a client through among *many other people*: those one can recognise must be many too,
    # not a small group in front of a distant background crowd.
    others = sum(1 for f, s in zip(faces, statuses)
                 if f.identifiable and f.score >= settings.crowd_face_score and s.status != "client")
    few_recognisable = others + 1 < settings.crowd_min_faces
    for i, s in enumerate(statuses):
        if s.status != "client" and s.status not in NEEDS_CONSENT:
            continue
        h = faces[i].publish_height_px
        prominent = h >= settings.crowd_prominent_ratio * typical or (
            s.status == "client" and (sum(1 for x in sizes if x > h) < top_rank or few_recognisable))
        if not prominent and event == "unknown" and s.status in ("client", "no_consent"):
            statuses[i] = FaceStatus("client_in_crowd" if s.status == "client" else s.status, s.person)
            continue
        statuses[i] = FaceStatus(s.status, s.person, crowd_exempt=not prominent, prominent=prominent)
    reasons = []
    few_clients = tuple(clients) if few_recognisable else ()
    if few_clients:
        reasons.append(Reason("crowd_few_recognisable", "4", messages.render(
            "crowd_few_recognisable", lang, faces=messages.faces_label(few_clients, lang), k=others + 1),
            few_clients, "info"))
    prominent_faces = tuple(i for i, s in enumerate(statuses) if s.prominent and i not in few_clients)
    if prominent_faces:
        reasons.append(Reason("crowd_prominent", "4", messages.render(
            "crowd_prominent", lang, faces=messages.faces_label(prominent_faces, lang)), prominent_faces, "info"))
    if event == "unknown":
        reasons.append(Reason("crowd_unknown_event", "4", messages.render("crowd_unknown_event", lang, n=n), (),
                              "info"))
    # the crowd message says no client stands out, so it must not accompany one who does
    elif not any(statuses[i].prominent for i in clients):
        reasons.append(Reason("crowd", "4", messages.render("crowd", lang, n=n, clients=len(clients)), (), "info"))
    return True, reasons


def _face_reasons(faces, statuses, channel: str, lang: str) -> list[Reason]:
    """One reason per (status, person) group, naming the faces concerned."""
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(statuses):
        if s.status == "not_identifiable" or s.crowd_exempt:
            continue
        key = (s.status, s.person.name if s.person else None)
        groups.setdefault(key, []).append(i)
    out = []
    for (status, name), idx in groups.items():
        s = statuses[idx[0]]
        label = messages.faces_label(idx, lang)
        consent = faces[idx[0]].consents.get(name) if name else None
        if status == "client":
            if s.person and faces[idx[0]].match and faces[idx[0]].match.identified and \
                    faces[idx[0]].match.identified.name == name:
                detail = _consent_detail(consent, channel, lang, client=True)
                msg = messages.render("client_blocked", lang, faces=label, name=name, detail=detail)
            else:
                msg = messages.render("possible_client", lang, faces=label, name=name, distance=s.person.distance)
            out.append(Reason("client", "6", msg, tuple(idx), "block"))
        elif status == "client_in_crowd":
            msg = messages.render("client_in_crowd", lang, faces=label, name=name)
            out.append(Reason("client_in_crowd", "4", msg, tuple(idx), "consent"))
        elif status == "client_consented":
            msg = messages.render("client_consented", lang, faces=label, name=name, channel=channel,
                                  evidence=(consent.evidence if consent and consent.evidence else "-"))
            out.append(Reason("client_consented", "4", msg, tuple(idx), "info"))
        elif status == "consented":
            msg = messages.render("consented", lang, faces=label, name=name,
                                  role=messages.role_text(s.person.role, lang), channel=channel)
            out.append(Reason("consented", "4", msg, tuple(idx), "info"))
        elif status == "no_consent":
            detail = _consent_detail(consent, channel, lang)
            msg = messages.render("no_consent", lang, faces=label, name=name,
                                  role=messages.role_text(s.person.role, lang), detail=detail)
            out.append(Reason("no_consent", "4", msg, tuple(idx), "consent"))
        elif status == "confirm":
            out.append(Reason("confirm", "4", _confirm_text(faces[idx[0]].match, label, channel, lang), tuple(idx),
                              "consent"))
        elif status == "uncertain":
            msg = messages.render("uncertain", lang, faces=label, name=s.person.name if s.person else "?",
                                  distance=s.person.distance if s.person else float("nan"))
            out.append(Reason("uncertain", "4", msg, tuple(idx), "consent"))
        else:  # unknown, unmatchable
            out.append(Reason(status, "4", messages.render(status, lang, faces=label), tuple(idx), "consent"))
    return out


def _confirm_text(match: Match, label: str, channel: str, lang: str) -> str:
    people = match.candidates
    if len(people) == 1:
        c = people[0]
        return messages.render("confirm", lang, faces=label, name=c.name, role=c.role, distance=c.distance,
                               channel=channel)
    names = messages.join_or([f"{c.name} ({c.role})" for c in people], lang)
    return messages.render("confirm_many", lang, faces=label, names=names, channel=channel)


def _consent_detail(consent: ConsentStatus | None, channel: str, lang: str, client: bool = False) -> str:
    if consent is None:
        return messages.state_text("none", lang)
    if consent.state == "valid" and client and not consent.risks_explained:
        return messages.render("client_no_risks", lang)
    return messages.state_text(consent.state, lang, channel=channel, until=consent.valid_until or "?",
                               start=consent.valid_from or "?")
