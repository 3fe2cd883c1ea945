"""Worker processes for checking photos: the one place that starts, times, kills and retries them.

`Workers` is a restartable set of spawned processes that each load the models once (the
`initializer`) and get their share of the cores. `WorkerPool` runs one task function over
many photos on them: a photo that is still running after `photo_timeout` seconds of a
started worker's time (spawning and loading the models do not count), or whose worker
dies, stops the pool. Every photo in flight is then a suspect and is retried on its own in
a fresh pool; a photo that stops a worker a second time, alone, is given up on
(`WorkerStopped`), so innocent photos beside it are never failed.

What a worker does with a photo (the task function) belongs to the caller: `batch.py`
checks a file, `watch_worker.py` reads one under a lease and stages copies.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..vision.onnxnet import set_threads

#: a worker still checking one photo after this long is stuck (a 12-MP photo takes ~1 s)
PHOTO_TIMEOUT_SECONDS = 300.0
#: how long freshly started workers may take to load the models (~2.5 s here) before photo time
#: limits start to run: a fresh pool's start is not the photo's time
WORKER_START_SECONDS = 60.0
#: a photo is given up on when its worker died or hung this many times, the last time on it alone
MAX_DEATHS = 2


def worker_threads(jobs: int) -> int:
    """Threads (OpenCV, ONNX Runtime) for each of `jobs` worker processes: their share of the cores."""
    return max(1, (os.cpu_count() or 1) // max(1, jobs))


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


def running_for(started: float, ready_at: float | None, now: float) -> float:
    """Seconds a photo that reached a worker at `started` has had that worker's time: spawning
    workers and loading models is not its time (after a restart that alone can take longer than
    a short limit). Until the workers are ready (`ready_at` None) they get WORKER_START_SECONDS."""
    if ready_at is None:
        return now - started - WORKER_START_SECONDS
    return now - max(started, ready_at)


def _exit_with_parent(parent: int) -> None:
    # A SIGKILLed parent cannot shut its pool down; its workers must not live on.
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def _start_worker(threads: int, initializer: Callable, initargs: tuple) -> None:
    set_threads(threads)  # the workers share the cores; more threads each would oversubscribe them
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    initializer(*initargs)


class Workers:
    """`jobs` spawned processes that each ran `initializer(*initargs)` once; restartable.

    `ready_at` is the time.monotonic() at which the first of the current processes had
    loaded the models, None while they are still starting."""

    def __init__(self, jobs: int, initializer: Callable, initargs: tuple = ()) -> None:
        self.jobs = max(1, int(jobs))
        self._initargs = (worker_threads(self.jobs), initializer, tuple(initargs))
        self._start()

    def _start(self) -> None:
        # spawn, not fork: the parent may hold ONNX Runtime/OpenCV threads that fork would copy half-alive
        pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=self._initargs)
        self.ready_at: float | None = None
        self._pool = pool
        # A no-op ends once a worker has started: from then on, a photo's time is its own.
        submit_to(pool, os.getpid).add_done_callback(partial(self._ready, pool))

    def _ready(self, pool: ProcessPoolExecutor, ping: Future) -> None:
        if pool is self._pool and not ping.cancelled() and ping.exception() is None:
            self.ready_at = time.monotonic()

    def submit(self, fn: Callable, *args) -> Future:
        """Run `fn(*args)` in a worker; a broken pool gives a failed future (`submit_to`)."""
        return submit_to(self._pool, fn, *args)

    def restart(self, *, kill: bool = False) -> None:
        """Fresh processes; with `kill`, the old ones are killed first (a hung native call
        cannot be interrupted any other way, and the pool's shutdown would wait for it)."""
        if kill:
            for proc in self._processes():
                proc.kill()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._start()

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers."""
        return [p.pid for p in self._processes()]

    def close(self, *, wait: bool) -> None:
        """Stop the workers once they finish what they are running (`wait`: until then)."""
        self._pool.shutdown(wait=wait, cancel_futures=True)

    def _processes(self) -> list:
        # ProcessPoolExecutor has no public way to reach its processes
        return list((getattr(self._pool, "_processes", None) or {}).values())


class WorkerStopped(Exception):
    """A photo given up on: its worker died or hung MAX_DEATHS times, the last time on it alone."""

    def __init__(self, deaths: int, timeouts: int, hung: bool) -> None:
        super().__init__(f"stopped its worker {deaths} times, {timeouts} of them past the time limit")
        self.deaths = deaths
        self.timeouts = timeouts
        #: the last time, it was still running past the time limit (not a worker's death)
        self.hung = hung
        #: what ended its last try: TimeoutError or BrokenProcessPool
        self.cause = TimeoutError.__name__ if hung else BrokenProcessPool.__name__


_order = itertools.count()


@dataclass(eq=False)
class Task:
    """One photo in the pool: `key` is the caller's, `args` go to the task function."""

    key: Hashable
    args: tuple
    #: times its worker died or hung while it was in flight
    deaths: int = 0
    #: of those, times it was the one still running past the limit
    timeouts: int = 0
    #: being retried with nothing else in flight
    alone: bool = False
    #: time.monotonic() at which it reached a worker, None while queued
    at_worker: float | None = None
    #: submission order: suspects are retried oldest first
    order: int = field(init=False, repr=False, default_factory=lambda: next(_order))


@dataclass(frozen=True)
class Done:
    """A finished task: the task function's `result`, or the `error` it ended with
    (WorkerStopped when given up on; never a result then, so never a pass)."""

    task: Task
    result: Any = None
    error: BaseException | None = None


class WorkerPool:
    """Runs `task(*args)` for many photos on `workers`, with a time limit and one retry alone.

    At most two photos per worker are in flight, so each worker has its next photo at hand."""

    def __init__(self, workers: Workers, task: Callable, *, photo_timeout: float = PHOTO_TIMEOUT_SECONDS,
                 on_hang: Callable[[Task, float], None] | None = None) -> None:
        self.workers = workers
        self.photo_timeout = float(photo_timeout)
        self._task = task
        self._window = 2 * workers.jobs
        self._on_hang = on_hang
        self._busy: dict[Future, Task] = {}
        self._suspects: deque[Task] = deque()  # in flight when a worker stopped: retried one at a time

    @property
    def busy(self) -> int:
        """Photos handed to the workers and not yet collected."""
        return len(self._busy)

    def has_room(self) -> bool:
        """Whether another photo may be submitted now: not while photos of a stopped pool are
        being retried (each must be alone to tell whether it is the culprit)."""
        return (not self._suspects and len(self._busy) < self._window
                and not any(t.alone for t in self._busy.values()))

    def submit(self, key: Hashable, *args) -> Task:
        """Hand a photo to the workers; its outcome comes back from `collect` under `key`."""
        task = Task(key, args)
        self._send(task)
        return task

    def collect(self, timeout: float, *, retry: bool = True) -> list[Done]:
        """The photos that finished within `timeout` seconds.

        A worker's death or a photo past the time limit restarts the workers and queues every
        photo in flight for a retry alone; given up on, a photo comes back with WorkerStopped.
        With `retry` False (stopping), such photos are dropped instead: they were never checked.
        """
        if retry:
            self._retry_next()
        if not self._busy:
            return []
        finished, _ = wait(list(self._busy), timeout=timeout, return_when=FIRST_COMPLETED)
        out: list[Done] = []
        broken: list[Task] = []
        for fut, task in list(self._busy.items()):
            if fut not in finished:
                continue
            del self._busy[fut]
            if fut.cancelled():
                continue
            try:
                out.append(Done(task, fut.result()))
            except BrokenProcessPool:
                broken.append(task)
            except Exception as exc:  # noqa: BLE001 - a failure to even run the task is its outcome
                out.append(Done(task, error=exc))
        now = time.monotonic()
        if broken:
            out += self._stopped(broken, retry)
        elif retry and self._busy:
            self._mark_at_worker(now)
            stuck = [t for t in self._busy.values()
                     if t.at_worker is not None
                     and running_for(t.at_worker or now, self.workers.ready_at, now) > self.photo_timeout]
            for task in stuck:
                task.timeouts += 1
                if self._on_hang is not None:
                    self._on_hang(task, running_for(task.at_worker or now, self.workers.ready_at, now))
            if stuck:
                out += self._stopped([], retry, hung=stuck)
        if retry:
            self._retry_next()
        return out

    def cancel_waiting(self) -> None:
        """Drop the photos no worker has taken yet (they stay unchecked)."""
        for fut in list(self._busy):
            if not fut.running() and fut.cancel():
                del self._busy[fut]

    def forget(self) -> None:
        """Stop following every photo in flight or waiting for a retry; none will be collected."""
        for fut in self._busy:
            fut.cancel()
        self._busy.clear()
        self._suspects.clear()

    def close(self, *, wait: bool) -> None:
        """Stop the workers (`Workers.close`)."""
        self.workers.close(wait=wait)

    def _retry_next(self) -> None:
        if self._suspects and not self._busy:
            task = self._suspects.popleft()
            task.alone = True
            self._send(task)

    def _send(self, task: Task) -> None:
        task.at_worker = None
        self._busy[self.workers.submit(self._task, *task.args)] = task
        self._mark_at_worker(time.monotonic())

    def _mark_at_worker(self, now: float) -> None:
        # Workers take photos in the order they were submitted, so the oldest `jobs` of those in
        # flight are the ones being checked; a photo queued behind another is not yet on the clock.
        for task in itertools.islice(self._busy.values(), self.workers.jobs):
            if task.at_worker is None:
                task.at_worker = now

    def _stopped(self, tasks: list[Task], retry: bool, *, hung: Sequence[Task] = ()) -> list[Done]:
        # One death breaks the whole pool, so every photo in flight is a suspect. Suspects are
        # retried one at a time: a photo is given up on only when it stopped a worker a second
        # time while nothing else was running, so innocent photos beside it are never failed.
        tasks = sorted([*tasks, *self._busy.values()], key=lambda t: t.order)
        self._busy.clear()
        if not retry:
            return []  # stopping: these photos were never checked
        self.workers.restart(kill=bool(hung))
        out = []
        for task in tasks:
            task.deaths += 1
            if task.alone and task.deaths >= MAX_DEATHS:
                out.append(Done(task, error=WorkerStopped(task.deaths, task.timeouts, hung=task in hung)))
            else:
                self._suspects.append(task)
        return out
