#!/usr/bin/env python3
"""Which detections are faces, by detector score (issue 14: what counts towards a crowd).

Usage: python benchmarks/crowd_scores.py ../shared/data/faces-detect

A crowd is counted from detections one can be sure are faces: a box on a jacket must
not make nine people ten. Per score band, the share of detections that match an
annotated face (valid or `invalid`, IoU >= 0.3, as benchmarks/detect.py counts
precision) over the 46 WIDER FACE photos.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from imagegate.image.loader import load_image
from imagegate.vision.detect import FaceDetector
from imagegate.vision.geometry import iou_matrix

BANDS = (0.0, 0.35, 0.40, 0.45, 0.50, 0.60, 0.80, 1.01)
IOU = 0.3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    args = ap.parse_args()
    ann = json.loads((args.data_dir / "annotations.json").read_text())["images"]
    detector = FaceDetector()
    scores, faces = [], []
    for entry in ann:
        found = detector.detect(load_image(args.data_dir / entry["file"]).rgb)
        dets = np.array([f.box for f in found]).reshape(-1, 4)
        gt = np.array([f["box"] for f in entry["faces"]], dtype=float).reshape(-1, 4)
        hit = (iou_matrix(dets, gt) >= IOU).any(axis=1) if len(dets) and len(gt) else np.zeros(len(dets), bool)
        scores += [f.score for f in found]
        faces += hit.tolist()
    detector.close()
    scores, faces = np.array(scores), np.array(faces)
    print(f"images {len(ann)}, detections {len(scores)}, faces among them {int(faces.sum())}")
    print(f"{'score':>11} {'detections':>10} {'faces':>6} {'precision':>9}   {'at or above':>11} {'precision':>9}")
    for lo, hi in zip(BANDS, BANDS[1:], strict=False):
        band = (scores >= lo) & (scores < hi)
        above = scores >= lo
        print(f"{lo:.2f}-{min(hi, 1):.2f} {int(band.sum()):>10} {int(faces[band].sum()):>6} "
              f"{faces[band].mean() if band.any() else float('nan'):>9.3f}   {int(above.sum()):>11} "
              f"{faces[above].mean():>9.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
