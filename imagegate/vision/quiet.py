"""Keep native libraries' log noise away from users.

mediapipe (LiteRT/absl/glog) writes INFO/WARNING lines straight to file
descriptor 2 from C++, so Python's logging cannot filter them. We silence the
descriptor only around the calls that emit them (model creation and the first
inference) and leave it alone the rest of the time.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

# Set before mediapipe is imported anywhere so the C++ loggers start quiet.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")

_lock = threading.RLock()  # re-entrant: model creation wraps calls that also silence


@contextlib.contextmanager
def native_stderr_silenced():
    """Redirect fd 2 to /dev/null for the duration (thread-safe, re-entrant per call site)."""
    with _lock:
        try:
            sys.stderr.flush()
        except (AttributeError, ValueError, OSError):
            pass
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 at all (some service managers): nothing to hide
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
