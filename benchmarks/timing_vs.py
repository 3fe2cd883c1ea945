#!/usr/bin/env python3
"""Time per ~12-MP photo: an older commit's `Gate.analyse` against this checkout's, interleaved.

Usage: python benchmarks/timing_vs.py ../shared/data --old cda38d3 [--rounds 1]

The old package is taken from git (`git archive OLD imagegate`) into benchmarks/_work and imported beside
this one, so both run in one process on the same machine at the same moment: photo by photo, alternating
which goes first. Photos: every fourth of data/faces-detect upscaled to ~12 MP (12) and every fourth
portrait at 4000 px (11), cached in benchmarks/_work. On a loaded machine the absolute times mean little;
the ratio is the measurement.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_upscaled import upscale  # noqa: E402
from portraits import WORK, portraits, resized  # noqa: E402


def old_package(commit: str):
    """The `imagegate` package of `commit`, importable as `imagegate_old`."""
    root = WORK.parent / f"old-{commit}"
    if not (root / "imagegate_old").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", commit, "imagegate"],
                                 check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
        (root / "imagegate").rename(root / "imagegate_old")
    sys.path.insert(0, str(root))
    return importlib.import_module("imagegate_old.gate"), importlib.import_module("imagegate_old.loader"), \
        importlib.import_module("imagegate_old.register")


def photos(data: Path) -> list[Path]:
    work = WORK.parent / "faces-detect-12mp"
    work.mkdir(parents=True, exist_ok=True)
    ann = json.loads((data / "faces-detect" / "annotations.json").read_text())["images"]
    out = []
    for entry in ann[::4][:12]:
        upscale(data / "faces-detect" / entry["file"], work / entry["file"])
        out.append(work / entry["file"])
    return out + [resized(p, 4000) for p in portraits(data)[::4][:11]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="../shared/data")
    ap.add_argument("--old", required=True, help="the commit to compare with")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    from imagegate.gate import Gate
    from imagegate.image.loader import load_image
    from imagegate.register.store import Register

    old_gate, old_loader, old_register = old_package(args.old)
    gates = {"old": old_gate.Gate(register=old_register.Register(":memory:")),
             "new": Gate(register=Register(":memory:"))}
    loaders = {"old": old_loader.load_image, "new": load_image}
    files = photos(args.data)
    for name in gates:
        gates[name].analyse(loaders[name](files[0]), channel="facebook")  # warm-up
    times = {"old": [], "new": []}
    for rnd in range(args.rounds):
        for i, path in enumerate(files):
            order = ["old", "new"] if (i + rnd) % 2 == 0 else ["new", "old"]
            for name in order:
                img = loaders[name](path)
                t0 = time.perf_counter()
                gates[name].analyse(img, channel="facebook")
                times[name].append(time.perf_counter() - t0)
            print(f"{path.name:55} old {times['old'][-1]:6.2f} s  new {times['new'][-1]:6.2f} s", flush=True)
    for name, t in times.items():
        print(f"{name}: median {statistics.median(t):.2f} s, sum {sum(t):.1f} s")
    print(f"new / old (sum): {sum(times['new']) / sum(times['old']):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
