"""``monoscan synth scenes --n N --seed S --out DIR``: synthetic people with full ground truth.

With ``--split train|val|test`` the scenes are the training corpus's
(:mod:`monoscan.synth.corpus`): hairstyles of that split only, exactly reproducible.

Wired into the ``synth`` command group with :func:`register_scenes`; :func:`add_arguments` and
:func:`run` also let ``monoscan synth --n N --seed S --out DIR`` (no sub-command) do the same.
"""

from __future__ import annotations

from pathlib import Path

from monoscan.core.errors import InputError

__all__ = ["add_arguments", "register_scenes", "run"]


def add_arguments(p, require_out: bool = True) -> None:
    """Add ``--n/--seed/--out/--size/--camera/--hair/--split/--views/--volumes/--workers``.

    ``require_out=False`` suits the bare ``monoscan synth --n N --out DIR`` form, where
    ``synth body`` must still parse without ``--out`` at the group level; :func:`run` then
    reports a missing ``--out`` itself.
    """
    p.add_argument("--n", type=int, default=10, metavar="N", help="number of scenes (10)")
    p.add_argument(
        "--seed", type=int, default=0, metavar="S", help="first seed; scene i uses seed S+i (0)"
    )
    p.add_argument(
        "-o",
        "--out",
        required=require_out,
        default=None,
        metavar="DIR",
        help="output folder; scene i goes to DIR/scene_<seed>/",
    )
    p.add_argument("--size", type=int, default=512, metavar="PX", help="image size (512)")
    p.add_argument(
        "--camera",
        choices=["orthographic", "perspective"],
        default=None,
        help="force the camera model (default: drawn per scene)",
    )
    p.add_argument(
        "--hair",
        default=None,
        metavar="SOURCE",
        help="force the hair: procedural, harolongo or usc:<cstrandsNNNNN>",
    )
    p.add_argument(
        "--split",
        choices=["train", "val", "test"],
        default=None,
        help="write scenes of the training corpus: hairstyles of this split only (USC-"
        "HairSalon densified, harolongo, procedural kinds; mirrored), 10k-50k strands, "
        "augmented, yaw -90..90 deg and back views; the same arguments give the same files "
        "byte for byte",
    )
    p.add_argument(
        "--views",
        choices=["wide", "frontal"],
        default="wide",
        help="with --split: poses of the training corpus (wide) or the benchmark's (frontal)",
    )
    p.add_argument(
        "--volumes",
        action="store_true",
        help="with --split: also write volume.npz (128^3 occupancy and 3D orientation, "
        "USC-HairSalon frame) and strands_usc.data",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="K",
        help="with --split: worker processes (1); the files do not depend on it",
    )


def register_scenes(synth_subparsers, common) -> None:
    """Add ``scenes`` to the ``synth`` sub-command group."""
    p = synth_subparsers.add_parser(
        "scenes",
        parents=[common],
        help="render synthetic people with hair, head and camera ground truth",
        description="Write N synthetic scenes, each in DIR/scene_<seed>/: image.png, "
        "hair_mask.png, body_mask.png, parsing.png, strand_map.png, orientation.npy, "
        "hair_depth.npy, hair_depth_m.npy, camera.json, strands.data (m), head.obj (mm), "
        "landmarks.txt, regions/{face,face_sphere}.txt, scene.json. Deterministic by seed. "
        "With --split: the training corpus's scenes of that split (scene.json names the "
        "style and split; --volumes adds volume.npz and strands_usc.data).",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from monoscan.core.progress import progress
    from monoscan.synth.generate import generate_scene, write_scene

    if getattr(args, "out", None) is None:
        raise InputError("-o/--out DIR is required")
    if args.n < 0:
        raise InputError(f"--n {args.n}: expected >= 0")
    if not 64 <= args.size <= 2048:
        raise InputError(f"--size {args.size}: expected 64 to 2048")
    if args.hair is not None and not (
        args.hair in ("procedural", "harolongo") or args.hair.startswith("usc:")
    ):
        raise InputError(f"--hair {args.hair!r}: expected procedural, harolongo or usc:<name>")
    out = Path(args.out)
    split = getattr(args, "split", None)
    if split is not None:
        if args.hair is not None or args.camera is not None:
            raise InputError("--split draws the hair and camera itself: drop --hair/--camera")
        from monoscan.synth.corpus import write_corpus

        summary = write_corpus(
            split,
            args.n,
            args.seed,
            out,
            size=args.size,
            views=args.views,
            volumes=args.volumes,
            workers=args.workers,
            quiet=args.quiet,
        )
        kinds = ", ".join(f"{k} {v}" for k, v in summary["kinds"].items())
        print(
            f"{out}: {summary['scenes']} {split} scenes (seeds {args.seed}.."
            f"{args.seed + args.n - 1}), {summary['styles']} styles: {kinds}"
        )
        return 0
    if args.volumes or args.workers != 1:
        raise InputError("--volumes and --workers go with --split")
    for i in progress(range(args.n), total=args.n, desc="scenes", quiet=args.quiet):
        seed = args.seed + i
        scene = generate_scene(
            seed, width=args.size, height=args.size, hair_source=args.hair, camera=args.camera
        )
        write_scene(scene, out / f"scene_{seed:06d}")
    print(f"{out}: {args.n} scenes (seeds {args.seed}..{args.seed + args.n - 1})")
    return 0
