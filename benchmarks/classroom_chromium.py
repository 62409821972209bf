"""A student in Chromium, for the classroom load test: a page of its own (a browser context) in
one headless Chromium, driven by Playwright through the Streamlit frontend itself; and the
teacher's page, signed in, open for the whole lesson."""

from __future__ import annotations

import asyncio
import re
import time

from classroom_lesson import (AFTER_START, CODE, IDLE_CLICK_S, PRE_START_CLICKS, READY, STEP_S, TRAINED_S, Lesson,
                              Student, one_line)


# In each student's page, before the app loads: the Streamlit frontend's WebSocket is watched (not
# changed) so the page knows when a script run's `script_finished` arrives (ForwardMsg field 6,
# found by walking the message's top-level protobuf fields; status 2 is "ended early for a rerun").
WATCH_WEBSOCKET = """(() => {
    const Native = window.WebSocket, SCRIPT_FINISHED = 6;
    window.__tlFinished = [];  // [arrival time, status]
    const varint = (bytes, at) => {
        let value = 0, shift = 0, byte;
        do { byte = bytes[at.i++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80 && at.i < bytes.length);
        return value;
    };
    const finished = (bytes) => {
        const at = {i: 0};
        while (at.i < bytes.length) {
            const key = varint(bytes, at), field = Math.floor(key / 8), wire = key % 8;
            if (wire === 0) { const value = varint(bytes, at); if (field === SCRIPT_FINISHED) return value; }
            else if (wire === 2) { const length = varint(bytes, at); at.i += length; }  // not at.i += varint(...)
            else if (wire === 1) at.i += 8;
            else if (wire === 5) at.i += 4;
            else return null;
        }
        return null;
    };
    class Watched extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener('message', (event) => {
                if (!(event.data instanceof ArrayBuffer)) return;
                const status = finished(new Uint8Array(event.data));
                if (status !== null) window.__tlFinished.push([performance.now(), status]);
            });
        }
    }
    window.WebSocket = Watched;
})();"""

# An idle student's click on a sidebar link, timed inside the page: from the click until the run
# it starts has ended (its script_finished arrived) and the app shows its script state as idle
# (data-test-script-state="notRunning"). A rerun of a few milliseconds never shows "running" in
# the page at all, hence the WebSocket rather than the attribute alone.
TIMED_NAV_CLICK = """(title) => new Promise((resolve) => {
    const state = () => {
        const app = document.querySelector("[data-testid='stApp']");
        return app ? app.getAttribute('data-test-script-state') : null;
    };
    const link = [...document.querySelectorAll("[data-testid='stSidebarNav'] a")]
        .find((a) => a.innerText.trim().split(String.fromCharCode(10)).pop().trim() === title);  // after the icon
    if (!link || state() !== 'notRunning' || !window.__tlFinished) { resolve(-1); return; }
    const seen = window.__tlFinished.length, started = performance.now();
    const check = () => {
        const ended = window.__tlFinished.slice(seen).some(([at, status]) => at >= started && status === 0);
        if (ended && state() === 'notRunning') { clearInterval(poll); clearTimeout(timer); resolve(performance.now() - started); }
    };
    const poll = setInterval(check, 5);
    const timer = setTimeout(() => { clearInterval(poll); resolve(-2); }, 120000);
    link.click();
})"""


# Wait (in the page) until a run that began after ``seen`` script_finished messages has ended.
RERUN_ENDED = """(seen) => window.__tlFinished.slice(seen).some(([at, status]) => status !== 2)
    && document.querySelector("[data-testid='stApp']")?.getAttribute('data-test-script-state') === 'notRunning'"""


class ChromiumStudent:
    def __init__(self, lesson: Lesson, student: Student, context):
        self.lesson, self.student, self.context = lesson, student, context
        self.page = None

    async def idle(self):
        await self.page.wait_for_selector(READY, timeout=STEP_S * 1000)

    async def settled(self, action, timeout_s: float = STEP_S) -> None:
        """Do ``action`` (a click, a file chosen) and wait until the rerun it starts has ended: a
        script_finished (not "ended early for a rerun") after it, and the app idle. A fixed pause
        is not enough on a loaded server: the rerun may not even have begun."""
        seen = await self.page.evaluate("() => window.__tlFinished.length")
        await action()
        await self.page.wait_for_function(RERUN_ENDED, arg=seen, polling=50, timeout=timeout_s * 1000)

    async def go_to(self, title: str) -> None:
        link = self.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
        await self.settled(link.click)

    async def timed_click(self, title: str, what: str = "idle") -> None:
        await self.idle()
        started, training = time.time(), self.lesson.record.training_now
        ms = await self.page.evaluate(TIMED_NAV_CLICK, title)
        if ms < 0:
            self.lesson.record.problems.append(f"{self.student.name}: the {title} link did not rerun ({ms})")
            return
        self.lesson.record.click(self.student, what, started, ms / 1000, training)

    async def step(self, what: str, action, until, settle: bool = True) -> None:
        """Time one step of the lesson: the action and its rerun (unless the action waits for its
        own reruns: ``settle=False``), until ``until`` shows."""
        started, training = time.time(), self.lesson.record.training_now
        clock = time.perf_counter()
        await (self.settled(action) if settle else action())
        await until()
        await self.idle()
        self.lesson.record.click(self.student, what, started, time.perf_counter() - clock, training)

    def widget(self, key: str):
        return self.page.locator(f".st-key-{key}")

    async def choose_network(self) -> None:
        """MobileNetV2 (0.35), then the weights file (an option once the page has redrawn for it)."""
        # Either may be chosen already: a new space starts on a network whose weights are here, and
        # offline the page itself starts from the weights file once the network is chosen.
        for key, label in (("model_backbone", "MobileNetV2 (0.35"), ("model_weights", "Weights file added")):
            if not await self.widget(key).get_by_role("radio", name=label).is_checked():
                await self.settled(self.widget(key).get_by_text(label, exact=False).click)

    async def lesson_steps(self) -> None:
        s, page = self.student, self.page
        await page.goto(self.lesson.server.url)
        await self.idle()

        async def join():
            await page.get_by_label("Your name (or your group's)").fill(s.name)
            await page.get_by_role("button", name="Join").click()

        await self.step("join", join, lambda: page.get_by_text(f"Your space: {s.name}").wait_for())
        for title in ("Runs", "Learn")[:PRE_START_CLICKS]:
            await self.timed_click(title)
        await self.go_to("Data")
        await self.step("upload", lambda: self.widget("data_zip").locator("input[type=file]").set_input_files(
            str(s.zip_path)), lambda: page.get_by_text(re.compile(r"Read \d+ pictures")).first.wait_for())
        await self.go_to("Model")
        await self.step("model", self.choose_network, self.idle, settle=False)
        await self.go_to("Train")
        if not await page.get_by_text(re.compile(r"weights file added on")).count():
            raise RuntimeError("the Train page does not show the chosen weights file: "
                               + one_line(await page.get_by_test_id("stMain").inner_text())[:200])
        pressed = time.monotonic()
        await self.step("start", lambda: self.widget("train_start").get_by_role("button").click(),
                        lambda: page.get_by_text(re.compile(AFTER_START)).first.wait_for())
        if self.lesson.wait_elsewhere:
            await self.wait_elsewhere()
        # The header says "Next training" again once the training has ended, however it ended.
        await page.get_by_text(re.compile("Training finished|Next training:")).first.wait_for(
            timeout=TRAINED_S * 1000)
        ended = time.monotonic() - pressed
        await self.idle()
        if not await page.get_by_text("Training finished", exact=False).count():
            alerts = await page.get_by_test_id("stAlert").all_inner_texts()
            raise RuntimeError("the training did not finish: " + one_line(" / ".join(alerts) or "no message"))
        self.lesson.record.trained.add(s.name)
        self.lesson.record.start_to_trained[s.name] = ended
        await self.go_to("Test")
        await self.step("test", lambda: self.widget("test_files").locator("input[type=file]").set_input_files(
            str(s.test_picture)), lambda: page.get_by_text("The model says").first.wait_for())
        self.lesson.record.tested.add(s.name)

    async def wait_elsewhere(self) -> None:
        """While the training waits or runs, click Learn / Runs and read the sidebar's line about
        it; once it has ended, back to the Train page."""
        await self.go_to("Learn")  # off the Train page, whose progress redraws every second
        deadline, n = time.monotonic() + TRAINED_S, 1
        while time.monotonic() < deadline:
            await asyncio.sleep(self.lesson.rng.uniform(*IDLE_CLICK_S))
            await self.timed_click(("Learn", "Runs")[n % 2], "waiting")
            n += 1
            sidebar = await self.page.get_by_test_id("stSidebar").inner_text()
            if "waits in line" not in sidebar and "Training is running" not in sidebar:
                break
        await self.go_to("Train")

    async def run(self) -> None:
        self.page = await self.context.new_page()
        self.page.set_default_timeout(STEP_S * 1000)
        try:
            await self.lesson_steps()
        except Exception as error:  # one student's failure is a finding, not the end of the class
            self.lesson.record.problems.append(f"{self.student.name} (Chromium): {one_line(error)}")
            await self.screenshot("failure")
        finally:
            await self.count_exceptions()
            self.lesson.student_done()
        titles = ("Learn", "Runs")
        n = 0
        while await self.lesson.idle_pause():
            try:
                await self.timed_click(titles[n % 2])
            except Exception as error:
                self.lesson.record.problems.append(f"{self.student.name} (Chromium, idle): {one_line(error)}")
                break
            n += 1
        await self.count_exceptions()

    async def count_exceptions(self) -> None:
        try:
            for text in await self.page.get_by_test_id("stException").all_inner_texts():
                self.lesson.record.page_exceptions.append(f"{self.student.name}: {one_line(text)}")
        except Exception:
            pass

    async def screenshot(self, name: str) -> None:
        try:
            await self.page.screenshot(path=str(self.lesson.server.base / f"{name}-{self.student.number + 1:02d}.png"))
        except Exception:
            pass


async def teacher_page(lesson: Lesson, browser) -> None:
    """The teacher's page, signed in with the code, open for the whole lesson (its class table and
    line redraw every 3 s); at the end it should list every student."""
    context = await browser.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    page.set_default_timeout(STEP_S * 1000)
    try:
        await page.goto(lesson.server.url + "teacher")
        await page.wait_for_selector(READY)
        await page.get_by_label("Teacher code").fill(CODE)
        await page.get_by_role("button", name="Open the teacher's page").click()
        await page.get_by_text("The class:", exact=False).first.wait_for()
        await lesson.done.wait()
        wanted = f"The class: {len(lesson.students)} spaces"
        await page.get_by_text(wanted).first.wait_for(timeout=30_000)
    except Exception as error:
        lesson.record.problems.append(f"teacher's page: {one_line(error)}")
        try:
            await page.screenshot(path=str(lesson.server.base / "failure-teacher.png"))
        except Exception:
            pass
    try:
        for text in await page.get_by_test_id("stException").all_inner_texts():
            lesson.record.page_exceptions.append(f"teacher: {one_line(text)}")
    except Exception:
        pass
