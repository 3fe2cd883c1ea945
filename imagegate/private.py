"""Files that hold personal data, written one way: owner-only, durable, never over another file.

A photo may show a client, a preview or a report names people, the register and its backups hold face
templates, an export answers a person's access request, the audit log records decisions about people.
Every such file is created with mode 0600 (only its owner reads it, whatever the folder allows), its
content is fsynced before the call returns (a power cut must not leave an empty or half file that later
reads as "nobody" or "nothing"), and a new file never replaces an existing one (a wrong path must not
destroy a photo, a register or an earlier export). Where a file is meant to be replaced, the replacement
is atomic: a reader sees the old content or the new, never half of it.

Part of the vocabulary: it imports nothing of imagegate, so every part may use it. Errors are the
operating system's (OSError and its subclasses, FileExistsError for a name already taken): each caller
says them in its own terms.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

#: owner read and write only
MODE = 0o600
#: link() errors of a filesystem without hard links (FAT, some network shares)
_NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a folder's entries durable: a file just created, renamed or removed in it survives a power cut
    only once its folder is fsynced too. Where folders cannot be opened (Windows), nothing is done."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_new(path: str | os.PathLike) -> None:
    """Reserve `path` as a new, empty private file for a writer that fills it itself (SQLite writing a
    register or a backup into it): created exclusively, so FileExistsError if anything is there, and 0600
    before the first byte of personal data arrives."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, MODE))


def write_new(path: str | os.PathLike, data: bytes) -> Path:
    """`data` as a new private file at `path`, fsynced. The create is exclusive, so FileExistsError if
    anything is there (a file, a link, a FIFO), also when another writer took the name a moment ago. If
    writing fails the file is removed: a partial file must not look like a finished one.

    The name exists from the start of the write; where a reader must never see the file half written,
    use `write_new_whole`."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, MODE)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise
    return Path(path)


def write_new_whole(path: str | os.PathLike, data: bytes) -> Path:
    """`data` as a new private file at `path`, all or nothing: written and fsynced under a temporary name in
    the same folder, then hard-linked to `path`, which unlike a rename never replaces what is there
    (FileExistsError). A reader sees no file or the whole file. Where hard links are not supported,
    `write_new` (exclusive, but visible while it is written) is the fallback."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".imagegate-", suffix=".tmp", dir=path.parent)  # 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_LINKS:
                raise
            write_new(path, data)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def overwrite(path: str | os.PathLike, data: bytes, *, times: os.stat_result | None = None) -> Path:
    """`data` at `path`, private and fsynced, in place: whatever is at `path` is truncated and written over.
    Only for a name in a folder of the writer's own that nobody else reads before the writer is done with
    it (the watcher's staging, where a photo checked again replaces what its first attempt left, or
    `write_replace`'s temporary file). `times`: keep a photo's access and modification times (its
    `os.stat_result`), set before the fsync."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, MODE), "wb") as fh:
        fh.write(data)
        fh.flush()
        if times is not None:
            os.utime(fh.fileno(), ns=(times.st_atime_ns, times.st_mtime_ns))
        os.fsync(fh.fileno())
    return Path(path)


def write_replace(path: str | os.PathLike, data: bytes, *, tmp: str | os.PathLike | None = None) -> None:
    """Replace `path` with `data` atomically: written to `tmp` (default `.NAME.tmp` beside it; a caller that
    cleans up after a crash names its own), fsynced, and renamed over `path`. A reader sees the old content
    or the new. The folder is not fsynced here: a caller whose step must survive a power cut calls
    `fsync_dir` once its step is done."""
    path = Path(path)
    tmp = Path(tmp) if tmp is not None else path.with_name(f".{path.name}.tmp")
    overwrite(tmp, data)
    os.replace(tmp, path)


def open_append(path: str | os.PathLike) -> int:
    """A private log that only grows, opened to read and to append (O_APPEND: every write lands at its end,
    whoever else appends), created 0600 if missing; when created, its folder is fsynced so the new log
    survives a power cut. Returns the file descriptor, the caller's to close."""
    created = not Path(path).exists()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, MODE)
    if created:
        fsync_dir(Path(path).parent)
    return fd


def touch(path: str | os.PathLike, when: float) -> None:
    """An empty private file whose modification time says when something last happened (a stamp, no data):
    created or emptied, made 0600 even if an older one had a wider mode, its times set to `when`."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, MODE))
    os.chmod(path, MODE)
    os.utime(path, (when, when))
