"""`imagegate serve`: a local web page for the people who post (drop photos, read verdicts, manage
the register), and `POST /api/check` under it for local scripts.

The models load once, into one worker thread that runs every check and every register change in
turn: ONNX Runtime already uses both cores for one photo, and one thread means the register and
the Gate are never used from two threads at once. The event loop only moves bytes, so the page stays
responsive while photos queue (at most MAX_PENDING; beyond that the answer is 503, never a guess).

Uploads are parsed into memory (never a temporary file), checked, and dropped. Only the review
sheet's small annotated thumbnails of a page's photos stay in memory until that page is cleared or
the server stops; nothing is written to disk unless the user downloads a copy.

Security (the page shows clients' faces and changes biometric data): see `Guard`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hmac
import secrets
import socket
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..words import messages
from ..channels import CHANNELS, expand_channels, normalise_channel
from ..codes import ConsentState, Decision, Role
from ..config import Settings
from ..errors import ImagegateError, RegisterError, internal_error
from ..policy.rules import EVENTS, normalise_event
from ..register.store import ROLES, Register, default_register_path, parse_date
from ..results import Failure, Verdict

STATIC_DIR = Path(__file__).parent / "static"
#: photos waiting for the gate thread before new ones are refused with 503
MAX_PENDING = 64
#: request bodies held in memory at once (uploads wait there for the gate); beyond it 503, except that
#: one request alone is always taken
MEMORY_BUDGET = 1024 * 1024 * 1024
#: pages whose review-sheet thumbnails are held (the oldest page's are dropped first)
MAX_PAGES = 8
MAX_SHEET_ENTRIES = 2000
#: multipart overhead allowed above the photo size limit (field names, boundaries, the other fields)
FORM_OVERHEAD = 64 * 1024
LOOPBACK = ("127.0.0.1", "localhost", "::1")
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
ACCESS_COOKIE = "imagegate_access"
LANG_COOKIE = "imagegate_lang"
#: POSTs that change nothing and may come from a local script without the page's CSRF token
NO_CSRF = ("/api/check", "/api/redact", "/login")


class Busy(Exception):
    """More photos are waiting than the server holds."""


# -- the gate thread ------------------------------------------------------------------------------------


class GateThread:
    """The models and register, used from one thread only; async callers queue for it."""

    def __init__(self, settings: Settings, register: Path | None, *, parts: tuple | None = None) -> None:
        """`parts`: an already loaded (detector, embedder) to share; it stays the caller's to close."""
        self.settings = settings
        self.register_arg = register
        self.register_path = Path(register) if register is not None else default_register_path()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagegate-gate")
        self._pending = 0
        self._lock = threading.Lock()
        self.gate = None
        self._parts = parts
        self._owns_parts = parts is None

    def start(self) -> None:
        self._executor.submit(self._load).result()

    def _load(self) -> None:
        import numpy as np

        from ..vision.detect import FaceDetector
        from ..vision.embed import FaceEmbedder
        from ..gate import Gate

        if self._parts is None:
            self._parts = (FaceDetector(self.settings.detector), FaceEmbedder())
        detector, embedder = self._parts
        # one Gate for both languages: verdicts are codes, worded in the reader's language on the page
        self.gate = Gate(register=self.register_arg, settings=self.settings, detector=detector, embedder=embedder)
        # the first inference of each network is slow: pay it now, not on the first photo
        warm = np.full((480, 640, 3), 128, np.uint8)
        detector.detect(warm, analysis_long_side=640)
        embedder.embed(warm, [(240.0, 160.0, 160.0, 160.0)], [0])
        self.gate.gallery()

    async def run(self, fn, *args):
        with self._lock:
            if self._pending >= MAX_PENDING:
                raise Busy()
            self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            with self._lock:
                self._pending -= 1

    def close(self) -> None:
        def _close():
            if self.gate is not None:
                self.gate.close()
            if self._parts is not None and self._owns_parts:
                self._parts[0].close()
        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)

    # everything below runs on the gate thread

    def check(self, data: bytes, name: str, channel: str, event: str, lang: str, thumbnail: bool):
        from ..image.loader import load_image
        from ..outputs.sheet import thumbnail as make_thumbnail

        try:
            img = load_image(data, self.settings.limits, source=name)
            verdict = dataclasses.replace(self.gate.check(img, channel=channel, event=event), lang=lang)
            return verdict, (make_thumbnail(img.rgb, verdict) if thumbnail else None)
        except ImagegateError as exc:
            return Failure(name, exc), None
        except Exception as exc:  # noqa: BLE001 - fail closed: a crash on one photo is an error, never allowed
            return Failure(name, internal_error(exc)), None

    def redact(self, data: bytes, name: str, channel: str, event: str, lang: str):
        from ..image.loader import load_image
        from ..redact import redact

        img = load_image(data, self.settings.limits, source=name)
        # judged as the page's check was, with its event
        return redact(self.gate, img, channel=channel, event=event)

    def open_register(self, *, create: bool) -> Register:
        return Register(self.register_path, create=create)

    def summary(self) -> list[dict]:
        if not self.register_path.exists():
            return []
        with self.open_register(create=False) as reg:
            return reg.summary()

    def enrol(self, name: str, role: str, note: str | None, photos: list[tuple[str, bytes]], basis: dict):
        """As `imagegate register add`: the same enrolment, checks and messages."""
        from ..enrol import enrol
        from ..gate import Gate
        from ..image.loader import load_image

        loaded = [load_image(data, self.settings.limits, source=fname) for fname, data in photos]
        detector, embedder = self._parts
        with self.open_register(create=True) as reg, Gate(register=reg, settings=self.settings,
                                                         detector=detector, embedder=embedder) as gate:
            return enrol(gate, name, role, loaded, note, **basis)

    def consent(self, name: str, channels: list[str], until: str | None, risks: bool, evidence: str | None):
        with self.open_register(create=False) as reg:
            rows = reg.add_consent(name, channels, valid_until=until, risks_explained=risks, evidence=evidence)
            return reg.get(name), rows

    def withdraw(self, name: str, channels: list[str] | None) -> int:
        with self.open_register(create=False) as reg:
            return reg.withdraw(name, channels)

    def forget(self, name: str) -> None:
        with self.open_register(create=False) as reg:
            reg.get(name)
            reg.forget(name)


# -- review sheets of the pages that are open ------------------------------------------------------------


class Sheets:
    """Each open page's checked photos (results and small thumbnails), for its review-sheet download."""

    def __init__(self) -> None:
        self._pages: OrderedDict[str, list] = OrderedDict()

    def new_page(self) -> str:
        page = secrets.token_urlsafe(16)
        self._pages[page] = []
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        return page

    def add(self, page: str, result, thumb: bytes | None) -> None:
        from ..outputs.sheet import SheetEntry

        entries = self._pages.get(page)
        if entries is not None and len(entries) < MAX_SHEET_ENTRIES:
            entries.append(SheetEntry(result, thumb if isinstance(result, Verdict) else None))

    def clear(self, page: str) -> None:
        if page in self._pages:
            self._pages[page] = []

    def get(self, page: str) -> list | None:
        return self._pages.get(page)


# -- the security guard ------------------------------------------------------------------------------------


def allowed_hosts(host: str, port: int, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """`Host` header values this server answers to: its own names only. A DNS-rebinding page (evil.example
    resolving to 127.0.0.1) sends its own name and is refused."""
    names = set(LOOPBACK) | {host} | set(extra)
    if host not in LOOPBACK:
        names |= {socket.gethostname(), socket.getfqdn()}
        if host in ("0.0.0.0", "::"):
            try:
                names |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
            except OSError:
                pass
    out = set()
    for name in names:
        name = name.lower()
        shown = f"[{name}]" if ":" in name else name
        out.add(f"{shown}:{port}")
        if port == 80:
            out.add(shown)
    return frozenset(out)


class Guard:
    """ASGI middleware in front of every request:

    - `Host` must be one of the server's own names (DNS rebinding) and `Origin`, when sent, this server
      itself; `Sec-Fetch-Site: cross-site` is refused too: 403;
    - with an access token (any --host other than loopback), every request but the login page must carry
      it (cookie set by the login page, or `Authorization: Bearer`): 401, or the login page;
    - a state-changing POST must carry the page's CSRF token in `X-CSRF-Token`: 403;
    - a POST must declare its length, at most `max_body` bytes: 411 / 413, before any byte is read; while
      other requests' bodies fill `memory_budget`, 503;
    - every response gets CSP (no inline script, nothing external), no-store, nosniff, no-referrer.
    """

    def __init__(self, app, *, hosts: frozenset[str], token: str | None, csrf: str, max_body: int,
                 lang: str = "en") -> None:
        self.app = app
        self.lang = lang  # for refusals to a browser that states no language
        self.hosts = hosts
        self.origins = frozenset(f"http://{h}" for h in hosts)
        self.token = token
        self.csrf = csrf
        self.max_body = max_body
        self.memory_budget = MEMORY_BUDGET
        self.held = 0  # bytes of request bodies being handled now (the event loop's thread only)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":  # none are served; refused before any check could be skipped
            return await send({"type": "websocket.close", "code": 1008})
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_secured(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in SECURITY_HEADERS if k not in names]
            await send(message)

        refusal = self.refusal(scope)
        if refusal is not None:
            return await refusal(scope, receive, send_secured)
        size = int(Headers(scope=scope).get("content-length") or 0)
        if self.held and self.held + size > self.memory_budget:
            return await _refuse(503, "memory", Headers(scope=scope), self.lang)(scope, receive, send_secured)
        self.held += size
        try:
            await self.app(scope, receive, send_secured)
        finally:
            self.held -= size

    def refusal(self, scope) -> Response | None:
        headers = Headers(scope=scope)
        path, method = scope["path"], scope["method"]
        if headers.get("host", "").lower() not in self.hosts:
            return _refuse(403, "host", headers, self.lang)
        origin = headers.get("origin")
        if (origin is not None and origin.lower() not in self.origins) or headers.get("sec-fetch-site") == "cross-site":
            return _refuse(403, "origin", headers, self.lang)
        if self.token is not None and path != "/login" and not path.startswith("/static/"):
            if not self._authorised(headers):
                if method == "GET" and not path.startswith("/api/"):
                    return RedirectResponse("/login", status_code=303)
                return _refuse(401, "token", headers, self.lang)
        if method not in ("GET", "HEAD"):
            if path not in NO_CSRF and not hmac.compare_digest(headers.get("x-csrf-token", ""), self.csrf):
                return _refuse(403, "csrf", headers, self.lang)
            length = headers.get("content-length")
            if length is None or not length.isdigit():
                return _refuse(411, "length", headers, self.lang)
            if int(length) > self.max_body:
                return _refuse(413, "too_big", headers, self.lang, size=int(length), limit=self.max_body)
        return None

    def _authorised(self, headers: Headers) -> bool:
        given = _cookie(headers, ACCESS_COOKIE) or headers.get("authorization", "").removeprefix("Bearer ").strip()
        return bool(given) and hmac.compare_digest(given, self.token)


def _cookie(headers: Headers, name: str) -> str:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def _refuse(status: int, why: str, headers: Headers, default_lang: str, **params) -> JSONResponse:
    message = messages.web(f"refused_{why}", header_lang(headers, default_lang), **params)
    return JSONResponse({"error": {"kind": "refused", "code": why, "message": message}}, status_code=status)


# -- requests ------------------------------------------------------------------------------------------


def pick_lang(request: Request, default: str) -> str:
    """?lang=, then the page's switch (cookie), then the browser's Accept-Language, then the server's."""
    value = request.query_params.get("lang")
    return value if value in messages.LANGS else header_lang(request.headers, default)


def header_lang(headers: Headers, default: str) -> str:
    """The page's switch (cookie), then the browser's Accept-Language, then the server's language."""
    value = _cookie(headers, LANG_COOKIE)
    if value in messages.LANGS:
        return value
    ranked = []
    for i, part in enumerate(headers.get("accept-language", "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        ranked.append((-weight, i, tag.strip().lower()[:2]))
    for _, _, tag in sorted(ranked):
        if tag in messages.LANGS:
            return tag
    return default


@dataclass
class Form:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # (field, file name, bytes)

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    def photos(self, name: str) -> list[tuple[str, bytes]]:
        return [(fname, data) for fld, fname, data in self.files if fld == name]


class FormError(Exception):
    pass


async def read_form(request: Request, max_bytes: int) -> Form:
    """The multipart form, parsed in memory (python-multipart, never spilled to a temporary file)."""
    from python_multipart import create_form_parser
    from python_multipart.exceptions import FormParserError

    form = Form()
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        # python-multipart hands over url-encoded values undecoded; the standard library decodes them
        body = await request.body()
        for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            form.fields.setdefault(key, []).append(value)
        return form

    def on_field(f):
        form.fields.setdefault(f.field_name.decode("utf-8", "replace"), []).append(
            (f.value or b"").decode("utf-8", "replace"))

    def on_file(f):
        f.file_object.seek(0)
        name = (f.file_name or b"").decode("utf-8", "replace")
        form.files.append((f.field_name.decode("utf-8", "replace"), _base_name(name), f.file_object.read()))
        f.close()

    try:
        parser = create_form_parser(dict(request.headers.items()) | {"Content-Type": request.headers.get(
            "content-type", "")}, on_field, on_file,
            config={"MAX_MEMORY_FILE_SIZE": max_bytes + 1, "MAX_BODY_SIZE": max_bytes})
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except (ValueError, FormParserError) as exc:
        raise FormError(f"expected a multipart form: {exc}") from None
    return form


def _base_name(name: str) -> str:
    """A browser sends a dropped file's name (a folder's files may carry their relative path)."""
    return name.replace("\\", "/").rsplit("/", 1)[-1] or "photo"


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
                          channel=self.channel, events=EVENTS, event=self.event, order=ORDER_ON_PAGE,
                          strings=strings)

    async def register_page(self, request: Request) -> Response:
        lang = pick_lang(request, self.lang)
        try:
            people = await self.gates.run(self.gates.summary)
            problem = None
        except ImagegateError as exc:
            people, problem = [], messages.error_text(exc, lang)
        shown = [c for c in CHANNELS if c in ("facebook", "twitter", "youtube", "instagram")
                 or any(p["consent"][c]["state"] not in (ConsentState.NONE, ConsentState.OTHER_CHANNEL) for p in people)]
        rows = [{"name": p["name"], "role": p["role"], "templates": p["templates"],
                 "cells": [consent_cell(p["consent"][c], p["role"], lang) for c in shown]} for p in people]
        from ..register.store import BASES

        return self._page(request, "register.html", people=rows, shown=shown, channels=CHANNELS, roles=ROLES,
                          bases=BASES,
                          register_file=str(self.gates.register_path), problem=problem,
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
        body = result.to_dict()
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
        except ImagegateError as exc:
            return _bad(422, getattr(exc, "code", None) or exc.kind, messages.error_text(exc, lang))
        except Exception as exc:  # noqa: BLE001 - fail closed: no copy
            return _bad(500, "internal_error", str(internal_error(exc, "redacting")))
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
            return {"message": messages.web("enrolled", lang, name=person.name, role=role_text(person.role, lang),
                                            n=len(enrolled)),
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
ORDER_ON_PAGE = (Decision.BLOCKED, Decision.NEEDS_CONSENT, Decision.ERROR, Decision.ALLOWED)


def enrolment_basis(form: Form, lang: str) -> dict:
    """Why the template may be held (as `register add --basis --evidence --basis-date`); {} = not recorded."""
    from ..register.store import BASES

    basis = (form.get("basis") or "").strip()
    if not basis:
        return {}
    if basis not in BASES:
        raise RegisterError(f"expected one of {', '.join(BASES)}, found {basis!r}")
    evidence = (form.get("evidence") or "").strip()
    if not evidence:
        raise RegisterError(messages.web("basis_needs_evidence", lang))
    day = (form.get("basis_date") or "").strip()
    return {"basis": basis, "evidence": evidence, "basis_date": parse_date(day) if day else None}


def consent_cell(status: dict, role: str, lang: str) -> dict:
    state, until = status["state"], status.get("valid_until")
    if state == ConsentState.VALID and role == Role.CLIENT and not status.get("risks_explained"):
        return {"state": "no_risks", "text": messages.web("consent_no_risks", lang)}
    if state == ConsentState.VALID:
        text = messages.web("consent_until", lang, date=until) if until else messages.web("consent_yes", lang)
        return {"state": ConsentState.VALID, "text": text}
    if state == ConsentState.EXPIRED:
        return {"state": state, "text": messages.web("consent_expired", lang, date=until)}
    if state == ConsentState.WITHDRAWN:
        return {"state": state, "text": messages.web("consent_withdrawn", lang)}
    return {"state": ConsentState.NONE, "text": "-"}


def role_text(role: str, lang: str) -> str:
    return messages.web(f"role_{role}", lang)


async def read_form_or_urlencoded(request: Request, max_bytes: int) -> Form:
    try:
        return await read_form(request, max_bytes)
    except FormError:
        return Form()


def _json(body) -> JSONResponse:
    return JSONResponse(body)


def _bad(status: int, code: str, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": {"kind": "request_error", "code": code, "message": message, **extra}},
                        status_code=status)


def _version() -> str:
    from ..gate import _package_version

    return _package_version()


def new_access_token() -> str:
    return secrets.token_urlsafe(24)


def needs_token(host: str) -> bool:
    return host not in LOOPBACK
