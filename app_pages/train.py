"""Train: put a training in the server's line, watch it learn, see the result.

The job lives in the server's training queue (one line for every session, a worker thread
runs it), not in the page: clicking around, a refresh or a closed tab never stops it, and the
page finds it again by the space. Progress is read from job.snapshot() by a fragment that
redraws every second (a place in line, every 3 s). Laid out for a projector: at 1280×720 the
header, Start/Stop, the progress and both curves fit one screen.
"""

from __future__ import annotations

import time

import streamlit as st

from studio import navigation, spaces, state, widgets, words
from studio.words import duration_text, percent_text, plural
from tlcore.backbones import BACKBONES, WeightsUnavailableError, weights_label
from tlcore.classroom.queue import AlreadyQueued, QueueError
from tlcore.jobs import ExperimentJob, TrainingJob

CURVE_HEIGHT = 300  # px: both curves and the controls above them fit a 720-px-high screen
# A place in line changes slowly; curves change every batch. Thirty students waiting each redrew
# every second in the load test, and their reruns slowed the one training that ran (see docs/scaling.md).
WAITING_EVERY, TRAINING_EVERY = 3.0, 1.0
CURVES_KEY = "train_curves"
REPLACE_ASKED, REPLACE_WHY = "train_replace_asked", "train_replace_why"


def render() -> None:
    entry, job = state.job_entry(), state.job()
    if isinstance(job, ExperimentJob) and entry.active:
        experiment_running(entry)
        return
    active = entry is not None and entry.active and isinstance(job, TrainingJob)
    # While a job waits or runs, show what it was started with, even if the Model page has changed since.
    settings = job.settings if active else state.settings()
    data, data_name = ((job.dataset, job.dataset_name or state.dataset_name()) if active
                       else (state.ensure_dataset(), state.dataset_name()))
    header_section(settings, data, data_name, entry if active else None)
    if active:
        live_progress(entry.state, settings.total_epochs)
    elif isinstance(job, TrainingJob) and job.finished:
        result_section(job)
    else:
        if entry is not None and entry.error:  # ended before it began: cancelled, or the server restarted
            st.warning(entry.error)
        last_run_section(settings)


def last_run_section(settings) -> None:
    """No training in this server's memory (a restart, or none yet): the space's chosen run, if any."""
    run = state.default_run(state.all_runs())
    if run is None:
        st.caption("Press **Start training** to begin. The charts fill in, one point per whole epoch.")
        widgets.show_curves({}, settings.total_epochs, None, key=CURVES_KEY, height=CURVE_HEIGHT)
        return
    record = run.record
    st.caption(f"Your last model ({words.md(words.run_label(run, False))}). Press **Start training** for a new one.")
    if record.settings is None or not record.epochs_run:  # imported: no curves to show
        widgets.show_curves({}, settings.total_epochs, None, key=CURVES_KEY, height=CURVE_HEIGHT)
        return
    widgets.show_curves({name: list(values) for name, values in record.history.items()},
                        max(record.settings.total_epochs, record.epochs_run), record.fine_tune_start_epoch,
                        key=CURVES_KEY, height=CURVE_HEIGHT)
    result_cards(record, record.timings.get("train_seconds") or 0.0)


def experiment_running(entry) -> None:
    st.title("Train", anchor=False)
    st.info("An experiment is using your place in the training line: a new training can start when it "
            "ends (or stop it on the Experiments page).")
    navigation.link("experiments", "Go to Experiments", icon=":material/science:")


# -- what will be trained, and the buttons -----------------------------------------------------------
def header_section(settings, data, data_name: str, entry) -> None:
    """Compact, for a projector: the title with Start and Stop beside it, then one line saying
    what is (or will be) trained. ``entry``: the space's waiting or running job, or None."""
    running, waiting = entry is not None and entry.state == "running", entry is not None and entry.state == "queued"
    title_column, start_column, stop_column = st.columns([4, 2, 1.2], vertical_alignment="center")
    title_column.title("Train", anchor=False)
    start = start_column.button("Start training", key="train_start", type="primary", disabled=running,
                                icon=":material/play_arrow:", width="stretch")
    stop = stop_column.button("Cancel" if waiting else "Stop", key="train_stop", disabled=entry is None,
                              icon=":material/stop:", width="stretch",
                              help="Takes your training out of the line." if waiting else
                              "Ends at the next step and keeps the best model so far.")
    about_column, link_column = st.columns([3, 1], vertical_alignment="center")
    doing = "Training now" if running else ("Waiting in line" if waiting else "Next training")
    about_column.markdown(f"**{doing}:** {training_words(settings, data, data_name)}")
    with link_column:
        navigation.link("model", "Change settings", icon=":material/tune:")
    if stop and entry is not None:
        stop_or_leave(entry)
    if start and not running:  # while one waits, the page asks before replacing it
        start_training(state.settings(), state.ensure_dataset())
    replace_question()


def stop_or_leave(entry) -> None:
    spaces.queue().cancel(entry.ticket)
    if entry.state == "queued":
        st.toast("Your training left the line.")
        st.rerun()
    st.toast("Stopping after this step… the best model so far is kept.")


def training_words(settings, data, data_name: str) -> str:
    """"MobileNetV2 (0.35) · ImageNet weights · 36 pictures of flowers in 3 classes · 8 + 3 epochs"."""
    if settings.weights == "imagenet":
        weights = "ImageNet weights"
    elif settings.from_scratch:
        weights = "from scratch (every block starts random)"
    else:
        weights = "your weights file (" + weights_label(settings.weights).removeprefix("File: ") + ")"
    if settings.uses_fine_tuning:
        how = f"{words.epochs_text(settings)} epochs (head, then the top {plural(settings.learning_blocks, 'block')})"
    else:
        how = f"{plural(settings.total_epochs, 'epoch')} ({'every block learns' if settings.from_scratch else 'only the new head learns'})"
    return (f"{words.md(settings.spec.short_title)} · {words.md(weights)} · {plural(len(data), 'picture')} "
            f"({words.md(data_name)}, {plural(len(data.class_names), 'class', 'classes')}) · {how}")


def start_training(settings, data, replace: bool = False) -> None:
    try:
        with st.spinner("Preparing the training…"):
            new_job = TrainingJob(settings, data, state.workspace(), dataset_name=state.dataset_name(),
                                  way_out=spaces.WORKSPACE_WAY_OUT)
        state.submit_job(new_job, label=settings.spec.short_title, replace=replace,
                         estimate_seconds=new_job.estimate_seconds())
    except AlreadyQueued as already:
        if already.state == "running":  # started from another tab meanwhile
            st.error(str(already))
            return
        st.session_state[REPLACE_ASKED] = True  # a training of this space already waits: ask first
        st.session_state[REPLACE_WHY] = str(already)
        return
    except (ValueError, OSError, QueueError) as error:
        st.error(str(error))
        return
    st.session_state.pop(REPLACE_ASKED, None)
    st.rerun()


def replace_question() -> None:
    """A second Start while this space's training waits in line: replace it (keeping its place)?"""
    if not st.session_state.get(REPLACE_ASKED):
        return
    st.warning(st.session_state.get(REPLACE_WHY, ""))
    replace_column, keep_column, _ = st.columns([1.4, 1, 2])
    if replace_column.button("Replace it with this one", key="train_replace", type="primary"):
        st.session_state.pop(REPLACE_ASKED, None)
        start_training(state.settings(), state.ensure_dataset(), replace=True)
    if keep_column.button("Keep the one in line", key="train_keep"):
        st.session_state.pop(REPLACE_ASKED, None)
        st.rerun()


# -- while it learns --------------------------------------------------------------------------------
def live_progress(drawn_state: str, total_epochs: int) -> None:
    """``drawn_state``: the job's state when the page (its header and buttons) was drawn; when it
    changes (the line reached it, it ended) the whole page is redrawn."""
    if drawn_state == "queued":
        place_in_line(drawn_state)
        widgets.show_curves({}, total_epochs, None, key=CURVES_KEY, height=CURVE_HEIGHT)  # once, empty
    else:
        training_progress(drawn_state)


def current_entry(drawn_state: str):
    """The job's entry and the job, or a whole-page rerun when its state is not the drawn one."""
    entry, current = state.job_entry(), state.job()
    if entry is None or current is None or entry.state != drawn_state:
        st.rerun()
    return entry, current


@st.fragment(run_every=WAITING_EVERY)
def place_in_line(drawn_state: str) -> None:
    entry, _ = current_entry(drawn_state)
    waiting_section(entry)


@st.fragment(run_every=TRAINING_EVERY)
def training_progress(drawn_state: str) -> None:
    _, current = current_entry(drawn_state)
    progress_section(current.snapshot())


def waiting_section(entry) -> None:
    """Where this training is in the server's line, and when it should start."""
    if spaces.queue().paused:
        st.info(f"Your training is number {entry.position} in line. The teacher has paused trainings: "
                "it starts when they carry on.")
        return
    st.info(f"Your training waits in line: number **{entry.position}**. {line_words(entry)} You can keep "
            "working on the other pages, or close this tab: it will run anyway.")


def line_words(entry) -> str:
    """What is ahead of this training, and when it should start ("1 training is running now and
    2 trainings wait before yours. It should start in about 40 s (at 10:42).")."""
    running = sum(1 for other in spaces.queue().snapshot() if other.state == "running")
    before = [f"{plural(running, 'training')} {'is' if running == 1 else 'are'} running now"] if running else []
    if entry.position > 1:
        before.append(f"{plural(entry.position - 1, 'training')} {'waits' if entry.position == 2 else 'wait'} "
                      "before yours")
    wait = None if entry.estimated_start is None else max(0.0, entry.estimated_start - time.time())
    # A training that runs longer than guessed leaves no wait to count down: say what it waits for.
    when = ("as soon as the one before it ends" if wait is not None and wait < 5 else
            f"in about {duration_text(wait)} (at {time.strftime('%H:%M', time.localtime(entry.estimated_start))})"
            if wait is not None else "soon")
    return (" and ".join(before) + ". " if before else "") + f"It should start {when}."


def progress_section(snap: dict) -> None:
    download = snap.get("download")
    if download is not None:  # ImageNet weights arrive first (once per computer)
        st.progress(download.fraction or 0.0, text=f"Downloading the ImageNet weights ({download.file_name}): "
                                                   f"{download.words()}")
    else:
        fraction, text = words.progress_line(snap)
        st.progress(fraction, text=text)
    history = snap["history"]
    last = history.get("val_accuracy") or []
    remaining = duration_text(snap["remaining"]) if snap["remaining"] is not None else "working it out…"
    st.markdown(f"**Time so far:** {duration_text(snap['elapsed'])} · **Time left:** {remaining} · "
                f"**Validation accuracy (last whole epoch):** {percent_text(last[-1]) if last else '—'}")
    widgets.show_curves(history, max(int(snap["total_epochs"] or 0), 1), snap["fine_tune_start_epoch"],
                        key=CURVES_KEY, height=CURVE_HEIGHT)


# -- when it is over ----------------------------------------------------------------------------------
def result_section(finished_job) -> None:
    if isinstance(finished_job.exception, WeightsUnavailableError):
        weights_missing(finished_job.settings.spec.title)
        return
    if finished_job.error:
        st.error(finished_job.error)
    if finished_job.details:
        what_happened(finished_job.details)
    run = finished_job.run
    if run is None:
        if not finished_job.error:
            st.info("Training was stopped before a whole epoch was learned; nothing was saved.")
        return
    record = run.record
    if record.stopped:
        st.warning(words.stopped_words(record))
    else:
        st.success(f"Training finished: {percent_text(record.val_accuracy)} right on the validation pictures. "
                   "The model is saved and ready to test.")
    planned = finished_job.settings.total_epochs  # a stopped run's chart shows how far it got
    widgets.show_curves({name: list(values) for name, values in record.history.items()},
                        max(planned, record.epochs_run), record.fine_tune_start_epoch, key=CURVES_KEY,
                        height=CURVE_HEIGHT)
    result_cards(record, finished_job.snapshot()["elapsed"])
    navigation.link("test", "Test it on new pictures", icon=":material/image_search:")
    if not spaces.classroom():  # a student's folder name is the key to their space: never on a projector
        st.caption(f"Saved in {run.path}")


def result_cards(record, elapsed: float) -> None:
    best_column, time_column = st.columns(2)
    with best_column:
        best = f" (epoch {record.best_epoch})" if record.best_epoch else ""
        widgets.result_card("Best validation accuracy", percent_text(record.val_accuracy),
                            f"on {record.val_pictures} pictures it never learned from{best}"
                            if record.val_pictures else None, tone="good")
    with time_column:
        widgets.result_card("Training time", duration_text(record.timings.get("train_seconds", elapsed)),
                            words.speed_words(record))


def weights_missing(title: str) -> None:
    st.error(f"The ImageNet weights for {title} are not on this computer, and they could not be "
             "downloaded (no internet connection?).")
    ready = [BACKBONES[name].short_title for name in state.networks_with_weights()]
    st.markdown("**Ways out**, on the Model page:\n"
                + (f"1. **Choose a network that is ready on this computer:** {words.md(', '.join(ready))}.\n"
                   if ready else "")
                + f"{2 if ready else 1}. **Add a weights file** for this network (copied from a computer with internet).\n"
                f"{3 if ready else 2}. Choose **None — from scratch** (needs far more pictures and time).")
    navigation.link("model", "Go to the Model page", icon=":material/tune:")


def what_happened(details: str) -> None:
    """The failure's technical details, for the teacher (or a colleague) who asks."""
    with st.expander("What happened? (technical details)"):
        st.caption("The same details are in the terminal that started the studio.")
        st.code(details, language=None)
