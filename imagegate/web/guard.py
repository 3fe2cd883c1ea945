"""The guard in front of every request to `imagegate serve` (the page shows clients' faces and changes
biometric data): see `Guard`.
"""

from __future__ import annotations

import hmac
import secrets
import socket

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..words import messages
from .requests import cookie, header_lang

#: request bodies held in memory at once (uploads wait there for the gate); beyond it 503, except that
#: one request alone is always taken
MEMORY_BUDGET = 1024 * 1024 * 1024
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
#: POSTs that change nothing and may come from a local script without the page's CSRF token
NO_CSRF = ("/api/check", "/api/redact", "/login")


def allowed_hosts(host: str, port: int, extra: tuple[str, ...] = ()) -> frozenset[str]:
    """`Host` header values this server answers to: its own names only. A DNS-rebinding page (evil.example
    resolving to 127.0.0.1) sends its own name and is refused."""
    names = set(LOOPBACK) | {host} | set(extra)
    if host not in LOOPBACK:
        names |= {socket.gethostname(), socket.getfqdn()}
        if host in ("0.0.0.0", "::"):
            try:
                names |= {str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)}
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

    def _wrong_address(self, headers: Headers) -> Response:
        return _wrong_address_page(self.hosts, headers.get("host", ""), header_lang(headers, self.lang))

    def refusal(self, scope) -> Response | None:
        headers = Headers(scope=scope)
        path, method = scope["path"], scope["method"]
        if headers.get("host", "").lower() not in self.hosts:
            if method == "GET" and "text/html" in headers.get("accept", ""):
                return self._wrong_address(headers)  # a person at a browser: say where the page is
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
        given = cookie(headers, ACCESS_COOKIE) or headers.get("authorization", "").removeprefix("Bearer ").strip()
        return self.token is not None and bool(given) and hmac.compare_digest(given, self.token)


def _wrong_address_page(hosts: frozenset[str], given: str, lang: str) -> HTMLResponse:
    """A page that says at which addresses this server answers (an address typed by hand, an IP the
    server does not know as its own): never the page itself, nor its CSRF token."""
    from ..outputs.templating import render

    # loopback names last: from another computer only the others work
    addresses = sorted((h for h in hosts if ":" in h.strip("[]").split("]")[-1]),
                       key=lambda h: (h.split(":")[0].strip("[]") in LOOPBACK, h))
    html = render("refused.html", lang=lang, other_lang="en" if lang == "fi" else "fi", path="/", csrf="",
                  given=given, addresses=addresses)
    return HTMLResponse(html, status_code=403)


def _refuse(status: int, why: str, headers: Headers, default_lang: str, **params) -> JSONResponse:
    message = messages.web(f"refused_{why}", header_lang(headers, default_lang), **params)
    return JSONResponse({"error": {"kind": "refused", "code": why, "message": message}}, status_code=status)


def new_access_token() -> str:
    return secrets.token_urlsafe(24)


def needs_token(host: str) -> bool:
    return host not in LOOPBACK
