"""TrainingSettings: one owner for defaults, checks, derived values and storage."""

from __future__ import annotations

import pytest

from tlcore.backbones import BACKBONES
from tlcore.settings import SettingsError, TrainingSettings


def test_defaults_and_round_trip():
    settings = TrainingSettings(backbone="mobilenet_v2_035", learning_blocks=2, epochs=3, augment=["flip"])
    assert TrainingSettings.from_dict(settings.to_dict()) == settings
    assert settings.to_dict()["augment"] == ["flip"]


@pytest.mark.parametrize("name", list(BACKBONES))
def test_every_registry_backbone_is_accepted(name):
    weights = "imagenet" if BACKBONES[name].pretrained else "none"
    assert TrainingSettings(backbone=name.upper(), weights=weights).backbone == name


def test_a_network_without_pretraining_trains_only_from_scratch():
    with pytest.raises(SettingsError, match="^Small CNN \\(no pretraining\\) has no pretrained weights"):
        TrainingSettings(backbone="small_cnn")


def test_phases_follow_the_rules():
    head_only = TrainingSettings(epochs=4)
    assert [(p.name, p.epochs) for p in head_only.phases()] == [("head", 4)]
    tuned = TrainingSettings(epochs=4, learning_blocks=2)
    assert [(p.name, p.epochs, p.learning_blocks) for p in tuned.phases()] == [("head", 4, 0), ("fine_tune", 4, 2)]
    assert tuned.phases()[1].learning_rate == pytest.approx(tuned.learning_rate / 10)
    scratch = TrainingSettings(weights="none", epochs=3, learning_blocks=5)
    assert [(p.name, p.epochs, p.learning_blocks) for p in scratch.phases()] == [("scratch", 3, None)]
    assert scratch.blocks_that_learn(17) == 17 and tuned.blocks_that_learn(17) == 2
    assert TrainingSettings(epochs=2, learning_blocks=1, fine_tune_epochs=0).phases()[-1].name == "head"


def test_older_files_are_read():
    """run.json and lesson files of the first wave: freeze_depth, "Auto", unknown keys."""
    settings = TrainingSettings.from_dict({"freeze_depth": 3, "batch_size": "Auto", "fine_tune_epochs": 2,
                                           "batch_size_setting": "auto", "something_new": 1})
    assert settings.learning_blocks == 3 and settings.batch_size == "auto" and settings.fine_tune_epochs == 2


def test_auto_batch_size_gives_small_sets_real_steps():
    assert TrainingSettings().batch_size_for(30) == 4
    assert TrainingSettings().batch_size_for(1000) == 32
    assert TrainingSettings(batch_size=16).batch_size_for(30) == 16


@pytest.mark.parametrize("changes, words", [
    ({"epochs": 0}, "Epochs must be between 1 and 1000; got 0."),
    ({"epochs": "many"}, "Epochs must be a whole number; got 'many'."),
    ({"batch_size": "abc"}, "Batch size must be 'auto' or a whole number from 1 to 4096; got 'abc'."),
    ({"learning_rate": 5}, "Learning rate must be between 0 and 1 (for example 0.001); got 5."),
    ({"learning_rate": float("nan")}, "Learning rate must be a finite number; got nan."),
    ({"backbone": "vgg"}, "Unknown backbone 'vgg'. Choose one of:"),
    ({"fine_tune_epochs": 3}, "Fine-tuning needs at least one learning block"),
    ({"augment": ["blur"]}, "Unknown augmentation blur: choose from flip, rotation, zoom, contrast."),
    ({"learning_blocks": -1}, "Learning blocks must be 0 (only the new head learns) or more; got -1."),
    ({"validation_fraction": 0.95}, "Validation fraction must be between 0.01 and 0.9; got 0.95."),
])
def test_bad_settings_say_what_to_do(changes, words):
    with pytest.raises(SettingsError) as caught:
        TrainingSettings(**changes)
    assert str(caught.value).startswith(words)


def test_not_a_dict_is_refused_in_words():
    with pytest.raises(SettingsError, match="not readable"):
        TrainingSettings.from_dict(["backbone", "vgg16"])
