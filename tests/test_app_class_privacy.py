"""The Teacher page's privacy section (AppTest): how long the class is kept (and the join page's
sentence), erasing one student after asking, and the record of what the teacher did."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from studio_support import APP, TIMEOUT, environment, folders, texts  # noqa: F401  (fixtures are found by name)
from test_app_classroom import classroom, space_of, student, teacher_page  # noqa: F401
from tlcore.classroom.class_settings import read_class_settings
from tlcore.classroom.privacy import read_record


def test_the_teacher_chooses_how_long_erases_a_student_after_asking_and_sees_the_record(classroom, folders):
    ana, bo = student("Ana"), student("Bo")
    teacher = teacher_page()
    assert "Nothing yet. Opening a student's space" in texts(teacher)

    teacher.selectbox(key="teacher_keep_for").set_value("week").run()
    assert read_class_settings(folders["workspace"]).keep_for == "week"
    assert "is erased at the first start of the Studio after" in texts(teacher)
    joining = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=60)  # a new student's tab
    assert ("Your name, pictures and models are kept only on your teacher's computer, and erased after a week."
            in texts(joining))

    teacher.selectbox(key="teacher_open_choice").set_value(space_of(ana)).run()
    teacher.button(key="teacher_open").click().run()
    teacher.selectbox(key="teacher_erase_choice").set_value(space_of(ana)).run()
    assert teacher.button(key="teacher_erase").disabled  # not before saying so
    teacher.checkbox(key="teacher_erase_sure").check().run()
    teacher.button(key="teacher_erase").click().run()
    assert not teacher.exception, teacher.exception
    assert "Ana was erased from this computer." in texts(teacher)
    assert not (folders["workspace"] / "spaces" / space_of(ana)).exists()
    assert (folders["workspace"] / "spaces" / space_of(bo)).is_dir()
    assert [(e["action"], e["student"]) for e in read_record(folders["workspace"])] == [
        ("keep_for_set", None), ("opened", "Ana"), ("erased", "Ana")]
    table = teacher.dataframe[-1].value  # the record, below the class table
    assert list(table["what"]) == ["Erased a student everywhere", "Opened a student's space",
                                   "Chose how long the class is kept"]
    assert list(table["detail"])[-1] == "A week"


def _privacy_section():
    from studio import class_privacy

    class_privacy.privacy_section()
    class_privacy.kept_caption()


def test_every_word_of_the_privacy_section_is_translated(classroom, folders, monkeypatch):
    from i18n_support import PSEUDO, untranslated, use_pseudo_language, visible_texts
    from tlcore.classroom.class_settings import ClassSettings, save_class_settings
    from tlcore.classroom.privacy import CLEAR_FAILED_FILE, ERASED, record
    from tlcore.files import write_json
    from tlcore.spaces import SpaceStore

    use_pseudo_language(monkeypatch)
    SpaceStore.in_workspace(folders["workspace"]).create("Ana")
    save_class_settings(folders["workspace"], ClassSettings(keep_for="term", export_before_clear="/media/usb"))
    record(folders["workspace"], ERASED, "Bo")
    write_json(folders["workspace"] / CLEAR_FAILED_FILE, {"folder": "/media/usb", "why": "Not a directory"})
    at = AppTest.from_function(_privacy_section, default_timeout=TIMEOUT)
    at.session_state["tl_language"] = PSEUDO
    at.run(timeout=60)
    assert not at.exception, at.exception
    assert not untranslated(visible_texts(at), allowed=("Ana", "Bo", "Not a directory"))
    assert len(at.error) == 1 and len(at.caption) == 3 and at.selectbox(key="teacher_erase_choice").options == ["Ana"]


def test_the_teacher_chooses_a_folder_for_the_export_before_clearing(classroom, folders, tmp_path):
    import json

    from tlcore.classroom.privacy import CLEAR_FAILED_FILE

    workspace, usb = folders["workspace"], tmp_path / "usb"
    at = AppTest.from_function(_privacy_section, default_timeout=TIMEOUT).run(timeout=60)
    at.text_input(key="teacher_export_before_clear").input(str(workspace / "exports")).run()
    assert (f"The export before clearing must go to a folder outside the class's workspace ({workspace.resolve()}): "
            "clearing would erase it there. Choose another folder.") in texts(at)
    assert read_class_settings(workspace).export_before_clear is None

    at.selectbox(key="teacher_keep_for").set_value("week").run()
    at.text_input(key="teacher_export_before_clear").input(str(usb)).run()
    assert not at.exception and not at.error, at.error
    assert read_class_settings(workspace).export_before_clear == str(usb) and usb.is_dir()
    assert f"Before clearing, the class will be exported into {usb}." in texts(at)
    assert ("Your name, pictures and models are kept only on your teacher's computer, and erased after a week; "
            "just before that, your teacher's computer saves a copy of the class's work.") in texts(at)
    assert [(e["action"], e["detail"]) for e in read_record(workspace)] == [
        ("keep_for_set", "week"), ("export_folder_set", str(usb))]
    assert list(at.dataframe[-1].value["what"])[0] == "Chose where the class is exported before it is cleared"

    (workspace / CLEAR_FAILED_FILE).write_text(json.dumps({"folder": str(usb), "why": "No space left on device"}))
    at.run()  # a start found the time up, but the export failed
    assert len(at.error) == 1 and (f"The class's time is up, but it was not cleared: its export to {usb} failed (No "
                                 "space left on device). Nothing was erased; fix the folder (or choose another), and "
                                 "the next start of the Studio exports the class and clears it.") in texts(at)
