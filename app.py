"""Transfer Learning Studio: a Streamlit app that teaches transfer learning with your own pictures.

Run it with:  streamlit run app.py
This file only sets up the page and the navigation; each page is a small script in pages/.
"""

import streamlit as st

from studio import state, ui

st.set_page_config(page_title="Transfer Learning Studio", page_icon="🧠", layout="wide")

PAGES = [
    st.Page("pages/learn.py", title="Learn", icon=":material/school:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/photo_library:"),
    st.Page("pages/model.py", title="Model", icon=":material/account_tree:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/test.py", title="Test", icon=":material/image_search:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/fact_check:"),
    st.Page("pages/runs.py", title="Runs", icon=":material/history:"),
    st.Page("pages/share.py", title="Share", icon=":material/ios_share:"),
]

page = st.navigation(PAGES)
state.sync_job()  # before the sidebar, so it shows a run that just finished

with st.sidebar:
    st.markdown("### :material/psychology: Transfer Learning Studio")
    data = state.dataset()
    if data is not None:
        st.caption(f"Pictures: **{ui.md(state.dataset_name())}** · {len(data)} in {len(data.class_names)} classes")
    job = state.job()
    if job is not None and job.running:
        st.caption("Training is running… (see the Train page)")

page.run()
