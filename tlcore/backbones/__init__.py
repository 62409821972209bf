"""Pretrained backbones: the registry (data: one ``BackboneSpec`` per network, with where its ImageNet
weights come from), which weights are on this computer, downloading and sharing them, and how
layers group into blocks."""

from .registry import BACKBONES, DEFAULT_BACKBONE, get_backbone, list_backbones
from .factory import add_to_library, check_input_size, create_backbone
from .spec import BackboneSpec, BlockRule, Card
from .weights import (
    WeightsUnavailableError,
    imagenet_weights_cached,
    library_weights_file,
    network_with_weights,
    networks_with_weights,
    resolve_weights,
    weights_here,
    weights_label,
)

__all__ = [
    "BACKBONES",
    "DEFAULT_BACKBONE",
    "BackboneSpec",
    "BlockRule",
    "Card",
    "WeightsUnavailableError",
    "add_to_library",
    "check_input_size",
    "create_backbone",
    "library_weights_file",
    "weights_label",
    "get_backbone",
    "imagenet_weights_cached",
    "list_backbones",
    "network_with_weights",
    "networks_with_weights",
    "resolve_weights",
    "weights_here",
]
