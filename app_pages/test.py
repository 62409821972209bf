"""Test: show a trained model new pictures (upload, the live camera, or its own held-back ones)
and see its answers, how sure it is, and (if asked) where it looked."""

from __future__ import annotations

import random

import streamlit as st

from studio import camera, navigation, state, widgets, words
from tlcore.data import UnreadablePicture, load_picture, open_rgb, to_array
from tlcore.data.sources import PICTURE_EXTENSIONS

PICTURE_TYPES = sorted(ext.lstrip(".") for ext in PICTURE_EXTENSIONS)
SHOWN_SIZE = 320
HELD_BACK = "test_held_back_pick"  # (run folder, [(name, path, true class)])
HELD_BACK_COUNT = 6
UPLOAD_TAB = ":material/upload: Upload pictures"
LIVE_TAB = ":material/videocam: Live camera"
HELD_BACK_TAB = ":material/visibility_off: Pictures it never learned from"


def render() -> None:
    st.title("Test your model")
    runs = state.all_runs()
    if not runs:
        st.info("There is no trained model yet. Train one first: it takes a minute with the demo pictures.")
        navigation.link("train", "Go to Train", icon=":material/model_training:")
        return
    run, show_where, not_sure = choices_section(runs)
    pictures = pictures_section(run, show_where, not_sure)
    if not pictures:
        if st.session_state.get("test_tabs", UPLOAD_TAB) == UPLOAD_TAB:  # the other tabs say what to do
            st.info("Upload a few pictures, or show the live camera something, to see what the model answers.")
        return
    answers_section(run, pictures, show_where, not_sure)


def choices_section(runs: list):
    """(run, show where it looked?, "not sure" line) in two short rows: the live camera's answer
    and bars below them stay on the first screen of a projector (1280×720)."""
    run_column, threshold_column = st.columns([3, 2], gap="large", vertical_alignment="bottom")
    with run_column:
        run = widgets.run_picker(runs, "test_run", "Model to test")  # its label names the network and weights
    with threshold_column:
        not_sure = widgets.not_sure_slider("test_not_sure")
    classes_column, toggle_column = st.columns([3, 2], gap="large", vertical_alignment="center")
    with classes_column:
        names = ", ".join(words.md(name) for name in run.class_names)
        st.caption(f"It knows {words.plural(len(run.class_names), 'class', 'classes')}: {names}",
                   help=words.run_facts(run))
    with toggle_column:
        show_where = widgets.kept_toggle(
            "Show where the model looked", key="test_gradcam",
            help="Colours the parts of the picture that counted most for the answer (Grad-CAM).")
    return run, show_where, not_sure


# -- the pictures to test ----------------------------------------------------------------------------
def pictures_section(run, show_where: bool, not_sure: float) -> list[tuple[str, bytes, str | None]]:
    """(name, bytes, right answer or None) from the upload and held-back tabs; the live camera
    answers in its own tab (it runs only while that tab is open)."""
    upload_tab, live_tab, held_back_tab = st.tabs([UPLOAD_TAB, LIVE_TAB, HELD_BACK_TAB], key="test_tabs",
                                                  on_change="rerun")
    with upload_tab:
        files = st.file_uploader("Pictures to test", type=PICTURE_TYPES, accept_multiple_files=True,
                                 key="test_files")
        uploaded = [(f.name, f.getvalue(), None) for f in files or []]
    with live_tab:
        if live_tab.open is False:
            st.caption("The camera turns on only while this tab is open.")
        else:
            live_section(run, show_where, not_sure)
    with held_back_tab:
        held_back = held_back_section(run)
    # The answers under the tabs are those of the open tab: "Try 6 of them" must not show the
    # uploaded pictures' answers first, nor the upload tab the held-back ones.
    return held_back if held_back_tab.open else uploaded if upload_tab.open is not False else []


def live_section(run, show_where: bool, not_sure: float) -> None:
    """Live answers from the camera; Freeze keeps a frame, which can join a class of the picture set."""
    from app_pages.data import add_camera_pictures

    def add_frame(class_name: str, frames: list) -> camera.Saved:
        saved = add_camera_pictures(class_name, frames)
        if not saved.joined:
            return saved
        return camera.Saved(saved.joined,
                            f"{saved.note} Train again on “{state.dataset_name()}” to teach the model.")

    current = state.dataset()
    known = [name for name in run.class_names if current is not None and name in current.class_names]
    # Only into classes the picture set has: a frame must not start a class of one picture.
    camera.live_section(run, not_sure, key="test_live", on_add=add_frame if known else None, class_names=known,
                        show_where=show_where)


def held_back_section(run) -> list[tuple[str, bytes, str]]:
    st.markdown("The validation pictures were held back during training: the model never learned from them.")
    if st.button(f"Try {HELD_BACK_COUNT} of them", key="test_held_back"):
        files, names, truths = run.validation_set()
        order = random.sample(range(len(files)), k=min(HELD_BACK_COUNT, len(files)))
        st.session_state[HELD_BACK] = (str(run.path), [(names[i], str(files[i]), truths[i]) for i in order])
    pick = st.session_state.get(HELD_BACK)
    if not pick or pick[0] != str(run.path):
        return []
    pictures = []
    for name, path, truth in pick[1]:
        try:
            with open(path, "rb") as handle:
                pictures.append((name, handle.read(), truth))
        except OSError:
            continue
    return pictures


# -- the answers ---------------------------------------------------------------------------------------
def answers_section(run, pictures: list, show_where: bool, not_sure: float) -> None:
    try:
        with st.spinner("Looking at the pictures…"):
            predictions = run.predict([data for _, data, _ in pictures], [name for name, _, _ in pictures])
    except Exception:  # a damaged model file: say so plainly
        st.error("This model could not be opened. Choose another one, or train again.")
        return
    for (name, data, truth), prediction in zip(pictures, predictions):
        with st.container(border=True):
            show_answer(run, name, data, prediction, truth, show_where and prediction.error is None, not_sure)


def show_answer(run, name: str, data: bytes, prediction, truth: str | None, explain: bool, not_sure: float) -> None:
    """The picture as the model sees it (and where it looked), then the answer and the top 3."""
    if explain:
        picture_column, heat_column, answer_column = st.columns([2, 2, 3], gap="medium")
    else:
        (picture_column, answer_column), heat_column = st.columns([2, 3], gap="large"), None
    square = model_view(data)
    with picture_column:
        if square is None:
            st.markdown(f"**{words.md(name)}**")
        else:
            st.image(square, caption=f"{name} · the centre square, as the model sees it", width="stretch")
    with answer_column:
        if prediction.error:
            st.error(f"This file cannot be used: {prediction.error}.")
            return
        answer_card(prediction, truth, not_sure)
    if heat_column is not None and square is not None:
        with heat_column:
            where_it_looked(run, data, square)


def model_view(data: bytes):
    """The centre square of the picture (the part the model looks at), or None if unreadable."""
    try:
        return to_array(open_rgb(data), SHOWN_SIZE)
    except (UnreadablePicture, OSError):
        return None


def answer_card(prediction, truth: str | None, not_sure: float) -> None:
    """The answer in large type ("Not sure" below the line, its best guess still named), the top 3."""
    ranked = prediction.ranked(3)
    top = ranked[0][1] if ranked else 0.0
    if prediction.familiar is False:  # a classifier always picks one of its classes: say when none fits
        note = (f"It looks unlike every picture it learned from, so its {top:.0%} for {prediction.top} means "
                "little. An \"other\" class teaches it what else it may see.")
        if truth is not None:
            note += f" · the right answer is {truth}"
        widgets.result_card("The model says", words.UNFAMILIAR_WORDS, note, tone="warn")
    elif top < not_sure:
        note = (f"Its best guess, {prediction.top}, is only {camera.below_line(top, not_sure)} sure "
                f"(below your {not_sure:.0%} line)")
        if truth is not None:
            note += f" · the right answer is {truth}"
        widgets.result_card("The model says", words.NOT_SURE_WORDS, note, tone="warn")
    elif truth is None:
        widgets.result_card("The model says", prediction.top, f"{top:.0%} sure", tone="good")
    else:
        right = truth == prediction.top
        widgets.result_card("The model says", prediction.top,
                            f"{top:.0%} sure · the right answer is {truth} {'✔' if right else '✘'}",
                            tone="good" if right else "warn")
    widgets.confidence_bars(ranked)


def where_it_looked(run, data: bytes, square) -> None:
    from tlcore.explain import gradcam, overlay

    try:
        with st.spinner("Finding where the model looked…"):
            heatmap = gradcam(run, load_picture(data, run.input_size))
        st.image(overlay(square, heatmap), width="stretch", caption="Red: what counted most for this answer")
    except Exception:  # an explanation is a bonus: never break the answer for it
        st.caption("Where the model looked could not be shown for this picture.")
