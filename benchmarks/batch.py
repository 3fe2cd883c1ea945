#!/usr/bin/env python3
"""Batch throughput with 1 and 2 workers, and peak memory of a long batch (issue: speed).

Usage:
    python benchmarks/batch.py ../shared/data/faces-detect [--work DIR] [--count-12mp 100] [--runs 3]

1. Throughput: `imagegate check --jobs 1` and `--jobs 2` on the photos of the folder (whole process,
   median of --runs), and the ratio.
2. Memory: `imagegate check --jobs 2` on --count-12mp distinct 12-MP JPEGs (the folder's photos upscaled,
   mirrored and shifted so no two files are identical), peak resident memory of the whole process tree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import run_measured  # noqa: E402

IMAGEGATE = str(Path(sys.executable).parent / "imagegate")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", type=Path)
    ap.add_argument("--work", type=Path, default=Path("/tmp/imagegate-batch"))
    ap.add_argument("--count-12mp", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--register", type=Path, default=None, help="register to check against (default: none)")
    args = ap.parse_args()
    reg = ["--register", str(args.register)] if args.register else []
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    n = len(photos)

    secs = {}
    for jobs in () if args.skip_throughput else (1, 2):
        runs = [run_measured([IMAGEGATE, *reg, "check", "--json", "--jobs", str(jobs), str(args.photos)])
                for _ in range(args.runs)]
        secs[jobs] = statistics.median(r["wall_s"] for r in runs)
        print(f"--jobs {jobs}: {secs[jobs]:.1f} s for {n} photos = {secs[jobs] / n:.2f} s/photo "
              f"(runs {', '.join(format(r['wall_s'], '.1f') for r in runs)}), "
              f"peak {max(r['peak_mb'] for r in runs):.0f} MB",
              flush=True)
    if secs:
        print(f"throughput 2 workers / 1 worker: {secs[1] / secs[2]:.2f}x")

    if args.count_12mp:
        folder = make_12mp_set(photos, args.work / "mp12-distinct", args.count_12mp)
        r = run_measured([IMAGEGATE, *reg, "check", "--json", "--jobs", "2", str(folder)])
        print(f"{args.count_12mp} distinct 12-MP photos, --jobs 2: {r['wall_s']:.0f} s "
              f"({r['wall_s'] / args.count_12mp:.2f} s/photo), peak memory of the process tree: "
              f"RSS {r['peak_mb']:.0f} MB, PSS {r['peak_pss_mb']:.0f} MB")
    return 0


def make_12mp_set(photos: list[Path], folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        dst = folder / f"{i:03d}.jpg"
        if dst.exists():
            continue
        src = photos[i % len(photos)]
        with Image.open(src) as im:
            im = im.convert("RGB")
            if (i // len(photos)) % 2:
                im = ImageOps.mirror(im)
            k = (12_000_000 / (im.width * im.height)) ** 0.5
            im = im.resize((round(im.width * k) + i // len(photos), round(im.height * k)), Image.LANCZOS)
            im.save(dst, quality=92)
    return folder


if __name__ == "__main__":
    sys.exit(main())
