"""A labelled picture set, decoded once and checked, ready to split and train on."""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..i18n import msg, msg_n, sentences
from ..paths import scratch_prefix
from ..settings import DEFAULT_VALIDATION_FRACTION, MAX_VALIDATION_FRACTION
from .imagefile import UnreadablePicture, load_picture, read_header
from .lookalikes import look_hash, lookalike_findings
from .names import name_problem, safe_name, unique_name
from .pixels import new_pixel_array
from .report import (
    MIN_PICTURES_PER_CLASS,
    DatasetError,
    DatasetReport,
    SkippedFile,
    SkippedFolder,
    check_usable,
    shown_name,
    size_words,
    too_many_pictures,
)
from .sources import (
    MAX_PICTURE_BYTES,
    FolderListing,
    UnpackedZip,
    ZipSource,
    read_folder,
    unpack_zip,
    write_uploads_reporting,
)

DEFAULT_IMAGE_SIZE = 224
# Smaller pictures hold too little to learn from once scaled up.
MIN_PICTURE_SIDE = 32
_HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class _LeftOut:
    """What was found before the listing: files and folders left out (a zip's members, uploads
    that never arrived) and warnings (a class renamed to be a folder)."""

    skipped: tuple[SkippedFile, ...] = ()
    folders: tuple[SkippedFolder, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass
class _DecodedFile:
    sha256: str
    pixels: np.ndarray | None
    problem: str | None
    look_hash: int = 0
    original_size: tuple[int, int] = (0, 0)


class ImageDataset:
    """Pictures with class labels, decoded at ``image_size`` when loaded.

    Attributes: ``class_names`` (sorted), ``paths``, ``names`` ("class/file.jpg"),
    ``labels`` (int64 indices into class_names), ``file_hashes`` (sha256 of each
    file), ``look_hashes`` (uint64 dHash of each picture, see lookalikes.py),
    ``original_sizes`` (int64 (N, 2): width and height as stored, 0 if unknown),
    ``report``, ``image_size`` and ``root`` (folder holding the classes).
    Build one with ``from_folder``, ``from_zip``, ``from_uploads`` or ``load``; change
    one without decoding again with ``subset``, ``without`` and ``renamed``.
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
        look_hashes: np.ndarray | None = None,
        original_sizes: np.ndarray | None = None,
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
        if look_hashes is None:
            look_hashes = [look_hash(picture) for picture in pixels]
        self.look_hashes = np.asarray(look_hashes, dtype=np.uint64).reshape(-1)
        if original_sizes is None:
            original_sizes = np.zeros((len(self.labels), 2))
        self.original_sizes = np.asarray(original_sizes, dtype=np.int64).reshape(-1, 2)

    # ---- loading -----------------------------------------------------------------

    @classmethod
    def from_folder(
        cls,
        root: str | os.PathLike[str],
        image_size: int = DEFAULT_IMAGE_SIZE,
        min_per_class: int = MIN_PICTURES_PER_CLASS,
        *,
        max_pictures: int | None = None,
        pixels_dir: str | os.PathLike[str] | None = None,
    ) -> "ImageDataset":
        """Load a folder with one sub-folder per class.

        Every file is decoded once; a file is read only after its header says it is a
        picture of at most MAX_PICTURE_BYTES. Files that are not pictures, are damaged,
        too big, too small or exact copies of an earlier file are skipped and reported,
        never fatal; so are folders left out. Near-identical pictures and pictures far
        smaller than the rest are reported, not dropped. Raises DatasetError (with the
        report) if fewer than 2 classes, or a class with fewer than ``min_per_class``
        usable pictures; TooManyPicturesError, before decoding any, if the folder holds
        more than ``max_pictures`` files. With ``pixels_dir`` the decoded pixels go to a
        memory-mapped file there as they are decoded (its room reserved first), never held
        whole in memory.
        """
        return cls._from_listing(read_folder(root), image_size, min_per_class,
                                 max_pictures=max_pictures, pixels_dir=pixels_dir)

    @classmethod
    def _from_listing(
        cls, listing: FolderListing, image_size: int, min_per_class: int, left_out: _LeftOut = _LeftOut(),
        max_pictures: int | None = None, pixels_dir=None,
    ) -> "ImageDataset":
        if max_pictures is not None and len(listing.files) > max_pictures:
            raise too_many_pictures(len(listing.files), max_pictures)
        pixels = new_pixel_array(len(listing.files), image_size, pixels_dir)
        decoded = _decode_all([f.path for f in listing.files], image_size, pixels)

        skipped = list(left_out.skipped) + listing.skipped
        first_with_hash: dict[str, int] = {}
        kept: list[int] = []
        for index, (file, result) in enumerate(zip(listing.files, decoded)):
            original = first_with_hash.get(result.sha256)
            if result.problem is not None:
                skipped.append(SkippedFile(file.name, result.problem))
            elif original is not None:
                first = listing.files[original]
                skipped.append(SkippedFile(file.name, _copy_reason(file.class_name, first.name, first.class_name), first.name))
            else:
                first_with_hash[result.sha256] = index
                kept.append(index)

        for row, index in enumerate(kept):  # compact in place (index >= row): no second copy
            if row != index:
                pixels[row] = pixels[index]
        kept_files = [listing.files[i] for i in kept]
        class_index = {name: i for i, name in enumerate(listing.class_names)}
        folders = list(left_out.folders) + listing.skipped_folders
        dataset = cls(
            class_names=listing.class_names,
            paths=[f.path for f in kept_files],
            names=[f.name for f in kept_files],
            labels=np.array([class_index[f.class_name] for f in kept_files], dtype=np.int64),
            file_hashes=[decoded[i].sha256 for i in kept],
            pixels=pixels[: len(kept)],
            image_size=image_size,
            report=DatasetReport({}),
            root=listing.root,
            look_hashes=[decoded[i].look_hash for i in kept],
            original_sizes=[decoded[i].original_size for i in kept],
        )
        dataset.report = dataset._findings(skipped, folders, left_out.warnings)
        check_usable(listing.class_names, dataset.report.counts, listing.empty_classes,
                     dataset.report, min_per_class, listing.unreadable_classes)
        return dataset

    @classmethod
    def from_zip(
        cls,
        source: ZipSource,
        work_dir: str | os.PathLike[str],
        image_size: int = DEFAULT_IMAGE_SIZE,
        min_per_class: int = MIN_PICTURES_PER_CLASS,
        *,
        max_pictures: int | None = None,
    ) -> "ImageDataset":
        """Unpack a zip of class folders into a fresh folder inside ``work_dir`` and load it.

        Only pictures are unpacked; other members are reported as skipped, never written. A zip
        of more than ``max_pictures`` pictures is refused from its listing, before anything is
        written. The decoded pixels go to a memory-mapped file in that folder."""
        folder = _fresh_folder(work_dir, "zip-")
        unpacked = _or_remove(folder, lambda: unpack_zip(source, folder, max_pictures=max_pictures))
        return _or_remove(folder, lambda: cls.from_unpacked(unpacked, image_size, min_per_class,
                                                            max_pictures=max_pictures, pixels_dir=folder))

    @classmethod
    def from_unpacked(
        cls,
        unpacked: UnpackedZip,
        image_size: int = DEFAULT_IMAGE_SIZE,
        min_per_class: int = MIN_PICTURES_PER_CLASS,
        *,
        max_pictures: int | None = None,
        pixels_dir: str | os.PathLike[str] | None = None,
    ) -> "ImageDataset":
        """Load the folder ``unpack_zip`` made; what it left out is in the report too (named
        as the pictures are: without a wrapping folder the classes sit in)."""
        listing = read_folder(unpacked.folder)
        if not listing.class_names and unpacked.inner_zips():
            inner = unpacked.inner_zips()[0]
            raise DatasetError(msg("{zip} holds another zip file ({inner}) instead of class folders. Unpack {inner} "
                                   "and use what it holds, or upload {inner} itself.", zip=unpacked.label,
                                   inner=shown_name(inner)))
        wrapper = listing.root.relative_to(unpacked.folder).as_posix() + "/"
        wrapper = "" if wrapper == "./" else wrapper
        left_out = _LeftOut(tuple(SkippedFile(s.name.removeprefix(wrapper), s.reason) for s in unpacked.skipped),
                            tuple(SkippedFolder(f.name.removeprefix(wrapper), f.reason)
                                  for f in unpacked.skipped_folders))
        return cls._from_listing(listing, image_size, min_per_class, left_out, max_pictures, pixels_dir)

    @classmethod
    def from_uploads(
        cls,
        items: Iterable[tuple[str, str, bytes | None]],
        work_dir: str | os.PathLike[str],
        image_size: int = DEFAULT_IMAGE_SIZE,
        min_per_class: int = MIN_PICTURES_PER_CLASS,
        *,
        max_pictures: int | None = None,
    ) -> "ImageDataset":
        """Write (class name, file name, bytes) uploads to a fresh folder in ``work_dir``, load it.

        An upload whose bytes are None (it never arrived) is reported as skipped; a class name
        that cannot be a folder name as typed (empty, only spaces) gets a warning saying what
        it is called instead. The decoded pixels go to a memory-mapped file in that folder."""
        items = list(items)
        arrived = sum(1 for item in items if item[2] is not None)
        if max_pictures is not None and arrived > max_pictures:  # before a single file is written
            raise too_many_pictures(arrived, max_pictures)
        folder = _fresh_folder(work_dir, "uploads-")

        def load() -> "ImageDataset":
            written = write_uploads_reporting(items, folder)
            return cls._from_listing(read_folder(folder), image_size, min_per_class,
                                     _LeftOut(written.missing, (), written.renamed), max_pictures, folder)
        return _or_remove(folder, load)

    @classmethod
    def load(
        cls,
        source: str | os.PathLike[str] | bytes,
        work_dir: str | os.PathLike[str] | None = None,
        image_size: int = DEFAULT_IMAGE_SIZE,
        min_per_class: int = MIN_PICTURES_PER_CLASS,
        *,
        max_pictures: int | None = None,
    ) -> "ImageDataset":
        """Load a folder, or a zip file (path or bytes) unpacked into ``work_dir``.

        Without ``work_dir`` a zip is unpacked into a new temporary folder.
        """
        if isinstance(source, (bytes, bytearray, memoryview)) or not Path(source).is_dir():
            if not isinstance(source, (bytes, bytearray, memoryview)):
                path = Path(source)
                if not path.exists():
                    raise FileNotFoundError(msg("There is no folder or zip file at {path}", path=str(path)))
                if path.suffix.lower() != ".zip" and not zipfile.is_zipfile(path):
                    raise DatasetError(msg("{name} is neither a folder nor a zip file of class folders.",
                                           name=path.name))
            work_dir = work_dir if work_dir is not None else tempfile.mkdtemp(prefix=scratch_prefix())
            return cls.from_zip(source, work_dir, image_size, min_per_class, max_pictures=max_pictures)
        return cls.from_folder(source, image_size, min_per_class, max_pictures=max_pictures)

    @classmethod
    def empty(cls, image_size: int = DEFAULT_IMAGE_SIZE) -> "ImageDataset":
        """A set with no pictures yet (pictures join it with ``added``)."""
        return cls(class_names=[], paths=[], names=[], labels=np.zeros(0, np.int64), file_hashes=[],
                   pixels=new_pixel_array(0, image_size), image_size=image_size, report=DatasetReport({}))

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
                    raise DatasetError(sentences(msg("{name} could not be read again.", name=name), result.problem,
                                                 msg("Load the pictures again.")))
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
                raise ValueError(msg_n("Class '{name}' has {count} picture; splitting needs at least 2 per class.",
                                       "Class '{name}' has {count} pictures; splitting needs at least 2 per class.",
                                       len(members), name=class_name))
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
        set's report. (``without`` gives a set with a full report.)
        """
        indices = np.asarray(indices)
        if indices.dtype == bool:
            indices = np.flatnonzero(indices)
        indices = indices.astype(np.int64)
        child = self._sliced(indices, self.class_names, self.labels[indices], self.names)
        child.report = DatasetReport(counts=child.counts)
        return child

    def without(self, class_names: Iterable[str] = (), names: Iterable[str] = ()) -> "ImageDataset":
        """This set less whole classes and single pictures (``names`` as in ``self.names``).

        The decoded pixels are reused; the report is worked out again for what is left
        (counts, advice, look-alikes; skipped files of removed classes leave with them).
        Raises ValueError for a class or picture that is not in the set, and DatasetError,
        as loading does, if what is left cannot be trained on.
        """
        drop_classes, drop_names = set(class_names), set(names)
        for class_name in sorted(drop_classes - set(self.class_names)):
            raise ValueError(msg("There is no class '{name}' in this picture set.", name=class_name))
        for name in sorted(drop_names - set(self.names)):
            raise ValueError(msg("There is no picture {name} in this picture set.", name=name))
        keep = [i for i, (name, label) in enumerate(zip(self.names, self.labels.tolist()))
                if self.class_names[label] not in drop_classes and name not in drop_names]
        classes = {c: c for c in self.class_names if c not in drop_classes}
        child = self._derived(keep, classes, drop_names)
        check_usable(child.class_names, child.report.counts, [], child.report)
        return child

    def renamed(self, new_names: dict[str, str]) -> "ImageDataset":
        """This set with classes renamed ({old: new}), reusing the decoded pixels.

        Picture names follow ("daisy/a.jpg" becomes "flower/a.jpg"); the files stay where
        they are. Raises ValueError for a class that is not in the set, a new name that
        cannot be a folder name on every system, or two classes ending up with one name.
        """
        for old in new_names:
            if old not in self.class_names:
                raise ValueError(msg("There is no class '{name}' in this picture set.", name=old))
        classes = {c: str(new_names.get(c, c)).strip() for c in self.class_names}
        seen: dict[str, str] = {}  # case-folded new name -> the old name it came from
        for old, new in classes.items():
            problem = name_problem(new) or (msg("It starts with a dot, which would hide it.") if new.startswith(".") else None)
            if problem:
                raise ValueError(sentences(msg("The class name '{name}' cannot be used.", name=new), problem,
                                           msg("Choose another name.")))
            if new.casefold() in seen:
                first = seen[new.casefold()]
                wanted = new if old in new_names else classes[first]
                raise ValueError(msg("The classes '{first}' and '{second}' would both be called '{name}'; choose "
                                     "another name (names that differ only in capitals count as the same).",
                                     first=first, second=old, name=wanted))
            seen[new.casefold()] = old
        return self._derived(list(range(len(self))), classes, set())

    def added(self, items: Iterable[tuple[str, str, bytes | None]], work_dir, *,
              max_pictures: int | None = None) -> "ImageDataset":
        """This set plus ``items`` (class name, file name, bytes), decoding only the new files.

        The files are written to a fresh folder in ``work_dir`` (names made safe, as uploads
        are); a class not in the set yet becomes a new class. New files that are not
        pictures, never arrived (bytes None), or are exact copies of a picture already in the
        set, are skipped and reported, like any other; the report is worked out again for the
        whole set. TooManyPicturesError, before decoding, if the set would pass ``max_pictures``."""
        items = list(items)
        arrived = sum(1 for item in items if item[2] is not None)
        if max_pictures is not None and len(self) + arrived > max_pictures:  # before a single file is written
            raise too_many_pictures(arrived, max_pictures, already=len(self))
        folder = _fresh_folder(work_dir, "added-")
        return _or_remove(folder, lambda: self._added_from(folder, items))

    def _added_from(self, folder: Path, items: list) -> "ImageDataset":
        written = write_uploads_reporting(self._unclashing(items), folder)
        listing = read_folder(folder)
        pixels = new_pixel_array(len(listing.files), self.image_size, folder)
        decoded = _decode_all([f.path for f in listing.files], self.image_size, pixels)
        first_with_hash = {h: (name, self.class_names[label])
                           for h, name, label in zip(self.file_hashes, self.names, self.labels.tolist())}
        skipped, kept = list(self.report.skipped) + list(written.missing), []
        for index, (file, result) in enumerate(zip(listing.files, decoded)):
            original = first_with_hash.get(result.sha256)
            if result.problem is not None:
                skipped.append(SkippedFile(file.name, result.problem))
            elif original is not None:
                skipped.append(SkippedFile(file.name, _copy_reason(file.class_name, *original), original[0]))
            else:
                first_with_hash[result.sha256] = (file.name, file.class_name)
                kept.append(index)
        class_names = sorted(set(self.class_names) | {listing.files[i].class_name for i in kept})
        old_labels = np.array([class_names.index(c) for c in self.class_names], dtype=np.int64)[self.labels]
        new_labels = np.array([class_names.index(listing.files[i].class_name) for i in kept], dtype=np.int64)
        combined = new_pixel_array(len(self) + len(kept), self.image_size, folder)
        combined[: len(self)] = self.pixels()
        combined[len(self):] = pixels[kept]
        child = ImageDataset(
            class_names=class_names,
            paths=self.paths + [listing.files[i].path for i in kept],
            names=self.names + [listing.files[i].name for i in kept],
            labels=np.concatenate([old_labels, new_labels]),
            file_hashes=self.file_hashes + [decoded[i].sha256 for i in kept],
            pixels=combined, image_size=self.image_size, report=DatasetReport({}), root=self.root,
            look_hashes=np.concatenate([self.look_hashes, np.array([decoded[i].look_hash for i in kept], np.uint64)]),
            original_sizes=np.concatenate([self.original_sizes,
                                           np.array([decoded[i].original_size for i in kept], np.int64).reshape(-1, 2)]),
        )
        child.report = child._findings(skipped, list(self.report.folders) + list(listing.skipped_folders),
                                       written.renamed)
        return child

    def moved(self, name: str, to_class: str) -> "ImageDataset":
        """This set with the picture ``name`` ("class/file.jpg") in ``to_class`` (named "to_class/file.jpg",
        or "file_1.jpg" if that is taken), every picture in the same place and order and the decoded
        pixels reused: the features cached for the set still belong to it; the file is not touched.

        Raises ValueError, in plain words, for a picture or class that is not in the set, or a
        move that would leave its class with fewer than 2 pictures (too few to train on)."""
        if name not in self.names:
            raise ValueError(msg("There is no picture {name} in this picture set.", name=name))
        if to_class not in self.class_names:
            raise ValueError(msg("There is no class '{name}' in this picture set.", name=to_class))
        index = self.names.index(name)
        from_class = self.class_names[int(self.labels[index])]
        if from_class == to_class:
            return self
        if self.counts[from_class] - 1 < MIN_PICTURES_PER_CLASS:
            raise ValueError(msg_n("Moving it would leave '{name}' with fewer than {count} picture, too few to "
                                   "learn from. Add pictures to that class first.",
                                   "Moving it would leave '{name}' with fewer than {count} pictures, too few to "
                                   "learn from. Add pictures to that class first.", MIN_PICTURES_PER_CLASS,
                                   name=from_class))
        labels, names = self.labels.copy(), list(self.names)
        labels[index] = self.class_names.index(to_class)
        names[index] = unique_name(f"{to_class}/{name.split('/', 1)[-1]}", names)
        child = self._copy(names=names, labels=labels)
        child.report = child._findings(list(self.report.skipped), list(self.report.folders))
        return child

    def relocated(self, root: str | os.PathLike[str], paths: Sequence[Path]) -> "ImageDataset":
        """The same pictures, read from ``paths`` under ``root`` from now on (copied there, say)."""
        return self._copy(root=Path(root), paths=paths)

    def with_pixels(self, pixels: np.ndarray) -> "ImageDataset":
        """The same pictures, decoded into ``pixels`` (at ``image_size``: memory-mapped from a file, say)."""
        return self._copy(pixels=pixels)

    def _copy(self, pixels: np.ndarray | None = None, **changes) -> "ImageDataset":
        """A new set sharing this one's pictures, with ``changes`` (constructor arguments); the
        pixels decoded so far are shared too, unless ``pixels`` replaces them."""
        values = dict(class_names=self.class_names, paths=self.paths, names=self.names, labels=self.labels,
                      file_hashes=self.file_hashes, image_size=self.image_size, report=self.report,
                      root=self.root, look_hashes=self.look_hashes, original_sizes=self.original_sizes)
        child = ImageDataset(pixels=self._pixels_by_size[self.image_size] if pixels is None else pixels,
                             **{**values, **changes})
        if pixels is None:
            child._pixels_by_size = dict(self._pixels_by_size)
        return child

    def _unclashing(self, items) -> list[tuple[str, str, bytes]]:
        """``items`` renamed where a file name is already taken in its class ("camera_0001_1.jpg"):
        every picture of a set keeps its own name (a name is how a picture is removed again)."""
        taken = list(self.names)
        renamed = []
        for class_name, file_name, content in items:
            folder = safe_name(str(class_name).strip(), fallback="class")
            file_name = safe_name(str(file_name).replace("\\", "/").rsplit("/", 1)[-1], fallback="picture")
            name = unique_name(f"{folder}/{file_name}", taken)
            taken.append(name)
            renamed.append((class_name, name.split("/", 1)[1], content))
        return renamed

    def _sliced(self, indices, class_names, labels, names) -> "ImageDataset":
        indices = np.asarray(indices, dtype=np.int64)
        child = ImageDataset(
            class_names=class_names,
            paths=[self.paths[i] for i in indices],
            names=[names[i] for i in indices],
            labels=labels,
            file_hashes=[self.file_hashes[i] for i in indices],
            pixels=self._pixels_by_size[self.image_size][indices],
            image_size=self.image_size,
            report=DatasetReport({}),
            root=self.root,
            look_hashes=self.look_hashes[indices],
            original_sizes=self.original_sizes[indices],
        )
        for size, pixels in self._pixels_by_size.items():
            if size != self.image_size:
                child._pixels_by_size[size] = pixels[indices]
        return child

    def _derived(self, keep: list[int], classes: dict[str, str], dropped_names: set[str]) -> "ImageDataset":
        """The pictures at ``keep``, classes renamed by ``classes`` (old -> new; missing = removed)."""
        class_names = sorted(set(classes.values()))
        new_label = np.array([class_names.index(classes[c]) if c in classes else -1 for c in self.class_names])
        rename = _renamer(classes)
        names = [rename(name) for name in self.names]
        keep = np.asarray(keep, dtype=np.int64)
        child = self._sliced(keep, class_names, new_label[self.labels[keep]], names)
        gone = dropped_names | {n for n in self.names if n.split("/", 1)[0] not in classes}
        skipped = []
        for entry in self.report.skipped:
            if entry.name.split("/", 1)[0] in self.class_names and entry.name.split("/", 1)[0] not in classes:
                continue  # its class was removed
            skipped.append(_moved(entry, rename, gone))
        child.report = child._findings(skipped, list(self.report.folders))
        return child

    def _findings(self, skipped: list[SkippedFile], folders: list, warnings=()) -> DatasetReport:
        """This set's report: counts, advice and look-alikes, with ``skipped``, ``folders`` and
        ``warnings`` found while loading."""
        lookalikes, notes = lookalike_findings(self.names, self.labels, self.class_names,
                                               self.pixels(), self.look_hashes, self.original_sizes)
        return DatasetReport.build(self.counts, skipped, folders, list(warnings) + lookalikes, notes)


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
    """Header first: a file is read in full only once it is known to be a picture within
    MAX_PICTURE_BYTES, so memory never grows with the size of other files."""
    try:
        with open(path, "rb") as file:
            length = os.fstat(file.fileno()).st_size
            if length > MAX_PICTURE_BYTES:
                return _DecodedFile("", None, msg("It is {size}, more than the {limit} a picture may be.",
                                                  size=size_words(length), limit=size_words(MAX_PICTURE_BYTES)))
            if length == 0:
                return _DecodedFile("", None, msg("It is empty."))
            _, width, height = read_header(file)
            pixels = load_picture(file, size, min_side=MIN_PICTURE_SIDE)
            file.seek(0)
            sha256 = _sha256(file)
    except UnreadablePicture as problem:
        return _DecodedFile("", None, problem.reason)
    except OSError as error:
        return _DecodedFile("", None, msg("It could not be read ({why}).", why=str(error.strerror or error)))
    return _DecodedFile(sha256, pixels, None, look_hash(pixels), (width, height))


def _sha256(file) -> str:
    digest = hashlib.sha256()
    while chunk := file.read(_HASH_CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


def _copy_reason(class_name: str, original: str, original_class: str) -> str:
    if class_name == original_class:
        return msg("It is an exact copy of {name}.", name=original)
    return msg("It is an exact copy of {name}, which is in class '{class_name}'; a picture can only teach one class.",
               name=original, class_name=original_class)


def _renamer(classes: dict[str, str]):
    """"old/a.jpg" -> "new/a.jpg" for the classes in ``classes``; other names unchanged."""
    def rename(name: str) -> str:
        first, _, rest = name.partition("/")
        return f"{classes[first]}/{rest}" if rest and first in classes else name
    return rename


def _moved(entry: SkippedFile, rename, gone: set[str]) -> SkippedFile:
    """A skipped file's entry after classes were renamed or pictures taken out."""
    if not entry.copy_of:
        return SkippedFile(rename(entry.name), entry.reason)
    name, original = rename(entry.name), rename(entry.copy_of)
    if entry.copy_of in gone:
        reason = msg("It is an exact copy of {name}, which was taken out of the set; load the pictures again to use "
                     "this one.", name=entry.copy_of)
    else:
        reason = _copy_reason(name.split("/", 1)[0], original, original.split("/", 1)[0])
    return SkippedFile(name, reason, original)


def _or_remove(folder: Path, load):
    """``load()``; if it fails, the folder it would have read from goes (it is of no use)."""
    try:
        return load()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _fresh_folder(work_dir: str | os.PathLike[str], prefix: str) -> Path:
    """A new empty folder inside ``work_dir``, so earlier uploads never mix in."""
    Path(work_dir).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=work_dir))
