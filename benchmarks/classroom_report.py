"""The classroom load test's report: what the lesson left (the queue's journal, the saved runs,
the server's log) and the clicks it recorded, as the table and the one JSON line."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
from pathlib import Path

from classroom_lesson import ARRIVAL_S, MEMORY_TARGET_MB, PAGE_TARGET_S, ROOT, Record
from common import table


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
        {"measure": "Start → 'Training finished' on the page, s (p50 / p95 / max)",
         "value": spread(list(result["record"].start_to_trained.values())),
         "notes": "the student's clock: Start pressed → the Train page says 'Training finished'; target p95 ≤ 60 s"},
        {"measure": "the floor: the class's network time, s", "value": f"{sum(queue['phases']['extract_seconds']):.1f}",
         "notes": "every run's own features time (run.json extract_seconds), summed: the frozen network's passes "
                  "over every student's pictures, the least the class's trainings can take together"},
        {"measure": "Start → first curve point, s (p50 / p95 / max)", "value": spread(queue["first_curve"]),
         "notes": "queue wait + the run's own timings (run.json): network built, features, one epoch of the head"},
        {"measure": "inside one training, s (p50): built / features / head",
         "value": " / ".join(seconds_text(percentile(v, 0.5)) for v in queue["phases"].values()),
         "notes": "run.json timings: the first training builds the network, the next find it warm; features of 20-40 "
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


def summary(result: dict, sessions: int, chromium: int, cluster: str | None = None) -> tuple[str, dict]:
    """The table, then the one JSON line the issue asks for (with ``cluster``: where it trained,
    and the local Ray cluster's memory beside the server's)."""
    record, queue, clicks = result["record"], journal_figures(result), click_figures(result["record"])
    rows = outcome_rows(result, queue, clicks, sessions, chromium) + timing_rows(result, queue, clicks)
    cluster_peak = result.get("cluster_peak_mb")
    if cluster:
        rows.append({"measure": "peak Ray cluster memory, MB", "value": "—" if cluster_peak is None else
                     f"{cluster_peak:.0f}", "notes": f"--cluster {cluster}: VmHWM of each of the cluster's "
                     "processes (Ray's own and the workers that train), added up; the server's above no "
                     "longer trains"})
    text = table(rows, ["measure", "value", "notes"])
    if record.problems:
        text += "\n\nProblems:\n" + "\n".join(f"- {p}" for p in record.problems[:20])
    if result["errors"]:
        text += "\n\nServer log errors:\n" + "\n".join(f"- {e}" for e in result["errors"][:10])
    if record.problems or result["errors"]:
        text += f"\n\nKept for a look: {result['base']} (server log: {result['log']})"
    finished, waits, p95, peak = len(result["runs"]), queue["waits"], clicks["p95"], result["peak_mb"]
    trained = list(record.start_to_trained.values())
    line = {"sessions": sessions, "runs_finished": finished, "runs_lost": len(queue["started_runs"]) - finished,
            "errors_in_log": len(result["errors"]), "page_p95_s": None if p95 is None else round(p95, 2),
            "queue_wait_p95_s": None if not waits else round(percentile(waits, 0.95), 1),
            "start_to_trained_p95_s": None if not trained else round(percentile(trained, 0.95), 1),
            "network_floor_s": round(sum(queue["phases"]["extract_seconds"]), 1),
            "total_s": round(result["total_s"], 1), "peak_rss_mb": None if peak is None else round(peak)}
    if cluster:
        line.update(cluster=cluster, cluster_peak_rss_mb=None if cluster_peak is None else round(cluster_peak))
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
