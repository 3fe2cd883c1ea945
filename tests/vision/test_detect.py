"""Detection on real photos with known face counts (fails if detection breaks)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from imagegate.image.loader import load_image
from imagegate.vision.geometry import iou, iou_matrix
from imagegate.vision.measure import measure

from ..conftest import SAMPLES, shared_data

pytestmark = pytest.mark.slow  # the real detector


def _valid_faces(entry, min_h=0):
    return [f["box"] for f in entry["faces"] if not f["invalid"] and f["box"][3] >= min_h]


@pytest.fixture(scope="module")
def annotations():
    data = shared_data() / "faces-detect"
    ann = json.loads((data / "annotations.json").read_text())["images"]
    return data, {e["file"]: e for e in ann}


@pytest.mark.parametrize("name", [
    "20_Family_Group_Family_Group_20_64.jpg",   # group photo, 23 faces
    "0_Parade_marchingband_1_104.jpg",          # parade crowd
    "20_Family_Group_Family_Group_20_339.jpg",
])
def test_crowd_photos_faces_found_within_tolerance(name, annotations, detector):
    data, ann = annotations
    entry = ann[name]
    faces = detector.detect(load_image(data / name).rgb)
    gt = np.array(_valid_faces(entry, 20), dtype=float)
    det = np.array([f.box for f in faces]).reshape(-1, 4)
    found = (iou_matrix(gt, det) >= 0.3).any(axis=1).mean()
    assert found >= 0.85, f"{name}: only {found:.2f} of {len(gt)} faces >= 20 px found"
    n_valid = len(_valid_faces(entry))
    assert 0.8 * n_valid <= len(faces) <= 1.3 * n_valid + 2, f"{name}: {len(faces)} detections for {n_valid} faces"


@pytest.mark.parametrize("name", ["13_Interview_Interview_On_Location_13_554.jpg", "19_Couple_Couple_19_86.jpg"])
def test_large_faces_found_exactly(name, annotations, detector):
    data, ann = annotations
    entry = ann[name]
    faces = detector.detect(load_image(data / name).rgb)
    gt = np.array(_valid_faces(entry, 40), dtype=float)
    det = np.array([f.box for f in faces]).reshape(-1, 4)
    assert (iou_matrix(gt, det) >= 0.3).any(axis=1).all()
    big = [f for f in faces if f.box[3] >= 40]
    assert len(big) == len(gt)


def test_sample_images_one_face_each(detector):
    for name in ("grace_hopper.jpg", "astronaut.png"):
        faces = detector.detect(load_image(SAMPLES / name).rgb)
        assert len(faces) == 1, name
        assert faces[0].score > 0.5 and len(faces[0].landmarks) == 5


def test_blank_image_has_no_faces(detector):
    assert detector.detect(np.full((480, 640, 3), 127, np.uint8)) == []


def test_boxes_are_in_original_pixels_for_large_photos(detector):
    img = load_image(SAMPLES / "grace_hopper.jpg").rgb
    small = detector.detect(img)[0].box
    big_img = np.kron(img, np.ones((6, 6, 1), np.uint8))  # 3072 x 3600: analysed downscaled
    big = detector.detect(big_img)[0].box
    assert np.allclose(np.array(big) / 6, small, rtol=0.08, atol=4)


def test_measurement_at_publish_size(detector):
    img = load_image(SAMPLES / "grace_hopper.jpg")
    face = detector.detect(img.rgb)[0]
    m = measure(face, 512, 600, publish_long_side=2048, identifiable_px=30, min_match_px=40)
    assert m.publish_height_px == m.height_px and m.identifiable
    # The same face in a 20000 px wide photo is ~10x smaller once published at 2048 px.
    m2 = measure(face, 20000, 600, publish_long_side=2048, identifiable_px=30, min_match_px=40)
    assert m2.publish_height_px == pytest.approx(face.box[3] * 2048 / 20000)
    assert m2.identifiable == (face.box[3] * 2048 / 20000 >= 30)


def test_no_mediapipe_noise_on_stderr():
    code = ("from imagegate.vision.detect import FaceDetector; from imagegate.image.loader import load_image; "
            f"d = FaceDetector(); print(len(d.detect(load_image({str(SAMPLES / 'grace_hopper.jpg')!r}).rgb)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    assert r.stdout.strip() == "1"
    assert r.stderr == "", f"stderr not clean: {r.stderr[:500]}"


@pytest.mark.parametrize("k", [1, 2, 3])
def test_faces_the_wrong_way_up_are_found_where_they_are(detector, k):
    from imagegate.vision.geometry import rotate_box

    img = load_image(SAMPLES / "grace_hopper.jpg").rgb
    [upright] = detector.detect(img)
    turned = np.ascontiguousarray(np.rot90(img, -k))  # the photo as saved sideways / upside down
    faces = detector.detect(turned)
    assert len(faces) == 1
    assert faces[0].rotation == k
    # the face's box, turned with the photo
    expected = rotate_box(upright.box, -k, img.shape)
    assert iou(faces[0].box, expected) > 0.5


@pytest.mark.parametrize("person, photo, cut", [("biden", "biden.jpg", 0.5), ("paul_allen", "paul_allen2.jpg", 0.6),
                                                 ("steve_wozniak", "steve_wozniak3.jpg", 0.6)])
def test_a_close_up_cut_by_the_frame_is_still_a_face(detector, gate_parts, person, photo, cut):
    # The face filling the photo past its edges (`cut` of the face box kept: eyebrows to mouth). Without
    # the padded close-up pass no network fired on these, and a client's close-up came out "no faces".
    from PIL import Image

    from imagegate.gate import Gate
    from imagegate.register.store import Register

    img = load_image(shared_data() / "identities" / "people" / person / photo)
    [whole] = detector.detect(img.rgb)
    x, y, w, h = whole.box
    cx, cy, half = x + w / 2, y + h / 2, cut * max(w, h) / 2
    close = Image.fromarray(img.rgb).crop(
        (int(cx - half), int(cy - half), int(cx + half), int(cy + half))).resize((800, 800), Image.LANCZOS)
    [face] = detector.detect(np.asarray(close))
    assert face.source == "centerface@closeup"
    fx, fy, fw, fh = face.box
    assert fx < 400 < fx + fw and fy < 400 < fy + fh and fh > 400  # the frame's whole face, clipped to it
    with Gate(register=Register(":memory:"), **gate_parts) as gate:
        assert gate.check(close, channel="facebook").decision == "needs_consent"
    # Another, small face in a corner (a consenting colleague) must not hide the close-up: every face
    # lies inside a close-up's box, and the small one drew the network away from the large one.
    other = Image.open(SAMPLES / "astronaut.png").convert("RGB").crop((150, 30, 300, 200)).resize((90, 102))
    close.paste(other, (680, 660))
    faces = sorted(detector.detect(np.asarray(close)), key=lambda f: -f.box[3])
    assert len(faces) == 2 and faces[0].source == "centerface@closeup" and faces[0].box[3] > 400
    assert faces[1].box[3] < 150
