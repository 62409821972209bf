"""A head trained on pooled features, compiled once and lent to every training that needs one.

Fitting a new Keras model traces its training and validation steps first: 1–2 s on 2 cores,
longer than ten epochs of a head on 30 pictures. A head-only training on a warm network
(tlcore.model.warm) borrows a head compiled earlier for the same feature size, classes and
dropout, gives it the new training's starting point (its classifier's initial weights, the
dropout's seed, a fresh optimizer at this phase's learning rate), trains it, and copies what it
learned back into its classifier. Same numbers as a head of its own (tests/test_warm.py).
"""

from __future__ import annotations

import numpy as np

from .._tf import keras


def compile_for_training(model, learning_rate: float) -> None:
    """How every training compiles what learns (recompile after changing ``trainable``)."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])


def head_kind(transfer, feature_size: int) -> tuple:
    """What a lent head must match: feature size, classes, dropout rate."""
    _pool, dropout, dense = transfer.head_layers
    return (int(feature_size), int(dense.units), float(dropout.rate))


def make_head(kind: tuple):
    """A head model (features → dropout → softmax) of ``kind``, compiled."""
    feature_size, classes, rate = kind
    inputs = keras.Input((feature_size,), name="features")
    dropout = keras.layers.Dropout(rate, name="dropout")
    dense = keras.layers.Dense(classes, activation="softmax", name="predictions")
    head = keras.Model(inputs, dense(dropout(inputs)), name="lent_head")
    compile_for_training(head, 1e-3)  # the rate is set per training (start_from)
    return head


def head_variables(model) -> list:
    """The variables that learn, in the classifier's order (kernel, bias)."""
    return list(model.get_layer("predictions").weights)


def in_lent_head(variables, head, transfer) -> list:
    """``variables`` with ``transfer``'s head variables replaced by the lent head's (same order)."""
    _pool, _dropout, dense = transfer.head_layers
    lent = {id(own): theirs for own, theirs in zip(dense.weights, head_variables(head))}
    return [lent.get(id(variable), variable) for variable in variables]


def start_from(head, transfer, learning_rate: float) -> None:
    """Give the lent head ``transfer``'s starting point: initial weights, dropout seed, new optimizer."""
    _pool, dropout, dense = transfer.head_layers
    for mine, theirs in zip(head_variables(head), dense.weights):
        mine.assign(theirs.value)
    ours, given = head.get_layer("dropout"), dropout
    if getattr(given, "seed_generator", None) is not None:
        ours.seed_generator.state.assign(given.seed_generator.state.value)
    optimizer = head.optimizer
    for variable in optimizer.variables:  # as new: no step taken, no momentum
        variable.assign(learning_rate if variable is optimizer._learning_rate
                        else np.zeros(variable.shape, variable.dtype))


def copy_back(head, transfer) -> None:
    """What the lent head learned, into ``transfer``'s own head."""
    _pool, _dropout, dense = transfer.head_layers
    for theirs, mine in zip(dense.weights, head_variables(head)):
        theirs.assign(mine.value)
