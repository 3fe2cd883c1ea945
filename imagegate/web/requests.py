"""What a request to `imagegate serve` carries: its language, its cookies and its form.

Uploads are parsed into memory (never a temporary file), checked, and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.requests import Request

from ..errors import RegisterError
from ..register.store import parse_date
from ..words import messages

#: multipart overhead allowed above the photo size limit (field names, boundaries, the other fields)
FORM_OVERHEAD = 64 * 1024
LANG_COOKIE = "imagegate_lang"


def pick_lang(request: Request, default: str) -> str:
    """?lang=, then the page's switch (cookie), then the browser's Accept-Language, then the server's."""
    value = request.query_params.get("lang")
    return value if value in messages.LANGS else header_lang(request.headers, default)


def header_lang(headers: Headers, default: str) -> str:
    """The page's switch (cookie), then the browser's Accept-Language, then the server's language."""
    value = cookie(headers, LANG_COOKIE)
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
        # python-multipart reads str headers although its annotations say bytes
        headers: Any = dict(request.headers.items()) | {"Content-Type": request.headers.get("content-type", "")}
        parser = create_form_parser(headers, on_field, on_file,
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


async def read_form_or_urlencoded(request: Request, max_bytes: int) -> Form:
    try:
        return await read_form(request, max_bytes)
    except FormError:
        return Form()


def cookie(headers: Headers, name: str) -> str:
    """The value of cookie `name`, or ""."""
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


def enrolment_basis(form: Form, lang: str) -> dict:
    """Why the template may be held (as `register add --basis --evidence --basis-date`); {} = not recorded."""
    from ..register.schema import BASES

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
