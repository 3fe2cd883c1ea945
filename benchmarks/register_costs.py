"""What the register's safeguards cost: a commit with the rollback journal against WAL, and opening and
reading a register whose every row is checksum-verified.

    python benchmarks/register_costs.py [--people 500] [--templates 3] [--rounds 3]

Prints a markdown table. Rounds interleave the two journal modes, so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import imagegate.register.schema as register_mod
from imagegate.register.store import Register


def commit_ms(folder: Path, wal: bool, n: int = 100) -> float:
    original = Register._leave_wal
    if wal:  # the journal mode before the change, for comparison only
        Register._leave_wal = lambda self: self._db.execute("PRAGMA journal_mode = WAL")
    try:
        with Register(folder / f"commit-{'wal' if wal else 'delete'}-{time.monotonic_ns()}.sqlite3") as r:
            for i in range(n):
                r.add_person(f"Person {i:04d}", "staff")
            t = time.perf_counter()
            for i in range(n):
                r.add_consent(f"Person {i:04d}", ["facebook"])
            return (time.perf_counter() - t) / n * 1000
    finally:
        Register._leave_wal = original


def filled(path: Path, people: int, templates: int) -> None:
    rng = np.random.default_rng(0)
    with Register(path) as r:
        for i in range(people):
            r.add_person_with_templates(
                f"Person {i:04d}", "staff", None,
                [(rng.standard_normal(128).astype(np.float32), 0.9, 150.0, f"{i * templates + k:064x}")
                 for k in range(templates)], model="m")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=500)
    ap.add_argument("--templates", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        path = folder / "filled.sqlite3"
        filled(path, args.people, args.templates)
        wal, delete, opens, checks, galleries = [], [], [], [], []
        for _ in range(args.rounds):
            wal.append(commit_ms(folder, wal=True))
            delete.append(commit_ms(folder, wal=False))
            t = time.perf_counter()
            r = Register(path)
            opens.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            register_mod._check_rows(r._db, path)
            checks.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            r.gallery("m")
            galleries.append((time.perf_counter() - t) * 1000)
            r.close()
    med = statistics.median
    rng = lambda xs: f"{min(xs):.0f}–{max(xs):.0f}"  # noqa: E731
    print("| | median (range) |\n|---|---:|")
    print(f"| one consent commit, WAL (before) | {med(wal):.1f} ms ({rng(wal)}) |")
    print(f"| one consent commit, rollback journal (now) | {med(delete):.1f} ms ({rng(delete)}) |")
    n = args.people * args.templates
    print(f"| open a register of {args.people} people, {n} templates | {med(opens):.0f} ms ({rng(opens)}) |")
    print(f"| of which every row's checksum verified | {med(checks):.0f} ms ({rng(checks)}) |")
    print(f"| load the gallery for matching (after any register change) | {med(galleries):.0f} ms ({rng(galleries)}) |")


if __name__ == "__main__":
    main()
