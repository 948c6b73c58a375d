"""``monoscan reconstruct IMAGE... --out DIR`` and ``monoscan demo --out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

from monoscan.commands._each import ALREADY_COMPLETE, for_each_input
from monoscan.core.errors import InputError, MonoscanError


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "reconstruct",
        parents=[common],
        help="reconstruct one or more photos",
        description="Reconstruct each photo into DIR/<image-stem>/ (result.json lists the files).",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="JPEG, PNG, WebP, TIFF or BMP")
    add_options(p)
    p.add_argument(
        "--same-person",
        action="store_true",
        help="the images are views of one person: fuse them into one result, "
        "DIR/<first image's stem>/ (monoscan.head.multiview)",
    )
    p.add_argument(
        "--cameras",
        type=Path,
        default=None,
        metavar="NPZ",
        help="with --same-person: an H3DS cameras.npz; img_0007.jpg takes "
        "world_mat_7, names without a number go by position (default: rotations "
        "estimated from the landmarks)",
    )
    p.set_defaults(func=run)

    d = sub.add_parser(
        "demo",
        parents=[common],
        help="reconstruct the bundled sample photo (astronaut)",
        description="Write scikit-image's public-domain astronaut photo to DIR/astronaut.png and "
        "reconstruct it into DIR/astronaut/.",
    )
    add_options(d)
    d.set_defaults(func=run_demo)


def add_options(p: argparse.ArgumentParser, meshes: bool = True) -> None:
    """Options shared by reconstruct, demo, hairstep (``meshes=False``: no mesh/hair switches)."""
    from monoscan.perception.face import MIN_FACE_PX
    from monoscan.pipeline.options import (
        ALL_FORMATS,
        DEFAULT_FORMATS,
        EXPRESSIONS,
        HAIR_MODELS,
        HEAD_MODELS,
    )

    p.add_argument(
        "-o",
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="output folder (one sub-folder per photo)",
    )
    p.add_argument(
        "--face-index",
        type=int,
        default=0,
        metavar="N",
        help="which face when several are found, 0 = largest (default)",
    )
    p.add_argument(
        "--min-face-px",
        type=float,
        default=MIN_FACE_PX,
        metavar="PX",
        help=f"refuse faces narrower than this (default {MIN_FACE_PX} px)",
    )
    if meshes:
        p.add_argument(
            "--formats",
            default=",".join(DEFAULT_FORMATS),
            metavar="LIST",
            help="comma-separated outputs to write, from "
            f"{','.join(ALL_FORMATS)} (default: %(default)s)",
        )
    p.add_argument(
        "--subdivisions",
        type=int,
        default=2,
        metavar="N",
        help="face mesh refinement passes (default 2)",
    )
    p.add_argument(
        "--no-person", action="store_true", help="skip person segmentation and body pose"
    )
    p.add_argument(
        "--hair-model",
        choices=HAIR_MODELS,
        default="learned",
        help="hair growth direction and depth (strand_map.png, hair_depth.npy, strands): "
        "'learned', the small network trained on synthetic renders (default), or 'prior', "
        "the hand-made scalp/gravity and silhouette priors",
    )
    if meshes:
        p.add_argument("--no-hair", action="store_true", help="skip the HairStep hair maps")
        p.add_argument(
            "--body",
            action="store_true",
            help="also reconstruct the full body into DIR/<stem>/body/",
        )
        p.add_argument("--no-head", action="store_true", help="skip the closed head mesh")
        p.add_argument(
            "--head-model",
            choices=HEAD_MODELS,
            default="ict",
            help="the head: 'ict', the ICT Face Model fitted to the landmarks (default), or "
            "'parametric', our earlier parametric head with the photo's face mesh blended in",
        )
        p.add_argument(
            "--expression",
            choices=EXPRESSIONS,
            default="photo",
            help="the ICT head's expression: the photo's (default) or 'neutral', the "
            "expression removed (a head to rig; the fitted weights stay in head_fit.json)",
        )
        p.add_argument(
            "--blendshapes",
            action="store_true",
            help="also write expressions.glb (morph targets) and expressions.usdc (UsdSkel "
            "blend shapes; .usda with --formats ...,usda): the ICT head with its 57 "
            "ARKit-style expression shapes",
        )
        p.add_argument(
            "--no-occlusion",
            action="store_true",
            help="do not look for what covers the face (hair, hands, objects), "
            "inpaint it in the face texture and re-fit the landmarks for the head",
        )
        p.add_argument(
            "--strands",
            type=int,
            default=10_000,
            metavar="N",
            help="hair strands to grow, 0 for none (default: %(default)s)",
        )
        p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
        p.add_argument(
            "--face-detail",
            action="store_true",
            help="displace the face mesh by the photo's fine shading (wrinkles, "
            "creases; under 0.5 mm)",
        )
    p.add_argument("--overwrite", action="store_true", help="replace existing results")


def options_from_args(args: argparse.Namespace):
    from monoscan.pipeline import Options

    formats = tuple(f.strip().lower() for f in args.formats.split(",") if f.strip())
    return Options(
        face_index=args.face_index,
        min_face_px=args.min_face_px,
        subdivisions=args.subdivisions,
        person=not args.no_person,
        hair=not args.no_hair,
        body=getattr(args, "body", False),
        head=not getattr(args, "no_head", True),
        head_model=getattr(args, "head_model", "ict"),
        expression=getattr(args, "expression", "photo"),
        blendshapes=getattr(args, "blendshapes", False),
        strands=getattr(args, "strands", 0),
        occlusion=not getattr(args, "no_occlusion", True),
        seed=getattr(args, "seed", 0),
        formats=formats,
        face_detail=getattr(args, "face_detail", False),
        hair_model=getattr(args, "hair_model", "learned"),
    )


def run(args: argparse.Namespace) -> int:
    from monoscan.io.results import check_output_dir, check_output_root
    from monoscan.pipeline import reconstruct, write_outputs

    options = options_from_args(args)
    if getattr(args, "cameras", None) is not None and not getattr(args, "same_person", False):
        raise InputError("--cameras only applies with --same-person")
    check_output_root(args.out)
    if getattr(args, "same_person", False):
        return _run_same_person(args, options)
    seen: dict[str, str] = {}

    def one(image: str):
        stem = Path(image).stem
        if stem in seen:
            raise MonoscanError(
                f"output folder {stem}/ is already used by {seen[stem]} in "
                "this run; rename one of the files"
            )
        seen[stem] = image
        if check_output_dir(Path(args.out) / stem, args.overwrite):
            return None, [ALREADY_COMPLETE]
        recon = reconstruct(image, options)
        result = write_outputs(recon, args.out, options, overwrite=args.overwrite)
        return str(result.parent), recon.notes

    return for_each_input(
        [str(p) for p in args.images],
        one,
        desc="reconstruct",
        quiet=args.quiet,
        verbose=args.verbose,
    )


def _run_same_person(args: argparse.Namespace, options) -> int:
    from monoscan.io.results import check_output_dir
    from monoscan.pipeline import write_outputs
    from monoscan.pipeline.views import reconstruct_views

    images = [str(p) for p in args.images]

    def one(_label: str):
        if check_output_dir(Path(args.out) / Path(images[0]).stem, args.overwrite):
            return None, [ALREADY_COMPLETE]
        recon = reconstruct_views(images, options, cameras=args.cameras)
        result = write_outputs(
            recon, args.out, options, overwrite=args.overwrite, name=Path(images[0]).stem
        )
        return str(result.parent), recon.notes

    return for_each_input(
        [images[0]], one, desc="reconstruct", quiet=args.quiet, verbose=args.verbose
    )


def run_demo(args: argparse.Namespace) -> int:
    from skimage import data

    from monoscan.io.images import save_png
    from monoscan.io.results import check_output_root

    check_output_root(args.out)
    sample = save_png(Path(args.out) / "astronaut.png", data.astronaut())
    args.images = [sample]
    return run(args)
