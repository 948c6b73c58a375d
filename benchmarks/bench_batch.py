"""Batch throughput with 1 and 2 local workers (and optionally Ray), scaling efficiency, RSS.

    python benchmarks/bench_batch.py [--photos ../shared/data/portraits] [--workers 1,2]
                                     [--ray] [--no-report]

Each configuration runs the whole folder into a fresh temporary output folder with the default
pipeline options; the wall time includes starting the workers and loading the models in each
(what a user waits for). Scaling efficiency = throughput(N) / (N * throughput(1)). Peak RSS is
the high-water mark of each worker process (models + the largest photo it handled).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from _common import SHARED_DATA, print_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default=str(SHARED_DATA / "portraits"))
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--ray", action="store_true", help="also run the Ray engine (local Ray)")
    ap.add_argument("--no-report", action="store_true", help="skip writing report.html")
    args = ap.parse_args()

    from monoscan.pipeline.batch import discover_inputs, run_batch

    n_photos = len(discover_inputs(args.photos))
    configs = [("local", int(w)) for w in args.workers.split(",")]
    if args.ray:
        configs += [("ray", int(w)) for w in args.workers.split(",")]
    rows, base = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.ray:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        for engine, workers in configs:
            out = Path(tmp) / f"{engine}{workers}"
            report = run_batch(
                args.photos,
                out,
                workers=workers,
                engine=engine,
                quiet=True,
                report=not args.no_report,
            )
            done = report.counts["done"]
            rate = done / report.wall_s * 60
            base.setdefault(engine, rate / workers if workers == 1 else None)
            eff = rate / (workers * base[engine]) if base.get(engine) else float("nan")
            rss = report.peak_rss_mb
            per_photo = sorted(i.seconds for i in report.items if i.status == "done")
            rows.append(
                [
                    engine,
                    workers,
                    done,
                    report.counts["failed"],
                    report.wall_s,
                    rate,
                    eff,
                    per_photo[len(per_photo) // 2] if per_photo else float("nan"),
                    max(rss.values()) if rss else float("nan"),
                    len(rss),
                ]
            )
    print(f"{n_photos} photos from {args.photos}, {os.cpu_count()} CPUs\n")
    print_table(
        [
            "engine",
            "workers",
            "done",
            "failed",
            "wall s",
            "photos/min",
            "efficiency",
            "median s/photo",
            "peak RSS/worker MiB",
            "worker processes",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
