"""Import TensorFlow/Keras quietly and only when needed (the app's first page must not wait).

TensorFlow's native start-up lines (absl's "All log messages before absl::InitializeLog()",
oneDNN and CUDA notices, 'failed call to cuInit' without a GPU) are written straight to file descriptor 2 before any log level
applies, so ``TF_CPP_MIN_LOG_LEVEL`` cannot silence them. While TensorFlow loads, descriptor
2 goes to a temporary file; afterwards every line that is not such an informational notice
is written back, so nothing else is lost. ``TLCORE_VERBOSE=1`` (or ``tlcore --verbose``)
shows everything.
"""

import contextlib
import os
import re
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_NOTICE = re.compile(rb"^(I\d{4} \d\d:\d\d:\d\d|WARNING: All log messages before absl::InitializeLog"
                     rb"|E\d{4} .*(failed call to cuInit|Unable to register cu))")


@contextlib.contextmanager
def _quiet_native_startup():
    if os.environ.get("TLCORE_VERBOSE") or not hasattr(os, "dup"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True) if not _NOTICE.match(line)]
            if kept:
                os.write(2, b"".join(kept))


# libsrtp (pylibsrtp: the live camera's WebRTC, through streamlit-webrtc and aiortc) crashes the whole
# process (a segmentation fault in srtp_init) when it is first loaded after TensorFlow, whose own
# crypto symbols it then binds to: the app died when the camera started after a training or a test
# picture. Loaded first, both work. Where it is not installed (tlcore alone), nothing to do; where
# TensorFlow is already loaded (a script imported it first), loading it now is the very crash.
if "tensorflow" not in sys.modules:
    try:
        import pylibsrtp  # noqa: F401
    except ImportError:
        pass

with _quiet_native_startup():
    import keras  # noqa: E402
    import tensorflow as tf  # noqa: E402

    tf.config.list_logical_devices()  # looks for GPUs now, so its notices are caught here too

__all__ = ["keras", "tf"]
