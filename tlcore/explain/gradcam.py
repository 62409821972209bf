"""Grad-CAM: which parts of a picture made the model choose a class.

For a classifier built by tlcore (pixels → [augment] → preprocess → backbone → pool →
dropout → dense, the backbone a nested Keras model), the gradient of the class score with
respect to a backbone feature map says how much each feature channel counts for that
class; the channels, weighted by it, give a coarse map of "where the evidence is", which
is scaled up to the picture's size. It uses the model's current weights, so it explains a
fine-tuned model as it is now.

    gradcam(model, pixels, class_index=None, layer=None)  -> (S, S) float map in [0, 1]
    overlay(picture, heatmap, alpha=0.45)                 -> uint8 RGB picture with the map on top
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

_BATCH = 16


# -- the model's parts ---------------------------------------------------------------------
def _keras_model_of(model):
    """A keras.Model from a keras.Model, a TransferModel (.model) or a Run (.keras_model)."""
    from .._tf import keras

    if isinstance(model, keras.Model):
        return model
    for attribute in ("model", "keras_model"):
        inner = getattr(model, attribute, None)
        if isinstance(inner, keras.Model):
            return inner
    raise TypeError(f"Grad-CAM needs a Keras model, a TransferModel or a Run; got {type(model).__name__}.")


def _spec_of(model, keras_model):
    """The backbone's registry entry, when it can be told (for its ``gradcam_layer``)."""
    from ..backbones.registry import BACKBONES

    spec = getattr(model, "spec", None)
    if spec is not None:
        return spec
    metadata = getattr(model, "metadata", None)
    if isinstance(metadata, dict) and metadata.get("backbone") in BACKBONES:
        return BACKBONES[metadata["backbone"]]
    name = keras_model.name.removesuffix("_classifier")  # build_classifier names it so
    return BACKBONES.get(name)


def _split_around_backbone(keras_model):
    """(layers before the backbone, the backbone, layers after it), in order."""
    from .._tf import keras

    layers = [layer for layer in keras_model.layers if not isinstance(layer, keras.layers.InputLayer)]
    nested = [i for i, layer in enumerate(layers) if isinstance(layer, keras.Model)]
    if len(nested) != 1 or len(keras_model.inputs) != 1 or len(keras_model.outputs) != 1:
        raise ValueError(
            "Grad-CAM works on classifiers made by tlcore: one input, one output, and the "
            "backbone as one nested model."
        )
    merging = [layer.name for layer in layers if isinstance(layer, keras.layers.Layer)
               and layer.__class__.__module__.startswith("keras.src.layers.merging")]
    if merging:
        raise ValueError(f"Grad-CAM expects a chain of layers around the backbone; {merging[0]} joins branches.")
    index = nested[0]
    return layers[:index], layers[index], layers[index + 1:]


def _class_score(last_layer, features):
    """The score Grad-CAM differentiates: the class logits (before softmax) when the last
    layer is a softmax Dense, else the layer's output. Logits do not saturate. They are
    centred (minus their mean): softmax ignores a shift common to all logits, so a raw
    logit can be negative everywhere for the winning class and leave a blank map."""
    from .._tf import keras

    activation = getattr(last_layer, "activation", None)
    if isinstance(last_layer, keras.layers.Dense) and activation is keras.activations.softmax:
        logits = keras.ops.matmul(features, last_layer.kernel)
        if last_layer.use_bias:
            logits = logits + last_layer.bias
        return logits - keras.ops.mean(logits, axis=-1, keepdims=True)
    return last_layer(features, training=False)


_COMPILED: OrderedDict = OrderedDict()  # (id(model), layer) -> (model, function); the last few
_COMPILED_KEEP = 2
_COMPILED_LOCK = threading.Lock()


def _compiled(keras_model, layer: str | None):
    """A compiled function: pictures, requested classes (-1: predicted) → (maps, probabilities,
    classes). Kept for the last few models, so explaining picture after picture is fast;
    it reads the model's variables, so later weight changes (fine-tuning) are seen."""
    from .._tf import keras, tf

    key = (id(keras_model), layer)
    with _COMPILED_LOCK:
        hit = _COMPILED.get(key)
        if hit is not None and hit[0] is keras_model:
            _COMPILED.move_to_end(key)
            return hit[1]

    before, backbone, after = _split_around_backbone(keras_model)
    if layer is None:
        feature_map = backbone.output
        grad_model = keras.Model(backbone.inputs, feature_map)
    else:
        try:
            feature_map = backbone.get_layer(layer).output
        except ValueError:
            raise ValueError(f"The backbone {backbone.name} has no layer named {layer!r}.") from None
        grad_model = keras.Model(backbone.inputs, [feature_map, backbone.output])
    if len(feature_map.shape) != 4:
        raise ValueError(f"Grad-CAM needs a feature map (height × width × channels); {layer!r} gives {feature_map.shape}.")
    size = tuple(int(s) for s in keras_model.input_shape[1:3])

    @tf.function(input_signature=[tf.TensorSpec((None, *size, 3), tf.float32), tf.TensorSpec((None,), tf.int64)])
    def explain(x, requested):
        for part in before:  # augmentation is off at inference; preprocessing runs as in the model
            x = part(x, training=False)
        with tf.GradientTape() as tape:
            outputs = grad_model(x, training=False)
            conv, y = (outputs, outputs) if layer is None else outputs
            tape.watch(conv)
            for part in after[:-1]:
                y = part(y, training=False)
            scores = _class_score(after[-1], y)
            probabilities = after[-1](y, training=False)
            chosen = tf.where(requested < 0, tf.argmax(probabilities, axis=1, output_type=tf.int64), requested)
            target = tf.gather(scores, chosen, axis=1, batch_dims=1)
        gradients = tape.gradient(target, conv)
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)  # one weight per channel
        cam = tf.nn.relu(tf.reduce_sum(weights * conv, axis=-1))[..., None]
        return tf.image.resize(cam, size, method="bilinear")[..., 0], probabilities, chosen

    with _COMPILED_LOCK:
        _COMPILED[key] = (keras_model, explain)
        while len(_COMPILED) > _COMPILED_KEEP:
            _COMPILED.popitem(last=False)
    return explain


def _gradcam(model, pixels, class_index=None, layer: str | None = None):
    """(heatmaps (N, S, S), probabilities (N, C), class indices (N,)) for uint8 pictures (N, S, S, 3)."""
    from .._tf import tf

    keras_model = _keras_model_of(model)
    if layer is None:
        spec = _spec_of(model, keras_model)
        layer = spec.gradcam_layer if spec is not None else None
    explain = _compiled(keras_model, layer)

    pixels = np.asarray(pixels)
    if pixels.ndim != 4 or pixels.shape[-1] != 3:
        raise ValueError(f"Pictures must be (S, S, 3) or (N, S, S, 3) RGB arrays; got shape {pixels.shape}.")
    size = tuple(int(s) for s in keras_model.input_shape[1:3])
    if tuple(pixels.shape[1:3]) != size:
        raise ValueError(f"Pictures must be {size[0]}×{size[1]} for this model; got {pixels.shape[1]}×{pixels.shape[2]}.")
    n_classes = int(keras_model.output_shape[-1])
    requested = np.full(len(pixels), -1, dtype=np.int64)
    if class_index is not None:
        requested[:] = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (len(pixels),))
        if requested.min(initial=0) < 0 or requested.max(initial=0) >= n_classes:
            raise ValueError(f"Class index must be between 0 and {n_classes - 1}; got {class_index}.")

    heatmaps, probabilities, classes = [], [], []
    for start in range(0, len(pixels), _BATCH):
        cams, probs, chosen = explain(tf.constant(pixels[start:start + _BATCH], dtype=tf.float32),
                                      tf.constant(requested[start:start + _BATCH]))
        heatmaps.append(_normalise(cams.numpy()))
        probabilities.append(probs.numpy())
        classes.append(chosen.numpy())
    return np.concatenate(heatmaps), np.concatenate(probabilities), np.concatenate(classes)


def _normalise(cams: np.ndarray) -> np.ndarray:
    """Each map scaled to [0, 1] by its own maximum; a map with no evidence stays 0."""
    cams = np.nan_to_num(cams.astype("float32"), nan=0.0, posinf=0.0, neginf=0.0)
    cams = np.maximum(cams, 0.0)
    top = cams.reshape(len(cams), -1).max(axis=1).reshape(-1, 1, 1)
    scaled = np.divide(cams, top, out=np.zeros_like(cams), where=top > 0)
    return np.clip(scaled, 0.0, 1.0)


def gradcam(keras_model, pixels, class_index=None, layer: str | None = None) -> np.ndarray:
    """Grad-CAM heatmap(s) for uint8 pictures at the model's input size.

    ``keras_model``: a classifier built by tlcore (a keras.Model, TransferModel or Run).
    ``pixels``: (S, S, 3) → map (S, S); (N, S, S, 3) → maps (N, S, S); values in [0, 1].
    ``class_index``: the class to explain (one for all, or one per picture); None → the
    class the model predicts for each picture.
    ``layer``: a layer inside the backbone; None → the backbone's ``gradcam_layer`` from
    the registry, or else the backbone's output feature map.
    """
    pixels = np.asarray(pixels)
    single = pixels.ndim == 3
    heatmaps, _, _ = _gradcam(keras_model, pixels[None] if single else pixels, class_index, layer)
    return heatmaps[0] if single else heatmaps


# -- showing it ----------------------------------------------------------------------------
def jet(values: np.ndarray) -> np.ndarray:
    """Jet-like colours for values in [0, 1] (blue → cyan → yellow → red): uint8 (..., 3)."""
    v = np.clip(np.asarray(values, dtype="float32"), 0.0, 1.0)[..., None]
    centres = np.array([0.75, 0.5, 0.25], dtype="float32")  # where red, green, blue peak
    colours = np.clip(1.5 - np.abs(4.0 * (v - centres)), 0.0, 1.0)
    return np.rint(colours * 255).astype(np.uint8)


def overlay(picture, heatmap, alpha: float = 0.45) -> np.ndarray:
    """The picture with the heatmap's colours blended over it (uint8 RGB, picture's size)."""
    from PIL import Image

    picture = np.asarray(picture)
    if picture.ndim == 2:
        picture = np.stack([picture] * 3, axis=-1)
    if picture.ndim != 3 or picture.shape[-1] not in (3, 4):
        raise ValueError(f"The picture must be an RGB array (H, W, 3); got shape {picture.shape}.")
    picture = picture[..., :3].astype("float32")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1; got {alpha}.")
    heatmap = np.asarray(heatmap, dtype="float32")
    if heatmap.ndim != 2:
        raise ValueError(f"The heatmap must be 2-D (H, W); got shape {heatmap.shape}.")
    height, width = picture.shape[:2]
    if heatmap.shape != (height, width):
        heatmap = np.asarray(Image.fromarray(heatmap, mode="F").resize((width, height), Image.BILINEAR))
    blended = (1.0 - alpha) * picture + alpha * jet(heatmap).astype("float32")
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)
