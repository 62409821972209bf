"""Each backbone's pixel preprocessing as built-in Keras layers, so it lives inside the model.

Built-in layers only (no Lambda, no custom classes): an exported model then loads in plain
Keras, in safe mode, without tlcore.
"""

from __future__ import annotations

import numpy as np

from .._tf import keras

# ImageNet channel means in BGR order, as keras.applications' "caffe" mode subtracts them.
_CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype="float32")


def preprocessing_layers(mode: str) -> list:
    """Layers that turn 0..255 RGB pixels into what the backbone expects."""
    if mode == "none":
        return []
    if mode == "tf":
        return [keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess_scale")]
    if mode == "caffe":
        # RGB->BGR and mean subtraction as a fixed 1×1 convolution: exact (weights are 0/1).
        kernel = np.zeros((1, 1, 3, 3), dtype="float32")
        for out_channel, in_channel in enumerate((2, 1, 0)):
            kernel[0, 0, in_channel, out_channel] = 1.0
        layer = keras.layers.Conv2D(
            3, 1, name="preprocess_bgr_mean", trainable=False,
            kernel_initializer=keras.initializers.Constant(kernel),
            bias_initializer=keras.initializers.Constant(-_CAFFE_BGR_MEAN),
        )
        return [layer]
    raise ValueError(f"Unknown preprocessing {mode!r}: expected 'tf', 'caffe' or 'none'.")
