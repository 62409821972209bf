"""A training run as a job: ``train_and_save()`` trains and saves, in whatever thread calls it.

``start()`` runs it in a daemon thread of its own; a training queue calls ``train_and_save()``
from its worker. The job never touches any UI: a page polls ``snapshot()``. The run's folder is
claimed when training starts, and the finished (or stopped, or crashed-after-learning) run
is saved there, so a refresh or a restart loses nothing. A save that fails (a full disk)
keeps the trained model in memory: ``save_again()`` tries once more.
"""

from __future__ import annotations

import copy
import logging
import threading
import traceback
from pathlib import Path

from .backbones.weights import WeightsUnavailableError
from .paths import workspace_root
from .runs import Run, RunSaveError, check_workspace, claim_run_folder, release, save_run
from .settings import TrainingSettings

log = logging.getLogger(__name__)


class TrainingJob:
    """Train ``settings`` on ``dataset``, then save the run in ``workspace``.

    Checked at once (plain-words ValueError/RunSaveError): the weights file exists and the
    workspace can be written (``way_out``: what to do if not, in the caller's words)."""

    def __init__(self, settings: TrainingSettings, dataset, workspace=None, name: str | None = None,
                 dataset_name: str | None = None, cache_dir=None, way_out: str | None = None):
        from .training import ProgressCallback, Trainer

        self.settings = settings
        self.progress = ProgressCallback()
        self.trainer = Trainer(settings, cache_dir=cache_dir, callbacks=[self.progress])
        self.trainer.check()
        self.dataset = dataset
        self.workspace = check_workspace(Path(workspace) if workspace else workspace_root(), way_out=way_out)
        self.name = name
        self.dataset_name = dataset_name
        self.run_folder: Path | None = None
        self.run: Run | None = None  # the saved run, once there is one
        self.error: str | None = None  # in plain words, for the page
        self.exception: BaseException | None = None  # what went wrong, for code
        self.details: str | None = None  # the traceback, for whoever asks "what happened?"
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._started = threading.Event()

    # -- running -------------------------------------------------------------------------------
    def start(self) -> "TrainingJob":
        """Run in a thread of its own (returns at once)."""
        self._thread = threading.Thread(target=self.train_and_save, name="tlcore-training", daemon=True)
        self._thread.start()
        return self

    def train_and_save(self) -> Run | None:
        """Train and save, here and now; the saved Run (also ``run``), or None (see ``error``)."""
        self._started.set()
        try:
            self.run_folder = claim_run_folder(self.workspace, self.settings.backbone)
            self.trainer.fit(self.dataset)
        except WeightsUnavailableError as error:
            self._failed(error, str(error))
        except (RunSaveError, ValueError) as error:
            self._failed(error, str(error))
        except Exception as error:  # keep what was learned, tell the user in plain words
            self._failed(error, f"Training stopped because of an error: {error}", with_details=True)
        finally:
            self._save_if_learned()
            self._done.set()
        return self.run

    def stop(self) -> None:
        """Ask training to end at the next batch; the best weights so far are kept and saved."""
        self.trainer.request_stop()

    def join(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def save_again(self) -> Run | None:
        """After a failed save (a full disk, say): claim a new folder and try once more."""
        self.error = self.exception = None
        self.run_folder = None
        self._save_if_learned()
        return self.run

    def estimate_seconds(self) -> float:
        """How long this training should take on this computer (the queue tells the next in line
        when their turn comes)."""
        from .training_times import estimate_seconds

        return estimate_seconds(self.settings, len(self.dataset))

    @property
    def cheap(self) -> bool:
        """A head on a network already warm here: seconds, nothing to build first (the training
        line runs these side by side, tlcore.queue)."""
        from .backbones.weights import resolve_weights
        from .model.warm import warm_networks

        settings = self.settings
        if not settings.head_on_features:
            return False
        try:
            return warm_networks().has(settings.spec, settings.resolved_input_size, resolve_weights(settings.weights))
        except (OSError, ValueError):  # the weights file went: the training will say so
            return False

    # -- state ---------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._started.is_set() and not self._done.is_set()

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    @property
    def kept_something(self) -> bool:
        """A run was saved (the queue's job protocol)."""
        return self.run is not None

    @property
    def learned_something(self) -> bool:
        return bool(getattr(self.trainer, "history_", None) and self.trainer.history_.get("loss"))

    def snapshot(self) -> dict:
        """Progress, the history so far, and the outcome, safe to read from any thread."""
        history = copy.deepcopy(getattr(self.trainer, "history_", None) or {})
        validation = getattr(self.trainer, "val_indices_", None)  # set once the pictures are split
        state = self.progress.snapshot(epochs_done=len(history.get("loss", [])))
        state.update(history=history, running=self.running, error=self.error,
                     val_pictures=0 if validation is None else len(validation),
                     run_path=str(self.run.path) if self.run and self.run.path else None)
        return state

    # -- inside ----------------------------------------------------------------------------------
    def _failed(self, error: BaseException, words: str, with_details: bool = False) -> None:
        self.exception, self.error = error, words
        if with_details:
            self.details = "".join(traceback.format_exception(error))
            log.error("Training failed: %s", error, exc_info=error)
        else:
            log.warning("Training %s: %s", "stopped" if self.learned_something else "did not run", words)

    def _save_if_learned(self) -> None:
        if not self.learned_something:
            if self.run_folder is not None:
                release(self.run_folder)
            return  # nothing learned yet: nothing worth saving
        try:
            folder = self.run_folder or claim_run_folder(self.workspace, self.settings.backbone)
            self.run = save_run(self.trainer, self.dataset, folder, self.name, self.dataset_name)
        except RunSaveError as error:
            self._note_save_failure(error, str(error))
        except Exception as error:
            self._note_save_failure(error, f"The run could not be saved: {error}")
            self.details = (self.details or "") + "".join(traceback.format_exception(error))

    def _note_save_failure(self, error: BaseException, words: str) -> None:
        log.error("The run could not be saved: %s", error)
        self.exception = self.exception or error
        words += " What was learned is kept until you close the app: save again once that is fixed."
        self.error = f"{self.error} {words}" if self.error else words
        if self.run_folder is not None:
            release(self.run_folder)  # never left claimed: save_again() claims a new one
        self.run_folder = None


class ExperimentJob:
    """An experiment (a grid of trainings) as one job: the same protocol as TrainingJob
    (``train_and_save()``, ``start()``, ``stop()``, ``snapshot()``), so a page runs it in a
    thread of its own or a training queue runs it as one entry. ``clock``: for tests."""

    def __init__(self, plan, dataset, workspace=None, cache_dir=None, measure_latency: bool = True,
                 clock=None):
        import time

        from .experiments import Experiment

        clock = clock or time.monotonic
        self.plan = plan
        self.dataset = dataset
        self.workspace = check_workspace(Path(workspace) if workspace else workspace_root())
        self.experiment = Experiment(plan, self.workspace, cache_dir, measure_latency, clock=clock)
        self._estimate = plan.estimate_seconds(len(dataset), self.experiment.times)  # until it runs
        self.error: str | None = None
        self.details: str | None = None
        self.done, self.total, self.current = 0, plan.trainings_to_run(), ""
        self._clock = clock
        self._lock = threading.Lock()
        self._started = threading.Event()
        self._done = threading.Event()
        self._began: float | None = None

    def start(self) -> "ExperimentJob":
        threading.Thread(target=self.train_and_save, name="tlcore-experiment", daemon=True).start()
        return self

    def train_and_save(self):
        """Run every training of the plan here and now; the Experiment (its rows_, skipped_...)."""
        self._began = self._clock()
        self._started.set()
        try:
            self.experiment.run(self.dataset, on_progress=self._progress)
        except Exception as error:  # what ran so far is kept in the experiment; say what stopped it
            self.error = f"The experiment stopped because of an error: {error}"
            self.details = "".join(traceback.format_exception(error))
            log.error("Experiment failed: %s", error, exc_info=error)
        finally:
            self._done.set()
        return self.experiment

    def estimate_seconds(self) -> float:
        """How long the whole experiment should take on this computer, worked out before it runs."""
        return self._estimate

    def _progress(self, done: int, total: int, label: str) -> None:
        with self._lock:
            self.done, self.total, self.current = done, total, label

    def stop(self) -> None:
        self.experiment.stop()

    def join(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    @property
    def running(self) -> bool:
        return self._started.is_set() and not self._done.is_set()

    @property
    def kept_something(self) -> bool:
        """Some of its trainings finished and were saved (the queue's job protocol)."""
        return bool(getattr(self.experiment, "rows_", None))

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    def snapshot(self) -> dict:
        """Progress; ``remaining``: the experiment's own estimate, from this computer's measures and
        corrected as its trainings finish (the plan's estimate while it waits)."""
        with self._lock:
            elapsed = self._clock() - self._began if self._began else 0.0
            left = self.experiment.seconds_left()
            remaining = 0.0 if self.finished else (self._estimate if left is None else left)
            return {"phase": "done" if self.finished else ("running" if self.running else "waiting"),
                    "done": self.done, "total": self.total, "current": self.current, "elapsed": elapsed,
                    "remaining": remaining, "running": self.running, "error": self.error,
                    "rows": list(getattr(self.experiment, "rows_", [])),
                    "skipped": list(getattr(self.experiment, "skipped_", []))}
