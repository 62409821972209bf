"""Make the README's screenshots, all of them, from real flower photos and real ImageNet weights:

    python docs/screenshots/make.py            # 15 minutes on 2 busy cores (the lesson: 8)

A teacher's lesson in the real app (`streamlit run app.py`) in real Chromium at 1280×720 (the
projector): 3 flowers × 100 photos from ../shared/data/flowers5, MobileNetV2 (0.35) from the weights
file in ../shared/weights, the head first, then the top blocks fine-tuned; then "How many pictures are
enough?", the maps of Understand, and Share. Then the two e2e tests that film the camera pages and the
teacher's page of a classroom, with TLCORE_UPDATE_SCREENSHOTS=1 (camera-*.png, teacher.png).

Everything runs in a temporary folder; a screenshot that would show that folder's path stops the script.
Needs ../shared (see ../shared/README.md) and Chromium; nothing reaches the network.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from appserver import app_server, choose_on_slider, go_to, launch_chromium, log_tail, reveal, settle, \
    wait_idle, wait_rerun, widget  # noqa: E402

HERE = Path(__file__).resolve().parent
SHARED = ROOT.parent / "shared"
FLOWERS = SHARED / "data" / "flowers5"
WEIGHTS = SHARED / "weights" / "mobilenet_v2_0.35_224_no_top.weights.h5"
CLASSES = ("daisy", "rose", "sunflower")
PER_CLASS = 100  # 20% held back: 60 validation pictures, an interval of about ±8 points
SIZE = "128"  # the photos' own size
HEAD_EPOCHS, LEARNING_BLOCKS, FINE_TUNE_EPOCHS = 8, 2, 3
EXPERIMENT_EPOCHS, EXPERIMENT_REPEATS = 8, 3
PROJECTOR = {"width": 1280, "height": 720}
STEP_MS = 120_000  # one page's script run on two busy cores
TRAIN_MS = 900_000  # a training, or the whole experiment, on two cores that others share too
TESTS_WITH_SCREENSHOTS = (  # they write docs/screenshots/ with TLCORE_UPDATE_SCREENSHOTS=1
    "tests/test_e2e_camera.py::test_teacher_records_trains_and_sees_live_answers",  # camera-record, camera-live
    "tests/test_e2e_classroom.py::test_a_class_trains_through_one_line_and_the_teacher_sees_it",  # teacher
)


# -- material and checks ------------------------------------------------------------------------------
def flowers_zip(folder: Path) -> Path:
    """What the teacher uploads: PER_CLASS photos of each flower, one folder per class."""
    archive = folder / "flowers.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in CLASSES:
            for photo in sorted((FLOWERS / name).glob("*.jpg"))[:PER_CLASS]:
                bundle.write(photo, f"flowers/{name}/{photo.name}")
    return archive


def unseen_photo() -> Path:
    return sorted((FLOWERS / "daisy").glob("*.jpg"))[PER_CLASS + 3]


_ON_SCREEN_JS = """(needle) => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent.includes(needle)) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        for (const r of range.getClientRects())
            if (r.bottom > 0 && r.top < innerHeight && r.width > 0) return node.textContent;
    }
    return null;
}"""


def shoot(page, name: str, scratch: Path) -> None:
    """The projector's screen now, to docs/screenshots/<name>.png: never with an error or the scratch path."""
    for test_id in ("stException", "stAlertContentError"):
        if page.get_by_test_id(test_id).count():
            raise SystemExit(f"{name}: the app shows an error: {page.get_by_test_id(test_id).first.inner_text()!r}")
    settle(page, STEP_MS)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.mouse.move(5, 5)  # no hover label in the picture
    page.wait_for_timeout(300)
    shown = page.evaluate(_ON_SCREEN_JS, str(scratch))
    if shown:
        raise SystemExit(f"{name}: a temporary path is on the screen: {shown!r}")
    page.screenshot(path=str(HERE / f"{name}.png"))
    print(f"  {name}.png")


def scroll_to(page, locator, block: str = "start", then_by: int = 0) -> None:
    """Scroll ``locator`` to the top (or ``block="end"``: the bottom) of the screen, then ``then_by`` pixels on."""
    locator.first.evaluate(f"(element) => element.scrollIntoView({{block: '{block}'}})")
    if then_by:
        page.get_by_test_id("stMain").evaluate(f"(main) => main.scrollBy(0, {then_by})")
    page.wait_for_timeout(300)


def set_number(page, key: str, value: int) -> None:
    reveal(page, key)
    box = widget(page, key).locator("input")
    if box.input_value() != str(value):
        box.fill(str(value))
        box.press("Enter")
        wait_rerun(page, STEP_MS)


def choose(page, key: str, option: str) -> None:
    """Pick ``option`` in the select box ``key`` (again, if a rerun closed the list meanwhile)."""
    box = widget(page, key).get_by_role("combobox")
    for _ in range(3):
        box.click()
        try:
            page.get_by_role("option", name=option).click(timeout=5_000)
        except Exception:  # the page redrew while the list was open
            wait_idle(page, STEP_MS)
            continue
        wait_rerun(page, STEP_MS)
        if box.input_value() == option:
            return
    raise SystemExit(f"could not choose {option!r} in {key}")


def heading(page, text: str):
    return page.get_by_test_id("stMain").get_by_role("heading", name=text).first


# -- the lesson ---------------------------------------------------------------------------------------
def learn_and_data(page, url, scratch: Path) -> None:
    page.goto(url)
    wait_idle(page, STEP_MS)
    shoot(page, "learn", scratch)
    go_to(page, "Data", timeout_ms=STEP_MS)
    widget(page, "data_zip").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(flowers_zip(scratch)))
    page.get_by_text(re.compile(rf"Read \d+ pictures in {len(CLASSES)} classes")).wait_for(timeout=STEP_MS)  # duplicates skipped
    wait_idle(page, STEP_MS)
    settle(page, STEP_MS)
    scroll_to(page, heading(page, "Classes"))  # the counts and each class's photos
    shoot(page, "data", scratch)


def model(page, scratch: Path) -> None:
    """MobileNetV2 0.35 from the weights file; the head first, then the top blocks fine-tune."""
    go_to(page, "Model", timeout_ms=STEP_MS)
    widget(page, "model_backbone").get_by_text("MobileNetV2 (0.35", exact=False).click()
    wait_rerun(page, STEP_MS)
    widget(page, "model_weights").get_by_text("Weights file added", exact=False).click()
    wait_rerun(page, STEP_MS)
    choose_on_slider(page, "model_size", SIZE, STEP_MS)
    choose_on_slider(page, "model_depth", str(LEARNING_BLOCKS), STEP_MS)
    set_number(page, "model_epochs", HEAD_EPOCHS)
    set_number(page, "model_ft_epochs", FINE_TUNE_EPOCHS)
    settle(page, STEP_MS)
    scroll_to(page, widget(page, "model_depth"), then_by=12)  # the slider, the blocks and their key: 714 px
    shoot(page, "model", scratch)


def train(page, scratch: Path) -> str:
    go_to(page, "Train", timeout_ms=STEP_MS)
    widget(page, "train_start").get_by_role("button").click()
    page.get_by_text("Training finished", exact=False).first.wait_for(timeout=TRAIN_MS)
    wait_idle(page, STEP_MS)
    settle(page, STEP_MS)
    best = page.locator(".tl-card", has_text="Best validation accuracy").inner_text()
    shoot(page, "train", scratch)
    return " ".join(best.split())


def test_and_evaluate(page, scratch: Path) -> None:
    go_to(page, "Test", timeout_ms=STEP_MS)
    widget(page, "test_files").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(unseen_photo()))
    answer = page.locator(".tl-card", has_text="The model says")
    answer.wait_for(timeout=STEP_MS)
    wait_idle(page, STEP_MS)
    if widget(page, "test_gradcam").count():  # where the model looked
        widget(page, "test_gradcam").locator("label").first.click()
        wait_rerun(page, STEP_MS)
        answer.wait_for(timeout=STEP_MS)
    settle(page, STEP_MS)
    scroll_to(page, widget(page, "test_tabs"))
    shoot(page, "test", scratch)
    go_to(page, "Evaluate", timeout_ms=STEP_MS)
    page.locator(".tl-card", has_text="Right answers").wait_for(timeout=STEP_MS)
    wait_idle(page, STEP_MS)
    settle(page, STEP_MS)
    scroll_to(page, heading(page, "How often it is right"))
    shoot(page, "evaluate", scratch)


def runs(page, scratch: Path) -> None:
    go_to(page, "Runs", timeout_ms=STEP_MS)
    page.get_by_test_id("stDataFrame").first.wait_for(timeout=STEP_MS)
    widget(page, "runs_pick").wait_for()
    scroll_to(page, page.get_by_test_id("stDataFrame"))  # the table, not the folder above it
    shoot(page, "runs", scratch)


def experiment(page, scratch: Path) -> str:
    """How many pictures are enough?, each choice trained EXPERIMENT_REPEATS times."""
    go_to(page, "Experiments", timeout_ms=STEP_MS)
    choose(page, "experiments_size", f"{SIZE}×{SIZE}")
    set_number(page, "experiments_epochs", EXPERIMENT_EPOCHS)
    set_number(page, "experiments_repeats", EXPERIMENT_REPEATS)
    widget(page, "experiments_preset_how_many_pictures").get_by_role("button").click()
    widget(page, "experiments_stop").wait_for(timeout=STEP_MS)
    widget(page, "experiments_answer").locator(".main-svg").first.wait_for(timeout=TRAIN_MS)
    wait_idle(page, STEP_MS)
    settle(page, STEP_MS)
    answer = page.get_by_role("heading", level=3).filter(has_text="right").first
    scroll_to(page, answer)
    shoot(page, "experiments", scratch)
    return answer.inner_text()


def understand_and_share(page, scratch: Path) -> None:
    go_to(page, "Understand", timeout_ms=STEP_MS)
    choose(page, "understand_size", f"{SIZE}×{SIZE}")  # the experiment's features are in the cache
    for key in ("understand_map_pretrained", "understand_map_random"):
        widget(page, key).locator(".main-svg").first.wait_for(timeout=STEP_MS)
    wait_idle(page, STEP_MS)
    settle(page, STEP_MS)
    page.get_by_role("heading", level=1).evaluate("(h) => h.scrollIntoView({block: 'end'})")
    shoot(page, "understand", scratch)
    go_to(page, "Share", timeout_ms=STEP_MS)
    widget(page, "share_make_bundle").wait_for(timeout=STEP_MS)
    shoot(page, "share", scratch)


def lesson(scratch: Path) -> dict[str, str]:
    from playwright.sync_api import sync_playwright

    (scratch / "cache" / "weights").mkdir(parents=True)  # what a teacher who added the weights file once has
    shutil.copyfile(WEIGHTS, scratch / "cache" / "weights" / "mobilenet_v2_035.weights.h5")
    env = {"TLCORE_WORKSPACE": str(scratch / "workspace"), "TLCORE_CACHE_DIR": str(scratch / "cache"),
           "KERAS_HOME": str(scratch / "keras"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    shown = {}
    with app_server(env) as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport=PROJECTOR)
        step = "learn"
        try:
            for step, run in (("learn", lambda: learn_and_data(page, url, scratch)),
                              ("model", lambda: model(page, scratch)),
                              ("train", lambda: shown.__setitem__("train", train(page, scratch))),
                              ("test", lambda: test_and_evaluate(page, scratch)),
                              ("experiments", lambda: shown.__setitem__("experiments", experiment(page, scratch))),
                              ("runs", lambda: runs(page, scratch)),  # the lesson's run and the experiment's
                              ("understand", lambda: understand_and_share(page, scratch))):
                run()
        except BaseException:
            page.screenshot(path=str(scratch / "failure.png"))
            shutil.copyfile(scratch / "failure.png", Path(tempfile.gettempdir()) / "screenshots-failure.png")
            print(f"Failed at {step}; what the page showed: {tempfile.gettempdir()}/screenshots-failure.png\n"
                  f"Server log:\n{log_tail(url)}")
            raise
        finally:
            browser.close()
    return shown


def main() -> None:
    if not (WEIGHTS.is_file() and FLOWERS.is_dir()):
        raise SystemExit(f"needs {WEIGHTS} and {FLOWERS} (see ../shared/README.md)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tlcore-screenshots-") as scratch:
        shown = lesson(Path(scratch))
    for what, words in shown.items():
        print(f"  {what}: {words}")
    print(f"  the lesson took {time.monotonic() - started:.0f} s")
    only = sys.argv[1:] == ["--lesson-only"]
    for test in () if only else TESTS_WITH_SCREENSHOTS:
        subprocess.run([sys.executable, "-m", "pytest", test, "-q", "-n", "0", "-p", "no:cacheprovider"],
                       cwd=ROOT, env={**os.environ, "TLCORE_UPDATE_SCREENSHOTS": "1"}, check=True)
    print(f"All screenshots in {HERE.relative_to(ROOT)}/ in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
