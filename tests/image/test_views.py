"""The gate judges what viewers see: transparency over white and black or dropped, the colour key,
the ICC profile, and pictures embedded in the file (EXIF thumbnail, MPF images, XMP pictures)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from imagegate.cli.main import app
from imagegate.enrol import enrol
from imagegate.gate import Gate
from imagegate.image import views
from imagegate.image.loader import load_image
from imagegate.register.store import Register
from imagegate.words import messages
from imagegate.words.wording import reason_text

from ..conftest import SAMPLES, CliRunner, json_lines
from . import view_inputs as vi


@pytest.fixture(scope="module")
def client_gate(detector, embedder):
    """Grace Hopper registered as a client."""
    reg = Register(":memory:")
    gate = Gate(register=reg, detector=detector, embedder=embedder)
    enrol(gate, "Grace Hopper", "client", [str(vi.HOPPER)], None)
    yield gate
    reg.close()


@pytest.fixture()
def no_register_gate(detector, embedder):
    gate = Gate(detector=detector, embedder=embedder)
    yield gate
    gate.close()


def _blocked_in(verdict, kind: str) -> None:
    assert verdict.decision == "blocked", [reason_text(r, "en") for r in verdict.reasons]
    [view] = [v for v in verdict.views if v.view.kind == kind]
    assert view.decision == "blocked"
    assert any(r.code == "client" and "Grace Hopper" in reason_text(r, "en") for r in view.reasons)
    title = messages.view_text(kind, "en", n=view.view.number, title=True)
    assert any(r.severity == "block" and reason_text(r, "en").startswith(f"{title}: ") for r in verdict.reasons)


# -- item 4: transparency, colour key, colour profile --------------------------------------------------


def test_a_face_only_in_the_alpha_channel_is_blocked(client_gate):
    # flat grey colour, the face in alpha: the old flattening onto mid grey saw a flat picture
    _blocked_in(client_gate.check(vi.face_in_alpha(128), channel="facebook"), "on_black")


def test_a_face_under_fully_transparent_pixels_is_checked_as_alpha_dropping_tools_show_it(client_gate):
    _blocked_in(client_gate.check(vi.face_under_transparent_pixels(), channel="facebook"), "alpha_ignored")


def test_a_colour_keyed_png_is_read_with_its_key(no_register_gate):
    data = vi.face_in_colour_key(128)
    img = load_image(data)
    raw = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    keyed = np.all(raw == 128, axis=-1)
    # the key colour is transparent: white in the first rendering, black in the dark-mode one
    assert keyed.mean() > 0.3 and np.all(img.rgb[keyed] == 255)
    [on_black] = [v for v in img.views if v.kind == "on_black"]
    assert np.all(on_black.rgb[keyed] == 0)
    v = no_register_gate.check(data, channel="facebook")
    assert v.decision == "needs_consent"
    assert any(r.code == "unknown" for r in v.reasons)


@pytest.mark.parametrize("space", ["RGB", "GRAY"])
def test_an_icc_profile_that_remaps_grey_levels_is_applied(client_gate, space):
    data = vi.face_in_icc_curve(space)
    # without the profile the pixels are noise; a colour-managed viewer shows Grace Hopper
    assert not client_gate.detector.detect(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
    v = client_gate.check(data, channel="facebook")
    _blocked_in(v, "colour_managed")
    managed = next(x for x in load_image(data).views if x.kind == "colour_managed").rgb
    expected = np.asarray(Image.open(vi.HOPPER).convert("L")).astype(int)
    assert np.abs(managed[..., 1].astype(int) - expected).max() <= 2


def test_an_srgb_profile_adds_no_rendering_and_a_broken_one_is_not_allowed(no_register_gate):
    coffee = vi.faceless_main()
    for space in ("RGB", "GRAY"):
        img = coffee if space == "RGB" else coffee.convert("L")
        loaded = load_image(vi.png(img, icc_profile=vi.srgb_curve_profile(space)))
        assert loaded.views == () and loaded.cautions == ()
    broken = vi.png(coffee, icc_profile=b"\x00\x00\x02\x00lcms" + b"\x07" * 500)
    assert [c.code for c in load_image(broken).cautions] == ["profile_unapplied"]
    v = no_register_gate.check(broken, channel="facebook")
    assert v.decision == "needs_consent"
    assert [r.code for r in v.reasons if r.severity == "consent"] == ["profile_unapplied"]


def test_the_evaluation_photos_profiles_add_no_rendering(data_dir):
    """sRGB profiles (HP's, a compact one) are not even applied; Display P3 is applied and changes no
    face-sized area materially. ProPhoto RGB (gamma 1.8) shifts mid-tones by more than CELL_DIFF: such
    a photo is checked twice."""
    from PIL import ImageCms

    seen = {}
    for path in sorted(data_dir.rglob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
            continue
        with Image.open(path) as im:  # closed: a file left to the GC is a ResourceWarning (an error here)
            icc = im.info.get("icc_profile")
        if not icc:
            continue
        desc = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
        managed = [v.kind for v in load_image(path).views if v.kind == "colour_managed"]
        seen.setdefault(desc, set()).add((views._assess(icc)[0], bool(managed)))
    assert seen["sRGB IEC61966-2.1"] == seen["c2"] == {("same", False)}
    assert seen["Display"] == {("fast", False)}
    assert seen["ProPhoto RGB"] == {("fast", True)}


def test_an_opaque_jpeg_with_an_up_to_date_thumbnail_takes_one_detector_pass(client_gate, monkeypatch):
    photo = Image.open(vi.HOPPER).convert("RGB")
    thumb = Image.new("RGB", (160, 120))
    small = photo.copy()
    small.thumbnail((160, 120))
    thumb.paste(small, ((160 - small.width) // 2, 0))  # letterboxed, as cameras make them
    data = vi.jpeg(photo, exif=vi.exif_with_thumbnail(vi.jpeg(thumb, quality=75)),
                   icc_profile=vi.srgb_curve_profile())
    img = load_image(data)
    assert img.views == () and img.cautions == ()
    calls = []
    real = client_gate.detector.detect
    monkeypatch.setattr(client_gate.detector, "detect", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert client_gate.check(img, channel="facebook").decision == "blocked"
    assert len(calls) == 1


# -- item 5: embedded pictures ----------------------------------------------------------------------------


def test_an_exif_thumbnail_with_a_client_blocks_a_faceless_photo(client_gate):
    v = client_gate.check(vi.thumbnail_with_a_face(), channel="website")
    _blocked_in(v, "exif_thumbnail")
    assert v.faces == ()  # the photo itself has none
    [reason] = [r for r in v.reasons if r.code == "embedded_checked"]
    assert "EXIF thumbnail" in reason_text(reason, "en") and "without metadata" in reason_text(reason, "en")


def test_an_exif_thumbnail_with_a_face_needs_consent_without_a_register(no_register_gate):
    v = no_register_gate.check(vi.thumbnail_with_a_face(), channel="facebook")
    assert v.decision == "needs_consent"
    assert [x.view.kind for x in v.views] == ["exif_thumbnail"]


def test_a_second_mpf_image_with_a_client_blocks(client_gate):
    data = vi.mpf_with_a_face()
    assert Image.open(io.BytesIO(data)).format == "MPO"
    v = client_gate.check(data, channel="facebook")
    _blocked_in(v, "mpf_image")
    # every MPF image was looked at: "only the first frame was checked" no longer applies
    assert "frames_unchecked" not in [r.code for r in v.reasons]


def test_a_picture_in_xmp_with_a_client_blocks(client_gate):
    _blocked_in(client_gate.check(vi.xmp_with_a_face(), channel="facebook"), "xmp_image")


def _xmp_pictures(n: int) -> str:
    plain = base64.b64encode(vi.jpeg(Image.new("RGB", (64, 48), (30, 90, 160)))).decode()
    items = "".join(f'<rdf:li xmpGImg:image="{plain}"/>' for _ in range(n))
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description xmlns:xmpGImg="http://ns.adobe.com/xap/1.0/g/img/"><rdf:Alt>'
            f"{items}</rdf:Alt></rdf:Description></rdf:RDF></x:xmpmeta>")


def test_more_embedded_pictures_than_the_cap_need_consent(no_register_gate):
    data = vi.jpeg(vi.faceless_main(), xmp=_xmp_pictures(views.MAX_EMBEDDED_IMAGES + 1).encode())
    img = load_image(data)
    assert [c.to_dict() for c in img.cautions] == [{"code": "embedded_over_cap",
                                                    "count": views.MAX_EMBEDDED_IMAGES + 1}]
    v = no_register_gate.check(img, channel="facebook")
    assert v.decision == "needs_consent"
    [reason] = [r for r in v.reasons if r.code == "embedded_over_cap"]
    assert f"only the first {views.MAX_EMBEDDED_IMAGES}" in reason_text(reason, "en")


def test_an_undecodable_thumbnail_needs_consent(no_register_gate):
    broken = vi.hopper_thumbnail()[:1500]
    v = no_register_gate.check(vi.jpeg(vi.faceless_main(), exif=vi.exif_with_thumbnail(broken)),
                               channel="facebook")
    assert v.decision == "needs_consent"
    assert "embedded_unreadable" in [r.code for r in v.reasons]


def test_cli_reports_the_thumbnail_in_both_languages(tmp_path, gate_parts):
    from ..publish_helpers import build_register

    reg = build_register(tmp_path / "reg.sqlite3", gate_parts,
                         [{"name": "Grace Hopper", "role": "client", "photos": [vi.HOPPER]}])
    photo = tmp_path / "coffee.jpg"
    photo.write_bytes(vi.thumbnail_with_a_face())
    runner = CliRunner()
    r = runner.invoke(app, ["--register", str(reg), "check", "--json", str(photo)])
    assert r.exit_code == 3, r.output
    [out] = json_lines(r.stdout)
    assert out["decision"] == "blocked" and out["faces"] == []
    assert [(v["kind"], v["decision"], len(v["faces"])) for v in out["views"]] == [("exif_thumbnail", "blocked", 1)]
    r = runner.invoke(app, ["--register", str(reg), "--lang", "fi", "check", str(photo)])
    assert r.exit_code == 3 and "EXIF-pienoiskuva" in r.output


def test_view_names_exist_in_both_languages():
    for kind, entry in messages.VIEWS.items():
        assert set(entry) == set(messages.LANGS), kind
        assert all(len(pair) == 2 for pair in entry.values())
    assert set(messages.VIEWS) == {"on_black", "alpha_ignored", "colour_managed"} | views.EMBEDDED_KINDS


def test_difference_ignores_resampling_and_bars_but_not_a_face():
    photo = np.asarray(vi.faceless_main())
    small = np.asarray(Image.fromarray(photo).resize((160, 107), Image.Resampling.LANCZOS))
    letterboxed = np.zeros((120, 160, 3), np.uint8)
    letterboxed[6:113] = small
    assert views.difference(photo, letterboxed) < views.EMBEDDED_CELL_DIFF
    face = np.asarray(Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB").resize((30, 36)))
    with_face = letterboxed.copy()
    with_face[40:76, 60:90] = face
    assert views.difference(photo, with_face) > views.CELL_DIFF
    in_bar = letterboxed.copy()
    in_bar[0:6, 60:90] = 255
    assert views.difference(photo, in_bar) > views.CELL_DIFF


def test_a_heic_photos_own_thumbnails_are_read_and_add_no_rendering():
    from imagegate.image.loader import Limits, _open_embedded

    buf = io.BytesIO()
    Image.open(vi.HOPPER).save(buf, "HEIF", quality=90, thumbnails=[128, 256])
    data = buf.getvalue()
    found = views.embedded(Image.open(io.BytesIO(data)), data, 1, lambda s: _open_embedded(s, Limits()))
    # libheif samples its thumbnails rather than averaging: compared both ways, they match the photo
    assert [(kind, picture.size) for kind, _, picture in found.pictures] == [("heif_thumbnail", (108, 128)),
                                                                           ("heif_thumbnail", (218, 256))]
    assert load_image(data).views == ()


# -- BMP: an alpha channel Pillow dropped, pixels a run-length stream skips (issue 24) --------------------


@pytest.fixture(scope="module")
def empty_register_gate(detector, embedder):
    reg = Register(":memory:")
    gate = Gate(register=reg, detector=detector, embedder=embedder)
    yield gate
    reg.close()


def _found_over_white(verdict, decision: str, code: str) -> None:
    """The face is found in the photo's first rendering: over a white page, where a browser shows it."""
    assert verdict.decision == decision, [reason_text(r, "en") for r in verdict.reasons]
    assert len(verdict.faces) == 1
    assert any(r.code == code and r.faces == (0,) for r in verdict.reasons)


BMP_ALPHA = {
    # Chromium takes a V3+ header's alpha mask for BI_RGB pixels too; Pillow reads them as BGRX
    "v5_bi_rgb_alpha_mask": lambda: vi.face_in_bmp_alpha(124, vi.BI_RGB, 0xFF000000),
    "v4_bi_rgb_alpha_mask": lambda: vi.face_in_bmp_alpha(108, vi.BI_RGB, 0xFF000000),
    # no mask: both browsers draw it opaque; taken as alpha all the same (when in doubt, alpha)
    "v5_bi_rgb_no_mask": lambda: vi.face_in_bmp_alpha(124, vi.BI_RGB, 0),
    # Pillow reads this one as RGBA already
    "v4_bitfields_alpha_mask": lambda: vi.face_in_bmp_alpha(108, vi.BI_BITFIELDS, 0xFF000000),
    "v5_16bit_1bit_alpha": vi.face_in_bmp16_alpha,
}


@pytest.mark.parametrize("name", BMP_ALPHA)
def test_a_bmp_with_the_face_in_its_alpha_channel_is_blocked(client_gate, name):
    data = BMP_ALPHA[name]()
    # every colour bit is 0: without its alpha the picture is black
    assert np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).max() == 0
    img = load_image(data)
    assert img.rgb.max() == 255 and [v.kind for v in img.views] == ["on_black"]  # alpha ignored: black too
    assert img.views[0].rgb.max() == 0
    _found_over_white(client_gate.check(data, channel="facebook"), "blocked", "client")


@pytest.mark.parametrize("rle4", [False, True], ids=["rle8", "rle4"])
def test_the_pixels_an_rle_bmp_skips_are_transparent(client_gate, rle4):
    data = vi.face_in_rle_skips(rle4)
    # Pillow fills the skipped pixels with palette entry 0: black
    assert np.asarray(Image.open(io.BytesIO(data)).convert("L")).max() == 0
    img = load_image(data)
    dark = vi.hopper_grey() < 128
    assert np.all(img.rgb[dark] == 0) and np.all(img.rgb[~dark] == 255)  # coded black, skipped white
    assert [v.kind for v in img.views] == ["on_black"] and img.views[0].rgb.max() == 0
    _found_over_white(client_gate.check(data, channel="facebook"), "blocked", "client")


@pytest.mark.parametrize("make", [vi.face_in_bmp_alpha, vi.face_in_rle_skips], ids=["alpha", "rle_skips"])
def test_an_unknown_face_in_a_bmps_transparency_needs_consent(empty_register_gate, make):
    verdict = empty_register_gate.check(make(), channel="facebook")
    _found_over_white(verdict, "needs_consent", "unknown")


def test_an_rle_bmp_that_pillow_lays_out_otherwise_needs_consent(empty_register_gate):
    # a full row, then a delta one row on: a browser stays at the end of that row (the run after it is
    # dropped, the row skipped) and goes on after the end of line; Pillow goes on at the next row's start
    stream = bytes((4, 1, 0, 2, 0, 1, 4, 2, 0, 0, 4, 3, 0, 1))
    grey = [(0, 0, 0), (80, 80, 80), (160, 160, 160), (240, 240, 240)]
    data = vi.bmp_rle(np.zeros((3, 4), np.uint8), grey, stream=stream)
    assert np.asarray(Image.open(io.BytesIO(data))).tolist() == [[2] * 4, [0] * 4, [1] * 4]
    img = load_image(data)
    assert img.rgb[..., 0].tolist() == [[240] * 4, [255] * 4, [80] * 4]
    assert [c.code for c in img.cautions] == ["bmp_decoders_differ"]
    v = empty_register_gate.check(data, channel="facebook")
    assert v.decision == "needs_consent"
    [reason] = [r for r in v.reasons if r.code == "bmp_decoders_differ"]
    assert "browsers show" in reason_text(reason, "en") and "selainten" in reason_text(reason, "fi")
