"""Face detection: CenterFace proposals at two scales, verified and completed by BlazeFace.

Why an ensemble (measured in BENCHMARKS.md): whole-image BlazeFace sees the photo
at 128-192 px and misses most crowd faces; CenterFace finds small faces well but
its low-confidence proposals include clutter and it under-fires on very large
close-ups. So:

1. CenterFace on the analysis image (long side <= `analysis_long_side`) finds
   faces of every size down to ~10 px; a second, coarse CenterFace pass at
   `coarse_long_side` catches close-ups that fill the frame.
2. Proposals scoring >= `accept_score` are kept. Weaker ones (>= `propose_score`)
   are re-examined by BlazeFace short-range on an upscaled crop around them and
   kept only if it confirms a face there.
3. BlazeFace full-range over the whole image adds large faces CenterFace missed.
4. Overlapping detections are merged by NMS.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from dataclasses import dataclass, field

import cv2
import numpy as np

from . import quiet
from .errors import ModelError
from .geometry import clip_box, iou_matrix, nms
from .modelfiles import model_file

CENTERFACE_OUTPUTS = ["537", "538", "539", "540"]


@dataclass(frozen=True)
class DetectorSettings:
    analysis_long_side: int = 2048
    coarse_long_side: int = 640
    propose_score: float = 0.2
    accept_score: float = 0.5
    verify_score: float = 0.5
    verify_context: float = 2.2
    blazeface_score: float = 0.6
    min_face_px: float = 6.0
    nms_iou: float = 0.4
    flip: bool = False

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Face:
    """One detected face. Coordinates are pixels of the orientation-corrected image."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[tuple[float, float], ...] = field(default=())
    source: str = "centerface"

    @property
    def height(self) -> float:
        return self.box[3]

    def to_dict(self) -> dict:
        return {
            "box": [round(v, 1) for v in self.box],
            "score": round(self.score, 3),
            "landmarks": [[round(x, 1), round(y, 1)] for x, y in self.landmarks],
            "source": self.source,
        }


class FaceDetector:
    """Loads the detection models once; `detect()` is safe to call from one thread at a time."""

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self._lock = threading.Lock()
        centerface = model_file("centerface")
        short = model_file("blazeface-short-range")
        full = model_file("blazeface-full-range-sparse")
        self.model_ids = {m.id: m.sha256[:12] for m in (centerface, short, full)}
        try:
            self._centerface = cv2.dnn.readNetFromONNX(str(centerface.path))
        except cv2.error as exc:
            raise ModelError(f"CenterFace model {centerface.path} failed to load: {exc}") from None
        with quiet.native_stderr_silenced():
            self._short = _blazeface(short.path, self.settings.verify_score)
            self._full = _blazeface(full.path, self.settings.blazeface_score)
            # The first inference prints its own warnings; get them out of the way here.
            warm = np.zeros((128, 128, 3), np.uint8)
            self._run_blazeface(self._short, warm)
            self._run_blazeface(self._full, warm)
        _LIVE.add(self)

    # -- public -----------------------------------------------------------------

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """All faces in an H x W x 3 uint8 RGB image, sorted by position."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an H x W x 3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
        with self._lock:
            if self._centerface is None:
                raise ModelError("the face detector has been closed")
            try:
                return self._detect(rgb)
            except cv2.error as exc:
                raise ModelError(f"face detection failed inside OpenCV: {exc}") from None

    def close(self) -> None:
        for name in ("_short", "_full"):
            det = getattr(self, name, None)
            if det is not None:
                try:
                    with quiet.native_stderr_silenced():
                        det.close()
                except Exception:  # noqa: BLE001 - closing must never raise at exit
                    pass
                setattr(self, name, None)
        self._centerface = None

    def __enter__(self) -> "FaceDetector":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- pipeline ---------------------------------------------------------------

    def _detect(self, rgb: np.ndarray) -> list[Face]:
        s = self.settings
        h, w = rgb.shape[:2]
        boxes: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        lms: list[np.ndarray] = []
        sources: list[str] = []

        fine_scale = min(1.0, s.analysis_long_side / max(h, w))
        fine = _resize(rgb, fine_scale)
        cand = self._centerface_pass(fine, fine_scale, s.propose_score)
        coarse_scale = min(1.0, s.coarse_long_side / max(h, w))
        if coarse_scale < fine_scale * 0.75:
            coarse = self._centerface_pass(_resize(rgb, coarse_scale), coarse_scale, s.propose_score)
            cand = _concat(cand, coarse)

        cb, cs, cl = cand
        strong = cs >= s.accept_score
        verified = np.zeros(len(cs), dtype=bool)
        for i in np.flatnonzero(~strong):
            verified[i] = self._verify(fine, cb[i] * fine_scale)
        keep = strong | verified
        for i in np.flatnonzero(keep):
            boxes.append(cb[i])
            scores.append(cs[i])
            lms.append(cl[i])
            sources.append("centerface" if strong[i] else "centerface+blazeface")

        # Whole-image BlazeFace: large faces CenterFace missed.
        for box, score, lm in self._blazeface_faces(self._full, rgb):
            boxes.append(box)
            scores.append(score)
            lms.append(lm)
            sources.append("blazeface")

        if not boxes:
            return []
        b = np.array(boxes, dtype=np.float64)
        sc = np.array(scores, dtype=np.float64)
        faces = []
        for i in nms(b, sc, s.nms_iou):
            box = clip_box(tuple(float(v) for v in b[i]), w, h)
            if box[2] < s.min_face_px or box[3] < s.min_face_px:
                continue
            lm = tuple((float(x), float(y)) for x, y in np.asarray(lms[i]).reshape(-1, 2))
            faces.append(Face(box=box, score=float(sc[i]), landmarks=lm, source=sources[i]))
        faces.sort(key=lambda f: (round(f.box[1] / 8), f.box[0]))
        return faces

    def _centerface_pass(self, img: np.ndarray, scale: float, threshold: float):
        b, s, l = self._centerface_run(img, threshold)
        if self.settings.flip:
            fb, fs, fl = self._centerface_run(np.ascontiguousarray(img[:, ::-1]), threshold)
            iw = img.shape[1]
            fb[:, 0] = iw - fb[:, 0] - fb[:, 2]
            fl = fl.reshape(-1, 5, 2)
            fl[:, :, 0] = iw - fl[:, :, 0]
            fl = fl[:, [1, 0, 2, 4, 3], :].reshape(-1, 10)  # mirror left/right points
            b, s, l = _concat((b, s, l), (fb, fs, fl))
            keep = nms(b, s, 0.5)
            b, s, l = b[keep], s[keep], l[keep]
        return b / scale, s, l / scale

    def _centerface_run(self, img: np.ndarray, threshold: float):
        h, w = img.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        padded = np.zeros((ph, pw, 3), np.uint8)
        padded[:h, :w] = img
        blob = padded.transpose(2, 0, 1)[None].astype(np.float32)
        self._centerface.setInput(blob)
        heat, scale, offset, land = self._centerface.forward(CENTERFACE_OUTPUTS)
        heat = heat[0, 0]
        ys, xs = np.nonzero(heat > threshold)
        if len(ys) == 0:
            return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 10))
        sh = np.exp(scale[0, 0, ys, xs]) * 4
        sw = np.exp(scale[0, 1, ys, xs]) * 4
        cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
        cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
        x1 = cx - sw / 2
        y1 = cy - sh / 2
        boxes = np.stack([x1, y1, sw, sh], axis=1)
        score = heat[ys, xs].astype(np.float64)
        land_pts = np.empty((len(ys), 10))
        for j in range(5):
            land_pts[:, 2 * j] = land[0, 2 * j + 1, ys, xs] * sw + x1
            land_pts[:, 2 * j + 1] = land[0, 2 * j, ys, xs] * sh + y1
        keep = nms(boxes, score, 0.3)
        return boxes[keep], score[keep], land_pts[keep]

    def _verify(self, img: np.ndarray, box: np.ndarray) -> bool:
        """Does BlazeFace short-range confirm a face on an upscaled crop around `box`?"""
        x, y, bw, bh = box
        side = max(bw, bh) * self.settings.verify_context
        cx, cy = x + bw / 2, y + bh / 2
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        s = int(round(side))
        if s < 4:
            return False
        crop = _crop_padded(img, x0, y0, s)
        crop = cv2.resize(crop, (128, 128), interpolation=cv2.INTER_LINEAR if s < 128 else cv2.INTER_AREA)
        target = np.array([[(x - x0) * 128 / s, (y - y0) * 128 / s, bw * 128 / s, bh * 128 / s]])
        for vb, _score, _lm in self._blazeface_faces(self._short, crop):
            if iou_matrix(np.array([vb]), target)[0, 0] >= 0.25:
                return True
        return False

    def _blazeface_faces(self, detector, rgb: np.ndarray):
        h, w = rgb.shape[:2]
        result = self._run_blazeface(detector, rgb)
        for d in result.detections:
            bb = d.bounding_box
            box = np.array([bb.origin_x, bb.origin_y, bb.width, bb.height], dtype=np.float64)
            kp = d.keypoints or []
            # BlazeFace keypoints: right eye, left eye, nose, mouth, right ear, left ear.
            # Keep CenterFace's order (eye, eye, nose, mouth-left, mouth-right) where possible.
            pts = [(k.x * w, k.y * h) for k in kp[:4]]
            if len(pts) == 4:
                pts = [pts[0], pts[1], pts[2], pts[3], pts[3]]
            yield box, float(d.categories[0].score), np.array(pts, dtype=np.float64).reshape(-1)

    @staticmethod
    def _run_blazeface(detector, rgb: np.ndarray):
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        return detector.detect(image)


def _blazeface(path, min_score: float):
    try:
        from mediapipe.tasks.python import BaseOptions, vision

        opts = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            min_detection_confidence=min_score,
            running_mode=vision.RunningMode.IMAGE,
        )
        return vision.FaceDetector.create_from_options(opts)
    except Exception as exc:  # noqa: BLE001 - surface any mediapipe failure as a model error
        raise ModelError(f"BlazeFace model {path} failed to load: {exc}") from None


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 0.999:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _crop_padded(img: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    out = np.zeros((side, side, 3), np.uint8)
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(w, x0 + side), min(h, y0 + side)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


def _concat(a, b):
    return tuple(np.concatenate([x, y]) for x, y in zip(a, b))


# mediapipe detectors raise in __del__ at interpreter exit unless closed first.
_LIVE: "weakref.WeakSet[FaceDetector]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for det in list(_LIVE):
        det.close()
