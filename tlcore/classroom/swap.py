"""The swap test: every group's model tried on every other group's held-back pictures.

A row per model (each group's chosen run, else its latest), a column per picture set (the
validation pictures that run kept in its folder); each cell the share of that set's pictures the
model got right, counting only the classes both share (names matched with case and spaces
ignored). A set with no class the model knows gives None.

Fast enough for 30 groups on 2 cores: a model whose frozen part is the shared pretrained network
(only its head learned) needs only that network's features of a picture, which are computed once
per picture and kept in the picture's own space (``cache/swap-<network>.npz``, keyed by the
picture file's hash: erased with the space); each cell is then one small matrix product with the
model's head. A model that fine-tuned blocks runs whole on every set (its features are its own).

The grid is saved in ``WORKSPACE/classroom/swap.json`` for the Teacher page and ``class-report``.
A new grid keeps the saved one's cells whose model and pictures are unchanged: when one group
trains again, only its row and column are worked out. The Teacher page runs it in the class's
``SwapWorker`` (a background thread at a lower CPU priority, one run at a time) and polls it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files import read_json, write_json
from ..spaces import STATE_FILE, STUDENT, SpaceStore, name_key
from .report import SWAP_FILE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Group:
    """One group's model (a run) and the held-back pictures it kept."""

    name: str
    space_folder: Path
    run: object  # tlcore.runs.Run

    @property
    def pictures(self) -> tuple[list[Path], list[str]]:
        files, _, labels = self.run.validation_set()
        return files, labels


@dataclass
class SwapGrid:
    names: list[str]
    accuracy: list[list[float | None]]  # [model][picture set]
    pictures: list[list[int]]  # how many pictures each cell counted
    wrong: list[list[list[str]]] = field(default_factory=list)  # [model][set]: the files it got wrong
    runs: list[str] = field(default_factory=list)  # each group's run folder
    computed: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))

    def to_dict(self) -> dict:
        return {"names": self.names, "accuracy": self.accuracy, "pictures": self.pictures, "wrong": self.wrong,
                "runs": self.runs, "computed": self.computed}

    def on_others(self) -> list[float | None]:
        """Each model's mean accuracy on the other groups' sets (None where it has none)."""
        means = []
        for i, row in enumerate(self.accuracy):
            values = [value for j, value in enumerate(row) if j != i and value is not None]
            means.append(float(np.mean(values)) if values else None)
        return means

    def on_own(self) -> list[float | None]:
        return [row[i] for i, row in enumerate(self.accuracy)]


def class_groups(store: SpaceStore) -> list[Group]:
    """Each student space with a run that kept validation pictures: its chosen run, else its latest."""
    from ..runs import list_runs

    groups = []
    for space in store.spaces():
        if space.kind != STUDENT or not space.runs_dir.is_dir():
            continue
        runs = [run for run in list_runs(space.runs_dir) if run.record.validation and not run.record.failed]
        if not runs:
            continue
        chosen = store.state(space.id).selected_run
        run = next((r for r in runs if r.path.name == chosen), None) or max(runs, key=lambda r: r.record.created)
        groups.append(Group(space.name, space.folder, run))
    return groups


FEATURES, MODELS = "features", "models"  # the two stages ``on_progress`` reports


class SwapCancelled(Exception):
    """The swap test was cancelled (``should_stop``) before it ended: nothing was saved."""


def swap_test(groups: list[Group], on_progress=None, previous: SwapGrid | None = None,
              should_stop=None) -> SwapGrid:
    """The grid for ``groups`` (see the module's doc).

    ``previous``: a grid made before; its cells whose model and picture set are both unchanged
    (same group, same run) are kept, so a group that trained again costs only its row and column.
    ``on_progress(done, total, stage)`` after each step: first each picture set the shared network
    looks at (FEATURES, kept per picture, so a set seen before is read back), then each model
    (MODELS). ``should_stop()`` is asked before each step: True raises SwapCancelled."""
    sets = [group.pictures for group in groups]
    kept = _kept_cells(previous, groups)
    todo = {i: [j for j in range(len(groups)) if (i, j) not in kept] for i in range(len(groups))}
    todo = {i: columns for i, columns in todo.items() if columns}
    needed: dict[tuple[int, str], object] = {}  # (set, network) -> a run of that network
    for i, columns in todo.items():
        if _head_only(groups[i].run):
            for j in columns:
                needed.setdefault((j, _network_key(groups[i].run)), groups[i].run)
    total, done = len(needed) + len(todo), 0
    shared: dict[tuple[int, str], np.ndarray] = {}
    for (j, key), run in needed.items():
        _check(should_stop)
        shared[(j, key)] = _shared_features(run, sets[j][0], Path(groups[j].space_folder) / "cache")
        done += 1
        if on_progress:
            on_progress(done, total, FEATURES)
    grid = SwapGrid([g.name for g in groups], [], [], [], [str(g.run.path.name) for g in groups])
    for i, group in enumerate(groups):
        if i in todo:
            _check(should_stop)
        head = _head_weights(group.run) if i in todo and _head_only(group.run) else None
        cells = [kept.get((i, j)) or _cell(group.run, head, sets[j], groups[j].space_folder,
                                           shared.get((j, _network_key(group.run))))
                 for j in range(len(groups))]
        grid.accuracy.append([c[0] for c in cells])
        grid.pictures.append([c[1] for c in cells])
        grid.wrong.append([c[2] for c in cells])
        if i in todo:
            done += 1
            if on_progress:
                on_progress(done, total, MODELS)
    return grid


def _check(should_stop) -> None:
    if should_stop is not None and should_stop():
        raise SwapCancelled("The swap test was cancelled.")


def _head_only(run) -> bool:
    """Whether only the model's head learned (its frozen part is the shared pretrained network)."""
    return not (run.record.learning_blocks or run.record.from_scratch)


def _cell(run, head, pictures, owner_folder, features) -> tuple[float | None, int, list[str]]:
    """One model on one group's set: (accuracy, pictures counted, the files it got wrong)."""
    files, labels = pictures
    known = {name_key(name): index for index, name in enumerate(run.class_names)}
    chosen = [(n, known[name_key(label)]) for n, label in enumerate(labels) if name_key(label) in known]
    if not chosen:
        return None, 0, []
    if head is None:  # its frozen part is its own: run it whole
        from ..data.imagefile import load_picture

        probabilities = run.predict_pixels(np.stack([load_picture(files[n], run.input_size) for n, _ in chosen]))
    else:
        probabilities = _softmax(features[[n for n, _ in chosen]] @ head[0] + head[1])
    right = probabilities.argmax(axis=1) == np.array([label for _, label in chosen])
    wrong = [str(Path(files[n]).relative_to(owner_folder)) for (n, _), ok in zip(chosen, right) if not ok]
    return float(np.mean(right)), len(chosen), wrong


def _kept_cells(previous: SwapGrid | None, groups: list[Group]) -> dict:
    """(model, set) -> (accuracy, pictures, wrong) from ``previous`` where both groups kept their run."""
    if previous is None or not previous.wrong or len(previous.runs) != len(previous.names):
        return {}
    where = {(name, run): k for k, (name, run) in enumerate(zip(previous.names, previous.runs))}
    index = [where.get((g.name, str(g.run.path.name))) for g in groups]
    kept = {}
    try:
        for i, a in enumerate(index):
            for j, b in enumerate(index):
                if a is not None and b is not None:
                    kept[(i, j)] = (previous.accuracy[a][b], int(previous.pictures[a][b]), list(previous.wrong[a][b]))
    except (IndexError, TypeError, ValueError):  # a damaged file: everything is worked out again
        return {}
    return kept


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


def _head_weights(run) -> tuple[np.ndarray, np.ndarray]:
    """The head's (kernel, bias): read from the model file's weights alone when its one Dense layer is
    the head (no network is built: a second instead of several), else from the loaded model."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(run.path / "model.keras") as archive:
            config = json.loads(archive.read("config.json"))
            dense = [layer for layer in config["config"]["layers"] if layer.get("class_name") == "Dense"]
            if len(dense) == 1 and dense[0]["config"]["name"] == "predictions":
                import h5py

                with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
                    kernel, bias = (np.asarray(weights[f"layers/dense/vars/{n}"]) for n in (0, 1))
                if kernel.shape == (kernel.shape[0], len(run.class_names)) and bias.shape == (len(run.class_names),):
                    return kernel, bias
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile):
        pass
    kernel, bias = run.keras_model.get_layer("predictions").get_weights()
    return kernel, bias


def _network_key(run) -> str:
    settings = run.record.settings
    weights = settings.weights if settings is not None else run.record.weights_source
    text = f"{run.record.backbone}|{weights}|{run.input_size}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_EXTRACTORS: dict[str, object] = {}  # network key -> (pictures -> pooled features): one per network


def _shared_features(run, files: list[Path], cache_folder: Path) -> np.ndarray:
    """The shared pretrained network's pooled features of ``files``: kept per picture (by the file's
    hash) in ``cache_folder/swap-<network>.npz``; only pictures not seen before are computed."""
    from ..data.imagefile import load_picture

    key = _network_key(run)
    path = cache_folder / f"swap-{key}.npz"
    kept = _read_kept(path)
    digests = [hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files]
    missing = [(f, d) for f, d in zip(files, digests) if d not in kept]
    if missing:
        extractor = _EXTRACTORS.get(key)
        if extractor is None:
            from ..understand.features import run_features

            model = run.keras_model  # any of the network's runs: its frozen part is the same
            extractor = _EXTRACTORS[key] = lambda pixels, model=model: run_features(model, pixels)
        computed = extractor(np.stack([load_picture(f, run.input_size) for f, _ in missing]))
        kept.update({d: row for (_, d), row in zip(missing, np.asarray(computed, dtype="float32"))})
        cache_folder.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.stem}-{time.monotonic_ns()}.npz")
        np.savez(temporary, keys=np.array(list(kept)), features=np.stack(list(kept.values())))
        temporary.replace(path)
    return np.stack([kept[d] for d in digests])


def _read_kept(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path) as data:
            return dict(zip(data["keys"].tolist(), data["features"]))
    except (OSError, ValueError, KeyError):
        return {}


def run_swap_test(workspace, store: SpaceStore | None = None, on_progress=None, groups=None,
                  previous: SwapGrid | None = None, should_stop=None) -> SwapGrid | None:
    """The grid for the class in ``workspace`` (or for ``groups``; None with fewer than 2 groups),
    saved for the Teacher page and ``tlcore class-report`` (``swap_test`` says the rest)."""
    groups = class_groups(store or SpaceStore.in_workspace(workspace)) if groups is None else groups
    if len(groups) < 2:
        return None
    grid = swap_test(groups, on_progress, previous, should_stop)
    write_json(Path(workspace) / SWAP_FILE, grid.to_dict())
    return grid


def grid_groups(groups: list[Group]) -> list[tuple[str, str]]:
    """What a grid is made of: each group's name and run folder (a grid is stale when these change)."""
    return [(group.name, str(group.run.path.name)) for group in groups]


def class_fingerprint(store: SpaceStore) -> tuple:
    """What changes when a group trains, chooses a run, joins or leaves: each student space's state
    file and run folders with their times. A few stats a space, no run read (``class_groups`` reads
    every run: a third of a second for 30 groups on 2 cores)."""
    marks = []
    for space in store.spaces():
        if space.kind != STUDENT:
            continue
        try:
            state = (space.folder / STATE_FILE).stat().st_mtime_ns
        except OSError:
            state = None
        try:
            runs = sorted((entry.name, entry.stat().st_mtime_ns) for entry in os.scandir(space.runs_dir))
        except OSError:
            runs = []
        marks.append((space.id, state, tuple(runs)))
    return tuple(marks)


# The worker's outcomes (pages word them).
DONE, TOO_FEW, CANCELLED, FAILED = "done", "too_few", "cancelled", "failed"
NICENESS = 10  # how much lower the worker thread's CPU priority is than the trainings'


class SwapWorker:
    """The class's swap test in a thread of its own that never touches a UI; a page polls ``snapshot()``.

    One at a time: ``start()`` while one runs returns False. Each run reuses the saved grid's cells
    whose groups kept their run (see ``swap_test``) and writes the new grid whole when it ends;
    ``cancel()`` ends it at its next step with nothing written. Its thread runs at a lower CPU
    priority (Linux: ``NICENESS`` more, for this thread only) so that the students' trainings keep
    the cores first: the pictures it decodes and the heads it runs wait for them. (The pretrained
    network's passes run in TensorFlow's own threads, shared with trainings, a set of pictures at a
    time.) ``find_groups``: the class's groups, ``class_groups`` of the store (tests replace it)."""

    def __init__(self, workspace, store: SpaceStore | None = None):
        self.workspace = Path(workspace)
        self.store = store or SpaceStore.in_workspace(self.workspace)
        self.find_groups = lambda: class_groups(self.store)
        self.tried: list[tuple[str, str]] | None = None  # the groups the last run was for
        self._checked: tuple | None = None  # the class and grid update_if_stale last looked at
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = {"running": False, "automatic": False, "stage": None, "done": 0, "total": 0,
                       "outcome": None, "error": None, "worked": 0}

    def start(self, automatic: bool = False) -> bool:
        """Start a run in the background; False (nothing started) while one is running."""
        with self._lock:
            if self._state["running"]:
                return False
            self._stop.clear()
            self._state.update(running=True, automatic=automatic, stage=None, done=0, total=0, outcome=None,
                               error=None, worked=0)
            self._thread = threading.Thread(target=self._work, name="tlcore-swap-test", daemon=True)
            self._thread.start()
            return True

    def update_if_stale(self) -> bool:
        """Start a run in the background (``automatic``) when a saved grid is stale: the class's groups
        or their runs are no longer the grid's (a group trained again, joined or left). Looks at the
        groups only when ``class_fingerprint`` changed (a page asks every few seconds), and never
        again for groups the last run was for (one that failed is not retried in a loop). Whether
        it started one."""
        grid = read_swap(self.workspace)
        if grid is None or self.running:
            return False
        seen = (class_fingerprint(self.store), grid.computed, tuple(grid.runs))
        if seen == self._checked:
            return False
        self._checked = seen
        current = grid_groups(self.find_groups())
        if current in (list(zip(grid.names, grid.runs)), self.tried):
            return False
        return self.start(automatic=True)

    def cancel(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.running

    @property
    def running(self) -> bool:
        with self._lock:
            return self._state["running"]

    def snapshot(self) -> dict:
        """running, automatic (started because a group trained again), stage (FEATURES or MODELS),
        done and total steps, outcome (DONE, TOO_FEW, CANCELLED, FAILED) and error (an exception
        whose words a page shows) of the last run; worked: how many models it tried."""
        with self._lock:
            return dict(self._state)

    def _progress(self, done: int, total: int, stage: str) -> None:
        with self._lock:
            self._state.update(done=done, total=total, stage=stage,
                               worked=self._state["worked"] + (stage == MODELS))

    def _work(self) -> None:
        _lower_priority()
        outcome, error = FAILED, None
        try:
            groups = self.find_groups()
            self.tried = grid_groups(groups)
            grid = run_swap_test(self.workspace, groups=groups, on_progress=self._progress,
                                 previous=read_swap(self.workspace), should_stop=self._stop.is_set)
            outcome = DONE if grid is not None else TOO_FEW
        except SwapCancelled:
            outcome = CANCELLED
        except Exception as exception:  # a run that cannot be read, a full disk: the page says so
            log.warning("The swap test failed: %s", exception, exc_info=exception)
            error = exception
        finally:
            with self._lock:
                self._state.update(running=False, outcome=outcome, error=error)


def _lower_priority() -> None:
    """Give the calling thread a lower CPU priority (Linux applies it to the one thread)."""
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + NICENESS)
    except (AttributeError, OSError) as error:  # not on this system: it runs at the normal priority
        log.debug("The swap test runs at the normal priority: %s", error)


_WORKERS: dict[Path, SwapWorker] = {}
_WORKERS_LOCK = threading.Lock()


def swap_worker(workspace, store: SpaceStore | None = None) -> SwapWorker:
    """The one worker of the class in ``workspace`` for this process (every page shares it)."""
    key = Path(workspace).resolve()
    with _WORKERS_LOCK:
        if key not in _WORKERS:
            _WORKERS[key] = SwapWorker(key, store)
        elif store is not None:
            _WORKERS[key].store = store  # the server's store (made again after a cache clear)
        return _WORKERS[key]


def read_swap(workspace) -> SwapGrid | None:
    data = read_json(Path(workspace) / SWAP_FILE)
    try:
        return SwapGrid(list(data["names"]), data["accuracy"], data["pictures"], data.get("wrong") or [],
                        data.get("runs") or [], data.get("computed") or "")
    except (TypeError, KeyError):
        return None


__all__ = ["CANCELLED", "DONE", "FAILED", "FEATURES", "MODELS", "TOO_FEW", "Group", "SwapCancelled", "SwapGrid",
           "SwapWorker", "class_fingerprint", "class_groups", "grid_groups", "read_swap", "run_swap_test", "swap_test", "swap_worker"]
