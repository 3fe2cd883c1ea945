#!/usr/bin/env python3
"""The web page's speed: a 12-MP phone photo's verdict from a warm `imagegate serve`, next to the cold
`imagegate check` of the same photo.

Usage: python benchmarks/serve.py [--runs 7] [--cold-runs 3] [--photo sample_images/grace_hopper.jpg]

The photo is the sample (Grace Hopper, a registered client: detection, description and matching all run)
resized (LANCZOS) to ~12 MP as JPEG quality 92, like a phone's. The server is started as users start it
(`imagegate serve`, its own process, models loaded once); each run uploads the photo over HTTP and times
until the answer is in: `POST /api/check` as a script sends it, and as the page sends it (with the page's
token, so the answer also carries the card with its annotated preview that the page shows). Cold = the
whole `imagegate check --json` process for the same photo (interpreter, imports, models, one check).
Prints a markdown table (median, min, max).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_upscaled import upscale  # noqa: E402


def build_register(path: Path, photo: Path) -> None:
    from imagegate.enrol import enrol
    from imagegate.gate import Gate
    from imagegate.register.store import Register

    with Register(path) as reg, Gate(register=reg) as gate:
        enrol(gate, "Grace Hopper", "client", [str(photo)])


def multipart(fields: dict[str, str], name: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="{name}"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post(url: str, body: bytes, content_type: str, headers: dict | None = None) -> tuple[float, bytes]:
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": content_type, **(headers or {})})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=600) as r:
        answer = r.read()
    return time.perf_counter() - t0, answer


def start_server(register: Path) -> tuple[subprocess.Popen, str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "imagegate.cli.main", "--register", str(register), "serve",
                             "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    for line in proc.stdout:
        m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if m:
            url = m.group(1)
            break
    else:
        raise SystemExit("imagegate serve did not start")
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return proc, url, time.perf_counter() - t0
        except OSError:
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux): on a machine loaded by others, the work a
    request costs, where wall time also counts the waiting for a core."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stats(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--photo", type=Path, default=ROOT / "sample_images" / "grace_hopper.jpg")
    ap.add_argument("--megapixels", type=float, default=12.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="imagegate-bench-serve-") as tmp:
        tmp = Path(tmp)
        big = tmp / "phone.jpg"
        size = upscale(args.photo, big, args.megapixels)
        register = tmp / "register.sqlite3"
        build_register(register, args.photo)
        data = big.read_bytes()

        proc, url, start = start_server(register)
        try:
            html = urllib.request.urlopen(url).read().decode()
            csrf = html.split('data-csrf="', 1)[1].split('"', 1)[0]
            page = html.split('data-page="', 1)[1].split('"', 1)[0]
            api, on_page, api_cpu, page_cpu, decisions = [], [], [], [], set()
            for i in range(args.runs + 1):  # the first run of each is not counted (connection, caches)
                body, ctype = multipart({"channel": "facebook"}, "phone.jpg", data)
                c0 = cpu_seconds(proc.pid)
                t, answer = post(url + "api/check", body, ctype)
                c1 = cpu_seconds(proc.pid)
                decisions.add(re.search(rb'"decision":"(\w+)"', answer).group(1).decode())
                body, ctype = multipart({"channel": "facebook", "page": page}, "phone.jpg", data)
                tp, answer = post(url + "api/check", body, ctype, {"X-CSRF-Token": csrf})
                c2 = cpu_seconds(proc.pid)
                assert b'"html"' in answer
                if i:
                    api.append(t)
                    on_page.append(tp)
                    api_cpu.append(c1 - c0)
                    page_cpu.append(c2 - c1)
        finally:
            proc.terminate()
            proc.wait()

        cold, cold_cpu = [], []
        for _ in range(args.cold_runs):
            t0, r0 = time.perf_counter(), os.times()
            subprocess.run([sys.executable, "-m", "imagegate.cli.main", "--register", str(register), "check",
                            str(big), "--json"], capture_output=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
            r1 = os.times()
            cold.append(time.perf_counter() - t0)
            cold_cpu.append(r1.children_user + r1.children_system - r0.children_user - r0.children_system)

    print(f"photo: {args.photo.name} resized to {size[0]} x {size[1]} ({size[0] * size[1] / 1e6:.1f} MP), "
          f"{len(data) / 1e6:.1f} MB JPEG; verdict {', '.join(sorted(decisions))}; "
          f"server start to first page {start:.1f} s")
    print()
    print("| 12-MP photo, upload to verdict | median s | min s | max s | CPU s (median) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| warm `imagegate serve`, `POST /api/check` (a script) | {stats(api)} | "
          f"{statistics.median(api_cpu):.2f} |")
    print(f"| warm `imagegate serve`, as the page sends it (verdict + card with preview) | {stats(on_page)} | "
          f"{statistics.median(page_cpu):.2f} |")
    print(f"| cold `imagegate check --json` (whole process) | {stats(cold)} | "
          f"{statistics.median(cold_cpu):.2f} |")
    print()
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (1 min), {os.getloadavg()[2]:.1f} (15 min); "
          f"{os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
