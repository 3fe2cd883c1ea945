"""The HTML review sheet (`imagegate check --report`): self-contained, escaped, grouped, and rendered by a real
headless Chromium (skipped when /usr/bin/chromium is not installed)."""

from __future__ import annotations

import base64
import io
import os
import shutil
import stat
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from imagegate.cli.main import app
from imagegate.image.metadata import OutputError, metadata_blocks
from imagegate.outputs.sheet import write_html

from ..conftest import SAMPLES, CliRunner
from ..publish_helpers import build_register

runner = CliRunner()
CHROMIUM = Path("/usr/bin/chromium")
CLIENT = 'Grace <i>Hopper</i> & "Co"'  # a person name is user data: it must come out as text
EVIL_FILE = "<img src=x onerror=alert(1)>.jpg"


@pytest.fixture(scope="module")
def sheet(tmp_path_factory, gate_parts):
    """A sheet of four photos: blocked (client), allowed (consent), allowed (no faces), error (truncated)."""
    root = tmp_path_factory.mktemp("report")
    reg = build_register(root / "register.sqlite3", gate_parts, [
        {"name": CLIENT, "role": "client", "photos": [SAMPLES / "grace_hopper.jpg"]},
        {"name": "Eileen Collins", "role": "staff", "photos": [SAMPLES / "astronaut.png"], "consent": ["all"]},
    ])
    photos = root / "photos"
    photos.mkdir()
    shutil.copy(SAMPLES / "grace_hopper.jpg", photos / EVIL_FILE)
    shutil.copy(SAMPLES / "astronaut.png", photos / "astronaut.png")
    shutil.copy(SAMPLES / "coffee.png", photos / "coffee.png")
    (photos / "broken.jpg").write_bytes((SAMPLES / "grace_hopper.jpg").read_bytes()[:4000])
    report = root / "out" / "sheet.html"
    r = runner.invoke(app, ["--register", str(reg), "check", str(photos), "--report", str(report)])
    assert r.exit_code == 4, r.output  # the truncated photo is an error: the batch's worst outcome
    return report


class Outline(HTMLParser):
    """Collects what the tests look at: tags, sections in order, counts, articles, text."""

    def __init__(self):
        super().__init__()
        self.tags, self.sections, self.articles, self.text = [], [], [], []
        self.counts, self._count = {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section":
            self.sections.append(a["data-decision"])
        if tag == "article":
            self.articles.append(a["data-decision"])
        self._count = a["id"][len("count-"):] if a.get("id", "").startswith("count-") else None

    def handle_data(self, data):
        if self._count:
            self.counts[self._count] = int(data)
            self._count = None
        self.text.append(data)


def outline(html_text: str) -> Outline:
    p = Outline()
    p.feed(html_text)
    return p


def test_sheet_groups_counts_and_escapes(sheet):
    html_text = sheet.read_text(encoding="utf-8")
    o = outline(html_text)
    assert o.counts == {"blocked": 1, "needs_consent": 0, "error": 1, "allowed": 2}
    assert o.sections == ["blocked", "error", "allowed"]  # most urgent first; empty groups left out
    assert o.articles == ["blocked", "error", "allowed", "allowed"]
    text = "".join(o.text)
    assert EVIL_FILE in text and CLIENT in text  # shown as text ...
    assert "<img src=x" not in html_text and "<i>Hopper" not in html_text  # ... never as markup
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in html_text
    assert "Grace &lt;i&gt;Hopper&lt;/i&gt; &amp; &#34;Co&#34;" in html_text  # markupsafe's quote entity
    assert "is registered as a client" in text and "truncated" in text


def test_sheet_is_self_contained_and_private(sheet):
    html_text = sheet.read_text(encoding="utf-8")
    o = outline(html_text)
    assert not [t for t, _ in o.tags if t in ("script", "link", "iframe", "object", "embed")]
    links = [v for _, a in o.tags for k, v in a.items() if k in ("src", "href", "srcset", "action", "poster")]
    assert len(links) == 3 and all(v.startswith("data:image/jpeg;base64,") for v in links)
    assert "url(" not in html_text and "http://" not in html_text and "https://" not in html_text
    csp = [a["content"] for t, a in o.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; img-src data:; style-src 'unsafe-inline'"]
    assert [a["name"] for t, a in o.tags if t == "meta" and "name" in a] == ["viewport"]
    assert sheet.stat().st_mode & 0o077 == 0  # the sheet shows clients' faces


def test_thumbnails_are_clean_previews(sheet):
    o = outline(sheet.read_text(encoding="utf-8"))
    srcs = [a["src"] for t, a in o.tags if t == "img"]
    assert len(srcs) == 3  # the broken photo has no preview
    for src in srcs:
        assert src.startswith("data:image/jpeg;base64,")
        data = base64.b64decode(src.split(",", 1)[1])
        assert metadata_blocks(data) == [] and data.count(b"\xff\xd8") == 1
        assert max(Image.open(io.BytesIO(data)).size) <= 640
    # the blocked photo's preview carries the red client box (annotate's colour)
    first = Image.open(io.BytesIO(base64.b64decode(srcs[0].split(",", 1)[1]))).convert("RGB")
    px = first.load()
    assert any(px[x, y][0] > 190 and px[x, y][1] < 70 and px[x, y][2] < 70
               for x in range(150, 380) for y in range(120, 140))


@pytest.mark.slow  # loads the real networks
def test_sheet_in_finnish(tmp_path):
    report = tmp_path / "fi.html"
    r = runner.invoke(app, ["--lang", "fi", "check", str(SAMPLES / "coffee.png"), "--report", str(report)])
    assert r.exit_code == 0
    o = outline(report.read_text(encoding="utf-8"))
    assert o.counts == {"blocked": 0, "needs_consent": 0, "error": 0, "allowed": 1}
    assert "imagegate-tarkistusraportti" in "".join(o.text) and "Kasvoja ei löytynyt." in "".join(o.text)


@pytest.mark.slow  # loads the real networks
def test_unwritable_report_is_an_error(tmp_path):
    (tmp_path / "file").write_text("")
    r = runner.invoke(app, ["check", str(SAMPLES / "coffee.png"), "--report", str(tmp_path / "file" / "r.html")])
    assert r.exit_code == 4 and "cannot write the report" in r.output


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
def test_sheet_renders_in_headless_chromium(sheet, tmp_path):
    proc = subprocess.run(
        [str(CHROMIUM), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--window-size=390,844", "--dump-dom", sheet.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    o = outline(dom)
    # the DOM the browser built (not our source text) holds the right numbers and groups
    assert o.counts == {"blocked": 1, "needs_consent": 0, "error": 1, "allowed": 2}
    assert o.sections == ["blocked", "error", "allowed"]
    assert o.articles == ["blocked", "error", "allowed", "allowed"]
    assert EVIL_FILE in "".join(o.text)
    assert not [a for t, a in o.tags if t == "img" and "onerror" in a]
    console = [line for line in proc.stderr.splitlines()
               if "CONSOLE" in line or "Uncaught" in line or "Content Security Policy" in line]
    assert console == []


def test_the_report_never_overwrites_a_file_or_writes_into_a_device(tmp_path):
    photo = tmp_path / "photo.png"
    shutil.copyfile(SAMPLES / "coffee.png", photo)
    before = photo.read_bytes()
    r = runner.invoke(app, ["--lang", "en", "check", str(photo), "--report", str(photo)])
    assert r.exit_code == 2 and "already exists; imagegate never overwrites a file" in r.output
    assert str(photo) in r.output and "move the old file away" in r.output
    assert photo.read_bytes() == before
    fifo = tmp_path / "sheet.html"
    os.mkfifo(fifo)
    r = runner.invoke(app, ["check", str(photo), "--report", str(fifo)])  # would block forever if opened
    assert r.exit_code == 2 and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    r = runner.invoke(app, ["check", str(photo), "--report", "/dev/null"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["check", str(photo), "--annotate", "/dev/null"])  # a folder is expected
    assert r.exit_code == 2 and "expected a folder for the previews" in r.output
    (tmp_path / "dangling.html").symlink_to(tmp_path / "elsewhere.html")
    r = runner.invoke(app, ["check", str(photo), "--report", str(tmp_path / "dangling.html")])
    assert r.exit_code == 2 and not (tmp_path / "elsewhere.html").exists()


def test_a_report_path_taken_while_checking_is_not_overwritten(tmp_path):
    # the command refuses an existing path up front; the write itself refuses one that appeared since
    taken = tmp_path / "r.html"
    taken.write_text("someone else's file")
    with pytest.raises(OutputError, match="already exists"):
        write_html("<html></html>", taken)
    assert taken.read_text() == "someone else's file"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left behind
    new = write_html("<html></html>", tmp_path / "new.html")
    assert new.read_text() == "<html></html>" and stat.S_IMODE(new.stat().st_mode) == 0o600


@pytest.mark.slow  # loads the real networks
def test_previews_never_overwrite_or_write_into_a_fifo(tmp_path):
    out = tmp_path / "previews"
    out.mkdir()
    os.mkfifo(out / "coffee.preview.jpg")
    (out / "coffee.preview (2).jpg").write_bytes(b"keep")
    (out / "coffee.preview (3).jpg").symlink_to(tmp_path / "target.jpg")  # dangling: not followed, not taken
    r = runner.invoke(app, ["check", str(SAMPLES / "coffee.png"), "--annotate", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "coffee.preview (2).jpg").read_bytes() == b"keep"
    assert stat.S_ISFIFO(os.lstat(out / "coffee.preview.jpg").st_mode)
    assert not (tmp_path / "target.jpg").exists()
    assert (out / "coffee.preview (4).jpg").read_bytes()[:3] == b"\xff\xd8\xff"
