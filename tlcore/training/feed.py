"""Feed arrays to Keras in seeded, shuffled batches, without per-epoch stalls.

Batches are gathered and cast to float32 one at a time (uint8 pictures or float32
features, possibly memory-mapped), so the whole set is never copied to float32. tf.data's autotuning is off:
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


# Arrays up to this size are handed to TensorFlow once and batched inside tf.data (fast);
# larger ones are read batch by batch from Python (streamed). A memory-mapped array (the feature
# cache's) is read into memory only while small: a streamed feed costs a generator's trace, a
# few tenths of a second, more than a head's whole training on cached features.
IN_GRAPH_LIMIT_BYTES = 512 * 1024 * 1024
MAPPED_IN_GRAPH_LIMIT_BYTES = 64 * 1024 * 1024


def training_feeds(x, y, batch_size: int, orders: list[np.ndarray], val_indices: np.ndarray):
    """(train dataset, validation dataset, steps per epoch) for ``model.fit``.

    The training dataset holds every epoch in turn, each following its order in ``orders``
    (indices into x), with batches never crossing an epoch's end; fit it with
    ``steps_per_epoch``, so Keras keeps one iterator across epochs. Both training paths see
    the same batches in the same order."""
    in_graph = x.nbytes <= (MAPPED_IN_GRAPH_LIMIT_BYTES if isinstance(x, np.memmap) else IN_GRAPH_LIMIT_BYTES)
    make = _in_graph_dataset(x, y) if in_graph else _streamed_dataset(x, y)
    train = make(orders, batch_size)
    val = make([np.asarray(val_indices)], batch_size)
    return train, val, steps(len(orders[0]), batch_size)


def _in_graph_dataset(x, y):
    x_all, y_all = tf.constant(np.asarray(x)), tf.constant(np.asarray(y, dtype="int64"))  # one copy, as stored (uint8 stays uint8)

    def make(orders, batch_size):
        parts = [tf.data.Dataset.from_tensor_slices(np.asarray(order, dtype="int64")).batch(batch_size)
                 for order in orders]
        dataset = parts[0]
        for part in parts[1:]:
            dataset = dataset.concatenate(part)
        dataset = dataset.map(lambda index: (tf.cast(tf.gather(x_all, index), tf.float32), tf.gather(y_all, index)))
        return _no_autotune(dataset.prefetch(1))

    return make


def _streamed_dataset(x, y):
    signature = (tf.TensorSpec((None, *x.shape[1:]), tf.float32), tf.TensorSpec((None,), tf.int64))

    def make(orders, batch_size):
        def generate():
            for order in orders:
                for start in range(0, len(order), batch_size):
                    index = order[start:start + batch_size]
                    yield np.asarray(x[index], dtype="float32"), np.asarray(y[index], dtype="int64")

        dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
        total = sum(steps(len(order), batch_size) for order in orders)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(total))
        return _no_autotune(dataset.prefetch(1))

    return make


def steps(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def predict_batches(function, x, batch_size: int, on_batch=None) -> np.ndarray:
    """Run ``function`` (a compiled tf.function) over ``x`` batch by batch; float32 out.

    ``on_batch(done, total)`` is called after each batch (progress, and a chance to stop)."""
    outputs = []
    total = len(x)
    batch_size = min(batch_size, max(total, 1))
    for start in range(0, total, batch_size):
        batch = np.asarray(x[start:start + batch_size], dtype="float32")
        rows = len(batch)
        if rows < batch_size:  # pad the last batch: one shape, so the function is traced once
            batch = np.concatenate([batch, np.zeros((batch_size - rows, *batch.shape[1:]), "float32")])
        outputs.append(np.asarray(function(tf.constant(batch)))[:rows])
        if on_batch is not None:
            on_batch(min(start + batch_size, total), total)
    return np.concatenate(outputs) if outputs else np.zeros((0,), "float32")
