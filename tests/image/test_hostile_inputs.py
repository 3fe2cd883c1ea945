"""Hostile, broken and awkward inputs, driven through the CLI (issue 7).

The corpus is generated here, never committed. Broken files must each give a
clear per-file error (decision `error`, exit 4 for the batch), never `allowed`,
without a traceback and in bounded time and memory, while the good photos of the
same batch are still checked. Valid-but-awkward photos of one face must give
exactly that face and, with an empty register, `needs_consent`.

(tests/image/test_loader.py covers the same formats inside the loader; here they go
the whole way through `imagegate check`.)
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import struct
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from imagegate.cli.main import app

from ..conftest import SAMPLES, CliRunner, json_lines
from .test_loader import BAD, FORMATS, _broken_crc_png, _png_claiming, encode, hopper
from .view_inputs import BI_RLE8, bmp

runner = CliRunner()
HOPPER = SAMPLES / "grace_hopper.jpg"
HOPPER_BYTES = HOPPER.read_bytes()


# -- helpers ---------------------------------------------------------------------------

def check_json(*args: str | os.PathLike, config: Path | None = None, register: Path | None = None):
    """`imagegate check --json --jobs 1 ARGS`: (exit code, {file: result}, raw result)."""
    pre = []
    if config is not None:
        pre += ["--config", str(config)]
    if register is not None:
        pre += ["--register", str(register)]
    r = runner.invoke(app, [*pre, "check", "--json", "--jobs", "1", *map(os.fsdecode, args)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output
    out = json_lines(r.stdout)
    by_file = {o["file"]: o for o in out}
    assert len(by_file) == len(out), "a file was reported twice"
    return r.exit_code, by_file, r


def assert_error(result: dict, path: Path | str, *words: str) -> None:
    assert result["decision"] == "error", result
    assert result["faces"] == [] and result["reasons"] == []
    message = result["error"]["message"]
    assert os.path.basename(os.fsdecode(path)) in message, message
    for w in words:
        assert w in message, f"{w!r} not in {message!r}"


def assert_one_face_needs_consent(result: dict) -> None:
    assert result["decision"] == "needs_consent", (result["file"], result.get("error"))
    assert len(result["faces"]) == 1, (result["file"], len(result["faces"]))
    assert result["faces"][0]["identifiable"] is True
    assert [r["code"] for r in result["reasons"] if r["rule"]] == ["unknown"]


def jpeg_claiming(width: int, height: int) -> bytes:
    """Grace Hopper's JPEG with its SOF0 frame header rewritten to claim width x height."""
    data = bytearray(HOPPER_BYTES)
    sof = data.find(b"\xff\xc0")
    assert sof > 0 and struct.unpack(">HH", data[sof + 5:sof + 9]) == (600, 512)
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def png_bomb(side: int = 12000) -> bytes:
    """A real 1-bit greyscale PNG of side x side zeros: ~20 KB that inflates to `side`² pixels."""
    row = b"\x00" * (1 + (side + 7) // 8)
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(side)) + z.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def jpeg_with_corrupt_exif() -> bytes:
    """Grace Hopper with an EXIF block whose IFD promises 5 entries and holds none (Pillow warns)."""
    app1 = b"Exif\x00\x00" + b"II*\x00\x08\x00\x00\x00" + struct.pack("<H", 5)
    return HOPPER_BYTES[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + HOPPER_BYTES[2:]


CUTS = [int(len(HOPPER_BYTES) * (i + 0.5) / 20) for i in range(20)]
RANDOM_SUFFIXES = (".jpg", ".png", ".heic", ".webp", ".gif", ".tif")


def broken_corpus(root: Path) -> dict[str, tuple[str, ...]]:
    """Write the broken files into `root`; returns {file name: words its error must contain}."""
    rng = random.Random(7)
    expected: dict[str, tuple[str, ...]] = {}

    def put(name: str, data: bytes, *words: str) -> None:
        (root / name).write_bytes(data)
        expected[name] = words

    put("empty.jpg", b"", "the file is empty (0 bytes)")
    for suffix in RANDOM_SUFFIXES:
        put(f"random{suffix}", rng.randbytes(4096), "not a photo in a supported format")
    for cut in CUTS:
        put(f"cut_{cut:05d}.jpg", HOPPER_BYTES[:cut], "truncated")
    put("broken_crc.png", _broken_crc_png(), "not a photo in a supported format")  # IHDR CRC
    put("huge_ihdr.png", _png_claiming(60000, 60000), "above the limit")
    put("huge_sof.jpg", jpeg_claiming(60000, 60000), "above the limit")
    put("bomb.png", png_bomb(), "12000 x 12000 = 144,000,000 pixels, above the limit of 120,000,000")
    for name, (data, words) in BAD.items():
        if name.startswith("rle_"):  # run-length BMPs that leave their row or end too soon
            put(f"{name}.bmp", data, words)
    put("huge_rle.bmp", bmp(bytes((0, 1)), 60000, 60000, 8, BI_RLE8, header=40, palette=((0, 0, 0),)),
        "above the limit")
    # a symlink loop between two files, and a folder symlink pointing back up (walked once)
    os.symlink("loop_b.jpg", root / "loop_a.jpg")
    os.symlink("loop_a.jpg", root / "loop_b.jpg")
    expected["loop_a.jpg"] = expected["loop_b.jpg"] = ("could not be read",)
    (root / "sub").mkdir()
    os.symlink("..", root / "sub" / "up")
    return expected


# -- broken inputs ---------------------------------------------------------------------

@pytest.mark.slow  # loads the real networks
def test_broken_files_are_errors_and_the_good_photo_beside_them_is_still_checked(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    expected = broken_corpus(folder)
    shutil.copy(HOPPER, folder / "good.jpg")
    dir_named_jpg = tmp_path / "x.jpg"
    dir_named_jpg.mkdir()
    code, results, _ = check_json(folder, dir_named_jpg)
    assert code == 4
    # every file once, the loop through sub/up adding nothing
    assert set(results) == {str(folder / n) for n in [*expected, "good.jpg"]} | {str(dir_named_jpg)}
    for name, words in expected.items():
        assert_error(results[str(folder / name)], name, *words)
    assert_error(results[str(dir_named_jpg)], "x.jpg", "this folder holds no photos")
    assert_one_face_needs_consent(results[str(folder / "good.jpg")])
    assert not any(r["decision"] == "allowed" for r in results.values())


@pytest.mark.slow  # loads the real networks
def test_a_directory_named_like_a_photo_inside_a_folder_is_not_a_photo(tmp_path):
    (tmp_path / "x.jpg").mkdir()
    shutil.copy(HOPPER, tmp_path / "good.jpg")
    code, results, _ = check_json(tmp_path)
    assert code == 1
    assert list(results) == [str(tmp_path / "good.jpg")]


@pytest.mark.slow  # loads the real networks
def test_a_photo_whose_name_does_not_say_photo_is_still_checked_in_a_folder(tmp_path):
    # Skipping these silently would let a folder of client photos come out "allowed".
    from imagegate.image.loader import looks_like_image

    for name, make in FORMATS.items():
        assert looks_like_image(make()[:32]), name
    shutil.copy(HOPPER, tmp_path / "photo.jpg_large")  # how Twitter/X names a saved photo
    shutil.copy(HOPPER, tmp_path / "no_extension")
    shutil.copy(HOPPER, tmp_path / ".hidden.jpg")
    (tmp_path / "._good.jpg").write_bytes(b"\x00\x05\x16\x07" + bytes(80))  # macOS AppleDouble companion
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    (tmp_path / "IMG_1.CR2").write_bytes(b"II*\x00\x10\x00\x00\x00CR" + bytes(64))  # raw: its JPEG is posted
    shutil.copy(HOPPER, tmp_path / "good.jpg")
    code, results, _ = check_json(tmp_path)
    assert sorted(Path(f).name for f in results) == [".hidden.jpg", "good.jpg", "no_extension", "photo.jpg_large"]
    assert code == 1 and {r["decision"] for r in results.values()} == {"needs_consent"}


@pytest.mark.slow  # loads the real networks
def test_human_output_names_each_broken_file_and_its_problem(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "cut.jpg").write_bytes(HOPPER_BYTES[:30000])
    shutil.copy(HOPPER, tmp_path / "good.jpg")
    r = runner.invoke(app, ["check", "--jobs", "1", str(tmp_path)])
    assert r.exit_code == 4
    lines = r.stdout.splitlines()
    assert lines[0] == f"ERROR          {tmp_path / 'cut.jpg'}"
    assert lines[1] == (f"    {tmp_path / 'cut.jpg'}: the file is truncated (incomplete download or copy) "
                        "(copy the photo again from its original)")
    assert lines[2] == f"ERROR          {tmp_path / 'empty.jpg'}"
    assert lines[3] == f"    {tmp_path / 'empty.jpg'}: the file is empty (0 bytes) (copy the photo again)"
    assert lines[4] == f"NEEDS CONSENT  {tmp_path / 'good.jpg'}"
    assert lines[-1] == "3 photos: 0 allowed, 1 needs consent, 0 blocked, 2 errors"
    assert "Traceback" not in r.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_and_folder_are_errors(tmp_path):
    locked = tmp_path / "locked.jpg"
    shutil.copy(HOPPER, locked)
    locked.chmod(0)
    closed = tmp_path / "closed"
    closed.mkdir()
    shutil.copy(HOPPER, closed / "inside.jpg")
    closed.chmod(0)
    shutil.copy(HOPPER, tmp_path / "good.jpg")
    try:
        code, results, _ = check_json(tmp_path)
    finally:
        locked.chmod(0o600)
        closed.chmod(0o700)
    assert code == 4
    assert_error(results[str(locked)], locked, "permission denied")
    assert_error(results[str(closed)], closed, "cannot read folder")
    assert_one_face_needs_consent(results[str(tmp_path / "good.jpg")])


@pytest.mark.slow  # loads the real networks
def test_non_utf8_and_very_long_file_names(tmp_path):
    root = os.fsencode(tmp_path)
    names = {
        b"caf\xe9.jpg": HOPPER_BYTES,                  # Latin-1 name on a UTF-8 system
        b"\xff\xfe broken \x80.jpg": HOPPER_BYTES[:20000],  # truncated, with an undecodable name
        b"a" * 246 + b".jpg": HOPPER_BYTES,            # 250 bytes, near the 255-byte limit
        "ä".encode() * 123 + b".png": encode(hopper(), "PNG"),  # 250 bytes of UTF-8
    }
    for name, data in names.items():
        with open(os.path.join(root, name), "wb") as fh:
            fh.write(data)
    code, results, r = check_json(tmp_path)
    assert code == 4
    # JSON names decode back to the exact bytes on disk
    assert {os.fsencode(f) for f in results} == {os.path.join(root, n) for n in names}
    by_name = {os.path.basename(os.fsencode(f)): res for f, res in results.items()}
    assert_one_face_needs_consent(by_name[b"caf\xe9.jpg"])
    assert_one_face_needs_consent(by_name[b"a" * 246 + b".jpg"])
    assert_one_face_needs_consent(by_name["ä".encode() * 123 + b".png"])
    broken = by_name[b"\xff\xfe broken \x80.jpg"]
    assert broken["decision"] == "error" and "truncated" in broken["error"]["message"]
    assert "\\udcff\\udcfe broken \\udc80.jpg" in r.stdout  # escaped, valid JSON text
    # the human output shows the undecodable bytes escaped instead of crashing
    r = runner.invoke(app, ["check", "--jobs", "1", os.fsdecode(tmp_path)])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert r.exit_code == 4
    assert f"NEEDS CONSENT  {tmp_path}/caf\\udce9.jpg" in r.stdout
    assert f"ERROR          {tmp_path}/\\udcff\\udcfe broken \\udc80.jpg" in r.stdout


# -- valid but awkward photos of one face ------------------------------------------------

INVERSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_270}


def oriented_jpeg(orientation: int) -> bytes:
    """Pixels stored so that applying the EXIF `orientation` gives the upright photo."""
    base = hopper()
    stored = base.transpose(INVERSE[orientation]) if orientation in INVERSE else base
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def multipage_tiff() -> bytes:
    buf = io.BytesIO()
    blank = Image.new("RGB", hopper().size, (40, 40, 40))
    hopper().save(buf, "TIFF", save_all=True, append_images=[blank, blank], compression="tiff_deflate")
    return buf.getvalue()


@pytest.mark.slow  # loads the real networks
def test_awkward_valid_photos_each_show_the_one_face(tmp_path):
    suffix = {"jpeg": ".jpg", "jpeg_cmyk": ".jpg", "jpeg_grey": ".jpg", "jpeg_trailing_garbage": ".jpg",
              "webp": ".webp", "tiff": ".tif", "bmp": ".bmp", "bmp_rle8": ".bmp", "gif_animated": ".gif",
              "heic": ".heic"}
    files = {f"{name}{suffix.get(name, '.png')}": make() for name, make in FORMATS.items()}
    files.update({f"orientation_{o}.jpg": oriented_jpeg(o) for o in range(1, 9)})
    files["multipage.tif"] = multipage_tiff()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    # each opened in a with-block: an Image left open is a ResourceWarning (filterwarnings = error)
    with Image.open(tmp_path / "multipage.tif") as im:
        assert im.n_frames == 3
    with Image.open(tmp_path / "jpeg_cmyk.jpg") as im:
        assert im.mode == "CMYK"
    with Image.open(tmp_path / "png_16bit.png") as im:
        assert im.mode == "I;16"
    code, results, _ = check_json(tmp_path)
    assert code == 1
    assert len(results) == len(files) == len(FORMATS) + 9  # + 8 orientations + a multipage TIFF
    for name in files:
        result = results[str(tmp_path / name)]
        assert_one_face_needs_consent(result)
        # upright and in place: Grace Hopper's face centre in the 512 x 600 original
        assert (result["width"], result["height"]) == (512, 600), name
        x, y, w, h = result["faces"][0]["box"]
        assert 150 < x + w / 2 < 330 and 150 < y + h / 2 < 320, (name, result["faces"][0]["box"])


# -- resource limits ------------------------------------------------------------------------

CROWD = "0_Parade_marchingband_1_329.jpg"  # 39 annotated faces


@pytest.mark.slow  # loads the real networks
@pytest.mark.parametrize("setting, value, photo, words", [
    ("max_pixels", 100_000, HOPPER, ("512 x 600 = 307,200 pixels, above the limit of 100,000",)),
    ("max_file_bytes", 1000, HOPPER, (f"the file is {len(HOPPER_BYTES):,} bytes, above the limit of 1,000",)),
    ("max_faces", 2, CROWD, ("faces found, above the limit of 2", "refusing to judge it automatically")),
])
def test_resource_limits_make_that_photo_an_error(tmp_path, data_dir, setting, value, photo, words):
    if photo == CROWD:
        photo = data_dir / "faces-detect" / CROWD
    config = tmp_path / "limits.toml"
    config.write_text(f"{setting} = {value}\n")
    blank = tmp_path / "blank.png"  # beside it, a small photo within every limit is still checked
    Image.new("RGB", (40, 20), (90, 90, 90)).save(blank)
    assert blank.stat().st_size < 1000
    code, results, _ = check_json(photo, blank, config=config)
    assert code == 4
    assert_error(results[str(photo)], photo, *words)
    assert results[str(blank)]["decision"] == "allowed"


@pytest.mark.slow  # loads the real networks
def test_max_faces_counts_the_faces_in_the_message(tmp_path, data_dir):
    photo = data_dir / "faces-detect" / CROWD
    config = tmp_path / "limits.toml"
    config.write_text("max_faces = 2\n")
    _, results, _ = check_json(photo, config=config)
    found = int(re.search(r": (\d+) faces found", results[str(photo)]["error"]["message"]).group(1))
    assert found > 10  # the crowd was seen, then refused


# -- real processes: no traceback, bounded time and memory ------------------------------------

def vm_hwm_mb(pid: int) -> float:
    """The process's own resident-memory high-water mark (0 once it has exited).

    Not ru_maxrss: a child's ru_maxrss starts at the RSS its parent (this pytest process,
    models and all) had when it forked, because exec records the old memory map's peak.
    """
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_console(args: list[str], timeout: float) -> tuple[int, str, str, float, float]:
    """Run the `imagegate` console script; (exit code, stdout, stderr, peak RSS in MB, seconds).

    The peak is the child's VmHWM, sampled every 50 ms while it runs (a high-water mark,
    so a sample after the peak still sees it)."""
    import subprocess
    import threading

    script = Path(sys.executable).with_name("imagegate")
    assert script.exists(), script
    start = time.monotonic()
    with open(os.devnull, "rb") as stdin:
        proc = subprocess.Popen([str(script), *args], stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # read both pipes in threads so a chatty child cannot block
        chunks = {"out": [], "err": []}
        readers = [threading.Thread(target=lambda s=s, k=k: chunks[k].append(s.read()))
                   for s, k in ((proc.stdout, "out"), (proc.stderr, "err"))]
        for t in readers:
            t.start()
        peak = 0.0
        while True:
            peak = max(peak, vm_hwm_mb(proc.pid))
            pid, status = os.waitpid(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                proc.kill()
                os.waitpid(proc.pid, 0)
                pytest.fail(f"imagegate {' '.join(args)} took more than {timeout} s")
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        for t in readers:
            t.join()
        proc.stdout.close()  # read to the end; closed, else a ResourceWarning (filterwarnings = error)
        proc.stderr.close()
    seconds = time.monotonic() - start
    return (proc.returncode, b"".join(chunks["out"]).decode("utf-8", "replace"),
            b"".join(chunks["err"]).decode("utf-8", "replace"), peak, seconds)


#: a whole process with both models loaded and Grace Hopper checked stays well below this
PEAK_RSS_MB = 900


@pytest.mark.slow  # starts a subprocess
def test_console_script_on_hostile_files_is_bounded_and_quiet(tmp_path):
    (tmp_path / "bomb.png").write_bytes(png_bomb())
    (tmp_path / "huge_ihdr.png").write_bytes(_png_claiming(60000, 60000))
    (tmp_path / "huge_sof.jpg").write_bytes(jpeg_claiming(60000, 60000))
    (tmp_path / "cut.jpg").write_bytes(HOPPER_BYTES[:40000])
    (tmp_path / "random.heic").write_bytes(random.Random(3).randbytes(50000))
    os.symlink("loop2.jpg", tmp_path / "loop1.jpg")
    os.symlink("loop1.jpg", tmp_path / "loop2.jpg")
    (tmp_path / "badexif.jpg").write_bytes(jpeg_with_corrupt_exif())  # Pillow's warnings stay off stderr
    (tmp_path / "cut.tif").write_bytes(multipage_tiff()[:-40])
    shutil.copy(HOPPER, tmp_path / "good.jpg")
    code, out, err, peak_mb, seconds = run_console(["check", "--json", "--jobs", "1", str(tmp_path)], timeout=120)
    assert code == 4, err
    assert err == ""  # no traceback, no native log noise
    results = {Path(o["file"]).name: o["decision"] for o in json_lines(out)}
    assert results == {"bomb.png": "error", "huge_ihdr.png": "error", "huge_sof.jpg": "error", "cut.jpg": "error",
                       "random.heic": "error", "loop1.jpg": "error", "loop2.jpg": "error",
                       "cut.tif": "error", "good.jpg": "needs_consent", "badexif.jpg": "needs_consent"}
    # the bomb (144 Mpx, ~430 MB as RGB) was refused from its header, never decoded
    assert 100 < peak_mb < PEAK_RSS_MB, f"peak RSS {peak_mb:.0f} MB"
    assert seconds < 60, f"{seconds:.1f} s"


@pytest.mark.slow  # starts a subprocess
def test_console_script_bad_setting_is_one_line_without_traceback(tmp_path):
    # A config "file" that is a folder: refused before any photo is read.
    code, out, err, _, _ = run_console(["--config", str(tmp_path), "check", str(HOPPER)], timeout=60)
    assert code == 4
    assert "Traceback" not in out + err
    assert err.startswith("imagegate: ") and len(err.strip().splitlines()) == 1, err


# -- no personal data in errors or outputs ---------------------------------------------------------

#: a JSON or numpy-printed run of 16 or more numbers: an embedding (128) or pixel data, never a box (4)
NUMBER_RUN = re.compile(r"[\[(]\s*(?:[-+]?\d+(?:\.\d*)?(?:e[-+]?\d+)?[\s,]+){15,}", re.IGNORECASE)


def test_number_run_pattern_finds_embeddings_in_both_spellings():
    vec = np.random.default_rng(1).standard_normal(128).astype(np.float32)
    assert NUMBER_RUN.search(json.dumps({"v": [float(x) for x in vec]}, indent=2))
    assert NUMBER_RUN.search(str(vec)) and NUMBER_RUN.search(repr(vec))
    assert not NUMBER_RUN.search(json.dumps({"box": [166.0, 130.0, 199.0, 199.0]}, indent=2))


@pytest.fixture()
def enrolled_register(tmp_path):
    """A register with one consenting staff member (so `check` embeds the faces it finds)."""
    reg = tmp_path / "register.sqlite3"
    r = runner.invoke(app, ["--register", str(reg), "register", "add", "Eileen Collins", "--role", "staff",
                            "--photo", str(SAMPLES / "astronaut.png")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--register", str(reg), "register", "consent", "Eileen Collins", "--channel", "all"])
    assert r.exit_code == 0, r.output
    return reg


@pytest.mark.slow  # loads the real networks
def test_an_internal_failure_deep_in_the_check_leaks_nothing_and_fails_closed(enrolled_register, monkeypatch):
    from imagegate.vision.embed import FaceEmbedder

    secret = np.random.default_rng(2).standard_normal(128).astype(np.float32)

    def explode(self, *args, **kwargs):
        raise ValueError(f"descriptor went wrong for {secret!r} at {args[0][:2]}")

    monkeypatch.setattr(FaceEmbedder, "embed", explode)
    for json_flag in (["--json"], []):
        r = runner.invoke(app, ["--register", str(enrolled_register), "check", *json_flag, "--jobs", "1",
                                str(SAMPLES / "astronaut.png"), str(SAMPLES / "grace_hopper.jpg")])
        assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
        assert r.exit_code == 4
        text = r.output
        assert "Traceback" not in text and "array(" not in text and "descriptor went wrong" not in text
        assert not NUMBER_RUN.search(text), text
        assert "ALLOWED" not in text and '"allowed"' not in text
    results = json_lines(runner.invoke(app, ["--register", str(enrolled_register), "check", "--json", "--jobs", "1",
                                             str(SAMPLES / "astronaut.png")]).stdout)
    assert [o["decision"] for o in results] == ["error"]
    assert results[0]["error"]["message"].startswith("internal error (ValueError)")


@pytest.mark.slow  # loads the real networks
def test_register_list_and_check_json_carry_no_embeddings(enrolled_register):
    r = runner.invoke(app, ["--register", str(enrolled_register), "register", "list", "--json"])
    assert r.exit_code == 0
    people = json.loads(r.stdout)
    assert [p["name"] for p in people] == ["Eileen Collins"] and people[0]["templates"] == 1
    assert not NUMBER_RUN.search(r.stdout), r.stdout
    code, results, r = check_json(SAMPLES / "astronaut.png", SAMPLES / "grace_hopper.jpg",
                                  register=enrolled_register)
    assert code == 1  # Eileen Collins consented; Grace Hopper is unknown
    assert results[str(SAMPLES / "astronaut.png")]["decision"] == "allowed"
    assert results[str(SAMPLES / "astronaut.png")]["faces"][0]["person"]["name"] == "Eileen Collins"
    assert not NUMBER_RUN.search(r.stdout), r.stdout


@pytest.mark.slow  # starts a subprocess
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_fifos_and_devices_are_never_read_and_never_hang(tmp_path, jobs):
    # A FIFO nobody writes to blocks whoever opens it; /dev/zero never ends. Neither is a photo.
    # The timeout makes a regression fail instead of hanging the test run.
    folder = tmp_path / "photos"
    folder.mkdir()
    os.mkfifo(folder / "party.jpg")    # named like a photo
    os.mkfifo(folder / "download")     # a name that would be sniffed for photo bytes
    for i in range(4):                 # enough photos for the worker pool with --jobs 2
        shutil.copy(SAMPLES / "coffee.png", folder / f"coffee{i}.png")
    args = ["--lang", "en", "check", "--json", "--jobs", jobs, "--photo-timeout", "5"]
    code, out, err, _, seconds = run_console([*args, str(folder)], timeout=240)
    assert code == 0, err  # skipped, not checked: only the four photos count
    assert sorted(Path(o["file"]).name for o in json_lines(out)) == [f"coffee{i}.png" for i in range(4)]
    assert f"{folder / 'party.jpg'}: skipped, not a regular file (FIFO)" in err
    assert f"{folder / 'download'}: skipped, not a regular file (FIFO)" in err
    # named on the command line, each is an error of its own; the photo beside them is still checked
    code, out, err, _, _ = run_console([*args, str(folder / "party.jpg"), "/dev/zero", str(folder / "coffee0.png")],
                                       timeout=240)
    assert code == 4, err
    results = {o["file"]: o for o in json_lines(out)}
    assert results[str(folder / "coffee0.png")]["decision"] == "allowed"
    for bad, kind in ((str(folder / "party.jpg"), "FIFO"), ("/dev/zero", "character device")):
        assert results[bad]["decision"] == "error"
        assert results[bad]["error"]["code"] == "not_regular" and kind in results[bad]["error"]["message"]


def test_a_fifo_is_refused_by_what_was_opened_without_blocking(tmp_path):
    import threading

    from imagegate.errors import ImageLoadError
    from imagegate.image.loader import SpecialFile, load_image, sha256_file

    fifo = tmp_path / "x.jpg"
    os.mkfifo(fifo)
    done = threading.Event()

    def rescue():  # a regression blocks in open(); a writer arriving after 60 s lets it fail, not hang
        if not done.wait(60):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    threading.Thread(target=rescue, daemon=True).start()
    try:
        with pytest.raises(ImageLoadError, match="found a FIFO"):
            load_image(fifo)
        with pytest.raises(SpecialFile):
            sha256_file(fifo)
    finally:
        done.set()


def test_the_main_process_reads_no_file_outside_the_photo_time_limit_beyond_the_size_limit(tmp_path):
    # with workers, the main process hashes files to spot copies; that read has no time limit, so it
    # must never touch a FIFO or device, nor read more than max_file_bytes
    from imagegate.image.paths import Target
    from imagegate.runs.batch import Job, _digest

    (tmp_path / "small.jpg").write_bytes(b"x" * 10)
    (tmp_path / "big.jpg").write_bytes(b"x" * 11)
    os.mkfifo(tmp_path / "fifo.jpg")
    job = Job(channel="facebook")
    assert _digest(Target(str(tmp_path / "small.jpg")), job, 10) is not None
    assert _digest(Target(str(tmp_path / "big.jpg")), job, 10) is None
    assert _digest(Target(str(tmp_path / "fifo.jpg")), job, 10) is None
    assert _digest(Target("/dev/zero"), job, 10) is None
