"""Session-state accessors: the current picture set, training settings, the job, runs.

Everything a user makes lives in ``st.session_state`` (one browser tab = one session) or in
this session's own temporary work folder, never in ``st.cache_resource``. Saved runs live in
the workspace folder, which outlives the session.

No TensorFlow here: only tlcore.data (numpy and Pillow) and tlcore.paths are imported.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
import streamlit as st

from tlcore.data import DEMO_NAME, ImageDataset, load_demo
from tlcore.paths import workspace_root
from tlcore.settings import TrainingSettings

# Session-state keys (widget keys are named after their page: "data_...", "model_...").
DATASET = "tl_dataset"
DATASET_NAME = "tl_dataset_name"
SETTINGS = "tl_settings"
JOB = "tl_job"
SESSION_RUNS = "tl_session_runs"
SELECTED_RUN = "tl_selected_run"
WORK_DIR = "tl_work_dir"
LOADED_RUNS = "tl_loaded_runs"

# -- folders -----------------------------------------------------------------------------------
class WorkFolder:
    """A temporary folder deleted once nothing refers to it (the session ended, its jobs finished)."""

    def __init__(self):
        self.path = Path(tempfile.mkdtemp(prefix="tl-studio-"))
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
    """Where trained runs are saved ($TLCORE_WORKSPACE, else ~/tlcore-workspace)."""
    return workspace_root()


# -- the picture set ---------------------------------------------------------------------------
def dataset() -> ImageDataset | None:
    return st.session_state.get(DATASET)


def dataset_name() -> str:
    return st.session_state.get(DATASET_NAME) or "Your pictures"


def set_dataset(data: ImageDataset, name: str) -> None:
    st.session_state[DATASET] = data
    st.session_state[DATASET_NAME] = name


def load_demo_dataset() -> ImageDataset:
    """Make the built-in shapes demo this session's picture set."""
    data = load_demo(image_size=224)
    set_dataset(data, DEMO_NAME)
    return data


def ensure_dataset() -> ImageDataset:
    """The session's picture set; the built-in demo on first visit."""
    data = dataset()
    if data is None:
        with st.spinner("Loading the built-in demo pictures…"):
            data = load_demo_dataset()
    return data


def is_demo() -> bool:
    return st.session_state.get(DATASET_NAME) == DEMO_NAME


# -- training settings -------------------------------------------------------------------------
def settings() -> TrainingSettings:
    """The settings chosen on the Model page (TrainingSettings' defaults until it is visited)."""
    chosen = st.session_state.get(SETTINGS)
    return chosen if isinstance(chosen, TrainingSettings) else TrainingSettings()


def set_settings(chosen: TrainingSettings) -> None:
    st.session_state[SETTINGS] = chosen


# -- the training job and runs -----------------------------------------------------------------
def job():
    """The TrainingJob of this session (running or finished), or None."""
    return st.session_state.get(JOB)


def set_job(training_job) -> None:
    """Keep the job; it also keeps this session's work folder alive until it is done with it,
    so closing the tab during training still lets the run be saved with its pictures."""
    training_job.studio_work_folder = st.session_state.get(WORK_DIR)
    st.session_state[JOB] = training_job


def sync_job() -> None:
    """Remember the run a finished job saved (called on every rerun, from any page)."""
    training_job = job()
    if training_job is None or not getattr(training_job, "finished", False):
        return
    run = getattr(training_job, "run", None)
    if run is not None and run.path is not None:
        path = str(run.path)
        if path not in session_runs():
            st.session_state.setdefault(SESSION_RUNS, []).append(path)
            loaded_runs()[path] = run  # the model is already in memory: keep it
            st.session_state[SELECTED_RUN] = path


def session_runs() -> list[str]:
    """Folders of the runs trained in this session, oldest first."""
    return list(st.session_state.get(SESSION_RUNS, []))


def selected_run() -> str | None:
    return st.session_state.get(SELECTED_RUN)


def select_run(path: str | Path | None) -> None:
    st.session_state[SELECTED_RUN] = str(path) if path else None


def loaded_runs() -> dict:
    """Runs opened in this session, by folder (their Keras models load once, on first use)."""
    return st.session_state.setdefault(LOADED_RUNS, {})


def all_runs() -> list:
    """This session's runs, then every other run in the workspace (newest first)."""
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


# -- widget keys that a page can renew ---------------------------------------------------------------
WIDGET_VERSIONS = "tl_widget_versions"


def widget_key(group: str, name: str) -> str:
    """The key of a widget in ``group`` (a page, or part of one): "model_backbone", and after
    ``renew_widgets("model")`` "model_backbone_v1", a new widget that starts from the stored
    value. So a page that changes what another page shows (a lesson's settings) renews that
    page's widgets instead of deleting its keys."""
    version = st.session_state.get(WIDGET_VERSIONS, {}).get(group, 0)
    return f"{group}_{name}" if version == 0 else f"{group}_{name}_v{version}"


def renew_widgets(group: str) -> None:
    versions = st.session_state.setdefault(WIDGET_VERSIONS, {})
    versions[group] = versions.get(group, 0) + 1
