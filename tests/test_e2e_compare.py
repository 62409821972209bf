"""Compare and understand in real Chromium against the real server, as a teacher on a projector:
upload 36 flower photos, run "How many pictures are enough?" and read its answer off one chart (error bars,
chart text at least 16 px), then open Understand and see the map of the pictures beside the
map from random weights, and click a dot to open its picture.

Screenshots at 1280×720 go to the test's tmp_path (the README's pictures, from a bigger lesson,
are made by docs/screenshots/make.py).

    python -m pytest tests/test_e2e_compare.py -q -s

Nothing reaches the network: the MobileNetV2 0.35 weights file from ../shared is in the weights
library, as a teacher who added it once on the Model page has it; without ../shared it skips.
"""

from __future__ import annotations

import shutil
import time
import zipfile
from pathlib import Path

import pytest

from appserver import app_server, chromium_missing, go_to, launch_chromium, log_tail, settle, wait_idle, \
    wait_rerun, widget

_MISSING = chromium_missing()
if _MISSING:
    pytest.skip(_MISSING, allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from conftest import FLOWERS, SHARED_WEIGHTS  # noqa: E402  (the one place ../shared is named)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
PROJECTOR = {"width": 1280, "height": 720}
STEP_TIMEOUT_MS = 90_000
EXPERIMENT_TIMEOUT_MS = 150_000
MIN_CHART_TEXT_PX = 16
CLASSES = ("daisy", "rose", "sunflower")
PER_CLASS = 12
REPEATS = 2  # keeps the test short


def shoot(page, name: str, tmp_path: Path) -> None:
    """What the projector shows now, to tmp_path."""
    page.mouse.move(5, 5)  # no hover label in the picture
    page.screenshot(path=str(tmp_path / f"{name}.png"))


def fail_on_error(page) -> None:
    for test_id in ("stException", "stAlertContentError"):
        boxes = page.get_by_test_id(test_id)
        if boxes.count():
            raise AssertionError(f"the app shows an error: {boxes.first.inner_text()!r}")


def chart_data(page, key: str) -> list[dict]:
    """The traces Plotly drew in the chart made with ``key``: name, x, and error bar sizes."""
    return page.evaluate(
        """(key) => [...document.querySelector(`.st-key-${key} .js-plotly-plot`).data].map((trace) => ({
              name: trace.name, x: [...(trace.x || [])], errors: [...((trace.error_y || {}).array || [])]}))""",
        key)


def smallest_text(page, key: str) -> float:
    return page.evaluate(
        """(key) => Math.min(...[...document.querySelectorAll(`.st-key-${key} svg text`)]
              .filter((t) => t.textContent.trim()).map((t) => parseFloat(getComputedStyle(t).fontSize)))""", key)


def choose(page, key: str, option: str) -> None:
    """Pick ``option`` in the select box ``key`` (again, if a rerun closed the list meanwhile)."""
    box = widget(page, key).get_by_role("combobox")
    for _ in range(3):
        box.click()
        try:
            page.get_by_role("option", name=option).click(timeout=5_000)
        except Exception:  # the page redrew while the list was open: it closed
            wait_idle(page, STEP_TIMEOUT_MS)
            continue
        wait_rerun(page, STEP_TIMEOUT_MS)
        if box.input_value() == option:
            return
    expect(box).to_have_value(option)


def set_number(page, key: str, value: int) -> None:
    box = widget(page, key).locator("input")
    box.fill(str(value))
    box.press("Enter")
    wait_rerun(page, STEP_TIMEOUT_MS)


def flowers_zip(folder: Path) -> Path:
    """What a teacher uploads: 12 photos of each of 3 flowers, one folder per class."""
    archive = folder / "flowers.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in CLASSES:
            for photo in sorted((FLOWERS / name).glob("*.jpg"))[:PER_CLASS]:
                bundle.write(photo, f"flowers/{name}/{photo.name}")
    return archive


def upload(page, url, archive: Path) -> None:
    page.goto(f"{url}/data")
    wait_idle(page, STEP_TIMEOUT_MS)
    widget(page, "data_zip").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(archive))
    page.get_by_text(f"Read {PER_CLASS * len(CLASSES)} pictures in {len(CLASSES)} classes").wait_for(
        timeout=STEP_TIMEOUT_MS)
    wait_idle(page, STEP_TIMEOUT_MS)
    fail_on_error(page)


def run_how_many_pictures(page, tmp_path) -> None:
    go_to(page, "Experiments", timeout_ms=STEP_TIMEOUT_MS)
    fail_on_error(page)
    assert "the weights file you added for MobileNetV2 (0.35" in page.get_by_test_id("stMain").inner_text()
    choose(page, "experiments_size", "128×128")  # the photos' own size
    set_number(page, "experiments_epochs", 5)
    set_number(page, "experiments_repeats", REPEATS)
    # 12 a class, 10 of them to learn from: 2, 5 and all 10 pictures per class, each trained REPEATS times.
    planned = f"{3 * REPEATS} trainings (3 choices × {REPEATS} repeats)"
    assert planned in widget(page, "experiments_card_how_many_pictures").inner_text()
    # the cards count only what will run: the network whose weights are here, from ImageNet and from scratch
    assert planned in widget(page, "experiments_card_transfer_vs_scratch").inner_text()
    networks = widget(page, "experiments_card_which_network").inner_text()
    assert f"{REPEATS} trainings (1 choice × {REPEATS} repeats)" in networks and "Left out" in networks
    clicked = time.monotonic()
    widget(page, "experiments_preset_how_many_pictures").get_by_role("button").click()
    widget(page, "experiments_stop").wait_for(timeout=STEP_TIMEOUT_MS)  # it runs: Stop the rest is offered
    widget(page, "experiments_answer").locator(".main-svg").first.wait_for(timeout=EXPERIMENT_TIMEOUT_MS)
    wait_idle(page, STEP_TIMEOUT_MS)
    print(f"  the experiment took {time.monotonic() - clicked:.0f} s in the app")
    fail_on_error(page)
    (curve,) = chart_data(page, "experiments_answer")
    assert len(curve["x"]) == 3 and len(curve["errors"]) == 3, curve
    assert smallest_text(page, "experiments_answer") >= MIN_CHART_TEXT_PX
    answer = page.get_by_role("heading", level=3).filter(has_text="right").first.inner_text()
    assert "pictures per class" in answer or "all the pictures" in answer, answer  # the answer in one sentence
    settle(page)
    page.get_by_role("heading", level=3).filter(has_text="right").first.evaluate(
        "(heading) => heading.scrollIntoView({block: 'start'})")  # the answer and its chart fill the projector
    page.wait_for_timeout(300)
    shoot(page, "experiments", tmp_path)


def see_the_maps(page, tmp_path) -> None:
    go_to(page, "Understand", timeout_ms=STEP_TIMEOUT_MS)
    # The experiment's size: the pretrained map's features are already in the cache (shared with training).
    choose(page, "understand_size", "128×128")
    for key in ("understand_map_pretrained", "understand_map_random"):
        widget(page, key).locator(".main-svg").first.wait_for(timeout=STEP_TIMEOUT_MS)
    wait_idle(page, STEP_TIMEOUT_MS)
    fail_on_error(page)
    traces = chart_data(page, "understand_map_pretrained")
    assert [t["name"] for t in traces] == sorted(CLASSES)
    assert sum(len(t["x"]) for t in traces) == PER_CLASS * len(CLASSES)  # every picture is a dot
    lead = page.locator(".tl-lead", has_text="closer to their own class").inner_text()
    assert "with random weights" in lead, lead
    assert smallest_text(page, "understand_map_pretrained") >= MIN_CHART_TEXT_PX
    settle(page)
    page.get_by_role("heading", level=1).evaluate("(heading) => heading.scrollIntoView({block: 'end'})")
    page.wait_for_timeout(300)
    shoot(page, "understand", tmp_path)
    # a click on a dot opens its picture below the maps
    dot = widget(page, "understand_map_pretrained").locator(".scatterlayer .point").first.bounding_box()
    page.mouse.click(dot["x"] + dot["width"] / 2, dot["y"] + dot["height"] / 2)
    widget(page, "understand_close_picked").wait_for(timeout=STEP_TIMEOUT_MS)
    assert page.get_by_test_id("stMain").get_by_text("· class").count() >= 1


def test_a_preset_answers_on_one_chart_and_the_maps_show_what_the_network_sees(tmp_path):
    if not SHARED_WEIGHTS.is_file() or not FLOWERS.is_dir():
        pytest.skip("needs ../shared: the real MobileNetV2 0.35 weights file and flower photos "
                    "(beside the project in CI)")
    cache = tmp_path / "cache"
    (cache / "weights").mkdir(parents=True)
    shutil.copyfile(SHARED_WEIGHTS, cache / "weights" / "mobilenet_v2_035.weights.h5")
    env = {"TLCORE_WORKSPACE": str(tmp_path / "workspace"), "TLCORE_CACHE_DIR": str(cache),
           "KERAS_HOME": str(tmp_path / "keras"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.monotonic()
    with app_server(env) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport=PROJECTOR)
        step = "data"
        try:
            upload(page, url, flowers_zip(tmp_path))
            step = "experiments"
            run_how_many_pictures(page, tmp_path)
            print(f"  experiment answered at {time.monotonic() - started:.0f} s")
            step = "understand"
            see_the_maps(page, tmp_path)
            print(f"  maps seen at {time.monotonic() - started:.0f} s")
        except BaseException:
            page.screenshot(path=str(tmp_path / f"failure-{step}.png"))
            print(f"\nFailed at {step}; screenshot in {tmp_path}\nServer log:\n{log_tail(url)}")
            raise
        finally:
            browser.close()
