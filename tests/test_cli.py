"""The `tlcore` command line, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tlcore.backbones import list_backbones


def tlcore(*args, timeout=300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    return subprocess.run([sys.executable, "-m", "tlcore", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def one_clear_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("tlcore:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def two_flowers(flowers, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("two-flowers")
    for name in ("daisy", "sunflower"):
        (root / name).mkdir()
        for path in sorted((flowers / name).glob("*.jpg"))[:20]:
            shutil.copy(path, root / name / path.name)
    (root / "daisy" / "notes.jpg").write_text("not a picture")
    return root


def test_backbones_lists_every_registered_backbone_with_its_card():
    result = tlcore("backbones")
    assert result.returncode == 0
    for name in list_backbones():
        assert f"\n{name}  —  " in "\n" + result.stdout
    assert "Teachable Machine" in result.stdout
    rows = json.loads(tlcore("backbones", "--json").stdout)
    assert [r["name"] for r in rows] == list_backbones()


def test_train_then_predict_as_json(two_flowers, shared_weights, tmp_path):
    out = tmp_path / "run"
    result = tlcore("train", two_flowers, "--backbone", "mobilenet_v2_035", "--weights", shared_weights,
                    "--input-size", 96, "--epochs", 3, "--out", out, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["backbone"] == "mobilenet_v2_035" and summary["classes"] == ["daisy", "sunflower"]
    assert 0.5 < summary["val_accuracy"] <= 1.0 and summary["train_seconds"] > 0
    assert summary["skipped"] == 1 and summary["epochs_run"] == 3
    assert "notes.jpg was skipped. It is not a picture" in result.stderr.replace("daisy/", "")
    assert (out / "model.keras").is_file() and (out / "labels.txt").read_text().split() == ["daisy", "sunflower"]

    pictures = [sorted((two_flowers / "sunflower").glob("*.jpg"))[0], two_flowers / "daisy" / "notes.jpg"]
    result = tlcore("predict", out, *pictures, "--json")
    answers = json.loads(result.stdout)
    assert answers[0]["image"] == str(pictures[0]) and answers[0]["top"] in ("daisy", "sunflower")
    assert sum(answers[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert answers[1]["top"] is None and "not a picture" in answers[1]["error"]
    assert result.returncode == 1  # one picture could not be read
    lines = tlcore("predict", out, *pictures).stdout.strip().splitlines()
    assert lines[0].startswith(f"{pictures[0]}: ") and lines[1] == f"{pictures[1]} cannot be used. It is not a picture."


@pytest.mark.parametrize("args, words", [
    (("train", "/no/such/folder"), "does not exist"),
    (("train", ".", "--backbone", "alexnet"), "Unknown backbone 'alexnet'"),
    (("train", ".", "--backbone", "inception_v3", "--input-size", 40), "at least 75"),
    (("train", ".", "--weights", "/no/such.h5"), "was not found"),
    (("train", ".", "--epochs", 2, "--fine-tune-epochs", 2), "learning blocks to 1 or more"),
    (("predict", "/no/run", "x.jpg"), "is not a run folder"),
])
def test_errors_are_one_clear_line(args, words):
    line = one_clear_line(tlcore(*args))
    assert words in line


def test_dataset_problems_name_the_class(tmp_path):
    from PIL import Image

    (tmp_path / "only").mkdir()
    for i in range(3):
        Image.new("RGB", (40, 40), (i * 50, 0, 0)).save(tmp_path / "only" / f"{i}.png")
    line = one_clear_line(tlcore("train", tmp_path, "--weights", "none"))
    assert "'only'" in line and "at least 2 classes" in line


def test_import_teachable_machine_then_predict_gives_its_answers(shared, tmp_path):
    client = shared / "clients" / "teachable-machine-cats-dogs"
    expected = json.loads((client / "expected.json").read_text())["expected"][:3]
    result = tlcore("import-tm", client / "keras_model.h5", client / "labels.txt", "--out", tmp_path / "tm")
    assert result.returncode == 0, result.stderr
    pictures = [shared / e["image"] for e in expected]
    answers = json.loads(tlcore("predict", tmp_path / "tm", *pictures, "--json").stdout)
    for answer, reference in zip(answers, expected):
        assert answer["top"] == reference["top"]
        for label, p in reference["probabilities"].items():
            assert answer["probabilities"][label] == pytest.approx(p, abs=1e-4)


def test_export_formats(shared, tmp_path):
    client = shared / "clients" / "teachable-machine-cats-dogs"
    tlcore("import-tm", client / "keras_model.h5", client / "labels.txt", "--out", tmp_path / "tm")
    result = tlcore("export", tmp_path / "tm", "--format", "keras", "--out", tmp_path / "bundle.zip")
    assert result.returncode == 0, result.stderr
    import zipfile

    assert {"model.keras", "labels.txt", "model_card.md", "predict.py"} <= set(zipfile.ZipFile(tmp_path / "bundle.zip").namelist())
    result = tlcore("export", tmp_path / "tm", "--format", "tflite", "--out", tmp_path / "m.tflite")
    assert result.returncode == 0 and (tmp_path / "m.tflite").stat().st_size > 100_000


def test_backbones_shows_one_backbones_blocks_frozen_or_learning():
    result = tlcore("backbones", "vgg16", "--freeze-depth", 2)
    assert result.returncode == 0, result.stderr
    lines = [l.strip() for l in result.stdout.splitlines()]
    assert [l.split()[0] + " " + l.split()[1] for l in lines if l.startswith(("frozen", "learning"))][:5] == [
        "frozen block1", "frozen block2", "frozen block3", "learning block4", "learning block5"]
    assert "learn with pretrained weights: 12,980,226" in result.stdout  # blocks 4+5 + a 2-class head
    assert "between 0" in one_clear_line(tlcore("backbones", "vgg16", "--freeze-depth", 9))


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_a_training_stopped_by_ctrl_c_or_kill_is_saved(two_flowers, shared_weights, tmp_path, stop):
    """Ctrl+C in the terminal, or `kill` (SIGTERM): the epochs learned so far are a run."""
    import signal
    import time

    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    process = subprocess.Popen(
        [sys.executable, "-m", "tlcore", "train", str(two_flowers), "--backbone", "mobilenet_v2_035", "--weights",
         str(shared_weights), "--input-size", "96", "--epochs", "1000", "--out", str(out)],
        stderr=subprocess.PIPE, text=True, env=env)
    said = []
    deadline = time.monotonic() + 240  # a bound for a failure, not a speed test
    for line in process.stderr:  # the terminal's progress: stop once two epochs are learned
        said.append(line)
        if "Epoch 3" in line or time.monotonic() > deadline:
            break
    process.send_signal(getattr(signal, stop))
    said.append(process.stderr.read())
    assert process.wait(120) == 0, "".join(said)
    assert "Stopped: saving what was learned so far." in "".join(said)
    record = json.loads((out / "run.json").read_text())
    assert record["stopped"] and 2 <= len(record["history"]["loss"]) < 1000
    assert (out / "model.keras").is_file()
