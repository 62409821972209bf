"""Join the class (classroom mode only): a student, or a group, types a name and gets a space.

The space's id goes into the page's URL, so a refresh, a closed tab or a server restart brings
the same space back; the page says to keep (or bookmark) that link.
"""

from __future__ import annotations

import streamlit as st

from studio import navigation, spaces
from tlcore.classroom.spaces import MAX_NAME_LENGTH, SpaceError
from tlcore.classroom.tls import TRUST_STEPS


def render() -> None:
    st.title("Join the class", anchor=False)
    gone = spaces.problem()
    if gone:
        st.warning(gone)
    name_section()
    with st.expander("The browser said the connection is not private?"):
        st.markdown(TRUST_STEPS)
    st.caption("Your pictures stay on your teacher's computer; nothing is sent to the internet.")


def name_section() -> None:
    st.markdown("Type **your name**, or your group's name. Everything you make is kept under it, "
                "on this server, until your teacher clears the class.")
    with st.form("join_form", border=False):
        name = st.text_input("Your name (or your group's)", key="join_name", max_chars=MAX_NAME_LENGTH,
                             placeholder="for example: Ana, or Table 4")
        joined = st.form_submit_button("Join", type="primary", icon=":material/login:")
    if not joined:
        return
    try:
        spaces.join(name)  # the session works in the new space from now on
    except SpaceError as error:
        st.error(str(error))
        return
    except OSError as error:  # the server's disk is full, say
        st.error(f"Your space could not be made on the server ({error.strerror or error}). Tell your teacher.")
        return
    navigation.go("learn")
