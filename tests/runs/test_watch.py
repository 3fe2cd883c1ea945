"""`imagegate watch`: real watcher processes, real photos, real SIGKILLs.

Every test that runs a watcher starts `python -m imagegate.cli.main watch` as a
subprocess and only waits by polling for conditions (lines printed, files moved,
audit entries written) with generous timeouts.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from imagegate.cli.main import app
from imagegate.register import audit
from imagegate.runs.journal import JOURNAL_DIR, TMP_SUFFIX, Journal
from imagegate.runs.watch import is_candidate_name

from ..conftest import SAMPLES, CliRunner, json_lines, shared_data

runner = CliRunner()
FOLDERS = ("allowed", "needs_consent", "blocked", "rejected")
START_TIMEOUT = 120
SIDE_FILES = (".json", ".preview.jpg")


def sha(path: Path) -> str:
    """Of the bytes a watcher would record: a symbolic link is judged as itself (its target path)."""
    p = Path(path)
    return hashlib.sha256(os.fsencode(os.readlink(p)) if p.is_symlink() else p.read_bytes()).hexdigest()


def wait_for(pred, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def register(tmp_path_factory):
    """Grace Hopper is a client; nobody else is enrolled."""
    reg = tmp_path_factory.mktemp("reg") / "register.sqlite3"
    r = runner.invoke(app, ["--register", str(reg), "register", "add", "Grace Hopper", "--role", "client",
                            "--photo", str(SAMPLES / "grace_hopper.jpg")])
    assert r.exit_code == 0, r.output
    return reg


_started: list[Watch] = []


@pytest.fixture(autouse=True)
def _no_stray_watchers():
    """A failed assertion must not leave a watcher running (its workers follow it out)."""
    yield
    while _started:
        w = _started.pop()
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(timeout=30)
        w.close()


class Watch:
    """A running `imagegate watch` subprocess whose output lines are collected as they come."""

    def __init__(self, inbox: Path, out: Path, register: Path, *extra: str, env: dict | None = None,
                 settle: float = 0.5):
        cmd = [sys.executable, "-m", "imagegate.cli.main", "--register", str(register), "--lang", "en", "watch",
               str(inbox), "--out", str(out), "--settle", str(settle), "--rescan", "1", "--jobs", "2", *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        _started.append(self)
        self.out_lines: list[str] = []
        self.err_lines: list[str] = []
        self._readers = [threading.Thread(target=self._read, args=(s, sink), daemon=True)
                         for s, sink in ((self.proc.stdout, self.out_lines), (self.proc.stderr, self.err_lines))]
        for t in self._readers:
            t.start()

    @staticmethod
    def _read(stream, lines):
        for line in stream:
            lines.append(line.rstrip("\n"))

    def sorted_lines(self) -> list[str]:
        return [x for x in self.out_lines if " -> " in x and not x.startswith("imagegate watch:")]

    def wait_started(self):
        wait_for(lambda: any(x.startswith("imagegate watch:") for x in self.out_lines) or self.proc.poll() is not None,
                 START_TIMEOUT, "the startup line")
        assert self.proc.poll() is None, self.text()

    def wait_sorted(self, n: int, timeout: float = 120):
        wait_for(lambda: len(self.sorted_lines()) >= n or self.proc.poll() is not None, timeout,
                 f"{n} sorted photos")
        assert len(self.sorted_lines()) >= n, self.text()

    def terminate(self, timeout: float = 90) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.finish(timeout)

    def finish(self, timeout: float = 90) -> int:
        rc = self.proc.wait(timeout=timeout)
        self.close(timeout=10)
        return rc

    def close(self, timeout: float = 30) -> None:
        """Its output read to the end and its pipes closed: a pipe left to the GC is a ResourceWarning, an
        error under filterwarnings = error. A pipe a reader still reads (a worker holding it open) is left."""
        for t in self._readers:
            t.join(timeout=timeout)
        for t, stream in zip(self._readers, (self.proc.stdout, self.proc.stderr), strict=True):
            if not t.is_alive():
                stream.close()

    def text(self) -> str:
        return "\n".join(self.out_lines + ["--- stderr ---"] + self.err_lines)

    def worker_pids(self) -> list[int]:
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.proc.pid and "spawn_main" in _cmdline(int(entry)):
                    out.append(int(entry))
        return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def drop(src: Path | bytes, inbox: Path, name: str) -> str:
    """Arrive atomically, as a finished copy does: write under a dotfile name, then rename."""
    tmp = inbox / f".{hashlib.sha256(os.fsencode(name)).hexdigest()[:16]}.copying"  # fits beside any name
    if isinstance(src, bytes):
        tmp.write_bytes(src)
    else:
        shutil.copyfile(src, tmp)
    os.rename(tmp, inbox / name)
    return sha(inbox / name)


def photos_in(out: Path) -> dict[str, list[str]]:
    return {f: sorted(p.name for p in (out / f).iterdir()
                      if not p.name.endswith(SIDE_FILES) and not p.name.startswith("."))
            for f in FOLDERS}


def report_of(out: Path, rel: str) -> dict:
    return json.loads((out / "reports" / f"{rel}.json").read_text(encoding="utf-8"))


def audit_entries(out: Path) -> list[dict]:
    return audit.read(out / "audit.jsonl")


def assert_no_leftovers(out: Path):
    assert not list(out.rglob(f"*{TMP_SUFFIX}"))
    assert not list((out / JOURNAL_DIR).glob("*.intent.json"))
    assert not list((out / JOURNAL_DIR / "staging").iterdir())


def assert_exactly_once(inputs: dict[str, str], inbox: Path, out: Path, *, all_done: bool = True) -> dict[str, str]:
    """Every input is in exactly one output folder (or, when not all_done, still in the inbox),
    with its checked content, one report and one audit entry. Returns name -> folder."""
    where: dict[str, str] = {}
    seen = Counter()
    for folder, names in photos_in(out).items():
        for name in names:
            rep = report_of(out, f"{folder}/{name}")
            source = rep["watch"]["source_name"]
            seen[source] += 1
            where[source] = folder
            assert rep["watch"]["destination"] == f"{folder}/{name}"
            assert sha(out / folder / name) == inputs[source] == rep["sha256"], name
    assert all(n == 1 for n in seen.values()), seen
    left = {p.name for p in inbox.iterdir() if is_candidate_name(p.name)}
    assert not (left & set(where)), left & set(where)
    if all_done:
        assert set(where) == set(inputs) and not left
    else:
        assert set(where) | left == set(inputs)
    entries = audit_entries(out)
    assert sorted(e["file"] for e in entries) == sorted(where)
    assert len({e["intent"] for e in entries}) == len(entries)
    for e in entries:
        assert e["destination"].split("/")[0] == where[e["file"]] and e["sha256"] == inputs[e["file"]]
    assert audit.verify(out / "audit.jsonl").ok
    assert_no_leftovers(out)
    return where


def corrupt_inputs(inbox: Path) -> dict[str, str]:
    hopper = (SAMPLES / "grace_hopper.jpg").read_bytes()
    return {"truncated.jpg": drop(hopper[:5000], inbox, "truncated.jpg"),
            "random.jpg": drop(bytes(range(256)) * 40, inbox, "random.jpg"),
            "notes.txt": drop(b"meeting notes, not a photo\n", inbox, "notes.txt")}


# -- the backlog and what lands where ----------------------------------------------------------


@pytest.mark.slow  # runs the watcher in a subprocess
def test_backlog_is_sorted_exactly_with_reports_previews_and_audit(tmp_path, register):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    (out / "blocked").mkdir(parents=True)
    (out / "blocked" / "grace_hopper.jpg").write_bytes(b"an older photo with this name")
    inputs = {name: drop(SAMPLES / name, inbox, name) for name in ("grace_hopper.jpg", "astronaut.png", "coffee.png")}
    inputs.update(corrupt_inputs(inbox))
    os.symlink(SAMPLES / "coffee.png", inbox / "link.png")  # its target could change after the check
    inputs["link.png"] = sha(inbox / "link.png")
    w = Watch(inbox, out, register)
    w.wait_started()
    wait_for(lambda: len(audit_entries(out)) == 7, 120, "seven audit entries")
    assert w.terminate() == 0, w.text()

    start = next(x for x in w.out_lines if x.startswith("imagegate watch:"))
    assert f"inbox {inbox.resolve()} -> out {out.resolve()}; channel facebook; register {register}" in start
    assert "jobs 2; observer InotifyObserver" in start
    assert photos_in(out) == {"allowed": ["coffee.png"], "needs_consent": ["astronaut.png"],
                              "blocked": ["grace_hopper (2).jpg", "grace_hopper.jpg"],
                              "rejected": ["link.png", "notes.txt", "random.jpg", "truncated.jpg"]}
    assert (out / "blocked" / "grace_hopper.jpg").read_bytes() == b"an older photo with this name"
    (out / "blocked" / "grace_hopper.jpg").unlink()  # not ours: leave only what the watcher sorted
    where = assert_exactly_once(inputs, inbox, out)
    assert where["grace_hopper.jpg"] == "blocked"
    assert "BLOCKED        grace_hopper.jpg -> blocked/grace_hopper (2).jpg" in w.out_lines
    assert "ALLOWED        coffee.png -> allowed/coffee.png" in w.out_lines
    assert "               report: reports/allowed/coffee.png.json" in w.out_lines
    assert "               preview: reports/blocked/grace_hopper (2).jpg.preview.jpg" in w.out_lines
    # a rejected photo's line says why
    assert ("ERROR          truncated.jpg -> rejected/truncated.jpg: the file is truncated (incomplete download "
            "or copy)") in w.out_lines
    # the verdict folders hold the photos and nothing else (posting tools are pointed at allowed/)
    assert {f: sorted(p.name for p in (out / f).iterdir()) for f in FOLDERS} == {
        "allowed": ["coffee.png"], "needs_consent": ["astronaut.png"], "blocked": ["grace_hopper (2).jpg"],
        "rejected": ["link.png", "notes.txt", "random.jpg", "truncated.jpg"]}
    assert w.out_lines[-1] == "stopped: 1 allowed, 1 needs consent, 1 blocked, 4 rejected"

    blocked = report_of(out, "blocked/grace_hopper (2).jpg")
    assert blocked["decision"] == "blocked" and any(r["rule"] == "6" for r in blocked["reasons"])
    assert blocked["watch"]["preview"] == "reports/blocked/grace_hopper (2).jpg.preview.jpg"
    assert blocked["watch"]["report"] == "reports/blocked/grace_hopper (2).jpg.json"
    reports = out / "reports"
    # closed: a file left to the GC is a ResourceWarning (an error under filterwarnings = error)
    with Image.open(reports / "blocked" / "grace_hopper (2).jpg.preview.jpg") as preview:
        assert preview.width == 512
    assert (reports / "needs_consent" / "astronaut.png.preview.jpg").is_file()
    assert (reports / "blocked" / "grace_hopper (2).jpg.preview.jpg").stat().st_mode & 0o777 == 0o600  # a face
    assert report_of(out, "allowed/coffee.png")["reasons"][0]["code"] == "no_faces"
    assert not (reports / "allowed" / "coffee.png.preview.jpg").exists()
    for name in ("notes.txt", "random.jpg", "truncated.jpg"):
        rep = report_of(out, f"rejected/{name}")
        assert rep["decision"] == "error" and rep["error"]["kind"] == "unreadable_image"
        assert rep["watch"]["preview"] is None and not (reports / "rejected" / f"{name}.preview.jpg").exists()
    assert "truncated" in report_of(out, "rejected/truncated.jpg")["error"]["message"]
    assert (out / "rejected" / "link.png").is_symlink()
    assert "found a symbolic link" in report_of(out, "rejected/link.png")["error"]["message"]

    entries = {e["file"]: e for e in audit_entries(out)}
    assert {k: e["decision"] for k, e in entries.items()} == {
        "grace_hopper.jpg": "blocked", "astronaut.png": "needs_consent", "coffee.png": "allowed",
        "truncated.jpg": "error", "random.jpg": "error", "notes.txt": "error", "link.png": "error"}
    e = entries["grace_hopper.jpg"]
    assert set(e) == {"time", "file", "sha256", "decision", "reasons", "channel", "event", "config_sha256",
                      "versions", "intent", "destination", "seq", "prev", "hash"}
    assert e["reasons"][0]["rule"] == "6" and set(e["reasons"][0]) == {"code", "rule", "message", "people"}
    assert e["reasons"][0]["people"] == ["Grace Hopper"]  # an access request selects by it, not by the words
    assert e["versions"]["imagegate"] and e["versions"]["models"]
    assert e["channel"] == "facebook" and e["time"].endswith("Z") and len(e["config_sha256"]) == 64
    assert e["event"] == "unknown"  # the inbox's event context, default
    assert "error" in entries["random.jpg"]
    r = runner.invoke(app, ["audit", "verify", str(out / "audit.jsonl")])
    assert r.exit_code == 0 and "7 entries" in r.stdout


# -- arrivals while running ------------------------------------------------------------------


@pytest.mark.slow  # runs the watcher in a subprocess
def test_partial_writes_temp_names_and_name_collisions(tmp_path, register):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    w = Watch(inbox, out, register, settle=1.5)
    w.wait_started()
    # another watcher on the same output folder is refused while this one runs
    r = runner.invoke(app, ["watch", str(tmp_path / "other-inbox"), "--out", str(out)])
    assert r.exit_code == 4
    (tmp_path / "other-inbox").mkdir()
    r = runner.invoke(app, ["watch", str(tmp_path / "other-inbox"), "--out", str(out)])
    assert r.exit_code == 4 and "another one running" in r.output

    astronaut = (SAMPLES / "astronaut.png").read_bytes()
    ignored = {"photo.jpg.part": astronaut, "~$draft.jpg": astronaut, ".hidden.jpg": astronaut,
               "backup.png~": astronaut, "download.crdownload": astronaut}
    for name, data in ignored.items():
        (inbox / name).write_bytes(data)

    # a slow copy: appended in pieces, never still for the settle time until it is complete
    hopper = (SAMPLES / "grace_hopper.jpg").read_bytes()
    with open(inbox / "slow.jpg", "wb") as f:
        step = len(hopper) // 10 + 1
        for i in range(0, len(hopper), step):
            f.write(hopper[i:i + step])
            f.flush()
            time.sleep(0.3)
    w.wait_sorted(1)
    assert w.sorted_lines() == ["BLOCKED        slow.jpg -> blocked/slow.jpg"]
    assert sha(out / "blocked" / "slow.jpg") == hashlib.sha256(hopper).hexdigest()
    # the temporary names have been there for longer than settle + rescan and are untouched
    assert {p.name for p in inbox.iterdir()} == set(ignored)

    os.rename(inbox / "photo.jpg.part", inbox / "photo.jpg")  # the download finishes
    w.wait_sorted(2)
    assert w.sorted_lines()[1] == "NEEDS CONSENT  photo.jpg -> needs_consent/photo.jpg"

    first = drop(SAMPLES / "coffee.png", inbox, "same.png")
    w.wait_sorted(3)
    buf = tmp_path / "blank.png"
    Image.new("RGB", (320, 240), (40, 90, 160)).save(buf)
    second = drop(buf, inbox, "same.png")
    w.wait_sorted(4)
    assert w.terminate() == 0, w.text()
    assert w.sorted_lines()[2:] == ["ALLOWED        same.png -> allowed/same.png",
                                    "ALLOWED        same.png -> allowed/same (2).png"]
    assert sha(out / "allowed" / "same.png") == first and sha(out / "allowed" / "same (2).png") == second
    assert report_of(out, "allowed/same (2).png")["sha256"] == second
    assert {p.name for p in inbox.iterdir()} == set(ignored) - {"photo.jpg.part"}
    assert [e["file"] for e in audit_entries(out)] == ["slow.jpg", "photo.jpg", "same.png", "same.png"]
    assert audit.verify(out / "audit.jsonl").ok
    assert_no_leftovers(out)


# -- crash safety ---------------------------------------------------------------------------


def small_batch(inbox: Path, n_copies: int = 1) -> dict[str, str]:
    inputs = {}
    for k in range(n_copies):
        for name in ("grace_hopper.jpg", "astronaut.png", "coffee.png"):
            stem, ext = os.path.splitext(name)
            inputs[f"{stem}-{k}{ext}"] = drop(SAMPLES / name, inbox, f"{stem}-{k}{ext}")
    return inputs


EXPECTED = {"grace_hopper": "blocked", "astronaut": "needs_consent", "coffee": "allowed"}


@pytest.mark.slow  # runs the watcher in a subprocess
@pytest.mark.parametrize("step", ["after_intent", "after_report", "after_move", "after_audit"])
def test_crash_at_each_step_then_restart_sorts_each_photo_exactly_once(tmp_path, register, step):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    inputs = small_batch(inbox, 2)
    inputs["broken.jpg"] = drop(b"\xff\xd8\xff\xe0 no more", inbox, "broken.jpg")
    w = Watch(inbox, out, register, env={"IMAGEGATE_WATCH_CRASH_AT": f"{step}:3"})
    assert w.finish(timeout=150) == 137, w.text()
    assert len(w.sorted_lines()) == 2  # the third photo was mid-sort when it "lost power"
    assert len(list((out / JOURNAL_DIR).glob("*.intent.json"))) == 1

    w2 = Watch(inbox, out, register)
    w2.wait_started()
    wait_for(lambda: len(audit_entries(out)) == len(inputs), 120, "every photo in the audit log")
    wait_for(lambda: len(w2.sorted_lines()) == len(inputs) - 2, 30, "the remaining lines")
    assert w2.terminate() == 0, w2.text()
    where = assert_exactly_once(inputs, inbox, out)
    assert where == {**{n: EXPECTED[n.rsplit("-", 1)[0]] for n in inputs if n != "broken.jpg"},
                     "broken.jpg": "rejected"}
    if step in ("after_intent", "after_report"):
        # not moved yet: checked again rather than sorted on a verdict from before the stop
        assert not any("(recovered after a crash)" in x for x in w2.out_lines)
        assert sum("its sorting was cut short by a stop; it will be checked again" in x for x in w2.err_lines) == 1
    else:
        assert sum("(recovered after a crash)" in x for x in w2.out_lines) == 1


@pytest.mark.slow  # runs the watcher in a subprocess
def test_sigkill_mid_batch_and_restart(tmp_path, register):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    inputs = small_batch(inbox, 8)
    w = Watch(inbox, out, register)
    w.wait_started()
    w.wait_sorted(7)
    workers = w.worker_pids()
    assert len(workers) == 2
    w.proc.kill()
    assert w.finish() == -signal.SIGKILL
    # the workers notice their watcher is gone and exit instead of lingering
    wait_for(lambda: not any(_alive(p) for p in workers), 30, "orphaned workers to exit")
    done_before = len(audit_entries(out))
    assert 7 <= done_before < len(inputs)

    w2 = Watch(inbox, out, register)
    w2.wait_started()
    wait_for(lambda: len(audit_entries(out)) == len(inputs), 120, "every photo in the audit log")
    assert w2.terminate() == 0, w2.text()
    where = assert_exactly_once(inputs, inbox, out)
    assert all(where[n] == EXPECTED[n.rsplit("-", 1)[0]] for n in inputs)


@pytest.mark.slow  # runs the watcher in a subprocess
def test_sigterm_stops_cleanly_and_leaves_the_rest_in_the_inbox(tmp_path, register):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    inputs = small_batch(inbox, 10)
    w = Watch(inbox, out, register)
    w.wait_started()
    w.wait_sorted(3)
    workers = w.worker_pids()
    assert w.terminate() == 0, w.text()
    assert w.out_lines[-1].startswith("stopped: ")
    assert "Traceback" not in w.text()
    wait_for(lambda: not any(_alive(p) for p in workers), 30, "workers to exit")
    assert_exactly_once(inputs, inbox, out, all_done=False)
    assert len(audit_entries(out)) == len(w.sorted_lines())


@pytest.mark.slow  # runs the watcher in a subprocess
@pytest.mark.parametrize("name, hook, extra, reason", [
    ("boom.jpg", "IMAGEGATE_WATCH_WORKER_CRASH_ON", (), "died 2 times"),
    ("stuck.jpg", "IMAGEGATE_WATCH_WORKER_HANG_ON", ("--photo-timeout", "3"), "after the 3 s limit"),
], ids=["worker dies", "worker hangs"])
def test_a_photo_that_stops_its_worker_twice_is_rejected_and_the_others_are_sorted(tmp_path, register, name,
                                                                                  hook, extra, reason):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    inputs = small_batch(inbox, 1)
    inputs[name] = drop(SAMPLES / "coffee.png", inbox, name)
    w = Watch(inbox, out, register, *extra, env={hook: name.split(".")[0]})
    w.wait_started()
    wait_for(lambda: len(audit_entries(out)) == 4, 150, "four audit entries")
    workers = w.worker_pids()
    assert w.terminate() == 0, w.text()
    where = assert_exactly_once(inputs, inbox, out)
    assert where == {"grace_hopper-0.jpg": "blocked", "astronaut-0.png": "needs_consent",
                     "coffee-0.png": "allowed", name: "rejected"}
    rep = report_of(out, f"rejected/{name}")
    assert rep["error"]["kind"] == "model_error" and reason in rep["error"]["message"]
    wait_for(lambda: not any(_alive(p) for p in workers), 30, "workers to exit")  # no hung worker left behind


# -- load --------------------------------------------------------------------------------


def _variants(tmp_path: Path) -> list[Path]:
    """Small (~300 px) versions of real photos: the samples, people from the evaluation data and,
    to keep the run short, several without faces (faces cost a descriptor each)."""
    srcs = [SAMPLES / n for n in ("grace_hopper.jpg", "astronaut.png", "coffee.png")]
    people = shared_data() / "identities" / "people"
    srcs += [sorted(d.iterdir())[0] for d in sorted(people.iterdir())[:2]]
    coffee = Image.open(SAMPLES / "coffee.png").convert("RGB")
    extra = [coffee.rotate(angle, expand=True) for angle in (90, 180, 270)]
    extra += [coffee.crop((0, 0, 256, 256)), coffee.transpose(Image.FLIP_LEFT_RIGHT),
              coffee.convert("L").convert("RGB")]
    out = []
    for i, src in enumerate(srcs + extra):
        img = src if isinstance(src, Image.Image) else Image.open(src).convert("RGB")
        img.thumbnail((300, 300))
        dest = tmp_path / f"variant{i}{'.png' if i % 3 == 2 else '.jpg'}"
        img.save(dest)
        out.append(dest)
    return out


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError(key)


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_burst_of_300_photos_bounded_memory_both_cores(tmp_path, register, gate_parts):
    from imagegate.gate import Gate

    variants = _variants(tmp_path)
    with Gate(register=register, **gate_parts) as gate:
        expected = {v.name: gate.check(v, channel="facebook").decision for v in variants}
    assert set(expected.values()) == {"allowed", "needs_consent", "blocked"}

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    n = 300
    names = [f"burst{i:03d}{variants[i % len(variants)].suffix}" for i in range(n)]
    source_of = {name: variants[i % len(variants)] for i, name in enumerate(names)}
    w = Watch(inbox, out, register)
    w.wait_started()
    inputs = {name: drop(source_of[name], inbox, name) for name in names[:150]}
    w.wait_sorted(40)
    rss_early = _status_kb(w.proc.pid, "VmRSS")
    # more arrive while the batch is being worked through
    inputs.update({name: drop(source_of[name], inbox, name) for name in names[150:]})
    wait_for(lambda: len(audit_entries(out)) == n, 200, f"{n} audit entries")
    peak = _status_kb(w.proc.pid, "VmHWM")
    workers = w.worker_pids()
    ticks = [_cpu_ticks(p) for p in workers]
    worker_peaks = [_status_kb(p, "VmHWM") for p in workers]
    assert w.terminate() == 0, w.text()

    where = assert_exactly_once(inputs, inbox, out)
    assert {name: where[name] for name in names} == {
        name: {"error": "rejected"}.get(expected[source_of[name].name], expected[source_of[name].name])
        for name in names}
    # bounded memory: the main process holds paths, never pixels
    assert peak < rss_early + 60_000 and peak < 400_000, (rss_early, peak)
    assert all(p < 1_500_000 for p in worker_peaks), worker_peaks
    # both cores did the work: two workers, each with a real share of it
    assert len(workers) == 2 and min(ticks) > 0.25 * sum(ticks), ticks


# -- command line and library units ------------------------------------------------------------


def test_refusals_are_clear(tmp_path):
    inbox = tmp_path / "inbox"
    r = runner.invoke(app, ["watch", str(inbox), "--out", str(tmp_path / "out")])
    assert r.exit_code == 4 and "does not exist" in r.output
    inbox.mkdir()
    r = runner.invoke(app, ["watch", str(inbox), "--out", str(inbox / "sorted")])
    assert r.exit_code == 4 and "must be separate" in r.output
    r = runner.invoke(app, ["watch", str(inbox), "--out", str(tmp_path)])
    assert r.exit_code == 4 and "must be separate" in r.output
    r = runner.invoke(app, ["watch", str(inbox), "--out", str(tmp_path / "out"), "--channel", "myspace"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["--register", str(tmp_path / "nope.sqlite3"), "watch", str(inbox),
                            "--out", str(tmp_path / "out")])
    assert r.exit_code == 4 and "does not exist" in r.output


def test_candidate_names():
    for name in ("a.jpg", "IMG 1.HEIC", "notes.txt", "x (2).png"):
        assert is_candidate_name(name), name
    for name in (".a.jpg", "a.jpg.part", "a.JPG.crdownload", "a.tmp", "~$a.jpg", "a.jpg~", "a.partial"):
        assert not is_candidate_name(name), name


def _intent(journal: Journal, src: Path):
    return journal.plan(source=str(src), sha256=sha(src), decision="allowed", report={"decision": "allowed"},
                        audit_entry={"file": src.name, "decision": "allowed"}, staged_preview=None)


def test_move_across_filesystems_copies_fsyncs_and_unlinks(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    src = inbox / "x.png"
    shutil.copyfile(SAMPLES / "coffee.png", src)
    journal = Journal(tmp_path / "out")
    intent = _intent(journal, src)
    journal.record(intent)
    real_rename = os.rename

    def rename(a, b):
        if Path(a).parent == inbox:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(a, b)

    monkeypatch.setattr(os, "rename", rename)
    outcome = journal.complete(intent)
    assert outcome.destination == "allowed/x.png" and not src.exists()
    assert sha(tmp_path / "out" / "allowed" / "x.png") == sha(SAMPLES / "coffee.png")
    assert len(audit.read(journal.audit_path)) == 1
    assert_no_leftovers(tmp_path / "out")
    journal.close()


@pytest.mark.parametrize("replaced, action", [(True, "rolled_back"), (False, "recheck")],
                         ids=["photo replaced while down", "photo unchanged"])
def test_recovery_never_sorts_an_unmoved_photo_on_a_verdict_from_before_the_stop(tmp_path, replaced, action):
    # Replaced: what was checked is not what is there. Unchanged: the stop may have lasted hours and a
    # consent may have been withdrawn meanwhile. Either way the photo stays and is checked again.
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    src = inbox / "x.png"
    shutil.copyfile(SAMPLES / "coffee.png", src)
    journal = Journal(tmp_path / "out")
    journal.record(_intent(journal, src))
    journal.close()
    if replaced:
        shutil.copyfile(SAMPLES / "astronaut.png", src)
    journal = Journal(tmp_path / "out")
    [outcome] = journal.recover()
    journal.close()
    assert outcome.action == action and outcome.recovered and src.exists()
    assert not any((tmp_path / "out" / "allowed").iterdir())
    assert audit.read(journal.audit_path) == []
    assert_no_leftovers(tmp_path / "out")


@pytest.mark.slow  # runs the watcher in a subprocess
def test_redact_writes_one_publishable_copy_per_needs_consent_photo_even_across_a_crash(tmp_path, register):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    inputs = small_batch(inbox, 2)
    w = Watch(inbox, out, register, "--redact", env={"IMAGEGATE_WATCH_CRASH_AT": "after_report:2"})
    assert w.finish(timeout=150) == 137, w.text()
    w2 = Watch(inbox, out, register, "--redact")
    w2.wait_started()
    wait_for(lambda: len(audit_entries(out)) == len(inputs), 120, "every photo in the audit log")
    assert w2.terminate() == 0, w2.text()
    where = assert_exactly_once(inputs, inbox, out)
    assert where == {n: EXPECTED[n.rsplit("-", 1)[0]] for n in inputs}
    copies = sorted(p.name for p in (out / "redacted").iterdir())
    assert copies == ["astronaut-0.redacted.png", "astronaut-1.redacted.png"]
    for k in (0, 1):
        rep = report_of(out, f"needs_consent/astronaut-{k}.png")
        assert rep["watch"]["redacted"] == f"redacted/astronaut-{k}.redacted.png"
        r = runner.invoke(app, ["--register", str(register), "check", "--json", "--jobs", "1",
                                str(out / "redacted" / f"astronaut-{k}.redacted.png")])
        assert r.exit_code == 0 and json_lines(r.stdout)[0]["decision"] == "allowed", r.output
    entries = {e["file"]: e for e in audit_entries(out)}
    assert entries["astronaut-0.png"]["redacted"] == "redacted/astronaut-0.redacted.png"
    assert "redacted" not in entries["grace_hopper-0.jpg"] and "redacted" not in entries["coffee-0.png"]


@pytest.mark.slow  # starts worker processes
def test_a_photo_time_limit_does_not_count_the_workers_start(tmp_path, register):
    # A short --photo-timeout must not reject an innocent photo retried right after a restart just
    # because the fresh workers were still loading the models.
    from imagegate.config import Settings
    from imagegate.runs.watch_worker import CheckPool
    from imagegate.runs.workers import WORKER_START_SECONDS, running_for

    pool = CheckPool(1, settings=Settings(), register=register, channel="facebook", staging=tmp_path)
    try:
        assert pool.ready_at is None  # spawning, loading the models
        wait_for(lambda: pool.ready_at is not None, START_TIMEOUT, "the worker to load the models")
        first = pool.ready_at
        pool.restart(kill=True)
        assert pool.ready_at is None
        wait_for(lambda: pool.ready_at is not None, START_TIMEOUT, "the restarted worker")
        assert pool.ready_at > first
    finally:
        pool.close(wait=True)

    # a photo handed to a worker at 100.0, looked at 110.0
    assert running_for(100.0, None, 110.0) == 10.0 - WORKER_START_SECONDS
    assert running_for(100.0, 104.0, 110.0) == 6.0  # workers ready 4 s after the photo was handed over
    assert running_for(100.0, 90.0, 110.0) == 10.0  # ready long before


def test_a_photo_swapped_for_another_of_the_same_size_and_time_after_its_check_is_not_sorted(tmp_path):
    # `cp -p` / rsync -t of a same-sized photo keeps size and time: only the content tells them apart.
    from imagegate.image.loader import sha256_file
    from imagegate.runs.watch import Watcher
    from imagegate.runs.watch_worker import FileResult

    photo = tmp_path / "a.bmp"
    photo.write_bytes(b"BM" + b"A" * 100)
    st = os.stat(photo)
    result = FileResult(str(photo), size=st.st_size, mtime_ns=st.st_mtime_ns, file_id=(st.st_dev, st.st_ino),
                        sha256=sha256_file(photo))
    assert Watcher._still_what_was_checked(str(photo), result)
    with open(photo, "r+b") as fh:  # same file, same size, time put back
        fh.write(b"BM" + b"B" * 100)
    os.utime(photo, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(photo).st_mtime_ns == st.st_mtime_ns
    assert not Watcher._still_what_was_checked(str(photo), result)
    other = tmp_path / "b.bmp"  # another file renamed over it, content as checked
    other.write_bytes(b"BM" + b"A" * 100)
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(other, photo)
    assert not Watcher._still_what_was_checked(str(photo), result)
    photo.unlink()
    assert not Watcher._still_what_was_checked(str(photo), result)


def test_a_hard_linked_photo_is_sorted_as_a_copy_of_what_was_checked(tmp_path):
    # Renamed, allowed/x.png would stay one file with pics/x.png: rewriting that in place (with a
    # client's photo) would change the "allowed" photo after its check.
    pics, inbox = tmp_path / "pics", tmp_path / "inbox"
    pics.mkdir()
    inbox.mkdir()
    shutil.copyfile(SAMPLES / "coffee.png", pics / "x.png")
    os.link(pics / "x.png", inbox / "x.png")
    journal = Journal(tmp_path / "out")
    intent = _intent(journal, inbox / "x.png")
    journal.record(intent)
    outcome = journal.complete(intent)
    assert outcome.action == "sorted" and not (inbox / "x.png").exists()
    sorted_photo = tmp_path / "out" / "allowed" / "x.png"
    assert sorted_photo.stat().st_ino != (pics / "x.png").stat().st_ino and sorted_photo.stat().st_nlink == 1
    (pics / "x.png").write_bytes((SAMPLES / "grace_hopper.jpg").read_bytes())  # in place: same inode
    assert sorted_photo.read_bytes() == (SAMPLES / "coffee.png").read_bytes()
    # and a linked photo whose content changed between check and sort is not sorted on that check
    os.link(pics / "x.png", inbox / "y.png")
    intent = journal.plan(source=str(inbox / "y.png"), sha256=sha(SAMPLES / "coffee.png"), decision="allowed",
                          report={"decision": "allowed"}, audit_entry={"file": "y.png", "decision": "allowed"},
                          staged_preview=None)
    journal.record(intent)
    outcome = journal.complete(intent)
    journal.close()
    assert outcome.action == "changed" and (inbox / "y.png").exists()
    assert sorted(p.name for p in (tmp_path / "out" / "allowed").iterdir()) == ["x.png"]


# -- file names are data ------------------------------------------------------------------------


FORGED = "grace.jpg\nALLOWED        party.jpg -> allowed\r\u202egpj.jpg"


@pytest.mark.slow  # runs the watcher in a subprocess
def test_a_file_name_cannot_forge_an_allowed_line_on_the_console_or_in_logs(tmp_path, register):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    want = drop(SAMPLES / "grace_hopper.jpg", inbox, FORGED)
    w = Watch(inbox, out, register)
    w.wait_started()
    w.wait_sorted(1)
    assert w.terminate() == 0, w.text()
    text = w.text()
    assert not [x for x in w.out_lines + w.err_lines if x.startswith("ALLOWED")], text
    assert "\r" not in text and "\u202e" not in text, text
    line = w.sorted_lines()[0]
    assert line.startswith("BLOCKED") and "grace.jpg\\nALLOWED        party.jpg -> allowed\\r\\u202egpj.jpg" in line
    assert sha(out / "blocked" / FORGED) == want  # the name itself is kept as it was
    assert [e["file"] for e in audit_entries(out)] == [FORGED]


def test_the_watcher_log_escapes_names(tmp_path, caplog):
    journal = Journal(tmp_path / "out")
    intent = journal.plan(source=str(tmp_path / FORGED), sha256="0" * 64, decision="allowed",
                          report={"decision": "allowed"}, audit_entry={"file": FORGED, "decision": "allowed"},
                          staged_preview=None)
    with caplog.at_level("WARNING"):
        assert journal.complete(intent).action == "lost"
    journal.close()
    assert "vanished" in caplog.text and "\n" not in caplog.text.strip() and "\u202e" not in caplog.text


# -- names near the file system's limit --------------------------------------------------------------

#: legal names of 251 and 252 bytes, the second of 1- to 4-byte characters: `NAME.json` is not legal
LONG = "IMG_" + "x" * 243 + ".jpg"
WIDE = "kuva " + "😀写ä" * 27 + ".png"


def _reports_by_source(out: Path) -> dict[str, tuple[Path, dict]]:
    found = {}
    for p in (out / "reports").rglob("*.json"):
        rep = json.loads(p.read_bytes())
        found[rep["watch"]["source_name"]] = (p.relative_to(out), rep)
    return found


@pytest.mark.slow  # runs the watcher in a subprocess
def test_names_at_the_limit_are_sorted_and_so_is_the_photo_after_them(tmp_path, register):
    # `LONG.json` used to raise "File name too long" while planning: the watcher stopped, and every
    # restart stopped on the same file, so nothing after it was ever sorted.
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    assert len(os.fsencode(LONG)) == 251 and len(os.fsencode(WIDE)) == 252
    inputs = {LONG: drop(SAMPLES / "grace_hopper.jpg", inbox, LONG), WIDE: drop(SAMPLES / "astronaut.png", inbox, WIDE)}
    w = Watch(inbox, out, register)
    w.wait_started()
    w.wait_sorted(2)
    inputs["after.png"] = drop(SAMPLES / "coffee.png", inbox, "after.png")
    w.wait_sorted(3)
    assert w.terminate() == 0, w.text()
    assert photos_in(out) == {"allowed": ["after.png"], "needs_consent": [WIDE], "blocked": [LONG], "rejected": []}
    assert not list(inbox.iterdir())
    reports = _reports_by_source(out)
    assert set(reports) == set(inputs)
    for name, (path, rep) in reports.items():
        folder = rep["watch"]["destination"].split("/")[0]
        assert rep["watch"]["destination"] == f"{folder}/{name}"  # the photo keeps its own name
        assert rep["watch"]["report"] == str(path) and rep["sha256"] == inputs[name] == sha(out / folder / name)
        if rep["watch"]["preview"]:
            assert (out / rep["watch"]["preview"]).is_file() and rep["watch"]["preview"].endswith(".preview.jpg")
    assert reports[LONG][1]["decision"] == "blocked" and reports[WIDE][1]["decision"] == "needs_consent"
    assert all(len(os.fsencode(p.name)) <= 255 for p in out.rglob("*"))
    assert [e["file"] for e in audit_entries(out)] == [LONG, WIDE, "after.png"]
    assert audit.verify(out / "audit.jsonl").ok
    assert_no_leftovers(out)


def test_a_long_named_hard_link_is_copied_under_a_temporary_name_that_fits(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(SAMPLES / "coffee.png", tmp_path / "elsewhere.png")
    os.link(tmp_path / "elsewhere.png", inbox / LONG)
    journal = Journal(tmp_path / "out")
    intent = _intent(journal, inbox / LONG)
    journal.record(intent)
    assert journal.complete(intent).action == "sorted"
    journal.close()
    assert sha(tmp_path / "out" / "allowed" / LONG) == sha(SAMPLES / "coffee.png") and not (inbox / LONG).exists()
    assert_no_leftovers(tmp_path / "out")


def _unstarted_watcher(tmp_path: Path):
    """A watcher that is not started (no workers) with its journal, and the outcomes it emits."""
    from imagegate.config import Settings
    from imagegate.runs.watch import Watcher

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    outcomes: list = []
    w = Watcher(inbox, out, channel="facebook", settings=Settings(), register=tmp_path / "reg.sqlite3",
                on_outcome=outcomes.append)
    w._journal = Journal(out)
    return w, outcomes


def _checked(w, name: str, src: Path = SAMPLES / "coffee.png"):
    """`src` arrives in the inbox as `name`; the result a worker gives for it ("allowed"), its copy staged."""
    from imagegate.runs.watch_worker import FileResult

    path = w.inbox / name
    shutil.copyfile(src, path)
    staged = w._journal.staging / f"{sha(path)[:8]}.photo"
    shutil.copyfile(path, staged)
    st = os.stat(path)
    return FileResult(str(path), decision="allowed", report={"decision": "allowed"}, sha256=sha(path),
                      size=st.st_size, mtime_ns=st.st_mtime_ns, file_id=(st.st_dev, st.st_ino),
                      staged_photo=str(staged))


@pytest.mark.parametrize("when", ["planning", "moving"])
def test_a_photo_the_output_folder_will_not_take_is_rejected_and_the_watcher_goes_on(tmp_path, monkeypatch, when):
    # A name a file system refuses (a share taking no ':' or bytes that are not UTF-8, a shorter name limit)
    # must not stop the watcher: the photo is rejected under a plain name, its own kept in report and audit.
    refused = "meeting: 12.png"
    w, outcomes = _unstarted_watcher(tmp_path)
    out = w.out
    if when == "planning":
        real_free_name = Journal.free_name

        def free_name(self, folder, name):
            if name == refused:
                raise OSError(errno.EILSEQ, "Invalid or incomplete multibyte or wide character")
            return real_free_name(self, folder, name)

        monkeypatch.setattr(Journal, "free_name", free_name)
    else:
        real_rename = os.rename

        def rename(a, b):
            if os.path.basename(b) == refused:
                raise OSError(errno.EINVAL, "Invalid argument")
            return real_rename(a, b)

        monkeypatch.setattr(os, "rename", rename)
    result = _checked(w, refused)
    w._sort(result.path, result)
    [outcome] = outcomes
    plain = f"unsortable-{result.sha256[:16]}.png"
    assert outcome.action == "sorted" and outcome.decision == "error" and outcome.destination == f"rejected/{plain}"
    assert sha(out / "rejected" / plain) == result.sha256 and not (w.inbox / refused).exists()
    rep = report_of(out, f"rejected/{plain}")
    assert rep["watch"]["source_name"] == refused and rep["error"]["code"] == "unsortable"
    assert "could not be sorted into allowed/" in rep["error"]["message"]
    assert "could not be sorted into allowed/" in outcome.reason
    [entry] = audit_entries(out)
    assert entry["file"] == refused and entry["decision"] == "error" and entry["destination"] == f"rejected/{plain}"
    assert not list((out / "allowed").iterdir()) and not list((out / "reports" / "allowed").iterdir())
    assert_no_leftovers(out)
    # and the next photo is sorted as ever
    after = _checked(w, "after.png", SAMPLES / "astronaut.png")
    w._sort(after.path, after)
    assert outcomes[-1].destination == "allowed/after.png" and sha(out / "allowed" / "after.png") == after.sha256
    w._journal.close()


def test_a_full_output_folder_still_stops_the_watcher_and_the_next_start_checks_the_photo_again(tmp_path,
                                                                                              monkeypatch):
    w, outcomes = _unstarted_watcher(tmp_path)
    result = _checked(w, "x.png")
    real_rename = os.rename

    def rename(a, b):
        if os.path.basename(b) == "x.png":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_rename(a, b)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="No space left"):
        w._sort(result.path, result)
    w._journal.close()
    monkeypatch.setattr(os, "rename", real_rename)
    journal = Journal(w.out)
    [outcome] = journal.recover()
    journal.close()
    assert outcome.action == "recheck" and (w.inbox / "x.png").exists() and not outcomes
    assert audit_entries(w.out) == []
    assert_no_leftovers(w.out)


# -- a file still being written is not taken; what is sorted is what was checked ---------------------


def _gif_in_two_parts() -> tuple[bytes, bytes]:
    """A two-frame GIF (no face, then Grace Hopper) split where the second frame begins: the first
    part is a whole one-frame GIF of its own, as a stalled download leaves it."""
    import io
    import re

    frames = [Image.open(SAMPLES / n).convert("RGB").resize((400, 400)) for n in ("coffee.png", "grace_hopper.jpg")]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=500, loop=0)
    data = buf.getvalue()
    second = [m.start() for m in re.finditer(re.escape(b"\x21\xf9\x04"), data)][1]  # its control block
    return data[:second], data[second:]


@pytest.mark.slow  # runs the watcher in a subprocess
def test_a_gif_whose_writer_still_holds_it_is_not_sorted_on_its_first_frame(tmp_path, register):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    first, rest = _gif_in_two_parts()
    w = Watch(inbox, out, register)
    w.wait_started()
    drop(SAMPLES / "coffee.png", inbox, "warm-up.png")
    w.wait_sorted(1)  # the workers are up: a file they could take would be taken within seconds
    with open(inbox / "party.gif", "wb") as writer:
        writer.write(first)
        writer.flush()
        time.sleep(8)  # the download stalls, unchanged for 16 x the settle time, still open
        assert len(w.sorted_lines()) == 1, w.text()
        writer.write(rest)
    w.wait_sorted(2)
    assert w.terminate() == 0, w.text()
    whole = hashlib.sha256(first + rest).hexdigest()
    where = assert_exactly_once({"warm-up.png": sha(SAMPLES / "coffee.png"), "party.gif": whole}, inbox, out)
    assert where["party.gif"] != "allowed"


def test_the_sorted_photo_is_a_copy_of_the_checked_bytes_not_the_writers_file(tmp_path):
    # Where the OS cannot tell that a writer still holds the file, the photo it sorts is still only
    # the bytes that were checked: later writes go to the inbox file, never into allowed/.
    first, rest = _gif_in_two_parts()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    journal = Journal(tmp_path / "out")
    with open(inbox / "party.gif", "wb") as writer:
        writer.write(first)
        writer.flush()
        st = os.lstat(inbox / "party.gif")
        staged = journal.staging / "t.photo"
        staged.write_bytes(first)
        intent = journal.plan(source=str(inbox / "party.gif"), sha256=hashlib.sha256(first).hexdigest(),
                              decision="allowed", report={"decision": "allowed"},
                              audit_entry={"file": "party.gif", "decision": "allowed"}, staged_preview=None,
                              staged_photo=str(staged), source_stat=[st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino])
        journal.record(intent)
        assert journal.complete(intent).action == "sorted"
        writer.write(rest)  # the client's frame arrives after the sorting
    journal.close()
    assert (tmp_path / "out" / "allowed" / "party.gif").read_bytes() == first
    assert not (inbox / "party.gif").exists() and not staged.exists()


def test_a_file_open_for_writing_is_seen_by_a_lease_and_by_proc(tmp_path, monkeypatch):
    from imagegate.runs import writers

    writers.ignore_lease_breaks()
    photo = tmp_path / "x.jpg"
    photo.write_bytes(b"first part")
    assert writers.read_when_done(photo, 100)[0] == b"first part"
    with open(photo, "ab") as writer:
        with pytest.raises(writers.StillWriting):
            writers.read_when_done(photo, 100)
        monkeypatch.setattr(writers, "_take_lease", lambda fd: None)  # leases unavailable: /proc is searched
        with pytest.raises(writers.StillWriting):
            writers.read_when_done(photo, 100)
        writer.write(b", second part")
    assert writers.read_when_done(photo, 100)[0] == b"first part, second part"


# -- the mode of a sorted photo -----------------------------------------------------------------


def _mode(path: Path) -> int:
    return os.lstat(path).st_mode & 0o7777


@pytest.mark.slow  # runs the watcher in a subprocess
def test_sorted_photos_are_readable_by_their_owner_only(tmp_path, register):
    # A photo may show clients (blocked ones do by definition): like previews and reports, 0600.
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    inputs = {"coffee.png": drop(SAMPLES / "coffee.png", inbox, "coffee.png"),
              "grace.jpg": drop(SAMPLES / "grace_hopper.jpg", inbox, "grace.jpg"),
              "notes.txt": drop(b"not a photo\n", inbox, "notes.txt")}
    for name in inputs:
        os.chmod(inbox / name, 0o644)
    w = Watch(inbox, out, register)
    w.wait_started()
    w.wait_sorted(3)
    assert w.terminate() == 0, w.text()
    where = assert_exactly_once(inputs, inbox, out)
    assert where == {"coffee.png": "allowed", "grace.jpg": "blocked", "notes.txt": "rejected"}
    assert {name: _mode(out / folder / name) for name, folder in where.items()} == dict.fromkeys(inputs, 0o600)


@pytest.mark.parametrize("linked", [False, True], ids=["renamed", "copied"])
def test_a_file_moved_as_it_is_is_narrowed_to_its_owner_too(tmp_path, linked):
    # files the worker could not read are moved, not copied: they end up 0600 as well (0000 stays 0000)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copyfile(SAMPLES / "coffee.png", inbox / "x.png")
    os.chmod(inbox / "x.png", 0o664)
    if linked:
        os.link(inbox / "x.png", tmp_path / "elsewhere.png")
    journal = Journal(tmp_path / "out")
    intent = _intent(journal, inbox / "x.png")
    journal.record(intent)
    assert journal.complete(intent).action == "sorted"
    journal.close()
    assert _mode(tmp_path / "out" / "allowed" / "x.png") == 0o600
    assert not linked or _mode(tmp_path / "elsewhere.png") == 0o664  # the other name's file is not ours to change


# -- names that are not UTF-8 -------------------------------------------------------------------


@pytest.mark.slow  # runs the watcher in a subprocess
def test_a_name_that_is_not_utf8_is_sorted_journaled_and_audited_losslessly_even_across_a_crash(tmp_path,
                                                                                                 register):
    from imagegate.filenames import name_of

    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    raw = b"caf\xe9 \xff\n.jpg"  # Latin-1 bytes from an old camera or share, and a line break
    name = os.fsdecode(raw)
    want = drop(SAMPLES / "grace_hopper.jpg", inbox, name)
    # killed right after the move: the restart must replay the journal (and its audit line), not die on it
    w = Watch(inbox, out, register, env={"IMAGEGATE_WATCH_CRASH_AT": "after_move"})
    w.wait_started()
    assert w.finish(timeout=120) == 137, w.text()
    assert os.listdir(os.fsencode(out / "blocked")).count(raw) == 1
    w = Watch(inbox, out, register)
    w.wait_started()
    wait_for(lambda: len(audit_entries(out)) == 1 or w.proc.poll() is not None, 60, "the replayed audit line")
    after = drop(SAMPLES / "coffee.png", inbox, "after.png")  # and the watcher goes on sorting
    w.wait_sorted(2)  # the recovered photo's line, then this one
    assert w.terminate() == 0, w.text()
    assert "\\udce9 \\udcff\\n.jpg" in w.text()  # printed escaped, never raw
    entries = audit_entries(out)
    assert [name_of(e) for e in entries] == [name, "after.png"] and audit.verify(out / "audit.jsonl").ok
    first = entries[0]
    assert first["file"] == "caf\\udce9 \\udcff\n.jpg" and base64.b64decode(first["file_b64"]) == raw
    assert os.fsencode(name_of(first, "destination")) == b"blocked/" + raw
    assert sha(out / "blocked" / name) == want == first["sha256"]
    report = json.loads((out / "reports" / "blocked" / f"{name}.json").read_bytes())
    assert os.fsencode(name_of(report["watch"], "source_name")) == raw
    assert sha(out / "allowed" / "after.png") == after
    assert_no_leftovers(out)
