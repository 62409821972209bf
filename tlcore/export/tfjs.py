"""Export a run to TensorFlow.js, in Google Teachable Machine's layout, and the runtime to run it.

    folder/model.json     tfjs-layers topology (Keras 2 style layer configs) + weights manifest
    folder/weights.bin    every weight, float32, in the manifest's order
    folder/metadata.json  Teachable Machine's fields: labels, imageSize, tfjsVersion, packageName...

Why our own converter: the ``tensorflowjs`` Python package does not install beside TensorFlow
2.21 (it needs tensorflow-decision-forests, which pins TensorFlow 2.19 or older, and has no
Windows build). This module writes the layers our classifiers use; tests load the result with
TensorFlow.js's own loader in Chromium and compare its answers with Keras's.

**What goes in.** Teachable Machine's JavaScript library (``@teachablemachine/image``) and
ml5.js (and so p5.js sketches and the Scratch extensions built on them) feed a model the
picture's pixels as ``x / 127 - 1`` (about -1..1). Our models take 0..255 pixels and do their
own preprocessing inside, so the exported model starts with one fixed 1×1 convolution,
``teachable_machine_input``, that turns ``x / 127 - 1`` back into what the network expects
(for MobileNetV2: ``x / 127.5 - 1``; for VGG16 and ResNet: BGR minus ImageNet's means). Tools
that load a Teachable Machine model then give our model's answers (checked by hand with
``@teachablemachine/image`` 0.8.5 on TensorFlow.js 1.3.1, the versions of its snippet: within
5e-6 of ``Run.predict``); a page of our own feeds the same thing::

    const x = tf.browser.fromPixels(canvas).toFloat().div(127).sub(1).expandDims(0);
    const probabilities = model.predict(x);     // one per label, in metadata.json's order

Teachable Machine's library crops pictures to metadata.json's ``imageSize``; ml5.js always
feeds 224×224, so with ml5.js (and Scratch) use a run trained at 224 pixels.

**Which networks.** MobileNetV2 (1.0 and 0.35), VGG16, ResNet50, ResNet101, ResNet50 V2,
InceptionV3 and the small CNN (``TFJS_BACKBONES``): their layers all exist in TensorFlow.js.
EfficientNet B0 / V2 B0 (a Normalization layer and per-channel rescaling TensorFlow.js lacks)
and ConvNeXt (its LayerScale layer) cannot be exported this way.

**The runtime.** ``runtime_script()`` is TensorFlow.js 4.22.0 (``tf.min.js``, vendored from npm
in ``web_assets/``, 1.5 MB) and ``runtime_licence()`` its licence, to be shipped with it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

from ..i18n import msg
from .bundle import as_run

TFJS_VERSION = "4.22.0"
MODEL_JSON, WEIGHTS_BIN, METADATA_JSON = "model.json", "weights.bin", "metadata.json"
INPUT_LAYER = "teachable_machine_input"  # the 1×1 convolution from x / 127 - 1 to the network's input
INPUT_WORDS = "pixel / 127 - 1"  # what Teachable Machine's library and ml5.js feed a model
TM_PACKAGE, TM_PACKAGE_VERSION = "@teachablemachine/image", "0.8.5"  # whose metadata.json we mirror
TFJS_BACKBONES = ("mobilenet_v2", "mobilenet_v2_035", "vgg16", "resnet50", "resnet101", "resnet50v2",
                  "inception_v3", "small_cnn")
_ASSETS = Path(__file__).with_name("web_assets")
_ACTIVATIONS = {"linear": "linear", "relu": "relu", "relu6": "relu6", "softmax": "softmax", "sigmoid": "sigmoid",
                "tanh": "tanh", "silu": "swish", "swish": "swish", "elu": "elu", "selu": "selu",
                "softplus": "softplus", "softsign": "softsign"}


class TfjsExportError(ValueError):
    """The model cannot be written for TensorFlow.js; the message says why in plain words."""


# -- the runtime ---------------------------------------------------------------------------------
def runtime_script() -> str:
    """TensorFlow.js itself (tf.min.js, version ``TFJS_VERSION``), to put in a page as it is."""
    return (_ASSETS / "tf.min.js").read_text(encoding="utf-8")


def runtime_licence() -> str:
    """The licence texts that must travel with ``runtime_script()``."""
    return (_ASSETS / "LICENSE-tfjs.txt").read_text(encoding="utf-8")


# -- which models can go ---------------------------------------------------------------------------
def tfjs_problem(run) -> str | None:
    """Why ``run`` cannot be exported to TensorFlow.js, in one sentence, or None when it can."""
    from ..backbones.registry import BACKBONES

    backbone = run.record.backbone
    if backbone not in TFJS_BACKBONES:
        able = ", ".join(BACKBONES[name].short_title for name in TFJS_BACKBONES if name in BACKBONES)
        if backbone in BACKBONES:
            return msg("This model is built on {network}, which cannot be written for TensorFlow.js here; "
                       "these networks can: {able}.", network=BACKBONES[backbone].title, able=able)
        return msg("This model is built on an unknown network, which cannot be written for TensorFlow.js here; "
                   "these networks can: {able}.", able=able)
    return None


# -- Keras 3 layers as tfjs-layers configs -------------------------------------------------------
def _pair(value) -> list[int]:
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)] * 2


def _activation(name, layer) -> str:
    name = name if isinstance(name, str) else getattr(name, "__name__", str(name))
    if name not in _ACTIVATIONS:
        raise TfjsExportError(f"The layer {layer.name} uses the activation {name!r}, which TensorFlow.js lacks.")
    return _ACTIVATIONS[name]


def _variables(layer) -> dict[str, np.ndarray]:
    return {variable.path.split("/")[-1]: np.asarray(variable.numpy(), dtype="<f4") for variable in layer.weights}


def _convolution(layer, c: dict) -> tuple[dict, list]:
    if _pair(c.get("dilation_rate", 1)) != [1, 1] or c.get("groups", 1) != 1:
        raise TfjsExportError(f"The layer {layer.name} is a dilated or grouped convolution, which is not exported.")
    config = {"kernel_size": _pair(c["kernel_size"]), "strides": _pair(c["strides"]), "padding": c["padding"],
              "data_format": "channels_last", "dilation_rate": [1, 1],
              "activation": _activation(c["activation"], layer), "use_bias": bool(c["use_bias"])}
    values = _variables(layer)
    if type(layer).__name__ == "DepthwiseConv2D":
        config["depth_multiplier"] = int(c["depth_multiplier"])
        weights = [("depthwise_kernel", values["kernel"])]
    else:
        config["filters"] = int(c["filters"])
        weights = [("kernel", values["kernel"])]
    return config, weights + ([("bias", values["bias"])] if c["use_bias"] else [])


def _batch_normalization(layer, c: dict) -> tuple[dict, list]:
    if c["axis"] not in (-1, 3, [3], [-1]):
        raise TfjsExportError(f"The layer {layer.name} normalises another axis than the channels.")
    values = _variables(layer)
    names = (["gamma"] if c["scale"] else []) + (["beta"] if c["center"] else []) + ["moving_mean", "moving_variance"]
    config = {"axis": -1, "momentum": float(c["momentum"]), "epsilon": float(c["epsilon"]),
              "center": bool(c["center"]), "scale": bool(c["scale"])}
    return config, [(name, values[name]) for name in names]


def _relu(layer, c: dict) -> tuple[dict, list]:
    if c.get("negative_slope") or c.get("threshold"):
        raise TfjsExportError(f"The layer {layer.name} is a leaky or shifted ReLU, which is not exported.")
    return {"max_value": None if c.get("max_value") is None else float(c["max_value"])}, []


def _pooling(layer, c: dict) -> tuple[dict, list]:
    return {"pool_size": _pair(c["pool_size"]), "strides": _pair(c["strides"] or c["pool_size"]),
            "padding": c["padding"], "data_format": "channels_last"}, []


def _global_pooling(layer, c: dict) -> tuple[dict, list]:
    if c.get("keepdims"):
        raise TfjsExportError(f"The layer {layer.name} keeps its pooled dimensions, which is not exported.")
    return {"data_format": "channels_last"}, []


def _padding(layer, c: dict) -> tuple[dict, list]:
    padding = c["padding"]
    rows, columns = (padding, padding) if isinstance(padding, int) else padding
    return {"padding": [_pair(rows), _pair(columns)], "data_format": "channels_last"}, []


def _dense(layer, c: dict) -> tuple[dict, list]:
    values = _variables(layer)
    weights = [("kernel", values["kernel"])] + ([("bias", values["bias"])] if c["use_bias"] else [])
    return {"units": int(c["units"]), "activation": _activation(c["activation"], layer),
            "use_bias": bool(c["use_bias"])}, weights


def _concatenate(layer, c: dict) -> tuple[dict, list]:
    if c["axis"] not in (-1, 3):
        raise TfjsExportError(f"The layer {layer.name} joins along another axis than the channels.")
    return {"axis": -1}, []


_WRITERS = {
    "Conv2D": _convolution, "DepthwiseConv2D": _convolution, "BatchNormalization": _batch_normalization,
    "ReLU": _relu, "MaxPooling2D": _pooling, "AveragePooling2D": _pooling,
    "GlobalAveragePooling2D": _global_pooling, "ZeroPadding2D": _padding, "Dense": _dense,
    "Concatenate": _concatenate,
    "Activation": lambda layer, c: ({"activation": _activation(c["activation"], layer)}, []),
    "Dropout": lambda layer, c: ({"rate": float(c["rate"])}, []),
    "Add": lambda layer, c: ({}, []), "Multiply": lambda layer, c: ({}, []),
}


def _layer_entry(layer, inputs: list[str]) -> tuple[dict, list]:
    """(tfjs-layers layer config, [(weight name, array)]) of one Keras layer fed by ``inputs``."""
    kind = type(layer).__name__
    if kind not in _WRITERS:
        raise TfjsExportError(f"The layer {layer.name} ({kind}) has no TensorFlow.js counterpart here.")
    config, weights = _WRITERS[kind](layer, layer.get_config())
    config = {"name": layer.name, "trainable": True, "dtype": "float32", **config}
    entry = {"class_name": kind, "name": layer.name, "config": config,
             "inbound_nodes": [[[name, 0, 0, {}] for name in inputs]]}
    return entry, [(f"{layer.name}/{name}", array) for name, array in weights]


# -- the model's parts ---------------------------------------------------------------------------
def _sources(entry: dict) -> list[str]:
    """The layer names feeding a Keras 3 functional config entry (its only call)."""
    nodes = entry.get("inbound_nodes") or []
    if len(nodes) > 1:
        raise TfjsExportError(f"The layer {entry['name']} is used twice, which is not exported.")
    found: list[str] = []

    def walk(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            found.append(value["config"]["keras_history"][0])
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(nodes[0]["args"] if nodes else [])
    return found


def _parts(model):
    """(preprocessing layers, backbone, head layers) of a classifier built by tlcore (or imported
    into its shape): pixels → [augment_*] → [preprocess_*] → backbone → pool → dropout/dense."""
    from .._tf import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    nested = [i for i, layer in enumerate(layers) if isinstance(layer, keras.Model)]
    if len(nested) != 1 or len(model.inputs) != 1 or len(model.outputs) != 1:
        raise TfjsExportError(msg("This model is not shaped as this app builds them (one input, one output, "
                              "the network as one part), so it cannot be written for TensorFlow.js."))
    before, backbone, head = layers[:nested[0]], layers[nested[0]], layers[nested[0] + 1:]
    preprocessing = [layer for layer in before if not layer.name.startswith("augment_")]
    if any(not layer.name.startswith("preprocess_") for layer in preprocessing):
        raise TfjsExportError(msg("This model has layers before its network that are neither augmentation nor "
                              "preprocessing, so it cannot be written for TensorFlow.js."))
    if not head or type(head[0]).__name__ != "GlobalAveragePooling2D" or \
            any(type(layer).__name__ not in ("Dense", "Dropout") for layer in head[1:]):
        raise TfjsExportError(msg("This model's head is not average pooling then Dense layers, "
                              "so it cannot be written for TensorFlow.js."))
    return preprocessing, backbone, head


def preprocessing_affine(layers) -> tuple[np.ndarray, np.ndarray]:
    """(M, b) with ``network input = M @ rgb + b`` for a chain of Rescaling and 1×1 Conv2D
    preprocessing layers (M is 3×3, b has 3 values), computed in float64."""
    matrix, offset = np.eye(3), np.zeros(3)
    for layer in layers:
        kind, config = type(layer).__name__, layer.get_config()
        if kind == "Rescaling":
            scale = np.broadcast_to(np.asarray(config["scale"], "float64"), (3,))
            step, shift = np.diag(scale), np.broadcast_to(np.asarray(config["offset"], "float64"), (3,))
        elif kind == "Conv2D" and _pair(config["kernel_size"]) == [1, 1] and config["filters"] == 3:
            values = _variables(layer)
            step = values["kernel"][0, 0].astype("float64").T
            shift = values["bias"].astype("float64") if config["use_bias"] else np.zeros(3)
        else:
            raise TfjsExportError(f"The preprocessing layer {layer.name} ({kind}) cannot be written for TensorFlow.js.")
        matrix, offset = step @ matrix, step @ offset + shift
    return matrix, offset


def input_convolution(matrix: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 1×1 convolution (kernel (1, 1, 3, 3), bias (3,)) taking Teachable Machine's input
    y = x / 127 - 1 to ``M @ x + b``: x = 127 y + 127, so the kernel is 127 M and the bias
    127 M·1 + b."""
    kernel = (127.0 * matrix).T[None, None]
    bias = 127.0 * matrix.sum(axis=1) + offset
    return kernel.astype("<f4"), bias.astype("<f4")


# -- model.json and weights.bin ------------------------------------------------------------------
def _input_entries(size: int, preprocessing) -> tuple[list[dict], list]:
    """The input layer (what Teachable Machine's tools feed) and the 1×1 convolution after it."""
    kernel, bias = input_convolution(*preprocessing_affine(preprocessing))
    pixels = {"class_name": "InputLayer", "name": "pixels", "inbound_nodes": [],
              "config": {"batch_input_shape": [None, size, size, 3], "dtype": "float32", "sparse": False,
                         "name": "pixels"}}
    convolution = {"class_name": "Conv2D", "name": INPUT_LAYER, "inbound_nodes": [[["pixels", 0, 0, {}]]],
                   "config": {"name": INPUT_LAYER, "trainable": False, "dtype": "float32", "filters": 3,
                              "kernel_size": [1, 1], "strides": [1, 1], "padding": "valid",
                              "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear",
                              "use_bias": True}}
    return [pixels, convolution], [(f"{INPUT_LAYER}/kernel", kernel), (f"{INPUT_LAYER}/bias", bias)]


def _first_name(layers_field) -> str:
    """The layer named by a Keras 3 ``input_layers``/``output_layers`` field (one tensor)."""
    item = layers_field[0] if isinstance(layers_field[0], (list, tuple)) else layers_field
    return str(item[0])


def _topology(model, size: int) -> tuple[dict, list]:
    """(modelTopology, [(weight name, array)]): one flat functional model, the backbone inlined."""
    preprocessing, backbone, head = _parts(model)
    entries, weights = _input_entries(size, preprocessing)
    inner = backbone.get_config()
    alias = {_first_name(inner["input_layers"]): INPUT_LAYER, backbone.name: _first_name(inner["output_layers"])}
    outer = {entry["name"]: entry for entry in model.get_config()["layers"]}
    for entry, owner in [(e, backbone) for e in inner["layers"]] + [(outer[layer.name], model) for layer in head]:
        if entry["class_name"] == "InputLayer":
            continue
        layer_entry, layer_weights = _layer_entry(owner.get_layer(entry["name"]),
                                                  [alias.get(name, name) for name in _sources(entry)])
        entries.append(layer_entry)
        weights += layer_weights
    names = [entry["name"] for entry in entries]
    if len(set(names)) != len(names):
        raise TfjsExportError(msg("Two layers of this model share a name, which TensorFlow.js does not allow."))
    config = {"name": model.name, "layers": entries, "input_layers": [["pixels", 0, 0]],
              "output_layers": [[names[-1], 0, 0]]}
    return {"class_name": "Model", "config": config, "keras_version": f"tfjs-layers {TFJS_VERSION}",
            "backend": "tensor_flow.js"}, weights


def tfjs_model(run) -> tuple[dict, bytes]:
    """``run`` (a Run or run folder) as TensorFlow.js's two parts: the model.json content (a
    dict; its manifest names one weights file, ``weights.bin``) and that file's bytes. For a
    page that inlines them: ``tf.io.fromMemory(modelJson.modelTopology, manifest weights,
    buffer)``, or write them as files with ``export_tfjs``."""
    run = as_run(run)
    problem = tfjs_problem(run)
    if problem:
        raise TfjsExportError(problem)
    topology, weights = _topology(run.keras_model, run.input_size)
    manifest = [{"name": name, "shape": [int(d) for d in array.shape], "dtype": "float32"} for name, array in weights]
    data = b"".join(np.ascontiguousarray(array, dtype="<f4").tobytes() for _, array in weights)
    model_json = {"format": "layers-model", "generatedBy": "Transfer Learning Studio",
                  "convertedBy": f"tlcore.export.tfjs (TensorFlow.js {TFJS_VERSION} layers format)",
                  "modelTopology": topology, "weightsManifest": [{"paths": [WEIGHTS_BIN], "weights": manifest}]}
    return model_json, data


def tfjs_metadata(run) -> dict:
    """metadata.json as Teachable Machine writes it (labels, imageSize...), plus what this app
    needs to import the model back (``userMetadata.tlcore``) and the run's behaviours, if any
    (``userMetadata.tlcore.behaviours``: their pictures and recordings are files in behaviours/)."""
    run = as_run(run)
    metadata = {
        "tfjsVersion": TFJS_VERSION, "packageVersion": TM_PACKAGE_VERSION, "packageName": TM_PACKAGE,
        "timeStamp": run.record.created, "modelName": run.name, "labels": list(run.class_names),
        "imageSize": int(run.input_size),
        "userMetadata": {"madeWith": "Transfer Learning Studio", "tlcore": {
            "format": 1, "backbone": run.record.backbone, "input": INPUT_WORDS, "inputLayer": INPUT_LAYER}},
    }
    behaviours, not_sure = _behaviours(run)
    if behaviours:
        metadata["userMetadata"]["tlcore"].update(behaviours=behaviours, notSure=not_sure)
    return metadata


def _behaviours(run) -> tuple[list[dict], float | None]:
    """The run's behaviours for metadata.json (media as paths beside it), and its "not sure" line."""
    from ..runs.behaviours import MEDIA_DIR, read_behaviours

    if run.path is None:
        return [], None
    kept = read_behaviours(run.path)
    listed = [{**b.to_dict(), "picture": f"{MEDIA_DIR}/{b.picture}" if b.picture else "",
               "recording": f"{MEDIA_DIR}/{b.recording}" if b.recording else ""} for b in kept.acting(run.class_names)]
    return listed, kept.not_sure


def _files(run) -> dict[str, bytes]:
    """Every file of the export by its path in the folder (behaviours' media in behaviours/)."""
    from ..runs.behaviours import media_bytes

    model_json, weights = tfjs_model(run)
    text = lambda value: json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8")  # noqa: E731
    metadata = tfjs_metadata(run)
    files = {MODEL_JSON: text(model_json), WEIGHTS_BIN: weights, METADATA_JSON: text(metadata)}
    for behaviour in metadata["userMetadata"]["tlcore"].get("behaviours", []):
        for path in (behaviour["picture"], behaviour["recording"]):
            data = media_bytes(run.path, path.rsplit("/", 1)[-1]) if path else None
            if data is not None:
                files[path] = data
    return files


def export_tfjs(run, out_dir) -> Path:
    """Write model.json, weights.bin and metadata.json into ``out_dir`` (new or empty); returns it."""
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} already exists and is not an empty folder; choose another --out.")
    files = _files(run)  # everything checked before anything is written
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}-", suffix=".partial", dir=out.parent))
    try:
        for name, data in files.items():
            (partial / name).parent.mkdir(exist_ok=True)  # behaviours/ for a behaviour's picture or sound
            (partial / name).write_bytes(data)
        if out.exists():
            out.rmdir()
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return out


def export_tfjs_zip(run, out_zip) -> Path:
    """The three files in one zip, as Teachable Machine's "Download my model" gives them."""
    out = Path(out_zip)
    files = _files(run)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}-", suffix=".partial")
    os.close(handle)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in files.items():
                entry = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
                entry.external_attr = 0o644 << 16  # unzip gives the files these permissions
                archive.writestr(entry, data, compress_type=zipfile.ZIP_DEFLATED)
        os.replace(partial, out)
    finally:
        Path(partial).unlink(missing_ok=True)
    return out
