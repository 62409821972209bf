"""Model: choose the pretrained network, its starting weights, how much of it learns, and
the training settings. The settings are stored for the Train page."""

from __future__ import annotations


import streamlit as st

from studio import state, ui
from tlcore.backbones import (
    BACKBONES,
    add_to_library,
    imagenet_weights_cached,
    library_weights_file,
)
from tlcore.settings import TrainingSettings

ui.page_setup()

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
PENDING_WEIGHTS = "model_weights_next"


def seed(key: str, value) -> None:
    """Give a widget its starting value from the stored settings (widgets forget on page switch)."""
    if key not in st.session_state:
        st.session_state[key] = value


def weights_status(spec, size: int | None = None) -> str:
    if imagenet_weights_cached(spec, size):
        return ":material/check_circle: ImageNet weights are on this computer."
    if library_weights_file(spec) is not None:
        return ":material/description: A weights file you added is on this computer."
    return ":material/cloud_download: ImageNet weights are not on this computer yet (they need an internet connection once)."


def add_weights_file(spec, path) -> None:
    """Check a weights file against ``spec`` and keep it in the library (ValueError if it does not fit)."""
    try:
        add_to_library(spec, path)  # converts the older .h5 format too
    finally:
        path.unlink(missing_ok=True)


def card(spec, chosen: bool = False) -> None:
    with st.container(border=True):
        st.markdown(f"#### {'✔ ' if chosen else ''}{spec.title} · {spec.card.year}")
        st.markdown(spec.card.summary)
        st.markdown(f"**Strength:** {spec.card.strength}  \n**Cost:** {spec.card.cost}")
        st.caption(
            f"Weights: {spec.size_mb:.0f} MB · pictures of {spec.input_size}×{spec.input_size} pixels · "
            f"about {spec.pictures_per_second:g} pictures a second on a typical laptop"
        )
        st.caption(weights_status(spec))


data = state.ensure_dataset()
saved = state.settings()
n_classes = len(data.class_names)

st.title("Choose the network to reuse")
ui.lead("Pick a network pretrained on ImageNet, decide where its starting knowledge comes from, "
        "and how many of its top blocks may adjust to your pictures.")

# -- the backbone -------------------------------------------------------------------------------
names = list(BACKBONES)
seed("model_backbone", saved.backbone)
left, right = st.columns([1, 2], gap="large")
with left:
    backbone = st.radio(
        "Network", names, key="model_backbone", format_func=lambda n: BACKBONES[n].title,
        captions=[f"{BACKBONES[n].size_mb:.0f} MB · about {BACKBONES[n].pictures_per_second:g} pictures/s"
                  for n in names],
    )
spec = BACKBONES[backbone]
with right:
    card(spec, chosen=True)
    measured = st.session_state.setdefault("model_speed_ms", {})
    if backbone in measured:
        st.markdown(f"**On this computer:** {measured[backbone]:.0f} ms to answer for one picture "
                    f"(about {1000 / measured[backbone]:.0f} pictures a second, one at a time).")
    elif st.button(f"Measure {spec.title.split(' (')[0]}'s speed on this computer", key="model_measure_speed",
                   icon=":material/speed:"):
        from tlcore.speed import prediction_milliseconds

        with st.spinner("Timing one picture…"):
            measured[backbone] = prediction_milliseconds(backbone)
        st.rerun()

    # -- where the starting weights come from ---------------------------------------------------
    sizes = sorted({s for s in SIZES if s >= spec.min_input_size} | {spec.input_size})
    if "model_size" not in st.session_state or st.session_state.get("model_size_backbone") != backbone:
        same = saved.backbone == backbone and saved.input_size
        st.session_state["model_size"] = int(saved.input_size) if same else spec.input_size
    st.session_state["model_size_backbone"] = backbone
    if st.session_state["model_size"] not in sizes:
        st.session_state["model_size"] = spec.input_size
    size = st.session_state["model_size"]
    library_file = library_weights_file(spec)
    options = ["imagenet"] + (["file"] if library_file else []) + ["none"]
    saved_choice = saved.weights if saved.weights in ("imagenet", "none") else "file"
    seed("model_weights", saved_choice)
    if PENDING_WEIGHTS in st.session_state:
        st.session_state["model_weights"] = st.session_state.pop(PENDING_WEIGHTS)
    if st.session_state["model_weights"] not in options:
        st.session_state["model_weights"] = "imagenet"
    choice = st.radio("Starting weights", options, key="model_weights", format_func=WEIGHT_LABELS.get)

    cached = imagenet_weights_cached(spec, size)
    if choice == "imagenet" and cached:
        st.success(f"The ImageNet weights for {spec.title} are on this computer: ready to go.")
    elif choice == "imagenet":
        st.warning(
            f"The ImageNet weights for {spec.title} are not on this computer yet. With an internet "
            f"connection they download once (about {spec.size_mb:.0f} MB) when training starts. "
            "No internet here? Two ways out: **add a weights file** below, or choose "
            "**None — from scratch** (needs far more pictures and time)."
        )
    elif choice == "file":
        st.info(f"Starting from the weights file you added for {spec.title}.")
    else:
        st.warning("From scratch, the network knows nothing at the start: every block learns from your "
                   "pictures alone. Expect much lower accuracy with a few pictures — a good way to "
                   "show why transfer learning helps.")

    with st.expander(f"Add a weights file for {spec.title}", expanded=choice == "imagenet" and not cached):
        st.markdown(f"A Keras weights file (`.weights.h5` or `.h5`) made for **{spec.title}** without "
                    "its top, for example copied from a computer with internet. It is checked, then kept "
                    "on this computer for next time.")
        weights_upload = st.file_uploader("Weights file", type=["h5"], key=f"model_weights_file_{backbone}")
        if weights_upload is not None and st.session_state.get("model_weights_file_done") != weights_upload.file_id:
            st.session_state["model_weights_file_done"] = weights_upload.file_id
            suffix = ".weights.h5" if weights_upload.name.lower().endswith(".weights.h5") else ".h5"
            target = state.work_dir() / f"upload-{spec.name}{suffix}"
            target.write_bytes(weights_upload.getvalue())
            try:
                with st.spinner("Checking that the file fits this network…"):
                    add_weights_file(spec, target)
            except (ValueError, OSError) as error:
                st.error(str(error))
            else:
                st.session_state[PENDING_WEIGHTS] = "file"
                st.rerun()

with st.expander(f"Compare all {len(BACKBONES)} networks", expanded=False):
    grid = st.columns(3)
    for i, name in enumerate(names):
        with grid[i % 3]:
            card(BACKBONES[name], chosen=name == backbone)

# -- how much of the network learns ------------------------------------------------------------
st.header("Which blocks learn?")
scratch = choice == "none"
from tlcore.model.plan import learning_plan  # noqa: E402 (TensorFlow loads here, not before the cards)

with st.spinner(f"Looking inside {spec.title}…"):
    num_blocks = learning_plan(backbone, n_classes, 0).num_blocks


def on_depth_change() -> None:
    """Fine-tuning is what lets the top blocks learn: keep the two settings consistent."""
    depth_now = st.session_state.get("model_depth", 0)
    if depth_now == 0:
        st.session_state["model_ft_epochs"] = 0
    elif st.session_state.get("model_ft_epochs", 0) == 0:
        st.session_state["model_ft_epochs"] = 3


if scratch:
    depth = num_blocks
    st.info(f"From scratch, all {num_blocks} blocks of {spec.title} learn, from the first epoch.")
else:
    seed("model_depth", min(saved.learning_blocks, num_blocks))
    if st.session_state["model_depth"] > num_blocks:
        st.session_state["model_depth"] = num_blocks
    depth = st.slider(
        f"Top blocks that learn during fine-tuning (0 to {num_blocks})", 0, num_blocks, key="model_depth",
        on_change=on_depth_change,
        help="0: feature extraction, only the new head learns. More: the top blocks adjust too.",
    )
plan = learning_plan(backbone, n_classes, depth, from_scratch=scratch)

picture_column, numbers_column = st.columns([3, 2], gap="large")
with picture_column:
    st.plotly_chart(
        ui.blocks_figure(plan.blocks, plan.head_params, n_classes, f"The {num_blocks} blocks, and the new head"),
        key="model_blocks_chart", config=ui.CHART_CONFIG,
    )
with numbers_column:
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
                    f"{ui.plural(depth, 'block')} learn too, with a learning rate ten times smaller, "
                    "so they adjust without forgetting ImageNet.")

# -- training settings --------------------------------------------------------------------------
st.header("Training")
seed("model_epochs", saved.epochs)
seed("model_ft_epochs", saved.resolved_fine_tune_epochs)
if depth == 0 and not scratch:
    st.session_state["model_ft_epochs"] = 0  # fine-tuning needs at least one learning block
epochs_column, ft_column = st.columns(2)
with epochs_column:
    epochs = st.number_input("Epochs (passes over the training pictures)", 1, 200, step=1, key="model_epochs")
with ft_column:
    if scratch:
        fine_tune_epochs = 0
        st.caption("Fine-tuning does not apply when training from scratch.")
    else:
        fine_tune_epochs = st.number_input(
            "Fine-tuning epochs (after the head)", 0, 200, step=1, key="model_ft_epochs", disabled=depth == 0,
            help="Only meaningful when at least one top block learns (slider above at 1 or more).")
        if depth == 0:
            st.caption("Fine-tuning needs at least one learning block: move the slider above to 1 or more.")
        elif fine_tune_epochs == 0:
            st.caption("With 0 fine-tuning epochs the top blocks never get to learn.")

st.subheader("Augmentation: show slightly changed pictures each epoch")
toggles = st.columns(len(AUGMENT_LABELS))
augment = []
for column, (name, label) in zip(toggles, AUGMENT_LABELS.items()):
    seed(f"model_aug_{name}", name in saved.augment)
    with column:
        if st.toggle(label, key=f"model_aug_{name}"):
            augment.append(name)
if augment:
    st.caption("Augmentation helps with few pictures, but makes training slower: every picture goes "
               "through the whole network every epoch (no fast path).")
    examples = [int((data.labels == label).argmax()) for label in range(min(3, n_classes))]
    if st.button("Show other examples", key="model_aug_again"):
        st.session_state["model_aug_round"] = st.session_state.get("model_aug_round", 0) + 1
    with st.spinner("Changing a few pictures…"):
        originals = data.pixels()[examples][:, ::2, ::2]
        start = 3 * st.session_state.get("model_aug_round", 0)
        variants = [ui.augmented(originals, augment, start + k) for k in range(3)]
    st.markdown("**Each row: the original, then how the network may see it in three different epochs**")
    for row, original in enumerate(originals):
        ui.thumbnails([original] + [variant[row] for variant in variants], width=150,
                      captions=["original", "epoch A", "epoch B", "epoch C"])

with st.expander("Advanced"):
    size = st.select_slider("Picture size (pixels): smaller is faster, larger sees more detail", sizes,
                            key="model_size")
    seed("model_batch", "Auto" if saved.auto_batch or saved.batch_size not in BATCH_SIZES else saved.batch_size)
    batch_size = st.select_slider("Batch size (pictures per learning step)", BATCH_SIZES, key="model_batch")
    seed("model_lr", min(LEARNING_RATES, key=lambda lr: abs(lr - saved.learning_rate)))
    learning_rate = st.select_slider("Learning rate (size of each learning step)", LEARNING_RATES,
                                     key="model_lr", format_func=lambda lr: f"{lr:g}")

if choice == "file" and library_file is not None:
    weights = str(library_file)
else:
    weights = choice
settings = TrainingSettings(
    backbone=backbone, weights=weights, input_size=None if size == spec.input_size else int(size),
    learning_blocks=0 if scratch else int(depth), epochs=int(epochs),
    fine_tune_epochs=0 if scratch or depth == 0 else int(fine_tune_epochs),
    batch_size="auto" if batch_size == "Auto" else int(batch_size), learning_rate=float(learning_rate),
    augment=augment,
)
state.set_settings(settings)

st.header("What will happen")
steps = []
if scratch:
    steps.append(f"All blocks of {spec.title} start random and learn from your {len(data)} pictures "
                 f"for {ui.plural(settings.epochs, 'epoch')}.")
else:
    first = ("Each picture goes once through the frozen network (the fast path), then the new head learns"
             if not augment else "The new head learns on changed pictures")
    steps.append(f"{first} for {ui.plural(settings.epochs, 'epoch')}.")
    if settings.uses_fine_tuning:
        steps.append(f"Then the top {ui.plural(depth, 'block')} learn too, for "
                     f"{ui.plural(settings.resolved_fine_tune_epochs, 'epoch')}, with a learning rate of "
                     f"{settings.resolved_fine_tune_learning_rate:g}.")
steps.append("One picture in five of each class is held back to check the model on pictures it never "
             "learned from (validation).")
st.markdown("\n".join(f"{i}. {text}" for i, text in enumerate(steps, start=1)))
st.page_link("pages/train.py", label="Next: train it", icon=":material/arrow_forward:")
