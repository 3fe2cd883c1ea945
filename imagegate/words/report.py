"""A checked photo as the JSON people and tools read: the verdict's codes with every reason in words.

`Verdict.to_dict()` is codes only; this adds each reason's `message` (and the `lang` it is in), the one
place JSON gets its words, so the command line, the watcher's reports and the web page say the same.
"""

from __future__ import annotations

from typing import Any

from ..codes import Severity
from ..results import Failure, Reason, Verdict
from . import messages
from .wording import reason_text


def verdict_json(verdict: Verdict, lang: str) -> dict[str, Any]:
    return worded(verdict.to_dict(), lang)


def worded(codes: dict[str, Any], lang: str) -> dict[str, Any]:
    """A verdict's codes (`Verdict.to_dict()`, which may have crossed a process or a file) with every
    reason's `message` in `lang` and the `lang` itself, keys where the JSON always had them."""
    lang = messages.check_lang(lang)
    if "reasons" not in codes or "versions" not in codes:  # a failure's report: its error says it
        return dict(codes)
    out: dict[str, Any] = {}
    for key, value in codes.items():
        if key == "reasons":
            value = [_worded_reason(r, lang) for r in value]
        elif key == "versions":
            out["lang"] = lang
        out[key] = value
    return out


def _worded_reason(codes: dict[str, Any], lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in codes.items():
        if key == "inner":
            value = _worded_reason(value, lang)
        out[key] = value
        if key == "faces":
            out["message"] = reason_text(_reason(codes), lang)
    return out


def _reason(codes: dict[str, Any]) -> Reason:
    """The Reason a `Reason.to_dict()` came from (faces are numbered from 1 there, from 0 here)."""
    inner = codes.get("inner")
    return Reason(code=codes["code"], rule=codes.get("rule"), severity=codes.get("severity", Severity.INFO),
                  faces=tuple(i - 1 for i in codes.get("faces", ())), params=codes.get("params") or {},
                  inner=_reason(inner) if inner is not None else None)


def report(result: Verdict | Failure, lang: str = "en") -> dict[str, Any]:
    """The JSON report of a checked photo (a verdict, reasons in `lang`) or of one that could not be
    checked (a failure: what went wrong, for the person and for a program)."""
    if isinstance(result, Failure):
        return result.to_dict()
    return verdict_json(result, lang)
