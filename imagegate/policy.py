"""Rules 4 and 6 as a pure function: facts about faces in, a verdict out.

No IO, no models, no clock: everything the decision depends on is in the
arguments, so it can be tested exhaustively (tests/test_policy*.py).

Per identifiable face:
  client candidate within the loose threshold ........ client (blocks, rule 6)
    unless strictly and unambiguously identified as that client, whose consent
    for the channel is valid with the risks explained ... client_consented (rule 4)
  strictly identified non-client with valid consent ... consented
  strictly identified non-client without ............. no_consent (needs consent, rule 4)
  only loose / ambiguous match ........................ uncertain (needs consent)
  no match ........................................... unknown (needs consent)
  too small or blurred to match ...................... unmatchable (needs consent: fail closed)
Faces below the identifiability threshold need nothing.

Crowd exception (rule 4): with at least `crowd_min_faces` faces, clients few
(share <= `crowd_max_client_share`) and none prominent (among the
`crowd_prominent_top` largest or >= `crowd_prominent_ratio` x the median face),
clients and unidentified people are covered by the public-event exception.
A prominent face (by the ratio) is never covered.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from . import messages
from .match import Candidate, Match
from .register import ConsentStatus

DECISIONS = ("allowed", "needs_consent", "blocked")
NEEDS_CONSENT = frozenset({"no_consent", "uncertain", "unknown", "unmatchable"})


@dataclass(frozen=True)
class PolicySettings:
    crowd_min_faces: int = 10
    crowd_max_client_share: float = 0.2
    crowd_prominent_top: int = 3
    crowd_prominent_ratio: float = 2.0
    identifiable_px: float = 30.0

    @classmethod
    def from_settings(cls, s) -> "PolicySettings":
        return cls(crowd_min_faces=s.crowd_min_faces, crowd_max_client_share=s.crowd_max_client_share,
                   crowd_prominent_top=s.crowd_prominent_top, crowd_prominent_ratio=s.crowd_prominent_ratio,
                   identifiable_px=s.identifiable_px)


@dataclass(frozen=True)
class FaceFacts:
    """What the policy needs to know about one face."""

    publish_height_px: float
    identifiable: bool
    matchable: bool = True
    match: Match | None = None
    #: consent status for the channel of every person named in `match`
    consents: Mapping[str, ConsentStatus] = field(default_factory=dict)


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
    status: str  # client | client_consented | consented | no_consent | uncertain | unknown | unmatchable | not_identifiable
    person: Candidate | None = None
    crowd_exempt: bool = False
    prominent: bool = False

    @property
    def category(self) -> str:
        """What the face means on a preview: client, needs_consent, consented, not_identifiable, crowd."""
        if self.crowd_exempt:
            return "crowd"
        if self.status == "client":
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


def _classify(f: FaceFacts) -> FaceStatus:
    if not f.identifiable:
        return FaceStatus("not_identifiable")
    if not f.matchable or f.match is None:
        return FaceStatus("unmatchable")
    m = f.match
    clients = [c for c in m.candidates if c.role == "client"]
    if clients:
        only = clients[0]
        if len(clients) == 1 and m.identified is not None and m.identified.name == only.name:
            st = f.consents.get(only.name)
            if st is not None and st.valid and st.risks_explained:
                return FaceStatus("client_consented", only)
        return FaceStatus("client", only)
    if m.identified is not None:
        st = f.consents.get(m.identified.name)
        if st is None or not st.valid:
            return FaceStatus("no_consent", m.identified)
        # Another person within the loose threshold (a sibling, a look-alike) may be who this is:
        # the consent counts only if theirs would too.
        for other in m.candidates:
            if other.name != m.identified.name and not (f.consents.get(other.name) and f.consents[other.name].valid):
                return FaceStatus("uncertain", m.identified)
        return FaceStatus("consented", m.identified)
    if m.candidates or m.ambiguous:
        return FaceStatus("uncertain", m.candidates[0] if m.candidates else m.nearest)
    return FaceStatus("unknown")


def decide(faces: Sequence[FaceFacts], settings: PolicySettings = PolicySettings(), *,
           channel: str, lang: str = "en", frames: int = 1, register_empty: bool = False) -> PolicyResult:
    """The verdict for one photo's faces. `register_empty`: nobody is enrolled (no register found, or
    an empty one), so a client would pass as an unknown face: the crowd exception is then off."""
    statuses = [_classify(f) for f in faces]
    n = len(faces)
    heights = [f.publish_height_px for f in faces if f.identifiable]
    # Rule 4 lets a client through among *many other people*: the faces one can recognise must be
    # many too, not a small group in front of a distant background crowd.
    few_recognisable = len(heights) < settings.crowd_min_faces
    crowd = False
    crowd_reasons: list[Reason] = []
    if n >= settings.crowd_min_faces and heights and register_empty:
        crowd_reasons.append(Reason("crowd_no_register", "4", messages.render("crowd_no_register", lang), (), "info"))
    elif n >= settings.crowd_min_faces and heights:
        median = statistics.median(heights)
        ranked = sorted(heights, reverse=True)
        top_cut = ranked[min(settings.crowd_prominent_top, len(ranked)) - 1]
        clients = [i for i, s in enumerate(statuses) if s.status == "client"]
        few = len(clients) <= settings.crowd_max_client_share * n
        if few:
            crowd = True
            for i, s in enumerate(statuses):
                if s.status != "client" and s.status not in NEEDS_CONSENT:
                    continue
                h = faces[i].publish_height_px
                big = h >= settings.crowd_prominent_ratio * median
                prominent = big or (s.status == "client" and (h >= top_cut or few_recognisable))
                statuses[i] = FaceStatus(s.status, s.person, crowd_exempt=not prominent, prominent=prominent)
            few_clients = tuple(clients) if few_recognisable else ()
            if few_clients:
                crowd_reasons.append(Reason(
                    "crowd_few_recognisable", "4", messages.render(
                        "crowd_few_recognisable", lang, faces=messages.faces_label(few_clients, lang),
                        k=len(heights)), few_clients, "info"))
            prominent_faces = tuple(i for i, s in enumerate(statuses) if s.prominent and i not in few_clients)
            if prominent_faces:
                crowd_reasons.append(Reason(
                    "crowd_prominent", "4", messages.render(
                        "crowd_prominent", lang, faces=messages.faces_label(prominent_faces, lang)),
                    prominent_faces, "info"))
            # the crowd message says no client stands out, so it must not accompany one who does
            if not any(statuses[i].prominent for i in clients):
                crowd_reasons.append(Reason("crowd", "4", messages.render("crowd", lang, n=n, clients=len(clients)),
                                            (), "info"))
        else:
            crowd_reasons.append(Reason("crowd_many_clients", "4", messages.render(
                "crowd_many_clients", lang, clients=len(clients), n=n), (), "info"))

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
        elif status == "uncertain":
            msg = messages.render("uncertain", lang, faces=label, name=s.person.name if s.person else "?",
                                  distance=s.person.distance if s.person else float("nan"))
            out.append(Reason("uncertain", "4", msg, tuple(idx), "consent"))
        else:  # unknown, unmatchable
            out.append(Reason(status, "4", messages.render(status, lang, faces=label), tuple(idx), "consent"))
    return out


def _consent_detail(consent: ConsentStatus | None, channel: str, lang: str, client: bool = False) -> str:
    if consent is None:
        return messages.state_text("none", lang)
    if consent.state == "valid" and client and not consent.risks_explained:
        return messages.render("client_no_risks", lang)
    return messages.state_text(consent.state, lang, channel=channel, until=consent.valid_until or "?")
