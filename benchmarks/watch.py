#!/usr/bin/env python3
"""Does the watched folder keep up with a photographer's upload? (issue: speed)

Usage:
    python benchmarks/watch.py PHOTOS_DIR [--register REG] [--count 40] [--interval 2.0] [--jobs 2]

Starts `imagegate watch` on an empty inbox, waits until it is ready, then copies the first --count
JPEGs of PHOTOS_DIR into the inbox one every --interval seconds (0 = all at once, a card dump), each
arriving atomically (copied under a dotfile name, then renamed). Reports, from the audit log, how long
each photo took from arrival to its audit line (median, 95th percentile, max), the sort rate once the
watcher is busy, and peak memory of the watcher's process tree. A watcher that keeps up has a delay
that does not grow along the upload.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import tree_rss_kb  # noqa: E402

IMAGEGATE = str(Path(sys.executable).parent / "imagegate")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", type=Path)
    ap.add_argument("--register", type=Path, default=None)
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between arrivals (0 = all at once)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[: args.count]
    with tempfile.TemporaryDirectory() as tmp:
        inbox, out = Path(tmp) / "inbox", Path(tmp) / "out"
        inbox.mkdir()
        reg = ["--register", str(args.register)] if args.register else []
        proc = subprocess.Popen([IMAGEGATE, *reg, "--lang", "en", "watch", str(inbox), "--out", str(out),
                                 "--jobs", str(args.jobs)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        ready = proc.stdout.readline()  # the startup line comes once the workers are up
        if not ready:
            raise SystemExit("imagegate watch did not start")
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss_kb(proc.pid))
                time.sleep(0.05)

        threading.Thread(target=sample, daemon=True).start()
        arrived: dict[str, float] = {}
        sorted_at: dict[str, float] = {}
        audit = out / "audit.jsonl"

        def poll_audit() -> None:  # while photos are still arriving
            while not done.is_set():
                if audit.exists():
                    for line in audit.read_text().splitlines():
                        name = json.loads(line).get("file")
                        if name in arrived and name not in sorted_at:
                            sorted_at[name] = time.monotonic()
                time.sleep(0.1)

        threading.Thread(target=poll_audit, daemon=True).start()
        t0 = time.monotonic()
        for i, src in enumerate(photos):
            name = f"{i:03d}_{src.name}"
            tmp_name = inbox / f".{name}.copying"
            shutil.copyfile(src, tmp_name)
            arrived[name] = time.monotonic()
            os.rename(tmp_name, inbox / name)
            if args.interval:
                time.sleep(max(0.0, t0 + (i + 1) * args.interval - time.monotonic()))
        deadline = time.monotonic() + 60 + 30 * len(photos)
        while len(sorted_at) < len(photos) and time.monotonic() < deadline:
            time.sleep(0.1)
        done.set()
        proc.terminate()
        proc.wait(timeout=60)
    if len(sorted_at) < len(photos):
        raise SystemExit(f"only {len(sorted_at)} of {len(photos)} photos were sorted in time")
    # audit lines are polled every 0.1 s, so delays carry up to that much extra
    delays = sorted(sorted_at[n] - arrived[n] for n in arrived)
    first, last = min(sorted_at.values()), max(sorted_at.values())
    rate = (len(photos) - 1) / (last - first) * 60 if last > first else float("nan")
    print(f"{len(photos)} photos from {args.photos}, one every {args.interval} s, --jobs {args.jobs}")
    print(f"arrival -> audit line: median {statistics.median(delays):.1f} s, "
          f"p95 {delays[int(0.95 * (len(delays) - 1))]:.1f} s, max {delays[-1]:.1f} s")
    first_half = statistics.median([sorted_at[n] - arrived[n] for n in list(arrived)[: len(arrived) // 2]])
    second_half = statistics.median([sorted_at[n] - arrived[n] for n in list(arrived)[len(arrived) // 2:]])
    print(f"median delay, first half of the upload {first_half:.1f} s, second half {second_half:.1f} s")
    print(f"sorted {rate:.0f} photos per minute between the first and the last; "
          f"peak memory of the watcher's process tree (RSS) {peak[0] / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
