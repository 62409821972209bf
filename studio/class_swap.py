"""The Teacher page's swap test (classroom mode): every group's model on every group's held-back
pictures, as a grid to project, a sentence that says what it shows, the numbers, and the pictures
a model got wrong from a set. The work is tlcore/classroom/swap.py.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from studio import figures, spaces, words
from studio.i18n import _, _n, tr
from tlcore.classroom.report import SWAP_FILE
from tlcore.classroom.swap import FAILED, FEATURES, MODELS, TOO_FEW, read_swap, swap_worker
from tlcore.i18n import Percent
from tlcore.paths import workspace_root

CLEAR_DIFFERENCE = 0.05  # own vs others' pictures: less than this is "about as well"
WRONG_SHOWN = 6
SWAP_EVERY = 2.0  # s: how often the page looks at the worker's progress and at the class's groups


def swap_section() -> None:
    st.header(_("The swap test"), anchor=False)
    st.caption(_("Each group's latest model (or the one it chose) tries every group's held-back pictures: "
                 "a model that only learned one desk and one light does well on its own pictures, "
                 "and worse on everybody else's."))
    worker = class_worker()
    if st.button(_("Run the swap test"), key="teacher_swap_run", icon=":material/swap_horiz:"):
        if not worker.start():
            st.info(_("The swap test is already running: its progress is below."))
    grid = read_swap(workspace_root())
    swap_progress(grid_stamp())
    if grid is None:
        if not worker.running and worker.snapshot()["outcome"] != TOO_FEW:
            st.caption(_("It needs at least two groups with a trained model."))
        return
    st.markdown(swap_sentence(grid))
    st.plotly_chart(swap_figure(grid), key="teacher_swap_grid", config=figures.CHART_CONFIG)
    with st.expander(_("The numbers")):
        st.dataframe(number_rows(grid), hide_index=True, key="teacher_swap_numbers")
    wrong_pictures(grid)


def class_worker():
    """The class's one swap-test worker (tlcore: a background thread that never touches a page)."""
    return swap_worker(workspace_root(), spaces.store())


def grid_stamp() -> int | None:
    """When the saved grid was last written (None: no grid): the page is drawn again when it changes."""
    try:
        return (workspace_root() / SWAP_FILE).stat().st_mtime_ns
    except OSError:
        return None


@st.fragment(run_every=SWAP_EVERY)
def swap_progress(drawn_stamp: int | None) -> None:
    """The worker's progress while it runs; the whole page again when a new grid is saved; and a new
    run in the background when a group has trained again (or joined, or left) since the grid was made."""
    worker = class_worker()
    snap = worker.snapshot()
    if not snap["running"]:
        if grid_stamp() != drawn_stamp:
            st.rerun()
        if worker.update_if_stale():  # cached features: only the changed groups' cells need work
            snap = worker.snapshot()
    if snap["running"]:
        progress_bar(snap)
    elif snap["outcome"] == TOO_FEW:
        st.warning(_("The swap test needs at least two groups with a trained model."))
    elif snap["outcome"] == FAILED:
        st.error(_("The swap test could not be run: {why}", why=tr(snap["error"])))


def progress_bar(snap: dict) -> None:
    if snap["automatic"]:
        st.info(_("A group has trained again (or joined, or left) since this grid was made: it is being updated "
                  "now. Only their row and column need working out."), icon=":material/autorenew:")
    total = max(snap["total"], 1)
    if snap["stage"] == FEATURES:
        text = _("The pretrained network looks at each group's pictures: {done} of {total} steps",
                 done=snap["done"], total=snap["total"])
    elif snap["stage"] == MODELS:
        text = _("Each model tries every group's pictures: {done} of {total} steps", done=snap["done"],
                 total=snap["total"])
    else:
        text = _("Trying every model on every group's pictures…")
    st.progress(min(snap["done"] / total, 1.0), text=text)


def swap_sentence(grid) -> str:
    """What the grid shows, in plain words: own pictures vs the others', and who does best on the others'."""
    own = [value for value in grid.on_own() if value is not None]
    others = grid.on_others()
    shown = [value for value in others if value is not None]
    if not own or not shown:
        return _("No model shares a class with another group's pictures yet: give the groups the same classes "
                 "(a task) to compare them.")
    own_mean, others_mean = float(np.mean(own)), float(np.mean(shown))
    best = int(np.nanargmax([np.nan if value is None else value for value in others]))
    if own_mean - others_mean >= CLEAR_DIFFERENCE:
        first = _("On average the models do better on their own group's pictures ({own}) than on the other "
                  "groups' ({others}).", own=Percent(own_mean), others=Percent(others_mean))
    else:
        first = _("On average the models do about as well on the other groups' pictures ({others}) as on "
                  "their own ({own}).", own=Percent(own_mean), others=Percent(others_mean))
    second = _("**{name}**'s model does best on everybody else's pictures ({best}). Were its pictures the "
               "most varied?", name=words.md(grid.names[best]), best=Percent(others[best]))
    return f"{first} {second}"


def swap_figure(grid) -> go.Figure:
    """Rows: models; columns: picture sets; each cell its accuracy as a colour and a number (a dash: no
    shared class). Names are outside text: drawn plain."""
    models = [figures.plain(_("{name}'s model", name=name)) for name in grid.names]
    sets = [figures.plain(_("{name}'s pictures", name=name)) for name in grid.names]
    z = [[None if value is None else 100 * value for value in row] for row in grid.accuracy]
    text = [["—" if value is None else f"{100 * value:.0f}%" for value in row] for row in grid.accuracy]
    fig = go.Figure(go.Heatmap(z=z, x=sets, y=models, text=text, texttemplate="%{text}", zmin=0, zmax=100,
                               colorscale="Blues", showscale=False, xgap=3, ygap=3, hoverinfo="skip",
                               textfont={"size": max(14, min(28, 160 // max(len(models), 1)))}))
    fig.update_xaxes(title_text=_("Tried on"), side="top", type="category", fixedrange=True,
                     tickfont={"size": figures.FONT_SIZE})
    fig.update_yaxes(title_text=_("Model"), type="category", autorange="reversed", fixedrange=True,
                     tickfont={"size": figures.FONT_SIZE})
    fig.update_layout(font={"size": figures.FONT_SIZE}, height=min(900, 200 + 60 * len(models)),
                      margin={"l": 10, "r": 10, "t": 90, "b": 10}, plot_bgcolor="white", dragmode=False)
    return figures.readable(fig)  # text colours 4.5:1 on white, as every figure (figures.readable)


def number_rows(grid) -> list[dict]:
    """The grid as a table (its text equivalent), with each model's accuracy on the others' pictures."""
    def percent(value) -> str:
        return "—" if value is None else f"{100 * value:.0f}%"

    rows = []
    order = sorted(range(len(grid.names)), key=lambda i: -1 if grid.on_others()[i] is None else grid.on_others()[i],
                   reverse=True)  # the leaderboard on everybody else's pictures
    for i in order:
        name, row, own, others = grid.names[i], grid.accuracy[i], grid.on_own()[i], grid.on_others()[i]
        rows.append({_("Model"): name, _("On its own pictures"): percent(own),
                     _("On everybody else's"): percent(others),
                     **{_("{name}'s pictures", name=other): percent(value) for other, value in zip(grid.names, row)}})
    return rows


def wrong_pictures(grid) -> None:
    """The pictures one model got wrong from one group's set (a keyboard-friendly 'click on a cell')."""
    indices = list(range(len(grid.names)))
    model_column, set_column = st.columns(2)
    model = model_column.selectbox(_("Model"), indices, format_func=lambda i: grid.names[i], key="teacher_swap_model")
    shown = set_column.selectbox(_("Tried on the pictures of"), indices, format_func=lambda i: grid.names[i],
                                 key="teacher_swap_set")
    if not grid.wrong or model is None or shown is None:
        return
    wrong = grid.wrong[model][shown]
    owner = spaces.store().find(grid.names[shown])
    if not wrong:
        st.caption(_("This model got every picture of this set right (of the classes it knows)."))
        return
    if owner is None:
        return
    inside = owner.folder.resolve()
    files = [path for path in ((owner.folder / relative).resolve() for relative in wrong[:WRONG_SHOWN])
             if path.is_relative_to(inside) and path.is_file()]  # swap.json is a file: never a way out
    st.caption(_n("This model got {count} picture of this set wrong:",
                  "This model got {count} pictures of this set wrong; the first ones:", len(wrong)))
    for column, file in zip(st.columns(WRONG_SHOWN), files):
        column.image(str(file), width=110, caption=file.parent.name,
                     alt=_("A picture of {label} that this model got wrong", label=file.parent.name))
