"""Which space this browser tab works in, and the server's store and training queue.

A *space* (tlcore.classroom.spaces) is one person's or group's work kept on disk: pictures,
settings, the chosen run, and (for students) their runs. Solo (`streamlit run app.py`) there is
one space, the teacher's, restored on every refresh. In classroom mode (`tlcore classroom`) each
student joins with a name and gets a space whose id is in the page's URL (``?space=...``), so
a refresh, a closed tab or a server restart brings the same space back.

The store and the queue are one per server process (``st.cache_resource``), shared by every
session: that is what keeps one training line for the whole class.
"""

from __future__ import annotations

import atexit
import logging

import streamlit as st

from tlcore.classroom.queue import WorkerPool, configured_workers, open_queue
from tlcore.classroom.server import check_teacher_code, classroom_mode
from tlcore.classroom.spaces import SOLO, STUDENT, Space, SpaceError, SpaceStore, UnknownSpaceError
from tlcore.paths import workspace_root

log = logging.getLogger(__name__)

SPACE_PARAM = "space"  # the URL's query parameter
SPACE_ID = "tl_space_id"  # session state: the space this session works in
TEACHER = "tl_teacher"  # session state: the teacher's code was given in this session


SOLO_MAX_PICTURES = 20_000  # the teacher alone on their own computer: only the disk limits them


@st.cache_resource(show_spinner=False)
def _store(workspace: str, classroom_mode: bool) -> SpaceStore:
    """A student's space holds at most MAX_PICTURES_PER_SPACE (a class shares one server's disk)."""
    return SpaceStore.in_workspace(workspace) if classroom_mode else (
        SpaceStore.in_workspace(workspace, max_pictures=SOLO_MAX_PICTURES))


@st.cache_resource(show_spinner=False)
def _queue(workspace: str, workers: int) -> WorkerPool:
    pool = open_queue(workspace, workers)
    atexit.register(pool.shutdown)  # a stopped server saves what running trainings learned
    return pool


WORKSPACE_WAY_OUT = ("start the Studio again with another workspace folder "
                     "(TLCORE_WORKSPACE=FOLDER streamlit run app.py)")
WORKSPACE_OK = "tl_workspace_ok"  # session state: checked once per session


def store() -> SpaceStore:
    return _store(str(workspace_root()), classroom())


def workspace_problem() -> str | None:
    """Why nothing can be kept in the workspace (a file, read-only, full), in plain words; None if
    it can be used. Checked once per session, before any page: without it no page could keep anything."""
    if st.session_state.get(WORKSPACE_OK):
        return None
    from tlcore.runs import RunSaveError, check_workspace

    try:
        check_workspace(workspace_root(), way_out=WORKSPACE_WAY_OUT)
        store().solo()
    except (RunSaveError, OSError) as error:
        log.error("The workspace cannot be used: %s", error)
        return str(error) if isinstance(error, RunSaveError) else (
            f"The Studio cannot keep anything in {workspace_root()} ({error.strerror or error}). "
            f"Free some space, or {WORKSPACE_WAY_OUT}.")
    st.session_state[WORKSPACE_OK] = True
    return None


def queue() -> WorkerPool:
    """The server's one training line (workers: $TLCORE_WORKERS, else half the cores)."""
    return _queue(str(workspace_root()), configured_workers())


def classroom() -> bool:
    return classroom_mode()


# -- the teacher -------------------------------------------------------------------------------
def is_teacher() -> bool:
    """Solo, the one user is the teacher; in classroom mode, whoever gave the teacher's code."""
    return not classroom() or bool(st.session_state.get(TEACHER))


def sign_in_teacher(code: str) -> bool:
    import os

    from tlcore.classroom.server import CODE_ENV

    if check_teacher_code(code, os.environ.get(CODE_ENV, "")):
        st.session_state[TEACHER] = True
        return True
    return False


# -- the current space ---------------------------------------------------------------------------
def current() -> Space | None:
    """This session's space; None in classroom mode until the student joins (or the teacher signs in).

    A student's space is in the URL (so a refresh brings it back). The teacher's is kept in the
    session only: the teacher's address bar is on the projector, and a student's key must never be."""
    known = st.session_state.get(SPACE_ID)
    if not classroom():
        space = _solo()
    elif is_teacher():
        st.query_params.pop(SPACE_PARAM, None)
        space = _student(known) or _solo()  # the teacher's own space, or the student's they opened
    else:
        space = _student(st.query_params.get(SPACE_PARAM) or known)
    if space is None:
        return None
    if known != space.id:
        if known is not None:  # a session that changes space starts from the new one's work
            forget_session_work()
        st.session_state[SPACE_ID] = space.id
    if classroom() and not is_teacher() and st.query_params.get(SPACE_PARAM) != space.id:
        st.query_params[SPACE_PARAM] = space.id  # page changes clear the URL's parameters
    return space


def viewing_as_teacher(space: Space) -> bool:
    """The teacher looks at a student's space (the sidebar says so)."""
    return classroom() and is_teacher() and space.kind != SOLO


def link_of(space: Space) -> str:
    """The address that brings a student back to their space (for the teacher to give them)."""
    import os

    from tlcore.classroom.server import JOIN_URL_ENV

    return f"{os.environ.get(JOIN_URL_ENV, '').rstrip('/')}/?{SPACE_PARAM}={space.id}"


def join(name: str) -> Space:
    """A new student's space named ``name`` (SpaceError in plain words: name taken, unusable)."""
    space = store().create(name)
    forget_session_work()
    st.session_state[SPACE_ID] = space.id
    st.query_params[SPACE_PARAM] = space.id
    return space


def open_space(space_id: str) -> Space:
    """The teacher opens a student's space in this session (its pictures, settings and runs);
    kept in the session, never in the URL (see current)."""
    space = store().get(space_id)
    forget_session_work()
    st.session_state[SPACE_ID] = space.id
    return space


def problem() -> str | None:
    """Why the URL's space could not be opened (for the join page), or None."""
    wanted = st.query_params.get(SPACE_PARAM)
    if not wanted:
        return None
    try:
        store().get(wanted, kind=None if is_teacher() else STUDENT)
    except UnknownSpaceError as error:
        return str(error)
    return None


def forget_session_work() -> None:
    """A session that changes space starts from that space's own pictures, settings and runs."""
    from . import state

    for key in state.SPACE_KEYS:
        st.session_state.pop(key, None)


def _solo() -> Space:
    return store().solo()


def _student(space_id: str | None) -> Space | None:
    """The student's space ``space_id``; a student's link never opens the teacher's space."""
    if not space_id:
        return None
    try:
        return store().get(space_id, kind=None if is_teacher() else STUDENT)
    except SpaceError:
        return None
