"""The README's examples are what the CLI prints: a second reader for the quick start."""

from __future__ import annotations

import re

import pytest
import typer

from imagegate.cli.main import app

from .conftest import ROOT, CliRunner

runner = CliRunner()


def readme_transcript(command: str) -> tuple[str, int | None]:
    """The output the README shows after `$ imagegate COMMAND`, and the exit code it says follows (`echo $?`)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"^\$ imagegate {re.escape(command)}\n(.*?)(?=^\$ |^```)", text, re.M | re.S)
    assert m, f"README has no transcript of `imagegate {command}`"
    code = re.search(rf"\$ imagegate {re.escape(command)}\n.*?\$ echo \$\?\n(\d+)\n", text, re.S)
    return m.group(1), int(code.group(1)) if code else None


@pytest.mark.slow  # loads the real networks
def test_quick_start_installs_and_checks_the_samples_and_says_what_exit_1_means(monkeypatch):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text[text.index("## Quick start"):]
    first = re.findall(r"```bash\n(.*?)\n```", quick, re.S)[0]
    assert first.startswith("python3 -m venv .venv") and first.endswith("imagegate check sample_images --details")
    after = quick[quick.index(first) + len(first):][:400]
    assert "exit code 1, which here means the check worked" in after
    assert "`imagegate check sample_images/coffee.png` alone ends `ALLOWED` with exit code 0" in " ".join(after.split())
    monkeypatch.chdir(ROOT)
    r = runner.invoke(app, ["check", "sample_images/coffee.png"])
    assert r.exit_code == 0 and r.stdout.startswith("ALLOWED")


@pytest.mark.slow  # loads the real networks
def test_quick_start_transcript_and_exit_code_are_what_check_prints(monkeypatch):
    shown, code = readme_transcript("check sample_images --details")
    monkeypatch.chdir(ROOT)
    r = runner.invoke(app, ["check", "sample_images", "--details", "--jobs", "1"])
    assert r.stdout == shown and r.exit_code == code == 1


@pytest.mark.slow  # loads the real networks
def test_redact_transcript_leads_with_the_copy(tmp_path, monkeypatch):
    (tmp_path / "sample_images").symlink_to(ROOT / "sample_images")
    monkeypatch.chdir(tmp_path)
    reg = ["--register", str(tmp_path / "reg.sqlite3")]
    assert runner.invoke(app, [*reg, "register", "add", "Grace Hopper", "--role", "client",
                               "--photo", "sample_images/grace_hopper.jpg"]).exit_code == 0
    shown, _ = readme_transcript("redact sample_images/grace_hopper.jpg --out redacted")
    r = runner.invoke(app, [*reg, "redact", "sample_images/grace_hopper.jpg", "--out", "redacted"])
    assert r.exit_code == 0 and r.stdout == shown


def command_tree() -> dict[str, list[str]]:
    """Every command path of the CLI ("" for `imagegate` itself, "register consent", ...) with its long
    option names; hidden commands and options are left out."""
    tree: dict[str, list[str]] = {}

    def walk(cmd, path: list[str]) -> None:
        if getattr(cmd, "hidden", False):
            return
        tree[" ".join(path)] = [name for p in cmd.params if p.param_type_name == "option" and not p.hidden
                                for name in (*p.opts, *p.secondary_opts) if name.startswith("--")]
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return tree


def test_readme_names_every_command_and_option():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    tree = command_tree()
    # the walk reaches sub-commands and their options: an empty tree would pass whatever the README says
    assert "--photo-timeout" in tree["check"] and "--risks-explained" in tree["register consent"]
    missing = [f"imagegate {path}" for path in tree
               if path and not re.search(rf"imagegate {re.escape(path)}(?![\w-])", text)]
    missing += [f"imagegate {path} {option}".replace("  ", " ") for path, options in tree.items()
                for option in options if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text)]
    assert not missing, f"README.md does not mention: {', '.join(missing)}"
