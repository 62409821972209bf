"""A run is one folder: the end-to-end model, its labels, and what it was made from.

    RUN_DIR/model.keras      picture (0..255 RGB, input_size²) in, probabilities out
    RUN_DIR/labels.txt       one class name a line, in output order
    RUN_DIR/run.json         backbone, weights, settings, history, dataset report, metrics, timings
    RUN_DIR/validation/      copies of the validation pictures, one folder per class
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from .backbones.registry import BACKBONES
from .backbones.weights import weights_label
from .data.imagefile import load_picture

RUN_FORMAT = 1
MODEL_FILE, LABELS_FILE, META_FILE, VALIDATION_DIR = "model.keras", "labels.txt", "run.json", "validation"

# How pictures become model input; the same steps run in the app, the CLI and predict.py.
RESIZE_DESCRIPTION = (
    "Centre-cropped to a square and resized with Lanczos (PIL ImageOps.fit) to the model's "
    "input size (a JPEG at least twice that size is first decoded at a reduced scale, for speed); "
    "RGB values 0-255; the model does its own preprocessing."
)


@dataclass
class Prediction:
    image: str
    top: str | None
    probabilities: dict[str, float] = field(default_factory=dict)
    error: str | None = None

    def ranked(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.probabilities.items(), key=lambda item: -item[1])[:k]

    def to_dict(self) -> dict:
        data = {"image": self.image, "top": self.top, "probabilities": self.probabilities}
        if self.error:
            data["error"] = self.error
        return data


class Run:
    """A saved (or just trained) model with its labels and metadata; loads the model lazily."""

    def __init__(self, path: Path | None, class_names, metadata: dict, keras_model=None):
        self.path = Path(path) if path else None
        self.class_names = list(class_names)
        self.metadata = metadata
        self._keras_model = keras_model
        self._predict_function = None

    @property
    def name(self) -> str:
        return self.metadata.get("name") or (self.path.name if self.path else "run")

    @property
    def input_size(self) -> int:
        return int(self.metadata["input_size"])

    @property
    def keras_model(self):
        if self._keras_model is None:
            from .importers.safe import load_model_safely

            # Safe mode: a model file carrying code (a Lambda layer) is refused, not run.
            self._keras_model = load_model_safely(self.path / MODEL_FILE)
        return self._keras_model

    def predict_pixels(self, pixels):
        """Probabilities for uint8 pictures (N, S, S, 3) at this run's input size."""
        import numpy as np

        from ._tf import tf
        from .training.feed import predict_batches

        if self._predict_function is None:
            model = self.keras_model
            self._predict_function = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        if len(pixels) == 0:
            return np.zeros((0, len(self.class_names)), "float32")
        return predict_batches(self._predict_function, pixels, 32)

    def predict(self, sources, names=None) -> list[Prediction]:
        """Predict pictures given as paths or bytes; a broken picture gets an error, not a crash."""
        import numpy as np

        from .data.imagefile import UnreadablePicture

        sources = list(sources)
        names = list(names) if names is not None else [str(s) if not isinstance(s, bytes) else f"picture {i + 1}" for i, s in enumerate(sources)]
        results: list[Prediction | None] = [None] * len(sources)
        readable, arrays = [], []
        for i, source in enumerate(sources):
            try:
                arrays.append(load_picture(source, self.input_size))
                readable.append(i)
            except (UnreadablePicture, OSError) as error:
                reason = getattr(error, "reason", None) or "could not be opened"
                results[i] = Prediction(names[i], None, {}, f"{names[i]} {reason}".strip())
        if arrays:
            probabilities = self.predict_pixels(np.stack(arrays))
            for i, row in zip(readable, probabilities):
                scores = {name: float(p) for name, p in zip(self.class_names, row)}
                results[i] = Prediction(names[i], self.class_names[int(row.argmax())], scores)
        return results


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "run"


def new_run_dir(workspace: Path, backbone: str) -> Path:
    """A fresh, readable, unique folder name under ``workspace``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(workspace) / f"{stamp}-{_slug(backbone)}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def run_metadata(trainer, dataset, name: str | None = None, dataset_name: str | None = None) -> dict:
    """Everything worth knowing about a fitted Trainer's run, JSON-safe."""
    transfer = trainer.model_
    spec = transfer.spec
    settings = {
        "epochs": int(trainer.epochs),
        "fine_tune_epochs": int(trainer.resolved_fine_tune_epochs),
        "batch_size": int(trainer.batch_size_),
        "batch_size_setting": str(trainer.batch_size),
        "learning_rate": float(trainer.learning_rate),
        "fine_tune_learning_rate": float(trainer.resolved_fine_tune_learning_rate),
        "dropout": float(trainer.dropout),
        "augment": list(transfer.augment_layers and [l.name.removeprefix("augment_") for l in transfer.augment_layers]),
        "validation_fraction": float(trainer.validation_fraction),
        "early_stopping": bool(trainer.early_stopping),
        "seed": int(trainer.seed),
    }
    report = getattr(dataset, "report", None)
    return {
        "format": RUN_FORMAT,
        "name": name or f"{spec.title} · {weights_label(transfer.weights)}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "backbone": spec.name,
        "backbone_title": spec.title,
        "weights": transfer.weights if transfer.weights in ("imagenet", "none") else "file",
        "weights_source": weights_label(transfer.weights),
        "input_size": transfer.input_size,
        "freeze_depth": 0 if transfer.from_scratch else int(trainer.freeze_depth),
        "blocks": transfer.num_blocks,
        "from_scratch": transfer.from_scratch,
        "classes": list(trainer.class_names_),
        "settings": settings,
        "history": trainer.history_,
        "fine_tune_start_epoch": trainer.fine_tune_start_epoch_,
        "best_epoch": trainer.best_epoch_,
        "stopped": bool(trainer.stopped_),
        "failed": str(trainer.error_) if trainer.error_ else None,
        "fast_path": bool(trainer.fast_path_used_),
        "metrics": {"val_accuracy": trainer.val_accuracy_, "val_pictures": int(len(trainer.val_indices_)),
                    "train_pictures": int(len(trainer.train_indices_))},
        "timings": {k: round(float(v), 3) for k, v in trainer.timings_.items()},
        "dataset": {
            "name": dataset_name or (str(dataset.root) if getattr(dataset, "root", None) else "pictures"),
            "counts": dict(dataset.counts) if hasattr(dataset, "counts") else {},
            "fingerprint": getattr(dataset, "fingerprint", None),
            "report": report.to_dict() if report is not None else None,
        },
        "resize": RESIZE_DESCRIPTION,
    }


def save_run(trainer, dataset, path, name: str | None = None, dataset_name: str | None = None) -> Run:
    """Save a fitted Trainer as a run folder (written to a temporary name, then renamed)."""
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path} already exists and is not empty; choose another --out folder.")
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    metadata = run_metadata(trainer, dataset, name, dataset_name)
    trainer.model_.model.save(partial / MODEL_FILE)
    (partial / LABELS_FILE).write_text("\n".join(trainer.class_names_) + "\n", encoding="utf-8")
    validation = []
    for index in trainer.val_indices_:
        source = Path(dataset.paths[index])
        class_name = trainer.class_names_[int(dataset.labels[index])]
        target = partial / VALIDATION_DIR / f"{int(dataset.labels[index]):03d}" / f"{int(index):05d}{source.suffix.lower()}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        validation.append({"file": str(target.relative_to(partial)), "name": dataset.names[index], "label": class_name})
    metadata["validation"] = validation
    (partial / META_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    if path.exists():
        path.rmdir()
    partial.rename(path)
    return Run(path, trainer.class_names_, metadata, trainer.model_.model)


def load_run(path) -> Run:
    """Open a run folder saved by save_run (or an import). Clear errors for anything else."""
    path = Path(path)
    if not (path / MODEL_FILE).is_file():
        raise FileNotFoundError(f"{path} is not a run folder: it has no {MODEL_FILE}.")
    labels_file, meta_file = path / LABELS_FILE, path / META_FILE
    class_names = [line.strip() for line in labels_file.read_text(encoding="utf-8").splitlines() if line.strip()] if labels_file.is_file() else []
    metadata = json.loads(meta_file.read_text(encoding="utf-8")) if meta_file.is_file() else {}
    if "input_size" not in metadata:
        from .importers.safe import load_model_safely

        model = load_model_safely(path / MODEL_FILE)
        metadata["input_size"] = int(model.input_shape[1])
        run = Run(path, class_names, metadata, model)
    else:
        run = Run(path, class_names, metadata)
    if not run.class_names:
        raise ValueError(f"{path} has no {LABELS_FILE}: the class names are missing.")
    return run


def list_runs(workspace) -> list[Run]:
    """Every run folder directly under ``workspace``, newest first (unreadable ones skipped)."""
    workspace = Path(workspace)
    runs = []
    if workspace.is_dir():
        for child in sorted(workspace.iterdir(), reverse=True):
            if child.is_dir() and (child / MODEL_FILE).is_file() and (child / META_FILE).is_file():
                try:
                    runs.append(load_run(child))
                except (OSError, ValueError):
                    continue
    return runs


def validation_set(run: Run) -> tuple[list[Path], list[str], list[str]]:
    """(files, display names, true labels) of a run's saved validation pictures."""
    entries = run.metadata.get("validation", [])
    return ([run.path / e["file"] for e in entries], [e["name"] for e in entries], [e["label"] for e in entries])


def known_backbone(run: Run) -> bool:
    return run.metadata.get("backbone") in BACKBONES
