"""Checking many photos: in this process, or in worker processes that each load
the models once. Results always come back in input order, so output does not
depend on which worker finished first.

The neural networks run in ONNX Runtime and OpenCV, which have their own thread
pools; dlib's landmark step holds the GIL. So parallelism across photos is per
process, and each worker gets its share of the cores for both (1 thread when
there are as many workers as cores), so N workers never oversubscribe the machine.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator

from .config import Settings
from .errors import ImagegateError, ModelError, internal_error
from .loader import load_image, sha256_file
from .onnxnet import set_threads
from .paths import Target
from .register import locate_register
from .verdict import Failure, Verdict



@dataclass(frozen=True)
class Job:
    """What to do with each photo of a batch."""

    channel: str
    on: dt.date | None = None
    event: str | None = None
    annotate: Path | None = None
    #: also make a review-sheet thumbnail (made where the pixels are, so they never travel)
    thumbnail: bool = False


@dataclass(frozen=True)
class Checked:
    result: Verdict | Failure
    thumbnail: bytes | None = None
    #: the preview written for it (--annotate), to be named on the output
    preview: Path | None = None


def check_target(gate, target: Target, job: Job) -> Checked:
    """One photo through the gate; every failure becomes a Failure (fail closed)."""
    if target.error:
        return Checked(Failure(target.path, target.error))
    try:
        img = load_image(target.path, gate.settings.limits)
        verdict = gate.check(img, channel=job.channel, on=job.on, event=job.event)
        preview = None
        if job.annotate is not None:
            from .annotate import write_preview

            preview = write_preview(img.rgb, verdict, job.annotate, icc_profile=img.icc_profile)
        thumb = None
        if job.thumbnail:
            from .report_html import thumbnail

            thumb = thumbnail(img.rgb, verdict)
        return Checked(verdict, thumb, preview)
    except ImagegateError as exc:
        return Checked(Failure(target.path, exc))
    except Exception as exc:  # noqa: BLE001 - a crash on one photo must not pass it
        return Checked(Failure(target.path, internal_error(exc)))


def _digest(target: Target, job: Job, limit: int) -> str | None:
    """The key under which an identical file's result is reused, or None when it must be checked
    on its own: an unreadable file, a FIFO or device, a file above `limit` bytes (the check will say
    why, within its time limit: this read is outside it), or a preview to write per file."""
    if target.error or job.annotate:
        return None
    try:
        if os.stat(target.path).st_size > limit:
            return None
        return sha256_file(target.path)
    except OSError:
        return None


def worker_threads(jobs: int) -> int:
    """Threads (OpenCV, ONNX Runtime) for each of `jobs` worker processes: their share of the cores."""
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


#: a worker still checking one photo after this long is stuck (a 12-MP photo takes ~1 s)
PHOTO_TIMEOUT_SECONDS = 300.0
#: how long freshly started workers may take to load the models (~2.5 s here) before photo time
#: limits start to run: a fresh pool's start is not the photo's time
WORKER_START_SECONDS = 60.0

#: below this many photos, starting workers (each loads the models, ~2 s) costs more than it saves
POOL_MIN_PHOTOS = 4


class Batch:
    """Checks lists of targets with `jobs` processes (1 = in this process, using `gate`)."""

    def __init__(self, *, settings: Settings, register: str | os.PathLike | None, lang: str,
                 jobs: int = 1, gate=None, photo_timeout: float = PHOTO_TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.register = locate_register(register)  # chosen here once; the workers are given the choice
        self.lang = lang
        self.jobs = max(1, int(jobs))
        # Only worker processes can be stopped: a photo checked in this process has no limit.
        self.photo_timeout = float(photo_timeout)
        self._gate = gate
        self._pool: ProcessPoolExecutor | None = None
        self._ready: dict[ProcessPoolExecutor, Future] = {}  # a pool -> a no-op that ends once a worker has started

    def run(self, targets: Iterable[Target], job: Job) -> Iterator[Checked]:
        """Results in input order. Identical files (same bytes) are checked once per run."""
        targets = list(targets)
        if self.jobs == 1 or len(targets) < POOL_MIN_PHOTOS:
            yield from self._run_here(targets, job)
        else:
            yield from self._run_pool(targets, job)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._ready.clear()
        if self._gate is not None and self._owns_gate:
            self._gate.close()
            self._gate = None

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- in this process ---------------------------------------------------------------

    _owns_gate = False

    def _here(self):
        if self._gate is None:
            from .gate import Gate

            self._gate = Gate(register=self.register, settings=self.settings, lang=self.lang)
            self._owns_gate = True
        return self._gate

    def _run_here(self, targets: list[Target], job: Job) -> Iterator[Checked]:
        done: dict[str, Checked] = {}
        for t in targets:
            digest = _digest(t, job, self.settings.limits.max_file_bytes)
            if digest in done:
                yield _for_file(done[digest], t.path)
                continue
            result = check_target(self._here(), t, job)
            if digest is not None:
                done[digest] = result
            yield result

    # -- worker processes ----------------------------------------------------------------

    def _run_pool(self, targets: list[Target], job: Job) -> Iterator[Checked]:
        pool = self._get_pool()
        done: dict[str, Checked] = {}
        # (photo, digest, its future or None for a copy, the pool it went to)
        pending: deque[tuple[Target, str | None, Future | None, ProcessPoolExecutor]] = deque()
        window = 2 * self.jobs  # bounded: at most this many photos in flight
        it = iter(targets)
        first_of: dict[str, Future] = {}

        def submit(t: Target) -> None:
            digest = _digest(t, job, self.settings.limits.max_file_bytes)
            if digest is not None and digest in first_of:
                pending.append((t, digest, None, pool))  # a copy: reuse the first one's result
                return
            fut = submit_to(pool, _worker_check, t, job)
            if digest is not None:
                first_of[digest] = fut
            pending.append((t, digest, fut, pool))

        for t in it:
            submit(t)
            if len(pending) >= window:
                break
        while pending:
            t, digest, fut, its_pool = pending.popleft()
            if fut is None:
                result = _for_file(done[digest], t.path)
            else:
                try:
                    # Photos are taken in order and at most `window` are in flight, so by now this
                    # one is being checked: the wait is its own time.
                    result = self._result(fut, its_pool)
                except Exception as exc:  # noqa: BLE001 - the pool broke or hung: which photo did is unknown
                    # Every photo in flight fails with the pool, innocent or not. Each gets one
                    # more try in a fresh pool; a photo that brings a worker down (or keeps it
                    # busy past the limit) twice is the culprit and fails (never passes).
                    if its_pool is self._pool:
                        self._reset_pool(kill=isinstance(exc, TimeoutError))
                    result = self._retry(t, job)
                    pool = self._get_pool()
                if digest is not None:
                    done[digest] = result
            yield result
            for nxt in it:
                submit(nxt)
                break

    def _retry(self, t: Target, job: Job) -> Checked:
        try:
            pool = self._get_pool()
            return self._result(submit_to(pool, _worker_check, t, job), pool)
        except Exception as exc:  # noqa: BLE001 - a dead or stuck worker fails its photo, never passes it
            hung = isinstance(exc, TimeoutError)
            self._reset_pool(kill=hung)
            error = (ModelError.coded("worker_timeout", seconds=self.photo_timeout) if hung
                     else ModelError.coded("worker_stopped", detail=type(exc).__name__))
            return Checked(Failure(t.path, error))

    def _result(self, fut: Future, pool: ProcessPoolExecutor) -> Checked:
        """The photo's result, allowing it `photo_timeout` once the pool's workers have started."""
        started = self._ready.get(pool)
        if started is not None:
            started.result(timeout=WORKER_START_SECONDS)  # fails as the photo would if the pool cannot start
        return fut.result(timeout=self.photo_timeout)

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn, not fork: the parent may hold mediapipe/OpenCV threads that fork would copy half-alive
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=(self.settings, self.register, self.lang, worker_threads(self.jobs)))
            self._ready[self._pool] = submit_to(self._pool, os.getpid)
        return self._pool

    def _reset_pool(self, *, kill: bool = False) -> None:
        """Drop the pool; with `kill`, its workers are killed first (`kill_workers`)."""
        if self._pool is not None:
            if kill:
                kill_workers(self._pool)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._ready.pop(self._pool, None)
            self._pool = None


def submit_to(pool: ProcessPoolExecutor, fn, *args) -> Future:
    """`pool.submit`, except that a pool which broke since its last result was taken gives a
    future that fails with BrokenProcessPool instead of raising here: the photo then takes the
    same path as the photos that were in flight when the worker died (a fresh pool, one retry)."""
    try:
        return pool.submit(fn, *args)
    except BrokenProcessPool as exc:
        failed: Future = Future()
        failed.set_exception(exc)
        return failed


def pool_processes(pool: ProcessPoolExecutor) -> list:
    """The pool's worker processes (ProcessPoolExecutor has no public way to reach them)."""
    return list((getattr(pool, "_processes", None) or {}).values())


def kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's workers: a hung native call cannot be interrupted any other way, and the
    pool's shutdown would wait for it."""
    for proc in pool_processes(pool):
        proc.kill()


def _for_file(checked: Checked, path: str) -> Checked:
    """The result of an identical file, reported under this file's name."""
    return replace(checked, result=replace(checked.result, file=path))


_GATE = None


def _worker_init(settings: Settings, register, lang: str, threads: int) -> None:
    global _GATE
    set_threads(threads)
    from .gate import Gate

    _GATE = Gate(register=register, settings=settings, lang=lang)


def _worker_check(target: Target, job: Job) -> Checked:
    return check_target(_GATE, target, job)
