"""``monoscan synth``: synthetic data with full ground truth.

``monoscan synth --n N --seed S -o DIR`` (same as ``synth scenes``) writes rendered people
with every map and strand known; ``synth body --scans DIR`` renders user scans (issue 8).
"""

from __future__ import annotations

import argparse

from monoscan.commands.synth_body import register_body
from monoscan.commands.synth_scenes import add_arguments, register_scenes
from monoscan.commands.synth_scenes import run as run_scenes

DESCRIPTION = """\
Synthetic data with full ground truth.

  monoscan synth scenes --n N --seed S -o DIR
      N rendered people, each in DIR/scene_<seed>/, with every map, strand and the
      camera known. 'monoscan synth --n N --seed S -o DIR' does the same.

  monoscan synth --split train|val|test --n N --seed S -o DIR [--volumes] [--workers K]
      The training corpus: scenes whose hairstyles are all of one split (a style and
      its mirror never in two splits), 10k-50k strands, yaw -90..90 deg and back
      views. The same arguments give the same files byte for byte.

  monoscan synth body --scans DIR -o DIR
      Render OBJ/PLY scans of people into front/back colour, depth and normal maps.

Run 'monoscan synth KIND --help' for the files each one writes."""


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "synth",
        parents=[common],
        help="render synthetic data with ground truth",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(p, require_out=False)
    p.set_defaults(func=run_scenes)
    group = p.add_subparsers(
        title="kinds", dest="synth_command", metavar="KIND", help="what to render (optional):"
    )
    group.required = False
    register_body(group, common)
    register_scenes(group, common)
