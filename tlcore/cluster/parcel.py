"""What travels between the classroom's server and a Ray worker (no Ray here: tested without a cluster).

What travels with a training (a ``Parcel``):

- the settings, as ``TrainingSettings.to_dict()``;
- the pictures (``Pictures``): the decoded pixels and the picture files. A worker that sees the
  server's workspace (the same folder at the same path: always on a local cluster, or a school's
  shared folder) reads both from there, the pixels memory-mapped from the space's cache, and
  only their names travel. Otherwise they are sent with the job: the pixels as decoded once on
  the server (never decoded again, let alone per epoch), the files because a run keeps copies
  of its validation pictures;
- a weights file the teacher added, unless the worker sees it in the shared workspace. ImageNet
  weights never travel: a worker finds them in its own Keras cache, or downloads them once from
  the school's weights server (``TLCORE_WEIGHTS_URL``);
- where the run goes: the space's runs folder when the worker sees it (the worker saves the run
  there), else nowhere: the worker trains in a scratch folder and sends the run folder back as
  files (``Outcome.run_files``), which ``receive_run`` writes into the space.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data import ImageDataset
from ..data.report import DatasetReport

RUN_FILES_LIMIT = 2 * 1024**3  # a run sent back whole: more than any network's model and pictures


@dataclass
class Pictures:
    """A picture set as it travels: what ``ImageDataset`` holds, with its pixels and files either
    found in the shared workspace (``pixels_file``, ``paths``) or sent (``pixels``, ``files``)."""

    class_names: list[str]
    names: list[str]
    labels: np.ndarray
    file_hashes: list[str]
    look_hashes: np.ndarray
    original_sizes: np.ndarray
    image_size: int
    report: DatasetReport
    root: str | None
    paths: list[str]  # the files' places on the server
    pixels_file: str | None = None  # shared: the decoded pixels, a .npy the worker maps read-only
    pixels: np.ndarray | None = field(default=None, repr=False)  # not shared: the decoded pixels
    files: list[bytes | None] | None = field(default=None, repr=False)  # the files the worker cannot see

    @classmethod
    def of(cls, dataset: ImageDataset, shared: Path | None) -> "Pictures":
        """``dataset`` packed for a worker that sees the folder ``shared`` as the server does
        (None: it sees nothing of the server's)."""
        pixels = dataset.pixels()
        mapped = getattr(pixels, "filename", None)  # the space's cache, memory-mapped (SpaceStore)
        pixels_file = str(mapped) if mapped and _inside(mapped, shared) else None
        seen = [_inside(path, shared) for path in dataset.paths]
        return cls(list(dataset.class_names), list(dataset.names), np.asarray(dataset.labels),
                   list(dataset.file_hashes), np.asarray(dataset.look_hashes), np.asarray(dataset.original_sizes),
                   dataset.image_size, dataset.report, str(dataset.root) if dataset.root else None,
                   [str(path) for path in dataset.paths], pixels_file,
                   None if pixels_file else np.asarray(pixels),
                   None if all(seen) else [None if here else Path(path).read_bytes()
                                           for path, here in zip(dataset.paths, seen)])

    def dataset(self, folder: Path) -> ImageDataset:
        """The ImageDataset again, on the worker; sent files are written in ``folder``."""
        paths = [Path(path) for path in self.paths]
        for index, content in enumerate(self.files or []):
            if content is not None:
                folder.mkdir(parents=True, exist_ok=True)
                paths[index] = folder / f"{index:05d}{_suffix(paths[index])}"
                paths[index].write_bytes(content)
        pixels = np.load(self.pixels_file, mmap_mode="r") if self.pixels_file else self.pixels
        if pixels is None or len(pixels) != len(self.names):
            raise ValueError("The pictures changed while the training waited; start it again.")
        return ImageDataset(class_names=self.class_names, paths=paths, names=self.names, labels=self.labels,
                            file_hashes=self.file_hashes, pixels=pixels, image_size=self.image_size,
                            report=self.report, root=Path(self.root) if self.root else None,
                            look_hashes=self.look_hashes, original_sizes=self.original_sizes)


@dataclass
class Parcel:
    """One training, as the server sends it to a worker."""

    job_id: str
    settings: dict  # TrainingSettings.to_dict()
    pictures: Pictures
    name: str | None = None
    dataset_name: str | None = None
    runs_folder: str | None = None  # the space's runs folder, when the worker sees it; else sent back
    weights_file: tuple[str, bytes] | None = field(default=None, repr=False)  # (name, content), when not seen

    @classmethod
    def of(cls, job, job_id: str, shared: Path | None) -> "Parcel":
        """What ``job`` (a TrainingJob made on the server) needs on a worker that sees ``shared``."""
        settings = job.settings.to_dict()
        weights = Path(str(job.settings.weights))
        sent = None
        if weights.is_file() and not _inside(weights, shared):
            sent = (weights.name, weights.read_bytes())
        return cls(job_id, settings, Pictures.of(job.dataset, shared), job.name, job.dataset_name,
                   str(job.workspace) if _inside(job.workspace, shared) else None, sent)


@dataclass
class Outcome:
    """How a training on a worker ended: its last snapshot, and the run, saved where the server
    sees it (``run_path``) or sent back (``run_files``: path in the run folder -> content)."""

    snapshot: dict
    run_path: str | None = None
    run_files: dict[str, bytes] | None = field(default=None, repr=False)
    error: str | None = None
    details: str | None = None
    weights_missing: bool = False  # the error is that ImageNet weights could not be had


# -- a run folder, sent back ---------------------------------------------------------------------
def send_run(folder) -> dict[str, bytes]:
    """Every file of a saved run folder, by its path inside the folder ("validation/000/00012.jpg")."""
    folder = Path(folder)
    files = {path.relative_to(folder).as_posix(): path.read_bytes()
             for path in sorted(folder.rglob("*")) if path.is_file() and not path.is_symlink()}
    if sum(map(len, files.values())) > RUN_FILES_LIMIT:
        raise OSError(f"The run in {folder} is too large to send back to the server.")
    return files


def receive_run(files: dict[str, bytes], workspace, backbone: str) -> Path:
    """Write a run sent back by a worker into ``workspace`` (a space's runs folder), as a run
    folder of its own: claimed first, run.json written last, so a failure leaves nothing.
    RunSaveError in plain words (a full disk); ValueError if a path would leave the folder."""
    from ..runs import CLAIM_FILE, claim_run_folder
    from ..runs.folder import META_FILE, _save_error

    if not all(_safe_relative(name) for name in files):
        raise ValueError("A worker sent back a run with a file outside its folder; it was not kept.")
    folder = claim_run_folder(workspace, backbone)
    try:
        for name in sorted(files, key=lambda n: n == META_FILE):  # run.json last: then it is a run
            target = folder.joinpath(*name.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[name])
        (folder / CLAIM_FILE).unlink(missing_ok=True)
    except OSError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise _save_error(error, Path(workspace)) from None
    return folder


# -- inside --------------------------------------------------------------------------------------
def _inside(path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        return Path(path).resolve().is_relative_to(Path(folder).resolve())
    except (OSError, ValueError):
        return False


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


def safe_file_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(name).name).strip(".-")
    return cleaned or "weights.h5"


def _safe_relative(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and all(part not in ("", ".", "..") and "\\" not in part
                                                            for part in parts)
