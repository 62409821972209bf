"""Export a run for phones and small devices (TensorFlow Lite) or for TensorFlow serving
(SavedModel), and check the TFLite copy against the Keras model on real pictures."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ..runs import MODEL_FILE, validation_set
from .bundle import as_run, export_bundle

FORMATS = ("keras", "zip", "tflite", "tflite-quantized", "savedmodel")


@contextlib.contextmanager
def _quiet():
    """TensorFlow's exporter prints every captured variable; keep the console readable."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _write_atomically(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.replace(partial, path)
    finally:
        Path(partial).unlink(missing_ok=True)


def _interpreter(content: bytes):
    try:  # TensorFlow's own interpreter is deprecated in favour of LiteRT, where installed
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from .._tf import tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = Interpreter(model_content=content)
    interpreter.allocate_tensors()
    return interpreter


def tflite_predict(content: bytes, pixels: np.ndarray) -> np.ndarray:
    """Probabilities from a TFLite model for uint8 pictures (N, S, S, 3), one at a time."""
    interpreter = _interpreter(content)
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    rows = []
    for picture in np.asarray(pixels, dtype="float32"):
        interpreter.set_tensor(source["index"], picture[None])
        interpreter.invoke()
        rows.append(np.array(interpreter.get_tensor(target["index"])[0], dtype="float32"))
    n_classes = int(target["shape"][-1])
    return np.stack(rows) if rows else np.zeros((0, n_classes), "float32")


def _validation_pixels(run) -> np.ndarray:
    from ..data.imagefile import UnreadablePicture, load_picture

    arrays = []
    for file in validation_set(run)[0]:
        try:
            arrays.append(load_picture(file, run.input_size))
        except (UnreadablePicture, OSError):
            continue
    size = run.input_size
    return np.stack(arrays) if arrays else np.zeros((0, size, size, 3), np.uint8)


def compare_with_keras(run, content: bytes, pixels: np.ndarray | None = None) -> dict:
    """How closely a TFLite model follows the run's Keras model on ``pixels``
    (default: the run's validation pictures)."""
    pixels = _validation_pixels(run) if pixels is None else np.asarray(pixels)
    if len(pixels) == 0:
        return {"pictures": 0, "agreement": None, "max_abs_difference": None}
    expected = run.predict_pixels(pixels)
    got = tflite_predict(content, pixels)
    return {
        "pictures": int(len(pixels)),
        "agreement": float((expected.argmax(axis=1) == got.argmax(axis=1)).mean()),
        "max_abs_difference": float(np.abs(expected - got).max()),
    }


def export_tflite(run, out_path, quantize: bool = False) -> dict:
    """Convert ``run`` (a Run or run folder) to a .tflite file and check it.

    float32 by default; ``quantize=True`` stores weights as 8-bit (dynamic-range
    quantization: about 4× smaller, answers may shift a little). The report says how
    often the TFLite model gives the Keras model's top class on the validation pictures
    (``agreement``) and the largest probability difference."""
    from .._tf import tf

    run = as_run(run)
    out = Path(out_path)
    converter = tf.lite.TFLiteConverter.from_keras_model(run.keras_model)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    with _quiet():
        content = converter.convert()
    _write_atomically(out, content)
    report = {
        "path": str(out),
        "format": "tflite",
        "quantized": bool(quantize),
        "size_bytes": len(content),
        "keras_size_bytes": (run.path / MODEL_FILE).stat().st_size
        if run.path and (run.path / MODEL_FILE).is_file() else None,
        "input_size": run.input_size,
        "classes": list(run.class_names),
    }
    report.update(compare_with_keras(run, content))
    return report


def export_savedmodel(run, out_dir) -> Path:
    """Export ``run`` as a TensorFlow SavedModel folder (for TF Serving, TF.js converters...)."""
    run = as_run(run)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} already exists and is not an empty folder; choose another --out.")
    partial = out.with_name(f".{out.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        with _quiet():
            run.keras_model.export(str(partial), format="tf_saved_model", verbose=False)
        if out.exists():
            out.rmdir()
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return out


def export_savedmodel_zip(run, out_zip) -> Path:
    """The SavedModel folder of ``run``, zipped into ``out_zip`` (one file to download)."""
    out_zip = Path(out_zip)
    with tempfile.TemporaryDirectory(prefix="savedmodel-", dir=out_zip.parent) as scratch:
        folder = export_savedmodel(run, Path(scratch) / "savedmodel")
        archive = shutil.make_archive(str(out_zip.with_suffix("")), "zip", folder)
    return Path(archive)


def export_run(run_dir_or_run, fmt: str, out=None, quantize: bool = False) -> Path:
    """Export a run in one format; returns where it went. The CLI's entry point.

    ``fmt``: "keras" or "zip" (the zip bundle: model.keras, labels, model card, predict.py),
    "tflite", "tflite-quantized" (same as ``quantize=True``), or "savedmodel".
    ``out`` defaults to a name beside the run folder."""
    fmt = str(fmt).strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; choose one of: keras, tflite, tflite-quantized, savedmodel.")
    if fmt == "tflite-quantized":
        fmt, quantize = "tflite", True
    run = as_run(run_dir_or_run)
    if out is None:
        base = run.path if run.path else Path.cwd() / "model"
        suffix = {"keras": ".zip", "zip": ".zip", "tflite": ".tflite", "savedmodel": "-savedmodel"}[fmt]
        out = base.with_name(base.name + suffix)
    if fmt in ("keras", "zip"):
        return export_bundle(run, out)
    if fmt == "tflite":
        return Path(export_tflite(run, out, quantize)["path"])
    return export_savedmodel(run, out)
