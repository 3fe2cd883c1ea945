"""The pipeline: image -> faces -> measurements -> matches -> policy -> Verdict.

`Gate` loads models once and opens the register once, for many checks. The
library never prints: results are returned, problems raised as ImagegateError.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from importlib.metadata import PackageNotFoundError, version

from .channels import normalise_channel
from .codes import Decision, Role, worst
from .config import Settings, load_settings
from .errors import ImageLoadError, RegisterError, fail_closed
from .image.loader import ImageInput, LoadedImage, describe, load_image
from .image.metadata import reasons as metadata_reasons
from .image.views import MAX_EMBEDDED_IMAGES
from .policy.rules import FaceFacts, PolicySettings, decide, may_be_shown, normalise_event
from .policy.verdict import order_reasons, views_reasons
from .register.location import RegisterLocation, locate_register
from .register.store import Register
from .results import NO_MATCH, Face, FaceReport, Failure, Gallery, Match, Measurement, Verdict, ViewReport
from .vision.detect import FaceDetector
from .vision.embed import FaceEmbedder
from .vision.match import match_faces
from .vision.measure import measure, publish_scale


@dataclass(frozen=True)
class Analysis:
    """Faces found in one photo and how identifiable each is (no identities)."""

    image: LoadedImage
    faces: tuple[Face, ...]
    measurements: tuple[Measurement, ...]

    def to_dict(self) -> dict:
        return {
            **self.image.to_dict(),
            "faces": [{**f.to_dict(), **m.to_dict()} for f, m in zip(self.faces, self.measurements, strict=False)],
        }


#: faces up to this many times a size threshold are measured upright (FaceDetector.detect's settle_below)
SETTLE_ABOVE = 2.0


def _package_version() -> str:
    try:
        return version("imagegate")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


class Gate:
    """Checks photos against the consent register. Reuse one Gate for many photos.

    A verdict is codes; words are chosen where people read them (`imagegate.report(verdict, lang)`)."""

    def __init__(self, *, register: Register | RegisterLocation | str | os.PathLike | None = None,
                 settings: Settings | None = None, config: str | os.PathLike | None = None,
                 detector: FaceDetector | None = None,
                 embedder: FaceEmbedder | None = None) -> None:
        self.settings = settings if settings is not None else load_settings(config)
        self._detector = detector
        self._owns_detector = False  # a detector passed in is the caller's to close
        self._embedder = embedder
        # chosen once, here: a later change of IMAGEGATE_REGISTER never moves a gate to another register
        self._location = None if isinstance(register, Register) else locate_register(register)
        self._register: Register | None = register if isinstance(register, Register) else None
        self._owns_register = False
        self._gallery: Gallery | None = None
        self._gallery_generation: tuple[int, int] | None = None
        self._file_stamp: tuple | None = None  # of the register file when last read (see _current_register)

    # -- lazily loaded parts (a `faces` run never opens the register) -----------------

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            self._detector = FaceDetector(self.settings.detector)
            self._owns_detector = True
        return self._detector

    @property
    def embedder(self) -> FaceEmbedder:
        if self._embedder is None:
            self._embedder = FaceEmbedder()
        return self._embedder

    @property
    def register_location(self) -> RegisterLocation | None:
        """Where this gate's register is and who chose it (None for a Register object passed in)."""
        return self._location

    @property
    def register(self) -> Register:
        if self._register is None:
            loc = self._location
            assert loc is not None  # only a gate given a Register object has no location, and it has one
            if loc.named:
                # named on purpose: a typo or a missing share must not read as "nobody is a client"
                self._register = Register(loc.path, create=False)
            else:
                # Zero configuration: no register yet means nobody is enrolled, so every
                # identifiable face is unknown (needs consent) and the crowd exception is off
                # (a client could not be told from the crowd) - never silently allowed.
                self._register = Register(loc.path) if loc.path.exists() else Register(":memory:")
            self._owns_register = True
        return self._register

    def gallery(self):
        """The register's templates, read again whenever the register has changed since (an
        enrolment, a forget, a restore, by this or another process), so a long-lived Gate (the
        watcher's workers, a posting tool) never judges with people who are no longer so."""
        reg = self._current_register()
        generation = reg.generation()
        if self._gallery is None or generation != self._gallery_generation:
            self._gallery = reg.gallery(FaceEmbedder.model_id)
            self._gallery_generation = generation
        return self._gallery

    def _current_register(self) -> Register:
        reg = self.register
        loc = self._location
        first_enrolment = loc is not None and not loc.named and reg.in_memory and loc.path.exists()
        stamp = reg.file_stamp()
        # a file the gate opened itself is simply opened again when it was rewritten behind SQLite's
        # back (a backup copied over it in place); cheap, and only after the file changed
        rewritten = self._owns_register and self._file_stamp is not None and stamp != self._file_stamp
        if reg.replaced() or first_enrolment or rewritten:
            if not self._owns_register:
                raise RegisterError(f"the register file {reg.path} was replaced since this Register opened it",
                                    hint="open the register again")
            # restored from a backup by copy, replaced by a sync tool, or created by a first enrolment
            reg.close()
            self._register = None
            self._gallery = None
            reg = self.register
            stamp = reg.file_stamp()
        self._file_stamp = stamp
        return reg

    def reload_register(self) -> None:
        """Forget cached templates (kept for callers; changes are now noticed by themselves)."""
        self._gallery = None

    def versions(self) -> dict:
        return {"imagegate": _package_version(), "models": dict(getattr(self._detector, "model_ids", {}))}

    def close(self) -> None:
        if self._owns_detector and self._detector is not None:
            self._detector.close()
        if self._owns_register and self._register is not None:
            self._register.close()
            self._register = None

    def __enter__(self) -> Gate:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- pipeline ----------------------------------------------------------------------

    def analyse(self, image: ImageInput | LoadedImage, *, channel: str | None = None) -> Analysis:
        """Faces and their measurements; identifiability at the largest size `channel` shows the photo at
        (fitted into `Settings.publish_side`, or cut by one of `Settings.publish_crops`; without a channel,
        fitted into `publish_long_side`)."""
        img = image if isinstance(image, LoadedImage) else load_image(image, self.settings.limits)
        s = self.settings
        ch = normalise_channel(channel) if channel else None
        side, crops = s.publish_side(ch), s.publish_crops(ch)
        scale = publish_scale(img.width, img.height, side, crops)
        # Faces identifiable as shown must be findable: analyse at least at the size the channel shows,
        # whichever of its displays shows the photo largest (a strip Instagram crops: at full resolution).
        long_side = max(img.width, img.height)
        analysis_side = max(s.detector.analysis_long_side, side or long_side, round(scale * long_side))
        # A face's size near a threshold (identifiable as published, matchable) decides the verdict:
        # measured upright, so the verdict does not depend on which way the photo is turned.
        near = SETTLE_ABOVE * max(s.identifiable_px / scale, s.min_match_px)
        faces = tuple(self.detector.detect(img.rgb, analysis_long_side=analysis_side, settle_below=near))
        if len(faces) > self.settings.max_faces:
            raise ImageLoadError.coded("too_many_faces", source=img.source, faces=len(faces),
                                       limit=self.settings.max_faces)
        ms = tuple(measure(f, img.width, img.height, publish_long_side=side, crops=crops,
                           identifiable_px=s.identifiable_px, min_match_px=s.min_match_px) for f in faces)
        return Analysis(image=img, faces=faces, measurements=ms)

    def check(self, image: ImageInput | LoadedImage, *, channel: str, on: dt.date | None = None,
              event: str | None = None) -> Verdict:
        """`event`: public / private / unknown (plain strings; default: the `event` setting, unknown)."""
        channel = normalise_channel(channel)
        event = normalise_event(self.settings.event if event is None else event)
        day = on or dt.date.today()
        img = image if isinstance(image, LoadedImage) else load_image(image, self.settings.limits)
        # MPF images looked at are not "unchecked frames"; GIF frames and TIFF pages still are
        frames = img.frames if img.frames > img.frames_checked else 1
        result, reports = self._judge(img, channel, day, frames, event)
        views = []
        for view in img.views:
            # a view is judged like the photo; its faces are in its own pixels
            shown = dataclasses.replace(img, rgb=view.rgb, views=(), cautions=(), frames=1, frames_checked=1)
            v_result, v_reports = self._judge(shown, channel, day, 1, event)
            views.append(ViewReport(view=view, decision=v_result.decision, reasons=v_result.reasons,
                                    faces=tuple(v_reports)))
        decision = worst([result.decision] + [v.decision for v in views]
                         + [Decision.NEEDS_CONSENT for _ in img.cautions])
        extra = views_reasons(views, img.cautions, reports, cap=MAX_EMBEDDED_IMAGES)
        # metadata warnings (GPS, people tags) inform but never change the decision
        reasons = order_reasons(result.reasons + extra) + metadata_reasons(img.metadata)
        return Verdict(file=img.source, sha256=img.sha256, decision=decision, reasons=reasons,
                       faces=tuple(reports), channel=channel, width=img.width, height=img.height,
                       crowd=result.crowd, checked_on=day.isoformat(), versions=self.versions(),
                       views=tuple(views), event=event)

    def _judge(self, img: LoadedImage, channel: str, day: dt.date, frames: int, event: str):
        """The policy's result and the face reports for one rendering of a photo."""
        analysis = self.analyse(img, channel=channel)
        needed = [i for i, m in enumerate(analysis.measurements) if m.identifiable and m.matchable]
        gallery = self.gallery()
        matches: dict[int, Match] = {}
        if needed:
            if len(gallery):
                vecs = self.embedder.embed(img.rgb, [analysis.faces[i].box for i in needed],
                                           [analysis.faces[i].rotation for i in needed])
                for i, m in zip(needed, match_faces(vecs, gallery, strict=self.settings.match_strict,
                                                    loose=self.settings.match_loose), strict=False):
                    matches[i] = m
            else:  # an empty register: nobody can match, no need to embed
                matches = {i: NO_MATCH for i in needed}
        facts, consent_of = [], {}
        for i, (f, ms) in enumerate(zip(analysis.faces, analysis.measurements, strict=True)):
            match = matches.get(i)
            consents = {}
            if match is not None:
                names = {c.name for c in match.candidates}
                if match.identified:
                    names.add(match.identified.name)
                for name in names:
                    person = next(p for p in gallery.people.values() if p.name == name)
                    consents[name] = self.register.consent_status(person, channel, day)
            facts.append(FaceFacts(publish_height_px=ms.publish_height_px, identifiable=ms.identifiable,
                                   matchable=ms.matchable, match=match, consents=consents, score=f.score))
            consent_of[i] = consents
        # asked of the register only when a face was too small to compare: the policy needs it for no other
        unchecked = any(m.identifiable and not m.matchable for m in analysis.measurements)
        result = decide(facts, PolicySettings.from_settings(self.settings), channel=channel, frames=frames,
                        register_empty=len(gallery) == 0, event=event,
                        clients_at_risk=self._clients_at_risk(gallery, channel, day) if unchecked else 0)
        reports = []
        for i, (f, ms, st) in enumerate(zip(analysis.faces, analysis.measurements, result.faces, strict=True)):
            consent = consent_of[i].get(st.person.name) if st.person else None
            reports.append(FaceReport(index=i, face=f, measurement=ms, status=st, match=matches.get(i),
                                      consent=consent))
        return result, reports

    def _clients_at_risk(self, gallery: Gallery, channel: str, day: dt.date) -> int:
        """How many registered clients may not be shown on `channel` on `day` (no valid consent with the
        risks explained): a face too small to compare with the register may be any one of them."""
        return sum(not may_be_shown(p.role, self.register.consent_status(p, channel, day))
                   for p in gallery.people.values() if p.role == Role.CLIENT)

    def check_many(self, images: Iterable[ImageInput], *, channel: str, on: dt.date | None = None,
                   event: str | None = None) -> Iterator[Verdict | Failure]:
        """Check each image; a photo that cannot be checked yields a Failure, never a verdict (the
        rule every door follows: `errors.fail_closed`)."""
        channel = normalise_channel(channel)
        event = normalise_event(self.settings.event if event is None else event)
        for image in images:
            yield fail_closed(describe(image), partial(self.check, image, channel=channel, on=on, event=event))


def check(image: ImageInput, *, channel: str = "facebook", register: Register | str | os.PathLike | None = None,
          config: str | os.PathLike | Settings | None = None,
          on: dt.date | None = None, event: str | None = None) -> Verdict:
    """Check one photo. For many photos, create one `Gate` and reuse it (models load once). `event`: public,
    private or unknown (default: the `event` setting, unknown); see README, "The crowd exception".
    The verdict is codes: `imagegate.report(verdict, lang)` words it in Finnish or English."""
    settings = config if isinstance(config, Settings) else None
    path = None if isinstance(config, Settings) else config
    with Gate(register=register, settings=settings, config=path) as gate:
        return gate.check(image, channel=channel, on=on, event=event)
