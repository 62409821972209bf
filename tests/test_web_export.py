"""The web page that is the model, without a browser (tests/test_e2e_web.py opens it in Chromium):
what goes into the one HTML file and what never does, behaviours kept with the run (re-encoded,
read tolerant of damage, shown as typed), the model card and TF.js metadata that carry them, the
size per network, `tlcore export --format web`, and the classroom's phone-page route."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import wave
import zipfile

import numpy as np
import pytest
from PIL import Image

from tlcore.export.web import WEB_WORDS, WebExportError, export_web, page_data, page_size_estimate, web_page
from tlcore.runs.behaviours import (BEHAVIOURS_FILE, MEDIA_DIR, Behaviour, BehaviourError, RunBehaviours, keep_picture,
                                    keep_recording, read_behaviours, write_behaviours)

SNEAKY = '</script><img src=x onerror="alert(1)"> & <!-- **bold** [a](javascript:x)'


@pytest.fixture()
def run_copy(demo_run, tmp_path):
    """The session's demo run (MobileNetV2 0.35, 96 px, shapes), copied: these tests write into it."""
    from tlcore.runs import load_run

    folder = tmp_path / "run"
    shutil.copytree(demo_run[1].path, folder)
    return load_run(folder)


def wav(seconds: float, rate: int = 44_100, channels: int = 2) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(channels)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(np.repeat(tone[:, None], channels, axis=1).tobytes())
    return out.getvalue()


def png(width: int, height: int, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), (200, 30, 30, 128)[: len(mode)]).save(out, "PNG")
    return out.getvalue()


def script_json(page: str, element_id: str):
    found = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


# -- behaviours, kept with the run ---------------------------------------------------------------
def test_behaviours_are_kept_re_encoded_and_read_back(tmp_path):
    picture = keep_picture(tmp_path, png(2000, 1000))
    recording = keep_recording(tmp_path, wav(6.0))
    kept = RunBehaviours((Behaviour("paper", say="Paper goes in the blue bin", sound="chime", emoji="♻️"),
                          Behaviour("cat", sound="recorded", recording=recording, picture=picture, full_screen=True)),
                         not_sure=0.7)
    write_behaviours(tmp_path, kept)
    assert read_behaviours(tmp_path) == kept
    with Image.open(tmp_path / MEDIA_DIR / picture) as shown:  # never stored as given: a small JPEG
        assert (shown.format, shown.size) == ("JPEG", (480, 240))
    with wave.open(str(tmp_path / MEDIA_DIR / recording)) as sound:  # mono, 16 kHz, cut to 4 s
        assert (sound.getnchannels(), sound.getsampwidth(), sound.getframerate(), sound.getnframes()) == (1, 2, 16_000,
                                                                                                        64_000)
    assert kept.of("cat").words() == "It plays its recording. It shows its picture (full screen)."
    assert kept.of("paper").words() == "It says “Paper goes in the blue bin”. It plays the chime. It shows ♻️."
    # a behaviour no longer using a file: the file goes
    write_behaviours(tmp_path, RunBehaviours((kept.of("paper"),), 0.7))
    assert sorted(p.name for p in (tmp_path / MEDIA_DIR).iterdir()) == []


def test_damaged_behaviours_lose_only_their_part(tmp_path, caplog):
    picture = keep_picture(tmp_path, png(64, 64, "RGB"))
    (tmp_path / BEHAVIOURS_FILE).write_text(json.dumps({"format": 1, "not_sure": 7, "behaviours": [
        {"class_name": "a", "say": "hello", "sound": "bark"},  # not a sound of ours
        {"class_name": "b", "say": "hi", "picture": "../../etc/passwd"},  # not a file of ours
        {"class_name": "c", "emoji": "🐱", "picture": "picture-0123456789abcdef.jpg"},  # ours, but not there
        {"class_name": "d", "say": "ok", "full_screen": "yes"},
        {"class_name": "e", "say": SNEAKY, "picture": picture},
        "not a behaviour"]}), encoding="utf-8")
    kept = read_behaviours(tmp_path)
    assert [b.class_name for b in kept.behaviours] == ["c", "e"]
    assert kept.of("c") == Behaviour("c", emoji="🐱")  # its picture's file is not there: the emoji stays
    assert kept.of("e").say == SNEAKY and kept.of("e").picture == picture  # outside text kept exactly as typed
    assert kept.not_sure is None  # 7 is no line
    (tmp_path / BEHAVIOURS_FILE).write_text('{"format": 1, "behaviours": [', encoding="utf-8")
    assert read_behaviours(tmp_path) == RunBehaviours()
    (tmp_path / MEDIA_DIR / picture).write_bytes(b"<svg onload=alert(1)>")  # not what we write: left out
    write = {"format": 1, "behaviours": [{"class_name": "e", "picture": picture}]}
    (tmp_path / BEHAVIOURS_FILE).write_text(json.dumps(write), encoding="utf-8")
    assert read_behaviours(tmp_path).of("e").picture == ""


@pytest.mark.parametrize("make, sentence", [
    (lambda: Behaviour("a", say="two\nlines"), "The sentence to say must be one line, without line breaks or tabs."),
    (lambda: Behaviour("a", say="x" * 201), "The sentence to say can be at most 200 characters long; it has 201."),
    (lambda: Behaviour("a", sound="bark"),
     "The sound must be one of beep, chime, buzz, whistle, fanfare or your own recording."),
    (lambda: Behaviour("a", sound="recorded"), "Record a sound first, or choose one of the built-in sounds."),
    (lambda: Behaviour("a", picture="../x.jpg"), "A behaviour's picture or recording must be one made by the Studio."),
    (lambda: keep_picture("/nonexistent", b"GIF89a not really"), "This picture cannot be used. It is not a picture."),
    (lambda: keep_recording("/nonexistent", b"RIFF....WEBM"),
     "This recording cannot be used (it is not a WAV sound); record it again."),
])
def test_unusable_behaviours_are_refused_in_one_sentence(make, sentence):
    with pytest.raises(BehaviourError) as caught:
        make()
    assert str(caught.value) == sentence


# -- the page ----------------------------------------------------------------------------------------
def test_the_page_holds_everything_and_shows_outside_text_as_text(run_copy, tmp_path):
    write_behaviours(run_copy.path, RunBehaviours((Behaviour(run_copy.class_names[0], say=SNEAKY, sound="beep",
                                                             emoji="<b>"),), not_sure=0.65))
    out = export_web(run_copy, tmp_path / "page.html", words={"start_camera": "Démarrer la caméra", "nope": "x"})
    page = out.read_text(encoding="utf-8")
    # nothing from anywhere else: no src/href attributes at all, a policy that forbids any request
    assert re.findall(r"\s(?:src|href)\s*=\s*\"([^\"]*)", page.split("<script>", 1)[0]) == ["data:,"]
    assert "default-src 'none'" in page and "connect-src" not in page
    assert page.count("</script>") == 6  # tf.min.js, words, data, picture.js, behaviours.js, page.js: nothing ends early
    assert SNEAKY not in page and "<img" not in page and "<b>" not in page.split("<script", 1)[1]
    data = script_json(page, "tl-data")
    words = script_json(page, "tl-words")
    assert words == {**WEB_WORDS, "start_camera": "Démarrer la caméra"}  # a translation fills the same keys only
    assert (data["classes"], data["input_size"], data["not_sure"], data["language"]) == (
        run_copy.class_names, 96, 0.65, "en")  # the line saved with its behaviours
    assert data["behaviours"] == [{"class_name": run_copy.class_names[0], "say": SNEAKY, "sound": "beep",
                                   "emoji": "<b>", "full_screen": False, "picture": "", "recording": ""}]
    # two outputs: the features at the head's input (for "none of my classes"), then the answer
    assert data["model"]["topology"]["config"]["output_layers"][0] == ["pool", 0, 0]
    familiarity = run_copy.familiarity()
    reference = np.frombuffer(__import__("base64").b64decode(data["familiarity"]["reference"]), "<f2")
    np.testing.assert_array_equal(reference.reshape(familiarity.reference_.shape), familiarity.reference_)
    assert data["familiarity"]["threshold"] == pytest.approx(familiarity.threshold_)
    assert "TensorFlow.js 4.22.0" in page and "Apache License" in page  # the runtime travels with its licence
    assert page_data(run_copy, not_sure=0.3)["not_sure"] == 0.3  # the Share page's current line wins
    with pytest.raises(WebExportError, match="must be from 0 to 1"):
        page_data(run_copy, not_sure=50)


def test_page_size_is_said_before_it_is_made(run_copy, tmp_path):
    size = len(web_page(run_copy).encode("utf-8"))
    estimate = page_size_estimate("mobilenet_v2_035", len(run_copy.class_names), run_copy.record.train_pictures)
    assert abs(estimate - size) / size < 0.02, (estimate, size)
    assert 3e6 < size < 10e6
    assert page_size_estimate("resnet50") > 100e6  # said, not made


def test_cli_exports_the_page(run_copy, tmp_path, capsys):
    from tlcore.cli import main

    out = tmp_path / "phone" / "shapes.html"
    assert main(["export", str(run_copy.path), "--format", "web", "--out", str(out), "--not-sure", "70",
                 "--language", "fr"]) == 0
    said = capsys.readouterr().out
    assert said == (f"Exported a web page for phones to {out} ({out.stat().st_size / 1e6:.1f} MB): open it in a "
                    "browser, with the network off too; \"Not sure\" below 70%.\n")
    data = script_json(out.read_text(encoding="utf-8"), "tl-data")
    assert (data["not_sure"], data["language"]) == (0.7, "fr")
    assert main(["export", str(run_copy.path), "--format", "web", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (f"tlcore: error: {tmp_path} is a folder: give the name of the file "
                                               f"to write, such as {tmp_path / 'model.html'}.")


def test_model_card_and_tfjs_export_carry_the_behaviours(run_copy, tmp_path):
    from tlcore.export import export_tfjs_zip, model_card

    recording = keep_recording(run_copy.path, wav(1.0, 16_000, 1))
    first, second = run_copy.class_names[:2]
    write_behaviours(run_copy.path, RunBehaviours((Behaviour(first, say="Round *like* [a ball]", sound="chime"),
                                                   Behaviour(second, sound="recorded", recording=recording)), 0.6))
    card = model_card(run_copy)
    assert "## What it does" in card and "(above its “not sure” line (60%))" in card
    assert f"| {first} | It says “Round \\*like\\* \\[a ball\\]”. It plays the chime. |" in card
    assert f"| {second} | It plays its recording. |" in card
    with zipfile.ZipFile(export_tfjs_zip(run_copy, tmp_path / "tfjs.zip")) as archive:
        metadata = json.loads(archive.read("metadata.json"))
        listed = metadata["userMetadata"]["tlcore"]["behaviours"]
        assert [b["class_name"] for b in listed] == [first, second]
        assert listed[1]["recording"] == f"behaviours/{recording}"
        assert archive.read(f"behaviours/{recording}") == (run_copy.path / MEDIA_DIR / recording).read_bytes()
        assert metadata["userMetadata"]["tlcore"]["notSure"] == 0.6


# -- the classroom serves each student's page by its key ----------------------------------------------
def test_phone_pages_are_found_by_their_key_only(tmp_path):
    from tlcore.classroom.phone_pages import find_page, page_key, page_path, page_url, publish_page

    space = tmp_path / "spaces" / "abcDEF123_-xyz7890abcd"
    key = publish_page(space, "20240101-0900-mobilenet_v2_035", "<p>mine</p>")
    assert len(key) == 22 and page_key(space, "20240101-0900-mobilenet_v2_035") == key  # kept: a QR code stays valid
    assert publish_page(space, "20240101-0900-mobilenet_v2_035", "<p>again</p>") == key
    run_name = "20240101-0900-mobilenet_v2_035"
    assert find_page(tmp_path, key).read_text() == "<p>again</p>" == page_path(space, run_name).read_text()
    other = publish_page(space, "another-run", "<p>other</p>")
    assert other != key
    for wrong in ("../../../etc/passwd", key[:-1], key + "a", "*" * 22, "", None):
        assert find_page(tmp_path, wrong) is None
    (space / "phone-pages" / ("A" * 22 + ".html")).symlink_to(space / "phone-pages" / f"{key}.html")
    assert find_page(tmp_path, "A" * 22) is None  # a link is not a page
    assert page_url("https://192.168.1.20:8501/", key) == f"https://192.168.1.20:8501/page/{key}.html"
    assert page_url("https://school.example/studio/", key) == f"https://school.example/studio/page/{key}.html"


def test_the_route_serves_that_page_and_nothing_else(tmp_path, monkeypatch):
    from starlette.requests import Request

    from studio.https_server import phone_page_route
    from tlcore.classroom.phone_pages import publish_page

    monkeypatch.setenv("TLCORE_WORKSPACE", str(tmp_path))
    key = publish_page(tmp_path / "spaces" / "s1", "run", "<!doctype html><p>mine</p>")
    route = phone_page_route("studio")

    def get(path: str):
        scope = {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}
        match, child = route.matches(scope)
        if match.name != "FULL":
            return None
        scope.update(child)
        response = asyncio.run(route.endpoint(Request(scope)))
        return response

    page = get(f"/studio/page/{key}.html")
    assert page.status_code == 200 and page.media_type == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store" and page.headers["x-content-type-options"] == "nosniff"
    assert get(f"/studio/page/{'B' * 22}.html").status_code == 404
    assert get("/studio/page/..%2F..%2Fspaces.html").status_code == 404
    assert get(f"/page/{key}.html") is None and get(f"/studio/page/{key}.htm") is None


def test_a_lesson_file_keeps_a_runs_behaviours(run_copy, demo_dataset_96, tmp_path):
    from tlcore.projects import open_project, save_project

    picture = keep_picture(run_copy.path, png(300, 200, "RGB"))
    kept = RunBehaviours((Behaviour(run_copy.class_names[0], say="Round!", picture=picture, full_screen=True),), 0.6)
    write_behaviours(run_copy.path, kept)
    lesson = save_project(tmp_path / "lesson.tlproject", demo_dataset_96, runs=[run_copy])
    opened = open_project(lesson, tmp_path / "elsewhere", tmp_path / "work", image_size=96)
    assert read_behaviours(opened.runs[0].path) == kept
    assert (opened.runs[0].path / MEDIA_DIR / picture).read_bytes() == (run_copy.path / MEDIA_DIR / picture).read_bytes()
