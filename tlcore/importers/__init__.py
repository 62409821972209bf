"""Bringing models in from elsewhere: Teachable Machine exports (Keras and TensorFlow.js), untrusted model files."""

from ..runs.safe_load import ModelFileError, load_model_safely
from .teachable_machine import (
    TeachableMachineError,
    find_export,
    import_teachable_machine,
    read_labels,
    teachable_machine_backbone_weights,
)
from .tfjs import import_teachable_machine_export, import_tfjs, is_tfjs_export, tfjs_backbone_weights

__all__ = [
    "ModelFileError",
    "TeachableMachineError",
    "find_export",
    "import_teachable_machine",
    "import_teachable_machine_export",
    "import_tfjs",
    "is_tfjs_export",
    "load_model_safely",
    "read_labels",
    "teachable_machine_backbone_weights",
    "tfjs_backbone_weights",
]
