"""Classroom mode (`tlcore classroom`): one server for a class over HTTPS, a teacher's page.

Each student's work is a space (``tlcore.spaces``), every training goes through the server's one
line (``queue.py``); both serve the solo app as well.

    queue.py         TrainingQueue and WorkerPool: every training of the server, in one fair line
    server.py        what `tlcore classroom` does: prepare all of the below and run the app
    front.py         one port for HTTPS and a plain-http set-up page that offers the authority's certificate
    tls.py           the classroom's own certificate authority and the server certificate it signs (HTTPS)
    trust.py         how each kind of device trusts that authority once: files, steps, the iPad profile
    network.py       the LAN address and the join URL
    qr.py            the join URL as a QR code (terminal text, SVG, PNG)
    teacher_code.py  the teacher code: its rules, and wrong tries that wait
    teacher.py       the teacher's export of the whole class, and clearing it
    class_settings.py what the teacher chose for the class: language, task (its classes), how long it is kept
    privacy.py       erasing one student everywhere, keep-for (cleared at the next start), the teacher's record
    report.py        `tlcore class-report`: the spaces and the swap grid, as JSON or CSV
    swap.py          the swap test: every group's model on every group's held-back pictures

Nothing here imports Streamlit or TensorFlow.
"""
