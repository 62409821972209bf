"""Run the benchmarks and print their tables (Markdown), with ratios measured in this run.

    python benchmarks/run.py                 # everything (about 15-25 minutes on 2 cores)
    python benchmarks/run.py --quick         # smaller sizes, a few minutes
    python benchmarks/run.py classic predict # only some: classic finetune scale predict app live augment warm classroom swap
    python benchmarks/run.py classroom --sessions 30   # the classroom load test (3 for a quick check)
    python benchmarks/run.py classroom --cluster local --sessions 8   # the same, trained on a local Ray cluster
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import machine  # noqa: E402

SECTIONS = ["classic", "finetune", "scale", "predict", "app", "live", "augment", "warm", "classroom", "swap"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("sections", nargs="*", help=f"any of: {' '.join(SECTIONS)} (default: all)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", help="also write the report to this Markdown file")
    parser.add_argument("--sessions", type=int, help="classroom: students in the class (default 30, --quick 6)")
    parser.add_argument("--chromium", type=int, help="classroom: how many of them are Chromium pages (default 10)")
    parser.add_argument("--cluster", help="classroom: the server's --cluster (`local`: its trainings on a Ray "
                                          "cluster it starts on this computer)")
    args = parser.parse_args()
    chosen = args.sections or SECTIONS
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section {unknown[0]!r}; choose from {', '.join(SECTIONS)}")
    report = [f"## Benchmarks ({time.strftime('%Y-%m-%d')})\n", f"Machine: {machine()}\n"]
    last_lines = []  # a section's closing JSON summary line is printed at the very end
    for section in chosen:
        started = time.perf_counter()
        if section == "classic":
            from training import bench_classic as bench
        elif section == "finetune":
            from training import bench_finetune as bench
        elif section == "scale":
            from scale import bench_scale as bench
        elif section == "predict":
            from predict_latency import bench_predict as bench
        elif section == "live":
            from live import bench_live as bench
        elif section == "augment":
            from augment import bench_augment as bench
        elif section == "warm":
            from warm import bench_warm as bench
        elif section == "swap":
            from swap import bench_swap as bench
        elif section == "classroom":
            from classroom import bench_classroom

            def bench(quick):
                return bench_classroom(quick, sessions=args.sessions, chromium=args.chromium, cluster=args.cluster)
        else:
            from app_timing import bench_app as bench
        text = bench(args.quick)
        report.append(text)
        body, _, last = text.rstrip().rpartition("\n")
        if last.startswith("{"):
            text = body
            last_lines.append(last)
        print(text, f"\n({section}: {time.perf_counter() - started:.0f} s)\n", flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(report), encoding="utf-8")
    for line in last_lines:
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
