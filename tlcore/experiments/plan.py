"""What an experiment compares: its configurations, how often, and how long each training should take.

``ExperimentPlan.grid`` makes every combination; the presets a teacher clicks
(``transfer_vs_scratch``, ``which_network``, ``how_many_pictures``) compare networks whose
pretrained weights are on this computer. Each training's time is first guessed from the
network's speed figure (``planned_trainings``), then corrected by what this computer measured
before (``training_times``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path

from ..backbones.registry import BACKBONES
from ..i18n import N_, msg, msg_n
from ..backbones.weights import imagenet_weights_cached, network_with_weights, weights_here
from ..settings import DEFAULT_VALIDATION_FRACTION, SettingsError, TrainingSettings, is_from_scratch
from ..training_times import TrainingTimes, factor, first_guess


MINE, CLASS = "mine", "class"  # which pictures train (Configuration.pictures)
PICTURES_WORDS = {MINE: N_("Only my pictures"), CLASS: N_("The whole class's pictures")}  # start a sentence too


@dataclass(frozen=True)
class Configuration:
    """One cell of the grid."""

    backbone: str
    weights: str = "imagenet"  # "imagenet", "none" or a weights file
    learning_blocks: int = 0
    augment: tuple[str, ...] = ()
    per_class: int | None = None  # training pictures per class (None: all)
    pictures: str | None = None  # MINE: only the student's own pictures train; CLASS: the whole class's (None: all)

    def settings(self, base: TrainingSettings) -> TrainingSettings:
        return base.choose(backbone=self.backbone, weights=self.weights, learning_blocks=self.learning_blocks,
                           augment=self.augment)

    @property
    def from_scratch(self) -> bool:
        return is_from_scratch(self.weights)

    @property
    def label(self) -> str:
        """Short and unique within a grid: "MobileNetV2 (0.35) · ImageNet · head only · 10 per class"
        (a Message: pages translate it)."""
        return joined_label(self.label_parts())

    def label_parts(self) -> list[str]:
        """The label's parts, each whole (a Message, or the network's name)."""
        spec = BACKBONES[self.backbone]
        weights = {"imagenet": msg("ImageNet"), "none": msg("from scratch")}.get(self.weights) or _file_words(
            self.weights)
        parts = [spec.short_title, weights]
        if not self.from_scratch:
            parts.append(msg_n("top {count} block fine-tuned", "top {count} blocks fine-tuned", self.learning_blocks)
                         if self.learning_blocks else msg("head only"))
        if self.augment:
            parts.append(msg("augmented: {changes}", changes="+".join(self.augment)))
        if self.per_class is not None:
            parts.append(msg("{number} per class", number=self.per_class))
        if self.pictures in PICTURES_WORDS:
            parts.append(msg(PICTURES_WORDS[self.pictures]))
        return parts

    def to_dict(self) -> dict:
        data = asdict(self)
        data["augment"] = list(self.augment)
        return data


@dataclass(frozen=True)
class PlannedTraining:
    """One training of a plan and its first guess of time (before this computer's measures)."""

    configuration: int  # index in the plan
    repeat: int
    kind: str  # what its time is measured as: "mobilenet_v2_035/head", "mobilenet_v2/whole", "…/head+top"
    seconds: float
    features_seconds: float = 0.0  # computing the frozen part's outputs, if this training is the first to need them

    @property
    def guessed(self) -> float:
        return self.seconds + self.features_seconds


@dataclass(frozen=True)
class ExperimentPlan:
    """What to compare, how often, and how long each training is."""

    configurations: tuple[Configuration, ...]
    repeats: int = 3
    epochs: int = 5
    input_size: int | None = None
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION
    seed: int = 0
    name: str = "Experiment"
    preset: str | None = None  # "transfer_vs_scratch" | "which_network" | "how_many_pictures"
    dataset_name: str | None = None  # the picture set's name, written into each kept run
    download_weights: bool = True  # False: a configuration whose ImageNet weights are not here is left out
    own_folder: str | None = None  # where the student's own pictures are (for a configuration of MINE)

    def __post_init__(self):
        if not self.configurations:
            raise SettingsError("An experiment needs at least one configuration to train.")
        if not 1 <= int(self.repeats) <= 20:
            raise SettingsError(f"Repeats must be between 1 and 20; got {self.repeats}.")
        for configuration in self.configurations:  # every setting checked before any work
            configuration.settings(self.base_settings())
            if configuration.pictures == MINE and not self.own_folder:
                raise SettingsError("Training on only the student's own pictures needs own_folder (where they are).")

    def base_settings(self) -> TrainingSettings:
        return TrainingSettings(epochs=self.epochs, input_size=self.input_size,
                                validation_fraction=self.validation_fraction, seed=self.seed)

    @property
    def trainings(self) -> int:
        return len(self.configurations) * self.repeats

    @classmethod
    def grid(cls, backbones, learning_blocks=(0,), weights=("imagenet",), augment=((),), per_class=(None,),
             **options) -> "ExperimentPlan":
        """Every combination; from scratch ignores learning blocks (duplicates dropped)."""
        seen, configurations = set(), []
        for backbone in backbones:
            for weight in weights:
                scratch = is_from_scratch(weight)
                if not scratch and not BACKBONES[str(backbone).lower()].pretrained:
                    continue  # a network with no pretraining is compared from scratch only
                for blocks in (learning_blocks if not scratch else (0,)):
                    for changes in augment:
                        for count in per_class:
                            item = Configuration(str(backbone).lower(), str(weight), int(blocks), tuple(changes), count)
                            if item not in seen:
                                seen.add(item)
                                configurations.append(item)
        return cls(tuple(configurations), **options)

    def missing_weights(self) -> tuple[Configuration, ...]:
        """The configurations that start from ImageNet weights that are not on this computer."""
        return tuple(c for c in self.configurations
                     if c.weights == "imagenet" and not imagenet_weights_cached(BACKBONES[c.backbone], self.input_size))

    def left_out(self) -> tuple[Configuration, ...]:
        """The configurations that will not run: weights missing, and this plan does not download
        (a preset compares the networks whose weights are here)."""
        return () if self.download_weights else self.missing_weights()

    def trainings_to_run(self) -> int:
        return (len(self.configurations) - len(self.left_out())) * self.repeats

    def planned_trainings(self, pictures: int) -> list["PlannedTraining"]:
        """Every training of the plan with its first guess of time, from each backbone's measured
        speed (``training_times.first_guess``). The frozen part's outputs are computed once per
        network, weights, size and augmentation (by the first training that needs them: its
        ``features_seconds``), and reused."""
        planned, extracted = [], set()
        for index, configuration in enumerate(self.configurations):
            kind, seconds, features_key, features_seconds = first_guess(configuration.settings(self.base_settings()),
                                                                        pictures, configuration.per_class)
            for repeat in range(self.repeats):
                first = features_key is not None and features_key not in extracted
                extracted.add(features_key)
                planned.append(PlannedTraining(index, repeat, kind, seconds, features_seconds if first else 0.0))
        return planned

    def estimate_seconds(self, pictures: int, times: TrainingTimes | None = None) -> float:
        """How long the trainings that will run should take on this computer: each one's first
        guess times how much longer than guessed trainings of its kind took here before
        (``times``, default: this computer's, in the cache)."""
        ratios = (times or TrainingTimes()).ratios()
        left_out = self.left_out()
        return sum(item.guessed * (factor(ratios, item.kind) or 1.0) for item in self.planned_trainings(pictures)
                   if self.configurations[item.configuration] not in left_out)

    def to_dict(self) -> dict:
        return {"configurations": [c.to_dict() for c in self.configurations], "repeats": self.repeats,
                "epochs": self.epochs, "input_size": self.input_size, "validation_fraction": self.validation_fraction,
                "seed": self.seed, "name": self.name, "preset": self.preset, "dataset_name": self.dataset_name,
                "download_weights": self.download_weights, "own_folder": self.own_folder}

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentPlan":
        configurations = tuple(Configuration(c["backbone"], c.get("weights", "imagenet"), int(c.get("learning_blocks", 0)),
                                             tuple(c.get("augment") or ()), c.get("per_class"), c.get("pictures"))
                               for c in data.get("configurations", []))
        return cls(configurations, **{k: data[k] for k in ("repeats", "epochs", "input_size", "validation_fraction",
                                                           "seed", "name", "preset", "dataset_name", "download_weights",
                                                           "own_folder")
                                                        if k in data})


# -- presets ------------------------------------------------------------------------------------------
# A preset compares networks whose pretrained weights are on this computer (a weights file the user
# added counts): one whose weights are missing is left out at once, never downloaded mid-lesson.
def _preset(configurations, repeats, epochs, input_size, name, preset, **options) -> ExperimentPlan:
    plan = ExperimentPlan(tuple(configurations), repeats, epochs, input_size, name=name, preset=preset,
                          download_weights=False, **options)
    return with_weights_here(plan)


def transfer_vs_scratch(backbone: str | None = None, weights: str = "imagenet", epochs: int = 10,
                        repeats: int = 3, input_size: int | None = None) -> ExperimentPlan:
    """The lesson in one chart: the same network from pretrained and from random weights, and a small
    CNN from scratch; same pictures, same epochs. ``backbone``: default, a network whose weights are here."""
    backbone = backbone or network_with_weights(None, input_size)
    configurations = (Configuration(backbone, weights), Configuration(backbone, "none"), Configuration("small_cnn", "none"))
    return _preset(configurations, repeats, epochs, input_size, "Transfer vs from scratch", "transfer_vs_scratch")


WHICH_NETWORK = ("vgg16", "resnet50", "inception_v3", "mobilenet_v2")


def which_network(backbones=None, weights: str = "imagenet", epochs: int = 5, repeats: int = 3,
                  input_size: int | None = None) -> ExperimentPlan:
    """The lesson's VGG16, ResNet50 and InceptionV3, with MobileNetV2, and a network whose weights are
    here if none of those has them: the head trained on each (those whose weights are not here are left out)."""
    if backbones is None:
        backbones = tuple(dict.fromkeys(WHICH_NETWORK + (network_with_weights(None, input_size),)))
    return _preset((Configuration(b, weights) for b in backbones), repeats, epochs, input_size, "Which network?",
                   "which_network")


def how_many_pictures(backbone: str | None = None, weights: str = "imagenet", per_class=(2, 5, 10, 20, 50, None),
                      epochs: int = 5, repeats: int = 3, input_size: int | None = None) -> ExperimentPlan:
    """A learning curve: accuracy against pictures per class, each point with repeats."""
    backbone = backbone or network_with_weights(None, input_size)
    return _preset((Configuration(backbone, weights, per_class=n) for n in per_class), repeats, epochs, input_size,
                   "How many pictures are enough?", "how_many_pictures")


def mine_vs_class(own_folder, backbone: str | None = None, weights: str = "imagenet", epochs: int = 5,
                  repeats: int = 3, input_size: int | None = None) -> ExperimentPlan:
    """Classroom: the same network trained on the student's own pictures only, and on the whole class's
    (theirs and the class pool's); both checked on the same held-back pictures of everyone's, so a model
    that only knows one desk and one light shows it. ``own_folder``: the student's pictures folder."""
    backbone = backbone or network_with_weights(None, input_size)
    return _preset((Configuration(backbone, weights, pictures=MINE), Configuration(backbone, weights, pictures=CLASS)),
                   repeats, epochs, input_size, "My pictures vs the whole class's", "mine_vs_class",
                   own_folder=str(own_folder))


def with_weights_here(plan: ExperimentPlan, input_size: int | None = None) -> ExperimentPlan:
    """The plan with "imagenet" replaced, for each network whose ImageNet weights are not on this
    computer, by the weights file the user added for it (if any). Networks with neither stay on
    "imagenet": the experiment tries to download them, and skips them if it cannot."""
    changed = []
    for configuration in plan.configurations:
        if configuration.weights == "imagenet":
            here = weights_here(configuration.backbone, input_size or plan.input_size)
            if here is not None:
                configuration = dataclasses.replace(configuration, weights=here)
        changed.append(configuration)
    return dataclasses.replace(plan, configurations=tuple(changed))


def _file_words(weights: str) -> str:
    """How a weights file is named in a label: the file the user added, or the file's own name."""
    from ..backbones.weights import weights_library_dir

    path = Path(weights)
    return msg("your weights file") if path.parent == weights_library_dir() else msg("file {name}", name=path.name)


def joined_label(parts) -> str:
    """Parts of a label one after another, "VGG16 · ImageNet · head only" (a Message when any part is one)."""
    parts = list(parts)
    if not parts:
        return ""
    label = parts[-1]
    for part in reversed(parts[:-1]):
        # i18n: two parts of a training's label, "VGG16 · head only"; keep the dot unless your language has another
        label = msg("{first} · {then}", first=part, then=label)
    return label
