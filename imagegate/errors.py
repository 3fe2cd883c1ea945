"""One exception hierarchy for everything imagegate raises.

Every message says what was expected, what was found and, where there is one,
what the user can do about it. Messages never contain embeddings or pixels.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .results import Failure

T = TypeVar("T")


class ImagegateError(Exception):
    """Base class: catch this to handle every imagegate failure."""

    #: short machine-readable kind, used in JSON output
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None,
                 params: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: with `params`, names the message's template in `messages.ERRORS`, so the CLI can say it in Finnish
        self.code = code
        self.params = dict(params or {})

    @classmethod
    def coded(cls, code: str, **params) -> ImagegateError:
        """The error whose English text is `messages.ERRORS[code]` filled with `params`."""
        from .words.messages import error_parts

        message, hint = error_parts(code, "en", params)
        return cls(message, hint=hint, code=code, params=params)

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} ({self.hint})"
        return self.message

    def __reduce__(self):
        # Subclasses take different constructor arguments; rebuild from state so errors
        # cross process boundaries (batch workers) intact.
        return _restore, (type(self), dict(self.__dict__))

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        if self.code:
            out["code"] = self.code
        return out


class ImageLoadError(ImagegateError):
    """A photo could not be read: missing, empty, truncated, corrupt, too large, not an image."""

    kind = "unreadable_image"

    def __init__(self, source: str, message: str, *, hint: str | None = None, code: str | None = None,
                 params: dict | None = None) -> None:
        super().__init__(f"{source}: {message}", hint=hint, code=code, params=params)
        self.source = source
        self.reason = message

    @classmethod
    def coded(cls, code: str, *, source: str, **params) -> ImageLoadError:  # type: ignore[override]
        """The error about `source` whose English text is `messages.ERRORS[code]` filled with `params`."""
        from .words.messages import error_parts

        reason, hint = error_parts(code, "en", params)
        return cls(source, reason, hint=hint, code=code, params=params)


class ModelError(ImagegateError):
    """A bundled model file is missing, altered or failed to run."""

    kind = "model_error"


class RegisterError(ImagegateError):
    """The consent register could not be opened, read or written."""

    kind = "register_error"


class RegisterDamagedError(RegisterError):
    """The register file is ours but damaged (cut short, failed checks): only a backup can help."""

    kind = "register_damaged"


class EnrolmentError(RegisterError):
    """A reference photo is not usable for enrolment."""

    kind = "enrolment_error"


class ConfigError(ImagegateError):
    """A setting or configuration file is invalid."""

    kind = "config_error"


class OutputError(ImagegateError):
    """A file imagegate writes could not be encoded or written, or would carry metadata."""

    kind = "output_error"


class RedactionError(ImagegateError):
    """A redacted copy could not be made or is not fit to be saved."""

    kind = "redaction_error"


class AuditError(ImagegateError):
    """The audit log could not be read or written."""

    kind = "audit_error"


class JournalError(ImagegateError):
    """The output folder or its journal could not be used."""

    kind = "journal_error"


class SourceChanged(JournalError):
    """The photo's content is no longer what was checked; it is not sorted on that verdict."""


class WatchError(ImagegateError):
    """The inbox or output folder cannot be watched as asked."""

    kind = "watch_error"


#: what was being done when an unexpected exception happened, and the message code that says so
_DOING = {"checking": "internal_checking", "redacting": "internal_redacting", "running the command": "internal_command"}


def internal_error(exc: BaseException, doing: str = "checking") -> ModelError:
    """An unexpected exception as a ModelError that names only its type.

    The original message is dropped on purpose: an exception raised deep in decoding,
    detection or matching can carry pixel values, embeddings or names in its text.
    """
    err = ModelError.coded(_DOING[doing], type=type(exc).__name__)
    assert isinstance(err, ModelError)
    return err


def is_internal(exc: BaseException) -> bool:
    """Whether `exc` is an unexpected exception turned into an error by `internal_error` (a fault of
    imagegate's, not of the photo)."""
    return getattr(exc, "code", None) in _DOING.values()


def fail_closed(source: str, work: Callable[[], T], *, doing: str = "checking",
                passes: tuple[type[BaseException], ...] = ()) -> T | Failure:
    """`work()`, or the Failure of `source` when it raised: the one rule every door follows, so that
    no error ever turns into a verdict. An ImagegateError says what went wrong; anything unexpected
    becomes `internal_error` (its type only). Exceptions in `passes` are not failures of the photo
    (a file still being written, one that vanished) and reach the caller."""
    try:
        return work()
    except passes:
        raise
    except Exception as exc:  # noqa: BLE001 - fail closed on anything unexpected
        return as_failure(source, exc, doing)


def as_failure(source: str, exc: BaseException, doing: str = "checking") -> Failure:
    """The Failure of `source` for `exc`: an ImagegateError as it is, anything else as `internal_error`."""
    return Failure(source, exc if isinstance(exc, ImagegateError) else internal_error(exc, doing))


def _restore(cls: type[ImagegateError], state: dict) -> ImagegateError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err
