"""A class in real Chromium against `tlcore classroom` (HTTPS with its own certificate, a class
task): two students join by name, both press Start, one waits in line while the other trains, a
refresh during training finds the live training again, and the teacher's page (behind its
code) lists both spaces, projects a leaderboard, shows a QR code that holds the join URL, and
runs the swap test (in the background) to a grid of one row and one column per group.
The first student's ImageNet weights come from a slow weights server on the school network
(TLCORE_WEIGHTS_URL), with a progress bar; the second uses the weights file the teacher added.

Nothing reaches the internet. Needs ../shared (the real MobileNetV2 0.35 weights).
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from classroom_support import stop_classroom

from appserver import CHROMIUM_ARGS, chromium_missing, free_port, go_to, settle, wait_idle, wait_rerun, widget

_MISSING = chromium_missing()
if _MISSING:
    pytest.skip(_MISSING, allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

from conftest import SHARED_WEIGHTS  # noqa: E402  (the one place ../shared is named)

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
CODE = "K7QM-4TZP"
TASK = "circle, square, triangle"  # the built-in demo's classes: every student's model shares them
PROJECTOR = {"width": 1280, "height": 720}
STEP_MS = 120_000
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"


class SlowWeightsServer(http.server.BaseHTTPRequestHandler):
    """A weights server on a slow school network: the file in small pieces, a pause between them."""

    folder: Path

    def do_GET(self):
        path = self.folder / Path(self.path).name
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for start in range(0, len(body), 64 * 1024):
            self.wfile.write(body[start:start + 64 * 1024])
            time.sleep(0.15)  # 2 MB in about 5 s: long enough to see the progress bar

    def log_message(self, *args):
        pass


@contextmanager
def weights_mirror(base: Path):
    """A weights server holding MobileNetV2 0.35's ImageNet file (224 px) under Keras's own name and
    format (legacy .h5), made from the shared weights; yields its URL."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    from tlcore.backbones import get_backbone

    folder = base / "mirror"
    folder.mkdir()
    network = keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights=str(SHARED_WEIGHTS),
                                             input_shape=(224, 224, 3))
    with h5py.File(folder / get_backbone("mobilenet_v2_035").weights_filename(224), "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, network)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (SlowWeightsServer,),
                                                                    {"folder": folder}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def classroom_server(base: Path, weights_url: str):
    """`tlcore classroom` in a process of its own; yields (join URL, certificate). Stopped with Ctrl+C."""
    port = free_port()
    env = {**os.environ, "TLCORE_WORKSPACE": str(base / "workspace"), "TLCORE_CACHE_DIR": str(base / "cache"),
           "KERAS_HOME": str(base / "keras"), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT),
           "TLCORE_WEIGHTS_URL": weights_url, "TLCORE_PUBLIC_WEIGHTS": "off"}
    log = open(base / "classroom.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "tlcore", "classroom", "--port", str(port), "--teacher-code",
                                CODE, "--workers", "1", "--address", "127.0.0.1", "--task", TASK],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    cert = base / "workspace" / "classroom" / "tls" / "classroom-cert.pem"
    url = f"https://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, (base / "classroom.log").read_text()
            assert time.monotonic() < deadline, "the classroom server did not start"
            try:
                trusting = ssl.create_default_context(cafile=str(cert))  # a real TLS client that trusts it
                with urllib.request.urlopen(url + "_stcore/health", timeout=3, context=trusting) as answer:
                    if answer.read() == b"ok":
                        break
            except (OSError, ssl.SSLError):
                time.sleep(0.5)
        yield url, cert
    finally:
        stop_classroom(process)
        log.close()


def join(page, url: str, name: str) -> None:
    page.goto(url)
    wait_idle(page, STEP_MS)
    page.get_by_label("Your name (or your group's)").fill(name)
    page.get_by_role("button", name="Join").click()
    page.get_by_text(f"Your space: {name}").wait_for(timeout=STEP_MS)
    assert re.search(r"[?&]space=[A-Za-z0-9_-]{16,}", page.url), page.url  # the link that brings it back


def choose_a_small_network(page, weights: str) -> None:
    go_to(page, "Model", timeout_ms=STEP_MS)
    widget(page, "model_backbone").get_by_text("MobileNetV2 (0.35", exact=False).click()
    wait_rerun(page, STEP_MS)
    widget(page, "model_weights").get_by_text(weights, exact=False).click()
    wait_rerun(page, STEP_MS)


def start(page) -> None:
    go_to(page, "Train", timeout_ms=STEP_MS)
    widget(page, "train_start").get_by_role("button").click()
    wait_rerun(page, STEP_MS)


@pytest.mark.shared
def test_a_class_trains_through_one_line_and_the_teacher_sees_it(tmp_path, shared_weights):
    (tmp_path / "cache" / "weights").mkdir(parents=True)  # what a teacher who added the weights file once has
    shutil.copyfile(shared_weights, tmp_path / "cache" / "weights" / "mobilenet_v2_035.weights.h5")
    with weights_mirror(tmp_path) as mirror, classroom_server(tmp_path, mirror) as (url, cert), \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                             headless=True, args=CHROMIUM_ARGS)
        # Each is its own device; each trusts this classroom's certificate, as the join page explains.
        ana, ben, teacher = (browser.new_context(ignore_https_errors=True, viewport=PROJECTOR).new_page()
                             for _ in range(3))
        try:
            join(ana, url, "Ana")
            join(ben, url, "Ben")
            choose_a_small_network(ana, "ImageNet (pretrained")  # not on this computer yet: downloads
            choose_a_small_network(ben, "Weights file added")
            start(ana)
            ana.get_by_text(re.compile(r"Downloading the ImageNet weights .*MB")).wait_for(timeout=STEP_MS)
            start(ben)
            ben.get_by_text(re.compile(r"Your training waits in line: number 1|any moment now")).first.wait_for(
                timeout=STEP_MS)
            ben.screenshot(path=str(tmp_path / "ben-waiting.png"))

            ana.reload()  # a refresh during training: the same space, the live training again
            ana.get_by_text("Your space: Ana").wait_for(timeout=STEP_MS)
            ana.get_by_text(re.compile("Training now|Training finished")).first.wait_for(timeout=STEP_MS)
            for student in (ana, ben):
                student.get_by_text("Training finished", exact=False).wait_for(timeout=4 * STEP_MS)

            teacher.goto(url + "teacher")
            wait_idle(teacher, STEP_MS)
            assert "The class:" not in teacher.inner_text("body")  # not without the code
            teacher.get_by_label("Teacher code").fill(CODE)
            teacher.get_by_role("button", name="Open the teacher's page").click()
            teacher.get_by_text("The class: 2 spaces").wait_for(timeout=STEP_MS)
            teacher.get_by_text("Leaderboard · surest first").wait_for(timeout=STEP_MS)
            settle(teacher)
            qr_code = teacher.get_by_role("img", name="Scan to join").or_(
                teacher.locator("[data-testid='stImage'] img")).first
            assert decoded_qr(qr_code.screenshot()) == [url]
            swap_test_grid(teacher, tmp_path)
            teacher.set_viewport_size({"width": 1280, "height": 1700})  # the whole page, for a look
            settle(teacher)
            teacher.screenshot(path=str(tmp_path / "teacher.png"))
            if os.environ.get("TLCORE_UPDATE_SCREENSHOTS"):
                DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(tmp_path / "teacher.png", DOCS_SCREENSHOTS / "teacher.png")
        except BaseException:
            for name, page in (("ana", ana), ("ben", ben), ("teacher", teacher)):
                page.screenshot(path=str(tmp_path / f"failure-{name}.png"))
            print(f"\nScreenshots in {tmp_path}\nServer log:\n{(tmp_path / 'classroom.log').read_text()[-4000:]}")
            raise
        finally:
            browser.close()
    spaces = sorted(p.name for p in (tmp_path / "workspace" / "spaces").iterdir())
    runs = {space: [p.name for p in (tmp_path / "workspace" / "spaces" / space / "runs").iterdir()]
            for space in spaces if space != "solo"}
    assert len(runs) == 2 and all(len(folders) == 1 for folders in runs.values()), runs


def swap_test_grid(teacher, shots: Path) -> None:
    """The teacher runs the swap test; its grid's text equivalent ("The numbers") has a row per
    group's model and a column per group's pictures. Prints the seconds it added to the journey."""
    started = time.monotonic()
    widget(teacher, "teacher_swap_run").get_by_role("button").click()
    teacher.get_by_test_id("stProgress").or_(teacher.get_by_text("The numbers")).first.wait_for(timeout=STEP_MS)
    teacher.screenshot(path=str(shots / "teacher-swap-running.png"))  # the progress, if still running
    # the grid is drawn once the background worker has saved it (the only "The numbers" on this page);
    # its text equivalent is a table whose cells are in the page as an accessible grid
    teacher.locator("[data-testid='stExpander'] summary", has_text="The numbers").click(timeout=STEP_MS)
    table = teacher.locator("[data-testid='stExpander']", has_text="The numbers").locator("table[role='grid']")
    table.wait_for(state="attached", timeout=STEP_MS)
    headers = table.locator("th").all_text_contents()
    assert [h for h in headers if h.endswith("'s pictures")] == ["Ana's pictures", "Ben's pictures"], headers
    assert table.get_attribute("aria-rowcount") == "3"  # the header and a row per group's model
    assert sorted(table.locator("tbody tr").nth(n).locator("td").first.text_content() for n in (0, 1)) == [
        "Ana", "Ben"]
    print(f"\nThe swap test added {time.monotonic() - started:.1f} s to the journey")


def decoded_qr(png: bytes) -> list[str]:
    import io

    zxingcpp = pytest.importorskip("zxingcpp", reason="the QR decoder is a test dependency: pip install zxing-cpp")
    from PIL import Image

    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]
