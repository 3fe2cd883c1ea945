"""A worker entry point that dies like a segfaulting native library on photos named *crash*.

Importable by spawned worker processes (they get the test run's sys.path)."""

from __future__ import annotations

import os


def check_or_die(target, job):
    if "crash" in os.path.basename(target.path):
        os._exit(139)  # as abrupt as a segfault: no exception, no cleanup, the pool breaks
    from imagegate.batch import _worker_check

    return _worker_check(target, job)
