"""Fuzz the loader and the detector entry point (issue 7). Not part of CI or the test suite.

    python fuzz/fuzz_loader.py [--seconds 60] [--engine auto|atheris|random] [--detect-every 1]

Bytes go into `imagegate.image.loader.load_image`; whatever loads goes through
`FaceDetector.detect`. `ImageLoadError` / `ImagegateError` are the expected
outcomes for bad bytes; any other exception is a crash: the input is saved to
`fuzz/crashes/crash-<sha1>.bin` with the traceback beside it (`.txt`), and the
run goes on. Every crash found belongs in tests/image/test_fuzz_regressions.py.

Engines: atheris (coverage-guided through Pillow's and imagegate's Python code;
`pip install atheris`, never a dependency of imagegate) or, without it, a plain
random byte mutator over the same seed corpus. The seed corpus is generated
(small photos of Grace Hopper in every supported format), never committed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CRASHES = HERE / "crashes"
#: small limits keep each decode cheap; hitting them is an expected ImageLoadError
MAX_PIXELS = 2_000_000
MAX_FILE_BYTES = 4 * 1024 * 1024


def seed_corpus() -> dict[str, bytes]:
    """Small valid photos of one face in every format the loader reads, plus awkward variants."""
    import numpy as np
    from PIL import Image

    face = Image.open(ROOT / "sample_images" / "grace_hopper.jpg").convert("RGB").resize((128, 150))

    def enc(img, fmt, **kw) -> bytes:
        buf = io.BytesIO()
        img.save(buf, fmt, **kw)
        return buf.getvalue()

    exif = Image.Exif()
    exif[0x0112] = 6
    frames = [face.convert("P"), Image.new("RGB", face.size).convert("P")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=50)
    tiff = io.BytesIO()
    face.save(tiff, "TIFF", save_all=True, append_images=[face.convert("L")])
    grey16 = Image.fromarray(np.asarray(face.convert("L"), dtype=np.uint16) * 257)
    corpus = {
        "jpeg": enc(face, "JPEG", quality=80),
        "jpeg_exif6": enc(face.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=80, exif=exif.tobytes()),
        "jpeg_progressive": enc(face, "JPEG", quality=70, progressive=True),
        "jpeg_cmyk": enc(face.convert("CMYK"), "JPEG", quality=80),
        "png": enc(face, "PNG"),
        "png_palette": enc(face.convert("P"), "PNG", transparency=0),
        "png_rgba": enc(face.convert("RGBA"), "PNG"),
        "png_16bit": enc(grey16, "PNG"),
        "gif": gif.getvalue(),
        "tiff": tiff.getvalue(),
        "webp": enc(face, "WEBP", quality=70),
        "bmp": enc(face, "BMP"),
    }
    try:
        import pillow_heif  # noqa: F401 - registers the HEIF writer

        corpus["heic"] = enc(face, "HEIF", quality=60)
    except ImportError:  # pragma: no cover
        pass
    return corpus


class Target:
    """One input through the loader and the detector; unexpected exceptions are recorded."""

    def __init__(self, detect_every: int) -> None:
        from imagegate.errors import ImagegateError
        from imagegate.image.loader import Limits, load_image
        from imagegate.vision.detect import FaceDetector

        self.load_image = load_image
        self.limits = Limits(max_pixels=MAX_PIXELS, max_file_bytes=MAX_FILE_BYTES)
        self.expected = ImagegateError
        self.detector = FaceDetector()
        self.detect_every = max(1, detect_every)
        self.runs = self.loaded = 0
        self.crashes: dict[str, str] = {}  # crash signature -> saved file

    def __call__(self, data: bytes) -> None:
        self.runs += 1
        try:
            img = self.load_image(data, self.limits)
        except self.expected:
            return
        except Exception:  # noqa: BLE001 - this is what we are looking for
            self._record("load_image", data)
            return
        self.loaded += 1
        if self.loaded % self.detect_every:
            return
        try:
            self.detector.detect(img.rgb)
        except self.expected:
            return
        except Exception:  # noqa: BLE001
            self._record("detect", data)

    def _record(self, stage: str, data: bytes) -> None:
        etype, exc, tb = sys.exc_info()
        frames = traceback.extract_tb(tb)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
        signature = f"{stage}:{etype.__name__}@{where}"
        if signature in self.crashes:
            return
        CRASHES.mkdir(parents=True, exist_ok=True)
        name = f"crash-{hashlib.sha1(data).hexdigest()}"
        (CRASHES / f"{name}.bin").write_bytes(data)
        (CRASHES / f"{name}.txt").write_text(
            f"{signature}\n{len(data)} bytes\n\n" + "".join(traceback.format_exception(etype, exc, tb)))
        self.crashes[signature] = name
        print(f"\nCRASH {signature} -> {CRASHES / name}.bin ({len(data)} bytes)", file=sys.stderr, flush=True)

    def summary(self, seconds: float) -> str:
        lines = [f"{self.runs} inputs in {seconds:.0f} s, {self.loaded} decoded, {len(self.crashes)} crash(es)"]
        lines += [f"  {sig} -> {name}.bin" for sig, name in self.crashes.items()]
        return "\n".join(lines)


def run_random(target: Target, corpus: dict[str, bytes], seconds: float, seed: int) -> None:
    """A plain mutational fuzzer: bit flips, byte sets, splices, cuts, interesting integers."""
    rng = random.Random(seed)
    seeds = list(corpus.values())
    pool = list(seeds)
    interesting = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\xff\xff", b"\x00\x00", b"\xff\xff\xff\xff",
                   b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00", b"\x00\x01", b"\x01\x00"]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        data = bytearray(rng.choice(pool))
        for _ in range(rng.randint(1, 8)):
            op = rng.random()
            if not data:
                break
            i = rng.randrange(len(data))
            if op < 0.3:
                data[i] ^= 1 << rng.randrange(8)
            elif op < 0.5:
                data[i] = rng.randrange(256)
            elif op < 0.65:
                tok = rng.choice(interesting)
                data[i:i + len(tok)] = tok
            elif op < 0.75:
                del data[i:i + rng.randint(1, 64)]
            elif op < 0.85:
                other = rng.choice(seeds)
                j = rng.randrange(len(other))
                data[i:] = other[j:j + rng.randint(1, 4096)]
            elif op < 0.92:
                data = data[:i]
            else:
                data[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
        data = bytes(data)
        target(data)
        if rng.random() < 0.02:  # keep a few mutants as parents
            pool.append(data)
            if len(pool) > 200:
                pool.pop(len(seeds))


def run_atheris(target: Target, corpus: dict[str, bytes], seconds: float, seed: int) -> None:
    import atheris

    work = Path(tempfile.mkdtemp(prefix="imagegate-fuzz-"))
    for name, data in corpus.items():
        (work / name).write_bytes(data)
    start = time.monotonic()

    def one(data: bytes) -> None:
        target(data)
        if time.monotonic() - start > seconds:  # libFuzzer exits without running Python's atexit
            print(target.summary(time.monotonic() - start), flush=True)
            os._exit(1 if target.crashes else 0)

    args = [sys.argv[0], str(work), f"-seed={seed}", "-timeout=30", "-rss_limit_mb=3000",
            f"-max_len={max(len(d) for d in corpus.values()) * 2}", "-print_final_stats=0"]
    atheris.Setup(args, one)
    atheris.Fuzz()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    ap.add_argument("--engine", choices=("auto", "atheris", "random"), default="auto")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--detect-every", type=int, default=1,
                    help="run the detector on every Nth input that decodes (default: every one)")
    ns = ap.parse_args()
    warnings.simplefilter("ignore")  # Pillow warns about every corrupt EXIF block it survives
    sys.path.insert(0, str(ROOT))
    engine = ns.engine
    if engine in ("auto", "atheris"):
        try:
            import atheris
        except ImportError:
            if engine == "atheris":
                print("atheris is not installed (pip install atheris)", file=sys.stderr)
                return 2
            engine = "random"
        else:
            engine = "atheris"
            # before anything imports them: coverage feedback from Pillow's and imagegate's Python code
            with atheris.instrument_imports(include=["PIL", "imagegate"]):
                import PIL.Image  # noqa: F401

                import imagegate.image.loader  # noqa: F401
                import imagegate.image.metadata  # noqa: F401
    from imagegate.vision import quiet  # noqa: F401 - silence native logs before mediapipe loads
    corpus = seed_corpus()
    target = Target(ns.detect_every)
    print(f"fuzzing load_image + FaceDetector.detect with {engine} for {ns.seconds:.0f} s "
          f"({len(corpus)} seeds)", flush=True)
    start = time.monotonic()
    try:
        if engine == "atheris":
            run_atheris(target, corpus, ns.seconds, ns.seed)
        else:
            run_random(target, corpus, ns.seconds, ns.seed)
    finally:
        target.detector.close()
    print(target.summary(time.monotonic() - start))
    return 1 if target.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
