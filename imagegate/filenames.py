"""File names are data: they come from anywhere (a phone, a download, an attacker) and may hold
control characters, line breaks, bidi overrides or bytes that are not UTF-8.

One mechanism for every place a name is shown (`for_terminal`): a file named
`x\\rALLOWED  party.jpg` must not print as an ALLOWED line over its real verdict,
on a console or in a log. Where a name is stored (journal, audit log, reports),
`stored_name` keeps it losslessly: the text, plus the raw bytes (base64) when
the name is not valid UTF-8 and the text alone could not give them back. Where a
name is made from another (`x.jpg.json`, `x.preview.jpg`, `x (2).jpg`, a temporary
name), `fit_name` keeps it within what a file system takes: a legal 251-byte name
plus `.json` is not a legal name.
"""

from __future__ import annotations

import base64
import hashlib
import os

#: the longest file name, in bytes, that common file systems take (ext4, XFS, Btrfs, ZFS: 255 bytes; APFS and
#: NTFS: 255 characters, never fewer bytes of UTF-8 than that for the names imagegate makes)
NAME_MAX = 255
#: hexadecimal digits of the whole name's SHA-256 put into a shortened name: two long names that differ
#: anywhere, also in the part cut off, stay two names (and `free_name`-style numbering handles the rest)
NAME_HASH_CHARS = 10
#: at most this many bytes of a name's end are kept whole when it is shortened (an extension, `.preview.jpg`,
#: ` (2).jpg`); a longer "extension" is no extension, and only its end is kept
TAIL_MAX = 40
#: what `write_new`-style numbering may add to a made name: ` (9999)`
NUMBER_ROOM = len(" (9999)")


def printable(text: str) -> str:
    """Text that any UTF-8 stream can write. A file name that is not valid UTF-8 reaches Python
    with lone surrogates (os.fsdecode); they become `\\udcXX` escapes, which inside a JSON string
    are valid JSON and decode back to the same name, instead of crashing the whole output."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def for_terminal(text: str) -> str:
    """`printable`, with control and bidi-override characters escaped (names come from anywhere)."""
    return printable("".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text))


def is_unicode(name: str) -> bool:
    """Whether `name` is real Unicode text (no lone surrogates standing for undecodable bytes)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def stored_name(name: str, key: str = "file") -> dict:
    """`{key: name}`, or, for a name that is not valid UTF-8 (`os.fsdecode` gave it lone surrogates),
    `{key: printable form with \\udcXX escapes, key_b64: the name's bytes in base64}`."""
    if is_unicode(name):
        return {key: name}
    return {key: printable(name), f"{key}_b64": base64.b64encode(os.fsencode(name)).decode("ascii")}


def name_of(record: dict, key: str = "file") -> str:
    """The exact name (as `os.fsdecode` gives it) from a `stored_name` record."""
    raw = record.get(f"{key}_b64")
    return os.fsdecode(base64.b64decode(raw)) if raw else record[key]


def storable(obj):
    """`obj` (JSON-like) with every string that is not valid Unicode in its printable form: any text
    quoting a name (an error message) can then be written as UTF-8. Names themselves go through
    `stored_name` first, so nothing is lost."""
    if isinstance(obj, str):
        return obj if is_unicode(obj) else printable(obj)
    if isinstance(obj, dict):
        return {storable(k): storable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [storable(v) for v in obj]
    return obj


def _encoded(text: str) -> bytes:
    """`text` as a file name's bytes: those a name from `os.fsdecode` came from (each lone surrogate one
    byte); any other lone surrogate as UTF-8 would encode it."""
    try:
        return os.fsencode(text)
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _head(text: str, size: int) -> str:
    """The longest start of `text` (whole characters) of at most `size` bytes."""
    out, used = [], 0
    for ch in text:
        n = len(_encoded(ch))
        if used + n > size:
            break
        out.append(ch)
        used += n
    return "".join(out)


def fit_name(name: str, tail: str | None = None, *, room: int = 0, limit: int = NAME_MAX) -> str:
    """The file name `name + tail`: as it is if its bytes fit in a file name (`limit`, NAME_MAX), else
    shortened to the start of `name`, `~`, NAME_HASH_CHARS hex digits of the whole name's SHA-256, and
    `tail` kept whole (default: `name`'s own extension, taken off it), so a `.json`, a `.preview.jpg` or a
    ` (2).jpg` stays one. Two names that differ anywhere stay two names. `room`: bytes a shortened name
    leaves free for what a caller may still add to it (NUMBER_ROOM for ` (2)`).

    The one way imagegate makes a file name from another: report, preview and copy names, numbered names
    and temporary names (a name of 251 bytes is legal; with `.json` after it, it is not)."""
    if tail is None:
        name, tail = os.path.splitext(name)
    whole = name + tail
    data = _encoded(whole)
    if len(data) <= limit:
        return whole
    marker = "~" + hashlib.sha256(data).hexdigest()[:NAME_HASH_CHARS]
    budget = limit - room - len(marker)
    if len(_encoded(tail)) > min(TAIL_MAX, budget // 2):  # not an extension: only its end is kept
        kept = _head(tail[::-1], min(TAIL_MAX, budget // 2))[::-1]
        name, tail = name + tail[:len(tail) - len(kept)], kept
    return _head(name, budget - len(_encoded(tail))) + marker + tail
