"""Train a transfer-learning classifier: the head first, then optional fine-tuning.

The fast path: when the part of the backbone that runs is frozen and augmentation is off,
its outputs are computed once (cached on disk) and only what learns is trained on them.
The learning layers are the very layer objects of the end-to-end model, so the result is
always one Keras model, pictures in, probabilities out.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from .._tf import keras, tf
from ..backbones.registry import DEFAULT_BACKBONE, get_backbone
from ..backbones.weights import resolve_weights
from ..model.augmentation import normalise_augment
from ..model.classifier import TransferModel, build_classifier
from .features import FeatureCache, pixels_identity, weights_identity
from .feed import epoch_order, predict_batches, steps, training_feeds
from .progress import BestWeights, StopRequest


class Trainer:
    """Settings of a training run; ``fit(dataset)`` trains and returns self.

    Learned state ends in ``_``: ``model_`` (TransferModel), ``history_`` (Keras-shaped),
    ``val_accuracy_``, ``best_epoch_``, ``fast_path_used_``, ``stopped_``, ``timings_``, ...
    """

    def __init__(
        self,
        backbone: str = DEFAULT_BACKBONE,
        weights="imagenet",
        input_size: int | None = None,
        freeze_depth: int = 0,
        epochs: int = 5,
        fine_tune_epochs: int | None = None,
        batch_size: int | str | None = "auto",
        learning_rate: float = 1e-3,
        fine_tune_learning_rate: float | None = None,
        dropout: float = 0.2,
        augment=False,
        validation_fraction: float = 0.2,
        early_stopping: bool = False,
        patience: int = 3,
        seed: int = 0,
        fast_path: bool = True,
        cache_dir=None,
        callbacks=(),
    ):
        self.backbone = backbone
        self.weights = weights
        self.input_size = input_size
        self.freeze_depth = freeze_depth
        self.epochs = epochs
        self.fine_tune_epochs = fine_tune_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.dropout = dropout
        self.augment = augment
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.patience = patience
        self.seed = seed
        self.fast_path = fast_path
        self.cache_dir = cache_dir
        self.callbacks = callbacks
        self._stop_event = threading.Event()

    # -- settings ----------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Thread-safe: training ends at the next batch and keeps the best weights so far."""
        self._stop_event.set()

    @property
    def resolved_fine_tune_epochs(self) -> int:
        if self.fine_tune_epochs is None:
            return self.epochs if self.freeze_depth else 0
        return int(self.fine_tune_epochs)

    @property
    def resolved_fine_tune_learning_rate(self) -> float:
        # Ten times lower than the head's: large steps would wreck the pretrained features.
        return self.fine_tune_learning_rate or self.learning_rate / 10

    def check_settings(self) -> None:
        """Raise a clear ValueError for any setting that cannot work, before any heavy work."""
        get_backbone(self.backbone)
        resolve_weights(self.weights)
        if int(self.epochs) < 1:
            raise ValueError(f"Epochs must be at least 1; got {self.epochs}.")
        if self.resolved_fine_tune_epochs < 0:
            raise ValueError(f"Fine-tune epochs cannot be negative; got {self.fine_tune_epochs}.")
        if self.resolved_fine_tune_epochs and not self.freeze_depth and str(self.weights) != "none":
            raise ValueError(
                "Fine-tuning needs at least one learning block: set the freeze depth to 1 or "
                "more, or set fine-tune epochs to 0."
            )
        if not _is_auto(self.batch_size) and int(self.batch_size) < 1:
            raise ValueError(f"Batch size must be 'auto' or at least 1; got {self.batch_size}.")
        for name in ("learning_rate", "fine_tune_learning_rate"):
            value = getattr(self, name)
            if value is not None and not 0 < float(value) < 1:
                raise ValueError(f"{name.replace('_', ' ').capitalize()} must be between 0 and 1; got {value}.")
        normalise_augment(self.augment)

    # -- training ------------------------------------------------------------------------------
    def fit(self, dataset, train_indices=None, val_indices=None) -> "Trainer":
        self.check_settings()  # a stop asked for before fit starts still counts (cleared at the end)
        started = time.perf_counter()
        if train_indices is None or val_indices is None:
            train_indices, val_indices = dataset.split(self.validation_fraction, self.seed)
        self.train_indices_ = np.asarray(train_indices)
        self.val_indices_ = np.asarray(val_indices)
        self.batch_size_ = auto_batch_size(len(self.train_indices_)) if _is_auto(self.batch_size) else int(self.batch_size)
        self.class_names_ = list(dataset.class_names)

        self.strategy_ = _distribution_strategy()
        with self.strategy_.scope():
            transfer = build_classifier(
                self.backbone, self.class_names_, self.input_size, self.weights,
                self.dropout, self.augment, self.seed,
            )
        depth = transfer.num_blocks if transfer.from_scratch else transfer.check_freeze_depth(self.freeze_depth)
        self.model_ = transfer
        self.history_ = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
        self.timings_ = {"build_seconds": time.perf_counter() - started}
        self.fine_tune_start_epoch_ = None
        self.stopped_ = False
        self.error_ = None

        pixels = dataset.pixels(transfer.input_size)
        labels = np.asarray(dataset.labels, dtype="int64")
        phases = self._phases(transfer, depth)
        self.fast_path_used_ = bool(
            self.fast_path and not transfer.from_scratch and not transfer.augment_layers
        )
        watched = [v for layer in transfer.head_layers for v in layer.weights]
        if depth:
            watched += [v for block in transfer.blocks[transfer.num_blocks - depth:]
                        for layer in block.layers for v in getattr(layer, "weights", [])]
        best = BestWeights(watched)
        user_callbacks = list(self.callbacks)
        total_epochs = sum(epochs for _, epochs, _, _ in phases)
        self._notify(user_callbacks, "set_phase", "waiting", total_epochs)

        self._features = None
        try:
            if self.fast_path_used_:
                self._extract_depth = depth if len(phases) > 1 else 0
                features = self._features = self._extract(transfer, pixels, self._extract_depth, user_callbacks)
            initial_epoch = 0
            for phase_index, (phase, epochs, phase_depth, learning_rate) in enumerate(phases):
                if self._stop_event.is_set():
                    break
                if phase == "fine_tune":
                    self.fine_tune_start_epoch_ = initial_epoch
                transfer.set_freeze_depth(phase_depth)
                if self.fast_path_used_:
                    train_model, x = self._fast_phase_model(transfer, phase_depth, features, phase == "head")
                else:
                    train_model, x = transfer.model, pixels
                with self.strategy_.scope():
                    train_model.compile(  # recompile: Keras reads `trainable` at compile time
                        optimizer=keras.optimizers.Adam(learning_rate),
                        loss="sparse_categorical_crossentropy",
                        metrics=["accuracy"],
                    )
                # Orders index the whole set, so no subset of x is ever copied.
                orders = [self.train_indices_[order] for order in
                          epoch_order(len(self.train_indices_), epochs, self.seed + phase_index)]
                train_data, val_data, steps_per_epoch = training_feeds(
                    x, labels, self.batch_size_, orders, self.val_indices_)
                self._notify(user_callbacks, "set_phase", phase, total_epochs,
                             steps(len(self.train_indices_), self.batch_size_))
                # Ours first: an epoch is recorded (and its weights kept) even if a later callback fails.
                callbacks = [_HistoryRecorder(self.history_), best, StopRequest(self._stop_event), *user_callbacks]
                if self.early_stopping:
                    callbacks.append(keras.callbacks.EarlyStopping("val_loss", patience=self.patience))
                phase_started = time.perf_counter()
                fitted = train_model.fit(
                    train_data, validation_data=val_data, epochs=initial_epoch + epochs,
                    steps_per_epoch=steps_per_epoch,
                    initial_epoch=initial_epoch, callbacks=callbacks, verbose=0, shuffle=False,
                )
                self.timings_[f"{phase}_seconds"] = time.perf_counter() - phase_started
                initial_epoch += len(fitted.history.get("loss", []))
        except _StopRequested:  # stopped while computing features: nothing learned yet
            pass
        except Exception as error:  # keep what was learned so far, then let the caller know
            self.error_ = error
            best.restore()
            self._finish(transfer, pixels, labels, best, started, user_callbacks, "failed")
            raise
        self.stopped_ = self._stop_event.is_set()
        self._stop_event.clear()  # so this Trainer can fit again
        best.restore()
        self._finish(transfer, pixels, labels, best, started, user_callbacks,
                     "stopped" if self.stopped_ else "done")
        return self

    def _phases(self, transfer: TransferModel, depth: int) -> list[tuple[str, int, int, float]]:
        """(phase, epochs, freeze depth, learning rate) for each phase."""
        if transfer.from_scratch:  # a random backbone must learn everything, from the start
            return [("scratch", int(self.epochs) + self.resolved_fine_tune_epochs, depth, self.learning_rate)]
        phases = [("head", int(self.epochs), 0, self.learning_rate)]
        if depth and self.resolved_fine_tune_epochs:
            phases.append(("fine_tune", self.resolved_fine_tune_epochs, depth, self.resolved_fine_tune_learning_rate))
        return phases

    def _extract(self, transfer: TransferModel, pixels, depth: int, callbacks):
        """Outputs of the frozen part for every picture, from the cache or computed once.

        Depth 0 caches pooled features (the pooling has nothing to learn); deeper, the
        output at the freeze boundary."""
        cache = FeatureCache(self.cache_dir)
        self.feature_cache_ = cache
        boundary = "pooled" if depth == 0 else transfer.cut_operation(depth).name
        key = cache.key(pixels_identity(pixels), transfer.spec.name, weights_identity(transfer.weights),
                        transfer.input_size, boundary)
        self._notify(callbacks, "set_phase", "extracting")
        started = time.perf_counter()

        def compute():
            extractor = transfer.frozen_extractor(depth)
            pool = transfer.model.get_layer("pool")
            if depth == 0:
                function = tf.function(lambda x: pool(extractor(x, training=False)), reduce_retracing=True)
            else:
                function = tf.function(lambda x: extractor(x, training=False), reduce_retracing=True)
            return predict_batches(function, pixels, BATCH_FOR_PREDICTION,
                                   on_batch=lambda done, total: self._extract_progress(callbacks, done, total))

        features = cache.get_or_compute(key, compute)
        self.timings_["extract_seconds"] = time.perf_counter() - started
        self.feature_cache_hit_ = cache.hits > 0
        return features

    def _extract_progress(self, callbacks, done: int, total: int) -> None:
        for callback in callbacks:
            callback.on_predict_batch_end(done, {"done": done, "total": total})
        if self._stop_event.is_set():
            raise _StopRequested()

    def _fast_phase_model(self, transfer: TransferModel, depth: int, features, head_only: bool):
        """A model from cached features to probabilities, sharing the classifier's layers."""
        pool, dropout, dense = transfer.head_layers
        if features.ndim == 2:  # pooled features
            inputs = keras.Input(features.shape[1:], name="features")
            return keras.Model(inputs, dense(dropout(inputs)), name="head"), features
        if head_only:  # boundary features: pool through the (frozen) top once, train the head
            top = transfer.learning_top(self._extract_depth)
            function = tf.function(lambda x: pool(top(x, training=False)), reduce_retracing=True)
            pooled = predict_batches(function, features, BATCH_FOR_PREDICTION)
            inputs = keras.Input(pooled.shape[1:], name="features")
            return keras.Model(inputs, dense(dropout(inputs)), name="head"), pooled
        top = transfer.learning_top(depth)
        inputs = keras.Input(features.shape[1:], name="boundary_features")
        outputs = dense(dropout(pool(top(inputs, training=False))))
        return keras.Model(inputs, outputs, name="learning_part_and_head"), features

    def _probabilities_from_features(self, transfer: TransferModel, indices) -> np.ndarray:
        pool, _, dense = transfer.head_layers
        features = self._features
        if features.ndim == 2:
            function = tf.function(lambda x: dense(x), reduce_retracing=True)
        else:
            top = transfer.learning_top(self._extract_depth)
            function = tf.function(lambda x: dense(pool(top(x, training=False))), reduce_retracing=True)
        return predict_batches(function, features[np.asarray(indices)], BATCH_FOR_PREDICTION)

    def _finish(self, transfer, pixels, labels, best, started, callbacks, phase):
        self.best_epoch_ = best.best_epoch
        self.train_seconds_ = time.perf_counter() - started
        self.timings_["train_seconds"] = self.train_seconds_
        transfer.set_freeze_depth(transfer.num_blocks if transfer.from_scratch else 0)
        if self._features is not None:
            # The frozen part's outputs are known: run only the rest (the same layers as the
            # end-to-end model, so the same probabilities; tests check it).
            self.val_probabilities_ = self._probabilities_from_features(transfer, self.val_indices_)
        else:
            self.val_probabilities_ = predict_pictures(transfer, pixels[self.val_indices_], BATCH_FOR_PREDICTION)
        predicted = self.val_probabilities_.argmax(axis=1)
        self.val_accuracy_ = float((predicted == labels[self.val_indices_]).mean()) if len(predicted) else 0.0
        self._notify(callbacks, "set_phase", phase)

    @staticmethod
    def _notify(callbacks, method: str, *args) -> None:
        for callback in callbacks:
            if hasattr(callback, method):
                getattr(callback, method)(*args)


# Inference batch: throughput on CPU levels off around 32; memory stays modest.
BATCH_FOR_PREDICTION = 32


def _is_auto(batch_size) -> bool:
    return batch_size is None or str(batch_size).lower() == "auto"


def auto_batch_size(train_pictures: int) -> int:
    """32, but small enough that a small class set still gets about 8 learning steps an epoch.

    With 30 pictures and batches of 32, an epoch is a single step and the head barely learns."""
    return int(min(32, max(4, train_pictures // 8)))


def _distribution_strategy():
    """Several GPUs: mirror training across them. One GPU or none: TensorFlow's default
    (it uses a GPU by itself when there is one)."""
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


class _StopRequested(Exception):
    pass


class _HistoryRecorder(keras.callbacks.Callback):
    """Appends each epoch's metrics to a Keras-shaped history dict, across phases."""

    def __init__(self, history: dict):
        super().__init__()
        self.history = history

    def on_epoch_end(self, epoch, logs=None):
        for name in self.history:
            if name in (logs or {}):
                self.history[name].append(float(logs[name]))


def predict_pictures(transfer: TransferModel, pixels, batch_size: int = 32) -> np.ndarray:
    """Class probabilities for uint8 pictures at the model's input size, batch by batch."""
    if len(pixels) == 0:
        return np.zeros((0, len(transfer.class_names)), "float32")
    function = tf.function(lambda x: transfer.model(x, training=False), reduce_retracing=True)
    return predict_batches(function, pixels, batch_size)
