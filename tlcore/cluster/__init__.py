"""The training line on a Ray cluster (`tlcore classroom --cluster`): the second way of running
the line's jobs, beside ``WorkerPool`` (tlcore/queue.py keeps the line for both).

    ray_queue.py  RayQueue: the line, its trainings run by Ray actors; the cluster's workers;
                  a local cluster for `--cluster local`
    worker.py     TrainingWorker: an actor's body (TensorFlow kept warm, one training at a time)
    parcel.py     what travels with a training, and the run coming back

Ray is an optional extra (`pip install -e ".[cluster]"`): nothing here imports it before a cluster
is used, so the server and the solo app import this package without the extra.
"""
