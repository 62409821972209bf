"""The Studio in another language, in real Chromium: a browser set to Spanish gets the journey in
Spanish (Learn → the demo → Model → Train, a real training to "Training finished"), and a student who
picks Arabic in the sidebar gets every page laid out right to left.

Each journey needs its catalogue (tlcore/i18n/locales/<code>.po) and skips with a reason without it.
"""

from __future__ import annotations

import re
import shutil

import pytest

from appserver import app_server, chromium_missing, go_to, launch_chromium, wait_idle, wait_rerun, widget
from conftest import SHARED_WEIGHTS  # noqa: E402  (the one place ../shared is named)
from tlcore.i18n import LOCALES, msg, translate

_MISSING = chromium_missing()
if _MISSING:
    pytest.skip(_MISSING, allow_module_level=True)

pytestmark = pytest.mark.e2e

STEP_MS = 90_000
TRAIN_MS = 300_000
HOLE = "\u2063"  # stands for a value, to find a sentence's fixed part


def said(code: str, text: str, **values) -> str:
    return translate(msg(text, **values), code)


def fixed_part(code: str, text: str, name: str) -> str:
    """The words of ``text`` in ``code`` before its placeholder ``name``."""
    return said(code, text, **{name: HOLE}).split(HOLE)[0].strip()


def needs(code: str) -> None:
    if not (LOCALES / f"{code}.po").is_file():
        pytest.skip(f"no catalogue for {code!r} (tlcore/i18n/locales/{code}.po)")


@pytest.fixture()
def server(tmp_path):
    cache = tmp_path / "cache"
    (cache / "weights").mkdir(parents=True)
    if SHARED_WEIGHTS.is_file():  # the weights file a teacher added once: a real transfer training
        shutil.copyfile(SHARED_WEIGHTS, cache / "weights" / "mobilenet_v2_035.weights.h5")
    env = {"TLCORE_WORKSPACE": str(tmp_path / "workspace"), "TLCORE_CACHE_DIR": str(cache),
           "KERAS_HOME": str(tmp_path / "keras"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    with app_server(env) as url:
        yield url


def test_a_browser_set_to_spanish_gets_the_journey_in_spanish(server):
    from playwright.sync_api import sync_playwright

    code = "es"
    needs(code)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(locale="es-ES", viewport={"width": 1280, "height": 720}).new_page()
            page.set_default_timeout(STEP_MS)
            page.goto(str(server))
            wait_idle(page, STEP_MS)
            assert page.evaluate("() => document.documentElement.lang") == "es"
            page.get_by_role("heading", name=said(code, "How a computer learns your pictures")).wait_for()
            page.get_by_role("button", name=said(code, "Start with the demo")).click()
            wait_rerun(page, STEP_MS)
            go_to(page, said(code, "Model"), STEP_MS)
            go_to(page, said(code, "Train"), STEP_MS)
            widget(page, "train_start").get_by_role("button", name=said(code, "Start training")).click()
            finished = fixed_part(code, "Training finished: {accuracy}. Saved, ready to test.", "accuracy")
            page.get_by_text(finished, exact=False).first.wait_for(timeout=TRAIN_MS)
            text = page.get_by_test_id("stMain").inner_text()
            assert "Training finished" not in text and "Start training" not in text, text[:400]
            assert not page.get_by_test_id("stException").count()
        finally:
            browser.close()


def test_a_student_who_picks_arabic_gets_pages_right_to_left(server):
    from playwright.sync_api import sync_playwright

    from tlcore.i18n import language

    code = "ar"
    needs(code)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 720}).new_page()
            page.set_default_timeout(STEP_MS)
            page.goto(str(server))
            wait_idle(page, STEP_MS)
            widget(page, "language_picker").get_by_role("combobox").click()
            # the list shows the languages that fit under the sidebar's end: typing finds the one wanted
            page.keyboard.type(language(code).name)
            page.get_by_role("option", name=language(code).name).click()
            wait_rerun(page, STEP_MS)
            page.get_by_role("heading", name=said(code, "How a computer learns your pictures")).wait_for()
            for title in ("Data", "Model", "Train"):
                go_to(page, said(code, title), STEP_MS)
                assert page.evaluate("() => [document.documentElement.lang, document.documentElement.dir]") == \
                    ["ar", "rtl"], title
                main = page.get_by_test_id("stMain")
                assert main.evaluate("e => getComputedStyle(e.querySelector('[data-testid=stMarkdownContainer]') "
                                     "|| e).direction") == "rtl", title
                assert re.search(r"[\u0600-\u06FF]", main.inner_text()), title  # Arabic letters on the page
                assert not page.get_by_test_id("stException").count(), title
        finally:
            browser.close()
