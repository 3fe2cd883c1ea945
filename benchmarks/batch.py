#!/usr/bin/env python3
"""Batch throughput with 1 and 2 workers, and peak memory of a long batch (issue: speed).

Usage:
    python benchmarks/batch.py ../shared/data/faces-detect [--work DIR] [--count-12mp 100] [--runs 3]

1. Throughput on the photos of the folder (whole process, median of --runs): one worker on one core
   (`--jobs 1` with OpenCV and ONNX Runtime capped to one thread), `--jobs 1` as is (OpenCV also uses the second core),
   and `--jobs 2` (two single-threaded workers); the ratios.
2. Memory: `imagegate check --jobs 2` on --count-12mp distinct 12-MP JPEGs (the folder's photos upscaled,
   mirrored and shifted so no two files are identical), peak resident memory of the whole process tree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_upscaled import upscale  # noqa: E402
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

    # "one worker" is one process on one core (OpenCV capped to one thread, as in each of the
    # pool's workers); `--jobs 1` as users run it also lets OpenCV use the second core.
    configs = {
        "1 worker, 1 core": (1, {"OPENCV_FOR_THREADS_NUM": "1", "IMAGEGATE_THREADS": "1"}),
        "--jobs 1 (OpenCV on both cores)": (1, None),
        "--jobs 2 (2 workers)": (2, None),
    }
    secs = {}
    for name, (jobs, env) in ({} if args.skip_throughput else configs).items():
        runs = [run_measured([IMAGEGATE, *reg, "check", "--json", "--jobs", str(jobs), str(args.photos)], env=env)
                for _ in range(args.runs)]
        secs[name] = statistics.median(r["wall_s"] for r in runs)
        print(f"{name}: {secs[name]:.1f} s for {n} photos = {secs[name] / n:.2f} s/photo "
              f"(runs {', '.join(format(r['wall_s'], '.1f') for r in runs)}), "
              f"peak {max(r['peak_mb'] for r in runs):.0f} MB",
              flush=True)
    if secs:
        one, jobs1, two = (secs[k] for k in configs)
        print(f"throughput 2 workers / 1 worker on 1 core: {one / two:.2f}x; "
              f"2 workers / --jobs 1: {jobs1 / two:.2f}x")

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
        upscale(photos[i % len(photos)], folder / f"{i:03d}.jpg", 12.0, mirror=bool((i // len(photos)) % 2),
                extra_width=i // len(photos))
    return folder


if __name__ == "__main__":
    sys.exit(main())
