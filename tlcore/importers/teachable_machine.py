"""Import a Google Teachable Machine image model (the "Tensorflow → Keras" download).

Teachable Machine exports a Keras 2 HDF5 file (``keras_model.h5``) and ``labels.txt``
("0 dog", "1 cat"). Keras 3 cannot load that file (DepthwiseConv2D rejects its ``groups``
argument, then the nested Sequential models do not rebuild), so the importer rebuilds the
same network from Keras's built-in layers and copies the weights by layer name:

    pixels (0..255) → Rescaling(1/127.5, -1) → MobileNetV2 (cut at out_relu) → average pooling
                    → Dense(100, relu) → Dense(classes, softmax, no bias)

Teachable Machine's own preprocessing (x / 127.5 − 1) is inside the model, and its picture
resize (centre crop, Lanczos, 224×224) is the app's ``load_picture``, so the imported run
gives Teachable Machine's answers. Its MobileNetV2 part can also be saved as a weights file
to start new training from (``teachable_machine_backbone_weights``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..backbones.registry import get_backbone
from ..runs import DatasetInfo, Run, RunRecord, claim_given_folder, read_labels_file, write_run_folder

# MobileNetV2 width (alpha) told apart by the input channels of its last 1×1 convolution.
_ALPHA_BY_CONV_1_CHANNELS = {112: (0.35, "mobilenet_v2_035"), 320: (1.0, "mobilenet_v2")}
_MODEL_TYPES = ("Functional", "Model")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class TeachableMachineError(ValueError):
    """The files are not a Teachable Machine image model this importer understands."""


@dataclass
class _Export:
    """What was read from keras_model.h5."""

    input_size: int
    alpha: float
    backbone: str  # registry name
    head: list[dict]  # Dense / Dropout layer configs after the pooling, in order
    weights: dict[tuple[str, str], np.ndarray]  # (layer name, variable name) -> array
    keras_version: str = ""
    notes: list[str] = field(default_factory=list)


# -- reading the export --------------------------------------------------------------------
def read_labels(labels_txt) -> list[str]:
    """Class names from Teachable Machine's labels.txt ("0 dog" → "dog"), in output order."""
    try:
        lines = read_labels_file(labels_txt)
    except OSError as error:
        raise TeachableMachineError(f"{Path(labels_txt).name} could not be read ({error.strerror or error}).") from None
    numbered = [re.match(r"^(\d+)\s+(.+)$", line) for line in lines]
    if lines and all(numbered):
        pairs = sorted((int(m.group(1)), m.group(2).strip()) for m in numbered)
        names = [name for _, name in pairs]
    else:
        names = lines
    if len(names) < 2:
        raise TeachableMachineError(f"{Path(labels_txt).name} names {len(names)} class(es); a model needs at least 2.")
    if len(set(names)) != len(names):
        raise TeachableMachineError(f"{Path(labels_txt).name} names a class twice: {names}.")
    return names


def _leaves(config: dict):
    """Layer configs in order, Sequential models flattened; a functional model is one leaf."""
    class_name = config.get("class_name")
    inner = config.get("config", {})
    if class_name == "Sequential":
        layers = inner["layers"] if isinstance(inner, dict) else inner
        for layer in layers:
            yield from _leaves(layer)
    elif class_name != "InputLayer":
        yield config


def _input_size(config: dict) -> int | None:
    def walk(node):
        if isinstance(node, dict):
            if node.get("class_name") == "InputLayer":
                shape = node.get("config", {}).get("batch_input_shape") or node.get("config", {}).get("batch_shape")
                if shape and len(shape) == 4:
                    return int(shape[1])
            for value in node.values():
                found = walk(value)
                if found:
                    return found
        elif isinstance(node, list):
            for value in node:
                found = walk(value)
                if found:
                    return found
        return None

    return walk(config)


def _read_export(model_h5) -> _Export:
    path = Path(model_h5)
    _check_is_hdf5(path)
    config, weights, keras_version = _read_h5(path)
    head = _head_layers(path, config)
    conv_1 = weights.get(("Conv_1", "kernel"))
    if conv_1 is None or int(conv_1.shape[2]) not in _ALPHA_BY_CONV_1_CHANNELS:
        raise TeachableMachineError(f"{path.name}'s backbone is not a MobileNetV2 of a width this importer knows (0.35 or 1.0).")
    alpha, backbone = _ALPHA_BY_CONV_1_CHANNELS[int(conv_1.shape[2])]
    size = _input_size(config) or 224
    return _Export(size, alpha, backbone, head, weights, keras_version)


def _check_is_hdf5(path: Path) -> None:
    if not path.is_file():
        raise TeachableMachineError(f"{path.name} could not be found.")
    with open(path, "rb") as file:
        if file.read(8) != _HDF5_SIGNATURE:
            raise TeachableMachineError(
                f"{path.name} is not a Teachable Machine Keras file (keras_model.h5 from the "
                f"'Tensorflow → Keras' download)."
            )


def _read_h5(path: Path) -> tuple[dict, dict[tuple[str, str], np.ndarray], str]:
    """(model config, weights by (layer, variable) name, Keras version) as the file holds them."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            raw_config = h5.attrs.get("model_config")
            if raw_config is None or "model_weights" not in h5:
                raise TeachableMachineError(f"{path.name} holds no Keras model (no model_config / model_weights).")
            config = json.loads(raw_config.decode() if isinstance(raw_config, bytes) else raw_config)
            keras_version = h5.attrs.get("keras_version", b"")
            keras_version = keras_version.decode() if isinstance(keras_version, bytes) else str(keras_version)
            weights: dict[tuple[str, str], np.ndarray] = {}

            def collect(name, item):
                if isinstance(item, h5py.Dataset):
                    parts = name.split("/")
                    key = (parts[-2], parts[-1].split(":")[0])
                    if key in weights:
                        raise TeachableMachineError(f"{path.name} has two layers named {key[0]!r}.")
                    weights[key] = np.asarray(item[()])

            h5["model_weights"].visititems(collect)
    except TeachableMachineError:
        raise
    except Exception as error:  # h5py reports truncated files with OSError, KeyError...
        short = "truncated file" in str(error)
        raise TeachableMachineError(
            f"{path.name} is {'cut short' if short else 'damaged'}: it could not be read as a Keras file. "
            "Download the model from Teachable Machine again (Export model → Tensorflow → Keras).") from None
    return config, weights, keras_version


def _head_layers(path: Path, config: dict) -> list[dict]:
    """The Dense/Dropout layers after the pooled backbone, checked to be Teachable Machine's shape."""
    leaves = list(_leaves(config))
    if not leaves or leaves[0].get("class_name") not in _MODEL_TYPES:
        raise TeachableMachineError(f"{path.name} does not start with a MobileNet backbone; it is not a Teachable Machine image model.")
    outputs = leaves[0]["config"].get("output_layers") or [[None]]
    if outputs[0][0] != "out_relu":
        raise TeachableMachineError(f"{path.name}'s backbone does not end at MobileNetV2's out_relu layer.")
    if len(leaves) < 2 or leaves[1].get("class_name") != "GlobalAveragePooling2D":
        raise TeachableMachineError(f"{path.name} does not pool its features by averaging, as Teachable Machine does.")
    head = []
    for leaf in leaves[2:]:
        if leaf.get("class_name") not in ("Dense", "Dropout"):
            raise TeachableMachineError(f"{path.name} has a {leaf.get('class_name')} layer in its head; only Dense and Dropout are expected.")
        head.append({"class_name": leaf["class_name"], **leaf["config"]})
    if not head or head[-1]["class_name"] != "Dense":
        raise TeachableMachineError(f"{path.name} does not end with a Dense layer.")
    return head


# -- rebuilding in Keras 3 -----------------------------------------------------------------
def _assign(layer, weights: dict, owner: str = "") -> None:
    """Copy ``layer``'s variables from the export, by layer and variable name."""
    source = owner or layer.name
    for variable in layer.weights:
        name = variable.path.split("/")[-1]
        candidates = [name] + (["depthwise_kernel"] if name == "kernel" else [])
        array = next((weights[(source, c)] for c in candidates if (source, c) in weights), None)
        if array is None:
            raise TeachableMachineError(f"The export has no weights for {source}/{name}.")
        if tuple(array.shape) != tuple(variable.shape):
            raise TeachableMachineError(
                f"The export's {source}/{name} has shape {array.shape}, expected {tuple(variable.shape)}."
            )
        variable.assign(array)


def _backbone(export: _Export, input_size: int | None = None):
    from .._tf import keras

    size = int(input_size or export.input_size)
    backbone = keras.applications.MobileNetV2(
        alpha=export.alpha, include_top=False, weights=None, input_shape=(size, size, 3)
    )
    for layer in backbone.layers:
        if layer.weights:
            _assign(layer, export.weights)
    return backbone


def _rebuild(export: _Export, n_classes: int):
    from .._tf import keras

    last = export.head[-1]
    if int(last["units"]) != n_classes:
        raise TeachableMachineError(f"The model has {last['units']} outputs but labels.txt names {n_classes} classes.")
    backbone = _backbone(export)
    inputs = keras.Input((export.input_size, export.input_size, 3), name="pixels")
    # Teachable Machine's preprocessing, x / 127.5 - 1, as a built-in layer inside the model.
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess_scale")(inputs)
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    hidden = 0
    for i, part in enumerate(export.head):
        final = i == len(export.head) - 1
        if part["class_name"] == "Dropout":
            x = keras.layers.Dropout(float(part.get("rate", 0.0)), name=f"dropout_{i}")(x)
            continue
        hidden += not final
        layer = keras.layers.Dense(
            int(part["units"]), activation=part.get("activation", "linear"),
            use_bias=bool(part.get("use_bias", True)),
            name="predictions" if final else ("hidden" if hidden == 1 else f"hidden_{hidden}"),
        )
        x = layer(x)
        _assign(layer, export.weights, owner=part["name"])
    return keras.Model(inputs, x, name=f"{export.backbone}_classifier")


def _head_words(export: _Export) -> str:
    words = ["average pooling"]
    for part in export.head:
        if part["class_name"] == "Dropout":
            words.append(f"Dropout({part.get('rate', 0)})")
        else:
            bias = "" if part.get("use_bias", True) else ", no bias"
            words.append(f"Dense({part['units']}, {part.get('activation', 'linear')}{bias})")
    return " → ".join(words)


# -- public --------------------------------------------------------------------------------
def import_teachable_machine(model_h5, labels_txt, out_dir) -> Run:
    """Turn a Teachable Machine export into a run folder (model.keras, labels.txt, run.json)
    that ``tlcore.runs.load_run`` opens and that predicts as Teachable Machine does."""
    model_h5, labels_txt = _recognise(Path(model_h5), Path(labels_txt))
    class_names = read_labels(labels_txt)
    export = _read_export(model_h5)
    model = _rebuild(export, len(class_names))
    out = claim_given_folder(out_dir)  # only once the export is known to be good: nothing half-made
    spec = get_backbone(export.backbone)
    record = RunRecord(
        name=f"Teachable Machine: {' / '.join(class_names)}",
        backbone=spec.name, backbone_title=spec.title, weights="teachable-machine",
        weights_source="Teachable Machine export", input_size=export.input_size, classes=tuple(class_names),
        imported=True, source=f"Teachable Machine export ({Path(model_h5).name}, Keras {export.keras_version or 'unknown'})",
        dataset=DatasetInfo(name="Teachable Machine (pictures not included)"),
        extra={"head": _head_words(export)},
    )
    write_run_folder(out, record, model.save)
    return Run(out, record, model)


def find_export(folder) -> tuple[Path | None, Path | None]:
    """(keras_model.h5, labels.txt) found anywhere in ``folder`` (an unpacked download), each
    the best-named, shallowest candidate, or None where there is none."""
    folder = Path(folder)
    models = sorted(folder.rglob("*.h5"), key=lambda p: (p.name != "keras_model.h5", len(p.parts), str(p)))
    labels = sorted(folder.rglob("*.txt"), key=lambda p: (p.name != "labels.txt", len(p.parts), str(p)))
    return (models[0] if models else None), (labels[0] if labels else None)


def _recognise(model_h5: Path, labels_txt: Path) -> tuple[Path, Path]:
    """The (model, labels) pair, told apart by what the files hold: swapped arguments are fine."""
    def is_hdf5(path: Path) -> bool:
        try:
            with open(path, "rb") as file:
                return file.read(8) == _HDF5_SIGNATURE
        except OSError:
            return False

    if is_hdf5(labels_txt) and not is_hdf5(model_h5):
        return labels_txt, model_h5
    return model_h5, labels_txt


def teachable_machine_backbone_weights(model_h5, out_weights_path) -> Path:
    """Save the export's MobileNetV2 part as a Keras 3 weights file, to start new training
    from what Teachable Machine's network knows. It loads with
    ``keras.applications.MobileNetV2(alpha=0.35, include_top=False, weights=PATH, ...)``
    (any input size) or as ``--weights PATH`` for the mobilenet_v2_035 backbone."""
    out = Path(out_weights_path)
    if not out.name.endswith(".weights.h5"):
        raise ValueError(f"The weights file name must end in .weights.h5 (Keras's format); got {out.name}.")
    backbone = _backbone(_read_export(model_h5))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(".partial-" + out.name)
    try:
        backbone.save_weights(partial)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out
