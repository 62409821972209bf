"""Transfer Learning Studio: a Streamlit app that teaches transfer learning with your own pictures.

Run it with:  streamlit run app.py          (one person: the teacher's own space)
For a class:  tlcore classroom              (each student joins with a name; one training line)

This file sets up the page, the navigation (studio/navigation.py) and the sidebar; each page is
the ``render()`` of a module in app_pages/, built from small section functions.
"""

import streamlit as st

from studio import navigation, spaces, state, widgets, words
from tlcore.jobs import ExperimentJob

st.set_page_config(page_title="Transfer Learning Studio", page_icon="🧠", layout="wide")
widgets.apply_style()
if problem := spaces.workspace_problem():  # a file, read-only or full: say so instead of failing on every page
    st.error(problem)
    st.stop()
space = spaces.current()  # before the navigation: a student who has not joined sees the join page
current = st.navigation(navigation.all_pages(spaces.classroom(), joined=space is not None))
state.sync_job()  # before the page, so every page sees a run that just finished

current.run()


def sidebar_status() -> None:
    """After the page, so it shows the picture set the page may have just loaded (pages never st.stop())."""
    st.markdown("### :material/psychology: Transfer Learning Studio")
    space = spaces.current()
    if space is None:
        st.caption("Join the class to start.")
        return
    if spaces.viewing_as_teacher(space):
        st.caption(f"Viewing **{words.md(space.name)}**'s space, as the teacher")
    elif spaces.classroom() and not spaces.is_teacher():
        st.caption(f"Your space: **{words.md(space.name)}** · bookmark this page to come back to it")
    data = state.dataset()
    if data is None:
        st.caption("Pictures: none yet (the Data page starts with the built-in demo)")
    else:
        st.caption(f"Pictures: **{words.md(state.dataset_name())}** · {len(data)} in "
                   f"{len(data.class_names)} classes")
    entry = state.job_entry()
    experiment = isinstance(state.job(), ExperimentJob)
    what, where = ("An experiment", "Experiments") if experiment else ("Training", "Train")
    if entry is not None and entry.state == "running":
        st.caption(f"{what} is running… (see the {where} page)")
    elif entry is not None and entry.state == "queued":
        st.caption(f"{what} waits in line (number {entry.position}; see the {where} page)")


with st.sidebar, st.container(key="sidebar_status"):
    sidebar_status()
