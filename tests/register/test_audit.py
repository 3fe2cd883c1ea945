"""The tamper-evident audit log: chaining, torn-line repair, verification and its CLI."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from imagegate.cli.main import app
from imagegate.register import audit

from ..conftest import CliRunner

runner = CliRunner()


def _write(path, n):
    return [audit.append(path, {"file": f"photo{i}.jpg", "decision": "allowed", "intent": f"id{i}"})
            for i in range(n)]


def test_entries_chain_to_the_previous_line(tmp_path):
    log = tmp_path / "audit.jsonl"
    written = _write(log, 3)
    lines = log.read_bytes().splitlines()
    assert len(lines) == 3
    assert written[0]["prev"] == "0" * 64 and written[0]["seq"] == 1
    for i in (1, 2):
        assert written[i]["prev"] == hashlib.sha256(lines[i - 1]).hexdigest()
        assert written[i]["seq"] == i + 1
    assert [json.loads(x)["hash"] for x in lines] == [w["hash"] for w in written]
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    result = audit.verify(log)
    assert result.ok and result.entries == 3 and result.broken_line is None


def test_edited_line_is_reported_with_its_number(tmp_path):
    log = tmp_path / "audit.jsonl"
    _write(log, 4)
    lines = log.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"decision":"allowed"', '"decision":"blocked"')
    log.write_text("".join(lines))
    result = audit.verify(log)
    assert not result.ok and result.broken_line == 3 and "edited" in result.problem
    r = runner.invoke(app, ["--lang", "en", "audit", "verify", str(log)])
    assert r.exit_code == 4
    assert "broken at line 3" in r.stdout


def test_recomputed_hash_still_breaks_the_next_link(tmp_path):
    log = tmp_path / "audit.jsonl"
    _write(log, 3)
    lines = log.read_text().splitlines(keepends=True)
    entry = json.loads(lines[1])
    entry["decision"] = "blocked"
    entry["hash"] = audit.entry_hash(entry)  # a forger who knows the format
    lines[1] = json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n"
    log.write_text("".join(lines))
    result = audit.verify(log)
    assert result.broken_line == 3 and "prev" in result.problem


def test_deleted_line_breaks_the_chain(tmp_path):
    log = tmp_path / "audit.jsonl"
    _write(log, 4)
    lines = log.read_text().splitlines(keepends=True)
    log.write_text("".join(lines[:1] + lines[2:]))
    assert audit.verify(log).broken_line == 2


def test_torn_last_line_is_cut_and_the_chain_continues(tmp_path):
    log = tmp_path / "audit.jsonl"
    _write(log, 2)
    good = log.read_bytes()
    with open(log, "ab") as f:
        f.write(b'{"file":"half')  # a crash in the middle of an append
    assert audit.verify(log).broken_line == 3
    assert [e["file"] for e in audit.read(log)] == ["photo0.jpg", "photo1.jpg"]
    entry = audit.append(log, {"file": "after.jpg", "decision": "blocked"})
    assert entry["repair"]["torn_bytes"] == len(b'{"file":"half')
    assert entry["prev"] == hashlib.sha256(good.splitlines()[-1]).hexdigest()
    assert log.read_bytes().startswith(good)
    result = audit.verify(log)
    assert result.ok and result.entries == 3


@pytest.mark.parametrize("n", [1, 3])
def test_a_whole_entry_that_only_lost_its_newline_is_kept_not_cut(tmp_path, n):
    # Only the final "\n" missing: the entry itself is complete and chained; cutting it would drop a
    # real decision from the log and `verify` would still say intact.
    log = tmp_path / "audit.jsonl"
    _write(log, n)
    whole = log.read_bytes()
    log.write_bytes(whole[:-1])
    assert audit.repair(log) is None
    assert log.read_bytes() == whole
    log.write_bytes(whole[:-1])
    entry = audit.append(log, {"file": "next.jpg"})
    assert "repair" not in entry and [e["file"] for e in audit.read(log)][-2:] == [f"photo{n - 1}.jpg", "next.jpg"]
    assert audit.verify(log).ok and audit.verify(log).entries == n + 1


def test_repair_of_a_torn_first_line(tmp_path):
    log = tmp_path / "audit.jsonl"
    log.write_bytes(b'{"fi')
    assert audit.repair(log)["torn_bytes"] == 4
    assert log.read_bytes() == b""
    assert audit.append(log, {"file": "a.jpg"})["prev"] == "0" * 64
    assert audit.verify(log).ok


def test_long_lines_are_chained_across_read_chunks(tmp_path):
    log = tmp_path / "audit.jsonl"
    big = "x" * 100_000  # longer than the backwards-reading chunk
    audit.append(log, {"file": "a.jpg", "note": big})
    audit.append(log, {"file": "b.jpg", "note": big})
    assert audit.verify(log).ok and audit.verify(log).entries == 2


def test_cli_ok_and_missing_file(tmp_path):
    log = tmp_path / "audit.jsonl"
    _write(log, 2)
    r = runner.invoke(app, ["--lang", "en", "audit", "verify", str(log)])
    assert r.exit_code == 0 and "chain intact, 2 entries" in r.stdout
    r = runner.invoke(app, ["audit", "verify", "--json", str(log)])
    assert json.loads(r.stdout) == {"path": str(log), "ok": True, "entries": 2, "broken_line": None,
                                    "problem": None}
    r = runner.invoke(app, ["audit", "verify", str(tmp_path / "nope.jsonl")])
    assert r.exit_code == 4 and "could not be read" in r.output


def test_a_message_quoting_a_name_that_is_not_utf8_is_written_not_fatal(tmp_path):
    from imagegate.filenames import name_of, stored_name

    log = tmp_path / "audit.jsonl"
    name = os.fsdecode(b"caf\xe9.jpg")
    audit.append(log, {**stored_name(name), "error": {"message": f"/inbox/{name}: the file is corrupt"}})
    entry = audit.read(log)[0]
    assert name_of(entry) == name and entry["error"]["message"] == "/inbox/caf\\udce9.jpg: the file is corrupt"
    assert audit.verify(log).ok


def test_read_gives_only_json_objects(tmp_path):
    log = tmp_path / "audit.jsonl"
    audit.append(log, {"file": "a.jpg"})
    with open(log, "a") as f:
        f.write('[1]\n"x"\nnot json\n')
    audit.append(log, {"file": "b.jpg"})
    assert [e["file"] for e in audit.read(log)] == ["a.jpg", "b.jpg"]
