"""File names are data: they come from anywhere (a phone, a download, an attacker) and may hold
control characters, line breaks, bidi overrides or bytes that are not UTF-8.

One mechanism for every place a name is shown (`for_terminal`): a file named
`x\\rALLOWED  party.jpg` must not print as an ALLOWED line over its real verdict,
on a console or in a log.
"""

from __future__ import annotations


def printable(text: str) -> str:
    """Text that any UTF-8 stream can write. A file name that is not valid UTF-8 reaches Python
    with lone surrogates (os.fsdecode); they become `\\udcXX` escapes, which inside a JSON string
    are valid JSON and decode back to the same name, instead of crashing the whole output."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def for_terminal(text: str) -> str:
    """`printable`, with control and bidi-override characters escaped (names come from anywhere)."""
    return printable("".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text))
