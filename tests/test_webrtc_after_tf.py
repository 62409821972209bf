"""The live camera's WebRTC still loads after TensorFlow (the app crashed when the camera started
after a training or a test picture).

libsrtp (pylibsrtp, under streamlit-webrtc and aiortc) died in srtp_init with a segmentation fault
when it was first loaded after TensorFlow; tlcore._tf loads it first. In a fresh process, as the
app's server: TensorFlow through tlcore, a prediction, then streamlit-webrtc.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_streamlit_webrtc_loads_after_tensorflow():
    pytest.importorskip("pylibsrtp")
    script = ("from tlcore._tf import keras\nimport numpy as np\n"
              "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\n"
              "model.predict(np.zeros((1, 4)), verbose=0)\n"
              "import streamlit_webrtc\nprint('loaded')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert (done.returncode, done.stdout.strip()) == (0, "loaded"), done.stderr[-2000:]


def test_a_script_that_imported_tensorflow_first_still_imports_tlcore():
    """Loading libsrtp after TensorFlow is the crash itself: tlcore then leaves it alone."""
    pytest.importorskip("pylibsrtp")
    script = "import tensorflow\nimport tlcore._tf\nimport sys\nprint('pylibsrtp' in sys.modules)\n"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert (done.returncode, done.stdout.strip()) == (0, "False"), done.stderr[-2000:]
