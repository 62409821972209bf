"""The Teacher page's swap test for a class of 30 groups: cold, warm, and after one group trained again.

Each group is a student space with its own real flower photos (10 of each of the 5 classes, no
photo shared between groups) and one head-only training of MobileNetV2-0.35 (the shared ImageNet
file, 224 px, 5 epochs) through the line's job (``TrainingJob``), on a warm network as the line
runs them. The swap test then runs as the page runs it: in the class's ``SwapWorker`` (a
background thread at a lower CPU priority), timed from start to the saved grid.

- cold: no features kept (each space's ``cache/swap-*.npz`` removed) and no network loaded in this
  process, as at the first swap test after a server start;
- warm: the features kept, the whole grid worked out again (no saved grid to reuse);
- one group retrained: one group trains again (a new run, its latest, on another split of its
  pictures); the saved grid is reused except that group's row and column.

Also: what the page's look for a group that trained again (every 2 s while the Teacher page is
open) costs: ``class_fingerprint``, and reading every group's runs when that changed.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from common import FLOWERS, SHARED_WEIGHTS, table

GROUPS, PER_CLASS, QUICK_GROUPS = 30, 10, 3
TARGET_SECONDS = 60


def group_folder(root: Path, group: int) -> Path:
    """``PER_CLASS`` flower photos of every class, different ones for each group."""
    folder = root / f"pictures-{group}"
    for name in sorted(p.name for p in FLOWERS.iterdir()):
        (folder / name).mkdir(parents=True)
        for photo in sorted((FLOWERS / name).iterdir())[group * PER_CLASS:(group + 1) * PER_CLASS]:
            os.symlink(photo, folder / name / photo.name)
    return folder


def train(settings, folder: Path, space, cache: Path) -> None:
    from tlcore.data import ImageDataset
    from tlcore.jobs import TrainingJob

    dataset = ImageDataset.from_folder(folder, image_size=settings.resolved_input_size)
    job = TrainingJob(settings, dataset, workspace=space.runs_dir, cache_dir=cache)
    job.train_and_save()
    assert job.run is not None, job.error


def timed_swap(worker) -> tuple[float, dict]:
    started = time.perf_counter()
    assert worker.start()
    worker.join()
    seconds, snap = time.perf_counter() - started, worker.snapshot()
    assert snap["outcome"] == "done", snap
    return seconds, snap


def staleness_checks(store, repeats: int = 5) -> tuple[float, float]:
    """Seconds of one look at the class's groups (every run read) and of the page's usual look,
    ``class_fingerprint`` (a few stats a space; the groups are read only when it changes)."""
    from tlcore.classroom import swap

    seconds = []
    for look in (lambda: swap.grid_groups(swap.class_groups(store)), lambda: swap.class_fingerprint(store)):
        started = time.perf_counter()
        for _ in range(repeats):
            look()
        seconds.append((time.perf_counter() - started) / repeats)
    return seconds[0], seconds[1]


def bench_swap(quick: bool = False) -> str:
    if not (SHARED_WEIGHTS.is_file() and FLOWERS.is_dir()):
        return "### Swap test\n\nSkipped: needs ../shared (real weights and flowers)."
    from tlcore.classroom import swap
    from tlcore.settings import TrainingSettings
    from tlcore.spaces import SpaceStore

    groups = QUICK_GROUPS if quick else GROUPS
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=str(SHARED_WEIGHTS), epochs=5)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        store = SpaceStore.in_workspace(root / "workspace")
        spaces = [store.create(f"Group {n + 1}") for n in range(groups)]
        folders = [group_folder(root, n) for n in range(groups)]
        started = time.perf_counter()
        for n, space in enumerate(spaces):
            train(settings.replace(seed=n), folders[n], space, root / "cache")
        build = time.perf_counter() - started
        worker = swap.SwapWorker(root / "workspace", store)

        for space in spaces:
            for kept in space.folder.glob("cache/swap-*.npz"):
                kept.unlink()
        swap._EXTRACTORS.clear()
        cold, snap = timed_swap(worker)
        pictures = sum(len(group.pictures[0]) for group in swap.class_groups(store))
        (root / "workspace" / "classroom" / "swap.json").unlink()
        warm, _ = timed_swap(worker)

        time.sleep(1.1)  # a new run folder name (they are named by the second)
        train(settings.replace(seed=1000), folders[0], spaces[0], root / "cache")  # another split, a new run
        retrained, retrained_snap = timed_swap(worker)
        check, fingerprint = staleness_checks(store)
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    rows = [{"swap test": "cold (no features kept, no network loaded)", "s": f"{cold:.1f}",
             "models tried": snap["worked"]},
            {"swap test": "warm (features kept, whole grid again)", "s": f"{warm:.1f}", "models tried": groups},
            {"swap test": "one group trained again (its row and column)", "s": f"{retrained:.1f}",
             "models tried": retrained_snap["worked"]}]
    summary = {"section": "swap", "groups": groups, "pictures": pictures, "cold_s": round(cold, 2),
               "warm_s": round(warm, 2), "retrained_s": round(retrained, 2),
               "cold_over_warm": round(cold / warm, 1), "cold_over_retrained": round(cold / retrained, 1),
               "groups_read_s": round(check, 3), "fingerprint_s": round(fingerprint, 4), "target_s": TARGET_SECONDS,
               "build_s": round(build, 1),
               "loadavg_before": load_before, "loadavg_after": load_after}
    return (f"### Swap test: {groups} groups, {pictures} held-back flower photos (mobilenet_v2_035, ImageNet "
            "(shared file), 224 px, head-only runs)\n\n" + table(rows, ["swap test", "s", "models tried"])
            + f"\n\nTarget: ready within {TARGET_SECONDS} s. The page's look, every 2 s, for a group that "
            f"trained again takes {fingerprint * 1000:.1f} ms (reading every group's runs, done only when that "
            f"changed: {check:.2f} s). Building the class ({groups} trainings) took {build:.0f} s. "
            f"Load average before / after: {' '.join(load_before)} / {' '.join(load_after)}.\n"
            + json.dumps(summary))
