"""Create a Keras backbone from its registry entry, with checked arguments."""

from __future__ import annotations

import warnings
from pathlib import Path

from .registry import get_backbone
from .small_cnn import CONSTRUCTORS as LOCAL_CONSTRUCTORS
from .spec import BackboneSpec
from .weights import (IMAGENET, NONE, WeightsUnavailableError, imagenet_weights_cached, known_weights_problem,
                      resolve_weights, weights_file_problem, weights_library_dir)


def check_input_size(spec: BackboneSpec, input_size: int | None) -> int:
    size = int(input_size or spec.input_size)
    if size < spec.min_input_size:
        raise ValueError(
            f"{spec.title} needs pictures of at least {spec.min_input_size}×{spec.min_input_size} "
            f"pixels; got {size}. Choose a larger input size."
        )
    return size


def create_backbone(backbone: str | BackboneSpec, input_size: int | None = None, weights="imagenet",
                    progress=None):
    """The Keras backbone without its top, for square RGB pictures of ``input_size``.

    ``weights``: "imagenet" (downloaded once into Keras's cache, with ``progress(DownloadProgress)``
    calls, from $TLCORE_WEIGHTS_URL first; see ``download``), "none" (random start), or a path to
    a weights file. Raises WeightsUnavailableError, with what to do, when ImageNet weights are
    neither cached nor downloadable.
    """
    spec = backbone if isinstance(backbone, BackboneSpec) else get_backbone(backbone)
    size = check_input_size(spec, input_size)
    weights = resolve_weights(weights)
    if weights not in (NONE, IMAGENET) and (problem := known_weights_problem(weights, spec)):
        raise ValueError(problem)  # before TensorFlow loads: a file surely for another network, or cut short
    from .._tf import keras

    constructor = getattr(keras.applications, spec.constructor, None) or LOCAL_CONSTRUCTORS[spec.constructor]
    kwargs = dict(spec.constructor_kwargs, include_top=False, input_shape=(size, size, 3))
    if weights == NONE:
        return constructor(weights=None, **kwargs)
    if weights == IMAGENET and not spec.pretrained:
        raise ValueError(f"{spec.title} has no ImageNet weights: it only trains from scratch (weights 'none').")
    if weights == IMAGENET:
        if not imagenet_weights_cached(spec, size):
            from .download import ensure_imagenet_weights

            ensure_imagenet_weights(spec, size, progress)  # WeightsDownloadError in plain words
        try:
            return constructor(weights="imagenet", **kwargs)
        except Exception as error:  # Keras raises a bare Exception on a failed download
            if imagenet_weights_cached(spec, size):
                raise
            raise WeightsUnavailableError(spec, size, cause=str(error)) from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns per layer; one clear error is enough
            return constructor(weights=weights, **kwargs)
    except Exception:  # Keras's and HDF5's words ("104 objects could not be loaded") help nobody
        raise ValueError(weights_file_problem(weights, spec)) from None


def add_to_library(spec: BackboneSpec, source: str | Path) -> Path:
    """Check that ``source`` fits ``spec`` (by loading it), then keep a copy in the library."""
    # Loading checks the file fits (a clear ValueError if not); saving it again converts any
    # format Keras reads (the legacy .h5 that Keras downloads, too) to a Keras 3 .weights.h5.
    backbone = create_backbone(spec, None, str(source))
    target = weights_library_dir() / f"{spec.name}.weights.h5"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name.replace(".weights.h5", ".partial.weights.h5"))
    backbone.save_weights(temporary)
    temporary.replace(target)
    return target
