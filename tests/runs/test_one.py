"""The one fail-closed path every door takes for one photo (imagegate.runs.one, errors.fail_closed)."""

from __future__ import annotations

import ast

import pytest

from imagegate.config import Settings
from imagegate.errors import ImageLoadError, ModelError, fail_closed
from imagegate.results import Failure
from imagegate.runs.one import check_one, stopped
from imagegate.runs.workers import WorkerStopped
from imagegate.words import messages

from ..conftest import ROOT, SAMPLES

PACKAGE = ROOT / "imagegate"
SECRET = "Grace Hopper 0.4172 [12, 200, 31]"  # what an exception deep in matching could carry


class ExplodingGate:
    """A gate whose check raises what it is given: the path's handling is what is tested, not the gate."""

    settings = Settings()

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.checked = []

    def check(self, img, **kw):
        self.checked.append(img)
        if self.error is not None:
            raise self.error
        return "a verdict"


def test_an_unexpected_crash_fails_the_photo_and_says_only_the_exceptions_type():
    done = check_one(ExplodingGate(RuntimeError(SECRET)), SAMPLES / "coffee.png", source="coffee.png",
                     channel="facebook")
    assert isinstance(done.result, Failure) and not done.result.allowed
    report = done.result.to_dict()
    assert report["decision"] == "error" and "RuntimeError" in report["error"]["message"]
    assert SECRET not in str(report) and "Grace" not in messages.error_text(done.result.error, "fi")
    assert messages.error_text(done.result.error, "fi").startswith("sisäinen virhe (RuntimeError)")


def test_a_known_error_keeps_its_words_and_a_crash_in_what_the_door_makes_fails_the_photo_too():
    err = ImageLoadError.coded("truncated", source="x.jpg")
    assert check_one(ExplodingGate(err), SAMPLES / "coffee.png", source="x.jpg", channel="x").result.error is err

    def preview(img, verdict):
        raise OSError(SECRET)

    done = check_one(ExplodingGate(), SAMPLES / "coffee.png", source="c.png", channel="facebook", then=preview)
    assert isinstance(done.result, Failure) and SECRET not in str(done.result.to_dict())


def test_an_unreadable_photo_is_a_failure_before_the_gate_sees_it(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff" + b"\0" * 40)
    gate = ExplodingGate()
    done = check_one(gate, bad, source=str(bad), channel="facebook")
    assert isinstance(done.result, Failure) and done.result.error.kind == "unreadable_image"
    assert gate.checked == []


def test_exceptions_the_door_handles_itself_pass_through():
    with pytest.raises(FileNotFoundError):
        fail_closed("x", lambda: open("/nonexistent/imagegate"), passes=(FileNotFoundError,))
    assert isinstance(fail_closed("x", lambda: open("/nonexistent/imagegate")), Failure)


@pytest.mark.parametrize("error, words", [
    (WorkerStopped(2, 0, hung=False), ["twice", "died 2 times", "BrokenProcessPool"]),
    (WorkerStopped(2, 2, hung=True), ["after 7 s, twice", "after the 7 s limit"]),
    (RuntimeError(SECRET), ["internal error (RuntimeError)"]),
])
def test_a_photo_the_pool_gave_up_on_fails_with_words_in_both_languages_and_no_exception_text(error, words):
    failure = stopped("p.jpg", error, 7.0)
    assert isinstance(failure.error, ModelError) and failure.error.code
    message = failure.to_dict()["error"]["message"]
    assert all(w in message for w in words) and SECRET not in message
    assert messages.error_text(failure.error, "fi") != messages.error_text(failure.error, "en")


def test_only_the_one_path_turns_an_unexpected_exception_into_a_failure():
    # `internal_error` drops an exception's text; calling it anywhere else than the one path (and the
    # command line's last-resort handler) would be a second rule that could drift from it
    allowed = {"errors.py", "cli/main.py"}
    callers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == \
                    "internal_error":
                callers.add(str(path.relative_to(PACKAGE)))
    assert callers <= allowed, callers - allowed
