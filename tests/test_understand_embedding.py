"""The embedding map: PCA against an exact SVD, fixed signs, separation on known points, and
ImageNet features separating flowers5 far better than random ones."""

from __future__ import annotations

import numpy as np
import pytest

from tlcore.understand.embedding import (
    chance_accuracy,
    embedding_map,
    nearest_centroid_accuracy,
    pca_components,
    separation_sentence,
)


def _stretched_cloud(seed=0, rows=400, width=50):
    """Random rows with a known spread per axis (10, 5, then 1), rotated at random."""
    rng = np.random.default_rng(seed)
    scales = np.ones(width)
    scales[:2] = [10.0, 5.0]
    rotation, _ = np.linalg.qr(rng.standard_normal((width, width)))
    return (rng.standard_normal((rows, width)) * scales) @ rotation.T, rotation


def test_pca_matches_an_exact_svd():
    data, rotation = _stretched_cloud()
    centred = data - data.mean(axis=0)
    components, explained = pca_components(centred.astype("float32"), 2)
    _, singular, right = np.linalg.svd(centred, full_matrices=False)
    for mine, exact in zip(components, right[:2]):
        assert abs(float(mine @ exact)) == pytest.approx(1.0, abs=1e-5)
    assert explained == pytest.approx(singular[:2] ** 2 / np.square(singular).sum(), rel=1e-4)
    # The directions found are the ones the cloud was stretched along.
    assert abs(float(components[0] @ rotation[:, 0])) > 0.99
    assert abs(float(components[1] @ rotation[:, 1])) > 0.98


def test_map_is_deterministic_with_fixed_signs():
    data, _ = _stretched_cloud(seed=1)
    labels = np.zeros(len(data), dtype=np.int64)
    first = embedding_map(data, labels, seed=0)
    flipped = embedding_map(-data, labels, seed=5)  # other signs and another random probe
    assert first.coords.dtype == np.float32 and first.coords.shape == (len(data), 2)
    for component in first.components:
        assert component[np.abs(component).argmax()] > 0
    # -data has the same directions: with fixed signs its map is the mirror image of data's.
    assert np.allclose(flipped.coords, -first.coords, atol=1e-3)
    assert np.array_equal(embedding_map(data, labels).coords, first.coords)
    assert np.allclose(first.project(data[:5]), first.coords[:5], atol=1e-4)
    assert first.method == "pca" and sum(first.explained) < 1.0


def test_nearest_centroid_accuracy_on_known_points():
    points = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0], [4.0, 0.0]])
    # The last point is labelled 1 but lies nearer class 0's average: 4 of 5 right.
    assert nearest_centroid_accuracy(points, [0, 0, 1, 1, 1]) == pytest.approx(0.8)
    # Leave-one-out: a class of one picture cannot be right by being its own average.
    alone = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0], [5.0, 20.0]])
    assert nearest_centroid_accuracy(alone, [0, 0, 1, 1, 2]) == pytest.approx(0.8)
    assert chance_accuracy([0, 0, 0, 1]) == 0.75


def test_degenerate_inputs():
    same = np.ones((6, 8), "float32")
    result = embedding_map(same, [0, 0, 0, 1, 1, 1])
    assert np.array_equal(result.coords, np.zeros((6, 2), "float32"))
    assert result.explained == (0.0, 0.0)
    single = embedding_map(np.arange(8, dtype="float32")[None], [0])
    assert single.coords.shape == (1, 2)
    with pytest.raises(ValueError, match="one row per picture"):
        embedding_map(np.zeros((3, 4)), [0, 1])
    with pytest.raises(ValueError, match="Unknown map method 'tsne'"):
        embedding_map(same, [0] * 6, method="tsne")
    with pytest.raises(ValueError, match="finite"):
        embedding_map(np.full((2, 3), np.nan), [0, 1])


@pytest.mark.shared
def test_imagenet_features_separate_flowers_far_better_than_random(flowers):
    from understand_support import flowers_at, flowers_features

    dataset = flowers_at(96)
    pretrained = embedding_map(flowers_features(96, "shared"), dataset.labels)
    random = embedding_map(flowers_features(96, "none"), dataset.labels)
    assert pretrained.coords.shape == (len(dataset), 2)
    assert pretrained.chance == pytest.approx(300 / len(dataset))
    # Measured: 0.62 with the ImageNet weights, 0.33 with random ones (chance 0.20).
    assert pretrained.separation > 0.55
    assert random.separation < 0.40
    assert pretrained.map_separation > random.map_separation
    sentence = separation_sentence(pretrained, random)
    assert sentence.startswith(f"With ImageNet weights, {pretrained.separation:.0%} of the pictures")
    assert f"with random weights {random.separation:.0%}" in sentence
