"""A head-only training of 30 pictures, cold vs on a warm network, measured in the same run.

Each row is one student's training as the line runs it (``TrainingJob.train_and_save``: build,
features, head, saved run), MobileNetV2-0.35 with the shared ImageNet file, 224 px, 10 epochs.
Every row trains on pictures of its own (as 30 students would), so the feature cache never helps
unless the row says so. "Cold": this process keeps no warm network (as before). "Warm": the
network was built by an earlier training. Also: what one warm network costs in memory.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from common import FLOWERS, SHARED_WEIGHTS, table

PICTURES, CLASSES = 30, 3


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def student_folder(root: Path, student: int, per_class: int) -> Path:
    """``per_class`` flower photos of each of the first classes, different ones per student."""
    folder = root / f"student-{student}"
    for name in sorted(p.name for p in FLOWERS.iterdir())[:CLASSES]:
        (folder / name).mkdir(parents=True)
        photos = sorted((FLOWERS / name).iterdir())[student * per_class:(student + 1) * per_class]
        for photo in photos:
            os.symlink(photo, folder / name / photo.name)
    return folder


def one_training(folder: Path, settings, workspace: Path, cache: Path) -> dict:
    from tlcore.data import ImageDataset
    from tlcore.jobs import TrainingJob

    dataset = ImageDataset.from_folder(folder, image_size=settings.resolved_input_size)
    job = TrainingJob(settings, dataset, workspace=workspace, cache_dir=cache)
    started, cpu = time.perf_counter(), time.process_time()
    job.train_and_save()
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    timings = job.trainer.timings_
    assert job.run is not None, job.error
    return {"total": total, "cpu": cpu, "trained": timings["train_seconds"], "build": timings["build_seconds"],
            "extract": timings.get("extract_seconds", 0.0), "saved": total - timings["train_seconds"],
            "accuracy": job.trainer.val_accuracy_}


def warm_network_mb(weights: str, sizes=(96, 128, 160, 192, 200)) -> float:
    """Resident memory one more warm MobileNetV2-0.35 adds, in a fresh process (in this one, memory
    freed by the trainings above is reused and hides it): the mean over a few input sizes, after
    a first network has warmed TensorFlow up."""
    import json
    import subprocess
    import sys

    code = f"""
import gc, json, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from warm import current_rss_mb
from tlcore.backbones.registry import get_backbone
from tlcore.backbones.factory import create_backbone
from tlcore.model.warm import WarmNetworks
spec, weights = get_backbone("mobilenet_v2_035"), {weights!r}
networks = WarmNetworks(max_count=10)
rss = []
for size in (224, *{tuple(sizes)!r}):
    networks.get(spec, size, weights, lambda size=size: create_backbone(spec, size, weights))
    gc.collect()
    rss.append(current_rss_mb())
print(json.dumps((rss[-1] - rss[0]) / (len(rss) - 1)))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def bench_warm(quick: bool = False) -> str:
    if not (SHARED_WEIGHTS.is_file() and FLOWERS.is_dir()):
        return "### Warm networks\n\nSkipped: needs ../shared (real weights and flowers)."
    from tlcore.model.warm import WarmNetworks, set_warm_networks
    from tlcore.settings import TrainingSettings

    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=str(SHARED_WEIGHTS), epochs=10)
    per_class = PICTURES // CLASSES
    rows, measured = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        workspace, cache = root / "workspace", root / "cache"
        folders = [student_folder(root, n, per_class) for n in range(4)]
        old = set_warm_networks(WarmNetworks(max_count=0))  # cold: nothing kept, as before
        measured["cold"] = one_training(folders[0], settings, workspace, cache)
        set_warm_networks(WarmNetworks())
        one_training(folders[1], settings.replace(seed=1), workspace, cache)  # builds the warm network
        measured["warm"] = one_training(folders[2], settings.replace(seed=2), workspace, cache)
        measured["warm, same pictures again"] = one_training(folders[2], settings.replace(seed=3), workspace, cache)
        set_warm_networks(old)
    columns = ["training", "total s", "cpu s", "build s", "features s", "head s", "save s", "val acc"]
    for label, m in measured.items():
        values = [label, f"{m['total']:.2f}", f"{m['cpu']:.2f}", f"{m['build']:.2f}", f"{m['extract']:.2f}",
                  f"{m['trained'] - m['build'] - m['extract']:.2f}", f"{m['saved']:.2f}", f"{m['accuracy']:.3f}"]
        rows.append(dict(zip(columns, values)))
    memory = warm_network_mb(str(SHARED_WEIGHTS))
    ratio = measured["cold"]["total"] / measured["warm"]["total"]
    return (f"### Warm networks: a head-only training of {PICTURES} pictures (mobilenet_v2_035, ImageNet "
            "(shared file), 224 px, 10 epochs)\n\n"
            + table(rows, columns)
            + f"\n\nCold / warm: {ratio:.1f}× (target: warm ≤ 2 s). Each row is a training of its own pictures "
            "(a new student), through the whole job: build, features, head, saved run. One warm "
            f"MobileNetV2-0.35 costs {memory:.0f} MB of resident memory (mean over 5 input sizes, measured in a fresh process); the "
            "line keeps at most TLCORE_WARM_NETWORKS (default 3) and TLCORE_WARM_MB of weights.\n")
