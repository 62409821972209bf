"""How fast a backbone answers on *this* computer: one picture, warm, median of a few."""

from __future__ import annotations

import statistics
import time

import numpy as np


def prediction_milliseconds(backbone: str, input_size: int | None = None, repeats: int = 5) -> float:
    """Median time to classify one picture with ``backbone``'s full classifier, warm.

    Random weights (no download): the time does not depend on the weights' values."""
    from ._tf import tf
    from .model import build_classifier

    transfer = build_classifier(backbone, ["a", "b"], input_size, weights="none", seed=None)
    size = transfer.input_size
    picture = tf.constant(np.random.default_rng(0).integers(0, 256, (1, size, size, 3)).astype("float32"))
    function = tf.function(lambda x: transfer.model(x, training=False))
    function(picture).numpy()  # trace and warm up
    samples = []
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        function(picture).numpy()
        samples.append((time.perf_counter() - started) * 1000)
    return float(statistics.median(samples))
