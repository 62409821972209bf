"""Devices that trust the classroom's certificate authority, and nothing else, against the real
`tlcore classroom` on loopback (issue 19): no "not private" warning, and the app's WebSocket
connects.

- Chromium, phone-sized, with an NSS database made here that holds only the classroom's CA (no
  flag that ignores certificate errors): the set-up page (what the projector's QR code opens)
  sends it on to https:// by itself, a student joins and trains. Without the CA, Chromium shows
  its own certificate error, and the set-up page stays: the trust is real.
- WebKit, the engine of Safari and of every browser on an iPad or iPhone: Debian's WebKitGTK,
  driven by WebKitWebDriver through Selenium. WebKitGTK reads trusted authorities from the system
  store only (GnuTLS: /etc/ssl/certs/ca-certificates.crt), and WebKitWebDriver's `certificates`
  option pins one server certificate for a host, the same as clicking through the warning, not
  trusting a CA. So the driver runs in a private mount namespace (`unshare -m`) in which that file
  is the classroom's CA alone: WebKit trusts it as a device that installed it does. A student
  joins, uploads real flower pictures, trains and tests a picture.

Needs ../shared (the real MobileNetV2 0.35 weights and flowers); Chromium and certutil
(libnss3-tools); for WebKit, webkit2gtk-driver, Xvfb, selenium and a mount namespace. Each part
is skipped, with its reason, where that is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from appserver import READY, chromium_missing, free_port, wait_idle, wait_rerun, widget
from classroom_support import chromium_at_home, classroom_process, nss_home

pytestmark = [pytest.mark.e2e, pytest.mark.shared]
CODE = "K7QM-4TZP"
PHONE = {"width": 390, "height": 844}
STEP_S = 120
SYSTEM_TRUST = "/etc/ssl/certs/ca-certificates.crt"  # what GnuTLS, so WebKitGTK, trusts


@pytest.fixture  # a server of its own for each test, and for each rerun (conftest.py)
def classroom(tmp_path_factory, shared_weights):
    """`tlcore classroom` on 127.0.0.1 with the weights file a teacher added; (https URL, CA file)."""
    base = tmp_path_factory.mktemp("classroom")
    (base / "cache" / "weights").mkdir(parents=True)
    shutil.copyfile(shared_weights, base / "cache" / "weights" / "mobilenet_v2_035.weights.h5")
    port = free_port()
    url = f"https://127.0.0.1:{port}/"
    ca = base / "workspace" / "classroom" / "tls" / "classroom-ca.pem"  # where a test (or IT) finds it
    with classroom_process(base, ["--port", str(port), "--workers", "1", "--address", "127.0.0.1"],
                           url + "_stcore/health", lambda: ssl.create_default_context(cafile=str(ca)),
                           env={"TLCORE_TEACHER_CODE": CODE}):
        yield url, ca


def setup_url(url: str) -> str:
    return "http://" + url.split("://", 1)[1]  # the classroom's port, plain http: the set-up page


def space_of(address: str) -> str:
    found = re.search(r"[?&]space=([A-Za-z0-9_-]{16,})", address)
    assert found, address
    return found.group(1)


# -- Chromium ---------------------------------------------------------------------------------------
def test_a_phone_that_trusts_only_the_classroom_ca_joins_with_no_warning_and_trains(classroom, tmp_path):
    missing = chromium_missing() or (None if shutil.which("certutil") else
                                     "certutil is not installed (apt-get install libnss3-tools; .ci/run does it)")
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import Error as BrowserError
    from playwright.sync_api import sync_playwright

    url, ca = classroom
    with sync_playwright() as playwright:
        browser = chromium_at_home(playwright, nss_home(tmp_path / "untrusting", None))
        try:
            page = browser.new_page(viewport=PHONE)
            with pytest.raises(BrowserError, match="net::ERR_CERT_AUTHORITY_INVALID"):
                page.goto(url)
            page = browser.new_page(viewport=PHONE)  # a new tab, as the QR opens it (the error page
            page.goto(setup_url(url))                 # may still be committing in the old one)
            page.get_by_role("heading", name="1. Set up this device, once").wait_for()
            page.wait_for_timeout(1500)  # its background try of https:// fails: it stays
            assert page.url == setup_url(url)
        finally:
            browser.close()

        browser = chromium_at_home(playwright, nss_home(tmp_path / "trusting", ca))
        try:
            page = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
            page.goto(setup_url(url))  # what the QR code on the projector opens: sent on, no warning
            page.wait_for_url(url, timeout=STEP_S * 1000)
            wait_idle(page, STEP_S * 1000)
            page.get_by_label("Your name (or your group's)").fill("Ana")
            page.get_by_role("button", name="Join").click()
            page.wait_for_url(re.compile(r"space="), timeout=STEP_S * 1000)  # the app's WebSocket answered
            space = space_of(page.url)
            page.goto(f"{url}model?space={space}")
            wait_idle(page, STEP_S * 1000)
            widget(page, "model_backbone").get_by_text("MobileNetV2 (0.35", exact=False).click()
            wait_rerun(page, STEP_S * 1000)
            widget(page, "model_weights").get_by_text("Weights file added on the teacher", exact=False).click()
            wait_rerun(page, STEP_S * 1000)
            page.goto(f"{url}train?space={space}")
            wait_idle(page, STEP_S * 1000)
            widget(page, "train_start").get_by_role("button").click()
            page.get_by_text("Training finished", exact=False).wait_for(timeout=4 * STEP_S * 1000)
            page.screenshot(path=str(tmp_path / "phone-trained.png"))
        finally:
            browser.close()


# -- WebKit -----------------------------------------------------------------------------------------
def webkit_missing() -> str | None:
    """Why WebKit cannot run the journey here, or None."""
    if not shutil.which("WebKitWebDriver") or not shutil.which("Xvfb"):
        return "WebKitGTK's driver or Xvfb is not installed (apt-get install webkit2gtk-driver xvfb; .ci/run does it)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not Path(SYSTEM_TRUST).is_file() or subprocess.run(
            [*_private_mounts(), "true"], capture_output=True).returncode != 0:
        return ("WebKitGTK trusts only the system's certificate store; giving it one that holds only the "
                "classroom's CA needs a private mount namespace (unshare -m), which this machine refuses")
    return None


def _private_mounts() -> list[str]:
    return ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]


@contextmanager
def xvfb():
    """A virtual screen of our own; yields its DISPLAY."""
    read, write = os.pipe()
    process = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                               pass_fds=[write], stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as number:
        display = f":{number.readline().strip()}"
    try:
        yield display
    finally:
        process.terminate()
        process.wait(10)


@contextmanager
def webkit(folder: Path, display: str, trusted: Path | None):
    """WebKit (WebKitWebDriver's MiniBrowser) whose only trusted authority is ``trusted`` (or none)."""
    from selenium import webdriver
    from selenium.webdriver.webkitgtk.options import Options
    from selenium.webdriver.webkitgtk.service import Service

    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "trusted.pem"
    store.write_bytes(trusted.read_bytes() if trusted else b"")
    driver_script = folder / "webkitwebdriver"
    driver_script.write_text(
        "#!/bin/sh\n# WebKitWebDriver, in a mount namespace whose system trust store is only $0\n"
        f"exec {' '.join(_private_mounts())} sh -c 'mount --bind \"$0\" {SYSTEM_TRUST} && "
        f"exec WebKitWebDriver \"$@\"' {store} \"$@\"\n")
    driver_script.chmod(0o755)
    options = Options()
    options.add_argument("--automation")
    service = Service(executable_path=str(driver_script), log_output=str(folder / "webkitwebdriver.log"),
                      env={**os.environ, "DISPLAY": display})
    driver = webdriver.WebKitGTK(options=options, service=service)
    try:
        driver.set_window_size(PHONE["width"], PHONE["height"])
        yield driver
    finally:
        driver.quit()


def wait_for(driver, check, timeout: float = STEP_S):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.3).until(lambda d: check(d))


def page_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.TAG_NAME, "body").text


def drawn(driver) -> bool:
    from selenium.webdriver.common.by import By

    return bool(driver.find_elements(By.CSS_SELECTOR, READY))


def open_page(driver, address: str) -> None:
    driver.get(address)
    wait_for(driver, drawn)


def in_widget(driver, key: str, css: str):
    from selenium.webdriver.common.by import By

    return wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, f".st-key-{key} {css}"))


def click_text(driver, key: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    wait_for(driver, lambda d: d.find_element(  # after the last rerun: an option may be new
        By.XPATH, f"//*[contains(@class, 'st-key-{key}')]//*[contains(text(), {text!r})]")).click()
    time.sleep(0.7)  # the rerun starts
    wait_for(driver, drawn)


def flower_pictures(flowers: Path, per_class: int = 6) -> dict[str, list[str]]:
    return {name: [str(p) for p in sorted((flowers / name).iterdir())[:per_class + 1]]
            for name in ("daisy", "sunflower")}


def test_webkit_trusting_only_the_classroom_ca_runs_the_student_journey(classroom, tmp_path, flowers):
    missing = webkit_missing()
    if missing:
        pytest.skip(missing)
    from selenium.webdriver.common.by import By

    url, ca = classroom
    pictures = flower_pictures(flowers)
    with xvfb() as display:
        with webkit(tmp_path / "untrusting", display, None) as driver:  # the trust below is real
            driver.get(url)
            time.sleep(2)
            assert not drawn(driver) and "Join the class" not in driver.page_source
        with webkit(tmp_path / "trusting", display, ca) as driver:
            driver.get(setup_url(url))  # the QR code's page: sent on to https://, no warning
            wait_for(driver, lambda d: d.current_url.startswith(url) and drawn(d))
            in_widget(driver, "join_name", "input").send_keys("Ben")
            driver.find_element(By.XPATH, "//button[contains(., 'Join')]").click()
            wait_for(driver, lambda d: "space=" in d.current_url)  # the app's WebSocket answered
            space = space_of(driver.current_url)

            open_page(driver, f"{url}data?space={space}")
            wait_for(driver, lambda d: d.find_element(By.XPATH, "//*[@role='tab'][contains(., 'Class by class')]")
                     ).click()
            for index, (name, files) in enumerate(pictures.items()):
                field = in_widget(driver, f"data_cls_name_{index}", "input")
                field.send_keys("\ue009a")  # Ctrl+A (a key held down stays down to the end of a send_keys)
                field.send_keys("\ue003", name, "\ue004")  # Backspace, the name, Tab
                in_widget(driver, f"data_cls_files_0_{index}", "input[type=file]").send_keys("\n".join(files[:-1]))
                wait_for(driver, lambda d, i=index: len(d.find_elements(
                    By.CSS_SELECTOR, f".st-key-data_cls_files_0_{i} [data-testid='stFileChip']")) == len(files) - 1)
            time.sleep(1)
            in_widget(driver, "data_cls_build", "button").click()
            wait_for(driver, lambda d: "Read 12 pictures in 2 classes" in page_text(d))

            open_page(driver, f"{url}model?space={space}")
            click_text(driver, "model_backbone", "MobileNetV2 (0.35")
            click_text(driver, "model_weights", "Weights file added on the teacher")
            open_page(driver, f"{url}train?space={space}")
            in_widget(driver, "train_start", "button").click()
            wait_for(driver, lambda d: "Training finished" in page_text(d), timeout=4 * STEP_S)

            open_page(driver, f"{url}test?space={space}")
            in_widget(driver, "test_files", "input[type=file]").send_keys(pictures["sunflower"][-1])
            answer = wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".tl-card"))
            wait_for(driver, lambda d: "The model says" in answer.text)
            assert re.search(r"\b(daisy|sunflower)\b", answer.text) and re.search(r"\b\d{1,3}%", answer.text), \
                answer.text
            driver.save_screenshot(str(tmp_path / "webkit-tested.png"))
