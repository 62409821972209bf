"""Pictures whose label looks wrong, and pictures that look like none of the set.

Mislabelled: every picture is judged by a small classifier that never saw it (out-of-fold
predictions of a multinomial logistic regression on the cached features; plain numpy,
deterministic). A picture is a suspect when that classifier puts it in another class;
suspects are ranked by how little it believes the given label (the "self-confidence"
ranking of confident learning, Northcutt et al. 2021). Measured on flowers5 (daisy, rose,
sunflower at 128 px, its real problem pictures removed first): of 6 pictures moved to a
wrong class, 5 or 6 are among the top 15 of about 800 for 9 of 10 random choices.

A set's first suspects are often not mislabelled flowers but pictures of something else
(flowers5 holds a bridge, a door, a hand and a child's face): off-topic suspects find those.

Off-topic: a picture whose nearest neighbours (cosine similarity of features) are far less
similar to it than is usual in this set (below the lower Tukey fence of all pictures'
scores).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..i18n import msg_n
from .scoring import normalise_rows

MISLABELLED, OFF_TOPIC = "mislabelled", "off_topic"
# Ridge penalty on standardised features: strong enough that 1,280 features and a few
# hundred pictures do not give over-sure (all 0 % or 100 %) out-of-fold probabilities.
PENALTY = 1e-2
ITERATIONS = 200
OFF_TOPIC_NEIGHBOURS = 5
_FENCE = 1.5  # Tukey: 1.5 interquartile ranges below the lower quartile


@dataclass(frozen=True)
class Suspect:
    """One picture worth a second look. ``index`` is its row in the features (and dataset).

    ``kind``: "mislabelled" (``looks_like``: the class a classifier that never saw the
    picture puts it in) or "off_topic" (``looks_like``: the class of most of its nearest
    pictures). ``score``: 0..1, higher is more suspicious. ``given_probability`` and
    ``looks_like_probability``: how likely that classifier finds the given class and the
    class it looks like (for off-topic pictures: the share of its nearest pictures in each)."""

    index: int
    given: str
    looks_like: str
    score: float
    given_probability: float
    looks_like_probability: float
    kind: str = MISLABELLED


def _check(features, labels, class_names) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, dtype="float32")
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(f"Features must be one row per picture ({len(labels)} rows for {len(labels)} labels); "
                         f"got an array of shape {features.shape}.")
    if len(class_names) < 2 or labels.min(initial=0) < 0 or labels.max(initial=0) >= len(class_names):
        raise ValueError(f"Labels must be class numbers from 0 to {len(class_names) - 1} (one per class name).")
    counts = np.bincount(labels, minlength=len(class_names))
    if counts.min() < 2:
        thin = class_names[int(counts.argmin())]
        raise ValueError(msg_n("Class '{name}' has {count} picture; checking labels needs at least 2 in every "
                               "class. Add pictures or remove the class.",
                               "Class '{name}' has {count} pictures; checking labels needs at least 2 in every "
                               "class. Add pictures or remove the class.", int(counts.min()), name=thin))
    if not np.isfinite(features).all():
        raise ValueError("The features hold invalid numbers (NaN or infinity); compute them again.")
    return features, labels


def stratified_folds(labels, folds: int, seed: int = 0) -> np.ndarray:
    """A fold number (0..folds-1) for every picture; each class spread evenly over the folds."""
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        fold[members] = (np.arange(len(members)) + offset) % folds
        offset += len(members)  # the next class starts where this one ended: folds stay even
    return fold


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    return logits / logits.sum(axis=1, keepdims=True)


def fit_logistic(x: np.ndarray, y: np.ndarray, classes: int, penalty: float = PENALTY,
                 iterations: int = ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """(weights (F, C), bias (C,)) of an L2-penalised multinomial logistic regression.

    Nesterov's accelerated gradient with the step 1/L from the loss's curvature bound
    (0.5·σ_max(X)²/n + penalty): no tuning, no randomness, converges for any data."""
    n, width = x.shape
    targets = np.zeros((n, classes), "float32")
    targets[np.arange(n), y] = 1.0
    vector = np.ones(width, "float32") / np.sqrt(width)
    for _ in range(30):  # power iteration for σ_max(X)², deterministic start
        vector = x.T @ (x @ vector)
        vector /= max(float(np.linalg.norm(vector)), 1e-30)
    curvature = 0.5 * (float(np.linalg.norm(x @ vector)) ** 2 + n) / n + penalty  # + n: the bias column
    step = 1.0 / curvature
    weights = np.zeros((width, classes), "float32")
    bias = np.zeros(classes, "float32")
    previous_w, previous_b = weights, bias
    for t in range(1, iterations + 1):
        momentum = (t - 1) / (t + 2)
        look_w = weights + momentum * (weights - previous_w)
        look_b = bias + momentum * (bias - previous_b)
        error = (_softmax(x @ look_w + look_b) - targets) / n
        previous_w, previous_b = weights, bias
        weights = look_w - step * (x.T @ error + penalty * look_w)
        bias = look_b - step * error.sum(axis=0)
    return weights, bias


def out_of_fold_probabilities(features, labels, classes: int, folds: int = 5, seed: int = 0,
                              penalty: float = PENALTY) -> np.ndarray:
    """(N, classes) probabilities, each row from a logistic regression trained without that picture's fold."""
    features = np.asarray(features, dtype="float32")
    labels = np.asarray(labels, dtype=np.int64)
    folds = int(min(max(2, folds), np.bincount(labels).max()))
    fold_of = stratified_folds(labels, folds, seed)
    probabilities = np.zeros((len(labels), classes), "float32")
    for fold in range(folds):
        held, kept = fold_of == fold, fold_of != fold
        if not held.any():
            continue
        mean = features[kept].mean(axis=0)
        scale = features[kept].std(axis=0)
        scale[scale < 1e-6 * max(float(scale.max()), 1e-30)] = 1.0  # constant features: left as they are
        standard = lambda rows: (rows - mean) / scale  # noqa: E731
        weights, bias = fit_logistic(standard(features[kept]), labels[kept], classes, penalty)
        probabilities[held] = _softmax(standard(features[held]) @ weights + bias)
    return probabilities


def label_suspects(features, labels, class_names, folds: int = 5, seed: int = 0) -> list[Suspect]:
    """Pictures that look like another class than the one they are in, most suspicious first.

    A suspect is a picture that a classifier which never saw it puts in another class;
    the less that classifier believes the given label, the higher the suspect ranks.
    ``features``: (N, F), e.g. ``pooled_features`` of the dataset; ``labels``: (N,) class
    numbers into ``class_names``. 1,500 × 1,280 takes one or two seconds on 2 cores."""
    features, labels = _check(features, labels, class_names)
    probabilities = out_of_fold_probabilities(features, labels, len(class_names), folds, seed)
    looks_like = probabilities.argmax(axis=1)
    given_probability = probabilities[np.arange(len(labels)), labels]
    order = sorted(np.flatnonzero(looks_like != labels), key=lambda i: (given_probability[i], i))
    return [Suspect(int(i), class_names[labels[i]], class_names[looks_like[i]], float(1.0 - given_probability[i]),
                    float(given_probability[i]), float(probabilities[i, looks_like[i]]), MISLABELLED)
            for i in order]


def neighbour_similarity(features, k: int = OFF_TOPIC_NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """(mean cosine similarity of each picture to its k most similar others, their indices (N, k))."""
    unit = normalise_rows(np.asarray(features, dtype="float32"))
    k = int(min(k, len(unit) - 1))
    similarity = np.empty(len(unit), "float32")
    neighbours = np.empty((len(unit), k), np.int64)
    for start in range(0, len(unit), 1024):  # rows in blocks: memory stays (1024, N)
        block = unit[start:start + 1024] @ unit.T
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf  # not itself
        nearest = np.argpartition(-block, k - 1, axis=1)[:, :k]
        neighbours[start:start + len(block)] = nearest
        similarity[start:start + len(block)] = np.take_along_axis(block, nearest, axis=1).mean(axis=1)
    return similarity, neighbours


def off_topic_suspects(features, labels, class_names, k: int = OFF_TOPIC_NEIGHBOURS) -> list[Suspect]:
    """Pictures far from every other picture of the set (e.g. a cat among flowers), most off first.

    ``given_probability`` and ``looks_like_probability``: the share of its k nearest
    pictures of its given class and of the class most of them are in."""
    features, labels = _check(features, labels, class_names)
    similarity, neighbours = neighbour_similarity(features, k)
    low, high = np.percentile(similarity, [25, 75])
    fence = low - _FENCE * (high - low)
    order = sorted(np.flatnonzero(similarity < fence), key=lambda i: (similarity[i], i))
    spread = max(float(np.median(similarity) - similarity.min()), 1e-12)
    suspects = []
    for i in order:
        votes = np.bincount(labels[neighbours[i]], minlength=len(class_names))
        score = float(np.clip((np.median(similarity) - similarity[i]) / spread, 0.0, 1.0))
        suspects.append(Suspect(int(i), class_names[labels[i]], class_names[int(votes.argmax())], score,
                                float(votes[labels[i]] / votes.sum()), float(votes.max() / votes.sum()), OFF_TOPIC))
    return suspects
