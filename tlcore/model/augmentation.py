"""Picture augmentation inside the model: active only while training."""

from __future__ import annotations

from .._tf import keras
from ..settings import AUGMENTATIONS, normalise_augment  # noqa: F401 (AUGMENTATIONS re-exported)


def augmentation_layers(augment, seed: int = 0) -> list:
    makers = {
        "flip": lambda: keras.layers.RandomFlip("horizontal", seed=seed, name="augment_flip"),
        "rotation": lambda: keras.layers.RandomRotation(0.08, seed=seed, name="augment_rotation"),
        "zoom": lambda: keras.layers.RandomZoom(0.15, seed=seed, name="augment_zoom"),
        "contrast": lambda: keras.layers.RandomContrast(0.2, seed=seed, name="augment_contrast"),
    }
    return [makers[name]() for name in normalise_augment(augment)]
