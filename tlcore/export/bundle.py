"""A run as one zip a teacher can hand on: the model, its labels, a model card and predict.py.

    bundle.zip/model.keras     the whole model: pictures (0..255 RGB) in, probabilities out
    bundle.zip/labels.txt      one class name a line, in output order
    bundle.zip/model_card.md   what the model is, how it was made and how well it did, in plain words
    bundle.zip/predict.py      `python predict.py PICTURE ...`: needs Keras 3 + TensorFlow, numpy, Pillow

predict.py carries the app's own picture-loading code (tlcore/data/imagefile.py, copied
verbatim), so it crops and resizes pictures exactly as the app does.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import zipfile
from pathlib import Path

from ..data import imagefile
from ..runs import LABELS_FILE, MODEL_FILE, RESIZE_DESCRIPTION, Run, load_run
from ..understand.scoring import FAMILIARITY_FILE

CARD_FILE, SCRIPT_FILE = "model_card.md", "predict.py"
_TEMPLATE = Path(__file__).with_name("predict_template.py")
_IMPORT_END = "# </tlcore-import>"


def as_run(run_or_path) -> Run:
    """A Run, given one or the path of a run folder."""
    return run_or_path if isinstance(run_or_path, Run) else load_run(run_or_path)


def predict_script(run: Run | None = None) -> str:
    """The source of the standalone predict.py: imagefile.py and scoring.py verbatim, then the
    prediction code."""
    from ..understand import scoring

    picture_code = Path(imagefile.__file__).read_text(encoding="utf-8")
    scoring_code = Path(scoring.__file__).read_text(encoding="utf-8")
    template = _TEMPLATE.read_text(encoding="utf-8")
    prediction_code = template.split(_IMPORT_END, 1)[1].lstrip("\n")
    title = f' for the model "{run.name}"' if run is not None else ""
    header = (
        "#!/usr/bin/env python3\n"
        f"# predict.py: made by Transfer Learning Studio{title}.\n"
        "#\n"
        "#   python predict.py PICTURE [PICTURE ...]          the top class and every class's probability\n"
        "#   python predict.py PICTURE [PICTURE ...] --json   the same as a JSON list\n"
        "#\n"
        "# Needs Python 3.9+, Keras 3 with TensorFlow, numpy and Pillow; model.keras and labels.txt\n"
        "# beside this file. Part 1 below is the app's picture-loading code, copied unchanged\n"
        "# (tlcore/data/imagefile.py), so pictures are cropped and resized exactly as in the app.\n"
        "# Part 2 loads the model and predicts.\n"
        "#\n"
        "# ---- Part 1: picture loading (tlcore/data/imagefile.py, verbatim) ----\n"
    )
    familiar = ("\n\n\n# ---- Part 1b: does a picture look like what the model learned from? "
                "(tlcore/understand/scoring.py, verbatim) ----\n\n")
    return (f"{header}{picture_code.rstrip()}{familiar}{scoring_code.strip()}\n\n\n"
            f"# ---- Part 2: prediction ----\n\n{prediction_code}")


def slug(text: str, fallback: str = "model") -> str:
    """A short file name from a run or lesson name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-")[:60] or fallback


def download_name(run: Run) -> str:
    """Files named by what the model recognises, then when it was made: "cat-dog-20240101-0930"."""
    classes = slug("-".join(run.class_names[:4]), "model")[:40].strip("-")
    when = re.sub(r"[^0-9]", "", run.record.created)[:12]
    return f"{classes}-{when[:8]}-{when[8:]}" if len(when) == 12 else classes


# -- the model card ------------------------------------------------------------------------
def _percent(value) -> str:
    return f"{float(value):.0%}" if isinstance(value, (int, float)) else "not measured"


def _learning_words(record) -> str:
    if record.imported:
        return "Unknown: this model was trained elsewhere and imported."
    if record.from_scratch:
        return "Everything learned: the network started from random weights and all of it was trained."
    if not record.learning_blocks:
        return ("Only the new last layer learned; the pretrained network stayed frozen "
                "(it was used as it was, as a feature extractor).")
    of = f" of its {record.blocks}" if record.blocks else ""
    return (f"The new last layer learned first; then the pretrained network's top {record.learning_blocks}{of} "
            f"blocks were fine-tuned (changed a little) as well.")


def _weights_words(record) -> str:
    if record.weights == "imagenet":
        return f"{record.weights_source}: it started from a network already trained on ImageNet's 1.2 million photos."
    if record.weights == "none":
        return f"{record.weights_source}: it started with random weights, knowing nothing."
    return f"{record.weights_source}."


# The settings a reader of the card cares about, in words.
_SETTING_WORDS = {
    "epochs": "Epochs (passes over the training pictures)",
    "resolved_fine_tune_epochs": "Fine-tuning epochs",
    "batch_size": "Batch size (pictures per step)",
    "learning_rate": "Learning rate",
    "resolved_fine_tune_learning_rate": "Fine-tuning learning rate",
    "dropout": "Dropout",
    "augment": "Augmentation (random changes to training pictures)",
    "validation_fraction": "Share of pictures kept aside to check it",
    "early_stopping": "Early stopping",
    "seed": "Random seed",
}


def _settings_table(record) -> list[str]:
    settings = record.settings
    lines = ["## How it was trained", "", "| Setting | Value |", "| --- | --- |"]
    for key, words in _SETTING_WORDS.items():
        if key.endswith("fine_tune_epochs") or key.endswith("fine_tune_learning_rate"):
            if not settings.uses_fine_tuning:
                continue
        value = getattr(settings, key)
        if key == "batch_size":
            value = f"{record.batch_size} (chosen automatically)" if settings.auto_batch and record.batch_size else value
        elif isinstance(value, (list, tuple)):
            value = ", ".join(map(str, value)) or "none"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif key == "validation_fraction":
            value = _percent(value)
        lines.append(f"| {words} | {value} |")
    if record.stopped:
        lines.append("| Stopped early by the user | yes |")
    return lines + [""]


def _accuracy_lines(record) -> list[str]:
    if record.val_accuracy is None:
        return ["Not measured here (no validation pictures were kept with this model).", ""]
    checked = record.val_pictures
    on = f" of {checked} pictures it had not learned from" if checked else " of the validation pictures"
    rough = (f"Few validation pictures make this number rough: with {checked} pictures, one mistake changes it "
             f"by {100 / checked:.1f} points. " if checked else "")
    return [f"It got **{_percent(record.val_accuracy)}**{on} right "
            f"({record.train_pictures or 'some'} pictures were used for learning).", "",
            rough + "Pictures unlike the training ones (other light, backgrounds or cameras) may do worse.", ""]


def model_card(run: Run) -> str:
    """Markdown describing ``run`` for a reader who does not write code."""
    record = run.record
    size = run.input_size
    lines = [f"# {run.name}", ""]
    made = "Imported into" if record.imported else "Made with"
    when = f" on {record.created.replace('T', ' at ')}" if record.created else ""
    lines += [f"{made} Transfer Learning Studio{when}. It sorts a picture into one of "
              f"{len(run.class_names)} classes: {', '.join(run.class_names)}.", ""]

    lines += ["## What it is built from", ""]
    lines += [f"- **Starting network (backbone):** {record.backbone_title}"]
    lines += [f"- **Starting weights:** {_weights_words(record)}"]
    blocks = "" if record.imported else f" ({record.learning_blocks} of {record.blocks or '?'} blocks)"
    lines += [f"- **What learned{blocks}:** {_learning_words(record)}"]
    if record.imported:
        lines += [f"- **Source:** {record.source or 'an export from another tool'}"]
    lines += [""]
    if record.settings is not None:
        lines += _settings_table(record)

    counts = record.dataset.counts
    lines += ["## The pictures it learned from", "", f"Picture set: {record.dataset.name}.", ""]
    if counts:
        lines += ["| Class | Pictures |", "| --- | --- |"]
        lines += [f"| {name} | {count} |" for name, count in counts.items()]
        lines += [f"| **All** | {sum(counts.values())} |", ""]

    lines += ["## How well it did", ""] + _accuracy_lines(record)

    lines += ["## How pictures go in", "",
              f"- Input size: {size}×{size} pixels, RGB.",
              f"- {record.resize or RESIZE_DESCRIPTION}", ""]

    lines += ["## Files", "",
              f"- `{MODEL_FILE}`: the model (Keras 3). It contains its own pixel preprocessing.",
              f"- `{LABELS_FILE}`: the class names, one a line, in the model's output order.",
              f"- `{SCRIPT_FILE}`: run `python {SCRIPT_FILE} PICTURE ...` (add `--json` for JSON). "
              "Needs Python with Keras 3 + TensorFlow, numpy and Pillow.",
              f"- `{FAMILIARITY_FILE}` (when present): what `{SCRIPT_FILE}` needs to say that a picture "
              "does not look like any of the classes (a sample of what the model learned from, as numbers).", ""]
    return "\n".join(lines)


# -- the zip -------------------------------------------------------------------------------
def _add_text(bundle: zipfile.ZipFile, name: str, text: str, mode: int = 0o644) -> None:
    entry = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = mode << 16  # unzip gives the file these permissions
    bundle.writestr(entry, text.encode("utf-8"))


def export_bundle(run, out_zip_path) -> Path:
    """Write ``run`` (a Run or a run folder) as a zip; returns the zip's path."""
    run = as_run(run)
    out = Path(out_zip_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}-", suffix=".partial")
    os.close(handle)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            saved = run.path / MODEL_FILE if run.path else None
            if saved is not None and saved.is_file():
                bundle.write(saved, MODEL_FILE)
            else:  # a run not saved yet: save its model to a temporary file
                with tempfile.TemporaryDirectory() as folder:
                    temporary = Path(folder) / MODEL_FILE
                    run.keras_model.save(temporary)
                    bundle.write(temporary, MODEL_FILE)
            _add_text(bundle, LABELS_FILE, "\n".join(run.class_names) + "\n")
            familiarity = run.path / FAMILIARITY_FILE if run.path else None
            if familiarity is not None and familiarity.is_file():
                bundle.write(familiarity, FAMILIARITY_FILE)
            _add_text(bundle, CARD_FILE, model_card(run))
            _add_text(bundle, SCRIPT_FILE, predict_script(run), mode=0o755)  # executable once unzipped
        os.replace(partial, out)
    finally:
        Path(partial).unlink(missing_ok=True)
    return out
