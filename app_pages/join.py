"""Join the class (classroom mode only): a student, or a group, types a name and gets a space.

The space's id goes into the page's URL, so a refresh, a closed tab or a server restart brings
the same space back; the page says to keep (or bookmark) that link. A device that reached it
through the browser's "not private" warning finds how to trust the classroom once, per device.
"""

from __future__ import annotations

import streamlit as st

from studio import class_privacy, device_trust, navigation, spaces
from studio.i18n import _, tr
from tlcore.classroom import trust
from tlcore.spaces import MAX_NAME_LENGTH, SpaceError


def render() -> None:
    st.title(_("Join the class"), anchor=False)
    gone = spaces.problem()
    if gone:
        st.warning(tr(gone))
    name_section()
    device_section()
    st.caption(_("Your pictures stay on your teacher's computer; nothing is sent to the internet."))
    class_privacy.kept_caption()


def name_section() -> None:
    st.markdown(_("Type **your name**, or your group's name. Everything you make is kept under it, "
                  "on this server, until your teacher clears the class."))
    with st.form("join_form", border=False):
        name = st.text_input(_("Your name (or your group's)"), key="join_name", max_chars=MAX_NAME_LENGTH,
                             placeholder=_("for example: Ana, or Table 4"))
        joined = st.form_submit_button(_("Join"), type="primary", icon=":material/login:")
    if not joined:
        return
    try:
        spaces.join(name)  # the session works in the new space from now on
    except SpaceError as error:
        st.error(tr(error))
        return
    except OSError as error:  # the server's disk is full, say
        st.error(_("Your space could not be made on the server ({reason}). Tell your teacher.",
                   reason=error.strerror or str(error)))
        return
    navigation.go("learn")


def device_section() -> None:
    """The classroom's certificate, for a device that came through the "not private" warning."""
    der = device_trust.ca_der()
    if der is None:  # behind the school's proxy: its certificate is a real one
        return
    with st.expander(_("The browser said \"not private\"? Set this device up once"), icon=":material/lock:"):
        st.markdown(_(trust.WHY))
        device_trust.download_buttons("join_ca", der)
        device_trust.device_steps()
        st.caption(tr(trust.fingerprint_words(device_trust.fingerprint())))
