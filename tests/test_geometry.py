"""Geometry helpers: NMS keeps exactly what textbook greedy NMS over the full IoU matrix keeps."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from imagegate.geometry import iou_matrix, nested_in_better, nms


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


def test_a_part_of_a_larger_better_face_is_dropped_and_neighbours_are_not():
    boxes = np.array([
        [1542, 1099, 636, 758],   # a face ~750 px tall (seen at full resolution for print)
        [1586, 1247, 336, 486],   # CenterFace's eyes-and-nose part of it: IoU 0.34, NMS keeps it
        [2258, 1275, 839, 1163],  # the next face, overlapping the first a little
        [100, 100, 40, 50],       # a small face elsewhere
        [2300, 1300, 300, 400],   # a part of the third face that scores *higher* than it: kept
    ], dtype=float)
    scores = np.array([0.88, 0.57, 0.91, 0.60, 0.95])
    keep = nms(boxes, scores, 0.4)
    assert sorted(keep) == [0, 1, 2, 3, 4]
    assert nested_in_better(boxes, scores, keep) == {1}
    assert nested_in_better(boxes, scores, [1]) == set()
