"""What the register holds about one person, for answering their access request (GDPR Art. 15).

`person_record` gathers it (name, role, note, enrolment basis, consent history with evidence, the
register's log of changes about them, templates described, and the watcher's audit entries that name
them); `write_export` writes it as JSON and, beside it, the readable HTML page made of it
(outputs.export_page), both 0600 and never over an existing file. Face templates are described (count,
model, dates); the numbers themselves are included only when asked for, since they are the biometric data
itself.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path

from .. import private
from ..errors import AuditError, RegisterError
from ..filenames import fit_name
from ..words import messages
from . import audit
from .store import Register, name_key


def person_record(register: Register, name: str, *, audit_logs: Sequence[str | os.PathLike] = (),
                  include_templates: bool = False) -> dict:
    person = register.get(name)
    templates = register.templates_of(person, with_embeddings=include_templates)
    dates = sorted(t["created_at"] for t in templates)
    return {
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "register": register.path,
        "person": person.to_dict(),
        "enrolment": register.enrolment_basis(person).to_dict(),
        "consents": [c.to_dict() for c in register.consents(person.name)],
        "templates": {
            "count": len(templates),
            "models": sorted({t["model"] for t in templates}),
            "first_created": dates[0] if dates else None,
            "last_created": dates[-1] if dates else None,
            "what": messages.ui("export_templates_what", "en"),
            "embeddings_included": include_templates,
            "items": templates,
        },
        "register_log": register.history(person),
        "audit_entries": [e for log in audit_logs
                          for e in audit_entries_naming(log, person.name, others=[p.name for p in register.people()
                                                                                  if p.id != person.id])],
    }


def audit_entries_naming(path: str | os.PathLike, name: str, *, others: Sequence[str] = ()) -> list[dict]:
    """The watcher's audit lines whose reasons are about this person: by the names each reason lists in
    `people` (its structured data), never by searching the words, where "Grace" is found inside "Grace
    Hopper". Lines written before reasons listed their people are searched for the whole name, skipping
    where it is part of another registered person's name (`others`)."""
    key = name_key(name)
    pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    longer = [re.compile(rf"(?<!\w){re.escape(o)}(?!\w)") for o in others if key in name_key(o) and
              name_key(o) != key]

    def about(reason: dict) -> bool:
        people = reason.get("people")
        if isinstance(people, list):
            return any(isinstance(p, str) and name_key(p) == key for p in people)
        message = str(reason.get("message", ""))
        covered = {i for rx in longer for m in rx.finditer(message) for i in range(m.start(), m.end())}
        return any(m.start() not in covered for m in pattern.finditer(message))

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
        reasons = [r for r in listed if isinstance(r, dict) and about(r)] if isinstance(listed, list) else []
        if reasons:
            out.append({"log": str(path), "time": e.get("time"), "file": e.get("file"), "sha256": e.get("sha256"),
                        "decision": e.get("decision"), "channel": e.get("channel"),
                        "destination": e.get("destination"), "reasons": reasons})
    return out


def write_export(record: dict, out: str | os.PathLike, page: str) -> tuple[Path, Path]:
    """`record` as JSON at `out` and `page` (its HTML page) at the same name with `.html`; neither may exist
    yet."""
    json_path = Path(out)
    html_path = json_path.with_name(fit_name(json_path.stem, ".html"))
    if html_path == json_path:
        json_path = json_path.with_name(fit_name(json_path.stem, ".json"))
    data = {json_path: json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8"),
            html_path: page.encode("utf-8")}
    for p in data:
        if p.exists():
            raise RegisterError(f"{p} already exists; an export never overwrites a file", hint="choose a new name")
    written = []
    try:
        for p, content in data.items():
            private.write_new(p, content)  # a partial file is removed by write_new itself
            written.append(p)
    except OSError as exc:
        for p in written:
            p.unlink(missing_ok=True)
        raise RegisterError(f"cannot write the export {exc.filename}: {exc.strerror}") from None
    return json_path, html_path
