"""Checking photos in worker processes for the watcher.

Each worker builds one Gate when it starts (models load once per worker) and
returns, per photo, a plain dict: the report (`Verdict.to_dict()` or
`Failure.to_dict()`), the sha256 and stat of the bytes it checked, a staged
copy of those bytes (what gets sorted) and the staged preview it wrote, if any.
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
from pathlib import Path

from ..words import messages
from ..codes import Decision
from ..errors import ImagegateError, ImageLoadError, internal_error
from ..register.store import locate_register
from ..results import Failure
from .workers import Workers
from .writers import StillWriting, ignore_lease_breaks, read_when_done

WORKER_CRASH_ENV = "IMAGEGATE_WATCH_WORKER_CRASH_ON"
WORKER_HANG_ENV = "IMAGEGATE_WATCH_WORKER_HANG_ON"
ERROR_BANNER = (170, 30, 170)

_state: dict = {}


def _init(settings, register, lang: str, channel: str, staging: str, redact: bool = False,
          event: str | None = None) -> None:
    from ..gate import Gate

    # Ctrl-C reaches the whole process group; the main process decides when workers stop.
    # SIGTERM stays deadly: the pool uses it to end workers of a broken pool (a worker killed
    # by systemd along with the watcher only leaves its photo in the inbox for the next run).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ignore_lease_breaks()
    gate = Gate(register=register, settings=settings, lang=lang)
    gate.detector  # noqa: B018 - load now, so model versions are known and the first photo is not slow
    # The gate notices enrolments, forgets and a replaced register file by itself (Gate.gallery).
    _state.update(gate=gate, channel=channel, staging=Path(staging), redact=redact, event=event)


def check_file(path: str) -> dict:
    """Check one file; never raises for a bad photo (that is a Failure result, fail closed)."""
    from ..image.loader import load_image, reading, sha256_file

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
        return {"path": path, "vanished": True}
    out = {"path": path, "preview": None, "staged_photo": None, "versions": gate.versions()}
    _stat_into(out, st)
    img = data = None
    try:
        if stat.S_ISLNK(st.st_mode):
            # a link's target can change after the check, so what was checked would not be what is posted
            out["sha256"] = hashlib.sha256(os.fsencode(os.readlink(path))).hexdigest()
            raise ImageLoadError.coded("symlink", source=path)
        limit = gate.settings.limits.max_file_bytes
        with reading(path):
            data, st = read_when_done(path, limit) if st.st_size <= limit else (None, st)
        if data is None or len(data) > limit:  # not read whole: sorted (rejected) as the file it is
            raise ImageLoadError.coded("file_too_big", source=path, size=max(st.st_size, len(data or b"")),
                                       limit=limit)
        _stat_into(out, st)
        out["sha256"] = hashlib.sha256(data).hexdigest()
        # What is sorted is a copy of exactly these bytes, never the inbox file, which a writer
        # could still change after the check.
        out["staged_photo"] = _stage(_state["staging"] / f"{token}.photo", data, st)
        img = load_image(data, gate.settings.limits, source=path)
        verdict = gate.check(img, channel=_state["channel"], event=_state.get("event"))
        out.update(decision=verdict.decision, report=verdict.to_dict())
        if not verdict.allowed:
            out["preview"] = _write_preview(img.rgb, verdict, token)
        if verdict.decision == Decision.NEEDS_CONSENT and _state.get("redact"):
            out["redacted"] = _write_redacted(gate, img, token)
    except FileNotFoundError:
        return {"path": path, "vanished": True}
    except StillWriting:
        return {"path": path, "busy": True}
    except Exception as exc:  # noqa: BLE001 - anything unexpected rejects the photo, never passes it
        error = exc if isinstance(exc, ImagegateError) else internal_error(exc)
        if "sha256" not in out:
            try:
                out["sha256"] = sha256_file(path)
            except FileNotFoundError:
                return {"path": path, "vanished": True}
        out.update(decision=Decision.ERROR, report=Failure(path, error).to_dict(),
                   reason=messages.error_reason(error, _state["gate"].lang)[0])
        out["report"]["sha256"] = out["sha256"]
        if img is not None:
            out["preview"] = _write_preview(img.rgb, None, token)
    return out


def _stat_into(out: dict, st: os.stat_result) -> None:
    out.update(size=st.st_size, mtime_ns=st.st_mtime_ns, file_id=[st.st_dev, st.st_ino])


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

    img = render_preview(rgb, verdict) if verdict is not None else _error_preview(rgb)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=88)
    return _stage(_state["staging"] / f"{token}.preview.jpg", buf.getvalue())


def _stage(path: Path, data: bytes, times: os.stat_result | None = None) -> str:
    """Write a file beside the journal: private (faces, names), fsynced so a power cut cannot empty it.
    With `times`, it keeps a photo's access and modification times."""
    from ..private import overwrite

    return str(overwrite(path, data, times=times))


def _error_preview(rgb):
    """A decodable photo that could not be judged: the photo under an ERROR banner, no boxes."""
    from PIL import Image, ImageDraw

    from ..outputs.annotate import PREVIEW_LONG_SIDE, _font
    from ..words.messages import decision_text

    img = Image.fromarray(rgb)
    scale = min(1.0, PREVIEW_LONG_SIDE / max(img.size))
    if scale < 1:
        img = img.resize((round(img.width * scale), round(img.height * scale)))
    draw = ImageDraw.Draw(img)
    lang = _state["gate"].lang
    font = _font(max(14, round(max(img.size) / 40)))
    text = decision_text(Decision.ERROR, lang).upper()
    box = draw.textbbox((0, 0), text, font=font)
    pad = 6
    draw.rectangle([0, 0, box[2] - box[0] + 2 * pad, box[3] - box[1] + 2 * pad], fill=ERROR_BANNER)
    draw.text((pad, pad - box[1]), text, fill=(255, 255, 255), font=font)
    return img


class CheckPool(Workers):
    """The watcher's workers: each loads the models once, then checks files (`check_file`)."""

    def __init__(self, jobs: int, *, settings, register, lang: str, channel: str, staging: Path,
                 redact: bool = False, event: str | None = None) -> None:
        super().__init__(jobs, _init, (settings, locate_register(register), lang, channel, str(staging),
                                       redact, event))
