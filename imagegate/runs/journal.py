"""The sorting journal: makes "move this photo into its folder" survive SIGKILL and power loss.

Before a photo leaves the inbox, an *intent* (`OUT/.imagegate-journal/<id>.intent.json`:
source path, sha256, decision, final names, the report and the audit entry) is
written and fsynced. Then, in this order, each step fsynced before the next:

1. the JSON report and the preview are renamed into the destination folder
   (written under temporary names first, so a reader never sees half a file);
2. the worker's staged copy of exactly the checked bytes is renamed into the destination
   folder and verified, then the inbox file is removed (if it is still the file that was
   checked); a file that could not be read is itself renamed there instead;
3. the audit line is appended (carrying the intent id);
4. the intent is deleted.

On start, `recover` replays every intent left behind. Every step can be redone:
the names were reserved by the intent, the photo is moved only if it is still
in the inbox (and still has the checked content), and the audit line is written
only if no line carries the intent's id yet. So whatever instant the process
died at, each photo ends up exactly once in exactly one place with exactly one
audit line. An intent whose photo changed or vanished meanwhile is rolled back
(its report and preview removed; a changed photo is simply checked again).

Test hook (used by tests/runs/test_watch.py, harmless in production because it is
unset there): `IMAGEGATE_WATCH_CRASH_AT=STEP[:N]` makes the process `os._exit(137)`
right after STEP (`after_intent`, `after_report`, `after_move`, `after_audit`)
the N-th time it is reached (default the first), imitating a SIGKILL there.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import stat
import uuid
from dataclasses import MISSING, asdict, dataclass, field, replace
from pathlib import Path

from ..codes import Decision
from ..errors import JournalError, SourceChanged
from ..filenames import NUMBER_ROOM, fit_name, for_terminal, stored_name
from ..image.loader import sha256_file
from ..register import audit

log = logging.getLogger(__name__)

FOLDERS = {Decision.ALLOWED: "allowed", Decision.NEEDS_CONSENT: "needs_consent", Decision.BLOCKED: "blocked",
           Decision.ERROR: "rejected"}
JOURNAL_DIR = ".imagegate-journal"
STAGING_DIR = "staging"
TMP_SUFFIX = ".imagegate-tmp"
INTENT_SUFFIX = ".intent.json"
AUDIT_NAME = "audit.jsonl"
REDACTED_DIR = "redacted"
#: reports and previews go to OUT/reports/<verdict folder>/: the verdict folders hold photos only, as
#: posting tools are pointed at allowed/
REPORTS_DIR = "reports"
CRASH_ENV = "IMAGEGATE_WATCH_CRASH_AT"

_crash_counts: dict[str, int] = {}


def _crash_point(step: str) -> None:
    spec = os.environ.get(CRASH_ENV)
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != step:
        return
    _crash_counts[step] = _crash_counts.get(step, 0) + 1
    if _crash_counts[step] >= int(nth or 1):
        os._exit(137)


def fsync_dir(path: Path) -> None:
    from .. import private

    private.fsync_dir(path)


def dumps(obj) -> bytes:
    """JSON for humans where possible; file names that are not valid Unicode fall back to escapes."""
    try:
        return json.dumps(obj, ensure_ascii=False, indent=2).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, indent=2).encode("ascii")


def write_atomic(path: Path, data: bytes, tag: str) -> None:
    """Write under a temporary name, fsync, rename over `path`: readers see all or nothing. The temporary
    name ends in TMP_SUFFIX, so recovery finds what a crash left."""
    from .. import private

    private.write_replace(path, data, tmp=path.with_name(tmp_name(path.name, tag)))


def tmp_name(name: str, tag: str) -> str:
    """`.NAME.TAG.imagegate-tmp`, the temporary name of a file being written as NAME; shortened to fit like
    any name made from another (recovery finds it by its start and end)."""
    return fit_name(f".{name}.{tag}", TMP_SUFFIX)


def report_name(photo: str) -> str:
    """The JSON report's name for a photo sorted as `photo`."""
    return fit_name(photo, ".json")


def preview_name(photo: str) -> str:
    """The preview's name for a photo sorted as `photo`."""
    return fit_name(photo, ".preview.jpg")


@dataclass(frozen=True)
class Intent:
    """What is about to happen to one photo; enough to finish or undo it after a crash."""

    id: str
    source: str
    sha256: str
    decision: str
    folder: str
    dest_name: str
    report_name: str
    preview_name: str | None
    staged_preview: str | None
    report: dict = field(repr=False)
    audit: dict = field(repr=False)
    #: `watch --redact`: the publishable copy's name in REDACTED_DIR and where it is staged
    redacted_name: str | None = None
    staged_redacted: str | None = None
    #: the staged copy of exactly the bytes that were checked: what is sorted (the inbox file is then
    #: removed); None for a file that could not be read (a link, unreadable, too big): moved as it is
    staged_photo: str | None = None
    #: the inbox file as checked: [size, mtime_ns, dev, ino]; only that file is removed after sorting
    source_stat: list | None = None
    #: why a photo is rejected, in the watcher's language (for the console line)
    reason: str | None = None

    @property
    def reports(self) -> str:
        """Where its report and preview go, relative to OUT."""
        return f"{REPORTS_DIR}/{self.folder}"

    @property
    def destination(self) -> str:
        return f"{self.folder}/{self.dest_name}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Intent:
        fields = cls.__dataclass_fields__
        return cls(**{k: d[k] if f.default is MISSING else d.get(k, f.default) for k, f in fields.items()})


@dataclass(frozen=True)
class Outcome:
    """Where one photo went. `action`: sorted | rolled_back (changed while stopped) | recheck (its sorting
    was cut short by a stop: checked again, as the register may have changed) | lost (gone from the inbox);
    all but sorted leave the photo to be checked again if it is there."""

    id: str
    name: str
    decision: str
    destination: str | None
    preview: str | None
    action: str = "sorted"
    recovered: bool = False
    #: the JSON report and `--redact`'s copy written for it (paths relative to OUT), named on the console
    report: str | None = None
    redacted: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class Journal:
    """Owns OUT: the four folders, the intents and the audit log. One writer at a time (locked)."""

    def __init__(self, out: str | os.PathLike) -> None:
        self.out = Path(out)
        self.dir = self.out / JOURNAL_DIR
        self.staging = self.dir / STAGING_DIR
        self.audit_path = self.out / AUDIT_NAME
        try:
            for sub in (*FOLDERS.values(), *(f"{REPORTS_DIR}/{f}" for f in FOLDERS.values()),
                        f"{JOURNAL_DIR}/{STAGING_DIR}"):
                (self.out / sub).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(f"output folder {self.out} could not be prepared: {exc.strerror or exc}",
                               hint="check that the folder is writable") from None
        self._lock_fd = self._lock()

    def _lock(self) -> int | None:
        fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise JournalError(f"expected to be the only watcher writing to {self.out}, found another one "
                               "running (its journal is locked)",
                               hint="stop the other `imagegate watch` or use another --out") from None
        return fd

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- planning ------------------------------------------------------------------------

    def free_name(self, folder: str, name: str) -> str:
        """`name`, or `stem (2).ext`, `stem (3).ext`...: never a name taken by a photo or its files. Each
        name, and its report's and preview's, fits in a file name (`fit_name`)."""
        stem, ext = os.path.splitext(name)
        where, reports = self.out / folder, self.out / REPORTS_DIR / folder
        n = 1
        while True:
            candidate = fit_name(stem, ext if n == 1 else f" ({n}){ext}")
            if not (where / candidate).exists() and not any(
                    (reports / x).exists() for x in (report_name(candidate), preview_name(candidate))):
                return candidate
            n += 1

    def plan(self, *, source: str, sha256: str, decision: str, report: dict, audit_entry: dict,
             staged_preview: str | None, staged_redacted: str | None = None, staged_photo: str | None = None,
             source_stat: list | None = None, reason: str | None = None, name: str | None = None) -> Intent:
        """What sorting one photo will do. `name`: the photo's name in its folder, if not its own."""
        folder = FOLDERS[Decision(decision)]
        dest = self.free_name(folder, name or os.path.basename(source))
        iid = uuid.uuid4().hex
        preview = preview_name(dest) if staged_preview else None
        destination = f"{folder}/{dest}"
        redacted = None
        if staged_redacted:
            (self.out / REDACTED_DIR).mkdir(exist_ok=True)
            stem = os.path.splitext(os.path.basename(source))[0]
            copy = fit_name(stem, f".redacted{os.path.splitext(staged_redacted)[1]}", room=NUMBER_ROOM)
            redacted = self.free_name(REDACTED_DIR, copy)
        # names are data: one that is not UTF-8 is kept as bytes too (stored_name)
        report = {**report, "watch": {**report.get("watch", {}), "id": iid,
                                      **stored_name(destination, "destination"),
                                      "report": f"{REPORTS_DIR}/{folder}/{report_name(dest)}",
                                      "preview": f"{REPORTS_DIR}/{folder}/{preview}" if preview else None,
                                      "redacted": f"{REDACTED_DIR}/{redacted}" if redacted else None}}
        entry = {**audit_entry, "intent": iid, **stored_name(destination, "destination")}
        if redacted:
            entry.update(stored_name(f"{REDACTED_DIR}/{redacted}", "redacted"))
        return Intent(id=iid, source=str(source), sha256=sha256, decision=decision, folder=folder, dest_name=dest,
                      report_name=report_name(dest), preview_name=preview, staged_preview=staged_preview,
                      report=report, audit=entry, redacted_name=redacted, staged_redacted=staged_redacted,
                      staged_photo=staged_photo, source_stat=source_stat, reason=reason)

    def _intent_path(self, iid: str) -> Path:
        return self.dir / f"{iid}{INTENT_SUFFIX}"

    def record(self, intent: Intent) -> None:
        write_atomic(self._intent_path(intent.id), dumps(intent.to_dict()), "w")
        fsync_dir(self.dir)
        _crash_point("after_intent")

    # -- doing (idempotent: the same code finishes a fresh intent and a recovered one) ------

    def complete(self, intent: Intent, *, audited: frozenset[str] | set[str] = frozenset(),
                 recovered: bool = False) -> Outcome:
        src = Path(intent.source)
        folder = self.out / intent.folder
        dest = folder / intent.dest_name
        if not self._already_moved(intent, src, dest):
            if not src.exists():
                log.warning("%s: vanished from the inbox before it was sorted; nothing to move", for_terminal(src.name))
                return self.roll_back(intent, action="lost", recovered=recovered)
            if recovered and sha256_file(src) != intent.sha256:
                # replaced while we were down: what was checked is not what is there now
                return self.roll_back(intent, action="rolled_back", recovered=recovered)
            if recovered:
                # Not moved yet: the verdict is from before the stop, which may have lasted hours, and
                # the register may have changed since (a consent withdrawn, a client enrolled). The
                # photo stays in the inbox and is checked again, never sorted on the old verdict.
                return self.roll_back(intent, action="recheck", recovered=recovered)
            reports = self.out / intent.reports
            reports.mkdir(parents=True, exist_ok=True)  # an OUT made before reports/ existed
            write_atomic(reports / intent.report_name, dumps(intent.report), intent.id)
            if intent.preview_name and intent.staged_preview:
                staged = Path(intent.staged_preview)
                if staged.exists():
                    os.replace(staged, reports / intent.preview_name)
                elif not (reports / intent.preview_name).exists():
                    log.warning("%s: its preview was lost in a crash; the report and photo are sorted without it",
                                for_terminal(src.name))
            if intent.redacted_name and intent.staged_redacted:
                staged = Path(intent.staged_redacted)
                if staged.exists():
                    os.replace(staged, self.out / REDACTED_DIR / intent.redacted_name)
                    fsync_dir(self.out / REDACTED_DIR)
            fsync_dir(reports)
            _crash_point("after_report")
            try:
                self._move(intent, src, dest)
            except SourceChanged:
                return self.roll_back(intent, action="changed", recovered=recovered)
            _crash_point("after_move")
        if intent.id not in audited:
            audit.append(self.audit_path, intent.audit)
            _crash_point("after_audit")
        self._forget(intent)
        return Outcome(id=intent.id, name=src.name, decision=intent.decision, destination=intent.destination,
                       preview=f"{intent.reports}/{intent.preview_name}" if intent.preview_name else None,
                       recovered=recovered, report=f"{intent.reports}/{intent.report_name}",
                       redacted=f"{REDACTED_DIR}/{intent.redacted_name}" if intent.redacted_name else None,
                       reason=intent.reason)

    def _already_moved(self, intent: Intent, src: Path, dest: Path) -> bool:
        if not dest.exists():
            return False
        if src.exists():
            try:
                cross_device = src.stat().st_dev != dest.stat().st_dev
            except OSError:
                cross_device = False
            # Only a copy (across devices, or the staged copy of what was checked) leaves the same photo
            # in both places, the source not yet removed. On one filesystem a file at the source name
            # is otherwise a new arrival: keep it.
            if intent.staged_photo:
                self._drop_source(intent, src)
            elif cross_device and sha256_file(src) == intent.sha256:
                os.unlink(src)
                fsync_dir(src.parent)
        return True

    def _publish(self, intent: Intent, src: Path, dest: Path) -> None:
        """Sort the staged copy of the checked bytes, verified again once in place; then remove the
        inbox file, if it is still the file that was checked (a writer may hold it open: what it
        writes now goes to that file, never into the sorted photo)."""
        if intent.staged_photo is None:
            raise SourceChanged(f"no checked copy of {src.name} was staged")
        staged = Path(intent.staged_photo)
        try:
            os.rename(staged, dest)  # staging is inside OUT: one filesystem, atomic
        except FileNotFoundError:
            raise SourceChanged(f"{staged} (the checked copy of {src.name}) is gone") from None
        fsync_dir(dest.parent)
        if sha256_file(dest) != intent.sha256:
            dest.unlink()
            fsync_dir(dest.parent)
            raise SourceChanged(f"the sorted copy of {src.name} is not what was checked")
        self._drop_source(intent, src)

    @staticmethod
    def _drop_source(intent: Intent, src: Path) -> None:
        try:
            st = os.lstat(src)
        except FileNotFoundError:
            return
        if intent.source_stat != [st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino]:
            # written to (or replaced) since its check: the checked bytes are sorted; this is new
            log.warning("%s: changed after its check; the checked version is sorted and this one will be "
                        "checked as a new photo", for_terminal(src.name))
            return
        os.unlink(src)
        fsync_dir(src.parent)

    def _move(self, intent: Intent, src: Path, dest: Path) -> None:
        if intent.staged_photo:
            self._publish(intent, src, dest)  # staged 0600
            return
        # A hard-linked photo shares its content with a file outside the inbox: renamed, the sorted
        # photo would change whenever that file is rewritten in place (an "allowed" photo turning into
        # another). It is copied instead, like a move between filesystems, and the link dropped.
        if os.lstat(src).st_nlink > 1:
            copy_across(src, dest, intent.id, sha256=intent.sha256)
        else:
            try:
                os.rename(src, dest)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                copy_across(src, dest, intent.id, sha256=intent.sha256)
        _private(dest)
        fsync_dir(dest.parent)
        fsync_dir(src.parent)

    def abandon(self, intent: Intent) -> bool:
        """Undo a fresh intent whose completion failed before its photo reached its folder (a name the
        output folder refuses): its report, preview and copy are removed and the entry is forgotten; the
        staged photo is kept for the caller. False, and nothing undone, once the photo is in its folder:
        the next start finishes the entry."""
        if os.path.lexists(self.out / intent.folder / intent.dest_name):
            return False
        self.roll_back(replace(intent, staged_photo=None), action="abandoned", recovered=False)
        return True

    def roll_back(self, intent: Intent, *, action: str, recovered: bool) -> Outcome:
        folder = self.out / intent.reports
        for name in (intent.report_name, intent.preview_name):
            if name:
                _remove(folder / name)
        if intent.redacted_name:
            _remove(self.out / REDACTED_DIR / intent.redacted_name)
        for staged in (intent.staged_preview, intent.staged_redacted, intent.staged_photo):
            if staged:
                _remove(Path(staged))
        fsync_dir(folder)
        self._forget(intent)
        return Outcome(id=intent.id, name=os.path.basename(intent.source), decision=intent.decision,
                       destination=None, preview=None, action=action, recovered=recovered)

    def _forget(self, intent: Intent) -> None:
        self._intent_path(intent.id).unlink(missing_ok=True)
        fsync_dir(self.dir)

    # -- after a crash ---------------------------------------------------------------------

    def pending(self) -> list[Intent]:
        out = []
        for p in sorted(self.dir.glob(f"*{INTENT_SUFFIX}")):
            try:
                out.append(Intent.from_dict(json.loads(p.read_bytes())))
            except (ValueError, KeyError, TypeError) as exc:
                # write_atomic renames only complete files, so this is damage from outside
                raise JournalError(f"journal entry {p} should be a complete intent, found unreadable content "
                                   f"({exc})", hint="move it aside by hand after checking the inbox") from None
        return out

    def recover(self) -> list[Outcome]:
        """Finish or roll back whatever a previous run left half done; then clear temporary files."""
        audit.repair(self.audit_path)
        intents = self.pending()
        outcomes = []
        if intents:
            audited = {str(e["intent"]) for e in audit.read(self.audit_path) if e.get("intent")}
            outcomes = [self.complete(i, audited=audited, recovered=True) for i in intents]
        self.clean()
        return outcomes

    def clean(self) -> None:
        """Remove temporary files and previews staged for photos that never got an intent."""
        for folder in (*FOLDERS.values(), *(f"{REPORTS_DIR}/{f}" for f in FOLDERS.values()), JOURNAL_DIR,
                       REDACTED_DIR):
            for p in (self.out / folder).glob(f".*{TMP_SUFFIX}"):
                p.unlink(missing_ok=True)
        for p in self.staging.iterdir():
            p.unlink(missing_ok=True)


#: errors that say a name cannot be made in a folder (too long for its file system, bytes or characters it
#: refuses): nothing of that name was ever written there
NAME_REFUSED = frozenset({errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL})


def _remove(path: Path) -> None:
    """Remove a file that may not be there: never written, or under a name its folder refuses."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno not in NAME_REFUSED:
            raise


def _private(path: Path) -> None:
    """A sorted file keeps at most its owner's read and write bits, like the staged copies (0600): a photo
    may show clients. A link is left as it is (its mode is not its own), as is a file of another user."""
    try:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) & ~0o600:
            os.chmod(path, stat.S_IMODE(st.st_mode) & 0o600)
    except OSError as exc:
        log.warning("%s: its mode could not be narrowed to the owner's (%s)", for_terminal(path.name),
                    exc.strerror or exc)


def copy_across(src: Path, dest: Path, tag: str, *, sha256: str | None = None) -> None:
    """A move by copying (between filesystems, or of a hard link): copy to a temporary name, fsync,
    check the copy is what was checked (`sha256`), rename, then drop the source."""
    # not private.write_replace: the photo is copied as a file (its times kept, never read whole into memory)
    # and renamed only after its sha256 is checked; the move's caller narrows its mode (_private)
    tmp = dest.with_name(tmp_name(dest.name, tag))
    shutil.copy2(src, tmp)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    if sha256 is not None and sha256_file(tmp) != sha256:
        tmp.unlink()
        raise SourceChanged(f"{src} changed after it was checked")
    os.rename(tmp, dest)
    fsync_dir(dest.parent)
    os.unlink(src)
