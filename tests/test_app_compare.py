"""Compare and understand, driven headless with AppTest: the Experiments page runs a preset
through the space's job to its table, the Understand page finds a picture filed in the wrong
class and moves it with one click, the Runs page tells runs apart, the Learn page explains
"none of my classes". Plus the plain functions those pages show (answers, labels, moves).

Real small models on real pictures: MobileNetV2 0.35 with the weights file from ../shared,
added to the module's weights library as a teacher adds it once on the Model page. Nothing
reaches the network: ImageNet weights are never on this computer here.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("streamlit")

from conftest import FLOWERS, SHARED_WEIGHTS  # noqa: E402  (the one place ../shared is named)
from studio_support import environment, folders, open_page, switch, texts, trained_run  # noqa: E402,F401

NEEDS_SHARED = pytest.mark.skipif(not SHARED_WEIGHTS.is_file() or not FLOWERS.is_dir(),
                                  reason="needs ../shared: real pretrained weights and flower photos")


# -- helpers -------------------------------------------------------------------------------------------
@pytest.fixture
def weights_added(folders):
    """The shared MobileNetV2 0.35 file in the weights library, as the Model page keeps an upload."""
    library = folders["cache"] / "weights"
    library.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHARED_WEIGHTS, library / "mobilenet_v2_035.weights.h5")
    return library


def the_job(at):
    """The space's job: in the server's training queue where there is one, else in the session."""
    try:
        from studio_support import space_job
    except ImportError:
        return at.session_state["tl_job"] if "tl_job" in at.session_state else None
    return space_job()


def wait_for(job, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not job.finished and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.finished, "the job did not end in time"


def charts(at) -> dict[str, dict]:
    """Plotly charts on the page by title."""
    found = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        found[spec["layout"].get("title", {}).get("text", "")] = spec
    return found


# -- plain functions ---------------------------------------------------------------------------------------
def test_labels_keep_only_what_differs_and_answers_are_one_honest_sentence():
    from tlcore.experiments import Configuration, answer_sentence, short_labels

    networks = [Configuration("vgg16"), Configuration("resnet50"), Configuration("mobilenet_v2_035")]
    assert short_labels(networks) == ["VGG16", "ResNet50", "MobileNetV2 (0.35)"]
    curve = [Configuration("mobilenet_v2_035", per_class=5), Configuration("mobilenet_v2_035")]
    assert short_labels(curve) == ["5 per class", "all pictures"]

    def row(backbone, mean, ci, weights="imagenet", per_class="all", pictures=72):
        return {"configuration": backbone, "backbone": backbone, "weights": weights, "learning_blocks": 0,
                "augment": ["none"], "per_class": per_class, "val_accuracy_mean": mean, "repeats": 3,
                "val_accuracy_ci95": ci, "train_pictures": pictures}

    transfer = {"plan": {"preset": "transfer_vs_scratch"},
                "rows": [row("mobilenet_v2", 0.9, [0.85, 0.95]), row("mobilenet_v2", 0.4, [0.3, 0.5], "none"),
                         row("small_cnn", 0.5, [0.45, 0.55], "none")]}
    assert answer_sentence(transfer) == (
        "Starting from pretrained weights, MobileNetV2 got 90% right; from random weights, the same network got 40%. "
        "Pretraining made a clear difference: 50 points more, with the same pictures and epochs. Small CNN (no "
        "pretraining) got 50%.")
    curve_rows = {"plan": {"preset": "how_many_pictures"},
                  "rows": [row("m", 0.5, [0.4, 0.6], per_class=2, pictures=6),
                           row("m", 0.8, [0.75, 0.85], per_class=10, pictures=30), row("m", 0.83, [0.8, 0.86])]}
    assert answer_sentence(curve_rows).startswith("About 10 pictures per class were enough: 80% right, within 5 points")
    close = {"plan": {"preset": "which_network"},
             "rows": [row("vgg16", 0.7, [0.6, 0.8]), row("resnet50", 0.75, [0.65, 0.85])]}
    assert "no clear winner" in answer_sentence(close) and answer_sentence(close).startswith("Best: ResNet50")


def test_a_picture_moves_to_another_class_keeping_its_place(demo_dataset_96):
    moved = demo_dataset_96.moved("square/square_03.jpg", "circle")
    index = demo_dataset_96.names.index("square/square_03.jpg")
    assert moved.names[index] == "circle/square_03.jpg"
    assert moved.class_names[moved.labels[index]] == "circle"
    assert moved.counts == {"circle": 31, "square": 29, "triangle": 30}
    assert moved.pixels() is demo_dataset_96.pixels() or np.array_equal(moved.pixels(), demo_dataset_96.pixels())
    assert moved.file_hashes == demo_dataset_96.file_hashes  # same pictures, same order: cached features still fit
    back = moved.moved("circle/square_03.jpg", "square")
    assert back.names == demo_dataset_96.names and np.array_equal(back.labels, demo_dataset_96.labels)
    with pytest.raises(ValueError, match="There is no class 'hexagon'"):
        demo_dataset_96.moved("square/square_03.jpg", "hexagon")


def test_runs_get_legend_labels_that_tell_them_apart():
    from app_pages.runs import legend_labels
    from tlcore.runs.record import DatasetInfo, RunRecord

    def run(folder, created, dataset="flowers"):
        record = RunRecord(name="r", backbone="mobilenet_v2", backbone_title="MobileNetV2", weights="imagenet",
                           weights_source="ImageNet", input_size=224, classes=("a", "b"), created=created,
                           dataset=DatasetInfo(name=f"/home/teacher/{dataset}"))
        return SimpleNamespace(path=Path(folder), record=record)

    runs = [run("one", "2026-01-02T10:00:01"), run("two", "2026-01-02T10:00:40"),
            run("three", "2026-01-02T10:00:40", "cats")]
    labels = legend_labels(runs)
    assert len(set(labels.values())) == 3
    assert labels["one"] == "01-02 10:00:01 · MobileNetV2 · ImageNet · flowers"  # same minute: seconds shown
    assert labels["three"].endswith("· cats")


def test_learn_page_explains_why_a_classifier_always_picks_one_of_its_classes():
    at = open_page("learn")
    page = texts(at)
    assert "Why it always picks one of your classes" in page
    assert "An “other” class helps." in page
    assert "This doesn't look like any of your classes" in page


# -- Experiments -------------------------------------------------------------------------------------------
def test_experiments_page_renders_and_counts_the_trainings_before_starting(weights_added):
    at = open_page("experiments")
    assert not at.exception
    assert [t.value for t in at.title] == ["Compare, with error bars"]
    assert at.selectbox(key="experiments_backbone").value == "mobilenet_v2_035"  # the network whose weights are here
    captions = [c.value for c in at.caption]
    # Only what will run is counted: transfer vs scratch runs all 3 choices; "Which network?" only the network
    # whose weights are here, and says which it left out.
    transfer = next(c for c in captions if c.startswith("9 trainings"))
    assert transfer.startswith("9 trainings (3 choices × 3 repeats) · about ") and transfer.endswith(" on this computer")
    networks = next(c for c in captions if "Left out" in c)
    assert networks.startswith("3 trainings (1 choice × 3 repeats) · about "), networks
    assert networks.endswith(" · Left out, their weights are not on this computer: VGG16, ResNet50, InceptionV3, "
                             "MobileNetV2"), networks
    assert "No experiment yet" in texts(at)


@NEEDS_SHARED
def test_a_preset_runs_through_the_job_to_its_table_and_the_runs_page_tells_its_run_apart(weights_added):
    from tlcore.data import load_demo

    at = open_page("experiments", tl_dataset=load_demo(image_size=96), tl_dataset_name="Shapes (built-in demo)")
    at.selectbox(key="experiments_size").set_value(96)
    at.number_input(key="experiments_epochs").set_value(1)
    at.number_input(key="experiments_repeats").set_value(2)
    at.run()
    card = next(c.value for c in at.caption if "Left out" in c.value)
    assert card.startswith("2 trainings (1 choice × 2 repeats) · about "), card
    at.button(key="experiments_preset_which_network").click().run()
    assert not at.exception
    job = the_job(at)
    assert job is not None and job.plan.name == "Which network?" and job.plan.dataset_name == "Shapes (built-in demo)"
    assert job.snapshot()["total"] == 2  # as its card said: 2 trainings (1 choice × 2 repeats)
    wait_for(job)
    assert (job.done, job.total) == (2, 2)
    at.run()
    assert not at.exception and job.error is None
    page = texts(at)
    assert "Only MobileNetV2 (0.35) could be trained here:" in page
    assert "Skipped, not failed" in page and "- VGG16 · ImageNet · head only: Its ImageNet weights are not on this " \
        "computer, so it was left out" in page
    table = at.dataframe[0].value
    assert list(table["Repeats"]) == [2] and table["Right answers (mean)"][0].endswith("%")
    assert table["95% interval"][0] == "— (too wide with 2 repeats: use 3 or more)"
    assert list(table["Reused the cache"]) == ["yes"]
    shown = charts(at)
    answer = shown["Which network? — right answers against training time"]
    assert [len(trace["error_y"]["array"]) for trace in answer["data"]] == [1]
    assert answer["layout"]["xaxis"]["title"]["font"]["size"] >= 16
    assert "Right answers in each class" in shown

    switch(at, "runs").run()
    assert not at.exception
    runs = at.dataframe[0].value
    kept = runs[runs["Experiment"].str.startswith("Which network?")]
    assert len(kept) == 1 and list(kept["Picture set"]) == ["Shapes (built-in demo)"]
    assert list(kept["Pictures"]) == [90] and list(kept["Ended"]) == ["finished"] and list(kept["Epochs"]) == ["1"]
    experiments = at.dataframe[1].value
    assert list(experiments["Experiment"]) == ["Which network?"] and list(experiments["Trainings"]) == [2]


# -- Understand --------------------------------------------------------------------------------------------
def test_understand_page_says_plainly_when_the_weights_are_missing():
    at = open_page("understand", understand_backbone="mobilenet_v2")
    assert not at.exception
    page = texts(at)
    assert "The ImageNet weights for MobileNetV2 are not on this computer" in page
    assert "add a weights file for MobileNetV2 on the Model page" in page
    assert "understand_maps_job" not in at.session_state  # nothing started


@pytest.fixture
def photos_and_drawings(tmp_path):
    """12 daisy photos and 12 drawn shapes at 96 px, then one photo filed among the drawings."""
    from tlcore.data import ImageDataset, demo_folder

    for folder, pictures in (("photos", sorted((FLOWERS / "daisy").glob("*.jpg"))[:12]),
                             ("drawings", sorted(demo_folder().glob("*/*.jpg"))[::3][:12])):
        (tmp_path / "set" / folder).mkdir(parents=True)
        for picture in pictures:
            shutil.copyfile(picture, tmp_path / "set" / folder / picture.name)
    clean = ImageDataset.from_folder(tmp_path / "set", image_size=96)
    wrong_name = next(name for name in clean.names if name.startswith("photos/"))
    return clean.moved(wrong_name, "drawings"), "drawings/" + wrong_name.split("/", 1)[1]


@NEEDS_SHARED
def test_the_mislabelled_picture_tops_the_list_and_one_click_moves_it(weights_added, photos_and_drawings):
    data, wrong = photos_and_drawings
    at = open_page("understand", tl_dataset=data, tl_dataset_name="Photos or drawings",
                   understand_backbone="mobilenet_v2_035", understand_size=96)
    assert not at.exception
    at.session_state["understand_maps_job"].join(120)
    at.run()
    assert not at.exception
    page = texts(at)
    sentence = re.search(r"With pretrained weights, (\d+)% of the pictures are closer to their own class.*?; "
                         r"with random weights (\d+)%", page)
    assert sentence and int(sentence[1]) >= 90 > int(sentence[2]), page  # why transfer works, in numbers
    assert {"Pretrained weights", "Random weights"} <= set(charts(at))
    first = next(line for line in page.splitlines() if " is in **" in line)  # the most likely mistake
    assert first.startswith(f"**{wrong}** is in **drawings** but looks like **photos**"), first
    switch(at, "data").run()  # the picture set's report counts them too
    assert re.search(r"The label check found \*\*\d+ pictures?\*\* worth a second look", texts(at)), texts(at)
    switch(at, "understand").run()

    at.button(key="understand_suspect_0_move").click().run()
    assert not at.exception
    moved = at.session_state["tl_dataset"]
    name = "photos/" + wrong.split("/", 1)[1]
    assert name in moved.names and moved.counts == {"drawings": 12, "photos": 12}
    assert f"Moved {wrong.split('/', 1)[1]} to photos." in texts(at)
    job = at.session_state["understand_maps_job"]
    assert "pretrained" in job.ready  # redrawn from the features already computed
    job.join(60)
    at.run()
    assert name not in [moved.names[s.index] for s in job.suspects]


def test_a_trained_models_map_is_drawn_on_demand(weights_added, trained_run):
    from tlcore.data import load_demo

    at = open_page("understand", tl_dataset=load_demo(image_size=96), understand_backbone="mobilenet_v2_035",
                   understand_size=96, tl_selected_run=str(trained_run.path))
    at.session_state["understand_maps_job"].join(120)
    at.run()
    assert "As the trained model sees them" not in charts(at)  # only when asked: it costs a pass
    at.button(key="understand_run_draw").click().run()
    at.session_state["understand_run_map_job"].join(120)
    at.run()
    assert not at.exception
    run_map = charts(at)["As the trained model sees them"]
    assert sum(len(trace["x"]) for trace in run_map["data"]) == 90
    assert re.search(r"As this model sees them, \d+% of the pictures are closer to their own class", texts(at))
    # only its head learned: the map is the pretrained one, and the page says so (and how to move them)
    assert trained_run.record.learning_blocks == 0
    assert "Only this model's new head learned" in texts(at)
