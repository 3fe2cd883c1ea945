"""Which register a command uses: an explicit option, then IMAGEGATE_REGISTER, then the per-user default.

Two real registers built from the same photo: in `named` Grace Hopper is a client, in `other` (the one the
environment variable points at) she is staff with a consent for every channel. A photo of her is blocked
against the named register and allowed against the other, so every command shows which one it read.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import imagegate
import imagegate.register.location as register_mod
from imagegate.cli.main import app
from imagegate.gate import Gate
from imagegate.register.store import Register

from ..conftest import SAMPLES, CliRunner, json_lines

runner = CliRunner()
PHOTO = str(SAMPLES / "grace_hopper.jpg")


def _enrol(path: Path, role: str) -> None:
    r = runner.invoke(app, ["--register", str(path), "register", "add", "Grace Hopper", "--role", role,
                            "--photo", PHOTO])
    assert r.exit_code == 0, r.output


@pytest.fixture(scope="module")
def two_registers(tmp_path_factory):
    base = tmp_path_factory.mktemp("regs")
    named, other = base / "named.sqlite3", base / "other.sqlite3"
    _enrol(named, "client")
    _enrol(other, "staff")
    with Register(other) as r:
        r.add_consent("Grace Hopper", ["all"], risks_explained=True, evidence="form-1")
    return named, other


@pytest.fixture()
def regs(two_registers, monkeypatch):
    named, other = two_registers
    monkeypatch.setenv("IMAGEGATE_REGISTER", str(other))
    return named, other


def test_the_order_is_option_then_environment_then_the_per_user_default(tmp_path, monkeypatch):
    from imagegate.register.location import RegisterLocation, locate_register, user_register_path

    assert locate_register() == RegisterLocation(user_register_path(), "default")
    monkeypatch.setenv("IMAGEGATE_REGISTER", str(tmp_path / "env.sqlite3"))
    assert locate_register() == RegisterLocation(tmp_path / "env.sqlite3", "environment")
    assert locate_register(tmp_path / "opt.sqlite3") == RegisterLocation(tmp_path / "opt.sqlite3", "option")
    chosen = locate_register(str(tmp_path / "opt.sqlite3"))
    monkeypatch.setenv("IMAGEGATE_REGISTER", str(tmp_path / "later.sqlite3"))
    assert locate_register(chosen) is chosen  # passed on as chosen, never chosen again


@pytest.mark.slow  # loads the real networks
@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize("command", ["check", "redact"])
def test_check_and_redact_use_the_named_register_not_the_environments(regs, tmp_path, where, command):
    named, _ = regs
    args = [command, PHOTO, "--json"] + (["--out", str(tmp_path / "out")] if command == "redact" else [])
    argv = ["--register", str(named), *args] if where == "before" else [*args, "--register", str(named)]
    r = runner.invoke(app, argv)
    assert r.exit_code == 3 if command == "check" else r.exit_code in (0, 3), r.output
    [row] = json_lines(r.stdout)
    assert (row if command == "check" else row["before"])["decision"] == "blocked"  # redact: the original's
    if command == "check":
        assert row["faces"][0]["person"]["name"] == "Grace Hopper"


@pytest.mark.slow  # starts worker processes
def test_check_with_workers_uses_the_named_register(regs, tmp_path):
    named, _ = regs
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):  # enough for the worker pool
        (photos / f"p{i}.jpg").write_bytes(Path(PHOTO).read_bytes() + bytes([i]))
    r = runner.invoke(app, ["--register", str(named), "check", str(photos), "--jobs", "2"])
    assert r.exit_code == 3, r.output
    assert r.stdout.count("BLOCKED") == 4


@pytest.mark.slow  # loads the real networks
def test_without_an_option_the_environment_is_used(regs):
    r = runner.invoke(app, ["check", PHOTO])
    assert r.exit_code == 0, r.output


@pytest.mark.slow  # its register fixture enrols with the real networks
def test_two_different_registers_named_is_a_usage_error(regs):
    named, other = regs
    r = runner.invoke(app, ["--register", str(named), "check", PHOTO, "--register", str(other)])
    assert r.exit_code == 2 and "two registers named" in r.output


@pytest.mark.slow  # loads the real networks
def test_library_gate_and_check_use_the_register_given(regs):
    named, _ = regs
    assert imagegate.check(PHOTO, register=named).decision == "blocked"
    with Gate(register=named) as gate:
        assert gate.check(PHOTO, channel="facebook").decision == "blocked"
    assert imagegate.check(PHOTO).decision == "allowed"  # the environment's register


@pytest.mark.slow  # loads the real networks
@pytest.mark.parametrize("where", ["before", "after"])
def test_register_commands_write_into_the_named_register(two_registers, tmp_path, monkeypatch, where):
    named, other = two_registers
    a, b = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    for p in (a, b):
        with Register(p) as r:
            r.add_person("Anna", "staff")
    monkeypatch.setenv("IMAGEGATE_REGISTER", str(b))

    def run(*args: str, input: str | None = None):
        argv = (["--register", str(a), "register", *args] if where == "before"
                else ["register", *args, "--register", str(a)])
        r = runner.invoke(app, argv, input=input)
        assert r.exit_code == 0, r.output
        return r

    run("consent", "Anna", "-c", "facebook", "--evidence", "f-1")
    with Register(a) as ra, Register(b) as rb:
        assert len(ra.consents("Anna")) == 1 and rb.consents("Anna") == []
    run("withdraw", "Anna")
    with Register(a) as ra:
        assert ra.consents("Anna")[0].withdrawn_at
    assert '"name": "Anna"' in run("list", "--json").stdout
    run("backup", str(tmp_path / "a.bak"))
    with Register(tmp_path / "a.bak") as bk:
        assert len(bk.consents("Anna")) == 1
    run("add", "Grace Hopper", "--role", "client", "--photo", PHOTO)
    run("forget", "Anna", "--yes")
    with Register(a) as ra, Register(b) as rb:
        assert [p.name for p in ra.people()] == ["Grace Hopper"]
        assert [p.name for p in rb.people()] == ["Anna"]
    run("restore", str(tmp_path / "a.bak"), "--yes")
    with Register(a) as ra:
        assert [p.name for p in ra.people()] == ["Anna"]


@pytest.mark.slow  # its register fixture enrols with the real networks
def test_config_show_says_which_register_and_why(regs, monkeypatch):
    named, other = regs
    r = runner.invoke(app, ["--register", str(named), "config", "show"])
    assert f"# register: {named} (from --register)" in r.stdout
    r = runner.invoke(app, ["config", "show"])
    assert f"# register: {other} (from IMAGEGATE_REGISTER)" in r.stdout
    monkeypatch.delenv("IMAGEGATE_REGISTER")
    r = runner.invoke(app, ["config", "show"])
    assert f"# register: {register_mod.user_register_path()} (from the per-user default)" in r.stdout


@pytest.mark.slow  # loads the real networks
def test_faces_never_needs_a_register(regs, tmp_path):
    r = runner.invoke(app, ["--register", str(tmp_path / "missing.sqlite3"), "faces", PHOTO, "--json"])
    assert r.exit_code == 0, r.output


@pytest.mark.slow  # starts a subprocess
def test_the_watcher_uses_the_named_register(regs, tmp_path):
    named, other = regs
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    (inbox / "hopper.jpg").write_bytes(Path(PHOTO).read_bytes())
    cmd = [sys.executable, "-m", "imagegate.cli.main", "--register", str(named), "--lang", "en", "watch",
           str(inbox), "--out", str(out), "--settle", "0.3", "--rescan", "1", "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "IMAGEGATE_REGISTER": str(other)})
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            if any((out / f / "hopper.jpg").exists() for f in ("allowed", "needs_consent", "blocked", "rejected")):
                break
            time.sleep(0.2)
        time.sleep(0.5)
    finally:
        proc.terminate()
        text = proc.communicate(timeout=90)[0]
    assert (out / "blocked" / "hopper.jpg").exists(), text
    assert f"register {named} (--register)" in text


def test_a_mistyped_register_folder_is_an_error_not_a_new_register(tmp_path, monkeypatch):
    # issue 24, item 16: only the per-user default folder is created
    typo = tmp_path / "registr" / "reg.sqlite3"
    args = ["register", "add", "Grace Hopper", "--role", "client", "--photo", str(SAMPLES / "grace_hopper.jpg")]
    r = runner.invoke(app, ["--register", str(typo), *args])
    assert r.exit_code != 0 and "does not exist" in r.stderr and "--register" in r.stderr
    assert not typo.parent.exists()
    monkeypatch.setenv("IMAGEGATE_REGISTER", str(typo))
    r = runner.invoke(app, args)
    assert r.exit_code != 0 and "IMAGEGATE_REGISTER" in r.stderr and not typo.parent.exists()


def test_a_register_that_cannot_be_written_says_which_file_and_why(tmp_path):
    import sqlite3

    from imagegate.errors import RegisterError
    from imagegate.register.store import Register

    path = tmp_path / "reg.sqlite3"
    reg = Register(path)
    reg.add_person("Anna", "staff")
    # what a read-only file or folder looks like to SQLite (root, running the tests, may write anywhere)
    reg._db.close()
    reg._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    reg._db.create_function("imagegate_name_key", 1, lambda s: s.casefold(), deterministic=True)
    with pytest.raises(RegisterError, match=f"{path}: the register could not be written") as err:
        reg.add_person("Bo", "staff")
    assert "internal error" not in str(err.value) and "folder" in err.value.hint
    reg.close()
