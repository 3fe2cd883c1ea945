"""The consent register: people, their consents per channel, and face templates.

A real SQLite file (rollback journal, foreign keys, versioned schema: schema.py) that
holds biometric data, so:

* only embeddings are stored, never reference photos;
* the file is created 0600 inside a 0700 folder (location.py);
* `secure_delete` is on and the rollback journal is deleted after each write, so
  `forget` leaves none of a person's template bytes in the database files;
* embeddings never appear in reprs, JSON or error messages.

Consent history is kept: withdrawing stamps `withdrawn_at` on the rows rather
than deleting them, so the record of what was consented when survives until the
person is forgotten.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import private
from ..channels import CHANNELS, expand_channels, normalise_channel
from ..codes import ConsentState, Role
from ..errors import RegisterDamagedError, RegisterError
from ..filenames import fit_name
from ..results import ConsentStatus, Gallery, Person
from .location import _prepare_file, _private_parent
from .names import check_distinct, normalise_name
from .schema import (
    BASES,
    CHECKSUMMED,
    UNRECORDED,
    _check_identity,
    _check_integrity,
    _check_rows,
    _identity,
    _verify,
    migrate,
    row_checksum,
)

ROLES = tuple(r.value for r in Role)

EMBEDDING_DIM = 128


def clean_name(name: str) -> str:
    """A display name: NFC, surrounding and repeated whitespace removed."""
    return " ".join(unicodedata.normalize("NFC", name).split())


def name_key(name: str) -> str:
    """What makes two names the same person's name: Unicode case folding on the clean name."""
    return unicodedata.normalize("NFC", clean_name(name).casefold())


def _as_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return parse_date(value)


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise RegisterError(f"bad date {text!r}; expected YYYY-MM-DD, e.g. 2027-06-30") from None


def utc_now() -> dt.datetime:
    """The register's default clock: the current time in UTC."""
    return dt.datetime.now(dt.UTC)


Clock = Callable[[], dt.datetime]


def _start_day(granted_at: str) -> dt.date:
    """A consent's first day from its `granted_at`: a date (given with `--from`) or a UTC timestamp (when
    it was recorded), the latter as the local calendar day."""
    if "T" not in granted_at:
        return dt.date.fromisoformat(granted_at)
    return dt.datetime.fromisoformat(granted_at).astimezone().date()


@dataclass(frozen=True)
class Consent:
    channel: str
    granted_at: str
    valid_until: str | None
    risks_explained: bool
    evidence: str | None
    withdrawn_at: str | None

    @property
    def valid_from(self) -> str:
        """The first day the consent covers: the day it was given (`--from`) or else recorded, in local time
        (a consent recorded at 01:00 in Helsinki does not cover the day before)."""
        return _start_day(self.granted_at).isoformat()

    def state_on(self, day: dt.date) -> str:
        if self.withdrawn_at:
            return "withdrawn"
        if day < _start_day(self.granted_at):
            return "not_yet"
        if self.valid_until and dt.date.fromisoformat(self.valid_until) < day:
            return "expired"
        return "valid"

    def given_before(self, withdrawn_at: str) -> bool:
        """Whether this consent was given before a withdrawal stamped `withdrawn_at` (a UTC timestamp): a
        consent recorded at a moment is compared by the moment, one given on a day (`--from`) by the day,
        and the withdrawal's own day counts as before it (which came first that day is unknown)."""
        withdrawn = dt.datetime.fromisoformat(withdrawn_at)
        if "T" in self.granted_at:
            return dt.datetime.fromisoformat(self.granted_at) < withdrawn
        return _start_day(self.granted_at) <= withdrawn.astimezone().date()

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _superseded(consents: list[Consent]) -> list[Consent]:
    """`consents` of one channel with every consent given before a recorded withdrawal marked withdrawn:
    a withdrawal ends every consent for that channel given before it, also one entered later with an
    earlier date (an old paper form recorded after the person withdrew)."""
    stamps = [c.withdrawn_at for c in consents if c.withdrawn_at]
    if not stamps:
        return consents
    last = max(stamps, key=dt.datetime.fromisoformat)
    return [dataclasses.replace(c, withdrawn_at=last) if c.withdrawn_at is None and c.given_before(last) else c
            for c in consents]


@dataclass(frozen=True)
class EnrolmentBasis:
    """Why a person's face template may be held: `consent` (they agreed to be enrolled, which is not
    consent to publish), `other` (another lawful basis, documented by `evidence`) or `unrecorded`
    (enrolled before this was asked)."""

    basis: str
    evidence: str | None
    basis_date: str | None
    recorded_at: str | None
    enrolled_at: str | None

    @property
    def recorded(self) -> bool:
        return self.basis != UNRECORDED

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _basis_row(basis: str, evidence: str | None, day: dt.date | str | None, today: dt.date) -> tuple:
    if basis == UNRECORDED:
        return UNRECORDED, None, None
    if basis not in BASES:
        raise RegisterError(f"unknown enrolment basis {basis!r}; expected one of: {', '.join(BASES)}")
    if not (evidence or "").strip():
        raise RegisterError(f"an enrolment basis '{basis}' needs --evidence (e.g. the signed form's id)")
    day = parse_date(day) if isinstance(day, str) else (day or today)
    return basis, (evidence or "").strip(), day.isoformat()


class Register:
    """A consent register in an SQLite file (or `":memory:"`)."""

    _db: sqlite3.Connection | None  # None once closed

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RegisterError("the register has been closed")
        return self._db

    def __init__(self, path: str | os.PathLike = ":memory:", *, create: bool = True,
                 timeout: float = 30.0, clock: Clock = utc_now) -> None:
        self.path = str(path)
        # every timestamp the register writes and every "today" it assumes comes from here, so that a
        # test (or a replay) can fix the date instead of depending on the machine's clock
        self.clock = clock
        self.in_memory = self.path == ":memory:"
        self.timeout = timeout
        self._local_changes = 0  # commits and restores through this object (see generation())
        self._file_id: tuple[int, int] | None = None
        if not self.in_memory:
            _prepare_file(Path(self.path), create=create)
        try:
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                       check_same_thread=False)
            self._conn.create_function("imagegate_name_key", 1, name_key, deterministic=True)
            self._conn.create_function("imagegate_checksum", -1, row_checksum, deterministic=True)
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA secure_delete = ON")
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            # Identify the file before anything writes to it: changing the journal mode rewrites
            # the header, and a file we refuse must be left exactly as it was.
            _check_identity(self.path, *_identity(self._db))
            if not self.in_memory:
                self._leave_wal()
                self._conn.execute("PRAGMA synchronous = FULL")
            self._migrate()
            _check_integrity(self._db, self.path)
            _check_rows(self._db, self.path)
            if not self.in_memory:
                # finishes the wiping of an earlier forget() that a reader kept from completing
                self._checkpoint()
        except sqlite3.DatabaseError as exc:
            self._close_quietly()
            # an OperationalError (locked, I/O) says nothing about the file's content
            kind = RegisterError if isinstance(exc, sqlite3.OperationalError) else RegisterDamagedError
            raise kind(f"{self.path} is not a readable imagegate register: {exc}",
                       hint="check the path; restore from a backup if the file is damaged") from None
        except BaseException:
            self._close_quietly()
            raise
        if not self.in_memory:
            st = os.stat(self.path)
            self._file_id = (st.st_dev, st.st_ino)
            for suffix in ("", "-wal", "-shm", "-journal"):
                f = Path(self.path + suffix)
                if f.exists():
                    try:
                        os.chmod(f, 0o600)
                    except OSError:
                        pass

    def _now(self) -> str:
        return self.clock().astimezone(dt.UTC).isoformat(timespec="seconds")

    def today(self) -> dt.date:
        """Today's local calendar day by the register's clock."""
        return self.clock().astimezone().date()

    def _leave_wal(self) -> None:
        """Use a rollback journal, never WAL. A WAL file outlives its database file for as long as any
        connection is open (a watcher's workers always are), and SQLite cannot tell whose WAL it is:
        a register replaced under it (a restored backup, a sync tool) was read through the old file's
        WAL, which then was checkpointed into it - a withdrawn consent came back, on disk too. A rollback
        journal exists only while a write commits. A register left in WAL by an older imagegate is
        converted when nobody else has it open (a short wait; else it is converted at a later opening)."""
        if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self._conn.execute("PRAGMA journal_mode = DELETE")
            return
        self._conn.execute("PRAGMA busy_timeout = 200")
        try:
            self._conn.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.OperationalError:
            pass  # another process has it open
        finally:
            self._conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")

    # -- lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        self._close_quietly()

    def _close_quietly(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            try:
                db.close()
            except sqlite3.Error:
                pass
            self._db = None

    def __enter__(self) -> Register:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Register({self.path!r})"

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        if self._db is None:
            raise RegisterError("the register has been closed")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise RegisterError(f"{self.path}: could not start a write ({exc})",
                                hint="another imagegate process may hold the register; try again") from None
        try:
            yield self._conn
        except sqlite3.OperationalError as exc:
            self._conn.execute("ROLLBACK")
            # a read-only file or folder (SQLite writes a journal beside the register), a full disk
            raise RegisterError(f"{self.path}: the register could not be written ({exc}); nothing was changed",
                                hint="check that you may write to the register file and to its folder (a "
                                     "journal file is written beside it) and that the disk is not full") from None
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._conn.execute("ROLLBACK")
                raise RegisterError(f"{self.path}: could not finish a write ({exc}); nothing was changed",
                                    hint="another imagegate process kept reading the register; try again") from None
            self._local_changes += 1

    def generation(self) -> tuple[int, int]:
        """Differs after any change committed to the register since the last call, by another
        process (SQLite's data_version) or through this object: what was read from it before
        (a gallery, a person's role) is current only while this stays the same."""
        return self._query("PRAGMA data_version")[0][0], self._local_changes

    def file_stamp(self) -> tuple | None:
        """Device, inode, size and modification time of the register file (None in memory or gone):
        a backup copied over the file in place keeps the inode, and SQLite's data_version does not see it."""
        if self.in_memory:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns

    def replaced(self) -> bool:
        """Whether the path now names another file than the one open here: restored by copying
        a backup to another name and renaming it over, replaced by a sync tool, deleted. This object
        then reads a ghost."""
        if self.in_memory:
            return False
        stamp = self.file_stamp()
        return stamp is None or stamp[:2] != self._file_id

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        if self._db is None:
            raise RegisterError("the register has been closed")
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise RegisterError(f"{self.path}: read failed: {exc}") from None

    def backup(self, dest: str | os.PathLike) -> Path:
        """A consistent copy of the register, made while others may be using it.

        The copy holds the same biometric data, so it is created 0600 and never
        overwrites an existing file.
        """
        dest = Path(dest)
        if dest.exists():
            raise RegisterError(f"{dest} already exists; a backup never overwrites a file",
                                hint="choose a new file name")
        _private_parent(dest.parent)
        try:
            private.create_new(dest)  # 0600 before SQLite writes the templates into it
        except OSError as exc:
            raise RegisterError(f"cannot create the backup {dest}: {exc.strerror}") from None
        try:
            out = sqlite3.connect(dest)
            try:
                self._conn.backup(out)
                out.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            finally:
                out.close()
        except sqlite3.DatabaseError as exc:
            dest.unlink(missing_ok=True)
            raise RegisterError(f"backup to {dest} failed: {exc}") from None
        return dest

    def restore_from(self, source: str | os.PathLike) -> None:
        """Replace this register's whole contents with a backup's.

        The backup is opened read-only and checked like a register (ours, not newer,
        intact) before anything here changes; it is left exactly as it was.
        """
        src = Path(source)
        if not src.is_file():
            raise RegisterError(f"backup {src} does not exist or is not a file")
        _prepare_file(src, create=False)
        try:
            other = sqlite3.connect(f"{src.resolve().as_uri()}?mode=ro", uri=True)
        except sqlite3.DatabaseError as exc:
            raise RegisterError(f"cannot open the backup {src}: {exc}") from None
        try:
            if _check_identity(src, *_identity(other)):
                raise RegisterError(f"{src} is an empty database, not an imagegate register backup")
            _check_integrity(other, src, hint="use another backup")
            _check_rows(other, src, hint="use another backup")
            other.backup(self._conn)
        except sqlite3.DatabaseError as exc:
            raise RegisterError(f"restore from {src} failed: {exc}") from None
        finally:
            other.close()
        self._local_changes += 1
        self._migrate()  # a backup from an older version is brought up to date
        self._scrub()

    def _migrate(self) -> None:
        # Read the version inside the write transaction: two processes opening a new
        # register at once must not both create the schema.
        with self._tx() as db:
            migrate(db, self.path)

    # -- people -------------------------------------------------------------------

    def add_person(self, name: str, role: str, note: str | None = None, **basis) -> Person:
        return self.add_person_with_templates(name, role, note, [], model="", **basis)

    def add_person_with_templates(self, name: str, role: str, note: str | None,
                                  templates: list[tuple[np.ndarray, float, float, str]], *, model: str,
                                  basis: str = UNRECORDED, evidence: str | None = None,
                                  basis_date: dt.date | str | None = None) -> Person:
        """Create a person, the basis for holding their templates, and the templates, in one transaction
        (all or nothing)."""
        basis_row = _basis_row(basis, evidence, basis_date, self.today())
        name = normalise_name(name)
        if not name:
            raise RegisterError("a person needs a non-empty name")
        if role not in ROLES:
            raise RegisterError(f"unknown role {role!r}; expected one of: {', '.join(ROLES)}")
        rows = [(_embedding_bytes(vec), float(quality), float(face_px), sha)
                for vec, quality, face_px, sha in templates]
        now = self._now()
        with self._tx() as db:
            others = [n for (n,) in db.execute("SELECT name FROM people WHERE name_key != ?", (name_key(name),))]
            check_distinct(name, others)
            try:
                cur = db.execute("INSERT INTO people(name, name_key, role, note, created_at)"
                                 " VALUES (?, ?, ?, ?, ?)", (name, name_key(name), role, note, now))
            except sqlite3.IntegrityError:
                raise RegisterError(f"a person named {name!r} is already registered",
                                    hint="choose a distinct name, or forget the old entry first") from None
            pid = int(cur.lastrowid or 0)
            db.execute("INSERT INTO enrolment_basis(person_id, basis, evidence, basis_date, recorded_at)"
                       " VALUES (?, ?, ?, ?, ?)", (pid, *basis_row, now))
            db.executemany(
                "INSERT INTO templates(person_id, model, embedding, quality, face_px, photo_sha256, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", [(pid, model, *r, now) for r in rows])
        return Person(id=pid, name=name, role=Role(role), note=note)

    def get(self, name: str) -> Person:
        rows = self._query("SELECT id, name, role, note FROM people WHERE name_key = ?", (name_key(name),))
        if not rows:
            raise RegisterError(f"no person named {name!r} in the register",
                                hint="see `imagegate register list`")
        return Person(*rows[0])

    def people(self) -> list[Person]:
        rows = self._query(f"SELECT id, name, role, note, {', '.join(CHECKSUMMED['people'])}, checksum"
                           " FROM people ORDER BY name")
        _verify(rows, 4, "people", self.path)
        return [Person(*r[:4]) for r in rows]

    def enrolment_basis(self, person: Person | str) -> EnrolmentBasis:
        """Why this person's face template may be held (enrolment consent or another basis), and since when."""
        person = self.get(person) if isinstance(person, str) else person
        rows = self._query(f"SELECT {', '.join(CHECKSUMMED['enrolment_basis'])}, checksum FROM enrolment_basis"
                           " WHERE person_id = ?", (person.id,))
        _verify(rows, 0, "enrolment_basis", self.path)
        created = self._query("SELECT created_at FROM people WHERE id = ?", (person.id,))
        if not rows:  # cannot happen through this class; say "unrecorded" rather than guess
            return EnrolmentBasis(UNRECORDED, None, None, None, created[0][0] if created else None)
        _pid, basis, evidence, day, recorded = rows[0][:5]
        return EnrolmentBasis(basis, evidence, day, recorded, created[0][0] if created else None)

    def set_basis(self, name: str, basis: str, evidence: str | None,
                  basis_date: dt.date | str | None = None) -> EnrolmentBasis:
        """Record (or correct) the basis for holding a person's template; the change is logged."""
        person = self.get(name)
        row = _basis_row(basis, evidence, basis_date, self.today())
        with self._tx() as db:
            db.execute("INSERT INTO enrolment_basis(person_id, basis, evidence, basis_date, recorded_at)"
                       " VALUES (?, ?, ?, ?, ?) ON CONFLICT(person_id) DO UPDATE SET basis = excluded.basis,"
                       " evidence = excluded.evidence, basis_date = excluded.basis_date,"
                       " recorded_at = excluded.recorded_at", (person.id, *row, self._now()))
        return self.enrolment_basis(person)

    def history(self, person: Person | str) -> list[dict]:
        """The register's log of changes concerning this person (enrolment, basis, templates, consents)."""
        person = self.get(person) if isinstance(person, str) else person
        rows = self._query(f"SELECT {', '.join(CHECKSUMMED['register_log'])}, checksum FROM register_log"
                           " WHERE person_id = ? ORDER BY id", (person.id,))
        _verify(rows, 0, "register_log", self.path)
        return [{"at": r[2], "action": r[3], **json.loads(r[4] or "{}")} for r in rows]

    def forget(self, name: str) -> None:
        """Delete a person with every consent and template; no bytes of them remain."""
        person = self.get(name)
        with self._tx() as db:
            db.execute("DELETE FROM people WHERE id = ?", (person.id,))
            # that someone was erased, and when; nothing about who (their own log rows went with them)
            db.execute("INSERT INTO register_log(person_id, at, action, detail) VALUES (NULL, ?, 'forgotten', NULL)",
                       (self._now(),))
        self._scrub()

    def _scrub(self) -> None:
        """Push deletions out of the WAL and truncate it, so deleted bytes are gone from disk files."""
        if self.in_memory:
            return
        deadline = time.monotonic() + self.timeout
        while not self._checkpoint():
            if time.monotonic() > deadline:
                raise RegisterError(
                    f"{self.path}: the person was deleted, but another process is reading the register, so "
                    "their data is not yet wiped from the register's files",
                    hint="close other imagegate processes; the wiping finishes when the register is next opened")
            time.sleep(0.05)

    def _checkpoint(self) -> bool:
        """A TRUNCATE checkpoint; False when a reader kept it from completing."""
        try:
            busy, _log, _done = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.DatabaseError as exc:
            raise RegisterError(f"{self.path}: could not checkpoint after deletion: {exc}") from None
        return busy == 0

    # -- consents -----------------------------------------------------------------

    def add_consent(self, name: str, channels: Iterable[str], *, valid_until: dt.date | str | None = None,
                    risks_explained: bool = False, evidence: str | None = None,
                    valid_from: dt.date | str | None = None) -> list[Consent]:
        """Record a consent. It covers `valid_from` (the day it was given; default: today, when it is
        recorded) to `valid_until` inclusive: a check dated before it is not covered."""
        person = self.get(name)
        chans = expand_channels(channels)
        until = _as_date(valid_until)
        start = _as_date(valid_from)
        if start is not None and until is not None and until < start:
            raise RegisterError(f"a consent cannot end ({until}) before it starts ({start})",
                                hint="check the --from and --until dates")
        last_day = until.isoformat() if until else None
        # a date alone (YYYY-MM-DD) marks the day it was given; a timestamp the moment it was recorded
        now = start.isoformat() if start else self._now()
        given = Consent("", now, last_day, bool(risks_explained), evidence, None)
        for c in self.consents(person.name):
            if c.channel in chans and c.withdrawn_at and given.given_before(c.withdrawn_at):
                day = dt.datetime.fromisoformat(c.withdrawn_at).astimezone().date()
                raise RegisterError(
                    f"{person.name} withdrew consent for {c.channel} on {day}; a consent given on {start or now[:10]} "
                    "was given before that and is ended by the withdrawal",
                    hint=f"record a consent given after the withdrawal: --from a day after {day}, or no "
                         "--from for one given today")
        with self._tx() as db:
            for ch in chans:
                db.execute(
                    "INSERT INTO consents(person_id, channel, granted_at, valid_until, risks_explained, evidence)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (person.id, ch, now, last_day, int(bool(risks_explained)), evidence))
        return [Consent(ch, now, last_day, bool(risks_explained), evidence, None) for ch in chans]

    def withdraw(self, name: str, channels: Iterable[str] | None = None) -> int:
        """Stamp withdrawal on active consents (all channels by default). Returns rows changed."""
        person = self.get(name)
        chans = expand_channels(channels) if channels else list(CHANNELS)
        marks = ",".join("?" * len(chans))
        with self._tx() as db:
            cur = db.execute(
                f"UPDATE consents SET withdrawn_at = ? WHERE person_id = ? AND withdrawn_at IS NULL"
                f" AND channel IN ({marks})", (self._now(), person.id, *chans))
        return cur.rowcount

    def consents(self, name: str) -> list[Consent]:
        """Every consent recorded for the person, in order; one given before a later withdrawal for its
        channel is shown withdrawn (see `_superseded`)."""
        person = self.get(name)
        rows = self._query(
            "SELECT channel, granted_at, valid_until, risks_explained, evidence, withdrawn_at FROM consents"
            " WHERE person_id = ? ORDER BY id", (person.id,))
        recorded = [Consent(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows]
        by_channel = {ch: iter(_superseded([c for c in recorded if c.channel == ch]))
                      for ch in dict.fromkeys(c.channel for c in recorded)}
        return [next(by_channel[c.channel]) for c in recorded]

    def consent_status(self, person: Person | str, channel: str, day: dt.date | None = None) -> ConsentStatus:
        """The person's consent state for `channel` on `day` (default today).

        A valid consent wins over expired/withdrawn ones; among valid ones, one with
        risks explained wins (rule 4) and then the latest expiry.
        """
        if isinstance(person, str):
            person = self.get(person)
        else:
            # A Person read earlier (a cached gallery) must still be who the register says: ids of
            # forgotten people are reused, and a stale role must never meet another person's consents.
            now = self._query("SELECT name, role FROM people WHERE id = ?", (person.id,))
            if not now or tuple(now[0]) != (person.name, person.role):
                raise RegisterError("a person matched in this photo was changed or removed in the register "
                                    "during the check", hint="check the photo again")
        channel = normalise_channel(channel)
        day = day or self.today()
        rows = self._query(
            "SELECT channel, granted_at, valid_until, risks_explained, evidence, withdrawn_at,"
            f" {', '.join(CHECKSUMMED['consents'])}, checksum FROM consents WHERE person_id = ? ORDER BY id",
            (person.id,))
        _verify(rows, 6, "consents", self.path)
        all_consents = [Consent(r[0], r[1], r[2], bool(r[3]), r[4], r[5]) for r in rows]
        mine = _superseded([c for c in all_consents if c.channel == channel])
        if not mine:
            return ConsentStatus(channel, ConsentState.OTHER_CHANNEL if all_consents else ConsentState.NONE)
        valid = [c for c in mine if c.state_on(day) == "valid"]
        if valid:
            best = max(valid, key=lambda c: (c.risks_explained, c.valid_until or "9999-12-31"))
            return ConsentStatus(channel, ConsentState.VALID, best.risks_explained, best.valid_until, best.evidence,
                                 best.valid_from)
        latest = mine[-1]
        return ConsentStatus(channel, ConsentState(latest.state_on(day)), latest.risks_explained, latest.valid_until,
                             latest.evidence, latest.valid_from)

    # -- templates ----------------------------------------------------------------

    def photo_enrolled(self, photo_sha256: str) -> Person | None:
        rows = self._query(
            "SELECT p.id, p.name, p.role, p.note FROM templates t JOIN people p ON p.id = t.person_id"
            " WHERE t.photo_sha256 = ? LIMIT 1", (photo_sha256,))
        return Person(*rows[0]) if rows else None

    def templates_of(self, person: Person | str, *, with_embeddings: bool = False) -> list[dict]:
        """A person's templates described (model, quality, face height, reference photo's sha256, date);
        the embedding itself only when asked for (an access request's export with --include-templates)."""
        person = self.get(person) if isinstance(person, str) else person
        rows = self._query(f"SELECT {', '.join(CHECKSUMMED['templates'])}, checksum FROM templates"
                           " WHERE person_id = ? ORDER BY id", (person.id,))
        _verify(rows, 0, "templates", self.path)
        out = []
        for _id, _pid, model, blob, quality, face_px, sha, created, _sum in rows:
            d = {"model": model, "quality": quality, "face_px": face_px, "photo_sha256": sha, "created_at": created}
            if with_embeddings:
                d["embedding"] = np.frombuffer(blob, dtype="<f4").astype(float).tolist()
            out.append(d)
        return out

    def template_counts(self) -> dict[int, int]:
        return {pid: n for pid, n in self._query("SELECT person_id, count(*) FROM templates GROUP BY person_id")}

    def gallery(self, model: str) -> Gallery:
        people = {p.id: p for p in self.people()}
        rows = self._query(f"SELECT person_id, embedding, {', '.join(CHECKSUMMED['templates'])}, checksum"
                           " FROM templates WHERE model = ? ORDER BY id", (model,))
        _verify(rows, 2, "templates", self.path)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = (np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(-1, EMBEDDING_DIM)
                if rows else np.zeros((0, EMBEDDING_DIM), np.float32))
        return Gallery(person_ids=ids, vectors=vecs.astype(np.float32), people=people)

    def summary(self, channels: Iterable[str] = CHANNELS, day: dt.date | None = None) -> list[dict]:
        """Names, roles, consent state per channel and template counts: never embeddings."""
        counts = self.template_counts()
        out = []
        for p in self.people():
            out.append({
                "name": p.name, "role": p.role, "note": p.note, "templates": counts.get(p.id, 0),
                "enrolment": self.enrolment_basis(p).to_dict(),
                "consent": {ch: self.consent_status(p, ch, day).to_dict() for ch in channels},
            })
        return out


def _embedding_bytes(embedding) -> bytes:
    vec = np.asarray(embedding, dtype="<f4").reshape(-1)
    if vec.shape != (EMBEDDING_DIM,) or not np.all(np.isfinite(vec)):
        raise RegisterError(f"a face template must be {EMBEDDING_DIM} finite numbers")
    return vec.tobytes()


def restore_over(path: str | os.PathLike, source: str | os.PathLike) -> None:
    """Replace a register that cannot be opened (damaged, cut to 0 bytes) with a checked backup: the
    backup is checked as `Register.restore_from` checks it, copied beside the register and renamed over
    it (long-lived gates notice the replaced file)."""
    path, src = Path(path), Path(source)
    tmp = path.with_name(fit_name(f".{path.name}", f".restore-{os.getpid()}"))
    tmp.unlink(missing_ok=True)
    with Register(tmp) as fresh:
        fresh.restore_from(src)
    os.replace(tmp, path)


