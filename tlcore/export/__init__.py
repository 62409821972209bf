"""Exporting a run: a zip bundle with a standalone predict.py, TFLite, SavedModel, TensorFlow.js, a web page."""

from .bundle import download_name, export_bundle, model_card, predict_script, slug
from .tfjs import TfjsExportError, export_tfjs, export_tfjs_zip, tfjs_metadata, tfjs_model, tfjs_problem
from .tflite import (FORMATS, compare_with_keras, export_run, export_savedmodel, export_savedmodel_zip, export_tflite,
                     export_tflite_pair, tflite_predict)
from .web import WebExportError, export_web, page_size_estimate, web_page, web_problem

__all__ = [
    "FORMATS",
    "TfjsExportError",
    "WebExportError",
    "compare_with_keras",
    "download_name",
    "export_bundle",
    "export_run",
    "export_savedmodel",
    "export_savedmodel_zip",
    "export_tflite",
    "export_tflite_pair",
    "export_tfjs",
    "export_tfjs_zip",
    "export_web",
    "model_card",
    "page_size_estimate",
    "predict_script",
    "slug",
    "tfjs_metadata",
    "tfjs_model",
    "tfjs_problem",
    "tflite_predict",
    "web_page",
    "web_problem",
]
