"""What the pages say: numbers, names and states in plain words.

No Streamlit and no TensorFlow here (plain functions of plain values), so every sentence
can be tested directly. A sentence is a ``Message`` (tlcore.i18n): the English ``str`` it always
was, which a page shows in the reader's language with ``tr(...)``, or puts as a value into a
sentence of its own (``_("{accuracy} on the test", accuracy=words.accuracy_text(...))``).
``plural`` and ``percent_text`` stay English: pages say a count with ``_n()`` and a share with
``Percent``.
"""

from __future__ import annotations

import math
import re

from tlcore.i18n import N_, Percent, msg, msg_n

UNFAMILIAR_WORDS = N_("This doesn't look like any of your classes")
NOT_SURE_WORDS = N_("Not sure")
NBSP = "\u00a0"

PHASE_WORDS = {
    "waiting": N_("Getting ready…"),
    "building": N_("Getting ready: building the network…"),
    "extracting": N_("Looking at each picture once with the frozen network…"),
    "head": N_("Training the new head…"),
    "fine_tune": N_("Fine-tuning the top blocks (with a small learning rate)…"),
    "scratch": N_("Training the whole network from scratch…"),
    "done": N_("Finished."),
    "stopped": N_("Stopped. The best model so far was kept."),
    "failed": N_("Training could not finish."),
}
LEARNING_PHASES = ("head", "fine_tune", "scratch")

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md(text) -> str:
    """User text (class and file names) made safe to put inside Markdown."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text))


def plural(count: int, word: str, words: str | None = None) -> str:
    """English only ("3 pictures"): a page says a count in a whole sentence with ``_n()``."""
    return f"{count:,} {word if count == 1 else (words or word + 's')}"


def duration_text(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return msg("{seconds} s", seconds=seconds)
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return msg("{minutes} min {seconds} s", minutes=minutes, seconds=str(seconds).zfill(2))
    hours, minutes = divmod(minutes, 60)
    return msg("{hours} h {minutes} min", hours=hours, minutes=str(minutes).zfill(2))


def percent_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


# -- how sure an accuracy is -------------------------------------------------------------------------
def interval_text(accuracy: float | None, pictures: int) -> str:
    """"likely 64–93%": where the accuracy on new pictures likely lies, measured on ``pictures``
    (a 95 % Wilson interval); "" when there is nothing to say."""
    span = range_text(accuracy, pictures)
    return msg("likely {range}", range=span) if span else ""


def range_text(accuracy: float | None, pictures: int) -> str:
    """"64–93%": ``interval_text`` without its word, for a table's column; "" when there is nothing to say."""
    from tlcore.stats import accuracy_interval

    interval = accuracy_interval(accuracy, pictures)
    if interval is None:
        return ""
    low, high = (round(100 * value) for value in interval)
    # i18n: a range of percentages, "64–93%"
    return msg("{low}–{high}%", low=low, high=high)


def accuracy_text(accuracy: float | None, pictures: int, short: bool = False,
                  what: str = "pictures") -> str:
    """A headline accuracy with how many pictures it rests on: "83% right on 24 pictures (likely
    64–93%)"; ``short`` for a label: "83% right (24 pictures)". Six lucky pictures give 100 %,
    so no accuracy is shown without its count."""
    if accuracy is None:
        return msg("not measured")
    percent = Percent(accuracy)
    if not pictures:
        return msg("{percent} right", percent=percent)
    if short:
        return msg_n("{percent} right ({count} picture)", "{percent} right ({count} pictures)", pictures,
                     percent=percent)
    likely = interval_text(accuracy, pictures)
    if what == "validation pictures":
        return msg_n("{percent} right on {count} validation picture ({likely})",
                     "{percent} right on {count} validation pictures ({likely})", pictures, percent=percent,
                     likely=likely)
    if what != "pictures":  # another word for them: English only (say it in a sentence of the page's own)
        return f"{percent_text(accuracy)} right on {pictures:,} {what} ({likely})"
    return msg_n("{percent} right on {count} picture ({likely})", "{percent} right on {count} pictures ({likely})",
                 pictures, percent=percent, likely=likely)


def measured_on(accuracy: float | None, pictures: int) -> str:
    """A table cell beside an accuracy: "24 pictures · likely 64–93%" ("—" if not measured)."""
    if accuracy is None or not pictures:
        return "—"
    return msg_n("{count} picture · {likely}", "{count} pictures · {likely}", pictures,
                 likely=interval_text(accuracy, pictures))


def near_copies_words(record) -> str:
    """Why a validation accuracy is too kind, or "": validation pictures with a near-copy among
    the training pictures (frames of one camera burst) are answered from memory."""
    if not record.validation_too_kind:  # a few look-alikes change little
        return ""
    return msg_n("{near} of its {count} validation picture is a near-copy of training pictures (frames of one "
                 "camera burst?), so this number is too kind: expect less on new pictures.",
                 "{near} of its {count} validation pictures are near-copies of training pictures (frames of one "
                 "camera burst?), so this number is too kind: expect less on new pictures.",
                 record.val_pictures, near=record.val_near_copies)


def short_name(name: str, limit: int = 22) -> str:
    """A file name short enough for a caption: "13648603305_12…n.jpg"."""
    name = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    if len(name) <= limit:
        return name
    keep = limit - 1
    return name[: keep - keep // 3] + "…" + name[-(keep // 3):]


# -- weights ---------------------------------------------------------------------------------------
def added_weights_words(classroom: bool) -> str:
    """Who added the weights file, truthfully: in a class, the teacher's computer keeps it (a
    student reading "your weights file" looks for a file they never had)."""
    return msg("the weights file added on the teacher's computer") if classroom else (
        msg("the weights file added on this computer"))


def weights_file_label(classroom: bool) -> str:
    """The Model page's choice of starting weights for a file added earlier."""
    return msg("Weights file added on the teacher's computer") if classroom else (
        msg("Weights file added on this computer"))


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
    quality = (accuracy_text(record.val_accuracy, record.val_pictures, short=True) if record.val_accuracy is not None
               else (msg("imported") if record.imported else msg("not measured")))
    values = {"when": when, "quality": quality}
    if run.name and run.name != record.default_name:
        return (msg("{when} · {name} · {quality} · this session", name=run.name, **values) if mine
                else msg("{when} · {name} · {quality}", name=run.name, **values))
    values.update(network=record.short_title, weights=record.short_weights)
    return (msg("{when} · {network} · {quality} · {weights} · this session", **values) if mine
            else msg("{when} · {network} · {quality} · {weights}", **values))


def run_facts(run) -> str:
    """One caption line (Markdown): network, weights, classes."""
    record = run.record
    return msg_n("{network} · {weights} · knows {count} class: {names}",
                 "{network} · {weights} · knows {count} classes: {names}", len(run.class_names),
                 network=msg(record.backbone_title), weights=record.weights_words,
                 names=", ".join(md(c) for c in run.class_names))


def speed_words(record) -> str:
    """Why training took as long as it did, in one sentence (no "fast path" jargon)."""
    if record.fast_path:
        seconds = record.timings.get("train_seconds")
        quick = seconds is not None and seconds < 90
        copies = record.augmented_views
        if copies and quick:
            return msg_n("Your pictures and {count} changed copy of each went through the frozen network once, "
                         "so training took seconds.",
                         "Your pictures and {count} changed copies of each went through the frozen network once, "
                         "so training took seconds.", copies)
        if copies:
            return msg_n("Your pictures and {count} changed copy of each went through the frozen network once, "
                         "then only the new head learned.",
                         "Your pictures and {count} changed copies of each went through the frozen network once, "
                         "then only the new head learned.", copies)
        return (msg("Your pictures went through the frozen network once, so training took seconds.") if quick
                else msg("Your pictures went through the frozen network once, then only the new head learned."))
    if record.from_scratch:
        return msg("From scratch every block learns, so every picture went through the whole network in every epoch.")
    if record.settings is not None and record.settings.augment:
        return msg("Augmentation changed the pictures anew every epoch (with fine-tuning it must), so they went "
                   "through the whole network each time.")
    return msg("The top blocks learned too, so the pictures went through the network in every epoch.")


# -- training progress -----------------------------------------------------------------------------
def progress_line(snapshot: dict) -> tuple[float, str]:
    """The progress bar's (fraction done, words) for a TrainingJob snapshot: the phase, then
    pictures while extracting or "Epoch e of n · step s of m" while learning.

    The snapshot knows the picture count at once, its step resets only when the next epoch
    begins (so the counter never jumps back), and ``final`` says the job is over (so the bar
    never says "Building…" under "Finished.")."""
    phase = snapshot.get("phase")
    phase_words = msg(PHASE_WORDS.get(phase, N_("Working…")))
    total = max(int(snapshot.get("total_epochs") or 0), 1)
    if snapshot.get("final"):
        return 1.0, phase_words
    if phase == "extracting":
        done, whole = int(snapshot.get("extracted") or 0), int(snapshot.get("extract_total") or 0)
        if not whole:
            return 0.0, phase_words
        copies = int(snapshot.get("extract_copies") or 0)
        if copies:  # augmented views: say so, or "236 pictures" reads as more pictures than the set has
            return min(done / whole, 1.0), msg_n(
                "Looking at {copies} changed copies of each picture once… {done} of {count} copy",
                "Looking at {copies} changed copies of each picture once… {done} of {count} copies", whole,
                copies=copies, done=done)
        return min(done / whole, 1.0), msg_n("{phase} {done} of {count} picture", "{phase} {done} of {count} pictures",
                                             whole, phase=phase_words, done=done)
    if phase in LEARNING_PHASES:
        epoch, steps = int(snapshot.get("epoch") or 0), int(snapshot.get("steps_per_epoch") or 0)
        step = min(int(snapshot.get("step") or 0), steps) if steps else 0
        now = min(epoch + 1, total)
        text = (msg("{phase} Epoch {epoch} of {total} · step {step} of {steps}", phase=phase_words, epoch=now,
                    total=total, step=step, steps=steps) if steps
                else msg("{phase} Epoch {epoch} of {total}", phase=phase_words, epoch=now, total=total))
        return min((epoch + (step / steps if steps else 0)) / total, 1.0), text
    return 0.0, phase_words


def stopped_words(record) -> str:
    """What a stopped run kept: whole epochs only, and which one was best."""
    if record.best_epoch:
        return msg_n("Training was stopped early, after {count} whole epoch; the best was epoch {best}, and that "
                     "model was kept. An epoch cut short is not counted: the charts show whole epochs only.",
                     "Training was stopped early, after {count} whole epochs; the best was epoch {best}, and that "
                     "model was kept. An epoch cut short is not counted: the charts show whole epochs only.",
                     record.epochs_run, best=record.best_epoch)
    return msg_n("Training was stopped early, after {count} whole epoch. An epoch cut short is not counted: "
                 "the charts show whole epochs only.",
                 "Training was stopped early, after {count} whole epochs. An epoch cut short is not counted: "
                 "the charts show whole epochs only.", record.epochs_run)
