"""imagegate: a privacy gate for photos about to be posted on social media.

    import imagegate
    verdict = imagegate.check("event.jpg", channel="facebook")
    verdict.decision      # "allowed" | "needs_consent" | "blocked"

For many photos reuse a Gate (models load once, the register opens once):

    with imagegate.Gate(register="register.sqlite3") as gate:
        for path in paths:
            print(gate.check(path, channel="instagram").to_dict())
"""

from . import quiet as _quiet  # noqa: F401  (sets native log levels before mediapipe loads)
from .config import Settings, load_settings
from .errors import (ConfigError, EnrolmentError, ImagegateError, ImageLoadError, ModelError,
                     RegisterError)
from .gate import Analysis, Gate, check
from .register import CHANNELS, ROLES, Register
from .verdict import FaceReport, Failure, Verdict

__all__ = [
    "Analysis", "CHANNELS", "ConfigError", "EnrolmentError", "FaceReport", "Failure", "Gate",
    "ImageLoadError", "ImagegateError", "ModelError", "ROLES", "Register", "RegisterError", "Settings",
    "Verdict", "check", "load_settings",
]
