"""Where a backbone's starting weights come from: ImageNet (Keras cache), a file, or none."""

from __future__ import annotations

import os
from pathlib import Path

from .spec import BackboneSpec

IMAGENET = "imagenet"
NONE = "none"


class WeightsUnavailableError(RuntimeError):
    """ImageNet weights are not cached and could not be downloaded."""

    def __init__(self, spec: BackboneSpec, input_size: int | None = None, cause: str = ""):
        self.spec = spec
        self.cause = cause
        super().__init__(
            f"The ImageNet weights for {spec.title} are not on this computer and could not be "
            f"downloaded (no internet connection?). Ways out: connect to the internet once and run "
            f"`tlcore fetch-weights {spec.name}`; or use a weights file you have "
            f"(--weights FILE, or upload it in the app); or train from scratch (--weights none), "
            f"which needs far more pictures and time."
        )


def keras_models_dir() -> Path:
    """The folder Keras caches downloaded weights in (same rule as keras.utils.get_file)."""
    home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    if not os.access(home if home.exists() else home.parent, os.W_OK):
        home = Path("/tmp/.keras")
    return home / "models"


def imagenet_weights_cached(spec: BackboneSpec, input_size: int | None = None) -> bool:
    """Whether ImageNet weights for ``spec`` at ``input_size`` are already on this computer."""
    return (keras_models_dir() / spec.weights_filename(input_size)).is_file()


def resolve_weights(weights) -> str:
    """Normalise a weights choice to "imagenet", "none" or an existing file's absolute path."""
    if weights is None:
        return NONE
    text = str(weights).strip()
    if text.lower() in (IMAGENET, NONE, "scratch", ""):
        return {"scratch": NONE, "": NONE}.get(text.lower(), text.lower())
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError(
            f"Weights file {text!r} was not found. Give 'imagenet', 'none', or the path of a "
            f"Keras weights file (.h5 or .weights.h5)."
        )
    return str(path.resolve())


# What Keras reads weights from: HDF5 (.h5, .weights.h5) or a zip (.keras).
_WEIGHTS_SIGNATURES = (b"\x89HDF\r\n\x1a\n", b"PK\x03\x04")


def looks_like_weights(path) -> bool:
    """Its first bytes say HDF5 or zip: a text or picture file is refused before TensorFlow loads."""
    try:
        with open(path, "rb") as file:
            start = file.read(8)
    except OSError:
        return True  # unreadable: the loader says why
    return start.startswith(_WEIGHTS_SIGNATURES)


def weights_label(weights: str) -> str:
    """How a weights choice is shown to people."""
    if weights == IMAGENET:
        return "ImageNet (pretrained)"
    if weights == NONE:
        return "None (from scratch)"
    return f"File: {Path(weights).name}"


def weights_library_dir() -> Path:
    """Weights files a user added (uploaded in the app or `tlcore fetch-weights --file`)."""
    from ..paths import cache_root

    return cache_root() / "weights"


def library_weights_file(spec: BackboneSpec) -> Path | None:
    """The weights file kept for ``spec`` in the library, if any."""
    path = weights_library_dir() / f"{spec.name}.weights.h5"
    return path if path.is_file() else None
