"""Every crash fuzz/fuzz_loader.py ever found, kept as a regression case, plus a fast replay of its seeds.

A crash is any exception other than ImageLoadError/ImagegateError from `load_image`
or `FaceDetector.detect`. Inputs are generated here (small), never committed.
"""

from __future__ import annotations

import importlib.util
import io
import struct

import pytest
from PIL import Image

from imagegate.errors import ImageLoadError
from imagegate.image.loader import load_image

from ..conftest import ROOT, CliRunner, json_lines


def fuzz_module():
    spec = importlib.util.spec_from_file_location("fuzz_loader", ROOT / "fuzz" / "fuzz_loader.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiff_second_ifd_without_width() -> bytes:
    """A two-page TIFF whose second page lost its ImageWidth tag (fuzz crash 2ae6cc4f, 76 KB, minimised).

    Pillow opens the first page; counting the pages (n_frames) parses the second IFD and raised
    TypeError("Missing dimensions") straight out of load_image.
    """
    buf = io.BytesIO()
    page = Image.new("RGB", (4, 4), (200, 10, 10))
    page.save(buf, "TIFF", save_all=True, append_images=[page])
    data = bytearray(buf.getvalue())
    assert data[:4] == b"II*\x00"
    first = struct.unpack_from("<I", data, 4)[0]
    n = struct.unpack_from("<H", data, first)[0]
    second = struct.unpack_from("<I", data, first + 2 + 12 * n)[0]
    for k in range(struct.unpack_from("<H", data, second)[0]):
        at = second + 2 + 12 * k
        if struct.unpack_from("<H", data, at)[0] == 256:  # ImageWidth -> an unknown private tag
            struct.pack_into("<H", data, at, 0x7FFF)
            return bytes(data)
    raise AssertionError("no ImageWidth tag in the second IFD")


def test_tiff_with_a_broken_later_page_is_a_load_error():
    data = tiff_second_ifd_without_width()
    assert len(data) < 500
    assert Image.open(io.BytesIO(data)).size == (4, 4)  # the first page alone looks fine
    with pytest.raises(ImageLoadError) as info:
        load_image(data)
    assert info.value.reason == "the file is corrupt or unreadable: Missing dimensions"


def test_tiff_with_a_broken_later_page_is_an_error_through_the_cli(tmp_path):

    from imagegate.cli.main import app

    bad = tmp_path / "pages.tif"
    bad.write_bytes(tiff_second_ifd_without_width())
    r = CliRunner().invoke(app, ["check", "--json", "--jobs", "1", str(bad)])
    assert r.exit_code == 4
    [row] = json_lines(r.stdout)
    assert row["error"]["kind"] == "unreadable_image" and "Missing dimensions" in row["error"]["message"]


def test_seed_corpus_replays_through_the_loader():
    corpus = fuzz_module().seed_corpus()
    assert len(corpus) == 13
    for name, data in corpus.items():
        img = load_image(data)
        assert img.rgb.shape == (150, 128, 3), name
        # Cut short anywhere, every seed is an ImageLoadError, never another exception. Only a file of
        # several frames may still load (its first frame intact): the policy never allows those.
        for cut in (1, 16, len(data) // 3, len(data) * 2 // 3, len(data) - 40):
            try:
                cut_img = load_image(data[:cut])
            except ImageLoadError:
                continue
            assert cut_img.frames > 1, f"{name} cut at {cut} of {len(data)} bytes loaded as a single frame"
