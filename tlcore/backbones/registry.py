"""The backbone registry: data about each pretrained network, queried by name.

Importing this module does not import TensorFlow, so the app can show the cards at once.
"""

from __future__ import annotations

from ..i18n import N_
from .spec import BackboneSpec, BlockRule, Card

_KERAS = "https://storage.googleapis.com/tensorflow/keras-applications/"  # where Keras downloads most weights
_RESNET_BLOCKS = BlockRule(r"^(conv\d_block\d+)_")
_EFFICIENTNET_BLOCKS = BlockRule(r"^(block\d[a-z]|top)_")

_SPECS = [
    BackboneSpec(
        name="vgg16",
        title=N_("VGG16"),
        constructor="VGG16",
        input_size=224,
        min_input_size=32,
        preprocessing="caffe",
        feature_size=512,
        params=14_714_688,
        blocks=BlockRule(r"^(block\d)_"),
        weights_file="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_origin=_KERAS + "vgg16/",
        weights_hash="6d6bbae143d832006294945121d1f1fc",
        pictures_per_second=10,
        card=Card(
            summary=N_("A deep stack of simple 3×3 filters, 16 layers deep. The classic of the lesson."),
            strength=N_("Easy to understand: every block looks at bigger shapes than the one before."),
            cost=N_("Big and slow (59 MB, about 10 pictures a second on a laptop)."),
            year=2014,
            lesson=N_("Showed that depth matters: many small 3×3 filters stacked in blocks."),
        ),
    ),
    BackboneSpec(
        name="resnet50",
        title=N_("ResNet50"),
        constructor="ResNet50",
        input_size=224,
        min_input_size=32,
        preprocessing="caffe",
        feature_size=2048,
        params=23_587_712,
        blocks=_RESNET_BLOCKS,
        weights_file="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_origin=_KERAS + "resnet/",
        weights_hash="4d473c1dd8becc155b73f8504c6f6626",
        pictures_per_second=28,
        card=Card(
            summary=N_("50 layers in 16 residual blocks, each adding its result to a shortcut."),
            strength=N_("Very good general features; the most reused network in research."),
            cost=N_("Medium-large (94 MB, about 28 pictures a second on a laptop)."),
            year=2015,
            lesson=N_("Skip connections: each block adds to its input, so very deep networks still learn."),
        ),
    ),
    BackboneSpec(
        name="resnet50v2",
        title=N_("ResNet50 V2"),
        constructor="ResNet50V2",
        input_size=224,
        min_input_size=32,
        preprocessing="tf",
        feature_size=2048,
        params=23_564_800,
        blocks=_RESNET_BLOCKS,
        weights_file="resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_origin=_KERAS + "resnet/",
        weights_hash="fac2f116257151a9d068a22e544a4917",
        pictures_per_second=30,
        card=Card(
            summary=N_("ResNet50 with normalisation moved before each layer: trains more smoothly."),
            strength=N_("Slightly better ImageNet accuracy than ResNet50 at the same size."),
            cost=N_("Medium-large (94 MB, about 30 pictures a second on a laptop)."),
            year=2016,
            lesson=N_("Identity mappings: a cleaner shortcut path through the network."),
        ),
    ),
    BackboneSpec(
        name="resnet101",
        title=N_("ResNet101"),
        constructor="ResNet101",
        input_size=224,
        min_input_size=32,
        preprocessing="caffe",
        feature_size=2048,
        params=42_658_176,
        blocks=_RESNET_BLOCKS,
        weights_file="resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_origin=_KERAS + "resnet/",
        weights_hash="88cf7a10940856eca736dc7b7e228a21",
        pictures_per_second=16,
        card=Card(
            summary=N_("The deeper ResNet: 101 layers in 33 residual blocks."),
            strength=N_("Richer features than ResNet50 for hard, detailed pictures."),
            cost=N_("Large and slow (171 MB, about 16 pictures a second on a laptop)."),
            year=2015,
            lesson=N_("Skip connections let the same design grow to 100+ layers."),
        ),
    ),
    BackboneSpec(
        name="inception_v3",
        title=N_("InceptionV3"),
        constructor="InceptionV3",
        input_size=299,
        min_input_size=75,
        preprocessing="tf",
        feature_size=2048,
        params=21_802_784,
        blocks=BlockRule(r"^(mixed\d+)$", mode="end"),
        weights_file="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_origin=_KERAS + "inception_v3/",
        weights_hash="bcbd6486424b2319ff4ef7d526e38f63",
        pictures_per_second=22,
        card=Card(
            summary=N_("Inception modules look at each spot with several filter sizes at once."),
            strength=N_("Sees small and large details together; good on varied photos."),
            cost=N_("Medium-large (87 MB, bigger 299-pixel pictures, about 22 a second on a laptop)."),
            year=2015,
            lesson=N_("Inception modules: 1×1, 3×3 and 5×5 filters side by side, then joined."),
        ),
    ),
    BackboneSpec(
        name="mobilenet_v2",
        title=N_("MobileNetV2"),
        constructor="MobileNetV2",
        constructor_kwargs={"alpha": 1.0},
        input_size=224,
        min_input_size=32,
        preprocessing="tf",
        feature_size=1280,
        params=2_257_984,
        blocks=BlockRule(r"^(block_\d+)_"),
        weights_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5",
        weights_origin=_KERAS + "mobilenet_v2/",
        weights_sizes=(96, 128, 160, 192, 224),
        pictures_per_second=100,
        card=Card(
            summary=N_("A small network built for phones: cheap filters that split the work."),
            strength=N_("Fast on any laptop; good accuracy for its size. A great first choice."),
            cost=N_("Small (9 MB, about 100 pictures a second on a laptop)."),
            year=2018,
            lesson=N_("Depthwise separable convolutions and inverted residuals: most of the accuracy for a fraction of the work."),
        ),
    ),
    BackboneSpec(
        name="mobilenet_v2_035",
        title=N_("MobileNetV2 (0.35, Teachable Machine size)"),
        constructor="MobileNetV2",
        constructor_kwargs={"alpha": 0.35},
        input_size=224,
        min_input_size=32,
        preprocessing="tf",
        feature_size=1280,
        params=410_208,
        blocks=BlockRule(r"^(block_\d+)_"),
        weights_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_{size}_no_top.h5",
        weights_origin=_KERAS + "mobilenet_v2/",
        weights_sizes=(96, 128, 160, 192, 224),
        pictures_per_second=300,
        card=Card(
            summary=N_("MobileNetV2 with a third of the filters: the network Google's Teachable Machine uses."),
            strength=N_("The fastest here; trains in seconds, fine for simple classroom objects."),
            cost=N_("Tiny (2 MB, about 300 pictures a second on a laptop); less accurate on hard pictures."),
            year=2018,
            lesson=N_("Width multiplier: the same design made thinner to run anywhere."),
        ),
    ),
    BackboneSpec(
        name="efficientnet_b0",
        title=N_("EfficientNetB0"),
        constructor="EfficientNetB0",
        input_size=224,
        min_input_size=32,
        preprocessing="none",
        feature_size=1280,
        params=4_049_571,
        blocks=_EFFICIENTNET_BLOCKS,
        weights_file="efficientnetb0_notop.h5",
        weights_origin="https://storage.googleapis.com/keras-applications/",
        weights_hash="50bc09e76180e00e4465e1a485ddc09d",
        pictures_per_second=61,
        card=Card(
            summary=N_("A network whose depth, width and picture size were balanced by a search."),
            strength=N_("Better accuracy than ResNet50 at a tenth of the size."),
            cost=N_("Small (16 MB, about 60 pictures a second on a laptop)."),
            year=2019,
            lesson=N_("Compound scaling: grow depth, width and resolution together."),
        ),
    ),
    BackboneSpec(
        name="efficientnetv2_b0",
        title=N_("EfficientNetV2 B0"),
        constructor="EfficientNetV2B0",
        input_size=224,
        min_input_size=32,
        preprocessing="none",
        feature_size=1280,
        params=5_919_312,
        blocks=_EFFICIENTNET_BLOCKS,
        weights_file="efficientnetv2-b0_notop.h5",
        weights_origin=_KERAS + "efficientnet_v2/",
        weights_hash="893217f2bb855e2983157299931e43ff",
        pictures_per_second=55,
        card=Card(
            summary=N_("The modern EfficientNet: simpler early blocks that train faster."),
            strength=N_("Strong accuracy for a small, quick model."),
            cost=N_("Small (24 MB, about 55 pictures a second on a laptop)."),
            year=2021,
            lesson=N_("Fused convolutions early on and training-aware design."),
        ),
    ),
    BackboneSpec(
        name="convnext_tiny",
        title=N_("ConvNeXt Tiny"),
        constructor="ConvNeXtTiny",
        input_size=224,
        min_input_size=32,
        preprocessing="none",
        feature_size=768,
        params=27_820_128,
        blocks=BlockRule(r"(stage_\d+_block_\d+)_"),
        weights_file="convnext_tiny_notop.h5",
        weights_origin=_KERAS + "convnext/",
        weights_hash="d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1",
        pictures_per_second=20,
        card=Card(
            summary=N_("A 2022 convolutional network redesigned with ideas from transformers."),
            strength=N_("The most accurate here on ImageNet; robust features."),
            cost=N_("Large (111 MB, about 20 pictures a second on a laptop)."),
            year=2022,
            lesson=N_("Modernised convolutions: big 7×7 filters, layer norm, fewer activations."),
        ),
    ),
    BackboneSpec(
        name="small_cnn",
        title=N_("Small CNN (no pretraining)"),
        constructor="SmallCNN",
        input_size=128,
        min_input_size=32,
        preprocessing="tf",
        feature_size=256,
        params=394_096,
        blocks=BlockRule(r"^(block\d)_"),
        weights_file="small_cnn_has_no_imagenet_weights.h5",
        pictures_per_second=300,
        pretrained=False,
        card=Card(
            summary=N_("Five small blocks of filters, built here, that have never seen ImageNet."),
            strength=N_("The baseline: what a network learns from your pictures alone, with no transfer."),
            cost=N_("Tiny and quick (1.6 MB), but it needs many pictures and epochs to learn anything."),
            year=1998,
            lesson=N_("The shape of the first convolutional networks (LeNet): filters, pooling, a classifier."),
        ),
    ),
]

BACKBONES: dict[str, BackboneSpec] = {spec.name: spec for spec in _SPECS}

# The backbone a new user starts with: fast on any laptop, good features.
DEFAULT_BACKBONE = "mobilenet_v2"


def list_backbones() -> list[str]:
    """Names of every registered backbone, in display order."""
    return list(BACKBONES)


def unknown_backbone_message(name) -> str:
    """One sentence for a name the registry does not have, listing every choice; a network
    without ImageNet weights is named apart, so nobody picks it expecting transfer learning."""
    pretrained = [spec.name for spec in BACKBONES.values() if spec.pretrained]
    scratch = [f"{spec.name} (from scratch only)" for spec in BACKBONES.values() if not spec.pretrained]
    choices = ", ".join(pretrained) + (f", or {', '.join(scratch)}" if scratch else "")
    return f"Unknown backbone {name!r}. Choose one of: {choices}."


def get_backbone(name: str) -> BackboneSpec:
    """The spec for ``name``; a clear error lists the choices when it is unknown."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(unknown_backbone_message(name)) from None
