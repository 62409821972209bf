"""The swap test: each group's model on every group's held-back pictures, equal to evaluating
each model directly; kept for the Teacher page and class-report, and erased with a student."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tlcore.classroom.swap import read_swap, run_swap_test
from tlcore.spaces import SpaceStore


@pytest.fixture(scope="module")
def two_groups(tmp_path_factory, demo_run, demo_dataset_96, mobilenet_035_weights):
    """Ann's model is the session's demo run (3 classes); Cy trained on two of the demo's classes only."""
    import shutil

    from tlcore.runs import save_run
    from tlcore.settings import TrainingSettings
    from tlcore.training import Trainer

    workspace = tmp_path_factory.mktemp("swap") / "workspace"
    store = SpaceStore.in_workspace(workspace)
    ann, cy = store.create("Ann"), store.create("Cy")
    shutil.copytree(demo_run[1].path, ann.runs_dir / "run-1")
    demo = demo_dataset_96.without(class_names=["triangle"])
    kept = store.save_dataset(cy.id, demo.subset(np.arange(len(demo))[::2]))
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=mobilenet_035_weights, input_size=96,
                                epochs=1, batch_size=16, validation_fraction=0.3)
    trainer = Trainer(settings, cache_dir=workspace.parent / "features").fit(kept)
    save_run(trainer, kept, cy.runs_dir / "run-1")
    return workspace, store


@pytest.fixture
def class_copy(two_groups, tmp_path):
    """A copy of the two groups' workspace for one test (each test changes its class)."""
    import shutil

    workspace = tmp_path / "workspace"
    shutil.copytree(two_groups[0], workspace)
    return workspace, SpaceStore.in_workspace(workspace)


def _direct(model_run, set_run) -> tuple[float | None, int]:
    """The model evaluated directly on the set's kept validation pictures (shared classes only)."""
    from tlcore.data.imagefile import load_picture

    files, _, labels = set_run.validation_set()
    chosen = [(f, model_run.class_names.index(l)) for f, l in zip(files, labels) if l in model_run.class_names]
    if not chosen:
        return None, 0
    probabilities = model_run.predict_pixels(np.stack([load_picture(f, model_run.input_size) for f, _ in chosen]))
    return float(np.mean(probabilities.argmax(axis=1) == [label for _, label in chosen])), len(chosen)


def test_each_cell_equals_a_direct_evaluation_and_is_kept_for_the_report(class_copy, capsys):
    from tlcore.classroom.swap import FEATURES, MODELS, _head_weights, class_groups
    from tlcore.cli import main

    workspace, store = class_copy
    steps, groups = [], class_groups(store)
    grid = run_swap_test(workspace, on_progress=lambda *step: steps.append(step), groups=groups)
    # each set seen once by the shared network (both models are heads on it), then each model
    assert grid.names == ["Ann", "Cy"] and steps == [(1, 4, FEATURES), (2, 4, FEATURES), (3, 4, MODELS),
                                                      (4, 4, MODELS)]
    runs = [group.run for group in groups]
    for i, model in enumerate(runs):
        for j, pictures in enumerate(runs):
            accuracy, counted = _direct(model, pictures)
            assert grid.pictures[i][j] == counted
            assert grid.accuracy[i][j] == pytest.approx(accuracy, abs=1e-9) if accuracy is not None else (
                grid.accuracy[i][j] is None)
    for run in runs:  # the heads are read from the model files without building the networks
        assert np.array_equal(_head_weights(run)[0], run.keras_model.get_layer("predictions").get_weights()[0])
    assert 0 < grid.pictures[1][0] < grid.pictures[0][0]  # Cy's model knows no triangles: they are not counted
    assert all(list(space.cache_dir.glob("swap-*.npz")) for space in store.spaces())  # features per picture
    assert read_swap(workspace).accuracy == grid.accuracy

    assert main(["class-report", "--workspace", str(workspace), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["swap"] == {"names": ["Ann", "Cy"], "accuracy": grid.accuracy}

    assert main(["class-erase", "Cy", "--workspace", str(workspace)]) == 0
    assert read_swap(workspace) is None  # it named Cy and their pictures


def test_a_group_that_trains_again_costs_only_its_row_and_column(class_copy):
    """Cells of unchanged groups are read from the saved grid (a planted number stays); the changed
    group's row and column are worked out again; nothing changed: no step at all."""
    import shutil

    workspace, store = class_copy
    first = run_swap_test(workspace, store)
    saved = json.loads((workspace / "classroom" / "swap.json").read_text())
    saved["accuracy"][1][1] = 0.123  # Cy on Cy: kept as it is while neither changes
    saved["accuracy"][0][1] = 0.456  # Ann on Cy: Ann trains again below, so it is worked out again
    (workspace / "classroom" / "swap.json").write_text(json.dumps(saved))

    steps = []
    again = run_swap_test(workspace, store, previous=read_swap(workspace), on_progress=lambda *s: steps.append(s))
    assert steps == [] and again.accuracy == saved["accuracy"]

    ann = store.find("Ann")
    shutil.copytree(ann.runs_dir / "run-1", ann.runs_dir / "run-2")  # Ann trained again, and chose it
    store.update_state(ann.id, selected_run="run-2")
    updated = run_swap_test(workspace, store, previous=read_swap(workspace), on_progress=lambda *s: steps.append(s))
    assert updated.runs == ["run-2", "run-1"]
    assert updated.accuracy[1][1] == 0.123  # not worked out again
    assert updated.accuracy[0] == first.accuracy[0] and updated.accuracy[1][0] == first.accuracy[1][0]
    assert [done for done, _, stage in steps if stage == "models"] == [3, 4]  # Ann's row, Cy's on Ann's set


def test_the_worker_runs_one_at_a_time_below_the_trainings_and_can_be_cancelled(class_copy):
    import os
    import threading

    from tlcore.classroom.swap import CANCELLED, DONE, SwapWorker, class_groups

    workspace, store = class_copy
    worker = SwapWorker(workspace, store)
    go_on, seen = threading.Event(), {}

    def held_groups():
        seen["niceness"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        go_on.wait(30)
        return class_groups(store)

    worker.find_groups = held_groups
    assert worker.start() is True
    assert worker.start() is False and worker.snapshot()["running"]  # one at a time
    worker.cancel()
    go_on.set()
    assert worker.join(60)
    assert worker.snapshot()["outcome"] == CANCELLED and not (workspace / "classroom" / "swap.json").exists()
    assert seen["niceness"] == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)  # below the trainings' threads

    worker.find_groups = lambda: class_groups(store)
    assert worker.start(automatic=True) is True and worker.join(120)
    snap = worker.snapshot()
    assert (snap["outcome"], snap["automatic"], snap["error"], snap["worked"]) == (DONE, True, None, 2)
    assert read_swap(workspace).names == ["Ann", "Cy"] and worker.tried == [("Ann", "run-1"), ("Cy", "run-1")]


def test_the_worker_updates_a_stale_grid_by_itself_and_looks_at_the_runs_only_when_a_space_changed(class_copy):
    import shutil

    from tlcore.classroom.swap import SwapWorker, class_groups

    workspace, store = class_copy
    worker = SwapWorker(workspace, store)
    assert worker.update_if_stale() is False  # no grid yet: the teacher has not asked for one
    run_swap_test(workspace, store)
    looked = []
    worker.find_groups = lambda: looked.append(1) or class_groups(store)
    assert worker.update_if_stale() is False and looked == [1]  # the grid is the class's
    assert worker.update_if_stale() is False and looked == [1]  # nothing changed on disk: runs not read

    cy = store.find("Cy")
    shutil.copytree(cy.runs_dir / "run-1", cy.runs_dir / "run-2")  # Cy trained again, and chose it
    store.update_state(cy.id, selected_run="run-2")
    assert worker.update_if_stale() is True and worker.join(120)
    assert worker.snapshot()["automatic"] and read_swap(workspace).runs == ["run-1", "run-2"]
    assert worker.update_if_stale() is False
