"""Box arithmetic shared by detection, scoring and drawing. Boxes are [x, y, w, h]."""

from __future__ import annotations

import numpy as np


def iou(a, b) -> float:
    ax2, ay2 = a[0] + a[2], a[1] + a[3]
    bx2, by2 = b[0] + b[2], b[1] + b[3]
    iw = min(ax2, bx2) - max(a[0], b[0])
    ih = min(ay2, by2) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return float(inter / (a[2] * a[3] + b[2] * b[3] - inter))


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of two arrays of [x, y, w, h] boxes."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ax1, ay1, ax2, ay2 = a[:, 0:1], a[:, 1:2], a[:, 0:1] + a[:, 2:3], a[:, 1:2] + a[:, 3:4]
    bx1, by1, bx2, by2 = b[:, 0], b[:, 1], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), 0, None)
    ih = np.clip(np.minimum(ay2, by2) - np.maximum(ay1, by1), 0, None)
    inter = iw * ih
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Indices kept by greedy non-maximum suppression, best score first.

    IoU is computed one kept box against all, never as the full pairwise matrix: a
    textured 12 MP photo gives thousands of candidate cells, and that matrix (with its
    temporaries) took ~250 MB for a moment per detector pass.
    """
    boxes = np.asarray(boxes, dtype=np.float64)
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep: list[int] = []
    suppressed = np.zeros(len(order), dtype=bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= iou_matrix(boxes[i:i + 1], boxes)[0] >= threshold
    return keep


def clip_box(box, width: int, height: int):
    x, y, w, h = box
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(width), x + w), min(float(height), y + h)
    return (x1, y1, max(0.0, x2 - x1), max(0.0, y2 - y1))


def rotate_points(pts: np.ndarray, k: int, shape) -> np.ndarray:
    """Points in `img` to `np.rot90(img, k)` coordinates (`shape` is img's)."""
    h, w = shape[:2]
    x, y = pts[:, 0], pts[:, 1]
    k %= 4
    if k == 1:
        return np.stack([y, w - x], axis=1)
    if k == 2:
        return np.stack([w - x, h - y], axis=1)
    if k == 3:
        return np.stack([h - y, x], axis=1)
    return pts.copy()


def rotate_box(box, k: int, shape) -> tuple[float, float, float, float]:
    """An [x, y, w, h] box in `img` to `np.rot90(img, k)` coordinates."""
    x, y, w, h = box
    c = rotate_points(np.array([[x, y], [x + w, y + h]], dtype=np.float64), k, shape)
    (x0, y0), (x1, y1) = c.min(axis=0), c.max(axis=0)
    return float(x0), float(y0), float(x1 - x0), float(y1 - y0)
