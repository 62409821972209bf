"""An experiment's answer in words, from its saved dict: the one place it is worded, for the
Experiments page and ``tlcore compare`` alike, with what its error bars allow; and the short
labels its chart and table use."""

from __future__ import annotations

from ..backbones.registry import BACKBONES
from ..i18n import Percent, msg, msg_n, sentences
from ..settings import is_from_scratch
from .plan import Configuration, joined_label


def short_labels(configurations) -> list[str]:
    """Each configuration's label without the parts every configuration shares: on a chart
    comparing networks, "VGG16" and "ResNet50" rather than two long lines that differ in one word.
    Labels are Messages (pages translate them; parts compare by their English)."""
    configurations = list(configurations)
    some_per_class = any(c.per_class is not None for c in configurations)
    parts = [c.label_parts() + ([msg("all pictures")] if some_per_class and c.per_class is None else [])
             for c in configurations]
    if len(parts) < 2:
        return [joined_label(p) for p in parts]
    shared = set.intersection(*(set(p) for p in parts))
    labels = [joined_label([x for x in p if x not in shared]) or joined_label(p) for p in parts]
    return labels if len(set(labels)) == len(labels) else [joined_label(p) for p in parts]


# What the 95% intervals allow. A class sees the answer projected: "no clear difference" is said only
# when the intervals are narrow and rest on 3 repeats or more; otherwise the sentence asks for more.
WIDE_INTERVAL = 0.3  # an interval wider than 30 points says little
GUESSING_MARGIN = 0.05  # within 5 points of chance is no better than guessing


def answer_sentence(experiment: dict) -> str:
    """The experiment's answer in a few plain words (a Message: pages translate it), from its saved
    dict (``Experiment.to_dict``): the one place it is worded, for the Experiments page and
    ``tlcore compare``. Whole sentences, one message each (never a clause glued into another): a
    score with or without its interval is two messages, "no better than guessing" its own sentence."""
    rows, preset = experiment.get("rows") or [], (experiment.get("plan") or {}).get("preset")
    if not rows:
        return msg("Nothing was trained to the end, so there is no answer yet.")
    classes = len(experiment.get("classes") or ()) or max(len(r.get("per_class_accuracy") or {}) for r in rows)
    if preset == "transfer_vs_scratch":
        return _transfer_sentence(rows, classes)
    if preset == "how_many_pictures":
        return _pictures_sentence(rows)
    return _best_sentence(rows, classes, bool(experiment.get("skipped")))


def _percent(value: float) -> Percent:
    return Percent(value)


def _interval(row: dict) -> dict | None:
    """The values of " (95% interval {low} to {high})" for a row, or None (one repeat: no interval)."""
    ci = row.get("val_accuracy_ci95")
    return dict(low=_percent(ci[0]), high=_percent(ci[1])) if ci else None


def _guessing(row: dict, classes: int) -> str | None:
    """"Getting 50% is no better than guessing (chance: 1 in 2)." when, on average over the classes,
    the row is right no more often than chance (so a network that gives every picture the same answer
    is guessing too, whatever the classes' sizes); else None."""
    if classes < 2:
        return None
    per_class = list((row.get("per_class_accuracy") or {}).values())
    balanced = sum(per_class) / len(per_class) if per_class else row["val_accuracy_mean"]
    if balanced > 1 / classes + GUESSING_MARGIN:
        return None
    return msg("Getting {percent} is no better than guessing (chance: 1 in {classes}).",
               percent=_percent(row["val_accuracy_mean"]), classes=classes)


def _difference(a: dict, b: dict) -> str:
    """What two rows' 95% intervals allow, once both rest on 3 repeats or more: "clear" (they do not
    overlap) or "small" (they overlap and both are narrow). Else "unsure": one repeat gives no
    interval, two give one that means little (the table says so too; two equal scores even give
    none), and wide intervals cannot tell a real gap from luck."""
    ca, cb = a.get("val_accuracy_ci95"), b.get("val_accuracy_ci95")
    if not (ca and cb) or min(a.get("repeats", 1), b.get("repeats", 1)) < 3:
        return "unsure"
    if ca[0] > cb[1] or cb[0] > ca[1]:
        return "clear"
    return "small" if max(ca[1] - ca[0], cb[1] - cb[0]) <= WIDE_INTERVAL else "unsure"


def _why_unsure(a: dict, b: dict, names: tuple[str, str]) -> str:
    """Why two rows cannot be told apart yet, and what to do: a whole sentence."""
    repeats = min(a.get("repeats", 1), b.get("repeats", 1))
    if repeats < 2 or not (a.get("val_accuracy_ci95") and b.get("val_accuracy_ci95")):
        return msg("One repeat gives no error bars, so it could be luck: run 3 or more repeats to know.")
    width, name, ci = max((r["val_accuracy_ci95"][1] - r["val_accuracy_ci95"][0], n, r["val_accuracy_ci95"])
                          for r, n in zip((a, b), names))
    shown = msg("{name}: {low} to {high}", name=name, low=_percent(ci[0]), high=_percent(ci[1]))
    if repeats < 3 and width <= WIDE_INTERVAL:
        return msg_n("With only {count} repeat it could be luck: run 3 or more repeats.",
                     "With only {count} repeats it could be luck: run 3 or more repeats.", repeats)
    if repeats < 3:
        return msg_n("With {count} repeat the error bars are too wide to be sure ({shown}): run 3 or more repeats.",
                     "With {count} repeats the error bars are too wide to be sure ({shown}): run 3 or more repeats.",
                     repeats, shown=shown)
    return msg("The error bars are too wide to be sure ({shown}): more repeats, or more pictures, would tell.",
               shown=shown)


def _points(a: dict, b: dict) -> str:
    gap = abs(round(100 * a["val_accuracy_mean"]) - round(100 * b["val_accuracy_mean"]))
    return msg("less than a point") if gap == 0 else msg_n("{count} point", "{count} points", gap)


def _title(row: dict) -> str:
    return BACKBONES[row["backbone"]].short_title


def _transfer_sentence(rows: list[dict], classes: int) -> str:
    """The same network with and without pretraining (the question), then any other from-scratch network."""
    pretrained = [r for r in rows if not is_from_scratch(r["weights"])]
    scratch = [r for r in rows if is_from_scratch(r["weights"])]
    if not pretrained:
        best = max(scratch, key=lambda r: r["val_accuracy_mean"])
        return sentences(msg("The pretrained network could not be trained here (see why below), so there is nothing "
                             "to compare: from scratch, {network} got {percent}.", network=_title(best),
                             percent=_percent(best["val_accuracy_mean"])), _guessing(best, classes))
    transfer = pretrained[0]
    values = dict(network=_title(transfer), percent=_percent(transfer["val_accuracy_mean"]))
    if not scratch:
        return sentences(msg("Starting from pretrained weights, {network} got {percent} right; nothing from scratch "
                             "could be trained here (see why below), so there is nothing to compare.", **values),
                         _guessing(transfer, classes))
    same = next((r for r in scratch if r["backbone"] == transfer["backbone"]), None)
    versus = same or max(scratch, key=lambda r: r["val_accuracy_mean"])
    values.update(other_percent=_percent(versus["val_accuracy_mean"]))
    if same:
        first = msg("Starting from pretrained weights, {network} got {percent} right; from random weights, "
                    "the same network got {other_percent}.", **values)
    else:
        first = msg("Starting from pretrained weights, {network} got {percent} right; from scratch, "
                    "{other} got {other_percent}.", other=_title(versus), **values)
    others = [sentences(msg("{network} got {percent}.", network=_title(other),
                            percent=_percent(other["val_accuracy_mean"])), _guessing(other, classes))
              for other in scratch if other is not versus]
    return sentences(first, _guessing(transfer, classes), _guessing(versus, classes),
                     _transfer_verdict(transfer, versus), *others)


def _transfer_verdict(pretrained: dict, scratch: dict) -> str:
    found = _difference(pretrained, scratch)
    points = _points(pretrained, scratch)
    if found == "clear" and pretrained["val_accuracy_mean"] > scratch["val_accuracy_mean"]:
        return msg("Pretraining made a clear difference: {points} more, with the same pictures and epochs.",
                   points=points)
    if found == "clear":
        return msg("From scratch did clearly better here, by {points}.", points=points)
    if found == "small":
        return msg("Their error bars overlap: with these pictures, pretraining made no clear difference.")
    return sentences(msg("A gap of {points}, but not a sure one.", points=points),
                     _why_unsure(pretrained, scratch, (msg("pretrained"), msg("from scratch"))))


def _best_sentence(rows: list[dict], classes: int, some_skipped: bool) -> str:
    """Any other comparison: the best, and what its error bars allow against the next."""
    ranked = sorted(rows, key=lambda r: -r["val_accuracy_mean"])
    best, names = ranked[0], dict(zip((r["configuration"] for r in rows),
                                      short_labels([configuration_of(r) for r in rows])))
    percent, interval, guessing = _percent(best["val_accuracy_mean"]), _interval(best), _guessing(best, classes)
    if len(rows) == 1 and some_skipped:
        only = msg("Only {network} could be trained here: {percent} right (95% interval {low} to {high}). The "
                   "others were skipped (see why below).", network=_title(best), percent=percent, **interval) \
            if interval else msg("Only {network} could be trained here: {percent} right. The others were skipped "
                                 "(see why below).", network=_title(best), percent=percent)
        return sentences(only, guessing)
    choice = names[best["configuration"]]
    sentence = sentences(msg("Best: {choice} with {percent} right (95% interval {low} to {high}).", choice=choice,
                             percent=percent, **interval) if interval else
                         msg("Best: {choice} with {percent} right.", choice=choice, percent=percent), guessing)
    if len(ranked) < 2:
        return sentence
    runner_up = ranked[1]
    name, score = names[runner_up["configuration"]], _percent(runner_up["val_accuracy_mean"])
    found = _difference(best, runner_up)
    if found == "clear":
        return sentences(sentence, msg("Clearly ahead of the next, {name} ({score}).", name=name, score=score))
    if found == "small":
        return sentences(sentence, msg("{name} ({score}) is within its error bars: with these pictures, no clear "
                                       "winner between them.", name=name, score=score))
    return sentences(sentence, msg("Next, {name} with {score}, but not surely behind.", name=name, score=score),
                     _why_unsure(best, runner_up, (names[best["configuration"]], name)))


def configuration_of(row: dict) -> Configuration:
    """The Configuration a saved row (or a plan's configuration dict) describes; nothing is checked,
    so an old experiment whose weights file is gone still reads."""
    per_class = row.get("per_class")
    return Configuration(row["backbone"], row.get("weights", "imagenet"), int(row.get("learning_blocks", 0)),
                         tuple(a for a in row.get("augment") or () if a != "none"),
                         None if per_class in (None, "all") else int(per_class), row.get("pictures"))


def _pictures_sentence(rows: list[dict]) -> str:
    """The fewest pictures per class within 5 points of the best (closer than a class notices)."""
    points = sorted(rows, key=lambda r: (r["per_class"] == "all", r["train_pictures"]))
    best = max(points, key=lambda r: (r["val_accuracy_mean"], r["train_pictures"]))  # a tie: more pictures
    enough = next(r for r in points if r["val_accuracy_mean"] >= best["val_accuracy_mean"] - 0.05)

    def count(row):
        if row["per_class"] == "all":
            return msg("all the pictures")
        return msg_n("{count} picture per class", "{count} pictures per class", int(row["per_class"]))

    ci = best.get("val_accuracy_ci95")
    caution = None
    if best.get("repeats", 1) < 3:
        caution = msg("With fewer than 3 repeats this could be luck: run 3 or more to be sure.")
    elif ci and ci[1] - ci[0] > WIDE_INTERVAL:
        caution = msg("The error bars are wide: more repeats (or epochs) would say it more surely.")
    if enough is points[-1]:
        values, interval = dict(percent=_percent(best["val_accuracy_mean"]), pictures=count(best)), _interval(best)
        found = msg("More pictures kept helping: the best was {percent} right with {pictures} (95% interval {low} "
                    "to {high}).", **values, **interval) if interval else \
            msg("More pictures kept helping: the best was {percent} right with {pictures}.", **values)
    elif enough is best:
        found = msg("About {pictures} were enough: {percent} right; more did not do better.",
                    pictures=count(enough), percent=_percent(enough["val_accuracy_mean"]))
    else:
        found = msg("About {pictures} were enough: {percent} right, within 5 points of the best ({best} with "
                    "{best_pictures}).", pictures=count(enough), percent=_percent(enough["val_accuracy_mean"]),
                    best=_percent(best["val_accuracy_mean"]), best_pictures=count(best))
    return sentences(found, caution)
