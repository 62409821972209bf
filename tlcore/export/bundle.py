"""A run as one zip a teacher can hand on: the model, its labels, a model card and predict.py.

    bundle.zip/model.keras     the whole model: pictures (0..255 RGB) in, probabilities out
    bundle.zip/labels.txt      one class name a line, in output order
    bundle.zip/model_card.md   what the model is, how it was made and how well it did, in plain words
    bundle.zip/predict.py      `python predict.py PICTURE ...`: needs PREDICT_NEEDS (below)

predict.py carries the app's own picture-loading code (tlcore/data/imagefile.py, copied
verbatim), so it crops and resizes pictures exactly as the app does.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import zipfile
from pathlib import Path

from ..data import imagefile
from ..i18n import N_, SOURCE_LANGUAGE, Decimal, Message, Percent, format_value, msg, msg_n, sentences, translate
from ..runs import LABELS_FILE, MODEL_FILE, RESIZE_DESCRIPTION, Run, load_run
from ..understand.scoring import FAMILIARITY_FILE

CARD_FILE, SCRIPT_FILE = "model_card.md", "predict.py"
# What predict.py imports, said once for the script, the model card, the Share page and the README.
PREDICT_NEEDS = N_("TensorFlow (with Keras 3), numpy and Pillow")
PREDICT_INSTALL = "pip install tensorflow pillow"  # TensorFlow brings Keras 3 and numpy
_TEMPLATE = Path(__file__).with_name("predict_template.py")
_IMPORT_END = "# </tlcore-import>"
_WORDS_START, _WORDS_END = "# <tlcore-words>", "# </tlcore-words>"
# predict.py's printed lines (its WORDS), written in the export's language; {name} are its values.
PREDICT_WORDS = {
    "error": N_("{picture}: ERROR. {error}"),
    "unfamiliar": N_("{picture}: this doesn't look like any of the classes (nearest: {top})"),
    "answer": N_("{picture}: {top} ({percent})"),
}


def as_run(run_or_path) -> Run:
    """A Run, given one or the path of a run folder."""
    return run_or_path if isinstance(run_or_path, Run) else load_run(run_or_path)


def predict_script(run: Run | None = None, language: str = SOURCE_LANGUAGE) -> str:
    """The source of the standalone predict.py: imagefile.py and scoring.py verbatim, then the
    prediction code, its printed lines (WORDS) in ``language``. Its --help and its comments stay
    English, as the command line does."""
    from ..understand import scoring

    picture_code = Path(imagefile.__file__).read_text(encoding="utf-8")
    scoring_code = Path(scoring.__file__).read_text(encoding="utf-8")
    template = _TEMPLATE.read_text(encoding="utf-8")
    prediction_code = template.split(_IMPORT_END, 1)[1].lstrip("\n")
    before, _words, after = prediction_code.partition(_WORDS_START)
    words = {key: translate(msg(text), language) for key, text in PREDICT_WORDS.items()}
    lines = "".join(f"    {json.dumps(key)}: {json.dumps(text, ensure_ascii=False)},\n" for key, text in words.items())
    prediction_code = (f"{before}{_WORDS_START}\nWORDS = {{\n{lines}}}\n{_WORDS_END}"
                       f"{after.partition(_WORDS_END)[2]}")
    title = f' for the model "{run.name}"' if run is not None else ""
    header = (
        "#!/usr/bin/env python3\n"
        f"# predict.py: made by Transfer Learning Studio{title}.\n"
        "#\n"
        "#   python predict.py PICTURE [PICTURE ...]          the top class and every class's probability\n"
        "#   python predict.py PICTURE [PICTURE ...] --json   the same as a JSON list\n"
        "#\n"
        f"# Needs Python 3.9+ with {PREDICT_NEEDS} ({PREDICT_INSTALL}); model.keras and\n"
        "# labels.txt beside this file. Part 1 below is the app's picture-loading code, copied unchanged\n"
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
def markdown_text(text: str) -> str:
    """Outside text (a class name, a sentence a student typed) as Markdown that shows it exactly as
    typed: every character that could start markup inside a line is escaped (``$`` and ``:`` too,
    which Streamlit reads as maths and emoji when the card is shown on the Share page)."""
    return re.sub(r"([\\`*_{}\[\]<>|~$:])", r"\\\1", str(text))


def _percent(value) -> Percent | Message:
    return Percent(float(value)) if isinstance(value, (int, float)) else msg("not measured")


def _learning_words(record) -> Message:
    if record.imported:
        return msg("Unknown: this model was trained elsewhere and imported.")
    if record.from_scratch:
        return msg("Everything learned: the network started from random weights and all of it was trained.")
    if not record.learning_blocks:
        return msg("Only the new last layer learned; the pretrained network stayed frozen "
                   "(it was used as it was, as a feature extractor).")
    if record.blocks:
        return msg("The new last layer learned first; then the pretrained network's top {learning} of its {blocks} "
                   "blocks were fine-tuned (changed a little) as well.", learning=record.learning_blocks,
                   blocks=record.blocks)
    return msg("The new last layer learned first; then the pretrained network's top {learning} blocks were "
               "fine-tuned (changed a little) as well.", learning=record.learning_blocks)


def _weights_words(record) -> Message:
    source = record.weights_source  # the app's own words ("File: name.weights.h5"), as every page shows them
    if record.weights == "imagenet":
        return msg("{source}: it started from a network already trained on ImageNet's 1.2 million photos.",
                   source=source)
    if record.from_scratch:
        return msg("{source}: it started with random weights, knowing nothing.", source=source)
    return source  # a label ("File: name.weights.h5"), said as it is after "Starting weights:"


# The settings a reader of the card cares about, in words.
_SETTING_WORDS = {
    "epochs": N_("Epochs (passes over the training pictures)"),
    "resolved_fine_tune_epochs": N_("Fine-tuning epochs"),
    "batch_size": N_("Batch size (pictures per step)"),
    "learning_rate": N_("Learning rate"),
    "resolved_fine_tune_learning_rate": N_("Fine-tuning learning rate"),
    "dropout": N_("Dropout"),
    "augment": N_("Augmentation (random changes to training pictures)"),
    "validation_fraction": N_("Share of pictures kept aside to check it"),
    "early_stopping": N_("Early stopping"),
    "seed": N_("Random seed"),
}


def _setting_value(record, key: str, value):
    """A setting's value as the card shows it: a Message where it is words, else the value."""
    if key == "batch_size" and record.settings.auto_batch and record.batch_size:
        return msg("{number} (chosen automatically)", number=record.batch_size)
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value)) or msg("none")
    if isinstance(value, bool):
        return msg("yes") if value else msg("no")
    if key == "validation_fraction":
        return _percent(value)
    return str(value)  # as the settings write it (0.001 stays 0.001)


def _settings_table(record, say) -> list[str]:
    settings = record.settings
    lines = [say(msg("## How it was trained")), "",
             say(msg("| Setting | Value |")), "| --- | --- |"]
    for key, words in _SETTING_WORDS.items():
        if key.endswith("fine_tune_epochs") or key.endswith("fine_tune_learning_rate"):
            if not settings.uses_fine_tuning:
                continue
        value = _setting_value(record, key, getattr(settings, key))
        shown = say(value) if isinstance(value, Message) else format_value(value, say.language)
        lines.append(f"| {say(msg(words))} | {shown} |")
    if record.stopped:
        lines.append(say(msg("| Stopped early by the user | yes |")))
    return lines + [""]


def _accuracy_lines(record, say) -> list[str]:
    if record.val_accuracy is None:
        return [say(msg("Not measured here (no validation pictures were kept with this model).")), ""]
    from ..stats import accuracy_interval

    checked = record.val_pictures
    learned = record.train_pictures
    accuracy = _percent(record.val_accuracy)
    if checked and learned:
        got = msg("It got **{accuracy}** of {checked} pictures it had not learned from right ({learned} pictures "
                  "were used for learning).", accuracy=accuracy, checked=checked, learned=learned)
    elif checked:
        got = msg("It got **{accuracy}** of {checked} pictures it had not learned from right (some pictures were "
                  "used for learning).", accuracy=accuracy, checked=checked)
    else:
        got = msg("It got **{accuracy}** of the validation pictures right.", accuracy=accuracy)
    interval = accuracy_interval(record.val_accuracy, checked)
    likely = msg("On new pictures like these it is likely {low}–{high} (a 95 % interval).",
                 low=_percent(interval[0]), high=_percent(interval[1])) if interval else None
    copies = msg("{near} of the {checked} are near-copies of training pictures (frames of one camera burst?), so "
                 "this number is too kind.", near=record.val_near_copies, checked=checked) \
        if record.validation_too_kind else None
    rough = msg("Few validation pictures make this number rough: with {checked} pictures, one mistake changes it "
                "by {points} points.", checked=checked, points=Decimal(100 / checked, 1)) if checked else None
    unlike = msg("Pictures unlike the training ones (other light, backgrounds or cameras) may do worse.")
    return [say(sentences(got, likely)), "", say(sentences(copies, rough, unlike)), ""]


def _behaviour_lines(run: Run, say) -> list[str]:
    """What the model does when it is sure of a class (its behaviours), if it has any."""
    from ..runs.behaviours import read_behaviours

    kept = read_behaviours(run.path) if run.path else None
    acting = kept.acting(run.class_names) if kept else ()
    if not acting:
        return []
    if kept.not_sure is not None:
        when = msg("When it is sure of a class (above its “not sure” line ({line})) for about a second, it acts, "
                   "once each time its answer changes (on the Test page's live camera and in its web page):",
                   line=Percent(kept.not_sure))
    else:
        when = msg("When it is sure of a class (above its “not sure” line) for about a second, it acts, once each "
                   "time its answer changes (on the Test page's live camera and in its web page):")
    lines = [say(msg("## What it does")), "", say(when), "",
             say(msg("| Class | What it does |")), "| --- | --- |"]
    # b.words() is tlcore.runs.behaviours' sentence (a Message once its owner translates it)
    lines += [f"| {markdown_text(b.class_name)} | {markdown_text(say(b.words()))} |" for b in acting]
    return lines + [""]


class _Saying:
    """``say(message)``: a Message in the card's language (other text as it is)."""

    def __init__(self, language: str):
        self.language = language

    def __call__(self, message) -> str:
        return translate(message, self.language)


def model_card(run: Run, language: str = SOURCE_LANGUAGE) -> str:
    """Markdown describing ``run`` for a reader who does not write code, in ``language`` (a
    catalogue's code). Outside text (its name, class names, the picture set's name) is escaped,
    so it shows exactly as typed."""
    record, say = run.record, _Saying(language)
    size = run.input_size
    classes = ", ".join(markdown_text(name) for name in run.class_names)
    date, _t, clock = (record.created or "").partition("T")
    if record.imported:
        made = msg("Imported into Transfer Learning Studio on {date} at {time}.", date=date, time=clock) if clock \
            else msg("Imported into Transfer Learning Studio.")
    else:
        made = msg("Made with Transfer Learning Studio on {date} at {time}.", date=date, time=clock) if clock \
            else msg("Made with Transfer Learning Studio.")
    sorts = msg_n("It sorts a picture into one of {count} class: {classes}.",
                  "It sorts a picture into one of {count} classes: {classes}.", len(run.class_names), classes=classes)
    lines = [f"# {markdown_text(say(record.shown_name(run.name)))}", "", say(sentences(made, sorts)), ""]

    lines += [say(msg("## What it is built from")), ""]
    lines += [say(msg("- **Starting network (backbone):** {backbone}", backbone=record.backbone_title))]
    lines += [say(msg("- **Starting weights:** {weights}", weights=_weights_words(record)))]
    if record.imported:
        lines += [say(msg("- **What learned:** {learning}", learning=_learning_words(record)))]
        source = markdown_text(record.source) if record.source else msg("an export from another tool")
        lines += [say(msg("- **Source:** {source}", source=source))]
    else:
        lines += [say(msg("- **What learned ({learning} of {blocks} blocks):** {words}",
                          learning=record.learning_blocks, blocks=record.blocks or "?",
                          words=_learning_words(record)))]
    lines += [""]
    if record.settings is not None:
        lines += _settings_table(record, say)

    counts = record.dataset.counts
    lines += [say(msg("## The pictures it learned from")), "",
              say(msg("Picture set: {name}.", name=markdown_text(record.dataset.name))), ""]
    if counts:
        lines += [say(msg("| Class | Pictures |")), "| --- | --- |"]
        lines += [f"| {markdown_text(name)} | {format_value(count, language)} |" for name, count in counts.items()]
        lines += [say(msg("| **All** | {total} |", total=sum(counts.values()))), ""]

    lines += [say(msg("## How well it did")), ""] + _accuracy_lines(record, say)

    lines += [say(msg("## How pictures go in")), "",
              say(msg("- Input size: {size}×{size} pixels, RGB.", size=size)),
              f"- {say(msg(record.resize or RESIZE_DESCRIPTION))}", ""]  # the app's own sentence

    lines += _behaviour_lines(run, say)

    lines += [say(msg("## Files")), "",
              say(msg("- `{model}`: the model (Keras 3). It contains its own pixel preprocessing.", model=MODEL_FILE)),
              say(msg("- `{labels}`: the class names, one a line, in the model's output order.", labels=LABELS_FILE)),
              say(msg("- `{script}`: run `python {script} PICTURE ...` (add `--json` for JSON). Needs Python with "
                      "{needs} (`{install}`).", script=SCRIPT_FILE, needs=msg(PREDICT_NEEDS), install=PREDICT_INSTALL)),
              say(msg("- `{familiarity}` (when present): what `{script}` needs to say that a picture does not look "
                      "like any of the classes (a sample of what the model learned from, as numbers).",
                      familiarity=FAMILIARITY_FILE, script=SCRIPT_FILE)), ""]
    return "\n".join(lines)


# -- the zip -------------------------------------------------------------------------------
def _add_text(bundle: zipfile.ZipFile, name: str, text: str, mode: int = 0o644) -> None:
    entry = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = mode << 16  # unzip gives the file these permissions
    bundle.writestr(entry, text.encode("utf-8"))


def export_bundle(run, out_zip_path, language: str = SOURCE_LANGUAGE) -> Path:
    """Write ``run`` (a Run or a run folder) as a zip; returns the zip's path. Its model card and
    what predict.py prints are in ``language`` (a catalogue's code)."""
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
            _add_text(bundle, CARD_FILE, model_card(run, language))
            _add_text(bundle, SCRIPT_FILE, predict_script(run, language), mode=0o755)  # executable once unzipped
        os.replace(partial, out)
    finally:
        Path(partial).unlink(missing_ok=True)
    return out
