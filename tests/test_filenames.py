"""Names made from other names (`x.jpg.json`, `x.preview.jpg`, `x (2).jpg`, temporary names) fit in a file name.

A legal 251-byte name with `.json` after it is not a legal name: `fit_name` shortens what does not fit,
keeps its end (the extension, the `.preview.jpg`) and puts a hash of the whole name in, so two long names
stay two names.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imagegate.filenames import NAME_MAX, NUMBER_ROOM, fit_name
from imagegate.image import metadata
from imagegate.outputs.annotate import PREVIEW_NAME, preview_name
from imagegate.redact import output_name
from imagegate.register.export import write_export
from imagegate.runs.journal import preview_name as sorted_preview_name
from imagegate.runs.journal import report_name, tmp_name

LONG = "IMG_" + "x" * 243 + ".jpg"  # 251 bytes: a legal name
#: 1-, 2-, 3- and 4-byte characters, 252 bytes in all
WIDE = "kuva " + "😀写ä" * 27 + ".png"


def size(name: str) -> int:
    return len(os.fsencode(name))


def test_the_review_names_are_legal_and_their_derived_names_were_not():
    assert size(LONG) == 251 and size(WIDE) == 252
    assert size(LONG + ".json") > NAME_MAX and size(WIDE + ".preview.jpg") > NAME_MAX


def test_a_name_that_fits_is_kept_as_it_is():
    assert fit_name("photo.jpg") == "photo.jpg"
    assert fit_name("photo.jpg", ".json") == "photo.jpg.json"
    assert fit_name("photo", " (2).jpg") == "photo (2).jpg"
    assert fit_name(LONG) == LONG
    assert fit_name("x" * 250, ".json") == "x" * 250 + ".json"  # exactly 255 bytes


@pytest.mark.parametrize("name", [LONG, WIDE, os.fsdecode(b"caf\xe9 " * 62 + b".jpg")], ids=["ascii", "utf8", "bytes"])
@pytest.mark.parametrize("tail", [".json", ".preview.jpg", " (2).jpg", ".redacted.jpeg"])
def test_a_derived_name_fits_and_keeps_its_end(name, tail):
    made = fit_name(name, tail)
    assert size(made) <= NAME_MAX and made.endswith(tail)
    # its start is the name's start, cut at a whole character (the bytes decode as they did)
    head = made[:made.rindex("~")]
    assert name.startswith(head) and size(head) > 180
    assert os.fsdecode(os.fsencode(made)) == made


def test_the_extension_is_kept_when_a_name_is_fitted_alone():
    made = fit_name("y" * 300 + ".heic")
    assert size(made) == NAME_MAX and made.endswith(".heic") and made.startswith("y" * 200)
    # a long "extension" is no extension: only its end is kept
    made = fit_name("a." + "b" * 300)
    assert size(made) <= NAME_MAX and made.endswith("b" * 20)


def test_room_is_left_for_numbering():
    made = fit_name("z" * 300, ".preview.jpg", room=NUMBER_ROOM)
    assert size(made) == NAME_MAX - NUMBER_ROOM
    stem, ext = os.path.splitext(made)
    assert fit_name(stem, f" (9999){ext}") == f"{stem} (9999){ext}"  # numbered, still a preview's name
    assert PREVIEW_NAME.search(f"{stem} (9999){ext}")


def test_two_long_names_that_differ_only_in_what_is_cut_off_stay_distinct():
    a, b = "p" * 300 + "1", "p" * 300 + "2"
    assert fit_name(a, ".json") != fit_name(b, ".json")
    assert fit_name(a, ".json") == fit_name(a, ".json")  # and the same name always gives the same
    assert fit_name("q" * 300, " (2).jpg") != fit_name("q" * 300, " (3).jpg")


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"), min_size=1, max_size=300),
       st.sampled_from(["", ".json", ".preview.jpg", " (12).png", ".x" * 40]),
       st.integers(min_value=0, max_value=NUMBER_ROOM))
def test_any_name_fits(name, tail, room):
    made = fit_name(name, tail, room=room)
    assert size(made) <= NAME_MAX
    if size(name + tail) <= NAME_MAX:
        assert made == name + tail
    else:
        assert size(made) <= NAME_MAX - room
        assert made.endswith(tail[-40:])


def test_every_name_imagegate_makes_from_another_fits():
    for name in (LONG, WIDE):
        stem = os.path.splitext(name)[0]
        for made in (report_name(name), sorted_preview_name(name), tmp_name(name, "0" * 32),
                     preview_name(name), output_name(name, ".jpeg")):
            assert size(made) <= NAME_MAX, made
        assert report_name(name).endswith(".json") and sorted_preview_name(name).endswith(".preview.jpg")
        assert PREVIEW_NAME.search(preview_name(name)) and output_name(name, ".png").endswith(".redacted.png")
        assert preview_name(name).startswith(stem[:40])


def test_numbered_copies_of_a_long_name_are_written(tmp_path):
    name = preview_name(LONG)
    paths = [metadata.write_new(b"x", tmp_path, name) for _ in range(3)]
    assert [size(p.name) <= NAME_MAX for p in paths] == [True] * 3 and len(set(paths)) == 3
    assert all(PREVIEW_NAME.search(p.name) for p in paths)
    assert paths[1].name == name.removesuffix(".jpg") + " (2).jpg"


def test_a_register_export_beside_a_long_name(tmp_path):
    # a legal 254-byte name, whose page would be `.html` after its stem: 256 bytes
    json_path, html_path = write_export({"x": 1}, tmp_path / ("e" * 251 + ".js"), "<p>page</p>")
    assert json_path.read_text() and html_path.read_text() == "<p>page</p>"
    assert html_path.name.endswith(".html") and size(html_path.name) <= NAME_MAX
