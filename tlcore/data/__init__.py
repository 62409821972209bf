"""Data: loading labelled pictures, checking them, splitting them.

Nothing here imports TensorFlow or Keras (numpy, Pillow and the standard
library only), so the app can import it early and fast.
"""

from .dataset import (
    DEFAULT_IMAGE_SIZE,
    DEFAULT_VALIDATION_FRACTION,
    MIN_PICTURE_SIDE,
    ImageDataset,
)
from .demo import DEMO_NAME, demo_folder, load_demo
from .imagefile import UnreadablePicture, load_picture, open_rgb, to_array
from .report import DatasetError, DatasetReport, SkippedFile
from .sources import (
    FolderListing,
    LabelledFile,
    UnsafeArchiveError,
    extract_zip,
    read_folder,
    safe_name,
    write_uploads,
)

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "DEFAULT_VALIDATION_FRACTION",
    "DEMO_NAME",
    "MIN_PICTURE_SIDE",
    "DatasetError",
    "DatasetReport",
    "FolderListing",
    "ImageDataset",
    "LabelledFile",
    "SkippedFile",
    "UnreadablePicture",
    "UnsafeArchiveError",
    "demo_folder",
    "extract_zip",
    "load_demo",
    "load_picture",
    "open_rgb",
    "read_folder",
    "safe_name",
    "to_array",
    "write_uploads",
]
