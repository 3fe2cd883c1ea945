"""The review sheet: one self-contained HTML file people look at instead of reading a terminal.

Every photo appears with its annotated preview (a small JPEG embedded as a data
URI, encoded from pixels only, so no metadata), its verdict, reasons and faces,
grouped by verdict with the most urgent first. File and person names are user
data and are escaped everywhere; a Content-Security-Policy forbids scripts and
any network fetch, so even a mistake in escaping could not run code or leak the
sheet's contents. No JavaScript, no external assets: it opens from a USB stick or
an e-mail attachment on a phone.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np

from . import messages
from .annotate import render_preview
from .metadata import OutputError, encode, write_whole
from .verdict import Failure, Verdict

#: section order: what needs a person's attention first
ORDER = ("blocked", "needs_consent", "error", "allowed")
THUMB_LONG_SIDE = 640
THUMB_QUALITY = 80
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:12px;background:#f4f4f4;
color:#1b1b1b;line-height:1.4}
main{max-width:980px;margin:0 auto}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}
.counts{display:flex;flex-wrap:wrap;gap:8px;padding:0;list-style:none;margin:0 0 1rem}
.counts li{padding:6px 10px;border-radius:6px;background:#fff;border-left:6px solid #999}
.counts .n{font-weight:700;font-size:1.2rem;margin-right:4px}
.blocked{border-color:#dc1e1e!important}.needs_consent{border-color:#ff8c00!important}
.allowed{border-color:#1eaa3c!important}.error{border-color:#a020a0!important}
section>h2{font-size:1.15rem;margin:1.4rem 0 .5rem}
article{background:#fff;border-radius:8px;border-left:8px solid #999;padding:10px;margin:0 0 12px;
display:grid;grid-template-columns:minmax(0,320px) minmax(0,1fr);gap:12px}
@media (max-width:640px){article{grid-template-columns:minmax(0,1fr)}}
article img{width:100%;height:auto;border-radius:4px;display:block}
.noimg{background:#ddd;color:#555;padding:2rem;text-align:center;border-radius:4px}
h3{font-size:1rem;margin:0 0 .3rem;word-break:break-all}
.badge{display:inline-block;color:#fff;border-radius:4px;padding:1px 8px;font-weight:700;font-size:.85rem}
.badge.blocked{background:#dc1e1e}.badge.needs_consent{background:#ff8c00}.badge.allowed{background:#1eaa3c}
.badge.error{background:#a020a0}
ul.reasons{padding-left:1.1rem;margin:.4rem 0}
li.warning{color:#8a4b00}
.faces{overflow-x:auto}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{text-align:left;padding:3px 6px;border-bottom:1px solid #e2e2e2;white-space:nowrap}
.cat-client{color:#dc1e1e;font-weight:700}.cat-needs_consent{color:#c26a00;font-weight:700}
.cat-consented{color:#1e8a3c}.cat-crowd{color:#2860d0}.cat-not_identifiable{color:#777}
footer{color:#666;font-size:.8rem;margin-top:1.5rem}
"""


@dataclass(frozen=True)
class SheetEntry:
    result: Verdict | Failure
    thumbnail: bytes | None = field(default=None, repr=False)  # clean JPEG of the annotated preview


def thumbnail(rgb: np.ndarray, verdict: Verdict) -> bytes:
    return encode(render_preview(rgb, verdict, long_side=THUMB_LONG_SIDE), format="JPEG", quality=THUMB_QUALITY)


class ReviewSheet:
    """Collects results as photos are checked (thumbnails made at once, so full images are not kept)."""

    def __init__(self, lang: str = "en", version: str = "") -> None:
        self.lang = messages.check_lang(lang)
        self.version = version
        self.entries: list[SheetEntry] = []

    def add(self, result: Verdict | Failure, rgb: np.ndarray | None = None) -> None:
        thumb = thumbnail(rgb, result) if rgb is not None and isinstance(result, Verdict) else None
        self.add_checked(result, thumb)

    def add_checked(self, result: Verdict | Failure, thumb: bytes | None) -> None:
        """Add a result whose thumbnail was made elsewhere (a worker process, see batch.py)."""
        self.entries.append(SheetEntry(result, thumb if isinstance(result, Verdict) else None))

    def counts(self) -> dict[str, int]:
        return count(self.entries)

    def render(self) -> str:
        return render(self.entries, self.lang, version=self.version)

    def write(self, path: str | os.PathLike) -> Path:
        return write_html(self.render(), path)


def count(entries: list[SheetEntry]) -> dict[str, int]:
    out = {k: 0 for k in ORDER}
    for e in entries:
        out[e.result.decision] += 1
    return out


def render(entries: list[SheetEntry], lang: str, *, version: str = "") -> str:
    ui = lambda code, **kw: messages.ui(code, lang, **kw)  # noqa: E731
    counts = count(entries)
    channels = sorted({e.result.channel for e in entries if isinstance(e.result, Verdict)})
    days = sorted({e.result.checked_on for e in entries if isinstance(e.result, Verdict) and e.result.checked_on})
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(lang)}"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(ui('report_title'))}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{escape(ui('report_title'))}</h1>",
        f'<p class="meta"><span id="total">{len(entries)}</span> {escape(ui("report_photos"))}'
        + (f" · {escape(ui('report_channel'))}: {escape(', '.join(channels))}" if channels else "")
        + (f" · {escape(ui('report_checked_on'))} {escape(', '.join(days))}" if days else "") + "</p>",
        '<ul class="counts">',
    ]
    for d in ORDER:
        parts.append(f'<li class="{d}"><span class="n" id="count-{d}">{counts[d]}</span>'
                     f"{escape(messages.decision_text(d, lang))}</li>")
    parts.append("</ul>")
    for d in ORDER:
        group = [e for e in entries if e.result.decision == d]
        if not group:
            continue
        parts.append(f'<section id="group-{d}" data-decision="{d}"><h2>'
                     f"{escape(messages.decision_text(d, lang).capitalize())} ({len(group)})</h2>")
        parts.extend(_article(e, lang) for e in group)
        parts.append("</section>")
    parts.append(f"<footer>{escape(ui('report_generated', version=version))}</footer></main></body></html>")
    return "\n".join(parts)


def _article(entry: SheetEntry, lang: str) -> str:
    r = entry.result
    name = escape(os.path.basename(r.file) or r.file)
    if entry.thumbnail:
        img = (f'<img alt="{name}" src="data:image/jpeg;base64,'
               f'{base64.b64encode(entry.thumbnail).decode("ascii")}">')
    else:
        img = f'<div class="noimg">{escape(messages.ui("report_no_preview", lang))}</div>'
    head = (f'<h3 title="{escape(r.file)}">{name}</h3><span class="badge {r.decision}">'
            f"{escape(messages.decision_text(r.decision, lang).upper())}</span>")
    if isinstance(r, Failure):
        body = f'<ul class="reasons"><li>{escape(messages.error_text(r.error, lang))}</li></ul>'
    else:
        body = _reasons(r, lang) + _faces(r, lang)
    return (f'<article class="photo {r.decision}" data-decision="{r.decision}"><div>{img}</div>'
            f"<div>{head}{body}</div></article>")


def _reasons(v: Verdict, lang: str) -> str:
    word = messages.ui("report_rule", lang)
    items = []
    for reason in v.reasons:
        rule = f"[{escape(word)} {escape(reason.rule)}] " if reason.rule else ""
        items.append(f'<li class="{escape(reason.severity)}">{rule}{escape(reason.message)}</li>')
    return f'<ul class="reasons">{"".join(items)}</ul>'


def _faces(v: Verdict, lang: str) -> str:
    if not v.faces:
        return f"<p>{escape(messages.ui('report_no_faces', lang))}</p>"
    cols = ("face", "category", "person", "height", "match", "consent")
    head = "".join(f"<th>{escape(messages.ui('report_col_' + c, lang))}</th>" for c in cols)
    rows = []
    for f in v.faces:
        cat = f.status.category
        person = f.status.person.name if f.status.person else "-"
        dist = f"{f.status.person.distance:.2f}" if f.status.person else "-"
        consent = f.consent.state if f.consent else "-"
        rows.append(f'<tr class="face"><td>{f.index + 1}</td><td class="cat-{cat}">{escape(messages.category_text(cat, lang))}</td>'
                    f"<td>{escape(person)}</td><td>{f.measurement.height_px:.0f} ({f.measurement.publish_height_px:.0f})</td>"
                    f"<td>{dist}</td><td>{escape(consent)}</td></tr>")
    return (f'<div class="faces"><table><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}'
            "</tbody></table></div>")


def write_html(html_text: str, path: str | os.PathLike) -> Path:
    """Write the sheet as a new file, all or nothing, 0600 (it shows clients' faces); never over an
    existing file (`check photo.jpg --report photo.jpg` must not replace the photo)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write the report {path}: {exc.strerror or exc}") from None
    return write_whole(html_text.encode("utf-8"), path)
