"""A lesson saved as one file opens again with the same pictures, settings and runs."""

from __future__ import annotations

import numpy as np

from tlcore.projects import open_project, save_project


def test_project_round_trip(demo_dataset_96, shared_weights, tmp_path):
    from tlcore.runs import save_run
    from tlcore.training import Trainer

    from tlcore.settings import TrainingSettings

    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=str(shared_weights), input_size=96, epochs=1)
    fitted = Trainer(settings, cache_dir=tmp_path / "cache").fit(demo_dataset_96)
    run = save_run(fitted, demo_dataset_96, tmp_path / "ws1" / "run-a")
    settings = {"backbone": "mobilenet_v2_035", "epochs": 1, "freeze_depth": 0}
    file = save_project(tmp_path / "lesson.tlproject", demo_dataset_96, settings, [run], name="Shapes lesson")

    project = open_project(file, workspace=tmp_path / "ws2", work_dir=tmp_path, image_size=96)
    assert project.name == "Shapes lesson" and project.settings == settings
    assert project.dataset.class_names == demo_dataset_96.class_names
    assert project.dataset.counts == demo_dataset_96.counts
    assert sorted(project.dataset.file_hashes) == sorted(demo_dataset_96.file_hashes)
    assert [r.path.name for r in project.runs] == ["run-a"] and (tmp_path / "ws2" / "run-a" / "model.keras").is_file()
    picture = demo_dataset_96.paths[0]
    before, after = run.predict([picture])[0], project.runs[0].predict([picture])[0]
    np.testing.assert_allclose(list(after.probabilities.values()), list(before.probabilities.values()), atol=1e-6)


def test_a_zip_that_is_not_a_project_is_refused(tmp_path):
    import zipfile

    import pytest

    with zipfile.ZipFile(tmp_path / "x.zip", "w") as archive:
        archive.writestr("cats/a.txt", "hello")
    with pytest.raises(ValueError, match="not a Transfer Learning Studio project"):
        open_project(tmp_path / "x.zip", workspace=tmp_path / "ws", work_dir=tmp_path)


def test_same_names_survive_and_a_different_run_is_not_mistaken_for_ours(demo_dataset_96, shared_weights, tmp_path):
    import shutil

    from tlcore.data import ImageDataset
    from tlcore.runs import save_run
    from tlcore.training import Trainer

    folder = tmp_path / "pictures"
    for class_name in demo_dataset_96.class_names:
        for i, path in enumerate([p for p, l in zip(demo_dataset_96.paths, demo_dataset_96.labels)
                                  if demo_dataset_96.class_names[l] == class_name][:6]):
            target = folder / class_name / f"sub{i % 2}" / f"same{i // 2}.jpg"  # same names, two folders
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    dataset = ImageDataset.from_folder(folder, image_size=96)
    assert len(dataset) == 18
    from tlcore.settings import TrainingSettings

    settings = TrainingSettings(backbone="mobilenet_v2_035", weights=str(shared_weights), input_size=96, epochs=1)
    fitted = Trainer(settings, cache_dir=tmp_path / "cache").fit(dataset)
    run = save_run(fitted, dataset, tmp_path / "ws1" / "run-a")
    file = save_project(tmp_path / "l.tlproject", dataset, {}, [run])
    (tmp_path / "ws2" / "run-a").mkdir(parents=True)  # a different run already has that name
    (tmp_path / "ws2" / "run-a" / "run.json").write_text("{}")
    project = open_project(file, workspace=tmp_path / "ws2", work_dir=tmp_path, image_size=96)
    assert len(project.dataset) == 18
    assert project.runs[0].path.name == "run-a-2"
    again = open_project(file, workspace=tmp_path / "ws2", work_dir=tmp_path, image_size=96)
    assert again.runs[0].path.name == "run-a-2"  # the same run is reused, not copied again


def test_picture_names_are_made_safe_on_saving_so_the_lesson_opens_again(tmp_path):
    import zipfile

    from bad_inputs import jpeg_bytes
    from tlcore.data import ImageDataset

    for class_name, seeds in (("daisy", (1, 2)), ("rose", (3, 4))):
        (tmp_path / "set" / class_name).mkdir(parents=True)
        for seed in seeds:  # names Linux allows but Windows (and open_project) would not
            (tmp_path / "set" / class_name / f"what?{seed}.jpg ").write_bytes(jpeg_bytes(seed))
    dataset = ImageDataset.from_folder(tmp_path / "set", image_size=32)
    file = save_project(tmp_path / "l.tlproject", dataset, {"epochs": 3}, [], name="Odd names")
    assert "pictures/daisy/00000-what_1.jpg" in zipfile.ZipFile(file).namelist()
    assert not (tmp_path / "l.tlproject.partial").exists()

    project = open_project(file, workspace=tmp_path / "ws", work_dir=tmp_path / "work", image_size=32)
    assert project.name == "Odd names" and project.settings == {"epochs": 3}
    assert project.dataset.counts == dataset.counts and project.runs == []
    assert sorted(project.dataset.file_hashes) == sorted(dataset.file_hashes)
    assert not (tmp_path / "ws").exists()  # no runs: the workspace is not even made


def test_a_run_folder_name_open_project_would_refuse_is_refused_on_saving(demo_dataset_96, tmp_path):
    import pytest

    from tlcore.runs import Run

    run = Run(tmp_path / "run: first", ["circle", "square", "triangle"], {"input_size": 96})
    with pytest.raises(ValueError) as caught:
        save_project(tmp_path / "l.tlproject", demo_dataset_96, {}, [run])
    assert str(caught.value) == ("The run folder name 'run: first' cannot be saved in a lesson. It holds the character :, "
                                 "which Windows does not allow in names. Rename it first.")
    assert list(tmp_path.iterdir()) == []
