"""Where a backbone's starting weights come from: ImageNet (Keras cache), a file, or none."""

from __future__ import annotations

import os
from pathlib import Path

from .registry import BACKBONES, DEFAULT_BACKBONE, get_backbone
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


def weights_identity(weights: str) -> str:
    """'imagenet', 'none', or 'file:<sha256>' so a changed file invalidates what was computed with it
    (cached features, a warm network)."""
    if weights in (IMAGENET, NONE):
        return weights
    import hashlib

    stat = os.stat(weights)
    seen = (weights, stat.st_size, stat.st_mtime_ns, stat.st_ino)  # hashed again only when the file changes
    if seen in _IDENTITIES:
        return _IDENTITIES[seen]
    digest = hashlib.sha256()
    with open(weights, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    _IDENTITIES[seen] = identity = "file:" + digest.hexdigest()
    return identity


_IDENTITIES: dict[tuple, str] = {}  # a file's identity by path, size, time and inode: small, one per file


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


def weights_file_problem(path, spec: BackboneSpec) -> str:
    """Why the weights file at ``path`` does not fit ``spec``, as one sentence that says what to do:
    damaged or cut short, not a weights file, made for another network of the registry (named), or
    for one it does not know. Read with h5py alone (no TensorFlow); never Keras's or HDF5's words."""
    sure = known_weights_problem(path, spec)
    if sure is not None:
        return sure
    values = _values_in_weights_file(path)
    if values == spec.params:
        return (f"The weights file {Path(path).name!r} does not fit {spec.title} (it holds as many values as "
                f"{spec.title} has, but stored in a way this program cannot read; save them again with Keras 3). "
                f"{_WAY_OUT}")
    return (f"The weights file {Path(path).name!r} does not fit {spec.title} (it was made for another network: it "
            f"holds {values:,} values, and {spec.title} has {spec.params:,}). {_WAY_OUT}")


_WAY_OUT = "Choose a weights file made for this backbone, 'imagenet', or 'none'."


def known_weights_problem(path, spec: BackboneSpec) -> str | None:
    """The sentence for a weights file that surely does not fit ``spec``, found before TensorFlow loads:
    not a weights file, damaged or cut short, or holding exactly another registry network's values.
    None when only loading it can tell."""
    name = repr(Path(path).name)
    if not looks_like_weights(path):  # Keras's own words would list every format it knows
        return (f"The weights file {name} does not fit {spec.title} (it is not a Keras weights file, such as an "
                f".h5 or .weights.h5 file). {_WAY_OUT}")
    values = _values_in_weights_file(path)
    if values is None:
        return (f"The weights file {name} is damaged or cut short (part of it is missing), so it cannot be used. "
                "Copy or download it again.")
    if values == spec.params:
        return None
    other = next((other for other in BACKBONES.values() if other.params == values), None)
    if other is not None:
        return (f"The weights file {name} is for {other.title}, not {spec.title}. Choose {other.title} to use it, "
                f"or a weights file made for {spec.title}, 'imagenet', or 'none'.")
    return None


def _values_in_weights_file(path) -> int | None:
    """How many numbers a Keras weights file holds (its weights alone, without an optimizer's);
    None if it cannot be opened (damaged, cut short)."""
    import io
    import zipfile

    import h5py

    try:
        if zipfile.is_zipfile(path):  # a .keras file: its weights are model.weights.h5 inside
            with zipfile.ZipFile(path) as archive:
                source = io.BytesIO(archive.read("model.weights.h5"))
        else:
            source = path
        with h5py.File(source, "r") as weights:
            root = weights["model_weights"] if "model_weights" in weights else weights  # a whole-model .h5
            found = [0]
            root.visititems(lambda _, item: found.__setitem__(0, found[0] + item.size)
                            if isinstance(item, h5py.Dataset) else None)
            return found[0]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


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


def weights_here(backbone: str, input_size: int | None = None) -> str | None:
    """The pretrained weights for ``backbone`` that this computer has: "imagenet" (in Keras's
    cache), else the weights file the user added for it (its path), else None (offline, a map
    or a comparison with ImageNet weights cannot be made here)."""
    spec = get_backbone(backbone)
    if not spec.pretrained:
        return None
    if imagenet_weights_cached(spec, input_size):
        return IMAGENET
    added = library_weights_file(spec)
    return str(added) if added is not None else None


def networks_with_weights(input_size: int | None = None) -> dict[str, str]:
    """Each network whose pretrained weights are on this computer -> those weights (as ``weights_here``)."""
    return {name: here for name in BACKBONES if (here := weights_here(name, input_size)) is not None}


def network_with_weights(preferred: str | None = None, input_size: int | None = None) -> str:
    """``preferred`` if its pretrained weights are on this computer, else the default network, the
    smallest, or any other whose weights are here; with none here, ``preferred`` or the default
    (where there is internet, its weights download)."""
    ready = networks_with_weights(input_size)
    for name in (preferred, DEFAULT_BACKBONE, "mobilenet_v2_035", *ready):
        if name and str(name).lower() in ready:
            return str(name).lower()
    return str(preferred).lower() if preferred else DEFAULT_BACKBONE
