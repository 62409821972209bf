"""Runs: every model trained in this session or saved in the workspace; compare their curves,
and choose the one the Test page uses. Saved experiments are listed too."""

from __future__ import annotations

import streamlit as st

from studio import figures, navigation, spaces, state, widgets, words
from tlcore.experiments import list_experiments


def render() -> None:
    st.title("Your trained models")
    if spaces.classroom():  # a student's folder is the server's, and its name opens their space: not shown
        st.markdown("Every training is saved as it ends, so a refresh or a restart loses no trained model. "
                    "They are kept on your teacher's computer.")
    else:
        st.markdown("Every training is saved as it ends, so a refresh or a restart loses no trained model. "
                    "Models are kept in this folder:")
        st.code(str(state.workspace()), language=None)
    runs = state.all_runs()
    experiments = list_experiments(state.workspace())
    if not runs:
        st.info("No trained model yet. Train one on the Train page; it will appear here.")
        navigation.link("train", "Go to Train", icon=":material/model_training:")
        return
    mine = set(state.session_runs())
    table_section(runs, mine, {e.get("id"): e for e in experiments})
    compare_section(runs, mine)
    experiments_section(experiments)
    test_model_section(runs)


# -- the table ----------------------------------------------------------------------------------------
def table_section(runs: list, mine: set[str], experiments: dict) -> None:
    """What tells runs apart comes first (a projector shows the first columns without scrolling);
    every column is as wide as its words, so nothing ("stopped early") is cut off."""
    st.dataframe(
        [table_row(run, str(run.path) in mine, experiments) for run in runs], hide_index=True, key="runs_table",
        column_config={
            "Validation accuracy": st.column_config.ProgressColumn(
                "Validation accuracy", min_value=0, max_value=100, format="%.0f%%", width="small"),
            # Other columns take the width of what they hold: no cell is cut off.
        },
    )


def table_row(run, mine: bool, experiments: dict) -> dict:
    record = run.record
    augment = list(record.settings.augment) if record.settings is not None else []
    notes = (["this session"] if mine else []) + ([f"changed pictures ({', '.join(augment)})"] if augment else [])
    notes += [note for note in record.notes if len(note) <= 60]  # short facts only; long ones are on Train
    return {
        "Trained": record.created.replace("T", " ")[5:16],  # "12-05 10:42": a lesson's runs share a year
        "Picture set": record.dataset.short_name,
        "Network": record.short_title,
        "Weights": record.short_weights,
        "Validation accuracy": None if record.val_accuracy is None else round(100 * record.val_accuracy, 1),
        "Ended": record.outcome,
        "Experiment": experiment_name(record.experiment, experiments),
        "Notes": ", ".join(notes),
        "Pictures": record.dataset.pictures or (record.train_pictures + record.val_pictures) or None,
        "Blocks that learn": record.learning_blocks,
        "Epochs": epochs_words(record),
        "Time": words.duration_text(record.timings.get("train_seconds")),
    }


def epochs_words(record) -> str:
    """"5", "8 + 3", or "2 of 5" for a run stopped before its planned epochs."""
    planned = words.epochs_text(record.settings).replace(words.NBSP, " ")
    if record.stopped and record.settings is not None and record.epochs_run < record.settings.total_epochs:
        return f"{record.epochs_run} of {record.settings.total_epochs}"
    return planned


def experiment_name(experiment_id: str | None, experiments: dict) -> str:
    if not experiment_id:
        return ""
    saved = experiments.get(experiment_id)
    if saved is None:
        return experiment_id
    return f"{saved['plan'].get('name', 'Experiment')} ({saved.get('created', '')[5:16].replace('T', ' ')})"


# -- curves side by side --------------------------------------------------------------------------------
def legend_labels(runs: list) -> dict[str, str]:
    """A label per run folder, unique and saying what differs: when (to the minute, or the second
    where two runs share a minute), network, weights, blocks that learned, and the picture set."""
    def label(run, seconds: bool) -> str:
        record = run.record
        when = record.created.replace("T", " ")[5:19 if seconds else 16]
        learning = f" · {words.plural(record.learning_blocks, 'block')} learned" if (
            record.learning_blocks and not record.from_scratch) else ""
        return f"{when} · {record.short_title} · {record.short_weights}{learning} · {record.dataset.short_name}"

    labels = {str(run.path): label(run, False) for run in runs}
    clashing = {text for text in labels.values() if list(labels.values()).count(text) > 1}
    for run in runs:
        if labels[str(run.path)] in clashing:
            labels[str(run.path)] = label(run, True)
    seen: dict[str, int] = {}
    for path, text in labels.items():  # still the same (imported in one second): number them
        seen[text] = seen.get(text, 0) + 1
        if seen[text] > 1:
            labels[path] = f"{text} (#{seen[text]})"
    return labels


def compare_section(runs: list, mine: set[str]) -> None:
    st.header("Compare learning curves")
    by_path = {str(run.path): run for run in runs}
    if "runs_compare" not in st.session_state:
        st.session_state["runs_compare"] = list(by_path)[:3]
    st.session_state["runs_compare"] = [p for p in st.session_state["runs_compare"] if p in by_path]
    compared = st.multiselect("Models to compare", list(by_path), key="runs_compare",
                              format_func=lambda p: words.run_label(by_path[p], p in mine))
    if not compared:
        st.caption("Choose one or more models above to see their curves.")
        return
    labels = legend_labels([by_path[p] for p in compared])
    # One key for both charts, full width: long labels are read whole, not cut off in a half-width legend.
    st.markdown(f'<p class="tl-legend">{figures.series_key_html([labels[p] for p in compared])}</p>',
                unsafe_allow_html=True)
    left, right = st.columns(2)
    for column, metric in ((left, "val_accuracy"), (right, "val_loss")):
        series = [(labels[p], by_path[p].record.history[metric]) for p in compared]
        with column:
            st.plotly_chart(figures.overlay_figure(series, metric, legend=False),
                            key=f"runs_{metric.removeprefix('val_')}_chart", config=figures.CHART_CONFIG)


# -- experiments and the model for the Test page ---------------------------------------------------------------
def experiments_section(experiments: list[dict]) -> None:
    if not experiments:
        return
    st.header("Experiments")
    st.dataframe([{
        "Started": e.get("created", "").replace("T", " ")[:16],
        "Experiment": e["plan"].get("name", "Experiment"),
        "Picture set": e["plan"].get("dataset_name") or "",
        "Trainings": len(e.get("repeats", [])),
        "Best (mean)": max((round(100 * row["val_accuracy_mean"]) for row in e.get("rows", [])), default=None),
        "Ended": "stopped early" if e.get("stopped") else "finished",
    } for e in experiments], hide_index=True, key="runs_experiments",
        column_config={"Best (mean)": st.column_config.NumberColumn("Best (mean)", format="%d%%")})
    navigation.link("experiments", "See their charts on the Experiments page", icon=":material/science:")


def test_model_section(runs: list) -> None:
    st.header("Model for the Test page")
    picked = widgets.run_picker(runs, "runs_pick", "Model")
    if st.button("Use this model on the Test page", key="runs_use", type="primary"):
        state.select_run(picked.path)
        navigation.go("test")
    st.caption(f"The Test page now uses: {words.md(words.run_label(picked, str(picked.path) in state.session_runs()))}")
