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
from tlcore.backbones import BACKBONES
from tlcore.understand.features import weights_here

MAPS = "understand_maps_job"
RUN_MAP = "understand_run_map_job"
DRAWN = "understand_drawn"  # what the last full run drew, so the watcher knows when to redraw
FLASH = "understand_flash"
SIZES = (96, 128, 160, 224)
SUSPECTS_SHOWN = 6
STAGE_WORDS = {"waiting": "Getting ready…", "pretrained": "Looking at each picture with the pretrained network…",
               "random": "The same with random weights…", "suspects": "Checking every picture's label…",
               "run": "Looking at each picture with the trained model…"}


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
    if "understand_backbone" not in st.session_state:  # Streamlit forgets a widget on other pages
        st.session_state["understand_backbone"] = st.session_state.get("understand_backbone_kept") or \
            default_backbone(pretrained)
    st.title("What the network sees", anchor=False)
    # Compact, for a projector: one line of words beside the choices, so both maps fit 1280×720.
    about, network, size_column = st.columns([3, 2, 1], vertical_alignment="bottom")
    backbone = network.selectbox("Network", pretrained, key="understand_backbone",
                                 format_func=lambda name: BACKBONES[name].short_title)
    spec = BACKBONES[backbone]
    sizes = sorted({s for s in SIZES if s >= spec.min_input_size} | {spec.input_size})
    chosen = state.settings()
    if st.session_state.get("understand_size", st.session_state.get("understand_size_kept")) not in sizes:
        same = chosen.backbone == backbone and chosen.input_size in sizes
        st.session_state["understand_size"] = chosen.input_size if same else spec.input_size
    elif "understand_size" not in st.session_state:
        st.session_state["understand_size"] = st.session_state["understand_size_kept"]
    size = size_column.selectbox("Picture size", sizes, key="understand_size", format_func=lambda s: f"{s}×{s}")
    st.session_state["understand_backbone_kept"], st.session_state["understand_size_kept"] = backbone, size
    about.markdown(f"Each dot is one of your pictures (**{words.md(state.dataset_name())}**, "
                   f"{words.plural(len(data), 'picture')}): pictures the network finds alike land close together.")
    return backbone, int(size)


def default_backbone(pretrained: list[str]) -> str:
    """The Model page's network if its weights are here, else the first network whose weights are."""
    chosen = state.settings().backbone
    for name in [chosen] + pretrained:
        if name in pretrained and weights_here(name) is not None:
            return name
    return chosen if chosen in pretrained else pretrained[0]


def missing_weights_section(backbone: str, size: int) -> None:
    title = BACKBONES[backbone].title
    st.warning(f"The ImageNet weights for {title} are not on this computer, and they cannot be downloaded here "
               "(no internet connection?). The map needs them: it shows what a *pretrained* network sees.")
    here = [name for name, spec in BACKBONES.items() if spec.pretrained and weights_here(name, size) is not None]
    st.markdown(f"**Two ways out:** add a weights file for {title} on the Model page, or use a network whose "
                "weights are on this computer" + (":" if here else " (none yet)."))
    for name in here:
        st.button(f"Use {BACKBONES[name].title}", key=f"understand_use_{name}", icon=":material/swap_horiz:",
                  on_click=st.session_state.__setitem__, args=("understand_backbone", name))
    navigation.link("model", "Add a weights file on the Model page", icon=":material/tune:")


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
            counted = f" {snap['done']:,} of {words.plural(snap['total'], 'picture')}" if snap["total"] else ""
            st.progress(min(snap["done"] / total, 1.0), text=STAGE_WORDS.get(snap["stage"], "Working…") + counted)


def maps_section(job, weights: str) -> None:
    if job.error:
        st.error(job.error)
    name = "ImageNet" if weights == "imagenet" else "pretrained"
    st.markdown(f'<p class="tl-legend">{figures.colour_key_html(job.class_names)}</p>', unsafe_allow_html=True)
    left, right = st.columns(2, gap="medium")
    with left:
        draw_map(job.pretrained_map, job, range(len(job.labels)), f"{name.capitalize()} weights",
                 "understand_map_pretrained")
    with right:
        sample = f" ({len(job.random_rows)} pictures)" if len(job.random_rows) < len(job.labels) else ""
        draw_map(job.random_map, job, job.random_rows, f"Random weights{sample}", "understand_map_random")
    if job.pretrained_map is not None and job.random_map is not None:
        from tlcore.understand import separation_sentence

        widgets.lead(separation_sentence(job.pretrained_map, job.random_map, name))
    st.caption("The same network twice: left with what it learned from ImageNet's photos, right from random "
               "weights. Separate groups mean a new head can learn your classes from a few pictures. Hover over a "
               "dot to see which picture it is; click it to open the picture. The map flattens all the network "
               "finds in a picture onto a page, so closeness is only roughly kept.")


def draw_map(embedding, job, rows, title: str, key: str) -> None:
    if embedding is None:
        st.markdown(f"**{title}**")
        st.caption("Being drawn…")
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
    picture.image(data.pixels()[index], width=180)
    thumb.markdown(f"**{words.md(data.names[index])}** · class **{words.md(data.class_names[data.labels[index]])}**")
    if st.button("Close", key="understand_close_picked", icon=":material/close:"):
        st.session_state.pop("understand_picked", None)
        st.rerun()


# -- labels that look wrong -------------------------------------------------------------------------------
HONEST_CHECK = 0.9  # below this score, the list holds more hard pictures than wrong labels


def suspects_section(job, data) -> None:
    st.header("Pictures whose label looks wrong")
    if job.suspects is None:
        st.caption("Every picture's label is being checked…" if not job.error else "The check could not run.")
        return
    checked = "suspects" in job.ready
    if checked and not job.suspects and not job.off_topic:
        st.success("Every picture looks like its own class to a check that never saw it. Nothing to fix.")
        return
    if not checked:
        st.caption("Checking the labels again after your change… (the list below is the last one, less what "
                   "you changed)")
    st.markdown(f"A small classifier that never saw the picture puts **{words.plural(len(job.suspects), 'picture')}** "
                f"of {len(data)} in another class than its own; **{len(job.off_topic)}** look unlike every other "
                "picture. Most likely mistakes first: move each to the class it looks like, remove it, or leave it.")
    right = 1 - len(job.suspects) / max(len(data), 1)  # the check's own out-of-fold score
    if right < HONEST_CHECK:
        st.warning(f"The check itself gets only {right:.0%} of these pictures right, so most of the list are hard "
                   "pictures, not wrong labels: look at each one before you move or remove it.")
    for rank, suspect in enumerate(job.suspects[:SUSPECTS_SHOWN]):
        suspect_row(f"understand_suspect_{rank}", job.names[suspect.index], suspect, data,
                    f"is in **{words.md(suspect.given)}** but looks like **{words.md(suspect.looks_like)}** "
                    f"(the check gives its own class {suspect.given_probability:.0%})")
    if len(job.suspects) > SUSPECTS_SHOWN:
        st.caption(f"…and {len(job.suspects) - SUSPECTS_SHOWN} more, each less likely to be a mistake.")
    if job.off_topic:
        st.subheader("Pictures unlike all the others")
        st.caption("Perhaps not of any of your classes at all (a door among flowers): remove them, or make an "
                   "“other” class for such pictures.")
        for rank, suspect in enumerate(job.off_topic[:SUSPECTS_SHOWN]):
            suspect_row(f"understand_offtopic_{rank}", job.names[suspect.index], suspect, data,
                        f"is in **{words.md(suspect.given)}**; its nearest pictures are mostly "
                        f"**{words.md(suspect.looks_like)}**")


def suspect_row(key: str, name: str, suspect, data, text: str) -> None:
    """The picture, what is wrong with it, and the two ways to fix it (buttons one above the other,
    so a long class name is never cut off)."""
    picture, about, actions = st.columns([1, 4, 2], vertical_alignment="center")
    if name in data.names:
        picture.image(data.pixels()[data.names.index(name)], width=88)
    about.markdown(f"**{words.md(name)}** {text}")
    if suspect.looks_like != suspect.given:
        actions.button(f"Move to {suspect.looks_like}", key=f"{key}_move", icon=":material/drive_file_move:",
                       on_click=move_picture, args=(name, suspect.looks_like), width="stretch")
    actions.button("Remove", key=f"{key}_remove", icon=":material/delete:", on_click=remove_picture, args=(name,),
                   width="stretch")


def move_picture(name: str, to_class: str) -> None:
    """A button's callback: the picture set with ``name`` in ``to_class`` (the maps redraw from the
    features already computed: the pictures are the same, in the same order)."""
    from tlcore.understand.relabel import moved_picture

    try:
        changed = moved_picture(state.dataset(), name, to_class)
    except ValueError as error:
        widgets.flash(FLASH, "error", str(error))
        return
    state.set_dataset(changed, state.dataset_name())
    widgets.flash(FLASH, "success", f"Moved {name.split('/', 1)[-1]} to {to_class}.")


def remove_picture(name: str) -> None:
    try:
        changed = state.dataset().without(names=[name])
    except ValueError as error:  # unknown picture, or a class left too small to train (DatasetError)
        widgets.flash(FLASH, "error", str(error))
        return
    state.set_dataset(changed, state.dataset_name())
    widgets.flash(FLASH, "success", f"Removed {name} from the picture set (the file itself is kept).")


# -- a trained model's map --------------------------------------------------------------------------------
def run_map_section(data) -> None:
    st.header("After training: what a trained model sees")
    runs = [run for run in state.all_runs() if run.path is not None]
    if not runs:
        st.caption("Train a model (Train page) to see how training, above all fine-tuning, moves the pictures.")
        return
    picked = widgets.run_picker(runs, "understand_run", "Trained model")
    job = st.session_state.get(RUN_MAP)
    if job is None or not job.fits(picked, data):
        if st.button("Draw this model's map", key="understand_run_draw", icon=":material/scatter_plot:"):
            from tlcore.understand.maps import RunMapJob

            st.session_state[RUN_MAP] = RunMapJob(picked, data).start()
            st.rerun()
        return
    if job.error:
        st.error(job.error)
    if list(picked.class_names) != list(data.class_names):
        st.caption(f"This model learned other classes ({', '.join(map(words.md, picked.class_names))}): the dots "
                   "are coloured by your current classes.")
    if job.map is not None:
        st.markdown(f"As this model sees them, {job.map.separation:.0%} of the pictures are closer to their own "
                    "class's average than to any other.")
        if head_only(picked):
            st.caption("Only this model's new head learned: the network before it is unchanged, so it sees "
                       "your pictures as the pretrained map above does. Let its top blocks learn (Model page, "
                       "**Which blocks learn?**) and train again to see training move the pictures.")
        st.markdown(f'<p class="tl-legend">{figures.colour_key_html(data.class_names)}</p>', unsafe_allow_html=True)
        draw_map(job.map, job_view(job, data), range(len(data)), "As the trained model sees them",
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
