"""tlcore.evaluate: metrics checked against values worked out by hand, then on a real run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tlcore.evaluate import Evaluation, Mistake, evaluate, evaluate_run, threshold_curve

from conftest import SHARED_WEIGHTS as MOBILENET_035  # noqa: E402

CLASSES = ["cat", "dog", "bird"]
# 6 pictures, 3 classes. Predicted = argmax; confidence = max.
PROBABILITIES = np.array([
    [0.70, 0.20, 0.10],  # 0: true cat,  predicted cat    right
    [0.60, 0.30, 0.10],  # 1: true cat,  predicted cat    right
    [0.10, 0.80, 0.10],  # 2: true cat,  predicted dog    wrong, 0.80
    [0.20, 0.70, 0.10],  # 3: true dog,  predicted dog    right
    [0.30, 0.30, 0.40],  # 4: true dog,  predicted bird   wrong, 0.40
    [0.20, 0.55, 0.25],  # 5: true bird, predicted dog    wrong, 0.55
])
TRUE = [0, 0, 0, 1, 1, 2]


@pytest.fixture
def evaluation() -> Evaluation:
    return evaluate(PROBABILITIES, TRUE, CLASSES)


# ---- by hand -----------------------------------------------------------------------------


def test_accuracy_and_confusion_by_hand(evaluation):
    assert evaluation.accuracy == pytest.approx(3 / 6)
    # rows = true (cat, dog, bird), columns = predicted (cat, dog, bird)
    expected = np.array([
        [2, 1, 0],
        [0, 1, 1],
        [0, 1, 0],
    ])
    np.testing.assert_array_equal(evaluation.confusion, expected)
    assert evaluation.confusion.dtype.kind == "i"
    np.testing.assert_array_equal(evaluation.predicted, [0, 0, 1, 1, 2, 1])


def test_precision_recall_support_by_hand(evaluation):
    # precision = right / predicted as the class:  cat 2/2, dog 1/3, bird 0/1
    np.testing.assert_allclose(evaluation.precision, [1.0, 1 / 3, 0.0])
    # recall = right / truly the class:             cat 2/3, dog 1/2, bird 0/1
    np.testing.assert_allclose(evaluation.recall, [2 / 3, 1 / 2, 0.0])
    np.testing.assert_array_equal(evaluation.support, [3, 2, 1])


def test_mistakes_most_confident_first(evaluation):
    assert evaluation.mistakes(10) == [
        Mistake(index=2, true=0, predicted=1, confidence=pytest.approx(0.80)),
        Mistake(index=5, true=2, predicted=1, confidence=pytest.approx(0.55)),
        Mistake(index=4, true=1, predicted=2, confidence=pytest.approx(0.40)),
    ]
    assert [m.index for m in evaluation.mistakes(2)] == [2, 5]
    assert evaluation.mistakes(0) == []


def test_cells_by_index_and_by_name(evaluation):
    assert evaluation.cell(0, 0) == [0, 1]
    assert evaluation.cell(0, 1) == [2]
    assert evaluation.cell("dog", "bird") == [4]
    assert evaluation.cell("bird", "dog") == [5]
    assert evaluation.cell("bird", "bird") == []
    with pytest.raises(ValueError, match="fish"):
        evaluation.cell("fish", "dog")


def test_to_dict_is_json_and_complete(evaluation):
    data = json.loads(json.dumps(evaluation.to_dict()))
    assert data["accuracy"] == pytest.approx(0.5)
    assert data["confusion"] == [[2, 1, 0], [0, 1, 1], [0, 1, 0]]
    assert data["per_class"]["dog"] == {"precision": pytest.approx(1 / 3), "recall": 0.5, "support": 2}
    assert [(m["index"], m["true"], m["predicted"]) for m in data["mistakes"]] == [
        (2, "cat", "dog"), (5, "bird", "dog"), (4, "dog", "bird")]


def test_most_confused_cell_and_answers_at_a_threshold(evaluation):
    # confusion rows = true: cat→dog 1, dog→bird 1, bird→dog 1: ties go to the first in row order
    assert evaluation.most_confused() == (0, 1)
    assert evaluation.answered(0.0) == (6, 3)
    assert evaluation.answered(0.6) == (4, 3)  # 0.70, 0.60, 0.80 (wrong), 0.70
    assert evaluate(np.eye(3), [0, 1, 2], CLASSES).most_confused() is None


def test_folders_match_classes_loosely():
    from tlcore.evaluate import match_folders

    assert match_folders(["Cat", "big_dog", "fish"], ["cat", "big dog"]) == {
        "Cat": "cat", "big_dog": "big dog", "fish": None}


def test_threshold_curve_by_hand():
    # confidences 0.7 0.6 0.8 0.7 0.4 0.55; right: yes yes no yes no no
    curve = threshold_curve(PROBABILITIES, TRUE, thresholds=[0.0, 0.5, 0.6, 0.75, 0.9])
    expected = [
        (0.0, 6 / 6, 3 / 6),
        (0.5, 5 / 6, 3 / 5),  # 0.4 left out
        (0.6, 4 / 6, 3 / 4),  # 0.55 left out too
        (0.75, 1 / 6, 0.0),  # only the confident mistake (0.8) answered
        (0.9, 0.0, None),  # answers nothing
    ]
    assert len(curve) == len(expected)
    for (t, coverage, accuracy), (et, ec, ea) in zip(curve, expected):
        assert t == pytest.approx(et) and coverage == pytest.approx(ec)
        assert accuracy == (None if ea is None else pytest.approx(ea))


def test_threshold_curve_default_thresholds():
    curve = threshold_curve(PROBABILITIES, TRUE)
    assert len(curve) == 21
    assert curve[0] == (0.0, 1.0, 0.5)
    assert curve[-1] == (1.0, 0.0, None)
    coverages = [c for _, c, _ in curve]
    assert coverages == sorted(coverages, reverse=True)


def test_class_never_predicted_has_zero_precision():
    evaluation = evaluate([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]], [0, 1], ["a", "b", "c"])
    np.testing.assert_allclose(evaluation.precision, [1.0, 1.0, 0.0])
    np.testing.assert_allclose(evaluation.recall, [1.0, 1.0, 0.0])  # no picture of c: 0.0
    assert evaluation.accuracy == 1.0 and evaluation.mistakes() == []


@pytest.mark.parametrize(
    ("probabilities", "labels", "match"),
    [
        (np.ones((2, 3)) / 3, [0], "one true label"),
        (np.ones((2, 2)) / 2, [0, 1], "3 classes"),
        (np.ones((2, 3)) / 3, [0, 3], "between 0 and 2"),
        (np.ones(3) / 3, [0], "2-D"),
    ],
)
def test_bad_input_is_refused_clearly(probabilities, labels, match):
    with pytest.raises(ValueError, match=match):
        evaluate(probabilities, labels, CLASSES)


# ---- on a small real run ----------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(demo_run):
    return demo_run


def test_evaluate_run_on_its_validation_pictures(trained):
    trainer, run = trained
    evaluation = evaluate_run(run)
    assert len(evaluation) == len(trainer.val_indices_) == run.record.val_pictures
    # The same pictures, decoded the same way, as the trainer measured them.
    np.testing.assert_allclose(evaluation.probabilities, trainer.val_probabilities_, atol=1e-5)
    assert evaluation.accuracy == pytest.approx(run.record.val_accuracy)
    np.testing.assert_array_equal(evaluation.support, np.bincount(evaluation.true_labels, minlength=3))
    assert evaluation.confusion.sum() == len(evaluation)
    assert np.trace(evaluation.confusion) == round(evaluation.accuracy * len(evaluation))
    if MOBILENET_035.is_file():  # real pretrained features: the shapes are easy
        assert evaluation.accuracy >= 0.8
    json.dumps(evaluation.to_dict())


def test_evaluate_run_on_given_files_skips_broken_ones(trained, tmp_path):
    _, run = trained
    from tlcore.runs import validation_set

    files, _, labels = validation_set(run)
    broken = tmp_path / "broken.jpg"
    broken.write_text("not a picture")
    evaluation = evaluate_run(run, files[:4] + [broken], labels[:4] + [run.class_names[0]])
    assert len(evaluation) == 4
    assert evaluation.skipped == [(str(broken), "It is not a picture.")]
    indices = [run.class_names.index(label) for label in labels[:4]]
    np.testing.assert_array_equal(evaluation.true_labels, indices)
    with pytest.raises(ValueError, match="not one of the model's classes"):
        evaluate_run(run, files[:1], ["hexagon"])
