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


def test_library_works_from_a_plain_script_on_a_photo_with_many_faces(tmp_path):
    """A posting tool's script calls imagegate.check() with no `if __name__ == "__main__"` guard.

    Nothing in a single check may start worker processes (a spawned child would re-run the
    script); a photo of four people, all described against a non-empty register, is the case
    that used to start a descriptor helper."""
    import subprocess
    import sys

    from imagegate.register import Register

    from .conftest import SAMPLES, shared_data

    reg = tmp_path / "register.sqlite3"
    with Register(reg) as r:
        from imagegate.enrol import enrol
        from imagegate.gate import Gate

        with Gate(register=r) as g:
            enrol(g, "Grace Hopper", "staff", [str(SAMPLES / "grace_hopper.jpg")], None)
    script = tmp_path / "post_photos.py"
    script.write_text("import sys, imagegate\n"
                      "v = imagegate.check(sys.argv[1], register=sys.argv[2], channel='facebook')\n"
                      "print(v.decision, len(v.faces), sum(f.to_dict()['identifiable'] for f in v.faces))\n")
    photo = shared_data() / "identities" / "groups" / "ms_identification1.jpg"
    out = subprocess.run([sys.executable, str(script), str(photo), str(reg)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    decision, faces, identifiable = out.stdout.split()
    assert decision == "needs_consent" and int(faces) == 4 and int(identifiable) == 4


def test_closing_a_gate_leaves_an_injected_detector_to_its_owner(detector, embedder):
    """Models load once and are shared: one Gate closing must not break the others."""
    with Register(":memory:") as reg:
        with Gate(register=reg, detector=detector, embedder=embedder) as first:
            first.analyse(SAMPLES / "grace_hopper.jpg")
        with Gate(register=reg, detector=detector, embedder=embedder) as second:
            assert len(second.analyse(SAMPLES / "grace_hopper.jpg").faces) == 1
