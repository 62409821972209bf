"""The page's language: which one this session reads, and every word said in it.

Pages write ``_("Start training")`` or ``_("{count} of {total} pictures", count=n, total=m)`` and
``_n(singular, plural, n, ...)``; what tlcore says (a ``Message``, or an exception carrying one) is
shown with ``tr(...)``. Outside text (names of classes, files, students) goes in as a value, never
as the message.

Which language: the one picked in the sidebar (kept with the space, so it comes back after a
refresh or a restart), else the class's default (classroom mode: the teacher's choice), else the
browser's (its ``Accept-Language``), else English.
"""

from __future__ import annotations

import streamlit as st

from tlcore.i18n import SOURCE_LANGUAGE, format_list, language as language_info, msg, msg_n, translate

LANGUAGE = "tl_language"  # session state: the language this session reads (studio/language.py settles it)


def language() -> str:
    """This session's language code ("en", "es", "pt_BR"...); which one is decided once per session by
    studio/language.py (the student's pick, the class's, the browser's)."""
    return st.session_state.get(LANGUAGE) or SOURCE_LANGUAGE


def _(text: str, **params) -> str:
    """``text`` in this session's language, its ``{placeholders}`` filled from ``params``."""
    return translate(msg(text, **params), language())


def _n(singular: str, plural: str, count: int, **params) -> str:
    """The sentence for ``count`` in this session's language (its own plural forms)."""
    return translate(msg_n(singular, plural, count, **params), language())


def tr(text) -> str:
    """What tlcore said (a Message, an exception), in this session's language; other text as it is."""
    return translate(text, language())


def listed(items, style: str = "standard") -> str:
    """Items as one list in this session's language ("a, b, and c", "a, b y c"); never ", ".join."""
    return format_list(items, language(), style)


def right_to_left() -> bool:
    return language_info(language()).right_to_left


__all__ = ["LANGUAGE", "SOURCE_LANGUAGE", "_", "_n", "language", "listed", "right_to_left", "tr"]
