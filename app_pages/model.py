"""Model: choose the pretrained network, its starting weights, how much of it learns, and
the training settings. The settings are stored (a TrainingSettings) for the Train page.

The widgets start from the stored settings; another page that replaces them (a lesson, a
Teachable Machine network) renews this page's widgets with ``state.renew_widgets("model")``.
"""

from __future__ import annotations

import streamlit as st

from studio import figures, navigation, state, widgets
from studio.words import plural
from tlcore.backbones import BACKBONES, add_to_library, imagenet_weights_cached, library_weights_file
from tlcore.data import safe_name
from tlcore.settings import TrainingSettings

AUGMENT_LABELS = {
    "flip": "Flip left ↔ right",
    "rotation": "Turn a little",
    "zoom": "Zoom in a little",
    "contrast": "Change the contrast",
}
WEIGHT_LABELS = {
    "imagenet": "ImageNet (pretrained on 1.2 million photos)",
    "file": "Weights file you added",
    "none": "None — from scratch (needs far more pictures and time)",
}
SIZES = (96, 128, 160, 192, 224, 256, 299)
BATCH_SIZES = ("Auto", 8, 16, 32, 64, 128)
LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
SPEEDS = "model_speed_ms"  # backbone -> milliseconds for one picture, measured here
PENDING_WEIGHTS = "model_weights_next"  # the weights choice to show after a file was added


def key(name: str) -> str:
    return state.widget_key("model", name)


def seed(name: str, value) -> str:
    """The widget ``name``'s key, given its starting value from the stored settings."""
    widget = key(name)
    if widget not in st.session_state:
        st.session_state[widget] = value
    return widget


def render() -> None:
    data = state.ensure_dataset()
    saved = state.settings()
    n_classes = len(data.class_names)
    st.title("Choose the network to reuse")
    widgets.lead("Pick a network pretrained on ImageNet, decide where its starting knowledge comes from, "
                 "and how many of its top blocks may adjust to your pictures.")
    left, right = st.columns([1, 2], gap="large")
    with left:
        backbone = backbone_choice(saved)
    spec = BACKBONES[backbone]
    with right:
        network_card(spec, chosen=True)
        speed_line(spec)
        sizes = size_options(spec, saved)
        choice = weights_choice(spec, saved)
    compare_networks(backbone)
    scratch = choice == "none"
    depth = blocks_section(spec, n_classes, saved, scratch)
    epochs, fine_tune_epochs = epochs_section(saved, depth, scratch)
    augment = augmentation_section(data, saved, every_epoch=scratch or (depth > 0 and fine_tune_epochs > 0))
    size, batch_size, learning_rate = advanced_section(sizes, saved)
    library_file = library_weights_file(spec)
    settings = TrainingSettings(
        backbone=backbone, weights=str(library_file) if choice == "file" and library_file else choice,
        input_size=None if size == spec.input_size else int(size), learning_blocks=0 if scratch else int(depth),
        epochs=int(epochs), fine_tune_epochs=0 if scratch or depth == 0 else int(fine_tune_epochs),
        batch_size="auto" if batch_size == "Auto" else int(batch_size), learning_rate=float(learning_rate),
        augment=augment,
    )
    state.set_settings(settings)
    plan_section(settings, len(data))


# -- the network and its weights ----------------------------------------------------------------------
def backbone_choice(saved: TrainingSettings) -> str:
    names = list(BACKBONES)
    return st.radio(
        "Network", names, key=seed("backbone", saved.backbone), format_func=lambda n: BACKBONES[n].title,
        captions=[f"{BACKBONES[n].size_mb:.0f} MB · about {BACKBONES[n].pictures_per_second:g} pictures/s"
                  for n in names],
    )


def network_card(spec, chosen: bool = False) -> None:
    with st.container(border=True):
        st.markdown(f"#### {'✔ ' if chosen else ''}{spec.title} · {spec.card.year}")
        st.markdown(spec.card.summary)
        st.markdown(f"**Strength:** {spec.card.strength}  \n**Cost:** {spec.card.cost}")
        st.caption(f"Weights: {spec.size_mb:.0f} MB · pictures of {spec.input_size}×{spec.input_size} pixels · "
                   f"about {spec.pictures_per_second:g} pictures a second on a typical laptop")
        st.caption(weights_status(spec))


def compare_networks(backbone: str) -> None:
    with st.expander(f"Compare all {len(BACKBONES)} networks", expanded=False):
        grid = st.columns(3)
        for i, name in enumerate(BACKBONES):
            with grid[i % 3]:
                network_card(BACKBONES[name], chosen=name == backbone)


def weights_status(spec, size: int | None = None) -> str:
    if not spec.pretrained:
        return ":material/casino: No pretrained weights: it always starts from random weights."
    if imagenet_weights_cached(spec, size):
        return ":material/check_circle: ImageNet weights are on this computer."
    if library_weights_file(spec) is not None:
        return ":material/description: A weights file you added is on this computer."
    return (":material/cloud_download: ImageNet weights are not on this computer yet "
            "(they need an internet connection once).")


def speed_line(spec) -> None:
    measured = st.session_state.setdefault(SPEEDS, {})
    if spec.name in measured:
        st.markdown(f"**On this computer:** {measured[spec.name]:.0f} ms to answer for one picture "
                    f"(about {1000 / measured[spec.name]:.0f} pictures a second, one at a time).")
    elif st.button(f"Measure {spec.short_title}'s speed on this computer", key="model_measure_speed",
                   icon=":material/speed:"):
        from tlcore.speed import prediction_milliseconds

        with st.spinner("Timing one picture…"):
            measured[spec.name] = prediction_milliseconds(spec.name)
        st.rerun()


def size_options(spec, saved: TrainingSettings) -> list[int]:
    """The picture sizes this network takes; the size widget starts at the stored or usual size."""
    sizes = sorted({s for s in SIZES if s >= spec.min_input_size} | {spec.input_size})
    size_key, for_key = key("size"), key("size_backbone")
    if size_key not in st.session_state or st.session_state.get(for_key) != spec.name:
        same = saved.backbone == spec.name and saved.input_size
        st.session_state[size_key] = int(saved.input_size) if same else spec.input_size
    st.session_state[for_key] = spec.name
    if st.session_state[size_key] not in sizes:
        st.session_state[size_key] = spec.input_size
    return sizes


def weights_choice(spec, saved: TrainingSettings) -> str:
    """"imagenet", "file" or "none", with what that means here and a way to add a file."""
    if not spec.pretrained:  # a network that only ever trains from scratch: nothing to choose
        st.info(f"{spec.title} has never seen ImageNet: it always starts from random weights. Train it beside "
                "a pretrained network to see what transfer learning brings.")
        return "none"
    options = ["imagenet"] + (["file"] if library_weights_file(spec) else []) + ["none"]
    widget = seed("weights", saved.weights if saved.weights in ("imagenet", "none") else "file")
    if PENDING_WEIGHTS in st.session_state:
        st.session_state[widget] = st.session_state.pop(PENDING_WEIGHTS)
    if st.session_state[widget] not in options:
        st.session_state[widget] = "imagenet"
    cached = imagenet_weights_cached(spec, st.session_state[key("size")])
    chosen_for = key("weights_backbone")
    if st.session_state.get(chosen_for) != spec.name:  # a network just chosen, or the page's first run
        st.session_state[chosen_for] = spec.name
        if st.session_state[widget] == "imagenet" and "file" in options and not cached:
            # Offline, ImageNet would fail at Start: begin from the weights file that is on this computer.
            st.session_state[widget] = "file"
    choice = st.radio("Starting weights", options, key=widget, format_func=WEIGHT_LABELS.get)
    if choice == "imagenet" and cached:
        st.success(f"The ImageNet weights for {spec.title} are on this computer: ready to go.")
    elif choice == "imagenet":
        st.warning(f"The ImageNet weights for {spec.title} are not on this computer yet. With an internet "
                   f"connection they download once (about {spec.size_mb:.0f} MB) when training starts. "
                   "No internet here? Two ways out: **add a weights file** below, or choose "
                   "**None — from scratch** (needs far more pictures and time).")
    elif choice == "file":
        st.info(f"Starting from the weights file you added for {spec.title}.")
    else:
        st.warning("From scratch, the network knows nothing at the start: every block learns from your "
                   "pictures alone. Expect much lower accuracy with a few pictures — a good way to "
                   "show why transfer learning helps.")
    with st.expander(f"Add a weights file for {spec.title}", expanded=choice == "imagenet" and not cached):
        weights_file_upload(spec)
    return choice


def weights_file_upload(spec) -> None:
    st.markdown(f"A Keras weights file (`.weights.h5` or `.h5`) made for **{spec.title}** without "
                "its top, for example copied from a computer with internet. It is checked, then kept "
                "on this computer for next time.")
    upload = st.file_uploader("Weights file", type=["h5"], key=key(f"weights_file_{spec.name}"))
    if upload is None or st.session_state.get("model_weights_file_done") == upload.file_id:
        return
    st.session_state["model_weights_file_done"] = upload.file_id
    # Kept under the user's own file name, so a message about it names the file they chose.
    target = state.work_dir() / f"weights-upload-{spec.name}" / safe_name(upload.name, f"{spec.name}.h5")
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(upload.getvalue())
    try:
        with st.spinner("Checking that the file fits this network…"):
            add_to_library(spec, target)  # converts the older .h5 format too
    except (ValueError, OSError) as error:
        st.error(str(error))
        return
    finally:
        target.unlink(missing_ok=True)
    st.session_state[PENDING_WEIGHTS] = "file"
    st.rerun()


# -- how much of the network learns, and how long ------------------------------------------------------
def blocks_section(spec, n_classes: int, saved: TrainingSettings, scratch: bool) -> int:
    """The slider of top blocks that learn, the blocks picture and the parameter counts."""
    st.header("Which blocks learn?")
    from tlcore.model.plan import learning_plan  # TensorFlow loads here, not before the cards

    with st.spinner(f"Looking inside {spec.title}…"):
        num_blocks = learning_plan(spec.name, n_classes, 0).num_blocks
    if scratch:
        depth = num_blocks
        st.info(f"From scratch, all {num_blocks} blocks of {spec.title} learn, from the first epoch.")
    else:
        widget = seed("depth", min(saved.learning_blocks, num_blocks))
        st.session_state[widget] = min(st.session_state[widget], num_blocks)
        depth = st.slider(
            f"Top blocks that learn during fine-tuning (0 to {num_blocks})", 0, num_blocks, key=widget,
            on_change=keep_fine_tuning_consistent,
            help="0: feature extraction, only the new head learns. More: the top blocks adjust too.",
        )
    plan = learning_plan(spec.name, n_classes, depth, from_scratch=scratch)
    picture_column, numbers_column = st.columns([3, 2], gap="large")
    with picture_column:
        st.plotly_chart(
            figures.blocks_figure(plan.blocks, plan.head_params, n_classes,
                                  f"The {num_blocks} blocks, and the new head"),
            key="model_blocks_chart", config=figures.CHART_CONFIG)
        st.markdown(f'<p class="tl-legend">{figures.blocks_key_html()}</p>', unsafe_allow_html=True)
    with numbers_column:
        parameter_counts(plan, n_classes, depth, scratch)
    return depth


def keep_fine_tuning_consistent() -> None:
    """Fine-tuning is what lets the top blocks learn: keep the two settings consistent."""
    depth, ft_epochs = key("depth"), key("ft_epochs")
    if st.session_state.get(depth, 0) == 0:
        st.session_state[ft_epochs] = 0
    elif st.session_state.get(ft_epochs, 0) == 0:
        st.session_state[ft_epochs] = 3


def parameter_counts(plan, n_classes: int, depth: int, scratch: bool) -> None:
    st.metric("Parameters that learn", f"{plan.learning_params:,}",
              help="The new head, plus the blocks that may learn. Normalisation layers stay frozen "
                   "when starting from pretrained weights.")
    st.metric("Parameters that stay frozen", f"{plan.frozen_params:,}")
    st.metric(f"New head ({n_classes} classes)", f"{plan.head_params:,}")
    if scratch:
        st.markdown("Every parameter starts random and learns.")
    elif depth == 0:
        st.markdown("**Feature extraction.** The whole network is frozen: each picture goes through it "
                    "once, and only the new head learns. Fast and safe with few pictures.")
    else:
        st.markdown(f"**Fine-tuning.** First the new head learns on its own; then the top "
                    f"{plural(depth, 'block')} learn too, with a learning rate ten times smaller, "
                    "so they adjust without forgetting ImageNet.")


def epochs_section(saved: TrainingSettings, depth: int, scratch: bool) -> tuple[int, int]:
    st.header("Training")
    epochs_key = seed("epochs", saved.epochs)
    ft_key = seed("ft_epochs", saved.resolved_fine_tune_epochs)
    if depth == 0 and not scratch:
        st.session_state[ft_key] = 0  # fine-tuning needs at least one learning block
    epochs_column, ft_column = st.columns(2)
    epochs = epochs_column.number_input("Epochs (passes over the training pictures)", 1, 200, step=1, key=epochs_key)
    with ft_column:
        if scratch:
            st.caption("Fine-tuning does not apply when training from scratch.")
            return epochs, 0
        fine_tune_epochs = st.number_input(
            "Fine-tuning epochs (after the head)", 0, 200, step=1, key=ft_key, disabled=depth == 0,
            help="Only meaningful when at least one top block learns (slider above at 1 or more).")
        if depth == 0:
            st.caption("Fine-tuning needs at least one learning block: move the slider above to 1 or more.")
        elif fine_tune_epochs == 0:
            st.caption("With 0 fine-tuning epochs the top blocks never get to learn.")
    return epochs, fine_tune_epochs


def augmentation_section(data, saved: TrainingSettings, every_epoch: bool) -> list[str]:
    """``every_epoch``: the pictures must be changed anew each epoch (fine-tuning or from scratch)."""
    st.subheader("Augmentation: show slightly changed pictures each epoch")
    augment = []
    for column, (name, label) in zip(st.columns(len(AUGMENT_LABELS)), AUGMENT_LABELS.items()):
        with column:
            if st.toggle(label, key=seed(f"aug_{name}", name in saved.augment)):
                augment.append(name)
    if augment:
        st.caption(augmentation_words(saved.augment_views, every_epoch))
        augmentation_examples(data, augment)
    return augment


def augmentation_words(views: int, every_epoch: bool) -> str:
    """What augmentation costs with these settings (as the trainer does it: tlcore.settings)."""
    if every_epoch or views <= 0:
        return ("Augmentation helps with few pictures, but makes training slower: with blocks that learn, "
                "every picture is changed anew and goes through the whole network in every epoch.")
    return (f"Augmentation helps with few pictures. Each picture and {plural(views, 'changed copy', 'changed copies')} "
            "of it go through the frozen network once, so training stays quick.")


def augmentation_examples(data, augment: list[str]) -> None:
    """Each row: a picture, then how the network may see it in three different epochs."""
    examples = [int((data.labels == label).argmax()) for label in range(min(3, len(data.class_names)))]
    if st.button("Show other examples", key="model_aug_again"):
        st.session_state["model_aug_round"] = st.session_state.get("model_aug_round", 0) + 1
    with st.spinner("Changing a few pictures…"):
        originals = data.pixels()[examples][:, ::2, ::2]
        start = 3 * st.session_state.get("model_aug_round", 0)
        variants = [figures.augmented(originals, augment, start + k) for k in range(3)]
    st.markdown("**Each row: the original, then how the network may see it in three different epochs**")
    for row, original in enumerate(originals):
        widgets.thumbnails([original] + [variant[row] for variant in variants], width=150,
                           captions=["original", "epoch A", "epoch B", "epoch C"])


def advanced_section(sizes: list[int], saved: TrainingSettings) -> tuple[int, object, float]:
    with st.expander("Advanced"):
        size = st.select_slider("Picture size (pixels): smaller is faster, larger sees more detail", sizes,
                                key=key("size"))
        auto = saved.auto_batch or saved.batch_size not in BATCH_SIZES
        batch_size = st.select_slider("Batch size (pictures per learning step)", BATCH_SIZES,
                                      key=seed("batch", "Auto" if auto else saved.batch_size))
        nearest = min(LEARNING_RATES, key=lambda lr: abs(lr - saved.learning_rate))
        learning_rate = st.select_slider("Learning rate (size of each learning step)", LEARNING_RATES,
                                         key=seed("lr", nearest), format_func=lambda lr: f"{lr:g}")
    return size, batch_size, learning_rate


def plan_section(settings: TrainingSettings, pictures: int) -> None:
    st.header("What will happen")
    spec = settings.spec
    if settings.from_scratch:
        steps = [f"All blocks of {spec.title} start random and learn from your {pictures} pictures "
                 f"for {plural(settings.epochs, 'epoch')}."]
    else:
        if not settings.augment:
            first = "Each picture goes once through the frozen network (the fast path), then the new head learns"
        elif settings.uses_augmented_views:
            first = (f"Each picture and {plural(settings.augment_views, 'changed copy', 'changed copies')} of it go "
                     "once through the frozen network, then the new head learns on them")
        else:
            first = "The new head learns on pictures changed anew each epoch"
        steps = [f"{first} for {plural(settings.epochs, 'epoch')}."]
        if settings.uses_fine_tuning:
            steps.append(f"Then the top {plural(settings.learning_blocks, 'block')} learn too, for "
                         f"{plural(settings.resolved_fine_tune_epochs, 'epoch')}, with a learning rate of "
                         f"{settings.resolved_fine_tune_learning_rate:g}.")
    steps.append("One picture in five of each class is held back to check the model on pictures it never "
                 "learned from (validation).")
    st.markdown("\n".join(f"{i}. {text}" for i, text in enumerate(steps, start=1)))
    navigation.link("train", "Next: train it")
