"""Bringing models in from elsewhere: Teachable Machine exports, untrusted model files."""

from ..runs.safe_load import ModelFileError, load_model_safely
from .teachable_machine import (
    TeachableMachineError,
    find_export,
    import_teachable_machine,
    read_labels,
    teachable_machine_backbone_weights,
)

__all__ = [
    "ModelFileError",
    "TeachableMachineError",
    "find_export",
    "import_teachable_machine",
    "load_model_safely",
    "read_labels",
    "teachable_machine_backbone_weights",
]
