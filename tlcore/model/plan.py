"""What will learn: the backbone's blocks, frozen or learning, and parameter counts.

One place for the arithmetic the Model page and ``tlcore backbones NAME`` both show. It
looks at a *structure* (random weights, never trained, built without touching the
process-wide seed) kept for the last few backbones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

from .classifier import BlockStatus, TransferModel, build_classifier

_LOCK = threading.Lock()


@lru_cache(maxsize=3)
def _structure(backbone: str) -> TransferModel:
    return build_classifier(backbone, ["a", "b"], None, weights="none", seed=None)


def structure(backbone: str) -> TransferModel:
    """The classifier's structure for ``backbone`` (2 classes, random weights), for counting only."""
    with _LOCK:
        return _structure(backbone)


@dataclass(frozen=True)
class LearningPlan:
    """Blocks and parameters for one backbone, number of classes and learning blocks."""

    backbone: str
    blocks: tuple[BlockStatus, ...]  # bottom to top
    learning_blocks: int
    head_params: int
    learning_backbone_params: int  # in the blocks that learn (BatchNorm excluded unless from scratch)
    frozen_params: int
    feature_size: int

    @property
    def num_blocks(self) -> int:
        return len(self.blocks)

    @property
    def learning_params(self) -> int:
        return self.learning_backbone_params + self.head_params


def learning_plan(backbone: str, n_classes: int, learning_blocks: int, from_scratch: bool = False) -> LearningPlan:
    """What learns when ``learning_blocks`` top blocks (all of them from scratch) learn, with a
    new head for ``n_classes`` classes."""
    view = structure(backbone)
    learning_blocks = view.num_blocks if from_scratch else view.check_learning_blocks(learning_blocks)
    with _LOCK:
        features = int(view.model.get_layer("predictions").kernel.shape[0])
        preview_head = features * 2 + 2  # the structure's own head has 2 classes
        learning_backbone = view.trainable_params(learning_blocks, from_scratch=from_scratch) - preview_head
        statuses = tuple(view.block_status(learning_blocks))
    return LearningPlan(
        backbone=backbone, blocks=statuses, learning_blocks=learning_blocks,
        head_params=features * n_classes + n_classes, learning_backbone_params=learning_backbone,
        frozen_params=sum(s.params for s in statuses) - learning_backbone, feature_size=features)
