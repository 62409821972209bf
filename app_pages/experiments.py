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
from typing import NamedTuple

import streamlit as st

from studio import figures, navigation, spaces, state, widgets, words
from tlcore.backbones import BACKBONES
from tlcore.experiments import (
    WHICH_NETWORK, ExperimentPlan, answer_sentence, configuration_of, how_many_pictures, list_experiments,
    short_labels, transfer_vs_scratch, which_network, with_weights_here,
)
from tlcore.understand.features import weights_here
from tlcore.understand.stats import learning_curve_sizes

PRESETS = {
    "transfer_vs_scratch": ("Transfer vs from scratch", ":material/compare_arrows:",
                            "Does starting from ImageNet help? The network with its pretrained weights, the same "
                            "network from random weights, and a small network that never saw ImageNet."),
    "which_network": ("Which network?", ":material/hub:",
                      "The lesson's VGG16, ResNet50 and InceptionV3, and MobileNetV2: only the new head learns. "
                      "Networks whose weights are not on this computer are skipped."),
    "how_many_pictures": ("How many pictures are enough?", ":material/stacked_line_chart:",
                          "The same training with 2, 5, 10, 20… pictures of each class, then all of them."),
}
SIZES = (96, 128, 160, 224, 299)
SHOWN = "experiments_shown"  # id of the experiment whose results are shown
FOLLOWED = "experiments_followed"  # id of the last finished experiment shown by itself (then the teacher chooses)


class Choices(NamedTuple):
    backbone: str
    input_size: int
    epochs: int
    repeats: int


def render() -> None:
    st.title("Compare, with error bars")
    widgets.lead("One training's score is partly luck: which pictures were held back to check it. An experiment "
                 "trains each choice several times, on different pictures held back (the same for every choice), "
                 "and compares the averages with their error bars.")
    data = state.ensure_dataset()
    job = state.job()
    if is_experiment(job) and not job.finished:
        progress_section(job)
    else:
        busy = job is not None and not getattr(job, "finished", True)  # running, or waiting in line
        if busy:
            st.info("A training of yours is running or waiting in line (see the Train page). Start an experiment "
                    "when it has finished.")
        choices = choices_section(data)
        presets_section(choices, data, busy)
        custom_section(choices, data, busy)
    results_section(job)


def is_experiment(job) -> bool:
    return job is not None and hasattr(job, "plan") and hasattr(job, "experiment")


# -- what every training shares ----------------------------------------------------------------------
def choices_section(data) -> Choices:
    st.subheader("Every training in the experiment")
    pretrained = [name for name, spec in BACKBONES.items() if spec.pretrained]
    network, size, epochs, repeats = st.columns([2.2, 1, 1, 1.3], vertical_alignment="bottom")
    backbone = network.selectbox("Network", pretrained, key=remembered("experiments_backbone",
                                                                       default_backbone(pretrained)),
                                 format_func=lambda name: BACKBONES[name].short_title)
    spec = BACKBONES[backbone]
    sizes = [s for s in SIZES if s >= spec.min_input_size]
    remembered("experiments_size", spec.input_size)
    if st.session_state["experiments_size"] not in sizes:
        st.session_state["experiments_size"] = min(sizes, key=lambda s: abs(s - spec.input_size))
    input_size = size.selectbox("Picture size", sizes, key="experiments_size", format_func=lambda s: f"{s}×{s}")
    epochs_value = epochs.number_input("Epochs", 1, 50, key=remembered("experiments_epochs", 5))
    repeats_value = repeats.number_input("Repeats (different pictures held back)", 1, 10,
                                         key=remembered("experiments_repeats", 3),
                                         help="Each repeat holds back other pictures to check on. 3 or more "
                                              "give useful error bars; 1 is quickest but gives none.")
    for key in ("experiments_backbone", "experiments_size", "experiments_epochs", "experiments_repeats"):
        st.session_state[f"{key}_kept"] = st.session_state[key]
    st.caption(f"{weights_words(backbone, input_size)} Pictures: **{words.md(state.dataset_name())}** "
               f"({words.plural(len(data), 'picture')} in {words.plural(len(data.class_names), 'class', 'classes')}).")
    return Choices(backbone, int(input_size), int(epochs_value), int(repeats_value))


def remembered(key: str, default) -> str:
    """``key``, its widget starting from the value chosen last time: Streamlit forgets a widget's
    value while a page does not draw it (during an experiment, or on another page)."""
    if key not in st.session_state:
        st.session_state[key] = st.session_state.get(f"{key}_kept", default)
    return key


def default_backbone(pretrained: list[str]) -> str:
    """The Model page's network if its weights are here, else the first network whose weights are."""
    chosen = state.settings().backbone
    for name in [chosen] + pretrained:
        if name in pretrained and weights_here(name) is not None:
            return name
    return chosen if chosen in pretrained else pretrained[0]


def weights_words(backbone: str, input_size: int) -> str:
    here = weights_here(backbone, input_size)
    title = BACKBONES[backbone].title
    if here == "imagenet":
        return "Pretrained weights: ImageNet, on this computer."
    if here is not None:
        return f"Pretrained weights: the weights file you added for {title}."
    return (f"The ImageNet weights for {title} are not on this computer: trainings that need them will try to "
            "download them and are skipped if they cannot. Add a weights file on the Model page to use them offline.")


# -- the presets and your own grid -------------------------------------------------------------------------
def preset_plan(preset: str, choices: Choices, data) -> ExperimentPlan:
    common = dict(epochs=choices.epochs, repeats=choices.repeats, input_size=choices.input_size)
    if preset == "transfer_vs_scratch":
        plan = transfer_vs_scratch(choices.backbone, **common)
    elif preset == "which_network":
        extra = [] if choices.backbone in WHICH_NETWORK else [choices.backbone]
        plan = which_network(list(WHICH_NETWORK) + extra, **common)
    else:
        train, _ = data.split(0.2, 0)  # the first repeat's split: every class can give this many
        plan = how_many_pictures(choices.backbone, per_class=learning_curve_sizes(data, train), **common)
    return dataclasses.replace(with_weights_here(plan, choices.input_size), dataset_name=state.dataset_name())


def presets_section(choices: Choices, data, busy: bool) -> None:
    st.subheader("Ask a question")
    for column, (preset, (title, icon, about)) in zip(st.columns(len(PRESETS), gap="medium"), PRESETS.items()):
        plan = preset_plan(preset, choices, data)
        with column, st.container(border=True, key=f"experiments_card_{preset}"):
            st.markdown(f"#### {title}")
            st.markdown(about)
            st.caption(plan_words(plan, len(data)) + availability_words(plan))
            if st.button("Run it", key=f"experiments_preset_{preset}", icon=icon, type="primary",
                         disabled=busy, width="stretch", help=f"Start “{title}”"):
                start_experiment(plan, data)


def plan_words(plan: ExperimentPlan, pictures: int) -> str:
    """"6 trainings (3 choices × 2 repeats) · about 1 min 10 s on this computer"."""
    return (f"{words.plural(plan.trainings, 'training')} ({words.plural(len(plan.configurations), 'choice')} × "
            f"{words.plural(plan.repeats, 'repeat')}) · about {words.duration_text(plan.estimate_seconds(pictures))}")


def availability_words(plan: ExperimentPlan) -> str:
    """" · Not on this computer (skipped unless they download): VGG16, ResNet50"; "" if all are here."""
    missing = list(dict.fromkeys(BACKBONES[c.backbone].short_title for c in plan.configurations
                                 if c.weights == "imagenet" and weights_here(c.backbone, plan.input_size) is None))
    return f" · Weights not on this computer (skipped unless they download): {', '.join(missing)}" if missing else ""


GRID_WEIGHTS = {"imagenet": "Pretrained (ImageNet)", "none": "From scratch"}
GRID_AUGMENT = {"off": "Off", "flip": "On (flip left ↔ right)"}


def custom_section(choices: Choices, data, busy: bool) -> None:
    with st.expander("Your own comparison: choose every combination", expanded=False):
        pretrained = [name for name, spec in BACKBONES.items() if spec.pretrained] + ["small_cnn"]
        left, right = st.columns(2)
        backbones = left.multiselect("Networks", pretrained, default=[choices.backbone],
                                     key="experiments_grid_backbones", format_func=lambda name: BACKBONES[name].title)
        blocks = left.multiselect("Top blocks that learn (0: only the new head)", [0, 1, 2, 3], default=[0],
                                  key="experiments_grid_blocks")
        weights = right.multiselect("Starting weights", list(GRID_WEIGHTS), default=["imagenet", "none"],
                                    key="experiments_grid_weights", format_func=GRID_WEIGHTS.get)
        augment = right.multiselect("Augmentation", list(GRID_AUGMENT), default=["off"],
                                    key="experiments_grid_augment", format_func=GRID_AUGMENT.get)
        if not (backbones and blocks and weights and augment):
            st.caption("Choose at least one of each to see how many trainings that is.")
            return
        try:
            plan = ExperimentPlan.grid(backbones, blocks, weights, [() if a == "off" else (a,) for a in augment],
                                       epochs=choices.epochs, repeats=choices.repeats, input_size=choices.input_size,
                                       name="Your comparison")
        except ValueError as error:  # a choice that cannot train (e.g. a size too small for a network)
            st.warning(str(error))
            return
        plan = dataclasses.replace(with_weights_here(plan, choices.input_size), dataset_name=state.dataset_name())
        st.markdown(f"**{plan_words(plan, len(data))}**{availability_words(plan)}")
        if st.button("Run this comparison", key="experiments_grid_start", icon=":material/play_arrow:",
                     type="primary", disabled=busy):
            start_experiment(plan, data)


def start_experiment(plan: ExperimentPlan, data) -> None:
    current = state.job()
    if current is not None and not getattr(current, "finished", True):
        st.warning("A training of yours is already running or waiting in line: wait for it to finish, or stop it.")
        return
    from tlcore.jobs import ExperimentJob

    try:
        new_job = ExperimentJob(plan, data, workspace=state.workspace())
        # The estimate lets the training line tell others in the class when their turn comes.
        state.submit_job(new_job, label=plan.name, estimate_seconds=plan.estimate_seconds(len(data)))
    except (ValueError, OSError, RuntimeError) as error:  # RuntimeError: the training line said no, in words
        st.error(str(error))
        return
    st.rerun()


# -- while it runs ----------------------------------------------------------------------------------------
def progress_section(job) -> None:
    title, stop = st.columns([4, 1.3], vertical_alignment="center")
    title.subheader(f"Running: {job.plan.name}")
    if stop.button("Stop the rest", key="experiments_stop", icon=":material/stop:", width="stretch",
                   help="The training under way ends at its next step; the rest is not trained. "
                        "What finished is kept."):
        entry = state.job_entry()
        if entry is not None and entry.active:  # waiting in line: taken out; running: stops after this step
            spaces.queue().cancel(entry.ticket)
        st.toast("Stopping… what finished is kept." if job.running else "Taken out of the line.")
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
        place = f" (number {entry.position} in line)" if entry is not None and entry.position else ""
        text = f"Waiting for its turn{place}…"
    else:
        last = f" · last: {snap['current']}" if snap["current"] else ""
        text = f"{done} of {words.plural(total, 'training')} done{last}"
    st.progress(min(done / total, 1.0), text=text)
    left = words.duration_text(snap["remaining"]) if snap["remaining"] is not None else "working it out…"
    st.markdown(f"**Time so far:** {words.duration_text(snap['elapsed'])} · **Time left:** {left}")
    rows = [row.to_dict() for row in snap["rows"]]
    if rows:
        st.dataframe(table_rows(rows, short_labels([configuration_of(r) for r in rows])), hide_index=True,
                     key="experiments_live_table")
    for skipped in snap["skipped"]:
        st.caption(f"Skipped: {skipped.configuration.label} — {skipped.reason}")


# -- results ----------------------------------------------------------------------------------------------
def results_section(job) -> None:
    saved = list_experiments(state.workspace())
    latest = finished_experiment(job)
    if latest is not None and latest.get("id") not in {e.get("id") for e in saved}:
        saved.insert(0, latest)  # not saved (an error stopped it): still show what it found
    if job is not None and is_experiment(job) and job.finished and job.error:
        st.error(job.error)
    if not saved:
        st.info("No experiment yet: ask a question above. Its answer appears here, on one chart.")
        return
    st.header("Results")
    by_id = {e.get("id"): e for e in saved}
    if latest is not None and st.session_state.get(FOLLOWED) != latest.get("id"):
        st.session_state[SHOWN] = st.session_state[FOLLOWED] = latest.get("id")  # once: the one that just ended
    if st.session_state.get(SHOWN) not in by_id:
        st.session_state[SHOWN] = saved[0].get("id")
    chosen = st.selectbox("Experiment", list(by_id), key=SHOWN, format_func=lambda i: experiment_title(by_id[i]))
    show_experiment(by_id[chosen])


def finished_experiment(job) -> dict | None:
    if not is_experiment(job) or not job.finished or not hasattr(job.experiment, "rows_"):
        return None
    return job.experiment.to_dict()


def experiment_title(experiment: dict) -> str:
    plan = experiment.get("plan", {})
    when = experiment.get("created", "").replace("T", " ")[:16]
    on = f" · {plan['dataset_name']}" if plan.get("dataset_name") else ""
    stopped = " · stopped early" if experiment.get("stopped") else ""
    return f"{when} · {plan.get('name', 'Experiment')}{on}{stopped}"


def show_experiment(experiment: dict) -> None:
    rows = experiment.get("rows") or []
    st.markdown(f"### {words.md(answer_sentence(experiment))}")
    skipped_note(experiment)
    if not rows:
        return
    labels = short_labels([configuration_of(r) for r in rows])
    answer_chart(experiment, rows, labels)
    st.dataframe(table_rows(rows, labels), hide_index=True, key="experiments_table",
                 column_config={"Choice": st.column_config.TextColumn("Choice", width="medium")})
    # Full width, one under the other: long names stay readable on a projector.
    if preset_of(experiment) in ("transfer_vs_scratch", "how_many_pictures"):  # the others' answer is this one
        st.plotly_chart(figures.accuracy_time_figure(rows, labels, "Right answers against training time"),
                        key="experiments_scatter", config=figures.CHART_CONFIG)
    st.plotly_chart(figures.per_class_figure(list(rows[0]["per_class_accuracy"]),
                                             list(zip(labels, (r["per_class_accuracy"] for r in rows))),
                                             "Right answers in each class"),
                    key="experiments_per_class", config=figures.CHART_CONFIG)


def preset_of(experiment: dict) -> str | None:
    return (experiment.get("plan") or {}).get("preset")


def answer_chart(experiment: dict, rows: list[dict], labels: list[str]) -> None:
    """The one chart the preset's answer is read off, large, for a projector."""
    preset, name = preset_of(experiment), (experiment.get("plan") or {}).get("name", "Experiment")
    if preset == "transfer_vs_scratch":
        figure = figures.experiment_curves_figure(curves(experiment, rows, labels),
                                                  f"{name}: right answers, epoch by epoch")
    elif preset == "how_many_pictures":
        figure = figures.learning_curve_figure(rows, len(rows[0]["per_class_accuracy"]),
                                               f"{name} (error bars: 95% interval)")
    else:
        figure = figures.accuracy_time_figure(rows, labels, f"{name} — right answers against training time")
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
        st.info("**Skipped, not failed** (they could not start on this computer):\n"
                + "\n".join(f"- {words.md(item['configuration'])}: {words.md(item['reason'])}" for item in skipped))
    if experiment.get("stopped"):
        st.warning("Stopped early: the rest of the experiment was not trained. What finished is shown.")


def interval_words(ci, repeats: int, percent) -> str:
    """Two repeats give an interval so wide (0% to 100%, often) that it says nothing: say why instead."""
    if not ci or repeats < 2:
        return "— (one repeat)"
    if repeats < 3:
        return f"— (too wide with {repeats} repeats: use 3 or more)"
    return f"{percent(ci[0])} to {percent(ci[1])}"


def table_rows(rows: list[dict], labels: list[str]) -> list[dict]:
    """One line per choice, in words a class reads: the mean, how much repeats differed, the interval."""
    def percent(value):
        return "—" if value is None else f"{100 * value:.0f}%"

    table = []
    for label, row in zip(labels, rows):
        ci = row.get("val_accuracy_ci95")
        table.append({
            "Choice": label,
            "Repeats": row["repeats"],
            "Right answers (mean)": percent(row["val_accuracy_mean"]),
            "Spread (±)": ("—" if row.get("val_accuracy_sd") is None
                           else f"± {100 * row['val_accuracy_sd']:.0f} points"),
            "95% interval": interval_words(ci, row["repeats"], percent),
            "Training time": words.duration_text(row["train_seconds_mean"]),
            "Model size": "—" if row.get("model_mb") is None else f"{row['model_mb']:.1f} MB",
            "One picture": "—" if row.get("latency_ms") is None else f"{row['latency_ms']:.0f} ms",
            "Reused the cache": "yes" if row.get("cache_reused") else "no",
            "Training pictures": row.get("train_pictures"),
        })
    return table
