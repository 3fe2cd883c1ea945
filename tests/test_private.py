"""imagegate.private: the one writer of files with personal data (0600, fsynced, never over another file)."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from imagegate import private


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def open_umask():
    old = os.umask(0)  # the files' own mode must keep others out, whatever the umask allows
    yield
    os.umask(old)


@pytest.mark.parametrize("write", [private.write_new, private.write_new_whole])
def test_a_new_file_is_private_and_never_written_over(tmp_path, write):
    path = tmp_path / "export.json"
    assert write(path, b"data") == path
    assert path.read_bytes() == b"data" and mode(path) == 0o600
    with pytest.raises(FileExistsError):
        write(path, b"other")
    assert path.read_bytes() == b"data"
    assert [p.name for p in tmp_path.iterdir()] == ["export.json"]  # no temporary file left behind


def test_a_new_file_is_not_written_into_a_fifo_or_through_a_link(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "target").write_bytes(b"keep")
    os.symlink(tmp_path / "target", tmp_path / "link")
    for name in ("fifo", "link"):
        for write in (private.write_new, private.write_new_whole):
            with pytest.raises(FileExistsError):
                write(tmp_path / name, b"data")
    assert (tmp_path / "target").read_bytes() == b"keep"


def test_a_new_file_cut_short_by_an_error_is_removed(tmp_path):
    with pytest.raises(TypeError):
        private.write_new(tmp_path / "half.json", "not bytes")
    assert not (tmp_path / "half.json").exists()


def test_without_hard_links_a_whole_file_is_still_new_and_private(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    path = private.write_new_whole(tmp_path / "sheet.html", b"<html>")
    assert path.read_bytes() == b"<html>" and mode(path) == 0o600
    with pytest.raises(FileExistsError):
        private.write_new_whole(path, b"other")
    assert [p.name for p in tmp_path.iterdir()] == ["sheet.html"]


def test_a_reserved_name_is_empty_private_and_exclusive(tmp_path):
    private.create_new(tmp_path / "backup.sqlite3")
    assert (tmp_path / "backup.sqlite3").read_bytes() == b"" and mode(tmp_path / "backup.sqlite3") == 0o600
    with pytest.raises(FileExistsError):
        private.create_new(tmp_path / "backup.sqlite3")


def test_a_replacement_is_atomic_and_private(tmp_path):
    path = tmp_path / "intent.json"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    private.write_replace(path, b"new", tmp=tmp_path / ".intent.json.w.tmp")
    assert path.read_bytes() == b"new" and mode(path) == 0o600
    private.write_replace(path, b"newer")  # the default temporary name
    assert path.read_bytes() == b"newer" and [p.name for p in tmp_path.iterdir()] == ["intent.json"]


def test_overwrite_keeps_the_times_it_is_given(tmp_path):
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"jpeg")
    os.utime(photo, ns=(1_000_000_000_000_000_000, 1_100_000_000_000_000_000))
    staged = tmp_path / "token.photo"
    private.overwrite(staged, b"first")
    private.overwrite(staged, b"jpeg", times=photo.stat())
    assert staged.read_bytes() == b"jpeg" and mode(staged) == 0o600
    assert staged.stat().st_mtime_ns == photo.stat().st_mtime_ns


def test_a_log_is_created_private_and_only_appended_to(tmp_path):
    log = tmp_path / "audit.jsonl"
    for line in (b"one\n", b"two\n"):
        fd = private.open_append(log)
        try:
            os.lseek(fd, 0, os.SEEK_SET)  # appends land at the end wherever the offset is
            os.write(fd, line)
        finally:
            os.close(fd)
    assert log.read_bytes() == b"one\ntwo\n" and mode(log) == 0o600


def test_a_stamp_records_when_and_is_private_even_if_it_was_not(tmp_path):
    stamp = tmp_path / "review-notice"
    stamp.write_bytes(b"")
    os.chmod(stamp, 0o666)
    private.touch(stamp, 1_000_000.0)
    assert stamp.stat().st_mtime == 1_000_000.0 and mode(stamp) == 0o600
