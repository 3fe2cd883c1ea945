"""imagegate: a privacy gate for photos about to be posted on social media.

    import imagegate
    verdict = imagegate.check("event.jpg", channel="facebook")
    verdict.decision      # "allowed" | "needs_consent" | "blocked"  (imagegate.Decision)
    imagegate.report(verdict, "fi")   # the JSON report, every reason worded in Finnish (or "en")

For many photos reuse a Gate (models load once, the register opens once):

    with imagegate.Gate(register="register.sqlite3") as gate:
        for path in paths:
            print(imagegate.report(gate.check(path, channel="instagram")))

The parts load when first used, so `import imagegate.policy` (a pure function) pulls in
no model runtime and no database; see docs/ARCHITECTURE.md.
"""

from importlib import import_module as _import_module

from .codes import Decision, Event, FaceStatusCode, Role, Severity
from .errors import ConfigError, EnrolmentError, ImagegateError, ImageLoadError, ModelError, RegisterError
from .vision import quiet as _quiet  # noqa: F401  (sets native log levels before mediapipe loads)

#: public names loaded on first use, and the module that defines each
_LAZY = {
    "Analysis": "gate", "Gate": "gate", "check": "gate",
    "Settings": "config", "load_settings": "config",
    "Register": "register.store", "ROLES": "register.store",
    "CHANNELS": "channels", "Channel": "channels",
    "FaceReport": "results", "Failure": "results", "Reason": "results", "Verdict": "results",
    "report": "words.report", "reason_text": "words.wording",
}

__all__ = [
    "Analysis", "CHANNELS", "Channel", "ConfigError", "Decision", "EnrolmentError", "Event", "FaceReport",
    "FaceStatusCode", "Failure", "Gate", "ImageLoadError", "ImagegateError", "ModelError", "ROLES", "Reason",
    "Register", "RegisterError", "Role", "Settings", "Severity", "Verdict", "check", "load_settings",
    "reason_text", "report",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'imagegate' has no attribute {name!r}")
    value = getattr(_import_module(f".{module}", __name__), name)
    globals()[name] = value  # once loaded, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
