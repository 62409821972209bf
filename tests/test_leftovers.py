"""What a process killed mid-work leaves (kill -9, a power cut) is removed when the app, the
classroom or a command that writes starts next; what a live process holds is left alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile

import pytest

from tlcore.queue import open_queue
from tlcore.spaces import SpaceStore
from tlcore.paths import clean_scratch, scratch_prefix
from tlcore.runs import CLAIM_FILE, claim_run_folder


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has ended."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def temporary(tmp_path, monkeypatch):
    """A system temporary folder of the test's own (the real one is shared with other processes)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def left_by(pid: int, folder):
    """A run folder claimed by ``pid`` and never written (what kill -9 during training leaves)."""
    folder.mkdir(parents=True)
    (folder / CLAIM_FILE).write_text(f"{socket.gethostname()} {pid}\n")
    return folder


def leftovers(workspace, temporary, dead_pid):
    """(removable, to keep): a killed process's claims and scratch, beside live and foreign ones."""
    student = SpaceStore.in_workspace(workspace).create("Ada")
    removable = [left_by(dead_pid, workspace / "20240101-000000-mobilenet_v2_035"),
                 left_by(dead_pid, student.runs_dir / "20240101-000001-small_cnn"),
                 temporary / f"tlcore-{dead_pid}-x1y2z3"]
    removable[-1].mkdir()
    (removable[-1] / "upload.zip").write_bytes(b"zip")
    keep = [claim_run_folder(workspace, "resnet50"),  # this process, alive: a training being written
            left_by(os.getppid(), student.runs_dir / "20240101-000002-vgg16"),
            temporary / f"{scratch_prefix()}live",
            temporary / "tlcore-tests-abc123",  # the tests' own folder: no pid in its name
            temporary / f"tl-other-{dead_pid}-a"]
    for folder in keep[2:]:
        folder.mkdir()
    return removable, keep


def test_the_next_start_removes_what_a_killed_process_left(tmp_path, temporary, dead_pid):
    workspace = tmp_path / "workspace"
    removable, keep = leftovers(workspace, temporary, dead_pid)
    queue = open_queue(workspace, workers=1)  # what the app and the classroom do as they start
    queue.shutdown(timeout=1)
    assert [folder for folder in removable if folder.exists()] == []
    assert [folder for folder in keep if not folder.is_dir()] == []
    assert clean_scratch() == []  # nothing more to remove


def test_a_command_that_writes_cleans_up_first_even_when_it_then_fails(tmp_path, temporary, dead_pid, monkeypatch):
    from tlcore.cli import main

    workspace = tmp_path / "workspace"
    monkeypatch.setenv("TLCORE_WORKSPACE", str(workspace))
    removable, keep = leftovers(workspace, temporary, dead_pid)
    assert main(["export", str(tmp_path / "no-such-run"), "--out", str(tmp_path / "model.zip")]) == 2
    assert [folder for folder in removable if folder.exists()] == []
    assert [folder for folder in keep if not folder.is_dir()] == []


def test_scratch_folders_carry_their_process_id():
    assert scratch_prefix() == f"tlcore-{os.getpid()}-"
