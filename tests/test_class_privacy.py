"""Privacy a school can sign off: one student erased everywhere, the class kept only as long as
chosen, a record of what the teacher did, and the class's report after the server has stopped."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from test_spaces import png, put_pictures
from tlcore.cli import main
from tlcore.classroom.class_settings import ClassSettings, read_class_settings, save_class_settings
from tlcore.classroom.pool import ClassPool
from tlcore.classroom.privacy import TimedClear, clear_if_time_is_up, read_record
from tlcore.classroom.teacher import export_class
from tlcore.spaces import SpaceStore
from tlcore.training.features import FeatureCache


def _digests(folder: Path) -> dict[str, Path]:
    """sha256 of every file under ``folder`` and of every file inside every zip there."""
    found = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        found[hashlib.sha256(path.read_bytes()).hexdigest()] = path
        if path.suffix in (".zip", ".tlproject"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    data = archive.read(member)
                    found[hashlib.sha256(data).hexdigest()] = path / member
                    if member.endswith(".tlproject"):
                        with zipfile.ZipFile(io.BytesIO(data)) as inner:
                            for name in inner.namelist():
                                found[hashlib.sha256(inner.read(name)).hexdigest()] = path / member / name
    return found


@pytest.fixture
def lesson(tmp_path, monkeypatch, mobilenet_035_weights):
    """Ann trained once on her own pictures (a run, decoded pixels, cached features); Bob has
    pictures and a cached feature entry of his own; a class export on this computer holds both."""
    from tlcore.runs import save_run
    from tlcore.settings import TrainingSettings
    from tlcore.training import Trainer

    workspace, cache = tmp_path / "workspace", tmp_path / "cache"
    monkeypatch.setenv("TLCORE_CACHE_DIR", str(cache))
    store = SpaceStore.in_workspace(workspace)
    ann, bob = store.create("Ann Lee"), store.create("Bob")
    ann_pictures = [(name, f"{i}.png", png(100 * k + i)) for k, name in enumerate(["rock", "paper"]) for i in range(4)]
    put_pictures(ann, ann_pictures)
    put_pictures(bob, [(name, f"{i}.png", png(900 + 10 * k + i)) for k, name in enumerate(["rock", "paper"])
                       for i in range(4)])
    data = store.load_pictures(ann.id, 96, min_per_class=1)
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=mobilenet_035_weights, input_size=96,
                                epochs=1, batch_size=8, validation_fraction=0.25)
    trainer = Trainer(settings, cache_dir=cache / "features").fit(data)
    save_run(trainer, data, ann.runs_dir / "run-1")
    bob_data = store.load_pictures(bob.id, 32, min_per_class=1)
    FeatureCache(cache / "features", origins=[bob.pictures_dir.resolve()]).get_or_compute(
        "bob" * 8, lambda: np.ones((8, 4)), rows=8)
    export_class(store, workspace / "classroom" / "exports" / "class-1.zip")
    pool = ClassPool(workspace)
    assert pool.add(ann).added == 8 and pool.add(bob).added == 8  # both shared theirs with the class
    assert len(pool.dataset(32)) == 16  # decoded pixels of the pool, hers among them
    assert len(bob_data) == 8 and list((cache / "features").glob("*.npy"))
    return workspace, cache, store, ann, bob, [data for _, _, data in ann_pictures]


def test_erasing_a_student_leaves_none_of_their_files_in_the_workspace_or_cache(lesson, capsys):
    workspace, cache, store, ann, bob, ann_pictures = lesson
    before = _digests(workspace)
    assert all(hashlib.sha256(data).hexdigest() in before for data in ann_pictures)  # the scan can find them

    assert main(["class-erase", "ann lee", "--workspace", str(workspace)]) == 0

    said = capsys.readouterr().out
    assert said.startswith("Erased Ann Lee: their space (pictures, runs, decoded pictures), ")
    assert "1 class export(s) rewritten without them" in said
    left = _digests(workspace) | _digests(cache)
    assert [left[h] for h in map(lambda d: hashlib.sha256(d).hexdigest(), ann_pictures) if h in left] == []
    every_path = [str(p) for p in workspace.rglob("*")] + [str(p) for p in cache.rglob("*")]
    assert [p for p in every_path if ann.id in p or "Ann Lee" in p] == []
    # Nothing holds her name but the record that she was erased.
    holding_name = [p for p in workspace.rglob("*") if p.is_file() and b"Ann Lee" in p.read_bytes()]
    assert holding_name == [workspace / "classroom" / "audit.jsonl"]
    origins = [json.loads(p.read_text())["origins"] for p in (cache / "features").glob("*.json")]
    assert origins == [[str(bob.pictures_dir.resolve())]]  # Bob's features stay
    assert [s.name for s in store.spaces()] == ["Bob"] and bob.pictures_dir.is_dir()
    assert {p.who for p in ClassPool(workspace).pictures()} == {"Bob"} and len(ClassPool(workspace).dataset(32)) == 8
    with zipfile.ZipFile(workspace / "classroom" / "exports" / "class-1.zip") as archive:
        assert [s["name"] for s in json.loads(archive.read("class.json"))["spaces"]] == ["Bob"]
    assert [(e["action"], e["student"]) for e in read_record(workspace)] == [("erased", "Ann Lee")]


def test_erasing_a_student_drops_cached_features_that_name_no_origin(tmp_path):
    """Entries made before entries named their pictures' folders cannot be matched to a student: any
    erasure drops them (a description missing, empty, unreadable; an array left without one for an
    hour); Bob's named entry and an array written this instant (its description comes next) stay."""
    import os

    from tlcore.classroom.privacy import erase_student

    workspace, cache = tmp_path / "workspace", tmp_path / "features"
    store = SpaceStore.in_workspace(workspace)
    ann, bob = store.create("Ann"), store.create("Bob")
    put_pictures(ann, [("rock", "r.png", png(1))])
    FeatureCache(cache, origins=[bob.pictures_dir.resolve()]).get_or_compute("bob" * 8, lambda: np.ones((2, 4)), 2)
    old = {"no-origins": {"key": "x"}, "empty-origins": {"key": "y", "origins": []}, "unreadable": None,
           "lone-old": None, "lone-new": None}
    for name, info in old.items():
        np.save(cache / f"{name}.npy", np.ones((2, 4), "float32"))
        if name == "unreadable":
            (cache / f"{name}.json").write_text("{not json")
        elif info is not None:
            (cache / f"{name}.json").write_text(json.dumps(info))
    os.utime(cache / "lone-old.npy", (time.time() - 7200, time.time() - 7200))

    erasure = erase_student(workspace, "Ann", store=store, cache_folder=cache)
    assert erasure.feature_files == 4
    assert sorted(p.name for p in cache.iterdir()) == sorted(["bob" * 8 + ".json", "bob" * 8 + ".npy", "lone-new.npy"])


def test_erasing_a_name_nobody_has_says_so(tmp_path, capsys):
    assert main(["class-erase", "Zed", "--workspace", str(tmp_path)]) == 2
    assert "No student or group called 'Zed' is in this class (or in its exports)." in capsys.readouterr().err


def test_the_class_is_cleared_at_the_first_start_after_its_time(tmp_path):
    workspace = tmp_path / "workspace"
    store = SpaceStore.in_workspace(workspace)
    ann = store.create("Ann")
    store.solo()
    put_pictures(ann, [("rock", "1.png", png(1))])
    assert ClassPool(workspace).add(ann).added == 1
    (workspace / "classroom" / "exports").mkdir(parents=True)
    (workspace / "classroom" / "exports" / "class-1.zip").write_bytes(b"PK")
    assert main(["class-report", "--workspace", str(workspace)]) == 0  # no keep-for: kept
    assert clear_if_time_is_up(workspace).erased == ()
    save_class_settings(workspace, ClassSettings(keep_for="week"))
    started = time.mktime(time.strptime(ann.created, "%Y-%m-%dT%H:%M:%S"))
    assert clear_if_time_is_up(workspace, now=started + 6 * 24 * 3600).erased == ()  # six days: kept
    assert ann.folder.is_dir()
    assert clear_if_time_is_up(workspace, now=started + 7 * 24 * 3600 + 1) == TimedClear(("Ann",))
    assert not ann.folder.exists() and [s.kind for s in store.spaces()] == ["solo"]
    assert not (workspace / "classroom" / "pool").exists()
    assert list((workspace / "classroom" / "exports").iterdir()) == []
    assert [(e["action"], e["detail"]) for e in read_record(workspace)] == [("time_up", "week")]


def _class_with_a_pool(workspace: Path):
    """Ann and Bob, two pictures each, all in the class pool; one of Ann's hidden by the teacher."""
    store = SpaceStore.in_workspace(workspace)
    ann, bob = store.create("Ann"), store.create("Bob")
    put_pictures(ann, [("rock", "1.png", png(1)), ("paper", "1.png", png(2))])
    put_pictures(bob, [("rock", "1.png", png(3)), ("paper", "1.png", png(4))])
    pool = ClassPool(workspace)
    assert pool.add(ann).added == 2 and pool.add(bob).added == 2
    pool.set_hidden(next(p.file for p in pool.of_student(ann.id) if p.class_name == "rock"), True)
    return store, ann, bob


def _week_is_up(ann) -> float:
    return time.mktime(time.strptime(ann.created, "%Y-%m-%dT%H:%M:%S")) + 7 * 24 * 3600 + 1


def test_the_timed_clear_writes_the_export_into_the_teachers_folder_first(tmp_path):
    from tlcore.classroom.privacy import export_before_clear

    workspace, usb = tmp_path / "workspace", tmp_path / "usb"
    store, ann, bob = _class_with_a_pool(workspace)
    usb.mkdir()
    save_class_settings(workspace, ClassSettings(keep_for="week", export_before_clear=str(usb)))

    done = clear_if_time_is_up(workspace, now=_week_is_up(ann))

    assert done.erased == ("Ann", "Bob") and done.failed is None and done.export.parent == usb
    assert done.export.name.startswith("class-before-clearing-") and list(usb.iterdir()) == [done.export]
    with zipfile.ZipFile(done.export) as archive:
        listing = json.loads(archive.read("class.json"))
        assert [s["name"] for s in listing["spaces"]] == ["Ann", "Bob"]
        assert sorted((p["who"], p["class"], p["hidden"]) for p in listing["pool"]) == [
            ("Ann", "paper", False), ("Ann", "rock", True), ("Bob", "paper", False), ("Bob", "rock", False)]
        assert all(archive.read(p["file"]) for p in listing["pool"])  # each picture is in it
    assert not ann.folder.exists() and not (workspace / "classroom" / "pool").exists()
    assert [(e["action"], e["detail"]) for e in read_record(workspace)] == [
        ("exported", str(done.export)), ("time_up", "week")]
    again = export_before_clear(store, usb)  # the same second: a new name, the first one kept
    assert again != done.export and again.name.startswith("class-before-clearing-") and done.export.is_file()


def test_a_failing_export_keeps_the_class_says_why_and_the_next_start_tries_again(tmp_path, monkeypatch):
    import io

    from tlcore.classroom import teacher
    from tlcore.classroom.privacy import read_clear_failure
    from tlcore.classroom.server import _clear_if_time_is_up

    workspace, usb = tmp_path / "workspace", tmp_path / "usb"
    store, ann, bob = _class_with_a_pool(workspace)
    save_class_settings(workspace, ClassSettings(keep_for="week", export_before_clear=str(usb)))
    usb.write_bytes(b"a file where the folder should be")
    monkeypatch.setattr("tlcore.classroom.privacy.time_is_up", lambda *args: True)
    said = io.StringIO()

    _clear_if_time_is_up(workspace, said)

    assert said.getvalue() == (f"The class's time is up, but it was not cleared: its export to {usb} failed (Not a "
                               "directory). Nothing was erased; fix the folder (or choose another), and the next "
                               "start of the Studio exports the class and clears it.\n")
    assert ann.folder.is_dir() and bob.folder.is_dir() and len(ClassPool(workspace).pictures()) == 4
    assert read_clear_failure(workspace)["why"] == "Not a directory"
    usb.unlink()  # the folder is gone (the USB stick left at home): nothing is written where it was
    assert clear_if_time_is_up(workspace).failed and not usb.exists() and ann.folder.is_dir()
    usb.mkdir()

    def disk_full(store, path, spaces=None):
        raise OSError(28, "No space left on device")

    writes = teacher.export_class
    monkeypatch.setattr(teacher, "export_class", disk_full)
    assert "failed (No space left on device)" in clear_if_time_is_up(workspace).failed
    assert ann.folder.is_dir() and read_clear_failure(workspace)["why"] == "No space left on device"
    monkeypatch.setattr(teacher, "export_class", writes)

    said = io.StringIO()
    _clear_if_time_is_up(workspace, said)  # the folder fixed: the next start exports, then clears

    exported = [p for p in usb.iterdir() if p.suffix == ".zip"]
    assert said.getvalue() == (f"The class's time is up (--keep-for): 2 student space(s) and the class exports in "
                               f"the workspace were erased after writing its export to {exported[0]}.\n")
    assert not ann.folder.exists() and read_clear_failure(workspace) is None
    assert [e["action"] for e in read_record(workspace)] == [
        "time_up_export_failed", "time_up_export_failed", "time_up_export_failed", "exported", "time_up"]


def test_the_folder_for_the_export_must_be_outside_the_workspace_and_writable(tmp_path):
    from tlcore.classroom.class_settings import check_export_folder

    workspace = tmp_path / "workspace"
    with pytest.raises(ValueError) as inside:
        check_export_folder(workspace / "classroom" / "exports", workspace)
    assert str(inside.value) == (f"The export before clearing must go to a folder outside the class's workspace "
                                 f"({workspace}): clearing would erase it there. Choose another folder.")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder; choose a folder for the export."):
        check_export_folder(tmp_path / "notes.txt", workspace)
    with pytest.raises(ValueError, match=r"could not be made \(Not a directory\); choose a folder you can write"):
        check_export_folder(tmp_path / "notes.txt" / "exports", workspace)
    assert check_export_folder("  ", workspace) is None
    assert check_export_folder(tmp_path / "usb" / "class 7B", workspace) == str(tmp_path / "usb" / "class 7B")
    assert (tmp_path / "usb" / "class 7B").is_dir()  # made now: the export will find it


def test_the_export_before_clearing_is_a_classroom_option(tmp_path, monkeypatch, capsys):
    from tlcore import cli

    workspace = tmp_path / "workspace"
    monkeypatch.setenv("TLCORE_WORKSPACE", str(workspace))
    monkeypatch.setattr("tlcore.classroom.server.run_classroom", lambda **kwargs: 0)
    assert cli.main(["classroom", "--keep-for", "week", "--export-before-clear", str(workspace / "x")]) == 2
    assert "must go to a folder outside the class's workspace" in capsys.readouterr().err
    assert read_class_settings(workspace) == ClassSettings() and read_record(workspace) == []
    assert cli.main(["classroom", "--keep-for", "week", "--export-before-clear", str(tmp_path / "usb")]) == 0
    assert read_class_settings(workspace) == ClassSettings(keep_for="week", export_before_clear=str(tmp_path / "usb"))
    assert [(e["action"], e["detail"]) for e in read_record(workspace)] == [
        ("keep_for_set", "week"), ("export_folder_set", str(tmp_path / "usb"))]
    assert cli.main(["classroom", "--export-before-clear", ""]) == 0  # no export any more
    assert read_class_settings(workspace) == ClassSettings(keep_for="week")


def test_the_class_pool_is_in_the_export_and_an_erased_student_leaves_it(tmp_path):
    from tlcore.classroom.privacy import erase_student, export_before_clear

    workspace, usb = tmp_path / "workspace", tmp_path / "usb"
    store, ann, bob = _class_with_a_pool(workspace)
    usb.mkdir()
    save_class_settings(workspace, ClassSettings(keep_for="week", export_before_clear=str(usb)))
    exports = [export_class(store, workspace / "classroom" / "exports" / "class-1.zip"), export_before_clear(store, usb)]
    with zipfile.ZipFile(exports[0]) as archive:
        pool = json.loads(archive.read("class.json"))["pool"]
        hidden = [p for p in pool if p["hidden"]]
        assert len(pool) == 4 and [p["who"] for p in hidden] == ["Ann"] and hidden[0]["file"].startswith("pool/hidden/")
        assert all(p["when"] and p["original"] == "1.png" for p in pool)
        assert archive.read(hidden[0]["file"]) == png(1)  # her rock, hidden by the teacher

    erasure = erase_student(workspace, "Ann", store=store)

    assert erasure.exports_rewritten == exports and erasure.pool_pictures == 2
    for export in exports:
        with zipfile.ZipFile(export) as archive:
            listing = json.loads(archive.read("class.json"))
            assert [p["who"] for p in listing["pool"]] == ["Bob", "Bob"]
            assert [n for n in archive.namelist() if ann.id in n or n.startswith("Ann")] == []
            assert hashlib.sha256(png(1)).hexdigest() not in {hashlib.sha256(archive.read(n)).hexdigest()
                                                             for n in archive.namelist()}


def test_classroom_options_are_kept_in_the_class_settings(tmp_path, monkeypatch):
    from tlcore import cli

    monkeypatch.setenv("TLCORE_WORKSPACE", str(tmp_path))
    monkeypatch.setattr("tlcore.classroom.server.run_classroom", lambda **kwargs: 0)
    assert cli.main(["classroom", "--keep-for", "term", "--task", "rock, Paper ,scissors, rock"]) == 0
    assert read_class_settings(tmp_path) == ClassSettings(task=("rock", "Paper", "scissors"), keep_for="term")
    assert [e["action"] for e in read_record(tmp_path)] == ["task_set", "keep_for_set"]
    assert cli.main(["classroom", "--task", "rock/x, paper"]) == 2


def test_class_report_in_json_and_csv(tmp_path, capsys):
    workspace = tmp_path / "workspace"
    store = SpaceStore.in_workspace(workspace)
    ann = store.create("=Ann")
    store.create("Bob")
    put_pictures(ann, [("rock", "1.png", png(1)), ("rock", "2.png", png(2)), ("paper", "1.png", png(3))])
    (workspace / "classroom").mkdir(parents=True)
    (workspace / "classroom" / "swap.json").write_text(json.dumps(
        {"names": ["=Ann", "Bob"], "accuracy": [[1.0, 0.5], [0.25, None]]}))
    assert main(["class-report", "--workspace", str(workspace), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report == {"spaces": [
        {"name": "=Ann", "pictures": {"paper": 1, "rock": 2}, "runs": 0, "best_accuracy": None},
        {"name": "Bob", "pictures": {}, "runs": 0, "best_accuracy": None}],
                      "swap": {"names": ["=Ann", "Bob"], "accuracy": [[1.0, 0.5], [0.25, None]]}}
    assert main(["class-report", "--workspace", str(workspace), "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [["name", "runs", "best_accuracy", "pictures", "pictures: paper", "pictures: rock"],
                    ["'=Ann", "0", "", "3", "1", "2"], ["Bob", "0", "", "0", "0", "0"], [],
                    ["model \\ pictures of", "'=Ann", "Bob"], ["'=Ann", "1.0000", "0.5000"], ["Bob", "0.2500", ""]]
