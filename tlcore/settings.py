"""Training settings: one typed, frozen object that owns the defaults, the checks and the rules.

The Model page, the command line, lesson files, ``TrainingJob`` and ``Trainer`` all take and
give a ``TrainingSettings``. The rules that tie settings together live here and nowhere else:

- from scratch (``weights="none"``, ``is_from_scratch``), every block learns from the first epoch,
  so there is no separate fine-tuning phase (its epochs are added to the first phase);
- no learning block ⇒ no fine-tuning epochs; fine-tuning epochs default to ``epochs`` when
  blocks learn;
- fine-tuning runs at a tenth of the head's learning rate unless given.

A form (the Model page) keeps a draft and changes it with ``choose``, which applies what each
choice implies; it asks the draft what follows (``blocks_that_learn``, ``phases``...).

Nothing here imports TensorFlow, so the app's first page stays fast.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .i18n import N_, msg
from .backbones.registry import BACKBONES, DEFAULT_BACKBONE, unknown_backbone_message

AUGMENTATIONS = ("flip", "rotation", "zoom", "contrast")
IMAGENET, NONE = "imagenet", "none"
DEFAULT_VALIDATION_FRACTION = 0.2  # enough pictures per class to measure, most left for learning
MAX_VALIDATION_FRACTION = 0.9
MAX_EPOCHS = 1000
# A tenth of the head's rate: large steps would wreck the pretrained features.
FINE_TUNE_RATE_FACTOR = 0.1

# Keys older run.json and lesson files used, read as their new names.
_ALIASES = {"freeze_depth": "learning_blocks"}


class SettingsError(ValueError):
    """A setting that cannot work; the message says what to do, in plain words."""


@dataclass(frozen=True)
class Phase:
    """One stretch of training: ``"head"``, ``"fine_tune"`` or ``"scratch"``."""

    name: str
    epochs: int
    learning_blocks: int | None  # None: every block (from scratch)
    learning_rate: float


@dataclass(frozen=True)
class TrainingSettings:
    """Everything that decides how a run is trained. Build with keywords; every field is checked.

    ``learning_blocks``: how many of the backbone's top blocks learn during fine-tuning
    (0: only the new head learns: feature extraction). Ignored from scratch, where all learn.
    ``fine_tune_epochs``: None means "as many as ``epochs`` when blocks learn, else 0".
    ``batch_size``: ``"auto"`` (32, smaller for small sets) or a number.
    ``augment_views``: with augmentation and no fine-tuning, the frozen network sees this many
    changed copies of each picture once (cached), and the head trains on those: the fast path
    stays on. 0 changes the pictures anew each epoch, through the whole network (slow).
    """

    backbone: str = DEFAULT_BACKBONE
    weights: str = IMAGENET
    input_size: int | None = None
    learning_blocks: int = 0
    epochs: int = 5
    fine_tune_epochs: int | None = None
    batch_size: int | str = "auto"
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float | None = None
    dropout: float = 0.2
    augment: tuple[str, ...] = ()
    augment_views: int = 4
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    early_stopping: bool = False
    patience: int = 3
    seed: int = 0
    fast_path: bool = True

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        set_("backbone", _backbone(self.backbone))
        set_("weights", _weights(self.weights))
        set_("input_size", _optional_int(N_("Picture size"), self.input_size, 32, 1024))
        set_("learning_blocks", _int(N_("Learning blocks"), self.learning_blocks, 0, 10_000,
                                     N_("0 (only the new head learns) or more")))
        set_("epochs", _int(N_("Epochs"), self.epochs, 1, MAX_EPOCHS))
        set_("fine_tune_epochs", _optional_int(N_("Fine-tune epochs"), self.fine_tune_epochs, 0, MAX_EPOCHS))
        set_("batch_size", _batch_size(self.batch_size))
        set_("learning_rate", _rate(N_("Learning rate"), self.learning_rate))
        if self.fine_tune_learning_rate is not None:
            set_("fine_tune_learning_rate", _rate(N_("Fine-tune learning rate"), self.fine_tune_learning_rate))
        set_("dropout", _fraction(N_("Dropout"), self.dropout, 0.0, 0.95))
        set_("augment", normalise_augment(self.augment))
        set_("augment_views", _int(N_("Augmented views"), self.augment_views, 0, 32,
                                   N_("between 0 (change pictures anew each epoch) and 32")))
        set_("validation_fraction", _fraction(N_("Validation fraction"), self.validation_fraction,
                                              0.01, MAX_VALIDATION_FRACTION))
        set_("early_stopping", bool(self.early_stopping))
        set_("patience", _int(N_("Patience"), self.patience, 1, MAX_EPOCHS))
        set_("seed", _int(N_("Seed"), self.seed, 0, 2**31 - 1))
        set_("fast_path", bool(self.fast_path))
        if self.weights != NONE and not self.spec.pretrained:
            raise SettingsError(msg("{network} has no pretrained weights: it only trains from scratch. Choose starting "
                                    "weights 'none' (from scratch), or another network.", network=self.spec.title))
        if self.fine_tune_epochs and not self.learning_blocks and not self.from_scratch:
            raise SettingsError(msg("Fine-tuning needs at least one learning block: set learning blocks to 1 or more, "
                                    "or set fine-tune epochs to 0."))

    # -- derived values ----------------------------------------------------------------------
    @property
    def from_scratch(self) -> bool:
        return is_from_scratch(self.weights)

    @property
    def spec(self):
        return BACKBONES[self.backbone]

    @property
    def resolved_input_size(self) -> int:
        return self.input_size or self.spec.input_size

    @property
    def resolved_fine_tune_epochs(self) -> int:
        """Epochs after the head. From scratch they are added to the one phase (every block learns)."""
        if self.fine_tune_epochs is not None:
            return self.fine_tune_epochs  # __post_init__ refused it where no block learns
        return self.epochs if self.learning_blocks and not self.from_scratch else 0

    def blocks_that_learn(self, num_blocks: int) -> int:
        """How many of a backbone's ``num_blocks`` blocks learn at some point of training."""
        return num_blocks if self.from_scratch else min(self.learning_blocks, num_blocks)

    @property
    def resolved_fine_tune_learning_rate(self) -> float:
        return self.fine_tune_learning_rate or self.learning_rate * FINE_TUNE_RATE_FACTOR

    @property
    def uses_fine_tuning(self) -> bool:
        return not self.from_scratch and self.learning_blocks > 0 and self.resolved_fine_tune_epochs > 0

    def phases(self) -> list[Phase]:
        """The phases training goes through, in order."""
        if self.from_scratch:  # a random backbone must learn everything, from the start
            return [Phase("scratch", self.epochs + self.resolved_fine_tune_epochs, None, self.learning_rate)]
        phases = [Phase("head", self.epochs, 0, self.learning_rate)]
        if self.uses_fine_tuning:
            phases.append(Phase("fine_tune", self.resolved_fine_tune_epochs, self.learning_blocks,
                                self.resolved_fine_tune_learning_rate))
        return phases

    @property
    def uses_augmented_views(self) -> bool:
        """Augmentation through cached views (see ``augment_views``) rather than anew each epoch."""
        return bool(self.augment) and self.augment_views > 0 and self.fast_path and not self.from_scratch \
            and not self.uses_fine_tuning

    @property
    def frozen_backbone(self) -> bool:
        """Only the new head learns: the backbone's weights never change (its built network can be
        shared by trainings, tlcore.model.warm)."""
        return not self.from_scratch and self.learning_blocks == 0

    @property
    def head_on_features(self) -> bool:
        """A cheap training: the head alone, on the frozen network's cached outputs (not augmented
        anew each epoch). Seconds on a warm network; the training line runs these side by side."""
        return self.frozen_backbone and self.fast_path and (not self.augment or self.uses_augmented_views)

    @property
    def total_epochs(self) -> int:
        return sum(phase.epochs for phase in self.phases())

    @property
    def auto_batch(self) -> bool:
        return self.batch_size == "auto"

    def batch_size_for(self, train_pictures: int) -> int:
        """The batch size used with ``train_pictures``: "auto" gives about 8 steps an epoch, at most 32.

        With 30 pictures and batches of 32, an epoch is a single step and the head barely learns."""
        if self.auto_batch:
            return int(min(32, max(4, train_pictures // 8)))
        return int(self.batch_size)

    # -- changing and storing ----------------------------------------------------------------
    def replace(self, **changes) -> "TrainingSettings":
        """A copy with ``changes`` (old names accepted), checked like a new one."""
        return dataclasses.replace(self, **_renamed(changes))

    def choose(self, **changes) -> "TrainingSettings":
        """A copy with a person's choices (a form's, old names accepted) and what they imply, so a
        form never holds settings that cannot work:

        - from scratch, fine-tuning has no epochs of its own (every block learns from the first);
        - no learning block, no fine-tuning epochs;
        - blocks that start learning where fine-tuning had no epochs get the default number
          (``resolved_fine_tune_epochs``: as many as the head's), unless the choice names one."""
        changes = _renamed(changes)
        blocks = changes.get("learning_blocks", self.learning_blocks)
        if is_from_scratch(changes.get("weights", self.weights)) or not blocks:
            changes["fine_tune_epochs"] = 0
        elif blocks != self.learning_blocks and "fine_tune_epochs" not in changes and not self.uses_fine_tuning:
            changes["fine_tune_epochs"] = None
        return self.replace(**changes)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["augment"] = list(self.augment)
        return data

    @classmethod
    def from_dict(cls, data: dict | None, **overrides) -> "TrainingSettings":
        """Settings from a run.json, lesson file or form; tolerant of older files.

        Unknown keys are ignored; older names (``freeze_depth``) are read as their new ones;
        a missing key takes its default. A value that cannot work raises SettingsError."""
        if data is not None and not isinstance(data, dict):
            raise SettingsError(msg("The saved settings are not readable (they are not a set of named values)."))
        values = _renamed(dict(data or {}))
        values.update(_renamed(overrides))
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def is_from_scratch(weights) -> bool:
    """Whether ``weights`` (a setting's value, as typed) mean no pretraining: every block learns."""
    return _weights(weights) == NONE


# -- checks, each with words a person can act on ----------------------------------------------
def _renamed(values: dict) -> dict:
    out = {}
    for key, value in values.items():
        new = _ALIASES.get(key, key)
        if new in out and key != new:
            continue  # the new name wins over its alias
        out[new] = value
    return out


def _backbone(name) -> str:
    text = str(name or "").strip().lower()
    if text not in BACKBONES:
        raise SettingsError(unknown_backbone_message(name))
    return text


def _weights(weights) -> str:
    if weights is None:
        return NONE
    text = str(weights).strip()
    lowered = text.lower()
    if lowered in (IMAGENET, NONE):
        return lowered
    if lowered in ("scratch", ""):
        return NONE
    return text  # a file: checked to exist when training starts (resolve_weights)


def _number(label: str, value, kind):
    if isinstance(value, bool):
        raise SettingsError(msg("{label} must be a number; got {value}.", label=msg(label), value=repr(value)))
    try:
        number = kind(value) if kind is float else int(str(value).strip())
    except (TypeError, ValueError):
        raise SettingsError(msg("{label} must be a whole number; got {value}.", label=msg(label), value=repr(value))
                            if kind is int else
                            msg("{label} must be a number; got {value}.", label=msg(label), value=repr(value))) from None
    if kind is float and not math.isfinite(number):
        raise SettingsError(msg("{label} must be a finite number; got {value}.", label=msg(label), value=repr(value)))
    return number


def _int(label: str, value, low: int, high: int, words: str | None = None) -> int:
    number = _number(label, value, int)
    if not low <= number <= high:
        # Numbers as written (str): "got 5000", as the CLI and the saved settings write them
        raise SettingsError(
            msg("{label} must be between {low} and {high}; got {number}.", label=msg(label), low=str(low),
                high=str(high), number=str(number)) if words is None else
            # i18n: {rule} is a phrase such as "0 (only the new head learns) or more"
            msg("{label} must be {rule}; got {number}.", label=msg(label), rule=msg(words), number=str(number)))
    return number


def _optional_int(label: str, value, low: int, high: int) -> int | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "auto", "none", "default")):
        return None
    return _int(label, value, low, high)


def _batch_size(value) -> int | str:
    if value is None or str(value).strip().lower() == "auto":
        return "auto"
    try:
        return _int(N_("Batch size"), value, 1, 4096)
    except SettingsError:
        raise SettingsError(msg("Batch size must be 'auto' or a whole number from 1 to 4096; got {value}.",
                                value=repr(value))) from None


def _rate(label: str, value) -> float:
    number = _number(label, value, float)
    if not 0 < number < 1:
        raise SettingsError(msg("{label} must be between 0 and 1 (for example 0.001); got {value}.", label=msg(label),
                                value=str(value)))
    return number


def _fraction(label: str, value, low: float, high: float) -> float:
    number = _number(label, value, float)
    if not low <= number <= high:
        raise SettingsError(msg("{label} must be between {low} and {high}; got {value}.", label=msg(label),
                                low=f"{low:g}", high=f"{high:g}", value=str(value)))
    return number


def normalise_augment(augment) -> tuple[str, ...]:
    """True → all; False/None/"" → none; a comma list or an iterable of names."""
    if augment is True or (isinstance(augment, str) and augment.strip().lower() == "all"):
        return AUGMENTATIONS
    if not augment or (isinstance(augment, str) and augment.strip().lower() in ("none", "")):
        return ()
    items = augment.split(",") if isinstance(augment, str) else augment
    names = tuple(dict.fromkeys(str(a).strip().lower() for a in items if str(a).strip()))
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise SettingsError(msg("Unknown augmentation {names}: choose from {choices}.", names=", ".join(unknown),
                                choices=", ".join(AUGMENTATIONS)))
    return names
