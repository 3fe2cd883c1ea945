"""Fakes at the expensive boundaries: a face detector and a face embedder that return known faces.

They stand in for `imagegate.vision.detect.FaceDetector` and `imagegate.vision.embed.FaceEmbedder`
the way httpx's MockTransport stands in for the network: everything between them (Gate, measuring,
matching, the register, the policy, the verdict) is the real code. A test says which faces a photo
holds and whose face each one is; the verdict is then the gate's own.

    template = person_vector(1)
    detector = FakeDetector([face_at(100, 80, 120)])
    embedder = FakeEmbedder({box_of(detector.faces[0]): near(template, 0.2)})
    gate = Gate(register=reg, detector=detector, embedder=embedder)

Descriptors are 128-d like dlib's. Two people's vectors (`person_vector`) are about 1.4 apart, far
beyond the loose threshold (0.60); `near(v, d)` is a vector exactly `d` from `v`, to place a face
strictly (< 0.49), loosely (< 0.60) or not at all near someone.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from imagegate.errors import ModelError
from imagegate.results import Face
from imagegate.vision.embed import MODEL_ID, AlignedFace

EMBEDDING_DIM = 128
Box = tuple[float, float, float, float]


# -- descriptors ---------------------------------------------------------------------------------------------


def person_vector(seed: int) -> np.ndarray:
    """One person's descriptor: a unit vector of their own (two people's are ~1.41 apart)."""
    v = np.random.default_rng(seed).standard_normal(EMBEDDING_DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def near(v: np.ndarray, distance: float, seed: int = 0) -> np.ndarray:
    """A vector exactly `distance` (to float32 precision) from `v`, in a direction of its own."""
    v = np.asarray(v, dtype=np.float64)
    u = np.random.default_rng(10_000 + seed).standard_normal(EMBEDDING_DIM)
    u -= u.dot(v) / v.dot(v) * v  # orthogonal to v, so the distance does not depend on v's length
    u /= np.linalg.norm(u)
    return (v + distance * u).astype(np.float32)


def stranger_vector(box: Box) -> np.ndarray:
    """Whom a face nobody said anything about matches: a person of its own, far from everyone."""
    return person_vector(1_000_000 + zlib.crc32(repr(tuple(round(float(x), 1) for x in box)).encode()))


# -- faces ---------------------------------------------------------------------------------------------------


def face_at(x: float, y: float, height: float, *, width: float | None = None, score: float = 0.9,
            rotation: int = 0) -> Face:
    """A detected face with its top left corner at (x, y), `height` px tall (and 0.8 x as wide)."""
    w = 0.8 * height if width is None else width
    cx, cy = x + w / 2, y + height / 2
    eye = 0.2 * w
    landmarks = ((cx - eye, cy - 0.1 * height), (cx + eye, cy - 0.1 * height), (cx, cy + 0.05 * height),
                 (cx - eye, cy + 0.25 * height), (cx + eye, cy + 0.25 * height))
    return Face(box=(float(x), float(y), float(w), float(height)), score=score, landmarks=landmarks,
                source="fake", rotation=rotation)


def box_of(face: Face) -> Box:
    return tuple(float(v) for v in face.box)


def blank_photo(width: int = 800, height: int = 600, shade: int = 128) -> np.ndarray:
    """A plain grey H x W x 3 uint8 photo (the fakes do not look at the pixels)."""
    return np.full((height, width, 3), shade, np.uint8)


# -- the detector --------------------------------------------------------------------------------------------


class FakeDetector:
    """Same interface as `FaceDetector`: `detect(rgb, analysis_long_side=, settle_below=)`, `model_ids`, `close()`.

    `faces`: the faces every photo holds, or a mapping from a photo's (width, height) to its faces (a test
    with several photos gives them different sizes). A size not in the mapping holds no face."""

    model_ids = {"fake-detector": "000000000000"}

    def __init__(self, faces: Sequence[Face] | Mapping[tuple[int, int], Sequence[Face]] = ()) -> None:
        self.faces = faces if isinstance(faces, Mapping) else list(faces)
        self.calls: list[dict] = []
        self.closed = False

    def faces_for(self, width: int, height: int) -> list[Face]:
        if isinstance(self.faces, Mapping):
            return list(self.faces.get((width, height), ()))
        return list(self.faces)

    def detect(self, rgb: np.ndarray, *, analysis_long_side: int | None = None,
               settle_below: float = 0.0) -> list[Face]:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an H x W x 3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
        if self.closed:
            raise ModelError("the face detector has been closed")
        height, width = rgb.shape[:2]
        self.calls.append({"size": (width, height), "analysis_long_side": analysis_long_side,
                           "settle_below": settle_below})
        # sorted by position, as the real detector returns them
        return sorted(self.faces_for(width, height), key=lambda f: (f.box[1], f.box[0]))

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- the embedder --------------------------------------------------------------------------------------------


@dataclass
class Pose:
    """What aligning a face would find (enrolment refuses a turned or blurred reference face)."""

    yaw: float = 0.0
    sharpness: float = 100.0
    eye_distance_px: float = 60.0


class FakeEmbedder:
    """Same interface as `FaceEmbedder` where the gate and enrolment use it: `embed(rgb, boxes, rotations)`
    gives an (n, 128) float32 array, `align(rgb, box)` and `describe(chips)` the reference photo's template,
    `model_id` the real one's (templates in the register are stored under it).

    `vectors`: each face's descriptor by its box (`box_of(face)`); a face not given is a stranger, far from
    everyone. `poses`: by box, what aligning it finds (default frontal and sharp)."""

    model_id = MODEL_ID

    def __init__(self, vectors: Mapping[Box, np.ndarray] | None = None,
                 poses: Mapping[Box, Pose] | None = None) -> None:
        self.vectors = {self._key(b): np.asarray(v, np.float32) for b, v in (vectors or {}).items()}
        self.poses = {self._key(b): p for b, p in (poses or {}).items()}
        self.embedded: list[Box] = []  # every box described, in order (what the gate asked for)

    @staticmethod
    def _key(box) -> Box:
        return tuple(round(float(v), 3) for v in box)

    def vector(self, box) -> np.ndarray:
        return self.vectors.get(self._key(box), stranger_vector(self._key(box)))

    def embed(self, rgb: np.ndarray, boxes, rotations=None) -> np.ndarray:
        boxes = list(boxes)
        self.embedded.extend(self._key(b) for b in boxes)
        if not boxes:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        return np.stack([self.vector(b) for b in boxes]).astype(np.float32)

    def align(self, rgb: np.ndarray, box) -> AlignedFace:
        pose = self.poses.get(self._key(box), Pose())
        # the "chip" carries the box, so describe() knows whose face it is
        return AlignedFace(chip=np.asarray(self._key(box), np.float64), yaw=pose.yaw, sharpness=pose.sharpness,
                           eye_distance_px=pose.eye_distance_px)

    def describe(self, chips) -> np.ndarray:
        if not len(chips):
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        return np.stack([self.vector(tuple(c)) for c in chips]).astype(np.float32)
