"""Face descriptors: dlib's ResNet (128-d) on 5-point-aligned 150 px chips.

Alignment and chip extraction are cheap (~2 ms) and happen on the full-resolution
photo; the descriptor (~115 ms per face per core) runs on the small chip, so chips
can be shipped to worker processes when a photo holds many faces.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import ModelError
from .geometry import rotate_box
from .modelfiles import model_file

MODEL_ID = "dlib-resnet-v1"
CHIP_SIZE = 150
CHIP_PADDING = 0.25
# dlib's 5-point predictor was trained on dlib-HOG-style boxes: square, centred on the
# eyes, 0.52 eye spans below them, 2.45 eye spans wide (fitted on data/identities).
# Re-predicting from such a box makes alignment independent of which detector
# (CenterFace's tall boxes, BlazeFace's square ones) found the face.
CANON_DY = 0.52
CANON_SIDE = 2.45


@dataclass(frozen=True)
class AlignedFace:
    """A 150 x 150 aligned face chip plus the quality cues read off its landmarks."""

    chip: np.ndarray  # never logged or serialised
    yaw: float        # nose offset from the eye midline, in inter-eye distances (0 = frontal)
    sharpness: float  # variance of the Laplacian on the chip (low = blurred)
    eye_distance_px: float

    def __repr__(self) -> str:  # keep pixels out of reprs and tracebacks
        return f"AlignedFace(yaw={self.yaw:.2f}, sharpness={self.sharpness:.0f}, eye_distance_px={self.eye_distance_px:.0f})"


class FaceEmbedder:
    """Loads dlib's shape predictor and descriptor once; not thread-safe (use one per thread)."""

    model_id = MODEL_ID

    def __init__(self, workers: int | None = None) -> None:
        import dlib

        #: extra processes for descriptors (0 = none); default: one per spare core
        self.workers = max(0, (os.cpu_count() or 1) - 1) if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None

        self._dlib = dlib
        sp = model_file("dlib-shape-predictor-5")
        fr = model_file("dlib-resnet-v1")
        try:
            self._shape = dlib.shape_predictor(str(sp.path))
            self._net = dlib.face_recognition_model_v1(str(fr.path))
        except RuntimeError as exc:
            raise ModelError(f"dlib model failed to load: {exc}") from None
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

        dlib holds the GIL, so threads do not help; with several faces, half of
        the chips go to a worker process (started once, on first need) while
        this process computes the other half.
        """
        if len(chips) >= PARALLEL_MIN_FACES and self.workers > 0:
            pool = self._get_pool()
            half = len(chips) // 2
            remote = pool.submit(_worker_describe, [np.ascontiguousarray(c) for c in chips[:half]])
            local = self._describe_here(chips[half:])
            try:
                far = remote.result()
            except ModelError:
                raise
            except Exception as exc:  # noqa: BLE001 - a dead worker is a model failure, never a skip
                raise ModelError(f"face descriptor worker failed: {type(exc).__name__}: {exc}") from None
            return np.concatenate([far, local])
        return self._describe_here(chips)

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            # spawn, not fork: the parent holds mediapipe/OpenCV threads that fork would copy half-alive.
            self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                             mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _describe_here(self, chips: list[np.ndarray]) -> np.ndarray:
        """Each descriptor is the mean of the chip's and its mirror image's: on
        data/identities this lifted the true-accept rate at zero false accepts
        (BENCHMARKS.md), for twice the compute."""
        if not chips:
            return np.zeros((0, 128), np.float32)
        batch = []
        for c in chips:
            batch.append(np.ascontiguousarray(c))
            batch.append(np.ascontiguousarray(c[:, ::-1]))
        with self._lock:
            try:
                vecs = self._net.compute_face_descriptor(batch)
            except RuntimeError as exc:
                raise ModelError(f"face descriptor failed: {exc}") from None
        arr = np.array([np.array(v) for v in vecs], dtype=np.float32).reshape(len(chips), 2, 128)
        return arr.mean(axis=1)

    def embed(self, rgb: np.ndarray, boxes, rotations=None) -> np.ndarray:
        """Descriptors for faces at `boxes`; a face with rotation k is aligned on
        the photo turned by k quarter turns, where it stands upright (dlib's
        landmark model only knows upright faces)."""
        rotations = rotations or [0] * len(boxes)
        turned = {0: rgb}
        chips = []
        for box, k in zip(boxes, rotations):
            k %= 4
            if k not in turned:
                turned[k] = np.ascontiguousarray(np.rot90(rgb, k))
            chips.append(self.align(turned[k], rotate_box(box, k, rgb.shape)).chip)
        return self.describe(chips)


#: below this many faces a worker round-trip costs more than it saves
PARALLEL_MIN_FACES = 4

_WORKER: FaceEmbedder | None = None


def _worker_describe(chips: list[np.ndarray]) -> np.ndarray:
    global _WORKER
    if _WORKER is None:
        _WORKER = FaceEmbedder(workers=0)
    return _WORKER._describe_here(chips)


def _points(shape) -> np.ndarray:
    return np.array([[shape.part(i).x, shape.part(i).y] for i in range(shape.num_parts)], dtype=np.float64)
