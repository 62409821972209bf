"""The app's pages, in one place: ``st.navigation`` in app.py is the only router.

Pages are the ``render()`` functions of the modules in ``app_pages/`` (a folder that is
deliberately *not* called ``pages/``: that name switches Streamlit to its older automatic
multipage mode on a deep link). Other pages link here by name, e.g. ``link("train", ...)``.

``st.Page`` objects are made anew on every call: Streamlit marks the one it runs, so one
object shared by two sessions could refuse to run for the second.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import streamlit as st

from tlcore.i18n import N_

from .i18n import _


class PageEntry(NamedTuple):
    name: str  # the module in app_pages/ and the URL path: /data, /train, ...
    title: str  # English (marked for the catalogue); shown as _(title)
    icon: str


PAGES = (
    PageEntry("learn", N_("Learn"), ":material/school:"),
    PageEntry("data", N_("Data"), ":material/photo_library:"),
    PageEntry("model", N_("Model"), ":material/account_tree:"),
    PageEntry("train", N_("Train"), ":material/model_training:"),
    PageEntry("test", N_("Test"), ":material/image_search:"),
    PageEntry("evaluate", N_("Evaluate"), ":material/fact_check:"),
    PageEntry("understand", N_("Understand"), ":material/scatter_plot:"),
    PageEntry("runs", N_("Runs"), ":material/history:"),
    PageEntry("experiments", N_("Experiments"), ":material/science:"),
    PageEntry("share", N_("Share"), ":material/ios_share:"),
)
# Classroom mode only (`tlcore classroom`): students join with a name; the teacher's page needs a code.
JOIN = PageEntry("join", N_("Join the class"), ":material/login:")
TEACHER = PageEntry("teacher", N_("Teacher"), ":material/co_present:")
DEFAULT = "learn"
PAGE_BAR = "page_bar"  # the phone's row of page links (its CSS is in studio/widgets.py)
_BY_NAME = {entry.name: entry for entry in (*PAGES, JOIN, TEACHER)}


def page(name: str, default: str = DEFAULT):
    """The ``st.Page`` of the page ``name`` (its module is imported on first use)."""
    entry = _BY_NAME.get(name)
    if entry is None:
        raise ValueError(f"There is no page {name!r}; the pages are {', '.join(_BY_NAME)}.")
    module = importlib.import_module(f"app_pages.{entry.name}")
    return st.Page(module.render, title=_(entry.title), icon=entry.icon, url_path=entry.name,
                   default=entry.name == default)


def all_pages(classroom: bool = False, joined: bool = True) -> list:
    """The pages this session may open. Solo: the Studio's pages. Classroom: the join page (and
    the teacher's) until the student has a space; then the Studio's pages and the teacher's."""
    if not classroom:
        return [page(entry.name) for entry in PAGES]
    if not joined:
        return [page(JOIN.name, default=JOIN.name), page(TEACHER.name, default=JOIN.name)]
    return [page(entry.name) for entry in (*PAGES, TEACHER)]


def page_bar(pages: list) -> None:
    """Every page this session may open, as a row of links above the page. Shown on a narrow
    screen only (a phone, an iPad upright; the CSS in studio/widgets.py), where Streamlit folds
    its sidebar away behind a ">>" that a 12-year-old never opens."""
    with st.container(key=PAGE_BAR, horizontal=True, gap="small"):
        for each in pages:
            st.page_link(each, label=each.title, icon=each.icon)


def link(name: str, label: str, icon: str = ":material/arrow_forward:") -> None:
    """A link to the page ``name``, keeping the session."""
    st.page_link(page(name), label=label, icon=icon)


def go(name: str) -> None:
    """Switch to the page ``name`` now (ends this run)."""
    st.switch_page(page(name))
