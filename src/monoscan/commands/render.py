"""``monoscan render RESULT_DIR --yaw DEG --pitch DEG [--turntable N] [--out FILE_OR_DIR]``."""

from __future__ import annotations

from pathlib import Path

from monoscan.core.errors import InputError

__all__ = ["register", "run"]


def register(sub, common) -> None:
    p = sub.add_parser(
        "render",
        parents=[common],
        help="re-render a result folder from a new viewpoint",
        description="Render a monoscan result folder (face.obj textured, head.obj and "
        "strands.data when present) turned by --yaw/--pitch, or a --turntable of N views, "
        "with the synthetic-scene renderer (CPU, orthographic).",
    )
    p.add_argument("result", metavar="RESULT_DIR", help="a monoscan output folder")
    p.add_argument(
        "--yaw",
        type=float,
        default=0.0,
        metavar="DEG",
        help="turn about the vertical axis (positive: we see the subject's left)",
    )
    p.add_argument(
        "--pitch",
        type=float,
        default=0.0,
        metavar="DEG",
        help="tip about the horizontal axis (positive: face up)",
    )
    p.add_argument(
        "--turntable",
        type=int,
        default=None,
        metavar="N",
        help="N views all around (yaw 0, 360/N, ...); --out is then a folder",
    )
    p.add_argument("--size", type=int, default=512, metavar="PX", help="image size (512)")
    p.add_argument(
        "-o",
        "--out",
        default=None,
        metavar="FILE_OR_DIR",
        help="PNG file (default RESULT_DIR/render_yaw<Y>_pitch<P>.png) or, with "
        "--turntable, a folder (default RESULT_DIR/turntable/)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from monoscan.io.images import save_png
    from monoscan.render.scene import render_result, turntable

    if not 32 <= args.size <= 4096:
        raise InputError(f"--size {args.size}: expected 32 to 4096")
    root = Path(args.result)
    if args.turntable is not None:
        if args.turntable < 1:
            raise InputError(f"--turntable {args.turntable}: expected >= 1")
        out = Path(args.out) if args.out else root / "turntable"
        out.mkdir(parents=True, exist_ok=True)
        images = turntable(root, args.turntable, args.pitch, args.size)
        for i, img in enumerate(images):
            save_png(out / f"view_{i:03d}.png", img)
        print(f"{out}: {len(images)} views")
        return 0
    out = Path(args.out) if args.out else root / f"render_yaw{args.yaw:g}_pitch{args.pitch:g}.png"
    if out.suffix.lower() != ".png":
        raise InputError(f"--out {out}: expected a .png file")
    save_png(out, render_result(root, args.yaw, args.pitch, args.size))
    print(out)
    return 0
