"""Reasons in words: the one place a verdict's codes become Finnish or English.

The policy, the views and the metadata check decide in codes and parameters
(results.Reason); the CLI, the review sheet, the previews, the watcher, the web
page and JSON's `message` fields all word them here, in the language of the
person reading. Templates live in `messages`; this module knows which template
a code takes and how its parameters read (a consent's state, a face list, a
list of people).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..codes import ConsentState, ReasonCode
from ..results import Reason
from . import messages


def reason_text(reason: Reason, lang: str) -> str:
    """`reason` in `lang` (fi or en)."""
    lang = messages.check_lang(lang)
    if reason.inner is not None:
        # a picture's own reason: its faces are numbered in its pixels, so it is named by the picture
        title = messages.view_text(reason.params["view"], lang, n=reason.params.get("number", 0), title=True)
        return f"{title}: {reason_text(reason.inner, lang)}"
    p = dict(reason.params)
    faces = messages.faces_label(reason.faces, lang)
    special = _SPECIAL.get(reason.code)
    if special is not None:
        return special(p, faces, lang)
    return messages.render(reason.code, lang, faces=faces, **p)


def _client(p: Mapping[str, Any], faces, lang: str) -> str:
    if p.get("identified"):
        return messages.render("client_blocked", lang, faces=faces, name=p["name"],
                               detail=consent_detail(p, lang, client=True))
    return messages.render("possible_client", lang, faces=faces, name=p["name"], distance=p["distance"])


def _consented(p: Mapping[str, Any], faces, lang: str) -> str:
    return messages.render("consented", lang, faces=faces, name=p["name"], role=messages.role_text(p["role"], lang),
                           channel=p["channel"])


def _client_consented(p: Mapping[str, Any], faces, lang: str) -> str:
    return messages.render("client_consented", lang, faces=faces, name=p["name"], channel=p["channel"],
                           evidence=p.get("evidence") or "-")


def _no_consent(p: Mapping[str, Any], faces, lang: str) -> str:
    return messages.render("no_consent", lang, faces=faces, name=p["name"], role=messages.role_text(p["role"], lang),
                           detail=consent_detail(p, lang))


def _confirm(p: Mapping[str, Any], faces, lang: str) -> str:
    people = p["people"]
    if len(people) == 1:
        c = people[0]
        # the role as registered (not translated), as the register commands spell it
        return messages.render("confirm", lang, faces=faces, name=c["name"], role=c["role"], distance=c["distance"],
                               channel=p["channel"])
    names = messages.join_or([f"{c['name']} ({c['role']})" for c in people], lang)
    return messages.render("confirm_many", lang, faces=faces, names=names, channel=p["channel"])


def _uncertain(p: Mapping[str, Any], faces, lang: str) -> str:
    return messages.render("uncertain", lang, faces=faces, name=p.get("name") or "?",
                           distance=p.get("distance", float("nan")))


def _view_checked(p: Mapping[str, Any], faces, lang: str, code: str) -> str:
    return messages.render(code, lang, what=messages.view_text(p["view"], lang, n=p.get("number", 0)),
                           decision=messages.decision_text(p["decision"], lang))


def _metadata_people(p: Mapping[str, Any], faces, lang: str) -> str:
    return messages.render("metadata_people", lang, tags=", ".join(p["tags"]))


_SPECIAL: dict[str, Callable[[Mapping[str, Any], Any, str], str]] = {
    ReasonCode.CLIENT: _client,
    ReasonCode.CONSENTED: _consented,
    ReasonCode.CLIENT_CONSENTED: _client_consented,
    ReasonCode.NO_CONSENT: _no_consent,
    ReasonCode.CONFIRM: _confirm,
    ReasonCode.UNCERTAIN: _uncertain,
    ReasonCode.RENDERING_CHECKED: lambda p, f, lang: _view_checked(p, f, lang, "rendering_checked"),
    ReasonCode.EMBEDDED_CHECKED: lambda p, f, lang: _view_checked(p, f, lang, "embedded_checked"),
    ReasonCode.METADATA_PEOPLE: _metadata_people,
}


def consent_detail(p: Mapping[str, Any], lang: str, client: bool = False) -> str:
    """A person's consent for the channel in words, from a reason's `state`, `until`, `start`, `risks`."""
    state = p.get("state")
    if state is None:
        return messages.state_text(ConsentState.NONE, lang)
    if state == ConsentState.VALID and client and not p.get("risks"):
        return messages.render("client_no_risks", lang)
    return messages.state_text(state, lang, channel=p.get("channel"), until=p.get("until") or "?",
                               start=p.get("start") or "?")
