"""Share: export a model (a zip with predict.py, TensorFlow Lite, SavedModel), import one
(Google Teachable Machine, or a model from this app), and save or open a whole lesson.

Files are made on demand (a button), in this session's own temporary folder, never on every rerun.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from studio import navigation, state, widgets, words
from studio.words import md, plural
from tlcore.export.bundle import download_name, slug  # no TensorFlow at import

BUILT = "share_built"  # (run folder or "project", kind) -> {"path": Path, ...}
TM_WEIGHTS_SOURCE = "share_tm_h5"  # the last imported Teachable Machine keras_model.h5
IMPORT_FLASH, START_FLASH, LESSON_FLASH = "share_flash_import", "share_flash_start", "share_flash_project"


def render() -> None:
    st.title("Share your model")
    widgets.lead("Take a model out of the studio, bring one in, or keep the whole lesson in one file.")
    export, import_, lesson = st.tabs(
        [":material/ios_share: Export", ":material/download: Import", ":material/inventory_2: Lesson file"],
        key="share_tabs")
    with export:
        export_tab()
    with import_:
        import_tab()
    with lesson:
        lesson_tab()


# -- files made here -----------------------------------------------------------------------------------
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


def savedmodel_zip(run, name: str) -> Path:
    from tlcore.export import export_savedmodel_zip

    return export_savedmodel_zip(run, export_folder(run) / f"{name}-savedmodel.zip")


def new_folder(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=state.work_dir()))


def make(what: str, key, build) -> None:
    """Run ``build()`` (returns the entry to keep) under a spinner; a failure in one sentence."""
    try:
        with st.spinner(f"{what}…"):
            built()[key] = build()
    except Exception as error:  # never a traceback for a class
        st.error(f"{what} did not work: {error}" if isinstance(error, (ValueError, OSError)) else f"{what} did not work.")


def download(label: str, entry: dict, file_name: str, key: str, mime: str = "application/zip", **kwargs) -> None:
    st.download_button(label, data=reader(entry["path"]), file_name=file_name, mime=mime, key=key,
                       on_click="ignore", icon=":material/download:", **kwargs)


# -- export --------------------------------------------------------------------------------------------
def export_tab() -> None:
    runs = state.all_runs()
    if not runs:
        st.info("There is no trained model to share yet. Train one first, or import one in the Import tab.")
        return
    run = widgets.run_picker(runs, "share_run", "Model to share")
    st.caption(words.run_facts(run))
    bundle_box(run)
    tflite_box(run)
    savedmodel_box(run)


def bundle_box(run) -> None:
    name, key = download_name(run), (str(run.path), "bundle")
    with st.container(border=True):
        st.subheader(":material/folder_zip: Everything in one zip", anchor=False)
        st.markdown("The model (`model.keras`), its class names (`labels.txt`), a **model card** that says in "
                    "plain words what it is and how well it did (`model_card.md`), and `predict.py` to use it.")
        ready = built_file(key) is not None
        if st.button("Make the zip again" if ready else "Make the zip", key="share_make_bundle",
                     type="secondary" if ready else "primary", icon=":material/build:"):
            from tlcore.export import export_bundle

            make("Making the zip", key, lambda: {"path": export_bundle(run, export_folder(run) / f"{name}.zip")})
        entry = built_file(key)
        if entry:
            download(f"Download the zip ({size_text(Path(entry['path']).stat().st_size)})", entry, f"{name}.zip",
                     "share_download_bundle", type="primary")
            st.markdown("**To use it:** unzip it, then run `python predict.py picture.jpg` "
                        "(needs Python with TensorFlow, numpy and Pillow).")
        with st.expander("Read the model card"):
            from tlcore.export.bundle import model_card

            st.markdown(model_card(run))


def tflite_box(run) -> None:
    with st.container(border=True):
        st.subheader(":material/smartphone: For phones and small devices (TensorFlow Lite)", anchor=False)
        st.markdown("The same model for apps on phones and small computers. The smaller version stores "
                    "its numbers with 8 bits instead of 32: about four times smaller, answers can shift a little. "
                    "Each file is checked against the original model.")
        for column, quantize in zip(st.columns(2, gap="large"), (False, True)):
            with column:
                tflite_variant(run, quantize)


def tflite_variant(run, quantize: bool) -> None:
    kind = "tflite-8bit" if quantize else "tflite"
    key, widget = (str(run.path), kind), kind.replace("-", "_")
    file_name = f"{download_name(run)}{'-8bit' if quantize else ''}.tflite"
    st.markdown(f"**{'Smaller (8-bit)' if quantize else 'Full precision (32-bit)'}**")
    if st.button(f"Make the {'smaller ' if quantize else ''}TFLite file", key=f"share_make_{widget}",
                 icon=":material/build:"):
        from tlcore.export import export_tflite

        def build() -> dict:
            report = export_tflite(run, export_folder(run) / file_name, quantize=quantize)
            return {"path": Path(report["path"]), "report": report}

        make("Making the TFLite file", key, build)
    entry = built_file(key)
    if entry:
        report = entry["report"]
        keras_size = f" (the Keras file: {size_text(report['keras_size_bytes'])})" if report.get("keras_size_bytes") else ""
        st.markdown(f"Size: **{size_text(report.get('size_bytes'))}**{keras_size}.  \n{agreement_words(report)}")
        download(f"Download it ({size_text(report.get('size_bytes'))})", entry, file_name, f"share_download_{widget}",
                 mime="application/octet-stream", help=f"Saved as {file_name}")


def agreement_words(report: dict) -> str:
    pictures = report.get("pictures") or 0
    if not pictures:
        return ("There are no validation pictures to compare it with the original model on "
                "(this model came without them).")
    same = round(report["agreement"] * pictures)
    difference = 100 * float(report.get("max_abs_difference") or 0.0)
    gap = "less than 0.1 percentage points" if difference < 0.05 else f"at most {difference:.1f} percentage points"
    return (f"It gives the same answer as the original model on **{same} of {plural(pictures, 'validation picture')}** "
            f"({report['agreement']:.0%}); its probabilities differ by {gap}.")


def savedmodel_box(run) -> None:
    name, key = download_name(run), (str(run.path), "savedmodel")
    with st.container(border=True):
        st.subheader(":material/dns: For TensorFlow servers (SavedModel)", anchor=False)
        st.markdown("A folder (zipped) for TensorFlow Serving and for converters such as TensorFlow.js.")
        if st.button("Make the SavedModel", key="share_make_savedmodel", icon=":material/build:"):
            make("Making the SavedModel", key, lambda: {"path": savedmodel_zip(run, name)})
        entry = built_file(key)
        if entry:
            download(f"Download the SavedModel ({size_text(Path(entry['path']).stat().st_size)})", entry,
                     f"{name}-savedmodel.zip", "share_download_savedmodel", type="primary")


# -- import --------------------------------------------------------------------------------------------
def import_tab() -> None:
    widgets.show_flash(IMPORT_FLASH)
    teachable_machine_box()
    studio_model_box()
    navigation.link("test", "Try the imported model on the Test page", icon=":material/image_search:")


def teachable_machine_box() -> None:
    with st.container(border=True):
        st.subheader(":material/school: From Google Teachable Machine", anchor=False)
        st.markdown("In Teachable Machine choose **Export Model → Tensorflow → Keras → Download my model**. "
                    "Drop the zip it gives you here, or the two files inside it: `keras_model.h5` and `labels.txt`.")
        files = st.file_uploader("Teachable Machine files", type=["zip", "h5", "txt"], accept_multiple_files=True,
                                 key="share_tm_files")
        if widgets.new_upload("share_tm_files", files):
            import_teachable_machine_files(files)
            st.rerun()
        h5 = st.session_state.get(TM_WEIGHTS_SOURCE)
        if h5 and Path(h5).is_file():
            widgets.show_flash(START_FLASH)
            st.markdown("**Nice to try:** start a new training from the network inside this Teachable Machine "
                        "model, with MobileNetV2 (0.35) on the Model page.")
            if st.button("Use its network as a starting point", key="share_tm_as_start", icon=":material/start:"):
                use_teachable_machine_backbone(Path(h5))
                st.rerun()


def studio_model_box() -> None:
    with st.container(border=True):
        st.subheader(":material/upload_file: A model from Transfer Learning Studio", anchor=False)
        st.markdown("A zip made in the Export tab, a zipped run folder, or a `.keras` model file with its "
                    "`labels.txt`. Models that carry code are refused, for safety.")
        files = st.file_uploader("Model files", type=["zip", "keras", "txt"], accept_multiple_files=True,
                                 key="share_model_files")
        if widgets.new_upload("share_model_files", files):
            import_studio_files(files)
            st.rerun()


def imported(run, what: str) -> None:
    """The imported run joins this session and becomes the model for Test and Evaluate."""
    state.add_session_run(run)
    classes = ", ".join(md(c) for c in run.class_names)
    widgets.flash(IMPORT_FLASH, "success",
                  f"Imported **{md(run.name)}** ({what}). It knows {plural(len(run.class_names), 'class', 'classes')}: "
                  f"{classes}. It is now listed on the Runs page, and the Test and Evaluate pages use it.")


def teachable_machine_upload(files) -> tuple[Path | None, Path | None]:
    """The uploads (files, or the zip Teachable Machine gives) in a new folder; the two files found."""
    from tlcore.data import extract_zip

    folder = new_folder("teachable-machine-")
    for index, upload in enumerate(files):
        if upload.name.lower().endswith(".zip"):
            extract_zip(upload, folder / f"zip-{index}")
        else:
            (folder / Path(upload.name).name).write_bytes(upload.getvalue())
    from tlcore.importers.teachable_machine import find_export

    return find_export(folder)


def import_teachable_machine_files(files) -> None:
    from tlcore.data import UnsafeArchiveError
    from tlcore.importers import TeachableMachineError, import_teachable_machine
    from tlcore.runs import claim_run_folder

    try:
        model, labels = teachable_machine_upload(files)
    except UnsafeArchiveError as error:
        widgets.flash(IMPORT_FLASH, "error", f"This zip file cannot be used. {error}")
        return
    missing = {(True, True): ("error", "No Teachable Machine files were found: choose `keras_model.h5` and "
                                       "`labels.txt`, or the zip Teachable Machine gave you."),
               (True, False): ("info", "Got `labels.txt`. Now add `keras_model.h5` too (choose both files together)."),
               (False, True): ("info", "Got the model file. Now add `labels.txt` too (choose both files together).")}
    if model is None or labels is None:
        widgets.flash(IMPORT_FLASH, *missing[(model is None, labels is None)])
        return
    try:
        with st.spinner("Rebuilding the Teachable Machine model…"):
            run = import_teachable_machine(model, labels, claim_run_folder(state.workspace(), "teachable-machine"))
    except (TeachableMachineError, ValueError, OSError) as error:
        widgets.flash(IMPORT_FLASH, "error", f"This Teachable Machine export could not be imported. {error}")
        return
    st.session_state[TM_WEIGHTS_SOURCE] = str(model)
    imported(run, "from Teachable Machine")


def import_studio_files(files) -> None:
    from tlcore.data import UnsafeArchiveError
    from tlcore.importers import ModelFileError
    from tlcore.importers.bundle import BundleError, import_bundle

    models = [f for f in files if f.name.lower().endswith((".zip", ".keras"))]
    labels = [f for f in files if f.name.lower().endswith(".txt")]
    if len(models) != 1:
        widgets.flash(IMPORT_FLASH, "error" if models else "info",
                      "Choose one model at a time." if models else
                      "Now add the model too: a zip from the Export tab, a zipped run folder or a `.keras` file.")
        return
    try:
        with st.spinner("Opening the model (safely)…"):
            run = import_bundle(models[0], state.workspace(), labels=labels[0].getvalue() if labels else None,
                                work_dir=state.work_dir())
    except ModelFileError as error:
        widgets.flash(IMPORT_FLASH, "error", str(error))
    except UnsafeArchiveError as error:
        widgets.flash(IMPORT_FLASH, "error", f"This file cannot be used. {error}")
    except (BundleError, ValueError, OSError) as error:
        widgets.flash(IMPORT_FLASH, "error", f"This model could not be imported. {error}")
    else:
        imported(run, f"from {md(models[0].name)}")


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
        widgets.flash(START_FLASH, "error", f"The Teachable Machine network could not be kept. {error}")
        return
    state.set_settings(state.settings().replace(backbone=spec.name, weights=str(kept), input_size=None))
    state.renew_widgets("model")  # the Model page shows the new choice
    widgets.flash(START_FLASH, "success",
                  f"Done. On the Model page, **{spec.title}** now starts from **“Weights file you added”**: the network "
                  "Teachable Machine uses. Train it on your own pictures to compare."
                  + (" (It replaces the weights file you had added before for this network.)" if replaced else ""))


# -- lessons -------------------------------------------------------------------------------------------
def lesson_tab() -> None:
    save_lesson_box()
    open_lesson_box()


def save_lesson_box() -> None:
    from tlcore.projects import SUFFIX

    with st.container(border=True):
        st.subheader(":material/save: Save this lesson", anchor=False)
        st.markdown("One file with your **pictures**, the **Model settings** and the **trained models** you "
                    "choose. Open it later, or on another computer, below.")
        data, settings = state.ensure_dataset(), state.settings()
        st.caption(f"Pictures: **{md(state.dataset_name())}** · {plural(len(data), 'picture')} in "
                   f"{plural(len(data.class_names), 'class', 'classes')} · settings: "
                   f"{md(settings.spec.short_title)}, {plural(settings.total_epochs, 'epoch')}")
        name_key = state.widget_key("share_project", "name")
        if name_key not in st.session_state:
            st.session_state[name_key] = state.dataset_name()
        name = st.text_input("Name of the lesson", key=name_key).strip() or "Lesson"
        chosen, by_path = lesson_runs()
        ready = built_file(("project", "lesson")) is not None
        if st.button("Make the lesson file again" if ready else "Make the lesson file", key="share_make_project",
                     type="secondary" if ready else "primary", icon=":material/build:"):
            from tlcore.projects import save_project

            def build() -> dict:
                path = save_project(new_folder("lesson-") / f"{slug(name, 'lesson')}{SUFFIX}", data,
                                    settings.to_dict(), [by_path[p] for p in chosen], name=name)
                return {"path": path, "name": name, "runs": len(chosen)}

            make("Making the lesson file", ("project", "lesson"), build)
        entry = built_file(("project", "lesson"))
        if entry:
            path = Path(entry["path"])
            download(f"Download “{entry['name']}” ({size_text(path.stat().st_size)})", entry, path.name,
                     "share_download_project", type="primary")
            st.caption(f"It holds {plural(len(data), 'picture')}, the settings and "
                       f"{plural(entry['runs'], 'trained model')}.")


def lesson_runs() -> tuple[list[str], dict]:
    """The trained models chosen for the lesson (this session's and the chosen one, to start)."""
    runs = state.all_runs()
    by_path = {str(run.path): run for run in runs}
    mine = set(state.session_runs())
    if "share_project_runs" not in st.session_state:
        st.session_state["share_project_runs"] = [p for p in by_path if p in mine or p == state.selected_run()]
    st.session_state["share_project_runs"] = [p for p in st.session_state["share_project_runs"] if p in by_path]
    chosen = st.multiselect("Trained models to put in it", list(by_path), key="share_project_runs",
                            format_func=lambda p: words.run_label(by_path[p], p in mine),
                            placeholder="None: pictures and settings only")
    return chosen, by_path


def open_lesson_box() -> None:
    from tlcore.projects import SUFFIX

    with st.container(border=True):
        st.subheader(":material/folder_open: Open a lesson", anchor=False)
        widgets.show_flash(LESSON_FLASH)
        st.markdown(f"A `{SUFFIX}` file saved here. Its pictures, Model settings and trained models replace "
                    "the current pictures and settings; its models are added to Runs.")
        upload = st.file_uploader("Lesson file", type=[SUFFIX.lstrip("."), "zip"], key="share_project_file")
        if widgets.new_upload("share_project_file", upload):
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
    from tlcore.projects import LessonFileError, open_project

    try:
        with st.spinner("Opening the lesson: unpacking the pictures and models…"):
            project = open_project(upload, state.workspace(), state.work_dir())
    except LessonFileError as error:  # its sentence already says it is about the lesson file
        widgets.flash(LESSON_FLASH, "error", md(str(error)))
        return
    except (DatasetError, UnsafeArchiveError, ValueError, OSError, KeyError) as error:
        widgets.flash(LESSON_FLASH, "error", f"This lesson file could not be opened. {md(str(error))}")
        return
    data = project.dataset
    state.set_dataset(data, project.name)
    details = [f"**Pictures:** {plural(len(data), 'picture')} in {plural(len(data.class_names), 'class', 'classes')} "
               f"({', '.join(md(c) for c in data.class_names)}), now on the Data page."]
    restored = settings_of(project)
    if restored is not None:
        state.set_settings(restored)
        state.renew_widgets("model")  # the Model page starts from the lesson's settings
        details.append(f"**Model settings:** {md(restored.spec.short_title)}, "
                       f"{plural(restored.total_epochs, 'epoch')}, now on the Model page.")
    for index, run in enumerate(project.runs):
        state.add_session_run(run, select=index == len(project.runs) - 1)
    if project.runs:
        details.append(f"**Trained models:** {plural(len(project.runs), 'model')} added to Runs "
                       f"({', '.join(md(r.name) for r in project.runs)}); Test and Evaluate use "
                       f"“{md(project.runs[-1].name)}”.")
    else:
        details.append("**Trained models:** none were in this lesson.")
    state.renew_widgets("share_project")  # the name field starts from the lesson's name
    widgets.flash(LESSON_FLASH, "success", f"Opened the lesson **{md(project.name)}**:", details)
