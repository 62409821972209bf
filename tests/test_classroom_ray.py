"""The training line on a local Ray cluster: the same line (order, journal, Stop), its trainings
run by Ray actors. Six students' trainings, each run in its own space; progress and Stop on the
Train page; a worker process killed mid-training (retried once, then "interrupted"); what a
restarted server says; a stopped server's trainings saved. One cluster for the module (Ray takes
5-15 s to start); real MobileNetV2-0.35 trainings at 96 px on the built-in demo."""

from __future__ import annotations

import os
import re
import secrets
import signal
import time

import pytest

# Ray's token authentication, with a token of the tests' own (never one written in the home
# folder); read when Ray is imported.
os.environ.setdefault("RAY_AUTH_MODE", "token")
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing sent to Ray's makers
ray = pytest.importorskip("ray", reason='Ray is an optional extra: pip install -e ".[cluster]"')

from studio_support import SMALL_WEIGHTS, environment, folders, open_page, texts  # noqa: E402,F401  (fixtures)
from tlcore.queue import (  # noqa: E402
    CANCELLED,
    DONE,
    INTERRUPTED,
    INTERRUPTED_BY_RESTART,
    QUEUED,
    RUNNING,
    STOPPED_WHILE_QUEUED,
    STOPPED_WHILE_RUNNING,
)
from tlcore.cluster.ray_queue import WORKER_LOST, RayQueue, RemoteTrainingJob  # noqa: E402
from tlcore.jobs import TrainingJob  # noqa: E402
from tlcore.runs import CLAIM_FILE, list_runs  # noqa: E402
from tlcore.settings import TrainingSettings  # noqa: E402

PATIENCE = 300  # a bound for a failure (a 2-core machine shared by other work), not a speed test


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster for the module: 4 logical CPUs, so a second line's worker has room
    beside the first line's two (each asks for one)."""
    if ray.is_initialized():
        ray.shutdown()
    ray.init(address="local", num_cpus=4, include_dashboard=False, configure_logging=False, namespace="tlcore-tests")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    from tlcore.spaces import SpaceStore

    return SpaceStore.in_workspace(tmp_path_factory.mktemp("workspace"))


@pytest.fixture(scope="module")
def line(cluster, store):
    """The module's line: two workers, each a Ray actor with one CPU."""
    queue = RayQueue("local", workers=2, journal=store.root / "classroom" / "queue.json", workspace=store.root,
                     worker_cpus=1)
    yield queue
    queue.shutdown(timeout=60)


def student(store, demo_dataset_96, name: str):
    space = store.create(name)
    return space, store.save_dataset(space.id, demo_dataset_96, "Shapes")


def training(space, pictures, epochs: int = 1, fine_tune_epochs: int = 0) -> TrainingJob:
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=SMALL_WEIGHTS, input_size=96, epochs=epochs,
                                learning_blocks=1 if fine_tune_epochs else 0, fine_tune_epochs=fine_tune_epochs,
                                batch_size=16)
    return TrainingJob(settings, pictures, workspace=space.runs_dir, dataset_name="Shapes")


def long_training(space, pictures) -> TrainingJob:
    return training(space, pictures, epochs=1, fine_tune_epochs=1000)


def wait_for(condition, timeout: float = PATIENCE, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.1)


def learned_epochs(queue, ticket) -> int:
    job = queue.job(ticket)
    return len(job.snapshot().get("history", {}).get("loss", [])) if job is not None else 0


def claimed_folders(space) -> list:
    return [p for p in space.runs_dir.glob(f"*/{CLAIM_FILE}")] if space.runs_dir.is_dir() else []


def test_six_students_trainings_run_on_ray_in_order_each_run_in_its_own_space(line, store, demo_dataset_96):
    students = [student(store, demo_dataset_96, f"Student {n}") for n in range(1, 7)]
    tickets = [line.submit(space.id, training(space, pictures), label="MobileNetV2 (0.35)")
               for space, pictures in students]
    wait_for(lambda: line.position(tickets[1]) is None, what="two taken by the workers")
    assert [line.position(t) for t in tickets][2:] == [1, 2, 3, 4]  # two run at once, four wait in line
    for ticket in tickets:
        assert isinstance(line.job(ticket), RemoteTrainingJob) and isinstance(line.job(ticket), TrainingJob)
    wait_for(lambda: all(line.status(s.id).state not in (QUEUED, RUNNING) for s, _ in students), what="six runs")
    entries = [line.status(space.id) for space, _ in students]
    assert [e.state for e in entries] == [DONE] * 6, [e.error for e in entries]
    starts = [e.started for e in entries]
    assert starts == sorted(starts)  # first come, first served
    for (space, _), ticket in zip(students, tickets):
        job = line.job(ticket)
        [run] = list_runs(space.runs_dir)  # one run each, in its own space, saved by the worker
        assert job.run.path == run.path and run.record.classes == ("circle", "square", "triangle")
        snapshot = job.snapshot()  # what the Train page reads once it is over
        assert (snapshot["epoch"], len(snapshot["history"]["loss"]), snapshot["running"]) == (1, 1, False)
        assert snapshot["run_path"] == str(run.path)
    assert line.cluster.shares_workspace(0) and line.cluster.shares_workspace(1)  # pictures read, not sent


def test_a_killed_worker_costs_one_retry_then_its_student_is_told_and_nothing_else_is_lost(
        line, store, demo_dataset_96):
    (ann, ann_pictures), (bob, bob_pictures) = (student(store, demo_dataset_96, name) for name in ("Ann", "Bob"))
    ticket = line.submit(ann.id, long_training(ann, ann_pictures))
    wait_for(lambda: learned_epochs(line, ticket) >= 2, what="Ann's training learning")
    job = line.job(ticket)
    first = job.worker["pid"]
    os.kill(first, signal.SIGKILL)  # the worker's process, as the kernel's out-of-memory killer would
    wait_for(lambda: job.worker and job.worker["pid"] != first and learned_epochs(line, ticket) >= 1,
             what="the training again, on a new worker")
    assert line.status(ann.id).state == RUNNING and line.status(ann.id).error is None
    bob_ticket = line.submit(bob.id, training(bob, bob_pictures))  # the line goes on meanwhile
    os.kill(job.worker["pid"], signal.SIGKILL)
    wait_for(lambda: line.status(ann.id).state != RUNNING, what="Ann told")
    assert (line.status(ann.id).state, line.status(ann.id).error) == (INTERRUPTED, WORKER_LOST)
    assert claimed_folders(ann) == [] and list_runs(ann.runs_dir) == []  # the dead workers' claims are gone
    wait_for(lambda: line.status(bob.id).state not in (QUEUED, RUNNING), what="Bob's run")
    assert line.status(bob.id).state == DONE and len(list_runs(bob.runs_dir)) == 1
    assert line.job(bob_ticket).run is not None


def test_progress_and_stop_reach_the_train_page(cluster, monkeypatch, folders):
    """The Train page, on a server whose line is on Ray (TLCORE_CLUSTER=local): its progress and
    curves come from the worker, its Stop stops the worker's training, and the run it saved is shown."""
    from studio import spaces
    from tlcore.data import load_demo

    monkeypatch.setenv("TLCORE_CLUSTER", "local")
    monkeypatch.setenv("TLCORE_WORKERS", "1")
    monkeypatch.setenv("TLCORE_WORKER_CPUS", "1")
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=SMALL_WEIGHTS, input_size=96, learning_blocks=0,
                                epochs=200, fine_tune_epochs=0, batch_size=8)
    at = open_page("train", tl_dataset=load_demo(image_size=96), tl_settings=settings)
    queue = spaces.queue()
    try:
        assert isinstance(queue, RayQueue)
        at.button(key="train_start").click().run()
        entry = queue.snapshot()[0]
        wait_for(lambda: learned_epochs(queue, entry.ticket) >= 2, what="the training learning on its worker")
        at.run()
        progress = [bar.proto.text for bar in at.get("progress")]
        assert len(progress) == 1 and re.search(r"Epoch \d+ of 200", progress[0]), progress
        assert "**Validation accuracy (last whole epoch):** " in texts(at) and " on 18 pictures" in texts(at)
        at.button(key="train_stop").click().run()
        wait_for(lambda: not queue.status(entry.space_id).active, what="the training stopped")
        at.run()
        assert not at.exception
        assert queue.status(entry.space_id).state == CANCELLED
        assert "Training was stopped early" in texts(at)
        run = queue.job(entry.ticket).run
        assert f"after {run.record.epochs_run} whole epoch" in texts(at)
        assert run.path.parent == folders["workspace"] and 2 <= run.record.epochs_run < 200
    finally:
        queue.shutdown(timeout=60)


def test_a_restarted_server_says_interrupted_and_a_stopped_one_saves_what_was_learned(
        line, store, demo_dataset_96):
    """The module's line is the server here: killed (its journal read by a new one), then stopped."""
    (cleo, pictures), (dan, dan_pictures) = (student(store, demo_dataset_96, name) for name in ("Cleo", "Dan"))
    ticket = line.submit(cleo.id, long_training(cleo, pictures))
    wait_for(lambda: line.status(cleo.id).state == RUNNING, what="Cleo's training started")
    line.pause()
    line.submit(dan.id, training(dan, dan_pictures))  # waits in line
    wait_for(lambda: learned_epochs(line, ticket) >= 2, what="Cleo's training learning")
    # a server started on this journal now (as after a kill -9) reports Cleo's as interrupted
    after_a_crash = RayQueue("local", workers=1, journal=line.journal, workspace=store.root, worker_cpus=1)
    try:
        assert (after_a_crash.status(cleo.id).state, after_a_crash.status(cleo.id).error) == (
            INTERRUPTED, INTERRUPTED_BY_RESTART)
    finally:
        after_a_crash.shutdown(timeout=30)
    line.shutdown(timeout=120)  # Ctrl+C: the worker stops Cleo's training and saves it
    assert (line.status(cleo.id).state, line.status(cleo.id).error) == (INTERRUPTED, STOPPED_WHILE_RUNNING)
    [run] = list_runs(cleo.runs_dir)
    assert run.record.stopped and run.record.epochs_run >= 2
    assert (line.status(dan.id).state, line.status(dan.id).error) == (INTERRUPTED, STOPPED_WHILE_QUEUED)
    assert list_runs(dan.runs_dir) == []
