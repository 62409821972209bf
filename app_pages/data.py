"""Data: the session's picture set. Load a zip, a folder, class by class or record bursts with
the camera; rename, delete and thin out classes (without decoding the pictures again).
No TensorFlow here."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from studio import camera, class_pool, navigation, spaces, state, uploads, widgets
from studio.i18n import _, _n, language, listed, tr
from studio.photos import Photo
from studio.words import md
from tlcore.data import DatasetError, ImageDataset, UnsafeArchiveError, folder_upload_items, safe_name
from tlcore.i18n import N_, format_value

from tlcore.data.report import MIN_PICTURES_PER_CLASS
from tlcore.data.sources import PICTURE_EXTENSIONS

FLASH = "data_flash"
CAMERA_KEY = "data_camera"
CAMERA_TAB = N_(":material/photo_camera: Camera")
CAMERA_SET_NAME = N_("Camera pictures")
CAMERA_DRAFT = "data_camera_draft"  # a camera set with fewer than two classes yet (the old set stays meanwhile)
CAMERA_WHERE = "data_camera_where"  # "new": a camera-only set; "add": into the current set
UNDO = "data_undo_kept"  # deleted pictures, kept until the next change: {"fingerprint", "items", "what"}
DELETE_ASKED = "data_delete_asked"  # (set version, class) whose "Delete this class" waits for a yes
CAMERA_JPEG_QUALITY = 92
PICTURE_TYPES = sorted(ext.lstrip(".") for ext in PICTURE_EXTENSIONS)
THUMBNAILS_PER_CLASS = 7  # one row at 100 px in a class box on a 1280-px-wide projector
THUMBNAIL_WIDTH = 100
PROBLEMS_SHOWN = 8


def render() -> None:
    st.title(_("Your pictures"))
    data = state.ensure_dataset()
    widgets.show_flash(FLASH, details_title=_("What was found"))
    # The ways to bring pictures come first: the camera's preview, Record switch, count and last
    # pictures then fit on the first screen of a projector (1280×720).
    bring_section(data)
    if state.keep_problem():
        st.warning(tr(state.keep_problem()))
    summary_section(data)
    findings_section(data.report)
    label_check_section(data)
    classes_section(data)
    class_pool.student_section()  # classroom mode, a student's own space only
    navigation.link("model", _("Next: choose the network"))


def bring_section(data: ImageDataset) -> None:
    st.markdown(_("**Bring your own pictures**, or keep the demo:"))
    tabs = st.tabs([_(":material/folder_zip: A zip file"), _(":material/folder_open: A folder"),
                    _(":material/label: Class by class"), _(CAMERA_TAB), _(":material/category: The demo")],
                   key="data_tabs", on_change="rerun")
    for tab, section in zip(tabs, (zip_section, folder_section, class_by_class_section,
                                   camera_section, demo_section)):
        with tab:
            if section is camera_section and tab.open is False:  # closed: the camera is off, not hidden
                camera.finish_recording(CAMERA_KEY, save_recorded)  # a burst still recording is kept
                st.caption(_("The camera turns on only while this tab is open."))
                continue
            section(data)


# -- what the set holds ------------------------------------------------------------------------------
def summary_section(data: ImageDataset) -> None:
    report = data.report
    columns = st.columns([1.8, 1, 1, 1.2])  # "Skipped files" on one line at 1280 px
    with columns[0]:
        widgets.result_card(_("Picture set"), state.shown_dataset_name(), small=True)
    with columns[1]:
        widgets.result_card(_("Pictures"), number(len(data)))
    with columns[2]:
        widgets.result_card(_("Classes"), number(len(data.class_names)))
    with columns[3]:
        widgets.result_card(_("Skipped files"), number(len(report.skipped)),
                            tone="warn" if report.skipped else "")


def label_check_section(data: ImageDataset) -> None:
    """What the Understand page's label check found in this very set, if it has run on it."""
    from app_pages.understand import MAPS

    job = st.session_state.get(MAPS)
    if job is None or "suspects" not in job.ready or tuple(data.file_hashes) != job.hashes:
        return
    found = len(job.suspects or []) + len(job.off_topic or [])
    if found:
        st.info(_n("The label check found **{count} picture** worth a second look (in another class than "
                   "its own to a check that never saw it, or unlike all the others).",
                   "The label check found **{count} pictures** worth a second look (in another class than "
                   "its own to a check that never saw it, or unlike all the others).", found))
        navigation.link("understand", _("See them on the Understand page"), icon=":material/scatter_plot:")


def findings_section(report) -> None:
    """Skipped files and folders and warnings (can hurt learning), then notes (worth a look)."""
    problems = ([tr(s.sentence()) for s in report.skipped] + [tr(f.sentence()) for f in report.folders]
                + [tr(warning) for warning in report.warnings])
    if problems:
        shown, rest = problems[:PROBLEMS_SHOWN], problems[PROBLEMS_SHOWN:]
        st.warning(_("**Things to know about these pictures**") + "\n\n" + "\n".join(f"- {md(p)}" for p in shown))
        if rest:
            with st.expander(_n("{count} more", "{count} more", len(rest))):
                st.markdown("\n".join(f"- {md(p)}" for p in rest))
    else:
        st.success(_("All pictures could be read, and every class has enough of them."))
    if report.notes:
        with st.expander(_n("Worth a look ({count} note; it may be fine)", "Worth a look ({count} notes; it may be fine)",
                            len(report.notes))):
            st.markdown("\n".join(f"- {md(tr(note))}" for note in report.notes))


# -- loading, with every error in plain words ------------------------------------------------------
def load(make, name: str, note: str = "") -> bool:
    """Build a picture set with ``make()``; on success it becomes the session's set."""
    try:
        with st.spinner(_("Reading the pictures…")):
            data = make()
    except (DatasetError, UnsafeArchiveError) as error:
        report = getattr(error, "report", None)
        widgets.flash(FLASH, "error", " ".join(filter(None, [_("These pictures cannot be used yet."), tr(error), note])),
                      [md(tr(p)) for p in report.problems()] if report is not None else [])
        return False
    except (OSError, ValueError) as error:
        widgets.flash(FLASH, "error", _("The pictures could not be read: {error}", error=tr(error)))
        return False
    use(data, name, " ".join(filter(None, [loaded_words(data), note])))
    return True


def use(data: ImageDataset, name: str, text: str) -> None:
    state.set_dataset(data, name)
    widgets.flash(FLASH, "success", text)


def loaded_words(data: ImageDataset) -> str:
    report = data.report
    # i18n: the picture count is said first ("Read 90 pictures in 3 classes."); {classes} is "3 classes"
    classes = _n("{count} class", "{count} classes", len(data.class_names))
    parts = [_n("Read {count} picture in {classes}.", "Read {count} pictures in {classes}.", len(data), classes=classes)]
    if report.skipped:
        parts.append(_n("{count} file was skipped (see the list below).", "{count} files were skipped (see the list below).",
                        len(report.skipped)))
    if report.folders:
        parts.append(_n("{count} folder was skipped (see the list below).",
                        "{count} folders were skipped (see the list below).", len(report.folders)))
    return " ".join(parts)


def rebuild(items, name: str, note: str = "") -> bool:
    """A new set from items, written to this session's work folder (the originals are untouched);
    refused before decoding if it holds more pictures than the space may."""
    items = list(items)
    return load(lambda: ImageDataset.from_uploads(items, state.work_dir(), max_pictures=state.picture_limit()),
                name, note)


def with_not_arrived(items: list, groups: list[tuple[str, list]]) -> list:
    """``items`` and, with no bytes (None), every file chosen beside a group's files that never reached
    the server (still uploading, or lost on the way): the set's report then names each one."""
    missing = uploads.missing_in_this_session([files for _name, files in groups])
    return items + [(class_name, name, None) for (class_name, _files), names in zip(groups, missing) for name in names]


def change(make, done: str) -> None:
    """Apply a change that reuses the decoded pictures (``data.without`` / ``data.renamed``)."""
    try:
        changed = make()
    except (DatasetError, ValueError) as error:  # DatasetError: what is left cannot be trained on
        widgets.flash(FLASH, "error", tr(error))
    else:
        use(changed, state.dataset_name(), done)
    st.rerun()


# -- the ways to bring pictures ---------------------------------------------------------------------
def zip_section(data: ImageDataset) -> None:
    st.markdown(_("A **.zip file with one folder per class** inside, for example "
                  "`cats/…jpg` and `dogs/…jpg`. The pictures replace the current set."))
    zip_file = st.file_uploader(_("Choose a zip file"), type=["zip"], key="data_zip")
    if widgets.new_upload("data_zip", zip_file):
        name = Path(zip_file.name).stem or _("Uploaded zip")
        load(lambda: ImageDataset.from_zip(zip_file, state.work_dir(), max_pictures=state.picture_limit()), name)
        st.rerun()


def folder_section(data: ImageDataset) -> None:
    st.markdown(_("Choose **the folder that holds one sub-folder per class**. "
                  "Each picture's class is the name of the folder it is in."))
    uploads.track_this_server()  # before files are chosen: one that never arrives is named, not lost
    files = st.file_uploader(_("Choose a folder"), accept_multiple_files="directory", type=PICTURE_TYPES,
                             key="data_folder")
    if not widgets.new_upload("data_folder", files):
        return
    missing = uploads.missing_in_this_session([files])[0]
    items, outside = folder_upload_items([(f.name, f.getvalue()) for f in files] + [(name, None) for name in missing])
    note = (_n("{count} file was not inside a class folder and left out.",
               "{count} files were not inside a class folder and left out.", len(outside)) if outside else "")
    if not items:
        widgets.flash(FLASH, "error", " ".join(filter(None, [
            _("No pictures inside class folders were found. Choose the folder that holds one sub-folder per class."),
            note])))
    else:
        parts = files[0].name.replace("\\", "/").split("/")
        hint = "" if len({item[0] for item in items}) > 1 else (
            _("Tip: choose the folder that holds the class folders, not a class folder itself."))
        rebuild(items, parts[0] if len(parts) > 2 else _("Uploaded folder"), " ".join(filter(None, [note, hint])))
    st.rerun()


def class_by_class_section(data: ImageDataset) -> None:
    st.markdown(_("Name each class and drop its pictures in. Two classes or more, "
                  "at least two pictures each (ten or more work better)."))
    task = spaces.task_classes()  # the lesson's classes, as the teacher set them
    count = st.session_state.setdefault("data_cls_count", max(2, len(task)))
    generation = st.session_state.setdefault("data_cls_generation", 0)  # new uploaders after a build
    uploads.track_this_server()  # before files are chosen: one that never arrives is named, not lost
    chosen = []
    for i in range(count):
        name_column, files_column = st.columns([1, 2], vertical_alignment="top")
        class_name = name_column.text_input(_("Class {number}", number=i + 1),
                                            value=task[i] if i < len(task) else _("Class {number}", number=i + 1),
                                            key=f"data_cls_name_{i}")
        files = files_column.file_uploader(_("Pictures of class {number}", number=i + 1), type=PICTURE_TYPES,
                                           accept_multiple_files=True, key=f"data_cls_files_{generation}_{i}")
        chosen.append((class_name.strip(), files or []))
    buttons = st.container(horizontal=True)
    if buttons.button(_("Add a class"), key="data_cls_add", icon=":material/add:"):
        st.session_state["data_cls_count"] = count + 1
        st.rerun()
    if count > 2 and buttons.button(_("Remove the last class"), key="data_cls_remove", icon=":material/remove:"):
        st.session_state["data_cls_count"] = count - 1
        st.rerun()
    make_new = buttons.button(_("Make a new set from these"), key="data_cls_build", type="primary")
    add_to = buttons.button(_("Add them to the current set"), key="data_cls_append")
    if make_new or add_to:
        build_from_classes(data, chosen, add_to, generation)


def build_from_classes(data: ImageDataset, chosen: list, add_to: bool, generation: int) -> None:
    names = [name for name, files in chosen if files]
    if not names:
        st.error(_("Drop some pictures into the classes first."))
    elif any(not name for name, files in chosen if files):
        st.error(_("Every class with pictures needs a name."))
    elif len(set(names)) != len(names):
        st.error(_("Two classes have the same name; give each class its own name."))
    else:
        items = with_not_arrived([(name, f.name, f.getvalue()) for name, files in chosen for f in files], chosen)
        done = add_pictures(data, items) if add_to else rebuild(items, _("Your classes"))
        if done:
            st.session_state["data_cls_generation"] = generation + 1  # empty uploaders
        st.rerun()


def camera_section(data: ImageDataset) -> None:
    """Bursts from the camera into a class (the preview, and beside it the class, Record and the count),
    or photos from the camera app where live video cannot work."""
    draft = camera_draft()
    target = draft if draft is not None else data
    known = [*(target.class_names if target is not None else []), *spaces.task_classes()]
    camera.record_section(known, save_recorded, key=CAMERA_KEY,
                          where=lambda: camera_target_words(draft))


def camera_draft() -> ImageDataset | None:
    """The camera-only set being started (None: record into the session's set). The demo's
    pictures are not a student's: there a new set is the default; otherwise adding is."""
    if st.session_state.get(CAMERA_WHERE, "new" if state.is_demo() else "add") != "new":
        return None
    return st.session_state.get(CAMERA_DRAFT) or ImageDataset.empty()


def camera_target_words(draft: ImageDataset | None) -> None:
    """Under the class picker: a new camera-only set, or this set; and what the choice means now."""
    if CAMERA_WHERE not in st.session_state:
        st.session_state[CAMERA_WHERE] = "new" if state.is_demo() else "add"
    name = state.shown_dataset_name()
    st.radio(_("Where the pictures go"), ["new", "add"], key=CAMERA_WHERE, horizontal=True,
             format_func={"new": _("A new set"), "add": _("Add to “{name}”", name=name)}.get)
    set_name = _(CAMERA_SET_NAME)
    if draft is not None and len(draft):
        counts = listed(_("{name} {number}", name=md(c), number=n) for c, n in draft.counts.items())
        st.caption(_("Into a new set, “{name}” ({counts}): yours once it has two classes.", name=set_name, counts=counts))
    elif draft is not None and state.is_demo():
        st.caption(_("Into a new set, “{name}” (the demo stays until it has two classes).", name=set_name))
    elif draft is not None:
        st.caption(_("Into a new set, “{name}” (your set stays until it has two classes).", name=set_name))
    else:
        st.caption(_("Into your picture set, “{name}”.", name=md(name)))


def save_recorded(class_name: str, pictures: list) -> camera.Saved:
    """Record's ``on_save``: a burst joins its class (of the camera set being started, or of the session's set)."""
    draft = camera_draft()
    if draft is None:
        return add_camera_pictures(class_name, pictures)
    bigger, saved = with_camera_pictures(draft, class_name, pictures)
    if len(bigger.class_names) >= 2 and min(bigger.counts.values()) >= MIN_PICTURES_PER_CLASS:
        st.session_state.pop(CAMERA_DRAFT, None)
        st.session_state[CAMERA_WHERE] = "add"  # the next burst grows this set, not yet another one
        state.set_dataset(bigger, _(CAMERA_SET_NAME))
        done = _("“{name}” is now your picture set.", name=_(CAMERA_SET_NAME))
        return camera.Saved(saved.joined, " ".join(filter(None, [done, saved.note])))
    st.session_state[CAMERA_DRAFT] = bigger
    then = (_("Take photos of a second class to use them.") if any(isinstance(p, Photo) for p in pictures)
            else _("Record a second class to use them."))
    return camera.Saved(saved.joined, " ".join(filter(None, [then, saved.note])))


def add_camera_pictures(class_name: str, pictures: list) -> camera.Saved:
    """Camera pictures (square RGB arrays, or photos as they came) join ``class_name`` of the session's set.

    Also the Test page's "Add it to <class>" (a frozen frame). Raises ValueError in plain words."""
    before = state.ensure_dataset()
    bigger, saved = with_camera_pictures(before, class_name, pictures)
    state.set_dataset(bigger, state.dataset_name())
    # Plain text (a Saved note is shown in a card as typed), never Markdown: "cam\_ant" showed its backslash.
    grown = [_n("{name} has {count} picture now.", "{name} has {count} pictures now.", count, name=name)
             for name, count in bigger.counts.items() if count > before.counts.get(name, 0)]
    return camera.Saved(saved.joined, " ".join(grown + [saved.note]).strip())


def with_camera_pictures(base: ImageDataset, class_name: str, pictures: list) -> tuple[ImageDataset, camera.Saved]:
    """``base`` with the pictures in ``class_name``; the note says only what was left out, and why.

    A photo from a device's camera app goes the way of any upload (the centre square, the same
    checks: a HEIC photo, a damaged or tiny file, a copy is skipped and named); a camera frame
    (an RGB array) is saved as a JPEG first."""
    items = [(class_name, p.name, p.data) if isinstance(p, Photo) else
             (class_name, f"camera_{number:04d}.jpg", jpeg_bytes(p)) for number, p in enumerate(pictures, 1)]
    try:
        bigger = base.added(items, state.work_dir(), max_pictures=state.picture_limit())
    except OSError as error:
        raise ValueError(_("The pictures could not be written to this computer's disk ({reason}).",
                           reason=error.strerror or error)) from error
    return bigger, camera.Saved(len(bigger) - len(base), left_out_words(base, bigger, say_why=True))


def add_pictures(data: ImageDataset, items: list) -> bool:
    """Add uploaded pictures to the session's set, decoding only the new ones."""
    try:
        with st.spinner(_("Reading the new pictures…")):
            bigger = data.added(items, state.work_dir(), max_pictures=state.picture_limit())
    except (OSError, ValueError) as error:
        widgets.flash(FLASH, "error", _("The pictures could not be added: {error}", error=tr(error)))
        return False
    grown = {name: bigger.counts[name] - data.counts.get(name, 0) for name in bigger.class_names}
    joined = listed(_("{name} (now {total})", name=md(name), total=bigger.counts[name])
                    for name, more in grown.items() if more > 0)
    added = len(bigger) - len(data)
    text = (_n("Added {count} picture to {classes}.", "Added {count} pictures to {classes}.", added, classes=joined)
            if joined else _n("Added {count} picture.", "Added {count} pictures.", added))
    use(bigger, state.dataset_name(), " ".join(filter(None, [text, left_out_words(data, bigger)])))
    return True


def left_out_words(before: ImageDataset, after: ImageDataset, say_why: bool = False) -> str:
    """"2 were exact copies of a picture already in the set, and left out." ("" if none were).
    ``say_why``: files left out for another reason are named, each with its reason (plain text)."""
    left_out = after.report.skipped[len(before.report.skipped):]
    copies = sum(1 for entry in left_out if entry.copy_of)
    others = [entry for entry in left_out if not entry.copy_of]
    unread = len(others) if others and not say_why else 0
    if copies and unread:
        text = _n("{count} was an exact copy of a picture already in the set and {unread} could not be read, "
                  "and left out.",
                  "{count} were exact copies of a picture already in the set and {unread} could not be read, "
                  "and left out.", copies, unread=unread)
    elif copies:
        text = _n("{count} was an exact copy of a picture already in the set, and left out.",
                  "{count} were exact copies of a picture already in the set, and left out.", copies)
    elif unread:
        text = _n("{count} could not be read, and left out.", "{count} could not be read, and left out.", unread)
    else:
        text = ""
    if say_why and others:
        text = " ".join([text] + [tr(entry.sentence()) for entry in others]).strip()
    return text


def number(value: int) -> str:
    """A count as the reader's language writes it ("1,234", "1.234", "1 234")."""
    return format_value(int(value), language())


def picture_alt(class_name: str, file_name: str) -> str:
    """What a screen reader says for a picture of the set: its class and its file."""
    return _("A picture of {class_name}: {file}", class_name=class_name, file=file_name.rsplit("/", 1)[-1])


def thumbnails(pictures: list, width: int, alts: list[str]) -> None:
    """A row of small pictures, each with its alternative text."""
    if pictures:
        st.image(list(pictures), width=width, alt=list(alts))


def jpeg_bytes(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", quality=CAMERA_JPEG_QUALITY)
    return buffer.getvalue()


def demo_section(data: ImageDataset) -> None:
    st.markdown(_("The built-in demo: 90 drawn pictures of circles, squares and triangles "
                  "on busy backgrounds. Nothing to download."))
    if st.button(_("Use the demo pictures"), key="data_demo"):
        with st.spinner(_("Loading the demo pictures…")):
            state.load_demo_dataset()
        widgets.flash(FLASH, "success", _n("Loaded the demo: {count} picture in 3 classes.",
                                                  "Loaded the demo: {count} pictures in 3 classes.", len(state.dataset())))
        st.rerun()


# -- the classes -----------------------------------------------------------------------------------
def classes_section(data: ImageDataset) -> None:
    st.header(_("Classes"))
    undo_section(data)
    st.caption(_("A few pictures of each class. Open “Change this class” to rename it, delete it, "
                 "or remove pictures that do not belong."))
    for index, class_name in enumerate(data.class_names):
        class_box(data, index, class_name)


def class_box(data: ImageDataset, index: int, class_name: str) -> None:
    members = [i for i, label in enumerate(data.labels.tolist()) if label == index]
    pixels = data.pixels()
    with st.container(border=True):
        st.subheader(_n("{name} · {count} picture", "{name} · {count} pictures", len(members), name=md(class_name)),
                     anchor=False)
        shown = members[:THUMBNAILS_PER_CLASS]
        thumbnails([pixels[i][::2, ::2] for i in shown], THUMBNAIL_WIDTH,
                   [picture_alt(class_name, data.names[i]) for i in shown])
        if len(members) > THUMBNAILS_PER_CLASS:
            st.caption(_n("… and {count} more.", "… and {count} more.", len(members) - THUMBNAILS_PER_CLASS))
        with st.expander(_("Change this class")):
            change_class(data, index, class_name, [data.names[i] for i in members])


def change_class(data: ImageDataset, index: int, class_name: str, names: list[str]) -> None:
    """Rename, delete, remove pictures: new sets made from the decoded pixels, files untouched."""
    version = data.fingerprint[:10]  # new widgets for each new set
    rename_column, delete_column = st.columns([2, 1], vertical_alignment="bottom")
    new_name = rename_column.text_input(_("New name"), value=class_name, key=f"data_rename_{version}_{index}").strip()
    if rename_column.button(_("Rename"), key=f"data_rename_go_{version}_{index}") and new_name and new_name != class_name:
        change(lambda: data.renamed({class_name: new_name}),
               _("Renamed the class {old} to {new}.", old=md(class_name), new=md(new_name)))
    if delete_column.button(_("Delete this class"), key=f"data_delete_{version}_{index}"):
        st.session_state[DELETE_ASKED] = (version, class_name)  # one click must not throw 59 pictures away
    if st.session_state.get(DELETE_ASKED) == (version, class_name):
        delete_question(data, version, index, class_name, len(names))
    remove = st.multiselect(_("Pictures to remove"), names, format_func=lambda n: n.rsplit("/", 1)[-1],
                            key=f"data_remove_{version}_{index}")
    if remove:
        pixels = data.pixels()
        position = {name: i for i, name in enumerate(data.names)}
        thumbnails([pixels[position[n]][::2, ::2] for n in remove[:12]], 96,
                   [picture_alt(class_name, n) for n in remove[:12]])
    if st.button(_("Remove these pictures"), key=f"data_remove_go_{version}_{index}", disabled=not remove):
        remove_pictures(data, _n("Removed {count} picture from {name}.", "Removed {count} pictures from {name}.",
                                 len(remove), name=md(class_name)), names=remove)


def delete_question(data: ImageDataset, version: str, index: int, class_name: str, count: int) -> None:
    st.warning(_n("Delete the class **{name}** and its {count} picture? You can undo it until the pictures change again.",
                  "Delete the class **{name}** and its {count} pictures? You can undo it until the pictures change "
                  "again.", count, name=md(class_name)))
    yes_column, no_column = st.columns(2)
    if yes_column.button(_n("Yes, delete {count} picture", "Yes, delete {count} pictures", count),
                         key=f"data_delete_yes_{version}_{index}", type="primary", icon=":material/delete:"):
        st.session_state.pop(DELETE_ASKED, None)
        remove_pictures(data, _n("Deleted the class {name} and its {count} picture.",
                                 "Deleted the class {name} and its {count} pictures.", count, name=md(class_name)),
                        class_names=[class_name])
    if no_column.button(_("Keep it"), key=f"data_delete_no_{version}_{index}"):
        st.session_state.pop(DELETE_ASKED, None)
        st.rerun()


# -- deleting, with an undo ----------------------------------------------------------------------------
def remove_pictures(data: ImageDataset, done: str, class_names=(), names=()) -> None:
    """``data`` less these classes and pictures, which are kept (in this session's work folder)
    for Undo until the set changes again: a space keeps only the files of its current set."""
    class_names, names = set(class_names), set(names)
    gone = [i for i, (name, label) in enumerate(zip(data.names, data.labels.tolist()))
            if data.class_names[label] in class_names or name in names]
    try:
        smaller = data.without(class_names=class_names, names=names)
        kept = keep_for_undo(data, gone)
    except (DatasetError, ValueError, OSError) as error:  # DatasetError: what is left cannot be trained on
        widgets.flash(FLASH, "error", tr(error))
        st.rerun()
    use(smaller, state.dataset_name(), done)
    st.session_state[UNDO] = {"fingerprint": state.dataset().fingerprint, "items": kept, "what": done}
    st.rerun()


def keep_for_undo(data: ImageDataset, indices: list[int]) -> list[tuple[str, str, str]]:
    """Copies (hard links where it can) of the pictures at ``indices``: (class, file name, kept path)."""
    folder = Path(tempfile.mkdtemp(prefix="undo-", dir=state.work_dir()))
    kept = []
    for number, i in enumerate(indices):
        class_name, file_name = data.class_names[int(data.labels[i])], data.names[i].rsplit("/", 1)[-1]
        target = folder / f"{number:05d}-{safe_name(file_name, 'picture.jpg')}"
        try:
            os.link(data.paths[i], target)
        except OSError:  # another file system, or links not allowed
            shutil.copyfile(data.paths[i], target)
        kept.append((class_name, file_name, str(target)))
    return kept


def undo_section(data: ImageDataset) -> None:
    """Undo the last deletion, as long as the set is the one it left."""
    undo = st.session_state.get(UNDO)
    if not undo or undo["fingerprint"] != data.fingerprint:
        return
    words_column, button_column = st.columns([4, 1], vertical_alignment="center")
    words_column.info(undo["what"])
    if button_column.button(_("Undo"), key="data_undo", icon=":material/undo:", width="stretch"):
        st.session_state.pop(UNDO, None)
        try:
            with st.spinner(_("Putting the pictures back…")):
                items = [(class_name, file_name, Path(path).read_bytes())
                         for class_name, file_name, path in undo["items"]]
                restored = data.added(items, state.work_dir())
        except (OSError, ValueError) as error:
            widgets.flash(FLASH, "error", _("The pictures could not be put back: {error}", error=tr(error)))
        else:
            use(restored, state.dataset_name(), _n("Put back {count} picture.", "Put back {count} pictures.",
                                                   len(restored) - len(data)))

        st.rerun()
