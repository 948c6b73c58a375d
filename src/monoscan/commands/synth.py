"""``monoscan synth ...``: synthetic data. ``synth body`` renders user scans (issue 8)."""

from __future__ import annotations

import argparse

from monoscan.commands.synth_body import register_body


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("synth", help="render synthetic data with ground truth",
                       description="Synthetic data with full ground truth.")
    group = p.add_subparsers(dest="synth_command", metavar="KIND")
    group.required = True
    register_body(group, common)
