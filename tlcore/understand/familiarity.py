""""None of my classes": how familiar a picture is to what a run learned.

A classifier always answers with one of its classes: its probabilities add up to 1 over
them, so a picture of something else still gets a "sure" answer. Familiarity asks another
question, from the features the last layer sees: is this picture like the pictures the
model learned from? It is the mean cosine similarity to the k most similar training
pictures, and the run's own validation pictures set the line, so that about
``quantile`` (95 %) of them count as familiar.

Measured (MobileNetV2-0.35 with the shared ImageNet file, 96 px, a run on daisy and
sunflower): counted unfamiliar are 5 % of its validation pictures, all drawn demo shapes,
5 of 5 photos of other things (a bridge, a door, a hand...), but only about 20 % of the
other flowers: to features that know flowers, a rose is familiar. An "other" class, with
pictures of what else the model may see, is the way to teach it that difference.

The numbers are computed by ``scoring.py`` (plain numpy), which an exported predict.py
can carry verbatim, so the app and the exported script give the same answers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.lookalikes import CANDIDATE_BITS
from .scoring import (
    FAMILIARITY_FILE,
    FAMILIARITY_FORMAT,
    FamiliarityFileError,
    familiar_flags,
    familiarity_scores,
    normalise_rows,
    read_familiarity,
)

# Training pictures kept as the reference: enough to cover a class's variety, small enough
# for a run folder (1,000 × 1,280 features as float16 is 2.6 MB).
MAX_REFERENCE = 1000


class FamiliarityModel:
    """``FamiliarityModel(k, quantile).fit(train_features, train_labels).calibrate(val_features)``.

    Learned state: ``reference_`` (float16 (M, F), L2-normalised training features, a
    per-class sample of at most ``max_reference``), ``reference_labels_``, ``threshold_``
    (NaN until calibrated: then every picture counts as familiar) and
    ``validation_scores_``."""

    def __init__(self, k: int = 5, quantile: float = 0.95, max_reference: int = MAX_REFERENCE, seed: int = 0):
        self.k = k
        self.quantile = quantile
        self.max_reference = max_reference
        self.seed = seed

    def _check_settings(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"k (the neighbours compared) must be a whole number of at least 1; got {self.k!r}.")
        if not 0.5 <= float(self.quantile) < 1.0:
            raise ValueError(f"quantile (the share of validation pictures counted familiar) must be from 0.5 "
                             f"to below 1, for example 0.95; got {self.quantile!r}.")
        if int(self.max_reference) < self.k:
            raise ValueError(f"max_reference must be at least k ({self.k}); got {self.max_reference!r}.")

    def fit(self, train_features, train_labels) -> "FamiliarityModel":
        """Keep (a per-class sample of) the training features as the reference."""
        self._check_settings()
        features = _as_features(train_features, "training")
        labels = np.asarray(train_labels, dtype=np.int64).reshape(-1)
        if len(labels) != len(features):
            raise ValueError(f"There are {len(features)} training feature rows but {len(labels)} labels; "
                             "give one label per picture.")
        if len(features) < self.k:
            raise ValueError(f"Familiarity needs at least k = {self.k} training pictures; got {len(features)}.")
        keep = _per_class_sample(labels, int(self.max_reference), self.seed)
        self.reference_rows_ = keep  # which training rows the reference holds (for calibrate's copies)
        self.reference_ = normalise_rows(features[keep]).astype(np.float16)
        self.reference_labels_ = labels[keep].astype(np.int32)
        self.threshold_ = float("nan")
        self.validation_scores_ = np.zeros(0, "float32")
        return self

    def calibrate(self, val_features, copies=None) -> "FamiliarityModel":
        """Set ``threshold_`` so that about ``quantile`` of these (validation) pictures count as familiar.

        ``copies``: optional (validation, training) bool, True where a validation picture is a
        near-copy of a training picture given to ``fit`` (frames of one camera burst). Those are
        left out of its score: against its own copies every validation picture looks more
        familiar than a new picture of its class ever will, and the line would then flag the
        class's new pictures (a live camera would say "none of my classes" to everything)."""
        self._check_fitted()
        features = _as_features(val_features, "validation")
        if len(features) == 0:
            raise ValueError("Calibrating familiarity needs validation pictures; keep some pictures aside "
                             "(a validation fraction above 0).")
        if copies is None:
            self.validation_scores_ = self.score(features)
        else:
            left_out = np.asarray(copies, dtype=bool)[:, self.reference_rows_]
            self.validation_scores_ = _scores_leaving_out(features, self.reference_, self.k, left_out)
        scored = self.validation_scores_[np.isfinite(self.validation_scores_)]
        # Every validation picture a copy of every reference picture: no line can be set, all count as familiar.
        self.threshold_ = float(np.quantile(scored, 1.0 - float(self.quantile))) if len(scored) else float("nan")
        return self

    def score(self, features) -> np.ndarray:
        """(N,) float32 familiarity: mean cosine similarity to the k most similar reference pictures."""
        self._check_fitted()
        return familiarity_scores(_as_features(features, "these"), self.reference_, self.k)

    def familiar(self, features) -> np.ndarray:
        """(N,) bool: whether each picture looks like the pictures the model learned from."""
        return familiar_flags(self.score(features), self.threshold_)

    @property
    def calibrated(self) -> bool:
        return hasattr(self, "threshold_") and not np.isnan(self.threshold_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "reference_"):
            raise RuntimeError("This FamiliarityModel has not learned anything yet: call fit(...) first.")

    # -- storing ---------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write a plain ``.npz`` (``path`` may be a run folder: then familiarity.npz inside it)."""
        self._check_fitted()
        path = Path(path)
        if path.is_dir():
            path = path / FAMILIARITY_FILE
        with open(path, "wb") as stream:  # a file object: numpy adds no ".npz" of its own
            np.savez(stream, format=np.int32(FAMILIARITY_FORMAT), k=np.int32(self.k),
                     quantile=np.float64(self.quantile), threshold=np.float32(self.threshold_),
                     reference=self.reference_, labels=self.reference_labels_)
        return path

    @classmethod
    def load(cls, path) -> "FamiliarityModel":
        """Read a file written by ``save`` (never runs code: no pickles); FamiliarityFileError if unusable."""
        path = Path(path)
        if path.is_dir():
            path = path / FAMILIARITY_FILE
        data = read_familiarity(path)
        model = cls(k=int(data["k"]), quantile=float(data["quantile"]), max_reference=max(len(data["reference"]),
                                                                                        int(data["k"])))
        model.reference_ = np.asarray(data["reference"], dtype=np.float16)
        model.reference_labels_ = np.asarray(data["labels"], dtype=np.int32)
        model.threshold_ = float(data["threshold"])
        model.validation_scores_ = np.zeros(0, "float32")
        return model

    def __repr__(self) -> str:
        state = (f", {len(self.reference_)} reference pictures, threshold {self.threshold_:.3f}"
                 if hasattr(self, "reference_") else "")
        return f"FamiliarityModel(k={self.k}, quantile={self.quantile}{state})"


def _as_features(features, which: str) -> np.ndarray:
    features = np.asarray(features, dtype="float32")
    if features.ndim != 2:
        raise ValueError(f"The {which} features must be one row per picture (a 2-D array); "
                         f"got an array of shape {features.shape}.")
    if not np.isfinite(features).all():
        raise ValueError(f"The {which} features hold invalid numbers (NaN or infinity); compute them again.")
    return features


def _scores_leaving_out(features: np.ndarray, reference: np.ndarray, k: int, left_out: np.ndarray) -> np.ndarray:
    """Like ``familiarity_scores``, but each row ignores the reference columns ``left_out``
    marks; the mean over the similarities left (NaN for a row with none left)."""
    similarity = normalise_rows(features) @ np.asarray(reference, dtype="float32").T
    similarity[left_out] = -np.inf
    k = int(min(max(1, k), similarity.shape[1]))
    nearest = -np.sort(-similarity, axis=1)[:, :k]
    counted = np.isfinite(nearest)
    with np.errstate(invalid="ignore"):
        sums = np.where(counted, nearest, 0.0).sum(axis=1)
        return (sums / counted.sum(axis=1)).astype("float32")


def _per_class_sample(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` rows, each class keeping its share (all rows if they fit)."""
    if len(labels) <= limit:
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        share = max(1, int(round(limit * len(members) / len(labels))))
        chosen.append(rng.permutation(members)[:share])
    return np.sort(np.concatenate(chosen))


def head_features(trainer, dataset, indices=None) -> np.ndarray:
    """Features at the head's input of a fitted Trainer's model, for ``indices`` of ``dataset``.

    Without fine-tuning, the fast path already computed them (the cached pooled features:
    the head's input is the frozen backbone's output); otherwise the trained model runs."""
    indices = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=np.int64)
    cached = getattr(trainer, "pooled_features_", None)
    if cached is not None and cached.ndim == 2 and len(cached) == len(dataset):
        return np.asarray(cached[indices], dtype="float32")
    from .features import run_features

    transfer = trainer.model_
    return run_features(transfer.model, dataset.pixels(transfer.input_size)[indices])


def fit_for_run(trainer, dataset, k: int = 5, quantile: float = 0.95) -> FamiliarityModel:
    """A FamiliarityModel for a fitted Trainer: its training pictures as reference, its
    validation pictures for the line. ``dataset`` is the one the Trainer was fitted on."""
    train, val = np.asarray(trainer.train_indices_), np.asarray(trainer.val_indices_)
    if getattr(trainer, "pooled_features_", None) is None and len(train) > MAX_REFERENCE // 2:
        # The trained model must run to get its features: a seeded sample of training pictures is enough.
        train = np.sort(np.random.default_rng(trainer.settings.seed).choice(train, MAX_REFERENCE // 2, replace=False))
    features = head_features(trainer, dataset, np.concatenate([train, val]))
    labels = np.asarray(dataset.labels)[train]
    model = FamiliarityModel(k, quantile, seed=trainer.settings.seed).fit(features[: len(train)], labels)
    if not len(val):
        return model
    return model.calibrate(features[len(train):], near_copies(dataset.look_hashes[val], dataset.look_hashes[train]))


def near_copies(hashes, reference_hashes, max_bits: int = CANDIDATE_BITS) -> np.ndarray:
    """(len(hashes), len(reference_hashes)) bool: pictures whose look hashes (dHash) differ in at
    most ``max_bits`` bits, the duplicate report's first test for near-identical pictures."""
    hashes = np.asarray(hashes, dtype=np.uint64).reshape(-1, 1)
    reference_hashes = np.asarray(reference_hashes, dtype=np.uint64).reshape(1, -1)
    differing = np.unpackbits((hashes ^ reference_hashes).astype(">u8")[..., None].view(np.uint8), axis=-1)
    return differing.sum(axis=-1) <= max_bits


__all__ = ["FAMILIARITY_FILE", "FamiliarityFileError", "FamiliarityModel", "fit_for_run", "head_features",
           "near_copies"]
