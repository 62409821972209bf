"""Train: start and stop a training job (a worker thread), watch it learn, see the result.

The job lives in st.session_state, so clicking around or switching pages never stops it.
Progress is read from job.snapshot() by a fragment that redraws every second. Laid out for
a projector: at 1280×720 the header, Start/Stop, the progress and both curves fit one screen.
"""

from __future__ import annotations

import streamlit as st

from studio import navigation, state, widgets, words
from studio.words import duration_text, percent_text, plural
from tlcore.backbones import WeightsUnavailableError, weights_label

CURVE_HEIGHT = 300  # px: both curves and the controls above them fit a 720-px-high screen
CURVES_KEY = "train_curves"


def render() -> None:
    job = state.job()
    running = job is not None and job.running
    # While a job runs, show what it was started with, even if the Model page has changed since.
    settings = job.settings if running else state.settings()
    data, data_name = ((job.dataset, job.dataset_name or state.dataset_name()) if running
                       else (state.ensure_dataset(), state.dataset_name()))
    header_section(settings, data, data_name, running)
    if job is None:
        st.caption("Press **Start training** to begin. The charts fill in, one point per whole epoch.")
        widgets.show_curves({}, settings.total_epochs, None, key=CURVES_KEY, height=CURVE_HEIGHT)
    elif running:
        live_progress()
    else:
        result_section(job)


# -- what will be trained, and the buttons -----------------------------------------------------------
def header_section(settings, data, data_name: str, running: bool) -> None:
    """Compact, for a projector: the title with Start and Stop beside it, then one line saying
    what is (or will be) trained."""
    title_column, start_column, stop_column = st.columns([4, 2, 1.2], vertical_alignment="center")
    title_column.title("Train", anchor=False)
    start = start_column.button("Start training", key="train_start", type="primary", disabled=running,
                                icon=":material/play_arrow:", width="stretch")
    stop = stop_column.button("Stop", key="train_stop", disabled=not running, icon=":material/stop:",
                              width="stretch", help="Ends at the next step and keeps the best model so far.")
    about_column, link_column = st.columns([3, 1], vertical_alignment="center")
    about_column.markdown(f"**{'Training now' if running else 'Next training'}:** "
                          f"{training_words(settings, data, data_name)}")
    with link_column:
        navigation.link("model", "Change settings", icon=":material/tune:")
    job = state.job()
    if stop and running:
        job.stop()
        st.toast("Stopping after this step… the best model so far is kept.")
    if start and not running:
        start_training(settings, data)


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


def start_training(settings, data) -> None:
    try:
        with st.spinner("Preparing the training…"):
            from tlcore.jobs import TrainingJob

            new_job = TrainingJob(settings, data, state.workspace(), dataset_name=state.dataset_name())
    except (ValueError, OSError) as error:
        st.error(str(error))
        return
    new_job.start()
    state.set_job(new_job)
    st.rerun()


# -- while it learns --------------------------------------------------------------------------------
@st.fragment(run_every=1.0)
def live_progress() -> None:
    current = state.job()
    if current is None:
        return
    snap = current.snapshot()
    if not snap["running"]:
        st.rerun()  # the whole page: Start comes back and the result shows
    progress_section(snap)


def progress_section(snap: dict) -> None:
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
    st.markdown("**Two ways out**, both on the Model page:\n"
                "1. **Add a weights file** for this network (copied from a computer with internet).\n"
                "2. Choose **None — from scratch** (needs far more pictures and time).")
    navigation.link("model", "Go to the Model page", icon=":material/tune:")


def what_happened(details: str) -> None:
    """The failure's technical details, for the teacher (or a colleague) who asks."""
    with st.expander("What happened? (technical details)"):
        st.caption("The same details are in the terminal that started the studio.")
        st.code(details, language=None)
