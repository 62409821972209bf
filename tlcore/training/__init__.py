"""Training: the Trainer, its callbacks, the feature cache."""

from .callbacks import PhaseInfo, TrainingCallback
from .features import FeatureCache, frozen_outputs
from .progress import BestWeights, HistoryRecorder, ProgressCallback, StopRequest
from .trainer import Trainer, predict_pictures

__all__ = ["BestWeights", "FeatureCache", "HistoryRecorder", "PhaseInfo", "ProgressCallback", "StopRequest",
           "Trainer", "TrainingCallback", "frozen_outputs", "predict_pictures"]
