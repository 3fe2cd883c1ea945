"""`imagegate serve`: a local web page for the people who post (drop photos, read verdicts, manage
the register), and `POST /api/check` under it for local scripts.

This module is the Starlette application: its routes, pages and API. The parts it is built from:
`gate_thread` (the one thread with the models and the register), `guard` (the security checks in front
of every request: the page shows clients' faces and changes biometric data), `requests` (a request's
language and form, parsed in memory) and `sheets` (each open page's results for its review sheet).
Nothing is written to disk unless the user downloads a copy.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from pathlib import Path
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..channels import CHANNELS, expand_channels, normalise_channel
from ..codes import ATTENTION_ORDER, ConsentState, Role
from ..errors import ImagegateError, RegisterError, is_internal
from ..policy.rules import EVENTS, normalise_event
from ..register.store import ROLES, parse_date
from ..results import Failure
from ..words import messages
from ..words.report import report
from .gate_thread import Busy, GateThread
from .guard import ACCESS_COOKIE, Guard, allowed_hosts
from .requests import (
    FORM_OVERHEAD,
    LANG_COOKIE,
    Form,
    FormError,
    enrolment_basis,
    pick_lang,
    read_form,
    read_form_or_urlencoded,
)
from .sheets import Sheets

STATIC_DIR = Path(__file__).parent / "static"


class Server:
    """The Starlette application and what it serves from."""

    def __init__(self, gate_thread: GateThread, *, lang: str, channel: str = "facebook", event: str | None = None,
                 host: str = "127.0.0.1", port: int = 8765, token: str | None = None,
                 allow_hosts: tuple[str, ...] = ()) -> None:
        self.gates = gate_thread
        self.settings = gate_thread.settings
        self.lang = lang
        self.channel = normalise_channel(channel)
        # the page's preselected event: --event, else the settings' own
        self.event = normalise_event(event or self.settings.event)
        self.csrf = secrets.token_urlsafe(32)
        self.token = token
        self.sheets = Sheets()
        self.max_upload = self.settings.limits.max_file_bytes
        self.max_body = self.max_upload + FORM_OVERHEAD
        self.version = _version()
        routes = [
            Route("/", self.check_page),
            Route("/register", self.register_page),
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/sheet", self.sheet),
            Route("/api/check", self.api_check, methods=["POST"]),
            Route("/api/redact", self.api_redact, methods=["POST"]),
            Route("/api/sheet/clear", self.api_sheet_clear, methods=["POST"]),
            Route("/api/register", self.api_register),
            Route("/api/register/enrol", self.api_enrol, methods=["POST"]),
            Route("/api/register/consent", self.api_consent, methods=["POST"]),
            Route("/api/register/withdraw", self.api_withdraw, methods=["POST"]),
            Route("/api/register/forget", self.api_forget, methods=["POST"]),
            Route("/static/sheet.css", self.sheet_css),  # the review sheet's own CSS, shared
            Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
        ]
        self.app = Guard(Starlette(routes=routes), hosts=allowed_hosts(host, port, allow_hosts), token=token,
                         csrf=self.csrf, max_body=self.max_body, lang=lang)

    # -- pages

    def _page(self, request: Request, template: str, **context) -> HTMLResponse:
        from ..outputs.templating import render

        lang = pick_lang(request, self.lang)
        html = render(template, lang=lang, other_lang="en" if lang == "fi" else "fi", path=request.url.path,
                      csrf=self.csrf, **context)
        response = HTMLResponse(html)
        if request.query_params.get("lang") in messages.LANGS:
            response.set_cookie(LANG_COOKIE, lang, samesite="strict", httponly=True)
        return response

    async def check_page(self, request: Request) -> Response:
        lang = pick_lang(request, self.lang)
        strings = {k: v[lang] for k, v in messages.WEB.items()}
        strings.update({f"decision_{d}": messages.decision_text(d, lang) for d in messages.DECISIONS})
        return self._page(request, "check.html", page=self.sheets.new_page(), channels=CHANNELS,
                          channel=self.channel, events=EVENTS, event=self.event, order=ATTENTION_ORDER,
                          strings=strings)

    async def register_page(self, request: Request) -> Response:
        lang = pick_lang(request, self.lang)
        try:
            people = await self.gates.run(self.gates.summary)
            problem = None
        except ImagegateError as exc:
            people, problem = [], messages.error_text(exc, lang)
        unset = (ConsentState.NONE, ConsentState.OTHER_CHANNEL)
        shown = [c for c in CHANNELS if c in ("facebook", "twitter", "youtube", "instagram")
                 or any(p["consent"][c]["state"] not in unset for p in people)]
        rows = [{"name": p["name"], "role": p["role"], "templates": p["templates"],
                 "cells": [messages.consent_cell(p["consent"][c], p["role"], lang, brief=True) for c in shown]}
                for p in people]
        from ..register.schema import BASES

        return self._page(request, "register.html", people=rows, shown=shown, channels=CHANNELS, roles=ROLES,
                          bases=BASES,
                          register_file=str(self.gates.location), problem=problem,
                          strings={k: v[lang] for k, v in messages.WEB.items()})

    async def sheet_css(self, request: Request) -> Response:
        from ..outputs.templating import TEMPLATE_DIR

        return Response((TEMPLATE_DIR / "sheet.css").read_bytes(), media_type="text/css")

    async def login(self, request: Request) -> Response:
        if request.method == "GET" or self.token is None:
            return self._page(request, "login.html", wrong=False)
        form = await read_form_or_urlencoded(request, FORM_OVERHEAD)
        given = form.get("token", "") or ""
        if not hmac.compare_digest(given.strip(), self.token):
            return self._page(request, "login.html", wrong=True)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(ACCESS_COOKIE, self.token, samesite="strict", httponly=True)
        return response

    async def sheet(self, request: Request) -> Response:
        from ..outputs.sheet import render

        entries = self.sheets.get(request.query_params.get("page", ""))
        if entries is None:
            return JSONResponse({"error": {"kind": "not_found", "message": "no such page"}}, status_code=404)
        html = render(entries, pick_lang(request, self.lang), version=self.version)
        day = dt.date.today().isoformat()
        return HTMLResponse(html, headers={"content-disposition": f'attachment; filename="imagegate-{day}.html"'})

    # -- API

    def _choices(self, form: Form) -> tuple[str, str]:
        channel = normalise_channel(form.get("channel") or self.channel)
        return channel, normalise_event(form.get("event") or self.event)

    async def _photo_form(self, request: Request):
        """(form, (file name, bytes), channel, event), or an error response."""
        try:
            form = await read_form(request, self.max_body)
            channel, event = self._choices(form)
        except FormError as exc:
            return _bad(400, "bad_form", str(exc))
        except ImagegateError as exc:
            return _bad(400, "bad_choice", exc.message)
        photos = form.photos("photo")
        if len(photos) != 1:
            return _bad(400, "bad_form", f"expected one file in the field 'photo', found {len(photos)}")
        return form, photos[0], channel, event

    async def api_check(self, request: Request) -> Response:
        """The same JSON object as one photo of `imagegate check --json`. The page also sends `page` (with
        its CSRF token) and gets the photo's card as `html` beside the object."""
        parsed = await self._photo_form(request)
        if isinstance(parsed, Response):
            return parsed
        form, (name, data), channel, event = parsed
        lang = form.get("lang") if form.get("lang") in messages.LANGS else pick_lang(request, self.lang)
        page = form.get("page")
        for_page = page is not None and hmac.compare_digest(request.headers.get("x-csrf-token", ""), self.csrf)
        try:
            result, thumb = await self.gates.run(self.gates.check, data, name, channel, event, lang, for_page)
        except Busy:
            return _bad(503, "busy", messages.web("busy", lang))
        body = report(result, lang)
        if for_page:
            from ..outputs.templating import render

            self.sheets.add(page, result, thumb)
            body = {**body, "html": render("card.html", r=result, thumb=thumb, lang=lang)}
        return _json(body)

    async def api_redact(self, request: Request) -> Response:
        """The publishable copy `imagegate redact` makes, as a download; only an allowed copy is sent."""
        from ..redact import output_name

        parsed = await self._photo_form(request)
        if isinstance(parsed, Response):
            return parsed
        form, (name, data), channel, event = parsed
        lang = form.get("lang") if form.get("lang") in messages.LANGS else pick_lang(request, self.lang)
        try:
            copy = await self.gates.run(self.gates.redact, data, name, channel, event, lang)
        except Busy:
            return _bad(503, "busy", messages.web("busy", lang))
        if isinstance(copy, Failure):  # fail closed: no copy
            exc = copy.error
            if is_internal(exc):
                return _bad(500, "internal_error", messages.error_text(exc, lang))
            return _bad(422, str(getattr(exc, "code", None) or getattr(exc, "kind", "error")),
                        messages.error_text(exc, lang))
        if not copy.allowed:
            return _bad(422, "not_allowed", messages.ui("redact_not_saved", lang),
                        decision=copy.decision)
        filename = output_name(name, copy.suffix)
        media = "image/png" if copy.format == "PNG" else "image/jpeg"
        return Response(copy.data, media_type=media, headers={
            "content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "x-imagegate-hidden": str(len(copy.hidden))})

    async def api_sheet_clear(self, request: Request) -> Response:
        form = await read_form_or_urlencoded(request, FORM_OVERHEAD)
        self.sheets.clear(form.get("page", "") or "")
        return _json({"ok": True})

    async def api_register(self, request: Request) -> Response:
        """`imagegate register list --json`."""
        try:
            return _json(await self.gates.run(self.gates.summary))
        except ImagegateError as exc:
            return _bad(422, exc.kind, exc.message)

    async def _register_change(self, request: Request, change) -> Response:
        lang = pick_lang(request, self.lang)
        try:
            form = await read_form(request, self.max_body)
            return _json({"ok": True, **await change(form, lang)})
        except FormError as exc:
            return _bad(400, "bad_form", str(exc))
        except Busy:
            return _bad(503, "busy", messages.web("busy", lang))
        except ImagegateError as exc:
            return _bad(422, exc.kind, messages.error_text(exc, lang))

    async def api_enrol(self, request: Request) -> Response:
        async def change(form: Form, lang: str) -> dict:
            name, role = (form.get("name") or "").strip(), form.get("role") or ""
            if role not in ROLES:
                raise RegisterError(f"unknown role {role!r}; expected one of: {', '.join(ROLES)}")
            basis = enrolment_basis(form, lang)  # checked before any photo is read, as the CLI does
            photos = [(n, d) for n, d in form.photos("photo") if d]
            person, enrolled = await self.gates.run(self.gates.enrol, name, role, form.get("note") or None, photos,
                                                    basis)
            role_words = messages.role_text(person.role, lang)
            return {"message": messages.web("enrolled", lang, name=person.name, role=role_words, n=len(enrolled)),
                    "notes": [] if basis else [messages.web("basis_missing", lang)]}
        return await self._register_change(request, change)

    async def api_consent(self, request: Request) -> Response:
        async def change(form: Form, lang: str) -> dict:
            name = (form.get("name") or "").strip()
            channels = expand_channels(form.all("channel"))
            until = (form.get("until") or "").strip() or None
            last_day = parse_date(until) if until else None
            risks = form.get("risks_explained") in ("1", "on", "true", "yes")
            person, rows = await self.gates.run(self.gates.consent, name, channels, until, risks,
                                                (form.get("evidence") or "").strip() or None)
            notes = []
            if last_day is not None and last_day < dt.date.today():
                notes.append(messages.web("consent_past", lang))
            if person.role == Role.CLIENT and not risks:
                notes.append(messages.web("consent_client_risks", lang))
            return {"message": messages.web("consent_recorded", lang, name=person.name,
                                            channels=", ".join(r.channel for r in rows)), "notes": notes}
        return await self._register_change(request, change)

    async def api_withdraw(self, request: Request) -> Response:
        async def change(form: Form, lang: str) -> dict:
            name = (form.get("name") or "").strip()
            channels = expand_channels(form.all("channel")) if form.all("channel") else None
            n = await self.gates.run(self.gates.withdraw, name, channels)
            return {"message": messages.web("withdrew", lang, n=n, name=name)}
        return await self._register_change(request, change)

    async def api_forget(self, request: Request) -> Response:
        async def change(form: Form, lang: str) -> dict:
            name = (form.get("name") or "").strip()
            if not name or (form.get("confirm") or "").strip() != name:
                raise RegisterError(messages.web("forget_mismatch", lang, name=name))
            await self.gates.run(self.gates.forget, name)
            return {"message": messages.web("forgot", lang, name=name)}
        return await self._register_change(request, change)


#: the page's groups: what needs a person's attention first (as the review sheet), photos in progress last


def _json(body) -> JSONResponse:
    return JSONResponse(body)


def _bad(status: int, code: str, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": {"kind": "request_error", "code": code, "message": message, **extra}},
                        status_code=status)


def _version() -> str:
    from ..gate import _package_version

    return _package_version()
