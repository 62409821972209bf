"""What the AppTest modules share: private folders, the environment, one small trained run,
and helpers to open a page and read its text. Imported by test_app_pages.py and test_app_share.py."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import SHARED_WEIGHTS  # the one place ../shared is named

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
SMALL_WEIGHTS = str(SHARED_WEIGHTS) if SHARED_WEIGHTS.is_file() else "none"
TIMEOUT = 90


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A cache (demo pictures, features) shared by the module, and a fresh workspace."""
    base = tmp_path_factory.mktemp("studio")
    return {"cache": base / "cache", "workspace": base / "workspace", "keras": base / "keras", "base": base}


@pytest.fixture(autouse=True)
def environment(monkeypatch, folders):
    """Each test starts as a new user would: the module's runs are there, but no space yet (its
    pictures, settings and chosen run), and a server with a new training line."""
    import streamlit as st

    monkeypatch.setenv("TLCORE_CACHE_DIR", str(folders["cache"]))
    monkeypatch.setenv("TLCORE_WORKSPACE", str(folders["workspace"]))
    monkeypatch.setenv("KERAS_HOME", str(folders["keras"]))  # no ImageNet file is ever "cached"
    monkeypatch.delenv("TLCORE_MODE", raising=False)
    shutil.rmtree(folders["workspace"] / "spaces", ignore_errors=True)
    shutil.rmtree(folders["workspace"] / "classroom", ignore_errors=True)
    st.cache_resource.clear()  # the space store and the training queue are one per server
    return folders


@pytest.fixture(scope="module")
def trained_run(folders):
    """One small real run in the workspace: MobileNetV2 0.35 at 96 px on the demo, 2 epochs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TLCORE_CACHE_DIR", str(folders["cache"]))
        from tlcore.data import load_demo
        from tlcore.runs import save_run
        from tlcore.training import Trainer

        demo = load_demo(image_size=96)
        from tlcore.settings import TrainingSettings

        settings = TrainingSettings(backbone="mobilenet_v2_035", weights=SMALL_WEIGHTS, input_size=96, epochs=2,
                                    batch_size=32)
        trainer = Trainer(settings, cache_dir=folders["cache"] / "features").fit(demo)
        return save_run(trainer, demo, folders["workspace"] / "20240101-000000-mobilenet_v2_035")


def switch(at: AppTest, page: str) -> AppTest:
    """Make ``page`` (a name in studio/navigation.py: "data", "train"...) the page of the next run.

    Streamlit 1.67's ``AppTest.switch_page()`` finds only pages made from files; ours are
    callables (``st.Page(render, url_path=...)``), which Streamlit knows by the hash of their
    URL path, as a browser's /data or /train asks for. AppTest keeps the page to run in
    ``_page_hash``: set it (the one private name the tests use; checked after the run)."""
    from streamlit.util import calc_hash

    if not hasattr(at, "_page_hash"):
        raise AssertionError("AppTest has no _page_hash any more: see how switch_page() picks a page now")
    at._page_hash = calc_hash(page)
    return at


def on_page(at: AppTest) -> str | None:
    """The name of the page the last run drew (None before the first run)."""
    from streamlit.util import calc_hash

    from studio.navigation import PAGES

    by_hash = {calc_hash(entry.name): entry.name for entry in PAGES}
    return by_hash.get(getattr(at, "_finished_page_script_hash", None))


def key_of(at: AppTest, group: str, name: str) -> str:
    """The key ``widgets.widget_key(group, name)`` gives now in ``at``'s session (it changes when
    another page renews the group's widgets)."""
    versions = at.session_state["tl_widget_versions"] if "tl_widget_versions" in at.session_state else {}
    version = versions.get(group, 0)
    return f"{group}_{name}" if version == 0 else f"{group}_{name}_v{version}"


def open_page(page: str, **session) -> AppTest:
    """The app, switched to ``page``, with ``session`` put into session state first."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in session.items():
        at.session_state[key] = value
    at.run(timeout=60)
    assert not at.exception, at.exception
    if page != "learn":
        switch(at, page).run(timeout=TIMEOUT)
        assert not at.exception, at.exception
        assert on_page(at) == page, f"asked for the {page} page, the app drew {on_page(at)}"
    return at


def space_job():
    """The job of the solo space in the server's training queue (what the Train page shows)."""
    from studio import spaces
    from tlcore.spaces import SOLO_ID

    entry = spaces.queue().status(SOLO_ID)
    return spaces.queue().job(entry.ticket) if entry is not None else None


def wait_until_started(job, timeout: float = 60) -> None:
    """A job waits in the queue before its worker starts it."""
    import time

    deadline = time.monotonic() + timeout
    while not (job.running or job.finished) and time.monotonic() < deadline:
        time.sleep(0.05)


def texts(at: AppTest) -> str:
    """All visible text of the page, joined (markdown, captions, alerts, subheaders...)."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "success", "error", "warning", "info"):
        parts += [str(element.value) for element in getattr(at, kind)]
    return re.sub(r"\\(.)", r"\1", "\n".join(parts))  # undo Markdown escapes
