"""The size a channel publishes a face at: fitted into a long side, or cut into an aspect range (a crop).

A face's published size is the largest any of the channel's displays gives it; a channel that crops
(Instagram's feed) shows a strip or a panorama far larger than fitting it whole would.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagegate.channels import CHANNELS, INSTAGRAM_FEED, PUBLISH_CROPS_BY_CHANNEL, Channel, Crop
from imagegate.config import Settings
from imagegate.results import Face
from imagegate.vision.measure import crop_scale, fit_scale, measure, publish_scale


def face(height: float) -> Face:
    return Face(box=(10.0, 10.0, height * 0.8, height), score=0.9, landmarks=())


def test_fitting_shrinks_the_long_side_and_never_enlarges():
    assert fit_scale(8000, 1000, 2048) == pytest.approx(2048 / 8000)
    assert fit_scale(1080, 6480, 2048) == pytest.approx(2048 / 6480)
    assert fit_scale(1000, 800, 2048) == 1.0
    assert fit_scale(8000, 1000, None) == 1.0  # full resolution (a web page, a print)


@pytest.mark.parametrize("width, height, shown_width", [
    (1080, 6480, 1080),     # a strip: cut to 4:5, its full width kept
    (8000, 1000, 800),      # a panorama: the uploader may cut it to 4:5, its full height kept
    (3000, 2000, 1600),     # within the range: the uploader may cut it to 4:5 too
    (1080, 1350, 1080),     # exactly 4:5
    (1910, 1000, 800),      # exactly 1.91:1, and cut to 4:5
])
def test_instagram_cuts_into_its_aspect_range_and_shows_the_crop_1080_px_wide(width, height, shown_width):
    assert crop_scale(width, height, INSTAGRAM_FEED) == pytest.approx(min(1.0, 1080 / shown_width))


def test_a_crop_never_enlarges():
    assert crop_scale(400, 6000, INSTAGRAM_FEED) == 1.0
    assert crop_scale(3000, 300, INSTAGRAM_FEED) == 1.0  # cut to 240 x 300, kept at its own pixels


def test_the_published_size_is_the_largest_any_display_gives():
    # the strip and the panorama of the review: fitted, the face is under 30 px; cropped, it is not
    strip, pano = face(84), face(110)
    fit_only = dict(publish_long_side=2048, identifiable_px=30, min_match_px=40)
    assert measure(strip, 1080, 6480, **fit_only).publish_height_px == pytest.approx(84 * 2048 / 6480)  # 26.5
    assert not measure(strip, 1080, 6480, **fit_only).identifiable
    m = measure(strip, 1080, 6480, crops=(INSTAGRAM_FEED,), **fit_only)
    assert m.publish_height_px == pytest.approx(84) and m.identifiable
    assert measure(pano, 8000, 1000, **fit_only).publish_height_px == pytest.approx(110 * 2048 / 8000)  # 28.2
    m = measure(pano, 8000, 1000, crops=(INSTAGRAM_FEED,), **fit_only)
    assert m.publish_height_px == pytest.approx(110) and m.identifiable  # cut to 800 x 1000: full size
    # a 1.91:1 photo cut to 4:5 (1600 x 2000) shows its faces larger than fitted into 2048 px
    assert publish_scale(3820, 2000, 2048, (INSTAGRAM_FEED,)) == pytest.approx(1080 / 1600)
    # a 4:3 one fitted into 2048 px shows them larger than cut to 4:5 (2400 x 3000) and shown 1080 px wide
    assert publish_scale(4000, 3000, 2048, (INSTAGRAM_FEED,)) == fit_scale(4000, 3000, 2048)
    # a display at full resolution is the largest of all
    assert publish_scale(8000, 1000, None, (INSTAGRAM_FEED,)) == 1.0


def test_instagram_crops_and_the_other_channels_keep_their_fitted_sizes():
    s = Settings()
    assert s.publish_crops(Channel.INSTAGRAM) == (INSTAGRAM_FEED,)
    assert INSTAGRAM_FEED == Crop(width=1080, tallest=0.8, widest=1.91)
    for ch in CHANNELS:
        if ch != Channel.INSTAGRAM:
            assert s.publish_crops(ch) == (), ch
    assert s.publish_crops(None) == ()
    assert {ch: s.publish_side(ch) for ch in CHANNELS} == {
        "facebook": 2048, "twitter": 4096, "youtube": 2048, "instagram": 2048, "linkedin": 2048, "tiktok": 2048,
        "website": None, "print": None}
    # the settings still override the fitted sizes; a crop comes on top of whatever they say
    t = Settings(publish_long_side=1024)
    assert t.publish_side("instagram") == 1024
    assert publish_scale(1080, 6480, t.publish_side("instagram"), t.publish_crops("instagram")) == 1.0


def test_a_crop_must_make_sense():
    with pytest.raises(ValueError):
        Crop(width=1080, tallest=1.91, widest=0.8)
    with pytest.raises(ValueError):
        Crop(width=0, tallest=0.8, widest=1.91)


sides = st.integers(min_value=1, max_value=40_000)
long_sides = st.sampled_from([512, 1024, 2048, 4096, None])
crops = st.builds(Crop, width=st.integers(min_value=100, max_value=5000),
                  tallest=st.floats(min_value=0.2, max_value=1.0), widest=st.floats(min_value=1.0, max_value=5.0))
channel_crops = st.sampled_from([(), *PUBLISH_CROPS_BY_CHANNEL.values()])


@settings(max_examples=500, deadline=None)
@given(sides, sides, long_sides, st.lists(crops, max_size=3) | channel_crops)
def test_the_published_scale_is_never_below_fitting_and_never_enlarges(width, height, side, cs):
    scale = publish_scale(width, height, side, cs)
    assert fit_scale(width, height, side) <= scale <= 1.0
    assert all(crop_scale(width, height, c) <= scale for c in cs)


@settings(max_examples=500, deadline=None)
@given(sides, sides, sides, long_sides, crops)
def test_moving_the_aspect_toward_the_crop_range_never_shrinks_a_face(width, height, other, side, crop):
    """A photo with one side shorter, the other kept, never shows a face smaller: in particular a strip
    made shorter or a panorama narrower (its aspect moving toward the crop range), where the crop keeps
    showing the face as large and fitting shows it larger."""
    lo, hi = sorted((height, other))
    # a strip: width kept, height towards the range
    assert publish_scale(width, lo, side, (crop,)) >= publish_scale(width, hi, side, (crop,)) - 1e-12
    lo, hi = sorted((width, other))
    # a panorama: height kept, width towards the range
    assert publish_scale(lo, height, side, (crop,)) >= publish_scale(hi, height, side, (crop,)) - 1e-12
