"""tlcore.explain: Grad-CAM on every registered backbone, on a fine-tuned model, and with
real pretrained weights on real photos."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tlcore.backbones import get_backbone, list_backbones
from tlcore.explain import gradcam, jet, overlay
from tlcore.explain.gradcam import _gradcam

from conftest import FLOWERS as FLOWERS5, SHARED, SHARED_WEIGHTS as MOBILENET_035  # noqa: E402


def pictures(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def small_classifier(name: str = "mobilenet_v2_035", **kwargs):
    from tlcore.model import build_classifier

    size = max(64, get_backbone(name).min_input_size)  # 75 for InceptionV3, else 64
    return build_classifier(name, ["a", "b", "c"], size, "none", **kwargs), size


@pytest.mark.parametrize("name", list_backbones())
def test_every_backbone_gives_a_heatmap(name):
    transfer, size = small_classifier(name)
    batch = pictures(2, size)
    heatmap = gradcam(transfer.model, batch[0])
    assert heatmap.shape == (size, size)
    assert np.isfinite(heatmap).all() and heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    heatmaps, probabilities, classes = _gradcam(transfer.model, batch)
    assert heatmaps.shape == (2, size, size)
    np.testing.assert_allclose(heatmaps[0], heatmap, atol=1e-4)  # batch vs single: float noise
    # The layers Grad-CAM runs around the backbone reproduce the model's own answer.
    expected = transfer.model(batch.astype("float32"), training=False).numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(classes, expected.argmax(axis=1))


def test_layer_and_class_can_be_chosen():
    transfer, size = small_classifier()
    picture = pictures(1, size, seed=1)[0]
    inner = gradcam(transfer.model, picture, class_index=2, layer="block_13_expand_relu")
    assert inner.shape == (size, size) and np.isfinite(inner).all()
    _, _, classes = _gradcam(transfer.model, picture[None], class_index=[1])
    assert classes.tolist() == [1]
    with pytest.raises(ValueError, match="no layer named"):
        gradcam(transfer.model, picture, layer="no_such_layer")
    with pytest.raises(ValueError, match="between 0 and 2"):
        gradcam(transfer.model, picture, class_index=3)
    with pytest.raises(ValueError, match="64×64"):
        gradcam(transfer.model, pictures(1, 32)[0])


def test_uses_current_weights_of_a_fine_tuned_model():
    """After fine-tuning changes the backbone, Grad-CAM explains the model as it is now."""
    transfer, size = small_classifier(augment=True)  # augmentation must stay off here
    batch = pictures(2, size, seed=2)
    before = gradcam(transfer, batch)
    np.testing.assert_array_equal(before, gradcam(transfer, batch))  # no random augmentation
    transfer.set_learning_blocks(2)
    rng = np.random.default_rng(0)
    for layer in transfer.blocks[-1].layers + transfer.blocks[-2].layers:  # "fine-tune" the top blocks
        for variable in layer.trainable_weights:
            variable.assign(variable.numpy() + rng.normal(0, 0.2, variable.shape).astype("float32"))
    heatmaps, probabilities, _ = _gradcam(transfer.model, batch)
    expected = transfer.model(batch.astype("float32"), training=False).numpy()
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    assert not np.allclose(heatmaps, before)


def test_jet_and_overlay():
    colours = jet(np.array([0.0, 0.5, 1.0]))
    assert colours.dtype == np.uint8 and colours.shape == (3, 3)
    assert colours[0, 2] > colours[0, 0]  # low: blue
    assert colours[1, 1] == 255  # middle: green
    assert colours[2, 0] > colours[2, 2]  # high: red
    picture = pictures(1, 40, seed=3)[0][:, :30]  # 40×30, not square
    heatmap = np.linspace(0, 1, 100, dtype="float32").reshape(10, 10)
    out = overlay(picture, heatmap)
    assert out.shape == (40, 30, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(overlay(picture, np.zeros((40, 30)), alpha=0.0), picture)
    np.testing.assert_array_equal(overlay(picture, np.ones((40, 30)), alpha=1.0),
                                  np.broadcast_to(jet(1.0), (40, 30, 3)))


# ---- real weights, real photos ----------------------------------------------------------


@pytest.mark.shared
def test_real_model_heatmaps_differ_between_classes(tmp_path):
    if not (MOBILENET_035.is_file() and FLOWERS5.is_dir()):
        pytest.skip(f"needs the real MobileNetV2-0.35 weights and flowers5 photos in {SHARED}")
    from tlcore.data import ImageDataset, load_picture
    from tlcore.settings import TrainingSettings
    from tlcore.training import Trainer

    kept = {}
    for name in ("daisy", "sunflower"):
        files = sorted((FLOWERS5 / name).glob("*.jpg"))
        (tmp_path / "set" / name).mkdir(parents=True)
        for file in files[:24]:
            shutil.copyfile(file, tmp_path / "set" / name / file.name)
        kept[name] = files[-1]  # not trained on
    dataset = ImageDataset.from_folder(tmp_path / "set", image_size=128)
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=str(MOBILENET_035), input_size=128,
                                epochs=8, batch_size=16)
    trainer = Trainer(settings, cache_dir=tmp_path / "cache").fit(dataset)
    model = trainer.model_.model
    batch = np.stack([load_picture(kept["daisy"], 128), load_picture(kept["sunflower"], 128)])
    heatmaps, _, classes = _gradcam(trainer.model_, batch)
    assert heatmaps.shape == (2, 128, 128)
    assert all(h.max() == pytest.approx(1.0) for h in heatmaps)  # each found evidence somewhere
    assert float(np.abs(heatmaps[0] - heatmaps[1]).mean()) > 0.05
    # Explaining the other class gives another map for the same picture.
    other = gradcam(model, batch[0], class_index=1 - int(classes[0]))
    assert float(np.abs(other - heatmaps[0]).mean()) > 0.01
    assert overlay(batch[0], heatmaps[0]).shape == (128, 128, 3)
