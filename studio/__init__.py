"""The Streamlit side of Transfer Learning Studio: session state and shared small widgets.

Nothing here imports TensorFlow at import time, so the Learn and Data pages stay fast.
"""


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


_keep_keras_state()
