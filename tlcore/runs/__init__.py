"""Runs: a trained or imported model in a folder, its typed record, and one way to write it.

    record.py     RunRecord (what run.json holds), read and written in one place
    folder.py     claiming a run folder, writing it (write_run_folder), reading and listing
    run.py        Run (model + record, predictions), save_run, load_run, list_runs
    safe_load.py  opening model files without running code they carry
"""

from .folder import (
    CLAIM_FILE,
    LABELS_FILE,
    META_FILE,
    MODEL_FILE,
    VALIDATION_DIR,
    RunSaveError,
    check_workspace,
    claim_given_folder,
    claim_run_folder,
    clean_leftovers,
    read_labels_file,
    release,
    write_run_folder,
)
from .record import (
    RESIZE_DESCRIPTION,
    RUN_FORMAT,
    DatasetInfo,
    RunFolderError,
    RunRecord,
    ValidationPicture,
)
from .run import Prediction, Run, list_runs, load_run, record_of, save_run, validation_set
from .safe_load import ModelFileError, load_model_safely

__all__ = [
    "CLAIM_FILE", "LABELS_FILE", "META_FILE", "MODEL_FILE", "RESIZE_DESCRIPTION", "RUN_FORMAT", "VALIDATION_DIR",
    "DatasetInfo", "ModelFileError", "Prediction", "Run", "RunFolderError", "RunRecord", "RunSaveError",
    "ValidationPicture", "check_workspace", "claim_given_folder", "claim_run_folder", "clean_leftovers",
    "list_runs", "load_model_safely", "load_run", "read_labels_file", "record_of", "release", "save_run",
    "validation_set", "write_run_folder",
]
