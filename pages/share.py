"""Share: export a model (a zip with predict.py, TensorFlow Lite, SavedModel), import one
(Google Teachable Machine, or a model from this app), and save or open a whole lesson.

Files are made on demand (a button), in this session's own temporary folder, never on every rerun.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import streamlit as st

from studio import state, ui

ui.page_setup()

BUILT = "share_built"  # (run folder or "project", kind) -> {"path": Path, ...}
TM_WEIGHTS_SOURCE = "share_tm_h5"  # the last imported Teachable Machine keras_model.h5
MODEL_KEYS = ("model_backbone", "model_weights", "model_depth", "model_epochs", "model_ft_epochs", "model_size",
              "model_size_backbone", "model_batch", "model_lr", "model_weights_next")


# -- helpers ---------------------------------------------------------------------------------------
def flash(key: str, kind: str, text: str, details: list[str] | None = None) -> None:
    """A message for the next run (it survives the rerun after an import)."""
    st.session_state[key] = (kind, text, details or [])


def show_flash(key: str) -> None:
    message = st.session_state.pop(key, None)
    if not message:
        return
    kind, text, details = message
    {"error": st.error, "success": st.success, "warning": st.warning}.get(kind, st.info)(text)
    for line in details:
        st.markdown(f"- {line}")


def slug(text: str, fallback: str = "model") -> str:
    """A short file name from a run or lesson name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-")[:60] or fallback


def download_name(run) -> str:
    """Files named by what the model recognises, then when it was made: "cat-dog-20240101-0930"."""
    classes = slug("-".join(run.class_names[:4]), "model")[:40].strip("-")
    when = re.sub(r"[^0-9]", "", run.record.created)[:12]
    return f"{classes}-{when[:8]}-{when[8:]}" if len(when) == 12 else classes


def size_text(count: int | None) -> str:
    if not count:
        return "—"
    return f"{count / 1e6:.1f} MB" if count >= 100_000 else f"{count / 1e3:.0f} kB"


def built() -> dict:
    return st.session_state.setdefault(BUILT, {})


def built_file(key) -> dict | None:
    """A file made earlier in this session, if it is still there."""
    entry = built().get(key)
    return entry if entry and Path(entry["path"]).exists() else None


def reader(path: Path):
    """Download data read only when the button is clicked (not kept in memory on every rerun)."""
    return lambda: Path(path).read_bytes()


def export_folder(run) -> Path:
    folder = state.work_dir() / "exports" / slug(run.path.name if run.path else run.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def failure(what: str, error: Exception) -> None:
    st.error(f"{what} did not work: {error}" if isinstance(error, (ValueError, OSError)) else f"{what} did not work.")


def network_words(settings) -> str:
    return settings.spec.short_title


def new_folder(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=state.work_dir()))


# -- export ----------------------------------------------------------------------------------------
def agreement_words(report: dict) -> str:
    pictures = report.get("pictures") or 0
    if not pictures:
        return ("There are no validation pictures to compare it with the original model on "
                "(this model came without them).")
    same = round(report["agreement"] * pictures)
    difference = 100 * float(report.get("max_abs_difference") or 0.0)
    gap = ("less than 0.1 percentage points" if difference < 0.05 else f"at most {difference:.1f} percentage points")
    return (f"It gives the same answer as the original model on **{same} of {ui.plural(pictures, 'validation picture')}** "
            f"({report['agreement']:.0%}); its probabilities differ by {gap}.")


def export_tab() -> None:
    runs = state.all_runs()
    if not runs:
        st.info("There is no trained model to share yet. Train one first, or import one in the Import tab.")
        return
    run = ui.run_picker(runs, "share_run", "Model to share")
    st.caption(ui.run_facts(run))
    name = download_name(run)
    key = str(run.path)

    with st.container(border=True):
        st.subheader(":material/folder_zip: Everything in one zip", anchor=False)
        st.markdown("The model (`model.keras`), its class names (`labels.txt`), a **model card** that says in "
                    "plain words what it is and how well it did (`model_card.md`), and `predict.py` to use it.")
        ready = built_file((key, "bundle")) is not None
        if st.button("Make the zip again" if ready else "Make the zip", key="share_make_bundle",
                     type="secondary" if ready else "primary", icon=":material/build:"):
            from tlcore.export import export_bundle

            try:
                with st.spinner("Putting the zip together…"):
                    path = export_bundle(run, export_folder(run) / f"{name}.zip")
                built()[(key, "bundle")] = {"path": path}
            except Exception as error:  # never a traceback for a class
                failure("Making the zip", error)
        entry = built_file((key, "bundle"))
        if entry:
            st.download_button(f"Download the zip ({size_text(Path(entry['path']).stat().st_size)})",
                               data=reader(entry["path"]), file_name=f"{name}.zip", mime="application/zip",
                               key="share_download_bundle", on_click="ignore", icon=":material/download:",
                               type="primary")
            st.markdown("**To use it:** unzip it, then run `python predict.py picture.jpg` "
                        "(needs Python with TensorFlow, numpy and Pillow).")
        with st.expander("Read the model card"):
            from tlcore.export.bundle import model_card

            st.markdown(model_card(run))

    with st.container(border=True):
        st.subheader(":material/smartphone: For phones and small devices (TensorFlow Lite)", anchor=False)
        st.markdown("The same model for apps on phones and small computers. The smaller version stores "
                    "its numbers with 8 bits instead of 32: about four times smaller, answers can shift a little. "
                    "Each file is checked against the original model.")
        columns = st.columns(2, gap="large")
        for column, quantize in zip(columns, (False, True)):
            kind = "tflite-8bit" if quantize else "tflite"
            title = "Smaller (8-bit)" if quantize else "Full precision (32-bit)"
            file_name = f"{name}{'-8bit' if quantize else ''}.tflite"
            with column:
                st.markdown(f"**{title}**")
                if st.button(f"Make the {'smaller ' if quantize else ''}TFLite file", key=f"share_make_{kind.replace('-', '_')}",
                             icon=":material/build:"):
                    from tlcore.export import export_tflite

                    try:
                        with st.spinner("Converting and checking it on the validation pictures…"):
                            report = export_tflite(run, export_folder(run) / file_name, quantize=quantize)
                        built()[(key, kind)] = {"path": Path(report["path"]), "report": report}
                    except Exception as error:
                        failure("Making the TFLite file", error)
                entry = built_file((key, kind))
                if entry:
                    report = entry["report"]
                    smaller = ""
                    if report.get("keras_size_bytes"):
                        smaller = f" (the Keras file: {size_text(report['keras_size_bytes'])})"
                    st.markdown(f"Size: **{size_text(report.get('size_bytes'))}**{smaller}.  \n{agreement_words(report)}")
                    st.download_button(f"Download it ({size_text(report.get('size_bytes'))})", data=reader(entry["path"]),
                                       file_name=file_name, help=f"Saved as {file_name}",
                                       mime="application/octet-stream", key=f"share_download_{kind.replace('-', '_')}",
                                       on_click="ignore", icon=":material/download:")

    with st.container(border=True):
        st.subheader(":material/dns: For TensorFlow servers (SavedModel)", anchor=False)
        st.markdown("A folder (zipped) for TensorFlow Serving and for converters such as TensorFlow.js.")
        if st.button("Make the SavedModel", key="share_make_savedmodel", icon=":material/build:"):
            from tlcore.export import export_savedmodel

            try:
                with st.spinner("Writing the SavedModel…"):
                    folder = export_folder(run) / "savedmodel"
                    shutil.rmtree(folder, ignore_errors=True)
                    export_savedmodel(run, folder)
                    archive = shutil.make_archive(str(export_folder(run) / f"{name}-savedmodel"), "zip", folder)
                built()[(key, "savedmodel")] = {"path": Path(archive)}
            except Exception as error:
                failure("Making the SavedModel", error)
        entry = built_file((key, "savedmodel"))
        if entry:
            st.download_button(f"Download the SavedModel ({size_text(Path(entry['path']).stat().st_size)})",
                               data=reader(entry["path"]), file_name=f"{name}-savedmodel.zip", mime="application/zip",
                               key="share_download_savedmodel", on_click="ignore", icon=":material/download:",
                               type="primary")


# -- import ----------------------------------------------------------------------------------------
def imported(run, what: str) -> None:
    """The imported run joins this session and becomes the model for Test and Evaluate."""
    state.add_session_run(run)
    classes = ", ".join(ui.md(c) for c in run.class_names)
    flash("share_flash_import", "success",
          f"Imported **{ui.md(run.name)}** ({what}). It knows {ui.plural(len(run.class_names), 'class', 'classes')}: "
          f"{classes}. It is now listed on the Runs page, and the Test and Evaluate pages use it.")


def import_teachable_machine_files(files) -> None:
    from tlcore.data import UnsafeArchiveError, extract_zip
    from tlcore.importers import TeachableMachineError, import_teachable_machine
    from tlcore.runs import claim_run_folder

    folder = new_folder("teachable-machine-")
    try:
        for upload in files:
            if upload.name.lower().endswith(".zip"):
                extract_zip(upload, folder / f"zip-{len(list(folder.iterdir()))}")
            else:
                (folder / Path(upload.name).name).write_bytes(upload.getvalue())
    except UnsafeArchiveError as error:
        flash("share_flash_import", "error", f"This zip file cannot be used. {error}")
        return
    models = sorted(folder.rglob("*.h5"), key=lambda p: (p.name != "keras_model.h5", len(p.parts)))
    labels = sorted(folder.rglob("*.txt"), key=lambda p: (p.name != "labels.txt", len(p.parts)))
    if not models and not labels:
        flash("share_flash_import", "error", "No Teachable Machine files were found: choose `keras_model.h5` and "
                                             "`labels.txt`, or the zip Teachable Machine gave you.")
        return
    if not models:
        flash("share_flash_import", "info", "Got `labels.txt`. Now add `keras_model.h5` too (choose both files together).")
        return
    if not labels:
        flash("share_flash_import", "info", "Got the model file. Now add `labels.txt` too (choose both files together).")
        return
    try:
        with st.spinner("Rebuilding the Teachable Machine model…"):
            run = import_teachable_machine(models[0], labels[0], claim_run_folder(state.workspace(), "teachable-machine"))
    except (TeachableMachineError, ValueError, OSError) as error:
        flash("share_flash_import", "error", f"This Teachable Machine export could not be imported. {error}")
        return
    st.session_state[TM_WEIGHTS_SOURCE] = str(models[0])
    imported(run, "from Teachable Machine")


def import_studio_files(files) -> None:
    from tlcore.data import UnsafeArchiveError
    from tlcore.importers import ModelFileError
    from tlcore.importers.bundle import BundleError, import_bundle

    models = [f for f in files if f.name.lower().endswith((".zip", ".keras"))]
    labels = [f for f in files if f.name.lower().endswith(".txt")]
    if len(models) != 1:
        flash("share_flash_import", "error" if models else "info",
              "Choose one model at a time." if models else
              "Now add the model too: a zip from the Export tab, a zipped run folder or a `.keras` file.")
        return
    try:
        with st.spinner("Opening the model (safely)…"):
            run = import_bundle(models[0], state.workspace(), labels=labels[0].getvalue() if labels else None,
                                work_dir=state.work_dir())
    except ModelFileError as error:
        flash("share_flash_import", "error", str(error))
        return
    except UnsafeArchiveError as error:
        flash("share_flash_import", "error", f"This file cannot be used. {error}")
        return
    except (BundleError, ValueError, OSError) as error:
        flash("share_flash_import", "error", f"This model could not be imported. {error}")
        return
    imported(run, f"from {ui.md(models[0].name)}")


def use_teachable_machine_backbone(h5: Path) -> None:
    """Keep the Teachable Machine network as "a weights file you added" for MobileNetV2 0.35."""
    from tlcore.backbones import add_to_library, get_backbone, library_weights_file
    from tlcore.importers import TeachableMachineError, teachable_machine_backbone_weights

    spec = get_backbone("mobilenet_v2_035")
    replaced = library_weights_file(spec) is not None
    try:
        with st.spinner("Saving the Teachable Machine network as starting weights…"):
            weights = teachable_machine_backbone_weights(h5, new_folder("tm-weights-") / "teachable-machine.weights.h5")
            kept = add_to_library(spec, weights)
    except (TeachableMachineError, ValueError, OSError) as error:
        flash("share_flash_start", "error", f"The Teachable Machine network could not be kept. {error}")
        return
    state.set_settings(state.settings().replace(backbone=spec.name, weights=str(kept), input_size=None))
    for widget in MODEL_KEYS:  # the Model page shows the new choice
        st.session_state.pop(widget, None)
    flash("share_flash_start", "success",
          f"Done. On the Model page, **{spec.title}** now starts from **“Weights file you added”**: the network "
          "Teachable Machine uses. Train it on your own pictures to compare."
          + (" (It replaces the weights file you had added before for this network.)" if replaced else ""))


def import_tab() -> None:
    show_flash("share_flash_import")
    with st.container(border=True):
        st.subheader(":material/school: From Google Teachable Machine", anchor=False)
        st.markdown("In Teachable Machine choose **Export Model → Tensorflow → Keras → Download my model**. "
                    "Drop the zip it gives you here, or the two files inside it: `keras_model.h5` and `labels.txt`.")
        files = st.file_uploader("Teachable Machine files", type=["zip", "h5", "txt"], accept_multiple_files=True,
                                 key="share_tm_files")
        if ui.new_upload("share_tm_files", files):
            import_teachable_machine_files(files)
            st.rerun()
        h5 = st.session_state.get(TM_WEIGHTS_SOURCE)
        if h5 and Path(h5).is_file():
            show_flash("share_flash_start")
            st.markdown("**Nice to try:** start a new training from the network inside this Teachable Machine "
                        "model, with MobileNetV2 (0.35) on the Model page.")
            if st.button("Use its network as a starting point", key="share_tm_as_start", icon=":material/start:"):
                use_teachable_machine_backbone(Path(h5))
                st.rerun()

    with st.container(border=True):
        st.subheader(":material/upload_file: A model from Transfer Learning Studio", anchor=False)
        st.markdown("A zip made in the Export tab, a zipped run folder, or a `.keras` model file with its "
                    "`labels.txt`. Models that carry code are refused, for safety.")
        files = st.file_uploader("Model files", type=["zip", "keras", "txt"], accept_multiple_files=True,
                                 key="share_model_files")
        if ui.new_upload("share_model_files", files):
            import_studio_files(files)
            st.rerun()

    st.page_link("pages/test.py", label="Try the imported model on the Test page", icon=":material/image_search:")


# -- lessons ---------------------------------------------------------------------------------------
def project_tab() -> None:
    from tlcore.projects import SUFFIX

    with st.container(border=True):
        st.subheader(":material/save: Save this lesson", anchor=False)
        st.markdown("One file with your **pictures**, the **Model settings** and the **trained models** you "
                    "choose. Open it later, or on another computer, below.")
        data = state.ensure_dataset()
        settings = state.settings()
        st.caption(f"Pictures: **{ui.md(state.dataset_name())}** · {ui.plural(len(data), 'picture')} in "
                   f"{ui.plural(len(data.class_names), 'class', 'classes')} · settings: "
                   f"{ui.md(network_words(settings))}, {ui.plural(settings.total_epochs, 'epoch')}")
        if "share_project_name" not in st.session_state:
            st.session_state["share_project_name"] = state.dataset_name()
        name = st.text_input("Name of the lesson", key="share_project_name").strip() or "Lesson"
        runs = state.all_runs()
        by_path = {str(run.path): run for run in runs}
        mine = set(state.session_runs())
        if "share_project_runs" not in st.session_state:
            st.session_state["share_project_runs"] = [p for p in by_path if p in mine or p == state.selected_run()]
        st.session_state["share_project_runs"] = [p for p in st.session_state["share_project_runs"] if p in by_path]
        chosen = st.multiselect("Trained models to put in it", list(by_path), key="share_project_runs",
                                format_func=lambda p: ui.run_label(by_path[p], p in mine),
                                placeholder="None: pictures and settings only")
        ready = built_file(("project", "lesson")) is not None
        if st.button("Make the lesson file again" if ready else "Make the lesson file", key="share_make_project",
                     type="secondary" if ready else "primary", icon=":material/build:"):
            from tlcore.projects import save_project

            try:
                with st.spinner("Packing the pictures and models…"):
                    path = save_project(new_folder("lesson-") / f"{slug(name, 'lesson')}{SUFFIX}", data, settings.to_dict(),
                                        [by_path[p] for p in chosen], name=name)
                built()[("project", "lesson")] = {"path": path, "name": name, "runs": len(chosen)}
            except Exception as error:
                failure("Making the lesson file", error)
        entry = built_file(("project", "lesson"))
        if entry:
            path = Path(entry["path"])
            st.download_button(f"Download “{entry['name']}” ({size_text(path.stat().st_size)})", data=reader(path),
                               file_name=path.name, mime="application/zip", key="share_download_project",
                               on_click="ignore", icon=":material/download:", type="primary")
            st.caption(f"It holds {ui.plural(len(data), 'picture')}, the settings and "
                       f"{ui.plural(entry['runs'], 'trained model')}.")

    with st.container(border=True):
        st.subheader(":material/folder_open: Open a lesson", anchor=False)
        show_flash("share_flash_project")
        st.markdown(f"A `{SUFFIX}` file saved here. Its pictures, Model settings and trained models replace "
                    "the current pictures and settings; its models are added to Runs.")
        upload = st.file_uploader("Lesson file", type=[SUFFIX.lstrip("."), "zip"], key="share_project_file")
        if ui.new_upload("share_project_file", upload):
            open_lesson(upload)
            st.rerun()


def settings_of(project):
    """The lesson's Model settings, or None when it has none that can be used here."""
    from tlcore.settings import SettingsError, TrainingSettings

    try:
        return TrainingSettings.from_dict(project.settings) if project.settings else None
    except SettingsError:
        return None


def open_lesson(upload) -> None:
    from tlcore.data import DatasetError, UnsafeArchiveError
    from tlcore.projects import open_project

    try:
        with st.spinner("Opening the lesson: unpacking the pictures and models…"):
            project = open_project(upload, state.workspace(), state.work_dir())
    except (DatasetError, UnsafeArchiveError, ValueError, OSError, KeyError) as error:
        flash("share_flash_project", "error", f"This lesson file could not be opened. {error}")
        return
    data = project.dataset
    state.set_dataset(data, project.name)
    details = [f"**Pictures:** {ui.plural(len(data), 'picture')} in {ui.plural(len(data.class_names), 'class', 'classes')} "
               f"({', '.join(ui.md(c) for c in data.class_names)}), now on the Data page."]
    restored = settings_of(project)
    if restored is not None:
        state.set_settings(restored)
        for widget in MODEL_KEYS + tuple(k for k in st.session_state if str(k).startswith("model_aug_")):
            st.session_state.pop(widget, None)
        details.append(f"**Model settings:** {ui.md(network_words(restored))}, "
                       f"{ui.plural(restored.total_epochs, 'epoch')}, now on the Model page.")
    for index, run in enumerate(project.runs):
        state.add_session_run(run, select=index == len(project.runs) - 1)
    if project.runs:
        details.append(f"**Trained models:** {ui.plural(len(project.runs), 'model')} added to Runs "
                       f"({', '.join(ui.md(r.name) for r in project.runs)}); Test and Evaluate use "
                       f"“{ui.md(project.runs[-1].name)}”.")
    else:
        details.append("**Trained models:** none were in this lesson.")
    st.session_state.pop("share_project_name", None)  # the name field starts from the lesson's name
    flash("share_flash_project", "success", f"Opened the lesson **{ui.md(project.name)}**:", details)


# -- the page --------------------------------------------------------------------------------------
st.title("Share your model")
ui.lead("Take a model out of the studio, bring one in, or keep the whole lesson in one file.")
export, import_, project = st.tabs(
    [":material/ios_share: Export", ":material/download: Import", ":material/inventory_2: Lesson file"],
    key="share_tabs")
with export:
    export_tab()
with import_:
    import_tab()
with project:
    project_tab()
