"""The settings file is chosen in one order: an option (global or the command's own) beats
IMAGEGATE_CONFIG_FILE, and two different files named is a usage error."""

from __future__ import annotations

import json

from imagegate.cli.main import app

from ..conftest import CliRunner

runner = CliRunner()


def _files(tmp_path):
    named = tmp_path / "named.toml"
    named.write_text("crowd_min_faces = 12\n", encoding="utf-8")
    env = tmp_path / "env.toml"
    env.write_text("crowd_min_faces = 15\n", encoding="utf-8")
    return named, env


def _crowd_min(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["crowd_min_faces"]


def test_global_config_option_beats_the_environment(tmp_path, monkeypatch):
    named, env = _files(tmp_path)
    monkeypatch.setenv("IMAGEGATE_CONFIG_FILE", str(env))
    assert _crowd_min(runner.invoke(app, ["--config", str(named), "config", "show", "--json"])) == 12
    assert _crowd_min(runner.invoke(app, ["config", "show", "--json", "--config", str(named)])) == 12
    assert _crowd_min(runner.invoke(app, ["config", "show", "--json"])) == 15


def test_two_different_config_files_is_a_usage_error(tmp_path):
    named, env = _files(tmp_path)
    r = runner.invoke(app, ["--config", str(named), "config", "show", "--config", str(env)])
    assert r.exit_code == 2
    assert "two settings files named" in r.output


def test_serve_refuses_two_different_files_before_it_starts(tmp_path):
    named, env = _files(tmp_path)
    r = runner.invoke(app, ["--config", str(named), "serve", "--config", str(env), "--port", "0"])
    assert r.exit_code == 2 and "two settings files named" in r.output
    r = runner.invoke(app, ["--register", str(tmp_path / "a.sqlite3"), "serve", "--register",
                            str(tmp_path / "b.sqlite3"), "--port", "0"])
    assert r.exit_code == 2 and "two registers named" in r.output


def test_the_library_reads_the_settings_file_the_command_line_reads(tmp_path, monkeypatch):
    # the twin of the register location: one resolution for every door, or the command line blocks a
    # photo that the library (a posting tool) allows
    import pytest

    import imagegate
    from imagegate.config import load_settings
    from imagegate.errors import ConfigError

    named, env = _files(tmp_path)
    monkeypatch.setenv("IMAGEGATE_CONFIG_FILE", str(env))
    cli = _crowd_min(runner.invoke(app, ["config", "show", "--json"]))
    with imagegate.Gate(register=imagegate.Register(":memory:")) as gate:
        assert gate.settings.crowd_min_faces == cli == 15
    assert load_settings().crowd_min_faces == 15
    assert load_settings(named).crowd_min_faces == 12  # a file named by the caller still wins
    monkeypatch.setenv("IMAGEGATE_CONFIG_FILE", str(tmp_path / "typo.toml"))
    with pytest.raises(ConfigError, match="IMAGEGATE_CONFIG_FILE names"):
        imagegate.Gate(register=imagegate.Register(":memory:"))
