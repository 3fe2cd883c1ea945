"""What judging what viewers see costs on 12-MP photos: a check's time for an opaque JPEG as cameras
and phones write them, against another checkout (e.g. the code before views were added).

    python benchmarks/views.py --other ../main --rounds 3

Each round runs this checkout and `--other` in turn (fresh processes, models loaded once per process,
the first check discarded), so both see the same machine load. Photos (generated into a temporary
folder from ../shared/data/faces-detect, or from sample_images when that is absent):
plain (no profile, no thumbnail), camera (HP sRGB profile from the evaluation photos + an EXIF
thumbnail made from the same pixels, letterboxed 160 x 120), phone (Display P3 profile).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def _profile(description: str) -> bytes | None:
    from PIL import Image, ImageCms

    for path in sorted(DATA.rglob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        icc = Image.open(path).info.get("icc_profile")
        if icc and ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip() == description:
            return icc
    return None


def _exif_with_thumbnail(thumb: bytes) -> bytes:
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHI", 0x0112, 3, 1) + struct.pack("<HH", 1, 0) + struct.pack("<I", 26)
    ifd1 = (struct.pack("<H", 3) + struct.pack("<HHI", 0x0103, 3, 1) + struct.pack("<HH", 6, 0)
            + struct.pack("<HHII", 0x0201, 4, 1, 68) + struct.pack("<HHII", 0x0202, 4, 1, len(thumb))
            + struct.pack("<I", 0))
    return b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd0 + ifd1 + thumb


def make_photos(folder: Path) -> dict[str, Path]:
    from PIL import Image

    crowd = sorted((DATA / "faces-detect").glob("*.jpg"))
    src = Image.open(crowd[0] if crowd else ROOT / "sample_images" / "coffee.png").convert("RGB")
    big = src.resize((4000, round(4000 * src.height / src.width)), Image.Resampling.LANCZOS)
    thumb = Image.new("RGB", (160, 120))
    small = big.copy()
    small.thumbnail((160, 120))
    thumb.paste(small, ((160 - small.width) // 2, (120 - small.height) // 2))
    tbuf = io.BytesIO()
    thumb.save(tbuf, "JPEG", quality=75)
    out = {}
    variants = {"plain": {}, "camera": {"icc_profile": _profile("sRGB IEC61966-2.1"),
                                        "exif": _exif_with_thumbnail(tbuf.getvalue())},
                "phone": {"icc_profile": _profile("Display")}}
    for name, extra in variants.items():
        path = folder / f"{name}.jpg"
        big.save(path, "JPEG", quality=90, **{k: v for k, v in extra.items() if v})
        out[name] = path
    return out


def run_one(photos: dict[str, str], repeat: int) -> dict:
    """In a fresh process of the checkout on sys.path: seconds per check of each photo."""
    from imagegate.gate import Gate
    from imagegate.image.loader import load_image

    gate = Gate()
    gate.check(photos["plain"], channel="facebook")  # warm-up: models, caches
    times, loads, views = {}, {}, {}
    for name, path in photos.items():
        runs, load_runs = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            img = load_image(path)
            load_runs.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            gate.check(path, channel="facebook")
            runs.append(time.perf_counter() - t0)
        times[name] = statistics.median(runs)
        loads[name] = statistics.median(load_runs)
        views[name] = [v.kind for v in getattr(img, "views", ())]
    return {"times": times, "loads": loads, "views": views}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--other", type=Path, required=True, help="another checkout to compare with")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        print(json.dumps(run_one(json.loads(args._child), args.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        photos = {k: str(v) for k, v in make_photos(Path(tmp)).items()}
        results: dict[str, list[dict]] = {"this": [], "other": []}
        for _ in range(args.rounds):
            for label, checkout in (("other", args.other.resolve()), ("this", ROOT)):
                env = {**os.environ, "PYTHONPATH": str(checkout), "IMAGEGATE_MODELS_DIR": str(checkout / "models"),
                       "XDG_DATA_HOME": tmp}
                out = subprocess.run([sys.executable, __file__, "--other", str(args.other), "--repeat",
                                      str(args.repeat), "--_child", json.dumps(photos)],
                                     env=env, capture_output=True, text=True, check=True)
                results[label].append(json.loads(out.stdout.strip().splitlines()[-1]))
    def cell(label, key, name):
        vals = [r[key][name] for r in results[label]]
        return f"{statistics.median(vals):.2f} ({min(vals):.2f}-{max(vals):.2f})"

    print("| photo (12 MP) | check, other s | check, this s | loading, other s | loading, this s | views here |")
    print("|---|---|---|---|---|---|")
    for name in photos:
        print(f"| {name} | {cell('other', 'times', name)} | {cell('this', 'times', name)} | "
              f"{cell('other', 'loads', name)} | {cell('this', 'loads', name)} | "
              f"{', '.join(results['this'][0]['views'][name]) or 'none'} |")


if __name__ == "__main__":
    main()
