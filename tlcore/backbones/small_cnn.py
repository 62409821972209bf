"""A small convolutional network with no pretraining: the baseline transfer learning is measured against.

Built here (keras.applications has nothing this small), with the same signature as a
``keras.applications`` constructor, so the registry and the generic builder treat it like
any other backbone. Five blocks of 3×3 convolution, batch normalisation, ReLU and pooling;
layers are named ``blockN_…`` so the registry's block rule counts five blocks.
"""

from __future__ import annotations

FILTERS = (16, 32, 64, 128, 256)


def SmallCNN(include_top: bool = False, weights=None, input_shape=(128, 128, 3), **unused):  # noqa: N802 (Keras style)
    """The backbone without a top. ``weights``: None (random start) or a weights file of this network."""
    from .._tf import keras

    if include_top:
        raise ValueError("SmallCNN has no top of its own: the classifier adds the head.")
    if weights == "imagenet":
        raise ValueError("SmallCNN has no ImageNet weights: it is the network trained from scratch.")
    inputs = keras.Input(input_shape, name="input_layer")
    x = inputs
    for block, filters in enumerate(FILTERS, start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"block{block}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"block{block}_bn")(x)
        x = keras.layers.ReLU(name=f"block{block}_relu")(x)
        if block < len(FILTERS):
            x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    model = keras.Model(inputs, x, name="small_cnn")
    if weights is not None:
        model.load_weights(weights)
    return model


CONSTRUCTORS = {"SmallCNN": SmallCNN}
