"""How identifiable is each face? Judged at the size the photo will be published at.

Platforms downscale uploads, so a face's pixel height in the original overstates
what viewers see. We scale to `publish_long_side` and compare with the DORI
Recognition density (≈ 30 px face height): at or above it, people who know the
person can recognise them (DESIGN.md §2).
"""

from __future__ import annotations

from ..results import Face, Measurement


def publish_scale(width: int, height: int, publish_long_side: int | None) -> float:
    """Factor a platform applies when it fits the photo into `publish_long_side` (never upscales;
    None = shown at full resolution)."""
    if not publish_long_side:
        return 1.0
    return min(1.0, publish_long_side / max(width, height))


def measure(face: Face, width: int, height: int, *, publish_long_side: int | None,
            identifiable_px: float, min_match_px: float) -> Measurement:
    h = float(face.height)
    ph = h * publish_scale(width, height, publish_long_side)
    return Measurement(height_px=h, publish_height_px=ph, identifiable=ph >= identifiable_px,
                       matchable=h >= min_match_px)
