#!/usr/bin/env python3
"""False accepts of the strict threshold on degraded faces (data/identities, issue 14).

Usage: python benchmarks/degraded_matches.py ../shared/data/identities [--strict T] [--consent T] [--loose T]

The register's templates come from clean, full-size enrolment photos; the photos
checked later are often small crops, downscaled or saved at low JPEG quality. So
every photo of labels.json is enrolled clean (its largest face), then checked
degraded: the whole photo shrunk so that face is 40/60/80/120 px tall, and/or
re-encoded at JPEG quality 30 or 10. Each degraded face is compared with every
other photo's clean template, per person as the matcher does (a person's nearest
template). A false accept is a degraded face strictly within the threshold of
someone else; the table gives them per condition with the closest such distance,
the true-accept rate, at the strict threshold and at consent_strict (the threshold
below which a consent allows).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np
from identities import largest_faces  # noqa: E402 - the sibling script, run from benchmarks/

from imagegate.config import Settings
from imagegate.vision.embed import FaceEmbedder

SIZES = (None, 120, 80, 60, 40)
QUALITIES = (None, 30, 10)


def degrade(rgb: np.ndarray, box, size: int | None, quality: int | None):
    """The photo shrunk so the face is `size` px tall (never enlarged) and JPEG re-encoded; the box moved along."""
    x, y, w, h = box
    k = min(1.0, size / h) if size else 1.0
    if k < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(rgb.shape[1] * k)), max(1, round(rgb.shape[0] * k))),
                         interpolation=cv2.INTER_AREA)
    if quality is not None:
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        rgb = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(rgb), (x * k, y * k, w * k, h * k)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--strict", type=float, default=Settings().match_strict)
    ap.add_argument("--loose", type=float, default=Settings().match_loose)
    ap.add_argument("--consent", type=float, default=Settings().consent_strict,
                    help="the threshold below which a consent allows (default: consent_strict)")
    ap.add_argument("--json", type=Path, help="also write the per-condition figures here")
    args = ap.parse_args()
    embedder = FaceEmbedder()
    photos = largest_faces(args.data_dir)  # (person, rgb, box, file)
    who = np.array([p for p, _, _, _ in photos])
    clean = np.stack([embedder.embed(rgb, [box])[0] for _, rgb, box, _ in photos]).astype(np.float64)
    people = sorted(set(who))
    rows, probes = [], []
    print(f"photos {len(photos)}, people {len(people)}; strict {args.strict}, consent {args.consent}, "
          f"loose {args.loose}")
    print(f"{'face px':>7} {'JPEG q':>6} {'faces':>5} {'strict FA':>9} {'consent FA':>10} {'loose FA':>8} "
          f"{'closest other':>13} {'TAR strict':>10} {'TAR consent':>11}")
    for size in SIZES:
        for quality in QUALITIES:
            fa_strict = fa_consent = fa_loose = tried = same_ok = same_consent = same_n = 0
            closest, sharp = [], []
            for i, (person, rgb, box, rel) in enumerate(photos):
                if size and box[3] < size * 0.9:
                    continue  # already smaller than the condition: not degraded to it
                small, sbox = degrade(rgb, box, size, quality)
                aligned = embedder.align(small, sbox)
                vec = embedder.describe([aligned.chip])[0].astype(np.float64)
                sharp.append(aligned.sharpness)
                d = np.linalg.norm(clean - vec, axis=1)
                d[i] = np.inf  # never against its own clean template
                tried += 1
                probes.append({"size": size, "quality": quality, "photo": rel, "sharpness": aligned.sharpness,
                               "distances": {o: float(d[who == o].min()) for o in people}})
                for other in people:
                    dm = d[who == other].min()
                    if other == person:
                        if np.isfinite(dm):
                            same_n += 1
                            same_ok += dm < args.strict
                            same_consent += dm < args.consent
                        continue
                    closest.append(float(dm))
                    if dm < args.strict:
                        print(f"    false accept: {rel} as {other} at {dm:.3f}")
                    fa_strict += dm < args.strict
                    fa_consent += dm < args.consent
                    fa_loose += dm < args.loose
            row = {"size": size, "quality": quality, "faces": tried, "strict_false_accepts": int(fa_strict),
                   "consent_false_accepts": int(fa_consent), "tar_consent": float(same_consent / max(1, same_n)),
                   "loose_false_accepts": int(fa_loose), "closest_other": float(min(closest)),
                   "tar_strict": float(same_ok / max(1, same_n)), "sharpness_p50": float(np.median(sharp))}
            rows.append(row)
            print(f"{size or 'full':>7} {quality or '-':>6} {tried:>5} {fa_strict:>9} {fa_consent:>10} {fa_loose:>8} "
                  f"{row['closest_other']:>13.3f} {row['tar_strict']:>10.3f} {row['tar_consent']:>11.3f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "probes": probes}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
