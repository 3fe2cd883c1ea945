"""Every word people read, in Finnish and English: reasons, decisions, errors, the command line's and the
web page's strings. Codes come in, text goes out; nothing here decides anything.
"""

from .report import report, verdict_json
from .wording import reason_text

__all__ = ["reason_text", "report", "verdict_json"]
