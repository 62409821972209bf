"""Data: the session's picture set. Load a zip, a folder, class by class or from the webcam;
rename, delete and thin out classes (without decoding the pictures again). No TensorFlow here."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from studio import navigation, state, widgets
from studio.words import md, plural
from tlcore.data import DatasetError, ImageDataset, UnsafeArchiveError, folder_upload_items
from tlcore.data.sources import PICTURE_EXTENSIONS

FLASH = "data_flash"
BASKET = "data_cam_basket"
PICTURE_TYPES = sorted(ext.lstrip(".") for ext in PICTURE_EXTENSIONS)
THUMBNAILS_PER_CLASS = 8
THUMBNAIL_WIDTH = 100
PROBLEMS_SHOWN = 8


def render() -> None:
    st.title("Your pictures")
    data = state.ensure_dataset()
    widgets.show_flash(FLASH, details_title="What was found")
    summary_section(data)
    findings_section(data.report)
    st.header("Bring your own pictures")
    tabs = st.tabs([":material/folder_zip: A zip file", ":material/folder_open: A folder",
                    ":material/label: Class by class", ":material/photo_camera: Webcam",
                    ":material/category: The demo"], key="data_tabs")
    for tab, section in zip(tabs, (zip_section, folder_section, class_by_class_section,
                                   webcam_section, demo_section)):
        with tab:
            section(data)
    classes_section(data)
    navigation.link("model", "Next: choose the network")


# -- what the set holds ------------------------------------------------------------------------------
def summary_section(data: ImageDataset) -> None:
    report = data.report
    columns = st.columns([2, 1, 1, 1])
    with columns[0]:
        widgets.result_card("Picture set", state.dataset_name(), small=True)
    with columns[1]:
        widgets.result_card("Pictures", f"{len(data):,}")
    with columns[2]:
        widgets.result_card("Classes", f"{len(data.class_names)}")
    with columns[3]:
        widgets.result_card("Skipped files", f"{len(report.skipped)}", tone="warn" if report.skipped else "")


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


def items_of(data: ImageDataset):
    """The set's files as (class, file name, bytes): to add new pictures to them."""
    for path, name, label in zip(data.paths, data.names, data.labels.tolist()):
        yield data.class_names[label], name.rsplit("/", 1)[-1], Path(path).read_bytes()


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
        if add_to:
            items = list(items_of(data)) + items
        if rebuild(items, state.dataset_name() if add_to else "Your classes"):
            st.session_state["data_cls_generation"] = generation + 1  # empty uploaders
        st.rerun()


def webcam_section(data: ImageDataset) -> None:
    """Photos from the webcam into a class (st.camera_input: one click a photo).

    To be replaced by the live camera, ``studio.camera.record_section(...)``: swap this call."""
    st.markdown("Take photos with the webcam, each into a class. When you have a few per class, "
                "add them to the set.")
    if st.toggle("Turn the webcam on", key="data_cam_on"):
        take_photo(data)
    basket = st.session_state.get(BASKET, [])
    if basket:
        photo_basket(data, basket)


def take_photo(data: ImageDataset) -> None:
    options = list(data.class_names) + ["A new class…"]
    picked = st.selectbox("The next photo shows", options, key="data_cam_class")
    if picked == "A new class…":
        picked = st.text_input("Name of the new class", key="data_cam_new_class").strip()
    photo = st.camera_input("Take a photo", key="data_cam")
    if widgets.new_upload("data_cam", photo):
        if picked:
            basket = st.session_state.setdefault(BASKET, [])
            basket.append((picked, f"webcam_{len(basket) + 1:03d}.jpg", photo.getvalue()))
        else:
            st.error("Type a name for the new class first, then take the photo again.")


def photo_basket(data: ImageDataset, basket: list) -> None:
    counts: dict[str, int] = {}
    for class_name, _, _ in basket:
        counts[class_name] = counts.get(class_name, 0) + 1
    st.markdown("**Photos taken:** " + ", ".join(f"{md(c)}: {n}" for c, n in counts.items()))
    st.image([photo_bytes for _, _, photo_bytes in basket[-8:]], width=100)
    row = st.container(horizontal=True)
    if row.button(f"Add {plural(len(basket), 'photo')} to the current set", key="data_cam_append", type="primary"):
        if rebuild(list(items_of(data)) + basket, state.dataset_name()):
            st.session_state[BASKET] = []
        st.rerun()
    if row.button("Start a new set with these photos only", key="data_cam_new"):
        if rebuild(basket, "Webcam photos"):
            st.session_state[BASKET] = []
        st.rerun()
    if row.button("Throw these photos away", key="data_cam_clear"):
        st.session_state[BASKET] = []
        st.rerun()


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
