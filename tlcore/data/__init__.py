"""Data: loading labelled pictures, checking them, splitting them.

Nothing here imports TensorFlow or Keras (numpy, Pillow and the standard
library only), so the app can import it early and fast.
"""

from .dataset import (
    DEFAULT_IMAGE_SIZE,
    MIN_PICTURE_SIDE,
    ImageDataset,
)
from .demo import DEMO_NAME, demo_folder, load_demo
from .imagefile import UnreadablePicture, load_picture, open_rgb, read_header, to_array
from .names import is_safe_name, name_problem, safe_name, unique_name
from .report import CannotWriteError, DatasetError, DatasetReport, SkippedFile, SkippedFolder, TooManyPicturesError
from . import imagefile as _imagefile
from ..i18n import msg as _msg
from .sources import (
    MAX_PICTURE_BYTES,
    FolderListing,
    LabelledFile,
    UnpackedZip,
    UnsafeArchiveError,
    extract_zip,
    folder_upload_items,
    read_folder,
    unpack_zip,
    write_uploads,
)

_imagefile.msg = _msg  # its reasons as Messages here (a copy in predict.py keeps plain English)

__all__ = [
    "DEFAULT_IMAGE_SIZE",
    "DEMO_NAME",
    "MAX_PICTURE_BYTES",
    "CannotWriteError",
    "MIN_PICTURE_SIDE",
    "DatasetError",
    "DatasetReport",
    "FolderListing",
    "ImageDataset",
    "LabelledFile",
    "SkippedFile",
    "SkippedFolder",
    "TooManyPicturesError",
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
    "unique_name",
    "unpack_zip",
    "write_uploads",
]
