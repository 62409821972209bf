"""Runs: every model trained in this session or saved in the workspace; compare their curves,
and choose the one the Test page uses."""

from __future__ import annotations

import streamlit as st

from studio import figures, navigation, state, widgets, words


def render() -> None:
    st.title("Your trained models")
    st.markdown("Every training is saved as it ends, so a refresh or a restart loses no trained model. "
                "(Pictures you uploaded live only as long as this browser tab: to keep them, save the lesson "
                "on the Share page.) Models are kept in this folder:")
    st.code(str(state.workspace()), language=None)
    runs = state.all_runs()
    if not runs:
        st.info("No trained model yet. Train one on the Train page; it will appear here.")
        navigation.link("train", "Go to Train", icon=":material/model_training:")
        return
    mine = set(state.session_runs())
    table_section(runs, mine)
    compare_section(runs, mine)
    test_model_section(runs)


def table_section(runs: list, mine: set[str]) -> None:
    st.dataframe(
        [table_row(run, str(run.path) in mine) for run in runs], hide_index=True, key="runs_table",
        column_config={"Validation accuracy": st.column_config.ProgressColumn(
            "Validation accuracy", min_value=0, max_value=100, format="%.0f%%")},
    )


def table_row(run, mine: bool) -> dict:
    record = run.record
    notes = (["this session"] if mine else []) + ([record.outcome] if record.outcome != "finished" else [])
    notes += ["fast path"] if record.fast_path else []
    return {
        "Trained": record.created.replace("T", " ")[:16],
        "Network": record.short_title,
        "Weights": record.short_weights,
        "Blocks that learn": record.learning_blocks,
        "Epochs": words.epochs_text(record.settings).replace(words.NBSP, " "),
        "Validation accuracy": None if record.val_accuracy is None else round(100 * record.val_accuracy, 1),
        "Time": words.duration_text(record.timings.get("train_seconds")),
        "Notes": ", ".join(notes),
    }


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

    def short(path: str) -> str:
        record = by_path[path].record
        return f"{record.created.replace('T', ' ')[5:16]} · {record.short_title} · {record.short_weights}"

    left, right = st.columns(2)
    for column, metric in ((left, "val_accuracy"), (right, "val_loss")):
        series = [(short(p), by_path[p].record.history[metric]) for p in compared]
        with column:
            st.plotly_chart(figures.overlay_figure(series, metric), key=f"runs_{metric.removeprefix('val_')}_chart",
                            config=figures.CHART_CONFIG)


def test_model_section(runs: list) -> None:
    st.header("Model for the Test page")
    picked = widgets.run_picker(runs, "runs_pick", "Model")
    if st.button("Use this model on the Test page", key="runs_use", type="primary"):
        state.select_run(picked.path)
        navigation.go("test")
    st.caption(f"The Test page now uses: {words.md(words.run_label(picked, str(picked.path) in state.session_runs()))}")
