"""The training queue: order, one job per space, replace, cancel, pause, estimates, and what a
restart reports. A tiny job of our own for the rules; one real TrainingJob end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tlcore.queue import (
    CANCELLED,
    DONE,
    FAILED,
    INTERRUPTED,
    INTERRUPTED_BY_RESTART,
    QUEUED,
    RUNNING,
    STOPPED_WHILE_QUEUED,
    STOPPED_BEFORE_LEARNING,
    STOPPED_WHILE_RUNNING,
    AlreadyQueued,
    QueueError,
    WorkerPool,
    configured_workers,
    default_workers,
    open_queue,
)

ROOT = Path(__file__).resolve().parents[1]


class GatedJob:
    """Follows the job protocol; runs until ``finish()`` or ``stop()``."""

    def __init__(self, name: str, log: list | None = None, error: str | None = None, explode: bool = False,
                 seconds: float | None = None):
        self.name, self.log, self.error, self.explode = name, log if log is not None else [], error, explode
        self.seconds = seconds
        self.started, self._gate = threading.Event(), threading.Event()
        self.stopped = False

    def train_and_save(self):
        self.started.set()
        self.log.append(self.name)
        self._gate.wait(20)
        if self.explode:
            raise RuntimeError("boom")
        return self.name

    def finish(self):
        self._gate.set()

    def stop(self):
        self.stopped = True
        self._gate.set()

    def snapshot(self) -> dict:
        return {"name": self.name, "running": self.started.is_set() and not self._gate.is_set()}

    def estimate_seconds(self) -> float | None:
        return self.seconds

    @property
    def kept_something(self) -> bool:
        return getattr(self, "run", None) is not None  # a test sets ``run`` as a TrainingJob would


def wait_for(condition, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def state_of(pool, space):
    entry = pool.status(space)
    return entry.state if entry else None


@pytest.fixture
def pool():
    pools = []

    def make(**kwargs):
        pools.append(WorkerPool(**{"workers": 1, **kwargs}))
        return pools[-1]

    yield make
    for made in pools:
        made.shutdown(timeout=5)


def test_jobs_run_first_come_first_served_one_at_a_time(pool):
    queue, log = pool(), []
    jobs = {space: GatedJob(space, log) for space in ("ann", "bob", "cy")}
    tickets = {space: queue.submit(space, job, label=f"{space}'s run") for space, job in jobs.items()}
    wait_for(jobs["ann"].started.is_set)
    assert [queue.position(tickets[s]) for s in ("ann", "bob", "cy")] == [None, 1, 2]
    assert [(e.space_id, e.state, e.position) for e in queue.snapshot()] == [
        ("ann", RUNNING, None), ("bob", QUEUED, 1), ("cy", QUEUED, 2)]
    assert queue.status("bob").label == "bob's run"
    assert queue.job(tickets["bob"]) is jobs["bob"]
    for space in ("ann", "bob", "cy"):
        wait_for(jobs[space].started.is_set)
        assert sum(j.started.is_set() for j in jobs.values()) == ["ann", "bob", "cy"].index(space) + 1
        jobs[space].finish()
    wait_for(lambda: state_of(queue, "cy") == DONE)
    assert log == ["ann", "bob", "cy"]
    assert [state_of(queue, s) for s in ("ann", "bob", "cy")] == [DONE, DONE, DONE]
    ended = queue.status("ann")
    assert ended.finished >= ended.started >= ended.ticket.submitted


def test_one_job_per_space_and_replace_keeps_its_place_in_line(pool):
    queue = pool()
    first, waiting, behind = GatedJob("a"), GatedJob("b"), GatedJob("c")
    queue.submit("ann", first)
    old = queue.submit("bob", waiting)
    queue.submit("cy", behind)
    wait_for(first.started.is_set)
    with pytest.raises(AlreadyQueued) as running:
        queue.submit("ann", GatedJob("a2"), replace=True)  # a running job is never replaced
    assert str(running.value) == "Your training is running; stop it first, or wait until it ends."
    assert running.value.state == RUNNING
    with pytest.raises(AlreadyQueued) as queued:
        queue.submit("bob", GatedJob("b2"))
    assert str(queued.value) == "You already have a training waiting in line: replace it with this one, or keep it."
    assert queued.value.ticket == old
    newer = GatedJob("b2")
    new = queue.submit("bob", newer, replace=True)
    assert queue.position(new) == 1 and queue.position(old) is None and queue.job(old) is None
    assert [e.space_id for e in queue.snapshot()] == ["ann", "bob", "cy"]  # one entry per space
    for job in (first, newer, behind):
        job.finish()
    wait_for(lambda: state_of(queue, "cy") == DONE)
    assert not waiting.started.is_set() and newer.started.is_set()


def test_cancel_takes_a_queued_job_out_and_stops_a_running_one(pool):
    queue = pool()
    running, waiting = GatedJob("a"), GatedJob("b")
    ticket_a, ticket_b = queue.submit("ann", running), queue.submit("bob", waiting)
    wait_for(running.started.is_set)
    assert queue.cancel(ticket_b) is True
    assert (queue.status("bob").state, queue.position(ticket_b)) == (CANCELLED, None)
    assert queue.cancel(ticket_a) is True and running.stopped
    wait_for(lambda: state_of(queue, "ann") == CANCELLED)
    assert queue.cancel(ticket_a) is False  # already over
    assert not waiting.started.is_set()
    again = GatedJob("b again")
    queue.submit("bob", again)  # a cancelled space may start again
    wait_for(again.started.is_set)
    again.finish()


def test_pause_holds_new_jobs_until_resume(pool):
    queue = pool()
    queue.pause()
    job = GatedJob("a")
    ticket = queue.submit("ann", job)
    time.sleep(0.3)
    assert not job.started.is_set() and queue.paused
    assert queue.position(ticket) == 1 and queue.estimated_start(ticket) is None
    queue.resume()
    wait_for(job.started.is_set)
    job.finish()


def test_estimated_start_plays_the_line_forward_over_the_workers(pool):
    now = [1000.0]
    queue = pool(workers=2, clock=lambda: now[0], default_job_seconds=100)
    a, b = GatedJob("a", seconds=60), GatedJob("b")
    queue.submit("ann", a)
    queue.submit("bob", b)  # no estimate: the default until jobs have finished here
    wait_for(lambda: a.started.is_set() and b.started.is_set())
    c = queue.submit("cy", GatedJob("c", seconds=30))
    d = queue.submit("dee", GatedJob("d", seconds=30))
    e = queue.submit("eli", GatedJob("e"))
    assert [queue.estimated_start(t) for t in (c, d, e)] == [1060.0, 1090.0, 1100.0]
    now[0] = 1080.0  # ann's job runs past nothing yet: the line moves with the clock
    assert queue.estimated_start(c) == 1080.0
    assert queue.status("cy").estimated_start == 1080.0
    queue.cancel(c)
    assert queue.estimated_start(d) == 1080.0
    a.finish(), b.finish()


def test_recent_durations_replace_the_default_guess(pool):
    now = [0.0]
    queue = pool(clock=lambda: now[0], default_job_seconds=500)
    job = GatedJob("a")
    queue.submit("ann", job)
    wait_for(job.started.is_set)
    now[0] = 40.0
    job.finish()
    wait_for(lambda: state_of(queue, "ann") == DONE)
    blocker = GatedJob("b")
    queue.submit("bob", blocker)
    wait_for(blocker.started.is_set)
    waiting = queue.submit("cy", GatedJob("c"))
    assert queue.estimated_start(waiting) == 80.0  # started at 40, jobs take 40 s here
    blocker.finish()


def test_a_failed_job_is_reported_and_the_next_one_still_runs(pool):
    queue = pool()
    failing, raising, fine = GatedJob("a", error="The disk is full."), GatedJob("b", explode=True), GatedJob("c")
    for space, job in (("ann", failing), ("bob", raising), ("cy", fine)):
        queue.submit(space, job)
        job.finish()
    wait_for(lambda: state_of(queue, "cy") == DONE)
    assert (queue.status("ann").state, queue.status("ann").error) == (FAILED, "The disk is full.")
    assert (queue.status("bob").state, queue.status("bob").error) == (
        FAILED, "Training stopped because of an error: boom")


def test_a_restart_reports_running_and_queued_jobs_as_interrupted(pool, tmp_path):
    journal = tmp_path / "classroom" / "queue.json"
    before = pool(journal=journal)
    done, running, waiting = GatedJob("a"), GatedJob("b"), GatedJob("c")
    before.submit("ann", done)
    done.finish()
    wait_for(lambda: state_of(before, "ann") == DONE)
    before.submit("bob", running)
    before.submit("cy", waiting)
    wait_for(running.started.is_set)
    written = json.loads(journal.read_text())
    assert [(e["space"], e["state"]) for e in written["entries"]] == [("ann", DONE), ("bob", RUNNING), ("cy", QUEUED)]

    after = pool(journal=journal)  # the server died and came back: no shutdown in between
    assert sorted((e.space_id, e.state, e.error) for e in after.snapshot()) == [
        ("ann", DONE, None), ("bob", INTERRUPTED, INTERRUPTED_BY_RESTART), ("cy", INTERRUPTED, INTERRUPTED_BY_RESTART)]
    assert after.status("bob").error == INTERRUPTED_BY_RESTART
    assert after.job(after.status("bob").ticket) is None
    assert {e["space"]: e["state"] for e in json.loads(journal.read_text())["entries"]} == {
        "ann": DONE, "bob": INTERRUPTED, "cy": INTERRUPTED}
    fresh = GatedJob("bob again")
    after.submit("bob", fresh)  # an interrupted space starts again
    wait_for(fresh.started.is_set)
    fresh.finish()
    running.finish()


def test_shutdown_stops_the_running_job_and_interrupts_the_line(pool, tmp_path):
    queue = pool(journal=tmp_path / "queue.json")
    running, waiting = GatedJob("a"), GatedJob("b")
    queue.submit("ann", running)
    queue.submit("bob", waiting)
    wait_for(running.started.is_set)
    running.run = "what it learned, saved"  # a TrainingJob keeps the run it saved here
    queue.shutdown(timeout=5)
    assert running.stopped and not waiting.started.is_set()
    assert (queue.status("ann").state, queue.status("ann").error) == (INTERRUPTED, STOPPED_WHILE_RUNNING)
    assert (queue.status("bob").state, queue.status("bob").error) == (INTERRUPTED, STOPPED_WHILE_QUEUED)
    with pytest.raises(QueueError, match="^The server is shutting down; start the training again in a moment.$"):
        queue.submit("cy", GatedJob("c"))
    reopened = WorkerPool(workers=1, journal=tmp_path / "queue.json")
    assert reopened.status("ann").error == STOPPED_WHILE_RUNNING  # said after the restart...
    reopened.shutdown(timeout=1)
    again = WorkerPool(workers=1, journal=tmp_path / "queue.json")
    assert (again.status("ann"), again.status("bob")) == (None, None)  # ...and not after the next one
    again.shutdown(timeout=1)


def test_what_a_shutdown_says_is_written_once_the_job_has_ended(pool, tmp_path):
    """A job stopped by a shutdown saves while it ends: until then the journal claims nothing."""
    journal = tmp_path / "queue.json"
    queue = pool(journal=journal)
    saving = GatedJob("a")
    saving.stop = lambda: setattr(saving, "stopped", True)  # still saving: it ends when finish() is called
    queue.submit("ann", saving)
    wait_for(saving.started.is_set)
    stopping = threading.Thread(target=queue.shutdown, kwargs={"timeout": 10})
    stopping.start()
    wait_for(lambda: saving.stopped)
    [entry] = json.loads(journal.read_text())["entries"]
    assert (entry["state"], entry["error"]) == (RUNNING, None)  # killed now, a restart says "interrupted"
    saving.run = "saved"
    saving.finish()
    stopping.join()
    [entry] = json.loads(journal.read_text())["entries"]
    assert (entry["state"], entry["error"]) == (INTERRUPTED, STOPPED_WHILE_RUNNING)


def test_a_stopping_server_saves_before_the_exit_handlers_of_libraries_run(tmp_path):
    """The real order: the queue opens before Keras is imported (as in the app), and the process
    ends as Streamlit's does, by its main thread returning. Keras's pytree library clears its
    registry in an exit handler; a save started from an ``atexit`` function registered earlier
    ran after it and could not flatten a list (the lost runs of issue 23)."""
    script = f"""
import pathlib, threading
from tlcore.queue import WorkerPool

class Saving:
    def __init__(self):
        self.stop_asked = threading.Event()
    def train_and_save(self):
        import keras  # imported while training, after the queue: its exit handlers run first
        started.set()
        self.stop_asked.wait(30)
        pathlib.Path({str(tmp_path / "saved")!r}).write_text(repr(keras.tree.flatten([[1], [2]])))
    def stop(self):
        self.stop_asked.set()
    def snapshot(self):
        return {{}}

started = threading.Event()
pool = WorkerPool(workers=1)
pool.shutdown_before_exit()
pool.submit("ann", Saving())
started.wait(60)
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (tmp_path / "saved").read_text() == "[1, 2]"


def test_shutdown_before_a_whole_epoch_says_nothing_was_saved(pool, tmp_path):
    queue = pool(journal=tmp_path / "queue.json")
    running = GatedJob("a")
    queue.submit("ann", running)
    wait_for(running.started.is_set)
    queue.shutdown(timeout=5)  # it saved no run: it had not learned a whole epoch
    assert (queue.status("ann").state, queue.status("ann").error) == (INTERRUPTED, STOPPED_BEFORE_LEARNING)
    assert "nothing was saved" in STOPPED_BEFORE_LEARNING


def test_a_damaged_journal_starts_an_empty_queue(tmp_path):
    journal = tmp_path / "queue.json"
    journal.write_text("{broken")
    queue = WorkerPool(workers=1, journal=journal)
    assert queue.snapshot() == []
    queue.shutdown(timeout=1)


def test_a_replaced_job_never_runs(pool):
    queue = pool()
    queue.pause()
    old_job, new_job = GatedJob("a"), GatedJob("b")
    old = queue.submit("ann", old_job)
    new = queue.submit("ann", new_job, replace=True)
    assert queue.status("ann").ticket == new and queue.position(old) is None and queue.cancel(old) is False
    queue.resume()
    wait_for(new_job.started.is_set)
    new_job.finish()
    wait_for(lambda: state_of(queue, "ann") == DONE)
    assert not old_job.started.is_set()


def test_workers_default_to_half_the_cores(monkeypatch):
    for cores, workers in ((2, 1), (1, 1), (None, 1), (8, 4), (16, 8)):
        monkeypatch.setattr("os.cpu_count", lambda cores=cores: cores)
        assert default_workers() == workers
    monkeypatch.setenv("TLCORE_WORKERS", "3")
    assert configured_workers() == 3
    monkeypatch.setenv("TLCORE_WORKERS", "three")
    with pytest.raises(ValueError) as error:
        configured_workers()
    assert str(error.value) == "TLCORE_WORKERS must be a whole number from 1 to 64; got 'three'."
    with pytest.raises(ValueError, match="^workers must be a whole number from 1 to 64; got 0.$"):
        WorkerPool(workers=0)


def test_a_real_training_job_through_the_queue_lands_in_its_space(tmp_path, mobilenet_035_weights):
    """End to end: pictures in a space, a TrainingJob in the queue, the run in that space only."""
    from tlcore.spaces import SpaceStore
    from test_spaces import keep_demo
    from tlcore.jobs import TrainingJob
    from tlcore.runs import list_runs
    from tlcore.settings import TrainingSettings

    store = SpaceStore.in_workspace(tmp_path)
    ann, bob = store.create("Ann"), store.create("Bob")
    keep_demo(store, ann)
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=mobilenet_035_weights, input_size=96,
                                epochs=1, batch_size=16)
    store.save_settings(ann.id, settings)
    pictures = store.load_pictures(ann.id, image_size=96)
    assert not pictures.pixels().flags.writeable  # the waiting job holds a read-only map, not a copy
    queue = open_queue(tmp_path, workers=1)
    try:
        job = TrainingJob(store.settings(ann.id), pictures, workspace=ann.runs_dir, dataset_name="Shapes")
        ticket = queue.submit(ann.id, job, label="MobileNetV2 (0.35)")
        wait_for(lambda: state_of(queue, ann.id) not in (QUEUED, RUNNING), timeout=300)
        assert queue.status(ann.id).state == DONE, queue.status(ann.id).error
        live = queue.job(ticket).snapshot()  # what a page re-attaching after a refresh reads
        assert (live["epoch"], len(live["history"]["loss"]), live["running"]) == (1, 1, False)
        runs = list_runs(ann.runs_dir)
        assert [r.path for r in runs] == [job.run.path] and runs[0].record.classes == ("circle", "square", "triangle")
        assert list_runs(bob.runs_dir) == []
        summary = store.summary(ann.id, queue)
        assert (summary.runs, summary.queue_state, summary.pictures) == (1, DONE, 90)
        record = runs[0].record  # the best run's accuracy, with the pictures it was measured on
        assert (summary.best_accuracy, summary.best_val_pictures) == (record.val_accuracy, record.val_pictures)
    finally:
        queue.shutdown(timeout=30)
    assert (tmp_path / "classroom" / "queue.json").is_file()


class CheapJob(GatedJob):
    cheap = True  # a head on a warm network (TrainingJob.cheap)


def test_cheap_jobs_run_side_by_side_in_the_lines_order_with_cancel_and_stop(pool):
    now = [1000.0]
    queue, log = pool(workers=1, cheap_workers=2, clock=lambda: now[0]), []
    jobs = {"ann": GatedJob("ann", log, seconds=60), "bob": CheapJob("bob", log, seconds=5),
            "cy": CheapJob("cy", log, seconds=5), "dee": CheapJob("dee", log, seconds=5),
            "eli": GatedJob("eli", log, seconds=60), "fay": CheapJob("fay", log, seconds=5)}
    tickets = {}
    for space, job in jobs.items():
        tickets[space] = queue.submit(space, job)
        if space == "ann":
            wait_for(job.started.is_set)  # the costly one has the worker
    wait_for(lambda: jobs["bob"].started.is_set() and jobs["cy"].started.is_set())
    assert log == ["ann", "bob", "cy"]  # two cheap lanes beside the worker, in the line's order
    assert [queue.position(tickets[s]) for s in ("dee", "eli", "fay")] == [1, 2, 3]
    # dee: the first cheap lane free (bob's, at 1005); eli needs the worker (ann's, at 1060); fay
    # never starts before eli, who is ahead of it.
    assert [queue.estimated_start(tickets[s]) for s in ("dee", "eli", "fay")] == [1005.0, 1060.0, 1060.0]
    assert queue.cancel(tickets["cy"]) and jobs["cy"].stopped  # Stop on a cheap one running
    wait_for(lambda: jobs["dee"].started.is_set())  # its lane is free again
    assert state_of(queue, "cy") == CANCELLED and log[-1] == "dee"
    jobs["bob"].finish(), jobs["dee"].finish()
    time.sleep(0.3)  # a costly job at the front waits for the worker, and everyone behind it too
    assert not jobs["eli"].started.is_set() and not jobs["fay"].started.is_set()
    assert queue.cancel(tickets["fay"]) and queue.position(tickets["fay"]) is None  # cancel in line
    jobs["ann"].finish()
    wait_for(jobs["eli"].started.is_set)
    jobs["eli"].finish()
    wait_for(lambda: state_of(queue, "eli") == DONE)
    assert log == ["ann", "bob", "cy", "dee", "eli"] and not jobs["fay"].started.is_set()
    assert [state_of(queue, s) for s in jobs] == [DONE, DONE, CANCELLED, DONE, DONE, CANCELLED]
