"""The Streamlit pages, driven headless with AppTest: real small models and real pictures.

Nothing here reaches the network: ImageNet weights are never requested (the real
MobileNetV2 0.35 weights file from ../shared is used when present, else weights "none").
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from conftest import SHARED_WEIGHTS  # noqa: E402,F401
from tlcore.settings import TrainingSettings
from studio_support import (  # noqa: E402,F401  (fixtures are found by name)
    APP, ROOT, SMALL_WEIGHTS, TIMEOUT, environment, folders, open_page, space_job, switch, texts, trained_run,
    wait_until_started,
)
PAGES = ["learn", "data", "model", "train", "test", "runs"]


# -- helpers (fixtures are in studio_support.py) ---------------------------------------------------
def png(seed: int, size: int = 64) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def card_values(at: AppTest) -> dict[str, str]:
    """The large result cards' label → value."""
    values = {}
    for element in at.markdown:
        text = str(element.value)
        if 'class="tl-card' in text:
            label = text.split('class="tl-label">')[1].split("<")[0]
            values[label] = text.split('class="tl-value">')[1].split("<")[0]
    return values


# -- every page --------------------------------------------------------------------------------
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_a_fresh_session(page):
    at = open_page(page)
    assert not at.exception
    assert at.title, f"{page} shows no title"
    assert "Traceback" not in texts(at)
    sidebar = " ".join(str(c.value) for c in at.sidebar.caption)
    assert "Pictures:" in sidebar, sidebar  # drawn after the page, also when the page ends early


def test_every_page_is_one_tap_away_on_a_phone():
    """Streamlit folds the sidebar away on a narrow screen: a row of links above each page (shown
    there only, by CSS; the browser test looks) reaches every page without the ">>" menu."""
    from studio.navigation import PAGES

    at = open_page("data")
    bar = [(link.proto.label, link.proto.page) for link in at.get("page_link")][:len(PAGES)]
    assert [label for label, _ in bar] == [entry.title for entry in PAGES]
    assert [page.strip("/") for _, page in bar][1:] == [entry.name for entry in PAGES][1:]


def test_no_tlcore_module_needs_streamlit():
    """Every tlcore module (and studio's words, which holds no Streamlit) imports with
    streamlit made unimportable: the seam between the core and the app cannot erode."""
    script = textwrap.dedent("""
        import importlib, pkgutil, sys
        sys.modules["streamlit"] = None  # any "import streamlit" now raises ImportError
        import tlcore
        names = sorted(m.name for m in pkgutil.walk_packages(tlcore.__path__, "tlcore."))
        for name in names + ["studio.words"]:
            if name.endswith(".__main__"):  # running one is a command, not an import
                continue
            importlib.import_module(name)
        print("imported", len(names))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert int(out.stdout.split("imported")[-1]) >= 30, out.stdout


def test_pages_are_only_reached_through_st_navigation():
    """No pages/ folder (it would switch a deep link to Streamlit's older automatic navigation),
    and every page of the navigation is a render() in app_pages/."""
    from studio.navigation import PAGES

    assert not (ROOT / "pages").exists()
    for entry in PAGES:
        assert (ROOT / "app_pages" / f"{entry.name}.py").is_file(), entry
    ui_setup = [p for p in (ROOT / "app_pages").glob("*.py") if "set_page_config" in p.read_text()]
    assert ui_setup == [], "pages must not repeat app.py's setup"


def test_learn_and_data_pages_do_not_import_tensorflow(folders):
    script = textwrap.dedent(f"""
        import sys
        from streamlit.testing.v1 import AppTest
        at = AppTest.from_file({APP!r}, default_timeout={TIMEOUT})
        at.run()
        from streamlit.util import calc_hash
        at._page_hash = calc_hash("data")  # as studio_support.switch does
        at.run()
        assert not at.exception, at.exception
        print("TF", "tensorflow" in sys.modules or "keras" in sys.modules)
    """)
    env = {"TLCORE_CACHE_DIR": str(folders["cache"]), "TLCORE_WORKSPACE": str(folders["workspace"]),
           "PATH": "/usr/bin:/bin", "HOME": str(folders["cache"])}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "TF False" in out.stdout


def test_start_with_the_demo_opens_the_data_page():
    at = open_page("learn")
    at.button(key="learn_start_demo").click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Your pictures"]
    assert card_values(at)["Pictures"] == "90"
    assert at.session_state["tl_dataset_name"] == "Shapes (built-in demo)"


# -- Data --------------------------------------------------------------------------------------
def pets_zip() -> bytes:
    """2 classes × 3 PNGs, plus one broken .jpg, inside a wrapping folder."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for class_index, name in enumerate(["cats", "dogs"]):
            for i in range(3):
                zf.writestr(f"pets/{name}/{name}_{i}.png", png(10 * class_index + i))
        zf.writestr("pets/dogs/broken.jpg", b"this is not a picture")
    return archive.getvalue()


def test_data_page_loads_a_zip_and_reports_skipped_files():
    at = open_page("data")
    at.file_uploader(key="data_zip").set_value(("pets.zip", pets_zip(), "application/zip")).run()
    assert not at.exception
    cards = card_values(at)
    assert cards["Pictures"] == "6"
    assert cards["Classes"] == "2"
    assert cards["Skipped files"] == "1"
    page = texts(at)
    assert "Read 6 pictures in 2 classes. 1 file was skipped" in page
    assert "dogs/broken.jpg was skipped. It is not a picture." in page
    data = at.session_state["tl_dataset"]
    assert data.counts == {"cats": 3, "dogs": 3}
    assert at.session_state["tl_dataset_name"] == "pets"


def test_a_refresh_brings_back_the_pictures_and_settings_solo():
    """Solo, there is one space, the teacher's: a new session (a refresh, a closed tab, a
    restarted server) finds the pictures and settings the last one left, kept on disk."""
    first = open_page("data")
    first.file_uploader(key="data_zip").set_value(("pets.zip", pets_zip(), "application/zip")).run()
    assert first.session_state["tl_dataset"].counts == {"cats": 3, "dogs": 3}
    kept = Path(first.session_state["tl_dataset"].root)
    assert kept.parts[-2:] == ("solo", "pictures") and sorted(p.name for p in kept.iterdir()) == ["cats", "dogs"]
    assert not first.session_state["tl_dataset"].pixels().flags.writeable  # memory-mapped from the space's file

    again = open_page("data")
    assert again.session_state["tl_dataset"].counts == {"cats": 3, "dogs": 3}
    assert again.session_state["tl_dataset_name"] == "pets"
    assert np.array_equal(again.session_state["tl_dataset"].pixels(), first.session_state["tl_dataset"].pixels())
    assert "Read 6 pictures" not in texts(again)  # restored, not uploaded again


def test_data_page_shows_a_bad_zip_in_plain_words():
    at = open_page("data")
    at.file_uploader(key="data_zip").set_value(("oops.zip", b"not a zip at all", "application/zip")).run()
    assert not at.exception
    assert any("is not a zip file" in e.value for e in at.error)
    assert card_values(at)["Pictures"] == "90"  # the demo is still there


def test_data_page_builds_a_set_class_by_class():
    at = open_page("data")
    at.text_input(key="data_cls_name_0").set_value("apples")
    at.text_input(key="data_cls_name_1").set_value("pears")
    at.file_uploader(key="data_cls_files_0_0").set_value(
        [(f"a{i}.png", png(100 + i), "image/png") for i in range(3)])
    at.file_uploader(key="data_cls_files_0_1").set_value(
        [(f"p{i}.png", png(200 + i), "image/png") for i in range(2)] + [("bad.jpg", b"xx", "image/jpeg")])
    at.run()
    at.button(key="data_cls_build").click().run()
    assert not at.exception
    cards = card_values(at)
    assert (cards["Pictures"], cards["Classes"], cards["Skipped files"]) == ("5", "2", "1")
    assert at.session_state["tl_dataset"].counts == {"apples": 3, "pears": 2}
    assert "pears/bad.jpg was skipped" in texts(at)


def test_data_page_folder_upload_takes_the_class_from_the_parent_folder():
    at = open_page("data")
    files = [(f"fruit/{name}/{name}{i}.png", png(300 + 10 * k + i), "image/png")
             for k, name in enumerate(["lemon", "lime"]) for i in range(2)]
    at.file_uploader(key="data_folder").set_value(files).run()
    assert not at.exception
    assert at.session_state["tl_dataset"].counts == {"lemon": 2, "lime": 2}
    assert at.session_state["tl_dataset_name"] == "fruit"


def test_data_page_renames_and_deletes_classes_without_touching_the_demo(folders):
    at = open_page("data")
    demo_files = sorted(p.name for p in (folders["cache"]).rglob("circle/*.jpg"))
    at.text_input(key=next(w.key for w in at.text_input if w.key.startswith("data_rename_")
                           and w.key.endswith("_0"))).set_value("round").run()
    rename = next(b for b in at.button if b.key.startswith("data_rename_go_") and b.key.endswith("_0"))
    rename.click().run()
    assert not at.exception
    assert at.session_state["tl_dataset"].class_names == ["round", "square", "triangle"]
    delete = next(b for b in at.button if b.key.startswith("data_delete_") and b.key.endswith("_2"))
    delete.click().run()  # one click asks first: 30 pictures are not thrown away by a slip
    assert at.session_state["tl_dataset"].counts == {"round": 30, "square": 30, "triangle": 30}
    assert "Delete the class **triangle** and its 30 pictures?" in texts(at)
    next(b for b in at.button if b.key.startswith("data_delete_no_")).click().run()
    assert "Delete the class" not in texts(at) and len(at.session_state["tl_dataset"]) == 90
    delete = next(b for b in at.button if b.key.startswith("data_delete_") and b.key.endswith("_2"))
    delete.click().run()
    next(b for b in at.button if b.key.startswith("data_delete_yes_")).click().run()
    assert at.session_state["tl_dataset"].counts == {"round": 30, "square": 30}
    assert sorted(p.name for p in folders["cache"].rglob("circle/*.jpg")) == demo_files
    assert "Deleted the class triangle and its 30 pictures." in texts(at)
    at.button(key="data_undo").click().run()  # until the next change, one click puts them back
    assert not at.exception
    back = at.session_state["tl_dataset"]
    assert back.counts == {"round": 30, "square": 30, "triangle": 30} and "Put back 30 pictures." in texts(at)
    assert sorted(n for n in back.names if n.startswith("triangle/")) == [f"triangle/triangle_{i:02d}.jpg"
                                                                          for i in range(30)]
    assert [b for b in at.button if b.key == "data_undo"] == []  # nothing left to undo
    delete = next(b for b in at.button if b.key.startswith("data_delete_") and b.key.endswith("_2"))
    delete.click().run()
    next(b for b in at.button if b.key.startswith("data_delete_yes_")).click().run()

    remove = next(w for w in at.multiselect if w.key.startswith("data_remove_") and w.key.endswith("_0"))
    remove.set_value(remove.options[:2]).run()
    go = next(b for b in at.button if b.key.startswith("data_remove_go_") and b.key.endswith("_0"))
    go.click().run()
    assert not at.exception
    assert at.session_state["tl_dataset"].counts == {"round": 28, "square": 30}


def jpg(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png(seed))).save(buffer, "JPEG")
    return buffer.getvalue()


def test_data_page_adds_pictures_class_by_class_without_decoding_the_set_again():
    at = open_page("data")
    before = at.session_state["tl_dataset"]
    at.text_input(key="data_cls_name_0").set_value("circle")
    at.text_input(key="data_cls_name_1").set_value("hexagon")
    at.file_uploader(key="data_cls_files_0_0").set_value(  # the demo has a circle/circle_00.jpg of its own
        [("circle_00.jpg", jpg(1), "image/jpeg"), ("new.jpg", jpg(2), "image/jpeg")])
    at.file_uploader(key="data_cls_files_0_1").set_value([(f"h{i}.png", png(400 + i), "image/png") for i in range(2)])
    at.run()
    at.button(key="data_cls_append").click().run()
    assert not at.exception
    after = at.session_state["tl_dataset"]
    assert after.counts == {"circle": 32, "hexagon": 2, "square": 30, "triangle": 30}
    assert after.paths[:90] == before.paths  # the demo's pictures kept as they were decoded
    np.testing.assert_array_equal(after.pixels()[:90], before.pixels())
    assert len(set(after.names)) == len(after.names) and "circle/circle_00_1.jpg" in after.names
    assert at.session_state["tl_dataset_name"] == "Shapes (built-in demo)"
    assert "Added 4 pictures to circle (now 32) and hexagon (now 2)." in texts(at)


CAMERA_TAB = ":material/photo_camera: Camera"


def test_data_page_camera_tab_without_a_browser_camera():
    """AppTest has no browser: the tab says it is asking, the rest of the page works, nothing records."""
    from studio.camera import WAITING_FOR_BROWSER

    at = open_page("data")
    assert "The camera turns on only while this tab is open." in texts(at)  # closed: no camera at all
    at.session_state["data_tabs"] = CAMERA_TAB
    at.run()
    assert not at.exception
    page = texts(at)
    assert WAITING_FOR_BROWSER in page
    assert "Into a new set, “Camera pictures” (the demo stays until it has two classes)." in page
    assert "The camera turns on only while this tab is open." not in page
    record = {e.proto.component_name: json.loads(e.proto.json or "{}") for e in at.get("bidi_component")}
    assert record["tl_hold_button"] == {"label": "● Hold to record", "disabled": True, "active": False}
    assert at.selectbox(key="data_camera-class").options == ["New class…"]
    assert card_values(at)["Pictures"] == "90"


def record_bursts():
    """An AppTest script: each (class, seed, count, near_identical) in session_state["bursts"] is
    handed to the Data page's on_save as a camera burst would be; the Saved results are kept."""
    import numpy as np
    import streamlit as st

    from app_pages import data
    from studio import state

    state.ensure_dataset()
    for class_name, seed, count, alike in st.session_state.pop("bursts", []):
        rng = np.random.default_rng(seed)
        if alike:  # a still object: one picture and a little grain
            still = np.repeat(np.linspace(0, 255, 240, dtype=np.uint8)[None, :, None], 240, 0).repeat(3, 2)
            frames = [np.clip(still + rng.integers(-2, 3, still.shape), 0, 255).astype(np.uint8) for _ in range(count)]
        else:
            frames = [rng.integers(0, 256, (240, 240, 3), dtype=np.uint8) for _ in range(count)]
        st.session_state.setdefault("saved", []).append(data.save_recorded(class_name, frames))


def test_camera_bursts_start_a_new_set_that_becomes_the_set_with_its_second_class():
    at = AppTest.from_function(record_bursts, default_timeout=TIMEOUT)
    at.session_state["bursts"] = [("bees", 1, 6, False)]
    at.run()
    assert not at.exception, at.exception
    first = at.session_state["saved"][-1]
    assert (first.joined, first.note) == (6, "Record a second class to use them.")
    assert at.session_state["tl_dataset_name"] == "Shapes (built-in demo)"  # the demo stays meanwhile
    assert at.session_state["data_camera_draft"].counts == {"bees": 6}

    at.session_state["bursts"] = [("wasps", 2, 5, True)]
    at.run()
    second = at.session_state["saved"][-1]
    assert (second.joined, second.note) == (5, "“Camera pictures” is now your picture set.")
    data = at.session_state["tl_dataset"]
    assert at.session_state["tl_dataset_name"] == "Camera pictures" and data.counts == {"bees": 6, "wasps": 5}
    assert "data_camera_draft" not in at.session_state
    # a burst of a still object: kept (a burst is the point), and one calm note for the class
    assert [n for n in data.report.notes if "wasps" in n] == [
        "5 pictures of 'wasps' look nearly the same as another picture of 'wasps' (for example "
        "wasps/camera_0001.jpg and wasps/camera_0002.jpg); a burst from the camera is fine, but varied "
        "pictures teach more."]

    at.session_state["bursts"] = [("bees", 1, 6, False), ("bees", 3, 2, False)]  # the first again: copies
    at.run()
    again, more = at.session_state["saved"][-2:]
    assert (again.joined, again.note) == (0, "6 were exact copies of a picture already in the set, and left out.")
    assert (more.joined, more.note) == (2, "bees has 8 pictures now.")
    data = at.session_state["tl_dataset"]
    assert data.counts == {"bees": 8, "wasps": 5} and len(set(data.names)) == len(data.names)


def test_camera_bursts_can_join_the_demo():
    at = AppTest.from_function(record_bursts, default_timeout=TIMEOUT)
    at.session_state["data_camera_where"] = "add"
    at.session_state["bursts"] = [("cam_ant", 4, 3, False)]
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["saved"][-1].note == "cam_ant has 3 pictures now."  # shown as typed: no "cam\\_ant"
    assert at.session_state["tl_dataset"].counts == {"cam_ant": 3, "circle": 30, "square": 30, "triangle": 30}
    assert at.session_state["tl_dataset_name"] == "Shapes (built-in demo)"


def test_camera_bursts_can_start_a_camera_only_set_beside_a_set_of_ones_own():
    """A student whose set is not the demo may want a camera-only one without deleting classes first."""
    at = AppTest.from_function(record_bursts, default_timeout=TIMEOUT)
    at.session_state["bursts"] = [("bees", 1, 6, False), ("wasps", 2, 6, False)]
    at.run()
    assert at.session_state["tl_dataset_name"] == "Camera pictures"
    assert at.session_state["data_camera_where"] == "add"  # the next burst grows this set, not another one
    at.session_state["bursts"] = [("bees", 3, 2, False)]
    at.run()
    assert at.session_state["tl_dataset"].counts == {"bees": 8, "wasps": 6}

    at.session_state["data_camera_where"] = "new"
    at.session_state["bursts"] = [("cups", 4, 5, False)]
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["tl_dataset"].counts == {"bees": 8, "wasps": 6}  # kept until the new set has 2 classes
    assert at.session_state["data_camera_draft"].counts == {"cups": 5}
    at.session_state["bursts"] = [("plates", 5, 5, False)]
    at.run()
    assert at.session_state["tl_dataset"].counts == {"cups": 5, "plates": 5}
    assert at.session_state["saved"][-1].note == "“Camera pictures” is now your picture set."


def save_photos():
    """An AppTest script: each (class, [(file name, bytes or None)]) in session_state["photos"] is handed
    to the Data page's on_save as the photo button hands photos from a device's camera app."""
    import streamlit as st

    from app_pages import data
    from studio import state
    from studio.photos import Photo

    state.ensure_dataset()
    for class_name, files in st.session_state.pop("photos", []):
        photos = [Photo(name, content, class_name) for name, content in files]
        st.session_state.setdefault("saved", []).append(data.save_recorded(class_name, photos))


def test_photos_from_a_camera_app_take_the_upload_path_and_say_what_was_skipped():
    """Photos are files: the centre square, the checks of any upload, and each file left out named."""
    heic = b"\x00\x00\x00\x18ftypheic" + bytes(64)  # what an iPhone sends when it keeps HEIC
    wide = io.BytesIO()
    Image.fromarray(np.random.default_rng(9).integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(wide, "JPEG")
    at = AppTest.from_function(save_photos, default_timeout=TIMEOUT)
    at.session_state["photos"] = [("bees", [("image.jpg", wide.getvalue()), ("image.jpg", png(11)),
                                            ("IMG_0002.HEIC", heic), ("image.jpg", png(11))])]
    at.run()
    assert not at.exception, at.exception
    first = at.session_state["saved"][-1]
    assert first.joined == 2
    assert first.note == ("Take photos of a second class to use them. 1 was an exact copy of a picture already in "
                          "the set, and left out. bees/IMG_0002.HEIC was skipped. It is an iPhone HEIC photo, which this "
                          "program cannot read: export it as JPEG.")
    draft = at.session_state["data_camera_draft"]
    assert draft.counts == {"bees": 2} and draft.pixels().shape[1:3] == (draft.image_size,) * 2  # centre squares

    at.session_state["photos"] = [("wasps", [("image.jpg", png(12)), ("image.jpg", png(13)), ("lost.jpg", None)])]
    at.run()
    second = at.session_state["saved"][-1]
    assert second.joined == 2 and second.note.startswith("“Camera pictures” is now your picture set. wasps/lost.jpg "), second.note
    assert at.session_state["tl_dataset"].counts == {"bees": 2, "wasps": 2}


# -- Model -------------------------------------------------------------------------------------
def test_model_slider_changes_the_trainable_parameter_count():
    at = open_page("model")
    learning = {m.label: m.value for m in at.metric}["Parameters that learn"]
    head = {m.label: m.value for m in at.metric}["New head (3 classes)"]
    assert learning == head  # depth 0: only the head learns
    at.slider(key="model_depth").set_value(3).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["Parameters that learn"].replace(",", "")) > int(learning.replace(",", ""))
    settings = at.session_state["tl_settings"]
    # fine-tuning switched on with the slider, for TrainingSettings' one default: as many epochs as the head's
    assert at.number_input(key="model_ft_epochs").value == settings.epochs
    assert settings.learning_blocks == 3 and settings.fine_tune_epochs == settings.epochs
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    colours = chart["data"][0]["marker"]["color"]
    from studio.figures import LEARNING_COLOUR

    assert colours.count(LEARNING_COLOUR) == 3  # three blocks drawn as learning

    at.slider(key="model_depth").set_value(0).run()
    assert at.session_state["tl_settings"].fine_tune_epochs == 0  # never fine-tune with depth 0


def test_model_page_from_scratch_and_other_backbone():
    at = open_page("model")
    at.radio(key="model_backbone").set_value("mobilenet_v2_035").run()
    at.radio(key="model_weights").set_value("none").run()
    assert not at.exception
    settings = at.session_state["tl_settings"]
    assert settings.backbone == "mobilenet_v2_035" and settings.weights == "none"
    assert settings.fine_tune_epochs == 0
    # the choice survives a visit to another page
    switch(at, "learn").run()
    switch(at, "model").run()
    assert at.radio(key="model_backbone").value == "mobilenet_v2_035"
    assert at.radio(key="model_weights").value == "none"


def test_model_page_small_cnn_starts_from_random_weights():
    at = open_page("model")
    at.radio(key="model_backbone").set_value("small_cnn").run()
    assert not at.exception
    settings = at.session_state["tl_settings"]
    assert settings.backbone == "small_cnn" and settings.weights == "none" and settings.from_scratch
    assert "has never seen ImageNet: it always starts from random weights" in texts(at)
    assert not [r for r in at.radio if r.key == "model_weights"]  # nothing to choose


@pytest.mark.skipif(not SHARED_WEIGHTS.is_file(), reason="needs ../shared weights")
def test_model_page_adds_an_uploaded_weights_file_new_or_old_format(tmp_path):
    from tlcore.backbones import BACKBONES, library_weights_file
    from tlcore.backbones.factory import create_backbone

    spec = BACKBONES["mobilenet_v2_035"]
    at = open_page("model", tl_settings=TrainingSettings(backbone="mobilenet_v2_035"))
    uploader = at.file_uploader(key="model_weights_file_mobilenet_v2_035")
    uploader.set_value((SHARED_WEIGHTS.name, SHARED_WEIGHTS.read_bytes(), "application/octet-stream")).run()
    assert not at.exception
    assert at.radio(key="model_weights").value == "file"
    assert at.session_state["tl_settings"].weights == str(library_weights_file(spec))

    # the older .h5 format (as Keras downloads ImageNet weights) is converted, so it still loads later
    legacy_format = pytest.importorskip("keras.src.legacy.saving.legacy_h5_format")
    import h5py

    legacy = tmp_path / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    with h5py.File(legacy, "w") as handle:
        legacy_format.save_weights_to_hdf5_group(handle, create_backbone(spec, 96, str(SHARED_WEIGHTS)))
    at.file_uploader(key="model_weights_file_mobilenet_v2_035").set_value(
        (legacy.name, legacy.read_bytes(), "application/octet-stream")).run()
    assert not at.exception and not at.error
    create_backbone(spec, 96, str(library_weights_file(spec)))  # loads without error

    at.file_uploader(key="model_weights_file_mobilenet_v2_035").set_value(
        ("other.weights.h5", b"not weights", "application/octet-stream")).run()
    assert not at.exception
    assert any("does not fit" in e.value for e in at.error), [e.value for e in at.error]


@pytest.mark.skipif(not SHARED_WEIGHTS.is_file(), reason="needs ../shared weights")
def test_model_page_starts_from_the_weights_file_when_imagenet_is_not_here(folders):
    """Offline, a network whose ImageNet weights are missing but whose weights file was added
    starts from that file (ImageNet would fail at Start); a choice made on it then stays."""
    import shutil

    from tlcore.backbones import BACKBONES, library_weights_file

    spec = BACKBONES["mobilenet_v2_035"]
    (folders["cache"] / "weights").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHARED_WEIGHTS, folders["cache"] / "weights" / "mobilenet_v2_035.weights.h5")
    at = open_page("model")  # a new space: the default network, then the one with its file here
    at.radio(key="model_backbone").set_value("mobilenet_v2_035").run()
    assert not at.exception
    assert at.radio(key="model_weights").value == "file"
    assert at.session_state["tl_settings"].weights == str(library_weights_file(spec))
    at.radio(key="model_weights").set_value("imagenet").run()
    at.slider(key="model_depth").set_value(1).run()  # another change on the same network keeps it
    assert at.radio(key="model_weights").value == "imagenet"


def test_model_page_says_what_augmentation_costs_with_these_settings():
    from app_pages.model import augmentation_words

    at = open_page("model")
    at.toggle(key="model_aug_flip").set_value(True).run()
    assert not at.exception
    page = texts(at)
    assert "Each picture and 4 changed copies of it go through the frozen network once" in page
    assert "Each picture and 4 changed copies of it go once through the frozen network, then the new head" in page
    assert "no fast path" not in page
    at.slider(key="model_depth").set_value(2).run()  # fine-tuning: the pictures change anew every epoch
    page = texts(at)
    assert "every picture is changed anew and goes through the whole network in every epoch" in page
    assert "The new head learns on pictures changed anew each epoch" in page
    assert "changed copies" not in augmentation_words(0, every_epoch=False)


# -- Train -------------------------------------------------------------------------------------
def test_train_page_runs_a_real_training_and_shows_curves_and_summary():
    from tlcore.data import load_demo

    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=SMALL_WEIGHTS, input_size=96, learning_blocks=0,
                    epochs=2, fine_tune_epochs=0, batch_size=32, learning_rate=1e-3, augment=[])
    at = open_page("train", tl_dataset=load_demo(image_size=96), tl_dataset_name="Shapes (built-in demo)",
                   tl_settings=settings)
    at.button(key="train_start").click().run()
    assert not at.exception
    job = space_job()
    # clicking around and switching pages neither stops nor restarts the job
    switch(at, "runs").run()
    switch(at, "train").run()
    assert space_job() is job
    job.join(timeout=240)
    assert not job.running and job.error is None, job.error
    at.run()
    assert not at.exception
    charts = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert len(charts) == 2
    for chart in charts:
        lines = [trace for trace in chart["data"] if trace.get("mode") == "lines+markers"]
        assert len(lines) == 2
        assert all(len(trace["x"]) == 2 and list(trace["x"]) == [1, 2] for trace in lines)
    cards = card_values(at)
    assert cards["Best validation accuracy"].endswith("%")
    record = job.run.record  # the headline number says how many pictures it rests on, and its likely range
    assert (f"Training finished: {record.val_accuracy:.0%} right on {record.val_pictures} validation pictures "
            "(likely ") in texts(at)
    summary = "\n".join(e.value for e in at.markdown).replace("<wbr>", "")
    assert f"on {record.val_pictures} pictures it never learned from (epoch {record.best_epoch}) · likely " in summary
    if SMALL_WEIGHTS == "none":  # without ../shared: from scratch, every block learns
        assert "From scratch every block learns, so every picture went through the whole network" in summary
    else:  # what happened, in words, not "Fast path: Used"
        assert "Your pictures went through the frozen network once, so training took seconds." in summary
    assert "Fast path" not in summary
    assert cards["Training time"].endswith(" s")
    assert "test" in [link.proto.page for link in at.get("page_link")]  # "Test it on new pictures"
    assert str(job.run.path) in at.session_state["tl_session_runs"]


def test_train_page_stop_keeps_the_best_model_so_far():
    from tlcore.data import load_demo

    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=SMALL_WEIGHTS, input_size=96, learning_blocks=0,
                    epochs=200, fine_tune_epochs=0, batch_size=8, learning_rate=1e-3, augment=[])
    at = open_page("train", tl_dataset=load_demo(image_size=96), tl_settings=settings)
    at.button(key="train_start").click().run()
    job = space_job()
    wait_until_started(job)
    deadline = time.monotonic() + 120
    while job.running and job.snapshot()["epoch"] < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    at.run()  # the live view, with Stop enabled
    at.button(key="train_stop").click().run()
    if job.running:  # said in the page, under the buttons: a toast covered Start on a phone
        assert "Stopping after this step… the best model so far is kept." in texts(at)
    assert not at.toast
    job.join(timeout=120)
    assert not job.running
    at.run()
    assert not at.exception
    assert "Training was stopped early" in texts(at)
    points = job.run.record.epochs_run
    assert 1 <= points < 200
    # whole epochs only: as many points as the record has, and the best one named
    record = job.run.record
    assert f"after {points} whole epoch" in texts(at)
    assert f"the best was epoch {record.best_epoch}" in texts(at)
    for chart in (json.loads(c.proto.spec) for c in at.get("plotly_chart")):
        for trace in (t for t in chart["data"] if t.get("mode") == "lines+markers"):
            assert list(trace["x"]) == list(range(1, points + 1))


def test_train_page_explains_missing_imagenet_weights():
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights="imagenet", input_size=96, learning_blocks=0,
                    epochs=1, fine_tune_epochs=0, batch_size=32, learning_rate=1e-3, augment=[])
    import keras

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no internet in tests")

    with pytest.MonkeyPatch.context() as patch:  # never reach the network
        patch.setattr(keras.utils, "get_file", offline)
        patch.setattr("keras.src.utils.file_utils.get_file", offline)
        at = open_page("train", tl_settings=settings)
        at.button(key="train_start").click().run()
        space_job().join(timeout=120)
        at.run()
    assert not at.exception
    page = texts(at)
    assert "are not on this computer" in page
    assert "Ways out" in page and "Add a weights file" in page
    assert "tlcore fetch-weights" not in page  # no command lines for a teacher


# -- Test and Runs -----------------------------------------------------------------------------
def test_test_page_predicts_an_uploaded_picture(trained_run):
    from tlcore.data import demo_folder

    circle = (demo_folder() / "circle" / "circle_00.jpg").read_bytes()
    at = open_page("test", tl_selected_run=str(trained_run.path))
    assert at.selectbox(key="test_run").value == str(trained_run.path)
    at.file_uploader(key="test_files").set_value(
        [("circle.jpg", circle, "image/jpeg"), ("broken.jpg", b"nope", "image/jpeg")]).run()
    assert not at.exception
    answers = [v for k, v in card_values(at).items() if k == "The model says"]
    big = [str(e.value) for e in at.markdown if 'class="tl-value"' in str(e.value)]
    assert len(big) == 1 and any(name in big[0] for name in ("circle", "square", "triangle"))
    assert answers
    bars = at.get("progress")
    assert len(bars) == 3  # top 3 classes for the one readable picture
    assert any("broken.jpg cannot be used. It is not a picture." in e.value for e in at.error)


@pytest.mark.skipif(not SHARED_WEIGHTS.is_file(), reason="needs ../shared: real weights tell photos from drawings")
def test_test_page_says_when_a_picture_is_none_of_its_classes(trained_run):
    from conftest import FLOWERS

    photo = sorted((FLOWERS / "daisy").glob("*.jpg"))[0].read_bytes()  # a photo, shown to a model of drawings
    at = open_page("test", tl_selected_run=str(trained_run.path))
    at.file_uploader(key="test_files").set_value([("daisy.jpg", photo, "image/jpeg")]).run()
    assert not at.exception
    big = [str(e.value) for e in at.markdown if 'class="tl-value"' in str(e.value)]
    assert len(big) == 1 and "This doesn&#x27;t look like any of your classes" in big[0]
    assert "An &quot;other&quot; class teaches it what else it may see" in " ".join(
        str(e.value) for e in at.markdown)


def test_test_page_held_back_tab_answers_only_its_own_pictures(trained_run):
    """"Try 6 of them" shows the held-back pictures' answers, not the uploaded ones' first."""
    from app_pages.test import HELD_BACK_TAB, UPLOAD_TAB
    from tlcore.data import demo_folder

    circle = (demo_folder() / "circle" / "circle_00.jpg").read_bytes()
    at = open_page("test", tl_selected_run=str(trained_run.path))
    at.file_uploader(key="test_files").set_value([("my_circle.jpg", circle, "image/jpeg")]).run()
    assert len(at.get("progress")) == 3  # the upload's answer (top 3 bars)
    at.session_state["test_tabs"] = HELD_BACK_TAB
    at.run()
    assert not at.get("progress") and "Upload a few pictures" not in texts(at)  # nothing asked yet
    at.button(key="test_held_back").click().run()
    assert not at.exception

    def picture_captions():
        return [caption for image in at.get("image") for caption in image.captions]

    assert len(picture_captions()) == 6 and not any("my_circle.jpg" in c for c in picture_captions())
    assert len(at.get("progress")) == 3 * 6  # six held-back pictures, three bars each
    at.session_state["test_tabs"] = UPLOAD_TAB
    at.run()
    assert len(at.get("progress")) == 3 and ["my_circle.jpg" in c for c in picture_captions()] == [True]


def test_run_labels_name_the_network_and_how_good_before_the_weights(trained_run):
    from studio.words import run_label

    label = run_label(trained_run, mine=True)
    pictures = trained_run.record.val_pictures  # a label never shows an accuracy without its pictures
    assert re.fullmatch(rf"\d\d-\d\d \d\d:\d\d · MobileNetV2 \(0\.35\) · \d+% right \({pictures} pictures\) · "
                        r"[^·]+ · this session", label), label


def test_a_headline_accuracy_says_how_many_pictures_and_where_it_likely_lies():
    from types import SimpleNamespace

    from studio.words import accuracy_text, interval_text, measured_on, near_copies_words
    from tlcore.runs.record import RunRecord

    assert accuracy_text(20 / 24, 24) == "83% right on 24 pictures (likely 64–93%)"
    assert accuracy_text(1.0, 6, what="validation pictures") == "100% right on 6 validation pictures (likely 61–100%)"
    assert accuracy_text(20 / 24, 24, short=True) == "83% right (24 pictures)"
    assert (interval_text(None, 24), interval_text(0.5, 0), accuracy_text(None, 0)) == ("", "", "not measured")
    assert (measured_on(1.0, 6), measured_on(None, 0)) == ("6 pictures · likely 61–100%", "—")
    # Frames of one camera burst on both sides of the split: the number flatters, and the words say so first.
    burst = RunRecord("r", "mobilenet_v2_035", "MobileNetV2", "imagenet", "ImageNet", 96, ("a", "b"),
                      val_accuracy=1.0, val_pictures=12, val_near_copies=12)
    assert burst.validation_too_kind and near_copies_words(burst).startswith("12 of its 12 validation pictures are "
                                                                             "near-copies of training pictures")
    assert near_copies_words(SimpleNamespace(validation_too_kind=False)) == ""
    assert burst.replace(val_near_copies=2).validation_too_kind is False  # a few look-alikes change little


def test_a_run_counts_validation_pictures_with_a_near_copy_among_the_training_ones():
    """A camera burst split in two: every validation frame has a twin in training; drawn shapes do not."""
    from types import SimpleNamespace

    from tlcore.runs.run import _near_copies

    trainer = SimpleNamespace(train_indices_=np.array([0, 1, 2, 3]), val_indices_=np.array([4, 5, 6]))
    burst = SimpleNamespace(look_hashes=np.array([7, 7, 7, 0xFF00, 0xFF01, 7, 0xFFFF_FFFF_0000_0000], dtype=np.uint64))
    assert _near_copies(trainer, burst) == 2  # 0xFF01 is 0xFF00 but one bit; the last differs from all in 32+ bits


def test_a_weights_file_is_never_called_the_students_own(monkeypatch, tmp_path):
    """In a class the teacher added the weights file: a student told "your weights file" looks
    for a file they never had."""
    from app_pages.train import training_words
    from tlcore.data import load_demo

    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=str(tmp_path / "mobilenet_v2_035.weights.h5"))
    demo = load_demo(image_size=32)
    monkeypatch.setenv("TLCORE_MODE", "classroom")
    words = training_words(settings, demo, "Shapes")
    assert "the weights file added on the teacher's computer \\(mobilenet\\_v2\\_035\\.weights\\.h5\\)" in words
    monkeypatch.delenv("TLCORE_MODE")
    assert "the weights file added on this computer" in training_words(settings, demo, "Shapes")
    from tlcore.runs.record import RunRecord

    record = RunRecord("r", "mobilenet_v2_035", "MobileNetV2", "file", "File: x.h5", 96, ("a", "b"))
    assert record.short_weights == "weights file"


def test_long_sentences_in_big_cards_get_smaller_type(monkeypatch):
    from studio import widgets
    from studio.words import UNFAMILIAR_WORDS

    drawn = []
    monkeypatch.setattr(widgets.st, "markdown", lambda text, **kwargs: drawn.append(text))
    widgets.result_card("The model says", UNFAMILIAR_WORDS, tone="warn")
    widgets.result_card("The model says", "sunflower", tone="good")
    assert 'class="tl-card warn wordy"' in drawn[0] and "wordy" not in drawn[1]


def test_the_fine_tuning_mark_is_never_cut_off():
    """On two lines, on the side of its line with more room: a late start put it past a phone's
    300-px chart ("fine-tuning sta")."""
    from studio.figures import curve_figure

    late, early = (curve_figure({"accuracy": [0.5] * 11}, "accuracy", 11, start).layout.annotations[0]
                   for start in (8, 2))
    assert (late.text, late.xanchor, early.xanchor) == ("fine-tuning<br>starts", "right", "left")


def test_epoch_numbers_stay_upright_and_few():
    from studio.figures import curve_figure, epoch_ticks

    assert epoch_ticks(5) == {"tickmode": "linear", "tick0": 1, "dtick": 1, "tickangle": 0}
    assert epoch_ticks(15)["dtick"] == 2 and epoch_ticks(15)["tick0"] == 1  # 1, 3, 5, ... 15
    assert epoch_ticks(60)["dtick"] == 10 and epoch_ticks(60)["tick0"] == 10
    axis = curve_figure({"accuracy": [0.5] * 15}, "accuracy", 15).layout.xaxis
    assert (axis.dtick, axis.tickangle) == (2, 0)


def test_test_page_live_tab_without_a_browser_camera(trained_run):
    from studio.camera import WAITING_FOR_BROWSER

    at = open_page("test", tl_selected_run=str(trained_run.path))
    assert "The camera turns on only while this tab is open." in texts(at)
    at.session_state["test_tabs"] = ":material/photo_camera: Camera"
    at.run()
    assert not at.exception
    page = texts(at)
    assert WAITING_FOR_BROWSER in page
    assert "Turn the camera on and show it something: the answer appears here." in page
    assert "Upload a few pictures" not in page  # the live tab answers by itself
    assert at.button(key="test_live-freeze").disabled
    assert "It knows 3 classes: circle, square, triangle" in page


def test_runs_page_lists_runs_and_picks_the_one_to_test(trained_run, folders):
    at = open_page("runs")
    assert not at.exception
    assert str(folders["workspace"]) in [c.value for c in at.code]
    table = at.dataframe[0].value
    assert len(table) >= 1 and "MobileNetV2 (0.35)" in set(table["Network"])
    assert not any("fast path" in notes for notes in table["Notes"])  # no jargon in the table
    assert len(at.get("plotly_chart")) == 2
    at.button(key="runs_use").click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Test your model"]


def cloned_run(run, folders, name: str, **changes):
    """A copy of ``run`` in the workspace under ``name`` (newer than every real run), its run.json
    changed by ``changes``; remove it when done (the workspace is the module's)."""
    import shutil

    target = folders["workspace"] / name
    shutil.copytree(run.path, target)
    record = json.loads((target / "run.json").read_text())
    record.update(changes)
    (target / "run.json").write_text(json.dumps(record))
    return target


def test_test_page_says_an_imported_model_has_no_held_back_pictures(trained_run, folders):
    import shutil

    from app_pages.test import HELD_BACK_TAB, IMPORTED_WORDS

    imported = cloned_run(trained_run, folders, "20990101-000000-imported", imported=True, validation=[],
                          val_accuracy=None, val_pictures=0, settings=None)
    shutil.rmtree(imported / "validation", ignore_errors=True)
    try:
        at = open_page("test", tl_selected_run=str(imported), test_tabs=HELD_BACK_TAB)
        assert not at.exception
        assert IMPORTED_WORDS in texts(at)
        assert "The validation pictures were held back" not in texts(at)
        assert [b for b in at.button if b.key == "test_held_back"] == []  # no "Try 6 of them" that does nothing
    finally:
        shutil.rmtree(imported)


def test_runs_page_shows_what_matters_first_and_runs_with_the_same_curves(trained_run, folders):
    """At 1280 px what tells runs apart, then blocks, epochs and time, before the wide columns; runs
    trained alike draw one line, so the later ones are dashed and the page says why."""
    import shutil

    twins = [cloned_run(trained_run, folders, f"20990101-00000{n}-mobilenet_v2_035", created=f"2099-01-01T00:00:0{n}")
             for n in (1, 2)]
    try:
        at = open_page("runs")
        assert not at.exception
        table = at.dataframe[0].value
        assert list(table.columns) == ["Trained", "Network", "Weights", "Accuracy", "Likely", "Blocks", "Epochs",
                                       "Time", "Ended", "Picture set", "Pictures", "Notes"]
        record = trained_run.record
        assert list(table["Accuracy"])[-1] == f"{record.val_accuracy:.0%} ({record.val_pictures} pictures)"
        assert re.fullmatch(r"\d+–\d+%", list(table["Likely"])[-1])
        at.multiselect(key="runs_compare").set_value([str(twin) for twin in twins] + [str(trained_run.path)]).run()
        assert "3 models have the same curves" in texts(at)  # the twins and the run they copy
        for chart in (json.loads(c.proto.spec) for c in at.get("plotly_chart")):
            assert [trace["line"]["dash"] for trace in chart["data"]] == ["solid", "dash", "dot"]
    finally:
        for twin in twins:
            shutil.rmtree(twin)


def test_runs_page_never_shows_a_student_the_servers_folder(monkeypatch, folders):
    """In a classroom the folder's name is the student's space key: not on their (projected) screen."""
    monkeypatch.setenv("TLCORE_MODE", "classroom")
    monkeypatch.setenv("TLCORE_TEACHER_CODE", "PLANTS-2024")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run(timeout=60)
    at.text_input(key="join_name").input("Ana")
    at.button[0].click().run()  # the join form's button
    switch(at, "runs").run()
    assert not at.exception
    assert not at.code and str(folders["workspace"]) not in texts(at)
    assert "They are kept on your teacher's computer." in texts(at)


def test_model_page_measures_the_chosen_backbones_speed_on_this_computer():
    at = open_page("model")
    at.radio(key="model_backbone").set_value("mobilenet_v2_035").run()
    at.button(key="model_measure_speed").click().run()
    text = " ".join(m.value for m in at.markdown)
    assert "On this computer:" in text and "ms to answer for one picture" in text
    assert 0 < at.session_state["model_speed_ms"]["mobilenet_v2_035"] < 5000


# -- words the pages use ---------------------------------------------------------------------------
def test_progress_words_follow_the_training_snapshot():
    from studio.words import progress_line

    base = {"total_epochs": 10, "steps_per_epoch": 10, "epoch": 0, "step": 0, "final": False,
            "extracted": 0, "extract_total": 78}
    looking = "Looking at each picture once with the frozen network…"
    assert progress_line({**base, "phase": "extracting"}) == (0.0, f"{looking} 0 of 78 pictures")
    assert progress_line({**base, "phase": "extracting", "extracted": 39})[0] == 0.5
    # augmented views: 4 changed copies of 59 pictures are 236 copies, not 236 pictures
    views = progress_line({**base, "phase": "extracting", "extracted": 177, "extract_total": 236, "extract_copies": 4})
    assert views == (0.75, "Looking at 4 changed copies of each picture once… 177 of 236 copies")
    head = progress_line({**base, "phase": "head", "epoch": 6, "step": 7})
    assert head == (pytest.approx(0.67), "Training the new head… Epoch 7 of 10 · step 7 of 10")
    # the epoch ended (history has 7 whole epochs), the next has not begun: the step stays at 10
    assert progress_line({**base, "phase": "head", "epoch": 7, "step": 10})[1].endswith("Epoch 8 of 10 · step 10 of 10")
    assert progress_line({**base, "phase": "done", "final": True}) == (1.0, "Finished.")
    assert progress_line({**base, "phase": "stopped", "final": True}) == (1.0, "Stopped. The best model so far was kept.")
    assert progress_line({**base, "phase": "building"}) == (0.0, "Getting ready: building the network…")


def test_cards_break_long_names_only_between_words():
    from studio.widgets import breakable

    assert breakable("hymenoptera_ants_bees") == "hymenoptera_<wbr>ants_<wbr>bees"
    assert breakable("mobilenet_v2.weights.h5") == "mobilenet_<wbr>v2.<wbr>weights.<wbr>h5"
    assert breakable("MobileNetV2 (0.35)") == "MobileNetV2 (0.35)"  # never inside a number
    assert breakable("<b>") == "&lt;b&gt;"


def test_tlcore_log_goes_to_the_terminal_once():
    import logging

    import studio

    before = list(logging.getLogger("tlcore").handlers)
    assert studio.log_to_terminal() in before  # already added when studio was imported
    assert logging.getLogger("tlcore").handlers == before
    assert logging.getLogger("tlcore").getEffectiveLevel() == logging.INFO


# -- defects a teacher saw ---------------------------------------------------------------------------
def folders_and_twins_zip() -> bytes:
    """2 classes; a __MACOSX and a hidden folder (skipped); two near-identical cats (a note)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for class_index, name in enumerate(["cats", "dogs"]):
            for i in range(3):
                zf.writestr(f"pets/{name}/{name}_{i}.png", png(40 + 10 * class_index + i))
        zf.writestr("__MACOSX/pets/._cats.png", b"junk")
        zf.writestr("pets/.hidden/x.png", png(5))
        twin = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        for k in range(2):
            buffer = io.BytesIO()
            Image.fromarray(np.clip(twin.astype(int) + k, 0, 255).astype(np.uint8)).save(buffer, "PNG")
            zf.writestr(f"pets/cats/twin_{k}.png", buffer.getvalue())
    return archive.getvalue()


def test_data_page_names_skipped_folders_and_notes():
    at = open_page("data")
    at.file_uploader(key="data_zip").set_value(("pets.zip", folders_and_twins_zip(), "application/zip")).run()
    assert not at.exception
    page = texts(at)
    assert "Read 8 pictures in 2 classes. 2 folders were skipped" in page
    assert "The folder __MACOSX/ was skipped. It holds the extra files macOS adds to zip files" in page
    assert "The folder .hidden/ was skipped. Hidden folders" in page
    assert "cats/twin_0.png and cats/twin_1.png look nearly the same" in page
    assert any(e.label.startswith("Worth a look (1 note") for e in at.expander)


def test_data_page_changes_reuse_the_decoded_pictures(folders):
    at = open_page("data")
    before = at.session_state["tl_dataset"]
    rename = next(w for w in at.text_input if w.key.startswith("data_rename_") and w.key.endswith("_1"))
    rename.set_value("box").run()
    next(b for b in at.button if b.key.startswith("data_rename_go_") and b.key.endswith("_1")).click().run()
    after = at.session_state["tl_dataset"]
    assert after.class_names == ["box", "circle", "triangle"]
    assert sorted(map(str, after.paths)) == sorted(map(str, before.paths))  # no file written or read again
    assert "tl_work_dir" not in at.session_state or not any(at.session_state["tl_work_dir"].path.iterdir())
    assert "Renamed the class square to box." in texts(at)
    # a name that cannot be a folder name: one plain sentence, nothing lost
    rename = next(w for w in at.text_input if w.key.startswith("data_rename_") and w.key.endswith("_0"))
    rename.set_value("a/b").run()
    next(b for b in at.button if b.key.startswith("data_rename_go_") and b.key.endswith("_0")).click().run()
    assert not at.exception
    assert any("The class name 'a/b' cannot be used" in e.value for e in at.error)
    assert at.session_state["tl_dataset"] is after


def test_test_page_keeps_where_the_model_looked_after_another_page(trained_run):
    at = open_page("test", tl_selected_run=str(trained_run.path))
    at.toggle(key="test_gradcam").set_value(True).run()
    switch(at, "runs").run()
    switch(at, "test").run()
    assert not at.exception
    assert at.toggle(key="test_gradcam").value is True


def test_train_page_says_what_happened_when_training_fails(monkeypatch):
    """An unexpected error (a bug, injected: no real input makes tlcore fail this way) gets one
    plain sentence, and its traceback in an expander for the teacher who asks."""
    from tlcore.data import load_demo
    import tlcore.training.trainer as trainer_module

    def broken_builder(*args, **kwargs):
        raise RuntimeError("the network could not be built (injected fault)")

    monkeypatch.setattr(trainer_module, "build_classifier", broken_builder)
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=SMALL_WEIGHTS, input_size=96, epochs=1,
                                batch_size=32)
    at = open_page("train", tl_dataset=load_demo(image_size=96), tl_settings=settings)
    at.button(key="train_start").click().run()
    job = space_job()
    job.join(timeout=120)
    at.run()
    assert not at.exception
    assert job.details and "injected fault" in job.details and "Traceback" in job.details
    assert [e.value for e in at.error] == [job.error]
    assert "Training stopped because of an error" in job.error
    box = next(e for e in at.expander if e.label == "What happened? (technical details)")
    assert box.code[0].value == job.details.strip()


def test_a_workspace_that_cannot_be_used_is_said_once_in_plain_words(monkeypatch, tmp_path):
    """Nothing could be kept (a file where the folder should be): one sentence and a way out, on
    every page, instead of a crash on each."""
    blocker = tmp_path / "workspace-is-a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TLCORE_WORKSPACE", str(blocker))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=60)
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"The workspace {blocker} is a file, not a folder. Move the file away, or start the Studio again with "
        "another workspace folder (TLCORE_WORKSPACE=FOLDER streamlit run app.py)."]
    assert blocker.read_text() == "not a folder"
