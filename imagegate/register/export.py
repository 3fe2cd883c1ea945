"""What the register holds about one person, for answering their access request (GDPR Art. 15).

`person_record` gathers it (name, role, note, enrolment basis, consent history with evidence, the
register's log of changes about them, templates described, and the watcher's audit entries that name
them); `write_export` writes it as JSON and as a readable, self-contained HTML page, both 0600 and never
over an existing file. Face templates are described (count, model, dates); the numbers themselves are
included only when asked for, since they are the biometric data itself.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from . import audit
from ..errors import AuditError, RegisterError
from .store import Register


def person_record(register: Register, name: str, *, audit_logs: Sequence[str | os.PathLike] = (),
                  include_templates: bool = False) -> dict:
    person = register.get(name)
    templates = register.templates_of(person, with_embeddings=include_templates)
    dates = sorted(t["created_at"] for t in templates)
    return {
        "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "register": register.path,
        "person": person.to_dict(),
        "enrolment": register.enrolment_basis(person).to_dict(),
        "consents": [c.to_dict() for c in register.consents(person.name)],
        "templates": {
            "count": len(templates),
            "models": sorted({t["model"] for t in templates}),
            "first_created": dates[0] if dates else None,
            "last_created": dates[-1] if dates else None,
            "what": "face templates: 128 numbers per reference photo describing the face (dlib ResNet); the "
                    "photos themselves are not stored, only their sha256",
            "embeddings_included": include_templates,
            "items": templates,
        },
        "register_log": register.history(person),
        "audit_entries": [e for log in audit_logs for e in audit_entries_naming(log, person.name)],
    }


def audit_entries_naming(path: str | os.PathLike, name: str) -> list[dict]:
    """The watcher's audit lines whose reasons name this person (as a whole name, not part of a longer one)."""
    pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    # a log named by mistake must not read as "no decision named this person"
    if not os.path.isfile(path):
        raise AuditError(f"audit log {path} does not exist or is not a file",
                         hint="give the audit.jsonl that `imagegate watch` writes into its output folder")
    try:
        entries = audit.read(path)
    except OSError as exc:
        raise AuditError(f"audit log {path} could not be read: {exc.strerror or exc}") from None
    out = []
    for e in entries:
        listed = e.get("reasons")
        reasons = [r for r in listed if isinstance(r, dict) and pattern.search(str(r.get("message", "")))] \
            if isinstance(listed, list) else []
        if reasons:
            out.append({"log": str(path), "time": e.get("time"), "file": e.get("file"), "sha256": e.get("sha256"),
                        "decision": e.get("decision"), "channel": e.get("channel"),
                        "destination": e.get("destination"), "reasons": reasons})
    return out


def write_export(record: dict, out: str | os.PathLike) -> tuple[Path, Path]:
    """`out` (JSON) and the same name with `.html`; neither may exist yet."""
    json_path = Path(out)
    html_path = json_path.with_suffix(".html")
    if html_path == json_path:
        json_path = json_path.with_suffix(".json")
    data = {json_path: json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"),
            html_path: render_html(record).encode("utf-8")}
    for p in data:
        if p.exists():
            raise RegisterError(f"{p} already exists; an export never overwrites a file", hint="choose a new name")
    written = []
    try:
        for p, content in data.items():
            fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            written.append(p)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
    except OSError as exc:
        for p in written:
            p.unlink(missing_ok=True)
        raise RegisterError(f"cannot write the export {exc.filename}: {exc.strerror}") from None
    return json_path, html_path


def _table(rows: list[dict]) -> str:
    if not rows:
        return "<p>none</p>"
    cols = list(dict.fromkeys(k for r in rows for k in r if k != "embedding"))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in cols) + "</tr>"
                   for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, list):
        return "; ".join(_cell(x.get("message") if isinstance(x, dict) else x) for x in v)
    return str(v)


def render_html(record: dict) -> str:
    p, e, t = record["person"], record["enrolment"], record["templates"]
    esc = html.escape
    parts = [
        f"<h1>What the consent register holds about {esc(p['name'])}</h1>",
        f"<p>Exported {esc(record['exported_at'])} from {esc(str(record['register']))}.</p>",
        "<h2>Person</h2>", _table([p]),
        "<h2>Basis for holding the face template</h2>", _table([e]),
        "<h2>Consents to publish (history)</h2>", _table(record["consents"]),
        "<h2>Face templates</h2>",
        f"<p>{t['count']} template(s), model {esc(', '.join(t['models']) or '-')}, created "
        f"{esc(t['first_created'] or '-')} to {esc(t['last_created'] or '-')}. {esc(t['what'])}. The numbers "
        f"themselves are {'in the JSON file' if t['embeddings_included'] else 'not included in this export'}.</p>",
        _table(t["items"]),
        "<h2>Changes to the register concerning this person</h2>", _table(record["register_log"]),
        "<h2>Decisions on photos that named this person (audit log)</h2>", _table(record["audit_entries"]),
    ]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(p['name'])}: register export</title><style>body{{font-family:sans-serif;max-width:60em;"
            "margin:1em auto;padding:0 1em}table{border-collapse:collapse;margin-bottom:1em}"
            "td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}</style></head><body>"
            + "".join(parts) + "</body></html>\n")
