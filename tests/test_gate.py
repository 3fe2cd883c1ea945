"""The library pipeline on real photos: fail closed where a face is hard to see."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from imagegate.enrol import enrol
from imagegate.errors import EnrolmentError
from imagegate.gate import Gate
from imagegate.register import Register

from .conftest import SAMPLES


@pytest.fixture(scope="module")
def gate(detector, embedder):
    reg = Register(":memory:")
    g = Gate(register=reg, detector=detector, embedder=embedder)
    enrol(g, "Grace Hopper", "client", [str(SAMPLES / "grace_hopper.jpg")], None)
    yield g
    reg.close()


@pytest.mark.parametrize("k", [1, 2, 3])
def test_a_client_photographed_sideways_or_upside_down_is_still_blocked(gate, k):
    turned = Image.fromarray(np.rot90(np.asarray(Image.open(SAMPLES / "grace_hopper.jpg").convert("RGB")), k))
    v = gate.check(turned, channel="facebook")
    assert v.decision == "blocked"
    [face] = v.faces
    assert face.status.person.name == "Grace Hopper"
    assert face.match.identified is not None and face.match.identified.distance < 0.3


def test_a_sideways_reference_photo_is_refused(gate, tmp_path):
    p = tmp_path / "sideways.png"
    Image.fromarray(np.rot90(np.asarray(Image.open(SAMPLES / "astronaut.png").convert("RGB")))).save(p)
    with pytest.raises(EnrolmentError, match="sideways or upside down .the photo would need turning 270 degrees anticlockwise"):
        enrol(gate, "Eileen Collins", "staff", [str(p)], None)
    assert [p.name for p in gate.register.people()] == ["Grace Hopper"]
