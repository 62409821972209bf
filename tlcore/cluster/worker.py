"""A Ray worker's body: ``TrainingWorker`` keeps TensorFlow loaded between trainings and trains
the parcels the server sends (parcel.py: what travels).

No Ray here: ray_queue.py makes ``TrainingWorker`` an actor, so this also runs, and is tested,
in one process without a cluster.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

from ..paths import scratch_prefix
from .parcel import Outcome, Parcel, safe_file_name, send_run


class TrainingWorker:
    """The body of a Ray actor (ray_queue makes it one): it keeps TensorFlow loaded, the ImageNet
    weights and the feature cache on its computer's disk between trainings, trains one job at a
    time, and answers ``snapshot`` and ``stop`` while it trains (the actor runs calls in threads).

    ``threads``: the CPU cores the cluster gave it, so TensorFlow's thread pools fit them."""

    def __init__(self, threads: int | None = None):
        if threads:
            os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
            os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(min(2, threads)))
        os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")  # a GPU shared by several workers
        from .. import jobs  # noqa: F401  (TensorFlow and Keras load now, not at the first training)
        from .._tf import tf

        self.gpus = [device.name for device in tf.config.list_logical_devices("GPU")]
        self._lock = threading.Lock()
        self._job = None
        self._job_id: str | None = None
        self._stop_asked: set[str] = set()

    def ready(self) -> dict:
        """Where it runs (answers once the worker has loaded TensorFlow)."""
        return {"pid": os.getpid(), "host": socket.gethostname(), "gpus": self.gpus}

    def sees(self, path: str, token: str) -> bool:
        """Whether the file ``path`` holds ``token`` here too: the server's workspace is shared."""
        try:
            return Path(path).read_text(encoding="utf-8") == token
        except OSError:
            return False

    def snapshot(self, job_id: str) -> dict | None:
        """The job's progress, and the run folder it claimed (the server gives it back if this worker dies)."""
        with self._lock:
            job = self._job if self._job_id == job_id else None
        if job is None:
            return None
        return dict(job.snapshot(), run_folder=str(job.run_folder) if job.run_folder else None)

    def stop(self, job_id: str) -> None:
        """Stop ``job_id`` at its next step (also if it has not started here yet)."""
        with self._lock:
            self._stop_asked.add(job_id)
            if self._job is not None and self._job_id == job_id:
                self._job.stop()

    def train(self, parcel: Parcel) -> Outcome:
        """Train and save the parcel's job here; how it ended."""
        from ..backbones.weights import WeightsUnavailableError

        scratch = Path(tempfile.mkdtemp(prefix=scratch_prefix()))
        try:
            try:
                job = _job_of(parcel, scratch)
            except (ValueError, OSError) as error:  # the weights file, the runs folder, the pictures
                return Outcome({}, error=str(error))
            with self._lock:
                self._job, self._job_id = job, parcel.job_id
                if parcel.job_id in self._stop_asked:
                    job.stop()
            job.train_and_save()
            run = job.run
            return Outcome(job.snapshot(), str(run.path) if run and parcel.runs_folder else None,
                           send_run(run.path) if run and not parcel.runs_folder else None, job.error,
                           job.details, isinstance(job.exception, WeightsUnavailableError))
        finally:
            with self._lock:
                self._job = self._job_id = None
                self._stop_asked.discard(parcel.job_id)
            shutil.rmtree(scratch, ignore_errors=True)


def _job_of(parcel: Parcel, scratch: Path):
    from ..jobs import TrainingJob
    from ..settings import TrainingSettings

    settings = TrainingSettings.from_dict(parcel.settings)
    if parcel.weights_file is not None:
        name, content = parcel.weights_file
        weights = scratch / "weights" / safe_file_name(name)
        weights.parent.mkdir()
        weights.write_bytes(content)
        settings = settings.replace(weights=str(weights))
    dataset = parcel.pictures.dataset(scratch / "pictures")
    runs = Path(parcel.runs_folder) if parcel.runs_folder else scratch / "runs"
    return TrainingJob(settings, dataset, runs, name=parcel.name, dataset_name=parcel.dataset_name)
