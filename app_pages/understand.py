"""Understand: what the network sees, and which labels look wrong.

A map of the current pictures as the pretrained network sees them, beside the same map from
random weights (why transfer works, visible); the map of a trained model; and the pictures
whose label looks wrong, each moved or removed with one click. The work runs in a worker
thread (``tlcore.understand.maps``); a fragment polls it and redraws the page as each part is
ready. Features go through the shared feature cache, so a second visit draws at once.
"""

from __future__ import annotations

import streamlit as st

from studio import figures, navigation, state, widgets, words
from studio.i18n import _, _n, tr
from tlcore.backbones import BACKBONES, weights_here
from tlcore.i18n import N_, Percent

MAPS = "understand_maps_job"
RUN_MAP = "understand_run_map_job"
DRAWN = "understand_drawn"  # what the last full run drew, so the watcher knows when to redraw
FLASH = "understand_flash"
SUSPECTS_SHOWN = 6
STAGE_WORDS = {"waiting": N_("Getting ready…"),
               "pretrained": N_("Looking at each picture with the pretrained network…"),
               "random": N_("The same with random weights…"), "suspects": N_("Checking every picture's label…"),
               "run": N_("Looking at each picture with the trained model…")}  # shown with _(...)


def render() -> None:
    data = state.ensure_dataset()
    backbone, size = network_section(data)
    widgets.show_flash(FLASH)
    weights = weights_here(backbone, size)
    if weights is None:
        missing_weights_section(backbone, size)
        return
    job = maps_job(data, backbone, weights, size)
    st.session_state[DRAWN] = drawn_now()  # before the sections: what they draw is at least this
    if any(not job.finished for job in jobs()):
        watch_section()
    maps_section(job, weights)
    picked_section(job, data)
    suspects_section(job, data)
    run_map_section(data)


# -- the network ----------------------------------------------------------------------------------------
def network_section(data) -> tuple[str, int]:
    pretrained = [name for name, spec in BACKBONES.items() if spec.pretrained]
    st.title(_("What the network sees"), anchor=False)
    # Compact, for a projector: one line of words beside the choices, so both maps fit 1280×720.
    about, network, size_column = st.columns([3, 2, 1], vertical_alignment="bottom")
    backbone = widgets.remembered(network.selectbox, _("Network"), pretrained, key="understand_backbone",
                                  default=state.network_to_show(), allowed=pretrained,
                                  format_func=lambda name: BACKBONES[name].short_title)
    spec, chosen = BACKBONES[backbone], state.settings()
    same = chosen.backbone == backbone and chosen.input_size in spec.input_sizes
    size = widgets.remembered(size_column.selectbox, _("Picture size"), spec.input_sizes, key="understand_size",
                              default=chosen.input_size if same else spec.input_size, allowed=spec.input_sizes,
                              format_func=lambda s: f"{s}×{s}")
    about.markdown(_n("Each dot is one of your pictures (**{name}**, {count} picture): pictures the network finds "
                      "alike land close together.",
                      "Each dot is one of your pictures (**{name}**, {count} pictures): pictures the network finds "
                      "alike land close together.", len(data), name=words.md(state.dataset_name())))
    return backbone, int(size)


def missing_weights_section(backbone: str, size: int) -> None:
    title = _(BACKBONES[backbone].title)
    st.warning(_("The ImageNet weights for {network} are not on this computer, and they cannot be downloaded here "
                 "(no internet connection?). The map needs them: it shows what a *pretrained* network sees.",
                 network=title))
    here = [name for name, spec in BACKBONES.items() if spec.pretrained and weights_here(name, size) is not None]
    if here:
        st.markdown(_("**Two ways out:** add a weights file for {network} on the Model page, or use a network whose "
                      "weights are on this computer:", network=title))
    else:
        st.markdown(_("**Two ways out:** add a weights file for {network} on the Model page, or use a network whose "
                      "weights are on this computer (none yet).", network=title))
    for name in here:
        st.button(_("Use {network}", network=_(BACKBONES[name].title)), key=f"understand_use_{name}", icon=":material/swap_horiz:",
                  on_click=st.session_state.__setitem__, args=("understand_backbone", name))
    navigation.link("model", _("Add a weights file on the Model page"), icon=":material/tune:")


# -- the maps ---------------------------------------------------------------------------------------------
def maps_job(data, backbone: str, weights: str, size: int):
    """This picture set's maps with this network: the job already made, or a new one (which reuses
    the features an older job has for the same pictures, so a moved picture redraws at once)."""
    from tlcore.understand.maps import MapsJob

    job = st.session_state.get(MAPS)
    if job is None or not job.fits(data, backbone, weights, size):
        job = MapsJob(data, backbone, weights, size, reuse=job).start()
        st.session_state[MAPS] = job
    return job


def jobs() -> list:
    return [job for key in (MAPS, RUN_MAP) if (job := st.session_state.get(key)) is not None]


def drawn_now() -> tuple:
    """What the jobs had ready when the page was drawn: the watcher redraws when this changes."""
    return tuple((id(job), frozenset(job.ready), job.finished) for job in jobs())


@st.fragment(run_every=1.0)
def watch_section() -> None:
    """A progress bar while a map is made; the whole page is drawn again as each part is ready."""
    if drawn_now() != st.session_state.get(DRAWN):
        st.rerun()
    for job in jobs():
        if not job.finished:
            snap = job.snapshot()
            total = max(snap["total"], 1)
            stage = _(STAGE_WORDS.get(snap["stage"], N_("Working…")))
            text = _n("{stage} {done} of {count} picture", "{stage} {done} of {count} pictures", snap["total"],
                      stage=stage, done=snap["done"]) if snap["total"] else stage
            st.progress(min(snap["done"] / total, 1.0), text=text)


def maps_section(job, weights: str) -> None:
    if job.error:
        st.error(tr(job.error))
    name = "ImageNet" if weights == "imagenet" else "pretrained"
    st.markdown(f'<p class="tl-legend">{figures.colour_key_html(job.class_names)}</p>', unsafe_allow_html=True)
    left, right = st.columns(2, gap="medium")
    with left:
        draw_map(job.pretrained_map, job, range(len(job.labels)),
                 _("ImageNet weights") if name == "ImageNet" else _("Pretrained weights"), "understand_map_pretrained")
    with right:
        sample = len(job.random_rows) < len(job.labels)
        draw_map(job.random_map, job, job.random_rows,
                 _n("Random weights ({count} picture)", "Random weights ({count} pictures)", len(job.random_rows)) if sample else _("Random weights"),
                 "understand_map_random")
    if job.pretrained_map is not None and job.random_map is not None:
        from tlcore.understand import separation_sentence

        widgets.lead(tr(separation_sentence(job.pretrained_map, job.random_map, name)))
    st.caption(_("The same network twice: left with what it learned from ImageNet's photos, right from random "
                 "weights. Separate groups mean a new head can learn your classes from a few pictures. Hover over a "
                 "dot to see which picture it is; click it to open the picture. The map flattens all the network "
                 "finds in a picture onto a page, so closeness is only roughly kept."))


def draw_map(embedding, job, rows, title: str, key: str) -> None:
    if embedding is None:
        st.markdown(f"**{title}**")
        st.caption(_("Being drawn…"))
        return
    rows = list(rows)
    figure = figures.embedding_figure(embedding.coords, job.labels[rows], job.class_names,
                                      [job.names[i] for i in rows], rows, title, legend=False)
    event = st.plotly_chart(figure, key=key, config=figures.CHART_CONFIG, on_select="rerun",
                            selection_mode="points")
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points and points[0].get("customdata"):
        st.session_state["understand_picked"] = int(points[0]["customdata"][0])


def picked_section(job, data) -> None:
    index = st.session_state.get("understand_picked")
    if index is None or index >= len(data):
        return
    picture, thumb = st.columns([1, 4], vertical_alignment="center")
    class_name = data.class_names[data.labels[index]]
    picture.image(data.pixels()[index], width=180,
                  alt=_("{file}, a picture of the class {name}", file=data.names[index], name=class_name))
    thumb.markdown(_("**{file}** · class **{name}**", file=words.md(data.names[index]), name=words.md(class_name)))
    if st.button(_("Close"), key="understand_close_picked", icon=":material/close:"):
        st.session_state.pop("understand_picked", None)
        st.rerun()


# -- labels that look wrong -------------------------------------------------------------------------------
HONEST_CHECK = 0.9  # below this score, the list holds more hard pictures than wrong labels


def suspects_section(job, data) -> None:
    st.header(_("Pictures whose label looks wrong"))
    if job.suspects is None:
        st.caption(_("Every picture's label is being checked…") if not job.error else _("The check could not run."))
        return
    checked = "suspects" in job.ready
    if checked and not job.suspects and not job.off_topic:
        st.success(_("Every picture looks like its own class to a check that never saw it. Nothing to fix."))
        return
    if not checked:
        st.caption(_("Checking the labels again after your change… (the list below is the last one, less what "
                     "you changed)"))
    st.markdown(_n("A small classifier that never saw the picture puts **{count} picture** of {total} in another "
                   "class than its own; **{unlike}** look unlike every other picture. Most likely mistakes first: "
                   "move each to the class it looks like, remove it, or leave it.",
                   "A small classifier that never saw the picture puts **{count} pictures** of {total} in another "
                   "class than its own; **{unlike}** look unlike every other picture. Most likely mistakes first: "
                   "move each to the class it looks like, remove it, or leave it.",
                   len(job.suspects), total=len(data), unlike=len(job.off_topic)))
    right = 1 - len(job.suspects) / max(len(data), 1)  # the check's own out-of-fold score
    if right < HONEST_CHECK:
        st.warning(_("The check itself gets only {percent} of these pictures right, so most of the list are hard "
                     "pictures, not wrong labels: look at each one before you move or remove it.",
                     percent=Percent(right)))
    for rank, suspect in enumerate(job.suspects[:SUSPECTS_SHOWN]):
        name = job.names[suspect.index]
        suspect_row(f"understand_suspect_{rank}", name, suspect, data,
                    _("**{file}** is in **{given}** but looks like **{looks_like}** (the check gives its own class "
                      "{percent})", file=words.md(name), given=words.md(suspect.given),
                      looks_like=words.md(suspect.looks_like), percent=Percent(suspect.given_probability)))
    if len(job.suspects) > SUSPECTS_SHOWN:
        st.caption(_n("…and {count} more, each less likely to be a mistake.",
                        "…and {count} more, each less likely to be a mistake.", len(job.suspects) - SUSPECTS_SHOWN))
    if job.off_topic:
        st.subheader(_("Pictures unlike all the others"))
        st.caption(_("Perhaps not of any of your classes at all (a door among flowers): remove them, or make an "
                     "“other” class for such pictures."))
        for rank, suspect in enumerate(job.off_topic[:SUSPECTS_SHOWN]):
            name = job.names[suspect.index]
            suspect_row(f"understand_offtopic_{rank}", name, suspect, data,
                        _("**{file}** is in **{given}**; its nearest pictures are mostly **{looks_like}**",
                          file=words.md(name), given=words.md(suspect.given), looks_like=words.md(suspect.looks_like)))


def suspect_row(key: str, name: str, suspect, data, text: str) -> None:
    """The picture, what is wrong with it (``text``: a whole sentence naming it), and the two ways
    to fix it (buttons one above the other, so a long class name is never cut off)."""
    picture, about, actions = st.columns([1, 4, 2], vertical_alignment="center")
    if name in data.names:
        picture.image(data.pixels()[data.names.index(name)], width=88,
                      alt=_("{file}, a picture of the class {name}", file=name, name=suspect.given))
    about.markdown(text)
    if suspect.looks_like != suspect.given:
        actions.button(_("Move to {name}", name=suspect.looks_like), key=f"{key}_move", icon=":material/drive_file_move:",
                       on_click=move_picture, args=(name, suspect.looks_like), width="stretch")
    actions.button(_("Remove"), key=f"{key}_remove", icon=":material/delete:", on_click=remove_picture, args=(name,),
                   width="stretch")


def move_picture(name: str, to_class: str) -> None:
    """A button's callback: the picture set with ``name`` in ``to_class`` (the maps redraw from the
    features already computed: the pictures are the same, in the same order)."""
    try:
        changed = state.dataset().moved(name, to_class)
    except ValueError as error:
        widgets.flash(FLASH, "error", tr(error))
        return
    state.set_dataset(changed, state.dataset_name())
    widgets.flash(FLASH, "success", _("Moved {file} to {name}.", file=name.split("/", 1)[-1], name=to_class))


def remove_picture(name: str) -> None:
    try:
        changed = state.dataset().without(names=[name])
    except ValueError as error:  # unknown picture, or a class left too small to train (DatasetError)
        widgets.flash(FLASH, "error", tr(error))
        return
    state.set_dataset(changed, state.dataset_name())
    widgets.flash(FLASH, "success", _("Removed {file} from the picture set (the file itself is kept).", file=name))


# -- a trained model's map --------------------------------------------------------------------------------
def run_map_section(data) -> None:
    st.header(_("After training: what a trained model sees"))
    runs = [run for run in state.all_runs() if run.path is not None]
    if not runs:
        st.caption(_("Train a model (Train page) to see how training, above all fine-tuning, moves the pictures."))
        return
    picked = widgets.run_picker(runs, "understand_run", _("Trained model"))
    job = st.session_state.get(RUN_MAP)
    if job is None or not job.fits(picked, data):
        if st.button(_("Draw this model's map"), key="understand_run_draw", icon=":material/scatter_plot:"):
            from tlcore.understand.maps import RunMapJob

            st.session_state[RUN_MAP] = RunMapJob(picked, data).start()
            st.rerun()
        return
    if job.error:
        st.error(tr(job.error))
    if list(picked.class_names) != list(data.class_names):
        st.caption(_("This model learned other classes ({names}): the dots are coloured by your current classes.",
                     names=", ".join(map(words.md, picked.class_names))))
    if job.map is not None:
        st.markdown(_("As this model sees them, {percent} of the pictures are closer to their own class's average "
                      "than to any other.", percent=Percent(job.map.separation)))
        if head_only(picked):
            st.caption(_("Only this model's new head learned: the network before it is unchanged, so it sees "
                         "your pictures as the pretrained map above does. Let its top blocks learn (Model page, "
                         "**Which blocks learn?**) and train again to see training move the pictures."))
        st.markdown(f'<p class="tl-legend">{figures.colour_key_html(data.class_names)}</p>', unsafe_allow_html=True)
        draw_map(job.map, job_view(job, data), range(len(data)), _("As the trained model sees them"),
                 "understand_map_run")


def head_only(run) -> bool:
    """A run trained here whose pretrained network stayed frozen (only the new head learned)."""
    record = run.record
    return (record.learning_blocks == 0 and not record.from_scratch
            and record.weights not in ("teachable-machine", "imported"))


def job_view(job, data):
    """What draw_map reads (labels, class and picture names) for a trained model's map."""
    from types import SimpleNamespace

    return SimpleNamespace(labels=job.labels, class_names=list(data.class_names), names=list(data.names))
