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
