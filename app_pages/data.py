"""Data: the session's picture set. Load a zip, a folder, class by class or record bursts with
the camera; rename, delete and thin out classes (without decoding the pictures again).
No TensorFlow here."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image

from studio import camera, navigation, state, widgets
from studio.words import md, plural
from tlcore.data import DatasetError, DatasetReport, ImageDataset, UnsafeArchiveError, folder_upload_items
from tlcore.data.report import MIN_PICTURES_PER_CLASS
from tlcore.data.sources import PICTURE_EXTENSIONS

FLASH = "data_flash"
CAMERA_KEY = "data_camera"
CAMERA_TAB = ":material/photo_camera: Camera"
CAMERA_SET_NAME = "Camera pictures"
CAMERA_DRAFT = "data_camera_draft"  # a camera set with fewer than two classes yet (the demo stays meanwhile)
INTO_DEMO = "data_camera_into_demo"
CAMERA_JPEG_QUALITY = 92
PICTURE_TYPES = sorted(ext.lstrip(".") for ext in PICTURE_EXTENSIONS)
THUMBNAILS_PER_CLASS = 7  # one row at 100 px in a class box on a 1280-px-wide projector
THUMBNAIL_WIDTH = 100
PROBLEMS_SHOWN = 8


def render() -> None:
    st.title("Your pictures")
    data = state.ensure_dataset()
    widgets.show_flash(FLASH, details_title="What was found")
    # The ways to bring pictures come first: the camera's preview, Record switch, count and last
    # pictures then fit on the first screen of a projector (1280×720).
    bring_section(data)
    if state.keep_problem():
        st.warning(state.keep_problem())
    summary_section(data)
    findings_section(data.report)
    label_check_section(data)
    classes_section(data)
    navigation.link("model", "Next: choose the network")


def bring_section(data: ImageDataset) -> None:
    st.markdown("**Bring your own pictures**, or keep the demo:")
    tabs = st.tabs([":material/folder_zip: A zip file", ":material/folder_open: A folder",
                    ":material/label: Class by class", CAMERA_TAB, ":material/category: The demo"],
                   key="data_tabs", on_change="rerun")
    for tab, section in zip(tabs, (zip_section, folder_section, class_by_class_section,
                                   camera_section, demo_section)):
        with tab:
            if section is camera_section and tab.open is False:  # closed: the camera is off, not hidden
                camera.finish_recording(CAMERA_KEY, save_recorded)  # a burst still recording is kept
                st.caption("The camera turns on only while this tab is open.")
                continue
            section(data)


# -- what the set holds ------------------------------------------------------------------------------
def summary_section(data: ImageDataset) -> None:
    report = data.report
    columns = st.columns([1.8, 1, 1, 1.2])  # "Skipped files" on one line at 1280 px
    with columns[0]:
        widgets.result_card("Picture set", state.dataset_name(), small=True)
    with columns[1]:
        widgets.result_card("Pictures", f"{len(data):,}")
    with columns[2]:
        widgets.result_card("Classes", f"{len(data.class_names)}")
    with columns[3]:
        widgets.result_card("Skipped files", f"{len(report.skipped)}", tone="warn" if report.skipped else "")


def label_check_section(data: ImageDataset) -> None:
    """What the Understand page's label check found in this very set, if it has run on it."""
    from app_pages.understand import MAPS

    job = st.session_state.get(MAPS)
    if job is None or "suspects" not in job.ready or tuple(data.file_hashes) != job.hashes:
        return
    found = len(job.suspects or []) + len(job.off_topic or [])
    if found:
        st.info(f"The label check found **{plural(found, 'picture')}** worth a second look (in another class than "
                "its own to a check that never saw it, or unlike all the others).")
        navigation.link("understand", "See them on the Understand page", icon=":material/scatter_plot:")


def findings_section(report) -> None:
    """Skipped files and folders and warnings (can hurt learning), then notes (worth a look)."""
    problems = ([s.sentence() for s in report.skipped] + [f.sentence() for f in report.folders]
                + list(report.warnings))
    if problems:
        shown, rest = problems[:PROBLEMS_SHOWN], problems[PROBLEMS_SHOWN:]
        st.warning("**Things to know about these pictures**\n\n" + "\n".join(f"- {md(p)}" for p in shown))
        if rest:
            with st.expander(f"{len(rest)} more"):
                st.markdown("\n".join(f"- {md(p)}" for p in rest))
    else:
        st.success("All pictures could be read, and every class has enough of them.")
    if report.notes:
        with st.expander(f"Worth a look ({plural(len(report.notes), 'note')}; it may be fine)"):
            st.markdown("\n".join(f"- {md(note)}" for note in report.notes))


# -- loading, with every error in plain words ------------------------------------------------------
def load(make, name: str, note: str = "") -> bool:
    """Build a picture set with ``make()``; on success it becomes the session's set."""
    try:
        with st.spinner("Reading the pictures…"):
            data = make()
    except (DatasetError, UnsafeArchiveError) as error:
        report = getattr(error, "report", None)
        widgets.flash(FLASH, "error", f"These pictures cannot be used yet. {error}{note}",
                      [md(p) for p in report.problems()] if report is not None else [])
        return False
    except (OSError, ValueError) as error:
        widgets.flash(FLASH, "error", f"The pictures could not be read: {error}")
        return False
    use(data, name, loaded_words(data) + note)
    return True


def use(data: ImageDataset, name: str, text: str) -> None:
    state.set_dataset(data, name)
    widgets.flash(FLASH, "success", text)


def loaded_words(data: ImageDataset) -> str:
    report = data.report
    text = f"Read {plural(len(data), 'picture')} in {plural(len(data.class_names), 'class', 'classes')}."
    if report.skipped:
        text += f" {plural(len(report.skipped), 'file was', 'files were')} skipped (see the list below)."
    if report.folders:
        text += f" {plural(len(report.folders), 'folder was', 'folders were')} skipped (see the list below)."
    return text


def rebuild(items, name: str) -> bool:
    """A new set from items, written to this session's work folder (the originals are untouched)."""
    items = list(items)
    return load(lambda: ImageDataset.from_uploads(items, state.work_dir()), name)


def change(make, done: str) -> None:
    """Apply a change that reuses the decoded pictures (``data.without`` / ``data.renamed``)."""
    try:
        changed = make()
    except (DatasetError, ValueError) as error:  # DatasetError: what is left cannot be trained on
        widgets.flash(FLASH, "error", f"{error}")
    else:
        use(changed, state.dataset_name(), done)
    st.rerun()


# -- the ways to bring pictures ---------------------------------------------------------------------
def zip_section(data: ImageDataset) -> None:
    st.markdown("A **.zip file with one folder per class** inside, for example "
                "`cats/…jpg` and `dogs/…jpg`. The pictures replace the current set.")
    zip_file = st.file_uploader("Choose a zip file", type=["zip"], key="data_zip")
    if widgets.new_upload("data_zip", zip_file):
        name = Path(zip_file.name).stem or "Uploaded zip"
        load(lambda: ImageDataset.from_zip(zip_file, state.work_dir()), name)
        st.rerun()


def folder_section(data: ImageDataset) -> None:
    st.markdown("Choose **the folder that holds one sub-folder per class**. "
                "Each picture's class is the name of the folder it is in.")
    files = st.file_uploader("Choose a folder", accept_multiple_files="directory", type=PICTURE_TYPES,
                             key="data_folder")
    if not widgets.new_upload("data_folder", files):
        return
    items, outside = folder_upload_items((f.name, f.getvalue()) for f in files)
    note = (f" {plural(len(outside), 'file was', 'files were')} not inside a class folder and left out."
            if outside else "")
    if not items:
        widgets.flash(FLASH, "error", "No pictures inside class folders were found. Choose the folder that "
                                      "holds one sub-folder per class." + note)
    else:
        parts = files[0].name.replace("\\", "/").split("/")
        hint = "" if len({c for c, _, _ in items}) > 1 else (
            " Tip: choose the folder that holds the class folders, not a class folder itself.")
        load(lambda: ImageDataset.from_uploads(items, state.work_dir()),
             parts[0] if len(parts) > 2 else "Uploaded folder", note + hint)
    st.rerun()


def class_by_class_section(data: ImageDataset) -> None:
    st.markdown("Name each class and drop its pictures in. Two classes or more, "
                "at least two pictures each (ten or more work better).")
    count = st.session_state.setdefault("data_cls_count", 2)
    generation = st.session_state.setdefault("data_cls_generation", 0)  # new uploaders after a build
    chosen = []
    for i in range(count):
        name_column, files_column = st.columns([1, 2], vertical_alignment="top")
        class_name = name_column.text_input(f"Class {i + 1}", value=f"Class {i + 1}", key=f"data_cls_name_{i}")
        files = files_column.file_uploader(f"Pictures of class {i + 1}", type=PICTURE_TYPES,
                                           accept_multiple_files=True, key=f"data_cls_files_{generation}_{i}")
        chosen.append((class_name.strip(), files or []))
    buttons = st.container(horizontal=True)
    if buttons.button("Add a class", key="data_cls_add", icon=":material/add:"):
        st.session_state["data_cls_count"] = count + 1
        st.rerun()
    if count > 2 and buttons.button("Remove the last class", key="data_cls_remove", icon=":material/remove:"):
        st.session_state["data_cls_count"] = count - 1
        st.rerun()
    make_new = buttons.button("Make a new set from these", key="data_cls_build", type="primary")
    add_to = buttons.button("Add them to the current set", key="data_cls_append")
    if make_new or add_to:
        build_from_classes(data, chosen, add_to, generation)


def build_from_classes(data: ImageDataset, chosen: list, add_to: bool, generation: int) -> None:
    names = [name for name, files in chosen if files]
    if not names:
        st.error("Drop some pictures into the classes first.")
    elif any(not name for name, files in chosen if files):
        st.error("Every class with pictures needs a name.")
    elif len(set(names)) != len(names):
        st.error("Two classes have the same name; give each class its own name.")
    else:
        items = [(name, f.name, f.getvalue()) for name, files in chosen for f in files]
        done = add_pictures(data, items) if add_to else rebuild(items, "Your classes")
        if done:
            st.session_state["data_cls_generation"] = generation + 1  # empty uploaders
        st.rerun()


def camera_section(data: ImageDataset) -> None:
    """Bursts from the camera into a class: the preview, and beside it the class, Record and the count."""
    draft = camera_draft()
    target = draft if draft is not None else data
    camera.record_section(target.class_names if target is not None else [], save_recorded, key=CAMERA_KEY,
                          where=lambda: camera_target_words(draft))


def camera_draft() -> ImageDataset | None:
    """The camera set being started, while the demo is the session's set (None: record into the session's set)."""
    if not state.is_demo() or st.session_state.get(INTO_DEMO):
        return None
    return st.session_state.get(CAMERA_DRAFT) or empty_set()


def camera_target_words(draft: ImageDataset | None) -> None:
    """Under the class picker: where the recorded pictures go."""
    if state.is_demo():
        if draft is not None and len(draft):
            counts = ", ".join(f"{md(c)} {n}" for c, n in draft.counts.items())
            st.caption(f"Into a new set, “{CAMERA_SET_NAME}” ({counts}): yours once it has two classes.")
        elif draft is not None:
            st.caption(f"Into a new set, “{CAMERA_SET_NAME}” (the demo stays until it has two classes).")
        st.checkbox("Add to the demo instead", key=INTO_DEMO)
    else:
        st.caption(f"Into your picture set, “{md(state.dataset_name())}”.")


def save_recorded(class_name: str, pictures: list) -> camera.Saved:
    """Record's ``on_save``: a burst joins its class (of the camera set being started, or of the session's set)."""
    draft = camera_draft()
    if draft is None:
        return add_camera_pictures(class_name, pictures)
    bigger, saved = with_camera_pictures(draft, class_name, pictures)
    if len(bigger.class_names) >= 2 and min(bigger.counts.values()) >= MIN_PICTURES_PER_CLASS:
        st.session_state.pop(CAMERA_DRAFT, None)
        state.set_dataset(bigger, CAMERA_SET_NAME)
        return camera.Saved(saved.joined, f"“{CAMERA_SET_NAME}” is now your picture set. {saved.note}".strip())
    st.session_state[CAMERA_DRAFT] = bigger
    return camera.Saved(saved.joined, f"Record a second class to use them. {saved.note}".strip())


def add_camera_pictures(class_name: str, pictures: list) -> camera.Saved:
    """Camera pictures (square RGB arrays) join ``class_name`` of the session's set.

    Also the Test page's "Add it to <class>" (a frozen frame). Raises ValueError in plain words."""
    before = state.ensure_dataset()
    bigger, saved = with_camera_pictures(before, class_name, pictures)
    state.set_dataset(bigger, state.dataset_name())
    grown = [f"{md(name)} has {plural(count, 'picture')} now." for name, count in bigger.counts.items()
             if count > before.counts.get(name, 0)]
    return camera.Saved(saved.joined, " ".join(grown + [saved.note]).strip())


def with_camera_pictures(base: ImageDataset, class_name: str, pictures: list) -> tuple[ImageDataset, camera.Saved]:
    """``base`` with the pictures in ``class_name``; the note says only what was left out, and why."""
    items = [(class_name, f"camera_{number:04d}.jpg", jpeg_bytes(picture))
             for number, picture in enumerate(pictures, 1)]
    try:
        bigger = base.added(items, state.work_dir())
    except OSError as error:
        raise ValueError(f"they could not be written to this computer's disk ({error.strerror or error}).") from error
    return bigger, camera.Saved(len(bigger) - len(base), left_out_words(base, bigger))


def add_pictures(data: ImageDataset, items: list) -> bool:
    """Add uploaded pictures to the session's set, decoding only the new ones."""
    try:
        with st.spinner("Reading the new pictures…"):
            bigger = data.added(items, state.work_dir())
    except (OSError, ValueError) as error:
        widgets.flash(FLASH, "error", f"The pictures could not be added: {error}")
        return False
    grown = {name: bigger.counts[name] - data.counts.get(name, 0) for name in bigger.class_names}
    joined = ", ".join(f"{md(name)} (now {bigger.counts[name]:,})" for name, more in grown.items() if more > 0)
    text = f"Added {plural(len(bigger) - len(data), 'picture')}" + (f" to {joined}." if joined else ".")
    use(bigger, state.dataset_name(), f"{text} {left_out_words(data, bigger)}".strip())
    return True


def left_out_words(before: ImageDataset, after: ImageDataset) -> str:
    """"2 were exact copies of a picture already in the set and were left out." ("" if none were)."""
    left_out = after.report.skipped[len(before.report.skipped):]
    copies = sum(1 for entry in left_out if entry.copy_of)
    parts = ([plural(copies, "was an exact copy", "were exact copies") + " of a picture already in the set"]
             if copies else []) + ([plural(len(left_out) - copies, "could not be read", "could not be read")]
                                   if len(left_out) > copies else [])
    return " and ".join(parts) + ", and left out." if parts else ""


def jpeg_bytes(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "JPEG", quality=CAMERA_JPEG_QUALITY)
    return buffer.getvalue()


def empty_set() -> ImageDataset:
    """A set with no pictures yet, at the size every loaded set has: the camera's pictures join it."""
    from tlcore.data import DEFAULT_IMAGE_SIZE
    from tlcore.data.dataset import new_pixel_array

    return ImageDataset(class_names=[], paths=[], names=[], labels=np.zeros(0, np.int64), file_hashes=[],
                        pixels=new_pixel_array(0, DEFAULT_IMAGE_SIZE), image_size=DEFAULT_IMAGE_SIZE,
                        report=DatasetReport({}))


def demo_section(data: ImageDataset) -> None:
    st.markdown("The built-in demo: 90 drawn pictures of circles, squares and triangles "
                "on busy backgrounds. Nothing to download.")
    if st.button("Use the demo pictures", key="data_demo"):
        with st.spinner("Loading the demo pictures…"):
            state.load_demo_dataset()
        widgets.flash(FLASH, "success", f"Loaded the demo: {len(state.dataset())} pictures in 3 classes.")
        st.rerun()


# -- the classes -----------------------------------------------------------------------------------
def classes_section(data: ImageDataset) -> None:
    st.header("Classes")
    st.caption("A few pictures of each class. Open “Change this class” to rename it, delete it, "
               "or remove pictures that do not belong.")
    for index, class_name in enumerate(data.class_names):
        class_box(data, index, class_name)


def class_box(data: ImageDataset, index: int, class_name: str) -> None:
    members = [i for i, label in enumerate(data.labels.tolist()) if label == index]
    pixels = data.pixels()
    with st.container(border=True):
        st.subheader(f"{md(class_name)} · {plural(len(members), 'picture')}", anchor=False)
        widgets.thumbnails([pixels[i][::2, ::2] for i in members[:THUMBNAILS_PER_CLASS]], width=THUMBNAIL_WIDTH)
        if len(members) > THUMBNAILS_PER_CLASS:
            st.caption(f"… and {len(members) - THUMBNAILS_PER_CLASS} more.")
        with st.expander("Change this class"):
            change_class(data, index, class_name, [data.names[i] for i in members])


def change_class(data: ImageDataset, index: int, class_name: str, names: list[str]) -> None:
    """Rename, delete, remove pictures: new sets made from the decoded pixels, files untouched."""
    version = data.fingerprint[:10]  # new widgets for each new set
    rename_column, delete_column = st.columns([2, 1], vertical_alignment="bottom")
    new_name = rename_column.text_input("New name", value=class_name, key=f"data_rename_{version}_{index}").strip()
    if rename_column.button("Rename", key=f"data_rename_go_{version}_{index}") and new_name and new_name != class_name:
        change(lambda: data.renamed({class_name: new_name}), f"Renamed the class {md(class_name)} to {md(new_name)}.")
    if delete_column.button("Delete this class", key=f"data_delete_{version}_{index}"):
        change(lambda: data.without(class_names=[class_name]), f"Deleted the class {md(class_name)}.")
    remove = st.multiselect("Pictures to remove", names, format_func=lambda n: n.rsplit("/", 1)[-1],
                            key=f"data_remove_{version}_{index}")
    if remove:
        pixels = data.pixels()
        position = {name: i for i, name in enumerate(data.names)}
        widgets.thumbnails([pixels[position[n]][::2, ::2] for n in remove[:12]])
    if st.button("Remove these pictures", key=f"data_remove_go_{version}_{index}", disabled=not remove):
        change(lambda: data.without(names=remove), f"Removed {plural(len(remove), 'picture')} from {md(class_name)}.")
