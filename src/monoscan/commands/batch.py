"""``monoscan batch INPUT... --out DIR [--workers N] [--engine local|ray] [--address ADDR]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from monoscan.commands.reconstruct import add_options, options_from_args


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "batch",
        parents=[common],
        help="reconstruct a folder of photos in parallel",
        description="Reconstruct every photo of a folder (or the files given) into "
        "DIR/<image-stem>/, in parallel, resumably; DIR/batch.json lists each input's status. "
        "Exit code 0 when every input is done or skipped, 2 when any failed; 130 on Ctrl-C "
        "and 143 on SIGTERM, after stopping the workers and listing the unfinished inputs "
        "as pending in DIR/batch.json (rerun the same command to finish them).",
    )
    p.add_argument(
        "inputs", nargs="+", type=Path, metavar="INPUT", help="a folder of photos, or photo files"
    )
    add_options(p)
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="parallel processes (local default: one per CPU, at most one per photo; "
        "ray: photos in flight, default the cluster's CPUs)",
    )
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local process pool (default) or a Ray cluster",
    )
    p.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="Ray cluster address, e.g. HEAD_IP:6379 or auto (default: start a local Ray)",
    )
    p.add_argument(
        "--no-report", action="store_true", help="do not write report.html into each result"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from monoscan.pipeline.batch import run_batch

    inputs = args.inputs[0] if len(args.inputs) == 1 else args.inputs
    report = run_batch(
        inputs,
        args.out,
        options_from_args(args),
        workers=args.workers,
        engine=args.engine,
        address=args.address,
        quiet=args.quiet,
        report=not args.no_report,
        overwrite=args.overwrite,
    )
    c = report.counts
    print(
        f"{c['done']} done, {c['skipped']} skipped, {c['failed']} failed in "
        f"{report.wall_s:.1f} s; see {report.path}"
    )
    return 0 if report.ok else 2
