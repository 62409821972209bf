"""Move one picture to another class, the one-click fix for a label that looks wrong.

``moved_picture(dataset, "daisy/a.jpg", "rose")`` is the set with that picture in "rose"
(named "rose/a.jpg"), every picture in the same place and order, the decoded pixels reused.
Keeping the order keeps the pixels the same, so the features cached for the set (and a map
drawn from them) still belong to it: only the labels changed. The file on disk is not
touched. (``ImageDataset.without`` removes a picture; this is its companion, kept here
until the data package takes it.)
"""

from __future__ import annotations


def moved_picture(dataset, name: str, to_class: str):
    """A new ImageDataset: ``dataset`` with the picture ``name`` ("class/file.jpg") in ``to_class``.

    Raises ValueError, in plain words, for a picture or class that is not in the set, or a
    move that would leave its class with fewer than 2 pictures (too few to train on)."""
    from ..data import ImageDataset
    from ..data.lookalikes import lookalike_findings
    from ..data.report import MIN_PICTURES_PER_CLASS, DatasetReport

    if name not in dataset.names:
        raise ValueError(f"There is no picture {name} in this picture set.")
    if to_class not in dataset.class_names:
        raise ValueError(f"There is no class '{to_class}' in this picture set.")
    index = dataset.names.index(name)
    from_class = dataset.class_names[int(dataset.labels[index])]
    if from_class == to_class:
        return dataset
    if dataset.counts[from_class] - 1 < MIN_PICTURES_PER_CLASS:
        raise ValueError(f"Moving it would leave '{from_class}' with fewer than {MIN_PICTURES_PER_CLASS} pictures, "
                         "too few to learn from. Add pictures to that class first.")
    labels = dataset.labels.copy()
    labels[index] = dataset.class_names.index(to_class)
    names = list(dataset.names)
    names[index] = _free_name(to_class, name.split("/", 1)[-1], set(n.casefold() for n in names))
    moved = ImageDataset(
        class_names=dataset.class_names, paths=dataset.paths, names=names, labels=labels,
        file_hashes=dataset.file_hashes, pixels=dataset.pixels(), image_size=dataset.image_size,
        report=DatasetReport({}), root=dataset.root, look_hashes=dataset.look_hashes,
        original_sizes=dataset.original_sizes,
    )
    # Pictures already decoded at other sizes (for a network's input) stay decoded: same order.
    for size, pixels in getattr(dataset, "_pixels_by_size", {}).items():
        moved._pixels_by_size.setdefault(size, pixels)
    warnings, notes = lookalike_findings(names, labels, dataset.class_names, moved.pixels(), moved.look_hashes,
                                         moved.original_sizes)
    moved.report = DatasetReport.build(moved.counts, list(dataset.report.skipped), list(dataset.report.folders),
                                       warnings, notes)
    return moved


def _free_name(class_name: str, file_name: str, taken: set[str]) -> str:
    """"rose/a.jpg", or "rose/a_1.jpg" if the class already has an "a.jpg"."""
    stem, dot, suffix = file_name.rpartition(".")
    stem, suffix = (stem, dot + suffix) if dot else (file_name, "")
    candidate, number = f"{class_name}/{file_name}", 1
    while candidate.casefold() in taken:
        candidate, number = f"{class_name}/{stem}_{number}{suffix}", number + 1
    return candidate


__all__ = ["moved_picture"]
