"""Facts about faces → a decision: rules 4 and 6 as pure functions, and a photo's verdict folded
together from its renderings. Imports no model runtime, image library or database.
"""

from ..results import FaceStatus
from .rules import DECISIONS, EVENTS, FaceFacts, PolicySettings, consent_covers, decide, normalise_event

__all__ = ["DECISIONS", "EVENTS", "FaceFacts", "FaceStatus", "PolicySettings", "consent_covers", "decide",
           "normalise_event"]
