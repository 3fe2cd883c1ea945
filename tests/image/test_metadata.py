"""Metadata: files imagegate writes carry none (read back with Pillow and searched byte by byte);
input photos with a GPS position or people tags get a warning that leaves the decision alone."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from imagegate.cli.main import app
from imagegate.gate import Gate
from imagegate.image import metadata
from imagegate.image.loader import load_image
from imagegate.image.metadata import MetadataSummary, OutputError, metadata_blocks
from imagegate.redact import redact
from imagegate.words.wording import reason_text

from ..conftest import SAMPLES, CliRunner, json_lines
from ..publish_helpers import GPS_LAT, OWNER, PEOPLE_XMP, PERSON, SERIAL, srgb_icc, tagged_jpeg, xmp_packet

runner = CliRunner()

# what must never reach a written file (each present in the tagged input: see the control assertion)
LEAKS = {
    "EXIF block": b"Exif\x00\x00",
    "XMP packet": b"http://ns.adobe.com/xap/1.0/",
    "face regions": b"mwg-rs",
    "person name": PERSON.encode(),
    "owner": OWNER.encode(),
    "camera serial": SERIAL.encode(),
    "GPS latitude": b"".join(struct.pack("<II", v, 1) for v in GPS_LAT),
    "JPEG comment": b"File source:",  # the sample's COM segment, carried into the tagged copy by Pillow
}


@pytest.fixture()
def tagged(tmp_path):
    return tagged_jpeg(SAMPLES / "grace_hopper.jpg", tmp_path / "tagged.jpg")


def assert_clean(data: bytes, *, icc: bytes | None) -> Image.Image:
    for what, needle in LEAKS.items():
        assert needle not in data, what
    assert data.count(b"\xff\xd8") == 1  # one JPEG start: no embedded thumbnail
    assert metadata_blocks(data) == []
    img = Image.open(io.BytesIO(data))
    assert not img.getexif() and "exif" not in img.info and "xmp" not in img.info
    assert [m for m, _ in img.applist] == (["APP0", "APP2"] if icc else ["APP0"])
    assert img.info.get("icc_profile") == icc
    return img


def test_tagged_input_really_carries_everything(tagged):
    data = tagged.read_bytes()
    for what, needle in LEAKS.items():
        assert needle in data, what
    assert data.count(b"\xff\xd8") == 2  # the photo and its EXIF thumbnail
    assert metadata_blocks(data) == ["APP1", "APP1", "COM"]  # EXIF, XMP, comment
    with Image.open(tagged) as img:  # closed: an open file left to the GC is a ResourceWarning (an error here)
        assert img.size == (600, 512) and img.getexif()[0x0112] == 6


# -- inspection ---------------------------------------------------------------------------------------------


def test_loader_reports_gps_and_people_tags(tagged):
    img = load_image(tagged)
    assert img.metadata == MetadataSummary(gps=True, people=("mwg-rs",))
    assert img.metadata.to_dict() == {"gps": True, "people_tags": ["mwg-rs"]}
    assert (img.width, img.height) == (512, 600)  # orientation applied


@pytest.mark.parametrize("family", sorted(PEOPLE_XMP))
def test_other_people_tag_families_are_recognised(tmp_path, family):
    path = tmp_path / "p.jpg"
    Image.new("RGB", (64, 64), (120, 120, 120)).save(path, xmp=xmp_packet(PEOPLE_XMP[family]).encode())
    assert load_image(path).metadata == MetadataSummary(gps=False, people=(family,))


def test_png_xmp_and_clean_photos(tmp_path):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet(PEOPLE_XMP["iptc"]))
    path = tmp_path / "p.png"
    Image.new("RGB", (64, 64), (120, 120, 120)).save(path, pnginfo=info)
    assert load_image(path).metadata.people == ("iptc",)
    for name in ("grace_hopper.jpg", "astronaut.png", "coffee.png"):
        assert load_image(SAMPLES / name).metadata == metadata.NO_METADATA


def test_gps_version_tag_alone_is_not_a_position(tmp_path):
    exif = Image.Exif()
    exif.get_ifd(metadata.GPS_IFD)[0] = b"\x02\x02\x00\x00"  # GPSVersionID only
    path = tmp_path / "v.jpg"
    Image.new("RGB", (64, 64)).save(path, exif=exif)
    assert load_image(path).metadata.gps is False


def test_check_warns_but_decision_is_unchanged(tagged, tmp_path, gate_parts):
    plain = tmp_path / "plain.jpg"
    Image.fromarray(load_image(tagged).rgb).save(plain, quality=95)
    gate = Gate(**gate_parts)
    with_tags, without = gate.check(tagged, channel="facebook"), gate.check(plain, channel="facebook")
    assert with_tags.decision == without.decision == "needs_consent"
    extra = [r for r in with_tags.reasons if r not in without.reasons]
    assert [(r.code, r.rule, r.severity) for r in extra] == [("metadata_gps", "4", "warning"),
                                                             ("metadata_people", "4", "warning")]
    assert [r.code for r in with_tags.reasons[:len(without.reasons)]] == [r.code for r in without.reasons]
    assert "where a client lives" in reason_text(extra[0], "en") and "(mwg-rs)" in reason_text(extra[1], "en")


@pytest.mark.slow  # loads the real networks
def test_check_cli_shows_the_warning_in_both_languages(tagged):
    r = runner.invoke(app, ["check", "--json", str(tagged)])
    assert r.exit_code == 1  # needs consent, exactly as without metadata
    reasons = json_lines(r.stdout)[0]["reasons"]
    assert [x["code"] for x in reasons if x["severity"] == "warning"] == ["metadata_gps", "metadata_people"]
    r = runner.invoke(app, ["--lang", "fi", "check", str(tagged)])
    assert r.exit_code == 1
    assert "Tiedostossa on GPS-sijainti" in r.stdout and "merkittyjä henkilöitä (mwg-rs)" in r.stdout


# -- writing ------------------------------------------------------------------------------------------------


def test_redacted_copy_carries_no_metadata_keeps_icc_and_bakes_orientation(tagged, gate_parts):
    gate = Gate(**gate_parts)
    before = tagged.read_bytes()
    red = redact(gate, tagged, channel="facebook")
    assert red.allowed and red.hidden == (0,)
    img = assert_clean(red.data, icc=srgb_icc())
    assert img.size == (512, 600)  # upright pixels, no Orientation tag needed
    assert red.before.reasons[-1].code == "metadata_people"  # the input was warned about ...
    assert not [r for r in red.after.reasons if r.severity == "warning"]  # ... the copy is clean
    assert tagged.read_bytes() == before


@pytest.mark.slow  # loads the real networks
def test_preview_carries_no_metadata(tagged, tmp_path):
    out = tmp_path / "previews"
    r = runner.invoke(app, ["check", "--annotate", str(out), str(tagged)])
    assert r.exit_code == 1
    img = assert_clean((out / "tagged.preview.jpg").read_bytes(), icc=srgb_icc())
    assert img.width == 512 and img.height > 600  # upright, with the legend under the photo


def test_only_rgb_icc_profiles_are_kept():
    icc = srgb_icc()
    assert metadata.rgb_icc(icc) == icc
    cmyk = icc[:16] + b"CMYK" + icc[20:]
    assert metadata.rgb_icc(cmyk) is None and metadata.rgb_icc(None) is None
    data = metadata.encode(np.zeros((8, 8, 3), np.uint8), icc_profile=cmyk)
    assert_clean(data, icc=None)


def test_png_output_is_clean_and_lossless(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    data = metadata.encode(rgb, format="PNG", icc_profile=srgb_icc())
    assert metadata_blocks(data) == []
    img = Image.open(io.BytesIO(data))
    assert np.array_equal(np.asarray(img), rgb) and img.info["icc_profile"] == srgb_icc()
    assert metadata_blocks(b"\x89PNG\r\n\x1a\n" + struct.pack(">I4s", 4, b"eXIf") + b"abcd" + b"\x00" * 4) == ["eXIf"]


def test_files_are_never_overwritten(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    taken = tmp_path / "x.jpg"
    taken.write_bytes(b"mine")
    with pytest.raises(OutputError, match="already exists"):
        metadata.save(rgb, taken)
    assert taken.read_bytes() == b"mine"
    data = metadata.encode(rgb)
    assert metadata.write_new(data, tmp_path, "x.jpg") == tmp_path / "x (2).jpg"
    assert metadata.write_new(data, tmp_path, "x.jpg") == tmp_path / "x (3).jpg"
    assert taken.read_bytes() == b"mine"


def test_unwritable_folder_is_a_typed_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="cannot create the output folder"):
        metadata.write_new(b"x", blocker / "sub", "a.jpg")

