"""Pretrained backbones: the registry (data), weights, and how layers group into blocks."""

from .registry import BACKBONES, DEFAULT_BACKBONE, get_backbone, list_backbones
from .spec import BackboneSpec, BlockRule, Card
from .weights import WeightsUnavailableError, imagenet_weights_cached, resolve_weights

__all__ = [
    "BACKBONES",
    "DEFAULT_BACKBONE",
    "BackboneSpec",
    "BlockRule",
    "Card",
    "WeightsUnavailableError",
    "get_backbone",
    "imagenet_weights_cached",
    "list_backbones",
    "resolve_weights",
]
