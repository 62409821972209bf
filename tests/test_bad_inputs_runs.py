"""The bad-input corpus, part 2: run folders, model files, Teachable Machine exports, command-line
arguments, and faults (full or read-only workspace, a process killed while saving, two trainings
at once, a damaged feature cache). Part 1 (pictures, zips, class folders, lessons) is
test_bad_inputs_data.py.

Each case asserts the sentence a person sees (and the exit code, for the command line) and that
nothing outside the case's work folder changed."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from bad_inputs import Sandbox
from conftest import SHARED_WEIGHTS
from tlcore.backbones.registry import BACKBONES

ROOT = Path(__file__).resolve().parents[1]
TM = SHARED_WEIGHTS.parents[1] / "clients" / "teachable-machine-cats-dogs"


def tlcore(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.run([sys.executable, "-m", "tlcore", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=environment)


@pytest.fixture(scope="module")
def run_folder(demo_run) -> Path:
    """A real saved run (the shared demo run): copied, then damaged, by the cases."""
    return demo_run[1].path


# -- run folders and model files ------------------------------------------------------------------
@dataclass
class RunCase:
    id: str
    damage: Callable[[Path], None]  # changes a copy of a good run folder
    says: str  # the exact sentence (what load_run raises, what the CLI prints after "tlcore: error: ")


def write(name: str, text: str | bytes) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        target = folder / name
        target.write_bytes(text) if isinstance(text, bytes) else target.write_text(text, encoding="utf-8")
    return damage


def edit_record(**changes) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        data = json.loads((folder / "run.json").read_text())
        data.update(changes)
        (folder / "run.json").write_text(json.dumps(data))
    return damage


def remove(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


AGAIN = "The file was changed or damaged: train the run again or import its model."
RUN_CASES = [
    RunCase("run-json-not-json", write("run.json", '{"name": "x",'),
            "run/run.json is damaged (it is not valid JSON). Train the run again, or import its model.keras "
            "with its labels."),
    RunCase("run-json-a-list", write("run.json", "[1, 2, 3]"),
            "run/run.json does not describe a run (it holds a list, not a set of named values). Train the run "
            "again or import its model."),
    RunCase("run-json-binary", write("run.json", b"\x89PNG\r\n\x1a\n\xff\xfe"),
            "run/run.json is not a text file; the run folder is damaged. Train the run again or import its model."),
    RunCase("run-json-missing", remove("run.json"), "run has no run.json, so it is not a finished run."),
    RunCase("input-size-words", edit_record(input_size="big"),
            f"run/run.json gives input size as 'big'; it must be a number. {AGAIN}"),
    RunCase("input-size-tiny", edit_record(input_size=2),
            f"run/run.json gives input size as 2; it must be a picture size in pixels, such as 224. {AGAIN}"),
    RunCase("classes-not-a-list", edit_record(classes="circle"),
            f"run/run.json gives classes as 'circle'; it must be a list of class names. {AGAIN}"),
    RunCase("history-words", edit_record(history={"loss": ["low"]}),
            f"run/run.json gives history in a form that is not readable; it must be lists of numbers. {AGAIN}"),
    RunCase("settings-impossible", edit_record(settings={"epochs": -3}),
            "run/run.json holds settings that cannot be used: Epochs must be between 1 and 1000; got -3."),
    RunCase("accuracy-words", edit_record(val_accuracy="great"),
            f"run/run.json gives val accuracy as 'great'; it must be a number. {AGAIN}"),
    RunCase("labels-too-few", write("labels.txt", "circle\nsquare\n"),
            "run: the model gives 3 answers but labels.txt names 2 classes (circle, square). Put one class "
            "name a line in labels.txt, in the model's order, or train the run again."),
    RunCase("labels-too-many", write("labels.txt", "a\nb\nc\nd\n"),
            "run: the model gives 3 answers but labels.txt names 4 classes (a, b, c, d). Put one class "
            "name a line in labels.txt, in the model's order, or train the run again."),
    RunCase("model-missing", remove("model.keras"), "{folder} is not a run folder: it has no model.keras."),
]


@pytest.mark.parametrize("case", RUN_CASES, ids=[c.id for c in RUN_CASES])
def test_damaged_run_folder(case, run_folder, tmp_path):
    from tlcore.runs import load_run

    sandbox = Sandbox.make(tmp_path)
    folder = sandbox.work / "run"
    shutil.copytree(run_folder, folder)
    case.damage(folder)
    outside, inside = sandbox.outside(), sandbox.inside()
    says = case.says.replace("{folder}", str(folder))
    with pytest.raises((ValueError, OSError)) as caught:
        load_run(folder)
    assert str(caught.value) == says
    result = tlcore("predict", folder, run_folder / "validation" / "000" / os.listdir(run_folder / "validation" / "000")[0])
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1] == f"tlcore: error: {says}"
    assert "Traceback" not in result.stderr
    assert sandbox.outside() == outside and sandbox.inside() == inside


def test_labels_in_latin1_and_with_a_bom_are_read(run_folder, tmp_path):
    """Older tools write labels.txt in Latin-1 or with a byte-order mark: read, not refused."""
    from tlcore.runs import load_run

    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    (folder / "labels.txt").write_bytes("café\nsquare\ntriangle\n".encode("latin-1"))
    assert load_run(folder).class_names == ["café", "square", "triangle"]
    (folder / "labels.txt").write_bytes("\ufeffcircle\nsquare\ntriangle\n".encode("utf-8"))
    assert load_run(folder).class_names == ["circle", "square", "triangle"]


def test_class_name_with_a_line_break_is_refused_at_save(demo_run, demo_dataset_96, tmp_path):
    """Three lines in labels.txt for two outputs made predict answer with half a name."""
    from tlcore.runs import RunFolderError, save_run

    trainer, _ = demo_run
    names = list(trainer.class_names_)
    trainer.class_names_[0] = "big\ncircle"
    try:
        with pytest.raises(RunFolderError) as caught:
            save_run(trainer, demo_dataset_96, tmp_path / "run")
    finally:
        trainer.class_names_[:] = names
    assert str(caught.value) == (
        "A run needs at least 2 class names, each on one line without line breaks; got "
        "['big\\ncircle', 'square', 'triangle']. Rename the class folders and train again.")
    assert not (tmp_path / "run").exists()


def test_model_file_that_is_text_or_code_is_refused(run_folder, tmp_path):
    from tlcore.runs import load_run

    sandbox = Sandbox.make(tmp_path)
    folder = sandbox.work / "run"
    shutil.copytree(run_folder, folder)
    (folder / "model.keras").write_text("this is not a model")
    outside = sandbox.outside()
    picture = next(p for p in (run_folder / "validation").rglob("*") if p.is_file())
    says = ("run/model.keras is damaged (it is not a Keras model file). Train the run again, or import the "
            "model again from the file it came from.")
    with pytest.raises(ValueError) as caught:
        load_run(folder).predict([picture])
    assert str(caught.value) == says
    result = tlcore("predict", folder, picture)
    assert result.returncode == 2 and result.stderr.strip() == f"tlcore: error: {says}"
    assert sandbox.outside() == outside


def test_runs_being_written_or_left_by_a_dead_process_are_never_listed(run_folder, tmp_path):
    from tlcore.runs import CLAIM_FILE, claim_run_folder, clean_leftovers, list_runs

    workspace = tmp_path / "ws"
    shutil.copytree(run_folder, workspace / "20240101-000000-good")
    mine = claim_run_folder(workspace, "mobilenet_v2_035")  # this process: alive
    dead = workspace / "20240101-000001-dead"
    shutil.copytree(run_folder, dead)
    (dead / CLAIM_FILE).write_text(f"{os.uname().nodename} 999999999\n")
    legacy = workspace / "20240101-000002-old.partial"
    shutil.copytree(run_folder, legacy)
    assert [r.path.name for r in list_runs(workspace)] == ["20240101-000000-good"]
    assert sorted(p.name for p in clean_leftovers(workspace)) == [dead.name, legacy.name]
    assert mine.is_dir() and not dead.exists() and not legacy.exists()


# -- Teachable Machine exports ----------------------------------------------------------------------
needs_tm = pytest.mark.skipif(not (TM / "keras_model.h5").is_file(), reason=f"needs the Teachable Machine export in {TM}")


@pytest.mark.parametrize("make, says", [
    (lambda d: (d / "m.h5", d / "l.txt", (d / "m.h5").write_text("hello"), (d / "l.txt").write_text("0 a\n1 b\n")),
     "m.h5 is not a Teachable Machine Keras file (keras_model.h5 from the 'Tensorflow → Keras' download)."),
    (lambda d: (TM / "keras_model.h5", d / "l.txt", (d / "l.txt").write_text("0 cat\n")),
     "l.txt names 1 class(es); a model needs at least 2."),
    (lambda d: (TM / "keras_model.h5", d / "l.txt", (d / "l.txt").write_text("0 cat\n1 cat\n")),
     "l.txt names a class twice: ['cat', 'cat']."),
    (lambda d: (TM / "keras_model.h5", d / "l.txt", (d / "l.txt").write_text("0 a\n1 b\n2 c\n")),
     "The model has 2 outputs but labels.txt names 3 classes."),
    (lambda d: (d / "m.h5", TM / "labels.txt", (d / "m.h5").write_bytes((TM / "keras_model.h5").read_bytes()[:5000])),
     "m.h5 is cut short: it could not be read as a Keras file. Download the model from Teachable Machine again "
     "(Export model → Tensorflow → Keras)."),
], ids=["model-is-text", "one-label", "label-twice", "labels-do-not-fit", "model-cut-short"])
@needs_tm
def test_bad_teachable_machine_export(make, says, tmp_path):
    sandbox = Sandbox.make(tmp_path)
    model, labels, *_ = make(sandbox.work)
    outside, inside = sandbox.outside(), sandbox.inside()
    result = tlcore("import-tm", model, labels, "--out", sandbox.workspace / "tm")
    line = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert line == f"tlcore: error: {says}", line
    assert sandbox.outside() == outside and sandbox.inside() == inside  # no half-made run folder


@needs_tm
def test_teachable_machine_arguments_swapped_are_recognised(tmp_path):
    result = tlcore("import-tm", TM / "labels.txt", TM / "keras_model.h5", "--out", tmp_path / "tm")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "tm" / "labels.txt").read_text() == "dog\ncat\n"


# -- command-line arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("args, says", [
    (["--batch-size", "abc"], "Batch size must be 'auto' or a whole number from 1 to 4096; got 'abc'."),
    (["--batch-size", "0"], "Batch size must be 'auto' or a whole number from 1 to 4096; got '0'."),
    (["--epochs", "0"], "Epochs must be between 1 and 1000; got 0."),
    (["--epochs", "five"], "Epochs must be a whole number; got 'five'."),
    (["--learning-rate", "5"], "Learning rate must be between 0 and 1 (for example 0.001); got 5."),
    (["--learning-rate", "fast"], "Learning rate must be a number; got 'fast'."),
    (["--learning-blocks", "-1"], "Learning blocks must be 0 (only the new head learns) or more; got -1."),
    (["--freeze-depth", "x"], "Learning blocks must be a whole number; got 'x'."),
    (["--augment", "blur"], "Unknown augmentation blur: choose from flip, rotation, zoom, contrast."),
    (["--validation-fraction", "0.95"], "Validation fraction must be between 0.01 and 0.9; got 0.95."),
    (["--input-size", "10"], "Picture size must be between 32 and 1024; got 10."),
    (["--backbone", "alexnet"], "Unknown backbone 'alexnet'. Choose one of: "
                                + ", ".join(s.name for s in BACKBONES.values() if s.pretrained)
                                + "".join(f", or {s.name} (from scratch only)" for s in BACKBONES.values()
                                          if not s.pretrained) + "."),
    (["--seed", "-4"], "Seed must be between 0 and 2147483647; got -4."),
    (["--epochs", "2", "--fine-tune-epochs", "2"],
     "Fine-tuning needs at least one learning block: set learning blocks to 1 or more, or set fine-tune epochs to 0."),
], ids=lambda v: "_".join(v) if isinstance(v, list) else None)
def test_bad_training_arguments_are_one_sentence_before_any_work(args, says, tmp_path):
    sandbox = Sandbox.make(tmp_path)
    outside = sandbox.outside()
    started = time.monotonic()
    result = tlcore("train", sandbox.work, *args, env={"TLCORE_WORKSPACE": str(sandbox.workspace)})
    assert result.returncode == 2 and result.stderr.strip() == f"tlcore: error: {says}"
    assert time.monotonic() - started < 20  # refused before TensorFlow or any picture is touched
    assert sandbox.outside() == outside


def test_out_folder_that_is_not_empty_is_refused_before_training(tmp_path, demo_dataset_96):
    from tlcore.data import demo_folder

    sandbox = Sandbox.make(tmp_path)
    (sandbox.work / "out").mkdir()
    (sandbox.work / "out" / "keep.txt").write_text("mine")
    outside, inside = sandbox.outside(), sandbox.inside()
    result = tlcore("train", demo_folder(), "--weights", "none", "--out", sandbox.work / "out")
    assert result.returncode == 2 and "Epoch" not in result.stderr  # nothing was trained
    assert result.stderr.strip() == f"tlcore: error: {sandbox.work / 'out'} already exists and is not empty; " \
                                    "choose another --out folder."
    assert sandbox.outside() == outside and sandbox.inside() == inside


@pytest.mark.parametrize("format, out, says", [
    ("keras", "folder", "{work}/folder is a folder: give the name of the file to write, such as {work}/folder/model.zip."),
    ("tflite", "folder", "{work}/folder is a folder: give the name of the file to write, such as "
                         "{work}/folder/model.tflite."),
    ("keras", "notes.txt/model.zip", "{work}/notes.txt is a file, not a folder, so nothing can be written inside it; "
                                     "choose another --out."),
    ("savedmodel", "taken", "{work}/taken already exists and is not an empty folder; choose another --out."),
], ids=["zip-into-a-folder", "tflite-into-a-folder", "inside-a-file", "savedmodel-folder-taken"])
def test_bad_export_out_is_one_sentence_before_any_work(format, out, says, run_folder, tmp_path):
    sandbox = Sandbox.make(tmp_path)
    for folder in ("folder", "taken"):
        (sandbox.work / folder).mkdir()
    (sandbox.work / "taken" / "mine.txt").write_text("keep")
    (sandbox.work / "notes.txt").write_text("a file")
    outside, inside = sandbox.outside(), sandbox.inside()
    result = tlcore("export", run_folder, "--format", format, "--out", sandbox.work / out)
    assert (result.returncode, result.stderr.strip()) == (2, "tlcore: error: " + says.format(work=sandbox.work))
    assert sandbox.outside() == outside and sandbox.inside() == inside


def test_tensorflow_start_up_lines_are_silenced(tmp_path):
    result = tlcore("backbones", "mobilenet_v2_035")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    verbose = tlcore("--verbose", "backbones", "mobilenet_v2_035")
    assert verbose.returncode == 0 and verbose.stdout == result.stdout
    assert verbose.stderr.strip(), "--verbose should give TensorFlow's own start-up lines back"


# -- faults: the workspace ----------------------------------------------------------------------------
def _mount_tmpfs(path: Path, options: str) -> bool:
    """A real small or read-only file system where this machine allows it (root, Linux)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


def _unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.fixture
def small_disk(tmp_path):
    """A 1.5 MB file system (a demo model is ~2.3 MB, so it fills while saving); skips where mount is refused."""
    path = tmp_path / "small"
    if not _mount_tmpfs(path, "size=1500k"):
        pytest.skip("cannot mount a small file system here (needs root); the injected ENOSPC test covers it")
    yield path
    _unmount(path)


def test_read_only_workspace_is_refused_before_training(tmp_path):
    from tlcore.data import demo_folder

    sandbox = Sandbox.make(tmp_path)
    workspace = sandbox.work / "ro"
    if not _mount_tmpfs(workspace, "ro,size=1m"):
        pytest.skip("cannot mount a read-only file system here")
    try:
        outside = sandbox.outside()
        result = tlcore("train", demo_folder(), "--weights", "none", env={"TLCORE_WORKSPACE": str(workspace)})
    finally:
        _unmount(workspace)
    assert result.returncode == 2 and "Epoch" not in result.stderr
    assert result.stderr.strip() == (
        f"tlcore: error: Runs cannot be saved in {workspace}: it is read-only for this program. Choose another "
        "workspace (set TLCORE_WORKSPACE, or give --out) and try again.")
    assert sandbox.outside() == outside


def test_workspace_that_is_a_file_is_refused_before_training(tmp_path):
    from tlcore.data import demo_folder

    sandbox = Sandbox.make(tmp_path)
    workspace = sandbox.work / "workspace.txt"
    workspace.write_text("not a folder")
    outside, inside = sandbox.outside(), sandbox.inside()
    result = tlcore("train", demo_folder(), "--weights", "none", env={"TLCORE_WORKSPACE": str(workspace)})
    assert result.returncode == 2 and result.stderr.strip() == (
        f"tlcore: error: The workspace {workspace} is a file, not a folder. Move the file away, or choose another "
        "workspace (set TLCORE_WORKSPACE, or give --out).")
    assert sandbox.outside() == outside and sandbox.inside() == inside


@pytest.mark.parametrize("command, says", [
    (["train", "{demo}", "--weights", "none", "--out", "{work}/notes.txt/run"],
     "{work}/notes.txt is a file, not a folder. Move the file away, or choose another --out folder."),
    (["train", "{demo}", "--weights", "none", "--out", "{work}/notes.txt/a/run"],
     "Runs cannot be saved in {work}/notes.txt/a: part of that path is a file, not a folder. "
     "Choose another --out folder."),
    (["import-tm", "{tm}/keras_model.h5", "{tm}/labels.txt", "--out", "{work}/notes.txt/tm"],
     "{work}/notes.txt is a file, not a folder. Move the file away, or choose another --out folder."),
    (["fetch-weights", "mobilenet_v2_035", "--file", "{work}/notes.txt"],
     "The weights file 'notes.txt' does not fit MobileNetV2 (0.35, Teachable Machine size) (it is not a Keras "
     "weights file, such as an .h5 or .weights.h5 file). Choose a weights file made for this backbone, "
     "'imagenet', or 'none'."),
    (["train", "{work}/pictures", "--weights", "none", "--out", "{work}/pictures/run"],
     "--out {work}/pictures/run is inside the pictures folder {work}/pictures, where the run would be read as a "
     "class of pictures. Choose an --out folder outside {work}/pictures."),
    (["train", "{work}/pictures", "--backbone", "mobilenet_v2", "--weights", "{w035}"],
     "The weights file '{w035.name}' is for MobileNetV2 (0.35, Teachable Machine size), not MobileNetV2. Choose "
     "MobileNetV2 (0.35, Teachable Machine size) to use it, or a weights file made for MobileNetV2, 'imagenet', "
     "or 'none'."),
    (["fetch-weights", "mobilenet_v2_035", "--file", "{work}/cut.weights.h5"],
     "The weights file 'cut.weights.h5' is damaged or cut short (part of it is missing), so it cannot be used. "
     "Copy or download it again."),
], ids=["out-in-a-file", "out-below-a-file", "import-out-in-a-file", "weights-file-is-text", "out-in-the-pictures",
        "weights-for-another-network", "weights-cut-short"])
def test_out_or_weights_that_cannot_be_used_are_one_sentence(command, says, tmp_path, mobilenet_035_weights):
    """Refused before TensorFlow loads or a picture is read: a weights file is told by its HDF5 header
    and how many values it holds (a cut-short one cannot be opened; another network's holds that
    network's count), never by Keras's or HDF5's words."""
    from tlcore.data import demo_folder

    from bad_inputs import make_classes

    if command[0] == "import-tm" and not (TM / "keras_model.h5").is_file():
        pytest.skip(f"needs the Teachable Machine export in {TM}")
    sandbox = Sandbox.make(tmp_path)
    (sandbox.work / "notes.txt").write_text("a file, not a folder")
    make_classes(sandbox.work / "pictures", {"daisy": 2, "rose": 2})
    whole = Path(mobilenet_035_weights).read_bytes()
    (sandbox.work / "cut.weights.h5").write_bytes(whole[: len(whole) // 2])
    outside, inside = sandbox.outside(), sandbox.inside()
    fill = dict(work=sandbox.work, demo=demo_folder(), tm=TM, w035=Path(mobilenet_035_weights))
    started = time.monotonic()
    result = tlcore(*[part.format(**fill) for part in command], env={"TLCORE_WORKSPACE": str(sandbox.workspace)})
    assert (result.returncode, result.stderr.strip()) == (2, "tlcore: error: " + says.format(**fill))
    assert sandbox.outside() == outside and sandbox.inside() == inside
    if command[0] == "train":
        assert time.monotonic() - started < 20  # before TensorFlow: no network was built


def test_a_workspace_inside_the_pictures_folder_is_refused_before_training(tmp_path):
    from bad_inputs import make_classes

    sandbox = Sandbox.make(tmp_path)
    pictures = make_classes(sandbox.work / "pictures", {"daisy": 2, "rose": 2})
    outside, inside = sandbox.outside(), sandbox.inside()
    result = tlcore("train", pictures, "--weights", "none", env={"TLCORE_WORKSPACE": str(pictures / "runs")})
    assert (result.returncode, result.stderr.strip()) == (2, (
        f"tlcore: error: The workspace {pictures / 'runs'} is inside the pictures folder {pictures}, where runs would "
        f"be read as classes of pictures. Give --out outside {pictures}, or set TLCORE_WORKSPACE to a folder outside it."))
    assert sandbox.outside() == outside and sandbox.inside() == inside


def test_a_weights_file_for_another_network_is_named_in_the_app_too(tmp_path):
    """Where the app adds a weights file (Model page, Share page): add_to_library says the same."""
    from tlcore.backbones import add_to_library, get_backbone
    from tlcore.backbones.small_cnn import SmallCNN

    SmallCNN(input_shape=(32, 32, 3)).save_weights(tmp_path / "mine.weights.h5")
    with pytest.raises(ValueError) as caught:
        add_to_library(get_backbone("mobilenet_v2_035"), tmp_path / "mine.weights.h5")
    assert str(caught.value) == (
        "The weights file 'mine.weights.h5' is for Small CNN (no pretraining), not MobileNetV2 (0.35, Teachable "
        "Machine size). Choose Small CNN (no pretraining) to use it, or a weights file made for MobileNetV2 (0.35, "
        "Teachable Machine size), 'imagenet', or 'none'.")


def test_predicting_a_folder_says_to_give_picture_files(run_folder, tmp_path):
    sandbox = Sandbox.make(tmp_path)
    outside, inside = sandbox.outside(), sandbox.inside()
    result = tlcore("predict", run_folder, sandbox.work)
    assert (result.returncode, result.stderr.strip()) == (
        2, f"tlcore: error: {sandbox.work} is a folder: give picture files, such as {sandbox.work / '*.jpg'}.")
    assert sandbox.outside() == outside and sandbox.inside() == inside


def _small_settings(weights):
    from tlcore.settings import TrainingSettings

    return TrainingSettings(backbone="mobilenet_v2_035", weights=str(weights), input_size=96, epochs=1, batch_size=16)


def _check_full_disk_save(job, workspace: Path) -> None:
    assert job.run is None and job.error == (
        f"The disk is full: nothing more fits in {workspace}. Free some space (delete old runs or other files) "
        "and try again. What was learned is kept until you close the app: save again once that is fixed.")
    assert [p.name for p in workspace.iterdir()] == []  # no half-written run left filling the disk


def test_full_disk_while_saving_leaves_nothing_and_can_save_again(small_disk, demo_dataset_96,
                                                                  mobilenet_035_weights, tmp_path):
    from tlcore.jobs import TrainingJob

    job = TrainingJob(_small_settings(mobilenet_035_weights), demo_dataset_96, small_disk, cache_dir=tmp_path / "c")
    job.train_and_save()
    _check_full_disk_save(job, small_disk)
    subprocess.run(["mount", "-o", "remount,size=40m", str(small_disk)], check=True)  # space freed
    run = job.save_again()
    assert run is not None and job.error is None and (run.path / "run.json").is_file()


def test_full_disk_injected_at_the_real_write(demo_dataset_96, mobilenet_035_weights, tmp_path, monkeypatch):
    """Where no small file system can be mounted: ENOSPC raised by the model file's own write."""
    from tlcore.jobs import TrainingJob

    workspace = tmp_path / "ws"
    job = TrainingJob(_small_settings(mobilenet_035_weights), demo_dataset_96, workspace, cache_dir=tmp_path / "c")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    import keras

    monkeypatch.setattr(keras.Model, "save", full)
    job.train_and_save()
    _check_full_disk_save(job, workspace)
    monkeypatch.undo()
    assert job.save_again() is not None


def test_full_cache_folder_is_skipped_with_a_note(demo_dataset_96, mobilenet_035_weights, tmp_path, monkeypatch):
    from tlcore.training import Trainer
    import tlcore.training.features as features

    real_save = np.save

    def full(stream, array, *args, **kwargs):
        real_save(stream, array[: len(array) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(features.np, "save", full)
    cache = tmp_path / "cache"
    trainer = Trainer(_small_settings(mobilenet_035_weights), cache_dir=cache).fit(demo_dataset_96)
    assert trainer.history_["loss"] and trainer.notes_ == [
        f"The pictures' features could not be kept for next time (No space left on device in {cache}); "
        "training went on without the cache."]
    assert list(cache.iterdir()) == []  # no .tmp left behind


# -- faults: two at once, a killed process --------------------------------------------------------------
def test_two_trainings_started_in_the_same_second_get_their_own_folders(tmp_path):
    from tlcore.runs import claim_run_folder

    folders = [claim_run_folder(tmp_path, "mobilenet_v2_035") for _ in range(3)]
    assert len({f.name for f in folders}) == 3 and all(f.is_dir() for f in folders)


def test_two_trainings_saving_at_once_both_keep_their_runs(demo_dataset_96, mobilenet_035_weights, tmp_path):
    from tlcore.jobs import TrainingJob

    jobs = [TrainingJob(_small_settings(mobilenet_035_weights).replace(seed=seed), demo_dataset_96,
                        tmp_path / "ws", cache_dir=tmp_path / "cache") for seed in (1, 2)]
    threads = [threading.Thread(target=job.train_and_save) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    assert all(job.error is None and job.run is not None for job in jobs), [job.error for job in jobs]
    assert len({job.run.path for job in jobs}) == 2
    assert sorted(p.name for p in (tmp_path / "ws").iterdir()) == sorted(job.run.path.name for job in jobs)


def test_a_process_killed_while_training_leaves_no_listed_run(tmp_path):
    from tlcore.data import demo_folder
    from tlcore.runs import clean_leftovers, list_runs

    workspace = tmp_path / "ws"
    process = subprocess.Popen([sys.executable, "-m", "tlcore", "train", str(demo_folder()), "--weights", "none",
                                "--input-size", "96", "--epochs", "50"], env=dict(os.environ, PYTHONPATH=str(ROOT),
                               TLCORE_WORKSPACE=str(workspace)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (workspace.is_dir() and any(workspace.iterdir())):
        time.sleep(0.2)
    time.sleep(1.0)
    process.kill()
    process.wait()
    assert any(workspace.iterdir()), "the run's folder is claimed when training starts"
    assert list_runs(workspace) == []
    assert len(clean_leftovers(workspace)) == 1 and list(workspace.iterdir()) == []


# -- faults: the feature cache ------------------------------------------------------------------------------
def _damage_cache(kind: str, entry: Path) -> None:
    array = np.load(entry)
    if kind == "garbage":
        np.save(entry, np.random.default_rng(0).normal(size=array.shape).astype("float32"))
    elif kind == "nan":
        np.save(entry, np.full(array.shape, np.nan, "float32"))
    elif kind == "zeros":
        np.save(entry, np.zeros(array.shape, "float32"))
    elif kind == "empty-file":
        entry.write_bytes(b"")
    elif kind == "rows":
        np.save(entry, array[:-1])
    elif kind == "width":
        np.save(entry, array[:, :-1])
    elif kind == "no-sidecar":
        entry.with_suffix(".json").unlink()
    elif kind == "sidecar-of-another":
        info = json.loads(entry.with_suffix(".json").read_text())
        entry.with_suffix(".json").write_text(json.dumps({**info, "key": "0" * 32}))


@pytest.fixture(scope="module")
def clean_cache(demo_dataset_96, mobilenet_035_weights, tmp_path_factory):
    """One training's feature cache and its results, before anything is damaged."""
    from tlcore.training import Trainer

    folder = tmp_path_factory.mktemp("clean-cache")
    trainer = Trainer(_small_settings(mobilenet_035_weights), cache_dir=folder).fit(demo_dataset_96)
    return folder, trainer.history_, trainer.val_accuracy_


@pytest.mark.parametrize("kind", ["garbage", "nan", "zeros", "empty-file", "rows", "width", "no-sidecar",
                                  "sidecar-of-another"])
def test_damaged_feature_cache_is_a_miss_and_recomputed(kind, clean_cache, demo_dataset_96,
                                                        mobilenet_035_weights, tmp_path):
    from tlcore.training import Trainer

    folder, history, accuracy = clean_cache
    cache = tmp_path / "cache"
    shutil.copytree(folder, cache)
    (entry,) = cache.glob("*.npy")
    _damage_cache(kind, entry)
    settings = _small_settings(mobilenet_035_weights)
    again = Trainer(settings, cache_dir=cache).fit(demo_dataset_96)
    assert again.feature_cache_hit_ is False  # the damaged entry was not used...
    np.testing.assert_allclose(again.history_["val_loss"], history["val_loss"], rtol=1e-5)
    assert again.val_accuracy_ == accuracy  # ...and the result is the clean one
    if kind == "garbage":
        assert Trainer(settings, cache_dir=cache).fit(demo_dataset_96).feature_cache_hit_ is True  # overwritten


# -- seeded runs are the same however many run at once --------------------------------------------------------
def test_seeded_trainings_in_two_threads_match_one_after_the_other(demo_dataset_96, mobilenet_035_weights, tmp_path):
    """Before, a training in another tab changed a seeded run's curve (0.846, 0.910 → 0.910, 0.910)."""
    from tlcore.training import Trainer

    settings = [_small_settings(mobilenet_035_weights).replace(epochs=3, seed=seed) for seed in (1, 2)]
    alone = [Trainer(s, cache_dir=tmp_path / "cache").fit(demo_dataset_96).history_ for s in settings]
    together = [Trainer(s, cache_dir=tmp_path / "cache") for s in settings]
    threads = [threading.Thread(target=t.fit, args=(demo_dataset_96,)) for t in together]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    for history, trainer in zip(alone, together):
        np.testing.assert_allclose(trainer.history_["val_loss"], history["val_loss"], rtol=1e-6)
        assert trainer.history_["val_accuracy"] == history["val_accuracy"]


def test_networks_built_from_scratch_in_two_threads_start_from_their_own_seeds():
    """From scratch every starting weight is drawn from Keras's one process-wide generator."""
    from tlcore.model import build_classifier

    def weights(seed):
        model = build_classifier("mobilenet_v2_035", ["a", "b"], 48, "none", seed=seed).model
        return [v.numpy() for v in model.weights]

    alone = {seed: weights(seed) for seed in (1, 2)}
    for _ in range(3):
        together = {}
        threads = [threading.Thread(target=lambda s=seed: together.__setitem__(s, weights(s))) for seed in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        for seed in (1, 2):
            assert all(np.array_equal(a, b) for a, b in zip(alone[seed], together[seed]))
