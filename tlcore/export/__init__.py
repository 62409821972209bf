"""Exporting a run: a zip bundle with a standalone predict.py, TFLite, SavedModel."""

from .bundle import download_name, export_bundle, model_card, predict_script, slug
from .tflite import FORMATS, compare_with_keras, export_run, export_savedmodel, export_savedmodel_zip, export_tflite, tflite_predict

__all__ = [
    "FORMATS",
    "compare_with_keras",
    "download_name",
    "export_bundle",
    "export_run",
    "export_savedmodel",
    "export_savedmodel_zip",
    "export_tflite",
    "model_card",
    "predict_script",
    "slug",
    "tflite_predict",
]
