"""Is anyone still writing this file? Read a photo only once its writer is done.

A download that stalls after a GIF's first frame keeps its file open, unchanged for
longer than any settle time; the frame with the client arrives later. Size and time
cannot tell, the operating system can: on Linux a read lease (`F_SETLEASE F_RDLCK`)
is refused while any process has the file open for writing, and it is broken (we
are told by SIGIO, which the caller ignores) if one opens it while we read. Where a
lease cannot be taken (a file of another user, a filesystem without leases), the
open descriptors in /proc are searched for a writer instead, as far as this user
may look. Elsewhere (macOS, Windows) only the size and time tell.
"""

from __future__ import annotations

import errno
import os
import stat

from ..image.loader import open_regular


class StillWriting(Exception):
    """The file is open for writing, or changed while it was read: not taken this time."""


def ignore_lease_breaks() -> None:
    """A lease break is signalled with SIGIO, whose default action ends the process. Call in the
    main thread of a process that reads with `read_when_done`."""
    import signal

    if hasattr(signal, "SIGIO"):
        signal.signal(signal.SIGIO, signal.SIG_IGN)


def read_when_done(path: str | os.PathLike, limit: int) -> tuple[bytes, os.stat_result]:
    """The whole content of a regular file and its stat, read under a lease; StillWriting if a
    writer has it open, opens it meanwhile, or it changed while being read. OSError (SpecialFile
    for a FIFO or device) when it cannot be read; at most `limit` + 1 bytes are read."""
    fd, before = open_regular(path)
    try:
        leased = _take_lease(fd)
        if leased is None and _proc_writer(before):
            raise StillWriting(path)
        data = _read_all(fd, limit)
        after = os.fstat(fd)
        if leased:
            broken = _lease_broken(fd)
            _drop_lease(fd)
            if broken:
                raise StillWriting(path)
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns) \
                or (len(data) <= limit and len(data) != after.st_size):
            raise StillWriting(path)
        return data, after
    finally:
        os.close(fd)


def _read_all(fd: int, limit: int) -> bytes:
    chunks, total = [], 0
    while total <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _take_lease(fd: int) -> bool | None:
    """True: leased (nobody writes it). None: the OS cannot tell this way. StillWriting: a writer has it open."""
    try:
        import fcntl

        setlease = fcntl.F_SETLEASE
    except (ImportError, AttributeError):
        return None
    try:
        fcntl.fcntl(fd, setlease, fcntl.F_RDLCK)
    except OSError as exc:
        if exc.errno == errno.EAGAIN:
            raise StillWriting(fd) from None
        return None  # EACCES: not the file's owner; EINVAL: leases off or not on this filesystem
    return True


def _lease_broken(fd: int) -> bool:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_GETLEASE) != fcntl.F_RDLCK


def _drop_lease(fd: int) -> None:
    import fcntl

    fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)


def _proc_writer(st: os.stat_result) -> bool:
    """Whether any process whose descriptors this user may see has the file open for writing."""
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return False
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for n in fds:
            try:
                target = os.stat(f"/proc/{pid}/fd/{n}")
                if (target.st_dev, target.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISREG(target.st_mode):
                    continue
                with open(f"/proc/{pid}/fdinfo/{n}") as info:
                    flags = next(int(line.split()[1], 8) for line in info if line.startswith("flags:"))
            except (OSError, StopIteration, ValueError):
                continue
            if flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
                return True
    return False
