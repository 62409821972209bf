"""Train a transfer-learning classifier: the head first, then optional fine-tuning.

The fast path: when the part of the backbone that runs is frozen and augmentation is off,
its outputs are computed once (cached on disk) and only what learns is trained on them.
The learning layers are the very layer objects of the end-to-end model, so the result is
always one Keras model, pictures in, probabilities out.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager

import numpy as np

from .._tf import keras, tf
from ..backbones.weights import resolve_weights
from ..model.classifier import TransferModel, build_classifier
from ..model.warm import warm_networks
from ..settings import Phase, TrainingSettings
from .callbacks import BUILDING, EXTRACTING, FAILED, PhaseInfo, notify_download, notify_extract, notify_phase
from .features import FeatureCache, augmented_outputs, frozen_outputs, picture_origins
from .feed import epoch_order, predict_batches, training_feeds
from .heads import compile_for_training, copy_back, head_kind, in_lent_head, make_head, start_from
from .progress import METRICS, BestWeights, HistoryRecorder, StopRequest

log = logging.getLogger(__name__)

# Inference batch: throughput on CPU levels off around 32; memory stays modest.
BATCH_FOR_PREDICTION = 32


class Trainer:
    """``Trainer(settings).fit(dataset)`` trains and returns self.

    Learned state ends in ``_``: ``model_`` (TransferModel), ``history_`` (Keras-shaped, whole
    epochs only), ``val_accuracy_``, ``best_epoch_``, ``fast_path_used_``, ``stopped_``,
    ``timings_``, ``notes_`` (plain-words remarks, e.g. a cache that could not be written),
    ``pooled_features_`` (features at the head's input for every picture, when the fast path
    trained only the head; else None)."""

    def __init__(self, settings: TrainingSettings | None = None, *, cache_dir=None, callbacks=()):
        self.settings = settings if settings is not None else TrainingSettings()
        self.cache_dir = cache_dir
        self.callbacks = callbacks
        self._stop_event = threading.Event()

    def request_stop(self) -> None:
        """Thread-safe: training ends at the next batch and keeps the best weights so far."""
        self._stop_event.set()

    def check(self) -> str:
        """Check what the settings cannot check alone (the weights file exists); the weights to use."""
        return resolve_weights(self.settings.weights)

    # -- training ------------------------------------------------------------------------------
    def fit(self, dataset, train_indices=None, val_indices=None) -> "Trainer":
        weights = self.check()  # a stop asked for before fit starts still counts (cleared at the end)
        self._started = time.perf_counter()
        self._reset(dataset, train_indices, val_indices)
        callbacks = list(self.callbacks)
        notify_phase(callbacks, BUILDING, PhaseInfo(total_epochs=self.settings.total_epochs))
        transfer = self.model_ = self._build(weights, callbacks)
        stop = StopRequest(self._stop_event)
        best = BestWeights(self._learnable_variables(transfer), stop)
        outcome = "done"
        try:
            features = self._extract(transfer, callbacks) if self.fast_path_used_ else None
            epochs_done = 0
            for index, phase in enumerate(self._phases(transfer)):
                if self._stop_event.is_set():
                    break
                epochs_done = self._run_phase(transfer, phase, index, features, epochs_done, stop, best, callbacks)
        except _StopRequested:  # stopped while computing features: nothing learned yet
            pass
        except Exception as error:  # keep what was learned so far, then let the caller know
            self.error_ = error
            outcome = FAILED
            log.exception("Training failed after %d epochs", len(self.history_["loss"]))
            raise
        finally:
            self.stopped_ = self._stop_event.is_set()
            self._stop_event.clear()  # so this Trainer can fit again
            best.restore()
            self._finish(transfer, best, callbacks,
                         outcome if outcome == FAILED else ("stopped" if self.stopped_ else "done"))
        return self

    def _reset(self, dataset, train_indices, val_indices) -> None:
        settings = self.settings
        if train_indices is None or val_indices is None:
            train_indices, val_indices = dataset.split(settings.validation_fraction, settings.seed)
        self.train_indices_ = np.asarray(train_indices)
        self.val_indices_ = np.asarray(val_indices)
        self.batch_size_ = settings.batch_size_for(len(self.train_indices_))
        self.class_names_ = list(dataset.class_names)
        self.history_ = {name: [] for name in METRICS}
        self.fine_tune_start_epoch_ = None
        self.stopped_ = False
        self.error_ = None
        self.notes_: list[str] = []
        self.feature_cache_hit_ = False
        self._dataset = dataset
        self._features = None
        self._views: list = []
        self._cached_learning_blocks = 0
        self.pooled_features_ = None

    def _build(self, weights: str, callbacks) -> TransferModel:
        settings = self.settings
        self.strategy_ = _distribution_strategy()
        with self.strategy_.scope():
            transfer = build_classifier(settings.backbone, self.class_names_, settings.input_size, weights,
                                        settings.dropout, settings.augment, settings.seed,
                                        on_download=lambda progress: notify_download(callbacks, progress),
                                        warm=warm_networks() if settings.frozen_backbone else None)
        if not transfer.from_scratch:
            transfer.check_learning_blocks(settings.learning_blocks)
        self.timings_ = {"build_seconds": time.perf_counter() - self._started}
        self.augmented_views_ = settings.augment_views if settings.uses_augmented_views else 0
        self.fast_path_used_ = bool(settings.fast_path and not transfer.from_scratch
                                    and (not transfer.augment_layers or self.augmented_views_))
        self._pixels = self._dataset.pixels(transfer.input_size)
        self._labels = np.asarray(self._dataset.labels, dtype="int64")
        return transfer

    def _phases(self, transfer: TransferModel) -> list[Phase]:
        phases = self.settings.phases()
        if transfer.from_scratch:
            phases = [Phase(p.name, p.epochs, transfer.num_blocks, p.learning_rate) for p in phases]
        return phases

    def _learnable_variables(self, transfer: TransferModel) -> list:
        """Everything that can learn in any phase: the head, and the blocks that learn."""
        watched = [v for layer in transfer.head_layers for v in layer.weights]
        learning_blocks = self.settings.blocks_that_learn(transfer.num_blocks)
        watched += [v for block in transfer.blocks[transfer.num_blocks - learning_blocks:] if learning_blocks
                    for layer in block.layers for v in getattr(layer, "weights", [])]
        return watched

    def _run_phase(self, transfer, phase: Phase, index: int, features, epochs_done: int,
                   stop: StopRequest, best: BestWeights, callbacks) -> int:
        """One phase of ``model.fit`` (recompiled for what learns now); whole epochs done after it."""
        if phase.name == "fine_tune":
            self.fine_tune_start_epoch_ = epochs_done
        transfer.set_learning_blocks(phase.learning_blocks)
        with self._phase_model(transfer, phase, features, best) as (train_model, x):
            self._fit_phase(train_model, x, phase, index, epochs_done, stop, best, callbacks)
        return len(self.history_["loss"])

    @contextmanager
    def _phase_model(self, transfer, phase: Phase, features, best: BestWeights):
        """What learns in this phase, compiled, and what it reads (pictures or features). A head on
        pooled features of a warm network is a lent one (tlcore.training.heads): no new trace."""
        if self.fast_path_used_ and features.ndim == 2 and transfer.warm is not None \
                and not tf.distribute.has_strategy():
            with transfer.warm.borrowed_head(head_kind(transfer, features.shape[1]), make_head) as head:
                start_from(head, transfer, phase.learning_rate)
                watched, best.variables = best.variables, in_lent_head(best.variables, head, transfer)
                try:
                    yield head, features
                finally:
                    copy_back(head, transfer)
                    best.variables = watched
            return
        if self.fast_path_used_:
            train_model, x = self._fast_phase_model(transfer, phase.learning_blocks, features, phase.name == "head")
        else:
            train_model, x = transfer.model, self._pixels
        with self.strategy_.scope():
            compile_for_training(train_model, phase.learning_rate)  # Keras reads `trainable` at compile
        yield train_model, x

    def _fit_phase(self, train_model, x, phase: Phase, index: int, epochs_done: int, stop: StopRequest,
                   best: BestWeights, callbacks) -> None:
        # Orders index the whole set, so no subset of x is ever copied.
        orders = [self.train_indices_[order] for order in
                  epoch_order(len(self.train_indices_), phase.epochs, self.settings.seed + index)]
        labels = self._labels
        if self._views and x.ndim == 2:  # each epoch, each picture is seen as one of its views
            x, labels, orders = self._with_views(x, orders, self.settings.seed + index)
        train_data, val_data, steps_per_epoch = training_feeds(x, labels, self.batch_size_, orders,
                                                               self.val_indices_)
        stop.steps = steps_per_epoch
        notify_phase(callbacks, phase.name, PhaseInfo(self.settings.total_epochs, epochs_done, phase.epochs,
                                                      steps_per_epoch))
        # Ours first: an epoch is recorded (and its weights kept) even if a later callback fails.
        fit_callbacks = [stop, HistoryRecorder(self.history_, stop), best, *callbacks]
        if self.settings.early_stopping:
            fit_callbacks.append(keras.callbacks.EarlyStopping("val_loss", patience=self.settings.patience))
        started = time.perf_counter()
        train_model.fit(train_data, validation_data=val_data, epochs=epochs_done + phase.epochs,
                        steps_per_epoch=steps_per_epoch, initial_epoch=epochs_done, callbacks=fit_callbacks,
                        verbose=0, shuffle=False)
        self.timings_[f"{phase.name}_seconds"] = time.perf_counter() - started

    def _extract(self, transfer: TransferModel, callbacks):
        """Outputs of the frozen part for every picture, from the cache or computed once.

        With fine-tuning the cache sits at the freeze boundary; without, it holds pooled features."""
        phases = self._phases(transfer)
        self._cached_learning_blocks = self.settings.learning_blocks if len(phases) > 1 else 0
        cache = FeatureCache(self.cache_dir, origins=picture_origins(getattr(self._dataset, "paths", ())))
        notify_phase(callbacks, EXTRACTING, PhaseInfo(self.settings.total_epochs, pictures=len(self._pixels)))
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            notify_extract(callbacks, done, total)
            if self._stop_event.is_set():
                raise _StopRequested()

        features = self._features = frozen_outputs(transfer, self._pixels, self._cached_learning_blocks, cache, progress)
        # The head's input for every picture, when nothing before it learns (read by familiarity).
        self.pooled_features_ = features if features.ndim == 2 else None
        if self.augmented_views_:
            notify_phase(callbacks, EXTRACTING, PhaseInfo(self.settings.total_epochs,
                                                          pictures=len(self._pixels) * self.augmented_views_,
                                                          copies=self.augmented_views_))
            self._views = augmented_outputs(transfer, self._pixels, self.settings.augment, self.augmented_views_,
                                            cache, progress)
        self.timings_["extract_seconds"] = time.perf_counter() - started
        self.feature_cache_hit_ = cache.hits > 0
        self.notes_ += cache.notes
        return features

    def _with_views(self, features, orders, seed: int):
        """Features of the pictures and of their changed views stacked (view v of picture i at
        row v·N + i), labels to match, and orders that pick one view per picture and epoch.
        Validation indices (< N) still point at the unchanged pictures."""
        n, views = len(features), len(self._views)
        stacked = np.concatenate([np.asarray(features), *map(np.asarray, self._views)])
        rng = np.random.default_rng(seed + 7919)
        orders = [order + n * rng.integers(0, views + 1, size=len(order)) for order in orders]
        return stacked, np.tile(self._labels, views + 1), orders

    def _fast_phase_model(self, transfer: TransferModel, learning_blocks: int, features, head_only: bool):
        """A model from cached features to probabilities, sharing the classifier's layers."""
        pool, dropout, dense = transfer.head_layers
        if features.ndim == 2:  # pooled features
            inputs = keras.Input(features.shape[1:], name="features")
            return keras.Model(inputs, dense(dropout(inputs)), name="head"), features
        if head_only:  # boundary features: pool through the (frozen) top once, train the head
            top = transfer.learning_top(self._cached_learning_blocks)
            function = tf.function(lambda x: pool(top(x, training=False)), reduce_retracing=True)
            pooled = predict_batches(function, features, BATCH_FOR_PREDICTION)
            inputs = keras.Input(pooled.shape[1:], name="features")
            return keras.Model(inputs, dense(dropout(inputs)), name="head"), pooled
        top = transfer.learning_top(learning_blocks)
        inputs = keras.Input(features.shape[1:], name="boundary_features")
        outputs = dense(dropout(pool(top(inputs, training=False))))
        return keras.Model(inputs, outputs, name="learning_part_and_head"), features

    def _probabilities_from_features(self, transfer: TransferModel, indices) -> np.ndarray:
        pool, _, dense = transfer.head_layers
        features = self._features
        if features.ndim == 2:  # one small layer: eager is quicker than tracing it again
            function = dense
        else:
            top = transfer.learning_top(self._cached_learning_blocks)
            function = tf.function(lambda x: dense(pool(top(x, training=False))), reduce_retracing=True)
        return predict_batches(function, features[np.asarray(indices)], BATCH_FOR_PREDICTION)

    def _finish(self, transfer, best, callbacks, outcome: str) -> None:
        self.best_epoch_ = best.best_epoch
        self.train_seconds_ = time.perf_counter() - self._started
        self.timings_["train_seconds"] = self.train_seconds_
        transfer.set_learning_blocks(transfer.num_blocks if transfer.from_scratch else 0)
        if self._features is not None:
            # The frozen part's outputs are known: run only the rest (the same layers as the
            # end-to-end model, so the same probabilities; tests check it).
            self.val_probabilities_ = self._probabilities_from_features(transfer, self.val_indices_)
        else:
            self.val_probabilities_ = predict_pictures(transfer, self._pixels[self.val_indices_], BATCH_FOR_PREDICTION)
        predicted = self.val_probabilities_.argmax(axis=1)
        truth = self._labels[self.val_indices_]
        self.val_accuracy_ = float((predicted == truth).mean()) if len(predicted) else 0.0
        notify_phase(callbacks, outcome, PhaseInfo(self.settings.total_epochs, len(self.history_["loss"])))


def _distribution_strategy():
    """Several GPUs: mirror training across them. One GPU or none: TensorFlow's default
    (it uses a GPU by itself when there is one)."""
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


class _StopRequested(Exception):
    pass


def predict_pictures(transfer: TransferModel, pixels, batch_size: int = 32) -> np.ndarray:
    """Class probabilities for uint8 pictures at the model's input size, batch by batch."""
    if len(pixels) == 0:
        return np.zeros((0, len(transfer.class_names)), "float32")
    function = tf.function(lambda x: transfer.model(x, training=False), reduce_retracing=True)
    return predict_batches(function, pixels, batch_size)
