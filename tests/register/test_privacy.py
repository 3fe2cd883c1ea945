"""Lawful biometrics (issue 18): the basis for holding a template, retention review, a person's own data.

Templates are synthetic 128-d vectors except where a command needs a real photo. PRIVACY.md cites these tests.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
import time
from pathlib import Path

import numpy as np
import pytest

from imagegate.cli.main import app
from imagegate.errors import RegisterError
from imagegate.register import audit
from imagegate.register.schema import _SCHEMA_V1, _SCHEMA_V2, APPLICATION_ID, SCHEMA_VERSION
from imagegate.register.store import Register

from ..conftest import SAMPLES, CliRunner

MODEL = "dlib-resnet-v1"
runner = CliRunner()


def vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(128).astype(np.float32)


def tpl(seed: int):
    return (vec(seed), 0.9, 150.0, f"{seed:064x}")


def cli(path, *args, input=None):
    return runner.invoke(app, ["--register", str(path), "register", *args], input=input)


def main_schema_register(path) -> None:
    """A register as the previous release (schema 2) wrote it, built from its own schema SQL."""
    db = sqlite3.connect(path)
    db.create_function("imagegate_name_key", 1, lambda n: n.casefold())
    db.executescript(_SCHEMA_V1 + _SCHEMA_V2)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 2")
    rows = [("Old Client", "client", "2023-01-10T09:00:00+00:00"), ("Old Staff", "staff", "2026-06-01T09:00:00+00:00")]
    for i, (name, role, created) in enumerate(rows, 1):
        db.execute("INSERT INTO people(id, name, name_key, role, created_at) VALUES (?, ?, ?, ?, ?)",
                   (i, name, name.casefold(), role, created))
        db.execute("INSERT INTO templates(person_id, model, embedding, quality, face_px, photo_sha256, created_at)"
                   " VALUES (?, ?, ?, 0.9, 150.0, ?, ?)", (i, MODEL, vec(i).tobytes(), f"{i:064x}", created))
    db.execute("INSERT INTO consents(person_id, channel, granted_at, valid_until, evidence)"
               " VALUES (2, 'facebook', '2026-06-01T09:00:00+00:00', '2026-07-01', 'form-2')")
    db.commit()
    db.close()


# -- 1. enrolment basis -----------------------------------------------------------------------------------------


def test_enrolment_records_the_basis_and_logs_it(tmp_path):
    with Register(tmp_path / "reg.sqlite3") as r:
        r.add_person_with_templates("Anna", "client", None, [tpl(1)], model=MODEL, basis="consent",
                                    evidence="enrol-form-7", basis_date="2026-11-30")
        b = r.enrolment_basis("Anna")
        assert (b.basis, b.evidence, b.basis_date, b.recorded) == ("consent", "enrol-form-7", "2026-11-30", True)
        [row] = r.summary()
        assert row["enrolment"]["basis"] == "consent" and row["enrolment"]["evidence"] == "enrol-form-7"
        log = r.history("Anna")
        assert [e["action"] for e in log] == ["enrolled", "basis", "template"]
        assert log[1] == {"at": log[1]["at"], "action": "basis", "basis": "consent", "evidence": "enrol-form-7",
                          "date": "2026-11-30"}
        with pytest.raises(RegisterError, match="needs --evidence"):
            r.add_person("Bo", "staff", basis="consent")
        with pytest.raises(RegisterError, match="unknown enrolment basis"):
            r.add_person("Bo", "staff", basis="legitimate interest", evidence="x")
        assert [p.name for p in r.people()] == ["Anna"]


@pytest.mark.slow  # loads the real networks
def test_cli_add_with_basis_list_and_basis_command(tmp_path):
    path = tmp_path / "reg.sqlite3"
    photo = str(SAMPLES / "grace_hopper.jpg")
    r = cli(path, "add", "Grace Hopper", "--role", "client", "--photo", photo, "--basis", "consent")
    assert r.exit_code == 2 and "--evidence" in r.output and not path.exists()  # refused before anything
    r = cli(path, "add", "Grace Hopper", "--role", "client", "--photo", photo)
    assert r.exit_code == 0 and "no basis for holding Grace Hopper's face template is recorded" in r.stderr
    r = cli(path, "list", "--json")
    assert json.loads(r.stdout)[0]["enrolment"]["basis"] == "unrecorded"
    assert "warning: no basis for holding the face template is recorded for 1 person(s): Grace Hopper" in r.stderr
    r = cli(path, "basis", "grace hopper", "--basis", "other", "--evidence", "court-2026-4", "--basis-date", "2026-10-01")
    assert r.exit_code == 0 and r.stdout == "basis recorded for Grace Hopper: other (court-2026-4, 2026-10-01)\n"
    r = cli(path, "list")
    assert r.exit_code == 0 and "warning" not in r.stderr
    with Register(path) as reg:
        assert [e["action"] for e in reg.history("Grace Hopper")] == ["enrolled", "basis", "template", "basis"]


def test_a_register_from_the_previous_schema_migrates_to_basis_unrecorded(tmp_path):
    path = tmp_path / "old.sqlite3"
    main_schema_register(path)
    with Register(path) as r:
        assert r._query("PRAGMA user_version") == [(SCHEMA_VERSION,)]
        assert {p.name: r.enrolment_basis(p).basis for p in r.people()} == {"Old Client": "unrecorded",
                                                                            "Old Staff": "unrecorded"}
        assert r.enrolment_basis("Old Client").enrolled_at == "2023-01-10T09:00:00+00:00"
        assert r.gallery(MODEL).vectors.shape == (2, 128)  # templates kept, and their checksums verify
    r = cli(path, "list")
    assert r.exit_code == 0 and "for 2 person(s): Old Client, Old Staff" in r.stderr


# -- 2. retention review --------------------------------------------------------------------------------------


def test_review_lists_old_enrolments_ended_consents_and_unrecorded_bases(tmp_path):
    from imagegate.register.review import due_for_review, months_before

    assert months_before(dt.date(2026, 12, 2), 24) == dt.date(2024, 12, 2)
    assert months_before(dt.date(2027, 3, 31), 1) == dt.date(2027, 2, 28)
    path = tmp_path / "old.sqlite3"
    main_schema_register(path)
    # the register's clock is fixed: the answer must not depend on the day the test runs
    with Register(path, clock=lambda: dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC)) as r:
        r.add_person("New Person", "staff", basis="consent", evidence="f-1")
        r.add_consent("New Person", ["facebook"], valid_until="2099-01-01")
        due = {d.name: d.reasons for d in due_for_review(r, 24, dt.date(2026, 12, 2))}
        assert due == {"Old Client": ("review_overdue", "basis_unrecorded"),
                       "Old Staff": ("consents_ended", "basis_unrecorded")}
        r.set_basis("Old Client", "other", "court-1")  # a review confirms the basis: not overdue now
        due = {d.name: d.reasons for d in due_for_review(r, 24, dt.date(2026, 12, 2))}
        assert "Old Client" not in due
        assert [d.name for d in due_for_review(r, 1, dt.date(2099, 6, 1))] == ["New Person", "Old Client",
                                                                              "Old Staff"]


def test_review_does_not_call_a_consent_that_has_not_started_ended(tmp_path):
    from imagegate.register.review import due_for_review

    clock = lambda: dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)  # noqa: E731
    with Register(tmp_path / "r.sqlite3", clock=clock) as r:
        r.add_person("Future Consent", "staff", basis="consent", evidence="f-2")
        r.add_consent("Future Consent", ["facebook"], valid_from="2027-03-01", valid_until="2027-12-31")
        assert due_for_review(r, 24) == []  # today, by the register's clock
        assert [d.reasons for d in due_for_review(r, 24, dt.date(2028, 1, 2))] == [("consents_ended",)]
        r.withdraw("Future Consent")
        assert [d.reasons for d in due_for_review(r, 24)] == [("consents_ended",)]


def test_cli_review_gives_the_command_to_forget_each(tmp_path):
    path = tmp_path / "old.sqlite3"
    main_schema_register(path)
    r = cli(path, "review")
    assert r.exit_code == 1
    assert "Old Client (client, since 2023-01-10): enrolled or last reviewed more than 24 months ago" in r.stdout
    assert 'erase: imagegate register forget "Old Client"' in r.stdout
    cfg = tmp_path / "c.toml"
    cfg.write_text("review_months = 60\n")
    r = runner.invoke(app, ["--register", str(path), "--config", str(cfg), "register", "review", "--json"])
    assert [d["reasons"] for d in json.loads(r.stdout)] == [["basis_unrecorded"], ["consents_ended", "basis_unrecorded"]]
    r = runner.invoke(app, ["--lang", "fi", "--register", str(path), "register", "review"])
    assert "kasvomallin säilyttämisen perustetta ei ole kirjattu" in r.stdout


def test_the_review_notice_is_said_once_a_day(tmp_path):
    from imagegate.register.review import daily_notice

    path = tmp_path / "old.sqlite3"
    main_schema_register(path)
    state = tmp_path / "state"
    now = time.time()
    with Register(path) as r:
        assert daily_notice(r, 24, "en", folder=state, now=now).startswith("2 enrolled person(s) due for review")
        assert stat.S_IMODE((state / "review-notice").stat().st_mode) == 0o600
        assert daily_notice(r, 24, "en", folder=state, now=now + 3600) is None
        assert daily_notice(r, 24, "fi", folder=state, now=now + 25 * 3600).startswith("2 rekisteröityä")


@pytest.mark.slow  # loads the real networks
def test_check_says_the_review_notice_once_not_per_photo(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "old.sqlite3"
    main_schema_register(path)
    args = ["--register", str(path), "check", str(SAMPLES / "coffee.png"), str(SAMPLES / "coffee.png")]
    first = runner.invoke(app, args)
    assert first.exit_code == 0 and first.stderr.count("due for review") == 1
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and "due for review" not in second.stderr


# -- 3. a person's own data -----------------------------------------------------------------------------------


def test_export_holds_what_the_register_holds_about_one_person(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person_with_templates("Grace Hopper", "client", "met at the drop-in", [tpl(1), tpl(2)], model=MODEL,
                                    basis="consent", evidence="enrol-3")
        r.add_person_with_templates("Grace Hoppers", "staff", None, [tpl(3)], model=MODEL)
        r.add_consent("Grace Hopper", ["instagram"], risks_explained=True, evidence="pub-9")
        r.withdraw("Grace Hopper")
    log = tmp_path / "audit.jsonl"
    for who, decision in (("Grace Hopper", "blocked"), ("Grace Hoppers", "allowed")):
        audit.append(log, {"time": "t", "file": f"{decision}.jpg", "decision": decision, "channel": "facebook",
                           "reasons": [{"code": "x", "rule": "6", "message": f"Face #1: {who} is registered"}]})
    out = tmp_path / "export" / "grace.json"
    out.parent.mkdir()
    res = cli(path, "export", "grace hopper", "--out", str(out), "--audit", str(log))
    assert res.exit_code == 0, res.output
    record = json.loads(out.read_text())
    assert record["person"] == {"name": "Grace Hopper", "role": "client", "note": "met at the drop-in"}
    assert record["enrolment"]["basis"] == "consent" and record["enrolment"]["evidence"] == "enrol-3"
    assert [(c["channel"], c["evidence"], bool(c["withdrawn_at"])) for c in record["consents"]] == [
        ("instagram", "pub-9", True)]
    assert record["templates"]["count"] == 2 and record["templates"]["models"] == [MODEL]
    assert all("embedding" not in t for t in record["templates"]["items"])
    assert [e["action"] for e in record["register_log"]] == ["enrolled", "basis", "template", "template",
                                                            "consent", "withdrawn"]
    assert [e["file"] for e in record["audit_entries"]] == ["blocked.jpg"]  # not Grace Hoppers' photo
    page = out.with_suffix(".html").read_text()
    assert "What the consent register holds about Grace Hopper" in page and "<script" not in page
    assert "pub-9" in page and "Content-Security-Policy" in page
    for f in (out, out.with_suffix(".html")):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    blob = out.read_bytes() + out.with_suffix(".html").read_bytes()
    assert str(float(vec(1)[0])) not in blob.decode() and "Grace Hoppers" not in blob.decode()
    res = cli(path, "export", "Grace Hopper", "--out", str(out))
    assert res.exit_code == 4 and "never overwrites" in res.output
    with_templates = tmp_path / "export" / "with.json"
    assert cli(path, "export", "Grace Hopper", "--out", str(with_templates), "--include-templates").exit_code == 0
    items = json.loads(with_templates.read_text())["templates"]["items"]
    np.testing.assert_array_equal(np.array(items[0]["embedding"], dtype=np.float32), vec(1))


def test_export_page_is_in_the_language_asked_for(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person_with_templates("Grace <Hopper>", "client", None, [tpl(1)], model=MODEL)
    for lang, heading in (("fi", "Mitä suostumusrekisteri sisältää henkilöstä Grace &lt;Hopper&gt;"),
                          ("en", "What the consent register holds about Grace &lt;Hopper&gt;")):
        out = tmp_path / f"{lang}.json"
        res = cli(path, "export", "Grace <Hopper>", "--out", str(out), "--lang", lang)
        assert res.exit_code == 0, res.output
        page = out.with_suffix(".html").read_text()
        assert f'<html lang="{lang}">' in page and heading in page and "<Hopper>" not in page
    assert "1 kasvomalli (tunnistusmalli dlib-resnet-v1)" in (tmp_path / "fi.html").read_text()
    assert json.loads((tmp_path / "fi.json").read_text())["templates"]["what"].startswith("face templates: 128")


def test_export_refuses_an_audit_log_it_cannot_read_and_passes_over_damaged_lines(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person_with_templates("Grace Hopper", "client", None, [tpl(1)], model=MODEL)
    (tmp_path / "logs").mkdir()
    for wrong in (tmp_path / "logs", tmp_path / "missing.jsonl"):  # a typo must not export "no decisions"
        res = cli(path, "export", "Grace Hopper", "--out", str(tmp_path / "x.json"), "--audit", str(wrong))
        assert res.exit_code == 4 and f"audit log {wrong} does not exist or is not a file" in res.stderr
        assert not (tmp_path / "x.json").exists()
    log = tmp_path / "audit.jsonl"
    audit.append(log, {"time": "t", "file": "a.jpg", "decision": "blocked", "channel": "facebook",
                       "reasons": [{"code": "x", "rule": "6", "message": "Face #1: Grace Hopper is registered"}]})
    with open(log, "a") as f:  # hand-edited lines: valid JSON, but not entries as the watcher writes them
        f.write('[1, 2]\n"Grace Hopper"\n{"file": "b.jpg", "reasons": "Grace Hopper"}\n{"reasons": ["Grace Hopper"]}\n')
    res = cli(path, "export", "Grace Hopper", "--out", str(tmp_path / "x.json"), "--audit", str(log))
    assert res.exit_code == 0, res.output
    assert [e["file"] for e in json.loads((tmp_path / "x.json").read_text())["audit_entries"]] == ["a.jpg"]


def test_forget_erases_the_persons_log_and_leaves_only_that_someone_was_erased(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person_with_templates("Forgotten Person", "client", None, [tpl(1)], model=MODEL, basis="consent",
                                    evidence="enrol-secret-1")
        r.add_person("Kept", "staff")
        r.forget("Forgotten Person")
        assert r._query("SELECT person_id, action, detail FROM register_log WHERE person_id IS NULL") == [
            (None, "forgotten", None)]
    # read_bytes closes the file (an open file left to the GC is a ResourceWarning, an error under pytest)
    data = b"".join(Path(str(path) + s).read_bytes() for s in ("",) if os.path.exists(str(path) + s))
    assert b"Forgotten Person" not in data and b"enrol-secret-1" not in data


# -- facts PRIVACY.md relies on ----------------------------------------------------------------------------


@pytest.mark.slow  # loads the real networks
def test_enrolment_keeps_no_bytes_of_the_reference_photo(tmp_path):
    path = tmp_path / "reg.sqlite3"
    photo = SAMPLES / "grace_hopper.jpg"
    assert cli(path, "add", "Grace Hopper", "--role", "client", "--photo", str(photo)).exit_code == 0
    stored = path.read_bytes()
    data = photo.read_bytes()
    chunks = [data[i:i + 64] for i in range(0, len(data) - 64, 997)]
    assert len(chunks) > 50 and not any(c in stored for c in chunks)


def test_a_check_stores_nothing_about_unknown_people_and_opens_no_connection(tmp_path, monkeypatch,
                                                                               detector, embedder):
    import hashlib
    import socket

    from imagegate.gate import Gate

    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person_with_templates("Someone", "client", None, [tpl(1)], model=MODEL)
    before = hashlib.sha256(path.read_bytes()).hexdigest(), sorted(os.listdir(tmp_path))

    def refuse(*a, **k):
        raise AssertionError("imagegate tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with Gate(register=path, detector=detector, embedder=embedder) as gate:
        v = gate.check(str(SAMPLES / "astronaut.png"), channel="facebook")  # a face nobody enrolled
    assert v.decision == "needs_consent"
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), sorted(os.listdir(tmp_path))) == before


@pytest.mark.slow  # starts a subprocess
def test_the_watcher_says_the_review_notice_when_it_starts(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "old.sqlite3"
    main_schema_register(path)
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    cmd = [sys.executable, "-m", "imagegate", "--register", str(path), "--lang", "en", "watch", str(inbox),
           "--out", str(out), "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            if (tmp_path / "state" / "imagegate" / "review-notice").exists():
                break
            time.sleep(0.2)
    finally:
        proc.terminate()
        stdout, stderr = proc.communicate(timeout=90)
    assert stderr.count("2 enrolled person(s) due for review") == 1, stdout + stderr


def test_an_access_request_export_holds_no_other_persons_decisions(tmp_path):
    # issue 24, item 12: a client "Grace Hopper" and a staff member "Grace"; Grace's export must not hold
    # "Grace Hopper is registered as a client"
    from imagegate.register.audit import people_named

    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person_with_templates("Grace Hopper", "client", None, [tpl(1)], model=MODEL)
        r.add_person_with_templates("Grace", "staff", None, [tpl(2)], model=MODEL)
    hopper = {"code": "client", "rule": "6", "params": {"name": "Grace Hopper", "role": "client"},
              "message": "Face #1: Grace Hopper is registered as a client (no consent recorded). Do not publish."}
    grace = {"code": "consented", "rule": "4", "params": {"name": "Grace", "role": "staff"},
             "message": "Face #2: Grace (staff) has consented to facebook."}
    log = tmp_path / "audit.jsonl"
    for file, reasons in (("new-hopper.jpg", [hopper]), ("new-grace.jpg", [grace])):
        audit.append(log, {"time": "t", "file": file, "decision": "blocked", "channel": "facebook",
                           "reasons": [{"code": x["code"], "rule": x["rule"], "message": x["message"],
                                        "people": people_named(x)} for x in reasons]})
    # lines written before reasons listed their people: only the words to go by
    audit.append(log, {"time": "t", "file": "old-hopper.jpg", "decision": "blocked", "channel": "facebook",
                       "reasons": [{"code": "client", "rule": "6", "message": hopper["message"]}]})
    audit.append(log, {"time": "t", "file": "old-both.jpg", "decision": "blocked", "channel": "facebook",
                       "reasons": [{"code": "x", "rule": "6", "message": "Face #1: Grace Hopper; face #2: Grace"}]})
    files = {}
    for who in ("Grace", "Grace Hopper"):
        out = tmp_path / f"{who}.json"
        assert cli(path, "export", who, "--out", str(out), "--audit", str(log)).exit_code == 0
        files[who] = [e["file"] for e in json.loads(out.read_text())["audit_entries"]]
    assert files == {"Grace": ["new-grace.jpg", "old-both.jpg"],
                     "Grace Hopper": ["new-hopper.jpg", "old-hopper.jpg", "old-both.jpg"]}
