"""The work behind a page that shows what the network sees, in a thread of its own.

    job = MapsJob(dataset, "mobilenet_v2_035", weights).start()
    job.snapshot()        # {"stage", "done", "total", "ready", "error", "running"} for a progress bar
    job.pretrained_map    # EmbeddingMap with the pretrained weights (once "pretrained" is ready)
    job.random_map        # the same network from random weights, on a sample (once "random" is ready)
    job.suspects          # pictures whose label looks wrong, then job.off_topic (once "suspects" is ready;
                          # a job that reuses another shows its list, less what changed, until then)

Stages finish in that order, so a page can draw the first map while the rest is computed.
Features go through the shared feature cache (``pooled_features``), so a map drawn before
training makes the training's extraction a cache hit, and the other way round.

A new job can ``reuse`` an older one: features are matched picture by picture (by file
hash), so after a picture is moved to another class or removed, the maps and the list are
redrawn from the features already computed, without a pass through the network.

``RunMapJob`` is the same map through a trained run's own model (after fine-tuning its
backbone has changed, so only the run can say what its head sees).

The worker never touches any UI; pages poll ``snapshot()``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import traceback

import numpy as np

from ..i18n import msg
from .embedding import EmbeddingMap, embedding_map
from .suspects import Suspect, label_suspects, off_topic_suspects

log = logging.getLogger(__name__)

# The random-weights map makes its point with a sample: 600 pictures are plenty to see the
# classes mixed, and the pass through a random network costs as much as the real one.
RANDOM_SAMPLE = 600
STAGES = ("pretrained", "random", "suspects")


class _Worker:
    """A thread that runs ``_work()``; progress, errors and the time taken, for a page to poll."""

    def __init__(self):
        self.stage, self.done, self.total = "waiting", 0, 0
        self.ready: set[str] = set()
        self.error: str | None = None
        self.details: str | None = None
        self.seconds: dict[str, float] = {}
        self._started = threading.Event()
        self._finished = threading.Event()

    def start(self):
        threading.Thread(target=self.run, name=f"tlcore-{type(self).__name__}", daemon=True).start()
        return self

    def run(self):
        """Do the work here and now (``start()`` calls this in a thread)."""
        self._started.set()
        try:
            self._work()
        except Exception as error:  # the page says what went wrong; what is ready stays ready
            reason = error.args[0] if len(error.args) == 1 else str(error)  # a Message stays one
            self.error = msg("The map could not be drawn: {reason}", reason=reason)
            self.details = "".join(traceback.format_exception(error))
            log.error("Map failed: %s", error, exc_info=error)
        finally:
            self.stage = "done"
            self._finished.set()
        return self

    def join(self, timeout: float | None = None) -> bool:
        return self._finished.wait(timeout)

    @property
    def running(self) -> bool:
        return self._started.is_set() and not self._finished.is_set()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def _progress(self, done: int, total: int) -> None:
        self.done, self.total = int(done), int(total)

    def _timed(self, stage: str, started: float) -> None:
        self.seconds[stage] = round(time.monotonic() - started, 2)
        self.ready = self.ready | {stage}  # a new set: a reader never sees one half-changed

    def snapshot(self) -> dict:
        return {"stage": self.stage, "done": self.done, "total": self.total, "ready": set(self.ready),
                "error": self.error, "running": self.running, "seconds": dict(self.seconds)}

    def _work(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class MapsJob(_Worker):
    """The pretrained map, the random-weights map and the label suspects of ``dataset``."""

    def __init__(self, dataset, backbone: str, weights: str, input_size: int | None = None, cache_dir=None,
                 reuse: "MapsJob | None" = None, random_sample: int = RANDOM_SAMPLE):
        super().__init__()
        from ..backbones.factory import check_input_size
        from ..backbones.registry import get_backbone

        self.dataset, self.backbone, self.weights = dataset, backbone, str(weights)
        self.input_size = check_input_size(get_backbone(backbone), input_size)
        self.cache_dir = cache_dir
        self.labels = np.asarray(dataset.labels).copy()
        self.class_names = list(dataset.class_names)
        self.names = list(dataset.names)
        self.hashes = tuple(dataset.file_hashes)
        self.pretrained_features: np.ndarray | None = None
        self.pretrained_map: EmbeddingMap | None = None
        self.random_rows = _sample_rows(self.labels, random_sample)
        self.random_features: np.ndarray | None = None
        self.random_map: EmbeddingMap | None = None
        self.suspects: list[Suspect] | None = None
        self.off_topic: list[Suspect] | None = None
        if reuse is not None and reuse.same_network(self):
            self._reuse(reuse)

    # -- what it is for ----------------------------------------------------------------------
    def same_network(self, other: "MapsJob") -> bool:
        return (self.backbone, self.weights, self.input_size) == (other.backbone, other.weights, other.input_size)

    def fits(self, dataset, backbone: str, weights: str, input_size: int | None) -> bool:
        """Whether this job's maps are those of ``dataset`` (same pictures, same labels) with this network."""
        from ..backbones.factory import check_input_size
        from ..backbones.registry import get_backbone

        return ((self.backbone, self.weights) == (backbone, str(weights))
                and self.input_size == check_input_size(get_backbone(backbone), input_size)
                and self.hashes == tuple(dataset.file_hashes) and self.class_names == list(dataset.class_names)
                and np.array_equal(self.labels, dataset.labels))

    # -- the work ----------------------------------------------------------------------------
    def _work(self) -> None:
        from .features import pooled_features

        if "pretrained" not in self.ready:
            started, self.stage = time.monotonic(), "pretrained"
            self.pretrained_features = np.asarray(pooled_features(
                self.dataset, self.backbone, self.weights, self.input_size, self.cache_dir, self._progress))
            self.pretrained_map = embedding_map(self.pretrained_features, self.labels)
            self._timed("pretrained", started)
        if "random" not in self.ready:
            started, self.stage = time.monotonic(), "random"
            sample = self.dataset.subset(self.random_rows) if len(self.random_rows) < len(self.labels) else self.dataset
            self.random_features = np.asarray(pooled_features(
                sample, self.backbone, "none", self.input_size, self.cache_dir, self._progress))
            self.random_map = embedding_map(self.random_features, self.labels[self.random_rows])
            self._timed("random", started)
        if "suspects" not in self.ready:
            started, self.stage = time.monotonic(), "suspects"
            self.suspects, self.off_topic = _suspects(self.pretrained_features, self.labels, self.class_names)
            self._timed("suspects", started)

    def _reuse(self, old: "MapsJob") -> None:
        """Take the features ``old`` already has for these pictures (matched by file hash); redraw
        the maps at once with this set's labels. The suspects are left to the thread."""
        position = {h: i for i, h in enumerate(old.hashes)}
        rows = [position.get(h) for h in self.hashes]
        if old.pretrained_features is not None and None not in rows:
            self.pretrained_features = old.pretrained_features[rows]
            self.pretrained_map = embedding_map(self.pretrained_features, self.labels)
            self.ready = self.ready | {"pretrained"}
        if old.random_features is not None:
            sampled = {old.hashes[r]: k for k, r in enumerate(old.random_rows)}
            kept = [(i, sampled[h]) for i, h in enumerate(self.hashes) if h in sampled]
            if len(kept) >= 2:
                self.random_rows = np.array([i for i, _ in kept], dtype=np.int64)
                self.random_features = old.random_features[[k for _, k in kept]]
                self.random_map = embedding_map(self.random_features, self.labels[self.random_rows])
                self.ready = self.ready | {"random"}
        if old.suspects is not None:  # shown until the thread has checked the labels again
            self.suspects, self.off_topic = self._carried(old, old.suspects), self._carried(old, old.off_topic or [])

    def _carried(self, old: "MapsJob", suspects: list[Suspect]) -> list[Suspect]:
        """``old``'s suspects still in this set and still in the class they were in (a moved or
        removed picture leaves the list at once), at their places in this set."""
        position = {h: i for i, h in enumerate(self.hashes)}
        kept = []
        for suspect in suspects:
            index = position.get(old.hashes[suspect.index])
            if index is not None and self.class_names[self.labels[index]] == suspect.given:
                kept.append(dataclasses.replace(suspect, index=index))
        return kept


class RunMapJob(_Worker):
    """The map of ``dataset`` at a trained run's head input (its own, possibly fine-tuned, network)."""

    def __init__(self, run, dataset):
        super().__init__()
        self.run_path = str(run.path) if getattr(run, "path", None) else None
        self._run, self.dataset = run, dataset
        self.labels = np.asarray(dataset.labels).copy()
        self.hashes = tuple(dataset.file_hashes)
        self.map: EmbeddingMap | None = None

    def fits(self, run, dataset) -> bool:
        return (self.run_path == (str(run.path) if getattr(run, "path", None) else None)
                and self.hashes == tuple(dataset.file_hashes) and np.array_equal(self.labels, dataset.labels))

    def _work(self) -> None:
        from .features import run_features

        started, self.stage = time.monotonic(), "run"
        pixels = self.dataset.pixels(self._run.input_size)
        features = run_features(self._run, pixels, on_batch=self._progress)
        self.map = embedding_map(features, self.labels)
        self._timed("run", started)


def _sample_rows(labels: np.ndarray, at_most: int, seed: int = 0) -> np.ndarray:
    """All rows, or a seeded sample of ``at_most`` keeping each class's share (sorted)."""
    if len(labels) <= at_most:
        return np.arange(len(labels), dtype=np.int64)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        share = max(2, round(at_most * len(members) / len(labels)))
        chosen.append(rng.permutation(members)[:share])
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def _suspects(features, labels, class_names) -> tuple[list[Suspect], list[Suspect]]:
    """(mislabelled, off-topic) suspects, or two empty lists where a class is too small to check."""
    try:
        return label_suspects(features, labels, class_names), off_topic_suspects(features, labels, class_names)
    except ValueError as error:  # e.g. a class of one picture: nothing to compare it with
        log.info("No label check: %s", error)
        return [], []


__all__ = ["MapsJob", "RANDOM_SAMPLE", "RunMapJob", "STAGES"]
