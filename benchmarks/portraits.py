#!/usr/bin/env python3
"""Portraits and posted-size photos: extra faces, missed people and time per photo.

Usage: python benchmarks/portraits.py ../shared/data [--sizes own,2000,3000,4000] [--set KEY=VALUE ...]
       [--list] [--turned]

The 42 single-person photos of data/identities/people, at their own size and resized (LANCZOS, JPEG
quality 90) to 2000, 3000 and 4000 px on the long side, as phones post them; plus the group photos of
data/identities/groups at their own size. Resized copies are written once into benchmarks/_work
(git-ignored; the photos keep their licences and never enter the repository).

A portrait's person is the face box in `portraits_boxes.json` (the one face found at the photo's own
size, checked by eye), scaled with the photo: found if a detection overlaps it at IoU >= 0.3; every
other detection is an extra face. A group photo has `faces_total` visible faces (labels.json) and no
boxes: detections beyond that number are extra, below it missed. Time per photo covers decoding and
the whole detector (analysis at the default 2048 px), after one warm-up photo.

`--turned` instead checks that a face is judged the same whichever way it is turned: every portrait
shrunk (LANCZOS) so its face box is 32, 40 and 48 px tall, turned 0/90/180/270 degrees, checked with a
register where each of the 14 people is a client (enrolled from their photos at full size). Per photo and
size, the person's face must be found in every turn with one identifiable flag, and every turn must get
one verdict; prints the photos where not.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from imagegate.image.loader import load_image
from imagegate.vision.detect import FaceDetector
from imagegate.vision.geometry import iou_matrix, rotate_box

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detect import parse_sets  # noqa: E402  (benchmarks/detect.py)

HERE = Path(__file__).resolve().parent
WORK = HERE / "_work" / "portraits"
BOXES = HERE / "portraits_boxes.json"
IOU = 0.3


def resized(src: Path, long_side: int) -> Path:
    """`src` resized to `long_side` px on its long side (cached in benchmarks/_work)."""
    dst = WORK / str(long_side) / src.parent.name / (src.stem + ".jpg")
    if not dst.exists():
        dst.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(src) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            k = long_side / max(im.size)
            im.resize((round(im.width * k), round(im.height * k)), Image.LANCZOS).save(dst, quality=90)
    return dst


def portraits(data: Path) -> list[Path]:
    labels = json.loads((data / "identities" / "labels.json").read_text())
    return [data / "identities" / rel for photos in labels["people"].values() for rel in photos]


def shrunk(src: Path, rel: str, boxes: dict, face_px: float) -> Image.Image:
    """The portrait resized so its person's face box is `face_px` tall."""
    with Image.open(src) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        k = face_px / (boxes[rel][3] * max(im.size) / boxes["_long_side"][rel])
        return im.resize((max(1, round(im.width * k)), max(1, round(im.height * k))), Image.LANCZOS)


def turned_verdicts(gate, photo: Image.Image, ref: np.ndarray) -> list[tuple]:
    """Per quarter turn k: (the person's face found, its identifiable flag, its height, the decision)."""
    rgb = np.asarray(photo)
    out = []
    for k in range(4):
        turned = np.ascontiguousarray(np.rot90(rgb, k))
        box = np.array(rotate_box(ref, k, rgb.shape))
        v = gate.check(Image.fromarray(turned), channel="facebook")
        det = np.array([f.box for f in v.faces]).reshape(-1, 4)
        iou = iou_matrix(det, box[None])[:, 0] if len(det) else np.zeros(0)
        if len(iou) and iou.max() >= IOU:
            face = v.faces[int(np.argmax(iou))]
            out.append((True, face.measurement.identifiable, round(face.measurement.height_px, 1), v.decision))
        else:
            out.append((False, None, None, v.decision))
    return out


def client_register(data: Path):
    """An in-memory register where each of the 14 people is a client, enrolled from their photos."""
    from imagegate.enrol import enrol
    from imagegate.gate import Gate
    from imagegate.register.store import Register
    from imagegate.vision.embed import FaceEmbedder

    labels = json.loads((data / "identities" / "labels.json").read_text())
    gate = Gate(register=Register(":memory:"), embedder=FaceEmbedder())
    for name, photos in labels["people"].items():
        enrol(gate, name, "client", [str(data / "identities" / p) for p in photos], None)
    return gate


def turned_main(data: Path, sizes=(32, 40, 48)) -> int:
    gate = client_register(data)
    boxes = json.loads(BOXES.read_text())
    rows = {px: [0, 0, 0, 0] for px in sizes}  # photos, person found in every turn, same flag, same verdict
    for src in portraits(data):
        rel = str(src.relative_to(data / "identities"))
        for px in sizes:
            photo = shrunk(src, rel, boxes, px)
            ref = np.array(boxes[rel]) * max(photo.size) / boxes["_long_side"][rel]
            turns = turned_verdicts(gate, photo, ref)
            row = rows[px]
            row[0] += 1
            row[1] += all(t[0] for t in turns)
            row[2] += len({t[1] for t in turns}) == 1
            row[3] += len({t[3] for t in turns}) == 1
            if not all(t[0] for t in turns) or len({t[1] for t in turns}) > 1 or len({t[3] for t in turns}) > 1:
                print(f"  {px} px {rel}: " + "; ".join(f"{k * 90}: {t}" for k, t in enumerate(turns)), flush=True)
    print(f"{'face px':>8}{'photos':>8}{'found in all 4 turns':>22}{'same flag':>11}{'same verdict':>14}")
    for px, (n, found, flag, verdict) in rows.items():
        print(f"{px:>8}{n:>8}{found:>22}{flag:>11}{verdict:>14}")
    gate.close()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="../shared/data")
    ap.add_argument("--sizes", default="own,2000,3000,4000")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--list", action="store_true", help="name every photo with an extra or missed face")
    ap.add_argument("--turned", action="store_true", help="faces 32-48 px turned 0-270 degrees (see above)")
    args = ap.parse_args()
    if args.turned:
        return turned_main(args.data)
    detector = FaceDetector(parse_sets(args.set))
    boxes = json.loads(BOXES.read_text())
    people = portraits(args.data)
    detector.detect(load_image(people[0]).rgb)  # warm-up

    rows = []
    for size in args.sizes.split(","):
        n = extra = missed = with_extra = 0
        times = []
        for src in people:
            rel = str(src.relative_to(args.data / "identities"))
            path = src if size == "own" else resized(src, int(size))
            t0 = time.perf_counter()
            img = load_image(path)
            faces = detector.detect(img.rgb)
            times.append(time.perf_counter() - t0)
            ref = np.array(boxes[rel], dtype=float) * (max(img.width, img.height) / boxes["_long_side"][rel])
            det = np.array([f.box for f in faces]).reshape(-1, 4)
            hit = (iou_matrix(det, ref[None])[:, 0] >= IOU) if len(det) else np.zeros(0, bool)
            n += 1
            missed += int(not hit.any())
            more = len(det) - int(hit.any())
            extra += more
            with_extra += more > 0
            if args.list and (more or not hit.any()):
                print(f"  {size:>5} {rel}: {len(det)} faces "
                      f"(heights {', '.join(f'{f.box[3]:.0f}' for f in faces)}; person {img.height}x{img.width} "
                      f"box h {ref[3]:.0f}){' MISSED' if not hit.any() else ''}")
        rows.append((f"portraits, {size}" + ("" if size == "own" else " px"), n, extra, with_extra, missed, times))

    labels = json.loads((args.data / "identities" / "labels.json").read_text())
    n = extra = missed = with_extra = 0
    times = []
    for group in labels["groups"]:
        t0 = time.perf_counter()
        faces = detector.detect(load_image(args.data / "identities" / group["file"]).rgb)
        times.append(time.perf_counter() - t0)
        n += 1
        extra += max(0, len(faces) - group["faces_total"])
        with_extra += len(faces) > group["faces_total"]
        missed += max(0, group["faces_total"] - len(faces))
        if args.list and len(faces) != group["faces_total"]:
            print(f"  group {group['file']}: {len(faces)} faces for {group['faces_total']}")
    rows.append(("groups, own size", n, extra, with_extra, missed, times))
    detector.close()

    print(f"{'photos':<22}{'n':>4}{'extra faces':>13}{'photos w/ extra':>17}{'missed':>8}{'ms/photo med':>14}"
          f"{'mean':>7}")
    for name, n, extra, with_extra, missed, times in rows:
        print(f"{name:<22}{n:>4}{extra:>13}{with_extra:>17}{missed:>8}"
              f"{statistics.median(times) * 1000:>14.0f}{statistics.mean(times) * 1000:>7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
