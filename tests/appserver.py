"""Start the real app (`streamlit run app.py`) and real Chromium, for e2e tests and benchmarks.

Used by tests/test_e2e.py and benchmarks/app_timing.py. Selectors rely on what Streamlit
itself guarantees (test ids, the `st-key-<key>` class of keyed widgets, link names), never on
its generated CSS class names.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
RUNNING = "[data-testid='stApp'][data-test-script-state='running']"
VIEWPORT = {"width": 1400, "height": 1000}


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install chromium; .ci/run does it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppURL(str):
    """The app's URL; ``.log`` is the server's output file, ``.process`` the server process."""

    log: Path
    process: subprocess.Popen


def start_app(env: dict[str, str], port: int | None = None) -> AppURL:
    """Start `streamlit run app.py` (returns at once; see wait_healthy and stop_app)."""
    port = port or free_port()
    folder = Path(env["TLCORE_WORKSPACE"]).parent if env.get("TLCORE_WORKSPACE") else Path(tempfile.gettempdir())
    log_path = folder / f"streamlit-{port}.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         # Files edited while a test runs must not trigger reruns or a "Source file changed" bar.
         "--server.fileWatcherType", "none", "--server.runOnSave", "false"],
        cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()  # the child keeps its own handle
    url = AppURL(f"http://127.0.0.1:{port}")
    url.log, url.process = log_path, process
    return url


def wait_healthy(url: AppURL, timeout: float = 60, poll: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if url.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the app did not start; see {url.log}:\n{log_tail(url)}")
        time.sleep(poll)


def stop_app(url: AppURL) -> None:
    url.process.terminate()
    try:
        url.process.wait(10)
    except subprocess.TimeoutExpired:
        url.process.kill()
        url.process.wait(10)


def log_tail(url: AppURL, lines: int = 40) -> str:
    try:
        return "\n".join(url.log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@contextmanager
def app_server(env: dict[str, str], port: int | None = None, timeout: float = 60):
    """Yields the URL (an AppURL) of a fresh `streamlit run app.py --server.headless true` on a free port."""
    url = start_app(env, port)
    try:
        wait_healthy(url, timeout)
        yield url
    finally:
        stop_app(url)


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


# -- driving the page -----------------------------------------------------------------------------
def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the script has finished its run (the page is drawn)."""
    page.wait_for_selector(READY, timeout=timeout_ms)


def wait_rerun(page, timeout_ms: int = 60_000) -> None:
    """After an action: give the rerun a moment to start, then wait until it has finished."""
    try:
        page.wait_for_selector(RUNNING, timeout=700)
    except Exception:  # a fast rerun may have come and gone already
        pass
    wait_idle(page, timeout_ms)


def go_to(page, title: str, timeout_ms: int = 60_000) -> None:
    """Click a page in the sidebar navigation (keeps the session, unlike page.goto)."""
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
    target = link.get_attribute("href")  # the default page's is the app's root
    link.click()
    if target:  # in classroom mode the app puts the space back into the URL: ?space=...
        page.wait_for_url(re.compile(re.escape(target) + r"(\?.*)?$"), timeout=timeout_ms)
    wait_rerun(page, timeout_ms)


def widget(page, key: str):
    """The container of the widget made with ``key=...`` (Streamlit gives it the class st-key-<key>)."""
    return page.locator(f".st-key-{key}")


def reveal(page, key: str) -> None:
    """Open the expander that holds the widget ``key``, if it is in a closed one."""
    box = widget(page, key)
    if box.is_visible():
        return
    expander = page.get_by_test_id("stExpander").filter(has=page.locator(f".st-key-{key}")).last
    expander.locator("summary").first.click()
    box.wait_for(state="visible")
    wait_idle(page)


def settle(page, timeout_ms: int = 30_000) -> None:
    """Wait until the page is fully drawn: script idle, no spinner, pictures, charts and fonts loaded."""
    wait_idle(page, timeout_ms)
    page.wait_for_function(
        """() => {
            const all = (s) => [...document.querySelectorAll(s)];
            if (all("[data-testid='stSpinner']").length) return false;
            if (!all("img").every((i) => i.complete)) return false;
            if (!all("[data-testid='stPlotlyChart']").every((c) => c.querySelector('.main-svg'))) return false;
            if (!all("[data-testid='stGraphVizChart']").every((c) => c.querySelector('svg'))) return false;
            return document.fonts.status === 'loaded';
        }""",
        timeout=timeout_ms,
    )
    page.wait_for_timeout(400)  # Plotly's and the layout's last transitions


def screenshot_full(page, paths, width: int = VIEWPORT["width"], min_height: int = VIEWPORT["height"]) -> None:
    """A screenshot of the whole page at ``width`` to each of ``paths``.

    Streamlit scrolls inside its main element, so Playwright's full_page sees one screen only:
    grow the viewport to the content's height instead, then put it back."""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.mouse.move(width // 2, 5)  # no hover effects or tooltips
    height = None
    for _ in range(3):  # content can reflow once the viewport grows
        wanted = max(min_height, page.evaluate(
            "() => { const m = document.querySelector(\"[data-testid='stMain']\");"
            " return Math.ceil(m ? m.scrollHeight : document.documentElement.scrollHeight); }"))
        if wanted == height:
            break
        height = wanted
        page.set_viewport_size({"width": width, "height": height})
        settle(page)
    for path in paths:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": min_height})


def choose_on_slider(page, key: str, value: str, timeout_ms: int = 60_000) -> None:
    """Move the (select_)slider ``key`` to the option shown as ``value``, with the keyboard."""
    reveal(page, key)
    thumb = widget(page, key).get_by_role("slider").first
    thumb.focus()
    if thumb.get_attribute("aria-valuetext") != value:
        thumb.press("Home")
        for _ in range(int(thumb.get_attribute("max") or 100) + 1):
            if thumb.get_attribute("aria-valuetext") == value:
                break
            thumb.press("ArrowRight")
        else:
            raise AssertionError(f"the slider {key!r} has no option {value!r}")
    wait_rerun(page, timeout_ms)
