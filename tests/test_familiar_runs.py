"""A saved run says "this doesn't look like any of your classes": in Run.predict, the CLI and the app."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def two_flower_run(flowers, shared_weights, tmp_path_factory):
    from tlcore.data import ImageDataset
    from tlcore.runs import save_run
    from tlcore.settings import TrainingSettings
    from tlcore.training import Trainer

    folder = tmp_path_factory.mktemp("two-flowers")
    for name in ("daisy", "sunflower"):
        (folder / "set" / name).mkdir(parents=True)
        for path in sorted((flowers / name).glob("*.jpg"))[:60]:
            shutil.copy(path, folder / "set" / name / path.name)
    dataset = ImageDataset.from_folder(folder / "set", image_size=96)
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=str(shared_weights), input_size=96, epochs=4)
    trainer = Trainer(settings, cache_dir=folder / "cache").fit(dataset)
    return save_run(trainer, dataset, folder / "run")


def test_the_run_keeps_what_it_needs_and_flags_other_kinds_of_picture(two_flower_run, demo_dataset_96):
    from tlcore.runs import load_run

    run = load_run(two_flower_run.path)
    assert (run.path / "familiarity.npz").is_file()
    files, _, _ = run.validation_set()
    own = run.predict(files)
    shapes = [path for path in demo_dataset_96.paths[::6]]
    drawn = run.predict(shapes)
    own_flagged = np.mean([not p.familiar for p in own])
    drawn_flagged = np.mean([not p.familiar for p in drawn])
    assert own_flagged <= 0.15 and drawn_flagged >= 0.8, (own_flagged, drawn_flagged)
    assert all(p.familiarity is not None and p.top in run.class_names for p in drawn)


def test_cli_predict_says_familiar_or_not(two_flower_run, demo_dataset_96):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    picture = demo_dataset_96.paths[0]
    result = subprocess.run([sys.executable, "-m", "tlcore", "predict", str(two_flower_run.path), str(picture), "--json"],
                            capture_output=True, text=True, timeout=300, env=env)
    answer = json.loads(result.stdout)[0]
    assert answer["familiar"] is False and isinstance(answer["familiarity"], float)
    text = subprocess.run([sys.executable, "-m", "tlcore", "predict", str(two_flower_run.path), str(picture)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert "this doesn't look like any of the classes it knows" in text.stdout
