"""The run as a web page for a phone (tlcore.export.web), on the Test and Share pages.

    qr_section(run, not_sure, key)       # classroom mode: a QR code to the student's own page
    remake_published(run, not_sure)      # after its behaviours change: the page behind the QR code too

Solo (``streamlit run app.py``) the page is a download on the Share page; in classroom mode the
classroom also serves it to the student's phone over its HTTPS (tlcore/classroom/phone_pages.py),
which is how an iPhone or iPad gets a camera page at all.
"""

from __future__ import annotations

import os

import streamlit as st

from tlcore.classroom import qr
from tlcore.classroom.phone_pages import page_key, page_path, page_url, publish_page
from tlcore.classroom.server import JOIN_URL_ENV
from tlcore.i18n import N_, Decimal

from . import spaces
from .i18n import _, tr

PHONE_WORDS = N_("Scan it with the phone's camera: the page opens on the phone and is your model. It answers "
               "there, with the phone's camera, and plays your behaviours; once open it needs no network.")


def _space_folder():
    space = spaces.current()
    return space.folder if space is not None else None


def _page_html(run, not_sure: float, language: str) -> str:
    from tlcore.export.web import web_page

    return web_page(run, not_sure=not_sure, language=language)


def published(run):
    """The run's page in the classroom (its file), or None."""
    folder = _space_folder()
    return page_path(folder, run.path.name) if folder is not None and run.path is not None else None


def publish(run, not_sure: float, language: str = "en") -> str:
    """Make the run's page and keep it where the classroom serves it; returns its address."""
    key = publish_page(_space_folder(), run.path.name, _page_html(run, not_sure, language))
    return page_url(os.environ.get(JOIN_URL_ENV, ""), key)


def remake_published(run, not_sure: float, language: str = "en") -> None:
    """After a change (its behaviours): the page behind an existing QR code follows."""
    if spaces.classroom() and published(run) is not None:
        with st.spinner(_("Making the page for your phone again…")):
            publish(run, not_sure, language)


def qr_section(run, not_sure: float, key: str, language: str = "en") -> None:
    """Classroom mode: "On your phone": make the page, then its QR code and address."""
    from tlcore.export.web import web_problem

    if not spaces.classroom() or run.path is None or _space_folder() is None:
        return
    with st.container(border=True, key=f"{key}-box"):
        st.subheader(":material/qr_code_2: " + _("Your model on your phone"), anchor=False)
        problem = web_problem(run)
        if problem:
            st.info(tr(problem))
            return
        made = published(run) is not None
        label = _("Make it again (new behaviours or “not sure” line)") if made else _("Make the page for my phone")
        if st.button(label, key=f"{key}-make", icon=":material/build:", type="secondary" if made else "primary"):
            try:
                with st.spinner(_("Making the page for your phone…")):
                    publish(run, not_sure, language)
            except (ValueError, OSError) as error:
                st.error(_("The page could not be made: {reason}", reason=tr(error)))
                return
        path = published(run)
        if path is None:
            st.caption(_("A web page that is your model, for your phone: its camera, your classes, your behaviours."))
            return
        url = page_url(os.environ.get(JOIN_URL_ENV, ""), page_key(_space_folder(), run.path.name))
        code_column, words_column = st.columns([2, 3], gap="medium")
        code_column.image(qr.png(url, scale=6), caption=_("Scan with the phone's camera"), width=240,
                          alt=_("QR code of your model's page: {address}", address=url))
        with words_column:
            st.markdown(_(PHONE_WORDS))
            st.code(url, language=None)
            st.caption(_("{size} MB. The phone must have the classroom's certificate, like every device here (the "
                         "join page shows how).", size=Decimal(path.stat().st_size / 1e6, 1)))
