"""Register integrity, backup and restore (issue: hardening)."""

from __future__ import annotations

import os
import sqlite3
import stat

import numpy as np
import pytest

import imagegate.register.schema as register_mod
from imagegate.cli.main import app
from imagegate.errors import RegisterError
from imagegate.register.schema import APPLICATION_ID, SCHEMA_VERSION
from imagegate.register.store import Register

from ..conftest import CliRunner

MODEL = "dlib-resnet-v1"


def vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v) * 0.6


def filled(path) -> Register:
    r = Register(path)
    r.add_person_with_templates("Anna", "client", None, [(vec(1), 0.9, 150.0, "a" * 64)], model=MODEL)
    r.add_person_with_templates("Bo", "staff", "x", [(vec(2), 0.9, 150.0, "b" * 64)], model=MODEL)
    r.add_consent("Bo", ["facebook"], risks_explained=True, evidence="form-1")
    return r


def test_backup_is_a_private_consistent_copy_and_restore_brings_it_back(tmp_path):
    reg = filled(tmp_path / "reg.sqlite3")
    reg.backup(tmp_path / "b" / "backup.sqlite3")
    copy = tmp_path / "b" / "backup.sqlite3"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    before = copy.read_bytes()
    reg.forget("Anna")
    reg.add_person("Cy", "other")
    reg.restore_from(copy)
    assert [p.name for p in reg.people()] == ["Anna", "Bo"]
    assert reg.consent_status("Bo", "facebook").valid
    assert len(reg.gallery(MODEL)) == 2
    np.testing.assert_array_equal(reg.gallery(MODEL).vectors[0], vec(1))
    assert copy.read_bytes() == before  # the backup is opened read-only
    reg.close()
    with Register(tmp_path / "reg.sqlite3") as again:  # the restored file is a normal register
        assert [p.name for p in again.people()] == ["Anna", "Bo"]


def test_backup_never_overwrites(tmp_path):
    with filled(tmp_path / "reg.sqlite3") as reg:
        (tmp_path / "taken").write_text("keep")
        with pytest.raises(RegisterError, match="already exists"):
            reg.backup(tmp_path / "taken")
    assert (tmp_path / "taken").read_text() == "keep"


@pytest.mark.parametrize("kind", ["foreign", "newer", "garbage", "empty"])
def test_restore_refuses_what_is_not_a_usable_backup_and_changes_nothing(tmp_path, kind):
    bad = tmp_path / "bad.sqlite3"
    if kind == "garbage":
        bad.write_bytes(os.urandom(5000))
    elif kind == "empty":  # restoring it would silently erase everyone
        sqlite3.connect(bad).close()
    else:
        db = sqlite3.connect(bad)
        db.execute("CREATE TABLE t(x)")
        if kind == "newer":
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        db.commit()
        db.close()
    with filled(tmp_path / "reg.sqlite3") as reg:
        with pytest.raises(RegisterError):
            reg.restore_from(bad)
        assert [p.name for p in reg.people()] == ["Anna", "Bo"]


def test_a_damaged_register_is_an_error_not_an_empty_register(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with filled(path) as reg:
        for i in range(300):  # enough pages that damage lands inside a table, not the header
            reg.add_person(f"Person {i:03d}", "other", note="n" * 200)
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 10 * page
    data[5 * page: 5 * page + 2000] = os.urandom(2000)
    path.write_bytes(bytes(data))
    with pytest.raises(RegisterError) as e:
        Register(path)
    assert "damaged" in str(e.value) or "not a readable" in str(e.value)


def test_cli_backup_and_restore(tmp_path):
    reg_path = tmp_path / "reg.sqlite3"
    filled(reg_path).close()
    runner = CliRunner()
    r = runner.invoke(app, ["--register", str(reg_path), "register", "backup", str(tmp_path / "bk.sqlite3")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["--register", str(reg_path), "register", "forget", "Anna", "--yes"])
    assert r.exit_code == 0
    r = runner.invoke(app, ["--register", str(reg_path), "register", "restore", str(tmp_path / "bk.sqlite3")],
                      input="n\n")
    assert r.exit_code == 1 and "nothing restored" in r.output
    r = runner.invoke(app, ["--register", str(reg_path), "register", "restore", str(tmp_path / "bk.sqlite3"),
                            "--yes"])
    assert r.exit_code == 0 and "2 people" in r.output
    r = runner.invoke(app, ["--register", str(reg_path), "register", "backup", str(tmp_path / "bk.sqlite3")])
    assert r.exit_code == 4 and "already exists" in r.output


@pytest.mark.parametrize("how", ["renamed over", "copied over in place"])
def test_a_replaced_register_never_takes_the_old_files_pending_writes(tmp_path, how, detector, embedder):
    # A watcher's workers keep the register open for days. A restored backup (or a sync tool's copy) in
    # which Grace Hopper's consent is withdrawn replaces the file while the old one still had writes
    # pending beside it: they must not be read into the new file (the consent coming back, on disk too).
    import shutil

    from imagegate.enrol import enrol
    from imagegate.gate import Gate

    from ..conftest import SAMPLES

    photo = str(SAMPLES / "grace_hopper.jpg")
    path, copy = tmp_path / "reg.sqlite3", tmp_path / "copy.sqlite3"
    with Register(path) as r:
        enrol(Gate(register=r, detector=detector, embedder=embedder), "Grace Hopper", "staff", [photo], None)
        r.add_consent("Grace Hopper", ["facebook"], evidence="form-1")
        r.backup(copy)
    with Register(copy) as r:
        r.withdraw("Grace Hopper")
    other_worker = Register(path)
    with Gate(register=path, detector=detector, embedder=embedder) as gate:
        assert gate.check(photo, channel="facebook").decision == "allowed"
        other_worker.people()
        with Register(path) as w:  # a change made while both workers have the register open
            w.add_consent("Grace Hopper", ["instagram"])
        if how == "renamed over":
            os.replace(copy, path)
        else:
            shutil.copyfile(copy, path)
        assert gate.check(photo, channel="facebook").decision == "needs_consent"
        assert gate.check(photo, channel="instagram").decision == "needs_consent"
    other_worker.close()
    with Register(path) as r:
        assert [(c.channel, bool(c.withdrawn_at)) for c in r.consents("Grace Hopper")] == [("facebook", True)]


def test_a_register_left_in_wal_mode_by_an_older_version_is_converted(tmp_path):
    path = tmp_path / "reg.sqlite3"
    filled(path).close()
    db = sqlite3.connect(path)
    db.create_function("imagegate_checksum", -1, register_mod.row_checksum)  # what the register's triggers call
    assert db.execute("PRAGMA journal_mode = WAL").fetchone() == ("wal",)
    db.execute("INSERT INTO people(name, name_key, role, created_at) VALUES ('Cy', 'cy', 'other', 'x')")
    db.commit()  # still in the WAL: the conversion must keep it
    holder = sqlite3.connect(path)
    holder.execute("SELECT 1 FROM people").fetchall()
    with Register(path) as r:  # another process has it open: it stays WAL for now, and works
        assert [p.name for p in r.people()] == ["Anna", "Bo", "Cy"]
    holder.close()
    db.close()
    with Register(path) as r:
        assert r._query("PRAGMA journal_mode") == [("delete",)]
        assert [p.name for p in r.people()] == ["Anna", "Bo", "Cy"]
    assert not os.path.exists(str(path) + "-wal")


# -- damage inside rows, and a register cut to 0 bytes (issue 13) ----------------------------------------------


def test_a_register_cut_to_0_bytes_is_an_error_not_an_empty_register(tmp_path, detector, embedder):
    from imagegate.gate import Gate

    from ..conftest import SAMPLES

    path = tmp_path / "reg.sqlite3"
    filled(path).close()
    os.truncate(path, 0)
    with pytest.raises(RegisterError) as e:
        Register(path)
    assert str(e.value).startswith(f"register {path} is empty (0 bytes)") and "restore" in str(e.value)
    assert path.stat().st_size == 0  # left as found
    with Gate(register=path, detector=detector, embedder=embedder) as gate, pytest.raises(RegisterError):
        gate.check(str(SAMPLES / "grace_hopper.jpg"), channel="facebook")
    r = CliRunner().invoke(app, ["--register", str(path), "register", "list"])
    assert r.exit_code == 4 and "0 bytes" in r.output


def test_a_new_register_never_appears_empty_at_its_path(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        assert r.people() == []
    assert path.stat().st_size > 0 and sorted(os.listdir(tmp_path)) == ["reg.sqlite3"]


def _damage_template(path, person: str) -> None:
    """256 bytes inside a stored template overwritten, as a bad sector or a careless tool would."""
    db = sqlite3.connect(path)
    [(blob,)] = db.execute("SELECT t.embedding FROM templates t JOIN people p ON p.id = t.person_id"
                           " WHERE p.name = ?", (person,)).fetchall()
    db.close()
    data = bytearray(path.read_bytes())
    at = data.find(blob)
    assert at > 0 and data.count(blob) == 1
    data[at + 100: at + 356] = os.urandom(256)
    path.write_bytes(bytes(data))


def test_damaged_template_bytes_make_the_register_refuse_to_load(tmp_path, detector, embedder):
    # A client's template silently damaged made her an unknown face: a crowd photo with her was allowed.
    from imagegate.enrol import enrol
    from imagegate.gate import Gate

    from ..conftest import SAMPLES

    photo = str(SAMPLES / "grace_hopper.jpg")
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        enrol(Gate(register=r, detector=detector, embedder=embedder), "Grace Hopper", "client", [photo], None)
    with Gate(register=path, detector=detector, embedder=embedder) as gate:
        assert gate.check(photo, channel="facebook").decision == "blocked"
        _damage_template(path, "Grace Hopper")
        with pytest.raises(RegisterError, match="damaged: 1 face template row"):
            gate.check(photo, channel="facebook")  # a long-lived gate reading it again
    assert sqlite3.connect(path).execute("PRAGMA quick_check").fetchone() == ("ok",)  # SQLite sees nothing
    with pytest.raises(RegisterError) as e:
        Register(path)
    assert "do not match the checksum" in str(e.value) and "register restore" in str(e.value)


def test_a_damaged_register_can_be_restored_from_a_backup(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with filled(path) as r:
        r.backup(tmp_path / "bk.sqlite3")
    _damage_template(path, "Anna")
    runner = CliRunner()
    r = runner.invoke(app, ["--register", str(path), "register", "restore", str(tmp_path / "bk.sqlite3"), "--yes"])
    assert r.exit_code == 0, r.output
    with Register(path) as reg:
        assert [p.name for p in reg.people()] == ["Anna", "Bo"]
    os.truncate(path, 0)
    r = runner.invoke(app, ["--register", str(path), "register", "restore", str(tmp_path / "bk.sqlite3"), "--yes"])
    assert r.exit_code == 0, r.output
    foreign = tmp_path / "notes.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE notes(x)")
    db.commit()
    db.close()
    r = runner.invoke(app, ["--register", str(foreign), "register", "restore", str(tmp_path / "bk.sqlite3"),
                            "--yes"])
    assert r.exit_code == 4 and "not an imagegate register" in r.output  # never replaced


def test_a_damaged_backup_is_refused_by_restore(tmp_path):
    with filled(tmp_path / "reg.sqlite3") as r:
        r.backup(tmp_path / "bk.sqlite3")
    _damage_template(tmp_path / "bk.sqlite3", "Bo")
    with filled(tmp_path / "other.sqlite3") as r:
        with pytest.raises(RegisterError, match="do not match the checksum .*use another backup"):
            r.restore_from(tmp_path / "bk.sqlite3")


@pytest.mark.parametrize("column, value", [("name", "Anna X"), ("role", "staff"),
                                           ("withdrawn_at", None), ("valid_until", "2099-12-31")])
def test_any_row_changed_behind_the_registers_back_is_refused(tmp_path, column, value):
    path = tmp_path / "reg.sqlite3"
    with filled(path) as r:
        r.withdraw("Bo")
    table = "people" if column in ("name", "role") else "consents"
    db = sqlite3.connect(path)  # an edit without imagegate's checksum function is refused outright ...
    with pytest.raises(sqlite3.OperationalError, match="imagegate_checksum"):
        db.execute(f"UPDATE {table} SET {column} = ? WHERE id = 1", (value,))
    for (trigger,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        db.execute(f"DROP TRIGGER {trigger}")  # ... and one that gets round it is found
    db.execute(f"UPDATE {table} SET {column} = ? WHERE id = 1", (value,))
    db.commit()
    db.close()
    with pytest.raises(RegisterError, match="do not match the checksum"):
        Register(path)


def test_an_older_register_gets_checksums_on_upgrade(tmp_path):
    from imagegate.register.schema import _SCHEMA_V1, _SCHEMA_V2, row_checksum

    path = tmp_path / "v2.sqlite3"
    db = sqlite3.connect(path)
    db.create_function("imagegate_name_key", 1, lambda n: n.casefold())
    db.executescript(_SCHEMA_V1 + _SCHEMA_V2)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 2")
    db.execute("INSERT INTO people(name, name_key, role, created_at) VALUES ('Anna', 'anna', 'client', 't')")
    db.execute("INSERT INTO templates(person_id, model, embedding, quality, face_px, photo_sha256, created_at)"
               " VALUES (1, ?, ?, 0.9, 150.0, 'a', 't')", (MODEL, vec(1).tobytes()))
    db.execute("INSERT INTO consents(person_id, channel, granted_at) VALUES (1, 'facebook', 't')")
    db.commit()
    db.close()
    with Register(path) as r:
        assert r._query("PRAGMA user_version") == [(SCHEMA_VERSION,)]
        [(blob, stored)] = r._query("SELECT embedding, checksum FROM templates")
        assert stored == row_checksum(1, 1, MODEL, blob, 0.9, 150.0, "a", "t")
        assert r._query("SELECT count(*) FROM people WHERE checksum IS NULL") == [(0,)]
    _damage_template(path, "Anna")
    with pytest.raises(RegisterError, match="do not match the checksum"):
        Register(path)


def test_a_new_register_is_created_where_hard_links_are_not_supported(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person("Anna", "staff")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and sorted(os.listdir(tmp_path)) == ["reg.sqlite3"]
