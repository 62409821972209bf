"""The Teacher page's swap test (AppTest): the grid to project, the sentence, the numbers, and the
pictures a model got wrong (the computing itself: test_class_swap.py)."""

from __future__ import annotations

import json
import threading

import pytest

from studio_support import environment, folders, texts  # noqa: F401  (fixtures are found by name)
from test_app_classroom import classroom, student, teacher_page  # noqa: F401
from test_spaces import png, put_pictures
from tlcore.classroom import swap
from tlcore.spaces import SpaceStore


@pytest.fixture
def worker(folders):
    """The class's swap-test worker, new for this test (one per workspace and process)."""
    swap._WORKERS.clear()
    yield lambda: swap.swap_worker(folders["workspace"])
    swap.swap_worker(folders["workspace"]).join(120)
    swap._WORKERS.clear()


def test_the_grid_its_sentence_its_numbers_and_the_wrong_pictures(classroom, folders, worker):
    student("Ana"), student("<b>Bo</b>")
    teacher = teacher_page()
    teacher.button(key="teacher_swap_run").click().run()
    assert worker().join(60)
    teacher.run()
    assert "The swap test needs at least two groups with a trained model." in texts(teacher)

    store = SpaceStore.in_workspace(folders["workspace"])
    bo = store.find("<b>Bo</b>")
    put_pictures(bo, [("rock", "r1.png", png(1)), ("paper", "p1.png", png(2))])
    (folders["workspace"] / "classroom" / "swap.json").write_text(json.dumps({
        "names": ["Ana", "<b>Bo</b>"], "accuracy": [[1.0, 0.5], [0.75, 0.9]], "pictures": [[4, 4], [4, 4]],
        "wrong": [[[], ["pictures/rock/r1.png", "pictures/paper/p1.png", "../../../etc/passwd"]], [[], []]]}))
    teacher.run()
    assert not teacher.exception, teacher.exception
    page = texts(teacher)
    assert ("On average the models do better on their own group's pictures (95%) than on the other groups' "
            "(62%).") in page
    assert ("<b>Bo</b>**'s model does best on everybody else's pictures (75%). Were its pictures the most "
            "varied?") in page
    heatmap = json.loads(teacher.get("plotly_chart")[-1].proto.spec)["data"][0]
    assert heatmap["text"] == [["100%", "50%"], ["75%", "90%"]]
    assert heatmap["y"] == ["Ana's model", "&lt;b&gt;Bo&lt;/b&gt;'s model"]  # drawn as typed, never as markup
    numbers = teacher.dataframe[-1].value
    assert list(numbers["Model"]) == ["<b>Bo</b>", "Ana"]  # the leaderboard on everybody else's pictures
    assert list(numbers["On everybody else's"]) == ["75%", "50%"]

    teacher.selectbox(key="teacher_swap_set").set_value(1).run()
    assert "This model got 3 pictures of this set wrong; the first ones:" in texts(teacher)
    captions = [caption for image in teacher.get("image") for caption in image.captions]
    assert captions[-2:] == ["rock", "paper"] and "etc" not in captions  # never a path outside the space


def test_it_runs_in_the_background_one_at_a_time_and_updates_itself_when_a_group_trains_again(
        classroom, folders, demo_run, worker, monkeypatch, request):
    """The page stays drawn while the worker works (its progress in steps); a second click is told it
    runs; when a group trains again, the fragment starts it again by itself and says so."""
    import shutil

    store = SpaceStore.in_workspace(folders["workspace"])
    for name in ("Ana", "Bo"):
        shutil.copytree(demo_run[1].path, store.create(name).runs_dir / "run-1")  # the session's run
    held, features = threading.Event(), swap._shared_features
    calls = []

    def held_features(*args):  # the second set waits until the test lets it go on
        calls.append(1)
        if len(calls) % 2 == 0:
            held.wait(60)
        return features(*args)

    monkeypatch.setattr(swap, "_shared_features", held_features)
    request.addfinalizer(held.set)  # never left waiting when the test fails
    teacher = teacher_page()
    teacher.button(key="teacher_swap_run").click().run()
    while worker().snapshot()["done"] < 1:
        worker().join(0.1)
    teacher.run()
    bar = teacher.get("progress")[0].proto
    assert (bar.text, bar.value) == ("The pretrained network looks at each group's pictures: 1 of 4 steps", 25)
    teacher.button(key="teacher_swap_run").click().run()
    assert "The swap test is already running: its progress is below." in texts(teacher)
    held.set()
    assert worker().join(120)
    teacher.run()
    assert list(teacher.dataframe[-1].value["Model"]) == ["Ana", "Bo"] and not teacher.get("progress")

    held.clear()
    bo = store.find("Bo")
    shutil.copytree(bo.runs_dir / "run-1", bo.runs_dir / "run-2")  # Bo trained again, and chose it
    store.update_state(bo.id, selected_run="run-2")
    teacher.run()  # the fragment's tick: it sees the grid is stale and starts the worker itself
    assert worker().snapshot()["automatic"]
    assert ("A group has trained again (or joined, or left) since this grid was made: it is being updated now. "
            "Only their row and column need working out.") in texts(teacher)
    held.set()
    assert worker().join(120)
    teacher.run()
    assert swap.read_swap(folders["workspace"]).runs == ["run-1", "run-2"]
    assert "being updated" not in texts(teacher) and "run the swap test again" not in texts(teacher)
    assert not teacher.exception, teacher.exception


def _class_sections():
    from studio import class_swap, class_task

    class_task.task_section()
    class_swap.swap_section()


def test_every_word_of_the_task_and_swap_sections_is_translated(classroom, folders, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from i18n_support import PSEUDO, untranslated, use_pseudo_language, visible_texts
    from studio_support import TIMEOUT
    from tlcore.classroom.class_settings import ClassSettings, save_class_settings

    class Updating:  # the class's worker, updating the grid by itself (its words are checked too)
        running, tried = True, None

        def snapshot(self):
            return {"running": True, "automatic": True, "stage": swap.MODELS, "done": 3, "total": 4}

    use_pseudo_language(monkeypatch)
    monkeypatch.setitem(swap._WORKERS, folders["workspace"].resolve(), Updating())
    save_class_settings(folders["workspace"], ClassSettings(task=("rock", "paper")))
    (folders["workspace"] / "classroom" / "swap.json").write_text(json.dumps({
        "names": ["Ana", "Bo"], "accuracy": [[1.0, 0.5], [None, 0.9]], "pictures": [[4, 4], [0, 4]],
        "wrong": [[[], []], [[], []]]}))
    at = AppTest.from_function(_class_sections, default_timeout=TIMEOUT)
    at.session_state["tl_language"] = PSEUDO
    at.run(timeout=60)
    assert not at.exception, at.exception
    assert not untranslated(visible_texts(at), allowed=("Ana", "Bo", "rock", "paper"))
    assert len(at.get("plotly_chart")) == 1
    assert at.get("progress")[0].proto.value == 75 and len(at.info) == 1
