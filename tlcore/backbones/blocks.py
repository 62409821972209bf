"""Group a backbone's layers into blocks a person can count, cut only where the graph allows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .spec import BlockRule


@dataclass
class Block:
    name: str
    layers: list  # keras layers, in graph order

    @property
    def params(self) -> int:
        return sum(layer.count_params() for layer in self.layers if hasattr(layer, "count_params"))

    @property
    def last(self):
        return self.layers[-1]


def _cut_points(layers) -> list[bool]:
    """cut[i] is True where layer i's output is the only tensor the rest of the graph needs.

    Those are the places where the network can be split in two: nothing made before
    layer i (a skip connection, say) is used after it.
    """
    index = {id(layer): i for i, layer in enumerate(layers)}
    last_use = list(range(len(layers)))
    for j, layer in enumerate(layers):
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                producer = tensor._keras_history.operation
                i = index.get(id(producer))
                if i is not None:
                    last_use[i] = max(last_use[i], j)
    cuts, live_until = [], -1
    for i in range(len(layers)):
        cuts.append(live_until <= i)
        live_until = max(live_until, last_use[i])
    return cuts


def group_blocks(backbone, rule: BlockRule) -> list[Block]:
    """The backbone's layers (input excluded) grouped into blocks by ``rule``."""
    # operations, not layers: raw ops such as the "+" of a residual connection are graph nodes too
    layers = [op for op in backbone.operations if op.__class__.__name__ != "InputLayer"]
    pattern = re.compile(rule.pattern)
    names: list[str] = []
    if rule.mode == "id":
        current = "stem"
        for layer in layers:
            match = pattern.search(layer.name)
            if match:
                current = match.group(1)
            names.append(current)
    else:  # "end": a matching layer closes its block
        pending = []
        for layer in layers:
            match = pattern.search(layer.name)
            pending.append(layer)
            if match:
                names.extend([match.group(1)] * len(pending))
                pending = []
        names.extend(["top"] * len(pending))

    cuts = _cut_points(layers)
    blocks: list[Block] = []
    for i, layer in enumerate(layers):
        if blocks and (names[i] == names[i - 1] or not cuts[i - 1]):
            blocks[-1].layers.append(layer)
            if names[i] != names[i - 1]:
                blocks[-1].name = names[i]  # merged: name it after its last part
        else:
            blocks.append(Block(names[i], [layer]))
    return blocks
