"""``monoscan bench --synthetic N [--split test] [--photos DIR] [--seed S] [--json FILE]``:
score every stage (``--split train,test``: train-style and test-style scenes side by side)."""

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
    p.add_argument(
        "--split",
        default=None,
        metavar="SPLIT[,SPLIT]",
        help="score scenes whose hairstyles are all of this corpus split (train, val or "
        "test: 'monoscan synth --split'); a comma list (train,test) scores N scenes of each "
        "and prints them side by side. Default: the original benchmark scenes",
    )
    p.add_argument("--size", type=int, default=512, metavar="PX", help="scene size (512)")
    p.add_argument(
        "--hair-model",
        choices=("learned", "prior"),
        default="learned",
        help="hair growth direction and depth: the learned network (default) or the priors",
    )
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
    splits: list[str | None] = [None]
    if args.split is not None:
        splits = [s.strip() for s in args.split.split(",") if s.strip()]
        bad = [s for s in splits if s not in ("train", "val", "test")]
        if bad or not splits or len(set(splits)) != len(splits):
            raise InputError(f"--split {args.split!r}: expected train, val or test (comma list)")
    options = Options(
        head=args.full_3d,
        strands=args.strands if args.full_3d else 0,
        hair_model=args.hair_model,
    )
    results = {}
    for split in splits:
        results[split] = run_bench(
            args.synthetic,
            args.seed,
            args.photos if split == splits[0] else None,
            predict=functools.partial(reconstruct, options=options),
            size=args.size,
            quiet=args.quiet,
            full_3d=args.full_3d,
            n_strands=args.strands,
            split=split,
        )
    if len(splits) == 1:
        result = results[splits[0]]
        print(format_table(result))
    else:
        from monoscan.evaluation.synthetic import format_split_table

        result = {"splits": results}
        print(format_split_table(results))
    if args.json:
        write_text(args.json, json.dumps(result, indent=2))
        print(f"wrote {args.json}")
    return 0
