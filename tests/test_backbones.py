"""Tests generated from the backbone registry: every entry builds, freezes, trains, saves."""

from __future__ import annotations

import numpy as np
import pytest

from tlcore.backbones import BACKBONES, WeightsUnavailableError, get_backbone, list_backbones
from tlcore.backbones.factory import create_backbone

CLASSES = ["cat", "dog", "fish"]


def small_size(name: str) -> int:
    return max(get_backbone(name).min_input_size, 48)


def pictures(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3)).astype("uint8")


@pytest.fixture(scope="module", params=list_backbones())
def built(request):
    from tlcore.model import build_classifier

    name = request.param
    transfer = build_classifier(name, CLASSES, input_size=small_size(name), weights="none")
    return name, transfer


def test_registry_is_data_with_cards():
    assert {"vgg16", "resnet50", "inception_v3", "mobilenet_v2", "mobilenet_v2_035", "efficientnet_b0"} <= set(BACKBONES)
    assert {"efficientnetv2_b0", "convnext_tiny"} & set(BACKBONES)
    for spec in BACKBONES.values():
        assert spec.card.summary and spec.card.strength and spec.card.cost
        assert spec.preprocessing in ("tf", "caffe", "none")
        assert spec.weights_filename().endswith(".h5")
    assert get_backbone("mobilenet_v2_035").constructor_kwargs == {"alpha": 0.35}


def test_unknown_backbone_names_the_choices():
    with pytest.raises(ValueError, match="Choose one of: vgg16"):
        get_backbone("alexnet")


def test_builds_with_registered_sizes(built):
    name, transfer = built
    spec = get_backbone(name)
    assert transfer.backbone.count_params() == spec.params
    assert transfer.backbone.output_shape[-1] == spec.feature_size
    assert transfer.model.output_shape == (None, len(CLASSES))
    assert transfer.num_blocks >= 5


def test_learning_blocks_count_the_parameters_keras_trains(built):
    name, transfer = built
    counts = []
    for depth in (0, 1, 2, transfer.num_blocks):
        transfer.set_learning_blocks(depth)
        status = transfer.block_status()
        assert [s.learning for s in status] == [False] * (transfer.num_blocks - depth) + [True] * depth
        keras_count = sum(int(np.prod(v.shape)) for v in transfer.model.trainable_weights)
        assert transfer.trainable_params() == keras_count  # the summary says what Keras will train
        counts.append(keras_count)
    assert counts[0] < counts[1] < counts[2] < counts[3]
    transfer.set_learning_blocks(transfer.num_blocks)


def test_batchnorm_stays_frozen_when_fine_tuning_pretrained(tmp_path):
    """With starting weights (here a file), learning blocks train but their BatchNorm does not."""
    from tlcore._tf import keras
    from tlcore.model import build_classifier

    weights = tmp_path / "start.weights.h5"
    create_backbone("mobilenet_v2_035", 64, "none").save_weights(weights)
    transfer = build_classifier("mobilenet_v2_035", CLASSES, input_size=64, weights=weights).set_learning_blocks(3)
    learning = [l for b in transfer.blocks[-3:] for l in b.layers]
    assert any(isinstance(l, keras.layers.BatchNormalization) for l in learning)
    assert all(not l.trainable for l in learning if isinstance(l, keras.layers.BatchNormalization))
    assert any(l.trainable for l in learning if isinstance(l, keras.layers.Conv2D))
    assert all(not l.trainable for b in transfer.blocks[:-3] for l in b.layers if hasattr(l, "trainable"))
    # The backbone runs in inference mode: with no dropout, a training-mode call gives the
    # same output as an inference call (BatchNorm used its stored statistics, not the batch's).
    transfer = build_classifier("mobilenet_v2_035", CLASSES, input_size=64, weights=weights, dropout=0.0)
    x = pictures(4, 64).astype("float32")
    np.testing.assert_allclose(np.asarray(transfer.model(x, training=True)),
                               np.asarray(transfer.model(x, training=False)), atol=1e-6)
    scratch = build_classifier("mobilenet_v2_035", CLASSES, input_size=64, weights="none", dropout=0.0)
    assert not np.allclose(np.asarray(scratch.model(x, training=True)), np.asarray(scratch.model(x, training=False)))


def test_block_boundaries_are_real_cuts(built):
    """Frozen part then learning part gives exactly the backbone's output, at depth 1 and 2."""
    name, transfer = built
    x = pictures(2, transfer.input_size).astype("float32")
    expected = np.asarray(transfer.model.predict_on_batch(x))
    pool, _, dense = transfer.head_layers
    for depth in (1, 2):
        features = transfer.frozen_extractor(depth)(x, training=False)
        out = dense(pool(transfer.learning_top(depth)(features, training=False)))
        np.testing.assert_allclose(np.asarray(out), expected, atol=1e-5)


def test_one_training_step_moves_only_learning_layers(built):
    from tlcore._tf import keras

    name, transfer = built
    transfer.set_learning_blocks(1)
    frozen_layer = next(l for l in transfer.blocks[0].layers if getattr(l, "weights", None))
    learning_layer = next(l for l in transfer.blocks[-1].layers
                          if getattr(l, "trainable_weights", None) and l.trainable_weights)
    frozen_before = [w.numpy().copy() for w in frozen_layer.weights]
    learning_before = [w.numpy().copy() for w in learning_layer.trainable_weights]
    transfer.model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    transfer.model.train_on_batch(pictures(4, transfer.input_size).astype("float32"), np.array([0, 1, 2, 0]))
    assert all(np.array_equal(a, b.numpy()) for a, b in zip(frozen_before, frozen_layer.weights))
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(learning_before, learning_layer.trainable_weights))


def test_save_load_round_trip_same_predictions(built, tmp_path):
    from tlcore._tf import keras

    name, transfer = built
    x = pictures(3, transfer.input_size, seed=1).astype("float32")
    before = np.asarray(transfer.model.predict_on_batch(x))
    path = tmp_path / f"{name}.keras"
    transfer.model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)  # built-in layers only: no tlcore needed
    np.testing.assert_allclose(np.asarray(loaded.predict_on_batch(x)), before, atol=1e-5)


def test_missing_imagenet_weights_offline_gives_one_clear_error(monkeypatch, tmp_path):
    """Patch only what would reach the network: Keras's download."""
    from tlcore._tf import keras

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.src.utils.file_utils, "get_file", offline)
    for module in ("mobilenet_v2", "vgg16"):
        monkeypatch.setattr(getattr(keras.src.applications, module).file_utils, "get_file", offline)
    with pytest.raises(WeightsUnavailableError) as info:
        create_backbone("mobilenet_v2", 96, "imagenet")
    message = str(info.value)
    assert "tlcore fetch-weights mobilenet_v2" in message and "from scratch" in message


def test_bad_arguments_fail_before_building():
    from tlcore.model import build_classifier

    with pytest.raises(ValueError, match="at least 75"):
        build_classifier("inception_v3", CLASSES, input_size=32, weights="none")
    with pytest.raises(ValueError, match="not found"):
        build_classifier("vgg16", CLASSES, weights="/nowhere/weights.h5")
    with pytest.raises(ValueError, match="at least 2 classes"):
        build_classifier("vgg16", ["only"], weights="none")


def test_preprocessing_matches_keras_applications():
    """Our built-in-layer preprocessing equals each family's own preprocess_input."""
    from tlcore._tf import keras
    from tlcore.model.preprocessing import preprocessing_layers

    x = pictures(2, 8, seed=3).astype("float32")
    for mode, reference in (("caffe", keras.applications.vgg16.preprocess_input),
                            ("tf", keras.applications.mobilenet_v2.preprocess_input)):
        out = x
        for layer in preprocessing_layers(mode):
            out = layer(out)
        np.testing.assert_allclose(np.asarray(out), reference(x.copy()), atol=1e-4)


def test_a_backbone_added_as_one_spec_is_listed_described_and_built(monkeypatch, capsys):
    """The README's way to add a network: one BackboneSpec in the registry, and nothing else."""
    from tlcore import cli
    from tlcore.backbones import BackboneSpec, BlockRule, Card, registry
    from tlcore.model import build_classifier
    from tlcore.settings import TrainingSettings

    origin = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
    spec = BackboneSpec(
        name="mobilenet_v2_050", title="MobileNetV2 (0.5)", constructor="MobileNetV2", constructor_kwargs={"alpha": 0.5},
        input_size=224, min_input_size=32, preprocessing="tf", feature_size=1280, params=706_224,
        blocks=BlockRule(r"^(block_\d+)_"), weights_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_{size}_no_top.h5",
        weights_origin=origin, weights_sizes=(96, 128, 160, 192, 224), pictures_per_second=200,
        card=Card(summary="MobileNetV2 with half the filters.", strength="Fast.", cost="Small (3 MB).", year=2018))
    monkeypatch.setitem(registry.BACKBONES, spec.name, spec)

    assert cli.main(["backbones"]) == 0
    listed = capsys.readouterr().out
    assert "mobilenet_v2_050  —  MobileNetV2 (0.5) (2018)\n    MobileNetV2 with half the filters.\n" in listed
    assert cli.main(["backbones", "mobilenet_v2_050", "--learning-blocks", "2"]) == 0
    assert capsys.readouterr().out.startswith("MobileNetV2 (0.5): ")
    assert spec.weights_url(96) == origin + "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_96_no_top.h5"

    settings = TrainingSettings(backbone="MOBILENET_V2_050", weights="none", input_size=96)
    transfer = build_classifier(settings.backbone, CLASSES, input_size=settings.input_size, weights="none")
    assert transfer.backbone.count_params() == spec.params and transfer.num_blocks >= 5
    assert transfer.model.output_shape == (None, len(CLASSES))


def test_a_pretrained_spec_must_say_where_its_weights_come_from():
    from dataclasses import replace

    with pytest.raises(ValueError, match="^The backbone 'mobilenet_v2' needs weights_origin: the https:// folder"):
        replace(get_backbone("mobilenet_v2"), weights_origin="")
