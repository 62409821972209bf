"""The class's record for after the lesson (``tlcore class-report``): every student's space, and the
swap grid when one was computed (``swap.py``), as JSON or CSV.

    {"spaces": [{"name", "pictures": {class: count}, "runs", "best_accuracy"}],
     "swap": {"names": [...], "accuracy": [[...]]}}       accuracies as fractions (0.83), or null
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..files import read_json
from ..spaces import STUDENT, SpaceStore

SWAP_FILE = Path("classroom") / "swap.json"


def class_report(workspace) -> dict:
    store = SpaceStore.in_workspace(workspace)
    spaces = []
    for summary in store.summaries():
        if summary.space.kind != STUDENT:
            continue
        spaces.append({"name": summary.space.name, "pictures": store.picture_counts(summary.space.id),
                       "runs": summary.runs, "best_accuracy": summary.best_accuracy})
    report = {"spaces": spaces}
    swap = read_json(Path(workspace) / SWAP_FILE)
    if isinstance(swap, dict) and isinstance(swap.get("names"), list) and isinstance(swap.get("accuracy"), list):
        report["swap"] = {"names": swap["names"], "accuracy": swap["accuracy"]}
    return report


def _cell(text) -> str:
    """Outside text as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = str(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(report: dict) -> str:
    """One row per space (a column per class's pictures); then, if computed, the swap grid:
    a row per model, a column per picture set."""
    classes = sorted({name for space in report["spaces"] for name in space["pictures"]})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "runs", "best_accuracy", "pictures", *[_cell(f"pictures: {name}") for name in classes]])
    for space in report["spaces"]:
        accuracy = space["best_accuracy"]
        writer.writerow([_cell(space["name"]), space["runs"], "" if accuracy is None else f"{accuracy:.4f}",
                         sum(space["pictures"].values()), *[space["pictures"].get(name, 0) for name in classes]])
    swap = report.get("swap")
    if swap:
        writer.writerow([])
        writer.writerow(["model \\ pictures of", *map(_cell, swap["names"])])
        for name, row in zip(swap["names"], swap["accuracy"]):
            writer.writerow([_cell(name), *["" if value is None else f"{value:.4f}" for value in row]])
    return out.getvalue()
