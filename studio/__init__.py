"""The Streamlit side of Transfer Learning Studio: session state and shared small widgets.

Nothing here imports TensorFlow at import time, so the Learn and Data pages stay fast.
"""
