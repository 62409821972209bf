"""Training progress through the Keras callback interface.

``ProgressCallback`` appends to a Keras-shaped history (``loss``, ``accuracy``, ``val_loss``,
``val_accuracy``) and keeps a small thread-safe snapshot a UI can poll while training runs
in another thread. It never touches any UI itself.
"""

from __future__ import annotations

import threading
import time
from copy import deepcopy

from .._tf import keras

METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


class ProgressCallback(keras.callbacks.Callback):
    """Records batch/epoch progress across both phases; read it with ``snapshot()``."""

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self.history: dict[str, list[float]] = {name: [] for name in METRICS}
        self.phase = "waiting"  # waiting | extracting | head | fine_tune | done | stopped | failed
        self.epoch = 0  # epochs finished, over both phases
        self.total_epochs = 0
        self.batch = 0
        self.batches_per_epoch = 0
        self.extracted = 0
        self.extract_total = 0
        self.fine_tune_start_epoch: int | None = None
        self.started_at: float | None = None
        self.message = ""

    # -- called by the trainer ---------------------------------------------------------------
    def set_phase(self, phase: str, total_epochs: int | None = None, batches_per_epoch: int | None = None):
        with self._lock:
            if self.started_at is None:
                self.started_at = time.monotonic()
            self.phase = phase
            if total_epochs is not None:
                self.total_epochs = total_epochs
            if batches_per_epoch is not None:
                self.batches_per_epoch = batches_per_epoch
            if phase == "fine_tune" and self.fine_tune_start_epoch is None:
                self.fine_tune_start_epoch = self.epoch

    def on_predict_batch_end(self, batch, logs=None):
        """Feature extraction reports ``done``/``total`` pictures through this Keras hook."""
        logs = logs or {}
        with self._lock:
            self.extracted = int(logs.get("done", self.extracted))
            self.extract_total = int(logs.get("total", self.extract_total))

    # -- Keras hooks ---------------------------------------------------------------------------
    def on_train_batch_end(self, batch, logs=None):
        with self._lock:
            self.batch = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        with self._lock:
            for name in METRICS:
                if name in logs:
                    self.history[name].append(float(logs[name]))
            self.epoch += 1
            self.batch = 0

    # -- read by a UI --------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """A consistent copy of the progress, safe to read from any thread."""
        with self._lock:
            elapsed = 0.0 if self.started_at is None else time.monotonic() - self.started_at
            done = self.epoch + (self.batch / self.batches_per_epoch if self.batches_per_epoch else 0)
            remaining = None
            if self.phase in ("head", "fine_tune") and done > 0 and self.total_epochs:
                remaining = elapsed / done * max(self.total_epochs - done, 0)
            return {
                "phase": self.phase,
                "epoch": self.epoch,
                "total_epochs": self.total_epochs,
                "batch": self.batch,
                "batches_per_epoch": self.batches_per_epoch,
                "extracted": self.extracted,
                "extract_total": self.extract_total,
                "fine_tune_start_epoch": self.fine_tune_start_epoch,
                "history": deepcopy(self.history),
                "elapsed": elapsed,
                "remaining": remaining,
                "message": self.message,
            }


class StopRequest(keras.callbacks.Callback):
    """Ends training at the next batch once ``event`` is set (thread-safe)."""

    def __init__(self, event: threading.Event):
        super().__init__()
        self.event = event

    def on_train_batch_end(self, batch, logs=None):
        if self.event.is_set():
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.event.is_set():
            self.model.stop_training = True


class BestWeights(keras.callbacks.Callback):
    """Remembers the variables' values at the epoch with the best validation accuracy.

    Watches a fixed list of variables (everything that can learn in any phase), so the
    best across both phases can be restored onto the end-to-end model.
    """

    def __init__(self, variables, monitor: str = "val_accuracy"):
        super().__init__()
        self.variables = list(variables)
        self.monitor = monitor
        self.best: float | None = None
        self.best_loss: float | None = None
        self.best_epoch: int | None = None
        self.values = None
        self.epochs_seen = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value, loss = logs.get(self.monitor), logs.get("val_loss", 0.0)
        self.epochs_seen += 1
        if value is None:
            return
        better = self.best is None or value > self.best or (value == self.best and loss < self.best_loss)
        if better:
            self.best, self.best_loss, self.best_epoch = float(value), float(loss), self.epochs_seen
            self.values = [v.numpy().copy() for v in self.variables]

    def restore(self) -> bool:
        if self.values is None:
            return False
        for variable, value in zip(self.variables, self.values):
            variable.assign(value)
        return True
