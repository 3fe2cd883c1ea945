"""The shared vocabulary: every outcome, status and category as a string enum.

The bottom of the package: every stage imports it and it imports nothing of
imagegate. Members are `str`s (StrEnum), so they compare equal to, print as and
serialise to JSON as their plain values: `Decision.BLOCKED == "blocked"`. Words
for people are chosen at the edges (imagegate.wording, imagegate.messages).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Decision(StrEnum):
    """A photo's verdict. ERROR is never decided: it marks a photo that could not be checked."""

    ALLOWED = "allowed"
    NEEDS_CONSENT = "needs_consent"
    BLOCKED = "blocked"
    ERROR = "error"


#: outcomes from least to most severe: the one order in which a batch's or a photo's worst outcome is
#: taken (a photo that could not be checked is worse than a blocked one: nobody knows what it shows)
OUTCOMES: tuple[Decision, ...] = (Decision.ALLOWED, Decision.NEEDS_CONSENT, Decision.BLOCKED, Decision.ERROR)
#: verdicts from least to most restrictive (ERROR is not one: a Failure is kept apart)
DECISIONS: tuple[Decision, ...] = OUTCOMES[:3]
#: the order people are shown outcomes in (review sheet, web page): what needs them first
ATTENTION_ORDER: tuple[Decision, ...] = (Decision.BLOCKED, Decision.NEEDS_CONSENT, Decision.ERROR, Decision.ALLOWED)


def worst(outcomes: Iterable[str]) -> Decision:
    """The most severe of `outcomes` (OUTCOMES' order)."""
    return Decision(max(outcomes, key=OUTCOMES.index))


class Severity(StrEnum):
    """What a reason does to the verdict: BLOCK and CONSENT restrict it, WARNING and INFO never change it."""

    BLOCK = "block"
    CONSENT = "consent"
    WARNING = "warning"
    INFO = "info"


#: the severity a reason about a decision carries (a view's own verdict, an embedded picture's)
SEVERITY_OF: dict[str, Severity] = {Decision.BLOCKED: Severity.BLOCK, Decision.NEEDS_CONSENT: Severity.CONSENT,
                                    Decision.ALLOWED: Severity.INFO}


class FaceStatusCode(StrEnum):
    """How the policy judged one face (policy.py's table says when each applies)."""

    CLIENT = "client"                      # a client without valid, informed consent: blocks (rule 6)
    CLIENT_IN_CROWD = "client_in_crowd"    # a recognised client in a crowd, event not stated public
    CLIENT_CONSENTED = "client_consented"  # a client with informed consent for the channel (rule 4)
    CONSENTED = "consented"
    NO_CONSENT = "no_consent"
    CONFIRM = "confirm"                    # possibly people who all have consent: ask which
    UNCERTAIN = "uncertain"
    UNKNOWN = "unknown"
    UNMATCHABLE = "unmatchable"            # identifiable but too small or blurred to match
    NOT_IDENTIFIABLE = "not_identifiable"


#: statuses that need consent unless a crowd covers the face
NEEDS_CONSENT: frozenset[FaceStatusCode] = frozenset({
    FaceStatusCode.NO_CONSENT, FaceStatusCode.UNCERTAIN, FaceStatusCode.CONFIRM, FaceStatusCode.UNKNOWN,
    FaceStatusCode.UNMATCHABLE, FaceStatusCode.CLIENT_IN_CROWD})
#: statuses of faces that may be shown
SHOWABLE: frozenset[FaceStatusCode] = frozenset({
    FaceStatusCode.CONSENTED, FaceStatusCode.CLIENT_CONSENTED, FaceStatusCode.NOT_IDENTIFIABLE})


class Category(StrEnum):
    """What a face means on a preview or a page (its colour)."""

    CLIENT = "client"
    NEEDS_CONSENT = "needs_consent"
    CONSENTED = "consented"
    NOT_IDENTIFIABLE = "not_identifiable"
    CROWD = "crowd"


class Role(StrEnum):
    """A registered person's role."""

    CLIENT = "client"
    STAFF = "staff"
    PARTNER = "partner"
    OTHER = "other"


class Event(StrEnum):
    """Whether a photo is from a public event: only the person posting knows (rule 4's crowd exception)."""

    PUBLIC = "public"    # the crowd exception applies
    PRIVATE = "private"  # it does not
    UNKNOWN = "unknown"  # it covers people nobody recognised, not recognised clients


class ConsentState(StrEnum):
    """A person's consent for one channel on one day."""

    VALID = "valid"
    NOT_YET = "not_yet"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    NONE = "none"
    OTHER_CHANNEL = "other_channel"


class MatchLevel(StrEnum):
    """How close a face came to the register: strict (identified), loose (a candidate), none."""

    STRICT = "strict"
    LOOSE = "loose"
    NONE = "none"


class ViewKind(StrEnum):
    """Another picture a viewer may see: a rendering of the photo, or a picture embedded in its file."""

    ON_BLACK = "on_black"
    ALPHA_IGNORED = "alpha_ignored"
    COLOUR_MANAGED = "colour_managed"
    EXIF_THUMBNAIL = "exif_thumbnail"
    MPF_IMAGE = "mpf_image"
    XMP_IMAGE = "xmp_image"
    HEIF_THUMBNAIL = "heif_thumbnail"


EMBEDDED_KINDS: frozenset[ViewKind] = frozenset({ViewKind.EXIF_THUMBNAIL, ViewKind.MPF_IMAGE, ViewKind.XMP_IMAGE,
                                                 ViewKind.HEIF_THUMBNAIL})


class ReasonCode(StrEnum):
    """Every reason a verdict can give. Face reasons share FaceStatusCode's values."""

    CLIENT = "client"
    CLIENT_IN_CROWD = "client_in_crowd"
    CLIENT_CONSENTED = "client_consented"
    CONSENTED = "consented"
    NO_CONSENT = "no_consent"
    CONFIRM = "confirm"
    UNCERTAIN = "uncertain"
    UNKNOWN = "unknown"
    UNMATCHABLE = "unmatchable"
    NOT_IDENTIFIABLE = "not_identifiable"
    NO_FACES = "no_faces"
    ALL_CONSENTED = "all_consented"
    FRAMES_UNCHECKED = "frames_unchecked"
    CROWD = "crowd"
    CROWD_UNKNOWN_EVENT = "crowd_unknown_event"
    CROWD_PRIVATE = "crowd_private"
    CROWD_NO_REGISTER = "crowd_no_register"
    CROWD_MANY_CLIENTS = "crowd_many_clients"
    CROWD_UNCHECKED = "crowd_unchecked"
    CROWD_PROMINENT = "crowd_prominent"
    CROWD_FEW_RECOGNISABLE = "crowd_few_recognisable"
    RENDERING_CHECKED = "rendering_checked"
    EMBEDDED_CHECKED = "embedded_checked"
    PROFILE_UNAPPLIED = "profile_unapplied"
    EMBEDDED_OVER_CAP = "embedded_over_cap"
    EMBEDDED_UNREADABLE = "embedded_unreadable"
    BMP_DECODERS_DIFFER = "bmp_decoders_differ"
    METADATA_GPS = "metadata_gps"
    METADATA_PEOPLE = "metadata_people"


class Rule(StrEnum):
    """The foundation's social-media rules a reason cites (DESIGN.md)."""

    NO_CLIENT_PICTURES = "6"  # never upload pictures of clients
    CONSENT_OR_CROWD = "4"    # consent after being told the risks; public events among many others
