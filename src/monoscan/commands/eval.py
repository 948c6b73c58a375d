"""``monoscan eval``: score reconstructions (head on H3DS, body, face; hair and strands when
their modules are installed)."""

from __future__ import annotations

import importlib
import json
import sys
import warnings
from pathlib import Path

from monoscan.core.errors import InputError

#: Sub-command modules written elsewhere; each exposes ``register(eval_subparsers, common)``.
EXTRA_EVAL_MODULES = ("monoscan.commands.eval_hair", "monoscan.commands.eval_strands")


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "eval",
        parents=[common],
        help="score reconstructions against ground truth",
        description="Score reconstructions: head (H3DS protocol), body, face; hair, strands.",
    )
    sub = p.add_subparsers(
        title="what to score", dest="eval_command", metavar="WHAT", help="one of:"
    )
    sub.required = True
    _register_head(sub, common)
    _register_body(sub, common)
    _register_face(sub, common)
    for name in EXTRA_EVAL_MODULES:
        importlib.import_module(name).register(sub, common)


# -- head ------------------------------------------------------------------------------------


def _register_head(sub, common) -> None:
    p = sub.add_parser(
        "head",
        parents=[common],
        help="H3DS head evaluation (h3ds 0.4.0 protocol and more)",
        description="Evaluate predicted heads on H3DS. Predictions: PRED/<scene_id>/head.obj "
        "(monoscan output, metres, h3ds_landmarks.txt) or PRED/<scene_id>.obj|.ply (mm, "
        "landmarks in <scene_id>_landmarks.txt); per view subset in PRED/<N>/.",
    )
    p.add_argument("--dataset", required=True, type=Path, metavar="DIR", help="H3DS folder")
    p.add_argument(
        "--config",
        default=None,
        help="v1, v2 or a config TOML (default: v2 if found, else scan the folder)",
    )
    p.add_argument(
        "--predictions", required=True, type=Path, metavar="DIR", help="predictions folder"
    )
    p.add_argument("--scenes", nargs="+", default=None, metavar="ID", help="only these scene ids")
    p.add_argument(
        "--tags", nargs="+", default=(), metavar="TAG", help="only scenes with all these tags"
    )
    p.add_argument(
        "--pred-unit",
        default="auto",
        choices=["auto", "mm", "cm", "dm", "m"],
        help="unit of the predictions (auto: m for head.obj folders, mm otherwise)",
    )
    p.add_argument(
        "--mesh",
        default="head",
        choices=["head", "head_with_hair"],
        help="which mesh of monoscan output folders to score (default: head)",
    )
    p.add_argument(
        "--no-surface",
        action="store_true",
        help="vertex distances only (the reference metrics; faster)",
    )
    p.add_argument(
        "--heatmaps",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder for per-vertex error PLYs (clipped at 5 mm)",
    )
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="write results JSON")
    p.add_argument("--csv", type=Path, default=None, metavar="FILE", help="write results CSV")
    p.add_argument(
        "--markdown", type=Path, default=None, metavar="FILE", help="write the face / head table"
    )
    p.set_defaults(func=run_head)


def run_head(args) -> int:
    from monoscan.datasets.h3ds import H3DS
    from monoscan.evaluation.h3ds import (
        evaluate_dataset,
        results_csv,
        results_json,
        results_markdown,
    )

    ds = H3DS(args.dataset, args.config)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = evaluate_dataset(
            ds,
            args.predictions,
            scenes=args.scenes,
            tags=args.tags,
            surface=not args.no_surface,
            pred_unit=args.pred_unit,
            heatmap_dir=args.heatmaps,
            quiet=args.quiet,
            mesh_name=args.mesh,
        )
    for w in () if args.quiet else caught:
        print(f"warning: {w.message}", file=sys.stderr)
    meta = {
        "protocol": "h3ds-0.4.0 (landmark similarity, ICP, nearest-vertex distances)",
        "unit": "mm",
        "dataset": str(args.dataset),
        "config_version": ds.config.version,
    }
    if args.json:
        results_json(results, args.json, **meta)
    if args.csv:
        results_csv(results, args.csv)
    table = results_markdown(results, args.markdown)
    if not args.quiet:
        print(table, end="")
    return 0


# -- body ------------------------------------------------------------------------------------


def _register_body(sub, common) -> None:
    p = sub.add_parser(
        "body",
        parents=[common],
        help="body metrics in cm (Chamfer, P2S, ...)",
        description="Compare a predicted body mesh with a ground-truth scan, both sampled on "
        "their surfaces: Chamfer, point-to-surface (P2S) and surface-to-point (S2P) distances, "
        "normal consistency and F-scores, all in cm.",
    )
    p.add_argument("--pred", required=True, type=Path, metavar="MESH", help="predicted body mesh")
    p.add_argument("--gt", required=True, type=Path, metavar="MESH", help="ground-truth scan")
    p.add_argument("--unit", default="m", choices=["m", "cm", "mm"], help="unit of --pred")
    p.add_argument(
        "--gt-unit", default=None, choices=["m", "cm", "mm"], help="unit of --gt (default: --unit)"
    )
    p.add_argument(
        "--samples",
        type=int,
        default=10_000,
        metavar="N",
        help="surface samples per mesh (default 10000)",
    )
    p.add_argument(
        "--fscore-cm",
        type=float,
        nargs="+",
        default=[1.0],
        metavar="CM",
        help="F-score thresholds, cm (default 1)",
    )
    p.add_argument(
        "--seed", type=int, default=0, metavar="S", help="seed of the surface sampling (default 0)"
    )
    p.add_argument(
        "--json", type=Path, default=None, metavar="FILE", help="write the numbers as JSON"
    )
    p.set_defaults(func=run_body)


def run_body(args) -> int:
    from monoscan.io.atomic import write_text
    from monoscan.io.meshes import load_mesh
    from monoscan.metrics.body import evaluate_body

    if args.samples < 100:
        raise InputError("--samples must be at least 100")
    score = evaluate_body(
        load_mesh(args.pred),
        load_mesh(args.gt),
        unit=args.unit,
        gt_unit=args.gt_unit,
        samples=args.samples,
        thresholds_cm=tuple(args.fscore_cm),
        seed=args.seed,
    )
    summary = score.summary()
    if args.json:
        write_text(args.json, json.dumps(summary, indent=2) + "\n")
    print(
        " ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items())
    )
    return 0


# -- face ------------------------------------------------------------------------------------


def _register_face(sub, common) -> None:
    p = sub.add_parser(
        "face",
        parents=[common],
        help="NoW-style scan-to-mesh error, or 68-point landmark NME",
        description="Scan-to-mesh (mm): --scan, --scan-landmarks, --pred, --pred-landmarks "
        "(landmarks as .npy (K,3) or text, same order). NME: --lmk-pred and --lmk-gt "
        "((68,2) .npy or text).",
    )
    p.add_argument("--scan", type=Path, metavar="MESH", help="ground-truth scan mesh")
    p.add_argument(
        "--scan-landmarks", type=Path, metavar="FILE", help="(K,3) landmarks on the scan"
    )
    p.add_argument("--scan-unit", default="mm", choices=["mm", "m"], help="unit of --scan")
    p.add_argument("--pred", type=Path, metavar="MESH", help="predicted face mesh")
    p.add_argument(
        "--pred-landmarks", type=Path, metavar="FILE", help="(K,3) landmarks on the prediction"
    )
    p.add_argument(
        "--crop-mm",
        type=float,
        default=None,
        metavar="MM",
        help="keep scan points within this radius of the landmarks' mean",
    )
    p.add_argument(
        "--lmk-pred", type=Path, metavar="FILE", help="(68,2) predicted landmarks for NME"
    )
    p.add_argument(
        "--lmk-gt", type=Path, metavar="FILE", help="(68,2) ground-truth landmarks for NME"
    )
    p.add_argument(
        "--json", type=Path, default=None, metavar="FILE", help="write the numbers as JSON"
    )
    p.set_defaults(func=run_face)


def _load_points(path: Path):
    import numpy as np

    if not path.is_file():
        raise InputError(f"landmark file not found: {path}")
    try:
        arr = np.load(path) if path.suffix == ".npy" else np.loadtxt(path)
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read landmarks {path}: {exc}") from None
    return np.asarray(arr, dtype=float)


def run_face(args) -> int:
    from monoscan.io.atomic import write_text

    out: dict[str, float] = {}
    did = False
    if args.scan or args.pred:
        from monoscan.io.meshes import load_mesh
        from monoscan.metrics.face import scan_to_mesh

        for flag in ("scan", "scan_landmarks", "pred", "pred_landmarks"):
            if getattr(args, flag) is None:
                raise InputError(f"scan-to-mesh needs --{flag.replace('_', '-')}")
        scale = 1000.0 if args.scan_unit == "m" else 1.0
        scan = load_mesh(args.scan, allow_points=True)
        score = scan_to_mesh(
            scan.vertices * scale,
            _load_points(args.scan_landmarks) * scale,
            load_mesh(args.pred),
            _load_points(args.pred_landmarks),
            crop_radius_mm=args.crop_mm,
        )
        out.update(score.summary())
        did = True
    if args.lmk_pred or args.lmk_gt:
        from monoscan.metrics.face import landmark_nme

        if args.lmk_pred is None or args.lmk_gt is None:
            raise InputError("NME needs both --lmk-pred and --lmk-gt")
        out["nme"] = landmark_nme(_load_points(args.lmk_pred), _load_points(args.lmk_gt))
        did = True
    if not did:
        raise InputError(
            "nothing to evaluate: give --scan/--pred (scan-to-mesh) or --lmk-pred/--lmk-gt (NME)"
        )
    if args.json:
        write_text(args.json, json.dumps(out, indent=2) + "\n")
    print(" ".join(f"{k}={v:.4f}" for k, v in out.items()))
    return 0
