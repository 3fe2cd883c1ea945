"""Where a register lives: the one order in which it is chosen (an option, IMAGEGATE_REGISTER, the per-user
file), and the private folder and file it is kept in.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .. import private
from ..errors import RegisterDamagedError, RegisterError
from ..filenames import fit_name
from .schema import APPLICATION_ID

REGISTER_ENV = "IMAGEGATE_REGISTER"


@dataclass(frozen=True)
class RegisterLocation:
    """Which register file to use and who chose it: `option` (a --register option, a path given to
    Gate or imagegate.check), `environment` (IMAGEGATE_REGISTER) or `default` (the per-user file)."""

    path: Path
    source: str

    @property
    def named(self) -> bool:
        """Chosen on purpose: it must exist, since a typo or an unmounted share must never read as
        "nobody is enrolled". Only the per-user default may be missing (nobody enrolled yet)."""
        return self.source != "default"

    def __str__(self) -> str:
        return str(self.path)

    def check_folder(self) -> None:
        """Before a register is created: a named register's folder must exist. Only the per-user default
        folder is created, so a mistyped folder is an error rather than a new, empty register there."""
        folder = self.path.parent
        if self.named and not folder.is_dir():
            how = "IMAGEGATE_REGISTER" if self.source == "environment" else "--register"
            raise RegisterError(f"the folder {folder} of the register named by {how} does not exist",
                                hint="check the path for a typo, or create the folder first")


def user_register_path() -> Path:
    return Path(platformdirs.user_data_dir("imagegate")) / "register.sqlite3"


def locate_register(explicit: RegisterLocation | str | os.PathLike | None = None) -> RegisterLocation:
    """The one place the register is chosen, in one order: an explicit option, then IMAGEGATE_REGISTER,
    then the per-user default. Every command, Gate, imagegate.check and the watcher's workers use it
    (a location already resolved is passed on as it is, so worker processes never choose again)."""
    if isinstance(explicit, RegisterLocation):
        return explicit
    if explicit is not None and os.fspath(explicit) != "":
        return RegisterLocation(Path(os.fspath(explicit)), "option")
    override = os.environ.get(REGISTER_ENV)
    if override:
        return RegisterLocation(Path(override), "environment")
    return RegisterLocation(user_register_path(), "default")


def default_register_path() -> Path:
    """The register used when no option names one (IMAGEGATE_REGISTER, else the per-user file)."""
    return locate_register().path


SQLITE_HEADER = b"SQLite format 3\x00"


def _prepare_file(p: Path, *, create: bool) -> None:
    """Make sure `p` is either our 0600 file to create or an existing SQLite file."""
    if p.is_dir():
        raise RegisterError(f"register path {p} is a folder; expected a file")
    if not p.exists():
        if not create:
            raise RegisterError(f"register {p} does not exist",
                                hint="enrol someone with `imagegate register add` first")
        _private_parent(p.parent)
        _create_blank(p)
    try:
        with open(p, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise RegisterError(f"cannot read the register {p}: {exc.strerror}") from None
    if not head:
        # A new register is never empty at its path (see _create_blank): an empty one was cut short
        # or wiped, and read as "nobody enrolled" it would turn every client into a stranger.
        raise RegisterDamagedError(f"register {p} is empty (0 bytes): it was cut short or wiped",
                            hint="restore it from a backup (`imagegate register restore FILE`); if nobody was "
                                 "ever enrolled, delete the empty file")
    # SQLite adopts any file shorter than a page as a new database; never overwrite one that is not ours.
    if head != SQLITE_HEADER:
        raise RegisterError(f"{p} is not an imagegate register (not an SQLite file)",
                            hint="point --register at an imagegate register file")


def _create_blank(p: Path) -> None:
    """A new register appears at its path already marked as ours (never as an empty file, which
    would be indistinguishable from a register cut to 0 bytes): written under a temporary name and
    linked into place, which fails if another process created it a moment ago (that one is used)."""
    tmp = p.with_name(fit_name(f".{p.name}", f".new-{os.getpid()}-{time.monotonic_ns()}"))
    try:
        private.create_new(tmp)
        db = sqlite3.connect(tmp)
        try:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        finally:
            db.close()
        try:
            os.link(tmp, p)
        except FileExistsError:
            pass  # another process created it a moment ago; open that one
        except OSError:
            _copy_new(tmp, p)  # a filesystem without hard links (some network shares)
    except (OSError, sqlite3.Error) as exc:
        raise RegisterError(f"cannot create the register {p}: {getattr(exc, 'strerror', None) or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def _copy_new(src: Path, dest: Path) -> None:
    """`src`'s bytes into a new `dest` (an opener in the moment between creating and writing it sees an
    empty file and refuses it: an error, never an empty register). Another process's register already
    there is used as it is."""
    try:
        private.write_new(dest, src.read_bytes())
    except FileExistsError:
        return


def _private_parent(folder: Path) -> None:
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise RegisterError(f"cannot create the register folder {folder}: {exc.strerror}") from None
    if created:
        os.chmod(folder, 0o700)
    else:
        mode = stat.S_IMODE(folder.stat().st_mode)
        if mode & 0o077 and folder == Path(platformdirs.user_data_dir("imagegate")):
            os.chmod(folder, 0o700)
