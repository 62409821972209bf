"""A student's phone without live video, in real Chromium against the real `tlcore classroom`
(issue 19): a 390×844 touch screen whose browser has no WebRTC (as an older tablet or a
locked-down school browser), so the Camera tabs take photos with the device's camera app.

The journey: join, photos of real flowers into two classes (several in a row each, as a camera
app gives them), the network and the weights file, train, the curves, a photo on the Test page
and its answer; on every page, no sideways scrolling and every control at least 44 px. Then the
same pages upright and sideways on a tablet (768×1024, 1024×768) and sideways on the phone
(844×390), measured the same way.

And WebKit, the engine of Safari and of every browser on an iPad or iPhone (Debian's WebKitGTK,
trusting the classroom's CA; see tests/test_classroom_devices.py): it has no WebRTC, so the
Camera tab says so and takes photos, one after another, into a class.

    TLCORE_DEVICE_SHOTS=/some/folder python -m pytest tests/test_e2e_devices.py -q -s   # a PNG of each page and size

Needs ../shared (the real MobileNetV2 0.35 weights and flowers).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from appserver import chromium_missing, free_port, screenshot_full, settle, wait_idle, wait_rerun, widget
from classroom_support import classroom_process
from device_support import NO_WEBRTC, PHONE, SIZES, TOUCH, touch_problems

from studio.camera import PHOTOS_WORDS
from studio.camera_stream import WHY_NO_WEBRTC

pytestmark = [pytest.mark.e2e, pytest.mark.shared,
              pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))]
STEP_MS = 120_000
PER_CLASS = 6
CLASSES = ("daisy", "sunflower")
# Each student page after joining, and the tab a phone without live video uses there.
CAMERA_KEYS = {"data": "data_camera", "test": "test_live"}
PAGES = (("data", "Camera"), ("model", None), ("train", None), ("test", "Camera"), ("evaluate", None),
         ("runs", None))


@pytest.fixture  # a server of its own for each test, and for each rerun (conftest.py)
def classroom(tmp_path_factory, shared_weights):
    """`tlcore classroom` on 127.0.0.1 with the weights file a teacher added; (https URL, CA file)."""
    import ssl

    base = tmp_path_factory.mktemp("devices")
    (base / "cache" / "weights").mkdir(parents=True)
    shutil.copyfile(shared_weights, base / "cache" / "weights" / "mobilenet_v2_035.weights.h5")
    port = free_port()
    url = f"https://127.0.0.1:{port}/"
    ca = base / "workspace" / "classroom" / "tls" / "classroom-ca.pem"
    with classroom_process(base, ["--port", str(port), "--workers", "1", "--address", "127.0.0.1"],
                           url + "_stcore/health", lambda: ssl.create_default_context(cafile=str(ca)),
                           env={"TLCORE_TEACHER_CODE": "K7QM-4TZP"}):
        yield url, ca


def open_page(page, url: str, name: str, space: str, tab: str | None) -> None:
    page.goto(f"{url}{name}?space={space}")
    wait_idle(page, STEP_MS)
    if tab:
        page.get_by_role("tab", name=tab).click()
        wait_rerun(page, STEP_MS)
    if tab == "Camera":  # the camera probe answers within a second, and the tab is drawn again
        widget(page, CAMERA_KEYS[name] + "-path").wait_for(timeout=STEP_MS)
    settle(page, STEP_MS)


def looked_at(page, where: str, problems: dict, shots: Path | None) -> None:
    """What a finger meets on the page now; a PNG of the whole page where asked."""
    found = touch_problems(page)
    if found["sideways"] > 0 or found["small"]:
        problems[where] = found
    if shots is not None:
        size = page.viewport_size
        screenshot_full(page, [shots / f"{where.replace(' ', '-')}.png"], width=size["width"],
                        min_height=size["height"])


def path_sentence(page, key: str) -> str:
    """The sentence that says which path the Camera tab is on, and why."""
    return widget(page, f"{key}-path").get_by_test_id("stMarkdownContainer").first.inner_text().strip()


def take_photos(page, name: str, files: list[Path]) -> str:
    """Name a new class, then photos one after another (without waiting for the page between
    them, as a student taps again at once); the counter's words once all have joined."""
    if not widget(page, "data_camera-new-class").count():
        widget(page, "data_camera-class").get_by_role("combobox").click()
        page.get_by_role("option", name="New class…").click()
        wait_rerun(page, STEP_MS)
    field = widget(page, "data_camera-new-class").locator("input")
    field.fill(name)
    field.press("Enter")
    wait_rerun(page, STEP_MS)
    button = widget(page, "data_camera-photo").locator("button")
    assert button.inner_text() == f"Take a photo of {name}"
    for file in files:
        widget(page, "data_camera-photo").locator("input[type=file]").set_input_files(str(file))
    # the counter names its class: the last class's count may read the same until this class's is drawn
    page.wait_for_function(
        "([into, count]) => { const text = (document.querySelector('.st-key-data_camera-counter') || {}).innerText"
        " || ''; const words = text.replace(/\\s+/g, ' '); return words.includes(into) && words.includes(count); }",
        arg=[f"Photos into {name}", f"{len(files)} pictures"], timeout=STEP_MS)
    wait_idle(page, STEP_MS)
    return " ".join(widget(page, "data_camera-counter").inner_text().split())


def test_a_phone_without_live_video_takes_photos_trains_and_tests(classroom, flowers, tmp_path):
    from playwright.sync_api import sync_playwright

    from appserver import CHROMIUM, CHROMIUM_ARGS

    url, _ = classroom
    files = {name: sorted((flowers / name).glob("*.jpg"))[:PER_CLASS + 1] for name in CLASSES}
    shots = Path(os.environ["TLCORE_DEVICE_SHOTS"]) if os.environ.get("TLCORE_DEVICE_SHOTS") else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    problems: dict[str, dict] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport=PHONE, **TOUCH, ignore_https_errors=True)
        context.add_init_script(NO_WEBRTC)
        page = context.new_page()
        step = "join"
        try:
            page.goto(url)
            wait_idle(page, STEP_MS)
            settle(page, STEP_MS)
            looked_at(page, "join phone", problems, shots)
            page.get_by_label("Your name (or your group's)").fill("Ana")
            page.get_by_role("button", name="Join").click()
            page.wait_for_url(re.compile(r"space="), timeout=STEP_MS)
            space = re.search(r"space=([A-Za-z0-9_-]+)", page.url).group(1)

            step = "photos"
            open_page(page, url, "data", space, "Camera")
            assert path_sentence(page, "data_camera") == f"{PHOTOS_WORDS} {WHY_NO_WEBRTC}"
            counters = {name: take_photos(page, name, files[name][:PER_CLASS]) for name in CLASSES}
            assert counters["daisy"] == "Photos into daisy 6 pictures Take photos of a second class to use them.", \
                counters
            sunflower = " ".join(widget(page, "data_camera-counter").inner_text().split())
            assert sunflower.startswith("Photos into sunflower 6 pictures"), sunflower
            # photos that arrive together join in one step: the last words name the grown class, or the
            # new set when the class's fifth and sixth photos came together
            assert re.search(r"sunflower has 6 pictures now\.|“Camera pictures” is now your picture set\.",
                             sunflower), sunflower
            settle(page, STEP_MS)
            looked_at(page, "data phone", problems, shots)

            step = "train"
            open_page(page, url, "model", space, None)
            # the set as the next page's sidebar reads it (read, not seen: on a phone the sidebar is folded
            # away); on the Data page it can lag one photo behind until the page is drawn again
            page.wait_for_function(
                "words => { const bar = document.querySelector('[data-testid=stSidebar]');"
                " return !!bar && (bar.innerText + ' ' + bar.textContent).includes(words); }",
                arg="Camera pictures · 12 in 2 classes", timeout=STEP_MS)
            widget(page, "model_backbone").get_by_text("MobileNetV2 (0.35", exact=False).click()
            wait_rerun(page, STEP_MS)
            widget(page, "model_weights").get_by_text("Weights file added", exact=False).click()
            wait_rerun(page, STEP_MS)
            settle(page, STEP_MS)
            looked_at(page, "model phone", problems, shots)
            open_page(page, url, "train", space, None)
            widget(page, "train_start").get_by_role("button").click()
            page.get_by_text("Training finished", exact=False).wait_for(timeout=4 * STEP_MS)
            settle(page, STEP_MS)
            charts = page.get_by_test_id("stPlotlyChart")
            assert charts.count() >= 2 and all(charts.nth(i).locator(".scatterlayer .trace").count() >= 2
                                               for i in range(2))  # the curves: training and validation
            looked_at(page, "train phone", problems, shots)

            step = "test"
            open_page(page, url, "test", space, "Camera")
            assert path_sentence(page, "test_live") == f"{PHOTOS_WORDS} {WHY_NO_WEBRTC}"
            widget(page, "test_live-photo").locator("input[type=file]").set_input_files(str(files["sunflower"][-1]))
            answer = page.locator(".tl-card", has_text="The model says").first
            answer.wait_for(timeout=STEP_MS)
            words = answer.inner_text()  # with 12 pictures, "not sure" and "unlike them all" are answers too
            assert re.search(r"\b(daisy|sunflower)\b", words) and re.search(r"\b\d{1,3}%", words), words
            settle(page, STEP_MS)
            looked_at(page, "test phone", problems, shots)
            for name in ("evaluate", "runs"):
                open_page(page, url, name, space, None)
                looked_at(page, f"{name} phone", problems, shots)

            step = "other sizes"
            for size_name, size in SIZES.items():
                if size == PHONE:
                    continue
                page.set_viewport_size(size)
                for name, tab in PAGES:
                    open_page(page, url, name, space, tab)
                    looked_at(page, f"{name} {size_name}", problems, shots)
                newcomer = browser.new_context(viewport=size, **TOUCH, ignore_https_errors=True).new_page()
                newcomer.goto(url)  # the join page, as a student who has not joined sees it
                wait_idle(newcomer, STEP_MS)
                settle(newcomer, STEP_MS)
                looked_at(newcomer, f"join {size_name}", problems, shots)
                newcomer.context.close()
        except BaseException:
            page.screenshot(path=str(tmp_path / f"failure-{step}.png"))
            print(f"\nFailed at {step!r}; screenshot in {tmp_path}")
            raise
        finally:
            browser.close()
    assert problems == {}, problems


def camera_tab_sentence(driver) -> str:
    """Open the Camera tab and read the sentence that says its path. A tap while the page is still
    drawn again can be lost (the tabs are redrawn): tap again, as a student would."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By

    from test_classroom_devices import wait_for

    for attempt in range(3):
        wait_for(driver, lambda d: d.find_element(By.XPATH, "//*[@role='tab'][contains(., 'Camera')]")).click()
        try:
            return wait_for(driver, lambda d: d.find_element(
                By.CSS_SELECTOR, ".st-key-data_camera-path [data-testid='stMarkdownContainer']"), 40).text
        except TimeoutException:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def test_webkit_without_webrtc_takes_photos_into_a_class(classroom, flowers, tmp_path):
    from test_classroom_devices import (
        drawn, in_widget, open_page as open_in_webkit, page_text, space_of, wait_for, webkit, webkit_missing, xvfb)

    missing = webkit_missing()
    if missing:
        pytest.skip(missing)
    from selenium.webdriver.common.by import By

    from studio.camera import WHY_CHOSEN

    url, ca = classroom
    with xvfb() as display, webkit(tmp_path / "webkit", display, ca) as driver:
        driver.get(url)
        wait_for(driver, drawn)
        in_widget(driver, "join_name", "input").send_keys("Ben")
        driver.find_element(By.XPATH, "//button[contains(., 'Join')]").click()
        wait_for(driver, lambda d: "space=" in d.current_url)
        open_in_webkit(driver, f"{url}data?space={space_of(driver.current_url)}")
        sentence = camera_tab_sentence(driver)
        if driver.execute_script("return typeof window.RTCPeerConnection") == "function":  # a WebKit with WebRTC
            assert sentence.startswith("Live video from this device's camera"), sentence
            driver.find_element(By.CSS_SELECTOR, ".st-key-data_camera-to-photos button").click()
            why = WHY_CHOSEN
        else:
            why = WHY_NO_WEBRTC
        wait_for(driver, lambda d: d.find_element(
            By.CSS_SELECTOR, ".st-key-data_camera-path [data-testid='stMarkdownContainer']").text
            == f"{PHOTOS_WORDS} {why}")
        time.sleep(1)
        wait_for(driver, drawn)  # a name typed while the page is drawn again would be lost
        in_widget(driver, "data_camera-new-class", "input").send_keys("daisy", "\ue004")  # Tab: the name is kept
        wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".st-key-data_camera-photo button").text
                 == "Take a photo of daisy")
        photo_input = driver.find_element(By.CSS_SELECTOR, ".st-key-data_camera-photo input[type=file]")
        for file in sorted((flowers / "daisy").glob("*.jpg"))[:3]:  # one after another, as a camera app gives them
            photo_input.send_keys(str(file))
        wait_for(driver, lambda d: "Photosintodaisy3pictures" in re.sub(r"\s", "", d.find_element(
            By.CSS_SELECTOR, ".st-key-data_camera-counter").text))  # WebKit's text runs the card's lines together
        wait_for(driver, lambda d: "Into a new set, “Camera pictures” (daisy 3)" in page_text(d))
        driver.save_screenshot(str(tmp_path / "webkit-photos.png"))
