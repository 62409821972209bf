"""Which space this browser tab works in, and the server's store and training queue.

A *space* (tlcore.spaces) is one person's or group's work kept on disk: pictures,
settings, the chosen run, and (for students) their runs. Solo (`streamlit run app.py`) there is
one space, the teacher's, restored on every refresh. In classroom mode (`tlcore classroom`) each
student joins with a name and gets a space whose id is in the page's URL (``?space=...``), so
a refresh, a closed tab or a server restart brings the same space back.

The store and the queue are one per server process (``st.cache_resource``), shared by every
session: that is what keeps one training line for the whole class.
"""

from __future__ import annotations

import logging
import os
import secrets

import streamlit as st

from tlcore.queue import TrainingLine, configured_workers, open_queue
from tlcore.cluster.ray_queue import cluster_address, open_ray_queue
from tlcore.classroom.server import CODE_ENV, classroom_mode
from tlcore.spaces import SOLO, STUDENT, Space, SpaceError, SpaceStore, UnknownSpaceError
from tlcore.classroom.teacher_code import Attempt, CodeTries
from tlcore.classroom.class_settings import read_class_settings, save_class_settings
from tlcore.stopping import stop_first
from tlcore.paths import workspace_root

log = logging.getLogger(__name__)

SPACE_PARAM = "space"  # the URL's query parameter
SPACE_ID = "tl_space_id"  # session state: the space this session works in
TEACHER = "tl_teacher"  # session state: the teacher's code was given in this session
CODE_TRIER = "tl_code_trier"  # session state: this session's name for counting its wrong codes


SOLO_MAX_PICTURES = 20_000  # the teacher alone on their own computer: only the disk limits them


@st.cache_resource(show_spinner=False)
def _store(workspace: str, classroom_mode: bool) -> SpaceStore:
    """A student's space holds at most MAX_PICTURES_PER_SPACE (a class shares one server's disk)."""
    return SpaceStore.in_workspace(workspace) if classroom_mode else (
        SpaceStore.in_workspace(workspace, max_pictures=SOLO_MAX_PICTURES))


@st.cache_resource(show_spinner=False)
def _queue(workspace: str, workers: int, cluster: str | None) -> TrainingLine:
    """Opened once per server process (solo or classroom); on a Ray cluster when `tlcore classroom
    --cluster` gave one. However the server is stopped (Ctrl+C, SIGTERM, a closed terminal),
    running trainings stop and save what they learned as runs before the process ends."""
    pool = open_ray_queue(cluster, workspace, workers) if cluster else open_queue(workspace, workers)
    pool.shutdown_before_exit()  # at the latest when the server has stopped
    _on_main_thread(lambda: stop_first(lambda: _stopping(pool)))  # at once, when it is told to stop
    return pool


def _stopping(pool: TrainingLine) -> None:
    """A stop signal's first step: the trainings stop and save, and Streamlit's runtime is told to
    stop. Its server normally does that; but uvicorn 0.55 ends its server early when a browser
    closes its connection as the server stops (InvalidState), and the runtime would run on."""
    from streamlit.runtime import Runtime

    try:
        Runtime.instance().stop()
    except RuntimeError:  # its event loop has closed already (a second Ctrl+C): it has stopped
        pass
    pool.shutdown()


def _on_main_thread(function) -> None:
    """Run ``function`` soon on the main thread (signal handlers can be set only there): the one
    that runs Streamlit's event loop."""
    from streamlit.runtime import Runtime

    try:
        Runtime.instance().stopped.get_loop().call_soon_threadsafe(function)
    except RuntimeError as error:  # no server (a test's AppTest): nothing to stop
        log.debug("Not on a Streamlit server: %s", error)


WORKSPACE_WAY_OUT = ("start the Studio again with another workspace folder "
                     "(TLCORE_WORKSPACE=FOLDER streamlit run app.py)")  # inside check_workspace's sentence
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
        from .i18n import _, tr

        return tr(error) if isinstance(error, RunSaveError) else _(
            "The Studio cannot keep anything in {folder} ({reason}). Free some space, or start the Studio again "
            "with another workspace folder ({command}).", folder=str(workspace_root()),
            reason=error.strerror or str(error), command="TLCORE_WORKSPACE=FOLDER streamlit run app.py")
    st.session_state[WORKSPACE_OK] = True
    return None


def queue() -> TrainingLine:
    """The server's one training line (workers: $TLCORE_WORKERS, else half the cores; on the Ray
    cluster in $TLCORE_CLUSTER, if any)."""
    return _queue(str(workspace_root()), configured_workers(), cluster_address())


def classroom() -> bool:
    return classroom_mode()


# -- the teacher -------------------------------------------------------------------------------
def is_teacher() -> bool:
    """Solo, the one user is the teacher; in classroom mode, whoever gave the teacher's code."""
    return not classroom() or bool(st.session_state.get(TEACHER))


@st.cache_resource(show_spinner=False)
def code_tries() -> CodeTries:
    """Wrong teacher codes, counted for the whole server: per session and per client address."""
    return CodeTries()


def _trier() -> tuple[str, str | None]:
    """(this session, its client's address; None on the server's own computer)."""
    session = st.session_state.setdefault(CODE_TRIER, secrets.token_urlsafe(12))
    address = st.context.ip_address
    return session, address if isinstance(address, str) else None  # (AppTest gives a stand-in object)


def teacher_code_wait() -> float:
    """Seconds before this session may try the teacher code again (0: now)."""
    return code_tries().wait_s(*_trier())


def sign_in_teacher(code: str) -> Attempt:
    """Try ``code``: refused unread while this session or its address must wait (see CodeTries)."""
    attempt = code_tries().attempt(code, os.environ.get(CODE_ENV, ""), *_trier())
    if attempt.accepted:
        st.session_state[TEACHER] = True
    return attempt


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
    st.session_state[SPACE_ID] = space.id  # a session that changes space forgets the old one's work (state.space)
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
    space = store().create(name, classes=task_classes())
    st.session_state[SPACE_ID] = space.id
    st.query_params[SPACE_PARAM] = space.id
    return space


def open_space(space_id: str) -> Space:
    """The teacher opens a student's space in this session (its pictures, settings and runs);
    kept in the session, never in the URL (see current)."""
    space = store().get(space_id)
    if space.kind == STUDENT and st.session_state.get(SPACE_ID) != space.id:
        from tlcore.classroom.privacy import OPENED, record

        record(workspace_root(), OPENED, space.name)  # the school's record of who looked at what
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
        return error.args[0] if error.args else str(error)  # its Message: the page says it in the reader's language
    return None


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


# -- what the teacher chose for the whole class ------------------------------------------------
def class_language() -> str | None:
    """The class's default language (the teacher's choice), or None."""
    return read_class_settings(workspace_root()).language


def task_classes() -> tuple[str, ...]:
    """The lesson's classes the teacher set (classroom mode), every new space starts with them; () if none."""
    return read_class_settings(workspace_root()).task if classroom() else ()


def set_class_language(code: str | None) -> None:
    settings = read_class_settings(workspace_root())
    save_class_settings(workspace_root(), settings.with_changes(language=code))
