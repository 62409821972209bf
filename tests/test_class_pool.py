"""The class pool: pictures students share with the class, who added each and when, the teacher's
hide and remove, and the sets a student trains on (their own, the pool, both)."""

from __future__ import annotations

import hashlib
import json

import pytest

from test_spaces import png, put_pictures
from tlcore.classroom.pool import ClassPool
from tlcore.spaces import SpaceError, SpaceStore


@pytest.fixture
def class_of_two(tmp_path):
    """Ann has rock and paper (3 each) and a "../Paper" class; Bob has "Rock " and "PAPER" (3 each)."""
    workspace = tmp_path / "workspace"
    store = SpaceStore.in_workspace(workspace)
    ann, bob = store.create("Ann Lee"), store.create("<b>Bob</b>")
    put_pictures(ann, [(name, f"{i}.png", png(10 * k + i)) for k, name in enumerate(["rock", "paper"]) for i in range(3)])
    put_pictures(bob, [(name, f"{i}.png", png(100 + 10 * k + i)) for k, name in enumerate(["Rock ", "PAPER"])
                       for i in range(3)])
    return workspace, store, ann, bob, ClassPool(workspace)


def test_pictures_keep_who_added_them_and_when_and_classes_match_by_name(class_of_two):
    workspace, store, ann, bob, pool = class_of_two
    assert pool.add(ann).added == 6
    assert pool.add(bob).added == 6
    assert {name: len(pictures) for name, pictures in pool.by_class().items()} == {"paper": 6, "rock": 6}
    assert {space: len(pictures) for space, pictures in pool.by_student().items()} == {ann.id: 6, bob.id: 6}
    bobs = pool.of_student(bob.id)
    assert {p.who for p in bobs} == {"<b>Bob</b>"} and {p.class_name for p in bobs} == {"rock", "paper"}
    assert all(len(p.when) == 19 and p.when[10] == "T" for p in bobs)
    for picture in bobs:  # a copy of Bob's bytes, under a name made of his space and the picture's hash
        data = pool.path_of(picture).read_bytes()
        assert hashlib.sha256(data).hexdigest() == picture.sha256 and picture.file.split("/")[1].startswith(bob.id)
    assert sorted(p.name for p in pool.pictures_dir.iterdir()) == ["paper", "rock"]


def test_the_same_picture_from_the_same_student_is_added_once(class_of_two):
    workspace, store, ann, bob, pool = class_of_two
    assert pool.add(ann, class_names=["ROCK"]).added == 3
    again = pool.add(ann)
    assert (again.added, again.already) == (3, 3)
    put_pictures(bob, [("rock", "copy.png", png(0))])  # Ann's first rock, from Bob: his to add too
    assert pool.add(bob, class_names=["rock"]).added == 4
    assert len(pool.pictures()) == 10


def test_a_lesson_s_task_keeps_other_classes_out(class_of_two):
    workspace, store, ann, bob, pool = class_of_two
    added = pool.add(ann, task=("Rock", "scissors"))
    assert (added.added, added.left_out) == (3, ("paper",))
    assert list(pool.by_class()) == ["Rock"]  # a class of the task is named as the teacher typed it


def test_outside_looking_names_stay_inside_the_pool(class_of_two):
    workspace, store, ann, bob, pool = class_of_two
    put_pictures(ann, [("..", "x.png", png(7))])  # a folder named ".." is the space itself: never a class
    weird = ann.pictures_dir / "CON"
    weird.mkdir()
    (weird / "1.png").write_bytes(png(9))
    pool.add(ann)
    inside = [p.resolve() for p in pool.root.rglob("*") if p.is_file()]
    assert all(p.is_relative_to(pool.root.resolve()) for p in inside)
    assert "_CON" in {p.name for p in pool.pictures_dir.iterdir()}  # a name Windows keeps for a device, made safe
    index = json.loads((pool.root / "index.json").read_text())["pictures"]
    index[0]["file"] = "../../escape.png"  # a damaged or altered index is not followed outside
    (pool.root / "index.json").write_text(json.dumps({"pictures": index}))
    assert all(".." not in p.file for p in pool.pictures())


def test_hiding_and_removing_change_what_trains_and_what_the_student_sees(class_of_two):
    workspace, store, ann, bob, pool = class_of_two
    pool.add(ann), pool.add(bob)
    first = pool.of_student(bob.id)[0]
    assert len(pool.dataset(32)) == 12
    assert pool.set_hidden(first.file, True).hidden
    assert not (pool.pictures_dir / first.file).exists() and (pool.root / "hidden" / first.file).is_file()
    assert len(pool.dataset(32)) == 11 and sum(p.hidden for p in pool.of_student(bob.id)) == 1
    pool.set_hidden(first.file, False)
    assert len(pool.dataset(32)) == 12
    gone = pool.remove(first.file)
    assert gone.who == "<b>Bob</b>" and len(pool.of_student(bob.id)) == 5 and len(pool.dataset(32)) == 11
    with pytest.raises(SpaceError, match="no longer in the class pool"):
        pool.remove(first.file)
    assert pool.remove_student(bob.id) == 5
    assert {p.who for p in pool.pictures()} == {"Ann Lee"} and len(pool.dataset(32)) == 6


def test_the_pool_and_both_sets_hold_the_right_pictures(class_of_two):
    workspace, store, ann, bob, pool = class_of_two
    pool.add(bob)
    pool.add(ann, class_names=["rock"])  # her rocks are in the pool too: counted once in "both"
    assert pool.dataset(32).counts == {"PAPER": 3, "Rock": 6}  # as the first to add typed them
    own = store.load_pictures(ann.id, 32)
    both = pool.with_own(own, ann.id)
    assert both.counts == {"paper": 6, "rock": 6} and len(set(both.file_hashes)) == 12
    assert all(name.split("/")[0] in ("paper", "rock") for name in both.names)
    assert both.pixels().shape == (12, 32, 32, 3)
    for index in (0, 11):  # each picture's pixels are those of its own file
        again = store.load_pictures(ann.id, 32) if index < 6 else pool.dataset(32)
        row = again.file_hashes.index(both.file_hashes[index])
        assert (again.pixels()[row] == both.pixels()[index]).all()


def test_my_pictures_vs_the_whole_class_s_trains_on_hers_only_and_checks_on_the_same(class_of_two):
    """The preset's two trainings share every held-back picture; "only my pictures" trains on the part
    of the training pictures that is hers (no training here: Experiment._run_configuration applies it)."""
    from tlcore.experiments import ExperimentPlan, mine_vs_class, short_labels
    from tlcore.experiments.experiment import own_pictures
    from tlcore.stats import stratified_splits

    workspace, store, ann, bob, pool = class_of_two
    pool.add(bob)
    own = store.load_pictures(ann.id, 32)
    both = pool.with_own(own, ann.id)
    plan = mine_vs_class(ann.pictures_dir, "small_cnn", "none", epochs=1, repeats=2, input_size=32)
    assert [c.pictures for c in plan.configurations] == ["mine", "class"]
    assert ExperimentPlan.from_dict(plan.to_dict()) == plan  # kept with the experiment, read back the same
    assert [str(label) for label in short_labels(plan.configurations)] == [
        "Only my pictures", "The whole class's pictures"]
    for train, validation in stratified_splits(both, plan.repeats, plan.validation_fraction, plan.seed):
        hers = own_pictures(both, train, plan.own_folder)
        assert hers.tolist() == [i for i in train.tolist() if i < len(own)] and 0 < len(hers) < len(train)
        assert not set(hers.tolist()) & set(validation.tolist())
