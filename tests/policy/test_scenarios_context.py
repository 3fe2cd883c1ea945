"""End to end on the shared photos (issue 14): crowds that are not crowds, the event context, uncertain
matches, degraded look-alikes and consent dates. Composites are made here from ../shared/data; the
register is real (enrolled from the shared identities) and so are the models."""

from __future__ import annotations

import datetime as dt
import io

import cv2
import numpy as np
import pytest
from PIL import Image

from imagegate.cli.main import app
from imagegate.gate import Gate
from imagegate.register.store import Register
from imagegate.words.wording import reason_text

from ..conftest import CliRunner, json_lines, shared_data
from ..publish_helpers import build_register

runner = CliRunner()
DAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def reg_path(tmp_path_factory, gate_parts):
    people = shared_data() / "identities" / "people"
    path = build_register(tmp_path_factory.mktemp("context") / "register.sqlite3", gate_parts, [
        {"name": "steve_wozniak", "role": "staff", "photos": [people / "steve_wozniak" / "steve_wozniak2.jpg"],
         "consent": ["facebook"]},
        {"name": "obama", "role": "client", "photos": [people / "obama" / "obama.jpg"]},
        {"name": "ms_family2_lady", "role": "client", "photos": [people / "ms_family2_lady" / "Family2-Lady1.jpg"]},
        # a client with informed consent for facebook whose brother is not registered
        {"name": "ms_family1_daughter", "role": "client", "consent": ["facebook"], "risks": True,
         "photos": [people / "ms_family1_daughter" / f"Family1-Daughter{i}.jpg" for i in (1, 3)]},
        {"name": "guido_van_rossum", "role": "staff", "consent": ["facebook"], "from": "2026-11-01",
         "photos": [people / "guido_van_rossum" / "guido_van_rossum2.jpg"]},
    ])
    with Register(path) as reg:
        reg.withdraw("steve_wozniak")
    return path


@pytest.fixture(scope="module")
def gate(reg_path, gate_parts):
    with Gate(register=reg_path, **gate_parts) as g:
        yield g


def jpeg(img: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def shrunk(path, face_px: float, quality: int, gate) -> bytes:
    """The photo scaled so its largest face is `face_px` tall, saved at JPEG `quality`."""
    img = Image.open(path).convert("RGB")
    h = max(f.box[3] for f in gate.analyse(img).faces)
    k = face_px / h
    rgb = cv2.resize(np.asarray(img), (round(img.width * k), round(img.height * k)), interpolation=cv2.INTER_AREA)
    return jpeg(Image.fromarray(rgb), quality)


def speaker_before_audience(speaker_photo, gate) -> bytes:
    """A person photographed large (~170 px) beside the marching band shrunk so that none of its faces
    (8-29 px) can be recognised."""
    audience = Image.open(shared_data() / "faces-detect" / "0_Parade_marchingband_1_104.jpg").convert("RGB")
    audience = audience.resize((800, round(audience.height * 800 / audience.width)), Image.LANCZOS)
    im = Image.open(speaker_photo).convert("RGB")
    x, y, w, h = max(gate.analyse(im).faces, key=lambda f: f.box[3]).box
    k = 170 / h
    im = im.resize((round(im.width * k), round(im.height * k)))
    cx, cy = (x + w / 2) * k, (y + h / 2) * k
    canvas = Image.new("RGB", (audience.width + 400, audience.height), (90, 90, 90))
    canvas.paste(im.crop((round(cx - 200), round(cy - 200), round(cx + 200), round(cy + 400))), (0, 40))
    canvas.paste(audience, (400, 0))
    return jpeg(canvas)


# -- 1. only faces that blend into a crowd are exempt ------------------------------------------------------


@pytest.mark.parametrize("who, photo, decision, status", [
    ("a staff member whose consent was withdrawn", "steve_wozniak/steve_wozniak3.jpg", "needs_consent", "no_consent"),
    ("a client", "obama/obama2.jpg", "blocked", "client"),
])
def test_a_speaker_before_a_distant_audience_is_not_a_crowd_face(gate, who, photo, decision, status):
    data = speaker_before_audience(shared_data() / "identities" / "people" / photo, gate)
    v = gate.check(data, channel="facebook", on=DAY, event="public")
    assert v.decision == decision, (who, [reason_text(r, "en") for r in v.reasons])
    speaker = max(v.faces, key=lambda f: f.measurement.publish_height_px)
    assert speaker.status.status == status and speaker.status.prominent and not speaker.status.crowd_exempt
    assert len(v.faces) >= 11  # the audience is there, and still covered, but for its largest faces that
    # are too small to compare with the register: any may be a client, judged on their own (issue 24, item 1)
    assert all(f.status.crowd_exempt or f.status.status == "not_identifiable"
               or (f.status.status == "unmatchable" and f.status.prominent) for f in v.faces if f is not speaker)


def test_the_audience_alone_stays_a_crowd(gate):
    audience = shared_data() / "faces-detect" / "0_Parade_marchingband_1_104.jpg"
    v = gate.check(audience, channel="facebook", on=DAY, event="public")
    assert v.crowd
    # its two largest faces (30 and 37 px as posted) are too small to compare with the register: either
    # may be one of the register's clients, and a client among the largest faces is not "among many
    # other people" (issue 24, item 1); the rest of the band is covered
    assert v.decision == "needs_consent", [r.code for r in v.reasons]
    assert [r.code for r in v.reasons] == ["unmatchable", "crowd_prominent", "crowd"]
    assert all(f.status.crowd_exempt or f.status.prominent or not f.identifiable for f in v.faces)


# -- 2. the event context ----------------------------------------------------------------------------------


def test_a_posed_group_with_possible_clients_is_a_crowd_only_at_a_stated_public_event(gate):
    # 23 faces, two of them children within the loose threshold of the client ms_family2_lady
    photo = shared_data() / "faces-detect" / "20_Family_Group_Family_Group_20_64.jpg"
    got = {ev: gate.check(photo, channel="facebook", on=DAY, event=ev) for ev in ("public", "unknown", "private")}
    assert {ev: v.decision for ev, v in got.items()} == {
        "public": "allowed", "unknown": "needs_consent", "private": "blocked"}
    unknown = got["unknown"]
    asked = [r for r in unknown.reasons if r.code == "client_in_crowd"]
    assert asked and "ms_family2_lady" in reason_text(asked[0], "en") and "--event public" in reason_text(asked[0], "en")
    assert any(r.code == "crowd_unknown_event" for r in unknown.reasons)
    assert any(r.code == "crowd_private" for r in got["private"].reasons)
    assert {ev: v.to_dict()["event"] for ev, v in got.items()} == {ev: ev for ev in got}
    # the default is unknown; plain strings in any case are accepted
    assert gate.check(photo, channel="facebook", on=DAY).decision == "needs_consent"
    assert gate.check(photo, channel="facebook", on=DAY, event=" Public").decision == "allowed"


def test_cli_event_option_json_field_and_review_sheet(reg_path, tmp_path):
    photo = str(shared_data() / "faces-detect" / "20_Family_Group_Family_Group_20_64.jpg")
    sheet = tmp_path / "sheet.html"
    args = ["--register", str(reg_path), "--lang", "en", "check", "--json", "--on", "2026-12-01", photo]
    r = runner.invoke(app, args + ["--event", "public", "--report", str(sheet)])
    assert r.exit_code == 0, r.output
    [row] = json_lines(r.stdout)
    assert (row["decision"], row["event"]) == ("allowed", "public")
    assert "Event: public (crowd exception applies)" in sheet.read_text(encoding="utf-8")
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and json_lines(r.stdout)[0]["event"] == "unknown"
    r = runner.invoke(app, args + ["--event", "festival"])
    assert r.exit_code == 2 and "festival" in r.output and "--event" in r.output


# -- 3. uncertain matches ask ------------------------------------------------------------------------------


def test_a_look_alike_of_a_consenting_client_is_asked_not_blocked(gate):
    # the brother, not registered, at distance ~0.54 from his sister, a client with informed consent
    brother = shared_data() / "identities" / "people" / "ms_family1_son" / "Family1-Son2.jpg"
    v = gate.check(brother, channel="facebook", on=DAY)
    assert v.decision == "needs_consent"
    [face] = [f for f in v.faces if f.identifiable]
    assert face.status.status == "confirm" and face.status.person.name == "ms_family1_daughter"
    # (the file's EXIF thumbnail is judged too and may add its own reasons)
    confirm = [r for r in v.reasons if r.code == "confirm"]
    assert confirm and "confirm it is ms_family1_daughter" in reason_text(confirm[0], "en")
    assert not [r for r in v.reasons if r.code == "client"]
    # on a channel her consent does not cover, a possible match to her is a client match: blocked
    assert gate.check(brother, channel="youtube", on=DAY).decision == "blocked"


# -- 4. a consent allows only a face good enough to match ---------------------------------------------------


@pytest.mark.parametrize("face_px, quality", [(45, 95), (62, 10)])
def test_a_downscaled_or_compressed_look_alike_never_passes_as_the_consenting_client(gate, face_px, quality):
    # Son1 at full size is 0.49 from his sister; shrunk to 45 px (or 62 px at JPEG q10) he came under the
    # strict threshold (0.485, 0.489) and was allowed under her consent
    data = shrunk(shared_data() / "identities" / "people" / "ms_family1_son" / "Family1-Son1.jpg", face_px,
                  quality, gate)
    v = gate.check(data, channel="facebook", on=DAY)
    assert v.decision == "needs_consent", [reason_text(r, "en") for r in v.reasons]
    [face] = [f for f in v.faces if f.identifiable]
    assert face.status.status == "confirm" and face.match.nearest.name == "ms_family1_daughter"


def test_the_consenting_client_herself_is_allowed(gate):
    herself = shared_data() / "identities" / "people" / "ms_family1_daughter" / "Family1-Daughter2.jpg"
    v = gate.check(herself, channel="facebook", on=DAY)
    assert v.decision == "allowed" and [f.status.status for f in v.faces] == ["client_consented"]


# -- 5. consent dates --------------------------------------------------------------------------------------


def test_a_check_dated_before_the_consent_was_given_is_not_covered(reg_path):
    photo = str(shared_data() / "identities" / "people" / "guido_van_rossum" / "guido_van_rossum3.jpg")
    base = ["--register", str(reg_path), "--lang", "en", "check", "--json", photo]
    r = runner.invoke(app, base + ["--on", "2026-10-31"])
    assert r.exit_code == 1, r.output
    [row] = json_lines(r.stdout)
    assert row["decision"] == "needs_consent"
    assert "consent counts only from 2026-11-01" in row["reasons"][0]["message"]
    r = runner.invoke(app, base + ["--on", "2026-11-01"])
    assert r.exit_code == 0 and json_lines(r.stdout)[0]["decision"] == "allowed"


def test_the_watcher_takes_the_event_of_its_inbox(tmp_path):
    from dataclasses import replace

    from imagegate.config import Settings
    from imagegate.errors import ConfigError
    from imagegate.runs.watch import Watcher

    inbox, out = tmp_path / "in", tmp_path / "out"
    inbox.mkdir()
    assert Watcher(inbox, out, channel="facebook", settings=Settings(), event="Public").event == "public"
    assert Watcher(inbox, out, channel="facebook", settings=Settings()).event == "unknown"
    assert Watcher(inbox, out, channel="facebook", settings=replace(Settings(), event="private")).event == "private"
    with pytest.raises(ConfigError, match="expected one of: public, private, unknown"):
        Watcher(inbox, out, channel="facebook", settings=Settings(), event="party")
    with pytest.raises(ConfigError, match="event must be one of"):
        replace(Settings(), event="party").validate()
