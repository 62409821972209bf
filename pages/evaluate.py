"""Evaluate: how good a model is on labelled pictures it never learned from: its own held-back
validation pictures, or a new labelled set (a zip with one folder per class). Accuracy, scores
per class, the confusion matrix (click a square to see its pictures), the most confident
mistakes (with where the model looked) and what the "not sure" line changes."""

from __future__ import annotations

import re
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import streamlit as st

from studio import state, ui
from tlcore.data import UnreadablePicture, UnsafeArchiveError, extract_zip, load_picture, open_rgb, read_folder, to_array
from tlcore.runs import ModelFileError  # no TensorFlow until a model is opened

ui.page_setup()

CACHE = "eval_cache"  # the last evaluation: {"key", "evaluation", "files", "shown"}
UPLOAD = "eval_upload"  # the last unpacked zip: {"id", "listing"} or {"id", "error"}
GRADCAM = "eval_gradcam_cache"
SEEN_CLICK = "eval_matrix_seen"
SHOWN_SIZE = 224
CELL_LIMIT = 12
MISTAKES = 8
SOURCES = {
    "validation": "Its validation pictures (held back during training)",
    "upload": "New labelled pictures (a zip file)",
}


# -- the labelled pictures -------------------------------------------------------------------------
def folder_key(name: str) -> str:
    """Folder and class names compared loosely: case, spaces, "_" and "-" do not matter."""
    return re.sub(r"[\s_\-]+", " ", unicodedata.normalize("NFC", str(name))).strip().casefold()


def match_folders(folders, class_names) -> dict[str, str | None]:
    """Each folder's class (or None when it matches none of the model's classes)."""
    classes = {folder_key(name): name for name in class_names}
    return {folder: classes.get(folder_key(folder)) for folder in folders}


def unpack(upload) -> dict:
    """The uploaded zip unpacked (once per upload) into this session's work folder."""
    cached = st.session_state.get(UPLOAD)
    if cached and cached["id"] == upload.file_id:
        return cached
    try:
        folder = Path(tempfile.mkdtemp(prefix="evaluate-", dir=state.work_dir()))
        extract_zip(upload, folder)
        cached = {"id": upload.file_id, "listing": read_folder(folder), "name": upload.name}
    except UnsafeArchiveError as error:
        cached = {"id": upload.file_id, "error": str(error)}
    except (OSError, ValueError):
        cached = {"id": upload.file_id, "error": f"{upload.name} could not be unpacked."}
    st.session_state[UPLOAD] = cached
    return cached


def evaluation_for(run, key, make):
    """The evaluation for ``key``, computed once (``make`` returns (Evaluation, files by name))."""
    cached = st.session_state.get(CACHE)
    if cached and cached["key"] == key:
        return cached
    with st.spinner("The model is looking at every picture…"):
        evaluation, files, shown = make()
    cached = {"key": key, "evaluation": evaluation, "files": files, "shown": shown}
    st.session_state[CACHE] = cached
    st.session_state.pop(GRADCAM, None)
    return cached


def on_validation(run):
    from tlcore.evaluate import evaluate_run
    from tlcore.runs import validation_set

    files, names, _ = validation_set(run)
    evaluation = evaluate_run(run)
    by_name = dict(zip(names, files))
    return evaluation, by_name, {name: name for name in names}


def on_upload(run, files, labels, shown):
    from tlcore.evaluate import evaluate_run

    evaluation = evaluate_run(run, files, labels)
    return evaluation, {str(f): f for f in files}, shown


# -- showing pictures ------------------------------------------------------------------------------
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
        with st.spinner("Finding where the model looked…"):
            for file in missing:
                try:
                    heatmap = gradcam(run, load_picture(file, run.input_size))
                    cache[str(file)] = overlay(to_array(open_rgb(file), SHOWN_SIZE), heatmap)
                except Exception:  # an explanation is a bonus: never break the page for it
                    cache[str(file)] = None
    return [cache.get(str(f)) for f in files]


# -- the page --------------------------------------------------------------------------------------
st.title("How good is your model?")
runs = state.all_runs()
if not runs:
    st.info("There is no trained model yet. Train one first (a minute with the demo pictures), "
            "or import one on the Share page.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

run = ui.run_picker(runs, "eval_run", "Model to check")
st.caption(ui.run_facts(run))

has_validation = bool(run.record.validation)
options = (["validation"] if has_validation else []) + ["upload"]
if st.session_state.get("eval_source") not in options:
    st.session_state["eval_source"] = options[0]
if has_validation:
    source = st.radio("Pictures to check it on", options, key="eval_source", format_func=SOURCES.get,
                      horizontal=True)
else:
    source = "upload"


def evaluate_or_stop(run, key, compute):
    """The evaluation (cached per ``key``), or a plain message and the page stops there."""
    try:
        return evaluation_for(run, key, compute)
    except ModelFileError as error:
        st.error(f"This model could not be opened. {error}")
    except ValueError as error:
        st.error(f"These pictures could not be checked: {error}")
    except Exception:  # a damaged model file, say
        st.error("This model could not be opened. Choose another one, or train again.")
    st.stop()


if source == "validation":
    key = (str(run.path), "validation")
    result = evaluate_or_stop(run, key, lambda: on_validation(run))
    st.caption("The validation pictures were held back during training: the model never learned from them.")
else:
    if not has_validation:
        st.info("This model came without validation pictures (it was imported), so check it on "
                "pictures of your own.")
    classes = ", ".join(f"**{ui.md(c)}**" for c in run.class_names)
    st.markdown(f"A **.zip file with one folder per class**, each folder named like one of the model's "
                f"classes: {classes}. Pictures in other folders are left out.")
    upload = st.file_uploader("Labelled pictures (a zip file)", type=["zip"], key="eval_zip")
    if upload is None:
        st.stop()
    unpacked = unpack(upload)
    if "error" in unpacked:
        st.error(f"This zip file cannot be used. {unpacked['error']}")
        st.stop()
    listing = unpacked["listing"]
    matches = match_folders(listing.class_names, run.class_names)
    counts: dict[str, int] = {}
    for file in listing.files:
        counts[file.class_name] = counts.get(file.class_name, 0) + 1
    unmatched = [folder for folder, name in matches.items() if name is None]
    if unmatched:
        lines = "\n".join(f"- **{ui.md(folder)}** ({ui.plural(counts.get(folder, 0), 'file')})" for folder in unmatched)
        st.warning(f"{ui.plural(len(unmatched), 'folder does', 'folders do')} not match any class the model "
                   f"knows, so {'its' if len(unmatched) == 1 else 'their'} pictures were left out:\n\n{lines}\n\n"
                   f"The model knows: {classes}.")
    renamed = [(folder, name) for folder, name in matches.items() if name is not None and name != folder]
    if renamed:
        st.caption("Matched: " + ", ".join(f"folder {ui.md(f)} → class {ui.md(n)}" for f, n in renamed))
    chosen = [f for f in listing.files if matches.get(f.class_name)]
    if not chosen:
        st.error("None of the folders in this zip is named like one of the model's classes, so there is "
                 "nothing to check. Rename the folders to the class names and upload it again.")
        st.stop()
    without = [c for c in run.class_names if c not in set(matches.values())]
    if without:
        st.caption("No pictures for: " + ", ".join(ui.md(c) for c in without) + ".")
    files = [f.path for f in chosen]
    labels = [matches[f.class_name] for f in chosen]
    shown_names = {str(f.path): f.name for f in chosen}
    key = (str(run.path), "upload", upload.file_id)
    result = evaluate_or_stop(run, key, lambda: on_upload(run, files, labels, shown_names))

evaluation = result["evaluation"]
files_by_name = result["files"]
shown_name = result["shown"]


def file_of(index: int):
    return files_by_name.get(evaluation.names[index])


def name_of(index: int) -> str:
    name = evaluation.names[index]
    return shown_name.get(name, name)


# -- accuracy --------------------------------------------------------------------------------------
total = len(evaluation)
right = int(np.trace(evaluation.confusion))
st.header("How often it is right")
columns = st.columns([2, 1, 1])
with columns[0]:
    ui.result_card("Right answers", f"{evaluation.accuracy:.0%}", f"{right:,} of {ui.plural(total, 'picture')}",
                   tone="good" if evaluation.accuracy >= 0.8 else "warn")
with columns[1]:
    ui.result_card("Pictures checked", f"{total:,}")
with columns[2]:
    ui.result_card("Mistakes", f"{total - right:,}", tone="warn" if total - right else "good")
if total < 100:
    st.caption(f"With {ui.plural(total, 'picture')}, each mistake changes this number by about "
               f"{1 / total:.0%}: treat it as a rough guide.")
if evaluation.skipped:
    with st.expander(f"{ui.plural(len(evaluation.skipped), 'file was', 'files were')} left out"):
        st.markdown("\n".join(f"- {ui.md(shown_name.get(n, n))} {ui.md(why)}" for n, why in evaluation.skipped))

# -- per class -------------------------------------------------------------------------------------
st.header("Class by class")
rows = [{"Class": name, "Pictures": int(evaluation.support[c]),
         "Found": round(100 * float(evaluation.recall[c]), 1),
         "Right when it says it": round(100 * float(evaluation.precision[c]), 1)}
        for c, name in enumerate(evaluation.class_names)]
example = evaluation.class_names[0]
st.dataframe(rows, hide_index=True, key="eval_table", column_config={
    "Pictures": st.column_config.NumberColumn("Pictures", help="How many pictures of this class were checked."),
    "Found": st.column_config.ProgressColumn(
        "Found (recall)", min_value=0, max_value=100, format="%.0f%%",
        help=f"Of the pictures that really are '{example}', the share the model recognised."),
    "Right when it says it": st.column_config.ProgressColumn(
        "Right when it says it (precision)", min_value=0, max_value=100, format="%.0f%%",
        help=f"When it says '{example}', how often it is right: “When it says '{example}', it is "
             f"right {evaluation.precision[0]:.0%} of the time.”"),
})
sentences = []
for c, name in enumerate(evaluation.class_names):
    support, said = int(evaluation.support[c]), int(evaluation.confusion[:, c].sum())
    found = (f"it recognised {int(evaluation.confusion[c, c])} of the {support} ({evaluation.recall[c]:.0%})"
             if support else "no pictures of it were checked")
    trusted = (f"when it says “{ui.md(name)}”, it is right {evaluation.precision[c]:.0%} of the time"
               if said else f"it never answered “{ui.md(name)}”")
    sentences.append(f"- **{ui.md(name)}**: {found}; {trusted}.")
st.markdown("\n".join(sentences))

# -- the confusion matrix --------------------------------------------------------------------------
st.header("Which classes get mixed up")
st.markdown("Each **row** is the right answer, each **column** what the model said: the squares on the "
            "diagonal are right answers, all others are mistakes. **Click a square** to see its pictures.")
names = evaluation.class_names
n_classes = len(names)
confusion = evaluation.confusion


def apply_click() -> None:
    """A click on a square picks that cell in the two select boxes below the chart."""
    selection = st.session_state.get("eval_matrix") or {}
    points = (selection.get("selection") or {}).get("points") or []
    cells = [tuple(int(v) for v in p["customdata"][:2]) for p in points
             if isinstance(p.get("customdata"), (list, tuple)) and len(p["customdata"]) >= 2]
    signature = (str(run.path), result["key"], tuple(cells))
    seen = st.session_state.get(SEEN_CLICK)
    st.session_state[SEEN_CLICK] = signature
    if seen == signature or (seen and seen[:2] != signature[:2]):
        return  # no new click, or a click on another model's (or picture set's) matrix
    if cells and all(0 <= v < n_classes for v in cells[-1]):
        st.session_state["eval_cell_true"], st.session_state["eval_cell_pred"] = (names[v] for v in cells[-1])


def default_cell() -> tuple[int, int]:
    """The most frequent mix-up, or the first class if there is none."""
    off = confusion.copy()
    np.fill_diagonal(off, -1)
    if off.max() > 0:
        t, p = np.unravel_index(int(off.argmax()), off.shape)
        return int(t), int(p)
    return 0, 0


apply_click()
if st.session_state.get("eval_cell_true") not in names or st.session_state.get("eval_cell_pred") not in names:
    t, p = default_cell()
    st.session_state["eval_cell_true"], st.session_state["eval_cell_pred"] = names[t], names[p]
cell = (names.index(st.session_state["eval_cell_true"]), names.index(st.session_state["eval_cell_pred"]))
st.plotly_chart(ui.confusion_figure(confusion, names, cell), key="eval_matrix", on_select="rerun",
                selection_mode=("points",), config=ui.CHART_CONFIG)

true_column, said_column = st.columns(2)
with true_column:
    true_name = st.selectbox("Right answer", names, key="eval_cell_true")
with said_column:
    said_name = st.selectbox("What the model said", names, key="eval_cell_pred")
members = evaluation.cell(true_name, said_name)
members.sort(key=lambda i: -float(evaluation.confidence[i]))
if not members:
    st.info(f"No picture of **{ui.md(true_name)}** was answered **{ui.md(said_name)}**.")
else:
    if true_name == said_name:
        st.success(f"**{ui.plural(len(members), 'picture')}** of **{ui.md(true_name)}**, answered right.")
    else:
        st.warning(f"**{ui.plural(len(members), 'picture')}** that really {'is' if len(members) == 1 else 'are'} "
                   f"**{ui.md(true_name)}**, but the model said **{ui.md(said_name)}**.")
    items = []
    for index in members[:CELL_LIMIT]:
        shown = picture(file_of(index))
        if shown is not None:
            items.append((shown, f"**{evaluation.confidence[index]:.0%} sure**", ui.md(ui.short_name(name_of(index), 16))))
    ui.picture_grid(items, columns=5)
    if len(members) > CELL_LIMIT:
        st.caption(f"… and {len(members) - CELL_LIMIT} more (the surest are shown first).")

# -- the most confident mistakes -------------------------------------------------------------------
st.header("Its most confident mistakes")
mistakes = evaluation.mistakes(MISTAKES)
if not mistakes:
    st.success("No mistakes on these pictures.")
else:
    st.markdown("Wrong answers the model was **sure** about often show what it really learned: "
                "a background, a colour, a kind of photo.")
    show_where = st.toggle("Show where the model looked", key="eval_show_gradcam",
                           help="Colours the parts of each picture that counted most for its (wrong) answer (Grad-CAM).")
    mistake_files = [file_of(m.index) for m in mistakes]
    overlays = where_it_looked(run, mistake_files) if show_where else [None] * len(mistakes)
    items = []
    for mistake, file, heat in zip(mistakes, mistake_files, overlays):
        shown = heat if heat is not None else picture(file)
        if shown is None:
            continue
        text = (f"Really **{ui.md(names[mistake.true])}**  \nIt said **{ui.md(names[mistake.predicted])}**, "
                f"**{mistake.confidence:.0%} sure**")
        items.append((shown, text, ui.md(ui.short_name(name_of(mistake.index)))))
    ui.picture_grid(items, columns=4)
    if show_where and any(heat is not None for heat in overlays):
        st.caption("Red: the parts that counted most for the wrong answer.")
    elif show_where:
        st.caption("Where the model looked cannot be shown for this model.")

# -- the "not sure" line ---------------------------------------------------------------------------
from tlcore.evaluate import threshold_curve  # noqa: E402  (numpy only)

st.header("When should it say “not sure”?")
st.markdown("On the Test page the model says **“Not sure”** when its best answer is below a line you "
            "choose. A higher line: fewer answers, but more of them right.")
slider_column, _ = st.columns([1, 1])
with slider_column:
    threshold = ui.not_sure_slider("eval_not_sure")
answered_column, right_column = st.columns(2, gap="large")
answered = evaluation.confidence >= threshold
count = int(answered.sum())
correct_answered = int((evaluation.predicted[answered] == evaluation.true_labels[answered]).sum())
with answered_column:
    ui.result_card("It answers", f"{count / total:.0%}" if total else "—",
                   f"{count:,} of {total:,}; the rest get “Not sure”")
with right_column:
    ui.result_card("Right, when it answers", f"{correct_answered / count:.0%}" if count else "—",
                   f"{correct_answered:,} of {count:,}", tone="good")
curve = threshold_curve(evaluation.probabilities, evaluation.true_labels)
st.plotly_chart(ui.threshold_figure(curve, threshold), key="eval_threshold_chart", config=ui.CHART_CONFIG)
