"""The worker pool: one module starts worker processes; a photo that stops its worker twice fails,
the photos beside it never do."""

from __future__ import annotations

import ast
import os
import signal

import pytest

from imagegate.runs.workers import WorkerPool, Workers, WorkerStopped

from ..conftest import ROOT
from . import crashing_worker

PACKAGE = ROOT / "imagegate"
POOL_MODULE = PACKAGE / "runs" / "workers.py"

#: modules whose only use here is to start processes
PROCESS_MODULES = {"multiprocessing", "subprocess", "pty"}
#: names that start processes, however they were imported (os.fork, concurrent.futures.ProcessPoolExecutor)
PROCESS_NAMES = {"ProcessPoolExecutor", "fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "popen",
                 "spawnl", "spawnle", "spawnlp", "spawnlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe",
                 "execv", "execve", "execvp", "execvpe", "execl", "execle", "execlp", "execlpe"}


def process_starts(source: str) -> list[str]:
    """What in `source` starts (or imports the means to start) another process, by line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] in PROCESS_MODULES]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.split(".")[0] in PROCESS_MODULES:
                found.append(f"{node.lineno}: from {module} import ...")
            found += [f"{node.lineno}: from {module} import {a.name}" for a in node.names
                      if a.name in PROCESS_NAMES and module in ("os", "concurrent.futures",
                                                                "concurrent.futures.process")]
        elif isinstance(node, ast.Attribute) and node.attr in PROCESS_NAMES:
            if node.attr == "ProcessPoolExecutor" or (isinstance(node.value, ast.Name) and node.value.id == "os"):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Name) and node.id == "ProcessPoolExecutor":
            found.append(f"{node.lineno}: {node.id}")
    return found


def test_only_the_pool_module_starts_processes():
    # One place owns spawning, time limits, killing and retries; a second pool would drift from it.
    others = {str(p.relative_to(PACKAGE)): process_starts(p.read_text(encoding="utf-8"))
              for p in sorted(PACKAGE.rglob("*.py")) if p != POOL_MODULE}
    assert {name: hits for name, hits in others.items() if hits} == {}
    assert process_starts(POOL_MODULE.read_text(encoding="utf-8"))  # the scan does see the pool's own


@pytest.mark.parametrize("source", [
    "import multiprocessing\nmultiprocessing.Process(target=f).start()",
    "from multiprocessing import get_context",
    "import concurrent.futures as cf\ncf.ProcessPoolExecutor(2)",
    "from concurrent.futures import ProcessPoolExecutor",
    "import os\nos.fork()",
    "from os import fork",
    "import subprocess\nsubprocess.run(['x'])",
])
def test_the_scan_finds_each_way_of_starting_a_process(source):
    assert process_starts(source)


def test_the_scan_leaves_threads_and_ordinary_os_calls_alone():
    assert not process_starts("import threading, os\nthreading.Thread(target=f).start()\nos.getpid()\n"
                              "platform.system()\nfrom concurrent.futures import ThreadPoolExecutor\n")


@pytest.mark.slow  # starts worker processes
def test_a_pool_that_broke_since_its_last_result_fails_the_next_photo_instead_of_raising():
    # The race CI hit: a worker dies between one photo's result and the next submit. The next
    # photo must fail like the ones in flight (and so be retried), not end the whole batch.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from imagegate.runs.workers import submit_to

    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        with pytest.raises(BrokenProcessPool):
            pool.submit(os._exit, 1).result(timeout=60)
        with pytest.raises(BrokenProcessPool):
            pool.submit(os.getpid)  # what batch and watcher used to call
        with pytest.raises(BrokenProcessPool):
            submit_to(pool, os.getpid).result(timeout=0)
    finally:
        pool.shutdown(wait=True)


def run_all(names: list[str], photo_timeout: float = 300.0) -> dict:
    """Every name through a two-worker pool, submitted as room allows; name -> Done."""
    pool = WorkerPool(Workers(2, crashing_worker.no_models), crashing_worker.echo_or_stop,
                      photo_timeout=photo_timeout)
    waiting, outcomes = list(names), {}
    try:
        while len(outcomes) < len(names):
            while waiting and pool.has_room():
                pool.submit(waiting[0], waiting[0])
                waiting.pop(0)
            for done in pool.collect(timeout=1.0):
                assert done.task.key not in outcomes
                outcomes[done.task.key] = done
    finally:
        for pid in pool.workers.worker_pids():  # a hung worker would hold up the pool's shutdown
            os.kill(pid, signal.SIGKILL)
        pool.close(wait=True)
    return outcomes


@pytest.mark.slow  # starts worker processes
def test_photos_that_kill_their_worker_fail_and_every_photo_beside_them_is_checked():
    # Two culprits: the second one must not be in flight while the last suspect of the first is
    # retried (each innocent photo takes a second), or that innocent photo would be blamed for its death.
    names = ["slow-a", "crash-1", "slow-b", "slow-c", "crash-2", "slow-d", "slow-e"]
    outcomes = run_all(names)
    for name in names:
        done = outcomes[name]
        if "crash" in name:
            assert done.result is None and isinstance(done.error, WorkerStopped), name
            assert (done.error.deaths, done.error.timeouts, done.error.hung) == (2, 0, False)
        else:
            assert done.error is None and done.result == name, name
            assert done.task.deaths <= 1


@pytest.mark.slow  # starts worker processes
def test_a_photo_past_the_time_limit_is_retried_alone_then_given_up_on():
    # the limit is far above what an echo takes, even on a loaded machine; workers' start is not counted
    outcomes = run_all(["a", "hang", "b", "c", "d"], photo_timeout=5)
    stuck = outcomes.pop("hang")
    assert stuck.result is None and isinstance(stuck.error, WorkerStopped)
    assert (stuck.error.deaths, stuck.error.timeouts, stuck.error.hung) == (2, 2, True)
    assert {name: (d.error, d.result) for name, d in outcomes.items()} == {n: (None, n) for n in "abcd"}
