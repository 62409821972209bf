"""Features at the head's input: what the new last layer sees of each picture.

Two sources, one meaning:

- ``pooled_features``: a backbone's pooled output before any training, through the very
  code the Trainer's fast path uses (``frozen_outputs`` with no learning block), so both share one
  on-disk cache: a map drawn before training makes the training's extraction a cache hit,
  and the other way round.
- ``run_features``: the same place in a *trained* run's Keras model (its ``pool`` layer).
  After fine-tuning the backbone has changed, so only the run's own model can say what
  its head sees.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from .scoring import POOL_LAYER

# Inference batch: CPU throughput levels off around 32 (as in the Trainer).
_BATCH = 32
_POOLED = "pooled"  # frozen_outputs' name for the boundary when no block learns


def pooled_features(dataset, backbone: str, weights, input_size: int | None = None, cache_dir=None,
                    on_batch=None) -> np.ndarray:
    """(N, F) float32 pooled features of every picture of ``dataset`` (read-only when cached).

    ``weights``: "imagenet", "none" (random, always the same start: seed 0) or a weights
    file. ``on_batch(done, total)`` reports progress while computing (and may raise to stop).
    Arguments are checked before anything heavy is done."""
    from ..backbones.factory import check_input_size
    from ..backbones.registry import get_backbone
    from ..backbones.weights import NONE, resolve_weights
    from ..training.features import FeatureCache, frozen_outputs, picture_origins, pixels_identity, weights_identity

    spec = get_backbone(backbone)
    size, weights = check_input_size(spec, input_size), resolve_weights(weights)
    pixels = dataset.pixels(size)
    cache = FeatureCache(cache_dir, origins=picture_origins(getattr(dataset, "paths", ())))

    def compute():
        from ..model.classifier import build_classifier

        # Nothing learns here: no dropout, no augmentation. Only a random start needs a seed
        # (and seeding resets Keras's process-wide generator, so others are left alone).
        transfer = build_classifier(spec.name, dataset.class_names, size, weights, dropout=0.0,
                                    seed=0 if weights == NONE else None)
        return frozen_outputs(transfer, pixels, 0, cache, on_batch)

    # The Trainer's key for pooled features (frozen_outputs with no learning block): a cached entry is
    # read without building a network (about a second saved). Tests check the keys agree.
    key = cache.key(pixels_identity(pixels), spec.name, weights_identity(weights), size, _POOLED)
    if cache.path(key).is_file():
        return cache.get_or_compute(key, compute, rows=len(pixels))  # a damaged entry is computed again
    return compute()


def run_features(run, pixels: np.ndarray, on_batch=None) -> np.ndarray:
    """(N, F) float32 features at a trained run's head input, for uint8 pictures at its input size.

    ``run``: a ``tlcore.runs.Run`` (its model is loaded safely) or a Keras classifier built
    here. Raises ValueError, in plain words, for a model without a pooling layer named "pool"."""
    return features_and_probabilities(run, pixels, on_batch)[0]


def features_and_probabilities(run, pixels: np.ndarray, on_batch=None) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, F), class probabilities (N, C)) from one pass of a run's model.

    For the Test page and live mode: the class and its familiarity for the cost of one
    prediction. The compiled function is kept with the model, so a camera's frames run it
    without tracing it again."""
    from ..training.feed import predict_batches

    model = getattr(run, "keras_model", run)
    pixels = np.asarray(pixels) if not isinstance(pixels, np.ndarray) else pixels
    size = int(model.input_shape[1])
    if pixels.ndim != 4 or pixels.shape[1:] != (size, size, 3):
        raise ValueError(f"The pictures must be {size}×{size} RGB for this run (an array (N, {size}, {size}, 3)); "
                         f"got an array of shape {tuple(pixels.shape)}.")
    function, width = _both_outputs(model)
    if len(pixels) == 0:
        return np.zeros((0, width), "float32"), np.zeros((0, int(model.outputs[0].shape[-1])), "float32")
    joined = predict_batches(function, pixels, _BATCH, on_batch=on_batch)
    return np.ascontiguousarray(joined[:, :width]), np.ascontiguousarray(joined[:, width:])


# The last few models' compiled functions (a strong reference each: a tf.function holds
# its model anyway, so a weak cache could never let go). A page keeps one or two runs open.
_FUNCTIONS: OrderedDict = OrderedDict()  # id(model) -> (model, function, width)
_FUNCTIONS_KEPT = 4
_FUNCTIONS_LOCK = threading.Lock()


def _both_outputs(model):
    """A tf.function: pictures -> [features | probabilities] side by side, one per model."""
    with _FUNCTIONS_LOCK:
        kept = _FUNCTIONS.get(id(model))
        if kept is None or kept[0] is not model:
            from .._tf import tf
            from .scoring import head_input_model

            extractor = head_input_model(model)
            function = tf.function(lambda x: tf.concat(extractor(x, training=False), axis=1), reduce_retracing=True)
            kept = _FUNCTIONS[id(model)] = (model, function, int(extractor.outputs[0].shape[-1]))
            while len(_FUNCTIONS) > _FUNCTIONS_KEPT:
                _FUNCTIONS.popitem(last=False)
        _FUNCTIONS.move_to_end(id(model))
        return kept[1], kept[2]


__all__ = ["POOL_LAYER", "features_and_probabilities", "pooled_features", "run_features"]
