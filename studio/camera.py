"""Camera sections any page can call: record bursts into a class, and live answers; where live
video cannot start, photos from the device's camera app instead.

    record_section(class_names, on_save, key)         # Data page: hold Record (or take photos) into a class
    finish_recording(key, on_save)                    # ...and where it is not drawn: keep what was recorded
    path = camera_path(key); path_line(path, key)     # Test page: live video, or photos, and why
    frozen = live_section(run, threshold, key, path, ...)   # answers follow the camera
    photo = photo_test_section(key)                   # ...or the last photo taken, to answer

Each is a plain function drawing into the current container, with explicit widget keys
derived from ``key``. Long work runs on threads from ``tlcore.live`` (the predictor loop)
or streamlit-webrtc (the video); the page only reads their latest state in a fragment that
reruns a few times a second while the camera is on.

Which path a device is on: live video where the browser allows it (secure page, camera API,
WebRTC, a camera not refused) and the connection comes up; photos otherwise (``studio.photos``:
the device's camera app needs none of that), and the page says which, and why, in one sentence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import streamlit as st

from tlcore.live import DEFAULT_RECORD_RATE, RECORD_RATES, FrameRecorder, LiveLoop, LiveResult

from tlcore.i18n import N_, Percent, format_value, msg, msg_n, sentences

from . import photos, widgets, words
from .announce import announcer, live_region
from .i18n import _, _n, language, tr
from .camera_stream import (WHY_FAILED, CameraFeed, CameraStatus, camera_controls, camera_status,
                            camera_stream, feed_for, video_frame_to_rgb)
from .hold_button import hold_button, is_held

NEW_CLASS = "\0new"  # the class picker's "New class…" entry (no class can be named so)
THUMBNAILS = 6
THUMBNAIL_SIDE = 96
THUMBNAIL_WIDTH = 52
COUNTER_EVERY = 0.5  # seconds between counter updates while the camera is on
ANSWER_EVERY = 0.25  # seconds between live answers shown
HEATMAP_EVERY = 1.0  # seconds between Grad-CAM maps (each costs several answers)
WAITING_FOR_BROWSER = N_("Asking the browser about cameras… (the preview appears here)")
LIVE_WORDS = N_("Live video from this device's camera (this browser allows it here).")
PHOTOS_WORDS = N_("Photos instead of live video.")  # then why, in its own sentence (WHY_*)
WHY_CHOSEN = N_("You chose them (live video works here too).")
PHOTO_HINT = N_("On a phone or tablet this opens its camera; on a computer, choose pictures.")
CONNECT_TIMEOUT = 20.0  # seconds a live video may take to connect before the page offers photos


@dataclass(frozen=True)
class Saved:
    """What a page's ``on_save`` did with pictures: how many joined the class, and one sentence."""

    joined: int
    note: str = ""  # plain text, as typed (not Markdown): shown in a card, escaped where Markdown shows it


OnSave = Callable[[str, list], "Saved | None"]  # (class name, pictures); None: all joined, nothing to say


@dataclass(frozen=True)
class CameraPath:
    """Live video or photos for this device, and why photos (None on the live path)."""

    status: CameraStatus
    live: bool
    why: str | None = None

    @property
    def sentence(self) -> str:
        """In the reader's language (the why-sentences are WHY_ constants, or Messages with values)."""
        if self.live:
            return _(LIVE_WORDS)
        return tr(sentences(msg(PHOTOS_WORDS), self.why if hasattr(self.why, "msgid") else msg(self.why)))


def camera_path(key: str) -> CameraPath:
    """Mount the camera probe and choose: live video where it can work (the default), else photos."""
    status = camera_status(key)
    why = status.problem or (WHY_FAILED if st.session_state.get(f"{key}-failed") else None)
    if why is not None:
        return CameraPath(status, live=False, why=why)
    if st.session_state.get(f"{key}-photos"):
        return CameraPath(status, live=False, why=WHY_CHOSEN)
    return CameraPath(status, live=True)


def path_line(path: CameraPath, key: str) -> None:
    """On the photo path, which path and why, in one sentence, above everything (with a button back
    to live video where it can work). The live path says so at the end of its side column
    (``_live_line``): the preview and Record stay on a projector's first screen."""
    if path.live or not path.status.known:
        return  # the probe answers within a second; meanwhile the live path says it is asking
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key=f"{key}-path"):
        st.info(path.sentence, icon=":material/photo_camera:")
        if path.why in (WHY_CHOSEN, WHY_FAILED):
            st.button(_("Try live video") if path.why == WHY_FAILED else _("Use live video"), key=f"{key}-to-live",
                      icon=":material/videocam:", on_click=_choose_photos, args=(key, False))


def _live_line(path: CameraPath, key: str) -> None:
    """The live path's sentence, and a button to take photos instead."""
    if not path.status.known:
        return
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key=f"{key}-path"):
        st.caption(path.sentence)
        st.button(_("Take photos instead"), key=f"{key}-to-photos", icon=":material/photo_camera:",
                  on_click=_choose_photos, args=(key, True))


def _choose_photos(key: str, photos_chosen: bool) -> None:
    st.session_state[f"{key}-photos"] = photos_chosen
    st.session_state.pop(f"{key}-failed", None)
    st.session_state.pop(f"{key}-connecting", None)
    st.session_state[f"{key}-on"] = False  # live video again starts switched off, as on a first visit


def _camera(key: str, status: CameraStatus):
    """The camera row and preview; returns (feed, playing?)."""
    feed = feed_for(key)
    choice = camera_controls(status, key)
    playing = False
    if not status.known:  # the browser has not said yet (a second at most; never, in a test without one)
        st.caption(_(WAITING_FOR_BROWSER))
    else:
        context = camera_stream(key, feed, choice)
        playing = bool(context.state.playing)
        _watch_connection(key, choice.on, playing, bool(context.state.signalling))
        if choice.on and not playing:
            st.caption(_("Starting the camera… (allow it if the browser asks)"))
    return feed, playing


def _watch_connection(key: str, on: bool, playing: bool, signalling: bool) -> None:
    """A live video that asked to connect (the camera was allowed) and does not play CONNECT_TIMEOUT
    later: the page moves to photos, and says why. Only the time decides: streamlit-webrtc tries
    again by itself after a failed connection, and clears its offer on the way to playing too."""
    name = f"{key}-connecting"
    if playing or not on:
        st.session_state.pop(name, None)
        return
    if signalling:
        st.session_state.setdefault(name, time.monotonic())
    if name not in st.session_state:
        return  # not asked to connect yet (the browser may still be asking about the camera)
    since = st.session_state[name]

    @st.fragment(run_every=2.0)
    def watch():
        if time.monotonic() - since > CONNECT_TIMEOUT:
            _fail(key)

    watch()


def _fail(key: str) -> None:
    st.session_state[f"{key}-failed"] = True
    st.session_state.pop(f"{key}-connecting", None)
    st.rerun(scope="app")


# -- Data page: record bursts, or take photos ------------------------------------------------------
@dataclass
class Burst:
    """The pictures of one hold of Record (or a photo as it arrives; the panel adds photo after
    photo into one count), for one class, and small copies of the last few."""

    label: str
    pictures: list = field(default_factory=list)  # RGB arrays, or photos.Photo
    thumbnails: list = field(default_factory=list)
    saved: Saved | None = None  # what the page did with it
    photos: bool = False

    def take(self, pictures: list) -> None:
        self.pictures += pictures
        small = [t for t in map(_thumbnail, pictures[-THUMBNAILS:]) if t is not None]
        self.thumbnails = (self.thumbnails + small)[-THUMBNAILS:]


def record_section(class_names: Sequence[str], on_save: OnSave, key: str,
                   default_rate: float = DEFAULT_RECORD_RATE, where: Callable[[], None] | None = None) -> None:
    """Camera preview; beside it the class, Record (held), the count and the last pictures. Where
    live video cannot work (or photos were chosen): photos from the camera app into the class.

    ``on_save(class_name, pictures)`` gets each burst once, when Record is let go (or the camera
    stops), before the page's next run: square RGB uint8 arrays, never mirrored; or the photos
    that arrived (``photos.Photo``: a file name and its bytes, as an upload). It returns a
    ``Saved`` (how many joined, and a sentence shown with the count) or None. A ValueError or
    OSError it raises is shown, and the pictures are kept to be saved again (nothing is lost).
    ``where()`` draws the page's own lines under the count (where the pictures go)."""
    path = camera_path(key)
    path_line(path, key)
    if not path.live:
        finish_recording(key, on_save)  # a burst from before the switch is kept
        _photo_section(class_names, on_save, key, where)
        return
    preview_column, record_column = st.columns([5, 4], gap="medium")
    with preview_column:
        feed, playing = _camera(key, path.status)
    recorder = _recorder(feed, key, default_rate)
    if not playing and recorder.recording:  # no camera, no recording
        recorder.stop()
        _finish_burst(key, on_save)
    with record_column:
        class_column, rate_column = st.columns([3, 2])
        with class_column:
            label = class_picker(class_names, key, disabled=recorder.recording)
        with rate_column:
            st.selectbox(_("Per second"), RECORD_RATES, index=_rate_index(default_rate), key=f"{key}-rate",
                         format_func={r: format_value(r, language()) for r in RECORD_RATES}.get,
                         disabled=recorder.recording,
                         help=_("How many pictures a second are kept while you record."))
        hold_button(_("Recording… let go to keep them") if recorder.recording else _("● Hold to record"),
                    key=f"{key}-record", on_change=lambda: _record_pressed(key, on_save),
                    disabled=not (playing and (label or recorder.recording)), active=recorder.recording)
        _recording_panel(recorder, key, ticking=playing)
        _unsaved_bursts(key, on_save)
        if where is not None:
            where()
        _live_line(path, key)


def _photo_section(class_names: Sequence[str], on_save: OnSave, key: str,
                   where: Callable[[], None] | None) -> None:
    """Photos into a class: the class chosen once, then photo after photo, each added as it arrives."""
    take_column, count_column = st.columns([5, 4], gap="medium")
    with take_column:
        label = class_picker(class_names, key, disabled=False, then="take photos")
        photos.photo_button(_("Take a photo of {name}", name=label) if label else _("Take a photo"), f"{key}-photo",
                            on_photo=lambda photo: _photo_arrived(key, on_save, photo), target=label or "",
                            disabled=label is None, capture=_facing())
        st.caption(_(PHOTO_HINT))
        unnamed = st.session_state.pop(f"{key}-photo-unnamed", None)
        if unnamed is not None:
            st.warning(_("The photo {file} came before its class had a name, so it was not kept: name the "
                         "class, then take it again.", file=words.md(unnamed)))
    with count_column:
        _recording_panel(None, key, ticking=False)
        _unsaved_bursts(key, on_save)
        if where is not None:
            where()


def _photo_arrived(key: str, on_save: OnSave, photo: photos.Photo) -> None:
    """The photo button's callback (before the rerun): the photo joins the class it was taken for."""
    label = photo.target or _chosen_label(key)
    if not label:  # the button waits for a name; a photo that came without one is not lost in silence
        st.session_state[f"{key}-photo-unnamed"] = photo.name
        return
    burst = Burst(label, photos=True)
    burst.take([photo])
    _save_waiting(key, on_save, [burst])


def _facing() -> str:
    from .camera_stream import FACING_CHOICE

    return "user" if st.session_state.get(FACING_CHOICE) == "user" else "environment"


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


def class_picker(class_names: Sequence[str], key: str, disabled: bool, then: str = "record") -> str | None:
    """The class to record into: one of ``class_names`` or a new one typed here (None until named)."""
    options = list(dict.fromkeys(class_names)) + [NEW_CLASS]
    if st.session_state.get(f"{key}-class", NEW_CLASS) not in options:  # its class went (another set)
        st.session_state[f"{key}-class"] = NEW_CLASS
    st.selectbox(_("Class"), options, key=f"{key}-class", disabled=disabled,
                 format_func=lambda c, new=_("New class…"): new if c == NEW_CLASS else c)
    if st.session_state.get(f"{key}-class") == NEW_CLASS:
        st.text_input(_("Name of the new class"), key=f"{key}-new-class", disabled=disabled,
                      placeholder=_("e.g. bees"), max_chars=60)
    label = _chosen_label(key)
    if label is None:
        st.caption(_("Type a name for the new class, then take photos.") if then == "take photos" else
                   _("Type a name for the new class, then record."))
    return label


def _chosen_label(key: str) -> str | None:
    """The class the picker shows now (also read by the Record switch's callback)."""
    choice = st.session_state.get(f"{key}-class")
    if choice is None or choice == NEW_CLASS:
        return str(st.session_state.get(f"{key}-new-class") or "").strip() or None
    return str(choice)


def _record_pressed(key: str, on_save: OnSave) -> None:
    """Record's callback (before the rerun): pressed, start a burst; let go, end it and save it."""
    recorder = feed_for(key).recorder
    if not isinstance(recorder, FrameRecorder):
        return
    if is_held(f"{key}-record"):
        label = _chosen_label(key)
        if label is None or recorder.recording:
            return
        recorder.rate = float(st.session_state.get(f"{key}-rate") or recorder.rate)
        recorder.start(label)
        st.session_state[f"{key}-burst"] = Burst(label)
    elif recorder.recording:
        recorder.stop()
        _finish_burst(key, on_save)


def _finish_burst(key: str, on_save: OnSave) -> bool:
    """Hand the burst (and any that could not be saved before) to ``on_save``; True if one was saved."""
    recorder = feed_for(key).recorder
    burst = st.session_state.pop(f"{key}-burst", None)
    if burst is not None and isinstance(recorder, FrameRecorder):
        burst.take(recorder.drain())
    return _save_waiting(key, on_save, [burst] if burst is not None and burst.pictures else [])


def _save_waiting(key: str, on_save: OnSave, new: list[Burst]) -> bool:
    """Hand ``new`` bursts, after any that could not be saved before, to ``on_save``, in order; a
    burst that fails stays (with the ones after it) to be saved again. True if one was saved."""
    waiting = list(st.session_state.get(f"{key}-unsaved", [])) + list(new)
    saved = False
    while waiting:
        burst = waiting[0]
        try:
            burst.saved = on_save(burst.label, list(burst.pictures)) or Saved(len(burst.pictures))
        except (ValueError, OSError) as error:
            st.session_state[f"{key}-error"] = tr(error)
            break
        last = st.session_state.get(f"{key}-last")
        if burst.photos and last is not None and last.photos and last.label == burst.label:
            burst = _photos_so_far(last, waiting[0])  # one count for photo after photo into a class
        st.session_state[f"{key}-last"] = burst
        waiting.pop(0)
        st.session_state.pop(f"{key}-error", None)
        _show_class(key, burst.label)
        saved = True
    st.session_state[f"{key}-unsaved"] = waiting
    return saved


def _photos_so_far(before: Burst, new: Burst) -> Burst:
    """The photos into a class so far (counted as they joined), with the newest note and thumbnails."""
    joined = before.saved.joined + new.saved.joined
    return Burst(new.label, pictures=[], thumbnails=(before.thumbnails + new.thumbnails)[-THUMBNAILS:],
                 saved=Saved(joined, new.saved.note), photos=True)


def _show_class(key: str, label: str) -> None:
    """After a burst into a new class, the picker shows that class (and the next new name starts empty)."""
    if st.session_state.get(f"{key}-class") == NEW_CLASS:
        st.session_state[f"{key}-class"] = label
        st.session_state[f"{key}-new-class"] = ""


def _recording_panel(recorder: FrameRecorder | None, key: str, ticking: bool) -> None:
    """The count and the last pictures: of the burst being recorded, or of the last burst or photos."""
    @st.fragment(run_every=COUNTER_EVERY if ticking else None)
    def panel():
        burst = st.session_state.get(f"{key}-burst")
        if burst is not None and recorder is not None:
            burst.take(recorder.drain())
        last = st.session_state.get(f"{key}-last")
        with st.container(key=f"{key}-counter"):
            if burst is not None and recorder is not None and recorder.recording:
                widgets.result_card(_("Recording into {name}", name=burst.label),
                                    _n("{count} picture", "{count} pictures", len(burst.pictures)),
                                    _("{rate} a second · let go of Record to keep them",
                                      rate=format_value(recorder.rate, language())),
                                    tone="warn", small=True)
                shown, label, note = burst.thumbnails, burst.label, ""
            elif last is not None:
                # The note (the set's new name, copies left out) goes under the pictures: in the
                # card it pushed them below a projector's first screen.
                widgets.result_card(_("Photos into {name}", name=last.label) if last.photos else
                                    _("Recorded into {name}", name=last.label),
                                    _n("{count} picture", "{count} pictures", last.saved.joined),
                                    tone="good", small=True)
                shown, label, note = last.thumbnails, last.label, last.saved.note
            else:
                st.caption(_("Choose a class, then take photos: they appear here.") if recorder is None else
                           _("Choose a class, hold Record and move the object around slowly: "
                             "the pictures appear here."))
                shown, label, note = [], "", ""
            if shown:
                st.image(shown, width=THUMBNAIL_WIDTH,
                         alt=[_("A new picture of {class_name}", class_name=label)] * len(shown))
            if note:
                st.caption(words.md(note))

    panel()


def _unsaved_bursts(key: str, on_save: OnSave) -> None:
    """Bursts that could not be saved: why, and a button to try again (they are kept)."""
    waiting = st.session_state.get(f"{key}-unsaved") or []
    if not waiting:
        return
    count = sum(len(burst.pictures) for burst in waiting)
    # whole sentences: how many, why (the error's own sentence, already in the reader's words), kept
    st.error(tr(sentences(msg_n("{count} recorded picture could not be saved yet.",
                                "{count} recorded pictures could not be saved yet.", count),
                          st.session_state.get(f"{key}-error"),
                          msg_n("It is kept.", "They are kept.", count))))
    st.button(_("Save them again"), key=f"{key}-retry", icon=":material/refresh:", on_click=_finish_burst,
              args=(key, on_save))


def _thumbnail(picture) -> np.ndarray | None:
    """A small square of a camera frame, or of a photo (None where the photo cannot be opened)."""
    from tlcore.live import square_frame

    if isinstance(picture, photos.Photo):
        from tlcore.data import UnreadablePicture, open_rgb, to_array

        try:
            return to_array(open_rgb(picture.data), THUMBNAIL_SIDE) if picture.data else None
        except (UnreadablePicture, OSError, ValueError):
            return None
    return square_frame(picture, THUMBNAIL_SIDE)


# -- Test page: live answers, or a photo to answer -----------------------------------------------------
def photo_test_section(key: str) -> photos.Photo | None:
    """The "take a photo" button; returns the last photo taken (kept for the session), to answer."""
    last = f"{key}-photo-last"
    photos.photo_button(_("Take a photo to test"), f"{key}-photo", capture=_facing(),
                        on_photo=lambda photo: st.session_state.__setitem__(last, photo))
    st.caption(_(PHOTO_HINT))
    return st.session_state.get(last)


def live_section(run, threshold: float, key: str, path: CameraPath,
                 on_freeze: Callable[[LiveResult], None] | None = None,
                 on_add: OnSave | None = None, class_names: Sequence[str] | None = None,
                 engine: str | None = None, show_where: bool | None = None) -> LiveResult | None:
    """Camera preview; beside it the answer in large type and a bar per class, several times a second.
    ``path``: ``camera_path(key)``, on the live path.

    Below ``threshold`` the answer is "Not sure". Freeze keeps the current frame and its answer
    (returned, and given to ``on_freeze``); with ``on_add`` the frozen frame can be added to a
    class (``class_names``, default the run's): "the model got this wrong, add it to bees".
    ``show_where``: the page's own "where it looked" (Grad-CAM) choice; None draws a switch here."""
    preview_column, answer_column = st.columns([1, 1], gap="large")
    with preview_column:
        feed, playing = _camera(key, path.status)
    loop = _live_loop(feed, run, key, engine, active=playing)
    frozen_key = f"{key}-frozen"
    with answer_column:
        if show_where is None:
            show_where = st.toggle(_("Show where it looked"), key=f"{key}-gradcam",
                                   help=_("Colours what counted most for the answer (Grad-CAM), about once a second."))
        if loop is not None:
            loop.heatmap_every = HEATMAP_EVERY if show_where else None
        _answer_panel(loop, threshold, key, ticking=playing)
        # i18n: a button that stops the live picture on one frame
        freeze = st.button(_("Freeze"), key=f"{key}-freeze", icon=":material/pause_circle:",
                           disabled=loop is None,  # not "no answer yet": only a full rerun would enable it
                           help=_("Keep this frame and its answer, to talk about it or add it to a class."))
        if show_where:
            _where_panel(loop, ticking=playing)
        _live_line(path, key)
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
        with st.spinner(_("Finding where the model looked…")):
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
            # First in the panel, every run: a screen reader hears the answer when it changes (announce.py).
            result = loop.latest if loop is not None else None
            answer, sentence = answer_words(result, threshold) if result is not None else (None, "")
            live_region(announcer(key).hear(answer, sentence, time.monotonic()), key)
            if loop is None:
                st.info(_("Turn the camera on and show it something: the answer appears here."))
                return
            if loop.error and loop.latest is None:
                st.error(tr(loop.error))
                return
            if result is None:
                st.info(_("Getting the model ready for live answers (about 10 seconds the first time)…")
                        if not loop.ready else _("Waiting for the first picture…"))
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
            st.image(_overlay(explained), width=240, caption=_("Red: what counted most (about once a second)"),
                     alt=_("The camera's picture, coloured red where what counted most for the answer "
                           "({answer}) was", answer=explained.top))

    panel()


def show_result(result: LiveResult, threshold: float) -> None:
    """The answer in large type ("Not sure" below the threshold) and a bar for every class."""
    top, probability = result.top, result.top_probability
    if result.familiar is False:
        widgets.result_card(_("The model says"), _(words.UNFAMILIAR_WORDS),
                            _("It looks unlike every picture it learned from (its best guess, {name}, means little)",
                              name=top), tone="warn")
    elif probability < threshold:
        widgets.result_card(_("The model says"), _(words.NOT_SURE_WORDS),
                            _("Its best guess, {name}, is only {share} sure (below your {line} line)", name=top,
                              share=below_line(probability, threshold), line=format_value(Percent(threshold),
                                                                                          language())),
                            tone="warn")
    else:
        widgets.result_card(_("The model says"), top,
                            _("{share} sure", share=format_value(Percent(probability), language())), tone="good")
    widgets.confidence_bars(result.ranked())


NOT_SURE_ANSWER, UNFAMILIAR_ANSWER = "\0not sure", "\0unfamiliar"  # no class can be named so


def answer_words(result: LiveResult, threshold: float) -> tuple[str, str]:
    """(the answer, as a change is counted: the class, "not sure" or "unfamiliar"; one sentence
    saying it and how sure, for a screen reader), as ``show_result`` shows it."""
    top, probability = result.top, result.top_probability
    if result.familiar is False:
        return UNFAMILIAR_ANSWER, _("The model says this doesn't look like any of your classes (its best guess, "
                                    "{name}, means little).", name=top)
    if probability < threshold:
        return NOT_SURE_ANSWER, _("The model is not sure: its best guess, {name}, is only {share} sure.", name=top,
                                  share=below_line(probability, threshold))
    return top, _("The model says {name}, {share} sure.", name=top,
                  share=format_value(Percent(probability), language()))


def below_line(probability: float, threshold: float) -> str:
    """``probability`` in percent, never shown as the line it is below ("49.6%", not "50%")."""
    shown = f"{probability:.0%}"
    if shown == f"{threshold:.0%}":
        return format_value(Percent(int(probability * 1000) / 1000, 1), language())
    return format_value(Percent(probability), language())


def _speed_words(loop: LiveLoop, key: str) -> str:
    """"6 answers a second · 120 ms behind the camera", over the last couple of seconds."""
    import time

    now, name = time.monotonic(), f"{key}-speed"
    then, answered_then = st.session_state.get(name, (now, loop.predicted))
    if now - then > 2.0:
        st.session_state[name] = (now, loop.predicted)
    rate = (loop.predicted - answered_then) / (now - then) if now - then > 0.5 else None
    latency = round(loop.latest.latency * 1000)
    if rate is None:
        return _("{ms} ms behind the camera", ms=latency)
    return _("{rate} answers a second · {ms} ms behind the camera", rate=round(rate), ms=latency)


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
            st.image(shown, width="stretch",
                     caption=_("Frozen frame · red: what counted most") if result.heatmap is not None else
                     _("Frozen frame"),
                     alt=_("The frozen camera picture; the model says {answer}", answer=result.top))
        with answer_column:
            show_result(result, threshold)
            if on_add is not None and class_names:
                _add_to_class(square_frame(result.frame), result, on_add, class_names, key)
            if st.button(_("Unfreeze"), key=f"{key}-unfreeze", icon=":material/play_circle:"):
                st.session_state.pop(f"{key}-frozen", None)
                st.rerun()


def _add_to_class(picture: np.ndarray, result: LiveResult, on_add: OnSave, class_names: list[str], key: str) -> None:
    """"The right class: [bees]  [Add it to bees]": the frozen frame (not mirrored) joins that class, once."""
    target_column, button_column = st.columns([3, 2], vertical_alignment="bottom")
    with target_column:
        target = st.selectbox(_("The right class"), class_names, key=f"{key}-add-class",
                              index=class_names.index(result.top) if result.top in class_names else 0)
    added_key = f"{key}-added"
    with button_column:
        clicked = st.button(_("Add it to {name}", name=target), key=f"{key}-add", icon=":material/add_photo_alternate:",
                            disabled=st.session_state.get(added_key) is not None)
    if clicked:
        try:
            saved = on_add(target, [picture])
        except (ValueError, OSError) as error:
            st.error(_("The picture could not be added: {error}", error=tr(error)))
            return
        st.session_state[added_key] = saved.note if saved and saved.note else _("Added to {name}.", name=target)

    if st.session_state.get(added_key):
        st.success(words.md(st.session_state[added_key]))  # a Saved note is plain text; class names stay as typed
