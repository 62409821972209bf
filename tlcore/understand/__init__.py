"""Compare and understand: what the network sees, which labels look wrong, which pictures
look like none of the classes, and how sure a measured number is.

    features.py     features at the head's input (shared feature cache; or a trained run's)
    embedding.py    a 2-D map of the features (PCA) and how well the classes separate
    suspects.py     pictures whose label looks wrong (out-of-fold), and off-topic pictures
    familiarity.py  "none of my classes": FamiliarityModel, fit_for_run
    scoring.py      familiarity in plain numpy, copied verbatim into an exported predict.py
    stats.py        mean, spread and 95 % interval; the same splits for every configuration
    experiments.py  one configuration trained on each split: a row of the comparison table

Importing this package does not import TensorFlow; functions that need a model do.
"""

from .embedding import EmbeddingMap, embedding_map, separation_sentence
from .experiments import repeat_training
from .familiarity import FamiliarityFileError, FamiliarityModel, fit_for_run, head_features
from .features import features_and_probabilities, pooled_features, run_features
from .scoring import FAMILIARITY_FILE
from .stats import (
    ConfigurationResult,
    Summary,
    accuracy_summary,
    learning_curve_sizes,
    per_class_counts,
    stratified_splits,
    summary,
)
from .suspects import Suspect, label_suspects, off_topic_suspects

__all__ = [
    "FAMILIARITY_FILE", "ConfigurationResult", "EmbeddingMap", "FamiliarityFileError", "FamiliarityModel",
    "Summary", "Suspect", "accuracy_summary", "embedding_map", "features_and_probabilities", "fit_for_run",
    "head_features",
    "label_suspects", "learning_curve_sizes", "off_topic_suspects", "per_class_counts", "pooled_features",
    "repeat_training", "run_features", "separation_sentence", "stratified_splits", "summary",
]
