"""Runs: every model trained in this session or saved in the workspace; compare their curves."""

from __future__ import annotations

import streamlit as st

from studio import state, ui

ui.page_setup()

st.title("Your trained models")
st.markdown("Every training is saved as it ends, so a refresh or a restart loses no trained model. "
            "(Pictures you uploaded live only as long as this browser tab: to keep them, save the lesson "
            "on the Share page.) Models are kept in this folder:")
st.code(str(state.workspace()), language=None)

runs = state.all_runs()
if not runs:
    st.info("No trained model yet. Train one on the Train page; it will appear here.")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

mine = set(state.session_runs())
by_path = {str(run.path): run for run in runs}


def row(run) -> dict:
    record = run.record
    notes = ["this session"] if str(run.path) in mine else []
    notes += [record.outcome] if record.outcome != "finished" else []
    notes += ["fast path"] if record.fast_path else []
    settings = record.settings
    epochs = "—" if settings is None else (
        f"{settings.epochs} + {settings.resolved_fine_tune_epochs}" if settings.uses_fine_tuning else str(settings.epochs))
    return {
        "Trained": record.created.replace("T", " ")[:16],
        "Network": record.short_title,
        "Weights": record.short_weights,
        "Blocks that learn": record.learning_blocks,
        "Epochs": epochs,
        "Validation accuracy": None if record.val_accuracy is None else round(100 * record.val_accuracy, 1),
        "Time": ui.duration_text(record.timings.get("train_seconds")),
        "Notes": ", ".join(notes),
    }


st.dataframe(
    [row(run) for run in runs], hide_index=True, key="runs_table",
    column_config={"Validation accuracy": st.column_config.ProgressColumn(
        "Validation accuracy", min_value=0, max_value=100, format="%.0f%%")},
)


def label(path: str) -> str:
    return ui.run_label(by_path[path], path in mine)


st.header("Compare learning curves")
paths = list(by_path)
if "runs_compare" not in st.session_state:
    st.session_state["runs_compare"] = paths[:3]
st.session_state["runs_compare"] = [p for p in st.session_state["runs_compare"] if p in by_path]
compared = st.multiselect("Models to compare", paths, key="runs_compare", format_func=label)
if compared:
    def short(path: str) -> str:
        record = by_path[path].record
        return f"{record.created.replace('T', ' ')[5:16]} · {record.short_title} · {record.short_weights}"

    series = [(short(p), by_path[p].record.history["val_accuracy"]) for p in compared]
    losses = [(short(p), by_path[p].record.history["val_loss"]) for p in compared]
    left, right = st.columns(2)
    with left:
        st.plotly_chart(ui.overlay_figure(series, "val_accuracy"), key="runs_accuracy_chart", config=ui.CHART_CONFIG)
    with right:
        st.plotly_chart(ui.overlay_figure(losses, "val_loss"), key="runs_loss_chart", config=ui.CHART_CONFIG)
else:
    st.caption("Choose one or more models above to see their curves.")

st.header("Model for the Test page")
current = state.selected_run()
if st.session_state.get("runs_pick") not in by_path:
    st.session_state["runs_pick"] = current if current in by_path else str(state.default_run(runs).path)
picked = st.selectbox("Model", paths, key="runs_pick", format_func=label)
if st.button("Use this model on the Test page", key="runs_use", type="primary"):
    state.select_run(picked)
    st.session_state.pop("test_run", None)
    st.switch_page("pages/test.py")
if current in by_path:
    st.caption(f"The Test page now uses: {ui.md(label(current))}")
