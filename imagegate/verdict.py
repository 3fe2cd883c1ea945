"""Result types: what a check returns, for libraries (dataclasses) and machines (to_dict)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .detect import Face
from .match import Match
from .measure import Measurement
from .policy import FaceStatus, Reason
from .register import ConsentStatus


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

    @property
    def allowed(self) -> bool:
        return self.decision == "allowed"

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "sha256": self.sha256,
            "decision": self.decision,
            "channel": self.channel,
            "reasons": [r.to_dict() for r in self.reasons],
            "faces": [f.to_dict() for f in self.faces],
            "width": self.width,
            "height": self.height,
            "crowd": self.crowd,
            "checked_on": self.checked_on,
            "lang": self.lang,
            "versions": self.versions,
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
