"""Publishable copies: hide every identifiable face that lacks consent, then re-check the copy.

A face is hidden unless its verdict says it may be shown (consented, not
identifiable, or covered by the crowd exception); any other category, including
one added later, is hidden (fail closed). The hidden area is the face box grown by
a margin (hair, ears) and covered so the face cannot be recovered: the default
"blur" keeps only a few block averages of the area (like a 6 x 6 pixel thumbnail)
and then smooths them, since a plain Gaussian blur can be partly deconvolved.

The copy is encoded exactly as it will be written and those bytes are checked
again with the same Gate. Faces the re-check still finds are hidden in another
round; a copy that does not come out allowed is reported as such and is never
saved by `save()`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .codes import Category
from .errors import ImagegateError, RedactionError
from .filenames import NUMBER_ROOM, fit_name
from .image.loader import ImageInput, LoadedImage, load_image
from .image.metadata import FORMATS, encode, write_new
from .results import Verdict

STYLES = ("blur", "pixelate", "box")
#: face categories that may stay visible; everything else is hidden
KEEP = frozenset({Category.CONSENTED, Category.NOT_IDENTIFIABLE, Category.CROWD})
MARGIN = 0.35  # of the face box, each side
MARGIN_TOP = 0.5  # hair
BLOCKS = 6  # block averages kept across the longer side of the hidden area
BOX_FILL = (96, 96, 96)
# A hidden face's head (hair, outline) can still read as a face to the detector, a little larger each
# round; a 12-MP portrait copy for Facebook needed 4 rounds, a 12-MP print copy 2.
MAX_ROUNDS = 5
JPEG_QUALITY = 95


@dataclass(frozen=True)
class HiddenArea:
    round: int  # 1 = faces of the original's verdict; 2+ = faces the re-check still found
    face: int  # index of the face in that round's verdict
    category: str
    box: tuple[float, float, float, float]  # the face, x y w h
    region: tuple[int, int, int, int]  # what was covered, x0 y0 x1 y1 (exclusive)

    def to_dict(self) -> dict:
        return {"round": self.round, "face": self.face + 1, "category": self.category,
                "box": [round(v, 1) for v in self.box], "region": list(self.region)}


@dataclass(frozen=True)
class Redaction:
    """A publishable copy of one photo and the verdicts before and after hiding faces."""

    source: str
    rgb: np.ndarray = field(repr=False)  # the redacted pixels
    data: bytes = field(repr=False)  # the encoded copy, exactly the bytes that were re-checked
    format: str
    style: str
    areas: tuple[HiddenArea, ...]
    before: Verdict
    after: Verdict
    rounds: int

    @property
    def hidden(self) -> tuple[int, ...]:
        """Indices (in `before.faces`) of the original's faces that were hidden."""
        return tuple(a.face for a in self.areas if a.round == 1)

    @property
    def decision(self) -> str:
        return self.after.decision

    @property
    def allowed(self) -> bool:
        return self.after.allowed

    @property
    def suffix(self) -> str:
        return FORMATS[self.format]

    def to_dict(self, verdict_dict: Callable[[Verdict], dict] = Verdict.to_dict) -> dict:
        """The copy and its verdicts; `verdict_dict` turns each verdict into JSON (default: codes only;
        `words.report.verdict_json` adds the reasons in words)."""
        return {"file": self.source, "decision": self.after.decision, "style": self.style, "format": self.format,
                "rounds": self.rounds, "hidden": [i + 1 for i in self.hidden],
                "areas": [a.to_dict() for a in self.areas],
                "before": verdict_dict(self.before), "after": {**verdict_dict(self.after), "file": None}}


def faces_to_hide(verdict: Verdict) -> list[int]:
    return [f.index for f in verdict.faces if f.status.category not in KEEP]


def redact(gate, image: ImageInput | LoadedImage, *, channel: str, style: str = "blur",
           on: dt.date | None = None, max_rounds: int = MAX_ROUNDS, event: str | None = None) -> Redaction:
    """Hide every face that may not be shown on `channel`, re-check the copy, repeat if needed.

    Raises ImagegateError (ImageLoadError, ModelError, RedactionError, ...) when the
    photo cannot be checked or the copy cannot be made.
    """
    if style not in STYLES:
        raise RedactionError(f"unknown redaction style {style!r}; expected one of {', '.join(STYLES)}")
    img = image if isinstance(image, LoadedImage) else load_image(image, gate.settings.limits)
    # Lossless input stays lossless so kept faces stay pixel-identical in the file too.
    fmt = "PNG" if img.format == "PNG" else "JPEG"
    before = gate.check(img, channel=channel, on=on, event=event)
    try:
        return _redact_rounds(gate, img, before, fmt, channel=channel, style=style, on=on, max_rounds=max_rounds)
    except ImagegateError:
        raise
    except Exception as exc:  # noqa: BLE001 - fail closed: an unexpected failure is a typed error, never a copy
        raise RedactionError(f"{img.source}: redaction failed: {type(exc).__name__}: {exc}") from None


def _redact_rounds(gate, img: LoadedImage, before: Verdict, fmt: str, *, channel: str, style: str,
                   on: dt.date | None, max_rounds: int) -> Redaction:
    rgb = img.rgb.copy()
    # The copy is written at the size the channel shows photos at: faces kept because they are too small
    # to recognise there must not be recognisable in the file (posted elsewhere, printed, zoomed into).
    side = gate.settings.publish_side(channel)
    scale = min(1.0, side / max(img.width, img.height)) if side else 1.0
    areas: list[HiddenArea] = []
    verdict, rounds, k = before, 0, 1.0  # k: the verdict's pixels per pixel of `rgb`
    while True:
        rounds += 1
        todo = faces_to_hide(verdict)
        keep = [_scaled(verdict.faces[i].box, k) for i in range(len(verdict.faces)) if i not in todo]
        for i in todo:
            box = _scaled(verdict.faces[i].box, k)
            region = hide(rgb, box, style, keep=keep)
            areas.append(HiddenArea(rounds, i, verdict.faces[i].status.category, box, region))
        out = rgb if scale == 1.0 else _resize(rgb, scale)
        data = encode(out, format=fmt, icc_profile=img.icc_profile, quality=JPEG_QUALITY)
        verdict, k = gate.check(data, channel=channel, on=on, event=before.event), scale
        if verdict.allowed or not faces_to_hide(verdict) or rounds >= max_rounds:
            break
    out.setflags(write=False)
    return Redaction(source=img.source, rgb=out, data=data, format=fmt, style=style, areas=tuple(areas),
                     before=before, after=verdict, rounds=rounds)


def _scaled(box, k: float) -> tuple[float, float, float, float]:
    """A box from a verdict on a copy `k` times the size of the photo, in the photo's pixels."""
    x, y, w, h = (float(v) / k for v in box)
    return x, y, w, h


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))


def output_name(source: str, suffix: str) -> str:
    """`stem.redacted.ext`, fitting in a file name with room for ` (2)`."""
    stem = Path(source).stem if source and not source.startswith("<") else "photo"
    return fit_name(stem, f".redacted{suffix}", room=NUMBER_ROOM)


def save(redaction: Redaction, out_dir: str | os.PathLike) -> Path:
    """Write the copy into `out_dir` under a new name (never overwriting). Only allowed copies are saved."""
    if not redaction.allowed:
        raise RedactionError(f"{redaction.source}: the redacted copy should come out allowed but was "
                             f"{redaction.after.decision}; it was not saved",
                             hint="check the photo by hand")
    return write_new(redaction.data, out_dir, output_name(redaction.source, redaction.suffix))


# -- covering -------------------------------------------------------------------------------------------


def _grown_box(box) -> tuple[int, int, int, int]:
    """The face box grown by its margins (hair, ears), x0 y0 x1 y1, not cut to the photo."""
    x, y, w, h = box
    return (int(np.floor(x - MARGIN * w)), int(np.floor(y - MARGIN_TOP * h)),
            int(np.ceil(x + w + MARGIN * w)), int(np.ceil(y + h + MARGIN * h)))


def region_for(box, width: int, height: int) -> tuple[int, int, int, int]:
    gx0, gy0, gx1, gy1 = _grown_box(box)
    return max(0, gx0), max(0, gy0), min(width, gx1), min(height, gy1)


def hide(rgb: np.ndarray, box, style: str, *, keep=()) -> tuple[int, int, int, int]:
    """Cover the face `box` (x y w h) with its margin, in place. Returns the covered region.

    Faces in `keep` (consented ones) are spared from the margin, never from the hidden face's own box.
    """
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = region = region_for(box, width, height)
    if x1 <= x0 or y1 <= y0:
        raise RedactionError(f"face box {box} lies outside the {width} x {height} image")
    patch = rgb[y0:y1, x0:x1]
    ph, pw = patch.shape[:2]
    if style == "box":
        covered = np.empty_like(patch)
        covered[:] = BOX_FILL
        mask = np.ones((ph, pw), bool)
    else:
        side = max(ph, pw)
        bw, bh = max(1, round(BLOCKS * pw / side)), max(1, round(BLOCKS * ph / side))
        small = cv2.resize(patch, (bw, bh), interpolation=cv2.INTER_AREA)
        covered = cv2.resize(small, (pw, ph), interpolation=cv2.INTER_NEAREST)
        if style == "blur":
            sigma = side / BLOCKS / 2
            covered = cv2.GaussianBlur(covered, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)
        mask = _ellipse_within(box, region)
    def rows_cols(x: float, y: float, w: float, h: float) -> tuple[slice, slice]:
        """The part of the patch a box covers."""
        return (slice(_clip(y - y0, ph), _clip(y + h - y0, ph, up=True)),
                slice(_clip(x - x0, pw), _clip(x + w - x0, pw, up=True)))

    for kept in keep:
        mask[rows_cols(*kept)] = False
    mask[rows_cols(*box)] = True
    patch[mask] = covered[mask]
    return region


def _ellipse_within(box, region) -> np.ndarray:
    """The ellipse filling the face's grown box, as a mask over `region` (that box cut to the photo).
    Fitted to the whole box, not to what is left of it at the photo's edge: an ellipse fitted to the
    cut region slides away from the edge and leaves the chin and cheek there uncovered."""
    gx0, gy0, gx1, gy1 = _grown_box(box)
    x0, y0, x1, y1 = region
    yy, xx = np.mgrid[y0:y1, x0:x1]
    cx, cy = (gx0 + gx1 - 1) / 2, (gy0 + gy1 - 1) / 2
    return ((xx - cx) / ((gx1 - gx0) / 2)) ** 2 + ((yy - cy) / ((gy1 - gy0) / 2)) ** 2 <= 1.0


def _clip(v: float, hi: int, up: bool = False) -> int:
    return int(min(hi, max(0, np.ceil(v) if up else np.floor(v))))
