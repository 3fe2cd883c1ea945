#!/usr/bin/env python3
"""Close-ups cut by the frame: how often a face filling the photo past its edges is found.

Usage: python benchmarks/closeups.py ../shared/data

Photos: the two sample photos and every third photo of data/identities/people that show exactly one
face. Each is cropped to a square of 0.5 ... 1.5 times its face box around the face's centre and resized
to 800 px; the detector runs with the close-up pass (default settings) and without it
(`closeup_long_side = 0`). Prints, per crop, how many photos had a face found, and how many crops the
close-up pass gave more faces than there were (it should add none where a face was already found).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from imagegate.vision.detect import DetectorSettings, FaceDetector

ROOT = Path(__file__).resolve().parents[1]
CUTS = (0.5, 0.6, 0.7, 0.8, 1.0, 1.5)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="../shared/data")
    args = ap.parse_args()
    without = FaceDetector(DetectorSettings(closeup_long_side=0))
    with_pass = FaceDetector(DetectorSettings())
    files = [ROOT / "sample_images" / "grace_hopper.jpg", ROOT / "sample_images" / "astronaut.png"]
    files += sorted((args.data / "identities" / "people").glob("*/*"))[::3]
    found = {c: [0, 0, 0, 0] for c in CUTS}  # photos, found without, found with, extra faces
    for path in files:
        with Image.open(path) as im:
            rgb = ImageOps.exif_transpose(im).convert("RGB")
        faces = without.detect(np.asarray(rgb))
        if len(faces) != 1:
            continue
        x, y, w, h = faces[0].box
        cx, cy, side = x + w / 2, y + h / 2, max(w, h)
        for cut in CUTS:
            half = side * cut / 2
            crop = np.asarray(rgb.crop((int(cx - half), int(cy - half), int(cx + half), int(cy + half)))
                              .resize((800, 800), Image.LANCZOS))
            a, b = without.detect(crop), with_pass.detect(crop)
            row = found[cut]
            row[0] += 1
            row[1] += bool(a)
            row[2] += bool(b)
            row[3] += len(b) > max(1, len(a))
    print(f"{'crop (x face box)':>18} {'photos':>7} {'found without':>14} {'found with':>11} {'extra faces':>12}")
    for cut, (n, a, b, extra) in found.items():
        print(f"{cut:>18} {n:>7} {a:>14} {b:>11} {extra:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
