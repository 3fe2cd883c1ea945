"""The watched upload folder: notice photos in an inbox, wait until they are whole, sort them.

Filesystem events only *enqueue candidate paths*; a periodic rescan of the inbox
is the safety net for lost events (network shares, overflowing inotify queues),
so correctness never depends on an event arriving. A candidate is read only once
its size and mtime have stayed the same for `settle_seconds`; names that
browsers, office programs and copy tools use while writing (`.part`,
`.crdownload`, `.tmp`, `~$x`, `x~`, dotfiles) are left alone until renamed.

Checks run in a pool of worker processes with a bounded number in flight; the
main thread alone writes the journal, moves files and appends to the audit log
(`journal.py` makes that crash-safe). Memory is bounded: the queue holds paths,
never pixels, and at most `2 x jobs` photos are being decoded at any time.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import logging
import os
import queue
import re
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..codes import Decision
from ..config import Settings, settings_sources, to_toml
from ..errors import JournalError, WatchError
from ..filenames import for_terminal, stored_name
from ..policy.rules import normalise_event
from ..register.audit import people_named
from ..register.location import locate_register
from ..results import Failure
from ..words import messages
from ..words.report import worded
from .journal import FOLDERS, Intent, Journal, Outcome, sha256_file
from .one import stopped
from .watch_worker import CheckPool, FileResult, check_file, failed_file
from .workers import PHOTO_TIMEOUT_SECONDS, Done, Task, WorkerPool

if TYPE_CHECKING:
    from watchdog.events import FileSystemEventHandler

log = logging.getLogger(__name__)

TEMP_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp")
#: errors that say the output folder as a whole takes no more files (full, over quota, read-only, failing),
#: not that one photo cannot be sorted: they stop the watcher, and the next start finishes or undoes what
#: its journal holds
OUTPUT_FAILED = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


@dataclass(frozen=True)
class WatchSettings:
    #: a file is read once its size and mtime stayed unchanged this long (seconds)
    settle_seconds: float = 1.0
    #: full rescan of the inbox, in case a filesystem event was lost (seconds)
    rescan_seconds: float = 5.0
    #: worker processes (default: one per core)
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    #: use watchdog's polling observer (network shares, where native events do not arrive)
    polling: bool = False
    #: on stop, wait at most this long for photos already being checked (the rest stay in the inbox)
    finish_seconds: float = 30.0
    #: also write a publishable copy of each needs-consent photo, faces without consent hidden, to OUT/redacted/
    redact: bool = False
    #: a photo still being checked after this long is treated like one whose worker died: the workers
    #: are killed and restarted, and it is retried alone (seconds; a 12 MP photo takes ~2)
    photo_timeout_seconds: float = PHOTO_TIMEOUT_SECONDS

    def validate(self) -> WatchSettings:
        if not 0 < self.settle_seconds <= 600:
            raise WatchError(f"settle time must be between 0 and 600 seconds, got {self.settle_seconds}")
        if not 0 < self.rescan_seconds <= 3600:
            raise WatchError(f"rescan interval must be between 0 and 3600 seconds, got {self.rescan_seconds}")
        if self.jobs < 1:
            raise WatchError(f"--jobs must be at least 1, got {self.jobs}")
        if not 1 <= self.photo_timeout_seconds <= 86400:
            raise WatchError(f"the photo timeout must be between 1 and 86400 seconds, got {self.photo_timeout_seconds}")
        return self


@dataclass(frozen=True)
class WatchInfo:
    """What the watcher is doing, for the startup line."""

    inbox: str
    out: str
    channel: str
    event: str
    register: str
    register_source: str  # option | environment | default (see register.locate_register)
    config: str | None
    jobs: int
    observer: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def is_candidate_name(name: str) -> bool:
    """False for names used while a file is still being written or that are not user files."""
    lower = name.lower()
    return not (name.startswith(".") or name.startswith("~$") or name.endswith("~")
                or lower.endswith(TEMP_SUFFIXES))


def plain_name(name: str, sha256: str) -> str:
    """A name any file system takes, for a photo whose own name the output folder refused:
    `unsortable-` and its sha256's start, with its extension if that is plain (`.jpg`)."""
    ext = os.path.splitext(name)[1]
    digest = sha256 or hashlib.sha256(os.fsencode(name)).hexdigest()
    return f"unsortable-{digest[:16]}{ext if re.fullmatch(r'[.][A-Za-z0-9]{1,10}', ext) else ''}"


def check_folders(inbox: Path, out: Path) -> tuple[Path, Path]:
    if not inbox.exists():
        raise WatchError(f"inbox {inbox} does not exist", hint="create it or give the right path")
    if not inbox.is_dir():
        raise WatchError(f"inbox {inbox} should be a folder, found a file")
    if out.exists() and not out.is_dir():
        raise WatchError(f"--out {out} should be a folder, found a file")
    real_in, real_out = inbox.resolve(), out.resolve()
    if real_in == real_out or real_in.is_relative_to(real_out) or real_out.is_relative_to(real_in):
        raise WatchError(f"inbox {inbox} and output folder {out} must be separate, found one inside the other",
                         hint="sorted photos would be picked up again; choose folders side by side")
    return real_in, real_out


class _Enqueue:
    """watchdog handler: only remembers which paths to look at (cheap, never blocks the observer)."""

    def __init__(self, sink: queue.SimpleQueue) -> None:
        self._sink = sink

    def dispatch(self, event) -> None:
        if event.is_directory:
            return
        for p in (event.src_path, getattr(event, "dest_path", "")):
            if p:
                self._sink.put(os.fsdecode(p))


class Watcher:
    """Sorts photos from `inbox` into `out`. `run()` blocks until `stop()` (signal-safe) is called."""

    def __init__(self, inbox: str | os.PathLike, out: str | os.PathLike, *, channel: str, settings: Settings,
                 register: str | os.PathLike | None = None, lang: str = "en",
                 config: str | os.PathLike | None = None, watch: WatchSettings = WatchSettings(),
                 on_outcome: Callable[[Outcome], None] = lambda o: None, event: str | None = None) -> None:
        self.inbox, self.out = check_folders(Path(inbox), Path(out))
        self.watch = watch.validate()
        self.channel = channel
        #: the event context of the photos dropped into this inbox (default: the `event` setting)
        self.event = normalise_event(settings.event if event is None else event)
        self.settings = settings
        self.register = locate_register(register)  # chosen once, for every worker
        self.lang = lang
        self.config = config
        self.on_outcome = on_outcome
        self.config_sha256 = hashlib.sha256(to_toml(settings).encode("utf-8")).hexdigest()
        self._stop = threading.Event()
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._pending: dict[str, tuple[tuple[int, int], float, float]] = {}  # path -> (stat, since, next check)
        self._ready: deque[str] = deque()
        self._queued: set[str] = set()  # paths ready or being checked, so rescans do not add them twice
        self._journal: Journal | None = None
        self._pool: WorkerPool | None = None
        self._observer: Any = None  # a watchdog observer, once started
        self.observer_kind = ""
        self.counts: dict[str, int] = {k: 0 for k in FOLDERS}

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> WatchInfo:
        """Take the output folder (one watcher per folder), start workers and the observer.

        `run()` then first finishes what a previous run left half done.
        """
        self.out.mkdir(parents=True, exist_ok=True)
        self._journal = Journal(self.out)
        workers = CheckPool(self.watch.jobs, settings=self.settings, register=self.register,
                            channel=self.channel, staging=self._journal.staging, redact=self.watch.redact,
                            event=self.event, preview_lang=self.lang)
        self._pool = WorkerPool(workers, check_file, photo_timeout=self.watch.photo_timeout_seconds,
                                on_hang=_log_hang)
        self._start_observer()
        return WatchInfo(inbox=str(self.inbox), out=str(self.out), channel=self.channel, event=self.event,
                         register=str(self.register.path), register_source=self.register.source,
                         config=", ".join(settings_sources(self.config)) or None, jobs=self.watch.jobs,
                         observer=self.observer_kind)

    def _start_observer(self) -> None:
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        handler = cast("FileSystemEventHandler", _Enqueue(self._events))
        if not self.watch.polling:
            try:
                obs = Observer()
                obs.schedule(handler, str(self.inbox), recursive=False)
                obs.start()
                self._observer, self.observer_kind = obs, type(obs).__name__
                return
            except Exception as exc:  # noqa: BLE001 - e.g. inotify watch limit reached: poll instead
                log.warning("native file events unavailable (%s); falling back to polling", exc)
        obs = PollingObserver(timeout=1.0)
        obs.schedule(handler, str(self.inbox), recursive=False)
        obs.start()
        self._observer, self.observer_kind = obs, type(obs).__name__

    def stop(self) -> None:
        """Ask `run()` to return. Safe to call from a signal handler."""
        self._stop.set()

    def run(self) -> None:
        if self._journal is None:
            self.start()
        assert self._journal is not None
        next_rescan = 0.0
        failed = True
        try:
            for outcome in self._journal.recover():
                self._emit(outcome)
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_rescan:
                    self._rescan(now)
                    next_rescan = now + self.watch.rescan_seconds
                self._drain_events(now)
                self._settle(now)
                self._submit()
                self._collect(timeout=0.2)
            failed = False
        finally:
            self._shutdown(finish=not failed)

    def _shutdown(self, *, finish: bool) -> None:
        if self._observer is not None:
            self._observer.stop()
        pool = self._pool
        if pool is not None:
            if not finish:
                # sorting itself failed (e.g. the disk is full): touch nothing more; the journal and
                # the next start take it from here
                pool.forget()
            # Photos being checked are finished if they are quick; the rest stay in the inbox, where
            # the next run finds them (nothing has been moved or journaled for them yet).
            deadline = time.monotonic() + self.watch.finish_seconds
            pool.cancel_waiting()
            while pool.busy and time.monotonic() < deadline:
                self._collect(timeout=0.2, retry=False)
            pool.close(wait=not pool.busy)
        if self._observer is not None:
            self._observer.join(timeout=5)
        if self._journal is not None:
            if finish and not (pool is not None and pool.busy):
                self._journal.clean()  # previews staged by abandoned or superseded checks
            self._journal.close()

    # -- finding candidates ----------------------------------------------------------------

    def _consider(self, path: str, now: float) -> None:
        if path in self._pending or path in self._queued:
            return
        p = Path(path)
        if p.parent != self.inbox or not is_candidate_name(p.name):
            return
        self._pending[path] = ((-1, -1), now, now)

    def _rescan(self, now: float) -> None:
        try:
            names = sorted(os.listdir(self.inbox))
        except OSError as exc:
            log.warning("inbox %s could not be listed: %s", for_terminal(str(self.inbox)), exc)
            return
        for name in names:
            self._consider(os.path.join(self.inbox, name), now)

    def _drain_events(self, now: float) -> None:
        while True:
            try:
                path = self._events.get_nowait()
            except queue.Empty:
                return
            self._consider(path, now)

    def _settle(self, now: float) -> None:
        settle = self.watch.settle_seconds
        for path, (sig, since, next_check) in list(self._pending.items()):
            if now < next_check:
                continue
            try:
                st = os.lstat(path)  # a symbolic link is judged (and rejected) as itself
            except OSError:
                del self._pending[path]  # gone (renamed or deleted): its new name arrives as its own event
                continue
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                del self._pending[path]
                continue
            new = (st.st_size, st.st_mtime_ns)
            if new == sig and now - since >= settle:
                del self._pending[path]
                self._ready.append(path)
                self._queued.add(path)
            elif new == sig:
                self._pending[path] = (sig, since, since + settle)
            else:
                self._pending[path] = (new, now, now + settle)

    # -- checking and sorting ----------------------------------------------------------------

    def _submit(self) -> None:
        pool = self._started_pool()
        while self._ready and pool.has_room() and not self._stop.is_set():
            path = self._ready.popleft()
            pool.submit(path, path)

    def _collect(self, timeout: float, retry: bool = True) -> None:
        pool = self._started_pool()
        if not pool.busy:
            if timeout:
                self._stop.wait(timeout)
            return
        for done in pool.collect(timeout, retry=retry):
            self._sort(str(done.task.key), self._result(done), deaths=done.task.deaths)

    def _started_pool(self) -> WorkerPool:
        if self._pool is None:
            raise WatchError("the watcher was not started", hint="call start() or run() first")
        return self._pool

    def _result(self, done: Done) -> FileResult:
        """The worker's result, or a rejection: a photo that stopped its worker twice or could not be
        checked at all is never passed."""
        if done.error is None:
            return done.result
        path = str(done.task.key)
        return failed_file(path, stopped(path, done.error, self.watch.photo_timeout_seconds).error)

    def _sort(self, path: str, result: FileResult, *, deaths: int = 0) -> None:
        self._queued.discard(path)
        staged = result.preview
        if result.vanished:
            return
        if result.busy:
            # still open for writing (a stalled download): looked at again once it has settled anew
            self._consider(path, time.monotonic())
            return
        if not self._still_what_was_checked(path, result):
            # written to again (or removed) while being checked: what was checked is not what is there
            for leftover in (staged, result.redacted, result.staged_photo):
                if leftover:
                    Path(leftover).unlink(missing_ok=True)
            self._consider(path, time.monotonic())
            return
        journal = self._journal
        assert journal is not None  # started
        try:
            intent = self._plan(path, result, deaths)
        except OSError as exc:
            if exc.errno in OUTPUT_FAILED:
                raise
            self._reject_unsortable(path, result, exc, deaths)
            return
        journal.record(intent)
        try:
            outcome = journal.complete(intent)
        except OSError as exc:
            if exc.errno in OUTPUT_FAILED or not journal.abandon(intent):
                raise  # the next start finishes or undoes it from the journal
            self._reject_unsortable(path, result, exc, deaths, folder=intent.folder)
            return
        self._emit(outcome)

    def _plan(self, path: str, result: FileResult, deaths: int, name: str | None = None) -> Intent:
        journal = self._journal
        assert journal is not None  # started
        report = worded(result.report, self.lang)
        reason = messages.error_reason(result.error, self.lang)[0] if result.error is not None else None
        return journal.plan(source=path, sha256=result.sha256, decision=result.decision,
                            report={**report, "watch": self._watch_block(path, deaths)},
                            audit_entry=self._audit_entry(path, result, report), staged_preview=result.preview,
                            staged_redacted=result.redacted, staged_photo=result.staged_photo,
                            source_stat=[result.size, result.mtime_ns, *result.file_id], reason=reason, name=name)

    def _reject_unsortable(self, path: str, result: FileResult, exc: OSError, deaths: int, *,
                           folder: str | None = None) -> None:
        """A photo that cannot be sorted as it is (a name the output folder refuses, ...) is rejected, under a
        plain name made of its sha256: it must not stop the watcher, nor, left in the inbox, stop every
        start after it. Its report and audit entry keep its own name. If even that fails, the output folder
        itself is the trouble and the error stops the watcher as before (the inbox file is still there)."""
        folder = folder or FOLDERS[Decision(result.decision)]
        log.warning("%s: could not be sorted into %s/ (%s); rejecting it", for_terminal(os.path.basename(path)),
                    folder, exc.strerror or exc)
        for leftover in (result.preview, result.redacted):
            if leftover:
                Path(leftover).unlink(missing_ok=True)
        error = JournalError.coded("unsortable", folder=folder, detail=exc.strerror or str(exc))
        rejected = replace(result, decision=Decision.ERROR, error=error, preview=None, redacted=None,
                           report=Failure(path, error, sha256=result.sha256).to_dict())
        journal = self._journal
        assert journal is not None  # started
        intent = self._plan(path, rejected, deaths, name=plain_name(os.path.basename(path), result.sha256))
        journal.record(intent)
        self._emit(journal.complete(intent))

    @staticmethod
    def _still_what_was_checked(path: str, result: FileResult) -> bool:
        """Whether the file at `path` is the one the verdict is about. Size and time alone miss a
        different photo of the same size copied over it with its time kept (`cp -p`, rsync -t,
        FAT's 2-second clock); the content is read again (milliseconds for a phone photo)."""
        try:
            st = os.lstat(path)
            if (st.st_size, st.st_mtime_ns, (st.st_dev, st.st_ino)) != (result.size, result.mtime_ns, result.file_id):
                return False
            if stat.S_ISLNK(st.st_mode):
                return True  # refused as a link whatever it points to; its target is not read
            return sha256_file(Path(path)) == result.sha256
        except OSError:
            return False

    def _watch_block(self, path: str, deaths: int) -> dict:
        return {**stored_name(os.path.basename(path), "source_name"), "inbox": str(self.inbox),
                "channel": self.channel, "event": self.event,
                "config_sha256": self.config_sha256, "worker_deaths": deaths,
                "sorted_at": _utc_now()}

    def _audit_entry(self, path: str, result: FileResult, report: dict) -> dict:
        entry = {"time": _utc_now(), **stored_name(os.path.basename(path)), "sha256": result.sha256,
                 "decision": result.decision,
                 "reasons": [{"code": r.get("code"), "rule": r.get("rule"), "message": r.get("message"),
                              "people": people_named(r)} for r in report.get("reasons", [])],
                 "channel": self.channel, "event": self.event, "config_sha256": self.config_sha256,
                 "versions": report.get("versions") or result.versions or {}}
        if "error" in report:
            entry["error"] = {"kind": report["error"].get("kind"), "message": report["error"].get("message")}
        return entry

    def _emit(self, outcome: Outcome) -> None:
        if outcome.action == "sorted":
            self.counts[outcome.decision] += 1
        try:
            self.on_outcome(outcome)
        except Exception:  # noqa: BLE001 - a display problem must not stop sorting
            log.exception("outcome callback failed")


def _log_hang(task: Task, seconds: float) -> None:
    log.warning("%s: still being checked after %.0f s; restarting the workers", for_terminal(str(task.key)), seconds)


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
