"""tlcore.importers: a real Teachable Machine export gives Teachable Machine's answers; its
backbone becomes a weights file; untrusted model files are refused in plain words."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tlcore.importers import (
    ModelFileError,
    TeachableMachineError,
    import_teachable_machine,
    load_model_safely,
    read_labels,
    teachable_machine_backbone_weights,
)

from conftest import SHARED_WEIGHTS as MOBILENET_035, TEACHABLE_MACHINE as TM  # noqa: E402

needs_tm = pytest.mark.skipif(
    not (TM / "keras_model.h5").is_file(),
    reason=f"needs the real Teachable Machine export in {TM} (not present on this machine)",
)


def expected_picture(image: str) -> Path:
    """expected.json's paths are relative to its folder or, as shipped, to shared/."""
    for base in (TM, *TM.parents):
        if (base / image).is_file():
            return base / image
    raise FileNotFoundError(image)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    if not (TM / "keras_model.h5").is_file():
        pytest.skip(f"needs the real Teachable Machine export in {TM}")
    from tlcore.runs import load_run

    folder = tmp_path_factory.mktemp("tm") / "run"
    import_teachable_machine(TM / "keras_model.h5", TM / "labels.txt", folder)
    return load_run(folder)  # opened fresh from disk, as the app would


# ---- Teachable Machine ------------------------------------------------------------------


@needs_tm
def test_imported_run_gives_teachable_machines_answers(imported):
    expected = json.loads((TM / "expected.json").read_text())
    assert imported.class_names == expected["labels"] == ["dog", "cat"]
    files = [expected_picture(item["image"]) for item in expected["expected"]]
    assert len(files) == 10
    for prediction, item in zip(imported.predict(files), expected["expected"]):
        assert prediction.top == item["top"]
        for name, p in item["probabilities"].items():
            assert prediction.probabilities[name] == pytest.approx(p, abs=1e-4)


@needs_tm
def test_imported_run_folder_and_metadata(imported):
    assert (imported.path / "labels.txt").read_text() == "dog\ncat\n"
    meta = json.loads((imported.path / "run.json").read_text())
    assert meta["name"] == "Teachable Machine: dog / cat"
    assert meta["backbone"] == "mobilenet_v2_035" and meta["input_size"] == 224
    assert meta["weights"] == "teachable-machine" and meta["weights_source"] == "Teachable Machine export"
    assert meta["imported"] is True and meta["classes"] == ["dog", "cat"] and meta["val_accuracy"] is None
    assert all(values == [] for values in meta["history"].values())
    model = imported.keras_model
    assert [layer.name for layer in model.layers[-3:]] == ["pool", "hidden", "predictions"]
    assert not any(type(layer).__name__ == "Lambda" for layer in model.layers)


@needs_tm
def test_imported_run_can_be_explained_and_described(imported):
    from tlcore.data import load_picture
    from tlcore.explain import gradcam
    from tlcore.export import model_card

    picture = load_picture(expected_picture(json.loads((TM / "expected.json").read_text())["expected"][0]["image"]), 224)
    heatmap = gradcam(imported, picture)
    assert heatmap.shape == (224, 224) and np.isfinite(heatmap).all()
    card = model_card(imported)
    assert "Imported into Transfer Learning Studio" in card and "Teachable Machine export" in card


@needs_tm
def test_backbone_weights_start_new_training(imported, tmp_path):
    import keras

    from tlcore.backbones.factory import create_backbone

    path = teachable_machine_backbone_weights(TM / "keras_model.h5", tmp_path / "tm.weights.h5")
    assert path.is_file()
    backbone = keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights=str(path),
                                              input_shape=(224, 224, 3))
    model = imported.keras_model
    nested = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    x = np.random.default_rng(0).uniform(-1, 1, (2, 224, 224, 3)).astype("float32")
    np.testing.assert_allclose(backbone(x, training=False), nested(x, training=False), atol=1e-5)
    assert create_backbone("mobilenet_v2_035", 96, str(path)).output_shape == (None, 3, 3, 1280)
    if MOBILENET_035.is_file():  # shared/ says its weights are this export's backbone
        reference = keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights=str(MOBILENET_035),
                                                   input_shape=(224, 224, 3))
        for mine, theirs in zip(backbone.weights, reference.weights):
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    with pytest.raises(ValueError, match=".weights.h5"):
        teachable_machine_backbone_weights(TM / "keras_model.h5", tmp_path / "tm.h5")


@needs_tm
def test_import_refuses_what_does_not_fit(tmp_path):
    three = tmp_path / "labels.txt"
    three.write_text("0 dog\n1 cat\n2 bird\n")
    with pytest.raises(TeachableMachineError, match="2 outputs but labels.txt names 3"):
        import_teachable_machine(TM / "keras_model.h5", three, tmp_path / "a")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(FileExistsError):
        import_teachable_machine(TM / "keras_model.h5", TM / "labels.txt", tmp_path / "full")


def test_not_a_teachable_machine_file(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("0 a\n1 b\n")
    fake = tmp_path / "keras_model.h5"
    fake.write_text("hello")
    with pytest.raises(TeachableMachineError, match="not a Teachable Machine Keras file"):
        import_teachable_machine(fake, labels, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_export_files_are_found_in_an_unpacked_download(tmp_path):
    from tlcore.importers import find_export

    (tmp_path / "converted_keras" / "extra").mkdir(parents=True)
    for name in ("converted_keras/keras_model.h5", "converted_keras/labels.txt", "converted_keras/extra/old.h5",
                 "readme.txt"):
        (tmp_path / name).write_text("x")
    model, labels = find_export(tmp_path)
    assert (model.name, labels.name) == ("keras_model.h5", "labels.txt")
    assert find_export(tmp_path / "converted_keras" / "extra") == (tmp_path / "converted_keras" / "extra" / "old.h5", None)


@needs_tm
def test_swapped_arguments_are_recognised_by_content(tmp_path):
    run = import_teachable_machine(TM / "labels.txt", TM / "keras_model.h5", tmp_path / "swapped")
    assert run.class_names == ["dog", "cat"]


def test_read_labels(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("\ufeff1 grey cat\n0 dog\n\n")
    assert read_labels(labels) == ["dog", "grey cat"]  # index prefix dropped, in index order
    labels.write_text("apple\nbanana\n")
    assert read_labels(labels) == ["apple", "banana"]
    labels.write_text("0 dog\n1 dog\n")
    with pytest.raises(TeachableMachineError, match="twice"):
        read_labels(labels)


# ---- untrusted model files ---------------------------------------------------------------


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    import keras

    folder = tmp_path_factory.mktemp("untrusted")
    inputs = keras.Input((8, 8, 3))
    plain = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs)))
    plain.save(folder / "plain.keras")
    doubled = keras.layers.Lambda(lambda t: t * 2)(inputs)
    with_code = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(doubled))
    with_code.save(folder / "lambda.keras")
    with_code.save(folder / "lambda.h5")
    return folder


def test_plain_model_opens(model_files):
    model = load_model_safely(model_files / "plain.keras")
    assert model.output_shape == (None, 2)


@pytest.mark.parametrize("name", ["lambda.keras", "lambda.h5"])
def test_model_with_code_is_refused(model_files, name):
    with pytest.raises(ModelFileError, match=r"contains code \(a Lambda layer\) and was not opened, for safety"):
        load_model_safely(model_files / name)


def test_text_and_truncated_files_are_refused(model_files, tmp_path):
    text = tmp_path / "notes.keras"
    text.write_text("this is not a model")
    with pytest.raises(ModelFileError, match=r"notes.keras is not a Keras model file \(or it is damaged\)"):
        load_model_safely(text)
    data = (model_files / "plain.keras").read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"truncated.keras is not a Keras model file \(or it is damaged\)"):
        load_model_safely(truncated)
    with pytest.raises(ModelFileError, match="could not be found"):
        load_model_safely(tmp_path / "missing.keras")
    assert issubclass(ModelFileError, ValueError)


@needs_tm
def test_teachable_machine_file_gets_a_pointer_to_the_importer():
    with pytest.raises(ModelFileError, match="Teachable Machine export can be imported"):
        load_model_safely(TM / "keras_model.h5")
