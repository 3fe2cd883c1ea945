"""Checking photos in worker processes for the watcher.

Each worker builds one Gate when it starts (models load once per worker) and
returns, per photo, a FileResult: the report in codes (`Verdict.to_dict()` or
`Failure.to_dict()`, worded by the watcher), the sha256 and stat of the bytes it
checked, a staged copy of those bytes (what gets sorted) and the staged preview
it wrote, if any. The previews are drawn here, where the pixels are, in the
watcher's language (`preview_lang`).
A file still open for writing is not read (`writers.py`); the result says
"busy". Pixels never travel back to the main process, so its memory stays flat
however big the photos are. The main process alone
moves files and writes the journal and audit log. Starting, timing and
restarting the workers is `workers.py`'s.

Test hooks: `IMAGEGATE_WATCH_WORKER_CRASH_ON=TEXT` makes a worker `os._exit(1)`
when checking a file whose name contains TEXT (a worker dying on a photo);
`IMAGEGATE_WATCH_WORKER_HANG_ON=TEXT` makes it never return (a hung worker).
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import stat
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..codes import Decision
from ..errors import ImagegateError, ImageLoadError
from ..image.loader import sha256_file
from ..register.location import locate_register
from ..results import Failure
from .one import check_one
from .workers import Workers
from .writers import StillWriting, ignore_lease_breaks, read_when_done

WORKER_CRASH_ENV = "IMAGEGATE_WATCH_WORKER_CRASH_ON"
WORKER_HANG_ENV = "IMAGEGATE_WATCH_WORKER_HANG_ON"
ERROR_BANNER = (170, 30, 170)

_state: dict = {}


@dataclass(frozen=True)
class FileResult:
    """What checking one inbox file found: its verdict's or failure's report (codes, worded by the
    watcher), the bytes' identity, and the staged files to sort. Never pixels."""

    path: str
    #: the file was gone (renamed or deleted) before or while it was read
    vanished: bool = False
    #: the file is still open for writing: looked at again once it settles
    busy: bool = False
    decision: str = Decision.ERROR
    #: `Verdict.to_dict()` or `Failure.to_dict()`: codes
    report: dict = field(default_factory=dict)
    #: why it could not be checked (a failure only)
    error: Exception | None = None
    sha256: str = ""
    size: int = 0
    mtime_ns: int = 0
    file_id: tuple[int, int] = (0, 0)
    staged_photo: str | None = None
    preview: str | None = None
    redacted: str | None = None
    versions: dict = field(default_factory=dict)


def failed_file(path: str, error: Exception, *, sha256: str | None = None,
                st: os.stat_result | None = None, **staged) -> FileResult:
    """The result of a file that could not be checked (vanished when it cannot even be looked at)."""
    try:
        st = st or os.lstat(path)
        sha256 = sha256 or sha256_file(path)
    except OSError:
        return FileResult(path, vanished=True)
    failure = Failure(path, error, sha256=sha256)
    return FileResult(path, decision=Decision.ERROR, report=failure.to_dict(), error=error, sha256=sha256,
                      **_identity(st), **staged)


def _init(settings, register, channel: str, staging: str, redact: bool = False, event: str | None = None,
          preview_lang: str = "en") -> None:
    from ..gate import Gate

    # Ctrl-C reaches the whole process group; the main process decides when workers stop.
    # SIGTERM stays deadly: the pool uses it to end workers of a broken pool (a worker killed
    # by systemd along with the watcher only leaves its photo in the inbox for the next run).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ignore_lease_breaks()
    gate = Gate(register=register, settings=settings)
    gate.detector  # noqa: B018 - load now, so model versions are known and the first photo is not slow
    # The gate notices enrolments, forgets and a replaced register file by itself (Gate.gallery).
    _state.update(gate=gate, channel=channel, staging=Path(staging), redact=redact, event=event,
                  preview_lang=preview_lang)


def check_file(path: str) -> FileResult:
    """Check one file through the one fail-closed path; never raises for a bad photo (that is a
    failure result, rejected)."""
    # Staged files are named per try: a retried photo's earlier worker may still be writing its own.
    token = uuid.uuid4().hex
    name = os.path.basename(path)
    crash_on = os.environ.get(WORKER_CRASH_ENV)
    if crash_on and crash_on in name:
        os._exit(1)
    hang_on = os.environ.get(WORKER_HANG_ENV)
    if hang_on and hang_on in name:
        while True:  # like a native call that never returns
            time.sleep(60)
    gate = _state["gate"]
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return FileResult(path, vanished=True)
    seen: dict = {"st": st}  # what reading found, also when the check then fails

    def read():
        from ..image.loader import load_image, reading

        if stat.S_ISLNK(st.st_mode):
            # a link's target can change after the check, so what was checked would not be what is posted
            seen["sha256"] = hashlib.sha256(os.fsencode(os.readlink(path))).hexdigest()
            raise ImageLoadError.coded("symlink", source=path)
        limit = gate.settings.limits.max_file_bytes
        with reading(path):
            data, now = read_when_done(path, limit) if st.st_size <= limit else (None, st)
        seen["st"] = now
        if data is None or len(data) > limit:  # not read whole: sorted (rejected) as the file it is
            raise ImageLoadError.coded("file_too_big", source=path, size=max(now.st_size, len(data or b"")),
                                       limit=limit)
        seen["sha256"] = hashlib.sha256(data).hexdigest()
        # What is sorted is a copy of exactly these bytes, never the inbox file, which a writer
        # could still change after the check.
        seen["staged_photo"] = _stage(_state["staging"] / f"{token}.photo", data, now)
        seen["img"] = img = load_image(data, gate.settings.limits, source=path)
        return img

    def outputs(img, verdict) -> dict:
        made = {"preview": _write_preview(img.rgb, verdict, token) if not verdict.allowed else None}
        if verdict.decision == Decision.NEEDS_CONSENT and _state.get("redact"):
            made["redacted"] = _write_redacted(gate, img, token)
        return made

    try:
        done = check_one(gate, read, source=path, channel=_state["channel"], event=_state.get("event"),
                         then=outputs, passes=(FileNotFoundError, StillWriting))
    except FileNotFoundError:
        return FileResult(path, vanished=True)
    except StillWriting:
        return FileResult(path, busy=True)
    staged = {"staged_photo": seen.get("staged_photo"), "versions": gate.versions()}
    if isinstance(done.result, Failure):
        img = seen.get("img")
        preview = _write_preview(img.rgb, None, token) if img is not None else None
        return failed_file(path, done.result.error, sha256=seen.get("sha256"), st=seen["st"], preview=preview,
                           **staged)
    verdict = done.result
    return FileResult(path, decision=verdict.decision, report=verdict.to_dict(), sha256=seen["sha256"],
                      **_identity(seen["st"]), **done.made, **staged)


def _identity(st: os.stat_result) -> dict:
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "file_id": (st.st_dev, st.st_ino)}


def _write_redacted(gate, img, token: str) -> str | None:
    """A publishable copy with the faces lacking consent hidden, staged like the preview.

    Only a copy whose own re-check came out allowed is staged; otherwise None (the
    photo is sorted as it is, without a copy).
    """
    from ..redact import redact

    try:
        red = redact(gate, img, channel=_state["channel"], event=_state.get("event"))
    except ImagegateError:  # no copy; the photo itself is still sorted by its own verdict
        return None
    if not red.allowed:
        return None
    return _stage(_state["staging"] / f"{token}.redacted{red.suffix}", red.data)


def _write_preview(rgb, verdict, token: str) -> str:
    """The annotated preview, staged beside the journal; fsynced so a power cut cannot empty it."""
    from ..outputs.annotate import render_preview

    lang = _state.get("preview_lang", "en")
    img = render_preview(rgb, verdict, lang) if verdict is not None else _error_preview(rgb, lang)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=88)
    return _stage(_state["staging"] / f"{token}.preview.jpg", buf.getvalue())


def _stage(path: Path, data: bytes, times: os.stat_result | None = None) -> str:
    """Write a file beside the journal: private (faces, names), fsynced so a power cut cannot empty it.
    With `times`, it keeps a photo's access and modification times."""
    from ..private import overwrite

    return str(overwrite(path, data, times=times))


def _error_preview(rgb, lang: str):
    """A decodable photo that could not be judged: the photo under an ERROR banner, no boxes."""
    from PIL import Image, ImageDraw

    from ..outputs.annotate import PREVIEW_LONG_SIDE, _font
    from ..words.messages import decision_text

    img = Image.fromarray(rgb)
    scale = min(1.0, PREVIEW_LONG_SIDE / max(img.size))
    if scale < 1:
        img = img.resize((round(img.width * scale), round(img.height * scale)))
    draw = ImageDraw.Draw(img)
    font = _font(max(14, round(max(img.size) / 40)))
    text = decision_text(Decision.ERROR, lang).upper()
    box = draw.textbbox((0, 0), text, font=font)
    pad = 6
    draw.rectangle([0, 0, box[2] - box[0] + 2 * pad, box[3] - box[1] + 2 * pad], fill=ERROR_BANNER)
    draw.text((pad, pad - box[1]), text, fill=(255, 255, 255), font=font)
    return img


class CheckPool(Workers):
    """The watcher's workers: each loads the models once, then checks files (`check_file`)."""

    def __init__(self, jobs: int, *, settings, register, channel: str, staging: Path,
                 redact: bool = False, event: str | None = None, preview_lang: str = "en") -> None:
        super().__init__(jobs, _init, (settings, locate_register(register), channel, str(staging),
                                       redact, event, preview_lang))
