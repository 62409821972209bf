"""The Teacher page's privacy section (classroom mode): how long the class is kept (and where it is
exported before the timed clear; said here if that export failed), erasing one
student everywhere (after asking), and the record of what the teacher did; and the join page's
one sentence on what is kept, where, for how long.

What is erased and where it lives: tlcore/classroom/privacy.py.
"""

from __future__ import annotations

import time

import streamlit as st

from studio import spaces, words
from studio.i18n import _, tr
from tlcore.classroom import privacy
from tlcore.classroom.privacy import CLEARED, EXPORTED, REMOVED_PICTURE  # the pages record with these names
from tlcore.classroom.class_settings import (KEEP_FOR_SECONDS, check_export_folder, read_class_settings,
                                             save_class_settings)
from tlcore.i18n import N_
from tlcore.paths import workspace_root
from tlcore.spaces import STUDENT, SpaceError

UNTIL_CLEARED = "until_cleared"  # the selectbox's value for "no keep-for" (None cannot be an option's key)
KEEP_LABELS = {UNTIL_CLEARED: N_("Until I clear the class"), "lesson": N_("Until the end of the school day"),
               "week": N_("A week"), "term": N_("A term (16 weeks)")}
JOIN_SENTENCES = {
    UNTIL_CLEARED: N_("Your name, pictures and models are kept only on your teacher's computer, until your "
                      "teacher clears the class."),
    "lesson": N_("Your name, pictures and models are kept only on your teacher's computer, and erased after "
                 "today's lesson."),
    "week": N_("Your name, pictures and models are kept only on your teacher's computer, and erased after a week."),
    "term": N_("Your name, pictures and models are kept only on your teacher's computer, and erased at the end "
               "of the term."),
}
JOIN_SENTENCES_WITH_EXPORT = {  # the teacher chose a folder for the export before the timed clear
    "lesson": N_("Your name, pictures and models are kept only on your teacher's computer, and erased after "
                 "today's lesson; just before that, your teacher's computer saves a copy of the class's work."),
    "week": N_("Your name, pictures and models are kept only on your teacher's computer, and erased after a week; "
               "just before that, your teacher's computer saves a copy of the class's work."),
    "term": N_("Your name, pictures and models are kept only on your teacher's computer, and erased at the end "
               "of the term; just before that, your teacher's computer saves a copy of the class's work."),
}
ACTION_WORDS = {
    privacy.OPENED: N_("Opened a student's space"), privacy.REMOVED_PICTURE: N_("Removed pictures"),
    privacy.ERASED: N_("Erased a student everywhere"), privacy.EXPORTED: N_("Exported the class"),
    privacy.CLEARED: N_("Cleared the class"), privacy.TIME_UP: N_("Cleared the class: its time was up"),
    privacy.TASK_SET: N_("Set the lesson's classes"), privacy.KEEP_FOR_SET: N_("Chose how long the class is kept"),
    privacy.POOL_HIDDEN: N_("Hid a picture of the class pool"),
    privacy.POOL_SHOWN: N_("Showed a picture of the class pool again"),
    privacy.POOL_REMOVED: N_("Removed a picture from the class pool"),
    privacy.EXPORT_FOLDER_SET: N_("Chose where the class is exported before it is cleared"),
    privacy.EXPORT_FAILED: N_("Kept the class: its export before clearing failed"),
}
RECORD_ROWS = 50
__all__ = ["CLEARED", "EXPORTED", "REMOVED_PICTURE", "kept_caption", "privacy_section", "record"]
ERASED = "teacher_erased_name"  # session state: who was just erased (said after the rerun)


def record(action: str, student: str | None = None, detail: str | None = None) -> None:
    """Add what the teacher just did to the class's record (WORKSPACE/classroom/audit.jsonl)."""
    privacy.record(workspace_root(), action, student, detail)


def kept_caption() -> None:
    """The join page's one sentence: what is kept, where, and for how long."""
    settings = read_class_settings(workspace_root())
    keep_for = settings.keep_for or UNTIL_CLEARED
    with_export = settings.export_before_clear and keep_for in JOIN_SENTENCES_WITH_EXPORT
    st.caption(_((JOIN_SENTENCES_WITH_EXPORT if with_export else JOIN_SENTENCES)[keep_for]))


def privacy_section() -> None:
    st.header(_("Privacy"), anchor=False)
    clear_failure()
    keep_for_choice()
    export_folder_choice()
    erase_choice()
    record_table()


def keep_for_choice() -> None:
    workspace = workspace_root()
    settings = read_class_settings(workspace)
    current = settings.keep_for or UNTIL_CLEARED
    chosen = st.selectbox(_("Keep the class's pictures and runs"), list(KEEP_LABELS),
                          index=list(KEEP_LABELS).index(current), format_func={v: _(t) for v, t in KEEP_LABELS.items()}.get,
                          key="teacher_keep_for")
    if chosen != current:
        save_class_settings(workspace, settings.with_changes(keep_for=None if chosen == UNTIL_CLEARED else chosen))
        record(privacy.KEEP_FOR_SET, detail=chosen)
    started = privacy.class_started(spaces.store())
    if chosen != UNTIL_CLEARED and started is not None:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(started + KEEP_FOR_SECONDS[chosen]))
        st.caption(_("Everything the students made is erased at the first start of the Studio after {when}. "
                     "Students see how long on the join page.", when=when))
    else:
        st.caption(_("Students' pictures and runs are kept on this computer only, in {folder}. Students see how "
                     "long on the join page.", folder=str(spaces.store().root)))


def clear_failure() -> None:
    """The class's time was up but its export failed at the last start: nothing was erased."""
    failure = privacy.read_clear_failure(workspace_root())
    if failure:
        st.error(_(privacy.KEPT_BECAUSE_EXPORT_FAILED, folder=words.md(failure["folder"]),
                   why=words.md(failure.get("why"))), icon=":material/error:")


EXPORT_FOLDER = "teacher_export_before_clear"  # the text input's key


def export_folder_choice() -> None:
    """A folder outside the workspace where the timed clear writes the class export first."""
    workspace = workspace_root()
    settings = read_class_settings(workspace)
    current = settings.export_before_clear or ""
    if EXPORT_FOLDER not in st.session_state:
        st.session_state[EXPORT_FOLDER] = current
    typed = st.text_input(_("Before the class is cleared, export it into this folder (leave empty for no export)"),
                          key=EXPORT_FOLDER, placeholder=_("a folder outside the workspace, like a USB stick"),
                          help=_("The export is written first; the class is cleared only once it is written whole. "
                                 "If it cannot be written, nothing is erased and the next start tries again."))
    if typed.strip() == current:
        return
    try:
        folder = check_export_folder(typed, workspace)
    except ValueError as error:
        st.error(tr(error))
        return
    if folder == settings.export_before_clear:  # "~/exports" typed for the full path kept
        return
    save_class_settings(workspace, settings.with_changes(export_before_clear=folder))
    record(privacy.EXPORT_FOLDER_SET, detail=folder)
    if folder:
        st.success(_("Before clearing, the class will be exported into {folder}.", folder=words.md(folder)))


def erase_choice() -> None:
    students = {space.id: space for space in spaces.store().spaces() if space.kind == STUDENT}
    if not students and ERASED not in st.session_state:
        return
    st.subheader(_("Erase one student"), anchor=False)
    done = st.session_state.pop(ERASED, None)
    if done:
        st.success(_("{name} was erased from this computer.", name=done))
    chosen = st.selectbox(_("Student or group to erase"), list(students), format_func=lambda i: students[i].name,
                          key="teacher_erase_choice")
    if chosen is None:
        return
    name = students[chosen].name
    sure = st.checkbox(_("Erase {name}'s space, pictures, runs and cached features, also from the class exports "
                         "on this computer. This cannot be undone.", name=name), key="teacher_erase_sure")
    if st.button(_("Erase this student"), key="teacher_erase", disabled=not sure, icon=":material/person_remove:"):
        try:
            erased = privacy.erase_student(workspace_root(), name, store=spaces.store(), queue=spaces.queue())
        except (SpaceError, OSError) as error:
            st.error(tr(error) if isinstance(error, SpaceError) else _(
                "{name} could not be erased ({why}); try again.", name=name, why=str(error)))
            return
        st.session_state.pop("teacher_erase_sure", None)
        st.session_state[ERASED] = erased.name
        st.rerun()


def detail_words(entry: dict) -> str:
    detail = entry.get("detail") or ""
    if entry["action"] in (privacy.KEEP_FOR_SET, privacy.TIME_UP) and detail in KEEP_LABELS:
        return _(KEEP_LABELS[detail])
    return detail


def record_table() -> None:
    entries = privacy.read_record(workspace_root())
    st.subheader(_("What the teacher did"), anchor=False)
    if not entries:
        st.caption(_("Nothing yet. Opening a student's space, removing pictures, erasing, exporting and "
                     "clearing are recorded here and in {file}.", file=str(workspace_root() / privacy.AUDIT_FILE)))
        return
    rows = [{"time": str(e.get("time", "")).replace("T", " "),
             "what": _(ACTION_WORDS[e["action"]]) if e["action"] in ACTION_WORDS else e["action"],
             "who": e.get("student") or "", "detail": detail_words(e)} for e in reversed(entries[-RECORD_ROWS:])]
    st.dataframe(rows, hide_index=True, key="teacher_record", column_config={
        "time": st.column_config.TextColumn(_("When")), "what": st.column_config.TextColumn(_("What")),
        "who": st.column_config.TextColumn(_("Student")), "detail": st.column_config.TextColumn(_("Details"))})
    st.caption(_("The whole record is kept in {file}.", file=str(workspace_root() / privacy.AUDIT_FILE)))
