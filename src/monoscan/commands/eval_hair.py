"""``monoscan eval hair``: HairSale, HairRida, hair IoU and orientation error on HiSa-layout
data."""

from __future__ import annotations

import json
import math
from pathlib import Path

from monoscan.io.atomic import write_text


def register(eval_subparsers, common) -> None:
    p = eval_subparsers.add_parser(
        "hair",
        parents=[common],
        help="2D hair metrics (HairSale, HairRida, IoU)",
        description="Score strand maps, hair masks and hair depth against a HiSa/HiDa-layout "
        "ground truth folder (strand_map/, seg/, relative_depth/pairs|labels/). Predictions: "
        "monoscan output folders PRED/<name>/{strand_map.png,hair_mask.png,hair_depth.npy} "
        "or the HiSa layout PRED/{strand_map,seg}/<name>.png and "
        "PRED/dense_depth_pred/depth_map/<name>.npy. HairSale is reported both "
        "direction-aware (0-180 deg per pixel) and capped at 90 deg.",
    )
    p.add_argument("--pred", required=True, type=Path, metavar="DIR", help="predictions folder")
    p.add_argument(
        "--gt", required=True, type=Path, metavar="DIR", help="ground truth folder (HiSa layout)"
    )
    p.add_argument(
        "--split", default=None, help="only the samples of GT/split_<SPLIT>.json (e.g. test)"
    )
    p.add_argument(
        "--pair-order",
        default="xy",
        choices=["xy", "yx"],
        help="column order of relative_depth/pairs (default x_A, y_A, x_B, y_B)",
    )
    p.add_argument(
        "--json", type=Path, default=None, metavar="FILE", help="write per-image and mean metrics"
    )
    p.set_defaults(func=run)


def _fmt(v: float, width: int = 9) -> str:
    return f"{'-':>{width}}" if not math.isfinite(v) else f"{v:>{width}.2f}"


def run(args) -> int:
    from monoscan.datasets.hisa import read_split
    from monoscan.evaluation.hisa import METRIC_NAMES, evaluate_hair

    names = read_split(args.gt, args.split) if args.split else None
    report = evaluate_hair(args.pred, args.gt, names=names, pair_order=args.pair_order)
    heads = ("HairSale", "Sale<=90", "OriErr", "IoU", "HairRida")
    width = max([4] + [len(n) for n in report.per_image])
    if not args.quiet:
        print(f"{'image':<{width}} " + " ".join(f"{h:>9}" for h in heads))
        for name, m in report.per_image.items():
            print(f"{name:<{width}} " + " ".join(_fmt(m[k]) for k in METRIC_NAMES))
    print(f"{'mean':<{width}} " + " ".join(_fmt(report.mean[k]) for k in METRIC_NAMES))
    print(
        f"{len(report.per_image)} image(s); HairSale/OriErr in degrees, IoU as a fraction, "
        "HairRida in %"
    )
    if report.missing:
        print(f"note: {len(report.missing)} ground-truth sample(s) without a prediction")
    if args.json is not None:
        write_text(args.json, json.dumps(report.to_json(), indent=2) + "\n")
    return 0
