"""The classroom's certificate on the join and Teacher pages: its downloads and the once-per-device
steps, per device family (the words and files are tlcore/classroom/trust.py's; the CA is
`tlcore classroom`'s, in $TLCORE_CA_FILE). Absent behind the school's proxy: its certificate is
a real one, and devices need nothing."""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from .i18n import _

from tlcore.classroom import trust
from tlcore.classroom.server import CA_FILE_ENV
from tlcore.classroom.tls import certificate_der, short_fingerprint


def ca_der() -> bytes | None:
    """The CA certificate (DER) devices install; None behind a proxy (or outside classroom mode)."""
    path = os.environ.get(CA_FILE_ENV, "")
    return certificate_der(path) if path and Path(path).is_file() else None


def fingerprint() -> str | None:
    der = ca_der()
    return short_fingerprint(der) if der else None


def download_buttons(key: str, der: bytes) -> None:
    """The two files, side by side: the iPad profile and the certificate for every other device."""
    profile_column, certificate_column = st.columns(2)
    profile_column.download_button(
        _("Get the profile for iPad or iPhone"), data=trust.mobileconfig(der), file_name=trust.PROFILE_DOWNLOAD,
        mime=trust.PROFILE_MIME, key=f"{key}_profile", icon=":material/phone_iphone:", on_click="ignore")
    certificate_column.download_button(
        _("Get the certificate"), data=der, file_name=trust.CA_DOWNLOAD, mime=trust.CA_MIME,
        key=f"{key}_certificate", icon=":material/verified_user:", on_click="ignore")


def device_steps() -> None:
    """A tab per device family: what to do once, and what then works."""
    families = trust.DEVICE_STEPS
    for tab, family in zip(st.tabs([_(f.family) for f in families]), families):
        with tab:
            st.markdown("\n".join(f"{n}. {_(step)}" for n, step in enumerate(family.steps, 1)))
            st.markdown(_("**Then:** {what_works}", what_works=_(family.then)))
