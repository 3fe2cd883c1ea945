"""Verdicts through the real Gate, a real SQLite register and the real policy, with fake networks.

The detector and the embedder are the fakes of tests/fakes.py: each test says which faces a generated
photo holds and whose each is (a descriptor at a chosen distance from an enrolled template). Everything
else is the code that judges real photos: measuring at the channel's size, matching against the
register's templates, consent on the day, rules 4 and 6, the crowd exception, a register changed under a
long-lived Gate. The same rules on real photos and the real models are tested in test_gate.py,
test_scenarios*.py and test_policy.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import imagegate
from imagegate.channels import CHANNELS
from imagegate.config import Settings
from imagegate.enrol import enrol
from imagegate.errors import EnrolmentError, ImageLoadError, RegisterError
from imagegate.gate import Gate
from imagegate.register.store import Register
from imagegate.results import Failure
from imagegate.vision.embed import FaceEmbedder

from .fakes import FakeDetector, FakeEmbedder, Pose, blank_photo, box_of, face_at, near, person_vector

TODAY = dt.date(2026, 6, 1)
GIVEN = "2026-01-01"  # consents are given on this day unless a test says otherwise
STRICT = 0.20         # a face this far from a template is that person (strict < 0.49, consent_strict 0.47)
LOOSE = 0.55          # ... possibly that person (loose < 0.60)
CLIENT, STAFF = person_vector(1), person_vector(2)


# -- builders -----------------------------------------------------------------------------------------------


def enrol_template(reg: Register, name: str, role: str, vector: np.ndarray, *, photo: str | None = None):
    """A person with one template, as enrolment stores it (the reference photo's face, 200 px tall)."""
    sha = photo or hashlib.sha256(name.encode()).hexdigest()
    return reg.add_person_with_templates(name, role, None, [(vector, 0.9, 200.0, sha)],
                                         model=FaceEmbedder.model_id)


def consent(reg: Register, name: str, channels=("facebook",), **kw):
    kw.setdefault("valid_from", GIVEN)
    return reg.add_consent(name, list(channels), **kw)


def photo_png(tmp_path: Path, width: int = 800, height: int = 600, name: str = "photo.png") -> Path:
    p = tmp_path / name
    Image.fromarray(blank_photo(width, height)).save(p)
    return p


class Scene:
    """One photo's faces and whose each is, a register, and a Gate judging with them."""

    def __init__(self, tmp_path: Path, register: Register | None = None, settings: Settings | None = None):
        self.tmp_path = tmp_path
        self.reg = register if register is not None else Register(tmp_path / "register.sqlite3")
        self.detector = FakeDetector([])
        self.embedder = FakeEmbedder()
        self.gate = Gate(register=self.reg, detector=self.detector, embedder=self.embedder,
                         settings=settings or Settings())

    def face(self, x: float, y: float, height: float, vector: np.ndarray | None = None, **kw):
        f = face_at(x, y, height, **kw)
        self.detector.faces.append(f)
        if vector is not None:
            self.embedder.vectors[self.embedder._key(box_of(f))] = np.asarray(vector, np.float32)
        return f

    def check(self, channel: str = "facebook", *, width: int = 800, height: int = 600, on: dt.date = TODAY,
              event: str | None = None):
        return self.gate.check(photo_png(self.tmp_path, width, height), channel=channel, on=on, event=event)

    def close(self):
        self.gate.close()
        self.reg.close()


@pytest.fixture()
def scene(tmp_path):
    s = Scene(tmp_path)
    yield s
    s.close()


def statuses(verdict) -> list[str]:
    return [f.status.status for f in verdict.faces]


def codes(verdict) -> list[str]:
    return [r.code for r in verdict.reasons]


# -- one face -----------------------------------------------------------------------------------------------


def test_a_client_without_consent_is_blocked(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    scene.face(300, 200, 120, near(CLIENT, STRICT))
    v = scene.check()
    assert v.decision == "blocked"
    assert statuses(v) == ["client"]
    [face] = v.faces
    assert face.status.person.name == "Cecilia Client"
    assert face.match.identified is not None and face.match.identified.distance == pytest.approx(STRICT, abs=1e-4)
    assert v.reasons[0].code == "client" and v.reasons[0].rule == "6" and v.reasons[0].severity == "block"
    assert v.reasons[0].params["identified"] is True


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_client_is_blocked_on_every_channel_without_consent(scene, channel):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    scene.face(300, 200, 120, near(CLIENT, STRICT))
    v = scene.check(channel)
    assert v.decision == "blocked" and v.channel == channel


def test_a_client_with_informed_consent_for_the_channel_is_allowed(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    consent(scene.reg, "Cecilia Client", risks_explained=True)
    scene.face(300, 200, 120, near(CLIENT, STRICT))
    v = scene.check()
    assert v.decision == "allowed"
    assert statuses(v) == ["client_consented"]
    assert "all_consented" in codes(v)


def test_a_client_whose_consent_does_not_record_the_risks_explained_is_blocked(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    consent(scene.reg, "Cecilia Client", risks_explained=False)
    scene.face(300, 200, 120, near(CLIENT, STRICT))
    v = scene.check()
    assert v.decision == "blocked"
    assert v.reasons[0].params["state"] == "valid" and v.reasons[0].params["risks"] is False


@pytest.mark.parametrize("given, posted", [("facebook", "instagram"), ("instagram", "facebook"),
                                           ("website", "print"), ("twitter", "linkedin")])
def test_a_client_consented_for_another_channel_is_blocked(scene, given, posted):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    consent(scene.reg, "Cecilia Client", [given], risks_explained=True)
    scene.face(300, 200, 120, near(CLIENT, STRICT))
    assert scene.check(given).decision == "allowed"
    v = scene.check(posted)
    assert v.decision == "blocked"
    assert v.faces[0].consent.state == "other_channel"


def test_a_consented_staff_face_is_allowed(scene):
    enrol_template(scene.reg, "Sam Staff", "staff", STAFF)
    consent(scene.reg, "Sam Staff")
    scene.face(300, 200, 120, near(STAFF, STRICT))
    v = scene.check()
    assert v.decision == "allowed"
    assert statuses(v) == ["consented"]
    assert v.faces[0].consent.state == "valid"
    assert codes(v) == ["consented", "all_consented"]


@pytest.mark.parametrize("role", ["staff", "partner", "other"])
def test_an_identified_person_without_consent_needs_consent(scene, role):
    enrol_template(scene.reg, "Pat Person", role, STAFF)
    scene.face(300, 200, 120, near(STAFF, STRICT))
    v = scene.check()
    assert v.decision == "needs_consent"
    assert statuses(v) == ["no_consent"]
    assert v.reasons[0].params["name"] == "Pat Person" and v.reasons[0].params["state"] == "none"


def test_an_expired_consent_needs_consent_again(scene):
    enrol_template(scene.reg, "Sam Staff", "staff", STAFF)
    consent(scene.reg, "Sam Staff", valid_until="2026-03-31")
    scene.face(300, 200, 120, near(STAFF, STRICT))
    assert scene.check(on=dt.date(2026, 3, 31)).decision == "allowed"  # its last day still counts
    v = scene.check(on=dt.date(2026, 4, 1))
    assert v.decision == "needs_consent"
    assert v.faces[0].consent.state == "expired"


def test_a_consent_given_after_the_day_checked_does_not_count(scene):
    enrol_template(scene.reg, "Sam Staff", "staff", STAFF)
    consent(scene.reg, "Sam Staff", valid_from="2026-07-01")
    scene.face(300, 200, 120, near(STAFF, STRICT))
    v = scene.check(on=TODAY)
    assert v.decision == "needs_consent"
    assert v.faces[0].consent.state == "not_yet"
    assert scene.check(on=dt.date(2026, 7, 1)).decision == "allowed"


def test_a_withdrawn_consent_no_longer_allows_the_photo(scene):
    enrol_template(scene.reg, "Sam Staff", "staff", STAFF)
    consent(scene.reg, "Sam Staff", ["facebook", "instagram"])
    scene.face(300, 200, 120, near(STAFF, STRICT))
    assert scene.check().decision == "allowed"
    assert scene.reg.withdraw("Sam Staff", ["facebook"]) == 1
    v = scene.check()
    assert v.decision == "needs_consent"
    assert v.faces[0].consent.state == "withdrawn"
    assert scene.check("instagram").decision == "allowed"  # withdrawn for one channel only


def test_a_withdrawn_client_consent_blocks_again(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    consent(scene.reg, "Cecilia Client", risks_explained=True)
    scene.face(300, 200, 120, near(CLIENT, STRICT))
    assert scene.check().decision == "allowed"
    scene.reg.withdraw("Cecilia Client")
    assert scene.check().decision == "blocked"


def test_an_unknown_identifiable_face_needs_consent(scene):
    enrol_template(scene.reg, "Sam Staff", "staff", STAFF)
    consent(scene.reg, "Sam Staff")
    scene.face(300, 200, 120)  # nobody's face
    v = scene.check()
    assert v.decision == "needs_consent"
    assert statuses(v) == ["unknown"]
    assert v.faces[0].match.level == "none" and v.faces[0].match.nearest.name == "Sam Staff"


def test_an_empty_register_judges_every_identifiable_face_unknown_without_describing_it(scene):
    scene.face(300, 200, 120)
    v = scene.check()
    assert v.decision == "needs_consent"
    assert statuses(v) == ["unknown"]
    assert scene.embedder.embedded == []  # nobody to match: no descriptor computed


def test_a_face_too_small_to_match_but_identifiable_needs_consent(scene):
    """35 px: identifiable as published (>= 30 px), too small for a reliable descriptor (< 40 px), so
    it could be a client nobody can tell: fail closed."""
    enrol_template(scene.reg, "Sam Staff", "staff", STAFF)
    consent(scene.reg, "Sam Staff")
    scene.face(300, 200, 35, near(STAFF, STRICT))  # even a consented person's face, too small to tell
    v = scene.check()
    assert v.decision == "needs_consent"
    assert statuses(v) == ["unmatchable"]
    [face] = v.faces
    assert face.measurement.identifiable and not face.measurement.matchable
    assert scene.embedder.embedded == []


def test_a_face_too_small_to_be_identifiable_as_published_is_allowed(scene):
    """50 px on a photo 4096 px wide is 25 px at Facebook's 2048 px: nobody recognises it there. The same
    face on a website, shown at full size, is identifiable."""
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    scene.face(2000, 200, 50, near(CLIENT, STRICT))
    v = scene.check("facebook", width=4096, height=512)
    assert v.decision == "allowed"
    assert statuses(v) == ["not_identifiable"]
    assert v.faces[0].measurement.publish_height_px == pytest.approx(25.0)
    assert codes(v) == ["not_identifiable"]
    assert scene.check("website", width=4096, height=512).decision == "blocked"


def test_the_detector_is_asked_at_least_at_the_size_the_channel_shows(scene):
    scene.check("facebook", width=4096, height=512)
    scene.check("twitter", width=4096, height=512)
    scene.check("website", width=5000, height=400)
    assert [c["analysis_long_side"] for c in scene.detector.calls] == [2048, 4096, 5000]
    assert all(c["settle_below"] > 0 for c in scene.detector.calls)


def test_a_photo_without_faces_is_allowed(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    v = scene.check()
    assert v.decision == "allowed"
    assert v.faces == () and codes(v) == ["no_faces"]


def test_a_client_photographed_sideways_is_described_upright_and_blocked(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    scene.face(300, 200, 120, near(CLIENT, STRICT), width=150, rotation=1)
    v = scene.check()
    assert v.decision == "blocked"
    assert v.faces[0].measurement.height_px == 150  # its own height is the longer side of its box


# -- near matches -------------------------------------------------------------------------------------------


def test_a_loose_match_to_a_client_blocks(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    scene.face(300, 200, 120, near(CLIENT, LOOSE))
    v = scene.check()
    assert v.decision == "blocked"
    assert v.faces[0].match.level == "loose"
    assert v.reasons[0].params["identified"] is False


def test_a_loose_match_to_a_consented_staff_member_asks_which_person_it_is(scene):
    enrol_template(scene.reg, "Sam Staff", "staff", STAFF)
    consent(scene.reg, "Sam Staff")
    scene.face(300, 200, 120, near(STAFF, LOOSE))
    v = scene.check()
    assert v.decision == "needs_consent"
    assert statuses(v) == ["confirm"]


def test_a_strict_match_not_as_close_as_consent_needs_asks_to_confirm(scene):
    enrol_template(scene.reg, "Sam Staff", "staff", STAFF)
    consent(scene.reg, "Sam Staff")
    scene.face(300, 200, 120, near(STAFF, 0.48))  # strict (< 0.49) but not < consent_strict (0.47)
    v = scene.check()
    assert v.faces[0].match.level == "strict"
    assert v.decision == "needs_consent" and statuses(v) == ["confirm"]


def test_a_look_alike_without_consent_makes_a_consented_match_uncertain(scene):
    sibling = near(STAFF, 0.5, seed=7)
    enrol_template(scene.reg, "Sam Staff", "staff", STAFF)
    enrol_template(scene.reg, "Sid Sibling", "staff", sibling)
    consent(scene.reg, "Sam Staff")
    scene.face(300, 200, 120, STAFF)
    v = scene.check()
    [face] = v.faces
    assert face.match.identified is not None and face.match.identified.name == "Sam Staff"
    assert [c.name for c in face.match.candidates] == ["Sam Staff", "Sid Sibling"]
    assert v.decision == "needs_consent" and statuses(v) == ["uncertain"]
    consent(scene.reg, "Sid Sibling")
    assert scene.check().decision == "allowed"


def test_a_face_near_a_client_and_a_consented_staff_member_is_treated_as_the_client(scene):
    enrol_template(scene.reg, "Sam Staff", "staff", STAFF)
    enrol_template(scene.reg, "Cecilia Client", "client", near(STAFF, 0.5, seed=3))
    consent(scene.reg, "Sam Staff")
    scene.face(300, 200, 120, STAFF)
    v = scene.check()
    assert v.decision == "blocked"
    assert v.faces[0].status.person.name == "Cecilia Client"


# -- several faces ------------------------------------------------------------------------------------------


def test_the_worst_face_decides_and_every_face_is_reported(scene):
    enrol_template(scene.reg, "Sam Staff", "staff", STAFF)
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    consent(scene.reg, "Sam Staff")
    scene.face(100, 100, 120, near(STAFF, STRICT))
    scene.face(400, 100, 120)
    v = scene.check()
    assert v.decision == "needs_consent"
    assert sorted(statuses(v)) == ["consented", "unknown"]
    scene.face(250, 350, 120, near(CLIENT, STRICT))
    v = scene.check()
    assert v.decision == "blocked"
    assert codes(v)[0] == "client"  # blocking reasons first
    assert [r.severity for r in v.reasons][:2] == ["block", "consent"]


# -- crowds -------------------------------------------------------------------------------------------------


def crowd(scene: Scene, n: int = 12, height: float = 60, *, score: float = 0.9):
    """`n` strangers in rows, each face `height` px tall (identifiable, matchable); a client at 45 px is
    smaller than most of them and blends in."""
    for i in range(n):
        scene.face(20 + (i % 6) * 130, 40 + (i // 6) * 120, height, score=score)


def test_a_client_among_a_crowd_at_a_public_event_is_covered(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    crowd(scene)
    scene.face(400, 400, 45, near(CLIENT, STRICT))
    v = scene.check(event="public")
    assert v.crowd
    assert v.decision == "allowed", codes(v)
    client = next(f for f in v.faces if f.status.person is not None)
    assert client.status.status == "client" and client.status.crowd_exempt
    assert client.status.category == "crowd"
    assert codes(v) == ["crowd"]


def test_a_crowd_at_a_private_event_needs_everyone_s_consent(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    crowd(scene)
    v = scene.check(event="private")
    assert v.decision == "needs_consent"
    assert not v.crowd
    assert "crowd_private" in codes(v)


def test_a_recognised_client_in_a_crowd_at_an_event_not_stated_public_needs_consent(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    crowd(scene)
    scene.face(400, 400, 45, near(CLIENT, STRICT))
    v = scene.check(event="unknown")
    assert v.decision == "needs_consent"
    assert "client_in_crowd" in statuses(v)
    assert "crowd_unknown_event" in codes(v)
    assert scene.check().event == "unknown"  # the default setting


def test_the_crowd_exception_is_off_with_an_empty_register(scene):
    crowd(scene)
    v = scene.check(event="public")
    assert v.decision == "needs_consent"
    assert "crowd_no_register" in codes(v)


def test_a_client_who_stands_out_of_a_crowd_is_blocked(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    crowd(scene)
    scene.face(350, 300, 200, near(CLIENT, STRICT))
    v = scene.check(event="public")
    assert v.decision == "blocked"
    client = next(f for f in v.faces if f.status.person is not None)
    assert client.status.prominent and not client.status.crowd_exempt


def test_a_speaker_before_an_audience_needs_consent(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    crowd(scene)
    scene.face(350, 300, 200)  # nobody known, twice the audience's faces and more
    v = scene.check(event="public")
    assert v.decision == "needs_consent"
    assert "crowd_prominent" in codes(v)


def test_uncertain_detections_do_not_make_a_crowd(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    crowd(scene, 8)
    crowd_weak = [face_at(20 + i * 130, 400, 45, score=0.3) for i in range(4)]
    scene.detector.faces.extend(crowd_weak)
    v = scene.check(event="public")
    assert not v.crowd and v.decision == "needs_consent"


def test_a_crowd_of_many_clients_is_not_a_crowd_exception(scene):
    for i in range(3):
        enrol_template(scene.reg, f"Client {i}", "client", person_vector(100 + i))
        scene.face(100 + i * 200, 450, 45, near(person_vector(100 + i), STRICT))
    crowd(scene, 9)
    v = scene.check(event="public")
    assert v.decision == "blocked"
    assert "crowd_many_clients" in codes(v)


# -- a register that changes during a Gate's life -----------------------------------------------------------


def test_a_register_changed_by_another_process_is_noticed_by_a_long_lived_gate(tmp_path):
    path = tmp_path / "register.sqlite3"
    Register(path).close()
    detector = FakeDetector([face_at(300, 200, 120)])
    embedder = FakeEmbedder({box_of(detector.faces[0]): near(STAFF, STRICT)})
    photo = photo_png(tmp_path)
    with Gate(register=path, detector=detector, embedder=embedder) as gate:
        assert gate.check(photo, channel="facebook", on=TODAY).decision == "needs_consent"  # nobody yet
        with Register(path) as other:  # another process's view of the same file
            enrol_template(other, "Sam Staff", "staff", STAFF)
            consent(other, "Sam Staff")
        assert gate.check(photo, channel="facebook", on=TODAY).decision == "allowed"
        with Register(path) as other:
            other.withdraw("Sam Staff")
        assert gate.check(photo, channel="facebook", on=TODAY).decision == "needs_consent"
        with Register(path) as other:  # forgotten, enrolled again as a client under the same id
            old_id = other.get("Sam Staff").id
            other.forget("Sam Staff")
            assert enrol_template(other, "Sam Staff", "client", STAFF).id == old_id
            consent(other, "Sam Staff")
        v = gate.check(photo, channel="facebook", on=TODAY)
        assert v.decision == "blocked", v.to_dict()["reasons"]


def test_a_gate_with_no_register_yet_sees_the_first_enrolment(tmp_path):
    detector = FakeDetector([face_at(300, 200, 120)])
    embedder = FakeEmbedder({box_of(detector.faces[0]): near(CLIENT, STRICT)})
    photo = photo_png(tmp_path)
    with Gate(detector=detector, embedder=embedder) as gate:  # the per-user register, not made yet
        assert not gate.register_location.path.exists()
        assert gate.check(photo, channel="facebook", on=TODAY).decision == "needs_consent"
        with Register(gate.register_location.path) as reg:
            enrol_template(reg, "Cecilia Client", "client", CLIENT)
        assert gate.check(photo, channel="facebook", on=TODAY).decision == "blocked"


def test_a_person_changed_during_a_check_fails_instead_of_meeting_another_s_consent(tmp_path):
    """A Register object passed in is not reopened: a register replaced under it is an error."""
    path = tmp_path / "register.sqlite3"
    reg = Register(path)
    enrol_template(reg, "Sam Staff", "staff", STAFF)
    s = Scene(tmp_path, register=reg)
    s.face(300, 200, 120, near(STAFF, STRICT))
    assert s.check().decision == "needs_consent"
    replacement = tmp_path / "other.sqlite3"
    with Register(replacement) as other:
        enrol_template(other, "Cecilia Client", "client", CLIENT)
    replacement.replace(path)
    with pytest.raises(RegisterError, match="was replaced since this Register opened it"):
        s.check()
    s.close()


# -- many photos, and what a check cannot do ----------------------------------------------------------------


def test_check_many_gives_a_failure_for_a_photo_it_cannot_read_and_verdicts_for_the_rest(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    scene.face(300, 200, 120, near(CLIENT, STRICT))
    good = photo_png(scene.tmp_path)
    bad = scene.tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    results = list(scene.gate.check_many([good, bad, good], channel="facebook", on=TODAY))
    assert [r.decision for r in results] == ["blocked", "error", "blocked"]
    assert isinstance(results[1], Failure) and results[1].file == str(bad)


def test_too_many_faces_is_an_error_not_a_verdict(tmp_path):
    s = Scene(tmp_path, settings=Settings(max_faces=5))
    crowd(s, 6)
    with pytest.raises(ImageLoadError, match="6"):
        s.check()
    [result] = list(s.gate.check_many([photo_png(tmp_path)], channel="facebook"))
    assert isinstance(result, Failure) and result.decision == "error"
    s.close()


def test_an_error_inside_the_detector_is_a_failure_never_allowed(scene):
    scene.detector.close()
    [result] = list(scene.gate.check_many([photo_png(scene.tmp_path)], channel="facebook"))
    assert isinstance(result, Failure) and result.decision == "error"
    assert "closed" in str(result.error)


def test_frames_not_checked_make_a_photo_without_faces_need_consent(scene):
    frames = [Image.fromarray(blank_photo(200, 150, shade)) for shade in (40, 200)]
    path = scene.tmp_path / "two.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    v = scene.gate.check(path, channel="facebook", on=TODAY)
    assert v.decision == "needs_consent"
    assert "frames_unchecked" in codes(v)


def test_closing_a_gate_leaves_an_injected_detector_open(tmp_path):
    detector = FakeDetector([face_at(300, 200, 120)])
    with Register(":memory:") as reg:
        with Gate(register=reg, detector=detector, embedder=FakeEmbedder()) as gate:
            gate.analyse(photo_png(tmp_path))
        assert not detector.closed
        with Gate(register=reg, detector=detector, embedder=FakeEmbedder()) as gate:
            assert len(gate.analyse(photo_png(tmp_path)).faces) == 1


def test_a_verdict_names_the_models_and_its_report_words_the_reasons_in_either_language(scene):
    enrol_template(scene.reg, "Cecilia Client", "client", CLIENT)
    scene.face(300, 200, 120, near(CLIENT, STRICT))
    v = scene.check()
    assert v.versions["models"] == FakeDetector.model_ids
    en, fi = imagegate.report(v, "en"), imagegate.report(v, "fi")
    assert en["decision"] == fi["decision"] == "blocked"
    assert en["lang"] == "en" and fi["lang"] == "fi"
    assert "Cecilia Client" in en["reasons"][0]["message"] and "Cecilia Client" in fi["reasons"][0]["message"]
    assert en["reasons"][0]["message"] != fi["reasons"][0]["message"]
    assert en["faces"][0]["match"]["name"] == "Cecilia Client" and en["faces"][0]["match"]["level"] == "strict"


# -- enrolment (real enrol(), fake networks) ----------------------------------------------------------------


def enrol_scene(tmp_path, faces, vectors=None, poses=None):
    detector = FakeDetector(faces)
    embedder = FakeEmbedder(vectors, poses)
    reg = Register(tmp_path / "register.sqlite3")
    return reg, Gate(register=reg, detector=detector, embedder=embedder)


def test_an_enrolled_client_is_then_blocked(tmp_path):
    f = face_at(300, 150, 200)
    reg, gate = enrol_scene(tmp_path, [f], {box_of(f): CLIENT})
    person, [prepared] = enrol(gate, "Cecilia Client", "client", [str(photo_png(tmp_path, name="ref.png"))])
    assert person.role == "client" and prepared.face_px == 200
    assert reg.templates_of("Cecilia Client")[0]["model"] == FaceEmbedder.model_id
    gate.detector.faces = [face_at(100, 100, 90)]
    gate.embedder.vectors[gate.embedder._key(box_of(gate.detector.faces[0]))] = near(CLIENT, STRICT)
    assert gate.check(photo_png(tmp_path, 640, 480), channel="facebook", on=TODAY).decision == "blocked"
    gate.close()
    reg.close()


@pytest.mark.parametrize("faces, pose, message", [
    ([], None, "no face found"),
    ([face_at(100, 100, 200), face_at(400, 100, 150)], None, "2 faces found"),
    ([face_at(100, 100, 60)], None, "at least 80 px is needed"),
    ([face_at(100, 100, 200, width=250, rotation=1)], None, "sideways or upside down"),
    ([face_at(100, 100, 200)], Pose(yaw=0.5), "turned too far from the camera"),
    ([face_at(100, 100, 200)], Pose(sharpness=5.0), "too blurred"),
])
def test_a_reference_photo_that_cannot_make_a_good_template_is_refused(tmp_path, faces, pose, message):
    poses = {box_of(faces[0]): pose} if pose else None
    reg, gate = enrol_scene(tmp_path, faces, poses=poses)
    with pytest.raises(EnrolmentError, match=message):
        enrol(gate, "Pat Person", "staff", [str(photo_png(tmp_path, name="ref.png"))])
    assert reg.people() == []
    gate.close()
    reg.close()


def test_a_small_second_face_in_the_background_does_not_spoil_a_reference_photo(tmp_path):
    main, background = face_at(100, 100, 200), face_at(500, 100, 60)
    reg, gate = enrol_scene(tmp_path, [main, background], {box_of(main): STAFF})
    enrol(gate, "Sam Staff", "staff", [str(photo_png(tmp_path, name="ref.png"))])
    assert [p.name for p in reg.people()] == ["Sam Staff"]
    gate.close()
    reg.close()


def test_a_face_that_already_matches_another_person_is_refused(tmp_path):
    f = face_at(100, 100, 200)
    reg, gate = enrol_scene(tmp_path, [f], {box_of(f): near(CLIENT, STRICT)})
    enrol_template(reg, "Cecilia Client", "client", CLIENT)
    with pytest.raises(EnrolmentError, match="already matches Cecilia Client .client."):
        enrol(gate, "Someone Else", "staff", [str(photo_png(tmp_path, name="ref.png"))])
    assert [p.name for p in reg.people()] == ["Cecilia Client"]
    gate.close()
    reg.close()


def test_photos_of_two_different_people_are_refused_as_one_person(tmp_path):
    a, b = face_at(100, 100, 200), face_at(100, 100, 220)
    reg, gate = enrol_scene(tmp_path, {(800, 600): [a], (640, 480): [b]}, {box_of(a): STAFF, box_of(b): CLIENT})
    photos = [str(photo_png(tmp_path, 800, 600, "one.png")), str(photo_png(tmp_path, 640, 480, "two.png"))]
    with pytest.raises(EnrolmentError, match="does not look like the one in"):
        enrol(gate, "Sam Staff", "staff", photos)
    assert reg.people() == []
    gate.close()
    reg.close()


def test_the_same_reference_photo_cannot_be_enrolled_twice(tmp_path):
    f = face_at(100, 100, 200)
    reg, gate = enrol_scene(tmp_path, [f], {box_of(f): STAFF})
    ref = str(photo_png(tmp_path, name="ref.png"))
    with pytest.raises(EnrolmentError, match="the same photo is given twice"):
        enrol(gate, "Sam Staff", "staff", [ref, ref])
    enrol(gate, "Sam Staff", "staff", [ref])
    with pytest.raises(EnrolmentError, match="already enrolled for Sam Staff"):
        enrol(gate, "Sam Again", "staff", [ref])
    gate.close()
    reg.close()
