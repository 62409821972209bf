"""How well a model does on labelled pictures: accuracy, per-class scores, confusion, mistakes.

    evaluate(probabilities, true_labels, class_names)  -> Evaluation (numbers only, no model)
    threshold_curve(probabilities, labels)              -> what happens if the model may say "not sure"
    evaluate_run(run)                                   -> Evaluation of a run on its validation pictures

Conventions: the confusion matrix has one row per *true* class and one column per
*predicted* class. Precision of a class nobody predicted, and recall of a class with no
pictures, are 0.0 (nothing to be right about).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

import numpy as np

from .i18n import msg, msg_n


class Mistake(NamedTuple):
    index: int  # row in the probabilities (the picture)
    true: int  # class index
    predicted: int  # class index
    confidence: float  # probability the model gave its (wrong) answer


@dataclass
class Evaluation:
    class_names: list[str]
    probabilities: np.ndarray  # (N, C) float
    true_labels: np.ndarray  # (N,) int
    predicted: np.ndarray  # (N,) int
    confidence: np.ndarray  # (N,) float: probability of the predicted class
    accuracy: float
    precision: np.ndarray  # (C,) float
    recall: np.ndarray  # (C,) float
    support: np.ndarray  # (C,) int: true pictures per class
    confusion: np.ndarray  # (C, C) int: rows = true, columns = predicted
    names: list[str] = field(default_factory=list)  # what each row is (a file name), if known
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (picture, why) left out

    def __len__(self) -> int:
        return len(self.true_labels)

    def class_index(self, value: int | str) -> int:
        if isinstance(value, str):
            try:
                return self.class_names.index(value)
            except ValueError:
                raise ValueError(f"Unknown class {value!r}; the classes are {self.class_names}.") from None
        value = int(value)
        if not 0 <= value < len(self.class_names):
            raise ValueError(f"Class index {value} is out of range (0..{len(self.class_names) - 1}).")
        return value

    def mistakes(self, k: int | None = 10) -> list[Mistake]:
        """The ``k`` most confident wrong answers (all of them when k is None), surest first."""
        wrong = np.flatnonzero(self.predicted != self.true_labels)
        # Stable sort on -confidence: ties keep picture order.
        order = wrong[np.argsort(-self.confidence[wrong], kind="stable")]
        if k is not None:
            order = order[: max(int(k), 0)]
        return [Mistake(int(i), int(self.true_labels[i]), int(self.predicted[i]), float(self.confidence[i]))
                for i in order]

    def most_confused(self) -> tuple[int, int] | None:
        """(true, predicted) of the most frequent mix-up, or None when there is none."""
        off = self.confusion.astype("int64").copy()
        np.fill_diagonal(off, -1)
        if off.size == 0 or off.max() <= 0:
            return None
        t, p = np.unravel_index(int(off.argmax()), off.shape)
        return int(t), int(p)

    def answered(self, threshold: float) -> tuple[int, int]:
        """(pictures answered, answered right) when "not sure" is said below ``threshold``."""
        answered = self.confidence >= threshold
        return int(answered.sum()), int((self.predicted[answered] == self.true_labels[answered]).sum())

    def cell(self, true_class: int | str, predicted_class: int | str) -> list[int]:
        """Indices of the pictures in one confusion-matrix cell (class index or name)."""
        t, p = self.class_index(true_class), self.class_index(predicted_class)
        return [int(i) for i in np.flatnonzero((self.true_labels == t) & (self.predicted == p))]

    def to_dict(self) -> dict:
        """JSON-safe summary (no per-picture probabilities)."""
        def name_of(i: int) -> str | None:
            return self.names[i] if i < len(self.names) else None

        return {
            "classes": list(self.class_names),
            "pictures": len(self),
            "accuracy": float(self.accuracy),
            "per_class": {
                name: {"precision": float(self.precision[c]), "recall": float(self.recall[c]),
                       "support": int(self.support[c])}
                for c, name in enumerate(self.class_names)
            },
            "confusion": self.confusion.astype(int).tolist(),
            "mistakes": [
                {"index": m.index, "name": name_of(m.index), "true": self.class_names[m.true],
                 "predicted": self.class_names[m.predicted], "confidence": m.confidence}
                for m in self.mistakes(None)
            ],
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
        }


def folder_key(name: str) -> str:
    """Folder and class names compared loosely: case, spaces, "_" and "-" do not matter."""
    return re.sub(r"[\s_\-]+", " ", unicodedata.normalize("NFC", str(name))).strip().casefold()


def match_folders(folders, class_names) -> dict[str, str | None]:
    """Each folder's class (or None when it matches none of the model's classes)."""
    classes = {folder_key(name): name for name in class_names}
    return {folder: classes.get(folder_key(folder)) for folder in folders}


def _check(probabilities, labels, n_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    probabilities = np.asarray(probabilities, dtype="float64")
    labels = np.asarray(labels)
    if probabilities.ndim != 2:
        raise ValueError(f"Probabilities must be a 2-D array (pictures × classes); got shape {probabilities.shape}.")
    if labels.ndim != 1 or len(labels) != len(probabilities):
        raise ValueError(
            f"There must be one true label per row of probabilities: {len(labels)} labels "
            f"for {len(probabilities)} rows."
        )
    if n_classes is not None and probabilities.shape[1] != n_classes:
        raise ValueError(f"Probabilities have {probabilities.shape[1]} columns but there are {n_classes} classes.")
    if len(labels) and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError("True labels must be class indices (integers).")
    labels = labels.astype(np.int64)
    if len(labels) and (labels.min() < 0 or labels.max() >= probabilities.shape[1]):
        raise ValueError(f"True labels must be between 0 and {probabilities.shape[1] - 1}.")
    return probabilities, labels


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros(len(numerator), dtype="float64")
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def evaluate(probabilities, true_labels, class_names: Sequence[str], names: Sequence[str] | None = None) -> Evaluation:
    """Scores for ``probabilities`` (N × C) against ``true_labels`` (N class indices)."""
    class_names = [str(c) for c in class_names]
    probabilities, labels = _check(probabilities, true_labels, len(class_names))
    n_classes = len(class_names)
    predicted = probabilities.argmax(axis=1) if len(labels) else np.zeros(0, np.int64)
    confidence = probabilities.max(axis=1) if len(labels) else np.zeros(0)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    correct = np.diag(confusion)
    support = confusion.sum(axis=1)
    return Evaluation(
        class_names=class_names,
        probabilities=probabilities,
        true_labels=labels,
        predicted=predicted.astype(np.int64),
        confidence=confidence,
        accuracy=float(correct.sum() / len(labels)) if len(labels) else 0.0,
        precision=_safe_divide(correct, confusion.sum(axis=0)),
        recall=_safe_divide(correct, support),
        support=support,
        confusion=confusion,
        names=list(names) if names is not None else [],
    )


def threshold_curve(probabilities, labels, thresholds=None) -> list[tuple[float, float, float | None]]:
    """If the model only answers when its top probability is at least t, for each t:
    (t, coverage = fraction of pictures it answers, accuracy on those it answers).

    Accuracy is None where it answers none."""
    probabilities, labels = _check(probabilities, labels)
    thresholds = np.linspace(0.0, 1.0, 21) if thresholds is None else np.asarray(thresholds, dtype="float64")
    confidence = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == labels
    curve = []
    for t in thresholds:
        answered = confidence >= t
        count = int(answered.sum())
        coverage = count / len(labels) if len(labels) else 0.0
        accuracy = float(right[answered].mean()) if count else None
        curve.append((float(t), float(coverage), accuracy))
    return curve


def evaluate_run(run, files=None, labels=None) -> Evaluation:
    """Evaluate ``run`` on its own saved validation pictures, or on ``files`` with ``labels``
    (class names or indices). Pictures that cannot be read are left out and listed in
    ``Evaluation.skipped``."""
    from .data.imagefile import UnreadablePicture, load_picture
    from .runs import validation_set

    if files is None:
        if labels is not None:
            raise ValueError("Labels were given without files.")
        files, names, labels = validation_set(run)
        if not files:
            raise ValueError(msg("{name} has no saved validation pictures to evaluate on; give labelled pictures "
                                 "instead.", name=run.name))
    else:
        files = list(files)
        if labels is None or len(list(labels)) != len(files):
            raise ValueError(msg("Give one label (a class name or index) for every picture file."))
        names = [str(f) if not isinstance(f, (bytes, bytearray)) else f"picture {i + 1}" for i, f in enumerate(files)]
    label_indices = [_label_index(run.class_names, label) for label in labels]

    arrays, kept, kept_names, skipped = [], [], [], []
    for file, name, label in zip(files, names, label_indices):
        try:
            arrays.append(load_picture(file, run.input_size))
        except (UnreadablePicture, OSError) as error:
            skipped.append((name, getattr(error, "reason", None) or msg("It could not be opened.")))
            continue
        kept.append(label)
        kept_names.append(name)
    if not arrays:
        raise ValueError(msg("None of the pictures could be read, so there is nothing to evaluate."))
    probabilities = run.predict_pixels(np.stack(arrays))
    evaluation = evaluate(probabilities, kept, run.class_names, kept_names)
    evaluation.skipped = skipped
    return evaluation


def _label_index(class_names: list[str], label) -> int:
    if isinstance(label, (int, np.integer)):
        if not 0 <= int(label) < len(class_names):
            raise ValueError(msg_n("Label {label} is out of range: the model has {count} class.",
                                   "Label {label} is out of range: the model has {count} classes.", len(class_names),
                                   label=str(label)))
        return int(label)
    label = str(label)
    if label not in class_names:
        raise ValueError(msg("Label {label} is not one of the model's classes: {names}.", label=repr(label),
                             names=", ".join(class_names)))
    return class_names.index(label)
