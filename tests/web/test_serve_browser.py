"""`imagegate serve` in a real browser: the command started as users start it, the page driven in Debian's
headless Chromium through chromedriver (Selenium with the system driver; nothing is downloaded).

.ci/run installs chromium and chromium-driver when they are missing, so in CI this runs, never skips.
The screenshot in README (docs/serve-check.png) is the one this test takes; IMAGEGATE_UPDATE_SCREENSHOT=1
writes it there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ..conftest import ROOT, SAMPLES
from ..publish_helpers import build_register

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()) and not os.environ.get("CI"),
    reason="Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver; "
           ".ci/run installs them)")]
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1200,1250")
WAIT = 180  # seconds; generous: the machine may be busy


@pytest.fixture(scope="module")
def server(tmp_path_factory, gate_parts):
    """`imagegate serve --port 0` on a register where Grace Hopper is a client."""
    root = tmp_path_factory.mktemp("serve-browser")
    reg = build_register(root / "register.sqlite3", gate_parts, [
        {"name": "Grace Hopper", "role": "client", "photos": [SAMPLES / "grace_hopper.jpg"]}])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen([sys.executable, "-m", "imagegate.cli.main", "--register", str(reg), "--lang", "en",
                             "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)
    try:
        url = None
        deadline = time.monotonic() + WAIT
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"imagegate serve ended: {proc.stderr.read()[-2000:]}")
            m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            url = m.group(1) if m else None
        assert url, "imagegate serve printed no address"
        while True:  # the address is printed just before uvicorn starts accepting
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "imagegate serve does not answer"
                time.sleep(0.2)
        yield url, reg
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # else ResourceWarnings, errors under filterwarnings = error
        proc.stderr.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--lang=en-GB")
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-GB,en"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # both paths given: Selenium does not run selenium-manager (which would download a driver or browser)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver, condition, what: str):
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # a page that reloads (the register page after a change) replaces the elements being read
    return WebDriverWait(driver, WAIT, poll_frequency=0.2,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(
        lambda d: condition(d), message=what)


def count(driver, decision: str) -> int:
    return int(driver.find_element("id", f"count-{decision}").text)


def texts(driver, css: str) -> list[str]:
    return [e.text for e in driver.find_elements("css selector", css)]


def drop_files(driver, target_id: str, paths: list[Path]) -> None:
    """Drop files on an element as a file manager would: a `drop` event whose DataTransfer holds them
    (WebDriver cannot drag from outside the browser; the files come from a scratch file input)."""
    scratch = driver.execute_script(
        "const i = document.createElement('input'); i.type = 'file'; i.multiple = true; i.id = 'scratch-input';"
        "document.body.appendChild(i); return i;")
    scratch.send_keys("\n".join(str(p) for p in paths))
    driver.execute_script(
        "const input = document.getElementById('scratch-input'), dt = new DataTransfer();"
        "for (const f of input.files) dt.items.add(f);"
        "input.remove();"
        "const target = document.getElementById(arguments[0]);"
        "target.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));"
        "target.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));",
        target_id)


def console_problems(driver) -> list[str]:
    """Script errors and CSP violations; an API's refusal that the page shows (a 422) is not one."""
    return [e["message"] for e in driver.get_log("browser")
            if (e["level"] == "SEVERE" or "Content Security Policy" in e["message"])
            and not re.search(r"/api/\S+ - Failed to load resource: the server responded with a status of 422",
                              e["message"])]


def test_check_page_register_page_and_finnish_in_chromium(server, browser, tmp_path):
    url, _ = server
    d = browser
    d.get(url)
    assert d.find_element("css selector", "#drop p").text == "Drop photos or folders here"
    assert d.find_element("tag name", "html").get_attribute("lang") == "en"

    # two photos through the page's own file input, as the picker (or a drop) gives them
    d.find_element("id", "files").send_keys(f"{SAMPLES / 'grace_hopper.jpg'}\n{SAMPLES / 'coffee.png'}")
    wait_for(d, lambda d: count(d, "blocked") == 1 and count(d, "allowed") == 1
             and not d.find_elements("css selector", "#group-pending article"), "two verdicts")
    blocked = d.find_element("css selector", "#group-blocked article")
    assert blocked.find_element("css selector", ".badge").text == "BLOCKED"
    assert blocked.find_element("tag name", "h3").text == "grace_hopper.jpg"
    assert "[rule 6] Face #1: Grace Hopper is registered as a client (no consent on file). Do not publish." \
        in texts(d, "#group-blocked .reasons li")
    assert blocked.find_element("css selector", "img").get_attribute("src").startswith("data:image/jpeg;base64,")
    assert blocked.find_element("css selector", "button.copy").text == "Download publishable copy"
    allowed = d.find_element("css selector", "#group-allowed article")
    assert allowed.find_element("css selector", ".badge").text == "ALLOWED"
    assert "No faces found." in allowed.text and not allowed.find_elements("css selector", "button.copy")
    assert d.find_element("id", "progress").text == "2 of 2 checked"
    # blocked is shown first
    sections = [s.get_attribute("data-decision") for s in d.find_elements("css selector", "#results section")
                if s.is_displayed()]
    assert sections[:2] == ["blocked", "allowed"]

    shot = tmp_path / "serve-check.png"
    d.execute_script("window.scrollTo(0, 0)")
    d.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000
    if os.environ.get("IMAGEGATE_UPDATE_SCREENSHOT"):
        shutil.copy(shot, ROOT / "docs" / "serve-check.png")
    assert console_problems(d) == []

    # the page's own switch: Finnish from now on
    d.find_element("id", "lang-switch").click()
    wait_for(d, lambda d: d.find_element("tag name", "html").get_attribute("lang") == "fi", "the Finnish page")
    assert d.find_element("css selector", "#drop p").text == "Pudota kuvia tai kansioita tähän"
    assert d.find_element("id", "lang-switch").text == "In English"

    # enrol a person from the register page
    d.find_element("link text", "Suostumusrekisteri").click()
    wait_for(d, lambda d: d.find_elements("id", "enrol"), "the register page")
    assert d.find_element("tag name", "h1").text == "imagegate: suostumusrekisteri"
    assert "Grace Hopper" in d.find_element("id", "people").text
    d.find_element("id", "enrol-name").send_keys("Eileen Collins")
    d.find_element("css selector", "#enrol-role option[value=staff]").click()
    d.find_element("css selector", "#enrol-basis option[value=consent]").click()
    d.find_element("id", "enrol-evidence").send_keys("lomake-17")
    d.find_element("id", "enrol-photos").send_keys(str(SAMPLES / "astronaut.png"))
    d.find_element("css selector", "#enrol button[type=submit]").click()
    wait_for(d, lambda d: d.find_element("id", "message").is_displayed(), "the enrolment's message")
    assert d.find_element("id", "message").text == \
        "Eileen Collins (työntekijä) lisätty 1 kuvasta; suostumusta ei ole vielä kirjattu."
    rows = texts(d, "#people tbody tr")
    assert any(r.startswith("Eileen Collins työntekijä 1") for r in rows), rows

    # record her consent for Facebook, then her photo is allowed on the check page, in Finnish
    d.find_element("css selector", "#consent-name option[value='Eileen Collins']").click()
    d.find_element("id", "consent-facebook").click()
    d.find_element("css selector", "#consent button[type=submit]").click()
    wait_for(d, lambda d: "Suostumus kirjattu" in d.find_element("id", "message").text, "the consent's message")
    assert d.find_element("id", "message").text == "Suostumus kirjattu: Eileen Collins: facebook."

    d.find_element("link text", "Tarkista kuvat").click()
    wait_for(d, lambda d: d.find_elements("id", "files"), "the check page")
    drop_files(d, "drop", [SAMPLES / "astronaut.png"])  # this time dropped on the drop zone
    wait_for(d, lambda d: count(d, "allowed") == 1, "the astronaut's verdict")
    card = d.find_element("css selector", "#group-allowed article")
    assert card.find_element("css selector", ".badge").text == "SALLITTU"
    assert "[sääntö 4] Kasvot #1: Eileen Collins (työntekijä) on antanut suostumuksen kanavalle facebook." in card.text

    # forget needs the name typed again
    d.find_element("link text", "Suostumusrekisteri").click()
    wait_for(d, lambda d: d.find_elements("id", "forget"), "the register page")
    d.find_element("css selector", "#forget-name option[value='Eileen Collins']").click()
    d.find_element("id", "forget-confirm").send_keys("Eileen")
    d.find_element("css selector", "#forget button[type=submit]").click()
    wait_for(d, lambda d: d.find_element("id", "message").is_displayed(), "the refusal")
    assert d.find_element("id", "message").text == \
        "Kirjoitettu nimi ei vastaa nimeä Eileen Collins; mitään ei poistettu."
    d.find_element("id", "forget-confirm").clear()
    d.find_element("id", "forget-confirm").send_keys("Eileen Collins")
    d.find_element("css selector", "#forget button[type=submit]").click()
    wait_for(d, lambda d: d.find_element("id", "message").text == "Eileen Collins poistettu.", "the erasure")
    assert "Eileen Collins" not in d.find_element("id", "people").text
    assert console_problems(d) == []
