"""A tamper-evident, append-only audit log (JSON lines, one decision per line).

Each line is one JSON object carrying `prev`, the sha256 of the previous line's
bytes (64 zeros for the first line), and `hash`, the sha256 of its own canonical
JSON without `hash`. Editing, inserting or deleting a line breaks the chain at
that point, which `verify` reports. (Cutting lines off the *end* leaves a valid
shorter chain; anchoring the last hash elsewhere is what would catch that.)

Lines never hold embeddings or face crops: callers pass names, hashes, decisions
and reasons only. A crash can tear the last line; the next `append` (or `repair`)
cuts the torn bytes off, chains from the last complete line and records the
repair in the entry it writes.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .. import private
from ..errors import AuditError
from ..filenames import storable

GENESIS = "0" * 64
_TAIL_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Verification:
    """What `verify` found. `broken_line` is 1-based; None when the chain holds."""

    path: str
    entries: int
    broken_line: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_line is None

    def to_dict(self) -> dict:
        return {"path": self.path, "ok": self.ok, "entries": self.entries, "broken_line": self.broken_line,
                "problem": self.problem}


def _canonical(obj: dict) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def entry_hash(entry: dict) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in entry.items() if k != "hash"})).hexdigest()


def _tail(fd: int, size: int) -> tuple[bytes | None, int]:
    """The last complete line (without its newline) and the offset where complete lines end.

    Reads backwards in chunks, so appending stays cheap however long the log grows.
    """
    buf = b""
    pos = size
    while pos > 0:
        step = min(_TAIL_CHUNK, pos)
        pos -= step
        buf = _read_at(fd, step, pos) + buf
        last_nl = buf.rfind(b"\n")
        if last_nl < 0:
            continue
        before = buf.rfind(b"\n", 0, last_nl)
        if before >= 0 or pos == 0:
            return buf[before + 1:last_nl], pos + last_nl + 1
    return None, 0


def _read_at(fd: int, n: int, offset: int) -> bytes:
    # lseek + read rather than os.pread, which Windows lacks; appends (O_APPEND) ignore the offset
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, n)


def _open(path: Path) -> int:
    try:
        return private.open_append(path)
    except OSError as exc:
        raise AuditError(f"audit log {path} could not be opened for appending: {exc.strerror or exc}") from None


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the watcher is the only writer anyway
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def _repair(fd: int) -> tuple[bytes | None, dict | None]:
    """Cut a torn last line off; return the last complete line and a note of what was cut."""
    size = os.fstat(fd).st_size
    last, complete_end = _tail(fd, size)
    if complete_end == size:
        return last, None
    torn = _read_at(fd, size - complete_end, complete_end)
    if _chained_entry(torn, last):
        # a whole entry that only lacks its newline (the newline lost, not the entry): keep it
        os.write(fd, b"\n")
        os.fsync(fd)
        return torn, None
    os.ftruncate(fd, complete_end)
    os.fsync(fd)
    return last, {"torn_bytes": len(torn), "torn_sha256": hashlib.sha256(torn).hexdigest(),
                  "at_offset": complete_end}


def _chained_entry(raw: bytes, last: bytes | None) -> bool:
    """Whether `raw` is a complete entry chained to `last` (its hash and prev both right)."""
    try:
        entry = json.loads(raw)
    except ValueError:
        return False
    prev = GENESIS if last is None else hashlib.sha256(last).hexdigest()
    return isinstance(entry, dict) and entry.get("prev") == prev and entry.get("hash") == entry_hash(entry)


def people_named(reason: dict) -> list[str]:
    """The registered people a reason (as JSON: code, params, inner) is about, by name: what an audit line
    stores so that an access request finds exactly that person's decisions (see export.py)."""
    params = reason.get("params") or {}
    names = [params["name"]] if isinstance(params.get("name"), str) else []
    names += [p["name"] for p in params.get("people") or () if isinstance(p, dict) and isinstance(p.get("name"), str)]
    inner = reason.get("inner")
    if isinstance(inner, dict):
        names += people_named(inner)
    return list(dict.fromkeys(names))


def append(path: str | os.PathLike, entry: dict) -> dict:
    """Append one entry, chained to the previous line; fsynced before returning.

    Returns the entry as written (with `seq`, `prev`, `hash` and, after a crash
    tore the previous append, `repair`).
    """
    path = Path(path)
    if {"prev", "hash", "seq"} & set(entry):
        raise AuditError(f"audit entries must not set prev/hash/seq themselves, found keys {sorted(entry)}")
    entry = storable(entry)  # a name that is not UTF-8 (quoted in a message, say) must not stop the log
    fd = _open(path)
    try:
        _lock(fd)
        last, repair = _repair(fd)
        if last is None:
            prev, seq = GENESIS, 1
        else:
            prev = hashlib.sha256(last).hexdigest()
            try:
                seq = int(json.loads(last).get("seq", 0)) + 1
            except (ValueError, AttributeError):
                seq = 0  # a damaged line: still chain to it, `verify` will say where it broke
        full = {**entry, "seq": seq, "prev": prev}
        if repair:
            full["repair"] = repair
        full["hash"] = entry_hash(full)
        os.write(fd, _canonical(full) + b"\n")
        os.fsync(fd)
        return full
    except OSError as exc:
        raise AuditError(f"audit log {path} could not be written: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def repair(path: str | os.PathLike) -> dict | None:
    """Cut a torn last line now (the watcher calls this at start); None if nothing was torn."""
    path = Path(path)
    if not path.exists():
        return None
    fd = _open(path)
    try:
        _lock(fd)
        return _repair(fd)[1]
    finally:
        os.close(fd)


def read(path: str | os.PathLike) -> list[dict]:
    """Every complete entry, in order (a torn last line is skipped)."""
    path = Path(path)
    if not path.exists():
        return []
    out = []
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                break
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if isinstance(entry, dict):  # a damaged line can still be valid JSON: `[1]`, `"x"`
                out.append(entry)
    return out


def verify(path: str | os.PathLike) -> Verification:
    """Check every link; report the first line whose content or link does not hold."""
    path = Path(path)
    try:
        f = open(path, "rb")
    except OSError as exc:
        raise AuditError(f"audit log {path} could not be read: {exc.strerror or exc}") from None
    prev = GENESIS
    n = 0
    with f:
        for n, raw in enumerate(f, start=1):
            where = str(path)
            if not raw.endswith(b"\n"):
                return Verification(where, n - 1, n, "incomplete last line (torn write); "
                                    "the next append will cut it off")
            line = raw[:-1]
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                return Verification(where, n - 1, n, f"not a JSON object: {exc}")
            if entry.get("prev") != prev:
                return Verification(where, n - 1, n, f"expected prev {prev[:16]}… (the previous line's sha256), "
                                    f"found {str(entry.get('prev'))[:16]}…; a line was edited, removed or inserted")
            if entry.get("hash") != entry_hash(entry):
                return Verification(where, n - 1, n, "the entry's content does not match its hash; it was edited")
            prev = hashlib.sha256(line).hexdigest()
    return Verification(str(path), n, None, None)
