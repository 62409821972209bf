"""The camera sections in real Chromium, which plays a Y4M video (built here from the demo
pictures) instead of a camera; the real Streamlit server, streamlit-webrtc, no STUN server.

- record: bursts into two classes; the counts follow rate × seconds; the saved pictures are
  frames of the video (close to the picture shown, far from the others)
- live: the answer follows the video and, per picture, equals Run.predict on the source picture
- refused, absent or insecure camera: the page says which, in plain words
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from appserver import CHROMIUM, CHROMIUM_ARGS, ROOT, AppURL, chromium_missing, free_port, stop_app, wait_healthy, \
    wait_idle, wait_rerun, widget
from video import fit_picture, write_y4m

from studio.camera_stream import PROBLEM_DENIED, PROBLEM_INSECURE, PROBLEM_NO_CAMERA

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))]

FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
VIEWPORT = {"width": 1280, "height": 720}
RATE = 5  # the default recording rate


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("camera")
    (base / "pictures" / "circle").mkdir(parents=True)
    return base


@pytest.fixture(scope="module")
def harness(folders, demo_run):
    """`streamlit run tests/camera_harness.py` on a free port (pictures and run from ``folders``)."""
    port = free_port()
    env = {**os.environ, "CAMERA_HARNESS_PICTURES": str(folders / "pictures"),
           "CAMERA_HARNESS_RUN": str(demo_run[1].path), "PYTHONPATH": str(ROOT)}
    log_path = folders / "harness.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "tests/camera_harness.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = AppURL(f"http://localhost:{port}")  # localhost: a secure origin, cameras allowed
    url.log, url.process = log_path, process
    try:
        wait_healthy(url)
        yield url
    finally:
        stop_app(url)


def browser_page(playwright, flags, url: str):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *flags])
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(url)
    wait_idle(page)
    return browser, page


def switch(page, key: str) -> None:
    widget(page, key).locator("label").first.click()
    wait_rerun(page)


def camera_on(page, key: str, ready_key: str) -> None:
    """Switch the camera on and wait until frames flow (the widget ``ready_key`` is enabled then)."""
    switch(page, f"{key}-on")
    try:
        # Generous: on 2 busy cores the WebRTC handshake takes a few reruns, the first one imports TF.
        page.wait_for_selector(f".st-key-{ready_key} :is(input, button):not([disabled])", timeout=90_000)
    except Exception:
        page.screenshot(path=str(Path(os.environ.get("TLCORE_WORKSPACE", "/tmp")).parent / "camera-not-on.png"))
        raise


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype("float32") - b.astype("float32")).mean())


def video_squares(pictures) -> list[np.ndarray]:
    """Each source picture as the video shows it, then centre-cropped square as a saved frame is."""
    from tlcore.live import square_frame

    return [square_frame(fit_picture(p)) for p in pictures]


# -- record --------------------------------------------------------------------------------------
def record_burst(page, seconds: float) -> float:
    """Record for about ``seconds``; returns the time between the switch's two reruns."""
    switch(page, "data_camera-record")
    started = time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    switch(page, "data_camera-record")
    return time.monotonic() - started


def test_record_bursts_into_two_classes(harness, folders, demo_dataset_96):
    from playwright.sync_api import sync_playwright

    sources = [Image.open(demo_dataset_96.paths[i]).convert("RGB") for i in (0, 31)]  # a circle, a square
    video = folders / "record.y4m"
    write_y4m(video, sources, seconds_each=2.0)
    expected = video_squares(sources)
    with sync_playwright() as playwright:
        browser, page = browser_page(playwright, [*FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}"],
                                     harness + "/?section=record")
        try:
            camera_on(page, "data_camera", "data_camera-record")
            circle_seconds = record_burst(page, 3.0)
            widget(page, "data_camera-class").get_by_role("combobox").click()
            page.get_by_role("option", name="New class…").click()
            wait_rerun(page)
            widget(page, "data_camera-new-class").locator("input").fill("square")
            widget(page, "data_camera-new-class").locator("input").press("Enter")
            wait_rerun(page)
            square_seconds = record_burst(page, 3.0)
            page.wait_for_timeout(800)  # the counter's next tick
            counter = " ".join(widget(page, "data_camera-counter").inner_text().split())
        finally:
            browser.close()
    saved = {name: sorted((folders / "pictures" / name).glob("*.png")) for name in ("circle", "square")}
    for name, seconds in (("circle", circle_seconds), ("square", square_seconds)):
        assert abs(len(saved[name]) - RATE * seconds) <= 4, (name, len(saved[name]), seconds)
    assert f"Recorded into square {len(saved['square'])} pictures" in counter
    for path in saved["circle"] + saved["square"]:
        frame = np.asarray(Image.open(path).convert("RGB"))
        assert frame.shape == (240, 240, 3)  # the video's 320×240, centre-cropped square
        near, far = sorted(mean_difference(frame, source) for source in expected)
        assert near < 15 and far > 2 * near + 10, (path.name, near, far)


# -- live ----------------------------------------------------------------------------------------
def answers_over(page, seconds: float, every: float = 0.25) -> list[str]:
    shown = []
    deadline = time.monotonic() + seconds
    value = widget(page, "test_live-answer").locator(".tl-value")
    while time.monotonic() < deadline:
        shown.append(value.first.inner_text() if value.count() else "")
        page.wait_for_timeout(every * 1000)
    return shown


def steady_runs(shown: list[str], at_least: int = 4) -> list[str]:
    """The answers that stayed the same for ``at_least`` looks in a row, in order, repeats merged."""
    runs, current, length = [], None, 0
    for answer in shown + [None]:
        if answer == current:
            length += 1
            continue
        if current and length >= at_least and (not runs or runs[-1] != current):
            runs.append(current)
        current, length = answer, 1
    return runs


def unseen_pictures(run):
    """Validation pictures (never trained on), one per answer Run.predict gives, confident ones."""
    from tlcore.runs import validation_set

    files, _, _ = validation_set(run)
    chosen: dict[str, Path] = {}
    for file, prediction in zip(files, run.predict(files)):
        if prediction.top not in chosen and prediction.probabilities[prediction.top] > 0.9:
            chosen[prediction.top] = file
    return chosen


def test_live_answers_follow_the_video_and_equal_run_predict(harness, folders, demo_run):
    from playwright.sync_api import sync_playwright

    run = demo_run[1]
    chosen = unseen_pictures(run)
    if len(chosen) < 2:
        pytest.skip(f"the small demo run is confident about only {len(chosen)} class here (random weights?)")
    order = list(chosen)
    video = folders / "live.y4m"
    write_y4m(video, [Image.open(chosen[name]).convert("RGB") for name in order], seconds_each=3.0)
    with sync_playwright() as playwright:
        browser, page = browser_page(playwright, [*FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}"],
                                     harness + "/?section=live")
        try:
            camera_on(page, "test_live", "test_live-freeze")
            widget(page, "test_live-answer").locator(".tl-value").first.wait_for(timeout=60_000)
            shown = answers_over(page, 3.0 * len(order) * 1.7)
            widget(page, "test_live-freeze").get_by_role("button", name="Freeze").first.click()
            wait_rerun(page)
            frozen_answer = widget(page, "test_live-frozen-panel").locator(".tl-value").first.inner_text()
            widget(page, "test_live-add").get_by_role("button").first.click()
            wait_rerun(page)
            added = widget(page, "test_live-frozen-panel").inner_text()
        finally:
            browser.close()
    runs = steady_runs(shown)
    assert set(runs) == set(order), shown  # every picture's Run.predict answer, and no other
    for before, after in zip(runs, runs[1:]):  # in the video's order (it loops)
        assert order[(order.index(before) + 1) % len(order)] == after, shown
    assert frozen_answer in order
    assert f"Added to {frozen_answer}." in added
    assert len(list((folders / "pictures" / frozen_answer).glob("*.png"))) >= 1


# -- no picture: refused, absent, insecure --------------------------------------------------------
def test_a_refused_camera_is_explained(harness):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = browser_page(playwright, ["--deny-permission-prompts", "--use-fake-device-for-media-stream"],
                                     harness + "/?section=record")
        try:
            switch(page, "data_camera-on")
            page.get_by_text(PROBLEM_DENIED).wait_for(timeout=20_000)
            assert widget(page, "data_camera-class").is_visible()  # the rest of the page still works
        finally:
            browser.close()


def test_no_camera_and_an_insecure_address_are_explained(harness):
    from playwright.sync_api import sync_playwright

    port = harness.rsplit(":", 1)[1]
    with sync_playwright() as playwright:
        browser, page = browser_page(playwright, ["--use-fake-ui-for-media-stream"], harness + "/?section=record")
        try:
            page.get_by_text(PROBLEM_NO_CAMERA).wait_for(timeout=20_000)
        finally:
            browser.close()
        # Another computer's view: plain HTTP to a name that is not this computer's own address.
        browser, page = browser_page(playwright, [*FAKE_CAMERA, "--host-resolver-rules=MAP classroom.test 127.0.0.1"],
                                     f"http://classroom.test:{port}/?section=record")
        try:
            insecure = PROBLEM_INSECURE.format(origin=f"http://classroom.test:{port}")
            page.get_by_text(insecure).wait_for(timeout=20_000)
            assert not widget(page, "data_camera-on").count()  # no switch that cannot work
            assert widget(page, "data_camera-class").is_visible()
        finally:
            browser.close()
