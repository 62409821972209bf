"""Runs: every model trained in this session or saved in the workspace; compare their curves,
and choose the one the Test page uses. Saved experiments are listed too."""

from __future__ import annotations

import streamlit as st

from studio import figures, navigation, spaces, state, widgets, words
from studio.i18n import _, _n, listed, tr
from tlcore.experiments import list_experiments
from tlcore.i18n import N_


def render() -> None:
    st.title(_("Your trained models"))
    if spaces.classroom():  # a student's folder is the server's, and its name opens their space: not shown
        st.markdown(_("Every training is saved as it ends, so a refresh or a restart loses no trained model. "
                      "They are kept on your teacher's computer."))
    else:
        st.markdown(_("Every training is saved as it ends, so a refresh or a restart loses no trained model. "
                      "Models are kept in this folder:"))
        st.code(str(state.workspace()), language=None)
    runs = state.all_runs()
    experiments = list_experiments(state.workspace())
    if not runs:
        st.info(_("No trained model yet. Train one on the Train page; it will appear here."))
        navigation.link("train", _("Go to Train"), icon=":material/model_training:")
        return
    mine = set(state.session_runs())
    table_section(runs, mine, {e.get("id"): e for e in experiments})
    compare_section(runs, mine)
    experiments_section(experiments)
    test_model_section(runs)


# -- the table ----------------------------------------------------------------------------------------
ACCURACY, LIKELY = "Accuracy", "Likely"
# The table's columns: the rows' keys stay these codes, the headers are shown with _(...)
COLUMNS = {"Trained": N_("Trained"), "Network": N_("Network"), "Weights": N_("Weights"), ACCURACY: N_("Accuracy"),
           LIKELY: N_("Likely"), "Blocks": N_("Blocks"), "Epochs": N_("Epochs"), "Time": N_("Time"),
           "Ended": N_("Ended"), "Picture set": N_("Picture set"), "Pictures": N_("Pictures"), "Notes": N_("Notes"),
           "Experiment": N_("Experiment")}


def table_section(runs: list, mine: set[str], experiments: dict) -> None:
    """What tells runs apart comes first, and at 1280 px (a projector) everything up to the
    training time shows without scrolling: the picture set, notes and the experiment come last.
    Every column is as wide as its words, so nothing ("stopped early") is cut off. An accuracy
    says its pictures, as on every page ("62% (24 pictures)", likely "43–79%")."""
    rows = [table_row(run, str(run.path) in mine, experiments) for run in runs]
    if not any(row["Experiment"] for row in rows):  # an empty column pushes the others off a projector
        for row in rows:
            del row["Experiment"]
    st.dataframe(
        rows, hide_index=True, key="runs_table",
        column_config={  # words, not bars: "62% (24 pictures)" fits where a bar and its count did not
            **{code: _(label) for code, label in COLUMNS.items()},
            ACCURACY: st.column_config.TextColumn(_(COLUMNS[ACCURACY]), help=_(
                "Right answers on its validation pictures (held back: it never learned from them)")),
            LIKELY: st.column_config.TextColumn(_(COLUMNS[LIKELY]), help=_(
                "Where its accuracy on new pictures likely lies (95 % sure): few validation pictures, a wide range")),
            "Blocks": st.column_config.NumberColumn(_(COLUMNS["Blocks"]), help=_("Blocks of the network that learned")),
        },
    )


def table_row(run, mine: bool, experiments: dict) -> dict:
    record = run.record
    augment = list(record.settings.augment) if record.settings is not None else []
    notes = ([_("this session")] if mine else []) + (
        [_("changed pictures ({changes})", changes=listed(augment))] if augment else [])
    notes += [_("validation near-copies of training pictures")] if words.near_copies_words(record) else []
    notes += [note for note in record.notes if len(note) <= 60]  # short facts only; long ones are on Train
    return {
        "Trained": record.created.replace("T", " ")[5:16],  # "12-05 10:42": a lesson's runs share a year
        "Network": record.short_title,
        "Weights": tr(record.short_weights),
        ACCURACY: tr(words.accuracy_text(record.val_accuracy, record.val_pictures, short=True)).replace(" right", "")
        if record.val_accuracy is not None else "—",
        LIKELY: tr(words.range_text(record.val_accuracy, record.val_pictures)) or "—",
        "Blocks": record.learning_blocks,
        "Epochs": epochs_words(record),
        "Time": words.duration_text(record.timings.get("train_seconds")),
        "Ended": tr(record.outcome),
        "Picture set": record.dataset.short_name,
        "Pictures": record.dataset.pictures or (record.train_pictures + record.val_pictures) or None,
        "Notes": listed(tr(note) for note in notes),
        "Experiment": experiment_name(record.experiment, experiments),
    }


def epochs_words(record) -> str:
    """"5", "8 + 3", or "2 of 5" for a run stopped before its planned epochs."""
    planned = words.epochs_text(record.settings).replace(words.NBSP, " ")
    if record.stopped and record.settings is not None and record.epochs_run < record.settings.total_epochs:
        return _("{done} of {planned}", done=record.epochs_run, planned=record.settings.total_epochs)
    return planned


def experiment_name(experiment_id: str | None, experiments: dict) -> str:
    if not experiment_id:
        return ""
    saved = experiments.get(experiment_id)
    if saved is None:
        return experiment_id
    return _("{name} ({when})", name=saved["plan"].get("name") or _("Experiment"),
             when=saved.get("created", "")[5:16].replace("T", " "))


# -- curves side by side --------------------------------------------------------------------------------
def legend_labels(runs: list) -> dict[str, str]:
    """A label per run folder, unique and saying what differs: when (to the minute, or the second
    where two runs share a minute), network, weights, blocks that learned, and the picture set."""
    def label(run, seconds: bool) -> str:
        record = run.record
        when = record.created.replace("T", " ")[5:19 if seconds else 16]
        values = dict(when=when, network=record.short_title, weights=tr(record.short_weights),
                      pictures=record.dataset.short_name)
        if record.learning_blocks and not record.from_scratch:
            # i18n: a trained model's label in a chart's key: when · network · weights · blocks · picture set
            return _n("{when} · {network} · {weights} · {count} block learned · {pictures}",
                      "{when} · {network} · {weights} · {count} blocks learned · {pictures}",
                      record.learning_blocks, **values)
        return _("{when} · {network} · {weights} · {pictures}", **values)

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
    st.header(_("Compare learning curves"))
    by_path = {str(run.path): run for run in runs}
    if "runs_compare" not in st.session_state:
        st.session_state["runs_compare"] = list(by_path)[:3]
    st.session_state["runs_compare"] = [p for p in st.session_state["runs_compare"] if p in by_path]
    compared = st.multiselect(_("Models to compare"), list(by_path), key="runs_compare",
                              format_func={p: tr(words.run_label(run, p in mine)) for p, run in by_path.items()}.get)
    if not compared:
        st.caption(_("Choose one or more models above to see their curves."))
        return
    labels = legend_labels([by_path[p] for p in compared])
    # Runs trained alike (same pictures, settings and seed) draw the very same line: dashes show both.
    curves = [tuple(by_path[p].record.history["val_accuracy"]) + tuple(by_path[p].record.history["val_loss"])
              for p in compared]
    dashes = figures.overlap_dashes(curves)
    # One key for both charts, full width: long labels are read whole, not cut off in a half-width legend.
    st.markdown(f'<p class="tl-legend">{figures.series_key_html([labels[p] for p in compared], dashes)}</p>',
                unsafe_allow_html=True)
    if same := same_curve_words(curves):
        st.caption(same)
    left, right = st.columns(2)
    for column, metric in ((left, "val_accuracy"), (right, "val_loss")):
        series = [(labels[p], by_path[p].record.history[metric]) for p in compared]
        with column:
            st.plotly_chart(figures.overlay_figure(series, metric, legend=False, dashes=dashes),
                            key=f"runs_{metric.removeprefix('val_')}_chart", config=figures.CHART_CONFIG)


def same_curve_words(curves: list[tuple]) -> str:
    """"2 models have the same curves: their lines lie on top of each other (the later ones
    dashed)." ("" when every curve differs)."""
    repeated = len(curves) - len(set(curves))
    if not repeated:
        return ""
    alike = sum(1 for curve in set(curves) if curves.count(curve) > 1) + repeated
    return _n("{count} model has the same curves (trained alike: same pictures, settings and seed), so "
              "their lines lie on top of each other: the later ones are dashed.",
              "{count} models have the same curves (trained alike: same pictures, settings and seed), so "
              "their lines lie on top of each other: the later ones are dashed.", alike)


# -- experiments and the model for the Test page ---------------------------------------------------------------
def experiments_section(experiments: list[dict]) -> None:
    if not experiments:
        return
    st.header(_("Experiments"))
    st.dataframe([{
        "Started": e.get("created", "").replace("T", " ")[:16],
        "Experiment": e["plan"].get("name") or _("Experiment"),
        "Picture set": e["plan"].get("dataset_name") or "",
        "Trainings": len(e.get("repeats", [])),
        "Best (mean)": max((round(100 * row["val_accuracy_mean"]) for row in e.get("rows", [])), default=None),
        "Ended": _("stopped early") if e.get("stopped") else _("finished"),
    } for e in experiments], hide_index=True, key="runs_experiments",
        column_config={"Started": _("Started"), "Experiment": _("Experiment"), "Picture set": _("Picture set"),
                       "Trainings": _("Trainings"), "Ended": _("Ended"),
                       "Best (mean)": st.column_config.NumberColumn(_("Best (mean)"), format="%d%%")})
    navigation.link("experiments", _("See their charts on the Experiments page"), icon=":material/science:")


def test_model_section(runs: list) -> None:
    st.header(_("Model for the Test page"))
    picked = widgets.run_picker(runs, "runs_pick", _("Model"))
    if st.button(_("Use this model on the Test page"), key="runs_use", type="primary"):
        state.select_run(picked.path)
        navigation.go("test")
    label = tr(words.run_label(picked, str(picked.path) in state.session_runs()))
    st.caption(_("The Test page now uses: {model}", model=words.md(label)))
