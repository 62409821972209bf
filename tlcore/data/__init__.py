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
from .imagefile import UnreadablePicture, load_picture, open_rgb, read_header, to_array
from .report import DatasetError, DatasetReport, SkippedFile, SkippedFolder
from .sources import (
    MAX_PICTURE_BYTES,
    FolderListing,
    LabelledFile,
    UnpackedZip,
    UnsafeArchiveError,
    extract_zip,
    folder_upload_items,
    is_safe_name,
    name_problem,
    read_folder,
    safe_name,
    unpack_zip,
    write_uploads,
)

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "DEFAULT_VALIDATION_FRACTION",
    "DEMO_NAME",
    "MAX_PICTURE_BYTES",
    "MIN_PICTURE_SIDE",
    "DatasetError",
    "DatasetReport",
    "FolderListing",
    "ImageDataset",
    "LabelledFile",
    "SkippedFile",
    "SkippedFolder",
    "UnpackedZip",
    "UnreadablePicture",
    "UnsafeArchiveError",
    "demo_folder",
    "extract_zip",
    "folder_upload_items",
    "is_safe_name",
    "load_demo",
    "load_picture",
    "name_problem",
    "open_rgb",
    "read_folder",
    "read_header",
    "safe_name",
    "to_array",
    "unpack_zip",
    "write_uploads",
]
