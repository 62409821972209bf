"""A training run in a worker thread, for user interfaces.

The thread never touches any UI: a page polls ``snapshot()``. The finished (or stopped, or
crashed-after-learning) run is saved to the workspace so a refresh or a restart loses nothing.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path

from .backbones.weights import WeightsUnavailableError
from .paths import workspace_root
from .runs import Run, new_run_dir, save_run


class TrainingJob:
    """Train ``Trainer(**settings)`` on ``dataset`` in a daemon thread; save the run when done."""

    def __init__(self, settings: dict, dataset, workspace=None, name: str | None = None,
                 dataset_name: str | None = None):
        from .training import ProgressCallback, Trainer

        self.progress = ProgressCallback()
        self.trainer = Trainer(**settings, callbacks=[self.progress])
        self.trainer.check_settings()
        self.dataset = dataset
        self.workspace = Path(workspace) if workspace else workspace_root()
        self.name = name
        self.dataset_name = dataset_name
        self.run: Run | None = None
        self.error: str | None = None  # in plain words, for the page
        self.exception: BaseException | None = None  # what went wrong, for code (e.g. WeightsUnavailableError)
        self.details: str | None = None  # a traceback, for a log, never for the page
        self._thread = threading.Thread(target=self._work, name="tlcore-training", daemon=True)

    def start(self) -> "TrainingJob":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask training to end at the next batch; the best weights so far are kept and saved."""
        self.trainer.request_stop()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def finished(self) -> bool:
        return self._thread.ident is not None and not self._thread.is_alive()

    def snapshot(self) -> dict:
        state = self.progress.snapshot()
        state.update(running=self.running, error=self.error,
                     run_path=str(self.run.path) if self.run and self.run.path else None)
        return state

    def _work(self) -> None:
        try:
            self.trainer.fit(self.dataset)
        except WeightsUnavailableError as error:
            self.exception = error
            self.error = str(error)
        except Exception as error:  # keep what was learned, tell the user in plain words
            self.exception = error
            self.details = traceback.format_exc()
            self.error = f"Training stopped because of an error: {error}"
        finally:
            self._save_if_learned()

    def _save_if_learned(self) -> None:
        trainer = self.trainer
        if not getattr(trainer, "history_", None) or not trainer.history_.get("loss"):
            return  # nothing learned yet: nothing worth saving
        try:
            path = new_run_dir(self.workspace, trainer.model_.spec.name)
            self.run = save_run(trainer, self.dataset, path, self.name, self.dataset_name)
        except Exception as error:
            self.details = (self.details or "") + traceback.format_exc()
            self.error = (self.error + " " if self.error else "") + f"The run could not be saved: {error}"
