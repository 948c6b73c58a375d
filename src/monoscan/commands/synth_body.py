"""``monoscan synth body --scans DIR --out DIR``: render people scans into front/back maps.

Wired into the ``synth`` command group with :func:`register_body`.
"""

from __future__ import annotations

import sys

from monoscan.core.errors import InputError

__all__ = ["register_body", "run"]


def register_body(synth_subparsers, common) -> None:
    """Add ``body`` to the ``synth`` sub-command group."""
    p = synth_subparsers.add_parser(
        "body",
        parents=[common],
        help="render OBJ/PLY scans of people into front/back colour, depth, normal maps",
        description="Render each scan in --scans (y up, facing +z) with an orthographic "
        "camera into DIR/<stem>/: front/back colour, depth and normal maps, mask, keypoints "
        "(from <stem>_keypoints.json beside the scan, else MediaPipe Pose), camera.json.",
    )
    p.add_argument("--scans", required=True, metavar="DIR", help="folder of .obj/.ply scans")
    p.add_argument(
        "-o", "--out", required=True, metavar="DIR", help="output folder (one sub-folder per scan)"
    )
    p.add_argument("--size", type=int, default=512, metavar="PX", help="image size (512)")
    p.add_argument(
        "--no-detect",
        action="store_true",
        help="do not run MediaPipe Pose on scans without a keypoints file",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from monoscan.evaluation.body_scans import render_scan_folder

    if not 32 <= args.size <= 4096:
        raise InputError(f"--size {args.size}: expected 32 to 4096")
    index = render_scan_folder(
        args.scans, args.out, size=args.size, detect=not args.no_detect, quiet=args.quiet
    )
    for fail in index["failed"]:
        print(f"error: {fail['scan']}: {fail['error']}", file=sys.stderr)
    print(f"{args.out}: {len(index['rendered'])} scans rendered, {len(index['failed'])} failed")
    return 2 if index["failed"] and not index["rendered"] else 0
