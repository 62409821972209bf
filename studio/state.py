"""Session-state accessors: the current picture set, training settings, the job, runs.

What a user makes belongs to their *space* (studio/spaces.py), kept on disk so a refresh or a
restart brings it back: the picture set, the settings and the chosen run are written through
to the space as they change, and read from it on a session's first look. The session keeps
them in ``st.session_state`` meanwhile (one browser tab = one session); uploads are unpacked
in the session's own temporary work folder. Jobs live in the server's training queue.

No TensorFlow here: tlcore.data (numpy and Pillow), the backbone registry and settings.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from pathlib import Path

import streamlit as st

from tlcore.i18n import N_, msg, sentences
from tlcore.spaces import SOLO, SpaceError
from tlcore.backbones import BACKBONES, network_with_weights, weights_here
from tlcore.data import DEMO_NAME, ImageDataset, load_demo
from tlcore.paths import scratch_prefix, workspace_root
from tlcore.settings import TrainingSettings

from . import spaces

log = logging.getLogger(__name__)

# Session-state keys (widget keys are named after their page: "data_...", "model_...").
DATASET = "tl_dataset"
DATASET_NAME = "tl_dataset_name"
SETTINGS = "tl_settings"
SESSION_RUNS = "tl_session_runs"
SELECTED_RUN = "tl_selected_run"
WORK_DIR = "tl_work_dir"
LOADED_RUNS = "tl_loaded_runs"
KEEP_PROBLEM = "tl_keep_problem"
WATCHED_TICKET = "tl_watched_ticket"
# What belongs to a space: forgotten when a session changes space (see current_space()).
SPACE_KEYS = (DATASET, DATASET_NAME, SETTINGS, SESSION_RUNS, SELECTED_RUN, LOADED_RUNS, KEEP_PROBLEM,
              WATCHED_TICKET)
WORK_OF = "tl_work_of"  # the space whose work the session holds under SPACE_KEYS


def current_space():
    """This session's space (``spaces.current()``), None before a student joins. A session that
    changes space (a student joins, the teacher opens a space) starts from that space's own work:
    what it held for the other one is forgotten first. app.py asks on every run, before the page."""
    current = spaces.current()
    here = current.id if current is not None else None
    if st.session_state.get(WORK_OF, here) != here:
        for key in SPACE_KEYS:
            st.session_state.pop(key, None)
    st.session_state[WORK_OF] = here
    return current


# -- folders -----------------------------------------------------------------------------------
class WorkFolder:
    """A temporary folder deleted once nothing refers to it (the session ended, its jobs finished)."""

    def __init__(self):
        self.path = Path(tempfile.mkdtemp(prefix=scratch_prefix()))  # a killed server's: removed at next start
        self._cleanup = weakref.finalize(self, shutil.rmtree, str(self.path), True)


def work_folder() -> WorkFolder:
    folder = st.session_state.get(WORK_DIR)
    if not isinstance(folder, WorkFolder) or not folder.path.is_dir():
        folder = WorkFolder()
        st.session_state[WORK_DIR] = folder
    return folder


def work_dir() -> Path:
    """This session's own temporary folder (uploads are unpacked here, never shared)."""
    return work_folder().path


def workspace() -> Path:
    """Where this space's runs are saved: the workspace itself solo ($TLCORE_WORKSPACE, else
    ~/tlcore-workspace), the student's own runs folder in classroom mode."""
    space = current_space()
    if space is None or space.kind == SOLO:
        return workspace_root()
    return space.runs_dir


# -- the picture set ---------------------------------------------------------------------------
def dataset() -> ImageDataset | None:
    """The session's picture set: on a session's first look, the one its space kept."""
    if DATASET not in st.session_state:
        _restore_pictures()
    return st.session_state.get(DATASET)


DEFAULT_SET_NAME = N_("Your pictures")


def dataset_name() -> str:
    """The picture set's name as kept (the demo's in English: it is also the set's key)."""
    return st.session_state.get(DATASET_NAME) or DEFAULT_SET_NAME


def shown_dataset_name(name: str | None = None) -> str:
    """A picture set's name (this session's by default) for a page: the demo's (and the default)
    in the reader's language, a name the user gave as typed."""
    from tlcore.classroom.pool import SET_NAMES  # the class pool, your pictures and the class pool

    from .i18n import _

    name = name or dataset_name()
    return _(name) if name in (DEMO_NAME, DEFAULT_SET_NAME, *SET_NAMES) else name


def set_dataset(data: ImageDataset, name: str) -> None:
    """Make ``data`` the picture set, and keep it in the space (on disk, memory-mapped), so a
    refresh or a restart brings it back. Keeping is all or nothing; when it fails (a full disk)
    the space keeps its old set, this set lasts as long as the session, and the Data page says so."""
    st.session_state[DATASET], st.session_state[DATASET_NAME] = data, name
    st.session_state.pop(KEEP_PROBLEM, None)
    space = current_space()
    if space is None:
        return
    try:
        if name == DEMO_NAME:  # nothing to copy: the demo is drawn again when needed
            spaces.store().update_state(space.id, picture_set=DEMO_NAME)
        else:
            before = sum(spaces.store().picture_counts(space.id).values())
            st.session_state[DATASET] = spaces.store().save_dataset(space.id, data, name)
            if spaces.viewing_as_teacher(space) and len(data) < before:  # the school's record
                from tlcore.classroom import privacy

                privacy.record(workspace_root(), privacy.REMOVED_PICTURE, space.name, str(before - len(data)))
    except SpaceError as error:  # its own plain sentence: the disk is full, too many pictures
        log.warning("The pictures of space %s could not be kept: %s", space.id, error)
        st.session_state[KEEP_PROBLEM] = sentences(error, msg(ONLY_IN_THIS_TAB))
    except (OSError, ValueError) as error:
        log.warning("The pictures of space %s could not be kept: %s", space.id, error)
        why = getattr(error, "strerror", None) or type(error).__name__
        st.session_state[KEEP_PROBLEM] = sentences(msg("These pictures could not be kept on this computer ({why}).",
                                                       why=why), msg(ONLY_IN_THIS_TAB))


ONLY_IN_THIS_TAB = N_("Until then, these pictures are used only in this browser tab, as long as it stays open.")


def picture_limit() -> int | None:
    """The most pictures this session's space may hold (checked before any picture is read), or None."""
    return spaces.store().max_pictures if current_space() is not None else None


def keep_problem() -> str | None:
    """Why the picture set could not be kept on disk (see set_dataset), or None; a Message (show it with tr)."""
    return st.session_state.get(KEEP_PROBLEM)


def _restore_pictures() -> None:
    space = current_space()
    if space is None:
        return
    saved = spaces.store().state(space.id)
    data = None
    if saved.picture_set and saved.picture_set != DEMO_NAME:
        try:
            data = spaces.store().load_pictures(space.id)
        except (OSError, ValueError) as error:  # DatasetError: fewer than 2 classes left, say
            log.warning("The pictures of space %s cannot be used: %s", space.id, error)
    st.session_state[DATASET] = data  # None: the Data page starts with the demo
    st.session_state[DATASET_NAME] = saved.picture_set if data is not None else None


def load_demo_dataset() -> ImageDataset:
    """Make the built-in shapes demo this session's picture set."""
    data = _shared_demo(224)
    set_dataset(data, DEMO_NAME)
    return data


@st.cache_resource(show_spinner=False)
def _shared_demo(image_size: int) -> ImageDataset:
    """One decoded demo for every session of the server (a class of 30 on the demo holds one copy,
    not 30); read-only, so no session can change another's pictures."""
    data = load_demo(image_size=image_size)
    data.pixels().flags.writeable = False
    return data


def ensure_dataset() -> ImageDataset:
    """The session's picture set; the built-in demo on first visit."""
    data = dataset()
    if data is None:
        from .i18n import _

        with st.spinner(_("Loading the built-in demo pictures…")):
            data = load_demo_dataset()
    return data


def is_demo() -> bool:
    return st.session_state.get(DATASET_NAME) == DEMO_NAME


# -- training settings -------------------------------------------------------------------------
def settings() -> TrainingSettings:
    """The settings chosen on the Model page (the space's, else TrainingSettings' defaults)."""
    chosen = st.session_state.get(SETTINGS)
    if isinstance(chosen, TrainingSettings):
        return chosen
    space = current_space()
    if space is None:
        st.session_state[SETTINGS] = first_settings()
        return st.session_state[SETTINGS]
    first = first_settings()
    chosen = spaces.store().settings(space.id, default=first)
    if chosen is first:  # nothing saved yet: keep it, so the teacher's table names the network this space uses
        set_settings(chosen)
    st.session_state[SETTINGS] = chosen
    return chosen


def first_settings() -> TrainingSettings:
    """A new space's settings: the defaults, on a network whose pretrained weights this computer
    has (offline, a network whose weights cannot download would fail at the first Start)."""
    default = TrainingSettings()
    name = network_with_weights(default.backbone)
    here = weights_here(name)
    return default.replace(backbone=name, weights=here) if here else default  # none here: it downloads (online)


def network_to_show() -> str:
    """The pretrained network a page starts on: the Model page's if its weights are here, else one
    whose weights are (as the experiments' presets choose)."""
    found = network_with_weights(settings().backbone)
    return found if BACKBONES[found].pretrained else next(n for n, spec in BACKBONES.items() if spec.pretrained)


def set_settings(chosen: TrainingSettings) -> None:
    if st.session_state.get(SETTINGS) == chosen:
        return
    st.session_state[SETTINGS] = chosen
    space = current_space()
    if space is not None:
        try:
            spaces.store().save_settings(space.id, chosen)
        except OSError as error:
            log.warning("The settings of space %s could not be kept: %s", space.id, error)


# -- the training job and runs -----------------------------------------------------------------
def job_entry():
    """The space's latest job as the training queue sees it (a QueueEntry: queued, running, done,
    failed, cancelled, interrupted), or None."""
    space = current_space()
    return spaces.queue().status(space.id) if space is not None else None


def job():
    """The space's job (a TrainingJob or an ExperimentJob; queued, running or finished), or None.
    It lives in the server's queue, not in the session, so a refresh finds it again."""
    entry = job_entry()
    return spaces.queue().job(entry.ticket) if entry is not None else None


def submit_job(new_job, label: str = "", replace: bool = False) -> None:
    """Put ``new_job`` (anything with ``train_and_save``, ``stop`` and ``snapshot``) in the server's
    training line for this space. AlreadyQueued (in plain words) if the space has one waiting
    or running, unless ``replace`` (a waiting one is then replaced, keeping its place).

    The job keeps this session's work folder alive until it is done with it, so closing the
    tab during training still lets the run be saved with its pictures."""
    space = current_space()
    if space is None:
        raise ValueError(msg("Join the class first: your trainings are kept in your own space."))

    new_job.studio_work_folder = st.session_state.get(WORK_DIR)
    ticket = spaces.queue().submit(space.id, new_job, replace=replace, label=label)
    st.session_state[WATCHED_TICKET] = ticket.id


def sync_job() -> None:
    """When the job this session watched ends, its run becomes the chosen one (called on every
    rerun, from any page). A job that had ended before the session began changes nothing."""
    entry = job_entry()
    if entry is None:
        return
    if entry.active:
        st.session_state[WATCHED_TICKET] = entry.ticket.id
        return
    if st.session_state.get(WATCHED_TICKET) != entry.ticket.id:
        return
    st.session_state[WATCHED_TICKET] = None
    run = getattr(spaces.queue().job(entry.ticket), "run", None)
    if run is not None and run.path is not None:
        add_session_run(run)


def session_runs() -> list[str]:
    """Folders of the runs trained (or opened) in this session, oldest first."""
    return list(st.session_state.get(SESSION_RUNS, []))


def selected_run() -> str | None:
    """The run the Test and Evaluate pages use: this session's choice, else the space's."""
    if SELECTED_RUN not in st.session_state:
        space = current_space()
        name = spaces.store().state(space.id).selected_run if space is not None else None
        st.session_state[SELECTED_RUN] = str(workspace() / name) if name else None
    return st.session_state.get(SELECTED_RUN)


def select_run(path: str | Path | None) -> None:
    st.session_state[SELECTED_RUN] = str(path) if path else None
    space = current_space()
    if space is None:
        return
    in_space = path is not None and Path(path).parent == workspace()
    try:  # only a folder name in the space's own runs is kept: never a path
        spaces.store().update_state(space.id, selected_run=Path(path).name if in_space else None)
    except (OSError, ValueError) as error:
        log.warning("The chosen run of space %s could not be kept: %s", space.id, error)


def loaded_runs() -> dict:
    """Runs opened in this session, by folder (their Keras models load once, on first use)."""
    return st.session_state.setdefault(LOADED_RUNS, {})


def all_runs() -> list:
    """This session's runs, then every other run of the space (newest first)."""
    from tlcore.runs import list_runs, load_run

    cache = loaded_runs()
    runs, seen = [], set()
    for path in reversed(session_runs()):
        if path in seen or not Path(path, "model.keras").is_file():
            continue
        run = cache.get(path)
        if run is None:
            try:
                run = load_run(path)
            except (OSError, ValueError):
                continue
            cache[path] = run
        runs.append(run)
        seen.add(path)
    for run in list_runs(workspace()):
        path = str(run.path)
        if path in seen:
            continue
        runs.append(cache.setdefault(path, run))
        seen.add(path)
    return runs


def default_run(runs: list):
    """The run the Test page starts with: the chosen one, else this session's latest, else the newest."""
    by_path = {str(run.path): run for run in runs}
    chosen = selected_run()
    if chosen in by_path:
        return by_path[chosen]
    for path in reversed(session_runs()):
        if path in by_path:
            return by_path[path]
    return runs[0] if runs else None


# -- the "not sure" threshold (set on Test, shown on Evaluate) ---------------------------------
NOT_SURE = "tl_not_sure"
DEFAULT_NOT_SURE = 0.5


def not_sure_threshold() -> float:
    """Below this top probability the answer is shown as "Not sure" (0 = always answer)."""
    value = st.session_state.get(NOT_SURE, DEFAULT_NOT_SURE)
    try:
        return min(max(float(value), 0.0), 1.0)
    except (TypeError, ValueError):
        return DEFAULT_NOT_SURE


def set_not_sure_threshold(value: float) -> None:
    st.session_state[NOT_SURE] = min(max(float(value), 0.0), 1.0)


# -- runs brought in from elsewhere (imports, lessons) -----------------------------------------
def add_session_run(run, select: bool = True) -> None:
    """Make ``run`` (imported or opened) one of this session's runs, and by default the one
    the Test and Evaluate pages use (their pickers follow the chosen run)."""
    path = str(run.path)
    runs = st.session_state.setdefault(SESSION_RUNS, [])
    if path in runs:
        runs.remove(path)
    runs.append(path)
    loaded_runs()[path] = run
    if select:
        select_run(path)


# -- the language this space's student picked --------------------------------------------------
def remembered_language() -> str | None:
    space = spaces.current()
    return spaces.store().state(space.id).language if space is not None else None


def remember_language(code: str) -> None:
    space = spaces.current()
    if space is not None:
        spaces.store().update_state(space.id, language=code)
