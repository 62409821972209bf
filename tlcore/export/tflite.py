"""Export a run for phones and small devices (TensorFlow Lite) or for TensorFlow serving
(SavedModel), and check the TFLite copy against the Keras model on real pictures."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from ..runs import MODEL_FILE, validation_set
from .bundle import as_run, export_bundle

FORMATS = ("keras", "zip", "tflite", "tflite-quantized", "savedmodel", "tfjs")


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


def tflite_predict(content: bytes, pixels: np.ndarray, seconds: list | None = None) -> np.ndarray:
    """Probabilities from a TFLite model for uint8 pictures (N, S, S, 3), one at a time.
    ``seconds``, if given, receives how long each picture took (after one warm-up run)."""
    interpreter = _interpreter(content)
    source = interpreter.get_input_details()[0]
    target = interpreter.get_output_details()[0]
    rows = []
    for index, picture in enumerate(np.asarray(pixels, dtype="float32")):
        interpreter.set_tensor(source["index"], picture[None])
        if index == 0 and seconds is not None:
            interpreter.invoke()  # the first run sets up kernels: not what a picture costs
        started = time.perf_counter()
        interpreter.invoke()
        if seconds is not None:
            seconds.append(time.perf_counter() - started)
        rows.append(np.array(interpreter.get_tensor(target["index"])[0], dtype="float32"))
    n_classes = int(target["shape"][-1])
    return np.stack(rows) if rows else np.zeros((0, n_classes), "float32")


def _validation_pictures(run) -> tuple[np.ndarray, list[str]]:
    """The run's held-back (validation) pictures as uint8 arrays, and their true classes."""
    from ..data.imagefile import UnreadablePicture, load_picture

    arrays, labels = [], []
    files, _, truths = validation_set(run)
    for file, truth in zip(files, truths):
        try:
            arrays.append(load_picture(file, run.input_size))
            labels.append(truth)
        except (UnreadablePicture, OSError):
            continue
    size = run.input_size
    return (np.stack(arrays) if arrays else np.zeros((0, size, size, 3), np.uint8)), labels


def _accuracy(probabilities: np.ndarray, labels, class_names) -> float | None:
    known = [(row, class_names.index(label)) for row, label in zip(probabilities, labels) if label in class_names]
    return float(np.mean([row.argmax() == index for row, index in known])) if known else None


def compare_with_keras(run, content: bytes, pixels: np.ndarray | None = None, labels=None) -> dict:
    """How a TFLite model does beside the run's Keras model on ``pixels`` (default: the run's
    validation pictures, with their true ``labels``): how often it gives the same top class
    (``agreement``), the largest probability difference, the share it gets right
    (``accuracy``, and the Keras model's, ``keras_accuracy``, when the labels are known) and
    the median time one picture takes on this computer (``ms_per_picture``)."""
    if pixels is None:
        pixels, labels = _validation_pictures(run)
    pixels = np.asarray(pixels)
    seconds: list[float] = []
    if len(pixels) == 0:  # speed does not depend on what a picture shows: time a few of noise
        noise = np.random.default_rng(0).integers(0, 256, (8, run.input_size, run.input_size, 3))
        tflite_predict(content, noise, seconds)
        return {"pictures": 0, "agreement": None, "max_abs_difference": None, "accuracy": None,
                "keras_accuracy": None, "ms_per_picture": 1000 * float(np.median(seconds))}
    expected = run.predict_pixels(pixels)
    got = tflite_predict(content, pixels, seconds)
    names = list(run.class_names)
    return {
        "pictures": int(len(pixels)),
        "agreement": float((expected.argmax(axis=1) == got.argmax(axis=1)).mean()),
        "max_abs_difference": float(np.abs(expected - got).max()),
        "accuracy": _accuracy(got, labels, names) if labels is not None else None,
        "keras_accuracy": _accuracy(expected, labels, names) if labels is not None else None,
        "ms_per_picture": 1000 * float(np.median(seconds)),
    }


def export_tflite(run, out_path, quantize: bool = False, pictures: tuple | None = None) -> dict:
    """Convert ``run`` (a Run or run folder) to a .tflite file and check it.

    float32 by default; ``quantize=True`` stores weights as 8-bit integers (dynamic-range
    quantization: about 3-4× smaller, answers may shift a little; no calibration pictures
    needed, so imported models without pictures work too). The report (``compare_with_keras``)
    says, on the validation pictures, how often the TFLite model gives the Keras model's top
    class, how many it gets right, and how long one picture takes here. ``pictures``: the
    (pixels, labels) to check on, when already read (``export_tflite_pair``)."""
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
    report.update(compare_with_keras(run, content, *(pictures or (None, None))))
    return report


def export_tflite_pair(run, folder, stem: str) -> tuple[dict, dict]:
    """Both TFLite files of ``run`` in ``folder``, ``stem``.tflite (32-bit) and
    ``stem``-8bit.tflite, with their reports on the same validation pictures: what quantizing
    costs (accuracy, size, speed), side by side."""
    run = as_run(run)
    pictures = _validation_pictures(run)
    exact = export_tflite(run, Path(folder) / f"{stem}.tflite", False, pictures)
    small = export_tflite(run, Path(folder) / f"{stem}-8bit.tflite", True, pictures)
    return exact, small


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
    "tflite", "tflite-quantized" (same as ``quantize=True``), "savedmodel", or "tfjs" (a folder
    in Teachable Machine's layout, or its zip when ``out`` ends in .zip).
    ``out`` defaults to a name beside the run folder."""
    fmt = str(fmt).strip().lower()
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}; choose one of: keras, tflite, tflite-quantized, savedmodel, tfjs.")
    if fmt == "tflite-quantized":
        fmt, quantize = "tflite", True
    run = as_run(run_dir_or_run)
    if out is None:
        base = run.path if run.path else Path.cwd() / "model"
        suffix = {"keras": ".zip", "zip": ".zip", "tflite": ".tflite", "savedmodel": "-savedmodel", "tfjs": "-tfjs"}[fmt]
        out = base.with_name(base.name + suffix)
    if fmt in ("keras", "zip"):
        return export_bundle(run, out)
    if fmt == "tflite":
        return Path(export_tflite(run, out, quantize)["path"])
    if fmt == "tfjs":
        from .tfjs import export_tfjs, export_tfjs_zip

        return export_tfjs_zip(run, out) if str(out).lower().endswith(".zip") else export_tfjs(run, out)
    return export_savedmodel(run, out)
