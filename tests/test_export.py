"""tlcore.export: the zip bundle's predict.py in a fresh Python without tlcore, TFLite
agreement with Keras, SavedModel."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tlcore.export import compare_with_keras, export_bundle, export_run, export_tflite, predict_script
from tlcore.runs import RESIZE_DESCRIPTION, validation_set

ROOT = Path(__file__).resolve().parents[1]
from conftest import SHARED_WEIGHTS as MOBILENET_035  # noqa: E402
IMAGEFILE_SOURCE = ROOT / "tlcore" / "data" / "imagefile.py"

# Runs a script with tlcore made unimportable (it is installed in this environment, so -I
# alone would still find it), in isolated mode: no PYTHONPATH, no current folder on sys.path.
WITHOUT_TLCORE = """
import runpy, sys
class NoTlcore:
    def find_spec(self, name, path=None, target=None):
        if name == "tlcore" or name.startswith("tlcore."):
            raise ImportError("tlcore is not available here")
sys.meta_path.insert(0, NoTlcore())
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture(scope="module")
def run(demo_run):
    return demo_run[1]


def run_without_tlcore(script: Path, *args: str) -> subprocess.CompletedProcess:
    """As a user runs it: their environment (no TF_CPP_MIN_LOG_LEVEL, no TLCORE_VERBOSE), no tlcore."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_CPP_MIN_LOG_LEVEL", "TLCORE_VERBOSE")}
    return subprocess.run([sys.executable, "-I", "-c", WITHOUT_TLCORE, script.name, *args],
                          cwd=script.parent, env=env, capture_output=True, text=True, timeout=120)


def test_predict_script_embeds_the_picture_code_and_not_tlcore():
    script = predict_script()
    assert IMAGEFILE_SOURCE.read_text(encoding="utf-8") in script  # verbatim
    from tlcore.understand import scoring

    assert Path(scoring.__file__).read_text(encoding="utf-8").strip() in script  # verbatim too
    imports = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            imports |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imports.add(node.module.split(".")[0])
    assert imports <= {"__future__", "argparse", "io", "json", "keras", "logging", "numpy", "os", "PIL", "re",
                       "sys", "pathlib", "tempfile", "typing", "warnings", "zipfile"}, imports
    # What it needs is said the same way in the script, the model card, the Share page and the README.
    from tlcore.export.bundle import PREDICT_INSTALL, PREDICT_NEEDS

    assert PREDICT_NEEDS == "TensorFlow (with Keras 3), numpy and Pillow" and PREDICT_NEEDS in script
    assert f"needs only {PREDICT_NEEDS} (`{PREDICT_INSTALL}`" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_bundle_round_trip_in_a_fresh_python(run, tmp_path):
    bundle = export_run(run.path, "keras", tmp_path / "shapes.zip")
    assert bundle == tmp_path / "shapes.zip"
    with zipfile.ZipFile(bundle) as archive:
        assert sorted(archive.namelist()) == ["familiarity.npz", "labels.txt", "model.keras", "model_card.md",
                                              "predict.py"]
        archive.extractall(tmp_path / "unzipped")
    folder = tmp_path / "unzipped"
    assert (folder / "labels.txt").read_text().split() == run.class_names

    files = validation_set(run)[0][:5]
    broken = tmp_path / "notes.jpg"
    broken.write_text("not a picture")
    result = run_without_tlcore(folder / "predict.py", *map(str, files), str(broken), "--json")
    assert result.returncode == 1, result.stderr[-3000:]  # 1: one picture could not be read
    answers = json.loads(result.stdout)
    assert [a["image"] for a in answers] == [*map(str, files), str(broken)]
    assert answers[-1]["top"] is None and "is not a picture" in answers[-1]["error"]
    for answer, expected in zip(answers, run.predict(files)):
        assert answer["top"] == expected.top
        assert answer.keys() == expected.to_dict().keys()
        for name in run.class_names:
            assert answer["probabilities"][name] == pytest.approx(expected.probabilities[name], abs=1e-4)
        assert answer["familiar"] == expected.familiar  # "none of my classes", as the app says it
        assert answer["familiarity"] == pytest.approx(expected.familiarity, abs=1e-3)

    text = run_without_tlcore(folder / "predict.py", str(files[0]))
    assert text.returncode == 0, text.stderr[-3000:]
    assert text.stderr == ""  # the answers only: no "CUDA error", absl notice or Keras warning before them
    first = run.predict(files[:1])[0]
    assert text.stdout.splitlines()[0].startswith(f"{files[0]}: {first.top} (")
    assert all(name in text.stdout for name in run.class_names)


def test_model_card_tells_how_it_was_made(run, tmp_path):
    bundle = export_bundle(run, tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as archive:
        card = archive.read("model_card.md").decode()
    record = run.record
    for expected in (record.backbone_title, record.weights_source, "96×96", RESIZE_DESCRIPTION,
                     "Shapes (built-in demo)", f"{record.val_accuracy:.0%}", f"(0 of {record.blocks} blocks)",
                     "Only the new last layer learned", *run.class_names,
                     f"with {record.val_pictures} pictures, one mistake changes it by {100 / record.val_pictures:.1f} points",
                     f"| Batch size (pictures per step) | 16 |", "On new pictures like these it is likely ",
                     "Needs Python with TensorFlow (with Keras 3), numpy and Pillow (`pip install tensorflow pillow`)."):
        assert expected in card, expected
    assert "batch_size_setting" not in card and "with 20 pictures" not in card


def test_tflite_agrees_with_keras(run, tmp_path):
    exact = export_tflite(run, tmp_path / "model.tflite")
    assert Path(exact["path"]).is_file() and exact["size_bytes"] == (tmp_path / "model.tflite").stat().st_size
    assert exact["pictures"] == len(validation_set(run)[0]) > 0
    assert exact["agreement"] == 1.0
    assert exact["max_abs_difference"] < 1e-4

    path = export_run(run, "tflite-quantized", tmp_path / "model-8bit.tflite")  # the CLI's way
    assert path.stat().st_size < exact["size_bytes"] / 2
    small = compare_with_keras(run, path.read_bytes())
    assert small["pictures"] == exact["pictures"] and 0.0 <= small["agreement"] <= 1.0
    if MOBILENET_035.is_file():  # a real, trained model: 8-bit weights change few answers
        assert small["agreement"] >= 0.8


def test_savedmodel_export(run, tmp_path):
    from tlcore.export import export_savedmodel_zip

    out = export_run(run, "savedmodel", tmp_path / "saved")
    assert (out / "saved_model.pb").is_file() and (out / "variables").is_dir()
    archive = export_savedmodel_zip(run, tmp_path / "m-savedmodel.zip")
    names = set(zipfile.ZipFile(archive).namelist())
    assert archive.name == "m-savedmodel.zip" and "saved_model.pb" in names
    assert [p.name for p in tmp_path.iterdir()].count("m-savedmodel.zip") == 1 and len(list(tmp_path.iterdir())) == 2
    with pytest.raises(FileExistsError):
        export_run(run, "savedmodel", out)
    with pytest.raises(ValueError, match="keras, tflite, tflite-quantized, savedmodel"):
        export_run(run, "onnx", tmp_path / "x")


def test_download_names_say_what_the_model_recognises(run):
    from tlcore.export import download_name, slug

    name = download_name(run)
    assert name.startswith("circle-square-triangle-") and len(name.split("-")[-1]) == 4
    assert slug("My lesson: bees & ants!") == "My-lesson-bees-ants"
