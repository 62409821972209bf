"""Which language a session reads, and where it is chosen: the student's own pick in the sidebar
(kept with their space, so it comes back after a refresh or a restart), else the class's (the
teacher's choice on the Teacher page), else the browser's (``Accept-Language``), else English.
Also the page's ``lang`` and ``dir`` (screen readers; Arabic right to left).

app.py calls ``settle()`` once per run, before any word is said; studio/i18n.py only reads the result.
"""

from __future__ import annotations

import json

import streamlit as st

from tlcore.i18n import best_language, language as language_info, languages

from . import spaces, state
from .i18n import LANGUAGE, _, language


def settle() -> str:
    """This session's language, decided the first time and kept in the session."""
    code = st.session_state.get(LANGUAGE)
    if code is None:
        code = _remembered() or _class_default() or best_language(_browser_languages())
        st.session_state[LANGUAGE] = code
    return code


def choose(code: str) -> None:
    """This session reads ``code`` from now on, and its space remembers it."""
    st.session_state[LANGUAGE] = code
    state.remember_language(code)


def _remembered() -> str | None:
    try:
        code = state.remembered_language()
    except (OSError, ValueError):  # a workspace that cannot be used (the app says so in this language)
        return None
    return code if code in {lang.code for lang in languages()} else None


def _class_default() -> str | None:
    code = spaces.class_language() if spaces.classroom() else None
    return code if code in {lang.code for lang in languages()} else None


def _browser_languages():
    context = st.context
    wanted = []
    try:
        header = context.headers.get("Accept-Language")
    except Exception:  # no browser behind this session (tests)
        header = None
    if header:
        wanted.append(header)
    locale = getattr(context, "locale", None)
    if locale:
        wanted.insert(0, locale)
    return ",".join(wanted)


# -- the page itself --------------------------------------------------------------------------
def apply_language() -> None:
    """Tell the browser the page's language and direction (screen readers read it, Arabic is
    laid out right to left)."""
    info = language_info(language())
    direction = "rtl" if info.right_to_left else "ltr"
    script = (f"<script>document.documentElement.lang = {json.dumps(info.html_lang)};"
              f"document.documentElement.dir = {json.dumps(direction)};</script>")
    st.html(script, unsafe_allow_javascript=True)
    if info.right_to_left:
        st.html("<style>[data-testid='stAppViewContainer'], [data-testid='stSidebar'] "
                "{direction: rtl; text-align: right;}</style>")


def language_picker(key: str = "language_picker") -> None:
    """The sidebar's language list, each language in its own name."""
    options = [lang.code for lang in languages()]
    current = language()
    names = {lang.code: lang.name for lang in languages()}
    picked = st.selectbox(_("Language"), options, index=options.index(current) if current in options else 0,
                          format_func=lambda code: names.get(code, code), key=key)
    if picked != current and current in options:  # a language without a catalogue (tests' pseudo one) stays
        choose(picked)
        st.rerun()


def class_language_picker(key: str = "teacher_class_language") -> None:
    """The Teacher page's choice of the class's language: what a student's page is in until they pick
    their own (the browser's language when the teacher leaves it)."""
    browser = "browser"
    options = [browser] + [lang.code for lang in languages()]
    names = {lang.code: lang.name for lang in languages()} | {browser: _("Each device's own language")}
    current = spaces.class_language() or browser
    picked = st.selectbox(_("The class's language"), options, index=options.index(current) if current in options else 0,
                          format_func=names.get, key=key,
                          help=_("Every student's page is in this language until they pick their own in the "
                                 "sidebar."))
    if picked != current:
        spaces.set_class_language(None if picked == browser else picked)
        st.toast(_("Saved: students who join from now on, or open their page again, read this language."))
