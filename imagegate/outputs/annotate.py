"""Preview images: every face boxed and coloured by what it means, with a legend below the photo.

People look at the preview rather than read the reasons, so colours carry the
verdict: red = client, purple = a recognised client the crowd exception covers,
orange = needs consent, green = consented, blue = covered by the crowd exception,
grey = not identifiable. Only faces that need attention (red, purple, orange) get
a worded label on the photo; the others get their number. A label is put beside
its face where it covers no face (else it shrinks to the number, else it is left
to the legend), and the verdict banner and the legend sit in a panel under the
photo, so nothing drawn hides a face. The preview is a new image built from
pixels only, so it carries none of the original's metadata.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..codes import Category, Decision, FaceStatusCode
from ..filenames import NUMBER_ROOM, fit_name
from ..image import metadata
from ..results import Verdict
from ..words.messages import category_text, decision_text, ui

COLOURS = {
    Category.CLIENT: (220, 30, 30),
    "crowd_client": (150, 40, 190),
    Category.NEEDS_CONSENT: (255, 140, 0),
    Category.CONSENTED: (30, 170, 60),
    Category.CROWD: (40, 110, 230),
    Category.NOT_IDENTIFIABLE: (150, 150, 150),
}
#: what a label is worded for; the rest are numbered
ATTENTION = (Category.CLIENT, "crowd_client", Category.NEEDS_CONSENT)
BANNER = {Decision.ALLOWED: (30, 170, 60), Decision.NEEDS_CONSENT: (255, 140, 0), Decision.BLOCKED: (220, 30, 30)}
PREVIEW_LONG_SIDE = 1600
Box = tuple[float, float, float, float]  # x0 y0 x1 y1


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def kind(face) -> str:
    """The preview's category of a face: the policy's, except that a recognised client the crowd exception
    covers is told apart from the rest of the crowd (a client in a posted photo is never just crowd)."""
    if face.status.crowd_exempt and face.status.status == FaceStatusCode.CLIENT:
        return "crowd_client"
    return face.status.category


def kind_text(k: str, lang: str) -> str:
    return ui("preview_crowd_client", lang) if k == "crowd_client" else category_text(k, lang)


@dataclass(frozen=True)
class Label:
    face: int  # index in the verdict
    text: str
    box: Box | None  # where it is drawn on the photo; None: no room beside the face, the legend has it


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _spots(face: Box, w: float, h: float, gap: float):
    x0, y0, x1, y1 = face
    yield x0, y0 - h - gap  # above
    yield x0, y1 + gap  # below
    yield x1 + gap, y0  # right
    yield x0 - w - gap, y0  # left
    yield x1 - w, y0 - h - gap  # above, right-aligned
    yield x1 - w, y1 + gap  # below, right-aligned


def place(face: Box, size: tuple[float, float], width: int, height: int, taken: list[Box],
          gap: float = 2) -> Box | None:
    """A spot beside `face` inside the photo that overlaps nothing in `taken` (faces, labels), or None."""
    w, h = size
    if w > width or h > height:
        return None
    for x, y in _spots(face, w, h, gap):
        x, y = min(max(0.0, x), width - w), min(max(0.0, y), height - h)
        spot = (x, y, x + w, y + h)
        if not any(_overlaps(spot, t) for t in taken):
            return spot
    return None


def layout(verdict: Verdict, scale: float, size: tuple[int, int], measure, lang: str) -> list[Label]:
    """Labels for the faces, attention first so they get the best spots: worded for faces that need
    attention, numbers for the rest; none covers a face or another label."""
    faces = [tuple(v * scale for v in (f.box[0], f.box[1], f.box[0] + f.box[2], f.box[1] + f.box[3]))
             for f in verdict.faces]
    taken = [(x0 - 1, y0 - 1, x1 + 1, y1 + 1) for x0, y0, x1, y1 in faces]
    order = sorted(range(len(faces)), key=lambda i: (kind(verdict.faces[i]) not in ATTENTION, i))
    labels = []
    for i in order:
        f = verdict.faces[i]
        texts = [f"#{i + 1}"]
        if kind(f) in ATTENTION:
            worded = f"#{i + 1} {kind_text(kind(f), lang)}"
            if f.status.person is not None and kind(f) != Category.NEEDS_CONSENT:
                texts.insert(0, f"{worded}: {f.status.person.name}")
            texts.insert(-1, worded)
        spot, text = None, texts[-1]
        for text in texts:
            spot = place(faces[i], measure(text), *size, taken)
            if spot is not None:
                break
        if spot is not None:
            taken.append(spot)
        labels.append(Label(i, text, spot))
    return sorted(labels, key=lambda lb: lb.face)


def render_preview(rgb: np.ndarray, verdict: Verdict, lang: str = "en", *, long_side: int = PREVIEW_LONG_SIDE,
                   legend: bool = True) -> Image.Image:
    """The photo with every face boxed in its category's colour, and the verdict and what each face that
    needs attention is, in `lang`, on a legend below it (or, without one, on a banner above)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, long_side / max(w, h))
    if scale < 1:
        # area averaging in OpenCV: 4-5x faster than Pillow's LANCZOS on a 12-MP photo (a web page's
        # verdict waits for its preview) and as free of aliasing when shrinking
        rgb = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    photo = Image.fromarray(rgb)
    line = max(2, round(max(photo.size) / 400))
    font = _font(max(12, round(max(photo.size) / 60)))
    draw = ImageDraw.Draw(photo)
    pad = line

    def measure(text: str) -> tuple[float, float]:
        tb = draw.textbbox((0, 0), text, font=font)
        return tb[2] - tb[0] + 2 * pad, tb[3] - tb[1] + 2 * pad

    for f in verdict.faces:
        k = kind(f)
        x, y, w, h = (v * scale for v in f.box)
        draw.rectangle([x, y, x + w, y + h], outline=COLOURS[k], width=line if k != Category.NOT_IDENTIFIABLE else 1)
    labels = layout(verdict, scale, photo.size, measure, lang)
    for lb in labels:
        if lb.box is not None:
            k = kind(verdict.faces[lb.face])
            draw.rectangle(lb.box, fill=COLOURS[k])
            tb = draw.textbbox((0, 0), lb.text, font=font)
            draw.text((lb.box[0] + pad, lb.box[1] + pad - tb[1]), lb.text, fill=(255, 255, 255), font=font)
    return (_with_legend(photo, verdict, labels, font, line, lang) if legend
            else _with_banner(photo, verdict, line, lang))


def _banner_font(img: Image.Image):
    return _font(max(14, round(max(img.size) / 40)))


def _with_banner(photo: Image.Image, verdict: Verdict, line: int, lang: str) -> Image.Image:
    """The verdict in a strip above the photo (a small thumbnail has no room for a legend)."""
    bfont = _banner_font(photo)
    word = decision_text(verdict.decision, lang).upper()
    probe = ImageDraw.Draw(photo).textbbox((0, 0), word, font=bfont)
    pad = max(4, line * 2)
    strip = round(probe[3] - probe[1] + 2 * pad)
    out = Image.new("RGB", (photo.width, photo.height + strip), BANNER[verdict.decision])
    out.paste(photo, (0, strip))
    ImageDraw.Draw(out).text((pad, pad - probe[1]), word, fill=(255, 255, 255), font=bfont)
    return out


def _with_legend(photo: Image.Image, verdict: Verdict, labels: list[Label], font, line: int,
                 lang: str) -> Image.Image:
    """The photo above a white panel: the verdict, the colours present, and what each attention face is."""
    bfont = _banner_font(photo)
    probe = ImageDraw.Draw(photo)
    pad = max(4, line * 2)
    text_h = probe.textbbox((0, 0), "#8 Åg", font=font)[3] + pad
    kinds = [k for k in COLOURS if any(kind(f) == k for f in verdict.faces)]
    notes = [lb for lb in labels if kind(verdict.faces[lb.face]) in ATTENTION or lb.box is None]
    word = decision_text(verdict.decision, lang).upper()
    wb = probe.textbbox((0, 0), word, font=bfont)
    banner_h = wb[3] - wb[1] + 2 * pad
    rows = _legend_rows(kinds, notes, verdict, lang, probe, font, photo.width - 2 * pad, text_h)
    panel = round(banner_h + pad + len(rows) * text_h + pad)
    out = Image.new("RGB", (photo.width, photo.height + panel), (255, 255, 255))
    out.paste(photo, (0, 0))
    draw = ImageDraw.Draw(out)
    top = photo.height
    draw.rectangle([0, top, wb[2] - wb[0] + 2 * pad, top + banner_h], fill=BANNER[verdict.decision])
    draw.text((pad, top + pad - wb[1]), word, fill=(255, 255, 255), font=bfont)
    y = top + banner_h + pad
    for row in rows:
        x: float = pad
        for colour, text in row:
            if colour is not None:
                draw.rectangle([x, y + 2, x + text_h - 6, y + text_h - 4], fill=colour)
                x += text_h
            draw.text((x, y), text, fill=(20, 20, 20), font=font)
            x += probe.textlength(text + "   ", font=font)
        y += text_h
    return out


def _legend_rows(kinds, notes, verdict, lang, probe, font, width, swatch) -> list[list]:
    """The legend as rows of (colour or None, text): the colour key wrapped to the width, then one row
    per face that needs attention (or found no room on the photo)."""
    rows: list[list] = []
    row: list = []
    used = 0.0
    for k in kinds:
        item_w = swatch + probe.textlength(kind_text(k, lang) + "   ", font=font)
        if row and used + item_w > width:
            rows.append(row)
            row, used = [], 0.0
        row.append((COLOURS[k], kind_text(k, lang)))
        used += item_w
    if row:
        rows.append(row)
    for lb in notes:
        f = verdict.faces[lb.face]
        text = f"#{lb.face + 1} {kind_text(kind(f), lang)}"
        if f.status.person is not None:
            text += f": {f.status.person.name}"
        if lb.box is None:
            text += f" ({ui('preview_no_room', lang)})"
        rows.append([(COLOURS[kind(f)], text)])
    return rows


#: what `preview_name` and the ` (2)` rule make: a preview, not a photo to check
PREVIEW_NAME = re.compile(r"\.preview(?: \(\d+\))?\.jpg$")


def preview_name(source: str) -> str:
    """`stem.preview.jpg`, fitting in a file name with room for ` (2)` (which keeps it a preview's name)."""
    return fit_name(Path(source).stem or "photo", ".preview.jpg", room=NUMBER_ROOM)


def write_preview(rgb: np.ndarray, verdict: Verdict, out_dir: str | os.PathLike, *, lang: str = "en",
                  icc_profile: bytes | None = None) -> Path:
    """Write the preview as `stem.preview.jpg`, or `stem.preview (2).jpg`, ... beside another photo's
    (the naming rule of every file imagegate writes); returns the path written."""
    data = metadata.encode(render_preview(rgb, verdict, lang), format="JPEG", icc_profile=icc_profile, quality=88)
    return metadata.write_new(data, out_dir, preview_name(verdict.file))
