"""Experiments: compare trainings with honest error bars.

One training's score is partly luck (which pictures were held back to check it), so an
experiment trains each choice several times, on the same seeded splits for every choice,
and compares means with their 95 % intervals. Three presets a teacher clicks, and a grid of
one's own. The experiment runs as this space's job (``state.submit_job``): a worker thread,
or the training queue; a fragment polls its ``snapshot()``. Results are read back from the
saved experiment (``list_experiments``), so a finished one and an old one look the same.
"""

from __future__ import annotations

import dataclasses
import html
from typing import NamedTuple

import streamlit as st

from studio import class_pool, figures, spaces, state, widgets, words
from tlcore.backbones import BACKBONES, weights_here
from tlcore.experiments import (
    WHICH_NETWORK, ExperimentPlan, answer_sentence, configuration_of, how_many_pictures, list_experiments,
    mine_vs_class, short_labels, transfer_vs_scratch, which_network, with_weights_here,
)
from studio.i18n import _, _n, tr
from tlcore.i18n import N_, Decimal, Percent, msg, sentences
from tlcore.stats import learning_curve_sizes

PRESETS = {
    "transfer_vs_scratch": (N_("Transfer vs from scratch"), ":material/compare_arrows:",
                            N_("Does starting from ImageNet help? The network with its pretrained weights, the same "
                               "network from random weights, and a small network that never saw ImageNet.")),
    "which_network": (N_("Which network?"), ":material/hub:",
                      N_("The lesson's VGG16, ResNet50 and InceptionV3, and MobileNetV2: only the new head learns. "
                         "Networks whose weights are not on this computer are left out.")),
    "how_many_pictures": (N_("How many pictures are enough?"), ":material/stacked_line_chart:",
                          N_("The same training with 2, 5, 10, 20… pictures of each class, then all of them.")),
}  # shown with _(...)
CLASS_PRESETS = {  # in a class, to a student with pictures of their own when the class pool has some
    "mine_vs_class": (N_("My pictures vs the whole class's"), ":material/groups:",
                      N_("The same training on your pictures only, and on the whole class's (yours and the class "
                         "pool's), checked on the same held-back pictures of everyone's.")),
}
ALL_PRESETS = {**PRESETS, **CLASS_PRESETS}
YOUR_COMPARISON = N_("Your comparison")
SHOWN = "experiments_shown"  # id of the experiment whose results are shown
FOLLOWED = "experiments_followed"  # id of the last finished experiment shown by itself (then the teacher chooses)


class Choices(NamedTuple):
    backbone: str
    input_size: int
    epochs: int
    repeats: int


def render() -> None:
    st.title(_("Compare, with error bars"))
    widgets.lead(_("One training's score is partly luck: which pictures were held back to check it. An experiment "
                   "trains each choice several times, on different pictures held back (the same for every choice), "
                   "and compares the averages with their error bars."))
    data = state.ensure_dataset()
    job = state.job()
    if is_experiment(job) and not job.finished:
        progress_section(job)
    else:
        busy = job is not None and not getattr(job, "finished", True)  # running, or waiting in line
        if busy:
            st.info(_("A training of yours is running or waiting in line (see the Train page). Start an experiment "
                      "when it has finished."))
        choices = choices_section(data)
        presets_section(choices, data, busy)
        custom_section(choices, data, busy)
    results_section(job)


def is_experiment(job) -> bool:
    return job is not None and hasattr(job, "plan") and hasattr(job, "experiment")


# -- what every training shares ----------------------------------------------------------------------
def choices_section(data) -> Choices:
    st.header(_("Every training in the experiment"))
    pretrained = [name for name, spec in BACKBONES.items() if spec.pretrained]
    network, size, epochs, repeats = st.columns([2.2, 1, 1, 1.3], vertical_alignment="bottom")
    backbone = widgets.remembered(network.selectbox, _("Network"), pretrained, key="experiments_backbone",
                                  default=state.network_to_show(), allowed=pretrained,
                                  format_func=lambda name: BACKBONES[name].short_title)
    spec = BACKBONES[backbone]
    input_size = widgets.remembered(size.selectbox, _("Picture size"), spec.input_sizes, key="experiments_size",
                                    default=spec.input_size, allowed=spec.input_sizes, format_func=lambda s: f"{s}×{s}")
    epochs_value = widgets.remembered(epochs.number_input, _("Epochs"), key="experiments_epochs", default=5,
                                      min_value=1, max_value=50)
    repeats_value = widgets.remembered(repeats.number_input, _("Repeats (different pictures held back)"),
                                       key="experiments_repeats", default=3, min_value=1, max_value=10,
                                       help=_("Each repeat holds back other pictures to check on. 3 or more "
                                              "give useful error bars; 1 is quickest but gives none."))
    pictures = _n("Pictures: **{name}** ({count} picture in {classes} classes).",
                  "Pictures: **{name}** ({count} pictures in {classes} classes).", len(data),
                  name=words.md(state.shown_dataset_name()), classes=len(data.class_names))
    st.caption(_("{weights} {pictures}", weights=weights_words(backbone, input_size), pictures=pictures))
    return Choices(backbone, int(input_size), int(epochs_value), int(repeats_value))


def weights_words(backbone: str, input_size: int) -> str:
    here = weights_here(backbone, input_size)
    title = _(BACKBONES[backbone].title)
    if here == "imagenet":
        return _("Pretrained weights: ImageNet, on this computer.")
    if here is not None:
        return _("Pretrained weights: the weights file you added for {network}.", network=title)
    return _("The ImageNet weights for {network} are not on this computer: trainings that need them will try to "
             "download them and are skipped if they cannot. Add a weights file on the Model page to use them "
             "offline.", network=title)


# -- the presets and your own grid -------------------------------------------------------------------------
def preset_plan(preset: str, choices: Choices, data) -> ExperimentPlan:
    common = dict(epochs=choices.epochs, repeats=choices.repeats, input_size=choices.input_size)
    if preset == "transfer_vs_scratch":
        plan = transfer_vs_scratch(choices.backbone, **common)
    elif preset == "which_network":
        extra = [] if choices.backbone in WHICH_NETWORK else [choices.backbone]
        plan = which_network(list(WHICH_NETWORK) + extra, **common)
    elif preset == "mine_vs_class":
        plan = mine_vs_class(class_pool.student_space().pictures_dir, choices.backbone, **common)
        return dataclasses.replace(plan, dataset_name=class_pool.BOTH_SET_NAME)
    else:
        train, _validation = data.split()  # the first repeat's split: every class can give this many
        plan = how_many_pictures(choices.backbone, per_class=learning_curve_sizes(data, train), **common)
    return dataclasses.replace(plan, dataset_name=state.dataset_name())  # a preset uses the weights that are here


def presets_section(choices: Choices, data, busy: bool) -> None:
    st.header(_("Ask a question"))
    class_data = class_pool.class_set()  # the student's pictures and the class pool's, if both there are
    presets = ALL_PRESETS if class_data is not None else PRESETS
    for column, (preset, (title, icon, about)) in zip(st.columns(len(presets), gap="medium"), presets.items()):
        pictures = class_data if preset in CLASS_PRESETS else data
        plan = preset_plan(preset, choices, pictures)
        with column, st.container(border=True, key=f"experiments_card_{preset}"):
            st.markdown(f'<h3 class="tl-card-title">{html.escape(_(title))}</h3>', unsafe_allow_html=True)
            st.markdown(_(about))
            st.caption(plan_and_availability(plan, len(pictures)))
            if st.button(_("Run it"), key=f"experiments_preset_{preset}", icon=icon, type="primary",
                         disabled=busy or not plan.trainings_to_run(), width="stretch",
                         help=_("Start “{name}”", name=_(title))):
                start_experiment(plan, pictures)


def plan_words(plan: ExperimentPlan, pictures: int) -> str:
    """"6 trainings (3 choices × 2 repeats) · about 1 min 10 s on this computer": only what will run,
    timed from what this computer measured before."""
    choices = len(plan.configurations) - len(plan.left_out())
    if not choices:
        return _("Nothing to train: none of these networks has its weights on this computer")
    # i18n: "6 trainings (3 choices × 2 repeats) · about 1 min 10 s on this computer"
    return _("{trainings} ({choices} × {repeats}) · about {time} on this computer",
             trainings=_n("{count} training", "{count} trainings", plan.trainings_to_run()),
             choices=_n("{count} choice", "{count} choices", choices),
             repeats=_n("{count} repeat", "{count} repeats", plan.repeats),
             time=words.duration_text(plan.estimate_seconds(pictures)))


def availability_words(plan: ExperimentPlan) -> str:
    """"Left out, their weights are not on this computer: VGG16, ResNet50"; "" if all are here."""
    def titles(configurations) -> str:
        return ", ".join(dict.fromkeys(BACKBONES[c.backbone].short_title for c in configurations))

    if plan.left_out():
        return _("Left out, their weights are not on this computer: {networks}", networks=titles(plan.left_out()))
    if plan.missing_weights():  # your own grid: tried when it starts
        return _("Weights not on this computer (they download when it starts, or those trainings are "
                 "skipped): {networks}", networks=titles(plan.missing_weights()))
    return ""


def plan_and_availability(plan: ExperimentPlan, pictures: int, bold: bool = False) -> str:
    """What will run, then what is left out ("… · Left out, …"), the first part bold if asked."""
    what, missing = plan_words(plan, pictures), availability_words(plan)
    if bold:
        what = f"**{what}**"
    return _("{plan} · {left_out}", plan=what, left_out=missing) if missing else what


GRID_WEIGHTS = {"imagenet": N_("Pretrained (ImageNet)"), "none": N_("From scratch")}  # shown with _(...)
GRID_AUGMENT = {"off": N_("Off"), "flip": N_("On (flip left ↔ right)")}


def custom_section(choices: Choices, data, busy: bool) -> None:
    with st.expander(_("Your own comparison: choose every combination"), expanded=False):
        pretrained = [name for name, spec in BACKBONES.items() if spec.pretrained] + ["small_cnn"]
        left, right = st.columns(2)
        backbones = left.multiselect(_("Networks"), pretrained, default=[choices.backbone],
                                     key="experiments_grid_backbones", format_func={n: _(spec.title) for n, spec in BACKBONES.items()}.get)
        blocks = left.multiselect(_("Top blocks that learn (0: only the new head)"), [0, 1, 2, 3], default=[0],
                                  key="experiments_grid_blocks")
        weights = right.multiselect(_("Starting weights"), list(GRID_WEIGHTS), default=["imagenet", "none"],
                                    key="experiments_grid_weights", format_func={v: _(t) for v, t in GRID_WEIGHTS.items()}.get)
        augment = right.multiselect(_("Augmentation"), list(GRID_AUGMENT), default=["off"],
                                    key="experiments_grid_augment", format_func={v: _(t) for v, t in GRID_AUGMENT.items()}.get)
        if not (backbones and blocks and weights and augment):
            st.caption(_("Choose at least one of each to see how many trainings that is."))
            return
        try:
            plan = ExperimentPlan.grid(backbones, blocks, weights, [() if a == "off" else (a,) for a in augment],
                                       epochs=choices.epochs, repeats=choices.repeats, input_size=choices.input_size,
                                       name=YOUR_COMPARISON)
        except ValueError as error:  # a choice that cannot train (e.g. a size too small for a network)
            st.warning(tr(error))
            return
        plan = dataclasses.replace(with_weights_here(plan, choices.input_size), dataset_name=state.dataset_name())
        st.markdown(plan_and_availability(plan, len(data), bold=True))
        if st.button(_("Run this comparison"), key="experiments_grid_start", icon=":material/play_arrow:",
                     type="primary", disabled=busy):
            start_experiment(plan, data)


def start_experiment(plan: ExperimentPlan, data) -> None:
    current = state.job()
    if current is not None and not getattr(current, "finished", True):
        st.warning(_("A training of yours is already running or waiting in line: wait for it to finish, or stop it."))
        return
    from tlcore.jobs import ExperimentJob

    try:
        state.submit_job(ExperimentJob(plan, data, workspace=state.workspace()), label=plan.name)
    except (ValueError, OSError, RuntimeError) as error:  # RuntimeError: the training line said no, in words
        st.error(tr(error))
        return
    st.rerun()


# -- while it runs ----------------------------------------------------------------------------------------
def progress_section(job) -> None:
    title, stop = st.columns([4, 1.3], vertical_alignment="center")
    title.subheader(_("Running: {name}", name=plan_name(job.plan.name, job.plan.preset)))
    if stop.button(_("Stop the rest"), key="experiments_stop", icon=":material/stop:", width="stretch",
                   help=_("The training under way ends at its next step; the rest is not trained. "
                          "What finished is kept.")):
        entry = state.job_entry()
        if entry is not None and entry.active:  # waiting in line: taken out; running: stops after this step
            spaces.queue().cancel(entry.ticket)
        st.toast(_("Stopping… what finished is kept.") if job.running else _("Taken out of the line."))
        if not job.running:
            st.rerun()
    live_progress()


@st.fragment(run_every=1.0)
def live_progress() -> None:
    job = state.job()
    if not is_experiment(job):
        return
    if job.finished:
        st.rerun()  # the whole page: the choices come back and the results show
    snap = job.snapshot()
    done, total = snap["done"], max(snap["total"], 1)
    if snap["phase"] == "waiting":
        entry = state.job_entry()
        text = (_("Waiting for its turn (number {place} in line)…", place=entry.position)
                if entry is not None and entry.position else _("Waiting for its turn…"))
    elif snap["current"]:
        text = _n("{done} of {count} training done · last: {current}", "{done} of {count} trainings done · last: {current}",
                  total, done=done, current=tr(snap["current"]))
    else:
        text = _n("{done} of {count} training done", "{done} of {count} trainings done", total, done=done)
    st.progress(min(done / total, 1.0), text=text)
    left = words.duration_text(snap["remaining"]) if snap["remaining"] is not None else _("working it out…")
    st.markdown(_("**Time so far:** {elapsed} · **Time left:** {left}", elapsed=words.duration_text(snap["elapsed"]),
                  left=left))
    rows = [row.to_dict() for row in snap["rows"]]
    if rows:
        st.dataframe(table_rows(rows, short_labels([configuration_of(r) for r in rows])), hide_index=True,
                     key="experiments_live_table", column_config={code: _(label) for code, label in TABLE_COLUMNS.items()})
    for skipped in snap["skipped"]:
        # whole sentences: "{choice} was skipped." then why (an error's own sentence)
        st.caption(tr(sentences(msg("{choice} was skipped.", choice=skipped.configuration.label), skipped.reason)))


# -- results ----------------------------------------------------------------------------------------------
def results_section(job) -> None:
    saved = list_experiments(state.workspace())
    latest = finished_experiment(job)
    if latest is not None and latest.get("id") not in {e.get("id") for e in saved}:
        saved.insert(0, latest)  # not saved (an error stopped it): still show what it found
    if job is not None and is_experiment(job) and job.finished and job.error:
        st.error(tr(job.error))
    if not saved:
        running = is_experiment(job) and not job.finished
        st.info(_("Its answer appears here, on one chart, when it ends.") if running else
                _("No experiment yet: ask a question above. Its answer appears here, on one chart."))
        return
    st.header(_("Results"))
    by_id = {e.get("id"): e for e in saved}
    if latest is not None and st.session_state.get(FOLLOWED) != latest.get("id"):
        st.session_state[SHOWN] = st.session_state[FOLLOWED] = latest.get("id")  # once: the one that just ended
    if st.session_state.get(SHOWN) not in by_id:
        st.session_state[SHOWN] = saved[0].get("id")
    chosen = st.selectbox(_("Experiment"), list(by_id), key=SHOWN, format_func=lambda i: experiment_title(by_id[i]))
    show_experiment(by_id[chosen])


def finished_experiment(job) -> dict | None:
    if not is_experiment(job) or not job.finished or not hasattr(job.experiment, "rows_"):
        return None
    return job.experiment.to_dict()


def plan_name(name: str | None, preset: str | None) -> str:
    """An experiment's name in the reader's language: the presets' and "Your comparison" are ours
    (saved in English), any other name is outside text."""
    if preset in ALL_PRESETS and name == ALL_PRESETS[preset][0]:
        return _(name)
    if name == YOUR_COMPARISON:
        return _(YOUR_COMPARISON)
    return name or _("Experiment")


def experiment_title(experiment: dict) -> str:
    plan = experiment.get("plan", {})
    values = dict(when=experiment.get("created", "").replace("T", " ")[:16],
                  name=plan_name(plan.get("name"), plan.get("preset")),
                  pictures=state.shown_dataset_name(plan["dataset_name"]) if plan.get("dataset_name") else "")
    if experiment.get("stopped"):
        return (_("{when} · {name} · {pictures} · stopped early", **values) if values["pictures"]
                else _("{when} · {name} · stopped early", **values))
    return _("{when} · {name} · {pictures}", **values) if values["pictures"] else _("{when} · {name}", **values)


def show_experiment(experiment: dict) -> None:
    rows = experiment.get("rows") or []
    st.markdown(f"### {words.md(tr(answer_sentence(experiment)))}")
    skipped_note(experiment)
    if not rows:
        return
    labels = short_labels([configuration_of(r) for r in rows])
    answer_chart(experiment, rows, labels)
    st.dataframe(table_rows(rows, labels), hide_index=True, key="experiments_table",
                 column_config={**{code: _(label) for code, label in TABLE_COLUMNS.items()},
                                "Choice": st.column_config.TextColumn(_("Choice"), width="medium")})
    # Full width, one under the other: long names stay readable on a projector.
    if preset_of(experiment) in ("transfer_vs_scratch", "how_many_pictures"):  # the others' answer is this one
        st.plotly_chart(figures.accuracy_time_figure(rows, labels, _("Right answers against training time")),
                        key="experiments_scatter", config=figures.CHART_CONFIG)
    st.plotly_chart(figures.per_class_figure(list(rows[0]["per_class_accuracy"]),
                                             list(zip(labels, (r["per_class_accuracy"] for r in rows))),
                                             _("Right answers in each class")),
                    key="experiments_per_class", config=figures.CHART_CONFIG)


def preset_of(experiment: dict) -> str | None:
    return (experiment.get("plan") or {}).get("preset")


def answer_chart(experiment: dict, rows: list[dict], labels: list[str]) -> None:
    """The one chart the preset's answer is read off, large, for a projector."""
    preset = preset_of(experiment)
    name = plan_name((experiment.get("plan") or {}).get("name"), preset)
    if preset == "transfer_vs_scratch":
        figure = figures.experiment_curves_figure(curves(experiment, rows, labels),
                                                  _("{name}: right answers, epoch by epoch", name=name))
    elif preset == "how_many_pictures":
        figure = figures.learning_curve_figure(rows, len(rows[0]["per_class_accuracy"]),
                                               _("{name} (error bars: 95% interval)", name=name))
    else:
        figure = figures.accuracy_time_figure(rows, labels, _("{name} — right answers against training time",
                                                              name=name))
    st.plotly_chart(figure, key="experiments_answer", config=figures.CHART_CONFIG)


def curves(experiment: dict, rows: list[dict], labels: list[str]) -> list[tuple[str, list, list]]:
    """(label, mean validation accuracy per epoch, spread per epoch) of each configuration, over its repeats."""
    import numpy as np

    planned = [configuration_of(c) for c in (experiment.get("plan") or {}).get("configurations", [])]
    series = []
    for row, label in zip(rows, labels):
        wanted = configuration_of(row)
        histories = [r["history"].get("val_accuracy", []) for r in experiment.get("repeats", [])
                     if r["configuration"] < len(planned) and planned[r["configuration"]] == wanted]
        longest = max((len(h) for h in histories), default=0)
        by_epoch = [[h[e] for h in histories if len(h) > e] for e in range(longest)]
        series.append((label, [float(np.mean(v)) for v in by_epoch],
                       [float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for v in by_epoch]))
    return series


def skipped_note(experiment: dict) -> None:
    skipped = experiment.get("skipped") or []
    if skipped:
        st.info(_("**Skipped, not failed** (they could not start on this computer):") + "\n"
                + "\n".join(f"- {words.md(tr(item['configuration']))}: {words.md(tr(item['reason']))}"
                            for item in skipped))
    if experiment.get("stopped"):
        st.warning(_("Stopped early: the rest of the experiment was not trained. What finished is shown."))


def interval_words(ci, repeats: int, percent) -> str:
    """Two repeats give an interval so wide (0% to 100%, often) that it says nothing: say why instead."""
    if not ci or repeats < 2:
        return _("— (one repeat)")
    if repeats < 3:
        return _n("— (too wide with {count} repeat: use 3 or more)", "— (too wide with {count} repeats: use 3 or more)",
                  repeats)
    return _("{low} to {high}", low=percent(ci[0]), high=percent(ci[1]))


# The table's columns: the rows' keys stay these codes, the headers are shown with _(...)
TABLE_COLUMNS = {"Choice": N_("Choice"), "Repeats": N_("Repeats"), "Right answers (mean)": N_("Right answers (mean)"),
                 "Spread (±)": N_("Spread (±)"), "95% interval": N_("95% interval"),
                 "Training time": N_("Training time"), "Model size": N_("Model size"), "One picture": N_("One picture"),
                 "Reused the cache": N_("Reused the cache"), "Training pictures": N_("Training pictures")}


def table_rows(rows: list[dict], labels: list[str]) -> list[dict]:
    """One line per choice, in words a class reads: the mean, how much repeats differed, the interval."""
    def percent(value):
        return "—" if value is None else _("{percent}", percent=Percent(value))

    table = []
    for label, row in zip(labels, rows):
        ci = row.get("val_accuracy_ci95")
        table.append({
            "Choice": label,
            "Repeats": row["repeats"],
            "Right answers (mean)": percent(row["val_accuracy_mean"]),
            "Spread (±)": ("—" if row.get("val_accuracy_sd") is None
                           else _n("± {count} point", "± {count} points", round(100 * row["val_accuracy_sd"]))),
            "95% interval": interval_words(ci, row["repeats"], percent),
            "Training time": words.duration_text(row["train_seconds_mean"]),
            "Model size": "—" if row.get("model_mb") is None else _("{size} MB", size=Decimal(row["model_mb"], 1)),
            "One picture": "—" if row.get("latency_ms") is None else _("{time} ms", time=round(row["latency_ms"])),
            "Reused the cache": _("yes") if row.get("cache_reused") else _("no"),
            "Training pictures": row.get("train_pictures"),
        })
    return table
