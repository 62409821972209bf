"""Benchmark: a class of N students against the real `tlcore classroom` server (load test).

    python benchmarks/run.py classroom --sessions 30     # a class of 30 (about 10 minutes here)
    python benchmarks/run.py classroom --sessions 3      # a quick check (about 2 minutes)
    python benchmarks/classroom.py --sessions 3          # the same, on its own
    python benchmarks/run.py classroom --cluster local --sessions 8   # trainings on a local Ray cluster

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

With ``--cluster local`` the server is started with it: `tlcore classroom` starts a Ray cluster on
this computer, and the line's trainings run in its actors, not in the Streamlit process; the
cluster's processes' peak memory (VmHWM, added up) is reported beside the server's, and the JSON
line says ``"cluster"``.

Targets (reported, not asserted): every run finishes, none lost, no exception in the server's
log, an idle page reruns in <= 2 s at the 95th percentile while the queue trains, the server's
peak memory <= 6 GB.

    classroom_lesson.py    the constants, the students' material, the server, what is recorded
    classroom_chromium.py  a student in Chromium, and the teacher's page
    classroom_wire.py      a light student: Streamlit's own protocol over its WebSocket
    classroom_report.py    the table and the JSON line
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "tests", Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from appserver import free_port  # noqa: E402  (tests/appserver.py)
from classroom_chromium import WATCH_WEBSOCKET, ChromiumStudent, teacher_page  # noqa: E402
from classroom_lesson import (ARRIVAL_S, DEADLINE_MIN, DEFAULT_CHROMIUM, DEFAULT_SESSIONS, IDLE_CLICK_S,  # noqa: E402
                              QUICK_SESSIONS, VIEWPORT, ClassroomServer, Lesson, Record, machine_cpu_seconds,
                              make_students, watch)
from classroom_report import app_version, journal_entries, log_errors, saved_runs, summary  # noqa: E402
from classroom_wire import LightStudent  # noqa: E402
from common import FLOWERS, SHARED_WEIGHTS  # noqa: E402


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


# -- the benchmark -------------------------------------------------------------------------------
def run_lesson(sessions: int, chromium: int, keep: bool = False, deadline_min: float = DEADLINE_MIN,
               wait_elsewhere: bool = False, cluster: str | None = None) -> dict:
    """Play a class of ``sessions`` students (``chromium`` of them in Chromium) and measure it;
    ``cluster``: the server's --cluster (``local``: its trainings on a Ray cluster it starts here)."""
    base = Path(tempfile.mkdtemp(prefix="tlcore-bench-classroom-"))
    students = make_students(base, sessions)
    for k in range(chromium):  # spread over the class: early ones end up idle, late ones wait in line
        students[k * sessions // chromium].kind = "chromium"
    server = ClassroomServer(base, free_port(), cluster=cluster)
    record = Record()
    version_before = app_version()
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
              "total_s": total, "peak_mb": server.peak_mb, "cluster_peak_mb": server.cluster_peak_mb,
              "errors": log_errors(server.log_text()), "cpu": cpu, "log": server.log_path}
    if not keep and not record.problems and not result["errors"]:
        shutil.rmtree(base, ignore_errors=True)
    return result


CHROMIUM_WHY = ("why not all in Chromium: on this 2-core machine the pages' own rendering (each Chromium "
                "page runs the Streamlit frontend, and the Train page redraws its progress every second) takes "
                "the cores the server needs, so page times would measure the clients; see docs/scaling.md")


def bench_classroom(quick: bool = False, sessions: int | None = None, chromium: int | None = None,
                    keep: bool = False, deadline_min: float = DEADLINE_MIN, wait_elsewhere: bool = False,
                    cluster: str | None = None) -> str:
    """The Markdown section; its last line is the JSON summary."""
    from appserver import chromium_missing

    sessions = sessions or (QUICK_SESSIONS if quick else DEFAULT_SESSIONS)
    title = (f"### Classroom load test ({sessions} students, `tlcore classroom`, 1 worker"
             f"{f', --cluster {cluster}' if cluster else ''}{', waiting on other pages' if wait_elsewhere else ''})\n\n")
    missing = chromium_missing()
    if missing:
        return title + f"Skipped: {missing}.\n"
    if not SHARED_WEIGHTS.is_file() or not FLOWERS.is_dir():
        return title + f"Skipped: needs the real weights and photos in {SHARED_WEIGHTS.parents[1]}.\n"
    chromium = min(sessions, DEFAULT_CHROMIUM if chromium is None else chromium)
    result = run_lesson(sessions, chromium, keep, deadline_min, wait_elsewhere, cluster)
    text, line = summary(result, sessions, chromium, cluster)
    notes = ("\n\nEach student: join by name, click Runs and Learn, upload a zip of 20-40 flower photos in "
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
    parser.add_argument("--cluster", help="the server's --cluster: `local` trains on a Ray cluster started here")
    args = parser.parse_args()
    print(bench_classroom(args.quick, args.sessions, args.chromium, args.keep, args.deadline, args.wait_elsewhere,
                          args.cluster), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
