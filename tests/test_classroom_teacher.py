"""The teacher clears the class only after exporting everything, and never under a running training."""

from __future__ import annotations

import json
import zipfile

import pytest

from test_spaces import keep_demo, png, put_pictures
from tlcore.queue import WorkerPool
from tlcore.spaces import SpaceError, SpaceStore
from tlcore.classroom.teacher import clear_class, export_class
from tlcore.projects import open_project
from tlcore.settings import TrainingSettings


@pytest.fixture
def classroom(tmp_path):
    store = SpaceStore.in_workspace(tmp_path / "workspace")
    ann, bob = store.create("Ann"), store.create("Bob / Group 2")
    keep_demo(store, ann)
    store.save_settings(ann.id, TrainingSettings(backbone="mobilenet_v2_035", epochs=3))
    put_pictures(bob, [("bikes", "1.png", png(1))])  # one class: not yet a set
    store.solo()
    return store, ann, bob


def test_the_export_holds_a_lesson_file_per_space_that_opens_again(classroom, tmp_path):
    store, ann, bob = classroom
    exported = export_class(store, tmp_path / "class.zip")
    with zipfile.ZipFile(exported) as archive:
        names = sorted(archive.namelist())
        listing = json.loads(archive.read("class.json"))
        archive.extract("Ann.tlproject", tmp_path / "out")
    assert names == ["Ann.tlproject", "Bob _ Group 2/pictures/bikes/1.png", "class.json"]
    assert [(s["name"], s["file"]) for s in listing["spaces"]] == [
        ("Ann", "Ann.tlproject"), ("Bob / Group 2", "Bob _ Group 2/"), ("Teacher", "Teacher/")]
    lesson = open_project(tmp_path / "out" / "Ann.tlproject", tmp_path / "opened", tmp_path / "work", image_size=32)
    assert (lesson.name, len(lesson.dataset)) == ("Ann", 90)
    assert TrainingSettings.from_dict(lesson.settings) == TrainingSettings(backbone="mobilenet_v2_035", epochs=3)
    assert not (tmp_path / "class.zip.partial").exists()


def test_clearing_exports_first_and_keeps_the_solo_space(classroom, tmp_path):
    store, ann, bob = classroom
    exported = clear_class(store, tmp_path / "before-clearing.zip")
    assert exported.is_file() and zipfile.ZipFile(exported).testzip() is None
    assert [s.kind for s in store.spaces()] == ["solo"]
    assert not ann.folder.exists() and not bob.folder.exists()


def test_clearing_is_refused_while_a_training_waits(classroom, tmp_path):
    store, ann, _ = classroom
    queue = WorkerPool(workers=1)
    queue.pause()
    try:
        queue.submit(ann.id, object())  # never starts: the queue is paused
        with pytest.raises(SpaceError) as error:
            clear_class(store, tmp_path / "class.zip", queue)
        assert str(error.value) == ("1 training is still queued or running; cancel it (or wait until it "
                                    "ends) before clearing the class.")
        assert len(store.spaces()) == 3 and not (tmp_path / "class.zip").exists()
    finally:
        queue.shutdown(timeout=1)
