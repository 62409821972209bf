"""Benchmark: a class of N students against the real `tlcore classroom` server (load test).

    python benchmarks/run.py classroom --sessions 30     # a class of 30 (about 10 minutes here)
    python benchmarks/run.py classroom --sessions 3      # a quick check (about 2 minutes)
    python benchmarks/classroom.py --sessions 3          # the same, on its own

The real server (`python -m tlcore classroom --workers 1 --address 127.0.0.1`, HTTPS with its
own certificate) is started in a fresh workspace on loopback, and a class is played against it:
every student is a browser session of its own that joins with a unique name, uploads a zip of
20-40 real flower photos in 2-3 classes (../shared/data/flowers5) through the Data page's zip
uploader, chooses MobileNetV2 (0.35) with the weights file the teacher added, presses Start
(every training goes through the server's one queue), waits for "Training finished", and tests
one photo on the Test page. Meanwhile the teacher's page is open, signed in with the code.

Two kinds of student, both real browser sessions of the real server:
- a *Chromium* student is a page (its own browser context: cookies, storage) in one headless
  Chromium, driven by Playwright: the Streamlit frontend itself, clicks and file inputs;
- a *light* student speaks Streamlit's own protocol: the WebSocket at /_stcore/stream over
  TLS, BackMsg / ForwardMsg protobufs from the `streamlit.proto` package that Streamlit ships,
  the same widget states the frontend sends (ids read from the page's elements), uploads through
  /_stcore/upload_file with the XSRF cookie, and fragments' auto-reruns every second on the Train
  page, as a browser tab does. It costs the server the same; it costs the client no rendering.

Measured: runs started and finished (run folders saved under WORKSPACE/spaces/*/runs), runs
lost, tracebacks in the server's log, the page rerun time of *idle* students (joined but not
started yet, or done) who click a cheap link (Learn / Runs in the sidebar) while the queue
trains, timed until Streamlit's script state is idle again (Chromium: the page's
data-test-script-state goes back to notRunning; light: the run's script_finished arrives), the
queue's wait from its journal WORKSPACE/classroom/queue.json (submitted -> started), the total
time, and the Streamlit process's peak memory (VmHWM in /proc/PID/status; it is the child of
`tlcore classroom` and runs the trainings in its own threads).

Targets (reported, not asserted): every run finishes, none lost, no exception in the server's
log, an idle page reruns in <= 2 s at the 95th percentile while the queue trains, the server's
peak memory <= 6 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import zipfile
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "tests", Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from appserver import free_port  # noqa: E402  (tests/appserver.py)
from common import FLOWERS, SHARED_WEIGHTS, table  # noqa: E402

CODE = "LOADTEST-2024"
FLOWER_CLASSES = ("daisy", "dandelion", "rose", "sunflower", "tulip")
DEFAULT_SESSIONS, QUICK_SESSIONS = 30, 6
# Chromium pages that this 2-core machine holds beside the server and its trainings (see
# CHROMIUM_WHY; --chromium N changes it, --chromium 30 tries the whole class in Chromium).
DEFAULT_CHROMIUM = 10
ARRIVAL_S = 1.5  # one student joins every 1.5 s: a class arriving over about a minute
IDLE_CLICK_S = (4.0, 8.0)  # an idle student clicks a cheap link every 4-8 s (a look at the page, then a click)
PRE_START_CLICKS = 2  # links an arriving student clicks (Learn, Runs) before bringing pictures
STEP_S = 180  # one step of a student's lesson (join, upload, choose, test)
TRAINED_S = 45 * 60  # a student's wait for "Training finished" (the last in line of 30 waits longest)
DEADLINE_MIN = 45  # the whole lesson: what is not over by then is reported as not finished
PAGE_TARGET_S, MEMORY_TARGET_MB = 2.0, 6 * 1024
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
AFTER_START = "Waiting in line|waits in line|Training now|Training finished"  # the Train page, after Start
VIEWPORT = {"width": 1280, "height": 800}


# -- the class's material ------------------------------------------------------------------------
@dataclass
class Student:
    number: int
    name: str
    zip_path: Path
    pictures: int
    classes: tuple[str, ...]
    test_picture: Path
    kind: str = "light"  # or "chromium"


def make_students(base: Path, count: int) -> list[Student]:
    """Each student's zip (2-3 classes, 20-40 real flower photos, one folder per class) and a
    photo of one of their classes that is not in the zip, to test."""
    folder = base / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    photos = {c: sorted((FLOWERS / c).glob("*.jpg")) for c in FLOWER_CLASSES}
    students = []
    for number in range(count):
        n_classes = 2 if number % 3 == 0 else 3
        per_class = 12 + number % 9 if n_classes == 2 else 8 + number % 6  # 24-40 or 24-39 pictures
        classes = tuple(FLOWER_CLASSES[(number + k) % len(FLOWER_CLASSES)] for k in range(n_classes))
        name = f"Student {number + 1:02d}"
        path = folder / f"flowers-{number + 1:02d}.zip"
        total = 0
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            for class_name in classes:
                pool = photos[class_name]
                start = (number * 17) % len(pool)
                for k in range(per_class):
                    photo = pool[(start + k) % len(pool)]
                    archive.write(photo, f"{class_name}/{photo.name}")
                    total += 1
        pool = photos[classes[0]]
        test_picture = pool[((number * 17) % len(pool) + per_class + 5) % len(pool)]
        students.append(Student(number, name, path, total, classes, test_picture))
    return students


# -- the server ----------------------------------------------------------------------------------
class ClassroomServer:
    """`python -m tlcore classroom` on loopback, in a process of its own (stopped with Ctrl+C)."""

    def __init__(self, base: Path, port: int, workers: int = 1):
        self.base, self.port, self.workers = base, port, workers
        self.workspace, self.cache = base / "workspace", base / "cache"
        self.log_path = base / "classroom.log"
        self.url = f"https://127.0.0.1:{port}/"
        self.cert = self.workspace / "classroom" / "tls" / "classroom-cert.pem"
        self.process: subprocess.Popen | None = None
        self.streamlit_pid: int | None = None
        self.peak_mb: float | None = None
        self.cpu_s: float | None = None  # CPU seconds the Streamlit process used (user + system)

    def start(self, timeout: float = 120) -> None:
        library = self.cache / "weights"  # what a teacher who added the weights file once has
        library.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHARED_WEIGHTS, library / "mobilenet_v2_035.weights.h5")
        env = {**os.environ, "TLCORE_WORKSPACE": str(self.workspace), "TLCORE_CACHE_DIR": str(self.cache),
               "KERAS_HOME": str(self.base / "keras"), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT),
               "TLCORE_PUBLIC_WEIGHTS": "off"}
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tlcore", "classroom", "--port", str(self.port), "--teacher-code", CODE,
             "--workers", str(self.workers), "--address", "127.0.0.1"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the classroom server stopped:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the classroom server did not start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "_stcore/health", timeout=3,
                                            context=self.ssl_context()) as answer:
                    if answer.read() == b"ok":
                        break
            except (OSError, ssl.SSLError):
                time.sleep(0.5)
        self.streamlit_pid = child_pid(self.process.pid)

    def ssl_context(self) -> ssl.SSLContext:
        """A real TLS client that trusts the classroom's own certificate (as the join page explains)."""
        return ssl.create_default_context(cafile=str(self.cert))

    def memory_mb(self, key: str = "VmRSS") -> float | None:
        return proc_status_mb(self.streamlit_pid, key) if self.streamlit_pid else None

    def stop(self) -> None:
        """Ctrl+C, as the teacher stops it; the peak memory is read just before."""
        if self.process is None or self.process.poll() is not None:
            return
        self.peak_mb = self.memory_mb("VmHWM")
        self.cpu_s = proc_cpu_seconds(self.streamlit_pid) if self.streamlit_pid else None
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def child_pid(parent: int) -> int | None:
    """The Streamlit server: the child process of `tlcore classroom`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            return int(entry.name)
    return None


def proc_field_mb(path: str, key: str) -> float | None:
    """A "Key: N kB" line of a /proc file, in MB (None when the file or process has gone)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def proc_status_mb(pid: int, key: str) -> float | None:
    """VmRSS or VmHWM of a process, in MB."""
    return proc_field_mb(f"/proc/{pid}/status", key)


def proc_cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def machine_cpu_seconds() -> float:
    """CPU seconds every process of the machine has used (busy time in /proc/stat, all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# -- what is recorded ----------------------------------------------------------------------------
@dataclass
class Click:
    """One timed page rerun: an idle student's click on a cheap link, or a step of the lesson."""

    student: str
    kind: str  # "chromium" or "light"
    what: str  # "idle" or a step: "join", "upload", "model", "start", "test"
    started: float  # time.time()
    seconds: float
    queue_training: bool  # a training was running when the click began


@dataclass
class Record:
    clicks: list[Click] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # a student's step that failed, in words
    page_exceptions: list[str] = field(default_factory=list)  # st.exception boxes a page showed
    finished_students: int = 0
    trained: set = field(default_factory=set)  # students who saw "Training finished"
    tested: set = field(default_factory=set)  # students who saw the Test page's answer
    memory_samples: list[tuple[float, float]] = field(default_factory=list)
    training_now: bool = False  # read from the queue's journal every half second
    journal_samples: int = 0
    fragment_reruns: int = 0  # auto-reruns of a fragment (the Train page's progress) the light clients sent
    load: list[float] = field(default_factory=list)  # the machine's 1-minute load average
    available_mb: list[float] = field(default_factory=list)  # the machine's MemAvailable

    def click(self, student: Student, what: str, started: float, seconds: float, training: bool) -> None:
        self.clicks.append(Click(student.name, student.kind, what, started, seconds, training))


class Lesson:
    """Shared by every student: the server, the record, and when the class is over."""

    def __init__(self, server: ClassroomServer, record: Record, students: list[Student], deadline: float,
                 wait_elsewhere: bool = False):
        self.server, self.record, self.students, self.deadline = server, record, students, deadline
        self.wait_elsewhere = wait_elsewhere  # students wait for their training on other pages, not on Train
        self.done = asyncio.Event()  # every student has tested (or given up)
        self.rng = random.Random(7)

    def student_done(self) -> None:
        self.record.finished_students += 1
        if self.record.finished_students >= len(self.students):
            self.done.set()

    async def idle_pause(self) -> bool:
        """Wait before the next idle click; False once the class is over."""
        try:
            await asyncio.wait_for(self.done.wait(), self.rng.uniform(*IDLE_CLICK_S))
            return False
        except asyncio.TimeoutError:
            return True


async def watch(lesson: Lesson) -> None:
    """Every half second: the server's memory, and whether the queue's journal shows a training running."""
    journal = lesson.server.workspace / "classroom" / "queue.json"
    record = lesson.record
    while True:
        rss = lesson.server.memory_mb()
        if rss is not None:
            record.memory_samples.append((time.time(), rss))
        record.load.append(os.getloadavg()[0])
        available = proc_field_mb("/proc/meminfo", "MemAvailable")
        if available is not None:
            record.available_mb.append(available)
        try:
            entries = json.loads(journal.read_text()).get("entries", [])
            record.training_now = any(e.get("state") == "running" for e in entries)
            record.journal_samples += 1
        except (OSError, ValueError):
            pass
        await asyncio.sleep(0.5)


# -- a student in Chromium -----------------------------------------------------------------------
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
        for key, label in (("model_backbone", "MobileNetV2 (0.35"), ("model_weights", "Weights file you added")):
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
        if not await page.get_by_text(re.compile(r"your weights file")).count():
            raise RuntimeError("the Train page does not show the chosen weights file: "
                               + one_line(await page.get_by_test_id("stMain").inner_text())[:200])
        await self.step("start", lambda: self.widget("train_start").get_by_role("button").click(),
                        lambda: page.get_by_text(re.compile(AFTER_START)).first.wait_for())
        if self.lesson.wait_elsewhere:
            await self.wait_elsewhere()
        # The header says "Next training" again once the training has ended, however it ended.
        await page.get_by_text(re.compile("Training finished|Next training:")).first.wait_for(
            timeout=TRAINED_S * 1000)
        await self.idle()
        if not await page.get_by_text("Training finished", exact=False).count():
            alerts = await page.get_by_test_id("stAlert").all_inner_texts()
            raise RuntimeError("the training did not finish: " + one_line(" / ".join(alerts) or "no message"))
        self.lesson.record.trained.add(s.name)
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


# -- a light student: Streamlit's own protocol over its WebSocket --------------------------------------
class LightStudent:
    """A browser session without a browser: what the Streamlit frontend sends, and reads, over
    the WebSocket (BackMsg / ForwardMsg protobufs), and its uploads."""

    def __init__(self, lesson: Lesson, student: Student):
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.lesson, self.student = lesson, student
        self.FINISHED = ForwardMsg.FINISHED_SUCCESSFULLY
        self.FRAGMENT_FINISHED = ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
        self.EARLY = ForwardMsg.FINISHED_EARLY_FOR_RERUN
        self.base = lesson.server.url.rstrip("/")
        self.ws = None
        self.session_id = ""
        self.query_string = ""
        self.page_hash = ""
        self.pages: dict[str, str] = {}  # url path ("" for the default page) -> page script hash
        self.page: dict[tuple, object] = {}  # delta path -> element, of the last whole run
        self.building: dict[tuple, object] = {}
        self.full_run = True
        self.running = False
        self.finishes = 0  # script runs (whole or fragment) that ended, not early for a rerun
        self.changed = asyncio.Condition()
        self.fragments: dict[str, asyncio.Task] = {}
        self.announced: set[str] = set()
        self.file_urls: dict[str, asyncio.Future] = {}
        self.xsrf = ""
        self.reader: asyncio.Task | None = None

    # -- connection and messages ------------------------------------------------------------------
    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        context = self.lesson.server.ssl_context()
        self.xsrf = await asyncio.to_thread(self._xsrf_cookie, context)
        origin = self.base
        self.ws = await connect(self.base.replace("https://", "wss://") + "/_stcore/stream", ssl=context,
                                subprotocols=["streamlit"], origin=origin, max_size=None, open_timeout=STEP_S,
                                additional_headers={"Cookie": f"_streamlit_xsrf={self.xsrf}"},
                                ping_interval=20, ping_timeout=STEP_S)
        self.reader = asyncio.create_task(self._read())

    def _xsrf_cookie(self, context) -> str:
        with urllib.request.urlopen(self.base + "/_stcore/health", timeout=STEP_S, context=context) as answer:
            cookie = SimpleCookie()
            for header in answer.headers.get_all("Set-Cookie") or []:
                cookie.load(header)
        return cookie["_streamlit_xsrf"].value if "_streamlit_xsrf" in cookie else ""

    async def close(self) -> None:
        for task in self.fragments.values():
            task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        async for data in self.ws:
            msg = ForwardMsg()
            msg.ParseFromString(data)
            await self._handle(msg)

    async def _handle(self, msg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            new = msg.new_session
            if new.initialize.session_id:
                self.session_id = new.initialize.session_id
            self.page_hash = new.page_script_hash or self.page_hash
            self.full_run = not msg.metadata.run.fragment_ids
            if self.full_run:
                self.building, self.announced = {}, set()
            self.running = True
        elif kind == "delta":
            delta = msg.delta
            if delta.WhichOneof("type") == "new_element":
                path = tuple(msg.metadata.delta_path)
                element = delta.new_element
                (self.building if self.full_run else self.page)[path] = element
                if element.WhichOneof("type") == "exception":
                    self.lesson.record.page_exceptions.append(
                        f"{self.student.name}: {element.exception.type}: {one_line(element.exception.message)}")
        elif kind == "navigation":
            for page in msg.navigation.app_pages:
                for name in (page.url_pathname, page.page_name.lower()):  # the default page's path is ""
                    self.pages[name] = page.page_script_hash
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "auto_rerun":
            fragment = msg.auto_rerun.fragment_id
            self.announced.add(fragment)
            if fragment not in self.fragments:
                self.fragments[fragment] = asyncio.create_task(self._auto_rerun(fragment, msg.auto_rerun.interval))
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                self._stop_fragment(fragment)
        elif kind == "file_urls_response":
            future = self.file_urls.pop(msg.file_urls_response.response_id, None)
            if future is not None and not future.done():
                future.set_result(msg.file_urls_response)
        elif kind == "script_finished":
            status = msg.script_finished
            if status == self.EARLY:
                return
            if status == self.FINISHED and self.full_run:
                self.page = self.building
                for fragment in list(self.fragments):  # fragments this run no longer draws stop ticking
                    if fragment not in self.announced:
                        self._stop_fragment(fragment)
            self.running = False
            self.finishes += 1
            async with self.changed:
                self.changed.notify_all()

    def _stop_fragment(self, fragment: str) -> None:
        task = self.fragments.pop(fragment, None)
        if task is not None:
            task.cancel()

    async def _auto_rerun(self, fragment: str, interval: float) -> None:
        """As the frontend does for st.fragment(run_every=...): a fragment rerun every interval."""
        while True:
            await asyncio.sleep(interval)
            if not self.running:
                await self._send_rerun(fragment_id=fragment, auto=True)
                self.lesson.record.fragment_reruns += 1

    # -- what the frontend sends ------------------------------------------------------------------
    async def _send_rerun(self, widgets=(), page_hash: str | None = None, fragment_id: str = "",
                          auto: bool = False, query: bool = True) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        if query:
            state.query_string = self.query_string
        state.widget_states.SetInParent()
        for widget in widgets:
            state.widget_states.widgets.append(widget)
        state.page_script_hash = page_hash if page_hash is not None else self.page_hash
        if fragment_id:
            state.fragment_id, state.is_auto_rerun = fragment_id, auto
        info = state.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url, info.is_embedded, info.color_scheme = self.base + "/", False, "light"
        self.running = True
        await self.ws.send(msg.SerializeToString())

    async def rerun(self, widgets=(), page_hash: str | None = None, query: bool = True,
                    timeout: float = STEP_S) -> float:
        """Send a rerun and wait until its script run is over (the idle state the frontend shows)."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: not self.running), timeout)
            before = self.finishes
        clock = time.perf_counter()
        await self._send_rerun(widgets, page_hash, query=query)
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: self.finishes > before and not self.running),
                                   timeout)
        return time.perf_counter() - clock

    async def until(self, predicate, timeout: float = STEP_S) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), timeout)

    # -- reading the page -------------------------------------------------------------------------
    def texts(self) -> str:
        parts = []
        for element in list(self.page.values()):
            kind = element.WhichOneof("type")
            inner = getattr(element, kind)
            for name in ("body", "label", "text", "value"):
                value = getattr(inner, name, None)
                if isinstance(value, str):
                    parts.append(value)
        return re.sub(r"\\(.)", r"\1", "\n".join(parts))  # Markdown's escapes taken out

    def alerts(self) -> str:
        return " / ".join(e.alert.body for e in list(self.page.values()) if e.WhichOneof("type") == "alert")

    def widget(self, key: str):
        """(widget id, element) of the widget with user key ``key`` on the page."""
        for element in list(self.page.values()):
            inner = getattr(element, element.WhichOneof("type"))
            widget_id = getattr(inner, "id", "")
            if isinstance(widget_id, str) and widget_id.startswith("$$ID-") and widget_id.split("-", 2)[-1] == key:
                return widget_id, inner
        raise LookupError(f"no widget {key!r} on the page")

    # -- a student's actions ----------------------------------------------------------------------
    async def navigate(self, path: str) -> float:
        """A click on a page in the sidebar: its script hash, no widget states (as the frontend)."""
        return await self.rerun(page_hash=self.pages[path], query=False)

    async def upload(self, key: str, path: Path) -> float:
        """The file uploader ``key``: ask for upload URLs, PUT the file, rerun with its state."""
        import requests
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget_id, _ = self.widget(key)
        clock = time.perf_counter()
        request_id = str(uuid.uuid4())
        future = asyncio.get_running_loop().create_future()
        self.file_urls[request_id] = future
        msg = BackMsg()
        msg.file_urls_request.request_id = request_id
        msg.file_urls_request.file_names.append(path.name)
        msg.file_urls_request.session_id = self.session_id
        await self.ws.send(msg.SerializeToString())
        answer = await asyncio.wait_for(future, STEP_S)
        urls = answer.file_urls[0]
        data = path.read_bytes()

        def put():
            response = requests.put(self.base + urls.upload_url, files={"file": (path.name, data)},
                                    headers={"X-Xsrftoken": self.xsrf}, cookies={"_streamlit_xsrf": self.xsrf},
                                    verify=str(self.lesson.server.cert), timeout=STEP_S)
            response.raise_for_status()

        await asyncio.to_thread(put)
        state = WidgetState(id=widget_id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = path.name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        await self.rerun([state])
        return time.perf_counter() - clock

    async def choose(self, key: str, starts_with: str) -> float:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget_id, radio = self.widget(key)
        option = next(o for o in radio.options if o.startswith(starts_with))
        return await self.rerun([WidgetState(id=widget_id, string_value=option)])

    async def press(self, key: str) -> float:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        widget_id, _ = self.widget(key)
        return await self.rerun([WidgetState(id=widget_id, trigger_value=True)])

    async def timed(self, what: str, action) -> None:
        started, training = time.time(), self.lesson.record.training_now
        seconds = await action
        self.lesson.record.click(self.student, what, started, seconds, training)

    async def lesson_steps(self) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        s = self.student
        await self.connect()
        await self.rerun()  # the first run, as a browser opening the join link
        name_id, _ = self.widget("join_name")
        join_id, _ = self.widget("FormSubmitter:join_form-Join")
        started, clock = time.time(), time.perf_counter()
        await self.rerun([WidgetState(id=name_id, string_value=s.name), WidgetState(id=join_id, trigger_value=True)])
        await self.until(lambda: f"Your space: **{s.name}**" in self.texts() and not self.running)
        self.lesson.record.click(s, "join", started, time.perf_counter() - clock, self.lesson.record.training_now)
        for path in ("runs", "learn")[:PRE_START_CLICKS]:
            await self.timed("idle", self.navigate(path))
        await self.navigate("data")
        await self.timed("upload", self.upload("data_zip", s.zip_path))
        if not re.search(r"Read \d+ pictures", self.texts()):
            raise RuntimeError("the zip's pictures were not read: " + one_line(self.texts()[-300:]))
        await self.navigate("model")
        started, clock = time.time(), time.perf_counter()
        await self.choose("model_backbone", "MobileNetV2 (0.35")
        await self.choose("model_weights", "Weights file you added")
        self.lesson.record.click(s, "model", started, time.perf_counter() - clock, self.lesson.record.training_now)
        await self.navigate("train")
        if not re.search(r"MobileNetV2 \(0\.35.*your weights file", self.texts()):
            raise RuntimeError("the Train page does not show the chosen network: " + one_line(self.texts()[:300]))
        await self.timed("start", self.press("train_start"))
        try:  # the header says what became of it
            await self.until(lambda: re.search(AFTER_START, self.texts()) and not self.running, 60)
        except asyncio.TimeoutError:
            raise RuntimeError("Start did not put the training in line: " + one_line(self.texts()[-600:])) from None
        if self.lesson.wait_elsewhere:  # the sidebar says how it stands, on every page
            deadline, n = time.monotonic() + TRAINED_S, 0
            while time.monotonic() < deadline:
                await asyncio.sleep(self.lesson.rng.uniform(*IDLE_CLICK_S))
                await self.timed("waiting", self.navigate(("learn", "runs")[n % 2]))
                n += 1
                if "waits in line" not in self.texts() and "Training is running" not in self.texts():
                    break
            await self.navigate("train")
        # The header says "Next training" again once the training has ended, however it ended.
        await self.until(lambda: re.search("Training finished|Next training:", self.texts()) and not self.running,
                         TRAINED_S)
        if "Training finished" not in self.texts():
            raise RuntimeError("the training did not finish: " + one_line(self.alerts() or "no message"))
        self.lesson.record.trained.add(s.name)
        await self.navigate("test")
        await self.timed("test", self.upload("test_files", s.test_picture))
        if "The model says" not in self.texts():
            raise RuntimeError("the Test page gave no answer: " + one_line(self.texts()[-300:]))
        self.lesson.record.tested.add(s.name)

    async def run(self) -> None:
        try:
            await self.lesson_steps()
        except Exception as error:
            self.lesson.record.problems.append(f"{self.student.name} (light): {one_line(error)}")
        finally:
            self.lesson.student_done()
        paths, n = ("learn", "runs"), 0
        try:
            while self.ws is not None and await self.lesson.idle_pause():
                await self.timed("idle", self.navigate(paths[n % 2]))
                n += 1
        except Exception as error:
            self.lesson.record.problems.append(f"{self.student.name} (light, idle): {one_line(error)}")
        finally:
            await self.close()


def one_line(error) -> str:
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    return " ".join(text.split())[:300]


# -- playing the lesson --------------------------------------------------------------------------
async def play(lesson: Lesson, chromium: int) -> float:
    """The whole class; returns the seconds from the first join to the last test (and idle clicks)."""
    from playwright.async_api import async_playwright

    from appserver import CHROMIUM, CHROMIUM_ARGS

    watcher = asyncio.create_task(watch(lesson))
    started = time.perf_counter()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            teacher = asyncio.create_task(teacher_page(lesson, browser))
            tasks = []
            for student in lesson.students:
                await asyncio.sleep(ARRIVAL_S if student.number else 0)
                if student.kind == "chromium":
                    context = await browser.new_context(ignore_https_errors=True, viewport=VIEWPORT)
                    await context.add_init_script(script=WATCH_WEBSOCKET)
                    tasks.append(asyncio.create_task(ChromiumStudent(lesson, student, context).run()))
                else:
                    tasks.append(asyncio.create_task(LightStudent(lesson, student).run()))
            left = lesson.deadline - (time.perf_counter() - started)
            _, late = await asyncio.wait(tasks, timeout=max(left, 1))
            total = time.perf_counter() - started
            if late:  # what was not over by then is reported, not waited for
                behind = len(lesson.students) - lesson.record.finished_students
                if behind:
                    lesson.record.problems.append(f"the lesson's {lesson.deadline / 60:.0f} minutes were over: "
                                                  f"{behind} students had not finished; stopped")
                lesson.done.set()
                for task in late:
                    task.cancel()
                await asyncio.wait(late, timeout=30)
            await asyncio.wait([teacher], timeout=60)
        finally:
            await browser.close()
    watcher.cancel()
    return total


# -- what the lesson left ------------------------------------------------------------------------
def journal_entries(workspace: Path) -> list[dict]:
    try:
        return json.loads((workspace / "classroom" / "queue.json").read_text()).get("entries", [])
    except (OSError, ValueError):
        return []


def saved_runs(workspace: Path) -> list[Path]:
    return sorted(p for p in (workspace / "spaces").glob("*/runs/*") if (p / "run.json").is_file())


ERROR_LINE = re.compile(r"Traceback \(most recent call last\)|Uncaught app exception|^\S+ \S+ (ERROR|CRITICAL)\b")


def log_errors(text: str) -> list[str]:
    """Every traceback (or error line) of the server's log, as its last line says it."""
    lines, found = text.splitlines(), []
    for i, line in enumerate(lines):
        if not ERROR_LINE.search(line):
            continue
        if line.startswith("Traceback"):
            end = i + 1
            while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
                end += 1
            found.append(lines[end].strip() if end < len(lines) else line)
        else:
            found.append(line.strip())
    return found


def percentile(values: list[float], q: float) -> float | None:
    import numpy as np

    return float(np.percentile(values, 100 * q)) if values else None  # linear, between the two nearest


def seconds_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}" if value < 10 else f"{value:.0f}"


def spread(values: list[float]) -> str:
    if not values:
        return "—"
    return (f"{seconds_text(percentile(values, 0.5))} / {seconds_text(percentile(values, 0.95))} / "
            f"{seconds_text(max(values))}")


# -- the benchmark -------------------------------------------------------------------------------
def run_lesson(sessions: int, chromium: int, keep: bool = False, deadline_min: float = DEADLINE_MIN,
               wait_elsewhere: bool = False) -> dict:
    """Play a class of ``sessions`` students (``chromium`` of them in Chromium) and measure it."""
    base = Path(tempfile.mkdtemp(prefix="tlcore-bench-classroom-"))
    students = make_students(base, sessions)
    for k in range(chromium):  # spread over the class: early ones end up idle, late ones wait in line
        students[k * sessions // chromium].kind = "chromium"
    server = ClassroomServer(base, free_port())
    record = Record()
    version_before = app_version()
    import resource

    usage = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    machine_before, window = machine_cpu_seconds(), time.perf_counter()
    try:
        server.start()
        lesson = Lesson(server, record, students, deadline_min * 60, wait_elsewhere)
        total = asyncio.run(play(lesson, chromium))
        time.sleep(1)  # the journal's last write
        entries = journal_entries(server.workspace)
    finally:
        server.stop()
    cpu_self, cpu_children = (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    spent = lambda after, before: after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime  # noqa: E731
    server_cpu = server.cpu_s or 0.0
    # Children: the server (and `tlcore classroom` around it), Playwright's driver and Chromium.
    cpu = {"server": server_cpu, "chromium": max(0.0, spent(cpu_children, usage[1]) - server_cpu),
           "harness": spent(cpu_self, usage[0])}
    cpu["others"] = max(0.0, machine_cpu_seconds() - machine_before - sum(cpu.values()))
    cpu["window_s"] = time.perf_counter() - window  # the server's start and stop included
    runs = saved_runs(server.workspace)
    records = {}  # read now: the workspace is removed below
    for run in runs:
        try:
            records[run] = json.loads((run / "run.json").read_text())
        except (OSError, ValueError):
            pass
    result = {"base": base, "students": students, "record": record, "entries": entries, "runs": runs,
              "records": records,
              "app": (version_before, app_version()),
              "total_s": total, "peak_mb": server.peak_mb, "errors": log_errors(server.log_text()), "cpu": cpu,
              "log": server.log_path}
    if not keep and not record.problems and not result["errors"]:
        shutil.rmtree(base, ignore_errors=True)
    return result


def journal_figures(result: dict) -> dict:
    """From the queue's journal and the saved runs' own timings: waits, trainings, phases."""
    entries = result["entries"]
    figures = {"started_runs": [e for e in entries if e.get("submitted") is not None],
               "waits": [e["started"] - e["submitted"] for e in entries if e.get("started") is not None],
               "trainings": [e["finished"] - e["started"] for e in entries
                             if e.get("started") is not None and e.get("finished") is not None],
               "to_saved": [e["finished"] - e["submitted"] for e in entries if e.get("state") == "done"],
               "first_curve": [], "phases": {"build_seconds": [], "extract_seconds": [], "head_seconds": []},
               "states": {}}
    by_space = {e.get("space"): e for e in entries if e.get("started") is not None}
    for run, record_json in result["records"].items():  # WORKSPACE/spaces/<space>/runs/<run>: its own timings
        timings, epochs = record_json.get("timings") or {}, len((record_json.get("history") or {}).get("loss") or [])
        for name, values in figures["phases"].items():
            if timings.get(name) is not None:
                values.append(float(timings[name]))
        entry = by_space.get(run.parent.parent.name)
        if entry is not None and epochs and all(timings.get(n) is not None for n in figures["phases"]):
            figures["first_curve"].append(entry["started"] - entry["submitted"] + timings["build_seconds"]
                                          + timings["extract_seconds"] + timings["head_seconds"] / epochs)
    for e in entries:
        figures["states"][e.get("state")] = figures["states"].get(e.get("state"), 0) + 1
    return figures


def click_figures(record: Record) -> dict:
    """From the students' clicks: idle reruns (all, and while the queue trained), each step's time."""
    idle = [c for c in record.clicks if c.what == "idle"]
    while_training = [c.seconds for c in idle if c.queue_training]
    return {"idle": [c.seconds for c in idle], "while_training": while_training,
            "p95": percentile(while_training, 0.95),
            "waiting": [c.seconds for c in record.clicks if c.what == "waiting"],
            "by_kind": {kind: [c.seconds for c in idle if c.queue_training and c.kind == kind]
                        for kind in ("chromium", "light")},
            "steps": {what: [c.seconds for c in record.clicks if c.what == what]
                      for what in ("join", "upload", "model", "start", "test")}}


def outcome_rows(result: dict, queue: dict, clicks: dict, sessions: int, chromium: int) -> list[dict]:
    record, finished = result["record"], len(result["runs"])
    waiting = clicks["waiting"]
    return [
        {"measure": "students (browser sessions)", "value": f"{sessions}",
         "notes": f"{chromium} Chromium pages (one headless Chromium, a context each) + {sessions - chromium} light "
                  "Streamlit clients (WebSocket + protobufs); the teacher's page open in Chromium, signed in"},
        {"measure": "runs started / finished / lost",
         "value": f"{len(queue['started_runs'])} / {finished} / {len(queue['started_runs']) - finished}",
         "notes": "started: Start accepted into the queue (journal); finished: run folders saved under "
                  f"spaces/*/runs; journal states: {json.dumps(queue['states'])}"},
        {"measure": "students who saw 'Training finished' / an answer on Test",
         "value": f"{len(record.trained)} / {len(record.tested)}", "notes": f"of {sessions}"},
        {"measure": "errors in the server's log", "value": f"{len(result['errors'])}",
         "notes": "tracebacks and ERROR lines" + (f"; first: {result['errors'][0][:120]}" if result["errors"] else "")},
        {"measure": "exceptions shown on pages", "value": f"{len(record.page_exceptions)}",
         "notes": record.page_exceptions[0][:120] if record.page_exceptions else "st.exception boxes, any page"},
        {"measure": "idle page rerun while the queue trains, s (p50 / p95 / max)",
         "value": spread(clicks["while_training"]),
         "notes": f"{len(clicks['while_training'])} clicks (Chromium {spread(clicks['by_kind']['chromium'])}, light "
                  f"{spread(clicks['by_kind']['light'])}); target p95 ≤ {PAGE_TARGET_S:g} s"},
        {"measure": "idle page rerun, all, s (p50 / p95 / max)", "value": spread(clicks["idle"]),
         "notes": f"{len(clicks['idle'])} clicks on Learn / Runs in the sidebar, before Start and after Test"},
        {"measure": "while waiting for one's own training", "value": spread(waiting) if waiting else "on Train",
         "notes": (f"{len(waiting)} clicks on Learn / Runs by students whose training waits or runs (they read "
                   "the sidebar's line)") if waiting else
                  ("students watch the Train page while their training waits and runs (their place in line "
                   "redraws every 3 s, the progress every second: "
                   f"{record.fragment_reruns} fragment reruns from the light clients alone)")},
    ]


def timing_rows(result: dict, queue: dict, clicks: dict) -> list[dict]:
    steps, peak = clicks["steps"], result["peak_mb"]
    return [
        {"measure": "queue wait, s (p50 / p95 / max)", "value": spread(queue["waits"]),
         "notes": "journal: submitted → started, 1 worker"},
        {"measure": "one training in the queue, s (p50 / p95 / max)", "value": spread(queue["trainings"]),
         "notes": "journal: started → finished (model built, features, head, run saved)"},
        {"measure": "Start → run saved, s (p50 / p95 / max)", "value": spread(queue["to_saved"]), "notes": "journal"},
        {"measure": "Start → first curve point, s (p50 / p95 / max)", "value": spread(queue["first_curve"]),
         "notes": "queue wait + the run's own timings (run.json): network built, features, one epoch of the head"},
        {"measure": "inside one training, s (p50): built / features / head",
         "value": " / ".join(seconds_text(percentile(v, 0.5)) for v in queue["phases"].values()),
         "notes": "run.json timings: the network is built anew for every training; features of 20-40 "
                  "pictures at 224 px; 5 epochs of the head"},
        {"measure": "join → space shown, s (p50 / p95)", "value": spread(steps["join"]), "notes": "p50 / p95 / max"},
        {"measure": "upload zip → pictures read, s", "value": spread(steps["upload"]),
         "notes": "p50 / p95 / max; upload, unzip, decode, keep on disk"},
        {"measure": "Test: upload a photo → answer, s", "value": spread(steps["test"]),
         "notes": "p50 / p95 / max; the first answer loads the model"},
        {"measure": "total, s", "value": f"{result['total_s']:.0f}",
         "notes": f"first join to the last test; students arrive every {ARRIVAL_S:g} s"},
        {"measure": "app", "value": result["app"][0],
         "notes": "the same at the end" if result["app"][0] == result["app"][1] else
                  f"at the end: {result['app'][1]} (the app changed while the lesson ran)"},
        {"measure": "CPU seconds: server / Chromium / light clients / others", "value": cpu_words(result["cpu"]),
         "notes": f"of {(os.cpu_count() or 1) * result['cpu']['window_s']:.0f} core-seconds ({os.cpu_count()} cores × "
                  "the lesson with the server's start and stop); Chromium: its pages "
                  "and Playwright's driver; light clients: this process (also Playwright's Python side); others: "
                  "the rest of this shared machine"},
        {"measure": "the machine during the lesson", "value": machine_words(result["record"]),
         "notes": "1-minute load average mean / max (2 cores: above 2 means waiting for a core), least memory "
                  "available; the server, its trainings, Chromium and the clients share the machine"},
        {"measure": "peak server memory, MB", "value": "—" if peak is None else f"{peak:.0f}",
         "notes": f"VmHWM of the Streamlit process (trainings run in it); target ≤ {MEMORY_TARGET_MB} MB"},
    ]


def summary(result: dict, sessions: int, chromium: int) -> tuple[str, dict]:
    """The table, then the one JSON line the issue asks for."""
    record, queue, clicks = result["record"], journal_figures(result), click_figures(result["record"])
    rows = outcome_rows(result, queue, clicks, sessions, chromium) + timing_rows(result, queue, clicks)
    text = table(rows, ["measure", "value", "notes"])
    if record.problems:
        text += "\n\nProblems:\n" + "\n".join(f"- {p}" for p in record.problems[:20])
    if result["errors"]:
        text += "\n\nServer log errors:\n" + "\n".join(f"- {e}" for e in result["errors"][:10])
    if record.problems or result["errors"]:
        text += f"\n\nKept for a look: {result['base']} (server log: {result['log']})"
    finished, waits, p95, peak = len(result["runs"]), queue["waits"], clicks["p95"], result["peak_mb"]
    line = {"sessions": sessions, "runs_finished": finished, "runs_lost": len(queue["started_runs"]) - finished,
            "errors_in_log": len(result["errors"]), "page_p95_s": None if p95 is None else round(p95, 2),
            "queue_wait_p95_s": None if not waits else round(percentile(waits, 0.95), 1),
            "total_s": round(result["total_s"], 1), "peak_rss_mb": None if peak is None else round(peak)}
    return text, line


def cpu_words(cpu: dict) -> str:
    return " / ".join(f"{cpu[k]:.0f}" for k in ("server", "chromium", "harness", "others"))


def app_version() -> str:
    """The commit the server ran, and whether the app's files had changes not committed yet."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--", "app.py", "app_pages", "studio", "tlcore"],
                                 cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"commit {commit}" + (f" + {len(changed)} changed files" if changed else "") if commit else "unknown"


def machine_words(record: Record) -> str:
    if not record.load:
        return "—"
    least = f", {min(record.available_mb) / 1024:.1f} GB free" if record.available_mb else ""
    return f"load {statistics.mean(record.load):.1f} / {max(record.load):.1f}{least}"


CHROMIUM_WHY = ("why not all in Chromium: on this 2-core machine the pages' own rendering (each Chromium "
                "page runs the Streamlit frontend, and the Train page redraws its progress every second) takes "
                "the cores the server needs, so page times would measure the clients; see docs/scaling.md")


def bench_classroom(quick: bool = False, sessions: int | None = None, chromium: int | None = None,
                    keep: bool = False, deadline_min: float = DEADLINE_MIN, wait_elsewhere: bool = False) -> str:
    """The Markdown section; its last line is the JSON summary."""
    from appserver import chromium_missing

    sessions = sessions or (QUICK_SESSIONS if quick else DEFAULT_SESSIONS)
    title = (f"### Classroom load test ({sessions} students, `tlcore classroom`, 1 worker"
             f"{', waiting on other pages' if wait_elsewhere else ''})\n\n")
    missing = chromium_missing()
    if missing:
        return title + f"Skipped: {missing}.\n"
    if not SHARED_WEIGHTS.is_file() or not FLOWERS.is_dir():
        return title + f"Skipped: needs the real weights and photos in {SHARED_WEIGHTS.parents[1]}.\n"
    chromium = min(sessions, DEFAULT_CHROMIUM if chromium is None else chromium)
    result = run_lesson(sessions, chromium, keep, deadline_min, wait_elsewhere)
    text, line = summary(result, sessions, chromium)
    notes = (f"\n\nEach student: join by name, click Runs and Learn, upload a zip of 20-40 flower photos in "
             "2-3 classes on the Data page, MobileNetV2 (0.35) with the weights file added, Start, wait for "
             "'Training finished' " + ("on other pages (Learn / Runs, reading the sidebar) " if wait_elsewhere else
                                       "on the Train page ") +
             "and test one photo; then, until the last student has tested, click Learn / Runs "
             f"every {IDLE_CLICK_S[0]:g}-{IDLE_CLICK_S[1]:g} s. A page rerun is timed from the click until the "
             "script is idle again; 'while the queue trains': the queue's journal showed a training running "
             "when the click began.")
    if chromium < sessions:
        notes += f" {sessions - chromium} light clients instead of Chromium pages: {CHROMIUM_WHY}."
    return title + text + notes + "\n\n" + json.dumps(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=None, help=f"students (default {DEFAULT_SESSIONS})")
    parser.add_argument("--chromium", type=int, default=None,
                        help=f"how many of them are Chromium pages (default {DEFAULT_CHROMIUM}; the rest light clients)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the workspace and the server's log")
    parser.add_argument("--deadline", type=float, default=DEADLINE_MIN, help="minutes before the lesson is stopped")
    parser.add_argument("--wait-elsewhere", action="store_true",
                        help="after Start, students wait on other pages (Learn / Runs), not on the Train page")
    args = parser.parse_args()
    print(bench_classroom(args.quick, args.sessions, args.chromium, args.keep, args.deadline, args.wait_elsewhere),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
