"""Checking many photos: in this process, or in worker processes that each load
the models once. Results always come back in input order, so output does not
depend on which worker finished first.

The neural networks run in ONNX Runtime and OpenCV, which have their own thread
pools; dlib's landmark step holds the GIL. So parallelism across photos is per
process (`workers.py` starts them and gives each its share of the cores).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

from ..config import Settings
from ..image.loader import sha256_file
from ..image.paths import Target
from ..register.location import locate_register
from ..results import Failure, Verdict
from .one import check_one, stopped
from .workers import (
    PHOTO_TIMEOUT_SECONDS,
    WORKER_START_SECONDS,  # noqa: F401 - its old home; callers may import it from here
    Done,
    WorkerPool,
    Workers,
)


@dataclass(frozen=True)
class Job:
    """What to do with each photo of a batch."""

    channel: str
    on: dt.date | None = None
    event: str | None = None
    annotate: Path | None = None
    #: also make a review-sheet thumbnail (made where the pixels are, so they never travel)
    thumbnail: bool = False
    #: the language of the words drawn on previews and thumbnails (the verdicts themselves are codes)
    lang: str = "en"


@dataclass(frozen=True)
class Checked:
    result: Verdict | Failure
    thumbnail: bytes | None = None
    #: the preview written for it (--annotate), to be named on the output
    preview: Path | None = None


def check_target(gate, target: Target, job: Job) -> Checked:
    """One photo of a batch through the one fail-closed path, with its preview and thumbnail."""
    if target.error:
        return Checked(Failure(target.path, target.error))

    def outputs(img, verdict: Verdict) -> tuple[Path | None, bytes | None]:
        preview = thumb = None
        if job.annotate is not None:
            from ..outputs.annotate import write_preview

            preview = write_preview(img.rgb, verdict, job.annotate, lang=job.lang, icc_profile=img.icc_profile)
        if job.thumbnail:
            from ..outputs.sheet import thumbnail

            thumb = thumbnail(img.rgb, verdict, job.lang)
        return preview, thumb

    done = check_one(gate, target.path, source=target.path, channel=job.channel, on=job.on, event=job.event,
                     then=outputs)
    preview, thumb = done.made or (None, None)
    return Checked(done.result, thumb, preview)


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


#: below this many photos, starting workers (each loads the models, ~2 s) costs more than it saves
POOL_MIN_PHOTOS = 4


class Batch:
    """Checks lists of targets with `jobs` processes (1 = in this process, using `gate`)."""

    def __init__(self, *, settings: Settings, register: str | os.PathLike | None,
                 jobs: int = 1, gate=None, photo_timeout: float = PHOTO_TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.register = locate_register(register)  # chosen here once; the workers are given the choice
        self.jobs = max(1, int(jobs))
        # Only worker processes can be stopped: a photo checked in this process has no limit.
        self.photo_timeout = float(photo_timeout)
        self._gate = gate
        self._pool: WorkerPool | None = None

    def run(self, targets: Iterable[Target], job: Job) -> Iterator[Checked]:
        """Results in input order. Identical files (same bytes) are checked once per run."""
        targets = list(targets)
        if self.jobs == 1 or len(targets) < POOL_MIN_PHOTOS:
            yield from self._run_here(targets, job)
        else:
            yield from self._run_pool(targets, job)

    def close(self) -> None:
        """Stop the workers (after the photos they are on) and close a gate made here."""
        if self._pool is not None:
            self._pool.close(wait=True)
            self._pool = None
        if self._gate is not None and self._owns_gate:
            self._gate.close()
            self._gate = None

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- in this process ---------------------------------------------------------------

    _owns_gate = False

    def _here(self):
        if self._gate is None:
            from ..gate import Gate

            self._gate = Gate(register=self.register, settings=self.settings)
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
        limit = self.settings.limits.max_file_bytes
        window = 2 * self.jobs  # bounded: at most this many photos between handed out and yielded
        digests: list[str | None] = []
        first: dict[str, int] = {}  # digest -> index of the first file with those bytes
        results: dict[int, Checked] = {}  # by index, as they finish (in any order)
        kept: dict[str, Checked] = {}  # a first file's result, for its copies later in the run
        sent = 0
        try:
            for i, t in enumerate(targets):
                while sent < len(targets) and sent - i < window and pool.has_room():
                    digest = _digest(targets[sent], job, limit)
                    digests.append(digest)
                    if digest is None or first.setdefault(digest, sent) == sent:
                        pool.submit(sent, targets[sent], job)
                    sent += 1
                digest = digests[i]
                if digest is not None and first[digest] != i:
                    yield _for_file(kept[digest], t.path)  # a copy: the first one's result
                    continue
                while i not in results:
                    for done in pool.collect(timeout=1.0):
                        results[cast(int, done.task.key)] = self._checked(done)
                result = results.pop(i)
                if digest is not None:
                    kept[digest] = result
                yield result
        finally:
            pool.forget()  # a run left early: its photos must not turn up in the next run's results

    def _checked(self, done: Done) -> Checked:
        """A photo's result from the pool; a worker that stopped on it twice fails it (never passes it)."""
        if done.error is None:
            return done.result
        return Checked(stopped(done.task.args[0].path, done.error, self.photo_timeout))

    def _get_pool(self) -> WorkerPool:
        if self._pool is None:
            workers = Workers(self.jobs, _worker_init, (self.settings, self.register))
            self._pool = WorkerPool(workers, _worker_check, photo_timeout=self.photo_timeout)
        return self._pool


def _for_file(checked: Checked, path: str) -> Checked:
    """The result of an identical file, reported under this file's name."""
    return replace(checked, result=replace(checked.result, file=path))


_GATE = None


def _worker_init(settings: Settings, register) -> None:
    global _GATE
    from ..gate import Gate

    _GATE = Gate(register=register, settings=settings)


def _worker_check(target: Target, job: Job) -> Checked:
    return check_target(_GATE, target, job)
