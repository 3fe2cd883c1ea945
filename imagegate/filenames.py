"""File names are data: they come from anywhere (a phone, a download, an attacker) and may hold
control characters, line breaks, bidi overrides or bytes that are not UTF-8.

One mechanism for every place a name is shown (`for_terminal`): a file named
`x\\rALLOWED  party.jpg` must not print as an ALLOWED line over its real verdict,
on a console or in a log. Where a name is stored (journal, audit log, reports),
`stored_name` keeps it losslessly: the text, plus the raw bytes (base64) when
the name is not valid UTF-8 and the text alone could not give them back.
"""

from __future__ import annotations

import base64
import os


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
