"""Import a TensorFlow.js image model: Google Teachable Machine's default export, or our own.

    import_tfjs(source, out_dir) -> Run

``source`` is the export as a user has it: its folder, the zip Teachable Machine downloads, or
its files (``model.json``, ``metadata.json``, the ``weights.bin`` shards) given together.

Like the Keras import (``teachable_machine.py``), nothing in the files is run or deserialized:
the network is built here from the registry and the weights are copied into it **by name**
(``Conv1/kernel``), whatever order the manifest lists them in and whatever session counter
Teachable Machine put in the head's layer names (``dense_Dense1``, ``dense_Dense17``). The
files are untrusted: sizes are read from the manifest and checked against the shards before
anything is allocated, shapes are checked against the network, and a file that names weights
that are not there, or shards that are missing or short, is refused in one sentence.

Two kinds are recognised:
- **Teachable Machine** (``packageName`` "@teachablemachine/image"): MobileNetV2 (0.35 or 1.0)
  cut at ``out_relu``, average pooling, Dense layers. Its input is Teachable Machine's
  x / 127.5 - 1 (as its Keras export), inside the model; labels and image size (224 when an
  older export has none) come from ``metadata.json``.
- **Ours** (``tlcore.export.tfjs``; ``userMetadata.tlcore`` names the backbone): any backbone of
  ``TFJS_BACKBONES``. Its first layer turns Teachable Machine's x / 127 - 1 into the network's
  input; the import puts the backbone's own preprocessing back, so the run equals the one
  exported.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.sources import extract_zip, name_problem
from ..runs import DatasetInfo, Run, RunRecord, claim_given_folder, write_run_folder
from .teachable_machine import TeachableMachineError, _assign

MODEL_JSON, METADATA_JSON = "model.json", "metadata.json"
MAX_MODEL_JSON_BYTES = 20_000_000  # ResNet101's topology is about 1 MB
MAX_METADATA_BYTES = 1_000_000
MAX_WEIGHTS_BYTES = 800_000_000  # VGG16 is 60 MB, ResNet101 170 MB
_MAX_ZIP_BYTES = MAX_WEIGHTS_BYTES + MAX_MODEL_JSON_BYTES + MAX_METADATA_BYTES
_DTYPES = {"float32": "<f4", "int32": "<i4", "uint8": "u1", "uint16": "<u2", "float16": "<f2"}
_HEAD_ACTIVATIONS = ("linear", "relu", "relu6", "softmax", "sigmoid", "tanh")
_LAYER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
_REDOWNLOAD = "Download the model from Teachable Machine again (Export Model → Tensorflow.js → Download my model)."


@dataclass
class TfjsExport:
    """What was read from an export: checked, with its weights as arrays by (layer, variable)."""

    labels: list[str]
    input_size: int
    backbone: str  # registry name
    ours: bool  # made by tlcore.export.tfjs (else Teachable Machine)
    head: list[dict]  # Dense / Dropout configs after the pooling, in order
    weights: dict[tuple[str, str], np.ndarray]
    metadata: dict = field(default_factory=dict)
    input_layer: str | None = None  # ours: the layer taking x / 127 - 1 to the network's input
    file_name: str = MODEL_JSON  # the model.json as the user named it
    backbone_layers: list[tuple[str, str]] = field(default_factory=list)  # (class, name) before the pooling


# -- finding the files --------------------------------------------------------------------------
def _read_json(path: Path, limit: int, what: str):
    if path.stat().st_size > limit:
        raise TeachableMachineError(f"{path.name} is {path.stat().st_size / 1e6:.0f} MB, too big for {what}.")
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise TeachableMachineError(f"{path.name} is damaged: it is not readable JSON. {_REDOWNLOAD}") from None


def _looks_like(path: Path, key: str) -> bool:
    """Whether a small .json file holds ``key`` at its top (model.json: modelTopology; metadata: labels)."""
    try:
        if path.stat().st_size > MAX_MODEL_JSON_BYTES:
            return False
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and key in data


def find_tfjs_export(paths) -> tuple[Path | None, Path | None, list[Path]]:
    """(model.json, metadata.json, other files) among ``paths`` (files, or folders searched
    below): by name first, else by what a .json holds (a browser renames a second download
    "model (1).json"). The shallowest, best-named candidates win."""
    files: list[Path] = []
    for path in map(Path, paths):
        found = sorted(path.rglob("*"), key=lambda p: (len(p.parts), str(p))) if path.is_dir() else [path]
        files += [p for p in found if p.is_file()]
    jsons = [p for p in files if p.suffix.lower() == ".json"]
    model = next((p for p in jsons if p.name == MODEL_JSON), None) or \
        next((p for p in jsons if _looks_like(p, "modelTopology")), None)
    if model is not None:  # the metadata beside the model, if there is one there
        files.sort(key=lambda p: p.parent != model.parent)
        jsons.sort(key=lambda p: p.parent != model.parent)
    metadata = next((p for p in jsons if p.name == METADATA_JSON), None) or \
        next((p for p in jsons if p != model and _looks_like(p, "labels")), None)
    return model, metadata, [p for p in files if p not in (model, metadata)]


def is_tfjs_export(paths) -> bool:
    """Whether ``paths`` (files or folders) hold a TensorFlow.js model.json."""
    return find_tfjs_export(paths)[0] is not None


# -- reading the manifest and the shards --------------------------------------------------------
@dataclass
class _Entry:
    name: str
    shape: tuple[int, ...]
    stored: str  # numpy dtype of the bytes
    scale: float = 1.0
    minimum: float = 0.0

    @property
    def size(self) -> int:
        return math.prod(self.shape) * np.dtype(self.stored).itemsize  # Python ints: no overflow


def _entry(item) -> _Entry:
    """One manifest entry, checked (no allocation yet)."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not isinstance(item.get("shape"), list):
        raise TeachableMachineError(f"model.json's list of weights is damaged. {_REDOWNLOAD}")
    shape = item["shape"]
    if len(shape) > 6 or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 1 << 24 for d in shape):
        raise TeachableMachineError(f"model.json gives the weights {item['name'][:80]!r} an impossible shape "
                                    f"{shape!r}.")
    quantization = item.get("quantization") if isinstance(item.get("quantization"), dict) else {}
    dtype = quantization.get("dtype", item.get("dtype", "float32"))
    if dtype not in _DTYPES or (quantization and dtype not in ("uint8", "uint16", "float16")):
        raise TeachableMachineError(f"model.json stores the weights {item['name'][:80]!r} as {str(dtype)[:20]!r}, "
                                    "which this importer does not read.")
    scale, minimum = quantization.get("scale", 1.0), quantization.get("min", 0.0)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (scale, minimum)):
        raise TeachableMachineError(f"model.json's quantization of {item['name'][:80]!r} is damaged.")
    return _Entry(item["name"], tuple(shape), _DTYPES[dtype], float(scale), float(minimum))


def _shard(name, model_dir: Path, others: list[Path], fallback: Path | None) -> Path:
    """The shard file called ``name`` in the manifest, among the given files; ``fallback`` (the
    one .bin file given, for a one-shard export whose file a browser renamed) if it is not there."""
    plain = name[2:] if isinstance(name, str) and name.startswith("./") else name
    problem = name_problem(plain) if isinstance(plain, str) else "It is not a name."
    if problem:
        raise TeachableMachineError(f"model.json names a weights file that is not a plain file name. {problem}")
    candidates = sorted((p for p in others if p.name == plain), key=lambda p: p.parent != model_dir)
    if not candidates and fallback is not None:
        return fallback
    if not candidates:
        raise TeachableMachineError(f"The weights file {plain} is missing: choose it together with model.json "
                                    f"and metadata.json (or the zip Teachable Machine gave you).")
    return candidates[0]


def _check_held(shards: list[Path], entries: list[_Entry]) -> None:
    """The group's shards hold every byte the manifest lists (checked before anything is read)."""
    needed = sum(entry.size for entry in entries)
    held = sum(path.stat().st_size for path in shards)
    if held < needed:
        one = len(shards) == 1
        raise TeachableMachineError(f"{', '.join(path.name for path in shards)} {'is' if one else 'are'} cut short: "
                                    f"model.json lists {needed:,} bytes of weights but {'it holds' if one else 'they hold'} "
                                    f"{held:,}. {_REDOWNLOAD}")


def _group_bytes(shards: list[Path], entries: list[_Entry]) -> bytearray:
    """The group's shards, concatenated, as far as the manifest needs."""
    needed, data = sum(entry.size for entry in entries), bytearray()
    for path in shards:
        with open(path, "rb") as file:
            data += file.read(needed - len(data))
    return data


def _read_weights(model_json: dict, model_path: Path, others: list[Path]) -> dict[tuple[str, str], np.ndarray]:
    """Every weight array by (layer, variable) name, as the manifest names it: read by name, not order."""
    groups = model_json.get("weightsManifest")
    if not isinstance(groups, list) or not groups or not all(isinstance(g, dict) for g in groups):
        raise TeachableMachineError(f"{model_path.name} lists no weights (it has no weightsManifest). {_REDOWNLOAD}")
    bins = [p for p in others if p.suffix.lower() == ".bin"]
    one_shard = sum(len(g.get("paths") or []) for g in groups) == 1 and len(bins) == 1
    plan, total = [], 0
    for group in groups:
        paths, items = group.get("paths"), group.get("weights")
        if not isinstance(paths, list) or not paths or not isinstance(items, list):
            raise TeachableMachineError(f"{model_path.name}'s list of weights files is damaged. {_REDOWNLOAD}")
        entries = [_entry(item) for item in items]
        total += sum(entry.size for entry in entries)
        if total > MAX_WEIGHTS_BYTES:
            raise TeachableMachineError(f"{model_path.name} lists {total / 1e6:,.0f} MB of weights; "
                                        f"at most {MAX_WEIGHTS_BYTES / 1e6:,.0f} MB can be imported.")
        shards = [_shard(name, model_path.parent, others, bins[0] if one_shard else None) for name in paths]
        _check_held(shards, entries)
        plan.append((shards, entries))
    weights: dict[tuple[str, str], np.ndarray] = {}
    for shards, entries in plan:
        data, offset = _group_bytes(shards, entries), 0
        for entry in entries:
            count = entry.size // np.dtype(entry.stored).itemsize
            array = np.frombuffer(data, entry.stored, count=count, offset=offset)
            offset += entry.size
            values = array.astype("float32") * entry.scale + entry.minimum if entry.stored in ("u1", "<u2") else array
            parts = entry.name.split("/")
            key = (parts[-2] if len(parts) > 1 else "", parts[-1].split(":")[0])
            if key in weights:
                raise TeachableMachineError(f"{model_path.name} lists the weights {'/'.join(key)} twice.")
            weights[key] = np.asarray(values, dtype="float32").reshape(entry.shape)
    return weights


# -- reading the topology -----------------------------------------------------------------------
def _leaves(node, depth: int = 0) -> list[dict]:
    """Every layer config ({"class_name", "config"}) in order, nested Sequential and functional
    models flattened. Anything not shaped as a layer list is damaged."""
    if depth > 8 or not isinstance(node, dict) or not isinstance(node.get("class_name"), str):
        raise TeachableMachineError(f"model.json's description of the network is damaged. {_REDOWNLOAD}")
    config = node.get("config")
    if node["class_name"] in ("Sequential", "Model", "Functional"):
        layers = config.get("layers") if isinstance(config, dict) else config
        if not isinstance(layers, list):
            raise TeachableMachineError(f"model.json's description of the network is damaged. {_REDOWNLOAD}")
        return [leaf for layer in layers for leaf in _leaves(layer, depth + 1)]
    if not isinstance(config, dict):
        raise TeachableMachineError(f"model.json's description of the network is damaged. {_REDOWNLOAD}")
    return [node]


def _topology_size(leaves: list[dict]) -> int | None:
    """The picture size of the first layer given a 4-D input shape (S, S, 3)."""
    for leaf in leaves:
        shape = leaf["config"].get("batch_input_shape") or leaf["config"].get("batch_shape")
        if isinstance(shape, list) and len(shape) == 4:
            if shape[1] != shape[2] or shape[3] != 3 or not isinstance(shape[1], int):
                raise TeachableMachineError("model.json's network does not take square RGB pictures of a fixed size.")
            return shape[1]
    return None


def _head_part(leaf: dict) -> dict:
    """One Dense or Dropout layer of the head, its few settings checked; anything else is refused."""
    kind, config = leaf["class_name"], leaf["config"]
    rate, units = config.get("rate", 0), config.get("units")
    activation = config.get("activation", "linear")
    if kind == "Dropout" and isinstance(rate, (int, float)) and 0 <= rate < 1:
        return {"class_name": kind, "name": config.get("name"), "rate": float(rate)}
    if kind == "Dense" and isinstance(units, int) and 1 <= units <= 100_000 and activation in _HEAD_ACTIVATIONS:
        return {"class_name": kind, "name": config.get("name"), "units": units, "activation": activation,
                "use_bias": config.get("use_bias", True) is not False}
    raise TeachableMachineError(f"model.json's head has a {str(kind)[:40]} layer that this app cannot rebuild "
                                "(only Dense and Dropout).")


def _head(leaves: list[dict]) -> list[dict]:
    """The Dense/Dropout layers after the last average pooling, checked."""
    pools = [i for i, leaf in enumerate(leaves) if leaf["class_name"] == "GlobalAveragePooling2D"]
    if not pools:
        raise TeachableMachineError("model.json's network does not pool its features by averaging, as Teachable "
                                    "Machine's do; it is not an image model this app can import.")
    head = [_head_part(leaf) for leaf in leaves[pools[-1] + 1:]]
    if not head or head[-1]["class_name"] != "Dense":
        raise TeachableMachineError("model.json's network does not end with a Dense layer.")
    return head


def _labels(metadata: dict, name: str) -> list[str]:
    labels = metadata.get("labels")
    if not isinstance(labels, list) or not all(isinstance(label, str) and label.strip() for label in labels):
        raise TeachableMachineError(f"{name} holds no class names (its labels list is missing or damaged).")
    labels = [label.strip()[:200] for label in labels]
    if len(labels) < 2:
        raise TeachableMachineError(f"{name} names {len(labels)} class(es); a model needs at least 2.")
    if len(set(labels)) != len(labels):
        raise TeachableMachineError(f"{name} names a class twice: {', '.join(labels)}.")
    return labels


def _image_size(metadata: dict, leaves: list[dict]) -> int:
    """metadata.json's imageSize (224 when an older export has none), checked against the network."""
    size = metadata.get("imageSize", 224)
    if not isinstance(size, int) or isinstance(size, bool) or not 32 <= size <= 1024:
        raise TeachableMachineError(f"metadata.json gives an image size of {str(size)[:20]}, which is not a "
                                    "picture size.")
    network = _topology_size(leaves)
    if network is not None and network != size:
        raise TeachableMachineError(f"metadata.json says pictures of {size} pixels but model.json's network "
                                    f"takes {network}; they are not from the same export.")
    return size


def _backbone_name(metadata: dict, leaves: list[dict], weights: dict) -> tuple[str, bool]:
    """(registry name, made by us) from metadata.json and the layers."""
    from ..backbones.registry import BACKBONES
    from ..export.tfjs import INPUT_LAYER, TFJS_BACKBONES

    names = {leaf["config"].get("name") for leaf in leaves}
    user = metadata.get("userMetadata")
    ours = user.get("tlcore") if isinstance(user, dict) else None
    if isinstance(ours, dict) and INPUT_LAYER in names:
        backbone = ours.get("backbone")
        if backbone not in TFJS_BACKBONES:
            raise TeachableMachineError(f"metadata.json names the network {str(backbone)[:40]!r}, which this app "
                                        "cannot rebuild from TensorFlow.js.")
        return backbone, True
    if "conv_pw_13_relu" in names:
        raise TeachableMachineError("This model is built on MobileNet V1 (an older Teachable Machine), which this app "
                                    "cannot rebuild; train it again in Teachable Machine today to get MobileNetV2.")
    conv_1 = weights.get(("Conv_1", "kernel"))
    widths = {112: "mobilenet_v2_035", 320: "mobilenet_v2"}
    if "out_relu" not in names or conv_1 is None or conv_1.ndim != 4 or int(conv_1.shape[2]) not in widths:
        raise TeachableMachineError("model.json's network is not a MobileNetV2 of a width this importer knows "
                                    "(0.35 or 1.0), as Teachable Machine's image models are.")
    return BACKBONES[widths[int(conv_1.shape[2])]].name, False


def read_tfjs_export(model_path, metadata_path, others) -> TfjsExport:
    """Read and check an export's files (see ``find_tfjs_export``); nothing is built yet."""
    model_path = Path(model_path)
    if metadata_path is None:
        raise TeachableMachineError("metadata.json is missing: it holds the class names. Choose it together "
                                    "with model.json and weights.bin (or the zip Teachable Machine gave you).")
    model_json = _read_json(model_path, MAX_MODEL_JSON_BYTES, "a model.json")
    metadata = _read_json(Path(metadata_path), MAX_METADATA_BYTES, "a metadata.json")
    if not isinstance(model_json, dict) or not isinstance(model_json.get("modelTopology"), dict):
        raise TeachableMachineError(f"{model_path.name} is not a TensorFlow.js model (it has no modelTopology). "
                                    f"{_REDOWNLOAD}")
    if not isinstance(metadata, dict):
        raise TeachableMachineError(f"{Path(metadata_path).name} is damaged: it holds no labels.")
    topology = model_json["modelTopology"]
    leaves = _leaves(topology.get("model_config", topology))
    labels, size, head = _labels(metadata, Path(metadata_path).name), _image_size(metadata, leaves), _head(leaves)
    if head[-1]["units"] != len(labels):
        raise TeachableMachineError(f"The model has {head[-1]['units']} outputs but metadata.json names "
                                    f"{len(labels)} classes; they are not from the same export.")
    weights = _read_weights(model_json, model_path, list(others))
    backbone, ours = _backbone_name(metadata, leaves, weights)
    from ..export.tfjs import INPUT_LAYER

    pool = max(i for i, leaf in enumerate(leaves) if leaf["class_name"] == "GlobalAveragePooling2D")
    layers = [(leaf["class_name"], str(leaf["config"].get("name"))) for leaf in leaves[:pool]]
    return TfjsExport(labels, size, backbone, ours, head, weights, metadata, INPUT_LAYER if ours else None,
                      model_path.name, layers)


# -- rebuilding in Keras 3 ----------------------------------------------------------------------
def _preprocessing(export: TfjsExport, spec) -> list:
    """The layers from 0..255 pixels to the network's input. Teachable Machine's: x / 127.5 - 1.
    Ours: the backbone's own, when the export's input layer matches it (it does unless the file
    was edited); else that layer's map itself, as one fixed 1×1 convolution."""
    from .._tf import keras
    from ..export.tfjs import preprocessing_affine
    from ..model.preprocessing import preprocessing_layers

    if not export.ours:
        return [keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess_scale")]
    kernel = export.weights.get((export.input_layer, "kernel"))
    bias = export.weights.get((export.input_layer, "bias"))
    if kernel is None or bias is None or kernel.shape != (1, 1, 3, 3) or bias.shape != (3,):
        raise TeachableMachineError(f"The export has no weights for its input layer {export.input_layer}.")
    matrix = kernel[0, 0].astype("float64").T / 127.0  # the layer computes 127 M y + 127 M·1 + b
    offset = bias.astype("float64") - 127.0 * matrix.sum(axis=1)
    layers = preprocessing_layers(spec.preprocessing)
    probe = keras.Input((8, 8, 3))
    for layer in layers:
        probe = layer(probe)  # builds them, so their weights can be read
    expected, shift = preprocessing_affine(layers)
    if np.allclose(matrix, expected, rtol=1e-5, atol=1e-7) and np.allclose(offset, shift, atol=1e-3):
        return layers
    return [keras.layers.Conv2D(3, 1, name="preprocess_affine", trainable=False,
                                kernel_initializer=keras.initializers.Constant(matrix.T[None, None]),
                                bias_initializer=keras.initializers.Constant(offset))]


_WEIGHTED = ("Conv2D", "DepthwiseConv2D", "BatchNormalization", "Dense")


def _filled_backbone(export: TfjsExport, spec):
    """The registry's backbone built here, each weighted layer given the export's weights. By
    name for Teachable Machine's MobileNetV2; for ours, the file's layers in order (some networks,
    InceptionV3, have layer names Keras numbers per session: conv2d_94), class checked."""
    from ..backbones.factory import create_backbone

    backbone = create_backbone(spec, export.input_size, "none")
    built = [layer for layer in backbone.layers if layer.weights]
    if not export.ours:
        for layer in built:
            _assign(layer, export.weights)
        return backbone
    listed = [(kind, name) for kind, name in export.backbone_layers
              if kind in _WEIGHTED and name != export.input_layer]
    if len(listed) != len(built) or any(kind != type(layer).__name__ for (kind, _), layer in zip(listed, built)):
        raise TeachableMachineError(f"model.json's network is not the {spec.title} its metadata.json names.")
    for (_, name), layer in zip(listed, built):
        _assign(layer, export.weights, owner=name)
    return backbone


def _head_layer(part: dict, index: int, last: bool, ours: bool, hidden: int):
    from .._tf import keras

    own = part.get("name") if ours and isinstance(part.get("name"), str) and _LAYER_NAME.match(part["name"]) else None
    if part["class_name"] == "Dropout":
        return keras.layers.Dropout(part["rate"], name=own or f"dropout_{index}")
    generated = "predictions" if last else ("hidden" if hidden == 1 else f"hidden_{hidden}")
    return keras.layers.Dense(part["units"], activation=part["activation"], use_bias=part["use_bias"],
                              name=own or generated)


def rebuild_tfjs(export: TfjsExport):
    """The Keras 3 classifier: pixels → preprocessing → backbone (built here, weights copied by
    name) → pool → head, named as tlcore names its models (Grad-CAM and the rest find their parts)."""
    from .._tf import keras
    from ..backbones.factory import create_backbone
    from ..backbones.registry import get_backbone

    spec = get_backbone(export.backbone)
    backbone = _filled_backbone(export, spec)
    inputs = keras.Input((export.input_size, export.input_size, 3), name="pixels")
    x = inputs
    for layer in _preprocessing(export, spec):
        x = layer(x)
    x = backbone(x, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    hidden = 0
    for index, part in enumerate(export.head):
        last = index == len(export.head) - 1
        hidden += part["class_name"] == "Dense" and not last
        layer = _head_layer(part, index, last, export.ours, hidden)
        x = layer(x)
        if part["class_name"] == "Dense":
            _assign(layer, export.weights, owner=part["name"] if isinstance(part["name"], str) else "")
    return keras.Model(inputs, x, name=f"{spec.name}_classifier")


def _head_words(export: TfjsExport) -> str:
    words = ["average pooling"]
    for part in export.head:
        if part["class_name"] == "Dropout":
            words.append(f"Dropout({part['rate']})")
        else:
            words.append(f"Dense({part['units']}, {part['activation']}{'' if part['use_bias'] else ', no bias'})")
    return " → ".join(words)


def _record(export: TfjsExport) -> RunRecord:
    from ..backbones.registry import get_backbone

    spec = get_backbone(export.backbone)
    version = str(export.metadata.get("tfjsVersion", "unknown"))[:20]
    common = dict(backbone=spec.name, backbone_title=spec.title, input_size=export.input_size,
                  classes=tuple(export.labels), imported=True, extra={"head": _head_words(export)})
    if export.ours:
        name = export.metadata.get("modelName")
        if not (isinstance(name, str) and name.strip()):
            name = f"Imported: {' / '.join(export.labels)}"
        name = name.strip()[:120]
        return RunRecord(name=name, weights="imported", weights_source="Imported model",
                         source=f"TensorFlow.js export of Transfer Learning Studio ({export.file_name})",
                         dataset=DatasetInfo(name="not included"), **common)
    return RunRecord(name=f"Teachable Machine: {' / '.join(export.labels)}", weights="teachable-machine",
                     weights_source="Teachable Machine export",
                     source=f"Teachable Machine export ({export.file_name}, TensorFlow.js {version})",
                     dataset=DatasetInfo(name="Teachable Machine (pictures not included)"), **common)


# -- public ---------------------------------------------------------------------------------------
def _unpacked(source, scratch: Path) -> list[Path]:
    """The export's files: a folder, a zip (unpacked safely into ``scratch``), or files."""
    if isinstance(source, (bytes, bytearray)) or hasattr(source, "read"):
        return [extract_zip(source, scratch / "zip", _MAX_ZIP_BYTES)]
    paths = [Path(p) for p in ([source] if isinstance(source, (str, Path)) else source)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise TeachableMachineError(f"{missing[0].name} could not be found.")
    unpacked = []
    for index, path in enumerate(paths):
        if path.is_file() and path.suffix.lower() == ".zip":
            unpacked.append(extract_zip(path, scratch / f"zip-{index}", _MAX_ZIP_BYTES))
        else:
            unpacked.append(path)
    return unpacked


def read_tfjs(source, work_dir=None) -> TfjsExport:
    """Find and read an export given as a folder, a zip (path, bytes or file) or its files."""
    scratch = Path(tempfile.mkdtemp(prefix="tfjs-import-", dir=work_dir))
    try:
        model, metadata, others = find_tfjs_export(_unpacked(source, scratch))
        if model is None:
            raise TeachableMachineError("No model.json was found: choose model.json, metadata.json and weights.bin "
                                        "together, their folder, or the zip Teachable Machine gave you.")
        return read_tfjs_export(model, metadata, others)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def import_tfjs(source, out_dir, work_dir=None) -> Run:
    """Turn a TensorFlow.js export (Teachable Machine's, or ours) into a run folder that
    ``tlcore.runs.load_run`` opens; returns the Run. ``out_dir`` is claimed only once the
    export is known to be good: a refused export leaves nothing behind."""
    return _write_run(read_tfjs(source, work_dir), out_dir)


def _write_run(export: TfjsExport, out_dir) -> Run:
    model = rebuild_tfjs(export)
    out = claim_given_folder(out_dir)
    record = _record(export)
    write_run_folder(out, record, model.save)
    return Run(out, record, model)


def tfjs_backbone_weights(source, out_weights_path) -> Path:
    """Save an export's MobileNetV2 part as a Keras 3 weights file (``--weights`` for its
    backbone), to start new training from what the Teachable Machine network knows."""
    out = Path(out_weights_path)
    if not out.name.endswith(".weights.h5"):
        raise ValueError(f"The weights file name must end in .weights.h5 (Keras's format); got {out.name}.")
    from ..backbones.registry import get_backbone

    export = read_tfjs(source)
    backbone = _filled_backbone(export, get_backbone(export.backbone))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(".partial-" + out.name)
    try:
        backbone.save_weights(partial)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out


def import_teachable_machine_export(sources, out_dir, work_dir=None) -> Run:
    """Either Teachable Machine download, as the user has it: TensorFlow.js (model.json,
    metadata.json, weights.bin) or Keras (keras_model.h5, labels.txt), given as the files, their
    folder, or the zip. The CLI's ``import-tm`` and the Share page's import."""
    from .teachable_machine import find_export, import_teachable_machine

    scratch = Path(tempfile.mkdtemp(prefix="tm-import-", dir=work_dir))
    try:
        paths = _unpacked(sources, scratch)
        model, metadata, others = find_tfjs_export(paths)
        if model is not None:
            return _write_run(read_tfjs_export(model, metadata, others), out_dir)
        folders = [p for p in paths if p.is_dir()]
        files = [p for p in paths if p.is_file()]
        h5, labels = find_export(folders[0]) if folders else (None, None)
        if len(files) == 2 and not folders:
            h5, labels = files
        if h5 is None or labels is None:
            raise TeachableMachineError(
                "No Teachable Machine model was found: choose model.json, metadata.json and weights.bin (its "
                "TensorFlow.js download), or keras_model.h5 and labels.txt (its Keras download), or the zip.")
        return import_teachable_machine(h5, labels, out_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
