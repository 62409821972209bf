"""Benchmark 5: the app as a teacher meets it, in real Chromium against `streamlit run app.py`.

(a) From launching the server to the first page drawn (browser already started): the process
    starts, the script finishes its first run and the page's title is visible. Median of 3.
(b) From pressing Start on the Train page (the built-in demo set) to the first point of the
    learning curves appearing in the Plotly chart.

    python benchmarks/run.py app
"""

from __future__ import annotations

import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "tests", Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from appserver import (  # noqa: E402
    READY,
    VIEWPORT,
    chromium_missing,
    go_to,
    launch_chromium,
    start_app,
    stop_app,
    wait_healthy,
    wait_idle,
    widget,
)
from common import SHARED_WEIGHTS, table  # noqa: E402

FIRST_PAGE_TARGET_S = 3.0
FIRST_POINT_TARGET_S = 15.0
LAUNCHES = 3
FIRST_POINT = """() => document.querySelectorAll(
    "[class*='st-key-train_curves'] .scatterlayer .trace path.point").length > 0"""


def first_page_seconds(browser, env: dict) -> tuple[float, float]:
    """(seconds to the first page drawn, seconds until the server answered its health check)."""
    page = browser.new_page(viewport=VIEWPORT)
    started = time.perf_counter()
    url = start_app(env)
    try:
        wait_healthy(url, timeout=60, poll=0.02)
        healthy = time.perf_counter() - started
        page.goto(url)
        page.wait_for_selector(READY, timeout=60_000)
        page.get_by_role("heading", level=1).first.wait_for(state="visible", timeout=60_000)
        return time.perf_counter() - started, healthy
    finally:
        page.close()
        stop_app(url)


def choose_network(env: dict) -> tuple[str | None, str, str]:
    """(backbone's radio label or None for the default, weights choice's label, note for the table)."""
    from tlcore.backbones import get_backbone, imagenet_weights_cached

    if imagenet_weights_cached(get_backbone("mobilenet_v2")):
        return None, "ImageNet", "MobileNetV2, ImageNet weights (cached)"
    if SHARED_WEIGHTS.is_file():
        library = Path(env["TLCORE_CACHE_DIR"]) / "weights"
        library.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHARED_WEIGHTS, library / "mobilenet_v2_035.weights.h5")
        return ("MobileNetV2 (0.35", "Weights file added",
                "MobileNetV2 (0.35), ImageNet weights from the library file (ImageNet download not cached)")
    return ("MobileNetV2 (0.35", "None — from scratch",
            "MobileNetV2 (0.35) from scratch (no ImageNet weights here; timing only)")


def first_point_seconds(browser, env: dict) -> tuple[float, str, str]:
    """(seconds from pressing Start to the first curve point, what was trained, pictures)."""
    backbone, weights, note = choose_network(env)
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(60_000)
    url = start_app(env)
    try:
        wait_healthy(url)
        page.goto(url)
        wait_idle(page)
        go_to(page, "Model", timeout_ms=120_000)  # the demo set loads on the first visit
        if backbone:
            widget(page, "model_backbone").get_by_text(backbone, exact=False).click()
            page.wait_for_timeout(300)
            wait_idle(page)
            widget(page, "model_weights").get_by_text(weights, exact=False).click()
            page.wait_for_timeout(300)
            wait_idle(page)
        go_to(page, "Train", timeout_ms=120_000)
        found = re.search(r"Next training:.*?([\d,]+) pictures", page.get_by_test_id("stMain").inner_text())
        pictures = found.group(1) if found else "?"
        start = widget(page, "train_start").get_by_role("button")
        start.wait_for(state="visible")
        started = time.perf_counter()
        start.click()
        page.wait_for_function(FIRST_POINT, polling=50, timeout=300_000)
        seconds = time.perf_counter() - started
        widget(page, "train_stop").get_by_role("button").click()  # enough: the server is stopped next
        return seconds, note, pictures
    finally:
        page.close()
        stop_app(url)


def bench_app(quick: bool = False) -> str:
    """The Markdown section (``quick`` changes nothing: it takes about half a minute either way)."""
    title = "### 5. App (Streamlit in Chromium)\n\n"
    missing = chromium_missing()
    if missing:
        return title + f"Skipped: {missing}.\n"
    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="tlcore-bench-app-"))
    env = {"TLCORE_WORKSPACE": str(base / "workspace"), "TLCORE_CACHE_DIR": str(base / "cache"),
           "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                launches = [first_page_seconds(browser, env) for _ in range(LAUNCHES)]
                point, trained, pictures = first_point_seconds(browser, env)
            finally:
                browser.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)

    first_page = statistics.median(seconds for seconds, _ in launches)
    healthy = statistics.median(seconds for _, seconds in launches)
    rows = [
        {"measure": f"launch → first page drawn (median of {LAUNCHES})", "seconds": f"{first_page:.1f}",
         "target": f"≤ {FIRST_PAGE_TARGET_S:g} s", "met": "yes" if first_page <= FIRST_PAGE_TARGET_S else "NO",
         "notes": (f"launches: {', '.join(f'{s:.1f}' for s, _ in launches)} s; server answering after "
                   f"{healthy:.1f} s; Learn page, script idle and its title visible")},
        {"measure": "Start → first curve point", "seconds": f"{point:.1f}",
         "target": f"≤ {FIRST_POINT_TARGET_S:g} s", "met": "yes" if point <= FIRST_POINT_TARGET_S else "NO",
         "notes": f"built-in demo, {pictures} pictures; {trained}; 224 px, default settings"},
    ]
    return (title + table(rows, ["measure", "seconds", "target", "met", "notes"])
            + f"\n\nTargets: first page ≤ {FIRST_PAGE_TARGET_S:g} s; first curve point ≤ "
              f"{FIRST_POINT_TARGET_S:g} s. Headless Chromium already running; a fresh `streamlit run app.py` "
              "for each measurement.\n")
