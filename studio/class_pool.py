"""The class pool (classroom mode). On the Teacher page: the pool by class and by student, each
picture with who added it and when, and Hide / Show again / Remove (remove asks first), each
recorded in the teacher's record. On a student's Data page: adding their pictures (after saying
the class will see them), how many of theirs are in it, and what their trainings learn from
(their pictures, the pool, or both). The Train page asks ``training_set()`` what to train on.

Where the pool lives and what it keeps: tlcore/classroom/pool.py.
"""

from __future__ import annotations

import io

import streamlit as st
from PIL import Image, ImageOps

from studio import spaces, state, widgets, words
from studio.i18n import _, _n, tr
from tlcore.classroom import privacy
from tlcore.classroom.pool import (BOTH_NEEDS_OWN, BOTH_SET_NAME, POOL_EMPTY, POOL_NOT_READY, POOL_SET_NAME,
                                   ClassPool, PoolPicture)
from tlcore.data import DatasetError, ImageDataset
from tlcore.i18n import N_, msg, msg_n, sentences
from tlcore.paths import workspace_root
from tlcore.spaces import STUDENT, TRAIN_ON_BOTH, TRAIN_ON_OWN, TRAIN_ON_POOL, SpaceError

TRAIN_ON_LABELS = {TRAIN_ON_OWN: N_("My pictures"), TRAIN_ON_POOL: N_("The class pool"), TRAIN_ON_BOTH: N_("Both")}
BY_CLASS, BY_STUDENT = "class", "student"
VIEW_LABELS = {BY_CLASS: N_("By class"), BY_STUDENT: N_("By student")}
SHOWN, COLUMNS, THUMBNAIL_SIDE = 20, 5, 240  # 4 rows of 5 on a projector
ASKED = "teacher_pool_remove_asked"  # the picture whose Remove waits for a yes
TEACHER_FLASH, STUDENT_FLASH = "teacher_pool_flash", "data_pool_flash"


@st.cache_resource(show_spinner=False)
def _pool(workspace: str) -> ClassPool:
    """One per server process: its lock keeps every session's changes apart, its pixels are shared."""
    return ClassPool(workspace)


def pool() -> ClassPool:
    return _pool(str(workspace_root()))


def when_words(picture: PoolPicture) -> str:
    return picture.when.replace("T", " ")[:16]


# -- the teacher ------------------------------------------------------------------------------------
def pool_section() -> None:
    st.header(_("Class pool"), anchor=False)
    widgets.show_flash(TEACHER_FLASH)
    pictures = pool().pictures()
    if not pictures:
        st.caption(_("No pictures in the class pool yet. Students add theirs on their Data page; you can then "
                     "hide or remove any of them here."))
        return
    counts_tables(pictures)
    chosen = chosen_pictures()
    if len(chosen) > SHOWN:
        st.caption(_n("The first {shown} of {count} picture: choose a student or a class to see the others.",
                      "The first {shown} of {count} pictures: choose a student or a class to see the others.",
                      len(chosen), shown=SHOWN))
    for start in range(0, min(len(chosen), SHOWN), COLUMNS):
        for column, picture in zip(st.columns(COLUMNS), chosen[start:start + COLUMNS]):
            with column:
                picture_cell(picture)


def counts_tables(pictures: list[PoolPicture]) -> None:
    by_class, by_student = st.columns(2)
    rows: dict[str, dict] = {}
    for picture in pictures:
        row = rows.setdefault(picture.class_name, {"class": picture.class_name, "shown": 0, "hidden": 0})
        row["hidden" if picture.hidden else "shown"] += 1
    shown, hidden = st.column_config.NumberColumn(_("Used")), st.column_config.NumberColumn(_("Hidden"))
    by_class.dataframe(list(rows.values()), hide_index=True, key="teacher_pool_classes", column_config={
        "class": st.column_config.TextColumn(_("Class")), "shown": shown, "hidden": hidden})
    rows = {}
    for picture in pictures:
        row = rows.setdefault(picture.space_id, {"student": picture.who, "shown": 0, "hidden": 0})
        row["hidden" if picture.hidden else "shown"] += 1
    by_student.dataframe(list(rows.values()), hide_index=True, key="teacher_pool_students", column_config={
        "student": st.column_config.TextColumn(_("Student")), "shown": shown, "hidden": hidden})


def chosen_pictures() -> list[PoolPicture]:
    """The pictures of the class or the student the teacher chose to look at."""
    view_column, choice_column = st.columns([1, 2], vertical_alignment="bottom")
    view = view_column.radio(_("Look at the pictures"), list(VIEW_LABELS), horizontal=True, key="teacher_pool_view",
                             format_func={v: _(t) for v, t in VIEW_LABELS.items()}.get)
    if view == BY_CLASS:
        groups = pool().by_class()
        names = {name: name for name in groups}
        label = _("Class")
    else:
        groups = pool().by_student()
        names = {space_id: pictures[-1].who for space_id, pictures in groups.items()}
        label = _("Student")
    chosen = choice_column.selectbox(label, list(groups), format_func=names.get, key=f"teacher_pool_{view}")
    return groups.get(chosen, [])


def picture_cell(picture: PoolPicture) -> None:
    """One picture: the thumbnail, who and when, Hide or Show again, Remove (after asking)."""
    thumbnail = thumbnail_bytes(str(pool().path_of(picture)))
    alt = _("A picture of {class_name} added by {name} on {when}", class_name=picture.class_name, name=picture.who,
            when=when_words(picture))
    if thumbnail is not None:
        st.image(thumbnail, alt=alt, width="stretch")
    if picture.hidden:
        st.caption(_("✗ Hidden from the class · added by {name} on {when}", name=words.md(picture.who), when=when_words(picture)))
    else:
        st.caption(_("Added by {name} on {when}", name=words.md(picture.who), when=when_words(picture)))
    key = picture.file
    if st.session_state.get(ASKED) == key:
        st.warning(_("Remove this picture from the pool for good?"))
        if st.button(_("Yes, remove"), key=f"teacher_pool_yes:{key}", width="stretch"):
            change(picture, remove=True)
        if st.button(_("Keep it"), key=f"teacher_pool_keep:{key}", width="stretch"):
            st.session_state.pop(ASKED, None)
            st.rerun()
        return
    if st.button(_("Show again") if picture.hidden else _("Hide"), key=f"teacher_pool_hide:{key}", width="stretch",
                 icon=":material/visibility:" if picture.hidden else ":material/visibility_off:"):
        change(picture, hidden=not picture.hidden)
    if st.button(_("Remove"), key=f"teacher_pool_remove:{key}", width="stretch", icon=":material/delete:"):
        st.session_state[ASKED] = key
        st.rerun()


def change(picture: PoolPicture, hidden: bool | None = None, remove: bool = False) -> None:
    """Hide, show again or remove ``picture``, and add it to the teacher's record."""
    st.session_state.pop(ASKED, None)
    try:
        if remove:
            pool().remove(picture.file)
        else:
            pool().set_hidden(picture.file, hidden)
    except (SpaceError, OSError) as error:
        st.error(tr(error) if isinstance(error, SpaceError) else _(
            "The class pool could not be changed ({why}); try again.", why=str(error)))
        return
    action = privacy.POOL_REMOVED if remove else privacy.POOL_HIDDEN if hidden else privacy.POOL_SHOWN
    privacy.record(workspace_root(), action, picture.who, f"{picture.class_name}: {picture.original}")
    st.rerun()


@st.cache_data(max_entries=400, show_spinner=False)
def thumbnail_bytes(path: str) -> bytes | None:
    """A small JPEG of a pool picture (a phone's photo is megabytes: the projector's wifi is slow).
    A file's name never changes while it is in the pool (its bytes' hash is in it), so the path is the key."""
    try:
        with Image.open(path) as image:
            small = ImageOps.exif_transpose(image).convert("RGB")
            small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            buffer = io.BytesIO()
            small.save(buffer, "JPEG", quality=85)
            return buffer.getvalue()
    except (OSError, ValueError):
        return None


# -- the student ------------------------------------------------------------------------------------
def student_space():
    """The student's own space in classroom mode (not the teacher looking at it), else None."""
    space = state.current_space() if spaces.classroom() else None
    if space is None or space.kind != STUDENT or spaces.viewing_as_teacher(space):
        return None
    return space


def student_section() -> None:
    """The Data page's part: what of theirs is in the pool, adding more, and what trainings learn from."""
    space = student_space()
    if space is None:
        return
    st.subheader(_("The class pool"), anchor=False)
    widgets.show_flash(STUDENT_FLASH)
    mine = pool().of_student(space.id)
    hidden = sum(picture.hidden for picture in mine)
    if not mine:
        st.markdown(_("None of your pictures are in the class pool yet."))
    elif hidden:
        st.markdown(tr(sentences(
            msg_n("{count} of your pictures is in the class pool.", "{count} of your pictures are in the class pool.",
                  len(mine)),
            msg_n("Your teacher hid {count} of them: it is not used for training.",
                  "Your teacher hid {count} of them: they are not used for training.", hidden))))
    else:
        st.markdown(_n("{count} of your pictures is in the class pool.",
                       "{count} of your pictures are in the class pool.", len(mine)))
    add_pictures(space)
    train_on_choice(space)


def add_pictures(space) -> None:
    classes = [name for name, count in spaces.store().picture_counts(space.id).items() if count]
    if not classes or state.is_demo():
        st.caption(_("Bring your own pictures first; then you can add them to the class pool."))
        return
    chosen = st.multiselect(_("Classes to add"), classes, default=classes, key="data_pool_classes")
    sure = st.checkbox(_("I want to share these pictures: everyone in the class and the teacher will see them, "
                         "with my name."), key="data_pool_sure")
    st.button(_("Add my pictures to the class pool"), key="data_pool_add", disabled=not (sure and chosen),
              icon=":material/group_add:", on_click=add_chosen, args=(space, chosen))


def add_chosen(space, chosen: list[str]) -> None:
    """The Add button's callback: before the rerun, so the "I want to share" box can be unticked
    (each adding is asked for again)."""
    st.session_state["data_pool_sure"] = False
    try:
        added = pool().add(space, chosen, task=spaces.task_classes())
    except (SpaceError, OSError) as error:
        widgets.flash(STUDENT_FLASH, "error", error.args[0] if isinstance(error, SpaceError) else msg(
            "Your pictures could not be added ({why}); try again.", why=str(error)))
        return
    said = [msg_n("{count} picture was added to the class pool.", "{count} pictures were added to the class pool.",
                  added.added)]
    if added.already:
        said.append(msg_n("{count} was there already.", "{count} were there already.", added.already))
    if added.left_out:
        said.append(msg("Not added, as they are not among the lesson's classes: {classes}.",
                        classes=", ".join(added.left_out)))
    widgets.flash(STUDENT_FLASH, "success", sentences(*said))


def train_on_choice(space) -> None:
    saved = spaces.store().state(space.id).train_on
    chosen = st.radio(_("Train on"), list(TRAIN_ON_LABELS), index=list(TRAIN_ON_LABELS).index(saved),
                      horizontal=True, key="data_train_on",
                      format_func={v: _(t) for v, t in TRAIN_ON_LABELS.items()}.get)
    if chosen != saved:
        spaces.store().update_state(space.id, train_on=chosen)
    visible = sum(not picture.hidden for picture in pool().pictures())
    st.caption(_n("The class pool has {count} picture from the whole class. The Train page trains on what you "
                  "choose here.", "The class pool has {count} pictures from the whole class. The Train page trains "
                  "on what you choose here.", visible))


# -- what a training learns from --------------------------------------------------------------------
def training_set() -> tuple[ImageDataset, str]:
    """The next training's pictures and their set's name: the session's picture set, or (a student
    who chose so on the Data page) the class pool, or both. DatasetError, in plain words, when the
    pool cannot be trained on (no pictures yet, a class with too few)."""
    own = state.ensure_dataset()
    space = student_space()
    choice = spaces.store().state(space.id).train_on if space is not None else TRAIN_ON_OWN
    if choice == TRAIN_ON_OWN:
        return own, state.dataset_name()
    try:
        with st.spinner(_("Getting the class pool's pictures ready…")):
            if choice == TRAIN_ON_POOL:
                data = pool().dataset(own.image_size)
                if data is None:
                    raise DatasetError(msg(POOL_EMPTY))
                return data, POOL_SET_NAME
            if state.is_demo():
                raise DatasetError(msg(BOTH_NEEDS_OWN))
            return pool().with_own(own, space.id), BOTH_SET_NAME
    except DatasetError as error:  # what is wrong with the pool's pictures, said as the pool's
        raise DatasetError(sentences(msg(POOL_NOT_READY), error.args[0] if error.args else str(error))) from None


def class_set() -> ImageDataset | None:
    """The student's own pictures and the class pool's as one set (the Experiments page's "My pictures vs
    the whole class's"), or None: not a student, the demo, no usable pool."""
    space, own = student_space(), state.dataset()
    if space is None or own is None or state.is_demo() or not pool().by_class():
        return None
    try:
        return pool().with_own(own, space.id)
    except (DatasetError, OSError):
        return None
