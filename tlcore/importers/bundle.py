"""Import a model made by Transfer Learning Studio: an export zip, a zipped run folder, or a
bare ``.keras`` file (with its labels).

    import_bundle(zip_source, workspace) -> Run

Accepted:
    export zip        model.keras + labels.txt (+ model_card.md, predict.py), from export_bundle
    zipped run folder RUN/model.keras + labels.txt + run.json (+ validation/), e.g. from a
                      file manager's "Compress"; the run keeps its history and validation pictures
    a .keras file     (itself a zip); give ``labels`` (a list, or the text of labels.txt)

The zip is unpacked with the same safety checks as any uploaded zip (``extract_zip``) and the
model is opened in safe mode (``load_model_safely``): a model carrying code (a Lambda layer)
or a damaged file is refused with a ModelFileError in plain words, before anything is written
to the workspace. The new run folder is written under a temporary name, then renamed.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from ..data.sources import extract_zip
from ..runs import (
    LABELS_FILE, META_FILE, MODEL_FILE, VALIDATION_DIR, DatasetInfo, ModelFileError, Run, RunFolderError, RunRecord,
    ValidationPicture, claim_run_folder, load_model_safely, read_labels_file, write_run_folder,
)
from ..runs.folder import read_record

_KERAS_MEMBERS = {"config.json", "metadata.json"}  # what a .keras file (a zip) holds at its top


class BundleError(ValueError):
    """The file is not a model this importer understands; the message says why in plain words."""


def _source_bytes(source) -> bytes | None:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            source.seek(0)
        return source.read()
    return None


def _label(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    name = getattr(source, "name", None)
    return Path(name).name if isinstance(name, str) and name else "The uploaded file"


def _is_keras_file(data: bytes | None, path: Path | None) -> bool:
    """A Keras 3 model file (a zip with config.json and the weights at its top)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data) if data is not None else path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError):
        return False
    return _KERAS_MEMBERS <= names or ("config.json" in names and "model.weights.h5" in names)


def _parse_labels(labels) -> list[str]:
    """Class names from a list, the text of labels.txt, or a labels.txt path."""
    if labels is None:
        return []
    if isinstance(labels, (bytes, bytearray)):
        try:
            labels = bytes(labels).decode("utf-8-sig")
        except UnicodeDecodeError:
            labels = bytes(labels).decode("cp1252", errors="replace")
    if isinstance(labels, Path):
        labels = "\n".join(read_labels_file(labels))
    if isinstance(labels, str):
        lines = [line.strip() for line in labels.splitlines() if line.strip()]
        numbered = [re.match(r"^(\d+)\s+(.+)$", line) for line in lines]
        if lines and all(numbered):  # "0 dog" lines, as Teachable Machine writes them
            return [m.group(2).strip() for m in sorted(numbered, key=lambda m: int(m.group(1)))]
        return lines
    return [str(name).strip() for name in labels if str(name).strip()]


def _find_model_folder(root: Path) -> Path:
    """The folder holding model.keras: the top, or the shallowest one below it."""
    found = sorted(root.rglob(MODEL_FILE), key=lambda p: (len(p.relative_to(root).parts), str(p)))
    if not found:
        raise BundleError(
            "No model.keras was found inside. Choose a zip made by this app's Share page "
            "(or a zipped run folder), or a .keras model file."
        )
    depth = len(found[0].relative_to(root).parts)
    if len([p for p in found if len(p.relative_to(root).parts) == depth]) > 1:
        raise BundleError("This zip holds several models; import them one at a time.")
    return found[0].parent


def _check_shapes(model, class_names: list[str], label: str) -> int:
    """The model's picture size; plain errors if it does not take pictures or its answers do
    not match the class names."""
    try:
        inputs, outputs = model.input_shape, model.output_shape
    except (AttributeError, ValueError):
        raise BundleError(f"{label} is not a picture classifier (it has several inputs or outputs).") from None
    if isinstance(inputs, list) or isinstance(outputs, list) or len(inputs) != 4 or inputs[-1] != 3 or len(outputs) != 2:
        raise BundleError(f"{label} is not a picture classifier: it does not take one RGB picture and give one answer per class.")
    if inputs[1] is None or inputs[1] != inputs[2]:
        raise BundleError(f"{label} takes pictures of no fixed square size, which this app cannot feed.")
    if int(outputs[1]) != len(class_names):
        raise BundleError(
            f"The model gives {outputs[1]} answers but its labels name {len(class_names)} classes "
            f"({', '.join(class_names)})."
        )
    return int(inputs[1])


def _backbone_of(model) -> tuple[str | None, str | None]:
    """(registry name, title) when the model was built by tlcore (named '<backbone>_classifier')."""
    from ..backbones.registry import BACKBONES

    name = str(getattr(model, "name", "")).removesuffix("_classifier")
    spec = BACKBONES.get(name)
    return (spec.name, spec.title) if spec else (None, None)


def _record(folder: Path | None, model, class_names: list[str], size: int, label: str) -> RunRecord:
    """The imported run's record: the original one (from a zipped run folder), or a new one."""
    backbone, title = _backbone_of(model)
    original = None
    if folder is not None and (folder / META_FILE).is_file():
        try:
            original = read_record(folder)
        except RunFolderError:
            original = None  # a damaged run.json: import the model as a bare one
    base = original or RunRecord(
        name=f"Imported: {' / '.join(class_names)}", backbone=backbone,
        backbone_title=title or "Unknown network", weights="imported", weights_source="Imported model",
        input_size=size, classes=tuple(class_names), imported=True,
        dataset=DatasetInfo(name="not included"))
    return base.replace(input_size=size, classes=tuple(class_names), validation=_kept_validation(base, folder, class_names),
                        extra={**base.extra, "imported_from": label, "imported_at": time.strftime("%Y-%m-%dT%H:%M:%S")})


def _kept_validation(record: RunRecord, folder: Path | None, class_names) -> tuple[ValidationPicture, ...]:
    """Only the validation pictures that came along, inside the run's own validation/ folder."""
    if folder is None:
        return ()
    inside = (folder / VALIDATION_DIR).resolve()
    kept = []
    for entry in record.validation:
        try:
            file = (folder / entry.file).resolve()
        except OSError:
            continue
        if file.is_relative_to(inside) and file.is_file() and entry.label in class_names:
            kept.append(entry)
    return tuple(kept)


def import_bundle(zip_source, workspace, labels=None, work_dir=None, name: str | None = None) -> Run:
    """Import a model into ``workspace`` as a new run folder; returns the Run.

    ``zip_source``: a path, bytes or a binary file: an export zip, a zipped run folder or a
    ``.keras`` file. ``labels``: class names for a bare ``.keras`` file (a list, the text of
    labels.txt, or its path); ignored when the zip has its own labels.txt.
    ``work_dir``: where to unpack (default: the system's temporary folder).
    Raises ModelFileError (code or damaged model), BundleError (not a model this app can use),
    and tlcore.data.UnsafeArchiveError (a zip that is refused)."""
    label = _label(zip_source)
    data = _source_bytes(zip_source)
    path = None if data is not None else Path(zip_source)
    if path is not None and not path.is_file():
        raise BundleError(f"{label} could not be found.")
    scratch = Path(tempfile.mkdtemp(prefix="import-", dir=work_dir))
    try:
        folder: Path | None
        if _is_keras_file(data, path):
            # Keep the file's own name, so messages name the file the user chose.
            model_file = scratch / (label if label.lower().endswith(".keras") else MODEL_FILE)
            if data is not None:
                model_file.write_bytes(data)
            else:
                shutil.copyfile(path, model_file)
            folder = None
        else:
            extract_zip(data if data is not None else path, scratch / "unpacked")
            folder = _find_model_folder(scratch / "unpacked")
            model_file = folder / MODEL_FILE

        model = load_model_safely(model_file)  # refuses code (Lambda) and damaged files
        class_names = _parse_labels(folder / LABELS_FILE) if folder is not None and (folder / LABELS_FILE).is_file() else []
        if not class_names and folder is not None and (folder / META_FILE).is_file():
            try:
                class_names = [str(c) for c in json.loads((folder / META_FILE).read_text(encoding="utf-8")).get("classes", [])]
            except (OSError, ValueError, AttributeError):
                class_names = []
        if not class_names:
            class_names = _parse_labels(labels)
        if not class_names:
            raise BundleError(
                f"{label} comes without its class names: add its labels.txt (one class name a line)."
            )
        if len(set(class_names)) != len(class_names):
            raise BundleError(f"The labels name a class twice: {', '.join(class_names)}.")
        size = _check_shapes(model, class_names, label)
        record = _record(folder, model, class_names, size, label)
        if name:
            record = record.replace(name=name)
        out = claim_run_folder(workspace, f"imported-{record.backbone or 'model'}")
        pictures = [(folder / entry.file, entry.file) for entry in record.validation]
        # The model file as it came: no re-saving.
        write_run_folder(out, record, lambda target: shutil.copyfile(model_file, target), pictures)
        return Run(out, record, model)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


__all__ = ["BundleError", "ModelFileError", "import_bundle"]
