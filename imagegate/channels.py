"""The channels a photo is posted on, and the size each shows it at.

The one place that knows channel names (aliases included) and their publish
sizes: identifiability is judged at the size viewers see (DESIGN.md §2), and
platforms downscale uploads. The sizes are defaults; settings may override
each (`publish_long_side`, `publish_long_side_<channel>`).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from .errors import RegisterError


class Channel(StrEnum):
    FACEBOOK = "facebook"
    TWITTER = "twitter"
    YOUTUBE = "youtube"
    INSTAGRAM = "instagram"
    LINKEDIN = "linkedin"
    TIKTOK = "tiktok"
    WEBSITE = "website"
    PRINT = "print"


#: Channels a consent can name. `all` expands to every one of them.
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
CHANNEL_ALIASES = {"x": "twitter", "fb": "facebook", "ig": "instagram", "yt": "youtube"}

#: platforms downscale photos; identifiability is judged at this long side (px)...
PUBLISH_LONG_SIDE = 2048
#: ...except where a channel shows more: X/Twitter serves photos up to 4096 px, and a web page or a print
#: shows the file as it is (0 = full resolution). Erring large only makes more faces count.
PUBLISH_LONG_SIDE_BY_CHANNEL: dict[str, int] = {Channel.TWITTER: 4096, Channel.WEBSITE: 0, Channel.PRINT: 0}


def normalise_channel(channel: str, *, all_allowed: bool = False) -> Channel:
    """One channel's name. `all` is offered in the message only where the caller accepts it (a consent
    covers many channels; a photo is judged for the one channel it will be posted on)."""
    if isinstance(channel, Channel):
        return channel
    c = str(channel).strip().lower()
    c = CHANNEL_ALIASES.get(c, c)
    if c not in CHANNELS:
        if c == "all" and not all_allowed:
            raise RegisterError(f"expected one channel (a photo is judged for the channel it will be posted on): "
                                f"one of {', '.join(CHANNELS)}; found 'all'")
        raise RegisterError(f"unknown channel {channel!r}; expected one of: {', '.join(CHANNELS)}"
                            + (" (or 'all')" if all_allowed else ""))
    return Channel(c)


def expand_channels(channels: Iterable[str]) -> list[str]:
    """Channel names from options like `facebook,x` or `all`, each once, in the order given."""
    out: list[str] = []
    for ch in channels:
        for part in ch.split(","):
            if not part.strip():
                continue
            names = CHANNELS if part.strip().lower() == "all" else (normalise_channel(part, all_allowed=True).value,)
            out.extend(n for n in names if n not in out)
    if not out:
        raise RegisterError("no channel given; expected one or more of: " + ", ".join(CHANNELS) + " or 'all'")
    return out
