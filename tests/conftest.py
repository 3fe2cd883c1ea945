"""Shared fixtures. Models are real and expensive to load, so they load once per session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner as TyperRunner

ROOT = Path(__file__).resolve().parent.parent
SHARED = (ROOT / ".." / "shared" / "data").resolve()
SAMPLES = ROOT / "sample_images"


class CliRunner(TyperRunner):
    """Typer's test runner, except that an exception the CLI lets escape fails the test. Caught, as the
    runner does by default, it would become exit code 1, which is also a legitimate "needs consent"; a
    user would have seen a traceback. Exits (typer.Exit, usage errors) still give their exit code."""

    def invoke(self, *args, catch_exceptions: bool = False, **kwargs):
        return super().invoke(*args, catch_exceptions=catch_exceptions, **kwargs)


def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"evaluation data not found at {SHARED}")
    return SHARED


def json_lines(text: str) -> list[dict]:
    """`--json` output read as JSON Lines: every line on its own one complete JSON object."""
    out = []
    for line in text.splitlines():
        obj = json.loads(line)
        assert isinstance(obj, dict), line
        out.append(obj)
    return out


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return shared_data()


@pytest.fixture(scope="session")
def detector():
    from imagegate.vision.detect import FaceDetector

    det = FaceDetector()
    yield det
    det.close()


@pytest.fixture(scope="session")
def embedder():
    from imagegate.vision.embed import FaceEmbedder

    return FaceEmbedder()


@pytest.fixture(scope="session")
def gate_parts(detector, embedder):
    return {"detector": detector, "embedder": embedder}


@pytest.fixture()
def hopper_path() -> Path:
    return SAMPLES / "grace_hopper.jpg"


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never read or write the real per-user register/config during tests."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.delenv("IMAGEGATE_REGISTER", raising=False)
    monkeypatch.delenv("IMAGEGATE_CONFIG", raising=False)
    monkeypatch.delenv("IMAGEGATE_CONFIG_FILE", raising=False)
    monkeypatch.setenv("IMAGEGATE_LANG", "en")
    yield
