"""The Share page in a real browser, against the real server (`streamlit run app.py`):
import the real Teachable Machine export through the uploader, see its answer on the Test page,
check it on the Evaluate page (clicking a square of the confusion matrix), then download an
export zip and look inside it.

Needs Chromium, playwright and ../shared; skipped otherwise. About a minute.
"""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from appserver import app_server, chromium_missing, launch_chromium, wait_idle, wait_rerun

pytestmark = pytest.mark.e2e



@pytest.fixture(scope="module")
def browser():
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def open_page(page, title: str) -> None:
    """Click a page in the sidebar (keeps the session, unlike page.goto)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    page.wait_for_url(f"**/{title.lower()}")
    wait_rerun(page, 90_000)


def keyed(page, key: str):
    """The element made with ``key=...`` (Streamlit gives its container the class st-key-<key>)."""
    return page.locator(f".st-key-{key}")


def test_import_teachable_machine_then_test_and_download_an_export(browser, shared, tmp_path):
    tm = shared / "clients" / "teachable-machine-cats-dogs"
    if not (tm / "keras_model.h5").is_file():
        pytest.skip(f"needs the real Teachable Machine export in {tm}")
    expected = json.loads((tm / "expected.json").read_text())
    item = expected["expected"][0]
    picture = next(base / item["image"] for base in (tm, *tm.parents) if (base / item["image"]).is_file())

    env = {"TLCORE_WORKSPACE": str(tmp_path / "workspace"), "TLCORE_CACHE_DIR": str(tmp_path / "cache"),
           "KERAS_HOME": str(tmp_path / "keras")}
    with app_server(env) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.set_default_timeout(90_000)
        page.goto(url)
        wait_idle(page)

        # 1. Import the export through the Share page's uploader (both files at once)
        open_page(page, "Share")
        page.get_by_role("tab").filter(has_text="Import").click()
        keyed(page, "share_tm_files").locator("input[type=file]").set_input_files(
            [str(tm / "keras_model.h5"), str(tm / "labels.txt")])
        success = page.get_by_test_id("stAlertContentSuccess").filter(has_text="Imported")
        success.wait_for()
        wait_rerun(page, 90_000)
        assert "dog, cat" in success.inner_text()
        assert not page.get_by_test_id("stException").count()

        # 2. The Test page uses it: upload a picture, see its answer and probabilities
        open_page(page, "Test")
        assert page.get_by_text("knows 2 classes: dog, cat").count() == 1  # the imported model is chosen
        keyed(page, "test_files").locator("input[type=file]").set_input_files(str(picture))
        answer = page.locator(".tl-card .tl-value").first
        answer.wait_for()
        wait_rerun(page, 90_000)
        assert answer.inner_text().strip() == item["top"]
        bars = page.get_by_test_id("stProgress").all_inner_texts()
        shown = {m.group(1): int(m.group(2)) for m in (re.search(r"(\w+) · (\d+)%", t) for t in bars) if m}
        assert shown == {name: round(100 * p) for name, p in item["probabilities"].items()}

        # 3. Evaluate it on a labelled zip, then click a square of the confusion matrix
        pictures = [next(base / e["image"] for base in (tm, *tm.parents) if (base / e["image"]).is_file())
                    for e in expected["expected"]]
        labelled = tmp_path / "labelled.zip"
        with zipfile.ZipFile(labelled, "w") as archive:
            for i, path in enumerate(pictures[:6]):
                archive.write(path, f"cat/{i}.jpg")
            for i, path in enumerate(pictures[7:]):
                archive.write(path, f"dog/{i}.jpg")
            archive.write(pictures[6], "flowers/x.jpg")
        open_page(page, "Evaluate")
        keyed(page, "eval_zip").locator("input[type=file]").set_input_files(str(labelled))
        page.get_by_test_id("stPlotlyChart").first.wait_for()
        wait_rerun(page, 90_000)
        tops = [e["top"] for e in expected["expected"]]
        right = tops[:6].count("cat") + tops[7:].count("dog")
        assert page.locator(".tl-card .tl-value").first.inner_text().strip() == f"{right / 9:.0%}"
        assert "flowers" in page.get_by_test_id("stAlertContentWarning").first.inner_text()
        matrix = page.get_by_test_id("stPlotlyChart").first
        matrix.scroll_into_view_if_needed()
        box = matrix.locator(".nsewdrag").first.bounding_box()
        page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + 0.75 * box["height"])  # row cat, column cat
        wait_rerun(page, 90_000)
        cats = tops[:6].count("cat")
        picked = page.get_by_test_id("stAlertContentSuccess").filter(has_text="answered right")
        picked.wait_for()
        assert re.sub(r"\s+", " ", picked.inner_text()).startswith(f"{cats} picture")
        assert " cat," in picked.inner_text()

        # 4. Download the export zip from the Share page
        open_page(page, "Share")
        assert page.get_by_text("knows 2 classes: dog, cat").count() == 1
        keyed(page, "share_make_bundle").get_by_role("button").click()
        download_button = keyed(page, "share_download_bundle").get_by_role("button")
        download_button.wait_for()
        wait_rerun(page, 90_000)
        with page.expect_download() as info:
            download_button.click()
        target = tmp_path / "download.zip"
        info.value.save_as(target)
        assert info.value.suggested_filename.startswith("dog-cat") and info.value.suggested_filename.endswith(".zip")
        with zipfile.ZipFile(target) as archive:
            assert sorted(archive.namelist()) == ["labels.txt", "model.keras", "model_card.md", "predict.py"]
            assert archive.read("labels.txt").decode().split() == ["dog", "cat"]
            assert "Teachable Machine" in archive.read("model_card.md").decode()
        assert not page.get_by_test_id("stException").count()
        page.close()
