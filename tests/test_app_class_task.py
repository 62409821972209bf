"""The class task (AppTest): the teacher sets the lesson's classes; every new space starts with them."""

from __future__ import annotations

from studio_support import environment, folders, switch, texts  # noqa: F401  (fixtures are found by name)
from test_app_classroom import classroom, space_of, student, teacher_page  # noqa: F401
from tlcore.classroom.class_settings import read_class_settings
from tlcore.classroom.privacy import read_record


def test_every_space_made_after_the_task_starts_with_its_classes(classroom, folders):
    early = student("Early")
    teacher = teacher_page()
    teacher.text_input(key="teacher_task").input("rock, paper/, scissors")
    teacher.button(key="teacher_task_set").click().run()
    assert ("'paper/' cannot be a class name (no slashes, dots at the start or special characters); type it "
            "another way.") in texts(teacher)
    assert read_class_settings(folders["workspace"]).task == ()
    teacher.text_input(key="teacher_task").input(" rock,  paper , scissors,Rock ")
    teacher.button(key="teacher_task_set").click().run()
    assert not teacher.exception, teacher.exception
    assert "Every student who joins from now on starts with these classes." in texts(teacher)
    assert read_class_settings(folders["workspace"]).task == ("rock", "paper", "scissors")
    assert [(e["action"], e["detail"]) for e in read_record(folders["workspace"])] == [
        ("task_set", "rock, paper, scissors")]

    ana = student("Ana")
    pictures = folders["workspace"] / "spaces" / space_of(ana) / "pictures"
    assert sorted(p.name for p in pictures.iterdir()) == ["paper", "rock", "scissors"]
    assert list((folders["workspace"] / "spaces" / space_of(early) / "pictures").iterdir()) == []
    switch(ana, "data").run()
    assert not ana.exception, ana.exception
    assert [ana.text_input(key=f"data_cls_name_{i}").value for i in range(3)] == ["rock", "paper", "scissors"]


def test_a_task_typed_with_any_keyboards_comma_is_split_into_its_classes():
    """An Arabic keyboard types "،", a Chinese one "，": the lesson still gets three classes."""
    from tlcore.classroom.class_settings import parse_task

    assert parse_task("rock, paper,scissors") == ("rock", "paper", "scissors")
    assert parse_task("حجر، ورقة، مقص") == ("حجر", "ورقة", "مقص")
    assert parse_task("石头，剪刀、布") == ("石头", "剪刀", "布")
    assert parse_task("Rock, rock , PAPER") == ("Rock", "PAPER")  # each once: case and spaces ignored
