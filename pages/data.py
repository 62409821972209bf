"""Data: the session's picture set. Load a zip, a folder, class by class or from the webcam;
rename, delete and thin out classes. No TensorFlow on this page."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from studio import state, ui
from tlcore.data import DatasetError, ImageDataset, UnsafeArchiveError
from tlcore.data.sources import PICTURE_EXTENSIONS, is_ignored

ui.page_setup()

FLASH = "data_flash"
BASKET = "data_cam_basket"
PICTURE_TYPES = sorted(ext.lstrip(".") for ext in PICTURE_EXTENSIONS)
THUMBNAILS_PER_CLASS = 8
THUMBNAIL_WIDTH = 100


# -- loading, with every error in plain words ------------------------------------------------------
def flash(kind: str, text: str, details: list[str] | None = None) -> None:
    """A message for the next run of this page (it survives the rerun after a load)."""
    st.session_state[FLASH] = (kind, text, details or [])


def show_flash() -> None:
    message = st.session_state.pop(FLASH, None)
    if not message:
        return
    kind, text, details = message
    {"error": st.error, "success": st.success, "info": st.info}.get(kind, st.info)(text)
    if details:
        with st.expander("What was found", expanded=True):
            for line in details:
                st.markdown(f"- {ui.md(line)}")


def load(make, name: str, note: str = "") -> bool:
    """Build a picture set with ``make()``; on success it becomes the session's set."""
    try:
        with st.spinner("Reading the pictures…"):
            data = make()
    except (DatasetError, UnsafeArchiveError) as error:
        report = getattr(error, "report", None)
        flash("error", f"These pictures cannot be used yet. {error}{note}",
              report.problems() if report is not None else [])
        return False
    except (OSError, ValueError) as error:
        flash("error", f"The pictures could not be read: {error}")
        return False
    state.set_dataset(data, name)
    skipped = len(data.report.skipped)
    text = f"Read {ui.plural(len(data), 'picture')} in {ui.plural(len(data.class_names), 'class', 'classes')}."
    if skipped:
        text += f" {ui.plural(skipped, 'file was', 'files were')} skipped (see the list below)."
    flash("success", text + note)
    return True


def items_of(data: ImageDataset, drop_names=(), drop_classes=(), rename=None):
    """The set's files as (class, file name, bytes), with some left out or renamed."""
    rename = rename or {}
    for path, name, label in zip(data.paths, data.names, data.labels.tolist()):
        class_name = data.class_names[label]
        if class_name in drop_classes or name in drop_names:
            continue
        yield rename.get(class_name, class_name), name.rsplit("/", 1)[-1], Path(path).read_bytes()


def rebuild(items, name: str) -> bool:
    """A new set from items, written to this session's work folder (the originals are untouched)."""
    items = list(items)
    return load(lambda: ImageDataset.from_uploads(items, state.work_dir()), name)


def folder_items(files):
    """(class, file name, bytes) from a folder upload: the class is the file's parent folder."""
    items, outside = [], []
    for uploaded in files:
        parts = [p for p in uploaded.name.replace("\\", "/").split("/") if p not in ("", ".")]
        if any(is_ignored(part) for part in parts):
            continue
        if len(parts) < 2:
            outside.append(parts[-1] if parts else uploaded.name)
            continue
        items.append((parts[-2], parts[-1], uploaded.getvalue()))
    return items, outside


# -- the page ------------------------------------------------------------------------------------
st.title("Your pictures")
data = state.ensure_dataset()
show_flash()

report = data.report
columns = st.columns([2, 1, 1, 1])
with columns[0]:
    ui.result_card("Picture set", state.dataset_name(), small=True)
with columns[1]:
    ui.result_card("Pictures", f"{len(data):,}")
with columns[2]:
    ui.result_card("Classes", f"{len(data.class_names)}")
with columns[3]:
    ui.result_card("Skipped files", f"{len(report.skipped)}", tone="warn" if report.skipped else "")

problems = report.problems()
if problems:
    shown, rest = problems[:8], problems[8:]
    st.warning("**Things to know about these pictures**\n\n" + "\n".join(f"- {ui.md(p)}" for p in shown))
    if rest:
        with st.expander(f"{len(rest)} more"):
            st.markdown("\n".join(f"- {ui.md(p)}" for p in rest))
else:
    st.success("All pictures could be read, and every class has enough of them.")

st.header("Bring your own pictures")
zip_tab, folder_tab, class_tab, camera_tab, demo_tab = st.tabs(
    [":material/folder_zip: A zip file", ":material/folder_open: A folder", ":material/label: Class by class",
     ":material/photo_camera: Webcam", ":material/category: The demo"], key="data_tabs")

with zip_tab:
    st.markdown("A **.zip file with one folder per class** inside, for example "
                "`cats/…jpg` and `dogs/…jpg`. The pictures replace the current set.")
    zip_file = st.file_uploader("Choose a zip file", type=["zip"], key="data_zip")
    if ui.new_upload("data_zip", zip_file):
        name = Path(zip_file.name).stem or "Uploaded zip"
        load(lambda: ImageDataset.from_zip(zip_file, state.work_dir()), name)
        st.rerun()

with folder_tab:
    st.markdown("Choose **the folder that holds one sub-folder per class**. "
                "Each picture's class is the name of the folder it is in.")
    folder_files = st.file_uploader("Choose a folder", accept_multiple_files="directory",
                                    type=PICTURE_TYPES, key="data_folder")
    if ui.new_upload("data_folder", folder_files):
        items, outside = folder_items(folder_files)
        note = ""
        if outside:
            note = (f" {ui.plural(len(outside), 'file was', 'files were')} not inside a class folder "
                    "and left out.")
        if not items:
            flash("error", "No pictures inside class folders were found. Choose the folder that "
                           "holds one sub-folder per class." + note)
        else:
            top = folder_files[0].name.replace("\\", "/").split("/")[0]
            hint = "" if len({c for c, _, _ in items}) > 1 else (
                " Tip: choose the folder that holds the class folders, not a class folder itself.")
            load(lambda: ImageDataset.from_uploads(items, state.work_dir()),
                 top if len(folder_files[0].name.split("/")) > 2 else "Uploaded folder", note + hint)
        st.rerun()

with class_tab:
    st.markdown("Name each class and drop its pictures in. Two classes or more, "
                "at least two pictures each (ten or more work better).")
    count = st.session_state.setdefault("data_cls_count", 2)
    generation = st.session_state.setdefault("data_cls_generation", 0)  # new uploaders after a build
    chosen = []
    for i in range(count):
        name_column, files_column = st.columns([1, 2], vertical_alignment="top")
        with name_column:
            class_name = st.text_input(f"Class {i + 1}", value=f"Class {i + 1}", key=f"data_cls_name_{i}")
        with files_column:
            files = st.file_uploader(f"Pictures of class {i + 1}", type=PICTURE_TYPES,
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

with camera_tab:
    st.markdown("Take photos with the webcam, each into a class. When you have a few per class, "
                "add them to the set.")
    if st.toggle("Turn the webcam on", key="data_cam_on"):
        options = list(data.class_names) + ["A new class…"]
        picked = st.selectbox("The next photo shows", options, key="data_cam_class")
        if picked == "A new class…":
            picked = st.text_input("Name of the new class", key="data_cam_new_class").strip()
        photo = st.camera_input("Take a photo", key="data_cam")
        if ui.new_upload("data_cam", photo):
            if picked:
                basket = st.session_state.setdefault(BASKET, [])
                basket.append((picked, f"webcam_{len(basket) + 1:03d}.jpg", photo.getvalue()))
            else:
                st.error("Type a name for the new class first, then take the photo again.")
    basket = st.session_state.get(BASKET, [])
    if basket:
        counts: dict[str, int] = {}
        for class_name, _, _ in basket:
            counts[class_name] = counts.get(class_name, 0) + 1
        st.markdown("**Photos taken:** " + ", ".join(f"{ui.md(c)}: {n}" for c, n in counts.items()))
        st.image([photo_bytes for _, _, photo_bytes in basket[-8:]], width=100)
        row = st.container(horizontal=True)
        if row.button(f"Add {ui.plural(len(basket), 'photo')} to the current set", key="data_cam_append",
                     type="primary"):
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

with demo_tab:
    st.markdown("The built-in demo: 90 drawn pictures of circles, squares and triangles "
                "on busy backgrounds. Nothing to download.")
    if st.button("Use the demo pictures", key="data_demo"):
        with st.spinner("Loading the demo pictures…"):
            state.load_demo_dataset()
        flash("success", f"Loaded the demo: {len(state.dataset())} pictures in 3 classes.")
        st.rerun()

st.header("Classes")
st.caption("A few pictures of each class. Open “Change this class” to rename it, delete it, "
           "or remove pictures that do not belong.")
pixels = data.pixels()
version = data.fingerprint[:10]
labels = data.labels
for index, class_name in enumerate(data.class_names):
    members = [i for i in range(len(labels)) if labels[i] == index]
    with st.container(border=True):
        st.subheader(f"{ui.md(class_name)} · {ui.plural(len(members), 'picture')}", anchor=False)
        ui.thumbnails([pixels[i][::2, ::2] for i in members[:THUMBNAILS_PER_CLASS]], width=THUMBNAIL_WIDTH)
        if len(members) > THUMBNAILS_PER_CLASS:
            st.caption(f"… and {len(members) - THUMBNAILS_PER_CLASS} more.")
        with st.expander("Change this class"):
            rename_column, delete_column = st.columns([2, 1], vertical_alignment="bottom")
            new_name = rename_column.text_input("New name", value=class_name, key=f"data_rename_{version}_{index}")
            if rename_column.button("Rename", key=f"data_rename_go_{version}_{index}"):
                if new_name.strip() and new_name.strip() != class_name:
                    rebuild(items_of(data, rename={class_name: new_name.strip()}), state.dataset_name())
                    st.rerun()
            if delete_column.button("Delete this class", key=f"data_delete_{version}_{index}"):
                rebuild(items_of(data, drop_classes={class_name}), state.dataset_name())
                st.rerun()
            names = [data.names[i] for i in members]
            remove = st.multiselect("Pictures to remove", names, format_func=lambda n: n.rsplit("/", 1)[-1],
                                    key=f"data_remove_{version}_{index}")
            if remove:
                ui.thumbnails([pixels[data.names.index(n)][::2, ::2] for n in remove[:12]])
            if st.button("Remove these pictures", key=f"data_remove_go_{version}_{index}", disabled=not remove):
                rebuild(items_of(data, drop_names=set(remove)), state.dataset_name())
                st.rerun()

st.page_link("pages/model.py", label="Next: choose the network", icon=":material/arrow_forward:")
