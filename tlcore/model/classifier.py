"""The end-to-end classifier: pictures (0..255 RGB) in, class probabilities out.

    input → [augmentation] → preprocessing → backbone(training=False) → pooling → dropout → dense

The backbone is called with ``training=False`` so its BatchNorm layers keep their ImageNet
statistics even while its top blocks learn. Only a model trained from scratch calls it in
training mode (its BatchNorm statistics must be learned).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from .._tf import keras
from ..backbones.blocks import Block, group_blocks
from ..backbones.factory import check_input_size, create_backbone
from ..backbones.registry import get_backbone
from ..backbones.spec import BackboneSpec
from ..backbones.weights import NONE, resolve_weights
from .augmentation import augmentation_layers, normalise_augment
from .preprocessing import preprocessing_layers

POOL, DROPOUT, PREDICTIONS = "pool", "dropout", "predictions"
_BUILD_LOCK = threading.Lock()


@dataclass
class BlockStatus:
    name: str
    params: int
    learning: bool


def _is_batchnorm(layer) -> bool:
    return isinstance(layer, keras.layers.BatchNormalization)


class TransferModel:
    """A Keras classifier plus what we know about its parts (backbone blocks, head)."""

    def __init__(self, model, backbone, spec: BackboneSpec, class_names, weights: str, input_size: int,
                 warm=None):
        self.model = model
        self.warm = warm  # the WarmNetwork whose backbone this shares, or None (built for this model)
        self.backbone = backbone
        self.spec = spec
        self.class_names = list(class_names)
        self.weights = weights
        self.input_size = input_size
        self.blocks: list[Block] = group_blocks(backbone, spec.blocks)
        self.learning_blocks = 0

    # -- parts -----------------------------------------------------------------------------
    @property
    def from_scratch(self) -> bool:
        return self.weights == NONE

    @property
    def head_layers(self) -> list:
        return [self.model.get_layer(name) for name in (POOL, DROPOUT, PREDICTIONS)]

    @property
    def preprocess_layers(self) -> list:
        return [layer for layer in self.model.layers if layer.name.startswith("preprocess_")]

    @property
    def augment_layers(self) -> list:
        return [layer for layer in self.model.layers if layer.name.startswith("augment_")]

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    # -- freezing --------------------------------------------------------------------------
    def check_learning_blocks(self, learning_blocks: int) -> int:
        learning_blocks = int(learning_blocks)
        if not 0 <= learning_blocks <= self.num_blocks:
            raise ValueError(
                f"Learning blocks must be between 0 (only the new head learns) and {self.num_blocks} "
                f"(every block of {self.spec.title} learns); got {learning_blocks}."
            )
        return learning_blocks

    def set_learning_blocks(self, learning_blocks: int) -> "TransferModel":
        """Let the top ``learning_blocks`` blocks learn; freeze the rest. BatchNorm stays frozen
        (except from scratch). Recompile afterwards: Keras reads ``trainable`` at compile."""
        learning_blocks = self.check_learning_blocks(learning_blocks)
        learning = {id(layer) for block in self.blocks[self.num_blocks - learning_blocks:] for layer in block.layers}
        wanted = [id(layer) in learning and (self.from_scratch or not _is_batchnorm(layer))
                  for layer in self.backbone.layers]
        # Only when something changes: a warm backbone is shared, and flags flipped on and off
        # again would be seen, for a moment, by another training saving its model.
        if not self.backbone.trainable or [layer.trainable for layer in self.backbone.layers] != wanted:
            self.backbone.trainable = True  # Keras sets children recursively; then set each below
            for layer, trainable in zip(self.backbone.layers, wanted):
                layer.trainable = trainable
        self.learning_blocks = learning_blocks
        return self

    def block_status(self, learning_blocks: int | None = None) -> list[BlockStatus]:
        """Every backbone block, bottom to top, marked learning or frozen at ``learning_blocks``."""
        learning_blocks = self.learning_blocks if learning_blocks is None else self.check_learning_blocks(learning_blocks)
        first_learning = self.num_blocks - learning_blocks
        return [BlockStatus(b.name, b.params, i >= first_learning) for i, b in enumerate(self.blocks)]

    def trainable_params(self, learning_blocks: int | None = None, from_scratch: bool | None = None) -> int:
        """Parameters that learn at ``learning_blocks`` (head included; BatchNorm excluded unless from scratch).

        ``from_scratch`` overrides the model's own mode: a preview built with random weights
        can then count what a pretrained model would train."""
        learning_blocks = self.learning_blocks if learning_blocks is None else self.check_learning_blocks(learning_blocks)
        scratch = self.from_scratch if from_scratch is None else from_scratch
        layers = list(self.head_layers)
        for block in self.blocks[self.num_blocks - learning_blocks:]:
            layers += [l for l in block.layers if scratch or not _is_batchnorm(l)]
        # Count variables that can learn: BatchNorm's moving statistics never do.
        return sum(int(np.prod(v.shape)) for l in layers for v in getattr(l, "weights", []) if v.trainable)

    # -- cutting at the freeze boundary (for the fast path) --------------------------------
    def cut_operation(self, learning_blocks: int):
        """The backbone operation whose output feeds the learning blocks at ``learning_blocks``.

        None when every block learns (nothing frozen to compute once)."""
        learning_blocks = self.check_learning_blocks(learning_blocks)
        if learning_blocks == self.num_blocks:
            return None
        return self.blocks[self.num_blocks - learning_blocks - 1].last

    def frozen_extractor(self, learning_blocks: int):
        """Model: pictures → the frozen part's output (preprocessing included)."""
        cut = self.cut_operation(learning_blocks)
        bottom = keras.Model(self.backbone.input, cut.output, name="frozen_part")
        inputs = keras.Input((self.input_size, self.input_size, 3), name="pixels")
        x = inputs
        for layer in self.preprocess_layers:
            x = layer(x)
        return keras.Model(inputs, bottom(x, training=False), name="extractor")

    def feature_function(self, learning_blocks: int):
        """Compiled: pictures → the frozen part's output (pooled when no block learns). A warm
        network keeps it, traced once, for every training that shares its backbone."""
        from .._tf import tf

        def make():
            extractor = self.frozen_extractor(learning_blocks)
            if learning_blocks:
                return tf.function(lambda x: extractor(x, training=False), reduce_retracing=True)
            pool = keras.layers.GlobalAveragePooling2D()
            return tf.function(lambda x: pool(extractor(x, training=False)), reduce_retracing=True)

        return self.warm.feature_function(learning_blocks, make) if self.warm is not None else make()

    def learning_top(self, learning_blocks: int):
        """Model: the frozen part's output → backbone output, through the learning blocks.

        Shares its layers with ``self.model``: training it trains the end-to-end model."""
        cut = self.cut_operation(learning_blocks)
        return keras.Model(cut.output, self.backbone.output, name="learning_part")


def build_classifier(
    backbone: str = "mobilenet_v2",
    class_names=("a", "b"),
    input_size: int | None = None,
    weights="imagenet",
    dropout: float = 0.2,
    augment=False,
    seed: int | None = 0,
    on_download=None,
    warm=None,
) -> TransferModel:
    """Build the end-to-end classifier. Arguments are checked before anything heavy is done.

    ``on_download(DownloadProgress)`` hears how a download of ImageNet weights goes, if one is needed.
    ``warm`` (a WarmNetworks): take the backbone from it, built once for every classifier of the same
    network, weights and size; only for a backbone that stays frozen (none of its blocks will learn)."""
    spec = get_backbone(backbone) if isinstance(backbone, str) else backbone
    class_names = list(class_names)
    if len(class_names) < 2:
        raise ValueError(f"A classifier needs at least 2 classes; got {class_names}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"Dropout must be in [0, 1); got {dropout}.")
    size = check_input_size(spec, input_size)
    weights = resolve_weights(weights)
    augment = normalise_augment(augment)

    # Keras draws unseeded initial weights from one process-wide generator: build under a
    # lock, right after seeding it, so two trainings in two threads never share its state.
    with _BUILD_LOCK:
        if seed is not None:  # None: do not touch the process-wide seed (e.g. for a preview)
            keras.utils.set_random_seed(seed)
        network = None
        if warm is not None and weights != NONE:
            network = warm.get(spec, size, weights, lambda: create_backbone(spec, size, weights, progress=on_download))
        base = network.backbone if network else create_backbone(spec, size, weights, progress=on_download)
        inputs = keras.Input((size, size, 3), name="pixels")
        x = inputs
        for layer in augmentation_layers(augment, seed or 0) + preprocessing_layers(spec.preprocessing):
            x = layer(x)
        x = base(x) if weights == NONE else base(x, training=False)
        x = keras.layers.GlobalAveragePooling2D(name=POOL)(x)
        x = keras.layers.Dropout(dropout, seed=seed or 0, name=DROPOUT)(x)
        outputs = keras.layers.Dense(len(class_names), activation="softmax", name=PREDICTIONS,
                                     kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(x)
        model = keras.Model(inputs, outputs, name=f"{spec.name}_classifier")
    transfer = TransferModel(model, base, spec, class_names, weights, size, warm=network)
    return transfer.set_learning_blocks(transfer.num_blocks if weights == NONE else 0)
