"""Transfer Learning Studio: a Streamlit app that teaches transfer learning with your own pictures.

Run it with:  streamlit run app.py          (one person: the teacher's own space)
For a class:  tlcore classroom              (each student joins with a name; one training line)

This file sets up the page, the navigation (studio/navigation.py) and the sidebar; each page is
the ``render()`` of a module in app_pages/, built from small section functions.
"""

import streamlit as st

from studio import navigation, spaces, state, widgets, words
from studio.i18n import _, _n
from studio.language import apply_language, language_picker, settle
from tlcore.jobs import ExperimentJob

st.set_page_config(page_title="Transfer Learning Studio", page_icon="🧠", layout="wide")
widgets.apply_style()
settle()  # which language this session reads: before any word is said
if problem := spaces.workspace_problem():  # a file, read-only or full: say so instead of failing on every page
    st.error(problem)
    st.stop()
space = state.current_space()  # before the navigation: a student who has not joined sees the join page
apply_language()  # the page's lang and dir (screen readers; Arabic right to left)
pages = navigation.all_pages(spaces.classroom(), joined=space is not None)
current = st.navigation(pages)
navigation.page_bar(pages)  # a phone hides the sidebar's page list: the pages as links above the page
state.sync_job()  # before the page, so every page sees a run that just finished

current.run()


def sidebar_status() -> None:
    """After the page, so it shows the picture set the page may have just loaded (pages never st.stop())."""
    # The name, not a heading: in the page's order the sidebar comes first, and a heading there
    # would open a screen reader's outline at level 3, before the page's own title (h1).
    with st.container(key="sidebar_brand"):
        st.markdown("**:material/psychology: Transfer Learning Studio**")
    space = spaces.current()
    if space is None:
        st.caption(_("Join the class to start."))
        return
    if spaces.viewing_as_teacher(space):
        st.caption(_("Viewing **{name}**'s space, as the teacher", name=words.md(space.name)))
    elif spaces.classroom() and not spaces.is_teacher():
        st.caption(_("Your space: **{name}** · bookmark this page to come back to it", name=words.md(space.name)))
    data = state.dataset()
    if data is None:
        st.caption(_("Pictures: none yet (the Data page starts with the built-in demo)"))
    else:
        st.caption(_n("Pictures: **{name}** · {pictures} in {count} class",
                      "Pictures: **{name}** · {pictures} in {count} classes", len(data.class_names),
                      name=words.md(state.shown_dataset_name()), pictures=len(data)))
    entry = state.job_entry()
    experiment = isinstance(state.job(), ExperimentJob)
    if entry is not None and entry.state == "running":
        st.caption(_("An experiment is running… (see the Experiments page)") if experiment
                   else _("Training is running… (see the Train page)"))
    elif entry is not None and entry.state == "queued":
        st.caption(_("An experiment waits in line (number {place}; see the Experiments page)", place=entry.position)
                   if experiment else _("Training waits in line (number {place}; see the Train page)",
                                        place=entry.position))


with st.sidebar, st.container(key="sidebar_status"):
    sidebar_status()
with st.sidebar:
    language_picker()
