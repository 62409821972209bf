"""Every page renders in every shipped language: no exception, and no message shown untranslated
(TLCORE_I18N_MARK_MISSING=1 draws one as ⟦…⟧). The pseudo-language test (test_i18n_pages.py) finds
words that skipped the catalogue; this one finds catalogues that miss a message or break a page."""

from __future__ import annotations

import re

import pytest

from i18n_support import visible_texts
from studio_support import environment, folders, open_page, trained_run  # noqa: F401 (fixtures)
from tlcore.i18n import LOCALES, MISSING_MARK_ENV

SHIPPED = sorted(path.stem for path in LOCALES.glob("*.po"))


@pytest.mark.parametrize("code", SHIPPED)
def test_every_page_renders_in_the_language(code, trained_run, monkeypatch):
    from studio.navigation import PAGES

    monkeypatch.setenv(MISSING_MARK_ENV, "1")
    for entry in PAGES:
        at = open_page(entry.name, tl_language=code, tl_selected_run=str(trained_run.path))
        assert not at.exception, (code, entry.name, at.exception)
        missing = [part for text in visible_texts(at) for part in re.findall(r"⟦[^⟧]*⟧?", text)]
        assert not missing, (code, entry.name, missing[:5])
