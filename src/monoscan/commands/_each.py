"""The loop every per-photo command shares: progress bar, one error line per bad photo."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from monoscan.core.errors import MonoscanError
from monoscan.core.interrupt import raise_if_interrupted
from monoscan.core.progress import progress_bar, show_stages

T = TypeVar("T")

__all__ = ["ALREADY_COMPLETE", "for_each_input", "say"]

#: The note for a photo whose result folder is already complete (a rerun resumes).
ALREADY_COMPLETE = "already complete, skipped (use --overwrite to redo it)"


def say(line: str, stream=sys.stdout, quiet: bool = False) -> None:
    """Print a line without breaking a progress bar that may be showing."""
    if quiet:
        print(line, file=stream)
    else:
        from tqdm import tqdm

        tqdm.write(line, file=stream)


def for_each_input(
    items: Sequence[T],
    work: Callable[[T], tuple[str | None, Iterable[str]]],
    *,
    desc: str,
    quiet: bool,
    verbose: bool = False,
    label: Callable[[T], str] = str,
) -> int:
    """Run ``work(item)`` on every item; return exit code 0, or 2 if any item failed.

    ``work`` returns a line for stdout (or None) and notes for stderr. A
    :class:`MonoscanError` becomes one ``error: ITEM: message`` line on stderr, anything else
    one ``error: ITEM: internal error: ...`` line (the traceback is logged, shown with
    ``--verbose``), and the other items still run. ``KeyboardInterrupt`` (Ctrl-C, SIGTERM)
    ends the loop. The bar over the items shows only for several items and without ``quiet``.
    On a terminal, without ``quiet`` or ``verbose`` (whose log has a line per stage), the
    pipeline stages of the item in hand show too: in that bar, or on a line of their own for
    a single item (:func:`monoscan.core.progress.show_stages`).
    """
    failed = 0
    bar = progress_bar(len(items), desc=desc, unit="photo", quiet=quiet or len(items) == 1)
    try:
        for item in items:
            raise_if_interrupted()
            name = label(item)
            try:
                with show_stages(name, bar=bar, enabled=not (quiet or verbose)):
                    line, notes = work(item)
            except MonoscanError as exc:
                msg = " ".join(str(exc).split())
                error = f"error: {msg if msg.startswith(name) else f'{name}: {msg}'}"
                say(error, sys.stderr, quiet)
                failed += 1
                continue
            except Exception as exc:  # noqa: BLE001 - a bug on one photo must not stop the others
                logging.getLogger("monoscan").info("%s failed", name, exc_info=True)
                detail = " ".join(str(exc).split())[:300]
                say(
                    f"error: {name}: internal error: {type(exc).__name__}: {detail}",
                    sys.stderr,
                    quiet,
                )
                failed += 1
                continue
            finally:
                if bar is not None:
                    bar.update()
            if not quiet:
                for note in notes:
                    say(f"note: {name}: {note}", sys.stderr)
            if line is not None:
                say(line, sys.stdout, quiet)
    finally:
        if bar is not None:
            bar.close()
    return 2 if failed else 0
