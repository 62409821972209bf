"""Test: show a trained model new pictures (upload or webcam) and see its answers."""

from __future__ import annotations

import random

import streamlit as st

from studio import state, ui
from tlcore.data import UnreadablePicture, load_picture, open_rgb, to_array
from tlcore.data.sources import PICTURE_EXTENSIONS

ui.page_setup()

PICTURE_TYPES = sorted(ext.lstrip(".") for ext in PICTURE_EXTENSIONS)
SHOWN_SIZE = 320


def explainer():
    """tlcore's Grad-CAM, if this installation has it."""
    try:
        from tlcore.explain import gradcam, overlay
    except ImportError:
        return None
    return gradcam, overlay


def show_answer(run, name: str, data: bytes, prediction, truth: str | None, explain, not_sure: float = 0.0) -> None:
    """The picture (and where the model looked), then the answer in large type and the top 3.

    Below the ``not_sure`` threshold the answer is "Not sure" (its best guess still named)."""
    with st.container(border=True):
        if explain is not None and prediction.error is None:
            picture_column, heat_column, answer_column = st.columns([2, 2, 3], gap="medium")
        else:
            picture_column, answer_column = st.columns([2, 3], gap="large")
            heat_column = None
        with picture_column:
            try:
                shown = open_rgb(data)
                shown.thumbnail((SHOWN_SIZE * 2, SHOWN_SIZE * 2))
                st.image(shown, caption=name, width="stretch")
            except UnreadablePicture:
                st.markdown(f"**{ui.md(name)}**")
        with answer_column:
            if prediction.error:
                st.error(f"This file cannot be used: {prediction.error}.")
                return
            ranked = prediction.ranked(3)
            top_probability = ranked[0][1] if ranked else 0.0
            if top_probability < not_sure:
                note = (f"Its best guess, {prediction.top}, is only {top_probability:.0%} sure "
                        f"(below your {not_sure:.0%} line)")
                if truth is not None:
                    note += f" · the right answer is {truth}"
                ui.result_card("The model says", ui.NOT_SURE_WORDS, note, tone="warn")
            elif truth is None:
                ui.result_card("The model says", prediction.top, f"{top_probability:.0%} sure", tone="good")
            else:
                right = truth == prediction.top
                ui.result_card("The model says", prediction.top,
                               f"{top_probability:.0%} sure · the right answer is {truth} "
                               f"{'✔' if right else '✘'}", tone="good" if right else "warn")
            ui.confidence_bars(ranked)
        if heat_column is not None:
            gradcam, overlay = explain
            with heat_column:
                try:
                    with st.spinner("Finding where the model looked…"):
                        heatmap = gradcam(run, load_picture(data, run.input_size))
                        square = to_array(open_rgb(data), SHOWN_SIZE)
                    st.image(overlay(square, heatmap), width="stretch",
                             caption="Red: what counted most for this answer")
                except Exception:  # an explanation is a bonus: never break the answer for it
                    st.caption("Where the model looked could not be shown for this picture.")


st.title("Test your model")
runs = state.all_runs()
if not runs:
    st.info("There is no trained model yet. Train one first: it takes a minute with the demo pictures.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

by_path = {str(run.path): run for run in runs}
if st.session_state.get("test_run") not in by_path:
    st.session_state["test_run"] = str(state.default_run(runs).path)
mine = set(state.session_runs())
chosen = st.selectbox("Model to test", list(by_path), key="test_run",
                      format_func=lambda p: ui.run_label(by_path[p], p in mine))
state.select_run(chosen)
run = by_path[chosen]
st.caption(ui.run_facts(run))

explain = explainer()
toggle_column, threshold_column = st.columns([1, 1], gap="large", vertical_alignment="center")
if explain is not None:
    with toggle_column:
        show_where = st.toggle("Show where the model looked", key="test_gradcam",
                               help="Colours the parts of the picture that counted most for the answer (Grad-CAM).")
    explain = explain if show_where else None
with threshold_column:
    not_sure = ui.not_sure_slider("test_not_sure")

upload_tab, camera_tab, held_back_tab = st.tabs(
    [":material/upload: Upload pictures", ":material/photo_camera: Webcam",
     ":material/visibility_off: Pictures it never learned from"], key="test_tabs")
pictures: list[tuple[str, bytes, str | None]] = []
with upload_tab:
    files = st.file_uploader("Pictures to test", type=PICTURE_TYPES, accept_multiple_files=True, key="test_files")
    pictures += [(f.name, f.getvalue(), None) for f in files or []]
with camera_tab:
    if st.toggle("Turn the webcam on", key="test_cam_on"):
        photo = st.camera_input("Take a photo", key="test_cam")
        if photo is not None:
            pictures.append(("Webcam photo", photo.getvalue(), None))
with held_back_tab:
    st.markdown("The validation pictures were held back during training: the model never learned from them.")
    if st.button("Try 6 of them", key="test_held_back"):
        files_, names_, truths_ = run.validation_set()
        order = random.sample(range(len(files_)), k=min(6, len(files_)))
        st.session_state["test_held_back_pick"] = (chosen, [(names_[i], str(files_[i]), truths_[i]) for i in order])
    pick = st.session_state.get("test_held_back_pick")
    if pick and pick[0] == chosen:
        for name, path, truth in pick[1]:
            try:
                with open(path, "rb") as handle:
                    pictures.append((name, handle.read(), truth))
            except OSError:
                continue

if not pictures:
    st.info("Upload a few pictures (or take a photo) to see what the model answers.")
    st.stop()

try:
    with st.spinner("Looking at the pictures…"):
        predictions = run.predict([data for _, data, _ in pictures], [name for name, _, _ in pictures])
except Exception:  # a damaged model file: say so plainly
    st.error("This model could not be opened. Choose another one, or train again.")
    st.stop()

for (name, data, truth), prediction in zip(pictures, predictions):
    show_answer(run, name, data, prediction, truth, explain, not_sure)
