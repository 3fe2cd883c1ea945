"""Previews: labels never cover a face, only faces needing attention are worded, a recognised client in a
crowd has its own colour, and the legend sits under the photo."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from imagegate.enrol import enrol
from imagegate.gate import Gate
from imagegate.outputs.annotate import ATTENTION, COLOURS, _font, kind, layout, render_preview
from imagegate.register.store import Register

from ..conftest import SAMPLES, shared_data
from ..publish_helpers import sample_crowd

pytestmark = pytest.mark.slow  # the real networks on the sample photos


@pytest.fixture(scope="module")
def gate(gate_parts):
    reg = Register(":memory:")
    g = Gate(register=reg, **gate_parts)
    enrol(g, "Grace Hopper", "client", [str(SAMPLES / "grace_hopper.jpg")], None)
    yield g
    reg.close()


def labels_of(verdict, size):
    draw, font = ImageDraw.Draw(Image.new("RGB", (1, 1))), _font(max(12, round(max(size) / 60)))

    def measure(text):
        tb = draw.textbbox((0, 0), text, font=font)
        return tb[2] - tb[0] + 4, tb[3] - tb[1] + 4

    return layout(verdict, 1.0, size, measure, "en")


def assert_no_label_covers_a_face(verdict, labels, size):
    w, h = size
    for lb in labels:
        if lb.box is None:
            continue
        x0, y0, x1, y1 = lb.box
        assert 0 <= x0 and 0 <= y0 and x1 <= w and y1 <= h, lb
        for f in verdict.faces:
            fx, fy, fw, fh = f.box
            assert x1 <= fx or fx + fw <= x0 or y1 <= fy or fy + fh <= y0, (lb, f.index)
    placed = [lb.box for lb in labels if lb.box]
    for i, a in enumerate(placed):  # nor another label
        for b in placed[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_a_recognised_client_in_a_crowd_has_its_own_colour_and_the_only_worded_label(gate):
    photo, _ = sample_crowd()
    v = gate.check(photo, channel="facebook", event="public")
    assert v.decision == "allowed" and v.crowd
    [client] = [f for f in v.faces if kind(f) == "crowd_client"]
    labels = labels_of(v, photo.size)
    assert_no_label_covers_a_face(v, labels, photo.size)
    worded = {lb.face: lb.text for lb in labels if lb.text != f"#{lb.face + 1}"}
    assert worded == {client.index: f"#{client.index + 1} client, crowd exception: Grace Hopper"}
    img = np.asarray(render_preview(np.asarray(photo), v))
    assert img.shape[0] > photo.height and img.shape[1] == photo.width  # the legend is under the photo
    x, y, w, h = (int(round(c)) for c in client.box)
    edge = img[y + h // 2, x - 1:x + 2].reshape(-1, 3)  # the box's left edge
    purple = np.array(COLOURS["crowd_client"])
    assert (np.abs(edge.astype(int) - purple).sum(axis=1) < 60).any(), edge
    assert COLOURS["crowd_client"] not in (COLOURS["crowd"], COLOURS["client"])


def test_a_real_crowd_preview_has_numbers_beside_the_faces_and_none_on_them(gate):
    from imagegate.image.loader import load_image

    img = load_image(shared_data() / "faces-detect" / "20_Family_Group_Family_Group_20_64.jpg")
    v = gate.check(img, channel="facebook")
    assert len(v.faces) >= 20
    labels = labels_of(v, (img.width, img.height))
    assert_no_label_covers_a_face(v, labels, (img.width, img.height))
    assert all(lb.text == f"#{lb.face + 1}" for lb in labels if kind(v.faces[lb.face]) not in ATTENTION)
    assert sum(lb.box is not None for lb in labels) >= 0.9 * len(labels)
