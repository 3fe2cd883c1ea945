#!/usr/bin/env python3
"""Face-match distance distributions and thresholds on data/identities (issue: consent register).

Usage: python benchmarks/identities.py ../shared/data/identities [--strict T] [--loose T]

Embeds the largest face of every enrolment photo in labels.json, builds all
same-person and different-person pairs, and prints the distance distributions,
true-accept / false-accept rates over a grid of thresholds and at the chosen
strict and loose thresholds (defaults: imagegate's Settings).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

from imagegate.config import Settings
from imagegate.image.loader import load_image
from imagegate.vision.detect import FaceDetector
from imagegate.vision.embed import FaceEmbedder


def largest_faces(data_dir: Path) -> list[tuple[str, object, tuple, str]]:
    """(person, rgb, box of the largest face, photo) for every photo of labels.json with a face."""
    labels = json.loads((data_dir / "labels.json").read_text())
    detector = FaceDetector()
    out = []
    for person, photos in labels["people"].items():
        for rel in photos:
            img = load_image(data_dir / rel)
            faces = detector.detect(img.rgb)
            if not faces:
                print(f"no face found in {rel}", file=sys.stderr)
                continue
            out.append((person, img.rgb, max(faces, key=lambda f: f.box[2] * f.box[3]).box, rel))
    detector.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--strict", type=float, default=Settings().match_strict)
    ap.add_argument("--loose", type=float, default=Settings().match_loose)
    args = ap.parse_args()
    embedder = FaceEmbedder()
    photos = largest_faces(args.data_dir)
    who = [person for person, _, _, _ in photos]
    v = np.array([embedder.embed(rgb, [box])[0] for _, rgb, box, _ in photos])
    same, diff = [], []
    for i, j in itertools.combinations(range(len(v)), 2):
        d = float(np.linalg.norm(v[i] - v[j]))
        (same if who[i] == who[j] else diff).append(d)
    same, diff = np.array(same), np.array(diff)
    print(f"photos {len(v)}, people {len(set(who))}, same pairs {len(same)}, different pairs {len(diff)}")
    q = [0, 5, 25, 50, 75, 95, 100]
    print("same-person distance percentiles  " + " ".join(f"p{p}={np.percentile(same, p):.3f}" for p in q))
    print("diff-person distance percentiles  " + " ".join(f"p{p}={np.percentile(diff, p):.3f}" for p in q))
    print(f"{'threshold':>9} {'TAR':>6} {'FAR':>8} {'false accepts':>14}")
    for t in np.arange(0.40, 0.751, 0.025):
        print(f"{t:9.3f} {np.mean(same < t):6.3f} {np.mean(diff < t):8.4f} {int(np.sum(diff < t)):14d}")
    for name, t in (("strict", args.strict), ("loose", args.loose)):
        print(f"{name}: threshold {t:.3f}  TAR {np.mean(same < t):.4f}  FAR {np.mean(diff < t):.4f} "
              f"({int(np.sum(diff < t))} false accepts of {len(diff)})")
    print(f"closest different-person pair: {diff.min():.3f}; farthest same-person pair: {same.max():.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
