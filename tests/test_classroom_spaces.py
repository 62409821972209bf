"""Spaces on disk: ids, names, settings, state and pictures survive a new store (a server restart),
and one space never sees another's pictures."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tlcore.classroom.spaces import (
    MAX_NAME_LENGTH,
    SOLO_ID,
    NameTakenError,
    SpaceError,
    SpaceState,
    SpaceStore,
    UnknownSpaceError,
    is_space_id,
    name_key,
)
from tlcore.data import demo_folder
from tlcore.settings import TrainingSettings


def png(seed: int, side: int = 40) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (side, side, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def store(tmp_path) -> SpaceStore:
    return SpaceStore(tmp_path / "spaces")


def files_under(folder) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_a_space_comes_back_from_disk_with_a_new_store(store, tmp_path):
    anna = store.create("  Anna   Lee ")
    again = SpaceStore(tmp_path / "spaces").get(anna.id)  # a restarted server
    assert again == anna
    assert (again.name, again.kind) == ("Anna Lee", "student")
    assert (tmp_path / "spaces" / anna.id / "space.json").is_file()
    assert anna.runs_dir.is_dir() and anna.pictures_dir.is_dir()


def test_ids_are_unguessable_and_the_solo_id_is_fixed(store):
    ids = {store.create(f"Student {n}").id for n in range(5)}
    assert len(ids) == 5 and all(len(i) >= 20 and is_space_id(i) for i in ids)
    solo = store.solo()
    assert solo.id == SOLO_ID and solo.kind == "solo" and store.solo() == solo
    with pytest.raises(UnknownSpaceError):
        store.get(SOLO_ID, kind="student")  # a student's link can never open the teacher's space


@pytest.mark.parametrize("bad", ["../spaces", "..", "a/b", "", None, "x" * 65, "abc\x00def", "C:\\x", "ab"])
def test_ids_that_cannot_be_spaces_are_refused_in_plain_words(store, tmp_path, bad):
    with pytest.raises(UnknownSpaceError, match="^This space was not found on this server"):
        store.get(bad)
    assert not any(tmp_path.iterdir()) or files_under(tmp_path) == []


def test_names_are_unique_ignoring_case_and_spacing(store):
    store.create("Anna Lee")
    for same in (" anna   lee", "ANNA LEE", "AnnaLee", "anna\tlee"):
        with pytest.raises(NameTakenError) as error:
            store.create(same)
        assert str(error.value) == (
            f"The name '{' '.join(same.split())}' is already taken in this class. Add the first letter "
            "of your last name, or choose another name.")
    assert name_key("Anna Lee") == name_key("annalee")
    assert store.find("ANNA lee").name == "Anna Lee"
    assert len(store.spaces()) == 1


@pytest.mark.parametrize("name, message", [
    ("   ", "Type your name (or your group's name) to join."),
    ("x" * (MAX_NAME_LENGTH + 1), f"A name can be at most {MAX_NAME_LENGTH} characters long; type a shorter one."),
    ("Bob\x07", "A name can hold letters, numbers, spaces and punctuation only; type it again."),
])
def test_names_that_cannot_be_used_get_one_sentence(store, name, message):
    with pytest.raises(SpaceError) as error:
        store.create(name)
    assert str(error.value) == message
    assert store.spaces() == []


def test_one_name_taken_by_many_sessions_at_once_gives_one_space(store):
    results, barrier = [], threading.Barrier(8)

    def join():
        barrier.wait()
        try:
            results.append(store.create("Group 3"))
        except NameTakenError:
            results.append(None)

    threads = [threading.Thread(target=join) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r is not None for r in results) == 1
    assert [s.name for s in store.spaces()] == ["Group 3"]


def test_settings_and_state_survive_a_restart(store, tmp_path):
    space = store.create("Ben")
    assert store.settings(space.id) == TrainingSettings()
    chosen = TrainingSettings(backbone="mobilenet_v2_035", weights="none", input_size=96, epochs=3)
    store.save_settings(space.id, chosen)
    store.update_state(space.id, picture_set="Fruit", selected_run="20240101-mobilenet")
    restarted = SpaceStore(tmp_path / "spaces")
    assert restarted.settings(space.id) == chosen
    assert restarted.state(space.id) == SpaceState("Fruit", "20240101-mobilenet")
    assert not list(space.folder.glob(".*json*"))  # no temporary files left beside them


def test_damaged_settings_fall_back_to_the_defaults(store):
    space = store.create("Cleo")
    (space.folder / "settings.json").write_text("{not json")
    assert store.settings(space.id) == TrainingSettings()
    (space.folder / "settings.json").write_text('{"epochs": -4}')
    assert store.settings(space.id, default=TrainingSettings(epochs=2)) == TrainingSettings(epochs=2)


def test_uploads_are_kept_as_pictures_under_safe_names_only(store, tmp_path):
    space = store.create("Dan")
    added = store.add_pictures(space.id, [
        ("cats", "a.png", png(1)),
        ("Cats", "folder/a.png", png(2)),  # same class ignoring case; same name: renamed
        ("../../escape", "../../../evil.png", png(3)),
        ("dogs", "notes.txt", b"just some words, not a picture"),
        ("dogs", "empty.png", b""),
    ])
    assert added.added == ("_.._escape/evil.png", "cats/a.png", "cats/a_1.png")
    assert [(r.name, r.reason) for r in added.refused] == [
        ("dogs/notes.txt", "is not a picture"), ("dogs/empty.png", "is empty")]
    assert files_under(space.pictures_dir) == ["_.._escape/evil.png", "cats/a.png", "cats/a_1.png"]
    assert files_under(tmp_path) == sorted(  # nothing anywhere else, no staging folder left
        f"spaces/{space.id}/{name}" for name in ["space.json", "pictures/cats/a.png", "pictures/cats/a_1.png",
                                                   "pictures/_.._escape/evil.png"])
    more = store.add_pictures(space.id, [("cats", "a.png", png(4))])
    assert more.added == ("cats/a_2.png",)
    assert store.picture_counts(space.id) == {"_.._escape": 1, "cats": 3}


def test_a_space_holds_at_most_its_limit(tmp_path):
    store = SpaceStore(tmp_path / "spaces", max_pictures=3)
    space = store.create("Eve")
    added = store.add_pictures(space.id, [("a", f"{n}.png", png(n)) for n in range(5)])
    assert len(added.added) == 3
    assert [r.reason for r in added.refused] == ["did not fit: a space holds at most 3 pictures"] * 2
    with pytest.raises(SpaceError, match="^That set has 90 pictures; a space holds at most 3. Choose fewer"):
        store.set_pictures(space.id, demo_folder())
    assert store.picture_counts(space.id) == {"a": 3}  # the refused set changed nothing


def test_removing_pictures_ignores_names_outside_the_space(store, tmp_path):
    space = store.create("Finn")
    store.add_pictures(space.id, [("a", "1.png", png(1)), ("a", "2.png", png(2)), ("b", "3.png", png(3))])
    outside = tmp_path / "keep.png"
    outside.write_bytes(b"x")
    assert store.remove_pictures(space.id, names=["a/1.png", "../../keep.png", "a/../../x", "a/missing.png"],
                                 classes=["..", "b"]) == 2
    assert files_under(space.pictures_dir) == ["a/2.png"] and outside.exists()


def test_pictures_decode_once_into_a_read_only_memory_map(store, tmp_path):
    space = store.create("Gia")
    assert store.load_pictures(space.id) is None
    counts = store.set_pictures(space.id, demo_folder(), picture_set="Shapes")
    assert counts == {"circle": 30, "square": 30, "triangle": 30}
    assert store.state(space.id).picture_set == "Shapes"
    data = store.load_pictures(space.id, image_size=64)
    assert len(data) == 90 and data.class_names == ["circle", "square", "triangle"]
    pixels = data.pixels()
    assert isinstance(pixels, np.memmap) and not pixels.flags.writeable and pixels.shape == (90, 64, 64, 3)
    assert Path(pixels.filename).parent == space.cache_dir
    assert store.load_pictures(space.id, image_size=64) is data  # decoded once
    fresh = SpaceStore(tmp_path / "spaces").load_pictures(space.id, image_size=64)  # after a restart
    np.testing.assert_array_equal(fresh.pixels(), pixels)
    store.add_pictures(space.id, [("circle", "new.png", png(9, side=64))])
    changed = store.load_pictures(space.id, image_size=64)
    assert changed is not data and len(changed) == 91
    assert len(list(space.cache_dir.glob("pixels-64-*.npy"))) == 1  # the older file went


def test_two_spaces_never_see_each_others_pictures(store):
    ann, bob = store.create("Ann"), store.create("Bob")
    store.add_pictures(ann.id, [("apples", f"{n}.png", png(n)) for n in range(2)]
                       + [("pears", f"{n}.png", png(10 + n)) for n in range(2)])
    store.add_pictures(bob.id, [("cars", f"{n}.png", png(20 + n)) for n in range(2)]
                       + [("bikes", f"{n}.png", png(30 + n)) for n in range(2)])
    assert store.load_pictures(ann.id, 32).class_names == ["apples", "pears"]
    assert store.load_pictures(bob.id, 32).class_names == ["bikes", "cars"]
    assert store.picture_counts(ann.id) == {"apples": 2, "pears": 2}


def test_the_teacher_summary_and_removing_a_space(store):
    space = store.create("Hana")
    store.add_pictures(space.id, [("a", "1.png", png(1)), ("b", "2.png", png(2))])
    summary = store.summary(space.id)
    assert (summary.pictures, summary.classes, summary.runs, summary.best_accuracy, summary.queue_state) == (
        2, 2, 0, None, None)
    assert summary.backbone == TrainingSettings().backbone
    store.remove(space.id)
    assert store.spaces() == [] and not space.folder.exists()
    with pytest.raises(UnknownSpaceError):
        store.get(space.id)


def test_the_selected_run_is_a_folder_name_never_a_path(store):
    space = store.create("Ines")
    with pytest.raises(SpaceError, match="^'../../other/runs/x' is not a run of this space; choose one from the list.$"):
        store.update_state(space.id, selected_run="../../other/runs/x")
    (space.folder / "state.json").write_text('{"picture_set": "Fruit", "selected_run": "../x"}')
    assert store.state(space.id) == SpaceState("Fruit", None)  # a damaged file is read safely
