"""Experiments: a grid trained on the same seeded splits, error bars, presets, skipped and stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tlcore.experiments import (Configuration, Experiment, ExperimentPlan, StopExperiment, how_many_pictures,
                                list_experiments, transfer_vs_scratch, which_network)
from tlcore.settings import SettingsError

ROOT = Path(__file__).resolve().parents[1]


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


def test_presets_are_what_a_teacher_expects():
    transfer = transfer_vs_scratch("mobilenet_v2")
    assert [(c.backbone, c.weights) for c in transfer.configurations] == [
        ("mobilenet_v2", "imagenet"), ("mobilenet_v2", "none"), ("small_cnn", "none")]
    assert [c.backbone for c in which_network().configurations] == ["vgg16", "resnet50", "inception_v3", "mobilenet_v2"]
    assert [c.per_class for c in how_many_pictures().configurations] == [2, 5, 10, 20, 50, None]


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
    assert (progress[-1][1], len(progress)) == (8, 4)


def test_configurations_that_cannot_run_here_are_skipped_not_failed(experiment):
    result, _, _ = experiment
    reasons = {s.configuration.backbone + "/" + Path(s.configuration.weights).name: s.reason for s in result.skipped_}
    assert reasons["mobilenet_v2_035/imagenet"] == (
        "its ImageNet weights are not on this computer and could not be downloaded")
    assert "does not fit VGG16" in reasons["vgg16/" + Path(result.plan.configurations[3].weights).name]


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
    assert list((tmp_path / "ws" / "experiments").iterdir())


def test_an_experiment_runs_as_a_job_with_progress(demo_dataset_96, mobilenet_035_weights, tmp_path):
    from tlcore.jobs import ExperimentJob

    plan = ExperimentPlan((Configuration("mobilenet_v2_035", mobilenet_035_weights),), repeats=2, epochs=1,
                          input_size=96)
    job = ExperimentJob(plan, demo_dataset_96, tmp_path / "ws", cache_dir=tmp_path / "cache", measure_latency=False)
    assert job.start().join(600)
    snapshot = job.snapshot()
    assert snapshot["phase"] == "done" and (snapshot["done"], snapshot["total"]) == (2, 2) and snapshot["error"] is None
    assert len(snapshot["rows"]) == 1 and (tmp_path / "ws" / "experiments").is_dir()


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
