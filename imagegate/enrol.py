"""Enrolment: reference photos in, face templates out (the photos themselves are never stored).

Each reference photo must show exactly one clear, large-enough, frontal-enough
face; otherwise it is refused with what was found and what to do. A photo
enrolled before, or a face that already matches another registered person
strictly, is refused too: either would poison matching.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .errors import EnrolmentError
from .gate import Gate
from .image.loader import LoadedImage
from .register.names import normalise_name
from .results import Person
from .vision.embed import FaceEmbedder
from .vision.match import match_faces

#: smallest face height (px) accepted on a reference photo
MIN_ENROL_PX = 80.0
#: faces at least this share of the largest face's height count as "another face"
OTHER_FACE_SHARE = 0.4
#: |yaw| above this (nose offset in eye spans) is too far from frontal
MAX_YAW = 0.35
#: Laplacian variance on the 150 px aligned chip below this is too blurred
MIN_SHARPNESS = 20.0


@dataclass(frozen=True)
class EnrolledPhoto:
    path: str
    sha256: str
    face_px: float
    quality: float
    embedding: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        return {"photo": self.path, "face_px": round(self.face_px, 1), "quality": round(self.quality, 3)}


def prepare(gate: Gate, photo: str | os.PathLike | LoadedImage) -> EnrolledPhoto:
    """Validate one reference photo and compute its template (nothing is written). An uploaded photo
    comes decoded (never written to disk), named by its `source`."""
    source = photo.source if isinstance(photo, LoadedImage) else os.fsdecode(photo)
    analysis = gate.analyse(photo)
    faces = analysis.faces
    if not faces:
        raise EnrolmentError(f"{source}: no face found",
                             hint="use a photo where the face is clearly visible, frontal and well lit")
    largest = max(faces, key=lambda f: f.height)
    significant = [f for f in faces if f.height >= OTHER_FACE_SHARE * largest.height]
    if len(significant) > 1:
        sizes = ", ".join(f"{f.height:.0f} px" for f in sorted(significant, key=lambda f: -f.height))
        raise EnrolmentError(f"{source}: {len(significant)} faces found (heights {sizes}); a reference photo "
                             "must show exactly one person", hint="crop the photo to the person's face")
    if largest.height < MIN_ENROL_PX:
        raise EnrolmentError(f"{source}: the face is {largest.height:.0f} px high; at least {MIN_ENROL_PX:.0f} px "
                             "is needed", hint="use a larger or higher-resolution photo")
    if largest.rotation:
        raise EnrolmentError(f"{source}: the face is sideways or upside down (the photo would need turning "
                             f"{largest.rotation * 90} degrees anticlockwise)",
                             hint="rotate the photo so the face is upright")
    aligned = gate.embedder.align(analysis.image.rgb, largest.box)
    if abs(aligned.yaw) > MAX_YAW:
        raise EnrolmentError(f"{source}: the face is turned too far from the camera "
                             f"(yaw {aligned.yaw:+.2f}, limit ±{MAX_YAW})", hint="use a frontal photo")
    if aligned.sharpness < MIN_SHARPNESS:
        raise EnrolmentError(f"{source}: the face is too blurred (sharpness {aligned.sharpness:.0f}, "
                             f"minimum {MIN_SHARPNESS:.0f})", hint="use a sharper photo")
    vec = gate.embedder.describe([aligned.chip])[0]
    quality = (min(1.0, aligned.eye_distance_px / 60) * (1 - min(1.0, abs(aligned.yaw) / 0.5))
               * min(1.0, aligned.sharpness / 100))
    return EnrolledPhoto(path=source, sha256=analysis.image.sha256, face_px=largest.height,
                         quality=quality, embedding=vec)


def enrol(gate: Gate, name: str, role: str, photos: list, note: str | None = None,
          **basis) -> tuple[Person, list[EnrolledPhoto]]:
    """Create `name` with templates from `photos`, all or nothing. `basis`, `evidence`, `basis_date`:
    why the template may be held (see Register.add_person_with_templates)."""
    if not photos:
        raise EnrolmentError("at least one reference photo is needed (--photo PATH)")
    name = normalise_name(name)  # a name that would be refused, refused before the photos are read
    register = gate.register
    prepared = [prepare(gate, p) for p in photos]
    seen: dict[str, str] = {}
    for p in prepared:
        if p.sha256 in seen:
            raise EnrolmentError(f"{p.path}: the same photo is given twice (also {seen[p.sha256]})")
        seen[p.sha256] = p.path
        owner = register.photo_enrolled(p.sha256)
        if owner is not None:
            raise EnrolmentError(f"{p.path}: this photo is already enrolled for {owner.name}")
    # One person's photos must show one face: a photo of someone else among them would make that
    # someone match this person (consented staff) - a client "allowed" under another's consent.
    for i, a in enumerate(prepared):
        for b in prepared[i + 1:]:
            d = float(np.linalg.norm(a.embedding.astype(np.float64) - b.embedding))
            if d >= gate.settings.match_loose:
                raise EnrolmentError(
                    f"{b.path}: this face does not look like the one in {a.path} (distance {d:.2f}; the same "
                    f"person is usually below {gate.settings.match_strict:.2f})",
                    hint="check that every photo shows the same person")
    gallery = register.gallery(FaceEmbedder.model_id)
    if len(gallery):
        vecs = np.stack([p.embedding for p in prepared])
        for p, m in zip(prepared, match_faces(vecs, gallery, strict=gate.settings.match_strict,
                                              loose=gate.settings.match_loose), strict=False):
            hit = m.identified or (m.candidates[0] if m.ambiguous and m.candidates else None)
            if hit is not None and hit.name.lower() != name.strip().lower():
                raise EnrolmentError(
                    f"{p.path}: this face already matches {hit.name} ({hit.role}) closely "
                    f"(distance {hit.distance:.2f})",
                    hint="check that the photo shows the right person; the same person must not be enrolled twice")
    person = register.add_person_with_templates(
        name, role, note, [(p.embedding, p.quality, p.face_px, p.sha256) for p in prepared],
        model=FaceEmbedder.model_id, **basis)
    gate.reload_register()
    return person, prepared
