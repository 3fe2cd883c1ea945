"""The types that flow between the stages, from a detected face to a photo's verdict.

image -> Face -> Measurement -> Match (Candidate, ConsentStatus) -> FaceStatus, Reason -> FaceReport, Verdict

Frozen dataclasses with `to_dict()`; the bottom of the package next to `codes`,
importing nothing else of imagegate, so a stage can hand its result on without
pulling in the stage that made it (policy needs no detector, verdicts no model).
Reasons carry codes and parameters, never words: `imagegate.words` renders
them in Finnish or English at the edges (`imagegate.report(verdict, lang)` is
the JSON people and tools read, with a `message` in words for every reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .codes import (
    EMBEDDED_KINDS,
    NEEDS_CONSENT,
    Category,
    ConsentState,
    Decision,
    FaceStatusCode,
    MatchLevel,
    ReasonCode,
    Role,
    Rule,
    Severity,
    ViewKind,
)

# -- people in the register, as matching sees them ---------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: Role
    note: str | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "role": self.role, "note": self.note}


@dataclass(frozen=True)
class Gallery:
    """All templates of one model, loaded once for matching."""

    person_ids: np.ndarray
    vectors: np.ndarray = field(repr=False)
    people: dict[int, Person]

    def __repr__(self) -> str:
        return f"Gallery(people={len(self.people)}, templates={len(self.person_ids)})"

    def __len__(self) -> int:
        return len(self.person_ids)


# -- a face and how identifiable it is ------------------------------------------------------------------


@dataclass(frozen=True)
class Face:
    """One detected face. Coordinates are pixels of the orientation-corrected image."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[tuple[float, float], ...] = field(default=())
    source: str = "centerface"
    #: quarter turns counter-clockwise (np.rot90's k) that make the face upright
    rotation: int = 0

    @property
    def height(self) -> float:
        """The face's own height, whichever way it is turned: the box's longer side. A face is taller than
        wide, so a face lying on its side has a box wider than tall; the box's height alone would judge a
        face turned 90 degrees by its width. Under any other roll the longer side is at least the height."""
        return max(self.box[2], self.box[3])

    def to_dict(self) -> dict:
        return {
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 3),
            "landmarks": [[round(x, 1), round(y, 1)] for x, y in self.landmarks],
            "source": self.source,
            "rotation": self.rotation * 90,
        }


@dataclass(frozen=True)
class Measurement:
    height_px: float          # the face's own height (Face.height) in the photo's (orientation-corrected) pixels
    publish_height_px: float  # the same face after scaling the photo to the publish size
    identifiable: bool        # publish_height_px >= identifiable_px
    matchable: bool           # large enough in the original for a reliable embedding

    def to_dict(self) -> dict:
        return {
            "height_px": round(self.height_px, 1),
            "publish_height_px": round(self.publish_height_px, 1),
            "identifiable": self.identifiable,
            "matchable": self.matchable,
        }


# -- who a face may be, and whether they may be shown ------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    name: str
    role: Role
    distance: float

    def to_dict(self) -> dict:
        return {"name": self.name, "role": self.role, "distance": round(self.distance, 4)}


@dataclass(frozen=True)
class Match:
    """Who a face may be. `identified` is the strict, unambiguous match, if any."""

    nearest: Candidate | None
    candidates: tuple[Candidate, ...]  # every person within the loose threshold, nearest first
    identified: Candidate | None
    ambiguous: bool

    @property
    def level(self) -> MatchLevel:
        if self.identified:
            return MatchLevel.STRICT
        if self.candidates:
            return MatchLevel.LOOSE
        return MatchLevel.NONE

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "nearest": self.nearest.to_dict() if self.nearest else None,
            "candidates": [c.to_dict() for c in self.candidates],
            "identified": self.identified.to_dict() if self.identified else None,
            "ambiguous": self.ambiguous,
        }


NO_MATCH = Match(nearest=None, candidates=(), identified=None, ambiguous=False)


@dataclass(frozen=True)
class ConsentStatus:
    """Whether a person may be shown on a channel on a given day, and why (not)."""

    channel: str
    state: ConsentState
    risks_explained: bool = False
    valid_until: str | None = None
    evidence: str | None = None
    valid_from: str | None = None

    @property
    def valid(self) -> bool:
        return self.state == ConsentState.VALID

    def to_dict(self) -> dict:
        return dict(self.__dict__)


# -- other pictures a viewer may see -----------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """A picture a viewer may see that differs materially from the one checked first."""

    kind: ViewKind
    rgb: np.ndarray = field(repr=False)
    number: int = 0  # which embedded picture (1-based) for mpf_image / xmp_image / heif_thumbnail

    @property
    def embedded(self) -> bool:
        return self.kind in EMBEDDED_KINDS

    def to_dict(self) -> dict:
        return {"kind": self.kind, "number": self.number, "width": int(self.rgb.shape[1]),
                "height": int(self.rgb.shape[0])}


@dataclass(frozen=True)
class Caution:
    """Something a viewer may see that the gate could not render: the photo is at best needs consent."""

    code: ReasonCode  # profile_unapplied | embedded_over_cap | embedded_unreadable | bmp_decoders_differ
    count: int = 0

    def to_dict(self) -> dict:
        return {"code": self.code, "count": self.count}


# -- the policy's judgement --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a verdict is what it is: a code, the rule it cites, and language-neutral parameters.

    `faces` are 0-based indices into the photo's faces. `inner` is set on a reason about another
    rendering or an embedded picture's own faces: that picture's reason, numbered in its own pixels."""

    code: ReasonCode | FaceStatusCode  # a face's reason is coded by its status
    rule: Rule | None = None
    severity: Severity = Severity.INFO
    faces: tuple[int, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)
    inner: Reason | None = None

    def to_dict(self) -> dict:
        """The reason as codes and parameters; `imagegate.words.report` adds its `message` in words."""
        out = {"code": self.code, "rule": self.rule, "severity": self.severity,
               "faces": [i + 1 for i in self.faces], "params": _plain(self.params)}
        if self.inner is not None:
            out["inner"] = self.inner.to_dict()
        return out


_ORDER = {Severity.BLOCK: 0, Severity.CONSENT: 1}


def order_reasons(reasons) -> tuple[Reason, ...]:
    """Blocking reasons first, then those asking for consent, the rest in their order."""
    return tuple(sorted(reasons, key=lambda r: _ORDER.get(r.severity, 2)))


def _plain(params: Mapping[str, Any]) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}


@dataclass(frozen=True)
class FaceStatus:
    status: FaceStatusCode
    person: Candidate | None = None
    crowd_exempt: bool = False
    prominent: bool = False

    @property
    def category(self) -> Category:
        """What the face means on a preview."""
        if self.crowd_exempt:
            return Category.CROWD
        if self.status in (FaceStatusCode.CLIENT, FaceStatusCode.CLIENT_IN_CROWD):
            return Category.CLIENT
        if self.status in NEEDS_CONSENT:
            return Category.NEEDS_CONSENT
        if self.status in (FaceStatusCode.CONSENTED, FaceStatusCode.CLIENT_CONSENTED):
            return Category.CONSENTED
        return Category.NOT_IDENTIFIABLE

    def to_dict(self) -> dict:
        return {"status": self.status, "category": self.category, "crowd_exempt": self.crowd_exempt,
                "prominent": self.prominent, "person": self.person.to_dict() if self.person else None}


@dataclass(frozen=True)
class PolicyResult:
    decision: Decision
    reasons: tuple[Reason, ...]
    faces: tuple[FaceStatus, ...]
    crowd: bool = False


# -- what a check returns ----------------------------------------------------------------------------------


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
                            if best else {"level": MatchLevel.NONE,
                                          "nearest_distance": round(self.match.nearest.distance, 4)})
        else:
            out["match"] = None
        out["consent"] = self.consent.to_dict() if self.consent else None
        return out


@dataclass(frozen=True)
class ViewReport:
    """How another rendering of the photo, or a picture embedded in its file, was judged."""

    view: View
    decision: Decision
    reasons: tuple[Reason, ...]
    faces: tuple[FaceReport, ...]

    def to_dict(self) -> dict:
        return {**self.view.to_dict(), "decision": self.decision, "faces": [f.to_dict() for f in self.faces]}


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one photo for one channel."""

    file: str
    sha256: str
    decision: Decision  # allowed | needs_consent | blocked
    reasons: tuple[Reason, ...]
    faces: tuple[FaceReport, ...]
    channel: str
    width: int
    height: int
    crowd: bool = False
    checked_on: str = ""
    versions: dict = field(default_factory=dict)
    #: other renderings and embedded pictures that differed from the photo, each judged on its own
    views: tuple[ViewReport, ...] = ()
    #: the event context the crowd exception was judged in: public / private / unknown
    event: str = "unknown"

    @property
    def allowed(self) -> bool:
        return self.decision == Decision.ALLOWED

    def to_dict(self) -> dict:
        """The verdict as codes; `imagegate.report(verdict, lang)` gives it with every reason in words."""
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
            "versions": self.versions,
            "views": [v.to_dict() for v in self.views],
        }


@dataclass(frozen=True)
class Failure:
    """A photo that could not be checked. Never counts as allowed."""

    file: str
    error: Exception
    decision: Decision = Decision.ERROR
    #: of the bytes that could not be checked, where they were read (the watcher sorts by it)
    sha256: str | None = None

    @property
    def allowed(self) -> bool:
        return False

    def to_dict(self) -> dict:
        to_dict = getattr(self.error, "to_dict", None)  # an ImagegateError says what kind it is
        if callable(to_dict):
            err = to_dict()
        else:  # only the type: an unexpected exception's text can carry pixels, embeddings or names
            err = {"kind": "internal_error", "message": f"internal error ({type(self.error).__name__})"}
        return {"file": self.file, "sha256": self.sha256, "decision": Decision.ERROR, "reasons": [], "faces": [],
                "error": err}
