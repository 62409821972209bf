"""What travels between the classroom's server and a Ray worker, without Ray: the worker's body
(TrainingWorker) runs here, in this process. A worker that sees the workspace reads the pictures
there; one that does not gets them with the job and sends the run back, into the student's space.
And what each worker asks the cluster for, and where it may get weights from."""

from __future__ import annotations

import pytest

from tlcore.cluster.ray_queue import worker_environment, worker_resources
from tlcore.cluster.parcel import Parcel, Pictures, receive_run, send_run
from tlcore.cluster.worker import TrainingWorker
from tlcore.runs import CLAIM_FILE, RunSaveError, list_runs
from tlcore.settings import TrainingSettings


@pytest.fixture(scope="module")
def space(tmp_path_factory, demo_dataset_96):
    """(workspace, the space's runs folder, its pictures as the store gives them: memory-mapped)."""
    from tlcore.spaces import SpaceStore

    workspace = tmp_path_factory.mktemp("workspace")
    store = SpaceStore.in_workspace(workspace)
    ann = store.create("Ann")
    return workspace, ann.runs_dir, store.save_dataset(ann.id, demo_dataset_96, "Shapes")


@pytest.fixture(scope="module")
def job(space, mobilenet_035_weights):
    from tlcore.jobs import TrainingJob

    workspace, runs, pictures = space
    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=mobilenet_035_weights, input_size=96,
                                epochs=1, batch_size=16)
    return TrainingJob(settings, pictures, workspace=runs, dataset_name="Shapes")


def test_a_worker_that_sees_the_workspace_gets_names_not_pictures(space, job):
    workspace, runs, pictures = space
    parcel = Parcel.of(job, "job-1", workspace)
    sent = parcel.pictures
    assert sent.pixels is None and sent.files is None  # nothing heavy travels
    assert sent.pixels_file == str(pictures.pixels().filename) and sent.pixels_file.startswith(str(workspace))
    assert parcel.runs_folder == str(runs)
    again = sent.dataset(workspace / "unused")
    assert again.names == pictures.names and (again.pixels() == pictures.pixels()).all()
    assert not (workspace / "unused").exists()


def test_a_worker_that_does_not_gets_the_pictures_decoded_and_their_files(space, job, tmp_path):
    workspace, _, pictures = space
    parcel = Parcel.of(job, "job-1", None)
    sent = parcel.pictures
    assert sent.pixels_file is None and parcel.runs_folder is None
    assert (sent.pixels == pictures.pixels()).all() and len(sent.files) == len(pictures)
    assert parcel.weights_file[1] == open(job.settings.weights, "rb").read()  # not in the workspace: sent
    again = sent.dataset(tmp_path)
    assert [p.parent for p in again.paths] == [tmp_path] * len(pictures)
    assert [p.read_bytes() for p in again.paths] == [p.read_bytes() for p in map(type(tmp_path), pictures.paths)]
    assert again.pixels() is sent.pixels  # used as sent: never decoded again
    assert Pictures.of(again, None).files is not None


def test_trained_on_a_worker_that_shares_nothing_the_run_comes_back_into_the_space(space, job):
    """The not-shared case end to end, in one process: the worker trains in a scratch folder and
    sends the run folder back; the server writes it into the student's runs folder."""
    _, runs, pictures = space
    worker = TrainingWorker(threads=2)
    outcome = worker.train(Parcel.of(job, "job-2", None))
    assert outcome.error is None and outcome.run_path is None
    assert {"model.keras", "labels.txt", "run.json"} <= set(outcome.run_files)
    assert outcome.snapshot["epoch"] == 1 and len(outcome.snapshot["history"]["loss"]) == 1
    assert worker.snapshot("job-2") is None  # the worker holds nothing once it has answered
    folder = receive_run(outcome.run_files, runs, "mobilenet_v2_035")
    [run] = list_runs(runs)
    assert run.path == folder and run.record.classes == ("circle", "square", "triangle")
    assert len(list((folder / "validation").rglob("*.*"))) == run.record.val_pictures > 0
    assert send_run(folder) == outcome.run_files  # the same files, byte for byte


def test_a_worker_keeps_its_network_warm_between_trainings(space, job):
    """Two head-only trainings sent to one worker (its weights file written anew into each job's
    scratch folder): the network is built once and the head compiled once, in the worker's process."""
    from tlcore.model.warm import WarmNetworks, set_warm_networks

    networks = WarmNetworks()
    old = set_warm_networks(networks)
    try:
        worker = TrainingWorker(threads=2)
        for number in (3, 4):
            assert worker.train(Parcel.of(job, f"job-{number}", None)).error is None
        assert networks.builds_ == 1 and networks.heads_made() == 1
    finally:
        set_warm_networks(old)


def test_a_run_sent_back_with_a_path_outside_its_folder_is_refused(tmp_path):
    with pytest.raises(ValueError, match="^A worker sent back a run with a file outside its folder; it was not kept.$"):
        receive_run({"run.json": b"{}", "../escape.txt": b"x"}, tmp_path, "mobilenet_v2_035")
    assert list(tmp_path.iterdir()) == [] and not (tmp_path.parent / "escape.txt").exists()


def test_a_run_that_cannot_be_written_leaves_nothing(tmp_path):
    (tmp_path / "runs").write_text("a file where the runs folder should be")
    with pytest.raises(RunSaveError, match="is a file, not a folder"):
        receive_run({"run.json": b"{}"}, tmp_path / "runs", "mobilenet_v2_035")
    assert not any(p.name == CLAIM_FILE for p in tmp_path.rglob("*"))


def test_a_job_the_worker_cannot_start_says_why(space, job):
    missing = Parcel.of(job, "job-3", None)
    missing.weights_file = None
    missing.settings = dict(missing.settings, weights="/nowhere/weights.h5")
    outcome = TrainingWorker().train(missing)
    assert outcome.error == ("Weights file '/nowhere/weights.h5' was not found. Give 'imagenet', 'none', or the "
                             "path of a Keras weights file (.h5 or .weights.h5).")
    assert outcome.run_files is None and not outcome.weights_missing


def test_each_worker_asks_for_a_gpu_where_the_cluster_has_one_else_a_fair_share_of_cores():
    gpu_computer, laptop = {"CPU": 8, "GPU": 1}, {"CPU": 4}
    assert worker_resources({"CPU": 16, "GPU": 1}, [gpu_computer, laptop, laptop], workers=2) == (1, 0.5)
    assert worker_resources({"CPU": 8, "GPU": 2}, [gpu_computer, gpu_computer], workers=2) == (1, 1.0)
    assert worker_resources({"CPU": 12}, [laptop, laptop, laptop], workers=2) == (4, 0)  # no computer has 6
    assert worker_resources({"CPU": 2}, [{"CPU": 2}], workers=1) == (2, 0)  # one worker on 2 cores: both
    assert worker_resources({"CPU": 2}, [{"CPU": 2}], workers=4) == (1, 0)
    assert worker_resources({"CPU": 16}, [{"CPU": 16}], workers=2, cpus=3) == (3, 0)


def test_a_worker_on_another_computer_gets_weights_from_the_schools_server_never_the_internet(monkeypatch):
    monkeypatch.setenv("TLCORE_WEIGHTS_URL", "http://10.0.0.5:8765/")
    monkeypatch.delenv("TLCORE_PUBLIC_WEIGHTS", raising=False)
    assert worker_environment("ray://10.0.0.30:10001") == {"TLCORE_WEIGHTS_URL": "http://10.0.0.5:8765/",
                                                          "TLCORE_PUBLIC_WEIGHTS": "off"}
    assert worker_environment("local") == {"TLCORE_WEIGHTS_URL": "http://10.0.0.5:8765/"}  # this computer's own
