"""The channels a photo is posted on, and the ways each may show it.

The one place that knows channel names (aliases included) and how each channel
displays a photo: identifiability is judged at the size viewers see (DESIGN.md §2),
and platforms downscale uploads, and some crop them. Every channel may show a
photo fitted into a long side (a default that settings may override:
`publish_long_side`, `publish_long_side_<channel>`); a channel that forces
photos into an aspect range also shows a crop (`Crop`), at its own width. A
face's published size is the largest any of these displays gives it: the
uploader chooses the crop, so the gate assumes the one that shows the face
largest (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Crop:
    """A display that crops a photo into an aspect range and shows the crop `width` px wide.

    A photo whose aspect (width / height) lies in [`tallest`, `widest`] is shown whole; a taller one is cut
    to `tallest` (its full width kept), a wider one to `widest` (its full height kept). The platform stores
    the crop at `width`; a narrower crop keeps its own pixels (a platform that enlarges it, as Instagram does
    below 320 px, adds no detail to a face)."""

    width: int
    #: the tallest aspect shown (width / height), e.g. 4:5 = 0.8
    tallest: float
    #: the widest aspect shown (width / height), e.g. 1.91:1
    widest: float

    def __post_init__(self) -> None:
        if not (self.width > 0 and 0 < self.tallest <= self.widest):
            raise ValueError(f"a crop needs width > 0 and 0 < tallest <= widest, got {self}")


#: Instagram's feed keeps a photo "up to a width of 1080 pixels ... as long as the photo's aspect ratio is
#: between 1.91:1 and 4:5 (a height between 566 and 1350 pixels with a width of 1080 pixels). If the aspect
#: ratio of your photo isn't supported, it will be cropped to fit a supported ratio" (Instagram Help Centre,
#: "Image resolution of photos you share on Instagram", help.instagram.com/1631821640426723). A 1080 x 6480
#: strip is cut to 1080 x 1350 and shown at full size; an 8000 x 1000 panorama may be cut to 800 x 1000 (the
#: app's crop tool offers every aspect in the range, for any photo) and shown at full size (a face 1.0 times
#: its height, not the 0.26 times of fitting 8000 px into 2048). The uploader places and shapes the cut, so
#: the one that shows the face largest is assumed. A tighter cut the uploader zooms into makes another
#: photo: judged only if that photo is checked.
INSTAGRAM_FEED_WIDTH = 1080
INSTAGRAM_TALLEST = 4 / 5
INSTAGRAM_WIDEST = 1.91
INSTAGRAM_FEED = Crop(INSTAGRAM_FEED_WIDTH, INSTAGRAM_TALLEST, INSTAGRAM_WIDEST)

#: The forced crops each channel may show a photo in, besides fitting it into its long side. Only Instagram
#: is known to keep a crop in place of the photo. Assumed for the others, as the long sides above: Facebook,
#: LinkedIn and TikTok keep the whole photo at up to 2048 px, X at up to 4096 px (where a feed shows a tall
#: photo cut, it cuts that same copy on screen, so no face gets more pixels than there), YouTube (thumbnails,
#: recommended 1280 x 720) shows the whole image within 2048 px, and a web page or a print shows the file as
#: it is. Instagram keeps its fitted 2048 px too: that errs large beside the documented 1080 px width, so a
#: photo within the aspect range is judged exactly as before and only strips and panoramas are judged larger.
PUBLISH_CROPS_BY_CHANNEL: dict[str, tuple[Crop, ...]] = {Channel.INSTAGRAM: (INSTAGRAM_FEED,)}


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
