#!/usr/bin/env python3
"""An upscaled copy of an annotations.json detection set, e.g. 12-MP versions of data/faces-detect.

Usage: python benchmarks/make_upscaled.py ../shared/data/faces-detect /tmp/faces-detect-12mp [--megapixels 12]

Each photo is resized (LANCZOS) to about the given megapixels and saved as JPEG quality 92, its boxes
scaled with it; each image entry records `upscaled_by`, which benchmarks/detect.py uses to put faces in
the size buckets of the original photo, so the table compares with the one at the original size. The
photos keep their licences: the output is for local benchmarking, never for the repository.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image, ImageOps


def upscale(src: Path, dst: Path, megapixels: float = 12.0, *, mirror: bool = False,
            extra_width: int = 0) -> tuple[int, int]:
    """Write `src` resized (LANCZOS) to about `megapixels`, as JPEG quality 92, to `dst` (an existing
    `dst` is kept); returns the size. `mirror` and `extra_width` make distinct files of one photo."""
    with Image.open(src) as im:
        k = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
        size = (round(im.width * k) + extra_width, round(im.height * k))
        if not dst.exists():
            im = im.convert("RGB")
            if mirror:
                im = ImageOps.mirror(im)
            im.resize(size, Image.LANCZOS).save(dst, quality=92)
    return size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--megapixels", type=float, default=12.0)
    args = ap.parse_args()
    ann = json.loads((args.data_dir / "annotations.json").read_text())
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for entry in ann["images"]:
        size = upscale(args.data_dir / entry["file"], args.out_dir / entry["file"], args.megapixels)
        kx, ky = size[0] / entry["width"], size[1] / entry["height"]
        entry.update(width=size[0], height=size[1], upscaled_by=(kx + ky) / 2)
        for face in entry["faces"]:
            x, y, w, h = face["box"]
            face["box"] = [x * kx, y * ky, w * kx, h * ky]
    ann["info"]["upscaled"] = f"resized to ~{args.megapixels} MP by benchmarks/make_upscaled.py"
    (args.out_dir / "annotations.json").write_text(json.dumps(ann, indent=1))
    print(f"{len(ann['images'])} photos in {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
