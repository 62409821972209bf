"""The class's own commands: `tlcore class-erase NAME` and `tlcore class-report` (after the lesson,
too), and what `tlcore classroom --task/--keep-for/--export-before-clear` saves. Kept apart from tlcore/cli.py, which
holds the learning commands."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def add_class_commands(sub) -> None:
    from ..paths import workspace_root

    p = sub.add_parser("class-erase", help="erase one student (or group) everywhere: space, pictures, runs, "
                                           "cached features, class exports on this computer")
    p.add_argument("name", help="the name they joined with (case and spaces ignored)")
    p.add_argument("--workspace", default=str(workspace_root()), help="default: $TLCORE_WORKSPACE")
    p.set_defaults(func=cmd_class_erase)

    p = sub.add_parser("class-report", help="the class's spaces (pictures, runs, best accuracy) and swap grid")
    p.add_argument("--workspace", default=str(workspace_root()), help="default: $TLCORE_WORKSPACE")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true")
    form.add_argument("--csv", action="store_true")
    p.set_defaults(func=cmd_class_report)


def save_class_choices(args) -> None:
    """--task, --keep-for and --export-before-clear go into the class's settings (the Teacher page can
    change them later); a folder that cannot take the export is refused before anything is saved."""
    from .class_settings import check_export_folder, read_class_settings, save_class_settings
    from .privacy import EXPORT_FOLDER_SET, KEEP_FOR_SET, TASK_SET, record
    from ..paths import workspace_root

    export_folder = getattr(args, "export_before_clear", None)
    if args.task is None and args.keep_for is None and export_folder is None:
        return
    workspace = workspace_root()
    if export_folder is not None:  # checked first: a refused folder leaves everything as it was
        export_folder = check_export_folder(export_folder, workspace) or ""
    settings = read_class_settings(workspace)
    if args.task is not None:
        settings = settings.with_changes(task=args.task)
        record(workspace, TASK_SET, None, ", ".join(settings.task))
    if args.keep_for is not None:
        settings = settings.with_changes(keep_for=args.keep_for)
        record(workspace, KEEP_FOR_SET, None, args.keep_for)
    if export_folder is not None:  # "" : no export before clearing
        settings = settings.with_changes(export_before_clear=export_folder or None)
        record(workspace, EXPORT_FOLDER_SET, None, settings.export_before_clear)
    save_class_settings(workspace, settings)


def cmd_class_erase(args) -> int:
    from .privacy import erase_student

    erasure = erase_student(Path(args.workspace), args.name)
    print(f"Erased {erasure.name}: " + ", ".join(
        ["their space (pictures, runs, decoded pictures)" if erasure.space_removed else "no space (already gone)",
         f"{erasure.feature_files} cached feature file(s)",
         f"{len(erasure.exports_rewritten)} class export(s) rewritten without them"]) + ".")
    for export in erasure.exports_unreadable:
        print(f"warning: {export} could not be read; check it by hand (or delete it).", file=sys.stderr)
    return 0


def cmd_class_report(args) -> int:
    from .report import class_report, report_csv

    report = class_report(Path(args.workspace))
    if args.csv:
        sys.stdout.write(report_csv(report))
    elif args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for space in report["spaces"]:
            accuracy = "—" if space["best_accuracy"] is None else f"{100 * space['best_accuracy']:.0f}%"
            pictures = ", ".join(f"{name} {count}" for name, count in space["pictures"].items()) or "no pictures"
            print(f"{space['name']}: {pictures}; {space['runs']} run(s); best accuracy {accuracy}")
        if not report["spaces"]:
            print("No student has a space in this workspace.")
    return 0
