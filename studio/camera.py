"""Camera sections any page can call: record bursts into a class, and live answers.

    record_section(class_names, on_save, key)         # Data page: hold the camera, switch Record on and off
    finish_recording(key, on_save)                    # ...and where it is not drawn: keep what was recorded
    frozen = live_section(run, threshold, key, ...)   # Test page: answers follow the camera

Each is a plain function drawing into the current container, with explicit widget keys
derived from ``key``. Long work runs on threads from ``tlcore.live`` (the predictor loop)
or streamlit-webrtc (the video); the page only reads their latest state in a fragment that
reruns a few times a second while the camera is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import streamlit as st

from tlcore.live import DEFAULT_RECORD_RATE, RECORD_RATES, FrameRecorder, LiveLoop, LiveResult

from . import widgets, words
from .camera_stream import CameraFeed, camera_controls, camera_status, camera_stream, feed_for, video_frame_to_rgb

NEW_CLASS = "\0new"  # the class picker's "New class…" entry (no class can be named so)
THUMBNAILS = 6
THUMBNAIL_SIDE = 96
THUMBNAIL_WIDTH = 52
COUNTER_EVERY = 0.5  # seconds between counter updates while the camera is on
ANSWER_EVERY = 0.25  # seconds between live answers shown
HEATMAP_EVERY = 1.0  # seconds between Grad-CAM maps (each costs several answers)
WAITING_FOR_BROWSER = "Asking the browser about cameras… (the preview appears here)"


@dataclass(frozen=True)
class Saved:
    """What a page's ``on_save`` did with pictures: how many joined the class, and one sentence."""

    joined: int
    note: str = ""


OnSave = Callable[[str, list], "Saved | None"]  # (class name, pictures); None: all joined, nothing to say


def _camera(key: str):
    """The camera row and preview; returns (feed, playing?)."""
    status = camera_status(key)
    feed = feed_for(key)
    device, mirror, on = camera_controls(status, key)
    playing = False
    if not status.known:  # the browser has not said yet (a second at most; never, in a test without one)
        st.caption(WAITING_FOR_BROWSER)
    elif status.secure:
        context = camera_stream(key, feed, device, mirror, on)
        playing = bool(context.state.playing)
        if on and not playing and not status.problem:
            st.caption("Starting the camera… (allow it if the browser asks)")
    return feed, playing


# -- Data page: record bursts ----------------------------------------------------------------------
@dataclass
class Burst:
    """The pictures of one Record switch-on, for one class (and small copies of the last few)."""

    label: str
    pictures: list = field(default_factory=list)
    thumbnails: list = field(default_factory=list)
    saved: Saved | None = None  # what the page did with it

    def take(self, pictures: list) -> None:
        self.pictures += pictures
        self.thumbnails = (self.thumbnails + [_thumbnail(p) for p in pictures[-THUMBNAILS:]])[-THUMBNAILS:]


def record_section(class_names: Sequence[str], on_save: OnSave, key: str,
                   default_rate: float = DEFAULT_RECORD_RATE, where: Callable[[], None] | None = None) -> None:
    """Camera preview; beside it the class, the Record switch, the count and the last pictures.

    ``on_save(class_name, pictures)`` gets each burst once, when Record is switched off (or the
    camera stops), before the page's next run: square RGB uint8 arrays, never mirrored. It
    returns a ``Saved`` (how many joined, and a sentence shown with the count) or None. A
    ValueError or OSError it raises is shown, and the burst is kept to be saved again (nothing
    is lost). ``where()`` draws the page's own lines under the count (where the pictures go)."""
    preview_column, record_column = st.columns([5, 4], gap="medium")
    with preview_column:
        feed, playing = _camera(key)
    recorder = _recorder(feed, key, default_rate)
    record_key = f"{key}-record"
    if not playing and (st.session_state.get(record_key) or recorder.recording):
        st.session_state[record_key] = False  # no camera, no recording (set before the switch is drawn)
        recorder.stop()
        _finish_burst(key, on_save)
    with record_column:
        class_column, rate_column = st.columns([3, 2])
        with class_column:
            label = _class_picker(class_names, key, disabled=recorder.recording)
        with rate_column:
            st.selectbox("Per second", RECORD_RATES, index=_rate_index(default_rate), key=f"{key}-rate",
                         format_func=lambda r: f"{r:g}", disabled=recorder.recording,
                         help="How many pictures a second are kept while you record.")
        st.toggle(":red[●] Record", key=record_key, disabled=not (playing and (label or recorder.recording)),
                  on_change=_record_switched, args=(key, on_save),
                  help="Switch on, move the object around slowly, switch off: the pictures join the class.")
        _recording_panel(recorder, key, ticking=playing)
        _unsaved_bursts(key, on_save)
        if where is not None:
            where()


def finish_recording(key: str, on_save: OnSave) -> bool:
    """Where the section is not drawn (its tab closed): end a burst still recording and save it.

    True if pictures were saved."""
    recorder = feed_for(key).recorder
    if not isinstance(recorder, FrameRecorder) or not (recorder.recording or st.session_state.get(f"{key}-burst")):
        return False
    recorder.stop()
    return _finish_burst(key, on_save)


def _rate_index(rate: float) -> int:
    return min(range(len(RECORD_RATES)), key=lambda i: abs(RECORD_RATES[i] - rate))


def _recorder(feed: CameraFeed, key: str, rate: float) -> FrameRecorder:
    if not isinstance(feed.recorder, FrameRecorder):
        feed.recorder = FrameRecorder(rate=rate)
    return feed.recorder


def _class_picker(class_names: Sequence[str], key: str, disabled: bool) -> str | None:
    """The class to record into: one of ``class_names`` or a new one typed here (None until named)."""
    options = list(dict.fromkeys(class_names)) + [NEW_CLASS]
    if st.session_state.get(f"{key}-class", NEW_CLASS) not in options:  # its class went (another set)
        st.session_state[f"{key}-class"] = NEW_CLASS
    st.selectbox("Class", options, key=f"{key}-class", disabled=disabled,
                 format_func=lambda c: "New class…" if c == NEW_CLASS else c)
    if st.session_state.get(f"{key}-class") == NEW_CLASS:
        st.text_input("Name of the new class", key=f"{key}-new-class", disabled=disabled,
                      placeholder="e.g. bees", max_chars=60)
    label = _chosen_label(key)
    if label is None:
        st.caption("Type a name for the new class, then record.")
    return label


def _chosen_label(key: str) -> str | None:
    """The class the picker shows now (also read by the Record switch's callback)."""
    choice = st.session_state.get(f"{key}-class")
    if choice is None or choice == NEW_CLASS:
        return str(st.session_state.get(f"{key}-new-class") or "").strip() or None
    return str(choice)


def _record_switched(key: str, on_save: OnSave) -> None:
    """The Record switch's callback (before the rerun): start a burst, or end it and save it."""
    recorder = feed_for(key).recorder
    if not isinstance(recorder, FrameRecorder):
        return
    if st.session_state.get(f"{key}-record"):
        label = _chosen_label(key)
        if label is None:
            st.session_state[f"{key}-record"] = False
            return
        recorder.rate = float(st.session_state.get(f"{key}-rate") or recorder.rate)
        recorder.start(label)
        st.session_state[f"{key}-burst"] = Burst(label)
    else:
        recorder.stop()
        _finish_burst(key, on_save)


def _finish_burst(key: str, on_save: OnSave) -> bool:
    """Hand the burst (and any that could not be saved before) to ``on_save``; True if one was saved."""
    recorder = feed_for(key).recorder
    burst = st.session_state.pop(f"{key}-burst", None)
    if burst is not None and isinstance(recorder, FrameRecorder):
        burst.take(recorder.drain())
    waiting = list(st.session_state.get(f"{key}-unsaved", []))
    if burst is not None and burst.pictures:
        waiting.append(burst)
    saved = False
    while waiting:
        burst = waiting[0]
        try:
            burst.saved = on_save(burst.label, list(burst.pictures)) or Saved(len(burst.pictures))
        except (ValueError, OSError) as error:
            st.session_state[f"{key}-error"] = str(error)
            break
        st.session_state[f"{key}-last"] = waiting.pop(0)
        st.session_state.pop(f"{key}-error", None)
        _show_class(key, burst.label)
        saved = True
    st.session_state[f"{key}-unsaved"] = waiting
    return saved


def _show_class(key: str, label: str) -> None:
    """After a burst into a new class, the picker shows that class (and the next new name starts empty)."""
    if st.session_state.get(f"{key}-class") == NEW_CLASS:
        st.session_state[f"{key}-class"] = label
        st.session_state[f"{key}-new-class"] = ""


def _recording_panel(recorder: FrameRecorder, key: str, ticking: bool) -> None:
    @st.fragment(run_every=COUNTER_EVERY if ticking else None)
    def panel():
        burst = st.session_state.get(f"{key}-burst")
        if burst is not None:
            burst.take(recorder.drain())
        last = st.session_state.get(f"{key}-last")
        with st.container(key=f"{key}-counter"):
            if burst is not None and recorder.recording:
                widgets.result_card(f"Recording into {burst.label}", words.plural(len(burst.pictures), "picture"),
                                    f"{recorder.rate:g} a second · switch Record off to keep them",
                                    tone="warn", small=True)
                shown = burst.thumbnails
            elif last is not None:
                widgets.result_card(f"Recorded into {last.label}", words.plural(last.saved.joined, "picture"),
                                    last.saved.note, tone="good", small=True)
                shown = last.thumbnails
            else:
                st.caption("Choose a class, switch Record on and move the object around slowly: "
                           "the pictures appear here.")
                shown = []
            if shown:
                st.image(shown, width=THUMBNAIL_WIDTH)

    panel()


def _unsaved_bursts(key: str, on_save: OnSave) -> None:
    """Bursts that could not be saved: why, and a button to try again (they are kept)."""
    waiting = st.session_state.get(f"{key}-unsaved") or []
    if not waiting:
        return
    count = sum(len(burst.pictures) for burst in waiting)
    st.error(f"{words.plural(count, 'recorded picture')} could not be saved yet: "
             f"{st.session_state.get(f'{key}-error', 'see above')} They are kept.")
    st.button("Save them again", key=f"{key}-retry", icon=":material/refresh:", on_click=_finish_burst,
              args=(key, on_save))


def _thumbnail(picture: np.ndarray) -> np.ndarray:
    from tlcore.live import square_frame

    return square_frame(picture, THUMBNAIL_SIDE)


# -- Test page: live answers -------------------------------------------------------------------------
def live_section(run, threshold: float, key: str, on_freeze: Callable[[LiveResult], None] | None = None,
                 on_add: OnSave | None = None, class_names: Sequence[str] | None = None,
                 engine: str | None = None, show_where: bool | None = None) -> LiveResult | None:
    """Camera preview; beside it the answer in large type and a bar per class, several times a second.

    Below ``threshold`` the answer is "Not sure". Freeze keeps the current frame and its answer
    (returned, and given to ``on_freeze``); with ``on_add`` the frozen frame can be added to a
    class (``class_names``, default the run's): "the model got this wrong, add it to bees".
    ``show_where``: the page's own "where it looked" (Grad-CAM) choice; None draws a switch here."""
    preview_column, answer_column = st.columns([1, 1], gap="large")
    with preview_column:
        feed, playing = _camera(key)
    loop = _live_loop(feed, run, key, engine, active=playing)
    frozen_key = f"{key}-frozen"
    with answer_column:
        if show_where is None:
            show_where = st.toggle("Show where it looked", key=f"{key}-gradcam",
                                   help="Colours what counted most for the answer (Grad-CAM), about once a second.")
        if loop is not None:
            loop.heatmap_every = HEATMAP_EVERY if show_where else None
        _answer_panel(loop, threshold, key, ticking=playing)
        freeze = st.button("Freeze", key=f"{key}-freeze", icon=":material/pause_circle:",
                           disabled=loop is None,  # not "no answer yet": only a full rerun would enable it
                           help="Keep this frame and its answer, to talk about it or add it to a class.")
        if show_where:
            _where_panel(loop, ticking=playing)
        if freeze and loop.latest is not None:
            st.session_state[frozen_key] = (_run_id(run), loop.latest_explained if _same_frame(loop) else loop.latest)
            st.session_state.pop(f"{key}-added", None)
            if on_freeze is not None:
                on_freeze(st.session_state[frozen_key][1])
    kept = st.session_state.get(frozen_key)
    if not kept or kept[0] != _run_id(run):
        return None
    result = kept[1]
    if show_where and result.heatmap is None:
        result = _explained(run, result, key)
    _frozen_panel(result, threshold, on_add, list(class_names or run.class_names), key)
    return result


def _run_id(run) -> str:
    return str(run.path) if run.path else f"run-{id(run)}"


def _same_frame(loop: LiveLoop) -> bool:
    explained, latest = loop.latest_explained, loop.latest
    return explained is not None and latest is not None and explained.frame_id == latest.frame_id


def _explained(run, result: LiveResult, key: str) -> LiveResult:
    """The frozen answer with its Grad-CAM map (made once, on this thread; kept with the frame)."""
    from dataclasses import replace

    from tlcore.explain import gradcam
    from tlcore.live import frame_to_pixels

    try:
        with st.spinner("Finding where the model looked…"):
            heatmap = gradcam(run, frame_to_pixels(result.frame, run.input_size))
    except Exception:  # an explanation is a bonus: the frozen answer stays without it
        return result
    result = replace(result, heatmap=heatmap)
    st.session_state[f"{key}-frozen"] = (_run_id(run), result)
    return result


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


def _answer_panel(loop: LiveLoop | None, threshold: float, key: str, ticking: bool) -> None:
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

    panel()


def _where_panel(loop: LiveLoop | None, ticking: bool) -> None:
    """The latest Grad-CAM map, at its own slower pace (each costs several answers)."""
    @st.fragment(run_every=HEATMAP_EVERY if ticking else None)
    def panel():
        explained = loop.latest_explained if loop is not None else None
        if explained is not None:
            st.image(_overlay(explained), width=240, caption="Red: what counted most (about once a second)")

    panel()


def show_result(result: LiveResult, threshold: float) -> None:
    """The answer in large type ("Not sure" below the threshold) and a bar for every class."""
    top, probability = result.top, result.top_probability
    if result.familiar is False:
        widgets.result_card("The model says", words.UNFAMILIAR_WORDS,
                            f"It looks unlike every picture it learned from (its best guess, {top}, means little)",
                            tone="warn")
    elif probability < threshold:
        widgets.result_card("The model says", words.NOT_SURE_WORDS,
                            f"Its best guess, {top}, is only {below_line(probability, threshold)} sure "
                            f"(below your {threshold:.0%} line)", tone="warn")
    else:
        widgets.result_card("The model says", top, f"{probability:.0%} sure", tone="good")
    widgets.confidence_bars(result.ranked())


def below_line(probability: float, threshold: float) -> str:
    """``probability`` in percent, never shown as the line it is below ("49.6%", not "50%")."""
    shown = f"{probability:.0%}"
    return f"{int(probability * 1000) / 10:.1f}%" if shown == f"{threshold:.0%}" else shown


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
        with picture_column:
            shown = _overlay(result) if result.heatmap is not None else square_frame(result.frame, 320)
            st.image(shown, width="stretch", caption="Frozen frame" + (" · red: what counted most"
                                                                     if result.heatmap is not None else ""))
        with answer_column:
            show_result(result, threshold)
            if on_add is not None and class_names:
                _add_to_class(square_frame(result.frame), result, on_add, class_names, key)
            if st.button("Unfreeze", key=f"{key}-unfreeze", icon=":material/play_circle:"):
                st.session_state.pop(f"{key}-frozen", None)
                st.rerun()


def _add_to_class(picture: np.ndarray, result: LiveResult, on_add: OnSave, class_names: list[str], key: str) -> None:
    """"The right class: [bees]  [Add it to bees]": the frozen frame (not mirrored) joins that class, once."""
    target_column, button_column = st.columns([3, 2], vertical_alignment="bottom")
    with target_column:
        target = st.selectbox("The right class", class_names, key=f"{key}-add-class",
                              index=class_names.index(result.top) if result.top in class_names else 0)
    added_key = f"{key}-added"
    with button_column:
        clicked = st.button(f"Add it to {target}", key=f"{key}-add", icon=":material/add_photo_alternate:",
                            disabled=st.session_state.get(added_key) is not None)
    if clicked:
        try:
            saved = on_add(target, [picture])
        except (ValueError, OSError) as error:
            st.error(f"The picture could not be added: {error}")
            return
        st.session_state[added_key] = saved.note if saved and saved.note else f"Added to {target}."
    if st.session_state.get(added_key):
        st.success(st.session_state[added_key])
