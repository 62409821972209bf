"""tlcore.data: decoding, checking, unpacking, splitting, the demo set.

Every input is a real file made here with Pillow (no mocks).
"""

from __future__ import annotations

import ast
import io
import json
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tlcore.data import (
    DEMO_NAME,
    DatasetError,
    DatasetReport,
    ImageDataset,
    SkippedFile,
    SkippedFolder,
    UnreadablePicture,
    UnsafeArchiveError,
    demo_folder,
    extract_zip,
    is_safe_name,
    load_demo,
    load_picture,
    name_problem,
    open_rgb,
    read_folder,
    safe_name,
    to_array,
    write_uploads,
)

IMAGEFILE_SOURCE = Path(__file__).resolve().parents[1] / "tlcore" / "data" / "imagefile.py"


# ---- helpers ---------------------------------------------------------------------------


def noise_picture(seed: int, size: tuple[int, int] = (48, 48)) -> Image.Image:
    """A unique RGB picture per seed (so no two are exact copies)."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def jpeg_bytes(seed: int, size: tuple[int, int] = (48, 48)) -> bytes:
    buffer = io.BytesIO()
    noise_picture(seed, size).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def make_classes(root: Path, counts: dict[str, int], first_seed: int = 0) -> Path:
    """root/<class>/<class>_<i>.jpg with unique pictures."""
    seed = first_seed
    for class_name, count in counts.items():
        (root / class_name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            (root / class_name / f"{class_name}_{i}.jpg").write_bytes(jpeg_bytes(seed))
            seed += 1
    return root


def zip_bytes(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, data in members:
            archive.writestr(info, data)
    return buffer.getvalue()


def all_files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def skipped_reasons(report: DatasetReport) -> dict[str, str]:
    return {s.name: s.reason for s in report.skipped}


# ---- decoding one picture ------------------------------------------------------------


def test_truncated_jpeg_is_damaged(tmp_path):
    data = jpeg_bytes(1, (200, 200))
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadablePicture) as caught:
        load_picture(path, 64)
    assert caught.value.reason == "It is damaged or cut short."
    with pytest.raises(UnreadablePicture):
        open_rgb(path)


def test_text_named_jpg_is_not_a_picture(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("just some words, not pixels\n")
    with pytest.raises(UnreadablePicture) as caught:
        load_picture(path, 64)
    assert caught.value.reason == "It is not a picture."
    with pytest.raises(UnreadablePicture, match="is empty"):
        load_picture(b"", 64)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 1000, 32768, 65535]] * 4, dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I")
    pixels = np.asarray(open_rgb(path))
    assert pixels.shape == (4, 4, 3)
    assert pixels[0, :, 0].tolist() == [0, 4, 128, 255]
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(path, quality=95)  # pure red
    image = open_rgb(path)
    assert image.mode == "RGB"
    red, green, blue = np.asarray(image)[20, 20].tolist()
    assert red > 230 and green < 30 and blue < 30


def test_exif_orientation_is_applied(tmp_path):
    # Stored 60 wide x 40 high: left half red, right half blue, green marker top-left.
    stored = np.zeros((40, 60, 3), dtype=np.uint8)
    stored[:, :30] = (255, 0, 0)
    stored[:, 30:] = (0, 0, 255)
    stored[:8, :8] = (0, 255, 0)
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "phone.jpg"
    image.save(path, "JPEG", quality=95, exif=exif.tobytes())

    upright = open_rgb(path)
    assert upright.size == (40, 60)  # portrait now
    pixels = np.asarray(upright).astype(int)
    assert pixels[3, 36].tolist() == pytest.approx([0, 255, 0], abs=40)  # marker: top-right
    assert pixels[15, 20].tolist() == pytest.approx([255, 0, 0], abs=40)  # red: top half
    assert pixels[45, 20].tolist() == pytest.approx([0, 0, 255], abs=40)  # blue: bottom half

    square = load_picture(path, 20).astype(int)
    assert square[3, 10, 0] > 200 and square[16, 10, 2] > 200  # red above blue, not beside


def test_transparent_png_is_put_on_white(tmp_path):
    rgba = np.zeros((10, 10, 4), dtype=np.uint8)  # fully transparent black
    rgba[0, 0] = (255, 0, 0, 128)  # half-see-through red
    rgba[9, 9] = (0, 0, 255, 255)  # solid blue
    path = tmp_path / "clear.png"
    Image.fromarray(rgba, "RGBA").save(path)
    pixels = np.asarray(open_rgb(path)).astype(int)
    assert pixels[5, 5].tolist() == [255, 255, 255]
    assert pixels[0, 0].tolist() == pytest.approx([255, 127, 127], abs=2)
    assert pixels[9, 9].tolist() == [0, 0, 255]


def test_palette_with_transparency_is_put_on_white(tmp_path):
    palette_image = Image.new("P", (8, 8), 0)
    palette_image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette_image.putpixel((0, 0), 1)
    path = tmp_path / "icon.png"
    palette_image.save(path, transparency=0)
    pixels = np.asarray(open_rgb(path))
    assert pixels[4, 4].tolist() == [255, 255, 255]
    assert pixels[0, 0].tolist() == [255, 0, 0]


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    path = tmp_path / "blink.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(Image.open(path), "n_frames", 1) == 2
    assert np.asarray(open_rgb(path))[16, 16].tolist() == [255, 0, 0]
    assert load_picture(path, 8)[4, 4].tolist() == [255, 0, 0]


def test_grayscale_bmp_and_webp_become_rgb(tmp_path):
    Image.new("L", (20, 20), 77).save(tmp_path / "gray.bmp")
    noise_picture(3, (20, 20)).save(tmp_path / "pic.webp", lossless=True)
    assert np.asarray(open_rgb(tmp_path / "gray.bmp"))[0, 0].tolist() == [77, 77, 77]
    assert np.array_equal(np.asarray(open_rgb(tmp_path / "pic.webp")), np.asarray(noise_picture(3, (20, 20))))


def test_pixel_limit_and_minimum_side(tmp_path):
    path = tmp_path / "pic.png"
    noise_picture(4, (20, 10)).save(path)
    with pytest.raises(UnreadablePicture) as caught:
        load_picture(path, 8, max_pixels=100)
    assert caught.value.reason == "It is too large (20×10 pixels; the limit is 100 pixels)."
    with pytest.raises(UnreadablePicture, match=r"is too small \(20×10 pixels; at least 32×32"):
        load_picture(path, 8, min_side=32)

    big = io.BytesIO()
    Image.new("L", (8000, 7000)).save(big, "PNG")  # 56 million pixels: over the default
    with pytest.raises(UnreadablePicture) as caught:
        load_picture(big.getvalue(), 8)
    assert caught.value.reason == "It is too large (8000×7000 pixels; the limit is 50 million pixels)."


def test_to_array_is_teachable_machine_fit_and_deterministic(tmp_path):
    image = noise_picture(5, (90, 50))
    expected = np.asarray(image.resize((32, 32), Image.LANCZOS, box=(20, 0, 70, 50)))  # center square
    array = to_array(image, 32)
    assert array.dtype == np.uint8 and array.shape == (32, 32, 3)
    assert np.array_equal(array, expected)

    path = tmp_path / "big.jpg"
    smooth = noise_picture(6, (40, 30)).resize((800, 600), Image.BICUBIC)  # photo-like
    smooth.save(path, quality=95)  # 800 x 600: decoded at a reduced scale (draft)
    first, second = load_picture(path, 64), load_picture(path.read_bytes(), 64)
    assert first.shape == (64, 64, 3) and np.array_equal(first, second)
    full = to_array(open_rgb(path), 64)
    assert np.abs(first.astype(int) - full.astype(int)).mean() < 6  # draft is a close match


def test_imagefile_stands_alone():
    tree = ast.parse(IMAGEFILE_SOURCE.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports: the file is copied into predict.py"
            imported.add(node.module.split(".")[0])
    assert imported <= {"__future__", "io", "os", "typing", "numpy", "PIL"}


def test_data_package_does_not_import_tensorflow():
    code = (
        "import sys, tlcore.data\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'streamlit')]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=IMAGEFILE_SOURCE.parents[2])


# ---- folders ---------------------------------------------------------------------------


def test_read_folder_lists_classes_and_reports_loose_files(tmp_path):
    make_classes(tmp_path, {"rose": 2, "daisy": 1})
    (tmp_path / "daisy" / "more" / "deeper").mkdir(parents=True)
    (tmp_path / "daisy" / "more" / "deeper" / "d.jpg").write_bytes(jpeg_bytes(50))
    (tmp_path / "loose.jpg").write_bytes(jpeg_bytes(51))
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.jpg").write_bytes(jpeg_bytes(52))
    (tmp_path / "rose" / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "rose" / "Thumbs.db").write_bytes(b"junk")
    (tmp_path / "tulip").mkdir()

    listing = read_folder(tmp_path)
    assert listing.class_names == ["daisy", "rose", "tulip"]
    assert listing.empty_classes == ["tulip"]
    assert [f.name for f in listing.files] == [
        "daisy/daisy_0.jpg", "daisy/more/deeper/d.jpg", "rose/rose_0.jpg", "rose/rose_1.jpg",
    ]
    assert listing.files[1].class_name == "daisy"
    assert listing.files[1].path == tmp_path / "daisy" / "more" / "deeper" / "d.jpg"
    assert listing.skipped == [SkippedFile("loose.jpg", "It is not inside a class folder.")]


def test_one_wrapping_folder_is_descended(tmp_path):
    make_classes(tmp_path / "flowers", {"daisy": 1, "rose": 1})
    listing = read_folder(tmp_path)
    assert listing.root == tmp_path / "flowers"
    assert listing.class_names == ["daisy", "rose"]


def test_bad_files_are_skipped_with_reasons_and_loading_goes_on(tmp_path):
    make_classes(tmp_path, {"daisy": 3, "rose": 3})
    (tmp_path / "daisy" / "notes.jpg").write_text("not a picture")
    cut = jpeg_bytes(90, (100, 100))
    (tmp_path / "daisy" / "cut.jpg").write_bytes(cut[: len(cut) // 2])
    noise_picture(91, (10, 10)).save(tmp_path / "rose" / "tiny.png")
    shutil.copy(tmp_path / "daisy" / "daisy_0.jpg", tmp_path / "daisy" / "again.jpg")
    shutil.copy(tmp_path / "daisy" / "daisy_1.jpg", tmp_path / "rose" / "stray.jpg")
    noise_picture(92, (60, 40)).save(tmp_path / "rose" / "wide.png")

    dataset = ImageDataset.from_folder(tmp_path, image_size=32)
    reasons = skipped_reasons(dataset.report)
    assert reasons["daisy/notes.jpg"] == "It is not a picture."
    assert reasons["daisy/cut.jpg"] == "It is damaged or cut short."
    assert reasons["rose/tiny.png"] == "It is too small (10×10 pixels; at least 32×32 are needed)."
    assert reasons["daisy/daisy_0.jpg"] == "It is an exact copy of daisy/again.jpg."  # "again" sorts first
    assert reasons["rose/stray.jpg"].startswith("It is an exact copy of daisy/daisy_1.jpg")
    assert "class 'daisy'" in reasons["rose/stray.jpg"]
    assert set(reasons) == {"daisy/notes.jpg", "daisy/cut.jpg", "rose/tiny.png",
                            "daisy/daisy_0.jpg", "rose/stray.jpg"}
    assert dataset.counts == {"daisy": 3, "rose": 4}
    assert dataset.report.counts == {"daisy": 3, "rose": 4} and dataset.report.total == 7
    assert "rose/wide.png" in dataset.names
    assert "daisy/cut.jpg was skipped. It is damaged or cut short." in dataset.report.problems()
    assert "Class 'daisy' has only 3 pictures; 10 or more per class work better." in dataset.report.warnings


def test_empty_class_folder_is_an_error_naming_it(tmp_path):
    make_classes(tmp_path, {"daisy": 3, "rose": 3})
    (tmp_path / "tulip").mkdir()
    with pytest.raises(DatasetError, match="Class 'tulip' has no pictures") as caught:
        ImageDataset.from_folder(tmp_path, image_size=32)
    assert caught.value.report.counts == {"daisy": 3, "rose": 3, "tulip": 0}


def test_single_class_is_an_error(tmp_path):
    make_classes(tmp_path, {"daisy": 3})
    with pytest.raises(DatasetError) as caught:
        ImageDataset.from_folder(tmp_path, image_size=32)
    assert str(caught.value) == (
        "Found 1 class ('daisy'); at least 2 classes are needed, each in its own folder."
    )


def test_class_with_one_usable_picture_is_an_error_naming_it(tmp_path):
    make_classes(tmp_path, {"daisy": 3, "tulip": 1})
    (tmp_path / "tulip" / "broken.jpg").write_text("oops")
    with pytest.raises(DatasetError) as caught:
        ImageDataset.from_folder(tmp_path, image_size=32)
    assert str(caught.value) == "Class 'tulip' has 1 usable picture; every class needs at least 2."
    assert skipped_reasons(caught.value.report) == {"tulip/broken.jpg": "It is not a picture."}


def test_report_round_trips_and_warns_about_balance():
    report = DatasetReport.build({"daisy": 40, "rose": 3}, [SkippedFile("rose/a.jpg", "It is not a picture.")])
    assert report.warnings[0] == "Class 'rose' has only 3 pictures; 10 or more per class work better."
    assert "unbalanced" in report.warnings[1] and "'daisy'" in report.warnings[1]
    assert report.problems()[0] == "rose/a.jpg was skipped. It is not a picture."
    assert DatasetReport.from_dict(report.to_dict()) == report
    assert DatasetReport.build({"a": 12, "b": 30}, []).warnings == []


# ---- dataset: pixels, fingerprint, split, subset ------------------------------------------


@pytest.fixture
def three_classes(tmp_path) -> Path:
    return make_classes(tmp_path / "set", {"cat": 10, "dog": 7, "fox": 2})


def test_pixels_labels_and_resizing(three_classes):
    dataset = ImageDataset.from_folder(three_classes, image_size=32)
    assert len(dataset) == 19 and dataset.class_names == ["cat", "dog", "fox"]
    assert dataset.labels.dtype == np.int64 and dataset.labels.tolist() == [0] * 10 + [1] * 7 + [2] * 2
    assert dataset.names[0] == "cat/cat_0.jpg" and dataset.paths[0] == three_classes / "cat" / "cat_0.jpg"
    pixels = dataset.pixels()
    assert pixels.shape == (19, 32, 32, 3) and pixels.dtype == np.uint8
    assert dataset.pixels(32) is pixels
    bigger = dataset.pixels(48)
    assert bigger.shape == (19, 48, 48, 3) and bigger.dtype == np.uint8
    assert dataset.pixels(48) is bigger
    assert np.array_equal(bigger[5], load_picture(dataset.paths[5], 48))


def test_fingerprint_is_stable_and_follows_content(three_classes, tmp_path):
    first = ImageDataset.from_folder(three_classes, image_size=32)
    again = ImageDataset.from_folder(three_classes, image_size=40)
    assert first.fingerprint == again.fingerprint and len(first.fingerprint) == 64

    moved = tmp_path / "moved"
    shutil.copytree(three_classes, moved)
    (moved / "cat" / "cat_0.jpg").rename(moved / "cat" / "renamed.jpg")
    assert ImageDataset.from_folder(moved, image_size=32).fingerprint == first.fingerprint

    (moved / "cat" / "renamed.jpg").write_bytes(jpeg_bytes(999))
    assert ImageDataset.from_folder(moved, image_size=32).fingerprint != first.fingerprint

    relabelled = tmp_path / "relabelled"
    shutil.copytree(three_classes, relabelled)
    (relabelled / "cat" / "cat_1.jpg").rename(relabelled / "dog" / "cat_1.jpg")
    assert ImageDataset.from_folder(relabelled, image_size=32).fingerprint != first.fingerprint


def test_split_is_stratified_and_seeded(three_classes):
    dataset = ImageDataset.from_folder(three_classes, image_size=32)
    train, validation = dataset.split()
    assert train.dtype == np.int64 and validation.dtype == np.int64
    assert sorted(train.tolist() + validation.tolist()) == list(range(19))
    assert np.bincount(dataset.labels[validation]).tolist() == [2, 1, 1]  # 20% of 10, of 7, of 2
    assert np.bincount(dataset.labels[train]).tolist() == [8, 6, 1]

    same = dataset.split(seed=0)
    assert np.array_equal(same[0], train) and np.array_equal(same[1], validation)
    others = [dataset.split(seed=seed)[1] for seed in range(1, 6)]
    assert any(not np.array_equal(other, validation) for other in others)

    _, most = dataset.split(validation_fraction=0.9)
    assert np.bincount(dataset.labels[most]).tolist() == [9, 6, 1]  # each class keeps 1 to train
    for bad in (0, -0.1, 0.95, 1.0):
        with pytest.raises(ValueError, match="validation_fraction must be more than 0 and at most 0.9"):
            dataset.split(validation_fraction=bad)


def test_subset_slices_without_decoding(three_classes):
    dataset = ImageDataset.from_folder(three_classes, image_size=32)
    dataset.pixels(40)
    train, validation = dataset.split()
    part = dataset.subset(validation)
    assert part.class_names == dataset.class_names and len(part) == len(validation)
    assert part.counts == {"cat": 2, "dog": 1, "fox": 1}
    assert np.array_equal(part.pixels(), dataset.pixels()[validation])
    assert np.array_equal(part.pixels(40), dataset.pixels(40)[validation])
    assert part.names == [dataset.names[i] for i in validation]


# ---- zips and uploads --------------------------------------------------------------------


def test_zip_with_wrapping_folder_and_clutter(tmp_path):
    data = zip_bytes([
        ("flowers/", b""),
        ("flowers/daisy/a.JPG", jpeg_bytes(1)),
        ("flowers/daisy/b.jpeg", jpeg_bytes(2)),
        ("flowers/daisy/.DS_Store", b"junk"),
        ("flowers/rose/c.JPG", jpeg_bytes(3)),
        ("flowers/rose/d.png", _png_bytes(4)),
        ("__MACOSX/flowers/daisy/._a.JPG", b"resource fork"),
        ("flowers/.hidden/e.jpg", jpeg_bytes(5)),
        ("flowers/rose/notes.txt", b"not unpacked"),
    ])
    dataset = ImageDataset.from_zip(data, tmp_path / "work", image_size=32)
    assert dataset.counts == {"daisy": 2, "rose": 2}
    # named as the pictures are, without the wrapping folder
    assert dataset.report.skipped == [SkippedFile("rose/notes.txt", "It is not a picture.")]
    assert [f.name for f in dataset.report.folders] == ["__MACOSX", ".hidden"]
    assert dataset.report.problems()[-1].startswith("Class 'rose'")
    assert sorted(dataset.names) == ["daisy/a.JPG", "daisy/b.jpeg", "rose/c.JPG", "rose/d.png"]
    unpacked = dataset.root.parent
    assert all_files(unpacked) == {"flowers/daisy/a.JPG", "flowers/daisy/b.jpeg",
                                   "flowers/rose/c.JPG", "flowers/rose/d.png"}

    zip_path = tmp_path / "flowers.zip"
    zip_path.write_bytes(data)
    assert ImageDataset.load(zip_path, work_dir=tmp_path / "w2", image_size=32).counts == dataset.counts
    assert ImageDataset.load(dataset.root, image_size=32).fingerprint == dataset.fingerprint


def _png_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    noise_picture(seed).save(buffer, "PNG")
    return buffer.getvalue()


def _symlink_member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    "bad_member, words",
    [
        ("../evil.jpg", "leads outside its folder"),
        ("daisy/../../evil.jpg", "leads outside its folder"),
        ("..\\evil.jpg", "leads outside its folder"),
        ("/tmp/evil.jpg", "absolute path"),
        ("C:/evil.jpg", "absolute path"),
        (_symlink_member("daisy/link.jpg"), "symbolic link"),
    ],
)
def test_unsafe_zip_members_are_refused_before_writing(tmp_path, bad_member, words):
    data = zip_bytes([("daisy/fine.jpg", jpeg_bytes(1)), (bad_member, b"/etc/passwd")])
    dest = tmp_path / "inner" / "dest"
    with pytest.raises(UnsafeArchiveError, match=words):
        extract_zip(data, dest)
    assert all_files(tmp_path) == set()  # nothing written anywhere, not even fine.jpg


def test_zip_limits_are_checked_before_writing(tmp_path):
    data = zip_bytes([(f"daisy/{i}.jpg", jpeg_bytes(i)) for i in range(3)])
    dest = tmp_path / "dest"
    with pytest.raises(UnsafeArchiveError, match="would unpack to .*the limit is 1.0 kB"):
        extract_zip(data, dest, max_total_bytes=1000)
    with pytest.raises(UnsafeArchiveError, match="holds 3 files; the limit is 2"):
        extract_zip(data, dest, max_files=2)
    assert all_files(tmp_path) == set()
    assert all_files(extract_zip(data, dest)) == {"daisy/0.jpg", "daisy/1.jpg", "daisy/2.jpg"}


def test_zip_size_limit_counts_only_what_is_unpacked(tmp_path):
    """A video left in a zip of pictures is skipped unread; it does not make the zip too big."""
    from tlcore.data import unpack_zip

    pictures = [(f"daisy/{i}.jpg", jpeg_bytes(i)) for i in range(3)]
    data = zip_bytes(pictures + [("daisy/film.mp4", bytes(50_000))])
    limit = sum(len(picture) for _, picture in pictures) + 100
    unpacked = unpack_zip(data, tmp_path / "dest", max_total_bytes=limit, max_picture_bytes=20_000)
    assert all_files(tmp_path / "dest") == {"daisy/0.jpg", "daisy/1.jpg", "daisy/2.jpg"}
    assert [f.sentence() for f in unpacked.skipped] == [
        "daisy/film.mp4 was skipped. It is 50.0 kB, more than the 20.0 kB a picture may be; it was not unpacked."]
    # One byte over the limit: the message shows enough decimals to tell the two sizes apart.
    total = limit - 100
    with pytest.raises(UnsafeArchiveError) as caught:
        unpack_zip(zip_bytes(pictures), tmp_path / "again", max_total_bytes=total - 1)
    assert str(caught.value) == f"The uploaded file would unpack to {total / 1e3:.3f} kB; the limit is {(total - 1) / 1e3:.1f} kB."


def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "pictures.zip"
    path.write_text("hello")
    with pytest.raises(UnsafeArchiveError, match="'pictures.zip' is not a zip file"):
        extract_zip(path, tmp_path / "dest")
    with pytest.raises(UnsafeArchiveError, match="is not a zip file"):
        ImageDataset.from_zip(b"\x89PNG not a zip", tmp_path / "work")


def test_uploads_never_write_outside_dest(tmp_path):
    dest = tmp_path / "a" / "dest"
    items = [
        ("Daisy flowers", "flowers/daisy/x.jpg", jpeg_bytes(1)),
        ("Daisy flowers", "sub/dir/../x.jpg", jpeg_bytes(2)),
        ("Daisy flowers", "..\\..\\X.JPG", jpeg_bytes(3)),
        ("Daisy flowers", "../../.bashrc", jpeg_bytes(4)),
        ("../rose", "/etc/passwd", jpeg_bytes(5)),
        ("../rose", "..", jpeg_bytes(6)),
        ("Daisy flowers ", "y.jpg", jpeg_bytes(7)),
    ]
    assert write_uploads(items, dest) == dest
    assert all_files(tmp_path) == {
        f"a/dest/{name}" for name in (
            "Daisy flowers/x.jpg", "Daisy flowers/x_1.jpg", "Daisy flowers/X_2.JPG",
            "Daisy flowers/bashrc", "Daisy flowers/y.jpg", "_rose/passwd", "_rose/picture",
        )
    }
    assert (dest / "Daisy flowers" / "x_1.jpg").read_bytes() == jpeg_bytes(2)


def test_from_uploads_loads_and_reuses_work_dir_cleanly(tmp_path):
    items = [(c, f"{c}{i}.jpg", jpeg_bytes(10 * k + i)) for k, c in enumerate(["cat", "dog"]) for i in range(3)]
    first = ImageDataset.from_uploads(items, tmp_path / "work", image_size=32)
    second = ImageDataset.from_uploads(items[:2] + items[3:5], tmp_path / "work", image_size=32)
    assert first.counts == {"cat": 3, "dog": 3} and second.counts == {"cat": 2, "dog": 2}


def test_safe_name():
    assert safe_name("Daisy flowers") == "Daisy flowers"
    assert safe_name("Löwenzahn") == "Löwenzahn"
    assert safe_name("../../etc/passwd") == "_.._etc_passwd"
    assert safe_name("a\\b:c*?.jpg") == "a_b_c__.jpg"
    assert safe_name("...") == "unnamed" and safe_name("", fallback="x") == "x"
    assert safe_name(".hidden.jpg") == "hidden.jpg"
    assert safe_name("CON") == "_CON"
    assert len(safe_name("x" * 500 + ".jpeg")) <= 120 and safe_name("x" * 500 + ".jpeg").endswith(".jpeg")


# ---- demo set ------------------------------------------------------------------------------


def test_demo_set_is_complete_and_deterministic(tmp_path, monkeypatch):
    first = demo_folder(tmp_path / "one")
    second = demo_folder(tmp_path / "two")
    assert all_files(first) - {".complete"} == all_files(second) - {".complete"}
    names = sorted(all_files(first) - {".complete"})
    assert len(names) == 90
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    with Image.open(first / names[0]) as picture:
        assert picture.size == (160, 160) and picture.format == "JPEG"
    assert demo_folder(tmp_path / "one") == first  # reused as is

    monkeypatch.setenv("TLCORE_CACHE_DIR", str(tmp_path / "cache"))
    dataset = load_demo(image_size=32)
    assert dataset.root == tmp_path / "cache" / "demo-shapes-v1"
    assert dataset.counts == {"circle": 30, "square": 30, "triangle": 30}
    assert dataset.report.problems() == []
    assert DEMO_NAME == "Shapes (built-in demo)"


# ---- the real data set -----------------------------------------------------------------


def test_real_flowers5_loads(flowers):
    dataset = ImageDataset.from_folder(flowers, image_size=64)
    assert dataset.class_names == ["daisy", "dandelion", "rose", "sunflower", "tulip"]
    listing = read_folder(flowers)
    assert {c: sum(f.class_name == c for f in listing.files) for c in dataset.class_names} == dict.fromkeys(
        dataset.class_names, 300
    )
    # flowers5 really holds a few byte-identical files (3 of 1500); they are the only skips.
    reasons = [s.reason for s in dataset.report.skipped]
    assert all(reason.startswith("It is an exact copy of") for reason in reasons)
    assert len(reasons) <= 5 and dataset.report.total + len(reasons) == 1500
    assert dataset.pixels().shape == (len(dataset), 64, 64, 3)


# ---- big files that are not pictures ------------------------------------------------------

_PEAK_MEMORY_SCRIPT = """
import json, sys
from tlcore.data import ImageDataset
dataset = ImageDataset.from_folder(sys.argv[1], image_size=32)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"peak_kb": int(status["VmHWM"].split()[0]), "problems": dataset.report.problems()}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads peak memory from /proc (Linux)")
def test_peak_memory_does_not_grow_with_big_non_pictures(tmp_path):
    make_classes(tmp_path, {"daisy": 3, "rose": 3})
    with open(tmp_path / "daisy" / "lesson video.mp4", "wb") as file:
        file.truncate(1 << 30)  # 1 GiB, sparse: costs no disk
    with open(tmp_path / "rose" / "disk.img", "wb") as file:
        file.truncate(40_000_000)  # under the size limit: only its header is read
    result = subprocess.run([sys.executable, "-c", _PEAK_MEMORY_SCRIPT, str(tmp_path)], check=True,
                            capture_output=True, text=True, cwd=IMAGEFILE_SOURCE.parents[2])
    measured = json.loads(result.stdout)
    assert measured["peak_kb"] * 1024 < 1 << 30, f"peak RSS {measured['peak_kb'] / 1024:.0f} MB"
    assert "daisy/lesson video.mp4 was skipped. It is 1.1 GB, more than the 50.0 MB a picture may be." in measured["problems"]
    assert "rose/disk.img was skipped. It is not a picture." in measured["problems"]


# ---- names ------------------------------------------------------------------------------------


def test_name_check_and_safe_name_agree():
    assert name_problem("Daisy flowers") is None and name_problem("..daisy") is None
    assert name_problem("Löwenzahn") is None and is_safe_name("a" * 120)
    assert name_problem("..") == "It leads outside its folder." and name_problem("") == "It is not a name."
    assert name_problem("a/b") == name_problem("a\\b") == "It holds a slash."
    assert name_problem("a" * 121) == "It is too long (121 characters; at most 120 can be used)."
    assert name_problem("花" * 90) == "It is too long (90 characters; at most 120 can be used)."  # 270 bytes
    assert name_problem("lpt1.txt") == "It is a name Windows keeps for a device."
    for text in ["../../etc/passwd", "...", " daisy. ", "CON", "花" * 200 + ".jpeg", "a\x00b", "tulip?",
                 ".hidden", "x" * 500 + ".jpeg", "Ünïcödé  name"]:
        assert is_safe_name(safe_name(text)), text


# ---- changing a set without reading the files again ------------------------------------------


@pytest.fixture
def loaded_with_skips(tmp_path) -> ImageDataset:
    root = make_classes(tmp_path / "set", {"cat": 4, "dog": 3, "fox": 3})
    (root / "dog" / "notes.jpg").write_text("not a picture")
    shutil.copy(root / "cat" / "cat_0.jpg", root / "dog" / "stray.jpg")  # a copy of a cat, in dog
    return ImageDataset.from_folder(root, image_size=32)


def _no_decoding(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a file was decoded again")
    monkeypatch.setattr("tlcore.data.dataset._decode_file", refuse)


def test_without_reuses_pixels_and_rewrites_the_report(loaded_with_skips, monkeypatch):
    data = loaded_with_skips
    assert skipped_reasons(data.report)["dog/stray.jpg"].startswith("It is an exact copy of cat/cat_0.jpg")
    _no_decoding(monkeypatch)

    smaller = data.without(class_names=["fox"], names=["cat/cat_3.jpg"])
    assert smaller.class_names == ["cat", "dog"] and smaller.counts == {"cat": 3, "dog": 3}
    kept = [data.names.index(n) for n in smaller.names]
    assert np.array_equal(smaller.pixels(), data.pixels()[kept])
    assert smaller.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert smaller.report.counts == {"cat": 3, "dog": 3}
    assert set(skipped_reasons(smaller.report)) == {"dog/notes.jpg", "dog/stray.jpg"}

    no_cats = data.without(names=["cat/cat_0.jpg"])
    assert skipped_reasons(no_cats.report)["dog/stray.jpg"] == (
        "It is an exact copy of cat/cat_0.jpg, which was taken out of the set; load the pictures again to use this one."
    )
    no_dogs = data.without(class_names=["dog"])
    assert no_dogs.class_names == ["cat", "fox"] and no_dogs.report.skipped == []

    with pytest.raises(ValueError, match="There is no class 'wolf' in this picture set."):
        data.without(class_names=["wolf"])
    with pytest.raises(ValueError, match="There is no picture cat/nope.jpg in this picture set."):
        data.without(names=["cat/nope.jpg"])
    with pytest.raises(DatasetError, match=r"Found 1 class \('cat'\)"):
        data.without(class_names=["dog", "fox"])


def test_renamed_reuses_pixels_and_keeps_the_report_honest(loaded_with_skips, monkeypatch):
    data = loaded_with_skips
    data.pixels(40)
    _no_decoding(monkeypatch)

    renamed = data.renamed({"cat": "kitten", "fox": "Arctic fox"})
    assert renamed.class_names == ["Arctic fox", "dog", "kitten"]  # sorted again
    assert renamed.counts == {"Arctic fox": 3, "dog": 3, "kitten": 4}
    for name, label, path in zip(renamed.names, renamed.labels, renamed.paths):
        old = data.names[data.paths.index(path)]
        assert name.split("/", 1)[1] == old.split("/", 1)[1]
        assert name.split("/", 1)[0] == renamed.class_names[label]
    order = [data.paths.index(p) for p in renamed.paths]
    assert np.array_equal(renamed.pixels(40), data.pixels(40)[order])
    assert skipped_reasons(renamed.report)["dog/stray.jpg"] == (
        "It is an exact copy of kitten/cat_0.jpg, which is in class 'kitten'; a picture can only teach one class."
    )
    assert renamed.fingerprint != data.fingerprint
    assert data.renamed({"cat": "cat"}).fingerprint == data.fingerprint

    swapped = data.renamed({"cat": "dog", "dog": "cat"})
    assert swapped.counts == {"cat": 3, "dog": 4, "fox": 3}
    with pytest.raises(ValueError) as caught:
        data.renamed({"cat": "Dog"})
    assert str(caught.value) == ("The classes 'cat' and 'dog' would both be called 'Dog'; choose another name "
                                 "(names that differ only in capitals count as the same).")
    with pytest.raises(ValueError, match=r"The class name 'a/b' cannot be used. It holds a slash. Choose another name."):
        data.renamed({"cat": "a/b"})
    with pytest.raises(ValueError, match="It starts with a dot, which would hide it."):
        data.renamed({"cat": ".cat"})
    with pytest.raises(ValueError, match="There is no class 'wolf'"):
        data.renamed({"wolf": "dog"})


def test_report_round_trips_with_folders_notes_and_copies():
    report = DatasetReport.build(
        {"a": 12, "b": 12}, [SkippedFile("b/x.jpg", "It is an exact copy of a/x.jpg.", "a/x.jpg")],
        [SkippedFolder(".git", "Hidden folders (their names start with a dot) are left out.")],
        ["a warning"], ["a note"],
    )
    assert report.problems() == [
        "b/x.jpg was skipped. It is an exact copy of a/x.jpg.",
        "The folder .git/ was skipped. Hidden folders (their names start with a dot) are left out.",
        "a warning", "a note",
    ]
    assert DatasetReport.from_dict(report.to_dict()) == report
    assert DatasetReport.from_dict({"counts": {"a": 1}}).folders == []  # reports saved before still load


def test_folder_upload_items_take_the_class_from_the_parent_folder():
    from tlcore.data import folder_upload_items

    items, outside = folder_upload_items([("flowers/daisy/a.jpg", b"1"), ("flowers/rose/b.jpg", b"2"),
                                          ("flowers/readme.txt", b"3"), ("loose.jpg", b"4"),
                                          ("flowers/.git/x.jpg", b"5")])
    assert items == [("daisy", "a.jpg", b"1"), ("rose", "b.jpg", b"2"), ("flowers", "readme.txt", b"3")]
    assert outside == ["loose.jpg"]


def test_added_pictures_decode_only_the_new_files(tmp_path, monkeypatch):
    """Adding webcam photos (or a class) to a set keeps what was decoded and reports copies."""
    import tlcore.data.dataset as dataset_module
    from bad_inputs import jpeg_bytes, make_classes

    base = ImageDataset.from_folder(make_classes(tmp_path / "set", {"ants": 3, "bees": 3}), image_size=32)
    decoded = []
    real = dataset_module._decode_file
    monkeypatch.setattr(dataset_module, "_decode_file", lambda path, size: decoded.append(path) or real(path, size))
    copy = (tmp_path / "set" / "ants" / "ants_0.jpg").read_bytes()
    bigger = base.added([("bees", "webcam_001.jpg", jpeg_bytes(900)), ("wasps", "w1.jpg", jpeg_bytes(901)),
                         ("wasps", "w2.jpg", jpeg_bytes(902)), ("bees", "again.jpg", copy),
                         ("bees", "notes.jpg", b"not a picture")], tmp_path / "work")
    assert len(decoded) == 5  # only the new files
    assert bigger.class_names == ["ants", "bees", "wasps"] and bigger.counts == {"ants": 3, "bees": 4, "wasps": 2}
    np.testing.assert_array_equal(bigger.pixels()[:6], base.pixels())
    assert [bigger.class_names[l] for l in bigger.labels[:6]] == ["ants"] * 3 + ["bees"] * 3
    problems = bigger.report.problems()
    assert "bees/again.jpg was skipped. It is an exact copy of ants/ants_0.jpg, which is in class 'ants'; " \
           "a picture can only teach one class." in problems
    assert "bees/notes.jpg was skipped. It is not a picture." in problems


def test_added_pictures_keep_their_own_names(tmp_path):
    from bad_inputs import jpeg_bytes, make_classes

    base = ImageDataset.from_folder(make_classes(tmp_path / "set", {"ants": 2, "bees": 2}), image_size=32)
    once = base.added([("bees", "camera_0001.jpg", jpeg_bytes(700))], tmp_path / "work")
    twice = once.added([("bees", "camera_0001.jpg", jpeg_bytes(701)), ("bees", "bees_0.jpg", jpeg_bytes(702))],
                       tmp_path / "work")
    assert sorted(n for n in twice.names if n.startswith("bees/")) == [
        "bees/bees_0.jpg", "bees/bees_0_1.jpg", "bees/bees_1.jpg", "bees/camera_0001.jpg", "bees/camera_0001_1.jpg"]
