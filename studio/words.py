"""What the pages say: numbers, names and states in plain words.

No Streamlit and no TensorFlow here (plain functions of plain values), so every sentence
can be tested directly.
"""

from __future__ import annotations

import math
import re

UNFAMILIAR_WORDS = "This doesn't look like any of your classes"
NOT_SURE_WORDS = "Not sure"
NBSP = "\u00a0"

PHASE_WORDS = {
    "waiting": "Getting ready…",
    "building": "Getting ready: building the network…",
    "extracting": "Looking at each picture once with the frozen network…",
    "head": "Training the new head…",
    "fine_tune": "Fine-tuning the top blocks (with a small learning rate)…",
    "scratch": "Training the whole network from scratch…",
    "done": "Finished.",
    "stopped": "Stopped. The best model so far was kept.",
    "failed": "Training could not finish.",
}
LEARNING_PHASES = ("head", "fine_tune", "scratch")

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md(text) -> str:
    """User text (class and file names) made safe to put inside Markdown."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text))


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def duration_text(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def percent_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def short_name(name: str, limit: int = 22) -> str:
    """A file name short enough for a caption: "13648603305_12…n.jpg"."""
    name = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    if len(name) <= limit:
        return name
    keep = limit - 1
    return name[: keep - keep // 3] + "…" + name[-(keep // 3):]


# -- runs ----------------------------------------------------------------------------------------
def epochs_text(settings) -> str:
    """"8 + 3" (head, then fine-tuning) or "8"; the "+" never starts a line of its own."""
    if settings is None:
        return "—"
    if settings.uses_fine_tuning:
        return f"{settings.epochs}{NBSP}+{NBSP}{settings.resolved_fine_tune_epochs}"
    return str(settings.total_epochs)


def run_label(run, mine: bool = False) -> str:
    """One line naming a saved run: when, which network, how good, which weights. Short, and how
    good before the weights: a select box cuts a long label's end off, and two runs of one
    network differ in how good they are. A lesson's runs share a year: "12-05 13:08"."""
    record = run.record
    when = record.created.replace("T", " ")[5:16]
    quality = (f"{percent_text(record.val_accuracy)} right" if record.val_accuracy is not None
               else ("imported" if record.imported else "not measured"))
    if run.name and run.name != record.default_name:
        what = f"{run.name} · {quality}"
    else:
        what = f"{record.short_title} · {quality} · {record.short_weights}"
    return f"{when} · {what}" + (" · this session" if mine else "")


def run_facts(run) -> str:
    """One caption line (Markdown): network, weights, classes."""
    record = run.record
    return (f"{record.backbone_title} · {record.weights_source} · "
            f"knows {len(run.class_names)} classes: {', '.join(md(c) for c in run.class_names)}")


def speed_words(record) -> str:
    """Why training took as long as it did, in one sentence (no "fast path" jargon)."""
    if record.fast_path:
        seconds = record.timings.get("train_seconds")
        quick = "so training took seconds" if seconds is not None and seconds < 90 else "then only the new head learned"
        if record.augmented_views:
            return (f"Your pictures and {plural(record.augmented_views, 'changed copy', 'changed copies')} of "
                    f"each went through the frozen network once, {quick}.")
        return f"Your pictures went through the frozen network once, {quick}."
    if record.from_scratch:
        return "From scratch every block learns, so every picture went through the whole network in every epoch."
    if record.settings is not None and record.settings.augment:
        return ("Augmentation changed the pictures anew every epoch (with fine-tuning it must), so they went "
                "through the whole network each time.")
    return "The top blocks learned too, so the pictures went through the network in every epoch."


# -- training progress -----------------------------------------------------------------------------
def progress_line(snapshot: dict) -> tuple[float, str]:
    """The progress bar's (fraction done, words) for a TrainingJob snapshot: the phase, then
    pictures while extracting or "Epoch e of n · step s of m" while learning.

    The snapshot knows the picture count at once, its step resets only when the next epoch
    begins (so the counter never jumps back), and ``final`` says the job is over (so the bar
    never says "Building…" under "Finished.")."""
    phase = snapshot.get("phase")
    phase_words = PHASE_WORDS.get(phase, "Working…")
    total = max(int(snapshot.get("total_epochs") or 0), 1)
    if snapshot.get("final"):
        return 1.0, phase_words
    if phase == "extracting":
        done, whole = int(snapshot.get("extracted") or 0), int(snapshot.get("extract_total") or 0)
        if not whole:
            return 0.0, phase_words
        copies = int(snapshot.get("extract_copies") or 0)
        if copies:  # augmented views: say so, or "236 pictures" reads as more pictures than the set has
            return min(done / whole, 1.0), (f"Looking at {copies} changed copies of each picture once… "
                                            f"{done:,} of {plural(whole, 'copy', 'copies')}")
        return min(done / whole, 1.0), f"{phase_words} {done:,} of {plural(whole, 'picture')}"
    if phase in LEARNING_PHASES:
        epoch, steps = int(snapshot.get("epoch") or 0), int(snapshot.get("steps_per_epoch") or 0)
        step = min(int(snapshot.get("step") or 0), steps) if steps else 0
        text = f"{phase_words} Epoch {min(epoch + 1, total)} of {total}" + (f" · step {step} of {steps}" if steps else "")
        return min((epoch + (step / steps if steps else 0)) / total, 1.0), text
    return 0.0, phase_words


def stopped_words(record) -> str:
    """What a stopped run kept: whole epochs only, and which one was best."""
    whole = plural(record.epochs_run, "whole epoch")
    best = f"; the best was epoch {record.best_epoch}, and that model was kept" if record.best_epoch else ""
    return (f"Training was stopped early, after {whole}{best}. An epoch cut short is not counted: "
            "the charts show whole epochs only.")
