"""Every word a page shows goes through the catalogue: each page, in its main states, drawn in the
pseudo-language (tests/i18n_support.py) shows no English word but outside text and proper names."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest
from streamlit.testing.v1 import AppTest

from i18n_support import PSEUDO, pseudo, untranslated, use_pseudo_language, visible_texts
from studio_support import APP, TIMEOUT, environment, folders, open_page, switch, trained_run  # noqa: F401 (fixtures)

PRODUCT = "Transfer Learning Studio"  # a name: the same in every language (the sidebar, the iPad profile)
STUDENTS = ("Ana", "Ben")  # the names the class's students joined with
DEMO_CLASSES = ("circle", "square", "triangle", "circles", "squares", "triangles", "Shapes")


def draw_plain(page):
    """The page as a new user first sees it (the built-in demo)."""
    return lambda request: open_page(page, tl_language=PSEUDO)


# -- Learn, Join, Teacher and the sidebar (helper i18n-p1) -----------------------------------------
TEACHER_CODE = "PLANTS-2024"


def classroom(request, with_certificate: bool = True) -> None:
    """Classroom mode (`tlcore classroom`): a join address, a teacher code and the classroom's CA."""
    from tlcore.classroom.tls import ensure_authority

    patch = request.getfixturevalue("monkeypatch")
    patch.setenv("TLCORE_MODE", "classroom")
    patch.setenv("TLCORE_TEACHER_CODE", TEACHER_CODE)
    patch.setenv("TLCORE_JOIN_URL", "https://192.0.2.10:8501")
    if with_certificate:
        folder = request.getfixturevalue("tmp_path") / "tls"
        patch.setenv("TLCORE_CA_FILE", str(ensure_authority(folder).cert_file))


def fingerprints() -> tuple[str, ...]:
    """The classroom CA's fingerprint (hex: "FCCC" could read as a word), where there is one."""
    from studio import device_trust

    return tuple(filter(None, [device_trust.fingerprint()]))


def sidebar_only(at):
    """Only the sidebar's texts count (the page under it belongs to another owner)."""
    return SimpleNamespace(_tree=at.sidebar, at=at)


def draw_sidebar_with_pictures(request):
    at = open_page("learn", tl_language=PSEUDO)
    at.button(key="learn_start_demo").click().run(timeout=TIMEOUT)  # loads the demo, opens the Data page
    return sidebar_only(at)


def draw_join(request):
    classroom(request)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["tl_language"] = PSEUDO
    return at.run(timeout=60)


def draw_teacher_code(request):
    classroom(request)
    at = draw_join(request)
    return switch(at, "teacher").run(timeout=TIMEOUT)


def draw_teacher_with_two_students(request):
    """Two students joined; one has a measured run (the leaderboard)."""
    from studio import spaces

    trained_run = request.getfixturevalue("trained_run")
    classroom(request)
    ana, ben = spaces.store().create("Ana"), spaces.store().create("Ben")
    shutil.copytree(trained_run.path, ana.runs_dir / trained_run.path.name)
    assert ben is not None
    at = draw_teacher_code(request)
    at.text_input(key="teacher_code").input(TEACHER_CODE)
    at.button[0].click().run(timeout=TIMEOUT)
    return at
# -- the class pool: the teacher's section, a student's Data and Train pages ----------------------
def class_pool_of_ana(request, train_on: str = "own"):
    """Classroom mode; Ana kept circles and squares (named "Ana": outside text) and shared them with
    the class; the teacher hid one of hers. Her space's id."""
    from test_spaces import png
    from tlcore.classroom.pool import ClassPool
    from tlcore.paths import workspace_root
    from tlcore.spaces import SpaceStore

    classroom(request)
    store = SpaceStore.in_workspace(workspace_root())
    ana = store.create("Ana")
    for k, name in enumerate(("circle", "square")):
        (ana.pictures_dir / name).mkdir(exist_ok=True)
        for i in range(3):
            (ana.pictures_dir / name / f"{i}.png").write_bytes(png(10 * k + i))
    store.update_state(ana.id, picture_set="Ana", train_on=train_on)
    pool = ClassPool(workspace_root())
    pool.add(ana)
    pool.set_hidden(pool.pictures()[0].file, True)
    return ana.id


def draw_student_page(page, train_on: str = "own"):
    def draw(request):
        space_id = class_pool_of_ana(request, train_on)
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state["tl_language"] = PSEUDO
        at.query_params["space"] = space_id
        at.run(timeout=60)
        switch(at, page).run(timeout=TIMEOUT)
        drawn = {"data": "data_pool_add", "train": "train_start", "experiments": "experiments_preset_mine_vs_class"}[page]
        assert at.button(key=drawn) and (page != "train" or any(" 5 " in m.value for m in at.markdown)), "not drawn"
        return at
    return draw


def draw_teacher_pool(request):
    """The Teacher page with Ana's pictures in the pool, one hidden, one's Remove asked."""
    from studio.class_pool import ASKED
    from tlcore.classroom.pool import ClassPool
    from tlcore.paths import workspace_root

    class_pool_of_ana(request)
    at = draw_teacher_code(request)
    at.text_input(key="teacher_code").input(TEACHER_CODE)
    asked = at.session_state[ASKED] = ClassPool(workspace_root()).pictures()[1].file
    at.button[0].click().run(timeout=TIMEOUT)
    assert at.button(key=f"teacher_pool_yes:{asked}"), "the pool's section is not drawn"
    return at


# share
def draw_share(*made):
    """The Share page with the trained run chosen (its three tabs are drawn at once), after clicking
    the buttons ``made`` (keys) that make files: their download labels, tables and the model card."""
    def draw(request):
        run = request.getfixturevalue("trained_run")
        at = open_page("share", tl_language=PSEUDO, tl_selected_run=str(run.path))
        for key in made:
            at.button(key=key).click().run(timeout=180)
            assert not at.exception, at.exception
        return at
    return draw
def draw_data_camera_tab(request):
    """The Data page with its Camera tab open (AppTest has no browser camera: it waits for one)."""
    from app_pages.data import CAMERA_TAB

    at = open_page("data", tl_language=PSEUDO)
    at.session_state["data_tabs"] = pseudo(CAMERA_TAB)
    return at.run()


def draw_data_class_changes(request):
    """The Data page with a class's changes open: a delete asked, three classes to fill in."""
    at = open_page("data", tl_language=PSEUDO)
    version = next(b.key for b in at.button if (b.key or "").startswith("data_delete_")).split("_")[2]
    at.session_state["data_delete_asked"] = (version, "circle")
    at.session_state["data_cls_count"] = 3
    return at.run()


def draw_model_fine_tuning(request):
    """The Model page with top blocks learning and augmentation on (its longest sentences)."""
    at = open_page("model", tl_language=PSEUDO)
    at.slider(key="model_depth").set_value(2).run()
    at.toggle(key="model_aug_flip").set_value(True)
    return at.run()


def draw_train_trained(request):
    """The Train page of a space whose last model is a real (small) trained run."""
    run = request.getfixturevalue("trained_run")
    return open_page("train", tl_language=PSEUDO, tl_selected_run=str(run.path))


# (page, state) -> how to draw it; each page's owner adds its main states here
def draw_with_run(page, **session):
    """``page`` with the module's trained run chosen (test, evaluate, understand, experiments, runs)."""
    def draw(request):
        run = request.getfixturevalue("trained_run")
        return open_page(page, tl_language=PSEUDO, tl_selected_run=str(run.path), **session)
    return draw


def draw_held_back(request):
    """The Test page answering two of its held-back pictures, with where the model looked (the
    pick is put in session state: AppTest formats a select box outside the app, in English, so a
    click would not find the pseudo-language's options)."""
    from app_pages.test import HELD_BACK, HELD_BACK_TAB
    from i18n_support import pseudo

    run = request.getfixturevalue("trained_run")
    files, names, truths = run.validation_set()
    pick = (str(run.path), [(names[i], str(files[i]), truths[i]) for i in range(2)])
    return open_page("test", tl_language=PSEUDO, tl_selected_run=str(run.path), test_tabs=pseudo(HELD_BACK_TAB),
                     test_gradcam=True, **{HELD_BACK: pick})


STATES = {
    # Learn, Join, Teacher, the sidebar (helper i18n-p1)
    ("learn", "first visit"): draw_plain("learn"),
    ("sidebar", "with a picture set"): draw_sidebar_with_pictures,
    ("join", "classroom"): draw_join,
    ("teacher", "asks for its code"): draw_teacher_code,
    ("teacher", "signed in, a class of two"): draw_teacher_with_two_students,
    ("teacher", "a class pool"): draw_teacher_pool,
    ("data", "a student and the class pool"): draw_student_page("data"),
    ("train", "a student, on the class pool"): draw_student_page("train", "pool"),
    ("experiments", "a student, with the class pool"): draw_student_page("experiments"),
    # share
    ("share", "first visit"): draw_plain("share"),
    ("share", "trained"): draw_share(),
    ("share", "zip and web page made"): draw_share("share_make_bundle", "share_make_web"),
    # -- Data (with its camera tab), Model, Train -------------------------------------------------
    ("data", "the demo"): draw_plain("data"),
    ("data", "camera tab"): draw_data_camera_tab,
    ("data", "changing a class"): draw_data_class_changes,
    ("model", "the demo"): draw_plain("model"),
    ("model", "fine-tuning, augmented"): draw_model_fine_tuning,
    ("train", "before training"): draw_plain("train"),
    ("train", "trained"): draw_train_trained,
    # test, evaluate, understand, experiments, runs (helper i18n-p3)
    ("test", "empty"): draw_plain("test"),
    ("test", "trained"): draw_with_run("test"),
    ("test", "held back pictures"): draw_held_back,
    ("evaluate", "empty"): draw_plain("evaluate"),
    ("evaluate", "trained"): draw_with_run("evaluate"),
    ("understand", "empty"): draw_plain("understand"),
    ("understand", "trained"): draw_with_run("understand"),
    ("experiments", "empty"): draw_plain("experiments"),
    ("runs", "empty"): draw_plain("runs"),
    ("runs", "trained"): draw_with_run("runs"),
}


@pytest.fixture()
def pseudo_language(monkeypatch):
    use_pseudo_language(monkeypatch)


@pytest.mark.parametrize("page, state", sorted(STATES))
def test_every_word_on_the_page_is_translated(pseudo_language, request, page, state, trained_run):
    at = STATES[(page, state)](request)
    assert not getattr(at, "at", at).exception, getattr(at, "at", at).exception
    texts = [text.replace(PRODUCT, " ") for text in visible_texts(at)]  # the app's name stays as it is
    runs = (trained_run.name,)  # a run the module made earlier may show on any page: outside text
    left = untranslated(texts, allowed=DEMO_CLASSES + STUDENTS + fingerprints() + runs)  # outside text
    assert not left, f"{page} ({state}): {len(left)} English words left, e.g.\n" + "\n".join(left[:25])


# share: the page's own area (the sidebar, the navigation's page names and the picture set's name
# belong to other owners: the whole page is checked by the test above once they are merged)
SHARE_STATES = sorted(state for page, state in STATES if page == "share")


def main_area_texts(at, others=()) -> list[str]:
    """visible_texts() of the page's main area only, less the texts in ``others`` (whole texts
    that other files make)."""
    from i18n_support import _proto_texts

    found = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            found.extend(text for text in _proto_texts(proto) if text not in others)
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else children or []):
            walk(child)

    walk(at.main)
    return [text for text in found if text and text.strip()]


@pytest.mark.parametrize("state", SHARE_STATES)
def test_every_word_of_the_share_page_is_translated(pseudo_language, request, state, trained_run):
    from studio.words import run_facts, run_label
    from tlcore.backbones import get_backbone
    from tlcore.export.tfjs import TFJS_BACKBONES

    at = STATES[("share", state)](request)
    assert not at.exception, at.exception
    from studio.navigation import PAGES

    others = {run_facts(trained_run), run_label(trained_run), run_label(trained_run, True),  # studio/words.py's
              *(entry.title for entry in PAGES)}  # the navigation's page names (studio/navigation.py)
    outside = (*DEMO_CLASSES, "Shapes (built-in demo)", trained_run.name,  # the picture set's and run's names
               *(get_backbone(name).title for name in TFJS_BACKBONES))  # the backbone cards' (their owner's)
    left = untranslated(main_area_texts(at, others), allowed=outside)
    assert not left, f"share ({state}): {len(left)} English words left, e.g.\n" + "\n".join(left[:25])


# share: what a user takes home, made in the page's language
TYPED = ("cat_1 *big*", "dog [x](y) <b>", "a|b $x$ :smile:")  # class names with Markdown, HTML and Streamlit syntax


def renamed(run, names=TYPED):
    """``run`` with class names as a student might type them (the same model and folder)."""
    import dataclasses

    from tlcore.runs.run import Run

    record = run.record
    counts = dict(zip(names, record.dataset.counts.values()))
    return Run(run.path, record.replace(classes=tuple(names),
                                        dataset=dataclasses.replace(record.dataset, counts=counts)))


def test_the_model_card_and_predict_py_are_in_the_chosen_language(pseudo_language, trained_run):
    from i18n_support import pseudo
    from tlcore.export.bundle import PREDICT_WORDS, markdown_text, model_card, predict_script

    run = renamed(trained_run)
    card = model_card(run, PSEUDO)
    assert pseudo("## How well it did") in card and "## How well it did" not in card
    assert pseudo("| Class | Pictures |") in card
    for name in TYPED:  # as values, escaped: shown exactly as typed, never as markup
        assert f"| {markdown_text(name)} |" in card
    assert "cat\\_1 \\*big\\*" in card and "dog [x](y)" not in card and "<b>" not in card
    record = run.record  # stored words from elsewhere (backbone title, weights, picture set) stay as they are
    left = untranslated([card], allowed=(*TYPED, record.backbone_title, record.weights_source, record.dataset.name,
                                         run.name, "RGB", "PICTURE"))
    assert not left, left
    assert model_card(run).startswith(f"# {markdown_text(run.name)}\n\nMade with Transfer Learning Studio on ")
    script = predict_script(run, PSEUDO)
    assert f'"unfamiliar": "{pseudo(PREDICT_WORDS["unfamiliar"])}"' in script
    assert f'"unfamiliar": "{PREDICT_WORDS["unfamiliar"]}"' not in script
    compile(script, "predict.py", "exec")


def test_the_web_page_is_made_in_the_chosen_language(pseudo_language, trained_run):
    import json
    import re

    from i18n_support import pseudo
    from tlcore.export.web import WEB_WORDS, web_page

    def data(page, element):
        found = re.search(rf'<script type="application/json" id="{element}">(.*?)</script>', page, re.S)
        return json.loads(found.group(1))

    run = renamed(trained_run)
    page = web_page(run, language=PSEUDO)
    assert page.startswith('<!doctype html>\n<html lang="qps" dir="ltr">')
    assert data(page, "tl-words") == {key: pseudo(text) for key, text in WEB_WORDS.items()}
    assert data(page, "tl-data")["classes"] == list(TYPED)  # exactly as typed (and escaped in the JSON)
    assert "<b>" not in page.split('id="tl-data">', 1)[1].split("</script>", 1)[0]
    assert '<html lang="ar" dir="rtl">' in web_page(run, language="ar")  # Arabic: right to left
    assert data(web_page(run), "tl-words") == WEB_WORDS  # English by default


def test_the_teachers_choice_of_language_is_what_a_new_student_reads(pseudo_language, request):
    """The Teacher page sets the class's language; a student who joins after it (with no language of
    their own) gets it, and their own pick in the sidebar still wins."""
    from studio_support import APP, TIMEOUT

    at = draw_teacher_with_two_students(request)
    picker = at.selectbox(key="teacher_class_language")
    assert picker.value == "browser"
    picker.set_value(PSEUDO).run(timeout=TIMEOUT)
    assert not at.exception, at.exception
    from tlcore.classroom.class_settings import read_class_settings
    from tlcore.paths import workspace_root

    assert read_class_settings(workspace_root()).language == PSEUDO
    student = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=60)  # the join page, no language set
    assert student.session_state["tl_language"] == PSEUDO
    assert any(text.startswith(pseudo("Your name")[:6]) for text in visible_texts(student)), visible_texts(student)[:5]
