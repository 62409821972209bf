"""What a run is: one typed, frozen record, written to and read from ``run.json``.

Training (``RunRecord.from_trainer``) and every importer build a ``RunRecord``; pages, the
CLI, exports and lesson files read its fields and properties, never nested dict keys.
``from_dict`` reads older ``run.json`` files too, and turns anything malformed into a
``RunFolderError`` that says, in plain words, what is wrong and what to do.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

from ..backbones.spec import short_title
from ..i18n import N_, msg
from ..settings import SettingsError, TrainingSettings

RUN_FORMAT = 2
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")

# How pictures become model input; the same steps run in the app, the CLI and predict.py.
RESIZE_DESCRIPTION = N_(
    "Centre-cropped to a square and resized with Lanczos (PIL ImageOps.fit) to the model's "
    "input size (a JPEG at least twice that size is first decoded at a reduced scale, for speed); "
    "RGB values 0-255; the model does its own preprocessing."
)
# i18n: where a model's starting weights came from, in a table of trained models
WEIGHTS_WORDS = {"imagenet": N_("ImageNet"), "none": N_("from scratch"), "teachable-machine": N_("Teachable Machine"),
                 "imported": N_("imported"), "file": N_("weights file")}
# i18n: how a training ended, in a table of trained models
OUTCOME_WORDS = {"imported": N_("imported"), "failed": N_("failed"), "stopped early": N_("stopped early"),
                 "finished": N_("finished")}


class RunFolderError(ValueError):
    """A run folder (or its run.json / labels.txt) that cannot be used; the message says why."""


@dataclass(frozen=True)
class ValidationPicture:
    """One validation picture kept in the run folder (``file`` relative to it)."""

    file: str
    name: str
    label: str


@dataclass(frozen=True)
class DatasetInfo:
    """The picture set a run was trained on."""

    name: str = "pictures"
    counts: dict[str, int] = field(default_factory=dict)
    fingerprint: str | None = None
    report: dict | None = None

    @property
    def pictures(self) -> int:
        return sum(self.counts.values())

    @property
    def short_name(self) -> str:
        """The set's name as people call it: a folder's own name rather than its whole path
        (runs saved without a name kept the folder the pictures came from)."""
        name = self.name.rstrip("/\\")
        if "/" in name or "\\" in name:
            name = name.replace("\\", "/").rsplit("/", 1)[-1]
        return name or "pictures"


@dataclass(frozen=True)
class RunRecord:
    """Everything known about one run. Learned numbers are ``None`` for imported models."""

    name: str
    backbone: str | None  # registry name; None for a model of unknown origin
    backbone_title: str
    weights: str  # "imagenet" | "none" | "file" | "teachable-machine" | "imported"
    weights_source: str  # how the weights are shown to people
    input_size: int
    classes: tuple[str, ...]
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    settings: TrainingSettings | None = None  # None: not trained here (imported)
    blocks: int | None = None  # blocks the backbone has
    learning_blocks: int = 0  # blocks that learned (all of them from scratch)
    history: dict[str, tuple[float, ...]] = field(default_factory=lambda: {m: () for m in METRICS})
    fine_tune_start_epoch: int | None = None
    best_epoch: int | None = None
    stopped: bool = False
    failed: str | None = None
    fast_path: bool = False
    augmented_views: int = 0  # changed copies of each picture seen by the frozen network once (cached)
    val_accuracy: float | None = None
    val_pictures: int = 0
    val_near_copies: int = 0  # validation pictures with a near-copy among the training ones (a camera burst)
    train_pictures: int = 0
    batch_size: int | None = None  # the batch size used ("auto" resolved)
    timings: dict[str, float] = field(default_factory=dict)
    dataset: DatasetInfo = field(default_factory=DatasetInfo)
    validation: tuple[ValidationPicture, ...] = ()
    imported: bool = False
    source: str | None = None  # where an imported model came from
    notes: tuple[str, ...] = ()  # things worth knowing, in plain words
    resize: str = RESIZE_DESCRIPTION
    extra: dict[str, Any] = field(default_factory=dict)  # keys of newer files, kept as they are

    def __post_init__(self):
        bad = [name for name in self.classes if not name or any(ch in name for ch in "\n\r\t")]
        if bad or len(self.classes) < 2:
            raise RunFolderError(
                f"A run needs at least 2 class names, each on one line without line breaks; "
                f"got {list(self.classes)!r}. Rename the class folders and train again."
            )

    # -- what pages read -----------------------------------------------------------------------
    @property
    def from_scratch(self) -> bool:
        return self.weights == "none"

    @property
    def epochs_run(self) -> int:
        return len(self.history.get("loss", ()))

    @property
    def validation_too_kind(self) -> bool:
        """A quarter or more of the validation pictures have a near-copy among the training ones
        (frames of one camera burst on both sides of the split): its accuracy flatters the model."""
        return bool(self.val_pictures) and 4 * self.val_near_copies >= self.val_pictures

    @property
    def short_weights(self) -> str:
        """ImageNet / from scratch / Teachable Machine / weights file (one added on the computer
        that trained it: by the teacher, in a class, so never "your")."""
        return msg(WEIGHTS_WORDS.get(self.weights, WEIGHTS_WORDS["file"]))

    @property
    def short_title(self) -> str:
        """"MobileNetV2 (0.35, Teachable Machine size)" → "MobileNetV2 (0.35)"."""
        return short_title(self.backbone_title)

    @property
    def outcome(self) -> str:
        """"imported", "failed", "stopped early" or "finished" (a Message: pages translate it)."""
        if self.imported:
            return msg(OUTCOME_WORDS["imported"])
        if self.failed:
            return msg(OUTCOME_WORDS["failed"])
        return msg(OUTCOME_WORDS["stopped early"] if self.stopped else OUTCOME_WORDS["finished"])

    @property
    def experiment(self) -> str | None:
        """The id of the experiment this run belongs to, if any."""
        value = self.extra.get("experiment")
        return value if isinstance(value, str) else None

    @property
    def default_name(self) -> str:
        return f"{self.backbone_title} · {self.weights_source}"

    @property
    def weights_words(self) -> str:
        """``weights_source`` as a Message: the app's own words ("ImageNet", "File: NAME") translate
        where a page shows them; a file's name stays as it is."""
        if self.weights_source.startswith("File: "):
            return msg("File: {name}", name=self.weights_source[len("File: "):])
        return msg(self.weights_source)

    def shown_name(self, name: str) -> str:
        """A run's ``name`` to show: the default name (network and weights) in the reader's language,
        a name someone chose as it is."""
        if name != self.default_name:
            return name
        return msg("{network} · {weights}", network=msg(self.backbone_title), weights=self.weights_words)

    # -- storing -------------------------------------------------------------------------------
    def replace(self, **changes) -> "RunRecord":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        data.update(
            format=RUN_FORMAT,
            classes=list(self.classes),
            settings=self.settings.to_dict() if self.settings else None,
            history={k: list(v) for k, v in self.history.items()},
            dataset=dataclasses.asdict(self.dataset),
            validation=[dataclasses.asdict(v) for v in self.validation],
            notes=list(self.notes),
        )
        return {**self.extra, **data}

    @classmethod
    def from_dict(cls, data, where: str = "run.json") -> "RunRecord":
        """Read a run.json's contents (this format or the first wave's)."""
        if not isinstance(data, dict):
            raise RunFolderError(f"{where} does not describe a run (it holds a {type(data).__name__}, "
                                 "not a set of named values). Train the run again or import its model.")
        return _Reader(data, where).record()


class _Reader:
    """Reads one run.json dict field by field, with the field's name in every error."""

    def __init__(self, data: dict, where: str):
        self.data, self.where = data, where

    def fail(self, key: str, wanted: str):
        value, words = self.data.get(key), key.replace("_", " ")
        shown = repr(value) if isinstance(value, (str, int, float, bool)) and len(repr(value)) <= 40 else None
        given = f"gives {words} as {shown}" if shown else f"gives {words} in a form that is not readable"
        raise RunFolderError(f"{self.where} {given}; it must be {wanted}. "
                             "The file was changed or damaged: train the run again or import its model.")

    def number(self, key: str, kind=int, default=None, section: dict | None = None):
        source = self.data if section is None else section
        value = source.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not math.isfinite(value)):
            self.fail(key, "a number")
        return kind(value)

    def text(self, key: str, default: str = "") -> str:
        value = self.data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, str):
            self.fail(key, "text")
        return value

    def history(self) -> dict[str, tuple[float, ...]]:
        raw = self.data.get("history") or {}
        if not isinstance(raw, dict):
            self.fail("history", "a set of named lists")
        try:
            history = {name: tuple(float(v) for v in raw.get(name, [])) for name in METRICS}
        except (TypeError, ValueError):
            self.fail("history", "lists of numbers")
        return history

    def settings(self) -> TrainingSettings | None:
        raw = self.data.get("settings")
        if not raw or self.data.get("imported"):
            return None
        if not isinstance(raw, dict):
            self.fail("settings", "a set of named values")
        values = dict(raw)
        if "batch_size_setting" in values:  # the first wave kept the resolved size under batch_size
            values["batch_size"] = values.pop("batch_size_setting")
        for key in ("backbone", "weights", "input_size"):
            values.setdefault(key, self.data.get(key))
        values.setdefault("learning_blocks", self.data.get("learning_blocks", self.data.get("freeze_depth", 0)))
        try:
            return TrainingSettings.from_dict(values)
        except SettingsError as error:
            raise RunFolderError(f"{self.where} holds settings that cannot be used: {error}") from None

    def record(self) -> RunRecord:
        d = self.data
        metrics = d.get("metrics") if isinstance(d.get("metrics"), dict) else {}
        classes = d.get("classes") or []
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            self.fail("classes", "a list of class names")
        input_size = self.number("input_size")
        if input_size is None or not 8 <= input_size <= 4096:
            self.fail("input_size", "a picture size in pixels, such as 224")
        known = {f.name for f in dataclasses.fields(RunRecord)} | {"format", "metrics", "freeze_depth"}
        return RunRecord(
            name=self.text("name") or "run",
            created=self.text("created"),
            backbone=d.get("backbone") if isinstance(d.get("backbone"), str) and d.get("backbone") != "unknown" else None,
            backbone_title=self.text("backbone_title") or "Unknown network",
            weights=self.text("weights", "imported"),
            weights_source=self.text("weights_source", "unknown"),
            input_size=input_size,
            classes=tuple(classes),
            settings=self.settings(),
            blocks=self.number("blocks"),
            learning_blocks=self.number("learning_blocks", default=self.number("freeze_depth", default=0)),
            history=self.history(),
            fine_tune_start_epoch=self.number("fine_tune_start_epoch"),
            best_epoch=self.number("best_epoch"),
            stopped=bool(d.get("stopped")),
            failed=d.get("failed") if isinstance(d.get("failed"), str) else None,
            fast_path=bool(d.get("fast_path")),
            augmented_views=self.number("augmented_views", default=0),
            val_accuracy=self.number("val_accuracy", float, self.number("val_accuracy", float, None, metrics)),
            val_pictures=self.number("val_pictures", default=self.number("val_pictures", int, 0, metrics)),
            val_near_copies=self.number("val_near_copies", default=0),
            train_pictures=self.number("train_pictures", default=self.number("train_pictures", int, 0, metrics)),
            batch_size=self.number("batch_size", default=self._first_wave_batch_size()),
            timings={str(k): float(v) for k, v in (d.get("timings") or {}).items()
                     if isinstance(v, (int, float))} if isinstance(d.get("timings"), dict) else {},
            dataset=self._dataset(),
            validation=self._validation(),
            imported=bool(d.get("imported")),
            source=d.get("source") or d.get("imported_from"),
            notes=tuple(str(n) for n in d.get("notes") or () if isinstance(n, str)),
            resize=self.text("resize", RESIZE_DESCRIPTION),
            extra={k: v for k, v in d.items() if k not in known},
        )

    def _first_wave_batch_size(self) -> int | None:
        settings = self.data.get("settings")
        size = settings.get("batch_size") if isinstance(settings, dict) else None
        return size if isinstance(size, int) and not isinstance(size, bool) else None

    def _dataset(self) -> DatasetInfo:
        raw = self.data.get("dataset") or {}
        if not isinstance(raw, dict):
            return DatasetInfo()
        counts = raw.get("counts") if isinstance(raw.get("counts"), dict) else {}
        return DatasetInfo(
            name=str(raw.get("name") or "pictures"),
            counts={str(k): int(v) for k, v in counts.items() if isinstance(v, int)},
            fingerprint=raw.get("fingerprint") if isinstance(raw.get("fingerprint"), str) else None,
            report=raw.get("report") if isinstance(raw.get("report"), dict) else None,
        )

    def _validation(self) -> tuple[ValidationPicture, ...]:
        entries = self.data.get("validation") or []
        if not isinstance(entries, list):
            self.fail("validation", "a list of pictures")
        kept = []
        for entry in entries:
            if isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in ("file", "name", "label")):
                kept.append(ValidationPicture(entry["file"], entry["name"], entry["label"]))
        return tuple(kept)
