"""Training: the Trainer, progress callbacks, the feature cache."""

from .features import FeatureCache
from .progress import BestWeights, ProgressCallback, StopRequest
from .trainer import Trainer, predict_pictures

__all__ = ["BestWeights", "FeatureCache", "ProgressCallback", "StopRequest", "Trainer", "predict_pictures"]
