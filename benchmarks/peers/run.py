#!/usr/bin/env python3
"""Whole-process speed of imagegate against the tools people would otherwise use (issue: speed).

Usage:
    python benchmarks/peers/run.py ../shared/data/faces-detect [--work DIR] [--runs 3] [--limit-12mp N]

What it does:
1. Creates a separate virtual environment (``DIR/peers-venv``) with the two peers from PyPI:
   face_recognition 1.3.0 (with dlib-bin, face_recognition_models; the plain ``dlib`` sdist is not
   built) and deface 1.5.0 (with onnxruntime, its documented CPU accelerator).
2. Builds the photo sets: the 1024-px photos as they are, and 12-MP versions of them (upscaled,
   JPEG quality 92) in ``DIR/mp12``.
3. Enrols the same known people for both recognisers (``sample_images/`` grace_hopper and
   astronaut: a KNOWN_DIR for face_recognition, a register for imagegate).
4. Times each tool, whole process (interpreter start, model load, all photos), ``--runs`` times:
   ``face_recognition KNOWN_DIR PHOTOS_DIR``, ``deface PHOTOS... -o OUT``, ``imagegate check PHOTOS_DIR``.
   Reports seconds per photo (median over runs), CPU seconds per photo (user + system, children
   included), peak memory of the whole process tree (sampled from /proc every 20 ms), faces
   reported, and imagegate's ratios against each peer from the same run.

Results are printed as a table and written to ``DIR/peers.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
from make_upscaled import upscale  # noqa: E402
from measure import run_measured  # noqa: E402

PEER_PACKAGES = [
    ["dlib-bin>=19.24,<21", "face_recognition_models==0.3.0", "Click>=6", "numpy", "Pillow",
     "deface==1.5.0", "onnxruntime"],
    ["--no-deps", "face_recognition==1.3.0"],  # its `dlib` requirement would compile the sdist
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", type=Path, help="folder of 1024-px photos (e.g. ../shared/data/faces-detect)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/imagegate-peers"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit-12mp", type=int, default=0, help="use only the first N photos for the 12-MP set")
    ap.add_argument("--sets", default="1024,12mp")
    ap.add_argument("--tools", default="imagegate,face_recognition,deface")
    args = ap.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    venv = ensure_peer_venv(work / "peers-venv")
    known = make_known(work)
    register = make_register(work)
    sets = {}
    src = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    if "1024" in args.sets:
        sets["1024 px"] = link_set(src, work / "set1024")
    if "12mp" in args.sets:
        sets["12 MP"] = make_12mp(src[: args.limit_12mp or None], work / "mp12")
    tools = {
        "imagegate": lambda d, out: [str(Path(sys.executable).parent / "imagegate"), "--register", str(register),
                                     "check", "--json", str(d)],
        "face_recognition": lambda d, out: [str(venv / "bin" / "face_recognition"), str(known), str(d)],
        # one output path for every input: deface still blurs, encodes and writes each photo, and the
        # input folder stays free of *_anonymized copies that a later run would pick up
        "deface": lambda d, out: [str(venv / "bin" / "deface"), *map(str, sorted(d.iterdir())),
                                  "--output", str(out / "anonymized.jpg")],
    }
    wanted = args.tools.split(",")
    results = {}
    for set_name, folder in sets.items():
        n = len(list(folder.iterdir()))
        for tool in wanted:
            runs = []
            for r in range(args.runs):
                out = work / f"out-{tool}"
                shutil.rmtree(out, ignore_errors=True)
                out.mkdir()
                m = run_measured(tools[tool](folder, out))
                runs.append({**m, "faces": count_faces(tool, m.pop("stdout"))})
                print(f"  {set_name:7} {tool:17} run {r + 1}: {runs[-1]['wall_s']:.1f} s, "
                      f"peak {runs[-1]['peak_mb']:.0f} MB, faces {runs[-1]['faces']}", flush=True)
            results[(set_name, tool)] = summarise(runs, n)
    report(results, sets, args, work)
    return 0


# -- environment ----------------------------------------------------------------------------------


def ensure_peer_venv(venv: Path) -> Path:
    if (venv / "bin" / "face_recognition").exists() and (venv / "bin" / "deface").exists():
        return venv
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    for pkgs in PEER_PACKAGES:
        subprocess.run(pip + pkgs, check=True)
    return venv


def make_known(work: Path) -> Path:
    known = work / "known"
    known.mkdir(exist_ok=True)
    for name, file in (("grace_hopper", "grace_hopper.jpg"), ("eileen_collins", "astronaut.png")):
        dst = known / f"{name}{Path(file).suffix}"
        if not dst.exists():
            shutil.copy(ROOT / "sample_images" / file, dst)
    return known


def make_register(work: Path) -> Path:
    reg = work / "register.sqlite3"
    if reg.exists():
        return reg
    ig = str(Path(sys.executable).parent / "imagegate")
    subprocess.run([ig, "--register", str(reg), "register", "add", "Grace Hopper", "--role", "client",
                    "--photo", str(ROOT / "sample_images" / "grace_hopper.jpg")], check=True, capture_output=True)
    subprocess.run([ig, "--register", str(reg), "register", "add", "Eileen Collins", "--role", "staff",
                    "--photo", str(ROOT / "sample_images" / "astronaut.png")], check=True, capture_output=True)
    subprocess.run([ig, "--register", str(reg), "register", "consent", "Eileen Collins", "--channel", "all"],
                   check=True, capture_output=True)
    return reg


def link_set(src: list[Path], folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    for p in src:
        if not (folder / p.name).exists():
            shutil.copy(p, folder / p.name)
    return folder


def make_12mp(src: list[Path], folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    for p in src:
        upscale(p, folder / p.name, 12.0)
    return folder


# -- measuring ------------------------------------------------------------------------------------


def count_faces(tool: str, out: bytes) -> int | None:
    text = out.decode("utf-8", "replace")
    if tool == "imagegate":
        try:
            return sum(len(r["faces"]) for r in json.loads(text))
        except (ValueError, KeyError, TypeError):
            return None
    if tool == "face_recognition":
        # one "file,name" line per face found ("no_persons_found" when there is none)
        return sum(1 for line in text.splitlines() if "," in line and not line.endswith(",no_persons_found"))
    return None  # deface does not report faces


def summarise(runs: list[dict], n: int) -> dict:
    return {
        "photos": n,
        "runs": len(runs),
        "s_per_photo": statistics.median(r["wall_s"] for r in runs) / n,
        "cpu_s_per_photo": statistics.median(r["cpu_s"] for r in runs) / n,
        "peak_mb": max(r["peak_mb"] for r in runs),
        "faces": runs[-1]["faces"],
        "wall_s": [round(r["wall_s"], 2) for r in runs],
    }


def report(results: dict, sets: dict, args, work: Path) -> None:
    print()
    print(f"{'set':8} {'tool':17} {'photos':>6} {'s/photo':>8} {'CPU s/photo':>11} {'peak MB':>8} {'faces':>6}"
          f"  {'imagegate speed-up':>18}")
    for (set_name, tool), r in results.items():
        ig = results.get((set_name, "imagegate"))
        ratio = f"{r['s_per_photo'] / ig['s_per_photo']:.2f}x" if ig and tool != "imagegate" else ""
        faces = "-" if r["faces"] is None else str(r["faces"])
        print(f"{set_name:8} {tool:17} {r['photos']:6d} {r['s_per_photo']:8.2f} {r['cpu_s_per_photo']:11.2f} "
              f"{r['peak_mb']:8.0f} {faces:>6}  {ratio:>18}")
    machine = {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
               "processor": platform.processor() or _cpu_model()}
    payload = {"machine": machine, "results": [{"set": s, "tool": t, **r} for (s, t), r in results.items()]}
    (work / "peers.json").write_text(json.dumps(payload, indent=2))
    print(f"\nmachine: {machine}; details in {work / 'peers.json'}")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


if __name__ == "__main__":
    sys.exit(main())
