"""The ``monoscan`` command line: a thin layer over the Python API.

Each sub-command lives in :mod:`monoscan.commands` as a module with ``register(subparsers)``
that adds its parser and sets ``func`` (``func(args) -> int`` exit code). This module only
parses arguments, turns user-facing errors into one ``error: ...`` line with exit code 2, and
never shows a traceback for them; Ctrl-C and SIGTERM end it with 130 and 143
(:mod:`monoscan.core.interrupt`).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from monoscan.core.errors import MonoscanError
from monoscan.core.interrupt import exit_code, raise_if_interrupted, signals_handled
from monoscan.core.version import __version__

# Order is the order in ``monoscan --help``.
COMMAND_MODULES = (
    "monoscan.commands.reconstruct",
    "monoscan.commands.hairstep",
    "monoscan.commands.segment_hair",
    "monoscan.commands.body",
    "monoscan.commands.eval",
    "monoscan.commands.data",
    "monoscan.commands.synth",
    "monoscan.commands.render",
    "monoscan.commands.bench",
    "monoscan.commands.batch",
    "monoscan.commands.view",
)

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monoscan",
        description="One photo of a person to 3D: face, hair maps, strands, head, body.",
    )
    parser.add_argument("--version", action="version", version=f"monoscan {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes")
    common.add_argument("-v", "--verbose", action="store_true", help="log each stage")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    with signals_handled():
        try:
            code = int(args.func(args) or 0)
            raise_if_interrupted()  # a signal that some library swallowed still ends the run
            return code
        except MonoscanError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except KeyboardInterrupt:
            print("error: interrupted", file=sys.stderr)
            return exit_code(EXIT_INTERRUPTED)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
