"""``monoscan synth``: synthetic data with full ground truth.

``monoscan synth --n N --seed S --out DIR`` (same as ``synth scenes``) writes rendered people
with every map and strand known; ``synth body --scans DIR`` renders user scans (issue 8).
"""

from __future__ import annotations

import argparse

from monoscan.commands.synth_body import register_body
from monoscan.commands.synth_scenes import add_arguments, register_scenes
from monoscan.commands.synth_scenes import run as run_scenes


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "synth",
        parents=[common],
        help="render synthetic data with ground truth",
        description=__doc__.splitlines()[2].strip(),
    )
    add_arguments(p, require_out=False)
    p.set_defaults(func=run_scenes)
    group = p.add_subparsers(dest="synth_command", metavar="KIND")
    group.required = False
    register_body(group, common)
    register_scenes(group, common)
