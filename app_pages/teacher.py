"""The teacher's page (classroom mode): who has joined, how their trainings stand, a leaderboard
to project, the training line, and the end of the lesson (export everything, then clear).

It opens only with the teacher's code (printed in the terminal by `tlcore classroom`): a
student's link never carries it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from studio import class_pool, class_privacy, class_swap, class_task, device_trust, figures, navigation, spaces, state, words
from studio.i18n import _, _n, language, tr
from studio.language import class_language_picker
from tlcore.backbones import BACKBONES
from tlcore.backbones.spec import short_title
from tlcore.i18n import N_, Decimal, Percent, format_value
from tlcore.classroom import qr, trust
from tlcore.classroom.server import JOIN_URL_ENV
from tlcore.classroom.swap import class_fingerprint
from tlcore.spaces import SETTINGS_FILE, SpaceError
from tlcore.classroom.teacher_code import wait_words
from tlcore.classroom.teacher import clear_class, export_class

# i18n: a training's state in the teacher's table of the class
SUMMARIES_KEY = "teacher_class_summaries"  # (what the spaces' files and the line looked like, the summaries)
STATE_WORDS = {"queued": N_("waiting"), "running": N_("training"), "done": N_("done"), "failed": N_("failed"),
               "cancelled": N_("stopped"), "interrupted": N_("interrupted"), None: "—"}


def render() -> None:
    st.title(_("Teacher"), anchor=False)
    if not spaces.classroom():
        st.info(_("This page is for a class: start the Studio with `tlcore classroom` and each student joins "
                  "with their own name, on their own computer, tablet or phone."))
        return
    if not spaces.is_teacher():
        code_section()
        return
    join_section()
    class_language_picker()
    class_task.task_section()
    devices_section()
    class_section()
    class_swap.swap_section()
    class_pool.pool_section()
    queue_section()
    open_section()
    class_privacy.privacy_section()
    end_section()


def code_section() -> None:
    st.markdown(_("Type the **teacher code** that the terminal showed when the classroom started."))
    with st.form("teacher_code_form", border=False):
        code = st.text_input(_("Teacher code"), key="teacher_code", type="password")
        given = st.form_submit_button(_("Open the teacher's page"), type="primary")
    if not given:
        waiting = spaces.teacher_code_wait()
        if waiting:
            st.warning(_("Too many wrong codes were typed here: wait {wait} before the next try.",
                         wait=wait_words(waiting)))
        return
    attempt = spaces.sign_in_teacher(code)
    if attempt.accepted:
        st.rerun()
    elif not attempt.checked:
        st.error(_("Too many wrong codes were typed here: wait {wait}, then type the code again. Each wrong code "
                   "makes the wait longer.", wait=wait_words(attempt.wait_s)))
    elif attempt.wait_s:
        st.error(_("That is not the teacher code. It is in the terminal where `tlcore classroom` was started. After "
                   "a few wrong codes each try waits: the next one in {wait}.", wait=wait_words(attempt.wait_s)))
    else:
        st.error(_("That is not the teacher code. It is in the terminal where `tlcore classroom` was started."))


def join_section() -> None:
    url = os.environ.get(JOIN_URL_ENV, "")
    code_column, words_column = st.columns([1.3, 2], vertical_alignment="center")
    if url:
        code_column.image(qr.png(url, scale=10), caption=_("Scan to join"), width=320,
                          alt=_("QR code of the class's address: {address}", address=url))
    address = words.md(url) if url else _("the address in the terminal")
    words_column.markdown("## " + _("Students open") + "\n### " + address)
    words_column.caption(_("On the school network. A device opens it with no warning once it has the "
                           "classroom's certificate: see below.") if device_trust.ca_der() else
                         _("On the school network."))


def devices_section() -> None:
    """Each device, once: the classroom's certificate (its QR code, fingerprint, files and steps)."""
    der = device_trust.ca_der()
    url = os.environ.get(JOIN_URL_ENV, "")
    if der is None or not url:  # behind the school's proxy: its certificate is a real one
        return
    st.header(_("Each device, once: the classroom's certificate"), anchor=False)
    code_column, words_column = st.columns([1, 2.3], vertical_alignment="center")
    setup = trust.setup_url(url)
    code_column.image(qr.png(setup, scale=7), caption=_("Scan to set a device up"), width=230,
                      alt=_("QR code of the set-up address: {address}", address=setup))
    words_column.markdown(_(
        "A device that has not set up the classroom yet opens **{address}** (plain http, this QR code): it gets "
        "the certificate and the steps for its kind; one that is set up goes straight on to the classroom, so in "
        "a first lesson show this code instead. Fingerprint: **{fingerprint}** (students compare it with theirs).",
        address=words.md(setup), fingerprint=device_trust.fingerprint()))
    words_column.caption(_(trust.WHY))
    with st.expander(_("The steps per device, and the files (for this computer, or to send)")):
        device_trust.download_buttons("teacher_ca", der)
        device_trust.device_steps()
    with st.expander(_("School-managed devices: IT pushes it once for all")):
        st.markdown(_(trust.MANAGED_DEVICES))


@st.fragment(run_every=3.0)
def class_section() -> None:
    summaries = class_summaries()
    students = [s for s in summaries if s.space.kind == "student"]
    st.header(_n("The class: {count} space", "The class: {count} spaces", len(students)), anchor=False)
    if not students:
        st.caption(_("Nobody has joined yet. Each student (or group) types a name on the join page."))
        return
    best = _("Best accuracy")
    st.dataframe([class_row(s) for s in students], hide_index=True, key="teacher_class_table",
                 column_config={best: st.column_config.ProgressColumn(best, min_value=0, max_value=100,
                                                                      format="%.0f%%")})
    ranked = leaderboard_order(students)
    if ranked:
        st.plotly_chart(leaderboard_figure(ranked), key="teacher_leaderboard", config=figures.CHART_CONFIG)
        st.caption(_("Best validation accuracy, ranked by the low end of each line (where it likely lies): "
                     "100 % on 6 pictures may be luck (likely 61–100 %). Guessing gets 50 % right with 2 classes, "
                     "33 % with 3, 25 % with 4."))


def class_summaries() -> list:
    """Every space's summary, read again only when a space's files or the line changed: reading 30
    spaces' runs takes 0.35-1 s on 2 cores, and this section redraws every 3 s on the projector."""
    store, queue = spaces.store(), spaces.queue()
    marks = [class_fingerprint(store), tuple((e.space_id, e.state) for e in queue.snapshot()) if queue else ()]
    for space in store.spaces():
        for path in (space.folder / SETTINGS_FILE, space.pictures_dir):
            try:
                marks.append(path.stat().st_mtime_ns)
            except OSError:
                marks.append(None)
    kept = st.session_state.get(SUMMARIES_KEY)
    if kept is None or kept[0] != marks:
        # A space that never saved settings trains with the first settings (not TrainingSettings' network).
        kept = st.session_state[SUMMARIES_KEY] = (marks, store.summaries(queue, default_settings=state.first_settings()))
    return kept[1]


def class_row(summary) -> dict:
    """One space. Its network is the one it trains with, named as the training line names it."""
    spec = BACKBONES.get(summary.backbone)
    state_words = STATE_WORDS.get(summary.queue_state)
    # i18n: the columns of the teacher's table of the class
    return {_("Name"): summary.space.name,
            _("Training"): _(state_words) if state_words not in (None, "—") else (state_words or summary.queue_state),
            _("Best accuracy"): None if summary.best_accuracy is None else round(100 * summary.best_accuracy),
            _("Measured on"): tr(words.measured_on(summary.best_accuracy, summary.best_val_pictures)),
            _("Network"): short_title(_(spec.title)) if spec else summary.backbone, _("Runs"): summary.runs,
            _("Pictures"): summary.pictures, _("Classes"): summary.classes,
            _("Picture set"): summary.picture_set or "—"}


def leaderboard_order(summaries: list) -> list:
    """The spaces with a measured accuracy, the surest last (a bar chart draws bottom up): by the
    low end of each 95 % interval, so 6 lucky pictures at 100 % cannot top 65 right of 78."""
    measured = [s for s in summaries if s.best_accuracy is not None]
    return sorted(measured, key=lambda s: ((s.best_interval or (0.0, 0.0))[0], s.best_accuracy))


def leaderboard_figure(ranked: list) -> go.Figure:
    """Best validation accuracy per space, the surest on top, readable from the back of a room: a
    bar to the accuracy, a line over where it likely lies, "100% · on 6" beside it. Each name says
    its classes: guessing gets 50 % right with 2 classes, 33 % with 3."""
    names = [figures.plain(_n("{name} ({count} class)", "{name} ({count} classes)", s.classes, name=s.space.name)
                           if s.classes else s.space.name) for s in ranked]
    intervals = [s.best_interval or (s.best_accuracy, s.best_accuracy) for s in ranked]
    figure = go.Figure(go.Bar(
        x=[100 * s.best_accuracy for s in ranked], y=names, orientation="h", marker_color="#9ec5fe",
        error_x={"type": "data", "symmetric": False, "thickness": 4, "width": 10, "color": "#1f3b70",
                 "array": [100 * (high - s.best_accuracy) for s, (low, high) in zip(ranked, intervals)],
                 "arrayminus": [100 * (s.best_accuracy - low) for s, (low, high) in zip(ranked, intervals)]},
        # i18n: beside a bar: an accuracy and how many pictures it was measured on, "83% · on 24"
        text=[_("{percent} · on {total}", percent=Percent(s.best_accuracy), total=s.best_val_pictures)
              for s in ranked],
        textposition="inside", insidetextanchor="start", textfont={"size": figures.FONT_SIZE + 2},
        hoverinfo="skip"))
    figure.update_layout(title={"text": _("Leaderboard · surest first"), "font": {"size": figures.FONT_SIZE + 6}},
                         font={"size": figures.FONT_SIZE}, height=130 + 56 * len(ranked),
                         margin={"l": 10, "r": 10, "t": 60, "b": 30}, showlegend=False)
    # A little past 100 %: the line of a 100 % ends there, and its cap must show.
    ticks = list(range(0, 101, 20))
    figure.update_xaxes(range=[0, 103], tickvals=ticks,
                        ticktext=[format_value(Percent(tick / 100), language()) for tick in ticks],
                        tickfont={"size": figures.FONT_SIZE})
    figure.update_yaxes(tickfont={"size": figures.FONT_SIZE + 2})
    return figures.readable(figure)  # text colours 4.5:1 on white, as every figure (figures.readable)


@st.fragment(run_every=3.0)
def queue_section() -> None:
    line = spaces.queue()
    st.header(_("The training line"), anchor=False)
    names = {space.id: space.name for space in spaces.store().spaces()}
    active = [entry for entry in line.snapshot() if entry.active]
    paused = st.toggle(_("Pause the line (running trainings go on; none starts)"), value=line.paused,
                       key="teacher_pause")
    if paused != line.paused:
        line.pause() if paused else line.resume()
    if not active:
        st.caption(_("No training is waiting or running."))
        return
    for entry in active:
        who = words.md(names[entry.space_id]) if entry.space_id in names else _("a space that was removed")
        if entry.state == "running":
            since = words.duration_text(time.time() - entry.started) if entry.started else _("a moment")
            st.markdown(_("**Training now:** {who} ({what}, for {since})", who=who, what=words.md(tr(entry.label)),
                          since=since))
        else:
            st.markdown(f"**{entry.position}.** {who} ({words.md(tr(entry.label))})")


def open_section() -> None:
    st.header(_("Open a space"), anchor=False)
    everyone = spaces.store().spaces()
    by_id = {space.id: space for space in everyone}
    current = spaces.current()
    st.caption(_("You are working in: **{name}**. Opening a student's space shows their pictures and runs on "
                 "every page (Test, Evaluate...).", name=words.md(current.name if current else "—")))
    chosen = st.selectbox(_("Space"), list(by_id), format_func=lambda i: by_id[i].name, key="teacher_open_choice",
                          index=list(by_id).index(current.id) if current and current.id in by_id else 0)
    open_column, test_column = st.columns(2)
    if open_column.button(_("Open this space"), key="teacher_open", disabled=chosen is None):
        spaces.open_space(chosen)
        st.rerun()
    if test_column.button(_("Open it on the Test page"), key="teacher_open_test", disabled=chosen is None):
        spaces.open_space(chosen)
        navigation.go("test")
    if chosen is not None and by_id[chosen].kind == "student":
        with st.expander(_("{name} lost their page? Their own link (not for the projector)",
                           name=by_id[chosen].name)):
            st.caption(_("Whoever has this link works in this space: give it to its owner only."))
            st.code(spaces.link_of(by_id[chosen]), language=None)


def end_section() -> None:
    st.header(_("End of the lesson"), anchor=False)
    folder = Path(spaces.store().root).parent / "classroom" / "exports"
    st.caption(_("Students' pictures and runs are kept on this computer only, in {folder}. Export them as lesson "
                 "files (one per space) before clearing the class.", folder=words.md(spaces.store().root)))
    if st.button(_("Export the whole class"), key="teacher_export", icon=":material/archive:"):
        with st.spinner(_("Writing every space's lesson file…")):
            st.session_state["teacher_export_path"] = str(export_class(
                spaces.store(), folder / time.strftime("class-%Y%m%d-%H%M%S.zip")))
        class_privacy.record(class_privacy.EXPORTED, detail=Path(st.session_state["teacher_export_path"]).name)
    offer_export()
    sure = st.checkbox(_("I have the export; delete every student's space"), key="teacher_clear_sure")
    if st.button(_("Clear the class"), key="teacher_clear", type="primary", disabled=not sure,
                 icon=":material/delete_forever:"):
        clear(folder)


def clear(folder: Path) -> None:
    try:
        with st.spinner(_("Exporting, then clearing…")):
            path = clear_class(spaces.store(), folder / time.strftime("class-%Y%m%d-%H%M%S-cleared.zip"),
                               spaces.queue())
    except (SpaceError, OSError) as error:
        st.error(tr(error))
        return
    st.session_state["teacher_export_path"] = str(path)
    class_privacy.record(class_privacy.CLEARED, detail=path.name)
    st.success(_("The class was cleared. Everything it held is in the export below."))


def offer_export() -> None:
    path = st.session_state.get("teacher_export_path")
    if not path or not Path(path).is_file():
        return
    size = Path(path).stat().st_size / 1e6
    st.download_button(_("Download the class ({size} MB)", size=Decimal(size, 1)), data=Path(path).read_bytes(),
                       file_name=Path(path).name, mime="application/zip", key="teacher_download",
                       icon=":material/download:", on_click="ignore")
    st.caption(_("Also kept on this computer: {path}", path=words.md(path)))
