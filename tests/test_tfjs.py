"""TensorFlow.js both ways, without a browser (tests/test_e2e_tfjs.py loads ours in Chromium):
Teachable Machine's real TF.js export gives its reference answers however it is handed over,
our export imports back as the very run, and damaged or partial exports are refused in one
plain sentence with nothing written."""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED
from tlcore.export.tfjs import (INPUT_LAYER, TFJS_BACKBONES, TfjsExportError, export_tfjs, export_tfjs_zip,
                                runtime_licence, runtime_script, tfjs_model, tfjs_problem)
from tlcore.importers import TeachableMachineError, import_teachable_machine_export, import_tfjs
from tlcore.importers.tfjs import read_tfjs

TM_TFJS = SHARED / "clients" / "teachable-machine-tfjs"
needs_tm_tfjs = pytest.mark.skipif(not (TM_TFJS / "model.json").is_file(),
                                   reason=f"needs the real Teachable Machine TF.js export in {TM_TFJS}")
REDOWNLOAD = "Download the model from Teachable Machine again (Export Model → Tensorflow.js → Download my model)."


def expected_answers() -> tuple[list[Path], list[dict]]:
    expected = json.loads((TM_TFJS / "expected.json").read_text())
    return [(TM_TFJS / item["image"]).resolve() for item in expected["expected"]], expected["expected"]


def assert_teachable_machines_answers(run, atol: float = 1e-4) -> None:
    """expected.json: computed independently, with the Keras import's preprocessing (x / 127.5 - 1)."""
    files, expected = expected_answers()
    assert len(files) == 10 and run.class_names == ["Andesite", "Basalt", "Diorite", "Obsidian"]
    for prediction, item in zip(run.predict(files), expected):
        assert prediction.top == item["top"]
        for name, p in item["probabilities"].items():
            assert prediction.probabilities[name] == pytest.approx(p, abs=atol)


def copy_export(tmp_path: Path, name: str = "export") -> Path:
    folder = tmp_path / name
    shutil.copytree(TM_TFJS, folder, ignore=shutil.ignore_patterns("expected.json", "README.md"))
    return folder


# -- Teachable Machine's TensorFlow.js export ---------------------------------------------------
@pytest.fixture(scope="module")
def tm_run(tmp_path_factory):
    if not (TM_TFJS / "model.json").is_file():
        pytest.skip(f"needs the real Teachable Machine TF.js export in {TM_TFJS}")
    from tlcore.runs import load_run

    folder = tmp_path_factory.mktemp("tm-tfjs") / "run"
    import_tfjs(TM_TFJS, folder)  # the folder as the user has it
    return load_run(folder)  # from disk, as the app opens it


@needs_tm_tfjs
def test_teachable_machine_tfjs_export_gives_its_answers(tm_run):
    assert_teachable_machines_answers(tm_run)
    record = tm_run.record
    assert (record.backbone, record.input_size, record.weights) == ("mobilenet_v2_035", 224, "teachable-machine")
    assert record.source == "Teachable Machine export (model.json, TensorFlow.js 1.3.1)"
    assert record.extra["head"] == "average pooling → Dense(100, relu) → Dense(4, softmax, no bias)"
    assert [layer.name for layer in tm_run.keras_model.layers] == [
        "pixels", "preprocess_scale", "mobilenetv2_0.35_224", "pool", "hidden", "predictions"]


@needs_tm_tfjs
def test_imported_tfjs_run_can_be_evaluated_explained_and_trained_from(tm_run, tmp_path):
    from tlcore.backbones.factory import create_backbone
    from tlcore.data import load_picture
    from tlcore.evaluate import evaluate_run
    from tlcore.explain import gradcam
    from tlcore.importers import tfjs_backbone_weights

    files, expected = expected_answers()
    labels = [item["top"] for item in expected[:5]] + ["Andesite"] * 5  # Teachable Machine's answer, then a guess
    evaluation = evaluate_run(tm_run, files, labels)
    assert evaluation.accuracy == pytest.approx((5 + sum(item["top"] == "Andesite" for item in expected[5:])) / 10)
    heatmap = gradcam(tm_run, load_picture(files[0], 224))
    assert heatmap.shape == (224, 224) and np.isfinite(heatmap).all() and heatmap.max() > 0
    weights = tfjs_backbone_weights(TM_TFJS, tmp_path / "tm.weights.h5")  # "Use its network as a starting point"
    assert create_backbone("mobilenet_v2_035", 96, str(weights)).output_shape == (None, 3, 3, 1280)


@needs_tm_tfjs
def test_the_zip_and_renamed_files_with_another_session_counter_and_order(tm_run, tmp_path):
    """The zip Teachable Machine downloads is the same model; so are its three files chosen together
    after a browser renamed them, with the head named dense_Dense17 and the manifest shuffled."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in ("model.json", "weights.bin", "metadata.json"):
            bundle.write(TM_TFJS / name, name)
    from_zip = read_tfjs(archive.getvalue())
    assert from_zip.labels == tm_run.class_names and from_zip.input_size == 224

    text = (TM_TFJS / "model.json").read_text().replace("dense_Dense1", "dense_Dense17").replace(
        "dense_Dense2", "dense_Dense18")
    model = json.loads(text)
    entries = model["weightsManifest"][0]["weights"]
    data = (TM_TFJS / "weights.bin").read_bytes()
    sizes = [4 * int(np.prod(entry["shape"])) for entry in entries]
    pieces = [data[sum(sizes[:i]):sum(sizes[:i + 1])] for i in range(len(entries))]
    order = np.random.default_rng(0).permutation(len(entries))
    model["weightsManifest"][0]["weights"] = [entries[i] for i in order]
    (tmp_path / "model (1).json").write_text(json.dumps(model))
    (tmp_path / "weights (1).bin").write_bytes(b"".join(pieces[i] for i in order))
    shutil.copyfile(TM_TFJS / "metadata.json", tmp_path / "metadata (1).json")
    files = [tmp_path / "weights (1).bin", tmp_path / "metadata (1).json", tmp_path / "model (1).json"]
    run = import_teachable_machine_export(files, tmp_path / "run")
    assert run.record.source == "Teachable Machine export (model (1).json, TensorFlow.js 1.3.1)"
    assert_teachable_machines_answers(run)


@needs_tm_tfjs
def test_an_older_export_without_image_size_is_224(tmp_path):
    folder = copy_export(tmp_path)
    metadata = json.loads((folder / "metadata.json").read_text())
    del metadata["imageSize"]
    (folder / "metadata.json").write_text(json.dumps(metadata))
    assert read_tfjs(folder).input_size == 224


# -- refused in one plain sentence, nothing written ---------------------------------------------
def refused(source, tmp_path: Path) -> str:
    with pytest.raises(TeachableMachineError) as caught:
        import_teachable_machine_export(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    return str(caught.value)


@needs_tm_tfjs
def test_a_damaged_model_json_is_refused_in_words(tmp_path):
    folder = copy_export(tmp_path)
    (folder / "model.json").write_bytes((TM_TFJS / "model.json").read_bytes()[:5000])  # cut short
    assert refused(folder, tmp_path) == f"model.json is damaged: it is not readable JSON. {REDOWNLOAD}"


@needs_tm_tfjs
def test_a_missing_shard_is_refused_in_words(tmp_path):
    files = [TM_TFJS / "model.json", TM_TFJS / "metadata.json"]
    assert refused(files, tmp_path) == ("The weights file weights.bin is missing: choose it together with model.json "
                                        "and metadata.json (or the zip Teachable Machine gave you).")


@needs_tm_tfjs
def test_a_short_shard_is_refused_before_reading_it(tmp_path):
    folder = copy_export(tmp_path)
    (folder / "weights.bin").write_bytes((TM_TFJS / "weights.bin").read_bytes()[:1_000_000])
    needed = (TM_TFJS / "weights.bin").stat().st_size
    assert refused(folder, tmp_path) == (f"weights.bin is cut short: model.json lists {needed:,} bytes of weights "
                                         f"but it holds 1,000,000. {REDOWNLOAD}")


def edited(tmp_path: Path, change) -> Path:
    """A copy of the export whose model.json ``change(model_json)`` edited."""
    folder = copy_export(tmp_path)
    model = json.loads((folder / "model.json").read_text())
    change(model)
    (folder / "model.json").write_text(json.dumps(model))
    return folder


@needs_tm_tfjs
@pytest.mark.parametrize("change, sentence", [
    (lambda m: m["weightsManifest"][0]["weights"].__delitem__(0),  # Conv1/kernel no longer listed
     "The export has no weights for Conv1/kernel."),
    (lambda m: m["weightsManifest"][0]["weights"][0].update(name="Conv9/kernel"),
     "The export has no weights for Conv1/kernel."),
    (lambda m: m["weightsManifest"][0]["weights"][0].update(shape=[3, 3, 3, -16]),
     "model.json gives the weights 'Conv1/kernel' an impossible shape [3, 3, 3, -16]."),
    (lambda m: m["weightsManifest"][0]["weights"][0].update(shape=[16_000_000, 16_000_000]),
     r"model\.json lists 1,024,000,00\d MB of weights; at most 800 MB can be imported\."),
    (lambda m: m["weightsManifest"][0].update(paths=["../weights.bin"]),
     "model.json names a weights file that is not a plain file name. It holds a slash."),
    (lambda m: m["weightsManifest"][0]["weights"][0].update(dtype="string"),
     "model.json stores the weights 'Conv1/kernel' as 'string', which this importer does not read."),
    (lambda m: m.pop("weightsManifest"),
     f"model.json lists no weights (it has no weightsManifest). {REDOWNLOAD}"),
    (lambda m: m["modelTopology"]["config"]["layers"][1]["config"]["layers"].append(
        {"class_name": "Flatten", "config": {"name": "x"}}),
     "model.json's head has a Flatten layer that this app cannot rebuild (only Dense and Dropout)."),
])
def test_a_model_json_that_does_not_match_its_weights_is_refused(tmp_path, change, sentence):
    folder = edited(tmp_path, change)
    said = refused(folder, tmp_path)
    assert said == sentence or (sentence.startswith("model\\.") and re.fullmatch(sentence, said))


@needs_tm_tfjs
def test_metadata_is_needed_and_must_match(tmp_path):
    assert refused([TM_TFJS / "model.json", TM_TFJS / "weights.bin"], tmp_path) == (
        "metadata.json is missing: it holds the class names. Choose it together with model.json and weights.bin "
        "(or the zip Teachable Machine gave you).")
    folder = copy_export(tmp_path)
    (folder / "metadata.json").write_text(json.dumps({"labels": ["a", "b", "c"], "imageSize": 224}))
    assert refused(folder, tmp_path) == ("The model has 4 outputs but metadata.json names 3 classes; they are not "
                                         "from the same export.")
    (folder / "metadata.json").write_text(json.dumps({"labels": ["a", "b", "c", "d"], "imageSize": 96}))
    assert refused(folder, tmp_path) == ("metadata.json says pictures of 96 pixels but model.json's network takes "
                                         "224; they are not from the same export.")


def test_no_export_at_all_is_said_plainly(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    assert refused([tmp_path / "notes.txt"], tmp_path).startswith("No Teachable Machine model was found: choose "
                                                                  "model.json, metadata.json and weights.bin")


# -- our export ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run(demo_run):
    return demo_run[1]


def test_our_export_has_teachable_machines_layout(run, tmp_path):
    folder = export_tfjs(run, tmp_path / "tfjs")
    assert sorted(p.name for p in folder.iterdir()) == ["metadata.json", "model.json", "weights.bin"]
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["labels"] == run.class_names and metadata["imageSize"] == 96
    assert (metadata["packageName"], metadata["tfjsVersion"]) == ("@teachablemachine/image", "4.22.0")
    assert metadata["userMetadata"]["tlcore"]["backbone"] == "mobilenet_v2_035"
    model = json.loads((folder / "model.json").read_text())
    manifest = model["weightsManifest"]
    assert manifest[0]["paths"] == ["weights.bin"] and model["format"] == "layers-model"
    sizes = sum(4 * int(np.prod(entry["shape"])) for entry in manifest[0]["weights"])
    assert (folder / "weights.bin").stat().st_size == sizes
    layers = model["modelTopology"]["config"]["layers"]
    assert [layer["name"] for layer in layers[:3]] == ["pixels", INPUT_LAYER, "Conv1"]
    assert [layer["name"] for layer in layers[-3:]] == ["pool", "dropout", "predictions"]
    assert not any(layer["name"].startswith("augment_") for layer in layers)
    with zipfile.ZipFile(export_tfjs_zip(run, tmp_path / "model.zip")) as archive:
        assert sorted(archive.namelist()) == ["metadata.json", "model.json", "weights.bin"]
        assert archive.read("weights.bin") == (folder / "weights.bin").read_bytes()


def test_the_input_layer_takes_what_teachable_machines_library_feeds(run):
    """Teachable Machine's library and ml5.js feed x / 127 - 1; the first layer must turn that
    into MobileNetV2's x / 127.5 - 1 (the run's own preprocessing)."""
    model, data = tfjs_model(run)
    offset, arrays = 0, {}
    for entry in model["weightsManifest"][0]["weights"]:
        count = int(np.prod(entry["shape"]))
        arrays[entry["name"]] = np.frombuffer(data, "<f4", count, offset).reshape(entry["shape"])
        offset += 4 * count
    kernel, bias = arrays[f"{INPUT_LAYER}/kernel"], arrays[f"{INPUT_LAYER}/bias"]
    pixels = np.random.default_rng(0).integers(0, 256, (50, 3)).astype("float64")
    fed = pixels / 127 - 1
    np.testing.assert_allclose(fed @ kernel[0, 0] + bias, pixels / 127.5 - 1, atol=1e-6)


def test_our_export_imports_back_as_the_same_run(run, tmp_path):
    back = import_tfjs(export_tfjs(run, tmp_path / "tfjs"), tmp_path / "back")
    original = run.keras_model
    assert [layer.name for layer in back.keras_model.layers] == [
        layer.name for layer in original.layers if not layer.name.startswith("augment_")]
    mine = {v.path: v.numpy() for v in original.weights}
    theirs = {v.path: v.numpy() for v in back.keras_model.weights}
    assert mine.keys() == theirs.keys() and all(np.array_equal(mine[k], theirs[k]) for k in mine)
    assert (back.name, back.class_names, back.input_size) == (run.name, run.class_names, run.input_size)
    assert back.record.backbone == "mobilenet_v2_035" and back.record.imported
    pixels = np.random.default_rng(1).integers(0, 256, (4, 96, 96, 3)).astype("uint8")
    np.testing.assert_array_equal(back.predict_pixels(pixels), run.predict_pixels(pixels))


@pytest.mark.parametrize("backbone, size", [("vgg16", 32), ("inception_v3", 75), ("small_cnn", 32)])
def test_every_kind_of_layer_round_trips(backbone, size):
    """With MobileNetV2 (above), these networks use every layer the converter writes (ResNet's
    are MobileNetV2's and InceptionV3's: ZeroPadding2D, Add, Activation, BatchNormalization...)."""
    from tlcore.importers.tfjs import TfjsExport, rebuild_tfjs
    from tlcore.model.classifier import build_classifier
    from tlcore.runs import Run, RunRecord

    transfer = build_classifier(backbone, ["a", "b", "c"], size, weights="none", augment="flip", seed=3)
    record = RunRecord(name="x", backbone=backbone, backbone_title=backbone, weights="none", weights_source="none",
                       input_size=size, classes=("a", "b", "c"))
    model_json, data = tfjs_model(Run(None, record, transfer.model))
    export = _read_in_memory(model_json, data, record)
    assert isinstance(export, TfjsExport)
    back = rebuild_tfjs(export)
    pixels = np.random.default_rng(2).uniform(0, 255, (2, size, size, 3)).astype("float32")
    np.testing.assert_allclose(back(pixels, training=False), transfer.model(pixels, training=False), atol=1e-5)
    assert tfjs_problem(Run(None, record, None)) is None


def _read_in_memory(model_json: dict, data: bytes, record):
    import tempfile

    from tlcore.export.tfjs import tfjs_metadata
    from tlcore.runs import Run

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "model.json").write_text(json.dumps(model_json))
        (folder / "weights.bin").write_bytes(data)
        (folder / "metadata.json").write_text(json.dumps(tfjs_metadata(Run(None, record, None))))
        return read_tfjs(folder)


@pytest.mark.parametrize("backbone", ["efficientnet_b0", "convnext_tiny"])
def test_networks_tfjs_lacks_are_refused_in_one_sentence(backbone):
    from tlcore.backbones import get_backbone
    from tlcore.runs import Run, RunRecord

    spec = get_backbone(backbone)
    run = Run(None, RunRecord(name="x", backbone=backbone, backbone_title=spec.title, weights="none",
                              weights_source="none", input_size=224, classes=("a", "b")), None)
    sentence = tfjs_problem(run)
    assert sentence.startswith(f"This model is built on {spec.title}, which cannot be written for TensorFlow.js here; "
                               "these networks can: MobileNetV2,")
    with pytest.raises(TfjsExportError, match="cannot be written for TensorFlow.js"):
        tfjs_model(run)
    assert set(TFJS_BACKBONES) == {"mobilenet_v2", "mobilenet_v2_035", "vgg16", "resnet50", "resnet101",
                                   "resnet50v2", "inception_v3", "small_cnn"}


def test_the_command_line_exports_and_imports_tfjs(run, tmp_path):
    import subprocess
    import sys

    def tlcore(*args):
        return subprocess.run([sys.executable, "-m", "tlcore", *map(str, args)], capture_output=True, text=True,
                              timeout=300)

    exported = tlcore("export", run.path, "--format", "tfjs", "--out", tmp_path / "web")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == ("Exported TensorFlow.js (model.json, weights.bin, metadata.json: Teachable "
                                       f"Machine's layout) to {tmp_path / 'web'}")
    imported = tlcore("import-tm", tmp_path / "web", "--out", tmp_path / "back")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == (f"Imported the Teachable Machine model ({', '.join(run.class_names)}) "
                                       f"into {tmp_path / 'back'}")
    (tmp_path / "web" / "weights.bin").unlink()
    missing = tlcore("import-tm", tmp_path / "web" / "model.json", tmp_path / "web" / "metadata.json",
                     "--out", tmp_path / "again")
    assert missing.returncode == 2 and not (tmp_path / "again").exists()
    assert missing.stderr.strip().endswith("The weights file weights.bin is missing: choose it together with "
                                           "model.json and metadata.json (or the zip Teachable Machine gave you).")


def test_the_runtime_is_tensorflow_js_with_its_licence():
    script = runtime_script()
    assert len(script.encode("utf-8")) == 1_469_843 and "Copyright 2024 Google LLC" in script[:300]
    assert "tfjs-layers" not in script[:300]
    licence = runtime_licence()
    assert "TensorFlow.js 4.22.0" in licence and "Apache License" in licence
    assert all(name in licence for name in ("seedrandom", "core-js", "regenerator-runtime", "long 4.0.0"))
