"""Experiments: a grid of configurations, each trained on the same seeded splits, with honest error bars.

    plan = ExperimentPlan.grid(["mobilenet_v2_035"], weights=["imagenet", "none"], repeats=3, epochs=5)
    experiment = Experiment(plan, workspace=...).run(dataset)     # returns self
    experiment.rows_                                              # one ConfigurationRow per configuration

Every configuration is trained on the same splits (``stats.stratified_splits``), so the
differences between rows come from the configurations, not from which pictures were kept
aside; for "how many pictures are enough", smaller training sets are drawn from the training
part of each split, nested (the 5 pictures per class are among the 10). The feature cache
makes repeats and learning-curve points cheap: the frozen part's outputs depend on the
pictures, not on the split. A configuration whose starting weights are missing offline is
*skipped* (with the reason), never a failure of the whole experiment.

Presets a teacher clicks: ``transfer_vs_scratch``, ``which_network``, ``how_many_pictures``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .backbones.registry import BACKBONES
from .backbones.weights import WeightsUnavailableError, imagenet_weights_cached, library_weights_file
from .settings import SettingsError, TrainingSettings
from .understand.stats import accuracy_summary, per_class_counts, stratified_splits, summary

log = logging.getLogger(__name__)

EXPERIMENTS_DIR = "experiments"
EXPERIMENT_FILE = "experiment.json"
EXPERIMENT_FORMAT = 1


@dataclass(frozen=True)
class Configuration:
    """One cell of the grid."""

    backbone: str
    weights: str = "imagenet"  # "imagenet", "none" or a weights file
    learning_blocks: int = 0
    augment: tuple[str, ...] = ()
    per_class: int | None = None  # training pictures per class (None: all)

    def settings(self, base: TrainingSettings) -> TrainingSettings:
        blocks = 0 if self.weights == "none" else self.learning_blocks
        return base.replace(backbone=self.backbone, weights=self.weights, learning_blocks=blocks,
                            fine_tune_epochs=base.epochs if blocks else 0, augment=self.augment)

    @property
    def label(self) -> str:
        """Short and unique within a grid: "MobileNetV2 (0.35) · ImageNet · head only · 10 per class"."""
        spec = BACKBONES[self.backbone]
        weights = {"imagenet": "ImageNet", "none": "from scratch"}.get(self.weights) or _file_words(self.weights)
        parts = [spec.short_title, weights]
        if self.weights != "none":
            parts.append(f"top {self.learning_blocks} blocks fine-tuned" if self.learning_blocks else "head only")
        if self.augment:
            parts.append("augmented: " + "+".join(self.augment))
        if self.per_class is not None:
            parts.append(f"{self.per_class} per class")
        return " · ".join(parts)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["augment"] = list(self.augment)
        return data


@dataclass(frozen=True)
class ExperimentPlan:
    """What to compare, how often, and how long each training is."""

    configurations: tuple[Configuration, ...]
    repeats: int = 3
    epochs: int = 5
    input_size: int | None = None
    validation_fraction: float = 0.2
    seed: int = 0
    name: str = "Experiment"
    preset: str | None = None  # "transfer_vs_scratch" | "which_network" | "how_many_pictures"
    dataset_name: str | None = None  # the picture set's name, written into each kept run

    def __post_init__(self):
        if not self.configurations:
            raise SettingsError("An experiment needs at least one configuration to train.")
        if not 1 <= int(self.repeats) <= 20:
            raise SettingsError(f"Repeats must be between 1 and 20; got {self.repeats}.")
        for configuration in self.configurations:  # every setting checked before any work
            configuration.settings(self.base_settings())

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
                if weight != "none" and not BACKBONES[str(backbone).lower()].pretrained:
                    continue  # a network with no pretraining is compared from scratch only
                for blocks in (learning_blocks if weight != "none" else (0,)):
                    for changes in augment:
                        for count in per_class:
                            item = Configuration(str(backbone).lower(), str(weight), int(blocks), tuple(changes), count)
                            if item not in seen:
                                seen.add(item)
                                configurations.append(item)
        return cls(tuple(configurations), **options)

    def estimate_seconds(self, pictures: int) -> float:
        """A rough time for the whole plan on a 2-core laptop, from each backbone's measured
        speed (scaled to the picture size) and what the training costs besides passes.

        Measured here (2 cores, 90 pictures): a head on cached features takes about 3.5 s a
        training (building the network, fitting the head, keeping a run); when the whole network learns,
        building and tracing its training step takes about 25 s (5 s for the small CNN),
        and an epoch costs about 18 inference passes over the pictures (2 for the small CNN,
        whose speed figure is for its own small size). The frozen part's outputs are
        computed once per network, weights, size and augmentation, and reused."""
        total, extracted = 0.0, set()
        for configuration in self.configurations:
            settings = configuration.settings(self.base_settings())
            spec = settings.spec
            scale = (settings.resolved_input_size / spec.input_size) ** 2
            every_picture = pictures * scale / max(spec.pictures_per_second, 1)
            trained = every_picture if configuration.per_class is None else min(
                every_picture, configuration.per_class * 10 * scale / max(spec.pictures_per_second, 1))
            if configuration.weights == "none" or (settings.augment and not settings.uses_augmented_views):
                setup, passes = (25.0, 18) if spec.pretrained else (5.0, 2)
                per_repeat = setup + passes * trained * settings.total_epochs
            else:
                key = (configuration.backbone, configuration.weights, settings.resolved_input_size, settings.augment)
                if key not in extracted:  # the first training of this kind fills the cache
                    extracted.add(key)
                    total += 2 + every_picture * (1 + (settings.augment_views if settings.augment else 0))
                per_repeat = 3.5
                if settings.uses_fine_tuning:  # top blocks learn on the outputs cached at their boundary
                    per_repeat += 8 + 3 * trained * settings.resolved_fine_tune_epochs
            total += per_repeat * self.repeats
        return total

    def to_dict(self) -> dict:
        return {"configurations": [c.to_dict() for c in self.configurations], "repeats": self.repeats,
                "epochs": self.epochs, "input_size": self.input_size, "validation_fraction": self.validation_fraction,
                "seed": self.seed, "name": self.name, "preset": self.preset, "dataset_name": self.dataset_name}

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentPlan":
        configurations = tuple(Configuration(c["backbone"], c.get("weights", "imagenet"), int(c.get("learning_blocks", 0)),
                                             tuple(c.get("augment") or ()), c.get("per_class"))
                               for c in data.get("configurations", []))
        return cls(configurations, **{k: data[k] for k in ("repeats", "epochs", "input_size", "validation_fraction",
                                                           "seed", "name", "preset", "dataset_name") if k in data})


# -- presets ------------------------------------------------------------------------------------------
def transfer_vs_scratch(backbone: str = "mobilenet_v2", weights: str = "imagenet", epochs: int = 10,
                        repeats: int = 3, input_size: int | None = None) -> ExperimentPlan:
    """The lesson in one chart: the same network from ImageNet and from random weights, and a small CNN
    from scratch; same pictures, same epochs."""
    configurations = (Configuration(backbone, weights), Configuration(backbone, "none"), Configuration("small_cnn", "none"))
    return ExperimentPlan(configurations, repeats, epochs, input_size, name="Transfer vs from scratch",
                          preset="transfer_vs_scratch")


WHICH_NETWORK = ("vgg16", "resnet50", "inception_v3", "mobilenet_v2")


def which_network(backbones=WHICH_NETWORK, weights: str = "imagenet", epochs: int = 5, repeats: int = 3,
                  input_size: int | None = None) -> ExperimentPlan:
    """The lesson's VGG16, ResNet50 and InceptionV3, with MobileNetV2: the head trained on each."""
    return ExperimentPlan(tuple(Configuration(b, weights) for b in backbones), repeats, epochs, input_size,
                          name="Which network?", preset="which_network")


def how_many_pictures(backbone: str = "mobilenet_v2", weights: str = "imagenet", per_class=(2, 5, 10, 20, 50, None),
                      epochs: int = 5, repeats: int = 3, input_size: int | None = None) -> ExperimentPlan:
    """A learning curve: accuracy against pictures per class, each point with repeats."""
    return ExperimentPlan(tuple(Configuration(backbone, weights, per_class=n) for n in per_class), repeats, epochs,
                          input_size, name="How many pictures are enough?", preset="how_many_pictures")


# -- results ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RepeatResult:
    configuration: int  # index in the plan
    repeat: int
    val_accuracy: float
    per_class_accuracy: dict[str, float]
    train_seconds: float
    cache_hit: bool
    train_pictures: int
    history: dict[str, list[float]]


@dataclass(frozen=True)
class ConfigurationRow:
    """One line of the results table: a configuration over its repeats."""

    configuration: Configuration
    repeats: int
    val_accuracy_mean: float
    val_accuracy_sd: float | None
    val_accuracy_ci95: tuple[float, float] | None
    train_seconds_mean: float
    cache_reused: bool
    model_parameters: int | None
    latency_ms: float | None
    per_class_accuracy: dict[str, float]  # mean over repeats
    train_pictures: int  # mean training pictures per repeat
    run: str | None = None  # the run folder kept (the first repeat's)

    @property
    def model_mb(self) -> float | None:
        return None if self.model_parameters is None else self.model_parameters * 4 / 1e6

    def to_dict(self) -> dict:
        c = self.configuration
        return {
            "configuration": c.label, "backbone": c.backbone, "weights": c.weights,
            "learning_blocks": c.learning_blocks, "augment": list(c.augment) or ["none"],
            "per_class": "all" if c.per_class is None else c.per_class, "repeats": self.repeats,
            "val_accuracy_mean": round(self.val_accuracy_mean, 4),
            "val_accuracy_sd": None if self.val_accuracy_sd is None else round(self.val_accuracy_sd, 4),
            "val_accuracy_ci95": None if self.val_accuracy_ci95 is None else [round(v, 4) for v in self.val_accuracy_ci95],
            "train_seconds_mean": round(self.train_seconds_mean, 2), "cache_reused": self.cache_reused,
            "model_mb": None if self.model_mb is None else round(self.model_mb, 2),
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
            "per_class_accuracy": {k: round(v, 4) for k, v in self.per_class_accuracy.items()},
            "train_pictures": self.train_pictures, "run": self.run,
        }


@dataclass(frozen=True)
class Skipped:
    configuration: Configuration
    reason: str


class StopExperiment(Exception):
    """Raised by a progress callback to stop the rest of an experiment."""


class _CannotStart(Exception):
    """This configuration cannot train here (its message says why); the others go on."""


class Experiment:
    """Runs an ExperimentPlan: ``run(dataset)`` returns self.

    Learned state: ``rows_`` (ConfigurationRow per configuration that ran), ``repeats_``
    (RepeatResult per training), ``skipped_`` (configurations that could not run, and why),
    ``stopped_``, ``path_`` (the saved experiment folder, when a workspace is given)."""

    def __init__(self, plan: ExperimentPlan, workspace=None, cache_dir=None, measure_latency: bool = True,
                 save_runs: bool = True):
        self.plan = plan
        self.workspace = workspace
        self.cache_dir = cache_dir
        self.measure_latency = measure_latency
        self.save_runs = save_runs
        self._stop = threading.Event()

    def stop(self) -> None:
        """The training under way ends at its next step; the rest of the plan is not trained."""
        self._stop.set()
        trainer = getattr(self, "_trainer", None)
        if trainer is not None:
            trainer.request_stop()

    def run(self, dataset, on_progress=None) -> "Experiment":
        """Train every configuration on the same splits. ``on_progress(done, total, label)`` after each training."""
        self.rows_, self.repeats_, self.skipped_, self.stopped_ = [], [], [], False
        self.started_ = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.id_ = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(self.plan.name)}"
        self._dataset = dataset
        splits = stratified_splits(dataset, self.plan.repeats, self.plan.validation_fraction, self.plan.seed)
        done, total = 0, self.plan.trainings
        for index, configuration in enumerate(self.plan.configurations):
            if self._stop.is_set():
                self.stopped_ = True
                break
            reason = self._cannot_start(configuration)
            if reason:
                self.skipped_.append(Skipped(configuration, reason))
                done += self.plan.repeats
                continue
            try:
                self._run_configuration(index, configuration, splits, on_progress, done, total)
            except (WeightsUnavailableError, _CannotStart) as error:
                self.skipped_.append(Skipped(configuration, str(error)))
            except StopExperiment:
                self.stopped_ = True
                break
            done += self.plan.repeats
        if self.workspace is not None:
            self.path_ = self.save(Path(self.workspace) / EXPERIMENTS_DIR / self.id_)
        return self

    def _run_configuration(self, index, configuration, splits, on_progress, done, total) -> None:
        from .runs import claim_run_folder, save_run
        from .training import Trainer

        settings = configuration.settings(self.plan.base_settings())
        results, kept_run, parameters = [], None, None
        for repeat, (train, val) in enumerate(splits):
            if self._stop.is_set():
                raise StopExperiment()
            if configuration.per_class is not None:
                train = per_class_counts(self._dataset, train, configuration.per_class, self.plan.seed + repeat)
            trainer = self._trainer = Trainer(settings.replace(seed=self.plan.seed + repeat), cache_dir=self.cache_dir)
            try:
                trainer.fit(self._dataset, train, val)
            except ValueError as error:  # e.g. a weights file made for another network
                if repeat:
                    raise
                raise _CannotStart(str(error)) from None
            if trainer.stopped_ and self._stop.is_set():
                raise StopExperiment()
            results.append(self._repeat_result(index, repeat, trainer))
            parameters = int(trainer.model_.model.count_params())
            if repeat == 0 and self.save_runs and self.workspace is not None:
                name = f"{self.plan.name}: {configuration.label}"
                folder = claim_run_folder(self.workspace, configuration.backbone)
                kept_run = save_run(trainer, self._dataset, folder, name=name, dataset_name=self.plan.dataset_name,
                                    extra={"experiment": self.id_}).path.name
            if on_progress is not None:
                on_progress(done + repeat + 1, total, configuration.label)
        self.repeats_ += results
        latency = self._latency_once(settings) if self.measure_latency else None
        self.rows_.append(_row(configuration, results, parameters, latency, kept_run))

    def _repeat_result(self, index: int, repeat: int, trainer) -> RepeatResult:
        truth = np.asarray(self._dataset.labels)[trainer.val_indices_]
        predicted = trainer.val_probabilities_.argmax(axis=1)
        per_class = {name: float((predicted[truth == c] == c).mean()) for c, name in enumerate(trainer.class_names_)
                     if (truth == c).any()}
        return RepeatResult(index, repeat, float(trainer.val_accuracy_), per_class, float(trainer.train_seconds_),
                            bool(trainer.feature_cache_hit_), len(trainer.train_indices_),
                            {k: [float(v) for v in values] for k, values in trainer.history_.items()})

    def _cannot_start(self, configuration: Configuration) -> str | None:
        """Why a configuration cannot start here (asked once per network and size), or None."""
        known = self.__dict__.setdefault("_weights_checked", {})
        key = (configuration.backbone, configuration.weights, self.plan.input_size)
        if key not in known:
            known[key] = _missing_weights(configuration, self.plan.input_size)
        return known[key]

    def _latency_once(self, settings: TrainingSettings) -> float | None:
        """One picture's time, measured once per network and size (building a model costs seconds)."""
        known = self.__dict__.setdefault("_latencies", {})
        key = (settings.backbone, settings.resolved_input_size)
        if key not in known:
            known[key] = self._latency(settings)
        return known[key]

    @staticmethod
    def _latency(settings: TrainingSettings) -> float | None:
        from .speed import prediction_milliseconds

        try:
            return prediction_milliseconds(settings.backbone, settings.input_size)
        except Exception as error:  # a speed figure is a bonus: never fail the experiment for it
            log.warning("Could not time one picture for %s: %s", settings.backbone, error)
            return None

    # -- storing ------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": EXPERIMENT_FORMAT, "id": self.id_, "created": self.started_, "plan": self.plan.to_dict(),
                "rows": [row.to_dict() for row in self.rows_],
                "repeats": [asdict(r) for r in self.repeats_],
                "skipped": [{"configuration": s.configuration.label, "reason": s.reason} for s in self.skipped_],
                "stopped": self.stopped_}

    def save(self, folder) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / (EXPERIMENT_FILE + ".tmp")
        temporary.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        temporary.replace(folder / EXPERIMENT_FILE)
        return folder


def _row(configuration, results: list[RepeatResult], parameters, latency, run) -> ConfigurationRow:
    accuracy = accuracy_summary([r.val_accuracy for r in results])
    classes = sorted({name for r in results for name in r.per_class_accuracy})
    per_class = {name: float(np.mean([r.per_class_accuracy[name] for r in results if name in r.per_class_accuracy]))
                 for name in classes}
    return ConfigurationRow(configuration, len(results), accuracy.mean, accuracy.sd, accuracy.ci95,
                            summary([r.train_seconds for r in results]).mean, any(r.cache_hit for r in results),
                            parameters, latency, per_class, int(np.mean([r.train_pictures for r in results])), run)


def _missing_weights(configuration: Configuration, input_size) -> str | None:
    """Why this configuration cannot start here (ImageNet weights not on this computer and no way to
    download them), or None. A download that works on the user's machine is left to Keras."""
    if configuration.weights != "imagenet":
        return None
    spec = BACKBONES[configuration.backbone]
    if imagenet_weights_cached(spec, input_size):
        return None
    from .backbones.download import ensure_imagenet_weights

    try:
        ensure_imagenet_weights(spec, input_size)
    except WeightsUnavailableError:
        hint = " (a weights file you added is on this computer: compare with it instead)" if library_weights_file(spec) else ""
        return f"its ImageNet weights are not on this computer and could not be downloaded{hint}"
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:40] or "experiment"


def list_experiments(workspace) -> list[dict]:
    """Saved experiments in ``workspace``, newest first (each experiment.json's contents)."""
    folder = Path(workspace) / EXPERIMENTS_DIR
    found = []
    for child in sorted(folder.iterdir(), reverse=True) if folder.is_dir() else []:
        try:
            found.append(json.loads((child / EXPERIMENT_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return found


# -- for pages: names that differ, weights that are here, the answer in one sentence -----------------
def short_labels(configurations) -> list[str]:
    """Each configuration's label without the parts every configuration shares: on a chart
    comparing networks, "VGG16" and "ResNet50" rather than two long lines that differ in one word."""
    configurations = list(configurations)
    some_per_class = any(c.per_class is not None for c in configurations)
    parts = [c.label.split(" · ") + (["all pictures"] if some_per_class and c.per_class is None else [])
             for c in configurations]
    if len(parts) < 2:
        return [" · ".join(p) for p in parts]
    shared = set.intersection(*(set(p) for p in parts))
    labels = [" · ".join(x for x in p if x not in shared) or " · ".join(p) for p in parts]
    return labels if len(set(labels)) == len(labels) else [" · ".join(p) for p in parts]


def with_weights_here(plan: ExperimentPlan, input_size: int | None = None) -> ExperimentPlan:
    """The plan with "imagenet" replaced, for each network whose ImageNet weights are not on this
    computer, by the weights file the user added for it (if any). Networks with neither stay on
    "imagenet": the experiment tries to download them, and skips them if it cannot."""
    from .understand.features import weights_here

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
    from .backbones.weights import weights_library_dir

    path = Path(weights)
    return "your weights file" if path.parent == weights_library_dir() else f"file {path.name}"


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _interval(row: dict) -> str:
    ci = row.get("val_accuracy_ci95")
    return f" (95% interval {_percent(ci[0])} to {_percent(ci[1])})" if ci else ""


def _overlap(a: dict, b: dict) -> bool:
    """Whether two rows' 95 % intervals overlap (without intervals: within 2 points)."""
    ca, cb = a.get("val_accuracy_ci95"), b.get("val_accuracy_ci95")
    if ca and cb:
        return ca[0] <= cb[1] and cb[0] <= ca[1]
    return abs(a["val_accuracy_mean"] - b["val_accuracy_mean"]) <= 0.02


def answer_sentence(experiment: dict) -> str:
    """The experiment's answer in one plain sentence, from its saved dict (``Experiment.to_dict``)."""
    rows, preset = experiment.get("rows") or [], (experiment.get("plan") or {}).get("preset")
    if not rows:
        return "Nothing was trained to the end, so there is no answer yet."
    if preset == "transfer_vs_scratch":
        return _transfer_sentence(rows)
    if preset == "how_many_pictures":
        return _pictures_sentence(rows)
    ranked = sorted(rows, key=lambda r: -r["val_accuracy_mean"])
    best, names = ranked[0], dict(zip((r["configuration"] for r in rows),
                                      short_labels([configuration_of(r) for r in rows])))
    if len(rows) == 1 and experiment.get("skipped"):
        return (f"Only {BACKBONES[best['backbone']].short_title} could be trained here: "
                f"{_percent(best['val_accuracy_mean'])} right{_interval(best)}. The others were skipped (see why below).")
    sentence = (f"Best: {names[best['configuration']]} with {_percent(best['val_accuracy_mean'])} "
                f"right{_interval(best)}.")
    close = [r for r in ranked[1:] if _overlap(best, r)]
    if close:
        sentence += (f" {names[close[0]['configuration']]} ({_percent(close[0]['val_accuracy_mean'])}) is within its "
                     "error bars: with these pictures, no clear winner between them.")
    elif len(ranked) > 1:
        runner_up = ranked[1]
        sentence += (f" Clearly ahead of the next, {names[runner_up['configuration']]} "
                     f"({_percent(runner_up['val_accuracy_mean'])}).")
    return sentence


def configuration_of(row: dict) -> Configuration:
    """The Configuration a saved row (or a plan's configuration dict) describes; nothing is checked,
    so an old experiment whose weights file is gone still reads."""
    per_class = row.get("per_class")
    return Configuration(row["backbone"], row.get("weights", "imagenet"), int(row.get("learning_blocks", 0)),
                         tuple(a for a in row.get("augment") or () if a != "none"),
                         None if per_class in (None, "all") else int(per_class))


def _transfer_sentence(rows: list[dict]) -> str:
    pretrained = [r for r in rows if r["weights"] != "none"]
    scratch = [r for r in rows if r["weights"] == "none"]
    if not pretrained or not scratch:
        return ("Only one side could be trained here (the other was skipped, see below), so there is nothing "
                "to compare yet.")
    best_scratch = max(scratch, key=lambda r: r["val_accuracy_mean"])
    transfer = pretrained[0]
    gap = transfer["val_accuracy_mean"] - best_scratch["val_accuracy_mean"]
    title = BACKBONES[transfer["backbone"]].short_title
    scratch_name = BACKBONES[best_scratch["backbone"]].short_title
    if _overlap(transfer, best_scratch):
        verdict = "within the error bars: here, starting from pretrained weights made no clear difference"
    elif gap > 0:
        verdict = f"{100 * gap:.0f} points more, with the same pictures and epochs"
    else:
        verdict = f"{100 * -gap:.0f} points less: from scratch did better here"
    return (f"Starting from pretrained weights, {title} got {_percent(transfer['val_accuracy_mean'])} right; "
            f"the best from scratch, {scratch_name}, got {_percent(best_scratch['val_accuracy_mean'])}: {verdict}.")


def _pictures_sentence(rows: list[dict]) -> str:
    """The fewest pictures per class within 5 points of the best (closer than a class notices)."""
    points = sorted(rows, key=lambda r: (r["per_class"] == "all", r["train_pictures"]))
    best = max(points, key=lambda r: (r["val_accuracy_mean"], r["train_pictures"]))  # a tie: more pictures
    enough = next(r for r in points if r["val_accuracy_mean"] >= best["val_accuracy_mean"] - 0.05)

    def count(row):
        return "all the pictures" if row["per_class"] == "all" else f"{row['per_class']} pictures per class"

    ci = best.get("val_accuracy_ci95")
    caution = (" The error bars are wide: more repeats (or epochs) would say it more surely."
               if ci and ci[1] - ci[0] > 0.3 else "")
    if enough is points[-1]:
        return (f"More pictures kept helping: the best was {_percent(best['val_accuracy_mean'])} right with "
                f"{count(best)}{_interval(best)}.{caution}")
    if enough is best:
        return (f"About {count(enough)} were enough: {_percent(enough['val_accuracy_mean'])} right; more did not "
                f"do better.{caution}")
    return (f"About {count(enough)} were enough: {_percent(enough['val_accuracy_mean'])} right, within 5 points "
            f"of the best ({_percent(best['val_accuracy_mean'])} with {count(best)}).{caution}")

__all__ = ["Configuration", "ConfigurationRow", "Experiment", "ExperimentPlan", "RepeatResult", "Skipped",
           "StopExperiment", "answer_sentence", "configuration_of", "how_many_pictures", "list_experiments",
           "short_labels", "transfer_vs_scratch", "which_network", "with_weights_here"]
