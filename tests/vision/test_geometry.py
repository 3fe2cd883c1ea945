"""Geometry helpers: NMS keeps exactly what textbook greedy NMS over the full IoU matrix keeps."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imagegate.vision.geometry import iou_matrix, nms


def reference_nms(boxes, scores, threshold):
    ious = iou_matrix(boxes, boxes)
    keep, suppressed = [], np.zeros(len(boxes), dtype=bool)
    for i in np.argsort(-np.asarray(scores), kind="stable"):
        if not suppressed[i]:
            keep.append(int(i))
            suppressed |= ious[i] >= threshold
    return keep


box = st.tuples(st.integers(0, 60), st.integers(0, 60), st.integers(0, 30), st.integers(0, 30))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(box, st.sampled_from([0.1, 0.5, 0.5, 0.9, 0.95])), max_size=60),
       st.sampled_from([0.3, 0.4, 0.5]))
def test_nms_equals_the_full_matrix_version(items, threshold):
    boxes = np.array([b for b, _ in items], dtype=np.float64).reshape(-1, 4)
    scores = np.array([s for _, s in items])
    assert nms(boxes, scores, threshold) == reference_nms(boxes, scores, threshold)


def test_nms_keeps_the_best_of_overlapping_boxes_and_separate_ones():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 10, 10]], dtype=np.float64)
    assert nms(boxes, np.array([0.6, 0.9, 0.5]), 0.4) == [1, 2]
