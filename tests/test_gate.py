"""The library pipeline on real photos: fail closed where a face is hard to see."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from imagegate.enrol import enrol
from imagegate.errors import EnrolmentError, RegisterError
from imagegate.gate import Gate
from imagegate.register.store import Register

from .conftest import SAMPLES


@pytest.fixture(scope="module")
def gate(detector, embedder):
    reg = Register(":memory:")
    g = Gate(register=reg, detector=detector, embedder=embedder)
    enrol(g, "Grace Hopper", "client", [str(SAMPLES / "grace_hopper.jpg")], None)
    yield g
    reg.close()


@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_client_photographed_sideways_or_upside_down_is_still_blocked(gate, k):
    turned = Image.fromarray(np.rot90(np.asarray(Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")), k))
    v = gate.check(turned, channel="facebook")
    assert v.decision == "blocked"
    [face] = v.faces
    assert face.status.person.name == "Grace Hopper"
    assert face.match.identified is not None and face.match.identified.distance < 0.3


def test_a_sideways_reference_photo_is_refused(gate, tmp_path):
    p = tmp_path / "sideways.png"
    Image.fromarray(np.rot90(np.asarray(Image.open(SAMPLES / "astronaut.png").convert("RGB")))).save(p)
    with pytest.raises(EnrolmentError,
                       match="sideways or upside down .the photo would need turning 270 degrees anticlockwise"):
        enrol(gate, "Eileen Collins", "staff", [str(p)], None)
    assert [p.name for p in gate.register.people()] == ["Grace Hopper"]


@pytest.mark.slow  # starts a subprocess
def test_library_works_from_a_plain_script_on_a_photo_with_many_faces(tmp_path):
    """A posting tool's script calls imagegate.check() with no `if __name__ == "__main__"` guard.

    Nothing in a single check may start worker processes (a spawned child would re-run the
    script); a photo of four people, all described against a non-empty register, is the case
    that used to start a descriptor helper."""
    import subprocess
    import sys

    from imagegate.register.store import Register

    from .conftest import SAMPLES, shared_data

    reg = tmp_path / "register.sqlite3"
    with Register(reg) as r:
        from imagegate.enrol import enrol
        from imagegate.gate import Gate

        with Gate(register=r) as g:
            enrol(g, "Grace Hopper", "staff", [str(SAMPLES / "grace_hopper.jpg")], None)
    script = tmp_path / "post_photos.py"
    script.write_text("import sys, imagegate\n"
                      "v = imagegate.check(sys.argv[1], register=sys.argv[2], channel='facebook')\n"
                      "print(v.decision, len(v.faces), sum(f.to_dict()['identifiable'] for f in v.faces))\n")
    photo = shared_data() / "identities" / "groups" / "ms_identification1.jpg"
    out = subprocess.run([sys.executable, str(script), str(photo), str(reg)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    decision, faces, identifiable = out.stdout.split()
    assert decision == "needs_consent" and int(faces) == 4 and int(identifiable) == 4


def test_closing_a_gate_leaves_an_injected_detector_to_its_owner(detector, embedder):
    """Models load once and are shared: one Gate closing must not break the others."""
    with Register(":memory:") as reg:
        with Gate(register=reg, detector=detector, embedder=embedder) as first:
            first.analyse(SAMPLES / "grace_hopper.jpg")
        with Gate(register=reg, detector=detector, embedder=embedder) as second:
            assert len(second.analyse(SAMPLES / "grace_hopper.jpg").faces) == 1


# -- a long-lived Gate (watcher workers, posting tools) and a register that changes under it ----------------

def _enrol_elsewhere(path, name, role, embedder, detector, consent: dict | None = None):
    """Another process's view: its own Register and Gate on the same file."""
    with Register(path) as reg:
        enrol(Gate(register=reg, detector=detector, embedder=embedder), name, role,
              [str(SAMPLES / "grace_hopper.jpg")], None)
        if consent is not None:
            reg.add_consent(name, ["facebook"], **consent)


def test_a_long_lived_gate_sees_enrolments_forgets_and_a_reused_person_id(tmp_path, detector, embedder):
    path = tmp_path / "reg.sqlite3"
    Register(path).close()
    photo = str(SAMPLES / "grace_hopper.jpg")
    with Gate(register=path, detector=detector, embedder=embedder) as gate:
        assert gate.check(photo, channel="facebook").decision == "needs_consent"  # nobody enrolled yet
        # enrolled by mistake as staff with a consent ...
        _enrol_elsewhere(path, "Grace Hopper", "staff", embedder, detector, {"valid_until": "2099-01-01"})
        assert gate.check(photo, channel="facebook").decision == "allowed"
        # ... forgotten and enrolled again as a client under the same id (SQLite reuses it),
        # with a consent whose risks were not explained: the cached role must not meet it
        with Register(path) as reg:
            old_id = reg.get("Grace Hopper").id
            reg.forget("Grace Hopper")
        _enrol_elsewhere(path, "Grace Hopper", "client", embedder, detector, {"valid_until": "2099-01-01"})
        with Register(path) as reg:
            assert reg.get("Grace Hopper").id == old_id
        v = gate.check(photo, channel="facebook")
        assert v.decision == "blocked", v.to_dict()["reasons"]


def test_a_gate_reads_a_register_file_replaced_under_it(tmp_path, detector, embedder):
    # A restore by copy or a sync tool replaces the file by rename: the old connection reads a ghost.
    path, other = tmp_path / "reg.sqlite3", tmp_path / "other.sqlite3"
    _enrol_elsewhere(path, "Grace Hopper", "staff", embedder, detector, {"valid_until": "2099-01-01"})
    _enrol_elsewhere(other, "Grace Hopper", "staff", embedder, detector, {"valid_until": "2099-01-01"})
    with Register(other) as reg:
        reg.withdraw("Grace Hopper")
    photo = str(SAMPLES / "grace_hopper.jpg")
    with Gate(register=path, detector=detector, embedder=embedder) as gate:
        assert gate.check(photo, channel="facebook").decision == "allowed"
        os.replace(other, path)
        assert gate.check(photo, channel="facebook").decision == "needs_consent"
        path.unlink()
        with pytest.raises(RegisterError, match="does not exist"):  # gone: an error, never the old answer
            gate.check(photo, channel="facebook")
    # a Register object the caller passed in cannot be reopened by the gate: it refuses to judge
    _enrol_elsewhere(path, "Grace Hopper", "staff", embedder, detector, {"valid_until": "2099-01-01"})
    with Register(path) as reg, Gate(register=reg, detector=detector, embedder=embedder) as gate:
        assert gate.check(photo, channel="facebook").decision == "allowed"
        _enrol_elsewhere(other, "Someone Else", "staff", embedder, detector)
        os.replace(other, path)
        with pytest.raises(RegisterError, match="was replaced"):
            gate.check(photo, channel="facebook")


def test_a_gate_on_the_default_register_sees_the_first_enrolment(tmp_path, monkeypatch, detector, embedder):
    # Zero configuration: no register file yet, so the gate starts with an empty one in memory.
    from imagegate.register.location import default_register_path

    monkeypatch.delenv("IMAGEGATE_REGISTER", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    default = default_register_path()
    assert str(default).startswith(str(tmp_path)) and not default.exists()
    photo = str(SAMPLES / "grace_hopper.jpg")
    with Gate(detector=detector, embedder=embedder) as gate:
        assert gate.check(photo, channel="facebook").decision == "needs_consent"
        _enrol_elsewhere(default, "Grace Hopper", "client", embedder, detector)
        assert gate.check(photo, channel="facebook").decision == "blocked"


def test_a_register_named_in_the_environment_must_exist(tmp_path, monkeypatch, detector, embedder):
    # A typo, another user's account, an unmounted share: never "nobody is a client".
    monkeypatch.setenv("IMAGEGATE_REGISTER", str(tmp_path / "register.sqlite3x"))
    with Gate(detector=detector, embedder=embedder) as gate, pytest.raises(RegisterError, match="does not exist"):
        gate.check(str(SAMPLES / "grace_hopper.jpg"), channel="facebook")


def test_without_a_register_a_crowd_is_not_an_exception(detector, embedder):
    # 23 faces, nobody enrolled: each could be a client nobody can recognise, so each needs consent.
    from .conftest import shared_data

    photo = shared_data() / "faces-detect" / "20_Family_Group_Family_Group_20_64.jpg"
    with Gate(register=Register(":memory:"), detector=detector, embedder=embedder) as gate:
        v = gate.check(photo, channel="facebook")
    assert v.decision == "needs_consent" and not v.crowd
    assert [r.code for r in v.reasons][-1] == "crowd_no_register"


def test_a_generated_crowd_covers_a_small_client_but_not_a_prominent_one(gate):
    """The crowd exception end to end on a photo built from the samples (no evaluation photos needed)."""
    from .publish_helpers import sample_crowd

    photo, tiles = sample_crowd()
    v = gate.check(photo, channel="facebook", event="public")
    centres = [(f.box[0] + f.box[2] / 2, f.box[1] + f.box[3] / 2) for f in v.faces]
    assert sorted(next(i for i, (x, y, w, h) in enumerate(tiles) if x <= cx < x + w and y <= cy < y + h)
                  for cx, cy in centres) == list(range(12))  # one face in each tile
    [client] = [f for f in v.faces if f.status.status == "client"]
    assert client.status.person.name == "Grace Hopper" and client.status.crowd_exempt
    assert v.decision == "allowed" and v.crowd
    # a client in a crowd is covered only at a stated public event
    assert gate.check(photo, channel="facebook").decision == "needs_consent"
    prominent, _ = sample_crowd(client_width=260)  # her face now the largest
    assert gate.check(prominent, channel="facebook", event="public").decision == "blocked"
    with Gate(register=Register(":memory:"), detector=gate.detector, embedder=gate.embedder) as empty:
        nobody = empty.check(photo, channel="facebook")
    assert nobody.decision == "needs_consent" and [r.code for r in nobody.reasons][-1] == "crowd_no_register"


def test_a_stale_person_never_reads_another_persons_consents(tmp_path):
    with Register(tmp_path / "reg.sqlite3") as reg:
        stale = reg.add_person("Anna", "staff")
        reg.forget("Anna")
        reg.add_person("Bea", "client")
        reg.add_consent("Bea", ["facebook"], valid_until="2099-01-01")
        assert reg.get("Bea").id == stale.id
        with pytest.raises(RegisterError, match="changed or removed in the register during the check"):
            reg.consent_status(stale, "facebook")


def test_identifiability_is_judged_at_the_size_each_channel_shows_the_photo(gate):
    # A client's face ~50 px tall in a 12-MP photo: ~25 px once Facebook fits it into 2048 px (too
    # small to recognise), but X serves 4096 px and a web page or a print shows every pixel.
    canvas = Image.new("RGB", (4000, 3000), (128, 128, 128))
    small = Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB").resize((113, 132), Image.LANCZOS)
    canvas.paste(small, (1700, 1300))
    for channel in ("facebook", "instagram"):
        v = gate.check(canvas, channel=channel)
        [face] = v.faces
        assert v.decision == "allowed" and not face.measurement.identifiable, channel
        assert face.measurement.publish_height_px == pytest.approx(face.box[3] * 2048 / 4000)
    for channel in ("twitter", "website", "print"):
        v = gate.check(canvas, channel=channel)
        [face] = v.faces
        assert face.measurement.publish_height_px == face.box[3] > 40, channel
        assert v.decision == "blocked" and face.status.person.name == "Grace Hopper", channel


def _hopper_on(size: tuple[int, int], face_px: float, at: tuple[int, int]) -> Image.Image:
    """Grace Hopper's photo scaled so her face is about `face_px` tall (199 px in the sample), pasted on a
    plain canvas of `size`."""
    hopper = Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")
    k = face_px / 199
    canvas = Image.new("RGB", size, (128, 128, 128))
    canvas.paste(hopper.resize((round(hopper.width * k), round(hopper.height * k)), Image.LANCZOS), at)
    return canvas


@pytest.mark.parametrize("size, face_px, at, shown_width", [
    ((1080, 6480), 84, (400, 3000), 1080),   # a strip: Instagram cuts it to 1080 x 1350, shown as it is
    ((8000, 1000), 110, (4000, 300), 800),   # a panorama: the uploader may cut it to 800 x 1000, shown as it is
], ids=["strip", "panorama"])
def test_a_client_in_a_strip_or_panorama_instagram_crops_is_blocked(gate, size, face_px, at, shown_width):
    # Fitted into 2048 px her face would be under 30 px (26.5 and 28), "too small to recognise"; the crop
    # the uploader places over her shows it at 84 and 110 px.
    v = gate.check(_hopper_on(size, face_px, at), channel="instagram")
    [face] = v.faces
    assert face.measurement.publish_height_px == pytest.approx(face.measurement.height_px * min(1, 1080 / shown_width))
    assert face.measurement.publish_height_px > 55 and face.measurement.identifiable
    assert v.decision == "blocked" and face.status.person.name == "Grace Hopper"
    # a channel that shows the whole photo fitted into its long side judges it there, as before
    [other] = gate.check(_hopper_on(size, face_px, at), channel="facebook").faces
    assert other.measurement.publish_height_px == pytest.approx(other.measurement.height_px * 2048 / max(size))


def test_faces_are_looked_for_at_the_size_the_crop_shows_them(gate):
    # A 640 x 16000 strip: Instagram shows its 640 x 800 crops pixel for pixel, so a 56 px face is
    # recognisable there, while analysed fitted into 2048 px (1:7.8) it would be 7 px and not even found.
    v = gate.check(_hopper_on((640, 16000), 56, (200, 9000)), channel="instagram")
    [face] = v.faces
    assert face.measurement.publish_height_px == face.measurement.height_px > 40
    assert v.decision == "blocked" and face.status.person.name == "Grace Hopper"


def test_the_analysis_size_follows_the_largest_display(detector, embedder):
    seen = []

    class Spy:
        def detect(self, rgb, *, analysis_long_side, settle_below):
            seen.append(analysis_long_side)
            return []

    with Gate(register=Register(":memory:"), detector=Spy(), embedder=embedder) as g:
        for size in ((1080, 6480), (8000, 1000), (4000, 3000)):
            for channel in ("instagram", "facebook", "website"):
                g.analyse(Image.new("RGB", size, (128, 128, 128)), channel=channel)
    assert seen == [6480, 2048, 6480,             # the strip: every pixel is shown on Instagram
                    8000, 2048, 8000,             # the panorama: cut to 800 x 1000, every pixel shown
                    2048, 2048, 4000]             # within the aspect range: as before


def test_one_persons_reference_photos_must_show_one_face(detector, embedder):
    # A photo of a client among a consenting staff member's photos would make the client match the
    # staff member: "allowed" under someone else's consent.
    from .conftest import shared_data

    with Gate(register=Register(":memory:"), detector=detector, embedder=embedder) as g:
        with pytest.raises(EnrolmentError, match="grace_hopper.jpg: this face does not look like the one in "
                                                 ".*astronaut.png"):
            enrol(g, "Eileen Collins", "staff", [str(SAMPLES / "astronaut.png"), str(SAMPLES / "grace_hopper.jpg")])
        assert g.register.people() == []  # all or nothing
        kit = sorted((shared_data() / "identities" / "people" / "kit_harington").iterdir())[:2]
        person, photos = enrol(g, "Kit Harington", "staff", [str(p) for p in kit])
        assert len(photos) == 2


def test_a_gate_reads_a_register_backup_copied_over_its_file_in_place(tmp_path, detector, embedder):
    # `cp backup.sqlite3 register.sqlite3` keeps the inode, and SQLite's data_version does not see it
    import shutil

    path, backup = tmp_path / "reg.sqlite3", tmp_path / "backup.sqlite3"
    _enrol_elsewhere(path, "Grace Hopper", "staff", embedder, detector, {"valid_until": "2099-01-01"})
    shutil.copyfile(path, backup)
    with Register(backup) as reg:
        reg.withdraw("Grace Hopper")
    photo = str(SAMPLES / "grace_hopper.jpg")
    with Gate(register=path, detector=detector, embedder=embedder) as gate:
        assert gate.check(photo, channel="facebook").decision == "allowed"
        inode = path.stat().st_ino
        shutil.copyfile(backup, path)
        assert path.stat().st_ino == inode
        assert gate.check(photo, channel="facebook").decision == "needs_consent"
