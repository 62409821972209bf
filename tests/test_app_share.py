"""The Evaluate and Share pages (and the Test page's "not sure" line), driven headless with
AppTest: a real small model, real pictures, the real Teachable Machine export from ../shared.

Nothing here reaches the network: the real MobileNetV2 0.35 weights file from ../shared is used
when present, else weights "none".
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from conftest import SHARED_WEIGHTS  # noqa: E402,F401
from tlcore.settings import TrainingSettings
from studio_support import (  # noqa: E402,F401  (fixtures are found by name)
    APP, ROOT, SMALL_WEIGHTS, TIMEOUT, environment, folders, key_of, open_page, switch, texts, trained_run,
)


# -- fixtures (the shared ones are in studio_support.py) ----------------------------------------
@pytest.fixture(scope="module")
def teachable_machine(shared) -> Path:
    folder = shared / "clients" / "teachable-machine-cats-dogs"
    if not (folder / "keras_model.h5").is_file():
        pytest.skip(f"needs the real Teachable Machine export in {folder}")
    return folder


def card_values(at: AppTest) -> dict[str, list[str]]:
    """The large result cards' label → values (in page order)."""
    values: dict[str, list[str]] = {}
    for element in at.markdown:
        text = str(element.value)
        if 'class="tl-card' in text:
            label = text.split('class="tl-label">')[1].split("<")[0]
            values.setdefault(label, []).append(text.split('class="tl-value">')[1].split("<")[0])
    return values


def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def expected_picture(tm: Path, image: str) -> Path:
    """expected.json's paths are relative to its folder or, as shipped, to shared/."""
    for base in (tm, *tm.parents):
        if (base / image).is_file():
            return base / image
    raise FileNotFoundError(image)


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def import_tm(at: AppTest, tm: Path) -> None:
    at.file_uploader(key="share_tm_files").set_value([
        ("keras_model.h5", (tm / "keras_model.h5").read_bytes(), "application/octet-stream"),
        ("labels.txt", (tm / "labels.txt").read_bytes(), "text/plain"),
    ]).run(timeout=TIMEOUT)
    assert not at.exception, at.exception


# -- every new page ----------------------------------------------------------------------------
@pytest.mark.parametrize("page", ["evaluate", "share"])
def test_new_pages_render_on_a_fresh_session(page, folders, monkeypatch, tmp_path):
    monkeypatch.setenv("TLCORE_WORKSPACE", str(tmp_path / "empty-workspace"))  # no model yet
    at = open_page(page)
    assert not at.exception
    assert at.title
    page_text = texts(at)
    assert "Traceback" not in page_text
    if page == "evaluate":
        assert "There is no trained model yet" in page_text


# -- Evaluate ----------------------------------------------------------------------------------
def test_evaluate_page_shows_the_runs_own_evaluation(trained_run):
    from tlcore.evaluate import evaluate_run

    expected = evaluate_run(trained_run)
    at = open_page("evaluate", tl_selected_run=str(trained_run.path))
    assert not at.exception
    assert at.selectbox(key="eval_run").value == str(trained_run.path)
    assert at.radio(key="eval_source").value == "validation"
    shown = at.session_state["eval_cache"].evaluation
    assert shown.accuracy == expected.accuracy
    assert card_values(at)["Right answers"] == [f"{expected.accuracy:.0%}"]
    assert card_values(at)["Pictures checked"] == [str(len(expected))]
    from studio.words import interval_text  # the headline says where it likely lies on new pictures

    right = int(np.trace(expected.confusion))
    assert f"{right} of {len(expected)} pictures · {interval_text(expected.accuracy, len(expected))}" in \
        "\n".join(str(m.value) for m in at.markdown).replace("<wbr>", "")

    matrix = next(c for c in charts(at) if c["data"][0]["type"] == "heatmap")
    assert matrix["data"][0]["z"] == expected.confusion.tolist()
    assert matrix["data"][0]["x"] == expected.class_names  # columns: what the model said
    assert matrix["data"][0]["y"] == expected.class_names  # rows: the right answer
    assert matrix["layout"]["yaxis"]["autorange"] == "reversed"  # first class at the top
    assert matrix["data"][1]["type"] == "scatter"  # the clickable squares, one per cell
    assert len(matrix["data"][1]["customdata"]) == len(expected.class_names) ** 2

    table = at.dataframe[0].value
    assert list(table["Class"]) == expected.class_names
    assert list(table["Pictures"]) == expected.support.tolist()
    np.testing.assert_allclose(table["Found"], 100 * expected.recall, atol=0.06)
    page = texts(at)
    name = expected.class_names[0]
    if expected.confusion[:, 0].sum():
        assert f"when it says “{name}”, it is right {expected.precision[0]:.0%} of the time" in page

    # A cell of the matrix: its pictures
    at.selectbox(key="eval_cell_true").set_value(name).run()
    at.selectbox(key="eval_cell_pred").set_value(name).run()
    assert not at.exception
    count = int(expected.confusion[0, 0])
    if count:
        assert any(f"{count} picture" in s.value and "answered right" in s.value for s in at.success)
    # The mistakes gallery, then where the model looked
    mistakes = expected.mistakes(8)
    assert len([m for m in at.markdown if str(m.value).startswith("Really")]) == len(mistakes)
    at.toggle(key="eval_show_gradcam").set_value(True).run()
    assert not at.exception
    # The "not sure" chart and the line shared with the Test page
    at.slider(key="eval_not_sure").set_value(70).run()
    assert at.session_state["tl_not_sure"] == pytest.approx(0.7)
    threshold = next(c for c in charts(at) if c["data"][0]["type"] == "scatter" and len(c["data"]) == 2)
    assert threshold["data"][0]["x"][0] == 0.0 and threshold["data"][0]["x"][-1] == 1.0
    switch(at, "test").run()
    assert at.slider(key="test_not_sure").value == 70


def test_evaluate_page_on_an_uploaded_zip_says_which_folders_do_not_match(trained_run):
    from tlcore.data import demo_folder

    demo = demo_folder()
    files = {f"shapes/Circle/c{i}.jpg": (demo / "circle" / f"circle_{i:02d}.jpg").read_bytes() for i in range(3)}
    files.update({f"shapes/square/s{i}.jpg": (demo / "square" / f"square_{i:02d}.jpg").read_bytes() for i in range(2)})
    files["shapes/hexagon/h0.jpg"] = (demo / "triangle" / "triangle_00.jpg").read_bytes()
    files["shapes/square/broken.jpg"] = b"not a picture"
    at = open_page("evaluate", tl_selected_run=str(trained_run.path))
    at.radio(key="eval_source").set_value("upload").run()
    at.file_uploader(key="eval_zip").set_value(("check.zip", zip_of(files), "application/zip")).run()
    assert not at.exception, at.exception
    assert any("hexagon" in w.value and "does not match any class" in w.value for w in at.warning)
    evaluation = at.session_state["eval_cache"].evaluation
    assert len(evaluation) == 5  # 3 circles (folder "Circle") + 2 squares; hexagon and broken.jpg left out
    assert evaluation.true_labels.tolist() == [0, 0, 0, 1, 1]
    assert card_values(at)["Pictures checked"] == ["5"]
    assert "broken.jpg was skipped. It is not a picture." in texts(at)
    assert "No pictures for: triangle." in texts(at)


# -- Test: the "not sure" line -----------------------------------------------------------------
def test_test_page_not_sure_line(trained_run):
    from tlcore.data import demo_folder

    pictures = sorted((demo_folder() / "circle").glob("*.jpg"))[:12]
    predictions = trained_run.predict(pictures)
    best = min(zip(pictures, predictions), key=lambda item: max(item[1].probabilities.values()))
    top = max(best[1].probabilities.values())
    if top >= 0.95:
        pytest.skip("the small model is sure of every picture")
    at = open_page("test", tl_selected_run=str(trained_run.path))
    assert at.slider(key="test_not_sure").value == 50  # the default
    at.file_uploader(key="test_files").set_value([("shape.jpg", best[0].read_bytes(), "image/jpeg")])
    at.slider(key="test_not_sure").set_value(min(95, 5 * math.ceil(100 * top / 5 + 0.01))).run()
    assert not at.exception
    assert card_values(at)["The model says"] == ["Not sure"]
    note = next(str(m.value) for m in at.markdown if 'class="tl-value"' in str(m.value))
    assert f"Its best guess, {best[1].top}" in note
    assert len(at.get("progress")) == 3  # the top guesses are still listed
    at.slider(key="test_not_sure").set_value(0).run()
    assert card_values(at)["The model says"] == [best[1].top]
    assert at.session_state["tl_not_sure"] == 0.0


def test_test_page_shows_the_square_the_model_saw_beside_where_it_looked(trained_run, monkeypatch):
    """A wide photo: the picture shown is its centre square (what the model and Grad-CAM see), not
    the whole photo, so the heatmap beside it lines up with it."""
    from PIL import Image
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
    from tlcore.data import demo_folder

    shown: dict[str, bytes] = {}  # what the page handed Streamlit to show, by media file id
    keep = MemoryMediaFileStorage.load_and_get_id

    def kept(self, data, mimetype, kind, filename=None):
        file_id = keep(self, data, mimetype, kind, filename)
        shown[file_id] = data if isinstance(data, bytes) else Path(data).read_bytes()
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", kept)
    centre = Image.open(sorted((demo_folder() / "circle").glob("*.jpg"))[0]).convert("RGB").resize((200, 200))
    wide = Image.new("RGB", (600, 200), (255, 0, 0))  # red on the left...
    wide.paste((0, 0, 255), (400, 0, 600, 200))  # ...blue on the right, the shape in the middle
    wide.paste(centre, (200, 0))
    photo = io.BytesIO()
    wide.save(photo, "PNG")

    at = open_page("test", tl_selected_run=str(trained_run.path))
    at.file_uploader(key="test_files").set_value([("wide.png", photo.getvalue(), "image/png")])
    at.toggle(key="test_gradcam").set_value(True).run()
    assert not at.exception
    pictures = [url for image in at.get("image") for url in image.value]
    assert len(pictures) == 2, pictures  # the picture, then where it looked
    picture, heatmap = (np.asarray(Image.open(io.BytesIO(shown[url.rsplit("/", 1)[1].split(".")[0]])).convert("RGB"),
                                   dtype=float) for url in pictures)
    assert picture.shape[0] == picture.shape[1] and picture.shape == heatmap.shape
    expected = np.asarray(centre.resize(picture.shape[:2][::-1], Image.LANCZOS), dtype=float)
    assert np.abs(picture - expected).mean() < 8  # the centre square (JPEG-encoded), no red or blue side
    assert "the centre square, as the model sees it" in " ".join(c for i in at.get("image") for c in i.captions)


# -- Share: export -----------------------------------------------------------------------------
def test_share_page_makes_the_bundle_zip_on_demand(trained_run):
    at = open_page("share", tl_selected_run=str(trained_run.path))
    assert at.selectbox(key="share_run").value == str(trained_run.path)
    assert not at.download_button  # nothing is made before it is asked for
    at.button(key="share_make_bundle").click().run()
    assert not at.exception
    assert [b.label.startswith("Download the zip") for b in at.download_button] == [True]
    assert "python predict.py picture.jpg` (needs Python with TensorFlow (with Keras 3), numpy and Pillow: " \
           "`pip install tensorflow pillow`)" in texts(at)  # as the README and the model card say it
    path = at.session_state["share_built"][(str(trained_run.path), "bundle")]["path"]
    assert Path(path).is_relative_to(at.session_state["tl_work_dir"].path)  # the session's own folder
    with zipfile.ZipFile(path) as archive:
        # familiarity.npz lets predict.py say "none of my classes", as the app does
        assert sorted(archive.namelist()) == ["familiarity.npz", "labels.txt", "model.keras", "model_card.md",
                                              "predict.py"]
        assert archive.read("labels.txt").decode().split() == trained_run.class_names
        assert archive.read("familiarity.npz") == (trained_run.path / "familiarity.npz").read_bytes()
    at.run()  # a rerun does not make it again
    assert at.session_state["share_built"][(str(trained_run.path), "bundle")]["path"] == path


def test_share_page_tflite_compares_32_and_8_bit_in_plain_words(trained_run):
    at = open_page("share", tl_selected_run=str(trained_run.path))
    at.button(key="share_make_tflite").click().run(timeout=180)
    assert not at.exception
    exact, small = at.session_state["share_built"][(str(trained_run.path), "tflite-pair")]["reports"]
    pictures = len(trained_run.record.validation)
    assert not exact["quantized"] and small["quantized"] and exact["pictures"] == small["pictures"] == pictures
    assert small["size_bytes"] < exact["size_bytes"] / 2 and exact["ms_per_picture"] > 0 < small["ms_per_picture"]
    assert exact["accuracy"] == pytest.approx(trained_run.record.val_accuracy, abs=1e-6)  # 32-bit = the model
    page = texts(at).replace("*", "")
    right = [f"{r['accuracy']:.0%} ({round(r['accuracy'] * pictures)})" for r in (exact, small)]
    assert f"| Right on the {pictures} held-back pictures | {right[0]} | {right[1]} |" in page
    same = [f"{round(r['agreement'] * pictures)} of {pictures}" for r in (exact, small)]
    assert f"| Same answer as the original model | {same[0]} | {same[1]} |" in page
    assert re.search(r"The 8-bit file is \d+\.\d× smaller, ", page)
    assert any(b.help.endswith("-8bit.tflite") for b in at.download_button)

    at.button(key="share_make_savedmodel").click().run(timeout=180)
    assert not at.exception
    archive = at.session_state["share_built"][(str(trained_run.path), "savedmodel")]["path"]
    with zipfile.ZipFile(archive) as saved:
        assert "saved_model.pb" in saved.namelist()
    assert any(b.label.startswith("Download the SavedModel") for b in at.download_button)


# -- Share: import -----------------------------------------------------------------------------
def test_share_page_imports_teachable_machine_and_it_predicts_like_teachable_machine(teachable_machine, trained_run):
    from tlcore.runs import load_run

    at = open_page("share")
    import_tm(at, teachable_machine)
    assert any("Imported" in s.value and "dog, cat" in s.value for s in at.success)
    path = at.session_state["tl_selected_run"]
    assert path in at.session_state["tl_session_runs"]
    assert at.selectbox(key="share_run").value == path  # the Export tab now offers it

    expected = json.loads((teachable_machine / "expected.json").read_text())
    run = load_run(path)  # from disk, as the Runs page lists it
    assert run.class_names == expected["labels"]
    pictures = [expected_picture(teachable_machine, item["image"]) for item in expected["expected"]]
    for prediction, item in zip(run.predict(pictures), expected["expected"]):
        assert prediction.top == item["top"]
        for name, probability in item["probabilities"].items():
            assert prediction.probabilities[name] == pytest.approx(probability, abs=1e-4)

    # Listed on Runs, chosen on Test and Evaluate
    switch(at, "runs").run()
    assert not at.exception and len(at.dataframe[0].value) >= 2
    switch(at, "test").run()
    assert at.selectbox(key="test_run").value == path
    switch(at, "evaluate").run()
    assert not at.exception
    assert at.selectbox(key="eval_run").value == path
    assert not at.radio  # it came without validation pictures: only an upload can be checked
    assert "This model came without validation pictures" in texts(at)
    # Evaluate it on a labelled zip: the right answers are expected.json's tops for "cat"
    files = {f"cat/{i}.jpg": picture.read_bytes() for i, picture in enumerate(pictures[:6])}
    files.update({f"Dog/{i}.jpg": picture.read_bytes() for i, picture in enumerate(pictures[7:])})
    files["flowers/x.jpg"] = pictures[6].read_bytes()
    at.file_uploader(key="eval_zip").set_value(("tm.zip", zip_of(files), "application/zip")).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    right = (sum(item["top"] == "cat" for item in expected["expected"][:6])
             + sum(item["top"] == "dog" for item in expected["expected"][7:]))
    assert card_values(at)["Right answers"] == [f"{right / 9:.0%}"]
    assert any("flowers" in w.value for w in at.warning)
    if right < 9:  # flowers called cats and dogs: mistakes, and where the model looked
        at.toggle(key="eval_show_gradcam").set_value(True).run(timeout=TIMEOUT)
        assert not at.exception
        assert not any("could not" in str(c.value) for c in at.caption)

    # Its network as a starting point on the Model page
    switch(at, "share").run()
    at.button(key="share_tm_as_start").click().run(timeout=TIMEOUT)
    assert not at.exception
    from tlcore.backbones import BACKBONES, library_weights_file

    kept = library_weights_file(BACKBONES["mobilenet_v2_035"])
    assert kept is not None and at.session_state["tl_settings"].weights == str(kept)
    switch(at, "model").run()
    assert not at.exception
    assert at.radio(key=key_of(at, "model", "backbone")).value == "mobilenet_v2_035"
    assert at.radio(key=key_of(at, "model", "weights")).value == "file"


def test_share_page_takes_the_zip_teachable_machine_gives(teachable_machine):
    at = open_page("share")
    at.file_uploader(key="share_tm_files").set_value(
        [("labels.txt", (teachable_machine / "labels.txt").read_bytes(), "text/plain")]).run()
    assert not at.exception
    assert any("Now add `keras_model.h5` too" in i.value for i in at.info)
    assert "tl_session_runs" not in at.session_state or not at.session_state["tl_session_runs"]

    at.file_uploader(key="share_tm_files").set_value([("keras_model.h5", b"not a model", "application/octet-stream"),
                                                      ("labels.txt", b"0 dog\n1 cat\n", "text/plain")]).run()
    assert not at.exception
    assert any("could not be imported" in e.value and "keras\\_model\\.h5" in e.value for e in at.error)

    exported = zip_of({"keras_model.h5": (teachable_machine / "keras_model.h5").read_bytes(),
                       "labels.txt": (teachable_machine / "labels.txt").read_bytes()})
    at.file_uploader(key="share_tm_files").set_value([("converted_keras.zip", exported, "application/zip")]).run()
    assert not at.exception
    assert any("Imported" in s.value for s in at.success)
    assert at.session_state["tl_loaded_runs"][at.session_state["tl_selected_run"]].class_names == ["dog", "cat"]


def test_share_page_refuses_a_model_with_code_in_plain_words(tmp_path, folders):
    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Lambda(lambda v: v / 255.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x)).save(tmp_path / "sneaky.keras")
    at = open_page("share")  # the server's own folders (spaces, the queue's journal) are made now
    before = sorted(p.name for p in folders["workspace"].glob("*"))
    at.file_uploader(key="share_model_files").set_value(
        [("sneaky.keras", (tmp_path / "sneaky.keras").read_bytes(), "application/octet-stream"),
         ("labels.txt", b"a\nb\n", "text/plain")]).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("contains code (a Lambda layer) and was not opened, for safety" in e for e in errors), errors
    assert "Traceback" not in texts(at)
    after = sorted(p.name for p in folders["workspace"].glob("*"))
    assert after == before  # nothing was added

    at.file_uploader(key="share_model_files").set_value(
        [("damaged.keras", b"PK\x03\x04 not really a model", "application/octet-stream")]).run()
    assert not at.exception
    assert any("not a" in e.value or "damaged" in e.value for e in at.error)


def test_share_page_imports_its_own_export_zip(trained_run):
    at = open_page("share", tl_selected_run=str(trained_run.path))
    at.button(key="share_make_bundle").click().run()
    bundle = at.session_state["share_built"][(str(trained_run.path), "bundle")]["path"]
    at.file_uploader(key="share_model_files").set_value(
        [(Path(bundle).name, Path(bundle).read_bytes(), "application/zip")]).run()
    assert not at.exception
    assert any("Imported" in s.value for s in at.success), [e.value for e in at.error]
    new_path = at.session_state["tl_selected_run"]
    assert new_path != str(trained_run.path) and new_path in at.session_state["tl_session_runs"]
    from tlcore.runs import load_run

    copy = load_run(new_path)
    picture = trained_run.record.validation[0].file
    a, b = trained_run.predict([trained_run.path / picture])[0], copy.predict([trained_run.path / picture])[0]
    assert copy.class_names == trained_run.class_names
    np.testing.assert_allclose(list(a.probabilities.values()), list(b.probabilities.values()), atol=1e-6)


# -- Share: a lesson in one file ---------------------------------------------------------------
def test_lesson_file_round_trip_restores_pictures_settings_and_runs(trained_run, monkeypatch, tmp_path):
    from tlcore.data import load_demo

    settings = TrainingSettings(backbone="mobilenet_v2_035", weights="none", input_size=96, learning_blocks=0, epochs=7,
                    fine_tune_epochs=0, batch_size=16, learning_rate=1e-3, augment=["flip"])
    demo = load_demo(image_size=96)
    at = open_page("share", tl_dataset=demo, tl_dataset_name="Shapes lesson", tl_settings=settings,
                   tl_session_runs=[str(trained_run.path)], tl_selected_run=str(trained_run.path))
    assert at.multiselect(key="share_project_runs").value == [str(trained_run.path)]
    at.button(key="share_make_project").click().run()
    assert not at.exception
    entry = at.session_state["share_built"][("project", "lesson")]
    lesson = Path(entry["path"]).read_bytes()
    assert Path(entry["path"]).suffix == ".tlproject"
    assert any(b.label.startswith("Download “Shapes lesson”") for b in at.download_button)

    # Another computer: a fresh session and an empty workspace
    monkeypatch.setenv("TLCORE_WORKSPACE", str(tmp_path / "other-workspace"))
    other = open_page("share")
    other.file_uploader(key="share_project_file").set_value(("lesson.tlproject", lesson, "application/zip")).run()
    assert not other.exception, other.exception
    assert other.session_state["tl_dataset"].class_names == demo.class_names
    assert other.session_state["tl_dataset"].counts == demo.counts
    assert other.session_state["tl_dataset_name"] == "Shapes lesson"
    assert other.session_state["tl_settings"] == settings
    restored = tmp_path / "other-workspace" / trained_run.path.name
    assert (restored / "model.keras").is_file()
    assert other.session_state["tl_session_runs"] == [str(restored)]
    assert other.session_state["tl_selected_run"] == str(restored)
    page = texts(other)
    assert "Opened the lesson Shapes lesson" in page.replace("*", "")
    assert "90 pictures in 3 classes (circle, square, triangle)" in page
    switch(other, "runs").run()
    assert not other.exception
    assert len(other.dataframe[0].value) == 1
    switch(other, "model").run()
    assert other.number_input(key=key_of(other, "model", "epochs")).value == 7

    switch(other, "share").run()
    other.file_uploader(key="share_project_file").set_value(("x.tlproject", b"nope", "application/zip")).run()
    assert not other.exception
    assert any("could not be opened" in e.value for e in other.error)


def test_share_page_refuses_a_lesson_that_writes_outside_the_workspace(folders, monkeypatch, tmp_path):
    """An uploaded lesson is untrusted: a run named '../escaped_run' refuses it whole, in plain words,
    and nothing is written (in the workspace or beside it)."""
    from bad_inputs import lesson_bytes, manifest, tree

    workspace = tmp_path / "parent" / "workspace"
    workspace.mkdir(parents=True)
    monkeypatch.setenv("TLCORE_WORKSPACE", str(workspace))
    lesson = lesson_bytes(manifest(runs=["../escaped_run"]), {"daisy": 3, "rose": 3},
                          extra=[("runs/../escaped_run/model.keras", b"x"), ("runs/../escaped_run/run.json", b"{}")])
    at = open_page("share")
    before = tree(tmp_path / "parent")  # after the app set up its own folders
    at.file_uploader(key="share_project_file").set_value(("lesson.tlproject", lesson, "application/zip")).run()
    assert not at.exception
    assert [re.sub(r"\\(.)", r"\1", e.value) for e in at.error] == [  # Markdown escapes undone
        "This lesson file is refused: it names a run '../escaped_run' that is not a plain folder name. It "
        "holds a slash. Nothing was opened or written."]
    after = tree(tmp_path / "parent")
    assert after == before, {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert at.session_state["tl_dataset"].class_names == ["circle", "square", "triangle"]  # still the demo

    at.file_uploader(key="share_project_file").set_value(("lesson.tlproject", lesson_bytes(manifest(), {}),
                                                          "application/zip")).run()
    assert [re.sub(r"\\(.)", r"\1", e.value) for e in at.error] == [
        "This lesson file holds no pictures (it has no pictures/ folder). Save the lesson again from the Share "
        "page, or ask for a new copy."]
    assert tree(tmp_path / "parent") == before
