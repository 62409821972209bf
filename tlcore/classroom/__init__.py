"""The classroom: one server for a class, each student's work kept apart, one training queue.

    spaces.py    SpaceStore: each student's (or the solo teacher's) pictures, settings, runs on disk
    queue.py     TrainingQueue and WorkerPool: every training of the server, in one fair line
    tls.py       a self-signed certificate, so phones and tablets may use their camera
    network.py   the LAN address and the join URL
    qr.py        the join URL as a QR code (terminal text, SVG, PNG)
    server.py    what `tlcore classroom` does: prepare all of the above and run the app

Nothing here imports Streamlit or TensorFlow.
"""
