"""imagegate.redact and `imagegate redact`: hidden faces are gone for the gate's own detector and matcher,
kept faces are pixel-identical, the original is untouched, and a copy that is not allowed is never saved."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import numpy as np
import pytest

from imagegate.cli.common import display_path
from imagegate.cli.main import app
from imagegate.gate import Gate
from imagegate.image.loader import load_image
from imagegate.redact import BLOCKS, RedactionError, hide, redact, region_for, save
from imagegate.vision.geometry import iou
from imagegate.vision.match import match_faces

from .conftest import SAMPLES, SHARED, CliRunner, json_lines, shared_data
from .publish_helpers import build_register

runner = CliRunner()
TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def reg_path(tmp_path_factory, gate_parts):
    """Grace Hopper a client; with the evaluation photos also the people the group-photo tests need."""
    grace = {"name": "Grace Hopper", "role": "client", "photos": [SAMPLES / "grace_hopper.jpg"]}
    path = tmp_path_factory.mktemp("redact") / "register.sqlite3"
    if not SHARED.is_dir():
        return build_register(path, gate_parts, [grace])
    people = SHARED / "identities" / "people"
    return build_register(path, gate_parts, [
        grace,
        {"name": "kit_harington", "role": "client", "photos": [people / "kit_harington" / "john1.jpeg"]},
        {"name": "rose_leslie", "role": "staff", "photos": [people / "rose_leslie" / "img1.jpg"],
         "consent": ["facebook"]},
        {"name": "ms_family1_mom", "role": "staff", "photos": [people / "ms_family1_mom" / "Family1-Mom1.jpg"],
         "consent": ["facebook"]},
        {"name": "ms_family1_dad", "role": "staff", "photos": [people / "ms_family1_dad" / "Family1-Dad1.jpg"],
         "consent": ["facebook"], "until": "2020-01-01"},
    ])


@pytest.fixture(scope="module")
def gate(reg_path, gate_parts):
    # not used as a context manager: closing would close the session's shared detector
    return Gate(register=reg_path, **gate_parts)


def outside(shape, regions) -> np.ndarray:
    mask = np.ones(shape[:2], bool)
    for x0, y0, x1, y1 in regions:
        mask[y0:y1, x0:x1] = False
    return mask


def crop(rgb, box):
    x, y, w, h = (int(round(v)) for v in box)
    return rgb[y:y + h, x:x + w]


# -- the hidden face is gone for the gate ------------------------------------------------------------------


@pytest.mark.parametrize("style", ["blur", "pixelate", "box"])
def test_client_face_is_no_longer_detected_or_matched(gate, style):
    original = load_image(SAMPLES / "grace_hopper.jpg")
    red = redact(gate, original, channel="facebook", style=style, on=TODAY)
    assert red.before.decision == "blocked"
    assert red.hidden == (0,) and red.rounds == 1
    assert red.after.decision == "allowed" and red.after.faces == ()
    # the gate's detector, run again on the exact bytes that are published, finds no face anywhere
    assert gate.analyse(red.data).faces == ()
    # forced to look where the face was, the matcher does not come near Grace Hopper (or anyone)
    box = red.before.faces[0].box
    s = gate.settings
    hidden = match_faces(gate.embedder.embed(red.rgb, [box]), gate.gallery(), strict=s.match_strict,
                         loose=s.match_loose)[0]
    assert hidden.identified is None and hidden.candidates == ()
    assert hidden.nearest.distance > s.match_loose
    shown = match_faces(gate.embedder.embed(original.rgb, [box]), gate.gallery(), strict=s.match_strict,
                        loose=s.match_loose)[0]
    assert shown.identified is not None and shown.identified.name == "Grace Hopper"  # control
    # everything outside the covered area is untouched
    keep = outside(original.rgb.shape, [a.region for a in red.areas])
    assert np.array_equal(red.rgb[keep], original.rgb[keep])


def test_group_photo_hides_client_and_keeps_consented_face_pixel_identical(gate):
    path = shared_data() / "identities" / "groups" / "kit_with_rose.jpg"
    original = load_image(path)
    red = redact(gate, original, channel="facebook", on=TODAY)
    cats = {f.status.person.name: (f.index, f.status.category) for f in red.before.faces if f.status.person}
    assert red.before.decision == "blocked"
    assert cats == {"kit_harington": (cats["kit_harington"][0], "client"),
                    "rose_leslie": (cats["rose_leslie"][0], "consented")}
    assert red.hidden == (cats["kit_harington"][0],)
    rose_box = red.before.faces[cats["rose_leslie"][0]].box
    assert np.array_equal(crop(red.rgb, rose_box), crop(original.rgb, rose_box))
    # the copy: Rose alone, identified and consented; Kit's face is found by nobody
    assert red.after.decision == "allowed"
    assert [(f.status.category, f.status.person.name) for f in red.after.faces] == [("consented", "rose_leslie")]
    kit_box = red.before.faces[cats["kit_harington"][0]].box
    assert all(iou(f.box, kit_box) == 0 for f in red.after.faces)
    # the original format is JPEG, so the copy is a JPEG; its decoded pixels are what was re-checked
    assert red.format == "JPEG" and red.data[:2] == b"\xff\xd8"


def test_family_photo_unknown_and_expired_hidden_consented_kept(gate):
    path = shared_data() / "identities" / "groups" / "ms_identification1.jpg"
    original = load_image(path)
    red = redact(gate, original, channel="facebook", on=TODAY)
    assert red.before.decision == "needs_consent"
    kept = [f for f in red.before.faces if f.status.category == "consented"]
    assert [f.status.person.name for f in kept] == ["ms_family1_mom"]
    statuses = sorted(f.status.status for f in red.before.faces if f.index in red.hidden)
    assert len(red.hidden) == 3 and "no_consent" in statuses  # the dad's consent expired in 2020
    # Heads touch here: a hidden face's own box overlaps the mother's by a few pixels and is covered
    # (hiding wins); the neighbours' margins spare her face, so the rest of it is pixel-identical.
    spared = np.zeros(original.rgb.shape[:2], bool)
    x, y, w, h = kept[0].box
    spared[int(y):int(np.ceil(y + h)), int(x):int(np.ceil(x + w))] = True
    for f in red.before.faces:
        if f.index in red.hidden:
            fx, fy, fw, fh = f.box
            spared[int(fy):int(np.ceil(fy + fh)), int(fx):int(np.ceil(fx + fw))] = False
    assert spared.sum() > 0.8 * w * h
    assert np.array_equal(red.rgb[spared], original.rgb[spared])
    assert red.after.decision == "allowed"
    assert [f.status.person.name for f in red.after.faces if f.status.person] == ["ms_family1_mom"]


# -- irreversibility ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["blur", "pixelate"])
def test_covered_area_keeps_only_block_averages(style):
    """Two different faces with the same 6 x 6 block averages come out identical: nothing else survives."""
    rng = np.random.default_rng(8)
    a = rng.integers(0, 256, (60, 60, 3), dtype=np.uint8)
    b = a.copy()
    step = 60 // BLOCKS
    for by in range(BLOCKS):
        for bx in range(BLOCKS):
            block = b[by * step:(by + 1) * step, bx * step:(bx + 1) * step].reshape(-1, 3)
            b[by * step:(by + 1) * step, bx * step:(bx + 1) * step] = rng.permutation(block).reshape(step, step, 3)
    assert not np.array_equal(a, b)
    box = (10.0, 10.0, 40.0, 40.0)  # with its margin the covered area is the whole 60 x 60 image
    assert region_for(box, 60, 60) == (0, 0, 60, 60)
    ra, rb = a.copy(), b.copy()
    hide(ra, box, style)
    hide(rb, box, style)
    yy, xx = np.mgrid[0:60, 0:60]
    # the ellipse of the whole grown box, x -4..64 and y -10..64 (it runs past the image's edges)
    covered_mask = ((xx - 29.5) / 34) ** 2 + ((yy - 26.5) / 37) ** 2 <= 1
    assert np.array_equal(ra[covered_mask], rb[covered_mask])
    assert np.array_equal(ra[~covered_mask], a[~covered_mask])  # corners outside the ellipse are left
    if style == "pixelate":
        covered = ra[10:50, 10:50].reshape(-1, 3)
        assert len(np.unique(covered, axis=0)) <= BLOCKS * BLOCKS


def test_margin_covers_hair_and_ears():
    rgb = np.full((400, 400, 3), 200, np.uint8)
    region = hide(rgb, (150.0, 150.0, 100.0, 100.0), "box")
    assert region == (115, 100, 285, 285)  # 35 % each side, 50 % above for hair
    assert (rgb[150:250, 150:250] == (96, 96, 96)).all()


# -- honesty: a copy that is not allowed is reported, never saved ----------------------------------------------


def test_copy_that_stays_unallowed_is_not_saved(gate, tmp_path, monkeypatch):
    real = Gate.check

    def stubborn(self, image, **kw):  # the copy (bytes) always needs consent, whatever is hidden
        v = real(self, image, **kw)
        return dataclasses.replace(v, decision="needs_consent") if isinstance(image, bytes) else v

    monkeypatch.setattr(Gate, "check", stubborn)
    red = redact(gate, SAMPLES / "grace_hopper.jpg", channel="facebook", on=TODAY)
    assert red.decision == "needs_consent" and not red.allowed
    with pytest.raises(RedactionError, match="should come out allowed but was needs_consent"):
        save(red, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_reports_unallowed_copy_with_its_exit_code(reg_path, tmp_path, monkeypatch):
    real = Gate.check
    monkeypatch.setattr(Gate, "check", lambda self, image, **kw: dataclasses.replace(
        real(self, image, **kw), decision="blocked") if isinstance(image, bytes) else real(self, image, **kw))
    out = tmp_path / "out"
    r = runner.invoke(app, ["--register", str(reg_path), "redact", str(SAMPLES / "grace_hopper.jpg"),
                            "--out", str(out), "--on", "2026-12-01"])
    assert r.exit_code == 3, r.output
    assert r.stdout.splitlines()[0] == f"BLOCKED        no copy written of {display_path(str(SAMPLES / 'grace_hopper.jpg'))}"
    assert r.stdout.splitlines()[-1] == "    The original is unchanged and still blocked: do not post it."
    assert not out.exists() or list(out.iterdir()) == []


# -- CLI ----------------------------------------------------------------------------------------------------


def test_cli_writes_new_copies_and_never_touches_the_original(reg_path, tmp_path):
    src = tmp_path / "in" / "grace hopper.jpg"
    src.parent.mkdir()
    shutil.copy(SAMPLES / "grace_hopper.jpg", src)
    before = src.read_bytes()
    out = tmp_path / "out"
    args = ["--register", str(reg_path), "redact", str(src), "--out", str(out), "--on", "2026-12-01"]
    r = runner.invoke(app, args + ["--json"])
    assert r.exit_code == 0, r.output
    [row] = json_lines(r.stdout)
    first = out / "grace hopper.redacted.jpg"
    assert row["output"] == str(first) and row["decision"] == "allowed"
    assert row["before"]["decision"] == "blocked" and row["hidden"] == [1]
    assert row["after"]["faces"] == [] and row["style"] == "blur"
    copy1 = first.read_bytes()
    r = runner.invoke(app, args + ["--style", "pixelate"])
    assert r.exit_code == 0, r.output
    second = out / "grace hopper.redacted (2).jpg"
    # the copy leads (its path and verdict); the original is said to be unchanged and still blocked
    assert r.stdout.splitlines() == [f"ALLOWED        {second}", f"    copy of {src}, 1 area hidden",
                                     "    - No faces found.",
                                     "    The original is unchanged and still blocked: do not post it."]
    assert second.exists()
    assert first.read_bytes() == copy1  # an existing copy is never overwritten
    assert src.read_bytes() == before  # the original is never modified
    assert sorted(p.name for p in src.parent.iterdir()) == ["grace hopper.jpg"]
    # the written copy passes an ordinary check
    r = runner.invoke(app, ["--register", str(reg_path), "check", "--json", "--on", "2026-12-01", str(first)])
    assert r.exit_code == 0 and json_lines(r.stdout)[0]["decision"] == "allowed"


def test_cli_png_stays_png_and_finnish_output(reg_path, tmp_path):
    out = tmp_path / "out"
    r = runner.invoke(app, ["--register", str(reg_path), "--lang", "fi", "redact", str(SAMPLES / "astronaut.png"),
                            "--out", str(out), "--style", "box"])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [f"SALLITTU             {out / 'astronaut.redacted.png'}",
                                     f"    kopio kuvasta {display_path(str(SAMPLES / 'astronaut.png'))}, 1 alue piilotettu",
                                     "    - Kasvoja ei löytynyt.",
                                     "    Alkuperäinen kuva on ennallaan ja vaatii yhä suostumuksen."]
    assert (out / "astronaut.redacted.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_usage_and_errors(reg_path, tmp_path):
    base = ["--register", str(reg_path), "redact"]
    assert runner.invoke(app, base + [str(SAMPLES / "coffee.png"), "--out", str(tmp_path), "--style", "swirl"]
                         ).exit_code == 2
    assert runner.invoke(app, base + [str(SAMPLES / "coffee.png")]).exit_code == 2  # --out is required
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a photo")
    r = runner.invoke(app, base + [str(bad), str(SAMPLES / "coffee.png"), "--out", str(tmp_path / "o"), "--json"])
    assert r.exit_code == 4
    rows = json_lines(r.stdout)
    assert [(x["decision"], x["output"] is None) for x in rows] == [("error", True), ("allowed", False)]
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["coffee.redacted.png"]


def test_library_failures_are_typed_errors(gate, monkeypatch):
    with pytest.raises(RedactionError, match="unknown redaction style 'swirl'; expected one of blur, pixelate, box"):
        redact(gate, SAMPLES / "coffee.png", channel="facebook", style="swirl")

    def broken(*a, **kw):
        raise ValueError("encoder exploded")

    monkeypatch.setattr("imagegate.redact.encode", broken)
    with pytest.raises(RedactionError, match="redaction failed: ValueError: encoder exploded"):
        redact(gate, SAMPLES / "grace_hopper.jpg", channel="facebook", on=TODAY)


def test_a_copy_is_written_at_the_size_the_channel_shows_so_kept_small_faces_stay_unrecognisable(gate):
    # Two clients in a 12-MP photo: one large (hidden), one ~50 px tall - ~25 px once Facebook fits the
    # photo into 2048 px, so it may stay. A full-size copy would show that face at 50 px to anyone who
    # prints it or posts it on X: the Facebook copy is written at 2048 px.
    from PIL import Image

    canvas = Image.new("RGB", (4000, 3000), (128, 128, 128))
    hopper = Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")
    canvas.paste(hopper.resize((384, 450), Image.LANCZOS), (600, 900))
    canvas.paste(hopper.resize((113, 132), Image.LANCZOS), (2900, 1300))
    r = redact(gate, canvas, channel="facebook", on=TODAY)
    assert r.before.decision == "blocked"
    assert [f.status.category for f in r.before.faces] == ["client", "not_identifiable"]
    assert r.allowed and r.hidden == (0,)
    copy = load_image(r.data)
    assert (copy.width, copy.height) == (2048, 1536) and r.rgb.shape == (1536, 2048, 3)
    for channel in ("facebook", "print", "twitter"):
        v = gate.check(r.data, channel=channel, on=TODAY)
        assert v.decision == "allowed", (channel, [f.status.category for f in v.faces])
    # for print nothing is scaled down, so the small face is hidden instead
    r = redact(gate, canvas, channel="print", on=TODAY)
    assert r.allowed and sorted(r.hidden) == [0, 1] and load_image(r.data).width == 4000


def test_a_face_at_the_photo_edge_is_covered_by_the_ellipse_of_its_whole_box():
    # The grown box runs past the left edge; the ellipse must stay centred on the face, not slide
    # into what is left of the box and uncover the chin and cheek at the edge.
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, (400, 400, 3), dtype=np.uint8)
    before = rgb.copy()
    box = (5.0, 100.0, 100.0, 120.0)  # x, y, w, h
    region = hide(rgb, box, "blur")
    assert region == region_for(box, 400, 400) and region[0] == 0
    changed = np.any(rgb != before, axis=-1)
    # along the left edge, every row of the face box itself is covered, down to the chin
    assert changed[100:220, 0].all()
    # and the ellipse is centred on the face: its widest row covers the face's centre line at the edge
    assert changed[160, 0:140].all()
