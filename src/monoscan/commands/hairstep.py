"""``monoscan hairstep IMAGE... --out DIR``: only the HairStep 2D hair stage (no meshes)."""

from __future__ import annotations

import argparse

from monoscan.commands import reconstruct


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "hairstep",
        parents=[common],
        help="HairStep hair maps only (mask, strand map, depth)",
        description="Write the HairStep representation of each photo into DIR/<image-stem>/: "
        "crop.png, hair_mask.png, parsing.png, strand_map.png, orientation.npy, confidence.npy, "
        "hair_depth.npy, hair_depth_vis.png, landmarks68.npy, crop.json, result.json.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="JPEG, PNG, WebP, TIFF or BMP")
    reconstruct.add_options(p, meshes=False)
    p.set_defaults(func=run, formats="")


def run(args: argparse.Namespace) -> int:
    args.formats = ""  # no meshes: this command is the 2D stage alone
    args.no_hair = False
    return reconstruct.run(args)
