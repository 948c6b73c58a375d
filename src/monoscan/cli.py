"""The ``monoscan`` command line: a thin layer over the Python API.

Each sub-command lives in :mod:`monoscan.commands` as a module with ``register(subparsers)``
that adds its parser and sets ``func`` (``func(args) -> int`` exit code). This module only
parses arguments, turns user-facing errors into one ``error: ...`` line with exit code 2, and
never shows a traceback for them; Ctrl-C and SIGTERM end it with 130 and 143
(:mod:`monoscan.core.interrupt`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator

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
        epilog="Run 'monoscan COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"monoscan {__version__}")
    # -q/-v are accepted at every level ("eval -q head" and "eval head -q"); SUPPRESS keeps a
    # nested command from resetting a flag given before it, the defaults live on the top level.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=argparse.SUPPRESS,
        help="no progress bars, notes, or library log lines and warnings",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log each stage (and a failed photo's traceback)",
    )
    parser.set_defaults(quiet=False, verbose=False)
    sub = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", help="what to do:"
    )
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


@contextlib.contextmanager
def _libraries_quiet(quiet: bool) -> Iterator[None]:
    """Under ``--quiet``, no log record below ERROR and no warning from any library."""
    if not quiet:
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)  # also loggers with their own level or handler
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


#: Thread counts the command sets for the BLAS libraries unless the environment already does.
BLAS_THREADS = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def single_threaded_blas() -> None:
    """One BLAS thread per process (NumPy's and SciPy's OpenBLAS read this when they load, so
    before the first NumPy import; spawned helpers and workers inherit it).

    Our linear algebra is many small solves (the head and body fits' least squares), which a
    second BLAS thread does not speed up; and OpenBLAS threads that wait for a busy core slow
    each small solve by up to 200x: with another process on the other core, the ICT fit took
    44 s instead of 0.18 s and ``monoscan demo`` 53 s instead of 7 s.
    """
    for name, value in BLAS_THREADS.items():
        os.environ.setdefault(name, value)


def main(argv: list[str] | None = None) -> int:
    single_threaded_blas()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    with signals_handled(), _libraries_quiet(args.quiet):
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
