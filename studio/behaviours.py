"""Behaviours on the Test page: give each class something to do, and hear it with the live camera.

    behaviours_section(run, not_sure, key)   # a small form per class: say / sound / emoji or picture / full screen
    live_player(run, not_sure, key)          # under the live camera: plays them when the answer is sure and steady

The record and its files are tlcore.runs.behaviours (kept in the run's folder). Playing happens
in the browser, by the very code the exported web page uses (tlcore/export/web_assets/
behaviours.js) in one ``st.components.v2`` component (no iframe): one mount carries the
behaviours (on full page runs), another, in a fragment ticking with the live answers, carries
the sure answer only (a class or None). The browser decides "steady for a moment" and "once per
change", as the page does. Speech speaks the page's language (``language``: a BCP 47 tag; by
default the reader's, studio.i18n).
"""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from tlcore.export.web import behaviours_script, page_behaviours
from tlcore.i18n import N_, msg, sentences
from tlcore.runs.behaviours import (BUILT_IN_SOUNDS, MAX_EMOJI, MAX_RECORDING_SECONDS, MAX_SAY, RECORDED, SOUND_NAMES,
                                    Behaviour, BehaviourError, RunBehaviours, keep_picture, keep_recording,
                                    read_behaviours, write_behaviours)

from . import i18n, widgets, words
from .i18n import _, _n, tr

ANSWER_EVERY = 0.25  # seconds between answers handed to the browser (the live panel's pace)
PICTURE_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp"]
SOUND_WORDS = {"": N_("No sound"), **{name: SOUND_NAMES[name] for name in BUILT_IN_SOUNDS},
               RECORDED: N_("My own recording")}  # shown with _(...)


def _speech_language(language: str | None) -> str:
    """The BCP 47 tag speech is spoken in: ``language``, else the reader's ("es", "pt-BR")."""
    return language or i18n.language_info(i18n.language()).html_lang

_PLAYER_JS = """
export default function (component) {
  const data = component.data || {};
  let player = window.tlStudioBehaviours;
  if (!player) {
    player = window.tlStudioBehaviours = new TLBehaviours.Player({});
    const unlock = () => player.unlock();  // sound needs a tap first; any tap on the page will do
    document.addEventListener("pointerdown", unlock, { capture: true });
    document.addEventListener("keydown", unlock, { capture: true });
  }
  if (data.behaviours && data.version !== player.version) {
    player.version = data.version;
    player.language = data.language || "en";
    player.setBehaviours(data.behaviours);
    player.reset();
  }
  if (data.try && data.try.nonce !== player.tried) {
    player.tried = data.try.nonce;
    player.play(data.try.class_name);
  }
  if ("answer" in data) player.feed(data.answer);
}
"""


_player = st.components.v2.component("tl_behaviour_player", js=behaviours_script() + "\n" + _PLAYER_JS)


# -- what the browser gets -------------------------------------------------------------------------
def _acting(run) -> list[dict]:
    return page_behaviours(run) if run.path is not None else []


def sure_answer(result, not_sure: float) -> str | None:
    """The class a live result is sure of (familiar, at or above the line), else None: the rule
    the web page applies too (page.js, sureAnswer)."""
    if result is None or result.familiar is False or result.top_probability < not_sure:
        return None
    return result.top


def _live_loop(key: str):
    """The LiveLoop of camera.live_section(key=...), which keeps (run id, loop) under "<key>-loop"
    while its camera is on; None when there is none."""
    kept = st.session_state.get(f"{key}-loop")
    return kept[1] if isinstance(kept, tuple) and len(kept) == 2 else None


def _live_loop_alive(key: str) -> bool:
    return bool(getattr(_live_loop(key), "alive", False))


def _live_result(key: str):
    """The latest live answer, None without a live camera."""
    return getattr(_live_loop(key), "latest", None) if _live_loop_alive(key) else None


def live_player(run, not_sure: float, key: str, language: str | None = None) -> None:
    """Under camera.live_section(run, not_sure, key): play the run's behaviours when the live
    answer is sure and steady. Draws nothing; nothing at all for a run without behaviours."""
    played = _acting(run)
    if not played:
        return
    language = _speech_language(language)
    version = hashlib.sha1(json.dumps([played, language]).encode()).hexdigest()[:12]
    _player(key=f"{key}-behaviours", data={"behaviours": played, "language": language, "version": version},
            height=0)

    ticking = _live_loop_alive(key)  # as the live panel, which ticks only while the camera plays

    @st.fragment(run_every=ANSWER_EVERY if ticking else None)
    def answers():
        _player(key=f"{key}-answers", data={"answer": sure_answer(_live_result(key), not_sure)}, height=0)

    answers()


# -- the form ----------------------------------------------------------------------------------------
def behaviours_section(run, not_sure: float, key: str, language: str | None = None, on_saved=None) -> None:
    """"Make it do something": what each class does, and a form for one class at a time.
    ``on_saved(run)`` is called after a change is kept (e.g. to make its phone page again)."""
    if run.path is None:
        return
    language = _speech_language(language)
    kept = read_behaviours(run.path)
    with st.expander(_("Make it do something: say a word, play a sound, show a picture"), icon=":material/campaign:"):
        st.caption(_("When the live camera (or the web page for your phone) is sure of a class for about a second, "
                     "it does what you choose here, once each time the answer changes."))
        widgets.show_flash(f"{key}-flash")
        for behaviour in kept.acting(run.class_names):
            # i18n: a class, then what it does in whole sentences: "**paper**: It says “Blue bin”. It plays the chime."
            st.markdown(_("**{name}**: {actions}", name=words.md(behaviour.class_name),
                          actions=words.md(tr(behaviour.words()))))
        if st.session_state.get(f"{key}-class") not in run.class_names:  # another run, other classes
            st.session_state.pop(f"{key}-class", None)
        class_name = st.selectbox(_("Class"), run.class_names, key=f"{key}-class")
        _form(run, kept, class_name, not_sure, key, language, on_saved)


def _slot(run, class_name: str) -> str:
    """Widget keys per run and class: another class or run starts its own form."""
    return hashlib.sha1(f"{run.path}\0{class_name}".encode()).hexdigest()[:10]


def _form(run, kept: RunBehaviours, class_name: str, not_sure: float, section: str, language: str, on_saved) -> None:
    key, flash = f"{section}-{_slot(run, class_name)}", f"{section}-flash"
    current = kept.of(class_name) or Behaviour(class_name)
    for field, value in (("say", current.say), ("sound", current.sound), ("emoji", current.emoji),
                         ("full", current.full_screen)):
        st.session_state.setdefault(f"{key}-{field}", value)
    recording, picture = _fields(current, key)
    save_column, try_column, clear_column = st.columns(3)
    if save_column.button(_("Save"), key=f"{key}-save", type="primary", icon=":material/save:"):
        _save(run, kept, current, key, recording, picture, not_sure, on_saved, flash)
    if try_column.button(_("Try it"), key=f"{key}-try", icon=":material/play_arrow:",
                         disabled=not current.does_something, help=_("Plays what is saved for this class now.")):
        st.session_state[f"{key}-nonce"] = st.session_state.get(f"{key}-nonce", 0) + 1
    if clear_column.button(_("Remove"), key=f"{key}-clear", icon=":material/delete:", disabled=kept.of(class_name) is None):
        _keep(run, RunBehaviours(tuple(b for b in kept.behaviours if b.class_name != class_name), not_sure), on_saved)
        for field in ("say", "sound", "emoji", "full"):
            st.session_state.pop(f"{key}-{field}", None)
        widgets.flash(flash, "info", _("Removed what {name} did.", name=words.md(class_name)))
        st.rerun()
    nonce = st.session_state.get(f"{key}-nonce")
    if nonce:  # "Try it": the same player as the live camera's, told to play this class once
        _player(key=f"{key}-player", data={"behaviours": _acting(run), "language": language,
                                          "version": f"try-{nonce}", "try": {"class_name": class_name, "nonce": nonce}},
                height=0)


def _fields(current: Behaviour, key: str):
    """Say, sound (or a recording), emoji or picture, full screen; returns (new recording, new picture)."""
    st.text_input(_("Say"), key=f"{key}-say", max_chars=MAX_SAY, placeholder=_("e.g. Paper goes in the blue bin"))
    sound_column, record_column = st.columns([2, 3], vertical_alignment="bottom")
    with sound_column:
        sound = st.selectbox(_("Sound"), list(SOUND_WORDS), format_func={s: _(t) for s, t in SOUND_WORDS.items()}.get, key=f"{key}-sound")
    recording = None
    with record_column:
        if sound == RECORDED:
            recording = st.audio_input(_n("Record it (up to {count} second is kept)", "Record it (up to {count} seconds are kept)",
                                       round(MAX_RECORDING_SECONDS)),
                                       key=f"{key}-recording")
            if recording is None and current.recording:
                st.caption(_("Your recording is kept; record again to change it."))
    emoji_column, picture_column = st.columns([2, 3], vertical_alignment="bottom")
    with emoji_column:
        st.text_input(_("Show an emoji"), key=f"{key}-emoji", max_chars=MAX_EMOJI, placeholder="♻️")
    with picture_column:
        picture = st.file_uploader(_("…or a picture"), type=PICTURE_TYPES, key=f"{key}-picture")
        if picture is None and current.picture:
            st.caption(_("Its picture is kept (shown instead of the emoji)."))
    st.checkbox(_("Full screen"), key=f"{key}-full", help=_("The picture or emoji fills the screen for a moment."))
    return recording, picture


def _save(run, kept: RunBehaviours, current: Behaviour, key: str, recording, picture, not_sure: float,
          on_saved, flash: str) -> None:
    try:
        changes = {"say": st.session_state.get(f"{key}-say", ""), "sound": st.session_state.get(f"{key}-sound", ""),
                   "emoji": st.session_state.get(f"{key}-emoji", ""),
                   "full_screen": bool(st.session_state.get(f"{key}-full"))}
        if recording is not None:
            changes["recording"] = keep_recording(run.path, recording.getvalue())
        if picture is not None:
            changes["picture"] = keep_picture(run.path, picture.getvalue())
        elif changes["emoji"] != current.emoji and current.picture:  # a new emoji replaces the old picture
            changes["picture"] = ""
        behaviour = current.replace(**changes)
    except BehaviourError as error:
        st.error(tr(error))
        return
    if _keep(run, RunBehaviours(kept.with_behaviour(behaviour).behaviours, not_sure), on_saved):
        # whole sentences, one after another (the actions already in the reader's words, Markdown-safe)
        saved = sentences(msg("Saved. When it is sure of {name}, this happens:", name=words.md(behaviour.class_name)),
                          words.md(tr(behaviour.words())))
        widgets.flash(flash, "success", tr(saved))
        st.rerun()  # the list above and "Try it" follow


def _keep(run, behaviours: RunBehaviours, on_saved) -> bool:
    try:
        write_behaviours(run.path, behaviours)
    except (BehaviourError, OSError) as error:
        st.error(_("The behaviours could not be saved: {reason}", reason=tr(error)))
        return False
    if on_saved is not None:
        on_saved(run)
    return True
