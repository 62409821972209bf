"""The live camera in the real app (`streamlit run app.py`), in real Chromium playing a Y4M video
instead of a camera (built here from real pictures); streamlit-webrtc, no STUN server.

The teacher's journey, in one browser session:
- Data page, Camera tab: two holds of Record (the mouse button held), one per class (a video of that class's pictures);
  the counts follow rate × seconds, the saved pictures are frames of the video (close to their
  class's pictures, far from the other class's), and Record, the count and the last pictures are
  on the first screen at 1280×720
- Model and Train pages: MobileNetV2 0.35 from the weights file in ../shared (from scratch at
  96 px on drawn pictures where ../shared is absent), trained on those frames
- Test page, Camera tab: a video of pictures the model never saw; the answer follows the
  video and, per picture, equals Run.predict on the source picture; Freeze, then "Add it to …"
Also: a refused camera, no camera and plain HTTP from another computer each move the tab to photos
with their sentence, a photo joins a class there, and the rest of the page still works (one server
for the three); a phone asks for its back camera, and Record held by a finger records.

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

from studio.camera import PHOTOS_WORDS
from studio.camera_stream import WHY_DENIED, WHY_INSECURE, WHY_NO_CAMERA

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


def camera_on(page, key: str, ready: str, timeout_ms: int = STEP_MS) -> None:
    """Switch the camera on and wait until frames flow (``ready``, a selector, is then enabled)."""
    switch(page, f"{key}-on")
    page.wait_for_selector(ready, timeout=timeout_ms)


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
    """Hold Record (the mouse button down on it) for about ``seconds``; (seconds between press and
    release, the counter's words after)."""
    record = widget(page, "data_camera-record").locator("button")
    record.hover()
    page.mouse.down()
    started = time.monotonic()
    widget(page, "data_camera-counter").get_by_text(f"Recording into {name}").wait_for(timeout=STEP_MS)
    page.wait_for_timeout(max(0.0, seconds - (time.monotonic() - started)) * 1000)
    page.mouse.up()
    held = time.monotonic() - started
    counter = widget(page, "data_camera-counter")
    counter.get_by_text(f"Recorded into {name}").wait_for(timeout=STEP_MS)
    return held, " ".join(counter.inner_text().split())


def record_ready(page) -> None:
    """Record is enabled once the live video plays."""
    until_live(page, "data_camera", lambda: page.wait_for_selector(
        ".st-key-data_camera-record button:not([disabled])", timeout=STEP_MS))


def until_live(page, key: str, wait, tries: int = 2) -> None:
    """``wait()`` for what the live video brings. On very busy cores the video may not connect within
    the page's 20 s, or drop while the model is made ready for frames, and the page offers photos: a
    teacher presses "Try live video" (the camera on again), as here."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(tries + 1):
        try:
            wait()
            return
        except PlaywrightTimeout:
            again = widget(page, f"{key}-to-live").get_by_role("button")
            if attempt == tries or not again.count():
                raise
        print(f"  the live video of {key} did not play in time (busy cores): Try live video")
        again.first.click()
        wait_rerun(page, STEP_MS)
        on = widget(page, f"{key}-on").locator("input")
        if on.count() and not on.first.is_checked():
            switch(page, f"{key}-on")


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
        record_ready(page)
        page.wait_for_timeout(3000)  # as a student points the camera first: frames already on their way
        # through the video pipeline (a second or two on busy cores) show the last class's scene
        held[name] = hold_record(page, name, HOLD_SECONDS)
        fail_on_error(page)
    return held


def saved_frames(base: Path) -> dict[str, list[np.ndarray]]:
    """The recorded pictures the app wrote into its session's work folder, by class."""
    frames: dict[str, list[np.ndarray]] = {}
    for path in sorted(base.glob("tmp/tlcore-*/added-*/*/camera_*.jpg")):
        frames.setdefault(path.parent.name, []).append(np.asarray(Image.open(path).convert("RGB"), np.float32))
    return frames


def check_recorded(page, material, held: dict, base: Path) -> None:
    from tlcore.live import square_frame

    frames = saved_frames(base)
    assert sorted(frames) == sorted(material["classes"]), sorted(frames)
    total = 0  # the pictures in the set: the frames written less the exact copies the app left out
    for name, (seconds, counter) in held.items():
        expected = RATE * seconds  # never more (a steady rate); on busy cores the video may bring fewer frames
        assert expected - max(4, 0.25 * expected) <= len(frames[name]) <= expected + 4, (name, len(frames[name]), seconds)
        copies = re.search(r"(\d+) (?:were exact copies|was an exact copy)", counter)  # a repeated video frame
        kept = len(frames[name]) - (int(copies.group(1)) if copies else 0)  # the app says each one it left out
        assert f"Recorded into {name} {kept} pictures" in counter, counter  # no other frame left out
        total += kept
    sources = {name: [square_frame(framed(p)).astype(np.float32) for p in pictures]
               for name, pictures in material["recorded"].items()}
    for name, own in frames.items():
        other = [s for c, pictures in sources.items() if c != name for s in pictures]
        near = [min(np.abs(f - s).mean() for s in sources[name]) for f in own]
        far = [min(np.abs(f - s).mean() for s in other) for f in own]
        wrong = [(i, round(n, 1), round(f, 1)) for i, (n, f) in enumerate(zip(near, far)) if f <= n]
        assert not wrong, (name, wrong, len(own))  # every frame is of its own class's pictures
        assert np.median(near) < 12 and np.median(far) > 2 * np.median(near) + 10, (name, near, far)
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert f"Camera pictures · {total} in 2 classes" in sidebar, sidebar
    shoot(page, base, "camera-record")
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
    weights = "Weights file added" if material["real"] else "None — from scratch"
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
    """Per class, the unseen picture the saved run is surest of, if Run.predict names that class and
    finds it familiar (else the live answer is rightly "This doesn't look like any of your classes")."""
    from tlcore.runs import list_runs

    (run,) = list_runs(workspace)
    chosen = []
    for name in material["classes"]:
        files = material["unseen"][name]
        predictions = run.predict(files)
        best = max(range(len(files)), key=lambda i: (predictions[i].familiar is not False,
                                                     predictions[i].probabilities[name]))
        if predictions[best].top == name and predictions[best].probabilities[name] > 0.7 \
                and predictions[best].familiar is not False:
            chosen.append((name, Image.open(files[best]).convert("RGB")))
    return chosen


def first_live_answer(page) -> None:
    """The first answer waits for the model made ready for frames (TFLite): minutes on busy cores."""
    answer = widget(page, "test_live-answer").locator(".tl-value").first
    until_live(page, "test_live", lambda: answer.wait_for(timeout=3 * STEP_MS))


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
    open_tab(page, "Camera")
    # on Test the model is made ready for frames first (TFLite): minutes on busy cores, as in test_e2e_web
    camera_on(page, "test_live", ".st-key-test_live-freeze button:not([disabled])", timeout_ms=3 * STEP_MS)
    first_live_answer(page)
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


def test_teacher_records_trains_and_sees_live_answers(material, tmp_path):
    from playwright.sync_api import sync_playwright

    base, video = tmp_path, tmp_path / "camera.y4m"  # a folder of its own: a rerun starts from nothing
    if (material["base"] / "cache").is_dir():  # the weights file the teacher added once
        shutil.copytree(material["base"] / "cache", base / "cache")
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


# -- no live video: refused, absent, insecure, a failing connection; and a phone --------------------
@pytest.fixture  # a server of its own for each test, and for each rerun (conftest.py)
def plain_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("camera-states")
    env = {"TLCORE_WORKSPACE": str(base / "workspace"), "TLCORE_CACHE_DIR": str(base / "cache"),
           "KERAS_HOME": str(base / "keras"), "TMPDIR": str(base / "tmp")}  # where added pictures are written
    (base / "tmp").mkdir()
    with app_server(env) as url:
        url.base = base
        yield url


def camera_tab_in(playwright, flags: list[str], url: str, context: dict | None = None, script: str = ""):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *flags])
    context = browser.new_context(**(context or {"viewport": PROJECTOR}))
    if script:
        context.add_init_script(script)
    page = context.new_page()
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


def photos_instead(why: str) -> str:
    return f"{PHOTOS_WORDS} {why}"  # two whole sentences


def test_a_refused_camera_moves_to_photos_and_the_page_still_works(plain_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser, page = camera_tab_in(playwright, ["--deny-permission-prompts", "--use-fake-device-for-media-stream"],
                                      plain_server.replace("127.0.0.1", "localhost"))
        try:
            switch(page, "data_camera-on")
            page.get_by_text(photos_instead(WHY_DENIED)).first.wait_for(timeout=30_000)
            widget(page, "data_camera-photo").locator("button").wait_for(timeout=STEP_MS)
            wait_idle(page, STEP_MS)
            assert not widget(page, "data_camera-on").count()
            still_works(page)
        finally:
            browser.close()


def take_photos(page, files: list, name: str) -> str:
    """Photos, one after another, into the class ``name`` (new); the counter's words after."""
    from appserver import wait_rerun as rerun

    field = widget(page, "data_camera-new-class").locator("input")
    field.fill(name)
    field.press("Enter")
    rerun(page, STEP_MS)
    photo_input = widget(page, "data_camera-photo").locator("input[type=file]")
    for file in files:  # one at a time, as a camera app gives them, without waiting for the page
        photo_input.set_input_files(str(file))
    counter = widget(page, "data_camera-counter")
    counter.get_by_text(f"Photos into {name}").wait_for(timeout=STEP_MS)
    page.wait_for_function("n => document.querySelector('.st-key-data_camera-counter').innerText.includes(n)",
                           arg=f"{len(files)} pictures", timeout=STEP_MS)
    return " ".join(counter.inner_text().split())


def test_no_camera_and_an_insecure_address_move_to_photos_that_join_a_class(plain_server, tmp_path):
    """A laptop without a camera, and a phone on plain http (a school proxy without HTTPS, or
    the server's address typed by hand): photos with the camera app, into a class."""
    from playwright.sync_api import sync_playwright

    from device_support import PHONE, TOUCH
    from tlcore.data import demo_folder

    port = plain_server.rsplit(":", 1)[1]
    phone_photo = tmp_path / "IMG_0001.jpg"  # a phone's photo: 1600×1200, 4:3, a sensor's grain, about 1.5 MB
    big = Image.open(sorted((demo_folder() / "circle").glob("*.jpg"))[0]).convert("RGB").resize((1600, 1200))
    grain = np.random.default_rng(0).normal(0, 12, (1200, 1600, 3))
    Image.fromarray(np.clip(np.asarray(big) + grain, 0, 255).astype(np.uint8)).save(phone_photo, quality=95)
    assert phone_photo.stat().st_size > 1_000_000
    drawn = sorted((demo_folder() / "circle").glob("*.jpg"))[1:3]
    with sync_playwright() as playwright:
        browser, page = camera_tab_in(playwright, ["--use-fake-ui-for-media-stream"],
                                      plain_server.replace("127.0.0.1", "localhost"))
        try:
            page.get_by_text(photos_instead(WHY_NO_CAMERA)).first.wait_for(timeout=30_000)
            still_works(page)
        finally:
            browser.close()
        # Another device's view: plain HTTP to a name that is not this computer's own address.
        browser, page = camera_tab_in(playwright, [*FAKE_CAMERA, "--host-resolver-rules=MAP classroom.test 127.0.0.1"],
                                      f"http://classroom.test:{port}", context={"viewport": PHONE, **TOUCH})
        try:
            origin = f"http://classroom.test:{port}"
            page.get_by_text(photos_instead(WHY_INSECURE.format(origin=origin))).wait_for(timeout=30_000)
            assert not widget(page, "data_camera-on").count()  # no switch that cannot work
            photo_input = widget(page, "data_camera-photo").locator("input[type=file]")
            assert (photo_input.get_attribute("accept"), photo_input.get_attribute("capture")) == ("image/*",
                                                                                                 "environment")
            counter = take_photos(page, [phone_photo, *drawn], "cups")
            assert counter.startswith("Photos into cups 3 pictures Take photos of a second class"), counter
            still_works(page)
        finally:
            browser.close()
    saved = sorted((plain_server.base / "tmp").glob("tlcore-*/added-*/cups/*.jpg"))  # the session's scratch
    sizes = sorted(Image.open(path).size for path in saved)
    assert len(saved) == 3 and (853, 640) in sizes, sizes  # the phone's photo made smaller in the browser


SPY = """
// What the page asks the camera for, kept in the top window (the video runs in an iframe).
if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (asked) => {
    try { window.top.__asked = (window.top.__asked || []).concat([asked.video.facingMode.ideal]); } catch (e) {}
    return ask(asked);
  };
}
"""


def hold_by_finger(page, selector: str, seconds: float) -> None:
    """Press a finger on the element and lift it ``seconds`` later (touch events, as a phone sends)."""
    target = page.locator(selector)
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
    touch = page.context.new_cdp_session(page)
    touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
    page.wait_for_timeout(seconds * 1000)
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_a_phone_starts_with_its_back_camera_and_records_while_a_finger_holds_record(plain_server):
    from playwright.sync_api import sync_playwright

    from device_support import PHONE, TOUCH, touch_problems

    with sync_playwright() as playwright:
        browser, page = camera_tab_in(playwright, FAKE_CAMERA, plain_server.replace("127.0.0.1", "localhost"),
                                      context={"viewport": PHONE, **TOUCH}, script=SPY)
        try:
            assert widget(page, "data_camera-path").inner_text().startswith(
                "Live video from this device's camera")
            camera_on(page, "data_camera", ".st-key-data_camera-front input")
            name_new_class(page, "mugs")
            record_ready(page)
            assert set(page.evaluate("() => window.__asked")) == {"environment"}
            problems = touch_problems(page)  # the live layout on a phone: no sideways scroll, 44 px targets
            assert (problems["sideways"], problems["small"]) == (0, []), problems
            video = page.frame_locator("[data-testid='stCustomComponentV1']").locator("video")
            assert video.evaluate("v => getComputedStyle(v).transform") == "none"  # a back camera: not mirrored
            hold_by_finger(page, ".st-key-data_camera-record button", 3.0)
            counter = widget(page, "data_camera-counter")
            counter.get_by_text("Recorded into mugs").wait_for(timeout=STEP_MS)
            recorded = int(re.search(r"(\d+) pictures", counter.inner_text()).group(1))
            assert RATE * 3 - 6 <= recorded <= RATE * 3 + 3, counter.inner_text()
            assert page.evaluate("() => window.getSelection().toString()") == ""  # a long press selects nothing
            widget(page, "data_camera-record").locator("button").focus()  # and by keyboard: Space held
            page.keyboard.down(" ")
            counter.get_by_text("Recording into mugs").wait_for(timeout=STEP_MS)
            page.wait_for_timeout(2000)
            page.keyboard.up(" ")
            page.wait_for_function(  # the new set's caption counts both bursts: "(mugs 24)"
                "n => Number(/\\(mugs (\\d+)\\)/.exec(document.querySelector(\"[data-testid='stMain']\").innerText)"
                "?.[1]) >= n + 5", arg=recorded, timeout=STEP_MS)
            switch(page, "data_camera-front")
            page.wait_for_function("() => (window.__asked || []).includes('user')", timeout=STEP_MS)
            page.wait_for_function(  # the front camera's preview is mirrored, like a mirror
                "() => [...document.querySelectorAll(\"[data-testid='stCustomComponentV1']\")].some((f) => {"
                " const v = f.contentDocument && f.contentDocument.querySelector('video');"
                " return v && getComputedStyle(v).transform !== 'none'; })", timeout=STEP_MS)
            fail_on_error(page)
        finally:
            browser.close()


# A network with no way through for the video: the browser may use only relay servers (TURN), and
# the studio offers none, so no connection ever comes up however often streamlit-webrtc tries.
# (Chromium's --force-webrtc-ip-handling-policy=disable_non_proxied_udp fails a first try only.)
NO_WAY_THROUGH = """
if (window.RTCPeerConnection) {
  const Native = window.RTCPeerConnection;
  window.RTCPeerConnection = function (config) { return new Native({ ...(config || {}), iceTransportPolicy: "relay" }); };
  window.RTCPeerConnection.prototype = Native.prototype;
}
"""


def test_a_live_video_that_cannot_connect_moves_to_photos(plain_server):
    """A school network that lets the page load but not the live video through: CONNECT_TIMEOUT
    after the camera was allowed, the page says so and takes photos instead."""
    from playwright.sync_api import sync_playwright

    from studio.camera import CONNECT_TIMEOUT
    from studio.camera_stream import WHY_FAILED

    with sync_playwright() as playwright:
        browser, page = camera_tab_in(playwright, FAKE_CAMERA, plain_server.replace("127.0.0.1", "localhost"),
                                      script=NO_WAY_THROUGH)
        try:
            switch(page, "data_camera-on")
            page.get_by_text(photos_instead(WHY_FAILED)).wait_for(timeout=(CONNECT_TIMEOUT + 30) * 1000)
            widget(page, "data_camera-photo").locator("button").wait_for(timeout=STEP_MS)
            wait_idle(page, STEP_MS)
            widget(page, "data_camera-to-live").get_by_role("button").click()  # Try live video
            wait_rerun(page, STEP_MS)
            assert widget(page, "data_camera-on").is_visible()
            fail_on_error(page)
        finally:
            browser.close()
