"""Batches: worker processes give the same verdicts, in the same order, as one process."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest

from imagegate.config import Settings
from imagegate.enrol import enrol
from imagegate.gate import Gate
from imagegate.image.paths import collect
from imagegate.register.store import Register
from imagegate.runs.batch import Batch, Job

from ..conftest import SAMPLES, SHARED

pytestmark = pytest.mark.slow  # worker processes and the real networks


@pytest.fixture(scope="module")
def photos(tmp_path_factory, detector, embedder):
    """A register built from scenarios.json, and a folder of development photos to check; without the
    evaluation photos, the sample photos with Eileen Collins (astronaut.png) as a client."""
    if not SHARED.is_dir():
        return _sample_photos(tmp_path_factory.mktemp("batch"), detector, embedder)
    data = SHARED
    suite = json.loads((data / "scenarios.json").read_text())
    tmp = tmp_path_factory.mktemp("batch")
    reg_path = tmp / "register.sqlite3"
    with Register(reg_path) as reg:
        gate = Gate(register=reg, detector=detector, embedder=embedder)
        for person in suite["register"]:
            enrol(gate, person["name"], person["role"], [str(data / p) for p in person["photos"]], None)
            for c in person["consents"]:
                reg.add_consent(person["name"], c["channels"], valid_until=c.get("until"),
                                risks_explained=c.get("risks_explained", False))
                if c.get("withdrawn"):
                    reg.withdraw(person["name"])
    folder = _folder(tmp)
    cases = [c["image"] for c in suite["cases"] if c["channel"] == "facebook"]
    for i, rel in enumerate(sorted(set(cases))[:10]):
        shutil.copy(data / rel, folder / f"{i:02d}_{(data / rel).name}")
    return reg_path, _add_last_three(folder), dt.date.fromisoformat(suite["today"])


def _folder(tmp):
    folder = tmp / "photos"
    folder.mkdir()
    return folder


def _add_last_three(folder):
    shutil.copy(SAMPLES / "grace_hopper.jpg", folder / "50_grace.jpg")
    shutil.copy(SAMPLES / "grace_hopper.jpg", folder / "51_grace_copy.jpg")  # identical bytes
    (folder / "52_broken.jpg").write_bytes((SAMPLES / "grace_hopper.jpg").read_bytes()[:5000])
    return folder


def _sample_photos(tmp, detector, embedder):
    """Blocked, allowed and needs-consent photos made from the samples: a client (astronaut.png) at
    three sizes and mirrored, the photo without faces, then Grace Hopper (not enrolled)."""
    from PIL import Image

    reg_path = tmp / "register.sqlite3"
    with Register(reg_path) as reg:
        enrol(Gate(register=reg, detector=detector, embedder=embedder), "Eileen Collins", "client",
              [str(SAMPLES / "astronaut.png")], None)
    folder = _folder(tmp)
    astronaut = Image.open(SAMPLES / "astronaut.png").convert("RGB")
    for i, scale in enumerate((1.0, 0.8, 0.6)):
        small = astronaut.resize((round(astronaut.width * scale), round(astronaut.height * scale)))
        small.save(folder / f"{2 * i:02d}_astronaut.jpg", quality=92)
        small.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / f"{2 * i + 1:02d}_mirrored.png")
    shutil.copy(SAMPLES / "coffee.png", folder / "06_coffee.png")
    return reg_path, _add_last_three(folder), dt.date(2026, 12, 1)


def run(reg_path, folder, day, jobs, **kwargs):
    with Batch(settings=Settings(), register=reg_path, jobs=jobs, **kwargs) as batch:
        return [c.result for c in batch.run(list(collect([folder])), Job(channel="facebook", on=day))]


def test_two_workers_give_the_same_verdicts_in_the_same_order(photos):
    reg_path, folder, day = photos
    one = run(reg_path, folder, day, jobs=1)
    two = run(reg_path, folder, day, jobs=2)
    assert [r.file for r in two] == [r.file for r in one] == [t.path for t in collect([folder])]
    assert [r.to_dict() for r in two] == [r.to_dict() for r in one]
    decisions = [r.decision for r in one]
    assert decisions[-3:] == ["needs_consent", "needs_consent", "error"]
    assert "blocked" in decisions and "allowed" in decisions


def test_an_identical_file_is_reported_under_its_own_name(photos):
    reg_path, folder, day = photos
    with Batch(settings=Settings(), register=reg_path, jobs=1) as batch:
        targets = [t for t in collect([folder]) if "grace" in t.path]
        a, b = (c.result for c in batch.run(targets, Job(channel="facebook", on=day)))
    assert a.file.endswith("50_grace.jpg") and b.file.endswith("51_grace_copy.jpg")
    assert a.sha256 == b.sha256 and a.to_dict() | {"file": b.file} == b.to_dict()


@pytest.mark.parametrize("kind, entry, error", [
    ("crash", "check_or_die", "this photo stopped the worker process checking it twice"),
    # a limit a normal photo never reaches, even with the worker's start in it, but that keeps the test short
    ("hang", "check_or_hang", "this photo was still being checked after 20 s, twice"),
])
def test_a_photo_that_kills_or_hangs_its_worker_fails_and_the_photos_beside_it_are_checked(
        photos, tmp_path, monkeypatch, kind, entry, error):
    from imagegate.runs import batch as batch_module

    from . import crashing_worker

    reg_path, folder, day = photos
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    originals = sorted(p for p in folder.iterdir() if "broken" not in p.name)[:5]
    for i, p in enumerate(originals):
        shutil.copy(p, mixed / f"{i:02d}_{p.name}")
        if i == 1:  # in flight together with innocent photos when its worker stops; one byte more
            (mixed / f"{i:02d}_{kind}.jpg").write_bytes(p.read_bytes() + b"\0")  # so it is not a copy
    expected = {r.file: r.to_dict() for r in run(reg_path, mixed, day, jobs=1)}

    monkeypatch.setattr(batch_module, "_worker_check", getattr(crashing_worker, entry))
    got = run(reg_path, mixed, day, jobs=2, photo_timeout=20)
    assert [r.file for r in got] == list(expected)
    for r in got:
        if kind in r.file:
            assert r.decision == "error" and error in r.to_dict()["error"]["message"]
        else:  # innocent photos caught in the broken pool were checked again, not failed
            assert r.to_dict() == expected[r.file]


def test_a_photo_time_limit_does_not_count_the_workers_start(tmp_path, monkeypatch):
    # Spawned workers take seconds to load the models; a limit shorter than that must still let
    # quick photos through, or every photo of a batch would fail twice on a fresh pool.
    from imagegate.runs import batch as batch_module

    from . import crashing_worker

    for i in range(4):
        for name in ("grace_hopper.jpg", "coffee.png"):
            (tmp_path / f"{i}_{name}").write_bytes((SAMPLES / name).read_bytes() + bytes([i]))  # not copies
    targets = list(collect([tmp_path]))
    job = Job(channel="facebook", on=dt.date(2026, 12, 1))
    with Batch(settings=Settings(), register=None, jobs=1) as here:
        expected = [c.result.to_dict() for c in here.run(targets, job)]
    monkeypatch.setattr(batch_module, "_worker_init", crashing_worker.slow_init)  # 15 s before models load
    with Batch(settings=Settings(), register=None, jobs=2, photo_timeout=10) as pool:
        got = [c.result.to_dict() for c in pool.run(targets, job)]
    assert [r["decision"] for r in got] == ["allowed", "needs_consent"] * 4
    assert got == expected
