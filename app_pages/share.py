"""Share: export a model (a zip with predict.py, TensorFlow Lite 32- and 8-bit side by side,
TensorFlow.js in Teachable Machine's layout, SavedModel), import one (Google Teachable Machine's
TensorFlow.js or Keras download, or a model from this app), and save or open a whole lesson.

Files are made on demand (a button), in this session's own temporary folder, never on every rerun.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from studio import navigation, phone_page, spaces, state, widgets, words
from studio.i18n import _, _n, language, tr
from studio.words import md
from tlcore.export.bundle import PREDICT_INSTALL, PREDICT_NEEDS, download_name, slug  # no TensorFlow at import
from tlcore.i18n import N_, Decimal, Percent

BUILT = "share_built"  # (run folder or "project", kind) -> {"path": Path, ...}
TM_WEIGHTS_SOURCE = "share_tm_source"  # (folder of the last Teachable Machine upload, its backbone)
IMPORT_FLASH, START_FLASH, LESSON_FLASH = "share_flash_import", "share_flash_start", "share_flash_project"


def render() -> None:
    st.title(_("Share your model"))
    widgets.lead(_("Take a model out of the studio, bring one in, or keep the whole lesson in one file."))
    export, import_, lesson = st.tabs(
        [_(":material/ios_share: Export"), _(":material/download: Import"), _(":material/inventory_2: Lesson file")],
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
    if count >= 100_000:
        return _("{size} MB", size=Decimal(count / 1e6, 1))
    return _("{size} kB", size=round(count / 1e3))


def built() -> dict:
    return st.session_state.setdefault(BUILT, {})


def built_file(key, language_code: str | None = None) -> dict | None:
    """A file made earlier in this session, if it is still there (and, for a file with words in
    it, made in ``language_code``: read in another language, it is made again in this one)."""
    entry = built().get(key)
    if language_code is not None and entry and entry.get("language", language_code) != language_code:
        return None
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


# What each button makes: (shown while it works, the sentence when it fails), whole sentences each.
MAKING = {
    "web": (N_("Making the web page…"), N_("Making the web page did not work.")),
    "bundle": (N_("Making the zip…"), N_("Making the zip did not work.")),
    "tflite": (N_("Making and checking both TFLite files…"), N_("Making and checking both TFLite files did not work.")),
    "tfjs": (N_("Making the TensorFlow.js files…"), N_("Making the TensorFlow.js files did not work.")),
    "savedmodel": (N_("Making the SavedModel…"), N_("Making the SavedModel did not work.")),
    "lesson": (N_("Making the lesson file…"), N_("Making the lesson file did not work.")),
}


def make(what: str, key, build) -> None:
    """Run ``build()`` (returns the entry to keep) under a spinner; a failure in one sentence
    (``what``: a key of MAKING)."""
    doing, failed = MAKING[what]
    try:
        with st.spinner(_(doing)):
            built()[key] = build()
    except Exception as error:  # never a traceback for a class
        st.error(f"{_(failed)} {tr(error)}" if isinstance(error, (ValueError, OSError)) else _(failed))


def download(label: str, entry: dict, file_name: str, key: str, mime: str = "application/zip", **kwargs) -> None:
    st.download_button(label, data=reader(entry["path"]), file_name=file_name, mime=mime, key=key,
                       on_click="ignore", icon=":material/download:", **kwargs)


# -- export --------------------------------------------------------------------------------------------
def export_tab() -> None:
    runs = state.all_runs()
    if not runs:
        st.info(_("There is no trained model to share yet. Train one first, or import one in the Import tab."))
        return
    run = widgets.run_picker(runs, "share_run", _("Model to share"))
    st.caption(tr(words.run_facts(run)))
    web_page_box(run)
    bundle_box(run)
    tflite_box(run)
    tfjs_box(run)
    savedmodel_box(run)


def web_page_box(run) -> None:
    """"A web page for your phone": one HTML file that is the model (tlcore.export.web), in the
    language this page is read in."""
    from tlcore.export.web import web_problem

    name, key, line = download_name(run), (str(run.path), "web"), state.not_sure_threshold()
    with st.container(border=True, key="share_web_box"):
        st.header(_(":material/phone_iphone: A web page for your phone"), anchor=False)
        st.markdown(_("One file that **is your model**: open it on a phone or a laptop and point the camera at "
                      "things. It answers like the Test page (“not sure” below your {line} line, “none of my "
                      "classes”), plays its behaviours, and needs no internet.", line=Percent(line)))
        problem = web_problem(run)
        if problem:
            st.info(tr(problem))
            return
        big_page_note(run)
        ready = built_file(key, language()) is not None
        if st.button(_("Make the page again") if ready else _("Make the web page"), key="share_make_web",
                     type="secondary" if ready else "primary", icon=":material/build:"):
            from tlcore.export.web import export_web

            make("web", key, lambda: {"path": export_web(run, export_folder(run) / f"{name}.html", not_sure=line,
                                                         language=language()), "language": language()})
        entry = built_file(key, language())
        if entry:
            download(_("Download the page ({size})", size=size_text(Path(entry["path"]).stat().st_size)), entry,
                     f"{name}.html", "share_download_web", mime="text/html", type="primary")
        st.markdown(_(WEB_PAGE_DEVICES_CLASSROOM) if spaces.classroom() else _(WEB_PAGE_DEVICES))
        phone_page.qr_section(run, line, key="share_phone")
        with st.expander(_("How big is the page for each network?")):
            st.markdown(web_sizes_table(run))


PHONE_PAGE_BYTES = 10_000_000  # what a phone opens quickly, on the school's wifi too


def big_page_note(run) -> None:
    """A warning before making a page too big for a phone (ResNet50: about 130 MB)."""
    from tlcore.export.web import page_size_estimate

    size = page_size_estimate(run.record.backbone, len(run.class_names), run.record.train_pictures or 100)
    if size > PHONE_PAGE_BYTES:
        small = page_size_estimate("mobilenet_v2_035", len(run.class_names), run.record.train_pictures or 100)
        st.warning(_("With {network} the page takes about {size}: slow to open, and too big for many phones. "
                     "Trained on MobileNetV2 (0.35), it takes {small}.", network=md(run.record.short_title),
                     size=size_text(size), small=size_text(small)))


# Two whole texts: where an iPhone gets its page differs in classroom mode.
WEB_PAGE_DEVICES = N_(
    "- **Android phone, Chromebook, laptop:** open the downloaded file (Chrome, Edge or Firefox); it works with "
    "the network off.\n"
    "- **iPhone, iPad:** Apple lets a page use the camera only from a web address: open it from the classroom's "
    "QR code (with `tlcore classroom`). Opened from Files it still answers for photos you choose.")
WEB_PAGE_DEVICES_CLASSROOM = N_(
    "- **Android phone, Chromebook, laptop:** open the downloaded file (Chrome, Edge or Firefox); it works with "
    "the network off.\n"
    "- **iPhone, iPad:** Apple lets a page use the camera only from a web address: open it from the classroom's "
    "QR code (below). Opened from Files it still answers for photos you choose.")


def web_sizes_table(run) -> str:
    """The page's size per network that can make one, for this run's classes and pictures."""
    from tlcore.backbones import get_backbone
    from tlcore.export.tfjs import TFJS_BACKBONES
    from tlcore.export.web import page_size_estimate

    pictures = run.record.train_pictures or 100
    rows = [_("| Network | Page size |"), "| --- | ---: |"]
    for backbone in TFJS_BACKBONES:
        size = page_size_estimate(backbone, len(run.class_names), pictures)
        title = _(get_backbone(backbone).title)
        network = _("{network} (this model)", network=title) if backbone == run.record.backbone else title
        rows.append(f"| {network} | {size_text(size)} |")
    classes = len(run.class_names)
    for_what = (_n("For {count} class and {pictures} training pictures.",
                   "For {count} classes and {pictures} training pictures.", classes, pictures=pictures)
                if pictures != 1 else
                _n("For {count} class and 1 training picture.", "For {count} classes and 1 training picture.",
                   classes))
    return "\n".join(rows) + "\n\n" + for_what + " " + _(
        "Phones open pages up to about 10 MB quickly: MobileNetV2 (0.35) is the network for them.")


def bundle_box(run) -> None:
    name, key = download_name(run), (str(run.path), "bundle")
    with st.container(border=True):
        st.header(_(":material/folder_zip: Everything in one zip"), anchor=False)
        st.markdown(_("The model (`model.keras`), its class names (`labels.txt`), a **model card** that says in "
                      "plain words what it is and how well it did (`model_card.md`), and `predict.py` to use it."))
        ready = built_file(key, language()) is not None  # its model card is in this page's language
        if st.button(_("Make the zip again") if ready else _("Make the zip"), key="share_make_bundle",
                     type="secondary" if ready else "primary", icon=":material/build:"):
            from tlcore.export import export_bundle

            make("bundle", key, lambda: {"path": export_bundle(run, export_folder(run) / f"{name}.zip",
                                                               language=language()), "language": language()})
        entry = built_file(key, language())
        if entry:
            download(_("Download the zip ({size})", size=size_text(Path(entry["path"]).stat().st_size)), entry,
                     f"{name}.zip", "share_download_bundle", type="primary")
            st.markdown(_("**To use it:** unzip it, then run `python predict.py picture.jpg` (needs Python with "
                          "{needs}: `{install}`).", needs=_(PREDICT_NEEDS), install=PREDICT_INSTALL))
        with st.expander(_("Read the model card")):
            from tlcore.export.bundle import model_card

            st.markdown(model_card(run, language()))


def tflite_box(run) -> None:
    key = (str(run.path), "tflite-pair")
    with st.container(border=True):
        st.header(_(":material/smartphone: For phones and small devices (TensorFlow Lite)"), anchor=False)
        st.markdown(_("The same model for apps on phones and small computers, in two versions. The **8-bit** one "
                      "stores its numbers with 8 bits instead of 32: smaller, and its answers can shift a little. "
                      "Make both to see what that costs, side by side."))
        ready = built_file(key) is not None
        if st.button(_("Make both again") if ready else _("Make both and compare"), key="share_make_tflite",
                     type="secondary" if ready else "primary", icon=":material/build:"):
            from tlcore.export import export_tflite_pair

            def build() -> dict:
                exact, small = export_tflite_pair(run, export_folder(run), download_name(run))
                return {"path": Path(exact["path"]), "reports": (exact, small)}

            make("tflite", key, build)
        entry = built_file(key)
        if entry:
            exact, small = entry["reports"]
            st.markdown(tflite_table(exact, small))
            st.markdown(tflite_summary(exact, small))
            for column, report in zip(st.columns(2), (exact, small)):
                with column:
                    name = Path(report["path"]).name
                    widget = "tflite_8bit" if report["quantized"] else "tflite"
                    size = size_text(report.get("size_bytes"))
                    label = (_("Download the 8-bit file ({size})", size=size) if report["quantized"] else
                             _("Download the 32-bit file ({size})", size=size))
                    download(label, {"path": report["path"]}, name, f"share_download_{widget}",
                             mime="application/octet-stream", help=_("Saved as {name}", name=name))


def percent_right(report: dict) -> str:
    if report.get("accuracy") is None:
        return "—"
    return _("**{percent}** ({right})", percent=Percent(report["accuracy"]),
             right=round(report["accuracy"] * report["pictures"]))


def milliseconds(value: float | None) -> str:
    if value is None:
        return "—"
    return _("{time} ms", time=Decimal(value, 1 if value < 10 else 0))


def tflite_table(exact: dict, small: dict) -> str:
    """The two files side by side, in words a class reads from the back of the room."""
    pictures = exact.get("pictures") or 0
    rows = [("", _("32-bit (full)"), _("8-bit (smaller)"))]
    if pictures and exact.get("accuracy") is not None:
        rows.append((_n("Right on the {count} held-back picture", "Right on the {count} held-back pictures", pictures),
                     percent_right(exact), percent_right(small)))
    if pictures:
        rows.append((_("Same answer as the original model"),
                     *(_("{same} of {total}", same=round(r["agreement"] * pictures), total=pictures)
                       for r in (exact, small))))
    rows.append((_("File size"), *(f"**{size_text(r.get('size_bytes'))}**" for r in (exact, small))))
    rows.append((_("Time per picture, on this computer"),
                 *(f"**{milliseconds(r.get('ms_per_picture'))}**" for r in (exact, small))))
    lines = [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join([lines[0], "| --- | ---: | ---: |", *lines[1:]])


def tflite_summary(exact: dict, small: dict) -> str:
    """What the 8-bit file gains and loses, in whole sentences."""
    smaller = Decimal((exact.get("size_bytes") or 0) / max(small.get("size_bytes") or 1, 1), 1)
    said = [_("The 8-bit file is **{ratio}× smaller**.", ratio=smaller)]
    if exact.get("ms_per_picture") and small.get("ms_per_picture"):
        ratio = exact["ms_per_picture"] / small["ms_per_picture"]
        said = [_("The 8-bit file is **{ratio}× smaller**, {speed}× faster.", ratio=smaller, speed=Decimal(ratio, 1))
                if ratio >= 1.05 else
                _("The 8-bit file is **{ratio}× smaller**, {speed}× slower.", ratio=smaller,
                  speed=Decimal(1 / ratio, 1))
                if ratio <= 0.95 else _("The 8-bit file is **{ratio}× smaller**, about as fast.", ratio=smaller)]
    if exact.get("accuracy") is not None and small.get("accuracy") is not None:
        points = int(f"{100 * exact['accuracy']:.0f}") - int(f"{100 * small['accuracy']:.0f}")  # as the table shows
        said.append(_("On these pictures it is just as accurate.") if points == 0 else
                    _n("On these pictures it is {count} percentage point less accurate.",
                       "On these pictures it is {count} percentage points less accurate.", points) if points > 0 else
                    _n("On these pictures it is {count} percentage point more accurate (by chance).",
                       "On these pictures it is {count} percentage points more accurate (by chance).", -points))
    if not exact.get("pictures"):
        said.append(_("There are no held-back pictures to measure accuracy on (this model came without them)."))
    return sentences_text(said)


def sentences_text(said: list[str]) -> str:
    """Whole sentences one after another, as this language writes them (no space in Chinese)."""
    return ("" if language().split("_")[0] in ("zh", "ja") else " ").join(said)


def tfjs_box(run) -> None:
    from tlcore.export.tfjs import tfjs_problem

    name, key = download_name(run), (str(run.path), "tfjs")
    with st.container(border=True):
        st.header(_(":material/language: For web pages (TensorFlow.js, Teachable Machine's format)"), anchor=False)
        st.markdown(_("The files Teachable Machine exports: `model.json`, `weights.bin` and `metadata.json`. Web "
                      "pages made with Teachable Machine's code, p5.js sketches with ml5.js, and Scratch extensions "
                      "that load a Teachable Machine model can load this one instead."))
        problem = tfjs_problem(run)
        if problem:
            st.info(tr(problem))
            return
        if st.button(_("Make the TensorFlow.js files"), key="share_make_tfjs", icon=":material/build:"):
            from tlcore.export import export_tfjs_zip

            make("tfjs", key, lambda: {"path": export_tfjs_zip(run, export_folder(run) / f"{name}-tfjs.zip")})
        entry = built_file(key)
        if entry:
            download(_("Download them in a zip ({size})", size=size_text(Path(entry["path"]).stat().st_size)),
                     entry, f"{name}-tfjs.zip", "share_download_tfjs", type="primary")
            if run.input_size != 224:
                st.caption(_("This model looks at {size}×{size} pictures. Teachable Machine's code reads that size "
                             "from metadata.json, but ml5.js (and Scratch) always give a model 224×224 ones: for "
                             "them, train at 224 pixels (Model page).", size=run.input_size))


def savedmodel_box(run) -> None:
    name, key = download_name(run), (str(run.path), "savedmodel")
    with st.container(border=True):
        st.header(_(":material/dns: For TensorFlow servers (SavedModel)"), anchor=False)
        st.markdown(_("A folder (zipped) for TensorFlow Serving and for converters such as TensorFlow.js."))
        if st.button(_("Make the SavedModel"), key="share_make_savedmodel", icon=":material/build:"):
            make("savedmodel", key, lambda: {"path": savedmodel_zip(run, name)})
        entry = built_file(key)
        if entry:
            download(_("Download the SavedModel ({size})", size=size_text(Path(entry["path"]).stat().st_size)),
                     entry, f"{name}-savedmodel.zip", "share_download_savedmodel", type="primary")


# -- import --------------------------------------------------------------------------------------------
def import_tab() -> None:
    widgets.show_flash(IMPORT_FLASH)
    teachable_machine_box()
    studio_model_box()
    navigation.link("test", _("Try the imported model on the Test page"), icon=":material/image_search:")


def teachable_machine_box() -> None:
    with st.container(border=True):
        st.header(_(":material/school: From Google Teachable Machine"), anchor=False)
        st.markdown(_("In Teachable Machine choose **Export Model → Download my model** (TensorFlow.js, its first "
                      "choice, or Tensorflow → Keras). Drop the zip it gives you here, or the files inside it "
                      "together: `model.json`, `weights.bin` and `metadata.json`, or `keras_model.h5` and "
                      "`labels.txt`."))
        files = st.file_uploader(_("Teachable Machine files"), type=["zip", "json", "bin", "h5", "txt"],
                                 accept_multiple_files=True, key="share_tm_files")
        if widgets.new_upload("share_tm_files", files):
            import_teachable_machine_files(files)
            st.rerun()
        source = st.session_state.get(TM_WEIGHTS_SOURCE)
        if source and Path(source[0]).exists():
            from tlcore.backbones import get_backbone

            widgets.show_flash(START_FLASH)
            title = _(get_backbone(source[1]).title)
            st.markdown(_("**Nice to try:** start a new training from the network inside this Teachable Machine "
                          "model, with {network} on the Model page.", network=md(title)))
            if st.button(_("Use its network as a starting point"), key="share_tm_as_start", icon=":material/start:"):
                use_teachable_machine_backbone(Path(source[0]), source[1])
                st.rerun()


def studio_model_box() -> None:
    with st.container(border=True):
        st.header(_(":material/upload_file: A model from Transfer Learning Studio"), anchor=False)
        st.markdown(_("A zip made in the Export tab, a zipped run folder, or a `.keras` model file with its "
                      "`labels.txt`. Models that carry code are refused, for safety."))
        files = st.file_uploader(_("Model files"), type=["zip", "keras", "txt"], accept_multiple_files=True,
                                 key="share_model_files")
        if widgets.new_upload("share_model_files", files):
            import_studio_files(files)
            st.rerun()


def imported(run, source: str) -> None:
    """The imported run joins this session and becomes the model for Test and Evaluate (``source``:
    a translated sentence saying where it came from)."""
    state.add_session_run(run)
    classes = ", ".join(md(c) for c in run.class_names)
    said = _n("Imported **{name}** ({source}). It knows {count} class: {classes}.",
              "Imported **{name}** ({source}). It knows {count} classes: {classes}.", len(run.class_names),
              name=md(run.name), source=source, classes=classes)
    widgets.flash(IMPORT_FLASH, "success", sentences_text(
        [said, _("It is now listed on the Runs page, and the Test and Evaluate pages use it.")]))


def teachable_machine_upload(files) -> Path:
    """The uploads (files, or the zip Teachable Machine gives) in a new folder of this session."""
    from tlcore.data import extract_zip

    folder = new_folder("teachable-machine-")
    for index, upload in enumerate(files):
        if upload.name.lower().endswith(".zip"):
            extract_zip(upload, folder / f"zip-{index}")
        else:  # Streamlit keeps folder names in UploadedFile.name: only the last part is used
            (folder / Path(upload.name.replace("\\", "/")).name).write_bytes(upload.getvalue())
    return folder


def missing_files(folder: Path) -> str | None:
    """What to add when only part of an export was chosen, or None when it looks whole."""
    from tlcore.importers.teachable_machine import find_export
    from tlcore.importers.tfjs import find_tfjs_export

    model, metadata, others = find_tfjs_export([folder])
    bins = [p for p in others if p.suffix.lower() == ".bin"]
    if model or metadata or bins:
        have = [name for name, there in (("model.json", model), ("metadata.json", metadata), ("weights.bin", bins))
                if there]
        lacking = [name for name in ("model.json", "metadata.json", "weights.bin") if name not in have]
        if not lacking:
            return None
        # i18n: {have} and {lacking} are file names in `code`, joined by the word "and" (its own message)
        return _("Got {have}. Now add {lacking} too (choose the three files together).",
                 have=file_list(have), lacking=file_list(lacking))
    h5, labels = find_export(folder)
    if h5 is None and labels is None:
        return None
    if h5 is None:
        return _("Got `labels.txt`. Now add `keras_model.h5` too (choose both files together).")
    return None if labels is not None else _("Got the model file. Now add `labels.txt` too (choose both files "
                                             "together).")


def file_list(names: list[str]) -> str:
    """One or two file names as code: "`a`", "`a` and `b`"."""
    if len(names) == 1:
        return f"`{names[0]}`"
    return _("`{first}` and `{second}`", first=names[0], second=names[1])


def import_teachable_machine_files(files) -> None:
    from tlcore.data import UnsafeArchiveError
    from tlcore.importers import TeachableMachineError, import_teachable_machine_export
    from tlcore.runs import claim_run_folder

    try:
        folder = teachable_machine_upload(files)
    except UnsafeArchiveError as error:
        widgets.flash(IMPORT_FLASH, "error", sentences_text([_("This zip file cannot be used."), tr(error)]))
        return
    waiting = missing_files(folder)
    if waiting:
        widgets.flash(IMPORT_FLASH, "info", waiting)
        return
    try:
        with st.spinner(_("Rebuilding the Teachable Machine model…")):
            run = import_teachable_machine_export([folder], claim_run_folder(state.workspace(), "teachable-machine"),
                                                  work_dir=state.work_dir())
    except (TeachableMachineError, ValueError, OSError) as error:
        widgets.flash(IMPORT_FLASH, "error", sentences_text(
            [_("This Teachable Machine export could not be imported."), md(tr(error))]))
        return
    st.session_state[TM_WEIGHTS_SOURCE] = (str(folder), run.record.backbone)
    imported(run, _("from Teachable Machine, its TensorFlow.js download")
             if "TensorFlow.js" in (run.record.source or "") else _("from Teachable Machine, its Keras download"))


def import_studio_files(files) -> None:
    from tlcore.data import UnsafeArchiveError
    from tlcore.importers import ModelFileError
    from tlcore.importers.bundle import BundleError, import_bundle

    models = [f for f in files if f.name.lower().endswith((".zip", ".keras"))]
    labels = [f for f in files if f.name.lower().endswith(".txt")]
    if len(models) != 1:
        widgets.flash(IMPORT_FLASH, "error" if models else "info",
                      _("Choose one model at a time.") if models else
                      _("Now add the model too: a zip from the Export tab, a zipped run folder or a `.keras` file."))
        return
    try:
        with st.spinner(_("Opening the model (safely)…")):
            run = import_bundle(models[0], state.workspace(), labels=labels[0].getvalue() if labels else None,
                                work_dir=state.work_dir())
    except ModelFileError as error:
        widgets.flash(IMPORT_FLASH, "error", tr(error))
    except UnsafeArchiveError as error:
        widgets.flash(IMPORT_FLASH, "error", sentences_text([_("This file cannot be used."), tr(error)]))
    except (BundleError, ValueError, OSError) as error:
        widgets.flash(IMPORT_FLASH, "error", sentences_text([_("This model could not be imported."), tr(error)]))
    else:
        imported(run, _("from {file}", file=md(models[0].name)))


def use_teachable_machine_backbone(folder: Path, backbone: str) -> None:
    """Keep the Teachable Machine network as an added weights file for its MobileNetV2."""
    from tlcore.backbones import add_to_library, get_backbone, library_weights_file
    from tlcore.importers import TeachableMachineError, teachable_machine_backbone_weights, tfjs_backbone_weights
    from tlcore.importers.teachable_machine import find_export
    from tlcore.importers.tfjs import is_tfjs_export

    spec = get_backbone(backbone)
    replaced = library_weights_file(spec) is not None
    try:
        with st.spinner(_("Saving the Teachable Machine network as starting weights…")):
            target = new_folder("tm-weights-") / "teachable-machine.weights.h5"
            if is_tfjs_export([folder]):
                weights = tfjs_backbone_weights([folder], target)
            else:
                weights = teachable_machine_backbone_weights(find_export(folder)[0], target)
            kept = add_to_library(spec, weights)
    except (TeachableMachineError, ValueError, OSError, TypeError) as error:
        widgets.flash(START_FLASH, "error", sentences_text(
            [_("The Teachable Machine network could not be kept."), md(tr(error))]))
        return
    state.set_settings(state.settings().replace(backbone=spec.name, weights=str(kept), input_size=None))
    widgets.renew_widgets("model")  # the Model page shows the new choice
    done = _("Done. On the Model page, **{network}** now starts from **“{weights}”**: the network Teachable Machine "
             "uses. Train it on your own pictures to compare.", network=_(spec.title),
             weights=words.weights_file_label(spaces.classroom()))
    widgets.flash(START_FLASH, "success", sentences_text(
        [done, _("(It replaces the weights file added before for this network.)")] if replaced else [done]))


# -- lessons -------------------------------------------------------------------------------------------
def lesson_tab() -> None:
    save_lesson_box()
    open_lesson_box()


def save_lesson_box() -> None:
    from tlcore.projects import SUFFIX

    with st.container(border=True):
        st.header(_(":material/save: Save this lesson"), anchor=False)
        st.markdown(_("One file with your **pictures**, the **Model settings** and the **trained models** you "
                      "choose. Open it later, or on another computer, below."))
        data, settings = state.ensure_dataset(), state.settings()
        st.caption(_("Pictures: **{name}** · {pictures} in {classes} · settings: {network}, {epochs}",
                     name=md(state.shown_dataset_name()), pictures=pictures_text(len(data)),
                     classes=classes_text(len(data.class_names)), network=md(settings.spec.short_title),
                     epochs=_n("{count} epoch", "{count} epochs", settings.total_epochs)))
        name_key = widgets.widget_key("share_project", "name")
        if name_key not in st.session_state:
            st.session_state[name_key] = state.shown_dataset_name()
        name = st.text_input(_("Name of the lesson"), key=name_key).strip() or _("Lesson")
        chosen, by_path = lesson_runs()
        ready = built_file(("project", "lesson")) is not None
        if st.button(_("Make the lesson file again") if ready else _("Make the lesson file"),
                     key="share_make_project", type="secondary" if ready else "primary", icon=":material/build:"):
            from tlcore.projects import save_project

            def build() -> dict:
                path = save_project(new_folder("lesson-") / f"{slug(name, 'lesson')}{SUFFIX}", data,
                                    settings.to_dict(), [by_path[p] for p in chosen], name=name)
                return {"path": path, "name": name, "runs": len(chosen)}

            make("lesson", ("project", "lesson"), build)
        entry = built_file(("project", "lesson"))
        if entry:
            path = Path(entry["path"])
            download(_("Download “{name}” ({size})", name=entry["name"], size=size_text(path.stat().st_size)),
                     entry, path.name, "share_download_project", type="primary")
            st.caption(_("It holds {pictures}, the settings and {models}.", pictures=pictures_text(len(data)),
                         models=_n("{count} trained model", "{count} trained models", entry["runs"])))


# i18n: counts used inside other sentences ("90 pictures in 3 classes")
def pictures_text(count: int) -> str:
    return _n("{count} picture", "{count} pictures", count)


def classes_text(count: int) -> str:
    return _n("{count} class", "{count} classes", count)


def lesson_runs() -> tuple[list[str], dict]:
    """The trained models chosen for the lesson (this session's and the chosen one, to start)."""
    runs = state.all_runs()
    by_path = {str(run.path): run for run in runs}
    mine = set(state.session_runs())
    if "share_project_runs" not in st.session_state:
        st.session_state["share_project_runs"] = [p for p in by_path if p in mine or p == state.selected_run()]
    st.session_state["share_project_runs"] = [p for p in st.session_state["share_project_runs"] if p in by_path]
    chosen = st.multiselect(_("Trained models to put in it"), list(by_path), key="share_project_runs",
                            format_func={p: tr(words.run_label(run, p in mine)) for p, run in by_path.items()}.get,
                            placeholder=_("None: pictures and settings only"))
    return chosen, by_path


def open_lesson_box() -> None:
    from tlcore.projects import SUFFIX

    with st.container(border=True):
        st.header(_(":material/folder_open: Open a lesson"), anchor=False)
        widgets.show_flash(LESSON_FLASH)
        st.markdown(_("A `{suffix}` file saved here. Its pictures, Model settings and trained models replace the "
                      "current pictures and settings; its models are added to Runs.", suffix=SUFFIX))
        upload = st.file_uploader(_("Lesson file"), type=[SUFFIX.lstrip("."), "zip"], key="share_project_file")
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
        with st.spinner(_("Opening the lesson: unpacking the pictures and models…")):
            project = open_project(upload, state.workspace(), state.work_dir())
    except LessonFileError as error:  # its sentence already says it is about the lesson file
        widgets.flash(LESSON_FLASH, "error", md(tr(error)))
        return
    except (DatasetError, UnsafeArchiveError, ValueError, OSError, KeyError) as error:
        widgets.flash(LESSON_FLASH, "error", sentences_text(
            [_("This lesson file could not be opened."), md(tr(error))]))
        return
    data = project.dataset
    state.set_dataset(data, project.name)
    details = [_("**Pictures:** {pictures} in {classes} ({names}), now on the Data page.",
                 pictures=pictures_text(len(data)), classes=classes_text(len(data.class_names)),
                 names=", ".join(md(c) for c in data.class_names))]
    restored = settings_of(project)
    if restored is not None:
        state.set_settings(restored)
        widgets.renew_widgets("model")  # the Model page starts from the lesson's settings
        details.append(_n("**Model settings:** {network}, {count} epoch, now on the Model page.",
                          "**Model settings:** {network}, {count} epochs, now on the Model page.",
                          restored.total_epochs, network=md(restored.spec.short_title)))
    for index, run in enumerate(project.runs):
        state.add_session_run(run, select=index == len(project.runs) - 1)
    if project.runs:
        details.append(_n("**Trained models:** {count} model added to Runs ({names}); Test and Evaluate use "
                          "“{last}”.", "**Trained models:** {count} models added to Runs ({names}); Test and "
                          "Evaluate use “{last}”.", len(project.runs),
                          names=", ".join(md(r.name) for r in project.runs), last=md(project.runs[-1].name)))
    else:
        details.append(_("**Trained models:** none were in this lesson."))
    widgets.renew_widgets("share_project")  # the name field starts from the lesson's name
    widgets.flash(LESSON_FLASH, "success", _("Opened the lesson **{name}**:", name=md(project.name)), details)
