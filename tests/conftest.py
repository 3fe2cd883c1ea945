"""Shared fixtures. Models are real and expensive to load, so they load once per session.

Two tiers: `python -m pytest` runs everything; `python -m pytest -m "not slow"` is the fast tier, without
the tests that run the real networks, start processes or a browser. A test using one of the fixtures that
load the real networks is marked slow here; any other is marked in its file. A test not marked slow that
loads a real network or starts a process fails at teardown, saying what it started (see the end of this
file), so the fast tier stays fast. Fakes of the networks are in tests/fakes.py.
"""

from __future__ import annotations

import json
import multiprocessing.process
import subprocess
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


# -- the fast tier ---------------------------------------------------------------------------------------

#: session fixtures that load the real networks: a test using one, directly or through another fixture,
#: is slow
REAL_NETWORK_FIXTURES = frozenset({"detector", "embedder", "gate_parts"})


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        if REAL_NETWORK_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


_STARTED = pytest.StashKey[list]()
_UNDO = pytest.StashKey[pytest.MonkeyPatch]()
_SETTING_UP: list[str] = []  # the fixtures being set up, innermost last


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(fixturedef, request):
    _SETTING_UP.append(fixturedef.argname)
    try:
        return (yield)
    finally:
        _SETTING_UP.pop()


def _expensive_starts():
    """(owner, attribute, what it starts): what a test outside the slow tier must not call."""
    from imagegate.vision.detect import FaceDetector
    from imagegate.vision.embed import FaceEmbedder

    return [(FaceDetector, "__init__", "loads the real face detector"),
            (FaceEmbedder, "__init__", "loads the real face embedder"),
            (subprocess.Popen, "__init__", "starts a subprocess"),
            (multiprocessing.process.BaseProcess, "start", "starts a process")]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Outside the slow tier, note every real network loaded and every process started, from the test's
    fixtures (a module fixture set up for it included) to its end. Only noted: the test runs as it would."""
    if item.get_closest_marker("slow") is not None:
        return
    started = item.stash[_STARTED] = []
    patch = item.stash[_UNDO] = pytest.MonkeyPatch()
    for owner, name, what in _expensive_starts():
        patch.setattr(owner, name, _noting(getattr(owner, name), what, started))


def _noting(original, what: str, started: list):
    def noting(*args, **kwargs):
        result = original(*args, **kwargs)  # noted once done: a model refused before it loads is not loaded
        started.append(f"{what} (in the fixture {_SETTING_UP[-1]!r})" if _SETTING_UP else what)
        return result

    return noting


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    try:
        return (yield)
    finally:
        patch = item.stash.get(_UNDO, None)
        if patch is not None:
            patch.undo()
            started = sorted(set(item.stash[_STARTED]))
            if started:
                pytest.fail(f"{item.nodeid} is not marked slow but {' and '.join(started)}: mark it "
                            "@pytest.mark.slow, or use the fakes in tests/fakes.py", pytrace=False)
