"""One photo through the gate, fail closed: the path every door takes (check, watch, the web page,
redact, a posting tool's batch).

Whatever goes wrong becomes a `Failure`, never a verdict (`errors.fail_closed`); a worker that died or
hung on a photo becomes the same kind of Failure (`stopped`). What a door makes of the photo besides
its verdict (a preview, a thumbnail, a redacted copy) is made here too, where the pixels are, by the
`then` it passes: a crash there fails the photo as well.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ModelError, as_failure, fail_closed
from ..image.loader import ImageInput, LoadedImage, load_image
from ..results import Failure, Verdict
from .workers import WorkerStopped


@dataclass(frozen=True)
class Checked:
    """A photo's result and what was made from it where its pixels were (None when nothing was)."""

    result: Verdict | Failure
    made: Any = None


def check_one(gate, image: ImageInput | Callable[[], LoadedImage], *, source: str, channel: str,
              on: dt.date | None = None, event: str | None = None,
              then: Callable[[LoadedImage, Verdict], Any] | None = None,
              passes: tuple[type[BaseException], ...] = ()) -> Checked:
    """Load `image` (a path, bytes, or a function that reads it), check it and run `then(img, verdict)`;
    any error is the photo's Failure under `source`. `passes`: exceptions that are not the photo's
    failure (a file still being written) and reach the caller."""

    def work() -> Checked:
        img = image() if callable(image) else load_image(image, gate.settings.limits, source=source)
        verdict = gate.check(img, channel=channel, on=on, event=event)
        return Checked(verdict, then(img, verdict) if then is not None else None)

    out = fail_closed(source, work, passes=passes)
    return Checked(out) if isinstance(out, Failure) else out


def stopped(source: str, error: BaseException, photo_timeout: float) -> Failure:
    """The Failure of a photo the worker pool gave up on (its worker died or hung twice), or whose
    check could not run at all: said in codes, never with the exception's own text."""
    if isinstance(error, WorkerStopped):
        if error.hung:
            err = ModelError.coded("worker_timeout", seconds=photo_timeout, deaths=error.deaths,
                                   timeouts=error.timeouts)
        else:
            err = ModelError.coded("worker_stopped", detail=error.cause, deaths=error.deaths)
        return Failure(source, err)
    return as_failure(source, error)
