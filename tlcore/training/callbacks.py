"""The one callback interface of training: Keras's, plus two steps of our own.

``Trainer`` calls every callback's Keras hooks (``on_epoch_end``, ``on_train_batch_end``...)
through ``model.fit``, and, for ``TrainingCallback`` subclasses, two more:

    on_phase_begin(phase, info)     phase: building | extracting | head | fine_tune | scratch
                                    | done | stopped | failed  (the last three end training)
    on_extract_progress(done, total) pictures through the frozen network so far (fast path)
    on_download_progress(progress)   ImageNet weights being downloaded (a DownloadProgress), while building

Progress reaches a UI or a terminal only through these; nothing else is duck-typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._tf import keras

BUILDING, EXTRACTING = "building", "extracting"
HEAD, FINE_TUNE, SCRATCH = "head", "fine_tune", "scratch"
DONE, STOPPED, FAILED = "done", "stopped", "failed"
LEARNING_PHASES = (HEAD, FINE_TUNE, SCRATCH)
FINAL_PHASES = (DONE, STOPPED, FAILED)


@dataclass(frozen=True)
class PhaseInfo:
    """What a phase is about to do."""

    total_epochs: int = 0  # over all phases
    first_epoch: int = 0  # epochs finished before this phase
    epochs: int = 0  # epochs in this phase
    steps_per_epoch: int = 0
    pictures: int = 0  # pictures to extract (extracting)
    copies: int = 0  # changed copies of each picture among them (augmented views), else 0


class TrainingCallback(keras.callbacks.Callback):
    """Base for callbacks that want tlcore's own steps as well as Keras's."""

    def on_phase_begin(self, phase: str, info: PhaseInfo) -> None:
        """Training enters ``phase``."""

    def on_extract_progress(self, done: int, total: int) -> None:
        """``done`` of ``total`` pictures went through the frozen part of the network."""

    def on_download_progress(self, progress) -> None:
        """The backbone's ImageNet weights are downloading (``progress.words()``: "12 of 40 MB…")."""


def notify_phase(callbacks, phase: str, info: PhaseInfo) -> None:
    for callback in callbacks:
        if isinstance(callback, TrainingCallback):
            callback.on_phase_begin(phase, info)


def notify_download(callbacks, progress) -> None:
    for callback in callbacks:
        if isinstance(callback, TrainingCallback):
            callback.on_download_progress(progress)


def notify_extract(callbacks, done: int, total: int) -> None:
    for callback in callbacks:
        if isinstance(callback, TrainingCallback):
            callback.on_extract_progress(done, total)
