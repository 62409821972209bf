"""The Studio, end to end: a teacher's journey in real Chromium against the real server.

Learn → Data (upload a zip of three classes) → Model (MobileNetV2 0.35, the weights file the
teacher added once) → Train (2 epochs; the curves get a point per epoch; Start, Stop, progress
and both curves on the first screen at 1280×720 and 1400×1000) → Test (a new picture gets an
answer) → reload the browser → Runs (the run is still listed) → Evaluate → Share.
Also: every page opened by its own URL shows our navigation, and the Train page's first screen
fits a projector before any training.

A full-page screenshot of each page goes to the test's tmp_path (the README's pictures, from a
bigger lesson, are made by docs/screenshots/make.py).

    python -m pytest tests/test_e2e.py -q -x -s

Nothing reaches the network. With ../shared (real flower photos and MobileNetV2 0.35 weights)
the run is realistic; without it, drawn pictures are trained from scratch at 96 px.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from appserver import (
    VIEWPORT,
    app_server,
    choose_on_slider,
    chromium_missing,
    go_to,
    launch_chromium,
    log_tail,
    reveal,
    screenshot_full,
    settle,
    wait_idle,
    wait_rerun,
    widget,
)

_MISSING = chromium_missing()
if _MISSING:
    pytest.skip(_MISSING, allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
from conftest import FLOWERS, SHARED_WEIGHTS  # noqa: E402  (the one place ../shared is named)
CLASSES = ("daisy", "sunflower", "rose")
PER_CLASS = 12
TRAIN_TIMEOUT_S = 180
STEP_TIMEOUT_MS = 90_000  # one page's script run (the first TensorFlow import is on the Model page)


# -- material ------------------------------------------------------------------------------------
def real_material() -> bool:
    if os.environ.get("TLCORE_E2E_DRAWN"):  # force the no-../shared journey (as in a user's clone)
        return False
    return SHARED_WEIGHTS.is_file() and all(len(list((FLOWERS / c).glob("*.jpg"))) > PER_CLASS for c in CLASSES)


def drawn_picture(shape: str, rng: random.Random, size: int = 96) -> bytes:
    """A shape on a noisy background, as JPEG bytes (used when ../shared is absent)."""
    from PIL import Image, ImageDraw

    background = tuple(rng.randrange(120, 256) for _ in range(3))
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(size), rng.randrange(size)
        draw.line((x, y, rng.randrange(size), rng.randrange(size)), fill=tuple(rng.randrange(256) for _ in range(3)))
    colour = tuple(rng.randrange(0, 110) for _ in range(3))
    r = rng.randrange(size // 5, size // 3)
    cx, cy = rng.randrange(r + 2, size - r - 2), rng.randrange(r + 2, size - r - 2)
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    elif shape == "square":
        draw.rectangle((cx - r, cy - r, cx + r, cy + r), fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


@pytest.fixture
def material(tmp_path):
    """The zip a teacher would upload, one new picture to test, and the cache with the weights file."""
    cache = tmp_path / "cache"
    real = real_material()
    classes = CLASSES if real else ("circle", "square", "triangle")
    archive = tmp_path / "flowers.zip" if real else tmp_path / "shapes.zip"
    rng = random.Random(0)
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in classes:
            if real:
                for photo in sorted((FLOWERS / name).glob("*.jpg"))[:PER_CLASS]:
                    bundle.write(photo, f"{archive.stem}/{name}/{photo.name}")  # at their own small size
            else:
                for i in range(PER_CLASS):
                    bundle.writestr(f"{archive.stem}/{name}/{name}_{i:02d}.jpg", drawn_picture(name, rng))
    if real:
        # A photo the model never saw. What a teacher who uploaded the weights file once has:
        test_picture = sorted((FLOWERS / "sunflower").glob("*.jpg"))[PER_CLASS]
        (cache / "weights").mkdir(parents=True)
        shutil.copyfile(SHARED_WEIGHTS, cache / "weights" / "mobilenet_v2_035.weights.h5")
    else:
        test_picture = tmp_path / "new_circle.jpg"
        test_picture.write_bytes(drawn_picture("circle", random.Random(99)))
    return {"real": real, "classes": classes, "zip": archive, "picture": test_picture, "cache": cache}


@pytest.fixture
def shots(tmp_path):
    """Where screenshots go: tmp_path/screenshots."""
    folders = [tmp_path / "screenshots"]

    def take(page, name: str) -> None:
        screenshot_full(page, [folder / f"{name}.png" for folder in folders])

    take.folders = folders
    return take


# -- what a projector needs ----------------------------------------------------------------------
PROJECTOR_SIZES = ({"width": 1280, "height": 720}, {"width": 1400, "height": 1000})
MIN_CHART_TEXT_PX = 16
_WORDS_SPLIT_JS = """() => {
    // Words (between spaces and the separators a card may wrap after) drawn on more than one line.
    const split = [];
    for (const card of document.querySelectorAll('.tl-card')) {
        const walker = document.createTreeWalker(card, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const match of node.textContent.matchAll(/[^\\s_\\-\\/·.]+/g)) {
                const range = document.createRange();
                range.setStart(node, match.index);
                range.setEnd(node, match.index + match[0].length);
                const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
                if (lines.size > 1) split.push(match[0]);
            }
        }
    }
    return split;
}"""


def words_broken_in_cards(page) -> list[str]:
    return page.evaluate(_WORDS_SPLIT_JS)


def smallest_chart_text(page, selector: str = "[data-testid='stPlotlyChart']") -> float:
    """The smallest font size (px) of any text Plotly drew in the charts matching ``selector``."""
    return page.evaluate(
        """(selector) => Math.min(...[...document.querySelectorAll(selector + ' svg text')]
              .filter((t) => t.textContent.trim())
              .map((t) => parseFloat(getComputedStyle(t).fontSize)))""", selector)


def outside_viewport(page, selectors: dict[str, str]) -> dict[str, tuple]:
    """Of the named elements, those not wholly inside the viewport: name -> (top, bottom)."""
    height = page.viewport_size["height"]
    outside = {}
    for name, selector in selectors.items():
        box = page.locator(selector).first.bounding_box()
        if box is None or box["y"] < 0 or box["y"] + box["height"] > height + 1:
            outside[name] = None if box is None else (round(box["y"]), round(box["y"] + box["height"]))
    return outside


TRAIN_FIRST_SCREEN = {
    "Start": ".st-key-train_start",
    "Stop": ".st-key-train_stop",
    "accuracy curve": ".st-key-train_curves_accuracy",
    "loss curve": ".st-key-train_curves_loss",
}


# -- steps ---------------------------------------------------------------------------------------
def main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def fail_on_error(page) -> None:
    """Stop at once, with the app's words, if the page shows an error or an exception."""
    for test_id in ("stException", "stAlertContentError"):
        boxes = page.get_by_test_id(test_id)
        if boxes.count():
            raise AssertionError(f"the app shows an error: {boxes.first.inner_text()!r}")


def learn(page, url, shots) -> None:
    page.goto(url)
    wait_idle(page, STEP_TIMEOUT_MS)
    assert re.search(r"/(learn)?$", page.url), page.url
    page.get_by_role("heading", level=1).first.wait_for()
    assert "transfer learning" in main_text(page).lower()
    page.get_by_test_id("stGraphVizChart").first.wait_for(timeout=STEP_TIMEOUT_MS)  # drawn after the heading
    assert page.get_by_test_id("stGraphVizChart").count() == 1, "the idea-in-one-picture diagram is missing"
    fail_on_error(page)
    settle(page)
    shots(page, "learn")


def data(page, material, shots) -> None:
    go_to(page, "Data", timeout_ms=STEP_TIMEOUT_MS)
    zip_box = widget(page, "data_zip")
    zip_box.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(material["zip"]))
    total = len(material["classes"]) * PER_CLASS
    page.get_by_text(f"Read {total} pictures in {len(material['classes'])} classes").wait_for(timeout=STEP_TIMEOUT_MS)
    wait_idle(page, STEP_TIMEOUT_MS)
    fail_on_error(page)
    text = main_text(page)
    for name in material["classes"]:
        assert f"{name} · {PER_CLASS} pictures" in text, f"no count for class {name!r} on the Data page"
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert f"{total} in {len(material['classes'])} classes" in sidebar, sidebar
    settle(page)
    shots(page, "data")


def model(page, material, shots) -> None:
    go_to(page, "Model", timeout_ms=STEP_TIMEOUT_MS)
    widget(page, "model_backbone").get_by_text("MobileNetV2 (0.35", exact=False).click()
    wait_rerun(page, STEP_TIMEOUT_MS)
    weights = "Weights file added" if material["real"] else "None — from scratch"
    widget(page, "model_weights").get_by_text(weights, exact=False).click()
    wait_rerun(page, STEP_TIMEOUT_MS)
    assert widget(page, "model_weights").get_by_role("radio", name=re.compile(weights), checked=True).count() == 1, \
        f"the starting weights {weights!r} could not be chosen (is the weights file in the library?)"

    reveal(page, "model_epochs")  # it may live under "Advanced"
    epochs = widget(page, "model_epochs").locator("input")
    if epochs.input_value() != "2":
        epochs.fill("2")
        epochs.press("Enter")
        wait_rerun(page, STEP_TIMEOUT_MS)
    assert epochs.input_value() == "2"
    # 30 training pictures in batches of 32 would be one learning step per epoch: take 8.
    choose_on_slider(page, "model_batch", "8", STEP_TIMEOUT_MS)
    if not material["real"]:
        choose_on_slider(page, "model_size", "96", STEP_TIMEOUT_MS)  # from scratch: keep it quick
    fail_on_error(page)
    assert "2 epochs" in main_text(page), "the 'What will happen' plan does not say 2 epochs"
    settle(page)
    shots(page, "model")


def curve_points(page) -> list[list[dict]]:
    """Per learning-curve chart on the page: its traces' names and x values (Plotly's own data)."""
    return page.evaluate(
        """() => [...document.querySelectorAll("[class*='st-key-train_curves'] .js-plotly-plot")].map(
              (plot) => (plot.data || []).map((trace) => ({name: trace.name, x: [...(trace.x || [])]})))"""
    )


def train(page, shots) -> str:
    go_to(page, "Train", timeout_ms=STEP_TIMEOUT_MS)
    text = main_text(page)
    assert "MobileNetV2" in text and "0.35" in text, "the Train page does not show the chosen network"
    widget(page, "train_start").get_by_role("button").click()
    finished = page.get_by_text("Training finished", exact=False)
    deadline = time.monotonic() + TRAIN_TIMEOUT_S
    live_checked = False
    while not finished.count():
        fail_on_error(page)
        if not live_checked and page.get_by_test_id("stProgress").count() and curve_points(page):
            # while it learns: Start/Stop, the progress and both curves on the first screen
            live = {**TRAIN_FIRST_SCREEN, "progress": "[data-testid='stProgress']"}
            assert outside_viewport(page, live) == {}, outside_viewport(page, live)
            live_checked = True
        if time.monotonic() > deadline:
            progress = page.get_by_test_id("stProgress")
            shown = progress.first.inner_text() if progress.count() else "no progress bar"
            raise AssertionError(f"training did not finish in {TRAIN_TIMEOUT_S} s (the page shows: {shown!r})")
        page.wait_for_timeout(500)
    wait_idle(page, STEP_TIMEOUT_MS)
    fail_on_error(page)
    print(f"  (the live view's first screen was {'checked' if live_checked else 'too quick to check'})")

    charts = curve_points(page)
    assert len(charts) == 2, f"expected the accuracy and loss charts, found {len(charts)}"
    for traces in charts:
        assert len(traces) == 2, traces  # training and validation pictures
        for trace in traces:
            assert trace["x"] == [1, 2], f"{trace['name']}: points at epochs {trace['x']}, expected [1, 2]"
    # ...and drawn: one marker per epoch in each line.
    for key in ("train_curves_accuracy", "train_curves_loss"):
        for trace in widget(page, key).locator(".scatterlayer .trace").all():
            assert trace.locator("path.point").count() == 2
    best = page.locator(".tl-card", has_text="Best validation accuracy").inner_text()
    accuracy = re.search(r"\d+%", best)
    assert accuracy, best
    assert "Fast path" not in main_text(page)  # what happened is said in words
    settle(page)
    shots(page, "train")
    for size in PROJECTOR_SIZES:  # the finished run too: the buttons and both curves on one screen
        page.set_viewport_size(size)
        settle(page)
        assert outside_viewport(page, TRAIN_FIRST_SCREEN) == {}, (size, outside_viewport(page, TRAIN_FIRST_SCREEN))
        assert words_broken_in_cards(page) == [], size
    page.set_viewport_size(VIEWPORT)
    return accuracy.group(0)


def try_a_picture(page, material, shots) -> None:
    go_to(page, "Test", timeout_ms=STEP_TIMEOUT_MS)
    uploader = widget(page, "test_files")
    uploader.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(material["picture"]))
    answer = page.locator(".tl-card", has_text="The model says")
    answer.wait_for(timeout=STEP_TIMEOUT_MS)
    wait_idle(page, STEP_TIMEOUT_MS)
    fail_on_error(page)
    said = answer.inner_text()
    classes = "|".join(map(re.escape, material["classes"]))
    assert re.search(rf"\b({classes})\b", said), f"no class name in the answer: {said!r}"
    assert re.search(r"\b\d{1,3}% sure", said), f"no percentage in the answer: {said!r}"
    if widget(page, "test_gradcam").count():  # where the model looked: a better picture for the README
        widget(page, "test_gradcam").locator("label").first.click()
        wait_rerun(page, STEP_TIMEOUT_MS)
        answer.wait_for(timeout=STEP_TIMEOUT_MS)
        fail_on_error(page)
    settle(page)
    shots(page, "test")


def runs(page, accuracy: str, shots) -> None:
    page.reload()
    wait_idle(page, STEP_TIMEOUT_MS)
    go_to(page, "Runs", timeout_ms=STEP_TIMEOUT_MS)
    fail_on_error(page)
    page.get_by_test_id("stDataFrame").wait_for(timeout=STEP_TIMEOUT_MS)  # the table of runs
    widget(page, "runs_pick").wait_for()
    # The table is drawn on a canvas; the run's one-line label is in the picker below it.
    label = re.compile(rf"MobileNetV2 \(0\.35\).*\b{re.escape(accuracy)} right")
    expect(widget(page, "runs_pick").get_by_role("combobox")).to_have_value(label, timeout=STEP_TIMEOUT_MS)
    settle(page)
    shots(page, "runs")


def evaluate_and_share(page, shots) -> None:
    """The run's own validation pictures on Evaluate, then the Share page's Export tab."""
    go_to(page, "Evaluate", timeout_ms=STEP_TIMEOUT_MS)
    page.locator(".tl-card", has_text="Right answers").wait_for(timeout=STEP_TIMEOUT_MS)
    wait_idle(page, STEP_TIMEOUT_MS)
    fail_on_error(page)
    assert widget(page, "eval_matrix").locator(".main-svg").count(), "no confusion matrix"
    assert words_broken_in_cards(page) == []
    settle(page)
    shots(page, "evaluate")
    go_to(page, "Share", timeout_ms=STEP_TIMEOUT_MS)
    widget(page, "share_make_bundle").wait_for(timeout=STEP_TIMEOUT_MS)
    fail_on_error(page)
    settle(page)
    shots(page, "share")


# -- every page by its own URL, and the first screen on a projector ---------------------------------
@pytest.fixture  # a server of its own for each test, and for each rerun (conftest.py)
def studio_url(tmp_path_factory):
    """One server for the tests that only look (no training): a fresh workspace and cache."""
    base = tmp_path_factory.mktemp("studio-e2e")
    env = {"TLCORE_WORKSPACE": str(base / "workspace"), "TLCORE_CACHE_DIR": str(base / "cache"),
           "KERAS_HOME": str(base / "keras"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    with app_server(env) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def test_every_page_opens_by_its_own_url(studio_url, browser):
    """A bookmark or a refresh on /data, /train...: our navigation (titles, icons), never
    Streamlit's older automatic one (file names), and the sidebar's picture-set line."""
    from studio.navigation import PAGES

    titles = [entry.title for entry in PAGES]
    page = browser.new_page(viewport=VIEWPORT)
    try:
        for entry in PAGES:
            page.goto(f"{studio_url}/{entry.name}")  # a new session, as a bookmark opens
            wait_idle(page, STEP_TIMEOUT_MS)
            fail_on_error(page)
            nav = page.get_by_test_id("stSidebarNav")
            links = [link.inner_text().strip() for link in nav.get_by_role("link").all()]
            assert [re.sub(r"^\S+\s+", "", t) if t not in titles else t for t in links] == titles, (entry.name, links)
            assert nav.locator("[data-testid='stIconMaterial']").count() == len(titles), entry.name
            assert "app" not in links, links
            status = page.locator(".st-key-sidebar_status").inner_text()
            assert "Pictures:" in status, (entry.name, status)
            assert page.get_by_role("heading", level=1).count() >= 1, entry.name
    finally:
        page.close()


PHONE = {"width": 390, "height": 844}


def test_a_phone_reaches_every_page_and_sees_whole_tab_labels(studio_url, browser):
    """At 390×844 Streamlit folds its sidebar behind ">>": the row of links above each page reaches
    every page, and the Data page's Camera tab is whole (it showed "Ca›"). At 1280×720 the row is
    hidden (the sidebar lists the pages) and takes no room."""
    from studio.navigation import PAGES

    titles = [entry.title for entry in PAGES]
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page.goto(f"{studio_url}/data")
        wait_idle(page, STEP_TIMEOUT_MS)
        settle(page)
        fail_on_error(page)
        links = widget(page, "page_bar").get_by_test_id("stPageLink-NavLink")
        assert [re.sub(r"^\S+\s+", "", text.strip()) for text in links.all_inner_texts()] == titles
        for link in links.all():
            box = link.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], link.inner_text()
        camera = page.get_by_role("tab", name=re.compile("Camera"))
        box = camera.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
        assert camera.evaluate("(tab) => tab.scrollWidth <= tab.clientWidth"), "the Camera tab's label is cut"
        links.filter(has_text="Train").first.click()
        page.wait_for_url(re.compile(r"/train(\?.*)?$"), timeout=STEP_TIMEOUT_MS)
        wait_rerun(page, STEP_TIMEOUT_MS)
        page.get_by_role("heading", name="Train", level=1).wait_for()
        page.set_viewport_size({"width": 1280, "height": 720})
        settle(page)
        assert not widget(page, "page_bar").is_visible()
        assert outside_viewport(page, TRAIN_FIRST_SCREEN) == {}
    finally:
        page.close()


def test_train_page_first_screen_on_a_projector(studio_url, browser, tmp_path):
    """At 1280×720 and 1400×1000: Start, Stop and both curves without scrolling; chart text at
    least 16 px; no card breaks a word (a long picture-set name on the Data page)."""
    rng = random.Random(1)
    archive = tmp_path / "hymenoptera_ants_bees_and_other_insects.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in ("circle", "square"):
            for i in range(4):
                bundle.writestr(f"{name}/{name}_{i}.jpg", drawn_picture(name, rng))
    for size in PROJECTOR_SIZES:
        page = browser.new_page(viewport=size)
        try:
            page.goto(f"{studio_url}/data")
            wait_idle(page, STEP_TIMEOUT_MS)
            widget(page, "data_zip").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(archive))
            page.get_by_text("Read 8 pictures in 2 classes").wait_for(timeout=STEP_TIMEOUT_MS)
            settle(page)
            assert words_broken_in_cards(page) == [], size
            go_to(page, "Train", timeout_ms=STEP_TIMEOUT_MS)
            settle(page)
            fail_on_error(page)
            assert outside_viewport(page, TRAIN_FIRST_SCREEN) == {}, (size, outside_viewport(page, TRAIN_FIRST_SCREEN))
            assert smallest_chart_text(page) >= MIN_CHART_TEXT_PX, size
            page.screenshot(path=str(tmp_path / f"train-{size['width']}x{size['height']}.png"))
        finally:
            page.close()


# -- the journey ---------------------------------------------------------------------------------
def test_studio_journey(tmp_path, material, shots, browser):
    env = {
        "TLCORE_WORKSPACE": str(tmp_path / "tlcore-workspace"),
        "TLCORE_CACHE_DIR": str(material["cache"]),
        "KERAS_HOME": str(tmp_path / "keras"),  # no ImageNet file ever looks cached; nothing downloads
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    started = time.monotonic()
    with app_server(env) as url:
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(30_000)
        step = "start"
        try:
            for step in ("learn", "data", "model", "train", "test", "runs", "evaluate"):
                if step == "learn":
                    learn(page, url, shots)
                elif step == "data":
                    data(page, material, shots)
                elif step == "model":
                    model(page, material, shots)
                elif step == "train":
                    accuracy = train(page, shots)
                elif step == "test":
                    try_a_picture(page, material, shots)
                elif step == "runs":
                    runs(page, accuracy, shots)
                else:
                    evaluate_and_share(page, shots)
                print(f"  {step:<6} done at {time.monotonic() - started:5.1f} s")
        except BaseException:
            failure = tmp_path / f"failure-{step}.png"
            try:
                page.screenshot(path=str(failure))
            except Exception:
                pass
            print(f"\nFailed at the {step!r} step; screenshot {failure}\nServer log ({url.log}):\n{log_tail(url)}")
            raise
        finally:
            page.close()
    from tlcore.runs import list_runs

    runs_saved = list_runs(env["TLCORE_WORKSPACE"])  # beside them: the teacher's space and the queue's journal
    assert len(runs_saved) == 1, runs_saved
    print(f"  screenshots in {', '.join(map(str, shots.folders))}")
