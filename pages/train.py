"""Train: start and stop a training job (a worker thread), watch it learn, see the result.

The job lives in st.session_state, so clicking around or switching pages never stops it.
Progress is read from job.snapshot() by a fragment that redraws every second.
"""

from __future__ import annotations

import streamlit as st

from studio import state, ui
from tlcore.backbones import WeightsUnavailableError, weights_label

ui.page_setup()

data = state.ensure_dataset()
job = state.job()
running = job is not None and job.running
# While a job runs, show what it was started with, even if the Model page has changed since.
settings = job.settings if running else state.settings()
spec = settings.spec

st.title("Train")

# -- what will be trained (or is being trained) ---------------------------------------------------
data_name = state.dataset_name()
if running:
    data, data_name = job.dataset, job.dataset_name or data_name
st.caption("Training now:" if running else "Next training:")
columns = st.columns([3, 3, 2, 2])
title, _, detail = spec.title.partition(" (")
with columns[0]:
    ui.result_card("Network", title, detail.rstrip(")") or None, small=True)
with columns[1]:
    if settings.weights == "imagenet":
        ui.result_card("Starting weights", "ImageNet", "pretrained on 1.2 million photos", small=True)
    elif settings.from_scratch:
        ui.result_card("Starting weights", "None", "from scratch: every block starts random", small=True)
    else:
        ui.result_card("Starting weights", "Your file", weights_label(settings.weights).removeprefix("File: "),
                       small=True)
with columns[2]:
    ui.result_card("Pictures", f"{len(data):,}", f"{data_name} · {len(data.class_names)} classes")
with columns[3]:
    ft_epochs = settings.resolved_fine_tune_epochs if settings.uses_fine_tuning else 0
    epochs_text = f"{settings.epochs} + {ft_epochs}" if ft_epochs else f"{settings.total_epochs}"
    note = ("head, then fine-tuning of the top " + ui.plural(settings.learning_blocks, "block")
            if ft_epochs else ("every block learns" if settings.from_scratch else "only the new head learns"))
    ui.result_card("Epochs", epochs_text, note)
st.page_link("pages/model.py", label="Change these settings", icon=":material/tune:")

start_column, stop_column, _ = st.columns([1, 1, 2])
start = start_column.button("Start training", key="train_start", type="primary", disabled=running,
                            icon=":material/play_arrow:", width="stretch")
stop = stop_column.button("Stop", key="train_stop", disabled=not running, icon=":material/stop:",
                          width="stretch", help="Ends at the next step and keeps the best model so far.")

if stop and running:
    job.stop()
    st.toast("Stopping after this step… the best model so far is kept.")

if start and not running:
    try:
        with st.spinner("Preparing the training…"):
            from tlcore.jobs import TrainingJob

            new_job = TrainingJob(settings, data, state.workspace(), dataset_name=state.dataset_name())
    except (ValueError, OSError) as error:
        st.error(str(error))
    else:
        new_job.start()
        state.set_job(new_job)
        st.rerun()


# -- progress and results -------------------------------------------------------------------------
def show_progress(snap: dict) -> None:
    phase = snap["phase"]
    st.subheader(ui.PHASE_WORDS.get(phase, "Working…"), anchor=False)
    total = max(int(snap["total_epochs"] or 0), 1)
    if phase == "extracting":
        done, whole = snap["extracted"], max(snap["extract_total"], 1)
        st.progress(min(done / whole, 1.0), text=f"{done:,} of {snap['extract_total']:,} pictures")
    elif phase in ("head", "fine_tune", "scratch"):
        steps = snap["steps_per_epoch"] or 0
        finished = snap["epoch"] + (min(snap["step"], steps) / steps if steps else 0)
        current = min(snap["epoch"] + 1, total)
        text = f"Epoch {current} of {total}"
        if steps:
            text += f" · step {min(snap['step'], steps)} of {steps}"
        st.progress(min(finished / total, 1.0), text=text)
    elif snap["final"]:
        st.progress(1.0, text=ui.PHASE_WORDS.get(phase, "Finished."))
    else:
        st.progress(0.0, text="Building the network…")
    history = snap["history"]
    numbers = st.columns(3)
    numbers[0].metric("Time so far", ui.duration_text(snap["elapsed"]))
    numbers[1].metric("Time left", ui.duration_text(snap["remaining"]) if snap["remaining"] is not None
                      else "working it out…")
    last = history.get("val_accuracy") or []
    numbers[2].metric("Validation accuracy (last epoch)", ui.percent_text(last[-1]) if last else "—")
    ui.show_curves(history, total, snap["fine_tune_start_epoch"], key="train_curves")


@st.fragment(run_every=1.0)
def live_progress() -> None:
    current = state.job()
    if current is None:
        return
    snap = current.snapshot()
    if not snap["running"]:
        st.rerun()  # the whole page: Start comes back and the summary shows
    show_progress(snap)


def show_result(finished_job) -> None:
    snap = finished_job.snapshot()
    run = finished_job.run
    if isinstance(finished_job.exception, WeightsUnavailableError):
        title = finished_job.settings.spec.title
        st.error(f"The ImageNet weights for {title} are not on this computer, and they could not be "
                 "downloaded (no internet connection?).")
        st.markdown("**Two ways out**, both on the Model page:\n"
                    "1. **Add a weights file** for this network (copied from a computer with internet).\n"
                    "2. Choose **None — from scratch** (needs far more pictures and time).")
        st.page_link("pages/model.py", label="Go to the Model page", icon=":material/tune:")
        return
    if finished_job.error:
        st.error(finished_job.error)
    if run is None:
        if not finished_job.error:
            st.info("Training was stopped before anything was learned; nothing was saved.")
        return
    record = run.record
    if record.stopped:
        st.warning("Training was stopped early. The best model so far was kept and saved.")
    else:
        st.success("Training finished. The model is saved and ready to test.")
    history = {name: list(values) for name, values in record.history.items()}
    cards = st.columns(3)
    with cards[0]:
        ui.result_card("Best validation accuracy", ui.percent_text(record.val_accuracy),
                       f"on {record.val_pictures} pictures it never learned from" if record.val_pictures else None,
                       tone="good")
    with cards[1]:
        ui.result_card("Training time", ui.duration_text(record.timings.get("train_seconds", snap["elapsed"])))
    with cards[2]:
        if record.fast_path:
            ui.result_card("Fast path", "Used", "Fast path: the frozen part ran once per picture")
        elif record.from_scratch:
            ui.result_card("Fast path", "Not used", "From scratch every block learns, so every picture "
                                                    "went through the whole network each epoch.")
        else:
            ui.result_card("Fast path", "Not used", "Augmentation changes the pictures every epoch, so "
                                                    "they went through the whole network each time.")
    total = len(history.get("loss", [])) or snap["total_epochs"]
    ui.show_curves(history, total, record.fine_tune_start_epoch, key="train_curves")
    st.page_link("pages/test.py", label="Test it on new pictures", icon=":material/image_search:")
    st.caption(f"Saved in {run.path}")


if job is None:
    st.info("Press **Start training** to begin. The charts below fill in, one point per epoch.")
elif job.running:
    live_progress()
else:
    show_result(job)
