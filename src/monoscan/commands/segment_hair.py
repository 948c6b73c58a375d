"""``monoscan segment-hair IMAGE... --out DIR``: hair masks for any photos.

Writes ``DIR/<image-stem>/hair_mask.png`` (same size as the photo, 255 = hair, 0 = not hair)
for each image. By default (``--person auto``) a photo in which MediaPipe finds a face is
treated as a photo of a person: hair is kept only where the person segmenter sees the person,
which removes hair-like background. Close-ups of hair (no face) use the network alone.
A bad image is reported as ``error: ...`` on stderr and the others still run;
the exit code is 2 if any image failed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from monoscan.commands._each import for_each_input
from monoscan.core.errors import MonoscanError


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "segment-hair",
        parents=[common],
        help="hair masks for photos (no face needed)",
        description="Segment the hair in each IMAGE and write DIR/<image-stem>/hair_mask.png "
        "(same size as the image; 255 = hair, 0 = not hair).",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="photo files (JPEG, PNG, ...)")
    p.add_argument(
        "-o",
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="output folder (one sub-folder per image)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="P",
        help="hair probability threshold in (0, 1) (default: the model's, 0.5)",
    )
    p.add_argument(
        "--person",
        choices=("auto", "on", "off"),
        default="auto",
        help="keep hair only on the person (MediaPipe selfie segmentation): "
        "auto = when a face is found (default), on = always, off = never",
    )
    p.add_argument(
        "--threads", type=int, default=1, metavar="N", help="CPU threads for the network (1)"
    )
    p.add_argument(
        "--save-probability",
        action="store_true",
        help="also write hair_probability.png (probability x 255)",
    )
    p.set_defaults(func=run)


def _unique_dirs(paths: list[Path], out: Path) -> list[Path]:
    """One output folder per image, named by stem; repeated stems get -2, -3, ..."""
    seen: dict[str, int] = {}
    dirs = []
    for path in paths:
        stem = path.stem or "image"
        n = seen.get(stem, 0) + 1
        seen[stem] = n
        dirs.append(out / (stem if n == 1 else f"{stem}-{n}"))
    return dirs


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from monoscan.hair.segmentation import person_gate_map, segment_hair
    from monoscan.io.images import load_image, save_png
    from monoscan.io.results import check_output_root

    if args.threshold is not None and not 0.0 < args.threshold < 1.0:
        raise MonoscanError(f"--threshold must be between 0 and 1, got {args.threshold}")
    if args.threads < 1:
        raise MonoscanError(f"--threads must be at least 1, got {args.threads}")
    paths = [Path(p) for p in args.images]
    check_output_root(args.out)

    def one(item: tuple[Path, Path]):
        path, folder = item
        rgb = load_image(path).rgb
        seg = segment_hair(
            rgb,
            person=person_gate_map(rgb, args.person),
            threshold=args.threshold,
            threads=args.threads,
        )
        mask_path = save_png(folder / "hair_mask.png", seg.mask_u8)
        if args.save_probability:
            save_png(
                folder / "hair_probability.png", np.round(seg.probability * 255).astype(np.uint8)
            )
        line = (
            None if args.quiet else f"{mask_path}  hair {100 * seg.area_fraction:.1f}% of the image"
        )
        return line, ()

    return for_each_input(
        list(zip(paths, _unique_dirs(paths, args.out), strict=True)),
        one,
        desc="segment-hair",
        quiet=args.quiet,
        verbose=args.verbose,
        label=lambda item: str(item[0]),
    )
