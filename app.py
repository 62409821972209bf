"""Transfer Learning Studio: a Streamlit app that teaches transfer learning with your own pictures.

Run it with:  streamlit run app.py
This file sets up the page, the navigation (studio/navigation.py) and the sidebar; each page is
the ``render()`` of a module in app_pages/, built from small section functions.
"""

import streamlit as st

from studio import navigation, state, widgets, words

st.set_page_config(page_title="Transfer Learning Studio", page_icon="🧠", layout="wide")
widgets.apply_style()
current = st.navigation(navigation.all_pages())
state.sync_job()  # before the page, so every page sees a run that just finished

current.run()

# After the page, so it shows the picture set the page may have just loaded (pages never st.stop()).
with st.sidebar, st.container(key="sidebar_status"):
    st.markdown("### :material/psychology: Transfer Learning Studio")
    data = state.dataset()
    if data is None:
        st.caption("Pictures: none yet (the Data page starts with the built-in demo)")
    else:
        st.caption(f"Pictures: **{words.md(state.dataset_name())}** · {len(data)} in "
                   f"{len(data.class_names)} classes")
    job = state.job()
    if job is not None and job.running:
        st.caption("Training is running… (see the Train page)")
