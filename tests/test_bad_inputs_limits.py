"""The bad-input corpus, part 3: limits checked before the work they limit, sets kept all or nothing,
and uploads (class by class, a folder) that arrive with something missing.

Like parts 1 and 2, each case asserts the exact sentence a person sees and that nothing outside the
case's work folder changed (a listing of the parent folder, before and after); a refused input also
leaves the work folder as it was. Then: the peak memory of a refused 3,000-picture zip (measured in
a subprocess), a full disk while a space keeps a set (a small real file system where this machine
lets the test mount one, and ENOSPC injected at the real write calls everywhere), the files a
phone's browser chose but never delivered, and the same refusals on the Data page (AppTest).
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from bad_inputs import Sandbox, jpeg_bytes, make_classes, smooth_jpeg_bytes, tree
from tlcore.data import CannotWriteError, DatasetError, ImageDataset, TooManyPicturesError

ROOT = Path(__file__).resolve().parents[1]
NOT_ARRIVED = "It did not arrive (its upload was cut off or had not finished); choose it again."
NO_ROOM = ("There is no room left on the disk for these pictures. Free some space on it (or ask whoever looks "
           "after it) and try again.")


def items(counts: dict[str, int], first_seed: int = 300) -> list[tuple[str, str, bytes]]:
    """(class, file name, bytes) as a browser uploads them, every picture unique."""
    found, seed = [], first_seed
    for class_name, count in counts.items():
        for i in range(count):
            found.append((class_name, f"{class_name.strip() or 'x'}_{i}.jpg", jpeg_bytes(seed)))
            seed += 1
    return found


@dataclass(frozen=True)
class UploadCase:
    id: str
    items: list  # what the browser sent
    says: str  # the exact sentence: the exception's, or one line of the set's report
    raises: type | None = None
    limit: int | None = None  # the space's limit on pictures
    added_to: dict | None = None  # None: a new set; else the classes of the set they are added to


def fail_with(number: int):
    def fail(*args, **kwargs):
        raise OSError(number, os.strerror(number))
    return fail


GOOD = {"daisy": 3, "rose": 3}
UPLOADS = [
    UploadCase("upload-without-bytes", items(GOOD) + [("rose", "541630764_dbd285d63c.jpg", None)],
               f"rose/541630764_dbd285d63c.jpg was skipped. {NOT_ARRIVED}"),
    UploadCase("class-name-only-spaces", items({"daisy": 2, "   ": 2}),
               "A class had no name (it was empty, or only spaces), so it is called 'class'."),
    UploadCase("class-name-empty", items({"daisy": 2, "": 2}),
               "A class had no name (it was empty, or only spaces), so it is called 'class'."),
    UploadCase("class-name-with-a-slash", items({"daisy": 2, "cats/dogs": 2}),
               "The class name 'cats/dogs' holds characters a folder name cannot have, so it is called 'cats_dogs'."),
    UploadCase("class-names-differ-in-capitals", items({"Rose": 2, "rose": 2}),
               "The class name 'rose' is the same as another class's apart from capitals, so it is called 'rose_1'."),
    UploadCase("uploads-over-the-space-limit", items(GOOD), "That set has 6 pictures; a space holds at most 5. "
               "Choose fewer pictures.", TooManyPicturesError, limit=5),
    UploadCase("adding-past-the-space-limit", items({"tulip": 3}), "Adding 3 pictures would make 9; a space holds "
               "at most 8. Add at most 2, or remove some first.", TooManyPicturesError, limit=8, added_to=GOOD),
    UploadCase("adding-to-a-full-space", items({"tulip": 1}), "This space already holds 6 pictures, the most a "
               "space can; remove some before adding more.", TooManyPicturesError, limit=6, added_to=GOOD),
    UploadCase("adding-one-that-never-arrived", items({"tulip": 2}) + [("tulip", "late.jpg", None)],
               f"tulip/late.jpg was skipped. {NOT_ARRIVED}", added_to=GOOD),
]


def test_the_upload_corpus_is_big_enough():
    assert len(UPLOADS) >= 9 and len({case.id for case in UPLOADS}) == len(UPLOADS)


@pytest.mark.parametrize("case", UPLOADS, ids=[case.id for case in UPLOADS])
def test_bad_upload(case, tmp_path):
    sandbox = Sandbox.make(tmp_path)
    base = None
    if case.added_to is not None:
        base = ImageDataset.from_folder(make_classes(tmp_path / "base", case.added_to), image_size=32)
    outside, inside = sandbox.outside(), sandbox.inside()

    def open_():
        if base is None:
            return ImageDataset.from_uploads(case.items, sandbox.work, image_size=32, max_pictures=case.limit)
        return base.added(case.items, sandbox.work, max_pictures=case.limit)

    if case.raises is not None:
        with pytest.raises(case.raises) as caught:
            open_()
        assert str(caught.value) == case.says
        assert sandbox.inside() == inside, "a refused upload left something in the work folder"
    else:
        assert case.says in open_().report.problems()
    assert sandbox.outside() == outside, "something outside the work folder changed"


# -- a full disk while reading pictures in: ENOSPC at the real write calls -------------------------
@pytest.mark.parametrize("where", ["upload-file", "pixels-file", "zip-member"])
def test_a_full_disk_while_reading_pictures_in_is_one_sentence_and_leaves_nothing(where, tmp_path, monkeypatch):
    import tlcore.data.sources as sources

    sandbox = Sandbox.make(tmp_path)
    archive = sandbox.work / "flowers.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for class_name, name, data in items(GOOD):
            out.writestr(f"{class_name}/{name}", data)
    outside, inside = sandbox.outside(), sandbox.inside()
    real_open = open

    def full_open(path, mode="r", *args, **kwargs):  # the file's own write: open(target, "wb")
        if "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    if where == "pixels-file":
        monkeypatch.setattr(os, "posix_fallocate", fail_with(errno.ENOSPC))
    else:
        monkeypatch.setattr(sources, "open", full_open, raising=False)
    with pytest.raises(CannotWriteError) as caught:
        if where == "zip-member":
            ImageDataset.from_zip(archive, sandbox.work, image_size=32)
        else:
            ImageDataset.from_uploads(items(GOOD), sandbox.work, image_size=32)
    assert str(caught.value) == (NO_ROOM if where != "zip-member" else NO_ROOM.replace(
        "for these pictures", "for the pictures of 'flowers.zip'"))
    assert sandbox.inside() == inside and sandbox.outside() == outside


# -- limits before work: the memory a refused zip costs ----------------------------------------------
PEAK_SCRIPT = """
import json, sys, tempfile
from tlcore.data import ImageDataset, TooManyPicturesError

def rss(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":")) // 1024

start = rss("VmRSS")
try:
    ImageDataset.from_zip(sys.argv[1], tempfile.mkdtemp(), image_size=224, max_pictures=2000)
    said = None
except TooManyPicturesError as error:
    said = str(error)
print(json.dumps({"start_mb": start, "peak_mb": rss("VmHWM"), "said": said}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads peak memory from /proc (Linux)")
def test_a_zip_over_the_space_limit_is_refused_before_any_picture_is_decoded(tmp_path):
    """3,000 pictures for a space of 2,000: refused from the zip's listing. Decoding them first (as
    before) took 3,000 × 224 × 224 × 3 = 452 MB; here the peak stays within 100 MB of the start."""
    from PIL import Image

    archive = tmp_path / "class-photos.zip"
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        for i in range(3000):
            buffer = __import__("io").BytesIO()
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=70)
            out.writestr(f"{('cats', 'dogs', 'owls')[i % 3]}/{i:04d}.jpg", buffer.getvalue())
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(archive)], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["said"] == "'class-photos.zip' holds 3,000 pictures; a space holds at most 2,000. Choose fewer pictures."
    assert measured["peak_mb"] - measured["start_mb"] < 100, measured


# -- keeping a set in a space: all or nothing -------------------------------------------------------
def _mount_tmpfs(path: Path, size: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB file system for a workspace; skips where this machine does not let the test mount one."""
    yield from _small_file_system(tmp_path / "small", "4m")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MB file system: room for a space's settings, none for a set's pixels."""
    yield from _small_file_system(tmp_path / "tiny", "1m")


def _small_file_system(path: Path, size: str):
    if not _mount_tmpfs(path, size):
        pytest.skip("cannot mount a small file system here (needs root); the injected ENOSPC tests cover it")
    yield path
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def _space_with_a_set(root: Path, tmp_path: Path):
    """A store in ``root`` whose space keeps a small set (3 classes × 4 at 64 px)."""
    from tlcore.spaces import SpaceStore

    store = SpaceStore(root / "spaces")
    space = store.create("Ana")
    first = ImageDataset.from_folder(make_classes(tmp_path / "first", {"a": 4, "b": 4, "c": 4}), image_size=64)
    store.save_dataset(space.id, first, "first")
    return store, space


def _what_a_space_keeps(space) -> dict:
    """Its files (name, size, time written), its folders, and which files its pictures are."""
    entries = tree(space.folder)
    return {"files": {name: info for name, info in entries.items() if info[0] != "dir"},
            "folders": sorted(name for name, info in entries.items() if info[0] == "dir"),
            "inodes": sorted(p.stat().st_ino for p in space.pictures_dir.rglob("*.jpg"))}


def _bigger_set(tmp_path: Path) -> ImageDataset:
    """30 pictures at 224 px: 4.5 MB of pixels, more than the small disk holds."""
    return ImageDataset.from_folder(make_classes(tmp_path / "bigger", {"x": 15, "y": 15}, first_seed=500),
                                    image_size=224)


KEPT_NOTHING = "Nothing was changed in your space; free some space on that disk (or ask your teacher) and try again."


def test_a_set_too_big_for_the_disk_is_refused_before_anything_is_written(small_disk, tmp_path):
    from tlcore.spaces import SpaceError

    store, space = _space_with_a_set(small_disk, tmp_path)
    before = _what_a_space_keeps(space)
    with pytest.raises(SpaceError) as caught:
        store.save_dataset(space.id, _bigger_set(tmp_path), "bigger")
    said = str(caught.value)
    assert said.startswith("These pictures could not be kept: the disk where the Studio keeps your work is full (") and \
        said.endswith(f" are free). {KEPT_NOTHING}"), said
    assert _what_a_space_keeps(space) == before and store.state(space.id).picture_set == "first"


def test_a_disk_that_fills_while_a_set_is_kept_keeps_the_old_set(small_disk, tmp_path, monkeypatch):
    """The room check passed (another writer filled the disk meanwhile): the real ENOSPC mid-write
    leaves no file of the new set, and the old set as it was."""
    import tlcore.spaces as spaces

    store, space = _space_with_a_set(small_disk, tmp_path)
    before = _what_a_space_keeps(space)
    monkeypatch.setattr(spaces, "_check_room", lambda dataset, space: None)
    with pytest.raises(spaces.SpaceError) as caught:
        store.save_dataset(space.id, _bigger_set(tmp_path), "bigger")
    assert str(caught.value) == f"These pictures could not be kept: the disk where the Studio keeps your work is full. {KEPT_NOTHING}"
    assert _what_a_space_keeps(space) == before and store.state(space.id).picture_set == "first"
    np.testing.assert_array_equal(store.load_pictures(space.id, image_size=64).pixels(),
                                  ImageDataset.from_folder(tmp_path / "first", image_size=64).pixels())


@pytest.mark.parametrize("where", ["picture-files", "pixels-file"])
def test_a_full_disk_injected_at_the_real_write_keeps_the_old_set(where, tmp_path, monkeypatch):
    import tlcore.spaces as spaces

    store, space = _space_with_a_set(tmp_path / "workspace", tmp_path)
    before = _what_a_space_keeps(space)
    if where == "picture-files":  # a hard link, else a copy: both refused
        monkeypatch.setattr(spaces.os, "link", fail_with(errno.ENOSPC))
    else:
        monkeypatch.setattr(spaces.os, "posix_fallocate", fail_with(errno.ENOSPC))
    bigger = ImageDataset.from_folder(make_classes(tmp_path / "bigger", {"x": 3, "y": 3}, first_seed=500),
                                      image_size=64)
    with pytest.raises(spaces.SpaceError) as caught:
        store.save_dataset(space.id, bigger, "bigger")
    assert str(caught.value) == f"These pictures could not be kept: the disk where the Studio keeps your work is full. {KEPT_NOTHING}"
    assert _what_a_space_keeps(space) == before and store.state(space.id).picture_set == "first"
    monkeypatch.undo()
    kept = store.save_dataset(space.id, bigger, "bigger")  # room again: kept whole
    assert kept.counts == {"x": 3, "y": 3} and sorted(p.name for p in space.pictures_dir.iterdir()) == ["x", "y"]


def test_a_space_holding_more_than_its_limit_is_refused_before_decoding(tmp_path):
    from tlcore.spaces import SpaceStore

    store = SpaceStore(tmp_path / "spaces", max_pictures=5)
    space = store.create("Ana")
    make_classes(space.pictures_dir, GOOD)  # put there by hand, or kept under a larger limit
    with pytest.raises(TooManyPicturesError, match="^That set has 6 pictures; a space holds at most 5."):
        store.load_pictures(space.id, image_size=32)
    assert not space.cache_dir.exists() or list(space.cache_dir.iterdir()) == []


# -- files chosen in the browser that never arrived ----------------------------------------------------
def test_files_chosen_but_never_received_are_named_beside_the_received_ones():
    """What the phone's browser asked to upload, in one request per choice, against what arrived."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec
    from streamlit.proto.Common_pb2 import FileURLs

    from studio.uploads import not_arrived, track

    manager = MemoryUploadedFileManager("/upload")
    track(manager)
    track(manager)  # once is enough: a second call changes nothing

    def choose(session, names, arrive):
        urls = manager.get_upload_urls(session, names)
        received = []
        for info, name in zip(urls, names):
            if name in arrive:
                record = UploadedFileRec(info.file_id, name, "image/jpeg", b"jpeg")
                manager.add_file(session, record)
                received.append(UploadedFile(record, FileURLs()))
        return received

    class_1 = choose("s1", [f"{i}.jpg" for i in range(15)], arrive={f"{i}.jpg" for i in range(15)})
    class_2 = choose("s1", ["a.jpg", "541630764_dbd285d63c.jpg", "c.jpg"], arrive={"a.jpg", "c.jpg"})
    removed = choose("s1", ["gone.jpg", "kept.jpg"], arrive={"gone.jpg", "kept.jpg"})
    manager.remove_file("s1", removed[0].file_id)  # the user's X
    other_session = choose("s2", ["x.jpg", "y.jpg"], arrive={"x.jpg"})
    assert not_arrived(manager, "s1", [class_1, class_2, removed[1:]]) == [[], ["541630764_dbd285d63c.jpg"], []]
    assert not_arrived(manager, "s2", [other_session]) == [["y.jpg"]]
    manager.remove_session_files("s1")  # the session ended
    assert not_arrived(manager, "s1", [class_2]) == [[]]
    assert not_arrived(MemoryUploadedFileManager("/u"), "s1", [class_2]) == [[]]  # never tracked: nothing said


# -- on the Data page (AppTest) ----------------------------------------------------------------------------
from studio_support import environment, folders, open_page, switch, texts  # noqa: E402,F401 (fixtures by name)


def over_limit_zip(count: int) -> bytes:
    """``count`` members named as pictures: refused from the listing, so their bytes never matter."""
    buffer = __import__("io").BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as out:
        for i in range(count):
            out.writestr(f"photos/{('cats', 'dogs')[i % 2]}/{i:04d}.jpg", b"x")
    return buffer.getvalue()


def test_a_student_space_refuses_a_zip_over_its_limit_before_reading_it(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from studio_support import APP, TIMEOUT
    from tlcore.spaces import MAX_PICTURES_PER_SPACE

    monkeypatch.setenv("TLCORE_MODE", "classroom")
    monkeypatch.setenv("TLCORE_TEACHER_CODE", "PLANTS-2024")
    monkeypatch.setenv("TLCORE_JOIN_URL", "https://192.0.2.10:8501")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=60)
    at.text_input(key="join_name").input("🌼🌹👩🏽\u200d🔬 Team")
    at.button[0].click().run()
    assert "Your space: **🌼🌹👩🏽\u200d🔬 Team**" in texts(at)
    switch(at, "data").run()
    count = MAX_PICTURES_PER_SPACE + 1
    at.file_uploader(key="data_zip").set_value(("class-photos.zip", over_limit_zip(count), "application/zip")).run()
    assert not at.exception
    assert (f"These pictures cannot be used yet. 'class-photos.zip' holds {count:,} pictures; a space holds at most "
            f"{MAX_PICTURES_PER_SPACE:,}. Choose fewer pictures.") in [e.value for e in at.error]
    assert at.session_state["tl_dataset_name"] != "class-photos"  # the set it had stays
    work = Path(at.session_state["tl_work_dir"].path)
    assert [p for p in work.iterdir()] == []  # nothing unpacked, nothing decoded


def test_the_data_page_says_in_plain_words_that_a_full_disk_kept_nothing(folders, tiny_disk, monkeypatch):
    """The whole workspace on a small disk: the set is read, cannot be kept, and the page says so."""
    from test_app_pages import pets_zip

    monkeypatch.setenv("TLCORE_WORKSPACE", str(tiny_disk))
    at = open_page("data")
    at.file_uploader(key="data_zip").set_value(("pets.zip", pets_zip(), "application/zip")).run()
    assert not at.exception
    warning = next(w.value for w in at.warning if "could not be kept" in w.value)
    assert warning.startswith("These pictures could not be kept: the disk where the Studio keeps your work is full (") and \
        warning.endswith(f"are free). {KEPT_NOTHING} Until then, these pictures are used only in this browser tab, "
                         "as long as it stays open."), warning
    assert "Errno" not in warning and "bytes after offset" not in warning
    pictures = tiny_disk / "spaces" / "solo" / "pictures"
    assert not pictures.exists() or list(pictures.iterdir()) == []  # nothing half-kept
