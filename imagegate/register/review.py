"""Retention review: which enrolled people's face templates should be looked at again.

A template is biometric data held for identification; it may be kept only as long as there is a reason.
A person is due for review when their enrolment (or its last confirmation with `register basis`) is older
than `review_months`, when every consent they had has ended, or when no basis for holding the template
was ever recorded. `imagegate check` and `imagegate watch` say so once a day (a timestamp file in the
per-user state folder), never per photo.
"""

from __future__ import annotations

import calendar
import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from .. import private
from ..words import messages
from .store import Register

NOTICE_EVERY_SECONDS = 24 * 3600
ENDED = frozenset({"withdrawn", "expired"})


@dataclass(frozen=True)
class ReviewItem:
    name: str
    role: str
    #: enrolment, or the last time its basis was recorded (a review confirms the basis again)
    reviewed_on: str
    #: codes: review_overdue, consents_ended, basis_unrecorded
    reasons: tuple[str, ...]

    @property
    def command(self) -> str:
        return f'imagegate register forget "{self.name}"'

    def to_dict(self) -> dict:
        return {"name": self.name, "role": self.role, "reviewed_on": self.reviewed_on,
                "reasons": list(self.reasons), "command": self.command}


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months earlier (the month's last day where it is shorter)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return dt.date(y, m + 1, min(day.day, calendar.monthrange(y, m + 1)[1]))


def due_for_review(register: Register, months: int, today: dt.date | None = None) -> list[ReviewItem]:
    today = today or register.today()
    cutoff = months_before(today, months)
    out = []
    for person in register.people():
        basis = register.enrolment_basis(person)
        last = max(filter(None, (basis.enrolled_at, basis.recorded_at if basis.recorded else None)))
        reasons = []
        if dt.datetime.fromisoformat(last).date() < cutoff:
            reasons.append("review_overdue")
        consents = register.consents(person.name)
        # a consent that has not started yet has not ended: only withdrawn or expired ones have
        if consents and all(c.state_on(today) in ENDED for c in consents):
            reasons.append("consents_ended")
        if not basis.recorded:
            reasons.append("basis_unrecorded")
        if reasons:
            out.append(ReviewItem(person.name, person.role, last[:10], tuple(reasons)))
    return out


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir("imagegate"))


def daily_notice(register: Register, months: int, lang: str, *, folder: Path | None = None,
                 now: float | None = None) -> str | None:
    """A one-line notice when people are due for review, at most once a day per user (the time of the last
    notice is kept in `folder`/review-notice, mode 0600); None otherwise."""
    stamp = (folder or state_dir()) / "review-notice"
    now = time.time() if now is None else now
    try:
        if now - stamp.stat().st_mtime < NOTICE_EVERY_SECONDS:
            return None
    except OSError:
        pass  # never said yet (or unreadable: say it)
    due = due_for_review(register, months, dt.date.fromtimestamp(now))
    if not due:
        return None
    _touch(stamp, now)
    return messages.ui("review_due", lang, n=len(due))


def _touch(stamp: Path, now: float) -> None:
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        private.touch(stamp, now)
    except OSError:
        pass  # a notice said twice is better than a check that fails
