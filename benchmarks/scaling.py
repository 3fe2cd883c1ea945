#!/usr/bin/env python3
"""Time per photo against image size and number of faces (issue: speed).

Usage: python benchmarks/scaling.py ../shared/data [--runs 3] [--work DIR] [--channel facebook]

In one process with the models loaded once (what a watcher or a batch worker
does), times `Gate.check` including decoding from a JPEG file:

* image size: one group photo from data/identities resized to 1, 3, 12 and 24 MP
  (JPEG quality 92);
* faces: 1, 10 and 50 faces, a grid of face crops from data/identities on a
  3 MP canvas (every face identifiable, so every face is embedded and matched).

Prints the median of `--runs` runs per row, plus faces found and peak memory
(ru_maxrss of this process, after all rows).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from imagegate.enrol import enrol
from imagegate.gate import Gate
from imagegate.register.store import Register
from imagegate.vision.embed import FaceEmbedder

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="../shared/data")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/imagegate-scaling"))
    ap.add_argument("--channel", default="facebook",
                    help="twitter, website and print show photos larger, so they are analysed larger")
    args = ap.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    labels = json.loads((args.data / "identities" / "labels.json").read_text())
    group = args.data / "identities" / "groups" / "ms_identification1.jpg"  # a family of four

    reg = Register(":memory:")
    gate = Gate(register=reg, embedder=FaceEmbedder())
    enrol(gate, "Grace Hopper", "client", [str(ROOT / "sample_images" / "grace_hopper.jpg")], None)
    enrol(gate, "Eileen Collins", "staff", [str(ROOT / "sample_images" / "astronaut.png")], None)
    gate.check(ROOT / "sample_images" / "grace_hopper.jpg", channel="facebook")  # warm-up

    rows = []
    for mp in (1, 3, 12, 24):
        path = work / f"size_{mp}mp.jpg"
        if not path.exists():
            with Image.open(group) as im:
                im = im.convert("RGB")
                k = (mp * 1e6 / (im.width * im.height)) ** 0.5
                im.resize((round(im.width * k), round(im.height * k)), Image.LANCZOS).save(path, quality=92)
        rows.append((f"{mp} MP ({group.name})", *measure(gate, path, args.runs, args.channel)))
    crops = face_crops(gate, args.data / "identities", labels)
    for n in (1, 10, 50):
        path = work / f"faces_{n}.jpg"
        if not path.exists():
            grid(crops, n).save(path, quality=92)
        rows.append((f"{n} faces (3 MP grid)", *measure(gate, path, args.runs, args.channel)))

    print(f"channel {args.channel}")
    print(f"{'photo':34} {'s per photo':>11} {'faces':>6} {'embedded':>9}")
    for name, secs, faces, embedded in rows:
        print(f"{name:34} {secs:11.2f} {faces:6d} {embedded:9d}")
    print(f"peak memory (this process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    gate.close()
    return 0


def measure(gate: Gate, path: Path, runs: int, channel: str):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        v = gate.check(path, channel=channel)
        times.append(time.perf_counter() - t0)
    embedded = sum(1 for f in v.faces if f.match is not None)
    return statistics.median(times), len(v.faces), embedded


def face_crops(gate: Gate, root: Path, labels: dict) -> list[Image.Image]:
    crops = []
    for photos in labels["people"].values():
        for rel in photos:
            a = gate.analyse(root / rel)
            if not a.faces:
                continue
            x, y, w, h = max(a.faces, key=lambda f: f.box[3]).box
            m = 0.4 * h
            box = (int(max(0, x - m)), int(max(0, y - m)), int(min(a.image.width, x + w + m)),
                   int(min(a.image.height, y + h + m)))
            crops.append(Image.fromarray(a.image.rgb).crop(box))
    return crops


def grid(crops: list[Image.Image], n: int) -> Image.Image:
    canvas = Image.new("RGB", (2000, 1500), (200, 200, 200))
    cols = int(np.ceil(np.sqrt(n * 4 / 3)))
    rows = int(np.ceil(n / cols))
    cw, ch = 2000 // cols, 1500 // rows
    side = int(min(cw, ch) * 0.85)
    for i in range(n):
        c = crops[i % len(crops)].resize((side, side), Image.LANCZOS)
        canvas.paste(c, ((i % cols) * cw + (cw - side) // 2, (i // cols) * ch + (ch - side) // 2))
    return canvas


if __name__ == "__main__":
    sys.exit(main())
