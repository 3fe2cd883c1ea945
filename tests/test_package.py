"""The package's public face: `python -m imagegate` and a complete, sorted `__all__`."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import imagegate


@pytest.mark.slow  # starts a subprocess
def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "imagegate", "--version"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("imagegate ")


def test_all_is_sorted_and_names_every_public_object():
    assert sorted(imagegate.__all__) == list(imagegate.__all__)
    # the parts load lazily: resolve every name first, then nothing public may be missing from __all__
    for name in imagegate.__all__:
        assert getattr(imagegate, name) is not None
    public = {name for name, value in vars(imagegate).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert set(imagegate.__all__) == public
    assert set(imagegate.__all__) <= set(dir(imagegate))


def test_errors_are_defined_once_and_keep_the_names_they_had():
    # `except metadata.OutputError` in callers must catch what `errors.OutputError` names: one class
    import importlib

    from imagegate import errors

    for module, name in [("image.metadata", "OutputError"), ("redact", "RedactionError"),
                         ("register.audit", "AuditError"), ("runs.journal", "JournalError"),
                         ("runs.journal", "SourceChanged"), ("runs.watch", "WatchError")]:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.ImagegateError) and cls.__module__ == "imagegate.errors"
        assert getattr(importlib.import_module(f"imagegate.{module}"), name) is cls
