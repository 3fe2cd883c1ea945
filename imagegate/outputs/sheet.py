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

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..codes import ATTENTION_ORDER
from ..image.metadata import OutputError, encode, write_whole
from ..results import Failure, Verdict
from ..words import messages
from .annotate import render_preview

#: section order: what needs a person's attention first
THUMB_LONG_SIDE = 640
THUMB_QUALITY = 80
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class SheetEntry:
    result: Verdict | Failure
    thumbnail: bytes | None = field(default=None, repr=False)  # clean JPEG of the annotated preview


def thumbnail(rgb: np.ndarray, verdict: Verdict, lang: str = "en") -> bytes:
    return encode(render_preview(rgb, verdict, lang, long_side=THUMB_LONG_SIDE, legend=False), format="JPEG",
                  quality=THUMB_QUALITY)


class ReviewSheet:
    """Collects results as photos are checked (thumbnails made at once, so full images are not kept)."""

    def __init__(self, lang: str = "en", version: str = "") -> None:
        self.lang = messages.check_lang(lang)
        self.version = version
        self.entries: list[SheetEntry] = []

    def add(self, result: Verdict | Failure, rgb: np.ndarray | None = None) -> None:
        thumb = thumbnail(rgb, result, self.lang) if rgb is not None and isinstance(result, Verdict) else None
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
    out: dict[str, int] = {k: 0 for k in ATTENTION_ORDER}
    for e in entries:
        out[e.result.decision] += 1
    return out


def render(entries: list[SheetEntry], lang: str, *, version: str = "") -> str:
    from .templating import render as render_template

    verdicts = [e.result for e in entries if isinstance(e.result, Verdict)]
    groups = [(d, [e for e in entries if e.result.decision == d]) for d in ATTENTION_ORDER]
    return render_template(
        "sheet.html", lang=lang, csp=CSP, entries=entries, counts=count(entries), order=ATTENTION_ORDER,
        version=version,
        groups=[(d, g) for d, g in groups if g],  # empty groups are left out
        channels=sorted({v.channel for v in verdicts}), days=sorted({v.checked_on for v in verdicts if v.checked_on}),
        events=sorted({messages.event_text(v.event, lang) for v in verdicts}))


def write_html(html_text: str, path: str | os.PathLike) -> Path:
    """Write the sheet as a new file, all or nothing, 0600 (it shows clients' faces); never over an
    existing file (`check photo.jpg --report photo.jpg` must not replace the photo)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write the report {path}: {exc.strerror or exc}") from None
    return write_whole(html_text.encode("utf-8"), path)
