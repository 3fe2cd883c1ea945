"""The Jinja2 templates shared by the review sheet (sheet.py), the register export (export_page.py) and
the web page (web/app.py).

Autoescaping is on for every template: file and person names are user data, and a
name like `<img onerror=...>` must come out as text on the sheet and on the page alike.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ..words import messages
from ..words.wording import reason_text

TEMPLATE_DIR = Path(__file__).parent / "templates"


def data_uri(jpeg: bytes | None) -> str | None:
    return f"data:image/jpeg;base64,{base64.b64encode(jpeg).decode('ascii')}" if jpeg else None


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(decision_text=messages.decision_text, category_text=messages.category_text,
                       error_text=messages.error_text, reason_text=reason_text, ui=messages.ui, web=messages.web,
                       role_text=messages.role_text, basename=os.path.basename)
    env.filters["data_uri"] = data_uri
    return env


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)
