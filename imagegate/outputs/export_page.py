"""The readable page of a person's register export (`imagegate register export`), beside its JSON file.

The register gathers what it holds about the person (register.export.person_record); this page shows it
to them, in Finnish or English, from a template like every other page. Names and notes are user data and
are escaped; a Content-Security-Policy forbids scripts and any network fetch. The face templates' numbers
are never shown on the page (they are in the JSON file only when asked for).
"""

from __future__ import annotations

from .templating import render as render_template

CSP = "default-src 'none'; style-src 'unsafe-inline'"
#: a column never shown: a face template's numbers are the biometric data itself
HIDDEN = ("embedding",)


def render(record: dict, lang: str) -> str:
    """The page of `record` (person_record's dict) in `lang` (fi or en)."""
    return render_template("export.html", lang=lang, csp=CSP, columns=columns, cell=cell, **record)


def columns(rows: list[dict]) -> list[str]:
    """Every field of `rows`, in the order first met, named as in the JSON file."""
    return list(dict.fromkeys(k for r in rows for k in r if k not in HIDDEN))


def cell(value) -> str:
    """A field's value as text: nothing is "-", a list its items (an audit entry's reasons: their messages)."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return "; ".join(cell(x.get("message") if isinstance(x, dict) else x) for x in value)
    return str(value)
