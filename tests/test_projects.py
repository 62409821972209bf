"""A lesson saved as one file opens again with the same pictures, settings and runs."""

from __future__ import annotations

import numpy as np

from tlcore.projects import open_project, save_project


def test_project_round_trip(demo_dataset_96, shared_weights, tmp_path):
    from tlcore.runs import save_run
    from tlcore.training import Trainer

    fitted = Trainer("mobilenet_v2_035", weights=shared_weights, input_size=96, epochs=1,
                     cache_dir=tmp_path / "cache").fit(demo_dataset_96)
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
