"""Turn what users type, paste or drag onto a terminal into a list of photo paths.

Terminals paste dropped files as quoted paths ('/a b/c.jpg'), backslash-escaped
paths (/a\\ b/c.jpg) or file:// URIs, several on one line; Windows terminals use
"C:\\x\\y.jpg". Folders are walked recursively for photos; files named
explicitly are always checked, whatever their suffix, so a mislabelled photo is
an error rather than silently skipped.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from ..errors import ImageLoadError
from .loader import IMAGE_SUFFIXES, RAW_SUFFIXES, file_kind, looks_like_image, open_regular

_WINDOWS_PATH = re.compile(r"(^|[\s\"'])[A-Za-z]:\\")


def parse_dropped(text: str) -> list[str]:
    """Split one pasted/dropped line into paths."""
    text = text.strip()
    if not text:
        return []
    posix = not _WINDOWS_PATH.search(text)
    try:
        parts = shlex.split(text, posix=posix)
    except ValueError:
        # An unbalanced quote: treat the whole line as one path rather than guessing.
        parts = [text.strip("'\"")]
    if not posix:
        parts = [p.strip('"').strip("'") for p in parts]
    return [_from_uri(p) for p in parts if p]


def _from_uri(part: str) -> str:
    if part.startswith("file://"):
        parsed = urlparse(part)
        path = unquote(parsed.path)
        if parsed.netloc not in ("", "localhost"):
            # a file on another machine (file://server/share/x.jpg): a Windows share path there;
            # elsewhere kept as given, so it is reported as not found - never /share/x.jpg on this machine
            if os.name == "nt":
                return "\\\\" + parsed.netloc + path.replace("/", "\\")
            return part
        if re.match(r"^/[A-Za-z]:/", path):  # file:///C:/x.jpg
            path = path[1:]
        return path
    return part


def normalise_arg(arg: str) -> str:
    """A single CLI argument may itself be a file:// URI or carry stray quotes from a paste."""
    arg = arg.strip()
    if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "'\"":
        arg = arg[1:-1]
    return _from_uri(arg)


@dataclass(frozen=True)
class Target:
    """A photo to check, or a problem found while collecting them."""

    path: str
    error: ImageLoadError | None = None


#: told about each FIFO, device or socket a folder walk skips: (path, what it is)
OnSkip = Callable[[str, str], None]


def collect(paths: Iterable[str | os.PathLike], on_skip: OnSkip = lambda path, kind: None) -> Iterator[Target]:
    """Yield photo paths from files and (recursively) folders, in a stable order. A folder walk
    skips what is not a regular file (a FIFO named `x.jpg`, a device), telling `on_skip`; such a
    path named itself is yielded, and checking it is an error."""
    seen: set[str] = set()
    for raw in paths:
        p = Path(normalise_arg(os.fsdecode(raw)))
        if p.is_dir():
            found = False
            for t in _walk(p, seen, on_skip):
                found = True
                yield t
            if not found:
                yield Target(str(p), error=ImageLoadError.coded("empty_folder", source=str(p)))
        elif p.exists() or p.is_symlink():
            key = os.path.realpath(p)
            if key not in seen:
                seen.add(key)
                yield Target(str(p))
        else:
            yield Target(str(p), error=ImageLoadError.coded("missing_path", source=str(p)))


def _is_photo(name: str, full: str) -> bool:
    """Whether a file met in a folder walk is checked. By its name when the name says photo;
    otherwise by its first bytes, so a photo saved as `x.jpg_large`, without an extension or as a
    hidden file is checked, not silently skipped (a skipped client photo would read as allowed).
    A visible file with a photo's name is always checked (if it is no photo, that is an error);
    hidden ones only when they are photos, which leaves out macOS's `._x.jpg` companions."""
    suffix = Path(name).suffix.lower()
    if suffix in IMAGE_SUFFIXES and not name.startswith("."):
        return True
    if suffix in RAW_SUFFIXES:
        return False
    try:
        fd, _ = open_regular(full)
        with os.fdopen(fd, "rb") as fh:
            return looks_like_image(fh.read(32))
    except OSError:
        return suffix in IMAGE_SUFFIXES  # unreadable: a photo's name makes it an error to report


def _walk(root: Path, seen: set[str], on_skip: OnSkip) -> Iterator[Target]:
    visited_dirs: set[tuple[int, int]] = set()
    errors: list[Target] = []

    def onerror(exc: OSError) -> None:
        where = str(exc.filename or root)
        errors.append(Target(where, error=ImageLoadError.coded("folder_unreadable", source=where,
                                                                detail=str(exc.strerror))))

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=True):
        try:
            st = os.stat(dirpath)
            ident = (st.st_dev, st.st_ino)
        except OSError:
            continue
        if ident in visited_dirs:  # a symlink loop: walk each real folder once
            dirnames[:] = []
            continue
        visited_dirs.add(ident)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            try:
                mode = os.stat(full).st_mode  # followed, as os.walk follows links to folders
            except OSError:
                mode = stat.S_IFREG  # a dangling link: judged by its name (an error if it is named as a photo)
            if not stat.S_ISREG(mode):
                on_skip(full, file_kind(mode))
                continue
            if not _is_photo(name, full):
                continue
            key = os.path.realpath(full)
            if key in seen:
                continue
            seen.add(key)
            yield Target(full)
        yield from errors
        errors.clear()
