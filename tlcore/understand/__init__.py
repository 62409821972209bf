"""Understand: what the network sees, which labels look wrong, which pictures look like none
of the classes.

    features.py     features at the head's input (shared feature cache; or a trained run's)
    embedding.py    a 2-D map of the features (PCA) and how well the classes separate
    suspects.py     pictures whose label looks wrong (out-of-fold), and off-topic pictures
    familiarity.py  "none of my classes": FamiliarityModel, fit_for_run
    scoring.py      familiarity in plain numpy, copied verbatim into an exported predict.py

Importing this package does not import TensorFlow; functions that need a model do.
"""

from .embedding import EmbeddingMap, embedding_map, separation_sentence
from .familiarity import FamiliarityFileError, FamiliarityModel, fit_for_run, head_features
from .features import features_and_probabilities, pooled_features, run_features
from .scoring import FAMILIARITY_FILE
from .suspects import Suspect, label_suspects, off_topic_suspects

__all__ = [
    "FAMILIARITY_FILE", "EmbeddingMap", "FamiliarityFileError", "FamiliarityModel", "Suspect", "embedding_map",
    "features_and_probabilities", "fit_for_run", "head_features", "label_suspects", "off_topic_suspects",
    "pooled_features", "run_features", "separation_sentence",
]
