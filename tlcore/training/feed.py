"""Feed arrays to Keras in seeded, shuffled batches, without per-epoch stalls.

Batches are cut in numpy (uint8 pictures or float32 features, possibly memory-mapped) and
cast per batch, so the whole set is never copied to float32. tf.data's autotuning is off:
on small CPUs it ends epochs with idle stalls of seconds.
"""

from __future__ import annotations

import math

import numpy as np

from .._tf import tf


def epoch_order(n: int, epochs: int, seed: int, shuffle: bool = True) -> list[np.ndarray]:
    """One index order per epoch; the same seed gives the same orders on every path."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(n) if shuffle else np.arange(n) for _ in range(epochs)]


def _no_autotune(dataset):
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def batch_dataset(x, y, batch_size: int, orders: list[np.ndarray]):
    """A tf.data dataset of (x, y) batches: one epoch per iteration, following ``orders``.

    Keras starts a new iteration each epoch; the k-th iteration follows ``orders[k]`` (the
    last order repeats), so both training paths see the same batches in the same order."""
    iterations = [0]

    def generate():
        order = orders[min(iterations[0], len(orders) - 1)]
        iterations[0] += 1
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            yield np.asarray(x[index], dtype="float32"), y[index]

    signature = (
        tf.TensorSpec((None, *x.shape[1:]), tf.float32),
        tf.TensorSpec((None,), tf.int64),
    )
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    # A known epoch length: Keras then neither warns nor guesses where an epoch ends.
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps(len(orders[0]), batch_size)))
    return _no_autotune(dataset.prefetch(1))


def steps(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def predict_batches(function, x, batch_size: int, on_batch=None) -> np.ndarray:
    """Run ``function`` (a compiled tf.function) over ``x`` batch by batch; float32 out.

    ``on_batch(done, total)`` is called after each batch (progress, and a chance to stop)."""
    outputs = []
    total = len(x)
    for start in range(0, total, batch_size):
        batch = np.asarray(x[start:start + batch_size], dtype="float32")
        outputs.append(np.asarray(function(tf.constant(batch))))
        if on_batch is not None:
            on_batch(min(start + batch_size, total), total)
    return np.concatenate(outputs) if outputs else np.zeros((0,), "float32")
