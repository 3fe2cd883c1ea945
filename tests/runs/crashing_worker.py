"""Worker entry points that die like a segfaulting native library (photos named *crash*), hang (*hang*) or start slowly,
and model-free ones for the pool's own tests.

Importable by spawned worker processes (they get the test run's sys.path)."""

from __future__ import annotations

import os


def check_or_die(target, job):
    if "crash" in os.path.basename(target.path):
        os._exit(139)  # as abrupt as a segfault: no exception, no cleanup, the pool breaks
    from imagegate.runs.batch import _worker_check

    return _worker_check(target, job)


def check_or_hang(target, job):
    """Never returns on photos named *hang* (a native call stuck for good)."""
    if "hang" in os.path.basename(target.path):
        import time

        while True:
            time.sleep(60)
    from imagegate.runs.batch import _worker_check

    return _worker_check(target, job)


def slow_init(*args):
    """A worker start slower than a photo's time limit (a loaded machine, a slow disk)."""
    import time

    from imagegate.runs.batch import _worker_init

    time.sleep(15)
    _worker_init(*args)


def no_models():
    """A worker start that loads nothing: the pool's tests need no models."""


def echo_or_stop(name):
    """`name` back, after a second for *slow* names; *crash* names kill the worker, *hang* names never return."""
    import time

    if "crash" in name:
        os._exit(139)
    while "hang" in name:
        time.sleep(60)
    if "slow" in name:
        time.sleep(1)
    return name
