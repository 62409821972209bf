"""Evaluate: how good a model is on labelled pictures it never learned from: its own held-back
validation pictures, or a new labelled set (a zip with one folder per class). Accuracy, scores
per class, the confusion matrix (click a square to see its pictures), the most confident
mistakes (with where the model looked) and what the "not sure" line changes."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

from studio import figures, navigation, state, widgets, words
from studio.i18n import _, _n, language, listed, tr
from studio.words import md
from tlcore.i18n import N_, Percent, format_value, msg, sentences
from tlcore.data import UnreadablePicture, UnsafeArchiveError, load_picture, open_rgb, read_folder, to_array, unpack_zip
from tlcore.evaluate import match_folders  # numpy only
from tlcore.runs import ModelFileError  # no TensorFlow until a model is opened

CACHE = "eval_cache"  # the last evaluation (a Checked)
UPLOAD = "eval_upload"  # the last unpacked zip: {"id", "listing", "skipped"} or {"id", "error"}
GRADCAM = "eval_gradcam_cache"
SEEN_CLICK = "eval_matrix_seen"
SHOWN_SIZE = 224
CELL_LIMIT = 12
MISTAKES = 8
# File names under the pictures, short enough for one line at 1280 px (5 and 4 pictures a row).
CELL_NAME, MISTAKE_NAME = 12, 16
SOURCES = {
    "validation": N_("Its validation pictures (held back during training)"),
    "upload": N_("New labelled pictures (a zip file)"),
}


def number(value) -> str:
    """A number or a Percent as the reader's language writes it ("1,234", "83 %")."""
    return format_value(value, language())


@dataclass
class Checked:
    """One evaluation and how to find its pictures: ``files`` and ``shown`` by evaluation name."""

    key: tuple
    evaluation: object
    files: dict = field(default_factory=dict)
    shown: dict = field(default_factory=dict)

    def file_of(self, index: int):
        return self.files.get(self.evaluation.names[index])

    def name_of(self, index: int) -> str:
        name = self.evaluation.names[index]
        return self.shown.get(name, name)


def render() -> None:
    st.title(_("How good is your model?"))
    runs = state.all_runs()
    if not runs:
        st.info(_("There is no trained model yet. Train one first (a minute with the demo pictures), "
                  "or import one on the Share page."))
        navigation.link("train", _("Go to Train"), icon=":material/model_training:")
        return
    run = widgets.run_picker(runs, "eval_run", _("Model to check"))
    st.caption(tr(words.run_facts(run)))
    checked = validation_section(run) if source_choice(run) == "validation" else upload_section(run)
    if checked is None:
        return
    accuracy_section(run, checked)
    per_class_section(checked.evaluation)
    confusion_section(run, checked)
    mistakes_section(run, checked)
    not_sure_section(checked.evaluation)


# -- the labelled pictures ---------------------------------------------------------------------------
def source_choice(run) -> str:
    if not run.record.validation:
        return "upload"
    options = list(SOURCES)
    if st.session_state.get("eval_source") not in options:
        st.session_state["eval_source"] = options[0]
    return st.radio(_("Pictures to check it on"), options, key="eval_source", format_func={v: _(SOURCES[v]) for v in options}.get, horizontal=True)


def checked_once(key: tuple, make) -> Checked | None:
    """The evaluation for ``key``, computed once (``make`` returns a Checked), or a plain message."""
    cached = st.session_state.get(CACHE)
    if isinstance(cached, Checked) and cached.key == key:
        return cached
    try:
        with st.spinner(_("The model is looking at every picture…")):
            cached = make()
    except ModelFileError as error:
        st.error(_("This model could not be opened. {reason}", reason=tr(error)))
        return None
    except ValueError as error:
        st.error(_("These pictures could not be checked: {reason}", reason=tr(error)))
        return None
    except Exception:  # a damaged model file, say
        st.error(_("This model could not be opened. Choose another one, or train again."))
        return None
    st.session_state[CACHE] = cached
    st.session_state.pop(GRADCAM, None)
    return cached


def validation_section(run) -> Checked | None:
    from tlcore.evaluate import evaluate_run

    def make() -> Checked:
        files, names, _truths = run.validation_set()
        return Checked(key, evaluate_run(run), dict(zip(names, files)), {name: name for name in names})

    key = (str(run.path), "validation")
    checked = checked_once(key, make)
    if checked is not None:
        st.caption(_("The validation pictures were held back during training: the model never learned from them."))
    return checked


def upload_section(run) -> Checked | None:
    if not run.record.validation:
        st.info(_("This model came without validation pictures (it was imported), so check it on "
                  "pictures of your own."))
    classes = ", ".join(f"**{md(c)}**" for c in run.class_names)
    st.markdown(_("A **.zip file with one folder per class**, each folder named like one of the model's "
                  "classes: {classes}. Pictures in other folders are left out.", classes=classes))
    upload = st.file_uploader(_("Labelled pictures (a zip file)"), type=["zip"], key="eval_zip")
    if upload is None:
        return None
    unpacked = unpack(upload)
    if "error" in unpacked:
        st.error(_("This zip file cannot be used. {reason}", reason=tr(unpacked["error"])))
        return None
    chosen = matched_files(unpacked, run, classes)
    if not chosen:
        return None
    from tlcore.evaluate import evaluate_run

    files, labels = [f.path for f, _name in chosen], [name for _file, name in chosen]
    key = (str(run.path), "upload", upload.file_id)
    return checked_once(key, lambda: Checked(key, evaluate_run(run, files, labels),
                                             {str(f): f for f in files}, {str(f.path): f.name for f, _name in chosen}))


def unpack(upload) -> dict:
    """The uploaded zip unpacked, pictures only, once per upload into this session's work folder."""
    cached = st.session_state.get(UPLOAD)
    if cached and cached["id"] == upload.file_id:
        return cached
    try:
        folder = Path(tempfile.mkdtemp(prefix="evaluate-", dir=state.work_dir()))
        result = unpack_zip(upload, folder)
        cached = {"id": upload.file_id, "listing": read_folder(result.folder),
                  "skipped": [s.sentence() for s in result.skipped]}
    except UnsafeArchiveError as error:
        cached = {"id": upload.file_id, "error": error.args[0] if len(error.args) == 1 else str(error)}
    except (OSError, ValueError):
        cached = {"id": upload.file_id, "error": msg("{name} could not be unpacked.", name=upload.name)}
    st.session_state[UPLOAD] = cached
    return cached


def matched_files(unpacked: dict, run, classes: str) -> list[tuple]:
    """(file, class) for the pictures whose folder names a class; what was left out, in words."""
    listing = unpacked["listing"]
    matches = match_folders(listing.class_names, run.class_names)
    counts: dict[str, int] = {}
    for file in listing.files:
        counts[file.class_name] = counts.get(file.class_name, 0) + 1
    unmatched = [folder for folder, name in matches.items() if name is None]
    if unmatched:
        lines = "\n".join(_n("- **{folder}** ({count} file)", "- **{folder}** ({count} files)",
                                 counts.get(folder, 0), folder=md(folder)) for folder in unmatched)
        st.warning(_n("{count} folder does not match any class the model knows, so its pictures were left out:",
                      "{count} folders do not match any class the model knows, so their pictures were left out:",
                      len(unmatched)) + f"\n\n{lines}\n\n" + _("The model knows: {classes}.", classes=classes))
    renamed = [(folder, name) for folder, name in matches.items() if name is not None and name != folder]
    if renamed:
        st.caption(_("Matched: {pairs}", pairs=listed(_("folder {folder} → class {name}", folder=md(f), name=md(n))
                                                      for f, n in renamed)))
    if unpacked.get("skipped"):
        with st.expander(_n("{count} file was not unpacked", "{count} files were not unpacked",
                             len(unpacked["skipped"]))):
            st.markdown("\n".join(f"- {md(tr(line))}" for line in unpacked["skipped"]))
    chosen = [(f, matches[f.class_name]) for f in listing.files if matches.get(f.class_name)]
    if not chosen:
        st.error(_("None of the folders in this zip is named like one of the model's classes, so there is "
                   "nothing to check. Rename the folders to the class names and upload it again."))
        return []
    without = [c for c in run.class_names if c not in set(matches.values())]
    if without:
        st.caption(_("No pictures for: {names}.", names=", ".join(md(c) for c in without)))
    return chosen


# -- showing pictures ----------------------------------------------------------------------------------
def picture(file) -> np.ndarray | None:
    try:
        return to_array(open_rgb(file), SHOWN_SIZE)
    except (UnreadablePicture, OSError):
        return None


def where_it_looked(run, files: list) -> list[np.ndarray | None]:
    """Grad-CAM overlays for ``files`` (kept for this evaluation); None where it fails."""
    from tlcore.explain import gradcam, overlay

    cache = st.session_state.setdefault(GRADCAM, {})
    missing = [f for f in files if str(f) not in cache]
    if missing:
        with st.spinner(_("Finding where the model looked…")):
            for file in missing:
                try:
                    heatmap = gradcam(run, load_picture(file, run.input_size))
                    cache[str(file)] = overlay(to_array(open_rgb(file), SHOWN_SIZE), heatmap)
                except Exception:  # an explanation is a bonus: never break the page for it
                    cache[str(file)] = None
    return [cache.get(str(f)) for f in files]


# -- the results -------------------------------------------------------------------------------------
def accuracy_section(run, checked: Checked) -> None:
    evaluation = checked.evaluation
    total, right = len(evaluation), int(np.trace(evaluation.confusion))
    st.header(_("How often it is right"))
    columns = st.columns([2, 1, 1])
    likely = words.interval_text(evaluation.accuracy, total)
    with columns[0]:
        note = _n("{right} of {count} picture", "{right} of {count} pictures", total, right=right)
        if likely:
            note = _n("{right} of {count} picture · {likely}", "{right} of {count} pictures · {likely}", total,
                      right=right, likely=likely)
        widgets.result_card(_("Right answers"), number(Percent(evaluation.accuracy)), note,
                            tone="good" if evaluation.accuracy >= 0.8 else "warn")
    with columns[1]:
        widgets.result_card(_("Pictures checked"), number(total))
    with columns[2]:
        widgets.result_card(_("Mistakes"), number(total - right), tone="warn" if total - right else "good")
    if total < 100 and likely:
        st.caption(_n("With {count} picture, each mistake changes this number by about {step}: on new pictures "
                      "it is {likely} (95 % sure).",
                      "With {count} pictures, each mistake changes this number by about {step}: on new pictures "
                      "it is {likely} (95 % sure).", total, step=Percent(1 / total), likely=likely))
    if checked.key[1:] == ("validation",) and words.near_copies_words(run.record):
        st.warning(words.near_copies_words(run.record))
    if evaluation.skipped:
        with st.expander(_n("{count} file was left out", "{count} files were left out", len(evaluation.skipped))):
            st.markdown("\n".join("- " + tr(sentences(msg("{name} was skipped.", name=md(checked.shown.get(n, n))),
                                                       md(tr(why)))) for n, why in evaluation.skipped))


def per_class_section(evaluation) -> None:
    st.header(_("Class by class"))
    rows = [{"Class": name, "Pictures": int(evaluation.support[c]),
             "Found": round(100 * float(evaluation.recall[c]), 1),
             "Right when it says it": round(100 * float(evaluation.precision[c]), 1)}
            for c, name in enumerate(evaluation.class_names)]
    example = evaluation.class_names[0]
    st.dataframe(rows, hide_index=True, key="eval_table", column_config={
        "Class": st.column_config.TextColumn(_("Class")),
        "Pictures": st.column_config.NumberColumn(_("Pictures"),
                                                  help=_("How many pictures of this class were checked.")),
        "Found": st.column_config.ProgressColumn(
            _("Found (recall)"), min_value=0, max_value=100, format="%.0f%%",
            help=_("Of the pictures that really are '{name}', the share the model recognised.", name=example)),
        "Right when it says it": st.column_config.ProgressColumn(
            _("Right when it says it (precision)"), min_value=0, max_value=100, format="%.0f%%",
            help=_("When it says '{name}', how often it is right: “When it says '{name}', it is right {percent} "
                   "of the time.”", name=example, percent=Percent(evaluation.precision[0]))),
    })
    st.markdown("\n".join(class_sentence(evaluation, c, name) for c, name in enumerate(evaluation.class_names)))


def class_sentence(evaluation, c: int, name: str) -> str:
    support, said = int(evaluation.support[c]), int(evaluation.confusion[:, c].sum())
    values = dict(name=md(name), right=int(evaluation.confusion[c, c]), total=support,
                  recall=Percent(evaluation.recall[c]), precision=Percent(evaluation.precision[c]))
    # One whole sentence for each case (its parts cannot be glued in every language)
    if support and said:
        return _("- **{name}**: it recognised {right} of the {total} ({recall}); when it says “{name}”, it is "
                 "right {precision} of the time.", **values)
    if support:
        return _("- **{name}**: it recognised {right} of the {total} ({recall}); it never answered “{name}”.",
                 **values)
    if said:
        return _("- **{name}**: no pictures of it were checked; when it says “{name}”, it is right {precision} of "
                 "the time.", **values)
    return _("- **{name}**: no pictures of it were checked; it never answered “{name}”.", **values)


def confusion_section(run, checked: Checked) -> None:
    st.header(_("Which classes get mixed up"))
    st.markdown(_("Each **row** is the right answer, each **column** what the model said: the squares on the "
                  "diagonal are right answers, all others are mistakes. **Click a square** to see its pictures."))
    evaluation = checked.evaluation
    names = evaluation.class_names
    apply_click(run, checked)
    if st.session_state.get("eval_cell_true") not in names or st.session_state.get("eval_cell_pred") not in names:
        t, p = evaluation.most_confused() or (0, 0)
        st.session_state["eval_cell_true"], st.session_state["eval_cell_pred"] = names[t], names[p]
    cell = (names.index(st.session_state["eval_cell_true"]), names.index(st.session_state["eval_cell_pred"]))
    st.plotly_chart(figures.confusion_figure(evaluation.confusion, names, cell), key="eval_matrix",
                    on_select="rerun", selection_mode=("points",), config=figures.CHART_CONFIG)
    confusion_numbers(evaluation)
    true_column, said_column = st.columns(2)
    true_name = true_column.selectbox(_("Right answer"), names, key="eval_cell_true")
    said_name = said_column.selectbox(_("What the model said"), names, key="eval_cell_pred")
    cell_pictures(checked, true_name, said_name)


def confusion_numbers(evaluation) -> None:
    """The matrix as a table, for a screen reader or whoever prefers numbers to colours."""
    names = evaluation.class_names
    with st.expander(_("The numbers")):
        rows = [{_("Right answer"): name, **{_("It said {name}", name=said): int(evaluation.confusion[t, s])
                                              for s, said in enumerate(names)}}
                for t, name in enumerate(names)]
        st.dataframe(rows, hide_index=True, key="eval_matrix_numbers")


def apply_click(run, checked: Checked) -> None:
    """A click on a square picks that cell in the two select boxes below the chart."""
    names = checked.evaluation.class_names
    selection = st.session_state.get("eval_matrix") or {}
    points = (selection.get("selection") or {}).get("points") or []
    cells = [tuple(int(v) for v in p["customdata"][:2]) for p in points
             if isinstance(p.get("customdata"), (list, tuple)) and len(p["customdata"]) >= 2]
    signature = (str(run.path), checked.key, tuple(cells))
    seen = st.session_state.get(SEEN_CLICK)
    st.session_state[SEEN_CLICK] = signature
    if seen == signature or (seen and seen[:2] != signature[:2]):
        return  # no new click, or a click on another model's (or picture set's) matrix
    if cells and all(0 <= v < len(names) for v in cells[-1]):
        st.session_state["eval_cell_true"], st.session_state["eval_cell_pred"] = (names[v] for v in cells[-1])


def cell_pictures(checked: Checked, true_name: str, said_name: str) -> None:
    evaluation = checked.evaluation
    members = sorted(evaluation.cell(true_name, said_name), key=lambda i: -float(evaluation.confidence[i]))
    if not members:
        st.info(_("No picture of **{right}** was answered **{said}**.", right=md(true_name), said=md(said_name)))
        return
    if true_name == said_name:
        st.success(_n("**{count} picture** of **{right}**, answered right.",
                      "**{count} pictures** of **{right}**, answered right.", len(members), right=md(true_name)))
    else:
        st.warning(_n("**{count} picture** that really is **{right}**, but the model said **{said}**.",
                      "**{count} pictures** that really are **{right}**, but the model said **{said}**.",
                      len(members), right=md(true_name), said=md(said_name)))
    items = []
    for index in members[:CELL_LIMIT]:
        shown = picture(checked.file_of(index))
        if shown is not None:
            items.append((shown, _("**{percent} sure**", percent=Percent(evaluation.confidence[index])),
                          md(words.short_name(checked.name_of(index), CELL_NAME))))
    widgets.picture_grid(items, columns=5)
    if len(members) > CELL_LIMIT:
        st.caption(_n("… and {count} more (the surest are shown first).", "… and {count} more (the surest are shown first).",
                        len(members) - CELL_LIMIT))


def mistakes_section(run, checked: Checked) -> None:
    st.header(_("Its most confident mistakes"))
    evaluation = checked.evaluation
    mistakes = evaluation.mistakes(MISTAKES)
    if not mistakes:
        st.success(_("No mistakes on these pictures."))
        return
    st.markdown(_("Wrong answers the model was **sure** about often show what it really learned: "
                  "a background, a colour, a kind of photo."))
    show_where = widgets.kept_toggle(
        _("Show where the model looked"), key="eval_show_gradcam",
        help=_("Colours the parts of each picture that counted most for its (wrong) answer (Grad-CAM)."))
    files = [checked.file_of(m.index) for m in mistakes]
    overlays = where_it_looked(run, files) if show_where else [None] * len(mistakes)
    names, items = evaluation.class_names, []
    for mistake, file, heat in zip(mistakes, files, overlays):
        shown = heat if heat is not None else picture(file)
        if shown is not None:
            text = _("Really **{right}**  \nIt said **{said}**, **{percent} sure**", right=md(names[mistake.true]),
                     said=md(names[mistake.predicted]), percent=Percent(mistake.confidence))
            items.append((shown, text, md(words.short_name(checked.name_of(mistake.index), MISTAKE_NAME))))
    widgets.picture_grid(items, columns=4)
    if show_where and any(heat is not None for heat in overlays):
        st.caption(_("Red: the parts that counted most for the wrong answer."))
    elif show_where:
        st.caption(_("Where the model looked cannot be shown for this model."))


def not_sure_section(evaluation) -> None:
    from tlcore.evaluate import threshold_curve  # numpy only

    st.header(_("When should it say “not sure”?"))
    st.markdown(_("On the Test page the model says **“Not sure”** when its best answer is below a line you "
                  "choose. A higher line: fewer answers, but more of them right."))
    slider_column, _right = st.columns([1, 1])
    with slider_column:
        threshold = widgets.not_sure_slider("eval_not_sure")
    total = len(evaluation)
    count, right = evaluation.answered(threshold)
    answered_column, right_column = st.columns(2, gap="large")
    with answered_column:
        widgets.result_card(_("It answers"), number(Percent(count / total)) if total else "—",
                            _("{answered} of {total}; the rest get “Not sure”", answered=count, total=total))
    with right_column:
        widgets.result_card(_("Right, when it answers"), number(Percent(right / count)) if count else "—",
                            _("{right} of {total}", right=right, total=count), tone="good")
    curve = threshold_curve(evaluation.probabilities, evaluation.true_labels)
    st.plotly_chart(figures.threshold_figure(curve, threshold), key="eval_threshold_chart",
                    config=figures.CHART_CONFIG)
    threshold_numbers(curve)


def threshold_numbers(curve) -> None:
    """The chart's points as a table (a screen reader cannot read the lines)."""
    with st.expander(_("The numbers")):
        rows = [{_("“Not sure” below"): number(Percent(line)), _("It answers"): number(Percent(answered)),
                 _("Right, when it answers"): "—" if right is None else number(Percent(right))}
                for line, answered, right in curve]
        st.dataframe(rows, hide_index=True, key="eval_threshold_numbers")
