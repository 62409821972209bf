"""Warm networks: each frozen backbone built once per process, ready for the next training.

Building MobileNetV2 and loading its weights costs 3–8 s on 2 cores, more than a head-only
training itself. A training whose backbone stays frozen (no block learns, not from scratch)
never changes the backbone's weights, so trainings of the same network share one built
backbone: each gets its own classifier (preprocessing, pooling, dropout, a new head) around it,
and the saved model is still whole (backbone + head). The warm network also keeps its compiled
feature function per cut, so new pictures are not paid for with a new trace either.

Keyed by everything that changes the backbone's outputs: the network, its weights (a file by its
content's hash, as the feature cache keys it), the input size. Kept least recently used first out,
within ``TLCORE_WARM_NETWORKS`` networks (default 3) and ``TLCORE_WARM_MB`` MB of weights (default
512). A training that fine-tunes builds its own, as before: its top blocks change.

A warm network also lends compiled heads: Keras traces a new head's training step for every
training (1–2 s on 2 cores, most of a head-only training); a head model compiled once per feature
size, classes and dropout, given the new training's starting weights, trains the same numbers
without tracing again (tlcore.training.heads).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..backbones.weights import weights_identity

DEFAULT_COUNT, DEFAULT_MB = 3, 512
# Compiled heads kept per warm network: kinds (feature size, classes, dropout) and spares of each
# (one per training running side by side); each is a few hundred kB with its traced steps.
HEAD_KINDS, HEADS_OF_A_KIND = 8, 4


@dataclass
class WarmNetwork:
    """One built frozen backbone, and its compiled feature functions by cut."""

    key: tuple
    backbone: object = field(repr=False)
    weight_bytes: int
    functions: dict = field(default_factory=dict, repr=False)
    heads: OrderedDict = field(default_factory=OrderedDict, repr=False)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    heads_made_: int = 0

    def feature_function(self, cut: int, make):
        """The compiled function for ``cut`` (``make()`` builds it the first time)."""
        with self.lock:
            if cut not in self.functions:
                self.functions[cut] = make()
            return self.functions[cut]

    @contextmanager
    def borrowed_head(self, kind: tuple, make):
        """A compiled head of ``kind`` that no other training is using (``make(kind)`` builds one
        when none is free); given back when the training is done with it."""
        with self.lock:
            free = self.heads.get(kind)
            head = free.pop() if free else None
        if head is None:
            head = make(kind)
            with self.lock:
                self.heads_made_ += 1
        try:
            yield head
        finally:
            with self.lock:
                free = self.heads.setdefault(kind, [])
                self.heads.move_to_end(kind)
                if len(free) < HEADS_OF_A_KIND:
                    free.append(head)
                while len(self.heads) > HEAD_KINDS:
                    self.heads.popitem(last=False)


def _bound(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise ValueError(f"{name} must be a whole number (0 keeps no network warm); got {text!r}.")
    return int(text)


class WarmNetworks:
    """The process's warm backbones, least recently used first out.

    ``max_count`` networks and ``max_bytes`` of weights at most (None: from the environment).
    ``builds_``: how many backbones were built here (each miss builds one)."""

    def __init__(self, max_count: int | None = None, max_bytes: int | None = None):
        self.max_count = _bound("TLCORE_WARM_NETWORKS", DEFAULT_COUNT) if max_count is None else int(max_count)
        self.max_bytes = (_bound("TLCORE_WARM_MB", DEFAULT_MB) << 20) if max_bytes is None else int(max_bytes)
        self._networks: OrderedDict[tuple, WarmNetwork] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple, threading.Lock] = {}
        self.builds_ = 0

    @staticmethod
    def key(spec, input_size: int, weights: str) -> tuple:
        return (spec.name, weights_identity(weights), int(input_size))

    def get(self, spec, input_size: int, weights: str, build) -> WarmNetwork:
        """The warm network for this backbone, weights and size; ``build()`` makes its backbone on a
        miss (two trainings asking at once wait for one build)."""
        key = self.key(spec, input_size, weights)
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                if key in self._networks:
                    self._networks.move_to_end(key)
                    return self._networks[key]
            backbone = build()
            network = WarmNetwork(key, backbone, sum(int(v.numpy().nbytes) for v in backbone.weights))
            with self._lock:
                self.builds_ += 1
                self._networks[key] = network
                self._shrink()
            return network

    def _shrink(self) -> None:
        while self._networks and (len(self._networks) > self.max_count or self.weight_bytes() > self.max_bytes):
            self._networks.popitem(last=False)  # a training using it keeps its own reference

    def weight_bytes(self) -> int:
        return sum(network.weight_bytes for network in self._networks.values())

    def heads_made(self) -> int:
        """How many heads the warm networks compiled (a head-only training borrows one)."""
        with self._lock:
            return sum(network.heads_made_ for network in self._networks.values())

    def keys(self) -> list[tuple]:
        """The warm networks' keys, least recently used first."""
        with self._lock:
            return list(self._networks)

    def has(self, spec, input_size: int, weights: str) -> bool:
        with self._lock:
            return self.key(spec, input_size, weights) in self._networks

    def clear(self) -> None:
        with self._lock:
            self._networks.clear()


_PROCESS: WarmNetworks | None = None
_PROCESS_LOCK = threading.Lock()


def warm_networks() -> WarmNetworks:
    """This process's warm networks (the worker that trains keeps them)."""
    global _PROCESS
    with _PROCESS_LOCK:
        if _PROCESS is None:
            _PROCESS = WarmNetworks()
        return _PROCESS


def set_warm_networks(networks: WarmNetworks | None) -> WarmNetworks | None:
    """Replace this process's warm networks (tests, a server with other bounds); the old ones."""
    global _PROCESS
    with _PROCESS_LOCK:
        old, _PROCESS = _PROCESS, networks
        return old
