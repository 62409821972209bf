"""The classroom in the app (AppTest): joining, spaces kept apart and restored from the URL, the
teacher's page behind its code, and the one training line (its place, replace after asking,
leave the line, a refresh re-attaches, a restart says what was interrupted)."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from studio_support import (  # noqa: F401  (fixtures are found by name)
    APP, SMALL_WEIGHTS, TIMEOUT, environment, folders, on_page, open_page, space_job, switch, texts, trained_run,
    wait_until_started,
)
from test_app_pages import card_values, pets_zip
from tlcore.settings import TrainingSettings

CODE = "PLANTS-2024"
TINY = TrainingSettings(backbone="mobilenet_v2_035", weights=SMALL_WEIGHTS, input_size=96, epochs=1, batch_size=32)


@pytest.fixture
def classroom(monkeypatch):
    monkeypatch.setenv("TLCORE_MODE", "classroom")
    monkeypatch.setenv("TLCORE_TEACHER_CODE", CODE)
    monkeypatch.setenv("TLCORE_JOIN_URL", "https://192.0.2.10:8501")


def student(name: str) -> AppTest:
    """A new browser tab that joins the class as ``name`` (then on the Learn page)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run(timeout=60)
    assert on_page(at) is None or on_page(at) == "join", on_page(at)
    at.text_input(key="join_name").input(name)
    at.button[0].click().run()  # the form's Join button
    assert not at.exception, at.exception
    return at


def tab_of(space_id: str, page: str = "learn") -> AppTest:
    """A new tab (a refresh, or a bookmark) opening the link with ``?space=space_id``."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["space"] = space_id
    at.run(timeout=60)
    if page != "learn":
        switch(at, page).run()
    assert not at.exception, at.exception
    return at


def space_of(at: AppTest) -> str:
    return at.session_state["tl_space_id"]


def test_a_student_joins_by_name_and_the_link_brings_the_space_back(classroom):
    first = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=60)
    assert "Join the class" in texts(first) and "Type **your name**" in " ".join(m.value for m in first.markdown)
    ana = student("Ana")
    assert ana.query_params["space"] == space_of(ana)
    assert "Your space: **Ana**" in texts(ana)
    switch(ana, "data").run()
    ana.file_uploader(key="data_zip").set_value(("pets.zip", pets_zip(), "application/zip")).run()
    assert ana.session_state["tl_dataset"].counts == {"cats": 3, "dogs": 3}

    again = tab_of(space_of(ana), "data")  # a refresh, a closed tab, or the server restarted
    assert again.session_state["tl_dataset"].counts == {"cats": 3, "dogs": 3}
    assert "Your space: **Ana**" in texts(again)

    taken = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=60)
    taken.text_input(key="join_name").input("  ana ")
    taken.button[0].click().run()
    assert "The name 'ana' is already taken in this class" in texts(taken)
    assert "tl_space_id" not in taken.session_state


def test_a_link_that_is_no_space_or_the_teachers_space_opens_the_join_page(classroom):
    for wanted in ("not-a-space-id", "solo", "../../etc"):
        at = tab_of(wanted)
        assert "was not found on this server" in texts(at), wanted
        assert "tl_dataset" not in at.session_state


def test_two_students_never_see_each_others_pictures_or_runs(classroom, folders, trained_run):
    import shutil

    ana, ben = student("Ana"), student("Ben")
    switch(ana, "data").run()
    ana.file_uploader(key="data_zip").set_value(("pets.zip", pets_zip(), "application/zip")).run()
    anas_runs = folders["workspace"] / "spaces" / space_of(ana) / "runs"
    shutil.copytree(trained_run.path, anas_runs / trained_run.path.name)  # a run Ana trained

    switch(ben, "data").run()
    assert ben.session_state["tl_dataset_name"] == "Shapes (built-in demo)"
    switch(ben, "runs").run()
    assert "No trained model yet" in texts(ben)  # neither Ana's run nor the solo workspace's
    switch(ana, "runs").run()
    assert "No trained model yet" not in texts(ana)


def test_the_teacher_page_needs_its_code(classroom):
    ana = student("Ana")
    switch(ana, "teacher").run()
    assert "teacher code" in texts(ana) and "The class:" not in texts(ana)
    ana.text_input(key="teacher_code").input("GUESS-1234")
    ana.button[0].click().run()
    assert "That is not the teacher code" in texts(ana) and "The class:" not in texts(ana)

    teacher = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=60)
    switch(teacher, "teacher").run()
    teacher.text_input(key="teacher_code").input(" plants2024 ")  # as typed: case, spaces and dash do not matter
    teacher.button[0].click().run()
    assert not teacher.exception
    page = texts(teacher)
    assert "The class: 1 space" in page and "https://192.0.2.10:8501" in page
    table = teacher.dataframe[0].value
    assert list(table["Name"]) == ["Ana"] and list(table["Pictures"]) == [0]


def test_the_line_shows_its_place_asks_before_replacing_and_can_be_left(folders):
    from studio import spaces

    spaces.queue().pause()  # the teacher paused it: nothing starts
    at = open_page("train", tl_settings=TINY)
    at.button(key="train_start").click().run()
    first = space_job()
    assert "Your training is number 1 in line. The teacher has paused trainings" in texts(at)
    assert at.button(key="train_stop").label == "Cancel"

    at.button(key="train_start").click().run()  # again, while it waits
    assert "You already have a training waiting in line" in texts(at)
    at.button(key="train_keep").click().run()
    assert space_job() is first
    at.button(key="train_start").click().run()
    at.button(key="train_replace").click().run()
    assert space_job() is not first and spaces.queue().status("solo").position == 1

    at.button(key="train_stop").click().run()  # leave the line
    assert spaces.queue().status("solo").state == "cancelled"
    assert at.button(key="train_start").disabled is False


def test_a_refresh_during_training_finds_it_again_and_a_restart_says_it_was_interrupted(folders):
    from studio import spaces

    at = open_page("train", tl_settings=dataclasses.replace(TINY, epochs=300, batch_size=8))
    at.button(key="train_start").click().run()
    job = space_job()
    wait_until_started(job)
    deadline = time.monotonic() + 120
    while job.snapshot()["epoch"] < 1 and time.monotonic() < deadline:  # one whole epoch to keep
        time.sleep(0.2)
    refreshed = open_page("train")  # a new session of the same (solo) space
    assert "Training now:" in texts(refreshed) and "300 epochs" in texts(refreshed)
    assert refreshed.button(key="train_stop").disabled is False
    refreshed.button(key="train_stop").click().run()
    job.join(timeout=120)
    refreshed.run()
    assert "Training was stopped early" in texts(refreshed)

    spaces.queue().pause()
    refreshed.button(key="train_start").click().run()  # waits in line, then the server "restarts"
    assert spaces.queue().status("solo").state == "queued"
    import streamlit as st

    st.cache_resource.clear()  # a new server process: a new queue, reading the old one's journal
    after = open_page("train")
    assert "interrupted when the server restarted; start it again" in texts(after)
    assert after.button(key="train_start").disabled is False


def teacher_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=60)
    switch(at, "teacher").run()
    at.text_input(key="teacher_code").input(CODE)
    at.button[0].click().run()
    assert not at.exception and "The class:" in texts(at)
    return at


def test_the_leaderboard_ranks_what_the_pictures_prove_and_says_on_how_many(classroom, trained_run):
    """Cleo's 100 % on 6 pictures (likely 61–100 %) is below Ben's 83 % on 78 (74–90 %) and Ada's
    83 % on 24 (64–93 %); every accuracy says its pictures. A space that never chose a network is
    named with the one it trains with (its first settings, saved on its first look)."""
    import shutil

    from studio import spaces
    from tlcore.spaces import SETTINGS_FILE

    for name, right, pictures in (("Cleo", 6, 6), ("Ada", 20, 24), ("Ben", 65, 78)):
        space = spaces.store().create(name)
        run = space.runs_dir / trained_run.path.name
        shutil.copytree(trained_run.path, run)
        record = json.loads((run / "run.json").read_text())
        record.update(val_accuracy=right / pictures, val_pictures=pictures)
        (run / "run.json").write_text(json.dumps(record))
    ana = student("Ana")
    assert not (spaces.store().get(space_of(ana)).folder / SETTINGS_FILE).exists()
    switch(ana, "train").run()
    assert (spaces.store().get(space_of(ana)).folder / SETTINGS_FILE).is_file()

    teacher = teacher_page()
    table = teacher.dataframe[0].value.set_index("Name")
    assert dict(table["Measured on"]) == {"Ada": "24 pictures · likely 64–93%", "Ana": "—",
                                          "Ben": "78 pictures · likely 74–90%", "Cleo": "6 pictures · likely 61–100%"}
    assert dict(table["Best accuracy"].dropna()) == {"Ada": 83, "Ben": 83, "Cleo": 100}
    board = json.loads(teacher.get("plotly_chart")[0].proto.spec)["data"][0]
    assert [name.split(" ")[0] for name in board["y"]] == ["Cleo", "Ada", "Ben"]  # drawn bottom up: Ben on top
    assert board["text"] == ["100% · on 6", "83% · on 24", "83% · on 78"]
    assert "100 % on 6 pictures may be luck" in texts(teacher)


def test_the_class_table_reads_the_spaces_again_only_when_one_changed(classroom, trained_run, monkeypatch):
    """The projected table redraws every 3 s: 30 spaces' runs are read again only when a space's
    files changed (here a new run), never on an idle tick."""
    import shutil

    from studio import spaces
    from tlcore.spaces import SpaceStore

    space = spaces.store().create("Dee")
    teacher = teacher_page()
    reads = []
    real = SpaceStore.summaries
    monkeypatch.setattr(SpaceStore, "summaries", lambda self, *a, **k: reads.append(1) or real(self, *a, **k))
    teacher.run()
    assert reads == [] and teacher.dataframe[0].value.set_index("Name")["Runs"]["Dee"] == 0
    shutil.copytree(trained_run.path, space.runs_dir / trained_run.path.name)
    teacher.run()
    assert reads == [1] and teacher.dataframe[0].value.set_index("Name")["Runs"]["Dee"] == 1


def test_the_teacher_pauses_the_line_exports_the_class_then_clears_it(classroom, folders):
    import zipfile
    from pathlib import Path

    from studio import spaces

    ana = student("Ana")
    switch(ana, "data").run()
    ana.file_uploader(key="data_zip").set_value(("pets.zip", pets_zip(), "application/zip")).run()
    teacher = teacher_page()
    teacher.toggle(key="teacher_pause").set_value(True).run()
    assert spaces.queue().paused
    teacher.toggle(key="teacher_pause").set_value(False).run()
    assert not spaces.queue().paused

    assert teacher.button(key="teacher_clear").disabled  # not before saying so
    teacher.button(key="teacher_export").click().run()
    exported = Path(teacher.session_state["teacher_export_path"])
    with zipfile.ZipFile(exported) as archive:
        assert "Ana.tlproject" in archive.namelist() and "class.json" in archive.namelist()
    teacher.checkbox(key="teacher_clear_sure").check().run()
    teacher.button(key="teacher_clear").click().run()
    assert "The class was cleared" in texts(teacher)
    assert [space.name for space in spaces.store().spaces() if space.kind == "student"] == []
    cleared = Path(teacher.session_state["teacher_export_path"])
    assert cleared != exported and "Ana.tlproject" in zipfile.ZipFile(cleared).namelist()
    assert "was not found on this server" in texts(tab_of(space_of(ana)))  # her old link says so


def test_an_experiment_waits_in_the_same_line_and_stop_takes_it_out(folders):
    from studio import spaces

    spaces.queue().pause()
    at = open_page("experiments")
    # Transfer vs from scratch: its from-scratch trainings run even where no ImageNet weights are here
    at.button(key="experiments_preset_transfer_vs_scratch").click().run()
    assert not at.exception
    assert spaces.queue().status("solo").state == "queued"
    assert "Waiting for its turn (number 1 in line)" in " ".join(p.proto.text for p in at.get("progress"))
    switch(at, "train").run()
    assert "An experiment is using your place in the training line" in texts(at)
    switch(at, "experiments").run()
    at.button(key="experiments_stop").click().run()
    assert spaces.queue().status("solo").state == "cancelled"
    assert not at.exception and at.button(key="experiments_preset_transfer_vs_scratch").disabled is False


def test_the_teacher_opens_a_students_space_without_showing_its_key(classroom):
    ana = student("Ana")
    teacher = teacher_page()
    teacher.selectbox(key="teacher_open_choice").set_value(space_of(ana)).run()
    teacher.button(key="teacher_open").click().run()
    assert not teacher.exception
    assert "space" not in teacher.query_params  # the address bar is on the projector
    assert "Viewing **Ana**'s space, as the teacher" in texts(teacher)
    assert teacher.code[0].value == f"https://192.0.2.10:8501/?space={space_of(ana)}"  # to give back, on demand
    switch(teacher, "data").run()
    assert "space" not in teacher.query_params and "Viewing **Ana**'s space" in texts(teacher)


def test_a_new_space_starts_on_a_network_whose_weights_are_here(folders):
    import shutil

    from conftest import SHARED_WEIGHTS

    if not SHARED_WEIGHTS.is_file():
        pytest.skip("needs the real MobileNetV2 0.35 weights in ../shared")
    library = folders["cache"] / "weights"
    library.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHARED_WEIGHTS, library / "mobilenet_v2_035.weights.h5")
    try:
        at = open_page("train")
        chosen = at.session_state["tl_settings"]
        assert (chosen.backbone, chosen.weights) == ("mobilenet_v2_035", str(library / "mobilenet_v2_035.weights.h5"))
    finally:
        shutil.rmtree(library)


def test_after_a_restart_the_train_page_shows_the_last_model(trained_run):
    at = open_page("train")  # no training in this server's memory: the space's last run instead
    page = texts(at)
    assert "Your last model" in page and "Press **Start training** for a new one." in page
    assert card_values(at)["Best validation accuracy"].endswith("%")
    from tlcore.runs import list_runs  # other tests may leave a newer run: expect the shown one's epochs
    runs = list_runs(trained_run.path.parent)
    chosen = at.session_state["tl_selected_run"] if "tl_selected_run" in at.session_state else None
    shown = next((run for run in runs if str(run.path) == chosen), runs[0])
    epochs = shown.record.epochs_run
    assert epochs >= 2
    for chart in (json.loads(c.proto.spec) for c in at.get("plotly_chart")):
        assert [list(t["x"]) for t in chart["data"] if t.get("mode") == "lines+markers"] == [list(range(1, epochs + 1))] * 2
