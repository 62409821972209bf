"""The training line on a Ray cluster: the same line, its trainings run by Ray actors.

``RayQueue`` keeps the line exactly as ``WorkerPool`` does (the order, one job per space, the
estimates, the journal, Stop, cancel, replace, what a restart reports: ``TrainingLine``); only
where a job trains differs. Each of the line's ``workers`` is a Ray actor (``TrainingWorker``,
in worker.py) that keeps TensorFlow, the weights and the feature cache warm between
trainings, asks the cluster for a share of its CPU cores, and for a GPU where it has one. A
worker of the line waits for its actor; the server's own cores stay for the pages.

A training goes to an actor as a ``RemoteTrainingJob``: to pages, a TrainingJob like any other
(settings, pictures, ``snapshot()``, then the run or the error), whose progress is the actor's,
asked every ``POLL_SECONDS`` by the line (however many pages look), and whose Stop is sent to
the actor. What travels with it, and how the run comes back into the student's space: see
parcel.py. An experiment (a grid of trainings) still runs in the server, in its place in line.

A worker whose process dies (killed, out of memory, its computer gone) costs its job nothing
else: the job starts again once on a new actor; if that dies too, the student is told their
training was interrupted, in those words. The server stays up.

The cluster (``TLCORE_CLUSTER``, set by ``tlcore classroom --cluster``): ``ray://HOST:10001``
joins a school's cluster through Ray Client; ``local`` uses this computer. `tlcore classroom`
starts that local cluster in a process of its own (``LocalCluster``: its own session, so a
Ctrl+C in the terminal reaches the server, which saves, and not Ray's processes, which would
end mid-training), and stops it after the server. Without it (tests) the queue starts one
itself, which ends with the process.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..jobs import TrainingJob
from ..queue import SHUTDOWN_SECONDS, TrainingLine, open_queue
from .parcel import Outcome, Parcel, receive_run
from .worker import TrainingWorker

log = logging.getLogger(__name__)

CLUSTER_ENV = "TLCORE_CLUSTER"  # "local" or ray://HOST:10001 (tlcore classroom --cluster)
CLUSTER_ADDRESS_ENV = "TLCORE_CLUSTER_ADDRESS"  # where the local cluster `tlcore classroom` started listens
WORKER_CPUS_ENV = "TLCORE_WORKER_CPUS"  # the CPU cores each worker asks for (default: a fair share)
LOCAL = "local"
NAMESPACE = "tlcore-classroom"
POLL_SECONDS = 0.5  # a running job's progress is asked this often, whatever the number of pages
READY_SECONDS = 300.0  # a new worker has this long to start (TensorFlow loads on a busy computer)
ACTOR_CALLS = 4  # a worker answers snapshot() and stop() while train() runs
# The server's process, a Ray driver, keeps its own signal handlers: Ray's would end it at once on
# SIGTERM, before its trainings are stopped and saved (tlcore/stopping.py).
# Ray sends usage statistics to its makers unless told not to: nothing of a class leaves the school.
DRIVER_ENVIRONMENT = {"RAY_DISABLE_FAILURE_SIGNAL_HANDLER": "1", "RAY_USAGE_STATS_ENABLED": "0"}

WORKER_LOST = ("Your training was interrupted: the computer training it stopped working, twice. Nothing "
               "else was lost; start it again.")
WORKER_LOST_STOPPING = ("Your training was interrupted: the computer training it stopped working before "
                        "it saved what it had learned. Start it again.")


class ClusterUnavailable(RuntimeError):
    """The cluster cannot take trainings now; the message says so in plain words."""


def cluster_address() -> str | None:
    """What `tlcore classroom --cluster` chose ($TLCORE_CLUSTER), or None: trainings run here."""
    return os.environ.get(CLUSTER_ENV, "").strip() or None


def configured_worker_cpus() -> int | None:
    """$TLCORE_WORKER_CPUS: the CPU cores each worker asks the cluster for (None: a fair share)."""
    text = os.environ.get(WORKER_CPUS_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{WORKER_CPUS_ENV} must be a whole number of CPU cores, 1 or more; got {text!r}.")
    return int(text)


def check_cluster_address(address: str) -> str:
    """``local`` or ``ray://HOST:PORT``, else ValueError saying what to give."""
    text = str(address).strip()
    if text == LOCAL or (text.startswith("ray://") and len(text) > len("ray://")):
        return text
    raise ValueError(f"--cluster takes `local` (a Ray cluster on this computer) or the address of a Ray "
                     f"cluster's head, like ray://192.168.1.30:10001; got {address!r}.")


def ray_missing() -> str | None:
    """Why Ray cannot be used here (not installed), in words that say what to do; None if it can."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return ('Ray is not installed: install the cluster extra (pip install -e ".[cluster]") on this '
                "computer and on every computer of the cluster.")
    return None


# -- a job trained by an actor ------------------------------------------------------------------
class RemoteTrainingJob(TrainingJob):
    """A TrainingJob that a Ray worker trains. Pages read it as any TrainingJob: ``settings``,
    ``dataset``, ``snapshot()``, then ``run`` or ``error``; the training, its progress and its
    run are the worker's.

    Made from the ``TrainingJob`` a page built and checked (not through TrainingJob.__init__:
    nothing is trained here, so no Trainer is needed)."""

    def __init__(self, job: TrainingJob):
        self.local = job  # keeps what the page tied to it alive (its session's work folder)
        self.settings, self.dataset, self.workspace = job.settings, job.dataset, job.workspace
        self.name, self.dataset_name = job.name, job.dataset_name
        self.id = secrets.token_hex(8)
        self.run_folder = self.run = self.error = self.exception = self.details = None
        self.interrupted = False  # the line says "interrupted", not "failed"
        self._snapshot = job.snapshot()
        self._lock = threading.Lock()
        self._started, self._done = threading.Event(), threading.Event()
        self._stop_asked = False
        self._worker = None  # the actor training it now
        self.worker: dict | None = None  # where it trains: {"pid", "host", "gpus"}

    # -- what pages read -------------------------------------------------------------------------
    def snapshot(self) -> dict:
        """The worker's last progress (asked by the line, not by this call: pages poll cheaply)."""
        with self._lock:
            state = dict(self._snapshot)
        state.update(running=self.running, error=self.error,
                     run_path=str(self.run.path) if self.run is not None and self.run.path else None)
        return state

    def stop(self) -> None:
        with self._lock:
            self._stop_asked, worker = True, self._worker
        if worker is not None:
            worker.stop.remote(self.id)  # answered at once; the training ends at its next step

    @property
    def stop_asked(self) -> bool:
        return self._stop_asked

    @property
    def learned_something(self) -> bool:
        return bool(self._snapshot.get("history", {}).get("loss"))

    def train_and_save(self):
        raise RuntimeError("A RemoteTrainingJob trains on a Ray worker: put it in a RayQueue.")

    def save_again(self):
        return self.run  # the worker saved it, or sent it back; nothing is kept here to save

    # -- what the line does ------------------------------------------------------------------------
    def train_on(self, worker, shared: Path | None, where: dict | None = None) -> None:
        """Send the job to ``worker`` (an actor that sees the folder ``shared`` as this server does,
        or None; it runs ``where``) and follow it until it ends. RayActorError if the worker dies."""
        import ray

        self._started.set()
        parcel = Parcel.of(self, self.id, shared)
        with self._lock:
            self._worker, self.worker, stop = worker, where, self._stop_asked
        if stop:
            worker.stop.remote(self.id)
        done = worker.train.remote(parcel)
        del parcel  # its pictures are in the object store now
        while not ray.wait([done], timeout=POLL_SECONDS)[0]:
            try:
                self._follow(ray.get(worker.snapshot.remote(self.id), timeout=READY_SECONDS))
            except ray.exceptions.GetTimeoutError:  # a worker too busy to answer: no news yet
                continue
        self._take(ray.get(done))

    def worker_lost(self) -> None:
        """Its worker died: what it had claimed goes, and its progress starts again."""
        from ..runs import release

        folder = self._snapshot.get("run_folder")
        if folder and Path(folder).parent == Path(self.workspace):
            release(folder)  # claimed, never written: the dead worker cannot finish it
        with self._lock:
            self._worker = self.worker = None
            self._snapshot = self.local.snapshot()

    def end(self, error: str | None = None, interrupted: bool = False) -> None:
        """Over: ``error`` (words for the student), or what the worker said (``train_on``)."""
        if error:
            self.error, self.interrupted = error, interrupted
        self._done.set()

    # -- inside --------------------------------------------------------------------------------------
    def _follow(self, state: dict | None) -> None:
        if state:
            with self._lock:
                self._snapshot = state

    def _take(self, outcome: Outcome) -> None:
        from ..backbones import get_backbone
        from ..backbones.download import WeightsDownloadError
        from ..runs import RunSaveError, load_run

        self._follow(outcome.snapshot)
        self.error, self.details = outcome.error, outcome.details
        if outcome.weights_missing:  # the Train page offers its ways out
            self.exception = WeightsDownloadError(get_backbone(self.settings.backbone), outcome.error or "")
        elif outcome.error:
            self.exception = RuntimeError(outcome.error)
        try:
            if outcome.run_files is not None:
                folder = receive_run(outcome.run_files, self.workspace, self.settings.backbone)
            else:
                folder = outcome.run_path
            self.run = load_run(folder) if folder else None
        except (RunSaveError, OSError, ValueError) as error:
            log.error("The run a worker sent back could not be kept: %s", error)
            self.exception = self.exception or error
            self.error = f"{self.error} {error}" if self.error else str(error)


# -- the cluster's workers -------------------------------------------------------------------------
class RayWorkers:
    """One Ray actor per worker of the line, started as soon as the cluster is reached (each
    loads TensorFlow meanwhile), and again after one dies. ``address``: see cluster_address()."""

    def __init__(self, address: str, count: int, workspace, environment: dict[str, str] | None = None,
                 cpus: int | None = None):
        self.address, self.count, self.workspace = check_cluster_address(address), int(count), Path(workspace)
        self.environment, self.cpus = dict(environment or {}), cpus
        self._actors: list = [None] * self.count
        self._shared: list[Path | None] = [None] * self.count
        self._where: list[dict | None] = [None] * self.count
        self._ready = [False] * self.count
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._problem: str | None = None
        self._joined = False  # this process connected (else Ray was connected already: a test's cluster)
        self._probe: tuple[Path, str] | None = None
        self._options: dict = {}

    def connect(self) -> None:
        """Reach the cluster and start every worker (not waiting for them); in a thread of its own."""
        try:
            self._joined = _connect(self.address)
            import ray

            self._options = self._actor_options(ray.cluster_resources(), [node["Resources"] for node in ray.nodes()
                                                                            if node.get("Alive")])
            self._probe = self._write_probe()
            with self._lock:
                for slot in range(self.count):
                    self._actors[slot] = self._new_actor()
        except Exception as error:  # no Ray, no cluster at that address: every job is told so
            log.error("The Ray cluster %s cannot be used: %s", self.address, error)
            self._problem = (f"The training computers (the Ray cluster at {self.address}) cannot be reached, "
                             "so your training did not start. Tell your teacher.")
        finally:
            self._connected.set()

    def get(self, slot: int):
        """(actor, the folder it shares with this server or None, where it runs) once it is ready;
        ClusterUnavailable if there is no cluster, or no room in it."""
        import ray

        self._connected.wait()
        if self._problem:
            raise ClusterUnavailable(self._problem)
        with self._lock:
            if self._actors[slot] is None:
                self._actors[slot], self._ready[slot] = self._new_actor(), False
            actor, ready = self._actors[slot], self._ready[slot]
        if not ready:
            try:
                where = ray.get(actor.ready.remote(), timeout=READY_SECONDS)
                path, token = self._probe
                shared = self.workspace if ray.get(actor.sees.remote(str(path), token)) else None
            except ray.exceptions.GetTimeoutError:
                self.lost(slot)
                raise ClusterUnavailable(self._no_room()) from None
            log.info("Training worker %d ready: process %s on %s, GPUs %s; %s", slot + 1, where["pid"],
                     where["host"], where["gpus"] or "none",
                     "it shares the workspace" if shared else "pictures and runs travel with each job")
            with self._lock:
                self._shared[slot], self._where[slot], self._ready[slot] = shared, where, True
        return actor, self._shared[slot], self._where[slot]

    def shares_workspace(self, slot: int) -> bool:
        """Whether the worker of ``slot`` reads the pictures from, and saves runs in, the workspace."""
        return self._ready[slot] and self._shared[slot] is not None

    def lost(self, slot: int) -> None:
        """The actor of ``slot`` died (or never started): the next job there gets a new one."""
        import ray

        with self._lock:
            actor, self._actors[slot], self._ready[slot] = self._actors[slot], None, False
        if actor is not None:
            try:
                ray.kill(actor)
            except Exception:  # already gone
                pass

    def close(self) -> None:
        """End every worker, and the cluster too if this process started it."""
        if not self._connected.is_set():
            return
        import ray

        for slot in range(self.count):
            self.lost(slot)
        if self._probe:
            self._probe[0].unlink(missing_ok=True)
        if self._joined and ray.is_initialized():
            ray.shutdown()  # a cluster this process started ends; one it joined goes on without it

    # -- inside --------------------------------------------------------------------------------------
    def _actor_options(self, resources: dict, nodes: list[dict]) -> dict:
        cpus, gpus = worker_resources(resources, nodes, self.count, self.cpus)
        environment = {"TF_CPP_MIN_LOG_LEVEL": "2", **self.environment}
        return {"num_cpus": cpus, "num_gpus": gpus, "max_concurrency": ACTOR_CALLS, "max_restarts": 0,
                "runtime_env": {"env_vars": environment}, "_threads": cpus}

    def _new_actor(self):
        import ray

        options = dict(self._options)
        threads = options.pop("_threads")
        return ray.remote(TrainingWorker).options(**options).remote(threads)

    def _write_probe(self) -> tuple[Path, str]:
        path = self.workspace / "classroom" / f".cluster-probe-{os.getpid()}"
        token = secrets.token_hex(16)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(token, encoding="utf-8")
        return path, token

    def _no_room(self) -> str:
        gpus = self._options.get("num_gpus") or 0
        asks = f"{self._options.get('num_cpus')} CPU cores" + (f" and {gpus:g} GPU" if gpus else "")
        return (f"No training computer of the cluster took your training within {READY_SECONDS / 60:.0f} "
                f"minutes (each worker asks for {asks}). Tell your teacher: start the classroom with fewer "
                "--workers, or add computers to the cluster.")


def worker_resources(cluster: dict, computers: list[dict], workers: int, cpus: int | None = None) -> tuple[int, float]:
    """(CPU cores, GPUs) each of ``workers`` asks for, given the ``cluster``'s resources and each of its
    ``computers``' (Ray's): a GPU, or an equal share of one, where the cluster has them, and one core
    to feed it; else an equal share of the cores, at most as many as its biggest computer has.
    ``cpus``: the cores, chosen ($TLCORE_WORKER_CPUS)."""
    gpus = min(1.0, cluster.get("GPU", 0) / workers)
    biggest = max((computer.get("CPU", 0) for computer in computers), default=cluster.get("CPU", 1))
    return cpus or (1 if gpus else max(1, int(min(cluster.get("CPU", 1) // workers, biggest)))), gpus


def _connect(address: str) -> bool:
    """Connect this process to the cluster (starting it, for a ``local`` one no `tlcore classroom`
    started); False if it was connected already."""
    starts = address == LOCAL and not os.environ.get(CLUSTER_ADDRESS_ENV)
    if "ray" not in sys.modules:  # Ray reads these when it is imported
        os.environ.update({**DRIVER_ENVIRONMENT, **(local_cluster_environment() if starts else {})})
    import ray

    if ray.is_initialized():
        return False
    quiet = logging.getLogger("ray._private.worker")  # "SIGTERM handler is not set...": ours is
    level, quiet.level = quiet.level, logging.ERROR
    try:
        if starts:
            ray.init(address="local", num_cpus=os.cpu_count() or 1, include_dashboard=False,
                     configure_logging=False, namespace=NAMESPACE)
        else:
            ray.init(address=os.environ.get(CLUSTER_ADDRESS_ENV) if address == LOCAL else address,
                     configure_logging=False, namespace=NAMESPACE)
    finally:
        quiet.setLevel(level)
    return True


def local_cluster_environment() -> dict[str, str]:
    """Ray's token authentication for a cluster on this computer, with a token of its own (Ray
    would otherwise write one in the home folder): only processes given it can use the cluster."""
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": os.environ.get("RAY_AUTH_TOKEN") or secrets.token_hex(32),
            "RAY_USAGE_STATS_ENABLED": "0"}


def worker_environment(address: str) -> dict[str, str]:
    """What workers need from the server's environment: the school's weights server. On another
    computer a worker never downloads weights from the internet (TLCORE_WEIGHTS_URL only)."""
    from ..backbones.download import MIRROR_ENV, PUBLIC_ENV

    environment = {name: os.environ[name] for name in (MIRROR_ENV, PUBLIC_ENV) if os.environ.get(name)}
    if address != LOCAL:
        environment[PUBLIC_ENV] = "off"
    return environment


# -- the line ----------------------------------------------------------------------------------------
def open_ray_queue(address: str, workspace=None, workers: int | None = None) -> "RayQueue":
    """``open_queue`` (the server's journal, what killed processes left cleaned up), its trainings
    on the Ray cluster at ``address``, each worker asking for $TLCORE_WORKER_CPUS cores if set."""
    cpus = configured_worker_cpus()
    return open_queue(workspace, workers, lambda count, journal, folder: RayQueue(
        address, count, journal, folder, worker_cpus=cpus))


class RayQueue(TrainingLine):
    """The server's training line, its trainings run by Ray actors (see the module's docstring).

    ``address``: ``local`` or ``ray://HOST:PORT``; ``workers``: actors, trainings at once;
    ``worker_cpus``: the CPU cores each asks for (default: a fair share of the cluster's)."""

    def __init__(self, address: str, workers: int | None = None, journal=None, workspace=None,
                 clock=time.time, worker_cpus: int | None = None, **line_options):
        from ..paths import workspace_root

        super().__init__(workers, journal, clock, **line_options)
        self.address = check_cluster_address(address)
        self.cluster = RayWorkers(self.address, self.workers, Path(workspace or workspace_root()),
                                  worker_environment(self.address), worker_cpus)
        threading.Thread(target=self.cluster.connect, name="tlcore-ray-connect", daemon=True).start()
        self.start_workers()

    def submit(self, space_id, job, replace=False, label=""):
        if isinstance(job, TrainingJob) and not isinstance(job, RemoteTrainingJob):
            job = RemoteTrainingJob(job)
        return super().submit(space_id, job, replace, label)

    def shutdown(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        super().shutdown(timeout)  # running jobs stop, and their workers save what they learned
        self.cluster.close()

    def train(self, job, worker: int) -> None:
        """Train ``job`` on the actor of ``worker``: once more on a new actor if it dies."""
        if not isinstance(job, RemoteTrainingJob):
            job.train_and_save()  # an experiment: here, in its place in line
            return
        try:
            error, interrupted = self._train_on_cluster(job, worker)
        except Exception as problem:  # the line says so too (failed, in these words)
            job.end(f"Training stopped because of an error: {problem}")
            raise
        job.end(error, interrupted)

    def _train_on_cluster(self, job: RemoteTrainingJob, worker: int) -> tuple[str | None, bool]:
        """(what went wrong in words or None, whether the job was interrupted by its worker's death)."""
        import ray

        try:
            for attempt in (1, 2):
                try:
                    job.train_on(*self.cluster.get(worker))
                    return None, False
                except ray.exceptions.RayActorError as death:
                    log.warning("Training worker %d ended during a training (%s).", worker + 1,
                                str(death).splitlines()[0])
                    self.cluster.lost(worker)
                    job.worker_lost()
                    if job.stop_asked or self.closing:
                        return WORKER_LOST_STOPPING, True
                    if attempt == 2:
                        return WORKER_LOST, True
                    log.warning("The training starts again on a new worker.")
        except ClusterUnavailable as unavailable:
            return str(unavailable), False
        except ray.exceptions.RayError as error:  # the cluster went away; an error inside the worker
            log.error("A training on the Ray cluster failed: %s", error)
            return (f"Training stopped because of an error on the training computers: "
                    f"{str(error).splitlines()[0]}"), False
        return None, False


# -- a cluster on this computer, for `tlcore classroom --cluster local` -------------------------------
class LocalCluster:
    """A Ray cluster on this computer, in a process of its own (``python -m tlcore.cluster.ray_queue``)
    and a session of its own: a Ctrl+C in the terminal goes to the classroom, which stops its
    trainings and saves, and not to Ray's processes. It ends when ``stop()`` closes its input,
    or when the process that started it ends, however it ends (its input closes then too)."""

    def __init__(self, cpus: int | None = None, python: str = sys.executable):
        self.cpus = cpus or os.cpu_count() or 1
        self.environment = local_cluster_environment()  # the classroom's server is given it too
        self.process = subprocess.Popen([python, "-m", "tlcore.cluster.ray_queue", str(self.cpus)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                        start_new_session=True, env={**os.environ, **self.environment})
        line = self.process.stdout.readline().strip()
        if not line.startswith("address "):
            self.stop()
            raise RuntimeError("A Ray cluster could not be started on this computer; see the lines above.")
        self.address = line.split(" ", 1)[1]

    def server_environment(self) -> dict[str, str]:
        """What the classroom's server needs to join this cluster."""
        return {CLUSTER_ADDRESS_ENV: self.address, **self.environment, **DRIVER_ENVIRONMENT}

    def stop(self, timeout: float = 60) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _keep_local_cluster(cpus: int) -> None:
    """The LocalCluster process: start Ray, say where it listens, and end it when stdin closes."""
    import ray

    # "local": a new cluster, never one a stale /tmp/ray/ray_current_cluster names (left by `ray start`)
    ray.init(address="local", num_cpus=cpus, include_dashboard=False, configure_logging=False, namespace=NAMESPACE)
    print("address", ray.get_runtime_context().gcs_address, flush=True)
    sys.stdin.read()  # until the classroom closes it, or ends
    ray.shutdown()


if __name__ == "__main__":
    _keep_local_cluster(int(sys.argv[1]))
