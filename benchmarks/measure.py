"""Whole-process measurements for the benchmarks: wall time, CPU time, peak memory of a process tree."""

from __future__ import annotations

import os
import subprocess
import threading
import time


def tree_rss_kb(pid: int, field: str = "VmRSS:") -> int:
    """Memory of a process and all its descendants (worker pools included), from /proc.

    `VmRSS:` (cheap, from status) counts pages shared between processes (libraries, models) once
    per process; `Pss:` (from smaps_rollup, which walks page tables and slows the measured
    processes if read often) splits shared pages among their sharers: the tree's real footprint.
    """
    source = "status" if field == "VmRSS:" else "smaps_rollup"
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/{source}") as fh:
                for line in fh:
                    if line.startswith(field):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_measured(cmd: list[str], sample_every: float = 0.02, env: dict | None = None) -> dict:
    """Run `cmd` to the end: wall seconds, CPU seconds (user + system, waited-for children included),
    peak memory of the whole tree (sampled; RSS and PSS), exit code and stdout bytes."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=None if env is None else {**os.environ, **env})
    peak = [0, 0]
    done = threading.Event()

    def sample() -> None:
        n = 0
        while not done.is_set():
            peak[0] = max(peak[0], tree_rss_kb(proc.pid))
            if n % 25 == 0:
                peak[1] = max(peak[1], tree_rss_kb(proc.pid, "Pss:"))
            n += 1
            time.sleep(sample_every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": peak[0] / 1024,
            "peak_pss_mb": peak[1] / 1024, "exit": proc.returncode, "stdout": out}
