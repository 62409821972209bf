"""Features at the head's input: one cache with the Trainer, and a trained run's own features;
repeated training for the comparison table."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tlcore.understand import pooled_features, run_features

BACKBONE = "mobilenet_v2_035"


def _entries(folder):
    return sorted(p for p in os.listdir(folder) if p.endswith(".npy")) if os.path.isdir(folder) else []


def test_second_call_is_a_cache_hit(tmp_path, demo_dataset_96, mobilenet_035_weights):
    cache = tmp_path / "cache"
    first = pooled_features(demo_dataset_96, BACKBONE, mobilenet_035_weights, 96, cache_dir=cache)
    assert first.shape == (len(demo_dataset_96), 1280) and first.dtype == np.float32
    [entry] = _entries(cache)
    written = os.stat(cache / entry).st_mtime_ns
    second = pooled_features(demo_dataset_96, BACKBONE, mobilenet_035_weights, 96, cache_dir=cache)
    assert isinstance(second, np.memmap) and os.path.samefile(second.filename, cache / entry)
    assert os.stat(cache / entry).st_mtime_ns == written  # read, not written again
    assert np.array_equal(first, second)
    copy = np.array(second)
    del first, second
    with open(cache / entry, "r+b") as stream:  # damage the entry: it is computed again, not trusted
        stream.seek(-64, os.SEEK_END)
        stream.write(b"\0" * 64)
    again = pooled_features(demo_dataset_96, BACKBONE, mobilenet_035_weights, 96, cache_dir=cache)
    assert np.allclose(again, copy, rtol=1e-5, atol=1e-6) and _entries(cache) == [entry]


def test_training_reuses_features_of_a_map_and_the_other_way_round(tmp_path, demo_dataset_96,
                                                                     mobilenet_035_weights, demo_run):
    from tlcore.settings import TrainingSettings
    from tlcore.training import Trainer

    # A map after training: the demo run's extraction is in its cache; nothing new is written.
    trainer, _ = demo_run
    before = _entries(trainer.cache_dir)
    features = pooled_features(demo_dataset_96, BACKBONE, mobilenet_035_weights, 96, cache_dir=trainer.cache_dir)
    assert isinstance(features, np.memmap) and _entries(trainer.cache_dir) == before
    # Training after a map: the Trainer's fast path finds the map's features.
    cache = tmp_path / "cache"
    pooled_features(demo_dataset_96, BACKBONE, mobilenet_035_weights, 96, cache_dir=cache)
    settings = TrainingSettings(backbone=BACKBONE, weights=mobilenet_035_weights, input_size=96, epochs=1)
    fitted = Trainer(settings, cache_dir=cache).fit(demo_dataset_96)
    assert fitted.fast_path_used_ and fitted.feature_cache_hit_
    assert len(_entries(cache)) == 1


def test_run_features_of_a_head_only_run_equal_the_starting_features(demo_run, demo_dataset_96,
                                                                      mobilenet_035_weights):
    from tlcore.runs import load_run

    _, run = demo_run
    saved = load_run(run.path)  # the model as written to disk, opened safely
    pixels = demo_dataset_96.pixels(96)
    trained = run_features(saved, pixels)
    starting = pooled_features(demo_dataset_96, BACKBONE, mobilenet_035_weights, 96, cache_dir=demo_run[0].cache_dir)
    assert trained.shape == starting.shape
    assert np.allclose(trained, starting, rtol=1e-4, atol=1e-5)
    assert run_features(saved, pixels[:0]).shape == (0, 1280)


def test_run_features_refuse_wrong_pictures_and_models_without_pooling(demo_run):
    from tlcore._tf import keras

    _, run = demo_run
    with pytest.raises(ValueError, match=r"must be 96×96 RGB for this run .* got an array of shape \(2, 64, 64, 3\)"):
        run_features(run, np.zeros((2, 64, 64, 3), np.uint8))
    inputs = keras.Input((8, 8, 3))
    plain = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="no pooling layer named 'pool'"):
        run_features(plain, np.zeros((1, 8, 8, 3), np.uint8))


def test_one_pass_gives_features_and_the_runs_own_probabilities(demo_run, demo_dataset_96):
    from tlcore.understand import features_and_probabilities

    _, run = demo_run
    pixels = demo_dataset_96.pixels(96)[:5]
    features, probabilities = features_and_probabilities(run, pixels)
    assert features.shape == (5, 1280) and probabilities.shape == (5, len(run.class_names))
    assert np.allclose(probabilities, run.predict_pixels(pixels), atol=1e-5)
    assert np.array_equal(features, run_features(run, pixels))
    # A camera frame at a time: the same numbers as in a batch.
    single, _ = features_and_probabilities(run, pixels[2:3])
    assert np.allclose(single, features[2:3], rtol=1e-4, atol=1e-5)


def test_a_set_that_grew_computes_only_its_new_pictures(tmp_path, demo_dataset_96, mobilenet_035_weights):
    """A student who adds pictures and trains again: the earlier pictures' features are found row
    by row (by each picture's pixels), only the new ones go through the network."""
    from tlcore.model.classifier import build_classifier
    from tlcore.training import features as cached

    transfer = build_classifier(BACKBONE, demo_dataset_96.class_names, 96, mobilenet_035_weights)
    pixels = demo_dataset_96.pixels(96)
    half = len(pixels) // 2
    first = cached.FeatureCache(tmp_path / "cache")
    cached.frozen_outputs(transfer, pixels[:half], 0, first)
    seen: list[int] = []
    grown = cached.FeatureCache(tmp_path / "cache")
    features = cached.frozen_outputs(transfer, pixels[::-1], 0, grown, on_batch=lambda done, total: seen.append(done))
    assert grown.misses == 1 and grown.rows_reused == half  # the first half, found again in another order
    assert seen[-1] == len(pixels) and seen[0] >= half  # progress counts the found ones as done
    fresh = cached.frozen_outputs(transfer, pixels[::-1], 0, cached.FeatureCache(tmp_path / "fresh"))
    np.testing.assert_allclose(features, fresh, rtol=1e-4, atol=1e-5)
    again = cached.FeatureCache(tmp_path / "cache")
    cached.frozen_outputs(transfer, pixels[::-1], 0, again)
    assert again.hits == 1 and again.rows_reused == 0  # the whole set is an entry now
