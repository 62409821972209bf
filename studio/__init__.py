"""The Streamlit side of Transfer Learning Studio: navigation, session state, words, figures, widgets.

Nothing here imports TensorFlow at import time, so the Learn and Data pages stay fast.
Importing the package (once per process) also sends tlcore's log to the terminal.
"""

import logging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _keep_keras_state() -> None:
    """Stop Streamlit from calling ``keras.backend.clear_session()`` after every script run.

    Streamlit does it to free memory in simple apps, but here a training thread keeps
    running between reruns: clearing Keras's global state (and TensorFlow's kernel cache)
    every second, while the Train page redraws, made training about 19 times slower and
    could reset state while the thread builds a model. Private API: if it moves, nothing
    breaks, the slowdown just returns.
    """
    try:
        from streamlit.runtime.scriptrunner import script_runner
    except ImportError:
        return
    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = lambda: None


def log_to_terminal(level: int = logging.INFO) -> logging.Handler:
    """tlcore's messages (a training that failed, a run that could not be saved) on stderr.

    tlcore configures no handler itself (a library must not); the app adds one, once per
    process: a second call finds it and adds nothing."""
    logger = logging.getLogger("tlcore")
    logger.setLevel(level)  # also when a command run in this process (tests) lowered it
    for handler in logger.handlers:
        if getattr(handler, "studio_terminal", False):
            return handler
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.studio_terminal = True
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


_keep_keras_state()
log_to_terminal()
