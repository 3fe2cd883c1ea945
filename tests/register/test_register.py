"""The consent register (imagegate/register.py) and the `imagegate register ...` CLI.

Templates here are synthetic random 128-d float32 vectors: real-photo enrolment is
tested elsewhere. Days are fixed dates, never "today", so results do not drift.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import imagegate.register.location as register_mod
from imagegate.channels import CHANNELS, expand_channels, normalise_channel
from imagegate.cli.main import app
from imagegate.errors import RegisterError
from imagegate.register.schema import _SCHEMA_V1, APPLICATION_ID, SCHEMA_VERSION
from imagegate.register.store import Register, parse_date
from imagegate.results import ConsentStatus

from ..conftest import SAMPLES, CliRunner

MODEL = "dlib-resnet-v1"
D = dt.date(2027, 3, 15)
#: consents recorded without a start day count from the day they are recorded
RECORDED = dt.date.today().isoformat()
runner = CliRunner()


def vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(128).astype(np.float32)


def tpl(seed: int, sha: str | None = None):
    return (vec(seed), 0.9, 150.0, sha or f"{seed:064x}")


def mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def raw_files(path: Path) -> dict[str, bytes]:
    return {s: Path(str(path) + s).read_bytes() for s in ("", "-wal", "-shm") if Path(str(path) + s).exists()}


@pytest.fixture()
def reg():
    r = Register(":memory:")
    yield r
    r.close()


@pytest.fixture()
def umask0():
    """Most permissive umask: the register must choose its modes itself."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


# -- schema and privacy -----------------------------------------------------------------------------------


def test_new_register_is_private_file_in_private_new_folder(tmp_path, umask0):
    path = tmp_path / "fresh" / "reg.sqlite3"
    with Register(path) as r:
        r.add_person_with_templates("Anna", "staff", None, [tpl(1)], model=MODEL)
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700
        # no WAL or shared-memory file lingers beside it (a replaced register must not inherit them)
        assert sorted(os.listdir(path.parent)) == ["reg.sqlite3"]
    assert mode(path) == 0o600


def test_existing_loose_file_is_tightened_to_0600(tmp_path, umask0):
    path = tmp_path / "reg.sqlite3"
    Register(path).close()
    os.chmod(path, 0o644)
    Register(path).close()
    assert mode(path) == 0o600


def test_schema_pragmas(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        assert r._db.execute("PRAGMA foreign_keys").fetchone() == (1,)
        assert r._db.execute("PRAGMA secure_delete").fetchone() == (1,)
        other = sqlite3.connect(path)
        try:
            assert other.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            assert other.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
            assert other.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            tables = {n for (n,) in other.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert tables == {"people", "consents", "templates", "enrolment_basis", "register_log"}
        finally:
            other.close()


def test_foreign_keys_are_enforced(tmp_path):
    with Register(tmp_path / "reg.sqlite3") as r:
        with pytest.raises(sqlite3.IntegrityError):
            r._db.execute("INSERT INTO consents(person_id, channel, granted_at) VALUES (999, 'facebook', 'x')")
        assert r._db.execute("SELECT count(*) FROM consents").fetchone() == (0,)


def test_reopening_keeps_data_and_schema(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person_with_templates("Anna", "staff", "note", [tpl(1), tpl(2)], model=MODEL)
        r.add_consent("Anna", ["facebook"], valid_until="2030-01-01")
    with Register(path, create=False) as r:
        [p] = r.people()
        assert (p.name, p.role, p.note) == ("Anna", "staff", "note")
        assert r.template_counts() == {p.id: 2}
        assert r.consent_status("Anna", "facebook", D).state == "valid"
        assert r._db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_foreign_sqlite_file_is_refused(tmp_path):
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA application_id = 1234")
    db.execute("CREATE TABLE notes(body TEXT)")
    db.execute("INSERT INTO notes VALUES ('keep me')")
    db.commit()
    db.close()
    with pytest.raises(RegisterError) as e:
        Register(path)
    assert str(e.value) == (f"{path} is an SQLite database but not an imagegate register "
                            f"(point --register at an imagegate register file)")
    db = sqlite3.connect(path)
    assert db.execute("SELECT body FROM notes").fetchall() == [("keep me",)]
    assert db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall() == [("notes",)]
    db.close()


def test_foreign_sqlite_file_without_application_id_is_refused(tmp_path):
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t(x)")
    db.commit()
    db.close()
    with pytest.raises(RegisterError, match="not an imagegate register"):
        Register(path)


def test_refused_foreign_file_is_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes(body TEXT)")
    db.execute("INSERT INTO notes VALUES ('keep me')")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(RegisterError):
        Register(path)
    db = sqlite3.connect(path)
    journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    db.close()
    assert journal == "delete"
    assert path.read_bytes() == before


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person("Anna", "staff")
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(RegisterError) as e:
        Register(path)
    assert "newer" in str(e.value)
    assert "schema 99" in str(e.value) and "upgrade imagegate" in str(e.value)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (99,)
    assert db.execute("SELECT name FROM people").fetchall() == [("Anna",)]
    db.close()


@pytest.mark.parametrize("size", [16, 100, 4096, 20000])
def test_garbage_file_is_refused_and_not_overwritten(tmp_path, size):
    path = tmp_path / "reg.sqlite3"
    junk = np.random.default_rng(size).bytes(size)
    path.write_bytes(junk)
    with pytest.raises(RegisterError) as e:
        Register(path)
    assert str(e.value) == (f"{path} is not an imagegate register (not an SQLite file) "
                            "(point --register at an imagegate register file)")
    assert path.read_bytes() == junk
    assert sorted(os.listdir(tmp_path)) == ["reg.sqlite3"]


def test_one_byte_garbage_file_is_refused(tmp_path):
    path = tmp_path / "reg.sqlite3"
    path.write_bytes(b"x")
    with pytest.raises(RegisterError):
        Register(path).close()
    assert path.read_bytes() == b"x"


def test_an_empty_file_is_refused_not_adopted_as_a_new_register(tmp_path):
    # a new register never appears empty at its path, so an empty file is one cut to 0 bytes
    path = tmp_path / "reg.sqlite3"
    path.touch()
    with pytest.raises(RegisterError, match="is empty .0 bytes."):
        Register(path)
    assert path.read_bytes() == b"" and sorted(os.listdir(tmp_path)) == ["reg.sqlite3"]


def test_missing_file_with_create_false_raises_and_creates_nothing(tmp_path):
    path = tmp_path / "sub" / "reg.sqlite3"
    with pytest.raises(RegisterError) as e:
        Register(path, create=False)
    assert str(e.value) == f"register {path} does not exist (enrol someone with `imagegate register add` first)"
    assert not path.exists() and not path.parent.exists()


def test_folder_as_register_path_is_refused(tmp_path):
    with pytest.raises(RegisterError, match="is a folder"):
        Register(tmp_path)


def test_closed_register_refuses_use(tmp_path):
    r = Register(tmp_path / "reg.sqlite3")
    r.close()
    with pytest.raises(RegisterError, match="closed"):
        r.people()
    with pytest.raises(RegisterError, match="closed"):
        r.add_person("Anna", "staff")


# -- people -------------------------------------------------------------------------------------------------


def test_add_and_get_people(reg):
    a = reg.add_person_with_templates("  Anna Virtanen ", "client", "met 2026", [tpl(1), tpl(2)], model=MODEL)
    b = reg.add_person("Bo", "partner")
    assert (a.name, a.role, a.note) == ("Anna Virtanen", "client", "met 2026")
    assert reg.get("anna virtanen") == a
    assert reg.get(" ANNA VIRTANEN ") == a
    assert [p.name for p in reg.people()] == ["Anna Virtanen", "Bo"]
    assert reg.template_counts() == {a.id: 2}
    assert b.to_dict() == {"name": "Bo", "role": "partner", "note": None}


@pytest.mark.parametrize("dup", ["Anna Virtanen", "anna virtanen", "ANNA VIRTANEN", " Anna Virtanen  "])
def test_duplicate_names_are_refused_case_insensitively(reg, dup):
    reg.add_person_with_templates("Anna Virtanen", "staff", None, [tpl(1)], model=MODEL)
    with pytest.raises(RegisterError) as e:
        reg.add_person_with_templates(dup, "client", None, [tpl(2)], model=MODEL)
    assert str(e.value) == (f"a person named {dup.strip()!r} is already registered "
                            f"(choose a distinct name, or forget the old entry first)")
    [p] = reg.people()
    assert p.role == "staff"
    assert reg.template_counts() == {p.id: 1}  # the refused person's template was rolled back
    assert reg._query("SELECT count(*) FROM templates") == [(1,)]


def test_duplicate_non_ascii_names_are_refused_case_insensitively(reg):
    reg.add_person("Äijälä Öhman", "client")
    with pytest.raises(RegisterError, match="already registered"):
        reg.add_person("äijälä öhman", "staff")


def test_finnish_names_are_found_in_any_case_and_spacing(reg):
    reg.add_person("  Åsa   Öhman ", "client")
    assert reg.get("ÅSA ÖHMAN").name == "Åsa Öhman"
    # a decomposed "Å" (A + combining ring), as macOS file names and some keyboards produce
    assert reg.get("a\u030asa öhman").name == "Åsa Öhman"


def test_version_1_register_is_migrated_with_its_people(tmp_path):
    path = tmp_path / "v1.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(_SCHEMA_V1)
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute("PRAGMA user_version = 1")
    db.execute("INSERT INTO people(name, role, created_at) VALUES ('Äijälä', 'client', '2026-01-01')")
    db.commit()
    db.close()
    with Register(path) as r:
        assert r._query("PRAGMA user_version") == [(SCHEMA_VERSION,)]
        assert r.get("äijälä").role == "client"
        with pytest.raises(RegisterError, match="already registered"):
            r.add_person("ÄIJÄLÄ", "staff")


def test_unknown_role_and_empty_name(reg):
    with pytest.raises(RegisterError) as e:
        reg.add_person("Anna", "boss")
    assert str(e.value) == "unknown role 'boss'; expected one of: client, staff, partner, other"
    with pytest.raises(RegisterError, match="non-empty name"):
        reg.add_person("   ", "staff")
    assert reg.people() == []


@pytest.mark.parametrize("bad", [np.zeros(127, np.float32), np.full(128, np.nan, np.float32),
                                 np.r_[np.zeros(127), np.inf].astype(np.float32)])
def test_bad_template_refuses_the_whole_person(reg, bad):
    with pytest.raises(RegisterError) as e:
        reg.add_person_with_templates("Anna", "staff", None, [tpl(1), (bad, 0.9, 150.0, "s")], model=MODEL)
    assert str(e.value) == "a face template must be 128 finite numbers"
    assert reg.people() == [] and reg.template_counts() == {}


def test_unknown_person_errors_name_them(reg):
    for call in (lambda: reg.get("Nobody"), lambda: reg.add_consent("Nobody", ["x"]),
                 lambda: reg.withdraw("Nobody"), lambda: reg.forget("Nobody"), lambda: reg.consents("Nobody"),
                 lambda: reg.consent_status("Nobody", "facebook")):
        with pytest.raises(RegisterError) as e:
            call()
        assert str(e.value) == "no person named 'Nobody' in the register (see `imagegate register list`)"


# -- channels and dates --------------------------------------------------------------------------------------


def test_channels():
    assert expand_channels(["all"]) == list(CHANNELS)
    assert expand_channels(["ALL"]) == list(CHANNELS)
    assert len(CHANNELS) == 8 and {"facebook", "twitter", "youtube"} <= set(CHANNELS)
    assert expand_channels(["x"]) == ["twitter"]
    assert expand_channels(["fb,ig", " X ", "twitter", "yt"]) == ["facebook", "instagram", "twitter", "youtube"]
    assert expand_channels(["website,all"]) == ["website", "facebook", "twitter", "youtube", "instagram",
                                                "linkedin", "tiktok", "print"]
    assert normalise_channel("Facebook") == "facebook"
    with pytest.raises(RegisterError) as e:
        normalise_channel("myspace")
    assert str(e.value) == ("unknown channel 'myspace'; expected one of: facebook, twitter, youtube, instagram, "
                            "linkedin, tiktok, website, print")
    with pytest.raises(RegisterError) as e:  # where `all` is refused it is not offered
        normalise_channel("all")
    assert "(or 'all')" not in str(e.value) and str(e.value).startswith("expected one channel")
    with pytest.raises(RegisterError) as e:
        expand_channels(["myspace"])
    assert str(e.value).endswith("website, print (or 'all')")
    for empty in ([], [""], [" , "]):
        with pytest.raises(RegisterError, match="no channel given"):
            expand_channels(empty)


@pytest.mark.parametrize("text", ["2027-13-01", "tomorrow", "2027-02-30", "", "30.6.2027"])
def test_bad_dates(text):
    with pytest.raises(RegisterError) as e:
        parse_date(text)
    assert str(e.value) == f"bad date {text!r}; expected YYYY-MM-DD, e.g. 2027-06-30"


def test_bad_channel_or_date_records_nothing(reg):
    reg.add_person("Anna", "staff")
    with pytest.raises(RegisterError, match="unknown channel 'myspace'"):
        reg.add_consent("Anna", ["facebook", "myspace"])
    with pytest.raises(RegisterError, match="bad date 'tomorrow'"):
        reg.add_consent("Anna", ["facebook"], valid_until="tomorrow")
    with pytest.raises(RegisterError, match="bad date '2027-13-01'"):
        reg.add_consent("Anna", ["facebook"], valid_until="2027-13-01")
    assert reg.consents("Anna") == []


# -- consent status ------------------------------------------------------------------------------------------


def test_consent_status_none_and_other_channel(reg):
    reg.add_person("Anna", "staff")
    assert reg.consent_status("Anna", "facebook", D) == ConsentStatus("facebook", "none")
    reg.add_consent("Anna", ["youtube"])
    st = reg.consent_status("Anna", "facebook", D)
    assert st == ConsentStatus("facebook", "other_channel") and st.valid is False
    assert reg.consent_status("Anna", "yt", D).state == "valid"


def test_consent_status_valid_until_is_the_last_valid_day(reg):
    reg.add_person("Anna", "staff")
    reg.add_consent("Anna", ["x"], valid_until="2027-06-30", evidence="form-3")
    on_last = reg.consent_status("Anna", "twitter", dt.date(2027, 6, 30))
    assert on_last == ConsentStatus("twitter", "valid", False, "2027-06-30", "form-3", valid_from=RECORDED)
    assert on_last.valid is True
    after = reg.consent_status("Anna", "x", dt.date(2027, 7, 1))
    assert after == ConsentStatus("twitter", "expired", False, "2027-06-30", "form-3", valid_from=RECORDED)
    assert after.valid is False


def test_consent_status_open_ended_and_date_object(reg):
    reg.add_person("Anna", "staff")
    reg.add_person("Bo", "staff")
    reg.add_consent("Anna", ["facebook"])
    reg.add_consent("Bo", ["facebook"], valid_until=dt.date(2027, 1, 1))
    assert reg.consent_status("Anna", "facebook", dt.date(2999, 1, 1)).state == "valid"
    assert reg.consent_status("Bo", "facebook", D) == ConsentStatus("facebook", "expired", False, "2027-01-01",
                                                                     valid_from=RECORDED)


def test_withdrawn_then_reconsented(reg):
    person = reg.add_person("Anna", "client")
    reg.add_consent("Anna", ["facebook"], risks_explained=True)
    assert reg.withdraw("Anna") == 1
    assert reg.consent_status(person, "facebook", D) == ConsentStatus("facebook", "withdrawn", True,
                                                                      valid_from=RECORDED)
    reg.add_consent("Anna", ["facebook"], risks_explained=True, evidence="form-2")
    assert reg.consent_status(person, "facebook", D) == ConsentStatus("facebook", "valid", True, None, "form-2",
                                                                      valid_from=RECORDED)


def test_risks_explained_is_carried_and_preferred(reg):
    reg.add_person("Anna", "client")
    reg.add_consent("Anna", ["facebook"])  # valid, no expiry, risks not explained
    reg.add_consent("Anna", ["facebook"], risks_explained=True, valid_until="2020-01-01")  # expired
    assert reg.consent_status("Anna", "facebook", D) == ConsentStatus("facebook", "valid", False, None,
                                                                      valid_from=RECORDED)
    reg.add_consent("Anna", ["facebook"], risks_explained=True, valid_until="2030-01-01", evidence="f-9")
    assert reg.consent_status("Anna", "facebook", D) == ConsentStatus("facebook", "valid", True, "2030-01-01", "f-9",
                                                                      valid_from=RECORDED)


def test_without_a_valid_consent_the_latest_row_is_reported(reg):
    reg.add_person("Bo", "staff")
    reg.add_consent("Bo", ["facebook"], evidence="old")
    assert reg.withdraw("Bo") == 1
    reg.add_consent("Bo", ["facebook"], valid_until="2021-01-01", evidence="new")  # later, but expired
    assert [c.withdrawn_at is None for c in reg.consents("Bo")] == [False, True]
    assert reg.consent_status("Bo", "facebook", D) == ConsentStatus("facebook", "expired", False, "2021-01-01",
                                                                     "new", RECORDED)
    assert reg.withdraw("Bo") == 1  # an expired but not withdrawn row is stamped too
    assert reg.consent_status("Bo", "facebook", D) == ConsentStatus("facebook", "withdrawn", False, "2021-01-01",
                                                                     "new", RECORDED)


def test_latest_expiry_wins_among_valid(reg):
    reg.add_person("Anna", "staff")
    reg.add_consent("Anna", ["facebook"], valid_until="2028-01-01")
    reg.add_consent("Anna", ["facebook"], valid_until="2029-01-01")
    reg.add_consent("Anna", ["facebook"], valid_until="2027-06-01")
    assert reg.consent_status("Anna", "facebook", D).valid_until == "2029-01-01"


def test_withdrawal_keeps_history(reg):
    reg.add_person("Anna", "staff")
    rows = reg.add_consent("Anna", ["facebook", "x"], valid_until="2030-01-01", evidence="form-1")
    assert [(c.channel, c.withdrawn_at) for c in rows] == [("facebook", None), ("twitter", None)]
    assert reg.withdraw("Anna") == 2
    hist = reg.consents("Anna")
    assert [(c.channel, c.valid_until, c.evidence) for c in hist] == [
        ("facebook", "2030-01-01", "form-1"), ("twitter", "2030-01-01", "form-1")]
    for c in hist:
        assert c.withdrawn_at is not None
        assert dt.datetime.fromisoformat(c.withdrawn_at).tzinfo is not None
        assert c.state_on(D) == "withdrawn"
    assert reg.withdraw("Anna") == 0  # nothing active any more; history untouched
    assert reg.consents("Anna") == hist


def test_withdraw_one_channel_only(reg):
    reg.add_person("Anna", "staff")
    reg.add_consent("Anna", ["facebook", "twitter", "youtube"])
    assert reg.withdraw("Anna", ["x"]) == 1
    assert {ch: reg.consent_status("Anna", ch, D).state for ch in ("facebook", "twitter", "youtube")} == \
        {"facebook": "valid", "twitter": "withdrawn", "youtube": "valid"}
    with pytest.raises(RegisterError, match="unknown channel"):
        reg.withdraw("Anna", ["myspace"])
    assert reg.consent_status("Anna", "facebook", D).state == "valid"


def test_consent_status_unknown_channel(reg):
    reg.add_person("Anna", "staff")
    with pytest.raises(RegisterError, match="unknown channel 'bogus'"):
        reg.consent_status("Anna", "bogus", D)


# -- forget: no bytes left -----------------------------------------------------------------------------------


def _two_people(path: Path, **kw) -> tuple[Register, list[bytes], list[bytes]]:
    r = Register(path, **kw)
    gone = [vec(11), vec(12)]
    kept = [vec(21), vec(22)]
    r.add_person_with_templates("Forgotten Person", "client", "secret note",
                                [(v, 0.9, 150.0, f"{i:064x}") for i, v in enumerate(gone)], model=MODEL)
    r.add_consent("Forgotten Person", ["all"], risks_explained=True, evidence="form-gone")
    r.add_person_with_templates("Kept Person", "staff", None,
                                [(v, 0.9, 150.0, f"{i + 9:064x}") for i, v in enumerate(kept)], model=MODEL)
    r.add_consent("Kept Person", ["facebook"])
    return r, [v.astype("<f4").tobytes() for v in gone], [v.astype("<f4").tobytes() for v in kept]


def test_forget_leaves_no_template_bytes_on_disk(tmp_path):
    path = tmp_path / "reg.sqlite3"
    r, gone, kept = _two_people(path)
    assert all(len(b) == 512 for b in gone + kept)
    slice16 = gone[0][200:216]
    before = b"".join(raw_files(path).values())
    assert all(b in before for b in gone) and slice16 in before  # the check can see them at all

    r.forget("Forgotten Person")
    # while the register is still open ...
    files = raw_files(path)
    assert set(files) == {""}
    for name, data in files.items():
        for b in gone:
            assert b not in data, f"template bytes left in {path.name}{name}"
        assert slice16 not in data, f"template slice left in {path.name}{name}"
        assert b"Forgotten Person" not in data and b"form-gone" not in data and b"secret note" not in data
    assert all(b in files[""] for b in kept)
    # ... and the rows are gone, cascading over consents and templates
    assert [p.name for p in r.people()] == ["Kept Person"]
    assert r._query("SELECT count(*) FROM templates") == [(2,)]
    assert r._query("SELECT count(*) FROM consents") == [(1,)]
    r.close()

    files = raw_files(path)
    for name, data in files.items():
        assert not any(b in data for b in gone) and slice16 not in data, name
    assert all(b in b"".join(files.values()) for b in kept)
    with Register(path) as again:
        assert [p.name for p in again.people()] == ["Kept Person"]
        g = again.gallery(MODEL)
        assert [v.tobytes() for v in g.vectors] == kept


def test_forget_does_not_silently_leave_bytes_when_a_reader_is_active(tmp_path):
    path = tmp_path / "reg.sqlite3"
    r, gone, _kept = _two_people(path, timeout=0.3)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM templates").fetchall()  # holds a snapshot
    try:
        try:
            r.forget("Forgotten Person")
            raised = False
        except RegisterError:
            raised = True
        leaked = any(b in data for data in raw_files(path).values() for b in gone)
        assert raised or not leaked
    finally:
        reader.execute("COMMIT")
        reader.close()
        r.close()


def test_forget_in_memory(reg):
    reg.add_person_with_templates("Anna", "client", None, [tpl(1)], model=MODEL)
    reg.add_consent("Anna", ["all"])
    reg.forget("anna")
    assert reg.people() == [] and reg.template_counts() == {}
    assert reg._query("SELECT count(*) FROM consents") == [(0,)]
    with pytest.raises(RegisterError, match="no person named 'Anna'"):
        reg.get("Anna")


# -- two processes at once -----------------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import os, sys, time
    from imagegate.register.store import Register
    path, go, tag = sys.argv[1:4]
    reg = Register(path)
    deadline = time.monotonic() + 30
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.002)
    for i in range(50):
        name = f"{tag}-{i:02d}"
        reg.add_person(name, "staff")
        reg.add_consent(name, ["facebook"], valid_until="2030-01-01")
    reg.close()
    print("done", tag)
""")


@pytest.mark.slow  # starts a subprocess
def test_two_processes_write_concurrently(tmp_path):
    path = tmp_path / "reg.sqlite3"
    Register(path).close()
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, str(script), str(path), str(go), tag],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for tag in ("A", "B")]
    time.sleep(0.8)  # both have imported and opened the register
    go.touch()
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    assert sorted(o for o, _ in outs) == ["done A\n", "done B\n"]
    with Register(path, create=False) as r:
        names = [p.name for p in r.people()]
        assert names == sorted([f"A-{i:02d}" for i in range(50)] + [f"B-{i:02d}" for i in range(50)])
        assert r._query("SELECT count(*), count(DISTINCT person_id) FROM consents") == [(100, 100)]
        assert r._query("PRAGMA integrity_check") == [("ok",)]
        assert r._query("PRAGMA foreign_key_check") == []
        assert all(r.consent_status(n, "facebook", D).valid for n in names)


def test_concurrent_first_open_migration_race(tmp_path, monkeypatch):
    path = tmp_path / "reg.sqlite3"
    real_connect = sqlite3.connect
    fired = []

    class Racing(sqlite3.Connection):
        def execute(self, sql, *args):
            if sql == "BEGIN IMMEDIATE" and not fired:
                fired.append(True)
                Register(path).close()  # the other process finishes its migration first
            return super().execute(sql, *args)

    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: real_connect(*a, factory=Racing, **k))
    with Register(path) as r:
        assert fired and r.people() == []
        assert r._query("PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_concurrent_first_open_file_creation_race(tmp_path, monkeypatch):
    path = tmp_path / "reg.sqlite3"
    real_private_parent = register_mod._private_parent
    fired = []

    def racing(folder):
        real_private_parent(folder)
        if not fired:
            fired.append(True)
            Register(path).close()  # the other process creates the file first

    monkeypatch.setattr(register_mod, "_private_parent", racing)
    with Register(path) as r:
        assert fired and r.people() == []


# -- no embeddings in output ---------------------------------------------------------------------------------


def test_gallery_repr_and_contents(reg):
    a = reg.add_person_with_templates("Anna", "client", None, [tpl(1), tpl(2)], model=MODEL)
    b = reg.add_person_with_templates("Bo", "staff", None, [tpl(3)], model=MODEL)
    reg.add_person_with_templates("Old", "staff", None, [tpl(4)], model="other-model")
    g = reg.gallery(MODEL)
    assert repr(g) == "Gallery(people=3, templates=3)"
    assert len(g) == 3
    assert g.person_ids.tolist() == [a.id, a.id, b.id]
    assert g.vectors.dtype == np.float32 and g.vectors.shape == (3, 128)
    np.testing.assert_array_equal(g.vectors, np.stack([vec(1), vec(2), vec(3)]))
    text = repr(g) + str(g)
    for v in (vec(1), vec(2), vec(3)):
        for x in v[:20]:
            assert f"{x:.3f}" not in text and repr(float(x)) not in text
    assert repr(reg.gallery("nothing")) == "Gallery(people=3, templates=0)"
    assert reg.gallery("nothing").vectors.shape == (0, 128)


def _all_keys(obj) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in _all_keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in _all_keys(v)}
    return set()


def _all_values(obj) -> list:
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _all_values(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _all_values(v)]
    return [obj]


def test_cli_list_json_has_people_and_consents_but_no_embeddings(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person_with_templates("Anna", "client", None, [tpl(1), tpl(2)], model=MODEL)
        r.add_person_with_templates("Bo", "staff", "camera", [tpl(3)], model=MODEL)
        r.add_consent("Anna", ["facebook"], risks_explained=True, valid_until="2999-01-01", evidence="f-1")
        r.add_consent("Bo", ["x", "youtube"])
        r.withdraw("Bo", ["youtube"])
    res = runner.invoke(app, ["--register", str(path), "register", "list", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(x["name"], x["role"], x["note"], x["templates"]) for x in rows] == [
        ("Anna", "client", None, 2), ("Bo", "staff", "camera", 1)]
    for x in rows:
        assert set(x) == {"name", "role", "note", "templates", "consent", "enrolment"}
        assert list(x["consent"]) == list(CHANNELS)
    assert rows[0]["consent"]["facebook"] == {"channel": "facebook", "state": "valid", "risks_explained": True,
                                              "valid_until": "2999-01-01", "evidence": "f-1",
                                              "valid_from": RECORDED}
    assert rows[0]["consent"]["twitter"]["state"] == "other_channel"
    assert {ch: s["state"] for ch, s in rows[1]["consent"].items()} == {
        "facebook": "other_channel", "twitter": "valid", "youtube": "withdrawn", "instagram": "other_channel",
        "linkedin": "other_channel", "tiktok": "other_channel", "website": "other_channel",
        "print": "other_channel"}
    keys = {k.lower() for k in _all_keys(rows)}
    assert not any(w in k for k in keys for w in ("embed", "vector", "template_", "blob"))
    assert not any(isinstance(v, float) for v in _all_values(rows))
    for v in (vec(1), vec(3)):
        assert f"{v[0]:.4f}" not in res.stdout


def test_cli_list_table(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person_with_templates("Anna", "client", None, [tpl(1)], model=MODEL)
        r.add_consent("Anna", ["facebook"])  # a client's consent without risks explained
        r.add_consent("Anna", ["instagram"], valid_until="2001-01-01")
        r.add_consent("Anna", ["print"], valid_until="2099-06-30", risks_explained=True)
        r.add_person_with_templates("Bo", "staff", None, [tpl(2), tpl(3)], model=MODEL)
        r.add_consent("Bo", ["website"])
        r.withdraw("Bo", ["website"])
    res = runner.invoke(app, ["register", "list", "--register", str(path)])
    assert res.exit_code == 0, res.output
    # every channel, each with the consent's end date, whether or not anyone has consent for it
    assert res.stdout.splitlines() == [
        "Anna (client, 1 reference photo)",
        "    facebook   consent, no end date; risks not recorded as explained, so it does not count (rule 4)",
        "    twitter    no consent",
        "    youtube    no consent",
        "    instagram  consent expired on 2001-01-01",
        "    linkedin   no consent",
        "    tiktok     no consent",
        "    website    no consent",
        "    print      consent until 2099-06-30",
        "",
        "Bo (staff, 2 reference photos)",
        *[f"    {c:<10} no consent" for c in ("facebook", "twitter", "youtube", "instagram", "linkedin", "tiktok")],
        "    website    consent withdrawn",
        "    print      no consent",
    ]


@pytest.mark.parametrize("exists", [False, True])
@pytest.mark.parametrize("as_json", [False, True])
def test_cli_list_missing_or_empty_register(tmp_path, exists, as_json):
    path = tmp_path / "reg.sqlite3"
    if exists:
        Register(path).close()
    res = runner.invoke(app, ["--register", str(path), "register", "list"] + (["--json"] if as_json else []))
    assert res.exit_code == 0, res.output
    assert res.stdout == ("[]\n" if as_json else f"the register {path} is empty\n")
    assert path.exists() is exists  # listing never creates a register


# -- CLI: consent, withdraw, forget --------------------------------------------------------------------------


@pytest.fixture()
def cli_reg(tmp_path) -> Path:
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person_with_templates("Anna", "client", None, [tpl(1)], model=MODEL)
        r.add_person_with_templates("Bo", "staff", None, [tpl(2)], model=MODEL)
    return path


def run(path: Path, *args: str, before: bool = True, input: str | None = None):
    argv = (["--register", str(path), "register", *args] if before
            else ["register", *args, "--register", str(path)])
    return runner.invoke(app, argv, input=input)


def test_cli_consent(cli_reg):
    res = run(cli_reg, "consent", "Anna", "--channel", "x", "-c", "fb", "--until", "2030-06-30",
              "--risks-explained", "--evidence", "form-9")
    assert res.exit_code == 0, res.output
    assert res.stdout == "consent recorded for Anna: twitter, facebook until 2030-06-30; risks explained\n"
    assert res.stderr == ""
    with Register(cli_reg) as r:
        assert [(c.channel, c.valid_until, c.risks_explained, c.evidence, c.withdrawn_at)
                for c in r.consents("Anna")] == [("twitter", "2030-06-30", True, "form-9", None),
                                                  ("facebook", "2030-06-30", True, "form-9", None)]


def test_cli_consent_dates_are_shown_as_stored_and_a_past_one_is_noted(cli_reg):
    res = run(cli_reg, "consent", "Anna", "-c", "website", "--until", "20300630")
    assert res.exit_code == 0 and res.stdout == "consent recorded for Anna: website until 2030-06-30\n"
    res = run(cli_reg, "consent", "Anna", "-c", "print", "--until", "2020-01-01")
    assert res.exit_code == 0
    assert "--until 2020-01-01 is in the past: this consent is recorded as already expired" in res.stderr
    res = run(cli_reg, "list")
    anna = res.stdout.split("\n\n")[0].splitlines()
    assert anna[7:] == ["    website    consent until 2030-06-30; risks not recorded as explained, so it does not count "
                        "(rule 4)", "    print      consent expired on 2020-01-01"]  # Anna is a client


def test_cli_consent_register_option_after_subcommand_and_client_note(cli_reg):
    res = run(cli_reg, "consent", "anna", "-c", "all", before=False)
    assert res.exit_code == 0, res.output
    assert res.stdout == ("consent recorded for Anna: facebook, twitter, youtube, instagram, linkedin, tiktok, "
                          "website, print\n")
    assert "a client's consent counts only when the risks were explained" in res.stderr
    with Register(cli_reg) as r:
        assert len(r.consents("Anna")) == 8
        assert r.consent_status("Anna", "tiktok", D) == ConsentStatus("tiktok", "valid", False,
                                                                      valid_from=RECORDED)
    res = run(cli_reg, "consent", "Bo", "-c", "youtube")
    assert res.exit_code == 0 and res.stderr == ""  # no client note for staff


def test_cli_withdraw(cli_reg):
    with Register(cli_reg) as r:
        r.add_consent("Bo", ["facebook", "twitter", "youtube"])
    res = run(cli_reg, "withdraw", "Bo", "--channel", "x")
    assert res.exit_code == 0, res.output
    assert res.stdout == "withdrew 1 active consent(s) of Bo\n"
    res = run(cli_reg, "withdraw", "Bo", before=False)
    assert res.exit_code == 0 and res.stdout == "withdrew 2 active consent(s) of Bo\n"
    with Register(cli_reg) as r:
        hist = r.consents("Bo")
        assert len(hist) == 3 and all(c.withdrawn_at for c in hist)


def test_cli_forget_yes(cli_reg):
    res = run(cli_reg, "forget", "Anna", "--yes")
    assert res.exit_code == 0, res.output
    assert res.stdout == "erased Anna\n"
    with Register(cli_reg) as r:
        assert [p.name for p in r.people()] == ["Bo"]
    data = b"".join(raw_files(cli_reg).values())
    assert vec(1).tobytes() not in data and vec(2).tobytes() in data


def test_cli_forget_answered_no_erases_nothing(cli_reg):
    res = run(cli_reg, "forget", "Anna", input="n\n")
    assert res.exit_code == 1
    assert res.stdout == f"Erase Anna and all their data from {cli_reg}? [y/N]: n\nnothing erased\n"
    with Register(cli_reg) as r:
        assert [p.name for p in r.people()] == ["Anna", "Bo"]
        assert r.template_counts() == {r.get("Anna").id: 1, r.get("Bo").id: 1}


def test_cli_forget_answered_yes(cli_reg):
    res = run(cli_reg, "forget", "Anna", input="y\n")
    assert res.exit_code == 0, res.output
    assert res.stdout.endswith("erased Anna\n")
    with Register(cli_reg) as r:
        assert [p.name for p in r.people()] == ["Bo"]


@pytest.mark.parametrize("args", [["consent", "Nobody", "-c", "facebook"], ["withdraw", "Nobody"],
                                  ["forget", "Nobody", "--yes"], ["forget", "Nobody"]])
def test_cli_unknown_person_exit_4(cli_reg, args):
    res = run(cli_reg, *args)
    assert res.exit_code == 4
    assert res.stderr == "imagegate: no person named 'Nobody' in the register (see `imagegate register list`)\n"
    assert res.stdout == ""


@pytest.mark.parametrize("args", [["consent", "Anna", "-c", "facebook"], ["withdraw", "Anna"],
                                  ["forget", "Anna", "--yes"]])
def test_cli_missing_register_exit_4_and_not_created(tmp_path, args):
    path = tmp_path / "none" / "reg.sqlite3"
    res = run(path, *args)
    assert res.exit_code == 4
    assert res.stderr == (f"imagegate: register {path} does not exist "
                          f"(enrol someone with `imagegate register add` first)\n")
    assert not path.parent.exists()


@pytest.mark.parametrize("date", ["2027-13-01", "tomorrow"])
def test_cli_bad_date_is_a_usage_error(cli_reg, date):
    res = run(cli_reg, "consent", "Anna", "-c", "facebook", "--until", date)
    assert res.exit_code == 2
    assert "Invalid value for --until" in res.stderr and f"bad date '{date}'" in res.stderr
    with Register(cli_reg) as r:
        assert r.consents("Anna") == []


def test_cli_consent_requires_a_channel(cli_reg):
    res = run(cli_reg, "consent", "Anna")
    assert res.exit_code == 2
    assert "--channel" in res.stderr


@pytest.mark.parametrize("args", [["consent", "Anna", "-c", "myspace"], ["withdraw", "Anna", "-c", "myspace"]])
def test_cli_bad_channel_is_a_usage_error(cli_reg, args):
    res = run(cli_reg, *args)
    assert "unknown channel 'myspace'" in res.stderr
    with Register(cli_reg) as r:
        assert r.consents("Anna") == []
    assert res.exit_code == 2


# -- names that only look alike (issue 13) --------------------------------------------------------------------


@pytest.mark.parametrize("name, char", [("Grace\u200b Hopper", "U+200B ZERO WIDTH SPACE"),
                                        ("Grace Hopper\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
                                        ("Gr\u2066ace Hopper", "U+2066 LEFT-TO-RIGHT ISOLATE"),
                                        ("Grace\u00ad Hopper", "U+00AD SOFT HYPHEN"),
                                        ("Grace\ufe0f Hopper", "U+FE0F VARIATION SELECTOR-16"),
                                        ("Grace \u3164Hopper", "U+3164 HANGUL FILLER")])
def test_names_with_invisible_characters_are_refused(reg, name, char):
    with pytest.raises(RegisterError) as e:
        reg.add_person(name, "client")
    assert f"contains invisible or formatting characters ({char})" in str(e.value)
    assert reg.people() == []


def test_names_are_nfkc_normalised(reg):
    assert reg.add_person("\uff27race \u210copper", "client").name == "Grace Hopper"  # full-width G, script H
    with pytest.raises(RegisterError, match="already registered"):
        reg.add_person("Ｇｒａｃｅ Hopper", "staff")


@pytest.mark.parametrize("lookalike", [
    "Gr\u0430ce Hopper",      # Cyrillic а inside a Latin word
    "Grace Hopp\u0435r",      # Cyrillic е
    "Grace \u0397opper",      # Greek Eta
])
def test_a_word_mixing_alphabets_is_refused(reg, lookalike):
    reg.add_person("Grace Hopper", "client")
    with pytest.raises(RegisterError, match="mixes alphabets in one word"):
        reg.add_person(lookalike, "staff")
    assert [p.name for p in reg.people()] == ["Grace Hopper"]


@pytest.mark.parametrize("first, second", [
    ("Sasha Pope", "\u0405\u0430\u0455\u04bb\u0430 \u0420\u043e\u0440\u0435"),  # every letter Cyrillic
    ("Grace Hopper", "Grace H0pper"),
    ("Ian Moore", "lan Moore"),
    ("Kim Ranta", "Kirn Ranta"),
    ("\u0405\u0430\u0455\u04bb\u0430 Pope", "Sasha Pope"),  # the look-alike came first
])
def test_a_name_that_looks_like_a_registered_one_is_refused(reg, first, second):
    reg.add_person(first, "client")
    with pytest.raises(RegisterError) as e:
        reg.add_person(second, "staff")
    assert str(e.value).startswith(f"the name '{second}' looks the same as '{first}', who is already registered")
    assert [p.name for p in reg.people()] == [first]


def test_different_names_and_accents_stay_different(reg):
    for n in ("Asa Koski", "Åsa Koski", "Ilona Lind", "Ilona Lindh", "Äijälä", "Aijala", "Ольга Петрова",
              "Σοφία Παπαδοπούλου", "Mari-Liis O'Neil"):
        reg.add_person(n, "other")
    assert len(reg.people()) == 9


def test_skeleton_sees_the_cyrillic_a_in_grace_hopper():
    from imagegate.register.names import skeleton

    assert skeleton("Gr\u0430ce Hopper") == skeleton("GRACE HOPPER") != skeleton("Grace Hoppers")


@pytest.mark.slow  # loads the real networks
def test_cli_says_a_confusable_name_in_finnish(tmp_path):
    path = tmp_path / "reg.sqlite3"
    with Register(path) as r:
        r.add_person("Grace Hopper", "client")
    photo = str(SAMPLES / "astronaut.png")
    res = runner.invoke(app, ["--lang", "fi", "--register", str(path), "register", "add", "Grace H0pper",
                              "--role", "staff", "--photo", photo])
    assert res.exit_code == 4
    assert "nimi 'Grace H0pper' näyttää samalta kuin jo rekisterissä oleva 'Grace Hopper'" in res.output
    res = runner.invoke(app, ["--register", str(path), "register", "add", "Grace\u200bHopper", "--role", "staff",
                              "--photo", photo])
    assert res.exit_code == 4
    assert "the name 'Grace\\u200bHopper' contains invisible or formatting characters" in res.output
    with Register(path) as r:
        assert [p.name for p in r.people()] == ["Grace Hopper"]


# -- consent dates (issue 14): a consent covers the days from when it was given ------------------------------


def test_a_consent_does_not_cover_days_before_it_was_recorded(reg):
    reg.add_person("Anna", "staff")
    reg.add_consent("Anna", ["facebook"], valid_until="2099-01-01")
    today = dt.date.today()
    assert reg.consent_status("Anna", "facebook", today).state == "valid"
    before = reg.consent_status("Anna", "facebook", today - dt.timedelta(days=1))
    assert before == ConsentStatus("facebook", "not_yet", False, "2099-01-01", None, RECORDED)
    assert before.valid is False


def test_a_consent_given_earlier_counts_from_that_day(reg):
    reg.add_person("Anna", "staff")
    [row] = reg.add_consent("Anna", ["facebook"], valid_from="2026-11-01", valid_until="2026-11-30")
    assert row.valid_from == "2026-11-01"
    assert [reg.consent_status("Anna", "facebook", dt.date(2026, 11, d)).state for d in (1, 30)] == ["valid"] * 2
    assert reg.consent_status("Anna", "facebook", dt.date(2026, 10, 31)).state == "not_yet"
    assert reg.consent_status("Anna", "facebook", dt.date(2026, 12, 1)).state == "expired"
    with pytest.raises(RegisterError, match=r"cannot end \(2026-10-01\) before it starts \(2026-11-01\)"):
        reg.add_consent("Anna", ["facebook"], valid_from="2026-11-01", valid_until="2026-10-01")
    with pytest.raises(RegisterError, match="bad date"):
        reg.add_consent("Anna", ["facebook"], valid_from="1.11.2026")


def test_a_not_yet_valid_consent_beside_a_valid_one_does_not_hide_it(reg):
    reg.add_person("Anna", "staff")
    reg.add_consent("Anna", ["facebook"], valid_from="2026-01-01", valid_until="2026-12-31")
    reg.add_consent("Anna", ["facebook"], valid_from="2027-01-01")
    assert reg.consent_status("Anna", "facebook", dt.date(2026, 6, 1)).state == "valid"
    assert reg.consent_status("Anna", "facebook", dt.date(2025, 6, 1)).state == "not_yet"


def test_cli_consent_from(cli_reg):
    res = run(cli_reg, "consent", "Bo", "-c", "fb", "--from", "2026-11-01", "--until", "2027-06-30")
    assert res.exit_code == 0, res.output
    assert res.stdout == "consent recorded for Bo: facebook from 2026-11-01 until 2027-06-30\n"
    with Register(cli_reg) as r:
        assert r.consent_status("Bo", "facebook", dt.date(2026, 10, 31)).state == "not_yet"
    res = run(cli_reg, "consent", "Bo", "-c", "fb", "--from", "1.11.2026")
    assert res.exit_code == 2 and "--from" in res.output


# -- a withdrawal ends every consent given before it (issue 24, item 5) ----------------------------------


class Clock:
    def __init__(self, when: dt.datetime) -> None:
        self.now = when

    def __call__(self) -> dt.datetime:
        return self.now


def test_a_back_dated_consent_cannot_undo_a_withdrawal(tmp_path):
    clock = Clock(dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC))
    with Register(tmp_path / "r.sqlite3", clock=clock) as r:
        r.add_person("Cara", "client")
        r.add_consent("Cara", ["facebook"], risks_explained=True, valid_from="2026-10-01")
        assert r.consent_status("Cara", "facebook").state == "valid"
        clock.now += dt.timedelta(hours=1)
        r.withdraw("Cara", ["facebook"])
        # an older paper form entered late: refused, it was given before the withdrawal
        with pytest.raises(RegisterError, match="withdrew consent for facebook on 2026-12-07"):
            r.add_consent("Cara", ["facebook"], risks_explained=True, valid_from="2026-11-07")
        with pytest.raises(RegisterError):  # the withdrawal's own day: which came first is unknown
            r.add_consent("Cara", ["facebook"], risks_explained=True, valid_from="2026-12-07")
        assert r.consent_status("Cara", "facebook").state == "withdrawn"
        # another channel is not affected, and a consent given after the withdrawal counts
        r.add_consent("Cara", ["instagram"], risks_explained=True, valid_from="2026-11-07")
        clock.now += dt.timedelta(hours=1)
        r.add_consent("Cara", ["facebook"], risks_explained=True)
        assert r.consent_status("Cara", "facebook").state == "valid"


def test_a_back_dated_consent_already_in_a_register_is_ended_by_the_withdrawal(tmp_path, monkeypatch):
    # a register written before the refusal existed may hold one: it must not count either
    from imagegate.register.store import Consent

    clock = Clock(dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC))
    with Register(tmp_path / "r.sqlite3", clock=clock) as r:
        r.add_person("Cara", "client")
        r.add_consent("Cara", ["facebook"], risks_explained=True)
        clock.now += dt.timedelta(hours=1)
        r.withdraw("Cara", ["facebook"])
        with monkeypatch.context() as m:
            m.setattr(Consent, "given_before", lambda self, stamp: False)
            r.add_consent("Cara", ["facebook"], risks_explained=True, valid_from="2026-11-07")
        assert r.consent_status("Cara", "facebook").state == "withdrawn"
        assert [c.withdrawn_at is not None for c in r.consents("Cara")] == [True, True]
