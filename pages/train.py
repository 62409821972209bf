"""Train: start and stop a training job (a worker thread), watch it learn, see the result.

The job lives in st.session_state, so clicking around or switching pages never stops it.
Progress is read from job.snapshot() by a fragment that redraws every second.
"""

from __future__ import annotations

import streamlit as st

from studio import state, ui
from tlcore.backbones import BACKBONES, imagenet_weights_cached, weights_label

ui.page_setup()

data = state.ensure_dataset()
settings = state.settings()
spec = BACKBONES[settings["backbone"]]
job = state.job()
running = job is not None and job.running

st.title("Train")

# -- what will be trained (or is being trained) ---------------------------------------------------
data_name = state.dataset_name()
if running:  # show what this job was started with, even if the Model page has changed since
    trainer = job.trainer
    settings = dict(settings, backbone=trainer.backbone, weights=trainer.weights, epochs=trainer.epochs,
                    fine_tune_epochs=trainer.resolved_fine_tune_epochs, freeze_depth=trainer.freeze_depth)
    spec = BACKBONES[settings["backbone"]]
    data, data_name = job.dataset, job.dataset_name or data_name
st.caption("Training now:" if running else "Next training:")
head_epochs, ft_epochs = int(settings["epochs"]), int(settings["fine_tune_epochs"])
columns = st.columns([3, 3, 2, 2])
title, _, detail = spec.title.partition(" (")
with columns[0]:
    ui.result_card("Network", title, detail.rstrip(")") or None, small=True)
with columns[1]:
    if settings["weights"] == "imagenet":
        ui.result_card("Starting weights", "ImageNet", "pretrained on 1.2 million photos", small=True)
    elif settings["weights"] == "none":
        ui.result_card("Starting weights", "None", "from scratch: every block starts random", small=True)
    else:
        ui.result_card("Starting weights", "Your file", weights_label(settings["weights"]).removeprefix("File: "),
                       small=True)
with columns[2]:
    ui.result_card("Pictures", f"{len(data):,}", f"{data_name} · {len(data.class_names)} classes")
with columns[3]:
    epochs_text = f"{head_epochs} + {ft_epochs}" if ft_epochs else f"{head_epochs}"
    note = ("head, then fine-tuning of the top " + ui.plural(int(settings["freeze_depth"]), "block")
            if ft_epochs else ("every block learns" if settings["weights"] == "none" else "only the new head learns"))
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

            new_job = TrainingJob(dict(settings), data, state.workspace(), dataset_name=state.dataset_name())
    except ValueError as error:
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
        batches = snap["batches_per_epoch"] or 0
        finished = snap["epoch"] + (snap["batch"] / batches if batches else 0)
        current = min(snap["epoch"] + 1, total)
        text = f"Epoch {current} of {total}"
        if batches:
            text += f" · step {snap['batch']} of {batches}"
        st.progress(min(finished / total, 1.0), text=text)
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


def weights_missing(finished_job) -> bool:
    trainer = finished_job.trainer
    return (str(trainer.weights) == "imagenet" and bool(finished_job.error)
            and not imagenet_weights_cached(BACKBONES[trainer.backbone], trainer.input_size))


def show_result(finished_job) -> None:
    snap = finished_job.snapshot()
    run = finished_job.run
    if finished_job.error and weights_missing(finished_job):
        title = BACKBONES[finished_job.trainer.backbone].title
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
    meta = run.metadata
    if meta.get("stopped"):
        st.warning("Training was stopped early. The best model so far was kept and saved.")
    else:
        st.success("Training finished. The model is saved and ready to test.")
    history = meta.get("history") or snap["history"]
    accuracy = (meta.get("metrics") or {}).get("val_accuracy")
    if accuracy is None and history.get("val_accuracy"):
        accuracy = max(history["val_accuracy"])
    seconds = (meta.get("timings") or {}).get("train_seconds", snap["elapsed"])
    val_pictures = (meta.get("metrics") or {}).get("val_pictures")
    cards = st.columns(3)
    with cards[0]:
        ui.result_card("Best validation accuracy", ui.percent_text(accuracy),
                       f"on {val_pictures} pictures it never learned from" if val_pictures else None, tone="good")
    with cards[1]:
        ui.result_card("Training time", ui.duration_text(seconds))
    with cards[2]:
        if meta.get("fast_path"):
            ui.result_card("Fast path", "Used", "Fast path: the frozen part ran once per picture")
        elif meta.get("from_scratch"):
            ui.result_card("Fast path", "Not used", "From scratch every block learns, so every picture "
                                                    "went through the whole network each epoch.")
        else:
            ui.result_card("Fast path", "Not used", "Augmentation changes the pictures every epoch, so "
                                                    "they went through the whole network each time.")
    total = len(history.get("loss", [])) or snap["total_epochs"]
    ui.show_curves(history, total, meta.get("fine_tune_start_epoch"), key="train_curves")
    st.page_link("pages/test.py", label="Test it on new pictures", icon=":material/image_search:")
    st.caption(f"Saved in {run.path}")


if job is None:
    st.info("Press **Start training** to begin. The charts below fill in, one point per epoch.")
elif job.running:
    live_progress()
else:
    show_result(job)
