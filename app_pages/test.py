"""Test: show a trained model new pictures (upload, the live camera, or its own held-back ones)
and see its answers, how sure it is, and (if asked) where it looked."""

from __future__ import annotations

import random

import streamlit as st

from studio import behaviours, camera, navigation, phone_page, state, widgets, words
from studio.i18n import _, _n, tr
from tlcore.i18n import N_, Percent
from tlcore.data import UnreadablePicture, load_picture, open_rgb, to_array
from tlcore.data.sources import PICTURE_EXTENSIONS

PICTURE_TYPES = sorted(ext.lstrip(".") for ext in PICTURE_EXTENSIONS)
SHOWN_SIZE = 320
HELD_BACK = "test_held_back_pick"  # (run folder, [(name, path, true class)])
HELD_BACK_COUNT = 6
# The tabs' labels are also their value in session state ("test_tabs"): compare with _(LABEL).
UPLOAD_TAB = N_(":material/upload: Upload pictures")
LIVE_TAB = N_(":material/photo_camera: Camera")
HELD_BACK_TAB = N_(":material/visibility_off: Pictures it never learned from")
IMPORTED_WORDS = N_("This model came without the pictures it was checked on (it was imported), so there are "
                  "none to try here. Upload pictures it has never seen, or use the live camera.")


def render() -> None:
    st.title(_("Test your model"))
    runs = state.all_runs()
    if not runs:
        st.info(_("There is no trained model yet. Train one first: it takes a minute with the demo pictures."))
        navigation.link("train", _("Go to Train"), icon=":material/model_training:")
        return
    run, show_where, not_sure = choices_section(runs)
    pictures = pictures_section(run, show_where, not_sure)
    if pictures:
        answers_section(run, pictures, show_where, not_sure)
    elif st.session_state.get("test_tabs", _(UPLOAD_TAB)) == _(UPLOAD_TAB):  # the other tabs say what to do
        st.info(_("Upload a few pictures, or show the live camera something, to see what the model answers."))
    behaviours_and_phone_section(run, not_sure)


def behaviours_and_phone_section(run, not_sure: float) -> None:
    """What it does when it is sure (studio/behaviours.py) and, in a classroom, the QR code to it on a phone."""
    behaviours.behaviours_section(run, not_sure, key="test_behaviours",
                                  on_saved=lambda saved: phone_page.remake_published(saved, not_sure))
    phone_page.qr_section(run, not_sure, key="test_phone")


def choices_section(runs: list):
    """(run, show where it looked?, "not sure" line) in two short rows: the live camera's answer
    and bars below them stay on the first screen of a projector (1280×720)."""
    run_column, threshold_column = st.columns([3, 2], gap="large", vertical_alignment="bottom")
    with run_column:
        run = widgets.run_picker(runs, "test_run", _("Model to test"))  # its label names the network and weights
    with threshold_column:
        not_sure = widgets.not_sure_slider("test_not_sure")
    classes_column, toggle_column = st.columns([3, 2], gap="large", vertical_alignment="center")
    with classes_column:
        names = ", ".join(words.md(name) for name in run.class_names)
        st.caption(_n("It knows {count} class: {names}", "It knows {count} classes: {names}", len(run.class_names),
                      names=names),
                   help=tr(words.run_facts(run)))
    with toggle_column:
        show_where = widgets.kept_toggle(
            _("Show where the model looked"), key="test_gradcam",
            help=_("Colours the parts of the picture that counted most for the answer (Grad-CAM)."))
    return run, show_where, not_sure


# -- the pictures to test ----------------------------------------------------------------------------
def pictures_section(run, show_where: bool, not_sure: float) -> list[tuple[str, bytes, str | None]]:
    """(name, bytes, right answer or None) from the upload and held-back tabs, or the photo taken in
    the camera tab where live video cannot work; the live camera answers in its own tab (it runs
    only while that tab is open)."""
    upload_tab, live_tab, held_back_tab = st.tabs([_(UPLOAD_TAB), _(LIVE_TAB), _(HELD_BACK_TAB)], key="test_tabs",
                                                  on_change="rerun")
    with upload_tab:
        files = st.file_uploader(_("Pictures to test"), type=PICTURE_TYPES, accept_multiple_files=True,
                                 key="test_files")
        uploaded = [(f.name, f.getvalue(), None) for f in files or []]
    photo = []
    with live_tab:
        if live_tab.open is False:
            st.caption(_("The camera turns on only while this tab is open."))
        else:
            photo = live_section(run, show_where, not_sure)
    with held_back_tab:
        held_back = held_back_section(run)
    # The answers under the tabs are those of the open tab: "Try 6 of them" must not show the
    # uploaded pictures' answers first, nor the upload tab the held-back ones.
    if live_tab.open:
        return photo
    return held_back if held_back_tab.open else uploaded if upload_tab.open is not False else []


def live_section(run, show_where: bool, not_sure: float) -> list[tuple[str, bytes, None]]:
    """Live answers from the camera; Freeze keeps a frame, which can join a class of the picture set.
    Where live video cannot work (or photos were chosen): the last photo taken, to answer."""
    from app_pages.data import add_camera_pictures

    path = camera.camera_path("test_live")
    camera.path_line(path, "test_live")
    if not path.live:
        photo = camera.photo_test_section("test_live")
        return [(photo.name, photo.data, None)] if photo is not None and photo.data is not None else []

    def add_frame(class_name: str, frames: list) -> camera.Saved:
        saved = add_camera_pictures(class_name, frames)
        if not saved.joined:
            return saved
        return camera.Saved(saved.joined,
                            _("{note} Train again on “{name}” to teach the model.", note=saved.note,
                              name=state.dataset_name()))

    current = state.dataset()
    known = [name for name in run.class_names if current is not None and name in current.class_names]
    # Only into classes the picture set has: a frame must not start a class of one picture.
    camera.live_section(run, not_sure, key="test_live", path=path, on_add=add_frame if known else None,
                        class_names=known, show_where=show_where)
    behaviours.live_player(run, not_sure, key="test_live")  # the run's behaviours, played with the live answers
    return []


def held_back_section(run) -> list[tuple[str, bytes, str]]:
    if not run.record.validation:  # imported (Teachable Machine, a model file): no pictures came with it
        st.info(_(IMPORTED_WORDS))
        return []
    st.markdown(_("The validation pictures were held back during training: the model never learned from them."))
    if st.button(_n("Try {count} of them", "Try {count} of them", HELD_BACK_COUNT), key="test_held_back"):
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
        with st.spinner(_("Looking at the pictures…")):
            predictions = run.predict([item[1] for item in pictures], [item[0] for item in pictures])
    except Exception:  # a damaged model file: say so plainly
        st.error(_("This model could not be opened. Choose another one, or train again."))
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
            caption = _("{name} · the centre square, as the model sees it", name=name)
            st.image(square, caption=caption, width="stretch", alt=caption)
    with answer_column:
        if prediction.error:
            st.error(tr(prediction.error))  # whole sentences: "x.jpg cannot be used. It is empty."
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
        note = _("It looks unlike every picture it learned from, so its {percent} for {name} means little. "
                 "An \"other\" class teaches it what else it may see.", percent=Percent(top), name=prediction.top)
        if truth is not None:
            note = _("{note} · the right answer is {truth}", note=note, truth=truth)
        widgets.result_card(_("The model says"), _(words.UNFAMILIAR_WORDS), note, tone="warn")
    elif top < not_sure:
        note = _("Its best guess, {name}, is only {percent} sure (below your {line} line)", name=prediction.top,
                 percent=below_line(top, not_sure), line=Percent(not_sure))
        if truth is not None:
            note = _("{note} · the right answer is {truth}", note=note, truth=truth)
        widgets.result_card(_("The model says"), _(words.NOT_SURE_WORDS), note, tone="warn")
    elif truth is None:
        widgets.result_card(_("The model says"), prediction.top, _("{percent} sure", percent=Percent(top)),
                            tone="good")
    else:
        right = truth == prediction.top
        # i18n: ✔ / ✘ say whether the model's answer is the right one
        note = (_("{percent} sure · the right answer is {truth} ✔", percent=Percent(top), truth=truth) if right
                else _("{percent} sure · the right answer is {truth} ✘", percent=Percent(top), truth=truth))
        widgets.result_card(_("The model says"), prediction.top, note, tone="good" if right else "warn")
    widgets.confidence_bars(ranked)


def below_line(probability: float, threshold: float) -> Percent:
    """``probability`` as a percentage never shown as the line it is below ("49.9%", not "50%")."""
    if round(probability, 2) != round(threshold, 2):
        return Percent(probability)
    return Percent(int(probability * 1000) / 1000, 1)


def where_it_looked(run, data: bytes, square) -> None:
    from tlcore.explain import gradcam, overlay

    try:
        with st.spinner(_("Finding where the model looked…")):
            heatmap = gradcam(run, load_picture(data, run.input_size))
        st.image(overlay(square, heatmap), width="stretch", caption=_("Red: what counted most for this answer"),
                 alt=_("The picture with colour over the parts that counted most for this answer"))
    except Exception:  # an explanation is a bonus: never break the answer for it
        st.caption(_("Where the model looked could not be shown for this picture."))
