#!/usr/bin/env python3
"""Score imagegate's face detector on an annotations.json set (DESIGN.md §4).

Usage: python benchmarks/detect.py ../shared/data/faces-detect [--set key=value ...] [--json]

A detection matches a ground-truth face at IoU >= 0.3. Recall is per face-height
bucket over valid faces (one detection per face, greedy by IoU); precision is
detections matching any box (valid or `invalid`) over all detections. Time per
image covers the whole pipeline including decoding, after one warm-up image.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from imagegate.image.loader import load_image
from imagegate.vision.detect import DetectorSettings, FaceDetector
from imagegate.vision.geometry import iou_matrix

BUCKETS = [("<20", 0, 20), ("20-40", 20, 40), ("40-80", 40, 80), (">=80", 80, 1e9)]
IOU = 0.3


def parse_sets(pairs: list[str]) -> DetectorSettings:
    base = DetectorSettings()
    types = {f.name: type(getattr(base, f.name)) for f in fields(base)}
    changes = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in types:
            raise SystemExit(f"unknown detector setting {key!r}; known: {', '.join(types)}")
        changes[key] = value.lower() in ("1", "true", "yes") if types[key] is bool else types[key](value)
    return replace(base, **changes)


def score_image(dets: np.ndarray, gt_valid: np.ndarray, gt_all: np.ndarray):
    matched_gt = np.zeros(len(gt_valid), dtype=bool)
    if len(dets) and len(gt_valid):
        m = iou_matrix(gt_valid, dets)
        used = np.zeros(len(dets), dtype=bool)
        for gi, di in sorted(np.argwhere(m >= IOU).tolist(), key=lambda p: -m[p[0], p[1]]):
            if not matched_gt[gi] and not used[di]:
                matched_gt[gi] = used[di] = True
    tp_dets = int((iou_matrix(dets, gt_all) >= IOU).any(axis=1).sum()) if len(dets) and len(gt_all) else 0
    return matched_gt, tp_dets


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--misses", action="store_true", help="list missed faces >= 20 px")
    args = ap.parse_args()
    settings = parse_sets(args.set)
    ann = json.loads((args.data_dir / "annotations.json").read_text())["images"]

    detector = FaceDetector(settings)
    detector.detect(load_image(args.data_dir / ann[0]["file"]).rgb)  # warm-up
    hits = {b[0]: [0, 0] for b in BUCKETS}
    n_det = n_tp = 0
    times = []
    misses = []
    for entry in ann:
        t0 = time.perf_counter()
        img = load_image(args.data_dir / entry["file"])
        faces = detector.detect(img.rgb)
        times.append(time.perf_counter() - t0)
        dets = np.array([f.box for f in faces]).reshape(-1, 4)
        gt_all = np.array([f["box"] for f in entry["faces"]], dtype=float).reshape(-1, 4)
        valid = [f for f in entry["faces"] if not f["invalid"]]
        gt_valid = np.array([f["box"] for f in valid], dtype=float).reshape(-1, 4)
        matched, tp = score_image(dets, gt_valid, gt_all)
        n_det += len(dets)
        n_tp += tp
        for face, ok in zip(valid, matched, strict=False):
            # an upscaled copy (benchmarks/make_upscaled.py) is bucketed by the original face size
            h = face["box"][3] / entry.get("upscaled_by", 1.0)
            for name, lo, hi in BUCKETS:
                if lo <= h < hi:
                    hits[name][0] += int(ok)
                    hits[name][1] += 1
                    if not ok and h >= 20:
                        misses.append((entry["file"], face["box"], {k: face[k] for k in ("blur", "occlusion", "pose")}))
    detector.close()

    result = {
        "recall": {k: round(v[0] / v[1], 3) if v[1] else None for k, v in hits.items()},
        "faces": {k: v[1] for k, v in hits.items()},
        "recall_ge40": round((hits["40-80"][0] + hits[">=80"][0]) / (hits["40-80"][1] + hits[">=80"][1]), 3),
        "precision": round(n_tp / n_det, 3) if n_det else None,
        "detections": n_det,
        "ms_per_image_median": round(statistics.median(times) * 1000),
        "ms_per_image_mean": round(statistics.mean(times) * 1000),
        "images": len(ann),
        "settings": settings.to_dict(),
        "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}".strip(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"images {len(ann)}, detections {n_det}, precision {result['precision']}")
    print(f"{'bucket':<8}{'faces':>7}{'recall':>8}")
    for name, _, _ in BUCKETS:
        print(f"{name:<8}{hits[name][1]:>7}{result['recall'][name]:>8}")
    print(f"recall >=40 px: {result['recall_ge40']}")
    print(f"ms/image: median {result['ms_per_image_median']}, mean {result['ms_per_image_mean']}")
    if args.misses:
        for m in misses:
            print("miss", *m)
    return 0


if __name__ == "__main__":
    sys.exit(main())
