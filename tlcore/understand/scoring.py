"""How familiar a picture looks to a trained model: plain numpy, no tlcore import.

This file is written to be copied unchanged into an exported predict.py (as
tlcore/data/imagefile.py is), so the exported script says "this doesn't look like any of
your classes" exactly as the app does. It needs numpy; ``head_input_model`` also needs
Keras, imported only when called.

A picture's familiarity is the mean cosine similarity of its features (at the classifier's
head input) to the k most similar features of pictures the model learned from. A
threshold, set on the model's own validation pictures, separates familiar from not.

familiarity.npz (read with allow_pickle=False, so it can never run code):
    format      int32      FAMILIARITY_FORMAT
    k           int32      neighbours averaged
    quantile    float64    share of validation pictures counted familiar when calibrated
    threshold   float32    familiar when the score is at least this (NaN: not calibrated)
    reference   float16    (M, F) L2-normalised training features (a sample if the set is large)
    labels      int32      (M,) their class numbers
"""

import zipfile

import numpy as np

FAMILIARITY_FILE = "familiarity.npz"
FAMILIARITY_FORMAT = 1
POOL_LAYER = "pool"
# A run's file holds at most a few thousand rows; anything far bigger is not ours.
MAX_FAMILIARITY_BYTES = 256 * 1024 * 1024
_FIELDS = ("format", "k", "quantile", "threshold", "reference", "labels")
_BLOCK = 1024  # rows scored at once: memory stays (1024, M)


class FamiliarityFileError(ValueError):
    """A familiarity file that cannot be used; the message says why and what to do."""


def normalise_rows(features):
    """Each row scaled to length 1 (rows of zeros stay zero), float32."""
    features = np.asarray(features, dtype="float32")
    lengths = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(lengths, np.float32(1e-30))


def familiarity_scores(features, reference, k):
    """(N,) float32: mean cosine similarity of each row of ``features`` to its ``k`` most
    similar rows of ``reference`` (already L2-normalised, any float dtype)."""
    unit = normalise_rows(np.asarray(features).reshape(len(features), -1))
    reference = np.asarray(reference, dtype="float32")
    if unit.shape[1] != reference.shape[1]:
        raise ValueError(f"These features have {unit.shape[1]} numbers per picture, but the familiarity "
                         f"reference has {reference.shape[1]}: they come from different networks.")
    k = int(min(max(1, k), len(reference)))
    scores = np.empty(len(unit), "float32")
    for start in range(0, len(unit), _BLOCK):
        similarity = unit[start:start + _BLOCK] @ reference.T
        nearest = np.partition(similarity, len(reference) - k, axis=1)[:, len(reference) - k:]
        scores[start:start + _BLOCK] = nearest.mean(axis=1)
    return scores


def read_familiarity(path):
    """The arrays of a familiarity.npz as a dict, checked; FamiliarityFileError if unusable."""
    name = getattr(path, "name", str(path))
    try:
        with zipfile.ZipFile(path) as archive:  # sizes checked before numpy reads anything
            total = sum(member.file_size for member in archive.infolist())
        if total > MAX_FAMILIARITY_BYTES:
            raise FamiliarityFileError(f"{name} is far too big for a familiarity file; train the run again.")
        with np.load(path, allow_pickle=False) as stored:
            data = {field: stored[field] for field in _FIELDS}
    except FamiliarityFileError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
        raise FamiliarityFileError(f"{name} is damaged or is not a familiarity file; "
                                   "train the run again to make a new one.") from None
    problem = _problem(data)
    if problem:
        raise FamiliarityFileError(f"{name} cannot be used: {problem}. Train the run again to make a new one.")
    return data


def _problem(data):
    """What is wrong with the arrays of a familiarity file, in words; None if nothing."""
    reference, labels = data["reference"], data["labels"]
    try:
        version, k, threshold = int(data["format"]), int(data["k"]), float(data["threshold"])
    except (TypeError, ValueError):
        return "its settings are not numbers"
    if version != FAMILIARITY_FORMAT:
        return f"it is of format {version}, and this program reads format {FAMILIARITY_FORMAT}"
    if reference.ndim != 2 or len(reference) == 0 or labels.shape != (len(reference),):
        return "its reference features are missing or do not match their labels"
    if not (np.issubdtype(reference.dtype, np.floating) and np.isfinite(reference).all()):
        return "its reference features are not finite numbers"
    if k < 1 or np.isinf(threshold):
        return "its number of neighbours or its threshold is out of range"
    return None


def familiar_flags(scores, threshold):
    """True where a score reaches the threshold (all True if the threshold is NaN: not calibrated)."""
    scores = np.asarray(scores, dtype="float32")
    if np.isnan(threshold):
        return np.ones(scores.shape, dtype=bool)
    return scores >= np.float32(threshold)


def head_input_model(model):
    """A Keras model: pictures in, (features at the head's input, probabilities) out.

    The head's input is the output of the classifier's pooling layer, named "pool"."""
    import keras

    names = [layer.name for layer in model.layers]
    if POOL_LAYER not in names:
        raise ValueError("This model has no pooling layer named 'pool', so what its last layer sees "
                         "cannot be read; familiarity and maps need a model trained or imported here.")
    return keras.Model(model.inputs, [model.get_layer(POOL_LAYER).output, model.outputs[0]])
