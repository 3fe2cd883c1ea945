"""People's names in the register: one spelling per look, so two entries never look alike.

`register list` and every verdict show names; two people whose names look the same (a zero-width space
inside one, a Cyrillic "а" in "Grace Hopper") would be told apart by nobody reading them, and a consent
recorded for the wrong one of them is a wrong "allowed". So a new name is NFKC-normalised (full-width,
ligature and styled letters become plain ones), invisible and formatting characters are refused, one word
may not mix alphabets, and a name whose *skeleton* equals an existing name's is refused.

The skeleton follows Unicode's confusable-detection idea (UTS #39) with a small table instead of the full
confusables data: the letters of the Cyrillic and Greek alphabets that are drawn like Latin ones (the
scripts met in names in Finland besides Latin), the digits and signs drawn like letters (0/O, 1/l/I, |),
and "rn" drawn like "m"; then Unicode case folding. Accents are kept: "Åsa" and "Asa" look different.
"""

from __future__ import annotations

import unicodedata

from ..errors import RegisterError

# Look-alikes -> the Latin letter they are drawn like. Upper and lower case are listed separately because
# some look alike in one case only (Cyrillic "В" is Latin "B", its lower case "в" is not "b").
_LOOKALIKE = str.maketrans({
    # Cyrillic
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "У": "Y", "Ѕ": "S", "І": "I", "Ј": "J", "Ԁ": "d", "Ԛ": "Q", "Ԝ": "W", "Ү": "Y",
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j",
    "ԁ": "d", "һ": "h", "ԛ": "q", "ԝ": "w", "ӏ": "l", "Ӏ": "l", "ё": "ë", "ї": "ï", "ү": "y",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ν": "v", "ι": "i", "κ": "k", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "α": "a",
    # Latin letters, digits and signs drawn alike
    "ı": "i", "ȷ": "j", "ɡ": "g", "ɑ": "a", "ℓ": "l",
    "I": "l", "1": "l", "|": "l", "0": "O",
})
# Characters that show nothing, or nothing of their own, but are not format characters.
_INVISIBLE_EXTRA = {"\u034f", "\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e"}
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def _invisible(c: str) -> bool:
    cat = unicodedata.category(c)
    return (cat in ("Cf", "Cc", "Co", "Cs", "Cn", "Zl", "Zp") or c in _INVISIBLE_EXTRA
            or "\ufe00" <= c <= "\ufe0f" or "\U000e0100" <= c <= "\U000e01ef")  # variation selectors


def _script(c: str) -> str | None:
    if not c.isalpha():
        return None
    first = unicodedata.name(c, "").split(" ")[0]
    return first if first in _SCRIPTS else None


def normalise_name(name: str) -> str:
    """A new person's name as it is stored: NFKC, single spaces; refused when it holds invisible or
    formatting characters or mixes alphabets within a word."""
    text = unicodedata.normalize("NFKC", name)
    # named as typed (NFKC turns some, e.g. the Hangul filler, into other invisible characters)
    hidden = sorted({c for c in name if _invisible(c)} or {c for c in text if _invisible(c)})
    if hidden:
        chars = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in hidden)
        raise RegisterError.coded("name_invisible", name=ascii(name)[1:-1], chars=chars)
    text = " ".join(text.split())
    for word in text.split(" "):
        scripts = sorted({s for s in map(_script, word) if s})
        if len(scripts) > 1:
            raise RegisterError.coded("name_mixed_scripts", name=text, word=word,
                                      scripts=" + ".join(s.title() for s in scripts))
    return text


def skeleton(name: str) -> str:
    """What a name looks like: two names with the same skeleton are read as the same name."""
    text = unicodedata.normalize("NFKC", name).translate(_LOOKALIKE).casefold().translate(_LOOKALIKE)
    text = " ".join(c for c in text.split())
    return unicodedata.normalize("NFC", text.replace("rn", "m").replace("vv", "w"))


def check_distinct(name: str, existing: list[str]) -> None:
    """Refuse `name` when it looks like a registered name (the same name is refused elsewhere)."""
    mine = skeleton(name)
    for other in existing:
        if skeleton(other) == mine:
            raise RegisterError.coded("name_confusable", name=name, other=other)
