"""The Teacher page's class task (classroom mode): the lesson's classes ("rock, paper, scissors").
Every space made after it starts with those classes; students may still add their own.

Kept in the class's settings (tlcore/classroom/class_settings.py: ``ClassSettings.task``).
"""

from __future__ import annotations

import streamlit as st

from studio.i18n import _, tr
from tlcore.classroom.class_settings import read_class_settings, save_class_settings
from tlcore.classroom.privacy import TASK_SET, record
from tlcore.paths import workspace_root

SAVED = "teacher_task_saved"  # session state: the task was just set (said after the rerun)


def task_section() -> None:
    st.header(_("The lesson's classes"), anchor=False)
    workspace = workspace_root()
    settings = read_class_settings(workspace)
    with st.form("teacher_task_form", border=False):
        typed = st.text_input(_("Classes, separated by commas"), value=", ".join(settings.task), key="teacher_task",
                              placeholder=_("for example: rock, paper, scissors"), max_chars=400)
        given = st.form_submit_button(_("Set the task"), key="teacher_task_set")
    if st.session_state.pop(SAVED, False):
        st.success(_("Every student who joins from now on starts with these classes."))
    if not given:
        if settings.task:
            st.caption(_("New spaces start with these classes; students may still add their own. "
                         "Empty the box and set it to have no task."))
        return
    try:
        changed = settings.with_changes(task=typed)
    except ValueError as error:
        st.error(tr(error))
        return
    save_class_settings(workspace, changed)
    record(workspace, TASK_SET, None, ", ".join(changed.task))
    st.session_state[SAVED] = True
    st.rerun()
