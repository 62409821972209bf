"""One training queue for the whole server: a bounded number of workers, one job per space.

``TrainingQueue`` is the small interface pages use; ``WorkerPool`` is its in-process
implementation (threads calling ``job.train_and_save()``). A school that outgrows one machine
keeps the interface and puts another implementation behind it (docs/scaling.md).

The job protocol (what the queue needs of a job; ``tlcore.jobs.TrainingJob`` has it):

    train_and_save()    train and save, here, in the worker's thread; returns when done.
                        A training that fails sets ``error`` rather than raising; if it
                        raises anyway, the entry is marked failed with the error's words.
    stop()              ask a running job to end soon; what it learned is kept and saved.
    snapshot() -> dict  progress and history so far, safe to call from any thread.
    error               (optional attribute) None, or what went wrong, in plain words.
    kept_something      (optional attribute) whether a stopped job saved anything (a run, or
                        finished trainings of an experiment); what a shutdown tells its space.

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
``shutdown()`` (at exit) asks running jobs to stop, so what they learned is saved as a run.
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

from ._files import read_json, write_json

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED = (
    "queued", "running", "done", "failed", "cancelled", "interrupted")
STATES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED, INTERRUPTED)
ACTIVE = (QUEUED, RUNNING)
JOURNAL_FORMAT = 1
DEFAULT_JOB_SECONDS = 120.0  # until a job has finished here, a guess for how long one takes
RECENT_JOBS = 10  # estimates use the mean duration of this many last finished jobs
MAX_WORKERS = 64

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
    def submit(self, space_id: str, job: Job, replace: bool = False, label: str = "",
               estimate_seconds: float | None = None) -> Ticket:
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


class WorkerPool(TrainingQueue):
    """The queue in this process: ``workers`` threads, each running one job at a time.

    ``journal``: the file that lets a restarted server say which jobs were interrupted
    (``open_queue`` puts it in the workspace); None keeps everything in memory."""

    def __init__(self, workers: int | None = None, journal=None, clock: Callable[[], float] = time.time,
                 default_job_seconds: float = DEFAULT_JOB_SECONDS):
        self.workers = default_workers() if workers is None else int(workers)
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ValueError(f"workers must be a whole number from 1 to {MAX_WORKERS}; got {workers!r}.")
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
        self._threads = [threading.Thread(target=self._work, name=f"tlcore-queue-{n + 1}", daemon=True)
                         for n in range(self.workers)]
        for thread in self._threads:
            thread.start()

    # -- asking --------------------------------------------------------------------------------
    def submit(self, space_id, job, replace=False, label="", estimate_seconds=None) -> Ticket:
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
            self._entries[ticket.id] = _Entry(ticket, job, label=str(label), estimate=estimate_seconds)
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

    def shutdown(self, timeout: float = 30) -> None:
        with self._changed:
            self._closing = True
            running = [e for e in self._entries.values() if e.state == RUNNING]
            while self._waiting:
                self._end(self._entries[self._waiting.popleft()], INTERRUPTED, STOPPED_WHILE_QUEUED)
            for entry in running:
                entry.cancel_requested = True
                entry.error = STOPPED_WHILE_RUNNING
            self._save()
            self._changed.notify_all()
        for entry in running:
            entry.job.stop()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- the workers ---------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            with self._changed:
                while not self._closing and (self._paused or not self._waiting):
                    self._changed.wait()
                if self._closing:
                    return
                entry = self._entries[self._waiting.popleft()]
                entry.state, entry.started = RUNNING, self._clock()
                self._save()
            error = None
            try:
                entry.job.train_and_save()
            except Exception as problem:  # a job that breaks the protocol still ends its entry
                log.exception("A queued training failed")
                error = f"Training stopped because of an error: {problem}"
            with self._changed:
                self._finished(entry, error or getattr(entry.job, "error", None))
                self._changed.notify_all()

    def _finished(self, entry: _Entry, error: str | None) -> None:
        if self._closing and entry.error == STOPPED_WHILE_RUNNING:
            kept = getattr(entry.job, "kept_something", False)
            self._end(entry, INTERRUPTED, STOPPED_WHILE_RUNNING if kept else STOPPED_BEFORE_LEARNING, keep_job=True)
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

    def _expected_seconds(self, entry: _Entry) -> float:
        if entry.estimate is not None:
            return float(entry.estimate)
        return sum(self._durations) / len(self._durations) if self._durations else self.default_job_seconds

    def _start_times(self) -> dict[str, float]:
        """When each queued job should start: the line played forward over the workers."""
        if self._paused:
            return {}
        now = self._clock()
        free_at = sorted(max(now, e.started + self._expected_seconds(e))
                         for e in self._entries.values() if e.state == RUNNING)
        free_at += [now] * (self.workers - len(free_at))
        starts = {}
        for ticket_id in self._waiting:
            free_at.sort()
            starts[ticket_id] = free_at[0]
            free_at[0] += self._expected_seconds(self._entries[ticket_id])
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
                    "error": e.error} for e in self._entries.values()]
        try:
            write_json(self.journal, {"format": JOURNAL_FORMAT, "entries": entries})
        except OSError as error:  # training goes on; only the after-restart report is at risk
            log.error("The training queue's journal %s could not be written: %s", self.journal, error)

    def _load_journal(self) -> None:
        """The previous server's entries: queued or running ones become interrupted."""
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
            if entry.state in ACTIVE or entry.state not in STATES:
                self._end(entry, INTERRUPTED, INTERRUPTED_BY_RESTART)
            self._forget(entry.ticket.space_id)
            self._entries[entry.ticket.id] = entry
            self._latest[entry.ticket.space_id] = entry.ticket.id
        self._save()


def open_queue(workspace=None, workers: int | None = None) -> WorkerPool:
    """The server's queue, with its journal in ``WORKSPACE/classroom/queue.json``."""
    from ..paths import workspace_root

    journal = Path(workspace or workspace_root()) / "classroom" / "queue.json"
    return WorkerPool(configured_workers() if workers is None else workers, journal=journal)
