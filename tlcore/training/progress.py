"""Callbacks the Trainer uses itself (history, best weights, stop) and one a UI can poll.

An epoch cut short by Stop is not an epoch: ``StopRequest`` marks it, and neither the
history nor the best weights count it (Keras still runs validation after a stopped epoch).
"""

from __future__ import annotations

import threading
import time

from .._tf import keras
from .callbacks import EXTRACTING, FINAL_PHASES, FINE_TUNE, LEARNING_PHASES, PhaseInfo, TrainingCallback

METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


class StopRequest(keras.callbacks.Callback):
    """Ends training at the next batch once ``event`` is set (thread-safe).

    ``cut_short`` is True for the epoch that stopped before its last step."""

    def __init__(self, event: threading.Event):
        super().__init__()
        self.event = event
        self.cut_short = False
        self.steps = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.cut_short = False

    def on_train_batch_end(self, batch, logs=None):
        if self.event.is_set() and not self.model.stop_training:
            self.model.stop_training = True
            self.cut_short = batch + 1 < self.steps

    def on_epoch_end(self, epoch, logs=None):
        if self.event.is_set():
            self.model.stop_training = True


class HistoryRecorder(keras.callbacks.Callback):
    """Appends each whole epoch's metrics to a Keras-shaped history dict, across phases."""

    def __init__(self, history: dict, stop: StopRequest):
        super().__init__()
        self.history = history
        self.stop = stop

    def on_epoch_end(self, epoch, logs=None):
        if self.stop.cut_short:
            return
        for name in self.history:
            if name in (logs or {}):
                self.history[name].append(float(logs[name]))


class BestWeights(keras.callbacks.Callback):
    """Remembers the variables' values at the whole epoch with the best validation accuracy
    (ties: the lower validation loss).

    Watches a fixed list of variables (everything that can learn in any phase), so the best
    across both phases can be restored onto the end-to-end model."""

    def __init__(self, variables, stop: StopRequest | None = None, monitor: str = "val_accuracy"):
        super().__init__()
        self.variables = list(variables)
        self.stop = stop
        self.monitor = monitor
        self.best: float | None = None
        self.best_loss: float | None = None
        self.best_epoch: int | None = None
        self.values = None
        self.epochs_seen = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.stop is not None and self.stop.cut_short:
            return
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


class ProgressCallback(TrainingCallback):
    """Where training is (phase, step, pictures extracted), as a thread-safe ``snapshot()``.

    The learned numbers themselves are the Trainer's ``history_`` (one owner)."""

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        self.phase = "waiting"
        self.info = PhaseInfo()
        self.step = 0
        self.extracted = 0
        self.started_at: float | None = None
        self.fine_tune_start_epoch: int | None = None
        self.download = None  # the last DownloadProgress, while ImageNet weights download

    def on_phase_begin(self, phase, info):
        with self._lock:
            if self.started_at is None:
                self.started_at = time.monotonic()
            self.phase, self.info = phase, info
            if phase in LEARNING_PHASES:
                self.step = 0
            if phase == EXTRACTING:
                self.extracted = 0
            if phase == FINE_TUNE:
                self.fine_tune_start_epoch = info.first_epoch

    def on_extract_progress(self, done, total):
        with self._lock:
            self.extracted = int(done)

    def on_download_progress(self, progress):
        with self._lock:
            self.download = progress

    def on_epoch_begin(self, epoch, logs=None):
        with self._lock:
            self.step = 0  # reset when the next epoch begins, not when one ends: no jump back

    def on_train_batch_end(self, batch, logs=None):
        with self._lock:
            self.step = batch + 1

    def snapshot(self, epochs_done: int = 0) -> dict:
        """A consistent copy, safe from any thread. ``epochs_done``: whole epochs in the history."""
        with self._lock:
            elapsed = 0.0 if self.started_at is None else time.monotonic() - self.started_at
            steps, total = self.info.steps_per_epoch, self.info.total_epochs
            done = epochs_done + (min(self.step, steps) / steps if steps else 0)
            remaining = None
            if self.phase in LEARNING_PHASES and done > 0 and total:
                remaining = elapsed / done * max(total - done, 0)
            return {
                "phase": self.phase, "final": self.phase in FINAL_PHASES, "epoch": epochs_done,
                "total_epochs": total, "step": self.step, "steps_per_epoch": steps,
                "extracted": self.extracted, "extract_total": self.info.pictures, "extract_copies": self.info.copies,
                "fine_tune_start_epoch": self.fine_tune_start_epoch,
                "elapsed": elapsed, "remaining": remaining,
                "download": self.download if self.phase == "building" else None,
            }
