"""The one thread that holds the models and the register (`imagegate serve`).

The models load once, into one worker thread that runs every check and every register change in
turn: ONNX Runtime already uses both cores for one photo, and one thread means the register and
the Gate are never used from two threads at once. The event loop only moves bytes, so the page stays
responsive while photos queue (at most MAX_PENDING; beyond that the answer is 503, never a guess).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import fail_closed
from ..register.location import RegisterLocation
from ..register.store import Register
from ..results import Failure

if TYPE_CHECKING:
    from ..gate import Gate
    from ..redact import Redaction
    from ..vision.detect import FaceDetector
    from ..vision.embed import FaceEmbedder

#: photos waiting for the gate thread before new ones are refused with 503
MAX_PENDING = 64


class Busy(Exception):
    """More photos are waiting than the server holds."""


class GateThread:
    """The models and register, used from one thread only; async callers queue for it."""

    def __init__(self, settings: Settings, location: RegisterLocation, *, parts: tuple | None = None) -> None:
        """`location`: the register as the command resolved it (cli.common.register_location), used as it is
        by the Gate and by every register change, so the page never works on another file than the checks.
        `parts`: an already loaded (detector, embedder) to share; it stays the caller's to close."""
        self.settings = settings
        self.location = location
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagegate-gate")
        self._pending = 0
        self._lock = threading.Lock()
        self.gate: Gate | None = None
        self._parts: tuple[FaceDetector, FaceEmbedder] | None = parts
        self._owns_parts = parts is None

    def start(self) -> None:
        self._executor.submit(self._load).result()

    def _load(self) -> None:
        import numpy as np

        from ..gate import Gate
        from ..vision.detect import FaceDetector
        from ..vision.embed import FaceEmbedder

        if self._parts is None:
            self._parts = (FaceDetector(self.settings.detector), FaceEmbedder())
        detector, embedder = self._parts
        # one Gate for both languages: verdicts are codes, worded in the reader's language on the page
        gate = self.gate = Gate(register=self.location, settings=self.settings, detector=detector, embedder=embedder)
        # the first inference of each network is slow: pay it now, not on the first photo
        warm = np.full((480, 640, 3), 128, np.uint8)
        detector.detect(warm, analysis_long_side=640)
        embedder.embed(warm, [(240.0, 160.0, 160.0, 160.0)], [0])
        gate.gallery()

    async def run(self, fn, *args):
        with self._lock:
            if self._pending >= MAX_PENDING:
                raise Busy()
            self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            with self._lock:
                self._pending -= 1

    def close(self) -> None:
        def _close():
            if self.gate is not None:
                self.gate.close()
            if self._parts is not None and self._owns_parts:
                self._parts[0].close()
        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)

    # everything below runs on the gate thread

    def check(self, data: bytes, name: str, channel: str, event: str, lang: str, thumbnail: bool):
        """One photo through the one fail-closed path; its thumbnail (words in `lang`) made here."""
        from ..outputs.sheet import thumbnail as make_thumbnail
        from ..runs.one import check_one

        done = check_one(self.gate, data, source=name, channel=channel, event=event,
                         then=(lambda img, verdict: make_thumbnail(img.rgb, verdict, lang)) if thumbnail else None)
        return done.result, done.made

    def redact(self, data: bytes, name: str, channel: str, event: str, lang: str) -> Redaction | Failure:
        """The publishable copy, judged as the page's check was, with its event; any error is a Failure."""
        from ..image.loader import load_image
        from ..redact import redact

        def work() -> Redaction:
            img = load_image(data, self.settings.limits, source=name)
            return redact(self.gate, img, channel=channel, event=event)

        return fail_closed(name, work, doing="redacting")

    def open_register(self, *, create: bool) -> Register:
        if create:
            self.location.check_folder()
        return Register(self.location.path, create=create)

    def summary(self) -> list[dict]:
        if not self.location.path.exists():
            return []
        with self.open_register(create=False) as reg:
            return reg.summary()

    def enrol(self, name: str, role: str, note: str | None, photos: list[tuple[str, bytes]], basis: dict):
        """As `imagegate register add`: the same enrolment, checks and messages."""
        from ..enrol import enrol
        from ..gate import Gate
        from ..image.loader import load_image

        loaded = [load_image(data, self.settings.limits, source=fname) for fname, data in photos]
        assert self._parts is not None  # loaded by start()
        detector, embedder = self._parts
        with self.open_register(create=True) as reg, Gate(register=reg, settings=self.settings,
                                                         detector=detector, embedder=embedder) as gate:
            return enrol(gate, name, role, loaded, note, **basis)

    def consent(self, name: str, channels: list[str], until: str | None, risks: bool, evidence: str | None):
        with self.open_register(create=False) as reg:
            rows = reg.add_consent(name, channels, valid_until=until, risks_explained=risks, evidence=evidence)
            return reg.get(name), rows

    def withdraw(self, name: str, channels: list[str] | None) -> int:
        with self.open_register(create=False) as reg:
            return reg.withdraw(name, channels)

    def forget(self, name: str) -> None:
        with self.open_register(create=False) as reg:
            reg.get(name)
            reg.forget(name)
