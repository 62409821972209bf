"""A run: a saved (or just trained) model, its RunRecord, and predictions on pictures."""

from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..data.imagefile import load_picture
from ..i18n import msg, sentences
from .folder import (
    LABELS_FILE,
    MODEL_FILE,
    VALIDATION_DIR,
    claim_given_folder,
    is_claimed,
    model_outputs,
    read_labels_file,
    read_record,
    run_folders,
    write_run_folder,
)
from .record import DatasetInfo, RunFolderError, RunRecord, ValidationPicture

log = logging.getLogger(__name__)


@dataclass
class Prediction:
    image: str
    top: str | None
    probabilities: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    familiar: bool | None = None  # None: this run cannot tell (no familiarity.npz)
    familiarity: float | None = None  # similarity to the pictures it learned from

    def ranked(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.probabilities.items(), key=lambda item: -item[1])[:k]

    def to_dict(self) -> dict:
        data = {"image": self.image, "top": self.top, "probabilities": self.probabilities}
        if self.familiar is not None:
            data.update(familiar=self.familiar, familiarity=round(float(self.familiarity), 4))
        if self.error:
            data["error"] = self.error
        return data


class Run:
    """A run folder's model and record; the Keras model loads lazily, in safe mode."""

    def __init__(self, path: Path | None, record: RunRecord, keras_model=None):
        self.path = Path(path) if path else None
        self.record = record
        self._keras_model = keras_model
        self._predict_function = None
        self._familiarity = False  # not read yet

    @property
    def class_names(self) -> list[str]:
        return list(self.record.classes)

    @property
    def name(self) -> str:
        return self.record.name or (self.path.name if self.path else "run")

    @property
    def input_size(self) -> int:
        return self.record.input_size

    @property
    def keras_model(self):
        if self._keras_model is None:
            from .safe_load import load_model_safely

            model_file = self.path / MODEL_FILE
            if model_file.is_file() and not zipfile.is_zipfile(model_file):  # a .keras file is a zip
                raise RunFolderError(
                    f"{self.path.name}/{MODEL_FILE} is damaged (it is not a Keras model file). Train the run "
                    "again, or import the model again from the file it came from.")
            # Safe mode: a model file carrying code (a Lambda layer) is refused, not run.
            self._keras_model = load_model_safely(model_file)
        return self._keras_model

    def familiarity(self):
        """The run's FamiliarityModel ("does this look like what I learned from?"), or None."""
        if self._familiarity is False:
            from ..understand.familiarity import FAMILIARITY_FILE, FamiliarityModel
            from ..understand.scoring import FamiliarityFileError

            file = self.path / FAMILIARITY_FILE if self.path else None
            try:
                self._familiarity = FamiliarityModel.load(file) if file and file.is_file() else None
            except FamiliarityFileError as error:
                log.warning("%s: %s", self.path.name, error)
                self._familiarity = None
        return self._familiarity

    def answer(self, pixels):
        """(probabilities (N, C), familiar (N,) or None, familiarity scores (N,) or None) for uint8 pictures."""
        familiarity = self.familiarity()
        if familiarity is None or len(pixels) == 0:
            return self.predict_pixels(pixels), None, None
        from ..understand.features import features_and_probabilities

        features, probabilities = features_and_probabilities(self, pixels)
        scores = familiarity.score(features)
        return probabilities, familiarity.familiar(features), scores

    def validation_set(self) -> tuple[list[Path], list[str], list[str]]:
        """(files, display names, true labels) of the run's saved validation pictures."""
        entries = self.record.validation
        return [self.path / e.file for e in entries], [e.name for e in entries], [e.label for e in entries]

    def predict_pixels(self, pixels):
        """Probabilities for uint8 pictures (N, S, S, 3) at this run's input size."""
        import numpy as np

        from .._tf import tf
        from ..training.feed import predict_batches

        if self._predict_function is None:
            model = self.keras_model
            self._predict_function = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        if len(pixels) == 0:
            return np.zeros((0, len(self.class_names)), "float32")
        return predict_batches(self._predict_function, pixels, 32)

    def predict(self, sources, names=None) -> list[Prediction]:
        """Predict pictures given as paths or bytes; a broken picture gets an error, not a crash."""
        import numpy as np

        from ..data.imagefile import UnreadablePicture

        sources = list(sources)
        names = list(names) if names is not None else [
            str(s) if not isinstance(s, bytes) else f"picture {i + 1}" for i, s in enumerate(sources)]
        results: list[Prediction | None] = [None] * len(sources)
        readable, arrays = [], []
        for i, source in enumerate(sources):
            try:
                arrays.append(load_picture(source, self.input_size))
                readable.append(i)
            except (UnreadablePicture, OSError) as error:
                reason = getattr(error, "reason", None) or msg("It could not be opened.")
                results[i] = Prediction(names[i], None, {}, sentences(msg("{name} cannot be used.", name=names[i]),
                                                                      reason))
        if arrays:
            probabilities, familiar, scores = self.answer(np.stack(arrays))
            for n, (i, row) in enumerate(zip(readable, probabilities)):
                named = {name: float(p) for name, p in zip(self.class_names, row)}
                results[i] = Prediction(names[i], self.class_names[int(row.argmax())], named,
                                        familiar=None if familiar is None else bool(familiar[n]),
                                        familiarity=None if scores is None else float(scores[n]))
        return results


def validation_set(run: Run) -> tuple[list[Path], list[str], list[str]]:
    return run.validation_set()


# -- saving a trained run ----------------------------------------------------------------------
def record_of(trainer, dataset, name: str | None = None, dataset_name: str | None = None) -> RunRecord:
    """The RunRecord of a fitted Trainer (validation pictures are added by save_run)."""
    from ..backbones.weights import weights_label

    transfer, settings = trainer.model_, trainer.settings
    report = getattr(dataset, "report", None)
    weights = transfer.weights if transfer.weights in ("imagenet", "none") else "file"
    record = RunRecord(
        name="", backbone=transfer.spec.name, backbone_title=transfer.spec.title, weights=weights,
        weights_source=weights_label(transfer.weights), input_size=transfer.input_size,
        classes=tuple(trainer.class_names_), settings=settings.replace(weights=transfer.weights),
        blocks=transfer.num_blocks, learning_blocks=settings.blocks_that_learn(transfer.num_blocks),
        history={k: tuple(v) for k, v in trainer.history_.items()},
        fine_tune_start_epoch=trainer.fine_tune_start_epoch_, best_epoch=trainer.best_epoch_,
        stopped=bool(trainer.stopped_), failed=str(trainer.error_) if trainer.error_ else None,
        fast_path=bool(trainer.fast_path_used_), augmented_views=int(getattr(trainer, "augmented_views_", 0)),
        val_accuracy=float(trainer.val_accuracy_),
        val_pictures=len(trainer.val_indices_), val_near_copies=_near_copies(trainer, dataset),
        train_pictures=len(trainer.train_indices_),
        batch_size=int(trainer.batch_size_),
        timings={k: round(float(v), 3) for k, v in trainer.timings_.items()},
        dataset=DatasetInfo(
            name=dataset_name or (str(dataset.root) if getattr(dataset, "root", None) else "pictures"),
            counts=dict(dataset.counts), fingerprint=getattr(dataset, "fingerprint", None),
            report=report.to_dict() if report is not None else None),
        notes=tuple(getattr(trainer, "notes_", ())),
    )
    return record.replace(name=name or record.default_name)


def _near_copies(trainer, dataset) -> int:
    """How many validation pictures have a near-copy among the training pictures (the look
    hashes the duplicate report uses): frames of one camera burst on both sides of the split
    make validation accuracy too kind."""
    import numpy as np

    from ..understand.familiarity import near_copies

    hashes = getattr(dataset, "look_hashes", None)
    train, val = np.asarray(trainer.train_indices_, np.int64), np.asarray(trainer.val_indices_, np.int64)
    if hashes is None or not len(train) or not len(val):
        return 0
    hashes = np.asarray(hashes)
    # In blocks of validation pictures: the bit comparison holds 64 bytes per pair.
    return sum(int(near_copies(hashes[val[start:start + 64]], hashes[train]).any(axis=1).sum())
               for start in range(0, len(val), 64))


def save_run(trainer, dataset, path, name: str | None = None, dataset_name: str | None = None,
             extra: dict | None = None) -> Run:
    """Save a fitted Trainer into ``path`` (claimed before training, or a free or empty folder).
    ``extra``: more facts for run.json (e.g. the experiment it belongs to)."""
    path = Path(path)
    record = record_of(trainer, dataset, name, dataset_name)  # checked before anything is written
    if extra:
        record = record.replace(extra={**record.extra, **extra})
    if not is_claimed(path):
        claim_given_folder(path)
    pictures, validation = [], []
    for index in trainer.val_indices_:
        source = Path(dataset.paths[index])
        label = int(dataset.labels[index])
        relative = f"{VALIDATION_DIR}/{label:03d}/{int(index):05d}{source.suffix.lower()}"
        pictures.append((source, relative))
        validation.append(ValidationPicture(relative, dataset.names[index], trainer.class_names_[label]))
    record = record.replace(validation=tuple(validation))
    familiarity = _familiarity_of(trainer, dataset)

    def write_model(target: Path) -> None:
        trainer.model_.model.save(target)
        if familiarity is not None:
            familiarity.save(target.parent)

    write_run_folder(path, record, write_model, pictures)
    return Run(path, record, trainer.model_.model)


def _familiarity_of(trainer, dataset):
    """What the run needs to tell "none of my classes" (None, with a log line, if it cannot)."""
    from ..understand.familiarity import fit_for_run

    try:
        return fit_for_run(trainer, dataset)
    except (ValueError, RuntimeError) as error:
        log.warning("This run will not tell unfamiliar pictures apart: %s", error)
        return None


# -- opening -----------------------------------------------------------------------------------
def load_run(path) -> Run:
    """Open a run folder (trained or imported), checking what can be checked without loading it."""
    path = Path(path)
    if not (path / MODEL_FILE).is_file():
        raise FileNotFoundError(f"{path} is not a run folder: it has no {MODEL_FILE}.")
    record = read_record(path)
    labels_file = path / LABELS_FILE
    if labels_file.is_file():
        labels = read_labels_file(labels_file)
        if labels and labels != list(record.classes):
            record = record.replace(classes=tuple(labels)) if len(labels) >= 2 else record
    outputs = model_outputs(path / MODEL_FILE)
    if outputs is not None and outputs != len(record.classes):
        raise RunFolderError(
            f"{path.name}: the model gives {outputs} answers but {LABELS_FILE} names "
            f"{len(record.classes)} classes ({', '.join(record.classes)}). Put one class name a line in "
            f"{LABELS_FILE}, in the model's order, or train the run again.")
    return Run(path, record)


def list_runs(workspace) -> list[Run]:
    """Every finished run folder directly under ``workspace``, newest first (damaged ones skipped)."""
    runs = []
    for folder in run_folders(workspace):
        try:
            runs.append(load_run(folder))
        except (OSError, ValueError):
            continue
    return runs


__all__ = ["Prediction", "Run", "RunFolderError", "load_run", "list_runs", "record_of", "save_run",
           "validation_set"]
