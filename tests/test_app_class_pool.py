"""The class pool in the app (AppTest): a student adds their pictures after saying the class will
see them and chooses what to train on (the Train page says it); the teacher sees the pool by student,
hides and removes a picture (after asking), each in the teacher's record, and the student's Data
page says what became of theirs."""

from __future__ import annotations

import html
import re

from streamlit.testing.v1 import AppTest

from studio_support import APP, TIMEOUT, environment, folders, switch, texts  # noqa: F401  (fixtures by name)
from test_app_classroom import classroom, space_of, student, teacher_page  # noqa: F401
from test_app_pages import pets_zip
from tlcore.classroom.pool import ClassPool
from tlcore.classroom.privacy import read_record
from tlcore.spaces import SpaceStore


def test_a_student_shares_pictures_the_teacher_hides_and_removes_one_and_the_student_sees_it(classroom, folders):
    ana = student("Ana")
    switch(ana, "data").run()
    assert "None of your pictures are in the class pool yet." in texts(ana)
    assert "Bring your own pictures first; then you can add them to the class pool." in texts(ana)  # the demo
    ana.file_uploader(key="data_zip").set_value(("pets.zip", pets_zip(), "application/zip")).run()
    assert ana.button(key="data_pool_add").disabled  # not before saying the class will see them
    ana.checkbox(key="data_pool_sure").check().run()
    ana.button(key="data_pool_add").click().run()
    assert not ana.exception, ana.exception
    assert "6 pictures were added to the class pool." in texts(ana)
    assert "6 of your pictures are in the class pool." in texts(ana)
    assert not ana.checkbox(key="data_pool_sure").value and ana.button(key="data_pool_add").disabled  # asked again
    pool = ClassPool(folders["workspace"])
    assert [(p.who, p.class_name) for p in pool.pictures()] == [("Ana", "cats")] * 3 + [("Ana", "dogs")] * 3

    switch(ana, "experiments").run()  # the class's question, with her pictures and the pool's
    assert not ana.exception, ana.exception
    titles = [html.unescape(re.sub(r"<[^>]+>", "", m.value)) for m in ana.markdown if "tl-card-title" in m.value]
    assert "My pictures vs the whole class's" in titles
    # Four questions now; like the others, it leaves out a network whose weights are not here (none in this test).
    assert sum("their weights are not on this computer" in c.value for c in ana.caption) == 4
    switch(ana, "data").run()
    ana.radio(key="data_train_on").set_value("pool").run()
    assert SpaceStore.in_workspace(folders["workspace"]).state(space_of(ana)).train_on == "pool"
    switch(ana, "train").run()
    assert not ana.exception, ana.exception
    assert "6 pictures (The class pool, 2 classes)" in texts(ana)

    teacher = teacher_page()
    assert "Class pool" in texts(teacher)
    by_student = next(d.value for d in teacher.dataframe if list(d.value.columns) == ["student", "shown", "hidden"])
    assert by_student.values.tolist() == [["Ana", 6, 0]]
    teacher.radio(key="teacher_pool_view").set_value("student").run()
    first, second = [p.file for p in pool.pictures()][:2]
    teacher.button(key=f"teacher_pool_hide:{first}").click().run()
    assert "✗ Hidden from the class · added by Ana on " in texts(teacher)
    teacher.button(key=f"teacher_pool_remove:{second}").click().run()
    assert "Remove this picture from the pool for good?" in texts(teacher)
    assert [p.file for p in pool.pictures()][1] == second  # asked, not yet removed
    teacher.button(key=f"teacher_pool_yes:{second}").click().run()
    assert not teacher.exception, teacher.exception
    assert second not in [p.file for p in pool.pictures()] and len(pool.pictures()) == 5
    assert [(e["action"], e["student"], e["detail"]) for e in read_record(folders["workspace"])][-2:] == [
        ("pool_hidden", "Ana", "cats: cats_0.png"), ("pool_removed", "Ana", "cats: cats_1.png")]
    assert list(teacher.dataframe[-1].value["what"])[:2] == [
        "Removed a picture from the class pool", "Hid a picture of the class pool"]

    switch(ana, "data").run()
    assert "5 of your pictures are in the class pool. Your teacher hid 1 of them: it is not used for training." in (
        texts(ana))
    switch(ana, "train").run()
    assert "The class pool cannot be trained on yet: choose your own pictures" in texts(ana)  # 1 cat left: the pool says why
    assert "Class 'cats' has 1 usable picture; every class needs at least 2." in texts(ana)
    ana.button(key="train_start").click().run()
    assert not ana.exception and "Class 'cats' has 1 usable picture" in ana.error[0].value  # nothing queued
    teacher.button(key=f"teacher_pool_hide:{first}").click().run()  # shown again
    switch(ana, "train").run()
    assert "5 pictures (The class pool, 2 classes)" in texts(ana)
