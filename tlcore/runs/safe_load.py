"""Open model files from elsewhere without running code they might carry."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path


class ModelFileError(ValueError):
    """A model file that was not opened; the message says why in plain words."""


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as file:
        return file.read(8) == b"\x89HDF\r\n\x1a\n"


def _names_code_layer(path: Path) -> bool:
    """Whether a .keras file's config names a Lambda layer (checked without loading it)."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError):
        return False

    def walk(node) -> bool:
        if isinstance(node, dict):
            if node.get("class_name") == "Lambda":
                return True
            return any(walk(value) for value in node.values())
        if isinstance(node, list):
            return any(walk(value) for value in node)
        return False

    return walk(config)


def _code_refused(path: Path) -> ModelFileError:
    return ModelFileError(
        f"This model file contains code (a Lambda layer) and was not opened, for safety. "
        f"({path.name}: only models made of Keras's built-in layers can be opened.)"
    )


def load_model_safely(path):
    """``keras.models.load_model(path, safe_mode=True)`` with plain-words errors.

    Raises ModelFileError when the file carries code (a Lambda layer), uses layers that
    are not part of Keras, or is not a Keras model file (text, a truncated download...).
    """
    from .._tf import keras

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path.name} could not be found (or is a folder, not a model file).")
    if path.suffix.lower() == ".keras" and _names_code_layer(path):
        raise _code_refused(path)
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as error:  # Keras reports damaged files with many error types
        message = str(error)
        if "Lambda" in message or "safe_mode" in message or "arbitrary code" in message:
            raise _code_refused(path) from None
        if "Could not locate" in message or "Unknown layer" in message:
            raise ModelFileError(
                f"{path.name} uses layers that are not part of Keras (custom code) and was not opened."
            ) from None
        try:
            legacy = _is_hdf5(path)
        except OSError:
            legacy = False
        if legacy:
            raise ModelFileError(
                f"{path.name} is an older Keras (HDF5) model file that this Keras cannot open, "
                f"or it is damaged. A Teachable Machine export can be imported with its "
                f"labels.txt instead."
            ) from None
        raise ModelFileError(f"{path.name} is not a Keras model file (or it is damaged).") from None
