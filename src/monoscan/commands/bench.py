"""``monoscan bench --synthetic N [--photos DIR] [--seed S] [--json FILE]``: score every stage."""

from __future__ import annotations

import functools
import json

from monoscan.core.errors import InputError

__all__ = ["register", "run"]


def register(sub, common) -> None:
    p = sub.add_parser(
        "bench",
        parents=[common],
        help="score the pipeline on synthetic scenes with full truth",
        description="Generate N synthetic scenes (seeds S..S+N-1), run the full pipeline on "
        "each and print one table: hair IoU, HairSale, HairRida, strand-map error, hair-depth "
        "order, landmark NME, face/head distances (mm), 3D hair metrics when the pipeline "
        "grows strands, and seconds per stage. --photos adds truth-free checks on real photos.",
    )
    p.add_argument(
        "--synthetic", type=int, default=20, metavar="N", help="number of synthetic scenes (20)"
    )
    p.add_argument("--seed", type=int, default=0, metavar="S", help="first scene seed (0)")
    p.add_argument(
        "--photos",
        default=None,
        metavar="DIR",
        help="folder of real photos (hair masks in masks/<stem>.png are used)",
    )
    p.add_argument("--size", type=int, default=512, metavar="PX", help="scene size (512)")
    p.add_argument(
        "--no-3d",
        dest="full_3d",
        action="store_false",
        help="skip growing a head and strands when the pipeline makes none",
    )
    p.add_argument(
        "--strands",
        type=int,
        default=10_000,
        metavar="N",
        help="strands grown for the 3D metrics (10000)",
    )
    p.add_argument(
        "--json",
        default=None,
        metavar="FILE",
        help='write {"scenes", "metrics", "seconds", ...} as JSON',
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from monoscan.evaluation.synthetic import format_table, run_bench
    from monoscan.io.atomic import write_text
    from monoscan.pipeline import Options, reconstruct

    if args.synthetic < 0:
        raise InputError(f"--synthetic {args.synthetic}: expected >= 0")
    if not 128 <= args.size <= 2048:
        raise InputError(f"--size {args.size}: expected 128 to 2048")
    if args.strands < 1:
        raise InputError(f"--strands {args.strands}: expected >= 1")
    options = Options(head=args.full_3d, strands=args.strands if args.full_3d else 0)
    result = run_bench(
        args.synthetic,
        args.seed,
        args.photos,
        predict=functools.partial(reconstruct, options=options),
        size=args.size,
        quiet=args.quiet,
        full_3d=args.full_3d,
        n_strands=args.strands,
    )
    print(format_table(result))
    if args.json:
        write_text(args.json, json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0
