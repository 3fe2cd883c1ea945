"""Result types: what a check returns, for libraries (dataclasses) and machines (to_dict)."""

from __future__ import annotations

from dataclasses import dataclass, field

from . import messages
from .detect import Face
from .match import Match
from .measure import Measurement
from .policy import DECISIONS, FaceStatus, Reason
from .register import ConsentStatus
from .views import Caution, View


@dataclass(frozen=True)
class FaceReport:
    index: int
    face: Face
    measurement: Measurement
    status: FaceStatus
    match: Match | None = None
    consent: ConsentStatus | None = None

    @property
    def box(self):
        return self.face.box

    @property
    def identifiable(self) -> bool:
        return self.measurement.identifiable

    def to_dict(self) -> dict:
        out = {
            "index": self.index + 1,
            "box": [round(v, 1) for v in self.face.box],
            "score": round(self.face.score, 3),
            **self.measurement.to_dict(),
            **self.status.to_dict(),
        }
        if self.match is not None and self.match.nearest is not None:
            best = self.match.identified or (self.match.candidates[0] if self.match.candidates else None)
            out["match"] = ({"name": best.name, "role": best.role, "distance": round(best.distance, 4),
                             "level": self.match.level, "ambiguous": self.match.ambiguous}
                            if best else {"level": "none", "nearest_distance": round(self.match.nearest.distance, 4)})
        else:
            out["match"] = None
        out["consent"] = self.consent.to_dict() if self.consent else None
        return out


@dataclass(frozen=True)
class ViewReport:
    """How another rendering of the photo, or a picture embedded in its file, was judged."""

    view: View
    decision: str
    reasons: tuple[Reason, ...]
    faces: tuple[FaceReport, ...]

    def to_dict(self) -> dict:
        return {**self.view.to_dict(), "decision": self.decision, "faces": [f.to_dict() for f in self.faces]}


def worst(decisions) -> str:
    return max(decisions, key=DECISIONS.index)


_SEVERITY = {"blocked": "block", "needs_consent": "consent", "allowed": "info"}
_ORDER = {"block": 0, "consent": 1}


def order_reasons(reasons) -> tuple[Reason, ...]:
    """Blocking reasons first, then those asking for consent, the rest in their order."""
    return tuple(sorted(reasons, key=lambda r: _ORDER.get(r.severity, 2)))


def views_reasons(views, cautions: tuple[Caution, ...], lang: str, faces=()) -> tuple[Reason, ...]:
    """Why other renderings and embedded pictures were checked, what they showed, and what could not be.
    A view's reason about people the photo's own `faces` already account for is not repeated."""
    known = {_who(f) for f in faces}
    out = []
    for v in views:
        code = "embedded_checked" if v.view.embedded else "rendering_checked"
        out.append(Reason(code, None, messages.render(
            code, lang, what=messages.view_text(v.view.kind, lang, n=v.view.number),
            decision=messages.decision_text(v.decision, lang)), (), _SEVERITY[v.decision]))
        title = messages.view_text(v.view.kind, lang, n=v.view.number, title=True)
        # the view's own faces are numbered in its pixels, not the photo's: named in the text only
        out += [Reason(r.code, r.rule, f"{title}: {r.message}", (), r.severity)
                for r in v.reasons if r.severity in ("block", "consent")
                and not (r.faces and {_who(v.faces[i]) for i in r.faces} <= known)]
    for c in cautions:
        out.append(Reason(c.code, None, messages.render(c.code, lang, count=c.count, cap=_cap()), (), "consent"))
    return tuple(out)


def _who(face: FaceReport) -> tuple[str, str | None]:
    return face.status.status, face.status.person.name if face.status.person else None


def _cap() -> int:
    from .views import MAX_EMBEDDED_IMAGES

    return MAX_EMBEDDED_IMAGES


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one photo for one channel."""

    file: str
    sha256: str
    decision: str  # allowed | needs_consent | blocked
    reasons: tuple[Reason, ...]
    faces: tuple[FaceReport, ...]
    channel: str
    width: int
    height: int
    crowd: bool = False
    lang: str = "en"
    checked_on: str = ""
    versions: dict = field(default_factory=dict)
    #: other renderings and embedded pictures that differed from the photo, each judged on its own
    views: tuple[ViewReport, ...] = ()
    #: the event context the crowd exception was judged in: public / private / unknown
    event: str = "unknown"

    @property
    def allowed(self) -> bool:
        return self.decision == "allowed"

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "decision": self.decision,
            "channel": self.channel,
            "event": self.event,
            "reasons": [r.to_dict() for r in self.reasons],
            "faces": [f.to_dict() for f in self.faces],
            "width": self.width,
            "height": self.height,
            "crowd": self.crowd,
            "checked_on": self.checked_on,
            "lang": self.lang,
            "versions": self.versions,
            "views": [v.to_dict() for v in self.views],
        }


@dataclass(frozen=True)
class Failure:
    """A photo that could not be checked. Never counts as allowed."""

    file: str
    error: Exception
    decision: str = "error"

    @property
    def allowed(self) -> bool:
        return False

    def to_dict(self) -> dict:
        from .errors import ImagegateError

        if isinstance(self.error, ImagegateError):
            err = self.error.to_dict()
        else:
            err = {"kind": "internal_error", "message": f"{type(self.error).__name__}: {self.error}"}
        return {"file": self.file, "sha256": None, "decision": "error", "reasons": [], "faces": [], "error": err}
