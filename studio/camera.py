"""Camera sections any page can call: record bursts into a class, and live answers.

    record_section(class_names, on_save, key)         # Data page: hold the camera, press Record
    frozen = live_section(run, threshold, key, ...)   # Test page: answers follow the camera

Each is a plain function drawing into the current container, with explicit widget keys
derived from ``key``. Long work runs on threads from ``tlcore.live`` (the predictor loop)
or streamlit-webrtc (the video); the page only reads their latest state in a fragment that
reruns a few times a second while the camera is on.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import streamlit as st

from tlcore.live import DEFAULT_RECORD_RATE, RECORD_RATES, FrameRecorder, LiveLoop, LiveResult

from . import ui
from .camera_stream import CameraFeed, camera_controls, camera_status, camera_stream, feed_for, video_frame_to_rgb

NEW_CLASS = "\0new"  # the class picker's "New class…" entry (no class can be named so)
THUMBNAILS = 8
THUMBNAIL_SIDE = 96
COUNTER_EVERY = 0.5  # seconds between counter updates while the camera is on
ANSWER_EVERY = 0.25  # seconds between live answers shown
HEATMAP_EVERY = 1.0  # seconds between Grad-CAM maps (each costs several answers)

OnSave = Callable[[str, list], None]


def _camera(key: str):
    """The camera row and preview; returns (feed, playing?)."""
    status = camera_status(key)
    feed = feed_for(key)
    device, mirror, on = camera_controls(status, key)
    playing = False
    if status.secure:
        context = camera_stream(key, feed, device, mirror, on)
        playing = bool(context.state.playing)
        if on and not playing and not status.problem:
            st.caption("Starting the camera… (allow it if the browser asks)")
    return feed, playing


# -- Data page: record bursts ----------------------------------------------------------------------
def record_section(class_names: Sequence[str], on_save: OnSave, key: str,
                   default_rate: float = DEFAULT_RECORD_RATE) -> None:
    """Camera preview; beside it the class, the Record switch, the count and the last pictures.

    ``on_save(class_name, pictures)`` gets lists of square RGB uint8 arrays (not mirrored)
    a few times a second while recording; a ValueError or OSError it raises is shown, and
    those pictures are offered again on the next call (nothing is lost)."""
    preview_column, record_column = st.columns([3, 2], gap="large")
    with preview_column:
        feed, playing = _camera(key)
    recorder = _recorder(feed, key, default_rate)
    record_key = f"{key}-record"
    if not playing:
        st.session_state[record_key] = False  # no camera, no recording (set before the switch is drawn)
    wanted = bool(st.session_state.get(record_key, False))  # the switch's value in this run
    if not wanted and recorder.recording:
        recorder.stop()
    with record_column:
        label = _class_picker(class_names, key, disabled=wanted)
        rate = st.select_slider("Pictures a second", RECORD_RATES, value=default_rate, key=f"{key}-rate",
                                format_func=lambda r: f"{r:g}", disabled=wanted,
                                help="How many pictures a second are kept while you record.")
        st.toggle(":red[●] Record", key=record_key, disabled=not (playing and label),
                  help="Switch on, move the object around slowly, switch off.")
        if wanted and label and not recorder.recording:
            recorder.rate = float(rate)
            recorder.start(label)
        _recording_panel(recorder, on_save, key, ticking=playing)


def _recorder(feed: CameraFeed, key: str, rate: float) -> FrameRecorder:
    if not isinstance(feed.recorder, FrameRecorder):
        feed.recorder = FrameRecorder(rate=rate)
    return feed.recorder


def _class_picker(class_names: Sequence[str], key: str, disabled: bool) -> str | None:
    """The class to record into: one of ``class_names`` or a new one typed here (None until named)."""
    options = list(dict.fromkeys(class_names)) + [NEW_CLASS]
    choice = st.selectbox("Class", options, key=f"{key}-class", disabled=disabled,
                          format_func=lambda c: "New class…" if c == NEW_CLASS else c)
    if choice != NEW_CLASS:
        return choice
    name = st.text_input("Name of the new class", key=f"{key}-new-class", disabled=disabled,
                         placeholder="e.g. bees", max_chars=60).strip()
    if not name:
        st.caption("Type a name for the new class, then record.")
        return None
    return name


def _recording_panel(recorder: FrameRecorder, on_save: OnSave, key: str, ticking: bool) -> None:
    @st.fragment(run_every=COUNTER_EVERY if ticking else None)
    def panel():
        error = _save_kept(recorder, on_save, key)
        counts = st.session_state.setdefault(f"{key}-counts", {})
        label = recorder.label
        with st.container(key=f"{key}-counter"):
            if label is not None:
                note = (f"recording · {recorder.rate:g} a second" if recorder.recording
                        else f"{recorder.kept} in the last burst")
                ui.result_card(f"Recorded into {label}", ui.plural(counts.get(label, 0), "picture"), note,
                               tone="warn" if recorder.recording else "good")
            else:
                st.caption("Pictures you record appear here.")
            thumbnails = st.session_state.get(f"{key}-thumbnails", [])
            if thumbnails:
                st.image(thumbnails, width=64)
        if error:
            st.error(error)

    panel()


def _save_kept(recorder: FrameRecorder, on_save: OnSave, key: str) -> str | None:
    """Hand what the recorder kept to ``on_save``; keep it for the next try if that fails."""
    pending_key = f"{key}-pending"
    pending = st.session_state.get(pending_key) or (recorder.label, [])
    label, pictures = pending[0], pending[1] + recorder.drain()
    if not pictures or label is None:
        return None
    try:
        on_save(label, pictures)
    except (ValueError, OSError) as error:
        st.session_state[pending_key] = (label, pictures)
        return f"These {len(pictures)} pictures could not be saved yet: {error}"
    st.session_state.pop(pending_key, None)
    counts = st.session_state.setdefault(f"{key}-counts", {})
    counts[label] = counts.get(label, 0) + len(pictures)
    thumbnails = st.session_state.get(f"{key}-thumbnails", []) + [_thumbnail(p) for p in pictures]
    st.session_state[f"{key}-thumbnails"] = thumbnails[-THUMBNAILS:]
    return None


def _thumbnail(picture: np.ndarray) -> np.ndarray:
    from tlcore.live import square_frame

    return square_frame(picture, THUMBNAIL_SIDE)


# -- Test page: live answers -------------------------------------------------------------------------
def live_section(run, threshold: float, key: str, on_freeze: Callable[[LiveResult], None] | None = None,
                 on_add: OnSave | None = None, class_names: Sequence[str] | None = None,
                 engine: str | None = None) -> LiveResult | None:
    """Camera preview; beside it the answer in large type and a bar per class, several times a second.

    Below ``threshold`` the answer is "Not sure". Freeze keeps the current frame and its answer
    (returned, and given to ``on_freeze``); with ``on_add`` the frozen frame can be added to a
    class (``class_names``, default the run's): "the model got this wrong, add it to bees"."""
    preview_column, answer_column = st.columns([3, 2], gap="large")
    with preview_column:
        feed, playing = _camera(key)
    loop = _live_loop(feed, run, key, engine, active=playing)
    frozen_key = f"{key}-frozen"
    with answer_column:
        freeze_column, where_column = st.columns([1, 2], vertical_alignment="center")
        with where_column:
            show_where = st.toggle("Show where it looked", key=f"{key}-gradcam",
                                   help="Colours what counted most for the answer (Grad-CAM), about once a second.")
        if loop is not None:
            loop.heatmap_every = HEATMAP_EVERY if show_where else None
        with freeze_column:
            freeze = st.button("Freeze", key=f"{key}-freeze", icon=":material/pause_circle:",
                               disabled=loop is None,  # not "no answer yet": only a full rerun would enable it
                               help="Keep this frame and its answer, to talk about it or add it to a class.")
        if freeze and loop.latest is not None:
            st.session_state[frozen_key] = (_run_id(run), loop.latest_explained if _same_frame(loop) else loop.latest)
            if on_freeze is not None:
                on_freeze(st.session_state[frozen_key][1])
        _answer_panel(loop, threshold, show_where, key, ticking=playing)
    kept = st.session_state.get(frozen_key)
    if not kept or kept[0] != _run_id(run):
        return None
    _frozen_panel(kept[1], threshold, on_add, list(class_names or run.class_names), key)
    return kept[1]


def _run_id(run) -> str:
    return str(run.path) if run.path else f"run-{id(run)}"


def _same_frame(loop: LiveLoop) -> bool:
    explained, latest = loop.latest_explained, loop.latest
    return explained is not None and latest is not None and explained.frame_id == latest.frame_id


def _live_loop(feed: CameraFeed, run, key: str, engine: str | None, active: bool) -> LiveLoop | None:
    """This section's predictor loop for ``run``: started with the camera, replaced for another run."""
    name = f"{key}-loop"
    kept = st.session_state.get(name)
    if kept is not None and (kept[0] != _run_id(run) or not kept[1].alive and kept[1].error is None):
        kept[1].stop(timeout=0)
        feed.loop, kept = None, None
        st.session_state.pop(name, None)
    if kept is None and active:
        from tlcore.live import LivePredictor

        loop = LiveLoop(lambda: LivePredictor(run, engine), to_rgb=video_frame_to_rgb).start()
        kept = st.session_state[name] = (_run_id(run), loop)
        feed.loop = loop
    return kept[1] if kept else None


def _answer_panel(loop: LiveLoop | None, threshold: float, show_where: bool, key: str, ticking: bool) -> None:
    @st.fragment(run_every=ANSWER_EVERY if ticking else None)
    def panel():
        with st.container(key=f"{key}-answer"):
            if loop is None:
                st.info("Turn the camera on and show it something: the answer appears here.")
                return
            if loop.error and loop.latest is None:
                st.error(loop.error)
                return
            result = loop.latest
            if result is None:
                st.info("Getting the model ready for live answers (about 10 seconds the first time)…"
                        if not loop.ready else "Waiting for the first picture…")
                return
            show_result(result, threshold)
            st.caption(_speed_words(loop, key))
            explained = loop.latest_explained
            if show_where and explained is not None:
                st.image(_overlay(explained), width=240, caption="Red: what counted most (about once a second)")

    panel()


def show_result(result: LiveResult, threshold: float) -> None:
    """The answer in large type ("Not sure" below the threshold) and a bar for every class."""
    top, probability = result.top, result.top_probability
    if probability < threshold:
        ui.result_card("The model says", ui.NOT_SURE_WORDS,
                       f"Its best guess, {top}, is only {probability:.0%} sure (below your {threshold:.0%} line)",
                       tone="warn")
    else:
        ui.result_card("The model says", top, f"{probability:.0%} sure", tone="good")
    ui.confidence_bars(result.ranked())


def _speed_words(loop: LiveLoop, key: str) -> str:
    """"6 answers a second · 120 ms behind the camera", over the last couple of seconds."""
    import time

    now, name = time.monotonic(), f"{key}-speed"
    then, answered_then = st.session_state.get(name, (now, loop.predicted))
    if now - then > 2.0:
        st.session_state[name] = (now, loop.predicted)
    rate = (loop.predicted - answered_then) / (now - then) if now - then > 0.5 else None
    latency = f"{loop.latest.latency * 1000:.0f} ms behind the camera"
    return f"{rate:.0f} answers a second · {latency}" if rate is not None else latency


def _overlay(result: LiveResult) -> np.ndarray:
    from tlcore.explain import overlay
    from tlcore.live import square_frame

    return overlay(square_frame(result.frame, 320), result.heatmap)


def _frozen_panel(result: LiveResult, threshold: float, on_add: OnSave | None, class_names: list[str],
                  key: str) -> None:
    from tlcore.live import square_frame

    with st.container(border=True, key=f"{key}-frozen-panel"):
        picture_column, answer_column = st.columns([2, 3], gap="large")
        picture = square_frame(result.frame)
        with picture_column:
            shown = _overlay(result) if result.heatmap is not None else square_frame(result.frame, 320)
            st.image(shown, width="stretch", caption="Frozen frame" + (" · red: what counted most"
                                                                     if result.heatmap is not None else ""))
        with answer_column:
            show_result(result, threshold)
            if on_add is not None and class_names:
                _add_to_class(picture, result, on_add, class_names, key)
            if st.button("Unfreeze", key=f"{key}-unfreeze", icon=":material/play_circle:"):
                st.session_state.pop(f"{key}-frozen", None)
                st.rerun()


def _add_to_class(picture: np.ndarray, result: LiveResult, on_add: OnSave, class_names: list[str], key: str) -> None:
    target_column, button_column = st.columns([3, 2], vertical_alignment="bottom")
    with target_column:
        target = st.selectbox("The right class", class_names, key=f"{key}-add-class",
                              index=class_names.index(result.top) if result.top in class_names else 0)
    with button_column:
        if st.button(f"Add it to {target}", key=f"{key}-add", icon=":material/add_photo_alternate:"):
            try:
                on_add(target, [picture])
            except (ValueError, OSError) as error:
                st.error(f"The picture could not be added: {error}")
            else:
                st.success(f"Added to {target}. Train again to teach the model.")
