"""One training queue for the whole server, solo or classroom: a bounded number of workers, one
job per space (the pages call it the training line).

``TrainingQueue`` is the small interface pages use. ``TrainingLine`` keeps the line for every
implementation: the order, one job per space, replace and cancel, pause, the estimates, the
journal and shutdown; each of its ``workers`` is a thread that takes the next job and hands it
to ``train(job, worker)``, which says where jobs train. ``WorkerPool`` trains them here, in
that thread (``job.train_and_save()``); ``RayQueue`` (tlcore/cluster/) on a Ray cluster's actors,
the thread only waiting (docs/scaling.md).

The job protocol (what the queue needs of a job; ``tlcore.jobs.TrainingJob`` has it):

    train_and_save()    train and save, here, in the worker's thread; returns when done.
                        A training that fails sets ``error`` rather than raising; if it
                        raises anyway, the entry is marked failed with the error's words.
    stop()              ask a running job to end soon; what it learned is kept and saved.
    snapshot() -> dict  progress and history so far, safe to call from any thread.
    error               (optional attribute) None, or what went wrong, in plain words.
    interrupted         (optional attribute) True when the job ended because its worker died:
                        the entry is then interrupted, not failed, with ``error``'s words.
    kept_something      (optional attribute) whether a stopped job saved anything (a run, or
                        finished trainings of an experiment); what a shutdown tells its space.
    estimate_seconds()  (optional) how long it should take: when the jobs after it should start
                        (without it, the mean of the last jobs that finished here).
    cheap               (optional attribute) True for a job of seconds with no fixed cost to wait
                        for (a head on a warm network): asked when it reaches the front of the line.

Cheap jobs side by side: besides its ``workers``, the pool has ``cheap_workers`` lanes that start
only cheap jobs. Jobs still start in the line's order (a lane takes the front job only if it is
cheap; a costly one at the front waits for a worker, and everyone behind it waits too), so fairness,
places, cancel, replace, the journal and Stop are the same for every job.

Pictures while waiting: a queued job holds its space's ``ImageDataset``, whose pixels are the
space's read-only memory-mapped file (``SpaceStore.load_pictures``): a waiting job keeps
file names and hashes in memory, its pixels stay on disk until training reads them.

Fair order: first come, first served, and a space has at most one job queued or running, so
one eager student cannot fill the line. A second submit from the same space raises
``AlreadyQueued`` unless ``replace=True`` (the page asks first), which puts the new job in the
queued one's place in line; a running job is never replaced (cancel it first).

A journal (``WORKSPACE/classroom/queue.json``, rewritten whole at each change) outlives the
process: a pool opened on it reports the entries that were queued or running when the
previous server stopped as ``interrupted``, for their spaces; nothing is silently dropped.
How a job ended is said by the server that ended it and by the next one (after a restart),
then forgotten: a later restart does not repeat it.

``shutdown()`` asks running jobs to stop and waits while they save what they learned; what it
tells each space is chosen once the job has ended (whether it kept a run). The app calls it as
soon as a stop signal arrives (tlcore.stopping), and ``shutdown_before_exit()`` makes
sure it has run when the main thread ends, before the interpreter's exit handlers. It must: an
``atexit`` function runs after those of libraries imported later (optree's clears the pytree
registry Keras needs; h5py's unregisters its converters), so a save started there fails.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from .files import read_json, write_json

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED = (
    "queued", "running", "done", "failed", "cancelled", "interrupted")
STATES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED)
ACTIVE = (QUEUED, RUNNING)
JOURNAL_FORMAT = 1
DEFAULT_JOB_SECONDS = 120.0  # until a job has finished here, a guess for how long one takes
SHUTDOWN_SECONDS = 60.0  # a stopping server waits this long for running jobs to save
RECENT_JOBS = 10  # estimates use the mean duration of this many last finished jobs
MAX_WORKERS = 64
# Lanes for cheap jobs (heads on a warm network, seconds each). On 2 cores they cost more than they
# give: the class of 30 measured Start -> trained p95 269 s with 3 lanes vs 281 s with none, but idle
# pages p95 16.8 s vs 3.5 s (README, Performance 8). So: none on 2-3 cores, up to 3 on bigger machines.
CHEAP_WORKERS = max(0, min(3, (os.cpu_count() or 2) // 2 - 1))
CHEAP_LANES_ENV = "TLCORE_CHEAP_LANES"


def configured_cheap_lanes() -> int:
    """Lanes for cheap trainings: $TLCORE_CHEAP_LANES, else CHEAP_WORKERS."""
    try:
        return max(0, min(MAX_WORKERS, int(os.environ.get(CHEAP_LANES_ENV, CHEAP_WORKERS))))
    except ValueError:
        return CHEAP_WORKERS

INTERRUPTED_BY_RESTART = "Your training was interrupted when the server restarted; start it again."
STOPPED_WHILE_QUEUED = "The server was stopped before your training started; start it again."
STOPPED_WHILE_RUNNING = ("The server was stopped during your training; what it had learned so far is "
                         "saved as a run. Start it again to train it fully.")
STOPPED_BEFORE_LEARNING = ("The server was stopped during your training, before it had learned a whole epoch: "
                           "nothing was saved. Start it again.")
REPLACED = "Replaced by a newer training from the same space."


class Job(Protocol):
    def train_and_save(self) -> Any: ...
    def stop(self) -> None: ...
    def snapshot(self) -> dict: ...


class QueueError(RuntimeError):
    """Something the queue cannot do now; the message says what to do, in plain words."""


class AlreadyQueued(QueueError):
    """The space already has a job queued or running (``ticket``, ``state``)."""

    def __init__(self, message: str, ticket: "Ticket", state: str):
        super().__init__(message)
        self.ticket, self.state = ticket, state


@dataclass(frozen=True)
class Ticket:
    """What ``submit`` gives back: keep it (or the space id) to ask about the job later."""

    id: str
    space_id: str
    submitted: float


@dataclass(frozen=True)
class QueueEntry:
    """One job as the queue sees it. Times are seconds since the epoch (time.time()).

    ``position``: 1 for the next job to start, 2 after it...; None unless queued.
    ``estimated_start``: when a queued job should start (None while the queue is paused)."""

    ticket: Ticket
    state: str
    label: str = ""
    position: int | None = None
    estimated_start: float | None = None
    started: float | None = None
    finished: float | None = None
    error: str | None = None

    @property
    def space_id(self) -> str:
        return self.ticket.space_id

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def default_workers() -> int:
    """Trainings side by side: half the CPU cores (each training uses several), at least 1."""
    return max(1, (os.cpu_count() or 2) // 2)


def configured_workers() -> int:
    """$TLCORE_WORKERS (set by `tlcore classroom --workers K`), else ``default_workers()``."""
    text = os.environ.get("TLCORE_WORKERS", "").strip()
    if not text:
        return default_workers()
    if not text.isdigit() or not 1 <= int(text) <= MAX_WORKERS:
        raise ValueError(f"TLCORE_WORKERS must be a whole number from 1 to {MAX_WORKERS}; got {text!r}.")
    return int(text)


class TrainingQueue(ABC):
    """Every training of a server goes through one of these."""

    @abstractmethod
    def submit(self, space_id: str, job: Job, replace: bool = False, label: str = "") -> Ticket:
        """Put ``job`` in line for ``space_id``; AlreadyQueued if the space has one (see replace)."""

    @abstractmethod
    def cancel(self, ticket: Ticket) -> bool:
        """Queued: taken out of line. Running: asked to stop (what it learned is saved). False if done."""

    @abstractmethod
    def position(self, ticket: Ticket) -> int | None: ...

    @abstractmethod
    def estimated_start(self, ticket: Ticket) -> float | None: ...

    @abstractmethod
    def status(self, space_id: str) -> QueueEntry | None:
        """The space's latest job (queued, running, or how it ended), or None."""

    @abstractmethod
    def snapshot(self) -> list[QueueEntry]:
        """Every entry, for the teacher: running first, then queued in order, then the rest."""

    @abstractmethod
    def job(self, ticket: Ticket) -> Job | None:
        """The job object, while this server holds it (for its live ``snapshot()``)."""

    @abstractmethod
    def pause(self) -> None:
        """No new job starts until ``resume()``; running ones go on."""

    @abstractmethod
    def resume(self) -> None: ...

    @property
    @abstractmethod
    def paused(self) -> bool: ...

    @abstractmethod
    def shutdown(self, timeout: float = 30) -> None:
        """Stop: running jobs are asked to stop (and save), every unfinished entry is interrupted."""


@dataclass
class _Entry:
    ticket: Ticket
    job: Job | None = field(repr=False)
    state: str = QUEUED
    label: str = ""
    estimate: float | None = None
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    cancel_requested: bool = False
    stopped_by_shutdown: bool = False
    carried: bool = False  # ended before the last restart: said once more now, then forgotten
    cheap_lane: bool = False  # running in a lane for cheap jobs


class TrainingLine(TrainingQueue):
    """The line every implementation keeps; ``train`` says where a job trains. ``workers``
    threads each take the next job in line; a subclass calls ``start_workers()`` once it can train.

    ``journal``: the file that lets a restarted server say which jobs were interrupted
    (``open_queue`` puts it in the workspace); None keeps everything in memory."""

    def __init__(self, workers: int | None = None, journal=None, clock: Callable[[], float] = time.time,
                 default_job_seconds: float = DEFAULT_JOB_SECONDS, cheap_workers: int = 0):
        self.workers = default_workers() if workers is None else int(workers)
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ValueError(f"workers must be a whole number from 1 to {MAX_WORKERS}; got {workers!r}.")
        self.cheap_workers = int(cheap_workers)
        self.journal = Path(journal) if journal else None
        self.default_job_seconds = float(default_job_seconds)
        self._clock = clock
        self._changed = threading.Condition(threading.RLock())
        self._entries: dict[str, _Entry] = {}
        self._latest: dict[str, str] = {}  # space id -> ticket id of its newest entry
        self._waiting: deque[str] = deque()
        self._durations: deque[float] = deque(maxlen=RECENT_JOBS)
        self._paused = self._closing = False
        self._load_journal()
        self._threads: list[threading.Thread] = []

    def start_workers(self) -> None:
        self._threads = [threading.Thread(target=self._work, args=(n,), name=f"tlcore-queue-{n + 1}", daemon=True)
                         for n in range(self.workers)]
        self._threads += [threading.Thread(target=self._work, args=(self.workers + n, True),
                                           name=f"tlcore-queue-cheap-{n + 1}", daemon=True)
                          for n in range(self.cheap_workers)]
        for thread in self._threads:
            thread.start()

    @abstractmethod
    def train(self, job: Job, worker: int) -> None:
        """Train and save ``job`` with worker number ``worker`` (0, 1...); return when it has ended."""

    # -- asking --------------------------------------------------------------------------------
    def submit(self, space_id, job, replace=False, label="") -> Ticket:
        estimate = job.estimate_seconds() if callable(getattr(job, "estimate_seconds", None)) else None
        with self._changed:
            if self._closing:
                raise QueueError("The server is shutting down; start the training again in a moment.")
            place = len(self._waiting)
            current = self._active_entry(space_id)
            if current is not None:
                if current.state == RUNNING:
                    raise AlreadyQueued("Your training is running; stop it first, or wait until it ends.",
                                        current.ticket, RUNNING)
                if not replace:
                    raise AlreadyQueued("You already have a training waiting in line: replace it with this "
                                        "one, or keep it.", current.ticket, QUEUED)
                place = self._waiting.index(current.ticket.id)  # the new job keeps its place in line
                self._waiting.remove(current.ticket.id)
                self._end(current, CANCELLED, REPLACED)
            ticket = Ticket(secrets.token_urlsafe(9), str(space_id), self._clock())
            self._forget(space_id)
            self._entries[ticket.id] = _Entry(ticket, job, label=str(label), estimate=estimate)
            self._latest[ticket.space_id] = ticket.id
            self._waiting.insert(place, ticket.id)
            self._save()
            self._changed.notify_all()
            return ticket

    def cancel(self, ticket) -> bool:
        with self._changed:
            entry = self._entries.get(ticket.id)
            if entry is None or entry.state not in ACTIVE:
                return False
            if entry.state == QUEUED:
                self._waiting.remove(ticket.id)
                self._end(entry, CANCELLED)
                self._save()
                self._changed.notify_all()
                return True
            entry.cancel_requested = True
        entry.job.stop()  # outside the lock: a job's stop() may take its own
        return True

    def pause(self) -> None:
        with self._changed:
            self._paused = True

    def resume(self) -> None:
        with self._changed:
            self._paused = False
            self._changed.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def closing(self) -> bool:
        """``shutdown()`` has begun: no job starts any more."""
        return self._closing

    # -- telling -------------------------------------------------------------------------------
    def position(self, ticket) -> int | None:
        with self._changed:
            return self._waiting.index(ticket.id) + 1 if ticket.id in self._waiting else None

    def estimated_start(self, ticket) -> float | None:
        with self._changed:
            entry = self._entries.get(ticket.id)
            if entry is None or entry.state not in ACTIVE:
                return None
            return entry.started if entry.state == RUNNING else self._start_times().get(ticket.id)

    def status(self, space_id) -> QueueEntry | None:
        with self._changed:
            ticket_id = self._latest.get(str(space_id))
            return self._view(self._entries[ticket_id], self._start_times()) if ticket_id else None

    def snapshot(self) -> list[QueueEntry]:
        with self._changed:
            starts = self._start_times()
            running = sorted((e for e in self._entries.values() if e.state == RUNNING), key=lambda e: e.started)
            queued = [self._entries[t] for t in self._waiting]
            ended = sorted((e for e in self._entries.values() if e.state not in ACTIVE),
                           key=lambda e: -(e.finished or 0))
            return [self._view(e, starts) for e in [*running, *queued, *ended]]

    def job(self, ticket) -> Job | None:
        with self._changed:
            entry = self._entries.get(ticket.id)
            return entry.job if entry is not None else None

    def shutdown(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        with self._changed:
            self._closing = True
            running = [e for e in self._entries.values() if e.state == RUNNING and not e.stopped_by_shutdown]
            while self._waiting:
                self._end(self._entries[self._waiting.popleft()], INTERRUPTED, STOPPED_WHILE_QUEUED)
            for entry in running:  # what they are told is chosen when they end (see _finished)
                entry.cancel_requested = entry.stopped_by_shutdown = True
            self._save()
            self._changed.notify_all()
        for entry in running:
            entry.job.stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def shutdown_before_exit(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        """Shut down when the main thread ends, before the interpreter's exit handlers (see the
        module's docstring): a thread that is not a daemon waits for the main thread, and the
        interpreter waits for it. Call once, from the server that owns this queue."""
        def when_main_ends() -> None:
            threading.main_thread().join()
            self.shutdown(timeout)

        threading.Thread(target=when_main_ends, name="tlcore-queue-shutdown", daemon=False).start()

    # -- the workers ---------------------------------------------------------------------------
    def _work(self, worker: int, cheap_lane: bool = False) -> None:
        while True:
            with self._changed:
                while not self._closing and (self._paused or not self._waiting
                                             or (cheap_lane and not self._cheap(self._waiting[0]))):
                    self._changed.wait()
                if self._closing:
                    return
                entry = self._entries[self._waiting.popleft()]
                entry.state, entry.started, entry.cheap_lane = RUNNING, self._clock(), cheap_lane
                self._save()
            error = None
            try:
                self.train(entry.job, worker)
            except Exception as problem:  # a job that breaks the protocol still ends its entry
                log.exception("A queued training failed")
                error = f"Training stopped because of an error: {problem}"
            with self._changed:
                self._finished(entry, error or getattr(entry.job, "error", None))
                self._changed.notify_all()

    def _finished(self, entry: _Entry, error: str | None) -> None:
        if entry.stopped_by_shutdown:  # said now the job has ended: whether it kept a run is known
            kept = getattr(entry.job, "kept_something", False)
            self._end(entry, INTERRUPTED, STOPPED_WHILE_RUNNING if kept else STOPPED_BEFORE_LEARNING, keep_job=True)
        elif getattr(entry.job, "interrupted", False):  # its worker died: said as it happened
            self._end(entry, INTERRUPTED, error, keep_job=True)
        elif entry.cancel_requested:
            self._end(entry, CANCELLED, error, keep_job=True)
        elif error:
            self._end(entry, FAILED, error, keep_job=True)
        else:
            self._end(entry, DONE, keep_job=True)
            self._durations.append(entry.finished - entry.started)
        self._save()

    # -- inside --------------------------------------------------------------------------------
    def _active_entry(self, space_id) -> _Entry | None:
        entry = self._entries.get(self._latest.get(str(space_id), ""))
        return entry if entry is not None and entry.state in ACTIVE else None

    def _forget(self, space_id) -> None:
        """A space's older, ended entry goes (and with it its job and model) when it submits again."""
        old = self._latest.pop(str(space_id), None)
        if old is not None and self._entries[old].state not in ACTIVE:
            del self._entries[old]

    def _end(self, entry: _Entry, state: str, error: str | None = None, keep_job: bool = False) -> None:
        entry.state, entry.finished, entry.error = state, self._clock(), error
        if not keep_job:
            entry.job = None  # never started: nothing to look at, nothing to keep in memory

    def _cheap(self, ticket_id: str) -> bool:
        try:
            return getattr(self._entries[ticket_id].job, "cheap", False) is True
        except Exception:  # a job that cannot say is not cheap
            log.exception("A queued job could not say whether it is cheap")
            return False

    def _expected_seconds(self, entry: _Entry) -> float:
        if entry.estimate is not None:
            return float(entry.estimate)
        return sum(self._durations) / len(self._durations) if self._durations else self.default_job_seconds

    def _start_times(self) -> dict[str, float]:
        """When each queued job should start: the line played forward over the workers."""
        if self._paused:
            return {}
        now = self._clock()
        running = [e for e in self._entries.values() if e.state == RUNNING]
        free_at = {lane: sorted(max(now, e.started + self._expected_seconds(e)) for e in running
                                if e.cheap_lane == lane) for lane in (False, True)}  # cheap lane or not
        for lane, size in ((False, self.workers), (True, self.cheap_workers)):
            free_at[lane] += [now] * (size - len(free_at[lane]))
        starts, not_before = {}, now
        for ticket_id in self._waiting:  # in order: a job never starts before the one ahead of it
            lanes = [lane for lane in ((False, True) if self._cheap(ticket_id) else (False,)) if free_at[lane]]
            lane = min(lanes, key=lambda lane: min(free_at[lane]))
            slot = free_at[lane].index(min(free_at[lane]))
            starts[ticket_id] = not_before = max(free_at[lane][slot], not_before)
            free_at[lane][slot] = not_before + self._expected_seconds(self._entries[ticket_id])
        return starts

    def _view(self, entry: _Entry, starts: dict[str, float]) -> QueueEntry:
        waiting = entry.ticket.id in self._waiting
        return QueueEntry(entry.ticket, entry.state, entry.label,
                          self._waiting.index(entry.ticket.id) + 1 if waiting else None,
                          starts.get(entry.ticket.id) if waiting else (entry.started if entry.state == RUNNING else None),
                          entry.started, entry.finished, entry.error)

    # -- the journal ---------------------------------------------------------------------------
    def _save(self) -> None:
        if self.journal is None:
            return
        entries = [{"ticket": e.ticket.id, "space": e.ticket.space_id, "submitted": e.ticket.submitted,
                    "state": e.state, "label": e.label, "started": e.started, "finished": e.finished,
                    "error": e.error, "carried": e.carried} for e in self._entries.values()]
        try:
            write_json(self.journal, {"format": JOURNAL_FORMAT, "entries": entries})
        except OSError as error:  # training goes on; only the after-restart report is at risk
            log.error("The training queue's journal %s could not be written: %s", self.journal, error)

    def _load_journal(self) -> None:
        """The previous server's entries: queued or running ones become interrupted; those an
        earlier server had already carried over a restart are forgotten (said once is enough)."""
        if self.journal is None:
            return
        data = read_json(self.journal)
        records = data.get("entries") if isinstance(data, dict) else None
        if data is not None and not isinstance(records, list):
            log.warning("The training queue's journal %s is not readable; starting an empty queue.", self.journal)
        for record in records or []:
            try:
                entry = _Entry(Ticket(str(record["ticket"]), str(record["space"]), float(record["submitted"])),
                               None, str(record["state"]), str(record.get("label") or ""),
                               started=record.get("started"), finished=record.get("finished"),
                               error=record.get("error"))
            except (KeyError, TypeError, ValueError):
                continue
            if record.get("carried") is True:
                continue
            entry.carried = True
            if entry.state in ACTIVE or entry.state not in STATES:
                self._end(entry, INTERRUPTED, INTERRUPTED_BY_RESTART)
            self._forget(entry.ticket.space_id)
            self._entries[entry.ticket.id] = entry
            self._latest[entry.ticket.space_id] = entry.ticket.id
        self._save()


class WorkerPool(TrainingLine):
    """The line in this process: each worker a thread that trains its job itself."""

    def __init__(self, workers: int | None = None, journal=None, clock: Callable[[], float] = time.time,
                 default_job_seconds: float = DEFAULT_JOB_SECONDS, cheap_workers: int | None = None):
        cheap_workers = configured_cheap_lanes() if cheap_workers is None else cheap_workers
        super().__init__(workers, journal, clock, default_job_seconds, cheap_workers)  # lanes for cheap jobs
        self.start_workers()

    def train(self, job: Job, worker: int) -> None:
        job.train_and_save()


def open_queue(workspace=None, workers: int | None = None,
               line: Callable[[int, Path, Path], TrainingLine] | None = None) -> TrainingLine:
    """The server's queue, with its journal in ``WORKSPACE/classroom/queue.json``; opened once
    per server start, after what killed processes left is cleaned up (``clean_after_killed``).
    ``line(workers, journal, workspace)`` makes it: a WorkerPool (trainings here) unless given
    (``tlcore.cluster.ray_queue.open_ray_queue``: on a Ray cluster)."""
    from .paths import workspace_root

    workspace = Path(workspace or workspace_root())
    clean_after_killed(workspace)
    workers = configured_workers() if workers is None else workers
    journal = workspace / "classroom" / "queue.json"
    if line is not None:
        return line(workers, journal, workspace)
    return WorkerPool(workers, journal=journal)


def clean_after_killed(workspace) -> list[Path]:
    """Remove what processes killed mid-work left (kill -9, a power cut): run folders they had
    claimed, in the workspace and in every space's runs folder, and their scratch folders in the
    system's temporary folder. What a live process holds is left alone. Called when the app,
    the classroom or a command that writes starts."""
    from .paths import clean_scratch
    from .runs import clean_leftovers
    from .spaces import SpaceStore

    workspace = Path(workspace)
    homes = [workspace, *(space.runs_dir for space in SpaceStore.in_workspace(workspace).spaces())]
    return clean_leftovers(*homes) + clean_scratch()
