"""The CLI through Typer's test runner, with exact assertions."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from imagegate.cli.common import display_path
from imagegate.cli.main import app

from ..conftest import SAMPLES, CliRunner, json_lines

runner = CliRunner()


@pytest.mark.slow  # loads the real networks
def test_faces_json_lists_each_photo(tmp_path):
    shutil.copy(SAMPLES / "grace_hopper.jpg", tmp_path / "a.jpg")
    (tmp_path / "sub").mkdir()
    shutil.copy(SAMPLES / "astronaut.png", tmp_path / "sub" / "b.png")
    (tmp_path / "notes.txt").write_text("not a photo")
    r = runner.invoke(app, ["faces", "--json", str(tmp_path)])
    assert r.exit_code == 0, r.output
    out = json_lines(r.stdout)
    assert [o["file"].split("/")[-1] for o in out] == ["a.jpg", "b.png"]
    assert out[0]["width"] == 512 and out[0]["height"] == 600
    assert len(out[0]["faces"]) == 1 and len(out[1]["faces"]) == 1
    face = out[0]["faces"][0]
    assert {"box", "score", "height_px", "identifiable"} <= set(face) and face["identifiable"] is True


@pytest.mark.slow  # loads the real networks
def test_faces_reports_bad_files_and_goes_on(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    shutil.copy(SAMPLES / "grace_hopper.jpg", tmp_path / "good.jpg")
    r = runner.invoke(app, ["--lang", "en", "faces", str(tmp_path / "broken.jpg"), str(tmp_path / "good.jpg"),
                            str(tmp_path / "missing.jpg")])
    assert r.exit_code == 4
    assert "broken.jpg: error: the file is corrupt or unreadable" in r.stdout
    assert "missing.jpg: error: no such file or folder\n" in r.stdout  # said once, not "path: error: path: ..."
    assert "good.jpg  512x600  1 face, 1 identifiable" in r.stdout


@pytest.mark.slow  # loads the real networks
def test_faces_in_finnish(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    r = runner.invoke(app, ["faces", "--lang", "fi", str(tmp_path / "empty.jpg"), str(SAMPLES / "grace_hopper.jpg")])
    assert r.exit_code == 4
    lines = r.stdout.splitlines()
    assert lines[0].endswith("empty.jpg: virhe: tiedosto on tyhjä (0 tavua) (kopioi kuva uudelleen)")
    assert lines[1].endswith("grace_hopper.jpg  512x600  kasvoja 1, tunnistettavia 1")
    assert lines[2].split() == ["#", "x", "y", "lev", "kork", "julk.", "kork", "pisteet", "tunnistettava"]
    assert lines[3].split()[0] == "1" and lines[3].split()[-1] == "kyllä"


@pytest.mark.slow  # loads the real networks
def test_check_details_in_finnish():
    r = runner.invoke(app, ["--lang", "fi", "check", "--details", str(SAMPLES / "grace_hopper.jpg")])
    assert r.exit_code == 1
    face = next(line.strip() for line in r.stdout.splitlines() if line.strip().startswith("#1"))
    assert face.split()[:4] == ["#1", "vaatii", "suostumuksen", "199"], face
    assert "(julkaistuna   199) kohdassa 166,130" in face


@pytest.mark.slow  # loads the real networks
def test_check_unknown_person_needs_consent_with_rule_4():
    r = runner.invoke(app, ["--lang", "en", "check", str(SAMPLES / "grace_hopper.jpg")])
    assert r.exit_code == 1
    assert r.stdout.startswith("NEEDS CONSENT")
    assert "[rule 4] Face #1: identifiable person not in the consent register" in r.stdout


@pytest.mark.slow  # loads the real networks
def test_check_in_finnish():
    hopper, coffee = (display_path(str(SAMPLES / n)) for n in ("grace_hopper.jpg", "coffee.png"))
    r = runner.invoke(app, ["--lang", "fi", "check", "--jobs", "1", hopper, coffee])
    assert r.exit_code == 1
    assert r.stdout.splitlines() == [
        f"VAATII SUOSTUMUKSEN  {hopper}",
        "    - [sääntö 4] Kasvot #1: tunnistettava henkilö, jota ei ole suostumusrekisterissä. Pyydä suostumus ja "
        "kerro riskeistä.",
        f"SALLITTU             {coffee}",
        "    - Kasvoja ei löytynyt.",
        "2 kuvaa: 1 sallittu, 1 suostumusta vaativa, 0 estettyä, 0 virhettä",
    ]


def test_check_unreadable_file_is_an_error_never_allowed(tmp_path):
    bad = tmp_path / "truncated.jpg"
    bad.write_bytes((SAMPLES / "grace_hopper.jpg").read_bytes()[:5000])
    r = runner.invoke(app, ["check", "--json", str(bad)])
    assert r.exit_code == 4
    out = json_lines(r.stdout)
    assert out[0]["decision"] == "error" and "truncated" in out[0]["error"]["message"]


@pytest.mark.slow  # starts worker processes
def test_why_a_photo_could_not_be_checked_is_said_in_finnish(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("not a photo")
    bad = tmp_path / "truncated.jpg"
    bad.write_bytes((SAMPLES / "grace_hopper.jpg").read_bytes()[:5000])
    files = [str(tmp_path / n) for n in ("empty.jpg", "notes.jpg", "truncated.jpg", "missing.jpg")]
    r = runner.invoke(app, ["--lang", "fi", "check", *files])
    assert r.exit_code == 4
    lines = r.stdout.splitlines()
    assert lines[1] == f"    {files[0]}: tiedosto on tyhjä (0 tavua) (kopioi kuva uudelleen)"
    assert lines[3] == (f"    {files[1]}: ei kuva tuetussa muodossa (JPEG, PNG, WebP, TIFF, BMP, GIF, HEIC) "
                        "(tallenna kuva JPEG-muodossa ja yritä uudelleen)")
    assert lines[5] == (f"    {files[2]}: tiedosto on katkennut (lataus tai kopiointi jäi kesken) "
                        "(kopioi kuva uudelleen alkuperäisestä)")
    assert lines[7] == f"    {files[3]}: tiedostoa tai kansiota ei löydy"
    # machines get the English message and the code, whatever the language
    r = runner.invoke(app, ["--lang", "fi", "check", "--json", files[0]])
    err = json_lines(r.stdout)[0]["error"]
    assert err == {"kind": "unreadable_image", "code": "empty", "hint": "copy the photo again",
                   "message": f"{files[0]}: the file is empty (0 bytes)"}


@pytest.mark.slow  # loads the real networks
def test_check_worst_outcome_sets_exit_code(tmp_path):
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (300, 200), (90, 90, 90)).save(blank)
    r = runner.invoke(app, ["check", str(blank)])
    assert r.exit_code == 0 and "ALLOWED" in r.stdout and "No faces found." in r.stdout
    r = runner.invoke(app, ["check", str(blank), str(SAMPLES / "grace_hopper.jpg")])
    assert r.exit_code == 1
    assert "2 photos: 1 allowed, 1 needs consent, 0 blocked, 0 errors" in r.stdout


@pytest.mark.slow  # loads the real networks
def test_check_accepts_pasted_paths(tmp_path):
    spaced = tmp_path / "my photos"
    spaced.mkdir()
    shutil.copy(SAMPLES / "grace_hopper.jpg", spaced / "grace hopper.jpg")
    uri = "file://" + str(spaced / "grace hopper.jpg").replace(" ", "%20")
    r = runner.invoke(app, ["check", "--json", uri, f"'{spaced / 'grace hopper.jpg'}'"])
    assert r.exit_code == 1, r.output
    out = json_lines(r.stdout)
    assert len(out) == 1  # the same file twice is checked once
    assert out[0]["decision"] == "needs_consent"


@pytest.mark.slow  # loads the real networks
def test_interactive_drop_prompt_reads_batches_until_quit(tmp_path):
    shutil.copy(SAMPLES / "grace_hopper.jpg", tmp_path / "a b.jpg")
    line = str(tmp_path / "a b.jpg").replace(" ", "\\ ")
    r = runner.invoke(app, ["check"], input=f"{line}\n\nq\n")
    assert r.exit_code == 1
    assert r.stdout.count("NEEDS CONSENT") == 1


@pytest.mark.slow  # loads the real networks
def test_annotate_writes_a_preview(tmp_path):
    out = tmp_path / "previews"
    r = runner.invoke(app, ["check", "--annotate", str(out), str(SAMPLES / "grace_hopper.jpg")])
    assert r.exit_code == 1
    from PIL import Image

    prev = Image.open(out / "grace_hopper.preview.jpg")
    assert prev.width == 512 and prev.height > 600  # the photo, and the legend under it
    assert (out / "grace_hopper.preview.jpg").stat().st_mode & 0o777 == 0o600  # faces, maybe names: private
    assert not prev.getexif()  # previews carry no metadata
    px = prev.convert("RGB").load()
    # the orange "needs consent" box is drawn around the face
    assert any(px[x, y][0] > 200 and 100 < px[x, y][1] < 180 and px[x, y][2] < 60
               for x in range(150, 380) for y in range(100, 140))


@pytest.mark.slow  # loads the real networks
def test_every_file_written_is_named_and_a_clash_becomes_name_2(tmp_path):
    out, photo = tmp_path / "previews", str(SAMPLES / "grace_hopper.jpg")
    sheet = tmp_path / "sheet.html"
    r = runner.invoke(app, ["check", "--annotate", str(out), "--report", str(sheet), photo])
    assert r.stdout.splitlines()[2:] == [f"    preview written: {out / 'grace_hopper.preview.jpg'}",
                                         f"review sheet written: {sheet}"]
    r = runner.invoke(app, ["check", "--annotate", str(out), "--json", photo])
    assert json_lines(r.stdout)[0]["preview"] == str(out / "grace_hopper.preview (2).jpg")
    assert sorted(p.name for p in out.iterdir()) == ["grace_hopper.preview (2).jpg", "grace_hopper.preview.jpg"]


def test_the_watchers_console_line_names_every_file_it_wrote(capsys):
    from imagegate.cli.watch_cmd import _printer
    from imagegate.runs.journal import Outcome

    _printer("en")(Outcome(id="1", name="a.jpg", decision="needs_consent", destination="needs_consent/a.jpg",
                           preview="needs_consent/a.jpg.preview.jpg", report="needs_consent/a.jpg.json",
                           redacted="redacted/a.redacted.jpg"))
    assert capsys.readouterr().out.splitlines() == [
        "NEEDS CONSENT  a.jpg -> needs_consent/a.jpg", "               report: needs_consent/a.jpg.json",
        "               preview: needs_consent/a.jpg.preview.jpg",
        "               publishable copy: redacted/a.redacted.jpg"]


def _help_texts():
    from imagegate.cli.main import app as root

    commands = [[]] + [[c] for c in ("check", "faces", "redact", "watch", "register", "config", "audit")]
    commands += [["register", c] for c in ("add", "consent", "withdraw", "forget", "list", "backup", "restore")]
    commands += [["config", "show"], ["audit", "verify"]]
    for args in commands:
        r = runner.invoke(root, [*args, "--help"], terminal_width=100)
        assert r.exit_code == 0, args
        yield args, r.stdout


def test_help_shows_no_value_for_plain_flags():
    for args, text in _help_texts():
        assert "<bool>" not in text, args
        if args not in (["check"], ["faces"], ["redact"], ["watch"]):
            continue
        for line in text.splitlines():
            spec = line.strip().split("  ")[0]  # `-c, --channel CHANNEL`: FILE, N, CHANNEL..., never a type
            assert not spec.startswith("-") or "<" not in spec, (args, line)
    _, check_help = next((a, t) for a, t in _help_texts() if a == ["check"])
    assert "--json " in check_help and "-c, --channel CHANNEL" in check_help
    assert "facebook, twitter, youtube, instagram, linkedin, tiktok, website, print" in " ".join(check_help.split())


def test_channel_all_is_refused_without_being_offered():
    r = runner.invoke(app, ["check", "--channel", "all", str(SAMPLES / "coffee.png")])
    assert r.exit_code == 2 and "found 'all'" in r.output and "(or 'all')" not in r.output


def test_annotate_folder_holding_photos_without_photos_to_check_is_refused(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(SAMPLES / "coffee.png", photos / "coffee.png")
    r = runner.invoke(app, ["check", "--annotate", str(photos)], input="q\n")
    assert r.exit_code == 2 and "found a folder of photos" in r.output and "Drop photos" not in r.output
    previews = tmp_path / "previews"  # a folder of earlier previews is a preview folder: the prompt opens
    previews.mkdir()
    (previews / "coffee.preview (2).jpg").write_bytes((SAMPLES / "grace_hopper.jpg").read_bytes())
    r = runner.invoke(app, ["check", "--annotate", str(previews)], input="q\n")
    assert r.exit_code == 4 and "no photos found" in r.output


def test_usage_errors_exit_2():
    assert runner.invoke(app, ["check", "--channel", "myspace", str(SAMPLES)]).exit_code == 2
    assert runner.invoke(app, ["check", "--on", "31.12.2026", str(SAMPLES)]).exit_code == 2
    assert runner.invoke(app, ["--lang", "sv", "check", str(SAMPLES)]).exit_code == 2
    r = runner.invoke(app, ["faces", "--channel", "myspace", str(SAMPLES)])
    assert r.exit_code == 2 and "Invalid value for --channel: unknown channel 'myspace'" in r.stderr


def test_missing_register_is_an_error():
    r = runner.invoke(app, ["--register", "/nonexistent/reg.sqlite3", "check", str(SAMPLES)])
    assert r.exit_code == 4
    assert "does not exist" in r.output


def test_config_show_and_bad_config(tmp_path):
    r = runner.invoke(app, ["config", "show", "--json"])
    assert r.exit_code == 0
    assert json.loads(r.stdout)["identifiable_px"] == 30.0
    cfg = tmp_path / "c.toml"
    cfg.write_text("crowd_min_faces = 20\n[detector]\nflip = true\n")
    r = runner.invoke(app, ["--config", str(cfg), "config", "show"])
    assert "crowd_min_faces = 20" in r.stdout
    cfg.write_text("identifiable_pixels = 20\n")
    r = runner.invoke(app, ["--config", str(cfg), "config", "show"])
    assert r.exit_code == 4 and "unknown setting 'identifiable_pixels'" in r.output
    cfg.write_text("publish_long_side_print = 10\n")
    r = runner.invoke(app, ["--config", str(cfg), "config", "show"])
    assert r.exit_code == 4 and "publish_long_side_print must be 0 (full resolution) or >= 512, got 10" in r.output


@pytest.mark.slow  # starts a subprocess
def test_console_script_runs_without_noise_or_traceback(tmp_path):
    bad = tmp_path / "x.jpg"
    bad.mkdir()
    r = subprocess.run([sys.executable, "-m", "imagegate.cli.main", "check", str(bad), str(SAMPLES / "grace_hopper.jpg")],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 4
    assert "Traceback" not in r.stderr + r.stdout
    assert "x.jpg" in r.stdout and "this folder holds no photos" in r.stdout
    assert "WARNING" not in r.stderr and "INFO" not in r.stderr


@pytest.mark.slow  # loads the real networks
def test_a_file_name_cannot_print_a_verdict_over_its_own(tmp_path):
    # "\r" would return the cursor and "ALLOWED ..." overwrite "NEEDS CONSENT" on a terminal
    name = "x\rALLOWED        party.jpg"
    shutil.copy(SAMPLES / "grace_hopper.jpg", tmp_path / name)
    (tmp_path / "y\x1b[2K.jpg").write_bytes(b"")  # an escape sequence erasing the line
    r = runner.invoke(app, ["--lang", "en", "check", str(tmp_path)])
    assert "\r" not in r.stdout and "\x1b" not in r.stdout
    assert "x\\rALLOWED        party.jpg" in r.stdout and "y\\x1b[2K.jpg" in r.stdout
    r = runner.invoke(app, ["--lang", "en", "check", "--json", str(tmp_path)])
    assert sorted(o["file"] for o in json_lines(r.stdout)) == sorted(str(tmp_path / n) for n in (name, "y\x1b[2K.jpg"))


def test_nothing_checked_is_never_all_allowed(tmp_path):
    # exit 0 means "all allowed": a quit before any photo, an empty pipe or an empty folder is not that
    for stdin in ("q\n", "", "\n\n"):
        r = runner.invoke(app, ["--lang", "en", "check"], input=stdin)
        assert r.exit_code == 4 and "no photos found" in r.output, repr(stdin)
    r = runner.invoke(app, ["--lang", "en", "check", "--json", str(tmp_path)])
    [empty] = json_lines(r.stdout)
    assert r.exit_code == 4 and empty["decision"] == "error" and "holds no photos" in empty["error"]["message"]


@pytest.mark.slow  # loads the real networks
def test_piped_drops_with_json_give_one_line_per_photo(tmp_path):
    shutil.copy(SAMPLES / "grace_hopper.jpg", tmp_path / "a.jpg")
    shutil.copy(SAMPLES / "coffee.png", tmp_path / "b.png")
    r = runner.invoke(app, ["check", "--json"], input=f"{tmp_path / 'a.jpg'}\n{tmp_path / 'b.png'}\n")
    assert r.exit_code == 1
    assert [o["decision"] for o in json_lines(r.stdout)] == ["needs_consent", "allowed"]
    r = runner.invoke(app, ["check", "--json-array"], input=f"{tmp_path / 'a.jpg'}\n{tmp_path / 'b.png'}\n")
    assert [o["decision"] for o in json.loads(r.stdout)] == ["needs_consent", "allowed"]


@pytest.mark.slow  # loads the real networks
@pytest.mark.parametrize("command", [["check"], ["faces"], ["redact", "--out", "{out}"]])
def test_json_is_one_compact_object_per_line_and_json_array_one_array(tmp_path, command):
    command = [c.format(out=tmp_path / "out") for c in command]
    photos = [str(SAMPLES / "coffee.png"), str(SAMPLES / "grace_hopper.jpg")]
    lines = runner.invoke(app, [*command, "--json", *photos]).stdout
    assert len(lines.splitlines()) == 2 and "\n  " not in lines  # compact: no indentation
    rows = json_lines(lines)
    assert [r["file"] for r in rows] == photos
    array = json.loads(runner.invoke(app, [*command, "--json-array", *photos]).stdout)
    assert [r["file"] for r in array] == photos


@pytest.mark.slow  # starts a subprocess
def test_json_lines_arrive_as_each_photo_finishes():
    """A reader gets the first photo's line while the second is not even given yet."""
    import select

    proc = subprocess.Popen([sys.executable, "-m", "imagegate.cli.main", "check", "--json", "--jobs", "1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        proc.stdin.write(f"{SAMPLES / 'coffee.png'}\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 240)
        assert ready, "no line before the input ended: the output is held back, not streamed"
        assert json.loads(proc.stdout.readline())["decision"] == "allowed"
        proc.stdin.write(f"{SAMPLES / 'grace_hopper.jpg'}\n")
        proc.stdin.close()
        assert json_lines(proc.stdout.read())[0]["decision"] == "needs_consent"
        assert proc.wait(timeout=240) == 1
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()  # else a ResourceWarning, an error under filterwarnings = error


def test_a_file_uri_naming_another_machine_is_never_read_as_a_local_path(tmp_path):
    from imagegate.image.paths import parse_dropped

    assert parse_dropped("file://server/share/a.jpg") == ["file://server/share/a.jpg"]  # reported as not found
    assert parse_dropped("file://localhost/tmp/a%20b.jpg") == ["/tmp/a b.jpg"]
    assert parse_dropped("file:///tmp/a%20b.jpg") == ["/tmp/a b.jpg"]


@pytest.mark.parametrize("toml, problem", [
    ("identifiable_px = nan", "identifiable_px must be a finite number"),
    ("identifiable_px = inf", "identifiable_px must be a finite number"),
    ("publish_long_side = 64", "publish_long_side must be >= 512"),
    ("crowd_min_faces = 2", "crowd_min_faces must be >= 5"),
    ("crowd_prominent_top = 0", "crowd_prominent_top must be >= 1"),
    ("match_strict = 1.5\nmatch_loose = 1.5", "match_loose must be between 0.45 and 0.8"),
    ("match_strict = 0.01\nmatch_loose = 0.01", "need 0.3 <= match_strict <= match_loose"),
    ("identifiable_px = 200", "identifiable_px must be between 8 and 60"),
    ("crowd_max_client_share = 0.5", "crowd_max_client_share must be in [0, 0.25]"),
    ("[detector]\naccept_score = 2.0", "detector.accept_score must be in (0, 0.8]"),
    ("[detector]\naccept_score = 0.99\nblazeface_score = 0.99", "detector.blazeface_score must be in (0, 0.8]"),
    ("[detector]\nmin_face_px = 100000", "detector.min_face_px must be in (0, 32]"),
])
def test_settings_that_would_switch_the_gate_off_are_refused(tmp_path, toml, problem):
    # each of these turned Grace Hopper, a client, into "allowed" (third review)
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml + "\n")
    r = runner.invoke(app, ["--register", str(tmp_path / "none.sqlite3"), "--config", str(cfg), "check",
                            str(SAMPLES / "grace_hopper.jpg")])
    assert r.exit_code == 4 and problem in r.output, r.output


@pytest.mark.slow  # loads the real networks
def test_settings_that_differ_from_the_defaults_are_said_at_every_run(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text("identifiable_px = 50\n[detector]\naccept_score = 0.6\n")
    r = runner.invoke(app, ["--config", str(cfg), "check", str(SAMPLES / "coffee.png")])
    assert r.exit_code == 0
    assert (f"imagegate: settings differ from the defaults ({cfg}): identifiable_px = 50.0, "
            "detector.accept_score = 0.6") in r.stderr
    monkeypatch.setenv("IMAGEGATE_CONFIG", str(tmp_path / "typo.toml"))  # named, so it must exist
    r = runner.invoke(app, ["check", str(SAMPLES / "coffee.png")])
    assert r.exit_code == 4 and "IMAGEGATE_CONFIG names" in r.output and "which is not a file" in r.output


def test_error_messages_and_audit_verify_escape_names(tmp_path):
    forged = "x\rALLOWED        party.jpg -> allowed\u202e"
    r = runner.invoke(app, ["--lang", "en", "--register", str(tmp_path / forged), "check",
                            str(SAMPLES / "coffee.png")])
    assert r.exit_code == 4 and "\r" not in r.output and "\u202e" not in r.output
    assert "x\\rALLOWED" in r.output
    log = tmp_path / f"{forged}.jsonl"
    from imagegate.register import audit

    audit.append(log, {"file": "a.jpg"})
    r = runner.invoke(app, ["--lang", "en", "audit", "verify", str(log)])
    assert r.exit_code == 0 and "\r" not in r.stdout and "\u202e" not in r.stdout and "x\\rALLOWED" in r.stdout
    # a damaged line is quoted in the problem: escaped too
    log.write_bytes(log.read_bytes().replace(b'"prev":"0', b'"prev":"\\r\\u202eALLOWED'))
    r = runner.invoke(app, ["--lang", "en", "audit", "verify", str(log)])
    assert r.exit_code == 4 and "\r" not in r.stdout and "\u202e" not in r.stdout, r.stdout


def test_settings_config_and_register_lines_escape_paths(tmp_path):
    from imagegate.register.store import Register

    forged = "x\rALLOWED        party.jpg -> allowed\u202e"
    conf = tmp_path / f"{forged}.toml"
    conf.write_text("identifiable_px = 28\n")
    r = runner.invoke(app, ["--config", str(conf), "config", "show"])
    assert r.exit_code == 0 and "\r" not in r.output and "\u202e" not in r.output and "x\\rALLOWED" in r.output
    reg = tmp_path / f"{forged}.sqlite3"
    Register(reg, create=True).close()
    r = runner.invoke(app, ["--register", str(reg), "register", "backup", str(tmp_path / f"{forged}.bak")])
    assert r.exit_code == 0 and "\r" not in r.output and "\u202e" not in r.output and "x\\rALLOWED" in r.output
    r = runner.invoke(app, ["--register", str(reg), "register", "list"])
    assert "\r" not in r.output and "\u202e" not in r.output


def test_command_modules_share_helpers_through_common_only():
    # a helper imported from another command module ties that command's imports and changes to this one
    import ast

    from ..conftest import ROOT

    cli = ROOT / "imagegate" / "cli"
    commands = {p.stem for p in cli.glob("*_cmd.py")}
    for path in cli.glob("*_cmd.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                named = {node.module} if node.module else {a.name for a in node.names}
                assert not named & commands, f"{path.name} imports from {named & commands}"


def test_every_cli_test_lets_unexpected_exceptions_fail_it():
    # Typer's own runner turns an exception into exit code 1, which reads as a plain "needs consent"
    import re

    from ..conftest import ROOT

    for path in (ROOT / "tests").glob("*.py"):
        if path.name != "conftest.py":
            text = path.read_text(encoding="utf-8")
            own = re.search(r"^\s*(from|import) (typer|click)\.testing\b", text, re.MULTILINE)
            assert not own, f"{path.name}: use conftest.CliRunner, whose invoke does not catch exceptions"
