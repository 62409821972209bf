"""TensorFlow.js in a real browser. (1) A run trained on the real flowers, exported to
TensorFlow.js, loads in Chromium with the TensorFlow.js we ship (tf.loadLayersModel from the
files, and from memory as a one-file page would), every request outside the test's own
server blocked, and gives Run.predict's probabilities when fed as Teachable Machine's library
feeds (x / 127 - 1). (2) The Share page, in the real app: the TFLite 32-bit / 8-bit table,
the TensorFlow.js download, and Teachable Machine's real TF.js export dropped as its three
files, whose answer the Test page then shows.

Screenshots at 1280×720 go to the test's tmp_path (share-tflite.png, share-import-tfjs.png,
test-tfjs.png), to look at. Needs Chromium, playwright and ../shared; skipped otherwise. About
two minutes.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import shutil
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from appserver import app_server, chromium_missing, launch_chromium, settle, wait_idle, wait_rerun

pytestmark = pytest.mark.e2e
SCREEN = {"width": 1280, "height": 720}
PER_CLASS = 30  # flowers per class for the trained run: small, real


@pytest.fixture(scope="module")
def browser():
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def flower_run(flowers, shared_weights, tmp_path_factory):
    """MobileNetV2 0.35 from the real ImageNet weights, trained at 96 px on 150 real flowers,
    saved in a workspace the app below opens."""
    from tlcore.data import ImageDataset
    from tlcore.runs import claim_run_folder, save_run
    from tlcore.settings import TrainingSettings
    from tlcore.training import Trainer

    root = tmp_path_factory.mktemp("flowers")
    for folder in sorted(flowers.iterdir()):
        (root / "pictures" / folder.name).mkdir(parents=True)
        for picture in sorted(folder.glob("*.jpg"))[:PER_CLASS]:
            shutil.copyfile(picture, root / "pictures" / folder.name / picture.name)
    data = ImageDataset.from_folder(root / "pictures", image_size=96)
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=str(shared_weights), input_size=96, epochs=4,
                                batch_size=16, validation_fraction=0.25)
    trainer = Trainer(settings, cache_dir=root / "cache").fit(data)
    return save_run(trainer, data, claim_run_folder(root / "workspace", "mobilenet_v2_035"), dataset_name="Flowers")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request lines in the test's output
        pass


@pytest.fixture()
def served(tmp_path):
    """A local web server for a folder: (folder, base URL). Nothing else is reachable."""
    folder = tmp_path / "site"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


PREDICT = """async ([url, memory, shape, pixels]) => {
    await tf.setBackend('cpu');
    const fed = tf.tensor(pixels, shape, 'float32').div(127).sub(1);  // as Teachable Machine's library does
    const fromFiles = await tf.loadLayersModel(url);
    const bytes = Uint8Array.from(atob(memory.weights), (c) => c.charCodeAt(0));
    const fromMemory = await tf.loadLayersModel(tf.io.fromMemory(
        memory.model.modelTopology, memory.model.weightsManifest[0].weights, bytes.buffer));
    return {files: await fromFiles.predict(fed).array(), memory: await fromMemory.predict(fed).array(),
            version: tf.version.tfjs, backend: tf.getBackend()};
}"""


def test_our_tfjs_export_runs_in_chromium_with_the_bundled_runtime(browser, flower_run, flowers, served):
    from tlcore.data import load_picture
    from tlcore.export.tfjs import export_tfjs, runtime_script, tfjs_model

    site, base = served
    export_tfjs(flower_run, site / "model")
    (site / "tf.min.js").write_text(runtime_script(), encoding="utf-8")
    (site / "index.html").write_text("<!doctype html><meta charset='utf-8'><script src='tf.min.js'></script>")
    model_json, weights = tfjs_model(flower_run)
    pictures = [sorted((flowers / name).glob("*.jpg"))[-1 - i] for name in flower_run.class_names for i in range(2)]
    pixels = np.stack([load_picture(p, flower_run.input_size) for p in pictures])

    page = browser.new_page()
    blocked: list[str] = []
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
               else (blocked.append(route.request.url), route.abort()))
    page.goto(base + "index.html")
    got = page.evaluate(PREDICT, [base + "model/model.json",
                                  {"model": model_json, "weights": base64.b64encode(weights).decode()},
                                  list(pixels.shape), pixels.astype("float32").ravel().tolist()])
    page.close()

    assert (got["version"], got["backend"], blocked) == ("4.22.0", "cpu", [])
    expected = [[p.probabilities[name] for name in flower_run.class_names] for p in flower_run.predict(pictures)]
    np.testing.assert_allclose(got["files"], expected, atol=1e-3)
    np.testing.assert_allclose(got["memory"], expected, atol=1e-3)
    assert len({int(np.argmax(row)) for row in expected}) > 1  # a model that tells flowers apart, not a constant


# -- the Share page in the real app -------------------------------------------------------------
def keyed(page, key: str):
    return page.locator(f".st-key-{key}")


def open_page(page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.wait_for_url(f"**/{title.lower()}")
    wait_rerun(page, 90_000)


def screenshot(page, locator, path: Path) -> None:
    """The screen at 1280×720 with ``locator`` at its top."""
    locator.evaluate("(e) => e.scrollIntoView({block: 'start'})")
    settle(page)
    page.screenshot(path=str(path))


def test_share_page_compares_tflite_exports_tfjs_and_imports_teachable_machines_tfjs(browser, flower_run, shared,
                                                                                      tmp_path):
    tm = shared / "clients" / "teachable-machine-tfjs"
    if not (tm / "model.json").is_file():
        pytest.skip(f"needs the real Teachable Machine TF.js export in {tm}")
    expected = json.loads((tm / "expected.json").read_text())["expected"][0]
    env = {"TLCORE_WORKSPACE": str(flower_run.path.parent), "TLCORE_CACHE_DIR": str(tmp_path / "cache"),
           "KERAS_HOME": str(tmp_path / "keras")}
    with app_server(env) as url:
        page = browser.new_page(viewport=SCREEN, accept_downloads=True)
        page.set_default_timeout(120_000)
        page.goto(url)
        wait_idle(page)
        open_page(page, "Share")

        # 1. TFLite, 32-bit and 8-bit side by side on the run's held-back flowers
        keyed(page, "share_make_tflite").get_by_role("button").click()
        table = page.locator("table").filter(has_text="8-bit (smaller)")
        table.wait_for()
        wait_rerun(page, 120_000)
        pictures = len(flower_run.record.validation)
        rows = table.inner_text()
        assert f"Right on the {pictures} held-back pictures" in rows and "Time per picture" in rows
        assert re.search(r"File size\s+1\.\d MB\s+0\.\d MB", rows), rows
        assert re.search(r"Time per picture, on this computer\s+\d+\.?\d* ms\s+\d+\.?\d* ms", rows), rows
        assert page.get_by_text(re.compile(r"The 8-bit file is \d+\.\d× smaller")).count() == 1
        screenshot(page, page.get_by_role("heading", name=re.compile("TensorFlow Lite")), tmp_path / "share-tflite.png")

        # 2. The TensorFlow.js files, in Teachable Machine's layout
        keyed(page, "share_make_tfjs").get_by_role("button").click()
        button = keyed(page, "share_download_tfjs").get_by_role("button")
        button.wait_for()
        wait_rerun(page, 90_000)
        with page.expect_download() as info:
            button.click()
        info.value.save_as(tmp_path / "tfjs.zip")
        assert info.value.suggested_filename.endswith("-tfjs.zip")
        with zipfile.ZipFile(tmp_path / "tfjs.zip") as archive:
            assert sorted(archive.namelist()) == ["metadata.json", "model.json", "weights.bin"]
            assert json.loads(archive.read("metadata.json"))["labels"] == flower_run.class_names

        # 3. Teachable Machine's TF.js export, its three files dropped together
        page.get_by_role("tab").filter(has_text="Import").click()
        keyed(page, "share_tm_files").locator("input[type=file]").set_input_files(
            [str(tm / "model.json"), str(tm / "weights.bin"), str(tm / "metadata.json")])
        success = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Imported")
        success.wait_for()
        wait_rerun(page, 90_000)
        assert "Andesite, Basalt, Diorite, Obsidian" in success.inner_text()
        assert "TensorFlow.js download" in success.inner_text()
        screenshot(page, success, tmp_path / "share-import-tfjs.png")

        # 4. The Test page gives Teachable Machine's answer
        open_page(page, "Test")
        picture = (tm / expected["image"]).resolve()
        keyed(page, "test_files").locator("input[type=file]").set_input_files(str(picture))
        answer = page.locator(".tl-card .tl-value").first
        answer.wait_for()
        wait_rerun(page, 90_000)
        assert answer.inner_text().strip() == expected["top"]
        bars = page.get_by_test_id("stProgress").all_inner_texts()
        shown = {m.group(1): int(m.group(2)) for m in (re.search(r"(\w+) · (\d+)%", t) for t in bars) if m}
        screenshot(page, page.get_by_role("heading").first, tmp_path / "test-tfjs.png")
        assert len(shown) >= 3 and expected["top"] in shown  # the top classes, each as Teachable Machine says
        assert shown == {name: round(100 * expected["probabilities"][name]) for name in shown}
        assert not page.get_by_test_id("stException").count()
        page.close()
