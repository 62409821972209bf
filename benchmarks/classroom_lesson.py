"""The classroom load test's lesson: its constants, each student's material (a zip of real flower
photos and a photo to test), the real `tlcore classroom` server it is played against, and what
is recorded while it runs (clicks, problems, memory, the queue's state). See classroom.py."""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from common import FLOWERS, SHARED_WEIGHTS

ROOT = Path(__file__).resolve().parents[1]
CODE = "LOAD7TEST-24"  # tlcore classroom refuses a word and a year (LOADTEST-2024)
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

    def __init__(self, base: Path, port: int, workers: int = 1, cluster: str | None = None):
        self.base, self.port, self.workers, self.cluster = base, port, workers, cluster
        self.workspace, self.cache = base / "workspace", base / "cache"
        self.log_path = base / "classroom.log"
        self.url = f"https://127.0.0.1:{port}/"
        self.cert = self.workspace / "classroom" / "tls" / "classroom-cert.pem"
        self.process: subprocess.Popen | None = None
        self.streamlit_pid: int | None = None
        self.peak_mb: float | None = None
        self.cpu_s: float | None = None  # CPU seconds the Streamlit process used (user + system)
        self.cluster_peak_mb: float | None = None  # --cluster local: the Ray processes' peaks, added up

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
             "--workers", str(self.workers), "--address", "127.0.0.1",
             *(["--cluster", self.cluster] if self.cluster else [])],
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
        if self.cluster:  # the local cluster's processes (Ray's own and the workers training) beside it
            ray = [pid for pid in descendants(self.process.pid) if pid != self.streamlit_pid]
            self.cluster_peak_mb = sum(proc_status_mb(pid, "VmHWM") or 0.0 for pid in ray)
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
    """The Streamlit server: the child process of `tlcore classroom` (with --cluster local, the
    local Ray cluster, `python -m tlcore.cluster.ray_queue`, is its child too)."""
    for pid in children(parent):
        try:
            if b"tlcore.cluster.ray_queue" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                return pid
        except OSError:
            continue
    return None


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def descendants(parent: int) -> list[int]:
    """Every process started, directly or not, by ``parent``."""
    found, todo = [], [parent]
    while todo:
        for pid in children(todo.pop()):
            found.append(pid)
            todo.append(pid)
    return found


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
    start_to_trained: dict = field(default_factory=dict)  # student -> seconds from Start to "Training finished"
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


def one_line(error) -> str:
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    return " ".join(text.split())[:300]
