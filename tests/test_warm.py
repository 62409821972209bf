"""Warm networks: a frozen backbone built once per process for every head-only training of it."""

from __future__ import annotations

import numpy as np
import pytest

from tlcore.backbones import get_backbone
from tlcore.model.warm import WarmNetworks, set_warm_networks
from tlcore.settings import TrainingSettings
from tlcore.training import Trainer

SIZE = 96


@pytest.fixture()
def networks():
    """A fresh set of warm networks for this process, the old one put back afterwards."""
    fresh = WarmNetworks(max_count=3)
    old = set_warm_networks(fresh)
    yield fresh
    set_warm_networks(old)


@pytest.fixture(scope="module")
def shapes(demo_dataset_96):
    """8 pictures of each shape: enough for a head to learn, quick to train."""
    return demo_dataset_96.subset(np.concatenate([np.flatnonzero(demo_dataset_96.labels == c)[:8] for c in range(3)]))


def settings(weights, **changes) -> TrainingSettings:
    return TrainingSettings(backbone="mobilenet_v2_035", weights=str(weights), input_size=SIZE, epochs=1,
                            batch_size=8).replace(**changes)


def fit(dataset, tmp_path, **changes) -> Trainer:
    weights = changes.pop("weights")
    return Trainer(settings(weights, **changes), cache_dir=tmp_path / "cache").fit(dataset)


def test_two_head_only_trainings_of_one_backbone_build_it_once(networks, shapes, mobilenet_035_weights,
                                                               tmp_path):
    first = fit(shapes, tmp_path, weights=mobilenet_035_weights, seed=1)
    second = fit(shapes, tmp_path, weights=mobilenet_035_weights, seed=2)
    assert networks.builds_ == 1
    assert second.model_.backbone is first.model_.backbone
    assert second.model_.model is not first.model_.model  # each training has its own head
    assert second.timings_["build_seconds"] < first.timings_["build_seconds"]


def test_another_weights_file_input_size_or_fine_tuning_builds_its_own(networks, shapes,
                                                                         mobilenet_035_weights, tmp_path):
    from tlcore.backbones.factory import create_backbone

    other_weights = tmp_path / "other.weights.h5"
    create_backbone("mobilenet_v2_035", SIZE, "none").save_weights(other_weights)
    warm = fit(shapes, tmp_path, weights=mobilenet_035_weights)
    other = fit(shapes, tmp_path, weights=other_weights)
    assert networks.builds_ == 2 and other.model_.backbone is not warm.model_.backbone
    fine_tuned = fit(shapes, tmp_path, weights=mobilenet_035_weights, learning_blocks=1, fine_tune_epochs=1)
    assert networks.builds_ == 2  # its top block learns: never the shared backbone
    assert fine_tuned.model_.backbone is not warm.model_.backbone
    spec = get_backbone("mobilenet_v2_035")
    assert WarmNetworks.key(spec, SIZE, "imagenet") != WarmNetworks.key(get_backbone("mobilenet_v2"), SIZE, "imagenet")
    assert WarmNetworks.key(spec, SIZE, "imagenet") != WarmNetworks.key(spec, 128, "imagenet")


class _Variable:
    def __init__(self, size: int):
        self._array = np.zeros(size, "uint8")

    def numpy(self):
        return self._array


class _Backbone:
    def __init__(self, size: int):
        self.weights = [_Variable(size)]


def test_the_memory_bound_keeps_the_most_recently_used_networks():
    spec = get_backbone("mobilenet_v2_035")
    by_count = WarmNetworks(max_count=2, max_bytes=1 << 30)
    for size in (96, 128, 160, 96):
        by_count.get(spec, size, "imagenet", lambda: _Backbone(1000))
    assert [key[2] for key in by_count.keys()] == [160, 96]  # 128 went first: least recently used
    assert by_count.builds_ == 4  # 96 had gone when asked again
    by_bytes = WarmNetworks(max_count=10, max_bytes=2500)
    for size in (96, 128, 160):
        by_bytes.get(spec, size, "imagenet", lambda: _Backbone(1000))
    assert [key[2] for key in by_bytes.keys()] == [128, 160] and by_bytes.weight_bytes() == 2000
    none_kept = WarmNetworks(max_count=0)
    network = none_kept.get(spec, 96, "imagenet", lambda: _Backbone(10))
    assert isinstance(network.backbone, _Backbone) and none_kept.keys() == []


def test_a_warm_head_only_model_predicts_as_a_cold_one_with_the_same_seed(networks, shapes,
                                                                         mobilenet_035_weights, tmp_path):
    from tlcore.runs import load_run, save_run
    from tlcore.training import predict_pictures

    set_warm_networks(WarmNetworks(max_count=0))  # cold: nothing kept, built for this training
    cold = fit(shapes, tmp_path / "cold", weights=mobilenet_035_weights, seed=5, epochs=3)
    set_warm_networks(networks)
    fit(shapes, tmp_path / "warm", weights=mobilenet_035_weights, seed=6)  # makes it warm, and a head
    warm = fit(shapes, tmp_path / "warm", weights=mobilenet_035_weights, seed=5, epochs=3)
    assert networks.builds_ == 1 and warm.timings_["build_seconds"] < cold.timings_["build_seconds"]
    # The first training's head, lent again, started as new (weights, dropout seed, optimizer):
    # the same history and the same model as the cold training's. Another dropout: another head.
    assert networks.heads_made() == 1
    fit(shapes, tmp_path / "warm", weights=mobilenet_035_weights, seed=6, dropout=0.5)
    assert networks.heads_made() == 2
    np.testing.assert_allclose(warm.history_["loss"], cold.history_["loss"], rtol=1e-5)
    pictures = shapes.pixels(SIZE)
    expected = predict_pictures(cold.model_, pictures)
    np.testing.assert_allclose(predict_pictures(warm.model_, pictures), expected, atol=1e-5)
    saved = save_run(warm, shapes, tmp_path / "run")  # a whole model: backbone and head
    np.testing.assert_allclose(load_run(saved.path).predict_pixels(pictures), expected, atol=1e-5)


def test_a_job_is_cheap_only_as_a_head_on_a_warm_network(networks, shapes, mobilenet_035_weights, tmp_path):
    from tlcore.backbones.weights import resolve_weights
    from tlcore.jobs import TrainingJob

    def cheap(**changes) -> bool:
        return TrainingJob(settings(mobilenet_035_weights, **changes), shapes, workspace=tmp_path).cheap

    assert not cheap()  # nothing warm yet: it builds first
    networks.get(get_backbone("mobilenet_v2_035"), SIZE, resolve_weights(mobilenet_035_weights), lambda: _Backbone(8))
    assert cheap() and cheap(augment=("flip",), augment_views=2)
    assert not cheap(learning_blocks=1, fine_tune_epochs=1)  # fine-tuning
    assert not cheap(augment=("flip",), augment_views=0)  # augmented anew each epoch
    assert not cheap(input_size=128)  # another network, not warm
