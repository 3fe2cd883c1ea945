"""Face descriptors: dlib's ResNet (128-d) on 5-point-aligned 150 px chips.

dlib finds the landmarks and cuts the chip (~2 ms per face, on the full-resolution
photo). The ResNet itself runs in ONNX Runtime from an ONNX conversion of dlib's own
weights (models/convert/): the same numbers (max abs difference ~4e-7, tested) at
~4 ms per chip instead of dlib-bin's ~115 ms, whose PyPI build has no BLAS.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ModelError
from .geometry import rotate_box
from .modelfiles import model_file
from .onnxnet import OnnxNet

MODEL_ID = "dlib-resnet-v1"
CHIP_SIZE = 150
CHIP_PADDING = 0.25
# dlib's 5-point predictor was trained on dlib-HOG-style boxes: square, centred on the
# eyes, 0.52 eye spans below them, 2.45 eye spans wide (fitted on data/identities).
# Re-predicting from such a box makes alignment independent of which detector
# (CenterFace's tall boxes, BlazeFace's square ones) found the face.
CANON_DY = 0.52
CANON_SIDE = 2.45
# dlib's input layer: per-channel means subtracted inside the ONNX graph; chips go in as 0..255 RGB.
# Chips per forward pass: activations take ~2.5 MB per chip; per chip, 8 at a time took 3.4 ms,
# one at a time 4.5 and 16 at a time 3.2 (ONNX Runtime, 2 threads).
FORWARD_BATCH = 8


@dataclass(frozen=True)
class AlignedFace:
    """A 150 x 150 aligned face chip plus the quality cues read off its landmarks."""

    chip: np.ndarray  # never logged or serialised
    yaw: float        # nose offset from the eye midline, in inter-eye distances (0 = frontal)
    sharpness: float  # variance of the Laplacian on the chip (low = blurred)
    eye_distance_px: float

    def __repr__(self) -> str:  # keep pixels out of reprs and tracebacks
        return (f"AlignedFace(yaw={self.yaw:.2f}, sharpness={self.sharpness:.0f}, "
                f"eye_distance_px={self.eye_distance_px:.0f})")


class FaceEmbedder:
    """Loads dlib's shape predictor and descriptor once; not thread-safe (use one per thread)."""

    model_id = MODEL_ID

    def __init__(self) -> None:
        import dlib

        self._dlib = dlib
        sp = model_file("dlib-shape-predictor-5")
        fr = model_file(MODEL_ID)
        try:
            self._shape = dlib.shape_predictor(str(sp.path))
        except RuntimeError as exc:
            raise ModelError(f"dlib landmark model {sp.path} failed to load: {exc}") from None
        self._net = OnnxNet(fr, "face descriptor")
        self._lock = threading.Lock()

    def align(self, rgb: np.ndarray, box) -> AlignedFace:
        x, y, w, h = box
        rect = self._dlib.rectangle(int(round(x)), int(round(y)), int(round(x + w)), int(round(y + h)))
        with self._lock:
            shape = self._shape(rgb, rect)
            pts = _points(shape)
            span = float(np.linalg.norm(pts[0:2].mean(axis=0) - pts[2:4].mean(axis=0)))
            if span > 1:
                cx, cy = pts[:4].mean(axis=0)
                cy += CANON_DY * span
                half = CANON_SIDE * span / 2
                rect = self._dlib.rectangle(int(round(cx - half)), int(round(cy - half)),
                                            int(round(cx + half)), int(round(cy + half)))
                shape = self._shape(rgb, rect)
                pts = _points(shape)
            chip = self._dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        # 5-point model: 0,1 one eye's corners; 2,3 the other's; 4 below the nose.
        eye_a, eye_b = pts[0:2].mean(axis=0), pts[2:4].mean(axis=0)
        eye_vec = eye_b - eye_a
        eye_dist = float(np.linalg.norm(eye_vec)) or 1.0
        mid = (eye_a + eye_b) / 2
        # signed distance of the nose from the perpendicular through the eye midpoint
        yaw = float(np.dot(pts[4] - mid, eye_vec / eye_dist) / eye_dist)
        grey = cv2.cvtColor(np.ascontiguousarray(chip), cv2.COLOR_RGB2GRAY)
        sharp = float(cv2.Laplacian(grey, cv2.CV_64F).var())
        return AlignedFace(chip=np.ascontiguousarray(chip), yaw=yaw, sharpness=sharp, eye_distance_px=eye_dist)

    def describe(self, chips: list[np.ndarray]) -> np.ndarray:
        """Descriptors for aligned chips, as an (n, 128) float32 array.

        Each is the mean of the chip's and its mirror image's descriptor: on
        data/identities this lifted the true-accept rate at zero false accepts
        (BENCHMARKS.md), for twice the compute.
        """
        if not chips:
            return np.zeros((0, 128), np.float32)
        views = []
        for c in chips:
            views.append(np.ascontiguousarray(c))
            views.append(np.ascontiguousarray(c[:, ::-1]))
        out = []
        for i in range(0, len(views), FORWARD_BATCH):
            out.append(self.forward(views[i:i + FORWARD_BATCH]))
        return np.concatenate(out).reshape(len(chips), 2, 128).mean(axis=1)

    def forward(self, chips: list[np.ndarray]) -> np.ndarray:
        """The ResNet on 150 x 150 RGB uint8 chips, one descriptor per chip (no mirroring)."""
        blob = np.stack(chips).astype(np.float32).transpose(0, 3, 1, 2)
        (vecs,) = self._net.run(blob)
        return np.asarray(vecs, dtype=np.float32).reshape(len(chips), 128).copy()

    def embed(self, rgb: np.ndarray, boxes, rotations=None) -> np.ndarray:
        """Descriptors for faces at `boxes`; a face with rotation k is aligned on
        the photo turned by k quarter turns, where it stands upright (dlib's
        landmark model only knows upright faces)."""
        rotations = rotations or [0] * len(boxes)
        turned = {0: rgb}
        chips = []
        for box, k in zip(boxes, rotations, strict=False):
            k %= 4
            if k not in turned:
                turned[k] = np.ascontiguousarray(np.rot90(rgb, k))
            chips.append(self.align(turned[k], rotate_box(box, k, rgb.shape)).chip)
        return self.describe(chips)


def _points(shape) -> np.ndarray:
    return np.array([[shape.part(i).x, shape.part(i).y] for i in range(shape.num_parts)], dtype=np.float64)
