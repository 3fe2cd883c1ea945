#!/usr/bin/env python3
"""Run ../shared/data/scenarios.json end to end through the CLI and print each case.

Usage: python benchmarks/scenarios.py ../shared/data/scenarios.json [--event public|private|unknown]

Builds a fresh register with `imagegate register add/consent/withdraw`, then runs
`imagegate check --json --on <today>` per case. Exit 0 only if every case is right.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def imagegate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "imagegate.cli.main", *args], capture_output=True, text=True)


def build_register(suite: dict, base: Path, register: Path) -> None:
    for person in suite["register"]:
        cmd = ["--register", str(register), "register", "add", person["name"], "--role", person["role"]]
        for photo in person["photos"]:
            cmd += ["--photo", str(base / photo)]
        r = imagegate(*cmd)
        if r.returncode != 0:
            raise SystemExit(f"enrolment of {person['name']} failed: {r.stderr}")
        for c in person["consents"]:
            # given by the suite's "today", the day every case is checked on (or, expired, by its last day)
            cmd = ["--register", str(register), "register", "consent", person["name"], "--from",
                    min(suite["today"], c.get("until") or suite["today"])]
            for ch in c["channels"]:
                cmd += ["--channel", ch]
            if c.get("until"):
                cmd += ["--until", c["until"]]
            if c.get("risks_explained"):
                cmd += ["--risks-explained"]
            r = imagegate(*cmd)
            if r.returncode != 0:
                raise SystemExit(f"consent for {person['name']} failed: {r.stderr}")
            if c.get("withdrawn"):
                r = imagegate("--register", str(register), "register", "withdraw", person["name"])
                if r.returncode != 0:
                    raise SystemExit(f"withdrawal for {person['name']} failed: {r.stderr}")


def run(suite_path: Path, workdir: Path, forced_event: str | None = None) -> list[dict]:
    suite = json.loads(suite_path.read_text())
    base = suite_path.parent
    register = workdir / "register.sqlite3"
    build_register(suite, base, register)
    rows = []
    for case in suite["cases"]:
        # the suite's crowds are public events ("crowd at a public event"); a case or the suite may say otherwise
        event = forced_event or case.get("event", suite.get("event", "public"))
        r = imagegate("--register", str(register), "--lang", "en", "check", "--json", "--on", suite["today"],
                      "--event", event, "--channel", case["channel"], str(base / case["image"]))
        try:
            got = json.loads(r.stdout.splitlines()[0])  # check --json writes one JSON object per line
        except (ValueError, IndexError):
            got = {"decision": "error", "reasons": [{"message": r.stderr.strip()}]}
        rows.append({"case": case, "got": got, "exit": r.returncode})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("suite", type=Path)
    ap.add_argument("--event", choices=("public", "private", "unknown"),
                    help="check every case in this event context (default: the case's, else public)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = run(args.suite, Path(tmp), args.event)
    ok = 0
    false_allowed = 0
    for row in rows:
        c, g = row["case"], row["got"]
        good = g["decision"] == c["expect"]
        ok += good
        false_allowed += g["decision"] == "allowed" and c["expect"] != "allowed"
        print(f"{'ok ' if good else 'BAD'} {Path(c['image']).name:<45} {c['channel']:<9} expect {c['expect']:<13} "
              f"got {g['decision']:<13} faces {len(g.get('faces', []))}")
        if not good:
            for r in g.get("reasons", []):
                print(f"      {r['message']}")
    print(f"{ok}/{len(rows)} right, {false_allowed} false allowed")
    return 0 if ok == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
