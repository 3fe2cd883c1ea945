"""How identifiable is each face? Judged at the size the photo will be published at.

Platforms downscale uploads, so a face's pixel height in the original overstates
what viewers see; some also crop a photo into an aspect range, which shows a strip
or a panorama far larger than fitting it whole would. A face is measured at the
largest size any of the channel's displays gives it (`imagegate.channels`: the
fitted long side, and each forced `Crop`), and compared with the DORI Recognition
density (≈ 30 px face height): at or above it, people who know the person can
recognise them (DESIGN.md §2).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..channels import Crop
from ..results import Face, Measurement


def fit_scale(width: int, height: int, publish_long_side: int | None) -> float:
    """Factor a platform applies when it fits the photo into `publish_long_side` (never upscales;
    None = shown at full resolution)."""
    if not publish_long_side:
        return 1.0
    return min(1.0, publish_long_side / max(width, height))


def crop_scale(width: int, height: int, crop: Crop) -> float:
    """The largest factor a platform applies when the photo is cut into `crop`'s aspect range and shown
    `crop.width` px wide. The uploader chooses the cut within the range (Instagram's crop tool offers every
    aspect from 4:5 to 1.91:1, for any photo): the narrowest keeps the full height at `crop.tallest`, which
    shows the faces largest; a photo narrower than that keeps its full width. Never upscales."""
    shown_width = min(float(width), height * crop.tallest)
    return min(1.0, crop.width / shown_width)


def publish_scale(width: int, height: int, publish_long_side: int | None, crops: Sequence[Crop] = ()) -> float:
    """The largest factor any display of the channel applies to the photo: fitted into `publish_long_side`
    or cut by one of `crops` (fail closed: the uploader chooses how the photo is shown). Never below the
    fitted factor."""
    return max([fit_scale(width, height, publish_long_side), *(crop_scale(width, height, c) for c in crops)])


def measure(face: Face, width: int, height: int, *, publish_long_side: int | None, crops: Sequence[Crop] = (),
            identifiable_px: float, min_match_px: float) -> Measurement:
    h = float(face.height)
    ph = h * publish_scale(width, height, publish_long_side, crops)
    return Measurement(height_px=h, publish_height_px=ph, identifiable=ph >= identifiable_px,
                       matchable=h >= min_match_px)
