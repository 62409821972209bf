"""The teacher's page (classroom mode): who has joined, how their trainings stand, a leaderboard
to project, the training line, and the end of the lesson (export everything, then clear).

It opens only with the teacher's code (printed in the terminal by `tlcore classroom`): a
student's link never carries it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from studio import figures, navigation, spaces, words
from tlcore.backbones import BACKBONES
from tlcore.classroom import qr
from tlcore.classroom.server import JOIN_URL_ENV
from tlcore.classroom.spaces import SpaceError
from tlcore.classroom.teacher import clear_class, export_class
from tlcore.classroom.tls import TRUST_STEPS

STATE_WORDS = {"queued": "waiting", "running": "training", "done": "done", "failed": "failed",
               "cancelled": "stopped", "interrupted": "interrupted", None: "—"}


def render() -> None:
    st.title("Teacher", anchor=False)
    if not spaces.classroom():
        st.info("This page is for a class: start the Studio with `tlcore classroom` and each student joins "
                "with their own name, on their own computer, tablet or phone.")
        return
    if not spaces.is_teacher():
        code_section()
        return
    join_section()
    class_section()
    queue_section()
    open_section()
    end_section()


def code_section() -> None:
    st.markdown("Type the **teacher code** that the terminal showed when the classroom started.")
    with st.form("teacher_code_form", border=False):
        code = st.text_input("Teacher code", key="teacher_code", type="password")
        given = st.form_submit_button("Open the teacher's page", type="primary")
    if given and spaces.sign_in_teacher(code):
        st.rerun()
    elif given:
        st.error("That is not the teacher code. It is in the terminal where `tlcore classroom` was started.")


def join_section() -> None:
    url = os.environ.get(JOIN_URL_ENV, "")
    code_column, words_column = st.columns([1.3, 2], vertical_alignment="center")
    if url:
        code_column.image(qr.png(url, scale=10), caption="Scan to join", width=320)
    words_column.markdown(f"## Students open\n### {words.md(url) if url else 'the address in the terminal'}")
    words_column.caption("On the school network. The first time, each device warns that the connection is "
                         "not private: see below.")
    with words_column.expander("The one-time \"not private\" step, in plain words"):
        st.markdown(TRUST_STEPS)


@st.fragment(run_every=3.0)
def class_section() -> None:
    summaries = spaces.store().summaries(spaces.queue())
    students = [s for s in summaries if s.space.kind == "student"]
    st.header(f"The class: {words.plural(len(students), 'space')}", anchor=False)
    if not students:
        st.caption("Nobody has joined yet. Each student (or group) types a name on the join page.")
        return
    st.dataframe([class_row(s) for s in students], hide_index=True, key="teacher_class_table",
                 column_config={"Best accuracy": st.column_config.ProgressColumn(
                     "Best accuracy", min_value=0, max_value=100, format="%.0f%%")})
    ranked = sorted((s for s in students if s.best_accuracy is not None), key=lambda s: s.best_accuracy)
    if ranked:
        st.plotly_chart(leaderboard_figure(ranked), key="teacher_leaderboard", config=figures.CHART_CONFIG)
        st.caption("Guessing alone gets 50 % right with 2 classes, 33 % with 3, 25 % with 4: compare each "
                   "score with its own chance.")


def class_row(summary) -> dict:
    spec = BACKBONES.get(summary.backbone)
    return {"Name": summary.space.name, "Picture set": summary.picture_set or "—", "Pictures": summary.pictures,
            "Classes": summary.classes, "Runs": summary.runs,
            "Best accuracy": None if summary.best_accuracy is None else round(100 * summary.best_accuracy, 1),
            "Network": spec.short_title if spec else summary.backbone,
            "Training": STATE_WORDS.get(summary.queue_state, summary.queue_state)}


def leaderboard_figure(ranked: list) -> go.Figure:
    """Best validation accuracy per space, the best on top, readable from the back of a room. Each
    name says its classes: guessing gets 50 % right with 2 classes, 33 % with 3."""
    names = [f"{s.space.name} ({s.classes} classes)" if s.classes else s.space.name for s in ranked]
    figure = go.Figure(go.Bar(
        x=[100 * s.best_accuracy for s in ranked], y=names, orientation="h", marker_color="#1f6feb",
        text=[f"{100 * s.best_accuracy:.0f}%" for s in ranked], textposition="auto",
        textfont={"size": figures.FONT_SIZE + 4}))
    figure.update_layout(title={"text": "Leaderboard: best validation accuracy", "font": {"size": figures.FONT_SIZE + 6}},
                         font={"size": figures.FONT_SIZE}, height=130 + 56 * len(ranked),
                         margin={"l": 10, "r": 10, "t": 60, "b": 30})
    figure.update_xaxes(range=[0, 100], ticksuffix="%", tickfont={"size": figures.FONT_SIZE})
    figure.update_yaxes(tickfont={"size": figures.FONT_SIZE + 2})
    return figure


@st.fragment(run_every=3.0)
def queue_section() -> None:
    line = spaces.queue()
    st.header("The training line", anchor=False)
    names = {space.id: space.name for space in spaces.store().spaces()}
    active = [entry for entry in line.snapshot() if entry.active]
    paused = st.toggle("Pause the line (running trainings go on; none starts)", value=line.paused,
                       key="teacher_pause")
    if paused != line.paused:
        line.pause() if paused else line.resume()
    if not active:
        st.caption("No training is waiting or running.")
        return
    for entry in active:
        who = names.get(entry.space_id, "a space that was removed")
        if entry.state == "running":
            since = words.duration_text(time.time() - entry.started) if entry.started else "a moment"
            st.markdown(f"**Training now:** {words.md(who)} ({words.md(entry.label)}, for {since})")
        else:
            st.markdown(f"**{entry.position}.** {words.md(who)} ({words.md(entry.label)})")


def open_section() -> None:
    st.header("Open a space", anchor=False)
    everyone = spaces.store().spaces()
    by_id = {space.id: space for space in everyone}
    current = spaces.current()
    st.caption(f"You are working in: **{words.md(current.name if current else '—')}**. Opening a student's "
               "space shows their pictures and runs on every page (Test, Evaluate...).")
    chosen = st.selectbox("Space", list(by_id), format_func=lambda i: by_id[i].name, key="teacher_open_choice",
                          index=list(by_id).index(current.id) if current and current.id in by_id else 0)
    open_column, test_column = st.columns(2)
    if open_column.button("Open this space", key="teacher_open", disabled=chosen is None):
        spaces.open_space(chosen)
        st.rerun()
    if test_column.button("Open it on the Test page", key="teacher_open_test", disabled=chosen is None):
        spaces.open_space(chosen)
        navigation.go("test")
    if chosen is not None and by_id[chosen].kind == "student":
        with st.expander(f"{by_id[chosen].name} lost their page? Their own link (not for the projector)"):
            st.caption("Whoever has this link works in this space: give it to its owner only.")
            st.code(spaces.link_of(by_id[chosen]), language=None)


def end_section() -> None:
    st.header("End of the lesson", anchor=False)
    folder = Path(spaces.store().root).parent / "classroom" / "exports"
    st.caption(f"Students' pictures and runs are kept on this computer only, in {spaces.store().root}. "
               "Export them as lesson files (one per space) before clearing the class.")
    if st.button("Export the whole class", key="teacher_export", icon=":material/archive:"):
        with st.spinner("Writing every space's lesson file…"):
            st.session_state["teacher_export_path"] = str(export_class(
                spaces.store(), folder / time.strftime("class-%Y%m%d-%H%M%S.zip")))
    offer_export()
    sure = st.checkbox("I have the export; delete every student's space", key="teacher_clear_sure")
    if st.button("Clear the class", key="teacher_clear", type="primary", disabled=not sure,
                 icon=":material/delete_forever:"):
        clear(folder)


def clear(folder: Path) -> None:
    try:
        with st.spinner("Exporting, then clearing…"):
            path = clear_class(spaces.store(), folder / time.strftime("class-%Y%m%d-%H%M%S-cleared.zip"),
                               spaces.queue())
    except (SpaceError, OSError) as error:
        st.error(str(error))
        return
    st.session_state["teacher_export_path"] = str(path)
    st.success("The class was cleared. Everything it held is in the export below.")


def offer_export() -> None:
    path = st.session_state.get("teacher_export_path")
    if not path or not Path(path).is_file():
        return
    size = Path(path).stat().st_size / 1e6
    st.download_button(f"Download the class ({size:.1f} MB)", data=Path(path).read_bytes(),
                       file_name=Path(path).name, mime="application/zip", key="teacher_download",
                       icon=":material/download:", on_click="ignore")
    st.caption(f"Also kept on this computer: {path}")
