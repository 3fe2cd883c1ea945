"""What a register file holds and how it is checked: the schema and its versions, the migrations that
bring an older register up to date, each row's checksum, and the checks that refuse a foreign, newer or
damaged file.

The migrations call two SQL functions the connection must provide (store.Register registers them):
`imagegate_name_key` (store.name_key) and `imagegate_checksum` (`row_checksum`).
"""

from __future__ import annotations

import hashlib
import sqlite3

from ..errors import RegisterDamagedError, RegisterError

SCHEMA_VERSION = 4
APPLICATION_ID = 0x49474154  # "IGAT": tells our files from other SQLite databases

_SCHEMA_V1 = """
CREATE TABLE people (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role        TEXT NOT NULL CHECK (role IN ('client', 'staff', 'partner', 'other')),
    note        TEXT,
    created_at  TEXT NOT NULL
);
CREATE TABLE consents (
    id               INTEGER PRIMARY KEY,
    person_id        INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    channel          TEXT NOT NULL,
    granted_at       TEXT NOT NULL,
    valid_until      TEXT,
    risks_explained  INTEGER NOT NULL DEFAULT 0 CHECK (risks_explained IN (0, 1)),
    evidence         TEXT,
    withdrawn_at     TEXT
);
CREATE INDEX consents_person ON consents(person_id, channel);
CREATE TABLE templates (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    model         TEXT NOT NULL,
    embedding     BLOB NOT NULL CHECK (length(embedding) = 512),
    quality       REAL NOT NULL,
    face_px       REAL NOT NULL,
    photo_sha256  TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX templates_person ON templates(person_id);
"""

# v2: SQLite's NOCASE folds ASCII only, so "Äijälä" and "äijälä" were two people.
# Uniqueness and look-ups now go through a Unicode-aware key computed in Python.
_SCHEMA_V2 = """
ALTER TABLE people ADD COLUMN name_key TEXT;
UPDATE people SET name_key = imagegate_name_key(name);
CREATE UNIQUE INDEX people_name_key ON people(name_key);
"""

# v3: every row carries a checksum of its content, kept by triggers (so every writer keeps it) and
# verified on reading: quick_check sees SQLite's structures, not a damaged value inside a row, and a
# template with damaged bytes made a client an "unknown" face. Existing rows are summed on upgrade.
CHECKSUMMED = {
    "people": ("id", "name", "role", "note", "created_at"),
    "consents": ("id", "person_id", "channel", "granted_at", "valid_until", "risks_explained", "evidence",
                 "withdrawn_at"),
    "templates": ("id", "person_id", "model", "embedding", "quality", "face_px", "photo_sha256", "created_at"),
}


def _checksum_steps(table: str, add_column: bool) -> list[str]:
    cols = CHECKSUMMED[table]
    key, sums = cols[0], f"imagegate_checksum({', '.join(cols)})"
    out = [f"ALTER TABLE {table} ADD COLUMN checksum TEXT"] if add_column else []
    out.append(f"UPDATE {table} SET checksum = {sums}")
    for event in ("INSERT", f"UPDATE OF {', '.join(c for c in cols if c != key)}"):
        name = f"{table}_checksum_{event.split()[0].lower()}"
        out.append(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW BEGIN "
                   f"UPDATE {table} SET checksum = {sums} WHERE {key} = NEW.{key}; END")
    return out


# v4 (issue 18): why a person's face template may be held at all (separate from consent to publish),
# and a log of register changes. The log is written by triggers, so every writer logs; a person's log
# rows go with them when they are forgotten. Existing people get the basis "unrecorded".
BASES = ("consent", "other")
UNRECORDED = "unrecorded"
CHECKSUMMED["enrolment_basis"] = ("person_id", "basis", "evidence", "basis_date", "recorded_at")
CHECKSUMMED["register_log"] = ("id", "person_id", "at", "action", "detail")


def _log_trigger(name: str, event: str, person: str, at: str, action: str, detail: str, when: str = "") -> str:
    return (f"CREATE TRIGGER log_{name} AFTER {event} FOR EACH ROW {when} BEGIN "
            f"INSERT INTO register_log(person_id, at, action, detail) VALUES ({person}, {at}, '{action}', "
            f"json_object({detail})); END")


_BASIS_DETAIL = "'basis', NEW.basis, 'evidence', NEW.evidence, 'date', NEW.basis_date"
_SCHEMA_V4 = [
    "CREATE TABLE enrolment_basis ("
    " person_id INTEGER PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,"
    f" basis TEXT NOT NULL CHECK (basis IN ('consent', 'other', '{UNRECORDED}')),"
    " evidence TEXT, basis_date TEXT, recorded_at TEXT NOT NULL, checksum TEXT)",
    f"INSERT INTO enrolment_basis(person_id, basis, recorded_at) SELECT id, '{UNRECORDED}', created_at FROM people",
    "CREATE TABLE register_log ("
    " id INTEGER PRIMARY KEY, person_id INTEGER REFERENCES people(id) ON DELETE CASCADE,"
    " at TEXT NOT NULL, action TEXT NOT NULL, detail TEXT, checksum TEXT)",
    "CREATE INDEX register_log_person ON register_log(person_id)",
    *_checksum_steps("enrolment_basis", add_column=False),
    *_checksum_steps("register_log", add_column=False),
    _log_trigger("enrolled", "INSERT ON people", "NEW.id", "NEW.created_at", "enrolled",
                 "'name', NEW.name, 'role', NEW.role"),
    _log_trigger("basis", "INSERT ON enrolment_basis", "NEW.person_id", "NEW.recorded_at", "basis", _BASIS_DETAIL),
    _log_trigger("basis_changed", "UPDATE OF basis, evidence, basis_date ON enrolment_basis", "NEW.person_id",
                 "NEW.recorded_at", "basis", _BASIS_DETAIL),
    _log_trigger("template", "INSERT ON templates", "NEW.person_id", "NEW.created_at", "template",
                 "'model', NEW.model, 'photo_sha256', NEW.photo_sha256"),
    _log_trigger("consent", "INSERT ON consents", "NEW.person_id", "NEW.granted_at", "consent",
                 "'channel', NEW.channel, 'valid_until', NEW.valid_until, 'risks_explained', NEW.risks_explained, "
                 "'evidence', NEW.evidence"),
    _log_trigger("withdrawn", "UPDATE OF withdrawn_at ON consents", "NEW.person_id", "NEW.withdrawn_at",
                 "withdrawn", "'channel', NEW.channel",
                 when="WHEN NEW.withdrawn_at IS NOT NULL AND OLD.withdrawn_at IS NULL"),
]

MIGRATIONS = {1: _SCHEMA_V1, 2: _SCHEMA_V2,
              3: [step for t in ("people", "consents", "templates") for step in _checksum_steps(t, True)],
              4: _SCHEMA_V4}


def migrate(db: sqlite3.Connection, path) -> None:
    """Bring the register open in `db` up to SCHEMA_VERSION (a blank database becomes a register), inside
    the caller's write transaction; a foreign or newer file is refused."""
    app_id, version, tables = _identity(db)
    if _check_identity(path, app_id, version, tables):
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for v in range(version + 1, SCHEMA_VERSION + 1):
        steps = MIGRATIONS[v]
        for stmt in steps.split(";") if isinstance(steps, str) else steps:
            if stmt.strip():
                db.execute(stmt)
        db.execute(f"PRAGMA user_version = {v}")


def row_checksum(*values) -> str:
    """sha256 over a row's values, each typed and length-prefixed (so no two rows sum alike by shifting
    bytes between columns). Detects damage, not a deliberate edit: anyone who can write the file can
    recompute it."""
    h = hashlib.sha256()
    for v in values:
        if v is None:
            enc = b"N"
        elif isinstance(v, bytes):
            enc = b"B" + v
        elif isinstance(v, int):
            enc = b"I" + str(v).encode()
        elif isinstance(v, float):
            enc = b"F" + repr(v).encode()
        else:
            enc = b"T" + str(v).encode("utf-8", "surrogatepass")
        h.update(len(enc).to_bytes(8, "big") + enc)
    return h.hexdigest()


def _identity(db: sqlite3.Connection) -> tuple[int, int, int]:
    """application_id, schema version and number of schema objects: enough to tell what a file is."""
    return (db.execute("PRAGMA application_id").fetchone()[0],
            db.execute("PRAGMA user_version").fetchone()[0],
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])


def _check_identity(path, app_id: int, version: int, tables: int) -> bool:
    """Refuse foreign or newer files; True when the database is still blank."""
    blank = app_id == 0 and version == 0 and tables == 0
    if not blank and app_id != APPLICATION_ID:
        raise RegisterError(f"{path} is an SQLite database but not an imagegate register",
                            hint="point --register at an imagegate register file")
    if version > SCHEMA_VERSION:
        raise RegisterError(
            f"{path} was written by a newer imagegate (schema {version}; this version knows {SCHEMA_VERSION})",
            hint="upgrade imagegate")
    return blank


def _check_integrity(db: sqlite3.Connection, path,
                     hint: str = "restore it from a backup (`imagegate register restore`)") -> None:
    """A damaged register must never read as a smaller one (someone's consent or template
    silently missing); quick_check is cheap at this size."""
    problems = [r[0] for r in db.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise RegisterDamagedError(f"{path} is damaged: {'; '.join(problems[:3])}", hint=hint)


WHAT = {"people": "person", "consents": "consent", "templates": "face template",
        "enrolment_basis": "enrolment basis", "register_log": "register log"}


def _verify(rows: list[tuple], start: int, table: str, path) -> None:
    """Each row carries, from `start` on, its checksummed columns and then the checksum stored with it."""
    bad = [r for r in rows if r[-1] != row_checksum(*r[start:-1])]
    if bad:
        ids = ", ".join(str(r[start]) for r in bad[:5])
        raise RegisterDamagedError(
            f"{path} is damaged: {len(bad)} {WHAT[table]} row(s) (id {ids}) do not match the checksum stored "
            "with them, so the register cannot be trusted (a damaged face template would make a client "
            "unknown)", hint="restore the register from a backup (`imagegate register restore FILE`)")


def _check_rows(db: sqlite3.Connection, path, hint: str | None = None) -> None:
    """Every row of a register (schema 3 and later) against its checksum."""
    if db.execute("PRAGMA user_version").fetchone()[0] < 3:
        return
    present = {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table, cols in CHECKSUMMED.items():
        if table not in present:  # a backup from before the table existed
            continue
        rows = db.execute(f"SELECT {', '.join(cols)}, checksum FROM {table}").fetchall()
        try:
            _verify(rows, 0, table, path)
        except RegisterError as exc:
            raise RegisterDamagedError(exc.message, hint=hint or exc.hint) from None
