"""What we know about one pretrained backbone, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# How a backbone wants its pixels (0..255 RGB in):
#   "tf"    -> scaled to [-1, 1]                       (MobileNetV2, InceptionV3, ResNet V2)
#   "caffe" -> RGB to BGR, ImageNet mean subtracted    (VGG16, ResNet50/101)
#   "none"  -> the backbone rescales inside itself     (EfficientNet, EfficientNetV2, ConvNeXt)
Preprocessing = Literal["tf", "caffe", "none"]
# The picture sizes a person may choose (those a network accepts, and its own): smaller is faster.
INPUT_SIZES = (96, 128, 160, 192, 224, 256, 299)


@dataclass(frozen=True)
class Card:
    """A plain-language description for people who do not write code."""

    summary: str
    strength: str
    cost: str
    year: int
    lesson: str = ""  # what this architecture brought to the field, for the Learn page


@dataclass(frozen=True)
class BlockRule:
    """How a backbone's layers group into blocks a person can count.

    ``pattern`` is a regular expression with one group, matched against layer names.
    ``mode="id"``: a matching layer belongs to the block the group names; layers that
    do not match belong to the block before them ("stem" before the first).
    ``mode="end"``: a matching layer *ends* the block the group names; layers that do
    not match belong to the next block ("top" after the last).
    Neighbouring blocks are merged where a connection skips across their boundary,
    so every block boundary is a place where the network can be cut in two.
    """

    pattern: str
    mode: Literal["id", "end"] = "id"


@dataclass(frozen=True)
class BackboneSpec:
    name: str  # registry key, e.g. "mobilenet_v2_035"
    title: str  # shown to people, e.g. "MobileNetV2 (0.35)"
    constructor: str  # name in keras.applications, e.g. "MobileNetV2" (or in backbones.small_cnn)
    input_size: int  # native input size (square)
    min_input_size: int  # smallest size the architecture accepts
    preprocessing: Preprocessing
    feature_size: int  # channels of the pooled features
    params: int  # parameters without the top (counted from the Keras model)
    blocks: BlockRule
    weights_file: str  # file name Keras caches ImageNet weights under (``{size}`` = input size)
    card: Card
    pictures_per_second: float  # measured inference on 2 CPU cores, batch 32, native size
    constructor_kwargs: dict = field(default_factory=dict)
    weights_sizes: tuple[int, ...] = ()  # input sizes that have their own ImageNet file
    gradcam_layer: str | None = None  # None: the backbone's output feature map
    pretrained: bool = True  # False: no ImageNet weights exist (a network only ever trained from scratch)
    weights_origin: str = ""  # the folder Keras downloads ``weights_file`` from (as in keras/src/applications)
    weights_hash: str | None = None  # the md5 or sha256 Keras lists for ``weights_file``; None: it lists none

    def __post_init__(self):
        if self.pretrained and not self.weights_origin.startswith("https://"):
            raise ValueError(f"The backbone {self.name!r} needs weights_origin: the https:// folder Keras downloads "
                             f"{self.weights_file} from (see keras/src/applications), or pretrained=False.")

    @property
    def short_title(self) -> str:
        return short_title(self.title)

    @property
    def input_sizes(self) -> tuple[int, ...]:
        """The picture sizes offered for this network: the usual ones it accepts, and its own."""
        return tuple(sorted({size for size in INPUT_SIZES if size >= self.min_input_size} | {self.input_size}))

    @property
    def size_mb(self) -> float:
        """Size of the weights as float32 on disk, in megabytes."""
        return self.params * 4 / 1e6

    def weights_filename(self, input_size: int | None = None) -> str:
        size = input_size or self.input_size
        if self.weights_sizes and size not in self.weights_sizes:
            size = self.input_size  # Keras falls back to its default file
        return self.weights_file.format(size=size)

    def weights_url(self, input_size: int | None = None) -> str:
        """Where Keras itself downloads the ImageNet weights for ``input_size``."""
        return self.weights_origin + self.weights_filename(input_size)

    def weights_checksum(self, input_size: int | None = None) -> str | None:
        """The hash Keras lists for that file, if any (one per network: its file at the native size)."""
        return self.weights_hash if self.weights_filename(input_size) == self.weights_filename() else None


def short_title(title: str) -> str:
    """"MobileNetV2 (0.35, Teachable Machine size)" → "MobileNetV2 (0.35)"."""
    main, _, detail = str(title).partition(" (")
    detail = detail.rstrip(")").split(",")[0].strip()
    return f"{main} ({detail})" if detail else main
