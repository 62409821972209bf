"""Shared test fixtures: the real material in ../shared, and a private workspace/cache."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_WEIGHTS = SHARED / "weights" / "mobilenet_v2_0.35_224_no_top.weights.h5"
FLOWERS = SHARED / "data" / "flowers5"
TEACHABLE_MACHINE = SHARED / "clients" / "teachable-machine-cats-dogs"

# Never write into the user's home from tests; set before anything reads them.
_PRIVATE = Path(tempfile.mkdtemp(prefix="tlcore-tests-"))
atexit.register(shutil.rmtree, _PRIVATE, ignore_errors=True)
os.environ.setdefault("TLCORE_CACHE_DIR", str(_PRIVATE / "cache"))
os.environ.setdefault("TLCORE_WORKSPACE", str(_PRIVATE / "workspace"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TLCORE_PUBLIC_WEIGHTS"] = "off"  # a missing ImageNet file is never fetched from the internet


@pytest.fixture(scope="session")
def shared() -> Path:
    """The real weights, data and client files kept beside the project (see ../shared/README.md)."""
    if not SHARED_WEIGHTS.is_file() or not FLOWERS.is_dir():
        pytest.skip(
            f"needs the real material in {SHARED} (pretrained weights, flowers5, Teachable Machine "
            "export); it sits beside the project in CI, not in a user's clone"
        )
    return SHARED


@pytest.fixture(scope="session")
def shared_weights(shared) -> Path:
    return SHARED_WEIGHTS


@pytest.fixture(scope="session")
def flowers(shared) -> Path:
    return FLOWERS


@pytest.fixture(scope="session")
def demo_dataset_96():
    from tlcore.data import load_demo

    return load_demo(image_size=96)


@pytest.fixture(scope="session")
def mobilenet_035_weights(tmp_path_factory) -> str:
    """Starting weights for MobileNetV2-0.35: the real file from ../shared, or a random stand-in.

    For tests of behaviour that holds either way (shapes, round trips); accuracy tests use
    ``shared_weights``, which skips without the real file."""
    if SHARED_WEIGHTS.is_file():
        return str(SHARED_WEIGHTS)
    from tlcore.backbones.factory import create_backbone

    path = tmp_path_factory.mktemp("weights") / "random_mobilenet_v2_035.weights.h5"
    create_backbone("mobilenet_v2_035", 96, "none").save_weights(path)
    return str(path)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, demo_dataset_96, mobilenet_035_weights):
    """(trainer, run): MobileNetV2-0.35 trained 4 epochs on the demo at 96 px, saved once.

    Shared by tests that only read it (evaluate, export); do not change its folder."""
    from tlcore.runs import save_run
    from tlcore.training import Trainer

    folder = tmp_path_factory.mktemp("demo-run")
    from tlcore.settings import TrainingSettings

    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=mobilenet_035_weights, input_size=96,
                                epochs=4, batch_size=16)
    trainer = Trainer(settings, cache_dir=folder / "cache").fit(demo_dataset_96)
    return trainer, save_run(trainer, demo_dataset_96, folder / "run", dataset_name="Shapes (built-in demo)")


# -- running in parallel (pytest-xdist; `-n auto` in pyproject.toml) ------------------------------
def pytest_xdist_auto_num_workers(config) -> int:
    """One worker per core, at most 4: most tests wait on Python, a subprocess or a browser more
    than on TensorFlow's threads (2 workers halve the suite's time on 2 cores), and each worker
    holds its own TensorFlow, pictures and trained fixtures in memory."""
    return max(1, min(4, os.cpu_count() or 1))


def pytest_collection_modifyitems(config, items) -> None:
    """With `--dist loadgroup`, each file stays on one worker, in order (its module fixtures are
    built once), and the browser journeys run one after another (two at once would only slow each
    other down): one group per file, one for every end-to-end file."""
    for item in items:
        module = item.nodeid.split("::")[0]
        browser = item.get_closest_marker("e2e") is not None
        item.add_marker(pytest.mark.xdist_group("e2e" if browser else module))
        if browser:  # see BROWSER_RERUNS
            item.add_marker(pytest.mark.flaky(reruns=BROWSER_RERUNS, reruns_delay=5))


# A browser journey drives a real server and a real browser on cores the other worker keeps busy:
# a step can miss its time by seconds (a click during a redraw, a curve drawn late). Such a journey
# runs again, at most twice (pytest-rerunfailures; the summary lists each rerun as R). A product
# fault fails every run; the other tests never run again. So that a rerun starts from nothing, a
# journey's server and folders are its own (function-scoped); module fixtures only read.
BROWSER_RERUNS = 2
