"""A labelled picture set, decoded once and checked, ready to split and train on."""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from .imagefile import UnreadablePicture, load_picture
from .report import MIN_PICTURES_PER_CLASS, DatasetError, DatasetReport, SkippedFile, check_usable
from .sources import ZipSource, extract_zip, read_folder, write_uploads

DEFAULT_IMAGE_SIZE = 224
DEFAULT_VALIDATION_FRACTION = 0.2
MAX_VALIDATION_FRACTION = 0.9
# Smaller pictures hold too little to learn from once scaled up.
MIN_PICTURE_SIDE = 32


@dataclass
class _DecodedFile:
    sha256: str
    pixels: np.ndarray | None
    problem: str | None


class ImageDataset:
    """Pictures with class labels, decoded at ``image_size`` when loaded.

    Attributes: ``class_names`` (sorted), ``paths``, ``names`` ("class/file.jpg"),
    ``labels`` (int64 indices into class_names), ``file_hashes`` (sha256 of each
    file), ``report``, ``image_size`` and ``root`` (folder holding the classes).
    Build one with ``from_folder``, ``from_zip``, ``from_uploads`` or ``load``.
    """

    def __init__(
        self,
        *,
        class_names: Sequence[str],
        paths: Sequence[Path],
        names: Sequence[str],
        labels: np.ndarray,
        file_hashes: Sequence[str],
        pixels: np.ndarray,
        image_size: int,
        report: DatasetReport,
        root: Path | None = None,
    ):
        self.class_names = list(class_names)
        self.paths = list(paths)
        self.names = list(names)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.file_hashes = list(file_hashes)
        self.image_size = int(image_size)
        self.report = report
        self.root = root
        self._pixels_by_size: dict[int, np.ndarray] = {self.image_size: pixels}

    # ---- loading -----------------------------------------------------------------

    @classmethod
    def from_folder(
        cls,
        root: str | os.PathLike[str],
        image_size: int = DEFAULT_IMAGE_SIZE,
        min_per_class: int = MIN_PICTURES_PER_CLASS,
    ) -> "ImageDataset":
        """Load a folder with one sub-folder per class.

        Every file is decoded once. Files that are not pictures, are damaged,
        too small or exact copies of an earlier file are skipped and reported,
        never fatal. Raises DatasetError (with the report) if fewer than 2
        classes, or a class with fewer than ``min_per_class`` usable pictures.
        """
        listing = read_folder(root)
        pixels = new_pixel_array(len(listing.files), image_size)
        decoded = _decode_all([f.path for f in listing.files], image_size, pixels)

        skipped = list(listing.skipped)
        first_with_hash: dict[str, int] = {}
        kept: list[int] = []
        for index, (file, result) in enumerate(zip(listing.files, decoded)):
            original = first_with_hash.get(result.sha256)
            if result.problem is not None:
                skipped.append(SkippedFile(file.name, result.problem))
            elif original is not None:
                skipped.append(SkippedFile(file.name, _copy_reason(file, listing.files[original])))
            else:
                first_with_hash[result.sha256] = index
                kept.append(index)

        class_index = {name: i for i, name in enumerate(listing.class_names)}
        kept_files = [listing.files[i] for i in kept]
        counts = {name: 0 for name in listing.class_names}
        for file in kept_files:
            counts[file.class_name] += 1
        report = DatasetReport.build(counts, skipped)
        check_usable(listing.class_names, counts, listing.empty_classes, report, min_per_class)

        for row, index in enumerate(kept):  # compact in place (index >= row): no second copy
            if row != index:
                pixels[row] = pixels[index]
        pixels = pixels[: len(kept)]
        return cls(
            class_names=listing.class_names,
            paths=[f.path for f in kept_files],
            names=[f.name for f in kept_files],
            labels=np.array([class_index[f.class_name] for f in kept_files], dtype=np.int64),
            file_hashes=[decoded[i].sha256 for i in kept],
            pixels=pixels,
            image_size=image_size,
            report=report,
            root=listing.root,
        )

    @classmethod
    def from_zip(
        cls,
        source: ZipSource,
        work_dir: str | os.PathLike[str],
        image_size: int = DEFAULT_IMAGE_SIZE,
        min_per_class: int = MIN_PICTURES_PER_CLASS,
    ) -> "ImageDataset":
        """Unpack a zip of class folders into a fresh folder inside ``work_dir`` and load it."""
        folder = _fresh_folder(work_dir, "zip-")
        extract_zip(source, folder)
        return cls.from_folder(folder, image_size, min_per_class)

    @classmethod
    def from_uploads(
        cls,
        items: Iterable[tuple[str, str, bytes]],
        work_dir: str | os.PathLike[str],
        image_size: int = DEFAULT_IMAGE_SIZE,
        min_per_class: int = MIN_PICTURES_PER_CLASS,
    ) -> "ImageDataset":
        """Write (class name, file name, bytes) uploads to a fresh folder in ``work_dir``, load it."""
        folder = _fresh_folder(work_dir, "uploads-")
        write_uploads(items, folder)
        return cls.from_folder(folder, image_size, min_per_class)

    @classmethod
    def load(
        cls,
        source: str | os.PathLike[str] | bytes,
        work_dir: str | os.PathLike[str] | None = None,
        image_size: int = DEFAULT_IMAGE_SIZE,
        min_per_class: int = MIN_PICTURES_PER_CLASS,
    ) -> "ImageDataset":
        """Load a folder, or a zip file (path or bytes) unpacked into ``work_dir``.

        Without ``work_dir`` a zip is unpacked into a new temporary folder.
        """
        if isinstance(source, (bytes, bytearray, memoryview)) or not Path(source).is_dir():
            if not isinstance(source, (bytes, bytearray, memoryview)):
                path = Path(source)
                if not path.exists():
                    raise FileNotFoundError(f"There is no folder or zip file at {path}")
                if path.suffix.lower() != ".zip" and not zipfile.is_zipfile(path):
                    raise DatasetError(
                        f"{path.name} is neither a folder nor a zip file of class folders."
                    )
            work_dir = work_dir if work_dir is not None else tempfile.mkdtemp(prefix="tlcore-")
            return cls.from_zip(source, work_dir, image_size, min_per_class)
        return cls.from_folder(source, image_size, min_per_class)

    # ---- contents ----------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        counts = ", ".join(f"{name}={count}" for name, count in self.counts.items())
        return f"ImageDataset({len(self)} pictures at {self.image_size}px: {counts})"

    @property
    def counts(self) -> dict[str, int]:
        """Pictures per class, in class order."""
        per_class = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(n) for name, n in zip(self.class_names, per_class)}

    @property
    def fingerprint(self) -> str:
        """sha256 over the (class, file sha256) pairs: same pictures and labels, same value.

        Independent of folder location, file names, order and machine.
        """
        digest = hashlib.sha256()
        pairs = sorted(
            (self.class_names[label], file_hash)
            for label, file_hash in zip(self.labels.tolist(), self.file_hashes)
        )
        for class_name, file_hash in pairs:
            digest.update(f"{class_name}\0{file_hash}\n".encode("utf-8"))
        return digest.hexdigest()

    def pixels(self, size: int | None = None) -> np.ndarray:
        """All pictures as uint8 (N, size, size, 3); shared, so do not modify in place.

        The size used when loading is already decoded; another size is decoded
        from the files once and kept.
        """
        size = self.image_size if size is None else int(size)
        if size not in self._pixels_by_size:
            out = new_pixel_array(len(self), size)
            decoded = _decode_all(self.paths, size, out)
            for name, result in zip(self.names, decoded):
                if result.problem is not None:
                    raise DatasetError(
                        f"{name} could not be read again: it {result.problem}. "
                        "Load the pictures again."
                    )
            self._pixels_by_size[size] = out
        return self._pixels_by_size[size]

    # ---- splitting -----------------------------------------------------------------

    def split(
        self, validation_fraction: float = DEFAULT_VALIDATION_FRACTION, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stratified (train indices, validation indices), the same for the same seed.

        Each class gives about ``validation_fraction`` of its pictures, but at
        least 1, to validation and keeps at least 1 for training. The default
        0.2 leaves most pictures for learning while still holding back enough
        per class to measure how well the model does on pictures it never saw.
        """
        if not 0 < validation_fraction <= MAX_VALIDATION_FRACTION:
            raise ValueError(
                f"validation_fraction must be more than 0 and at most "
                f"{MAX_VALIDATION_FRACTION} (got {validation_fraction})."
            )
        rng = np.random.default_rng(seed)
        train, validation = [], []
        for label, class_name in enumerate(self.class_names):
            members = np.flatnonzero(self.labels == label)
            if len(members) < 2:
                raise ValueError(
                    f"Class '{class_name}' has {len(members)} picture(s); "
                    "splitting needs at least 2 per class."
                )
            shuffled = rng.permutation(members)
            n_validation = math.floor(len(members) * validation_fraction + 0.5)
            n_validation = min(max(n_validation, 1), len(members) - 1)
            validation.append(shuffled[:n_validation])
            train.append(shuffled[n_validation:])
        return (
            np.sort(np.concatenate(train)).astype(np.int64),
            np.sort(np.concatenate(validation)).astype(np.int64),
        )

    def subset(self, indices: Sequence[int] | np.ndarray) -> "ImageDataset":
        """The pictures at ``indices`` (same class_names), without decoding again.

        Its report only holds counts; files skipped while loading stay in this
        set's report.
        """
        indices = np.asarray(indices)
        if indices.dtype == bool:
            indices = np.flatnonzero(indices)
        indices = indices.astype(np.int64)
        labels = self.labels[indices]
        per_class = np.bincount(labels, minlength=len(self.class_names))
        child = ImageDataset(
            class_names=self.class_names,
            paths=[self.paths[i] for i in indices],
            names=[self.names[i] for i in indices],
            labels=labels,
            file_hashes=[self.file_hashes[i] for i in indices],
            pixels=self._pixels_by_size[self.image_size][indices],
            image_size=self.image_size,
            report=DatasetReport(
                counts={name: int(n) for name, n in zip(self.class_names, per_class)}
            ),
            root=self.root,
        )
        for size, pixels in self._pixels_by_size.items():
            if size != self.image_size:
                child._pixels_by_size[size] = pixels[indices]
        return child


def memory_budget_bytes() -> int:
    """How many bytes of decoded pictures stay in memory ($TLCORE_MEMORY_BUDGET_MB, default 1500).

    Above it, pictures are decoded into a file on disk and read from there (memory-mapped):
    the operating system keeps in memory only what is being used."""
    return int(float(os.environ.get("TLCORE_MEMORY_BUDGET_MB", "1500")) * 1e6)


def new_pixel_array(count: int, size: int) -> np.ndarray:
    """An uint8 (count, size, size, 3) array: in memory, or on disk when over the budget."""
    shape = (count, size, size, 3)
    if count * size * size * 3 <= memory_budget_bytes():
        return np.empty(shape, dtype=np.uint8)
    from ..paths import cache_root

    folder = cache_root() / "pixels"
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=folder, suffix=".npy")
    os.close(handle)
    array = np.lib.format.open_memmap(name, mode="w+", dtype=np.uint8, shape=shape)
    os.unlink(name)  # the mapping stays valid; the file goes away with it
    return array


def _decode_all(paths: Sequence[Path], size: int, out: np.ndarray) -> list[_DecodedFile]:
    """Read, hash and decode files in parallel (Pillow releases the GIL) into ``out[i]``.

    Order is kept; the returned records hold no pixels (they are in ``out``)."""
    if not paths:
        return []

    def decode(index: int) -> _DecodedFile:
        result = _decode_file(paths[index], size)
        if result.pixels is not None:
            out[index] = result.pixels
            result.pixels = None
        return result

    workers = min(32, os.cpu_count() or 1, len(paths))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(decode, range(len(paths))))


def _decode_file(path: Path, size: int) -> _DecodedFile:
    try:
        data = path.read_bytes()
    except OSError as error:
        return _DecodedFile("", None, f"could not be read ({error.strerror or error})")
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        pixels = load_picture(data, size, min_side=MIN_PICTURE_SIDE)
    except UnreadablePicture as problem:
        return _DecodedFile(sha256, None, problem.reason)
    return _DecodedFile(sha256, pixels, None)


def _copy_reason(copy, original) -> str:
    if copy.class_name == original.class_name:
        return f"is an exact copy of {original.name}"
    return (
        f"is an exact copy of {original.name}, which is in class '{original.class_name}'; "
        "a picture can only teach one class"
    )


def _fresh_folder(work_dir: str | os.PathLike[str], prefix: str) -> Path:
    """A new empty folder inside ``work_dir``, so earlier uploads never mix in."""
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=work_dir))
