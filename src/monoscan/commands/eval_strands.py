"""``monoscan eval strands``: 3D hair metrics of predicted strands against ground truth.

Registered by ``monoscan.commands.eval`` into its sub-command group.
"""

from __future__ import annotations

import argparse
import json
import math

from monoscan.core.errors import InputError
from monoscan.io.atomic import write_text
from monoscan.io.strands import UNITS, read_strands
from monoscan.metrics.hair3d import evaluate_strands


def register(eval_subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``strands`` to the ``monoscan eval`` sub-commands; returns its parser."""
    p = eval_subparsers.add_parser(
        "strands",
        parents=[common],
        help="3D hair metrics: voxel IoU/precision/recall, orientation, strand point F1",
        description=(
            "Compare predicted strands with ground-truth strands (same frame). Voxel occupancy "
            "on a 128^3 grid over a shared box, orientation error on shared voxels, and strand "
            "point precision/recall/F1 at (2 mm, 20 deg), (3 mm, 30 deg), (4 mm, 40 deg)."
        ),
    )
    p.add_argument(
        "--pred",
        required=True,
        metavar="FILE",
        help="predicted strands (.data .hair .ply .usd* .glb)",
    )
    p.add_argument(
        "--gt", required=True, metavar="FILE", help="ground-truth strands (same formats)"
    )
    p.add_argument("--pred-unit", default="m", choices=sorted(UNITS), help="unit of --pred")
    p.add_argument("--gt-unit", default="m", choices=sorted(UNITS), help="unit of --gt")
    p.add_argument(
        "--resolution", type=int, default=128, metavar="N", help="voxels per side (default 128)"
    )
    p.add_argument(
        "--spacing-mm",
        type=float,
        default=1.0,
        metavar="MM",
        help="resample strands to points this far apart before point matching (default 1 mm)",
    )
    p.add_argument("--json", metavar="FILE", help="also write all numbers to this JSON file")
    p.set_defaults(func=run)
    return p


def format_table(result: dict) -> str:
    """Human-readable table of an :func:`evaluate_strands` result."""
    occ, ori = result["occupancy"], result["orientation"]
    lines = [
        (
            f"strands: pred {result['n_strands']['pred']}, gt {result['n_strands']['gt']}; "
            f"grid {result['grid']['resolution']}^3, voxel {result['grid']['voxel_mm']:.2f} mm"
        ),
        (
            f"occupancy   IoU {occ['iou']:.4f}  precision {occ['precision']:.4f}  "
            f"recall {occ['recall']:.4f}  (voxels pred {occ['pred_voxels']}, gt {occ['gt_voxels']})"
        ),
        (
            f"orientation mean {ori['mean_deg']:.2f} deg  median {ori['median_deg']:.2f} deg  "
            f"over {ori['n_voxels']} shared voxels (undirected)"
        ),
        "points      distance  angle   precision  recall   F1",
    ]
    for row in result["points"]:
        lines.append(
            f"            {row['distance_mm']:5.1f} mm {row['angle_deg']:4.0f} deg  "
            f"{row['precision']:.4f}     {row['recall']:.4f}   {row['f1']:.4f}"
        )
    return "\n".join(lines)


def _json_safe(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    return x


def run(args: argparse.Namespace) -> int:
    if args.resolution < 8 or args.resolution > 1024:
        raise InputError("--resolution must be between 8 and 1024")
    if not args.spacing_mm > 0:
        raise InputError("--spacing-mm must be > 0")
    pred = read_strands(args.pred, unit=args.pred_unit)
    gt = read_strands(args.gt, unit=args.gt_unit)
    if pred.n_points == 0 or gt.n_points == 0:
        raise InputError("both strand files must contain points")
    result = evaluate_strands(
        pred, gt, resolution=args.resolution, spacing=args.spacing_mm / 1000.0
    )
    result["pred"], result["gt"] = str(args.pred), str(args.gt)
    print(format_table(result))
    if args.json:
        write_text(args.json, json.dumps(_json_safe(result), indent=2) + "\n")
    return 0
