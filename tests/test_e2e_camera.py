"""The live camera in the real app (`streamlit run app.py`), in real Chromium playing a Y4M video
instead of a camera (built here from real pictures); streamlit-webrtc, no STUN server.

The teacher's journey, in one browser session:
- Data page, Camera tab: two holds of Record, one per class (a video of that class's pictures);
  the counts follow rate × seconds, the saved pictures are frames of the video (close to their
  class's pictures, far from the other class's), and Record, the count and the last pictures are
  on the first screen at 1280×720
- Model and Train pages: MobileNetV2 0.35 from the weights file in ../shared (from scratch at
  96 px on drawn pictures where ../shared is absent), trained on those frames
- Test page, Live camera tab: a video of pictures the model never saw; the answer follows the
  video and, per picture, equals Run.predict on the source picture; Freeze, then "Add it to …"
Also: a refused camera, no camera and plain HTTP from another computer each get their sentence,
and the rest of the page still works (one server for the three).

    python -m pytest tests/test_e2e_camera.py -q -x -s
    TLCORE_UPDATE_SCREENSHOTS=1 python -m pytest tests/test_e2e_camera.py -q -x -s   # docs/screenshots/camera-*.png
"""

from __future__ import annotations

import os
import random
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from appserver import CHROMIUM, CHROMIUM_ARGS, ROOT, app_server, chromium_missing, go_to, log_tail, wait_idle, \
    wait_rerun, widget
from conftest import FLOWERS, SHARED_WEIGHTS  # the one place ../shared is named
from video import HEIGHT, WIDTH, write_y4m

from studio.camera_stream import PROBLEM_DENIED, PROBLEM_INSECURE, PROBLEM_NO_CAMERA

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))]

FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
PROJECTOR = {"width": 1280, "height": 720}
RATE = 5  # the default recording rate
HOLD_SECONDS = 10.0  # one hold of Record per class: about 50 pictures
RECORDED_PER_CLASS = 5  # pictures in each class's video, each held 2.4 s
UNSEEN_PER_CLASS = 12  # pictures the model never saw, to choose the live ones from
STEP_MS = 90_000  # one page's script run on two busy cores (the first imports TensorFlow)
TRAIN_TIMEOUT_S = 240
NOISE = 3.0  # a camera's grain: no two frames of a still picture are identical
VIDEO_SECONDS = 12.0  # every video the fake camera plays is this long


# -- material ------------------------------------------------------------------------------------
def real_material() -> bool:
    if os.environ.get("TLCORE_E2E_DRAWN"):  # force the journey without ../shared
        return False
    return SHARED_WEIGHTS.is_file() and all((FLOWERS / c).is_dir() for c in ("daisy", "sunflower"))


def framed(picture: Image.Image) -> np.ndarray:
    """A square picture in the middle of a 320×240 camera frame (grey sides): the centre square a
    frame is cut to, for recording and for the model, is then the whole picture."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (128, 128, 128))
    canvas.paste(picture.convert("RGB").resize((HEIGHT, HEIGHT), Image.LANCZOS), ((WIDTH - HEIGHT) // 2, 0))
    return np.asarray(canvas)


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    """Per class: the pictures of its recording video and a pool of unseen ones; the app's cache."""
    base = tmp_path_factory.mktemp("camera-journey")
    real = real_material()
    if real:
        classes = ("daisy", "sunflower")
        files = {c: sorted((FLOWERS / c).glob("*.jpg")) for c in classes}
        (base / "cache" / "weights").mkdir(parents=True)  # a teacher who added the weights file once
        shutil.copyfile(SHARED_WEIGHTS, base / "cache" / "weights" / "mobilenet_v2_035.weights.h5")
    else:
        from tlcore.data import demo_folder

        classes = ("circle", "square")
        files = {c: sorted((demo_folder() / c).glob("*.jpg")) for c in classes}
    rng = random.Random(0)
    for paths in files.values():
        rng.shuffle(paths)
    return {"real": real, "classes": classes, "base": base,
            "recorded": {c: [Image.open(p).convert("RGB") for p in files[c][:RECORDED_PER_CLASS]] for c in classes},
            "unseen": {c: files[c][RECORDED_PER_CLASS:RECORDED_PER_CLASS + UNSEEN_PER_CLASS] for c in classes}}


def show_on_camera(video: Path, pictures, seconds_each: float) -> None:
    """What the fake camera plays next, in a video of VIDEO_SECONDS (the pictures repeat to fill it).

    Chromium keeps the file open while any page uses the camera and reads it frame by frame, so
    a new file would go unseen and a file cut short stops the camera: the new frames are written
    over the old ones in one go, the same length and header."""
    scratch = video.with_suffix(".next")
    repeats = max(1, round(VIDEO_SECONDS / (seconds_each * len(pictures))))
    write_y4m(scratch, [framed(p) for p in pictures] * repeats, seconds_each=seconds_each, noise=NOISE)
    content = scratch.read_bytes()
    with open(video, "r+b" if video.exists() else "wb") as file:
        file.write(content)
        file.truncate()


# -- driving the page ----------------------------------------------------------------------------
def switch(page, key: str) -> None:
    widget(page, key).locator("label").first.click()
    wait_rerun(page, STEP_MS)


def camera_on(page, key: str, ready: str) -> None:
    """Switch the camera on and wait until frames flow (``ready``, a selector, is then enabled)."""
    switch(page, f"{key}-on")
    page.wait_for_selector(ready, timeout=STEP_MS)


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    wait_rerun(page, STEP_MS)


def to_top(page) -> None:
    page.evaluate("() => document.querySelector(\"[data-testid='stMain']\").scrollTo(0, 0)")
    page.mouse.move(PROJECTOR["width"] // 2, 5)
    page.wait_for_timeout(300)


def off_screen(page, selectors: dict[str, str]) -> dict:
    """Of the named elements, those not wholly on the first screen: name -> (top, bottom) or None."""
    outside = {}
    for name, selector in selectors.items():
        box = page.locator(selector).first.bounding_box() if page.locator(selector).count() else None
        if box is None or box["y"] < 0 or box["y"] + box["height"] > PROJECTOR["height"] + 1:
            outside[name] = None if box is None else (round(box["y"]), round(box["y"] + box["height"]))
    return outside


def shoot(page, folder: Path, name: str) -> None:
    """The first screen at 1280×720, to ``folder``; with TLCORE_UPDATE_SCREENSHOTS=1 also to docs/screenshots."""
    to_top(page)
    folders = [folder] + ([ROOT / "docs" / "screenshots"] if os.environ.get("TLCORE_UPDATE_SCREENSHOTS") == "1" else [])
    for target in folders:
        page.screenshot(path=str(target / f"{name}.png"))


def fail_on_error(page) -> None:
    for test_id in ("stException", "stAlertContentError"):
        if page.get_by_test_id(test_id).count():
            raise AssertionError(f"the app shows an error: {page.get_by_test_id(test_id).first.inner_text()!r}")


# -- Data: two holds of Record -------------------------------------------------------------------
def name_new_class(page, name: str) -> None:
    if not widget(page, "data_camera-new-class").count():
        widget(page, "data_camera-class").get_by_role("combobox").click()
        page.get_by_role("option", name="New class…").click()
        wait_rerun(page, STEP_MS)
    field = widget(page, "data_camera-new-class").locator("input")
    field.fill(name)
    field.press("Enter")
    wait_rerun(page, STEP_MS)


def hold_record(page, name: str, seconds: float) -> tuple[float, str]:
    """Record for about ``seconds``; (seconds between the two switches, the counter's words after)."""
    record = widget(page, "data_camera-record").locator("input")
    switch(page, "data_camera-record")
    assert record.is_checked(), "Record did not switch on"
    started = time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    switch(page, "data_camera-record")
    held = time.monotonic() - started
    counter = widget(page, "data_camera-counter")
    counter.get_by_text(f"Recorded into {name}").wait_for(timeout=STEP_MS)
    return held, " ".join(counter.inner_text().split())


def record_classes(page, material, video: Path, url: str) -> dict[str, tuple[float, str]]:
    page.goto(url + "/data")
    wait_idle(page, STEP_MS)
    open_tab(page, "Camera")
    held = {}
    for number, name in enumerate(material["classes"]):
        show_on_camera(video, material["recorded"][name], seconds_each=VIDEO_SECONDS / RECORDED_PER_CLASS)
        if not number:
            camera_on(page, "data_camera", ".st-key-data_camera-mirror input")
        name_new_class(page, name)
        page.wait_for_selector(".st-key-data_camera-record input:not([disabled])", timeout=STEP_MS)
        held[name] = hold_record(page, name, HOLD_SECONDS)
        fail_on_error(page)
    return held


def saved_frames(base: Path) -> dict[str, list[np.ndarray]]:
    """The recorded pictures the app wrote into its session's work folder, by class."""
    frames: dict[str, list[np.ndarray]] = {}
    for path in sorted(base.glob("tmp/tl-studio-*/added-*/*/camera_*.jpg")):
        frames.setdefault(path.parent.name, []).append(np.asarray(Image.open(path).convert("RGB"), np.float32))
    return frames


def check_recorded(page, material, held: dict, shots: Path) -> None:
    from tlcore.live import square_frame

    frames = saved_frames(material["base"])
    assert sorted(frames) == sorted(material["classes"]), sorted(frames)
    for name, (seconds, counter) in held.items():
        expected = RATE * seconds  # never more (a steady rate); on busy cores the video may bring fewer frames
        assert expected - max(4, 0.25 * expected) <= len(frames[name]) <= expected + 4, (name, len(frames[name]), seconds)
        assert f"Recorded into {name} {len(frames[name])} pictures" in counter, counter  # no frame left out
    sources = {name: [square_frame(framed(p)).astype(np.float32) for p in pictures]
               for name, pictures in material["recorded"].items()}
    for name, own in frames.items():
        other = [s for c, pictures in sources.items() if c != name for s in pictures]
        near = [min(np.abs(f - s).mean() for s in sources[name]) for f in own]
        far = [min(np.abs(f - s).mean() for s in other) for f in own]
        wrong = [(i, round(n, 1), round(f, 1)) for i, (n, f) in enumerate(zip(near, far)) if f <= n]
        assert not wrong, (name, wrong, len(own))  # every frame is of its own class's pictures
        assert np.median(near) < 12 and np.median(far) > 2 * np.median(near) + 10, (name, near, far)
    total = sum(len(f) for f in frames.values())
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert f"Camera pictures · {total} in 2 classes" in sidebar, sidebar
    shoot(page, shots, "camera-record")
    first_screen = {"Record": ".st-key-data_camera-record", "count": ".st-key-data_camera-counter .tl-card",
                    "last pictures": ".st-key-data_camera-counter [data-testid='stImage']",
                    "preview": "[data-testid='stCustomComponentV1']"}
    assert off_screen(page, first_screen) == {}, off_screen(page, first_screen)


# -- Model and Train -----------------------------------------------------------------------------
def train_on_them(page, material) -> None:
    from appserver import choose_on_slider

    go_to(page, "Model", timeout_ms=STEP_MS)
    widget(page, "model_backbone").get_by_text("MobileNetV2 (0.35", exact=False).click()
    wait_rerun(page, STEP_MS)
    weights = "Weights file you added" if material["real"] else "None — from scratch"
    widget(page, "model_weights").get_by_text(weights, exact=False).click()
    wait_rerun(page, STEP_MS)
    if not material["real"]:
        choose_on_slider(page, "model_size", "96", STEP_MS)
    fail_on_error(page)
    go_to(page, "Train", timeout_ms=STEP_MS)
    widget(page, "train_start").get_by_role("button").click()
    finished = page.get_by_text("Training finished", exact=False)
    deadline = time.monotonic() + TRAIN_TIMEOUT_S
    while not finished.count():
        fail_on_error(page)
        assert time.monotonic() < deadline, f"training did not finish in {TRAIN_TIMEOUT_S} s"
        page.wait_for_timeout(500)
    wait_idle(page, STEP_MS)


# -- Test: live answers --------------------------------------------------------------------------
def live_pictures(material, workspace: Path) -> list[tuple[str, Image.Image]]:
    """Per class, the unseen picture the saved run is surest of, if Run.predict names that class."""
    from tlcore.runs import list_runs

    (run,) = list_runs(workspace)
    chosen = []
    for name in material["classes"]:
        files = material["unseen"][name]
        predictions = run.predict(files)
        best = max(range(len(files)), key=lambda i: predictions[i].probabilities[name])
        if predictions[best].top == name and predictions[best].probabilities[name] > 0.7:
            chosen.append((name, Image.open(files[best]).convert("RGB")))
    return chosen


def answers_over(page, seconds: float, every: float = 0.25) -> list[str]:
    shown, value = [], widget(page, "test_live-answer").locator(".tl-value")
    deadline = time.monotonic() + seconds
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


def live_answers(page, chosen, video: Path, shots: Path, seconds_each: float = 3.0) -> tuple[list[str], str, str]:
    """(the answers seen over two loops of the video, the frozen answer, the frozen panel's words after Add)."""
    show_on_camera(video, [picture for _, picture in chosen], seconds_each)
    go_to(page, "Test", timeout_ms=STEP_MS)
    open_tab(page, "Live camera")
    camera_on(page, "test_live", ".st-key-test_live-freeze button:not([disabled])")
    widget(page, "test_live-answer").locator(".tl-value").first.wait_for(timeout=STEP_MS)
    shown = answers_over(page, seconds_each * len(chosen) * 2.2)
    shoot(page, shots, "camera-live")
    assert off_screen(page, {"answer": ".st-key-test_live-answer .tl-card"}) == {}
    widget(page, "test_live-freeze").get_by_role("button").first.click()
    wait_rerun(page, STEP_MS)
    panel = widget(page, "test_live-frozen-panel")
    frozen = panel.locator(".tl-value").first.inner_text()
    widget(page, "test_live-add").get_by_role("button").first.click()
    wait_rerun(page, STEP_MS)
    fail_on_error(page)
    return shown, frozen, " ".join(panel.inner_text().split())


def test_teacher_records_trains_and_sees_live_answers(material):
    from playwright.sync_api import sync_playwright

    base, video = material["base"], material["base"] / "camera.y4m"
    show_on_camera(video, material["recorded"][material["classes"][0]], VIDEO_SECONDS / RECORDED_PER_CLASS)
    env = {"TLCORE_WORKSPACE": str(base / "workspace"), "TLCORE_CACHE_DIR": str(base / "cache"),
           "KERAS_HOME": str(base / "keras"), "TF_CPP_MIN_LOG_LEVEL": "2",
           "TMPDIR": str(base / "tmp")}  # the session's work folder, where recorded pictures are written
    (base / "tmp").mkdir()
    started, step = time.monotonic(), "start"
    with app_server(env) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=[*CHROMIUM_ARGS, *FAKE_CAMERA,
                                                   f"--use-file-for-fake-video-capture={video}"])
        page = browser.new_page(viewport=PROJECTOR)
        try:
            step = "record"  # localhost: a secure origin, where cameras are allowed
            held = record_classes(page, material, video, url.replace("127.0.0.1", "localhost"))
            check_recorded(page, material, held, base)
            print(f"  recorded at {time.monotonic() - started:5.1f} s: {held}")
            step = "train"
            train_on_them(page, material)
            print(f"  trained at {time.monotonic() - started:5.1f} s")
            step = "live"
            chosen = live_pictures(material, base / "workspace")
            if len(chosen) < 2:
                pytest.skip(f"the run is sure of only {len(chosen)} class on unseen pictures (drawn pictures, "
                            "from scratch); the live answers cannot be told apart")
            shown, frozen, added = live_answers(page, chosen, video, base)
            print(f"  live at {time.monotonic() - started:5.1f} s")
        except BaseException:
            page.screenshot(path=str(base / f"failure-{step}.png"))
            print(f"\nFailed at {step!r}; screenshot in {base}\nServer log:\n{log_tail(url)}")
            raise
        finally:
            browser.close()
    order = [name for name, _ in chosen]
    runs = steady_runs(shown)
    assert set(runs) == set(order), shown  # each picture's Run.predict answer, and no other
    for before, after in zip(runs, runs[1:]):  # in the video's order (it loops)
        assert order[(order.index(before) + 1) % len(order)] == after, shown
    assert frozen in order
    assert re.search(rf"{frozen} has \d+ pictures now\. Train again on “Camera pictures”", added), added


# -- no picture: refused, absent, insecure --------------------------------------------------------
@pytest.fixture(scope="module")
def plain_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("camera-states")
    env = {"TLCORE_WORKSPACE": str(base / "workspace"), "TLCORE_CACHE_DIR": str(base / "cache"),
           "KERAS_HOME": str(base / "keras")}
    with app_server(env) as url:
        yield url


def camera_tab_in(playwright, flags: list[str], url: str):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *flags])
    page = browser.new_page(viewport=PROJECTOR)
    page.goto(url + "/data")
    wait_idle(page, STEP_MS)
    open_tab(page, "Camera")
    return browser, page


def still_works(page) -> None:
    """The rest of the Data page: the set's cards and its classes, and another tab."""
    assert page.locator(".tl-card", has_text="Pictures").first.is_visible()
    assert "circle · 30 pictures" in page.get_by_test_id("stMain").inner_text()
    open_tab(page, "A zip file")
    assert widget(page, "data_zip").is_visible()
    fail_on_error(page)


def test_a_refused_camera_is_explained_and_the_page_still_works(plain_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = camera_tab_in(playwright, ["--deny-permission-prompts", "--use-fake-device-for-media-stream"],
                                      plain_server.replace("127.0.0.1", "localhost"))
        try:
            switch(page, "data_camera-on")
            page.get_by_text(PROBLEM_DENIED).first.wait_for(timeout=30_000)
            still_works(page)
        finally:
            browser.close()


def test_no_camera_and_an_insecure_address_are_explained(plain_server):
    from playwright.sync_api import sync_playwright

    port = plain_server.rsplit(":", 1)[1]
    with sync_playwright() as playwright:
        browser, page = camera_tab_in(playwright, ["--use-fake-ui-for-media-stream"],
                                      plain_server.replace("127.0.0.1", "localhost"))
        try:
            page.get_by_text(PROBLEM_NO_CAMERA).first.wait_for(timeout=30_000)
            still_works(page)
        finally:
            browser.close()
        # Another computer's view: plain HTTP to a name that is not this computer's own address.
        browser, page = camera_tab_in(playwright, [*FAKE_CAMERA, "--host-resolver-rules=MAP classroom.test 127.0.0.1"],
                                      f"http://classroom.test:{port}")
        try:
            page.get_by_text(PROBLEM_INSECURE.format(origin=f"http://classroom.test:{port}")).wait_for(timeout=30_000)
            assert not widget(page, "data_camera-on").count()  # no switch that cannot work
            still_works(page)
        finally:
            browser.close()
