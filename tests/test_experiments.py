"""Experiments: a grid trained on the same seeded splits, error bars, presets, skipped and stopped."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tlcore.backbones import network_with_weights
from tlcore.experiments import (Configuration, Experiment, ExperimentPlan, PlannedTraining, StopExperiment, TimeLeft,
                                answer_sentence, how_many_pictures, list_experiments, transfer_vs_scratch,
                                which_network)
from tlcore.settings import SettingsError
from tlcore.training_times import TrainingTimes

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def nothing_here(tmp_path, monkeypatch):
    """An empty cache and Keras folder: no weights on this computer, no times measured."""
    monkeypatch.setenv("TLCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path


def add_weights_file(folder: Path, backbone: str = "mobilenet_v2_035") -> Path:
    """A weights file in the library, as the Model page keeps an upload (only its presence counts here)."""
    library = folder / "cache" / "weights"
    library.mkdir(parents=True, exist_ok=True)
    (library / f"{backbone}.weights.h5").write_bytes(b"weights")
    return library / f"{backbone}.weights.h5"


def add_imagenet_file(folder: Path, backbone: str, input_size=None) -> None:
    """ImageNet weights in Keras's cache, as a download leaves them."""
    from tlcore.backbones import BACKBONES

    models = folder / "keras" / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / BACKBONES[backbone].weights_filename(input_size)).write_bytes(b"weights")


def test_the_grid_is_every_combination_without_duplicates():
    plan = ExperimentPlan.grid(["mobilenet_v2_035", "small_cnn"], learning_blocks=[0, 2], weights=["imagenet", "none"],
                               augment=[(), ("flip",)], repeats=3)
    labels = [c.label for c in plan.configurations]
    assert len(labels) == len(set(labels))
    # mobilenet: imagenet × 2 depths × 2 augment = 4, from scratch × 2 augment = 2; small CNN: from scratch only
    assert len(plan.configurations) == 4 + 2 + 2 and plan.trainings == 24
    assert all(c.weights == "none" for c in plan.configurations if c.backbone == "small_cnn")
    assert plan.estimate_seconds(300) > 0
    assert ExperimentPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_presets_are_what_a_teacher_expects(nothing_here):
    transfer = transfer_vs_scratch("mobilenet_v2")
    assert [(c.backbone, c.weights) for c in transfer.configurations] == [
        ("mobilenet_v2", "imagenet"), ("mobilenet_v2", "none"), ("small_cnn", "none")]
    assert [c.backbone for c in which_network().configurations] == ["vgg16", "resnet50", "inception_v3", "mobilenet_v2"]
    assert [c.per_class for c in how_many_pictures().configurations] == [2, 5, 10, 20, 50, None]


def test_presets_pick_networks_whose_weights_are_here(nothing_here):
    # Nothing here: the default network (online, its weights download), but a preset leaves it out
    assert network_with_weights() == "mobilenet_v2"
    assert transfer_vs_scratch().trainings_to_run() == 6 and which_network().trainings_to_run() == 0

    added = add_weights_file(nothing_here)  # the teacher added MobileNetV2 (0.35)'s weights file
    transfer = transfer_vs_scratch(repeats=2)
    assert [(c.backbone, c.weights) for c in transfer.configurations] == [
        ("mobilenet_v2_035", str(added)), ("mobilenet_v2_035", "none"), ("small_cnn", "none")]
    assert transfer.left_out() == () and transfer.trainings_to_run() == 6
    networks = which_network()
    assert [c.backbone for c in networks.configurations] == [
        "vgg16", "resnet50", "inception_v3", "mobilenet_v2", "mobilenet_v2_035"]
    assert [c.backbone for c in networks.left_out()] == ["vgg16", "resnet50", "inception_v3", "mobilenet_v2"]
    assert networks.trainings_to_run() == 3  # what the card counts: the one network that will run, 3 repeats
    assert how_many_pictures().configurations[0].backbone == "mobilenet_v2_035"

    add_imagenet_file(nothing_here, "resnet50")  # downloaded once: ImageNet weights in Keras's cache
    assert network_with_weights("resnet50") == "resnet50" and network_with_weights("vgg16") == "mobilenet_v2_035"
    assert [c.backbone for c in which_network().left_out()] == ["vgg16", "inception_v3", "mobilenet_v2"]
    # your own grid is what you chose: a network whose weights are missing is tried when it starts
    grid = ExperimentPlan.grid(["vgg16", "resnet50"])
    assert grid.left_out() == () and [c.backbone for c in grid.missing_weights()] == ["vgg16"]


def test_the_command_lines_presets_pick_networks_whose_weights_are_here(nothing_here):
    from tlcore.cli import _compare_plan, build_parser

    add_weights_file(nothing_here)
    args = build_parser().parse_args(["compare", "pictures", "--preset", "transfer", "--input-size", "96"])
    assert [c.backbone for c in _compare_plan(args).configurations] == ["mobilenet_v2_035", "mobilenet_v2_035",
                                                                       "small_cnn"]
    args = build_parser().parse_args(["compare", "pictures", "--preset", "networks"])
    assert _compare_plan(args).trainings_to_run() == 3


# -- the answer, as projected -------------------------------------------------------------------------
def transfer_rows(pretrained, scratch, small_cnn=None, repeats=3, classes=("bee", "wasp")):
    """A saved transfer-vs-scratch experiment: (mean, 95% interval, per-class accuracy) per row."""
    def row(backbone, weights, found):
        mean, ci, per_class = found
        return {"configuration": f"{backbone} {weights}", "backbone": backbone, "weights": weights,
                "learning_blocks": 0, "augment": ["none"], "per_class": "all", "repeats": repeats,
                "val_accuracy_mean": mean, "val_accuracy_ci95": ci, "per_class_accuracy": per_class}

    rows = [row("mobilenet_v2_035", "imagenet", pretrained), row("mobilenet_v2_035", "none", scratch)]
    rows += [row("small_cnn", "none", small_cnn)] if small_cnn else []
    return {"plan": {"preset": "transfer_vs_scratch"}, "classes": list(classes), "rows": rows}


def test_the_answer_compares_the_same_network_and_says_a_clear_win():
    found = transfer_rows((0.9, [0.85, 0.95], {"bee": 0.9, "wasp": 0.9}), (0.7, [0.6, 0.8], {"bee": 0.7, "wasp": 0.7}),
                          (0.8, [0.75, 0.85], {"bee": 0.8, "wasp": 0.8}))
    assert answer_sentence(found) == (
        "Starting from pretrained weights, MobileNetV2 (0.35) got 90% right; from random weights, the same network "
        "got 70%. Pretraining made a clear difference: 20 points more, with the same pictures and epochs. "
        "Small CNN (no pretraining) got 80%.")  # the same network, though the small CNN did better


def test_the_answer_says_no_clear_difference_only_with_enough_repeats_and_narrow_bars():
    close = transfer_rows((0.8, [0.72, 0.88], {}), (0.76, [0.68, 0.84], {}), repeats=5)
    assert answer_sentence(close) == (
        "Starting from pretrained weights, MobileNetV2 (0.35) got 80% right; from random weights, the same network "
        "got 76%. Their error bars overlap: with these pictures, pretraining made no clear difference.")
    wide = transfer_rows((0.8, [0.55, 1.0], {}), (0.7, [0.45, 0.95], {}), repeats=5)
    assert answer_sentence(wide).endswith(
        "A gap of 10 points, but not a sure one. The error bars are too wide to be sure (from scratch: 45% to 95%): "
        "more repeats, or more pictures, would tell.")


def test_the_answer_with_two_repeats_asks_for_more_and_names_a_network_that_only_guesses():
    # the lesson that tripped: 60 insect photos, 2 repeats, MobileNetV2 from scratch answered "bee" for every picture
    seed = transfer_rows((0.89, [0.38, 1.0], {"bee": 0.9, "wasp": 0.88}), (0.5, [0.5, 0.5], {"bee": 1.0, "wasp": 0.0}),
                         (0.65, [0.0, 1.0], {"bee": 0.7, "wasp": 0.6}), repeats=2)
    sentence = answer_sentence(seed)
    assert sentence == (
        "Starting from pretrained weights, MobileNetV2 (0.35) got 89% right; from random weights, the same network "
        "got 50%. Getting 50% is no better than guessing (chance: 1 in 2). A gap of 39 points, but not a sure one. "
        "With 2 repeats the error bars are too wide to be sure (pretrained: 38% to 100%): run 3 or more repeats. "
        "Small CNN (no pretraining) got 65%.")
    assert "no clear difference" not in sentence
    # two repeats that scored the same give intervals of no width: still too few to call it
    same_twice = transfer_rows((0.67, [0.67, 0.67], {}), (0.5, [0.5, 0.5], {}), repeats=2)
    assert answer_sentence(same_twice).endswith(
        "(chance: 1 in 2). A gap of 17 points, but not a sure one. With only 2 repeats it could be luck: run 3 or "
        "more repeats.")
    one = transfer_rows((0.8, None, {}), (0.25, None, {"a": 0.0, "b": 1.0, "c": 0.0, "d": 0.0}), repeats=1,
                        classes="abcd")
    assert answer_sentence(one) == (
        "Starting from pretrained weights, MobileNetV2 (0.35) got 80% right; from random weights, the same network "
        "got 25%. Getting 25% is no better than guessing (chance: 1 in 4). A gap of 55 points, but not a sure one. "
        "One repeat gives no error bars, so it could be luck: run 3 or more repeats to know.")


def test_the_answer_says_which_side_could_not_be_trained():
    found = transfer_rows((0.9, [0.85, 0.95], {}), (0.5, [0.5, 0.5], {}))
    found["rows"] = found["rows"][1:]  # the pretrained network was left out: its weights are not here
    assert answer_sentence(found) == (
        "The pretrained network could not be trained here (see why below), so there is nothing to compare: "
        "from scratch, MobileNetV2 (0.35) got 50%. Getting 50% is no better than guessing (chance: 1 in 2).")


# -- time: first guesses, corrected by what this computer measured ----------------------------------------
def test_the_estimate_uses_what_this_computer_measured(tmp_path):
    plan = ExperimentPlan((Configuration("mobilenet_v2_035", "none"), Configuration("small_cnn", "none")),
                          repeats=2, epochs=2, input_size=96)
    guesses = {t.kind: t.guessed for t in plan.planned_trainings(60)}
    assert set(guesses) == {"mobilenet_v2_035/whole", "small_cnn/whole"}
    times = TrainingTimes(tmp_path)
    first = plan.estimate_seconds(60, times)
    assert first == pytest.approx(2 * sum(guesses.values()))  # nothing measured yet: the first guesses
    times.record("mobilenet_v2_035/whole", guesses["mobilenet_v2_035/whole"], 3 * guesses["mobilenet_v2_035/whole"])
    # measured 3 times its guess here: that kind is corrected, and trained-the-same-way kinds with it
    assert plan.estimate_seconds(60, times) == pytest.approx(2 * 3 * sum(guesses.values()))
    times.record("small_cnn/whole", 10.0, 10.0)
    assert plan.estimate_seconds(60, times) == pytest.approx(
        2 * (3 * guesses["mobilenet_v2_035/whole"] + guesses["small_cnn/whole"]))
    assert json.loads((tmp_path / "training-times.json").read_text())["ratios"] == {
        "mobilenet_v2_035/whole": [3.0], "small_cnn/whole": [1.0]}
    network = ExperimentPlan((Configuration("vgg16"),), repeats=1)  # nothing like it measured: how slow this computer is
    assert network.estimate_seconds(60, times) == pytest.approx(2.0 * network.planned_trainings(60)[0].guessed)
    (tmp_path / "training-times.json").write_text("not json")  # damaged: back to first guesses, never an error
    assert plan.estimate_seconds(60, times) == pytest.approx(first)


def test_time_left_is_corrected_as_trainings_finish():
    now = [0.0]
    planned = [PlannedTraining(0, 0, "m/head", 4.0, 6.0), PlannedTraining(0, 1, "m/head", 4.0),
               PlannedTraining(1, 0, "m/whole", 30.0), PlannedTraining(1, 1, "m/whole", 30.0)]
    # on this computer before, whole trainings took twice their guess, heads their guess
    left = TimeLeft(planned, {"m/whole": [2.0], "m/head": [1.0]}, clock=lambda: now[0])
    assert left.seconds() == 10 + 4 + 60 + 60 and (left.done, left.total) == (0, 4)
    left.start(0, 0)
    now[0] = 5.0
    assert left.seconds() == 5 + 4 + 120  # the one under way: what its estimate has left
    now[0] = 20.0
    assert left.seconds() == 4 + 120  # running late: the time left does not grow meanwhile
    assert left.finish(0, 0) == ("m/head", 10.0, 20.0)  # twice its guess: the next head training too
    assert left.seconds() == 8 + 120 and (left.done, left.total) == (1, 4)
    left.start(1, 0)
    now[0] = 50.0
    left.finish(1, 0)  # this run's whole training took its guess: that measure wins over the older one
    assert left.seconds() == 8 + 30
    left.drop(0)  # a configuration that could not go on: not waited for
    assert left.seconds() == 30 and (left.done, left.total) == (2, 3)

    # nothing measured before: once the first training shows this computer 3 times slower than the
    # speed figures, the others (of another kind) are expected 3 times slower too, not at their guess
    fresh = TimeLeft(planned, {}, clock=lambda: now[0])
    fresh.start(0, 0)
    now[0] += 30.0
    fresh.finish(0, 0)
    assert fresh.seconds() == 3 * (4 + 30 + 30)


def test_bad_plans_are_refused_in_words():
    with pytest.raises(SettingsError, match="Repeats must be between 1 and 20; got 0."):
        ExperimentPlan((Configuration("mobilenet_v2"),), repeats=0)
    with pytest.raises(SettingsError, match="has no pretrained weights"):
        ExperimentPlan((Configuration("small_cnn", "imagenet"),))


@pytest.fixture(scope="module")
def experiment(demo_dataset_96, mobilenet_035_weights, tmp_path_factory):
    base = tmp_path_factory.mktemp("experiment")
    plan = ExperimentPlan((Configuration("mobilenet_v2_035", mobilenet_035_weights),
                           Configuration("mobilenet_v2_035", mobilenet_035_weights, per_class=5),
                           Configuration("mobilenet_v2_035", "imagenet"),  # not on this computer: skipped
                           Configuration("vgg16", mobilenet_035_weights)),  # a file made for another network
                          repeats=2, epochs=2, input_size=96, name="Shapes")
    progress = []
    result = Experiment(plan, workspace=base / "ws", cache_dir=base / "cache", measure_latency=False).run(
        demo_dataset_96, on_progress=lambda done, total, label: progress.append((done, total)))
    return result, progress, base


def test_each_configuration_gets_mean_spread_and_interval(experiment):
    result, progress, _ = experiment
    assert [row.configuration.per_class for row in result.rows_] == [None, 5]
    for row in result.rows_:
        assert row.repeats == 2 and 0 <= row.val_accuracy_mean <= 1
        low, high = row.val_accuracy_ci95
        assert low <= row.val_accuracy_mean <= high and row.val_accuracy_sd is not None
        assert set(row.per_class_accuracy) == {"circle", "square", "triangle"}
    all_pictures, five = result.rows_
    assert five.train_pictures == 15 < all_pictures.train_pictures  # 5 per class, drawn from each split's training part
    # The frozen part's outputs were computed once and reused by every later training.
    assert [r.cache_hit for r in result.repeats_] == [False, True, True, True]
    assert all_pictures.cache_reused and five.cache_reused
    # done of total: a configuration that cannot start is not counted once that is known (8 planned, 4 trained)
    assert progress == [(1, 8), (2, 8), (3, 8), (4, 8), (4, 6), (4, 4)]


def test_configurations_that_cannot_run_here_are_skipped_not_failed(experiment):
    result, _, _ = experiment
    reasons = {s.configuration.backbone + "/" + Path(s.configuration.weights).name: s.reason for s in result.skipped_}
    assert reasons["mobilenet_v2_035/imagenet"] == (
        "its ImageNet weights are not on this computer and could not be downloaded")
    assert "is for MobileNetV2 (0.35, Teachable Machine size), not VGG16" in reasons[
        "vgg16/" + Path(result.plan.configurations[3].weights).name]


def test_the_experiment_is_saved_with_one_run_per_configuration(experiment):
    from tlcore.runs import load_run

    result, _, base = experiment
    saved = list_experiments(base / "ws")
    assert [e["id"] for e in saved] == [result.id_] and len(saved[0]["rows"]) == 2
    row = saved[0]["rows"][0]
    assert {"val_accuracy_mean", "val_accuracy_sd", "val_accuracy_ci95", "train_seconds_mean", "cache_reused",
            "backbone", "weights", "learning_blocks", "augment", "per_class", "repeats"} <= set(row)
    run = load_run(base / "ws" / row["run"])
    assert run.record.experiment == result.id_ and run.name.startswith("Shapes: MobileNetV2 (0.35)")


def test_stop_ends_the_rest_of_the_plan(demo_dataset_96, mobilenet_035_weights, tmp_path):
    plan = ExperimentPlan((Configuration("mobilenet_v2_035", mobilenet_035_weights),
                           Configuration("mobilenet_v2_035", mobilenet_035_weights, per_class=3)),
                          repeats=2, epochs=1, input_size=96)
    experiment = Experiment(plan, cache_dir=tmp_path, measure_latency=False)

    def stop_after_first(done, total, label):
        if done == 1:
            experiment.stop()

    experiment.run(demo_dataset_96, on_progress=stop_after_first)
    assert experiment.stopped_ and experiment.rows_ == [] and len(experiment.repeats_) == 0
    assert StopExperiment


def test_cli_compare_prints_its_rows_as_json(mobilenet_035_weights, tmp_path):
    from tlcore.data import demo_folder

    env = dict(os.environ, PYTHONPATH=str(ROOT), TLCORE_WORKSPACE=str(tmp_path / "ws"),
               TLCORE_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run([sys.executable, "-m", "tlcore", "compare", str(demo_folder()), "--backbones",
                             "mobilenet_v2_035", "--weights", mobilenet_035_weights, "--per-class", "5,all",
                             "--repeats", "2", "--epochs", "1", "--input-size", "96", "--no-latency", "--json"],
                            capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout.strip().splitlines()[-1])["rows"]
    assert [(r["per_class"], r["repeats"], r["augment"]) for r in rows] == [(5, 2, ["none"]), ("all", 2, ["none"])]
    assert all(r["val_accuracy_ci95"][0] <= r["val_accuracy_mean"] <= r["val_accuracy_ci95"][1] for r in rows)
    assert rows[1]["cache_reused"] is True
    assert "Comparing 2 configurations × 2 repeats = 4 trainings" in result.stderr
    assert result.stdout.strip().splitlines()[-2].startswith("Best: all pictures with ")  # the page's answer
    assert list((tmp_path / "ws" / "experiments").iterdir())


def test_an_experiment_runs_as_a_job_and_keeps_its_measured_times(demo_dataset_96, mobilenet_035_weights, tmp_path):
    from tlcore.jobs import ExperimentJob

    ticks = itertools.count(0.0, 10.0)  # a clock that is 10 s later at every look: no timing of this machine
    plan = ExperimentPlan((Configuration("mobilenet_v2_035", mobilenet_035_weights),), repeats=2, epochs=1,
                          input_size=96)
    job = ExperimentJob(plan, demo_dataset_96, tmp_path / "ws", cache_dir=tmp_path / "cache", measure_latency=False,
                        clock=lambda: next(ticks))
    first, second = plan.planned_trainings(len(demo_dataset_96))
    assert second.features_seconds == 0 < first.features_seconds  # only the first computes the frozen outputs
    waiting = job.snapshot()
    assert waiting["phase"] == "waiting" and waiting["total"] == 2
    assert waiting["remaining"] == pytest.approx(first.guessed + second.guessed)  # nothing measured here yet
    assert job.start().join(600)
    snapshot = job.snapshot()
    assert snapshot["phase"] == "done" and (snapshot["done"], snapshot["total"]) == (2, 2) and snapshot["error"] is None
    assert snapshot["remaining"] == 0 and len(snapshot["rows"]) == 1 and (tmp_path / "ws" / "experiments").is_dir()
    # each training took 10 s by that clock: kept in the cache, against its guess (the second reused the features)
    times = TrainingTimes(tmp_path / "cache")
    assert times.ratios() == {"mobilenet_v2_035/head": [round(10 / first.guessed, 4), round(10 / second.seconds, 4)]}
    # the next estimate of the same plan starts from what was measured
    median = (10 / first.guessed + 10 / second.seconds) / 2
    assert plan.estimate_seconds(len(demo_dataset_96), times) == pytest.approx(
        (first.guessed + second.guessed) * median, rel=1e-3)


@pytest.fixture
def two_flowers(flowers, shared_weights, tmp_path):
    """15 daisies and 15 sunflowers, and a cache whose weights library holds MobileNetV2 (0.35)'s real
    ImageNet weights, as a teacher who added them once has it (no ImageNet weights in Keras's cache)."""
    for name in ("daisy", "sunflower"):
        (tmp_path / "pictures" / name).mkdir(parents=True)
        for photo in sorted((flowers / name).glob("*.jpg"))[:15]:
            shutil.copyfile(photo, tmp_path / "pictures" / name / photo.name)
    (tmp_path / "cache" / "weights").mkdir(parents=True)
    shutil.copyfile(shared_weights, tmp_path / "cache" / "weights" / "mobilenet_v2_035.weights.h5")
    return tmp_path


def test_cli_transfer_preset_on_real_photos_answers_like_the_page(two_flowers):
    """The lesson that tripped, on real photos: the preset picks the network whose weights are here, and
    the answer compares it with itself from random weights, which only guesses after so little training."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), TLCORE_WORKSPACE=str(two_flowers / "ws"),
               TLCORE_CACHE_DIR=str(two_flowers / "cache"), KERAS_HOME=str(two_flowers / "keras"))
    result = subprocess.run([sys.executable, "-m", "tlcore", "compare", str(two_flowers / "pictures"), "--preset",
                             "transfer", "--repeats", "1", "--epochs", "1", "--input-size", "96", "--no-latency",
                             "--no-save", "--json"], capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr
    assert "Comparing 3 configurations × 1 repeat = 3 trainings on 30 pictures" in result.stderr
    *_, answer, payload = result.stdout.strip().splitlines()
    found = json.loads(payload)
    assert found["skipped"] == [] and answer == found["answer"]
    assert [(r["backbone"], Path(r["weights"]).name) for r in found["rows"]] == [
        ("mobilenet_v2_035", "mobilenet_v2_035.weights.h5"), ("mobilenet_v2_035", "none"), ("small_cnn", "none")]
    scratch = found["rows"][1]
    assert sum(scratch["per_class_accuracy"].values()) / 2 <= 0.55, scratch  # from random weights: it guesses
    assert answer == answer_sentence({"plan": {"preset": "transfer_vs_scratch"}, "classes": ["daisy", "sunflower"],
                                      "rows": found["rows"]})  # the page's sentence, word for word
    assert answer.startswith("Starting from pretrained weights, MobileNetV2 (0.35) got "), answer
    scratch_percent = f"{100 * scratch['val_accuracy_mean']:.0f}%"
    assert (f"; from random weights, the same network got {scratch_percent}. Getting {scratch_percent} is no better "
            "than guessing (chance: 1 in 2).") in answer
    # one repeat (kept short here): neither "no clear difference" nor a clear win, more repeats are needed
    assert re.search(r"\. A gap of [^.]+, but not a sure one\. One repeat gives no error bars, so it could be luck: "
                     r"run 3 or more repeats to know\. Small CNN \(no pretraining\) got \d+%", answer), answer


def test_lesson_files_carry_experiments_and_their_runs(experiment, demo_dataset_96, tmp_path):
    from tlcore.projects import open_project, save_project

    result, _, base = experiment
    lesson = save_project(tmp_path / "lesson.tlproject", demo_dataset_96, {}, [], name="Shapes",
                          experiments=[result.path_])
    project = open_project(lesson, tmp_path / "ws2", work_dir=tmp_path / "work", image_size=96)
    assert project.experiments == [result.id_]
    (saved,) = list_experiments(tmp_path / "ws2")
    kept = {row["run"] for row in saved["rows"]}
    assert kept == {run.path.name for run in project.runs} and len(kept) == 2
    assert all((tmp_path / "ws2" / name / "model.keras").is_file() for name in kept)
