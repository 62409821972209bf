"""Running an experiment: every configuration trained on the same seeded splits, the rows of its
answer (mean, spread and 95 % interval over the repeats), the time it still needs, and the
experiments kept in a workspace (``WORKSPACE/experiments/<id>/experiment.json``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..backbones.registry import BACKBONES
from ..backbones.weights import WeightsUnavailableError, imagenet_weights_cached, library_weights_file
from ..files import write_json
from ..i18n import msg
from ..settings import TrainingSettings
from ..training_times import TrainingTimes, factor, time_ratio
from ..stats import accuracy_summary, per_class_counts, stratified_splits, summary
from .plan import MINE, Configuration, ExperimentPlan

log = logging.getLogger(__name__)

EXPERIMENTS_DIR = "experiments"
EXPERIMENT_FILE = "experiment.json"
EXPERIMENT_FORMAT = 1


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
            "per_class": "all" if c.per_class is None else c.per_class, "pictures": c.pictures, "repeats": self.repeats,
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


class TimeLeft:
    """The time a running experiment still needs, corrected as its trainings finish.

    Each training still to come counts its first guess (``PlannedTraining``) times how much
    longer than guessed the trainings most like it took: of its kind in this run once one has
    finished, else on this computer before (``stored``: ``TrainingTimes.ratios()``), else
    trained the same way, else any. The one under way counts what its estimate has left, never less
    than nothing: a slow training does not make the time left grow while it runs, only the
    measure it leaves corrects the rest. Safe to read from another thread."""

    def __init__(self, planned, stored: dict[str, list[float]], clock=time.monotonic):
        self._waiting = {(t.configuration, t.repeat): t for t in planned}
        self._stored, self._clock = stored, clock
        self._measured: dict[str, list[float]] = {}
        self._current: tuple[tuple[int, int], float] | None = None
        self._lock = threading.Lock()
        self.done = 0

    @property
    def total(self) -> int:
        return self.done + len(self._waiting)

    def start(self, configuration: int, repeat: int) -> None:
        with self._lock:
            self._current = ((configuration, repeat), self._clock())

    def finish(self, configuration: int, repeat: int, cache_hit: bool = False) -> tuple[str, float, float]:
        """(kind, seconds guessed, seconds measured) of the training that just ended."""
        with self._lock:
            key = (configuration, repeat)
            planned = self._waiting.pop(key)
            started = self._current[1] if self._current and self._current[0] == key else self._clock()
            measured = self._clock() - started
            guessed = planned.seconds + (0.0 if cache_hit else planned.features_seconds)
            ratio = time_ratio(guessed, measured)
            if ratio is not None:
                self._measured.setdefault(planned.kind, []).append(ratio)
            self._current, self.done = None, self.done + 1
        return planned.kind, guessed, measured

    def drop(self, configuration: int) -> None:
        """A configuration that cannot run: its trainings are not waited for."""
        with self._lock:
            self._waiting = {k: t for k, t in self._waiting.items() if k[0] != configuration}
            if self._current and self._current[0][0] == configuration:
                self._current = None

    def seconds(self) -> float:
        with self._lock:
            now, left = self._clock(), 0.0
            for key, planned in self._waiting.items():
                expected = planned.guessed * self._factor(planned.kind)
                if self._current and self._current[0] == key:
                    expected = max(expected - (now - self._current[1]), 0.0)
                left += expected
            return left

    def _factor(self, kind: str) -> float:
        """This run's measures first, then this computer's earlier ones, at each level of likeness."""
        return factor(self._measured, kind, self._stored) or 1.0


class Experiment:
    """Runs an ExperimentPlan: ``run(dataset)`` returns self.

    Learned state: ``rows_`` (ConfigurationRow per configuration that ran), ``repeats_``
    (RepeatResult per training), ``skipped_`` (configurations that could not run, and why),
    ``stopped_``, ``path_`` (the saved experiment folder, when a workspace is given),
    ``time_left_`` (the time left, corrected as trainings finish; each training's time is also
    kept in ``times``, this computer's measures, for the next estimate)."""

    def __init__(self, plan: ExperimentPlan, workspace=None, cache_dir=None, measure_latency: bool = True,
                 save_runs: bool = True, times: TrainingTimes | None = None, clock=time.monotonic):
        self.plan = plan
        self.workspace = workspace
        self.cache_dir = cache_dir
        self.measure_latency = measure_latency
        self.save_runs = save_runs
        self.times = times if times is not None else TrainingTimes(cache_dir)
        self.clock = clock
        self._stop = threading.Event()

    def stop(self) -> None:
        """The training under way ends at its next step; the rest of the plan is not trained."""
        self._stop.set()
        trainer = getattr(self, "_trainer", None)
        if trainer is not None:
            trainer.request_stop()

    def seconds_left(self) -> float | None:
        """The time the rest should take (None before it runs)."""
        time_left = getattr(self, "time_left_", None)
        return None if time_left is None else time_left.seconds()

    def run(self, dataset, on_progress=None) -> "Experiment":
        """Train every configuration on the same splits. ``on_progress(done, total, label)`` after each
        training: ``total`` counts the trainings that run (fewer when a configuration is skipped)."""
        self.rows_, self.repeats_, self.stopped_ = [], [], False
        self.started_ = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.id_ = f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(self.plan.name)}"
        self._dataset = dataset
        left_out = self.plan.left_out()
        self.skipped_ = [Skipped(c, _left_out_reason(c)) for c in left_out]
        self.time_left_ = TimeLeft([t for t in self.plan.planned_trainings(len(dataset))
                                    if self.plan.configurations[t.configuration] not in left_out],
                                   self.times.ratios(), self.clock)
        splits = stratified_splits(dataset, self.plan.repeats, self.plan.validation_fraction, self.plan.seed)
        for index, configuration in enumerate(self.plan.configurations):
            if configuration in left_out:
                continue
            if self._stop.is_set():
                self.stopped_ = True
                break
            reason = self._cannot_start(configuration)
            try:
                if reason:
                    raise _CannotStart(reason)
                self._run_configuration(index, configuration, splits, on_progress)
            except (WeightsUnavailableError, _CannotStart) as error:
                reason = error.args[0] if len(error.args) == 1 and isinstance(error.args[0], str) else str(error)
                self.skipped_.append(Skipped(configuration, reason))  # a Message stays one (pages translate it)
                self.time_left_.drop(index)
                if on_progress is not None:  # fewer trainings to wait for
                    on_progress(self.time_left_.done, self.time_left_.total,
                                msg("{choice} (skipped)", choice=configuration.label))
            except StopExperiment:
                self.stopped_ = True
                break
        if self.workspace is not None:
            self.path_ = self.save(Path(self.workspace) / EXPERIMENTS_DIR / self.id_)
        return self

    def _run_configuration(self, index, configuration, splits, on_progress) -> None:
        from ..training import Trainer

        settings = configuration.settings(self.plan.base_settings())
        results, kept_run, parameters, latency = [], None, None, None
        for repeat, (train, val) in enumerate(splits):
            if self._stop.is_set():
                raise StopExperiment()
            self.time_left_.start(index, repeat)
            if configuration.per_class is not None:
                train = per_class_counts(self._dataset, train, configuration.per_class, self.plan.seed + repeat)
            if configuration.pictures == MINE:  # the same held-back pictures; fewer, the student's own, train
                train = own_pictures(self._dataset, train, self.plan.own_folder)
            trainer = self._trainer = Trainer(settings.replace(seed=self.plan.seed + repeat), cache_dir=self.cache_dir)
            try:
                trainer.fit(self._dataset, train, val)
            except ValueError as error:  # e.g. a weights file made for another network
                if repeat:
                    raise
                raise _CannotStart(error.args[0] if len(error.args) == 1 else str(error)) from None
            if trainer.stopped_ and self._stop.is_set():
                raise StopExperiment()
            results.append(self._repeat_result(index, repeat, trainer))
            parameters = int(trainer.model_.model.count_params())
            if repeat == 0:
                kept_run = self._keep_run(configuration, trainer)
            if repeat == len(splits) - 1 and self.measure_latency:  # timed with this training
                latency = self._latency_once(settings)
            self.times.record(*self.time_left_.finish(index, repeat, bool(trainer.feature_cache_hit_)))
            if on_progress is not None:
                on_progress(self.time_left_.done, self.time_left_.total, configuration.label)
        self.repeats_ += results
        self.rows_.append(_row(configuration, results, parameters, latency, kept_run))

    def _keep_run(self, configuration: Configuration, trainer) -> str | None:
        """The first repeat is kept as a run (its folder's name), when there is a workspace."""
        from ..runs import claim_run_folder, save_run

        if not self.save_runs or self.workspace is None:
            return None
        folder = claim_run_folder(self.workspace, configuration.backbone)
        return save_run(trainer, self._dataset, folder, name=f"{self.plan.name}: {configuration.label}",
                        dataset_name=self.plan.dataset_name, extra={"experiment": self.id_}).path.name

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
        from ..speed import prediction_milliseconds

        try:
            return prediction_milliseconds(settings.backbone, settings.input_size)
        except Exception as error:  # a speed figure is a bonus: never fail the experiment for it
            log.warning("Could not time one picture for %s: %s", settings.backbone, error)
            return None

    # -- storing ------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"format": EXPERIMENT_FORMAT, "id": self.id_, "created": self.started_, "plan": self.plan.to_dict(),
                "classes": list(self._dataset.class_names), "rows": [row.to_dict() for row in self.rows_],
                "repeats": [asdict(r) for r in self.repeats_],
                "skipped": [{"configuration": s.configuration.label, "reason": s.reason} for s in self.skipped_],
                "stopped": self.stopped_}

    def save(self, folder) -> Path:
        write_json(Path(folder) / EXPERIMENT_FILE, self.to_dict())
        return Path(folder)


def own_pictures(dataset, train_indices, own_folder) -> np.ndarray:
    """Those of ``train_indices`` whose picture is in ``own_folder`` (the student's own, not the pool's)."""
    folder = Path(own_folder).resolve()
    return np.array([i for i in train_indices if Path(dataset.paths[int(i)]).resolve().is_relative_to(folder)],
                    dtype=np.int64)


def _row(configuration, results: list[RepeatResult], parameters, latency, run) -> ConfigurationRow:
    accuracy = accuracy_summary([r.val_accuracy for r in results])
    classes = sorted({name for r in results for name in r.per_class_accuracy})
    per_class = {name: float(np.mean([r.per_class_accuracy[name] for r in results if name in r.per_class_accuracy]))
                 for name in classes}
    return ConfigurationRow(configuration, len(results), accuracy.mean, accuracy.sd, accuracy.ci95,
                            summary([r.train_seconds for r in results]).mean, any(r.cache_hit for r in results),
                            parameters, latency, per_class, int(np.mean([r.train_pictures for r in results])), run)


def _left_out_reason(configuration: Configuration) -> str:
    return msg("Its ImageNet weights are not on this computer, so it was left out: add a weights file for it, or "
               "fetch them once where there is internet (tlcore fetch-weights {network}).", network=configuration.backbone)


def _missing_weights(configuration: Configuration, input_size) -> str | None:
    """Why this configuration cannot start here (ImageNet weights not on this computer and no way to
    download them), or None. A download that works on the user's machine is left to Keras."""
    if configuration.weights != "imagenet":
        return None
    spec = BACKBONES[configuration.backbone]
    if imagenet_weights_cached(spec, input_size):
        return None
    from ..backbones.download import ensure_imagenet_weights

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
