"""Register integrity, backup and restore (issue: hardening)."""

from __future__ import annotations

import os
import sqlite3
import stat

import numpy as np
import pytest
from typer.testing import CliRunner

from imagegate.cli.main import app
from imagegate.errors import RegisterError
from imagegate.register import APPLICATION_ID, SCHEMA_VERSION, Register

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
