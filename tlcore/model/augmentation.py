"""Picture augmentation inside the model: active only while training."""

from __future__ import annotations

from .._tf import keras

AUGMENTATIONS = ("flip", "rotation", "zoom", "contrast")


def normalise_augment(augment) -> tuple[str, ...]:
    """True → all; False/None → none; or an iterable of names from AUGMENTATIONS."""
    if augment is True:
        return AUGMENTATIONS
    if not augment:
        return ()
    names = tuple(dict.fromkeys(str(a).strip().lower() for a in augment))
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"Unknown augmentation {unknown}: choose from {', '.join(AUGMENTATIONS)}.")
    return names


def augmentation_layers(augment, seed: int = 0) -> list:
    makers = {
        "flip": lambda: keras.layers.RandomFlip("horizontal", seed=seed, name="augment_flip"),
        "rotation": lambda: keras.layers.RandomRotation(0.08, seed=seed, name="augment_rotation"),
        "zoom": lambda: keras.layers.RandomZoom(0.15, seed=seed, name="augment_zoom"),
        "contrast": lambda: keras.layers.RandomContrast(0.2, seed=seed, name="augment_contrast"),
    }
    return [makers[name]() for name in normalise_augment(augment)]
