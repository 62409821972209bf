"""The web page that is the model, in real Chromium, opened from disk with every request blocked.

A run trained on real flowers (MobileNetV2 0.35 from ../shared's ImageNet weights, 96 px, daisy
and sunflower), with behaviours: daisy says "Daisy!", plays the chime and shows 🌼 full screen;
sunflower says "Sunflower!" and plays its own recording. Then:

1. The fake camera plays a video of unseen real flowers: the answers follow the video, each
   frame's answer ("none of my classes" included) equals Run.predict on that very frame within
   1e-3, and the behaviours fire once per change of the sure answer (a spy on
   speechSynthesis.speak and on audio playback: oscillators for the chime, a buffer for the
   recording). Nothing but the file itself is requested; the page's own policy is never hit.
2. Photos from the file picker (JPEGs, one turned by its EXIF tag, a PNG): Run.predict's
   answers within 1e-3; a file that is no picture gets its sentence; no camera gets its sentence.
3. In `tlcore classroom` (HTTPS, its own CA, a student's space): the behaviours set on the Test
   page's form, then heard once per change from the live camera (the same spies); the Test page's
   QR code address opened on a phone that trusts the classroom's CA: the page, its camera, the
   app's answer, nothing else requested, another key a 404; Share's download carries the same.

Screenshots (390×844 and 1280×720) go to the test's tmp_path. Needs Chromium, playwright and
../shared (and certutil, for the classroom); skipped otherwise. About five minutes on two cores.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from appserver import CHROMIUM, CHROMIUM_ARGS, chromium_missing, go_to, wait_idle, wait_rerun, widget
from video import HEIGHT, WIDTH, write_y4m

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing()))]

FAKE_CAMERA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
PHONE, PROJECTOR = {"width": 390, "height": 844}, {"width": 1280, "height": 720}
PER_CLASS = 30
SECONDS_EACH = 3.0  # each picture of the video
STEP_MS = 90_000
# Spies, installed before the page's own scripts: what the page says and plays, and any request
# its Content Security Policy refused.
SPIES = """
window.__spoken = []; window.__played = []; window.__refused = [];
speechSynthesis.speak = (u) => { window.__spoken.push({ text: u.text, lang: u.lang, at: performance.now() }); };
for (const [kind, node] of [["oscillator", OscillatorNode], ["recording", AudioBufferSourceNode]]) {
  const start = node.prototype.start;
  node.prototype.start = function (...args) {
    window.__played.push({ kind, at: performance.now() });
    return start.apply(this, args);
  };
}
document.addEventListener("securitypolicyviolation",
                          (e) => window.__refused.push([e.violatedDirective, e.blockedURI, e.sourceFile, e.lineNumber]));
"""


def tone(seconds: float = 0.5) -> bytes:
    t = np.arange(int(seconds * 16_000)) / 16_000
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(16_000)
        sound.writeframes((6000 * np.sin(2 * np.pi * 660 * t)).astype("<i2").tobytes())
    return out.getvalue()


def framed(picture: Image.Image) -> np.ndarray:
    """A square picture in the middle of a 320×240 camera frame (grey sides)."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), (128, 128, 128))
    canvas.paste(picture.convert("RGB").resize((HEIGHT, HEIGHT), Image.LANCZOS), ((WIDTH - HEIGHT) // 2, 0))
    return np.asarray(canvas)


@pytest.fixture(scope="module")
def material(flowers, shared_weights, tmp_path_factory):
    """(run, the video's pictures [(class, picture)], folder): a run on real daisies and sunflowers
    with behaviours, and unseen flowers it is sure of, in the order the fake camera shows them."""
    from tlcore.data import ImageDataset
    from tlcore.runs import claim_run_folder, save_run
    from tlcore.runs.behaviours import Behaviour, RunBehaviours, keep_picture, keep_recording, write_behaviours
    from tlcore.settings import TrainingSettings
    from tlcore.training import Trainer

    base = tmp_path_factory.mktemp("web")
    files = {name: sorted((flowers / name).glob("*.jpg")) for name in ("daisy", "sunflower")}
    for name, paths in files.items():
        (base / "pictures" / name).mkdir(parents=True)
        for path in paths[:PER_CLASS]:
            shutil.copyfile(path, base / "pictures" / name / path.name)
    data = ImageDataset.from_folder(base / "pictures", image_size=96)
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=str(shared_weights), input_size=96, epochs=4,
                                batch_size=16, validation_fraction=0.25)
    trainer = Trainer(settings, cache_dir=base / "cache").fit(data)
    run = save_run(trainer, data, claim_run_folder(base / "workspace", "mobilenet_v2_035"), dataset_name="Flowers")
    recording = keep_recording(run.path, tone())
    picture = keep_picture(run.path, files["sunflower"][-1].read_bytes())
    write_behaviours(run.path, RunBehaviours((
        Behaviour("daisy", say="Daisy!", sound="chime", emoji="🌼", full_screen=True),
        Behaviour("sunflower", say="Sunflower!", sound="recorded", recording=recording, picture=picture)), 0.5))
    # The video: two unseen flowers of each class that the run is sure of, as the camera frames them.
    chosen = {}
    for name, paths in files.items():
        pool = [Image.open(p).convert("RGB") for p in paths[PER_CLASS:PER_CLASS + 20]]
        framed_pool = [Image.fromarray(framed(p)) for p in pool]
        answers = run.predict([_png(f) for f in framed_pool])
        sure = [p for p, a in zip(pool, answers) if a.top == name and a.probabilities[name] > 0.85 and a.familiar]
        assert len(sure) >= 2, f"the run is sure of too few unseen {name} pictures to film"
        chosen[name] = sure[:2]
    video = [("daisy", chosen["daisy"][0]), ("sunflower", chosen["sunflower"][0]),
             ("daisy", chosen["daisy"][1]), ("sunflower", chosen["sunflower"][1])]
    write_y4m(base / "camera.y4m", [framed(p) for _, p in video], seconds_each=SECONDS_EACH)
    return run, video, base


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def page_file(material):
    from tlcore.export.web import export_web

    run, _, base = material
    return export_web(run, base / "flowers.html")


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="module")
def browser(playwright, material):
    """Chromium whose camera plays the video of unseen flowers."""
    _, _, base = material
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        *CHROMIUM_ARGS, *FAKE_CAMERA, f"--use-file-for-fake-video-capture={base / 'camera.y4m'}"])
    yield chromium
    chromium.close()


def open_offline(browser, page_file: Path, viewport=PHONE):
    """The page from disk, every request but the file itself refused (and noted), spies in place."""
    context = browser.new_context(viewport=viewport)
    requested: list[str] = []

    def only_the_file(route):
        requested.append(route.request.url)
        return route.continue_() if route.request.url == page_file.as_uri() else route.abort()

    context.route("**/*", only_the_file)
    page = context.new_page()
    page.add_init_script(SPIES)
    page.goto(page_file.as_uri())
    page.evaluate("() => tlPage.ready")
    return page, requested


def answers_equal(run, page_answer: dict, picture: bytes | str | Path) -> None:
    """The page's answer is Run.predict's on the same picture, familiarity included, within 1e-3."""
    expected = run.predict([picture])[0]
    np.testing.assert_allclose(page_answer["probabilities"], [expected.probabilities[c] for c in run.class_names],
                               atol=1e-3)
    assert page_answer["familiar"] == expected.familiar
    assert page_answer["score"] == pytest.approx(expected.familiarity, abs=1e-3)


def nearest(frame: np.ndarray, video) -> str:
    """The class of the video's picture this camera frame shows."""
    distances = [np.abs(frame.astype(int) - framed(p)).mean() for _, p in video]
    return video[int(np.argmin(distances))][0]


# -- 1. the camera -------------------------------------------------------------------------------------
def test_the_page_follows_the_camera_with_the_apps_answers_and_behaviours(browser, material, page_file, tmp_path):
    run, video, _ = material
    page, requested = open_offline(browser, page_file)
    assert page.evaluate("() => tlPage.backend") in ("webgl", "cpu")
    page.click("#tl-start")
    page.wait_for_function("() => tlPage.frames >= 3", timeout=STEP_MS)
    # Two loops of the video: what the page says and plays, as it happens.
    page.wait_for_timeout(2 * len(video) * SECONDS_EACH * 1000)
    spoken = page.evaluate("() => window.__spoken")
    played = page.evaluate("() => window.__played")
    page.screenshot(path=str(tmp_path / "web-camera-390.png"))

    # Behaviours: once per change of the sure answer, in the Studio's language.
    said = [s["text"] for s in spoken]
    assert len(said) >= 3, said
    assert all(a != b for a, b in zip(said, said[1:])), said  # never twice for one steady answer
    assert set(said) == {"Daisy!", "Sunflower!"} and {s["lang"] for s in spoken} == {"en"}
    assert sum(p["kind"] == "recording" for p in played) == said.count("Sunflower!")  # its own recording
    assert sum(p["kind"] == "oscillator" for p in played) == 3 * said.count("Daisy!")  # the chime's three notes

    # Frames: the page's answer is Run.predict's on that very frame, and follows the video.
    classes_seen = set()
    for _ in range(4):
        page.wait_for_timeout(1300)
        page.evaluate("() => tlPage.freeze()")
        answer = page.evaluate("() => tlPage.last")
        frame = base64.b64decode(page.evaluate("() => tlPage.frameDataURL()").split(",", 1)[1])
        page.evaluate("() => tlPage.resume()")
        answers_equal(run, answer, frame)
        shown = nearest(np.asarray(Image.open(io.BytesIO(frame)).convert("RGB")), video)
        assert answer["top"] == shown and answer["source"] == "camera"
        classes_seen.add(shown)
    assert classes_seen == {"daisy", "sunflower"}
    assert page.locator("#tl-answer").inner_text() in ("daisy", "sunflower")
    assert page.evaluate("() => window.__refused") == []
    assert requested == [page_file.as_uri()]  # nothing from any server, no CDN
    assert page.evaluate("() => document.scrollingElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    page.context.close()


# -- 2. photos -----------------------------------------------------------------------------------------
def test_photos_from_the_file_picker_get_the_apps_answers(browser, material, page_file, flowers, tmp_path):
    run, _, _ = material
    photos = [sorted((flowers / name).glob("*.jpg"))[-1 - i] for name in ("daisy", "sunflower") for i in range(2)]
    turned = tmp_path / "turned.jpg"  # a phone's photo: stored sideways, upright by its EXIF tag
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(photos[0]).rotate(90, expand=True).save(turned, "JPEG", quality=92, exif=exif)
    lossless = tmp_path / "flower.png"
    Image.open(photos[2]).save(lossless, "PNG")
    page, requested = open_offline(browser, page_file, PROJECTOR)
    for photo in [*photos, turned, lossless]:
        frames = page.evaluate("() => tlPage.frames")
        page.set_input_files("#tl-photo-input", str(photo))
        page.wait_for_function(f"() => tlPage.frames > {frames}", timeout=STEP_MS)
        answer = page.evaluate("() => tlPage.last")
        assert answer["source"] == "photo"
        answers_equal(run, answer, photo)
    page.screenshot(path=str(tmp_path / "web-photo-1280.png"))
    sure = [p for p in run.predict([str(p) for p in [*photos, turned, lossless]])
            if p.familiar and p.probabilities[p.top] >= 0.5]
    assert [s["text"] for s in page.evaluate("() => window.__spoken")] == [f"{p.top.capitalize()}!" for p in sure]

    not_a_picture = tmp_path / "notes.jpg"
    not_a_picture.write_text("not a picture")
    page.set_input_files("#tl-photo-input", str(not_a_picture))
    page.locator("#tl-problem").wait_for()
    assert page.locator("#tl-problem").inner_text() == ("This picture could not be read. Choose another one "
                                                        "(a JPEG or PNG photo).")
    assert requested == [page_file.as_uri()]
    page.context.close()


def test_without_a_camera_the_page_says_so_and_photos_still_work(playwright, material, page_file):
    run, _, _ = material
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        page, _ = open_offline(chromium, page_file)
        page.click("#tl-start")
        page.locator("#tl-problem").wait_for()
        assert page.locator("#tl-problem").inner_text() in (
            "No camera was found. Choose a photo instead.",
            "The camera was not allowed. Allow it in the browser's settings for this page and try again, or choose "
            "a photo.")
        photo = sorted((Path(run.path) / "validation").rglob("*.jpg"))[0]
        page.set_input_files("#tl-photo-input", str(photo))
        page.wait_for_function("() => tlPage.last !== null", timeout=STEP_MS)
        answers_equal(run, page.evaluate("() => tlPage.last"), photo)
    finally:
        chromium.close()


# -- 3. in the Studio ----------------------------------------------------------------------------------
def choose(page, label: str, option: str) -> None:
    box = page.get_by_role("combobox", name=label, exact=True)
    if box.input_value() == option:
        return
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(5):  # a rerun still drawing (a text box just left) closes the list at once: again
        box.press("ArrowDown")  # opens Streamlit's select box
        try:
            choice.wait_for(timeout=2000)
            break
        except Exception:
            page.wait_for_timeout(1000)
    choice.click()
    wait_rerun(page, STEP_MS)


def type_into(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")
    wait_rerun(page, STEP_MS)


def test_in_a_classroom_behaviours_play_live_and_the_page_reaches_the_phone(playwright, material, tmp_path):
    """A student's way, in `tlcore classroom` over its HTTPS: a behaviour per class on the Test page's
    form, heard from the live camera once per change; the QR code's address opened on a phone
    (which trusts the classroom's CA) gives the camera page; Share's download carries the same."""
    import ssl

    from classroom_support import classroom_process, nss_home

    from appserver import free_port
    from tlcore.spaces import SpaceStore

    if not shutil.which("certutil"):
        pytest.skip("certutil is not installed (apt-get install libnss3-tools; .ci/run does it)")
    run, _, base = material
    store = SpaceStore.in_workspace(tmp_path / "workspace")
    space = store.create("Ana")
    shutil.copytree(run.path, space.runs_dir / run.path.name, ignore=shutil.ignore_patterns("behaviours*"))
    store.update_state(space.id, selected_run=run.path.name)
    port = free_port()
    url = f"https://127.0.0.1:{port}/"
    ca = tmp_path / "workspace" / "classroom" / "tls" / "classroom-ca.pem"
    with classroom_process(tmp_path, ["--port", str(port), "--workers", "1", "--address", "127.0.0.1"],
                           url + "_stcore/health", lambda: ssl.create_default_context(cafile=str(ca)),
                           env={"TLCORE_TEACHER_CODE": "K7QM-4TZP"}):
        home = nss_home(tmp_path / "device", ca)  # a device that installed the classroom's certificate
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, env={**os.environ, "HOME": str(home)},
            args=[*CHROMIUM_ARGS, *FAKE_CAMERA, f"--use-file-for-fake-video-capture={base / 'camera.y4m'}"])
        try:
            page = chromium.new_page(viewport=PROJECTOR, accept_downloads=True)
            page.set_default_timeout(STEP_MS)
            page.add_init_script(SPIES)
            page.goto(f"{url}test?space={space.id}")
            wait_idle(page, STEP_MS)
            set_behaviours(page, tmp_path)
            heard_live(page)
            phone_url = make_phone_page(page, url, tmp_path)
            on_the_phone(chromium, phone_url, run, tmp_path)
            from_share(page, tmp_path)
            assert not page.get_by_test_id("stException").count()
        finally:
            chromium.close()


def set_behaviours(page, shots: Path) -> None:
    """The form: daisy says "Daisy!" with the chime; sunflower says "Sunflower!"."""
    page.get_by_text("Make it do something").click()
    for name, sentence, sound in (("daisy", "Daisy!", "Chime"), ("sunflower", "Sunflower!", None)):
        choose(page, "Class", name)
        type_into(page, "Say", sentence)
        if sound:
            choose(page, "Sound", sound)
        page.get_by_role("button", name="Save").click()
        wait_rerun(page, STEP_MS)
        done = page.get_by_test_id("stAlertContentSuccess")
        assert done.inner_text() == (f"Saved. When it is sure of {name}, this happens: It says “{sentence}”." +
                                     (" It plays the chime." if sound else ""))
    assert page.get_by_text("daisy: It says “Daisy!”. It plays the chime.").count() == 1  # the list follows
    page.screenshot(path=str(shots / "test-behaviours-1280.png"), full_page=True)


def heard_live(page) -> None:
    """The live camera: each change of sure answer speaks once, in the Studio's language."""
    page.get_by_role("tab", name=re.compile(r"\bCamera$")).click()  # the Test page's camera tab
    wait_rerun(page, STEP_MS)
    widget(page, "test_live-on").locator("label").first.click()
    # the first live answer: the model made ready for frames (TFLite), a minute or more on busy cores
    widget(page, "test_live-answer").locator(".tl-value").first.wait_for(timeout=3 * STEP_MS)
    page.wait_for_timeout(2 * 4 * SECONDS_EACH * 1000)
    spoken = page.evaluate("() => window.__spoken")
    said = [s["text"] for s in spoken]
    chimes = sum(p["kind"] == "oscillator" for p in page.evaluate("() => window.__played"))
    assert len(said) >= 2 and set(said) <= {"Daisy!", "Sunflower!"}, said
    assert all(a != b for a, b in zip(said, said[1:])), said
    assert chimes == 3 * said.count("Daisy!") and {s["lang"] for s in spoken} == {"en"}
    widget(page, "test_live-on").locator("label").first.click()  # camera off
    wait_rerun(page, STEP_MS)


def make_phone_page(page, url: str, shots: Path) -> str:
    """The Test page's QR code, and the address it holds."""
    widget(page, "test_phone-make").get_by_role("button").click()
    box = widget(page, "test_phone-box")
    box.locator("img").first.wait_for(timeout=STEP_MS)
    address = box.locator("code").inner_text().strip()
    assert re.fullmatch(re.escape(url) + r"page/[A-Za-z0-9_-]{22}\.html", address), address
    box.screenshot(path=str(shots / "test-phone-qr-1280.png"))
    return address


def on_the_phone(chromium, address: str, run, shots: Path) -> None:
    """The address opened on a phone: the page, over the classroom's HTTPS, with its camera."""
    context = chromium.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    phone = context.new_page()
    phone.add_init_script(SPIES)
    phone.goto(address)
    phone.evaluate("() => tlPage.ready")
    phone.click("#tl-start")
    phone.wait_for_function("() => tlPage.frames >= 2", timeout=STEP_MS)
    phone.evaluate("() => tlPage.freeze()")
    answer = phone.evaluate("() => tlPage.last")
    frame = base64.b64decode(phone.evaluate("() => tlPage.frameDataURL()").split(",", 1)[1])
    answers_equal(run, answer, frame)
    phone.screenshot(path=str(shots / "phone-page-390.png"))
    assert requested == [address]  # the page alone: nothing else from the classroom, nothing from elsewhere
    gone = phone.goto(re.sub(r"page/[^/]+\.html$", "page/" + "A" * 22 + ".html", address))
    assert gone.status == 404  # another key opens nothing
    context.close()


def from_share(page, shots: Path) -> None:
    """Share: the page as a download, with the behaviours and the Test page's line."""
    go_to(page, "Share", timeout_ms=STEP_MS)
    widget(page, "share_make_web").get_by_role("button").click()
    button = widget(page, "share_download_web").get_by_role("button")
    button.wait_for(timeout=STEP_MS)
    with page.expect_download() as info:
        button.click()
    saved = shots / "downloaded.html"
    info.value.save_as(saved)
    widget(page, "share_web_box").screenshot(path=str(shots / "share-web-1280.png"))
    data = json.loads(re.search(r'<script type="application/json" id="tl-data">(.*?)</script>',
                                saved.read_text(encoding="utf-8"), re.S).group(1))
    assert [(b["class_name"], b["say"], b["sound"]) for b in data["behaviours"]] == [
        ("daisy", "Daisy!", "chime"), ("sunflower", "Sunflower!", "")]
    assert data["not_sure"] == 0.5 and info.value.suggested_filename.endswith(".html")
