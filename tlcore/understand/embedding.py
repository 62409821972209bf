"""What the network sees: a 2-D map of the pictures' features, and how well they separate.

The map is a PCA (the two directions along which the features vary most), computed with
plain numpy: a randomised SVD (Halko, Martinsson & Tropp 2011), exact to float precision
for two components and a few hundredths of a second for 1,500 × 1,280 features where a
full SVD takes seconds. Signs are fixed (each direction's largest weight is positive), so
the same features always give the same picture.

Separation is measured on all the features, not the flattened map: the share of pictures
closer to their own class's average than to any other class's average, each picture left
out of its own class's average (so a class of one cannot score by itself). "Chance" is
what always answering the largest class would get.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..i18n import Percent, msg
from .scoring import normalise_rows

METHODS = ("pca",)
_OVERSAMPLE, _POWER_ITERATIONS = 10, 4


@dataclass(frozen=True, eq=False)
class EmbeddingMap:
    """Where each picture lands on the map, and what the map says.

    ``coords`` (N, 2) float32; ``explained``: the share of the features' variance each axis
    shows; ``separation``: nearest-class-average accuracy in the full feature space (0..1),
    ``map_separation`` the same on the 2-D map; ``chance``: the largest class's share.
    ``mean`` and ``components`` place new pictures on the same map (``project``)."""

    coords: np.ndarray
    explained: tuple[float, float]
    method: str
    separation: float
    map_separation: float
    chance: float
    mean: np.ndarray = field(repr=False)
    components: np.ndarray = field(repr=False)

    def project(self, features) -> np.ndarray:
        """(N, 2) float32 map positions of other pictures' features (e.g. a camera picture)."""
        features = np.asarray(features, dtype="float32").reshape(-1, self.mean.shape[0])
        return ((features - self.mean) @ self.components.T).astype("float32")


def embedding_map(features, labels, method: str = "pca", seed: int = 0) -> EmbeddingMap:
    """The 2-D map of ``features`` (N, F) for pictures of class ``labels`` (N,)."""
    if method not in METHODS:
        raise ValueError(f"Unknown map method {method!r}; choose one of: {', '.join(METHODS)}.")
    features = np.asarray(features, dtype="float32")
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"Features must be one row per picture ({len(labels)} rows for {len(labels)} labels); "
                         f"got an array of shape {features.shape}.")
    if len(features) == 0 or not np.isfinite(features).all():
        raise ValueError("A map needs at least one picture with finite features; compute the features again.")
    mean = features.mean(axis=0)
    components, explained = pca_components(features - mean, 2, seed)
    coords = ((features - mean) @ components.T).astype("float32")
    return EmbeddingMap(coords, (float(explained[0]), float(explained[1])), method,
                        nearest_centroid_accuracy(normalise_rows(features), labels),
                        nearest_centroid_accuracy(coords, labels), chance_accuracy(labels), mean, components)


def pca_components(centred: np.ndarray, count: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(components (count, F) float32, explained variance ratios (count,)) of centred rows.

    Randomised range finder with power iterations, then an exact SVD of the small
    projection; deterministic for a seed, signs fixed."""
    rows, width = centred.shape
    total = float(np.square(centred, dtype="float64").sum())
    components = np.zeros((count, width), "float32")
    if total <= 0.0 or rows < 2:  # all pictures alike: every picture sits at the centre
        return components, np.zeros(count)
    data = centred.astype("float64")
    rank = min(rows, width)
    probe = np.random.default_rng(seed).standard_normal((width, min(count + _OVERSAMPLE, rank)))
    basis = data @ probe
    for _ in range(_POWER_ITERATIONS):  # sharpens the gap between leading and trailing directions
        basis, _ = np.linalg.qr(basis)
        basis = data @ (data.T @ basis)
    basis, _ = np.linalg.qr(basis)
    _, singular, right = np.linalg.svd(basis.T @ data, full_matrices=False)
    kept = min(count, len(singular))
    components[:kept] = right[:kept]
    largest = np.abs(components).argmax(axis=1)
    components *= np.where(components[np.arange(count), largest] < 0, -1.0, 1.0)[:, None].astype("float32")
    explained = np.zeros(count)
    explained[:kept] = singular[:kept] ** 2 / total
    return components, explained


def nearest_centroid_accuracy(points, labels) -> float:
    """Share of points nearer (Euclidean) to their own class's mean than to any other's,
    each point left out of its own class's mean. A class of one picture counts as missed."""
    points = np.asarray(points, dtype="float64")
    labels = np.asarray(labels, dtype=np.int64)
    classes, labels = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        return 1.0
    counts = np.bincount(labels).astype("float64")
    sums = np.zeros((len(classes), points.shape[1]))
    np.add.at(sums, labels, points)
    centroids = sums / counts[:, None]
    distances = (np.square(points).sum(1)[:, None] - 2 * points @ centroids.T + np.square(centroids).sum(1)[None])
    rows = np.arange(len(points))
    own = counts[labels]
    # Leave-one-out: the own class's mean without this point; undefined (missed) for a class of one.
    without = (sums[labels] - points) / np.maximum(own - 1, 1)[:, None]
    distances[rows, labels] = np.where(own > 1, np.square(points - without).sum(1), np.inf)
    return float((distances.argmin(axis=1) == labels).mean())


def chance_accuracy(labels) -> float:
    """What always answering the largest class gets right."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64))
    return float(counts.max() / counts.sum()) if counts.sum() else 0.0


def separation_sentence(pretrained: EmbeddingMap, random: EmbeddingMap, pretrained_name: str = "ImageNet") -> str:
    """One sentence for a page showing the two maps side by side."""
    values = dict(pretrained=Percent(pretrained.separation), random=Percent(random.separation),
                  chance=Percent(pretrained.chance))
    # One sentence per name (a translator may need to change the words around "ImageNet")
    if pretrained_name == "ImageNet":
        return msg("With ImageNet weights, {pretrained} of the pictures are closer to their own class's average than "
                   "to any other; with random weights {random} (always guessing the biggest class: {chance}).",
                   **values)
    if pretrained_name == "pretrained":
        return msg("With pretrained weights, {pretrained} of the pictures are closer to their own class's average "
                   "than to any other; with random weights {random} (always guessing the biggest class: {chance}).",
                   **values)
    return msg("With {name} weights, {pretrained} of the pictures are closer to their own class's average than "
               "to any other; with random weights {random} (always guessing the biggest class: {chance}).",
               name=pretrained_name, **values)
