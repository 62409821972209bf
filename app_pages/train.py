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

from studio import class_pool, navigation, spaces, state, widgets, words
from studio.i18n import _, _n, language, tr
from studio.words import duration_text, percent_text
from tlcore.i18n import N_, Decimal, Percent, format_value
from tlcore.backbones import BACKBONES, WeightsUnavailableError, networks_with_weights, weights_label
from tlcore.queue import AlreadyQueued, QueueError
from tlcore.data import DatasetError
from tlcore.jobs import ExperimentJob, TrainingJob

CURVE_HEIGHT = 300  # px: both curves and the controls above them fit a 720-px-high screen
# A place in line changes slowly; curves change every batch. Thirty students waiting each redrew
# every second in the load test, and their reruns slowed the one training that ran (see docs/scaling.md).
WAITING_EVERY, TRAINING_EVERY = 3.0, 1.0
CURVES_KEY = "train_curves"
FLASH, STOPPING = "train_flash", "train_stopping"  # a message after a rerun; the ticket asked to stop
STOPPING_WORDS = N_("Stopping after this step… the best model so far is kept.")
REPLACE_ASKED, REPLACE_WHY = "train_replace_asked", "train_replace_why"


def render() -> None:
    entry, job = state.job_entry(), state.job()
    if isinstance(job, ExperimentJob) and entry.active:
        experiment_running(entry)
        return
    active = entry is not None and entry.active and isinstance(job, TrainingJob)
    # While a job waits or runs, show what it was started with, even if the Model page has changed since.
    settings = job.settings if active else state.settings()
    data, data_name = (job.dataset, job.dataset_name or state.dataset_name()) if active else next_set()
    header_section(settings, data, data_name, entry if active else None)
    if active:
        live_progress(entry.state, settings.total_epochs)
    elif isinstance(job, TrainingJob) and job.finished:
        result_section(job)
    else:
        if entry is not None and entry.error:  # ended before it began: cancelled, or the server restarted
            st.warning(tr(entry.error))
        last_run_section(settings)


def last_run_section(settings) -> None:
    """No training in this server's memory (a restart, or none yet): the space's chosen run, if any."""
    run = state.default_run(state.all_runs())
    if run is None:
        st.caption(_("Press **Start training** to begin. The charts fill in, one point per whole epoch."))
        widgets.show_curves({}, settings.total_epochs, None, key=CURVES_KEY, height=CURVE_HEIGHT)
        return
    record = run.record
    st.caption(_("Your last model ({run}). Press **Start training** for a new one.",
                 run=words.md(tr(words.run_label(run, False)))))
    if record.settings is None or not record.epochs_run:  # imported: no curves to show
        widgets.show_curves({}, settings.total_epochs, None, key=CURVES_KEY, height=CURVE_HEIGHT)
        return
    widgets.show_curves({name: list(values) for name, values in record.history.items()},
                        max(record.settings.total_epochs, record.epochs_run), record.fine_tune_start_epoch,
                        key=CURVES_KEY, height=CURVE_HEIGHT)
    curves_in_numbers(record.history)
    result_cards(record, record.timings.get("train_seconds") or 0.0)


def next_set():
    """What the next training learns from (a student may have chosen the class pool on the Data page);
    their own pictures, with a warning, while the pool cannot be trained on (Start then says why)."""
    try:
        return class_pool.training_set()
    except DatasetError as error:
        st.warning(tr(error))
        return state.ensure_dataset(), state.dataset_name()


def experiment_running(entry) -> None:
    # i18n: the Train page's title (a verb: teach the network)
    st.title(_("Train"), anchor=False)
    st.info(_("An experiment is using your place in the training line: a new training can start when it "
              "ends (or stop it on the Experiments page)."))
    navigation.link("experiments", _("Go to Experiments"), icon=":material/science:")


# -- what will be trained, and the buttons -----------------------------------------------------------
def header_section(settings, data, data_name: str, entry) -> None:
    """Compact, for a projector: the title with Start and Stop beside it, then one line saying
    what is (or will be) trained. ``entry``: the space's waiting or running job, or None."""
    running, waiting = entry is not None and entry.state == "running", entry is not None and entry.state == "queued"
    title_column, start_column, stop_column = st.columns([4, 2, 1.2], vertical_alignment="center")
    title_column.title(_("Train"), anchor=False)
    start = start_column.button(_("Start training"), key="train_start", type="primary", disabled=running,
                                icon=":material/play_arrow:", width="stretch")
    stop = stop_column.button(_("Cancel") if waiting else _("Stop"), key="train_stop", disabled=entry is None,
                              icon=":material/stop:", width="stretch",
                              help=_("Takes your training out of the line.") if waiting else
                              _("Ends at the next step and keeps the best model so far."))
    about_column, link_column = st.columns([3, 1], vertical_alignment="center")
    what = training_words(settings, data, data_name)
    about_column.markdown(_("**Training now:** {what}", what=what) if running else
                          _("**Waiting in line:** {what}", what=what) if waiting else
                          _("**Next training:** {what}", what=what))
    with link_column:
        navigation.link("model", _("Change settings"), icon=":material/tune:")
    if stop and entry is not None:
        stop_or_leave(entry)
    if start and not running:  # while one waits, the page asks before replacing it
        start_training(state.settings())
    replace_question()
    widgets.show_flash(FLASH)


def stop_or_leave(entry) -> None:
    """Said in a line under the buttons, not a toast: on a phone a toast covers Start."""
    spaces.queue().cancel(entry.ticket)
    if entry.state == "queued":
        widgets.flash(FLASH, "info", _("Your training left the line."))
        st.rerun()
    st.session_state[STOPPING] = entry.ticket  # the progress below says so until it ends


def training_words(settings, data, data_name: str) -> str:
    """"MobileNetV2 (0.35) · ImageNet weights · 36 pictures of flowers in 3 classes · 8 + 3 epochs"."""
    if settings.weights == "imagenet":
        weights = _("ImageNet weights")
    elif settings.from_scratch:
        weights = _("from scratch (every block starts random)")
    else:  # in a class the teacher added it, not the student who reads this
        # i18n: {weights} is "the weights file added on this computer"; {file} the file's name
        weights = _("{weights} ({file})", weights=words.added_weights_words(spaces.classroom()),
                    file=weights_label(settings.weights).removeprefix("File: "))
    if settings.uses_fine_tuning:
        # i18n: {epochs} is "8 + 3": epochs for the head, then for fine-tuning
        how = _n("{epochs} epochs (head, then the top {count} block)", "{epochs} epochs (head, then the top {count} blocks)",
                 settings.learning_blocks, epochs=words.epochs_text(settings))
    elif settings.from_scratch:
        how = _n("{count} epoch (every block learns)", "{count} epochs (every block learns)", settings.total_epochs)
    else:
        how = _n("{count} epoch (only the new head learns)", "{count} epochs (only the new head learns)",
                 settings.total_epochs)
    classes = _n("{count} class", "{count} classes", len(data.class_names))
    # i18n: "MobileNetV2 (0.35) · ImageNet weights · 36 pictures (flowers, 3 classes) · 8 + 3 epochs (…)"
    return _n("{network} · {weights} · {count} picture ({set}, {classes}) · {how}",
              "{network} · {weights} · {count} pictures ({set}, {classes}) · {how}", len(data),
              network=words.md(settings.spec.short_title), weights=words.md(weights),
              set=words.md(state.shown_dataset_name(data_name)),
              classes=classes, how=how)


def start_training(settings, replace: bool = False) -> None:
    """Put a training of the chosen pictures (``class_pool.training_set``) in the line."""
    try:
        data, data_name = class_pool.training_set()
        with st.spinner(_("Preparing the training…")):
            new_job = TrainingJob(settings, data, state.workspace(), dataset_name=data_name,
                                  way_out=spaces.WORKSPACE_WAY_OUT)
        state.submit_job(new_job, label=settings.spec.short_title, replace=replace)
    except AlreadyQueued as already:
        if already.state == "running":  # started from another tab meanwhile
            st.error(tr(already))
            return
        st.session_state[REPLACE_ASKED] = True  # a training of this space already waits: ask first
        st.session_state[REPLACE_WHY] = tr(already)
        return
    except (ValueError, OSError, QueueError) as error:
        st.error(tr(error))
        return
    st.session_state.pop(REPLACE_ASKED, None)
    st.rerun()


def replace_question() -> None:
    """A second Start while this space's training waits in line: replace it (keeping its place)?"""
    if not st.session_state.get(REPLACE_ASKED):
        return
    st.warning(st.session_state.get(REPLACE_WHY, ""))
    replace_column, keep_column, _rest = st.columns([1.4, 1, 2])
    if replace_column.button(_("Replace it with this one"), key="train_replace", type="primary"):
        st.session_state.pop(REPLACE_ASKED, None)
        start_training(state.settings(), replace=True)
    if keep_column.button(_("Keep the one in line"), key="train_keep"):
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
    entry, _job = current_entry(drawn_state)
    waiting_section(entry)


@st.fragment(run_every=TRAINING_EVERY)
def training_progress(drawn_state: str) -> None:
    entry, current = current_entry(drawn_state)
    if st.session_state.get(STOPPING) == entry.ticket:
        st.info(_(STOPPING_WORDS), icon=":material/stop_circle:")
    progress_section(current.snapshot())


def waiting_section(entry) -> None:
    """Where this training is in the server's line, and when it should start."""
    if spaces.queue().paused:
        st.info(_("Your training is number {position} in line. The teacher has paused trainings: "
                  "it starts when they carry on.", position=entry.position))
        return
    st.info(" ".join([_("Your training waits in line: number **{position}**.", position=entry.position),
                      line_words(entry),
                      _("You can keep working on the other pages, or close this tab: it will run anyway.")]))


def line_words(entry) -> str:
    """What is ahead of this training, and when it should start ("1 training is running now and
    2 trainings wait before yours. It should start in about 40 s (at 10:42).")."""
    running = sum(1 for other in spaces.queue().snapshot() if other.state == "running")
    ahead = entry.position - 1
    before = " ".join(filter(None, [
        _n("{count} training is running now.", "{count} trainings are running now.", running) if running else "",
        _n("{count} training waits before yours.", "{count} trainings wait before yours.", ahead) if ahead else ""]))

    wait = None if entry.estimated_start is None else max(0.0, entry.estimated_start - time.time())
    # A training that runs longer than guessed leaves no wait to count down: say what it waits for.
    if wait is not None and wait < 5:
        when = _("It should start as soon as the one before it ends.")
    elif wait is not None:
        when = _("It should start in about {duration} (at {clock}).", duration=duration_text(wait),
                 clock=time.strftime("%H:%M", time.localtime(entry.estimated_start)))
    else:
        when = _("It should start soon.")
    return " ".join(filter(None, [before, when]))


def progress_section(snap: dict) -> None:
    download = snap.get("download")
    if download is not None:  # ImageNet weights arrive first (once per computer)
        st.progress(download.fraction or 0.0, text=_("Downloading the ImageNet weights ({file}): {progress}",
                                                     file=download.file_name, progress=tr(download.words())))
    else:
        fraction, text = words.progress_line(snap)
        st.progress(fraction, text=text)
    history = snap["history"]
    last = history.get("val_accuracy") or []
    remaining = duration_text(snap["remaining"]) if snap["remaining"] is not None else _("working it out…")
    if last and snap.get("val_pictures"):
        accuracy = _n("{accuracy} on {count} picture", "{accuracy} on {count} pictures", snap["val_pictures"],
                      accuracy=percent_text(last[-1]))
    else:
        accuracy = percent_text(last[-1]) if last else "—"
    st.markdown(_("**Time so far:** {elapsed} · **Time left:** {remaining} · "
                  "**Validation accuracy (last whole epoch):** {accuracy}", elapsed=duration_text(snap["elapsed"]),
                  remaining=remaining, accuracy=accuracy))
    widgets.show_curves(history, max(int(snap["total_epochs"] or 0), 1), snap["fine_tune_start_epoch"],
                        key=CURVES_KEY, height=CURVE_HEIGHT)
    curves_in_numbers(history)


# -- when it is over ----------------------------------------------------------------------------------
def result_section(finished_job) -> None:
    if isinstance(finished_job.exception, WeightsUnavailableError):
        weights_missing(finished_job.settings.spec.title)
        return
    if finished_job.error:
        st.error(tr(finished_job.error))
    if finished_job.details:
        what_happened(finished_job.details)
    run = finished_job.run
    if run is None:
        if not finished_job.error:
            st.info(_("Training was stopped before a whole epoch was learned; nothing was saved."))
        return
    record = run.record
    if record.stopped:
        st.warning(words.stopped_words(record))
    else:
        how_good = words.accuracy_text(record.val_accuracy, record.val_pictures, what="validation pictures")
        # one line at 1280 px; i18n: {accuracy} is "83% right on 24 validation pictures (likely 64–93%)"
        st.success(_("Training finished: {accuracy}. Saved, ready to test.", accuracy=how_good))
    if words.near_copies_words(record):  # before the number, which it makes look better than it is
        st.warning(words.near_copies_words(record))
    planned = finished_job.settings.total_epochs  # a stopped run's chart shows how far it got
    widgets.show_curves({name: list(values) for name, values in record.history.items()},
                        max(planned, record.epochs_run), record.fine_tune_start_epoch, key=CURVES_KEY,
                        height=CURVE_HEIGHT)
    curves_in_numbers(record.history)
    result_cards(record, finished_job.snapshot()["elapsed"])
    navigation.link("test", _("Test it on new pictures"), icon=":material/image_search:")
    if not spaces.classroom():  # a student's folder name is the key to their space: never on a projector
        st.caption(_("Saved in {folder}", folder=run.path))


CURVE_COLUMNS = {  # history key -> its column in "The numbers"
    "accuracy": N_("Accuracy on training pictures"), "val_accuracy": N_("Accuracy on validation pictures"),
    "loss": N_("Loss on training pictures"), "val_loss": N_("Loss on validation pictures"),
}


def curves_in_numbers(history: dict) -> None:
    """The curves as a table, one click away (for a screen reader, or to read exact values)."""
    epochs = max((len(history.get(name) or []) for name in CURVE_COLUMNS), default=0)
    if not epochs:
        return
    lang = language()
    rows = []
    for epoch in range(epochs):
        row = {_("Epoch"): format_value(epoch + 1, lang)}
        for name, label in CURVE_COLUMNS.items():
            values = list(history.get(name) or [])
            value = values[epoch] if epoch < len(values) else None
            shown = "—" if value is None else format_value(
                Percent(value) if "accuracy" in name else Decimal(value, 3), lang)
            row[_(label)] = shown
        rows.append(row)
    with st.expander(_("The numbers behind the charts")):
        st.table(rows)


def result_cards(record, elapsed: float) -> None:
    best_column, time_column = st.columns(2)
    with best_column:
        likely = words.interval_text(record.val_accuracy, record.val_pictures)
        if not record.val_pictures:
            note = None
        elif record.best_epoch:
            # i18n: {likely} is "likely 64–93%"
            note = _n("on {count} picture it never learned from (epoch {epoch}) · {likely} on new ones",
                      "on {count} pictures it never learned from (epoch {epoch}) · {likely} on new ones",
                      record.val_pictures, epoch=record.best_epoch, likely=likely)
        else:
            note = _n("on {count} picture it never learned from · {likely} on new ones",
                      "on {count} pictures it never learned from · {likely} on new ones",
                      record.val_pictures, likely=likely)
        widgets.result_card(_("Best validation accuracy"), percent_text(record.val_accuracy), note,
                            tone="warn" if words.near_copies_words(record) else "good")
    with time_column:
        widgets.result_card(_("Training time"), duration_text(record.timings.get("train_seconds", elapsed)),
                            tr(words.speed_words(record)))


def weights_missing(title: str) -> None:
    st.error(_("The ImageNet weights for {network} are not on this computer, and they could not be "
               "downloaded (no internet connection?).", network=title))
    ready = [BACKBONES[name].short_title for name in networks_with_weights()]
    ways = ([_("**Choose a network that is ready on this computer:** {networks}.", networks=words.md(", ".join(ready)))]
            if ready else []) + [
        _("**Add a weights file** for this network (copied from a computer with internet)."),
        _("Choose **None — from scratch** (needs far more pictures and time).")]
    st.markdown(_("**Ways out**, on the Model page:") + "\n"
                + "\n".join(f"{number}. {way}" for number, way in enumerate(ways, start=1)))
    navigation.link("model", _("Go to the Model page"), icon=":material/tune:")


def what_happened(details: str) -> None:
    """The failure's technical details, for the teacher (or a colleague) who asks."""
    with st.expander(_("What happened? (technical details)")):
        st.caption(_("The same details are in the terminal that started the studio."))

        st.code(details, language=None)
