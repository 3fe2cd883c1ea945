"""`imagegate serve` at the HTTP level: every endpoint and every security rule, with real models, a real
register and real photos. (tests/web/test_serve_browser.py drives the page in headless Chromium.)"""

from __future__ import annotations

import io
import json
import tempfile
import warnings

import pytest
from PIL import Image

from imagegate.cli.main import app as cli
from imagegate.config import Settings
from imagegate.register.location import RegisterLocation, locate_register
from imagegate.register.store import Register
from imagegate.web.app import Server
from imagegate.web.gate_thread import GateThread
from imagegate.web.guard import CSP

from ..conftest import SAMPLES, CliRunner, json_lines
from ..publish_helpers import build_register

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

PORT = 8765
BASE = f"http://127.0.0.1:{PORT}"
SECURITY = {"cache-control": "no-store", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
            "content-security-policy": CSP}


def photo(name: str, data: bytes | None = None):
    return {"photo": (name, data if data is not None else (SAMPLES / name).read_bytes())}


@pytest.fixture(scope="module")
def register_file(tmp_path_factory, gate_parts):
    return build_register(tmp_path_factory.mktemp("serve") / "register.sqlite3", gate_parts, [
        {"name": "Grace Hopper", "role": "client", "photos": [SAMPLES / "grace_hopper.jpg"]},
        {"name": "Eileen Collins", "role": "staff", "photos": [SAMPLES / "astronaut.png"], "consent": ["all"]},
    ])


def make_server(register, gate_parts, settings: Settings | None = None, **kw):
    gates = GateThread(settings or Settings(), locate_register(register),
                       parts=(gate_parts["detector"], gate_parts["embedder"]))
    gates.start()
    server = Server(gates, lang="en", port=PORT, **kw)
    client = TestClient(server.app, base_url=BASE)
    return gates, server, client


@pytest.fixture(scope="module")
def served(register_file, gate_parts):
    gates, server, client = make_server(register_file, gate_parts)
    yield server, client
    gates.close()


def page_token(client) -> tuple[str, str]:
    """(CSRF token, page id) as the check page carries them."""
    html = client.get("/").text
    csrf = html.split('data-csrf="', 1)[1].split('"', 1)[0]
    page = html.split('data-page="', 1)[1].split('"', 1)[0]
    return csrf, page


# -- the API --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["grace_hopper.jpg", "astronaut.png", "coffee.png"])
def test_api_check_returns_what_check_json_prints(served, register_file, tmp_path, name):
    _, client = served
    r = client.post("/api/check", files=photo(name), data={"channel": "facebook", "lang": "en"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    got = r.json()
    (tmp_path / name).write_bytes((SAMPLES / name).read_bytes())
    out = CliRunner().invoke(cli, ["--register", str(register_file), "--lang", "en", "check", str(tmp_path / name),
                                   "--json", "--channel", "facebook"])
    [want] = json_lines(out.stdout)
    assert got["file"] == name
    assert {**got, "file": None} == {**want, "file": None}
    assert got["decision"] == {"grace_hopper.jpg": "blocked", "astronaut.png": "allowed", "coffee.png": "allowed"}[name]


def test_api_check_in_finnish_and_for_another_channel(served):
    _, client = served
    r = client.post("/api/check", files=photo("grace_hopper.jpg"), data={"lang": "fi", "channel": "instagram"})
    body = r.json()
    assert body["lang"] == "fi" and body["channel"] == "instagram" and body["decision"] == "blocked"
    assert any("asiakkaana" in reason["message"] for reason in body["reasons"])


def test_api_check_failures_are_errors_never_allowed(served):
    _, client = served
    truncated = (SAMPLES / "grace_hopper.jpg").read_bytes()[:4000]
    body = client.post("/api/check", files=photo("cut.jpg", truncated)).json()
    assert body["decision"] == "error" and body["error"]["code"] == "truncated" and body["file"] == "cut.jpg"
    assert client.post("/api/check", files=photo("empty.jpg", b"")).json()["error"]["code"] == "empty"
    assert client.post("/api/check", data={"channel": "facebook"}).status_code == 400  # no photo
    assert client.post("/api/check", files=photo("coffee.png"), data={"channel": "myspace"}).status_code == 400
    r = client.post("/api/check", files=photo("coffee.png"), data={"event": "party"})
    assert r.status_code == 400 and "public, private, unknown" in r.json()["error"]["message"]
    assert client.post("/api/check", content=b"photo=1",
                       headers={"content-type": "text/plain"}).status_code == 400


def test_the_event_chosen_reaches_the_verdict(served):
    _, client = served
    for event in ("public", "private", "unknown"):
        body = client.post("/api/check", files=photo("coffee.png"), data={"event": event}).json()
        assert body["event"] == event
    assert client.post("/api/check", files=photo("coffee.png"), data={"event": "party"}).status_code == 400


def test_the_page_event_reaches_redaction(served, monkeypatch):
    import imagegate.redact

    seen = []

    def redact_with_event(gate, image, *, channel, event="unknown", **kw):
        seen.append((channel, event))
        raise imagegate.redact.RedactionError("stop here")

    monkeypatch.setattr(imagegate.redact, "redact", redact_with_event)
    _, client = served
    r = client.post("/api/redact", files=photo("coffee.png"), data={"event": "public", "channel": "instagram"})
    assert r.status_code == 422 and seen == [("instagram", "public")]


def test_pixel_limit_of_the_settings_applies_to_uploads(register_file, gate_parts):
    gates, _, client = make_server(register_file, gate_parts, Settings(max_pixels=100_000))
    try:
        body = client.post("/api/check", files=photo("coffee.png")).json()  # 600 x 400 = 240 000 px
        assert body["decision"] == "error" and body["error"]["code"] == "too_many_pixels"
    finally:
        gates.close()


def test_redacted_copy_download_is_allowed_when_checked_again(served, gate_parts, register_file):
    _, client = served
    r = client.post("/api/redact", files=photo("grace_hopper.jpg"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert "grace_hopper.redacted.jpg" in r.headers["content-disposition"]
    assert r.headers["x-imagegate-hidden"] == "1"
    from imagegate.gate import Gate

    with Gate(register=register_file, **gate_parts) as gate:
        assert gate.check(r.content, channel="facebook").decision == "allowed"
    r = client.post("/api/redact", files=photo("cut.jpg", (SAMPLES / "grace_hopper.jpg").read_bytes()[:4000]))
    assert r.status_code == 422 and r.headers["content-type"] == "application/json"


def test_page_checks_give_cards_and_a_review_sheet(served):
    _, client = served
    csrf, page = page_token(client)
    for name in ("grace_hopper.jpg", "coffee.png"):
        r = client.post("/api/check", files=photo(name), data={"page": page}, headers={"x-csrf-token": csrf})
        card = r.json()["html"]
        assert card.startswith('<article class="photo') and 'class="actions"' in card
    # without the CSRF token the photo is checked but not added to the page's sheet
    client.post("/api/check", files=photo("astronaut.png"), data={"page": page})
    sheet = client.get(f"/sheet?page={page}")
    assert sheet.status_code == 200 and "attachment" in sheet.headers["content-disposition"]
    assert 'id="count-blocked">1<' in sheet.text and 'id="count-allowed">1<' in sheet.text
    assert "data:image/jpeg;base64," in sheet.text
    assert client.get("/sheet?page=nope").status_code == 404
    assert client.post("/api/sheet/clear", data={"page": page}, headers={"x-csrf-token": csrf}).status_code == 200
    assert 'id="count-blocked">0<' in client.get(f"/sheet?page={page}").text


def test_uploads_never_touch_the_disk(served, monkeypatch):
    """A photo larger than python-multipart's and Starlette's 1 MiB in-memory default stays in memory."""
    def refuse(*a, **k):
        raise AssertionError("an upload was written to a temporary file")

    for name in ("NamedTemporaryFile", "TemporaryFile", "SpooledTemporaryFile", "mkstemp", "mkdtemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    big = io.BytesIO()
    Image.open(SAMPLES / "astronaut.png").convert("RGB").resize((2400, 2400)).save(big, "PNG")
    assert big.tell() > 2 * 1024 * 1024
    _, client = served
    body = client.post("/api/check", files=photo("big.png", big.getvalue())).json()
    assert body["width"] == 2400 and body["decision"] != "error"


# -- security --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example:8765", "127.0.0.1:9999", "localhost.evil.example:8765", ""])
def test_foreign_host_is_refused(served, host):
    _, client = served
    for r in (client.get("/", headers={"host": host}),
              client.get("/api/register", headers={"host": host}),
              client.post("/api/check", files=photo("coffee.png"), headers={"host": host})):
        assert r.status_code == 403 and "Host" in r.json()["error"]["message"]
        assert all(r.headers[k] == v for k, v in SECURITY.items())


def test_refusals_speak_the_browser_language(served):
    _, client = served
    r = client.get("/", headers={"host": "evil.example:8765", "accept-language": "fi-FI,fi;q=0.9"})
    assert r.status_code == 403 and r.json()["error"]["message"].startswith("torjuttu: Host-otsake")


def test_own_names_are_served(served):
    _, client = served
    for host in ("127.0.0.1:8765", "localhost:8765", "LOCALHOST:8765"):
        assert client.get("/", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("headers", [{"origin": "http://evil.example"}, {"origin": "null"},
                                     {"origin": "http://127.0.0.1:9999"}, {"sec-fetch-site": "cross-site"}])
def test_foreign_origin_is_refused(served, headers):
    _, client = served
    assert client.post("/api/check", files=photo("coffee.png"), headers=headers).status_code == 403
    assert client.get("/api/register", headers=headers).status_code == 403


def test_own_origin_is_accepted(served):
    _, client = served
    r = client.post("/api/check", files=photo("coffee.png"), headers={"origin": BASE, "sec-fetch-site": "same-origin"})
    assert r.status_code == 200


def test_state_changes_need_the_page_csrf_token(served, register_file):
    _, client = served
    for path, data in (("/api/register/consent", {"name": "Grace Hopper", "channel": "facebook"}),
                       ("/api/register/withdraw", {"name": "Eileen Collins"}),
                       ("/api/register/forget", {"name": "Eileen Collins", "confirm": "Eileen Collins"}),
                       ("/api/sheet/clear", {"page": "x"})):
        for headers in ({}, {"x-csrf-token": "guess"}):
            r = client.post(path, data=data, headers=headers)
            assert r.status_code == 403 and "CSRF" in r.json()["error"]["message"], path
    with Register(register_file, create=False) as reg:  # nothing changed
        assert {p.name for p in reg.people()} == {"Grace Hopper", "Eileen Collins"}
        assert reg.consent_status(reg.get("Eileen Collins"), "facebook").valid
        assert not reg.consent_status(reg.get("Grace Hopper"), "facebook").valid


def test_oversize_upload_is_refused_before_it_is_read(register_file, gate_parts):
    gates, server, client = make_server(register_file, gate_parts, Settings(max_file_bytes=100_000))
    try:
        r = client.post("/api/check", files=photo("astronaut.png"))  # 792 kB
        assert r.status_code == 413 and "above the limit" in r.json()["error"]["message"]
        assert all(r.headers[k] == v for k, v in SECURITY.items())

        def chunks():  # no Content-Length: the size could not be known before reading
            yield b"--x\r\n"
        r = client.post("/api/check", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
        assert r.status_code == 411
    finally:
        gates.close()


def test_uploads_held_in_memory_are_bounded(served):
    server, client = served
    guard = server.app
    guard.held = guard.memory_budget  # as if other uploads filled the budget
    try:
        r = client.post("/api/check", files=photo("coffee.png"))
        assert r.status_code == 503 and "busy" in r.json()["error"]["message"]
    finally:
        guard.held = 0
    assert client.post("/api/check", files=photo("coffee.png")).status_code == 200
    assert guard.held == 0  # released after each request


def test_a_full_queue_answers_busy_never_a_verdict(served, monkeypatch):
    import imagegate.web.gate_thread

    _, client = served
    monkeypatch.setattr(imagegate.web.gate_thread, "MAX_PENDING", 0)
    r = client.post("/api/check", files=photo("grace_hopper.jpg"), data={"lang": "fi"})
    assert r.status_code == 503 and "decision" not in r.json()
    assert r.json()["error"]["message"].startswith("imagegate tarkistaa nyt monta kuvaa")


def test_security_headers_on_every_response(served):
    _, client = served
    csrf, _ = page_token(client)
    responses = [client.get("/"), client.get("/register"), client.get("/static/check.js"),
                 client.get("/static/sheet.css"), client.get("/api/register"),
                 client.post("/api/check", files=photo("grace_hopper.jpg")), client.get("/nope"),
                 client.get("/", headers={"host": "evil.example"})]
    for r in responses:
        for key, value in SECURITY.items():
            assert r.headers.get(key) == value, (r.request.url, key)
    assert "unsafe-inline" not in CSP and "http" not in CSP and "default-src 'none'" in CSP
    page = responses[0].text
    # scripts only from the server's own files; the one inline block is JSON data, which is not run
    import re

    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts == [' id="strings" type="application/json"', ' src="/static/check.js"']
    assert "http://" not in page and "https://" not in page and not re.search(r"\son\w+=", page)


def test_access_token_is_required_off_loopback(register_file, gate_parts):
    gates, server, client = make_server(register_file, gate_parts, host="0.0.0.0", token="s3cret-token")
    try:
        r = client.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert client.post("/api/check", files=photo("coffee.png")).status_code == 401
        assert client.get("/api/register").status_code == 401
        login = client.get("/login")
        assert login.status_code == 200 and "access token" in login.text
        wrong = client.post("/login", data={"token": "guess"}, follow_redirects=False)
        assert wrong.status_code == 200 and "That is not the access token." in wrong.text
        assert client.post("/api/check", files=photo("coffee.png"),
                           headers={"authorization": "Bearer s3cret-token"}).status_code == 200
        ok = client.post("/login", data={"token": "s3cret-token"}, follow_redirects=False)
        assert ok.status_code == 303 and "httponly" in ok.headers["set-cookie"].lower()
        assert "samesite=strict" in ok.headers["set-cookie"].lower()
        assert client.get("/").status_code == 200  # the cookie is sent from now on
    finally:
        gates.close()


def test_no_token_needed_on_loopback(served):
    server, client = served
    assert server.token is None and client.get("/", follow_redirects=False).status_code == 200


# -- languages ---------------------------------------------------------------------------------------------


def test_language_follows_the_browser_and_the_switch(served):
    _, client = served
    fi = client.get("/", headers={"accept-language": "fi-FI,fi;q=0.9,en;q=0.8"})
    assert 'lang="fi"' in fi.text and "Pudota kuvia tai kansioita tähän" in fi.text
    en = client.get("/", headers={"accept-language": "de-DE,en;q=0.5,fi;q=0.3"})
    assert 'lang="en"' in en.text and "Drop photos or folders here" in en.text
    switched = client.get("/register?lang=fi", headers={"accept-language": "en"})
    assert "Suostumusrekisteri" in switched.text and "imagegate_lang=fi" in switched.headers["set-cookie"]
    assert "Suostumusrekisteri" in client.get("/register", headers={"accept-language": "en"}).text  # the switch is kept
    client.cookies.clear()


# -- the register pages -------------------------------------------------------------------------------------


@pytest.fixture()
def empty_register(tmp_path, gate_parts):
    path = tmp_path / "register.sqlite3"
    Register(path).close()
    gates, server, client = make_server(path, gate_parts)
    yield path, server, client
    gates.close()


def test_register_pages_enrol_consent_withdraw_forget(empty_register, gate_parts):
    path, server, client = empty_register
    h = {"x-csrf-token": server.csrf}
    assert "Nobody is enrolled yet." in client.get("/register").text

    r = client.post("/api/register/enrol", data={"name": "Eileen Collins", "role": "staff"},
                    files=[("photo", ("astronaut.png", (SAMPLES / "astronaut.png").read_bytes()))], headers=h)
    assert r.status_code == 200 and r.json()["message"].startswith("Enrolled Eileen Collins (staff) from 1 photo")
    assert r.json()["notes"] == ["No basis for holding the face template is recorded yet."]
    r = client.post("/api/register/enrol", headers=h, data={
        "name": "Grace Hopper", "role": "client", "basis": "consent", "evidence": "E-7", "basis_date": "2026-11-30"},
        files=[("photo", ("grace.jpg", (SAMPLES / "grace_hopper.jpg").read_bytes()))])
    assert r.status_code == 200 and r.json()["notes"] == []
    grace = next(p for p in client.get("/api/register").json() if p["name"] == "Grace Hopper")
    assert (grace["enrolment"]["basis"], grace["enrolment"]["evidence"]) == ("consent", "E-7")
    client.post("/api/register/forget", headers=h, data={"name": "Grace Hopper", "confirm": "Grace Hopper"})
    page = client.get("/register").text
    assert "Eileen Collins" in page and "<td>1</td>" in page
    assert client.post("/api/check", files=photo("astronaut.png")).json()["decision"] == "needs_consent"

    r = client.post("/api/register/consent", headers=h, data={
        "name": "Eileen Collins", "channel": ["facebook", "instagram"], "until": "2099-06-30",
        "evidence": "form-17"})
    assert r.status_code == 200, r.text
    assert r.json()["message"] == "Consent recorded for Eileen Collins: facebook, instagram."
    assert "until 2099-06-30" in client.get("/register").text
    assert client.post("/api/check", files=photo("astronaut.png")).json()["decision"] == "allowed"
    summary = client.get("/api/register").json()
    assert summary[0]["consent"]["facebook"]["evidence"] == "form-17" and "embedding" not in json.dumps(summary)

    r = client.post("/api/register/withdraw", headers=h, data={"name": "Eileen Collins", "channel": "facebook"})
    assert r.json()["message"] == "Withdrew 1 active consent(s) of Eileen Collins."
    assert client.post("/api/check", files=photo("astronaut.png")).json()["decision"] == "needs_consent"

    r = client.post("/api/register/forget", headers=h, data={"name": "Eileen Collins", "confirm": "eileen"})
    assert r.status_code == 422 and "nothing was erased" in r.json()["error"]["message"]
    with Register(path, create=False) as reg:
        assert [p.name for p in reg.people()] == ["Eileen Collins"]
    r = client.post("/api/register/forget", headers=h, data={"name": "Eileen Collins", "confirm": "Eileen Collins"})
    assert r.status_code == 200 and r.json()["message"] == "Erased Eileen Collins."
    with Register(path, create=False) as reg:
        assert reg.people() == []


def test_register_page_words_consents_and_roles_as_the_command_line_does(empty_register):
    path, server, client = empty_register
    with Register(path) as reg:
        reg.add_person("Pat Partner", "partner")
        reg.add_consent("Pat Partner", ["facebook"], valid_from="2099-01-01")  # not valid yet
        reg.add_consent("Pat Partner", ["twitter"], valid_until="2001-01-01")
    en = client.get("/register?lang=en").text
    assert '<td class="consent-not_yet">valid only from 2099-01-01</td>' in en
    assert '<td class="consent-expired">expired 2001-01-01</td>' in en and "<td>partner</td>" in en
    fi = client.get("/register?lang=fi").text
    assert '<td class="consent-not_yet">voimassa vasta 2099-01-01 alkaen</td>' in fi
    assert "<td>yhteistyökumppani</td>" in fi
    client.cookies.clear()
    out = CliRunner().invoke(cli, ["--register", str(path), "--lang", "fi", "register", "list"])
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[:3] == ["Pat Partner (yhteistyökumppani, 0 vertailukuvaa)",
                                          "    facebook   suostumus on voimassa vasta 2099-01-01 alkaen",
                                          "    twitter    suostumus päättyi 2001-01-01"]


def test_enrolment_refusals_say_what_the_cli_says(empty_register, tmp_path):
    path, server, client = empty_register
    h = {"x-csrf-token": server.csrf}
    (tmp_path / "coffee.png").write_bytes((SAMPLES / "coffee.png").read_bytes())
    out = CliRunner().invoke(cli, ["--register", str(path), "register", "add", "X", "--role", "client",
                                   "--photo", str(tmp_path / "coffee.png")])
    assert out.exit_code == 4
    r = client.post("/api/register/enrol", data={"name": "X", "role": "client"},
                    files=[("photo", ("coffee.png", (SAMPLES / "coffee.png").read_bytes()))], headers=h)
    assert r.status_code == 422
    cli_message = out.output.strip().removeprefix("imagegate: ").replace(str(tmp_path) + "/", "")
    assert r.json()["error"]["message"] == cli_message  # "coffee.png: no face found (hint: ...)"
    r = client.post("/api/register/enrol", data={"name": "X", "role": "staff", "basis": "consent"},
                    files=[("photo", ("a.png", (SAMPLES / "astronaut.png").read_bytes()))], headers=h)
    assert r.status_code == 422 and r.json()["error"]["message"] == "The basis needs the document that records it."
    r = client.post("/api/register/enrol", data={"name": "X", "role": "boss"},
                    files=[("photo", ("a.png", (SAMPLES / "astronaut.png").read_bytes()))], headers=h)
    assert r.status_code == 422 and "unknown role" in r.json()["error"]["message"]
    r = client.post("/api/register/consent", headers=h, data={"name": "Nobody", "channel": "facebook"})
    assert r.status_code == 422
    with Register(path, create=False) as reg:
        assert reg.people() == []


def test_the_page_works_on_the_register_the_command_chose(tmp_path, monkeypatch):
    # resolved once, by the command: a default location is not chosen again (IMAGEGATE_REGISTER read anew)
    chosen = tmp_path / "chosen.sqlite3"
    with Register(chosen) as reg:
        reg.add_person("Kept", "staff")
    monkeypatch.setenv("IMAGEGATE_REGISTER", str(tmp_path / "other.sqlite3"))
    gates = GateThread(Settings(), RegisterLocation(chosen, "default"))
    try:
        assert [p["name"] for p in gates.summary()] == ["Kept"]
        with gates.open_register(create=False) as reg:
            assert reg.path == str(chosen)
    finally:
        gates.close()


def test_serve_refuses_a_named_register_that_does_not_exist(tmp_path):
    out = CliRunner().invoke(cli, ["--register", str(tmp_path / "none.sqlite3"), "serve", "--port", "0"])
    assert out.exit_code == 4 and "does not exist" in out.output


def test_serve_option_errors_are_usage_errors(tmp_path):
    assert CliRunner().invoke(cli, ["serve", "--event", "party"]).exit_code == 2
    assert CliRunner().invoke(cli, ["serve", "--channel", "myspace"]).exit_code == 2



def test_serve_off_loopback_prints_a_token_and_asks_for_it(register_file, tmp_path):
    """The command as users run it: another --host prints an access token; without it nothing is served."""
    import os
    import re
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    from ..conftest import ROOT

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "imagegate.cli.main", "--register", str(register_file), "serve",
                             "--host", "127.0.0.2", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        lines = [proc.stdout.readline() for _ in range(2)]
        url = re.search(r"(http://127\.0\.0\.2:\d+/)", lines[0]).group(1)
        token = re.search(r"access token \(the page asks for it once\): (\S+)", lines[1]).group(1)
        assert len(token) >= 32

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        deadline = time.monotonic() + 120
        while True:
            try:
                opener.open(url, timeout=5)
                status = 200
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
                continue
            break
        assert status == 303  # to the login page
        with opener.open(urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"}), timeout=30) as r:
            assert r.status == 200 and b"Drop photos or folders here" in r.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()  # else a ResourceWarning, an error under filterwarnings = error


def test_a_browser_at_an_address_the_page_does_not_answer_gets_a_page_saying_where_it_is(served):
    # issue 24, item 16: a person who typed the machine's IP got raw JSON; the page stays refused
    _, client = served
    browser = {"host": "192.0.2.7:8765", "accept": "text/html,application/xhtml+xml"}
    r = client.get("/", headers=browser)
    assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
    assert "192.0.2.7:8765" in r.text and "http://127.0.0.1:" in r.text
    assert 'data-csrf=""' in r.text and "Suostumusrekisteri" not in r.text
    assert all(r.headers[k] == v for k, v in SECURITY.items())
    fi = client.get("/", headers={**browser, "accept-language": "fi"})
    assert "Sivu ei vastaa osoitteessa 192.0.2.7:8765" in fi.text
    # a program (no HTML asked for) still gets the JSON refusal
    assert client.get("/api/register", headers={"host": "192.0.2.7:8765"}).json()["error"]["code"] == "host"
