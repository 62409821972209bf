"""The end-to-end classifier built around a backbone."""

from .augmentation import AUGMENTATIONS
from .classifier import BlockStatus, TransferModel, build_classifier

__all__ = ["AUGMENTATIONS", "BlockStatus", "TransferModel", "build_classifier"]
